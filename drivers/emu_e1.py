"""Emulated E1 board: ``emu://e1`` -- 30 channels per span, CAS with R2 signalling (China
No.1 by default), facing a simulated exchange over the framed stream.

URL options of emu://e1 (defaults in brackets):

    spans=N              E1 spans, 30 channels each [1] (1 to 8)
    variant=V            R2 variant: china, itu [china]
    crc4=M               auto (CRC-4 with G.706 Annex B interworking), on, off [auto]
    max_dnis=N           DNIS digits after which the category is asked for at once;
                         0: the DNIS ends by the mf_back_cycle timeout (China) [0]
    get_ani=1|0          ask for KA and ANI (A-6) [1]
    ani=DIGITS           ANI sent on the board's outgoing calls [""]
    category=N, kd=N     KA and KD signals sent on the board's outgoing calls [1, 3]
                         (⚠ China No.1 codes: 3 = local subscriber)
    mf_level=DBM0        MFC-R2 send level per tone [-11] (⚠ DAHDI cn zone: -8)
    persistence_ms=MS    an ABCD change must hold this long [20] (⚠ Q.422 20 +- 10 ms)
    alarm_ms=MS          a span alarm must last this long before its calls are cleared [100]
                         (I.431's 100 ms from loss of frame to red alarm)
    recovery_ms=MS       the span must be clean this long before its channels return [1000]
                         (no standard figure: long enough that a flapping span stays out)
    link=pipe|socket     in-process frame pipes, or a socketpair with length-framed ticks [pipe]
    r2_seize, r2_answer, r2_answer_delay, r2_set_call_down, mf_back_cycle, mf_fwd_safety,
    pulse                R2 timers in ms (openr2 defaults, voiceboard.r2.R2Timers)
    dtmf_mode=M          DTMF receiver preset: normal, sensitive, strict [normal]
    seed=N               random seed of the simulated exchange (faults) [0]

The bearer audio goes through the board engine like any board's (A-law on the span, linear
inside); line signalling sets the channel states: a seizure with a completed register phase
offers the call (RINGING, with dnis and ani set), answer() sends the answer signal, hangup()
clear-back, and the far end's clear-forward hangs the channel up. A span alarm (LOS, AIS,
red, RAI, TS16 LOMF/AIS) lasting alarm_ms clears that span's calls and puts its channels out
of service, blocked towards the far end; they return recovery_ms after the span is clean.
See docs/e1.md.
"""
import asyncio
import dataclasses
import logging

from drivers import e1line, no_more_options, option
from drivers.e1exchange import E1Exchange
from voiceboard.board import BoardBase, Capabilities, DialResult
from voiceboard.errors import ConfigError
from voiceboard.r2 import DIGIT_SIGNALS, LineState, R2Config, R2Timers
from voiceboard.states import ChannelState

log = logging.getLogger("voiceboard.emu_e1")

CHANNELS = e1line.CHANNELS
# Alarms that stop a span carrying calls (RAI: the far end does not hear us).
SERVICE_ALARMS = frozenset({"los", "ais", "red", "rai", "ts16_lomf", "ts16_ais"})
# Order in which an alarm names the cause (the most basic first).
ALARM_ORDER = ("los", "ais", "red", "lof", "rai", "ts16_ais", "ts16_lomf", "ts16_rmf")
# R2 dial failures -> DialResult outcomes.
DIAL_OUTCOMES = {"busy": "busy", "congestion": "congestion", "vacant": "sit", "no_answer": "no_answer",
                 "no_seize_ack": "no_dialtone", "blocked": "no_dialtone", "protocol": "congestion",
                 "released": "hangup"}


def open_url(url, host, path, options):
    timers = {f.name: option(options, f.name, int, f.default, url) for f in dataclasses.fields(R2Timers)}
    variant = option(options, "variant", str, "china", url)
    kw = dict(
        spans=option(options, "spans", int, 1, url),
        crc4=option(options, "crc4", str, "auto", url),
        ani=option(options, "ani", str, "", url),
        persistence_ms=option(options, "persistence_ms", int, 20, url),
        alarm_ms=option(options, "alarm_ms", int, 100, url),
        recovery_ms=option(options, "recovery_ms", int, 1000, url),
        link=option(options, "link", str, "pipe", url),
        dtmf_mode=option(options, "dtmf_mode", str, "normal", url),
        seed=option(options, "seed", int, 0, url),
    )
    r2kw = dict(max_dnis=option(options, "max_dnis", int, 0, url),
                get_ani=option(options, "get_ani", lambda v: bool(int(v)), True, url),
                category=option(options, "category", int, 1, url),
                kd=option(options, "kd", int, 3, url),
                mf_level_dbm0=option(options, "mf_level", float, -11.0, url))
    no_more_options(options, url)
    if not 1 <= kw["spans"] <= 8:
        raise ConfigError(f"board URL {url!r}: spans must be 1 to 8")
    if kw["crc4"] not in ("auto", "on", "off"):
        raise ConfigError(f"board URL {url!r}: crc4 must be auto, on or off")
    if kw["link"] not in ("pipe", "socket"):
        raise ConfigError(f"board URL {url!r}: link must be pipe or socket")
    if any(d not in DIGIT_SIGNALS for d in kw["ani"]):
        raise ConfigError(f"board URL {url!r}: ani must be digits 0-9")
    if not 2 <= kw["persistence_ms"] <= 500:
        raise ConfigError(f"board URL {url!r}: persistence_ms must be 2 to 500")
    if not -50 <= r2kw["mf_level_dbm0"] <= -3:
        raise ConfigError(f"board URL {url!r}: mf_level must be -50 to -3 dBm0")
    try:
        r2config = R2Config(variant=variant, timers=R2Timers(**timers), **r2kw)
    except ValueError as exc:
        raise ConfigError(f"board URL {url!r}: {exc}") from None
    return EmuE1Board(r2config=r2config, **kw)


class _SpanState:
    """Alarm bookkeeping of one span on the board side."""

    def __init__(self):
        self.alarms = frozenset({"lof"})
        self.bad_ticks = 0
        self.clean_ticks = 0
        self.in_service = False


class EmuE1Board(BoardBase):
    """E1 spans with CAS/R2 towards an emulated exchange."""

    SCHEME = "emu"

    def __init__(self, spans=1, r2config=None, crc4="auto", ani="", persistence_ms=20, alarm_ms=100,
                 recovery_ms=1000, link="pipe", dtmf_mode="normal", seed=0, directory=None):
        super().__init__(CHANNELS * spans, dtmf_mode=dtmf_mode)
        self.r2config = r2config or R2Config()
        self.framer_config = dict(crc4=crc4, cas_persistence=max(1, persistence_ms // 2))  # 2 ms per multiframe
        self.ani = ani
        tick_s = self.clock.tick_seconds
        self.alarm_ticks = max(1, int(round(alarm_ms / 1000 / tick_s)))
        self.recovery_ticks = max(1, int(round(recovery_ms / 1000 / tick_s)))
        self.link = link
        self.seed = seed
        self._directory = directory
        self.spans = []
        self.span_state = []
        self.links = []
        self.exchange = None
        self.accept = None          # optional callable(channel, dnis, ani) -> bool: free or busy
        self._dials = {}            # channel -> future of the DialResult outcome

    @property
    def capabilities(self):
        return Capabilities(channels=len(self.channels), full_duplex=True, caller_id=True,
                            call_progress=True, bridging=True, ringing=True, signalling="e1-cas")

    async def _open(self):
        n = len(self.channels) // CHANNELS
        board_ends, exchange_ends = [], []
        for _ in range(n):
            if self.link == "socket":
                board_side, exchange_side = e1line.socket_link()
                board_ends.append((board_side, board_side))
                exchange_ends.append((exchange_side, exchange_side))
            else:
                to_board, from_board = e1line.link()
                board_ends.append((to_board, from_board))
                exchange_ends.append((to_board, from_board))
        self.links = board_ends
        for s in range(n):
            self.spans.append(e1line.SpanEnd(self.r2config, self.framer_config, accept=self._accept_for(s),
                                             tick=self.tick_samples))
            self.span_state.append(_SpanState())
        self.exchange = E1Exchange(exchange_ends, self.r2config, self.framer_config, directory=self._directory,
                                   seed=self.seed, tick=self.tick_samples)
        for ch in self.channels:
            ch._out_of_service("lof")           # until the span is up
        for span in self.spans:
            for port in span.ports:
                port.sm.block()

    async def _close(self):
        for span in self.spans:
            span.close()
        self.exchange.close()
        if self.link == "socket":
            for pipe, _ in self.links:
                pipe.close()
            for pipe, _ in self.exchange.links:
                pipe.close()

    def _accept_for(self, span):
        def accept(c, dnis, ani):
            ch = self.channels[span * CHANNELS + c]
            if ch.state is not ChannelState.IDLE:
                return False
            return self.accept is None or bool(self.accept(ch, dnis, ani))
        return accept

    def _sm(self, channel):
        return self.spans[channel // CHANNELS].ports[channel % CHANNELS].sm

    # --- media -----------------------------------------------------------------------------

    def _receive(self, rx):
        now = self.media_time
        self.exchange.tick(now)
        for s, (span, (to_board, _)) in enumerate(zip(self.spans, self.links)):
            _, alarms = span.receive(to_board.read(self.tick_samples), now)
            rx[s * CHANNELS:(s + 1) * CHANNELS] = span.rx
            self._alarms(s, alarms)

    def _transmit(self, tx):
        now = self.media_time
        for s, (span, (_, from_board)) in enumerate(zip(self.spans, self.links)):
            from_board.write(span.transmit(tx[s * CHANNELS:(s + 1) * CHANNELS], now))

    def _set_hook(self, channel, offhook):
        sm = self._sm(channel)
        now = self.media_time
        if offhook:
            sm.answer(now)
        else:
            sm.hangup(now)

    # --- alarms --------------------------------------------------------------------------------

    def span_alarm(self, span):
        """The span's most basic alarm name, or "" when it is clean."""
        alarms = self.span_state[span].alarms
        return next((a for a in ALARM_ORDER if a in alarms), "")

    def _alarms(self, s, alarms):
        st = self.span_state[s]
        if alarms != st.alarms:
            log.info("span %d: alarms %s", s, ", ".join(sorted(alarms)) or "clear")
        st.alarms = alarms
        affecting = alarms & SERVICE_ALARMS or (alarms & {"lof"})
        if affecting:
            st.bad_ticks += 1
            st.clean_ticks = 0
            if st.in_service and st.bad_ticks >= self.alarm_ticks:
                st.in_service = False
                reason = self.span_alarm(s)
                log.warning("span %d: %s alarm: calls cleared, channels out of service", s, reason)
                now = self.media_time
                for c in range(CHANNELS):
                    n = s * CHANNELS + c
                    self._fail_dial(n, "hangup")
                    self.channels[n]._out_of_service(reason)
                    # Release each call by the protocol (clear-back, forced release or
                    # clear-forward); idle channels are blocked at once, the others when
                    # their release is complete (_signalling).
                    sm = self.spans[s].ports[c].sm
                    sm.hangup(now)
                    sm.block()
        else:
            st.bad_ticks = 0
            st.clean_ticks += 1
            if not st.in_service and st.clean_ticks >= self.recovery_ticks:
                st.in_service = True
                log.info("span %d: in service", s)
                self.spans[s].forget_abcd()
                for c in range(CHANNELS):
                    self.spans[s].ports[c].sm.reset()
                    self.channels[s * CHANNELS + c]._back_in_service()

    # --- signalling ---------------------------------------------------------------------------

    def _signalling(self, rx):
        for s, span in enumerate(self.spans):
            in_service = self.span_state[s].in_service
            for c, port in enumerate(span.ports):
                ch = self.channels[s * CHANNELS + c]
                sm = port.sm
                events = sm.take_events()
                # An out-of-service channel (span alarm, or Channel.block()) blocks its line
                # once any call on it is released; an idle channel in service unblocks it.
                if ch.state is ChannelState.OUT_OF_SERVICE and sm.state is LineState.IDLE:
                    sm.block()
                elif in_service and ch.state is ChannelState.IDLE and sm.state is LineState.BLOCKED:
                    sm.unblock()
                if in_service:
                    for name, data in events:
                        self._event(ch, name, data)

    def _event(self, ch, name, data):
        n = ch.number
        if name == "offered":
            ch._offered()                                   # IDLE -> RINGING
            ch.dnis, ch.ani = data["dnis"], data["ani"]
            ch._emit("offered", data)
        elif name == "abandoned":
            ch._abandoned()                                 # RINGING -> IDLE
        elif name == "clear_forward":
            ch._remote_hangup()                             # CONNECTED -> IDLE
        elif name in ("clear_back", "released"):
            if n in self._dials:
                self._fail_dial(n, DIAL_OUTCOMES.get(name, "hangup"))
            else:
                ch._remote_hangup()
        elif name == "answered":
            fut = self._dials.get(n)
            if fut is not None and not fut.done():
                fut.set_result("answered")
        elif name == "dial_failed":
            self._fail_dial(n, DIAL_OUTCOMES.get(data, "congestion"))

    def _fail_dial(self, n, outcome):
        fut = self._dials.get(n)
        if fut is not None and not fut.done():
            fut.set_result(outcome)

    # --- outgoing calls ---------------------------------------------------------------------

    async def _dial(self, ch, number, dialtone_timeout, answer_timeout):
        """Seize, send DNIS (and the board's ANI) by MFC-R2, wait for group B and answer."""
        if any(d not in DIGIT_SIGNALS for d in number):
            raise ValueError(f"dial string {number!r}: an E1/R2 line takes digits 0-9 only")
        n = ch.number
        sm = self._sm(n)
        fut = asyncio.get_running_loop().create_future()
        self._dials[n] = fut
        ch._hungup.clear()
        ch._set_state(ChannelState.DIALING)                 # IDLE -> DIALING
        try:
            if not sm.dial(number, self.ani, self.media_time):
                for name, data in sm.take_events():
                    self._event(ch, name, data)
                if not fut.done():
                    fut.set_result("no_dialtone")
            try:
                async with asyncio.timeout(dialtone_timeout + answer_timeout):
                    outcome = await asyncio.shield(fut)
            except TimeoutError:
                outcome = "no_answer"
            if outcome == "answered" and ch.state is ChannelState.DIALING:
                ch._set_state(ChannelState.CONNECTED)       # DIALING -> CONNECTED
                return DialResult("answered")
            if ch.state is ChannelState.DIALING:
                sm.hangup(self.media_time)
                ch._set_state(ChannelState.IDLE)            # DIALING -> IDLE
            return DialResult(outcome if outcome != "answered" else "hangup")
        finally:
            self._dials.pop(n, None)

    # --- status -------------------------------------------------------------------------------

    def span_status(self, span):
        """Alignment, alarms, counters and slips of a span, as a dict."""
        end = self.spans[span]
        to_board, from_board = self.links[span]
        st = end.framer.status()
        return {"span": span, "in_service": self.span_state[span].in_service,
                "frame_aligned": st["frame_aligned"], "crc4_aligned": st["crc4_aligned"],
                "cas_aligned": st["cas_aligned"], "interworking": st["interworking"],
                "alarms": sorted(st["alarms"]), **end.framer.stats(), "slips": to_board.slips,
                "abcd_rx": list(st["abcd"]), "abcd_tx": [end.framer.tx_abcd(c) for c in range(1, CHANNELS + 1)]}
