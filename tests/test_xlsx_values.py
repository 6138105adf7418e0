"""`jixiao.xlsx.values`: the one cell-value model.  Each type is decoded from the XML that
openpyxl writes and from the XML LibreOffice writes when it re-saves the same workbook, and
each value `encode` writes as a cached result decodes back to itself."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from jixiao.verify.libreoffice_recalc import recalculate
from jixiao.xlsx import sheet_scan
from jixiao.xlsx.cached_values import save_with_cached_values
from jixiao.xlsx.errors import ALL, STORABLE, is_error
from jixiao.xlsx.reader import read_workbook
from jixiao.xlsx.safe import open_xlsx
from jixiao.xlsx.values import SHARED, RawCell, decode, encode, from_live, number_text, xml_text

EPOCH = dt.datetime(1899, 12, 30)
SHEET = "值 & 'types' 表"  # a sheet name that needs quoting and escaping (no ' at its ends: LibreOffice renames those)

# coordinate → (what is put into the cell, the value read back, its t in the file)
INPUTS = {
    "A1": (1.5, 1.5, "n"),
    "A2": (-42, -42.0, "n"),
    "A3": (1234567.891, 1234567.891, "n"),
    "A4": ("中文 <b> & “引号”", "中文 <b> & “引号”", "text"),
    "A5": (True, True, "b"),
    "A6": (False, False, "b"),
    "A7": ("#N/A", "#N/A", "e"),
    "A8": (dt.date(2021, 12, 31), 44561.0, "n"),
    "A9": ("line one\nline two", "line one\nline two", "text"),
}
# formula cells with their cached results (written by save_with_cached_values)
FORMULAS = {
    "B1": ("=A1*2", 3.0, "n"),
    "B2": ('="得分："&A1', "得分：1.5", "str"),
    "B3": ("=A1>1", True, "b"),
    "B4": ("=1/0", "#DIV/0!", "e"),
    "B5": ("=ROUND(A3,1)", 1234567.9, "n"),
}


LIBREOFFICE_FORMULAS = {"A5": "TRUE()", "A6": "FALSE()", "A7": "#N/A"}


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    for c, (value, _, _) in INPUTS.items():
        ws[c] = value
    ws["A8"].number_format = "yyyy年m月d日"
    for c, (formula, _, _) in FORMULAS.items():
        ws[c] = formula
    path = tmp_path_factory.mktemp("values") / "openpyxl 写的.xlsx"
    save_with_cached_values(wb, path, {SHEET: {c: v for c, (_, v, _) in FORMULAS.items()}})
    return path


@pytest.fixture(scope="module")
def resaved(written: Path, soffice: str, tmp_path_factory) -> Path:
    """The same workbook opened and saved by LibreOffice (its own XML: shared strings, its
    attribute order, its number texts), recalculating on load."""
    return recalculate([written], tmp_path_factory.mktemp("lo"), soffice=soffice)[written]


def _cells(path: Path) -> dict[str, RawCell]:
    return read_workbook(open_xlsx(path)).sheets[SHEET].cells


@pytest.mark.parametrize("writer", ["openpyxl", "LibreOffice"])
def test_each_type_decodes(writer: str, written: Path, request) -> None:
    path = written if writer == "openpyxl" else request.getfixturevalue("resaved")
    cells = _cells(path)
    # openpyxl writes text inline, LibreOffice as shared strings; LibreOffice stores a boolean or
    # an error value typed into a cell as a formula giving it
    text = "inlineStr" if writer == "openpyxl" else "s"
    for c, (_, value, t) in INPUTS.items():
        got = cells[c]
        assert got.value == value and type(got.value) is type(value), (writer, c, got)
        assert got.formula == (LIBREOFFICE_FORMULAS.get(c) if writer == "LibreOffice" else None), (writer, c, got)
        assert got.type == (text if t == "text" else t), (writer, c, got)
        assert got.date is (c == "A8"), (writer, c, got)
    for c, (formula, value, t) in FORMULAS.items():
        got = cells[c]
        assert got.value == value and type(got.value) is type(value), (writer, c, got)
        assert got.formula is not None and got.formula.lstrip("=").replace(" ", "") == formula.lstrip("="), (writer, c, got)
        assert got.type == t, (writer, c, got)


def test_the_two_writers_write_differently(written: Path, resaved: Path) -> None:
    """Not a tautology: LibreOffice's sheet XML is not openpyxl's (so the decoding above was
    tried on two encodings of each value)."""
    a, b = (open_xlsx(p) for p in (written, resaved))
    sheet = "xl/worksheets/sheet1.xml"
    assert a.read_xml(sheet) != b.read_xml(sheet)
    assert b't="inlineStr"' in a.read_xml(sheet) and b't="s"' in b.read_xml(sheet)


# --------------------------------------------------------------------------- encode → decode

def _through_xml(value: object) -> RawCell | None:
    """Encode a cached result, write it into a formula cell as Excel stores one, read it back."""
    item = encode(value, EPOCH)
    assert item is not None
    t, v = item
    t_attr = b' t="%s"' % t if t else b""
    xml = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
           b'<row r="1"><c r="A1"%s><f>X()</f><v>%s</v></c></row></sheetData></worksheet>' % (t_attr, v))
    sheet_scan.check_well_formed(xml)
    assert sheet_scan.plain(xml)
    raw = sheet_scan.scan_wanted(xml, frozenset({"A1"}))["A1"]
    assert raw == sheet_scan.scan_all(xml)["A1"]  # the targeted and the full scan agree
    return decode(raw, None)  # (no shared strings: a t="s" cell would be refused)


@pytest.mark.parametrize("value, back, t", [
    (0.1 + 0.2, 0.1 + 0.2, "n"),         # the shortest text that reads back as the same double
    (-0.0, 0.0, "n"),
    (1e300, 1e300, "n"),
    (5e-324, 5e-324, "n"),
    (12, 12.0, "n"),
    (10**20, 1e20, "n"),
    (True, True, "b"),
    (False, False, "b"),
    ("text & <markup> “中文”", "text & <markup> “中文”", "str"),
    ("", None, "str"),                    # an empty text result reads as empty, as ElementTree reads <v></v>
    ("CR\r\nLF", "CR\r\nLF", "str"),      # a CR survives as &#13;
    ("_x0041_", "_x005F_x0041_", "str"),  # Excel's escape of a literal _xHHHH_ (decoded by Excel, kept here)
    (float("nan"), "#NUM!", "e"),
    (float("inf"), "#NUM!", "e"),
    (dt.date(2021, 12, 31), 44561.0, "n"),
    (dt.datetime(2021, 12, 31, 12), 44561.5, "n"),
    *[(code, code, "e") for code in sorted(STORABLE)],
])
def test_encode_decode_round_trip(value: object, back: object, t: str) -> None:
    cell = _through_xml(value)
    assert cell is not None and cell.type == t and cell.formula == "X()"
    assert cell.value == back and type(cell.value) is type(back)


def test_encode_edges() -> None:
    assert encode(None, EPOCH) is None
    assert number_text(float("nan")) is None and number_text(-0.0) == b"0" and number_text(3.0) == b"3"
    assert xml_text("a\x01b") == b"a_x0001_b"  # not allowed in XML 1.0: Excel's escape
    assert encode("#SPILL!", EPOCH) == (b"str", b"#SPILL!")  # cannot be stored as t="e"
    with pytest.raises(TypeError, match="unsupported cached value type"):
        encode(object(), EPOCH)


def test_decode_shapes() -> None:
    """The decoder on each raw shape, as the scanner hands it over."""
    looked_up: list[str] = []

    def shared(i: str) -> str:
        looked_up.append(i)
        return "共享"

    assert decode(("s", None, "3", None, None), shared) == RawCell("共享", None, "s") and looked_up == ["3"]
    assert decode(("inlineStr", None, None, "内联", None), shared) == RawCell("内联", None, "inlineStr")
    assert decode(("n", None, "44561", None, "7"), shared, frozenset({"7"})) == RawCell(44561.0, None, "n", True)
    assert decode(("n", None, "44561", None, "8"), shared, frozenset({"7"})).date is False
    assert decode(("d", None, "2021-12-31T00:00:00", None, None), shared).value == "2021-12-31T00:00:00"
    assert decode(("n", None, None, None, None), shared) is None  # neither value nor formula
    assert decode(("n", ("", "shared"), None, None, None), shared) == RawCell(None, SHARED, "n")
    assert decode(("str", ("A1", None), "", None, None), shared) == RawCell("", "A1", "str")  # "" result kept
    assert decode(("n", None, "not a number", None, None), shared).value == "not a number"
    with pytest.raises(ValueError, match="without the shared strings"):
        decode(("s", None, "0", None, None), None)


def test_from_live_matches_the_file_reader() -> None:
    assert from_live(5) == 5.0 and isinstance(from_live(5), float)
    assert from_live(dt.datetime(2021, 12, 31)) == 44561.0 == from_live("2021-12-31T00:00:00.000Z")
    assert from_live("") is None and from_live(True) is True


def test_error_codes() -> None:
    assert STORABLE < ALL and {"#SPILL!", "#CALC!"} <= ALL - STORABLE
    assert is_error("#DIV/0!") and not is_error("#div/0!") and not is_error(0)
