"""The flow expression language: parsing, evaluation, errors with offsets, and safety."""
import re

import pytest
from hypothesis import given, strategies as st

from ivr import expr
from ivr.expr import ExprError


@pytest.mark.parametrize("source,env,value", [
    ("1 + 2 * 3", {}, 7),
    ("(1 + 2) * 3", {}, 9),
    ("7 // 2", {}, 3),
    ("7 % 4", {}, 3),
    ("7 / 2", {}, 3.5),
    ("-x + 1", {"x": 5}, -4),
    ("1.5 * 2", {}, 3.0),
    ("'ab' + \"cd\"", {}, "abcd"),
    ("a.b.c", {"a": {"b": {"c": 4}}}, 4),
    ("a['k']", {"a": {"k": "v"}}, "v"),
    ("s[1]", {"s": "xyz"}, "y"),
    ("s[0:4]", {"s": "6222020012345678"}, "6222"),
    ("s[-4:]", {"s": "6222020012345678"}, "5678"),
    ("[1, 2][1]", {}, 2),
    ("x == 1 and y != 2", {"x": 1, "y": 3}, True),
    ("x < 1 or y >= 3", {"x": 1, "y": 3}, True),
    ("not x", {"x": 0}, True),
    ("'1' in keys", {"keys": "123"}, True),
    ("3 not in [1, 2]", {}, True),
    ("len(pin) == 6", {"pin": "123456"}, True),
    ("int('0042') + 1", {}, 43),
    ("str(5) + 'x'", {}, "5x"),
    ("min(3, 1, 2) + max(1, 9) + abs(-2)", {}, 12),
    ("luhn('4111111111111111')", {}, True),
    ("luhn('4111111111111112')", {}, False),
    ("fen('12*5')", {}, 1250),
    ("fen('12*05') + fen('3')", {}, 1505),
    ("startswith(card, '62')", {"card": "6222"}, True),
    ("upper('en')", {}, "EN"),
    ("defined(x)", {}, False),
    ("defined(x) and x > 1", {"x": 2}, True),
    ("null == n", {"n": None}, True),
    ("true and false", {}, False),
])
def test_values(source, env, value):
    assert expr.evaluate(source, env) == value


def test_yaml_scalars_are_constants():
    assert expr.parse(3).tree == ("const", 3)
    assert expr.parse(True)({}) is True
    assert expr.parse(None)({}) is None


def test_names_are_the_variables_read():
    assert expr.parse("a.b + c[0] + len(d)").names == {"a", "c", "d"}
    assert expr.parse("defined(q) or 1").names == frozenset()


@pytest.mark.parametrize("source,pos,message", [
    ("1 +", 3, "expected a value"),
    ("foo(1)", 0, "unknown function foo"),
    ("a..b", 2, "key name"),
    ("x = 1", 2, "unexpected character"),
    ("(1", 2, "expected ')'"),
    ("1 2", 2, "unexpected '2'"),
    ("defined(1)", 0, "defined() takes one variable"),
])
def test_syntax_errors_give_the_offset(source, pos, message):
    with pytest.raises(ExprError, match=re.escape(message)) as err:
        expr.parse(source)
    assert err.value.pos == pos


@pytest.mark.parametrize("source,env,message", [
    ("x + 1", {}, "variable 'x' is not set"),
    ("a.missing", {"a": {}}, "no item 'missing'"),
    ("'a' * 3", {}, "needs numbers"),
    ("1 / 0", {}, "division by zero"),
    ("'a' < 1", {}, "cannot compare"),
    ("1 in 5", {}, "'in' needs"),
    ("int('x')", {}, "not a whole number"),
    ("fen('1*234')", {}, "not an amount"),
    ("s.upper", {"s": "text"}, "cannot take item"),
    ("x[0]", {"x": 5}, "cannot take item"),
])
def test_evaluation_errors(source, env, message):
    with pytest.raises(ExprError, match=message):
        expr.evaluate(source, env)


@pytest.mark.parametrize("source", [
    "__import__('os')",                 # no such function
    "x.__class__",                      # dict keys only; no attribute access
    "().__class__",
    "open('/etc/passwd')",
    "eval('1')",
])
def test_nothing_outside_the_language_is_reachable(source):
    with pytest.raises(ExprError):
        expr.evaluate(source, {"x": {"a": 1}})


def test_strings_cannot_grow_without_bound():
    env = {"s": "x" * 3000}
    with pytest.raises(ExprError, match="longer than"):
        expr.evaluate("s + s", env)


@given(st.integers(-10**6, 10**6), st.integers(-10**6, 10**6), st.integers(1, 1000))
def test_arithmetic_matches_python(a, b, c):
    env = {"a": a, "b": b, "c": c}
    assert expr.evaluate("a + b * c - (a // c) % c", env) == a + b * c - (a // c) % c
    assert expr.evaluate("a < b and not b == c", env) == (a < b and not b == c)
