"""The checker's sheet scanner against ElementTree: the same cells from workbooks jixiao wrote
and from a LibreOffice re-save (shared strings, its own attribute order), cells without `r`
read by position, the XML forms the scanner leaves to ElementTree giving the same check, and a
shared-string index out of range reported as damage naming the part and the cell."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from jixiao.xlsx import sheet_scan
from jixiao.checker.check import check_file
from jixiao.xlsx.safe import open_xlsx_bytes
from jixiao.xlsx.reader import read_workbook
from jixiao.data import load_data
from jixiao.framework.loader import load_framework
from jixiao.samples import sample_path
from jixiao.verify.libreoffice_recalc import recalculate
from jixiao.workbook.generator import build_workbook
from workbook_surgery import Xlsx


@pytest.fixture(scope="module")
def good() -> Xlsx:
    fw = load_framework()
    buf = io.BytesIO()
    build_workbook(fw, load_data(fw, sample_path("futian"))).save(buf)
    return Xlsx.load(buf.getvalue())


@pytest.fixture(scope="module")
def resaved(good: Xlsx, tmp_path_factory: pytest.TempPathFactory, soffice: str) -> Xlsx:
    """The same workbook as LibreOffice saves it."""
    folder = tmp_path_factory.mktemp("lo")
    src = good.save(folder / "福田.xlsx")
    out = recalculate([src], folder / "out", soffice=soffice)[src]
    x = Xlsx.load(out)
    assert "xl/sharedStrings.xml" in x.members
    return x


@pytest.fixture(scope="module")
def reopened(good: Xlsx) -> Xlsx:
    """The same workbook re-saved by openpyxl: formulas kept, results dropped (`<v />`)."""
    from openpyxl import load_workbook

    buf = io.BytesIO()
    load_workbook(io.BytesIO(good.to_bytes())).save(buf)
    x = Xlsx.load(buf.getvalue())
    assert any(b"<v />" in x.members[p] or b"<v/>" in x.members[p] for p in sheet_parts(x))
    return x


def sheet_parts(x: Xlsx) -> list[str]:
    return sorted(p for p in x.members if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", p))


def check(x: Xlsx, folder: Path, name: str) -> dict:
    path = folder / name
    path.write_bytes(x.to_bytes())
    out = check_file(path).to_json()
    out.pop("file")
    out.pop("sha256", None)
    return out


def both_readers(x: Xlsx, monkeypatch: pytest.MonkeyPatch):
    """(scanner's book, ElementTree's book) of the same file."""
    data = x.to_bytes()
    scanned = read_workbook(open_xlsx_bytes(data, "a.xlsx"))
    with monkeypatch.context() as m:
        m.setattr(sheet_scan, "plain", lambda raw, root=b"worksheet", markup=None: False)
        parsed = read_workbook(open_xlsx_bytes(data, "a.xlsx"))
        parsed_cells = {n: s.cells for n, s in parsed.sheets.items()}
        parsed_named = {k: parsed.cell(*p) for k, p in parsed.defined_names.items()}
        parsed_protected = {n: s.protected for n, s in parsed.sheets.items()}
    return scanned, parsed_cells, parsed_named, parsed_protected


@pytest.mark.parametrize("which", ["jixiao", "libreoffice", "openpyxl"])
def test_scanner_reads_what_element_tree_reads(which: str, good: Xlsx, request: pytest.FixtureRequest,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    x = good if which == "jixiao" else request.getfixturevalue({"libreoffice": "resaved", "openpyxl": "reopened"}[which])
    for part in sheet_parts(x):
        assert sheet_scan.plain(x.members[part]), part
    scanned, cells, named, protected = both_readers(x, monkeypatch)
    # the targeted scan (names only) first, then everything
    assert {k: scanned.cell(*p) for k, p in scanned.defined_names.items()} == named
    assert sum(v is not None for v in named.values()) > 250
    assert {n: s.protected for n, s in scanned.sheets.items()} == protected
    assert {n: s.cells for n, s in scanned.sheets.items()} == cells
    assert sum(len(c) for c in cells.values()) > 2000
    # the raw form too (type, formula, value, inline string, style index), element by element
    from xml.etree import ElementTree

    from jixiao.xlsx.reader import _element_tuple, _positioned

    for part in sheet_parts(x):
        raw = x.members[part]
        tree = {c: _element_tuple(e) for c, e in _positioned(ElementTree.fromstring(raw)).items()}
        assert sheet_scan.scan_all(raw) == tree, part
        wanted = frozenset(list(tree)[::7])
        assert sheet_scan.scan_wanted(raw, wanted) == {c: tree[c] for c in wanted}, part


def _strip_r(xml: str, rows_too: bool) -> tuple[str, int]:
    """Drop r from every cell that directly follows the previous one in its row (the cells Excel
    may write without r), and optionally from every row that follows the previous row."""
    stripped = 0

    def row(m: re.Match[str]) -> str:
        nonlocal stripped
        col = 0
        out = []
        for c in re.finditer(r'<c r="([A-Z]+)(\d+)"', m.group(0)):
            n = sheet_scan.col_number(c.group(1))
            out.append((c.start(), c.end(), n == col + 1))
            col = n
        text = m.group(0)
        for start, end, positional in reversed(out):
            if positional:
                text = text[:start] + "<c" + text[end:]
                stripped += 1
        return text

    xml = re.sub(r"<row [^>]*>.*?</row>", row, xml, flags=re.S)
    if rows_too:
        prev = 0

        def row_r(m: re.Match[str]) -> str:
            nonlocal prev
            n = int(m.group(1))
            keep = n != prev + 1
            prev = n
            return m.group(0) if keep else "<row"

        xml = re.sub(r'<row r="(\d+)"', row_r, xml)
    return xml, stripped


@pytest.mark.parametrize("rows_too", [False, True])
def test_cells_without_r_are_read_by_position(good: Xlsx, tmp_path: Path, rows_too: bool) -> None:
    expected = check(good, tmp_path, "福田.xlsx")
    x = good.copy()
    total = 0
    for part in sheet_parts(x):
        xml, n = _strip_r(x.text(part), rows_too)
        x.set_text(part, xml)
        total += n
    assert total > 1000
    assert check(x, tmp_path, "无r.xlsx") == expected
    assert expected["recomputed_total"] == 94.79 and expected["workbook_total"] == 94.79


@pytest.mark.parametrize("form", ["comment", "cdata-free prefix", "single quotes", "bom", "utf-16"])
def test_other_xml_forms_give_the_same_check(good: Xlsx, tmp_path: Path, form: str) -> None:
    """Forms the scanner leaves to ElementTree (or reads itself, for single quotes): same result."""
    expected = check(good, tmp_path, "福田.xlsx")
    x = good.copy()
    for part in sheet_parts(x):
        xml = x.text(part)
        if form == "comment":
            xml = xml.replace("<sheetData>", "<sheetData><!-- <c r=\"B5\"><v>1</v></c> -->", 1)
        elif form == "cdata-free prefix":
            xml = re.sub(r"<(/?)([A-Za-z]+)(?=[\s/>])", r"<\1x:\2", xml)
            xml = xml.replace('xmlns="', 'xmlns:x="', 1)
        elif form == "single quotes":
            xml = re.sub(r' (r|s|t)="([^"]*)"', r" \1='\2'", xml)
        if form == "bom":
            x.members[part] = b"\xef\xbb\xbf" + xml.encode()
        elif form == "utf-16":
            x.members[part] = ('<?xml version="1.0" encoding="UTF-16"?>' + xml).encode("utf-16")
        else:
            x.set_text(part, xml)
        if form != "single quotes":
            assert not sheet_scan.plain(x.members[part]), (form, part)
    assert check(x, tmp_path, f"{form}.xlsx") == expected


def test_references_and_line_ends_decode_as_xml_says(good: Xlsx, tmp_path: Path) -> None:
    x = good.copy()
    part = "xl/worksheets/sheet2.xml"
    name = "深圳市福田区政务服务中心".encode("ascii", "xmlcharrefreplace").decode()
    name = name if name in x.text(part) else "深圳市福田区政务服务中心"
    x.patch(part, f"<t>{name}</t>", "<t>甲&amp;乙&#x4E2D;&#20013;&lt;&gt;&quot;&apos;\r\n单位</t>")
    data = x.to_bytes()
    book = read_workbook(open_xlsx_bytes(data, "a.xlsx"))
    sheet, coord = book.defined_names["unit_name"]
    assert book.cell(sheet, coord).value == "甲&乙中中<>\"'\n单位"


@pytest.mark.parametrize("index", ["99999", "²", "-1"])  # "²".isdigit(), but int("²") fails
def test_shared_string_index_out_of_range_names_the_part_and_cell(resaved: Xlsx, tmp_path: Path, index: str) -> None:
    x = resaved.copy()
    book = read_workbook(open_xlsx_bytes(x.to_bytes(), "a.xlsx"))
    sheet, coord = book.defined_names["unit_name"]
    part = book.sheets[sheet].part
    x.sub(part, rf'(<c r="{coord}"[^>]*t="s"[^>]*>)<v>\d+</v>', rf"\g<1><v>{index}</v>")
    path = tmp_path / "坏.xlsx"
    path.write_bytes(x.to_bytes())
    result = check_file(path)
    assert result.status == "unreadable"
    (msg,) = [m for m in result.messages if m.level == "错误"]
    assert msg.code == "corrupt_part"
    assert "xl/sharedStrings.xml" in msg.text and coord in msg.text and sheet in msg.text and index in msg.text
    assert part in msg.text


def test_a_damaged_sheet_is_still_refused(good: Xlsx, tmp_path: Path) -> None:
    x = good.copy()
    x.set_text("xl/worksheets/sheet3.xml", x.text("xl/worksheets/sheet3.xml").replace("</sheetData>", "", 1))
    path = tmp_path / "坏.xlsx"
    path.write_bytes(x.to_bytes())
    result = check_file(path)
    assert result.status == "unreadable"
    assert [m.code for m in result.messages if m.level == "错误"] == ["corrupt_xml"]
    assert "xl/worksheets/sheet3.xml" in result.messages[-1].text and "第 " in result.messages[-1].text


_MUTATIONS = [
    lambda x, r: x.replace(' s="', '  s="', 1 + r.randrange(50)),            # more spaces between attributes
    lambda x, r: x.replace('<c r="', '<c\n r="', 1 + r.randrange(50)),        # a line break in a start tag
    lambda x, r: x.replace('"/>', '" />', 1 + r.randrange(50)),              # space before />
    lambda x, r: x.replace("<v>", "<v >", 1 + r.randrange(50)),
    lambda x, r: x.replace("</v>", "</v >", 1 + r.randrange(50)),
    lambda x, r: x.replace("<f>", '<f aca="false">', 1 + r.randrange(20)),   # LibreOffice's attribute
    lambda x, r: re.sub(r'<c r="([A-Z]+\d+)" s="(\d+)"', r'<c s="\2" r="\1"', x, count=1 + r.randrange(50)),
    lambda x, r: x.replace("<v></v>", "<v/>"),
    lambda x, r: re.sub(r"<v>([0-9.]+)</v>", r"<v>\1\r\n</v>", x, count=1 + r.randrange(20)),
    lambda x, r: re.sub(r"<t>([^<]{1,3})", lambda m: "<t>" + "".join(f"&#{ord(ch)};" for ch in m.group(1)), x,
                        count=1 + r.randrange(20)),
    lambda x, r: x.replace("<t>", '<t xml:space="preserve">', 1 + r.randrange(20)),
    lambda x, r: re.sub(r'<c r="[A-Z]+\d+"', "<c", x, count=1 + r.randrange(5)),  # r-less cells
    lambda x, r: x.replace("</c>", "<extLst><ext uri=\"x\"/></extLst></c>", 1 + r.randrange(5)),
    lambda x, r: x.replace('t="inlineStr"', 't="str"', 1 + r.randrange(5)),
    lambda x, r: re.sub(r"<v>\d+</v>", "<v>1e400</v>", x, count=1),
]


@pytest.mark.parametrize("seed", range(60))
def test_mutated_sheets_read_the_same_as_element_tree(good: Xlsx, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random rewrites within what XML allows: wherever expat accepts the result, the scanner
    reads exactly the cells ElementTree reads (or hands the sheet over to it)."""
    import random

    r = random.Random(seed)
    x = good.copy()
    for part in sheet_parts(x)[1:5]:
        xml = x.text(part)
        for mutate in r.sample(_MUTATIONS, 4):
            xml = mutate(xml, r)
        x.set_text(part, xml)
        try:
            sheet_scan.check_well_formed(xml.encode())
        except sheet_scan.Malformed:
            pytest.fail(f"mutation made {part} malformed (seed {seed})")
    scanned, cells, named, protected = both_readers(x, monkeypatch)
    assert {k: scanned.cell(*p) for k, p in scanned.defined_names.items()} == named
    assert {n: s.protected for n, s in scanned.sheets.items()} == protected
    assert {n: s.cells for n, s in scanned.sheets.items()} == cells


@pytest.mark.parametrize("part_of", ["sheet", "shared strings"])
def test_an_unknown_encoding_is_a_damaged_part(good: Xlsx, resaved: Xlsx, tmp_path: Path, part_of: str) -> None:
    """Not an internal error: the part is named, as for any XML that does not parse."""
    x = (good if part_of == "sheet" else resaved).copy()
    part = "xl/worksheets/sheet3.xml" if part_of == "sheet" else "xl/sharedStrings.xml"
    text = x.members[part]
    x.members[part] = (b'<?xml version="1.0" encoding="TF-8"?>' + text.split(b"?>", 1)[1]) if text.startswith(b"<?xml") \
        else b'<?xml version="1.0" encoding="TF-8"?>' + text
    path = tmp_path / "坏编码.xlsx"
    path.write_bytes(x.to_bytes())
    result = check_file(path)
    assert result.status == "unreadable"
    assert [m.code for m in result.messages if m.level == "错误"] == ["corrupt_xml"]
    assert part in result.messages[-1].text


def test_the_metadata_head_is_each_files_own(good: Xlsx, resaved: Xlsx) -> None:
    """The head is remembered by its bytes: another file's head, or one whose text lives in
    the file's own shared strings, is read from that file."""
    from jixiao.layout import meta_sheet

    part = "xl/worksheets/sheet11.xml"
    first = meta_sheet.read_head(read_workbook(open_xlsx_bytes(good.to_bytes(), "a.xlsx")))
    other = good.copy()
    other.members[part] = other.members[part].replace(b"2021.1", b"2021.9", 1)
    again = meta_sheet.read_head(read_workbook(open_xlsx_bytes(other.to_bytes(), "b.xlsx")))
    assert first["framework_version"] == "2021.1" and again["framework_version"] == "2021.9"
    assert {k: v for k, v in again.items() if k != "framework_version"} == \
        {k: v for k, v in first.items() if k != "framework_version"}
    for _ in range(2):  # the LibreOffice copy keeps its head text in xl/sharedStrings.xml
        lo = resaved.copy()
        sst = lo.members["xl/sharedStrings.xml"]
        lo.members["xl/sharedStrings.xml"] = sst.replace(b"2021.1<", b"2021.7<", 1)
        assert b"2021.7<" in lo.members["xl/sharedStrings.xml"]
        assert meta_sheet.read_head(read_workbook(open_xlsx_bytes(lo.to_bytes(), "c.xlsx")))["framework_version"] == "2021.7"
