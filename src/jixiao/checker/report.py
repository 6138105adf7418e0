"""The terminal report of `jixiao check`, in the vocabulary of report software.

What is printed is defined once (`report_items`: lines of styled spans, and the indicator table
when one is shown); rich renders it.  Piped to a file or another program (no terminal, so no
colour), a report without a table is written by `checker.plain_report`, which wraps lines
exactly as rich would -- with rich's own line breaking -- without importing rich's console.

Everything a unit supplied -- a file name, a unit name, a typed value inside a message, an
explanation -- reaches the console as a `Text`, never as markup: ``[/]`` in a unit name must not
crash the report, ``[link=…]`` must not become a clickable link.  Long strings are clipped, so
a 32,767-character cell costs no more to print than a short one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from jixiao.checker.result import ERROR, NOTE, WARNING, CheckResult, STATUS_TEXT
from jixiao.names import clip

if TYPE_CHECKING:
    from rich.console import Console

COLOURS = {ERROR: "red", WARNING: "yellow", NOTE: "cyan"}
STATUS_COLOURS = {"accepted": "green", "accepted_with_warnings": "yellow", "rejected": "red", "unreadable": "red"}
MAX_FILE = 300      # characters of a file path echoed (a path is at most 4,096 bytes anyway)
MAX_NAME = 80       # characters of a unit name or a cell reference echoed
MAX_MESSAGE = 600   # characters of one message echoed (the JSON and the database keep it whole)

Span = tuple[str, Union[str, None]]  # (text, rich style or None)


@dataclass
class Line:
    """One printed line (wrapped at the console's width): spans, and a style for all of it."""

    spans: list[Span]
    style: str | None = None

    @property
    def plain(self) -> str:
        return "".join(text for text, _ in self.spans)


@dataclass
class IndicatorTable:
    """The indicators shown (those that differ, or all with --verbose): cells and row style."""

    rows: list[tuple[tuple[str, str, str, str, str], str | None]]

    HEADER = ("三级指标", "参考分值", "工作簿得分", "重新计算", "扣分情况说明")


Item = Union[Line, IndicatorTable]


def report_items(result: CheckResult, verbose: bool = False) -> list[Item]:
    """What the report of one result prints, in order."""
    head = Line([(clip(result.file, MAX_FILE), "bold"), ("：", None),
                 (STATUS_TEXT[result.status], STATUS_COLOURS[result.status])])
    if result.status == "unreadable":
        # a refused file: nothing read from it is shown, only why it was refused
        return [head] + [Line([("  ", None), (clip(m.text, MAX_MESSAGE), "red")])
                         for m in result.messages if m.level == ERROR]
    if result.unit_name:
        head.spans.append((f"  {clip(str(result.unit_name), MAX_NAME)} {result.year or ''}", None))
    if result.recomputed_total is not None:
        shown = f"{result.workbook_total:.2f}" if result.workbook_total is not None else "—"
        head.spans.append((f"  总得分 {result.recomputed_total:.2f}（{result.grade}），工作簿显示 {shown}", None))
    items: list[Item] = [head]
    differing = [i for i in result.indicators if not i.agrees]
    if differing or verbose:
        rows = []
        for i in (result.indicators if verbose else differing):
            wb = "—" if i.workbook_score is None else f"{i.workbook_score:.2f}"
            rows.append(((i.name, f"{i.points:g}", wb, f"{i.recomputed_score:.2f}", clip(i.explanation, MAX_MESSAGE)),
                         None if i.agrees else "red"))
        items.append(IndicatorTable(rows))
    for m in result.messages:
        if m.level == NOTE and not verbose:
            continue
        line = Line([("  ", None), (m.level, COLOURS[m.level]), (" ", None)])
        if m.where and m.where not in m.text:
            line.spans += [(clip(m.where, MAX_NAME), "dim"), (" ", None)]
        line.spans.append((clip(m.text, MAX_MESSAGE), None))
        items.append(line)
    notes = sum(1 for m in result.messages if m.level == NOTE)
    if notes and not verbose:
        items.append(Line([(f"  另有提示 {notes} 条（--verbose 查看）", None)], "dim"))
    return items


def print_result(result: CheckResult, console: Console, verbose: bool = False) -> None:
    """The report of one result on a rich console."""
    from rich.table import Table
    from rich.text import Text

    for item in report_items(result, verbose):
        if isinstance(item, Line):
            console.print(Text.assemble(*((t, s) if s else t for t, s in item.spans), style=item.style or ""))
            continue
        table = Table(*item.HEADER, box=None, pad_edge=False)
        for (name, points, wb, recomputed, explanation), style in item.rows:
            table.add_row(Text(name), points, wb, recomputed, Text(explanation), style=style)
        console.print(table)


def print_results(results: list[CheckResult], verbose: bool = False) -> None:
    """The reports of `results` on standard output: plain text when that is what rich would
    write (see `plain_report`), else through rich."""
    from jixiao.checker.plain_report import write_plain

    reports = [report_items(r, verbose) for r in results]
    if write_plain(reports):
        return
    from rich.console import Console

    console = Console()
    for r in results:
        print_result(r, console, verbose)
