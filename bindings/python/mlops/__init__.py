"""Python binding of libmlops, an embeddable LLM/ML operations stack.

    import mlops
    with mlops.open("app.db") as h:
        print(h.info())                      # JSON results come back as dicts
        h.prompts.push("greet", "Hello {{name}}")

The ctypes signatures in _ffi.py are generated from the C headers; this module is the
small hand-written layer that works for every function of the regular shapes the
headers use (int status + inputs + out-parameters, JSON text in and out):

- functions whose first parameter is ``mlops_t *`` are methods of :class:`Handle`,
  grouped by the word after ``mlops_``: ``mlops_prompt_push`` is ``h.prompts.push``
  (plural or singular group names both work; a keyword takes a trailing ``_``:
  ``h.prompts.import_``), one-word functions are plain methods (``h.chat``), and the
  flat name works too (``h.prompt_push``);
- functions taking another object first (``mlops_engine_model_t *``) are methods of the
  :class:`Object` the library returned, without the object's word or the header's
  module word: ``model.info()``, ``model.session_new()``, ``session.generate()``;
- other functions are module functions: ``mlops.gguf.synth(...)``,
  ``mlops.gguf_synth(...)`` or ``mlops.call("mlops_gguf_synth", ...)``.

Inputs: ``str``/``bytes`` for text, ``dict``/``list`` are sent as JSON (a list for a
``*_jsonl`` parameter as JSON Lines), ``None`` is NULL, sequences of numbers for
arrays, callables for callbacks (their return value goes back to C, ``None`` being 0;
a callback that fills a buffer gets its length in its place and returns the values). The capacity of a caller buffer is
optional: it grows when the call answers MLOPS_ELIMIT with the size it needs.

Outputs: the out-parameters in order; text is decoded (and parsed when it is a JSON
object or array), created objects are wrapped, keep their creator alive, and are freed
when closed, garbage-collected, or when their creator closes. A failing call raises a
subclass of :class:`MlopsError` chosen by the status code, carrying the library's
message (and ``.detail``: text the function returned with the failure). An exception
raised by a callback during a call is raised by that call. Library-allocated strings
are always released with ``mlops_free``. ctypes releases the GIL during each call, so
threads sharing one handle run in parallel.

The library is found through ``$MLOPS_LIBRARY`` (a path), then the install prefix
(``<sys.prefix>/lib``, ``/usr/local/lib``), then the system loader.
"""
import ctypes
import ctypes.util
import json
import os
import sys
import threading
import weakref

from . import _ffi

__all__ = ["open", "call", "MlopsError", "Handle", "Object", "version", "lib_function"]

# ----------------------------------------------------------------------------- errors


class MlopsError(Exception):
    """A libmlops call failed. ``code`` is the status, ``function`` the C name."""

    code = None
    detail = None  # what the function returned along with the failure, if anything

    def __init__(self, code, function, message):
        self.code = code
        self.function = function
        self.message = message
        super().__init__("%s: %s (%s)" % (function, message, _strerror(code)))


def _error_class_name(const):
    words = {"INVAL": "InvalidArgument", "NOMEM": "OutOfMemory", "IO": "IO",
             "NOTFOUND": "NotFound", "EXIST": "AlreadyExists", "RATELIMIT": "RateLimit",
             "UNSUPPORTED": "Unsupported", "CANCELED": "Canceled"}
    core = const[len("MLOPS_E"):]
    return words.get(core, core.capitalize()) + "Error"


ERRORS = {}
for _name, _code in _ffi.CONSTANTS.items():
    if _name.startswith("MLOPS_E"):
        _cls = type(_error_class_name(_name), (MlopsError,), {"code": _code,
                    "__doc__": "Status %s (%d)." % (_name, _code)})
        globals()[_cls.__name__] = _cls
        __all__.append(_cls.__name__)
        ERRORS[_code] = _cls

# Status codes as module constants: mlops.MLOPS_ENOTFOUND.
for _name, _code in _ffi.CONSTANTS.items():
    globals()[_name] = _code

# ----------------------------------------------------------------------------- loading

_lib = None
_lib_lock = threading.Lock()


def _candidates():
    env = os.environ.get("MLOPS_LIBRARY")
    if env:
        yield env
    for prefix in (sys.prefix, "/usr/local", "/usr"):
        for libdir in ("lib", "lib64", "lib/x86_64-linux-gnu", "lib/aarch64-linux-gnu"):
            yield os.path.join(prefix, libdir, "libmlops.so.1")
    found = ctypes.util.find_library("mlops")
    if found:
        yield found


def _load():
    global _lib
    with _lib_lock:
        if _lib is not None:
            return _lib
        errors = []
        for path in _candidates():
            if os.path.sep in path and not os.path.exists(path):
                continue
            try:
                _lib = _ffi.bind(ctypes.CDLL(path))
                return _lib
            except OSError as e:
                errors.append("%s: %s" % (path, e))
        raise OSError("libmlops not found (set MLOPS_LIBRARY to its path); tried: %s"
                      % ("; ".join(errors) or "nothing found"))


def _strerror(code):
    return _load().mlops_strerror(code).decode("utf-8", "replace")


def version():
    """The library's version text, e.g. "0.1.0"."""
    return _load().mlops_version().decode()

# ----------------------------------------------------------------------------- calls

# Initial capacity of a caller buffer whose size is not given (it grows as needed).
DEFAULT_CAPACITY = 1024


def _to_c_text(value):
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, (dict, list, tuple, bool, int, float)):
        return json.dumps(value).encode("utf-8")
    if hasattr(value, "__fspath__"):
        value = os.fspath(value)
    return str(value).encode("utf-8")


def _from_c_text(raw):
    text = raw.decode("utf-8", "replace")
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def _callback_arg(value):
    if isinstance(value, bytes):
        return _from_c_text(value)
    return value


class _Call:
    """Marshals one call of a generated function from Python arguments."""

    def __init__(self, fn, owner):
        self.fn = fn
        self.owner = owner  # the Handle that created objects belong to, if any

    def run(self, first, args, kwargs):
        try:
            return self._run(first, args, kwargs, None)
        except LimitError as e:
            # A caller buffer too small: the library says how much it needs in out_n
            # (and checks before doing any work), so run again with that capacity.
            needed = getattr(e, "_needed", None)
            if needed is None:
                raise
            return self._run(first, args, kwargs, needed)

    def _run(self, first, args, kwargs, cap_override):
        lib = _load()
        fn = self.fn
        cfunc = getattr(lib, fn.name)
        args = list(args)
        kwargs = dict(kwargs)
        c_args, outs, keep, errors = [], [], [], []
        by_name = {}
        arrays = {}
        params = fn.params
        for i, p in enumerate(params):
            if i == 0 and first is not None:
                c_args.append(first)
                continue
            k = p.kind
            if k in ("out_str", "out_obj"):
                cell = ctypes.c_void_p()
                c_args.append(ctypes.byref(cell))
                outs.append((p, cell))
                continue
            if k == "out_scalar":
                cell = p.ctype._type_()
                c_args.append(ctypes.byref(cell))
                outs.append((p, cell))
                continue
            if k == "array_len":
                c_args.append(len(arrays[p.name if False else params[i - 1].name]))
                continue
            if k == "buf_cap":
                c_args.append(len(arrays[params[i - 1].name]))
                continue
            if k == "user_data":
                c_args.append(None)
                continue
            if p.name in kwargs:
                value = kwargs.pop(p.name)
            elif args:
                value = args.pop(0)
            elif p.kind in ("in_str", "obj", "callback", "ptr", "buf_array"):
                value = None  # optional trailing text/objects default to NULL
            else:
                raise TypeError("%s: missing argument '%s'" % (fn.name, p.name))
            by_name[p.name] = value
            if k == "in_str":
                if p.name.endswith("_jsonl") and isinstance(value, (list, tuple)):
                    # JSON Lines text from a list of objects (router training data).
                    value = "".join(json.dumps(x) + "\n" for x in value)
                c_args.append(_to_c_text(value))
            elif k == "scalar":
                c_args.append(value)
            elif k == "obj":
                c_args.append(value._ptr if isinstance(value, (Object, Handle)) else value)
            elif k == "in_array":
                elem = p.ctype._type_
                buf = (elem * len(value))(*value)
                arrays[p.name] = buf
                c_args.append(buf)
            elif k == "buf_array":
                elem = p.ctype._type_
                # The capacity is optional: it grows to what the call needs.
                cap = cap_override or (DEFAULT_CAPACITY if value is None else int(value))
                buf = (elem * cap)()
                arrays[p.name] = buf
                c_args.append(buf)
                outs.append((p, buf))
            elif k == "callback":
                if value is None:
                    c_args.append(_ffi.CALLBACKS[p.type]())
                else:
                    cb = self._wrap_callback(p.type, value, errors)
                    keep.append(cb)
                    c_args.append(cb)
            elif k == "ptr":
                c_args.append(value)
        if args or kwargs:
            raise TypeError("%s: unexpected arguments %r %r" % (fn.name, args, list(kwargs)))
        rc = cfunc(*c_args)
        if keep and "set_" in fn.name and isinstance(self.owner, Handle):
            # A setter's callback (the log callback, a cache embedder) is held by the
            # library, which may still call a replaced one while calls in flight finish,
            # and may keep it even when the setter fails: it lives as long as the handle.
            self.owner._keep.setdefault(fn.name, []).extend(keep)
        if fn.status and rc != 0:
            message = lib.mlops_last_error().decode("utf-8", "replace")
            detail = None
            for p, cell in outs:
                # Some functions fill their text out-parameter on failure too (a gate's
                # decision): it travels on the exception as .detail.
                if p.kind == "out_str" and cell.value and detail is None:
                    detail = _from_c_text(ctypes.string_at(cell.value))
            self._release_outs(lib, outs)
            if errors:
                raise errors[0]
            err = ERRORS.get(rc, MlopsError)(rc, fn.name, message)
            err.detail = detail
            if rc == _ffi.MLOPS_ELIMIT and cap_override is None:
                for p, cell in outs:
                    if p.kind == "buf_array":
                        n = [c.value for q, c in outs if q.kind == "out_scalar" and q.name.endswith("_n")]
                        if n and n[0] > len(cell):
                            err._needed = n[0]
            raise err
        if errors:
            self._release_outs(lib, outs)
            raise errors[0]
        results = self._collect(lib, outs, params)
        if not fn.status and fn.restype is not None:
            results.insert(0, rc.decode("utf-8", "replace") if isinstance(rc, bytes) else rc)
        if not results:
            return None
        return results[0] if len(results) == 1 else tuple(results)

    def _wrap_callback(self, type_name, fn, errors):
        cftype = _ffi.CALLBACKS[type_name]
        arg_names = [n for n, _ in _ffi.CALLBACK_ARGS[type_name]]
        returns = cftype._restype_ is not None
        # A buffer the callback fills ("float *out, size_t dim"): the Python function
        # gets its length in its place and returns the values, which are copied in (a
        # wrong count raises ValueError, which cancels, as a non-zero return does).
        bufs = _ffi.CALLBACK_BUFFERS.get(type_name, {})
        hidden = set(bufs) | {"user_data"}

        def trampoline(*cargs):
            try:
                named = dict(zip(arg_names, cargs))
                values = [_callback_arg(v) for n, v in zip(arg_names, cargs) if n not in hidden]
                result = fn(*values)
                if bufs:
                    (buf, length), = bufs.items()
                    if result is None or isinstance(result, int):
                        return 1 if result is None else int(result)
                    result = list(result)
                    if len(result) != named[length]:
                        raise ValueError("callback %s returned %d values, want %d"
                                         % (type_name, len(result), named[length]))
                    ptr = named[buf]
                    for k, x in enumerate(result):
                        ptr[k] = x
                    return 0
                if returns:
                    return 0 if result is None else int(result)
            except BaseException as e:  # noqa: B902 - stop the C side, re-raise after
                errors.append(e)
                if returns:
                    return 1
            return None
        return cftype(trampoline)

    def _release_outs(self, lib, outs):
        for p, cell in outs:
            if p.kind == "out_str" and cell.value:
                lib.mlops_free(cell)
            elif p.kind == "out_obj" and cell.value:
                _free_object(p.type, cell.value)

    def _collect(self, lib, outs, params):
        results = []
        n_out = {p.name: cell for p, cell in outs if p.kind == "out_scalar"}
        for p, cell in outs:
            if p.kind == "out_str":
                if cell.value:
                    raw = ctypes.string_at(cell.value)
                    lib.mlops_free(cell)
                    results.append(_from_c_text(raw))
                else:
                    results.append(None)
            elif p.kind == "out_obj":
                results.append(_wrap_object(p.type, cell.value, self.owner))
            elif p.kind == "buf_array":
                count = None
                for name, c in n_out.items():
                    if name.endswith("_n") or name in ("out_n", "n_out", "out_count"):
                        count = c.value
                results.append(list(cell[: count if count is not None else len(cell)]))
            elif p.kind == "out_scalar":
                if any(q.kind == "buf_array" for q in params) and (p.name.endswith("_n") or p.name == "out_n"):
                    continue  # reported through the array's length
                results.append(cell.value)
        return results


def call(name, *args, **kwargs):
    """Calls any exported function by its C name with Python arguments."""
    fn = _ffi.FUNCTIONS.get(name)
    if fn is None:
        raise AttributeError("libmlops has no function %s" % name)
    return _Call(fn, None).run(None, args, kwargs)


def _is_free_function(f):
    return not (f.params and f.params[0].kind == "obj")


class _ModuleGroup:
    """mlops.gguf: the functions named mlops_gguf_* that take no handle or object."""

    def __init__(self, words):
        self._words = words

    def __getattr__(self, verb):
        verb = verb[:-1] if verb.endswith("_") else verb
        for w in self._words:
            name = "mlops_%s_%s" % (w, verb)
            f = _ffi.FUNCTIONS.get(name)
            if f and _is_free_function(f):
                return lambda *a, **k: call(name, *a, **k)
        raise AttributeError("no function mlops_%s_%s" % (self._words[0], verb))

    def __dir__(self):
        return sorted({n[len("mlops_%s_" % w):] for w in self._words for n, f in _ffi.FUNCTIONS.items()
                       if n.startswith("mlops_%s_" % w) and _is_free_function(f)})


def __getattr__(name):
    """Functions that take no handle, by name or by group (PEP 562):
    ``mlops.gguf.synth(path, options)`` or ``mlops.gguf_synth(...)`` for mlops_gguf_synth,
    ``mlops.model_load(path)`` for mlops_model_load."""
    if name.startswith("_"):
        raise AttributeError(name)
    f = _ffi.FUNCTIONS.get("mlops_" + name)
    if f is not None and _is_free_function(f):
        return lambda *a, **k: call(f.name, *a, **k)
    words = [name, name[:-1]] if name.endswith("s") else [name, name + "s"]
    if any(n.startswith("mlops_%s_" % w) and _is_free_function(f)
           for w in words for n, f in _ffi.FUNCTIONS.items()):
        return _ModuleGroup(words)
    raise AttributeError("module 'mlops' has no attribute '%s'" % name)


def lib_function(suffix):
    """Returns a callable for mlops_<suffix> (functions not bound to an object)."""
    name = "mlops_" + suffix
    if name not in _ffi.FUNCTIONS:
        raise AttributeError("libmlops has no function %s" % name)
    return lambda *a, **k: call(name, *a, **k)

# ----------------------------------------------------------------------------- objects


def _destructor(type_name):
    for f in _ffi.FUNCTIONS.values():
        p = f.params
        if (len(p) == 1 and p[0].kind == "obj" and p[0].type == type_name and f.restype is None
                and (f.name.endswith("_free") or f.name.endswith("_close"))):
            return f.name
    return None


def _free_object(type_name, ptr):
    d = _destructor(type_name)
    if d and ptr:
        getattr(_load(), d)(ptr)


def _wrap_object(type_name, ptr, owner):
    if not ptr:
        return None
    if type_name == "mlops_t":
        return Handle(ptr)
    obj = Object(type_name, ptr, owner)
    if owner is not None:
        owner._children.add(obj)  # closed before their owner
    return obj


def _methods_for(type_name):
    """Functions whose first parameter is an object of type_name, by short name."""
    prefix_word = type_name[len("mlops_"):-2] if type_name != "mlops_t" else None
    out = {}
    for f in _ffi.FUNCTIONS.values():
        if f.params and f.params[0].kind == "obj" and f.params[0].type == type_name:
            short = f.name[len("mlops_"):]
            out[short] = f
            module = os.path.splitext(os.path.basename(f.header))[0]
            for word in (prefix_word, module):
                # model.info() for mlops_model_info, session.generate() for
                # mlops_engine_generate: the object's or the header's word is dropped.
                if prefix_word and short.startswith(word + "_"):
                    out.setdefault(short[len(word) + 1:], f)
    return out


class _Group:
    """h.prompts: the handle's functions named mlops_prompt_* or mlops_prompts_*."""

    def __init__(self, handle, words):
        self._handle = handle
        self._words = words

    def __getattr__(self, verb):
        verb = verb[:-1] if verb.endswith("_") else verb  # h.prompts.import_ (a keyword)
        for w in self._words:
            f = _ffi.FUNCTIONS.get("mlops_%s_%s" % (w, verb))
            if f and f.params and f.params[0].type == "mlops_t":
                return self._handle._bound(f)
        raise AttributeError("no function mlops_%s_%s" % (self._words[0], verb))

    def __dir__(self):
        out = []
        for w in self._words:
            pre = "mlops_%s_" % w
            out += [n[len(pre):] for n in _ffi.FUNCTIONS if n.startswith(pre)]
        return sorted(set(out))


class Object:
    """A library object (mlops_<thing>_t) with its functions as methods."""

    def __init__(self, type_name, ptr, owner):
        self._type = type_name
        self._ptr = ptr
        # What created it (a handle, or another object: a session's model), kept alive
        # while this object lives; objects it creates are closed before it.
        self._owner = owner
        self._children = weakref.WeakSet()
        self._methods = _methods_for(type_name)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        f = self._methods.get(name)
        if f is None:
            raise AttributeError("%s has no function %s" % (self._type, name))
        if self._ptr is None:
            raise MlopsError(_ffi.MLOPS_EINVAL, f.name, "the object is already freed")
        call_ = _Call(f, self)
        return lambda *a, **k: call_.run(self._ptr, a, k)

    def close(self):
        """Releases the object (idempotent), after the objects it created."""
        if self._ptr:
            for child in list(self._children):
                child.close()
            _free_object(self._type, self._ptr)
            self._ptr = None

    free = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Handle:
    """An open libmlops store (mlops_t). Thread-safe; use it as a context manager."""

    def __init__(self, ptr):
        self._ptr = ptr
        self._keep = {}
        self._children = weakref.WeakSet()
        self._methods = _methods_for("mlops_t")

    def _bound(self, f):
        if self._ptr is None:
            raise MlopsError(_ffi.MLOPS_EINVAL, f.name, "the handle is closed")
        call_ = _Call(f, self)
        return lambda *a, **k: call_.run(self._ptr, a, k)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        f = self._methods.get(name)
        if f is not None and not _is_destructor(f):
            return self._bound(f)
        words = [name, name[:-1]] if name.endswith("s") else [name, name + "s"]
        if any(n.startswith("mlops_%s_" % w) for w in words for n in _ffi.FUNCTIONS):
            return _Group(self, words)
        raise AttributeError("libmlops handle has no function or group '%s'" % name)

    def __dir__(self):
        return sorted(set(list(self._methods) + ["close"]))

    def close(self):
        """Closes the store (idempotent)."""
        if self._ptr:
            for child in list(self._children):
                child.close()
            _load().mlops_close(self._ptr)
            self._ptr = None
            self._keep.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def _is_destructor(f):
    return f.name.endswith("_close") or f.name.endswith("_free")


def open(path, config=None):  # noqa: A001 - mirrors mlops_open
    """Opens (creating if missing) a store: an SQLite file path or ":memory:".

    ``config`` is a dict or JSON text (see mlops_open in include/mlops/core.h).
    Returns a :class:`Handle`; raises a :class:`MlopsError` subclass on failure.
    """
    return call("mlops_open", path, config)
