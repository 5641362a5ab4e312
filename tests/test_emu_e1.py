"""The emulated E1 board (emu://e1) against the simulated exchange, in virtual time. All the
exchange does reaches the board as frames: ABCD bits, MFC-R2 tones and DTMF in the bearer,
line faults in the octets."""
import asyncio

import numpy as np
import pytest

import drivers
from drivers import e1line
from drivers.e1exchange import Destination
from voiceboard import clock, dsp
from voiceboard.errors import ConfigError
from voiceboard.states import ChannelState

UP_S = 1.3          # frame alignment, then recovery_ms (1 s) clean before channels serve


def run(test, url="emu://e1?spans=1&max_dnis=4", **options):
    async def main():
        async with drivers.open_board(url, **options) as board:
            await asyncio.sleep(UP_S)
            return await asyncio.wait_for(test(board), 600)
    return clock.run(main())


async def offered(board, n, dnis="8001", ani="13800138000"):
    """The exchange calls channel n; returns (channel, port, call task) once it rings."""
    ch, port = board.channel(n), board.exchange.ports[n]
    call = asyncio.ensure_future(port.call(dnis, ani))
    while ch.state is not ChannelState.RINGING:
        await asyncio.sleep(0.02)
        assert not call.done(), call.result()
    return ch, port, call


async def connected(board, n, **kw):
    ch, port, call = await offered(board, n, **kw)
    await ch.answer()
    assert await call is True
    return ch, port


def kinds(ch):
    out = []
    while not ch.events.empty():
        out.append(ch.events.get_nowait().kind)
    return out


def tone(seconds, hz, dbm0=-12.0):
    t = np.arange(int(seconds * dsp.SAMPLE_RATE)) / dsp.SAMPLE_RATE
    return np.round(16141 * np.sqrt(2) * 10 ** (dbm0 / 20) * np.sin(2 * np.pi * hz * t)).astype(np.int16)


async def until(pred, timeout=10.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.02)


def test_capabilities_and_channel_count():
    async def t(board):
        cap = board.capabilities
        assert cap.channels == 60 and cap.signalling == "e1-cas" and cap.caller_id
        assert all(ch.state is ChannelState.IDLE for ch in board.channels)
        st = board.span_status(1)
        assert st["frame_aligned"] and st["crc4_aligned"] and st["cas_aligned"] and not st["alarms"]
        assert st["abcd_rx"] == [0b1011] * 30 and st["abcd_tx"] == [0b1011] * 30
    run(t, "emu://e1?spans=2")


def test_incoming_call_offers_dnis_and_ani_then_answer():
    async def t(board):
        ch, port, call = await offered(board, 5)
        assert ch.dnis == "8001" and ch.ani == "13800138000"
        assert board.span_status(0)["abcd_rx"][5] == 0b0011          # seized
        await ch.answer()
        assert await call is True
        await asyncio.sleep(0.2)
        assert board.exchange.spans[0].framer.status()["abcd"][5] == 0b0111   # answer
        assert ch.state is ChannelState.CONNECTED
    run(t)


def test_china_dnis_ends_by_timeout_without_max_dnis():
    async def t(board):
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        ch, port, call = await offered(board, 0, dnis="95555", ani="021")
        assert ch.dnis == "95555" and ch.ani == "021"
        assert loop.time() - t0 > 2.0                  # mf_back_cycle
    run(t, "emu://e1")


def test_dtmf_from_the_caller_and_prompts_to_the_caller():
    async def t(board):
        ch, port = await connected(board, 17)
        collect = asyncio.ensure_future(ch.collect(max_digits=6, terminators="#"))
        await port.press("12*9#")
        assert (await collect).digits == "12*9"
        listen = asyncio.ensure_future(port.listen(1.0))
        result = await ch.play(tone(0.6, 1000.0))
        heard = (await listen).astype(np.float64)
        assert result.reason == "end"
        spectrum = np.abs(np.fft.rfft(heard))
        assert abs(np.argmax(spectrum) * dsp.SAMPLE_RATE / heard.size - 1000.0) < 3
    run(t)


def test_far_end_clears_first():
    async def t(board):
        ch, port = await connected(board, 2)
        await port.hangup()                         # clear-forward
        await until(lambda: ch.state is ChannelState.IDLE)
        assert "remote_hangup" in kinds(ch)
        await port.wait_idle(2)                     # release guard came back
    run(t)


def test_board_clears_first():
    async def t(board):
        ch, port = await connected(board, 3)
        await ch.hangup()                           # clear-back
        assert ch.state is ChannelState.IDLE
        await port.wait_idle(2)                     # exchange cleared forward, guard, idle
        # The channel takes a new call afterwards.
        ch2, port2, call = await offered(board, 3, dnis="1234", ani="5")
        assert ch2.dnis == "1234"
    run(t)


def test_caller_gives_up_while_ringing():
    async def t(board):
        ch, port, call = await offered(board, 4)
        await port.hangup()
        await until(lambda: ch.state is ChannelState.IDLE)
        await port.wait_idle(2)
    run(t)


def test_busy_called_party_gets_group_b_busy():
    async def t(board):
        board.accept = lambda ch, dnis, ani: dnis != "4444"
        ch, port = board.channel(6), board.exchange.ports[6]
        assert await port.call("4444", "1") == "busy"
        assert ch.state is ChannelState.IDLE
        await port.wait_idle(3)
    run(t)


def test_outgoing_call_answered_busy_and_unanswered():
    async def t(board):
        greeting = tone(1.0, 700.0)
        board.exchange.directory.update({"8801": Destination("answer", 1.0, greeting),
                                         "8802": Destination("busy")})
        ch = board.channel(9)
        result = await ch.dial("8801")
        assert result.outcome == "answered" and ch.state is ChannelState.CONNECTED
        port = board.exchange.ports[9]
        assert port.dialled == "8801" and port.calling_ani == "6655"
        await ch.hangup()
        await port.wait_idle(5)
        assert (await ch.dial("8802")).outcome == "busy"
        await until(lambda: board._sm(9).state.name == "IDLE")
        assert (await ch.dial("8803", answer_timeout=3)).outcome == "no_answer"
        with pytest.raises(ValueError, match="digits 0-9"):
            await board.channel(10).dial("12*")
    run(t, "emu://e1?max_dnis=4&ani=6655")


@pytest.mark.parametrize("fault,alarm", [("los", "los"), ("ais", "ais"), ("rai", "rai")])
def test_alarm_clears_calls_and_recovery_returns_channels(fault, alarm):
    async def t(board):
        ch, port = await connected(board, 1)
        other, other_port = await connected(board, 31)          # on span 1
        ex = board.exchange
        if fault == "rai":
            ex.set_rai(0, True)
        else:
            setattr(ex.faults[0], fault, True)
        await until(lambda: ch.state is ChannelState.OUT_OF_SERVICE, 1.0)
        assert board.span_alarm(0) == alarm
        assert all(c.state is ChannelState.OUT_OF_SERVICE for c in board.channels[:30])
        evs = []
        while not ch.events.empty():
            evs.append(ch.events.get_nowait())
        assert any(e.kind == "alarm" and e.data == alarm for e in evs)
        # The other span carries on.
        assert other.state is ChannelState.CONNECTED and not board.span_status(1)["alarms"]
        if fault == "rai":
            ex.set_rai(0, False)
        else:
            setattr(ex.faults[0], fault, False)
        await until(lambda: ch.state is ChannelState.IDLE, 3.0)
        assert all(c.state is ChannelState.IDLE for c in board.channels[:30])
        await port.wait_idle(5)
        ch, port, call = await offered(board, 1, dnis="7777")
        assert ch.dnis == "7777"
    run(t, "emu://e1?spans=2&max_dnis=4")


def test_alarm_releases_an_outgoing_call_by_the_protocol():
    async def t(board):
        board.exchange.directory["8801"] = Destination("answer", 0.5)
        ch, port = board.channel(2), board.exchange.ports[2]
        assert (await ch.dial("8801")).outcome == "answered"
        board.exchange.set_rai(0, True)
        await until(lambda: ch.state is ChannelState.OUT_OF_SERVICE, 1.0)
        await port.wait_idle(5)                        # clear-forward, release guard
        await asyncio.sleep(0.2)
        assert board.exchange.spans[0].framer.status()["abcd"][2] == 0b1111      # then blocked
        board.exchange.set_rai(0, False)
        await until(lambda: ch.state is ChannelState.IDLE, 3.0)
    run(t)


def test_blocking_a_channel_blocks_its_line():
    async def t(board):
        ch, port = board.channel(11), board.exchange.ports[11]
        await ch.block()
        await asyncio.sleep(0.2)
        assert await port.call("8001", "1") == "blocked"
        await ch.unblock()
        await asyncio.sleep(0.2)
        ch, port, call = await offered(board, 11)
        assert ch.dnis == "8001"
    run(t)


def test_bit_errors_and_slips_are_counted_and_calls_survive():
    async def t(board):
        ch, port = await connected(board, 8)
        faults = board.exchange.faults[0]
        faults.ber = 1e-5
        await asyncio.sleep(2.0)
        faults.ber = 0.0
        faults.slip(1)
        await asyncio.sleep(0.1)
        faults.slip(-1)
        await asyncio.sleep(0.5)
        st = board.span_status(0)
        assert st["crc_errors"] > 10 and st["crc_errors"] <= faults.bit_errors
        far = board.exchange.spans[0].framer.stats()
        assert far["ebit_errors"] >= st["crc_errors"] - 2        # our E bits told the exchange
        assert faults.slips == 2 and st["frame_losses"] >= 1
        assert ch.state is ChannelState.CONNECTED and board.channel(0).state is ChannelState.IDLE
        collect = asyncio.ensure_future(ch.collect(max_digits=3))
        await port.press("789")
        assert (await collect).digits == "789"
    run(t)


def test_thirty_simultaneous_calls_on_one_span():
    async def t(board):
        calls = [asyncio.ensure_future(offered(board, n, dnis=f"80{n:02d}", ani=f"1390000{n:04d}"))
                 for n in range(30)]
        got = await asyncio.gather(*calls)
        for n, (ch, port, call) in enumerate(got):
            assert ch.dnis == f"80{n:02d}" and ch.ani == f"1390000{n:04d}"
            await ch.answer()
        assert all([await call for _, _, call in got])
        collects = [asyncio.ensure_future(ch.collect(max_digits=2)) for ch, _, _ in got]
        await asyncio.gather(*[port.press(f"{n % 10}{(n * 7) % 10}") for n, (_, port, _) in enumerate(got)])
        for n, c in enumerate(collects):
            assert (await c).digits == f"{n % 10}{(n * 7) % 10}"
        await asyncio.gather(*[port.hangup() for _, port, _ in got])
        await until(lambda: all(ch.state is ChannelState.IDLE for ch in board.channels))
        assert board.span_status(0)["slips"] == 0
    run(t)


def test_socket_link_carries_a_call():
    async def t(board):
        ch, port = await connected(board, 12)
        collect = asyncio.ensure_future(ch.collect(max_digits=1))
        await port.press("5")
        assert (await collect).digits == "5"
    run(t, "emu://e1?link=socket&max_dnis=4")


def test_a_slow_reader_slips_instead_of_buffering():
    pipe = e1line.FramePipe(capacity=320)
    frames = np.arange(32 * 1000, dtype=np.uint32).astype(np.uint8)
    for _ in range(5):
        pipe.write(frames[:160 * 32])
    assert pipe.fill == 320 and pipe.slips == 480             # 3 ticks deleted
    pipe.read(320)
    out = pipe.read(160)                                      # nothing stored: the last frame repeated
    assert pipe.slips == 640 and np.array_equal(out[:32], out[-32:])
    a, b = e1line.socket_link(capacity=320)
    for _ in range(5):
        a.write(frames[:160 * 32])
    assert b.read(160).size == 160 * 32 and b.fill <= 320 and b.slips >= 480
    a.close()
    b.close()


@pytest.mark.parametrize("url,message", [
    ("emu://e1?spans=9", "spans must be 1 to 8"), ("emu://e1?variant=mars", "variant"),
    ("emu://e1?crc4=maybe", "crc4"), ("emu://e1?ani=12a", "ani must be digits"),
    ("emu://e1?r2_seize=x", "bad value 'x' for r2_seize"), ("emu://e1?colour=red", "unknown option"),
])
def test_bad_board_urls(url, message):
    with pytest.raises(ConfigError, match=message):
        drivers.open_board(url)


# --- voiceboard e1 (the CLI module, driven through its own parser) ------------------------------

def cli(argv):
    import argparse
    from voiceboard.cli import e1 as cli_e1
    parser = argparse.ArgumentParser(prog="voiceboard")
    cli_e1.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["e1"] + argv)
    return args.func(args)


def test_cli_capture_writes_the_frames_of_a_call(tmp_path):
    out = tmp_path / "call.e1"
    assert cli(["capture", "--frames", "64000", "-o", str(out)]) == 0
    data = np.fromfile(out, dtype=np.uint8)
    assert data.size == 64000 * 32
    # Decode the file with a fresh receiver: channel 1's ABCD and the MFC-R2 digits in TS1.
    framer = dsp.E1Framer()
    abcd, signals_heard = [], []
    with dsp.R2MFDetector("forward") as det:
        for k in range(0, data.size, 160 * 32):
            bearer = framer.receive(data[k:k + 160 * 32])
            a = framer.status()["abcd"][0]
            if a and (not abcd or abcd[-1] != a):
                abcd.append(a)
            s = det.feed(dsp.alaw2lin(bearer[0]))
            if s and (not signals_heard or signals_heard[-1] != s):
                signals_heard.append(s)
            elif not s and signals_heard and signals_heard[-1] != 0:
                signals_heard.append(0)
    assert abcd == [0b1011, 0b0011, 0b1011]                # idle, seize ... clear-forward
    sent = [s for s in signals_heard if s]
    # DNIS 8001 (digit 0 = signal 10), then KA 1, ANI 13800138000, I-15, KD 3.
    assert sent == [8, 10, 10, 1, 1, 1, 3, 8, 10, 10, 1, 3, 8, 10, 10, 10, 15, 3]


def test_cli_status_and_script_errors(capsys):
    assert cli(["status", "--seconds", "2", "--fault", "rai"]) == 0
    out = capsys.readouterr().out
    assert "span 0: OUT OF SERVICE" in out and "alarms: RAI" in out
    with pytest.raises(ConfigError, match="step 2: unknown step 'dance'"):
        cli(["capture", "--frames", "10", "-o", "/dev/null", "--script", "call 1; dance"])
    with pytest.raises(ConfigError, match="--frames"):
        cli(["capture", "--frames", "0", "-o", "/dev/null"])


CHILD = r"""
import socket, sys
import numpy as np
from drivers import e1line
from voiceboard.r2 import R2Config

# The far end in its own process, paced by the frames that arrive: it places one call.
pipe = e1line.SocketPipe(socket.socket(fileno=int(sys.argv[1])))
end = e1line.SpanEnd(R2Config())
silence = np.zeros((30, 160), dtype=np.int16)
t = 0
while pipe.wait(160, 5.0):
    now = t * 0.02
    end.receive(pipe.read(160), now)
    if t == 20:
        assert end.ports[6].sm.dial("8001", "13800138000", now)
    pipe.write(end.transmit(silence.copy(), now))
    for name, data in end.ports[6].sm.take_events():
        print(name, flush=True)
    t += 1
"""


def test_two_processes_over_a_unix_socket():
    import os
    import subprocess
    import sys
    from voiceboard.r2 import R2Config
    a, b = e1line.socket_link()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(b.sock.fileno())], pass_fds=[b.sock.fileno()],
                             cwd=root, stdout=subprocess.PIPE, text=True)
    b.close()
    try:
        end = e1line.SpanEnd(R2Config(max_dnis=4))
        silence = np.zeros((30, 160), dtype=np.int16)
        offered = None
        for t in range(400):
            now = t * 0.02
            a.write(end.transmit(silence.copy(), now))
            assert a.wait(160, 10.0)
            end.receive(a.read(160), now)
            for name, data in end.ports[6].sm.take_events():
                if name == "offered":
                    offered = data
                    end.ports[6].sm.answer(now)
            if offered and t > 300:
                break
        assert offered == {"dnis": "8001", "ani": "13800138000", "category": 1, "kd": 3}
        st = end.framer.status()
        assert st["frame_aligned"] and st["crc4_aligned"] and not st["alarms"] and a.slips == 0
    finally:
        a.close()
        out, _ = child.communicate(timeout=30)
    assert child.returncode == 0 and "answered" in out.split()


def test_cli_monitor_prints_abcd_changes(capsys):
    # Real time, 2.5 s: the span comes up (channels leave the blocked state) at about 1 s.
    assert cli(["monitor", "--seconds", "2.5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["time_s", "span", "ch", "rx", "tx", "state"]
    rows = [line.split() for line in lines[1:]]
    assert {int(r[2]) for r in rows} == set(range(1, 31))
    assert any(r[3] == "1011" and r[4] == "1011" and r[5] == "idle" for r in rows)
    assert all(r[4] in ("1111", "1011", "0111") for r in rows)
