"""Call-progress tone tables by region (data in ``voiceboard/data/tones.yaml``).

Pure Python: parses and validates the tables; :mod:`voiceboard.dsp` turns them into sound
(:class:`~voiceboard.dsp.ToneGenerator`) and into detector patterns
(:class:`~voiceboard.dsp.CallProgressDetector`).

Tone notation (telephony.md 4.1, after Asterisk indications.conf): comma-separated elements
``[!]f1[+f2][/ms]``; frequency 0 is silence, ``!`` marks an element played once, an element
without a duration lasts for ever (last element only). The elements from the first repeated one
onwards form the cycle that repeats.

>>> busy = region("cn").tone("busy")
>>> busy.segments[0].on_ms, busy.segments[0].off_ms
(350, 350)
"""
import functools
import os
import re
from dataclasses import dataclass

from voiceboard import yamlfile
from voiceboard.errors import ConfigError

DATA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "tones.yaml")

# A steady tone is played as a repeating segment of this length; any length gives the same
# samples, since the generator neither ramps nor resets phase between equal segments.
_STEADY_MS = 1000
# Largest sine level: +3.14 dBm0 is full scale for A-law (telephony.md 1.4); -60 dBm0 is far
# below any detector threshold (cpd.c: -44 dBm0).
_MAX_DBM0 = 3.14
_MIN_DBM0 = -60
# Detector cycles: VB_CPD_HISTORY (64 segments, vb/cpd.h) holds 16 cycles of a 4-element cadence.
_MAX_CYCLES = 16
# Ringing: 20 and 25 Hz in telephony.md 4.2; the range only catches typing errors.
_RING_HZ = (1, 100)
_ELEMENT = re.compile(r"^(!?)(\d+(?:\.\d+)?)(?:\+(\d+(?:\.\d+)?))?(?:/(\d+))?$")


@dataclass(frozen=True)
class Segment:
    """Frequencies sounding for ``on_ms`` then silence for ``off_ms`` (the C vb_tone_segment_t).

    ``f1_hz`` 0 makes the on-time silent; ``f2_hz`` 0 means a single tone. ``repeat`` marks the
    segments of the repeating cycle.
    """
    f1_hz: float
    f2_hz: float
    level1_dbm0: float
    level2_dbm0: float
    on_ms: int
    off_ms: int
    repeat: bool


@dataclass(frozen=True)
class Tone:
    """One call-progress tone of a region."""
    name: str
    spec: str
    level_dbm0: float
    cycles: int
    segments: tuple

    @property
    def repeats(self):
        """True if the tone plays for ever (it has a repeating cycle)."""
        return any(s.repeat for s in self.segments)

    @property
    def duration_ms(self):
        """Length of a tone played once, or None for a repeating tone."""
        return None if self.repeats else sum(s.on_ms + s.off_ms for s in self.segments)


@dataclass(frozen=True)
class Region:
    """The tone table, ringing and DTMF levels of one region."""
    name: str
    description: str
    level_dbm0: float
    tones: dict
    ring_cadence_ms: tuple
    ring_hz: float
    dtmf_low_dbm0: float
    dtmf_high_dbm0: float

    def tone(self, name):
        """The tone called ``name``; ValueError naming the valid ones otherwise."""
        try:
            return self.tones[name]
        except KeyError:
            raise ValueError(f"unknown tone {name!r} for region {self.name!r} "
                             f"(choose from {', '.join(self.tones)})") from None


def parse_tone(spec, level_dbm0, where="tone"):
    """Segments of a tone in the notation of telephony.md 4.1, all frequencies at ``level_dbm0``.

    Raises
    ------
    ConfigError
        Naming ``where`` and the bad element.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"{where}: tone must be a non-empty string like '450/350,0/350'")
    elements = []
    parts = [p.strip() for p in spec.split(",")]
    for i, part in enumerate(parts):
        m = _ELEMENT.match(part)
        if not m:
            raise ConfigError(f"{where}: bad element {part!r} (expected [!]f1[+f2][/ms])")
        once, f1, f2, ms = m.group(1) == "!", float(m.group(2)), float(m.group(3) or 0), m.group(4)
        if f1 >= 4000 or f2 >= 4000 or (f1 == 0 and f2):
            raise ConfigError(f"{where}: bad element {part!r} (frequencies must be below 4000 Hz; "
                              "a silence has no second frequency)")
        if ms is None and i != len(parts) - 1:
            raise ConfigError(f"{where}: element {part!r} has no duration but is not the last")
        if ms is not None and int(ms) == 0:
            raise ConfigError(f"{where}: element {part!r} lasts 0 ms")
        elements.append((not once, f1, f2, None if ms is None else int(ms)))
    first_repeat = next((i for i, e in enumerate(elements) if e[0]), None)
    if first_repeat is not None and not all(e[0] for e in elements[first_repeat:]):
        raise ConfigError(f"{where}: an element marked '!' follows a repeated one in {spec!r}")

    segments = []
    for repeat, f1, f2, ms in elements:
        if ms is None:
            if f1 == 0:
                break  # silence for ever: the tone simply ends
            repeat, ms = True, _STEADY_MS
        prev = segments[-1] if segments else None
        if f1 == 0 and prev is not None and prev.f1_hz and prev.off_ms == 0 and prev.repeat == repeat:
            segments[-1] = Segment(prev.f1_hz, prev.f2_hz, prev.level1_dbm0, prev.level2_dbm0,
                                   prev.on_ms, ms, repeat)
        else:
            segments.append(Segment(f1, f2, level_dbm0, level_dbm0, ms, 0, repeat))
    if not segments:
        raise ConfigError(f"{where}: {spec!r} is silence only")
    return tuple(segments)


def _number(value, where, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigError(f"{where}: expected a number from {low} to {high}, got {value!r}")
    return float(value)


def _mapping(value, where, required=(), optional=(), closed=True):
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
    unknown = set(value) - set(required) - set(optional)
    if closed and unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    missing = [k for k in required if k not in value]
    if missing:
        raise ConfigError(f"{where}: missing key(s) {', '.join(missing)}")
    return value


def _load_tone(name, entry, region_level, where):
    if isinstance(entry, str):
        entry = {"spec": entry}
    entry = _mapping(entry, where, ("spec",), ("level_dbm0", "cycles"))
    level = _number(entry.get("level_dbm0", region_level), f"{where}: level_dbm0", _MIN_DBM0, _MAX_DBM0)
    cycles = entry.get("cycles", 1)
    if isinstance(cycles, bool) or not isinstance(cycles, int) or not 1 <= cycles <= _MAX_CYCLES:
        raise ConfigError(f"{where}: cycles must be an integer from 1 to {_MAX_CYCLES}, got {cycles!r}")
    return Tone(name, entry["spec"], level, cycles, parse_tone(entry["spec"], level, where))


def _load_region(name, entry, where):
    entry = _mapping(entry, where, ("description", "level_dbm0", "tones", "ring_cadence_ms", "ring_hz", "dtmf"))
    level = _number(entry["level_dbm0"], f"{where}: level_dbm0", _MIN_DBM0, _MAX_DBM0)
    tones = _mapping(entry["tones"], f"{where}: tones", closed=False)
    if not tones:
        raise ConfigError(f"{where}: tones: no tones")
    cadence = entry["ring_cadence_ms"]
    if (not isinstance(cadence, list) or not cadence or len(cadence) % 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in cadence)):
        raise ConfigError(f"{where}: ring_cadence_ms must be on/off pairs of positive ms, got {cadence!r}")
    dtmf = _mapping(entry["dtmf"], f"{where}: dtmf", ("low_dbm0", "high_dbm0"))
    return Region(
        name=name,
        description=str(entry["description"]),
        level_dbm0=level,
        tones={str(t): _load_tone(str(t), v, level, f"{where}: tone {t!r}") for t, v in tones.items()},
        ring_cadence_ms=tuple(cadence),
        ring_hz=_number(entry["ring_hz"], f"{where}: ring_hz", *_RING_HZ),
        dtmf_low_dbm0=_number(dtmf["low_dbm0"], f"{where}: dtmf: low_dbm0", _MIN_DBM0, _MAX_DBM0),
        dtmf_high_dbm0=_number(dtmf["high_dbm0"], f"{where}: dtmf: high_dbm0", _MIN_DBM0, _MAX_DBM0),
    )


def load(path=DATA_FILE):
    """Read and validate a tone table file.

    Returns
    -------
    (default region name, {name: Region})

    Raises
    ------
    ConfigError
        Naming the file, region and tone of the first bad entry.
    """
    where = os.path.basename(path)
    data = _mapping(yamlfile.read(path), where, ("default_region", "regions"))
    regions = _mapping(data["regions"], f"{where}: regions", closed=False)
    table = {str(n): _load_region(str(n), r, f"{where}: region {n!r}") for n, r in regions.items()}
    default = data["default_region"]
    if default not in table:
        raise ConfigError(f"{where}: default_region {default!r} is not one of {', '.join(table)}")
    return default, table


@functools.lru_cache(maxsize=None)
def _builtin():
    return load(DATA_FILE)


def region_names():
    """Names of the regions in the built-in table, the default first."""
    default, table = _builtin()
    return [default] + [n for n in table if n != default]


def default_region():
    """Name of the default region ("cn")."""
    return _builtin()[0]


def region(name=None):
    """The built-in table of one region (default: :func:`default_region`).

    Raises
    ------
    ValueError
        For an unknown region, naming the valid ones.
    """
    default, table = _builtin()
    name = default if name is None else name
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"unknown region {name!r} (choose from {', '.join(region_names())})") from None
