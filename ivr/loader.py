"""Flow loader: YAML text -> the immutable model of ivr/schema.py, with file:line:column on
every problem.

The YAML is composed into nodes (``yaml.compose``), which keep their marks, and converted
here, so an unknown key, a bad value or a duplicate key is reported where it is written.
:func:`parse` returns the model and the schema problems; :func:`load` also runs the linter
and refuses a flow with errors (raising :class:`voiceboard.errors.FlowError`), which is what
the runtime uses.
"""
import difflib
import hashlib
import os
import re

import yaml

from ivr import expr as _expr
from ivr import schema as S
from voiceboard.errors import FlowError

_SCALARS = yaml.constructor.SafeConstructor()


class _Marked:
    """Plain Python data from YAML nodes, with (line, column) per path (1-based)."""

    def __init__(self):
        self.values = {}            # path tuple -> (line, col) of the value
        self.keys = {}              # path tuple -> (line, col) of the key
        self.duplicates = []        # (path, line, col)

    def convert(self, node, path=()):
        self.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            out = {}
            for knode, vnode in node.value:
                key = knode.value if isinstance(knode, yaml.ScalarNode) else str(knode.value)
                kpath = path + (key,)
                if key in out:
                    self.duplicates.append((kpath, knode.start_mark.line + 1, knode.start_mark.column + 1))
                self.keys[kpath] = (knode.start_mark.line + 1, knode.start_mark.column + 1)
                out[key] = self.convert(vnode, kpath)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(v, path + (i,)) for i, v in enumerate(node.value)]
        return _SCALARS.construct_object(node)


class _Builder:
    def __init__(self, path, marks):
        self.path = path
        self.marks = marks
        self.problems = []

    def where(self, path, key=False):
        table = self.marks.keys if key else self.marks.values
        while path and path not in table:
            path = path[:-1]
        return table.get(path) or self.marks.values.get(path, (1, 1))

    def error(self, path, code, message, hint="", key=False, severity="error"):
        line, col = self.where(path, key)
        self.problems.append(S.Problem(self.path, line, col, severity, code, message, hint))

    # --- field kinds ------------------------------------------------------------------------

    def prompts(self, value, path):
        items = value if isinstance(value, list) else [value]
        out = []
        for i, item in enumerate(items):
            p = path + (i,) if isinstance(value, list) else path
            got = self.prompt_item(item, p)
            if got is not None:
                out.append(got)
        return tuple(out)

    def prompt_item(self, item, path):
        if isinstance(item, str):
            if item.startswith("file:"):
                return S.PromptItem("file", item[5:])
            if item.startswith("tts:"):
                return S.PromptItem("tts", item[4:])
            if not item or not re.match(r"^[\w.\-/]+$", item):
                self.error(path, "prompt", f"bad prompt id {item!r}",
                           "prompt ids are letters, digits, _ . - /; use {tts: text} for text")
                return None
            return S.PromptItem("id", item)
        if isinstance(item, dict) and len(item) >= 1:
            if "say" in item:
                extra = set(item) - {"say", "as"}
                if extra:
                    self.error(path + (sorted(extra)[0],), "unknown-key",
                               f"unknown key {sorted(extra)[0]!r} in a say item", "a say item has say and as", key=True)
                say_as = item.get("as")
                if say_as not in S.SAY_TYPES:
                    self.error(path + ("as",), "say-type", f"say item needs as: one of {', '.join(S.SAY_TYPES)}")
                    return None
                e = self.expr(item["say"], path + ("say",))
                return None if e is None else S.PromptItem("say", e, say_as)
            (kind, v), = list(item.items())[:1]
            if len(item) == 1 and kind in ("file", "tts", "id") and isinstance(v, str) and v:
                return S.PromptItem(kind, v)
        self.error(path, "prompt", f"bad prompt item {item!r}",
                   "use a prompt id, file:path.wav, {tts: text} or {say: expr, as: type}")
        return None

    def expr(self, value, path):
        try:
            return _expr.parse(value)
        except _expr.ExprError as exc:
            line, col = self.where(path)
            self.problems.append(S.Problem(self.path, line, col + exc.pos, "error", "expr",
                                           f"expression {value!r}: {exc}"))
            return None

    def field(self, kind, value, path):
        """Normalised value, or None after reporting a problem."""
        optional = kind.endswith("?")
        kind = kind.rstrip("?")
        if value is None and optional:
            return None
        if kind == "target":
            if isinstance(value, str) and S.NODE_NAME_RE.match(value):
                return value
            self.error(path, "target", f"a node name is expected, got {value!r}")
        elif kind == "prompts":
            return self.prompts(value, path)
        elif kind == "counted":
            seq = value if isinstance(value, list) else [value]
            return tuple(self.prompts(v, path + (i,) if isinstance(value, list) else path)
                         for i, v in enumerate(seq))
        elif kind == "expr":
            return self.expr(value, path)
        elif kind in ("exprs", "names"):
            if not isinstance(value, dict):
                self.error(path, kind, f"a mapping of names is expected, got {value!r}")
                return None
            out = {}
            for name, v in value.items():
                if not S.NAME_RE.match(name):
                    self.error(path + (name,), "name", f"bad variable name {name!r}", key=True)
                    continue
                if kind == "exprs":
                    e = self.expr(v, path + (name,))
                    if e is not None:
                        out[name] = e
                elif isinstance(v, str) and S.NAME_RE.match(v):
                    out[name] = v
                else:
                    self.error(path + (name,), "name", f"bad return value name {v!r}")
            return out
        elif kind in ("keys", "key"):
            text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
            if text is None or any(c not in S.DTMF for c in text.upper()):
                self.error(path, kind, f"DTMF keys (0-9 * # A-D) expected, got {value!r}",
                           'quote "#" and "*" in YAML')
            elif kind == "key" and len(text) > 1:
                self.error(path, kind, f"one key expected, got {value!r}")
            else:
                return text.upper()
        elif kind == "seconds":
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
                return float(value)
            self.error(path, kind, f"seconds (a number >= 0) expected, got {value!r}")
        elif kind in ("count", "digits"):
            low = 1 if kind == "count" else 0
            if isinstance(value, int) and not isinstance(value, bool) and value >= low:
                return value
            self.error(path, kind, f"a whole number >= {low} expected, got {value!r}")
        elif kind == "bool":
            if isinstance(value, bool):
                return value
            self.error(path, kind, f"true or false expected, got {value!r}")
        elif kind == "str":
            if isinstance(value, str) and value:
                return value
            self.error(path, kind, f"text expected, got {value!r}")
        elif kind == "name":
            if isinstance(value, str) and S.NAME_RE.match(value):
                return value
            self.error(path, kind, f"a variable name expected, got {value!r}")
        elif kind == "lang":
            if value in S.LANGUAGES:
                return value
            self.error(path, kind, f"language must be one of {', '.join(S.LANGUAGES)}, got {value!r}")
        elif kind == "say_type":
            if value in S.SAY_TYPES:
                return value
            self.error(path, kind, f"as: must be one of {', '.join(S.SAY_TYPES)}, got {value!r}")
        elif kind == "validator":
            if value in S.VALIDATORS:
                return value
            self.error(path, kind, f"validator must be one of {', '.join(S.VALIDATORS)}, got {value!r}")
        elif kind == "regex":
            try:
                return re.compile(str(value))
            except re.error as exc:
                self.error(path, kind, f"bad pattern {value!r}: {exc}")
        elif kind == "choices":
            return self.choices(value, path)
        elif kind in ("outcomes", "record_outcomes", "transfer_outcomes"):
            if not isinstance(value, dict):
                self.error(path, kind, f"a mapping outcome -> node expected, got {value!r}")
                return None
            allowed = {"record_outcomes": S.RECORD_STATUSES, "transfer_outcomes": S.TRANSFER_OUTCOMES}.get(kind)
            out = {}
            for k, v in value.items():
                if allowed and k not in allowed:
                    self.error(path + (k,), "outcome", f"unknown outcome {k!r}",
                               f"known: {', '.join(allowed)}", key=True)
                    continue
                t = self.field("target", v, path + (k,))
                if t is not None:
                    out[k] = t
            return out
        else:
            raise AssertionError(f"schema kind {kind!r} has no converter")
        return None

    def choices(self, value, path):
        if not isinstance(value, dict) or not value:
            self.error(path, "choices", "choices: a mapping key -> node expected")
            return None
        out = []
        for key, target in value.items():
            kpath = path + (key,)
            t = self.field("target", target, kpath)
            if key.startswith("/") and key.endswith("/") and len(key) > 2:
                try:
                    out.append(S.Choice(key, t, re.compile(key[1:-1])))
                except re.error as exc:
                    self.error(kpath, "choices", f"bad pattern {key}: {exc}", key=True)
                continue
            if not key or any(c not in S.DTMF for c in key.upper()):
                self.error(kpath, "choices", f"choice {key!r} is not DTMF keys or a /pattern/",
                           'quote keys such as "*" and "#"', key=True)
                continue
            if t is not None:
                out.append(S.Choice(key.upper(), t))
        return tuple(out)

    # --- structure --------------------------------------------------------------------------

    def unknown(self, mapping, known, path, what):
        for key in mapping:
            if key not in known:
                close = difflib.get_close_matches(key, list(known), 1)
                self.error(path + (key,), "unknown-key", f"unknown key {key!r} in {what}",
                           f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}", key=True)

    def node(self, name, raw, scope, defaults, path):
        line, col = self.where(path, key=True)
        if not S.NODE_NAME_RE.match(name):
            self.error(path, "name", f"bad node name {name!r}", key=True)
        if not isinstance(raw, dict):
            self.error(path, "node", f"node {name!r} must be a mapping with a type")
            return None
        ntype = raw.get("type")
        if ntype not in S.NODE_TYPES:
            close = difflib.get_close_matches(str(ntype), list(S.NODE_TYPES), 1)
            self.error(path + ("type",) if "type" in raw else path, "type",
                       f"node {name!r}: unknown type {ntype!r}" if ntype else f"node {name!r} has no type",
                       f"did you mean {close[0]!r}?" if close else f"types: {', '.join(S.NODE_TYPES)}")
            return None
        fields = S.NODE_TYPES[ntype]
        self.unknown(raw, list(fields) + list(S.COMMON_FIELDS), path, f"{ntype} node {name!r}")
        opts, marks = {}, {}
        for field, (kind, default, required) in fields.items():
            fpath = path + (field,)
            if field in raw:
                marks[field] = self.where(fpath)
                if kind in ("choices", "outcomes", "record_outcomes", "transfer_outcomes") and isinstance(raw[field], dict):
                    for key in raw[field]:
                        marks[f"{field}.{key}"] = self.where(fpath + (key,))
                opts[field] = self.field(kind, raw[field], fpath)
            elif required:
                self.error(path, "missing", f"{ntype} node {name!r} needs {field}:", key=True)
                opts[field] = None
            elif default is ...:
                opts[field] = defaults[field]
            else:
                opts[field] = S.freeze(default) if isinstance(default, (dict, list)) else default
        if ntype == "transfer" and (raw.get("queue") is None) == (raw.get("number") is None):
            self.error(path, "transfer", f"transfer node {name!r} needs exactly one of queue: or number:", key=True)
        if ntype == "menu" and opts.get("short_greeting") == ():
            opts["short_greeting"] = opts["greeting"]
        if ntype == "collect" and opts.get("short_prompt") == ():
            opts["short_prompt"] = opts["prompt"]
        return S.Node(name, ntype, scope, line, col, S.freeze(opts), S.freeze(marks))

    def nodes(self, raw, scope, defaults, path):
        if not isinstance(raw, dict) or not raw:
            self.error(path, "nodes", "nodes: a mapping of node name -> node expected")
            return {}
        out = {}
        for name, body in raw.items():
            n = self.node(name, body, scope, defaults, path + (name,))
            if n is not None:
                out[name] = n
        return out


def parse(path, text=None):
    """(Flow or None, [Problem]) for a flow file; problems are schema errors only."""
    path = os.fspath(path)
    if text is None:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            return None, [S.Problem(path, 1, 1, "error", "file", f"cannot read the flow: {exc}")]
    marks = _Marked()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = marks.convert(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, [S.Problem(path, line, col, "error", "yaml", f"YAML: {getattr(exc, 'problem', exc)}")]
    b = _Builder(path, marks)
    for dpath, line, col in marks.duplicates:
        b.problems.append(S.Problem(path, line, col, "error", "duplicate", f"duplicate key {dpath[-1]!r}",
                                    "YAML keeps only the last one"))
    if not isinstance(raw, dict):
        b.error((), "flow", "a flow is a mapping with nodes:")
        return None, b.problems
    b.unknown(raw, list(S.FLOW_FIELDS), (), "the flow")
    lang = b.field("lang", raw["lang"], ("lang",)) if "lang" in raw else S.DEFAULT_LANG
    languages = (lang,)
    if "languages" in raw:
        if isinstance(raw["languages"], list) and all(x in S.LANGUAGES for x in raw["languages"]):
            languages = tuple(dict.fromkeys([lang] + raw["languages"]))
        else:
            b.error(("languages",), "lang", f"languages: a list among {', '.join(S.LANGUAGES)}")
    defaults = dict(S.BUILTIN_DEFAULTS)
    kinds = {"timeout": "seconds", "inter_digit_timeout": "seconds", "overall_timeout": "seconds?",
             "max_noinput": "count", "max_nomatch": "count", "terminators": "keys", "barge_in": "bool"}
    if isinstance(raw.get("defaults"), dict):
        b.unknown(raw["defaults"], list(kinds), ("defaults",), "defaults")
        for k, v in raw["defaults"].items():
            if k in kinds:
                got = b.field(kinds[k], v, ("defaults", k))
                if got is not None or kinds[k].endswith("?"):
                    defaults[k] = got
    elif "defaults" in raw:
        b.error(("defaults",), "defaults", "defaults: a mapping expected")
    handlers = {}
    if isinstance(raw.get("handlers"), dict):
        b.unknown(raw["handlers"], list(S.HANDLERS), ("handlers",), "handlers")
        for k, v in raw["handlers"].items():
            if k in S.HANDLERS:
                t = b.field("target", v, ("handlers", k))
                if t is not None:
                    handlers[k] = t
    elif "handlers" in raw:
        b.error(("handlers",), "handlers", "handlers: a mapping expected")
    prompts = {}
    if isinstance(raw.get("prompts"), dict):
        for pid, entry in raw["prompts"].items():
            if isinstance(entry, str):
                prompts[pid] = {lang: entry}
            elif isinstance(entry, dict) and all(k in S.LANGUAGES and isinstance(v, str) for k, v in entry.items()):
                prompts[pid] = dict(entry)
            else:
                b.error(("prompts", pid), "prompt-table",
                        f"prompt {pid!r}: text, or a mapping language -> text, expected")
    elif "prompts" in raw:
        b.error(("prompts",), "prompt-table", "prompts: a mapping prompt id -> text expected")
    nodes = b.nodes(raw.get("nodes"), "", defaults, ("nodes",))
    if "nodes" not in raw:
        b.error((), "nodes", "the flow has no nodes:")
    subflows = {}
    if isinstance(raw.get("subflows"), dict):
        for sname, body in raw["subflows"].items():
            spath = ("subflows", sname)
            if not isinstance(body, dict):
                b.error(spath, "subflow", f"subflow {sname!r} must be a mapping")
                continue
            b.unknown(body, list(S.SUBFLOW_FIELDS), spath, f"subflow {sname!r}")
            params = body.get("params", [])
            returns = body.get("returns", [])
            for what, names in (("params", params), ("returns", returns)):
                if not isinstance(names, list) or not all(isinstance(n, str) and S.NAME_RE.match(n) for n in names):
                    b.error(spath + (what,), what, f"subflow {sname!r}: {what} must be a list of variable names")
            snodes = b.nodes(body.get("nodes"), sname, defaults, spath + ("nodes",))
            start = body.get("start") or next(iter(snodes), None)
            line, col = b.where(spath, key=True)
            subflows[sname] = S.Subflow(sname, tuple(params) if isinstance(params, list) else (),
                                        tuple(returns) if isinstance(returns, list) else (),
                                        start, S.freeze(snodes), line, col)
    elif "subflows" in raw:
        b.error(("subflows",), "subflow", "subflows: a mapping name -> subflow expected")
    variables = b.field("exprs", raw["vars"], ("vars",)) if "vars" in raw else {}
    start = raw.get("start") or next(iter(nodes), None)
    digest = hashlib.sha256(text.encode()).hexdigest()

    def opt(key, kind, default):
        return b.field(kind, raw[key], (key,)) if key in raw else default

    flow = S.Flow(
        path=path, name=opt("flow", "str", None) or os.path.splitext(os.path.basename(path))[0],
        version=str(raw.get("version") or digest[:12]), digest=digest, start=start,
        lang=lang or S.DEFAULT_LANG, languages=languages, defaults=S.freeze(defaults),
        handlers=S.freeze(handlers), max_steps=opt("max_steps", "count", S.MAX_STEPS) or S.MAX_STEPS,
        max_call_seconds=opt("max_call_seconds", "seconds", S.MAX_CALL_SECONDS) or S.MAX_CALL_SECONDS,
        prompts=S.freeze(prompts),
        prompt_dir=os.path.join(os.path.dirname(path), raw["prompt_dir"]) if isinstance(raw.get("prompt_dir"), str) else "",
        vars=S.freeze(variables or {}), nodes=S.freeze(nodes), subflows=S.freeze(subflows),
        marks=S.freeze({k: marks.values.get((k,), (1, 1)) for k in raw}))
    return flow, b.problems


def load(path, text=None, **lint_options):
    """Load, lint and return a flow; :class:`FlowError` naming the first error's place if the
    flow has lint errors (the runtime refuses those). ``lint_options`` go to ivr.lint.lint."""
    from ivr import lint
    flow, problems = lint.lint_file(path, text=text, **lint_options)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more error(s); run ivr lint)" if len(errors) > 1 else ""
        raise FlowError(f"{first}{more}", path=first.path, line=first.line)
    return flow
