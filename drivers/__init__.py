"""Backends behind one contract (voiceboard.board.BoardBase), chosen by URL.

    emu://analog?ports=8&region=cn     emulated analog board (FXO ports) + line simulator
    emu://analog?ports=4&fxs=2         ... with the last 2 ports FXS (agent phones)
    sound://DEVICE                     a sound card (PortAudio)
    modem:///dev/ttyACM0               a voice modem (V.253)

A scheme maps to the module ``drivers.<scheme>`` (searched in PACKAGES, which may be
extended), whose ``open_url(parsed_url, **options)`` returns an unopened board. An ImportError
raised *inside* a found module is a real error and propagates.
"""
import importlib
import importlib.util
import urllib.parse

from voiceboard.errors import ConfigError

PACKAGES = ["drivers"]


def parse_url(url):
    """(scheme, host, path, {option: value}) of a board URL; ConfigError if malformed."""
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme:
        raise ConfigError(f"board URL {url!r}: no scheme (e.g. emu://analog?ports=8)")
    options = {}
    for key, values in urllib.parse.parse_qs(parts.query, keep_blank_values=True).items():
        options[key] = values[-1]
    return parts.scheme, parts.netloc, parts.path, options


def _module_for(scheme):
    for package in PACKAGES:
        name = f"{package}.{scheme}"
        if importlib.util.find_spec(name) is not None:
            return importlib.import_module(name)
    raise ConfigError(f"board URL scheme {scheme!r} is not known (known: {', '.join(backends())})")


def open_board(url, **options):
    """An unopened board for ``url``; ``await board.open()`` (or ``async with``) starts it."""
    scheme, host, path, query = parse_url(url)
    module = _module_for(scheme)
    return module.open_url(url, host, path, {**query, **options})


def backends():
    """Names of the URL schemes available here."""
    found = []
    for package in PACKAGES:
        pkg = importlib.import_module(package)
        for entry in getattr(pkg, "SCHEMES", ()):
            found.append(entry)
    return found


SCHEMES = ["emu", "sound", "modem"]


def option(options, name, convert, default, url):
    """Read and convert one URL option; ConfigError naming the URL on a bad value."""
    if name not in options:
        return default
    raw = options.pop(name)
    try:
        return convert(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"board URL {url!r}: bad value {raw!r} for {name}") from None


def no_more_options(options, url):
    if options:
        raise ConfigError(f"board URL {url!r}: unknown option(s) {', '.join(sorted(options))}")
