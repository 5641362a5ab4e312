"""Log lines of ivrd: JSON (one object per line) or text, with the call id on every line
logged while a call is handled, and a helper that masks sensitive digits.

The call id lives in a :class:`contextvars.ContextVar`: the daemon sets it in the task that
runs a call, so every line that task (and anything it awaits) logs carries it, whichever
module logs it. Lines from outside a call carry no call id.
"""
import contextvars
import datetime
import json
import logging
import logging.handlers
import sys

call_id = contextvars.ContextVar("call_id", default=None)

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("json", "text")

# Attributes every LogRecord has; anything else passed through ``extra=`` goes into the JSON.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "call_id"}


def mask(digits, keep=0):
    """``digits`` with all but the last ``keep`` characters replaced by "*".

    >>> mask("123456", keep=2)
    '****56'
    """
    digits = digits or ""
    keep = max(0, min(keep, len(digits)))
    return "*" * (len(digits) - keep) + digits[len(digits) - keep:]


class CallIdFilter(logging.Filter):
    """Puts the current call id (or None) on each record as ``record.call_id``."""

    def filter(self, record):
        record.call_id = call_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC, ISO 8601, ms), level, logger, msg, call_id, and
    any ``extra=`` fields; ``exc`` holds a traceback when there is one."""

    def format(self, record):
        out = {
            "ts": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
                  .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "call_id": getattr(record, "call_id", None),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out:
                out[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2026-11-25 21:50:01,123 INFO ivrd [call 7f3a...] message``."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s%(call)s %(message)s")

    def format(self, record):
        cid = getattr(record, "call_id", None)
        record.call = f" [call {cid}]" if cid else ""
        return super().format(record)


def setup(fmt="json", level="info", path=None, stream=None):
    """Configure the root logger for the daemon (the application, not a library, calls this).

    ``path`` writes to a file that is reopened when logrotate moves it
    (:class:`logging.handlers.WatchedFileHandler`); otherwise ``stream`` (default stderr,
    which systemd sends to the journal).
    """
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if path:
        handler = logging.handlers.WatchedFileHandler(path)
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(CallIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    set_level(level)
    return handler


def set_level(level):
    logging.getLogger().setLevel(level.upper())
