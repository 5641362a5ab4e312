"""Emulated boards: emu://analog (FXO ports facing a simulated exchange) and emu://e1.

URL options of emu://analog (defaults in brackets):

    ports=N            number of ports [8]
    fxs=K              the last K ports are FXS: the board feeds and rings a phone there
                       (agent positions) [0]
    region=R           tone table, ring cadence (voiceboard/data/tones.yaml) [cn]
    cid=fsk|off        caller-ID decoding: FSK (Bell 202 or V.23) between ring 1 and 2, or
                       DTMF before ring 1 -- both are tried [fsk]
    busydetect=1|0     hang up on busy or congestion tone from the exchange [1]
    disconnect_ms=MS   loop-current drop that means the far end hung up [100]
    ring_timeout_s=S   a ringing call with no ring for this long was abandoned [8]
    disconnect=KIND    how the simulated exchange signals a caller's hangup:
                       battery, busy, congestion, battery+busy, battery+congestion
                       [battery+busy]
    jitter=F           the exchange varies each on/off time of its tones by up to
                       +-F (0.1 = 10 %) [0]
    seed=N             random seed of the simulated exchange [0]
    cable=PATH         the exchange runs in another process (voiceboard linesim --listen
                       PATH), reached over a UNIX socket (drivers/cable.py) [in-process]
    dtmf_mode=M        DTMF receiver preset: normal, sensitive, strict [normal]

The board runs on whatever event loop opens it: real time on a normal loop (the daemon), virtual
time on voiceboard.clock.VirtualTimeLoop (tests, simulator).

The board's DSP does the work a real board does: ring detection with debounce on the line
voltage, caller ID decoded from the line audio, disconnect supervision by loop current and by
busy-tone detection (DAHDI's kewlstart and busydetect), call-progress analysis when dialling.
The exchange at the far end (:mod:`drivers.linesim`) is real code too: what it sends is
audio and line signals, never events. See docs/board.md.
"""
import asyncio
import logging

import numpy as np

from drivers import no_more_options, option
from drivers.cable import CableEnd
from drivers.lines import RING_VRMS, LineBank
from drivers.linesim import Exchange
from voiceboard import callerid, dsp, tones
from voiceboard.board import BoardBase, Capabilities, DialResult
from voiceboard.errors import ConfigError
from voiceboard.states import ChannelState

log = logging.getLogger("voiceboard.emu")

RING_THRESHOLD_V = 40.0     # ring detector trips above this RMS voltage (China rings at ~90 Vrms)
RING_DEBOUNCE_S = 0.064     # DAHDI DEFAULT_RING_DEBOUNCE (telephony.md §4.2)
RING_MIN_S = 0.2            # shorter bursts are not rings (DAHDI treats < 200 ms as noise)
CID_HISTORY_S = 6.0         # on-hook audio kept for caller-ID decoding (ring 1 + gap + data)
FLASH_MS = 600              # hook flash sent (⚠ no regional source; DAHDI sends 750 ms)
OPEN_SWITCH_S = 0.8         # battery withheld from a phone when the board hangs up (kewlstart)


def list_devices():
    return ["emu://analog?ports=8&region=cn   analog FXO ports on a simulated exchange",
            "emu://e1?spans=1                  E1 spans (China No.1 / MFC-R2) on a simulated exchange"]


def open_url(url, host, path, options):
    if host == "e1":
        from drivers import emu_e1
        return emu_e1.open_url(url, host, path, options)
    if host != "analog":
        raise ConfigError(f"board URL {url!r}: emu:// knows 'analog' and 'e1' (got {host!r})")
    kw = dict(
        ports=option(options, "ports", int, 8, url),
        fxs=option(options, "fxs", int, 0, url),
        region=option(options, "region", str, "cn", url),
        cid=option(options, "cid", str, "fsk", url),
        busydetect=option(options, "busydetect", lambda v: bool(int(v)), True, url),
        disconnect_ms=option(options, "disconnect_ms", int, 100, url),
        ring_timeout_s=option(options, "ring_timeout_s", float, 8.0, url),
        disconnect=option(options, "disconnect", str, "battery+busy", url),
        dtmf_mode=option(options, "dtmf_mode", str, "normal", url),
        jitter=option(options, "jitter", float, 0.0, url),
        seed=option(options, "seed", int, 0, url),
        cable=option(options, "cable", str, None, url),
    )
    no_more_options(options, url)
    if not 1 <= kw["ports"] <= 256:
        raise ConfigError(f"board URL {url!r}: ports must be 1 to 256")
    if not 0 <= kw["fxs"] <= kw["ports"]:
        raise ConfigError(f"board URL {url!r}: fxs must be 0 to ports")
    if kw["cid"] not in ("fsk", "off"):
        raise ConfigError(f"board URL {url!r}: cid must be fsk or off")
    return EmuAnalogBoard(**kw)


class EmuAnalogBoard(BoardBase):
    """FXO ports on an emulated exchange's lines."""

    SCHEME = "emu"

    def __init__(self, ports=8, fxs=0, region="cn", cid="fsk", busydetect=True, disconnect_ms=100,
                 ring_timeout_s=8.0, disconnect="battery+busy", dtmf_mode="normal",
                 directory=None, jitter=0.0, seed=0, cable=None):
        super().__init__(ports, dtmf_mode=dtmf_mode)
        self.region = region
        self.cid = cid
        self.busydetect = busydetect
        self.disconnect_ticks = max(1, int(round(disconnect_ms / 1000 / self.clock.tick_seconds)))
        self.ring_timeout_ticks = int(round(ring_timeout_s / self.clock.tick_seconds))
        self.fxs = np.zeros(ports, dtype=bool)
        self.fxs[ports - fxs:] = fxs > 0
        self._exchange_options = dict(region=region, disconnect=disconnect, directory=directory,
                                      cadence_jitter=jitter, seed=seed, fxs=np.flatnonzero(self.fxs))
        self.bank = LineBank(ports, self.tick_samples)
        self.exchange = None
        self.cable_path = cable
        self._cable = None
        tick_s = self.clock.tick_seconds
        self._debounce_ticks = max(1, int(round(RING_DEBOUNCE_S / tick_s)))
        self._ring_min_ticks = int(round(RING_MIN_S / tick_s))
        self._volts = np.zeros(ports, dtype=np.int32)         # consecutive ticks with ringing voltage
        self._quiet = np.zeros(ports, dtype=np.int32)         # consecutive ticks without
        self._ringing = np.zeros(ports, dtype=bool)           # a ring is in progress (debounced)
        self._counted = np.zeros(ports, dtype=bool)           # ... and it has been counted
        self._no_battery = np.zeros(ports, dtype=np.int32)    # consecutive ticks of loop-current drop
        self._history = np.zeros((ports, int(CID_HISTORY_S * dsp.SAMPLE_RATE)), dtype=np.int16)
        self._history_pos = 0
        self._cid_tried = np.zeros(ports, dtype=np.int32)     # rings at which CID was looked for
        self._busy = {}                                       # channel -> CallProgressDetector
        self._progress = {}                                   # channel -> asyncio.Queue of CPD events
        self._progress_detector = {}                          # channel -> CallProgressDetector
        self._phone_on = np.zeros(ports, dtype=np.int32)      # FXS: consecutive ticks the phone is off-hook
        self._phone_down = np.zeros(ports, dtype=np.int32)    # FXS: ... on-hook
        self._open_switch = np.zeros(ports, dtype=np.int32)   # FXS: ticks of battery still to withhold
        self._ringers = {}                                    # FXS channel -> (future, cid signal, rings)

    @property
    def capabilities(self):
        return Capabilities(channels=len(self.channels), full_duplex=True, caller_id=self.cid != "off",
                            call_progress=True, bridging=True, ringing=True, signalling="analog")

    async def _open(self):
        if self.cable_path:
            self._cable = CableEnd(self.cable_path, self.bank)
        else:
            self.exchange = Exchange(self.bank, **self._exchange_options)

    async def _close(self):
        for det in self._busy.values():
            det.close()
        self._busy.clear()
        if self._cable is not None:
            self._cable.close()
        else:
            self.exchange.close()

    # --- media -----------------------------------------------------------------------------

    def _receive(self, rx):
        if self._cable is not None:
            self._cable.exchange()
        else:
            self.exchange.tick()
        rx[...] = self.bank.down

    def _transmit(self, tx):
        self.bank.up[...] = tx

    def _set_hook(self, channel, offhook):
        if self.fxs[channel]:
            if not offhook:
                # Hanging up towards a phone: stop ringing, withhold battery for the
                # open-switch interval so the phone sees the disconnect (§4.3 kewlstart).
                self.bank.ring_to_phone[channel] = 0.0
                self._open_switch[channel] = int(round(OPEN_SWITCH_S / self.clock.tick_seconds))
                ringer = self._ringers.pop(channel, None)
                if ringer is not None and not ringer[0].done():
                    ringer[0].set_result("hangup")
            return
        self.bank.offhook[channel] = offhook
        if not offhook:
            # Caller ID is looked for in on-hook audio only: forget the call's conversation.
            self._history[channel, :] = 0
            det = self._busy.pop(channel, None)
            if det is not None:
                det.close()

    # --- signalling --------------------------------------------------------------------------

    def _signalling(self, rx):
        tick = self.tick_samples
        pos = self._history_pos
        self._history[:, pos:pos + tick] = rx
        self._history_pos = (pos + tick) % self._history.shape[1]
        self._rings()
        self._supervise(rx)
        if self.fxs.any():
            self._feed_phones()

    def _rings(self):
        volts = self.bank.ring_v > RING_THRESHOLD_V
        self._volts = np.where(volts, self._volts + 1, 0)
        self._quiet = np.where(volts, 0, self._quiet + 1)
        # Debounce: a ring starts after RING_DEBOUNCE_S of voltage and ends after as long without.
        self._ringing |= self._volts >= self._debounce_ticks
        self._ringing &= self._quiet < self._debounce_ticks
        newly = np.flatnonzero(self._ringing & ~self._counted & (self._volts >= self._ring_min_ticks) & ~self.fxs)
        for n in newly:
            self._counted[n] = True
            self._ring(self.channels[n])
        self._counted &= self._ringing
        for ch in self.channels:
            if ch.state is ChannelState.RINGING and self._quiet[ch.number] >= self.ring_timeout_ticks:
                ch._abandoned()                              # RINGING -> IDLE
                self._cid_tried[ch.number] = 0

    def _ring(self, ch):
        if ch.state not in (ChannelState.IDLE, ChannelState.RINGING):
            return
        if ch.state is ChannelState.IDLE:
            self._cid_tried[ch.number] = 0          # a new call: look for its caller ID
        ch.ring_count += 1
        if self.cid != "off" and ch.caller_id is None and self._cid_tried[ch.number] < ch.ring_count <= 2:
            # DTMF caller ID comes before ring 1, FSK between ring 1 and ring 2 (§5.3).
            self._cid_tried[ch.number] = ch.ring_count
            self._decode_cid(ch)
        ch._offered()                                        # IDLE -> RINGING
        ch._emit("ring", ch.ring_count)

    def _decode_cid(self, ch):
        pos = self._history_pos
        audio = np.concatenate([self._history[ch.number, pos:], self._history[ch.number, :pos]])
        found = callerid.decode_onhook(audio)
        if found:
            cid, checksum_ok, mode = found[-1]
            if checksum_ok is False:
                log.warning("channel %d: caller ID (%s) with a bad checksum ignored", ch.number, mode)
                return
            ch.caller_id = cid
            ch._emit("caller_id", cid)

    def _supervise(self, rx):
        bank = self.bank
        lost = bank.offhook & ~bank.battery
        self._no_battery = np.where(lost, self._no_battery + 1, 0)
        for n in np.flatnonzero(self._no_battery == self.disconnect_ticks):
            ch = self.channels[n]
            log.info("channel %d: loop current dropped: far end hung up", n)
            ch._remote_hangup()
        for ch in self.channels:
            n = ch.number
            if ch.state is ChannelState.CONNECTED and self.busydetect:
                det = self._busy.get(n)
                if det is None:
                    det = self._busy[n] = dsp.CallProgressDetector(self.region, tones=("busy", "congestion"))
                if any(ev.kind == "tone" for ev in det.feed(rx[n])):
                    log.info("channel %d: busy tone: far end hung up", n)
                    ch._remote_hangup()
            queue = self._progress.get(n)
            if queue is not None:
                for ev in self._progress_detector[n].feed(rx[n]):
                    queue.put_nowait(ev)

    # --- FXS ports: the board feeds a phone ---------------------------------------------------

    def _feed_phones(self):
        bank = self.bank
        self._phone_on = np.where(bank.phone_offhook, self._phone_on + 1, 0)
        self._phone_down = np.where(bank.phone_offhook, 0, self._phone_down + 1)
        withheld = self._open_switch > 0
        bank.battery_to_phone[:] = ~withheld | ~self.fxs
        self._open_switch = np.where(withheld, self._open_switch - 1, 0)
        for n in np.flatnonzero(self.fxs):
            ch = self.channels[n]
            if n in self._ringers:
                self._ring_cadence(ch)
            elif ch.state is ChannelState.IDLE and self._phone_on[n] == self.disconnect_ticks and not withheld[n]:
                ch._hungup.clear()
                ch._set_state(ChannelState.CONNECTED)        # IDLE -> CONNECTED (phone lifted)
                ch._emit("offhook")
            elif ch.state is ChannelState.CONNECTED and self._phone_down[n] == self.disconnect_ticks:
                log.info("channel %d: the phone hung up", n)
                ch._remote_hangup()

    def _ring_cadence(self, ch):
        n = ch.number
        future, cid_signal, state = self._ringers[n]
        if self._phone_on[n] >= self._debounce_ticks:
            self.bank.ring_to_phone[n] = 0.0
            del self._ringers[n]
            ch._set_state(ChannelState.CONNECTED)            # DIALING -> CONNECTED
            if not future.done():
                future.set_result("answered")
            return
        region = tones.region(self.region)
        on_ticks = int(round(region.ring_cadence_ms[0] / 1000 / self.clock.tick_seconds))
        cycle = on_ticks + int(round(region.ring_cadence_ms[1] / 1000 / self.clock.tick_seconds))
        t = state["ticks"]
        state["ticks"] += 1
        phase = t % cycle
        self.bank.ring_to_phone[n] = RING_VRMS if phase < on_ticks else 0.0
        if phase == 0:
            state["rings"] += 1
            if state["rings"] > state["max"]:
                self.bank.ring_to_phone[n] = 0.0
                del self._ringers[n]
                if not future.done():
                    future.set_result("no_answer")
                return
        # Caller ID between the first and the second ring (GR-30 / China, §5.3).
        if cid_signal is not None and state["rings"] == 1 and phase == on_ticks + int(round(0.6 / self.clock.tick_seconds)):
            self._engine.play(n, cid_signal)

    async def _ring_phone(self, ch, caller_id, max_rings):
        n = ch.number
        if not self.fxs[n]:
            return await super()._ring_phone(ch, caller_id, max_rings)
        signal = callerid.onhook_signal(caller_id) if caller_id is not None else None
        future = asyncio.get_running_loop().create_future()
        ch._hungup.clear()
        ch._set_state(ChannelState.DIALING)                  # IDLE -> DIALING (ringing the phone)
        self._ringers[n] = (future, signal, {"ticks": 0, "rings": 0, "max": max_rings})
        outcome = await future
        if outcome != "answered" and ch.state is ChannelState.DIALING:
            self._engine.stop_play(n)
            ch._set_state(ChannelState.IDLE)                 # DIALING -> IDLE
        return DialResult(outcome)

    # --- operations -----------------------------------------------------------------------------

    async def _flash(self, channel, ms):
        ms = FLASH_MS if ms is None else ms
        self.bank.offhook[channel] = False
        await asyncio.sleep(ms / 1000)
        self.bank.offhook[channel] = True

    async def _dial(self, ch, number, dialtone_timeout, answer_timeout):
        """Off-hook, wait for dial tone, send DTMF, then call-progress analysis."""
        n = ch.number
        ch._hungup.clear()
        ch._set_state(ChannelState.DIALING)                  # IDLE -> DIALING
        self._set_hook(n, True)
        queue = asyncio.Queue()
        self._progress_detector[n] = dsp.CallProgressDetector(self.region)
        self._progress[n] = queue
        try:
            outcome = await self._progress_wait(ch, queue, ("dial",), dialtone_timeout)
            if outcome != "dial":
                return self._dial_failed(ch, "no_dialtone" if outcome is None else outcome)
            self._engine.play(n, dsp.dtmf_samples(number, on_ms=80, off_ms=80))
            outcome = await self._progress_wait(ch, queue, ("voice", "busy", "congestion", "sit"),
                                                answer_timeout)
            if outcome == "voice":
                ch._set_state(ChannelState.CONNECTED)        # DIALING -> CONNECTED
                return DialResult("answered")
            return self._dial_failed(ch, {None: "no_answer"}.get(outcome, outcome))
        finally:
            self._progress.pop(n, None)
            self._progress_detector.pop(n).close()

    async def _progress_wait(self, ch, queue, wanted, timeout):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0 or ch._hungup.is_set():
                return None if not ch._hungup.is_set() else "hangup"
            try:
                async with asyncio.timeout(left):
                    ev = await queue.get()
            except TimeoutError:
                return None
            name = ev.tone if ev.kind == "tone" else ev.kind
            if name in wanted:
                return name

    def _dial_failed(self, ch, outcome):
        if ch.state is ChannelState.DIALING:
            self._set_hook(ch.number, False)
            ch._set_state(ChannelState.IDLE)                 # DIALING -> IDLE
        return DialResult(outcome)
