"""The flow interpreter: one coroutine per call on a voiceboard Channel.

:meth:`Interpreter.run` takes an answered channel and walks the flow it was built with. The
flow object is immutable, so a call keeps the version it started on even if the daemon
loads a new one meanwhile (a reload gives a new Interpreter).

Menus and collects follow the rules of :mod:`ivr.states`; the interpreter only carries out
the commands of its :class:`ivr.states.Dialog` on the channel (play with barge-in, wait for
one digit with a timeout, flush), so timers and counters live in one place.

Failures never leave the call: an exception in an action or an expression, or the step limit,
sends the call to the flow's ``error`` handler (or hangs up); a caller hangup runs the
``hangup`` handler (non-media nodes only); ``max_call_seconds`` runs the ``max_duration``
handler. What happened is kept in a call record (a dict): node path, prompts played, keys
(masked for ``mask: true`` collects), actions, transfers, recordings, branches and outcome.
"""
import asyncio
import itertools
import logging
import os
import re

from ivr import actions as _actions
from ivr import expr as _expr
from ivr import schema as S
from ivr import states
from voiceboard import dsp
from voiceboard.states import ChannelState

log = logging.getLogger("ivr.interpreter")

MAX_DURATION_GRACE = 60.0   # s the max_duration handler may run before the line is cleared (our choice)
BARGE_DIGITS = dsp.DTMF_DIGITS
YIELD_EVERY = 50            # nodes without media in a row before the call lets others run (~0.2 ms)
_MEDIA = ("play", "say", "menu", "collect", "record", "transfer", "hangup")
_call_ids = itertools.count(1)


class _CallerHangup(Exception):
    pass


class _StepLimit(Exception):
    pass


class FlowRuntimeError(Exception):
    """A failure inside a flow (bad expression value, missing prompt, action error)."""


class _Frame:
    def __init__(self, scope, variables, return_map=None, node=None):
        self.scope = scope
        self.vars = variables
        self.return_map = return_map or {}
        self.caller_node = node
        self.menus = []


def _valid_date(digits):
    import datetime
    if len(digits) != 8 or not digits.isdigit():
        return False
    try:
        datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return False
    return True


VALIDATORS = {
    "luhn": _expr._luhn,
    "date": _valid_date,                                        # YYYYMMDD
    "amount": lambda d: re.fullmatch(r"\d{1,12}(\*\d{1,2})?", d) is not None,   # * is the decimal point
}


PATTERN_SEARCH = 3          # digits still to come up to which a pattern's completions are tried


def _can_grow(pattern, digits, max_len):
    """Whether more keys could make ``digits`` match ``pattern`` (at most ``max_len`` keys).

    Python's re has no partial match, so the completions are tried when at most
    PATTERN_SEARCH keys remain (12^3 fullmatch calls at worst); with more to come the entry is
    assumed to be able to grow, and the inter-digit timer decides."""
    left = max_len - len(digits)
    if left <= 0:
        return False
    if left > PATTERN_SEARCH:
        return True
    keys = "0123456789*#"
    tails = [""]
    for _ in range(left):
        tails = [t + k for t in tails for k in keys]
        if any(pattern.fullmatch(digits + t) for t in tails):
            return True
    return False


class Interpreter:
    """Runs calls of one flow version.

    Parameters
    ----------
    flow : ivr.schema.Flow
        A flow that passed the linter (:func:`ivr.loader.load`).
    prompt_loader : callable(prompt_id, lang) -> int16 array
        The prompt store. LookupError or OSError means "no recording": the flow's text for
        that prompt then goes to ``tts`` if given.
    sayer : callable(value, say_as, lang) -> list of prompt ids, optional
        The say layer (numbers, money, dates as prompt ids).
    tts : callable(text, lang) -> int16 array, optional
    actions : dict name -> function, optional (default: ivr.actions.REGISTRY)
    queues : dict queue name -> number to dial, optional
    recordings_dir : str, optional
        Where record nodes write (default: the current directory).
    """

    def __init__(self, flow, prompt_loader, sayer=None, tts=None, actions=None, queues=None,
                 recordings_dir="."):
        self.flow = flow
        self.prompt_loader = prompt_loader
        self.sayer = sayer
        self.tts = tts
        self.actions = _actions.REGISTRY if actions is None else actions
        self.queues = dict(queues or {})
        self.recordings_dir = recordings_dir
        self.masked = frozenset(n["var"] for n in flow.all_nodes() if n.type == "collect" and n["mask"])

    async def run(self, channel, variables=None, record=None, observer=None):
        """Run one call on an answered channel; returns the call record (``record`` if given,
        filled as the call goes, so a watcher can follow it). ``observer``, if given, is told
        each node entered (``observer.step(label)``) and each entry typed, already masked
        where the flow masks it (``observer.keys(digits)``) -- the daemon's live view."""
        call = _Call(self, channel, variables or {}, {} if record is None else record)
        call.observer = observer
        await call.run()
        return call.record


def _agent_ports(target, channels):
    """Channel numbers of "ports:A-B,C" (agent positions on the board), or None for a number."""
    if not target.startswith("ports:"):
        return None
    ports = []
    for part in target[len("ports:"):].split(","):
        low, _, high = part.partition("-")
        try:
            ports += range(int(low), int(high or low) + 1)
        except ValueError:
            raise FlowRuntimeError(f"agent positions {target!r}: use ports:A-B,C") from None
    if not ports or min(ports) < 0 or max(ports) >= channels:
        raise FlowRuntimeError(f"agent positions {target!r}: the board has channels 0-{channels - 1}")
    return ports


class _Call:
    def __init__(self, interp, channel, variables, record):
        self.i = interp
        self.flow = interp.flow
        self.ch = channel
        self.loop = asyncio.get_running_loop()
        self.t0 = self.loop.time()
        self.steps = 0
        self.handler_mode = None
        self.id = next(_call_ids)
        base = {"ani": channel.ani or (channel.caller_id.number if channel.caller_id else "") or "",
                "dnis": channel.dnis or "", "channel": channel.number, "lang": self.flow.lang,
                "flow_version": self.flow.version, "last_outcome": "", "error": "", "call_seconds": 0}
        base["caller_id"] = base["ani"]
        self.frames = [_Frame("", base)]
        self.masked = interp.masked
        self.secrets = set()        # values entered in mask: true collects, hidden wherever they go
        self.record = record
        record.update(call_id=self.id, flow=self.flow.name, version=self.flow.version, channel=channel.number,
                      ani=base["ani"], dnis=base["dnis"], path=[], prompts=[], keys=[], actions=[],
                      transfers=[], recordings=[], branches=[], events=[], vars={}, outcome=None,
                      end_node=None, error=None, duration=0.0)
        base.update(variables)
        self.given = set(variables)
        self.observer = None

    # --- helpers ---------------------------------------------------------------------------

    def _typed(self, node, shown):
        self.record["keys"].append({"node": node.name, "keys": shown})
        if self.observer is not None:
            self.observer.keys(shown)

    @property
    def frame(self):
        return self.frames[-1]

    @property
    def vars(self):
        return self.frame.vars

    def now(self):
        return self.loop.time() - self.t0

    def event(self, kind, detail=""):
        self.record["events"].append((round(self.now(), 3), kind, detail))

    def branch(self, node, label):
        self.record["branches"].append((node.scope, node.name, label))

    def eval(self, e, where):
        self.vars["call_seconds"] = round(self.now(), 3)
        try:
            return e(self.vars)
        except _expr.ExprError as exc:
            raise FlowRuntimeError(f"{where}: {e.source!r}: {exc}") from None

    def secret(self, value):
        return isinstance(value, str) and value in self.secrets

    def check_line(self):
        if self.handler_mode != "hangup" and self.ch.state is not ChannelState.CONNECTED:
            raise _CallerHangup()

    # --- prompts ----------------------------------------------------------------------------

    def render(self, items):
        """(labels, audio list) of a prompt list in the call's language."""
        lang = self.vars.get("lang", self.flow.lang)
        labels, audio = [], []
        for item in items:
            if item.kind == "id":
                labels.append(item.value)
                audio.append(self.prompt(item.value, lang))
            elif item.kind == "file":
                labels.append(f"file:{item.value}")
                audio.append(os.path.join(os.path.dirname(self.flow.path), item.value))
            elif item.kind == "tts":
                if self.i.tts is None:
                    raise FlowRuntimeError(f"TTS text {item.value!r}: no TTS engine configured")
                labels.append(f"tts:{item.value}")
                audio.append(self.i.tts(item.value, lang))
            else:
                value = self.eval(item.value, "say")
                if self.i.sayer is None:
                    raise FlowRuntimeError("say: no say layer configured")
                hidden = self.secret(str(value))
                try:
                    pids = list(self.i.sayer(value, item.say_as, lang))
                except (TypeError, ValueError, LookupError) as exc:
                    raise FlowRuntimeError(f"say {item.say_as} {'***' if hidden else repr(value)}: {exc}") from None
                for pid in pids:
                    labels.append("*" if hidden else pid)      # prompt ids would spell a secret out
                    audio.append(self.prompt(pid, lang))
        return labels, audio

    def prompt(self, pid, lang):
        try:
            return self.i.prompt_loader(pid, lang)
        except (LookupError, OSError, ValueError) as exc:
            text = self.flow.prompt_text(pid, lang)
            if text and self.i.tts is not None:
                return self.i.tts(text, lang)
            raise FlowRuntimeError(f"prompt {pid!r} ({lang}): {exc}") from None

    async def play(self, items, barge_in):
        """Play a prompt list; returns the PlayResult (None if empty)."""
        labels, audio = self.render(items)
        if not audio:
            return None
        digits = BARGE_DIGITS if barge_in else ""
        if digits and any(d in digits for d in self.ch.type_ahead):
            self.event("skip", " ".join(labels))         # the caller typed ahead: nothing plays
        else:
            self.record["prompts"].extend(labels)
            self.event("play", " ".join(labels))
        result = await self.ch.play(audio, barge_in=digits)
        if result.reason == "hangup":
            raise _CallerHangup()
        if not barge_in:
            # Keys typed during a prompt the caller had to hear out are dropped (states.py rule 2).
            dropped = self.ch.flush_digits()
            if dropped:
                self.event("flush", "*" * len(dropped))
        if result.reason == "barge_in":
            self.event("barge_in", result.digit)
        return result

    # --- the walk ---------------------------------------------------------------------------

    async def run(self):
        flow = self.flow
        outcome = None
        try:
            try:
                async with asyncio.timeout(flow.max_call_seconds):
                    outcome = await self.start()
            except TimeoutError:
                self.event("max_duration")
                outcome = self.record["outcome"] = "max_duration"
                handler = flow.handlers.get("max_duration")
                if handler and self.ch.state is ChannelState.CONNECTED:
                    self.frames = self.frames[:1]
                    try:
                        async with asyncio.timeout(MAX_DURATION_GRACE):
                            await self.walk(handler, handler_mode="max_duration")
                    except TimeoutError:
                        pass
        except _CallerHangup:
            outcome = self.record["outcome"] = "caller_hangup"
            self.event("caller_hangup")
            handler = flow.handlers.get("hangup")
            if handler:
                self.frames = self.frames[:1]
                try:
                    await self.walk(handler, handler_mode="hangup")
                except (_CallerHangup, FlowRuntimeError, _StepLimit) as exc:
                    log.warning("call %d: hangup handler stopped: %s", self.id, exc)
        finally:
            if self.ch.state is ChannelState.CONNECTED:
                await self.ch.hangup()
            rec = self.record
            rec["outcome"] = rec["outcome"] or outcome
            rec["duration"] = round(self.now(), 3)
            rec["vars"] = {k: ("*" * len(str(v)) if k in self.masked or self.secret(v) else v)
                           for k, v in self.frames[0].vars.items()}
            log.debug("call %d: ended: %s after %.2f s", self.id, rec["outcome"], rec["duration"])

    async def start(self):
        """Set the flow's initial variables, then walk from the start node."""
        base = self.frames[0].vars
        try:
            for name, e in self.flow.vars.items():
                if name not in self.given:
                    base[name] = self.eval(e, f"vars {name}")
        except FlowRuntimeError as exc:
            self.record["error"], self.record["outcome"] = str(exc), "error"
            self.event("error", str(exc))
            handler = self.flow.handlers.get("error")
            base["error"] = str(exc)
            return await self.walk(handler, handler_mode="error") if handler else "error"
        return await self.walk(self.flow.start)

    async def walk(self, name, handler_mode=None):
        """Run nodes from ``name`` until the flow ends; returns the outcome."""
        while name is not None:
            try:
                name = await self.step(name, handler_mode)
            except _CallerHangup:
                raise
            except Exception as exc:
                if handler_mode != "hangup" and self.ch.state is not ChannelState.CONNECTED:
                    raise _CallerHangup() from None     # the line went down under an operation
                kind = "step_limit" if isinstance(exc, _StepLimit) else "error"
                if isinstance(exc, (FlowRuntimeError, _StepLimit)):
                    message = str(exc) or kind
                else:
                    # Not a flow mistake the interpreter knows: keep the traceback in the log.
                    log.exception("call %d: node %s failed", self.id, name)
                    message = f"node {name}: {type(exc).__name__}: {exc}"
                self.record["error"] = message
                self.event("error", message)
                log.warning("call %d: %s", self.id, message)
                handler = self.flow.handlers.get("error")
                if handler_mode is not None or handler is None:
                    self.record["outcome"] = kind
                    return kind
                self.frames = self.frames[:1]
                self.vars["error"] = message
                self.record["outcome"] = kind
                self.steps = 0                  # the handler gets a step budget of its own
                handler_mode = "error"
                name = handler
        return self.record["outcome"]

    async def step(self, name, handler_mode):
        self.handler_mode = handler_mode
        self.steps += 1
        if self.steps > self.flow.max_steps:
            raise _StepLimit(f"step limit: {self.flow.max_steps} nodes visited")
        if self.steps % YIELD_EVERY == 0:
            await asyncio.sleep(0)      # let the board's tick and other calls run
        nodes = self.flow.scope_nodes(self.frame.scope)
        node = nodes[name]
        if handler_mode == "hangup" and node.type in _MEDIA:
            return None                 # the caller is gone: only set/if/action/subflow run
        label = f"{node.scope}/{name}" if node.scope else name
        self.record["path"].append(label)
        if self.observer is not None:
            self.observer.step(label)
        self.event("node", label)
        log.debug("call %d: %s (%s)", self.id, label, node.type)
        if handler_mode != "hangup":
            self.check_line()
        return await getattr(self, "node_" + node.type)(node)

    # --- nodes ------------------------------------------------------------------------------

    async def node_play(self, node):
        await self.play(node["prompts"], node["barge_in"])
        return node["next"]

    async def node_say(self, node):
        item = S.PromptItem("say", node["value"], node["as"])
        await self.play(tuple(node["before"]) + (item,) + tuple(node["after"]), node["barge_in"])
        return node["next"]

    async def node_set(self, node):
        for var, e in node["vars"].items():
            self.vars[var] = self.eval(e, f"node {node.name} set {var}")
        return node["next"]

    async def node_if(self, node):
        taken = bool(self.eval(node["cond"], f"node {node.name} cond"))
        self.branch(node, "then" if taken else "else")
        return node["then"] if taken else node["else"]

    async def node_hangup(self, node):
        if node["prompt"]:
            await self.play(node["prompt"], False)
        self.record["outcome"] = self.record["outcome"] or "hangup"
        self.record["end_node"] = node.name
        await self.ch.hangup()
        return None

    async def node_return(self, node):
        values = {k: self.eval(e, f"node {node.name} return {k}") for k, e in node["values"].items()}
        if len(self.frames) == 1:
            self.record["outcome"] = self.record["outcome"] or node["outcome"]
            self.record["end_node"] = node.name
            return None
        done = self.frames.pop()
        caller = done.caller_node
        self.vars["lang"] = done.vars.get("lang", self.vars.get("lang"))
        for var, ret in done.return_map.items():
            if ret in values:
                self.vars[var] = values[ret]
        self.vars["last_outcome"] = node["outcome"]
        self.branch(caller, f"on {node['outcome']}" if node["outcome"] in caller["on"] else "next")
        return caller["on"].get(node["outcome"], caller["next"])

    async def node_subflow(self, node):
        if len(self.frames) > S.MAX_SUBFLOW_DEPTH:
            raise FlowRuntimeError(f"node {node.name}: subflows nested deeper than {S.MAX_SUBFLOW_DEPTH}")
        sub = self.flow.subflows[node["flow"]]
        inherited = {k: self.vars[k] for k in ("ani", "dnis", "caller_id", "channel", "lang", "flow_version")
                     if k in self.vars}
        inherited.update(last_outcome="", error="", call_seconds=0)
        params = {k: self.eval(e, f"node {node.name} param {k}") for k, e in node["params"].items()}
        for p in sub.params:
            params.setdefault(p, None)
        self.frames.append(_Frame(sub.name, {**inherited, **params}, dict(node["returns"]), node))
        return sub.start

    async def node_action(self, node):
        name = node["call"]
        fn = self.i.actions.get(name)
        if fn is None:
            raise FlowRuntimeError(f"node {node.name}: action {name!r} is not registered")
        args, shown = {}, {}
        for k, e in node["args"].items():
            args[k] = self.eval(e, f"node {node.name} arg {k}")
            shown[k] = "***" if e.names & self.masked or self.secret(args[k]) else args[k]
        ctx = _actions.ActionContext(self.flow.name, self.flow.version, self.ch.number, self.vars.get("ani", ""),
                                     self.vars.get("dnis", ""), self.vars.get("lang", ""), node.name)
        started = self.loop.time()
        self.event("action", name)

        async def call():
            value = fn(ctx, **args)
            if asyncio.iscoroutine(value):
                value = await value
            return value

        task = asyncio.ensure_future(call())
        waiting = None
        try:
            done, _ = await asyncio.wait({task}, timeout=min(node["wait_after"], node["timeout"]))
            if not done and node["wait_prompt"] and node["wait_after"] < node["timeout"]:
                waiting = asyncio.ensure_future(self.play(node["wait_prompt"], False))
            left = node["timeout"] - (self.loop.time() - started)
            done, _ = await asyncio.wait({task}, timeout=max(0.0, left))
            if not done:
                task.cancel()
                outcome, value, error = "timeout", None, f"action {name!r} took longer than {node['timeout']:g} s"
            elif task.exception() is not None:
                exc = task.exception()
                outcome, value, error = "error", None, f"action {name!r} failed: {type(exc).__name__}: {exc}"
            else:
                outcome, value = _actions.outcome_of(task.result())
                error = None
        finally:
            if waiting is not None:
                if not waiting.done():
                    self.ch.stop_play()
                try:
                    await waiting
                except _CallerHangup:
                    pass
        self.record["actions"].append({"name": name, "args": shown, "outcome": outcome,
                                       "seconds": round(self.loop.time() - started, 3)})
        self.check_line()
        if error and outcome not in node["on"]:
            raise FlowRuntimeError(f"node {node.name}: {error}")
        if node["result"] and value is not None:
            self.vars[node["result"]] = value
        self.vars["last_outcome"] = outcome
        self.branch(node, f"on {outcome}" if outcome in node["on"] else "next")
        return node["on"].get(outcome, node["next"])

    async def node_record(self, node):
        if node["prompt"]:
            await self.play(node["prompt"], False)
        os.makedirs(self.i.recordings_dir, exist_ok=True)
        path = os.path.join(self.i.recordings_dir, f"call{self.id}-{node.name}-{len(self.record['recordings'])}.wav")
        self.event("record", path)
        r = await self.ch.record(path, max_time=node["max_time"], max_silence=node["max_silence"],
                                 terminators=node["terminators"], beep=node["beep"])
        self.record["recordings"].append({"node": node.name, "path": r.path, "status": r.status,
                                          "seconds": round(r.duration, 3)})
        if node["var"]:
            self.vars[node["var"]] = r.path
        if node["status_var"]:
            self.vars[node["status_var"]] = r.status
        self.branch(node, r.status)
        if r.status == "HANGUP":
            raise _CallerHangup()
        return node["on"].get(r.status, node["next"])

    async def node_transfer(self, node):
        if node["queue"]:
            if node["queue"] not in self.i.queues:
                raise FlowRuntimeError(f"node {node.name}: queue {node['queue']!r} is not configured")
            number = self.i.queues[node["queue"]]
        else:
            number = str(self.eval(node["number"], f"node {node.name} number"))
        if node["prompt"]:
            await self.play(node["prompt"], False)
        board = self.ch.board
        # A queue may name agent positions on the board itself ("ports:6-7": FXS ports whose
        # phones are rung with the caller's ID); anything else is a number dialled out.
        positions = _agent_ports(number, len(board.channels))
        candidates = positions if positions is not None else range(len(board.channels))
        line = next((board.channels[n] for n in candidates
                     if board.channels[n] is not self.ch and board.channels[n].state is ChannelState.IDLE), None)
        entry = {"node": node.name, "to": number, "queue": node["queue"] or "", "outcome": "failed",
                 "seconds": 0.0}
        self.record["transfers"].append(entry)
        self.event("transfer", number)
        if line is None:
            outcome = "busy" if positions is not None else "failed"
        else:
            try:
                if positions is not None:
                    rings = max(1, int(node["timeout"] / 5))    # cn ringing: one ring per 5 s
                    result = await line.ring(caller_id=self.ch.caller_id, max_rings=rings)
                else:
                    result = await line.dial(number, answer_timeout=node["timeout"])
            except ValueError as exc:
                raise FlowRuntimeError(f"node {node.name}: {exc}") from None
            outcome = {"answered": "answered", "busy": "busy", "no_answer": "no_answer"}.get(result.outcome, "failed")
            entry["dial_result"] = result.outcome
        entry["outcome"] = outcome
        self.event("transfer_" + outcome, number)
        if outcome == "answered":
            if self.ch.state is not ChannelState.CONNECTED:
                await line.hangup()
                raise _CallerHangup()
            await self.ch.bridge(line)
            bridged = self.loop.time()
            while self.ch.state is ChannelState.CONNECTED and line.state is ChannelState.CONNECTED:
                await asyncio.sleep(board.clock.tick_seconds * 5)
            entry["seconds"] = round(self.loop.time() - bridged, 3)
            if line.state is ChannelState.CONNECTED:
                await line.hangup()
            elif self.ch.state is ChannelState.CONNECTED:
                await self.ch.unbridge()
            self.record["outcome"] = "transferred"
        self.branch(node, outcome)
        self.check_line()
        return node["on"].get(outcome, node["next"])

    # --- menu and collect ---------------------------------------------------------------------------

    async def dialog(self, node, dialog, parts):
        """Carry out a Dialog's commands; returns (outcome, digits)."""
        if node["flush"]:
            self.ch.flush_digits()
        commands = dialog.start(self.now())
        while True:
            next_commands = None
            for cmd in commands:
                if cmd[0] == "flush":
                    dropped = self.ch.flush_digits()
                    if dropped:
                        self.event("flush", dropped)
                elif cmd[0] == "play":
                    items = []
                    for part in cmd[1]:
                        items.extend(parts(part, cmd[2]))
                    try:
                        result = await self.play(tuple(items), cmd[3])
                    except _CallerHangup:
                        dialog.hangup(self.now())
                        raise
                    next_commands = dialog.prompt_end(result is not None and result.reason == "barge_in", self.now())
                elif cmd[0] == "wait":
                    r = await self.next_digit(cmd[1])
                    if r is not None and r.reason == "hangup":
                        dialog.hangup(self.now())
                        raise _CallerHangup()
                    if r is not None and r.digits:
                        self.event("digit", "*" if node.type == "collect" and node["mask"] else r.digits)
                        next_commands = dialog.digit(r.digits, self.now())
                    else:
                        self.event("timeout", cmd[2])
                        next_commands = dialog.timeout(self.now())
                else:
                    return cmd[1], cmd[2]
            commands = next_commands

    async def next_digit(self, seconds):
        """The channel's next digit as a CollectResult, or None after ``seconds``.

        The timer is one asyncio timer around an unlimited collect: a timer re-armed with the
        time left can spin in virtual time when the float remainder is below the loop's clock
        resolution."""
        collect = self.ch.collect(max_digits=1, terminators="", first_timeout=None, inter_timeout=None)
        if seconds is None:
            return await collect
        try:
            async with asyncio.timeout(seconds):
                return await collect
        except TimeoutError:
            return None

    def counted(self, prompts, count):
        if not prompts:
            return ()
        return prompts[min(count, len(prompts)) - 1]

    async def node_menu(self, node):
        literals = {c.key: c.target for c in node["choices"] if c.pattern is None}
        patterns = [c for c in node["choices"] if c.pattern is not None]
        max_len = node["max_digits"] or max((len(k) for k in literals), default=1)

        def classify(digits, terminated):
            complete = digits in literals or any(c.pattern.fullmatch(digits) for c in patterns)
            extendable = not terminated and (any(k.startswith(digits) and k != digits for k in literals)
                                             or any(_can_grow(c.pattern, digits, max_len) for c in patterns))
            return complete, extendable

        def parts(part, count):
            if part == "greeting":
                return node["greeting"]
            if part == "short_greeting":
                return node["short_greeting"]
            return self.counted(node[part], count)

        frame = self.frame
        if not frame.menus or frame.menus[-1] != node.name:
            frame.menus.append(node.name)
        dialog = states.Dialog(classify, terminators=node["terminators"], first_timeout=node["timeout"],
                               inter_timeout=node["inter_digit_timeout"], overall_timeout=node["overall_timeout"],
                               max_noinput=node["max_noinput"], max_nomatch=node["max_nomatch"],
                               barge_in=node["barge_in"], repeat_key=node["repeat_key"],
                               back_key=node["back_key"], top_key=node["top_key"])
        try:
            outcome, digits = await self.dialog(node, dialog, parts)
        finally:
            for b in dialog.branches:
                self.branch(node, b)
        if outcome == "match":
            self._typed(node, digits)
            target = literals.get(digits) or next(c.target for c in patterns if c.pattern.fullmatch(digits))
            key = digits if digits in literals else next(c.key for c in patterns if c.pattern.fullmatch(digits))
            self.branch(node, f"choice {key}")
            if node["var"]:
                self.vars[node["var"]] = digits
            return target
        if outcome == "back":
            if len(frame.menus) > 1:
                frame.menus.pop()
                return frame.menus.pop()
            return node.name
        if outcome == "top":
            top = frame.menus[0]
            frame.menus.clear()
            return top
        return node["on_noinput_exhausted"] if outcome == "noinput_exhausted" else node["on_nomatch_exhausted"]

    async def node_collect(self, node):
        lo, hi = node["min_digits"], node["max_digits"]
        required = node["terminator_required"]
        pattern, validator = node["pattern"], VALIDATORS.get(node["validator"])

        def valid(digits):
            return ((pattern is None or pattern.fullmatch(digits) is not None)
                    and (validator is None or validator(digits)))

        def classify(digits, terminated):
            n = len(digits)
            if terminated:
                return lo <= n <= hi and valid(digits), False
            if required:
                return False, n <= hi
            return lo <= n <= hi and valid(digits), n < hi

        def parts(part, count):
            if part == "greeting":
                return node["prompt"]
            if part == "short_greeting":
                return node["short_prompt"]
            if part == "readback":
                self.vars["entry"] = dialog.digits          # the entry being read back
                return node["readback"] or (S.PromptItem("say", _expr.parse("entry"), "digits"),)
            return self.counted(node[part], count)

        dialog = states.Dialog(classify, terminators=node["terminators"], first_timeout=node["timeout"],
                               inter_timeout=node["inter_digit_timeout"], overall_timeout=node["overall_timeout"],
                               max_noinput=node["max_noinput"], max_nomatch=node["max_nomatch"],
                               barge_in=node["barge_in"], confirm=node["confirm"], confirm_key=node["confirm_key"])
        try:
            outcome, digits = await self.dialog(node, dialog, parts)
        finally:
            self.vars.pop("entry", None)
            for b in dialog.branches:
                self.branch(node, b)
        if outcome == "match":
            self.vars[node["var"]] = digits
            if node["mask"] and digits:
                self.secrets.add(digits)
            self._typed(node, "*" * len(digits) if node["mask"] else digits)
            self.branch(node, "match")
            return node["next"]
        return node["on_noinput_exhausted"] if outcome == "noinput_exhausted" else node["on_nomatch_exhausted"]
