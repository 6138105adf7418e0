"""Read an input cell the way an accountant meant it.

A workbook filled in Excel or WPS holds what was typed: numbers stored as text, thousands
separators, full-width digits from a Chinese IME, “96.42%” or 96.42 in a percent cell, “40000元”
in a 万元 cell, (12.5) for a negative, “Y” or “√” for 是.  `normalise` turns such a raw cell value
(what python-calamine, openpyxl or `xlsx.reader` gives: None, str, float, int, bool, a date or
time) into the value the workbook's formulas and the engine use, and says in a Chinese note what
it changed; or it returns `Invalid` with what was expected and what was found, in the words of
strict coercion (`jixiao fill`), for a message “{expected}，实际为{found}”.

This is the ``lax`` mode of the field types (`jixiao.framework.field_types`): a type decides
which units fit it, its bounds and what a bare number in a percent cell means; this module
reads the characters and numbers.

Lenient only where the meaning is not in doubt: “1,23” (a decimal comma?), “十二”, a date where
an amount belongs, a unit that does not fit the field are never guessed at."""

from __future__ import annotations

import datetime as _dt
import difflib
import functools
import math
import re
from decimal import Decimal

from jixiao.framework import field_types
from jixiao.framework.field_types import NO, YES, FieldError, Value
from jixiao.framework.model import Field
from jixiao.textformat import plain_text as _num
from jixiao.xlsx.errors import ALL as _ERROR_VALUES

__all__ = ["Normalised", "Invalid", "normalise"]

# The field types' records under the names the checker reads them by: Normalised(value, note),
# Invalid(expected “应为……” / “应不小于0”, found 文本“十二” / 日期 2021-03-31 / 数值 12.5, code).
Normalised = Value
Invalid = FieldError

# --------------------------------------------------------------------------- characters

# Whitespace Excel users produce: full-width space (IME), NBSP (pasted from web pages or Word),
# the other Unicode spaces, Alt+Enter line breaks; zero-width characters and BOMs vanish.
_SPACE_CHARS = " \t\n\r\f\v\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_STRIP = _SPACE_CHARS + _INVISIBLE
STRIP = _STRIP  # what `is_blank` and text reading strip (the field types' shortcuts)
_SPACES = str.maketrans({**{c: " " for c in _SPACE_CHARS}, **{c: None for c in _INVISIBLE}})

# Full-width ASCII (！…～, incl. ０-９ － ． ， ％ （ ）) → ASCII; minus signs and the IME full stop.
_FW = str.maketrans({
    **{chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)},
    "\u2212": "-", "\ufe63": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-",
    "。": ".", "\uff61": ".",
})
_FW_DIGITS = frozenset("０１２３４５６７８９")

# For matching a choice: full-/half-width punctuation and quotes fold together, spaces go.
_CHOICE_KEY = str.maketrans({
    **{chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)},
    "\uff64": "、", "“": '"', "”": '"', "‘": "'", "’": "'", "。": ".", "\uff61": ".",
    **{c: None for c in _STRIP},
})

# --------------------------------------------------------------------------- numbers in text

_NUMBER = re.compile(r"([+-]?)\s*((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)([eE][+-]?\d+)?")


@functools.lru_cache(maxsize=8)
def _unit_pattern(words: frozenset[str]) -> re.Pattern[str]:
    """A unit after the number: any unit some field type reads (万元 before 元), so that one
    which does not fit the field is named in the message rather than called “not a number”."""
    return re.compile(r"\s*(" + "|".join(map(re.escape, sorted(words, key=lambda w: (-len(w), w)))) + ")$")


# What people type for “nothing”: never read as 0 or as empty, the unit must say which.
_PLACEHOLDERS = frozenset({"-", "--", "—", "——", "–", "/", "\\", "无", "空", "n/a", "N/A", "NA", "null"})

# --------------------------------------------------------------------------- yes / no

_YES_WORDS = frozenset({YES, "y", "yes", "有", "√", "✓", "✔", "true", "1"})
_NO_WORDS = frozenset({NO, "n", "no", "无", "×", "✗", "✘", "false", "0"})


# --------------------------------------------------------------------------- describing

def _quote(text: str) -> str:
    return "“" + (text if len(text) <= 40 else text[:40] + "…") + "”"


def _date_text(value: object) -> str:
    if isinstance(value, _dt.datetime):
        if value.time() == _dt.time():
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M:%S" if value.second else "%Y-%m-%d %H:%M")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, _dt.time):
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    return str(value)


def _describe(raw: object) -> str:
    """How the raw value looked, for Invalid.found."""
    if isinstance(raw, bool):
        return f"逻辑值 {'TRUE' if raw else 'FALSE'}"
    if isinstance(raw, (int, float)):
        try:
            x = float(raw)
        except OverflowError:
            return f"数值 {raw}"
        if math.isnan(x):
            return "数值 NaN"
        if math.isinf(x):
            return "数值 无穷大" if x > 0 else "数值 负无穷大"
        return f"数值 {_num(x)}"
    if isinstance(raw, str):
        shown = raw.strip(_STRIP)
        if shown in _ERROR_VALUES:
            return f"错误值 {shown}"
        return "文本" + _quote(shown)
    if isinstance(raw, (_dt.datetime, _dt.date)):
        return f"日期 {_date_text(raw)}"
    if isinstance(raw, _dt.time):
        return f"时间 {_date_text(raw)}"
    if isinstance(raw, _dt.timedelta):
        return f"时长 {raw}"
    return type(raw).__name__


def _expected(field: Field) -> str:
    return field.kind.expected(field)


def invalid(field: Field, raw: object, code: str, expected: str | None = None, hint: str = "") -> Invalid:
    return Invalid(_expected(field) if expected is None else expected, _describe(raw) + hint, code, input=raw)


# --------------------------------------------------------------------------- entry point

def normalise(field: Field, raw: object) -> Normalised | Invalid:
    """The value of one input cell for `field`, with a note on what was changed, or Invalid."""
    return field.kind.coerce(field, raw, "lax")


def is_blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip(_STRIP))


# --------------------------------------------------------------------------- text

def _text(raw: object) -> Normalised:
    if isinstance(raw, str):
        value = raw.strip(_STRIP)
        return Normalised(value, None if value == raw else "已去除首尾空格")
    if isinstance(raw, bool):
        value = "TRUE" if raw else "FALSE"
        return Normalised(value, f"逻辑值按文本“{value}”读取")
    if isinstance(raw, (int, float)):
        if isinstance(raw, int):
            value, long = str(raw), abs(raw) >= 10**15
        elif not math.isfinite(raw):
            value, long = str(raw), False
        else:
            # a phone number or code typed as a number: 13800138000, not 13800138000.0
            value, long = (str(int(raw)) if raw.is_integer() and abs(raw) < 1e15 else _num(raw)), abs(raw) >= 1e15
        note = f"数值按文本“{value}”读取"
        if long:
            note += "（超过15位的数字 Excel 只保留前15位，编码等请先将单元格设为文本格式再填写）"
        return Normalised(value, note)
    if isinstance(raw, (_dt.date, _dt.time)):
        value = _date_text(raw)
        return Normalised(value, f"{'时间' if isinstance(raw, _dt.time) else '日期'}按文本“{value}”读取")
    value = str(raw)
    return Normalised(value, f"按文本“{value}”读取")


# --------------------------------------------------------------------------- yes / no

def _yesno(field: Field, raw: object) -> Normalised | Invalid:
    if isinstance(raw, bool):
        answer = YES if raw else NO
        return Normalised(answer, f"逻辑值 {'TRUE' if raw else 'FALSE'} 按“{answer}”读取")
    if isinstance(raw, (int, float)):
        if raw == 1 or raw == 0:
            answer = YES if raw == 1 else NO
            return Normalised(answer, f"数值 {_num(float(raw))} 按“{answer}”读取")
        return invalid(field, raw, "not_yes_no")
    if not isinstance(raw, str):
        return invalid(field, raw, "not_yes_no")
    shown = raw.strip(_STRIP)
    if shown == YES or shown == NO:
        return Normalised(shown, None if shown == raw else "已去除首尾空格")
    key = shown.translate(_FW).casefold()
    if key in _YES_WORDS:
        return Normalised(YES, f"{_quote(shown)}按“{YES}”读取")
    if key in _NO_WORDS:
        return Normalised(NO, f"{_quote(shown)}按“{NO}”读取")
    return invalid(field, raw, "not_yes_no")


# --------------------------------------------------------------------------- choice

_choice_keys: dict[tuple[str, ...], dict[str, str | None]] = {}


def _keys(options: tuple[str, ...]) -> dict[str, str | None]:
    keys = _choice_keys.get(options)
    if keys is None:
        keys = {}
        for option in options:
            key = option.translate(_CHOICE_KEY)
            keys[key] = None if key in keys else option  # two options folding together: ambiguous
        _choice_keys[options] = keys
    return keys


def _choice(field: Field, raw: object) -> Normalised | Invalid:
    options = field.options
    if isinstance(raw, str):
        if raw in options:
            return Normalised(raw, None)
        shown = raw.strip(_STRIP)
        if shown in options:
            return Normalised(shown, "已去除首尾空格")
        option = _keys(options).get(shown.translate(_CHOICE_KEY))
        if option is not None:
            return Normalised(option, f"{_quote(shown)}按选项“{option}”读取（全角/半角标点或空格不同）")
        close = difflib.get_close_matches(shown, options, n=1)
        hint = f"（是否为“{close[0]}”？）" if close else ""
        return invalid(field, raw, "not_an_option", hint=hint)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if isinstance(raw, int) or math.isfinite(raw):
            text = str(raw) if isinstance(raw, int) else _num(raw)
            option = text if text in options else _keys(options).get(text)
            if option is not None:
                return Normalised(option, f"数值 {text} 按选项“{option}”读取")
    return invalid(field, raw, "not_an_option")


# --------------------------------------------------------------------------- numbers

def _numeric(field: Field, raw: object) -> Normalised | Invalid:
    if isinstance(raw, str):
        return _numeric_text(field, raw)
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return invalid(field, raw, "wrong_type")
    try:
        x = float(raw) + 0.0
    except OverflowError:
        return invalid(field, raw, "not_finite")
    if not math.isfinite(x):
        return invalid(field, raw, "not_finite")
    note = None
    fraction = field.kind.bare_percent(field, x, None)
    if fraction is not None:
        note = f"数值 {_num(x)} 按 {_num(x)}% 即 {_num(fraction)} 读取"
        x = fraction
    return _checked(field, raw, x, note)


def _numeric_text(field: Field, raw: str) -> Normalised | Invalid:
    spaced_text = raw.translate(_SPACES)
    text = spaced_text.strip()
    spaced = spaced_text != raw or " " in text or text != spaced_text
    shown = raw.strip(_STRIP)
    if shown in _ERROR_VALUES:
        return invalid(field, raw, "error_value")
    half = text.translate(_FW)
    if half in _PLACEHOLDERS or half.casefold() in _PLACEHOLDERS:
        return invalid(field, raw, "placeholder", _expected(field) + "，如为零请填0")

    # (12.5), (12.5)万元, (12.5万元): accountants' negatives
    body, negative = half, False
    if body[:1] == "(" and body[-1:] == ")":
        body, negative = body[1:-1].strip(), True
    unit = None
    if field.unit and body.endswith(field.unit) and len(body) > len(field.unit):
        unit, body = field.unit, body[: -len(field.unit)].rstrip()
    else:
        m = _unit_pattern(field_types.unit_words()).search(body)
        if m:
            unit, body = m.group(1), body[: m.start()]
    if not negative and body[:1] == "(" and body[-1:] == ")":
        body, negative = body[1:-1].strip(), True
    m = _NUMBER.fullmatch(body)
    if m is None or (negative and m.group(1)):
        return invalid(field, raw, "not_a_number")
    sign, digits, exponent = m.groups()
    number = Decimal(digits.replace(",", "") + (exponent or ""))
    if negative or sign == "-":
        number = -number

    # the unit: does it fit the field, and what does it scale by?
    kind, quoted = field.kind, _quote(shown)
    base = ""
    if unit is not None and unit != field.unit:
        scaled = kind.read_unit(field, unit, number)  # the type says which units fit it
        if scaled is None:
            return _wrong_unit(field, raw, unit)
        number, base = scaled
    x = float(number) + 0.0  # "+ 0.0": -0 → 0
    if not math.isfinite(x):  # 1e999
        return invalid(field, raw, "not_finite")

    fraction = kind.bare_percent(field, x, number) if unit != "%" else None
    if fraction is not None:
        note = f"文本{quoted}按 {_num(x)}% 即 {_num(fraction)} 读取"
        x = fraction
    elif unit is None:
        note = f"文本{quoted}按数值 {_num(x)} 读取"
    elif unit == "%":
        note = f"{quoted}按 {_num(x)} 读取"
    elif base:
        note = f"{quoted}按 {_num(x)} {base}读取（已由{unit}换算为{base}）"
    elif field.unit:
        note = f"{quoted}按 {_num(x)} {field.unit}读取"
    else:
        note = f"{quoted}按 {_num(x)} 读取"
    if negative:
        note += "（括号表示负数）"
    if half != text:
        note += "；全角数字已转换" if any(c in _FW_DIGITS for c in text) else "；全角符号已转换"
    if spaced:
        note += "；已去除多余空格"
    return _checked(field, raw, x, note)


def _wrong_unit(field: Field, raw: object, unit: str) -> Invalid:
    return invalid(field, raw, "wrong_unit", f"{_expected(field)}，不能以“{unit}”为单位")


def bound_error(field: Field, raw: object, word: str, limit: float, code: str, percent: bool) -> Invalid:
    """A number beyond the field's bounds: “应不小于0（0%）”."""
    pct = f"（{_num(limit * 100)}%）" if percent else ""
    return invalid(field, raw, code, f"应{word}{_num(limit)}{pct}")


def _checked(field: Field, raw: object, x: float, note: str | None) -> Normalised | Invalid:
    """Whole-number, year and range checks on the number read from the cell."""
    return field.kind.check(field, raw, x, note, "lax")


# what the field types call (`FieldType._lax`)
read_text, read_yesno, read_choice, read_number = _text, _yesno, _choice, _numeric
