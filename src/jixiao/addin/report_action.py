"""The add-in's 生成自评报告: the report of the open workbook, from the same check the 校验 button
runs on it (`actions.run_check`), written beside the workbook (desktop) or to a given path.
Refused while the check finds errors: a report is for a workbook that can be submitted."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jixiao.addin.actions import _framework, run_check
from jixiao.framework.model import Framework
from jixiao.selfreport import Report, report_for_inputs


class ReportRefused(RuntimeError):
    """Why the add-in wrote no report, as its alert says it."""


def report_path(book: Any) -> Path:
    """自评报告 beside the workbook: 福田自评表.xlsx → 福田自评表-自评报告.docx."""
    full = Path(str(getattr(book, "fullname", "") or book.name))
    return full.with_name(f"{full.stem}-自评报告.docx")


def write_report(book: Any, output: str | Path | None = None, frameworks: Iterable[Framework] = ()) -> tuple[Path, Report]:
    frameworks = list(frameworks)
    _, result = run_check(book, frameworks)
    fw = _framework(result, frameworks)
    if fw is None or result.errors:
        first = result.errors[0].text if result.errors else "不是 jixiao 自评表模板"
        raise ReportRefused(f"未生成自评报告：审核有错误 {len(result.errors)} 项（{first}），请先点“校验”并修正")
    report = report_for_inputs(fw, result.inputs)
    target = Path(output) if output is not None else report_path(book)
    report.save(target)
    return target, report
