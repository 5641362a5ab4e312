"""A voice modem on a pseudo-terminal, with a telephone line and a caller behind it.

:class:`ModemEmulator` opens a pty (``os.openpty`` + ``tty.setraw``); the driver opens the
slave path with pyserial exactly as it opens ``/dev/ttyACM0``. A thread plays the modem: it
answers AT commands in the dialect of a chipset profile (:mod:`drivers.modem_profiles`:
Conexant or USR, quirks included), rings with caller ID, and moves audio at the real rate
of the line -- 8000 samples/s each way, whatever the DTE writes -- so a DTE that falls
behind hears its own underrun (reported as DLE u) and one that stops reading loses audio.

The caller is scripted from asyncio code, in the spirit of
:class:`drivers.linesim.ExchangePort`::

    emu = ModemEmulator("conexant", ring_period=1.0).start()
    answered = await emu.call(CallerId(number="2156430144", date="03171656"))
    await emu.press("123#", inband=False)      # the modem's own detector: DLE 1 DLE 2 ...
    await emu.press("9", inband=True)          # DTMF audio for the DTE's detector
    heard = await emu.listen(1.5)              # what the DTE played, int16 at 8 kHz
    await emu.hangup("l")                      # loop-current interruption (DLE l)

Keys pressed with ``inband=False`` are only reported as DLE events (the caller's audio
carries nothing); with ``inband=True`` they are only audio (as when the modem's detector is
off). A real modem usually does both; the driver copes with either and with both.

Faults for tests: :meth:`noise` (garbage bytes), ``split_dle=True`` (every DLE pair, the
first doubled 0x10 of each audio step and every result line are written in two pieces,
apart in time), :meth:`mute` (the modem stops
answering), :meth:`unplug` / :meth:`replug` (the device disappears and comes back at the same
``link`` path, as a udev by-id link does).
"""
import asyncio
import logging
import os
import re
import select
import threading
import time
import tty

import numpy as np

from drivers import modem_profiles as mp
from voiceboard import callerid, dsp

log = logging.getLogger("voiceboard.modem_emulator")

RATE = dsp.SAMPLE_RATE          # 8000 bytes/s of 8-bit samples (telephony.md §7.3)
STEP_S = 0.010                  # the emulator's audio step
MAX_PLAYOUT_S = 4.0             # the modem's transmit buffer; more is dropped (overrun)
SPLIT_GAP_S = 0.015             # gap between the two halves of a split DLE pair
DTMF_REPEAT_S = 0.070           # a held key is re-reported every ~70 ms (telephony.md §7.2)
VTD_DEFAULT = 10                # +VTD default tone length, 10 ms units (⚠ not sourced)


class ModemEmulator:
    """See the module docstring.

    Parameters
    ----------
    profile : str
        "conexant" or "usr" (:data:`drivers.modem_profiles.PROFILES`).
    link : str, optional
        A symlink kept pointing at the current pty (survives :meth:`replug`).
    ring_period : float
        Seconds from one RING to the next (China: 1 s on + 4 s off = 5 s, telephony.md §4.2).
    cid_delay : float
        Seconds after the first RING when the caller-ID lines come.
    split_dle : bool
        Write DLE pairs, doubled 0x10s and result lines in two pieces (split across reads).
    """

    def __init__(self, profile="conexant", link=None, ring_period=5.0, cid_delay=0.5, split_dle=False):
        self.profile = mp.profile(profile)
        self.link = link
        self.ring_period = ring_period
        self.cid_delay = cid_delay
        self.split_dle = split_dle
        self.commands = []              # every AT command received, in order
        self.underruns = 0              # transmit underrun episodes (DLE u sent)
        self.dropped = 0                # bytes the DTE did not read in time
        self._lock = threading.RLock()
        self._master = self._slave = None
        self._path = None
        self._thread = None
        self._stop = threading.Event()
        self._muted = False
        self._reset_modem()
        self._ringing = False
        self._rings = 0
        self._max_rings = 0
        self._next_ring = 0.0
        self._cid_at = None
        self._cid = None
        self._answered = None           # True/False once the call was answered or given up
        self._caller = False            # a caller is on the line (off-hook, not hung up)
        self._send = []                 # caller audio waiting to go to the modem (int16 arrays)
        self._send_pos = 0
        self._events = []               # (due monotonic time, DLE code) for the DTE
        self._heard = None              # list of int16 arrays while listen() runs

    # --- life cycle ------------------------------------------------------------------------

    def start(self):
        """Open the pty and start the modem thread; returns self."""
        self._open_pty()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="modem-emulator", daemon=True)
        self._thread.start()
        return self

    def close(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._close_pty()
        if self.link and os.path.islink(self.link):
            os.unlink(self.link)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    @property
    def port(self):
        """The path a DTE opens: ``link`` if given, else the pty slave."""
        return self.link or self._path

    def _open_pty(self):
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave, self._path = master, slave, os.ttyname(slave)
        if self.link:
            tmp = self.link + ".new"
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(self._path, tmp)
            os.replace(tmp, self.link)

    def _close_pty(self):
        with self._lock:
            for fd in (self._master, self._slave):
                if fd is not None:
                    os.close(fd)
            self._master = self._slave = None

    # --- faults -----------------------------------------------------------------------------

    def noise(self, data):
        """Write garbage bytes to the DTE now (line noise on the serial link)."""
        with self._lock:
            self._write(bytes(data))

    def mute(self, muted=True):
        """Stop answering (and sending anything at all), or start again."""
        with self._lock:
            self._muted = muted

    def unplug(self):
        """The device goes away: both sides of the pty are closed; the call is lost."""
        with self._lock:
            self._close_pty()
            self._reset_modem()
            self._caller = self._ringing = False

    def replug(self):
        """A fresh device appears (a new pty; ``link`` follows it)."""
        with self._lock:
            self._open_pty()

    # --- the caller -------------------------------------------------------------------------

    async def call(self, caller_id=None, max_rings=10):
        """Ring the modem (caller ID lines after the first RING if +VCID is on); True once the
        DTE goes off-hook, False after ``max_rings`` unanswered rings."""
        with self._lock:
            if self._caller or self._ringing:
                raise RuntimeError("modem emulator: call() while a call is in progress")
            self._ringing, self._rings, self._max_rings = True, 0, max_rings
            self._next_ring = time.monotonic()
            self._cid, self._cid_at, self._answered = caller_id, None, None
        while self._answered is None:
            await asyncio.sleep(0.01)
        return self._answered

    async def press(self, digits, inband=True, on_ms=80, off_ms=80, level_dbm0=-10.0):
        """Press keys: DTMF audio (``inband``) or the modem's DLE digit reports."""
        if inband:
            await self.send(dsp.dtmf_samples(digits, level_dbm0=level_dbm0, on_ms=on_ms, off_ms=off_ms))
            return
        bad = [d for d in digits if d.upper() not in mp.DTMF_CODES]
        if bad:
            raise ValueError(f"press: {bad[0]!r} is not a DTMF digit")
        now = time.monotonic()
        step = (on_ms + off_ms) / 1000
        with self._lock:
            for i, d in enumerate(digits.upper()):
                t = now + i * step
                if self.profile.dtmf_report == "shielded":
                    # DLE / DLE d (repeated while held) DLE ~ (telephony.md §7.2).
                    self._events.append((t, mp.SHIELD_START))
                    reps = max(1, int(on_ms / 1000 / DTMF_REPEAT_S))
                    self._events += [(t + k * DTMF_REPEAT_S, d) for k in range(reps)]
                    self._events.append((t + on_ms / 1000, mp.SHIELD_END))
                else:
                    self._events.append((t, d))
            self._events.sort(key=lambda e: e[0])
        await asyncio.sleep(len(digits) * step)

    async def send(self, samples):
        """Caller audio (int16 at 8 kHz) onto the line; returns when it has all been sent."""
        arr = np.asarray(samples, dtype=np.int16).copy()
        with self._lock:
            if not self._caller:
                raise RuntimeError("modem emulator: send() with no call on the line")
            self._send.append(arr)
        while True:
            with self._lock:
                if not self._send or not self._caller:
                    return
            await asyncio.sleep(0.01)

    async def listen(self, seconds):
        """What the modem put on the line (played audio, +VTS tones, silence) for ``seconds``."""
        with self._lock:
            self._heard = []
        await asyncio.sleep(seconds)
        with self._lock:
            heard, self._heard = self._heard, None
        return np.concatenate(heard) if heard else np.zeros(0, dtype=np.int16)

    async def hangup(self, signal="l"):
        """The caller hangs up; the modem reports DLE ``signal`` (l loop current, b busy)."""
        with self._lock:
            if self._ringing:
                self._ringing = False
                self._answered = False
                return
            if self._caller:
                self._caller = False
                self._send.clear()
                self._events = [(time.monotonic(), signal)]

    @property
    def offhook(self):
        return self._hook

    @property
    def mode(self):
        """"command", "vtx", "vrx" or "vtr"."""
        return self._mode

    # --- the modem thread ---------------------------------------------------------------------

    def _reset_modem(self):
        self._echo = True
        self._fclass = 0
        self._vcid = 0
        self._codec = self.profile.format().codec
        self._hook = False
        self._mode = "command"
        self._line = bytearray()
        self._decoder = mp.DleDecoder(sub=False)
        self._playout = bytearray()
        self._ending = False
        self._underrun = False
        self._fed = False               # audio came since CONNECT (no underrun before that)
        self._tones = []                # int16 arrays +VTS puts on the line
        self._ok_at = None              # when the OK of a +VTS is due

    def _run(self):
        last = time.monotonic()
        while not self._stop.is_set():
            master = self._master
            if master is None:
                time.sleep(STEP_S)
                last = time.monotonic()
                continue
            try:
                ready, _, _ = select.select([master], [], [], STEP_S / 2)
            except (OSError, ValueError):
                continue
            with self._lock:
                if ready and self._master is not None:
                    try:
                        data = os.read(self._master, 4096)
                    except OSError:
                        data = b""      # the DTE side is closed: nothing to read
                    if data and not self._muted:
                        self._from_dte(data)
                now = time.monotonic()
                n = int(now * RATE) - int(last * RATE)
                if n >= RATE * STEP_S:
                    last = now
                    if not self._muted:
                        self._step(now, n)

    def _write(self, data):
        if self._master is None or not data:
            return
        try:
            written = os.write(self._master, data)
        except (BlockingIOError, OSError):
            written = 0
        self.dropped += len(data) - written

    def _write_split(self, data, cut):
        """Write data in two pieces, SPLIT_GAP_S apart, so the DTE reads them separately."""
        self._write(data[:cut])
        self._lock.release()
        try:
            time.sleep(SPLIT_GAP_S)
        finally:
            self._lock.acquire()
        self._write(data[cut:])

    def _send_dle(self, code):
        pair = bytes([mp.DLE, ord(code)])
        if self.split_dle:
            self._write_split(pair, 1)
        else:
            self._write(pair)

    def _reply(self, text):
        data = f"\r\n{text}\r\n".encode()
        if self.split_dle:
            self._write_split(data, len(data) // 2)     # e.g. an OK ending +VRX, cut in two
        else:
            self._write(data)

    # --- DTE -> modem ---------------------------------------------------------------------------

    def _from_dte(self, data):
        if self._mode == "command":
            self._command_bytes(data)
            return
        for kind, value in self._decoder.feed(data):
            if kind == "data":
                if self._mode in ("vtx", "vtr"):
                    room = int(MAX_PLAYOUT_S * RATE) - len(self._playout)
                    self._playout += value[:max(0, room)]
                    self._fed = True
                continue
            self._dte_code(value)

    def _dte_code(self, code):
        mode = self._mode
        if code == chr(mp.ETX) and mode == "vtx":
            self._ending = True                         # drain the buffer, then OK
        elif code == chr(mp.CAN) and mode in ("vtx", "vtr"):
            self._playout.clear()
        elif code == "!" and mode == "vrx":
            self._end_data_mode(self.profile.record_end)
        elif code == "^" and mode in ("vtr", "vrx"):
            self._end_data_mode("etx+ok")
        else:
            log.debug("modem emulator: DLE %r ignored in %s", code, mode)

    def _end_data_mode(self, how):
        self._mode = "command"
        self._playout.clear()
        self._decoder.reset()
        if "etx" in how:
            self._write(mp.DLE_ETX)
        if "ok" in how:
            self._reply("OK")

    def _command_bytes(self, data):
        if self._echo:
            self._write(data)
        for byte in data:
            if byte in (0x0D, 0x0A):
                line = self._line.decode("ascii", errors="replace").strip()
                self._line.clear()
                if line:
                    self._command(line)
                    if self._mode != "command":
                        return          # what follows CONNECT is data (none expected)
            elif len(self._line) < 256:
                self._line.append(byte)

    def _command(self, line):
        self.commands.append(line)
        cmd = line.upper()
        if not cmd.startswith("AT"):
            return
        body = cmd[2:]
        result = self._execute(body)
        if result:
            self._reply(result)

    def _execute(self, body):
        prof = self.profile
        if body in ("", "&W0", "V1", "+VNH=0", "+VIT=0", "+IFC=2,2") or body.startswith(("+VGT", "+VGR", "+VSD")):
            return "OK"
        if body in ("Z", "Z0"):
            self._onhook()                  # a reset drops the line
            self._reset_modem()
            return "OK"
        if body in ("E0", "E1"):
            self._echo = body == "E1"
            return "OK"
        if body in ("I", "I0"):
            self._reply(prof.product_codes[0])
            return "OK"
        if body == "I3":
            self._reply(prof.description)
            return "OK"
        if body == "+FCLASS=?":
            self._reply("0,1,2,8")
            return "OK"
        if body == "+FCLASS?":
            self._reply(str(self._fclass))
            return "OK"
        if body in ("+FCLASS=0", "+FCLASS=8"):
            self._fclass = int(body[-1])
            return "OK"
        if body == "+VSM=?":
            for entry in prof.vsm_list:
                self._reply(entry)
            return "OK"
        if body.startswith("+VSM="):
            try:
                fmt = prof.format_for_cml(int(body[5:].split(",")[0]))
            except ValueError:
                fmt = None
            if fmt is None or self._fclass != 8:
                return "ERROR"          # ADPCM and 16-bit formats are not emulated
            self._codec = fmt.codec
            return "OK"
        if body in ("+VCID=0", "+VCID=1", "+VCID=2", "#CID=0", "#CID=1", "#CID=2"):
            self._vcid = int(body[-1])
            return "OK"
        if body in ("+VLS=1", "A"):
            self._offhook()
            return prof.vls_reply if body != "A" else "VCON"
        if body in ("+VLS=0", "H", "H0"):
            self._onhook()
            return "OK"
        if body in ("+VTX", "+VRX", "+VTR"):
            if not self._hook or self._fclass != 8 or (body == "+VTR" and not prof.full_duplex):
                return "ERROR"
            self._mode = body[1:].lower()
            self._decoder.reset()
            self._playout.clear()
            self._ending = self._underrun = self._fed = False
            return "CONNECT"
        if body.startswith("+VTS="):
            tone = self._vts(body[5:])
            if tone is None:
                return "ERROR"
            self._tones.append(tone)
            self._ok_at = time.monotonic() + sum(t.size for t in self._tones) / RATE
            return None                 # OK when the tone has been sent
        return "ERROR"

    def _vts(self, arg):
        """Samples of an AT+VTS argument: [f1,f2,d] tones and DTMF digits (d in 10 ms)."""
        parts = []
        for m in re.finditer(r"\[(\d*),(\d*),(\d+)\]|\{(.),(\d+)\}|([0-9*#A-D])", arg):
            if m.group(3):
                n = int(m.group(3)) * RATE // 100
                t = np.arange(n) / RATE
                wave = np.zeros(n)
                for f in (m.group(1), m.group(2)):
                    if f and int(f):
                        # -13 dBm0 per tone (16141 = 0 dBm0 RMS, telephony.md §1.4).
                        wave += 16141 * np.sqrt(2) * 10 ** (-13 / 20) * np.sin(2 * np.pi * int(f) * t)
                parts.append(np.round(wave).astype(np.int16))
            else:
                digit, dur = (m.group(4), int(m.group(5))) if m.group(4) else (m.group(6), VTD_DEFAULT)
                parts.append(dsp.dtmf_samples(digit, on_ms=dur * 10, off_ms=0))
        return np.concatenate(parts) if parts else None

    def _offhook(self):
        self._hook = True
        if self._ringing:
            self._ringing = False
            self._caller = True
            self._send_pos = 0
            self._answered = True

    def _onhook(self):
        self._hook = False
        self._mode = "command"
        self._caller = False
        self._send.clear()
        self._events = []

    # --- real time -------------------------------------------------------------------------------

    def _step(self, now, n):
        self._ring_step(now)
        due = [code for t, code in self._events if t <= now]
        self._events = [e for e in self._events if e[0] > now]
        self._line_out(n)
        for code in due:
            if self._hook:
                self._send_dle(code)
        self._line_in(n)
        if self._ok_at is not None and now >= self._ok_at:
            self._ok_at = None
            self._reply("OK")

    def _ring_step(self, now):
        if self._ringing and now >= self._next_ring:
            self._rings += 1
            if self._rings > self._max_rings:
                self._ringing = False
                self._answered = False
                return
            self._reply("RING")
            self._next_ring = now + self.ring_period
            if self._rings == 1 and self._cid is not None and self._vcid:
                self._cid_at = now + self.cid_delay
        if self._cid_at is not None and now >= self._cid_at and self._ringing:
            self._cid_at = None
            self._send_cid()

    def _send_cid(self):
        cid = self._cid
        if self._vcid == 2:
            # Raw: the message bytes after the channel seizure, in hex (telephony.md §7.1).
            self._write(f"\r\n{callerid.encode_message(cid).hex().upper()}\r\n".encode())
            return
        lines = []
        if cid.date:
            lines += [f"DATE = {cid.date[:4]}", f"TIME = {cid.date[4:]}"]
        lines.append(f"NMBR = {cid.number or cid.number_absent or 'O'}")
        if cid.name is not None or cid.name_absent is not None:
            lines.append(f"NAME = {cid.name or cid.name_absent}")
        self._write(("\r\n" + "\r\n".join(lines) + "\r\n").encode())

    def _line_out(self, n):
        """n samples from the modem onto the line: played audio, +VTS tones or silence."""
        out = None
        if self._hook and self._mode in ("vtx", "vtr"):
            take = bytes(self._playout[:n])
            del self._playout[:n]
            if len(take) < n and self._mode == "vtx" and self._ending:
                self._ending = False
                self._mode = "command"
                self._reply("OK")
            elif len(take) < n and not self._underrun and self._fed:
                self._underrun = True
                self.underruns += 1
                self._send_dle(mp.TX_UNDERRUN_CODE)
            elif len(take) == n:
                self._underrun = False
            out = mp.decode(self._codec, take) if take else None
            if out is not None and out.size < n:
                out = np.concatenate([out, np.zeros(n - out.size, dtype=np.int16)])
        elif self._tones:
            tone = self._tones[0]
            out, rest = tone[:n], tone[n:]
            if rest.size:
                self._tones[0] = rest
            else:
                self._tones.pop(0)
            if out.size < n:
                out = np.concatenate([out, np.zeros(n - out.size, dtype=np.int16)])
        if self._heard is not None:
            self._heard.append(out if out is not None else np.zeros(n, dtype=np.int16))

    def _line_in(self, n):
        """n samples from the caller through the modem to the DTE (in +VRX / +VTR)."""
        parts = []
        got = 0
        while self._caller and self._send and got < n:
            chunk = self._send[0]
            take = chunk[self._send_pos:self._send_pos + n - got]
            parts.append(take)
            got += take.size
            self._send_pos += take.size
            if self._send_pos >= chunk.size:
                self._send.pop(0)
                self._send_pos = 0
        if not (self._hook and self._mode in ("vrx", "vtr")):
            return
        if got < n:
            parts.append(np.zeros(n - got, dtype=np.int16))
        data = mp.dle_escape(mp.encode(self._codec, np.concatenate(parts)))
        cut = data.find(b"\x10") if self.split_dle else -1
        if cut >= 0:
            self._write_split(data, cut + 1)
        else:
            self._write(data)
