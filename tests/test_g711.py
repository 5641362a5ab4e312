"""G.711 against the ITU-T G.191 reference: table hashes (reference doc §1.3), an independent
pure-Python G.191 implementation (tests/signals.py), the G.711 transcoding tables, and
spandsp's round-trip properties."""
import hashlib

import numpy as np
import pytest
from hypothesis import given, strategies as st

from voiceboard import dsp
import signals

ALL_LINEAR = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = np.arange(256, dtype=np.uint8)

# SHA-256 of the full tables, reference/telephony.md §1.3 (G.191 behaviour).
HASHES = {
    ("alaw", "encode"): "38488f6fd710f4686360edc4d38639f96c491595ef93f8eb8d62d5e07ca6ce7b",
    ("ulaw", "encode"): "90c29de505fb68e766118303bd552a16005dcf810873698bee1d8f3b247ce28c",
    ("alaw", "decode"): "e04788d110e58ff8c70c93b8480190d973e3b67876b6119abbaec766cc75c174",
    ("ulaw", "decode"): "3dab54339e520bb2c924826e3b72a917a2b612e9fd12fc867500f1d983a75827",
}
ENCODERS = {"alaw": dsp.lin2alaw, "ulaw": dsp.lin2ulaw}
DECODERS = {"alaw": dsp.alaw2lin, "ulaw": dsp.ulaw2lin}
REFERENCE = {
    "alaw": (signals.g191_alaw_encode, signals.g191_alaw_decode),
    "ulaw": (signals.g191_ulaw_encode, signals.g191_ulaw_decode),
}


@pytest.mark.parametrize("law", ["alaw", "ulaw"])
def test_encode_table_hash(law):
    table = ENCODERS[law](ALL_LINEAR)
    assert hashlib.sha256(table.tobytes()).hexdigest() == HASHES[(law, "encode")]


@pytest.mark.parametrize("law", ["alaw", "ulaw"])
def test_decode_table_hash(law):
    table = DECODERS[law](ALL_CODES).astype("<i2")
    assert hashlib.sha256(table.tobytes()).hexdigest() == HASHES[(law, "decode")]


@pytest.mark.parametrize("law", ["alaw", "ulaw"])
def test_matches_independent_g191_for_every_input(law):
    encode, decode = REFERENCE[law]
    expected_codes = np.array([encode(int(x)) for x in ALL_LINEAR], dtype=np.uint8)
    expected_linear = np.array([decode(c) for c in range(256)], dtype=np.int16)
    np.testing.assert_array_equal(ENCODERS[law](ALL_LINEAR), expected_codes)
    np.testing.assert_array_equal(DECODERS[law](ALL_CODES), expected_linear)


def test_transcoding_uses_the_g711_tables():
    # Spot values and differences from decode-then-encode, reference/telephony.md §1.4.
    assert dsp.ulaw2alaw(bytes([0xFF])) == bytes([0xD5])
    assert dsp.alaw2ulaw(bytes([0xD5])) == bytes([0xFE])
    assert dsp.alaw2ulaw(bytes([0x55])) == bytes([0x7E])
    via_linear_u2a = dsp.lin2alaw(dsp.ulaw2lin(ALL_CODES))
    via_linear_a2u = dsp.lin2ulaw(dsp.alaw2lin(ALL_CODES))
    assert np.count_nonzero(dsp.ulaw2alaw(ALL_CODES) != via_linear_u2a) == 44
    assert np.count_nonzero(dsp.alaw2ulaw(ALL_CODES) != via_linear_a2u) == 32


def test_transcoding_keeps_the_sign_bit():
    for table in (dsp.ulaw2alaw(ALL_CODES), dsp.alaw2ulaw(ALL_CODES)):
        np.testing.assert_array_equal(table[128:], table[:128] + 128)


@pytest.mark.parametrize("law,octets", [
    ("alaw", bytes.fromhex("34212134B4A1A1B4")),
    ("ulaw", bytes.fromhex("1E0B0B1E9E8B8B9E")),
])
def test_digital_milliwatt_is_0_dbm0(law, octets):
    linear = np.frombuffer(DECODERS[law](octets * 100), dtype=np.int16).astype(float)
    level = 20 * np.log10(np.sqrt(np.mean(linear ** 2)) / signals.DBM0_RMS)
    assert abs(level) < 0.1


@pytest.mark.parametrize("law", ["alaw", "ulaw"])
def test_round_trip_properties(law):
    # spandsp g711_tests: a second round trip changes nothing; error bounds per region.
    once = DECODERS[law](ENCODERS[law](ALL_LINEAR))
    twice = DECODERS[law](ENCODERS[law](once))
    np.testing.assert_array_equal(once, twice)
    x = ALL_LINEAR.astype(np.int64)
    err = np.abs(once.astype(np.int64) - x)
    small_limit, abs_limit = (140, 15) if law == "alaw" else (40, 4)
    big = np.abs(x) > small_limit
    assert np.all(err[big] <= 0.1 * np.abs(x[big]))
    # Below the knee the step is fixed: A-law 16 (error <= 8 + 1 from the one's complement
    # of negatives), mu-law 8/4 (16-bit scale).
    assert err[~big].max() <= abs_limit * (2 if law == "alaw" else 1) + 1


def test_bytes_in_bytes_out():
    pcm = np.array([0, 1000, -1000, 32767, -32768], dtype="<i2").tobytes()
    coded = dsp.lin2alaw(pcm)
    assert isinstance(coded, bytes) and len(coded) == 5
    back = dsp.alaw2lin(coded)
    assert isinstance(back, bytes) and len(back) == 10


def test_odd_byte_count_is_rejected():
    with pytest.raises(ValueError, match="whole number"):
        dsp.lin2alaw(b"\x00\x01\x02")


@given(st.lists(st.integers(-32768, 32767), min_size=1, max_size=300))
def test_alaw_code_words_survive_decode_encode(values):
    codes = dsp.lin2alaw(np.array(values, dtype=np.int16))
    np.testing.assert_array_equal(dsp.lin2alaw(dsp.alaw2lin(codes)), codes)
