"""Board (native/src/chan.c): play queues, flush, barge-in, recording, bridges, many channels.

Received audio comes from tests/signals.py (numpy, seeded random phases); every check is on
the transmitted or recorded samples themselves, compared sample by sample.
"""
import numpy as np
import pytest

import signals
from voiceboard.dsp import Board, BoardEvent, detect_dtmf

TICK = 160          # 20 ms at 8 kHz (DESIGN.md rule 2)
HOP = 32            # the receiver's analysis hop (native/include/vb/private/dtmf.h)
MIN_TONE = 320      # Q.24: a 40 ms tone must be accepted, so it is recognised within 40 ms


def run(board, rx_all):
    """Tick a receive array through the board, whole ticks only (a partial tick at the end
    is not sent).

    Returns the transmit array, cut to the ticks sent, and a list of (tick index, event)."""
    t_len = board.tick_size
    ticks = rx_all.shape[1] // t_len
    tx_all = np.empty((rx_all.shape[0], ticks * t_len), dtype=rx_all.dtype)
    events = []
    for t in range(ticks):
        part = slice(t * t_len, (t + 1) * t_len)
        tx_all[:, part] = board.tick(np.ascontiguousarray(rx_all[:, part]))
        events += [(t, e) for e in board.events()]
    return tx_all, events


def prompt(rng, n):
    """A prompt with no zero sample, so silence after a cut cannot be mistaken for it."""
    mag = rng.integers(1000, 8000, n)
    return (mag * rng.choice([-1, 1], n)).astype(np.int16)


def of_kind(events, kind, channel=None):
    return [e for _, e in events if e.kind == kind and (channel is None or e.channel == channel)]


def test_queued_prompts_play_out_sample_exact(rng):
    lengths = [1, 159, 0, 160, 161, 1000, 37]
    prompts = [prompt(rng, n) for n in lengths]
    with Board(3) as board:
        ids = [board.play(1, p) for p in prompts]
        # bytes-like s16le is accepted too, and the caller's buffer may change afterwards.
        last = prompt(rng, 300)
        ids.append(board.play(1, bytearray(last.astype("<i2").tobytes())))
        prompts.append(last)
        total = sum(p.size for p in prompts)
        assert board.queued(1) == total
        tx, events = run(board, np.zeros((3, 15 * TICK), np.int16))
        want = np.concatenate(prompts)
        np.testing.assert_array_equal(tx[1, :total], want)
        assert not tx[1, total:].any()
        assert not tx[0].any() and not tx[2].any()
        done = of_kind(events, "play_done")
        assert [e.prompt for e in done] == ids
        assert [e.reason for e in done] == ["end"] * len(ids)
        assert [e.pos for e in done] == list(np.cumsum([p.size for p in prompts]))
        # Each prompt's event arrives from the tick in which it ended (an empty prompt at the
        # next piece boundary after the one before it).
        for t, e in events:
            assert t * TICK <= e.pos <= (t + 1) * TICK
        assert board.queued(1) == 0


def test_flush_reports_every_prompt_and_silences_at_once(rng):
    with Board(2) as board:
        prompts = [prompt(rng, 700), prompt(rng, 500), prompt(rng, 90)]
        ids = [board.play(0, p) for p in prompts]
        tx, _ = run(board, np.zeros((2, 2 * TICK), np.int16))
        np.testing.assert_array_equal(tx[0], prompts[0][:2 * TICK])
        assert board.stop_play(0) == 3
        events = board.events()
        assert [(e.kind, e.reason, e.prompt, e.pos) for e in events] == [
            ("play_done", "flush", i, 2 * TICK) for i in ids]
        assert board.queued(0) == 0
        tx, events = run(board, np.zeros((2, 3 * TICK), np.int16))
        assert not tx.any() and not events
        assert board.stop_play(0) == 0


@pytest.mark.parametrize("tick", [160, 100, 80, 7])
@pytest.mark.parametrize("digit", ["5", "#", "0", "D"])
def test_barge_in_cuts_prompt_in_the_tick_the_digit_is_recognised(rng, tick, digit):
    n = 60 * TICK
    tone_at = 2437 + int(rng.integers(0, 64))
    rx = np.zeros((2, n), np.int16)
    rx[0, tone_at:tone_at + 640] = signals.to_int16(signals.dtmf_tone(digit, 80, rng))
    first, second = prompt(rng, 5000), prompt(rng, 5000)
    with Board(2, tick=tick) as board:
        id1 = board.play(0, first, barge_in=digit + "1")
        id2 = board.play(0, second)
        tx, events = run(board, rx)
    on = of_kind(events, "digit_on")
    assert [e.digit for e in on] == [digit]
    assert abs(on[0].start - tone_at) <= HOP
    cut = on[0].pos
    assert tone_at < cut <= tone_at + MIN_TONE
    # Flushed in the same tick: the play_done events come out of the tick that holds the cut.
    done = [(t, e) for t, e in events if e.kind == "play_done"]
    assert [(e.prompt, e.reason, e.pos) for _, e in done] == [(id1, "barge_in", cut), (id2, "barge_in", cut)]
    t_done = done[0][0]
    assert t_done * tick < cut <= (t_done + 1) * tick
    # On the wire: the prompt up to the recognition sample, silence from there on.
    np.testing.assert_array_equal(tx[0, :cut], first[:cut])
    assert not tx[0, cut:].any()


def test_digit_outside_the_barge_in_set_does_not_stop_playback(rng):
    n = 40 * TICK
    rx = np.zeros((1, n), np.int16)
    rx[0, 1000:1000 + 640] = signals.to_int16(signals.dtmf_tone("#", 80, rng))
    rx[0, 3000:3000 + 640] = signals.to_int16(signals.dtmf_tone("7", 80, rng))
    p = prompt(rng, 5500)
    with Board(1) as board:
        pid = board.play(0, p, barge_in="0123456*ABCD")
        tx, events = run(board, rx)
    assert [e.digit for e in of_kind(events, "digit_off")] == ["#", "7"]
    np.testing.assert_array_equal(tx[0, :p.size], p)
    assert [(e.prompt, e.reason, e.pos) for e in of_kind(events, "play_done")] == [(pid, "end", p.size)]


def test_digit_events_carry_positions_and_levels(rng):
    rx = signals.to_int16(signals.digit_string("19#", rng, on_ms=60, off_ms=60, row_dbm0=-12.0, col_dbm0=-10.0))
    n = -(-rx.size // TICK) * TICK
    rx_all = np.zeros((1, n), np.int16)
    rx_all[0, :rx.size] = rx
    with Board(1) as board:
        _, events = run(board, rx_all)
        assert board.dtmf_stats(0)["digits"] == 3
    offs = of_kind(events, "digit_off")
    assert [e.digit for e in offs] == list("19#")
    for i, e in enumerate(offs):
        tone_at = 800 + i * 960                 # 100 ms lead, then 60 ms on + 60 ms off
        assert abs(e.start - tone_at) <= HOP
        assert abs(e.end - (tone_at + 480)) <= 2 * HOP
        assert e.start < e.end <= e.pos
        assert abs(e.row_dbm0 + 12.0) < 1.0 and abs(e.col_dbm0 + 10.0) < 1.0
    ons = of_kind(events, "digit_on")
    assert [e.end for e in ons] == [None] * 3
    assert all(isinstance(e, BoardEvent) for _, e in events)


def test_recording_is_sample_exact_and_stops_at_its_maximum(rng):
    n = 50 * TICK
    rx = rng.integers(-20000, 20000, (3, n)).astype(np.int16)
    with Board(3) as board:
        board.start_record(1, 5000)
        got = []
        limit = []
        for t in range(n // TICK):
            board.tick(np.ascontiguousarray(rx[:, t * TICK:(t + 1) * TICK]))
            limit += [(t, e) for e in board.events() if e.kind == "record_limit"]
            if t % 6 == 5:
                got.append(board.take_recording(1))
        got.append(board.take_recording(1))
        rec = np.concatenate(got)
        np.testing.assert_array_equal(rec, rx[1, :5000])
        assert [(t, e.channel, e.reason, e.pos) for t, e in limit] == [(5000 // TICK, 1, "limit", 5000)]
        assert not board.recording(1)
        assert board.take_recording(0).size == 0
        # A new recording starts at the next tick and drops nothing it should keep.
        start = board.position
        board.start_record(1, 10 * TICK)
        assert board.recording(1)
        rx2 = rng.integers(-20000, 20000, (3, 3 * TICK)).astype(np.int16)
        run(board, rx2)
        board.stop_record(1)
        run(board, rx2)
        assert board.position == start + 6 * TICK
        np.testing.assert_array_equal(board.take_recording(1), rx2[1])


def test_bridge_passes_audio_both_ways_and_digits_still_detected(rng):
    n = 60 * TICK
    a, b = 0, 2
    rx = np.zeros((4, n), np.int16)
    rx[1] = signals.to_int16(signals.white_noise(n, -30.0, rng))
    rx[b] = signals.to_int16(signals.white_noise(n, -40.0, rng))
    keys = signals.to_int16(signals.digit_string("3*8", rng))
    rx[a] = signals.to_int16(signals.white_noise(n, -50.0, rng))
    rx[a, 500:500 + keys.size] += keys
    with Board(4) as board:
        board.bridge(a, b)
        assert board.partner(b) == a and board.partner(1) is None
        tx, events = run(board, rx)
        np.testing.assert_array_equal(tx[b], rx[a])
        np.testing.assert_array_equal(tx[a], rx[b])
        assert not tx[1].any() and not tx[3].any()
        # Detected on A's receiver, and present on B's transmit side for the far end.
        assert "".join(e.digit for e in of_kind(events, "digit_off", a)) == "3*8"
        assert not of_kind(events, "digit_on", b)
        assert "".join(e.digit for e in detect_dtmf(tx[b])) == "3*8"
        assert board.unbridge(b) == a
        assert board.unbridge(a) is None
        tx, _ = run(board, rx[:, :2 * TICK].copy())
        assert not tx.any()


def test_bridge_mixes_with_the_prompt_and_saturates(rng):
    rx = np.zeros((2, 4 * TICK), np.int16)
    rx[0] = rng.integers(-32768, 32768, 4 * TICK)
    rx[1] = rng.integers(-32768, 32768, 4 * TICK)
    p = rng.integers(-32768, 32768, 3 * TICK).astype(np.int16)
    with Board(2) as board:
        board.bridge(1, 0)
        board.play(1, p)
        tx, _ = run(board, rx)
    np.testing.assert_array_equal(tx[0], rx[1])
    mixed = rx[0].astype(np.int32)
    mixed[:p.size] += p
    assert (np.abs(mixed) > 32767).sum() > 100    # the clamp is exercised, not avoided
    np.testing.assert_array_equal(tx[1], np.clip(mixed, -32768, 32767).astype(np.int16))


def test_eight_channels_in_parallel(rng):
    channels = 8
    n = 120 * TICK
    rx = np.zeros((channels, n), np.int16)
    sent = []
    for c in range(channels):
        digits = "".join(rng.choice(list(signals.KEYPAD), 4))
        sig = signals.to_int16(signals.digit_string(digits, rng, lead_ms=100 + 37 * c))
        rx[c, :sig.size] = sig
        sent.append(digits)
    prompts = [prompt(rng, 4000 + 500 * c) for c in range(channels)]
    with Board(channels) as board:
        for c in range(channels):
            board.play(c, prompts[c])
            if c % 2 == 0:
                board.start_record(c, n)
        tx, events = run(board, rx)
        for c in range(channels):
            assert "".join(e.digit for e in of_kind(events, "digit_off", c)) == sent[c]
            np.testing.assert_array_equal(tx[c, :prompts[c].size], prompts[c])
            assert not tx[c, prompts[c].size:].any()
            if c % 2 == 0:
                np.testing.assert_array_equal(board.take_recording(c), rx[c])
            else:
                assert board.take_recording(c).size == 0
        assert board.stats == {"ticks": n // TICK, "events_dropped": 0}


@pytest.mark.parametrize("call, message", [
    (lambda b: b.play(4, np.zeros(10, np.int16)), r"Board.play: channel 4 out of range \(board has 4 channels\)"),
    (lambda b: b.play(-1, np.zeros(10, np.int16)), r"Board.play: channel -1 out of range"),
    (lambda b: b.play(0, np.zeros(10)), r"Board.play: samples must be int16, got float64"),
    (lambda b: b.play(0, np.zeros(10, np.int16), barge_in="12x"), r"Board.play: barge_in must be digits"),
    (lambda b: b.tick(np.zeros((4, 100), np.int16)), r"Board.tick: rx must be an int16 array of shape \(4, 160\)"),
    (lambda b: b.tick(np.zeros((4, 160), np.int32)), r"Board.tick: rx must be an int16 array .* got int32"),
    (lambda b: b.tick([[0] * 160] * 4), r"Board.tick: rx must be an int16 array .* got list"),
    (lambda b: b.tick(np.zeros((4, 160), np.int16), out=np.zeros((4, 160))), r"Board.tick: out must be"),
    (lambda b: b.start_record(0, 0), r"Board.start_record: max_samples must be a positive int32"),
    (lambda b: b.take_recording(9), r"Board.take_recording: channel 9 out of range"),
    (lambda b: b.bridge(1, 1), r"Board.bridge: cannot bridge channel 1 to itself"),
    (lambda b: b.dtmf_stats(True), r"Board.dtmf_stats: channel True out of range"),
])
def test_bad_arguments_are_refused_with_the_place(call, message):
    with Board(4) as board:
        with pytest.raises(ValueError, match=message):
            call(board)


def test_bridge_elsewhere_is_refused():
    with Board(4) as board:
        board.bridge(0, 1)
        board.bridge(1, 0)
        with pytest.raises(ValueError, match=r"Board.bridge: channel 1 or 2 is already bridged elsewhere"):
            board.bridge(1, 2)


@pytest.mark.parametrize("kwargs, message", [
    ({"channels": 0}, r"Board: channels must be 1 to 256, got 0"),
    ({"channels": 257}, r"Board: channels must be 1 to 256"),
    ({"channels": 1, "tick": 0}, r"Board: tick must be 1 to 8000 samples"),
    ({"channels": 1, "dtmf_mode": "loud"}, r"unknown DTMF mode 'loud'"),
    ({"channels": 1, "min_on_ms": 2}, r"Board: DTMF parameters out of range"),
])
def test_bad_board_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Board(**kwargs)


def test_closed_board_is_refused():
    board = Board(1)
    board.close()
    board.close()
    with pytest.raises(ValueError, match="Board is closed"):
        board.tick(np.zeros((1, TICK), np.int16))


def test_full_event_queue_keeps_the_oldest_and_counts_the_rest():
    with Board(1) as board:
        ids = [board.play(0, b"") for _ in range(70)]
        board.tick(np.zeros((1, TICK), np.int16))
        events = board.events()
        # 64 events per channel (VB_BOARD_EVENTS_PER_CHANNEL in native/include/vb/private/chan.h).
        assert [e.prompt for e in events] == ids[:64]
        assert board.stats["events_dropped"] == 6
