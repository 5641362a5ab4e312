"""Simulated callers for ivrd that walk a flow's menus, on the emulated E1 exchange.

A *walk table* (YAML, next to its flow: flows/sample_walk.yaml) says what callers do::

    dnis: "95566"                 # number they dial (routes may match it)
    walks:                        # a caller picks one per call, by weight
      - name: balance
        weight: 3
        steps:                    # one per menu state the call goes through
          - {at: end, pause: 0.3, keys: "1"}      # the prompt stops, 0.3 s later: keys
          - {at: 1.0, keys: "4111111111111111", reported: "****************"}
          - ...
        end: board                # board (wait for the board to hang up) or hangup

``at: end`` waits until the prompt the caller hears stops (:data:`PROMPT_END_S` of quiet
after sound); ``at: S`` presses S seconds after the prompt starts, while it plays (barge-in).
``reported`` is what the flow reports for those keys in the call record (default: the keys;
"" for a confirmation key a flow does not record; stars for masked entries).

Each caller measures, for every key pressed while a prompt plays, the *key-press-to-prompt-
stop latency*: from the first sample of its DTMF tone to the start of the first quiet
stretch (:data:`STOP_QUIET_S`) of what it hears from the board. Loudness is judged per
:data:`WINDOW` samples of the audio the exchange receives, one numpy step per tick for all
channels. It also counts calls completed, lost calls (not answered, or cut before the walk
ended) and per channel the key strings the flow should report, for comparison with the CDR.

The callers run in the daemon's process (:func:`start_callers`, ``simulate`` of an emu://e1
board), or with the whole exchange in another process speaking the E1 socket link
(:func:`detach_exchange`; the child runs ``python -m ivr.loadsim``).
"""
import argparse
import asyncio
import collections
import dataclasses
import json
import os
import random
import signal
import socket
import subprocess
import sys

import numpy as np

from drivers import e1line
from drivers.e1exchange import CallEnded, E1Exchange, PortState
from voiceboard import dsp, yamlfile
from voiceboard.errors import ConfigError
from voiceboard.r2 import R2Config, R2Timers

WINDOW = 40                 # 5 ms at 8 kHz: the loudness step ("within a tick" of 20 ms)
# Quiet below -50 dBm0 (0 dBm0 = 16141 RMS in 16-bit linear, as drivers/e1exchange.py's noise
# level): speech prompts are some 30 dB louder, idle A-law codes some 20 dB quieter.
QUIET_RMS = 16141.0 * 10 ** (-50 / 20)
STOP_QUIET_S = 0.040        # a prompt has stopped when this much quiet follows (our choice:
                            # longer than a tick, shorter than the gap before a next prompt)
PROMPT_END_S = 0.6          # quiet that counts as "the prompt ended" (longer than espeak's
                            # pauses at commas; far inside a flow's 5 s first-key timeout)
ANSWER_TIMEOUT_S = 30.0     # a call not answered by then is lost
STEP_TIMEOUT_S = 30.0       # no prompt within this: the caller gives up (counted as dropped)
PREFILL_TICKS = 2           # far end in another process: ticks sent ahead of the board's
                            # (40 ms of jitter room, half the 80 ms frame store)
REPORT_EVERY_S = 5.0        # the child process rewrites its report this often


@dataclasses.dataclass(frozen=True)
class Step:
    at: object              # "end" or seconds after the prompt starts
    keys: str
    reported: str
    pause: float = 0.0


@dataclasses.dataclass(frozen=True)
class Walk:
    name: str
    weight: float
    steps: tuple
    end: str                # "board" or "hangup"

    @property
    def reported(self):
        return "".join(s.reported for s in self.steps)


@dataclasses.dataclass(frozen=True)
class WalkTable:
    path: str
    dnis: str
    walks: tuple

    def pick(self, rng):
        return rng.choices(self.walks, weights=[w.weight for w in self.walks])[0]


def load_walks(path):
    """Read a walk table; ConfigError naming the file and the place on a bad one."""
    data = yamlfile.read(path)
    if not isinstance(data, dict) or not isinstance(data.get("walks"), list) or not data["walks"]:
        raise ConfigError(f"{path}: a walk table needs 'walks:', a non-empty list")
    walks = []
    for i, w in enumerate(data["walks"]):
        where = f"{path}: walks[{i}]"
        if not isinstance(w, dict) or not isinstance(w.get("steps"), list) or not w["steps"]:
            raise ConfigError(f"{where}: needs 'steps:', a non-empty list")
        steps = []
        for j, s in enumerate(w["steps"]):
            at = s.get("at", "end") if isinstance(s, dict) else None
            keys = str(s.get("keys", "")) if isinstance(s, dict) else ""
            if at != "end" and not (isinstance(at, (int, float)) and not isinstance(at, bool) and at >= 0):
                raise ConfigError(f"{where}.steps[{j}]: 'at' must be end or seconds >= 0")
            if not keys or any(k not in dsp.DTMF_DIGITS for k in keys):
                raise ConfigError(f"{where}.steps[{j}]: 'keys' must be DTMF keys (0-9 * # A-D)")
            steps.append(Step(at, keys, str(s.get("reported", keys)), float(s.get("pause", 0.0))))
        end = w.get("end", "board")
        if end not in ("board", "hangup"):
            raise ConfigError(f"{where}.end must be board or hangup")
        walks.append(Walk(str(w.get("name", i)), float(w.get("weight", 1)), tuple(steps), end))
    return WalkTable(os.path.abspath(path), str(data.get("dnis", "")), tuple(walks))


class Ear:
    """What every caller hears, judged loud or quiet per window, after each exchange tick."""

    def __init__(self, exchange):
        self.exchange = exchange
        n = len(exchange.ports)
        self.window_s = WINDOW / dsp.SAMPLE_RATE
        self.last_loud = np.full(n, -1e9)       # media time of the end of the last loud window
        self.now = 0.0
        self.presses = {}                       # port -> _Press
        self.tick_event = asyncio.Event()
        tick = exchange.tick

        def heard(now):
            tick(now)
            self._judge(now)
        exchange.tick = heard                   # instance attribute: the exchange stays as it is

    def _judge(self, now):
        self.now = now
        # The exchange's received bearer audio of this tick, all channels at once (the
        # exchange keeps it as _rx for its engine; reading it costs no copy per channel).
        rx = self.exchange._rx.astype(np.float32).reshape(len(self.exchange.ports), -1, WINDOW)
        loud = np.sqrt(np.mean(rx * rx, axis=2)) > QUIET_RMS
        windows = loud.shape[1]
        any_loud = loud.any(axis=1)
        if any_loud.any():
            last = windows - 1 - np.argmax(loud[:, ::-1], axis=1)
            ends = now + (last + 1) * self.window_s
            self.last_loud = np.where(any_loud, ends, self.last_loud)
        for port, press in list(self.presses.items()):
            if press.start is None:
                press.start = now       # the tone went into this tick's samples
                continue
            self._stop_after(port, press, loud[port], now)
        self.tick_event.set()
        self.tick_event = asyncio.Event()

    def _stop_after(self, port, press, loud, now):
        # The prompt stopped at the first window after the press that begins a quiet stretch
        # of STOP_QUIET_S; the stretch may run into later ticks.
        for w, is_loud in enumerate(loud):
            t = now + w * self.window_s
            if is_loud:
                press.quiet_from = None
            elif press.quiet_from is None:
                press.quiet_from = t
            if press.quiet_from is not None and t + self.window_s - press.quiet_from >= STOP_QUIET_S:
                del self.presses[port]
                if not press.done.done():
                    press.done.set_result(press.quiet_from - press.start)
                return

    def watch_press(self, port):
        """Call just before a press on ``port``: a future of its latency in seconds."""
        press = _Press(asyncio.get_running_loop().create_future())
        self.presses[port] = press
        return press.done

    def cancel(self, port):
        press = self.presses.pop(port, None)
        if press is not None and not press.done.done():
            press.done.cancel()

    def playing(self, port):
        return self.now - self.last_loud[port] < STOP_QUIET_S

    async def until(self, pred, timeout):
        deadline = self.now + timeout
        while not pred():
            if self.now > deadline:
                return False
            await self.tick_event.wait()
        return True


class _Press:
    """A key press being timed: its tone's start, the quiet stretch seen since."""

    def __init__(self, done):
        self.done = done
        self.start = None
        self.quiet_from = None


class Stats:
    """What the callers counted (JSON-able: :meth:`as_dict`)."""

    def __init__(self):
        self.calls = 0
        self.refused = 0                        # seizures refused: the channel was blocked
        self.active = 0                         # calls in progress
        self.finishing = False                  # no new calls: the callers end after theirs
        self.completed = 0
        self.lost = collections.Counter()       # reason -> count
        self.digits_sent = 0
        self.latencies = []
        self.by_step = collections.defaultdict(list)    # "walk/step" -> latencies
        self.expected = collections.defaultdict(list)   # port -> reported keys of its calls, in order

    def as_dict(self):
        lat = np.array(self.latencies) if self.latencies else np.zeros(0)
        return {"calls": self.calls, "refused": self.refused, "active": self.active, "completed": self.completed, "lost": dict(self.lost),
                "digits_sent": self.digits_sent, "latency_samples": int(lat.size),
                "latency_p50_ms": round(float(np.percentile(lat, 50)) * 1000, 1) if lat.size else None,
                "latency_p99_ms": round(float(np.percentile(lat, 99)) * 1000, 1) if lat.size else None,
                "latency_max_ms": round(float(lat.max()) * 1000, 1) if lat.size else None,
                "latency_by_step_ms": {k: [round(float(np.percentile(v, 50)) * 1000, 1),
                                           round(float(np.percentile(v, 99)) * 1000, 1), len(v)]
                                       for k, v in sorted(self.by_step.items())},
                "expected_keys": {str(k): v for k, v in self.expected.items()}}


async def caller(exchange, ear, number, table, stats, pause=(1.0, 4.0), seed=1, ani_prefix="1380000"):
    """One person on E1 exchange port ``number``, calling again and again along the walks."""
    port = exchange.ports[number]
    rng = random.Random(seed * 1000 + number)
    while not stats.finishing:
        await asyncio.sleep(rng.uniform(*pause))
        if stats.finishing:
            return
        if port.state is not PortState.IDLE:
            await port.wait_idle()
            continue
        walk = table.pick(rng)
        stats.calls += 1
        stats.active += 1
        try:
            answered = await port.call(table.dnis, f"{ani_prefix}{number:04d}", timeout=ANSWER_TIMEOUT_S)
        except asyncio.TimeoutError:
            answered = "timeout"
        if answered == "blocked":
            # The trunk is out of service (span not up yet, or in alarm): no call was placed.
            stats.calls -= 1
            stats.active -= 1
            stats.refused += 1
            continue
        if answered is not True:
            stats.lost[f"not answered: {answered}"] += 1
            stats.active -= 1
            await port.hangup()
            await port.wait_idle()
            continue
        stats.expected[number].append(walk.reported)
        try:
            await _walk(port, ear, walk, stats)
            stats.completed += 1
        except CallEnded:
            stats.lost["dropped"] += 1
        finally:
            ear.cancel(number)
            if port.state is not PortState.IDLE:
                await port.hangup()
            stats.active -= 1
            await port.wait_idle()


async def _walk(port, ear, walk, stats):
    n = port.number
    for i, step in enumerate(walk.steps):
        heard = await ear.until(lambda: ear.playing(n) or port.state is not PortState.CONNECTED, STEP_TIMEOUT_S)
        if not heard or port.state is not PortState.CONNECTED:
            raise CallEnded(f"E1 port {n}: no prompt")
        if step.at == "end":
            # A prompt that does not end (a flow stuck replaying it) loses the call: pressing
            # into it anyway would pass for a barge-in and hide the fault.
            if not await ear.until(lambda: ear.now - ear.last_loud[n] >= PROMPT_END_S, STEP_TIMEOUT_S):
                raise CallEnded(f"E1 port {n}: the prompt did not end within {STEP_TIMEOUT_S:g} s")
        else:
            await ear.until(lambda: False, step.at)
        if step.pause:
            await asyncio.sleep(step.pause)
        if port.state is not PortState.CONNECTED:
            raise CallEnded(f"E1 port {n}: the board hung up")
        measured = ear.watch_press(n) if ear.playing(n) else None
        await port.press(step.keys)
        stats.digits_sent += len(step.keys)
        if measured is not None:
            try:
                async with asyncio.timeout(STEP_TIMEOUT_S):
                    latency = await measured
                stats.latencies.append(latency)
                stats.by_step[f"{walk.name}/{i + 1}"].append(latency)
            except asyncio.TimeoutError:
                ear.cancel(n)
    if walk.end == "hangup":
        await port.hangup()
    else:
        # The flow says goodbye and clears: wait for the board's clear-back.
        async with asyncio.timeout(STEP_TIMEOUT_S * 2):
            await port.wait_idle()


def start_callers(exchange, ports, table, stats, pause, seed):
    """Tasks of one caller per port in ``ports`` on ``exchange`` (running loop)."""
    ear = Ear(exchange)
    loop = asyncio.get_running_loop()
    return [loop.create_task(caller(exchange, ear, p, table, stats, pause, seed)) for p in ports]


# --- the far end in another process ------------------------------------------------------------

class RemoteExchange:
    """Stands in for an emu://e1 board's exchange once it runs in a child process: the board
    no longer ticks it (the child is paced by the frames the board sends)."""

    links = ()

    def __init__(self, child):
        self.child = child

    def tick(self, now):
        pass

    def close(self):
        if self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)
            try:
                self.child.wait(10)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()


def detach_exchange(board, walks, report, ports, pause=(1.0, 4.0), seed=1):
    """Move the simulated exchange of an opened emu://e1 board with ``link=socket`` into a
    child process running callers on ``ports`` along the walk table file ``walks``; the child
    writes its :class:`Stats` to ``report`` (JSON) every few seconds and at the end."""
    if board.link != "socket":
        raise ConfigError("the exchange can run in another process only with link=socket")
    old = board.exchange
    fds = [pipe.sock.fileno() for pipe, _ in old.links]
    cfg = board.r2config
    args = [sys.executable, "-m", "ivr.loadsim", "--fds", ",".join(map(str, fds)), "--walks", walks,
            "--report", report, "--ports", ",".join(map(str, ports)), "--pause", f"{pause[0]},{pause[1]}",
            "--seed", str(seed), "--tick", str(old.tick_frames), "--r2", json.dumps(_r2_dict(cfg)),
            "--framer", json.dumps(board.framer_config)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    child = subprocess.Popen(args, pass_fds=fds, cwd=root)
    old.close()
    for pipe, _ in old.links:
        pipe.close()
    board.exchange = RemoteExchange(child)
    return child


def _r2_dict(cfg):
    d = dataclasses.asdict(cfg)
    d["timers"] = dataclasses.asdict(cfg.timers)
    return d


async def _child(args):
    loop = asyncio.get_running_loop()
    pipes = [e1line.socket_link(socket.socket(fileno=int(fd))) for fd in args.fds.split(",")]
    r2 = json.loads(args.r2)
    r2config = R2Config(**{**r2, "timers": R2Timers(**r2["timers"])})
    exchange = E1Exchange([(p, p) for p in pipes], r2config, json.loads(args.framer), tick=args.tick)
    table = load_walks(args.walks)
    stats = Stats()
    ports = [int(p) for p in args.ports.split(",") if p]
    lo, hi = (float(x) for x in args.pause.split(","))
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    # SIGUSR1: start no new calls; the report says "finished" once every caller is done.
    loop.add_signal_handler(signal.SIGUSR1, lambda: setattr(stats, "finishing", True))
    readable = asyncio.Event()
    for p in pipes:
        loop.add_reader(p.sock.fileno(), readable.set)
    tasks = start_callers(exchange, ports, table, stats, (lo, hi), args.seed)

    def write_report():
        tmp = args.report + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({**stats.as_dict(), "slips": sum(p.slips for p in pipes),
                       "finished": all(t.done() for t in tasks)}, f)
        os.replace(tmp, args.report)

    async def line():
        now = 0.0
        for _ in range(PREFILL_TICKS):
            exchange.tick(now)
            now += exchange.tick_s
        while not stop.is_set():
            if all(p.wait(exchange.tick_frames, 0) for p in pipes):
                exchange.tick(now)
                now += exchange.tick_s
                await asyncio.sleep(0)
                continue
            if any(p.closed for p in pipes):
                stop.set()
                return
            readable.clear()
            try:
                async with asyncio.timeout(5.0):
                    await readable.wait()
            except asyncio.TimeoutError:
                continue

    async def reporter():
        while True:
            await asyncio.sleep(1.0 if stats.finishing else REPORT_EVERY_S)
            write_report()

    ticker = loop.create_task(line())
    rep = loop.create_task(reporter())
    await stop.wait()
    for t in [ticker, rep, *tasks]:
        t.cancel()
    await asyncio.gather(ticker, rep, *tasks, return_exceptions=True)
    write_report()
    exchange.close()


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m ivr.loadsim",
                                description="The simulated E1 exchange and its callers, in their own process "
                                            "(started by ivrd for a simulate: with process: true).")
    p.add_argument("--fds", required=True, help="socket file descriptors, one per span")
    p.add_argument("--walks", required=True)
    p.add_argument("--report", required=True)
    p.add_argument("--ports", required=True)
    p.add_argument("--pause", default="1,4")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tick", type=int, default=160)
    p.add_argument("--r2", required=True)
    p.add_argument("--framer", required=True)
    args = p.parse_args(argv)
    asyncio.run(_child(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
