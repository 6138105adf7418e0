"""Composition: an indicator scored as the sum of parts, with an optional veto (一票否决:
the whole indicator 0) and an optional condition that gives full points (e.g. 涉密单位)."""

from __future__ import annotations

from jixiao.expr import Expr, concat, if_, ref
from jixiao.framework.model import YES, Field
from jixiao.framework.spec import FrameworkError, Spec
from jixiao.rules.base import Rule, RuleContext, positive_points


class Sum(Rule):
    kind = "sum"

    def __init__(self, spec: Spec, rid: str, points: float, ctx: RuleContext):
        from jixiao.rules import build_rule  # the registry builds the parts

        super().__init__(spec, rid, points, ctx)
        self.parts: list[Rule] = []
        seen: set[str] = set()
        for part in spec.subs("parts"):
            pid = part.req("id")
            if pid in seen:
                raise FrameworkError(part.at("id"), f"部分 id “{pid}” 重复")
            seen.add(pid)
            self.parts.append(build_rule(part, f"{rid}_{pid}", positive_points(part), ctx))
        total = sum(p.points for p in self.parts)
        if abs(total - points) > 1e-9:
            raise FrameworkError(spec.at("parts"), f"各部分分值之和 {total:g} 不等于参考分值 {points:g}")
        self.veto_label = None
        if spec.has("veto"):
            veto = spec.sub("veto")
            self.veto_label = veto.req("label")
            veto.done()
        self.full_field = self.full_label = None
        if spec.has("full_if"):
            full = spec.sub("full_if")
            self.full_field = self.name(full, "field")
            self.full_label = full.req("label")
            full.done()

    @property
    def veto_id(self) -> str:
        return f"{self.id}_veto"

    def judgements(self) -> list[Field]:
        out = [f for part in self.parts for f in part.judgements()]
        if self.veto_label:
            out.append(self.field(self.veto_id, f"是否{self.veto_label}（是则本项指标得0分）", "yesno", required=True))
        return out

    def _guarded(self, normal: Expr, veto_value: object, full_value: object) -> Expr:
        out = normal
        if self.full_field:
            out = if_(ref(self.full_field).eq(YES), full_value, out)
        if self.veto_label:
            out = if_(ref(self.veto_id).eq(YES), veto_value, out)
        return out

    def readings(self) -> list[str]:
        return [text for part in self.parts for text in part.readings()]

    def score(self) -> Expr:
        total = self.parts[0].score()
        for part in self.parts[1:]:
            total = total + part.score()
        return self._guarded(total, 0, self.points)

    def explain(self) -> Expr:
        normal = concat(*(part.explain() for part in self.parts))
        return self._guarded(normal, f"{self.veto_label}，本项指标得0分。", f"{self.full_label}。")
