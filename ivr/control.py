"""The control socket of ivrd: a UNIX stream socket speaking JSON lines.

Each request is one line ``{"cmd": NAME, ...arguments}``; each answer one line
``{"ok": true, ...}`` or ``{"ok": false, "error": "one line"}``. A connection may send
several requests. The socket is created with mode 0660 (owner and group: put operators in
the daemon's group, or set control.group); ivrctl is the client (:mod:`ivr.ctl`).

Commands are an explicit table (name -> coroutine function of the request), handed in by the
daemon; an unknown command or a bad argument is an error answer, never a dropped
connection.
"""
import asyncio
import grp
import json
import logging
import os

log = logging.getLogger("ivrd.control")

MODE = 0o660
MAX_LINE = 65536        # bytes in one request (asyncio's default stream limit)


class CommandError(Exception):
    """A request that cannot be done; the message goes back to the client."""


class ControlServer:
    def __init__(self, path, commands, group=None):
        self.path = path
        self.commands = commands
        self.group = group
        self._server = None

    async def start(self):
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        if os.path.exists(self.path):
            if await _alive(self.path):
                raise OSError(f"control socket {self.path} is in use: is another ivrd running?")
            os.unlink(self.path)        # left over from a daemon that died
        # Created with the final mode: no window in which the socket is wider open.
        old = os.umask(0o117)
        try:
            self._server = await asyncio.start_unix_server(self._serve, self.path, limit=MAX_LINE)
        finally:
            os.umask(old)
        os.chmod(self.path, MODE)
        if self.group:
            os.chown(self.path, -1, grp.getgrnam(self.group).gr_gid)
        return self

    async def close(self):
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    async def _serve(self, reader, writer):
        try:
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    await self._send(writer, {"ok": False, "error": f"request longer than {MAX_LINE} bytes"})
                    return
                if not line:
                    return
                await self._send(writer, await self.handle(line))
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def handle(self, line):
        try:
            request = json.loads(line)
            if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
                raise ValueError
        except ValueError:
            return {"ok": False, "error": "a request is one JSON object per line with a \"cmd\""}
        command = self.commands.get(request["cmd"])
        if command is None:
            return {"ok": False, "error": f"unknown command {request['cmd']!r} "
                                          f"(known: {', '.join(sorted(self.commands))})"}
        try:
            return {"ok": True, **(await command(request))}
        except CommandError as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:
            log.exception("control: %s failed", request["cmd"])
            return {"ok": False, "error": f"{request['cmd']} failed: {exc}"}

    @staticmethod
    async def _send(writer, answer):
        writer.write(json.dumps(answer).encode() + b"\n")
        await writer.drain()


async def _alive(path):
    try:
        _, writer = await asyncio.open_unix_connection(path)
    except OSError:
        return False
    writer.close()
    return True
