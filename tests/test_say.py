"""ivr.say: a reference table for every type in both languages (ivr-anchors.md §3 rules 1-7),
property tests that read the words back with parsers written here independently of
ivr/say.py, the ``ivr say`` command, and the errors for bad values."""
import datetime
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr import cli, say
from voiceboard.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent

# --- the reference table -------------------------------------------------------------------
# (type, value, options, expected text); written by hand from the rules, not from the code.

ZH_NUMBERS = [
    (0, "零"), (1, "一"), (2, "二"), (5, "五"), (9, "九"), (10, "十"), (11, "十一"), (12, "十二"),
    (19, "十九"), (20, "二十"), (21, "二十一"), (22, "二十二"), (99, "九十九"), (100, "一百"),
    (101, "一百零一"), (102, "一百零二"), (110, "一百一十"), (111, "一百一十一"), (120, "一百二十"),
    (200, "两百"), (202, "两百零二"), (210, "两百一十"), (220, "两百二十"), (999, "九百九十九"),
    (1000, "一千"), (1001, "一千零一"), (1005, "一千零五"), (1010, "一千零一十"), (1100, "一千一百"),
    (1200, "一千两百"), (2000, "两千"), (2002, "两千零二"), (2020, "两千零二十"), (2200, "两千两百"),
    (9999, "九千九百九十九"), (10000, "一万"), (10001, "一万零一"), (10010, "一万零一十"),
    (10050, "一万零五十"), (10100, "一万零一百"), (11000, "一万一千"), (12000, "一万两千"),
    (20000, "两万"), (22000, "两万两千"), (100000, "十万"), (100500, "十万零五百"),
    (110000, "十一万"), (120000, "十二万"), (200000, "二十万"), (220000, "二十二万"),
    (1000000, "一百万"), (1000010, "一百万零一十"), (1020000, "一百零二万"), (2000000, "两百万"),
    (10000000, "一千万"), (12345678, "一千两百三十四万五千六百七十八"), (100000000, "一亿"),
    (100000001, "一亿零一"), (100010000, "一亿零一万"), (100020000, "一亿零两万"),
    (100000500, "一亿零五百"), (105000000, "一亿零五百万"), (110000000, "一亿一千万"),
    (120000000, "一亿两千万"), (200000000, "两亿"), (1000000000, "十亿"), (1000000001, "十亿零一"),
    (1000001000, "十亿零一千"), (1234567890, "十二亿三千四百五十六万七千八百九十"),
    (1200005678, "十二亿零五千六百七十八"), (1234005678, "十二亿三千四百万五千六百七十八"),
    (10000000000, "一百亿"), (100000000000, "一千亿"), (1000000000000, "一万亿"),
    (2000000000000, "两万亿"), (1000100000000, "一万零一亿"), (1000200000000, "一万零两亿"),
    (1200000000000, "一万两千亿"), (1000010000000, "一万亿零一千万"), (1000000000001, "一万亿零一"),
    (9999999999999, "九万九千九百九十九亿九千九百九十九万九千九百九十九"),
    (-1, "负一"), (-10, "负十"), (-110, "负一百一十"), (-100500, "负十万零五百"),
    ("0.5", "零点五"), ("10.05", "十点零五"), ("12.50", "十二点五"), ("2.5", "二点五"),
    ("0.25", "零点二五"), ("-0.5", "负零点五"), ("100.001", "一百点零零一"), ("3.14159", "三点一四一五九"),
    ("2.0", "二"), ("-0", "零"), ("007", "七"), ("1.20", "一点二"), (Decimal("12.5"), "十二点五"),
    (12.5, "十二点五"), ("+5", "五"), (" 42 ", "四十二"),
]
EN_NUMBERS = [
    (0, "zero"), (1, "one"), (10, "ten"), (11, "eleven"), (15, "fifteen"), (20, "twenty"),
    (21, "twenty-one"), (40, "forty"), (90, "ninety"), (99, "ninety-nine"), (100, "one hundred"),
    (101, "one hundred one"), (110, "one hundred ten"), (1005, "one thousand five"),
    (1100, "one thousand one hundred"), (2000, "two thousand"), (2002, "two thousand two"),
    (10050, "ten thousand fifty"), (20000, "twenty thousand"),
    (100500, "one hundred thousand five hundred"), (1000000, "one million"),
    (100000000, "one hundred million"), (1000000001, "one billion one"),
    (1000000000000, "one trillion"),
    (1234567, "one million two hundred thirty-four thousand five hundred sixty-seven"),
    (9999999999999, "nine trillion nine hundred ninety-nine billion nine hundred ninety-nine million "
                    "nine hundred ninety-nine thousand nine hundred ninety-nine"),
    (-12, "minus twelve"), ("10.05", "ten point zero five"), ("12.50", "twelve point five"),
    ("0.5", "zero point five"), ("-0.25", "minus zero point two five"),
]
ZH_MONEY = [
    ("100500.30", {}, "十万零五百元三角"), (0, {}, "零元"), ("0.00", {}, "零元"), ("1", {}, "一元整"),
    ("2", {}, "两元整"), ("2.00", {}, "两元整"), ("10", {}, "十元整"), ("12", {}, "十二元整"),
    ("22", {}, "二十二元整"), ("200", {}, "两百元整"), ("10.05", {}, "十元零五分"),
    ("12.50", {}, "十二元五角"), ("12.55", {}, "十二元五角五分"), ("0.05", {}, "五分"),
    ("0.5", {}, "五角"), ("0.50", {}, "五角"), ("0.2", {}, "两角"), ("0.02", {}, "两分"),
    ("0.22", {}, "两角两分"), ("2.22", {}, "两元两角两分"), ("100.10", {}, "一百元一角"),
    ("1000000.01", {}, "一百万元零一分"), ("10000.00", {}, "一万元整"), ("-12.50", {}, "负十二元五角"),
    ("-0.05", {}, "负五分"), ("-0.00", {}, "零元"), (1250, {}, "十二元五角"), (5, {}, "五分"),
    (100, {}, "一元整"), (-1005, {}, "负十元零五分"), ("20000", {}, "两万元整"),
    ("120000000", {}, "一亿两千万元整"), ("100000000.01", {}, "一亿元零一分"),
    (Decimal("3.30"), {}, "三元三角"),
    ("12.50", {"colloquial": True}, "十二块五毛"), ("2", {"colloquial": True}, "两块"),
    ("10.05", {"colloquial": True}, "十块零五分"), ("0.5", {"colloquial": True}, "五毛"),
]
EN_MONEY = [
    ("100500.30", "one hundred thousand five hundred yuan and thirty fen"), (0, "zero yuan"),
    ("1", "one yuan"), ("2.00", "two yuan"), ("12.50", "twelve yuan and fifty fen"),
    ("10.05", "ten yuan and five fen"), ("0.05", "five fen"), ("0.5", "fifty fen"),
    ("-12.50", "minus twelve yuan and fifty fen"), (1250, "twelve yuan and fifty fen"),
    ("1000000.01", "one million yuan and one fen"), ("0.99", "ninety-nine fen"),
]
ZH_DIGITS = [
    ("95588", {}, "九五五八八"), ("13800138000", {}, "幺三八零零幺三八零零零"),
    ("0123456789", {}, "零幺二三四五六七八九"), ("138-0013 8000", {}, "幺三八零零幺三八零零零"),
    ("*#", {}, "星号井号"), ("110", {"yao": False}, "一一零"), ("2", {}, "二"), ("22", {}, "二二"),
]
EN_DIGITS = [
    ("95588", "nine five five eight eight"), ("0123", "zero one two three"), ("*1#", "star one pound"),
]
ZH_DATES = [
    ("2026-11-25", {}, "二零二六年十一月二十五日"), ("2000-01-01", {}, "二零零零年一月一日"),
    ("2000-12-31", {}, "二零零零年十二月三十一日"), ("1999-02-02", {}, "一九九九年二月二日"),
    ("2010-10-10", {}, "二零一零年十月十日"), ("2026-11-25", {"weekday": True}, "二零二六年十一月二十五日星期三"),
    ("2026-11-29", {"weekday": True}, "二零二六年十一月二十九日星期日"),
    ("2024-02-29", {}, "二零二四年二月二十九日"), (datetime.date(2023, 6, 20), {}, "二零二三年六月二十日"),
    (datetime.datetime(2023, 6, 20, 8, 0), {"weekday": True}, "二零二三年六月二十日星期二"),
]
EN_DATES = [
    ("2026-11-25", {}, "November twenty-fifth twenty twenty-six"),
    ("2000-01-01", {}, "January first two thousand"), ("2005-03-02", {}, "March second two thousand five"),
    ("1999-12-31", {}, "December thirty-first nineteen ninety-nine"),
    ("1905-07-04", {}, "July fourth nineteen oh five"), ("1900-05-20", {}, "May twentieth nineteen hundred"),
    ("2010-08-22", {}, "August twenty-second twenty ten"),
    ("2026-11-25", {"weekday": True}, "Wednesday November twenty-fifth twenty twenty-six"),
    ("2026-09-30", {}, "September thirtieth twenty twenty-six"),
    ("2026-06-11", {}, "June eleventh twenty twenty-six"),
]
ZH_TIMES = [
    ("00:00", "凌晨零点整"), ("00:30", "凌晨零点三十分"), ("02:00", "凌晨两点整"), ("2:00", "凌晨两点整"),
    ("05:59", "凌晨五点五十九分"), ("06:00", "上午六点整"), ("08:05", "上午八点零五分"),
    ("09:10", "上午九点十分"), ("10:20", "上午十点二十分"), ("11:02", "上午十一点零二分"),
    ("12:00", "中午十二点整"), ("12:30", "中午十二点三十分"), ("13:00", "下午一点整"),
    ("14:05", "下午两点零五分"), ("14:15", "下午两点十五分"), ("17:59", "下午五点五十九分"),
    ("18:00", "晚上六点整"), ("20:45", "晚上八点四十五分"), ("22:22", "晚上十点二十二分"),
    ("23:59", "晚上十一点五十九分"), (datetime.time(14, 5), "下午两点零五分"),
]
EN_TIMES = [
    ("00:00", "twelve a.m."), ("00:30", "twelve thirty a.m."), ("02:00", "two a.m."),
    ("08:05", "eight oh five a.m."), ("12:00", "twelve p.m."), ("12:30", "twelve thirty p.m."),
    ("13:00", "one p.m."), ("14:05", "two oh five p.m."), ("14:15", "two fifteen p.m."),
    ("20:45", "eight forty-five p.m."), ("23:59", "eleven fifty-nine p.m."),
]
ZH_PERCENT = [
    ("2.25", "百分之二点二五"), ("2.25%", "百分之二点二五"), (50, "百分之五十"), (100, "百分之一百"),
    (200, "百分之两百"), ("0.5", "百分之零点五"), ("-3", "负百分之三"), ("3.10", "百分之三点一"),
    (2, "百分之二"), (10, "百分之十"),
]
EN_PERCENT = [
    ("2.25", "two point two five percent"), (50, "fifty percent"), ("-3%", "minus three percent"),
    (100, "one hundred percent"),
]
ZH_RATES = [
    ("8.2765", "八点二七六五"), ("7.1000", "七点一零零零"), ("0.9123", "零点九一二三"),
    ("110.25", "一百一十点二五"), ("10", "十"), ("-0.5", "负零点五"), (Decimal("6.8800"), "六点八八零零"),
]
EN_RATES = [
    ("8.2765", "eight point two seven six five"), ("7.1000", "seven point one zero zero zero"),
    ("110.25", "one hundred ten point two five"),
]

TABLE = (
    [("number", v, "zh", {}, t) for v, t in ZH_NUMBERS]
    + [("number", v, "en", {}, t) for v, t in EN_NUMBERS]
    + [("money", v, "zh", o, t) for v, o, t in ZH_MONEY]
    + [("money", v, "en", {}, t) for v, t in EN_MONEY]
    + [("digits", v, "zh", o, t) for v, o, t in ZH_DIGITS]
    + [("digits", v, "en", {}, t) for v, t in EN_DIGITS]
    + [("date", v, "zh", o, t) for v, o, t in ZH_DATES]
    + [("date", v, "en", o, t) for v, o, t in EN_DATES]
    + [("time", v, "zh", {}, t) for v, t in ZH_TIMES]
    + [("time", v, "en", {}, t) for v, t in EN_TIMES]
    + [("percent", v, "zh", {}, t) for v, t in ZH_PERCENT]
    + [("percent", v, "en", {}, t) for v, t in EN_PERCENT]
    + [("rate", v, "zh", {}, t) for v, t in ZH_RATES]
    + [("rate", v, "en", {}, t) for v, t in EN_RATES]
)


def test_the_table_has_at_least_200_cases():
    assert len(TABLE) >= 200


@pytest.mark.parametrize("kind,value,lang,options,expected", TABLE,
                         ids=[f"{k}-{l}-{v!r}{'-' + ','.join(o) if o else ''}" for k, v, l, o, _ in TABLE])
def test_reference_table(kind, value, lang, options, expected):
    said = say.say(kind, value, lang, **options)
    assert said.text == expected
    assert said.prompts == [f"{lang}/{i}" for i in said.ids]


def test_prompt_ids_of_the_money_example():
    assert say.prompts("money", "100500.30", "zh") == [
        "zh/units/ten", "zh/units/wan", "zh/digits/0", "zh/digits/5", "zh/units/hundred",
        "zh/money/yuan", "zh/digits/3", "zh/money/jiao"]
    assert say.prompts("money", "2", "zh") == ["zh/digits/liang", "zh/money/yuan", "zh/words/zheng"]
    assert say.prompts("digits", "91", "zh") == ["zh/digits/9", "zh/digits/yao"]
    assert say.prompts("money", "100500.30", "en") == [
        "en/digits/1", "en/units/hundred", "en/units/thousand", "en/digits/5", "en/units/hundred",
        "en/money/yuan", "en/words/and", "en/numbers/30", "en/money/fen"]


# --- independent readers ------------------------------------------------------------------

ZH_DIGIT = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2, "幺": 1}
ZH_PLACE = {"十": 10, "百": 100, "千": 1000}


def zh_to_int(text):
    """Read a Chinese integer back, strictly: places fall inside a group, only 十 may stand
    without a digit, and 零 is never doubled or last."""
    assert text == "零" or not text.endswith("零"), text
    assert "零零" not in text, text
    yi = wan = group = 0
    digit = None
    last_place = 10 ** 4
    for ch in text:
        if ch == "零":
            assert digit is None, text
        elif ch in ZH_DIGIT:
            assert digit is None, text
            digit = ZH_DIGIT[ch]
        elif ch in ZH_PLACE:
            assert ZH_PLACE[ch] < last_place, text
            assert digit is not None or ch == "十", text
            group += (1 if digit is None else digit) * ZH_PLACE[ch]
            digit, last_place = None, ZH_PLACE[ch]
        elif ch == "万":
            wan, group, digit, last_place = group + (digit or 0), 0, None, 10 ** 4
            assert wan, text
        elif ch == "亿":
            yi = wan * 10 ** 4 + group + (digit or 0)
            wan, group, digit, last_place = 0, 0, None, 10 ** 4
            assert yi, text
        else:
            raise AssertionError(f"unexpected {ch!r} in {text!r}")
    return yi * 10 ** 8 + wan * 10 ** 4 + group + (digit or 0)


def zh_expected_ling(n):
    """零 count from the digits alone: drop each non-zero 4-digit group's trailing zeros (its
    unit closes them); then every run of zeros followed by a non-zero digit is one 零."""
    s = str(n)
    groups = [s[max(0, i - 4):i] for i in range(len(s), 0, -4)][::-1]
    kept = "".join(g.rstrip("0") if int(g) else g for g in groups)
    return len(re.findall(r"0+(?=[1-9])", kept))


def zh_expected_liang(n):
    """两 count: a 2 in a group's 百 or 千 place, and a group worth exactly 2 before 万/亿."""
    s = str(n).rjust(16, "0")
    groups = [s[i:i + 4] for i in range(0, 16, 4)]           # 万亿, 亿, 万, ones
    places = sum(g[0] == "2" for g in groups) + sum(g[1] == "2" for g in groups)
    return places + sum(int(g) == 2 for g in groups[:3])


EN_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
EN_WORDS |= {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
EN_SCALE = {"thousand": 10 ** 3, "million": 10 ** 6, "billion": 10 ** 9, "trillion": 10 ** 12}


def en_to_int(text):
    total = current = 0
    last_scale = 10 ** 15
    for word in text.replace("-", " ").split():
        if word in EN_WORDS:
            current += EN_WORDS[word]
        elif word == "hundred":
            assert 0 < current < 10, text
            current *= 100
        else:
            assert EN_SCALE[word] < last_scale and 0 < current < 1000, text
            total += current * EN_SCALE[word]
            current, last_scale = 0, EN_SCALE[word]
    return total + current


def zh_money_to_fen(text):
    negative = text.startswith("负")
    text = text.removeprefix("负")
    m = re.fullmatch(r"(?:(.+)元)?(?:(.)角)?(零)?(?:(.)分)?(整)?", text)
    assert m, text
    yuan, jiao, ling, fen, zheng = m.groups()
    total = (zh_to_int(yuan) if yuan else 0) * 100 + (ZH_DIGIT[jiao] * 10 if jiao else 0) \
        + (ZH_DIGIT[fen] if fen else 0)
    assert bool(zheng) == bool(yuan and yuan != "零" and not jiao and not fen), text
    assert bool(ling) == bool(yuan and not jiao and fen), text
    return -total if negative else total


# --- properties -----------------------------------------------------------------------------

integers = st.integers(min_value=0, max_value=10 ** 13 - 1)
# Numbers built from sparse digits hit the zero and group rules more often than uniform ones.
sparse = st.lists(st.sampled_from("0000000122"), min_size=1, max_size=13).map(lambda d: int("".join(d)))


@settings(max_examples=300)
@given(st.one_of(integers, sparse))
def test_zh_integers_read_back_exactly(n):
    text = say.text("number", n, "zh")
    assert zh_to_int(text) == n
    assert text.count("零") == (zh_expected_ling(n) if n else 1)
    assert text.count("两") == zh_expected_liang(n)
    assert not re.search("二[百千]", text)
    assert text.count("亿") == (n >= 10 ** 8)
    assert text.count("万") == (n // 10 ** 4 % 10 ** 4 > 0) + (n >= 10 ** 12)
    # 十 opens a number whose leading group is 10-19; elsewhere 十 has its digit (一十).
    lead = int(str(n)[:len(str(n)) % 4 or 4])
    assert text.startswith("十") == (10 <= lead <= 19)
    assert all(text[i - 1] in ZH_DIGIT and text[i - 1] != "零" for i, c in enumerate(text) if c == "十" and i)


@given(integers, st.booleans(), st.text("0123456789", max_size=6))
def test_zh_decimals_and_signs_read_back(n, negative, frac):
    value = ("-" if negative else "") + str(n) + ("." + frac if frac else "")
    text = say.text("number", value, "zh")
    frac = frac.rstrip("0")
    zero = n == 0 and not frac
    assert text.startswith("负") == (negative and not zero)
    whole, _, decimals = text.removeprefix("负").partition("点")
    assert zh_to_int(whole) == n
    assert decimals == "".join("零一二三四五六七八九"[int(d)] for d in frac)


@settings(max_examples=300)
@given(st.one_of(integers, sparse))
def test_en_integers_read_back_exactly(n):
    text = say.text("number", n, "en")
    assert en_to_int(text) == n
    assert " and " not in text


@given(st.integers(min_value=-(10 ** 15) + 1, max_value=10 ** 15 - 1))
def test_money_reads_back_to_the_same_fen(fen):
    text = say.text("money", fen, "zh")
    assert zh_money_to_fen(text) == fen
    sign = "-" if fen < 0 else ""
    assert say.text("money", f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}", "zh") == text
    en = say.text("money", fen, "en")
    m = re.fullmatch(r"(minus )?(?:(.+) yuan)?(?: and )?(?:(.+) fen)?", en)
    yuan = en_to_int(m[2]) if m[2] else 0
    cents = en_to_int(m[3]) if m[3] else 0
    assert (-1 if m[1] else 1) * (yuan * 100 + cents) == fen
    assert (" and " in en) == bool(yuan and cents)


@given(st.dates(min_value=datetime.date(1000, 1, 1)), st.booleans())
def test_dates_read_back(day, weekday):
    text = say.text("date", day.isoformat(), "zh", weekday=weekday)
    m = re.fullmatch(r"(.{4})年(.+?)月(.+?)日(星期.)?", text)
    assert m and bool(m[4]) == weekday
    year = int("".join(str(ZH_DIGIT[c]) for c in m[1]))
    assert "两" not in text and "幺" not in text
    assert datetime.date(year, zh_to_int(m[2]), zh_to_int(m[3])) == day
    if weekday:
        assert m[4] == "星期" + "一二三四五六日"[day.weekday()]


@given(st.times())
def test_times_read_back(t):
    text = say.text("time", t.strftime("%H:%M"), "zh")
    m = re.fullmatch(r"(凌晨|上午|中午|下午|晚上)(.+)点(?:整|(零)?(.+)分)", text)
    assert m, text
    period, hour, ling, minute = m.groups()
    h = zh_to_int(hour)
    assert (h == 2) == ("两" in hour)
    assert {"凌晨": range(0, 6), "上午": range(6, 12), "中午": [12], "下午": range(13, 18),
            "晚上": range(18, 24)}[period].count(t.hour)
    assert (h + 12 if period in ("下午", "晚上") else h) == t.hour
    assert (zh_to_int(minute) if minute else 0) == t.minute
    assert bool(ling) == (0 < t.minute < 10)
    en = say.text("time", t, "en")
    m = re.fullmatch(r"(.+?)(?: oh (\w+)| (.+))? ([ap])\.m\.", en)
    h12 = en_to_int(m[1])
    assert (h12 % 12 + (12 if m[4] == "p" else 0)) == t.hour
    assert en_to_int(m[2] or m[3] or "zero") == t.minute


@given(st.text("0123456789*#", min_size=1, max_size=20), st.booleans())
def test_digit_strings_read_back(digits, yao):
    names = dict(zip("0123456789", "零一二三四五六七八九")) | {"*": "星号", "#": "井号"}
    if yao:
        names["1"] = "幺"
    assert say.text("digits", digits, "zh", yao=yao) == "".join(names[c] for c in digits)


@given(st.sampled_from(say.TYPES), st.sampled_from(say.LANGS), st.data())
def test_every_prompt_id_exists_in_the_table_for_its_language(kind, lang, data):
    value = data.draw({
        "number": st.integers(min_value=-(10 ** 13) + 1, max_value=10 ** 13 - 1),
        "digits": st.text("0123456789*#", min_size=1, max_size=12),
        "money": st.integers(min_value=-(10 ** 15) + 1, max_value=10 ** 15 - 1),
        "date": st.dates(min_value=datetime.date(1000, 1, 1)),
        "time": st.times(),
        "percent": st.decimals(min_value=-1000, max_value=1000, places=3),
        "rate": st.decimals(min_value=0, max_value=10000, places=4),
    }[kind])
    said = say.say(kind, value, lang)
    table = say.builtin_texts()
    assert all(lang in table[i] for i in said.ids)
    assert said.text.replace(" ", "").replace("-", "") == "".join(table[i][lang] for i in said.ids).replace(" ", "")


# --- errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,value,options,message", [
    ("number", 10 ** 13, {}, "say number: 10000000000000 has 14 integer digits; at most 13"),
    ("number", "1e5", {}, "say number: '1e5' is not a decimal number"),
    ("number", "abc", {}, "not a decimal number"),
    ("number", True, {}, "say number: True is not a number"),
    ("number", float("nan"), {}, "not a finite number"),
    ("number", [1], {}, "say number: cannot read a list"),
    ("money", 12.5, {}, "say money: 12.5 is a float; give integer fen"),
    ("money", "1.234", {}, "say money: '1.234' has 3 decimal places"),
    ("money", 10 ** 15 + 5, {}, "more than 13 digits of yuan"),
    ("digits", 95588, {}, "say digits: give digit strings as text"),
    ("digits", "12a", {}, "say digits: '12a': character 'a'"),
    ("digits", " - ", {}, "no digits"),
    ("date", "2026/11/25", {}, "say date: '2026/11/25' is not a date like 2026-11-25"),
    ("date", "2026-02-30", {}, "say date: '2026-02-30': day is out of range"),
    ("date", "0999-01-01", {}, "year 999 has fewer than 4 digits"),
    ("time", "24:00", {}, "say time: '24:00': hour must be 0-23"),
    ("time", "7pm", {}, "say time: '7pm' is not a time like 14:05"),
    ("rate", 8.2765, {}, "say rate: give the quote as a string or Decimal"),
    ("money", "1", {"weekday": True}, "say money: unknown option 'weekday' (options: colloquial)"),
    ("time", "12:00", {"x": 1}, "say time: unknown option 'x' (options: none)"),
])
def test_bad_values_give_one_clear_error(kind, value, options, message):
    with pytest.raises(ConfigError) as err:
        say.say(kind, value, "zh", **options)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_unknown_type_and_language():
    with pytest.raises(ConfigError, match="say: unknown type 'ordinal' .choose from number, digits"):
        say.say("ordinal", 1)
    with pytest.raises(ConfigError, match="say number: unknown language 'fr' .choose from zh, en"):
        say.say("number", 1, "fr")


# --- the command ---------------------------------------------------------------------------

def test_ivr_say_prints_the_money_example_as_a_real_process():
    done = subprocess.run([sys.executable, "-m", "ivr.cli", "say", "money", "100500.30", "--lang", "zh"],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, "十万零五百元三角\n", "")


@pytest.mark.parametrize("argv,out", [
    (["say", "money", "100500.30", "--prompts"],
     "zh/units/ten zh/units/wan zh/digits/0 zh/digits/5 zh/units/hundred zh/money/yuan zh/digits/3 zh/money/jiao"),
    (["say", "money", "100500.30", "--lang", "en"], "one hundred thousand five hundred yuan and thirty fen"),
    (["say", "money", "-1250", "--fen"], "负十二元五角"),
    (["say", "money", "12.50", "--colloquial"], "十二块五毛"),
    (["say", "number", "-110"], "负一百一十"),
    (["say", "digits", "95588"], "九五五八八"),
    (["say", "digits", "110", "--no-yao"], "一一零"),
    (["say", "date", "2026-11-25", "--weekday"], "二零二六年十一月二十五日星期三"),
    (["say", "time", "14:05", "--lang", "en"], "two oh five p.m."),
    (["say", "percent", "2.25%"], "百分之二点二五"),
    (["say", "rate", "8.2765"], "八点二七六五"),
])
def test_ivr_say(capsys, argv, out):
    assert cli.main(argv) == 0
    assert capsys.readouterr().out == out + "\n"


@pytest.mark.parametrize("argv,message", [
    (["say", "number", "12", "--weekday"], "ivr: error: --weekday applies to the type date, not number"),
    (["say", "money", "12.5", "--fen"], "ivr: error: --fen: '12.5' is not an integer number of fen"),
    (["say", "money", "1.234"], "ivr: error: say money: '1.234' has 3 decimal places"),
    (["say", "date", "2026-13-01"], "ivr: error: say date: '2026-13-01': month must be in 1..12"),
])
def test_ivr_say_errors_are_one_line(capsys, argv, message):
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1
