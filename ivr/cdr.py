"""Call records (CDRs): one row per call, in SQLite, exported as CSV.

A record is written as the call ends, in its own transaction, before anything else is done
with the call, so an accepted record survives a crash of any other part of the daemon. The
database runs in WAL mode (readers, such as ``ivrd --export-cdr``, never block the writer)
with ``synchronous=FULL`` (a committed record is on disk, not only in the OS cache).

Writes run on one worker thread with its own connection, so the event loop (and the boards'
ticks) never wait for the disk.
"""
import asyncio
import concurrent.futures
import csv
import dataclasses
import datetime
import json
import os
import sqlite3

FIELDS = ("id", "board", "channel", "ani", "dnis", "start", "answer", "end", "handler", "version",
          "flow", "node_path", "keys", "outcome", "recording", "error")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cdr (
    id TEXT PRIMARY KEY,
    board TEXT NOT NULL,
    channel INTEGER NOT NULL,
    ani TEXT,
    dnis TEXT,
    start REAL NOT NULL,        -- seconds since the epoch (UTC): the ring that offered the call
    answer REAL,
    "end" REAL NOT NULL,
    handler TEXT,
    version TEXT,
    flow TEXT,
    node_path TEXT,             -- JSON list of steps
    keys TEXT,                  -- what the caller typed, masked on sensitive routes
    outcome TEXT NOT NULL,
    recording TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS cdr_start ON cdr (start);
"""


@dataclasses.dataclass
class Record:
    id: str
    board: str
    channel: int
    start: float
    end: float
    outcome: str
    ani: str = ""
    dnis: str = ""
    answer: float = None
    handler: str = ""
    version: str = ""
    flow: str = ""
    node_path: list = dataclasses.field(default_factory=list)
    keys: str = ""
    recording: str = ""
    error: str = ""


def open_store(url):
    """The store for a CDR URL from the configuration ("sqlite:PATH")."""
    if not url.startswith("sqlite:"):
        raise ValueError(f"cdr store {url!r}: only sqlite:PATH is supported")
    return SqliteStore(url[len("sqlite:"):])


class SqliteStore:
    """Call records in a SQLite file (WAL)."""

    def __init__(self, path):
        self.path = path
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="cdr")
        self._db = self._pool.submit(self._connect).result()

    def _connect(self):
        db = sqlite3.connect(self.path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=5000")
        db.executescript(_SCHEMA)
        return db

    def _insert(self, rec):
        row = dataclasses.asdict(rec)
        row["node_path"] = json.dumps(rec.node_path)
        cols = ", ".join(f'"{f}"' for f in FIELDS)
        marks = ", ".join(f":{f}" for f in FIELDS)
        with self._db:      # one transaction per record
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(f"INSERT INTO cdr ({cols}) VALUES ({marks})", row)

    async def write(self, rec):
        """Commit one record (raises sqlite3.Error if the store fails)."""
        await asyncio.get_running_loop().run_in_executor(self._pool, self._insert, rec)

    def write_sync(self, rec):
        self._pool.submit(self._insert, rec).result()

    def close(self):
        if self._db is not None:
            self._pool.submit(self._db.close).result()
            self._db = None
        self._pool.shutdown()


def read(path, since=None, limit=None):
    """Records from the SQLite file at ``path`` (oldest first), as dicts; ``since`` in epoch
    seconds; ``limit`` keeps the newest that many."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        db.row_factory = sqlite3.Row
        sql = "SELECT * FROM cdr"
        args = []
        if since is not None:
            sql += " WHERE start >= ?"
            args.append(since)
        sql += " ORDER BY start DESC, rowid DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        rows = [dict(r) for r in db.execute(sql, args)]
    finally:
        db.close()
    for r in rows:
        r["node_path"] = json.loads(r["node_path"] or "[]")
    return rows[::-1]


def iso(ts):
    """Epoch seconds -> ISO 8601 UTC with milliseconds ("" for None)."""
    if ts is None:
        return ""
    when = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_since(text):
    """"2026-11-25", "2026-11-25T21:00", an ISO time with zone, or "15m"/"2h"/"3d" ago ->
    epoch seconds; ValueError otherwise. Times without a zone are UTC."""
    text = text.strip()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[:-1].isdigit() and text[-1:] in units:
        return datetime.datetime.now(datetime.timezone.utc).timestamp() - int(text[:-1]) * units[text[-1]]
    when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def write_csv(rows, out):
    """Write records as CSV (header first; times ISO 8601 UTC; node path joined by ">")."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(FIELDS)
    for r in rows:
        values = dict(r)
        for key in ("start", "answer", "end"):
            values[key] = iso(values[key])
        values["node_path"] = ">".join(values["node_path"])
        w.writerow(["" if values[f] is None else values[f] for f in FIELDS])
