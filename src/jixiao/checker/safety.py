"""Identify a submitted file and refuse it safely before anything parses it.

Budget units email us whatever their software produced: real .xlsx workbooks, but also
legacy .xls/.et files, password-protected workbooks, ODS, PDFs, screenshots, CSV exports,
"pseudo .xls" HTML pages, truncated attachments and -- in principle -- hostile zips.
`open_xlsx` reads the file once, decides which of these it is, and either returns a
`SafeXlsx` (a zip that looks like an OOXML spreadsheet and is within the size limits) or
raises `UnreadableWorkbook` with a stable English ``kind`` and a one-line Chinese
``message`` saying what the file is and what the accountant should do.

Safety rules:

* zip limits are checked from the central directory BEFORE anything is decompressed
  (member count, declared sizes, compression ratio);
* members are inflated by our own capped reader: never more than the declared size + 1
  byte, so a central directory that lies about a member's size cannot inflate it; CRC is
  always verified;
* XML is parsed only by defusedxml with DTDs forbidden (no entity expansion, no external
  entities -- OOXML never contains a DTD);
* macros and external links are recorded, never executed or followed.

Members are checked lazily, when read (`read_xml`, `parse_xml`); `verify()` reads all of
them.  Sniffing a 30 KB workbook costs well under a millisecond.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import struct
import zipfile
import xml.etree.ElementTree as _FastET
import zlib
from functools import cached_property
from pathlib import PurePath
from typing import NoReturn
from urllib.parse import unquote
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_MEMBERS",
    "MAX_MEMBER_BYTES",
    "MAX_RATIO",
    "MAX_TOTAL_BYTES",
    "NOT_REGULAR_FILE",
    "is_special",
    "SafeXlsx",
    "UnreadableWorkbook",
    "open_xlsx",
]

MiB = 1024 * 1024
MAX_FILE_BYTES = 100 * MiB          # the file itself, before anything else
MAX_MEMBERS = 2000                  # zip members
MAX_TOTAL_BYTES = 100 * MiB         # sum of declared uncompressed sizes
MAX_MEMBER_BYTES = 50 * MiB         # one member, uncompressed
MAX_RATIO = 200                     # uncompressed / compressed ...
RATIO_FLOOR = 1 * MiB               # ... for members larger than this
MAX_CENTRAL_DIRECTORY = 4 * MiB     # 2,000 honest entries need ~0.3 MB; bounds zipfile's own parsing

# said by `check` and `import` alike of a FIFO, a device or a socket (`is_special`)
NOT_REGULAR_FILE = "不是普通文件或文件夹（命名管道、设备等）"


def is_special(mode: int) -> bool:
    """A named pipe, device or socket: opening one can block forever and reading one may never
    end.  `check` and `import` both refuse such a file by this test, before reading it."""
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))

OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_LOCAL_HEADER = b"PK\x03\x04"
_ZIP_SIGNATURES = (_LOCAL_HEADER, _EOCD, b"PK\x07\x08")  # a member, an empty zip, a spanned zip


def _u16(name: str) -> bytes:
    return name.encode("utf-16-le")


_ENCRYPTED_PACKAGE = _u16("EncryptedPackage")
_WORD_STREAM = _u16("WordDocument")
_PPT_STREAM = _u16("PowerPoint Document")
_EXCEL_STREAMS = (_u16("Workbook"), _u16("Book"))
# "<!DOCTYPE" / "<!ENTITY" in UTF-8 and in UTF-16 (an XML part may be either)
_DTD_MARKERS = tuple(m.encode(e) for m in ("<!DOCTYPE", "<!ENTITY") for e in ("utf-8", "utf-16-le", "utf-16-be"))
_EXTERNAL_LINK = re.compile(r"^xl/externalLinks/([^/]+\.xml)$")
# bytes that do not occur in text files (everything below 0x20 except \t \n \f \r and ESC)
_BINARY_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))
_NOT_BINARY = bytes(b for b in range(256) if b not in _BINARY_BYTES)


class UnreadableWorkbook(Exception):
    """The file cannot (or must not) be read as an .xlsx workbook.

    ``kind`` is a stable English code for programs, ``message`` one Chinese line for the
    accountant (what the file is and what to do; without the path), ``str(exc)`` is
    ``"{path}：{message}"``.
    """

    def __init__(self, path: str, kind: str, message: str):
        super().__init__(path, kind, message)  # args match __init__: picklable across processes
        self.path = path
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}：{self.message}"


# --------------------------------------------------------------------------- the opened file

class SafeXlsx:
    """A zip that passed the checks of `open_xlsx`.  Parts are read on demand, each with a
    hard size cap and a CRC check; XML parts are parsed with defusedxml only."""

    def __init__(self, path: str, data: bytes, infos: dict[str, zipfile.ZipInfo]):
        self.path = path
        self.data = data  # the file's bytes, read once (hand these on rather than re-reading)
        self.size = len(data)
        self.names: list[str] = list(infos)
        self.macro_enabled = False
        self.external_links: list[str] = []
        self._infos = infos

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def __contains__(self, name: str) -> bool:
        return name in self._infos

    def __repr__(self) -> str:
        flags = " macro" if self.macro_enabled else ""
        links = f" links={len(self.external_links)}" if self.external_links else ""
        return f"<SafeXlsx {self.path!r} {self.size} bytes {len(self.names)} parts{flags}{links}>"

    def read_xml(self, name: str) -> bytes:
        """The bytes of one part (any part, not only XML): inflated with a hard cap at its
        declared size + 1 byte, CRC-checked."""
        info = self._infos.get(name)
        if info is None:
            raise UnreadableWorkbook(
                self.path, "missing_part",
                f"工作簿缺少必要的内部部件 {name}，文件不完整或已损坏；请在 Excel 或 WPS 中打开后重新另存为 .xlsx")
        return _read_member(self.path, self.data, info)

    def parse_xml(self, name: str, raw: bytes | None = None) -> Element:
        """One XML part as an ElementTree element, parsed by defusedxml: a DTD, entity
        declarations or external references are refused (kind "xml_bomb").  `raw`: the part's
        bytes already read (or a prefix of them made whole by the caller)."""
        raw = self.read_xml(name) if raw is None else raw
        try:
            if b"<!DOCTYPE" not in raw and b"<!ENTITY" not in raw:
                # No DTD, so nothing can declare an entity: the C parser is as safe as
                # defusedxml here and several times faster (defusedxml builds in Python).
                return _FastET.fromstring(raw)
            return DefusedET.fromstring(raw, forbid_dtd=True)
        except DefusedXmlException:
            raise UnreadableWorkbook(
                self.path, "xml_bomb",
                f"工作簿内部的 {name} 含有 DTD 或实体定义（Excel/WPS 从不生成，疑似恶意构造的“XML 炸弹”），已拒绝处理；"
                "请确认文件来源，并在 Excel 或 WPS 中重新另存为 .xlsx") from None
        except (ParseError, ValueError, LookupError) as exc:
            line, col = getattr(exc, "position", (0, 0))
            where = f"（第 {line} 行第 {col} 列）" if line else ""
            raise UnreadableWorkbook(
                self.path, "corrupt_xml",
                f"工作簿内部的 {name} 不是有效的 XML{where}，文件已损坏；请在 Excel 或 WPS 中打开后重新另存为 .xlsx") from None

    def refuse_dtd(self) -> None:
        """Refuse a DTD or entity declaration in ANY XML part, also those the checker never
        parses itself (docProps/core.xml, styles.xml ...) but openpyxl would (``--annotate``):
        Excel and WPS never write one.  Reads every XML part (capped, CRC-checked)."""
        for name, info in self._infos.items():
            if not name.lower().endswith((".xml", ".rels", ".vml")) or info.is_dir():
                continue
            raw = self.read_xml(name)
            if any(marker in raw for marker in _DTD_MARKERS):
                raise UnreadableWorkbook(
                    self.path, "xml_bomb",
                    f"工作簿内部的 {name} 含有 DTD 或实体定义（Excel/WPS 从不生成，疑似恶意构造的“XML 炸弹”），已拒绝处理；"
                    "请确认文件来源，并在 Excel 或 WPS 中重新另存为 .xlsx")

    def verify(self) -> None:
        """Read every member (capped, CRC-checked): for callers that hand `data` to another
        reader and want corruption reported by us first."""
        for info in self._infos.values():
            _read_member(self.path, self.data, info)

    # context-manager support for symmetry with zipfile; nothing to release
    def __enter__(self) -> SafeXlsx:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


# --------------------------------------------------------------------------- entry point

def open_xlsx(path: str | os.PathLike[str]) -> SafeXlsx:
    """Read *path* once and return it as a `SafeXlsx`, or raise `UnreadableWorkbook`."""
    shown = os.fsdecode(path)
    return open_xlsx_bytes(_read_file(shown), shown)


def open_xlsx_bytes(data: bytes, shown: str) -> SafeXlsx:
    """The same for bytes already in memory (an email attachment, a zip member); `shown`
    is the name messages use."""
    if not data:
        raise UnreadableWorkbook(
            shown, "empty", "文件为空（0 字节），可能下载或保存失败；请重新下载附件，或请填报单位重新发送")
    if data[:8] == OLE2_SIGNATURE:
        _refuse_ole2(shown, data)
    if data[:4] in _ZIP_SIGNATURES:
        return _open_zip(shown, data)
    raise UnreadableWorkbook(shown, "not_spreadsheet", _describe_other(data, _ext(shown)))


def _read_file(path: str) -> bytes:
    try:
        # O_NONBLOCK: opening a named pipe must not wait for a writer; non-regular files are
        # refused from fstat before anything is read
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with open(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError(path)
            if is_special(st.st_mode):
                raise UnreadableWorkbook(path, "not_regular_file",
                                         f"{NOT_REGULAR_FILE}，无法作为工作簿读取；请提交 .xlsx 文件本身")
            declared = st.st_size
            if declared > MAX_FILE_BYTES:
                raise UnreadableWorkbook(path, "too_large", _too_large(declared))
            data = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise UnreadableWorkbook(path, "not_found", "文件不存在，请检查文件名和路径") from None
    except IsADirectoryError:
        raise UnreadableWorkbook(path, "not_found", "这是一个文件夹，不是文件；请指定其中的 .xlsx 文件") from None
    except PermissionError:
        raise UnreadableWorkbook(path, "io_error", "没有读取该文件的权限；请检查文件权限，或先复制到本地再检查") from None
    except OSError as exc:
        raise UnreadableWorkbook(path, "io_error", f"无法读取文件（{exc.strerror or type(exc).__name__}）；请复制到本地后重试") from None
    if len(data) > MAX_FILE_BYTES:  # grew while reading, or not a regular file
        raise UnreadableWorkbook(path, "too_large", _too_large(len(data)))
    return data


def _too_large(size: int) -> str:
    return f"文件过大（{_mb(size)}，上限 {_mb(MAX_FILE_BYTES)}），不像是绩效自评工作簿；请确认提交的文件是否正确"


# --------------------------------------------------------------------------- OLE2 / CFB

def _refuse_ole2(path: str, data: bytes) -> NoReturn:
    ext = _ext(path)
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
    renamed = f"扩展名为 {ext}，但" if ext and ext not in (".xls", ".et", ".ett", ".xlt") else ""
    if ext in (".et", ".ett"):
        raise UnreadableWorkbook(path, "et", "这是 WPS 表格（.et）格式，无法直接检查；请在 WPS 中另存为 .xlsx 后重新提交")
    raise UnreadableWorkbook(
        path, "xls",
        f"{renamed}文件实际是旧版 Excel（.xls）或 WPS（.et）格式，无法直接检查；请在 Excel 或 WPS 中另存为 .xlsx 后重新提交")


# --------------------------------------------------------------------------- zip

def _open_zip(path: str, data: bytes) -> SafeXlsx:
    eocd = data.rfind(_EOCD, max(0, len(data) - 22 - 0xFFFF))
    if eocd < 0 or eocd + 22 > len(data):  # the end record is missing or cut off
        raise UnreadableWorkbook(
            path, "truncated_zip",
            "文件不完整（末尾缺失，可能是邮件附件下载中断或保存未完成）；请重新下载附件，或请填报单位重新发送")
    _check_directory_size(path, data, eocd)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception:  # untrusted bytes: any failure to read the directory is corruption
        raise UnreadableWorkbook(path, "corrupt_zip", _corrupt()) from None
    _check_limits(path, data, infos)
    by_name = {i.filename: i for i in infos}
    if len(by_name) != len(infos):
        raise UnreadableWorkbook(path, "corrupt_zip", _corrupt("内部文件名重复"))
    xlsx = SafeXlsx(path, data, by_name)

    mimetype = by_name.get("mimetype")
    if mimetype is not None and mimetype.file_size <= 256:
        kind = _read_member(path, data, mimetype).strip()
        if kind.startswith(ODS_MIMETYPE):
            raise UnreadableWorkbook(
                path, "ods",
                "这是 OpenDocument 表格（.ods）格式，不是 .xlsx；请用 Excel/WPS 或 LibreOffice 另存为 .xlsx 后重新提交")
        if kind.startswith(b"application/vnd.oasis.opendocument"):
            raise UnreadableWorkbook(path, "not_xlsx_zip",
                                     "这是 OpenDocument 文档（不是表格），不是 Excel 工作簿；请提交 .xlsx 工作簿")
    if "[Content_Types].xml" in by_name and "xl/workbook.bin" in by_name:
        raise UnreadableWorkbook(path, "xlsb",
                                 "这是 Excel 二进制工作簿（.xlsb），无法直接检查；请在 Excel 或 WPS 中另存为 .xlsx 后重新提交")
    if "[Content_Types].xml" not in by_name or "xl/workbook.xml" not in by_name:
        raise UnreadableWorkbook(path, "not_xlsx_zip", _describe_zip(by_name))
    if "xl/_rels/workbook.xml.rels" not in by_name:  # Excel cannot open a workbook without it either
        xlsx.read_xml("xl/_rels/workbook.xml.rels")  # → missing_part

    content_types = xlsx.read_xml("[Content_Types].xml")
    xlsx.macro_enabled = (
        "xl/vbaProject.bin" in by_name
        or b"macroenabled" in content_types.lower()
        or any(n.startswith("xl/macrosheets/") for n in by_name)  # Excel 4.0 macro sheets
    )
    for name in by_name:
        m = _EXTERNAL_LINK.match(name)
        if m:
            xlsx.external_links.extend(_link_targets(xlsx, name, f"xl/externalLinks/_rels/{m.group(1)}.rels"))
    return xlsx


def _check_directory_size(path: str, data: bytes, eocd: int) -> None:
    """Member count and directory size from the end records, before zipfile builds a
    ZipInfo per entry (a directory with millions of entries is itself a bomb)."""
    _, _, _, _, entries, cd_size, _, _ = struct.unpack("<4s4H2LH", data[eocd:eocd + 22])
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF:  # zip64: the real values are elsewhere
        locator = data[eocd - 20:eocd] if eocd >= 20 else b""
        if locator[:4] == _EOCD64_LOCATOR:
            (offset,) = struct.unpack("<Q", locator[8:16])
            record64 = data[offset:offset + 56]
            if len(record64) == 56 and record64[:4] == _EOCD64:
                entries, cd_size = struct.unpack("<QQ", record64[32:48])
    if cd_size > eocd or entries * 46 > cd_size:  # 46 bytes: the smallest directory entry
        raise UnreadableWorkbook(path, "corrupt_zip", _corrupt("内部文件目录的记录不一致"))
    if entries > MAX_MEMBERS:
        raise UnreadableWorkbook(path, "zip_bomb", _bomb(f"包含 {entries} 个内部文件，超过上限 {MAX_MEMBERS}"))
    if cd_size > MAX_CENTRAL_DIRECTORY:
        raise UnreadableWorkbook(path, "zip_bomb", _bomb(f"内部文件目录过大（{_mb(cd_size)}）"))


def _check_limits(path: str, data: bytes, infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_MEMBERS:
        raise UnreadableWorkbook(path, "zip_bomb", _bomb(f"包含 {len(infos)} 个内部文件，超过上限 {MAX_MEMBERS}"))
    total = 0
    for info in infos:
        size = info.file_size
        if size > MAX_MEMBER_BYTES:
            _refuse_size(path, data, info, f"内部文件 {info.filename} 解压后达 {_mb(size)}，超过单个上限 {_mb(MAX_MEMBER_BYTES)}")
        if size > RATIO_FLOOR and size > MAX_RATIO * info.compress_size:
            ratio = size / max(info.compress_size, 1)
            _refuse_size(path, data, info, f"内部文件 {info.filename} 压缩比 {ratio:,.0f}:1，超过上限 {MAX_RATIO}:1")
        total += size
    if total > MAX_TOTAL_BYTES:
        raise UnreadableWorkbook(path, "zip_bomb", _bomb(f"解压后总计 {_mb(total)}，超过上限 {_mb(MAX_TOTAL_BYTES)}"))


def _refuse_size(path: str, data: bytes, info: zipfile.ZipInfo, detail: str) -> None:
    """Over a limit: a bomb, unless the member's own header disagrees with the directory --
    then a damaged size field is the likelier story (the file is refused either way)."""
    local = _local_header(data, info)
    if local is None or _local_mismatch(local, info):
        raise UnreadableWorkbook(path, "corrupt_zip", _corrupt("内部目录与文件头不一致"))
    raise UnreadableWorkbook(path, "zip_bomb", _bomb(detail))


def _local_header(data: bytes, info: zipfile.ZipInfo) -> tuple[int, int, int, int, int, int] | None:
    """(flags, method, compressed size, size, name length, extra length) of the member's local
    header, or None if there is no local header where the directory says."""
    offset = info.header_offset
    header = data[offset:offset + 30]
    if len(header) < 30 or header[:4] != _LOCAL_HEADER:
        return None
    flags, method = struct.unpack("<HH", header[6:10])
    csize, usize, name_len, extra_len = struct.unpack("<LLHH", header[18:30])
    return flags, method, csize, usize, name_len, extra_len


def _local_mismatch(local: tuple[int, int, int, int, int, int], info: zipfile.ZipInfo) -> bool:
    flags, method, csize, usize, _, _ = local
    if (flags ^ info.flag_bits) & 0x1 or method != info.compress_type:
        return True
    if flags & 0x8 or 0xFFFFFFFF in (csize, usize):  # sizes in a data descriptor or zip64 extra
        return False
    return (csize, usize) != (info.compress_size, info.file_size)


def _read_member(path: str, data: bytes, info: zipfile.ZipInfo) -> bytes:
    """Inflate one member straight from the file's bytes: at most declared size + 1 byte is
    ever produced, the result must have exactly the declared size and CRC."""
    local = _local_header(data, info)
    if local is None:
        raise UnreadableWorkbook(path, "corrupt_zip", _corrupt(f"内部文件 {info.filename} 的位置错误"))
    _, _, _, _, name_len, extra_len = local
    start = info.header_offset + 30
    raw_name = data[start:start + name_len]
    if _local_mismatch(local, info) or raw_name != _raw_name(info):
        raise UnreadableWorkbook(path, "corrupt_zip", _corrupt(f"内部文件 {info.filename} 的文件头与目录不一致"))
    if info.flag_bits & 0x1:
        raise UnreadableWorkbook(path, "encrypted", "文件（压缩包）设置了密码，请取消密码后重新提交")
    start += name_len + extra_len
    compressed = memoryview(data)[start:start + info.compress_size]
    if len(compressed) < info.compress_size:
        raise UnreadableWorkbook(path, "corrupt_zip", _corrupt(f"内部文件 {info.filename} 不完整"))
    declared = info.file_size
    if info.compress_type == zipfile.ZIP_STORED:
        out = bytes(compressed)
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        try:
            out = zlib.decompressobj(-15).decompress(compressed, declared + 1)
        except zlib.error:
            raise UnreadableWorkbook(path, "corrupt_zip", _corrupt(f"内部文件 {info.filename} 的压缩数据损坏")) from None
    else:
        raise UnreadableWorkbook(
            path, "corrupt_zip",
            f"工作簿内部使用了 Excel/WPS 不使用的压缩方式（{info.compress_type}），无法读取；请在 Excel 或 WPS 中重新另存为 .xlsx")
    if len(out) > declared:
        # more data than declared: a header forged to pass the limits (its CRC fits the declared
        # prefix), or plain damage to the compressed bytes (it does not)
        if zlib.crc32(out[:declared]) == info.CRC:
            raise UnreadableWorkbook(
                path, "zip_bomb", _bomb(f"内部文件 {info.filename} 的实际大小超过其声明的 {declared} 字节，头信息被篡改或损坏"))
        raise UnreadableWorkbook(path, "corrupt_zip", _corrupt(f"内部文件 {info.filename} 校验失败"))
    if len(out) != declared or zlib.crc32(out) != info.CRC:
        raise UnreadableWorkbook(path, "corrupt_zip", _corrupt(f"内部文件 {info.filename} 校验失败"))
    return out


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    """The member name as stored in the central directory."""
    try:
        return info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
    except UnicodeEncodeError:
        return b""


def _link_targets(xlsx: SafeXlsx, part: str, rels: str) -> list[str]:
    """Where an external-link part points (recorded for the report, never followed)."""
    if rels not in xlsx:
        return [part]
    targets = [unquote(r.get("Target", "")) for r in xlsx.parse_xml(rels) if r.get("Target")]
    return targets or [part]


# --------------------------------------------------------------------------- messages

def _mb(size: int) -> str:
    return f"{size / MiB:.1f} MB" if size < 10 * MiB else f"{size / MiB:,.0f} MB"


def _corrupt(detail: str = "") -> str:
    detail = f"（{detail}）" if detail else ""
    return f"文件已损坏{detail}，无法读取；请重新下载附件，或请填报单位在 Excel 或 WPS 中重新保存后发送"


def _bomb(detail: str) -> str:
    return f"文件解压后体积异常（{detail}），疑似“压缩炸弹”，已拒绝处理；请确认文件来源，或请填报单位重新另存为普通 .xlsx"


def _ext(path: str) -> str:
    return PurePath(path).suffix.lower()


def _describe_zip(names: dict[str, zipfile.ZipInfo]) -> str:
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


def _describe_other(data: bytes, ext: str) -> str:
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
        pseudo = f"（扩展名为 {ext}，常见于业务系统导出的“伪 Excel”文件）" if ext in (".xls", ".xlsx", ".et") else ""
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
