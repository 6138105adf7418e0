"""Identify a submitted file and refuse it safely before anything parses it.

Budget units email us whatever their software produced: real .xlsx workbooks, but also
legacy .xls/.et files, password-protected workbooks, ODS, PDFs, screenshots, CSV exports,
"pseudo .xls" HTML pages, truncated attachments and -- in principle -- hostile zips.
`open_xlsx` reads the file once, decides which of these it is (`sniff` says what a non-xlsx
file is), and either returns a `SafeXlsx` (a zip that looks like an OOXML spreadsheet and is
within the limits of `zipguard`) or raises `UnreadableWorkbook` with a stable English
``kind`` and a one-line Chinese ``message`` saying what the file is and what to do.

Safety rules:

* zip limits are checked from the central directory BEFORE anything is decompressed, and
  members are inflated by a capped reader with CRC checks (`zipguard`);
* XML is parsed only by defusedxml with DTDs forbidden (no entity expansion, no external
  entities -- OOXML never contains a DTD), or by expat when the part has no DTD at all;
* macros and external links are recorded, never executed or followed.

Members are checked lazily, when read (`read_xml`, `parse_xml`), and each is inflated once;
`verify()` reads all of them.  Sniffing a 30 KB workbook costs well under a millisecond.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import xml.etree.ElementTree as _FastET
import zipfile
from functools import cached_property
from urllib.parse import unquote
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as DefusedET
from defusedxml import DefusedXmlException

from jixiao.xlsx import prolog
from jixiao.xlsx.sniff import ODS_MIMETYPE, OLE2_SIGNATURE, describe_other, describe_zip, ext, refuse_ole2
from jixiao.xlsx.unreadable import UnreadableWorkbook, mb
from jixiao.xlsx.zipguard import (  # noqa: F401  (the limits, re-exported: one place to read them)
    MAX_FILE_BYTES, MAX_MEMBER_BYTES, MAX_MEMBERS, MAX_RATIO, MAX_TOTAL_BYTES, ZIP_SIGNATURES, HeadReader,
    read_directory, read_member,
)

__all__ = [
    "MAX_FILE_BYTES", "MAX_MEMBERS", "MAX_MEMBER_BYTES", "MAX_RATIO", "MAX_TOTAL_BYTES", "NOT_REGULAR_FILE",
    "OLE2_SIGNATURE", "SafeXlsx", "UnreadableWorkbook", "is_special", "open_xlsx", "open_xlsx_bytes",
]

# said by `check` and `import` alike of a FIFO, a device or a socket (`is_special`)
NOT_REGULAR_FILE = "不是普通文件或文件夹（命名管道、设备等）"

# "<!DOCTYPE" / "<!ENTITY" in UTF-8 and in UTF-16 (for a part whose prolog `prolog` cannot read)
_DTD_MARKERS = tuple(m.encode(e) for m in ("<!DOCTYPE", "<!ENTITY") for e in ("utf-8", "utf-16-le", "utf-16-be"))
_XML_PART = (".xml", ".rels", ".vml")
_EXTERNAL_LINK = re.compile(r"^xl/externalLinks/([^/]+\.xml)$")


def is_special(mode: int) -> bool:
    """A named pipe, device or socket: opening one can block forever and reading one may never
    end.  `check` and `import` both refuse such a file by this test, before reading it."""
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _xml_bomb(path: str, name: str) -> UnreadableWorkbook:
    return UnreadableWorkbook(
        path, "xml_bomb",
        f"工作簿内部的 {name} 含有 DTD 或实体定义（Excel/WPS 从不生成，疑似恶意构造的“XML 炸弹”），已拒绝处理；"
        "请确认文件来源，并在 Excel 或 WPS 中重新另存为 .xlsx")


# --------------------------------------------------------------------------- the opened file

class SafeXlsx:
    """A zip that passed the checks of `open_xlsx`.  Parts are read on demand, each with a
    hard size cap and a CRC check, and kept (a part read twice is inflated once); XML parts
    are parsed with defusedxml only."""

    def __init__(self, path: str, data: bytes, infos: dict[str, zipfile.ZipInfo]):
        self.path = path
        self.data = data  # the file's bytes, read once (hand these on rather than re-reading)
        self.size = len(data)
        self.names: list[str] = list(infos)
        self.macro_enabled = False
        self.external_links: list[str] = []
        self._infos = infos
        self._read: dict[str, bytes] = {}

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
        raw = self._read.get(name)
        if raw is not None:
            return raw
        info = self._infos.get(name)
        if info is None:
            raise UnreadableWorkbook(
                self.path, "missing_part",
                f"工作簿缺少必要的内部部件 {name}，文件不完整或已损坏；请在 Excel 或 WPS 中打开后重新另存为 .xlsx")
        raw = self._read[name] = read_member(self.path, self.data, info)
        return raw

    def read_until(self, name: str, needle: bytes) -> bytes | None:
        """The bytes of a part before the first `needle`, inflating no further than that (the
        metadata a check needs stands at the top of a 150 KB sheet); None if the part has no
        `needle`.  The size cap holds; the CRC, which needs the whole part, is checked only if
        the whole part was read."""
        raw = self._read.get(name)
        if raw is not None:
            cut = raw.find(needle)
            return raw[:cut] if cut >= 0 else None
        reader = HeadReader(self.path, self.data, self._infos[name])
        searched = 0
        while reader.more():
            cut = reader.head.find(needle, searched)
            if cut >= 0:
                return reader.head[:cut]
            searched = max(0, len(reader.head) - len(needle) + 1)
        raw = self.read_xml(name)  # all of it after all: read it properly, CRC and all
        cut = raw.find(needle)
        return raw[:cut] if cut >= 0 else None

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
            raise _xml_bomb(self.path, name) from None
        except (ParseError, ValueError, LookupError) as exc:
            line, col = getattr(exc, "position", (0, 0))
            where = f"（第 {line} 行第 {col} 列）" if line else ""
            raise UnreadableWorkbook(
                self.path, "corrupt_xml",
                f"工作簿内部的 {name} 不是有效的 XML{where}，文件已损坏；请在 Excel 或 WPS 中打开后重新另存为 .xlsx") from None

    def refuse_dtd(self) -> None:
        """Refuse a DTD in ANY XML part, also those the checker never parses itself
        (docProps/core.xml, styles.xml ...) but openpyxl would (``--annotate``): Excel and WPS
        never write one.  A DTD can only stand before the root element (`prolog`), so each part
        is inflated only up to its root start tag -- a part already read is looked at in memory
        -- and a part whose prolog the scan cannot read is searched whole, as it always was."""
        for name, info in self._infos.items():
            if not name.lower().endswith(_XML_PART) or info.is_dir():
                continue
            raw = self._read.get(name)
            if raw is not None:
                verdict = prolog.scan(raw, True)
            else:
                reader = HeadReader(self.path, self.data, info)
                verdict = prolog.MORE
                while verdict == prolog.MORE and reader.more():
                    verdict = prolog.scan(reader.head, reader.complete)
                if verdict == prolog.MORE:
                    verdict = prolog.scan(reader.head, True)
            if verdict == prolog.UNSURE:
                raw = self.read_xml(name)
                verdict = prolog.DTD if any(marker in raw for marker in _DTD_MARKERS) else prolog.ROOT
            if verdict == prolog.DTD:
                raise _xml_bomb(self.path, name)

    def verify(self) -> None:
        """Read every member (capped, CRC-checked): for callers that hand `data` to another
        reader and want corruption reported by us first."""
        for name in self._infos:
            self.read_xml(name)

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
        refuse_ole2(shown, data)
    if data[:4] in ZIP_SIGNATURES:
        return _open_zip(shown, data)
    raise UnreadableWorkbook(shown, "not_spreadsheet", describe_other(data, ext(shown)))


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
            # as much as the file says it holds, and the rest only if it holds more (a file that
            # grows, or says 0 as /proc does): a buffer of the whole limit costs more than the read
            data = f.read(declared + 1)
            if len(data) > declared:
                data += f.read(MAX_FILE_BYTES + 1 - len(data))
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
    return f"文件过大（{mb(size)}，上限 {mb(MAX_FILE_BYTES)}），不像是绩效自评工作簿；请确认提交的文件是否正确"


def _open_zip(path: str, data: bytes) -> SafeXlsx:
    by_name = read_directory(path, data)
    xlsx = SafeXlsx(path, data, by_name)

    mimetype = by_name.get("mimetype")
    if mimetype is not None and mimetype.file_size <= 256:
        kind = read_member(path, data, mimetype).strip()
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
        raise UnreadableWorkbook(path, "not_xlsx_zip", describe_zip(by_name))
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


def _link_targets(xlsx: SafeXlsx, part: str, rels: str) -> list[str]:
    """Where an external-link part points (recorded for the report, never followed)."""
    if rels not in xlsx:
        return [part]
    targets = [unquote(r.get("Target", "")) for r in xlsx.parse_xml(rels) if r.get("Target")]
    return targets or [part]


