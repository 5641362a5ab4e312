"""E1 framer through voiceboard.dsp (native/src/e1.c; the C program tests/native/e1_tests.c
checks the counts frame by frame). Numbers: telephony.md §2."""
import numpy as np
import pytest

from tests import signals
from voiceboard import dsp


def test_crc4_vector():
    # §2.2: C = 0, A = 0, Sa = 1, E = 1; TS16 0x0B then 0x99; other timeslots 0xD5.
    mf = np.full((16, 32), 0xD5, dtype=np.uint8)
    bit1 = [0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1]
    for f in range(16):
        mf[f, 0] = (bit1[f] << 7) | 0x5F if f % 2 else 0x1B
        mf[f, 16] = 0x0B if f == 0 else 0x99
    assert dsp.e1_crc4(mf[:8]) == 0b1001
    assert dsp.e1_crc4(mf[8:]) == 0b1110
    assert dsp.e1_crc4(bytes(256)) == 0
    with pytest.raises(ValueError, match="256 octets"):
        dsp.e1_crc4(bytes(255))


def pair(**cfg):
    return dsp.E1Framer(**cfg), dsp.E1Framer(**cfg)


def run(a, b, ticks, bearer_a=None, errors=None):
    """Both directions for ``ticks`` ticks of 160 frames; returns what b received last."""
    got = None
    for _ in range(ticks):
        line = a.transmit(bearer_a)
        if errors is not None:
            line = errors(line)
        got = b.receive(line)
        a.receive(b.transmit())
    return got


def test_speech_round_trip_through_a_law():
    rng = np.random.default_rng(1)
    a, b = pair()
    audio = signals.to_int16(rng.standard_normal((30, 160)) * 4000)
    bearer = dsp.lin2alaw(audio)
    got = run(a, b, 3, bearer)
    assert np.array_equal(got, bearer)
    assert np.array_equal(dsp.alaw2lin(got), dsp.alaw2lin(bearer))
    st = b.status()
    assert st["frame_aligned"] and st["crc4_aligned"] and st["cas_aligned"] and not st["alarms"]


def test_abcd_of_every_channel():
    a, b = pair()
    run(a, b, 2)
    values = [1 + (c * 7) % 15 for c in range(30)]
    for c, v in enumerate(values, start=1):
        a.set_abcd(c, v)
        assert a.tx_abcd(c) == v
    run(a, b, 2)
    assert list(b.status()["abcd"]) == values
    with pytest.raises(ValueError, match="0000 not on channels 1-15"):
        a.set_abcd(1, 0)
    a.set_abcd(16, 0)
    run(a, b, 1)
    assert b.status()["abcd"][15] == 0 and b.status()["cas_aligned"]
    with pytest.raises(ValueError, match="channel must be 1-30"):
        a.set_abcd(31, 3)


def test_bit_errors_are_counted_and_come_back_as_e_bits():
    rng = np.random.default_rng(2)
    a, b = pair()
    run(a, b, 5)
    base_b, base_a = b.stats(), a.stats()

    def flip(line):
        # Bit error rate 1e-5: a binomial count of random positions per tick.
        n = rng.binomial(line.size * 8, 1e-5)
        pos = rng.integers(0, line.size * 8, n)
        line = line.copy()
        np.bitwise_xor.at(line, pos // 8, (0x80 >> (pos % 8)).astype(np.uint8))
        return line
    run(a, b, 100, errors=flip)
    run(a, b, 2)
    sb, sa = b.stats(), a.stats()
    errors = sb["crc_errors"] - base_b["crc_errors"]
    assert 5 < errors < 60                  # 2 s at 2048 kbit/s and 1e-5: ~41 bit errors
    assert sa["ebit_errors"] - base_a["ebit_errors"] == errors
    assert b.status()["frame_aligned"]


def test_far_end_without_crc4_interworks():
    a = dsp.E1Framer(crc4="off")
    b = dsp.E1Framer(crc4="auto")
    run(a, b, 19)                           # 380 ms
    assert not b.status()["interworking"]
    run(a, b, 2)
    st = b.status()
    assert st["interworking"] and st["frame_aligned"] and not st["alarms"]
    assert not a.status()["alarms"]


@pytest.mark.parametrize("fill,alarm", [(0x00, "los"), (0xFF, "ais")])
def test_line_alarms_and_recovery(fill, alarm):
    a, b = pair()
    run(a, b, 2)
    for tick in range(6):
        b.receive(np.full(160 * 32, fill, dtype=np.uint8))
        a.receive(b.transmit())
        # Red once the loss of frame has lasted 100 ms (I.431).
        assert ("red" in b.status()["alarms"]) == (tick >= 5)
    assert {alarm, "lof", "red"} <= b.status()["alarms"]
    assert "rai" in a.status()["alarms"]    # b sends A = 1 while it has no signal
    run(a, b, 1)
    assert not b.status()["alarms"] and not a.status()["alarms"]


def test_forced_rai():
    a, b = pair()
    run(a, b, 2)
    a.set_rai(True)
    run(a, b, 1)
    assert b.status()["alarms"] == {"rai"}
    a.set_rai(False)
    run(a, b, 1)
    assert not b.status()["alarms"]


def test_bad_settings():
    with pytest.raises(ValueError, match="crc4 must be"):
        dsp.E1Framer(crc4="maybe")
    with pytest.raises(ValueError, match="unknown setting"):
        dsp.E1Framer(colour=1)
    with pytest.raises(ValueError, match="out of range"):
        dsp.E1Framer(red_ms=-1)
    with pytest.raises(ValueError, match="whole number of frames"):
        dsp.E1Framer().receive(bytes(33))
