"""RingBuffer (native/src/ring.c): order, wrap-around, overrun/underrun counters, padding,
and a writer thread against a reader thread."""
import threading

import numpy as np
import pytest

from voiceboard.dsp import RingBuffer


def seq(start, n):
    """Stream samples by position: distinct over more than any capacity used here."""
    return ((np.arange(start, start + n, dtype=np.int64) * 40503) % 65536 - 32768).astype(np.int16)


@pytest.mark.parametrize("capacity", [0, 1, 3, 6, 1000, 2 ** 31, -4, 8.0, "8"])
def test_capacity_must_be_power_of_two(capacity):
    with pytest.raises(ValueError, match="RingBuffer: capacity must be a power of two"):
        RingBuffer(capacity)


def test_order_across_wrap_around(rng):
    with RingBuffer(64) as ring:
        wpos = rpos = 0
        for _ in range(300):
            n = int(rng.integers(0, 40))
            n = min(n, ring.space)
            assert ring.write(seq(wpos, n)) == n
            wpos += n
            want = int(rng.integers(0, 40))
            got = ring.read(min(want, ring.fill))
            np.testing.assert_array_equal(got, seq(rpos, got.size))
            rpos += got.size
            assert ring.fill == wpos - rpos
            assert ring.space == 64 - (wpos - rpos)
        st = ring.stats
        assert (st["written"], st["read"], st["overrun"], st["underrun"]) == (wpos, rpos, 0, 0)


def test_bytes_input_is_s16le():
    with RingBuffer(8) as ring:
        assert ring.write(np.array([1, -2, 300], dtype="<i2").tobytes()) == 3
        np.testing.assert_array_equal(ring.read(), [1, -2, 300])


def test_overrun_drops_what_does_not_fit_and_counts_it():
    with RingBuffer(16) as ring:
        assert ring.write(seq(0, 20)) == 16
        assert ring.write(seq(20, 5)) == 0
        assert ring.stats["overrun"] == 9
        # Unread samples are never overwritten.
        np.testing.assert_array_equal(ring.read(16), seq(0, 16))
        assert ring.write(seq(0, 4)) == 4
        assert ring.stats == {"written": 20, "read": 16, "overrun": 9, "underrun": 0}


def test_underrun_counts_shortfall_and_pads_a_full_frame():
    with RingBuffer(16) as ring:
        ring.write(np.array([5, 6, 7], dtype=np.int16))
        frame = ring.read(8, pad=True)
        np.testing.assert_array_equal(frame, [5, 6, 7, 0, 0, 0, 0, 0])
        assert ring.stats["underrun"] == 5
        ring.write(np.array([9], dtype=np.int16))
        short = ring.read(4)
        np.testing.assert_array_equal(short, [9])
        assert ring.stats["underrun"] == 8
        # Draining exactly what is there is not an underrun.
        ring.write(np.array([1, 2], dtype=np.int16))
        np.testing.assert_array_equal(ring.read(), [1, 2])
        assert ring.stats["underrun"] == 8
        assert ring.read().size == 0


def test_float_samples_are_refused():
    with RingBuffer(8) as ring:
        with pytest.raises(ValueError, match="RingBuffer.write: samples must be int16, got float64"):
            ring.write(np.zeros(4))
        with pytest.raises(ValueError, match="RingBuffer.read: n must be a non-negative integer"):
            ring.read(-1)


def test_closed_ring_is_refused():
    ring = RingBuffer(8)
    ring.close()
    ring.close()
    with pytest.raises(ValueError, match="RingBuffer is closed"):
        ring.write(seq(0, 1))


def test_writer_thread_and_reader_thread_keep_every_sample_in_order():
    total = 400_000
    ring = RingBuffer(1024)
    received = []

    def writer():
        pos = 0
        while pos < total:
            n = min(333, total - pos, ring.space)
            pos += ring.write(seq(pos, n))

    def reader():
        have = 0
        while have < total:
            got = ring.read(min(250, ring.fill))
            received.append(got)
            have += got.size

    threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    np.testing.assert_array_equal(np.concatenate(received), seq(0, total))
    st = ring.stats
    assert st["written"] == st["read"] == total
    assert st["overrun"] == st["underrun"] == 0
    ring.close()
