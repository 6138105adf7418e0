"""The terminal report of `jixiao check` (rich), in the vocabulary of report software.

Everything a unit supplied -- a file name, a unit name, a typed value inside a message, an
explanation -- reaches the console as a `Text`, never as markup: ``[/]`` in a unit name must not
crash the report, ``[link=…]`` must not become a clickable link.  Long strings are clipped, so
a 32,767-character cell costs no more to print than a short one."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from jixiao.checker.result import ERROR, NOTE, WARNING, CheckResult, STATUS_TEXT
from jixiao.names import clip

COLOURS = {ERROR: "red", WARNING: "yellow", NOTE: "cyan"}
STATUS_COLOURS = {"accepted": "green", "accepted_with_warnings": "yellow", "rejected": "red", "unreadable": "red"}
MAX_FILE = 300      # characters of a file path echoed (a path is at most 4,096 bytes anyway)
MAX_NAME = 80       # characters of a unit name or a cell reference echoed
MAX_MESSAGE = 600   # characters of one message echoed (the JSON and the database keep it whole)


def print_result(result: CheckResult, console: Console, verbose: bool = False) -> None:
    head = Text.assemble((clip(result.file, MAX_FILE), "bold"), "：",
                         (STATUS_TEXT[result.status], STATUS_COLOURS[result.status]))
    if result.status == "unreadable":
        # a refused file: nothing read from it is shown, only why it was refused
        console.print(head)
        for m in result.messages:
            if m.level == ERROR:
                console.print(Text.assemble("  ", (clip(m.text, MAX_MESSAGE), "red")))
        return
    if result.unit_name:
        head.append(f"  {clip(str(result.unit_name), MAX_NAME)} {result.year or ''}")
    if result.recomputed_total is not None:
        shown = f"{result.workbook_total:.2f}" if result.workbook_total is not None else "—"
        head.append(f"  总得分 {result.recomputed_total:.2f}（{result.grade}），工作簿显示 {shown}")
    console.print(head)
    differing = [i for i in result.indicators if not i.agrees]
    if differing or verbose:
        table = Table("三级指标", "参考分值", "工作簿得分", "重新计算", "扣分情况说明", box=None, pad_edge=False)
        for i in (result.indicators if verbose else differing):
            wb = "—" if i.workbook_score is None else f"{i.workbook_score:.2f}"
            style = None if i.agrees else "red"
            table.add_row(Text(i.name), f"{i.points:g}", wb, f"{i.recomputed_score:.2f}",
                          Text(clip(i.explanation, MAX_MESSAGE)), style=style)
        console.print(table)
    for m in result.messages:
        if m.level == NOTE and not verbose:
            continue
        line = Text.assemble("  ", (m.level, COLOURS[m.level]), " ")
        if m.where and m.where not in m.text:
            line.append(clip(m.where, MAX_NAME), "dim")
            line.append(" ")
        line.append(clip(m.text, MAX_MESSAGE))
        console.print(line)
    notes = sum(1 for m in result.messages if m.level == NOTE)
    if notes and not verbose:
        console.print(Text(f"  另有提示 {notes} 条（--verbose 查看）", "dim"))
