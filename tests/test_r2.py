"""R2 line and register signalling (voiceboard/r2.py) between two span ends over real
framers, real ABCD bits in TS16 and real MFC-R2 tones in the bearer (drivers/e1line.py).
Ticks are stepped by hand: media time is tick * 20 ms."""
import numpy as np
import pytest

from drivers import e1line
from voiceboard import dsp
from voiceboard.r2 import LineState, R2Config, R2Timers

TICK_S = 0.02


class Pair:
    """Two span ends back to back; ``fwd`` places calls to ``bwd``."""

    def __init__(self, config=None, accept=None, config_bwd=None):
        config = config or R2Config()
        self.fwd = e1line.SpanEnd(config)
        self.bwd = e1line.SpanEnd(config_bwd or config, accept=accept)
        self.ab, self.ba = e1line.link()
        self.t = 0
        self.events = {"fwd": [], "bwd": []}
        self.run(0.3)                               # alignment and idle ABCD both ways

    @property
    def now(self):
        return self.t * TICK_S

    def step(self):
        now = self.now
        silence = np.zeros((30, 160), dtype=np.int16)
        self.ab.write(self.fwd.transmit(silence.copy(), now))
        self.ba.write(self.bwd.transmit(silence.copy(), now))
        self.bwd.receive(self.ab.read(160), now)
        self.fwd.receive(self.ba.read(160), now)
        for name, end in (("fwd", self.fwd), ("bwd", self.bwd)):
            for c, port in enumerate(end.ports):
                for ev in port.sm.take_events():
                    self.events[name].append((c, ev[0], ev[1], now))
        self.t += 1

    def run(self, seconds):
        for _ in range(int(round(seconds / TICK_S))):
            self.step()

    def until(self, side, name, channel=None, timeout=20.0):
        for _ in range(int(timeout / TICK_S)):
            for ev in self.events[side]:
                if ev[1] == name and (channel is None or ev[0] == channel):
                    self.events[side].remove(ev)
                    return ev
            self.step()
        raise AssertionError(f"{side}: no {name} within {timeout} s; events {self.events}")

    def names(self, side, channel):
        return [e[1] for e in self.events[side] if e[0] == channel]


def abcd_seen(end, channel):
    return end.framer.status()["abcd"][channel]


def setup_call(p, ch=4, dnis="8001", ani="13800138000", seize=0b0011, ack=0b1111):
    assert p.fwd.ports[ch].sm.dial(dnis, ani, p.now)
    # The backward end sees the seizure (China 0011) and acknowledges (1111).
    p.run(0.1)
    assert abcd_seen(p.bwd, ch) == seize
    assert abcd_seen(p.fwd, ch) == ack
    ev = p.until("bwd", "offered", ch)
    return ev


def test_china_call_setup_collects_dnis_ka_ani_and_kd():
    p = Pair()
    ev = setup_call(p)
    assert ev[2] == {"dnis": "8001", "ani": "13800138000", "category": 1, "kd": 3}
    assert p.bwd.ports[4].sm.state is LineState.IN_RINGING
    p.until("fwd", "ringing", 4)
    # China has no end-of-DNIS signal: the backward end waited mf_back_cycle (2 s), then A-6.
    assert ev[3] > 2.0
    p.bwd.ports[4].sm.answer(p.now)
    p.until("fwd", "answered", 4)
    assert abcd_seen(p.fwd, 4) == 0b0111                  # China answer
    # Other channels never moved from idle.
    assert all(abcd_seen(p.bwd, c) == 0b1011 for c in range(30) if c != 4)


def test_release_caller_first():
    p = Pair()
    setup_call(p)
    p.bwd.ports[4].sm.answer(p.now)
    p.until("fwd", "answered", 4)
    p.fwd.ports[4].sm.hangup(p.now)                       # clear-forward 1011
    p.until("bwd", "clear_forward", 4)
    p.until("fwd", "idle", 4)                             # release guard 1011 ends it
    assert p.fwd.ports[4].sm.state is LineState.IDLE and p.bwd.ports[4].sm.state is LineState.IDLE
    p.run(0.1)
    assert abcd_seen(p.bwd, 4) == 0b1011 and abcd_seen(p.fwd, 4) == 0b1011


def test_release_callee_first():
    p = Pair()
    setup_call(p)
    p.bwd.ports[4].sm.answer(p.now)
    p.until("fwd", "answered", 4)
    p.bwd.ports[4].sm.hangup(p.now)                       # clear-back 1111
    assert p.bwd.ports[4].sm.state is LineState.IN_CLEAR_BACK
    p.until("fwd", "clear_back", 4)                       # forward answers clear-forward
    p.until("bwd", "released", 4)
    p.until("fwd", "idle", 4)
    assert p.bwd.ports[4].sm.state is LineState.IDLE


def test_max_dnis_skips_the_timeout_and_busy_gives_b2():
    config = R2Config(max_dnis=4)
    p = Pair(config, accept=lambda ch, dnis, ani: dnis != "8002")
    ev = setup_call(p, ch=0, dnis="8001", ani="5")
    assert ev[3] < 2.0 + 0.3 and ev[2]["ani"] == "5"
    p.fwd.ports[0].sm.hangup(p.now)
    p.until("fwd", "idle", 0)
    # A busy called party: B-2, the forward end clears.
    assert p.fwd.ports[1].sm.dial("8002", "6", p.now)
    ev = p.until("fwd", "dial_failed", 1)
    assert ev[2] == "busy"
    p.until("bwd", "abandoned", 1)
    p.until("fwd", "idle", 1)


def test_abandoned_while_ringing_and_forced_release():
    p = Pair(R2Config(max_dnis=3))
    setup_call(p, ch=2, dnis="123", ani="")
    p.fwd.ports[2].sm.hangup(p.now)
    p.until("bwd", "abandoned", 2)
    p.until("fwd", "idle", 2)
    # The board refuses a ringing call: forced release (0011), the forward end clears.
    setup_call(p, ch=3, dnis="456", ani="7")
    p.bwd.ports[3].sm.hangup(p.now)
    p.until("fwd", "released", 3)
    p.until("fwd", "idle", 3)
    assert p.bwd.ports[3].sm.state is LineState.IDLE


def test_blocked_channel_cannot_be_seized():
    p = Pair()
    p.bwd.ports[7].sm.block()                               # blocked: 1111 while idle
    p.run(0.1)
    assert abcd_seen(p.fwd, 7) == 0b1111
    assert p.fwd.ports[7].sm.dial("1", "", p.now) is False
    assert p.until("fwd", "dial_failed", 7)[2] == "blocked"
    p.bwd.ports[7].sm.unblock()
    p.run(0.1)
    assert p.fwd.ports[7].sm.dial("1", "", p.now)


def test_seize_without_acknowledgement_times_out():
    # The far end is a bare framer without signalling: every channel stays idle (1011).
    end = e1line.SpanEnd(R2Config(timers=R2Timers(r2_seize=500)))
    deaf = dsp.E1Framer()
    silence = np.zeros((30, 160), dtype=np.int16)
    events = []
    for t in range(60):
        now = t * TICK_S
        if t == 20:
            assert end.ports[8].sm.dial("1", "", now)
        line = end.transmit(silence.copy(), now)
        deaf.receive(line)
        end.receive(deaf.transmit(), now)
        events += [(e[0], now) for e in end.ports[8].sm.take_events()]
    assert events[0][0] == "dial_failed" and 0.9 <= events[0][1] <= 0.96
    assert end.ports[8].sm.state is LineState.OUT_CLEARING


def test_itu_variant():
    config = R2Config(variant="itu", max_dnis=0)
    p = Pair(config)
    ev = setup_call(p, ch=10, dnis="555", ani="42", seize=0b0001, ack=0b1101)
    assert ev[2]["dnis"] == "555" and ev[2]["ani"] == "42"
    # ITU ends the address with I-15: no 2 s wait.
    assert ev[3] < 2.0 + 0.3
    p.until("fwd", "ringing", 10)
    p.bwd.ports[10].sm.answer(p.now)
    p.until("fwd", "answered", 10)
    assert abcd_seen(p.fwd, 10) == 0b0101                  # ITU answer, CD = 01


def test_bad_configuration():
    with pytest.raises(ValueError, match="variant"):
        R2Config(variant="mars")
    with pytest.raises(ValueError, match="category"):
        R2Config(category=0)
