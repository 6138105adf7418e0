"""Where a report's inputs come from: a filled workbook, read by the checker's reader (the same
values `jixiao check` and the bureau's import see), or a submission in the bureau's database."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jixiao.checker.result import UNREADABLE, CheckResult
from jixiao.framework.loader import load_framework
from jixiao.framework.model import Framework
from jixiao.selfreport.build import Report, report_for_inputs
from jixiao.selfreport.definition import ReportDefinition, load_definition


class ReportError(ValueError):
    """Why no report could be written, in one line for the user."""


def _framework(framework_id: str | None, version: str | None, frameworks: Iterable[Framework],
               where: str) -> Framework:
    known = list(frameworks) + [load_framework()]
    same = [f for f in known if f.id == framework_id]
    exact = [f for f in same if f.version == version]
    if not (exact or same):
        raise ReportError(f"{where}：框架 “{framework_id}”（版本 {version}）未知，无法生成自评报告：请用 --framework 指定该框架文件")
    return (exact or same)[0]


def _definition(fw: Framework, definition: ReportDefinition | str | Path | None) -> ReportDefinition | None:
    return load_definition(fw, definition) if isinstance(definition, (str, Path)) else definition


def report_from_workbook(path: str | Path, frameworks: Iterable[Framework] = (),
                         definition: ReportDefinition | str | Path | None = None) -> tuple[Report, CheckResult]:
    """The report of a filled workbook, and the check of that workbook (its 错误/警告).
    `definition`: a report definition or its file (default: the built-in one of the form)."""
    from jixiao.checker.check import check_file

    frameworks = list(frameworks)
    result = check_file(path, frameworks)
    if result.status == UNREADABLE or not result.framework_id:
        first = result.errors[0].text if result.errors else "无法读取"
        raise ReportError(f"{path}：{first}")
    if any(m.code == "blank_template" for m in result.messages):
        raise ReportError(f"{path}：这是空白模板，尚未填写任何数据，无法生成自评报告")
    fw = _framework(result.framework_id, result.framework_version, frameworks, str(path))
    return report_for_inputs(fw, result.inputs, _definition(fw, definition)), result


def submission_inputs(engine, unit_name: str | None = None, year: int | None = None,
                      submission_id: int | None = None) -> tuple[dict[str, Any], Any]:
    """A submission's inputs from the database: by id, or the current one of a unit (and year)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from jixiao.importer.db import InputValue, Submission

    with Session(engine) as session:
        query = select(Submission)
        if submission_id is not None:
            query = query.where(Submission.id == submission_id)
        else:
            query = query.where(Submission.unit_name == unit_name, Submission.is_current.is_(True))
            if year is not None:
                query = query.where(Submission.year == year)
        subs = session.scalars(query.order_by(Submission.year.desc(), Submission.id.desc())).all()
        if not subs:
            what = f"编号 {submission_id}" if submission_id is not None else f"“{unit_name}”" + (f" {year} 年度" if year else "")
            raise ReportError(f"数据库中没有{what}的自评表")
        sub = subs[0]
        rows = session.scalars(select(InputValue).where(InputValue.submission_id == sub.id)).all()
        inputs = {r.field_id: (r.value_text if r.value_text is not None else r.value_number) for r in rows}
        session.expunge(sub)
        return inputs, sub


def report_from_database(engine, unit_name: str | None = None, year: int | None = None,
                         submission_id: int | None = None, frameworks: Iterable[Framework] = (),
                         definition: ReportDefinition | str | Path | None = None) -> Report:
    """The report of an imported submission, from the inputs the database holds: the bureau can
    write every unit's report without opening a workbook."""
    inputs, sub = submission_inputs(engine, unit_name, year, submission_id)
    fw = _framework(sub.framework_id, sub.framework_version, frameworks, f"提交 {sub.id}（{sub.original_name}）")
    known = {k: v for k, v in inputs.items() if k in fw.fields}
    return report_for_inputs(fw, known, _definition(fw, definition))


def _file_name(text: str) -> str:
    """A file name Windows accepts too (no \\ / : * ? " < > |)."""
    return "".join("_" if c in '\\/:*?"<>|' or ord(c) < 32 else c for c in text).strip(" .") or "单位"


def reports_from_database(engine, out_dir: str | Path, frameworks: Iterable[Framework] = (),
                          definition: ReportDefinition | str | Path | None = None) -> list[tuple[str, str]]:
    """Every current submission's report into `out_dir`; one (submission, outcome) line each: the
    file written, or why not (a rejected workbook gets none — its unit must correct it first)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from jixiao.checker.result import ACCEPTED, WARNED
    from jixiao.importer.db import Submission

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with Session(engine) as session:
        subs = session.scalars(select(Submission).where(Submission.is_current.is_(True))
                               .order_by(Submission.unit_name, Submission.year)).all()
        session.expunge_all()
    outcomes = []
    for sub in subs:
        label = f"{sub.unit_name or sub.original_name}（{sub.year or '年度未填'}）"
        if sub.status not in (ACCEPTED, WARNED):
            outcomes.append((label, f"未生成：审核不通过（错误 {sub.errors} 项），请单位修正后重新报送"))
            continue
        try:
            report = report_from_database(engine, submission_id=sub.id, frameworks=frameworks, definition=definition)
            target = out_dir / f"{_file_name(sub.unit_name or sub.original_name)}-{sub.year}-自评报告.docx"
            report.save(target)
            outcomes.append((label, str(target)))
        except (ReportError, OSError) as exc:
            outcomes.append((label, f"未生成：{exc}"))
    return outcomes
