"""Call handlers: what ivrd runs on a call once it has answered it.

A handler is a coroutine function ``async def handle(channel, call) -> outcome``:

- ``channel`` is the answered :class:`voiceboard.board.Channel` (play, collect, record, ...);
- ``call`` is the daemon's :class:`ivr.daemon.Call`: ``call.id``, ``call.ani``,
  ``call.dnis``, ``call.flow`` (the route's flow file, or None), ``call.options`` (the
  route's options, a dict), ``call.recordings`` (directory for recordings) and
  ``call.log`` (a logger); ``call.step(name)`` marks the node the call is in (shown live and
  kept as the node path of the call record), ``call.keys(digits)`` records what the caller
  typed (masked when the route is sensitive), ``call.recording = path`` names a recording;
- the return value is the outcome written to the call record (a short word such as
  "completed"). An exception is logged and recorded as outcome "error"; the daemon hangs up
  whatever the handler left off-hook.

:data:`REGISTRY` maps the names a configuration may use to "module:function": "flow" runs
a YAML flow (:func:`run_flow`), "echo" is a minimal line check (:func:`echo_digits`).

A handler may have a ``prepare(flow_path, options)`` attribute: the configuration loader calls
it once per (re)load and hands the result to every call of that route as ``call.program``, so
a flow is checked before the daemon accepts it and each call keeps the version it started on.
"""
from voiceboard import dsp

REGISTRY = {
    "flow": "ivr.handlers:run_flow",
    "echo": "ivr.handlers:echo_digits",
}

ECHO_DEFAULTS = {
    "max_digits": 8,
    "first_timeout": 5.0,       # seconds for the first key (Channel.collect default)
    "inter_timeout": 3.0,       # seconds between keys (Channel.collect default)
    "prompt_ms": 300,           # length of the tone prompt (short: the caller may key at once)
    "region": "cn",             # tone table of the prompt (voiceboard/data/tones.yaml)
}


async def echo_digits(channel, call):
    """Answered call: play a short dial-tone prompt, collect keys up to "#" (barge-in on any
    key), play them back as DTMF, hang up.

    Outcomes: "completed" (keys echoed), "no_input" (no key before the timeout),
    "caller_hangup" (the caller hung up first).
    """
    unknown = set(call.options) - set(ECHO_DEFAULTS)
    if unknown:
        raise ValueError(f"echo handler: unknown option(s) {', '.join(sorted(unknown))}")
    opts = {**ECHO_DEFAULTS, **call.options}
    call.step("prompt")
    prompt = dsp.tone_samples("dial", opts["region"], seconds=opts["prompt_ms"] / 1000)
    played = await channel.play(prompt, barge_in=dsp.DTMF_DIGITS)
    if played.reason == "hangup":
        return "caller_hangup"
    call.step("collect")
    got = await channel.collect(max_digits=int(opts["max_digits"]), terminators="#",
                                first_timeout=float(opts["first_timeout"]),
                                inter_timeout=float(opts["inter_timeout"]))
    call.keys(got.digits)
    if got.reason == "hangup":
        return "caller_hangup"
    if not got.digits:
        call.step("no_input")
        await channel.hangup()
        return "no_input"
    call.step("echo")
    played = await channel.play(dsp.dtmf_samples(got.digits))
    if played.reason == "hangup":
        return "caller_hangup"
    call.step("goodbye")
    await channel.hangup()
    return "completed"


# The configuration loader checks a route's options against this (unknown keys are errors).
echo_digits.options = ECHO_DEFAULTS


FLOW_OPTIONS = {
    "actions": None,            # "package.module" whose import registers the flow's actions
    "queues": None,             # transfer queue -> number to dial, e.g. {agents: "8001"}
}


def _prepare_flow(flow_path, options):
    """Load and lint the route's flow; build its prompt store (ConfigError on any error)."""
    import importlib

    from ivr import loader, media

    if flow_path is None:
        raise ValueError("the flow handler needs a flow file (route key 'flow')")
    if options.get("actions"):
        importlib.import_module(options["actions"])
    queues = options.get("queues") or {}
    if not isinstance(queues, dict):
        raise ValueError("option queues: a mapping of queue name to number, e.g. {agents: \"8001\"}")
    flow = loader.load(flow_path)
    return flow, media.prompt_store(flow_path), {str(k): str(v) for k, v in queues.items()}


async def run_flow(channel, call):
    """Run the route's YAML flow (ivr/interpreter.py) on the answered call.

    Outcomes are the flow's (its call record's outcome), e.g. "completed", "transferred",
    "caller_hangup", "error"."""
    from ivr import media
    from ivr.interpreter import Interpreter

    flow, store, queues = call.program
    # Without the route's queues a transfer node could not dial anyone (outcome: error).
    interp = Interpreter(flow, store.load, sayer=media.sayer, queues=queues, recordings_dir=call.recordings)
    record = await interp.run(channel, variables={"call_id": call.id}, observer=call)
    if record["recordings"]:
        call.recording = record["recordings"][-1]["path"]
    return record.get("outcome") or "completed"


run_flow.options = FLOW_OPTIONS
run_flow.prepare = _prepare_flow
