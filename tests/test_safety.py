"""`xlsx.safe`: every kind of file a budget unit might email us is identified and refused
with one Chinese line, never a traceback; hostile zips and XML are refused before they cost
anything.  All bad files are built here from a small valid openpyxl workbook."""

from __future__ import annotations

import hashlib
import io
import pickle
import random
import struct
import time
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest

from jixiao.xlsx.safe import (
    MAX_MEMBERS,
    OLE2_SIGNATURE,
    SafeXlsx,
    UnreadableWorkbook,
    open_xlsx,
)

MiB = 1024 * 1024
SHEET = "xl/worksheets/sheet1.xml"
CONTENT_TYPES = "[Content_Types].xml"


# --------------------------------------------------------------------------- helpers

def _workbook_bytes(rows: int = 5) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "部门整体支出"
    ws["A1"] = "单位名称"
    ws["B1"] = "某区财政局"
    for r in range(2, rows + 2):
        ws.cell(r, 1, f"项目{r}")
        ws.cell(r, 2, r * 12.5)
        ws.cell(r, 3, f"=B{r}*2")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def valid() -> bytes:
    return _workbook_bytes()


def rezip(base: bytes, add: dict[str, bytes] | None = None, drop: tuple[str, ...] = (),
          replace: dict[str, bytes] | None = None) -> bytes:
    """A copy of the zip *base* with members dropped, replaced or added."""
    add, replace = add or {}, replace or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename in drop:
                continue
            dst.writestr(info.filename, replace.get(info.filename, src.read(info)))
        for name, data in add.items():
            dst.writestr(name, data)
    return out.getvalue()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(tmp_path: Path, name: str, data: bytes, kind: str, *words: str) -> UnreadableWorkbook:
    """open_xlsx refuses the file with *kind*; the line names the file and says *words*."""
    path = write(tmp_path, name, data)
    with pytest.raises(UnreadableWorkbook) as caught:
        open_xlsx(path)
    return check_exc(caught.value, path, kind, *words)


def check_exc(exc: UnreadableWorkbook, path: Path, kind: str, *words: str) -> UnreadableWorkbook:
    assert exc.kind == kind, exc
    assert exc.path == str(path)
    assert str(exc) == f"{path}：{exc.message}"
    assert path.name in str(exc)
    assert "\n" not in exc.message and "Traceback" not in exc.message
    for word in words:
        assert word in exc.message, (word, exc.message)
    return exc


def member_span(data: bytes, name: str) -> tuple[int, int]:
    """(start, end) of *name*'s compressed bytes inside the zip *data*."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    n, m = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + n + m
    return start, start + info.compress_size


def central_entry(data: bytes, name: str) -> int:
    """Offset of *name*'s central directory header."""
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        n = struct.unpack("<H", data[pos + 28:pos + 30])[0]
        if data[pos + 46:pos + 46 + n].decode() == name:
            return pos
        pos = data.find(b"PK\x01\x02", pos + 4)
    raise AssertionError(f"{name} not in central directory")


def forge_sizes(data: bytes, name: str, *, file_size: int | None = None, crc: int | None = None,
                local: bool = True) -> bytes:
    """Rewrite what the central directory (and, consistently, the member's local header, as a
    hostile zip would) declares about *name*; local=False imitates a damaged directory."""
    buf = bytearray(data)
    central = central_entry(data, name)
    local_header = zipfile.ZipFile(io.BytesIO(data)).getinfo(name).header_offset
    for pos in (central + 2, local_header) if local else (central + 2,):  # the central header has 2 more bytes
        if crc is not None:
            buf[pos + 14:pos + 18] = struct.pack("<L", crc)
        if file_size is not None:
            buf[pos + 22:pos + 26] = struct.pack("<L", file_size)
    return bytes(buf)


# --------------------------------------------------------------------------- a good workbook

def test_valid_workbook_opens(tmp_path, valid):
    path = write(tmp_path, "某区财政局-自评.xlsx", valid)
    xlsx = open_xlsx(path)
    assert isinstance(xlsx, SafeXlsx)
    assert xlsx.path == str(path)
    assert xlsx.size == len(valid) == path.stat().st_size
    assert xlsx.sha256 == hashlib.sha256(valid).hexdigest()
    assert xlsx.data == valid
    assert {"xl/workbook.xml", SHEET, CONTENT_TYPES, "xl/_rels/workbook.xml.rels"} <= set(xlsx.names)
    assert xlsx.macro_enabled is False and xlsx.external_links == []
    root = xlsx.parse_xml("xl/workbook.xml")
    assert root.tag.endswith("}workbook")
    sheets = [e.get("name") for e in root.iter() if e.tag.endswith("}sheet")]
    assert sheets == ["部门整体支出"]
    assert b"<sheetData>" in xlsx.read_xml(SHEET) or b"<sheetData" in xlsx.read_xml(SHEET)
    xlsx.verify()
    with pytest.raises(UnreadableWorkbook) as caught:
        xlsx.read_xml("xl/sharedStrings-nope.xml")
    check_exc(caught.value, path, "missing_part", "xl/sharedStrings-nope.xml", "另存为 .xlsx")


def test_opening_a_30kb_workbook_takes_well_under_a_millisecond(tmp_path):
    data = _workbook_bytes(rows=1250)
    path = write(tmp_path, "30k.xlsx", data)
    open_xlsx(path)
    n = 200
    start = time.perf_counter()
    for _ in range(n):
        open_xlsx(path)
    per_open = (time.perf_counter() - start) / n
    start = time.perf_counter()
    for _ in range(n):
        open_xlsx(path).sha256
    with_hash = (time.perf_counter() - start) / n
    print(f"\nopen_xlsx on a {len(data) / 1024:.0f} KB xlsx: {per_open * 1e6:.0f} µs "
          f"({with_hash * 1e6:.0f} µs with sha256)")


# --------------------------------------------------------------------------- not a zip at all

def test_empty_file(tmp_path):
    refused(tmp_path, "空.xlsx", b"", "empty", "文件为空", "重新")


def test_missing_file_and_directory(tmp_path):
    path = tmp_path / "不存在.xlsx"
    with pytest.raises(UnreadableWorkbook) as caught:
        open_xlsx(path)
    check_exc(caught.value, path, "not_found", "不存在")
    with pytest.raises(UnreadableWorkbook) as caught:
        open_xlsx(tmp_path)
    assert caught.value.kind == "not_found" and "文件夹" in caught.value.message


@pytest.mark.parametrize(("name", "data", "words"), [
    ("自评表.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", ("PDF", "请提交 .xlsx 工作簿")),
    ("截图.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(64), ("图片（PNG）", "请提交 .xlsx 工作簿")),
    ("照片.xlsx", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64), ("图片（JPEG）",)),
    ("报表.rar", b"Rar!\x1a\x07\x01\x00" + bytes(64), ("RAR 压缩包", "解压")),
    ("导出.csv", "单位名称,预算数,执行数\n某区财政局,100.5,98.2\n".encode("utf-8"), ("CSV", "请提交 .xlsx 工作簿")),
    ("导出.xlsx", "单位名称,预算数\r\n某区财政局,100\r\n".encode("gbk"), ("CSV", "请提交 .xlsx 工作簿")),
    ("unicode.txt", "单位\t预算\n".encode("utf-16"), ("CSV",)),
    ("导出.xls", b"<html xmlns:x=\"urn:schemas-microsoft-com:office:excel\"><body><table><tr><td>1</td></tr>"
               b"</table></body></html>", ("网页（HTML）", "伪 Excel", "另存为 .xlsx")),
    ("page.xlsx", b"\xef\xbb\xbf\n  <!DOCTYPE html><html><head></head></html>", ("网页（HTML）",)),
    ("2003.xml", b'<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
                 b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"></Workbook>', ("Excel 2003 XML", "另存为 .xlsx")),
    ("random.bin", bytes(range(256)) * 4, ("无法识别", "请提交 .xlsx 工作簿")),
])
def test_not_a_spreadsheet(tmp_path, name, data, words):
    refused(tmp_path, name, data, "not_spreadsheet", "不是", *words)


def test_text_starting_with_pk_is_not_taken_for_a_zip(tmp_path):
    refused(tmp_path, "pk.csv", b"PKU,Peking University\n", "not_spreadsheet", "CSV")


def test_too_large_is_refused_before_reading(tmp_path, monkeypatch):
    import jixiao.xlsx.safe as safety

    monkeypatch.setattr(safety, "MAX_FILE_BYTES", 1000)
    refused(tmp_path, "大.xlsx", bytes(5000), "too_large", "文件过大")


@pytest.mark.parametrize("said", [0, 10])
def test_a_file_holding_more_than_it_says_is_read_whole_or_refused(tmp_path, monkeypatch, valid, said):
    """The read takes what the file says it holds and then the rest (a size of 0, as /proc
    says, or a file that grew): the workbook is read whole, and the limit still holds."""
    import os as os_module

    import jixiao.xlsx.safe as safety

    path = write(tmp_path, "变大.xlsx", valid)
    real_fstat = os_module.fstat

    def fstat(fd):
        st = real_fstat(fd)
        return os_module.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid, said,
                                      int(st.st_atime), int(st.st_mtime), int(st.st_ctime)))

    monkeypatch.setattr(safety.os, "fstat", fstat)
    assert open_xlsx(path).data == valid
    monkeypatch.setattr(safety, "MAX_FILE_BYTES", len(valid) - 1)
    with pytest.raises(UnreadableWorkbook) as caught:
        open_xlsx(path)
    assert caught.value.kind == "too_large"


# --------------------------------------------------------------------------- OLE2: xls, et, encrypted

def _cfb(*streams: str) -> bytes:
    """A byte-level stand-in for a compound file: the signature, a 512-byte header, and a
    directory sector of 128-byte entries whose names are UTF-16LE (as in [MS-CFB])."""
    header = OLE2_SIGNATURE + bytes(16) + struct.pack("<HHH", 0x3E, 3, 0xFFFE) + bytes(512 - 30)
    entries = b""
    for name in ("Root Entry", *streams):
        raw = name.encode("utf-16-le") + b"\x00\x00"
        entries += raw.ljust(64, b"\x00") + struct.pack("<H", len(raw)) + bytes(62)
    return header + entries.ljust(512, b"\x00")


def test_legacy_xls(tmp_path):
    exc = refused(tmp_path, "2023年自评.xls", OLE2_SIGNATURE + bytes(1016), "xls",
                  "旧版 Excel（.xls）或 WPS（.et）格式", "请在 Excel 或 WPS 中另存为 .xlsx 后重新提交")
    assert "扩展名" not in exc.message


def test_legacy_xls_renamed_to_xlsx(tmp_path):
    refused(tmp_path, "改名.xlsx", _cfb("Workbook", "\x05SummaryInformation"), "xls",
            "扩展名为 .xlsx", "旧版 Excel（.xls）", "另存为 .xlsx")


def test_wps_et(tmp_path):
    refused(tmp_path, "自评.et", _cfb("Workbook"), "et", "WPS", "另存为 .xlsx 后重新提交")


def test_password_protected_xlsx(tmp_path):
    data = _cfb("\x06DataSpaces", "EncryptionInfo", "EncryptedPackage")
    assert "EncryptedPackage".encode("utf-16-le") in data
    refused(tmp_path, "加密.xlsx", data, "encrypted", "文件已加密（设置了打开密码），请取消密码后重新提交")
    refused(tmp_path, "加密.et", data, "encrypted", "打开密码")


def test_legacy_word_document(tmp_path):
    refused(tmp_path, "说明.doc", _cfb("WordDocument", "1Table"), "not_spreadsheet", "Word", "请提交 .xlsx 工作簿")


# --------------------------------------------------------------------------- broken zips

def test_truncated_download(tmp_path, valid):
    refused(tmp_path, "附件.xlsx", valid[: len(valid) // 2], "truncated_zip", "不完整", "重新下载")
    refused(tmp_path, "附件2.xlsx", valid[:-10], "truncated_zip", "不完整")


def test_member_with_bad_crc(tmp_path, valid):
    start, end = member_span(valid, SHEET)
    broken = bytearray(valid)
    for i in range(start + (end - start) // 2, start + (end - start) // 2 + 8):
        broken[i] ^= 0x5A
    path = write(tmp_path, "损坏.xlsx", bytes(broken))
    xlsx = open_xlsx(path)  # the directory and [Content_Types].xml are fine: members are checked on read
    for call in (lambda: xlsx.read_xml(SHEET), lambda: xlsx.parse_xml(SHEET), xlsx.verify):
        with pytest.raises(UnreadableWorkbook) as caught:
            call()
        check_exc(caught.value, path, "corrupt_zip", "文件已损坏", SHEET)


def test_stored_member_with_bad_crc_is_refused_at_open(tmp_path, valid):
    data = forge_sizes(rezip(valid), CONTENT_TYPES, crc=0x12345678)
    refused(tmp_path, "crc.xlsx", data, "corrupt_zip", "文件已损坏", "校验失败")


def test_garbage_central_directory(tmp_path, valid):
    cd = valid.find(b"PK\x01\x02")
    broken = valid[:cd] + b"\x00" * 46 + valid[cd + 46:]
    refused(tmp_path, "目录损坏.xlsx", broken, "corrupt_zip", "文件已损坏")


def test_random_damage_never_escapes_as_a_traceback(tmp_path, valid):
    rng = random.Random(20240501)
    path = tmp_path / "fuzz.xlsx"
    outcomes: dict[str, int] = {}
    for _ in range(300):
        data = bytearray(valid)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.2:
            data = data[: rng.randrange(len(data))]
        path.write_bytes(bytes(data))
        try:
            xlsx = open_xlsx(path)
            xlsx.verify()
            for name in xlsx.names:
                if name.endswith((".xml", ".rels")):
                    xlsx.parse_xml(name)
            outcome = "ok"
        except UnreadableWorkbook as exc:
            assert exc.message and str(exc).startswith(str(path))
            outcome = exc.kind
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert set(outcomes) - {"ok", "corrupt_zip", "corrupt_xml", "truncated_zip", "missing_part", "not_xlsx_zip",
                            "not_spreadsheet", "zip_bomb", "encrypted", "xml_bomb"} == set(), outcomes


# --------------------------------------------------------------------------- other zips

def test_ods(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        zf.writestr("META-INF/manifest.xml", "<manifest/>", zipfile.ZIP_DEFLATED)
        zf.writestr("content.xml", "<office:document-content/>", zipfile.ZIP_DEFLATED)
    refused(tmp_path, "自评.ods", out.getvalue(), "ods", ".ods", "请用 Excel/WPS 或 LibreOffice 另存为 .xlsx")


def test_docx(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(CONTENT_TYPES, "<Types/>")
        zf.writestr("_rels/.rels", "<Relationships/>")
        zf.writestr("word/document.xml", "<w:document/>")
    refused(tmp_path, "自评报告.xlsx", out.getvalue(), "not_xlsx_zip", "Word 文档", "请提交 .xlsx 工作簿")


def test_plain_zip(tmp_path, valid):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("某区财政局/自评.xlsx", valid)
    refused(tmp_path, "打包.zip", out.getvalue(), "not_xlsx_zip", "压缩包", "解压")


def test_empty_zip(tmp_path):
    out = io.BytesIO()
    zipfile.ZipFile(out, "w").close()
    refused(tmp_path, "空包.xlsx", out.getvalue(), "not_xlsx_zip")


def test_missing_workbook_part(tmp_path, valid):
    refused(tmp_path, "缺.xlsx", rezip(valid, drop=("xl/workbook.xml",)), "not_xlsx_zip", "xl/workbook.xml")
    refused(tmp_path, "缺rels.xlsx", rezip(valid, drop=("xl/_rels/workbook.xml.rels",)), "missing_part",
            "xl/_rels/workbook.xml.rels")


def test_xlsb(tmp_path, valid):
    data = rezip(valid, drop=("xl/workbook.xml",), add={"xl/workbook.bin": b"\x83\x01\x00"})
    refused(tmp_path, "二进制.xlsb", data, "xlsb", ".xlsb", "另存为 .xlsx")


# --------------------------------------------------------------------------- zip bombs

def test_zip_bomb_one_huge_member(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr(CONTENT_TYPES, "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open(SHEET, "w", force_zip64=True) as member:
            chunk = bytes(MiB)
            for _ in range(200):  # 200 MB of zeros, streamed: ~1 MB on disk
                member.write(chunk)
    data = out.getvalue()
    assert len(data) < 2 * MiB
    refused(tmp_path, "炸弹.xlsx", data, "zip_bomb", "压缩炸弹", SHEET, "200 MB")  # timing: benchmarks/bench_intake.py


def test_zip_bomb_ratio(tmp_path, valid):
    data = rezip(valid, add={"xl/media/image1.bin": bytes(5 * MiB)})  # 5 MB of zeros → ~5 KB
    refused(tmp_path, "压缩比.xlsx", data, "zip_bomb", "压缩比", "xl/media/image1.bin")


def test_zip_bomb_total_size(tmp_path, valid):
    rng = random.Random(1)
    parts = {f"xl/media/image{i}.bin": rng.randbytes(256 * 1024) for i in range(3)}  # incompressible
    data = rezip(valid, add=parts)
    for name in parts:  # each claims 40 MB: under the member limit, ratio 160 under 200, total 120 MB
        data = forge_sizes(data, name, file_size=40 * MiB)
    refused(tmp_path, "总量.xlsx", data, "zip_bomb", "总计", "100 MB")


def test_damaged_size_field_is_corruption_not_a_bomb(tmp_path, valid):
    # only the directory claims 300 MB, the member's own header does not: a damaged file
    data = forge_sizes(valid, SHEET, file_size=300 * MiB, local=False)
    refused(tmp_path, "坏目录.xlsx", data, "corrupt_zip", "文件已损坏", "不一致")


def test_zip_bomb_too_many_members(tmp_path, valid):
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(valid)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for info in src.infolist():
            zf.writestr(info.filename, src.read(info))
        for i in range(3000):
            zf.writestr(f"xl/media/x{i}.bin", b"")
    refused(tmp_path, "三千.xlsx", out.getvalue(), "zip_bomb", "3", f"上限 {MAX_MEMBERS}")


def test_lying_header_cannot_inflate_beyond_its_declared_size(tmp_path, valid):
    big = b"<x>" + b" " * (10 * MiB) + b"</x>"  # ~10 KB compressed
    data = rezip(valid, replace={SHEET: big})
    # the directory claims 1,000 bytes (and the CRC of the first 1,000), so the ratio check passes
    data = forge_sizes(data, SHEET, file_size=1000, crc=zlib.crc32(big[:1000]))
    path = write(tmp_path, "篡改.xlsx", data)
    xlsx = open_xlsx(path)
    with pytest.raises(UnreadableWorkbook) as caught:
        xlsx.read_xml(SHEET)
    check_exc(caught.value, path, "zip_bomb", "1000 字节", "篡改")


# --------------------------------------------------------------------------- XML bombs

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">
<c r="A1" t="inlineStr"><is><t>&xxe;</t></is></c></row></sheetData></worksheet>"""

DTD_ONLY = b"""<?xml version="1.0"?>
<!DOCTYPE worksheet SYSTEM "http://example.com/evil.dtd">
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE, DTD_ONLY], ids=["billion_laughs", "xxe", "external_dtd"])
def test_xml_bomb_in_sheet(tmp_path, valid, payload):
    path = write(tmp_path, "实体.xlsx", rezip(valid, replace={SHEET: payload}))
    xlsx = open_xlsx(path)  # the zip itself is fine
    with pytest.raises(UnreadableWorkbook) as caught:
        xlsx.parse_xml(SHEET)  # refused before any expansion (timing: benchmarks/bench_intake.py)
    check_exc(caught.value, path, "xml_bomb", SHEET, "XML 炸弹", "已拒绝处理")
    assert xlsx.read_xml(SHEET) == payload  # the bytes are readable, only parsing is refused


def test_malformed_xml(tmp_path, valid):
    path = write(tmp_path, "坏XML.xlsx", rezip(valid, replace={SHEET: b"<worksheet><sheetData></worksheet>"}))
    with pytest.raises(UnreadableWorkbook) as caught:
        open_xlsx(path).parse_xml(SHEET)
    check_exc(caught.value, path, "corrupt_xml", SHEET, "不是有效的 XML", "第 1 行")


# --------------------------------------------------------------------------- macros and external links

def test_macro_enabled_is_recorded_not_refused(tmp_path, valid):
    xlsm = open_xlsx(write(tmp_path, "宏.xlsm", rezip(valid, add={"xl/vbaProject.bin": OLE2_SIGNATURE + bytes(504)})))
    assert xlsm.macro_enabled is True
    assert "xl/vbaProject.bin" in xlsm.names

    with zipfile.ZipFile(io.BytesIO(valid)) as zf:
        types = zf.read(CONTENT_TYPES)
    types = types.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                          b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    assert b"macroEnabled" in types
    assert open_xlsx(write(tmp_path, "宏2.xlsm", rezip(valid, replace={CONTENT_TYPES: types}))).macro_enabled is True


def test_external_links_are_recorded_not_followed(tmp_path, valid):
    link = (b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            b'<externalBook r:id="rId1"/></externalLink>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'externalLinkPath" Target="file:///D:/%E8%B4%A2%E5%8A%A1/2023%E9%A2%84%E7%AE%97.xlsx" '
            'TargetMode="External"/></Relationships>').encode()
    data = rezip(valid, add={"xl/externalLinks/externalLink1.xml": link,
                             "xl/externalLinks/_rels/externalLink1.xml.rels": rels,
                             "xl/externalLinks/externalLink2.xml": link})
    xlsx = open_xlsx(write(tmp_path, "外链.xlsx", data))
    assert xlsx.macro_enabled is False
    assert xlsx.external_links == ["file:///D:/财务/2023预算.xlsx", "xl/externalLinks/externalLink2.xml"]


# --------------------------------------------------------------------------- the exception

def test_exception_pickles_for_process_pools():
    exc = UnreadableWorkbook("a/b.xls", "xls", "旧版")
    back = pickle.loads(pickle.dumps(exc))
    assert (back.path, back.kind, back.message, str(back)) == ("a/b.xls", "xls", "旧版", "a/b.xls：旧版")


# --------------------------------------------------------------------------- the inflater

def _every_member(data: bytes) -> list[tuple[str, object]]:
    """Each member's inflated bytes, or the refusal (kind, message) it gets."""
    from jixiao.xlsx.safe import open_xlsx_bytes

    try:
        xlsx = open_xlsx_bytes(data, "a.xlsx")
    except UnreadableWorkbook as exc:
        return [("", (exc.kind, exc.message))]
    out: list[tuple[str, object]] = []
    for name in xlsx.names:
        try:
            out.append((name, xlsx.read_xml(name)))
        except UnreadableWorkbook as exc:
            out.append((name, (exc.kind, exc.message)))
    return out


def test_zlib_ng_inflates_exactly_as_zlib(valid, monkeypatch):
    """zipguard inflates with zlib-ng: every member of good, forged and damaged zips gives the
    same bytes or the same refusal as with zlib (random bit flips in the compressed data too)."""
    from jixiao.xlsx import zipguard

    assert zipguard.zlib.__name__.startswith("zlib_ng"), "zlib-ng (the test extra) is not installed"
    size = zipfile.ZipFile(io.BytesIO(valid)).getinfo(SHEET).file_size
    start, end = member_span(valid, SHEET)
    rng = random.Random(7)
    cases = [valid, forge_sizes(valid, SHEET, file_size=size - 10),
             forge_sizes(valid, SHEET, file_size=size + 10), valid[:(start + end) // 2]]
    for _ in range(60):
        flipped = bytearray(valid)
        at = rng.randrange(start, end)
        flipped[at] ^= 1 << rng.randrange(8)
        cases.append(bytes(flipped))
    got_ng = [_every_member(data) for data in cases]
    monkeypatch.setattr(zipguard, "zlib", zlib)
    got_zlib = [_every_member(data) for data in cases]
    assert got_ng == got_zlib
    # the flips were damage the reader saw, not flips it never looked at
    assert sum(any(isinstance(v, tuple) for _, v in got) for got in got_ng[4:]) > 30
