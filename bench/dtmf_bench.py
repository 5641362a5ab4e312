"""DTMF receiver throughput: ours (native/src/dtmf.c) against Debian's libspandsp, same run.

Usage (from the repository root, after bench/setup.sh):
    /opt/vbdev/bin/python bench/dtmf_bench.py [--minutes 10] [--rounds 5] [--passes 3]
                                              [--block 160] [--seed 1] [--keep FILE.raw]

Builds bench/dtmf_harness.c, generates a long mixed input (random digits at random levels,
twists and frequency offsets with gaps, silence, white noise, and Mandarin and English speech
rendered by espeak-ng and resampled to 8 kHz), then times both receivers on it through the C
harness; ours also as built without its AVX2 clone (VB_NO_TARGET_CLONES), since Debian builds
libspandsp for baseline x86-64. Rounds rotate which receiver runs first, so a load change on
the shared machine hits all of them. Every pass is one figure: the report gives the best and
the median over rounds x passes. One real-time 8 kHz channel needs one audio second per second, so audio
seconds per CPU second is also the number of channels one core carries (detection alone).
The Python figure feeds voiceboard.dsp.DtmfDetector in --block pieces to show the wrapper
cost. Digits found are scored against the truth (missed / extra, by position).
"""
import argparse
import os
import statistics
import tempfile
import time

import numpy as np

import benchlib
from benchlib import FS, signals, progress

KEYS = signals.KEYPAD
SCORE_BLOCK = 160   # samples per call in the run that places digits against the truth


def ms(n):
    """Samples in n milliseconds."""
    return int(round(FS * n / 1000.0))


def mixed_input(minutes, rng):
    """The benchmark input and its truth, as a benchlib.Stream (float samples)."""
    progress("rendering speech with espeak-ng (cmn, en-us)")
    pool = benchlib.speech_pool(rng)
    st = benchlib.Stream()
    total = ms(minutes * 60_000)
    counts = {"digits": 0, "speech": 0, "noise": 0, "silence": 0}
    while st.n < total:
        kind = rng.choice(["digits", "speech", "noise", "silence"], p=[0.45, 0.3, 0.15, 0.1])
        counts[kind] += 1
        if kind == "digits":
            # A keyed string: every tone is inside Q.24's must-accept region with margin
            # (on >= 50 ms, pause >= 60 ms, offset <= 1 %, twist 3 dB reverse .. 6 dB normal,
            # per-tone level -4 .. -27 dBm0), half of the strings over white noise at >= 24 dB SNR.
            row_dbm0 = rng.uniform(-25, -4)
            twist = rng.uniform(-3, 6)              # > 0: high group weaker
            col_dbm0 = float(np.clip(row_dbm0 - twist, -27, -4))
            noisy = rng.random() < 0.5
            snr = rng.uniform(24, 40)
            st.add(signals.silence(rng.uniform(100, 400)), slot=False)
            for _ in range(int(rng.integers(1, 9))):
                d = KEYS[rng.integers(16)]
                on = rng.uniform(50, 150)
                off = rng.uniform(60, 200)
                x = np.concatenate([signals.dtmf_tone(d, on, rng, row_dbm0=row_dbm0, col_dbm0=col_dbm0,
                                                      row_offset=rng.uniform(-0.01, 0.01),
                                                      col_offset=rng.uniform(-0.01, 0.01)),
                                    signals.silence(off)])
                if noisy:
                    x += signals.white_noise(len(x), min(row_dbm0, col_dbm0) - snr, rng)
                st.add(x, d, "digits")
            st.add(signals.silence(rng.uniform(100, 400)), slot=False)
        elif kind == "speech":
            _, x = pool[rng.integers(len(pool))]
            st.add(benchlib.set_rms_dbm0(x, rng.uniform(-28, -12)), "", "speech")
        elif kind == "noise":
            st.add(signals.white_noise(ms(rng.uniform(1000, 5000)), rng.uniform(-40, -15), rng), "", "noise")
        else:
            st.add(signals.silence(rng.uniform(300, 3000)), "", "silence")
    progress(f"input: {st.n / FS:.0f} s; segments {counts}; {sum(len(e) for e in st.expect)} digits")
    return st


def talkoff(st, got):
    """Digits reported during speech, noise and silence, by kind."""
    out = {}
    for kind in ("speech", "noise", "silence"):
        out[kind] = sum(len(g) for g, k in zip(got, st.kinds) if k == kind)
    return out


def python_path(x16, block, runs):
    """CPU time of DtmfDetector.feed over the input in block-sized pieces; (times, digits)."""
    from voiceboard.dsp import DtmfDetector

    times = []
    digits = ""
    for r in range(runs):
        found = []
        t0 = time.process_time()
        with DtmfDetector() as det:
            for pos in range(0, len(x16), block):
                found += [e.digit for e in det.feed(x16[pos:pos + block]) if e.kind == "on"]
        times.append(time.process_time() - t0)
        digits = "".join(found)
        progress(f"python path run {r + 1}/{runs}: {times[-1]:.2f} s CPU")
    return times, digits


def time_receivers(receivers, raw, audio_s, rounds, passes, block, label):
    """Audio seconds per CPU second of every pass, per receiver; rounds rotate the order."""
    rates = {name: [] for name in receivers}
    names = list(receivers)
    for rnd in range(rounds):
        for name in names[rnd % len(names):] + names[:rnd % len(names)]:
            exe, impl = receivers[name]
            r = benchlib.run_harness(exe, impl, raw, block, passes)
            if r["dropped"]:
                benchlib.fail(f"{name} dropped {r['dropped']} events at block {block}; use a smaller --block")
            rates[name] += [audio_s / t for t in r["cpu"]]
        if label:
            progress(f"{label} round {rnd + 1}/{rounds}: "
                     + ", ".join(f"{n} {statistics.median(rates[n][-passes:]):,.0f}" for n in names)
                     + " x real time")
    return rates


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="length of the mixed input (default 10)")
    ap.add_argument("--rounds", type=int, default=5, help="timing rounds per receiver (default 5)")
    ap.add_argument("--passes", type=int, default=3, help="passes over the input per round (default 3)")
    ap.add_argument("--block", type=int, default=160, help="samples per call (default 160 = 20 ms)")
    ap.add_argument("--python-runs", type=int, default=3, help="runs of the Python path (default 3)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", metavar="FILE.raw", help="also write the input to this file")
    args = ap.parse_args()
    started = benchlib.machine_line()
    for name in ("minutes", "rounds", "passes", "block", "python_runs"):
        if getattr(args, name) <= 0:
            benchlib.fail(f"--{name.replace('_', '-')} must be positive")

    progress("building bench/dtmf_harness.c (ours + libspandsp), also without the AVX2 clone")
    exe = benchlib.build_dtmf_harness()
    # Debian builds libspandsp for baseline x86-64; this build shows ours on the same footing.
    exe_generic = benchlib.build_dtmf_harness("dtmf_harness_generic", ["-DVB_NO_TARGET_CLONES"])
    receivers = {"ours": (exe, "ours"), "ours, generic x86-64": (exe_generic, "ours"),
                 "spandsp": (exe, "spandsp")}
    rng = np.random.default_rng(args.seed)
    st = mixed_input(args.minutes, rng)
    x16 = signals.to_int16(st.signal())
    audio_s = len(x16) / FS

    with tempfile.TemporaryDirectory() as tmp:
        raw = args.keep or os.path.join(tmp, "mixed.raw")
        benchlib.write_raw(raw, x16)

        # Digits are placed by the end of the call that reported them, so the scoring run uses
        # calls of at most 20 ms whatever block is timed; neither receiver's digits depend on
        # how the stream is cut.
        found = {}
        sequence = {}
        for impl in benchlib.IMPLS:
            r = benchlib.run_harness(exe, impl, raw, SCORE_BLOCK, 1, listing=True)
            found[impl] = st.found(r["hits"])
            sequence[impl] = "".join(d for d, _ in r["hits"])

        rates = time_receivers(receivers, raw, audio_s, args.rounds, args.passes, args.block, "timing")

        by_kind = {}
        for kind in ("digits", "speech", "noise", "silence"):
            part = signals.to_int16(st.kind_signal(kind))
            path = os.path.join(tmp, kind + ".raw")
            benchlib.write_raw(path, part)
            by_kind[kind] = (len(part) / FS, time_receivers(receivers, path, len(part) / FS, 3, args.passes,
                                                            args.block, None))
            progress(f"content {kind}: {len(part) / FS:.0f} s timed")

    progress(f"python path: DtmfDetector.feed in {args.block}-sample blocks")
    py_times, sequence["python"] = python_path(x16, args.block, args.python_runs)

    truth = sum(len(e) for e in st.expect)
    print(f"started {started}")
    print(f"ended   {benchlib.machine_line()}")
    print(f"input: {audio_s:.1f} s of 8 kHz audio, {truth} digits, block {args.block} samples, "
          f"seed {args.seed}; {args.rounds} rounds x {args.passes} passes per receiver")
    print()
    print(f"{'receiver':<30}{'best':>10}{'median':>10}   audio s per CPU s = real-time 8 kHz channels per core")
    for name in receivers:
        best, med = benchlib.best_median(rates[name])
        print(f"{name + ' (C harness)':<30}{best:>10,.0f}{med:>10,.0f}")
    py_rates = [audio_s / t for t in py_times]
    pb, pm = benchlib.best_median(py_rates)
    print(f"{'ours via DtmfDetector.feed':<30}{pb:>10,.0f}{pm:>10,.0f}")
    print()
    sb, sm = benchlib.best_median(rates["spandsp"])
    for name in ("ours", "ours, generic x86-64"):
        ob, om = benchlib.best_median(rates[name])
        # Pairs from the same round and pass slot ran under about the same machine load.
        paired = [o / s for o, s in zip(rates[name], rates["spandsp"])]
        print(f"ratio {name}/spandsp: best/best {ob / sb:.2f}, median/median {om / sm:.2f}, "
              f"paired median {statistics.median(paired):.2f} (range {min(paired):.2f} .. {max(paired):.2f})")
    om = benchlib.best_median(rates["ours"])[1]
    print(f"Python wrapper: C harness median / DtmfDetector.feed median = {om / pm:.1f}x")
    print()
    print("by content (median audio s per CPU s, 3 rounds):")
    print(f"{'content':<10}{'seconds':>9}" + "".join(f"{n:>24}" for n in receivers) + f"{'ours/spandsp':>15}")
    for kind, (secs, r) in by_kind.items():
        meds = {n: statistics.median(r[n]) for n in receivers}
        print(f"{kind:<10}{secs:>9.0f}" + "".join(f"{meds[n]:>24,.0f}" for n in receivers)
              + f"{meds['ours'] / meds['spandsp']:>15.2f}")
    print()
    print(f"{'digits vs truth (C harness)':<30}{'found':>8}{'missed':>8}{'extra':>8}   extra during speech/noise/silence")
    for name in benchlib.IMPLS:
        missed, extra = benchlib.score(st.expect, found[name])
        to = talkoff(st, found[name])
        print(f"{name:<30}{sum(len(g) for g in found[name]):>8}{missed:>8}{extra:>8}   "
              f"{to['speech']}/{to['noise']}/{to['silence']}")
    print("Python path (DtmfDetector.feed) digits = C harness digits for ours: "
          + ("yes" if sequence["python"] == sequence["ours"] else "NO"))


if __name__ == "__main__":
    main()
