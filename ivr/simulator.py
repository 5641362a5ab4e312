"""Scripted callers against a flow on the emulated board, in virtual time.

A scenario file (YAML) lists callers; each one rings the board's port 0 through the line
simulator, the flow answers on channel 0, and the caller's steps run against it through real
audio: keys are DTMF tones (``ExchangePort.press``), speech is sent as audio, a hangup is a
loop-current drop. Prompts are checked by the ids the interpreter played, in order. Hours of
calls run in seconds (voiceboard.clock virtual time). See docs/flows.md "Testing flows".

Scenario file::

    board: emu://analog?ports=2          # optional (this is the default)
    queues: {agents: "8001"}             # transfer queue -> number the exchange routes
    directory:                           # what the exchange does with a dialled number
      "8001": {outcome: answer, answer_after: 3, talk: 5}   # answer, busy, congestion, vacant, no_answer;
                                         # talk: seconds the answering party speaks
    actions:                             # backend fixtures: result after delay, or error
      bank.balance: {result: {outcome: ok, balance_fen: 12345}, delay: 2.5}
    scenarios:
      - name: balance
        caller_id: "13800138000"
        steps:
          - until: main_menu             # wait until that prompt starts (its next occurrence)
          - wait: 1.0                    # seconds
          - press: "1"                   # DTMF keys (on/off 80 ms)
          - speak: 3                     # seconds of voice-band audio
          - hangup
        expect:
          prompts: [welcome, main_menu]  # exactly these, in order (prompts_include: in order, gaps allowed)
          path_include: [main, card]
          vars: {menu_key: "1"}
          actions: [bank.balance]
          transfers: [{to: "8001", outcome: answered}]
          recordings: [{status: DTMF}]
          keys: [{node: main, keys: "1"}]
          outcome: hangup
"""
import asyncio
import dataclasses
import tempfile
import zlib

import numpy as np

import drivers
from drivers.linesim import CallEnded, Destination
from ivr import actions as _actions
from ivr import schema as S
from ivr.interpreter import Interpreter
from voiceboard import clock, dsp, yamlfile
from voiceboard.errors import ConfigError

DEFAULT_BOARD = "emu://analog?ports=2"
UNTIL_TIMEOUT = 120.0       # s of virtual time a step may wait for a prompt
CALL_TIMEOUT = 3600.0       # s of virtual time a call may last after the last step
# Stand-in prompt lengths from the text: Mandarin ~4 syllables (characters) per second,
# English ~15 characters per second (~150 words per minute); our estimates of read speech.
SECONDS_PER_CHAR = {"zh": 0.25, "en": 0.067}
UNTEXTED_SECONDS = 0.6      # a prompt without text (e.g. one digit of a say sequence)
LEVEL_DBM0 = -15.0          # stand-in prompt level
EXPECT_KEYS = ("prompts", "prompts_include", "path", "path_include", "vars", "actions", "transfers",
               "recordings", "keys", "outcome", "error")
STEP_KEYS = ("until", "wait", "press", "speak", "hangup")


def _sine(hz, seconds, dbm0=LEVEL_DBM0):
    t = np.arange(int(round(seconds * dsp.SAMPLE_RATE))) / dsp.SAMPLE_RATE
    # 0 dBm0 is 16141 RMS (telephony.md §1.4); peak = RMS * sqrt(2).
    return np.round(16141 * np.sqrt(2) * 10 ** (dbm0 / 20) * np.sin(2 * np.pi * hz * t)).astype(np.int16)


class TonePrompts:
    """A prompt store for flows without recordings: every prompt id plays as a tone of its
    own pitch (300-890 Hz: one sine, never a DTMF pair) lasting as long as its text would take
    to read. Real audio through the board, so barge-in and timers behave as with speech."""

    def __init__(self, flow):
        self.flow = flow
        self._cache = {}

    def seconds(self, pid, lang):
        text = self.flow.prompt_text(pid, lang) if self.flow is not None else None
        if not text:
            return UNTEXTED_SECONDS
        return max(UNTEXTED_SECONDS, len(text) * SECONDS_PER_CHAR.get(lang, 0.1))

    def load(self, pid, lang):
        key = (pid, lang)
        if key not in self._cache:
            hz = 300 + (zlib.crc32(pid.encode()) % 60) * 10
            self._cache[key] = _sine(hz, self.seconds(pid, lang))
        return self._cache[key]

    def say(self, value, say_as, lang):
        """Stand-in for the say layer: one prompt id ``say:<type>:<value>`` (a tone like the
        others), so flows with say items run before ivr/say.py is installed."""
        return [f"say:{say_as}:{value}"]

    def tts(self, text, lang):
        return _sine(300 + (zlib.crc32(text.encode()) % 60) * 10,
                     max(UNTEXTED_SECONDS, len(text) * SECONDS_PER_CHAR.get(lang, 0.1)))


@dataclasses.dataclass
class ScenarioResult:
    name: str
    ok: bool
    failures: list
    record: dict
    timeline: list          # (seconds, who, what, detail)

    def report(self):
        """A readable account: the failures, then the call's timeline."""
        lines = [f"FAIL {self.name}" if not self.ok else f"ok   {self.name}"]
        if self.ok:
            return "\n".join(lines)
        lines += [f"  - {f}" for f in self.failures]
        lines.append("  timeline:")
        for t, who, what, detail in self.timeline:
            lines.append(f"    {t:8.2f}s  {who:6s} {what:12s} {detail}")
        rec = self.record
        lines.append(f"  path: {' -> '.join(rec.get('path', []))}")
        lines.append(f"  outcome: {rec.get('outcome')}")
        return "\n".join(lines)


class ScenarioError(ConfigError):
    """A bad scenario file; the message names the file and the scenario."""


def load_scenarios(path):
    """The parsed scenario file (a dict); ScenarioError naming the place on bad input."""
    data = yamlfile.read(path, ScenarioError)
    if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list):
        raise ScenarioError(f"{path}: a scenario file is a mapping with a scenarios: list")
    unknown = set(data) - {"board", "queues", "directory", "actions", "scenarios"}
    if unknown:
        raise ScenarioError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
    for i, sc in enumerate(data["scenarios"]):
        name = sc.get("name", f"#{i + 1}") if isinstance(sc, dict) else f"#{i + 1}"
        where = f"{path}: scenario {name}"
        if not isinstance(sc, dict):
            raise ScenarioError(f"{where}: must be a mapping")
        bad = set(sc) - {"name", "caller_id", "vars", "steps", "expect", "actions", "directory", "queues"}
        if bad:
            raise ScenarioError(f"{where}: unknown key(s) {', '.join(sorted(bad))}")
        for j, step in enumerate(sc.get("steps") or []):
            key = step if isinstance(step, str) else (next(iter(step)) if isinstance(step, dict) and len(step) == 1 else None)
            if key not in STEP_KEYS:
                raise ScenarioError(f"{where}: step {j + 1} {step!r}: use one of {', '.join(STEP_KEYS)}")
        bad = set(sc.get("expect") or {}) - set(EXPECT_KEYS)
        if bad:
            raise ScenarioError(f"{where}: unknown expectation(s) {', '.join(sorted(bad))} "
                                f"(known: {', '.join(EXPECT_KEYS)})")
    return data


def _fixtures(table, where):
    out = {}
    for name, spec in (table or {}).items():
        if not isinstance(spec, dict) or set(spec) - {"result", "delay", "error"}:
            raise ScenarioError(f"{where}: action fixture {name!r}: a mapping of result, delay, error")
        out[name] = _actions.Fixture(name, spec.get("result"), float(spec.get("delay", 0.0)), str(spec.get("error", "")))
    return out


def _directory(table, where):
    out = {}
    for number, spec in (table or {}).items():
        spec = dict(spec or {})
        talk = float(spec.pop("talk", 5.0))
        try:
            dest = Destination(**spec)
        except TypeError:
            raise ScenarioError(f"{where}: directory {number!r}: keys are outcome, answer_after, talk") from None
        # The answering party talks for ``talk`` seconds (its audio is a 1 kHz-free voice-band tone).
        out[str(number)] = dataclasses.replace(dest, greeting=_sine(500.0, talk, -12.0)) if dest.outcome == "answer" else dest
    return out


async def _caller(port, steps, record, timeline, t0, call):
    loop = asyncio.get_running_loop()

    def note(what, detail=""):
        timeline.append((round(loop.time() - t0, 3), "caller", what, detail))

    seen = 0
    for i, step in enumerate(steps):
        key, value = (step, None) if isinstance(step, str) else next(iter(step.items()))
        try:
            seen = await _step(port, key, value, record, seen, note, call)
        except CallEnded:
            if i < len(steps) - 1:
                raise AssertionError(f"the call ended during step {i + 1} ({key}: {value}); "
                                     f"{len(steps) - i - 1} step(s) left") from None
            return      # the last key ended the call before its tone had finished: fine


async def _step(port, key, value, record, seen, note, call):
    """Carry out one caller step; returns how many prompts have been heard."""
    loop = asyncio.get_running_loop()
    if key == "until":
        deadline = loop.time() + UNTIL_TIMEOUT
        while True:
            prompts = record.get("prompts", [])
            if str(value) in prompts[seen:]:
                seen = prompts.index(str(value), seen) + 1
                note("heard", str(value))
                break
            if call.done() or loop.time() > deadline:
                raise AssertionError(f"step until: {value}: the prompt never played")
            await asyncio.sleep(0.02)
    elif key == "wait":
        note("wait", f"{value} s")
        await port.wait(float(value))
    elif key == "press":
        note("press", str(value))
        await port.press(str(value), on_ms=80, off_ms=80)
    elif key == "speak":
        note("speak", f"{value} s")
        # Voice-band audio: two tones that are not a DTMF pair, at a speech level.
        seconds = float(value)
        audio = (_sine(440.0, seconds, -20.0).astype(np.int32) + _sine(1250.0, seconds, -26.0)).astype(np.int16)
        await port.send(audio)
    elif key == "hangup":
        note("hangup")
        await port.hangup()
    return seen


def _check(expect, record):
    failures = []

    def subseq(want, got):
        it = iter(got)
        return all(any(w == g for g in it) for w in want)

    for key, want in (expect or {}).items():
        if key == "prompts" and list(map(str, want)) != record["prompts"]:
            failures.append(f"prompts: expected {want}, played {record['prompts']}")
        elif key == "prompts_include" and not subseq(list(map(str, want)), record["prompts"]):
            failures.append(f"prompts_include: {want} not played in that order (played {record['prompts']})")
        elif key == "path" and list(want) != record["path"]:
            failures.append(f"path: expected {want}, got {record['path']}")
        elif key == "path_include" and not subseq(list(want), record["path"]):
            failures.append(f"path_include: {want} not visited in that order (path {record['path']})")
        elif key == "vars":
            for name, value in want.items():
                if record["vars"].get(name) != value:
                    failures.append(f"vars: {name} is {record['vars'].get(name)!r}, expected {value!r}")
        elif key == "actions" and list(want) != [a["name"] for a in record["actions"]]:
            failures.append(f"actions: expected {want}, called {[a['name'] for a in record['actions']]}")
        elif key in ("transfers", "recordings", "keys"):
            got = record[key]
            if isinstance(want, int):
                if len(got) != want:
                    failures.append(f"{key}: expected {want}, got {len(got)}: {got}")
                continue
            if len(want) != len(got):
                failures.append(f"{key}: expected {len(want)}, got {len(got)}: {got}")
                continue
            for w, g in zip(want, got):
                for field, value in w.items():
                    if str(g.get(field)) != str(value):
                        failures.append(f"{key}: {field} is {g.get(field)!r}, expected {value!r} in {g}")
        elif key == "outcome" and record["outcome"] != want:
            failures.append(f"outcome: expected {want!r}, got {record['outcome']!r}")
        elif key == "error" and want not in (record["error"] or ""):
            failures.append(f"error: expected {want!r} in {record['error']!r}")
    return failures


async def run_scenario(flow, scenario, settings=None, prompt_loader=None, sayer=None, tts=None,
                       actions=None, recordings_dir=None):
    """Run one scenario (a dict from a scenario file); returns a :class:`ScenarioResult`."""
    settings = settings or {}
    name = scenario.get("name", "scenario")
    where = f"scenario {name}"
    store = TonePrompts(flow)
    registry = dict(_actions.REGISTRY if actions is None else actions)
    registry.update(_fixtures(settings.get("actions"), where))
    registry.update(_fixtures(scenario.get("actions"), where))
    queues = {**(settings.get("queues") or {}), **(scenario.get("queues") or {})}
    directory = {**_directory(settings.get("directory"), where), **_directory(scenario.get("directory"), where)}
    interp = Interpreter(flow, prompt_loader or store.load, sayer=sayer or store.say, tts=tts or store.tts,
                         actions=registry, queues={k: str(v) for k, v in queues.items()},
                         recordings_dir=recordings_dir or tempfile.mkdtemp(prefix="ivr-rec-"))
    record, timeline, failures = {}, [], []
    async with drivers.open_board(settings.get("board", DEFAULT_BOARD)) as board:
        board.exchange.directory.update(directory)
        ch, port = board.channel(0), board.exchange.ports[0]
        cid = scenario.get("caller_id")
        if cid is not None:
            from voiceboard.callerid import CallerId
            cid = CallerId(number=str(cid), format="mdmf")
        ringing = asyncio.ensure_future(port.call(cid))
        while ch.ring_count < (2 if cid is not None else 1):
            await ch.events.get()
        await ch.answer()
        await ringing
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        call = asyncio.ensure_future(interp.run(ch, dict(scenario.get("vars") or {}), record))
        caller = asyncio.ensure_future(_caller(port, scenario.get("steps") or [], record, timeline, t0, call))
        try:
            async with asyncio.timeout(UNTIL_TIMEOUT * 10):
                await asyncio.shield(caller)
        except AssertionError as exc:
            failures.append(str(exc))
        except TimeoutError:
            failures.append("the caller's steps did not finish")
        try:
            async with asyncio.timeout(CALL_TIMEOUT):
                await call
        except TimeoutError:
            failures.append(f"the call did not end within {CALL_TIMEOUT:g} s after the last step")
            await ch.hangup()
    for t, kind, detail in record.get("events", []):
        timeline.append((t, "flow", kind, detail))
    timeline.sort(key=lambda e: e[0])
    if record.get("outcome") is not None:
        failures += _check(scenario.get("expect"), record)
    return ScenarioResult(name, not failures, failures, record, timeline)


def run_file(flow, scenario_path, prompt_loader=None, sayer=None, tts=None, actions=None,
             recordings_dir=None, only=None):
    """Run every scenario of a file in virtual time; returns the list of results."""
    data = load_scenarios(scenario_path)
    results = []
    for sc in data["scenarios"]:
        if only and sc.get("name") not in only:
            continue
        results.append(clock.run(run_scenario(flow, sc, data, prompt_loader, sayer, tts, actions, recordings_dir)))
    return results


# --- path coverage ---------------------------------------------------------------------------

def possible_branches(node):
    """The branch labels a node can take (what the interpreter writes into ``branches``)."""
    t = node.type
    if t == "menu":
        out = [f"choice {c.key}" for c in node["choices"]] + ["noinput", "nomatch", "noinput_exhausted",
                                                             "nomatch_exhausted"]
        out += [label for key, label in ((node["repeat_key"], "repeat"), (node["back_key"], "back"),
                                         (node["top_key"], "top")) if key]
        return out
    if t == "collect":
        return ["match", "noinput", "nomatch", "noinput_exhausted", "nomatch_exhausted"]
    if t == "if":
        return ["then", "else"]
    if t in ("action", "subflow"):
        return [f"on {k}" for k in node["on"]] + ["next"]
    if t == "record":
        return list(S.RECORD_STATUSES)
    if t == "transfer":
        return list(S.TRANSFER_OUTCOMES)
    return []


def coverage(flow, records):
    """Per node: (visited, {branch: taken}) over the call records of a test run."""
    taken = set()
    visited = set()
    for rec in records:
        taken.update((scope, node, label) for scope, node, label in rec.get("branches", []))
        visited.update(rec.get("path", []))
    out = {}
    for node in flow.all_nodes():
        label = f"{node.scope}/{node.name}" if node.scope else node.name
        branches = {b: (node.scope, node.name, b) in taken for b in possible_branches(node)}
        out[label] = (label in visited, node.type, branches)
    return out


def coverage_report(flow, records):
    cov = coverage(flow, records)
    nodes_hit = sum(1 for v, _, _ in cov.values() if v)
    total = sum(len(b) for _, _, b in cov.values())
    hit = sum(sum(b.values()) for _, _, b in cov.values())
    lines = [f"coverage: {nodes_hit}/{len(cov)} nodes visited, {hit}/{total} branches taken"
             + (f" ({100 * hit / total:.0f}%)" if total else "")]
    for label, (visited, ntype, branches) in cov.items():
        mark = "+" if visited else "-"
        detail = "  ".join(f"{'+' if ok else '-'}{b}" for b, ok in branches.items())
        lines.append(f"  {mark} {label} ({ntype}){': ' + detail if detail else ''}")
    return "\n".join(lines)

