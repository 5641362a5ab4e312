"""The simulated exchange at the far end of the emulated E1 board's spans, and the people on
its channels.

It speaks the board's protocol over the framed stream (drivers/e1line.py): its own framer,
its own R2 state machines (the forward end when it places a call to the board: seize, MFC-R2
DNIS/KA/ANI/KD, wait for answer, clear-forward; the backward end for calls the board places),
and its own media engine (a :class:`voiceboard.dsp.Board` of all its channels), so a caller
presses keys as DTMF audio into the bearer and hears the board's prompts from the bearer,
exactly as :class:`drivers.linesim.ExchangePort` does on an analog line.

Faults are injected on the exchange-to-board direction of a span: bit errors at a rate, frame
slips, loss of signal, AIS, and the remote alarm (RAI: the exchange's A bit).
"""
import asyncio
import dataclasses
import enum
import numpy as np

from drivers import e1line
from voiceboard import dsp

CHANNELS = e1line.CHANNELS


class CallEnded(Exception):
    """The board ended the call while a caller was waiting for something."""


class PortState(enum.Enum):
    IDLE = "idle"
    CALLING = "calling"             # seized the board's channel; register phase / ringing
    CONNECTED = "connected"
    CLEARING = "clearing"
    INCOMING = "incoming"           # the board called us


@dataclasses.dataclass
class Destination:
    """What happens when the board dials a number: "answer" after ``answer_after`` seconds
    (then ``greeting`` is played, int16 samples), "busy", "no_answer"."""
    outcome: str = "answer"
    answer_after: float = 2.0
    greeting: object = None


class E1ExchangePort:
    """One channel of the exchange, and the API a simulated person uses on it."""

    def __init__(self, exchange, number):
        self.exchange = exchange
        self.number = number                    # 0-based over all spans
        self.span = number // CHANNELS
        self.state = PortState.IDLE
        self.heard = []
        self.dialled = ""                       # DNIS of the board's last outgoing call
        self.calling_ani = ""
        self._result = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._prompt_waiters = {}
        self._answer_at = None
        self._greeting = None

    def __repr__(self):
        return f"<E1ExchangePort {self.number} {self.state.value}>"

    @property
    def sm(self):
        return self.exchange.spans[self.span].ports[self.number % CHANNELS].sm

    # --- what a caller does -------------------------------------------------------------------

    async def call(self, dnis, ani="", timeout=60.0):
        """Seize the board's channel and send DNIS and ANI by MFC-R2; True once the board
        answers, or the failure ("busy", "congestion", "no_answer", "blocked", ...)."""
        if self.state is not PortState.IDLE:
            raise RuntimeError(f"E1 port {self.number}: call() while {self.state.value}")
        loop = asyncio.get_running_loop()
        self._result = loop.create_future()
        if not self.sm.dial(dnis, ani, loop.time()):
            self._result = None
            return "blocked"
        self._set(PortState.CALLING)
        return await asyncio.wait_for(self._result, timeout)

    async def press(self, digits, level_dbm0=-10.0, twist_db=0.0, on_ms=80, off_ms=80, noise_dbm0=None):
        """Press keys: DTMF audio into the bearer (A-law on the span); waits until sent."""
        audio = dsp.dtmf_samples(digits, level_dbm0=level_dbm0, twist_db=twist_db, on_ms=on_ms, off_ms=off_ms)
        await self.send(audio, noise_dbm0=noise_dbm0)

    async def send(self, samples, noise_dbm0=None):
        """Send audio (int16 at 8 kHz, or a WAV path) to the board; waits until it is out."""
        self._require_connected("send")
        if not isinstance(samples, np.ndarray):
            from voiceboard.audio import read_audio
            samples, _ = read_audio(samples)
        if noise_dbm0 is not None:
            noise = self.exchange.rng.standard_normal(samples.size) * 16141.0 * 10 ** (noise_dbm0 / 20)
            samples = np.clip(np.round(samples + noise), -32768, 32767).astype(np.int16)
        done = asyncio.get_running_loop().create_future()
        pid = self.exchange.engine.play(self.number, samples)
        self._prompt_waiters[pid] = done
        await self._until(done)

    async def listen(self, seconds):
        """Hear the board for ``seconds``; return what was heard (int16)."""
        self._require_connected("listen")
        engine = self.exchange.engine
        engine.take_recording(self.number)
        engine.start_record(self.number, int((seconds + 1) * dsp.SAMPLE_RATE))
        try:
            await self._until(asyncio.ensure_future(asyncio.sleep(seconds)), allow_end=True)
        finally:
            engine.stop_record(self.number)
        heard = engine.take_recording(self.number)
        self.heard.append(heard)
        return heard

    async def wait_for(self, kinds=("silence",), timeout=30.0, **cpd_options):
        """Listen until the call-progress detector reports one of ``kinds``; that name, or
        None on timeout."""
        self._require_connected("wait_for")
        detector = dsp.CallProgressDetector(self.exchange.region, **cpd_options)
        engine = self.exchange.engine
        engine.take_recording(self.number)
        engine.start_record(self.number, int(2 * dsp.SAMPLE_RATE))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while loop.time() < deadline:
                await self._until(asyncio.ensure_future(asyncio.sleep(self.exchange.tick_s)), allow_end=True)
                for ev in detector.feed(engine.take_recording(self.number)):
                    name = ev.tone if ev.kind == "tone" else ev.kind
                    if name in kinds:
                        return name
                if self.state is not PortState.CONNECTED:
                    raise CallEnded(f"E1 port {self.number}: the board hung up")
            return None
        finally:
            engine.stop_record(self.number)
            detector.close()

    async def hangup(self):
        """Hang up: clear-forward (our call) or clear-back (the board's call)."""
        if self.state in (PortState.CONNECTED, PortState.CALLING, PortState.INCOMING):
            self.exchange.engine.stop_play(self.number)
            self.sm.hangup(asyncio.get_running_loop().time())
            self._set(PortState.CLEARING)

    async def wait_idle(self, timeout=None):
        """Wait until the line is idle again (released both ways)."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    # --- helpers --------------------------------------------------------------------------------

    def _require_connected(self, what):
        if self.state is not PortState.CONNECTED:
            raise CallEnded(f"E1 port {self.number}: {what}() on a line that is {self.state.value}")

    async def _until(self, awaitable, allow_end=False):
        idle = asyncio.ensure_future(self._idle.wait())
        try:
            done, _ = await asyncio.wait({awaitable, idle}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            idle.cancel()
        if awaitable not in done:
            awaitable.cancel()
            if not allow_end:
                raise CallEnded(f"E1 port {self.number}: the board hung up")

    def _set(self, state):
        self.state = state
        if state is PortState.IDLE:
            self._idle.set()
        else:
            self._idle.clear()

    def _finish(self, value):
        if self._result is not None and not self._result.done():
            self._result.set_result(value)

    def _event(self, name, data, now):
        """An event of this channel's R2 state machine."""
        if name == "answered":
            self._set(PortState.CONNECTED)
            self._finish(True)
        elif name == "dial_failed":
            self._finish(data)
        elif name in ("clear_back", "released"):
            # The board hung up: the line is cleared (clear-forward goes out by itself).
            self.exchange.engine.stop_play(self.number)
            self._finish("released")
            self._set(PortState.CLEARING)
        elif name == "offered":
            # The board calls us: route by the directory.
            self.dialled, self.calling_ani = data["dnis"], data["ani"]
            dest = self.exchange.directory.get(data["dnis"], Destination("no_answer"))
            self._set(PortState.INCOMING)
            self._answer_at = now + dest.answer_after if dest.outcome == "answer" else None
            self._greeting = dest.greeting
        elif name in ("clear_forward", "abandoned"):
            self.exchange.engine.stop_play(self.number)
            self._set(PortState.CLEARING)
        elif name == "idle":
            self._answer_at = None
            self._finish("released")
            self._set(PortState.IDLE)

    def _poll(self, now):
        if self._answer_at is not None and now >= self._answer_at and self.state is PortState.INCOMING:
            self._answer_at = None
            self.sm.answer(now)
            self._set(PortState.CONNECTED)
            if self._greeting is not None:
                self.exchange.engine.play(self.number, self._greeting)

    def _prompt_done(self, prompt):
        done = self._prompt_waiters.pop(prompt, None)
        if done is not None and not done.done():
            done.set_result(None)


class E1Exchange:
    """The far end of ``len(links)`` spans.

    Parameters
    ----------
    links : list of (to_board, from_board) pipes, one pair per span
    r2config : voiceboard.r2.R2Config
    framer : dict
        E1Framer settings.
    directory : dict
        DNIS -> :class:`Destination` for calls the board places; a DNIS not listed rings
        without answer; a busy destination gets group B busy.
    region : str
        Tone table for the callers' call-progress detector.
    """

    def __init__(self, links, r2config, framer=None, directory=None, region="cn", seed=0, tick=160):
        self.links = links
        self.tick_frames = tick
        self.tick_s = tick / dsp.SAMPLE_RATE
        self.region = region
        self.directory = dict(directory or {})
        self.rng = np.random.default_rng(seed)
        self.spans = [e1line.SpanEnd(r2config, framer, accept=self._accept, tick=tick) for _ in links]
        self.faults = [e1line.Faults(seed + s) for s in range(len(links))]
        for (to_board, _), faults in zip(links, self.faults):
            to_board.faults = faults
        channels = CHANNELS * len(links)
        self.engine = dsp.Board(channels, tick=tick)
        self.ports = [E1ExchangePort(self, i) for i in range(channels)]
        self._rx = np.zeros((channels, tick), dtype=np.int16)
        self._tx = np.zeros((channels, tick), dtype=np.int16)
        self.now = 0.0

    def _accept(self, channel, dnis, ani):
        dest = self.directory.get(dnis)
        return dest is None or dest.outcome != "busy"

    def close(self):
        for s in self.spans:
            s.close()
        self.engine.close()

    def set_rai(self, span, on):
        """Send the remote alarm indication (A bit) towards the board on a span."""
        self.spans[span].framer.set_rai(on)

    def tick(self, now):
        """One tick of every span: take what the board sent, answer it."""
        self.now = now
        for s, (span, (to_board, from_board)) in enumerate(zip(self.spans, self.links)):
            span.receive(from_board.read(self.tick_frames), now)
            self._rx[s * CHANNELS:(s + 1) * CHANNELS] = span.rx
        self.engine.tick(self._rx, out=self._tx)
        for ev in self.engine.events():
            if ev.kind == "play_done":
                self.ports[ev.channel]._prompt_done(ev.prompt)
        for s, (span, (to_board, _)) in enumerate(zip(self.spans, self.links)):
            to_board.write(span.transmit(self._tx[s * CHANNELS:(s + 1) * CHANNELS], now))
            for c, r2port in enumerate(span.ports):
                port = self.ports[s * CHANNELS + c]
                for name, data in r2port.sm.take_events():
                    port._event(name, data, now)
                port._poll(now)
