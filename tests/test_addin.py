"""The Excel add-in (jixiao.addin): the add-in functions run through xlwings' remote engine
(``xlwings.Book(json=payload)``, what xlwings Server does with a request) on payloads built from
real generated workbooks, the two samples and damaged variants; the actions that come back
(values written, cells coloured, a sheet added, an alert) are asserted.  The same payloads go
through the FastAPI app over HTTP; the Office.js manifest, the task pane and the desktop .xlam
are checked as files; and for every sample and variant the add-in's verdict is compared with
`jixiao check` on the same file.

The payload (`payload_from_xlsx`) is what xlwings' Office.js client sends: client, version,
book (name, active sheet, selection, calculation mode), book-scope names with sheet index and
address, and every sheet's values from A1 to the last used cell ("" for empty), read here with
openpyxl (data_only: the cached formula results).  No formula text, no sheet protection: the
client sends neither, see jixiao/addin/book_view.py for what that means for the verdict.
tests/test_addin_browser.py checks these payloads against the request the real client (served by
`jixiao addin serve`, run in Chromium) sends for the same workbook."""

from __future__ import annotations

import copy
import datetime as dt
import importlib
import io
import json
import os
import re
import struct
import subprocess
import sys
import zipfile
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

import openpyxl
import pytest
from openpyxl.utils.cell import get_column_letter
from click.testing import CliRunner

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")  # PolyForm Noncommercial: testing

xw = pytest.importorskip("xlwings", reason="the add-in needs xlwings (pip install -e '.[addin]')")

from jixiao.addin import actions  # noqa: E402
from jixiao.addin.book_view import RESULT_SHEET, SheetGrid, from_grids, open_payload  # noqa: E402
from jixiao.addin.desktop import ADDIN_FILE, ADDIN_MODULE, RIBBON_MACRO, build_xlam  # noqa: E402
from jixiao.checker.check import check_book, check_file  # noqa: E402
from jixiao.checker.result import ERROR, NOTE, REJECTED, WARNED, WARNING, CheckResult  # noqa: E402
from jixiao.xlsx.safe import open_xlsx  # noqa: E402
from jixiao.xlsx.reader import read_workbook  # noqa: E402
from jixiao.xlsx.refs import parse_ref  # noqa: E402
from jixiao.cli import main  # noqa: E402
from jixiao.data import load_data  # noqa: E402
from jixiao.framework.loader import load_framework  # noqa: E402
from jixiao.samples import REPORTED_TOTALS, sample_path  # noqa: E402
from jixiao.workbook.generator import build_workbook  # noqa: E402
from jixiao.layout.names import META_SHEET  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ADDIN = ROOT / "addin"
STATIC = ROOT / "src" / "jixiao" / "addin" / "static"  # package data: manifest, task pane
BASE = "https://localhost:8000"
SERVER_PACKAGES = "fastapi httpx uvicorn"


# --------------------------------------------------------------------------- payloads

def payload_from_xlsx(path: Path, active: int = 0) -> dict:
    """The xlwings Server request body for this workbook, as the Office.js client builds it."""
    wb = openpyxl.load_workbook(path, data_only=True)
    index = {ws.title: i for i, ws in enumerate(wb.worksheets)}
    sheets = []
    for ws in wb.worksheets:
        rows = [["" if v is None else _json_value(v) for v in row]
                for row in ws.iter_rows(min_row=1, max_row=max(ws.max_row, 1), max_col=max(ws.max_column, 1),
                                        values_only=True)]
        sheets.append({"name": ws.title, "values": rows, "pictures": [], "tables": []})
    names = []
    for name, dn in wb.defined_names.items():
        ref = parse_ref(dn.attr_text or "")
        if ref and ref[0] in index:
            names.append({"name": name, "sheet_index": index[ref[0]], "address": ref[1], "scope_sheet_name": None,
                          "scope_sheet_index": None, "book_scope": True})
    book = {"name": path.name, "active_sheet_index": active, "selection": "A1"}
    if wb.calculation.calcMode == "manual":
        book["calculation"] = "Manual"
    payload = {"client": "Office.js", "version": xw.__version__, "book": book, "names": names, "sheets": sheets}
    return json.loads(json.dumps(payload))  # exactly what survives the HTTP round trip


def _json_value(v):
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat() + ("T00:00:00.000Z" if not isinstance(v, dt.datetime) else ".000Z")
    return v


def run(function, payload: dict, **kwargs) -> tuple[actions.Outcome, list[dict]]:
    """The function on a Book of (a copy of: the engine updates its book data) the payload."""
    with open_payload(copy.deepcopy(payload)) as book:
        outcome = function(book, **kwargs)
        return outcome, book.json()["actions"]


def funcs(acts: list[dict]) -> list[str]:
    return [a["func"] for a in acts]


def sheet_position(payload: dict, name: str) -> int:
    return [s["name"] for s in payload["sheets"]].index(name)


def colours(acts: list[dict], payload: dict) -> dict[tuple[str, str], str]:
    """(sheet, cell) → fill colour, from the setRangeColor actions."""
    names = [s["name"] for s in payload["sheets"]]
    out = {}
    for a in acts:
        if a["func"] == "setRangeColor":
            assert a["row_count"] == a["column_count"] == 1
            out[(names[a["sheet_position"]], f"{get_column_letter(a['start_column'] + 1)}{a['start_row'] + 1}")] = a["args"][0]
    return out



# --------------------------------------------------------------------------- workbook surgery

class Parts:
    """An .xlsx as zip members, edited the way Excel or a careless user would (the cached
    results openpyxl would drop stay as they are)."""

    def __init__(self, data: bytes):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            self.members = {i.filename: zf.read(i) for i in zf.infolist()}

    def save(self, path: Path) -> Path:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in self.members.items():
                zf.writestr(name, data)
        path.write_bytes(buf.getvalue())
        return path

    def text(self, part: str) -> str:
        return self.members[part].decode("utf-8")

    def sub(self, part: str, pattern: str, repl, count: int = 1) -> Parts:
        new, n = re.subn(pattern, repl, self.text(part), flags=re.S)
        assert n >= 1 and (count is None or n == count), f"{pattern!r} matched {n}× in {part}"
        self.members[part] = new.encode("utf-8")
        return self

    def part(self, sheet: str) -> str:
        book, rels = self.text("xl/workbook.xml"), self.text("xl/_rels/workbook.xml.rels")
        rid = re.search(rf'<sheet\b[^>]*name="{re.escape(escape(sheet))}"[^>]*r:id="([^"]+)"', book).group(1)
        target = re.search(rf'<Relationship\b[^>]*Id="{rid}"[^>]*Target="([^"]+)"', rels)
        target = target.group(1) if target else re.search(rf'Target="([^"]+)"[^>]*Id="{rid}"', rels).group(1)
        return target.lstrip("/") if target.startswith("/") else "xl/" + target

    def _cell(self, coord: str) -> str:
        return rf'<c\b[^>]*\br="{coord}"[^>]*?(?:/>|>.*?</c>)'

    def cell(self, sheet: str, xml: str, coord: str) -> Parts:
        return self.sub(self.part(sheet), self._cell(coord), lambda m: xml)

    def style(self, sheet: str, coord: str) -> str:
        m = re.search(self._cell(coord), self.text(self.part(sheet)), re.S)
        s = re.search(r'\bs="(\d+)"', m.group(0))
        return f' s="{s.group(1)}"' if s else ""

    def number(self, sheet: str, coord: str, value) -> Parts:
        return self.cell(sheet, f'<c r="{coord}"{self.style(sheet, coord)}><v>{value}</v></c>', coord)

    def string(self, sheet: str, coord: str, text: str) -> Parts:
        return self.cell(sheet, f'<c r="{coord}"{self.style(sheet, coord)} t="inlineStr"><is><t>{escape(text)}</t></is></c>',
                         coord)

    def delete(self, sheet: str, coord: str) -> Parts:
        return self.cell(sheet, "", coord)

    def cached(self, sheet: str, coord: str, value) -> Parts:
        """A formula cell's cached result changed, its formula kept (a stale result)."""
        return self.sub(self.part(sheet), rf'(<c\b[^>]*\br="{coord}"[^>]*>.*?<v>)[^<]*(</v>)',
                        lambda m: f"{m.group(1)}{value}{m.group(2)}")

    def formula(self, sheet: str, coord: str, text: str) -> Parts:
        """A formula's text changed, its cached result kept."""
        return self.sub(self.part(sheet), rf'(<c\b[^>]*\br="{coord}"[^>]*>.*?<f>)[^<]*(</f>)',
                        lambda m: f"{m.group(1)}{escape(text)}{m.group(2)}")

    def calc_mode(self, mode: str) -> Parts:
        return self.sub("xl/workbook.xml", r"<calcPr\b([^>]*?)\s*/>",
                        lambda m: "<calcPr" + re.sub(r'\s(?:calcMode|fullCalcOnLoad)="[^"]*"', "", m.group(1))
                        + f' calcMode="{mode}" />')

    def unprotect(self, sheet: str) -> Parts:
        return self.sub(self.part(sheet), r"<sheetProtection\b[^>]*/>", "")

    def drop_names(self) -> Parts:
        return self.sub("xl/workbook.xml", r"<definedNames>.*?</definedNames>", "")


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def fw():
    return load_framework()


@pytest.fixture(scope="module")
def data(fw):
    return {name: load_data(fw, sample_path(name)) for name in ("futian", "longgang")}


@pytest.fixture(scope="module")
def built(fw, data):
    return build_workbook(fw, data["futian"])


def _bytes(b) -> bytes:
    buf = io.BytesIO()
    b.save(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def pos(built):
    def where(ident: str) -> tuple[str, str]:
        p = built.inputs.get(ident) or built.computed[ident]
        return p.sheet, p.coord

    return where


SCORE = "score.target_completeness"  # 评分表!I8: 2 of 3 points in the Futian sample
COUNT = "staff_quota"                # 资产与人员!B16, a required count


@pytest.fixture(scope="module")
def variants(tmp_path_factory, fw, data, built, pos):
    """Name → workbook file: the two samples and damaged variants of the Futian one."""
    folder = tmp_path_factory.mktemp("addin")
    good = _bytes(built)
    score_sheet, score_cell = pos(SCORE)
    out: dict[str, Path] = {}

    def add(name: str, content) -> None:
        path = folder / f"{name}.xlsx"
        if isinstance(content, Parts):
            content.save(path)
        else:
            path.write_bytes(content)
        out[name] = path

    add("futian", good)
    add("longgang", _bytes(build_workbook(fw, data["longgang"])))
    add("score_constant", Parts(good).number(score_sheet, score_cell, 3))
    add("stale_manual", Parts(good).cached(score_sheet, score_cell, 1.5).calc_mode("manual"))
    add("stale_auto", Parts(good).cached(score_sheet, score_cell, 1.5))
    add("invalid_text", Parts(good).string(*pos(COUNT), "十二"))
    add("required_missing", Parts(good).delete(*pos("unit_name")))
    add("number_as_text", Parts(good).string(*pos("src_general_initial"), "2,951.99"))
    add("looks_like_yuan", _bytes(build_workbook(fw, {**data["futian"], "fn_general_initial": 28106600.0})))
    add("blank_template", _bytes(build_workbook(fw)))
    plain = openpyxl.Workbook()
    plain.active["A1"] = "不是自评表"
    buf = io.BytesIO()
    plain.save(buf)
    add("not_jixiao", buf.getvalue())
    # damage only formula text or protection shows: the remote engine cannot see it
    add("score_constant_same", Parts(good).number(score_sheet, score_cell, 2))
    add("formula_edited_same", Parts(good).formula(score_sheet, score_cell, "1+1"))
    add("protection_removed", Parts(good).unprotect("评分表"))
    return out


AGREEING = ["futian", "longgang", "score_constant", "stale_manual", "stale_auto", "invalid_text",
            "required_missing", "number_as_text", "looks_like_yuan", "blank_template", "not_jixiao"]
FORMULA_OR_PROTECTION_ONLY = ["score_constant_same", "formula_edited_same", "protection_removed"]


@pytest.fixture(scope="module")
def payloads(variants):
    return {name: payload_from_xlsx(path) for name, path in variants.items()}


@pytest.fixture(scope="module")
def file_results(variants):
    return {name: check_file(path) for name, path in variants.items()}


# --------------------------------------------------------------------------- the remote engine

def test_payload_opens_as_an_xlwings_book(payloads):
    with open_payload(copy.deepcopy(payloads["futian"])) as book:
        assert book.name == "futian.xlsx"
        assert [s.name for s in book.sheets][-2:] == ["审核", META_SHEET]
        assert book.names["unit_name"].refers_to_range.address == "$B$5"
        assert book.sheets["基本信息"]["B5"].value == "深圳市福田区政务服务中心"
        with pytest.raises(NotImplementedError):
            book.sheets["评分表"]["I8"].formula  # no formula text on this engine  # noqa: B018


def test_view_of_a_payload_marks_computed_cells_as_formulas(payloads, pos):
    from jixiao.addin.book_view import book_view
    from jixiao.xlsx.reader import SHARED

    with open_payload(copy.deepcopy(payloads["futian"])) as book:
        view = book_view(book)
    assert not view.formulas_known and not view.protection_known
    score = view.cell(*pos(SCORE))
    assert score.formula == SHARED and score.value == 2.0
    assert view.cell(*pos("unit_name")).formula is None
    assert view.sheets["评分表"].protected  # unknown: taken as protected
    assert view.defined_names["unit_name"] == ("基本信息", "B5")


# --------------------------------------------------------------------------- 校验

@pytest.mark.parametrize("name", ["futian", "longgang"])
def test_validate_sample(name, payloads):
    payload = payloads[name]
    outcome, acts = run(actions.validate, payload)
    r = outcome.result
    assert r.status == WARNED and r.recomputed_total == pytest.approx(REPORTED_TOTALS[name])
    assert funcs(acts) == (["addSheet", "setValues"] + ["addHyperlink"] * len(r.warnings)
                           + ["setAutofit", "activateSheet", "alert"])
    add = acts[0]
    assert add["args"] == [len(payload["sheets"]), RESULT_SHEET]  # after the last sheet
    values = acts[1]["values"]
    assert (acts[1]["start_row"], acts[1]["start_column"]) == (0, 0)
    assert values[0][0] == "绩效自评 校验结果" and values[1][:2] == ["结论", "通过（有警告）"]
    assert values[2][1] == pytest.approx(REPORTED_TOTALS[name]) and values[2][3] == "优"
    assert values[7] == actions.RESULT_HEADER
    listed = values[8:]
    assert [row[1] for row in listed] == [WARNING] * len(r.warnings) + [NOTE]
    assert [row[4] for row in listed] == ["cross_check"] * len(r.warnings) + ["addin_limits"]
    for row, link in zip(listed, acts[2:2 + len(r.warnings)]):
        sheet, cell = row[2].split("!")
        assert sheet == "审核"
        assert link["args"][0] == f"#'审核'!{cell}" and link["args"][1] == row[2]
        assert (link["start_row"], link["start_column"]) == (8 + listed.index(row), 2)
    assert "setRangeColor" not in funcs(acts)  # no input is wrong
    alert = acts[-1]["args"]
    assert alert[1] == "绩效自评：校验"
    assert alert[0].startswith("校验结论：通过（有警告）") and f"警告 {len(r.warnings)} 项" in alert[0]


def test_validate_marks_an_invalid_input(payloads, pos):
    payload = payloads["invalid_text"]
    outcome, acts = run(actions.validate, payload)
    sheet, cell = pos(COUNT)
    assert outcome.result.status == REJECTED
    assert colours(acts, payload) == {(sheet, cell): actions.ERROR_FILL}
    # the protected sheet is opened for the fill and closed again, in that order
    i = funcs(acts).index("setRangeColor")
    assert acts[i - 1]["func"] == acts[i + 1]["func"] == "runMacro"
    assert acts[i - 1]["args"] == ["jixiaoUnprotect", sheet] and acts[i + 1]["args"] == ["jixiaoProtect", sheet, True]
    listed = next(a for a in acts if a["func"] == "setValues")["values"]
    row = next(r for r in listed if r[4] == "invalid_value")
    assert row[1] == ERROR and row[2] == f"{sheet}!{cell}" and "十二" in row[3] and row[5] == COUNT
    assert acts[-1]["args"][0].startswith("校验结论：不通过")


def test_validate_marks_warnings_orange(payloads, pos):
    payload = payloads["looks_like_yuan"]
    outcome, acts = run(actions.validate, payload)
    assert "looks_like_yuan" in [m.code for m in outcome.result.warnings]
    assert colours(acts, payload)[pos("fn_general_initial")] == actions.WARNING_FILL


def test_validate_takes_back_the_previous_marks(payloads, pos):
    """A second 校验 after the input was corrected: the cell listed last time goes back to
    the input yellow, the old listing is overwritten (no second sheet)."""
    first, first_acts = run(actions.validate, payloads["invalid_text"])
    listing = next(a for a in first_acts if a["func"] == "setValues")["values"]
    fixed = json.loads(json.dumps(payloads["futian"]))
    fixed["sheets"].append({"name": RESULT_SHEET, "values": [["" if v is None else v for v in row] for row in listing],
                            "pictures": [], "tables": []})
    outcome, acts = run(actions.validate, fixed)
    assert outcome.result.status == WARNED  # the result sheet itself is not an added template sheet
    assert colours(acts, fixed) == {pos(COUNT): actions.INPUT_FILL}
    assert "addSheet" not in funcs(acts)
    write = next(a for a in acts if a["func"] == "setValues")
    assert write["sheet_position"] == len(fixed["sheets"]) - 1
    assert len(write["values"]) >= len(listing)  # blanks over the longer old listing


def test_text_that_looks_like_a_formula_is_written_as_text(payloads, pos):
    payload = copy.deepcopy(payloads["futian"])
    sheet, cell = pos("unit_name")
    row, col = int(cell[1:]) - 1, ord(cell[0]) - 65
    payload["sheets"][sheet_position(payload, sheet)]["values"][row][col] = '=HYPERLINK("http://x","单位")'
    outcome, acts = run(actions.validate, payload)
    assert outcome.result.unit_name.startswith("=HYPERLINK")
    listing = next(a for a in acts if a["func"] == "setValues")["values"]
    assert listing[1][3] == "'" + outcome.result.unit_name  # Excel keeps it as text


def test_validate_on_a_workbook_that_is_not_a_template(payloads):
    outcome, acts = run(actions.validate, payloads["not_jixiao"])
    assert outcome.result.status == REJECTED
    assert "layout_changed" in [m.code for m in outcome.result.errors]
    assert "setRangeColor" not in funcs(acts) and funcs(acts)[-1] == "alert"


def test_checked_workbook_saved_with_its_result_sheet(variants, payloads, tmp_path):
    """A unit runs 校验, saves and submits: the bureau's jixiao check should not warn about the
    add-in's own sheet (the add-in leaves it out of its own check)."""
    _, acts = run(actions.validate, payloads["futian"])
    wb = openpyxl.load_workbook(variants["futian"])
    ws = wb.create_sheet(RESULT_SHEET)
    for i, row in enumerate(next(a for a in acts if a["func"] == "setValues")["values"], 1):
        for j, v in enumerate(row, 1):
            ws.cell(i, j, v if v != "" else None)
    wb.save(tmp_path / "校验后.xlsx")
    assert "sheet_added" not in [m.code for m in check_file(tmp_path / "校验后.xlsx").messages]


def test_engine_values_read_as_the_file_reader_reads_them():
    from jixiao.addin.book_view import cell_value

    assert cell_value(5) == 5.0 and isinstance(cell_value(5), float)
    assert cell_value(True) is True and cell_value("") is None and cell_value(None) is None
    assert cell_value("十二") == "十二" and cell_value("#DIV/0!") == "#DIV/0!"
    # a date: the Office.js client's ISO text, the desktop engine's datetime → Excel's serial number
    assert cell_value("2021-12-31T00:00:00.000Z") == cell_value(dt.datetime(2021, 12, 31)) == 44561.0
    assert cell_value(dt.date(2021, 12, 31)) == 44561.0
    assert cell_value("2021-12-31 08:00:00+08:00") == "2021-12-31 08:00:00+08:00"  # text stays text


# --------------------------------------------------------------------------- 重算核对

def test_recompute_sample_agrees(payloads, built, fw):
    payload = payloads["futian"]
    outcome, acts = run(actions.recompute, payload)
    marked = colours(acts, payload)
    scores = {(built.computed[f"score.{i.id}"].sheet, built.computed[f"score.{i.id}"].coord) for i in fw.indicators}
    total = (built.computed["total"].sheet, built.computed["total"].coord)
    assert set(marked) == scores | {total}
    assert set(marked.values()) == {actions.COMPUTED_FILL}
    assert acts[0]["args"] == ["jixiaoUnprotect", "评分表"] and acts[-2]["args"] == ["jixiaoProtect", "评分表", True]
    alert = acts[-1]["args"]
    assert alert[1] == "绩效自评：重算核对"
    assert alert[0].startswith(f"重算核对：{len(fw.indicators)} 个三级指标得分与 Python 重新计算一致")
    assert "总得分：工作簿 94.79，重新计算 94.79（优）" in alert[0]


@pytest.mark.parametrize("name, shown", [("score_constant", "3"), ("stale_auto", "1.5"), ("stale_manual", "1.5")])
def test_recompute_marks_a_differing_score(name, shown, payloads, pos):
    payload = payloads[name]
    outcome, acts = run(actions.recompute, payload)
    marked = colours(acts, payload)
    assert marked[pos(SCORE)] == actions.ERROR_FILL
    assert [w for w, c in marked.items() if c == actions.ERROR_FILL] == [pos(SCORE)]
    text = acts[-1]["args"][0]
    assert "中 1 个得分与 Python 重新计算不一致" in text
    assert f"绩效目标完整性（评分表!I8）：工作簿 {shown}，重新计算 2" in text


def test_recompute_waits_for_invalid_inputs_to_be_corrected(payloads, pos):
    outcome, acts = run(actions.recompute, payloads["invalid_text"])
    assert funcs(acts) == ["alert"]
    sheet, cell = pos(COUNT)
    assert acts[0]["args"][0].startswith(f"重算核对未进行：1 项填报无效（如 {sheet}!{cell}）")


def test_recompute_without_a_template(payloads):
    outcome, acts = run(actions.recompute, payloads["not_jixiao"])
    assert funcs(acts) == ["alert"] and acts[0]["args"][0].startswith("无法重算核对")


# --------------------------------------------------------------------------- 定稿

NOW = dt.datetime(2022, 3, 31, 17, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def test_finalise_stamps_digest_and_time(payloads, file_results):
    payload = payloads["futian"]
    outcome, acts = run(actions.finalise, payload, now=NOW)
    assert outcome.digest == actions.input_digest(file_results["futian"].inputs)  # what jixiao check reads
    meta = sheet_position(payload, META_SHEET)
    last = len(payload["sheets"][meta]["values"])
    assert funcs(acts) == ["runMacro", "setValues", "setValues", "runMacro", "alert"]
    assert acts[0]["args"] == ["jixiaoUnprotect", META_SHEET] and acts[3]["args"] == ["jixiaoProtect", META_SHEET, False]
    writes = [(a["sheet_position"], a["start_row"], a["start_column"], a["values"]) for a in acts[1:3]]
    assert writes == [(meta, last + 1, 0, [[actions.FINALISED_DIGEST, outcome.digest]]),
                      (meta, last + 2, 0, [[actions.FINALISED_AT, "2022-03-31 17:30:00+08:00"]])]
    assert acts[-1]["args"][0].startswith("已定稿（2022-03-31 17:30:00+08:00）") and outcome.digest[:16] in acts[-1]["args"][0]


def test_finalise_refused_while_errors_remain(payloads):
    outcome, acts = run(actions.finalise, payloads["invalid_text"])
    assert outcome.digest is None
    assert funcs(acts) == ["alert"] and acts[0]["args"][0].startswith("未定稿：校验发现")


def _apply(path: Path, acts: list[dict], payload: dict, target: Path) -> Path:
    """Carry out setValues actions on the file (what the Office.js client does in Excel)."""
    wb = openpyxl.load_workbook(path)
    names = [s["name"] for s in payload["sheets"]]
    for a in acts:
        if a["func"] == "setValues":
            ws = wb[names[a["sheet_position"]]]
            for i, row in enumerate(a["values"]):
                for j, v in enumerate(row):
                    ws.cell(a["start_row"] + 1 + i, a["start_column"] + 1 + j, v)
    wb.save(target)
    return target


def test_finalised_workbook_tells_whether_its_inputs_changed(variants, payloads, pos, tmp_path):
    _, acts = run(actions.finalise, payloads["futian"], now=NOW)
    done = _apply(variants["futian"], acts, payloads["futian"], tmp_path / "定稿.xlsx")
    result = check_file(done)
    assert actions.verify_finalisation(read_workbook(open_xlsx(done)), result) == "unchanged"
    assert actions.verify_finalisation(read_workbook(open_xlsx(variants["futian"])), check_file(variants["futian"])) is None
    # finalised again: the same two rows, not new ones
    again_payload = payload_from_xlsx(done)
    _, again = run(actions.finalise, again_payload, now=NOW)
    assert [a["start_row"] for a in again if a["func"] == "setValues"] == [
        a["start_row"] for a in acts if a["func"] == "setValues"]
    # an input changed after finalising
    wb = openpyxl.load_workbook(done)
    sheet, cell = pos("staff_contract")
    wb[sheet][cell] = 56
    wb.save(tmp_path / "改过.xlsx")
    changed = tmp_path / "改过.xlsx"
    assert actions.verify_finalisation(read_workbook(open_xlsx(changed)), check_file(changed)) == "changed"


# --------------------------------------------------------------------------- desktop entry point

def test_ribbon_entry_point_runs_check_and_recompute_with_one_alert(payloads, monkeypatch):
    """jixiao.addin.main() is what the ribbon's RunPython call runs (module = the .xlam's name)."""
    addin = importlib.import_module(ADDIN_MODULE)
    with open_payload(copy.deepcopy(payloads["score_constant"])) as book:
        monkeypatch.setattr(xw.Book, "caller", classmethod(lambda cls: book))
        addin.main()
        acts = book.json()["actions"]
    assert funcs(acts).count("alert") == 1 and funcs(acts).count("addSheet") == 1
    text = acts[-1]["args"][0]
    assert text.startswith("校验结论：不通过") and "重算核对：" in text and "评分表!I8" in text
    assert acts[-1]["args"][1] == "绩效自评"


# --------------------------------------------------------------------------- agreement with jixiao check

VALUE_CODES = {"formula_overwritten": "result_mismatch", "formula_edited": "result_mismatch"}
BLIND = {"protection_removed", "input_formula"}  # need protection state / formula text


def comparable(result: CheckResult, formulas_known: bool) -> tuple[str, Counter]:
    """Status and the (level, code, sheet, cell) of errors and warnings, in what a check that
    sees only values can tell: a formula typed over with a different number is a result that
    differs from the recomputation; protection and input formulas are not visible."""
    seen = Counter()
    for m in result.messages:
        if m.level == NOTE or (not formulas_known and m.code in BLIND):
            continue
        code = m.code if formulas_known else VALUE_CODES.get(m.code, m.code)
        seen[(m.level, code, m.sheet, m.cell)] += 1
    return result.status, seen


@pytest.mark.parametrize("name", AGREEING)
def test_addin_and_check_agree(name, payloads, file_results):
    outcome, _ = run(actions.validate, payloads[name])
    live, by_file = outcome.result, file_results[name]
    assert comparable(live, formulas_known=False) == comparable(by_file, formulas_known=False)
    assert live.recomputed_total == by_file.recomputed_total and live.grade == by_file.grade
    assert live.inputs == by_file.inputs
    assert [(i.id, i.workbook_score, i.recomputed_score) for i in live.indicators] == [
        (i.id, i.workbook_score, i.recomputed_score) for i in by_file.indicators]


def test_variants_cover_the_expected_verdicts(file_results):
    codes = {name: {m.code for m in r.messages if m.level in (ERROR, WARNING)} for name, r in file_results.items()}
    assert file_results["futian"].status == file_results["longgang"].status == WARNED
    assert "formula_overwritten" in codes["score_constant"] and "stale_result" in codes["stale_manual"]
    assert "result_mismatch" in codes["stale_auto"] and "invalid_value" in codes["invalid_text"]
    assert "required" in codes["required_missing"] and "looks_like_yuan" in codes["looks_like_yuan"]
    assert "blank_template" in codes["blank_template"] and "layout_changed" in codes["not_jixiao"]
    assert "normalised" in {m.code for m in file_results["number_as_text"].messages}
    assert file_results["number_as_text"].status == WARNED


ONLY_IN_THE_FILE = {"formula_overwritten", "formula_edited", "protection_removed"}


@pytest.mark.parametrize("name, status", [("score_constant_same", REJECTED), ("formula_edited_same", REJECTED),
                                          ("protection_removed", WARNED)])
def test_what_only_the_file_check_sees(name, status, payloads, file_results):
    """Formula text and protection are not in the payload: damage that changes nothing else (a
    formula replaced by its own value, rewritten with the same result, protection removed) is
    found by jixiao check on the saved file, not by the server add-in, which says so.  All the
    rest agrees."""
    outcome, _ = run(actions.validate, payloads[name])
    live, by_file = outcome.result, file_results[name]
    found = {m.code for m in by_file.messages} & ONLY_IN_THE_FILE
    assert len(found) == 1 and by_file.status == status
    assert live.status == WARNED  # the sample's own two warnings
    assert not {m.code for m in live.messages} & ONLY_IN_THE_FILE
    assert "addin_limits" in [m.code for m in live.messages]
    rest = CheckResult(file=name, status=WARNED, messages=[m for m in by_file.messages if m.code not in ONLY_IN_THE_FILE])
    assert comparable(live, False) == comparable(rest, False)
    assert live.recomputed_total == by_file.recomputed_total and live.inputs == by_file.inputs


def _grids(path: Path, protected: bool = True) -> list[SheetGrid]:
    """Sheets as the desktop engine reads them: values and formula text, and protection."""
    values = openpyxl.load_workbook(path, data_only=True)
    formulas = openpyxl.load_workbook(path)
    out = []
    for ws in values.worksheets:
        fs = formulas[ws.title]
        out.append(SheetGrid(
            ws.title, [list(r) for r in ws.iter_rows(values_only=True)],
            [[v if isinstance(v, str) else None for v in r] for r in fs.iter_rows(values_only=True)],
            protection=bool(fs.protection.sheet), state=ws.sheet_state))
    return out


@pytest.mark.parametrize("name", AGREEING + FORMULA_OR_PROTECTION_ONLY)
def test_desktop_view_agrees_exactly(name, variants, file_results):
    """The desktop engine reads formulas and protection: then the verdict is jixiao check's,
    code for code (the adapter logic; reading through COM needs Excel)."""
    path = variants[name]
    wb = openpyxl.load_workbook(path)
    names = {n: ref for n, dn in wb.defined_names.items() if (ref := parse_ref(dn.attr_text or ""))}
    calc = "manual" if wb.calculation.calcMode == "manual" else "auto"
    view = from_grids(_grids(path), names, calc)
    assert view.formulas_known and view.protection_known
    live = check_book(view, CheckResult(file=name))
    assert comparable(live, True) == comparable(file_results[name], True)


# --------------------------------------------------------------------------- the server

@pytest.fixture(scope="module")
def client():
    try:
        from fastapi.testclient import TestClient
    except ImportError as exc:
        pytest.fail(f"the server add-in tests need {SERVER_PACKAGES} (pip install {SERVER_PACKAGES}; "
                    f"they belong in the 'addin' extra): {exc}")
    from jixiao.addin.server import create_app

    return TestClient(create_app(BASE))


@pytest.mark.parametrize("name", ["futian", "invalid_text", "score_constant"])
@pytest.mark.parametrize("action", ["validate", "recompute", "finalise"])
def test_server_returns_the_same_actions(action, name, client, payloads):
    payload = payloads[name]
    response = client.post(f"/xlwings/custom-scripts-call/{action}", json=payload)  # where runPython posts
    assert response.status_code == 200, response.text
    over_http = response.json()["actions"]
    _, direct = run(getattr(actions, action), payload)
    assert funcs(over_http) == funcs(direct)
    stamp = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d")
    assert stamp.sub("T", json.dumps(over_http, ensure_ascii=False)) == stamp.sub("T", json.dumps(direct, ensure_ascii=False))


def test_server_errors_are_chinese_json(client, monkeypatch):
    """xlwings' client shows the `detail` of a failed call; the task pane puts it in its status."""
    from fastapi.testclient import TestClient

    from jixiao.addin import server

    quiet = TestClient(client.app, raise_server_exceptions=False)
    response = quiet.post("/xlwings/custom-scripts-call/validate", json={"client": "Office.js", "version": "0", "book": {}})
    assert response.status_code == 400
    assert response.json()["detail"] == ("服务器未能校验：请求内容不是 xlwings 客户端发送的工作簿内容"
                                         "（缺少字段 sheets、names（xlwings 客户端发送的工作簿内容应有 book、sheets、names））")
    response = quiet.post("/xlwings/custom-scripts-call/recompute", content=b"not json",
                          headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["detail"].startswith("服务器未能重算核对：请求内容不是")

    def broken(name, payload, frameworks):
        raise KeyError("book")

    monkeypatch.setattr(server, "run_action", broken)
    response = quiet.post("/xlwings/custom-scripts-call/finalise", json={"book": {}, "sheets": [], "names": []})
    assert response.status_code == 500 and response.json() == {"detail": "服务器未能定稿：KeyError: 'book'"}


def test_server_serves_manifest_taskpane_icons_alert(client):
    manifest = client.get("/manifest.xml")
    assert manifest.status_code == 200 and "xml" in manifest.headers["content-type"]
    urls = _manifest_urls(manifest.text)
    assert urls and all(u.startswith(BASE) for u in urls)
    for url in set(urls) - {BASE}:
        assert client.get(url[len(BASE):]).status_code == 200, url
    page = client.get("/taskpane.html")
    assert page.status_code == 200 and "JIXIAO_CLIENT" not in page.text
    parsed = _Page()
    parsed.feed(page.text)
    sources = [x.get("src") for x in parsed.scripts if x.get("src")]
    # the xlwings client from this server, nothing from a CDN but Office.js
    assert sources == ["https://appsforoffice.microsoft.com/lib/1/hosted/office.js",
                       "/xlwings-client/custom-scripts/index.js", "/taskpane.js"]
    config = json.loads(parsed.configs[0])
    assert config["xlwingsVersion"] == xw.__version__ and config["onWasm"] is False and config["appPath"] == ""
    from jixiao.addin.client import client_dir

    for module in ("custom-scripts/index.js", "config.js", "utils.js", "alerts/parent.js",
                   "custom-scripts/action-dispatch.js"):
        js = client.get(f"/xlwings-client/{module}")
        assert js.status_code == 200 and "javascript" in js.headers["content-type"], module
        assert js.content == (client_dir() / module).read_bytes()
    assert client.get("/taskpane.js").status_code == 200
    assert client.get("/xlwings-client/../../__init__.py").status_code == 404
    png = client.get("/icons/icon-32.png").content
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (32, 32)
    alert = client.get("/xlwings/alert", params={"prompt": "校验结论：<不通过>\n错误 1 项", "title": "绩效自评",
                                                 "buttons": "ok", "mode": "", "callback": ""})
    assert alert.status_code == 200 and "&lt;不通过&gt;<br>错误 1 项" in alert.text and "绩效自评" in alert.text
    assert client.get("/health").json()["actions"] == ["validate", "recompute", "finalise"]


def test_served_manifest_names_the_configured_base_url():
    from jixiao.addin.server import manifest_xml

    other = "https://jixiao.czj.example:8443"
    urls = _manifest_urls(manifest_xml(other + "/"))
    assert urls and all(u.startswith(other) for u in urls) and BASE not in manifest_xml(other)
    with pytest.raises(ValueError):
        manifest_xml('https://x"><evil/>')


# --------------------------------------------------------------------------- files: manifest, task pane

OFFICE = "{http://schemas.microsoft.com/office/appforoffice/1.1}"
BT = "{http://schemas.microsoft.com/office/officeappbasictypes/1.0}"
OV = "{http://schemas.microsoft.com/office/taskpaneappversionoverrides}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


def _manifest_urls(text: str) -> list[str]:
    root = ET.fromstring(text.encode("utf-8"))
    urls = [e.get("DefaultValue") for e in root.iter() if (e.get("DefaultValue") or "").startswith("http")]
    urls += [e.text for e in root.iter(f"{OFFICE}AppDomain")]
    return urls


def test_manifest_is_a_valid_office_addin_manifest():
    root = ET.parse(STATIC / "manifest.xml").getroot()
    assert root.tag == f"{OFFICE}OfficeApp" and root.get(f"{XSI}type") == "TaskPaneApp"
    assert root.find(f"{OFFICE}DisplayName").get("DefaultValue") == "绩效自评"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", root.find(f"{OFFICE}Id").text)
    assert root.find(f"{OFFICE}DefaultSettings/{OFFICE}SourceLocation").get("DefaultValue") == f"{BASE}/taskpane.html"
    assert root.find(f"{OFFICE}Hosts/{OFFICE}Host").get("Name") == "Workbook"
    # every resid refers to a resource
    resources = {e.get("id") for e in root.iter() if e.tag.startswith(BT) and e.get("id")}
    refs = {e.get("resid") for e in root.iter() if e.get("resid")}
    assert refs and refs <= resources
    urls = {e.get("id"): e.get("DefaultValue") for e in root.iter(f"{BT}Url")}
    assert urls["Taskpane.Url"] == f"{BASE}/taskpane.html"
    functions = [e.text for e in root.iter(f"{OV}FunctionName")]
    assert functions == ["jixiao-validate", "jixiao-recompute", "jixiao-finalise"]
    labels = {e.get("id"): e.get("DefaultValue") for e in root.iter(f"{BT}String")}
    assert labels["Tab.Label"] == "绩效自评"
    assert [labels[f"{b}.Label"] for b in ("Validate", "Recompute", "Finalise")] == ["校验", "重算核对", "定稿"]
    assert all(len(v) <= 125 for k, v in labels.items() if k.endswith("Label"))
    assert all(u.startswith(BASE) for u in _manifest_urls((STATIC / "manifest.xml").read_text(encoding="utf-8")))


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.buttons: list[tuple[dict, str]] = []
        self.scripts: list[dict] = []
        self.configs: list[str] = []
        self.code = ""
        self._button: dict | None = None
        self._text = ""
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "button":
            self._button, self._text = attrs, ""
        elif tag == "script":
            self.scripts.append(attrs)
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "button" and self._button is not None:
            self.buttons.append((self._button, self._text))
            self._button = None
        elif tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._button is not None:
            self._text += data
        if self._in_script:
            if self.scripts[-1].get("id") == "config":
                self.configs.append(data)
            else:
                self.code += data


def test_taskpane_has_the_three_chinese_actions():
    page = _Page()
    page.feed((STATIC / "taskpane.html").read_text(encoding="utf-8"))
    labels = {attrs["data-action"]: text.split()[0] for attrs, text in page.buttons}
    assert labels == {"validate": "校验", "recompute": "重算核对", "finalise": "定稿"}
    sources = [s.get("src") for s in page.scripts if s.get("src")]
    assert sources == ["https://appsforoffice.microsoft.com/lib/1/hosted/office.js",
                       "JIXIAO_CLIENT_PATH/custom-scripts/index.js", "/taskpane.js"]
    assert page.configs == ["JIXIAO_CLIENT_CONFIG"]
    code = (STATIC / "taskpane.js").read_text(encoding="utf-8")
    assert 'xlwings.runPython({ scriptName: action, errorDisplayMode: "taskpane" })' in code
    for action in ("validate", "recompute", "finalise"):  # the ribbon's ExecuteFunction names
        assert f'Office.actions.associate("jixiao-{action}", ribbon("{action}"))' in code
    for callback in ("jixiaoUnprotect", "jixiaoProtect"):  # called by the Python side via runMacro
        assert f"async function {callback}(context, sheetName" in code and f"registerCallback({callback})" in code
    # (what the pane does with these is tested in a browser: tests/test_addin_browser.py)


# --------------------------------------------------------------------------- the desktop .xlam

def test_xlam_is_a_ribbon_addin_package(tmp_path):
    path = build_xlam(tmp_path)
    assert path.name == ADDIN_FILE and ADDIN_FILE.rsplit(".", 1)[0] == ADDIN_MODULE == "jixiao.addin"
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        parts = {n: zf.read(n) for n in zf.namelist()}
    types = ET.fromstring(parts["[Content_Types].xml"])
    main_type = [o.get("ContentType") for o in types if o.get("PartName") == "/xl/workbook.xml"]
    assert main_type == ["application/vnd.ms-excel.addin.macroEnabled.main+xml"]
    rels = ET.fromstring(parts["_rels/.rels"])
    ui = [r for r in rels if r.get("Type").endswith("/ui/extensibility")]
    assert [(r.get("Type"), r.get("Target")) for r in ui] == [
        ("http://schemas.microsoft.com/office/2007/relationships/ui/extensibility", "customUI/customUI14.xml")]
    ribbon = ET.fromstring(parts["customUI/customUI14.xml"])
    ns = "{http://schemas.microsoft.com/office/2009/07/customui}"
    assert ribbon.tag == f"{ns}customUI"
    tab = ribbon.find(f"{ns}ribbon/{ns}tabs/{ns}tab")
    assert tab.get("label") == "绩效自评"
    buttons = list(tab.iter(f"{ns}button"))
    assert [(b.get("label"), b.get("onAction")) for b in buttons] == [("校验并重算核对", RIBBON_MACRO)]
    # the macro the ribbon names is in xlwings' VBA project, with its RunPython module
    vba = parts["xl/vbaProject.bin"]
    assert b"RibbonMyAddin" in vba and b"RunMain" in vba and b"xlwings" in vba
    for name, data in parts.items():
        if name.endswith((".xml", ".rels")):
            ET.fromstring(data)  # every XML part well-formed
    # ... and RunMain's "import <file name without .xlam>; <module>.main()" finds our entry point
    assert callable(importlib.import_module(ADDIN_MODULE).main)


def _config(path: Path) -> dict[str, str]:
    sheet = read_workbook(open_xlsx(path)).sheets["myaddin.conf"]
    return {coord: c.value for coord, c in sheet.cells.items()}


def test_xlam_with_an_interpreter_activates_its_config_sheet(tmp_path):
    path = build_xlam(tmp_path / ADDIN_FILE, interpreter=r"C:\Python311\python.exe")
    book = read_workbook(open_xlsx(path))  # (openpyxl does not open add-ins)
    assert list(book.sheets) == ["myaddin.conf"]
    config = _config(path)
    assert (config["A1"], config["B1"]) == ("Interpreter_Win", r"C:\Python311\python.exe")
    assert (config["A2"], config["B2"]) == ("Interpreter_Mac", r"C:\Python311\python.exe")
    with pytest.raises(Exception, match="jixiao.addin.xlam"):
        build_xlam(tmp_path / "other.xlam")


def test_build_script(tmp_path):
    done = subprocess.run([sys.executable, str(ADDIN / "build_xlam.py"), "-o", str(tmp_path)],
                          capture_output=True, text=True, check=True)
    assert (tmp_path / ADDIN_FILE).exists() and ADDIN_FILE in done.stdout


# --------------------------------------------------------------------------- the command line

@pytest.mark.skipif(sys.platform.startswith(("win", "darwin")), reason="Excel may be present")
def test_install_without_excel_says_what_it_would_do_and_fails():
    result = CliRunner().invoke(main, ["addin", "install"])
    assert result.exit_code == 1
    assert "将生成 Excel 加载项 jixiao.addin.xlam" in result.output and "XLSTART" in result.output
    assert "未找到 Microsoft Excel" in result.output and "jixiao addin serve" in result.output
    removed = CliRunner().invoke(main, ["addin", "remove"])
    assert removed.exit_code == 1 and "未找到 Microsoft Excel" in removed.output


def test_install_and_remove_with_a_target_folder(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["addin", "install", "--target", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / ADDIN_FILE).exists() and "已安装" in result.output
    assert _config(tmp_path / ADDIN_FILE)["B1"] == sys.executable
    result = runner.invoke(main, ["addin", "remove", "--target", str(tmp_path)])
    assert result.exit_code == 0 and not (tmp_path / ADDIN_FILE).exists()
    result = runner.invoke(main, ["addin", "remove", "--target", str(tmp_path)])
    assert result.exit_code == 1 and "未安装" in result.output


def test_serve_needs_a_licence_key(monkeypatch):
    monkeypatch.delenv("XLWINGS_LICENSE_KEY", raising=False)
    result = CliRunner().invoke(main, ["addin", "serve"])
    assert result.exit_code == 1
    assert "XLWINGS_LICENSE_KEY" in result.output and "PolyForm Noncommercial" in result.output


def test_serve_runs_uvicorn(monkeypatch):
    pytest.importorskip("uvicorn", reason=f"pip install {SERVER_PACKAGES}")
    import uvicorn

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    result = CliRunner().invoke(main, ["addin", "serve", "--port", "8123", "--base-url", "https://czj.example:8123"])
    assert result.exit_code == 0, result.output
    assert seen["port"] == 8123 and seen["host"] == "127.0.0.1"
    assert "https://czj.example:8123/manifest.xml" in result.output


def test_readme_states_the_licence_and_the_routes():
    text = (ADDIN / "README.md").read_text(encoding="utf-8")
    for needed in ("PolyForm Noncommercial", "政府机构", "商业许可", "XLWINGS_LICENSE_KEY", "WPS", "审核",
                   "jixiao check", "jixiao addin install", "jixiao addin serve", ADDIN_FILE):
        assert needed in text, needed
