"""The 自评报告 from a scorecard: the report definition's blocks in order, every figure from the
scorecard's values (the same cells the workbook's 评分表 computes), every table from the form's
own table definitions — rows added to the form appear in the report without a change here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from docx.shared import Pt

from jixiao.cell_ids import grid_id, note_id, score_id, text_id
from jixiao.engine import Scorecard, score
from jixiao.framework.model import Framework, Table
from jixiao.selfreport.definition import Block, ReportDefinition, load_definition
from jixiao.selfreport.document import ReportDocument, merge_down
from jixiao.selfreport.figures import BLANK, Figures, amount, count, figures, pct, score_text
from jixiao.textformat import general_text

TEXT_WIDTH = 15.5  # cm between the A4 portrait margins
CELL_FORMATS = {"amount": amount, "count": count, "percent": pct}
_EPS = 1e-9


@dataclass
class Problem:
    """One 存在的问题 item: an indicator that lost points."""
    indicator_id: str
    text: str
    measure: str


@dataclass
class Report:
    document: ReportDocument
    problems: list[Problem] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)  # field ids shown as 【待填写】
    card: Scorecard | None = None

    def save(self, target) -> None:
        self.document.save(target)


def lost_points(framework: Framework, card: Scorecard) -> list[str]:
    """The indicators that lost points, in the framework's order."""
    return [i.id for i in card.indicators if i.score < i.points - _EPS]


def report_for_inputs(framework: Framework, inputs: Mapping[str, Any],
                      definition: ReportDefinition | None = None) -> Report:
    """The report for a unit's inputs (field id → value), e.g. from the bureau's database."""
    return build_report(framework, score(framework, inputs), definition)


def build_report(framework: Framework, card: Scorecard, definition: ReportDefinition | None = None) -> Report:
    definition = definition or load_definition(framework)
    figs = figures(framework, card, definition)
    report = Report(ReportDocument(), card=card)
    doc = report.document
    doc.cover(figs.fill(definition.cover_title), [figs.fill(line) for line in definition.cover_lines])
    for block in definition.body:
        _BLOCKS[block.kind](report, block, figs, framework, card)
    return report


# --------------------------------------------------------------------------- blocks

def _heading(report: Report, block: Block, figs: Figures, fw: Framework, card: Scorecard) -> None:
    report.document.heading(figs.fill(block.text), block.level)


def _paragraph(report: Report, block: Block, figs: Figures, fw: Framework, card: Scorecard) -> None:
    # the definition wraps long templates over lines; a paragraph is one line of text
    report.document.paragraph(figs.fill("".join(line.strip() for line in block.text.split("\n"))))


def _text(report: Report, block: Block, figs: Figures, fw: Framework, card: Scorecard) -> None:
    text = figs.narrative(block.field)
    if text == figs.placeholder:
        report.placeholders.append(block.field)
    for line in text.split("\n"):
        if line.strip():
            report.document.paragraph(line.strip())


def grid_rows(table: Table, figs: Figures, omit_blank_rows: bool) -> list[list[str]]:
    """The body of a form grid table as the report shows it: the row label, then each column
    formatted by its type (a computed ratio as the workbook shows it)."""
    out = []
    for row in table.rows:
        ids = [grid_id(row.id, c.id) for c in table.columns if not c.computed]
        if omit_blank_rows and not row.required and all(figs.values.get(i) in (None, "") for i in ids):
            continue
        cells = [row.label]
        for c in table.columns:
            value = figs.values.get(grid_id(row.id, c.id))
            fmt = pct if c.computed else CELL_FORMATS.get(c.type, amount)
            cells.append(fmt(value))
        out.append(cells)
    return out


def _table(report: Report, block: Block, figs: Figures, fw: Framework, card: Scorecard) -> None:
    table = block.table
    report.document.table_title(table.title, table.unit)
    header = [block.first_column] + [c.label for c in table.columns]
    first = 6.5 if len(table.columns) <= 3 else 5.0
    other = (TEXT_WIDTH - first) / len(table.columns)
    report.document.table([header], grid_rows(table, figs, block.omit_blank_rows), [first] + [other] * len(table.columns))


def field_rows(table: Table, figs: Figures) -> list[list[str]]:
    rows = []
    for f in table.fields:
        value = figs.values.get(f.id)
        fmt = CELL_FORMATS.get(f.type)
        shown = fmt(value) if fmt else (str(value) if value not in (None, "") else BLANK)
        rows.append([f.label, shown])
    return rows


def _fields(report: Report, block: Block, figs: Figures, fw: Framework, card: Scorecard) -> None:
    table = block.table
    report.document.table_title(block.title, table.unit)
    report.document.table([list(block.columns)], field_rows(table, figs), [TEXT_WIDTH - 4.5, 4.5])


def _note(figs: Figures, indicator_id: str) -> str | None:
    value = figs.values.get(note_id(indicator_id))
    return value.strip() if isinstance(value, str) and value.strip() else None


def _problems(report: Report, block: Block, figs: Figures, fw: Framework, card: Scorecard) -> None:
    lost = lost_points(fw, card)
    if not lost:
        report.document.paragraph(figs.fill(block.options["none"]))
        return
    for n, iid in enumerate(lost, 1):
        ind = card.indicator(iid)
        extra = {"n": str(n), "name": ind.name, "level1": ind.level1, "level2": ind.level2,
                 "points": general_text(ind.points), "score": score_text(figs.values[score_id(iid)]),
                 "lost": general_text(round(ind.points - ind.score, fw.score_decimals)),
                 "explanation": str(figs.values[text_id(iid)])}
        text = figs.fill(block.options["item"], extra)
        note = _note(figs, iid)
        if note is None:
            report.placeholders.append(note_id(iid))
        measure = figs.fill(block.options["measure"], {"note": note or figs.placeholder})
        report.problems.append(Problem(iid, text, measure))
        report.document.paragraph(text)
        report.document.paragraph(measure)


# the seeds' three header rows; a cell spanned by the one before it is left empty, so that
# merging keeps one copy of each heading
_REST = ["指标说明", "参考评分标准", "得分", "扣分情况及整改情况说明"]
SCORE_HEADER = [
    ["评价指标"] + [""] * 5 + _REST,
    ["一级指标", "", "二级指标", "", "三级指标", ""] + [""] * 4,
    ["名称", "参考分值"] * 3 + [""] * 4,
]
SCORE_WIDTHS = [1.5, 1.2, 1.5, 1.2, 2.2, 1.2, 4.4, 7.0, 1.4, 4.1]


def score_rows(fw: Framework, figs: Figures, note_template: str) -> list[list[str]]:
    """The 评分表's 21 rows: names and 参考分值 of the three levels, 指标说明, 评分标准, the score
    and 扣分情况说明 as the workbook computes them, and the unit's 整改情况说明."""
    rows = []
    for l1 in fw.level1:
        for l2 in l1.children:
            for ind in l2.indicators:
                explanation = str(figs.values[text_id(ind.id)])
                note = _note(figs, ind.id)
                if note:
                    explanation += "\n" + figs.fill(note_template, {"note": note})
                rows.append([l1.name, general_text(l1.points), l2.name, general_text(l2.points), ind.name,
                             general_text(ind.points), ind.description, ind.criteria,
                             score_text(figs.values[score_id(ind.id)]), explanation])
    return rows


def _scores(report: Report, block: Block, figs: Figures, fw: Framework, card: Scorecard) -> None:
    doc = report.document
    doc.table_title(figs.fill(block.options["title"]), "")
    body = score_rows(fw, figs, block.options["note"])
    total = [block.options["total"]] + [""] * 7 + [score_text(figs.values["total"]), f"评价等级：{figs.values['grade']}"]
    table = doc.table(SCORE_HEADER, body + [total], SCORE_WIDTHS, size=Pt(9), left=(6, 7, 9))
    # the seeds' header: 评价指标 over the six name/分值 columns, each level over its pair,
    # the four other headings down three rows; 一级/二级 names down their indicators
    table.cell(0, 0).merge(table.cell(0, 5))
    for i in range(3):
        table.cell(1, 2 * i).merge(table.cell(1, 2 * i + 1))
    for col in range(6, 10):
        table.cell(0, col).merge(table.cell(2, col))
    row = 3
    for l1 in fw.level1:
        start1 = row
        for l2 in l1.children:
            start2 = row
            row += len(l2.indicators)
            merge_down(table, 2, start2, row - 1)
            merge_down(table, 3, start2, row - 1)
        merge_down(table, 0, start1, row - 1)
        merge_down(table, 1, start1, row - 1)
    table.cell(row, 0).merge(table.cell(row, 7))


def _page_break(report: Report, block: Block, figs: Figures, fw: Framework, card: Scorecard) -> None:
    report.document.page_break()


def _landscape(report: Report, block: Block, figs: Figures, fw: Framework, card: Scorecard) -> None:
    report.document.landscape()


_BLOCKS = {"heading": _heading, "paragraph": _paragraph, "text": _text, "table": _table, "fields": _fields,
           "problems": _problems, "scores": _scores, "page_break": _page_break, "landscape": _landscape}
