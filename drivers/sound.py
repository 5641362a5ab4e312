"""Sound-card board: ``sound://DEVICE`` -- one or two telephone lines on a PortAudio device.

URL options (defaults in brackets):

    channels=1|2        lines: 1 = mono; 2 = left and right as lines 0 and 1 [1]
    rate=N              device sample rate, samples/s [the device's default rate]
    input=D, output=D   separate capture and playback devices [DEVICE for both]
    latency=L           PortAudio latency: low, high, or seconds [high]
    offer=open|manual   when a call is offered (see below) [open]
    dtmf_mode=M         DTMF receiver preset: normal, sensitive, strict [normal]

DEVICE (and D) is a PortAudio device index or a part of its name, as ``voiceboard devices``
lists them; ``default`` or nothing means PortAudio's default device. Names are URL-quoted
(``sound://USB%20Audio``).

How the audio moves: the device runs at its own rate (44.1 or 48 kHz typically). The
PortAudio callback only copies device frames into the receive ring and out of the transmit
ring (:class:`voiceboard.dsp.RingBuffer`, C SPSC rings; the callback thread is the one
writer/reader on its side). The board's loop reads one tick's worth of device frames per tick,
converts them to the board's 8 kHz with :class:`voiceboard.dsp.Resampler` (one per line and
direction), and converts the board's transmit samples back to the device rate. A tick that
finds too little in the receive ring is padded with silence and counted (``rx_underrun``);
frames that do not fit a ring are counted as overruns; the device's own over- and underflows
(PortAudio status flags) are counted too: see :attr:`SoundBoard.stats`.

Drift: the board ticks on the system's monotonic clock, the device on its crystal. A
backlog beyond :data:`MAX_BACKLOG_TICKS` in either ring is cut back (counted as
``rx_dropped``/``tx_dropped``), so latency stays bounded.

Calls: a sound card has no ringing, no caller ID and no line current. A call is *offered*
(the channel goes RINGING) when the board opens and whenever the device comes back after a
loss (``offer=open``); answering connects at once. After a hangup the channel stays IDLE until
:meth:`SoundBoard.offer` offers the next call (a key in the daemon's console, for example).
:meth:`SoundBoard.release` is the caller hanging up. With ``offer=manual`` only
:meth:`SoundBoard.offer` offers calls. There is no dialling and no call-progress analysis;
the two lines of a stereo board can be bridged (the engine mixes them), devices cannot.

Device loss: when the stream stops by itself (device unplugged, sound server gone) or the
callback stalls, every channel goes out of service with one log line, and the board retries
opening the device with a doubling back-off; once it opens, the channels return to service.

The board runs in real time only: a device cannot follow a virtual clock.
"""
import asyncio
import concurrent.futures
import logging
import math
import threading
import urllib.parse

import numpy as np

from drivers import no_more_options, option
from voiceboard import clock, dsp
from voiceboard.board import BoardBase, Capabilities
from voiceboard.errors import BoardError, ConfigError
from voiceboard.states import ChannelState

log = logging.getLogger("voiceboard.sound")

# The ring latency budget. The transmit ring starts with TX_PREFILL_TICKS of silence so the
# device never waits on a tick that the event loop delivers a little late (MediaClock
# tolerates 2 ticks of lateness, voiceboard/clock.py). Receive starts once RX_PRIME_TICKS more
# than a tick are waiting: the device's blocks arrive with jitter of their own, and with one
# tick a loaded machine's PulseAudio once left a tick 90 frames short (a fresh-clone test run).
TX_PREFILL_TICKS = 2
RX_PRIME_TICKS = 2
# A backlog beyond this is drift or a stall, not jitter: MediaClock catches up 2 late ticks,
# and 3 more cover a device that delivers in 60 ms blocks ("high" latency is ~35 ms here).
MAX_BACKLOG_TICKS = 5
RING_TICKS = 16                 # ring capacity, in ticks: comfortably above the backlog limit
# No callback for this long means the device is gone: PortAudio's blocks come every ~12 ms
# here (512 frames at 44.1 kHz) and its "high" latency is ~35 ms, so this is 10 times either.
STALL_S = 0.5
SETTLE_S = 3.0                  # a device that delivers nothing for this long after start failed
RETRY_FIRST_S = 0.5             # reopen attempts: 0.5 s, doubling to RETRY_MAX_S
RETRY_MAX_S = 8.0
LATENCIES = ("low", "high")

_live_boards = set()            # boards with an open stream (a PortAudio re-scan would close them)
_closing = set()                # threads still closing the stream of a lost device
_pa_lock = threading.Lock()     # opening and re-scanning: one board at a time


def _sd():
    """The sounddevice module; BoardError when it or PortAudio is missing."""
    try:
        import sounddevice
    except (ImportError, OSError) as exc:
        raise BoardError(f"sound://: the sounddevice module or the PortAudio library is missing ({exc}); "
                         f"install them (scripts/setup.sh does)") from None
    return sounddevice


def open_url(url, host, path, options):
    device = urllib.parse.unquote(host + path)
    kw = dict(
        device=device,
        channels=option(options, "channels", int, 1, url),
        rate=option(options, "rate", int, None, url),
        input=option(options, "input", str, None, url),
        output=option(options, "output", str, None, url),
        latency=option(options, "latency", _latency, "high", url),
        offer=option(options, "offer", str, "open", url),
        dtmf_mode=option(options, "dtmf_mode", str, "normal", url),
    )
    no_more_options(options, url)
    if kw["channels"] not in (1, 2):
        raise ConfigError(f"board URL {url!r}: channels must be 1 (mono) or 2 (left and right)")
    if kw["offer"] not in ("open", "manual"):
        raise ConfigError(f"board URL {url!r}: offer must be open or manual")
    if kw["dtmf_mode"] not in dsp.DTMF_MODES:
        raise ConfigError(f"board URL {url!r}: dtmf_mode must be one of {', '.join(dsp.DTMF_MODES)}")
    return SoundBoard(url=url, **kw)


def _latency(text):
    if text in LATENCIES:
        return text
    value = float(text)
    if not 0 < value <= 1:
        raise ValueError(text)
    return value


def _device_spec(text):
    """A device index (digits) or a name part; None for PortAudio's default."""
    if text is None or text in ("", "default"):
        return None
    return int(text) if text.isdigit() else text


def device_table():
    """PortAudio's devices as dicts: index, name, hostapi, inputs, outputs, default_rate,
    rates (the common rates the device accepts as a mono input or output), default_input,
    default_output."""
    sd = _sd()
    default_in, default_out = sd.default.device
    table = []
    for info in sd.query_devices():
        idx = info["index"]
        rates = []
        # The telephony rates (8, 16 kHz) and the common audio rates of sound cards.
        for rate in (8000, 16000, 22050, 32000, 44100, 48000, 96000):
            try:
                if info["max_input_channels"]:
                    sd.check_input_settings(device=idx, samplerate=rate, channels=1, dtype="int16")
                else:
                    sd.check_output_settings(device=idx, samplerate=rate, channels=1, dtype="int16")
                rates.append(rate)
            except (ValueError, sd.PortAudioError):     # the rate is not supported
                continue
        table.append(dict(index=idx, name=info["name"], hostapi=sd.query_hostapis(info["hostapi"])["name"],
                          inputs=info["max_input_channels"], outputs=info["max_output_channels"],
                          default_rate=int(info["default_samplerate"]), rates=rates,
                          default_input=idx == default_in, default_output=idx == default_out))
    return table


class _Opened:
    """A started stream with its rings and counters. The PortAudio callbacks see only this
    (never the board), so a stream opened on a helper thread can be dropped cleanly."""

    def __init__(self, stream, rx_ring, tx_ring, rate, per_tick, names):
        self.stream = stream
        self.rx_ring, self.tx_ring = rx_ring, tx_ring
        self.rate, self.per_tick = rate, per_tick
        self.names = names
        self.status = {"input_overflow": 0, "input_underflow": 0, "output_overflow": 0,
                       "output_underflow": 0}
        self.callbacks = 0          # written by the callback thread only
        self.stopped = False        # the stream ended by itself (set by PortAudio's thread)
        self.closing = False        # we are ending it


def _callbacks_for(opened, nch):
    """The PortAudio callbacks: they only move frames (and count the device's flags)."""
    rx_ring, tx_ring, status_counts = opened.rx_ring, opened.tx_ring, opened.status

    def callback(indata, outdata, frames, time, status):
        if status:
            for name in status_counts:
                if getattr(status, name):
                    status_counts[name] += 1
        rx_ring.write(indata)
        outdata[:] = tx_ring.read(frames * nch, pad=True).reshape(frames, nch)
        opened.callbacks += 1

    def finished():
        if not opened.closing:
            opened.stopped = True

    return callback, finished


def _close_opened(opened, lost=False):
    """Stop and close a stream, then free its rings (the callback thread is done with them
    only then)."""
    opened.closing = True
    if opened.stream is not None:
        try:
            opened.stream.abort()
            opened.stream.close()
        except _sd().PortAudioError as exc:     # a device that is already gone
            log.debug("closing a stream: %s", exc)
    opened.rx_ring.close()
    opened.tx_ring.close()
    if lost:
        _closing.discard(threading.current_thread())


def _close_on_a_thread(opened, name):
    closer = threading.Thread(target=_close_opened, args=(opened, True), name=f"{name} close", daemon=True)
    _closing.add(closer)
    closer.start()


async def _off_loop(fn, *args):
    """Run ``fn(*args)`` on a daemon thread and await it. If the awaiting task is cancelled
    (the board closes) while ``fn`` still runs, a stream it opens later is closed."""
    done = concurrent.futures.Future()

    def run():
        if not done.set_running_or_notify_cancel():
            return
        try:
            done.set_result(fn(*args))
        except BaseException as exc:    # handed to the awaiting task
            done.set_exception(exc)

    threading.Thread(target=run, name="sound open", daemon=True).start()
    try:
        return await asyncio.wrap_future(done)
    except asyncio.CancelledError:
        def drop(f):
            if not f.cancelled() and f.exception() is None:
                _close_opened(f.result())
        done.add_done_callback(drop)
        raise


class SoundBoard(BoardBase):
    """One or two lines on a sound card (see the module docstring)."""

    SCHEME = "sound"

    def __init__(self, device="", channels=1, rate=None, input=None, output=None, latency="high",
                 offer="open", dtmf_mode="normal", url=None):
        super().__init__(channels, dtmf_mode=dtmf_mode)
        self.url = url or f"sound://{device}"
        self.device = device
        self.input = device if input is None else input
        self.output = device if output is None else output
        self.requested_rate = rate
        self.latency = latency
        self.offer_mode = offer
        self.rate = None                # the device rate in use
        self.frames_per_tick = None
        self._stream = None
        self._rx_ring = self._tx_ring = None
        self._rx_rs = self._tx_rs = ()
        self._carry = [np.zeros(0, dtype=np.int16) for _ in range(channels)]
        self._primed = False
        self._status = {"input_overflow": 0, "input_underflow": 0, "output_overflow": 0,
                        "output_underflow": 0}
        self._opened = None             # the stream in use and what belongs to it (_Opened)
        self._status_total = {}         # PortAudio flags of the streams closed so far
        self._callbacks_total = 0
        self._seen_callbacks = 0
        self._stall_ticks = 0
        self._totals = dict.fromkeys(("rx_underrun", "rx_overrun", "tx_underrun", "tx_overrun"), 0)
        self._dropped = {"rx_dropped": 0, "tx_dropped": 0}
        self.losses = 0
        self._reconnect_task = None
        self._taken_out = []

    @property
    def capabilities(self):
        return Capabilities(channels=len(self.channels), full_duplex=True, caller_id=False,
                            call_progress=False, bridging=len(self.channels) == 2, ringing=False,
                            signalling="sound")

    # --- life cycle ------------------------------------------------------------------------

    async def _open(self):
        if isinstance(asyncio.get_running_loop(), clock.VirtualTimeLoop):
            raise BoardError(f"{self.url}: a sound card runs in real time; open it on a normal event "
                             f"loop (clock.run(..., virtual=False))")
        await self._start(rescan=False)
        if self.offer_mode == "open":
            for ch in self.channels:
                ch._offered()                               # IDLE -> RINGING

    async def _close(self):
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
            self._reconnect_task = None
        self._stop_stream()
        if any(self.stats[k] for k in ("rx_underrun", "rx_overrun", "tx_underrun", "tx_overrun",
                                       "rx_dropped", "tx_dropped", "input_overflow", "output_underflow")):
            log.info("%s: closed; %s", self.url, ", ".join(f"{k} {v}" for k, v in self.stats.items()))

    def _resolve(self, sd, spec, kind):
        try:
            info = sd.query_devices(_device_spec(spec), kind)
        except (ValueError, sd.PortAudioError) as exc:     # no such name, several, no such index
            names = ", ".join(f"{d['index']} {d['name']}" for d in sd.query_devices()
                              if d[f"max_{kind}_channels"]) or "none"
            raise ConfigError(f"board URL {self.url!r}: {str(exc).splitlines()[0].rstrip(':')} "
                              f"(the {kind} devices are: {names})") from None
        if info[f"max_{kind}_channels"] < len(self.channels):
            raise ConfigError(f"board URL {self.url!r}: {kind} device {info['name']!r} has "
                              f"{info[f'max_{kind}_channels']} channel(s), {len(self.channels)} needed")
        return info

    def _open_stream(self, rescan):
        """Open and start a stream (on a helper thread: PortAudio may wait for a sound server
        that does not answer, for as long as its client library's timeout). Touches nothing
        of the board's; returns an :class:`_Opened`."""
        sd = _sd()
        with _pa_lock:
            if rescan and not _live_boards and not _closing:
                # PortAudio lists devices once, when it starts: a device that came back is only
                # found by restarting it -- which would close every other stream of the process.
                sd._terminate()
                sd._initialize()
            inp = self._resolve(sd, self.input, "input")
            out = self._resolve(sd, self.output, "output")
            rate = self.requested_rate or int(inp["default_samplerate"])
            tick_s = self.tick_samples / dsp.SAMPLE_RATE
            if rate * self.tick_samples % dsp.SAMPLE_RATE:
                raise ConfigError(f"board URL {self.url!r}: rate {rate} does not give a whole number of "
                                  f"frames per {tick_s * 1000:g} ms tick (use 8000, 16000, 44100, 48000, ...)")
            nch = len(self.channels)
            try:
                sd.check_input_settings(device=inp["index"], samplerate=rate, channels=nch, dtype="int16")
                sd.check_output_settings(device=out["index"], samplerate=rate, channels=nch, dtype="int16")
            except (ValueError, sd.PortAudioError) as exc:
                raise ConfigError(f"board URL {self.url!r}: device cannot run at {rate} samples/s with "
                                  f"{nch} channel(s): {exc}") from None
            per_tick = rate * self.tick_samples // dsp.SAMPLE_RATE
            capacity = 1 << math.ceil(math.log2(RING_TICKS * per_tick * nch))
            opened = _Opened(None, dsp.RingBuffer(capacity), dsp.RingBuffer(capacity), rate, per_tick,
                             f"{inp['name']!r} in, {out['name']!r} out")
            callback, finished = _callbacks_for(opened, nch)
            try:
                # Block size left to PortAudio: a fixed one delays the first capture callback
                # by ~2 s on the ALSA pulse plugin.
                opened.stream = sd.Stream(samplerate=rate, blocksize=0, device=(inp["index"], out["index"]),
                                          channels=nch, dtype="int16", latency=self.latency,
                                          callback=callback, finished_callback=finished)
                opened.stream.start()
            except sd.PortAudioError as exc:      # the device refused
                _close_opened(opened)
                raise BoardError(f"{self.url}: cannot open {inp['name']!r}/{out['name']!r} at {rate} "
                                 f"samples/s: {exc}") from None
            return opened

    def _install(self, opened):
        """Make a freshly opened stream the board's (on the loop thread)."""
        nch = len(self.channels)
        self._opened = opened
        self._stream = opened.stream
        self._rx_ring, self._tx_ring = opened.rx_ring, opened.tx_ring
        self.rate, self.frames_per_tick = opened.rate, opened.per_tick
        self._status = opened.status
        self._rx_rs = [dsp.Resampler(opened.rate, dsp.SAMPLE_RATE) for _ in range(nch)]
        self._tx_rs = [dsp.Resampler(dsp.SAMPLE_RATE, opened.rate) for _ in range(nch)]
        self._carry = [np.zeros(0, dtype=np.int16) for _ in range(nch)]
        self._primed = False
        self._seen_callbacks = opened.callbacks
        self._stall_ticks = 0
        _live_boards.add(self)
        latency = opened.stream.latency
        log.info("%s: %s, %d samples/s, %d channel(s), latency in %.1f ms, out %.1f ms", self.url,
                 opened.names, opened.rate, nch, latency[0] * 1000, latency[1] * 1000)

    async def _start(self, rescan):
        """Open the device, wait until it delivers audio, then make it the board's."""
        opened = await _off_loop(self._open_stream, rescan)
        try:
            await self._settle(opened)
        except BaseException:       # no audio, or the board closes meanwhile
            _close_on_a_thread(opened, self.url)
            raise
        self._install(opened)

    async def _settle(self, opened):
        """Wait until the device delivers audio; counting starts from there.

        PortAudio primes a new stream with a few callbacks flagged as underflows, and a sound
        server may take a moment to start capturing: neither is an xrun of the board.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_S
        nch = len(self.channels)
        while opened.rx_ring.fill < opened.per_tick * nch:
            if loop.time() > deadline or opened.stopped or not opened.stream.active:
                raise BoardError(f"{self.url}: the device delivers no audio ({SETTLE_S:g} s after start)")
            await asyncio.sleep(0.005)
        opened.tx_ring.write(np.zeros(TX_PREFILL_TICKS * opened.per_tick * nch, dtype=np.int16))
        opened.rx_ring.read()
        # The counts so far belong to the start; the prefill is in, so no underrun comes between.
        for prefix, ring in (("rx_", opened.rx_ring), ("tx_", opened.tx_ring)):
            st = ring.stats
            self._totals[prefix + "underrun"] -= st["underrun"] // nch
            self._totals[prefix + "overrun"] -= st["overrun"] // nch
        for name in opened.status:
            opened.status[name] = 0

    def _stop_stream(self, lost=False):
        """Close the stream, then its rings. For a ``lost`` device this happens on a thread of
        its own: closing a stream whose server died can block for good inside the sound
        server's client library, and the board's loop must go on."""
        opened, self._opened, self._stream = self._opened, None, None
        _live_boards.discard(self)
        if opened is not None:
            for ring, prefix in ((opened.rx_ring, "rx_"), (opened.tx_ring, "tx_")):
                st = ring.stats
                self._totals[prefix + "underrun"] += st["underrun"] // len(self.channels)
                self._totals[prefix + "overrun"] += st["overrun"] // len(self.channels)
            self._status_total = {k: self._status_total.get(k, 0) + v for k, v in opened.status.items()}
            self._callbacks_total += opened.callbacks
        self._status = dict.fromkeys(self._status, 0)
        self._rx_ring = self._tx_ring = None
        for rs in (*self._rx_rs, *self._tx_rs):
            rs.close()
        self._rx_rs = self._tx_rs = ()
        if opened is None:
            return
        if lost:
            _close_on_a_thread(opened, self.url)
        else:
            _close_opened(opened)

    @property
    def stats(self):
        """Counters: device frames of rx/tx underrun and overrun (rings) and dropped backlog,
        PortAudio's status flags (callbacks that reported them), device losses and the rate."""
        out = dict(self._totals)
        for ring, prefix in ((self._rx_ring, "rx_"), (self._tx_ring, "tx_")):
            if ring is not None:
                st = ring.stats
                out[prefix + "underrun"] += st["underrun"] // len(self.channels)
                out[prefix + "overrun"] += st["overrun"] // len(self.channels)
        out.update(self._dropped)
        out.update({k: self._status_total.get(k, 0) + v for k, v in self._status.items()})
        callbacks = self._callbacks_total + (self._opened.callbacks if self._opened is not None else 0)
        out.update(losses=self.losses, rate=self.rate or 0, callbacks=callbacks)
        return out

    # --- calls -----------------------------------------------------------------------------

    def offer(self, channel=0):
        """Offer a call on an IDLE channel (it goes RINGING; answer() connects at once)."""
        ch = self.channel(channel)
        if ch.state is not ChannelState.IDLE:
            raise BoardError(f"{self.url}: channel {channel} is {ch.state.name}, a call can only be "
                             f"offered on an IDLE channel")
        ch._offered()                                       # IDLE -> RINGING

    def release(self, channel=0):
        """The caller hangs up (the sound card has no line current to tell)."""
        ch = self.channel(channel)
        if ch.state is ChannelState.RINGING:
            ch._abandoned()                                 # RINGING -> IDLE
        else:
            ch._remote_hangup()                             # CONNECTED -> IDLE

    # --- raw audio for developer tools (voiceboard dtmf listen, softphone, loopback-test) ---------
    # These bypass the call states: use them on a channel that no play()/record() is using.

    def tap_start(self, channel=0):
        """Start capturing what ``channel`` receives (8 kHz); take it with :meth:`tap_take`.
        Memory holds only what has not been taken; the capture ends after 2**31 - 1 samples
        (74 hours, the engine's int32 record length)."""
        self.channel(channel)
        self._engine.start_record(channel, 2**31 - 1)

    def tap_take(self, channel=0):
        """The received samples captured since the last call (int16 at 8 kHz)."""
        self.channel(channel)
        return self._engine.take_recording(channel)

    def tap_stop(self, channel=0):
        self.channel(channel)
        self._engine.stop_record(channel)

    def feed(self, channel, samples):
        """Queue 8 kHz samples to play on ``channel`` after what is queued; returns at once."""
        self.channel(channel)
        return self._engine.play(channel, samples)

    @property
    def output_delay(self):
        """Seconds until what was queued to the device so far has been played out: the
        transmit ring plus the device's output latency (0 when the device is gone)."""
        if self._stream is None:
            return 0.0
        return self._tx_ring.fill / len(self.channels) / self.rate + self._stream.latency[1]

    @property
    def position(self):
        """Samples per channel the board has received (and sent) since it opened, at 8 kHz."""
        return self._engine.position

    # --- media -----------------------------------------------------------------------------

    def _receive(self, rx):
        ring = self._rx_ring
        if ring is None:
            rx[...] = 0
            return
        nch, per_tick = len(self.channels), self.frames_per_tick
        if not self._primed:
            if ring.fill < (per_tick * (1 + RX_PRIME_TICKS)) * nch:
                rx[...] = 0
                return
            self._primed = True
        frames = ring.read(per_tick * nch, pad=True).reshape(per_tick, nch)
        backlog = ring.fill // nch
        if backlog > MAX_BACKLOG_TICKS * per_tick:
            cut = backlog - RX_PRIME_TICKS * per_tick
            ring.read(cut * nch)
            self._dropped["rx_dropped"] += cut
        for c in range(nch):
            got = self._rx_rs[c].process(np.ascontiguousarray(frames[:, c]))
            have = np.concatenate((self._carry[c], got)) if self._carry[c].size else got
            n = min(have.size, self.tick_samples)
            rx[c, :n] = have[:n]
            # Short only in the first tick: the converter's filter delay (resample.h).
            rx[c, n:] = 0
            self._carry[c] = have[n:]

    def _transmit(self, tx):
        ring = self._tx_ring
        if ring is None:
            return
        nch = len(self.channels)
        converted = [rs.process(tx[c]) for c, rs in enumerate(self._tx_rs)]
        if ring.fill // nch > MAX_BACKLOG_TICKS * self.frames_per_tick:
            self._dropped["tx_dropped"] += converted[0].size
            return
        ring.write(converted[0] if nch == 1 else np.column_stack(converted).ravel())

    def _set_hook(self, channel, offhook):
        """Nothing to switch: a sound card is always connected."""

    # --- device supervision -------------------------------------------------------------------

    def _signalling(self, rx):
        if self._stream is None:
            return
        if self._opened.callbacks != self._seen_callbacks:
            self._seen_callbacks = self._opened.callbacks
            self._stall_ticks = 0
        else:
            self._stall_ticks += 1
        if self._opened.stopped or not self._stream.active:
            self._device_lost("the stream stopped")
        elif self._stall_ticks * self.clock.tick_seconds >= STALL_S:
            self._device_lost(f"no audio for {STALL_S:g} s")

    def _device_lost(self, why):
        self.losses += 1
        log.error("%s: device lost (%s): channels out of service, reopening with back-off", self.url, why)
        self._stop_stream(lost=True)
        # Channels an operator blocked stay blocked when the device returns.
        self._taken_out = [ch for ch in self.channels if ch.state is not ChannelState.OUT_OF_SERVICE]
        for ch in self._taken_out:
            if ch.state is ChannelState.CONNECTED:
                ch._emit("remote_hangup")
            ch._out_of_service("device lost")               # * -> OUT_OF_SERVICE
        self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect(),
                                                                      name=f"{self.url} reconnect")

    async def _reconnect(self):
        delay = RETRY_FIRST_S
        loop = asyncio.get_running_loop()
        lost_at = loop.time()
        while True:
            await asyncio.sleep(delay)
            try:
                await self._start(rescan=True)
            except (BoardError, ConfigError) as exc:
                log.debug("%s: reopen failed: %s", self.url, exc)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            break
        self._reconnect_task = None
        log.warning("%s: device back after %.1f s: channels in service", self.url, loop.time() - lost_at)
        for ch in self._taken_out:
            ch._back_in_service()                           # OUT_OF_SERVICE -> IDLE
            if self.offer_mode == "open":
                ch._offered()                               # IDLE -> RINGING
