"""The action registry: the Python functions a flow's ``action`` nodes may call.

Actions are looked up by name in an explicit dict, never by attribute. A function takes the
call context first and the node's ``args`` as keyword arguments; it may be a coroutine
function. It returns:

- a dict with an ``"outcome"`` key: that outcome, and the dict is stored in ``result``;
- a str: that outcome (nothing stored);
- anything else: outcome "ok", the value stored in ``result``.

An exception is outcome "error" and a timeout outcome "timeout": the node's ``on:`` may route
them, otherwise the flow's error handler runs.
"""
import asyncio
import dataclasses

REGISTRY = {}


def register(name, registry=None):
    """Decorator: ``@register("bank.balance")`` adds a function to a registry (default: REGISTRY)."""
    table = REGISTRY if registry is None else registry

    def add(fn):
        if not callable(fn):
            raise TypeError(f"action {name!r}: {fn!r} is not callable")
        table[name] = fn
        return fn
    return add


@dataclasses.dataclass(frozen=True)
class ActionContext:
    """What an action learns about the call (read only)."""
    flow: str
    version: str
    channel: int
    ani: str
    dnis: str
    lang: str
    node: str


@dataclasses.dataclass(frozen=True)
class Fixture:
    """An action defined by data (a scenario's backend fixture): it answers ``result`` after
    ``delay`` seconds of (virtual) time, or raises ``error``. Latency injection for flow tests
    (ivr-anchors §5.2 item 9)."""
    name: str
    result: object = None
    delay: float = 0.0
    error: str = ""

    async def __call__(self, ctx, **args):
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error:
            raise RuntimeError(self.error)
        return self.result


def outcome_of(value):
    """(outcome, value to store) for what an action returned."""
    if isinstance(value, dict) and isinstance(value.get("outcome"), str):
        return value["outcome"], value
    if isinstance(value, str):
        return value, None
    return "ok", value
