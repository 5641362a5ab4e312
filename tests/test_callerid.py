"""Caller-ID message layer (SDMF, MDMF, DTMF) and the on-hook data signal.

Vectors from telephony.md §5.2. Recordings for decode_onhook() come from the numpy FSK
modulator of test_fsk.py and the DTMF generator of signals.py, except the round trips through
onhook_signal().
"""
import numpy as np
import pytest

from voiceboard import callerid, dsp
from voiceboard.callerid import CallerId, decode_message, encode_message
import signals as sig
from test_fsk import fsk_signal, cid_bits

# telephony.md §5.2: date 03-17 16:56, number 2156430144.
MDMF_VECTOR = bytes.fromhex("80 16 01 08 30 33 31 37 31 36 35 36 02 0A 32 31 35 36 34 33 30 31 34 34 BA")
SDMF_VECTOR = bytes.fromhex("04 12 30 33 31 37 31 36 35 36 32 31 35 36 34 33 30 31 34 34 4F")
VECTOR_CID = CallerId("2156430144", date="03171656")


# --- messages ------------------------------------------------------------------------------

def test_mdmf_reference_vector_checksum_ba():
    assert encode_message(VECTOR_CID) == MDMF_VECTOR
    assert decode_message(MDMF_VECTOR) == (VECTOR_CID, True)


def test_sdmf_reference_vector_checksum_4f():
    # The source of the vector printed BA for SDMF; the sum rule gives 4F.
    cid = CallerId("2156430144", date="03171656", format="sdmf")
    assert encode_message(cid) == SDMF_VECTOR
    assert decode_message(SDMF_VECTOR) == (cid, True)
    assert callerid.checksum(SDMF_VECTOR[:-1]) == 0x4F


@pytest.mark.parametrize("vector", [MDMF_VECTOR, SDMF_VECTOR])
def test_corrupted_checksum_or_payload_is_detected(vector):
    bad_sum = vector[:-1] + bytes([vector[-1] ^ 0x01])
    cid, ok = decode_message(bad_sum)
    assert not ok and cid.number == "2156430144"
    bad_digit = bytearray(vector)
    bad_digit[-2] = ord("9")
    cid, ok = decode_message(bytes(bad_digit))
    assert not ok and cid.number == "2156430149"


def test_mdmf_with_name_round_trip_and_layout():
    cid = CallerId("13800138000", "LI SI", "12312359")
    msg = encode_message(cid)
    assert msg[0] == 0x80 and msg[1] == len(msg) - 3
    assert bytes([0x07, 5]) + b"LI SI" in msg
    assert sum(msg) & 0xFF == 0
    assert decode_message(msg) == (cid, True)


def test_name_absent_is_omitted_or_sent_with_its_reason():
    no_name = encode_message(CallerId("123"))
    assert no_name == bytes([0x80, 5, 0x02, 3]) + b"123" + bytes([callerid.checksum(bytes([0x80, 5, 2, 3]) + b"123")])
    private = CallerId("123", name_absent="P")
    msg = encode_message(private)
    assert bytes([0x08, 1]) + b"P" in msg
    assert decode_message(msg) == (private, True)


@pytest.mark.parametrize("reason", ["O", "P"])
def test_number_absent_reasons_in_mdmf_and_sdmf(reason):
    mdmf = CallerId(None, date="01010000", number_absent=reason, name_absent=reason)
    msg = encode_message(mdmf)
    assert bytes([0x04, 1]) + reason.encode() in msg and bytes([0x08, 1]) + reason.encode() in msg
    assert decode_message(msg) == (mdmf, True)
    sdmf = CallerId(None, date="01010000", format="sdmf", number_absent=reason)
    msg = encode_message(sdmf)
    assert msg[2:-1] == b"01010000" + reason.encode()
    assert decode_message(msg) == (sdmf, True)


def test_other_mdmf_parameters_are_kept_raw():
    cid = CallerId("5551234", extra=((0x03, b"95588"), (0x11, b"\x01")))
    msg = encode_message(cid)
    assert decode_message(msg) == (cid, True)


def test_gbk_name_encoding_is_a_parameter():
    cid = CallerId("02088888888", "张三", "05201314")
    msg = encode_message(cid, encoding="gbk")
    assert "张三".encode("gbk") in msg
    assert decode_message(msg, encoding="gbk") == (cid, True)
    with pytest.raises(ValueError, match="cannot be encoded as ascii"):
        encode_message(cid)
    assert decode_message(msg)[0].name != "张三"          # read as ASCII: replacement characters


@pytest.mark.parametrize("kw, match", [
    ({"number": "12a4"}, "only the digits"),
    ({"number": ""}, "only the digits"),
    ({"number": "1", "date": "13011200"}, "MMDDHHMM"),
    ({"number": "1", "date": "0101120"}, "MMDDHHMM"),
    ({"number": "1", "date": "01012460"}, "MMDDHHMM"),
    ({"number": "1", "format": "xml"}, "format"),
    ({"number_absent": "X"}, "'O'"),
    ({"number": "1", "number_absent": "P"}, "both"),
])
def test_bad_caller_ids_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        CallerId(**kw)


def test_sdmf_needs_a_date_and_has_no_name():
    with pytest.raises(ValueError, match="needs a date"):
        encode_message(CallerId("1", format="sdmf"))
    with pytest.raises(ValueError, match="no name"):
        encode_message(CallerId("1", "A", "01010000", format="sdmf"))


@pytest.mark.parametrize("data, match", [
    (b"\x80\x10\x01", "truncated"),
    (b"\x06\x03abc\x00", "not SDMF"),
    (b"\x80", "too short"),
    (bytes([0x80, 3, 0x02, 5, 0x31]) + b"\x00", "runs past"),
    (bytes([0x04, 4]) + b"0101" + b"\x00", "shorter"),
])
def test_malformed_messages_raise(data, match):
    with pytest.raises(ValueError, match=match):
        decode_message(data)


# --- DTMF caller ID --------------------------------------------------------------------

def test_dtmf_encoding_and_parsing():
    assert callerid.encode_dtmf(CallerId("2156430144", format="dtmf")) == "A2156430144C"
    assert callerid.encode_dtmf(CallerId(None, format="dtmf", number_absent="P")) == "B00C"
    assert callerid.encode_dtmf(CallerId("1", format="dtmf"), start="D", end="#") == "D1#"
    assert callerid.decode_dtmf("A2156430144C") == CallerId("2156430144", format="dtmf")
    # China: any of A B C D * # may start and end the number (telephony.md §5.4).
    assert callerid.decode_dtmf("D13912345678#").number == "13912345678"
    assert callerid.decode_dtmf("*8888#").number == "8888"
    assert callerid.decode_dtmf("A123D456C").number == "123"          # D field: redirecting number
    assert callerid.decode_dtmf("B10C") == CallerId(None, format="dtmf", number_absent="O")
    assert callerid.decode_dtmf("B10C", absence_codes={"O": "00", "P": "10"}).number_absent == "P"
    assert callerid.decode_dtmf("123") is None
    assert callerid.decode_dtmf("AC") is None
    with pytest.raises(ValueError, match="start digit"):
        callerid.encode_dtmf(CallerId("1"), start="5")


# --- on-hook signal -------------------------------------------------------------------

def in_silence(x, lead_ms=300, tail_ms=300):
    return np.concatenate([np.zeros(8 * lead_ms), np.asarray(x, dtype=float), np.zeros(8 * tail_ms)])


def test_onhook_signal_timing_is_seizure_marks_message_marks():
    msg = encode_message(VECTOR_CID)
    x = callerid.onhook_signal(VECTOR_CID)
    bits = 300 + 180 + 10 * len(msg) + 60
    assert x.dtype == np.int16 and x.size == int(np.ceil(bits * 8000 / 1200))
    # It is the modulator's output for exactly that bit sequence (phase 0, -14 dBm0).
    ref = fsk_signal(cid_bits(msg), "bell202", -14.0, phase=0.0)
    assert np.max(np.abs(x - ref)) <= 1.0
    short = callerid.onhook_signal(VECTOR_CID, seizure_bits=96, mark_bits=55, trailing_mark_bits=0)
    assert short.size == int(np.ceil((96 + 55 + 10 * len(msg)) * 8000 / 1200))


@pytest.mark.parametrize("mode", ["bell202", "v23"])
@pytest.mark.parametrize("cid", [
    CallerId("2156430144", "ZHANG SAN", "03171656"),
    CallerId("2156430144", date="03171656", format="sdmf"),
    CallerId(None, date="11302359", number_absent="P", name_absent="P"),
    CallerId(None, date="11302359", format="sdmf", number_absent="O"),
])
def test_onhook_round_trip_fsk(mode, cid):
    x = in_silence(callerid.onhook_signal(cid, mode))
    assert callerid.decode_onhook(sig.to_int16(x)) == [(cid, True, mode)]


def test_onhook_round_trip_dtmf():
    cid = CallerId("13912345678", format="dtmf")
    x = in_silence(callerid.onhook_signal(cid, "dtmf"))
    assert callerid.decode_onhook(sig.to_int16(x)) == [(cid, None, "dtmf")]


def test_decode_dtmf_caller_id_from_an_independent_generator(rng):
    x = sig.digit_string("D02150001234#", rng, on_ms=70, off_ms=70, lead_ms=400, tail_ms=400)
    assert callerid.decode_onhook(sig.to_int16(x)) == [(CallerId("02150001234", format="dtmf"), None, "dtmf")]


@pytest.mark.parametrize("standard", ["bell202", "v23"])
def test_decode_independent_fsk_with_noise_offsets_and_alaw(rng, standard):
    x = in_silence(fsk_signal(cid_bits(MDMF_VECTOR), standard, -30.0, rng, baud=1212.0, mark_offset=-10.0,
                              space_offset=10.0))
    x = x + sig.white_noise(x.size, -45.0, rng)
    y = sig.codec_munge(sig.to_int16(x), "alaw")
    assert callerid.decode_onhook(y) == [(VECTOR_CID, True, standard)]


def test_decode_reports_a_bad_checksum(rng):
    bad = MDMF_VECTOR[:-1] + b"\x00"
    x = in_silence(fsk_signal(cid_bits(bad), "bell202", -14.0, rng))
    assert callerid.decode_onhook(sig.to_int16(x)) == [(VECTOR_CID, False, "bell202")]


def test_decode_finds_every_delivery_in_order(rng):
    first = CallerId("111", date="01010101")
    second = CallerId("222", date="02020202", format="sdmf")
    x = np.concatenate([in_silence(callerid.onhook_signal(first, "v23")),
                        sig.digit_string("A333C", rng, on_ms=70, off_ms=70),
                        in_silence(callerid.onhook_signal(second, "bell202"))])
    assert callerid.decode_onhook(sig.to_int16(x)) == [(first, True, "v23"),
                                                       (CallerId("333", format="dtmf"), None, "dtmf"),
                                                       (second, True, "bell202")]


def test_nothing_found_in_noise_or_silence(rng):
    assert callerid.decode_onhook(sig.to_int16(sig.white_noise(16000, -20.0, rng))) == []
    assert callerid.decode_onhook(np.zeros(8000, np.int16)) == []


def test_fsk_without_a_caller_id_message_is_not_reported(rng):
    # A message-waiting indication (type 0x06) is not caller ID.
    mwi = bytes([0x06, 3, 0x42, 0x42, 0x42])
    x = in_silence(fsk_signal(cid_bits(mwi + bytes([callerid.checksum(mwi)])), "bell202", -14.0, rng))
    assert callerid.decode_onhook(sig.to_int16(x)) == []


def test_bad_mode_and_encoding():
    with pytest.raises(ValueError, match="mode 'fax'"):
        callerid.onhook_signal(VECTOR_CID, "fax")
    with pytest.raises(ValueError, match="unknown name encoding"):
        callerid.decode_onhook(np.zeros(10, np.int16), encoding="klingon")
