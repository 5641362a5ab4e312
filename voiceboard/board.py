"""Board and channel API: the layer the IVR drives.

A board is opened from a URL by :func:`drivers.open_board` (``emu://analog?ports=8``, later
``emu://e1``, ``sound://DEVICE``, ``modem:///dev/ttyACM0``). Its channels offer the classic
voice-board operations as coroutines -- answer, hangup, flash, play with barge-in, record,
collect digits, dial with call-progress analysis, bridge -- and a queue of events.

Every backend subclasses :class:`BoardBase` (pyserial's SerialBase is the model): the base
class owns the channel table, the states, the tick loop and the media engine
(:class:`voiceboard.dsp.Board`: one native call per tick for all channels); a backend moves
frames and line signals in and out and acts on hook changes.

Rules (docs/board.md has the full text and the tests that hold them):

- Every timer is an asyncio timer, so the same code runs on real or virtual time
  (:mod:`voiceboard.clock`).
- A digit counts when the receiver recognises it, not when the key is released.
- Digits that arrive while no collect runs wait in the channel's type-ahead buffer (31 digits,
  the oldest dropped beyond that, as Dialogic boards do) until a collect takes them or
  :meth:`Channel.flush_digits` clears them.
- A barge-in digit stops the prompt at the sample where it is recognised and stays in the
  type-ahead buffer, so the collect that follows sees it.
- A far-end hangup ends every operation at once with the reason "hangup"; a recording keeps
  what it has.
"""
import abc
import asyncio
import collections
import dataclasses
import logging
import os

import numpy as np

from voiceboard import clock as _clock
from voiceboard import dsp
from voiceboard.errors import BoardNotOpenError, ChannelStateError
from voiceboard.recording import WavRecorder
from voiceboard.states import ALLOWED, ChannelState

log = logging.getLogger("voiceboard.board")

TYPE_AHEAD = 31     # digits kept between collects (Dialogic DG_MAXDIGS)
EVENT_QUEUE = 256   # channel events kept for a reader that is not keeping up
TIME_EPSILON = 1e-6 # seconds: a timer left with less than this has expired
CLOSE_TIMEOUT = 5.0 # seconds close() waits for the tick loop to stop


@dataclasses.dataclass(frozen=True)
class Capabilities:
    """What a backend can do; the flow linter and simulator read this."""
    channels: int
    full_duplex: bool = True        # hears while it plays: barge-in works
    caller_id: bool = False
    call_progress: bool = True      # dial with call-progress analysis
    bridging: bool = True
    ringing: bool = True            # calls are offered by ringing or seizure
    signalling: str = "analog"      # "analog", "e1-cas", "sound", "modem"


@dataclasses.dataclass(frozen=True)
class ChannelEvent:
    """Something that happened on a channel; ``time`` is media time in seconds.

    Kinds and their data: ring (count), caller_id (CallerId), offhook, digit (digit),
    tone (tone name), remote_hangup, play_done (reason), record_done (status), alarm (name),
    state ((old, new) ChannelState).
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
    # "max_digits", "terminator", "first_timeout", "inter_timeout", "overall_timeout", "hangup"
    reason: str
    terminator: str = ""


@dataclasses.dataclass(frozen=True)
class RecordResult:
    status: str                     # "DTMF", "SILENCE", "TIMEOUT", "HANGUP", "ERROR"
    duration: float                 # seconds of audio in the file
    path: str = ""
    digit: str = ""


@dataclasses.dataclass(frozen=True)
class DialResult:
    # "answered", "busy", "congestion", "no_answer", "no_dialtone", "sit", "hangup"
    outcome: str


class Channel:
    """One line of a board."""

    def __init__(self, board, number):
        self.board = board
        self.number = number
        self.state = ChannelState.IDLE
        self.caller_id = None
        self.dnis = ""
        self.ani = ""
        self.ring_count = 0
        self.events = asyncio.Queue(maxsize=EVENT_QUEUE)
        self.events_dropped = 0
        self._digits = collections.deque(maxlen=TYPE_AHEAD)
        self._digit_arrived = asyncio.Event()
        self._hungup = asyncio.Event()
        self._play_waiters = {}             # prompt id -> future of its play_done reason
        self._recorder = None

    def __repr__(self):
        return f"<Channel {self.number} {self.state.name}>"

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

    def _emit(self, kind, data=None):
        if self.events.full():
            # Nobody reads this channel's events: keep the newest.
            self.events.get_nowait()
            self.events_dropped += 1
        self.events.put_nowait(ChannelEvent(kind, self.number, self.board.media_time, data))

    def _offered(self):
        """A call arrives (ring or seizure)."""
        if self.state is ChannelState.IDLE:
            self._hungup.clear()
            self._set_state(ChannelState.RINGING)           # IDLE -> RINGING

    def _abandoned(self):
        """The caller gave up before the call was answered."""
        if self.state is ChannelState.RINGING:
            self._hungup.set()
            self._reset_call()
            self._set_state(ChannelState.IDLE)              # RINGING -> IDLE

    def _remote_hangup(self):
        """The far end is gone: every operation ends; the line goes on-hook."""
        if self.state in (ChannelState.CONNECTED, ChannelState.DIALING):
            self._emit("remote_hangup")
            self._end_call()                                # CONNECTED/DIALING -> IDLE

    def _end_call(self):
        self._hungup.set()
        engine = self.board._engine
        if engine is not None:                  # None: the board was closed under the call
            engine.stop_play(self.number)
            engine.unbridge(self.number)
            self.board._set_hook(self.number, False)
        self._reset_call()
        self._set_state(ChannelState.IDLE)

    def _reset_call(self):
        self.caller_id = None
        self.dnis = self.ani = ""
        self.ring_count = 0
        self._digits.clear()

    def _out_of_service(self, reason):
        if self.state is not ChannelState.OUT_OF_SERVICE:
            if self.state is not ChannelState.IDLE:
                self._hungup.set()
                self.board._engine.stop_play(self.number)
                self.board._engine.unbridge(self.number)
            self._reset_call()
            self._emit("alarm", reason)
            self._set_state(ChannelState.OUT_OF_SERVICE)    # * -> OUT_OF_SERVICE

    def _back_in_service(self):
        if self.state is ChannelState.OUT_OF_SERVICE:
            self._set_state(ChannelState.IDLE)              # OUT_OF_SERVICE -> IDLE

    # --- digits -------------------------------------------------------------------------

    def _digit(self, digit):
        self._digits.append(digit)
        self._digit_arrived.set()
        self._emit("digit", digit)

    def flush_digits(self):
        """Clear the type-ahead buffer; return what it held."""
        held = "".join(self._digits)
        self._digits.clear()
        return held

    @property
    def type_ahead(self):
        """Digits waiting in the type-ahead buffer."""
        return "".join(self._digits)

    async def _wait_any(self, *awaitables, timeout=None):
        """Wait for the first of several futures/coroutines, or for the hangup; True if one
        fired. Futures passed in are left alone; what this creates is cancelled."""
        created = [asyncio.ensure_future(self._hungup.wait())]
        waiting = list(created)
        for a in awaitables:
            if asyncio.isfuture(a):
                waiting.append(a)
            else:
                created.append(asyncio.ensure_future(a))
                waiting.append(created[-1])
        try:
            done, _ = await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in created:
                t.cancel()
        return bool(done)

    async def _next_digit(self, timeout):
        """The next digit, or None on timeout or hangup."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not self._digits:
            if self._hungup.is_set():
                return None
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= TIME_EPSILON:
                # Within the clock's resolution: expired (a smaller wait would not move a
                # virtual clock, and the loop would spin).
                return None
            self._digit_arrived.clear()
            await self._wait_any(self._digit_arrived.wait(), timeout=left)
        return self._digits.popleft()

    # --- call control ---------------------------------------------------------------------

    async def answer(self):
        """Go off-hook on a ringing line."""
        self._require("answer")
        self.board._set_hook(self.number, True)
        self._hungup.clear()
        self._set_state(ChannelState.CONNECTED)             # RINGING -> CONNECTED
        self._emit("offhook")

    async def hangup(self):
        """Put the line on-hook; any operation in progress ends with "hangup"."""
        self._require("hangup")
        self._end_call()                                    # RINGING/DIALING/CONNECTED -> IDLE

    async def block(self, reason="blocked"):
        """Take the channel out of service (ending any call on it)."""
        self._require("block")
        if self.state in (ChannelState.CONNECTED, ChannelState.DIALING):
            self._end_call()
        self._out_of_service(reason)                        # * -> OUT_OF_SERVICE

    async def unblock(self):
        """Return a blocked channel to service."""
        self._require("unblock")
        self._back_in_service()                             # OUT_OF_SERVICE -> IDLE

    async def flash(self, ms=None):
        """Hook flash of ``ms`` milliseconds (default: the backend's flash time)."""
        self._require("flash")
        await self.board._flash(self.number, ms)

    async def dial(self, number, dialtone_timeout=3.0, answer_timeout=30.0):
        """Place a call with call-progress analysis; returns a :class:`DialResult`."""
        self._require("dial")
        bad = [d for d in number if d not in dsp.DTMF_DIGITS + ","]
        if not number or bad:
            raise ValueError(f"dial string {number!r}: use DTMF digits (0-9 * # A-D) and ',' for a pause")
        return await self.board._dial(self, number, dialtone_timeout, answer_timeout)

    async def ring(self, caller_id=None, max_rings=6):
        """Ring the phone on an FXS port, sending ``caller_id`` between the first two rings;
        returns a :class:`DialResult` ("answered" or "no_answer")."""
        self._require("ring")
        return await self.board._ring_phone(self, caller_id, max_rings)

    async def bridge(self, other):
        """Full-duplex cross-connect with another CONNECTED channel of the same board."""
        self._require("bridge")
        other._require("bridge")
        if other.board is not self.board or other is self:
            raise ValueError("bridge() needs two different channels of the same board")
        self.board._engine.bridge(self.number, other.number)

    async def unbridge(self):
        """Undo bridge() (both directions)."""
        self._require("unbridge")
        self.board._engine.unbridge(self.number)

    # --- media -----------------------------------------------------------------------------

    async def play(self, prompts, barge_in=""):
        """Play one prompt or a list of them (int16 arrays at 8 kHz, or WAV file paths).

        A digit of ``barge_in`` stops playback within the frame it is recognised in. A
        barge-in digit already waiting in the type-ahead buffer means the caller has answered
        already: nothing is played. Returns a :class:`PlayResult`.
        """
        self._require("play")
        _check_digits(barge_in, "barge_in")
        items = prompts if isinstance(prompts, (list, tuple)) else [prompts]
        audio = [self.board.load_prompt(p) for p in items]
        waiting = next((d for d in self._digits if d in barge_in), "")
        if waiting:
            return PlayResult("barge_in", waiting)
        loop = asyncio.get_running_loop()
        ids = [self.board._engine.play(self.number, a, barge_in=barge_in) for a in audio]
        futures = {pid: loop.create_future() for pid in ids}
        self._play_waiters.update(futures)
        try:
            for pid in ids:
                await self._wait_any(futures[pid])
                if self._hungup.is_set():
                    return PlayResult("hangup")
                reason = futures[pid].result()
                if reason == "barge_in":
                    digit = next((d for d in reversed(self._digits) if d in barge_in), "")
                    return PlayResult("barge_in", digit)
                if reason == "flush":
                    return PlayResult("stopped")
            return PlayResult("end")
        finally:
            for pid in ids:
                self._play_waiters.pop(pid, None)

    def stop_play(self):
        """Stop what is playing; the waiting play() returns "stopped"."""
        self.board._engine.stop_play(self.number)

    def _play_done(self, prompt, reason):
        future = self._play_waiters.get(prompt)
        if future is not None and not future.done():
            future.set_result(reason)
        self._emit("play_done", reason)

    async def collect(self, max_digits=1, terminators="#", first_timeout=5.0, inter_timeout=3.0,
                      overall_timeout=None, flush=False):
        """Collect digits; returns a :class:`CollectResult`.

        Timers: ``first_timeout`` runs from the start until the first digit (a digit already
        in the type-ahead buffer satisfies it at once); ``inter_timeout`` from each digit to
        the next; ``overall_timeout`` from the start, whatever happens. A terminator ends the
        collect and is not part of the digits. ``flush`` clears the type-ahead buffer first.
        None for a timer means no limit.
        """
        self._require("collect")
        if max_digits < 1:
            raise ValueError("collect: max_digits must be at least 1")
        _check_digits(terminators, "terminators")
        if flush:
            self.flush_digits()
        loop = asyncio.get_running_loop()
        deadline = None if overall_timeout is None else loop.time() + overall_timeout
        digits = ""
        while True:
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
                     silence_dbm0=-40.0):
        """Record the caller into a WAV file (8 kHz, 16-bit mono); returns a :class:`RecordResult`.

        Ends on a terminator digit ("DTMF"), ``max_silence`` seconds below ``silence_dbm0``
        ("SILENCE"), ``max_time`` seconds ("TIMEOUT"), a hangup ("HANGUP") or a file error
        ("ERROR"). The file is written as the audio arrives and its header kept valid, so what
        was recorded survives a crash. The terminator's tone is cut from the end.
        """
        self._require("record")
        _check_digits(terminators, "terminators")
        if self._recorder is not None:
            raise ChannelStateError(f"channel {self.number}: record() is already running")
        if beep:
            await self.play(self.board.beep)
            if self._hungup.is_set():
                return RecordResult("HANGUP", 0.0, os.fspath(path))
        try:
            writer = WavRecorder(path)
        except OSError as exc:
            log.error("channel %d: record: cannot create %s: %s", self.number, path, exc)
            return RecordResult("ERROR", 0.0, os.fspath(path))
        rec = _Recording(self, writer, max_time, max_silence, terminators, silence_dbm0)
        self._recorder = rec
        self.board._engine.start_record(self.number, rec.max_samples + self.board.tick_samples)
        try:
            await self._wait_any(rec.done)
            status, digit = rec.done.result() if rec.done.done() else ("HANGUP", "")
        finally:
            self._recorder = None
            self.board._engine.stop_record(self.number)
            try:
                rec.drain()
                writer.close()
            except OSError as exc:
                log.error("channel %d: record: writing %s failed: %s", self.number, path, exc)
                status, digit = "ERROR", ""
        self._emit("record_done", status)
        return RecordResult(status, writer.seconds, writer.path, digit)


class _Recording:
    """Moves a channel's record buffer into its WAV file each tick and decides when to stop."""

    def __init__(self, channel, writer, max_time, max_silence, terminators, silence_dbm0):
        self.channel = channel
        self.writer = writer
        self.max_samples = int(round(max_time * dsp.SAMPLE_RATE))
        self.max_silent = None if max_silence is None else int(round(max_silence * dsp.SAMPLE_RATE))
        self.terminators = terminators
        # Mean square of a sine at silence_dbm0 (0 dBm0 RMS = 16141, telephony.md §1.4).
        self.silence_power = (16141.0 * 10 ** (silence_dbm0 / 20)) ** 2
        self.silent_run = 0
        self.done = asyncio.get_running_loop().create_future()

    def drain(self):
        samples = self.channel.board._engine.take_recording(self.channel.number)
        samples = samples[:self.max_samples - self.writer.samples]
        if samples.size:
            self.writer.write(samples)
        return samples

    def on_tick(self):
        if self.done.done():
            return
        ch = self.channel
        try:
            samples = self.drain()
        except OSError as exc:
            log.error("channel %d: record: writing %s failed: %s", ch.number, self.writer.path, exc)
            self.done.set_result(("ERROR", ""))
            return
        term = next((d for d in ch._digits if d in self.terminators), "")
        if term:
            ch._digits.remove(term)
            self.done.set_result(("DTMF", term))
        elif self.writer.samples >= self.max_samples:
            self.done.set_result(("TIMEOUT", ""))
        elif self.max_silent is not None and samples.size:
            power = float(np.mean(samples.astype(np.float64) ** 2))
            self.silent_run = self.silent_run + samples.size if power < self.silence_power else 0
            if self.silent_run >= self.max_silent:
                self.done.set_result(("SILENCE", ""))


def _check_digits(digits, what):
    bad = [d for d in digits if d not in dsp.DTMF_DIGITS]
    if bad:
        raise ValueError(f"{what}: {''.join(bad)!r} are not DTMF digits (0-9 * # A-D)")


class BoardBase(abc.ABC):
    """Base class of every backend.

    Subclasses set ``SCHEME`` and implement :meth:`_open`, :meth:`_close`, :meth:`_receive`,
    :meth:`_transmit` and :meth:`_set_hook`; they may override :meth:`_signalling`,
    :meth:`_flash` and :meth:`_dial`, and declare :attr:`capabilities`.
    """

    SCHEME = ""

    def __init__(self, channels, tick_samples=_clock.TICK_SAMPLES, dtmf_mode="normal"):
        self.tick_samples = tick_samples
        self.dtmf_mode = dtmf_mode
        self.channels = [Channel(self, i) for i in range(channels)]
        self.clock = _clock.MediaClock(tick_samples / dsp.SAMPLE_RATE)
        self._engine = None
        self._task = None
        self._rx = np.zeros((channels, tick_samples), dtype=np.int16)
        self._tx = np.zeros((channels, tick_samples), dtype=np.int16)
        self._prompt_cache = {}
        self.beep = None
        self.errors = 0

    @property
    @abc.abstractmethod
    def capabilities(self):
        """A :class:`Capabilities`."""

    @property
    def is_open(self):
        return self._engine is not None

    @property
    def media_time(self):
        return self.clock.now

    # --- life cycle ----------------------------------------------------------------------

    async def open(self):
        """Open the backend and start the tick loop on the running event loop."""
        if self.is_open:
            return self
        self._engine = dsp.Board(len(self.channels), tick=self.tick_samples, dtmf_mode=self.dtmf_mode)
        # 1 kHz beep of 200 ms at -10 dBm0 before a recording (the usual "record" cue).
        t = np.arange(int(0.2 * dsp.SAMPLE_RATE)) / dsp.SAMPLE_RATE
        self.beep = np.round(16141 * np.sqrt(2) * 10 ** (-10 / 20) * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
        try:
            await self._open()
        except BaseException:
            self._engine.close()
            self._engine = None
            raise
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"{self.SCHEME} board")
        return self

    async def close(self):
        """Stop the tick loop, close the backend, free the engine."""
        if not self.is_open:
            return
        for ch in self.channels:
            if ch.state in (ChannelState.CONNECTED, ChannelState.DIALING, ChannelState.RINGING):
                ch._hungup.set()
        if self._task is not None:
            self._task.cancel()
            done, _ = await asyncio.wait({self._task}, timeout=CLOSE_TIMEOUT)
            if not done:
                log.warning("%s board: the tick loop did not stop within %s s of close", self.SCHEME, CLOSE_TIMEOUT)
            self._task = None
        try:
            await self._close()
        finally:
            self._engine.close()
            self._engine = None

    async def __aenter__(self):
        return await self.open()

    async def __aexit__(self, *exc):
        await self.close()

    def channel(self, number):
        if not self.is_open:
            raise BoardNotOpenError()
        if not 0 <= number < len(self.channels):
            raise ValueError(f"channel {number} does not exist (board has {len(self.channels)})")
        return self.channels[number]

    # --- tick ----------------------------------------------------------------------------

    async def _run(self):
        while True:
            await self.clock.wait_tick()
            try:
                self.tick()
            except Exception:
                # A failing tick must not stop the board: log it, count it, go on.
                self.errors += 1
                log.exception("%s board: tick failed", self.SCHEME)

    def tick(self):
        """One tick: receive, process every channel natively, transmit, dispatch events."""
        self._receive(self._rx)
        self._engine.tick(self._rx, out=self._tx)
        self._transmit(self._tx)
        for ev in self._engine.events():
            ch = self.channels[ev.channel]
            if ev.kind == "digit_on":
                if ch.state is ChannelState.CONNECTED:
                    ch._digit(ev.digit)
            elif ev.kind == "play_done":
                ch._play_done(ev.prompt, ev.reason)
        self._signalling(self._rx)
        for ch in self.channels:
            if ch._recorder is not None:
                ch._recorder.on_tick()

    # --- prompts ---------------------------------------------------------------------------

    def load_prompt(self, prompt):
        """int16 samples at 8 kHz from an array or a file path (cached by path)."""
        if isinstance(prompt, np.ndarray):
            if prompt.dtype != np.int16:
                raise ValueError(f"prompt array must be int16 at 8 kHz, got {prompt.dtype}")
            return prompt
        path = os.fspath(prompt)
        cached = self._prompt_cache.get(path)
        if cached is None:
            from voiceboard.audio import read_audio
            cached, _ = read_audio(path)
            self._prompt_cache[path] = cached
        return cached

    # --- backend hooks -----------------------------------------------------------------------

    @abc.abstractmethod
    async def _open(self):
        """Open the device or the emulation."""

    @abc.abstractmethod
    async def _close(self):
        """Release the device."""

    @abc.abstractmethod
    def _receive(self, rx):
        """Fill ``rx`` (int16, channels x tick) with this tick's received samples."""

    @abc.abstractmethod
    def _transmit(self, tx):
        """Send this tick's transmit samples (int16, channels x tick)."""

    @abc.abstractmethod
    def _set_hook(self, channel, offhook):
        """Go off-hook (True) or on-hook (False)."""

    def _signalling(self, rx):
        """Per-tick line signalling: rings, caller ID, disconnect supervision, alarms."""

    async def _flash(self, channel, ms):
        raise ChannelStateError(f"{self.SCHEME} board: flash is not supported")

    async def _dial(self, channel, number, dialtone_timeout, answer_timeout):
        raise ChannelStateError(f"{self.SCHEME} board: dialing is not supported")

    async def _ring_phone(self, channel, caller_id, max_rings):
        raise ChannelStateError(f"{self.SCHEME} board: channel {channel.number} is not an FXS port")
