"""MFC-R2 tones (native/src/r2mf.c): the receiver against an independent numpy generator
(tests/signals.py), the generator against an FFT. Numbers: telephony.md §3.2."""
import numpy as np
import pytest

from tests import signals
from voiceboard import dsp

FWD = (1380.0, 1500.0, 1620.0, 1740.0, 1860.0, 1980.0)
BWD = (1140.0, 1020.0, 900.0, 780.0, 660.0, 540.0)
PAIRS = [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3), (0, 4), (1, 4), (2, 4), (3, 4),
         (0, 5), (1, 5), (2, 5), (3, 5), (4, 5)]


def mf(direction, signal, ms, rng, dbm0=-11.0, dbm0_2=None, hz_offset=0.0):
    """Two sines of signal 1-15 with random phases (float)."""
    freqs = FWD if direction == "forward" else BWD
    i, j = PAIRS[signal - 1]
    n = int(round(signals.FS * ms / 1000))
    return (signals.sine(freqs[i] + hz_offset, ms, dbm0, rng, n)
            + signals.sine(freqs[j] + hz_offset, ms, dbm0 if dbm0_2 is None else dbm0_2, rng, n))


def detect(direction, audio, alaw=True, **params):
    """The signals the receiver reported, in order, fed 160 samples (a tick) at a time."""
    x = signals.to_int16(audio)
    if alaw:
        x = dsp.alaw2lin(dsp.lin2alaw(x))
    seen = []
    with dsp.R2MFDetector(direction, **params) as det:
        for k in range(0, x.size, 160):
            s = det.feed(x[k:k + 160])
            if not seen or seen[-1] != s:
                seen.append(s)
    return [s for s in seen if s]


def burst(direction, signal, rng, ms=150, **kw):
    return np.concatenate([signals.silence(60), mf(direction, signal, ms, rng, **kw), signals.silence(100)])


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_every_signal_is_detected(direction):
    rng = np.random.default_rng(1)
    for signal in range(1, 16):
        assert detect(direction, burst(direction, signal, rng)) == [signal], signal


def test_the_other_direction_is_not_detected():
    rng = np.random.default_rng(2)
    for signal in range(1, 16):
        assert detect("backward", burst("forward", signal, rng)) == []
        assert detect("forward", burst("backward", signal, rng)) == []


@pytest.mark.parametrize("dbm0,found", [(-5.0, True), (-35.0, True), (-36.0, True), (-38.0, False),
                                        (-45.0, False)])
def test_level_range(dbm0, found):
    # Threshold -36.5 dBm0 per tone (spandsp); G.711 A-law in between.
    rng = np.random.default_rng(3)
    got = detect("forward", burst("forward", 7, rng, dbm0=dbm0))
    assert got == ([7] if found else [])


@pytest.mark.parametrize("twist,found", [(6.0, True), (-6.0, True), (8.5, False), (-8.5, False)])
def test_twist(twist, found):
    rng = np.random.default_rng(4)
    got = detect("backward", burst("backward", 5, rng, dbm0=-12.0, dbm0_2=-12.0 - twist))
    assert got == ([5] if found else [])


@pytest.mark.parametrize("offset", [-10.0, 10.0])
def test_frequency_offset(offset):
    # Senders keep +-4 Hz (Q.454 via spandsp); the receiver has margin beyond that.
    rng = np.random.default_rng(5)
    assert detect("forward", burst("forward", 12, rng, hz_offset=offset)) == [12]


def test_under_noise():
    # -11 dBm0 per tone with white noise over 0-4 kHz at -31 dBm0 (SNR 17 dB per tone).
    rng = np.random.default_rng(6)
    for signal in range(1, 16):
        audio = burst("forward", signal, rng)
        audio = audio + signals.white_noise(audio.size, -31.0, rng)
        assert detect("forward", audio) == [signal], signal
    # Noise alone never gives a signal.
    assert detect("forward", signals.white_noise(8000 * 5, -20.0, rng)) == []
    assert detect("backward", signals.white_noise(8000 * 5, -20.0, rng)) == []


def test_a_single_tone_or_three_tones_are_rejected():
    rng = np.random.default_rng(7)
    one = signals.sine(1500.0, 300, -11.0, rng)
    assert detect("forward", one) == []
    three = mf("forward", 1, 300, rng) + signals.sine(1740.0, 300, -11.0, rng)
    assert detect("forward", three) == []


def test_short_blips_are_ignored_and_a_sequence_is_followed():
    rng = np.random.default_rng(8)
    blip = np.concatenate([signals.silence(50), mf("forward", 3, 15, rng), signals.silence(100)])
    assert detect("forward", blip) == []
    seq = np.concatenate([burst("forward", s, rng, ms=70) for s in (1, 10, 15, 4)])
    assert detect("forward", seq) == [1, 10, 15, 4]


def test_results_do_not_depend_on_block_sizes():
    rng = np.random.default_rng(9)
    x = signals.to_int16(np.concatenate([burst("backward", s, rng, ms=90) for s in (6, 1, 3)]))
    with dsp.R2MFDetector("backward") as a, dsp.R2MFDetector("backward") as b:
        trace_a, trace_b = [], []
        for k in range(x.size):
            trace_a.append(a.feed(x[k:k + 1]))
        pos = 0
        for size in rng.integers(1, 700, 200):
            chunk = x[pos:pos + size]
            if not chunk.size:
                break
            b.feed(chunk)
            pos += chunk.size
            trace_b.append((pos, b.signal))
        assert all(trace_a[p - 1] == s for p, s in trace_b)
        assert a.changes == b.changes == 6


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_generator_frequencies_and_level(direction):
    for signal in (1, 6, 10, 15):
        with dsp.R2MFGenerator(direction, level_dbm0=-11.0) as gen:
            gen.put(signal)
            x = gen.generate(8000).astype(np.float64)
        spectrum = np.abs(np.fft.rfft(x)) / (x.size / 2)     # 1 Hz bins, peak amplitude
        peaks = sorted(np.argsort(spectrum)[-2:])
        assert tuple(float(p) for p in peaks) == tuple(sorted(dsp.r2mf_freqs(direction, signal)))
        for p in peaks:
            level = 20 * np.log10(spectrum[p] / np.sqrt(2) / signals.DBM0_RMS)
            assert abs(level - -11.0) < 0.1
        # The generator's own output is recognised by the receiver.
        assert detect(direction, x, alaw=True) == [signal]


def test_generator_stops_on_the_sample_and_restarts_at_phase_zero():
    with dsp.R2MFGenerator("forward") as gen:
        assert gen.signal == 0 and not gen.generate(100).any()
        gen.put(5)
        a = gen.generate(100)
        assert a[0] == 0 and a[1:].any()
        gen.put(0)
        assert not gen.generate(100).any()
        gen.put(5)
        assert np.array_equal(gen.generate(100), a)
        with pytest.raises(Exception, match="signal 16"):
            gen.put(16)
    with pytest.raises(ValueError, match="level_dbm0"):
        dsp.R2MFGenerator("forward", level_dbm0=0.0)
    with pytest.raises(ValueError, match="direction"):
        dsp.R2MFDetector("sideways")
