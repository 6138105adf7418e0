"""Tests for jixiao.xlsx.cached_values.save_with_cached_values."""

from __future__ import annotations

import io
import math
import os
import re
import shutil
import subprocess
import uuid
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import Font
from python_calamine import CalamineWorkbook

from jixiao.xlsx.cached_values import (
    _rewrite_sheet_xml,
    _sheet_parts,
    save_with_cached_values,
)

SPECIAL = 'A&B <c> "引号" 中文评分 & 完成'
CN_SHEET = "评分表"
EN_SHEET = "Data & 'Notes'"


def _build() -> tuple[openpyxl.Workbook, dict[str, dict[str, object]]]:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = EN_SHEET
    ws["A1"] = 1.5
    ws["A2"] = 2
    ws["A3"] = "plain <text> & more"
    ws["B1"] = "=SUM(A1:A2)"
    ws["B2"] = "=A2*10"
    ws["B3"] = "=A1/0"
    ws["B4"] = "=A1>1"
    ws["B5"] = "=A1+A2"  # deliberately not listed in values

    cn = wb.create_sheet(CN_SHEET)
    cn["A1"] = "指标"
    cn["B1"] = f"=IF('{EN_SHEET}'!A1>1,\"A&B <c>\",\"x\")"
    cn["B1"].font = Font(bold=True)  # styled formula cell: <c r=.. s="1">
    cn["B2"] = "=NA()"
    cn["B3"] = "=NOT(TRUE)"
    cn["B4"] = "=1/3"
    cn["B5"] = "=SQRT(-1)"
    cn["B6"] = '=""'
    cn["C1"] = True

    values: dict[str, dict[str, object]] = {
        EN_SHEET: {"B1": 3.5, "B2": 20, "B3": "#DIV/0!", "B4": True},
        CN_SHEET: {
            "$B$1": SPECIAL,
            "B2": "#N/A",
            "b3": False,
            "B4": 1 / 3,
            "B5": float("nan"),
            "B6": "",
        },
    }
    return wb, values


def _save(wb: openpyxl.Workbook, values: dict) -> bytes:
    buffer = io.BytesIO()
    save_with_cached_values(wb, buffer, values)
    return buffer.getvalue()


@pytest.fixture()
def saved() -> bytes:
    wb, values = _build()
    return _save(wb, values)


def _part(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read(name)


def _sheet_xml(data: bytes, title: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    return parts[_sheet_parts(parts, "xl/workbook.xml")[title]]


# (1) -------------------------------------------------------------------------
def test_openpyxl_data_only_reads_cached_values(saved: bytes) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(saved), data_only=True)
    en, cn = wb[EN_SHEET], wb[CN_SHEET]
    assert en["B1"].value == 3.5
    assert en["B2"].value == 20 and isinstance(en["B2"].value, int)
    assert (en["B3"].value, en["B3"].data_type) == ("#DIV/0!", "e")
    assert en["B4"].value is True
    assert cn["B1"].value == SPECIAL
    assert (cn["B2"].value, cn["B2"].data_type) == ("#N/A", "e")
    assert cn["B3"].value is False
    assert cn["B4"].value == 1 / 3
    assert (cn["B5"].value, cn["B5"].data_type) == ("#NUM!", "e")  # nan -> #NUM!
    # non-formula cells unchanged
    assert en["A1"].value == 1.5 and en["A3"].value == "plain <text> & more"
    assert cn["A1"].value == "指标" and cn["C1"].value is True


# (2) -------------------------------------------------------------------------
def test_calamine_reads_cached_values(saved: bytes) -> None:
    book = CalamineWorkbook.from_filelike(io.BytesIO(saved))
    assert book.sheet_names == [EN_SHEET, CN_SHEET]
    en = book.get_sheet_by_name(EN_SHEET).to_python()
    cn = book.get_sheet_by_name(CN_SHEET).to_python()
    assert en[0][1] == 3.5
    assert en[1][1] == 20
    assert en[3][1] is True
    assert cn[0][1] == SPECIAL
    assert cn[2][1] is False
    assert cn[3][1] == pytest.approx(1 / 3, abs=0)
    # python-calamine (0.9) maps error cells to "" - only check it does not fail
    assert en[2][1] in ("", "#DIV/0!")


# (3) -------------------------------------------------------------------------
def test_formulas_are_kept(saved: bytes) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(saved))
    en, cn = wb[EN_SHEET], wb[CN_SHEET]
    assert en["B1"].value == "=SUM(A1:A2)"
    assert en["B3"].value == "=A1/0"
    assert en["B5"].value == "=A1+A2"
    assert cn["B1"].value == f"=IF('{EN_SHEET}'!A1>1,\"A&B <c>\",\"x\")"
    assert cn["B1"].font.bold
    assert cn["B6"].value == '=""'


# (4) -------------------------------------------------------------------------
def test_full_calc_on_load_is_set(saved: bytes) -> None:
    xml = _part(saved, "xl/workbook.xml")
    assert re.search(rb'<calcPr\b[^>]*\bfullCalcOnLoad="1"', xml)


def test_full_calc_on_load_forced_and_workbook_not_mutated() -> None:
    wb, values = _build()
    wb.calculation.fullCalcOnLoad = None  # e.g. a loaded template without it
    data = _save(wb, values)
    assert re.search(rb'<calcPr\b[^>]*\bfullCalcOnLoad="1"', _part(data, "xl/workbook.xml"))
    assert wb.calculation.fullCalcOnLoad is None


# (5) -------------------------------------------------------------------------
def test_special_characters_and_chinese_round_trip(saved: bytes) -> None:
    xml = _sheet_xml(saved, CN_SHEET)
    assert "A&amp;B &lt;c&gt; \"引号\" 中文评分 &amp; 完成".encode() in xml
    assert openpyxl.load_workbook(io.BytesIO(saved), data_only=True)[CN_SHEET]["B1"].value == SPECIAL
    book = CalamineWorkbook.from_filelike(io.BytesIO(saved))
    assert book.get_sheet_by_name(CN_SHEET).to_python()[0][1] == SPECIAL


def test_control_characters_are_preserved() -> None:
    wb = openpyxl.Workbook()
    wb.active["A1"] = '="x"'
    text = "line1\r\nline2\tend"
    data = _save(wb, {"Sheet": {"A1": text}})
    assert openpyxl.load_workbook(io.BytesIO(data), data_only=True)["Sheet"]["A1"].value == text


# (6) -------------------------------------------------------------------------
def test_unlisted_formula_cell_has_no_cached_value(saved: bytes) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(saved), data_only=True)
    assert wb[EN_SHEET]["B5"].value is None
    xml = _sheet_xml(saved, EN_SHEET)
    cell = re.search(rb'<c r="B5"[^>]*>.*?</c>', xml).group(0)
    assert re.fullmatch(rb'<c r="B5"><f>A1\+A2</f>(<v ?/>|<v></v>)?</c>', cell), cell


# value encoding / XML shape ---------------------------------------------------
def test_xml_shape_of_cached_cells(saved: bytes) -> None:
    en = _sheet_xml(saved, EN_SHEET)
    assert b'<c r="B1"><f>SUM(A1:A2)</f><v>3.5</v></c>' in en
    assert b'<c r="B2"><f>A2*10</f><v>20</v></c>' in en
    assert b'<c r="B3" t="e"><f>A1/0</f><v>#DIV/0!</v></c>' in en
    assert b'<c r="B4" t="b"><f>A1&gt;1</f><v>1</v></c>' in en
    cn = _sheet_xml(saved, CN_SHEET)
    assert re.search(rb'<c r="B1" s="\d+" t="str"><f>', cn)
    assert b'<c r="B4"><f>1/3</f><v>0.3333333333333333</v></c>' in cn
    assert b'<c r="B5" t="e"><f>SQRT(-1)</f><v>#NUM!</v></c>' in cn
    assert b'<c r="B6" t="str"><f>""</f><v></v></c>' in cn


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2.0, b"<v>2</v>"),
        (-0.0, b"<v>0</v>"),
        (7, b"<v>7</v>"),
        (0.1 + 0.2, b"<v>0.30000000000000004</v>"),
        (1e-7, b"<v>1e-07</v>"),
        (1e20, b"<v>1e+20</v>"),
        (math.inf, b't="e"><f>X</f><v>#NUM!</v>'),
        ("#VALUE!", b't="e"><f>X</f><v>#VALUE!</v>'),
        ("#SPILL!", b't="str"><f>X</f><v>#SPILL!</v>'),  # not storable as t="e"
        (True, b't="b"><f>X</f><v>1</v>'),
    ],
)
def test_value_encoding(value: object, expected: bytes) -> None:
    from jixiao.xlsx.cached_values import _encode
    from openpyxl.utils.datetime import CALENDAR_WINDOWS_1900

    xml = b'<sheetData><row r="1"><c r="A1"><f>X</f><v /></c></row></sheetData>'
    new, done = _rewrite_sheet_xml(xml, {b"A1": _encode(value, CALENDAR_WINDOWS_1900)})
    assert done == {b"A1"}
    assert expected in new


def test_lxml_writer_shape_is_handled() -> None:
    """openpyxl with lxml installed writes <v></v> and no spaces before '/>'."""
    xml = (
        b'<sheetData><row r="1"><c r="A1" t="n"><v>1</v></c>'
        b'<c r="C1"><f t="array" ref="C1:C2">A1:A2*2</f><v></v></c>'
        b'<c r="D1" s="1"><f>1</f><v></v></c><c r="E1" s="1" t="n"></c>'
        b'<c r="F1" t="inlineStr"><is><t>&lt;f&gt;</t></is></c><c r="G1"/>'
        b'<c r="H1"><f t="dataTable" ref="H1:H2" dt2D="0" dtr="0" r1="A1"/><v></v></c>'
        b"</row></sheetData>"
    )
    encoded = {b"A1": (None, b"9"), b"C1": (None, b"2"), b"D1": (b"str", b"x"),
               b"F1": (None, b"9"), b"G1": (None, b"9"), b"H1": (None, b"5")}
    new, done = _rewrite_sheet_xml(xml, encoded)
    assert done == {b"C1", b"D1", b"H1"}
    assert new == (
        b'<sheetData><row r="1"><c r="A1" t="n"><v>1</v></c>'
        b'<c r="C1"><f t="array" ref="C1:C2">A1:A2*2</f><v>2</v></c>'
        b'<c r="D1" s="1" t="str"><f>1</f><v>x</v></c><c r="E1" s="1" t="n"></c>'
        b'<c r="F1" t="inlineStr"><is><t>&lt;f&gt;</t></is></c><c r="G1"/>'
        b'<c r="H1"><f t="dataTable" ref="H1:H2" dt2D="0" dtr="0" r1="A1"/><v>5</v></c>'
        b"</row></sheetData>"
    )


def test_sheet_mapping_uses_relationships_not_part_order() -> None:
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rns = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
    parts = {
        "xl/workbook.xml": (
            f'<workbook {ns} {rns}><sheets><sheet name="评分表" sheetId="1" r:id="rId7"/>'
            f'<sheet name="A&amp;B" sheetId="2" r:id="rId3"/></sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId3" Type="{rel}" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId7" Type="{rel}" Target="/xl/worksheets/sheet2.xml"/>'
            "</Relationships>"
        ).encode(),
    }
    assert _sheet_parts(parts, "xl/workbook.xml") == {
        "评分表": "xl/worksheets/sheet2.xml",
        "A&B": "xl/worksheets/sheet1.xml",
    }


# package fidelity -------------------------------------------------------------
def test_zip_members_and_untouched_content() -> None:
    wb, values = _build()
    plain = io.BytesIO()
    wb.save(plain)
    data = _save(wb, values)
    with zipfile.ZipFile(plain) as a, zipfile.ZipFile(io.BytesIO(data)) as b:
        assert a.namelist() == b.namelist()
        for ia, ib in zip(a.infolist(), b.infolist()):
            assert ia.compress_type == ib.compress_type
            assert ia.external_attr == ib.external_attr
            if ia.filename == "docProps/core.xml":  # carries the save timestamp
                continue
            xa, xb = a.read(ia), b.read(ib)
            if ia.filename.startswith("xl/worksheets/"):
                strip = re.compile(rb'<c r="[A-Z]+\d+"[^>]*><f.*?</c>')
                assert strip.sub(b"F", xa) == strip.sub(b"F", xb)
            else:
                assert xa == xb, ia.filename


def test_save_to_path(tmp_path: Path) -> None:
    wb, values = _build()
    target = tmp_path / "out.xlsx"
    save_with_cached_values(wb, target, values)
    assert openpyxl.load_workbook(target, data_only=True)[EN_SHEET]["B1"].value == 3.5


def test_errors() -> None:
    wb, values = _build()
    with pytest.raises(KeyError):
        save_with_cached_values(wb, io.BytesIO(), {"no such sheet": {"A1": 1}})
    # non-formula coordinates are ignored by default, rejected when strict
    save_with_cached_values(wb, io.BytesIO(), {EN_SHEET: {"A1": 5, "Z99": 1}})
    with pytest.raises(ValueError, match="A1"):
        save_with_cached_values(wb, io.BytesIO(), {EN_SHEET: {"A1": 5}}, strict=True)
    with pytest.raises(TypeError):
        save_with_cached_values(wb, io.BytesIO(), {EN_SHEET: {"B1": [1, 2]}})


# (7) -------------------------------------------------------------------------
def test_libreoffice_converts_file(tmp_path: Path) -> None:
    soffice = shutil.which("soffice") or ("/usr/bin/soffice" if os.path.exists("/usr/bin/soffice") else None)
    if soffice is None:
        if os.environ.get("CI"):
            pytest.fail("soffice (LibreOffice) is required when CI is set")
        pytest.skip("soffice (LibreOffice) not installed")
    wb, values = _build()
    source = tmp_path / "cached.xlsx"
    save_with_cached_values(wb, source, values)
    profile = Path(f"/tmp/lo-profile-{uuid.uuid4().hex}")
    try:
        result = subprocess.run(
            [soffice, f"-env:UserInstallation=file://{profile}", "--headless",
             "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
            capture_output=True, text=True, timeout=180,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert result.returncode == 0, result.stderr
    pdf = tmp_path / "cached.pdf"
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF"), (result.stdout, result.stderr)


def test_ooxml_escapes_for_readers_that_decode_them() -> None:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "=1"
    wb.active["A2"] = "=1"
    data = _save(wb, {"Sheet": {"A1": "a_x0041_b", "A2": "c\x01d"}})
    xml = _sheet_xml(data, "Sheet")
    assert b"<v>a_x005F_x0041_b</v>" in xml and b"<v>c_x0001_d</v>" in xml
    rows = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    assert rows == [["a_x0041_b"], ["c\x01d"]]
