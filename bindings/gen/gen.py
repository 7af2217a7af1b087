#!/usr/bin/python3
"""Generates the Python and Go bindings of libmlops from its public headers.

Reads include/mlops.h (and every include/mlops/*.h it includes) with libclang
(Debian's python3-clang-14; run it with /usr/bin/python3), keeps the exported mlops_
declarations, classifies every parameter by its shape (STYLE.md allows only a few), and
writes:
  bindings/python/mlops/_ffi.py     ctypes signatures, constants, docstrings
  bindings/go/mlops/zz_generated.go cgo declarations, constants, typed wrappers

A parameter shape the generator does not know is an error, not a guess: the header is
the contract, so it must stay regular.

usage: gen.py [--include DIR] [--out DIR] [--check]
  --include DIR  the include directory (default: <repo>/include)
  --out DIR      the bindings directory to write into (default: <repo>/bindings)
  --check        write nothing; exit 1 if the committed files differ from fresh output
"""
import argparse
import os
import re
import sys

import clang.cindex as ci

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

LIBCLANG_CANDIDATES = [
    "/usr/lib/x86_64-linux-gnu/libclang-14.so.1",
    "/usr/lib/aarch64-linux-gnu/libclang-14.so.1",
    "/usr/lib/llvm-14/lib/libclang.so.1",
]

# C scalar spelling -> (ctypes name, Go type, cgo type)
SCALARS = {
    "int": ("ctypes.c_int", "int", "C.int"),
    "int32_t": ("ctypes.c_int32", "int32", "C.int32_t"),
    "int64_t": ("ctypes.c_int64", "int64", "C.int64_t"),
    "uint32_t": ("ctypes.c_uint32", "uint32", "C.uint32_t"),
    "uint64_t": ("ctypes.c_uint64", "uint64", "C.uint64_t"),
    "size_t": ("ctypes.c_size_t", "int", "C.size_t"),
    "double": ("ctypes.c_double", "float64", "C.double"),
    "float": ("ctypes.c_float", "float32", "C.float"),
}
ARRAY_ELEMS = {"float": ("ctypes.c_float", "float32", "C.float"),
               "int32_t": ("ctypes.c_int32", "int32", "C.int32_t")}

# Status-code names whose Go error names need word breaks.
GO_ERROR_WORDS = {
    "INVAL": "Invalid", "NOMEM": "NoMemory", "IO": "IO", "STORE": "Store",
    "CORRUPT": "Corrupt", "SCHEMA": "Schema", "CONFIG": "Config", "NOTFOUND": "NotFound",
    "EXIST": "Exists", "PARSE": "Parse", "GATE": "Gate", "PROVIDER": "Provider",
    "TIMEOUT": "Timeout", "RATELIMIT": "RateLimit", "BUDGET": "Budget",
    "BLOCKED": "Blocked", "AUTH": "Auth", "BUSY": "Busy", "CANCELED": "Canceled",
    "FORMAT": "Format", "UNSUPPORTED": "Unsupported", "STATE": "State", "LIMIT": "Limit",
    "INTERNAL": "Internal",
}


class ShapeError(Exception):
    pass


def load_libclang():
    for path in LIBCLANG_CANDIDATES:
        if os.path.exists(path):
            ci.Config.set_library_file(path)
            return
    # else let clang.cindex find it


def clean_doc(raw):
    """Turns a /** ... */ comment into plain text lines."""
    if not raw:
        return ""
    text = raw.strip()
    text = re.sub(r"^/\*\*?", "", text)
    text = re.sub(r"\*/$", "", text)
    lines = []
    for line in text.splitlines():
        line = re.sub(r"^\s*\* ?", "", line.rstrip())
        lines.append(line)
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def norm_type(spelling):
    return re.sub(r"\s+", " ", spelling.replace("const ", "const ").strip())


def classify(fn_name, params):
    """Assigns a kind to every parameter: the shapes STYLE.md allows."""
    out = []
    i = 0
    while i < len(params):
        name, t = params[i]
        t = norm_type(t)
        base = t.replace("const ", "")
        kind = None
        extra = {}
        if t == "const char *":
            kind = "in_str"
        elif t == "char **":
            kind = "out_str"
        elif re.fullmatch(r"mlops(_[a-z0-9]+)*_t \*", base):
            kind = "obj"
            extra["type"] = base[:-2]
        elif re.fullmatch(r"mlops(_[a-z0-9]+)*_t \*\*", base):
            kind = "out_obj"
            extra["type"] = base[:-3]
        elif re.fullmatch(r"mlops(_[a-z0-9]+)*_fn", base):
            kind = "callback"
            extra["type"] = base
        elif t == "void *" and name == "user_data":
            kind = "user_data"
        elif t == "void *":
            kind = "ptr"
        elif base in SCALARS and "*" not in base:
            kind = "scalar"
            extra["type"] = base
        elif t.startswith("const ") and base.endswith(" *") and base[:-2] in ARRAY_ELEMS:
            kind = "in_array"
            extra["type"] = base[:-2]
        elif base.endswith(" *") and base[:-2] in ARRAY_ELEMS and not t.startswith("const "):
            kind = "buf_array"
            extra["type"] = base[:-2]
        elif base.endswith(" *") and base[:-2] in SCALARS:
            kind = "out_scalar"
            extra["type"] = base[:-2]
        if kind is None:
            raise ShapeError("%s: parameter '%s' has type '%s', which is not one of the "
                             "shapes STYLE.md allows" % (fn_name, name, t))
        entry = {"name": name, "ctype": t, "kind": kind}
        entry.update(extra)
        out.append(entry)
        i += 1
    # An array is followed by its length (size_t); a caller buffer by its capacity
    # and later by a size_t *out_n.
    for j, p in enumerate(out):
        if p["kind"] in ("in_array", "buf_array"):
            if j + 1 >= len(out) or not (out[j + 1]["kind"] == "scalar" and out[j + 1]["type"] == "size_t"):
                raise ShapeError("%s: array '%s' must be followed by a size_t length" % (fn_name, p["name"]))
            out[j + 1]["kind"] = "array_len" if p["kind"] == "in_array" else "buf_cap"
            out[j + 1]["of"] = p["name"]
        if p["kind"] == "callback":
            if j + 1 >= len(out) or out[j + 1]["kind"] != "user_data":
                raise ShapeError("%s: callback '%s' must be followed by void *user_data" % (fn_name, p["name"]))
    return out


def parse_headers(include_dir):
    load_libclang()
    index = ci.Index.create()
    umbrella = os.path.join(include_dir, "mlops.h")
    tu = index.parse(umbrella, args=["-I" + include_dir, "-std=c99", "-x", "c"],
                     options=ci.TranslationUnit.PARSE_DETAILED_PROCESSING_RECORD |
                     ci.TranslationUnit.PARSE_SKIP_FUNCTION_BODIES)
    errors = [d for d in tu.diagnostics if d.severity >= ci.Diagnostic.Error]
    if errors:
        raise ShapeError("headers do not parse: %s" % "; ".join(str(d) for d in errors))
    inc = os.path.realpath(include_dir)
    functions, callbacks, objects, constants = [], [], [], []
    seen_consts = set()
    for c in tu.cursor.get_children():
        f = c.location.file
        if not f or not os.path.realpath(f.name).startswith(inc + os.sep):
            continue
        header = os.path.relpath(os.path.realpath(f.name), inc)
        if c.kind == ci.CursorKind.FUNCTION_DECL and c.spelling.startswith("mlops_") \
                and not c.spelling.startswith("mlops__"):
            params = [(a.spelling, a.type.spelling) for a in c.get_arguments()]
            doc = clean_doc(c.raw_comment)
            result = norm_type(c.result_type.spelling)
            functions.append({
                "name": c.spelling,
                # An int result is a status code, unless the function has no
                # out-parameters and its doc never speaks of status codes: then it is a
                # plain value (mlops_version_number).
                "status": result == "int" and (
                    any(a[1].strip().endswith("**") or (a[1].strip().endswith("*") and not a[1].startswith("const"))
                        for a in params)
                    or "MLOPS_OK" in doc or "MLOPS_E" in doc or "as mlops_" in doc),
                "header": header,
                "result": result,
                "params": classify(c.spelling, params),
                "doc": doc,
            })
        elif c.kind == ci.CursorKind.TYPEDEF_DECL and c.spelling.startswith("mlops_"):
            u = c.underlying_typedef_type
            if u.kind == ci.TypeKind.POINTER and u.get_pointee().kind == ci.TypeKind.FUNCTIONPROTO:
                proto = u.get_pointee()
                args = [norm_type(a.spelling) for a in proto.argument_types()]
                names = [ch.spelling for ch in c.get_children() if ch.kind == ci.CursorKind.PARM_DECL]
                if len(names) != len(args):
                    names = ["arg%d" % k for k in range(len(args))]
                callbacks.append({"name": c.spelling, "result": norm_type(proto.get_result().spelling),
                                  "args": list(zip(names, args)), "doc": clean_doc(c.raw_comment)})
            else:
                objects.append({"name": c.spelling, "doc": clean_doc(c.raw_comment)})
        elif c.kind == ci.CursorKind.MACRO_DEFINITION and c.spelling.startswith("MLOPS_"):
            toks = [t.spelling for t in c.get_tokens()][1:]
            expr = "".join(toks)
            if re.fullmatch(r"\(?-?\d+\)?", expr) and c.spelling not in seen_consts:
                seen_consts.add(c.spelling)
                constants.append((c.spelling, int(expr.strip("()"))))
    for cb in callbacks:
        args = cb["args"]
        for k, (n, t) in enumerate(args):
            if t == "float *":
                # A buffer the callback fills: must be followed by its size_t length.
                if k + 1 >= len(args) or args[k + 1][1] != "size_t":
                    raise ShapeError("callback %s: buffer '%s' must be followed by a size_t length"
                                     % (cb["name"], n))
                continue
            if t not in ("int", "const char *", "void *", "double", "int64_t", "size_t", "int32_t", "float"):
                raise ShapeError("callback %s: argument '%s' of type '%s' is not supported" % (cb["name"], n, t))
    return {"functions": functions, "callbacks": callbacks, "objects": objects,
            "constants": constants}


# ----------------------------------------------------------------------------- Python

def py_ctype(kind, p):
    if kind == "in_str":
        return "ctypes.c_char_p"
    if kind in ("out_str", "out_obj"):
        return "ctypes.POINTER(ctypes.c_void_p)"
    if kind in ("obj", "user_data", "ptr"):
        return "ctypes.c_void_p"
    if kind == "callback":
        return "CALLBACKS[%r]" % p["type"]
    if kind in ("scalar", "array_len", "buf_cap"):
        return SCALARS[p["type"]][0]
    if kind in ("in_array", "buf_array"):
        return "ctypes.POINTER(%s)" % ARRAY_ELEMS[p["type"]][0]
    if kind == "out_scalar":
        return "ctypes.POINTER(%s)" % SCALARS[p["type"]][0]
    raise ShapeError(kind)


def py_restype(t):
    if t == "void":
        return "None"
    if t == "const char *":
        return "ctypes.c_char_p"
    if t in SCALARS:
        return SCALARS[t][0]
    raise ShapeError("result type '%s' is not supported" % t)


def py_cb_type(t):
    if t == "float *":
        return "ctypes.POINTER(ctypes.c_float)"
    return {"int": "ctypes.c_int", "const char *": "ctypes.c_char_p", "void *": "ctypes.c_void_p",
            "double": "ctypes.c_double", "int64_t": "ctypes.c_int64", "size_t": "ctypes.c_size_t",
            "int32_t": "ctypes.c_int32", "float": "ctypes.c_float", "void": "None"}[t]


def emit_python(api):
    w = []
    w.append('"""ctypes signatures of libmlops, generated by bindings/gen/gen.py from include/.\n\n'
             'Do not edit: regenerate with `/usr/bin/python3 bindings/gen/gen.py`.\n"""')
    w.append("# flake8: noqa\nimport ctypes\nfrom collections import namedtuple\n")
    w.append('Param = namedtuple("Param", "name kind ctype type")')
    w.append('Function = namedtuple("Function", "name header restype status params doc")\n')
    w.append("# Constants and status codes (include/mlops/*.h).")
    for name, value in api["constants"]:
        w.append("%s = %d" % (name, value))
    w.append("\nCONSTANTS = {")
    for name, value in api["constants"]:
        w.append("    %r: %d," % (name, value))
    w.append("}\n")
    w.append("# Callback types: ctypes.CFUNCTYPE(result, args...).")
    w.append("CALLBACKS = {")
    for cb in api["callbacks"]:
        args = ", ".join(py_cb_type(t) for _, t in cb["args"])
        w.append("    %r: ctypes.CFUNCTYPE(%s, %s)," % (cb["name"], py_cb_type(cb["result"]), args))
    w.append("}\n")
    w.append("CALLBACK_ARGS = {")
    for cb in api["callbacks"]:
        w.append("    %r: %r," % (cb["name"], [(n, t) for n, t in cb["args"]]))
    w.append("}\n")
    w.append("OBJECT_TYPES = %r\n" % sorted(o["name"] for o in api["objects"]))
    w.append("FUNCTIONS = {")
    for f in api["functions"]:
        w.append("    %r: Function(" % f["name"])
        w.append("        name=%r, header=%r," % (f["name"], f["header"]))
        w.append("        restype=%s, status=%r," % (py_restype(f["result"]), f["status"]))
        w.append("        params=[")
        for p in f["params"]:
            w.append("            Param(%r, %r, %s, %r)," % (p["name"], p["kind"], py_ctype(p["kind"], p), p.get("type")))
        w.append("        ],")
        w.append("        doc=%r)," % f["doc"])
    w.append("}\n")
    w.append("\ndef bind(lib):\n"
             '    """Sets argtypes and restype of every function on a ctypes.CDLL."""\n'
             "    for f in FUNCTIONS.values():\n"
             "        fn = getattr(lib, f.name)\n"
             "        fn.argtypes = [p.ctype for p in f.params]\n"
             "        fn.restype = f.restype\n"
             "        fn.__doc__ = f.doc\n"
             "    return lib\n")
    return "\n".join(w)


# ----------------------------------------------------------------------------- Go

def go_ident(name):
    """mlops_prompt_label_set -> PromptLabelSet; config_json -> configJSON."""
    parts = [p for p in name.split("_") if p]
    return "".join(go_word(p) for p in parts)


def go_word(p):
    special = {"json": "JSON", "id": "ID", "url": "URL", "uri": "URI", "ttl": "TTL", "io": "IO", "ab": "AB", "gguf": "GGUF"}
    return special.get(p, p[:1].upper() + p[1:])


def go_param(name):
    s = go_ident(name)
    s = s[:1].lower() + s[1:]
    if s in ("type", "func", "range", "map", "go", "select", "chan", "default", "var", "len", "cap", "string", "error"):
        s += "_"
    return s


def go_error_name(const):
    core = const[len("MLOPS_E"):]
    return "Err" + GO_ERROR_WORDS.get(core, core.capitalize())


def go_obj_type(cname):
    # mlops_model_t -> Model ; mlops_t -> Handle
    if cname == "mlops_t":
        return "Handle"
    return go_ident(cname[len("mlops_"):-2])


def go_cb_gotype(cb):
    args = []
    skip_len = False
    for n, t in cb["args"]:
        if n == "user_data":
            continue
        if skip_len:
            skip_len = False
            continue
        if t == "float *":
            # The buffer arrives as a slice of its length (the size_t that follows).
            args.append("%s []float32" % go_param(n))
            skip_len = True
            continue
        args.append("%s %s" % (go_param(n), {"int": "int", "const char *": "string", "double": "float64",
                                              "int64_t": "int64", "size_t": "int", "int32_t": "int32",
                                              "float": "float32", "void *": "unsafe.Pointer"}[t]))
    res = "" if cb["result"] == "void" else " int"
    return "func(%s)%s" % (", ".join(args), res)


def go_cb_cargs(cb):
    out = []
    for n, t in cb["args"]:
        if t == "float *":
            out.append("%s *C.float" % go_param(n))
            continue
        out.append("%s %s" % (go_param(n), {"int": "C.int", "const char *": "*C.char", "double": "C.double",
                                              "int64_t": "C.int64_t", "size_t": "C.size_t", "int32_t": "C.int32_t",
                                              "float": "C.float", "void *": "unsafe.Pointer"}[t]))
    return out


def go_cb_c_decl(cb):
    args = []
    for n, t in cb["args"]:
        args.append({"const char *": "char *"}.get(t, t))
    res = cb["result"]
    return "extern %s goTrampoline_%s(%s);" % (res, cb["name"], ", ".join(args))


def go_method_name(f, recv_prefix):
    """Method name on the receiver: mlops_prompt_push on Handle -> PromptPush."""
    name = f["name"][len("mlops_"):]
    if recv_prefix and name.startswith(recv_prefix + "_"):
        name = name[len(recv_prefix) + 1:]
    return go_ident(name)


def emit_go(api):
    cbs = {cb["name"]: cb for cb in api["callbacks"]}
    objects = {o["name"] for o in api["objects"]}
    w = []
    w.append("// Code generated by bindings/gen/gen.py from include/; DO NOT EDIT.\n")
    w.append("package mlops\n")
    w.append("/*\n#cgo pkg-config: mlops\n#include <stdlib.h>\n#include <mlops.h>\n")
    for cb in api["callbacks"]:
        w.append(go_cb_c_decl(cb))
    w.append("*/\nimport \"C\"\n")
    w.append("import (\n\t\"runtime\"\n\t\"unsafe\"\n)\n")
    w.append("var _ = unsafe.Pointer(nil)\n")
    w.append("// Constants and status codes from include/mlops/*.h.\nconst (")
    for name, value in api["constants"]:
        w.append("\t%s = %d" % (go_ident(name.lower()) if False else name, value))
    w.append(")\n")
    w.append("// Sentinel errors, one per status code: errors.Is(err, ErrNotFound).\nvar (")
    for name, value in api["constants"]:
        if name.startswith("MLOPS_E"):
            w.append("\t%s = &Error{Code: %s}" % (go_error_name(name), name))
    w.append(")\n")
    w.append("var sentinelErrors = map[int]*Error{")
    for name, value in api["constants"]:
        if name.startswith("MLOPS_E"):
            w.append("\t%s: %s," % (name, go_error_name(name)))
    w.append("}\n")

    # Callback types and trampolines.
    for cb in api["callbacks"]:
        gt = go_ident(cb["name"][len("mlops_"):])
        w.append("// %s is the Go form of %s.\n//\n%s" % (gt, cb["name"], "\n".join("// " + l for l in cb["doc"].splitlines())))
        w.append("type %s %s\n" % (gt, go_cb_gotype(cb)))
        cargs = go_cb_cargs(cb)
        res = "" if cb["result"] == "void" else " C.int"
        w.append("//export goTrampoline_%s" % cb["name"])
        w.append("func goTrampoline_%s(%s)%s {" % (cb["name"], ", ".join(cargs), res))
        w.append("\tfn := callbackFromUser(userData).(%s)" % gt)
        call_args = []
        args = cb["args"]
        skip = False
        for k, (n, t) in enumerate(args):
            if n == "user_data":
                continue
            if skip:
                skip = False
                continue
            v = go_param(n)
            if t == "float *":
                call_args.append("unsafe.Slice((*float32)(unsafe.Pointer(%s)), int(%s))" % (v, go_param(args[k + 1][0])))
                skip = True
                continue
            call_args.append({"int": "int(%s)", "const char *": "goStringOrEmpty(%s)", "double": "float64(%s)",
                              "int64_t": "int64(%s)", "size_t": "int(%s)", "int32_t": "int32(%s)",
                              "float": "float32(%s)", "void *": "%s"}[t] % v)
        if cb["result"] == "void":
            w.append("\tfn(%s)\n}\n" % ", ".join(call_args))
        else:
            w.append("\treturn C.int(fn(%s))\n}\n" % ", ".join(call_args))

    # Object types other than the handle.
    for o in sorted(objects):
        if o == "mlops_t":
            continue
        gt = go_obj_type(o)
        w.append("// %s wraps the opaque %s.\n%s" % (gt, o, "\n".join("// " + l for l in o_doc(api, o).splitlines())))
        w.append("type %s struct {\n\tptr *C.%s\n\towner *Handle // keeps the store open while this object lives\n}\n" % (gt, o))
        w.append("func (o *%s) cptr() *C.%s {\n\tif o == nil {\n\t\treturn nil\n\t}\n\treturn o.ptr\n}\n" % (gt, o))
        d = destructor_of(api, o)
        fin = "\truntime.SetFinalizer(o, func(o *%s) { o.%s() })\n" % (gt, go_method_name(d, o[len("mlops_"):-2])) if d else ""
        w.append("func wrap%s(p *C.%s, owner *Handle) *%s {\n\tif p == nil {\n\t\treturn nil\n\t}\n\to := &%s{ptr: p, owner: owner}\n%s\treturn o\n}\n" % (gt, o, gt, gt, fin))

    # Functions.
    for f in api["functions"]:
        w.append(emit_go_function(f, cbs, objects))
    return "\n".join(w) + "\n"


def is_destructor(f):
    p = f["params"]
    return (len(p) == 1 and p[0]["kind"] == "obj" and f["result"] == "void" and
            (f["name"].endswith("_free") or f["name"].endswith("_close")))


def destructor_of(api, obj):
    for f in api["functions"]:
        if is_destructor(f) and f["params"][0]["type"] == obj:
            return f
    return None


def emit_go_destructor(f, recv):
    gt = go_obj_type(recv["type"])
    gname = go_method_name(f, None if recv["type"] == "mlops_t" else recv["type"][len("mlops_"):-2])
    doc = "\n".join("// " + l if l else "//" for l in ("%s calls %s. Safe to call twice.\n\n%s" % (gname, f["name"], f["doc"])).splitlines())
    before = "\tusers := r.detachCallbacks()\n" if gt == "Handle" else ""
    after = "\tfreeCallbackUsers(users)\n" if gt == "Handle" else ""
    return ("%s\nfunc (r *%s) %s() {\n\tif r == nil || r.ptr == nil {\n\t\treturn\n\t}\n%s"
            "\truntime.SetFinalizer(r, nil)\n\tC.%s(r.ptr)\n\tr.ptr = nil\n%s}\n" % (doc, gt, gname, before, f["name"], after))


def o_doc(api, name):
    for o in api["objects"]:
        if o["name"] == name:
            return o["doc"]
    return ""


def emit_go_function(f, cbs, objects):
    params = f["params"]
    recv = None
    if params and params[0]["kind"] == "obj":
        recv = params[0]
    gname = None
    if recv is None:
        gname = go_ident(f["name"][len("mlops_"):])
    else:
        gname = go_method_name(f, None if recv["type"] == "mlops_t" else recv["type"][len("mlops_"):-2])
    go_args, outs, pre, post, cargs = [], [], [], [], []
    is_status = f["status"]
    if recv is not None and is_destructor(f):
        return emit_go_destructor(f, recv)
    has_cb = False
    persistent = "set_" in f["name"]
    for i, p in enumerate(params):
        k = p["kind"]
        v = go_param(p["name"])
        if i == 0 and recv is not None:
            cargs.append("r.cptr()" if recv["type"] != "mlops_t" else "r.ptr")
            continue
        if k == "in_str":
            go_args.append("%s string" % v)
            nullable = p["name"].endswith("json") or p["name"] in ("context", "policy", "options")
            pre.append("\tc_%s := %s(%s)\n\tdefer freeCString(c_%s)" % (v, "cStringOrNil" if nullable else "cString", v, v))
            cargs.append("c_%s" % v)
        elif k == "scalar":
            go_args.append("%s %s" % (v, SCALARS[p["type"]][1]))
            cargs.append("%s(%s)" % (SCALARS[p["type"]][2], v))
        elif k == "obj":
            gt = go_obj_type(p["type"])
            go_args.append("%s *%s" % (v, gt))
            cargs.append("%s.cptr()" % v if gt != "Handle" else "%s.ptr" % v)
        elif k == "in_array":
            et = ARRAY_ELEMS[p["type"]]
            go_args.append("%s []%s" % (v, et[1]))
            pre.append("\tvar c_%s *%s\n\tif len(%s) > 0 {\n\t\tc_%s = (*%s)(unsafe.Pointer(&%s[0]))\n\t}" % (v, et[2], v, v, et[2], v))
            cargs.append("c_%s" % v)
        elif k == "array_len":
            cargs.append("C.size_t(len(%s))" % go_param(p["of"]))
        elif k == "buf_array":
            et = ARRAY_ELEMS[p["type"]]
            go_args.append("%s []%s" % (v, et[1]))
            pre.append("\tvar c_%s *%s\n\tif len(%s) > 0 {\n\t\tc_%s = (*%s)(unsafe.Pointer(&%s[0]))\n\t}" % (v, et[2], v, v, et[2], v))
            cargs.append("c_%s" % v)
        elif k == "buf_cap":
            cargs.append("C.size_t(len(%s))" % go_param(p["of"]))
        elif k == "callback":
            has_cb = True
            gt = go_ident(p["type"][len("mlops_"):])
            go_args.append("%s %s" % (v, gt))
            if persistent:
                pre.append("\tvar c_%s C.%s\n\tvar u_%s unsafe.Pointer\n\tif %s != nil {\n\t\tc_%s = C.%s(C.goTrampoline_%s)\n\t\tu_%s = newCallbackUser(%s)\n\t}" % (v, p["type"], v, v, v, p["type"], p["type"], v, v))
                post.append("\tif rc == 0 {\n\t\tr.replaceCallback(\"%s\", u_%s)\n\t} else {\n\t\tfreeCallbackUser(u_%s)\n\t}" % (f["name"], v, v))
            else:
                pre.append("\tvar c_%s C.%s\n\tvar u_%s unsafe.Pointer\n\tif %s != nil {\n\t\tc_%s = C.%s(C.goTrampoline_%s)\n\t\tu_%s = newCallbackUser(%s)\n\t\tdefer freeCallbackUser(u_%s)\n\t}" % (v, p["type"], v, v, v, p["type"], p["type"], v, v, v))
            cargs.append("c_%s" % v)
        elif k == "user_data":
            cb = [q for q in params[:i] if q["kind"] == "callback"][-1]
            cargs.append("u_%s" % go_param(cb["name"]))
        elif k == "ptr":
            go_args.append("%s unsafe.Pointer" % v)
            cargs.append(v)
        elif k == "out_str":
            pre.append("\tvar c_%s *C.char" % v)
            cargs.append("&c_%s" % v)
            outs.append(("string", "takeString(c_%s)" % v, v))
        elif k == "out_scalar":
            gt = SCALARS[p["type"]][1]
            pre.append("\tvar c_%s %s" % (v, SCALARS[p["type"]][2]))
            cargs.append("&c_%s" % v)
            outs.append((gt, "%s(c_%s)" % (gt, v), v))
        elif k == "out_obj":
            gt = go_obj_type(p["type"])
            pre.append("\tvar c_%s *C.%s" % (v, p["type"]))
            cargs.append("&c_%s" % v)
            if gt == "Handle":
                outs.append(("*Handle", "newHandle(c_%s)" % v, v))
            else:
                owner = "r" if (recv is not None and recv["type"] == "mlops_t") else ("r.owner" if recv is not None else "nil")
                outs.append(("*%s" % gt, "wrap%s(c_%s, %s)" % (gt, v, owner), v))
    doc = "\n".join("// " + l if l else "//" for l in ("%s calls %s.\n\n%s" % (gname, f["name"], f["doc"])).splitlines())
    recv_decl = ""
    if recv is not None:
        recv_decl = "(r *%s) " % go_obj_type(recv["type"])
    results = [o[0] for o in outs]
    if is_status:
        results.append("error")
    elif f["result"] != "void":
        results.append({"const char *": "string"}.get(f["result"], SCALARS.get(f["result"], (None, "int"))[1]))
    res_decl = ""
    if len(results) == 1:
        res_decl = " " + results[0]
    elif results:
        res_decl = " (" + ", ".join(results) + ")"
    body = [doc, "func %s%s(%s)%s {" % (recv_decl, gname, ", ".join(go_args), res_decl)]
    if recv is not None:
        body.append("\tif r == nil {\n\t\treturn %s\n\t}" % zero_returns(outs, is_status, f, "ErrInvalid"))
    body.extend(pre)
    call = "C.%s(%s)" % (f["name"], ", ".join(cargs))
    keep = ""
    if recv is not None:
        keep = "\n\truntime.KeepAlive(r)"
    if is_status:
        body.append("\tvar rc C.int\n\tvar err error\n\twithOSThread(func() {\n\t\trc = %s\n\t\terr = statusError(\"%s\", rc)\n\t})%s" % (call, f["name"], keep))
        body.extend(post)
        detail = ""
        for t, expr, v in outs:
            if t == "string":
                # Some functions fill their text out-parameter on failure too (a gate's
                # decision): keep it on the error instead of leaking or dropping it.
                detail += "\t\tif d := takeString(c_%s); d != \"\" {\n\t\t\terr.(*Error).Detail = d\n\t\t}\n" % v
        body.append("\tif err != nil {\n%s\t\treturn %s\n\t}" % (detail, zero_returns(outs, True, f, "err")))
        body.append("\treturn %s" % ", ".join([o[1] for o in outs] + ["nil"]))
    elif f["result"] == "void":
        body.append("\t%s%s" % (call, keep))
        if outs:
            body.append("\treturn %s" % ", ".join(o[1] for o in outs))
    elif f["result"] == "const char *":
        body.append("\treturn goStringOrEmpty(%s)" % call)
    else:
        body.append("\treturn %s(%s)" % (SCALARS[f["result"]][1], call))
    body.append("}\n")
    return "\n".join(body)


def zero_returns(outs, is_status, f, err):
    vals = []
    for t, _, _ in outs:
        vals.append({"string": '""', "int": "0", "int32": "0", "int64": "0", "uint32": "0", "uint64": "0",
                     "float64": "0", "float32": "0"}.get(t, "nil"))
    if is_status:
        vals.append(err)
    elif f["result"] == "const char *":
        vals.append('""')
    elif f["result"] in SCALARS:
        vals.append("0")
    return ", ".join(vals)


def render_all(include_dir):
    api = parse_headers(include_dir)
    return {
        os.path.join("python", "mlops", "_ffi.py"): emit_python(api),
        os.path.join("go", "mlops", "zz_generated.go"): emit_go(api),
    }, api


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--include", default=os.path.join(REPO, "include"))
    ap.add_argument("--out", default=os.path.join(REPO, "bindings"))
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--list", action="store_true", help="print the exported function names")
    a = ap.parse_args()
    try:
        files, api = render_all(a.include)
    except ShapeError as e:
        print("gen.py: %s" % e, file=sys.stderr)
        return 2
    if a.list:
        for f in api["functions"]:
            print(f["name"])
        return 0
    status = 0
    for rel, text in files.items():
        path = os.path.join(a.out, rel)
        if a.check:
            old = open(path).read() if os.path.exists(path) else None
            if old != text:
                print("gen.py: %s is out of date: regenerate with /usr/bin/python3 bindings/gen/gen.py" % path)
                status = 1
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as fh:
                fh.write(text)
    if a.check and status == 0:
        print("gen.py: generated bindings are up to date (%d functions)" % len(api["functions"]))
    return status


if __name__ == "__main__":
    sys.exit(main())
