"""Rule kinds, by the name a framework file uses for them."""

from __future__ import annotations

from jixiao.framework.spec import FrameworkError, Spec
from jixiao.rules.base import Rule, RuleContext
from jixiao.rules.composite import Sum
from jixiao.rules.judgement import Checklist, Choice, Deduction, Manual
from jixiao.rules.ratio import Limit, Quarterly, Rate, Tiers

RULE_KINDS: dict[str, type[Rule]] = {
    cls.kind: cls for cls in (Checklist, Deduction, Choice, Manual, Tiers, Rate, Limit, Quarterly, Sum)
}


def build_rule(spec: Spec, rid: str, points: float, ctx: RuleContext) -> Rule:
    """Build the rule a framework-file mapping describes; every key must be used."""
    kind = spec.req("kind")
    if kind not in RULE_KINDS:
        raise FrameworkError(spec.at("kind"), f"未知的规则类型 “{kind}”，可用：{'、'.join(RULE_KINDS)}")
    spec.opt("id")  # a part's id is read by its parent
    spec.opt("points", float)  # read by the parent, which knows whether it is required
    rule = RULE_KINDS[kind](spec, rid, points, ctx)
    spec.done()
    return rule


__all__ = ["RULE_KINDS", "Rule", "RuleContext", "build_rule"]
