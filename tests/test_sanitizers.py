"""The extension built with VB_NATIVE_DEBUG=1 (AddressSanitizer + UndefinedBehaviorSanitizer,
see native/build_native.py) runs G.711, DtmfDetector, Board and RingBuffer without a report.

The debug build goes into a copy of the tree in a temporary directory, so the in-place
extension is left alone; the script runs in a subprocess with the ASan runtime preloaded
(CPython itself is not instrumented). A control run proves that a real overflow is reported.
"""
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

EXERCISE = textwrap.dedent("""
    import numpy as np
    import signals
    from voiceboard import dsp

    assert dsp.__file__.startswith(COPY), dsp.__file__
    rng = np.random.default_rng(7)

    # G.711: every code word and every linear value.
    codes = np.arange(256, dtype=np.uint8)
    lin = np.arange(-32768, 32768, dtype=np.int64).astype(np.int16)
    for enc, dec in ((dsp.lin2alaw, dsp.alaw2lin), (dsp.lin2ulaw, dsp.ulaw2lin)):
        assert enc(lin).size == lin.size and dec(codes).size == 256
    assert dsp.alaw2ulaw(codes).size == dsp.ulaw2alaw(codes).size == 256
    assert len(dsp.alaw2lin(dsp.lin2alaw(lin.tobytes()))) == 2 * lin.size

    # DTMF receiver fed in ragged pieces.
    sig = signals.to_int16(signals.digit_string("147*2580369#ABCD", rng))
    with dsp.DtmfDetector() as det:
        events = []
        at = 0
        while at < sig.size:
            n = int(rng.integers(1, 300))
            events += det.feed(sig[at:at + n])
            at += n
        events += det.finish()
    assert "".join(e.digit for e in events if e.kind == "off") == "147*2580369#ABCD"

    # Board: play, barge-in, record past its limit, bridge, flush, events, odd tick size.
    for tick in (160, 37):
        ticks = -(-12000 // tick)
        with dsp.Board(6, tick=tick) as board:
            rx = np.zeros((6, ticks * tick), np.int16)
            rx[0, 300:300 + sig.size // 4] = sig[:sig.size // 4]
            rx[3] = signals.to_int16(signals.white_noise(rx.shape[1], -20.0, rng))
            board.play(0, rng.integers(-9000, 9000, 3000).astype(np.int16), barge_in="1")
            board.play(0, b"")
            board.play(2, rng.integers(-32768, 32767, 777).astype(np.int16))
            board.start_record(3, 1000)
            board.start_record(4, 10 ** 6)
            board.bridge(2, 3)
            out = np.empty((6, tick), np.int16)
            for t in range(ticks):
                board.tick(np.ascontiguousarray(rx[:, t * tick:(t + 1) * tick]), out=out)
                if t == ticks // 2:
                    board.stop_play(2)
                    board.unbridge(3)
                    board.take_recording(4)
            kinds = {e.kind for e in board.events()}
            assert {"digit_on", "digit_off", "play_done", "record_limit"} <= kinds, kinds
            assert board.take_recording(3).size == 1000
            board.dtmf_stats(5)
    # A board dropped without close(): the ffi.gc safety net frees it.
    dsp.Board(2).play(1, np.ones(100, np.int16))

    # Ring: wrap-around, overrun, padded underrun.
    with dsp.RingBuffer(256) as ring:
        for _ in range(200):
            ring.write(rng.integers(-100, 100, int(rng.integers(0, 300))).astype(np.int16))
            ring.read(int(rng.integers(0, 300)), pad=bool(rng.integers(0, 2)))
        st = ring.stats
        assert st["overrun"] > 0 and st["underrun"] > 0
    print("exercise done")
""")

CONTROL = textwrap.dedent("""
    import numpy as np
    from voiceboard import dsp
    from voiceboard._native import ffi, lib

    assert dsp.__file__.startswith(COPY), dsp.__file__
    ring = dsp.RingBuffer(1024)
    small = np.zeros(10, np.int16)
    # Tell the ring the buffer is 100 times longer than it is.
    lib.vb_ring_write(ring._state, ffi.cast("const int16_t *", ffi.from_buffer(small)), 1000)
    print("not caught")
""")


@pytest.fixture(scope="module")
def debug_tree(tmp_path_factory):
    """A copy of native/ and voiceboard/ with the extension built for the sanitizers."""
    copy = tmp_path_factory.mktemp("debug")
    shutil.copytree(os.path.join(ROOT, "native"), copy / "native")
    shutil.copytree(os.path.join(ROOT, "voiceboard"), copy / "voiceboard",
                    ignore=shutil.ignore_patterns("_native*", "__pycache__"))
    env = dict(os.environ, VB_NATIVE_DEBUG="1")
    res = subprocess.run([sys.executable, str(copy / "native" / "build_native.py")], capture_output=True,
                         text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    return str(copy)


def run_sanitized(tree, script):
    gcc = shutil.which("gcc")
    assert gcc, "gcc not found: the README's setup installs it (apt-get install gcc)"
    libasan = subprocess.run([gcc, "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    assert os.path.isabs(libasan) and os.path.exists(libasan), f"no libasan.so from gcc: {libasan!r}"
    env = dict(os.environ, LD_PRELOAD=libasan, ASAN_OPTIONS="detect_leaks=0",
               UBSAN_OPTIONS="print_stacktrace=1", PYTHONPATH=os.pathsep.join([tree, os.path.join(ROOT, "tests")]))
    return subprocess.run([sys.executable, "-c", f"COPY = {tree!r}\n" + script], capture_output=True,
                          text=True, env=env, cwd=tree, timeout=300)


def test_exercise_has_no_sanitizer_report(debug_tree):
    res = run_sanitized(debug_tree, EXERCISE)
    out = res.stdout + res.stderr
    assert "AddressSanitizer" not in out and "runtime error" not in out, out
    assert res.returncode == 0, out
    assert "exercise done" in res.stdout, out


def test_control_overflow_is_reported(debug_tree):
    res = run_sanitized(debug_tree, CONTROL)
    assert res.returncode != 0
    assert "ERROR: AddressSanitizer: " in res.stderr, res.stdout + res.stderr
    assert "not caught" not in res.stdout
