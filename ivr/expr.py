"""The flow expression language: what `set`, `if`, action arguments and say-items are
written in. A parser and an evaluator of our own -- Python's eval/exec are never used, so a
flow can read variables and call a short list of functions, and nothing else.

Grammar, lowest precedence first::

    expr    := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := sum [("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in") sum]
    sum     := term (("+" | "-") term)*
    term    := unary (("*" | "/" | "//" | "%") unary)*
    unary   := "-" unary | postfix
    postfix := atom ("." NAME | "[" expr "]" | "[" [expr] ":" [expr] "]")*
    atom    := NUMBER | STRING | "true" | "false" | "null" | NAME | NAME "(" [expr ("," expr)*] ")"
             | "(" expr ")" | "[" [expr ("," expr)*] "]"

Values are None, bool, int, float, str, lists and dicts (read only). ``a.b`` reads key ``b``
of the dict ``a`` (nothing else: there is no attribute access). ``and``/``or`` return a bool.
Strings concatenate with ``+``; ``*`` is for numbers only, so no expression can build a huge
string. Errors are :class:`ExprError` with the offset in the source.
"""
import dataclasses
import re

MAX_STRING = 4096           # longest string or list an expression may build (keeps a call small)


class ExprError(ValueError):
    """A syntax or evaluation error; ``pos`` is the character offset in the source."""

    def __init__(self, message, pos=0):
        super().__init__(message)
        self.pos = pos


def _luhn(value):
    digits = str(value)
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _fen(entry):
    """An amount keyed with "*" as the decimal point ("12*5") as integer fen (1250)."""
    text = _str(entry)
    yuan, _, frac = text.partition("*")
    if not yuan.isdigit() or (frac and (not frac.isdigit() or len(frac) > 2)):
        raise ExprError(f"fen(): {text!r} is not an amount (digits, optionally * and 1-2 digits)")
    return int(yuan) * 100 + int((frac + "00")[:2])


def _str(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ExprError(f"int(): {value!r} is not a whole number") from None


FUNCTIONS = {
    "len": len,
    "int": _int,
    "str": _str,
    "abs": abs,
    "min": min,
    "max": max,
    "round": round,
    "upper": lambda s: _str(s).upper(),
    "lower": lambda s: _str(s).lower(),
    "startswith": lambda s, p: _str(s).startswith(_str(p)),
    "endswith": lambda s, p: _str(s).endswith(_str(p)),
    "luhn": _luhn,
    "fen": _fen,
    "defined": None,        # special form: defined(name) is true when the variable exists
}

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>\d+\.\d+|\d+)
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<op>==|!=|<=|>=|//|[-+*/%<>()\[\]\.,:])
""", re.VERBOSE)
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}


def _tokens(src):
    out = []
    pos = 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if m is None:
            raise ExprError(f"unexpected character {src[pos]!r}", pos)
        kind = m.lastgroup
        text = m.group()
        if kind == "name" and text in _KEYWORDS:
            kind = "kw"
        if kind != "ws":
            out.append((kind, text, pos))
        pos = m.end()
    out.append(("end", "", len(src)))
    return out


@dataclasses.dataclass(frozen=True)
class Expr:
    """A parsed expression: ``source``, the tree, and the variable names it reads."""
    source: str
    tree: tuple
    names: frozenset

    def __call__(self, env):
        return evaluate(self, env)


class _Parser:
    def __init__(self, src):
        self.src = src
        self.toks = _tokens(src)
        self.i = 0
        self.names = set()
        self.tested = set()         # names only passed to defined()

    def peek(self, text=None, kind=None):
        k, t, _ = self.toks[self.i]
        return (text is None or t == text and k in ("op", "kw")) and (kind is None or k == kind)

    def take(self, text=None, kind=None, what=None):
        k, t, pos = self.toks[self.i]
        if not self.peek(text, kind):
            found = "the end" if k == "end" else repr(t)
            raise ExprError(f"expected {what or repr(text) if text else what or kind}, found {found}", pos)
        self.i += 1
        return t, pos

    def parse(self):
        tree = self.expr()
        k, t, pos = self.toks[self.i]
        if k != "end":
            raise ExprError(f"unexpected {t!r} after the expression", pos)
        return tree

    def expr(self):
        left = self.and_()
        while self.peek("or"):
            self.take("or")
            left = ("or", left, self.and_())
        return left

    def and_(self):
        left = self.not_()
        while self.peek("and"):
            self.take("and")
            left = ("and", left, self.not_())
        return left

    def not_(self):
        if self.peek("not"):
            self.take("not")
            return ("not", self.not_())
        return self.compare()

    def compare(self):
        left = self.sum()
        for op in ("==", "!=", "<=", ">=", "<", ">", "in"):
            if self.peek(op):
                self.take(op)
                return (op, left, self.sum())
        if self.peek("not") and self.toks[self.i + 1][1] == "in":
            self.take("not")
            self.take("in")
            return ("not", ("in", left, self.sum()))
        return left

    def sum(self):
        left = self.term()
        while self.peek("+") or self.peek("-"):
            op, _ = self.take()
            left = (op, left, self.term())
        return left

    def term(self):
        left = self.unary()
        while self.peek("*") or self.peek("/") or self.peek("//") or self.peek("%"):
            op, _ = self.take()
            left = (op, left, self.unary())
        return left

    def unary(self):
        if self.peek("-"):
            self.take("-")
            return ("neg", self.unary())
        return self.postfix()

    def postfix(self):
        node = self.atom()
        while True:
            if self.peek("."):
                self.take(".")
                name, _ = self.take(kind="name", what="a key name after '.'")
                node = ("get", node, ("const", name))
            elif self.peek("["):
                self.take("[")
                start = None if self.peek(":") else self.expr()
                if self.peek(":"):
                    self.take(":")
                    stop = None if self.peek("]") else self.expr()
                    self.take("]")
                    node = ("slice", node, start, stop)
                else:
                    self.take("]")
                    node = ("get", node, start)
            else:
                return node

    def atom(self):
        k, t, pos = self.toks[self.i]
        if k == "num":
            self.i += 1
            return ("const", float(t) if "." in t else int(t))
        if k == "str":
            self.i += 1
            return ("const", re.sub(r"\\(.)", r"\1", t[1:-1]))
        if k == "kw" and t in ("true", "false", "null"):
            self.i += 1
            return ("const", {"true": True, "false": False, "null": None}[t])
        if k == "name":
            self.i += 1
            if self.peek("("):
                if t not in FUNCTIONS:
                    raise ExprError(f"unknown function {t}() (known: {', '.join(sorted(FUNCTIONS))})", pos)
                self.take("(")
                args = []
                while not self.peek(")"):
                    args.append(self.expr())
                    if not self.peek(")"):
                        self.take(",", what="',' or ')'")
                self.take(")")
                if t == "defined":
                    if len(args) != 1 or args[0][0] != "var":
                        raise ExprError("defined() takes one variable name", pos)
                    self.tested.add(args[0][1])
                    return ("defined", args[0][1])
                return ("call", t, tuple(args), pos)
            self.names.add(t)
            return ("var", t, pos)
        if self.peek("("):
            self.take("(")
            node = self.expr()
            self.take(")")
            return node
        if self.peek("["):
            self.take("[")
            items = []
            while not self.peek("]"):
                items.append(self.expr())
                if not self.peek("]"):
                    self.take(",", what="',' or ']'")
            self.take("]")
            return ("list", tuple(items))
        found = "the end" if k == "end" else repr(t)
        raise ExprError(f"expected a value, found {found}", pos)


def parse(source):
    """Parse ``source`` (str, or a YAML scalar: numbers and booleans become constants)."""
    if isinstance(source, bool) or source is None or isinstance(source, (int, float)):
        return Expr(repr(source), ("const", source), frozenset())
    if not isinstance(source, str):
        raise ExprError(f"an expression must be text, got {type(source).__name__}")
    p = _Parser(source)
    tree = p.parse()
    reads = {n for n in p.names if n not in p.tested} | {n for n in p.tested if ("var", n) in _vars(tree)}
    return Expr(source, tree, frozenset(reads))


def _vars(tree):
    found = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, tuple) and node:
            if node[0] == "var":
                found.add(("var", node[1]))
            else:
                stack.extend(n for n in node if isinstance(n, tuple))
    return found


def _num(v, op, pos):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ExprError(f"'{op}' needs numbers, got {type(v).__name__} {v!r}", pos)
    return v


def _limit(v):
    if isinstance(v, (str, list)) and len(v) > MAX_STRING:
        raise ExprError(f"result longer than {MAX_STRING}")
    return v


def _eval(node, env):
    kind = node[0]
    if kind == "const":
        return node[1]
    if kind == "var":
        if node[1] not in env:
            raise ExprError(f"variable {node[1]!r} is not set", node[2])
        return env[node[1]]
    if kind == "defined":
        return node[1] in env
    if kind == "and":
        return bool(_eval(node[1], env)) and bool(_eval(node[2], env))
    if kind == "or":
        return bool(_eval(node[1], env)) or bool(_eval(node[2], env))
    if kind == "not":
        return not _eval(node[1], env)
    if kind == "neg":
        return -_num(_eval(node[1], env), "-", 0)
    if kind == "list":
        return _limit([_eval(n, env) for n in node[1]])
    if kind == "get":
        obj, key = _eval(node[1], env), _eval(node[2], env)
        try:
            if isinstance(obj, dict):
                return obj[key]
            if isinstance(obj, (str, list)) and isinstance(key, int) and not isinstance(key, bool):
                return obj[key]
        except (KeyError, IndexError):
            raise ExprError(f"no item {key!r} in {obj!r}") from None
        raise ExprError(f"cannot take item {key!r} of {type(obj).__name__}")
    if kind == "slice":
        obj = _eval(node[1], env)
        start = None if node[2] is None else _eval(node[2], env)
        stop = None if node[3] is None else _eval(node[3], env)
        if not isinstance(obj, (str, list)):
            raise ExprError(f"cannot slice {type(obj).__name__}")
        for b in (start, stop):
            if b is not None and (isinstance(b, bool) or not isinstance(b, int)):
                raise ExprError(f"slice bounds must be whole numbers, got {b!r}")
        return obj[start:stop]
    if kind == "call":
        args = [_eval(a, env) for a in node[2]]
        try:
            return _limit(FUNCTIONS[node[1]](*args))
        except ExprError:
            raise
        except (TypeError, ValueError) as exc:
            raise ExprError(f"{node[1]}(): {exc}", node[3]) from None
    a, b = _eval(node[1], env), _eval(node[2], env)
    try:
        if kind == "==":
            return a == b
        if kind == "!=":
            return a != b
        if kind == "in":
            if isinstance(a, str) and isinstance(b, str) or isinstance(b, (list, dict)):
                return a in b
            raise ExprError(f"'in' needs a string, list or dict on the right, got {type(b).__name__}")
        if kind in ("<", "<=", ">", ">="):
            if isinstance(a, str) != isinstance(b, str):
                raise ExprError(f"cannot compare {a!r} with {b!r}")
            return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[kind]
        if kind == "+":
            if isinstance(a, str) and isinstance(b, str) or isinstance(a, list) and isinstance(b, list):
                return _limit(a + b)
            return _num(a, "+", 0) + _num(b, "+", 0)
        a, b = _num(a, kind, 0), _num(b, kind, 0)
        if kind == "-":
            return a - b
        if kind == "*":
            return a * b
        if kind == "/":
            return a / b
        if kind == "//":
            return a // b
        if kind == "%":
            return a % b
    except ZeroDivisionError:
        raise ExprError(f"division by zero in '{kind}'") from None
    except TypeError as exc:
        raise ExprError(str(exc)) from None
    raise ExprError(f"unknown operator {kind!r}")


def evaluate(expr, env):
    """Value of a parsed expression (or of source text) with the variables in ``env``."""
    if not isinstance(expr, Expr):
        expr = parse(expr)
    return _eval(expr.tree, env)
