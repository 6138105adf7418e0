"""审核: cross-checks on the inputs, each 错误 (not acceptable) or 警告 (acceptable with the
unit's explanation).  Like rules, a check kind is defined once: a condition and a detail text
as expressions, shown live on the 审核 sheet and evaluated by the engine and the checker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from jixiao.expr import Expr, call, concat, if_, lift, number, ref, round_, usable
from jixiao.framework.model import YES, Field
from jixiao.framework.spec import FrameworkError, Spec
from jixiao.measures import Names, check_name
from jixiao.textformat import general_text

ERROR, WARNING = "错误", "警告"
PASSED = "通过"


@dataclass
class Check:
    kind: ClassVar[str]
    id: str
    level: str
    message: str

    def condition(self) -> Expr:  # pragma: no cover - abstract
        raise NotImplementedError

    def detail(self) -> Expr:  # pragma: no cover - abstract
        raise NotImplementedError

    def names(self) -> set[str]:
        return self.condition().names() | self.detail().names()

    def result(self) -> Expr:
        """What the 审核结果 cell shows: 通过, or the level of the failure.  A check that
        cannot be computed (an input that is not a number) fails: never a #VALUE! that the
        count of 错误 would turn into #VALUE! too."""
        return call("IFERROR", if_(self.condition(), PASSED, self.level), self.level)

    def shown_detail(self) -> Expr:
        return call("IFERROR", self.detail(), "无法核对：有填写项不是数值")


def _within(diff: Expr, tolerance: float) -> Expr:
    # Amounts have 2 decimals; compare the rounded gap so 0.1+0.2 vs 0.3 is no failure.
    return round_(call("ABS", diff), 2) <= tolerance


class SumEquals(Check):
    kind = "sum_equals"

    def __init__(self, spec: Spec, names: Names, **kw: object):
        super().__init__(**kw)
        self.total = check_name(names, spec.req("total"), spec.at("total"))
        self.parts = [check_name(names, str(p), f"{spec.at('parts')}[{i}]") for i, p in enumerate(spec.req("parts", list))]
        self.tolerance = spec.opt("tolerance", float, 0.01)
        # A breakdown the report does not give (all parts blank) is not a contradiction.
        self.optional_parts = spec.opt("optional_parts", bool, False)

    def _sum(self) -> Expr:
        # + not SUM: SUM skips a number stored as text, which the checker (and arithmetic) count
        out = number(self.parts[0])
        for p in self.parts[1:]:
            out = out + number(p)
        return out

    def condition(self) -> Expr:
        within = _within(self._sum() - ref(self.total), self.tolerance)
        if self.optional_parts:
            return call("OR", call("AND", *(ref(p).eq("") for p in self.parts)), within)
        return within

    def detail(self) -> Expr:
        return concat("合计", ref(self.total), "，各项之和", round_(self._sum(), 2),
                      "，相差", round_(self._sum() - ref(self.total), 2))


class Equals(Check):
    kind = "equals"

    def __init__(self, spec: Spec, names: Names, **kw: object):
        super().__init__(**kw)
        self.left = check_name(names, spec.req("left"), spec.at("left"))
        self.right = check_name(names, spec.req("right"), spec.at("right"))
        self.tolerance = spec.opt("tolerance", float, 0.01)
        self._labels = names.label(self.left), names.label(self.right)

    def condition(self) -> Expr:
        return _within(ref(self.left) - ref(self.right), self.tolerance)

    def detail(self) -> Expr:
        return concat(self._labels[0], ref(self.left), "，", self._labels[1], ref(self.right),
                      "，相差", round_(ref(self.left) - ref(self.right), 2))


class AtMost(Check):
    kind = "at_most"

    def __init__(self, spec: Spec, names: Names, **kw: object):
        super().__init__(**kw)
        self.value = check_name(names, spec.req("value"), spec.at("value"))
        self.limit = check_name(names, spec.req("limit"), spec.at("limit"))
        self._labels = names.label(self.value), names.label(self.limit)

    def condition(self) -> Expr:
        return round_(ref(self.value) - ref(self.limit), 2) <= 0

    def detail(self) -> Expr:
        return concat(self._labels[0], ref(self.value), "，大于", self._labels[1], ref(self.limit))


class NonDecreasing(Check):
    kind = "non_decreasing"

    def __init__(self, spec: Spec, names: Names, **kw: object):
        super().__init__(**kw)
        self.values = [check_name(names, str(v), f"{spec.at('values')}[{i}]") for i, v in enumerate(spec.req("values", list))]
        if len(self.values) < 2:
            raise FrameworkError(spec.at("values"), "至少需要两个值")

    def condition(self) -> Expr:
        return call("AND", *(number(b) >= number(a) for a, b in zip(self.values, self.values[1:])))

    def detail(self) -> Expr:
        parts: list = ["依次为"]
        for i, v in enumerate(self.values):
            parts += (["、"] if i else []) + [ref(v)]
        return concat(*parts)


class AtLeastYes(Check):
    kind = "at_least_yes"

    def __init__(self, spec: Spec, names: Names, **kw: object):
        super().__init__(**kw)
        self.values = [check_name(names, str(v), f"{spec.at('values')}[{i}]") for i, v in enumerate(spec.req("values", list))]
        self.count = spec.req("count", int)

    def _count(self) -> Expr:
        total: Expr = if_(ref(self.values[0]).eq(YES), 1, 0)
        for v in self.values[1:]:
            total = total + if_(ref(v).eq(YES), 1, 0)
        return total

    def condition(self) -> Expr:
        return self._count() >= self.count

    def detail(self) -> Expr:
        return concat("已选择", self._count(), "个，至少应选择", general_text(self.count), "个")


class Required(Check):
    """Generated per sheet from the fields marked required."""

    kind = "required"

    def __init__(self, fields: list[Field], **kw: object):
        super().__init__(**kw)
        self.fields = fields

    def condition(self) -> Expr:
        return call("AND", *(ref(f.id).ne("") for f in self.fields))

    def detail(self) -> Expr:
        return concat("未填写：", *(if_(ref(f.id).eq(""), f"{f.section}“{f.label}”；", "") for f in self.fields))


class UsableNumbers(Check):
    """Generated per sheet: every numeric input empty or a number (a number stored as text
    counts; 55人, 437.35万元 or full-width digits do not: the formulas cannot compute them)."""

    kind = "usable_numbers"

    def __init__(self, fields: list[Field], **kw: object):
        super().__init__(**kw)
        self.fields = fields

    def condition(self) -> Expr:
        return call("AND", *(usable(f.id) for f in self.fields))

    def detail(self) -> Expr:
        return concat("以下填写项不是数值（请只填写数字，不带单位、不用全角数字）：",
                      *(if_(usable(f.id), "", f"{f.section}“{f.label}”；") for f in self.fields))


CHECK_KINDS: dict[str, type[Check]] = {
    cls.kind: cls for cls in (SumEquals, Equals, AtMost, NonDecreasing, AtLeastYes)
}


def build_check(spec: Spec, names: Names) -> Check:
    kind = spec.req("kind")
    if kind not in CHECK_KINDS:
        raise FrameworkError(spec.at("kind"), f"未知的审核类型 “{kind}”，可用：{'、'.join(CHECK_KINDS)}")
    level = spec.req("level")
    if level not in (ERROR, WARNING):
        raise FrameworkError(spec.at("level"), f"应为“{ERROR}”或“{WARNING}”，实际为 “{level}”")
    check = CHECK_KINDS[kind](spec, names, id=spec.req("id"), level=level, message=spec.req("message"))
    spec.done()
    return check


def _per_sheet(fields: list[Field], kind: type[Check], prefix: str, message: str) -> list[Check]:
    by_sheet: dict[str, list[Field]] = {}
    for f in fields:
        by_sheet.setdefault(f.sheet, []).append(f)
    return [kind(fs, id=f"{prefix}_{i}", level=ERROR, message=f"{sheet}：{message}")
            for i, (sheet, fs) in enumerate(by_sheet.items(), 1)]


def usable_number_checks(fields: list[Field]) -> list[Check]:
    """One 错误 check per sheet listing its numeric inputs that hold text the formulas cannot
    compute with (the checker reports the same cells as not_a_number)."""
    return _per_sheet([f for f in fields if f.numeric], UsableNumbers, "numbers", "数值填写项均为数值")


def required_checks(fields: list[Field]) -> list[Check]:
    """One 错误 check per sheet listing its required fields that are left blank."""
    return _per_sheet([f for f in fields if f.required], Required, "required", "必填项均已填写")


__all__ = ["CHECK_KINDS", "Check", "ERROR", "PASSED", "WARNING", "build_check", "required_checks",
           "usable_number_checks", "lift"]
