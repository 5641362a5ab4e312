"""ivrd: the IVR daemon. Opens the configured boards, answers calls and hands each one to the
call handler its route names, and keeps a call record of every call.

Usage:
    ivrd -c FILE                  run with the configuration in FILE (in the foreground;
                                  systemd or another supervisor runs it as a service)
    ivrd --check -c FILE          validate FILE, print a report, exit (0 valid, 6 invalid)
    ivrd --print-sample-config    print a fully commented sample configuration
    ivrd --demo [--seconds S]     embedded configuration: an emulated E1 span (30 channels),
                                  simulated callers walking flows/banking.yaml's menus on a
                                  freshly seeded demo bank, a live status table; Ctrl-C (or
                                  S seconds) ends it
    ivrd --export-cdr -c FILE [--since WHEN] [-o OUT.csv]
                                  call records as CSV (WHEN: 2026-11-25, 2026-11-25T08:00,
                                  or 15m / 2h / 3d ago)

Signals: SIGHUP reloads the configuration (an invalid file is rejected and logged, the
running one stays; calls in progress keep the handler they started with); SIGTERM and
SIGINT stop answering, let calls in progress finish for up to drain_timeout seconds, then
exit 0. Operators use ivrctl over the control socket.

Exit status (LSB): 0 success, 1 failure at run time, 2 invalid arguments, 6 not configured
(no or invalid configuration).
"""
import argparse
import asyncio
import collections
import contextvars
import dataclasses
import io
import logging
import os
import random
import signal
import sys
import tempfile
import time
import urllib.parse
import uuid

import drivers
from drivers.linesim import CallEnded, PortState
from ivr import cdr as _cdr
from ivr import config as _config
from ivr import loadsim, logs, metrics, web
from ivr.bank import open_bank
from ivr.control import CommandError, ControlServer
from voiceboard import callerid
from voiceboard.errors import ConfigError, VoiceBoardError
from voiceboard.states import ChannelState

log = logging.getLogger("ivrd")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_NOT_CONFIGURED = 0, 1, 2, 6   # LSB init-script codes
RECENT = 20                 # call records kept in memory for status and the page (our choice)
STATUS_REFRESH_S = 1.0      # demo status table refresh (about once a second, as the page)
DRAIN_GRACE_S = 1.0         # after the drain deadline's hangup, before handlers are cancelled
                            # (a handler that reacts to the hangup returns within a tick)
IN_CALL = (ChannelState.RINGING, ChannelState.DIALING, ChannelState.CONNECTED)


class Call:
    """One call, from the ring that offered it to its record. Handlers see this object."""

    def __init__(self, board, channel, route, offered, sensitive=False, recordings=""):
        self.id = uuid.uuid4().hex[:16]
        self.board = board
        self.channel = channel
        self.route = route
        self.ani = channel.ani or (channel.caller_id.number if channel.caller_id and channel.caller_id.number else "")
        self.dnis = channel.dnis
        self.flow = route.flow
        self.program = route.program        # what the handler prepared (run_flow: the loaded flow)
        self.options = dict(route.options)
        self.recordings = recordings
        self.recording = ""
        self.sensitive = sensitive
        self.start = offered
        self.answer = None
        self.node_path = []
        self.typed = ""
        self.outcome_override = None
        self.log = logging.getLogger("ivrd.call")

    @property
    def current_step(self):
        return self.node_path[-1] if self.node_path else ""

    def step(self, name):
        """The call enters node/step ``name`` (shown live, kept in the record)."""
        self.node_path.append(str(name))
        self.log.debug("step %s", name)

    def keys(self, digits):
        """The caller typed ``digits``; masked in logs and records on a sensitive route."""
        self.typed += logs.mask(digits) if self.sensitive else digits
        if digits:
            self.log.info("keys %s", logs.mask(digits) if self.sensitive else digits)

    def summary(self):
        return {"id": self.id, "board": self.board, "channel": self.channel.number, "ani": self.ani,
                "dnis": self.dnis, "step": self.current_step, "keys": self.typed,
                "handler": self.route.handler_name, "version": self.route.version,
                "since": _cdr.iso(self.start)}


class Daemon:
    """The running daemon; :meth:`run` returns the exit status."""

    def __init__(self, config, demo=False, out=None, seconds=None):
        self.config = config
        self.generation = 1
        self.demo = demo
        self.seconds = seconds              # --demo --seconds: stop as on SIGINT after this
        self.out = out
        self.boards = {}                    # name -> opened board
        self.board_state = {}               # name -> "running" or "failed: ..."
        self.calls = {}                     # call id -> (Call, task)
        self.recent = collections.deque(maxlen=RECENT)
        self.ended = collections.deque()    # end times of the last minute's calls
        self.draining = False
        self.started = time.time()
        self.store = None
        self.bank = None                    # the bank service of config `bank:`, if given
        self.http = None
        self.control = None
        self._signals = []                  # signal numbers recorded by the handlers
        self._wake = None
        self._tasks = []
        self._ring_at = {}                  # (board, port) -> epoch time of the first ring
        self._stop = False
        self.callers = loadsim.Stats()      # in-process simulated E1 callers' counts
        self._setup_metrics()

    # --- metrics --------------------------------------------------------------------------

    def _setup_metrics(self):
        r = self.registry = metrics.Registry()
        self.m_active = r.gauge("ivrd_active_calls", "Calls being handled now.")
        self.m_calls = r.counter("ivrd_calls_total", "Calls ended, by outcome.", ("outcome",))
        self.m_digits = r.counter("ivrd_digits_total", "DTMF digits received during calls.", ("board",))
        # Counters kept by the boards themselves, copied at each scrape.
        self.m_rejects = r.counter("ivrd_dtmf_rejected_short_total",
                                   "DTMF tones the receivers rejected as too short.", ("board",))
        self.m_underruns = r.counter("ivrd_underruns_total",
                                     "Ticks later than the buffering budget (MediaClock.late_ticks).", ("board",))
        self.m_lateness = r.gauge("ivrd_tick_max_lateness_seconds", "Largest lateness of a tick so far.", ("board",))
        self.m_board_errors = r.counter("ivrd_board_tick_errors_total", "Failed board ticks.", ("board",))
        self.m_alarms = r.counter("ivrd_alarms_total", "Channel alarms (out of service).", ("board",))
        self.m_tick_s = r.counter("ivrd_tick_seconds_total", "CPU time spent in board ticks.", ("board",))
        self.m_ticks = r.counter("ivrd_ticks_total", "Board ticks run.", ("board",))
        self.m_channels = r.gauge("ivrd_channels", "Channels by state.", ("board", "state"))
        self.m_cdr_errors = r.counter("ivrd_cdr_errors_total", "Call records the store failed to take.")
        self.m_reloads = r.counter("ivrd_config_reloads_total", "Configuration reloads, by result.", ("result",))
        self.m_draining = r.gauge("ivrd_draining", "1 while the daemon answers no new calls.")
        r.collectors.append(self._collect)

    def _collect(self):
        self.m_active.set(len(self.calls))
        self.m_draining.set(int(self.draining))
        for name, board in self.boards.items():
            if not board.is_open:
                continue
            engine = board._engine
            self.m_rejects.set(sum(engine.dtmf_stats(ch.number)["rejected_short"] for ch in board.channels), board=name)
            self.m_underruns.set(board.clock.late_ticks, board=name)
            self.m_lateness.set(board.clock.max_lateness, board=name)
            self.m_board_errors.set(board.errors, board=name)
            counts = collections.Counter(ch.state.value for ch in board.channels)
            for state in ChannelState:
                self.m_channels.set(counts.get(state.value, 0), board=name, state=state.value)

    def _time_ticks(self, name, board):
        # BoardBase._run calls self.tick(): an instance attribute wrapping it measures each
        # tick without touching the board layer.
        tick = board.tick

        def timed():
            t0 = time.process_time()
            try:
                tick()
            finally:
                self.m_tick_s.inc(time.process_time() - t0, board=name)
                self.m_ticks.inc(board=name)
        board.tick = timed

    # --- life cycle -------------------------------------------------------------------------

    async def run(self):
        loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, self._record_signal, sig)
        cfg = self.config
        try:
            os.makedirs(cfg.recordings, exist_ok=True)
            self.store = _cdr.open_store(cfg.cdr)
        except (OSError, ValueError) as exc:
            log.error("cannot open the call record store %s: %s", cfg.cdr, exc)
            return EXIT_FAILURE
        if cfg.bank is not None:
            try:
                self.bank = open_bank(cfg.bank)
            except Exception as exc:    # sqlite3, psycopg or OS errors, whichever the store is
                log.error("cannot open the bank service %s: %s", _without_password(cfg.bank), exc)
                await self._release()
                return EXIT_FAILURE
            _bank_actions_use(self.bank)
        try:
            self.control = await ControlServer(cfg.control_socket, self._commands(), cfg.control_group).start()
            self.http = await metrics.HttpServer(cfg.http_host, cfg.http_port,
                                                 {"/metrics": self._metrics_route, **web.routes(self.status)},
                                                 cfg.http_token).start()
        except (OSError, KeyError) as exc:
            log.error("cannot start: %s", exc)
            await self._release()
            return EXIT_FAILURE
        for b in cfg.boards:
            await self._open_board(b)
        if not self.boards:
            log.error("no board could be opened")
            await self._release()
            return EXIT_FAILURE
        log.info("ivrd running: %d board(s), control %s, http %s:%d", len(self.boards),
                 cfg.control_socket, cfg.http_host, self.http.port)
        if self.demo:
            self._tasks.append(loop.create_task(self._status_table()))
            if self.seconds is not None:
                loop.call_later(self.seconds, self._record_signal, signal.SIGINT)
        try:
            await self._main_loop()
            await self._drain()
        finally:
            for t in self._tasks:
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for board in self.boards.values():
                await board.close()
            await self._release()
        log.info("ivrd stopped")
        return EXIT_OK

    async def _release(self):
        """Close the servers, the call record store and the bank service (those opened)."""
        for server in (self.control, self.http):
            if server is not None:
                await server.close()
        self.store.close()
        if self.bank is not None:
            _bank_actions_use(None)
            self.bank.close()

    async def _open_board(self, b):
        loop = asyncio.get_running_loop()
        try:
            board = await drivers.open_board(b.url).open()
        except (OSError, VoiceBoardError, ValueError) as exc:
            # One board that fails does not stop the others.
            log.error("board %s (%s) failed to open: %s", b.name, b.url, exc)
            self.board_state[b.name] = f"failed: {exc}"
            return
        self.boards[b.name] = board
        self.board_state[b.name] = "running"
        self._time_ticks(b.name, board)
        for ch in board.channels:
            self._tasks.append(loop.create_task(self._watch(b.name, board, ch)))
        if isinstance(b.simulate, _config.WalkSimulate):
            s = b.simulate
            if s.process:
                loadsim.detach_exchange(board, s.walks, s.report or os.devnull, s.ports, s.pause, s.seed)
            else:
                self._tasks += loadsim.start_callers(board.exchange, s.ports, loadsim.load_walks(s.walks),
                                                     self.callers, s.pause, s.seed)
        elif b.simulate is not None:
            for port in b.simulate.ports:
                self._tasks.append(loop.create_task(_simulated_caller(board, port, b.simulate)))

    def _record_signal(self, sig):
        # Supervisor style: the handler only records; the main loop acts.
        self._signals.append(sig)
        self._wake.set()

    async def _main_loop(self):
        while not self._stop:
            await self._wake.wait()
            self._wake.clear()
            while self._signals:
                sig = self._signals.pop(0)
                if sig == signal.SIGHUP:
                    self.reload()
                else:
                    log.info("%s: stopping (draining calls for up to %.0f s)",
                             signal.Signals(sig).name, self.config.drain_timeout)
                    self._stop = True

    async def _drain(self):
        self.draining = True
        deadline = time.monotonic() + self.config.drain_timeout
        while self.calls and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for call, task in list(self.calls.values()):
            log.warning("drain timeout: cutting call %s on %s:%d", call.id, call.board, call.channel.number)
            call.outcome_override = "drain_timeout"
            if call.channel.state in IN_CALL:
                await call.channel.hangup()
        tasks = [t for _, t in self.calls.values()]
        if tasks:
            # A handler that ignores the hangup is cancelled; its record is still written.
            await asyncio.wait(tasks, timeout=DRAIN_GRACE_S)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # --- configuration ----------------------------------------------------------------------

    def reload(self):
        """Load the configuration file again; keep the old one if the new one is invalid.
        Returns (ok, message)."""
        if self.demo:
            return False, "the demo configuration is embedded: nothing to reload"
        try:
            new = _config.load(self.config.path)
        except ConfigError as exc:
            self.m_reloads.inc(result="rejected")
            log.error("reload rejected, keeping the running configuration: %s", exc)
            return False, str(exc)
        old = self.config
        fixed = [name for name, a, b in (("boards", old.boards, new.boards),
                                         ("http", (old.http_host, old.http_port, old.http_token),
                                          (new.http_host, new.http_port, new.http_token)),
                                         ("control", (old.control_socket, old.control_group),
                                          (new.control_socket, new.control_group)),
                                         ("bank", old.bank, new.bank))
                 if a != b]
        if fixed:
            log.warning("reload: %s changed; that takes a restart (the running ones stay)", ", ".join(fixed))
            new = dataclasses.replace(new, boards=old.boards, http_host=old.http_host, http_port=old.http_port,
                                      http_token=old.http_token, control_socket=old.control_socket,
                                      control_group=old.control_group, cdr=old.cdr, bank=old.bank)
        self.config = new       # one assignment: a call sees the old or the new routes, never a mix
        self.generation += 1
        if (new.log_format, new.log_file) != (old.log_format, old.log_file):
            logs.setup(new.log_format, new.log_level, new.log_file)
        else:
            logs.set_level(new.log_level)
        self.m_reloads.inc(result="applied")
        log.info("configuration reloaded (generation %d, %d routes)", self.generation, len(new.routes))
        return True, f"configuration reloaded (generation {self.generation})"

    # --- calls --------------------------------------------------------------------------------

    async def _watch(self, name, board, ch):
        """Per channel: answer offered calls, count digits and alarms."""
        spec = next(b for b in self.config.boards if b.name == name)
        key = (name, ch.number)
        while True:
            ev = await ch.events.get()
            if ev.kind in ("ring", "offered"):
                # A digital trunk offers a call once, after its register phase (DNIS and ANI
                # known): it is answered at once; answer_on_ring counts analog rings.
                offered = ev.kind == "offered"
                if offered or ev.data == 1 or key not in self._ring_at:
                    self._ring_at[key] = time.time()
                if ((offered or ev.data >= spec.answer_on_ring) and ch.state is ChannelState.RINGING
                        and not self.draining and not self._busy(name, ch)):
                    self._start_call(name, ch)
            elif ev.kind == "digit":
                self.m_digits.inc(board=name)
            elif ev.kind == "alarm":
                self.m_alarms.inc(board=name)
                log.warning("channel %s:%d: alarm %s", name, ch.number, ev.data)
            elif ev.kind == "state" and ev.data[1] is ChannelState.IDLE:
                self._ring_at.pop(key, None)

    def _busy(self, name, ch):
        return any(c.board == name and c.channel is ch for c, _ in self.calls.values())

    def _start_call(self, name, ch):
        cfg = self.config           # the version this call keeps, whatever reloads come
        route = cfg.route_for(name, ch.number, ch.dnis)
        if route is None:
            log.warning("channel %s:%d: no route for DNIS %r: not answered", name, ch.number, ch.dnis)
            return
        call = Call(name, ch, route, self._ring_at.get((name, ch.number), time.time()),
                    sensitive=route.sensitive, recordings=cfg.recordings)
        ctx = contextvars.copy_context()
        ctx.run(logs.call_id.set, call.id)
        task = asyncio.get_running_loop().create_task(self._run_call(call), context=ctx)
        self.calls[call.id] = (call, task)

    async def _run_call(self, call):
        ch = call.channel
        outcome, error = "error", ""
        try:
            log.info("call on %s:%d from %r to %r: %s", call.board, ch.number, call.ani, call.dnis,
                     call.route.version)
            await ch.answer()
            call.answer = time.time()
            outcome = str(await call.route.handler(ch, call))
        except asyncio.CancelledError:
            outcome, error = "error", "cancelled"
            raise
        except Exception as exc:
            # A failing handler ends its own call only.
            error = f"{type(exc).__name__}: {exc}"
            log.exception("call handler %s failed", call.route.handler_name)
        finally:
            try:
                if ch.state in IN_CALL:
                    await ch.hangup()
            except Exception:
                log.exception("hangup after the call failed")
            outcome = call.outcome_override or outcome
            await self._finish(call, outcome, error)

    async def _finish(self, call, outcome, error):
        rec = _cdr.Record(id=call.id, board=call.board, channel=call.channel.number, start=call.start,
                          end=time.time(), outcome=outcome, ani=call.ani, dnis=call.dnis,
                          answer=call.answer, handler=call.route.handler_name, version=call.route.version,
                          flow=call.flow or "", node_path=list(call.node_path), keys=call.typed,
                          recording=call.recording, error=error)
        try:
            await asyncio.shield(self.store.write(rec))     # the record first, in its own transaction
        except Exception:
            self.m_cdr_errors.inc()
            log.exception("call record %s could not be stored", call.id)
        self.calls.pop(call.id, None)
        self.m_calls.inc(outcome=outcome)
        self.recent.append(rec)
        self.ended.append(rec.end)
        log.info("call ended: %s", outcome)

    # --- status and control ----------------------------------------------------------------------

    def _channel_id(self, name, number):
        return f"{name}:{number}"

    def _find_channel(self, text):
        name, sep, port = str(text).rpartition(":")
        if not sep:
            if len(self.boards) != 1:
                raise CommandError(f"channel {text!r}: say which board, as BOARD:PORT ({', '.join(self.boards)})")
            name = next(iter(self.boards))
        board = self.boards.get(name)
        if board is None:
            raise CommandError(f"channel {text!r}: no board {name!r} (boards: {', '.join(self.boards)})")
        try:
            return name, board.channel(int(port))
        except ValueError:
            raise CommandError(f"channel {text!r}: port must be 0 to {len(board.channels) - 1}") from None

    def calls_per_minute(self):
        now = time.time()
        while self.ended and self.ended[0] < now - 60:
            self.ended.popleft()
        return len(self.ended)

    def status(self):
        channels = []
        active = {(c.board, c.channel.number): c for c, _ in self.calls.values()}
        for name, board in self.boards.items():
            for ch in board.channels:
                call = active.get((name, ch.number))
                channels.append({"id": self._channel_id(name, ch.number), "board": name, "port": ch.number,
                                 "state": ch.state.value, "call": call.summary() if call else None})
        outcomes = {"/".join(k): v for k, v in self.m_calls.values.items()}
        errors = outcomes.get("error", 0)
        return {
            "pid": os.getpid(), "config": self.config.path, "generation": self.generation,
            "started": _cdr.iso(self.started), "uptime": round(time.time() - self.started, 1),
            "draining": self.draining, "http": f"{self.config.http_host}:{self.http.port if self.http else 0}",
            "cdr": self.config.cdr,
            "boards": [{"name": n, "state": s,
                        "late_ticks": self.boards[n].clock.late_ticks if n in self.boards else 0}
                       for n, s in self.board_state.items()],
            "channels": channels,
            "counters": {"active_calls": len(self.calls), "calls": sum(outcomes.values()),
                         "calls_per_minute": self.calls_per_minute(),
                         "digits": int(sum(self.m_digits.values.values())), "errors": errors,
                         "cdr_errors": int(self.m_cdr_errors.get())},
            "outcomes": outcomes,
            "recent": [self._record_json(r) for r in self.recent],
        }

    @staticmethod
    def _record_json(rec):
        d = dataclasses.asdict(rec)
        for key in ("start", "answer", "end"):
            d[key] = _cdr.iso(d[key])
        return d

    def _metrics_route(self, query):
        return 200, metrics.CONTENT_TYPE, self.registry.render().encode()

    def _commands(self):
        async def status(req):
            s = self.status()
            return {k: v for k, v in s.items() if k not in ("channels", "recent")}

        async def channels(req):
            return {"channels": self.status()["channels"]}

        async def calls(req):
            return {"calls": [c.summary() for c, _ in self.calls.values()],
                    "recent": [self._record_json(r) for r in self.recent]}

        async def hangup(req):
            found = self.calls.get(str(req.get("call", "")))
            if found is None:
                raise CommandError(f"no call {req.get('call')!r} in progress (ivrctl calls lists them)")
            call, _ = found
            call.outcome_override = "operator_hangup"
            if call.channel.state in IN_CALL:
                await call.channel.hangup()
            return {"call": call.id}

        async def block(req):
            name, ch = self._find_channel(req.get("channel"))
            if ch.state is not ChannelState.OUT_OF_SERVICE:
                for c, _ in self.calls.values():
                    if c.channel is ch:
                        c.outcome_override = "blocked"
                await ch.block("blocked by operator")
            log.info("channel %s:%d blocked", name, ch.number)
            return {"channel": self._channel_id(name, ch.number), "state": ch.state.value}

        async def unblock(req):
            name, ch = self._find_channel(req.get("channel"))
            if ch.state is not ChannelState.OUT_OF_SERVICE:
                raise CommandError(f"channel {name}:{ch.number} is not blocked ({ch.state.value})")
            await ch.unblock()
            log.info("channel %s:%d unblocked", name, ch.number)
            return {"channel": self._channel_id(name, ch.number), "state": ch.state.value}

        async def reload(req):
            ok, message = self.reload()
            if not ok:
                raise CommandError(message)
            return {"message": message, "generation": self.generation}

        async def drain(req):
            self.draining = True
            log.info("draining: no new calls are answered")
            return {"active_calls": len(self.calls)}

        async def resume(req):
            if self._stop:
                raise CommandError("the daemon is stopping")
            self.draining = False
            log.info("answering calls again")
            # Calls that rang while draining are answered now, not at their next ring.
            for spec in self.config.boards:
                for ch in getattr(self.boards.get(spec.name), "channels", ()):
                    if (ch.state is ChannelState.RINGING and ch.ring_count >= spec.answer_on_ring
                            and not self._busy(spec.name, ch)):
                        self._start_call(spec.name, ch)
            return {}

        async def stop(req):
            self._stop = True
            self._wake.set()
            return {"active_calls": len(self.calls)}

        async def cdr_export(req):
            since = req.get("since")
            try:
                when = _cdr.parse_since(since) if since else None
            except ValueError:
                raise CommandError(f"--since {since!r}: use 2026-11-25, 2026-11-25T08:00 or 15m/2h/3d") from None
            rows = _cdr.read(self.store.path, since=when)
            out = io.StringIO()
            _cdr.write_csv(rows, out)
            return {"csv": out.getvalue(), "count": len(rows)}

        # Command table of the control socket (explicit: nothing is looked up by name).
        return {"status": status, "channels": channels, "calls": calls, "hangup": hangup,
                "block": block, "unblock": unblock, "reload": reload, "drain": drain,
                "resume": resume, "stop": stop, "cdr_export": cdr_export}

    # --- demo ----------------------------------------------------------------------------------

    async def _status_table(self):
        while True:
            self.out.write("\x1b[H\x1b[2J" + self.render_table() + "\n")
            self.out.flush()
            await asyncio.sleep(STATUS_REFRESH_S)

    def render_table(self):
        """The live status table of --demo (plain text; ANSI only to clear the screen)."""
        s = self.status()
        c = s["counters"]
        lines = [f"ivrd --demo   pid {s['pid']}   up {s['uptime']:.0f} s   http://{s['http']}/   "
                 f"{'DRAINING' if s['draining'] else 'answering'}",
                 "",
                 f"{'CHANNEL':<10}{'STATE':<16}{'CALL':<18}{'ANI':<14}{'STEP':<12}{'KEYS':<12}"]
        for ch in s["channels"]:
            call = ch["call"] or {}
            lines.append(f"{ch['id']:<10}{ch['state']:<16}{call.get('id', ''):<18}{call.get('ani', ''):<14}"
                         f"{call.get('step', ''):<12}{call.get('keys', ''):<12}")
        lines += ["", f"calls {c['calls']}   per minute {c['calls_per_minute']}   active {c['active_calls']}   "
                      f"digits {c['digits']}   errors {c['errors']}",
                  "outcomes " + ", ".join(f"{k} {v}" for k, v in sorted(s["outcomes"].items())),
                  self._callers_line(),
                  "", "Ctrl-C drains the calls and exits."]
        return "\n".join(lines)

    def _callers_line(self):
        c = self.callers.as_dict()
        if not c["calls"]:
            return ""
        lost = sum(c["lost"].values())
        return (f"simulated callers: calls {c['calls']}   walked through {c['completed']}   lost {lost}   "
                f"keys sent {c['digits_sent']}   key-to-prompt-stop p50 {c['latency_p50_ms']} ms "
                f"p99 {c['latency_p99_ms']} ms")


async def _simulated_caller(board, number, sim):
    """A person on exchange port ``number`` calling again and again: waits, rings the board,
    types a few keys and "#", listens to the echo, hangs up (all as line signals and audio)."""
    port = board.exchange.ports[number]
    rng = random.Random(sim.seed * 1000 + number)
    while True:
        await asyncio.sleep(rng.uniform(*sim.pause))
        if port.state is not PortState.IDLE:
            continue
        cid = None
        if sim.caller_id != "none":
            cid = callerid.CallerId(number=f"8800{number:04d}",
                                    format="dtmf" if sim.caller_id == "dtmf" else "mdmf")
        if not await port.call(cid, cid_mode="dtmf" if sim.caller_id == "dtmf" else "bell202", max_rings=4):
            continue
        try:
            await port.wait(0.2)
            digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(*sim.digits)))
            await port.press(digits + "#")
            # The echo: 100 ms per digit (dtmf_samples 50 ms on / 50 ms off) plus a margin.
            await port.wait(0.1 * len(digits) + 0.5)
            await port.hangup()
        except CallEnded:
            pass
        await port.wait_idle()


def _parser():
    p = argparse.ArgumentParser(prog="ivrd", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    p.add_argument("-c", "--config", metavar="FILE", help="configuration file (YAML)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="validate the configuration and exit")
    mode.add_argument("--print-sample-config", action="store_true", help="print a commented sample configuration")
    mode.add_argument("--demo", action="store_true", help="run the embedded demo until Ctrl-C")
    p.add_argument("--seconds", type=float, metavar="S", help="with --demo: stop after S seconds, as on Ctrl-C")
    mode.add_argument("--export-cdr", action="store_true", help="write call records as CSV and exit")
    p.add_argument("--since", metavar="WHEN", help="with --export-cdr: records from WHEN on")
    p.add_argument("-o", "--output", metavar="FILE", help="with --export-cdr: write to FILE (default stdout)")
    return p


def _say(message, stream=None):
    (stream or sys.stderr).write(f"ivrd: {message}\n")


def _check_report(cfg):
    ports = 0
    for b in cfg.boards:
        ports += len(drivers.open_board(b.url).channels)
    return (f"{cfg.path}: OK: {len(cfg.boards)} board(s), {ports} channel(s), {len(cfg.routes)} route(s) "
            f"({', '.join(r.version for r in cfg.routes)}); cdr {cfg.cdr}; control {cfg.control_socket}; "
            f"http {cfg.http_host}:{cfg.http_port}")


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.print_sample_config:
        sys.stdout.write(_config.SAMPLE)
        return EXIT_OK
    if (args.since or args.output) and not args.export_cdr:
        _say("--since and --output go with --export-cdr")
        return EXIT_USAGE
    if args.seconds is not None and (not args.demo or args.seconds <= 0):
        _say("--seconds goes with --demo and must be more than 0")
        return EXIT_USAGE
    if args.demo:
        return _demo(args.seconds)
    if not args.config:
        _say("no configuration: use -c FILE (ivrd --print-sample-config prints one), or --demo")
        return EXIT_NOT_CONFIGURED
    try:
        cfg = _config.load(args.config)
    except ConfigError as exc:
        _say(str(exc))
        return EXIT_NOT_CONFIGURED
    if args.check:
        sys.stdout.write(_check_report(cfg) + "\n")
        return EXIT_OK
    if args.export_cdr:
        return _export(cfg, args.since, args.output)
    try:
        logs.setup(cfg.log_format, cfg.log_level, cfg.log_file)
    except OSError as exc:
        _say(f"{args.config}: log.file: {exc}")
        return EXIT_NOT_CONFIGURED
    return asyncio.run(Daemon(cfg).run())


def _export(cfg, since, output):
    try:
        when = _cdr.parse_since(since) if since else None
    except ValueError:
        _say(f"--since {since!r}: use 2026-11-25, 2026-11-25T08:00, or 15m / 2h / 3d")
        return EXIT_USAGE
    path = cfg.cdr[len("sqlite:"):]
    if not os.path.exists(path):
        _say(f"{path}: no call records yet")
        return EXIT_FAILURE
    rows = _cdr.read(path, since=when)
    if output:
        with open(output, "w", encoding="utf-8", newline="") as f:
            _cdr.write_csv(rows, f)
    else:
        _cdr.write_csv(rows, sys.stdout)
    return EXIT_OK


def _bank_actions_use(bank):
    # Imported here: importing the module registers the bank.* flow actions, which only a
    # daemon configured with a bank service offers.
    from ivr.bank import actions
    actions.use(bank)


def _without_password(url):
    """A store URL fit for a log line: postgresql://user:SECRET@host/db -> user:***@host."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{userinfo.split(':', 1)[0]}:***@{host}").geturl()


def _demo(seconds=None):
    # The directory stays: its cdr.sqlite, ivrd.log and bank.db are the demo's results.
    tmp = tempfile.mkdtemp(prefix="ivrd-demo-")
    _config.demo_bank(tmp)
    cfg = _config.demo(tmp)
    logs.setup(cfg.log_format, cfg.log_level, cfg.log_file)
    daemon = Daemon(cfg, demo=True, out=sys.stdout, seconds=seconds)
    status = asyncio.run(daemon.run())
    sys.stdout.write("\n" + daemon.render_table() + f"\nbank store: {cfg.bank}\n"
                     f"call records: {cfg.cdr[len('sqlite:'):]}\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
