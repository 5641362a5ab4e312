"""Compile and run the C test programs of tests/native/ (spandsp style: "Test N: name",
"    Passed", non-zero exit on the first failure), plain and under the sanitizers.

gcc is part of the documented setup, so a missing compiler fails these tests rather than
skipping them.
"""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "native", "src")

# Each program with the library sources it needs.
PROGRAMS = {
    "ring_tests": ["ring.c", "errors.c"],
    "chan_tests": ["chan.c", "dtmf.c", "errors.c"],
    "e1_tests": ["e1.c", "r2mf.c", "errors.c"],
}
BASE = ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror",
        "-I" + os.path.join(ROOT, "native", "include")]
FLAVOURS = {
    "plain": ["-O2"],
    # target_clones needs an ifunc resolver that runs before the sanitizer runtime is up.
    "asan_ubsan": ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
                   "-fno-sanitize-recover=all", "-DVB_NO_TARGET_CLONES"],
    "tsan": ["-O1", "-g", "-fsanitize=thread", "-DVB_NO_TARGET_CLONES"],
}
CASES = [(prog, flavour) for prog in PROGRAMS for flavour in ("plain", "asan_ubsan")] + [("ring_tests", "tsan")]


def gcc():
    path = shutil.which("gcc")
    assert path, "gcc not found: the README's setup installs it (apt-get install gcc)"
    return path


def build(prog, flavour, tmp_path):
    exe = str(tmp_path / f"{prog}_{flavour}")
    cmd = ([gcc()] + FLAVOURS[flavour] + BASE + [os.path.join(ROOT, "tests", "native", prog + ".c")]
           + [os.path.join(SRC, s) for s in PROGRAMS[prog]] + ["-o", exe, "-lm", "-lpthread"])
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, f"{' '.join(cmd)}\n{res.stderr}"
    return exe


@pytest.mark.parametrize("prog, flavour", CASES)
def test_native_program(prog, flavour, tmp_path):
    exe = build(prog, flavour, tmp_path)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1", TSAN_OPTIONS="halt_on_error=1")
    # The two-thread test moves 10 million samples plain; the sanitizers make every access
    # several times dearer, so they get a tenth, still many times around the ring.
    args = [] if flavour == "plain" or prog != "ring_tests" else ["1000000"]
    res = subprocess.run([exe] + args, capture_output=True, text=True, timeout=120, env=env)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "Tests passed." in res.stdout, out
    assert "Sanitizer" not in out and "runtime error" not in out, out
    tests = [line for line in res.stdout.splitlines() if line.startswith("Test ")]
    passed = [line for line in res.stdout.splitlines() if line.startswith("    Passed")]
    assert tests and len(passed) == len(tests), out


def test_tsan_sees_a_ring_without_release_acquire(tmp_path):
    """Control: the thread sanitizer run above can fail. The same two-thread test against a
    copy of ring.c whose index stores and loads are relaxed must be reported as a race."""
    with open(os.path.join(SRC, "ring.c"), encoding="utf-8") as f:
        text = f.read()
    weak = text.replace("memory_order_release", "memory_order_relaxed").replace(
        "memory_order_acquire", "memory_order_relaxed")
    assert weak != text
    (tmp_path / "ring_weak.c").write_text(weak, encoding="utf-8")
    exe = str(tmp_path / "ring_weak")
    cmd = ([gcc()] + FLAVOURS["tsan"] + BASE + [os.path.join(ROOT, "tests", "native", "ring_tests.c"),
                                               str(tmp_path / "ring_weak.c"), os.path.join(SRC, "errors.c"),
                                               "-o", exe, "-lpthread"])
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    res = subprocess.run([exe, "200000"], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, TSAN_OPTIONS="halt_on_error=1"))
    assert res.returncode != 0
    assert "ThreadSanitizer: data race" in res.stderr
