"""The flow language's schema: node types, their fields, defaults, and the immutable model a
loaded flow becomes.

Every field has a kind that says how it is checked and normalised:

    target     a node name (checked by the linter: it must exist in the same scope)
    prompts    a prompt list: "id", "file:path.wav", {file: ...}, {tts: "text"},
               {say: "expression", as: money|number|digits|date|time|percent}
    counted    a list of prompt lists, one per count (the last one repeats)
    expr       an expression of ivr/expr.py (numbers and booleans are constants)
    exprs      a mapping name -> expression
    keys       DTMF digits (0-9 * # A-D), possibly empty
    key        one DTMF digit, or empty
    seconds    a number >= 0, or null for "no limit" where allowed
    count      a whole number >= 1
    digits     a whole number >= 0
    bool, str, name (a variable name), choices, outcomes (outcome -> target), strlist

Defaults for menus and collects come from the flow's ``defaults:`` section and then from
BUILTIN_DEFAULTS; the loader resolves them, so a node in the model has every field.
"""
import dataclasses
import re
import types

DTMF = "0123456789*#ABCD"
LANGUAGES = ("zh", "en")
SAY_TYPES = ("number", "digits", "money", "date", "time", "percent", "rate")    # ivr/say.py TYPES
VALIDATORS = ("luhn", "date", "amount")
RECORD_STATUSES = ("DTMF", "SILENCE", "TIMEOUT", "HANGUP", "ERROR")     # Asterisk RECORD_STATUS
TRANSFER_OUTCOMES = ("answered", "busy", "no_answer", "failed")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
NODE_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")

# Values a flow gets when neither the node nor the flow's defaults set them.
BUILTIN_DEFAULTS = {
    "timeout": 5.0,             # first-digit timer, s (Twilio <Gather> timeout, ivr-anchors §2.4)
    "inter_digit_timeout": 3.0,  # s (Channel.collect default; Asterisk 5 s, FS demo 2 s, §2.1-2.2)
    "overall_timeout": None,    # no cap unless the flow sets one
    "max_noinput": 3,           # FS demo_ivr max-timeouts="3" (ivr-anchors §2.1)
    "max_nomatch": 3,           # FS demo_ivr max-failures="3" (§2.1)
    "terminators": "#",         # VXML termchar / Twilio finishOnKey default (§2.3, §2.4)
    "barge_in": True,           # VXML bargein default (§2.3)
}
DEFAULT_LANG = "zh"             # China is the default region (DESIGN.md)
DEFAULT_KEYS = tuple(BUILTIN_DEFAULTS)

MAX_STEPS = 1000                # nodes one call may visit before the step limit ends it
MAX_CALL_SECONDS = 3600.0       # max call duration unless the flow sets max_call_seconds
ACTION_TIMEOUT = 10.0           # s an action may take unless the node sets timeout
WAIT_AFTER = 1.0                # s before a slow action's "please wait" prompt plays
TRANSFER_TIMEOUT = 30.0         # s of ringing (Channel.dial answer_timeout default)
RECORD_MAX_TIME = 60.0          # s (Channel.record default)
RECORD_MAX_SILENCE = 5.0        # s (Channel.record default)
MAX_SUBFLOW_DEPTH = 12          # FreeSWITCH menu-sub limit (ivr-anchors §2.1)

# field -> (kind, default, required). A default of ... means "from the flow's defaults".
_INPUT = {
    "timeout": ("seconds", ..., False),
    "inter_digit_timeout": ("seconds", ..., False),
    "overall_timeout": ("seconds?", ..., False),
    "max_noinput": ("count", ..., False),
    "max_nomatch": ("count", ..., False),
    "barge_in": ("bool", ..., False),
    "noinput": ("counted", (), False),
    "nomatch": ("counted", (), False),
    "on_noinput_exhausted": ("target", None, False),
    "on_nomatch_exhausted": ("target", None, False),
    "flush": ("bool", False, False),
}

NODE_TYPES = {
    "play": {
        "prompts": ("prompts", None, True),
        "barge_in": ("bool", ..., False),
        "next": ("target", None, True),
    },
    "say": {
        "value": ("expr", None, True),
        "as": ("say_type", None, True),
        "before": ("prompts", (), False),
        "after": ("prompts", (), False),
        "barge_in": ("bool", ..., False),
        "next": ("target", None, True),
    },
    "menu": dict(_INPUT, **{
        "greeting": ("prompts", None, True),
        "short_greeting": ("prompts", (), False),
        "choices": ("choices", None, True),
        "max_digits": ("count", None, False),
        "terminators": ("keys", "", False),
        "repeat_key": ("key", "", False),
        "back_key": ("key", "", False),
        "top_key": ("key", "", False),
        "var": ("name", None, False),
    }),
    "collect": dict(_INPUT, **{
        "prompt": ("prompts", None, True),
        "short_prompt": ("prompts", (), False),
        "var": ("name", None, True),
        "min_digits": ("digits", 1, False),
        "max_digits": ("count", None, True),
        "terminators": ("keys", ..., False),
        "terminator_required": ("bool", False, False),
        "pattern": ("regex", None, False),
        "validator": ("validator", None, False),
        "confirm": ("bool", False, False),
        "readback": ("prompts", (), False),
        "confirm_key": ("key", "1", False),
        "mask": ("bool", False, False),
        "next": ("target", None, True),
    }),
    "record": {
        "prompt": ("prompts", (), False),
        "var": ("name", None, False),
        "beep": ("bool", True, False),
        "max_time": ("seconds", RECORD_MAX_TIME, False),
        "max_silence": ("seconds?", RECORD_MAX_SILENCE, False),
        "terminators": ("keys", "#", False),
        "status_var": ("name", None, False),
        "on": ("record_outcomes", {}, False),
        "next": ("target", None, True),
    },
    "transfer": {
        "queue": ("str", None, False),
        "number": ("expr", None, False),
        "prompt": ("prompts", (), False),
        "timeout": ("seconds", TRANSFER_TIMEOUT, False),
        "on": ("transfer_outcomes", {}, False),
        "next": ("target", None, True),
    },
    "action": {
        "call": ("str", None, True),
        "args": ("exprs", {}, False),
        "timeout": ("seconds", ACTION_TIMEOUT, False),
        "wait_prompt": ("prompts", (), False),
        "wait_after": ("seconds", WAIT_AFTER, False),
        "result": ("name", None, False),
        "on": ("outcomes", {}, False),
        "next": ("target", None, True),
    },
    "set": {
        "vars": ("exprs", None, True),
        "next": ("target", None, True),
    },
    "if": {
        "cond": ("expr", None, True),
        "then": ("target", None, True),
        "else": ("target", None, True),
    },
    "subflow": {
        "flow": ("str", None, True),
        "params": ("exprs", {}, False),
        "returns": ("names", {}, False),
        "on": ("outcomes", {}, False),
        "next": ("target", None, True),
    },
    "return": {
        "values": ("exprs", {}, False),
        "outcome": ("str", "ok", False),
    },
    "hangup": {
        "prompt": ("prompts", (), False),
    },
}
COMMON_FIELDS = ("type", "note")

FLOW_FIELDS = {
    "flow": "str", "description": "str", "version": "str", "start": "target",
    "lang": "lang", "languages": "langs", "defaults": "defaults", "handlers": "handlers",
    "max_steps": "count", "max_call_seconds": "seconds", "prompts": "prompt_table",
    "prompt_dir": "str", "vars": "exprs", "nodes": "nodes", "subflows": "subflows",
}
SUBFLOW_FIELDS = ("params", "returns", "start", "nodes", "description")
HANDLERS = ("hangup", "error", "max_duration")


@dataclasses.dataclass(frozen=True)
class Problem:
    """One finding of the loader or the linter."""
    path: str
    line: int
    column: int
    severity: str               # "error" or "warning"
    code: str
    message: str
    hint: str = ""

    def __str__(self):
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{self.path}:{self.line}:{self.column}: {self.severity}: {self.message} [{self.code}]{hint}"


@dataclasses.dataclass(frozen=True)
class PromptItem:
    """One element of a prompt list. kind: id, file, tts or say."""
    kind: str
    value: object               # prompt id, file path, text, or an ivr.expr.Expr (say)
    say_as: str = ""

    def label(self):
        if self.kind == "id":
            return self.value
        if self.kind == "say":
            return f"say:{self.say_as}({self.value.source})"
        return f"{self.kind}:{self.value}"


@dataclasses.dataclass(frozen=True)
class Choice:
    """A menu choice: a literal key string or a /regex/ pattern, and its target."""
    key: str
    target: str
    pattern: object = None      # compiled re.Pattern for /regex/ keys


@dataclasses.dataclass(frozen=True)
class Node:
    name: str
    type: str
    scope: str                  # "" for the main flow, else the subflow's name
    line: int
    column: int
    opts: types.MappingProxyType
    marks: types.MappingProxyType     # field -> (line, column)

    def __getitem__(self, field):
        return self.opts[field]

    def where(self, field=None):
        return self.marks.get(field, (self.line, self.column))

    def targets(self):
        """(label, target) of every edge leaving this node."""
        out = []
        kinds = NODE_TYPES[self.type]
        for field, (kind, _, _) in kinds.items():
            value = self.opts.get(field)
            if value is None:
                continue
            if kind == "target":
                out.append((field, value))
            elif kind == "choices":
                out.extend((f"choice {c.key}", c.target) for c in value)
            elif kind in ("outcomes", "record_outcomes", "transfer_outcomes"):
                out.extend((f"on {k}", t) for k, t in value.items())
        return out


@dataclasses.dataclass(frozen=True)
class Subflow:
    name: str
    params: tuple
    returns: tuple
    start: str
    nodes: types.MappingProxyType
    line: int
    column: int


@dataclasses.dataclass(frozen=True)
class Flow:
    """A loaded flow: immutable, so a running call keeps the version it started on."""
    path: str
    name: str
    version: str                # the flow's own version string, else a hash of the text
    digest: str                 # sha256 of the file text
    start: str
    lang: str
    languages: tuple
    defaults: types.MappingProxyType
    handlers: types.MappingProxyType   # hangup/error/max_duration -> node name
    max_steps: int
    max_call_seconds: float
    prompts: types.MappingProxyType    # prompt id -> {lang: text}
    prompt_dir: str
    vars: types.MappingProxyType       # name -> Expr (initial values)
    nodes: types.MappingProxyType      # name -> Node (main scope)
    subflows: types.MappingProxyType   # name -> Subflow
    marks: types.MappingProxyType      # top-level field -> (line, column)

    def scope_nodes(self, scope):
        return self.nodes if not scope else self.subflows[scope].nodes

    def all_nodes(self):
        yield from self.nodes.values()
        for sub in self.subflows.values():
            yield from sub.nodes.values()

    def prompt_text(self, prompt_id, lang):
        entry = self.prompts.get(prompt_id)
        return None if entry is None else entry.get(lang)


def freeze(value):
    if isinstance(value, dict):
        return types.MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value
