"""The Layout: the workbook's structure as data, and its two sheet schemas (the `_jixiao`
metadata sheet, the 校验结果 sheet).  Checked against the rendered workbook read back by
openpyxl and after a LibreOffice recalculation, not only against itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from jixiao.cell_ids import STATUS
from jixiao.checker.check import check_file
from jixiao.checker.result import ERROR, NOTE, WARNING, CheckResult
from jixiao.xlsx.reader import read_workbook
from jixiao.xlsx.refs import parse_ref
from jixiao.xlsx.safe import open_xlsx
from jixiao.data import load_data
from jixiao.framework.loader import load_framework
from jixiao.layout import layout_for, meta_sheet, result_sheet
from jixiao.layout.model import Place, SheetLayout, layout_digest
from jixiao.layout.names import CHECK_SHEET, META_SHEET, RESULT_SHEET, SCORE_SHEET, TEMPLATE_ID
from jixiao.samples import sample_path
from jixiao.verify.libreoffice_recalc import recalculated_values
from jixiao.workbook.generator import build_workbook

SRC = Path(__file__).resolve().parents[1] / "src"
FRAMEWORKS = Path(__file__).parent / "frameworks"


@pytest.fixture(scope="module")
def fw():
    return load_framework()


@pytest.fixture(scope="module")
def futian(fw, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("layout") / "futian.xlsx"
    build_workbook(fw, load_data(fw, sample_path("futian"))).save(path)
    return path


# --------------------------------------------------------------------------- the model

def test_layout_needs_no_openpyxl():
    code = ("import sys; from jixiao.framework.loader import load_framework; from jixiao.layout import layout_for;"
            "L = layout_for(load_framework()); assert L.positions and L.row_labels;"
            "print('openpyxl' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "False"


def test_every_field_and_computed_cell_has_one_place(fw):
    from jixiao.engine import computed_cells

    layout = layout_for(fw)
    assert set(layout.inputs) == set(fw.fields)
    assert set(layout.computed) == {c.id for c in computed_cells(fw)}
    places = list(layout.inputs.values()) + list(layout.computed.values())
    assert len(set(places)) == len(places)  # no cell holds two things
    for place in places:  # and none is hidden under a merged range
        assert (place.row, place.col) not in layout.sheet(place.sheet).covered


def test_places_spell_references_as_formulas_do():
    assert Place("评分表", 6, 9).absolute == "'评分表'!$I$6"
    assert Place("it's", 10, 28).coord == "AB10"
    assert Place("it's", 1, 1).absolute == "'it''s'!$A$1"


def test_covered_cells_are_not_row_labels():
    sheet = SheetLayout("s")
    sheet.put(5, 1, "一级", font="header")
    sheet.put(6, 1, "一级")  # under the merge: shown empty
    sheet.merge(5, 1, 6, 1)
    assert sheet.shown(5, 1).value == "一级" and sheet.shown(6, 1) is None
    assert (6, 1) in sheet.covered and (5, 1) not in sheet.covered


def test_the_rendered_workbook_is_where_the_layout_says(fw, futian):
    """Defined names, row labels and sheet order in the saved file, read back by openpyxl."""
    layout = layout_for(fw)
    wb = openpyxl.load_workbook(futian)
    assert wb.sheetnames == layout.sheet_names
    names = {n: parse_ref(d.attr_text) for n, d in wb.defined_names.items()}
    assert names == {n: p.position for n, p in layout.names.items()}
    for (sheet, coord), label in layout.row_labels.items():
        assert wb[sheet][coord].value == label
    for fid, place in layout.inputs.items():
        cell = wb[place.sheet][place.coord]
        assert cell.protection.locked is False, fid
    for cid, place in layout.computed.items():
        value = wb[place.sheet][place.coord].value
        assert isinstance(value, str) and value.startswith("="), cid


def test_a_second_form_gets_its_own_layout():
    renamed = load_framework(FRAMEWORKS / "renamed-ids.yaml")
    layout = layout_for(renamed)
    assert set(layout.inputs) == set(renamed.fields)
    assert layout_for(renamed) is layout  # built once per framework
    assert layout.inputs != layout_for(load_framework()).inputs


def test_the_score_sheet_shows_the_check_status(fw, futian, soffice):
    """The 审核结果 row of 评分表 mirrors the 审核 status line (it was once left empty), also
    when LibreOffice recalculates the workbook itself."""
    layout = layout_for(fw)
    mirrors = [(p, ref) for p, ref in layout.mirrors if p.sheet == SCORE_SHEET]
    assert [ref for _, ref in mirrors] == [STATUS]
    place = mirrors[0][0]
    status = layout.computed[STATUS]
    assert status.sheet == CHECK_SHEET
    values = recalculated_values(futian)
    assert values[SCORE_SHEET][place.coord] == values[CHECK_SHEET][status.coord]
    assert values[SCORE_SHEET][place.coord].startswith("错误 0 项，警告 ")


# --------------------------------------------------------------------------- the metadata sheet

def test_metadata_sheet_written_and_read_back(fw, futian):
    layout = layout_for(fw)
    book = read_workbook(open_xlsx(futian))
    head = meta_sheet.read_head(book)
    assert list(head) == list(meta_sheet.HEAD_KEYS)
    assert head["template_id"] == TEMPLATE_ID and head["framework_digest"] == fw.digest
    assert head["layout_digest"] == layout_digest(layout.positions) == layout.digest
    assert meta_sheet.read_map(book) == layout.positions
    assert meta_sheet.read_finalisation(book) == {}
    assert META_SHEET in book.sheets and layout.sheet(META_SHEET).hidden


def test_metadata_sheet_after_a_libreoffice_resave(fw, futian, soffice, tmp_path):
    """LibreOffice rewrites every part of the file: the schema still reads what was written."""
    from jixiao.verify.libreoffice_recalc import recalculate

    out = recalculate([futian], tmp_path, recalc=False)[futian]
    book = read_workbook(open_xlsx(out))
    assert meta_sheet.read_map(book) == layout_for(fw).positions
    assert meta_sheet.read_head(book)["framework_id"] == fw.id


# --------------------------------------------------------------------------- the 校验结果 sheet

def _result() -> CheckResult:
    r = CheckResult(file="x.xlsx")
    r.status = "rejected"
    r.add(WARNING, "cross_check", "合计不一致", sheet="审核", cell="D7")
    r.add(ERROR, "invalid_value", "=SUM(1) 不是数值", sheet="评分要素", cell="B12", field="staff")
    r.add(NOTE, "addin_limits", "读不到公式文本")
    return r


def test_result_rows_follow_the_schema():
    rows = result_sheet.rows(_result(), "2022-03-31 17:30:00+08:00")
    assert all(len(row) == len(result_sheet.HEADER) for row in rows)
    assert rows[result_sheet.TABLE_ROW - 1] == result_sheet.HEADER
    listed = rows[result_sheet.TABLE_ROW:]
    assert [r[1] for r in listed] == [ERROR, WARNING, NOTE]  # errors first
    assert listed[0][2] == "评分要素!B12" and listed[0][3] == "=SUM(1) 不是数值"  # a value, not a formula
    assert result_sheet.as_text(listed[0][3]) == "'=SUM(1) 不是数值"  # as the add-in types it
    assert rows[3][:4] == ["错误", 1, "警告", 1]
    assert result_sheet.listed_cells(rows) == {("评分要素", "B12"), ("审核", "D7")}
    assert result_sheet.link(_result().messages[0]) == "#'审核'!D7"


def test_annotated_copy_and_add_in_share_the_listing(futian, tmp_path):
    from jixiao.checker.annotate import annotate

    result = check_file(futian)
    out = tmp_path / "标注.xlsx"
    annotate(futian, result, out)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == RESULT_SHEET
    written = [list(r) for r in wb[RESULT_SHEET].iter_rows(values_only=True)]
    expected = result_sheet.rows(result, written[4][1])  # the same rows the add-in writes
    assert written == expected
    assert result_sheet.listed_cells(written) == {(m.sheet, m.cell) for m in result.messages if m.sheet and m.cell}
    assert [r[1] for r in written[result_sheet.TABLE_ROW:]] == [m.level for m in result_sheet.ordered(result)]


def test_annotated_copy_keeps_formula_like_text_as_text(futian, tmp_path, soffice):
    """A message (or a unit's text) that begins with "=" is text in the copy, without a visible
    apostrophe, and stays text when LibreOffice recalculates the copy."""
    from jixiao.checker.annotate import annotate

    result = check_file(futian)
    text = "=SUM(1,2) 看似公式的说明"
    result.add(WARNING, "cross_check", text)
    out = tmp_path / "标注.xlsx"
    annotate(futian, result, out)
    ws = openpyxl.load_workbook(out)[RESULT_SHEET]
    (cell,) = [c for row in ws.iter_rows(min_row=result_sheet.TABLE_ROW + 1) for c in row if c.value == text]
    assert cell.data_type == "s"
    assert text in recalculated_values(out)[RESULT_SHEET].values()
