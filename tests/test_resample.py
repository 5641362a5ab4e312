"""Sample-rate converter (native/src/resample.c through voiceboard.dsp.Resampler).

Figures are measured with numpy FFTs on sines (whole 1 Hz bins, so no window is needed) and
on white noise; DTMF test signals are written at the high rate with the formula of
tests/signals.py and must come out of the 8 kHz receiver digit for digit.
"""
import math

import numpy as np
import pytest

import signals
from voiceboard import _native
from voiceboard.dsp import Resampler, detect_dtmf, resample

ffi, lib = _native.ffi, _native.lib

PAIRS = [(48000, 8000), (44100, 8000), (96000, 8000), (11025, 8000), (16000, 8000), (22050, 8000),
         (32000, 8000), (8000, 48000), (8000, 44100), (8000, 11025), (8000, 16000), (44100, 48000)]
PASS_EDGE = 0.85     # of the lower Nyquist frequency (vb/resample.h)
AMP = 20000.0


def tone(freq, rate, seconds, rng, amp=AMP):
    t = np.arange(int(rate * seconds)) / rate
    return signals.to_int16(amp * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi)))


def steady(y, rate):
    """One second of output starting 0.25 s in: clear of the start and end transients."""
    return y[rate // 4: rate // 4 + rate].astype(float)


def db(x):
    return 20 * math.log10(max(x, 1e-12))


@pytest.mark.parametrize("rate_in,rate_out", PAIRS)
def test_pass_band_gain_is_flat(rate_in, rate_out, rng):
    nyquist = min(rate_in, rate_out) / 2
    for fraction in (0.02, 0.1, 0.3, 0.5, 0.7, PASS_EDGE):
        freq = int(fraction * nyquist)
        y = steady(resample(tone(freq, rate_in, 1.5, rng), rate_in, rate_out), rate_out)
        spectrum = np.abs(np.fft.rfft(y)) * 2 / len(y)
        assert np.argmax(spectrum) == freq
        assert abs(db(spectrum[freq] / AMP)) < 0.02, (freq, db(spectrum[freq] / AMP))


@pytest.mark.parametrize("rate_in,rate_out", [p for p in PAIRS if p[0] > p[1]])
def test_decimation_stop_band(rate_in, rate_out, rng):
    """Tones above the output Nyquist frequency must not fold back into the band."""
    nyquist = rate_out / 2
    for fraction in (1.02, 1.1, 1.5, 2.3, 4.7):
        freq = int(fraction * nyquist)
        if freq >= rate_in / 2:
            continue
        y = steady(resample(tone(freq, rate_in, 1.5, rng), rate_in, rate_out), rate_out)
        # Everything left (alias and rounding noise) as a sine amplitude.
        rest = math.sqrt(2 * np.mean(y ** 2))
        assert db(rest / AMP) < -70, (freq, db(rest / AMP))


@pytest.mark.parametrize("rate_in,rate_out", [p for p in PAIRS if p[0] < p[1]])
def test_interpolation_images_are_suppressed(rate_in, rate_out, rng):
    for freq in (300, 1000, 3400):
        y = steady(resample(tone(freq, rate_in, 1.5, rng), rate_in, rate_out), rate_out)
        spectrum = np.abs(np.fft.rfft(y)) * 2 / len(y)
        images = spectrum[int(rate_in / 2):]
        assert db(np.sqrt(np.sum(images ** 2)) / AMP) < -70, freq


def test_white_noise_pass_band_and_stop_band(rng):
    rate_in, rate_out, n = 48000, 8000, 96000
    noise = rng.standard_normal(n) * 8000.0  # loud enough that a 70 dB leak exceeds rounding
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(n, 1 / rate_in)

    # In the pass band the output keeps the input's power, whatever the phases.
    low = signals.to_int16(np.fft.irfft(np.where(freqs <= PASS_EDGE * rate_out / 2, spectrum, 0), n))
    y = resample(low, rate_in, rate_out).astype(float)
    gain = db(math.sqrt(np.mean(y ** 2) / np.mean(low.astype(float) ** 2)))
    assert abs(gain) < 0.05, gain

    # Noise confined to the stop band leaves only rounding noise, once the start and end
    # of the buffer (abrupt edges, which are broadband) are out of the filter's reach.
    high = signals.to_int16(np.fft.irfft(np.where(freqs >= rate_out / 2, spectrum, 0), n))
    y = steady(resample(high, rate_in, rate_out), rate_out)
    leak = db(math.sqrt(np.mean(y ** 2) / np.mean(high.astype(float) ** 2)))
    assert leak < -70, leak


def dtmf_at(rate, digits, rng, on_ms=50.0, off_ms=50.0, dbm0=-10.0):
    """tests/signals.digit_string, written at another sample rate with the same formula."""
    def n(ms):
        return int(round(rate * ms / 1000.0))

    def sine(freq, count):
        t = np.arange(count) / rate
        return signals.amplitude(dbm0) * np.sin(2 * np.pi * freq * t + rng.uniform(0, 2 * np.pi))

    parts = [np.zeros(n(100))]
    for d in digits:
        row, col = signals.digit_freqs(d)
        parts += [sine(row, n(on_ms)) + sine(col, n(on_ms)), np.zeros(n(off_ms))]
    parts.append(np.zeros(n(100)))
    return signals.to_int16(np.concatenate(parts))


@pytest.mark.parametrize("rate", [48000, 44100, 96000, 11025])
def test_dtmf_resampled_to_8k_is_detected_exactly(rate, rng):
    digits = "123A456B789C*0#D"
    x = dtmf_at(rate, digits, rng, on_ms=45.0, off_ms=50.0)
    events = detect_dtmf(resample(x, rate, 8000))
    assert "".join(e.digit for e in events) == digits
    # Zero delay: the first tone starts at 100 ms, which the receiver places within a hop.
    assert abs(events[0].start - 800) <= 32


@pytest.mark.parametrize("rate_in,rate_out", [(44100, 8000), (8000, 11025), (48000, 8000), (8000, 8000)])
def test_output_does_not_depend_on_block_sizes(rate_in, rate_out, rng):
    x = signals.to_int16(rng.standard_normal(rate_in) * 5000)
    whole = resample(x, rate_in, rate_out)
    with Resampler(rate_in, rate_out) as rs:
        parts, i = [], 0
        while i < len(x):
            size = int(rng.choice([0, 1, 2, 7, 160, 255, 256, 257, 1000, 4411]))
            parts.append(rs.process(x[i:i + size]))
            i += size
        parts.append(rs.flush())
    assert np.array_equal(np.concatenate(parts), whole)


def test_length_and_flush_start_a_new_stream(rng):
    x = signals.to_int16(rng.standard_normal(12345) * 5000)
    with Resampler(44100, 8000) as rs:
        first = np.concatenate([rs.process(x), rs.flush()])
        second = np.concatenate([rs.process(x.tobytes()), rs.flush()])
    assert len(first) == math.ceil(len(x) * 8000 / 44100)
    assert np.array_equal(first, second)
    assert resample(np.zeros(0, np.int16), 48000, 8000).size == 0


def test_equal_rates_copy(rng):
    x = signals.to_int16(rng.standard_normal(1000) * 5000)
    assert np.array_equal(resample(x, 8000, 8000), x)
    assert Resampler(8000, 8000).taps == 1


def test_output_saturates_instead_of_wrapping():
    # A full-scale square wave overshoots after filtering (Gibbs): the peaks must clip.
    x = np.tile(np.repeat(np.array([32767, -32768], np.int16), 240), 100)
    y = resample(x, 48000, 8000).astype(int)
    assert y.max() == 32767 and y.min() == -32768
    half = 40  # output samples per half period
    middles = y[half // 2::half][2:-2]
    assert np.all(np.sign(middles[::2]) == 1) and np.all(np.sign(middles[1::2]) == -1)


@pytest.mark.parametrize("rates", [(999, 8000), (8000, 384001), (384000, 383999)])
def test_unusable_rates_raise_value_error(rates):
    with pytest.raises(ValueError, match="rate|ratio"):
        Resampler(*rates)


def test_rate_must_be_an_integer():
    with pytest.raises(ValueError, match="rate_in"):
        Resampler(44100.0, 8000)


def test_native_return_values():
    s = lib.vb_resample_init(ffi.NULL, 48000, 8000)
    assert s != ffi.NULL
    try:
        x = ffi.new("int16_t[]", 600)
        out = ffi.new("int16_t[]", 200)
        assert lib.vb_resample_max_out(s, -1) == lib.VB_ERR_INVALID
        assert lib.vb_resample(s, x, -1, out, 200) == lib.VB_ERR_INVALID
        needed = lib.vb_resample_max_out(s, 600)
        # The first outputs wait for half the filter (taps // 2 inputs) beyond their time.
        assert needed == math.ceil((600 - lib.vb_resample_taps(s) // 2) / 6)
        assert lib.vb_resample(s, x, 600, out, needed - 1) == lib.VB_ERR_FULL
        assert lib.vb_resample(s, x, 600, out, needed) == needed
        owed = lib.vb_resample_pending(s)
        assert owed == 100 - needed
        assert lib.vb_resample_flush(s, out, owed - 1) == lib.VB_ERR_FULL
        assert lib.vb_resample_flush(s, out, owed) == owed
        assert lib.vb_resample_pending(s) == 0
    finally:
        assert lib.vb_resample_free(s) == lib.VB_OK
    assert lib.vb_resample_free(ffi.NULL) == lib.VB_OK
    assert lib.vb_resample_init(ffi.NULL, 8000, 999) == ffi.NULL


def test_closed_resampler_refuses_work():
    rs = Resampler(16000, 8000)
    rs.close()
    rs.close()
    with pytest.raises(ValueError, match="closed"):
        rs.process(np.zeros(10, np.int16))
