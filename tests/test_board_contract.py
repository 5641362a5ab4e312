"""The backend contract: what the IVR relies on, run against every backend.

A backend joins by registering a far-end factory in FAR_ENDS: given an opened board and a
channel number it returns the object at the other end of that line, with the coroutines
``call()`` (offer a call to the board; returns once answered), ``press(digits, ...)``,
``send(samples)``, ``listen(seconds)`` and ``hangup()``. drivers.linesim.ExchangePort is the
model. Tests run on virtual time unless the backend needs the wall clock (REAL_TIME).

Backends here: the emulated analog board (two configurations), the emulated E1 span, a sound
card in a private PulseAudio loop, and a voice modem on the pty emulator (both chipset
profiles) -- each through its real stack.
"""
import asyncio

import numpy as np
import pytest

import drivers
from voiceboard import clock, dsp
from voiceboard.errors import ChannelStateError
from voiceboard.states import ChannelState

class _E1Caller:
    """A caller on the E1 exchange: call() seizes the channel and sends DNIS and ANI by
    MFC-R2, trying again while the channel is blocked (the span aligns in about 1.3 s)."""

    def __init__(self, port):
        self.port = port

    async def call(self):
        while True:
            result = await self.port.call("95588", "13800138000")
            if result != "blocked":
                return result
            await asyncio.sleep(0.1)

    def __getattr__(self, name):
        return getattr(self.port, name)


class _SoundCaller:
    """The far end of a sound card in the PulseAudio loop (tests/pulse.py): the caller's voice
    and keys are pacat processes playing into the null sink, what the board plays comes back
    through the sink's monitor, and a call is offered and ended by the board's own offer() /
    release() (a sound card has no signalling)."""

    def __init__(self, board, n):
        self.board, self.n = board, n

    async def call(self):
        ch = self.board.channel(self.n)
        if ch.state is ChannelState.IDLE:
            self.board.offer(self.n)
        while ch.state is not ChannelState.CONNECTED:
            await asyncio.sleep(0.02)
        return True

    async def send(self, samples):
        import subprocess
        proc = await asyncio.create_subprocess_exec(
            "pacat", "--playback", "--raw", "--format=s16le", "--rate=8000", "--channels=1",
            "--latency-msec=20", stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
        await proc.communicate(np.asarray(samples, dtype="<i2").tobytes())

    async def press(self, digits, on_ms=80, off_ms=80):
        await self.send(dsp.dtmf_samples(digits, on_ms=on_ms, off_ms=off_ms))

    async def listen(self, seconds):
        self.board.tap_start(self.n)
        await asyncio.sleep(seconds)
        heard = self.board.tap_take(self.n)
        self.board.tap_stop(self.n)
        return heard

    async def hangup(self):
        self.board.release(self.n)


FAR_ENDS = {
    "emu://analog?ports=2": lambda board, n: board.exchange.ports[n],
    "emu://analog?ports=2&dtmf_mode=strict&disconnect=busy": lambda board, n: board.exchange.ports[n],
    "emu://e1?spans=1&max_dnis=5": lambda board, n: _E1Caller(board.exchange.ports[n]),
    "sound://pulse?offer=manual": _SoundCaller,
    # The pty modem emulator (drivers/modem_emulator.py); {port} is its pty's path.
    "modem://{port}?profile=conexant": lambda board, n: board.far_end,
    "modem://{port}?profile=usr": lambda board, n: board.far_end,
}
REAL_TIME = {"sound://pulse?offer=manual", "modem://{port}?profile=conexant", "modem://{port}?profile=usr"}

BACKENDS = pytest.mark.parametrize("url", list(FAR_ENDS))


@pytest.fixture(autouse=True)
def _sound_loop(request, tmp_path_factory):
    """A private PulseAudio server with a null sink for the sound:// case."""
    url = request.node.callspec.params.get("url", "") if hasattr(request.node, "callspec") else ""
    if not url.startswith("sound://"):
        yield
        return
    from pulse import PulseServer
    with PulseServer(tmp_path_factory.mktemp("pulse")):
        yield


def run(url, test):
    async def main():
        if url.startswith("modem://"):
            from drivers.modem_emulator import ModemEmulator
            profile = url.rsplit("=", 1)[1]
            with ModemEmulator(profile, ring_period=0.4, cid_delay=0.1) as emulator:
                async with drivers.open_board(url.format(port=emulator.port)) as board:
                    board.far_end = emulator
                    return await asyncio.wait_for(test(board, lambda n: FAR_ENDS[url](board, n)), 30)
        async with drivers.open_board(url) as board:
            return await asyncio.wait_for(test(board, lambda n: FAR_ENDS[url](board, n)), 120)
    return clock.run(main(), virtual=url not in REAL_TIME)


async def connect(board, far, n=0):
    """Offer a call on channel n from the far end and answer it."""
    ch = board.channel(n)
    caller = far(n)
    calling = asyncio.ensure_future(caller.call())
    while ch.state is not ChannelState.RINGING:
        await ch.events.get()
    await ch.answer()
    await calling
    return ch, caller


def tone(seconds, hz, dbm0=-15.0):
    t = np.arange(int(seconds * dsp.SAMPLE_RATE)) / dsp.SAMPLE_RATE
    return np.round(16141 * np.sqrt(2) * 10 ** (dbm0 / 20) * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def peak_hz(samples):
    spectrum = np.abs(np.fft.rfft(samples.astype(float)))
    return np.argmax(spectrum) * dsp.SAMPLE_RATE / samples.size


@BACKENDS
def test_capabilities_describe_the_board(url):
    async def t(board, far):
        caps = board.capabilities
        assert caps.channels == len(board.channels) >= 1
        assert caps.signalling in ("analog", "e1-cas", "sound", "modem")
    run(url, t)


@BACKENDS
def test_answer_play_and_the_far_end_hears_it(url):
    async def t(board, far):
        ch, caller = await connect(board, far)
        hearing = asyncio.ensure_future(caller.listen(1.2))
        assert (await ch.play(tone(1.0, 800.0))).reason == "end"
        assert abs(peak_hz(await hearing) - 800.0) < 10
    run(url, t)


@BACKENDS
def test_keys_reach_collect_through_the_dtmf_receiver(url):
    async def t(board, far):
        ch, caller = await connect(board, far)
        asyncio.ensure_future(caller.press("2580#"))
        r = await ch.collect(max_digits=10, first_timeout=5.0)
        assert (r.digits, r.reason) == ("2580", "terminator")
    run(url, t)


@BACKENDS
def test_barge_in_where_the_backend_hears_while_it_plays(url):
    async def t(board, far):
        ch, caller = await connect(board, far)
        if not board.capabilities.full_duplex:
            return
        async def press_later():
            await asyncio.sleep(0.5)
            await caller.press("9")
        asyncio.ensure_future(press_later())
        result = await ch.play(tone(5.0, 500.0), barge_in="9")
        assert (result.reason, result.digit) == ("barge_in", "9")
    run(url, t)


@BACKENDS
def test_record_keeps_what_the_far_end_says(url, tmp_path):
    async def t(board, far):
        ch, caller = await connect(board, far)
        async def speak():
            await caller.send(tone(1.0, 600.0, -20.0))
            await caller.press("#")
        asyncio.ensure_future(speak())
        r = await ch.record(tmp_path / "r.wav", max_time=5.0, beep=False)
        assert r.status == "DTMF" and 0.9 < r.duration < 2.0
        from voiceboard.audio import read_audio
        samples, _ = read_audio(tmp_path / "r.wav")
        assert abs(peak_hz(samples[: dsp.SAMPLE_RATE]) - 600.0) < 10
    run(url, t)


@BACKENDS
def test_far_end_hangup_ends_a_collect(url):
    async def t(board, far):
        ch, caller = await connect(board, far)
        async def leave():
            await asyncio.sleep(0.5)
            await caller.hangup()
        asyncio.ensure_future(leave())
        r = await ch.collect(max_digits=4, first_timeout=20.0)
        assert r.reason == "hangup" and ch.state is ChannelState.IDLE
    run(url, t)


@BACKENDS
def test_operations_refused_outside_a_call(url):
    async def t(board, far):
        ch = board.channel(0)
        for op in (lambda: ch.play(tone(0.1, 500.0)), lambda: ch.collect(), lambda: ch.answer()):
            with pytest.raises(ChannelStateError):
                await op()
    run(url, t)


# --- a flow on every backend -------------------------------------------------------------------

MENU_FLOW = """\
flow: contract
lang: en
languages: [en]
prompts:
  menu: "For cards press 2."
  cards: "To report a lost card press 1."
  lost: "Your card is blocked."
nodes:
  menu:
    type: menu
    greeting: menu
    choices: {"2": cards}
    on_noinput_exhausted: done
    on_nomatch_exhausted: done
  cards:
    type: menu
    greeting: cards
    choices: {"1": lost}
    on_noinput_exhausted: done
    on_nomatch_exhausted: done
  lost:
    type: play
    prompts: [lost]
    next: done
  done:
    type: hangup
"""


@BACKENDS
def test_a_flow_runs_on_the_backend(url, tmp_path):
    """The IVR runtime on this backend: a two-level menu walked with real keys."""
    from ivr import loader, simulator
    from ivr.interpreter import Interpreter

    path = tmp_path / "contract.yaml"
    path.write_text(MENU_FLOW)
    flow = loader.load(str(path), capabilities=None)

    async def t(board, far):
        ch, caller = await connect(board, far)

        async def keys():
            # Each key after its prompt has played (TonePrompts: 0.1 s per character), so a
            # half-duplex modem, deaf while it plays, hears them too.
            for key, after in (("2", 2.5), ("1", 3.8)):
                await asyncio.sleep(after)
                await caller.press(key)

        asyncio.ensure_future(keys())
        record = await Interpreter(flow, simulator.TonePrompts(flow).load).run(ch)
        return record["path"], [k["keys"] for k in record["keys"]]

    path_taken, keys = run(url, t)
    assert path_taken[:4] == ["menu", "cards", "lost", "done"] and keys == ["2", "1"]
