"""Tone generator, DTMF generator, region tables and the ``voiceboard tone`` command.

The generator is measured by FFT and by its envelope; the DTMF output is also decoded by the
project's own DTMF receiver as a cross-check.
"""
import math
import os
import struct
import subprocess
import sys
import wave

import numpy as np
import pytest
from scipy.ndimage import maximum_filter1d
from scipy.signal import hilbert

from voiceboard import dsp, tones
from voiceboard._native import ffi, lib
from voiceboard.errors import ConfigError

import signals

FS = 8000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def seg(f1, on_ms, off_ms=0, f2=0.0, level1=-10.0, level2=None, repeat=False):
    return tones.Segment(float(f1), float(f2), level1, level1 if level2 is None else level2,
                         on_ms, off_ms, repeat)


def measure(x, freq):
    """(frequency Hz, level dBm0) of the tone near ``freq`` in a steady stretch of x.

    Frequency: peak of a Hann-windowed FFT zero-padded to 1/64 Hz bins, refined by a parabola.
    Level: amplitude of a least-squares sine fit at that frequency.
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    nfft = 1 << 19
    spec = np.abs(np.fft.rfft(x * np.hanning(n), nfft))
    k0 = int(round(freq * nfft / FS))
    lo, hi = k0 - int(20 * nfft / FS), k0 + int(20 * nfft / FS)
    k = lo + int(np.argmax(spec[lo:hi]))
    a, b, c = np.log(spec[k - 1:k + 2])
    f = (k + 0.5 * (a - c) / (a - 2 * b + c)) * FS / nfft
    t = np.arange(n) / FS
    basis = np.stack([np.cos(2 * np.pi * f * t), np.sin(2 * np.pi * f * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, x, rcond=None)
    return f, 20 * np.log10(np.hypot(*coef) / math.sqrt(2) / signals.DBM0_RMS)


def generate(segments, n, blocks=None):
    with dsp.ToneGenerator() as gen:
        gen.put(segments)
        if blocks is None:
            return gen.generate(n)
        parts, done = [], 0
        for b in blocks:
            parts.append(gen.generate(min(b, n - done)))
            done += len(parts[-1])
            if done >= n:
                break
        return np.concatenate(parts)


def envelope(x):
    return np.abs(hilbert(np.asarray(x, dtype=float)))


def sounding(x):
    """Where the signal is not silent: non-zero within +-2 samples (a sine can round to 0)."""
    return maximum_filter1d(np.abs(np.asarray(x, dtype=float)), 5)


def bursts(env, threshold):
    """(start, end) sample pairs where env is above threshold."""
    on = np.concatenate([[False], env > threshold, [False]]).astype(np.int8)
    d = np.diff(on)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


# ---- tone generator ---------------------------------------------------------------------

@pytest.mark.parametrize("freq, level", [(450, -10.0), (425, -3.0), (697, -20.0), (1633, -30.0),
                                         (950, 0.0), (3400, -13.0), (123.4, -10.0)])
def test_single_tone_frequency_and_level(freq, level):
    x = generate([seg(freq, 1000, level1=level, repeat=True)], FS)
    f, l = measure(x[100:], freq)
    assert abs(f - freq) < 0.5
    assert abs(l - level) < 0.1


def test_dual_tone_levels_per_frequency():
    x = generate([seg(350, 1000, f2=440, level1=-13.0, level2=-7.0, repeat=True)], FS)
    f1, l1 = measure(x[100:], 350)
    f2, l2 = measure(x[100:], 440)
    assert abs(f1 - 350) < 0.5 and abs(f2 - 440) < 0.5
    assert abs(l1 + 13.0) < 0.2 and abs(l2 + 7.0) < 0.2


def test_region_tone_levels_from_table():
    for name in ("dial", "busy", "ringback"):
        x = dsp.tone_samples(name, "cn", seconds=1.0)
        f, l = measure(x[80:2720], 450)       # inside the first 350 ms burst, past the ramp
        assert abs(f - 450) < 0.5
        assert abs(l - tones.region("cn").level_dbm0) < 0.2
    f1, l1 = measure(dsp.tone_samples("dial", "us", seconds=1.0), 350)
    assert abs(f1 - 350) < 0.5 and abs(l1 + 10) < 0.2
    x = dsp.tone_samples("busy", "cn", seconds=1.0, level_dbm0=-25.0)
    assert abs(measure(x[80:2720], 450)[1] + 25.0) < 0.2


def test_busy_cadence_timing():
    x = dsp.tone_samples("busy", "cn", seconds=7.0)
    peak = signals.amplitude(-10.0)
    env = envelope(x)
    half = bursts(env, peak / 2)
    edge = bursts(sounding(x), 0)
    assert len(half) == len(edge) == 10
    for (s, e), (s1, e1) in zip(half, edge):
        # Half-amplitude width: on-time less one ramp (2 ms); the envelope spans the on-time.
        assert abs((e - s) - (350 - 2) * 8) <= 8
        assert abs((e1 - s1) - 350 * 8) <= 8
    starts = [s for s, _ in edge]
    assert abs(starts[0]) <= 8
    assert all(abs((b - a) - 700 * 8) <= 8 for a, b in zip(starts, starts[1:]))
    # Off-time: silent, exactly.
    for (_, e), (s, _) in zip(edge, edge[1:]):
        assert abs((s - e) - 350 * 8) <= 8


def test_multi_segment_cadence_timing():
    x = dsp.tone_samples("sit", "cn", seconds=1.6)
    edges = bursts(sounding(x), 0)
    on = [(e - s) / 8 for s, e in edges]
    start = [s / 8 for s, _ in edges]
    # 3 x (100/100) + 400/400: the cycle repeats after 1400 ms.
    assert np.allclose(on, [100, 100, 100, 400, 100], atol=1)
    assert np.allclose(start, [0, 200, 400, 600, 1400], atol=1)


def test_once_tone_ends_and_tx_returns_short_count():
    s = lib.vb_tone_tx_init(ffi.NULL)
    try:
        g = ffi.new("vb_tone_segment_t[1]", [{"f1_hz": 950, "level1_dbm0": -10, "on_ms": 100, "off_ms": 20}])
        buf = np.ones(5000, dtype=np.int16)
        p = ffi.cast("int16_t *", ffi.from_buffer(buf))
        assert lib.vb_tone_tx(s, p, 5000) == 0            # nothing queued
        assert lib.vb_tone_tx_active(s) == 0
        assert lib.vb_tone_tx_put(s, g, 1) == lib.VB_OK
        assert lib.vb_tone_tx_active(s) == 1
        assert lib.vb_tone_tx(s, p, 0) == 0
        assert lib.vb_tone_tx(s, p, -5) == 0
        assert lib.vb_tone_tx(s, p, 500) == 500           # the request met
        assert lib.vb_tone_tx(s, p, 5000) == 460          # 120 ms in all, then the queue ran empty
        assert not buf[300:460].any()                     # the 20 ms off-time is silence
        assert lib.vb_tone_tx_active(s) == 0
        assert lib.vb_tone_tx_state_size() > 0
        # Initialising a state in use resets it.
        assert lib.vb_tone_tx_put(s, g, 1) == lib.VB_OK
        assert lib.vb_tone_tx_init(s) == s
        assert lib.vb_tone_tx_active(s) == 0
        assert lib.vb_tone_tx_stop(s) == lib.VB_OK          # nothing playing: still VB_OK
        assert lib.vb_tone_tx_release(s) == lib.VB_OK
    finally:
        assert lib.vb_tone_tx_free(s) == lib.VB_OK


def test_put_rejects_bad_segments():
    s = lib.vb_tone_tx_init(ffi.NULL)
    good = {"f1_hz": 450, "level1_dbm0": -10, "on_ms": 100, "off_ms": 100, "repeat": 1}
    bad = [dict(good, f1_hz=4000), dict(good, f1_hz=-1), dict(good, f2_hz=4100), dict(good, on_ms=-1),
           dict(good, on_ms=0, off_ms=0), dict(good, f2_hz=440, level1_dbm0=0, level2_dbm0=0),
           dict(good, level1_dbm0=3.5)]
    try:
        for b in bad:
            assert lib.vb_tone_tx_put(s, ffi.new("vb_tone_segment_t[1]", [b]), 1) == lib.VB_ERR_INVALID, b
        g = ffi.new("vb_tone_segment_t[]", [good] * (lib.VB_TONE_MAX_SEGMENTS + 1))
        assert lib.vb_tone_tx_put(s, g, 0) == lib.VB_ERR_INVALID
        assert lib.vb_tone_tx_put(s, g, lib.VB_TONE_MAX_SEGMENTS + 1) == lib.VB_ERR_INVALID
        once_after_repeat = ffi.new("vb_tone_segment_t[2]", [good, dict(good, repeat=0)])
        assert lib.vb_tone_tx_put(s, once_after_repeat, 2) == lib.VB_ERR_INVALID
        assert lib.vb_tone_tx_active(s) == 0              # nothing was queued
        for _ in range(lib.VB_TONE_QUEUE + 1):            # the one playing and VB_TONE_QUEUE waiting
            assert lib.vb_tone_tx_put(s, g, lib.VB_TONE_MAX_SEGMENTS) == lib.VB_OK
        assert lib.vb_tone_tx_put(s, g, 1) == lib.VB_ERR_FULL
    finally:
        lib.vb_tone_tx_free(s)


def test_queued_tone_follows_the_end_of_the_repeating_cycle():
    with dsp.ToneGenerator("cn") as gen:
        gen.put("busy")
        head = gen.generate(800)                          # 100 ms into the first burst
        gen.put([seg(1000, 200)])
        rest = gen.generate(FS)
        assert not gen.active
    x = np.concatenate([head, rest])
    edges = bursts(sounding(x), 0)
    assert [(round(s / 8), round(e / 8)) for s, e in edges] == [(0, 350), (700, 900)]
    f, _ = measure(x[700 * 8 + 40:900 * 8 - 40], 1000)
    assert abs(f - 1000) < 0.5


def test_stop_ramps_down_in_two_ms():
    with dsp.ToneGenerator() as gen:
        gen.put("dial")
        x = gen.generate(1001)
        gen.stop()
        tail = gen.generate(100)
        assert not gen.active
    assert np.abs(x[-50:]).max() > signals.amplitude(-10.0) * 0.9
    assert not tail[16:].any()
    # The ramp-down keeps the sine's slope: no step at the stop.
    step = np.abs(np.diff(np.concatenate([x, tail]).astype(float))).max()
    assert step <= signals.amplitude(-10.0) * 2 * math.sin(math.pi * 450 / FS) + 2


def max_step(levels_freqs):
    """Largest sample-to-sample change of a sum of sines (its own slope), plus rounding."""
    return sum(signals.amplitude(l) * 2 * math.sin(math.pi * f / FS) for l, f in levels_freqs) + 2


@pytest.mark.parametrize("name, segments, bound", [
    # Segments of one frequency back to back: one continuous sine.
    ("same frequency", [seg(450, 333, repeat=True), seg(450, 217, repeat=True)], [(-10, 450)]),
    # Frequency switches without a gap (de SIT): continuous phase.
    ("frequency switch", [seg(950, 330, repeat=True), seg(1400, 330, repeat=True),
                          seg(1800, 330, 1000, repeat=True)], [(-10, 1800)]),
    # Level change without a gap: raised-cosine crossfade of the amplitude.
    ("level change", [seg(450, 300, level1=-20, repeat=True), seg(450, 300, level1=-6, repeat=True)],
     [(-6, 450)]),
    # A second frequency joining and leaving (uk special dial 350+440/750,440/750).
    ("pair to single", [seg(440, 750, f2=350, repeat=True), seg(440, 750, repeat=True)], [(-10, 440), (-10, 350)]),
])
def test_phase_continuity_across_segments_and_blocks(name, segments, bound, rng):
    n = 3 * FS
    whole = generate(segments, n)
    blocks = rng.integers(1, 400, size=n) | 1              # odd block sizes
    assert np.array_equal(generate(segments, n, blocks), whole)
    assert np.abs(np.diff(whole.astype(float))).max() <= max_step(bound)


def test_continuous_tone_is_one_sine():
    x = dsp.tone_samples("dial", "cn", seconds=3.0).astype(float)
    t = np.arange(len(x)) / FS
    # After the 2 ms ramp-up, the whole 3 s is one sine: residual of a single fit is rounding.
    basis = np.stack([np.cos(2 * np.pi * 450 * t), np.sin(2 * np.pi * 450 * t)], axis=1)[16:]
    coef, *_ = np.linalg.lstsq(basis, x[16:], rcond=None)
    assert np.abs(basis @ coef - x[16:]).max() < 1.0


def test_ramps_keep_the_spectrum_clean():
    x = dsp.tone_samples("busy", "cn", seconds=0.7).astype(float)   # one 350 ms burst, 350 ms off
    assert len(bursts(sounding(x), 0)) == 1
    peak = x.max()
    t = np.arange(350 * 8) / FS
    abrupt = np.zeros(len(x))
    abrupt[:len(t)] = peak * np.sin(2 * np.pi * 450 * t + 0.3)

    def far_energy_db(y, lo, hi):
        f = np.fft.rfftfreq(8 * len(y), 1 / FS)
        p = np.abs(np.fft.rfft(y, 8 * len(y))) ** 2
        band = (np.abs(f - 450) > lo) & (np.abs(f - 450) <= hi)
        return 10 * np.log10(p[band].sum() / p.sum())

    ours, theirs = far_energy_db(x, 1000, 4000), far_energy_db(abrupt, 1000, 4000)
    assert ours < -70 and theirs > -55                     # figures quoted in vb/tone.h
    assert far_energy_db(x, 500, 4000) < -53


# ---- DTMF generator ---------------------------------------------------------------------

@pytest.mark.parametrize("digit", list(dsp.DTMF_DIGITS))
def test_dtmf_digit_frequencies(digit):
    x = dsp.dtmf_samples(digit, on_ms=200, off_ms=0)
    assert len(x) == 200 * 8
    row, col = signals.digit_freqs(digit)
    for freq in (row, col):
        f, l = measure(x[16:-16], freq)
        assert abs(f - freq) < 0.5
        assert abs(l + 10.0) < 0.2


@pytest.mark.parametrize("level, twist", [(-10.0, 0.0), (-6.0, 4.0), (-20.0, -3.0), (-9.0, 2.0)])
def test_dtmf_levels_and_twist(level, twist):
    x = dsp.dtmf_samples("5", level_dbm0=level, twist_db=twist, on_ms=200, off_ms=0)
    _, row = measure(x[16:-16], 770)
    _, col = measure(x[16:-16], 1336)
    assert abs(row - level) < 0.2
    assert abs(col - (level - twist)) < 0.2


def test_dtmf_timing_and_pause():
    x = dsp.dtmf_samples("12,3", on_ms=60, off_ms=40)
    assert len(x) == (3 * 100 + 2000) * 8
    edges = bursts(sounding(x), 0)
    starts = [s / 8 for s, _ in edges]
    lengths = [(e - s) / 8 for s, e in edges]
    assert np.allclose(starts, [0, 100, 2200], atol=1)
    assert np.allclose(lengths, [60, 60, 60], atol=1)


def test_dtmf_round_trip_through_the_receiver():
    digits = "0123456789*#ABCD"
    x = dsp.dtmf_samples(digits + digits.lower()[-4:])
    with dsp.DtmfDetector() as det:
        # Fed in pieces: the receiver keeps 32 events until they are read.
        events = [e for i in range(0, len(x), 800) for e in det.feed(x[i:i + 800])] + det.finish()
    assert "".join(e.digit for e in events if e.kind == "off") == digits + "ABCD"


def test_dtmf_samples_rejects_bad_input():
    with pytest.raises(ValueError, match="'x'"):
        dsp.dtmf_samples("12x")
    with pytest.raises(ValueError, match="out of range"):
        dsp.dtmf_samples("1", level_dbm0=3.0, twist_db=-1.0)
    with pytest.raises(ValueError, match="out of range"):
        dsp.dtmf_samples("1", on_ms=0)
    assert len(dsp.dtmf_samples("")) == 0
    long = "1" * 300                                       # more than one queue's worth
    assert len(dsp.dtmf_samples(long)) == 300 * 100 * 8


def test_dtmf_tx_return_values():
    p = ffi.new("vb_dtmf_tx_params_t *")
    assert lib.vb_dtmf_tx_default_params(p) == lib.VB_OK
    assert (p.row_dbm0, p.col_dbm0, p.on_ms, p.off_ms, p.pause_ms) == (-10, -10, 50, 50, 2000)
    s = lib.vb_dtmf_tx_init(ffi.NULL, ffi.NULL)
    buf = np.zeros(20000, dtype=np.int16)
    out = ffi.cast("int16_t *", ffi.from_buffer(buf))
    try:
        assert lib.vb_dtmf_tx(s, out, 8000) == 0
        assert lib.vb_dtmf_tx_put(s, b"") == 0
        assert lib.vb_dtmf_tx_put(s, b"1a") == 2
        assert lib.vb_dtmf_tx_pending(s) == 2
        assert lib.vb_dtmf_tx_put(s, b"12E") == lib.VB_ERR_INVALID
        assert lib.vb_dtmf_tx_pending(s) == 2                 # nothing queued
        assert lib.vb_dtmf_tx_put(s, b"5" * (lib.VB_DTMF_TX_QUEUE - 1)) == lib.VB_ERR_FULL
        assert lib.vb_dtmf_tx_pending(s) == 2
        assert lib.vb_dtmf_tx_put(s, b",") == 1
        assert lib.vb_dtmf_tx(s, out, 0) == 0
        assert lib.vb_dtmf_tx(s, out, 100) == 100
        assert lib.vb_dtmf_tx_pending(s) == 2                 # '1' playing, 'a' and ',' waiting
        assert lib.vb_dtmf_tx(s, out, 8000) == 8000
        rest = lib.vb_dtmf_tx(s, out, 20000)
        assert rest == (2 * 100 + 2000) * 8 - 8100            # the queue ran empty
        assert not buf[:rest].any()                           # the tail of the ',' pause
        assert lib.vb_dtmf_tx_pending(s) == 0
        bad = ffi.new("vb_dtmf_tx_params_t *", {"row_dbm0": -10, "col_dbm0": -10, "on_ms": 0, "off_ms": 50,
                                                "pause_ms": 0})
        assert lib.vb_dtmf_tx_set_params(s, bad) == lib.VB_ERR_INVALID
        assert lib.vb_dtmf_tx_init(ffi.NULL, bad) == ffi.NULL
        bad.on_ms, bad.off_ms = 40, -1
        assert lib.vb_dtmf_tx_set_params(s, bad) == lib.VB_ERR_INVALID
        bad.off_ms, bad.row_dbm0, bad.col_dbm0 = 0, 0.0, 0.0       # pair would clip
        assert lib.vb_dtmf_tx_set_params(s, bad) == lib.VB_ERR_INVALID
        # A rejected change leaves the settings alone: a digit still lasts 50 + 50 ms.
        assert lib.vb_dtmf_tx_put(s, b"7") == 1
        assert lib.vb_dtmf_tx(s, out, 20000) == 100 * 8
        bad.row_dbm0 = bad.col_dbm0 = -20.0
        assert lib.vb_dtmf_tx_set_params(s, bad) == lib.VB_OK
        assert lib.vb_dtmf_tx_put(s, b"7") == 1
        assert lib.vb_dtmf_tx(s, out, 20000) == 40 * 8       # now 40 ms on, 0 off
        assert lib.vb_dtmf_tx(s, out, -1) == 0
        assert lib.vb_dtmf_tx_state_size() > 0
        assert lib.vb_dtmf_tx_release(s) == lib.VB_OK
    finally:
        assert lib.vb_dtmf_tx_free(s) == lib.VB_OK


@pytest.mark.parametrize("field, value", [("row_dbm0", 3.5), ("col_dbm0", 3.5), ("on_ms", 0), ("off_ms", -1),
                                          ("pause_ms", -1)])
def test_dtmf_tx_init_rejects(field, value):
    p = ffi.new("vb_dtmf_tx_params_t *")
    lib.vb_dtmf_tx_default_params(p)
    ok = lib.vb_dtmf_tx_init(ffi.NULL, p)
    assert ok != ffi.NULL                                   # the defaults are valid
    lib.vb_dtmf_tx_free(ok)
    setattr(p, field, value)
    assert lib.vb_dtmf_tx_init(ffi.NULL, p) == ffi.NULL


# ---- region tables ----------------------------------------------------------------------

def test_builtin_regions():
    assert tones.default_region() == "cn"
    assert tones.region_names() == ["cn", "us", "uk", "de"]
    for name in tones.region_names():
        r = tones.region(name)
        for t in ("dial", "busy", "ringback", "congestion", "sit", "call_waiting", "record"):
            assert r.tone(t).segments
    cn = tones.region()
    assert cn.tone("busy").segments == (seg(450, 350, 350, repeat=True),)
    assert cn.tone("congestion").segments == (seg(450, 700, 700, repeat=True),)
    assert [(s.on_ms, s.off_ms) for s in cn.tone("sit").segments] == [(100, 100)] * 3 + [(400, 400)]
    assert cn.ring_cadence_ms == (1000, 4000) and cn.ring_hz == 25
    assert (cn.dtmf_low_dbm0, cn.dtmf_high_dbm0) == (-9, -11)
    us_sit = tones.region("us").tone("sit")
    assert us_sit.duration_ms == 990 and not us_sit.repeats
    assert tones.region("us").tone("ringback").segments[0].f2_hz == 480


def test_notation_parsing():
    assert tones.parse_tone("350+440", -13) == (seg(350, 1000, f2=440, level1=-13, repeat=True),)
    assert tones.parse_tone("!425/200,!0/200,425", -10) == (
        seg(425, 200, 200), seg(425, 1000, repeat=True))
    assert tones.parse_tone("0/100,450/100", -10) == (seg(0, 100, repeat=True), seg(450, 100, repeat=True))
    for bad in ("", "450/abc", "450/0", "4000", "0+450/100", "450,0/100", "450/100,!0/100", "0"):
        with pytest.raises(ConfigError):
            tones.parse_tone(bad, -10, "here")


def test_tone_generator_put_errors():
    with dsp.ToneGenerator("uk") as gen:
        with pytest.raises(ValueError, match="dial, busy"):
            gen.put("engaged")
        with pytest.raises(ConfigError, match="bad element '450/x'"):
            gen.put("450/x")
        with pytest.raises(ValueError, match="list of tones.Segment"):
            gen.put(450)
        gen.put("400/100,0/100")                 # notation at the region's level
        assert gen.active
        for _ in range(dsp._lib.VB_TONE_QUEUE):
            gen.put("dial")
        with pytest.raises(dsp.NativeError, match="tone queue: buffer full"):
            gen.put("dial")
    with pytest.raises(ValueError, match="closed"):
        gen.generate(10)


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="cn, us, uk, de"):
        tones.region("fr")
    with pytest.raises(ValueError, match="dial, busy, ringback"):
        tones.region("cn").tone("howler")
    with pytest.raises(ValueError, match="cn, us, uk, de"):
        dsp.tone_samples("busy", region="xx")
    with pytest.raises(ValueError, match="congestion, sit, call_waiting, record"):
        dsp.tone_samples("engaged")


BAD_TABLES = [
    ("busy: \"450/35x\"", "region 'cn': tone 'busy': bad element '450/35x'"),
    ("busy: {spec: \"450/350,0/350\", cycles: 0}", "region 'cn': tone 'busy': cycles"),
    ("busy: {spec: \"450/350,0/350\", colour: red}", "region 'cn': tone 'busy': unknown key(s) colour"),
    ("busy: {spec: \"450/350,0/350\", level_dbm0: 9}", "region 'cn': tone 'busy': level_dbm0"),
]


@pytest.mark.parametrize("line, message", BAD_TABLES)
def test_bad_table_entries_name_region_and_tone(tmp_path, line, message):
    path = tmp_path / "tones.yaml"
    path.write_text("default_region: cn\nregions:\n  cn:\n    description: x\n    level_dbm0: -10\n"
                    f"    tones:\n      {line}\n    ring_cadence_ms: [1000, 4000]\n    ring_hz: 25\n"
                    "    dtmf: {low_dbm0: -9, high_dbm0: -11}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        tones.load(str(path))
    assert str(info.value).startswith("tones.yaml: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_table_structure(tmp_path):
    path = tmp_path / "tones.yaml"
    path.write_text("default_region: fr\nregions: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="default_region 'fr'"):
        tones.load(str(path))
    path.write_text("regions: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        tones.load(str(path))


# ---- voiceboard tone --------------------------------------------------------------------

# The dispatcher with only this command registered, run as a real process.
RUN_CLI = "import sys, voiceboard.cli as c; c.COMMANDS[:] = ['tone']; sys.exit(c.main(sys.argv[1:]))"


def cli(*args):
    return subprocess.run([sys.executable, "-c", RUN_CLI, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_cli_gen_linear(tmp_path):
    out = tmp_path / "busy.wav"
    r = cli("tone", "gen", "busy", "--region", "cn", "-o", str(out), "--seconds", "1.5", "--level", "-20")
    assert r.returncode == 0, r.stderr
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, FS, 12000)
        x = np.frombuffer(w.readframes(12000), dtype="<i2")
    assert np.array_equal(x, dsp.tone_samples("busy", "cn", 1.5, -20.0))


@pytest.mark.parametrize("codec, tag, decode", [("alaw", 6, dsp.alaw2lin), ("ulaw", 7, dsp.ulaw2lin)])
def test_cli_gen_g711(tmp_path, codec, tag, decode):
    out = tmp_path / "ring.wav"
    r = cli("tone", "gen", "ringback", "--region", "us", "-o", str(out), "--seconds", "0.5", "--codec", codec)
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    fmt_tag, channels, rate, byte_rate, align, bits, cb = struct.unpack("<HHIIHHH", data[20:38])
    assert (fmt_tag, channels, rate, byte_rate, align, bits, cb) == (tag, 1, FS, FS, 1, 8, 0)
    assert data[38:42] == b"fact" and struct.unpack("<I", data[46:50])[0] == 4000
    assert data[50:54] == b"data" and struct.unpack("<I", data[54:58])[0] == 4000
    codes = np.frombuffer(data[58:], dtype=np.uint8)
    ref = dsp.tone_samples("ringback", "us", 0.5)
    assert np.abs(decode(codes).astype(int) - ref).max() <= np.abs(ref).max() / 16   # G.711 step
    # sox reads it as G.711 too.
    info = subprocess.run(["sox", "--i", "-e", str(out)], capture_output=True, text=True, timeout=30)
    assert ("A-law" if codec == "alaw" else "u-law") in info.stdout


def test_cli_list():
    r = cli("tone", "list", "--region", "cn")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "cn  China (default)"
    assert any(line.split()[:2] == ["busy", "450/350,0/350"] for line in lines)
    r = cli("tone", "list")
    assert [l.split()[0] for l in r.stdout.splitlines() if l and not l.startswith(" ")] == ["cn", "us", "uk", "de"]


@pytest.mark.parametrize("args, message", [
    (["gen", "bsy", "-o", "x.wav"], "unknown tone 'bsy' for region 'cn' (choose from dial, busy"),
    (["gen", "busy", "--region", "xx", "-o", "x.wav"], "unknown region 'xx' (choose from cn, us, uk, de)"),
    (["gen", "busy", "--seconds", "abc", "-o", "x.wav"], "--seconds: not a number"),
    (["gen", "busy", "--level", "9", "-o", "x.wav"], "--level: 9 is outside"),
    (["gen", "busy", "-o", "/nonexistent/dir/x.wav"], "No such file or directory"),
    (["list", "--region", "fr"], "unknown region 'fr'"),
    (["gen", "dial", "--region", "us", "--level", "2", "-o", "x.wav"],
     "tone 'dial' rejected: more than 32 segments, or levels that together exceed 16-bit full scale"),
])
def test_cli_errors_are_one_line(tmp_path, args, message):
    r = cli("tone", *args)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("voiceboard: error: ")
    assert message in r.stderr
