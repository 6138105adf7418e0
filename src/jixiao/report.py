"""Showing a scorecard in the terminal (rich), in the documents' vocabulary."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from jixiao.engine import Scorecard
from jixiao.names import clip


def print_scorecard(card: Scorecard, title: str = "", console: Console | None = None) -> None:
    console = console or Console()
    table = Table("一级指标", "二级指标", "三级指标", "参考分值", "得分", "扣分情况说明",
                  title=Text(f"{clip(title, 80)} 部门整体支出绩效自评得分"), show_lines=False)
    for ind in card.indicators:
        style = None if ind.score == ind.points else "yellow"
        table.add_row(ind.level1, ind.level2, ind.name, f"{ind.points:g}", f"{ind.score:.2f}", Text(clip(ind.explanation, 600)),
                      style=style)
    table.add_row("", "", "总得分", "100", f"{card.total:.2f}", f"评价等级：{card.grade}", style="bold")
    console.print(table)
    for c in card.errors + card.warnings:
        colour = "red" if c.level == "错误" else "yellow"
        # the detail quotes the data: plain text, never markup
        console.print(Text.assemble((c.level, colour), f" {c.message}：{clip(str(c.detail), 600)}"))
