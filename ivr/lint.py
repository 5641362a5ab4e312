"""The flow linter: everything that can be known about a flow before a caller hears it.

Checks (codes in brackets; severity error unless noted):

- schema: unknown keys, bad values, missing fields, duplicate keys, bad expressions (loader)
- [dangling] a target, start, handler or subflow that does not exist
- [unreachable] (warning) a node no path reaches
- [missing-prompt] a prompt id with neither text for every language of the flow nor a
  recording; a file: prompt that does not exist
- [unhandled-key] a menu prompt's text promises a key ("press 3", "按3") the menu does not handle
- [ambiguous-prefix] (warning) a choice that is a prefix of another: pressing it waits the
  inter-digit timeout for more
- [timers] contradictory timers or digit limits
- [loop] a cycle that can run without caller input and without a counter to leave it
- [unmasked] a collect into a sensitive variable (PIN, password, CVV, card) without mask;
  (warning) a masked value read back aloud
- [backend] a feature the target backend lacks (barge-in on a half-duplex backend, transfer
  without call-progress analysis or bridging)
- [action] an action that is not registered, or arguments its function does not take
- [subflow] parameters or return values the subflow does not declare
- [undefined] (warning) a variable read but set nowhere
"""
import inspect
import os
import re

from ivr import loader
from ivr import schema as S
from ivr.expr import Expr

SENSITIVE = re.compile(r"pin|passw|pwd|cvv|cvc|secret|card|密码", re.IGNORECASE)
# Variables the interpreter sets on every call.
CALL_VARS = ("ani", "dnis", "caller_id", "lang", "channel", "flow_version", "last_outcome",
             "error", "call_seconds", "entry")

_KEY_WORD = r"(?:[0-9*#]|star|pound|hash|星号|井号)"
_PROMISE = [
    re.compile(rf"(?:press|dial|enter|key)\s+({_KEY_WORD}(?:\s*(?:,|or|and)\s*{_KEY_WORD})*)", re.IGNORECASE),
    re.compile(rf"按\s*({_KEY_WORD}(?:\s*(?:或|、|和|,|，)\s*{_KEY_WORD})*)"),
]
_KEY_NAMES = {"star": "*", "pound": "#", "hash": "#", "星号": "*", "井号": "#"}


def promised_keys(text):
    """Keys a prompt's text tells the caller to press."""
    keys = set()
    for rx in _PROMISE:
        for m in rx.finditer(text):
            for word in re.findall(_KEY_WORD, m.group(1), re.IGNORECASE):
                keys.add(_KEY_NAMES.get(word.lower(), word))
    return keys


class _Linter:
    def __init__(self, flow, problems, capabilities, actions, known_prompt):
        self.flow = flow
        self.problems = problems
        self.caps = capabilities
        self.actions = actions
        self.known_prompt = known_prompt

    def add(self, node, field, severity, code, message, hint=""):
        line, col = node.where(field) if node is not None else (1, 1)
        self.problems.append(S.Problem(self.flow.path, line, col, severity, code, message, hint))

    def add_at(self, where, severity, code, message, hint=""):
        self.problems.append(S.Problem(self.flow.path, where[0], where[1], severity, code, message, hint))

    def run(self):
        flow = self.flow
        self.targets()
        self.reachability()
        for node in flow.all_nodes():
            self.prompts(node)
            self.timers(node)
            self.sensitive(node)
            self.backend(node)
            if node.type == "menu":
                self.menu(node)
            elif node.type == "action":
                self.action(node)
            elif node.type == "subflow":
                self.subflow(node)
        self.loops()
        self.undefined()

    # --- structure -------------------------------------------------------------------------

    def targets(self):
        flow = self.flow
        if flow.start not in flow.nodes:
            self.add_at(flow.marks.get("start", (1, 1)), "error", "dangling", f"start node {flow.start!r} does not exist")
        for name, target in flow.handlers.items():
            if target not in flow.nodes:
                self.add_at(flow.marks.get("handlers", (1, 1)), "error", "dangling",
                            f"handler {name}: node {target!r} does not exist")
        for sub in flow.subflows.values():
            if sub.start not in sub.nodes:
                self.add_at((sub.line, sub.column), "error", "dangling",
                            f"subflow {sub.name!r}: start node {sub.start!r} does not exist")
        for node in flow.all_nodes():
            scope = flow.scope_nodes(node.scope)
            for label, target in node.targets():
                if target not in scope:
                    kind, _, key = label.partition(" ")
                    field = {"choice": f"choices.{key}", "on": f"on.{key}"}.get(kind, label)
                    where = "the subflow" if node.scope else "the flow"
                    close = [n for n in scope if n.lower() == target.lower()]
                    self.add(node, field, "error", "dangling", f"node {node.name!r}: {label} goes to {target!r}, "
                             f"which is not a node of {where}", f"did you mean {close[0]!r}?" if close else "")
            if node.type == "subflow" and node["flow"] not in flow.subflows:
                self.add(node, "flow", "error", "dangling", f"node {node.name!r}: subflow {node['flow']!r} does not exist",
                         f"subflows: {', '.join(flow.subflows) or 'none defined'}")

    def reachability(self):
        flow = self.flow
        scopes = [("", [flow.start] + list(flow.handlers.values()))]
        scopes += [(s.name, [s.start]) for s in flow.subflows.values()]
        called = {n["flow"] for n in flow.all_nodes() if n.type == "subflow"}
        for scope, roots in scopes:
            nodes = flow.scope_nodes(scope)
            seen = set()
            todo = [r for r in roots if r in nodes]
            while todo:
                name = todo.pop()
                if name in seen:
                    continue
                seen.add(name)
                todo.extend(t for _, t in nodes[name].targets() if t in nodes)
            if scope and scope not in called:
                sub = flow.subflows[scope]
                self.add_at((sub.line, sub.column), "warning", "unreachable", f"subflow {scope!r} is never called")
                continue
            for name, node in nodes.items():
                if name not in seen:
                    self.add(node, None, "warning", "unreachable", f"node {name!r} cannot be reached",
                             "remove it, or send a choice or outcome to it")

    # --- prompts --------------------------------------------------------------------------

    def _prompt_fields(self, node):
        for field, (kind, _, _) in S.NODE_TYPES[node.type].items():
            value = node.opts.get(field)
            if kind == "prompts" and value:
                yield field, value
            elif kind == "counted" and value:
                for items in value:
                    yield field, items

    def prompts(self, node):
        flow = self.flow
        for field, items in self._prompt_fields(node):
            for item in items:
                if item.kind == "id":
                    for lang in flow.languages:
                        if not self._have_prompt(item.value, lang):
                            self.add(node, field, "error", "missing-prompt",
                                     f"node {node.name!r}: prompt {item.value!r} has no {lang} text or recording",
                                     f"add it under prompts: or as {os.path.join(flow.prompt_dir or 'prompt_dir', lang, item.value)}.wav")
                elif item.kind == "file":
                    path = os.path.join(os.path.dirname(flow.path), item.value)
                    if not os.path.isfile(path):
                        self.add(node, field, "error", "missing-prompt", f"node {node.name!r}: file {item.value!r} does not exist")
                elif item.kind == "tts" and not item.value.strip():
                    self.add(node, field, "error", "missing-prompt", f"node {node.name!r}: empty TTS text")

    def _have_prompt(self, pid, lang):
        flow = self.flow
        if flow.prompt_text(pid, lang):
            return True
        if flow.prompt_dir and os.path.isfile(os.path.join(flow.prompt_dir, lang, pid + ".wav")):
            return True
        return bool(self.known_prompt and self.known_prompt(pid, lang))

    # --- menus ------------------------------------------------------------------------------

    def menu(self, node):
        handled = set()
        literals = [c.key for c in node["choices"] if c.pattern is None]
        patterns = [c for c in node["choices"] if c.pattern is not None]
        for key in literals:
            handled.add(key[0])
        for key in (node["repeat_key"], node["back_key"], node["top_key"]):
            if key:
                handled.add(key)
                if key in literals:
                    self.add(node, "choices", "error", "keys", f"menu {node.name!r}: key {key} is both a choice "
                             "and a repeat/back/top key")
        for key in literals:
            if key[0] in node["terminators"] or key in node["terminators"]:
                self.add(node, "choices", "error", "keys",
                         f"menu {node.name!r}: choice {key} starts with a terminator key", "remove it from terminators:")
        if patterns and node["max_digits"] is None:
            self.add(node, "choices", "error", "timers", f"menu {node.name!r}: /pattern/ choices need max_digits:",
                     "the menu cannot know how long a pattern entry is")
        for a in literals:
            for b in literals:
                if a != b and b.startswith(a):
                    self.add(node, "choices", "warning", "ambiguous-prefix",
                             f"menu {node.name!r}: choice {a} is a prefix of {b}: pressing {a} waits "
                             f"{node['inter_digit_timeout']:g} s for more digits",
                             "use codes of one length, or a terminator")
                    break
        texts = []
        for field in ("greeting", "short_greeting"):
            for item in node[field] or ():
                if item.kind == "id":
                    texts += [t for t in (self.flow.prompt_text(item.value, lang) for lang in self.flow.languages) if t]
                elif item.kind == "tts":
                    texts.append(item.value)
        promised = set()
        for text in texts:
            promised |= promised_keys(text)
        pattern_ok = lambda k: any(c.pattern.match(k) for c in patterns)  # noqa: E731
        for key in sorted(promised - handled):
            if not pattern_ok(key):
                self.add(node, "greeting", "error", "unhandled-key",
                         f"menu {node.name!r}: the greeting says to press {key}, but no choice handles it",
                         "add the choice, or fix the prompt text")

    # --- timers ------------------------------------------------------------------------------

    def timers(self, node):
        o = node.opts
        if node.type in ("menu", "collect"):
            overall = o["overall_timeout"]
            if overall is not None:
                for field in ("timeout", "inter_digit_timeout"):
                    if o[field] is not None and o[field] > overall:
                        self.add(node, "overall_timeout", "error", "timers",
                                 f"node {node.name!r}: {field} ({o[field]:g} s) is longer than overall_timeout "
                                 f"({overall:g} s), so it can never fire", "raise overall_timeout or shorten the timer")
            if o["timeout"] == 0:
                self.add(node, "timeout", "error", "timers", f"node {node.name!r}: a first-digit timeout of 0 s "
                         "gives the caller no time to answer")
            if o["on_noinput_exhausted"] is None:
                self.add(node, None, "error", "missing", f"node {node.name!r} needs on_noinput_exhausted:",
                         "where the call goes after max_noinput silences")
            if o["on_nomatch_exhausted"] is None:
                self.add(node, None, "error", "missing", f"node {node.name!r} needs on_nomatch_exhausted:",
                         "where the call goes after max_nomatch wrong entries")
        if node.type == "collect":
            if o["max_digits"] is not None and o["min_digits"] > o["max_digits"]:
                self.add(node, "min_digits", "error", "timers",
                         f"node {node.name!r}: min_digits {o['min_digits']} > max_digits {o['max_digits']}")
            if o["terminator_required"] and not o["terminators"]:
                self.add(node, "terminator_required", "error", "timers",
                         f"node {node.name!r}: terminator_required with no terminators")
            if o["confirm"] and o["confirm_key"] in (o["terminators"] or ""):
                self.add(node, "confirm_key", "error", "keys", f"node {node.name!r}: confirm_key is a terminator")
        if node.type == "record" and o["max_silence"] is not None and o["max_silence"] >= o["max_time"]:
            self.add(node, "max_silence", "warning", "timers",
                     f"node {node.name!r}: max_silence ({o['max_silence']:g} s) >= max_time ({o['max_time']:g} s): "
                     "silence can never end the recording")
        if node.type == "action" and o["wait_prompt"] and o["wait_after"] >= o["timeout"]:
            self.add(node, "wait_after", "warning", "timers",
                     f"node {node.name!r}: wait_after >= timeout: the wait prompt can never play")

    # --- loops ----------------------------------------------------------------------------------

    def _free_edges(self, node):
        """Edges taken without the caller pressing anything."""
        if node.type in ("menu", "collect"):
            return [t for t in (node["on_noinput_exhausted"],) if t]
        return [t for _, t in node.targets()]

    def loops(self):
        flow = self.flow
        for scope in [""] + list(flow.subflows):
            nodes = flow.scope_nodes(scope)
            graph = {n: [t for t in self._free_edges(nodes[n]) if t in nodes] for n in nodes}
            for comp in _sccs(graph):
                if len(comp) == 1 and comp[0] not in graph[comp[0]]:
                    continue
                members = set(comp)
                assigned = set()
                for n in members:
                    node = nodes[n]
                    if node.type == "set":
                        assigned |= set(node["vars"])
                    elif node.type == "action" and node["result"]:
                        assigned.add(node["result"])
                guarded = any(nodes[n].type == "if" and nodes[n]["cond"] is not None
                              and nodes[n]["cond"].names & assigned for n in members)
                if not guarded:
                    first = nodes[sorted(members, key=lambda m: (nodes[m].line, m))[0]]
                    order = " -> ".join(sorted(members, key=lambda m: nodes[m].line))
                    self.add(first, None, "error", "loop",
                             f"nodes {order} loop without caller input and without a counter to leave the loop",
                             "count the passes with set: and leave with an if:")

    # --- sensitive input ---------------------------------------------------------------------------

    def sensitive(self, node):
        masked = {n["var"] for n in self.flow.all_nodes() if n.type == "collect" and n["var"] and n["mask"]}
        if node.type == "collect" and node["var"] and not node["mask"] and SENSITIVE.search(node["var"]):
            self.add(node, "var", "error", "unmasked",
                     f"collect {node.name!r} stores {node['var']!r}, which looks sensitive, without mask: true",
                     "add mask: true so the keys never reach a log or the call record")
        for field, items in self._prompt_fields(node):
            for item in items:
                if item.kind == "say" and item.value.names & masked:
                    self.add(node, field, "warning", "unmasked",
                             f"node {node.name!r} reads the masked value {sorted(item.value.names & masked)[0]!r} aloud")
        if node.type == "say" and node["value"] is not None and node["value"].names & masked:
            self.add(node, "value", "warning", "unmasked",
                     f"node {node.name!r} reads the masked value {sorted(node['value'].names & masked)[0]!r} aloud")

    # --- backend ------------------------------------------------------------------------------------

    def backend(self, node):
        caps = self.caps
        if caps is None:
            return
        if not caps.full_duplex and node.type in ("play", "say", "menu", "collect") and node["barge_in"]:
            self.add(node, "barge_in", "error", "backend",
                     f"node {node.name!r} uses barge-in, but the {caps.signalling} backend is half duplex: "
                     "it cannot hear keys while it plays", "set barge_in: false (or defaults: barge_in: false)")
        if node.type == "transfer" and not (caps.call_progress and caps.bridging):
            lacks = "call-progress analysis" if not caps.call_progress else "bridging"
            self.add(node, None, "error", "backend", f"transfer {node.name!r}: the {caps.signalling} backend has no {lacks}")

    # --- actions and subflows ---------------------------------------------------------------------------

    def action(self, node):
        if self.actions is None:
            return
        name = node["call"]
        if name not in self.actions:
            self.add(node, "call", "error", "action", f"action {name!r} is not registered",
                     f"registered: {', '.join(sorted(self.actions)) or 'none'}")
            return
        fn = self.actions[name]
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            return
        params = list(sig.parameters.values())[1:]      # the first is the call context
        if any(p.kind is p.VAR_KEYWORD for p in params):
            return
        accepted = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        for arg in node["args"] or {}:
            if arg not in accepted:
                self.add(node, "args", "error", "action", f"action {name!r} takes no argument {arg!r}",
                         f"it takes: {', '.join(sorted(accepted)) or 'nothing'}")
        required = {p.name for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        for arg in sorted(required - set(node["args"] or {})):
            self.add(node, "args", "error", "action", f"action {name!r} needs argument {arg!r}")

    def subflow(self, node):
        sub = self.flow.subflows.get(node["flow"])
        if sub is None:
            return
        for p in node["params"] or {}:
            if p not in sub.params:
                self.add(node, "params", "error", "subflow", f"subflow {sub.name!r} has no parameter {p!r}",
                         f"parameters: {', '.join(sub.params) or 'none'}")
        for var, ret in (node["returns"] or {}).items():
            if ret not in sub.returns:
                self.add(node, "returns", "error", "subflow", f"subflow {sub.name!r} returns no {ret!r}",
                         f"returns: {', '.join(sub.returns) or 'none'}")

    # --- variables ---------------------------------------------------------------------------------

    def undefined(self):
        flow = self.flow
        setters = set(CALL_VARS) | set(flow.vars)
        for sub in flow.subflows.values():
            setters |= set(sub.params)
        for node in flow.all_nodes():
            o = node.opts
            if node.type == "set":
                setters |= set(o["vars"] or {})
            elif node.type == "subflow":
                setters |= set(o["returns"] or {})
            for field in ("var", "result", "status_var"):
                if o.get(field):
                    setters.add(o[field])
        for node in flow.all_nodes():
            for field, value in node.opts.items():
                for e in _exprs_in(value):
                    for name in sorted(e.names - setters):
                        self.add(node, field, "warning", "undefined",
                                 f"node {node.name!r}: variable {name!r} is read but never set")


def _exprs_in(value):
    if isinstance(value, Expr):
        yield value
    elif isinstance(value, S.PromptItem) and value.kind == "say":
        yield value.value
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _exprs_in(v)
    elif hasattr(value, "values") and callable(value.values):
        for v in value.values():
            yield from _exprs_in(v)


def _sccs(graph):
    """Strongly connected components (Tarjan, iterative)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(graph[w])))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(comp)
    return out


def lint_flow(flow, problems=(), capabilities=None, actions=None, known_prompt=None):
    """Run every check on a parsed flow; returns the problems sorted by place."""
    problems = list(problems)
    _Linter(flow, problems, capabilities, actions, known_prompt).run()
    return sorted(set(problems), key=lambda p: (p.path, p.line, p.column, p.code, p.message))


def lint_file(path, text=None, capabilities=None, actions=None, known_prompt=None):
    """(flow or None, problems) for a flow file. ``capabilities``: a
    voiceboard.board.Capabilities of the target backend; ``actions``: the action registry
    (name -> function); ``known_prompt(id, lang)``: whether the prompt store has a recording."""
    flow, problems = loader.parse(path, text)
    if flow is None or any(p.severity == "error" for p in problems):
        return flow, sorted(problems, key=lambda p: (p.line, p.column))
    return flow, lint_flow(flow, problems, capabilities, actions, known_prompt)
