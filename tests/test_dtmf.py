"""DTMF receiver conformance (issue: Q.24, Bellcore, Mitel CM7291 points).

Signals come from tests/signals.py (numpy, seeded random phases), never from our generator.
"""
import numpy as np
import pytest

from voiceboard import dsp
import signals as sig

KEYS = sig.KEYPAD


def detect(x, **kw):
    return "".join(e.digit for e in dsp.detect_dtmf(sig.to_int16(x), **kw))


def sequence(digits, rng, **kw):
    return sig.digit_string(digits, rng, **kw)


# --- all digits -------------------------------------------------------------------------

def test_all_16_digits_at_50_ms_on_50_ms_off(rng):
    assert detect(sequence(KEYS, rng)) == KEYS


def test_reported_positions_levels_and_twist(rng):
    x = sig.to_int16(np.concatenate([sig.silence(100), sig.dtmf_tone("5", 60, rng, row_dbm0=-12, col_dbm0=-15),
                                     sig.silence(100)]))
    (event,) = dsp.detect_dtmf(x)
    assert event.digit == "5"
    assert abs(event.start - 800) <= 32 and abs(event.end - 1280) <= 32
    assert abs(event.row_dbm0 + 12) < 0.5 and abs(event.col_dbm0 + 15) < 0.5
    assert abs(event.twist_db - 3) < 0.5
    assert abs(event.row_offset_hz) < 2 and abs(event.col_offset_hz) < 2


def test_on_event_comes_before_the_tone_ends(rng):
    x = sig.to_int16(np.concatenate([sig.silence(50), sig.dtmf_tone("#", 200, rng), sig.silence(100)]))
    with dsp.DtmfDetector() as det:
        events = det.feed(x[:400 + 8 * 40])         # 40 ms into the tone
        assert [(e.kind, e.digit) for e in events] == [("on", "#")]
        assert det.current == "#"
        rest = det.feed(x[400 + 8 * 40:]) + det.finish()
        assert det.current == ""
    assert [(e.kind, e.digit) for e in rest] == [("off", "#")]


# --- frequency --------------------------------------------------------------------------

def accept_offset(f):
    return 0.015 * f + 2.0


@pytest.mark.parametrize("signs", [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1)])
def test_accepts_every_digit_off_by_1_5_percent_plus_2_hz(rng, signs):
    for d in KEYS:
        row, col = sig.digit_freqs(d)
        x = sig.digit_string(d, rng, row_hz_extra=signs[0] * accept_offset(row),
                             col_hz_extra=signs[1] * accept_offset(col))
        assert detect(x) == d, (d, signs)


@pytest.mark.parametrize("signs", [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1)])
def test_rejects_every_digit_off_by_3_5_percent(rng, signs):
    for d in KEYS:
        x = sig.digit_string(d, rng, row_offset=signs[0] * 0.035, col_offset=signs[1] * 0.035)
        assert detect(x) == "", (d, signs)


# --- twist and level --------------------------------------------------------------------

@pytest.mark.parametrize("twist", [8.0, -4.0])
def test_accepts_8_db_normal_and_4_db_reverse_twist_at_random_phases(rng, twist):
    # twist = low-group level minus high-group level; normal twist: high group weaker.
    for _ in range(5):
        x = sequence(KEYS, rng, row_dbm0=-8.0, col_dbm0=-8.0 - twist)
        assert detect(x) == KEYS


@pytest.mark.parametrize("twist", [12.0, -8.0])
def test_rejects_twist_well_beyond_the_limits(rng, twist):
    x = sequence(KEYS, rng, row_dbm0=-6.0, col_dbm0=-6.0 - twist)
    assert detect(x) == ""


@pytest.mark.parametrize("level", [-3.0, -10.0, -20.0, -30.0, -36.0, -43.0])
def test_accepts_levels_from_minus_3_to_minus_43_dbm0(rng, level):
    # -3 to -43 dBm0 per tone: a 40 dB dynamic range.
    assert detect(sequence(KEYS, rng, row_dbm0=level)) == KEYS


# --- timing -----------------------------------------------------------------------------

def test_accepts_40_ms_tones(rng):
    assert detect(sequence(KEYS, rng, on_ms=40, off_ms=50)) == KEYS


@pytest.mark.parametrize("on_ms", [10, 15, 20])
@pytest.mark.parametrize("level", [-3.0, -20.0])
def test_no_digit_at_all_from_tones_of_20_ms_or_less(rng, on_ms, level):
    for _ in range(3):
        assert detect(sequence(KEYS, rng, on_ms=on_ms, off_ms=60, row_dbm0=level)) == ""


def test_repeated_digits_separated_by_40_ms_pauses(rng):
    for d in KEYS:
        assert detect(sequence(d * 4, rng, on_ms=50, off_ms=40)) == d * 4


def test_ten_digits_per_second(rng):
    digits = "".join(rng.choice(list(KEYS), 40))
    assert detect(sequence(digits, rng, on_ms=50, off_ms=50)) == digits


def test_a_10_second_key_is_one_digit(rng):
    events = dsp.detect_dtmf(sig.to_int16(sequence("0", rng, on_ms=10000)))
    assert [e.digit for e in events] == ["0"]
    assert abs(events[0].duration - 80000) <= 64


def test_a_break_of_10_ms_is_bridged(rng):
    # Q.24: interruptions of up to 10 ms do not end a digit.
    x = np.concatenate([sig.silence(100), sig.dtmf_tone("8", 60, rng), sig.silence(10),
                        sig.dtmf_tone("8", 60, rng), sig.silence(100)])
    assert detect(x) == "8"


# --- noise, codecs, dial tone -------------------------------------------------------------

@pytest.mark.parametrize("tone_dbm0", [-10.0, -25.0])
def test_1000_random_digits_without_error_at_12_db_snr(rng, tone_dbm0):
    # SNR = per-tone level minus total white-noise level (0-4 kHz).
    digits = "".join(rng.choice(list(KEYS), 1000))
    x = sequence(digits, rng, row_dbm0=tone_dbm0)
    x = x + sig.white_noise(len(x), tone_dbm0 - 12.0, rng)
    assert detect(x) == digits


@pytest.mark.parametrize("law", ["alaw", "ulaw"])
def test_after_a_g711_round_trip(rng, law):
    for level in (-3.0, -10.0, -30.0):
        x = sig.codec_munge(sig.to_int16(sequence(KEYS, rng, row_dbm0=level)), law)
        assert detect(x) == KEYS, (law, level)
    row_edge = sequence(KEYS, rng, row_dbm0=-8.0, col_dbm0=-16.0)
    assert detect(sig.codec_munge(sig.to_int16(row_edge), law)) == KEYS


def test_with_continuous_dial_tone_10_db_below_the_digits(rng):
    x = sequence(KEYS, rng, row_dbm0=-10.0)
    x = x + sig.sine(450.0, 0, -20.0, rng, n=len(x))
    assert detect(x) == KEYS


def test_dial_tone_alone_gives_nothing(rng):
    assert detect(sig.sine(450.0, 3000, -5.0, rng)) == ""


# --- streaming ------------------------------------------------------------------------------

def test_results_do_not_depend_on_block_size(rng):
    x = sig.to_int16(sequence("159#D*0" * 3, rng, on_ms=45, off_ms=45) +
                     sig.white_noise(len(sequence("159#D*0" * 3, np.random.default_rng(0), on_ms=45, off_ms=45)),
                                     -35, rng))
    reference = dsp.detect_dtmf(x)
    assert len(reference) == 21
    for block in (1, 7, 31, 33, 160, 1000):
        with dsp.DtmfDetector() as det:
            events = []
            for i in range(0, len(x), block):
                events += det.feed(x[i:i + block])
            events += det.finish()
        assert [e for e in events if e.kind == "off"] == reference, block
    with dsp.DtmfDetector() as det:
        cuts = np.sort(rng.choice(len(x), 200, replace=False))
        events = []
        for piece in np.split(x, cuts):
            events += det.feed(piece)
        events += det.finish()
    assert [e for e in events if e.kind == "off"] == reference


def test_bytes_input_and_statistics(rng):
    x = sig.to_int16(sequence("42", rng))
    with dsp.DtmfDetector() as det:
        det.feed(x.astype("<i2").tobytes())
        det.finish()
        stats = det.stats
    assert stats["digits"] == 2 and stats["samples"] >= len(x)


# --- settings -------------------------------------------------------------------------------

def test_modes_and_overrides():
    normal = dsp.dtmf_params()
    assert normal["min_on_ms"] == 20
    assert dsp.dtmf_params("strict")["min_on_ms"] > normal["min_on_ms"]
    assert dsp.dtmf_params("sensitive")["normal_twist_db"] > normal["normal_twist_db"]
    assert dsp.dtmf_params(min_on_ms=40)["min_on_ms"] == 40


@pytest.mark.parametrize("bad", [{"mode": "loud"}, {"twist": 3}, {"min_on_ms": 2}, {"tone_share_db": 1.0}])
def test_bad_settings_are_rejected(bad):
    with pytest.raises(ValueError):
        dsp.DtmfDetector(**bad)


def test_closed_detector_refuses_work():
    det = dsp.DtmfDetector()
    det.close()
    det.close()
    with pytest.raises(ValueError, match="closed"):
        det.feed(np.zeros(10, dtype=np.int16))


# --- our generator into our receiver ------------------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(digits=st.text(alphabet=KEYS, min_size=1, max_size=20),
       level=st.floats(-35.0, -5.0), twist=st.floats(-3.5, 7.5),
       on_ms=st.integers(40, 120), off_ms=st.integers(40, 120),
       law=st.sampled_from(["linear", "alaw", "ulaw"]))
def test_detect_of_generate_is_identity(digits, level, twist, on_ms, off_ms, law):
    x = dsp.dtmf_samples(digits, level_dbm0=level, twist_db=twist, on_ms=on_ms, off_ms=off_ms)
    x = np.concatenate([np.zeros(400, np.int16), x, np.zeros(800, np.int16)])
    if law != "linear":
        x = sig.codec_munge(x, law)
    assert "".join(e.digit for e in dsp.detect_dtmf(x)) == digits
