"""The 校验结果 sheet, as one schema: the add-in writes it into the live workbook, `jixiao check
--annotate` into the copy mailed back to the unit, and the add-in reads the previous listing
back to take its marks away.

Rows 1–6: title, 结论 / 单位 / 年度, totals, counts, when and by what it was checked, a note;
row 8: the header of the message table; one row per message below (errors first), its 位置 a
link to the cell."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from jixiao import __version__
from jixiao.checker.result import ERROR, NOTE, STATUS_TEXT, WARNING, CheckResult, Message
from jixiao.xlsx.refs import quote_sheetname

TITLE = "绩效自评"
HEADER = ["序号", "级别", "位置", "说明", "代码", "字段"]
TABLE_ROW = 8  # the header row of the message table (1-based)
WHERE_COL = 3  # 位置
LEVEL_ORDER = {ERROR: 0, WARNING: 1, NOTE: 2}
NOTHING_FOUND = "未发现问题"


def stamp(now: _dt.datetime | None = None) -> str:
    """Local time with its UTC offset, "2022-03-31 17:30:00+08:00": a space, not ISO's "T", so
    that neither Excel nor xlwings' date detection takes the text for a date."""
    return (now or _dt.datetime.now().astimezone()).isoformat(sep=" ", timespec="seconds")


def ordered(result: CheckResult) -> list[Message]:
    return sorted(result.messages, key=lambda m: LEVEL_ORDER.get(m.level, 3))


def where(m: Message) -> str:
    return f"{m.sheet}!{m.cell}" if m.sheet and m.cell else (m.sheet or "")


def link(m: Message) -> str | None:
    """The hyperlink target of a message's cell, "#'Sheet'!C5"."""
    return f"#{quote_sheetname(m.sheet, always=True)}!{m.cell}" if m.sheet and m.cell else None


def rows(result: CheckResult, checked_at: str | None = None) -> list[list[Any]]:
    """Every row of the sheet, six columns each, as values (a writer that types them into a
    live workbook keeps formula-like text as text with `as_text`)."""
    counts = {level: sum(1 for m in result.messages if m.level == level) for level in (ERROR, WARNING, NOTE)}
    total = "" if result.recomputed_total is None else result.recomputed_total
    shown = "" if result.workbook_total is None else result.workbook_total
    out: list[list[Any]] = [
        [f"{TITLE} 校验结果", None, None, None, None, None],
        ["结论", STATUS_TEXT[result.status], "单位", result.unit_name or "", "年度", result.year or ""],
        ["总得分（重新计算）", total, "等级", result.grade or "", "工作簿显示", shown],
        ["错误", counts[ERROR], "警告", counts[WARNING], "提示", counts[NOTE]],
        ["校验时间", checked_at or stamp(), "校验程序", f"jixiao {__version__}", "框架", result.framework_id or ""],
        ["说明", "点击“位置”可跳到该单元格；改正后请再次校验。本表不参与评分。", None, None, None, None],
        [None] * 6,
        list(HEADER),
    ]
    messages = ordered(result)
    for n, m in enumerate(messages, 1):
        out.append([n, m.level, where(m), m.text, m.code, m.field or ""])
    if not messages:
        out.append([None, None, None, NOTHING_FOUND, None, None])
    return out


def as_text(value: Any) -> Any:
    """Text typed into a live workbook that Excel would take for a formula gets a leading
    apostrophe (Excel keeps it as text and does not show the apostrophe)."""
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") else value


def listed_cells(values: list[list[Any]]) -> set[tuple[str, str]]:
    """The cells a previous listing names (its 位置 column), as (sheet, coordinate)."""
    out = set()
    for row in values[TABLE_ROW:]:
        text = row[WHERE_COL - 1] if len(row) >= WHERE_COL else None
        if isinstance(text, str) and "!" in text:
            name, _, cell = text.rpartition("!")
            out.add((name.strip("'"), cell.replace("$", "")))
    return out
