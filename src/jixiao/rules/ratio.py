"""Rule kinds scored from a measured value: tiers, rate × points, linear limit, quarterly."""

from __future__ import annotations

from jixiao.expr import Binary, Expr, choose, concat, if_, lift, min_, max_, ref, round_, text
from jixiao.framework.spec import FrameworkError, Spec
from jixiao.measures import check_name, numeric
from jixiao.rules.base import Rule, RuleContext, positive_points

_OPS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥"}
_NEGATION = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}


class _Valued(Rule):
    """A rule on one value: a measure (ratio) or a numeric field."""

    def __init__(self, spec: Spec, rid: str, points: float, ctx: RuleContext):
        super().__init__(spec, rid, points, ctx)
        self.value = self.name(spec, "value")
        field = ctx.names.fields.get(self.value)
        if field is not None and not field.numeric:
            raise FrameworkError(spec.at("value"), f"“{self.value}”（{field.label}）不是数值型字段，不能用于{self.kind}规则")

    @property
    def v(self) -> Expr:
        return numeric(self.ctx.names, self.value)

    def value_text(self) -> Expr:
        names = self.ctx.names
        if self.value in names.measures:
            return names.measures[self.value].explain(names)
        return concat(names.label(self.value), names.shown(self.value))

    def rounded(self, score: Expr) -> Expr:
        return round_(score, self.ctx.score_decimals)


class Tiers(_Valued):
    """分档计分: the first band whose condition holds gives the score, else `otherwise`.
    Bands must run one way (all ≥/> descending, or all </≤ ascending) and leave no gap."""

    kind = "tiers"

    def __init__(self, spec: Spec, rid: str, points: float, ctx: RuleContext):
        super().__init__(spec, rid, points, ctx)
        self.bands: list[tuple[str, float, float]] = []
        for band in spec.subs("bands"):
            op = band.req("op")
            if op not in _OPS:
                raise FrameworkError(band.at("op"), f"应为 <、<=、>、>= 之一，实际为 “{op}”")
            self.bands.append((op, band.req("at", float), band.req("score", float)))
            band.done()
        self.otherwise = spec.req("otherwise", float)
        if not self.bands:
            raise FrameworkError(spec.at("bands"), "至少需要一档（另加 otherwise 作为其余情况的得分）")
        ups = {op in ("<", "<=") for op, _, _ in self.bands}
        if len(ups) != 1:
            raise FrameworkError(spec.at("bands"), "各档的比较方向应一致（都用 < / <=，或都用 > / >=）")
        ats = [at for _, at, _ in self.bands]
        ascending = ups.pop()
        if ats != sorted(ats, reverse=not ascending) or len(set(zip(ats, (op for op, _, _ in self.bands)))) < len(ats):
            raise FrameworkError(spec.at("bands"), "各档阈值应" + ("从小到大" if ascending else "从大到小") + "排列")
        scores = [s for _, _, s in self.bands] + [self.otherwise]
        if max(scores) > points or min(scores) < 0:
            raise FrameworkError(spec.at("bands"), f"各档得分应在 0～{points:g} 之间")

    def _band_text(self, op: str, at: float) -> str:
        return _OPS[op] + self.ctx.names.threshold(self.value, at)

    def score(self) -> Expr:
        return choose([(Binary(op, self.v, lift(at)), s) for op, at, s in self.bands], self.otherwise)

    def explain(self) -> Expr:
        last_op, last_at, _ = self.bands[-1]
        branches = [(Binary(op, self.v, lift(at)), f"，{self._band_text(op, at)}，得{self.num(s)}分。")
                    for op, at, s in self.bands]
        otherwise = f"，{self._band_text(_NEGATION[last_op], last_at)}，得{self.num(self.otherwise)}分。"
        return concat(self.value_text(), choose(branches, otherwise))


class Rate(_Valued):
    """rate × points.  above_one: zero (实际大于计划得0分) or cap (at most full points)."""

    kind = "rate"

    def __init__(self, spec: Spec, rid: str, points: float, ctx: RuleContext):
        super().__init__(spec, rid, points, ctx)
        self.above_one = spec.req("above_one")
        if self.above_one not in ("zero", "cap"):
            raise FrameworkError(spec.at("above_one"), f"应为 zero 或 cap，实际为 “{self.above_one}”")

    def score(self) -> Expr:
        if self.above_one == "zero":
            return if_(self.v > 1, 0, self.v * self.points)
        return min_(self.v, 1) * self.points

    def explain(self) -> Expr:
        got = concat("，得", self.rounded(self.score()), "分。")
        if self.above_one == "zero":
            return concat(self.value_text(), if_(self.v > 1, "，超过100%，得0分。", got))
        return concat(self.value_text(), got)


class Limit(_Valued):
    """Full points within a limit; beyond it, per_point off for each percentage point over
    (proportionally, not per whole point), down to 0."""

    kind = "limit"

    def __init__(self, spec: Spec, rid: str, points: float, ctx: RuleContext):
        super().__init__(spec, rid, points, ctx)
        self.limit = spec.req("limit", float)
        self.per_point = positive_points(spec, "per_point")

    def readings(self) -> list[str]:
        limit = self.ctx.names.threshold(self.value, self.limit)
        return [f"{self.ctx.names.label(self.value)}不超过{limit}得{self.num(self.points)}分；超过的，每超过1个百分点扣"
                f"{self.num(self.per_point)}分（按比例计算，不取整），扣完为止。"]

    def score(self) -> Expr:
        over = (self.v - self.limit) * 100
        return if_(self.v <= self.limit, self.points, max_(self.points - over * self.per_point, 0))

    def explain(self) -> Expr:
        limit = self.ctx.names.threshold(self.value, self.limit)
        return concat(self.value_text(), if_(
            self.v <= self.limit,
            f"，未超过{limit}，得{self.num(self.points)}分。",
            concat(f"，超过{limit}，每超过1个百分点扣{self.num(self.per_point)}分，得",
                   self.rounded(self.score()), "分。"),
        ))


class Quarterly(Rule):
    """预算执行率: each quarter min(progress / schedule, 1) × quarter_points, rounded per quarter;
    plus the annual part min(annual_points × mean(progress / schedule), annual_points), the
    mean taken over the UNcapped ratios (the reading that reproduces both seed reports)."""

    kind = "quarterly"
    QUARTERS = ("一季度", "二季度", "三季度", "四季度")

    def __init__(self, spec: Spec, rid: str, points: float, ctx: RuleContext):
        super().__init__(spec, rid, points, ctx)
        self.progress = [check_name(ctx.names, str(p), f"{spec.at('progress')}[{i}]")
                         for i, p in enumerate(spec.req("progress", list))]
        self.schedule = [float(s) for s in spec.req("schedule", list)]
        if not self.progress:
            raise FrameworkError(spec.at("progress"), "至少需要一期支出进度")
        if len(self.schedule) != len(self.progress) or not self.progress:
            raise FrameworkError(spec.at("schedule"), "序时进度的个数应与支出进度的个数相同")
        if self.schedule != sorted(self.schedule) or self.schedule[0] <= 0:
            raise FrameworkError(spec.at("schedule"), "序时进度应大于0且逐期递增")
        self.quarter_points = positive_points(spec, "quarter_points")
        self.annual_points = positive_points(spec, "annual_points")
        total = self.quarter_points * len(self.progress) + self.annual_points
        if abs(total - points) > 1e-9:
            raise FrameworkError(spec.where, f"季度分与全年分之和 {total:g} 不等于参考分值 {points:g}")

    def readings(self) -> list[str]:
        n = len(self.progress)
        return [f"每期得分=MIN(支出进度÷序时进度,1)×{self.num(self.quarter_points)}分，每期分别保留两位小数；"
                f"全年得分=MIN({n}期“支出进度÷序时进度”（不封顶）的平均数×{self.num(self.annual_points)}分, "
                f"{self.num(self.annual_points)}分)。"]

    def _ratio(self, i: int) -> Expr:
        return numeric(self.ctx.names, self.progress[i]) / self.schedule[i]

    def _quarter(self, i: int) -> Expr:
        return round_(min_(self._ratio(i), 1) * self.quarter_points, self.ctx.score_decimals)

    def _mean(self) -> Expr:
        total = self._ratio(0)
        for i in range(1, len(self.progress)):
            total = total + self._ratio(i)
        return total / len(self.progress)

    def _annual(self) -> Expr:
        return round_(min_(self._mean() * self.annual_points, self.annual_points), self.ctx.score_decimals)

    def score(self) -> Expr:
        out = self._quarter(0)
        for i in range(1, len(self.progress)):
            out = out + self._quarter(i)
        return out + self._annual()

    def explain(self) -> Expr:
        parts: list = []
        for i, p in enumerate(self.progress):
            name = self.QUARTERS[i] if len(self.progress) == 4 else f"第{i + 1}期"
            parts += [f"{name}支出进度", text(ref(p), "0.00%"),
                      f"（序时进度{self.num(self.schedule[i] * 100)}%），得", self._quarter(i), "分；"]
        parts += ["全年平均执行率", text(self._mean(), "0.00%"), "，得", self._annual(), "分。"]
        return concat(*parts)
