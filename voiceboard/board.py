"""Board and channel API: the layer the IVR drives.

A board is opened from a URL by :func:`drivers.open_board` (``emu://analog?ports=8``,
``emu://e1``, ``sound://DEVICE``, ``modem:///dev/ttyACM0``). Its channels offer the classic
voice-board operations as coroutines -- answer, hangup, flash, play with barge-in, record,
collect digits, dial with call-progress analysis, bridge -- and a stream of events.

Every backend subclasses :class:`BoardBase` (pyserial's SerialBase is the model): the base class
owns the channel table, the states, the tick loop and the media engine
(:class:`voiceboard.dsp.Board`, one native call per tick for all channels); a backend only moves
frames and line signals in and out (:meth:`BoardBase._exchange`) and acts on hook changes.

Timing rules (docs/board.md holds the full text):

- Every timer is an asyncio timer, so the same code runs on real or virtual time
  (:mod:`voiceboard.clock`).
- A digit counts when the receiver recognises it (its ON event), not when the key is released.
- Digits that arrive while no collect runs wait in the channel's type-ahead buffer (31 digits,
  oldest dropped beyond that, as Dialogic boards do) until a collect takes them or
  :meth:`Channel.flush_digits` clears them.
- A barge-in digit stops the prompt at the sample it is recognised at and stays in the
  type-ahead buffer, so the collect that follows sees it.
- A far-end hangup ends any operation at once with the reason "hangup".
"""
import abc
import asyncio
import collections
import dataclasses
import logging
import math

import numpy as np

from voiceboard import clock as _clock
from voiceboard import dsp
from voiceboard.errors import BoardNotOpenError, ChannelStateError
from voiceboard.states import ALLOWED, ChannelState

log = logging.getLogger("voiceboard.board")

TYPE_AHEAD = 31     # digits kept between collects (Dialogic DG_MAXDIGS)


@dataclasses.dataclass(frozen=True)
class Capabilities:
    """What a backend can do; the flow linter and simulator read this."""
    channels: int
    full_duplex: bool = True        # hears while it plays: barge-in works
    caller_id: bool = False
    call_progress: bool = True      # dial with call-progress analysis
    bridging: bool = True
    ringing: bool = True            # calls arrive by ringing / seizure (else: answer at once)
    signalling: str = "analog"      # "analog", "e1-cas", "sound", "modem"


@dataclasses.dataclass(frozen=True)
class ChannelEvent:
    """Something that happened on a channel. ``time`` is media time in seconds.

    kinds: ring (data: count), caller_id (data: voiceboard.callerid.CallerId), offhook,
    digit (data: digit), tone (data: tone name), remote_hangup, play_done (data: reason),
    record_done (data: status), alarm (data: name), state (data: (old, new)).
    """
    kind: str
    channel: int
    time: float
    data: object = None


@dataclasses.dataclass(frozen=True)
class PlayResult:
    reason: str                     # "end", "barge_in", "stopped", "hangup"
    digit: str = ""                 # the barge-in digit


@dataclasses.dataclass(frozen=True)
class CollectResult:
    digits: str
    reason: str   # "max_digits", "terminator", "first_timeout", "inter_timeout", "overall_timeout", "hangup"
    terminator: str = ""


@dataclasses.dataclass(frozen=True)
class RecordResult:
    status: str                     # "DTMF", "SILENCE", "TIMEOUT", "HANGUP", "ERROR"
    duration: float                 # seconds of audio in the file
    path: str = ""
    digit: str = ""


@dataclasses.dataclass(frozen=True)
class DialResult:
    outcome: str    # "answered", "busy", "no_answer", "no_dialtone", "sit", "congestion", "hangup"


class Channel:
    """One line of a board. Operations are coroutines; at most one of each kind at a time."""

    def __init__(self, board, number):
        self.board = board
        self.number = number
        self.state = ChannelState.IDLE
        self.caller_id = None
        self.dnis = ""
        self.ani = ""
        self.ring_count = 0
        self._digits = collections.deque(maxlen=TYPE_AHEAD)
        self._digit_arrived = asyncio.Event()
        self._hungup = asyncio.Event()
        self._play_waiters = {}             # prompt id -> future of the play_done reason
        self._recorder = None
        self.events = asyncio.Queue()

    def __repr__(self):
        return f"<Channel {self.number} {self.state.value}>"

    # --- state -------------------------------------------------------------------------

    def _require(self, operation):
        allowed = ALLOWED[operation]
        if self.state not in allowed:
            names = ", ".join(s.name for s in allowed)
            raise ChannelStateError(f"channel {self.number}: {operation}() not allowed in "
                                    f"{self.state.name} (allowed: {names})")

    def _set_state(self, new):
        old, self.state = self.state, new
        if old is not new:
            log.debug("channel %d: %s -> %s", self.number, old.name, new.name)
            self._emit("state", (old, new))
        if new is ChannelState.CONNECTED:
            self._hungup.clear()

    def _emit(self, kind, data=None):
        self.events.put_nowait(ChannelEvent(kind, self.number, self.board.media_time, data))

    def _remote_hangup(self):
        """The far end is gone: end every operation, put the line on-hook."""
        if self.state in (ChannelState.CONNECTED, ChannelState.DIALING, ChannelState.RINGING):
            self._emit("remote_hangup")
            self._end_call()

    def _end_call(self):
        self._hungup.set()
        self.board._engine.stop_play(self.number)
        if self.board._engine.partner(self.number) >= 0:
            self.board._engine.unbridge(self.number)
        self.board._set_hook(self.number, False)
        self._set_state(ChannelState.IDLE)
        self.caller_id = None
        self.ring_count = 0

    # --- digits -------------------------------------------------------------------------

    def _digit(self, digit):
        self._digits.append(digit)
        self._digit_arrived.set()
        self._emit("digit", digit)

    def flush_digits(self):
        """Clear the type-ahead buffer; returns what it held."""
        held = "".join(self._digits)
        self._digits.clear()
        return held

    @property
    def type_ahead(self):
        """Digits waiting in the type-ahead buffer."""
        return "".join(self._digits)

    async def _next_digit(self, timeout):
        """The next digit, or None on timeout; raises asyncio.CancelledError on cancel."""
        while not self._digits:
            self._digit_arrived.clear()
            if timeout is not None and timeout <= 0:
                return None
            waiter = asyncio.ensure_future(self._digit_arrived.wait())
            hang = asyncio.ensure_future(self._hungup.wait())
            try:
                done, _ = await asyncio.wait({waiter, hang}, timeout=timeout,
                                             return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
                hang.cancel()
            if self._hungup.is_set() or not done:
                return None
        return self._digits.popleft()

    # --- operations ---------------------------------------------------------------------

    async def answer(self):
        """Go off-hook on a ringing line."""
        self._require("answer")
        self.board._set_hook(self.number, True)
        self._set_state(ChannelState.CONNECTED)     # RINGING -> CONNECTED
        self._emit("offhook")

    async def hangup(self):
        """Put the line on-hook; any operation in progress ends with "hangup"."""
        self._require("hangup")
        self._end_call()                            # * -> IDLE

    async def flash(self, ms=None):
        """Hook flash (default: the backend's flash time)."""
        self._require("flash")
        await self.board._flash(self.number, ms)

    async def play(self, prompts, barge_in=""):
        """Play one prompt or a list of them (int16 arrays at 8 kHz, or file paths).

        A digit of ``barge_in`` stops playback within the frame it is recognised in. A
        barge-in digit already waiting in the type-ahead buffer means the caller has answered:
        nothing is played. Returns a :class:`PlayResult`.
        """
        self._require("play")
        for d in barge_in:
            if d not in dsp.DTMF_DIGITS:
                raise ValueError(f"barge-in digit {d!r} is not a DTMF digit")
        waiting = next((d for d in self._digits if d in barge_in), "")
        if waiting:
            return PlayResult("barge_in", waiting)
        items = prompts if isinstance(prompts, (list, tuple)) else [prompts]
        ids = [self.board._engine.play(self.number, self.board.load_prompt(p), barge_in=barge_in)
               for p in items]
        loop = asyncio.get_running_loop()
        futures = {pid: loop.create_future() for pid in ids}
        self._play_waiters.update(futures)
        hang = asyncio.ensure_future(self._hungup.wait())
        try:
            for pid in ids:
                done, _ = await asyncio.wait({futures[pid], hang}, return_when=asyncio.FIRST_COMPLETED)
                if hang in done:
                    return PlayResult("hangup")
                reason = futures[pid].result()
                if reason == "barge_in":
                    self.board._engine.stop_play(self.number)
                    digit = next((d for d in reversed(self._digits) if d in barge_in), "")
                    return PlayResult("barge_in", digit)
                if reason == "flush":
                    return PlayResult("stopped")
            return PlayResult("end")
        finally:
            hang.cancel()
            for pid in ids:
                self._play_waiters.pop(pid, None)

    def stop_play(self):
        """Stop whatever is playing (the waiting play() returns "stopped")."""
        self.board._engine.stop_play(self.number)

    async def collect(self, max_digits=1, terminators="#", first_timeout=5.0, inter_timeout=3.0,
                      overall_timeout=None, flush=False):
        """Collect digits (see the module docstring for the type-ahead rules).

        Timers: ``first_timeout`` runs from the start until the first digit (a digit already
        in the type-ahead buffer satisfies it); ``inter_timeout`` from each digit to the next;
        ``overall_timeout`` from the start, whatever happens. A terminator ends the collect and
        is not part of the digits. Returns a :class:`CollectResult`.
        """
        self._require("collect")
        if max_digits < 1:
            raise ValueError("max_digits must be at least 1")
        if flush:
            self.flush_digits()
        loop = asyncio.get_running_loop()
        deadline = None if overall_timeout is None else loop.time() + overall_timeout
        digits = ""
        while True:
            if self._hungup.is_set():
                return CollectResult(digits, "hangup")
            wait = first_timeout if not digits else inter_timeout
            reason = "first_timeout" if not digits else "inter_timeout"
            if deadline is not None and (wait is None or loop.time() + wait >= deadline):
                wait, reason = max(0.0, deadline - loop.time()), "overall_timeout"
            digit = await self._next_digit(wait)
            if digit is None:
                return CollectResult(digits, "hangup" if self._hungup.is_set() else reason)
            if digit in terminators:
                return CollectResult(digits, "terminator", digit)
            digits += digit
            if len(digits) >= max_digits:
                return CollectResult(digits, "max_digits")

    async def record(self, path, max_time=60.0, max_silence=5.0, terminators="#", beep=True,
                     silence_dbm0=-45.0):
        """Record what the caller says into a WAV file (8 kHz, 16-bit mono).

        Ends on a terminator digit ("DTMF"), ``max_silence`` seconds of silence below
        ``silence_dbm0`` ("SILENCE"), ``max_time`` ("TIMEOUT"), a hangup ("HANGUP") or a file
        error ("ERROR"). The file is written as the audio arrives and its header is kept valid,
        so what was recorded survives a crash. Returns a :class:`RecordResult`.
        """
        self._require("record")
        if self._recorder is not None:
            raise ChannelStateError(f"channel {self.number}: record() already running")
        if beep:
            await self.play(self.board.tone("record_beep"))
        rec = _Recorder(self, path, max_time, max_silence, terminators, silence_dbm0)
        self._recorder = rec
        try:
            return await rec.run()
        finally:
            self._recorder = None

    async def dial(self, number, dialtone_timeout=3.0, answer_timeout=30.0):
        """Place a call with call-progress analysis; see the backend for what it supports."""
        self._require("dial")
        for d in number:
            if d not in dsp.DTMF_DIGITS + ",":
                raise ValueError(f"dial string {number!r}: {d!r} is not a DTMF digit or ','")
        return await self.board._dial(self, number, dialtone_timeout, answer_timeout)

    async def bridge(self, other):
        """Full-duplex cross-connect with another CONNECTED channel of the same board."""
        self._require("bridge")
        other._require("bridge")
        if other.board is not self.board:
            raise ValueError("bridge() needs two channels of the same board")
        self.board._engine.bridge(self.number, other.number)

    async def unbridge(self):
        self._require("unbridge")
        self.board._engine.unbridge(self.number)


class _Recorder:
    """Moves a channel's record buffer into a WAV file, tick by tick."""

    def __init__(self, channel, path, max_time, max_silence, terminators, silence_dbm0):
        self.channel = channel
        self.path = str(path)
        self.max_samples = int(max_time * dsp.SAMPLE_RATE)
        self.max_silent = int(max_silence * dsp.SAMPLE_RATE)
        self.terminators = terminators
        # Mean square of a sine at silence_dbm0, in 16-bit units (0 dBm0 RMS = 16141).
        self.silence_power = (16141.0 * 10 ** (silence_dbm0 / 20)) ** 2
        self.written = 0
        self.silent_run = 0
        self.done = asyncio.get_running_loop().create_future()

    async def run(self):
        ch = self.channel
        engine = ch.board._engine
        from voiceboard.wavfile import WavWriter
        try:
            writer = WavWriter(self.path)
        except OSError as exc:
            ch.board.log_error(ch.number, f"record: cannot open {self.path}: {exc}")
            return RecordResult("ERROR", 0.0, self.path)
        ch.flush_digits()
        engine.start_record(ch.number, self.max_samples + dsp.SAMPLE_RATE)
        status, digit = "ERROR", ""
        try:
            status, digit = await self.done
        finally:
            engine.stop_record(ch.number)
            try:
                self._drain(writer, final=True)
                writer.close()
            except OSError as exc:
                ch.board.log_error(ch.number, f"record: writing {self.path} failed: {exc}")
                status = "ERROR"
        ch._emit("record_done", status)
        return RecordResult(status, self.written / dsp.SAMPLE_RATE, self.path, digit)

    def _drain(self, writer, final=False):
        samples = self.channel.board._engine.take_recording(self.channel.number)
        room = self.max_samples - self.written
        samples = samples[:room]
        if samples.size:
            writer.write(samples)
            self.written += samples.size
        return samples

    def tick(self, writer):
        """Called by the board once per tick: returns when the recording must end."""


    def on_tick(self):
        """The board's per-tick hook: decide whether the recording ends now."""
        if self.done.done():
            return
        ch = self.channel
        if ch._hungup.is_set():
            self.done.set_result(("HANGUP", ""))
            return
        term = next((d for d in ch._digits if d in self.terminators), "")
        if term:
            ch._digits.remove(term)
            self.done.set_result(("DTMF", term))
            return
        queued = ch.board._engine.recorded(ch.number) if hasattr(ch.board._engine, "recorded") else 0
        del queued
