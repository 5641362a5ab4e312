"""Board and channel layer on the emulated analog board, against the line simulator, in
virtual time. Everything the far end does reaches the board as audio and line signals:
keys are DTMF tones through the receiver, hangups are loop-current drops or busy tone."""
import asyncio

import numpy as np
import pytest

import drivers
from drivers.linesim import CallEnded, Destination
from voiceboard import callerid, clock, dsp
from voiceboard.errors import ChannelStateError, ConfigError
from voiceboard.states import ChannelState

CID = callerid.CallerId(number="13800138000", name="ZHANG SAN", date="11252130", format="mdmf")


def run(test, url="emu://analog?ports=2", **options):
    """Run ``test(board)`` on an opened board in virtual time."""
    async def main():
        async with drivers.open_board(url, **options) as board:
            return await asyncio.wait_for(test(board), 600)
    return clock.run(main())


async def answered_call(board, n=0, cid=None, rings=1):
    """Ring port n from the exchange; answer after ``rings`` rings. Returns (channel, port, caller task)."""
    ch, port = board.channel(n), board.exchange.ports[n]
    call = asyncio.ensure_future(port.call(cid))
    while ch.ring_count < rings:
        await ch.events.get()
    await ch.answer()
    assert await call is True
    return ch, port


def kinds(ch):
    out = []
    while not ch.events.empty():
        out.append(ch.events.get_nowait().kind)
    return out


def prompt(seconds, hz=600.0, dbm0=-15.0):
    t = np.arange(int(seconds * dsp.SAMPLE_RATE)) / dsp.SAMPLE_RATE
    return np.round(16141 * np.sqrt(2) * 10 ** (dbm0 / 20) * np.sin(2 * np.pi * hz * t)).astype(np.int16)


# --- state machine: one test per edge ----------------------------------------------------

def test_idle_to_ringing_on_ring_then_connected_on_answer():
    async def t(board):
        ch, port = board.channel(0), board.exchange.ports[0]
        call = asyncio.ensure_future(port.call())
        ev = await ch.events.get()
        assert ev.kind == "state" and ev.data == (ChannelState.IDLE, ChannelState.RINGING)
        assert (await ch.events.get()).kind == "ring"
        await ch.answer()
        assert ch.state is ChannelState.CONNECTED and await call is True
    run(t)


def test_ringing_to_idle_when_the_caller_gives_up():
    async def t(board):
        ch, port = board.channel(0), board.exchange.ports[0]
        call = asyncio.ensure_future(port.call(max_rings=2))
        assert await call is False
        await asyncio.sleep(9)                          # ring timeout 8 s after the last ring
        assert ch.state is ChannelState.IDLE and ch.ring_count == 0
    run(t)


def test_connected_to_idle_on_local_hangup():
    async def t(board):
        ch, port = await answered_call(board)
        await ch.hangup()
        assert ch.state is ChannelState.IDLE
        await port.wait_idle(timeout=3)                 # the exchange saw the line clear
    run(t)


@pytest.mark.parametrize("disconnect", ["battery", "busy"])
def test_connected_to_idle_when_the_far_end_hangs_up(disconnect):
    async def t(board):
        ch, port = await answered_call(board)
        await port.hangup()
        t0 = asyncio.get_running_loop().time()
        while ch.state is not ChannelState.IDLE:
            await asyncio.sleep(0.02)
        took = asyncio.get_running_loop().time() - t0
        assert "remote_hangup" in kinds(ch)
        # Loop current: the 100 ms debounce; busy tone: 4 cycles of 700 ms (§4.4 busycount).
        assert took < (0.2 if disconnect == "battery" else 3.5)
    run(t, f"emu://analog?ports=1&disconnect={disconnect}")


def test_idle_to_dialing_to_connected_when_answered():
    async def t(board):
        board.exchange.directory["8001"] = Destination("answer", answer_after=3.0, greeting=prompt(2.0))
        ch, port = board.channel(0), board.exchange.ports[0]
        result = await ch.dial("8001")
        assert result.outcome == "answered" and ch.state is ChannelState.CONNECTED
        assert port.dialled == "8001"                   # the exchange decoded our DTMF
    run(t, "emu://analog?ports=1")


@pytest.mark.parametrize("outcome,expected", [("busy", "busy"), ("congestion", "congestion"),
                                              ("vacant", "sit"), ("no_answer", "no_answer")])
def test_dialing_to_idle_on_each_failure(outcome, expected):
    async def t(board):
        board.exchange.directory["8002"] = Destination(outcome)
        ch = board.channel(0)
        result = await ch.dial("8002", answer_timeout=12.0)
        assert result.outcome == expected and ch.state is ChannelState.IDLE
    run(t, "emu://analog?ports=1")


def test_dialing_without_dial_tone():
    async def t(board):
        ch = board.channel(0)
        board.exchange.ports[0].dead = True             # a dead line gives no dial tone
        result = await ch.dial("123", dialtone_timeout=3.0)
        assert result.outcome == "no_dialtone" and ch.state is ChannelState.IDLE
    run(t, "emu://analog?ports=1")


def test_block_and_unblock():
    async def t(board):
        ch, port = await answered_call(board)
        await ch.block("maintenance")
        assert ch.state is ChannelState.OUT_OF_SERVICE
        with pytest.raises(ChannelStateError):
            await ch.answer()
        await ch.unblock()
        assert ch.state is ChannelState.IDLE
    run(t)


@pytest.mark.parametrize("operation", ["play", "collect", "record", "hangup", "answer_connected"])
def test_illegal_operations_name_the_state(operation):
    async def t(board):
        ch = board.channel(0)
        if operation == "answer_connected":
            ch, _ = await answered_call(board)
            call = ch.answer()
        else:
            call = {"play": lambda: ch.play(prompt(0.1)), "collect": lambda: ch.collect(),
                    "record": lambda: ch.record("/nonexistent/x.wav"), "hangup": lambda: ch.hangup()}[operation]()
        with pytest.raises(ChannelStateError, match=r"channel \d: \w+\(\) not allowed in (IDLE|CONNECTED)"):
            await call
    run(t)


# --- collect: every termination reason -------------------------------------------------------

async def _collect_with(board, keys, gap_after=None, **collect_kw):
    ch, port = await answered_call(board)

    async def caller():
        await port.wait(0.3)
        for chunk in keys:
            if chunk == "HANGUP":
                await port.hangup()
                return
            if isinstance(chunk, float):
                await port.wait(chunk)
            else:
                await port.press(chunk, on_ms=60, off_ms=60)

    task = asyncio.ensure_future(caller())
    result = await ch.collect(**collect_kw)
    task.cancel()
    return result


@pytest.mark.parametrize("keys,kw,expected", [
    (["1234"], dict(max_digits=4), ("1234", "max_digits", "")),
    (["12#"], dict(max_digits=10), ("12", "terminator", "#")),
    ([], dict(max_digits=4, first_timeout=2.0), ("", "first_timeout", "")),
    (["12", 5.0, "3"], dict(max_digits=4, inter_timeout=2.0), ("12", "inter_timeout", "")),
    (["1", 1.5, "2", 1.5, "3", 1.5, "4"], dict(max_digits=4, inter_timeout=2.0, overall_timeout=4.0),
     ("123", "overall_timeout", "")),
    (["12", "HANGUP"], dict(max_digits=4, inter_timeout=5.0), ("12", "hangup", "")),
])
def test_collect_termination_reasons(keys, kw, expected):
    async def t(board):
        r = await _collect_with(board, keys, **kw)
        assert (r.digits, r.reason, r.terminator) == expected
    run(t)


def test_type_ahead_is_kept_until_collected_and_flush_clears_it():
    async def t(board):
        ch, port = await answered_call(board)
        await port.press("42", on_ms=60, off_ms=60)
        await asyncio.sleep(0.2)
        assert ch.type_ahead == "42"
        r = await ch.collect(max_digits=2, first_timeout=0.1)
        assert (r.digits, r.reason) == ("42", "max_digits")
        await port.press("9", on_ms=60, off_ms=60)
        await asyncio.sleep(0.2)
        r = await ch.collect(max_digits=1, first_timeout=1.0, flush=True)
        assert (r.digits, r.reason) == ("", "first_timeout")
    run(t)


# --- play and barge-in ------------------------------------------------------------------------

def test_play_to_the_end_is_heard_by_the_caller():
    async def t(board):
        ch, port = await answered_call(board)
        listen = asyncio.ensure_future(port.listen(1.5))
        result = await ch.play(prompt(1.0, hz=600.0))
        heard = await listen
        assert result.reason == "end"
        spectrum = np.abs(np.fft.rfft(heard.astype(float)))
        assert abs(np.argmax(spectrum) * dsp.SAMPLE_RATE / heard.size - 600) < 5
    run(t)


def test_barge_in_stops_the_prompt_within_the_frame_and_keeps_the_digit():
    async def t(board):
        ch, port = await answered_call(board)

        async def caller():
            await port.wait(1.0)
            await port.press("5", on_ms=100, off_ms=50)

        asyncio.ensure_future(caller())
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        result = await ch.play(prompt(10.0), barge_in="0123456789")
        assert result == type(result)("barge_in", "5")
        # The key went down 1.0 s in (plus one tick on the line); recognition takes ~35 ms
        # and the prompt stops in that tick.
        assert loop.time() - t0 < 1.0 + 0.1
        r = await ch.collect(max_digits=1, first_timeout=0.1)
        assert r.digits == "5"
    run(t)


def test_sixteen_digits_at_ten_per_second_while_a_prompt_plays():
    async def t(board):
        ch, port = await answered_call(board)
        keys = "0123456789*#ABCD"
        asyncio.ensure_future(port.press(keys, on_ms=50, off_ms=50))
        await ch.play(prompt(3.0))                      # no barge-in: the prompt plays through
        r = await ch.collect(max_digits=16, terminators="", first_timeout=0.5, inter_timeout=0.5)
        assert r.digits == keys
    run(t)


# --- record ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("how,status", [("key", "DTMF"), ("silence", "SILENCE"), ("long", "TIMEOUT"),
                                        ("hangup", "HANGUP")])
def test_record_termination(tmp_path, how, status):
    async def t(board):
        ch, port = await answered_call(board)
        path = tmp_path / "msg.wav"

        async def caller():
            await port.wait(0.5)
            await port.send(prompt(2.0, hz=440.0, dbm0=-20.0))
            if how == "key":
                await port.press("#")
            elif how == "hangup":
                await port.hangup()
            elif how == "long":
                await port.send(prompt(5.0, hz=440.0, dbm0=-20.0))

        asyncio.ensure_future(caller())
        r = await ch.record(path, max_time=4.0, max_silence=1.5, beep=True)
        assert r.status == status
        samples, info = __import__("voiceboard.audio", fromlist=["read_audio"]).read_audio(path)
        assert abs(samples.size / 8000 - r.duration) < 0.01
        if status == "TIMEOUT":
            assert abs(r.duration - 4.0) < 0.05
        else:
            assert 2.0 <= r.duration <= 4.0
    run(t)


def test_record_to_an_unwritable_path_is_an_error_result():
    async def t(board):
        ch, _ = await answered_call(board)
        r = await ch.record("/nonexistent/dir/x.wav", beep=False)
        assert r.status == "ERROR"
    run(t)


# --- caller ID --------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt,mode", [("mdmf", "bell202"), ("sdmf", "bell202"), ("mdmf", "v23"),
                                      ("sdmf", "v23"), ("dtmf", "dtmf")])
def test_caller_id_end_to_end(fmt, mode):
    async def t(board):
        cid = callerid.CallerId(number="02161234567", name="BANK" if fmt == "mdmf" else None,
                                date=None if fmt == "dtmf" else "11252130", format=fmt)
        ch, port = board.channel(0), board.exchange.ports[0]
        asyncio.ensure_future(port.call(cid, cid_mode=mode))
        while ch.ring_count < 2:
            await ch.events.get()
        assert ch.caller_id is not None and ch.caller_id.number == "02161234567"
        if fmt == "mdmf":
            assert ch.caller_id.name == "BANK"
    run(t)


def test_caller_id_with_a_corrupted_checksum_is_not_reported(monkeypatch):
    real = callerid.encode_message

    def corrupt(cid, *a, **kw):
        data = bytearray(real(cid, *a, **kw))
        data[-1] ^= 0x5A
        return bytes(data)

    monkeypatch.setattr(callerid, "encode_message", corrupt)

    async def t(board):
        ch, port = board.channel(0), board.exchange.ports[0]
        asyncio.ensure_future(port.call(CID))
        while ch.ring_count < 2:
            await ch.events.get()
        assert ch.caller_id is None
    run(t)


# --- busy-tone disconnect ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("tone", ["busy", "congestion"])
def test_busy_and_congestion_disconnect_with_10_percent_cadence_jitter(seed, tone):
    async def t(board):
        ch, port = await answered_call(board)
        await port.hangup()
        while ch.state is not ChannelState.IDLE:
            await asyncio.sleep(0.1)
        assert "remote_hangup" in kinds(ch)
    run(t, f"emu://analog?ports=1&disconnect={tone}&jitter=0.1&seed={seed}")


def test_speech_and_digits_do_not_trigger_busy_disconnect():
    async def t(board):
        ch, port = await answered_call(board)
        await port.press("1234567890" * 3, on_ms=350, off_ms=350)   # the busy cadence, as keys
        assert ch.state is ChannelState.CONNECTED
    run(t)


# --- bridge, parallel ports, real time --------------------------------------------------------------

def test_bridge_passes_audio_and_digits_both_ways():
    async def t(board):
        a, pa = await answered_call(board, 0)
        b, pb = await answered_call(board, 1)
        await a.bridge(b)
        heard_b = asyncio.ensure_future(pb.listen(1.0))
        await pa.send(prompt(0.5, hz=700.0))
        heard = await heard_b
        spectrum = np.abs(np.fft.rfft(heard.astype(float)))
        assert abs(np.argmax(spectrum) * 8000 / heard.size - 700) < 5
        await pb.press("73", on_ms=60, off_ms=60)
        await asyncio.sleep(0.3)
        assert b.type_ahead == "73"                     # detected on B's side of the bridge
        await a.unbridge()
    run(t)


def test_eight_ports_in_parallel():
    async def t(board):
        async def one(n):
            ch, port = await answered_call(board, n)
            keys = f"{n}{n}{n}#"
            asyncio.ensure_future(port.press(keys, on_ms=60, off_ms=60))
            r = await ch.collect(max_digits=8)
            await ch.hangup()
            return r.digits

        results = await asyncio.gather(*(one(n) for n in range(8)))
        assert results == [f"{n}{n}{n}" for n in range(8)]
    run(t, "emu://analog?ports=8")


def test_a_call_in_real_time():
    async def main():
        async with drivers.open_board("emu://analog?ports=1") as board:
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            ch, port = await answered_call(board)
            asyncio.ensure_future(port.press("1#", on_ms=60, off_ms=60))
            r = await ch.collect(max_digits=4)
            assert r.digits == "1"
            return loop.time() - t0, board.clock.late_ticks
    elapsed, late = clock.run(main(), virtual=False)
    assert 0.3 < elapsed < 2.0 and late == 0


# --- URLs ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url,message", [
    ("analog", "no scheme"), ("nosuch://x", "not known"), ("emu://digital", "knows 'analog' and 'e1'"),
    ("emu://analog?ports=x", "bad value 'x' for ports"), ("emu://analog?colour=red", "unknown option"),
])
def test_bad_board_urls(url, message):
    with pytest.raises(ConfigError, match=message):
        drivers.open_board(url)


# --- FXS ports: agent phones --------------------------------------------------------------------------

def test_fxs_port_rings_a_phone_with_caller_id_and_bridges_a_caller_to_it():
    async def t(board):
        caller, port = await answered_call(board, 0)
        agent_ch, phone = board.channel(1), board.exchange.ports[1]

        async def agent():
            await phone.wait_ring(timeout=30)
            await phone.wait_ring(timeout=30)           # caller ID comes between ring 1 and 2
            await phone.answer()

        agent_task = asyncio.ensure_future(agent())
        result = await agent_ch.ring(caller_id=CID)
        await agent_task
        assert result.outcome == "answered" and agent_ch.state is ChannelState.CONNECTED
        assert phone.caller_id is not None and phone.caller_id.number == CID.number
        await caller.bridge(agent_ch)
        hears = asyncio.ensure_future(phone.listen(1.0))
        await port.send(prompt(0.5, hz=500.0))
        heard = await hears
        spectrum = np.abs(np.fft.rfft(heard.astype(float)))
        assert abs(np.argmax(spectrum) * 8000 / heard.size - 500) < 5
        await phone.hangup()                            # the agent hangs up
        while agent_ch.state is not ChannelState.IDLE:
            await asyncio.sleep(0.05)
        assert "remote_hangup" in kinds(agent_ch)
    run(t, "emu://analog?ports=2&fxs=1")


def test_fxs_ring_unanswered_and_board_hangup_reaches_the_phone():
    async def t(board):
        ch, phone = board.channel(0), board.exchange.ports[0]
        assert (await ch.ring(max_rings=2)).outcome == "no_answer"
        assert ch.state is ChannelState.IDLE
        answering = asyncio.ensure_future(ch.ring())
        await phone.wait_ring(timeout=10)
        await phone.answer()
        assert (await answering).outcome == "answered"
        await ch.hangup()
        await asyncio.sleep(0.2)
        assert phone.state.value == "idle"              # the phone saw the battery go
    run(t, "emu://analog?ports=1&fxs=1")


def test_a_lifted_phone_starts_a_call():
    async def t(board):
        ch, phone = board.channel(0), board.exchange.ports[0]
        await phone.answer()
        await asyncio.sleep(0.3)
        assert ch.state is ChannelState.CONNECTED and "offhook" in kinds(ch)
        await phone.press("5", on_ms=60, off_ms=60)
        assert (await ch.collect(max_digits=1, first_timeout=1.0)).digits == "5"
    run(t, "emu://analog?ports=1&fxs=1")


def test_ring_on_an_fxo_port_is_refused():
    async def t(board):
        with pytest.raises(ChannelStateError, match="not an FXS port"):
            await board.channel(0).ring()
    run(t)


def test_board_and_line_simulator_in_two_processes(tmp_path):
    """The virtual cable: the exchange and its callers in another process, on the board's clock."""
    import os
    import subprocess
    import sys
    import time

    sock = str(tmp_path / "lines.sock")
    script = tmp_path / "callers.yaml"
    script.write_text("callers:\n  - port: 1\n    caller_id: {number: '95588', format: mdmf}\n"
                      "    steps:\n      - press: '2468#'\n      - hangup\n")
    sim = subprocess.Popen([sys.executable, "-m", "voiceboard", "linesim", "--listen", sock, "--ports", "2",
                            "--script", str(script)], stdout=subprocess.PIPE, text=True,
                           cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.05)

        async def t(board):
            ch = board.channel(1)
            while ch.ring_count < 2:
                await ch.events.get()
            number = ch.caller_id.number
            await ch.answer()
            r = await ch.collect(max_digits=8)
            return number, r.digits, r.reason

        assert run(t, f"emu://analog?ports=2&cable={sock}") == ("95588", "2468", "terminator")
        out, _ = sim.communicate(timeout=20)
        assert sim.returncode == 0 and "caller: presses 2468#" in out
    finally:
        sim.kill()


def test_hook_flash_keeps_the_call_and_reaches_the_exchange():
    async def t(board):
        ch, port = await answered_call(board)
        await ch.flash()
        await asyncio.sleep(0.1)
        assert port.flashes == 1 and port.state.value == "connected" and ch.state is ChannelState.CONNECTED
        await ch.hangup()
        await port.wait_idle(timeout=3)                 # a real hangup still clears the line
    run(t)


def test_unread_events_keep_the_newest_and_count_the_rest():
    async def t(board):
        ch, port = await answered_call(board)
        for _ in range(300):
            ch._emit("digit", "1")
        assert ch.events.qsize() == 256 and ch.events_dropped >= 300 - 256
    run(t)


def test_every_call_on_a_port_gets_its_own_caller_id():
    async def t(board):
        numbers = []
        for number in ("88000001", "88000002", "88000003"):
            cid = callerid.CallerId(number=number, date="11252200", format="mdmf")
            ch, port = await answered_call(board, cid=cid, rings=2)
            numbers.append(ch.caller_id.number)
            await ch.hangup()
            await port.wait_idle(timeout=5)
        assert numbers == ["88000001", "88000002", "88000003"]
    run(t)


def test_collect_timeouts_after_odd_virtual_times_do_not_spin():
    """A timer remainder below the clock's resolution counts as expired (it once spun)."""
    async def t(board):
        ch, _ = await answered_call(board)
        for _ in range(30):                             # reached a spinning remainder by the 13th
            await asyncio.sleep(0.37)
            r = await ch.collect(max_digits=1, first_timeout=5.0)
            assert r.reason == "first_timeout"
    run(t)
