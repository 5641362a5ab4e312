"""Tone and DTMF generator throughput: Debian's libspandsp, a numpy baseline, and ours once built.

Usage (from the repository root, after bench/setup.sh):
    /opt/vbdev/bin/python bench/tone_bench.py [--seconds 600] [--rounds 5] [--passes 3] [--block 160]

Signals (all at -10 dBm0 per tone, China's tone level, telephony.md section 4.1):
    dtmf  "0123456789*#ABCD" repeated, 50 ms on / 50 ms off
    dial  450 Hz continuous (China dial tone)
    dual  350+440 Hz continuous (US dial tone)
    busy  450 Hz, 350 ms on / 350 ms off (China busy tone)

C generators run in bench/tone_harness.c in blocks of --block samples (one 20 ms tick by
default); the harness checks the level of what it generated before timing it. Our generator
(native/src/tone.c: vb_tone_tx / vb_dtmf_tx) is built into the harness only when tone.c defines
them; until then the script says it did not measure ours. The numpy baseline is what Python
code would do without a C generator: the whole signal in one go, and phase-continuous
160-sample blocks. Figures are audio seconds per CPU second (= real-time 8 kHz channels one
core can feed), best and median over rounds x passes.
"""
import argparse
import os
import re
import subprocess
import time

import numpy as np

import benchlib
from benchlib import FS, signals, progress

MODES = ("dtmf", "dial", "dual", "busy")
DIGITS = "0123456789*#ABCD"
LEVEL_DBM0 = -10.0          # telephony.md 4.1: China tones -10 +- 3 dBm; also both DTMF generators' default
DTMF_ON, DTMF_OFF = 400, 400                 # 50 ms / 50 ms in samples
BUSY_ON, BUSY_OFF = 2800, 2800               # 350 ms / 350 ms in samples (China busy, telephony.md 4.1)
CONTINUOUS = {"dial": (450.0,), "dual": (350.0, 440.0)}
ROW_HZ = np.array([signals.digit_freqs(d)[0] for d in DIGITS])
COL_HZ = np.array([signals.digit_freqs(d)[1] for d in DIGITS])


def ours_in_tree():
    """Whether native/src/tone.c defines our generators (it is a placeholder until merged)."""
    with open(os.path.join(benchlib.ROOT, "native", "src", "tone.c"), encoding="utf-8") as f:
        src = f.read()
    return all(re.search(r"\b%s\s*\(" % name, src) for name in ("vb_tone_tx", "vb_dtmf_tx", "vb_dtmf_tx_init"))


def build_harness():
    """Build the harness; return (exe, message about ours or None when ours is built in)."""
    libs = ["-lspandsp", "-lm", "-lpthread"]
    if ours_in_tree():
        try:
            return benchlib.build_c("tone_harness", ["native/src/tone.c", "native/src/errors.c"], libs,
                                    ["-DVB_BENCH_HAVE_TONE"]), None
        except benchlib.BuildError as e:
            first = next((line for line in str(e).splitlines() if "error" in line), str(e).splitlines()[-1])
            why = f"ours: native/src/tone.c is there but the harness did not build against it ({first}); did not measure ours"
    else:
        why = "ours not built yet: native/src/tone.c has no vb_tone_tx/vb_dtmf_tx; did not measure ours"
    try:
        return benchlib.build_c("tone_harness", [], libs), why
    except benchlib.BuildError as e:
        benchlib.fail(f"{e}\n(run bench/setup.sh for gcc and libspandsp-dev)")


def run_c(exe, impl, mode, seconds, block, passes):
    out = subprocess.run([exe, impl, mode, str(seconds), "-b", str(block), "-n", str(passes)],
                         check=True, capture_output=True, text=True).stdout
    kv = dict(item.split("=", 1) for item in out.split())
    return float(kv["rms_dbm0"]), [seconds / float(t) for t in kv["cpu_s"].split(",")]


def numpy_whole(mode, n):
    """The whole signal with numpy, one expression per digit or tone."""
    a = signals.amplitude(LEVEL_DBM0)
    if mode == "dtmf":
        x = np.zeros(n)
        t = np.arange(DTMF_ON) / FS
        for i, start in enumerate(range(0, n, DTMF_ON + DTMF_OFF)):
            f1, f2 = signals.digit_freqs(DIGITS[i % 16])
            burst = a * (np.sin(2 * np.pi * f1 * t) + np.sin(2 * np.pi * f2 * t))
            x[start:start + DTMF_ON] = burst[:n - start]
        return signals.to_int16(x)
    t = np.arange(n) / FS
    if mode == "busy":
        return signals.to_int16(a * np.sin(2 * np.pi * 450.0 * t) * ((np.arange(n) % (BUSY_ON + BUSY_OFF)) < BUSY_ON))
    return signals.to_int16(sum(a * np.sin(2 * np.pi * f * t) for f in CONTINUOUS[mode]))


def numpy_blocks(mode, n, block):
    """The signal as a phase-continuous stream of block-sized numpy computations."""
    a = signals.amplitude(LEVEL_DBM0)
    last = None
    for pos in range(0, n, block):
        idx = np.arange(pos, min(pos + block, n))
        if mode == "dtmf":
            digit = (idx // (DTMF_ON + DTMF_OFF)) % 16
            local = idx % (DTMF_ON + DTMF_OFF)
            t = local / FS
            x = a * (np.sin(2 * np.pi * ROW_HZ[digit] * t) + np.sin(2 * np.pi * COL_HZ[digit] * t)) * (local < DTMF_ON)
        elif mode == "busy":
            x = a * np.sin(2 * np.pi * 450.0 * idx / FS) * ((idx % (BUSY_ON + BUSY_OFF)) < BUSY_ON)
        else:
            x = sum(a * np.sin(2 * np.pi * f * idx / FS) for f in CONTINUOUS[mode])
        last = signals.to_int16(x)
    return last


def time_py(fn, seconds, runs, label):
    rates = []
    for r in range(runs):
        t0 = time.process_time()
        fn()
        rates.append(seconds / (time.process_time() - t0))
    progress(f"{label}: median {np.median(rates):,.0f} x real time")
    return rates


def ours_python(seconds, runs):
    """voiceboard.dsp.dtmf_samples(digits), when it exists: (rates, None) or (None, why not)."""
    try:
        from voiceboard import dsp
    except ImportError as e:
        return None, f"ours not built yet: voiceboard.dsp does not import ({e}); did not measure ours"
    if not hasattr(dsp, "dtmf_samples"):
        return None, "ours not built yet: voiceboard.dsp has no dtmf_samples; did not measure ours"
    digits = DIGITS * int(seconds * FS / (16 * (DTMF_ON + DTMF_OFF)))
    try:
        x = dsp.dtmf_samples(digits)
    except TypeError as e:
        return None, f"voiceboard.dsp.dtmf_samples(digits) failed ({e}); did not measure ours"
    audio_s = len(np.asarray(x)) / FS
    return time_py(lambda: dsp.dtmf_samples(digits), audio_s, runs, "ours dtmf_samples (Python)"), None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=600.0, help="audio per pass (default 600)")
    ap.add_argument("--rounds", type=int, default=5, help="timing rounds (default 5)")
    ap.add_argument("--passes", type=int, default=3, help="C passes per round (default 3)")
    ap.add_argument("--block", type=int, default=160, help="samples per call (default 160 = 20 ms)")
    args = ap.parse_args()
    started = benchlib.machine_line()
    for name in ("seconds", "rounds", "passes", "block"):
        if getattr(args, name) <= 0:
            benchlib.fail(f"--{name} must be positive")

    progress("building bench/tone_harness.c")
    exe, ours_why = build_harness()
    impls = ["spandsp"] + ([] if ours_why else ["ours"])
    n = int(args.seconds * FS)
    results = {}
    for mode in MODES:
        res = {impl: [] for impl in impls}
        levels = {}
        for rnd in range(args.rounds):
            for impl in (impls if rnd % 2 == 0 else impls[::-1]):
                levels[impl], rates = run_c(exe, impl, mode, args.seconds, args.block, args.passes)
                res[impl] += rates
        progress(f"{mode}: " + ", ".join(f"{i} median {np.median(res[i]):,.0f} x real time "
                                         f"(level {levels[i]:.2f} dBm0)" for i in impls))
        res["numpy whole signal"] = time_py(lambda: numpy_whole(mode, n), args.seconds, args.rounds,
                                            f"{mode}: numpy whole signal")
        res[f"numpy {args.block}-sample blocks"] = time_py(lambda: numpy_blocks(mode, n, args.block),
                                                           args.seconds, args.rounds,
                                                           f"{mode}: numpy {args.block}-sample blocks")
        results[mode] = (res, levels)
    py_rates, py_why = ours_python(args.seconds, args.rounds)

    print(f"started {started}")
    print(f"ended   {benchlib.machine_line()}")
    print(f"{args.seconds:.0f} s of audio per pass, block {args.block}; C: {args.rounds} rounds x "
          f"{args.passes} passes; numpy: {args.rounds} runs")
    print("audio s per CPU s (= real-time 8 kHz channels per core), best / median")
    print()
    print(f"{'generator':<30}" + "".join(f"{m:>22}" for m in MODES))
    names = list(results[MODES[0]][0])
    for name in names:
        label = f"{name} (C)" if name in impls else name
        cells = []
        for mode in MODES:
            best, med = benchlib.best_median(results[mode][0][name])
            cells.append(f"{best:>10,.0f} / {med:>9,.0f}")
        print(f"{label:<30}" + "".join(f"{c:>22}" for c in cells))
    if py_rates:
        best, med = benchlib.best_median(py_rates)
        print(f"{'ours dtmf_samples (Python)':<30}{best:>10,.0f} / {med:>9,.0f}")
    if "ours" in impls:
        print()
        print("ratio ours/spandsp (C, median): "
              + ", ".join(f"{m} {np.median(results[m][0]['ours']) / np.median(results[m][0]['spandsp']):.2f}"
                          for m in MODES))
    print()
    print("levels generated (dBm0, whole signal): "
          + "; ".join(f"{m} " + ", ".join(f"{i} {results[m][1][i]:.2f}" for i in impls) for m in MODES))
    for why in (ours_why, py_why):
        if why:
            print(why)


if __name__ == "__main__":
    main()
