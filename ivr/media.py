"""What a flow needs to make sound: prompt audio and the say layer, wired together.

Used by the daemon's flow handler and by ``ivr test --audio store``: prompt ids resolve
through the prompt store (a recording if present, else espeak-ng text cached by hash), say
items through :func:`ivr.say.say`.
"""
from ivr import say
from ivr.prompts import PromptStore


def sayer(value, say_as, lang):
    """Prompt ids (without the language prefix) that speak ``value`` as ``say_as``."""
    return list(say.say(say_as, value, lang).ids)


def prompt_store(flow_path, recordings=(), cache_dir=None):
    """A prompt store holding the flow's own prompts and the say layer's built-in ones."""
    return PromptStore(files=[flow_path], recordings=recordings, cache_dir=cache_dir)
