"""cffi builder for voiceboard._native (out-of-line API mode).

setup.py runs this file through ``cffi_modules``; cffi executes it with execfile(), so it
must never import voiceboard.  For development, ``python native/build_native.py`` builds the
extension in place (next to voiceboard/__init__.py).

Environment:
  VB_NATIVE_DEBUG=1   build with -O0 -g and AddressSanitizer + UndefinedBehaviorSanitizer.
"""
import glob
import os

from cffi import FFI

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Relative POSIX paths: setuptools wants sources relative to the distribution root.
SOURCES = [
    "native/src/errors.c",
    "native/src/g711.c",
    "native/src/dtmf.c",
    "native/src/tone.c",
    "native/src/cpd.c",
    "native/src/ring.c",
    "native/src/chan.c",
    "native/src/resample.c",
    "native/src/fsk.c",
    "native/src/e1.c",
    "native/src/r2mf.c",
]

if os.environ.get("VB_NATIVE_DEBUG") == "1":
    _sanitize = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]
    COMPILE_ARGS = ["-O0", "-g", "-fno-omit-frame-pointer"] + _sanitize
    LINK_ARGS = _sanitize
    MACROS = [("VB_NO_TARGET_CLONES", "1")]
else:
    COMPILE_ARGS = ["-O2"]
    LINK_ARGS = []
    MACROS = []
COMPILE_ARGS += ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-ffp-contract=fast"]

# cffi declarations, in dependency order (a module may use the types of those before it).
CDEFS = ["telephony", "g711", "dtmf", "tone", "cpd", "resample", "fsk", "e1", "r2mf", "ring", "chan"]

ffibuilder = FFI()
for _name in CDEFS:
    with open(os.path.join(ROOT, "native", "cdef", _name + ".h"), encoding="utf-8") as _f:
        ffibuilder.cdef(_f.read())



def _set_source(root):
    ffibuilder.set_source(
        "voiceboard._native",
        '#include "vb/vb.h"',
        sources=[os.path.join(root, s) for s in SOURCES],
        include_dirs=[os.path.join(root, "native", "include")],
        define_macros=MACROS,
        extra_compile_args=COMPILE_ARGS,
        extra_link_args=LINK_ARGS,
        libraries=["m", "pthread"],
    )


# An in-place build compiles from a temporary directory, so it needs absolute paths.
_set_source(ROOT if __name__ == "__main__" else "")

if __name__ == "__main__":
    # One extension only: a stale copy from `pip install -e .` (_native.abi3.so) would win
    # the import over this in-place build.
    for _stale in glob.glob(os.path.join(ROOT, "voiceboard", "_native*.so")):
        os.remove(_stale)
    ffibuilder.compile(tmpdir=os.path.join(ROOT, "build", "cffi"), verbose=False,
                       target=os.path.join(ROOT, "voiceboard", "_native.*"))
