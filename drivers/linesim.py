"""The line simulator: the exchange at the far end of an analog board's lines, and the people
on those lines.

Everything it sends is real signal: ringing voltage in the region's cadence, caller ID as
Bell 202 / V.23 FSK or DTMF between the rings, keys pressed as DTMF audio (level, twist,
timing, noise), speech from files, dial tone, ringback, busy, congestion and SIT from the
region's tone table, and disconnect as an open-switch interval (battery removed) and/or busy
tone. What it hears, it hears through its own media engine (a :class:`voiceboard.dsp.Board`
on the exchange side): the board's prompts, the digits the board dials, and the tones a
caller waits for are all taken from the audio.

The exchange is ticked by the board it faces (in-process) so both ends share one media clock;
callers are coroutines on the same event loop, driven by scripts (:mod:`drivers.scripts`) or by
Python code.
"""
import asyncio
import dataclasses
import enum
import logging

import numpy as np

from voiceboard import callerid, dsp, tones
from drivers.lines import RING_VRMS
from drivers.subscriber import CallEnded, Subscriber  # noqa: F401  (CallEnded: part of this API)

log = logging.getLogger("voiceboard.linesim")

LOOP_SECONDS = 10.0         # length of a rendered loop of a repeating tone
RING_DETECT_V = 40.0        # a phone's ringer answers to more than this (China rings at ~90 Vrms)
CID_LISTEN_S = 6.0          # a phone listens for caller ID from ring 1 to ring 2 (cn: 4 s gap)
RING_GONE_S = 8.0           # no ring for this long: the call to the phone was abandoned
FLASH_MAX_S = 1.25          # longest on-hook break taken as a flash (DAHDI, telephony.md §4.3)
DISCONNECT_KINDS = ("battery", "busy", "congestion", "battery+busy", "battery+congestion")
MAX_TONE_SEGMENTS = 32      # segments one generator tone can hold (VB_TONE_MAX_SEGMENTS)


class PortState(enum.Enum):
    IDLE = "idle"
    RINGING = "ringing"             # ringing the board (an incoming call for it)
    CONNECTED = "connected"
    CLEARING = "clearing"           # the subscriber hung up; waiting for the board to clear
    DIALTONE = "dialtone"           # the board went off-hook to dial
    ROUTING = "routing"             # the board dialled; ringback, busy, ... playing


@dataclasses.dataclass
class Destination:
    """What happens when the board dials a number (the exchange's directory entry).

    outcome: "answer" (after ``answer_after`` seconds of ringback, then ``greeting`` is
    played: int16 samples), "busy", "congestion", "vacant" (SIT), "no_answer" (ringback for
    ever).
    """
    outcome: str = "answer"
    answer_after: float = 4.0
    greeting: object = None


class ExchangePort(Subscriber):
    """One line of the exchange, and the API a simulated person uses on it."""

    IDLE = PortState.IDLE
    CONNECTED = PortState.CONNECTED

    def __init__(self, exchange, number):
        super().__init__(exchange, number)
        self.dialled = ""               # digits the board dialled (outbound calls)
        self.dead = False               # out of order: no dial tone, nothing routed
        self.flashes = 0                # hook flashes the board sent during the call
        self._onhook_ticks = 0
        self._answered = None           # future: the board answered our ring
        self._ring_elapsed = 0
        self._rings = 0
        self._max_rings = 0
        self._cid_signal = None
        self._cid_at = None
        self._loop_tone = None
        self._clear_ticks = 0
        self._route_ticks = 0
        self._destination = None

    def __repr__(self):
        return f"<ExchangePort {self.number} {self.state.value}>"

    # --- what a caller does -----------------------------------------------------------------

    async def call(self, caller_id=None, cid_mode="bell202", max_rings=10, cid_level_dbm0=-14.0):
        """Ring the board's port with an optional caller ID; True once it answers, False if
        ``max_rings`` go by unanswered."""
        if self.state is not PortState.IDLE:
            raise RuntimeError(f"port {self.number}: call() while {self.state.value}")
        ex = self.exchange
        self._answered = asyncio.get_running_loop().create_future()
        self._rings = 0
        self._ring_elapsed = 0
        self._max_rings = max_rings
        self._cid_signal = None
        if caller_id is not None:
            self._cid_signal = callerid.onhook_signal(caller_id, mode=cid_mode, level_dbm0=cid_level_dbm0)
            if cid_mode == "dtmf":
                # DTMF caller ID goes before the first ring (telephony.md §5.3, China optional).
                ex.engine.play(self.number, self._cid_signal)
                self._ring_elapsed = -int(round((self._cid_signal.size / dsp.SAMPLE_RATE + 0.35) / ex.tick_s))
                self._cid_signal = None
        self._set(PortState.RINGING)
        return await self._answered

    async def hangup(self):
        """Hang up: the exchange signals the disconnect to the board (see Exchange)."""
        if self.state in (PortState.RINGING,):
            self._set(PortState.IDLE)
            self.exchange.bank.ring_v[self.number] = 0.0
            return
        if self.state is PortState.CONNECTED:
            self.exchange.engine.stop_play(self.number)
            self._start_clearing()

    # --- helpers ---------------------------------------------------------------------------------

    def _start_clearing(self):
        ex = self.exchange
        self._set(PortState.CLEARING)
        self._clear_ticks = 0
        if "battery" in ex.disconnect:
            ex.bank.battery[self.number] = False
        for tone in ("busy", "congestion"):
            if tone in ex.disconnect:
                self._loop(tone)

    def _loop(self, tone_name):
        """Play a region tone for as long as the state lasts."""
        self.exchange.engine.stop_play(self.number)
        self._loop_tone = tone_name
        self.exchange.engine.play(self.number, self.exchange.tone_loop(tone_name))

    def _stop_loop(self):
        if self._loop_tone is not None:
            self._loop_tone = None
            self.exchange.engine.stop_play(self.number)

    # --- per tick ---------------------------------------------------------------------------------

    def _tick(self, offhook):
        ex = self.exchange
        if self._loop_tone is not None and ex.engine.queued(self.number) < ex.tick_samples * 10:
            ex.engine.play(self.number, ex.tone_loop(self._loop_tone))
        state = self.state
        if state is PortState.IDLE:
            if offhook and not self.dead:
                # The board seized the line to dial: dial tone, then digits.
                self.dialled = ""
                self._set(PortState.DIALTONE)
                self._loop("dial")
                self._route_ticks = 0
        elif state is PortState.RINGING:
            self._ring_tick(offhook)
        elif state is PortState.CONNECTED:
            if offhook:
                if self._onhook_ticks:
                    self.flashes += 1       # a short break of the loop: a hook flash
                self._onhook_ticks = 0
            else:
                self._onhook_ticks += 1
                if self._onhook_ticks * ex.tick_s > FLASH_MAX_S:
                    # On-hook for longer than any flash: the board hung up.
                    ex.engine.stop_play(self.number)
                    self._stop_loop()
                    self._onhook_ticks = 0
                    self._set(PortState.IDLE)
        elif state is PortState.CLEARING:
            self._clear_ticks += 1
            if self._clear_ticks * ex.tick_s >= ex.open_switch_s:
                ex.bank.battery[self.number] = True
            if not offhook or self._clear_ticks * ex.tick_s >= ex.clear_timeout_s:
                ex.bank.battery[self.number] = True
                self._stop_loop()
                self._set(PortState.IDLE)
        elif state in (PortState.DIALTONE, PortState.ROUTING):
            if not offhook:
                self._stop_loop()
                self._set(PortState.IDLE)
            else:
                self._route_tick()

    def _ring_tick(self, offhook):
        ex = self.exchange
        if offhook:
            # Answered: ringing and any caller-ID transmission stop.
            ex.bank.ring_v[self.number] = 0.0
            ex.engine.stop_play(self.number)
            self._set(PortState.CONNECTED)
            if not self._answered.done():
                self._answered.set_result(True)
            return
        on_ms, off_ms = ex.region.ring_cadence_ms[0], ex.region.ring_cadence_ms[1]
        cycle = int(round((on_ms + off_ms) / 1000 / ex.tick_s))
        on_ticks = int(round(on_ms / 1000 / ex.tick_s))
        t = self._ring_elapsed
        self._ring_elapsed += 1
        if t < 0:
            return                          # DTMF caller ID still going, before ring 1
        phase = t % cycle
        ringing = phase < on_ticks
        ex.bank.ring_v[self.number] = RING_VRMS if ringing else 0.0
        if phase == 0:
            self._rings += 1
            if self._rings > self._max_rings:
                ex.bank.ring_v[self.number] = 0.0
                self._set(PortState.IDLE)
                if not self._answered.done():
                    self._answered.set_result(False)
                return
        if self._rings == 1 and self._cid_signal is not None and phase == on_ticks + ex.cid_delay_ticks:
            # FSK caller ID between the first and second ring (GR-30, China: §5.3).
            ex.engine.play(self.number, self._cid_signal)
            self._cid_signal = None

    def _route_tick(self):
        ex = self.exchange
        self._route_ticks += 1
        if self.state is PortState.DIALTONE:
            if self.dialled and self._route_ticks * ex.tick_s >= ex.interdigit_s:
                self._route()
            elif not self.dialled and self._route_ticks * ex.tick_s >= ex.dialtone_timeout_s:
                self._set(PortState.ROUTING)
                self._loop("congestion")
            return
        dest = self._destination
        if dest is not None and dest.outcome == "answer" and self._route_ticks * ex.tick_s >= dest.answer_after:
            self._stop_loop()
            self._set(PortState.CONNECTED)
            if dest.greeting is not None:
                ex.engine.play(self.number, dest.greeting)
            self._destination = None

    def _digit(self, digit):
        if self.state is PortState.DIALTONE:
            if not self.dialled:
                self._stop_loop()
            self.dialled += digit
            self._route_ticks = 0

    def _route(self):
        ex = self.exchange
        dest = ex.directory.get(self.dialled, Destination("vacant"))
        self._destination = dest
        self._route_ticks = 0
        self._set(PortState.ROUTING)
        tone = {"answer": "ringback", "no_answer": "ringback", "busy": "busy",
                "congestion": "congestion", "vacant": "sit"}[dest.outcome]
        self._loop(tone)


class Phone(ExchangePort):
    """A telephone on one of the board's FXS lines (an agent position).

    It rings when the board applies ringing voltage, decodes the caller ID the board sends
    between the first and the second ring (what its display would show), and is answered and
    hung up by its user; while connected it presses keys, speaks and listens like a caller.
    """

    def __init__(self, exchange, number):
        super().__init__(exchange, number)
        self.rings = 0
        self.caller_id = None
        self._ringing = False
        self._quiet_ticks = 0
        self._rang = asyncio.Event()

    async def call(self, *args, **kwargs):
        raise RuntimeError(f"line {self.number} is an FXS line: its phone is called by the board")

    async def wait_ring(self, timeout=None):
        """Wait for the next ring; return the ring count of this call."""
        self._rang.clear()
        async with asyncio.timeout(timeout):
            await self._rang.wait()
        return self.rings

    async def answer(self):
        """Lift the handset (also how the phone starts a call of its own)."""
        ex = self.exchange
        ex.engine.stop_record(self.number)
        ex.engine.take_recording(self.number)
        ex.bank.phone_offhook[self.number] = True
        self._set(PortState.CONNECTED)

    async def hangup(self):
        self.exchange.bank.phone_offhook[self.number] = False
        self.exchange.engine.stop_play(self.number)
        self._set(PortState.IDLE)

    def _phone_tick(self):
        ex, n = self.exchange, self.number
        ringing = ex.bank.ring_to_phone[n] > RING_DETECT_V
        if ringing and not self._ringing:
            if self.rings == 0:
                self.caller_id = None
                # Listen on-hook for the caller ID that follows the first ring.
                ex.engine.take_recording(n)
                ex.engine.start_record(n, int(CID_LISTEN_S * dsp.SAMPLE_RATE))
            elif self.rings == 1 and self.caller_id is None:
                ex.engine.stop_record(n)
                found = callerid.decode_onhook(ex.engine.take_recording(n))
                if found and found[-1][1] is not False:
                    self.caller_id = found[-1][0]
            self.rings += 1
            self._rang.set()
        self._ringing = ringing
        self._quiet_ticks = 0 if ringing else self._quiet_ticks + 1
        if self.state is PortState.IDLE and self.rings and self._quiet_ticks * ex.tick_s > RING_GONE_S:
            ex.engine.stop_record(n)
            self.rings = 0                  # the board stopped calling
        if self.state is PortState.CONNECTED and not ex.bank.battery_to_phone[n]:
            self._set(PortState.IDLE)       # the board hung up: the phone's user hears it
            self.rings = 0


class Exchange:
    """The far end of a :class:`drivers.lines.LineBank`.

    Parameters
    ----------
    bank : LineBank
    region : str
        Tone table and ring cadence (telephony.md §4).
    disconnect : str
        How a subscriber's hangup reaches the board: "battery" (open-switch interval of
        ``open_switch_s``), "busy" or "congestion" (that tone until the board clears), or
        battery and a tone ("battery+busy", "battery+congestion").
    directory : dict
        Number -> :class:`Destination`, for calls the board places.
    fxs : iterable of int
        Lines on which the board is the feeding side (FXS): a :class:`Phone` sits there.
    """

    def __init__(self, bank, region="cn", disconnect="battery+busy", open_switch_s=0.8,
                 clear_timeout_s=30.0, directory=None, seed=0, cid_delay_s=0.6,
                 interdigit_s=3.0, dialtone_timeout_s=10.0, cadence_jitter=0.0, fxs=()):
        if disconnect not in DISCONNECT_KINDS:
            raise ValueError(f"disconnect must be one of {', '.join(DISCONNECT_KINDS)}, got {disconnect!r}")
        self.bank = bank
        self.region = tones.region(region)
        self.tick_samples = bank.tick
        self.tick_s = bank.tick / dsp.SAMPLE_RATE
        self.disconnect = disconnect
        self.open_switch_s = open_switch_s
        self.clear_timeout_s = clear_timeout_s
        self.interdigit_s = interdigit_s
        self.dialtone_timeout_s = dialtone_timeout_s
        # GR-30 / China: FSK starts 500-2000 ms after the end of ring 1 (telephony.md §5.3).
        self.cid_delay_ticks = int(round(cid_delay_s / self.tick_s))
        self.directory = dict(directory or {})
        # Each on/off time of a repeating tone drawn within +-cadence_jitter of its value
        # (exchanges keep cadences to +-10 %, telephony.md §4.1).
        self.cadence_jitter = cadence_jitter
        self.rng = np.random.default_rng(seed)
        self.engine = dsp.Board(bank.lines, tick=bank.tick)
        fxs = set(fxs)
        self.ports = [Phone(self, i) if i in fxs else ExchangePort(self, i) for i in range(bank.lines)]
        self._loops = {}

    def close(self):
        self.engine.close()

    def tone_loop(self, name):
        """About LOOP_SECONDS of a region tone, a whole number of cycles (cached unless the
        cadence is jittered: then every loop is drawn anew)."""
        loop = self._loops.get(name)
        if loop is not None:
            return loop
        tone = self.region.tone(name)
        cycle = [s for s in tone.segments if s.repeat]
        cycle_ms = sum(s.on_ms + s.off_ms for s in cycle) or 1000
        cycles = max(1, int(LOOP_SECONDS * 1000 // cycle_ms))
        if self.cadence_jitter and cycle and all(s.on_ms and s.off_ms for s in cycle):
            def vary(ms):
                return max(1, int(round(ms * (1 + self.rng.uniform(-1, 1) * self.cadence_jitter))))
            cycles = min(cycles, MAX_TONE_SEGMENTS // len(cycle))
            segments = [dataclasses.replace(s, on_ms=vary(s.on_ms), off_ms=vary(s.off_ms), repeat=False)
                        for _ in range(cycles) for s in cycle]
            with dsp.ToneGenerator(self.region.name) as gen:
                gen.put(segments)
                return gen.generate(sum(s.on_ms + s.off_ms for s in segments) * dsp.SAMPLE_RATE // 1000)
        loop = dsp.tone_samples(name, self.region.name, seconds=cycles * cycle_ms / 1000)
        self._loops[name] = loop
        return loop

    def tick(self):
        """One tick of every line: hear what the board sent last tick, produce this tick."""
        bank = self.bank
        self.engine.tick(bank.up, out=bank.down)
        for ev in self.engine.events():
            port = self.ports[ev.channel]
            if ev.kind == "digit_on":
                port._digit(ev.digit)
            elif ev.kind == "play_done":
                port._prompt_done(ev.prompt)
        offhook = bank.offhook
        for port in self.ports:
            if isinstance(port, Phone):
                port._phone_tick()
            elif port.state is not PortState.IDLE or offhook[port.number]:
                port._tick(bool(offhook[port.number]))
