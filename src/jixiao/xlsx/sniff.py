"""Saying what a file that is not an .xlsx workbook is: a legacy .xls/.et or an encrypted
workbook (OLE2), a .docx or .pptx, a bare zip, a PDF, an image, an HTML "pseudo .xls", CSV.
Each answer is one Chinese line telling the accountant what to submit instead."""

from __future__ import annotations

import zipfile
from pathlib import PurePath
from typing import NoReturn

from jixiao.xlsx.unreadable import UnreadableWorkbook

__all__ = ["OLE2_SIGNATURE", "ODS_MIMETYPE", "describe_other", "describe_zip", "ext", "refuse_ole2"]

OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


def _u16(name: str) -> bytes:
    return name.encode("utf-16-le")


_ENCRYPTED_PACKAGE = _u16("EncryptedPackage")
_WORD_STREAM = _u16("WordDocument")
_PPT_STREAM = _u16("PowerPoint Document")
_EXCEL_STREAMS = (_u16("Workbook"), _u16("Book"))
# bytes that do not occur in text files (everything below 0x20 except \t \n \f \r and ESC)
_BINARY_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))
_NOT_BINARY = bytes(b for b in range(256) if b not in _BINARY_BYTES)


def ext(path: str) -> str:
    return PurePath(path).suffix.lower()


def refuse_ole2(path: str, data: bytes) -> NoReturn:
    suffix = ext(path)
    if _ENCRYPTED_PACKAGE in data:
        # Excel and WPS store a password-protected .xlsx as an OLE2 file holding an
        # "EncryptedPackage" stream (MS-OFFCRYPTO)
        raise UnreadableWorkbook(path, "encrypted", "文件已加密（设置了打开密码），请取消密码后重新提交")
    is_excel = any(s in data for s in _EXCEL_STREAMS)
    if not is_excel and _WORD_STREAM in data:
        raise UnreadableWorkbook(path, "not_spreadsheet",
                                 "这是旧版 Word 文档（.doc），不是 Excel 工作簿；请提交 .xlsx 工作簿")
    if not is_excel and _PPT_STREAM in data:
        raise UnreadableWorkbook(path, "not_spreadsheet",
                                 "这是旧版 PowerPoint 演示文稿（.ppt），不是 Excel 工作簿；请提交 .xlsx 工作簿")
    renamed = f"扩展名为 {suffix}，但" if suffix and suffix not in (".xls", ".et", ".ett", ".xlt") else ""
    if suffix in (".et", ".ett"):
        raise UnreadableWorkbook(path, "et", "这是 WPS 表格（.et）格式，无法直接检查；请在 WPS 中另存为 .xlsx 后重新提交")
    raise UnreadableWorkbook(
        path, "xls",
        f"{renamed}文件实际是旧版 Excel（.xls）或 WPS（.et）格式，无法直接检查；请在 Excel 或 WPS 中另存为 .xlsx 后重新提交")


def describe_zip(names: dict[str, zipfile.ZipInfo]) -> str:
    if "word/document.xml" in names:
        return "这是 Word 文档（.docx），不是 Excel 工作簿；请提交 .xlsx 工作簿"
    if "ppt/presentation.xml" in names:
        return "这是 PowerPoint 演示文稿（.pptx），不是 Excel 工作簿；请提交 .xlsx 工作簿"
    if any(n.startswith("xl/") for n in names):
        missing = "、".join(n for n in ("[Content_Types].xml", "xl/workbook.xml") if n not in names)
        return f"看起来是 Excel 工作簿，但缺少必要的内部部件 {missing}，文件不完整或已损坏；请在 Excel 或 WPS 中打开后重新另存为 .xlsx"
    if "[Content_Types].xml" in names:
        return "这是 Office 文档，但不是 Excel 工作簿（缺少 xl/workbook.xml）；请提交 .xlsx 工作簿"
    return "这是 ZIP 压缩包，不是 Excel 工作簿；如果其中有报表，请解压后提交其中的 .xlsx 文件"


_MAGIC = (
    (b"%PDF", "这是 PDF 文件"),
    (b"\x89PNG\r\n\x1a\n", "这是图片（PNG）"),
    (b"\xff\xd8\xff", "这是图片（JPEG）"),
    (b"GIF8", "这是图片（GIF）"),
    (b"Rar!\x1a\x07", "这是 RAR 压缩包"),
    (b"7z\xbc\xaf\x27\x1c", "这是 7z 压缩包"),
    (b"\x1f\x8b", "这是 gzip 压缩包"),
    (b"{\\rtf", "这是 RTF 文档"),
    (b"MZ", "这是可执行程序"),
)


def describe_other(data: bytes, suffix: str) -> str:
    for magic, what in _MAGIC:
        if data.startswith(magic):
            if "压缩包" in what:
                return f"{what}，不是 Excel 工作簿；如果其中有报表，请解压后提交其中的 .xlsx 文件"
            return f"{what}，不是 Excel 工作簿；请提交 .xlsx 工作簿"
    text = _as_text(data[:4096])
    if text is None:
        return "无法识别的文件格式，不是 Excel 工作簿；请提交 .xlsx 工作簿"
    head = text.lstrip().lower()
    resave = "请在 Excel 或 WPS 中打开后另存为 .xlsx 工作簿再提交"
    if head.startswith("<?xml") and "urn:schemas-microsoft-com:office:spreadsheet" in head:
        return f"这是 XML 表格（Excel 2003 XML）格式，不是 .xlsx；{resave}"
    if head.startswith("mime-version:") or "multipart/related" in head[:1024]:
        return f"这是单个文件网页（.mht），不是 Excel 工作簿；{resave}"
    if head.startswith(("<!doctype html", "<html", "<table", "<meta")) or "<html" in head[:1024]:
        pseudo = f"（扩展名为 {suffix}，常见于业务系统导出的“伪 Excel”文件）" if suffix in (".xls", ".xlsx", ".et") else ""
        return f"这是网页（HTML）文件{pseudo}，不是 Excel 工作簿；{resave}"
    return "这是纯文本或 CSV 文件，不是 Excel 工作簿；请提交 .xlsx 工作簿（可在 Excel 或 WPS 中打开后另存为 .xlsx）"


def _as_text(sample: bytes) -> str | None:
    """The sample decoded, if it looks like text (UTF-8, GB18030 or UTF-16 with a BOM)."""
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return sample.decode("utf-16", errors="ignore")
    if sample.translate(None, _NOT_BINARY):
        return None  # control bytes: binary
    try:
        return sample.decode("utf-8-sig")
    except UnicodeDecodeError:
        return sample.decode("gb18030", errors="ignore")  # also covers a UTF-8 sample cut mid-character
