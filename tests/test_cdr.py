"""Call records: the SQLite store (WAL, one transaction per record), CSV export (library,
ivrd --export-cdr), --since parsing; the JSON log lines and the masking helper."""
import csv
import datetime
import io
import json
import logging
import sqlite3

import pytest

from ivr import cdr, logs
from test_daemon import ivrd


def record(i, start, **kw):
    return cdr.Record(id=f"call{i}", board="main", channel=i % 2, start=start, end=start + 5.5,
                      outcome=kw.pop("outcome", "completed"), ani="88000001", answer=start + 1.25,
                      handler="echo", version="echo@0123456789ab", node_path=["prompt", "collect"],
                      keys="12", **kw)


def test_store_commits_each_record_in_wal_and_reads_back(tmp_path):
    path = tmp_path / "sub" / "cdr.sqlite"
    store = cdr.open_store(f"sqlite:{path}")
    base = datetime.datetime(2026, 11, 25, 8, 0, tzinfo=datetime.timezone.utc).timestamp()
    for i in range(3):
        store.write_sync(record(i, base + 3600 * i, recording=f"/rec/{i}.wav" if i == 2 else ""))
        # Committed as written: another connection sees it while the store stays open.
        other = sqlite3.connect(path)
        assert other.execute("SELECT count(*) FROM cdr").fetchone() == (i + 1,)
        other.close()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with pytest.raises(sqlite3.IntegrityError):
        store.write_sync(record(0, base))               # ids are unique
    store.close()
    rows = cdr.read(path)
    assert [r["id"] for r in rows] == ["call0", "call1", "call2"]
    assert rows[2]["node_path"] == ["prompt", "collect"] and rows[2]["recording"] == "/rec/2.wav"
    assert [r["id"] for r in cdr.read(path, since=base + 3600)] == ["call1", "call2"]
    assert [r["id"] for r in cdr.read(path, limit=1)] == ["call2"]


def test_csv_has_a_header_iso_times_and_joined_node_path(tmp_path):
    base = datetime.datetime(2026, 11, 25, 8, 0, tzinfo=datetime.timezone.utc).timestamp()
    out = io.StringIO()
    cdr.write_csv([dict(vars(record(1, base)), node_path=["a", "b"])], out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == list(cdr.FIELDS)
    row = dict(zip(rows[0], rows[1]))
    assert row["start"] == "2026-11-25T08:00:00.000Z" and row["answer"] == "2026-11-25T08:00:01.250Z"
    assert row["end"] == "2026-11-25T08:00:05.500Z" and row["node_path"] == "a>b" and row["channel"] == "1"


def test_parse_since():
    assert cdr.parse_since("2026-11-25") == datetime.datetime(2026, 11, 25, tzinfo=datetime.timezone.utc).timestamp()
    assert cdr.parse_since("2026-11-25T08:00+08:00") == datetime.datetime(
        2026, 11, 25, 0, 0, tzinfo=datetime.timezone.utc).timestamp()
    now = datetime.datetime.now(datetime.timezone.utc).timestamp()
    assert abs(cdr.parse_since("2h") - (now - 7200)) < 5
    with pytest.raises(ValueError):
        cdr.parse_since("last tuesday")


def test_ivrd_export_cdr_with_since(tmp_path):
    from test_daemon import config_text
    (tmp_path / "ivrd.yaml").write_text(config_text())
    store = cdr.open_store(f"sqlite:{tmp_path / 'cdr.sqlite'}")
    base = datetime.datetime(2026, 11, 25, 8, 0, tzinfo=datetime.timezone.utc).timestamp()
    for i in range(4):
        store.write_sync(record(i, base + 60 * i))
    store.close()
    out = ivrd("--export-cdr", "-c", str(tmp_path / "ivrd.yaml"), "--since", "2026-11-25T08:02")
    assert out.returncode == 0, out.stderr
    assert [r["id"] for r in csv.DictReader(io.StringIO(out.stdout))] == ["call2", "call3"]
    to_file = ivrd("--export-cdr", "-c", str(tmp_path / "ivrd.yaml"), "-o", str(tmp_path / "all.csv"))
    assert to_file.returncode == 0 and (tmp_path / "all.csv").read_text().count("\n") == 5
    bad = ivrd("--export-cdr", "-c", str(tmp_path / "ivrd.yaml"), "--since", "soon")
    assert bad.returncode == 2 and bad.stderr.startswith("ivrd: --since 'soon'")
    assert ivrd("--since", "2h", "-c", str(tmp_path / "ivrd.yaml")).returncode == 2


def test_mask_keeps_only_the_requested_tail():
    assert logs.mask("6222020200112233", keep=4) == "************2233"
    assert logs.mask("1234") == "****"
    assert logs.mask("12", keep=5) == "12"
    assert logs.mask("") == ""


def test_json_log_lines_carry_the_call_id_of_the_context():
    stream = io.StringIO()
    handler = logs.setup("json", "info", stream=stream)
    try:
        log = logging.getLogger("ivrd.test")
        log.info("outside")
        token = logs.call_id.set("abc123")
        log.info("inside %d", 7, extra={"channel": "main:1"})
        logs.call_id.reset(token)
        try:
            raise ValueError("bad")
        except ValueError:
            log.exception("failed")
        log.debug("hidden at info")
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(ln) for ln in stream.getvalue().splitlines()]
    assert [ln["msg"] for ln in lines] == ["outside", "inside 7", "failed"]
    assert [ln["call_id"] for ln in lines] == [None, "abc123", None]
    assert lines[1]["channel"] == "main:1" and lines[1]["level"] == "info" and lines[1]["ts"].endswith("Z")
    assert "ValueError: bad" in lines[2]["exc"]
