"""Voice modem backend (ITU-T V.253 / IS-101 over a serial port): ``modem:///dev/ttyACM0``.

URL options (defaults in brackets):

    profile=conexant|usr   chipset dialect (drivers/modem_profiles.py) [found from ATI0]
    format=NAME            sample format of the profile, e.g. u8, linear, alaw, ulaw [profile's]
    baud=N                 serial speed; 8000 B/s of audio needs 115200 on RS-232, USB
                           CDC-ACM modems ignore it [115200]
    cid=formatted|raw|off  caller ID as AT+VCID=1 lines, AT+VCID=2 hex packet, or none [formatted]
    duplex=auto|0|1        use AT+VTR (full duplex, barge-in) [auto: the profile says]
    timeout=S              AT command timeout in seconds [3, as callattendant]
    hangup_on=CODES        DLE codes that mean the far end hung up [bdlsq]
    ring_timeout_s=S       a ringing call with no RING for this long was abandoned [8]
    retry_s=S              first wait before reopening a failed modem, doubled up to
                           retry_max_s=S [0.5, 30]
    dtmf_mode=M            the board's own DTMF receiver preset [normal]

One modem is one channel. The board needs real time (a serial device cannot be waited for
in virtual time): opening it on a virtual-time loop is a ConfigError.

Threads: a reader thread owns ``serial.read``. It only splits the bytes into text lines, DLE
events and audio; audio goes into a :class:`voiceboard.dsp.RingBuffer` (that thread writes,
the board's loop reads) and lines and events go to the loop with ``call_soon_threadsafe``.
Everything else -- AT commands (an asyncio lock and a timeout), mode changes, the tick --
runs on the board's loop.

The 20 ms tick on a modem:

- ``+VRX`` (receive) while connected and not playing: the received audio feeds ``rx``, so
  the board's own DTMF receiver, the recorder and silence detection work on it; the modem's
  DLE digits are used too (a key heard by both counts once).
- ``+VTX`` (transmit) while a prompt plays on a half-duplex modem: the tick's ``tx`` goes to
  the modem (0x10 doubled), paced by the tick at 8000 samples/s; ``rx`` is silence, so only
  the modem's DLE digits are heard (kept in the type-ahead buffer, no barge-in). The switch
  VRX -> VTX -> VRX costs a few AT exchanges; the ticks played meanwhile are queued and
  written on CONNECT, which also gives the modem its jitter margin.
- ``+VTR`` (full duplex) for the whole call when the profile has it: every tick's ``tx`` goes
  out and every tick's ``rx`` comes in; barge-in works, and a barge-in or a stop sends
  DLE CAN so the modem drops what it had buffered.

Faults: an AT command with no answer raises :class:`voiceboard.errors.BoardTimeout`; during
service any serial error, timeout, or a receive stream that stops puts the line out of
service (a recording in progress ends with what it had, the file stays valid), and the board
reopens and re-initialises the modem with exponential backoff until it answers again.
"""
import asyncio
import collections
import dataclasses
import logging
import re
import threading
import time

import numpy as np
import serial

from drivers import modem_profiles as mp
from drivers import no_more_options, option
from voiceboard import callerid, clock, dsp
from voiceboard.board import BoardBase, Capabilities, Channel, PlayResult
from voiceboard.errors import BoardError, BoardTimeout, ConfigError
from voiceboard.states import ChannelState

log = logging.getLogger("voiceboard.modem")

HANGUP = "ATH0"             # hang up (telephony.md §7.1, §7.3)
AT_TIMEOUT_S = 3.0          # callattendant: 3 s serial timeouts (telephony.md §7.3)
BAUD = 115200               # 8000 B/s * 10 bits needs 115200 on RS-232 (telephony.md §7.3)
RX_RING = 1 << 14           # 2 s of received samples between the reader and the tick
RX_PREFILL = 480            # samples waiting before rx flows: 2 ticks of jitter margin after a read
RX_MAX_LAG = 1600           # beyond 200 ms of backlog the oldest received audio is dropped
TX_PREFILL_S = 0.12         # silence written on CONNECT: the modem's margin against tick jitter
TX_MAX_PENDING_S = 2.0      # transmit audio held while the modem changes mode (then dropped)
DEDUP_S = 0.25              # a key reported by the modem and by our receiver within this is one
CID_SETTLE_S = 0.3          # caller-ID lines closer than this belong to one delivery
BREAK_S = 0.1               # time for a modem to leave a data state before ATZ
RX_STALL_S = 1.0            # no byte at all for this long in +VRX/+VTR: the modem is gone
MAX_LINE = 256              # longest text line kept (longer ones are garbage)
FINAL = ("OK", "ERROR", "CONNECT", "VCON", "NO CARRIER", "BUSY", "NO DIALTONE", "NO ANSWER")
_CID_LINE = re.compile(r"^(DATE|TIME|NMBR|NAME|MESG)\s*=\s*(.*)$")
_HEX_LINE = re.compile(r"^[0-9A-Fa-f]{8,}$")
_OK_MARK = b"\r\nOK\r\n"


def open_url(url, host, path, options):
    """A :class:`ModemBoard` for ``modem:///dev/ttyACM0?profile=usr`` (unopened)."""
    port = host + path if host else path
    if not port:
        raise ConfigError(f"board URL {url!r}: no serial device (e.g. modem:///dev/ttyACM0)")

    def duplex(v):
        if v not in ("auto", "0", "1"):
            raise ValueError(v)
        return None if v == "auto" else v == "1"

    def seconds(v):
        value = float(v)
        if not 0 < value < 3600:
            raise ValueError(v)
        return value

    kw = dict(
        profile=option(options, "profile", str, None, url),
        fmt=option(options, "format", str, None, url),
        baudrate=option(options, "baud", int, BAUD, url),
        cid=option(options, "cid", str, "formatted", url),
        duplex=option(options, "duplex", duplex, None, url),
        at_timeout=option(options, "timeout", seconds, AT_TIMEOUT_S, url),
        hangup_on=option(options, "hangup_on", str, None, url),
        ring_timeout_s=option(options, "ring_timeout_s", seconds, 8.0, url),
        retry_s=option(options, "retry_s", seconds, 0.5, url),
        retry_max_s=option(options, "retry_max_s", seconds, 30.0, url),
        dtmf_mode=option(options, "dtmf_mode", str, "normal", url),
    )
    no_more_options(options, url)
    if kw["profile"] is not None and kw["profile"] not in mp.PROFILES:
        raise ConfigError(f"board URL {url!r}: profile must be one of {', '.join(mp.PROFILES)}")
    if kw["fmt"] is not None:
        names = sorted({f for p in mp.PROFILES.values() for f in p.formats})
        if kw["fmt"] not in names or (kw["profile"] and kw["fmt"] not in mp.PROFILES[kw["profile"]].formats):
            known = mp.PROFILES[kw["profile"]].formats if kw["profile"] else names
            raise ConfigError(f"board URL {url!r}: format must be one of {', '.join(known)}")
    if kw["cid"] not in ("formatted", "raw", "off"):
        raise ConfigError(f"board URL {url!r}: cid must be formatted, raw or off")
    if kw["hangup_on"] is not None and set(kw["hangup_on"]) - set(mp.HANGUP_CODES):
        raise ConfigError(f"board URL {url!r}: hangup_on takes letters of {mp.HANGUP_CODES}")
    return ModemBoard(port, **kw)


class ModemChannel(Channel):
    """The modem's one channel: the digit and play hooks a modem needs."""

    def __init__(self, board, number):
        super().__init__(board, number)
        self._last_digit = ("", "", -1.0)       # (digit, source, loop time)

    def _digit(self, digit, source="dsp"):
        # The modem's detector and ours may both report one key: count it once.
        now = asyncio.get_running_loop().time()
        last, last_source, at = self._last_digit
        if digit == last and source != last_source and now - at < DEDUP_S:
            return
        self._last_digit = (digit, source, now)
        super()._digit(digit)

    def _play_done(self, prompt, reason):
        if reason in ("barge_in", "flush"):
            self.board._cancel_tx()
        super()._play_done(prompt, reason)

    async def play(self, prompts, barge_in=""):
        # The record cue goes out as the modem's own tone (AT+VTS) so a half-duplex modem
        # does not switch to +VTX and back for 200 ms.
        if prompts is self.board.beep and self.state is ChannelState.CONNECTED:
            await self.board._vts_beep(self)
            return PlayResult("hangup" if self._hungup.is_set() else "end")
        return await super().play(prompts, barge_in)


class _Reader(threading.Thread):
    """Owns serial.read: bytes -> lines, DLE events and audio. Touches no board state.

    ``expect_audio`` (set by the loop before AT+VRX / AT+VTR) makes the CONNECT line switch
    the stream to audio; ``stopping`` (set before DLE ! / DLE ^) makes it watch for the OK a
    Conexant sends instead of DLE ETX.
    """

    def __init__(self, ser, loop, board, codec, ring):
        super().__init__(name=f"modem reader {ser.port}", daemon=True)
        self.ser = ser
        self.loop = loop
        self.board = board
        self.codec = codec
        self.ring = ring
        self.expect_audio = False
        self.stopping = False
        self.last_byte = time.monotonic()
        self.rx_pos = 0                 # samples put into the ring so far
        self._running = True
        self._audio = False
        self._decoder = mp.DleDecoder(sub=True)
        self._line = bytearray()
        self._tail = b""

    def stop(self):
        self._running = False
        try:
            self.ser.cancel_read()
        except (OSError, serial.SerialException):
            pass

    def _post(self, method, *args):
        try:
            self.loop.call_soon_threadsafe(method, *args)
        except RuntimeError:
            self._running = False           # the loop is closed: nobody is listening

    def run(self):
        while self._running:
            try:
                data = self.ser.read(max(1, self.ser.in_waiting))
            except (serial.SerialException, OSError, TypeError) as exc:
                # TypeError: pyserial's read on a port closed under it.
                if self._running:
                    self._post(self.board._fault, exc)
                return
            if data:
                self.last_byte = time.monotonic()
                try:
                    self.feed(data)
                except Exception:       # a parser bug must not kill the reader silently
                    log.exception("modem reader: cannot parse %r", data[:64])

    def feed(self, data):
        for kind, value in self._decoder.feed(data):
            if kind == "code":
                if self._audio and value == chr(mp.ETX):
                    self._flush_tail()
                    self._audio = self.stopping = False
                    self._post(self.board._data_end)
                else:
                    self._flush_tail()
                    # Where in the audio it happened, so the board can keep it in step.
                    self._post(self.board._dle_event, value, self.rx_pos if self._audio else None)
                continue
            rest = value
            while rest:
                rest = self._audio_bytes(rest) if self._audio else self._text_bytes(rest)

    def _text_bytes(self, data):
        """Lines of text; returns the bytes after a CONNECT that starts the audio."""
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                self._add_text(data[start:])
                return b""
            self._add_text(data[start:end])
            start = end + 1
            line = self._line.decode("ascii", errors="replace").strip()
            self._line.clear()
            if not line:
                continue
            self._post(self.board._text_line, line)
            if line == "CONNECT" and self.expect_audio:
                self.expect_audio = False
                self._audio = True
                self._tail = b""
                return data[start:]

    def _add_text(self, chunk):
        room = MAX_LINE - len(self._line)           # garbage never grows a line without bound
        if room > 0:
            self._line += chunk.replace(b"\r", b"")[:room]

    def _audio_bytes(self, data):
        """Audio; while stopping, an OK in the stream ends it (Conexant after DLE !)."""
        if self.stopping:
            data = self._tail + data
            cut = data.find(_OK_MARK)
            if cut >= 0:
                self._tail = b""
                self._samples(data[:cut])
                self._audio = self.stopping = False
                self._post(self.board._data_end)
                return data[cut:]
            keep = len(_OK_MARK) - 1
            self._tail = data[-keep:]
            data = data[:-keep]
        self._samples(data)
        return b""

    def _flush_tail(self):
        if self._tail:
            self._samples(self._tail)
            self._tail = b""

    def _samples(self, data):
        if data:
            self.rx_pos += self.ring.write(mp.decode(self.codec, data))


@dataclasses.dataclass
class ModemStats:
    rx_underruns: int = 0           # ticks padded with silence: the modem's audio came late
    tx_underruns: int = 0           # DLE u reports: our audio came late
    rx_overruns: int = 0            # DLE o reports
    rx_dropped: int = 0             # received samples dropped to bound the latency
    tx_dropped: int = 0             # transmit samples dropped while the modem was not ready
    faults: int = 0                 # times the line went out of service
    recoveries: int = 0


class ModemBoard(BoardBase):
    """One voice modem as a one-channel board (see the module docstring)."""

    SCHEME = "modem"

    def __init__(self, port, profile=None, fmt=None, baudrate=BAUD, cid="formatted", duplex=None,
                 at_timeout=AT_TIMEOUT_S, hangup_on=None, ring_timeout_s=8.0, retry_s=0.5,
                 retry_max_s=30.0, dtmf_mode="normal"):
        super().__init__(1, dtmf_mode=dtmf_mode)
        self.channels = [ModemChannel(self, 0)]
        self.port = port
        self.profile = None if profile is None else mp.profile(profile)
        self._profile_name = profile
        self._fmt_name = fmt
        self.baudrate = baudrate
        self.cid = cid
        self._duplex_option = duplex
        self.at_timeout = at_timeout
        self._hangup_on = hangup_on
        self.ring_timeout_s = ring_timeout_s
        self.retry_s = retry_s
        self.retry_max_s = retry_max_s
        self.product = None
        self.format = None
        self.stats = ModemStats()
        self._ser = None
        self._reader = None
        self._ring = None
        self._loop = None
        self._lock = None
        self._responses = None          # asyncio.Queue of lines while a command waits
        self._data_ended = None         # future: the modem left +VRX/+VTR
        self._worker = None
        self._recovery = None
        self._wake = None
        self._want_hook = False
        self._hook = False
        self._mode = "command"          # command, vtx, vrx, vtr
        self._playing = False
        self._pending = bytearray()     # transmit bytes waiting for CONNECT
        self._pending_samples = 0
        self._tx_written = 0            # samples written since CONNECT (for the drain time)
        self._tx_since = 0.0
        self._rx_primed = False
        self._beeps = []                # (ms, future) waiting for command mode
        self._shield_digit = None       # inside DLE / ... DLE ~: the key already counted
        self._cid_fields = {}
        self._cid_timer = None
        self._last_ring = None
        self._in_service = False
        self._held = collections.deque()    # (rx position, DLE code) waiting for their audio

    @property
    def duplex(self):
        if self._duplex_option is not None:
            return self._duplex_option
        return bool(self.profile and self.profile.full_duplex)

    @property
    def capabilities(self):
        return Capabilities(channels=1, full_duplex=self.duplex, caller_id=self.cid != "off",
                            call_progress=False, bridging=False, ringing=True, signalling="modem")

    # --- open / close ------------------------------------------------------------------------

    async def _open(self):
        loop = asyncio.get_running_loop()
        if isinstance(loop, clock.VirtualTimeLoop):
            raise ConfigError(f"modem board {self.port}: a serial modem needs real time, "
                              f"not a virtual-time loop")
        self._loop = loop
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._ring = dsp.RingBuffer(RX_RING)
        try:
            await self._start_modem()
        except BaseException as exc:
            self._stop_serial()
            self._ring.close()
            if isinstance(exc, OSError) and not isinstance(exc, BoardError):
                raise BoardError(f"modem {self.port}: {exc}") from None    # a SerialException
            raise
        self._in_service = True
        self._worker = loop.create_task(self._work(), name=f"modem {self.port}")

    async def _close(self):
        for task in (self._worker, self._recovery):
            if task is not None:
                task.cancel()
                # Bounded: a task caught in a wait that swallows the cancellation must not
                # keep close() waiting for ever.
                done, _ = await asyncio.wait({task}, timeout=self.at_timeout)
                if not done:
                    log.warning("modem %s: a worker did not stop within %.1f s of close", self.port, self.at_timeout)
        self._worker = self._recovery = None
        if self._ser is not None and self._in_service:
            try:
                # The worker may have been cancelled half-way through an exchange (DLE ^
                # written, its OK not yet read): what _mode and _hook say is not to be
                # trusted, so resynchronise and hang up unconditionally.
                await self._leave_data_state()
                await self._command(HANGUP)
            except (BoardError, OSError, serial.SerialException, TimeoutError) as exc:
                log.warning("modem %s: could not hang up on close: %s", self.port, exc)
        self._stop_serial()
        self._ring.close()

    def _open_serial(self):
        try:
            ser = serial.Serial(self.port, self.baudrate, timeout=0.1, write_timeout=self.at_timeout)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise BoardError(f"modem {self.port}: cannot open: {exc}") from None
        self._ser = ser

    def _stop_serial(self):
        reader, ser = self._reader, self._ser
        self._reader = self._ser = None
        if reader is not None:
            reader.stop()
            reader.join(timeout=2.0)
        if ser is not None:
            try:
                ser.close()
            except (OSError, serial.SerialException):
                pass

    async def _start_modem(self):
        """Open the port, start the reader, initialise and probe the modem."""
        self._open_serial()
        self._hook = self._want_hook = False
        self._mode = "command"
        self._clear_pending()
        self._ring.read()
        self._reader = _Reader(self._ser, self._loop, self, "u8", self._ring)
        self._reader.start()
        await self._init_modem()

    async def _leave_data_state(self):
        """Bring a modem in an unknown state back to command mode.

        A modem left in a voice data state (by a crash, by the fault being recovered from, or
        by an exchange that close() cancelled half-way) takes no AT command: drop what it
        holds to play (DLE CAN), leave +VRX (DLE !), +VTR (DLE ^) and +VTX (DLE ETX), end
        any partial command line (these bytes land in one when it was in command mode
        already), and drop what it answers to that."""
        if self._reader is not None:
            self._reader.stopping = True            # an audio stream ends at its DLE ETX / OK
        self._write(mp.DLE_CAN + mp.DLE_RX_ABORT + mp.DLE_DUPLEX_END + mp.DLE_ETX + b"\r")
        await asyncio.sleep(BREAK_S)
        self._ser.reset_input_buffer()
        self._mode = "command"

    async def _init_modem(self):
        """ATZ, ATE0, ATV1, probe (ATI0, +FCLASS=?, +VSM=?), then the profile's settings."""
        await self._leave_data_state()
        await self._command("ATZ")
        await self._command("ATE0")
        await self._command("ATV1")
        info = await self._command("ATI0")
        self.product = info[0] if info else ""
        found = mp.profile_for_product(self.product)
        if self._profile_name is None:
            if found is None:
                raise BoardError(f"modem {self.port}: ATI0 answered {self.product!r}, not a known chipset; "
                                 f"give ?profile= one of {', '.join(mp.PROFILES)}")
            self.profile = found
        elif found is not self.profile:
            log.warning("modem %s: ATI0 answered %r but profile=%s was asked for", self.port,
                        self.product, self.profile.name)
        prof = self.profile
        classes = " ".join(await self._command("AT+FCLASS=?"))
        if "8" not in re.split(r"[,()\s]+", classes):
            raise BoardError(f"modem {self.port}: not a voice modem (AT+FCLASS=? gave {classes!r})")
        if self._fmt_name is not None and self._fmt_name not in prof.formats:
            raise ConfigError(f"modem {self.port}: profile {prof.name} has no format {self._fmt_name!r} "
                              f"(has {', '.join(prof.formats)})")
        self.format = prof.format(self._fmt_name)
        offered = {line.split(",")[0].strip() for line in await self._command("AT+VSM=?")}
        cml = self.format.vsm.split(",")[0]
        if offered and cml not in offered:
            raise BoardError(f"modem {self.port}: AT+VSM=? does not offer {cml} "
                             f"(offers {', '.join(sorted(offered))})")
        self._reader.codec = self.format.codec
        vcid = {"formatted": 1, "raw": 2, "off": 0}[self.cid]
        await self._command(f"AT+VCID={vcid}")
        await self._command("AT+FCLASS=8")
        await self._command(f"AT+VSM={self.format.vsm}")
        await self._command(prof.silence_setting)
        log.info("modem %s: %s (ATI0 %s), format %s, %s duplex", self.port, prof.description,
                 self.product, self.format.vsm, "full" if self.duplex else "half")

    @property
    def _hangup_codes(self):
        if self._hangup_on is not None:
            return self._hangup_on
        return self.profile.hangup_events if self.profile is not None else mp.HANGUP_CODES

    # --- AT protocol (board loop) -----------------------------------------------------------------

    def _write(self, data):
        try:
            self._ser.write(data)
        except serial.SerialTimeoutException:
            raise BoardTimeout(f"modem {self.port}: write timed out") from None
        except (serial.SerialException, OSError, AttributeError) as exc:
            # AttributeError: the port was closed under us (unplugged).
            raise BoardError(f"modem {self.port}: write failed: {exc}") from None

    async def _command(self, command, final=("OK",), timeout=None, raw=None):
        """Send ``command`` (or the bytes ``raw``) and wait for one of ``final``; returns the
        information lines. BoardTimeout when nothing final comes, BoardError on ERROR."""
        if self._ser is None:
            raise BoardError(f"modem {self.port}: not open")
        timeout = self.at_timeout if timeout is None else timeout
        async with self._lock:
            self._responses = asyncio.Queue()
            info = []
            try:
                self._write(raw if raw is not None else (command + "\r").encode("ascii"))
                deadline = self._loop.time() + timeout
                while True:
                    left = deadline - self._loop.time()
                    try:
                        async with asyncio.timeout(max(0.0, left)):
                            line = await self._responses.get()
                    except TimeoutError:
                        raise BoardTimeout(f"modem {self.port}: no answer to {command} within {timeout:g} s") from None
                    if line in final:
                        return info
                    if line in FINAL:
                        raise BoardError(f"modem {self.port}: {command} -> {line}")
                    info.append(line)
            finally:
                self._responses = None

    async def _data_mode_end(self, command, raw, wait_ok):
        """Write ``raw`` to leave +VRX/+VTR and wait until the modem's data has ended."""
        async with self._lock:
            self._data_ended = self._loop.create_future()
            self._responses = asyncio.Queue() if wait_ok else None
            try:
                self._write(raw)
                async with asyncio.timeout(self.at_timeout):
                    await asyncio.shield(self._data_ended)
                if wait_ok:
                    async with asyncio.timeout(self.at_timeout):
                        while await self._responses.get() != "OK":
                            pass
            except TimeoutError:
                raise BoardTimeout(f"modem {self.port}: no end of data after {command} "
                                   f"within {self.at_timeout:g} s") from None
            finally:
                self._data_ended = None
                self._responses = None

    # --- from the reader thread (called on the loop) ------------------------------------------------

    def _text_line(self, line):
        if line.startswith("AT"):
            return                                      # our command echoed (before ATE0)
        if line == "RING":
            self._ring_arrived()
            return
        m = _CID_LINE.match(line)
        if m and self.cid == "formatted":
            self._cid_fields[m.group(1)] = m.group(2).strip()
            self._arm_cid()
            return
        if self.cid == "raw" and self._responses is None and _HEX_LINE.match(line) and len(line) % 2 == 0:
            self._raw_cid(line)
            return
        if self._responses is not None:
            self._responses.put_nowait(line)
        else:
            log.debug("modem %s: unsolicited %r ignored", self.port, line)

    def _data_end(self):
        if self._data_ended is not None and not self._data_ended.done():
            self._data_ended.set_result(None)
        self._mode = "command" if self._mode in ("vrx", "vtr") else self._mode

    def _dle_event(self, code, pos=None):
        if pos is not None and self._mode in ("vrx", "vtr") and code not in self._hangup_codes:
            # A key report arrives ahead of the audio it was heard in (the audio waits in
            # the jitter margin): hold it until the tick reaches that audio, so a key that
            # ends a recording does not cut what was said before it.
            self._held.append((pos, code))
            return
        self._handle_dle(code)

    def _release_held(self, upto=None):
        while self._held and (upto is None or self._held[0][0] <= upto):
            self._handle_dle(self._held.popleft()[1])

    def _handle_dle(self, code):
        ch = self.channels[0]
        if code in mp.DTMF_CODES:
            if self._shield_digit is not None:
                if self._shield_digit:
                    return                              # the same key, still held
                self._shield_digit = code
            if ch.state is ChannelState.CONNECTED:
                ch._digit(code, source="modem")
        elif code == mp.SHIELD_START:
            self._shield_digit = ""
        elif code == mp.SHIELD_END:
            self._shield_digit = None
        elif code == mp.RING_CODE:
            self._ring_arrived()
        elif code in self._hangup_codes and ch.state is ChannelState.CONNECTED:
            log.info("modem %s: DLE %s: the far end hung up", self.port, code)
            ch._remote_hangup()
        elif code == mp.TX_UNDERRUN_CODE:
            self.stats.tx_underruns += 1
        elif code == mp.RX_OVERRUN_CODE:
            self.stats.rx_overruns += 1
        else:
            log.debug("modem %s: DLE %r ignored", self.port, code)

    def _fault(self, exc):
        """A serial error, a timeout or a silent modem: out of service, then reopen with backoff."""
        if not self.is_open or self._recovery is not None:
            return
        log.warning("modem %s: out of service: %s", self.port, exc)
        self.stats.faults += 1
        self._in_service = False
        self._want_hook = self._hook = self._playing = False
        self._mode = "command"
        self._clear_pending()
        for _, future in self._beeps:
            if not future.done():
                future.set_result(None)
        self._beeps.clear()
        self.channels[0]._out_of_service(f"modem: {exc}")
        if self._data_ended is not None and not self._data_ended.done():
            self._data_ended.set_exception(BoardError(f"modem {self.port}: {exc}"))
        self._recovery = self._loop.create_task(self._recover(), name=f"modem {self.port} recovery")

    async def _recover(self):
        delay = self.retry_s
        if self._worker is not None and self._worker is not asyncio.current_task():
            self._worker.cancel()
        while True:
            self._stop_serial()
            await asyncio.sleep(delay)
            try:
                await self._start_modem()
                break
            except (BoardError, OSError, serial.SerialException) as exc:
                log.info("modem %s: still out of service (%s); next try in %g s", self.port, exc,
                         min(delay * 2, self.retry_max_s))
                delay = min(delay * 2, self.retry_max_s)
        log.info("modem %s: back in service", self.port)
        self.stats.recoveries += 1
        self._in_service = True
        self._recovery = None
        self._worker = self._loop.create_task(self._work(), name=f"modem {self.port}")
        self.channels[0]._back_in_service()

    # --- rings and caller ID -------------------------------------------------------------------

    def _ring_arrived(self):
        ch = self.channels[0]
        if ch.state not in (ChannelState.IDLE, ChannelState.RINGING):
            return
        if self._cid_timer is not None:
            self._cid_timer.cancel()
            self._formatted_cid()                       # the lines before this RING are complete
        self._last_ring = self._loop.time()
        ch.ring_count += 1
        ch._offered()                                   # IDLE -> RINGING
        ch._emit("ring", ch.ring_count)

    def _arm_cid(self):
        if self._cid_timer is not None:
            self._cid_timer.cancel()
        self._cid_timer = self._loop.call_later(CID_SETTLE_S, self._formatted_cid)

    def _formatted_cid(self):
        """DATE/TIME/NMBR/NAME lines of AT+VCID=1 (telephony.md §7.1) -> CallerId."""
        fields, self._cid_fields, self._cid_timer = self._cid_fields, {}, None
        number, name = fields.get("NMBR"), fields.get("NAME")
        date = fields.get("DATE", "") + fields.get("TIME", "")
        kw = {}
        if number in callerid.ABSENCE_REASONS:
            kw["number_absent"], number = number, None
        if name in callerid.ABSENCE_REASONS:
            kw["name_absent"], name = name, None
        try:
            cid = callerid.CallerId(number=number or None, name=name or None,
                                    date=date if len(date) == 8 else None,
                                    format="mdmf" if name or "NAME" in fields else "sdmf", **kw)
        except ValueError as exc:
            log.warning("modem %s: caller ID %s not usable: %s", self.port, fields, exc)
            return
        self._deliver_cid(cid)

    def _raw_cid(self, line):
        """The hex message of AT+VCID=2 -> CallerId (nothing on a bad checksum, §7.1)."""
        try:
            cid, ok = callerid.decode_message(bytes.fromhex(line))
        except ValueError as exc:
            log.warning("modem %s: raw caller ID %r not usable: %s", self.port, line, exc)
            return
        if not ok:
            log.warning("modem %s: raw caller ID with a bad checksum ignored", self.port)
            return
        self._deliver_cid(cid)

    def _deliver_cid(self, cid):
        ch = self.channels[0]
        if ch.state is ChannelState.RINGING and ch.caller_id is None:
            ch.caller_id = cid
            ch._emit("caller_id", cid)

    # --- the tick -------------------------------------------------------------------------------

    def _receive(self, rx):
        self._playing = self._engine.queued(0) > 0
        ring = self._ring
        fill = ring.fill
        if self._mode not in ("vrx", "vtr"):
            if fill:
                ring.read()                             # stale audio from before a mode change
            self._release_held()
            self._rx_primed = False
            rx[0] = 0
            return
        if fill > RX_MAX_LAG:
            self.stats.rx_dropped += fill - RX_PREFILL
            ring.read(fill - RX_PREFILL)
            fill = RX_PREFILL
        if self._rx_primed and fill < self.tick_samples:
            # Late audio: a tick of silence now, and the margin is built up again (the
            # samples waiting are kept, so nothing received is lost).
            self.stats.rx_underruns += 1
            self._rx_primed = False
        if not self._rx_primed and fill < RX_PREFILL:
            rx[0] = 0
            return
        self._rx_primed = True
        rx[0] = ring.read(self.tick_samples)
        self._release_held(ring.stats["read"])

    def _transmit(self, tx):
        if not self._in_service:
            return
        streaming = self._mode == "vtr" or (self._mode == "vtx" and self._playing)
        if self._playing or streaming:
            data = mp.dle_escape(mp.encode(self.format.codec, tx[0]))
            if self._pending or self._mode not in ("vtx", "vtr"):
                self._hold(data, tx.shape[1])
            else:
                self._send_audio(data, tx.shape[1])
        if self._wake is not None and self._desired_mode() != self._mode:
            self._wake.set()

    def _hold(self, data, samples):
        if len(self._pending) + len(data) > TX_MAX_PENDING_S * dsp.SAMPLE_RATE:
            self.stats.tx_dropped += samples           # the modem is not taking audio
            return
        self._pending += data
        self._pending_samples += samples

    def _clear_pending(self):
        self._pending.clear()
        self._pending_samples = 0

    def _send_audio(self, data, samples):
        try:
            self._write(data)
        except BoardError as exc:
            self._fault(exc)
            return
        self._tx_written += samples

    def _cancel_tx(self):
        """Barge-in or stop: drop what is queued here and in the modem (DLE CAN)."""
        self._clear_pending()
        if self._mode in ("vtx", "vtr") and self._ser is not None:
            try:
                self._write(mp.DLE_CAN)
            except BoardError as exc:
                self._fault(exc)
                return
            self._tx_written = 0
            self._tx_since = self._loop.time()

    def _signalling(self, rx):
        ch = self.channels[0]
        now = self._loop.time()
        if (ch.state is ChannelState.RINGING and self._last_ring is not None
                and now - self._last_ring > self.ring_timeout_s):
            ch._abandoned()                             # RINGING -> IDLE
            self._last_ring = None
        reader = self._reader
        if (self._mode in ("vrx", "vtr") and reader is not None and self._recovery is None
                and time.monotonic() - reader.last_byte > RX_STALL_S):
            self._fault(BoardTimeout(f"modem {self.port}: no data for {RX_STALL_S:g} s in +{self._mode.upper()}"))

    def _set_hook(self, channel, offhook):
        self._want_hook = offhook
        if not offhook:
            self._clear_pending()
            self._playing = False
        if self._wake is not None:
            self._wake.set()

    # --- line worker: AT exchanges that follow the channel ----------------------------------------

    def _desired_mode(self):
        if not (self._want_hook and self._in_service):
            return "command"
        if self._beeps:
            return "command"
        if self.duplex:
            return "vtr"
        return "vtx" if self._playing else "vrx"

    async def _work(self):
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._reconcile()
            except (BoardError, OSError, serial.SerialException) as exc:
                self._fault(exc)
                return

    async def _reconcile(self):
        """Step the modem towards what the channel wants (hook, mode, beeps)."""
        while True:
            want = self._desired_mode()
            if self._mode != "command" and self._mode != want:
                await self._to_command_mode()
            elif self._want_hook and not self._hook:
                await self._command("AT+FCLASS=8")
                await self._command("AT+VLS=1", final=("OK", "VCON"))
                self._hook = True
            elif self._hook and not self._want_hook:
                await self._command(HANGUP)
                self._hook = False
            elif self._hook and self._beeps:
                ms, future = self._beeps.pop(0)
                try:
                    # AT+VTS=[f1,f2,d], d in 10 ms (telephony.md §7.1).
                    await self._command(f"AT+VTS=[1000,0,{max(1, ms // 10)}]", timeout=self.at_timeout + ms / 1000)
                finally:
                    if not future.done():
                        future.set_result(None)
            elif self._hook and self._mode != want:
                await self._enter(want)
            else:
                return

    async def _enter(self, mode):
        reader = self._reader
        reader.expect_audio = mode in ("vrx", "vtr")
        try:
            await self._command(f"AT+{mode.upper()}", final=("CONNECT",))
        except BaseException:
            reader.expect_audio = False
            raise
        self._mode = mode
        self._rx_primed = False
        reader.last_byte = time.monotonic()
        if mode in ("vtx", "vtr"):
            prefill = int(TX_PREFILL_S * dsp.SAMPLE_RATE)
            backlog, samples = bytes(self._pending), self._pending_samples
            self._clear_pending()
            self._tx_written = 0
            self._tx_since = self._loop.time()
            self._send_audio(mp.encode(self.format.codec, np.zeros(prefill, dtype=np.int16)) + backlog, prefill + samples)

    async def _to_command_mode(self):
        mode = self._mode
        if mode == "command":
            return
        reader = self._reader
        if mode == "vtx":
            if not self._want_hook:
                self._write(mp.DLE_CAN)                 # hanging up: what it holds is moot
                self._tx_written = 0
            # DLE ETX: the modem plays what it holds, then OK (telephony.md §7.2).
            left = self._tx_written / dsp.SAMPLE_RATE - (self._loop.time() - self._tx_since)
            await self._command("DLE ETX", raw=self.profile.end_play,
                                timeout=self.at_timeout + max(0.0, left))
        elif mode == "vrx":
            reader.stopping = True
            await self._data_mode_end("DLE !", mp.DLE_RX_ABORT, wait_ok=self.profile.record_end == "ok")
        else:
            reader.stopping = True
            self._write(mp.DLE_CAN)
            await self._data_mode_end("DLE ^", mp.DLE_DUPLEX_END, wait_ok=True)
        self._mode = "command"

    async def _vts_beep(self, ch, ms=200):
        """A 1 kHz beep of ``ms`` from the modem itself (AT+VTS), as the record cue."""
        future = self._loop.create_future()
        self._beeps.append((ms, future))
        self._wake.set()
        await ch._wait_any(future)
