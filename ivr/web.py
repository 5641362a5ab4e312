"""The read-only monitoring page of ivrd: a grid of channels with their live state and
current step, counters, and the most recent calls.

The page is static HTML with a small script that polls ``/api/status`` (the same JSON
``ivrctl status --json`` prints) once a second and redraws; it sends the token it was opened
with (``/?token=...``) along. Served by the daemon's own HTTP server (:mod:`ivr.metrics`).
"""
import json

POLL_MS = 1000      # the page refreshes once a second

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ivrd</title>
<style>
body{font:14px system-ui,sans-serif;margin:1em;background:#fafafa;color:#222}
h1{font-size:18px;margin:0 0 .5em}
#grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:6px}
.ch{border:1px solid #999;border-radius:4px;padding:6px;background:#fff}
.ch b{display:block}
.idle{background:#e8f5e9}.ringing{background:#fff8e1}.connected{background:#e3f2fd}
.dialing{background:#ede7f6}.out_of_service{background:#ffebee}
table{border-collapse:collapse;margin-top:1em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}
#counters span{margin-right:1.5em}
</style></head>
<body><h1>ivrd <span id="mode"></span></h1>
<div id="counters"></div>
<h2>Channels</h2><div id="grid"></div>
<h2>Recent calls</h2>
<table><thead><tr><th>call</th><th>channel</th><th>ANI</th><th>start</th><th>outcome</th><th>path</th></tr></thead>
<tbody id="calls"></tbody></table>
<script>
"use strict";
const token = new URLSearchParams(location.search).get("token");
const api = "api/status" + (token ? "?token=" + encodeURIComponent(token) : "");
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function draw(s) {
  document.getElementById("mode").textContent = s.draining ? "(draining)" : "";
  const c = document.getElementById("counters");
  c.replaceChildren();
  for (const [k, v] of Object.entries(s.counters)) c.append(el("span", "counter", k + ": " + v));
  const g = document.getElementById("grid");
  g.replaceChildren();
  for (const ch of s.channels) {
    const d = el("div", "ch " + ch.state);
    d.dataset.channel = ch.id;
    d.dataset.state = ch.state;
    d.append(el("b", "", ch.id), el("span", "state", ch.state));
    if (ch.call) d.append(el("div", "step", ch.call.step + " " + ch.call.keys));
    g.append(d);
  }
  const t = document.getElementById("calls");
  t.replaceChildren();
  for (const r of s.recent.slice().reverse()) {
    const tr = el("tr");
    for (const v of [r.id, r.board + ":" + r.channel, r.ani, r.start, r.outcome, r.node_path.join(">")])
      tr.append(el("td", "", v));
    t.append(tr);
  }
}
async function poll() {
  try {
    const r = await fetch(api, {cache: "no-store"});
    if (r.ok) draw(await r.json());
  } catch (e) { document.getElementById("mode").textContent = "(no connection)"; }
  setTimeout(poll, %(poll)d);
}
poll();
</script></body></html>
""" % {"poll": POLL_MS}


def routes(status):
    """HTTP routes of the page; ``status()`` returns the daemon's status dict."""
    def page(query):
        return 200, "text/html; charset=utf-8", PAGE.encode()

    def api(query):
        return 200, "application/json", json.dumps(status()).encode()

    return {"/": page, "/api/status": api}
