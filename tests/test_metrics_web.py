"""/metrics scraped over HTTP from a running ivrd, the token rule, and the monitoring page
rendered by headless Chromium (Debian's chromium package)."""
import html.parser
import http.client
import shutil
import subprocess
import tempfile

from ivr import metrics
from test_daemon import config_text, daemon  # noqa: F401  (daemon is a fixture)

CHROMIUM = shutil.which("chromium")


def get(port, path, headers=None, method="GET", host="127.0.0.1"):
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type"), r.read().decode()
    finally:
        conn.close()


def http_port(d):
    return int(d.request("status")["http"].rsplit(":", 1)[1])


def test_metrics_count_calls_digits_ticks_channels_and_alarms(daemon):
    d = daemon(config_text(ports=3, sim_ports="0-1", pause=(0.1, 0.2)))
    d.wait(lambda: len(d.records()) >= 2)
    assert d.ctl("block", "main:2").returncode == 0
    status, ctype, body = get(http_port(d), "/metrics")
    assert status == 200 and ctype == metrics.CONTENT_TYPE
    m = metrics.parse(body)
    completed = m[("ivrd_calls_total", (("outcome", "completed"),))]
    assert completed >= 2
    assert m[("ivrd_digits_total", (("board", "main"),))] >= 2 * completed    # 2-3 keys + "#" per call
    assert m[("ivrd_ticks_total", (("board", "main"),))] > 20
    assert m[("ivrd_tick_seconds_total", (("board", "main"),))] > 0
    assert ("ivrd_underruns_total", (("board", "main"),)) in m
    assert ("ivrd_dtmf_rejected_short_total", (("board", "main"),)) in m
    assert m[("ivrd_alarms_total", (("board", "main"),))] == 1                  # the block
    states = {labels[1][1]: v for (name, labels), v in m.items() if name == "ivrd_channels"}
    assert sum(states.values()) == 3 and states["out_of_service"] == 1
    assert 0 <= m[("ivrd_active_calls", ())] <= 2
    assert "# TYPE ivrd_calls_total counter" in body and "# HELP ivrd_active_calls" in body
    assert d.stop() == 0


def test_token_required_off_loopback(daemon, tmp_path):
    d = daemon(config_text(sim_ports="", http="0.0.0.0:0", token="s3cret"))
    port = http_port(d)
    assert get(port, "/metrics")[0] == 401
    assert get(port, "/metrics", {"Authorization": "Bearer wrong"})[0] == 401
    assert get(port, "/metrics", {"Authorization": "Bearer s3cret"})[0] == 200
    assert get(port, "/api/status?token=s3cret")[0] == 200
    assert get(port, "/nothing?token=s3cret")[0] == 404
    assert get(port, "/metrics?token=s3cret", method="POST")[0] == 405
    assert d.stop() == 0


class _Grid(html.parser.HTMLParser):
    """Channel cells (data-channel, data-state) and counters of the rendered page."""

    def __init__(self):
        super().__init__()
        self.cells, self.counters, self._in_counter = {}, [], False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-channel" in a:
            self.cells[a["data-channel"]] = a["data-state"]
        self._in_counter = a.get("class") == "counter"

    def handle_data(self, data):
        if self._in_counter:
            self.counters.append(data)
            self._in_counter = False


def render(url):
    with tempfile.TemporaryDirectory(prefix="ivrd-chromium-") as profile:
        out = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                              "--disable-background-networking", "--disable-component-update", "--disable-sync",
                              "--no-first-run", f"--user-data-dir={profile}",
                              # Lets the page's fetch and first redraws run before the DOM is dumped.
                              "--virtual-time-budget=3000", "--dump-dom", url],
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    grid = _Grid()
    grid.feed(out.stdout)
    return grid


def test_page_in_headless_chromium_shows_the_live_channel_grid(daemon):
    assert CHROMIUM, "needs Debian's chromium (scripts/setup.sh installs it)"
    d = daemon(config_text(ports=3, sim_ports="0", pause=(0.1, 0.2), http="0.0.0.0:0", token="t0k"))
    d.wait(lambda: d.records())
    d.ctl("block", "main:2")
    port = http_port(d)
    page = render(f"http://127.0.0.1:{port}/?token=t0k")
    assert set(page.cells) == {"main:0", "main:1", "main:2"}
    assert page.cells["main:2"] == "out_of_service" and page.cells["main:1"] == "idle"
    assert page.cells["main:0"] in ("idle", "ringing", "connected")
    calls = next(c for c in page.counters if c.startswith("calls: "))
    assert int(calls.split(": ")[1]) >= 1
    # Without the token nothing is served: no grid.
    assert render(f"http://127.0.0.1:{port}/").cells == {}
    assert d.stop() == 0
