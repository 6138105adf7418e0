"""Measures: the computed quantities behind a score (ratios, amounts), each a cell of its own
in the workbook's 指标计算 sheet, so that the accountant sees 固定资产利用率 = 93.74% and the
rule only compares it.  Defined once, like rules: one expression for Python and Excel."""

from __future__ import annotations

from typing import ClassVar

from jixiao.expr import Expr, call, concat, if_, lift, number, ref, round_, text
from jixiao.framework.spec import FrameworkError, Spec
from jixiao.textformat import general_text


class Measure:
    kind: ClassVar[str]
    id: str
    label: str
    is_ratio: bool = False
    unit: str = ""

    def expr(self) -> Expr:  # pragma: no cover - abstract
        raise NotImplementedError

    def explain(self, names: "Names") -> Expr:  # pragma: no cover - abstract
        raise NotImplementedError

    def readings(self) -> list[str]:
        """How this measure is computed where the documents are silent, for the 填表说明."""
        return []

    def optional_inputs(self) -> list[str]:
        """Inputs this measure reads whose blank has a meaning it states (not required)."""
        return []


class Names:
    """How values are named and shown in explanation texts; knows every field and measure."""

    def __init__(self, fields: dict, measures: dict[str, Measure]):
        self.fields, self.measures = fields, measures

    def exists(self, name: str) -> bool:
        return name in self.fields or name in self.measures

    def label(self, name: str) -> str:
        if name in self.measures:
            return self.measures[name].label
        return self.fields[name].label

    def is_ratio(self, name: str) -> bool:
        if name in self.measures:
            return self.measures[name].is_ratio
        return self.fields[name].type == "percent"

    def unit(self, name: str) -> str:
        if name in self.measures:
            return self.measures[name].unit
        field = self.fields[name]
        return field.unit if field.type == "amount" else ""

    def shown(self, name: str) -> Expr:
        """The value as the explanation text shows it: 60.71%, 426.15万元, 17."""
        if self.is_ratio(name):
            return text(ref(name), "0.00%")
        return concat(ref(name), self.unit(name))

    def threshold(self, name: str, at: float) -> str:
        return general_text(at * 100) + "%" if self.is_ratio(name) else general_text(at)


def numeric(names: Names, name: str) -> Expr:
    """A field or measure used as a number: a measure is a formula result already; an input
    goes through `expr.number` so that a number stored as text counts and other text is an
    error the 审核 sheet reports, never a cell MIN/MAX/SUM skip."""
    return ref(name) if name in names.measures else number(name)


def check_name(names: Names, name: str, where: str) -> str:
    if not names.exists(name):
        raise FrameworkError(where, f"引用的字段或计算项 “{name}” 不存在")
    return name


class Ratio(Measure):
    """num / den, unrounded (or rounded to the framework's ratio_decimals when a framework file
    asks for it).  A zero denominator is decided in the file (zero_den) and said in the text,
    identically in Python and the workbook."""

    kind = "ratio"
    is_ratio = True

    def __init__(self, spec: Spec, names: Names, ratio_decimals: int | None):
        self.id, self.label = spec.req("id"), spec.req("label")
        self.num = self._operand(spec, "num", names)
        self.den = self._operand(spec, "den", names)
        zero = spec.sub("zero_den")
        self.both_zero = zero.req("both_zero", float)
        self.num_only = zero.req("num_only", float)
        self.note = zero.req("note")
        zero.done()
        self.decimals = ratio_decimals
        self._names = names

    @staticmethod
    def _operand(spec: Spec, key: str, names: Names) -> list[str] | float:
        value = spec.raw(key)
        where = spec.at(key)
        if isinstance(value, str):
            return [check_name(names, value, where)]
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return [check_name(names, v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise FrameworkError(where, "应为字段 id、字段 id 列表（相加）或数值")

    def _sum(self, op: list[str] | float) -> Expr:
        if isinstance(op, float):
            return lift(op)
        out: Expr = numeric(self._names, op[0])
        for name in op[1:]:
            out = out + numeric(self._names, name)
        return out

    def _shown(self, op: list[str] | float) -> Expr:
        if isinstance(op, float):
            return lift(general_text(op))
        parts = [self._names.shown(n) for n in op]
        if len(parts) == 1:
            return parts[0]
        joined: list = ["("]
        for i, p in enumerate(parts):
            joined += (["+"] if i else []) + [p]
        return concat(*joined, ")")

    def _labels(self, op: list[str] | float) -> str:
        return general_text(op) if isinstance(op, float) else "+".join(self._names.label(n) for n in op)

    @staticmethod
    def _as(v: float) -> str:
        # zero_den num_only 999 stands for "beyond any threshold": say so, not "99900%"
        return "超过100%" if v >= 10 else general_text(v * 100) + "%"

    def readings(self) -> list[str]:
        pct = self._as
        return [f"{self.label}：{self.note}且{self._labels(self.num)}为0的，按{pct(self.both_zero)}计；"
                f"{self.note}但{self._labels(self.num)}不为0的，按{pct(self.num_only)}计。"]

    def expr(self) -> Expr:
        num, den = self._sum(self.num), self._sum(self.den)
        ratio = if_(den.eq(0), if_(num.eq(0), self.both_zero, self.num_only), num / den)
        # No rounding: every comparison and ROUND is at 15 significant digits in Python, Excel,
        # WPS and LibreOffice alike, which absorbs the noise of the division and nothing else.
        return ratio if self.decimals is None else round_(ratio, self.decimals)

    def explain(self, names: Names) -> Expr:
        num, den = self._sum(self.num), self._sum(self.den)
        pct = self._as
        zero_text = if_(
            num.eq(0),
            f"{self.note}且{self._labels(self.num)}为0，{self.label}按{pct(self.both_zero)}计",
            f"{self.note}但{self._labels(self.num)}不为0，{self.label}按{pct(self.num_only)}计",
        )
        computed = concat(self.label, "=", self._shown(self.num), "/", self._shown(self.den), "=",
                          text(ref(self.id), "0.00%"))
        return if_(den.eq(0), zero_text, computed)


class DeclaredOrDifference(Measure):
    """An amount the unit may declare; left blank, |minuend − subtrahend| (e.g. the budget
    adjustment: 调剂 between items changes no total, so the unit can say more)."""

    kind = "declared_or_difference"
    unit = "万元"

    def __init__(self, spec: Spec, names: Names, ratio_decimals: int | None):
        self.id, self.label = spec.req("id"), spec.req("label")
        self.declared = check_name(names, spec.req("declared"), spec.at("declared"))
        self.minuend = check_name(names, spec.req("minuend"), spec.at("minuend"))
        self.subtrahend = check_name(names, spec.req("subtrahend"), spec.at("subtrahend"))
        self._names_used = [names.label(n) for n in (self.declared, self.minuend, self.subtrahend)]
        self._names = names

    # 万元 to 0.01 元: a difference of two amounts carries float noise (1200.7 − 1113.25 =
    # 87.45000000000005) that LibreOffice shows as 87.4500000000001 when joined to text.
    DECIMALS = 6

    def optional_inputs(self) -> list[str]:
        return [self.declared]

    def readings(self) -> list[str]:
        names = self._names_used
        return [f"{self.label}：填写了“{names[0]}”的按所填金额计；未填写的按|{names[1]}−{names[2]}|计算。"]

    def _declared(self) -> Expr:
        # declared: not empty and a number (also one stored as text, as the checker reads it)
        return call("AND", ref(self.declared).ne(""), call("ISNUMBER", number(self.declared)))

    def expr(self) -> Expr:
        return round_(call("ABS", if_(self._declared(), number(self.declared),
                                      numeric(self._names, self.minuend) - numeric(self._names, self.subtrahend))),
                      self.DECIMALS)

    def explain(self, names: Names) -> Expr:
        return if_(
            self._declared(),
            concat(self.label, "（单位填报）", ref(self.id), "万元"),
            concat(self.label, "=|", ref(self.minuend), "−", ref(self.subtrahend), "|=", ref(self.id), "万元"),
        )


MEASURE_KINDS: dict[str, type[Measure]] = {cls.kind: cls for cls in (Ratio, DeclaredOrDifference)}


def ratio_reading(ratio_decimals: int | None) -> str:
    """How ratios meet thresholds and points, for the 填表说明."""
    if ratio_decimals is not None:
        return (f"各项比率统一四舍五入到小数点后{ratio_decimals}位（ROUND(比率,{ratio_decimals})）后再比较档次、"
                "计算得分。")
    return ("各项比率不作舍入，按15位有效数字（与 Excel、WPS 相同）比较档次、乘以分值：只消除计算机的浮点误差"
            "（5÷50恰为10%，恰好等于档次界限的比率属于该档），不改变任何填报数字能表达的差别"
            "（89.99995%低于90%；实际采购1000.0004万元超过计划1000万元即为超过计划）。")


def build_measure(spec: Spec, names: Names, ratio_decimals: int | None) -> Measure:
    kind = spec.req("kind")
    if kind not in MEASURE_KINDS:
        raise FrameworkError(spec.at("kind"), f"未知的计算项类型 “{kind}”，可用：{'、'.join(MEASURE_KINDS)}")
    measure = MEASURE_KINDS[kind](spec, names, ratio_decimals)
    spec.done()
    return measure
