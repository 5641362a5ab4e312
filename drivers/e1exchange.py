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
from drivers.subscriber import CallEnded, Subscriber  # noqa: F401  (CallEnded: part of this API)
from voiceboard import dsp

CHANNELS = e1line.CHANNELS


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


class E1ExchangePort(Subscriber):
    """One channel of the exchange, and the API a simulated person uses on it."""

    IDLE = PortState.IDLE
    CONNECTED = PortState.CONNECTED
    LABEL = "E1 port"

    def __init__(self, exchange, number):
        super().__init__(exchange, number)      # number: 0-based over all spans
        self.span = number // CHANNELS
        self.dialled = ""                       # DNIS of the board's last outgoing call
        self.calling_ani = ""
        self._result = None
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
        async with asyncio.timeout(timeout):
            return await self._result

    async def hangup(self):
        """Hang up: clear-forward (our call) or clear-back (the board's call)."""
        if self.state in (PortState.CONNECTED, PortState.CALLING, PortState.INCOMING):
            self.exchange.engine.stop_play(self.number)
            self.sm.hangup(asyncio.get_running_loop().time())
            self._set(PortState.CLEARING)

    # --- helpers --------------------------------------------------------------------------------

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
