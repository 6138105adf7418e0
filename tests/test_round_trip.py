"""The same verdict whichever application saved the workbook (issue 8).

Both samples, every boundary group and hypothesis-chosen filled workbooks that `jixiao check`
accepts are saved four ways: by LibreOffice with its default profile (a plain open and save),
by LibreOffice recalculating on load, by openpyxl (cached results dropped) and rewritten
without the optional `r` attributes on <row> and <c>.  Each keeps exit 0, the same status and
identical scores and total.  The LibreOffice conversions run as two batches (one soffice start
each), not one per file.  A formula really overwritten and a forged total in a
LibreOffice-saved workbook are still 错误."""

from __future__ import annotations

import datetime as dt
import random
import re
import time
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from jixiao.checker.check import check_file
from jixiao.checker.result import WARNING, CheckResult
from jixiao.xlsx.reader import NS, _positioned, is_date_format
from jixiao.xlsx.refs import col_number
from jixiao.checks import ERROR as CHECK_ERROR
from jixiao.engine import check_id, evaluate
from jixiao.verify.libreoffice_recalc import recalculate
from jixiao.workbook.generator import build_workbook
from test_agreement import BOUNDARIES, FW, SAMPLE_DATA, random_value, validate_data
from workbook_surgery import Xlsx

#: hypothesis-chosen filled workbooks (besides the samples and the boundary workbooks)
DRAWN = 50

# Fields of the sum cross-checks (表1-x totals, the fixed-asset table) stay as in the sample, so
# that the drawn workbooks are ones `jixiao check` accepts; everything a score depends on varies.
KEEP = {"use_total_initial", "use_total_adjusted", "fa_total_value", "fa_total_in_use"}
GROUPS = {name: [case for case in group.values() if not set(case) & KEEP and None not in case.values()]
          for name, group in BOUNDARIES.items() if name != "sum_checks"}
VARIED = sorted({k for cases in GROUPS.values() for case in cases for k in case})


def filled(rnd: random.Random) -> dict[str, Any]:
    """A sample with every score-driving field drawn (never blank), one boundary case per
    group laid over it with probability 1/3; quarterly cumulative spending non-decreasing."""
    values = dict(SAMPLE_DATA[rnd.choice(["futian", "longgang"])])
    for fid in VARIED:
        value = random_value(FW.fields[fid], rnd)
        if value is not None:
            values[fid] = value
    for cases in GROUPS.values():
        if cases and rnd.random() < 1 / 3:
            values.update(rnd.choice(cases))
    spent = sorted(values[f"q{q}_cumulative"] or 0 for q in range(1, 5))
    values.update({f"q{q}_cumulative": s for q, s in zip(range(1, 5), spent)})
    return validate_data(FW, values)


def accepted_by_engine(inputs: dict[str, Any]) -> bool:
    values = evaluate(FW, inputs)
    return not any(values[check_id(c.id)] == CHECK_ERROR for c in FW.checks)


filled_inputs = st.randoms(use_true_random=False).map(filled).filter(accepted_by_engine)


def drawn_inputs(n: int) -> list[dict[str, Any]]:
    """`n` input sets chosen by hypothesis (reproducibly), collected for one LibreOffice batch."""
    drawn: list[dict[str, Any]] = []

    @settings(max_examples=n, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(inputs=filled_inputs)
    def collect(inputs: dict[str, Any]) -> None:
        drawn.append(inputs)

    collect()
    return drawn


def boundary_inputs() -> dict[str, dict[str, Any]]:
    """The k-th case of every group in one workbook, on the Futian sample; a combination the
    审核 rejects (e.g. more projects completed on time than planned) is left to the agreement
    tests, which score it: a round trip must keep an accepted verdict."""
    out = {}
    for k in range(max(map(len, GROUPS.values()))):
        values = dict(SAMPLE_DATA["futian"])
        for cases in GROUPS.values():
            if k < len(cases):
                values.update(cases[k])
        inputs = validate_data(FW, values)
        if accepted_by_engine(inputs):
            out[f"boundaries-{k:02d}"] = inputs
    return out


# --------------------------------------------------------------------------- rewriting

_ROW = re.compile(r"<row\b[^>]*>")
_CELL = re.compile(r'<c\b[^>]*?\br="([A-Z]+)([0-9]+)"[^>]*>')


def without_r(xml: str) -> str:
    """The sheet as a writer that omits the optional `r` writes it: a row's `r` dropped where
    it follows the previous row, a cell's where it follows the previous cell (kept after a gap,
    as such writers do)."""
    out, last, prev_row = [], 0, 0
    for row in re.finditer(r"(<row\b[^>]*>)(.*?)</row>|<row\b[^>]*/>", xml, re.S):
        out.append(xml[last:row.start()])
        last = row.end()
        head = row.group(1) or row.group(0)
        number = int(re.search(r'\br="([0-9]+)"', head).group(1))
        if number == prev_row + 1:
            head = re.sub(r'\sr="[0-9]+"', "", head, count=1)
        prev_row = number
        if row.group(1) is None:
            out.append(head)
            continue
        body, col, cells = row.group(2), 0, []
        pos = 0
        for cell in _CELL.finditer(body):
            cells.append(body[pos:cell.start()])
            pos = cell.end()
            c = col_number(cell.group(1))
            tag = cell.group(0)
            if c == col + 1:
                tag = re.sub(r'\sr="[A-Z]+[0-9]+"', "", tag, count=1)
            col = c
            cells.append(tag)
        cells.append(body[pos:])
        out.append(head + "".join(cells) + "</row>")
    out.append(xml[last:])
    return "".join(out)


def rewrite_without_r(src: Path, dst: Path) -> Path:
    x = Xlsx.load(src)
    for part in x.sheet_parts().values():
        x.set_text(part, without_r(x.text(part)))
    return x.save(dst)


def resave_openpyxl(src: Path, dst: Path) -> Path:
    wb = openpyxl.load_workbook(src)
    wb.save(dst)
    return dst


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    cases = {f"sample-{name}": data for name, data in SAMPLE_DATA.items()}
    cases |= boundary_inputs()
    drawn = drawn_inputs(DRAWN)
    assert len(drawn) >= DRAWN
    cases |= {f"drawn-{i:02d}": inputs for i, inputs in enumerate(drawn)}
    folder = tmp_path_factory.mktemp("round-trip-original")
    paths = {}
    for case, inputs in cases.items():
        paths[case] = folder / f"{case}.xlsx"
        build_workbook(FW, inputs).save(paths[case])
    return paths


@pytest.fixture(scope="module")
def dated(originals: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Futian workbook with a date typed into an amount cell, saved the way openpyxl (and
    Excel) store a date: its serial number in a date-formatted cell."""
    wb = openpyxl.load_workbook(originals["sample-futian"])
    path = tmp_path_factory.mktemp("round-trip-dated") / "日期.xlsx"
    sheet, coord = _where("procurement_actual")
    wb[sheet][coord] = dt.datetime(2021, 12, 31)
    wb.save(path)
    return path


def _where(fid: str) -> tuple[str, str]:
    place = build_workbook(FW).inputs[fid]
    return place.sheet, place.coord


@pytest.fixture(scope="module")
def saved(originals: dict[str, Path], dated: Path, soffice: str,
          tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """variant → case → file."""
    out: dict[str, dict[str, Path]] = {"original": dict(originals)}
    sources = list(originals.values()) + [dated]
    for variant, recalc in (("libreoffice-default", False), ("libreoffice-recalc", True)):
        started = time.perf_counter()
        converted = recalculate(sources, tmp_path_factory.mktemp(variant), batch_size=len(sources),
                                soffice=soffice, recalc=recalc)
        TIMINGS[variant] = (len(sources), time.perf_counter() - started)
        out[variant] = {case: converted[path] for case, path in originals.items()}
        out[variant]["dated"] = converted[dated]
    for variant, rewrite in (("openpyxl", resave_openpyxl), ("no-r-attributes", rewrite_without_r)):
        folder = tmp_path_factory.mktemp(variant)
        out[variant] = {case: rewrite(path, folder / path.name) for case, path in originals.items()}
    return out


TIMINGS: dict[str, tuple[int, float]] = {}


def test_libreoffice_timing(saved: dict[str, dict[str, Path]], capsys: pytest.CaptureFixture[str]) -> None:
    """A record, not an assertion on speed (printed even without -s)."""
    with capsys.disabled():
        for variant, (n, seconds) in TIMINGS.items():
            print(f"\n[timing] {variant}: {n} workbooks in one soffice call, {seconds:.1f}s")


@pytest.fixture(scope="module")
def baseline(originals: dict[str, Path]) -> dict[str, CheckResult]:
    return {case: check_file(path) for case, path in originals.items()}


def verdict(result: CheckResult) -> tuple:
    return (result.exit_code, result.status,
            [(i.id, i.recomputed_score, i.workbook_score) for i in result.indicators],
            result.recomputed_total, result.workbook_total)


# --------------------------------------------------------------------------- the round trips

def test_originals_are_accepted(baseline: dict[str, CheckResult]) -> None:
    assert len(baseline) >= 2 + DRAWN
    bad = {case: [m.text for m in r.errors] for case, r in baseline.items() if r.exit_code != 0}
    assert not bad
    assert baseline["sample-futian"].workbook_total == 94.79
    assert baseline["sample-longgang"].workbook_total == 96.94


@pytest.mark.parametrize("variant", ["libreoffice-default", "libreoffice-recalc", "openpyxl", "no-r-attributes"])
def test_same_verdict_after_saving(variant: str, saved: dict[str, dict[str, Path]],
                                   baseline: dict[str, CheckResult]) -> None:
    differ = []
    for case, path in saved[variant].items():
        if case == "dated":
            continue
        result = check_file(path)
        if verdict(result) != verdict(baseline[case]):
            differ.append(f"{case}: {verdict(baseline[case])[:2]} → {verdict(result)[:2]}; errors: "
                          + "; ".join(m.text for m in result.errors[:3]))
    assert not differ, f"{len(differ)} of {len(saved[variant]) - 1} workbooks:\n" + "\n".join(differ[:10])


def test_libreoffice_explanation_differences_are_at_most_warnings(saved: dict[str, dict[str, Path]]) -> None:
    """Whatever LibreOffice writes into an explanation text, no 错误 comes of it."""
    for variant in ("libreoffice-default", "libreoffice-recalc"):
        for case, path in saved[variant].items():
            result = check_file(path)
            assert not [m for m in result.messages if m.code == "text_mismatch" and m.level != WARNING]


@pytest.mark.parametrize("variant", ["libreoffice-default", "libreoffice-recalc"])
def test_forged_total_in_a_libreoffice_saved_workbook(variant: str, saved: dict[str, dict[str, Path]],
                                                     tmp_path: Path) -> None:
    place = build_workbook(FW).computed["total"]
    x = Xlsx.load(saved[variant]["sample-futian"])
    part = x.sheet_part(place.sheet)
    cell = x.cell_xml(place.sheet, place.coord)
    forged = re.sub(r"<v>[^<]*</v>", "<v>99.79</v>", cell)
    assert forged != cell
    x.patch(part, cell, forged)
    result = check_file(x.save(tmp_path / "伪造总分.xlsx"))
    assert result.exit_code == 1
    assert [(m.code, m.field) for m in result.errors] == [("result_mismatch", "total")]
    assert "99.79" in result.errors[0].text and "94.79" in result.errors[0].text


@pytest.mark.parametrize("variant", ["libreoffice-default", "libreoffice-recalc"])
def test_formula_overwritten_in_a_libreoffice_saved_workbook(variant: str, saved: dict[str, dict[str, Path]],
                                                            tmp_path: Path) -> None:
    place = build_workbook(FW).computed["score.procurement"]
    x = Xlsx.load(saved[variant]["sample-futian"])
    part = x.sheet_part(place.sheet)
    cell = x.cell_xml(place.sheet, place.coord)
    constant = re.sub(r"<f\b[^>]*>[^<]*</f>", "", cell)
    constant = re.sub(r"<v>[^<]*</v>", "<v>2</v>", constant)
    assert "<f" not in constant
    x.patch(part, cell, constant)
    result = check_file(x.save(tmp_path / "改写公式.xlsx"))
    assert result.exit_code == 1
    overwritten = [m for m in result.errors if m.code == "formula_overwritten"]
    assert [(m.sheet, m.cell) for m in overwritten] == [(place.sheet, place.coord)]


# --------------------------------------------------------------------------- a date in an amount cell

def test_date_in_an_amount_cell_is_an_error(dated: Path, saved: dict[str, dict[str, Path]]) -> None:
    sheet, coord = _where("procurement_actual")
    for path in (dated, saved["libreoffice-default"]["dated"], saved["libreoffice-recalc"]["dated"]):
        result = check_file(path)
        assert result.exit_code == 1, path
        invalid = [m for m in result.errors if m.code == "invalid_value"]
        assert [(m.sheet, m.cell, m.field) for m in invalid] == [(sheet, coord, "procurement_actual")], path
        assert "日期 2021-12-31" in invalid[0].text and f"{sheet}!{coord}" in invalid[0].text
        assert not [m for m in result.messages if m.code == "looks_like_yuan"]


@pytest.mark.parametrize("code, is_date", [
    ("yyyy-mm-dd", True), ('yyyy"年"m"月"d"日"', True), ("[h]:mm", True), ("m/d/yy h:mm", True),
    ("General", False), ("0.00", False), ('#,##0.00"万元"', False), ("[Red]0.00", False),
    ("0.00%", False), ("0.00E+00", False), ('"年"0', False), ("[$-804]0.00", False),
])
def test_date_formats(code: str, is_date: bool) -> None:
    assert is_date_format(code) is is_date


# --------------------------------------------------------------------------- cells without r

def _sheet(xml_rows: str) -> Any:
    from defusedxml import ElementTree

    return ElementTree.fromstring(
        f'<worksheet xmlns="{NS[1:-1]}"><sheetData>{xml_rows}</sheetData></worksheet>')


def test_cells_without_r_are_read_positionally() -> None:
    root = _sheet('<row><c><v>1</v></c><c><v>2</v></c></row>'
                  '<row r="5"><c r="C5"><v>3</v></c><c><v>4</v></c></row>'
                  '<row><c><v>5</v></c></row>')
    cells = {coord: c.find(f"{NS}v").text for coord, c in _positioned(root).items()}
    assert cells == {"A1": "1", "B1": "2", "C5": "3", "D5": "4", "A6": "5"}


def test_without_r_rewrite_keeps_r_after_gaps() -> None:
    xml = ('<row r="1"><c r="A1"><v>1</v></c><c r="C1"><v>2</v></c></row>'
           '<row r="2"><c r="A2"/></row><row r="4"><c r="B4"><v>3</v></c></row>')
    rewritten = without_r(xml)
    assert rewritten == ('<row><c><v>1</v></c><c r="C1"><v>2</v></c></row>'
                         '<row><c/></row><row r="4"><c r="B4"><v>3</v></c></row>')
    assert {k: (c.find(f"{NS}v").text if c.find(f"{NS}v") is not None else None)
            for k, c in _positioned(_sheet(rewritten)).items()} == {"A1": "1", "C1": "2", "A2": None, "B4": "3"}
