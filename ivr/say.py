"""Speaking values: numbers, digit strings, money, dates, times, percentages and rates.

Each type turns a value into a list of prompt ids (what a channel plays, one recording or
TTS rendering per id) and into text (the same ids' texts joined). Both come from one
function, so what is played and what is shown never disagree. Everything here is pure: no
audio, no files apart from the built-in prompt table ``ivr/data/say_prompts.yaml``.

Chinese follows the rules of ivr-anchors.md §3:

1. 4-digit grouping by 万 (10^4) and 亿 (10^8); a group's unit is said even when the group ends
   in 0 (十万零五百); numbers of 10^12 and more say 万亿 (一万二千亿).
2. One 零 per run of zeros inside a number, none at the end; the zeros that end a group are
   closed by its unit (三千四百万五千).
3. 十 opens a number (10 = 十, 十万), 一十 inside one (110 = 一百一十, 一万零一十).
4. 两 before 百 and 千, for a group worth exactly 2 before 万/亿, and for an amount of exactly 2
   before a measure word (两元, 两角, 两点); 二 in the ones and tens places, after 点,
   in digit strings, years, months and days.
5. Money 元/角/分 (or 块/毛/分), 整 when there is no fraction, 零 before 分 when the 角 is 0;
   负 for negatives. Rates (forex quotes) read every decimal given, digit by digit.
6. Digit strings say 幺 for 1 (optional).
7. Dates: the year digit by digit, month and day as numbers, optional weekday. Times:
   凌晨/上午/中午/下午/晚上, then 点 and 分 (整 on the hour).

English: American style without "and" inside numbers (one hundred ten), money as
"<n> yuan and <n> fen", dates as "November twenty-fifth twenty twenty-six", times as
"two oh five p.m.". docs/say.md has the full rules and the id scheme.

Examples
--------
>>> text("money", "100500.30")
'十万零五百元三角'
>>> prompts("number", 110, "zh")
['zh/digits/1', 'zh/units/hundred', 'zh/digits/1', 'zh/units/ten']
>>> text("money", 10050030, "en")
'one hundred thousand five hundred yuan and thirty fen'
"""
import datetime
import functools
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml

from voiceboard.errors import ConfigError

LANGS = ("zh", "en")
TYPES = ("number", "digits", "money", "date", "time", "percent", "rate")
DATA_FILE = Path(__file__).with_name("data") / "say_prompts.yaml"

# Largest integer part accepted: 13 digits (the task's limit; 万亿 covers it in Chinese).
MAX_INT_DIGITS = 13
_DECIMAL = re.compile(r"([+-]?)(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class Said:
    """A value put into words: ``ids`` are language-neutral prompt ids (``digits/5``),
    ``prompts`` the same qualified by language (``zh/digits/5``), ``text`` their texts joined."""
    lang: str
    ids: tuple
    text: str

    @property
    def prompts(self):
        return [f"{self.lang}/{i}" for i in self.ids]


@functools.cache
def builtin_texts():
    """The built-in prompt table: {id: {lang: text}} from ivr/data/say_prompts.yaml."""
    with open(DATA_FILE, encoding="utf-8") as f:
        return yaml.safe_load(f)


def say(kind, value, lang="zh", **options):
    """Put ``value`` into words as the type ``kind`` in language ``lang``.

    Parameters
    ----------
    kind : {"number", "digits", "money", "date", "time", "percent", "rate"}
    value
        number: int, decimal string, Decimal or float; digits: str of 0-9, ``*``, ``#``
        (spaces and ``-`` are ignored); money: int fen, or a decimal string/Decimal in yuan
        with at most 2 decimals; date: "YYYY-MM-DD" or datetime.date; time: "HH:MM" or
        datetime.time; percent: a number, optionally a string ending in "%"; rate: a decimal
        string or Decimal (every decimal given is read).
    lang : {"zh", "en"}
    **options
        digits: ``yao=True`` (zh: 1 is read 幺); money: ``colloquial=False`` (zh: 块/毛);
        date: ``weekday=False`` (add the day of the week).

    Returns
    -------
    Said

    Raises
    ------
    ConfigError
        Unknown type, language or option, or a value the type cannot read; the message starts
        with "say <type>".
    """
    if kind not in _SAYERS:
        raise ConfigError(f"say: unknown type {kind!r} (choose from {', '.join(TYPES)})")
    if lang not in LANGS:
        raise ConfigError(f"say {kind}: unknown language {lang!r} (choose from {', '.join(LANGS)})")
    fn, allowed = _SAYERS[kind]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        choices = ", ".join(allowed) or "none"
        raise ConfigError(f"say {kind}: unknown option {unknown[0]!r} (options: {choices})")
    ids = tuple(fn(value, lang, **options))
    return Said(lang, ids, join_text(ids, lang))


def prompts(kind, value, lang="zh", **options):
    """The language-qualified prompt ids of :func:`say` (``["zh/digits/5", ...]``)."""
    return say(kind, value, lang, **options).prompts


def text(kind, value, lang="zh", **options):
    """The text of :func:`say`."""
    return say(kind, value, lang, **options).text


_HYPHEN_FIRST = {f"numbers/{n}" for n in range(20, 100, 10)}
_HYPHEN_SECOND = {f"{kind}/{n}" for kind in ("digits", "ordinals") for n in range(1, 10)}


def join_text(ids, lang):
    """Texts of ``ids`` joined: nothing between Chinese words, spaces between English ones
    and a hyphen inside twenty-one ... ninety-ninth."""
    table = builtin_texts()
    words = [table[i][lang] for i in ids]
    if lang == "zh":
        return "".join(words)
    out = words[:1]
    for prev, cur, word in zip(ids, ids[1:], words[1:]):
        out.append(("-" if prev in _HYPHEN_FIRST and cur in _HYPHEN_SECOND else " ") + word)
    return "".join(out)


# ----------------------------------------------------------------------------------------
# Parsing values
# ----------------------------------------------------------------------------------------

def _decimal_parts(kind, value):
    """(negative, integer digits, fraction digits) of a number given as int, str, Decimal or
    float; the integer part has no leading zeros and at most MAX_INT_DIGITS digits."""
    if isinstance(value, bool):
        raise ConfigError(f"say {kind}: {value!r} is not a number")
    if isinstance(value, int):
        raw = str(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"say {kind}: {value!r} is not a finite number")
        raw = format(Decimal(repr(value)), "f")
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ConfigError(f"say {kind}: {value!r} is not a finite number")
        raw = format(value, "f")
    elif isinstance(value, str):
        raw = value.strip()
    else:
        raise ConfigError(f"say {kind}: cannot read a {type(value).__name__} ({value!r})")
    m = _DECIMAL.fullmatch(raw)
    if not m:
        raise ConfigError(f"say {kind}: {value!r} is not a decimal number like -1234.56")
    sign, whole, frac = m.groups()
    whole = whole.lstrip("0") or "0"
    if len(whole) > MAX_INT_DIGITS:
        raise ConfigError(f"say {kind}: {value!r} has {len(whole)} integer digits; at most "
                          f"{MAX_INT_DIGITS} are read")
    return sign == "-", whole, frac or ""


def _negative_prefix(negative, whole, frac):
    """A minus sign is said only for a non-zero value ("-0.00" is zero)."""
    return negative and (whole != "0" or frac.strip("0") != "")


# ----------------------------------------------------------------------------------------
# Chinese
# ----------------------------------------------------------------------------------------

_ZH_PLACES = ((3, "units/thousand"), (2, "units/hundred"), (1, "units/ten"), (0, None))


def _zh_group(n, first, measure):
    """One group 1..9999. ``first``: nothing is said before it (十 rather than 一十);
    ``measure``: a unit or measure word follows the group directly (两 for a lone 2)."""
    out = []
    zero_run = False
    for place, unit in _ZH_PLACES:
        d = n // 10 ** place % 10
        if d == 0:
            zero_run = zero_run or bool(out)
            continue
        if zero_run:
            out.append("digits/0")
            zero_run = False
        if place == 1 and d == 1 and first and not out:
            out.append("units/ten")
            continue
        if d == 2 and (place >= 2 or (measure and n == 2)):
            out.append("digits/liang")
        else:
            out.append(f"digits/{d}")
        if unit:
            out.append(unit)
    return out


def zh_int(n, first=True, measure=False):
    """Prompt ids of the Chinese reading of 0 <= n < 10^13 (rules 1-4)."""
    if n == 0:
        return ["digits/0"]
    if n >= 10 ** 8:
        size, unit = 10 ** 8, "units/yi"
    elif n >= 10 ** 4:
        size, unit = 10 ** 4, "units/wan"
    else:
        return _zh_group(n, first, measure)
    high, low = divmod(n, size)
    out = zh_int(high, first, True) + [unit]
    if low:
        # A zero run between the unit and the rest: the next place down is 0, or (一万亿零一千万)
        # the 亿 group itself is 0000 and was closed by 万.
        if low < size // 10 or high % 10 ** 4 == 0:
            out.append("digits/0")
        out += zh_int(low, False, measure)
    return out


# ----------------------------------------------------------------------------------------
# English
# ----------------------------------------------------------------------------------------

_EN_GROUPS = ((10 ** 12, "units/trillion"), (10 ** 9, "units/billion"), (10 ** 6, "units/million"),
              (10 ** 3, "units/thousand"), (1, None))


def _en_below_100(n):
    if n < 10:
        return [f"digits/{n}"]
    if n < 20:
        return [f"numbers/{n}"]
    tens, ones = divmod(n, 10)
    return [f"numbers/{tens * 10}"] + ([f"digits/{ones}"] if ones else [])


def _en_below_1000(n):
    hundreds, rest = divmod(n, 100)
    out = [f"digits/{hundreds}", "units/hundred"] if hundreds else []
    return out + (_en_below_100(rest) if rest else [])


def en_int(n):
    """Prompt ids of the English reading of 0 <= n < 10^15 (short scale, no "and")."""
    if n == 0:
        return ["digits/0"]
    out = []
    for size, unit in _EN_GROUPS:
        group = n // size % 1000
        if group:
            out += _en_below_1000(group) + ([unit] if unit else [])
    return out


def _en_day(day):
    """Day of the month 1..31 as an ordinal: first, twentieth, thirty-first."""
    if day < 20 or day % 10 == 0:
        return [f"ordinals/{day}"]
    return [f"numbers/{day // 10 * 10}", f"ordinals/{day % 10}"]


def _en_year(y):
    """1000..9999: two thousand five, nineteen oh five, nineteen hundred, twenty twenty-six."""
    century, rest = divmod(y, 100)
    if y % 1000 < 10:
        return en_int(y)
    if rest == 0:
        return _en_below_100(century) + ["units/hundred"]
    return _en_below_100(century) + (["digits/oh", f"digits/{rest}"] if rest < 10 else _en_below_100(rest))


def _fraction(frac):
    """点 / point, then the decimals digit by digit (二, not 两: rule 4)."""
    return ["words/point"] + [f"digits/{d}" for d in frac] if frac else []


# ----------------------------------------------------------------------------------------
# Types
# ----------------------------------------------------------------------------------------

def _number(value, lang, keep_zeros=False, kind="number"):
    negative, whole, frac = _decimal_parts(kind, value)
    if not keep_zeros:
        frac = frac.rstrip("0")
    out = ["words/minus"] if _negative_prefix(negative, whole, frac) else []
    if lang == "zh":
        return out + zh_int(int(whole)) + _fraction(frac)
    return out + en_int(int(whole)) + _fraction(frac)


def _say_number(value, lang):
    return _number(value, lang)


def _say_rate(value, lang):
    if not isinstance(value, (str, Decimal)):
        raise ConfigError(f"say rate: give the quote as a string or Decimal, not {type(value).__name__} "
                          f"({value!r}), so that its decimals are kept")
    return _number(value, lang, keep_zeros=True, kind="rate")


def _say_percent(value, lang):
    if isinstance(value, str) and value.strip().endswith("%"):
        value = value.strip()[:-1]
    words = _number(value, lang, kind="percent")
    if lang == "zh":
        # 负百分之三: the sign comes before 百分之.
        sign = words[:1] if words[:1] == ["words/minus"] else []
        return sign + ["words/percent"] + words[len(sign):]
    return words + ["words/percent"]


_KEYS = {"*": "keys/star", "#": "keys/pound"}


def _say_digits(value, lang, yao=True):
    if isinstance(value, int) and not isinstance(value, bool):
        raise ConfigError(f"say digits: give digit strings as text ({value!r} as an int would lose "
                          f"leading zeros)")
    if not isinstance(value, str):
        raise ConfigError(f"say digits: cannot read a {type(value).__name__} ({value!r})")
    chars = value.replace(" ", "").replace("-", "")
    bad = next((c for c in chars if not (c.isascii() and c.isdigit()) and c not in _KEYS), None)
    if bad is not None or not chars:
        what = f"character {bad!r}" if bad is not None else "no digits"
        raise ConfigError(f"say digits: {value!r}: {what} (allowed: 0-9, *, #, spaces, -)")
    out = []
    for c in chars:
        if c in _KEYS:
            out.append(_KEYS[c])
        elif c == "1" and lang == "zh" and yao:
            out.append("digits/yao")
        else:
            out.append(f"digits/{c}")
    return out


def _money_fen(value):
    """(negative, yuan, jiao, fen) from int fen or a decimal string/Decimal in yuan."""
    if isinstance(value, float):
        raise ConfigError(f"say money: {value!r} is a float; give integer fen or a decimal string "
                          f"such as '12.50' (binary floats cannot hold fen exactly)")
    if isinstance(value, int) and not isinstance(value, bool):
        negative, total = value < 0, abs(value)
        yuan, cents = divmod(total, 100)
        if len(str(yuan)) > MAX_INT_DIGITS:
            raise ConfigError(f"say money: {value!r} fen is more than {MAX_INT_DIGITS} digits of yuan")
    else:
        negative, whole, frac = _decimal_parts("money", value)
        if len(frac) > 2:
            raise ConfigError(f"say money: {value!r} has {len(frac)} decimal places; money has at "
                              f"most 2 (角 and 分)")
        yuan, cents = int(whole), int(frac.ljust(2, "0"))
    jiao, fen = divmod(cents, 10)
    return negative and bool(yuan or cents), yuan, jiao, fen


def _say_money(value, lang, colloquial=False):
    negative, yuan, jiao, fen = _money_fen(value)
    out = ["words/minus"] if negative else []
    if lang == "en":
        if yuan or not (jiao or fen):
            out += en_int(yuan) + ["money/yuan"]
            if jiao or fen:
                out.append("words/and")
        if jiao or fen:
            out += en_int(jiao * 10 + fen) + ["money/fen"]
        return out
    yuan_id, jiao_id = ("money/kuai", "money/mao") if colloquial else ("money/yuan", "money/jiao")
    if yuan or not (jiao or fen):
        out += zh_int(yuan, measure=True) + [yuan_id]
    if jiao:
        out += _zh_group(jiao, True, True) + [jiao_id]
    if fen:
        if yuan and not jiao:
            out.append("digits/0")
        out += _zh_group(fen, True, True) + ["money/fen"]
    if yuan and not (jiao or fen) and not colloquial:
        out.append("words/zheng")
    return out


_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")


def _say_date(value, lang, weekday=False):
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, str):
        m = _DATE.fullmatch(value.strip())
        if not m:
            raise ConfigError(f"say date: {value!r} is not a date like 2026-11-25 (YYYY-MM-DD)")
        try:
            value = datetime.date(*map(int, m.groups()))
        except ValueError as exc:
            raise ConfigError(f"say date: {value!r}: {exc}") from None
    if not isinstance(value, datetime.date):
        raise ConfigError(f"say date: cannot read a {type(value).__name__} ({value!r})")
    if value.year < 1000:
        raise ConfigError(f"say date: year {value.year} has fewer than 4 digits")
    day_of_week = [f"weekdays/{value.isoweekday()}"] if weekday else []
    if lang == "zh":
        year = [f"digits/{d}" for d in str(value.year)]
        return (year + ["date/year"] + zh_int(value.month) + ["date/month"] + zh_int(value.day)
                + ["date/day"] + day_of_week)
    return day_of_week + [f"months/{value.month}"] + _en_day(value.day) + _en_year(value.year)


def _zh_period(hour):
    """Part of the day (docs/say.md): 凌晨 0-5, 上午 6-11, 中午 12, 下午 13-17, 晚上 18-23."""
    if hour < 6:
        return "time/dawn"
    if hour < 12:
        return "time/morning"
    if hour == 12:
        return "time/noon"
    return "time/afternoon" if hour < 18 else "time/evening"


def _say_time(value, lang):
    if isinstance(value, datetime.datetime):
        value = value.time()
    if isinstance(value, str):
        m = _TIME.fullmatch(value.strip())
        if not m:
            raise ConfigError(f"say time: {value!r} is not a time like 14:05 (HH:MM)")
        hour, minute = map(int, m.groups())
        if hour > 23 or minute > 59:
            raise ConfigError(f"say time: {value!r}: hour must be 0-23 and minute 0-59")
    elif isinstance(value, datetime.time):
        hour, minute = value.hour, value.minute
    else:
        raise ConfigError(f"say time: cannot read a {type(value).__name__} ({value!r})")
    if lang == "zh":
        # 12-hour clock; midnight hour is 零点 (凌晨零点三十分), noon 中午十二点.
        h12 = hour - 12 if hour > 12 else hour
        out = [_zh_period(hour)] + zh_int(h12, measure=True) + ["time/hour"]
        if minute == 0:
            return out + ["words/zheng"]
        return out + (["digits/0"] if minute < 10 else []) + zh_int(minute) + ["time/minute"]
    h12 = hour % 12 or 12
    out = en_int(h12)
    if minute:
        out += ["digits/oh", f"digits/{minute}"] if minute < 10 else _en_below_100(minute)
    return out + ["time/am" if hour < 12 else "time/pm"]


_SAYERS = {
    "number": (_say_number, ()),
    "digits": (_say_digits, ("yao",)),
    "money": (_say_money, ("colloquial",)),
    "date": (_say_date, ("weekday",)),
    "time": (_say_time, ()),
    "percent": (_say_percent, ()),
    "rate": (_say_rate, ()),
}
