"""Shared parts of the DTMF benchmark scripts: building and running the C harness, rendering
speech with espeak-ng, laying test cases out in one stream and scoring what a receiver found.

Benchmark code, run from the repository root with /opt/vbdev/bin/python; not part of the
product. Test signals come from tests/signals.py (numpy, independent of native/).
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time
from bisect import bisect_right

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build", "bench")
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)  # voiceboard, built in place by native/build_native.py

import signals  # noqa: E402  (tests/signals.py, found through the path set just above)

FS = signals.FS
IMPLS = ("ours", "spandsp")

# Same flags as native/build_native.py (release build), so the harness times the code the
# product ships.
CFLAGS = ["-O2", "-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-ffp-contract=fast"]


def progress(msg):
    """One progress line on stderr (stdout carries the results)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def machine_line():
    """Date, cores, CPU model and load average, for the record of a run on a shared machine."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores; {model}; "
            f"load average {load}")


def fail(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(2)


class BuildError(Exception):
    pass


def build_c(name, sources, libs, flags=(), source=None):
    """Compile bench/<source or name>.c with the given extra sources into build/bench/<name>.

    Raises BuildError with the compiler's message on failure."""
    os.makedirs(BUILD, exist_ok=True)
    exe = os.path.join(BUILD, name)
    cmd = (["gcc"] + CFLAGS + list(flags) + ["-I" + os.path.join(ROOT, "native", "include"),
                                             os.path.join(ROOT, "bench", (source or name) + ".c")]
           + [os.path.join(ROOT, s) for s in sources] + ["-o", exe] + libs)
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise BuildError("gcc not found; run bench/setup.sh") from None
    except subprocess.CalledProcessError as e:
        raise BuildError(f"building bench/{name}.c failed:\n{e.stderr}") from None
    return exe


def build_dtmf_harness(name="dtmf_harness", flags=()):
    try:
        return build_c(name, ["native/src/dtmf.c", "native/src/errors.c"], ["-lspandsp", "-lm", "-lpthread"],
                       flags, source="dtmf_harness")
    except BuildError as e:
        fail(f"{e}\n(run bench/setup.sh for gcc and libspandsp-dev)")


def write_raw(path, x16):
    try:
        np.asarray(x16, dtype="<i2").tofile(path)
    except OSError as e:
        fail(f"{path}: cannot write ({e.strerror})")


def run_harness(exe, impl, path, block=160, passes=1, listing=False):
    """Run the harness; return dict(hits=[(digit, pos)], cpu=[seconds per pass], samples, dropped)."""
    cmd = [exe, impl, path, "-b", str(block), "-n", str(passes)] + (["-e"] if listing else [])
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        fail(f"{' '.join(cmd)}: {done.stderr.strip() or 'exit status %d' % done.returncode}")
    out = done.stdout.splitlines()
    summary = dict(kv.split("=", 1) for kv in out[-1].split())
    hits = []
    for line in out[:-1]:
        digit, pos = line.split()
        hits.append((digit, int(pos)))
    return {"hits": hits, "cpu": [float(t) for t in summary["cpu_s"].split(",")],
            "samples": int(summary["samples"]), "digits": int(summary["digits"]),
            "dropped": int(summary["dropped"])}


def best_median(values):
    return max(values), statistics.median(values)


# --- speech ----------------------------------------------------------------------------------

SPEECH = {
    # Mandarin (espeak-ng voice cmn): bank IVR prompts and digits read aloud.
    "cmn": [
        "欢迎致电银行，查询余额请按一，转账汇款请按二，信用卡服务请按三，人工服务请按零。",
        "您的账户余额为人民币一万二千三百四十五元六角七分。",
        "请输入您的六位数字密码，以井号键结束。",
        "您输入的卡号是六二二二零二一二三四五六七八九零，确认请按一，重新输入请按二。",
        "对不起，您的输入有误，请重新输入。感谢您的来电，再见。",
        "今天是二零二六年十一月二十五日，星期三，北京时间下午三点四十五分。",
    ],
    # English (espeak-ng voice en-us).
    "en-us": [
        "Welcome to the bank. For your balance, press one. For transfers, press two.",
        "Your available balance is twelve thousand three hundred and forty five yuan.",
        "Please enter your six digit password, followed by the hash key.",
        "You entered card number six two two two, zero two one two. If this is correct, press one.",
        "Sorry, that was not a valid choice. Thank you for calling. Goodbye.",
        "All of our agents are busy at the moment. Please stay on the line, your call is important.",
    ],
}


def render_speech(text, voice, speed=160, pitch=50):
    """Render text with espeak-ng and resample it to 8 kHz; float samples, peak-normalised."""
    from scipy.io import wavfile
    from scipy.signal import resample_poly

    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "s.wav")
        try:
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", wav, text],
                           check=True, capture_output=True)
        except FileNotFoundError:
            fail("espeak-ng not found; run bench/setup.sh")
        rate, x = wavfile.read(wav)
    x = x.astype(np.float64)
    g = np.gcd(rate, FS)
    y = resample_poly(x, FS // g, rate // g)
    peak = np.max(np.abs(y))
    return y / peak if peak else y


def speech_pool(rng, variants=2):
    """Every SPEECH sentence at random speeds and pitches: a list of (voice, samples)."""
    pool = []
    for voice, texts in SPEECH.items():
        for text in texts:
            for _ in range(variants):
                pool.append((voice, render_speech(text, voice, int(rng.integers(130, 200)),
                                                  int(rng.integers(30, 80)))))
    return pool


def set_rms_dbm0(x, dbm0):
    rms = np.sqrt(np.mean(x ** 2))
    return x * (signals.DBM0_RMS * 10.0 ** (dbm0 / 20.0) / rms) if rms else x


# --- cases laid out in one stream and scored --------------------------------------------------

class Stream:
    """Test material laid end to end in one signal, cut into slots.

    Each slot has the digits a receiver should report while it lasts ("" for none) and a kind
    (for talk-off counts). A reported digit belongs to the slot its position falls in; the
    layouts leave each slot enough silence after its tones for the report to land inside it.
    """

    def __init__(self):
        self.parts = []
        self.starts = []
        self.expect = []
        self.kinds = []
        self.slot_parts = []
        self.n = 0

    def add(self, x, expect="", kind="case", slot=True):
        x = np.asarray(x, dtype=np.float64)
        if slot:
            self.starts.append(self.n)
            self.expect.append(expect)
            self.kinds.append(kind)
            self.slot_parts.append(x)
        self.parts.append(x)
        self.n += len(x)

    def signal(self):
        return np.concatenate(self.parts) if self.parts else np.zeros(0)

    def kind_signal(self, kind):
        """The slots of one kind, end to end."""
        return np.concatenate([x for x, k in zip(self.slot_parts, self.kinds) if k == kind])

    def found(self, hits):
        """Digits reported in each slot, as strings."""
        got = [""] * len(self.starts)
        for digit, pos in hits:
            # pos is the end of the call that reported the digit; the digit began before it.
            i = bisect_right(self.starts, pos - 1) - 1
            if i >= 0:
                got[i] += digit
        return got


def score(expect, got):
    """(missed, extra) over slots; a wrong digit counts as one missed and one extra."""
    missed = extra = 0
    for e, g in zip(expect, got):
        rest = g
        for d in e:
            if d in rest:
                rest = rest.replace(d, "", 1)
            else:
                missed += 1
        extra += len(rest)
    return missed, extra
