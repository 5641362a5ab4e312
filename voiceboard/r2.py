"""R2 signalling on an E1 channel: digital line signalling (ABCD in TS16) and MFC-R2
compelled register signalling, China No.1 by default, ITU (Q.421/Q.441) selectable.

The state machines here are per-event logic: they are told what the far end's ABCD bits
became (already debounced by the framer, native/include/vb/e1.h) and which MFC-R2 signal the
receiver hears (native/include/vb/r2mf.h), and they answer by setting the ABCD bits and the
tone to send. Time comes from the caller (``now`` in seconds), so the same code runs on real
and virtual time. :class:`R2Port` joins one state machine to a tone generator and receiver
and moves a tick of audio through them in C.

One :class:`R2Channel` is both ends of the protocol: the backward end when the far end seizes
(incoming call: collect DNIS, KA, ANI and KD, answer with group B), the forward end when
:meth:`R2Channel.dial` places a call. China No.1 order (telephony.md §3.4)::

    forward                          backward
    seize (AB 00)            ->
                             <-      seize-ack (AB 11)
    DNIS digit (I-n)         ->      each answered A-1 (compelled)
                                     DNIS ends: max_dnis digits, or no digit for
                                     mf_back_cycle ms -> A-6 (pulsed if no tone to answer)
    KA (calling category)    ->      A-1
    ANI digits, I-15         ->      A-1 each, A-3 after I-15
    KD (group II)            ->      B-1 free / B-2 busy
                             <-      answer (AB 01) when the called party answers
    clear-forward (AB 10)    ->      release guard (AB 10) -> idle
    or                       <-      clear-back (AB 11), then clear-forward, release guard

Events (drained from :attr:`R2Channel.events` as (name, data) tuples): "offered" (dict
dnis, ani, category, kd), "abandoned", "clear_forward", "released", "answered",
"clear_back", "dial_failed" (reason: no_seize_ack, blocked, busy, congestion, vacant,
no_answer, protocol), "idle".
"""
import dataclasses
import enum
import logging

from voiceboard import dsp

log = logging.getLogger("voiceboard.r2")

# AB bits of the line states (Q.421; telephony.md §3.1, openr2 standard_cas_signals).
FWD_IDLE = 0b10
FWD_SEIZE = 0b00
FWD_CLEAR = 0b10                # clear-forward
BWD_IDLE = 0b10                 # also the release guard
BWD_SEIZE_ACK = 0b11
BWD_ANSWER = 0b01
BWD_CLEAR_BACK = 0b11
BWD_BLOCKED = 0b11
BWD_FORCED_RELEASE = 0b00

# Static CD bits: ITU 01, China 11 ("both set to 1 ... never used", openr2; §3.1).
CD_BITS = {"china": 0b11, "itu": 0b01}

# Group B answers for "free" and "busy" and the outcome of each B signal, per variant (§3.3).
B_FREE = {"china": 1, "itu": 6}
B_BUSY = {"china": 2, "itu": 3}
B_OUTCOME = {
    "china": {1: "free", 2: "busy", 3: "busy", 4: "congestion", 5: "vacant", 6: "free"},
    "itu": {1: "free", 2: "free", 3: "busy", 4: "congestion", 5: "vacant", 6: "free", 7: "free",
            8: "vacant"},
}
# Group A signal that asks for the category and the ANI digits: China A-6 then A-1 for each
# ANI digit; ITU A-5 for the category and each ANI digit (§3.3).
A_CATEGORY = {"china": 6, "itu": 5}
A_NEXT_ANI = {"china": 1, "itu": 5}
DIGIT_SIGNALS = "1234567890"    # I-1 .. I-10: digit n, signal 10 = 0 (openr2)
END_OF_ANI = 15                 # I-15
ANI_RESTRICTED = 12             # I-12 (openr2 extension)


def digit_signal(digit):
    return DIGIT_SIGNALS.index(digit) + 1


def signal_digit(signal):
    return DIGIT_SIGNALS[signal - 1] if 1 <= signal <= 10 else ""


@dataclasses.dataclass
class R2Timers:
    """Protocol timers in ms: openr2's defaults (r2proto.c, telephony.md §3.1) and the
    backward pulse length (⚠ Q.442 "typically 100-200 ms" per Dialogic)."""
    r2_seize: int = 2000            # forward: wait for seize-ack
    r2_answer: int = 60000          # forward: wait for answer after group B "free"
    r2_answer_delay: int = 150      # backward: group B "free" to the answer signal at the earliest
    r2_set_call_down: int = 3000    # forward: force idle this long after clear-forward
    mf_back_cycle: int = 2000       # backward: no forward tone this long ends the DNIS
    mf_fwd_safety: int = 30000      # either end: longest register phase
    pulse: int = 150                # backward pulsed signal (A-6 / A-3 without a forward tone) ⚠


@dataclasses.dataclass
class R2Config:
    """Protocol settings of a span.

    variant: "china" (China No.1, default) or "itu". max_dnis: DNIS digits after which the
    backward end asks for the category at once (0: end the DNIS by the mf_back_cycle
    timeout, China has no end-of-DNIS signal). get_ani: ask for KA and ANI (A-6) or go
    straight to group B (A-3). category (KA, ⚠ China No.1 codes) and kd (KD group II: 3 = local
    subscriber ⚠) are what the forward end sends. max_ani: ANI digits accepted before A-3.
    """
    variant: str = "china"
    max_dnis: int = 0
    max_ani: int = 20
    get_ani: bool = True
    category: int = 1
    kd: int = 3
    mf_level_dbm0: float = -11.0    # spandsp/openr2 send level; ⚠ DAHDI cn zone -8
    timers: R2Timers = dataclasses.field(default_factory=R2Timers)

    def __post_init__(self):
        if self.variant not in CD_BITS:
            raise ValueError(f"R2: variant must be one of {', '.join(CD_BITS)}, got {self.variant!r}")
        for name in ("category", "kd"):
            if not 1 <= getattr(self, name) <= 15:
                raise ValueError(f"R2: {name} must be a signal 1-15, got {getattr(self, name)!r}")
        if self.max_dnis < 0 or self.max_ani < 1:
            raise ValueError("R2: max_dnis must be >= 0 and max_ani >= 1")
        if not -50.0 <= self.mf_level_dbm0 <= -3.0:
            raise ValueError(f"R2: mf_level_dbm0 must be -50 to -3, got {self.mf_level_dbm0!r}")


class LineState(enum.Enum):
    IDLE = "idle"
    BLOCKED = "blocked"                 # we block the channel (backward end)
    IN_REGISTER = "in_register"         # seized, collecting DNIS/ANI
    IN_BUSY = "in_busy"                 # group B busy sent; wait for clear-forward
    IN_RINGING = "in_ringing"           # group B free sent; the call is offered
    IN_ANSWERED = "in_answered"
    IN_CLEAR_BACK = "in_clear_back"     # we cleared back (or forced release); wait for clear-forward
    OUT_SEIZING = "out_seizing"
    OUT_REGISTER = "out_register"
    OUT_WAIT_ANSWER = "out_wait_answer"
    OUT_ANSWERED = "out_answered"
    OUT_CLEARING = "out_clearing"       # clear-forward sent; wait for the release guard


class R2Channel:
    """Line and register signalling of one E1 channel (see the module docstring).

    Parameters
    ----------
    config : R2Config
    send_abcd : callable(int)
        Sets the ABCD bits we send.
    accept : callable(dnis, ani) -> bool, optional
        Whether an incoming call is for a free party (group B free) or busy.
    """

    def __init__(self, config, send_abcd, accept=None):
        self.config = config
        self.timers = config.timers
        self.cd = CD_BITS[config.variant]
        self._send_abcd = send_abcd
        self.accept = accept or (lambda dnis, ani: True)
        self.events = []
        self.state = LineState.IDLE
        self.far_ab = None              # far end's AB, None before any
        self.mf_out = 0                 # MFC-R2 signal we send (0: none)
        self._set_ab(BWD_IDLE)
        self._reset_call()

    def __repr__(self):
        return f"<R2Channel {self.state.value} mf_out={self.mf_out}>"

    # --- helpers -----------------------------------------------------------------------------

    def _set_ab(self, ab):
        self.ab = ab
        self._send_abcd((ab << 2) | self.cd)

    def _emit(self, name, data=None):
        self.events.append((name, data))

    def take_events(self):
        events, self.events = self.events, []
        return events

    def _reset_call(self):
        self.dnis = ""
        self.ani = ""
        self.category = 0
        self.kd = 0
        self.b_signal = 0
        self.mf_in = 0
        self.mf_out = 0
        self._stage = ""                # register stage: dnis, ka, ani, kd, b (backward) / + sent (forward)
        self._pending = 0               # forward: backward signal heard, acted on when it ends
        self._deadline = None           # the state's timer, seconds
        self._safety = None             # end of the register phase at the latest
        self._pulse_end = None
        self._answer_at = None
        self._out_dnis = ""
        self._out_ani = ""
        self._ani_pos = 0
        self._dnis_pos = 0
        self._category_sent = False

    def _go(self, state):
        if state is not self.state:
            log.debug("R2 %s -> %s", self.state.value, state.value)
        self.state = state

    def _to_idle(self):
        self._set_ab(BWD_IDLE)          # FWD_IDLE has the same bits
        self._reset_call()
        self._go(LineState.IDLE)        # * -> IDLE
        self._emit("idle")

    @property
    def register_active(self):
        """True while MFC-R2 tones are being sent or listened for."""
        return self.state in (LineState.IN_REGISTER, LineState.OUT_REGISTER) or self.mf_out != 0

    @property
    def mf_rx_direction(self):
        """The direction of the signals we listen for."""
        return "backward" if self.state is LineState.OUT_REGISTER else "forward"

    @property
    def mf_tx_direction(self):
        return "forward" if self.state is LineState.OUT_REGISTER else "backward"

    # --- local requests ------------------------------------------------------------------------

    def block(self):
        """Block the channel towards the far end (backward blocking, AB 11 while idle)."""
        if self.state is LineState.IDLE:
            self._set_ab(BWD_BLOCKED)
            self._go(LineState.BLOCKED)         # IDLE -> BLOCKED

    def unblock(self):
        if self.state is LineState.BLOCKED:
            self._to_idle()                     # BLOCKED -> IDLE

    def answer(self, now):
        """The called party answers: the answer signal goes out (not before
        r2_answer_delay after group B)."""
        if self.state is LineState.IN_RINGING:
            self._go(LineState.IN_ANSWERED)     # IN_RINGING -> IN_ANSWERED
            if self._answer_at is None or now >= self._answer_at:
                self._set_ab(BWD_ANSWER)

    def hangup(self, now):
        """Local release: clear-back (answered), forced release (ringing), clear-forward
        (our outgoing call)."""
        st = self.state
        if st is LineState.IN_ANSWERED:
            self._set_ab(BWD_CLEAR_BACK)
            self._go(LineState.IN_CLEAR_BACK)   # IN_ANSWERED -> IN_CLEAR_BACK
        elif st in (LineState.IN_RINGING, LineState.IN_REGISTER):
            self.mf_out = 0
            self._set_ab(BWD_FORCED_RELEASE)
            self._go(LineState.IN_CLEAR_BACK)   # IN_RINGING -> IN_CLEAR_BACK
        elif st in (LineState.OUT_SEIZING, LineState.OUT_REGISTER, LineState.OUT_WAIT_ANSWER,
                    LineState.OUT_ANSWERED):
            self._clear_forward(now)

    def dial(self, dnis, ani, now):
        """Place a call as the forward end; False if the channel is not idle or the far end
        blocks it (or has sent no line signal yet)."""
        if self.state is not LineState.IDLE:
            return False
        if self.far_ab is None or self.far_ab == BWD_BLOCKED:
            self._emit("dial_failed", "blocked")
            return False
        bad = [d for d in dnis + ani if d not in DIGIT_SIGNALS]
        if not dnis or bad:
            raise ValueError(f"R2 dial: DNIS {dnis!r} and ANI {ani!r} must be digits 0-9 (DNIS not empty)")
        self._reset_call()
        self._out_dnis, self._out_ani = dnis, ani
        self._set_ab(FWD_SEIZE)
        self._go(LineState.OUT_SEIZING)         # IDLE -> OUT_SEIZING
        self._deadline = now + self.timers.r2_seize / 1000
        return True

    def _clear_forward(self, now):
        self.mf_out = 0
        self._set_ab(FWD_CLEAR)
        self._go(LineState.OUT_CLEARING)        # OUT_* -> OUT_CLEARING
        self._deadline = now + self.timers.r2_set_call_down / 1000

    def _dial_failed(self, reason, now):
        self._emit("dial_failed", reason)
        self._clear_forward(now)

    # --- far end's line signals ----------------------------------------------------------------

    def on_abcd(self, abcd, now):
        """The far end's debounced ABCD changed."""
        ab = abcd >> 2
        old, self.far_ab = self.far_ab, ab
        if ab == old:
            return
        st = self.state
        if st is LineState.IDLE:
            if ab == FWD_SEIZE and old is not None:
                # Seizure: acknowledge, then collect the address (IDLE -> IN_REGISTER).
                self._reset_call()
                self._set_ab(BWD_SEIZE_ACK)
                self._go(LineState.IN_REGISTER)
                self._stage = "dnis"
                self._safety = now + self.timers.mf_fwd_safety / 1000
            return
        if st is LineState.BLOCKED:
            return
        if st.name.startswith("IN_"):
            if ab == FWD_CLEAR:
                self._incoming_cleared(st)
            return
        # Outgoing: the far end is the backward end.
        if st is LineState.OUT_SEIZING:
            if ab == BWD_SEIZE_ACK:
                self._go(LineState.OUT_REGISTER)            # OUT_SEIZING -> OUT_REGISTER
                self._stage = "dnis"
                self._safety = now + self.timers.mf_fwd_safety / 1000
                self._deadline = None
                self._send_next_digit()
            return
        if st is LineState.OUT_WAIT_ANSWER and ab == BWD_ANSWER:
            self._go(LineState.OUT_ANSWERED)                 # OUT_WAIT_ANSWER -> OUT_ANSWERED
            self._deadline = None
            self._emit("answered")
            return
        if st is LineState.OUT_ANSWERED and ab == BWD_CLEAR_BACK:
            self._emit("clear_back")
            self._clear_forward(now)                         # OUT_ANSWERED -> OUT_CLEARING
            return
        if st is LineState.OUT_CLEARING:
            if ab == BWD_IDLE:
                self._to_idle()                              # release guard: OUT_CLEARING -> IDLE
            return
        if ab == BWD_FORCED_RELEASE or (ab == BWD_IDLE and st is not LineState.OUT_SEIZING):
            self._emit("released")
            self._clear_forward(now)

    def _incoming_cleared(self, st):
        if st is LineState.IN_ANSWERED:
            self._emit("clear_forward")
        elif st in (LineState.IN_RINGING, LineState.IN_REGISTER, LineState.IN_BUSY):
            self._emit("abandoned")
        else:
            self._emit("released")
        self._to_idle()             # release guard: IN_* -> IDLE

    # --- MFC-R2 ------------------------------------------------------------------------------------

    def on_mf(self, signal, now):
        """The MFC-R2 receiver's signal changed (0: the tone ended)."""
        self.mf_in = signal
        if self.state is LineState.IN_REGISTER:
            self._backward_mf(signal, now)
        elif self.state is LineState.OUT_REGISTER:
            self._forward_mf(signal, now)

    def _respond(self, signal):
        self.mf_out = signal
        self._pulse_end = None

    def _backward_mf(self, signal, now):
        if signal == 0:
            # Forward tone gone: stop ours; the cycle is complete.
            self.mf_out = 0
            if self._stage == "b":
                self._register_done(now)
            else:
                self._deadline = now + self.timers.mf_back_cycle / 1000
            return
        if self.mf_out:
            return                  # still answering the previous forward signal
        self._deadline = None
        cfg = self.config
        stage = self._stage
        if stage == "dnis":
            if signal == END_OF_ANI:                # ITU end of address (China has none)
                self._respond(self._after_dnis())
            elif 1 <= signal <= 10:
                self.dnis += signal_digit(signal)
                full = cfg.max_dnis and len(self.dnis) >= cfg.max_dnis
                self._respond(self._after_dnis() if full else 1)      # next digit
            else:
                self._respond(4)                    # congestion (unexpected signal)
        elif stage == "ka":
            self.category = signal
            self._stage = "ani"
            self._respond(A_NEXT_ANI[cfg.variant])  # China: A-1 asks for the ANI digits
        elif stage == "ani":
            if signal in (END_OF_ANI, ANI_RESTRICTED) or len(self.ani) + 1 >= cfg.max_ani:
                if 1 <= signal <= 10:
                    self.ani += signal_digit(signal)
                self._stage = "kd"
                self._respond(3)                    # address complete, group B next
            elif 1 <= signal <= 10:
                self.ani += signal_digit(signal)
                self._respond(A_NEXT_ANI[cfg.variant])
            else:
                self._respond(4)
        elif stage == "kd":
            self.kd = signal
            free = self.accept(self.dnis, self.ani)
            v = cfg.variant
            self.b_signal = B_FREE[v] if free else B_BUSY[v]
            self._stage = "b"
            self._respond(self.b_signal)

    def _after_dnis(self):
        """A-6 (China: send KA, then ANI; ITU A-5) or A-3 (no ANI wanted); moves the stage on."""
        if self.config.get_ani:
            self._stage = "ka"
            return A_CATEGORY[self.config.variant]
        self._stage = "kd"
        return 3

    def _register_done(self, now):
        if B_OUTCOME[self.config.variant].get(self.b_signal) == "free":
            self._go(LineState.IN_RINGING)              # IN_REGISTER -> IN_RINGING
            self._answer_at = now + self.timers.r2_answer_delay / 1000
            self._emit("offered", {"dnis": self.dnis, "ani": self.ani, "category": self.category,
                                   "kd": self.kd})
        else:
            self._go(LineState.IN_BUSY)                 # IN_REGISTER -> IN_BUSY

    def _forward_mf(self, signal, now):
        if signal:
            # Backward answer heard: stop our tone, act when theirs ends.
            self.mf_out = 0
            self._pending = signal
            return
        pending, self._pending = self._pending, 0
        if not pending:
            return
        v = self.config.variant
        if self._stage == "b":
            outcome = B_OUTCOME[v].get(pending, "protocol")
            if outcome == "free":
                self._go(LineState.OUT_WAIT_ANSWER)     # OUT_REGISTER -> OUT_WAIT_ANSWER
                self._deadline = now + self.timers.r2_answer / 1000
                self._emit("ringing")
            else:
                self._dial_failed(outcome, now)
            return
        if pending == 1:                                # next digit (DNIS, then ANI)
            if self._stage == "dnis":
                self._send_next_digit()
            else:
                self._send_next_ani()
        elif pending == 2 and self._stage == "dnis" and self._dnis_pos >= 2:
            self._dnis_pos -= 2                         # last but one digit again
            self._send_next_digit()
        elif pending == 3:                              # group B follows; send KD
            self._stage = "b"
            self.mf_out = self.config.kd
        elif pending == 4:
            self._dial_failed("congestion", now)
        elif pending == 5 and v == "itu":               # ITU A-5: category, then next ANI
            self._stage = "ani"
            if not self._category_sent:
                self._category_sent = True
                self.mf_out = self.config.category
            else:
                self._send_next_ani()
        elif pending == 6 and v == "china":             # China A-6: KA, then ANI
            self._stage = "ani"
            self._category_sent = True
            self.mf_out = self.config.category
        elif pending == 6:                              # ITU A-6: address complete, charge
            self._go(LineState.OUT_WAIT_ANSWER)
            self._deadline = now + self.timers.r2_answer / 1000
            self._emit("ringing")
        else:
            self._dial_failed("protocol", now)

    def _send_next_digit(self):
        if self._dnis_pos < len(self._out_dnis):
            self.mf_out = digit_signal(self._out_dnis[self._dnis_pos])
            self._dnis_pos += 1
        elif self.config.variant == "itu" and self._dnis_pos == len(self._out_dnis):
            self._dnis_pos += 1
            self.mf_out = END_OF_ANI                    # ITU I-15: end of address
        # China: no end-of-DNIS signal; the backward end's pulsed follows

    def _send_next_ani(self):
        if self._ani_pos < len(self._out_ani):
            self.mf_out = digit_signal(self._out_ani[self._ani_pos])
            self._ani_pos += 1
        else:
            self.mf_out = END_OF_ANI

    # --- timers --------------------------------------------------------------------------------------

    def poll(self, now):
        """Run the timers; call once a tick."""
        st = self.state
        if self._answer_at is not None and now >= self._answer_at:
            self._answer_at = None
            if st is LineState.IN_ANSWERED and self.ab != BWD_ANSWER:
                self._set_ab(BWD_ANSWER)
        if self._pulse_end is not None and now >= self._pulse_end:
            self._pulse_end = None
            self.mf_out = 0
            if self._stage == "b":
                self._register_done(now)
        if self._safety is not None and now >= self._safety and st in (LineState.IN_REGISTER,
                                                                        LineState.OUT_REGISTER):
            self._safety = None
            log.info("R2: register phase took longer than mf_fwd_safety")
            if st is LineState.IN_REGISTER:
                self.hangup(now)
            else:
                self._dial_failed("protocol", now)
            return
        if self._deadline is None or now < self._deadline:
            return
        self._deadline = None
        if st is LineState.IN_REGISTER and self._stage == "dnis" and self.dnis and not self.mf_out:
            # No more DNIS digits (China has no end-of-DNIS signal): pulsed.
            self.mf_out = self._after_dnis()
            self._pulse_end = now + self.timers.pulse / 1000
        elif st is LineState.OUT_SEIZING:
            self._dial_failed("no_seize_ack", now)
        elif st is LineState.OUT_WAIT_ANSWER:
            self._dial_failed("no_answer", now)
        elif st is LineState.OUT_CLEARING:
            self._to_idle()                         # r2_set_call_down: force idle

    def reset(self):
        """Back to idle at once (the span came back after an alarm)."""
        self._set_ab(BWD_IDLE)
        self._reset_call()
        self.far_ab = None
        self._go(LineState.IDLE)


class R2Port:
    """An :class:`R2Channel` with its MFC-R2 generator and receiver: :meth:`tick` moves one
    tick of a channel's audio through them (the samples stay in C)."""

    def __init__(self, config, send_abcd, accept=None, **mf_params):
        self.sm = R2Channel(config, send_abcd, accept)
        self._mf_params = mf_params
        self._gen = None
        self._det = None
        self._directions = None

    def close(self):
        for obj in (self._gen, self._det):
            if obj is not None:
                obj.close()
        self._gen = self._det = None

    def tick(self, rx, tx, now):
        """Feed this tick's received samples of the channel (int16) to the receiver and,
        while a tone is due, write it over ``tx`` (the channel's transmit row)."""
        sm = self.sm
        if sm.register_active:
            directions = (sm.mf_rx_direction, sm.mf_tx_direction)
            if directions != self._directions:
                self.close()
                self._det = dsp.R2MFDetector(directions[0], **self._mf_params)
                self._gen = dsp.R2MFGenerator(directions[1], sm.config.mf_level_dbm0)
                self._directions = directions
            signal = self._det.feed(rx)
            if signal != sm.mf_in:
                sm.on_mf(signal, now)
        sm.poll(now)
        if self._gen is not None:
            if sm.mf_out != self._gen.signal:
                self._gen.put(sm.mf_out)
            if sm.mf_out:
                self._gen.generate(tx.size, out=tx)
            elif not sm.register_active:
                self.close()
                self._directions = None
