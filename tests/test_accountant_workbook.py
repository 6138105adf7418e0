"""The workbook as an accountant meets it: tables as complete as the seed reports, 审核 that says
in one line whether the file can be sent and colours what is wrong, a 填表说明 in her words,
rows as tall as their text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from jixiao.data import load_data
from jixiao.engine import check_id, evaluate, score
from jixiao.expr import ALLOWED_FUNCTIONS
from jixiao.framework.loader import load_framework
from jixiao.verify.libreoffice_recalc import recalculate
from jixiao.samples import sample_path
from jixiao.workbook import print_layout as pl
from jixiao.layout.names import CHECK_SHEET, GUIDE_SHEET, SCORE_SHEET
from jixiao.workbook.generator import build_workbook

REPO = Path(__file__).resolve().parents[1]
SEEDS = Path("/work/shared/seeds")


@pytest.fixture(scope="module")
def fw():
    return load_framework()


def sample(fw, name: str) -> dict:
    return dict(load_data(fw, sample_path(name)))


def _table(fw, title_start: str):
    return next(t for s in fw.form.sheets for t in s.tables if t.title.startswith(title_start))


# --------------------------------------------------------------------------- the seeds' tables

SEED_ASSET_ROWS = ["合计", "土地、房屋及构筑物", "土地（数量：平方米）", "房屋（数量：平方米）", "办公用房",
                   "本单位实际使用办公室用房", "业务用房", "其他用房", "通用设备", "车辆", "单价50万(含)以上",
                   "专用设备", "单价100万(含)以上", "文物和陈列品", "文物", "图书档案", "家具、用具、装具及动植物",
                   "家具用具"]


def test_table_1_6_has_every_row_of_the_seed_with_quantity_value_in_use_and_rate(fw):
    table = _table(fw, "表1-6")
    assert len(table.rows) == len(SEED_ASSET_ROWS) == 18
    for row, expected in zip(table.rows, SEED_ASSET_ROWS):
        assert expected in row.label, (row.label, expected)
    assert [c.label for c in table.columns] == ["数量", "原值", "其中：在用", "利用率"]


def test_staffing_has_the_figures_both_seeds_report(fw):
    labels = {f.id: f.label for f in _table(fw, "人员情况").fields}
    assert {"staff_in_service", "staff_employees", "staff_hired_quota", "staff_hired"} <= set(labels)
    futian, longgang = sample(fw, "futian"), sample(fw, "longgang")
    assert (futian["staff_in_service"], futian["staff_employees"]) == (12, 2)
    assert (longgang["staff_hired_quota"], longgang["staff_hired"]) == (24, 17)


def test_samples_carry_the_seed_asset_rows_and_leave_dashes_empty(fw):
    futian = sample(fw, "futian")
    assert (futian["fa_general_major_qty"], futian["fa_general_major_value"]) == (1, 161.68)
    assert (futian["fa_furniture_items_qty"], futian["fa_furniture_items_value"]) == (780, 164.74)
    for dash in ("fa_land_value", "fa_building_qty", "fa_office_value", "fa_relics_value", "fa_special_major_value"):
        assert dash not in futian, dash
    if SEEDS.is_dir():  # the figures are the published report's
        seed = (SEEDS / "000_8a82f04068cc18be.txt").read_text(encoding="utf-8")
        assert "2. 单价 50 万(含)以上(不 含车辆)\t1\t161.68\t161.68" in seed
        assert "其中：家具用具\t780\t164.74\t164.74" in seed


def test_the_two_sample_copies_are_identical():
    for name in ("futian", "longgang"):
        assert (REPO / "samples" / f"{name}-2021.yaml").read_bytes() == \
            (REPO / "src" / "jixiao" / "samples" / f"{name}-2021.yaml").read_bytes()


@pytest.mark.parametrize("name, total", [("futian", 94.79), ("longgang", 96.94)])
def test_seed_totals_are_unchanged(fw, name, total):
    assert score(fw, sample(fw, name)).total == total


def test_shares_of_table_1_3_are_computed_like_the_seed(fw):
    """福田: 人员经费 458.99 (占比 15.55%), 公用 58.67 (1.99%), 项目 2,434.33 (82.46%) of 2,951.99."""
    values = evaluate(fw, sample(fw, "futian"))
    assert round(values["use_personnel_initial_share"], 4) == 0.1555
    assert round(values["use_public_initial_share"], 4) == 0.0199
    assert round(values["use_project_initial_share"], 4) == 0.8246
    assert values["use_total_initial_share"] == 1


def test_daily_public_saving_is_computed(fw):
    # 福田's report says 节约 6.83 beside a rate of 87.12% (a budget of 53.01); its own table says
    # 53.00, which the sample keeps: 53.00 − 46.18 = 6.82.  龙岗: 21.29 − 21.12 = 0.17.
    assert evaluate(fw, sample(fw, "futian"))["daily_public_saving"] == 6.82
    assert evaluate(fw, sample(fw, "longgang"))["daily_public_saving"] == 0.17
    data = sample(fw, "futian") | {"daily_public_budget": 53.01}
    assert evaluate(fw, data)["daily_public_saving"] == 6.83


def test_new_computed_cells_are_formulas_in_the_workbook(fw, tmp_path):
    built = build_workbook(fw, sample(fw, "futian"))
    for cid in ("use_personnel_initial_share", "daily_public_saving", "checks.status"):
        place = built.computed[cid]
        assert str(built.workbook[place.sheet][place.coord].value).startswith("="), cid


# --------------------------------------------------------------------------- 审核

def _failed(fw, data) -> dict[str, str]:
    card = score(fw, data)
    return {c.id: c.level for c in card.checks if not c.passed}


def test_completed_projects_may_not_exceed_planned(fw):
    data = sample(fw, "futian") | {"projects_planned": 3, "projects_completed": 4}
    assert _failed(fw, data).get("projects_completed_within_plan") == "错误"
    assert "projects_completed_within_plan" not in _failed(fw, sample(fw, "futian"))


@pytest.mark.parametrize("quarter", ["q1", "q2", "q3"])
def test_quarter_quota_is_compared_with_the_budget(fw, quarter):
    data = sample(fw, "futian") | {f"{quarter}_quota": 4000}
    assert _failed(fw, data).get(f"{quarter}_quota_vs_budget") == "警告"
    assert f"{quarter}_quota_vs_budget" not in _failed(fw, sample(fw, "futian"))


def test_status_line_says_whether_the_file_can_be_sent(fw):
    futian = evaluate(fw, sample(fw, "futian"))
    assert futian["checks.status"] == "错误 0 项，警告 2 项：可以报送（请在评分表中逐项写明警告的原因）"
    broken = evaluate(fw, sample(fw, "futian") | {"projects_completed": 9})
    assert broken["checks.status"].startswith("错误 1 项，警告 2 项：须修正")
    clean = sample(fw, "futian") | {"exec_project_actual": 3783.45, "daily_public_budget": 58.67}
    assert evaluate(fw, clean)["checks.status"] == "错误 0 项，警告 0 项：可以报送"


def test_check_sheet_starts_with_its_status_line(fw):
    built = build_workbook(fw, sample(fw, "futian"))
    ws = built.workbook[CHECK_SHEET]
    first = next(c for row in ws.iter_rows(min_row=2, max_row=4) for c in row if isinstance(c.value, str)
                 and c.value.startswith("="))
    place = built.computed["checks.status"]
    assert (first.row, first.column) == (place.row, place.col) == (3, 1)
    assert built.cached[CHECK_SHEET][place.coord].startswith("错误 0 项，警告 2 项：可以报送")


def _rules(ws):
    return [(str(cf.sqref), rule) for cf in ws.conditional_formatting for rule in cf.rules]


def _colours_errors_and_warnings(wb) -> None:
    ws = wb[CHECK_SHEET]
    rules = _rules(ws)
    levels = [(ref, r) for ref, r in rules if r.type == "cellIs"]
    assert {tuple(r.formula) for _, r in levels} == {('"错误"',), ('"警告"',)}
    def colour(fill) -> str:  # a dxf's solid fill may be written as either colour
        found = {str(c.rgb)[-6:] for c in (fill.fgColor, fill.bgColor) if c is not None and isinstance(c.rgb, str)}
        return (found - {"000000", "FFFFFF"}).pop()
    colours = {r.formula[0]: colour(r.dxf.fill) for _, r in levels}
    assert colours == {'"错误"': "FFC7CE", '"警告"': "FFEB9C"}
    n = len(load_framework().checks)
    assert all(ref.startswith("D") and ref.endswith(str(int(ref.split(":")[0][1:]) + n - 1)) for ref, _ in levels)
    status = [r for ref, r in rules if ref == "A3" and r.type == "expression"]
    assert len(status) == 3
    assert all(r.dxf is not None and r.dxf.fill is not None for _, r in rules)
    # only functions every application has, and no 2010 extension list
    for _, r in rules:
        for name in re.findall(r"([A-Z]+)\(", " ".join(r.formula)):
            assert name in ALLOWED_FUNCTIONS, name


def test_errors_red_warnings_amber_in_simple_rules(fw, tmp_path):
    path = tmp_path / "f.xlsx"
    build_workbook(fw, sample(fw, "futian")).save(path)
    _colours_errors_and_warnings(load_workbook(path))
    score_ws = load_workbook(path)[SCORE_SHEET]
    assert [r.type for _, r in _rules(score_ws)] == ["expression"] * 3


def test_libreoffice_reads_and_keeps_the_colours(fw, soffice, tmp_path):
    """A LibreOffice re-save: the rules it writes back are the ones it understood."""
    path = tmp_path / "f.xlsx"
    build_workbook(fw, sample(fw, "futian")).save(path)
    out = recalculate([path], tmp_path / "out", soffice=soffice)[path]
    _colours_errors_and_warnings(load_workbook(out))


# --------------------------------------------------------------------------- 填表说明

def _guide_text(fw) -> str:
    ws = build_workbook(fw).workbook[GUIDE_SHEET]
    return "\n".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)


def test_guide_is_written_for_an_accountant(fw):
    text = _guide_text(fw)
    for words in ("黄色", "绿色", "填写顺序", "留空", "按0计算", "不得分", "写明原因", "错误 0 项", "报送", ".xlsx",
                  "除以10000"):
        assert words in text, words
    for sheet in fw.form.sheets:
        assert f"填写“{sheet.name}”表" in text
    for check in fw.checks:
        if check.level == "警告":
            assert check.message in text, check.id
    # no stand-in percentage such as 99900%; 89.99995% (a worked example) is fine
    assert "99900%" not in text and not re.search(r"(?<![\d.])\d{4,}%", text)
    assert "jixiao" not in text and "ROUND(" not in text


# --------------------------------------------------------------------------- row heights

def test_wrapped_lines_count_cjk_as_two_units():
    assert pl.wrapped_lines("0" * 18, 22) == 1
    assert pl.wrapped_lines("汉" * 19, 22) == 2  # 19 CJK characters take the width of 38 digits
    assert pl.wrapped_lines("汉" * 20 + "\n" + "字", 50) == 2
    assert pl.wrapped_lines("汉" * 200, 50) >= 8


def test_row_heights_grow_with_text_and_share_merged_width():
    wb = Workbook()
    ws = wb.active
    ws.column_dimensions["A"].width = ws.column_dimensions["B"].width = 20
    from openpyxl.styles import Alignment
    for row, text in ((1, "短"), (2, "汉" * 100), (3, "汉" * 100)):
        ws.cell(row=row, column=1, value=text).alignment = Alignment(wrap_text=True)
    ws.merge_cells("A3:B3")
    pl.fit_row_heights(ws)
    h = [ws.row_dimensions[r].height for r in (1, 2, 3)]
    assert h[0] < 20 and h[1] > h[2] > h[0]
    assert h[1] >= pl.wrapped_lines("汉" * 100, 20) * pl.line_height(11)


def test_cached_formula_text_sizes_its_row(fw):
    built = build_workbook(fw, sample(fw, "longgang") | {"budget_execution_note": "整改" * 200})
    ws = built.workbook[SCORE_SHEET]
    place = built.inputs["budget_execution_note"]
    assert ws.row_dimensions[place.row].height >= pl.wrapped_lines("整改" * 200, 30) * pl.line_height(10)


def test_every_typed_total_is_cross_checked_against_its_parts(fw):
    """Totals of 表1-1 to 1-4 and 1-6 are typed from the 决算 statements: 审核 sums the parts."""
    from jixiao.checks import SumEquals
    checked = {c.total for c in fw.checks if isinstance(c, SumEquals)}
    totals = 0
    for sheet in fw.form.sheets:
        for table in sheet.tables:
            for row in (r for r in table.rows if r.id.endswith("_total")):
                for col in (c for c in table.columns if not c.computed and c.id != "qty"):
                    assert f"{row.id}_{col.id}" in checked, f"{table.title} {row.label} {col.label}"
                    totals += 1
    assert totals >= 10
