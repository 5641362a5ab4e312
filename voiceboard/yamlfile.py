"""Reading a YAML file a user wrote (tone tables, caller scripts, flow scenarios, walk tables).

A file that cannot be read or parsed is a one-line error naming its place, never a traceback.
"""
import yaml

from voiceboard.errors import ConfigError


def read(path, error=ConfigError):
    """The parsed content of the YAML file ``path`` (``yaml.safe_load``).

    Raises ``error`` (a :class:`ConfigError` subclass) naming ``FILE:LINE:COLUMN`` of a syntax
    error, or the file and the reason when it cannot be read.
    """
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        raise error(f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
