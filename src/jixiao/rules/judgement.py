"""Rule kinds scored from the unit's own judgements: checklist, deduction, choice, manual."""

from __future__ import annotations

from jixiao.expr import Expr, clip, concat, if_, max_, min_, number, ref, round_
from jixiao.framework.model import YES, Field
from jixiao.framework.spec import FrameworkError, Spec
from jixiao.rules.base import Rule, RuleContext, positive_points


class Checklist(Rule):
    """Items each worth some points: 是/否, or a partial score within the item's points where the
    criteria say 酌情扣分 (input: score)."""

    kind = "checklist"

    def __init__(self, spec: Spec, rid: str, points: float, ctx: RuleContext):
        super().__init__(spec, rid, points, ctx)
        self.items: list[tuple[str, float, str]] = []
        for item in spec.subs("items"):
            mode = item.opt("input", str, "yesno")
            if mode not in ("yesno", "score"):
                raise FrameworkError(item.at("input"), f"应为 yesno 或 score，实际为 “{mode}”")
            self.items.append((item.req("label"), positive_points(item), mode))
            item.done()
        total = sum(p for _, p, _ in self.items)
        if abs(total - points) > 1e-9:
            raise FrameworkError(spec.at("items"), f"各项分值之和 {total:g} 不等于参考分值 {points:g}")

    def _fid(self, n: int) -> str:
        return f"{self.id}_{n}"

    def judgements(self) -> list[Field]:
        out = []
        for n, (label, points, mode) in enumerate(self.items, 1):
            text = (f"{n}. " if len(self.items) > 1 else "") + f"{label}（{self.num(points)}分）"
            if mode == "yesno":
                out.append(self.field(self._fid(n), text, "yesno", required=True))
            else:
                out.append(self.field(self._fid(n), text, "score", required=True, minimum=0.0, maximum=points))
        return out

    def _item_score(self, n: int, points: float, mode: str) -> Expr:
        if mode == "yesno":
            return if_(ref(self._fid(n)).eq(YES), points, 0)
        return clip(number(self._fid(n)), 0, points)

    def score(self) -> Expr:
        parts = [self._item_score(n, p, m) for n, (_, p, m) in enumerate(self.items, 1)]
        out = parts[0]
        for p in parts[1:]:
            out = out + p
        return out

    def explain(self) -> Expr:
        many = len(self.items) > 1
        texts = []
        for n, (label, points, mode) in enumerate(self.items, 1):
            name = f"第{n}项“{label}”" if many else f"“{label}”"
            if mode == "yesno":
                texts.append(if_(ref(self._fid(n)).eq(YES), "", f"{name}未达到，扣{self.num(points)}分。"))
            else:
                # what the item loses as the score shows it (24.555 shows as 24.56: 0.44 lost, not 0.45)
                got = round_(clip(number(self._fid(n)), 0, points), self.ctx.score_decimals)
                lost = round_(points - got, self.ctx.score_decimals)
                texts.append(if_(lost > 0, concat(name, "扣", lost, "分。"), ""))
        return concat(*texts)


class Deduction(Rule):
    """Points less a fixed deduction per counted shortcoming, down to 0 (扣完为止)."""

    kind = "deduction"

    def __init__(self, spec: Spec, rid: str, points: float, ctx: RuleContext):
        super().__init__(spec, rid, points, ctx)
        self.per = positive_points(spec, "per")
        self.count_label = spec.req("count_label")

    @property
    def count(self) -> Expr:
        return number(f"{self.id}_count")

    def judgements(self) -> list[Field]:
        return [self.field(f"{self.id}_count", f"{self.count_label}（每项扣{self.num(self.per)}分）", "count",
                           required=True)]

    def score(self) -> Expr:
        return max_(self.points - self.per * self.count, 0)

    def explain(self) -> Expr:
        lost = round_(min_(self.per * self.count, self.points), self.ctx.score_decimals)
        return if_(self.count > 0, concat(self.count_label, self.count, "项，每项扣", self.num(self.per),
                                          "分，扣", lost, "分。"), "")


class Choice(Rule):
    """One of several graded answers (分档计分), e.g. 预算公开: 1.5 / 1 / 0."""

    kind = "choice"

    def __init__(self, spec: Spec, rid: str, points: float, ctx: RuleContext):
        super().__init__(spec, rid, points, ctx)
        if not self.label:
            raise FrameworkError(spec.where, "缺少必需的键 “label”")
        self.options: list[tuple[str, float]] = []
        for opt in spec.subs("options"):
            self.options.append((opt.req("label"), opt.req("score", float)))
            opt.done()
        if not self.options:
            raise FrameworkError(spec.at("options"), "至少需要一个选项")
        scores = [s for _, s in self.options]
        if max(scores) != points or min(scores) < 0:
            raise FrameworkError(spec.at("options"), f"最高档应等于分值 {points:g} 且各档不小于0")
        if scores != sorted(scores, reverse=True):
            raise FrameworkError(spec.at("options"), "各档应按得分从高到低排列")

    def judgements(self) -> list[Field]:
        return [self.field(self.id, self.label, "choice", required=True,
                           options=tuple(label for label, _ in self.options))]

    def score(self) -> Expr:
        f, out = ref(self.id), 0
        for label, score in reversed(self.options):
            out = if_(f.eq(label), score, out)
        return out

    def explain(self) -> Expr:
        f = ref(self.id)
        best = self.options[0][0]
        return if_(f.eq(best), "", concat(self.label, "：", if_(f.eq(""), "未填写", f), "，得", self.score(), "分。"))


class Manual(Rule):
    """The scorer's own score within [0, points] (e.g. 效果性), with the loss explained."""

    kind = "manual"

    def __init__(self, spec: Spec, rid: str, points: float, ctx: RuleContext):
        super().__init__(spec, rid, points, ctx)
        self.score_label = spec.req("score_label")

    def judgements(self) -> list[Field]:
        return [self.field(self.id, f"{self.score_label}（0～{self.num(self.points)}分）", "score", required=True,
                           minimum=0.0, maximum=self.points)]

    def score(self) -> Expr:
        return clip(number(self.id), 0, self.points)

    def explain(self) -> Expr:
        # the score as the 得分 column shows it, and the loss from that: never 24.555 beside 24.56
        got = round_(self.score(), self.ctx.score_decimals)
        lost = round_(self.points - got, self.ctx.score_decimals)
        return if_(lost > 0, concat(self.score_label, got, "分，酌情扣", lost, "分。"), "")
