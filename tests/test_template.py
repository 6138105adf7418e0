"""The generated workbook: what Excel 2010 and WPS need, what an accountant sees."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from jixiao.data import load_data
from jixiao.engine import score
from jixiao.expr import ALLOWED_FUNCTIONS
from jixiao.framework.loader import load_framework
from jixiao.samples import sample_path
from jixiao.layout.names import META_SHEET, SCORE_SHEET
from jixiao.workbook.generator import build_workbook

REPO = Path(__file__).resolve().parents[1]
FUNCTION_CALL = re.compile(r"([A-Z][A-Z0-9.]*)\(")
WHOLE_COLUMN = re.compile(r"\$?[A-Z]{1,3}:\$?[A-Z]{1,3}(?![0-9])")
EXCEL_2010_FORMULA_LIMIT = 8192
EXCEL_2010_NESTING_LIMIT = 64


@pytest.fixture(scope="module")
def fw():
    return load_framework()


@pytest.fixture(scope="module")
def template(fw, tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.xlsx"
    build_workbook(fw).save(path)
    return path


@pytest.fixture(scope="module")
def futian(fw, tmp_path_factory):
    path = tmp_path_factory.mktemp("futian") / "futian.xlsx"
    data = load_data(fw, sample_path("futian"))
    build_workbook(fw, data).save(path)
    return path, data


def formulas_of(path: Path) -> dict[str, str]:
    wb = load_workbook(path)
    return {f"{ws.title}!{c.coordinate}": c.value for ws in wb for row in ws.iter_rows() for c in row
            if isinstance(c.value, str) and c.value.startswith("=")}


def _strip_strings(formula: str) -> str:
    return re.sub(r'"(?:[^"]|"")*"', '""', formula)


def _depth(formula: str) -> int:
    depth = best = 0
    for ch in _strip_strings(formula):
        depth += ch == "("
        depth -= ch == ")"
        best = max(best, depth)
    return best


def test_every_formula_uses_only_excel_2010_and_wps_functions(template):
    formulas = formulas_of(template)
    assert len(formulas) > 150
    used: set[str] = set()
    for where, formula in formulas.items():
        body = _strip_strings(formula)
        names = set(FUNCTION_CALL.findall(body))
        assert names <= ALLOWED_FUNCTIONS, f"{where}: {sorted(names - ALLOWED_FUNCTIONS)} in {formula[:120]}"
        assert "_xlfn" not in body and "_xlws" not in body, where
        assert not WHOLE_COLUMN.search(body), f"{where}: whole-column reference in {formula[:120]}"
        assert len(formula) < EXCEL_2010_FORMULA_LIMIT, where
        assert _depth(formula) < EXCEL_2010_NESTING_LIMIT, where
        used |= names
    # the scan is not vacuous: the template really uses the allowed functions it claims to
    assert {"IF", "ROUND", "MIN", "MAX", "TEXT", "ABS", "SUM", "AND", "ISNUMBER"} <= used
    assert not {"IFS", "XLOOKUP", "LET", "LAMBDA", "SWITCH", "TEXTJOIN", "CONCAT"} & used


def test_allowed_set_excludes_functions_excel_2010_lacks():
    assert not {"IFS", "XLOOKUP", "LET", "LAMBDA", "SWITCH", "TEXTJOIN", "CONCAT", "MAXIFS", "FILTER"} & ALLOWED_FUNCTIONS


def test_every_input_has_a_defined_name_equal_to_its_field_id(fw, template):
    wb = load_workbook(template)
    names = wb.defined_names
    inputs = [fid for fid in fw.fields]
    assert len(inputs) == len(fw.fields) > 150
    for fid in inputs:
        assert fid in names, fid
        (sheet, coord), = list(names[fid].destinations)
        cell = wb[sheet][coord.replace("$", "")]
        assert cell.protection.locked is False, f"{fid} at {sheet}!{coord} is locked"
    assert "total" in names and "grade" in names


def test_defined_names_are_valid_excel_names(fw):
    cell_like = re.compile(r"^[A-Za-z]{1,3}[0-9]+$|^[Rr][0-9]*[Cc][0-9]*$")
    for fid in fw.fields:
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", fid), fid
        assert not cell_like.match(fid), fid


def test_every_input_has_data_validation_and_formulas_are_locked(fw, template):
    wb = load_workbook(template)
    validated: dict[str, set[str]] = {}
    for ws in wb:
        for dv in ws.data_validations.dataValidation:
            assert dv.showErrorMessage and dv.error, f"{ws.title}: validation without an error message"
            for rng in dv.sqref.ranges:
                validated.setdefault(ws.title, set()).add(rng.coord)
    for fid, field in fw.fields.items():
        (sheet, coord), = list(wb.defined_names[fid].destinations)
        assert coord.replace("$", "") in validated.get(sheet, set()), f"{fid} ({field.label}) has no validation"
    for ws in wb:
        assert ws.protection.sheet, f"{ws.title} is not protected"
        assert not ws.protection.password, f"{ws.title} has a password"
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("="):
                    assert c.protection.locked, f"{ws.title}!{c.coordinate} formula is unlocked"


def test_validation_lists_offer_the_framework_options(fw, template):
    wb = load_workbook(template)
    lists = {dv.formula1 for ws in wb for dv in ws.data_validations.dataValidation if dv.type == "list"}
    assert '"是,否"' in lists
    disclosure = fw.fields["disclosure_budget"]
    assert '"' + ",".join(disclosure.options) + '"' in lists


def test_print_setup_is_a4_landscape_fit_to_width_with_repeated_headers(template):
    wb = load_workbook(template)
    ws = wb[SCORE_SHEET]
    assert int(ws.page_setup.paperSize) == 9  # A4
    assert ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.print_title_rows == "$3:$5"
    for sheet in wb:
        if sheet.sheet_state == "visible":
            assert int(sheet.page_setup.paperSize) == 9, sheet.title
            assert sheet.print_area, sheet.title
            assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth == 1, sheet.title
            assert "第 &P 页 共 &N 页" in sheet.oddFooter.center.text, sheet.title


def test_metadata_sheet_identifies_template_framework_and_fields(fw, template):
    wb = load_workbook(template)
    ws = wb[META_SHEET]
    assert ws.sheet_state == "hidden"
    meta = {r[0]: r[1] for r in ws.iter_rows(min_row=1, max_row=7, values_only=True)}
    assert meta["template_id"] == "jixiao-self-evaluation"
    assert meta["framework_id"] == fw.id and meta["framework_version"] == fw.version
    assert meta["framework_digest"] == fw.digest and len(fw.digest) == 64
    field_rows = {r[1]: r[2] for r in ws.iter_rows(min_row=9, values_only=True) if r[0] == "input"}
    assert set(field_rows) == set(fw.fields)
    for fid, cell in field_rows.items():
        (sheet, coord), = list(wb.defined_names[fid].destinations)
        assert cell == f"'{sheet}'!{coord}"


def test_every_amount_states_its_unit(fw, template):
    for field in fw.fields.values():
        if field.type == "amount":
            assert field.unit == "万元", field.id
    rows = CalamineWorkbook.from_path(str(template)).get_sheet_by_name("采购与经费").to_python()
    titles = [r[0] for r in rows if isinstance(r[0], str) and "单位：" in r[0]]
    assert titles and all("（单位：万元）" in t for t in titles)


def test_filled_workbook_carries_cached_results_for_readers_that_do_not_recalculate(fw, futian):
    path, data = futian
    card = score(fw, data)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SCORE_SHEET).to_python()
    by_name = {r[4]: r for r in rows if isinstance(r[4], str)}
    for ind in card.indicators:
        assert by_name[ind.name][8] == ind.score, ind.name
        assert by_name[ind.name][9] == ind.explanation, ind.name
    wb = load_workbook(path, data_only=True)
    (sheet, coord), = list(wb.defined_names["total"].destinations)
    assert wb[sheet][coord.replace("$", "")].value == 94.79
    assert wb.calculation.fullCalcOnLoad  # Excel and WPS still recalculate on open


def test_generation_is_deterministic(fw, template, tmp_path):
    again = tmp_path / "again.xlsx"
    build_workbook(fw).save(again)
    assert formulas_of(again) == formulas_of(template)


def test_committed_template_is_current(fw, template):
    committed = REPO / "workbook_templates" / f"{fw.id}.xlsx"
    assert committed.exists(), "run: jixiao template -o workbook_templates/shenzhen-district-2021.xlsx"
    assert formulas_of(committed) == formulas_of(template), "workbook_templates/ is stale: regenerate it"


def test_template_opens_in_a_strict_reader_without_repair(soffice, template, tmp_path):
    """LibreOffice converting the file is the strict OOXML reader available here."""
    profile = tmp_path / "profile"
    result = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(template)],
        capture_output=True, text=True, timeout=180,
    )
    pdf = tmp_path / "template.pdf"
    assert result.returncode == 0, result.stderr
    assert pdf.exists() and pdf.stat().st_size > 10_000, result.stdout + result.stderr
    assert "Error" not in result.stdout
