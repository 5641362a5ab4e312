"""ivrd configuration: a YAML file, validated whole before anything uses it.

Every error names its place (``FILE:LINE: message``). Relative paths in the file (recordings,
the CDR database, flow files, the control socket, the log file) are taken relative to the
directory of the file. :data:`SAMPLE` is the fully commented sample configuration
(``ivrd --print-sample-config``, also shipped as flows/ivrd.yaml); :func:`demo` builds the
embedded configuration of ``ivrd --demo``.
"""
import dataclasses
import hashlib
import importlib
import ipaddress
import os
import re
import urllib.parse

import yaml

import drivers
from voiceboard.errors import ConfigError

SAMPLE = """\
# ivrd configuration (YAML). `ivrd --check -c FILE` validates a file and reports errors as
# FILE:LINE. Relative paths are relative to this file's directory. Reload with SIGHUP or
# `ivrctl reload`: routes, logging and timers change at once (calls in progress keep the
# handler they started with); boards, http and control changes need a restart.

# Boards to open, by URL (drivers.open_board). Each gets a name used in routes, ivrctl
# (CHANNEL is NAME:PORT) and metrics.
boards:
  - name: main
    url: "emu://analog?ports=8"
    # Answer at this ring. With 2, FSK caller ID (sent between ring 1 and ring 2) arrives
    # before the answer; DTMF caller ID (before ring 1) is there at ring 1 already.
    answer_on_ring: 1
    # emu:// only: callers simulated on the exchange side, one per port listed, calling
    # again and again (for tests). Remove the section for a real exchange. On emu://e1 the
    # callers walk a flow along a walk table instead (as ivrd --demo does):
    #   simulate: {walks: banking_walk.yaml, ports: "0-29", pause: [1.0, 6.0], seed: 1}
    # simulate:
    #   ports: "0-7"            # which ports get a caller (ranges and lists: "0-3,6")
    #   pause: [1.0, 4.0]       # seconds between two calls of one caller (uniform)
    #   digits: [3, 6]          # how many keys a caller presses (uniform), then "#"
    #   caller_id: dtmf         # dtmf (before ring 1), fsk (between ring 1 and 2), none
    #   seed: 1                 # random seed of the callers

# Which call handler answers which call: the first route whose match fits wins. A call no
# route matches is not answered. match keys (all optional): board (name), ports (ranges
# like "0-3,6"), dnis (exact number, or a prefix ending in "*").
routes:
  - match: {board: main, ports: "0-7"}
    # A name from ivr.handlers.REGISTRY, or "package.module:function" for an
    # `async def handle(channel, call) -> outcome` coroutine function.
    handler: echo
    # Flow file given to the handler as call.flow (the flow interpreter reads it); its
    # content is part of the version recorded in each call record.
    # flow: bank.yaml
    # Keys typed on this route are masked in logs and call records (PINs, card numbers).
    sensitive: false
    # Handler options (echo: max_digits, first_timeout, inter_timeout, prompt_ms, region).
    options: {max_digits: 8, first_timeout: 5.0, inter_timeout: 3.0}
  # The phone-banking line (docs/banking.md): the flow handler runs banking.yaml with the
  # bank actions, whose store is `bank:` below.
  # - match: {dnis: "95566"}
  #   handler: flow
  #   flow: banking.yaml
  #   sensitive: true           # the flow masks card numbers and PINs itself (mask: true)
  #   options:
  #     actions: ivr.bank.actions     # the module whose import registers the bank.* actions
  #     queues: {agents: "8001"}      # transfer queue -> the number the board dials

# Directory for recordings made during calls (created if missing).
recordings: /var/lib/ivrd/recordings

# Call records: a SQLite file path (written in WAL mode, one transaction per call).
cdr: /var/lib/ivrd/cdr.sqlite

# The bank service of the phone-banking flow's actions (ivr.bank.actions, docs/bank.md): a
# SQLite file that exists (python -m ivr.bank --db FILE init) or postgresql://USER@HOST/DB.
# Without it the actions use $IVR_BANK_URL, else bank.db in the working directory.
# bank: /var/lib/ivrd/bank.db

log:
  format: json          # json (one object per line, with call_id) or text
  level: info           # debug, info, warning, error
  # file: /var/log/ivrd/ivrd.log    # default: stderr (the journal under systemd)

# Monitoring page (/), its JSON (/api/status) and Prometheus metrics (/metrics).
# Anything but a loopback address needs a token (?token=... or "Authorization: Bearer ...").
http:
  listen: "127.0.0.1:9466"
  # token: "change-me"

# Control socket for ivrctl: mode 0660, group below (default: the daemon's own group).
control:
  socket: /run/ivrd/ivrd.sock
  # group: ivrd

# SIGTERM / `ivrctl drain`: seconds to let calls in progress finish before they are cut.
drain_timeout: 30
"""

DEFAULT_LISTEN = "127.0.0.1:9466"         # loopback only; the port is our choice
DEFAULT_SOCKET = "/run/ivrd/ivrd.sock"    # systemd RuntimeDirectory=ivrd (packaging/ivrd.service)
DEFAULT_DRAIN_S = 30.0                    # within systemd's default 90 s stop timeout
HANDLER_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class Node(dict):
    """A YAML mapping that remembers its line and the line of each key."""

    def __init__(self, *args):
        super().__init__(*args)
        self.line = 0
        self.key_lines = {}


class NodeList(list):
    line = 0


class _Loader(yaml.SafeLoader):
    pass


def _construct_mapping(loader, node):
    loader.flatten_mapping(node)
    out = Node()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader, node):
    out = NodeList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


@dataclasses.dataclass(frozen=True)
class Simulate:
    ports: tuple
    pause: tuple = (1.0, 4.0)
    digits: tuple = (3, 6)
    caller_id: str = "dtmf"
    seed: int = 1


@dataclasses.dataclass(frozen=True)
class WalkSimulate:
    """Simulated callers of an emu://e1 board walking a flow's menus (ivr/loadsim.py)."""
    ports: tuple
    walks: str                          # walk table file
    pause: tuple = (1.0, 4.0)
    seed: int = 1
    process: bool = False               # the exchange and callers in another process
    report: str = None                  # where that process writes its counts (JSON)


@dataclasses.dataclass(frozen=True)
class BoardConfig:
    name: str
    url: str
    answer_on_ring: int = 1
    simulate: Simulate = None


@dataclasses.dataclass(frozen=True)
class Route:
    """One routing rule; ``version`` identifies handler, options and flow-file content."""
    board: str = None
    ports: frozenset = None
    dnis: str = None
    handler_name: str = "echo"
    handler: object = None              # the coroutine function
    flow: str = None
    sensitive: bool = False
    options: tuple = ()                 # sorted (key, value) pairs
    version: str = ""
    program: object = None              # what the handler prepared from flow and options

    def matches(self, board, port, dnis):
        if self.board is not None and self.board != board:
            return False
        if self.ports is not None and port not in self.ports:
            return False
        if self.dnis is not None:
            if self.dnis.endswith("*"):
                return (dnis or "").startswith(self.dnis[:-1])
            return dnis == self.dnis
        return True


@dataclasses.dataclass(frozen=True)
class Config:
    path: str
    boards: tuple
    routes: tuple
    recordings: str
    cdr: str
    log_format: str = "json"
    log_level: str = "info"
    log_file: str = None
    http_host: str = "127.0.0.1"
    http_port: int = 0
    http_token: str = None
    control_socket: str = DEFAULT_SOCKET
    control_group: str = None
    drain_timeout: float = DEFAULT_DRAIN_S
    bank: str = None                    # URL for ivr.bank.open_bank (a path or postgresql://)

    def route_for(self, board, port, dnis):
        return next((r for r in self.routes if r.matches(board, port, dnis)), None)


class _Checker:
    """Reads values out of the YAML tree, raising ConfigError with FILE:LINE."""

    def __init__(self, path):
        self.path = path
        self.base = os.path.dirname(os.path.abspath(path))

    def fail(self, line, message):
        raise ConfigError(f"{self.path}:{line}: {message}")

    def mapping(self, value, where, line, allowed):
        if not isinstance(value, dict):
            self.fail(getattr(value, "line", line), f"{where} must be a mapping")
        unknown = [k for k in value if k not in allowed]
        if unknown:
            k = unknown[0]
            self.fail(value.key_lines[k], f"{where}: unknown key {k!r} (known: {', '.join(allowed)})")
        return value

    def line_of(self, mapping, key):
        return mapping.key_lines.get(key, mapping.line) if isinstance(mapping, Node) else 0

    def get(self, mapping, key, kind, default, where):
        if key not in mapping or mapping[key] is None:
            return default
        value = mapping[key]
        ok = isinstance(value, kind) and not (kind in (int, float, (int, float)) and isinstance(value, bool))
        if not ok:
            names = {str: "a string", int: "an integer", bool: "true or false", (int, float): "a number"}
            self.fail(self.line_of(mapping, key), f"{where}.{key} must be {names.get(kind, kind)}, got {value!r}")
        return value

    def path_of(self, value):
        return value if os.path.isabs(value) else os.path.join(self.base, value)


def parse_ports(text):
    """"0-3,6" -> {0, 1, 2, 3, 6}; ValueError on bad syntax."""
    ports = set()
    for part in str(text).split(","):
        part = part.strip()
        lo, _, hi = part.partition("-")
        lo, hi = int(lo), int(hi) if hi else int(lo)
        if lo < 0 or hi < lo:
            raise ValueError(part)
        ports.update(range(lo, hi + 1))
    return frozenset(ports)


def resolve_handler(spec):
    """The coroutine function a handler spec names (registry name or "module:function")."""
    from ivr import handlers
    spec = handlers.REGISTRY.get(spec, spec)
    if not HANDLER_RE.match(spec):
        known = ", ".join(sorted(handlers.REGISTRY))
        raise ValueError(f"{spec!r} is neither a known handler ({known}) nor module:function")
    module, _, name = spec.partition(":")
    try:
        func = getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise ValueError(f"handler {spec!r}: cannot import {module}: {exc}") from None
    except AttributeError:
        raise ValueError(f"handler {spec!r}: {module} has no {name}") from None
    if not callable(func):
        raise ValueError(f"handler {spec!r} is not callable")
    return func


def load(path):
    """Read and validate the configuration file at ``path``; ConfigError on any problem."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return loads(text, path)


def loads(text, path="<config>"):
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}:{line}: YAML syntax: {problem}") from None
    c = _Checker(path)
    top = ("boards", "routes", "recordings", "cdr", "bank", "log", "http", "control", "drain_timeout")
    if data is None:
        c.fail(1, "the file is empty")
    c.mapping(data, "configuration", 1, top)
    boards = _boards(c, data)
    routes = _routes(c, data, boards)
    log = c.mapping(data.get("log") or Node(), "log", c.line_of(data, "log"), ("format", "level", "file"))
    log_format = c.get(log, "format", str, "json", "log")
    if log_format not in ("json", "text"):
        c.fail(c.line_of(log, "format"), f"log.format must be json or text, got {log_format!r}")
    log_level = c.get(log, "level", str, "info", "log").lower()
    if log_level not in ("debug", "info", "warning", "error"):
        c.fail(c.line_of(log, "level"), f"log.level must be debug, info, warning or error, got {log_level!r}")
    log_file = c.get(log, "file", str, None, "log")
    http = c.mapping(data.get("http") or Node(), "http", c.line_of(data, "http"), ("listen", "token"))
    listen = c.get(http, "listen", str, DEFAULT_LISTEN, "http")
    host, port = _host_port(c, listen, c.line_of(http, "listen"))
    token = c.get(http, "token", str, None, "http")
    if not _loopback(host) and not token:
        c.fail(c.line_of(http, "listen"), f"http.listen {listen!r} is not a loopback address: set http.token")
    control = c.mapping(data.get("control") or Node(), "control", c.line_of(data, "control"), ("socket", "group"))
    drain = c.get(data, "drain_timeout", (int, float), DEFAULT_DRAIN_S, "configuration")
    if drain < 0:
        c.fail(c.line_of(data, "drain_timeout"), "drain_timeout must be 0 or more seconds")
    for key in ("recordings", "cdr"):
        if key not in data:
            c.fail(data.line, f"missing {key!r}")
    return Config(
        path=os.path.abspath(path) if path != "<config>" else path,
        boards=boards, routes=routes,
        recordings=c.path_of(c.get(data, "recordings", str, None, "configuration")),
        cdr=_cdr_url(c, data),
        log_format=log_format, log_level=log_level,
        log_file=c.path_of(log_file) if log_file else None,
        http_host=host, http_port=port, http_token=token,
        control_socket=c.path_of(c.get(control, "socket", str, DEFAULT_SOCKET, "control")),
        control_group=c.get(control, "group", str, None, "control"),
        drain_timeout=float(drain),
        bank=_bank_url(c, data),
    )


def _boards(c, data):
    if "boards" not in data:
        c.fail(data.line, "missing 'boards' (at least one board URL)")
    items = data["boards"]
    if not isinstance(items, list) or not items:
        c.fail(c.line_of(data, "boards"), "boards must be a non-empty list")
    out, names = [], set()
    for i, b in enumerate(items):
        where = f"boards[{i}]"
        c.mapping(b, where, items.line, ("name", "url", "answer_on_ring", "simulate"))
        name = c.get(b, "name", str, f"board{i}", where)
        if name in names or not re.match(r"^[A-Za-z0-9_-]+$", name):
            c.fail(c.line_of(b, "name"), f"{where}.name {name!r} must be unique and use A-Z a-z 0-9 _ -")
        names.add(name)
        url = c.get(b, "url", str, None, where)
        if url is None:
            c.fail(b.line, f"{where}: missing url (e.g. emu://analog?ports=8)")
        try:
            ports = len(drivers.open_board(url).channels)
        except ConfigError as exc:
            c.fail(c.line_of(b, "url"), str(exc))
        ring = c.get(b, "answer_on_ring", int, 1, where)
        if not 1 <= ring <= 10:
            c.fail(c.line_of(b, "answer_on_ring"), f"{where}.answer_on_ring must be 1 to 10")
        sim = None
        if b.get("simulate") is not None:
            sim = _simulate(c, b["simulate"], f"{where}.simulate", c.line_of(b, "simulate"), url, ports)
        out.append(BoardConfig(name, url, ring, sim))
    return tuple(out)


def _simulate(c, s, where, line, url, nports):
    if url.startswith("emu://e1"):
        return _walk_simulate(c, s, where, line, url, nports)
    c.mapping(s, where, line, ("ports", "pause", "digits", "caller_id", "seed"))
    if not url.startswith("emu://analog"):
        c.fail(line, f"{where}: simulated callers need an emu://analog or emu://e1 board")
    ports = _ports(c, s, "ports", where, nports) or frozenset(range(nports))
    pause = _pair(c, s, "pause", where, (1.0, 4.0), float)
    digits = _pair(c, s, "digits", where, (3, 6), int)
    cid = c.get(s, "caller_id", str, "dtmf", where)
    if cid not in ("dtmf", "fsk", "none"):
        c.fail(c.line_of(s, "caller_id"), f"{where}.caller_id must be dtmf, fsk or none")
    return Simulate(tuple(sorted(ports)), pause, digits, cid, c.get(s, "seed", int, 1, where))


def _walk_simulate(c, s, where, line, url, nports):
    from ivr import loadsim
    c.mapping(s, where, line, ("ports", "pause", "seed", "walks", "process", "report"))
    walks = c.get(s, "walks", str, None, where)
    if walks is None:
        c.fail(line, f"{where}: an emu://e1 board's callers need walks: (a walk table, e.g. sample_walk.yaml)")
    walks = c.path_of(walks)
    try:
        loadsim.load_walks(walks)
    except ConfigError as exc:
        c.fail(c.line_of(s, "walks"), f"{where}.walks: {exc}")
    process = c.get(s, "process", bool, False, where)
    if process and "link=socket" not in url:
        c.fail(c.line_of(s, "process"), f"{where}.process: the board URL needs link=socket")
    report = c.get(s, "report", str, None, where)
    return WalkSimulate(tuple(sorted(_ports(c, s, "ports", where, nports) or range(nports))), walks,
                        _pair(c, s, "pause", where, (1.0, 4.0), float), c.get(s, "seed", int, 1, where),
                        process, c.path_of(report) if report else None)


def _pair(c, m, key, where, default, kind):
    if key not in m:
        return default
    v = m[key]
    numbers = isinstance(v, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
    if not numbers or len(v) != 2 or v[0] < 0 or v[1] < v[0]:
        c.fail(c.line_of(m, key), f"{where}.{key} must be [low, high] with 0 <= low <= high, got {v!r}")
    return kind(v[0]), kind(v[1])


def _ports(c, m, key, where, nports=None):
    if key not in m:
        return None
    try:
        ports = parse_ports(m[key])
    except ValueError:
        c.fail(c.line_of(m, key), f"{where}.{key}: {m[key]!r} is not a port list like \"0-3,6\"")
    if nports is not None and ports and max(ports) >= nports:
        c.fail(c.line_of(m, key), f"{where}.{key}: port {max(ports)} does not exist (board has {nports})")
    return ports


def _routes(c, data, boards):
    items = data.get("routes")
    if not isinstance(items, list) or not items:
        c.fail(c.line_of(data, "routes") or data.line, "routes must be a non-empty list")
    sizes = {b.name: len(drivers.open_board(b.url).channels) for b in boards}
    out = []
    for i, r in enumerate(items):
        where = f"routes[{i}]"
        c.mapping(r, where, items.line, ("match", "handler", "flow", "sensitive", "options"))
        match = c.mapping(r.get("match") or Node(), f"{where}.match", r.line, ("board", "ports", "dnis"))
        board = c.get(match, "board", str, None, f"{where}.match")
        if board is not None and board not in sizes:
            c.fail(c.line_of(match, "board"), f"{where}.match.board {board!r} is not a board name ({', '.join(sizes)})")
        ports = _ports(c, match, "ports", f"{where}.match", sizes[board] if board else max(sizes.values()))
        dnis = match.get("dnis")
        dnis = None if dnis is None else str(dnis)
        name = c.get(r, "handler", str, "echo", where)
        try:
            func = resolve_handler(name)
        except ValueError as exc:
            c.fail(c.line_of(r, "handler"), f"{where}.handler: {exc}")
        flow = c.get(r, "flow", str, None, where)
        digest = hashlib.sha256(name.encode())
        if flow is not None:
            flow = c.path_of(flow)
            try:
                with open(flow, "rb") as f:
                    digest.update(f.read())
            except OSError as exc:
                c.fail(c.line_of(r, "flow"), f"{where}.flow: cannot read {flow}: {exc.strerror}")
        options = c.mapping(r.get("options") or Node(), f"{where}.options", r.line,
                            tuple(r.get("options") or ()))
        known = getattr(func, "options", None)
        for key in options:
            if known is not None and key not in known:
                c.fail(options.key_lines[key], f"{where}.options: {name} has no option {key!r} "
                                               f"(known: {', '.join(known)})")
        opts = tuple(sorted((str(k), v) for k, v in options.items()))
        digest.update(repr(opts).encode())
        # A handler that runs a flow loads and checks it now: a flow with errors is refused
        # with the configuration, and every call of this route runs this very version.
        program = None
        prepare = getattr(func, "prepare", None)
        if prepare is not None:
            try:
                program = prepare(flow, dict(opts))
            except (ConfigError, ValueError) as exc:
                c.fail(c.line_of(r, "flow" if flow else "handler"), f"{where}.flow: {exc}")
        out.append(Route(board, ports, dnis, name, func, flow, c.get(r, "sensitive", bool, False, where),
                         opts, f"{name}@{digest.hexdigest()[:12]}", program))
    return tuple(out)


def _host_port(c, listen, line):
    host, sep, port = listen.rpartition(":")
    host = host.strip("[]")
    try:
        port = int(port)
        if not sep or not 0 <= port <= 65535:
            raise ValueError
    except ValueError:
        c.fail(line, f"http.listen must be HOST:PORT, got {listen!r}")
    return host or "127.0.0.1", port


def _loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _cdr_url(c, data):
    value = c.get(data, "cdr", str, None, "configuration")
    parts = urllib.parse.urlsplit(value)
    if parts.scheme in ("", "sqlite") or os.path.isabs(value):
        return "sqlite:" + c.path_of(parts.path if parts.scheme else value)
    c.fail(c.line_of(data, "cdr"), f"cdr: {parts.scheme}:// stores are not supported (use a SQLite file path)")


def _bank_url(c, data):
    value = c.get(data, "bank", str, None, "configuration")
    if value is None or value.startswith(("postgresql://", "postgres://")):
        return value
    path = c.path_of(value[len("sqlite://"):] if value.startswith("sqlite://") else value)
    if not os.path.isfile(path):
        # Opening a missing SQLite file would create an empty bank in which no card logs in.
        c.fail(c.line_of(data, "bank"), f"bank: {path} does not exist "
                                        f"(create it: python -m ivr.bank --db {path} init)")
    return path


FLOWS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "flows")
# The flow of ``ivrd --demo`` and bench/ivrd_load.py, its callers' walk table (in flows/) and
# the module registering its actions.
DEMO = ("banking.yaml", "banking_walk.yaml", "ivr.bank.actions")
DEMO_FLOW, DEMO_WALKS, DEMO_ACTIONS = os.path.join(FLOWS, DEMO[0]), os.path.join(FLOWS, DEMO[1]), DEMO[2]
DEMO_BANK = "bank.db"       # the demo's bank store (SQLite), in the demo's directory


def demo_bank(directory, **options):
    """Seed a fresh SQLite bank store with the demo customers (ivr.bank.seed, docs/bank.md) as
    ``directory``/bank.db for the demo flow's bank actions; returns its path. A store left
    there by an earlier run is replaced, so every run starts from the seeded balances, PIN
    counters and daily limits. ``options`` go to the service (``pin_cost``: tests lower it;
    the actions must open the store with the same cost, or each login rehashes the PIN)."""
    from ivr.bank import open_bank
    from ivr.bank.seed import seed

    path = os.path.join(directory, DEMO_BANK)
    for old in (path, path + "-wal", path + "-shm"):       # with SQLite's WAL side files
        try:
            os.remove(old)
        except FileNotFoundError:
            pass
    with open_bank(path, **options) as bank:
        seed(bank)
    return path


def demo(directory):
    """The embedded configuration of ``ivrd --demo``: one emulated E1 span (30 channels) with
    its simulated exchange and callers walking the demo flow's menus, files under
    ``directory``, control socket there too. Its bank store is ``directory``/bank.db, which
    :func:`demo_bank` must have seeded first."""
    text = f"""
boards:
  - name: e1
    url: "emu://e1?spans=1"
    answer_on_ring: 1
    simulate: {{walks: "{DEMO_WALKS}", pause: [1.0, 6.0], seed: 1}}
routes:
  - handler: flow
    flow: "{DEMO_FLOW}"
    # Not sensitive: the flow masks card numbers and PINs itself, and the menu keys stay in
    # the records for the key-by-key check of the callers' walks.
    options: {{actions: {DEMO_ACTIONS}}}
recordings: recordings
cdr: cdr.sqlite
bank: {DEMO_BANK}
log: {{format: text, level: warning, file: ivrd.log}}
http: {{listen: "127.0.0.1:0"}}
control: {{socket: ivrd.sock}}
drain_timeout: 10
"""
    return loads(text, os.path.join(directory, "demo.yaml"))
