"""Refusing a DTD from each part's prolog only (`jixiao.xlsx.prolog`, `SafeXlsx.refuse_dtd`):
a DTD is still found wherever XML allows one -- after a long comment, after processing
instructions, in UTF-16 -- in parts the checker never reads itself, while "<!DOCTYPE" as text
(a cell value, a comment, CDATA) is not a DTD and is not refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from jixiao.checker.check import check_file
from jixiao.data import load_data
from jixiao.framework.loader import load_framework
from jixiao.samples import sample_path
from jixiao.workbook.generator import build_workbook
from jixiao.xlsx import prolog
from jixiao.xlsx.reader import read_workbook
from jixiao.xlsx.safe import UnreadableWorkbook, open_xlsx_bytes
from workbook_surgery import Xlsx

ROOT = b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"/>'
DECL = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
DOCTYPE = b'<!DOCTYPE cp:coreProperties [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
LONG_COMMENT = b"<!-- " + "这是很长的注释 <c> - <!DOCTYPE 不算 > ".encode() * 4000 + b" -->\n"  # ~200 KB
PI = b'<?mso-application progid="Excel.Sheet"?>\n<?other data with <!DOCTYPE inside ?>\n'


@pytest.mark.parametrize("head, verdict", [
    (DECL + ROOT, prolog.ROOT),
    (ROOT, prolog.ROOT),
    (DECL + DOCTYPE + ROOT, prolog.DTD),
    (DOCTYPE + ROOT, prolog.DTD),
    (DECL + LONG_COMMENT + DOCTYPE + ROOT, prolog.DTD),
    (DECL + LONG_COMMENT + ROOT, prolog.ROOT),            # "<!DOCTYPE" in a comment is not a DTD
    (DECL + PI + DOCTYPE + ROOT, prolog.DTD),
    (DECL + PI + ROOT, prolog.ROOT),
    (b"\xef\xbb\xbf" + DECL + DOCTYPE + ROOT, prolog.DTD),  # a UTF-8 byte order mark
    (b'<?xml version="1.0" encoding="UTF-7"?>' + ROOT, prolog.UNSURE),  # the caller searches it whole
    (b"\x00\x00\x00<", prolog.UNSURE),                       # UTF-32
    (b"garbage" + DOCTYPE, prolog.UNSURE),
], ids=lambda v: v if isinstance(v, str) else repr(v[:30]) + f"..{len(v)}")
def test_scan(head: bytes, verdict: str) -> None:
    assert prolog.scan(head, True) == verdict


@pytest.mark.parametrize("codec, bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-16-le", b"")])
def test_scan_utf16(codec: str, bom: bytes) -> None:
    text = (b'<?xml version="1.0" encoding="UTF-16"?>' + PI + DOCTYPE + ROOT).decode()
    assert prolog.scan(bom + text.encode(codec), True) == prolog.DTD
    assert prolog.scan(bom + (PI + ROOT).decode().encode(codec), True) == prolog.ROOT


def test_a_prefix_asks_for_more() -> None:
    whole = DECL + LONG_COMMENT + DOCTYPE + ROOT
    assert prolog.scan(whole[:5000], False) == prolog.MORE  # still inside the comment
    assert prolog.scan(whole[:len(DECL) + len(LONG_COMMENT) + 4], False) == prolog.MORE  # "<!DO": undecided
    assert prolog.scan(whole[:len(DECL) + len(LONG_COMMENT) + 9], False) == prolog.DTD


# --------------------------------------------------------------------------- on whole workbooks

@pytest.fixture(scope="module")
def futian() -> bytes:
    fw = load_framework()
    buf = io.BytesIO()
    build_workbook(fw, load_data(fw, sample_path("futian"))).save(buf)
    return buf.getvalue()


def _with_part(data: bytes, part: str, xml: bytes) -> bytes:
    book = Xlsx.load(data)
    book.members[part] = xml
    return book.to_bytes()


@pytest.mark.parametrize("part", ["docProps/core.xml", "xl/styles.xml", "xl/theme/theme1.xml", "[Content_Types].xml"])
@pytest.mark.parametrize("before", [b"", LONG_COMMENT, PI, LONG_COMMENT + PI + LONG_COMMENT],
                         ids=["bare", "long_comment", "processing_instructions", "comment_pi_comment"])
def test_dtd_after_a_long_prolog_is_refused(futian: bytes, part: str, before: bytes, tmp_path: Path) -> None:
    original = Xlsx.load(futian).members[part]
    body = original.split(b"?>", 1)[1] if original.startswith(b"<?xml") else original
    hostile = _with_part(futian, part, DECL + before + DOCTYPE + body.lstrip())
    path = tmp_path / "实体.xlsx"
    path.write_bytes(hostile)
    result = check_file(path)
    assert [m.code for m in result.messages] == ["xml_bomb"], result.messages
    assert part in result.messages[0].text and "XML 炸弹" in result.messages[0].text


def test_dtd_in_utf16_part_is_refused(futian: bytes) -> None:
    xml = ('<?xml version="1.0" encoding="UTF-16"?>' + LONG_COMMENT.decode() + DOCTYPE.decode() + ROOT.decode())
    xlsx = open_xlsx_bytes(_with_part(futian, "docProps/core.xml", b"\xff\xfe" + xml.encode("utf-16-le")), "u16.xlsx")
    with pytest.raises(UnreadableWorkbook) as caught:
        xlsx.refuse_dtd()
    assert caught.value.kind == "xml_bomb"


def test_dtd_in_unscannable_encoding_is_still_refused(futian: bytes) -> None:
    """A prolog the scan does not read (UTF-7 declared) falls back to searching the whole part."""
    xml = b'<?xml version="1.0" encoding="UTF-7"?>' + DOCTYPE + ROOT
    xlsx = open_xlsx_bytes(_with_part(futian, "docProps/app.xml", xml), "u7.xlsx")
    with pytest.raises(UnreadableWorkbook) as caught:
        xlsx.refuse_dtd()
    assert caught.value.kind == "xml_bomb"


def test_doctype_as_cell_text_is_not_refused(tmp_path: Path) -> None:
    """"<!DOCTYPE" typed into cells -- written by openpyxl (escaped text), put into a shared
    string as CDATA, inside a comment after the root -- is text, not a DTD."""
    wb = openpyxl.Workbook()
    wb.active["A1"] = "<!DOCTYPE html><html>粘贴的网页</html>"
    wb.active["A2"] = "<!ENTITY x 'y'>"
    buf = io.BytesIO()
    wb.save(buf)
    book = Xlsx.load(buf.getvalue())
    sheet = "xl/worksheets/sheet1.xml"
    book.members[sheet] = book.members[sheet].replace(
        b"</sheetData>", b'<row r="3"><c r="A3" t="s"><v>0</v></c></row></sheetData><!-- <!DOCTYPE x> -->')
    book.members["xl/sharedStrings.xml"] = (
        b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
        b'uniqueCount="1"><si><t><![CDATA[<!DOCTYPE x [<!ENTITY a "b">]>]]></t></si></sst>')
    types = book.members["[Content_Types].xml"]
    if b"sharedStrings" not in types:
        book.members["[Content_Types].xml"] = types.replace(b"</Types>", (
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            b'spreadsheetml.sharedStrings+xml"/></Types>'))
    xlsx = open_xlsx_bytes(book.to_bytes(), "网页.xlsx")
    xlsx.refuse_dtd()  # nothing refused
    cells = read_workbook(xlsx).sheets[wb.active.title].cells
    assert cells["A1"].value == "<!DOCTYPE html><html>粘贴的网页</html>"
    assert cells["A2"].value == "<!ENTITY x 'y'>"
    assert cells["A3"].value == '<!DOCTYPE x [<!ENTITY a "b">]>'


def test_refuse_dtd_inflates_only_heads(futian: bytes, monkeypatch) -> None:
    """A part nobody read is looked at only as far as its root start tag."""
    import jixiao.xlsx.safe as safe

    calls: list[str] = []
    real = safe.read_member
    monkeypatch.setattr(safe, "read_member", lambda path, data, info: calls.append(info.filename) or real(path, data, info))
    xlsx = open_xlsx_bytes(futian, "福田.xlsx")
    calls.clear()
    xlsx.refuse_dtd()
    assert calls == []  # no part inflated whole
    book = zipfile.ZipFile(io.BytesIO(futian))
    assert sum(i.file_size for i in book.infolist()) > 20 * 4096  # (so reading heads only is less)
