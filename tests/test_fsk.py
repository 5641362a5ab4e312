"""FSK modem (Bell 202, V.23): transmitter exactness and receiver robustness.

Receiver tests are driven by fsk_signal() below, an FSK modulator written here in numpy
(random start phase, its own fractional bit timing), never by our C transmitter, except the
round-trip tests that are about the pair.
"""
import numpy as np
import pytest

from voiceboard import dsp
from voiceboard.errors import NativeError
import signals as sig

TONES = {"bell202": (1200.0, 2200.0), "v23": (1300.0, 2100.0)}   # mark, space (telephony.md §5.1)


# --- independent modulator ----------------------------------------------------------------

def frame(data):
    """Bits of bytes in asynchronous framing: start 0, 8 data bits LSB first, stop 1."""
    bits = []
    for b in data:
        bits += [0] + [(b >> i) & 1 for i in range(8)] + [1]
    return bits


def fsk_signal(bits, standard="bell202", dbm0=-14.0, rng=None, baud=1200.0, mark_offset=0.0,
               space_offset=0.0, phase=None):
    """Phase-continuous FSK of a bit list (float samples). Bit k covers the samples n with
    k <= n * baud / 8000 < k + 1."""
    mark, space = TONES[standard]
    n = int(np.ceil(len(bits) * sig.FS / baud))
    index = np.minimum(np.floor(np.arange(n) * baud / sig.FS).astype(int), len(bits) - 1)
    freq = np.where(np.asarray(bits)[index] == 1, mark + mark_offset, space + space_offset)
    start = rng.uniform(0, 2 * np.pi) if phase is None else phase
    # The phase of sample i is the sum of the steps of the samples before it.
    ph = start + 2 * np.pi * np.concatenate([[0.0], np.cumsum(freq[:-1])]) / sig.FS
    return sig.amplitude(dbm0) * np.sin(ph)


def cid_bits(data, seizure=300, marks=180, trailing=60):
    """The on-hook caller-ID bit sequence: 0101... seizure, marks, framed data, marks."""
    return [i & 1 for i in range(seizure)] + [1] * marks + frame(data) + [1] * trailing


def padded(x, lead=800, tail=800):
    return np.concatenate([np.zeros(lead), x, np.zeros(tail)])


def received_bytes(reports):
    return bytes(r.value for r in reports if r.kind == "byte")


def random_bytes(rng, n):
    return bytes(rng.integers(0, 256, n, dtype=np.uint8))


# --- transmitter -------------------------------------------------------------------------

@pytest.mark.parametrize("standard", ["bell202", "v23"])
def test_transmitter_matches_an_exact_modulator_sample_for_sample(rng, standard):
    data = random_bytes(rng, 40)
    with dsp.FskTransmitter(standard, -14.0) as tx:
        tx.put_alternating(0, 300)
        tx.put_bits(1, 180)
        tx.put_bytes(data)
        out = tx.generate()
    ref = fsk_signal(cid_bits(data, trailing=0), standard, -14.0, phase=0.0)
    # Same length (ceil of bits * 6.667) and every sample within 1 LSB: the fractional bit
    # timing and the phase continuity are exact.
    assert out.size == ref.size == int(np.ceil((300 + 180 + 400) * 8000 / 1200))
    assert np.max(np.abs(out.astype(float) - ref)) <= 1.0


@pytest.mark.parametrize("level", [-3.0, -14.0, -40.0])
def test_transmit_level_in_dbm0(level):
    with dsp.FskTransmitter("bell202", level) as tx:
        tx.put_alternating(0, 1200)
        x = tx.generate().astype(float)
    dbm0 = 20 * np.log10(np.sqrt(np.mean(x ** 2)) / sig.DBM0_RMS)
    assert abs(dbm0 - level) < 0.1


def test_default_level_is_minus_14_dbm0():
    with dsp.FskTransmitter() as tx:
        assert tx.level_dbm0 == -14.0
        assert tx.spec == {"mark_hz": 1200.0, "space_hz": 2200.0, "baud": 1200.0}


def test_generation_in_pieces_equals_generation_at_once(rng):
    data = random_bytes(rng, 20)
    with dsp.FskTransmitter("v23") as whole, dsp.FskTransmitter("v23") as pieces:
        for tx in (whole, pieces):
            tx.put_bits(1, 50)
            tx.put_bytes(data)
        ref = whole.generate()
        parts = []
        while pieces.queued:
            parts.append(pieces.generate(int(rng.integers(1, 40))))
    assert np.array_equal(np.concatenate(parts), ref)


def test_transmitter_returns_fewer_samples_when_the_queue_empties_and_continues_seamlessly(rng):
    with dsp.FskTransmitter() as tx:
        assert tx.generate(100).size == 0                   # nothing queued
        tx.put_bits(1, 2)                                   # 2 bits = 13.33 samples: 14 made
        first = tx.generate(100)
        assert first.size == 14 and tx.queued == 0
        tx.put_bits(0, 4)                                   # the clock's remainder carries over
        second = tx.generate(100)
    assert second.size == 26                                # 6 bits = exactly 40 samples
    ref = fsk_signal([1, 1, 0, 0, 0, 0], phase=0.0)
    assert np.max(np.abs(np.concatenate([first, second]) - ref)) <= 1.0


def test_transmit_queue_full_is_all_or_nothing():
    with dsp.FskTransmitter() as tx:
        tx.put_bits(1, 8000)
        with pytest.raises(NativeError, match="buffer full"):
            tx.put_bytes(bytes(20))                         # 200 bits, 192 free
        assert tx.queued == 8000
        tx.put_bytes(bytes(19))
        with pytest.raises(NativeError, match="invalid argument"):
            tx.put_bits(2, 1)


@pytest.mark.parametrize("kw", [{"level_dbm0": 4.0}, {"level_dbm0": -61.0}, {"baud": 100.0},
                                {"mark_hz": 2200.0}, {"space_hz": 3990.0}])
def test_transmitter_rejects_settings_out_of_range(kw):
    with pytest.raises(ValueError, match="out of range"):
        dsp.FskTransmitter("bell202", **kw)


def test_unknown_standard():
    with pytest.raises(ValueError, match="unknown FSK standard 'v21'"):
        dsp.FskReceiver("v21")


# --- round trip through our own pair -------------------------------------------------------

@pytest.mark.parametrize("standard", ["bell202", "v23"])
@pytest.mark.parametrize("level", [-3.0, -14.0, -25.0, -40.0])
def test_round_trip_random_bytes_at_levels(rng, standard, level):
    data = random_bytes(rng, 200)
    with dsp.FskTransmitter(standard, level) as tx:
        tx.put_alternating(0, 300)
        tx.put_bits(1, 180)
        tx.put_bytes(data)
        tx.put_bits(1, 10)
        x = padded(tx.generate())
    got = received_bytes(dsp.fsk_receive(sig.to_int16(x), standard))
    # The seizure decodes as 0x55 characters, except perhaps one that runs into the marks (the
    # receiver may lock on any 0 of the 0101 pattern); everything after it is the data, exactly.
    assert got.endswith(data)
    assert len(got) - len(data) >= 20 and set(got[:-len(data) - 1]) == {0x55}


# --- receiver against the independent modulator ----------------------------------------

@pytest.mark.parametrize("standard", ["bell202", "v23"])
@pytest.mark.parametrize("level", [-3.0, -10.0, -20.0, -30.0, -40.0])
def test_receiver_at_levels(rng, standard, level):
    data = random_bytes(rng, 100)
    x = padded(fsk_signal(cid_bits(data), standard, level, rng))
    reports = dsp.fsk_receive(sig.to_int16(x), standard)
    assert received_bytes(reports)[-100:] == data


@pytest.mark.parametrize("standard", ["bell202", "v23"])
def test_receiver_at_snr_15_db_white_noise(rng, standard):
    # White noise over 0-4 kHz, 15 dB below the signal, also before and after it.
    for _ in range(6):
        data = random_bytes(rng, 60)
        x = padded(fsk_signal(cid_bits(data), standard, -20.0, rng), 1600, 1600)
        x = x + sig.white_noise(x.size, -35.0, rng)
        got = received_bytes(dsp.fsk_receive(sig.to_int16(x), standard))
        assert data in got


@pytest.mark.parametrize("standard", ["bell202", "v23"])
@pytest.mark.parametrize("baud", [1188.0, 1212.0])
@pytest.mark.parametrize("offset", [-10.0, 10.0])
def test_receiver_tolerates_1_percent_rate_and_10_hz_tone_errors(rng, standard, baud, offset):
    data = random_bytes(rng, 100)
    for mark_offset, space_offset in ((offset, offset), (offset, -offset)):
        x = padded(fsk_signal(cid_bits(data), standard, -20.0, rng, baud=baud, mark_offset=mark_offset,
                              space_offset=space_offset))
        assert received_bytes(dsp.fsk_receive(sig.to_int16(x), standard))[-100:] == data


@pytest.mark.parametrize("law", ["alaw", "ulaw"])
@pytest.mark.parametrize("standard", ["bell202", "v23"])
def test_receiver_after_g711_round_trip_with_noise_and_errors(rng, law, standard):
    data = random_bytes(rng, 100)
    for level in (-3.0, -40.0):
        x = padded(fsk_signal(cid_bits(data), standard, level, rng, baud=1212.0, mark_offset=10.0,
                              space_offset=-10.0))
        x = x + sig.white_noise(x.size, level - 15.0, rng)
        y = sig.codec_munge(sig.to_int16(x), law)
        assert data in received_bytes(dsp.fsk_receive(y, standard)), level


def test_results_do_not_depend_on_block_size(rng):
    data = random_bytes(rng, 50)
    x = padded(fsk_signal(cid_bits(data), "bell202", -25.0, rng, baud=1210.0, mark_offset=7.0), 1600, 1600)
    x = sig.to_int16(x + sig.white_noise(x.size, -42.0, rng))
    whole = dsp.fsk_receive(x)
    assert data in received_bytes(whole)
    for sizes in ([1], [7], [160], list(rng.integers(1, 400, 50))):
        with dsp.FskReceiver() as rx:
            reports, i, k = [], 0, 0
            while i < x.size:
                n = int(sizes[k % len(sizes)])
                reports += rx.feed(x[i:i + n])
                i, k = i + n, k + 1
        assert reports == whole


def test_byte_positions_and_carrier_reports(rng):
    data = random_bytes(rng, 10)
    lead = 2000
    x = padded(fsk_signal(cid_bits(data), "bell202", -14.0, rng), lead, 2000)
    with dsp.FskReceiver() as rx:
        reports = rx.feed(sig.to_int16(x))
        assert not rx.carrier
        stats = rx.stats
    kinds = [r.kind for r in reports]
    assert kinds[0] == "carrier-on" and kinds[-1] == "carrier-off"
    assert kinds.count("carrier-on") == 1 and kinds.count("carrier-off") == 1
    on, off = reports[0].pos, reports[-1].pos
    end = lead + (300 + 180 + 100 + 60) * 8000 / 1200  # seizure, marks, 10 bytes, trailing marks
    assert lead < on < lead + 8 * 20                 # within 20 ms of the start
    assert end < off < end + 8 * 150
    # Each data byte is reported at its start-bit edge, within 2 samples.
    bytes_ = [r for r in reports if r.kind == "byte"][-10:]
    for k, r in enumerate(bytes_):
        edge = lead + (300 + 180 + 10 * k) * 8000 / 1200
        assert abs(r.pos - edge) <= 2, (k, r.pos, edge)
    assert stats["bytes"] == len([r for r in reports if r.kind == "byte"])
    assert stats["samples"] == x.size and stats["reports_dropped"] == 0


def test_carrier_is_reported_while_present(rng):
    x = sig.to_int16(padded(fsk_signal([1] * 600, "v23", -30.0, rng), 1600, 1600))
    with dsp.FskReceiver("v23") as rx:
        rx.feed(x[:1600 + 2000])
        assert rx.carrier
        rx.feed(x[1600 + 2000:])
        assert not rx.carrier


def test_no_carrier_and_no_bytes_in_noise_silence_or_a_dial_tone(rng):
    noise = sig.to_int16(sig.white_noise(8000 * 3, -20.0, rng))
    dial = sig.to_int16(sig.sine(450.0, 2000, -10.0, rng))
    for x in (noise, np.zeros(8000, np.int16), dial):
        for standard in ("bell202", "v23"):
            assert dsp.fsk_receive(x, standard) == []


def test_too_weak_carrier_is_ignored(rng):
    x = sig.to_int16(padded(fsk_signal(cid_bits(b"\x80\x01"), "bell202", -55.0, rng)))
    assert dsp.fsk_receive(x) == []
    assert received_bytes(dsp.fsk_receive(x, min_level_dbm0=-60.0))[-2:] == b"\x80\x01"


def test_a_space_stop_bit_is_a_framing_error(rng):
    bad = [0] + [1, 0, 1, 0, 0, 0, 0, 1] + [0]             # 0x85 with a space stop bit
    bits = [i & 1 for i in range(100)] + [1] * 30 + bad + [1] * 30 + frame(b"\x42") + [1] * 20
    with dsp.FskReceiver() as rx:
        got = received_bytes(rx.feed(sig.to_int16(padded(fsk_signal(bits, rng=rng)))))
        assert rx.stats["framing_errors"] >= 1
    assert got.endswith(b"\x42") and 0x85 not in got


def test_closed_objects_refuse_work():
    rx = dsp.FskReceiver()
    rx.close()
    rx.close()
    with pytest.raises(ValueError, match="closed"):
        rx.feed(np.zeros(10, np.int16))
