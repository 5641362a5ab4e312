"""Prometheus metrics (text exposition format 0.0.4) and the small HTTP server of ivrd.

The server is plain asyncio (no framework): GET only, one request per connection, routes are
a dict of path -> function(query) -> (status, content type, body). It serves /metrics from
here and the monitoring page from :mod:`ivr.web`. When a token is set, every request must
carry it (``?token=...`` or ``Authorization: Bearer ...``); the configuration requires one on
any address but loopback.
"""
import asyncio
import hmac
import logging
import math
import urllib.parse

log = logging.getLogger("ivrd.http")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"   # Prometheus text format 0.0.4
MAX_REQUEST = 8192          # bytes of request line + headers accepted (nginx's default 8k buffer)
REQUEST_TIMEOUT = 5.0       # seconds a client gets to send its request (a scrape sends it at once)


def _escape(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(v):
    if isinstance(v, float) and math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v)) if isinstance(v, float) else str(int(v))


class Metric:
    """A counter or gauge family; samples keyed by a tuple of label values."""

    def __init__(self, name, kind, help, labels=()):
        self.name, self.kind, self.help, self.labels = name, kind, help, tuple(labels)
        self.values = {}

    def inc(self, amount=1, **labels):
        key = self._key(labels)
        self.values[key] = self.values.get(key, 0) + amount

    def set(self, value, **labels):
        self.values[self._key(labels)] = value

    def get(self, **labels):
        return self.values.get(self._key(labels), 0)

    def _key(self, labels):
        if set(labels) != set(self.labels):
            raise ValueError(f"{self.name}: labels {sorted(labels)} != {sorted(self.labels)}")
        return tuple(str(labels[k]) for k in self.labels)

    def render(self):
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        for key, value in sorted(self.values.items()):
            if self.labels:
                inner = ",".join(f'{k}="{_escape(v)}"' for k, v in zip(self.labels, key))
                lines.append(f"{self.name}{{{inner}}} {_number(value)}")
            else:
                lines.append(f"{self.name} {_number(value)}")
        return lines


class Registry:
    """Metric families plus collectors run before each scrape (to read board counters)."""

    def __init__(self):
        self.metrics = {}
        self.collectors = []

    def counter(self, name, help, labels=()):
        return self._add(Metric(name, "counter", help, labels))

    def gauge(self, name, help, labels=()):
        return self._add(Metric(name, "gauge", help, labels))

    def _add(self, metric):
        self.metrics[metric.name] = metric
        return metric

    def render(self):
        for collect in self.collectors:
            collect()
        lines = []
        for m in self.metrics.values():
            lines.extend(m.render())
        return "\n".join(lines) + "\n"


def parse(text):
    """{(name, ((label, value), ...)): float} from exposition text (for tests and tools)."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, rest = head.partition("{")
        labels = ()
        if rest:
            pairs = []
            for item in rest.rstrip("}").split('",'):
                k, _, v = item.partition("=")
                pairs.append((k, v.strip('"')))
            labels = tuple(pairs)
        out[(name, labels)] = float(value)
    return out


class HttpServer:
    """GET-only HTTP/1.1 server on asyncio; ``routes`` maps a path to a function of the
    parsed query returning (status, content type, body bytes)."""

    def __init__(self, host, port, routes, token=None):
        self.host, self.port, self.routes, self.token = host, port, routes, token
        self._server = None

    async def start(self):
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self):
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _authorised(self, query, headers):
        if not self.token:
            return True
        given = query.get("token", [""])[-1]
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        return hmac.compare_digest(given.encode(), self.token.encode())

    async def _serve(self, reader, writer):
        try:
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                return
            status, ctype, body = self._respond(head[:MAX_REQUEST])
            reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
                      405: "Method Not Allowed", 500: "Internal Server Error"}[status]
            writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                         f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\n"
                         f"X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n".encode() + body)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def _respond(self, head):
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return 400, "text/plain", b"bad request\n"
        method, target, _ = parts
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        url = urllib.parse.urlsplit(target)
        query = urllib.parse.parse_qs(url.query)
        if method != "GET":
            return 405, "text/plain", b"GET only\n"
        if not self._authorised(query, headers):
            return 401, "text/plain", b"token required\n"
        route = self.routes.get(url.path)
        if route is None:
            return 404, "text/plain", b"not found\n"
        try:
            return route(query)
        except Exception:
            log.exception("http: %s failed", url.path)
            return 500, "text/plain", b"internal error\n"
