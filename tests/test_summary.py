"""The 汇总表 written from a database filled directly with rows (no real workbooks needed)."""

from __future__ import annotations

import html
import re
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart
from sqlalchemy import insert
from sqlalchemy.orm import Session

from jixiao.framework.loader import load_framework
from jixiao.importer.db import MessageRow, Receipt, ScoreRow, Submission, make_engine
from jixiao.importer.schema import upgrade
from jixiao.importer.summary import BANDS, write_summary

FW = load_framework()
POINTS = {i.id: i.points for i in FW.indicators}
HYPER = '=HYPERLINK("http://x","点我")'
PLUS = "+1-2"
T0 = datetime(2022, 3, 1, 9, 0)


class _Db:
    def __init__(self, path: Path) -> None:
        self.engine = make_engine(f"sqlite:///{path}")
        upgrade(self.engine)
        self.n = 0

    def sub(self, unit: str | None, year: int | None, total: float | None, status: str = "accepted", *,
            losses: dict[str, float] | None = None, current: bool = True, name: str | None = None,
            received: datetime | None = None, warnings: int = 0, errors: int = 0, grade: str | None = None,
            source: str | None = None, messages: list[tuple[str, str, str | None, str | None]] = ()) -> int:
        self.n += 1
        losses = losses or {}
        with Session(self.engine) as s, s.begin():
            sid = s.scalar(insert(Submission).values(
                sha256=f"{self.n:064x}", original_name=name or f"{unit}-{year}.xlsx",
                received_at=received or T0 + timedelta(hours=self.n), status=status, unit_name=unit, year=year,
                recomputed_total=total, workbook_total=total, grade=grade or _grade(total), errors=errors,
                warnings=warnings, archive_path=f"a/{self.n}", is_current=current).returning(Submission.id))
            s.execute(insert(Receipt).values(source=source or f"inbox/{self.n}.eml", original_name=name or "x.xlsx",
                                             sha256=f"{self.n:064x}", submission_id=sid))
            if status != "unreadable":
                s.execute(insert(ScoreRow), [
                    {"submission_id": sid, "indicator_id": i.id, "name": i.name, "points": i.points,
                     "workbook_score": i.points - losses.get(i.id, 0),
                     "recomputed_score": i.points - losses.get(i.id, 0), "explanation": ""}
                    for i in FW.indicators])
            if messages:
                s.execute(insert(MessageRow), [
                    {"submission_id": sid, "seq": n, "level": lvl, "code": "c", "text": text, "sheet": sh, "cell": ce}
                    for n, (lvl, text, sh, ce) in enumerate(messages)])
        return sid

    def supersede(self, old: int, new: int) -> None:
        from sqlalchemy import update

        with Session(self.engine) as s, s.begin():
            s.execute(update(Submission).where(Submission.id == old).values(is_current=False, superseded_by=new))

    def problem(self, source: str, problem: str) -> None:
        with Session(self.engine) as s, s.begin():
            s.execute(insert(Receipt).values(source=source, original_name=Path(source).name, sha256=None,
                                             problem=problem))


def _grade(total: float | None) -> str | None:
    if total is None:
        return None
    return "优" if total >= 90 else "良" if total >= 80 else "中" if total >= 60 else "差"


@pytest.fixture
def book(tmp_path: Path):
    db = _Db(tmp_path / "j.db")
    # 2020
    db.sub("甲单位", 2020, 85.0, losses={"effectiveness": 15})
    db.sub("乙单位", 2020, 90.0, losses={"effectiveness": 10})
    # 2021: a superseded first version of 甲's, then its current one
    old = db.sub("甲单位", 2021, 80.0, losses={"effectiveness": 20}, name="甲单位-初稿.xlsx",
                 received=datetime(2022, 1, 5, 0, 30))  # UTC, as the importer stores it: 08:30 Beijing
    new = db.sub("甲单位", 2021, 90.5, losses={"effectiveness": 5, "key_tasks": 4.5}, name="甲单位-修改稿.xlsx",
                 received=datetime(2022, 1, 9, 9, 45))  # UTC: 17:45 Beijing
    db.supersede(old, new)
    db.sub("乙单位", 2021, 88.0, "accepted_with_warnings", losses={"effectiveness": 10, "satisfaction": 2},
           warnings=2)
    db.sub("丙单位", 2021, 88.0, losses={"effectiveness": 12})  # ties with 乙
    db.sub(HYPER, 2021, 70.0, losses={"effectiveness": 25, "satisfaction": 5}, name="=1+1.xlsx")
    db.sub(PLUS, 2021, 96.0, losses={"budget_execution": 4}, name="-2.xlsx")
    # a rejected current one (kept on 汇总, out of 排名 and 指标统计) and an unreadable one
    db.sub("丁单位", 2021, 50.0, "rejected", losses={"effectiveness": 25, "key_tasks": 8, "budget_execution": 6,
                                                  "satisfaction": 6, "petitions": 3, "public_expense_control": 2},
           errors=2, name="@SUM(1).xlsx", source="=cmd|' /C calc'!A0",
           messages=[("错误", "预算执行率超过100%", "基础数据表", "C12"), ("警告", "只是警告", None, None),
                     ("错误", "=HYPERLINK(\"http://evil\")\x01坏字符", None, None)])
    db.sub(None, None, None, "unreadable", current=False, errors=1, name="坏文件.xlsx",
           messages=[("错误", "文件已损坏，无法打开", None, None)])
    db.problem("mail/2022-01.mbox#17", "附件解码失败（base64 错误）")
    out = tmp_path / "out" / "汇总表.xlsx"
    stats = write_summary(db.engine, out, FW)
    return out, stats


def _rows(ws, first: int = 1) -> list[tuple]:
    return [r for r in ws.iter_rows(min_row=first, values_only=True)]


def test_stats_and_sheets(book) -> None:
    out, stats = book
    assert stats.path == out and out.exists()
    assert (stats.submissions, stats.ranked, stats.failed, stats.superseded) == (8, 7, 3, 1)
    assert stats.years == [2020, 2021]
    wb = load_workbook(out)
    assert wb.sheetnames == ["汇总", "排名", "指标统计", "图表", "未通过文件", "历史"]


def test_overview(book) -> None:
    out, _ = book
    ws = load_workbook(out)["汇总"]
    names = [i.name for i in FW.indicators]
    head = _rows(ws)[0]
    assert list(head) == (["序号", "单位名称", "年度", "总得分", "等级"] + names
                          + ["审核状态", "警告数", "错误数", "较上年变化", "原文件名", "收到时间"])
    second = _rows(ws)[1]
    assert second[1] == "参考分值" and second[3] == 100
    assert list(second[5:5 + 21]) == [i.points for i in FW.indicators]
    col = {h: n for n, h in enumerate(head)}
    data = _rows(ws, 3)
    assert len(data) == 8  # the superseded and the unreadable are not on it
    assert [r[0] for r in data] == list(range(1, 9))
    by = {(r[col["单位名称"]], r[col["年度"]]): r for r in data}
    assert set(by) == {("甲单位", 2020), ("乙单位", 2020), ("甲单位", 2021), ("乙单位", 2021), ("丙单位", 2021),
                       (HYPER, 2021), (PLUS, 2021), ("丁单位", 2021)}
    a = by[("甲单位", 2021)]
    assert a[col["总得分"]] == 90.5 and a[col["等级"]] == "优"
    assert a[col["社会、经济、生态效益及可持续影响等"]] == 20 and a[col["重点工作完成情况"]] == 3.5
    assert a[col["审核状态"]] == "通过" and a[col["原文件名"]] == "甲单位-修改稿.xlsx"
    assert a[col["收到时间"]] == datetime(2022, 1, 9, 17, 45)
    assert a[col["较上年变化"]] == pytest.approx(5.5)
    assert by[("乙单位", 2021)][col["较上年变化"]] == pytest.approx(-2.0)
    assert by[("乙单位", 2021)][col["审核状态"]] == "通过（有警告）"
    assert by[("乙单位", 2021)][col["警告数"]] == 2
    assert by[("丙单位", 2021)][col["较上年变化"]] is None  # no 2020 row
    assert by[("甲单位", 2020)][col["较上年变化"]] is None
    d = by[("丁单位", 2021)]
    assert d[col["审核状态"]] == "不通过" and d[col["错误数"]] == 2 and d[col["总得分"]] == 50
    assert by[(PLUS, 2021)][col["原文件名"]] == "-2.xlsx"

    # formats, frozen panes, filter, print setup, widths
    assert ws.freeze_panes == "C3"
    assert ws.auto_filter.ref == f"A2:{ws.cell(1, len(head)).column_letter}10"
    total_cell = ws.cell(3, col["总得分"] + 1)
    assert total_cell.number_format == "0.00"
    assert ws.cell(3, 6).number_format == "0.00"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.page_setup.fitToHeight == 0
    assert ws.column_dimensions["B"].width == 30


def test_ranking_with_ties(book) -> None:
    out, _ = book
    ws = load_workbook(out)["排名"]
    assert _rows(ws)[0] == ("年度", "排名", "单位名称", "总得分", "等级", "审核状态")
    assert [(r[0], r[1], r[2], r[3]) for r in _rows(ws, 2)] == [
        (2020, 1, "乙单位", 90), (2020, 2, "甲单位", 85),
        (2021, 1, PLUS, 96), (2021, 2, "甲单位", 90.5), (2021, 3, "丙单位", 88), (2021, 3, "乙单位", 88),
        (2021, 5, HYPER, 70),
    ]
    assert ws.freeze_panes == "A2"


def test_ranks_and_bands_follow_excel_round_not_python_round(tmp_path: Path) -> None:
    """94.785 shows as 94.79 in Excel (ROUND half away from zero on 15 digits) but Python's
    round(94.785, 2) is 94.78 (the double is 94.78499...); likewise 59.995 -> 60.00 vs 59.99."""
    assert round(94.785, 2) != 94.79 and round(59.995, 2) < 60  # the premise: Python differs
    db = _Db(tmp_path / "j.db")
    db.sub("甲单位", 2021, 94.785)
    db.sub("乙单位", 2021, 94.79)
    db.sub("丙单位", 2021, 94.78)
    db.sub("丁单位", 2021, 59.995)
    out = tmp_path / "汇总表.xlsx"
    write_summary(db.engine, out, FW)
    wb = load_workbook(out)
    assert [(r[1], r[2]) for r in _rows(wb["排名"], 2)] == [
        (1, "乙单位"), (1, "甲单位"), (3, "丙单位"), (4, "丁单位"),
    ]
    bands = {r[0]: r[1] for r in _rows(wb["图表"])[2:2 + len(BANDS)]}
    assert bands["60–70分"] == 1 and bands["60分以下"] == 0 and bands["90–95分"] == 3


def test_indicator_statistics(book) -> None:
    out, _ = book
    ws = load_workbook(out)["指标统计"]
    head = _rows(ws)[0]
    assert head == ("年度", "一级指标", "二级指标", "指标", "参考分值", "单位数", "平均分", "最低分", "最高分",
                    "满分单位占比", "平均失分", "合计失分")
    rows = {(r[0], r[3]): r for r in _rows(ws, 2)}
    assert len(rows) == 2 * (21 + 1)
    eff = rows[(2021, "社会、经济、生态效益及可持续影响等")]
    # 甲 20, 乙 15, 丙 13, HYPER 0, PLUS 25 (the rejected 丁 and the superseded draft are not counted)
    assert eff[1:6] == ("部门绩效", "效果性", "社会、经济、生态效益及可持续影响等", 25, 5)
    assert eff[6] == pytest.approx(14.6) and eff[7] == 0 and eff[8] == 25
    assert eff[9] == pytest.approx(0.2) and eff[10] == pytest.approx(10.4) and eff[11] == pytest.approx(52)
    sat = rows[(2021, "公众或服务对象满意度")]
    # 6, 4, 6, 1, 6
    assert sat[5:] == (5, pytest.approx(4.6), 1, 6, pytest.approx(0.6), pytest.approx(1.4), pytest.approx(7))
    full = rows[(2021, "预算编制合理性")]
    assert full[9] == 1 and full[10] == 0 and full[11] == 0
    eff20 = rows[(2020, "社会、经济、生态效益及可持续影响等")]
    assert eff20[5:9] == (2, pytest.approx(12.5), 10, 15)
    total = rows[(2021, "总得分")]
    assert total[4:9] == (100, 5, pytest.approx((90.5 + 88 + 88 + 70 + 96) / 5), 70, 96)
    assert total[9] == 0 and total[11] == pytest.approx(500 - 432.5)
    assert ws.cell(2, 10).number_format == "0.0%" and ws.cell(2, 7).number_format == "0.00"
    assert ws.freeze_panes == "E2" and ws.auto_filter.ref == "A1:L45"


def test_charts(book) -> None:
    out, _ = book
    ws = load_workbook(out)["图表"]
    rows = _rows(ws)
    assert rows[1][:3] == ("分数段", "2020年", "2021年")
    bands = {r[0]: r[1:3] for r in rows[2:2 + len(BANDS)]}
    assert list(bands) == [b[0] for b in BANDS]
    assert bands["80–90分"] == (1, 2) and bands["90–95分"] == (1, 1) and bands["95分及以上"] == (0, 1)
    assert bands["70–80分"] == (0, 1) and bands["60分以下"] == (0, 0)
    lost = {r[0]: r[1:3] for r in rows if r[0] in {i.name for i in FW.indicators}}
    assert len(lost) == 21
    assert lost["社会、经济、生态效益及可持续影响等"] == (pytest.approx(12.5), pytest.approx(10.4))
    assert lost["预算编制合理性"] == (0, 0)

    charts = ws._charts
    assert len(charts) == 2 and all(isinstance(c, BarChart) for c in charts)
    for chart in charts:
        assert len(chart.series) == 2
        for s in chart.series:
            assert s.val.numRef.f.startswith("'图表'!")
            assert (s.cat.strRef or s.cat.numRef).f.startswith("'图表'!")
    assert charts[0].series[0].val.numRef.f == "'图表'!$B$3:$B$8"


def test_failed_files(book) -> None:
    out, _ = book
    ws = load_workbook(out)["未通过文件"]
    assert _rows(ws)[0] == ("文件", "来源", "单位名称", "年度", "状态", "收到时间", "原因", "备注")
    rows = _rows(ws, 2)
    assert len(rows) == 3
    rejected, unreadable, problem = rows
    assert rejected[:5] == ("@SUM(1).xlsx", "=cmd|' /C calc'!A0", "丁单位", 2021, "不通过")
    assert rejected[6] == "基础数据表!C12：预算执行率超过100%\n=HYPERLINK(\"http://evil\")\ufffd坏字符"
    assert unreadable[0] == "坏文件.xlsx" and unreadable[4] == "无法读取" and unreadable[6] == "文件已损坏，无法打开"
    assert problem[:2] == ("2022-01.mbox#17", "mail/2022-01.mbox#17")
    assert problem[4] == "无法取得文件" and problem[6] == "附件解码失败（base64 错误）"


def test_history(book) -> None:
    out, _ = book
    ws = load_workbook(out)["历史"]
    assert _rows(ws)[0] == ("单位名称", "年度", "总得分", "等级", "审核状态", "收到时间", "原文件名", "被替代为",
                            "替代文件收到时间")
    assert _rows(ws, 2) == [("甲单位", 2021, 80, "良", "通过", datetime(2022, 1, 5, 8, 30), "甲单位-初稿.xlsx",
                             "甲单位-修改稿.xlsx", datetime(2022, 1, 9, 17, 45))]


def _sheet_xml(path: Path) -> dict[str, str]:
    """sheet name -> its worksheet XML, resolved through workbook.xml and its relationships."""
    with zipfile.ZipFile(path) as z:
        wb = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        targets = dict(re.findall(r'<Relationship[^>]*Id="([^"]+)"[^>]*Target="([^"]+)"', rels))
        targets |= {k: v for v, k in re.findall(r'<Relationship[^>]*Target="([^"]+)"[^>]*Id="([^"]+)"', rels)}
        out = {}
        for name, rid in re.findall(r'<sheet [^>]*name="([^"]+)"[^>]*r:id="([^"]+)"', wb):
            target = targets[rid].lstrip("/")
            out[name] = z.read(target if target.startswith("xl/") else f"xl/{target}").decode()
        return out


def test_unit_strings_are_text_not_formulas(book) -> None:
    out, _ = book
    xml = _sheet_xml(out)
    assert set(xml) == {"汇总", "排名", "指标统计", "图表", "未通过文件", "历史"}
    for name, text in xml.items():
        assert "<f>" not in text and "<f " not in text, name  # no formula anywhere in the workbook
    overview = xml["汇总"]
    for value in (HYPER, PLUS, "=1+1.xlsx", "-2.xlsx"):
        cell = re.search(r'<c [^>]*><is><t>' + re.escape(html.escape(value, quote=False)) + '</t></is></c>', overview)
        assert cell is not None, value
        assert 't="inlineStr"' in cell.group(0), value
    failed = xml["未通过文件"]
    assert re.search(r'<c [^>]*t="inlineStr"[^>]*><is><t>@SUM\(1\)\.xlsx</t></is></c>', failed)
    assert "<t>=cmd|' /C calc'!A0</t>" in failed

    wb = load_workbook(out)
    ws = wb["汇总"]
    cells = {c.value: c for row in ws.iter_rows(min_row=3) for c in row if isinstance(c.value, str)}
    for value in (HYPER, PLUS, "=1+1.xlsx", "-2.xlsx"):
        assert cells[value].data_type == "s", value
        assert cells[value].quotePrefix, value  # stays text when edited or exported
    assert not cells["甲单位"].quotePrefix
    ranking = {c.value: c for row in wb["排名"].iter_rows(min_row=2) for c in row}
    assert ranking[HYPER].data_type == "s" and ranking[PLUS].data_type == "s"
    failed_cells = {c.value: c for row in wb["未通过文件"].iter_rows(min_row=2) for c in row}
    assert failed_cells["@SUM(1).xlsx"].data_type == "s" and failed_cells["@SUM(1).xlsx"].quotePrefix
    assert failed_cells["=cmd|' /C calc'!A0"].data_type == "s"


def test_empty_database(tmp_path: Path) -> None:
    db = _Db(tmp_path / "e.db")
    out = tmp_path / "e.xlsx"
    stats = write_summary(db.engine, out)
    assert (stats.submissions, stats.ranked, stats.failed, stats.superseded, stats.years) == (0, 0, 0, 0, [])
    wb = load_workbook(out)
    assert wb.sheetnames == ["汇总", "排名", "指标统计", "图表", "未通过文件", "历史"]
    assert wb["图表"]._charts == []
    assert len(_rows(wb["汇总"])) == 2


def test_ten_thousand_submissions(tmp_path: Path) -> None:
    """Ten thousand rows are all written (the time it takes: benchmarks/bench_intake.py)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'big.db'}")
    upgrade(engine)
    n = 10_000
    subs, scores = [], []
    for k in range(1, n + 1):
        year = 2020 + k % 2
        total = 0.0
        for j, ind in enumerate(FW.indicators):
            score = round(ind.points * ((k * 7 + j * 13) % 100) / 100, 2)
            total += score
            scores.append({"submission_id": k, "indicator_id": ind.id, "name": ind.name, "points": ind.points,
                           "workbook_score": score, "recomputed_score": score, "explanation": ""})
        subs.append({"id": k, "sha256": f"{k:064x}", "original_name": f"单位{k // 2}.xlsx", "received_at": T0,
                     "status": "accepted" if k % 10 else "accepted_with_warnings", "unit_name": f"单位{k // 2}",
                     "year": year, "recomputed_total": round(total, 2), "workbook_total": round(total, 2),
                     "grade": _grade(total), "errors": 0, "warnings": 0, "archive_path": "x", "is_current": True})
    with Session(engine) as s, s.begin():
        s.execute(insert(Submission), subs)
        s.execute(insert(ScoreRow), scores)
    out = tmp_path / "big.xlsx"
    stats = write_summary(engine, out, FW)
    assert stats.submissions == n and stats.ranked == n
    wb = load_workbook(out, read_only=True)
    assert sum(1 for _ in wb["汇总"].iter_rows(values_only=True)) == n + 2
    wb.close()
