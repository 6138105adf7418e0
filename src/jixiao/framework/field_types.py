"""The field types: one object per type owns what may be typed into a field of that type.

Each type says, for a field: the allowed-values text (the words of the 填表说明 and of every
error message), the bounds, how a raw value is coerced -- ``strict`` is what `jixiao fill`
accepts from a data file, ``lax`` what `jixiao check` accepts from a workbook, with a note on
what it changed -- the number format of its input cell and its data validation, as data.

A new type is one `register` call; the loader, the generator, the checker and `fill` ask the
registry and need no change.  What they hand back is in `field_records`.  No openpyxl here:
`workbook.generator` turns a `Validation` into a DataValidation.  The lax reading of typed text
(full-width digits, units, placeholders) is `checker.normalize`, which the types call."""

from __future__ import annotations

import difflib
import math
import sys
from collections.abc import Iterator, Set
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Literal

from jixiao.framework.field_records import EMPTY, FieldError, Validation, Value
from jixiao.framework.spec import describe_value
from jixiao.numeric import decimal15

if TYPE_CHECKING:
    from jixiao.framework.model import Field

__all__ = ["FieldType", "Value", "FieldError", "Validation", "Mode", "register", "get", "field_type",
           "names", "YES", "NO", "LONGTEXT_LIMIT", "YEARS", "GENERAL", "generation"]

YES, NO = "是", "否"
LONGTEXT_LIMIT = 32767  # characters in one Excel cell
YEARS = (2000, 2100)  # what a 评价年度 may be: the year type's range, and `jixiao template --year`

Mode = Literal["strict", "lax"]

# What a `lax_shortcut` answers for a cell it leaves to the general path (`coerce`).
GENERAL = object()


def _g(x: float) -> str:
    return f"{x:g}"


_READ: list[Any] = []


def _reader() -> Any:
    """The lax reading of typed cells, imported when first needed: it imports this module."""
    if not _READ:
        from jixiao.checker import normalize

        _READ.append(normalize)
    return _READ[0]


# --------------------------------------------------------------------------- strict: `fill`

def option_hint(value: str, options: tuple[str, ...]) -> str:
    """A hint only where it is unambiguous: the one option that contains what was typed, or a
    spelling nearly the same (a loose match can mean the opposite: 已公开 is nearest to 未公开)."""
    containing = [o for o in options if value and value in o]
    close = containing if len(containing) == 1 else difflib.get_close_matches(value, options, n=1, cutoff=0.85)
    return f"（是否为“{close[0]}”？）" if close else ""


# --------------------------------------------------------------------------- the types

class FieldType:
    """A field type; subclasses below, one instance per type in the registry."""

    numeric = False
    text = False  # free text (placed verbatim where a narrative belongs)
    integral = False
    needs_options = False  # a field of this type lists its `options`
    number_format = "@"
    default_minimum: float | None = None  # what a form field gets when its YAML gives no min/max
    default_maximum: float | None = None

    def __init__(self, name: str, **attrs: Any):
        self.name = name
        for key, value in attrs.items():
            if not hasattr(type(self), key):
                raise TypeError(f"{type(self).__name__} has no attribute {key!r}")
            setattr(self, key, value)

    def __repr__(self) -> str:
        return f"<field type {self.name}>"

    # what may be typed
    def allowed(self, field: Field) -> str:
        """What may be typed, in the words the 填表说明 and error messages use."""
        raise NotImplementedError

    def expected(self, field: Field) -> str:
        return f"应为{self.allowed(field)}"

    def unit_in(self, table_unit: str) -> str:
        """The unit a field of this type takes from its table when its YAML names none."""
        return ""

    def validation(self, field: Field) -> Validation:
        raise NotImplementedError

    def _messages(self, field: Field, **rule: Any) -> Validation:
        allowed = self.allowed(field)
        return Validation(**rule, prompt=allowed[:250], error=f"此处应填写{allowed}。")

    # coercion
    def coerce(self, field: Field, raw: object, mode: Mode = "strict") -> Value | FieldError:
        """The value as the workbook stores it, or the one error saying why not."""
        if mode == "strict":
            if raw is None or raw == "":
                return EMPTY
            return self._strict(field, raw)
        if mode == "lax":
            read = _reader()
            return EMPTY if read.is_blank(raw) else self._lax(field, raw, read)
        raise ValueError(f"mode must be 'strict' or 'lax', not {mode!r}")

    def _strict(self, field: Field, raw: object) -> Value | FieldError:
        raise NotImplementedError

    def _lax(self, field: Field, raw: object, read: Any) -> Value | FieldError:
        raise NotImplementedError

    def lax_shortcut(self, field: Field) -> Callable[[object], object]:
        """For one field, a callable answering the commonest cells cheaply (a check reads ~220
        per workbook): the value `coerce(field, raw, "lax")` gives when it gives `Value(value)`
        with no note (None for an empty cell), else GENERAL -- then `coerce` it.  Built once
        per framework; only the types' own `coerce`/`_lax` are short-cut, a subclass that
        overrides them gets the general path for every non-empty cell."""
        if type(self).coerce is not FieldType.coerce:
            return lambda raw: GENERAL
        return self._quick(field) or (lambda raw: None if raw is None else GENERAL)

    def _quick(self, field: Field) -> Callable[[object], object] | None:
        """The type's shortcut (see `lax_shortcut`), or None."""
        return None

    def _strict_error(self, field: Field, raw: object, code: str, suffix: str = "") -> FieldError:
        expected, found = self.expected(field), describe_value(raw) + suffix
        return FieldError(expected, found, code, f"{expected}，实际为 {found}", raw)


class TextType(FieldType):
    text = True
    limit = 500  # characters, as the data validation says
    words = "文本"

    def allowed(self, field: Field) -> str:
        return self.words.format(limit=self.limit)

    def validation(self, field: Field) -> Validation:
        return self._messages(field, type="textLength", operator="lessThanOrEqual", formula1=str(self.limit))

    def _strict(self, field: Field, raw: object) -> Value | FieldError:
        if isinstance(raw, (str, int, float)) and not isinstance(raw, bool):
            return Value(str(raw))
        return self._strict_error(field, raw, "wrong_type")

    def _lax(self, field: Field, raw: object, read: Any) -> Value | FieldError:
        return read.read_text(raw)

    def _quick(self, field: Field) -> Callable[[object], object] | None:
        if type(self)._lax is not TextType._lax or self.numeric:  # numeric text: the checker's own test
            return None
        strip = _reader().STRIP

        def quick(raw: object) -> object:
            if raw is None:
                return None
            if type(raw) is str:
                value = raw.strip(strip)
                # blank: empty; unchanged: as typed; stripped: the general path has a note
                return None if not value else raw if value == raw else GENERAL
            return GENERAL
        return quick


class YesNoType(FieldType):
    def allowed(self, field: Field) -> str:
        return f"“{YES}”或“{NO}”"

    def validation(self, field: Field) -> Validation:
        return self._messages(field, type="list", operator=None, formula1=f'"{YES},{NO}"')

    def _strict(self, field: Field, raw: object) -> Value | FieldError:
        if raw is True or raw == YES:
            return Value(YES)
        if raw is False or raw == NO:
            return Value(NO)
        return self._strict_error(field, raw, "not_yes_no")

    def _lax(self, field: Field, raw: object, read: Any) -> Value | FieldError:
        return read.read_yesno(field, raw)

    def _quick(self, field: Field) -> Callable[[object], object] | None:
        if type(self)._lax is not YesNoType._lax:
            return None
        return lambda raw: None if raw is None else raw if type(raw) is str and (raw == YES or raw == NO) else GENERAL


class ChoiceType(FieldType):
    needs_options = True

    def allowed(self, field: Field) -> str:
        return "以下之一：" + "；".join(field.options)

    def validation(self, field: Field) -> Validation:
        return self._messages(field, type="list", operator=None, formula1='"' + ",".join(field.options) + '"')

    def _strict(self, field: Field, raw: object) -> Value | FieldError:
        if raw in field.options:
            return Value(raw)
        return self._strict_error(field, raw, "not_an_option", option_hint(str(raw), field.options))

    def _lax(self, field: Field, raw: object, read: Any) -> Value | FieldError:
        return read.read_choice(field, raw)

    def _quick(self, field: Field) -> Callable[[object], object] | None:
        if type(self)._lax is not ChoiceType._lax:
            return None
        strip = _reader().STRIP
        options = frozenset(o for o in field.options if o.strip(strip))  # a blank option reads as empty
        return lambda raw: None if raw is None else raw if type(raw) is str and raw in options else GENERAL


class NumberType(FieldType):
    """A number typed into a cell: an amount, a ratio, a score, a count, a year."""

    numeric = True
    number_format = "0.00"
    words = "不小于{low}{high}的数值{unit}"  # {low}/{high}: the field's bounds; {unit}: （单位：…）
    floor: float | None = None  # the bounds a field has when it states none
    ceiling: float | None = None
    range_words = False  # out of bounds is a wrong kind of value (年份), not a number too large
    percent = False  # a bound is also shown as a percentage
    unit_words: frozenset[str] = frozenset()  # units that may follow the number as typed
    validation_type = "decimal"
    validation_range: tuple[float, float] = (0, 1e12)  # for the bounds a field leaves open

    def allowed(self, field: Field) -> str:
        low = 0 if field.minimum is None else field.minimum
        high = "" if field.maximum is None else f"、不大于{field.maximum:g}"
        unit = f"（单位：{field.unit}）" if field.unit else ""
        return self.words.format(low=_g(low), high=high, unit=unit)

    def bounds(self, field: Field) -> tuple[float | None, float | None]:
        """The range a value must lie in: the field's own, or the type's."""
        return (self.floor if field.minimum is None else field.minimum,
                self.ceiling if field.maximum is None else field.maximum)

    def validation(self, field: Field) -> Validation:
        low, high = self.bounds(field)
        low = self.validation_range[0] if low is None else low
        high = self.validation_range[1] if high is None else high
        text = (lambda x: str(int(x))) if self.integral else _g
        return self._messages(field, type=self.validation_type, operator="between",
                              formula1=text(low), formula2=text(high))

    @property
    def units(self) -> frozenset[str]:
        """Every unit `read_unit` may accept after a number typed as text."""
        return self.unit_words

    def read_unit(self, field: Field, unit: str, number: Decimal) -> tuple[Decimal, str] | None:
        """A number typed with a unit other than the field's: (the number in the field's unit,
        the unit converted to or ""), or None when the unit does not fit the field."""
        return (number, "") if unit in self.unit_words else None

    def bare_percent(self, field: Field, x: float, exact: Decimal | None) -> float | None:
        """For a percent type: the fraction a number typed without % means, else None."""
        return None

    def check(self, field: Field, raw: object, x: float, note: str | None, mode: Mode) -> Value | FieldError:
        """Whole-number and range checks on a number read from a cell or a data file."""
        low, high = self.bounds(field)
        if self.integral and not x.is_integer():
            code = "not_integer"
        elif self.range_words and not low <= x <= high:  # type: ignore[operator]
            code = "out_of_range"
        elif low is not None and x < low:
            return self._beyond(field, raw, mode, "too_small", low)
        elif high is not None and x > high:
            return self._beyond(field, raw, mode, "too_large", high)
        else:
            return Value(int(x) if self.integral else x, note)
        return self._strict_error(field, raw, code) if mode == "strict" else _reader().invalid(field, raw, code)

    def _beyond(self, field: Field, raw: object, mode: Mode, code: str, limit: float) -> FieldError:
        small = code == "too_small"
        if mode == "strict":
            return self._strict_error(field, raw, code, f"（{'小于' if small else '大于'}{limit:g}）")
        return _reader().bound_error(field, raw, "不小于" if small else "不大于", limit, code, self.percent)

    def _strict(self, field: Field, raw: object) -> Value | FieldError:
        # a data file is written by a program: a number is a number, never text that looks like one
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
            return self._strict_error(field, raw, "wrong_type")
        return self.check(field, raw, float(raw), None, "strict")

    def _lax(self, field: Field, raw: object, read: Any) -> Value | FieldError:
        return read.read_number(field, raw)

    def _quick(self, field: Field) -> Callable[[object], object] | None:
        """A number within the bounds, not one a percent type would read as n%: itself."""
        cls = type(self)
        if cls._lax is not NumberType._lax or cls.check is not NumberType.check or cls.bounds is not NumberType.bounds:
            return None
        if cls.bare_percent is NumberType.bare_percent:
            percent = False
        elif cls.bare_percent is PercentType.bare_percent:
            percent = True  # 1 < x <= 100 may mean x%: the general path decides
        else:
            return None
        low, high = self.bounds(field)
        if self.range_words and (low is None or high is None):
            return None
        # unbounded: any finite double (infinity and NaN fail every comparison here)
        low = -sys.float_info.max if low is None else max(low, -sys.float_info.max)
        high = sys.float_info.max if high is None else min(high, sys.float_info.max)
        integral = self.integral

        def quick(raw: object) -> object:
            if type(raw) is float and low <= raw <= high and not (percent and 1 < raw <= 100):
                if not integral:
                    return raw + 0.0  # -0 → 0, as the general path
                return int(raw) if raw.is_integer() else GENERAL
            return None if raw is None else GENERAL
        return quick


class AmountType(NumberType):
    number_format = "#,##0.00"
    default_minimum = 0.0
    money = {"元": Decimal(1), "千元": Decimal(1000), "万元": Decimal(10000), "万": Decimal(10000),
             "亿元": Decimal(10**8), "亿": Decimal(10**8)}
    default_unit = "万元"  # what 元/亿元 convert to when the field names no money unit

    @property
    def units(self) -> frozenset[str]:
        return frozenset(self.money)

    def unit_in(self, table_unit: str) -> str:
        return table_unit

    def read_unit(self, field: Field, unit: str, number: Decimal) -> tuple[Decimal, str] | None:
        if unit not in self.money:
            return None
        target = field.unit if field.unit in self.money else self.default_unit
        if self.money[unit] == self.money[target]:
            return number, ""
        return number * self.money[unit] / self.money[target], target


class PercentType(NumberType):
    number_format = "0.00%"
    words = "0%～100%之间的百分比"
    default_minimum, default_maximum = 0.0, 1.0
    floor, ceiling = 0.0, 1.0
    percent = True
    unit_words = frozenset({"%"})

    def read_unit(self, field: Field, unit: str, number: Decimal) -> tuple[Decimal, str] | None:
        return (number / 100, "") if unit == "%" else None

    def bare_percent(self, field: Field, x: float, exact: Decimal | None) -> float | None:
        """96.42 typed into a percent cell that WPS or a paste left unformatted means 96.42%:
        the fraction, or None when x is not such a number (or the field allows fractions > 1)."""
        if not 1 < x <= 100:
            return None
        if field.maximum is not None and field.maximum > 1:
            return None
        return float((exact if exact is not None else decimal15(x)) / 100) + 0.0


class CountType(NumberType):
    integral = True
    number_format = "0"
    words = "不小于0的整数"
    default_minimum = 0.0
    floor = 0.0
    validation_type = "whole"
    validation_range = (0, 1_000_000)
    unit_words = frozenset("人名个项次件家户所台套辆处条份")

    def unit_in(self, table_unit: str) -> str:
        return "人" if table_unit == "人" else ""

    def read_unit(self, field: Field, unit: str, number: Decimal) -> tuple[Decimal, str] | None:
        # 个 counts anything; 名 counts 人; another counter word only where the field has no unit
        fits = not field.unit or unit == "个" or (field.unit == "人" and unit == "名")
        return (number, "") if unit in self.unit_words and fits else None


class YearType(NumberType):
    integral = True
    number_format = "0"
    words = "四位年份"
    floor, ceiling = float(YEARS[0]), float(YEARS[1])
    range_words = True
    validation_type = "whole"
    validation_range = YEARS
    unit_words = frozenset({"年", "年度"})


# --------------------------------------------------------------------------- the registry

_REGISTRY: dict[str, FieldType] = {}
_UNITS: dict[str, frozenset[str]] = {}  # unit_words(), until the registry changes
_GENERATION = [0]  # bumped whenever the registry changes: what is built from it goes stale


def generation() -> int:
    """A number that changes whenever a type is registered or unregistered."""
    return _GENERATION[0]


def register(kind: FieldType) -> FieldType:
    """Add a type: from then on a form's YAML may use it and every reader and writer knows it."""
    if kind.name in _REGISTRY:
        raise ValueError(f"field type {kind.name!r} is registered already")
    _REGISTRY[kind.name] = kind
    _UNITS.clear()
    _GENERATION[0] += 1
    return kind


def unregister(name: str) -> None:
    _REGISTRY.pop(name)
    _UNITS.clear()
    _GENERATION[0] += 1


def get(name: str) -> FieldType:
    return _REGISTRY[name]


def field_type(field: Field) -> FieldType:
    return _REGISTRY[field.type]


def unit_words() -> frozenset[str]:
    """The units any registered type reads after a number."""
    if _UNITS.get("all") is None:
        _UNITS["all"] = frozenset().union(*(k.units for k in _REGISTRY.values() if isinstance(k, NumberType)))
    return _UNITS["all"]


class _Names(Set):
    """The names of the registered types (that satisfy `test`), as a live set."""

    def __init__(self, test: Callable[[FieldType], bool] = lambda kind: True):
        self._test = test

    def __contains__(self, name: object) -> bool:
        kind = _REGISTRY.get(name) if isinstance(name, str) else None
        return kind is not None and self._test(kind)

    def __iter__(self) -> Iterator[str]:
        return (name for name, kind in list(_REGISTRY.items()) if self._test(kind))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return "{" + ", ".join(sorted(self)) + "}"


names = _Names()
numeric_names = _Names(lambda kind: kind.numeric)
text_names = _Names(lambda kind: kind.text)

for _kind in (
    AmountType("amount"),
    CountType("count"),
    PercentType("percent"),
    NumberType("score", default_minimum=0.0, unit_words=frozenset({"分"})),
    YearType("year"),
    TextType("text"),
    TextType("longtext", limit=LONGTEXT_LIMIT, words="文本（可分段，不超过{limit}字），原样写入自评报告"),
    YesNoType("yesno"),
    ChoiceType("choice"),
):
    register(_kind)
