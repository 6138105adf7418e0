"""The terminal report of `jixiao check` (rich), in the vocabulary of report software."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from jixiao.checker.result import ERROR, NOTE, WARNING, CheckResult, STATUS_TEXT

COLOURS = {ERROR: "red", WARNING: "yellow", NOTE: "cyan"}
STATUS_COLOURS = {"accepted": "green", "accepted_with_warnings": "yellow", "rejected": "red", "unreadable": "red"}


def print_result(result: CheckResult, console: Console, verbose: bool = False) -> None:
    colour = STATUS_COLOURS[result.status]
    head = f"[bold]{result.file}[/bold]：[{colour}]{STATUS_TEXT[result.status]}[/{colour}]"
    if result.unit_name:
        head += f"  {result.unit_name} {result.year or ''}"
    if result.recomputed_total is not None:
        shown = f"{result.workbook_total:.2f}" if result.workbook_total is not None else "—"
        head += f"  总得分 {result.recomputed_total:.2f}（{result.grade}），工作簿显示 {shown}"
    console.print(head)
    if result.status == "unreadable":
        for m in result.messages:
            console.print(f"  [red]{m.text}[/red]")
        return
    differing = [i for i in result.indicators if not i.agrees]
    if differing or verbose:
        table = Table("三级指标", "参考分值", "工作簿得分", "重新计算", "扣分情况说明", box=None, pad_edge=False)
        for i in (result.indicators if verbose else differing):
            wb = "—" if i.workbook_score is None else f"{i.workbook_score:.2f}"
            style = None if i.agrees else "red"
            table.add_row(i.name, f"{i.points:g}", wb, f"{i.recomputed_score:.2f}", i.explanation, style=style)
        console.print(table)
    for m in result.messages:
        if m.level == NOTE and not verbose:
            continue
        where = f"[dim]{m.where}[/dim] " if m.where and m.where not in m.text else ""
        console.print(f"  [{COLOURS[m.level]}]{m.level}[/{COLOURS[m.level]}] {where}{m.text}")
    notes = sum(1 for m in result.messages if m.level == NOTE)
    if notes and not verbose:
        console.print(f"  [dim]另有提示 {notes} 条（--verbose 查看）[/dim]")
