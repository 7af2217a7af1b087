#!/usr/bin/python3
"""A function added to a header appears in both bindings after regeneration.

Copies include/ to a temporary directory, adds a scratch module header declaring a new
function of each common shape, regenerates into a temporary bindings tree, and checks
that Python and Go both carry it, with no hand edits.
"""
import os
import shutil
import subprocess
import sys
import tempfile

repo = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="mlops-scratch-")
try:
    inc = os.path.join(tmp, "include")
    shutil.copytree(os.path.join(repo, "include"), inc)
    with open(os.path.join(inc, "mlops", "scratch.h"), "w") as f:
        f.write('''#ifndef MLOPS_SCRATCH_H
#define MLOPS_SCRATCH_H
#include "core.h"
#ifdef __cplusplus
extern "C" {
#endif
/** An opaque scratch object. */
typedef struct mlops_scratch mlops_scratch_t;
/** Called per item; non-zero stops. */
typedef int (*mlops_scratch_fn)(const char *item_json, void *user_data);
/**
 * Echoes text back as JSON.
 * @return MLOPS_OK or MLOPS_EINVAL.
 */
MLOPS_API int mlops_scratch_echo(mlops_t *h, const char *text_json, int64_t n, char **out);
/**
 * Makes an object from floats.
 * @return MLOPS_OK.
 */
MLOPS_API int mlops_scratch_new(mlops_t *h, const float *v, size_t n, mlops_scratch_fn fn, void *user_data, mlops_scratch_t **out);
/** Frees it. */
MLOPS_API void mlops_scratch_free(mlops_scratch_t *s);
/** Fills out with dim floats for text; non-zero cancels. */
typedef int (*mlops_scratch_fill_fn)(const char *text, float *out, size_t dim, void *user_data);
/**
 * Counts the object's items with a label.
 * @param s     the object.
 * @param label a label, or NULL for all.
 * @param out   receives the count.
 * @return MLOPS_OK.
 */
MLOPS_API int mlops_scratch_count(mlops_scratch_t *s, const char *label, int64_t *out);
#ifdef __cplusplus
}
#endif
#endif
''')
    with open(os.path.join(inc, "mlops.h")) as f:
        umbrella = f.read()
    umbrella = umbrella.replace('#include "mlops/core.h"', '#include "mlops/core.h"\n#include "mlops/scratch.h"')
    with open(os.path.join(inc, "mlops.h"), "w") as f:
        f.write(umbrella)
    out = os.path.join(tmp, "bindings")
    subprocess.check_call([sys.executable, os.path.join(repo, "bindings", "gen", "gen.py"),
                           "--include", inc, "--out", out])
    py = open(os.path.join(out, "python", "mlops", "_ffi.py")).read()
    go = open(os.path.join(out, "go", "mlops", "zz_generated.go")).read()
    checks = [
        ("Python has mlops_scratch_echo", "'mlops_scratch_echo': Function(" in py),
        ("Python has mlops_scratch_new", "'mlops_scratch_new': Function(" in py),
        ("Python has the callback type", "'mlops_scratch_fn': ctypes.CFUNCTYPE(" in py),
        ("Python keeps the doc comment", "Echoes text back as JSON." in py),
        ("Go has (*Handle).ScratchEcho", "func (r *Handle) ScratchEcho(textJSON string, n int64) (string, error)" in go),
        ("Go has (*Handle).ScratchNew", "func (r *Handle) ScratchNew(v []float32, fn ScratchFn) (*Scratch, error)" in go),
        ("Go has (*Scratch).Free", "func (r *Scratch) Free()" in go),
        ("Go has the trampoline", "//export goTrampoline_mlops_scratch_fn" in go),
        ("Go has (*Scratch).Count, NULL from its doc",
         "func (r *Scratch) Count(label string) (int64, error)" in go and "c_label := cStringOrNil(label)" in go),
        ("Go fills a buffer callback's slice", "type ScratchFillFn func(text string, out []float32) int" in go),
        ("Python knows the callback's buffer", "'mlops_scratch_fill_fn': {'out': 'dim'}" in py),
    ]
    failed = [name for name, ok in checks if not ok]
    for name, ok in checks:
        print("%s: %s" % ("ok" if ok else "MISSING", name))
    # A shape outside the contract is refused, loudly.
    with open(os.path.join(inc, "mlops", "scratch.h")) as f:
        text = f.read()
    with open(os.path.join(inc, "mlops", "scratch.h"), "w") as f:
        f.write(text.replace("/** Frees it. */", "/** Bad. */\nMLOPS_API int mlops_scratch_bad(mlops_t *h, short s);\n/** Frees it. */"))
    r = subprocess.run([sys.executable, os.path.join(repo, "bindings", "gen", "gen.py"),
                        "--include", inc, "--out", out], capture_output=True, text=True)
    if r.returncode == 0 or "mlops_scratch_bad" not in r.stderr:
        failed.append("an unsupported parameter shape was not refused")
    print("scratch header: %d checks, %d failed" % (len(checks) + 1, len(failed)))
    sys.exit(1 if failed else 0)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
