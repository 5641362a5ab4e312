"""ivrctl: operate a running ivrd over its control socket.

Examples:
    ivrctl status                       daemon, boards and counters
    ivrctl channels                     every channel with its state and call
    ivrctl calls                        calls in progress and the most recent ones
    ivrctl hangup 3f2a9c0d1e4b5a67      end a call (ids from `ivrctl calls`)
    ivrctl block main:3                 take channel 3 of board "main" out of service
    ivrctl unblock main:3               ... and back
    ivrctl reload                       load the configuration again (like SIGHUP)
    ivrctl drain                        answer no new calls (calls in progress go on)
    ivrctl resume                       answer calls again
    ivrctl stop                         drain, then exit (like SIGTERM)
    ivrctl cdr export --since 2h        call records of the last two hours as CSV
    ivrctl -s /tmp/ivrd.sock --json status

The socket is control.socket of the configuration (-c FILE reads it from there), or -s, or
$IVRD_SOCKET, or /run/ivrd/ivrd.sock. Exit status: 0 done, 1 the daemon refused (the reason
is printed), 2 invalid arguments, 6 unreadable configuration, 7 the daemon is not running.
"""
import argparse
import json
import os
import socket
import sys

from ivr import config as _config
from voiceboard.errors import ConfigError

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_NOT_CONFIGURED, EXIT_NOT_RUNNING = 0, 1, 2, 6, 7   # LSB
TIMEOUT_S = 10.0            # an answer takes milliseconds; this only catches a hung daemon


class NotRunning(Exception):
    pass


def request(path, cmd, **args):
    """Send one command, return the answer dict; NotRunning if nothing listens at ``path``."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT_S)
    try:
        try:
            s.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            raise NotRunning(f"ivrd is not running (no daemon on {path})") from None
        except PermissionError:
            raise NotRunning(f"ivrd control socket {path}: permission denied (join the daemon's group)") from None
        s.sendall(json.dumps({"cmd": cmd, **args}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                raise NotRunning(f"ivrd closed the connection on {path}")
            data += chunk
    finally:
        s.close()
    return json.loads(data)


def _parser():
    doc = __doc__.split("\n\n")
    p = argparse.ArgumentParser(prog="ivrctl", description=doc[0], epilog="\n\n".join(doc[1:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-s", "--socket", help="control socket path")
    p.add_argument("-c", "--config", metavar="FILE", help="take the socket path from this ivrd configuration")
    p.add_argument("--json", action="store_true", help="print the daemon's answer as JSON")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sub.add_parser("status", help="daemon, boards and counters")
    sub.add_parser("channels", help="channels, states, calls")
    sub.add_parser("calls", help="calls in progress and recent calls")
    sub.add_parser("hangup", help="end a call").add_argument("call", help="call id")
    sub.add_parser("block", help="take a channel out of service").add_argument("channel", help="BOARD:PORT")
    sub.add_parser("unblock", help="return a channel to service").add_argument("channel", help="BOARD:PORT")
    sub.add_parser("reload", help="reload the configuration")
    sub.add_parser("drain", help="answer no new calls")
    sub.add_parser("resume", help="answer calls again")
    sub.add_parser("stop", help="drain and exit")
    cdr = sub.add_parser("cdr", help="call records").add_subparsers(dest="cdr_command", metavar="export",
                                                                    required=True)
    export = cdr.add_parser("export", help="call records as CSV")
    export.add_argument("--since", metavar="WHEN", help="2026-11-25, 2026-11-25T08:00, or 15m / 2h / 3d ago")
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default stdout)")
    return p


def _socket_path(args):
    if args.socket:
        return args.socket
    if args.config:
        return _config.load(args.config).control_socket
    return os.environ.get("IVRD_SOCKET") or _config.DEFAULT_SOCKET


def _table(rows, columns):
    widths = [max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in columns]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths))]
    for r in rows:
        lines.append("  ".join(str(r.get(c, "")).ljust(w) for c, w in zip(columns, widths)).rstrip())
    return "\n".join(lines)


def _show(command, answer):
    if command == "status":
        c = answer["counters"]
        lines = [f"ivrd pid {answer['pid']}, up {answer['uptime']:.0f} s, configuration generation "
                 f"{answer['generation']} ({answer['config']}){', DRAINING' if answer['draining'] else ''}",
                 f"http {answer['http']}, call records {answer['cdr']}"]
        lines += [f"board {b['name']}: {b['state']}, {b['late_ticks']} late ticks" for b in answer["boards"]]
        lines.append(", ".join(f"{k.replace('_', ' ')} {v}" for k, v in c.items()))
        if answer["outcomes"]:
            lines.append("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(answer["outcomes"].items())))
        return "\n".join(lines)
    if command == "channels":
        rows = [{"channel": ch["id"], "state": ch["state"], "call": (ch["call"] or {}).get("id", ""),
                 "step": (ch["call"] or {}).get("step", ""), "ani": (ch["call"] or {}).get("ani", "")}
                for ch in answer["channels"]]
        return _table(rows, ("channel", "state", "call", "step", "ani"))
    if command == "calls":
        live = [{**c, "channel": f"{c['board']}:{c['channel']}"} for c in answer["calls"]]
        done = [{**r, "channel": f"{r['board']}:{r['channel']}"} for r in answer["recent"]]
        return ("in progress:\n" + _table(live, ("id", "channel", "ani", "dnis", "step", "since"))
                + "\nrecent:\n" + _table(done, ("id", "channel", "ani", "start", "outcome")))
    if command == "hangup":
        return f"call {answer['call']} hung up"
    if command in ("block", "unblock"):
        return f"channel {answer['channel']}: {answer['state']}"
    if command == "reload":
        return answer["message"]
    if command == "drain":
        return f"draining: no new calls; {answer['active_calls']} in progress"
    if command == "stop":
        return f"stopping after {answer['active_calls']} call(s) in progress"
    if command == "resume":
        return "answering calls"
    return json.dumps(answer, indent=2)


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        path = _socket_path(args)
    except ConfigError as exc:
        sys.stderr.write(f"ivrctl: {exc}\n")
        return EXIT_NOT_CONFIGURED
    cmd = args.command
    params = {}
    if cmd == "hangup":
        params["call"] = args.call
    elif cmd in ("block", "unblock"):
        params["channel"] = args.channel
    elif cmd == "cdr":
        cmd = "cdr_export"
        if args.since:
            params["since"] = args.since
    try:
        answer = request(path, cmd, **params)
    except NotRunning as exc:
        sys.stderr.write(f"ivrctl: {exc}\n")
        return EXIT_NOT_RUNNING
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"ivrctl: {path}: {exc}\n")
        return EXIT_REFUSED
    if not answer.get("ok"):
        sys.stderr.write(f"ivrctl: {answer.get('error', 'the daemon refused')}\n")
        return EXIT_REFUSED
    answer.pop("ok")
    if cmd == "cdr_export":
        if args.output:
            with open(args.output, "w", encoding="utf-8", newline="") as f:
                f.write(answer["csv"])
        else:
            sys.stdout.write(answer["csv"])
        return EXIT_OK
    sys.stdout.write((json.dumps(answer, indent=2) if args.json else _show(cmd, answer)) + "\n")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
