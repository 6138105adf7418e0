"""`jixiao report`: the 自评报告 written from a filled workbook, opened again with python-docx and
compared with the workbook itself (its cells read with openpyxl, not through the report code) and
with the seed reports' own figures."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import docx
import openpyxl
import pytest
import yaml
from docx.oxml.ns import qn

from jixiao.data import load_data
from jixiao.engine import score
from jixiao.framework.loader import builtin_path, load_framework
from jixiao.framework.spec import FrameworkError
from jixiao.samples import sample_path
from jixiao.selfreport import (
    ReportError, build_report, load_definition, lost_points, report_for_inputs, report_from_database,
    report_from_workbook, to_pdf,
)
from jixiao.workbook.generator import build_workbook
from jixiao.layout.names import computed_names

ROOT = Path(__file__).resolve().parent.parent
REWEIGHTED = ROOT / "tests" / "frameworks" / "reweighted.yaml"
PLACEHOLDER = "【待填写】"

# The seeds' structure (000_8a82f04068cc18be.txt, 003_34c2a4c912e6fa23.txt), heading by heading.
SEED_HEADINGS = [
    "一、部门（单位）基本情况", "（一）部门主要职能", "（二）年度总体工作和重点工作任务", "（三）2021年部门预算编制情况",
    "1、预算编制情况", "2、绩效目标编报情况", "（四）2021年部门预算执行情况", "1、资金管理", "2、资产管理",
    "3、人员管理情况", "二、部门（单位）主要履职绩效分析", "（一）主要履职目标", "（二）主要履职情况",
    "（三）部门履职绩效情况", "1、经济性", "2、效率性", "3、效果性", "三、总体评价和整改措施",
    "（一）预算绩效管理工作主要经验、做法", "（二）部门整体支出绩效存在问题及改进措施", "1、存在的问题", "2、改进措施",
    "（三）后续工作计划、相关建议等", "四、部门整体支出绩效评价指标评分情况",
]


# --------------------------------------------------------------------------- helpers

def fill(fw, data, path: Path) -> Path:
    build_workbook(fw, data).save(path)
    return path


def workbook_cells(path: Path) -> dict[str, object]:
    """Every named cell's value as the workbook holds it (openpyxl, cached formula results)."""
    wb = openpyxl.load_workbook(path, data_only=True)
    out = {}
    for name, dn in wb.defined_names.items():
        dests = list(dn.destinations)
        if len(dests) == 1:
            sheet, coord = dests[0]
            out[name] = wb[sheet][coord.replace("$", "")].value
    return out


def blocks(document) -> list[tuple[str, object]]:
    """The body in order: ("p", paragraph) and ("t", table)."""
    out = []
    for el in document.element.body.iterchildren():
        if el.tag == qn("w:p"):
            out.append(("p", docx.text.paragraph.Paragraph(el, document)))
        elif el.tag == qn("w:tbl"):
            out.append(("t", docx.table.Table(el, document)))
    return out


def titled_tables(document) -> dict[str, tuple[str, object]]:
    """Each table by the title paragraph before it, with the 单位 line (or "")."""
    found, texts = {}, []
    for kind, item in blocks(document):
        if kind == "p":
            if item.text.strip():
                texts.append(item.text.strip())
        else:
            unit = texts[-1] if texts and texts[-1].startswith("单位：") else ""
            title = texts[-2] if unit else texts[-1]
            found[title] = (unit, item)
    return found


def headings(document) -> list[str]:
    return [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]


def body_text(document) -> str:
    return "\n".join(p.text for p in document.paragraphs)


def amount(v) -> str:
    return "—" if v in (None, "") else f"{v:,.2f}"


def pct(v) -> str:
    return "—" if v in (None, "") else f"{v:.2%}"


def rows_of(table) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in table.rows]


@pytest.fixture(scope="module")
def fw():
    return load_framework()


@pytest.fixture(scope="module")
def futian(fw, tmp_path_factory):
    """The Futian sample in a workbook named the way Windows names a downloaded copy."""
    path = fill(fw, load_data(fw, sample_path("futian")),
                tmp_path_factory.mktemp("futian") / "福田区政务服务中心 2021年度 自评表 (1).xlsx")
    report, result = report_from_workbook(path)
    out = path.with_name("自评报告.docx")
    report.save(out)
    return path, report, docx.Document(out), result


def full_marks_data(fw) -> dict:
    data = load_data(fw, sample_path("futian"))
    data.update(target_completeness_count=0, indicator_clarity_3="是", procurement_actual=437.35,
                adjustment_declared=100, staff_contract=0, effectiveness=25, q1_cumulative=1200,
                q2_cumulative=2300, q3_cumulative=3400, q4_cumulative=4384.99, exec_total_actual=4384.99)
    return data


# --------------------------------------------------------------------------- structure

def test_headings_in_the_seeds_order(futian) -> None:
    _, _, document, _ = futian
    assert headings(document) == SEED_HEADINGS


def test_a4_and_chinese_fonts(futian) -> None:
    _, _, document, _ = futian
    first = document.sections[0]
    assert (round(first.page_width.cm, 1), round(first.page_height.cm, 1)) == (21.0, 29.7)
    last = document.sections[-1]  # the 评分表 in landscape
    assert (round(last.page_width.cm, 1), round(last.page_height.cm, 1)) == (29.7, 21.0)

    def east_asia(style) -> str:
        return style.element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia"))

    assert east_asia(document.styles["Normal"]) == "仿宋"
    assert east_asia(document.styles["Heading 1"]) == "宋体"
    cell_run = document.tables[0].rows[0].cells[0].paragraphs[0].runs[0]
    assert cell_run._r.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "宋体"


def test_cover_from_the_workbook(futian) -> None:
    _, _, document, _ = futian
    text = body_text(document)
    for line in ("2021年度部门整体绩效自评报告", "部门名称（公章）：深圳市福田区政务服务中心",
                 "单位负责人（签章）：周楚惟", "填报人：黄晓霞", "联系电话：0755-82978077"):
        assert line in text


# --------------------------------------------------------------------------- tables

def test_every_form_table_cell_against_the_workbook(fw, futian) -> None:
    path, _, document, _ = futian
    cells = workbook_cells(path)
    names = computed_names(fw)
    tables = titled_tables(document)
    definition = load_definition(fw)
    shown = [b for b in definition.body if b.kind == "table"]
    assert [b.table.title.split(" ")[0] for b in shown] == ["表1-1", "表1-2", "表1-3", "表1-4", "表1-5", "表1-6"]
    for block in shown:
        table = block.table
        assert table.title in tables, f"{table.title} missing from the report"
        unit, docx_table = tables[table.title]
        assert unit == f"单位：{table.unit}"
        got = rows_of(docx_table)
        assert got[0] == [block.first_column] + [c.label for c in table.columns]
        expected = []
        for row in table.rows:
            inputs = [cells.get(f"{row.id}_{c.id}") for c in table.columns if not c.computed]
            if block.omit_blank_rows and not row.required and all(v is None for v in inputs):
                continue
            line = [row.label]
            for c in table.columns:
                fid = f"{row.id}_{c.id}"
                if c.computed:
                    line.append(pct(cells[names[fid]]))
                elif c.type == "count":
                    line.append("—" if cells.get(fid) is None else str(int(cells[fid])))
                else:
                    line.append(amount(cells.get(fid)))
            expected.append(line)
        assert got[1:] == expected, table.title
    # the seed's own figures, where the seed agrees with itself
    assert ["第一季度（3月末）", "1,317.55", "4,384.99", "30.05%"] in rows_of(tables["表1-5 各季度预算执行情况表"][1])
    fa = rows_of(tables["表1-6 固定资产保有及使用情况表"][1])
    assert ["合计", "—", "1,402.24", "1,314.44", "93.74%"] in fa
    assert ["（二）通用设备（个、台、辆等）", "1847", "1,225.32", "1,137.52", "92.83%"] in fa


def test_blank_function_rows_are_left_out_of_table_1_2(futian) -> None:
    _, _, document, _ = futian
    rows = rows_of(titled_tables(document)["表1-2 部门整体支出构成与调整情况（按支出功能分类）"][1])
    assert [r[0] for r in rows[1:]] == ["一般公共服务支出", "社会保障和就业支出", "卫生健康支出", "住房保障支出", "合计"]


def test_staffing_table(fw, futian) -> None:
    path, _, document, _ = futian
    cells = workbook_cells(path)
    unit, table = titled_tables(document)["表1-7 人员情况表"]
    staffing = next(t for s in fw.form.sheets for t in s.tables if t.title == "人员情况")
    assert unit == "单位：人"
    assert rows_of(table) == [["项目", "人数"]] + [
        [f.label, "—" if cells.get(f.id) is None else str(int(cells[f.id]))] for f in staffing.fields]


def test_rows_added_to_the_form_flow_into_the_report(tmp_path) -> None:
    """Another row in 表1-1 and another staffing field: an edit of the form file only."""
    form = yaml.safe_load(builtin_path("shenzhen-form-2021").read_text(encoding="utf-8"))
    sheet = next(s for s in form["sheets"] if s["name"] == "预算与执行")
    sheet["tables"][0]["rows"].insert(8, {"id": "src_carryover", "label": "九、上年结转结余"})
    staffing = next(t for s in form["sheets"] for t in s["tables"] if t["title"] == "人员情况")
    staffing["fields"].append({"id": "staff_temporary", "label": "临时聘用人员数", "type": "count"})
    (tmp_path / "shenzhen-form-2021.yaml").write_text(yaml.safe_dump(form, allow_unicode=True), encoding="utf-8")
    shutil.copy(builtin_path("shenzhen-district-2021"), tmp_path / "framework.yaml")
    fw = load_framework(tmp_path / "framework.yaml")
    data = load_data(load_framework(), sample_path("futian"))
    data.update(src_carryover_initial=12.5, src_carryover_adjusted=30.0, staff_temporary=4)
    path = fill(fw, data, tmp_path / "extended.xlsx")
    report, _ = report_from_workbook(path, [fw])
    report.save(tmp_path / "r.docx")
    tables = titled_tables(docx.Document(tmp_path / "r.docx"))
    assert ["九、上年结转结余", "12.50", "30.00"] in rows_of(tables["表1-1 部门整体支出预算资金来源与调整情况"][1])
    assert ["临时聘用人员数", "4"] in rows_of(tables["表1-7 人员情况表"][1])


# --------------------------------------------------------------------------- figures in the text

def test_budget_and_performance_figures_are_the_seeds(futian) -> None:
    """The Futian seed's figures, where they follow from its own numbers (the seed writes 97.43%
    for 426.15/437.35 = 97.44%, and 6.83 for 53.00 − 46.18 = 6.82: the retyping the issue is about)."""
    _, _, document, _ = futian
    text = body_text(document)
    for figure in ("年初预算收入2,951.99万元", "人员经费支出458.99万元（占比15.55%）", "公用经费支出58.67万元（占比1.99%）",
                   "项目支出2,434.33万元（占比82.46%）", "预算收入调整为4,384.99万元", "项目支出预算调整为3,867.33万元",
                   "实际支出4,228.15万元，预算执行率96.42%", "实际支出398.52万元，完成比例为86.83%",
                   "实际支出3,782.85万元，完成比例为97.82%", "政府采购执行率=426.15万元/437.35万元=97.44%",
                   "固定资产利用率93.74%", "财政供养人员控制率为92.31%", "编外人员控制率（编外人员占在职人员总数的比率）为82.09%",
                   "“三公”经费控制率=0.6万元/5.67万元=10.58%", "较日常公用经费调整预算数53.00万元节约6.82万元",
                   "日常公用经费控制率=46.18万元/53万元=87.13%", "核定编制人数（含工勤人员）13人"):
        assert figure in text, figure


def test_total_sentence(futian) -> None:
    _, _, document, _ = futian
    assert "参照《2021年度部门整体支出绩效评价指标评分表》（见下表）进行自评，得分94.79分，评价等级为“优”。" in body_text(document)


def test_score_table_rows_and_total_against_the_workbook(fw, futian) -> None:
    path, _, document, _ = futian
    cells = workbook_cells(path)
    names = computed_names(fw)
    table = document.tables[-1]
    rows = rows_of(table)
    assert len(rows) == 3 + 21 + 1
    assert rows[0][0] == "评价指标" and rows[1][0] == "一级指标" and rows[2][:2] == ["名称", "参考分值"]
    assert rows[0][6:] == ["指标说明", "参考评分标准", "得分", "扣分情况及整改情况说明"]
    for row, ind in zip(rows[3:24], fw.indicators):
        assert row[0] == ind.level1 and row[2] == ind.level2 and row[4] == ind.name
        assert float(row[5]) == ind.points
        assert row[6] == ind.description and row[7] == ind.criteria
        assert float(row[8]) == cells[names[f"score.{ind.id}"]]
        assert row[9].split("\n")[0] == (cells[names[f"text.{ind.id}"]] or "")
        note = cells.get(f"{ind.id}_note")
        assert (f"整改情况：{note}" in row[9]) == bool(note)
    assert rows[24][0] == "总得分情况" and rows[24][8] == "94.79" == f"{cells['total']:.2f}"
    assert rows[24][9] == f"评价等级：{cells['grade']}"


# --------------------------------------------------------------------------- 存在的问题

def test_problems_are_the_indicators_that_lost_points(fw, futian) -> None:
    path, report, document, _ = futian
    cells = workbook_cells(path)
    names = computed_names(fw)
    lost = [i.id for i in fw.indicators if cells[names[f"score.{i.id}"]] < i.points]
    assert [p.indicator_id for p in report.problems] == lost == lost_points(fw, report.card)
    # the three the Futian seed lists among its 存在的问题, in its words
    assert {"budget_execution", "procurement", "contract_staff_control"} <= set(lost)
    text = body_text(document)
    assert "预算执行率指标满分6分，自评得分5.82分。" in text
    assert "政府采购执行情况指标满分2分，自评得分1.97分。政府采购执行率=426.15万元/437.35万元=97.44%" in text
    assert "编外人员控制率指标满分1分，自评得分0分。编外人员比率=55/(12+55)=82.09%" in text
    paragraphs = [p.text for p in document.paragraphs]
    start = paragraphs.index("1、存在的问题")
    items = [t for t in paragraphs[start + 1:paragraphs.index("2、改进措施")] if t]
    assert len(items) == 2 * len(lost)
    for n, (item, measure) in enumerate(zip(items[::2], items[1::2]), 1):
        assert item.startswith(f"（{n}）")
        iid = lost[n - 1]
        assert measure == "整改措施：" + (cells.get(f"{iid}_note") or PLACEHOLDER)


def test_full_marks_unit_has_no_problem_items(fw, tmp_path) -> None:
    path = fill(fw, full_marks_data(fw), tmp_path / "full.xlsx")
    report, _ = report_from_workbook(path)
    report.save(tmp_path / "full.docx")
    document = docx.Document(tmp_path / "full.docx")
    assert report.problems == []
    paragraphs = [p.text for p in document.paragraphs if p.text]
    start = paragraphs.index("1、存在的问题")
    assert paragraphs[start + 1:paragraphs.index("2、改进措施")] == ["本年度各项指标均未扣分。"]
    assert "得分100分" in body_text(document)


# --------------------------------------------------------------------------- narrative

def test_narrative_verbatim_and_placeholders_for_empty_ones(fw, tmp_path) -> None:
    data = load_data(fw, sample_path("futian"))
    narrative = [f for f in fw.fields.values() if f.type == "longtext"]
    assert len(narrative) >= 7
    kept = narrative[0]
    for f in narrative[1:]:
        data.pop(f.id, None)
    path = fill(fw, data, tmp_path / "partial.xlsx")
    report, result = report_from_workbook(path)
    report.save(tmp_path / "partial.docx")
    text = body_text(docx.Document(tmp_path / "partial.docx"))
    for line in data[kept.id].split("\n"):
        assert line.strip() in text
    assert set(report.placeholders) >= {f.id for f in narrative[1:]}
    assert text.count(PLACEHOLDER) == len(report.placeholders)
    # jixiao check warns about each empty narrative, naming its cell
    warned = [m for m in result.messages if m.code == "report_text_missing"]
    assert [m.field for m in warned] == [f.id for f in narrative[1:]]
    assert all(m.level == "警告" and m.sheet == "报告文字" and m.cell for m in warned)
    assert result.status == "accepted_with_warnings"


def test_samples_carry_the_narrative(fw, futian) -> None:
    _, report, document, result = futian
    assert not [m for m in result.messages if m.code == "report_text_missing"]
    text = body_text(document)
    assert "承担区行政服务大厅的建设和日常管理" in text  # 部门主要职能, from the seed
    assert "建议财政部门加强对绩效管理人员的培训" in text
    assert [p for p in report.placeholders if not p.endswith("_note")] == []


# --------------------------------------------------------------------------- framework as data

def test_reweighted_framework_changes_the_report(fw, tmp_path) -> None:
    reweighted = load_framework(REWEIGHTED)
    data = load_data(fw, sample_path("futian"))
    data["effectiveness"] = 19  # of 20 now (24 would be refused as out of range)
    path = fill(reweighted, data, tmp_path / "reweighted.xlsx")
    report, result = report_from_workbook(path, [reweighted])
    assert not result.errors
    report.save(tmp_path / "reweighted.docx")
    document = docx.Document(tmp_path / "reweighted.docx")
    card = score(reweighted, data)
    assert card.total != score(fw, data).total
    rows = rows_of(document.tables[-1])
    by_name = {r[4]: r for r in rows[3:24]}
    assert by_name["公众或服务对象满意度"][5] == "11" and by_name["社会、经济、生态效益及可持续影响等"][5] == "20"
    assert float(rows[24][8]) == card.total == workbook_cells(path)["total"]
    text = body_text(document)
    assert f"得分{rows[24][8]}分，评价等级为“{card.grade}”" in text
    assert [p.indicator_id for p in report.problems] == lost_points(reweighted, card)
    assert "社会、经济、生态效益及可持续影响等指标满分20分" in text


def test_a_definition_naming_what_does_not_exist_is_refused(fw, tmp_path) -> None:
    definition = yaml.safe_load(Path(load_definition(fw).source).read_text(encoding="utf-8"))
    definition["body"].append({"paragraph": "预算为{no_such_field}万元"})
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(definition, allow_unicode=True), encoding="utf-8")
    with pytest.raises(FrameworkError, match="no_such_field"):
        load_definition(fw, bad)
    definition["body"][-1] = {"table": "表9-9"}
    bad.write_text(yaml.safe_dump(definition, allow_unicode=True), encoding="utf-8")
    with pytest.raises(FrameworkError, match="表9-9"):
        load_definition(fw, bad)


# --------------------------------------------------------------------------- other sources

def test_from_the_database_equals_from_the_workbook(futian, tmp_path) -> None:
    from jixiao.importer.db import make_engine
    from jixiao.importer.run import import_paths

    path, report, document, _ = futian
    url = f"sqlite:///{tmp_path / 'j.db'}"
    import_paths([path], url, jobs=1)
    from_db = report_from_database(make_engine(url), "深圳市福田区政务服务中心", 2021)
    from_db.save(tmp_path / "db.docx")
    again = docx.Document(tmp_path / "db.docx")
    assert [p.text for p in again.paragraphs] == [p.text for p in document.paragraphs]
    assert [rows_of(t) for t in again.tables] == [rows_of(t) for t in document.tables]
    with pytest.raises(ReportError, match="没有"):
        report_from_database(make_engine(url), "不存在的单位")


def test_a_workbook_resaved_by_libreoffice_gives_the_same_report(soffice, futian, tmp_path) -> None:
    from jixiao.verify.libreoffice_recalc import recalculate

    path, _, document, _ = futian
    resaved = recalculate([path], tmp_path / "lo", soffice=soffice)[path]
    report, _ = report_from_workbook(resaved)
    report.save(tmp_path / "lo.docx")
    again = docx.Document(tmp_path / "lo.docx")
    assert [p.text for p in again.paragraphs] == [p.text for p in document.paragraphs]
    assert [rows_of(t) for t in again.tables] == [rows_of(t) for t in document.tables]


def test_unusable_inputs_are_one_clear_message(fw, tmp_path) -> None:
    fake = tmp_path / "自评表.xlsx"
    fake.write_text("not a spreadsheet", encoding="utf-8")
    with pytest.raises(ReportError, match="自评表.xlsx"):
        report_from_workbook(fake)
    blank = fill(fw, {}, tmp_path / "blank.xlsx")
    with pytest.raises(ReportError, match="空白模板"):
        report_from_workbook(blank)


# --------------------------------------------------------------------------- command line and PDF

def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jixiao.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_cli_report_and_pdf_text(soffice, fw, futian, tmp_path) -> None:
    path, report, document, _ = futian
    out = tmp_path / "out" / "福田 自评报告.docx"
    done = run_cli("report", str(path), "-o", str(out), "--pdf", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "总得分 94.79" in done.stdout and out.exists()
    pdf = out.with_suffix(".pdf")
    assert pdf.stat().st_size > 10_000
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = re.sub(r"\s+", "", text)
    for heading in SEED_HEADINGS:
        assert heading in flat, heading
    for must in ("深圳市福田区政务服务中心", "表1-1部门整体支出预算资金来源与调整情况", "单位：万元", "2,951.99", "96.42%",
                 "得分94.79分", "总得分情况", "预算执行率指标满分6分，自评得分5.82分"):
        assert must in flat, must
    for p in report.problems:
        assert re.sub(r"\s+", "", p.text)[:30] in flat


def test_cli_errors_without_traceback(tmp_path) -> None:
    done = run_cli("report", str(tmp_path / "nope.xlsx"), "-o", str(tmp_path / "r.docx"), cwd=tmp_path)
    assert done.returncode == 2 and "文件不存在" in done.stderr and "Traceback" not in done.stderr
    hostile = tmp_path / "报表.xlsx"
    hostile.write_bytes(b"PK\x03\x04 truncated")
    done = run_cli("report", str(hostile), "-o", str(tmp_path / "r.docx"), cwd=tmp_path)
    assert done.returncode == 2 and "报表.xlsx" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "r.docx").exists()


def test_pdf_without_libreoffice_is_a_clear_error(futian, tmp_path, monkeypatch) -> None:
    from jixiao.selfreport import PdfError, pdf

    _, report, _, _ = futian
    report.save(tmp_path / "r.docx")
    monkeypatch.setattr(pdf, "find_soffice", lambda: None)
    with pytest.raises(PdfError, match="libreoffice-writer-nogui"):
        to_pdf(tmp_path / "r.docx")


def test_api_from_inputs_and_scorecard(fw) -> None:
    data = load_data(fw, sample_path("longgang"))
    card = score(fw, data)
    report = build_report(fw, card)
    assert report_for_inputs(fw, data).problems == report.problems
    assert {p.indicator_id for p in report.problems} == {"contract_staff_control", "public_expense_control",
                                                          "budget_execution", "effectiveness"}
    # every narrative is there; the 整改措施 Longgang wrote beside each lost point too
    assert report.placeholders == []
    assert report.problems[0].measure == "整改措施：编外人员实有数控制在员额数内。"


def test_hostile_text_is_placed_not_refused(fw, tmp_path) -> None:
    """What a unit pastes: control characters XML cannot hold, markup, a very long narrative."""
    data = load_data(fw, sample_path("futian"))
    data["report_duties"] = "第一段\x0c含换页符\x00与<w:p>标记&amp;\n" + "长" * 30000
    data["unit_name"] = "深圳市<福田>区\x0b政务服务中心"
    report = report_for_inputs(fw, data)
    report.save(tmp_path / "h.docx")
    text = body_text(docx.Document(tmp_path / "h.docx"))
    assert "第一段含换页符与<w:p>标记&amp;" in text and "长" * 30000 in text
    assert "部门名称（公章）：深圳市<福田>区政务服务中心" in text


def test_every_unit_from_the_database(fw, futian, tmp_path) -> None:
    from jixiao.importer.db import make_engine
    from jixiao.importer.run import import_paths
    from jixiao.selfreport.sources import reports_from_database

    path = futian[0]
    longgang = fill(fw, load_data(fw, sample_path("longgang")), tmp_path / "龙岗.xlsx")
    bad = load_data(fw, sample_path("longgang"))
    bad.update(unit_name="深圳市某局", src_total_initial=1.0)  # 表1-1 does not add up: 错误
    rejected = fill(fw, bad, tmp_path / "某局.xlsx")
    url = f"sqlite:///{tmp_path / 'all.db'}"
    import_paths([path, longgang, rejected], url, jobs=1)
    out = tmp_path / "报告"
    done = run_cli("report", "--db", url, "--all", "-o", str(out), cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # one unit got none, and says why
    assert sorted(p.name for p in out.iterdir()) == ["深圳市福田区政务服务中心-2021-自评报告.docx",
                                                     "深圳市龙岗区人事服务中心-2021-自评报告.docx"]
    assert "深圳市某局（2021）：未生成：审核不通过" in done.stdout and "共 3 个单位，生成报告 2 份" in done.stdout
    outcomes = reports_from_database(make_engine(url), tmp_path / "again")
    assert len(outcomes) == 3


@pytest.mark.parametrize("name", ["futian", "longgang"])
def test_both_copies_of_each_sample_are_identical(name) -> None:
    top, packaged = ROOT / "samples" / f"{name}-2021.yaml", ROOT / "src" / "jixiao" / "samples" / f"{name}-2021.yaml"
    assert top.read_bytes() == packaged.read_bytes()


def test_wording_comes_from_the_definition_file(fw, futian, tmp_path) -> None:
    """Another wording of 存在的问题 and the total sentence: an edit of the definition, not code."""
    path = futian[0]
    definition = yaml.safe_load(Path(load_definition(fw).source).read_text(encoding="utf-8"))
    for block in definition["body"]:
        if "problems" in block:
            block["problems"]["item"] = "{n}. {name}：参考分值{points}分，得{score}分，扣{lost}分。"
        if "paragraph" in block and block["paragraph"].startswith("参照"):
            block["paragraph"] = "本单位自评总分{total:score}分。"
    custom = tmp_path / "my-report.yaml"
    custom.write_text(yaml.safe_dump(definition, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "custom.docx"
    done = run_cli("report", str(path), "-o", str(out), "--definition", str(custom), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = body_text(docx.Document(out))
    assert "6. 预算执行率：参考分值6分，得5.82分，扣0.18分。" in text
    assert "本单位自评总分94.79分。" in text and "参照《" not in text


def test_demo_writes_both_reports(soffice, tmp_path) -> None:
    from jixiao.demo import run_demo

    assert run_demo(tmp_path, pdf=True) == 0
    for name, total in (("futian", "94.79"), ("longgang", "96.94")):
        report = tmp_path / f"{name}-2021-自评报告.docx"
        document = docx.Document(report)
        assert rows_of(document.tables[-1])[-1][8] == total
        assert report.with_suffix(".pdf").stat().st_size > 10_000
