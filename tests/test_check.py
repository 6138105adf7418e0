"""`jixiao check`: every bad case is built from a good workbook by editing its zip parts the way
Excel, WPS, another program or the accountant would (tests/workbook_surgery.py), then checked
through `check_file` and the command line.  Each case asserts the status, the exit code and the
exact message codes with their cells and the key parts of their text."""

from __future__ import annotations

import hashlib
import io
import json
import re
import struct
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from jixiao.checker.check import check_file
from jixiao.checker.result import ERROR, NOTE, WARNING, CheckResult
from jixiao.xlsx.safe import OLE2_SIGNATURE, open_xlsx
from jixiao.xlsx.reader import read_workbook
from jixiao.cli import main
from jixiao.data import load_data
from jixiao.framework.loader import load_framework
from jixiao.samples import REPORTED_TOTALS, sample_path
from jixiao.workbook.generator import build_workbook
from workbook_surgery import Xlsx, recalculated

DOCS = Path(__file__).parents[1] / "docs" / "check-json.md"
META = "_jixiao"
# the two inconsistencies of the published Futian report (审核 must find them, nothing else)
FUTIAN_WARNINGS = {"exec_actual_parts": ("4228.15", "4227.55"), "daily_public_vs_public": ("53", "58.67")}
LONGGANG_WARNINGS = {"q4_equals_actual": ("1095.22", "1089.42")}


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def fw():
    return load_framework()


@pytest.fixture(scope="module")
def futian_data(fw):
    return load_data(fw, sample_path("futian"))


@pytest.fixture(scope="module")
def futian_built(fw, futian_data):
    return build_workbook(fw, futian_data)


def _xlsx(built) -> Xlsx:
    buf = io.BytesIO()
    built.save(buf)
    return Xlsx.load(buf.getvalue())


@pytest.fixture(scope="module")
def good(futian_built) -> Xlsx:
    """The Futian workbook as jixiao fills it (cached results included).  Copy before editing."""
    return _xlsx(futian_built)


@pytest.fixture(scope="module")
def built_with(fw, futian_data):
    """The Futian workbook filled with some inputs changed: what Excel shows after recalculating."""
    def build(drop: tuple[str, ...] = (), **changes) -> Xlsx:
        data = {k: v for k, v in futian_data.items() if k not in drop}
        return _xlsx(build_workbook(fw, {**data, **changes}))

    return build


@pytest.fixture(scope="module")
def pos(futian_built):
    """Field or computed-cell id → (sheet, coordinate) in the template."""
    def where(ident: str) -> tuple[str, str]:
        p = futian_built.inputs.get(ident) or futian_built.computed[ident]
        return p.sheet, p.coord

    return where


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("check")


@pytest.fixture(scope="module")
def check(folder):
    """Save the edited workbook (or raw bytes) under *name* and check it."""
    def run(x: Xlsx | bytes, name: str) -> CheckResult:
        path = folder / name
        path.write_bytes(x if isinstance(x, bytes) else x.to_bytes())
        return check_file(path)

    return run


@pytest.fixture(scope="module")
def good_result(check, good) -> CheckResult:
    return check(good, "福田.xlsx")


# --------------------------------------------------------------------------- assertions

def codes(result: CheckResult, level: str | None = None) -> list[str]:
    return [m.code for m in result.messages if level is None or m.level == level]


def one(result: CheckResult, code: str):
    found = [m for m in result.messages if m.code == code]
    assert len(found) == 1, f"{code}: {[(m.code, m.text) for m in result.messages]}"
    return found[0]


def assert_warnings(result: CheckResult, expected: dict[str, tuple[str, ...]], *extra: str) -> None:
    """Exactly the sample's cross-check warnings (by check id, each naming its figures) plus
    the warnings of codes *extra*, in any order."""
    cross = [m for m in result.warnings if m.code == "cross_check"]
    assert sorted(m.field for m in cross) == sorted(expected)
    for m in cross:
        assert m.sheet == "审核" and m.cell
        for figure in expected[m.field]:
            assert figure in m.text, m.text
    assert sorted(m.code for m in result.warnings if m.code != "cross_check") == sorted(extra)


def assert_futian_scores(result: CheckResult, workbook_total: float | None = 94.79) -> None:
    """Scores recomputed to the published 94.79, and the workbook's own results agreeing."""
    assert result.recomputed_total == 94.79
    assert result.workbook_total == workbook_total
    assert result.grade == "优"
    assert len(result.indicators) == 21
    assert [i.id for i in result.indicators if not i.agrees] == []
    assert result.unit_name == "深圳市福田区政务服务中心" and result.year == 2021


def indicator(result: CheckResult, ind_id: str):
    return next(i for i in result.indicators if i.id == ind_id)


# --------------------------------------------------------------------------- the surgery itself

def test_surgery_round_trip_is_faithful(good, good_result):
    """Rewriting every part unchanged, and 'recalculating' with the same inputs, change nothing."""
    assert Xlsx.load(good.to_bytes()).members == good.members
    assert recalculated(good, good).members == good.members
    assert good_result.status == "accepted_with_warnings"


def test_surgery_insert_rows_moves_cells_references_and_names(good):
    x = good.copy().insert_rows("采购与经费", 3, skip=(META,))
    assert "<row r=\"3\"" not in x.text(x.sheet_part("采购与经费"))
    assert x.cell_xml("采购与经费", "B7").count("426.15") == 1  # procurement_actual was B6
    wb = x.text("xl/workbook.xml")
    assert "<definedName name=\"procurement_actual\">'采购与经费'!$B$7</definedName>" in wb
    assert "('采购与经费'!$B$7+0)/('采购与经费'!$B$6+0)" in x.formula("指标计算", "C4")
    before = int(re.search(r'<dimension ref="A1:D(\d+)" />', good.text(good.sheet_part("采购与经费"))).group(1))
    assert f'<dimension ref="A1:D{before + 1}" />' in x.text(x.sheet_part("采购与经费"))
    # the metadata sheet holds references as text: Excel leaves them alone, and so do we
    assert x.text(x.sheet_part(META)) == good.text(good.sheet_part(META))
    # unqualified references on the sheet itself move too (none in jixiao's sheets; a unit's own formula)
    y = good.copy()
    y.replace_cell("采购与经费", "D6", '<c r="D6"><f>B6*2&amp;"B6"&amp;\'指标计算\'!C4</f><v>1</v></c>')
    y.insert_rows("采购与经费", 3, skip=(META,))
    assert y.formula("采购与经费", "D7") == "B7*2&\"B6\"&'指标计算'!C4"


# --------------------------------------------------------------------------- 16. the samples

@pytest.mark.parametrize("name, expected", [("futian", FUTIAN_WARNINGS), ("longgang", LONGGANG_WARNINGS)])
def test_samples_are_accepted_with_their_known_warnings(fw, check, name, expected):
    result = check(_xlsx(build_workbook(fw, load_data(fw, sample_path(name)))), f"{name}.xlsx")
    assert result.status == "accepted_with_warnings" and result.exit_code == 0
    assert result.errors == []
    assert_warnings(result, expected)
    assert result.recomputed_total == result.workbook_total == REPORTED_TOTALS[name]
    assert result.grade == "优"
    assert all(i.agrees for i in result.indicators) and len(result.indicators) == 21
    assert result.template_id == "jixiao-self-evaluation"
    assert (result.framework_id, result.framework_version) == (fw.id, fw.version)
    assert result.year == 2021 and result.unit_name.startswith("深圳市")
    # nothing else to say about a workbook straight from the generator
    assert codes(result, NOTE) == []


# --------------------------------------------------------------------------- 1-2. formulas

def test_formula_overwritten_with_a_constant(good, check, pos):
    sheet, coord = pos("score.budget_execution")
    assert (sheet, coord) == ("评分表", "I21")
    result = check(good.copy().set_number(sheet, coord, 6), "常量.xlsx")
    assert result.status == "rejected" and result.exit_code == 1
    assert codes(result, ERROR) == ["formula_overwritten"]
    m = one(result, "formula_overwritten")
    assert (m.level, m.sheet, m.cell, m.field) == (ERROR, sheet, coord, "score.budget_execution")
    assert f"{sheet}!{coord} 的公式被改为常量 6" in m.text and "应为 =ROUND(" in m.text
    ind = indicator(result, "budget_execution")
    assert (ind.workbook_score, ind.recomputed_score, ind.agrees) == (6, 5.82, False)
    assert [i.id for i in result.indicators if not i.agrees] == ["budget_execution"]
    assert result.recomputed_total == 94.79
    assert_warnings(result, FUTIAN_WARNINGS)


def test_formula_edited(good, check, pos):
    sheet, coord = pos("score.budget_execution")
    formula = good.formula(sheet, coord)
    assert formula.startswith("ROUND(") and formula.endswith(",2)")
    edited = formula[:-2] + "1)"
    result = check(good.copy().set_formula(sheet, coord, edited), "改公式.xlsx")
    assert result.status == "rejected" and result.exit_code == 1
    assert codes(result, ERROR) == ["formula_edited"]
    m = one(result, "formula_edited")
    assert (m.sheet, m.cell, m.field) == (sheet, coord, "score.budget_execution")
    assert f"{sheet}!{coord} 的公式被修改" in m.text and "应为 =ROUND(" in m.text and "实际为 =ROUND(" in m.text
    assert_warnings(result, FUTIAN_WARNINGS)


def test_formulas_written_the_way_excel_writes_them_are_not_edits(good, check):
    """Excel does not quote CJK sheet names and may drop '$': still the template's formulas."""
    x = good.copy()
    for sheet in ("指标计算", "评分表", "审核"):
        part = x.sheet_part(sheet)
        x.set_text(part, re.sub(r"'([^'!<>]+)'!\$([A-Z]+)\$([0-9]+)", r"\1!\2\3", x.text(part)))
    assert "'指标计算'!" not in x.text(x.sheet_part("评分表"))
    result = check(x, "excel.xlsx")
    assert result.status == "accepted_with_warnings" and result.errors == []
    assert_warnings(result, FUTIAN_WARNINGS)
    assert_futian_scores(result)


# --------------------------------------------------------------------------- 3-4. rows, sheets

def test_inserted_row_is_read_by_name(good, good_result, check):
    result = check(good.copy().insert_rows("采购与经费", 3, skip=(META,)), "插入行.xlsx")
    assert result.status == "accepted_with_warnings" and result.exit_code == 0
    assert result.errors == []
    assert_warnings(result, FUTIAN_WARNINGS)
    assert_futian_scores(result)
    assert result.inputs == good_result.inputs
    assert codes(result, NOTE) == ["cells_moved"]
    m = one(result, "cells_moved")
    assert m.level == NOTE and "8 个单元格的位置与模板不同" in m.text and "已按名称读取" in m.text


def test_renamed_sheet_is_read_by_name_and_reported(good, good_result, check):
    result = check(good.copy().rename_sheet("资产与人员", "资产人员", skip=(META,)), "改名.xlsx")
    assert result.status == "accepted_with_warnings" and result.exit_code == 0
    assert result.errors == []
    assert_warnings(result, FUTIAN_WARNINGS, "sheet_renamed")
    assert_futian_scores(result)
    assert result.inputs == good_result.inputs
    m = one(result, "sheet_renamed")
    assert (m.level, m.sheet) == (WARNING, "资产人员")
    assert "“资产与人员”" in m.text and "“资产人员”" in m.text and "改回原名" in m.text
    assert "protection_removed" not in codes(result)  # the renamed sheet is still protected


def test_renamed_sheet_is_not_reported_as_inserted_rows(good, check):
    result = check(good.copy().rename_sheet("资产与人员", "资产人员", skip=(META,)), "改名2.xlsx")
    assert not any("插入或删除了行列" in m.text for m in result.messages)


# --------------------------------------------------------------------------- 5-6. input values

@pytest.mark.parametrize("typed, note", [("1317.55", "文本“1317.55”按数值 1317.55 读取"),
                                         ("1317.550", "按数值 1317.55 读取"),
                                         ("1,317.55", "文本“1,317.55”按数值 1317.55 读取")])
def test_number_stored_as_text_is_normalised(good, good_result, check, pos, typed, note):
    sheet, coord = pos("q1_cumulative")
    result = check(good.copy().set_string(sheet, coord, typed), f"文本数字-{len(typed)}.xlsx")
    assert result.status == "accepted_with_warnings" and result.exit_code == 0
    assert result.errors == []
    assert_warnings(result, FUTIAN_WARNINGS)
    assert_futian_scores(result)
    assert result.inputs == good_result.inputs
    assert codes(result, NOTE) == ["normalised"]
    m = one(result, "normalised")
    assert (m.level, m.sheet, m.cell, m.field) == (NOTE, sheet, coord, "q1_cumulative")
    assert m.text.startswith(f"{sheet}!{coord}“第一季度") and typed in m.text and note in m.text


@pytest.mark.parametrize("typed, note", [("１，３１７．５５", "全角数字已转换"),
                                         ("1317.55万元", "按 1317.55 万元读取")])
def test_number_text_the_formulas_cannot_compute_is_an_error(good, good_result, check, pos, typed, note):
    """Read (with a note), but the workbook's formulas cannot compute with it: its 审核 sheet
    says 错误 and its scores #VALUE! (tests/test_input_validity.py), and so does the check."""
    sheet, coord = pos("q1_cumulative")
    result = check(good.copy().set_string(sheet, coord, typed), f"文本-{len(typed)}.xlsx")
    assert result.status == "rejected" and result.exit_code == 1
    assert codes(result, ERROR) == ["not_a_number"]
    m = result.errors[0]
    assert (m.sheet, m.cell, m.field) == (sheet, coord, "q1_cumulative")
    assert typed.strip() in m.text and "#VALUE!" in m.text and "1317.55" in m.text
    assert note in one(result, "normalised").text
    assert result.inputs == good_result.inputs
    assert "comparison_skipped" in codes(result)


def test_word_where_a_number_belongs(good, check, pos, fw):
    sheet, coord = pos("staff_quota")
    result = check(good.copy().set_string(sheet, coord, "十二"), "十二.xlsx")
    assert result.status == "rejected" and result.exit_code == 1
    assert result.file.endswith("十二.xlsx")
    m = result.errors[0]
    assert m.code == "invalid_value" and codes(result).count("invalid_value") == 1
    label = fw.fields["staff_quota"].label
    assert (m.sheet, m.cell, m.field, m.label) == (sheet, coord, "staff_quota", label)
    assert m.text == f"{sheet}!{coord}“{label}”：应为不小于0的整数，实际为文本“十二”"
    assert (m.expected, m.found) == ("应为不小于0的整数", "文本“十二”")  # the field type's error record
    assert result.to_json()["messages"][0]["found"] == "文本“十二”"
    assert "staff_quota" not in result.inputs
    # the workbook's cached results were computed from 13, the recomputation has no value: the
    # comparison is skipped (said once) rather than flooding mismatches downstream of that cell
    assert codes(result, ERROR) == ["invalid_value"]
    assert "comparison_skipped" in codes(result)


def test_required_field_left_empty(good, built_with, check, pos):
    sheet, coord = pos("unit_name")
    x = recalculated(good.copy().delete_cell(sheet, coord), built_with(drop=("unit_name",)))
    result = check(x, "缺单位名称.xlsx")
    assert result.status == "rejected" and result.exit_code == 1
    assert codes(result, ERROR) == ["required"]
    m = one(result, "required")
    assert (m.sheet, m.cell, m.field, m.label) == (sheet, coord, "unit_name", "单位名称")
    assert m.text == f"{sheet}!{coord}“单位名称”为必填项，尚未填写"
    assert_warnings(result, FUTIAN_WARNINGS)
    assert result.recomputed_total == 94.79 and result.unit_name is None


def test_amount_typed_in_yuan(good, built_with, check, pos):
    sheet, coord = pos("sangong_budget")
    x = recalculated(good.copy().set_number(sheet, coord, 56700), built_with(sangong_budget=56700))
    result = check(x, "元.xlsx")
    assert result.status == "accepted_with_warnings" and result.exit_code == 0
    assert result.errors == []
    assert_warnings(result, FUTIAN_WARNINGS, "looks_like_yuan")
    m = one(result, "looks_like_yuan")
    assert (m.sheet, m.cell, m.field) == (sheet, coord, "sangong_budget")
    assert f"{sheet}!{coord}" in m.text and "56700 万元" in m.text and "应为 5.67 万元" in m.text
    # the score does not move (a rate of 0.00% is still < 90%), only its explanation
    ind = indicator(result, "public_expense_control")
    assert ind.recomputed_score == ind.workbook_score == 6 and "0.6万元/56700万元=0.00%" in ind.explanation
    assert_futian_scores(result)


# --------------------------------------------------------------------------- 7-8. cached results

def test_manual_calculation_leaves_stale_results(good, check, pos):
    sheet, coord = pos("procurement_actual")
    x = good.copy().set_calc_mode("manual").set_number(sheet, coord, 437.35)
    assert 'calcMode="manual"' in x.text("xl/workbook.xml") and "fullCalcOnLoad" not in x.text("xl/workbook.xml")
    result = check(x, "手动计算.xlsx")
    assert result.status == "rejected" and result.exit_code == 1
    assert set(codes(result, ERROR)) == {"stale_result"}
    stale = {m.field: m for m in result.errors}
    for cid in ("procurement_rate", "score.procurement", "total"):
        m = stale[cid]
        assert (m.sheet, m.cell) == pos(cid)
        assert "手动计算" in m.text and "F9" in m.text
    assert "显示 1.97，应为 2.0" in stale["score.procurement"].text
    ind = indicator(result, "procurement")
    assert (ind.workbook_score, ind.recomputed_score) == (1.97, 2)
    assert [i.id for i in result.indicators if not i.agrees] == ["procurement"]
    assert (result.workbook_total, result.recomputed_total) == (94.79, 94.82)
    # the stale explanation texts (计算过程, 扣分情况说明): a warning quoting both, not an error
    texts = [m for m in result.warnings if m.code == "text_mismatch"]
    assert sorted(m.field for m in texts) == ["explain.procurement_rate", "text.procurement"]
    assert all("工作簿为“" in m.text and "重新计算为“" in m.text for m in texts)
    assert_warnings(result, FUTIAN_WARNINGS, "text_mismatch", "text_mismatch")


def test_same_change_in_automatic_mode_is_a_mismatch(good, check, pos):
    result = check(good.copy().set_number(*pos("procurement_actual"), 437.35), "不一致.xlsx")
    assert set(codes(result, ERROR)) == {"result_mismatch"}
    assert "score.procurement" in {m.field for m in result.errors}


def test_openpyxl_resave_drops_cached_values(good, check, folder):
    src = good.save(folder / "openpyxl-src.xlsx")
    wb = openpyxl.load_workbook(src)
    buf = io.BytesIO()
    wb.save(buf)
    result = check(buf.getvalue(), "openpyxl.xlsx")
    assert result.status == "accepted_with_warnings" and result.exit_code == 0
    assert result.errors == []
    assert_warnings(result, FUTIAN_WARNINGS)  # openpyxl keeps the names, the protection, the metadata
    assert codes(result, NOTE) == ["no_cached_values"]
    assert "未保存公式计算结果" in one(result, "no_cached_values").text
    assert_futian_scores(result)  # the template's formulas are intact: their result is the recomputation


# --------------------------------------------------------------------------- 9-11. names, metadata, protection

def test_names_removed_reads_by_verified_template_positions(good, good_result, check):
    result = check(good.copy().remove_defined_names(), "无名称.xlsx")
    assert result.status == "accepted_with_warnings" and result.exit_code == 0
    assert result.errors == []
    assert_warnings(result, FUTIAN_WARNINGS, "names_missing")
    assert "按模板位置读取" in one(result, "names_missing").text
    assert_futian_scores(result)
    assert result.inputs == good_result.inputs


def test_names_removed_and_row_inserted_on_a_computed_sheet(good, check):
    result = check(good.copy().remove_defined_names().insert_rows("指标计算", 3, skip=(META,)), "无名称插行1.xlsx")
    assert result.status == "rejected" and result.exit_code == 1
    assert codes(result) == ["layout_changed"]
    assert "无法可靠读取" in result.errors[0].text
    assert result.recomputed_total is None and result.indicators == []


def test_names_removed_and_row_inserted_on_an_input_sheet(good, check):
    result = check(good.copy().remove_defined_names().insert_rows("采购与经费", 3, skip=(META,)), "无名称插行2.xlsx")
    assert result.status == "rejected" and result.exit_code == 1
    assert codes(result) == ["layout_changed"]


def test_metadata_sheet_deleted(good, check, fw):
    part = good.sheet_parts()[META].rsplit("/", 1)[1]
    x = good.copy().remove_sheet(META)
    assert META not in x.sheet_parts() and part not in x.text("[Content_Types].xml")
    result = check(x, "无元数据.xlsx")
    assert result.status == "accepted_with_warnings" and result.exit_code == 0
    assert result.errors == []
    assert_warnings(result, FUTIAN_WARNINGS, "metadata_missing")
    assert "按内置框架核对" in one(result, "metadata_missing").text
    assert (result.framework_id, result.framework_version) == (fw.id, fw.version)
    assert_futian_scores(result)


def test_protection_removed(good, check):
    result = check(good.copy().remove_protection("采购与经费"), "无保护.xlsx")
    assert result.status == "accepted_with_warnings" and result.exit_code == 0
    assert result.errors == []
    assert_warnings(result, FUTIAN_WARNINGS, "protection_removed")
    m = one(result, "protection_removed")
    assert m.sheet == "采购与经费" and "工作表“采购与经费”的保护已被取消" in m.text
    assert_futian_scores(result)


# --------------------------------------------------------------------------- 12. blank template

def _template(folder: Path, name: str, *options: str) -> Path:
    out = folder / name
    result = CliRunner().invoke(main, ["template", "-o", str(out), *options])
    assert result.exit_code == 0, result.output
    return out


def test_blank_template(folder):
    result = check_file(_template(folder, "空白.xlsx"))
    assert result.status == "rejected" and result.exit_code == 1
    assert codes(result, ERROR) == ["blank_template"]
    assert "空白模板" in one(result, "blank_template").text
    assert "required" not in codes(result)


def test_prefilled_blank_template(folder):
    result = check_file(_template(folder, "预填空白.xlsx", "--unit", "某区财政局", "--year", "2021"))
    assert codes(result, ERROR) == ["blank_template"]


# --------------------------------------------------------------------------- 15. bad files

def _cfb(*streams: str) -> bytes:
    """A byte-level stand-in for a compound (OLE2) file whose directory names the streams."""
    header = OLE2_SIGNATURE + bytes(16) + struct.pack("<HHH", 0x3E, 3, 0xFFFE) + bytes(512 - 30)
    entries = b""
    for name in ("Root Entry", *streams):
        raw = name.encode("utf-16-le") + b"\x00\x00"
        entries += raw.ljust(64, b"\x00") + struct.pack("<H", len(raw)) + bytes(62)
    return header + entries.ljust(512, b"\x00")


UNREADABLE = [
    ("空.xlsx", lambda good: b"", "empty", "文件为空"),
    ("自评.pdf", lambda good: b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "not_spreadsheet", "PDF"),
    ("截断.xlsx", lambda good: good.to_bytes()[:20_000], "truncated_zip", "不完整"),
    ("旧版.xls", lambda good: _cfb("Workbook", "\x05SummaryInformation"), "xls", "旧版 Excel（.xls）"),
    ("加密.xlsx", lambda good: _cfb("\x06DataSpaces", "EncryptionInfo", "EncryptedPackage"), "encrypted", "加密"),
]


@pytest.mark.parametrize("name, make, kind, words", UNREADABLE, ids=[u[2] for u in UNREADABLE])
def test_unreadable_file(good, check, name, make, kind, words):
    result = check(make(good), name)
    assert result.status == "unreadable" and result.exit_code == 2
    assert len(result.messages) == 1
    m = result.messages[0]
    assert (m.level, m.code) == (ERROR, kind) and words in m.text
    assert result.sha256 is None and result.recomputed_total is None and result.indicators == []


def _corrupt_sheet(good: Xlsx) -> Xlsx:
    """A zip whose directory and CRCs are fine but one sheet's XML is cut off."""
    part = good.sheet_part("采购与经费")
    return good.copy().set_text(part, good.text(part)[:600])


def test_corrupt_sheet_xml_is_unreadable(good, check, folder):
    result = check(_corrupt_sheet(good), "坏XML.xlsx")
    assert result.status == "unreadable" and result.exit_code == 2
    assert codes(result) == ["corrupt_xml"]
    assert "xl/worksheets/sheet4.xml" in result.messages[0].text
    assert cli(folder / "坏XML.xlsx").exit_code == 2


def test_missing_sheet_part_is_unreadable(good, check):
    result = check(good.copy().drop(good.sheet_part("采购与经费")), "缺部件.xlsx")
    assert result.status == "unreadable" and result.exit_code == 2
    assert codes(result) == ["missing_part"]


def test_macro_enabled_workbook_is_still_checked(good, check):
    x = good.copy().add("xl/vbaProject.bin", _cfb("VBA", "PROJECT"))
    result = check(x, "宏.xlsx")
    assert result.status == "accepted_with_warnings" and result.exit_code == 0
    assert_warnings(result, FUTIAN_WARNINGS, "macro_enabled")
    assert "宏未被执行" in one(result, "macro_enabled").text
    assert_futian_scores(result)


def test_external_link_is_reported_not_followed(good, check):
    x = good.copy()
    x.add("xl/externalLinks/externalLink1.xml",
          '<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
          'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><externalBook r:id="rId1"/>'
          "</externalLink>",
          "application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml")
    x.add("xl/externalLinks/_rels/externalLink1.xml.rels",
          '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
          'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLinkPath" '
          'Target="file:///D:/%E9%A2%84%E7%AE%97/2021.xlsx" TargetMode="External"/></Relationships>')
    result = check(x, "外链.xlsx")
    assert result.status == "accepted_with_warnings" and result.exit_code == 0
    assert_warnings(result, FUTIAN_WARNINGS, "external_link")
    assert "file:///D:/预算/2021.xlsx" in one(result, "external_link").text
    assert_futian_scores(result)


# --------------------------------------------------------------------------- 17. the command line

@pytest.fixture(scope="module")
def files(folder, good, pos) -> dict[str, Path]:
    sheet, coord = pos("score.budget_execution")
    empty = folder / "cli-空.xlsx"
    empty.write_bytes(b"")
    return {
        "good": good.save(folder / "cli-福田.xlsx"),
        "bad": good.copy().set_number(sheet, coord, 6).save(folder / "cli-常量.xlsx"),
        "empty": empty,
    }


def cli(*args) -> object:
    result = CliRunner().invoke(main, ["check", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def test_cli_json_schema(files, good_result):
    result = cli(files["good"], "--json")
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    documented = {"schema_version", "file", "status", "status_text", "sha256", "template_id", "generator_version",
                  "framework_id", "framework_version", "unit_name", "year", "workbook_total", "recomputed_total",
                  "grade", "indicators", "messages", "inputs"}
    assert documented <= set(out)
    assert out["schema_version"] == 1
    assert out["file"] == str(files["good"])
    assert (out["status"], out["status_text"]) == ("accepted_with_warnings", "通过（有警告）")
    assert out["sha256"] == hashlib.sha256(files["good"].read_bytes()).hexdigest()
    assert out["template_id"] == "jixiao-self-evaluation" and out["framework_id"] == "shenzhen-district-2021"
    assert (out["unit_name"], out["year"]) == ("深圳市福田区政务服务中心", 2021)
    assert out["workbook_total"] == out["recomputed_total"] == 94.79 and out["grade"] == "优"
    assert len(out["indicators"]) == 21
    for ind in out["indicators"]:
        assert set(ind) == {"id", "name", "points", "workbook_score", "recomputed_score", "explanation", "agrees"}
        assert ind["agrees"] is True
    assert [m["code"] for m in out["messages"]] == ["cross_check", "cross_check"]
    for m in out["messages"]:
        assert set(m) == {"level", "code", "text", "sheet", "cell", "field", "label", "expected", "found"}
        assert m["level"] == WARNING and m["expected"] is m["found"] is None
    assert out["inputs"]["procurement_actual"] == 426.15
    assert out["inputs"] == json.loads(json.dumps(good_result.inputs, ensure_ascii=False))


def test_cli_exit_codes(files):
    assert cli(files["good"]).exit_code == 0
    assert cli(files["bad"]).exit_code == 1
    assert cli(files["empty"]).exit_code == 2
    assert cli(files["good"], files["bad"]).exit_code == 1
    assert cli(files["bad"], files["empty"], files["good"]).exit_code == 2
    mixed = cli(files["good"], files["bad"], files["empty"], "--json")
    assert mixed.exit_code == 2
    assert [o["status"] for o in json.loads(mixed.stdout)] == ["accepted_with_warnings", "rejected", "unreadable"]


def test_cli_no_traceback_for_any_bad_file(folder, good, files):
    paths = [files["bad"], files["empty"]]
    for name, make, _, _ in UNREADABLE:
        path = folder / f"cli-{name}"
        path.write_bytes(make(good))
        paths.append(path)
    paths.append(folder / "cli-不存在.xlsx")  # (a corrupt sheet: see test_corrupt_sheet_xml_is_unreadable)
    for path in paths:
        result = cli(path)
        assert result.exit_code in (1, 2), (path, result.output)
        assert str(path.name) in result.output


def test_cli_annotate(folder, files, pos):
    out = folder / "标注.xlsx"
    result = cli(files["bad"], "--annotate", out)
    assert result.exit_code == 1
    sheet, coord = pos("score.budget_execution")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == "校验结果" and wb.active.title == "校验结果"
    rows = [r for r in wb["校验结果"].iter_rows(values_only=True)]
    assert rows[0][0] == "绩效自评 校验结果" and rows[1][:2] == ("结论", "不通过")
    assert rows[3][:4] == ("错误", 1, "警告", 2)
    assert (ERROR, f"{sheet}!{coord}") in [r[1:3] for r in rows]  # the add-in's listing: one schema
    listed = next(r for r in wb["校验结果"].iter_rows(min_row=9) if r[2].value == f"{sheet}!{coord}")
    assert listed[2].hyperlink.location == f"'{sheet}'!{coord}" or listed[2].hyperlink.target == f"#'{sheet}'!{coord}"
    cell = wb[sheet][coord]
    assert cell.value == 6
    assert cell.fill.fgColor.rgb.endswith("FFC7CE")
    assert cell.comment is not None and cell.comment.text.startswith("【错误】") and "公式被改为常量" in cell.comment.text
    # everything else as the unit sent it: formulas, and their cached results
    original = openpyxl.load_workbook(files["bad"])
    for ws in original.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("="):
                    assert wb[ws.title][c.coordinate].value == c.value, f"{ws.title}!{c.coordinate}"
    before, after = read_workbook(open_xlsx(files["bad"])), read_workbook(open_xlsx(out))
    for name, cid in (("评分表", "total"), ("指标计算", "procurement_rate")):
        s, c = pos(cid)
        assert after.cell(s, c).value == before.cell(s, c).value is not None
    # and the annotated copy still checks the same way: its 校验结果 sheet is not the unit's
    again = check_file(out)
    assert "formula_overwritten" in codes(again, ERROR) and "sheet_added" not in codes(again)


def test_every_code_asserted_here_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    for code in ("formula_overwritten", "formula_edited", "cells_moved", "sheet_renamed", "normalised", "invalid_value",
                 "required", "looks_like_yuan", "stale_result", "result_mismatch", "no_cached_values", "names_missing",
                 "layout_changed", "metadata_missing", "protection_removed", "blank_template", "macro_enabled",
                 "external_link", "sheet_added", "cross_check", "empty", "not_spreadsheet", "truncated_zip", "xls",
                 "encrypted", "external_input", "not_regular_file", "corrupt_part", "internal_error"):
        assert f"`{code}`" in text, code


# --------------------------------------------------------------------------- issue 8: the same cell value

def _with_cached(x: Xlsx, where: tuple[str, str], old: str, new: str) -> Xlsx:
    cell = x.cell_xml(*where)
    assert f"{old}</v>" in cell
    return x.patch(x.sheet_part(where[0]), cell, cell.replace(f"{old}</v>", f"{new}</v>"))


def test_ratio_one_off_in_its_15th_digit_is_the_same_value(good, good_result, check, pos):
    """LibreOffice 7.4 writes a quotient's 15th significant digit sometimes one off."""
    x = _with_cached(good.copy(), pos("procurement_rate"), "0.9743912198468045", "0.974391219846804")
    result = check(x, "第15位.xlsx")
    assert (result.status, codes(result)) == (good_result.status, codes(good_result))


def test_ratio_that_really_differs_is_an_error(good, check, pos):
    x = _with_cached(good.copy(), pos("procurement_rate"), "0.9743912198468045", "0.97439")
    result = check(x, "比率不同.xlsx")
    assert [(m.code, m.field) for m in result.errors] == [("result_mismatch", "procurement_rate")]


def test_half_way_percentage_shown_the_other_way_is_the_same_text(good, good_result, check, pos):
    x = _with_cached(good.copy(), pos("explain.procurement_rate"), "=97.44%", "=97.43%")
    result = check(x, "百分比末位.xlsx")
    assert (result.status, codes(result)) == (good_result.status, codes(good_result))


def test_other_explanation_difference_is_a_warning_quoting_both(good, good_result, check, pos):
    x = _with_cached(good.copy(), pos("explain.procurement_rate"), "=97.44%", "=97.40%")
    result = check(x, "说明不同.xlsx")
    assert result.exit_code == 0 and result.errors == []
    (m,) = [m for m in result.warnings if m.code == "text_mismatch"]
    assert (m.sheet, m.cell, m.field) == (*pos("explain.procurement_rate"), "explain.procurement_rate")
    assert "=97.40%”" in m.text and "=97.44%”" in m.text
