"""Scripted callers for the line simulator.

A script is YAML (or the same structure built in Python)::

    callers:
      - port: 0                     # which line of the exchange rings the board
        at: 0.5                     # seconds after the start
        caller_id: {number: "13800138000", name: "ZHANG", format: mdmf, mode: bell202}
        max_rings: 10               # give up after this many rings
        steps:
          - wait: 1.0               # seconds, still on the line
          - listen: 2.0             # hear the board for 2 s
          - press: "1234#"          # DTMF audio, default 80 ms on / 80 ms off at -10 dBm0
          - press: {digits: "0", level: -20, twist: 4, on_ms: 60, off_ms: 60,
                     noise: -40, codec: alaw}
          - wait_for: silence       # or voice, or a tone name: busy, dial, ringback, ...
          - wait_for: {tone: busy, timeout: 10}
          - send: prompts/hello.wav # speak: play a file (or int16 samples from Python)
          - hangup

The caller rings first and runs its steps once the board answers. A step that needs the call
raises CallEnded if the board hangs up first; the runner records that and stops the caller.
Every step and its time go to the timeline.
"""
import asyncio
import dataclasses
import os

from drivers.linesim import CallEnded
from voiceboard import callerid, yamlfile
from voiceboard.errors import ConfigError

STEP_KINDS = ("wait", "listen", "press", "wait_for", "send", "hangup")


@dataclasses.dataclass
class TimelineEntry:
    time: float
    channel: int
    what: str

    def __str__(self):
        return f"{self.time:9.3f}  ch{self.channel:<3d} {self.what}"


def load(path):
    """Read and check a script file; ConfigError with the file name on a mistake."""
    return check(yamlfile.read(path), path, os.path.dirname(os.path.abspath(path)))


def check(data, where="script", base_dir="."):
    """Validate a script structure; returns it with file paths made absolute."""
    if not isinstance(data, dict) or not isinstance(data.get("callers"), list):
        raise ConfigError(f"{where}: a script needs a 'callers' list")
    unknown = set(data) - {"callers"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for i, caller in enumerate(data["callers"]):
        here = f"{where}: callers[{i}]"
        if not isinstance(caller, dict):
            raise ConfigError(f"{here}: must be a mapping")
        bad = set(caller) - {"port", "at", "caller_id", "max_rings", "steps"}
        if bad:
            raise ConfigError(f"{here}: unknown key(s) {', '.join(sorted(bad))}")
        if not isinstance(caller.get("port"), int) or caller["port"] < 0:
            raise ConfigError(f"{here}: 'port' must be a line number (0, 1, ...)")
        if caller.get("caller_id") is not None:
            try:
                cid, mode = _caller_id(caller["caller_id"])
                callerid.onhook_signal(cid, mode=mode)
            except (TypeError, ValueError, AttributeError) as exc:
                raise ConfigError(f"{here}.caller_id: {exc}") from None
        for j, step in enumerate(caller.get("steps") or []):
            kind = step if isinstance(step, str) else (next(iter(step)) if isinstance(step, dict) and len(step) == 1 else None)
            if kind not in STEP_KINDS:
                raise ConfigError(f"{here}.steps[{j}]: {step!r} is not a step ({', '.join(STEP_KINDS)})")
            if kind == "send" and isinstance(step[kind], str) and not os.path.isabs(step[kind]):
                step[kind] = os.path.join(base_dir, step[kind])
    return data


async def run(exchange, script, timeline, now):
    """Run every caller of ``script`` on ``exchange``; ``now()`` gives media time."""
    tasks = [asyncio.ensure_future(_caller(exchange, c, timeline, now)) for c in script["callers"]]
    if tasks:
        await asyncio.gather(*tasks)


async def _caller(exchange, spec, timeline, now):
    if spec["port"] >= len(exchange.ports):
        raise ConfigError(f"script: port {spec['port']} does not exist (the exchange has {len(exchange.ports)})")
    port = exchange.ports[spec["port"]]

    def note(what):
        timeline.append(TimelineEntry(now(), port.number, "caller: " + what))

    await asyncio.sleep(float(spec.get("at", 0.0)))
    cid, mode = _caller_id(spec["caller_id"]) if spec.get("caller_id") else (None, "bell202")
    note(f"rings{' with caller ID ' + cid.number if cid and cid.number else ''}")
    if not await port.call(cid, cid_mode=mode, max_rings=int(spec.get("max_rings", 10))):
        note("gave up: not answered")
        return
    note("answered")
    try:
        for step in spec.get("steps") or []:
            await _step(port, step, note)
    except CallEnded:
        note("the board hung up")


def _caller_id(spec):
    """(CallerId, transmission mode) from a script's caller_id mapping."""
    c = dict(spec)
    mode = c.pop("mode", "bell202")
    unknown = set(c) - {"number", "name", "date", "format"}
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))}")
    cid = callerid.CallerId(number=str(c["number"]) if c.get("number") is not None else None,
                            name=c.get("name"), date=None if c.get("date") is None else str(c["date"]),
                            format=c.get("format", "mdmf"))
    return cid, mode


async def _step(port, step, note):
    kind, arg = (step, None) if isinstance(step, str) else next(iter(step.items()))
    if kind == "wait":
        await port.wait(float(arg))
    elif kind == "listen":
        heard = await port.listen(float(arg))
        note(f"heard {heard.size / 8000:.2f} s")
    elif kind == "press":
        opts = {"digits": str(arg)} if not isinstance(arg, dict) else dict(arg)
        digits = str(opts.pop("digits"))
        note(f"presses {digits}")
        await port.press(digits, level_dbm0=opts.get("level", -10.0), twist_db=opts.get("twist", 0.0),
                         on_ms=opts.get("on_ms", 80), off_ms=opts.get("off_ms", 80),
                         noise_dbm0=opts.get("noise"), codec=opts.get("codec"))
    elif kind == "wait_for":
        opts = {"tone": arg} if not isinstance(arg, dict) else dict(arg)
        what = opts.get("tone", "silence")
        got = await port.wait_for((what,), timeout=float(opts.get("timeout", 30.0)))
        note(f"waited for {what}: {'heard' if got else 'timed out'}")
    elif kind == "send":
        note(f"speaks {os.path.basename(str(arg)) if isinstance(arg, str) else 'audio'}")
        await port.send(arg)
    elif kind == "hangup":
        note("hangs up")
        await port.hangup()
