"""The rule-kind contract.  A rule kind reads its parameters from the framework file, says which
judgements it asks the unit for (评分要素 inputs), and gives ONE expression for its score and
one for its explanation text; the engine evaluates them, the workbook writes them as formulas."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from jixiao.expr import Expr
from jixiao.framework.model import Field
from jixiao.framework.spec import FrameworkError, Spec
from jixiao.measures import Names, check_name
from jixiao.textformat import general_text


@dataclass
class RuleContext:
    names: Names
    indicator_name: str  # the 评分要素 section a rule's inputs go in
    score_decimals: int


class Rule:
    kind: ClassVar[str]

    def __init__(self, spec: Spec, rid: str, points: float, ctx: RuleContext):
        self.id, self.points, self.ctx = rid, points, ctx
        self.label = spec.opt("label", str, "")

    def judgements(self) -> list[Field]:
        """Inputs this rule asks for, in the order the 评分要素 sheet shows them."""
        return []

    def score(self) -> Expr:  # pragma: no cover - abstract
        raise NotImplementedError

    def explain(self) -> Expr:
        """The 扣分情况说明: "" or sentences each ending in 。"""
        raise NotImplementedError  # pragma: no cover

    def readings(self) -> list[str]:
        """How this rule reads criteria the documents leave open, for the 填表说明 (most kinds
        need no words beyond the 评分标准)."""
        return []

    # helpers for kinds
    def field(self, fid: str, label: str, type: str, **kw: object) -> Field:
        return Field(id=fid, label=label, type=type, sheet="评分要素", section=self.ctx.indicator_name, **kw)

    def name(self, spec: Spec, key: str) -> str:
        return check_name(self.ctx.names, spec.req(key), spec.at(key))

    @staticmethod
    def num(x: float) -> str:
        return general_text(x)


def positive_points(spec: Spec, key: str = "points") -> float:
    value = spec.req(key, float)
    if value <= 0:
        raise FrameworkError(spec.at(key), f"分值应大于0，实际为 {value:g}")
    return value
