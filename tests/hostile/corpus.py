"""The hostile corpus, built in the test run from the samples: every kind of bad or hostile
input a bureau has met, each with the exit code and message code `jixiao check` must give.

No binary blobs: the few bytes of an OLE2 header or a PDF are written here; everything else is
the Futian sample workbook edited at the level of its zip parts (tests/workbook_surgery.py)."""

from __future__ import annotations

import io
import re
import mailbox
import os
import struct
import urllib.parse
import zipfile
import zlib
from dataclasses import dataclass
from email import policy
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path
from typing import Callable

from mail_builders import attachment, rfc2047_gbk
from workbook_surgery import Xlsx

from jixiao.data import load_data
from jixiao.framework.loader import load_framework
from jixiao.samples import sample_path
from jixiao.workbook.generator import build_workbook

FW = load_framework()
FUTIAN = load_data(FW, sample_path("futian"))
GOOD = dict(FUTIAN, exec_public_actual=46.78, daily_public_budget=58.67)  # Futian, its two slips corrected
MiB = 1024 * 1024
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MARKUP_UNIT = "[/]深圳市[bold]标记[/bold]单位"
LINK_UNIT = "[link=https://evil.example/]点此领取[/link]"
LONG_UNIT = "深" * 32767  # the most characters an Excel cell holds
BOMB_UNIT = "深圳市谎报大小单位"


@dataclass(frozen=True)
class Case:
    name: str                 # file name (str, or bytes for a name that is not UTF-8)
    exit_code: int            # of `jixiao check`
    code: str | None          # the message code that decides the verdict (None: accepted, no error)
    make: Callable[[Path], None]


def built(data: dict | None = None) -> Xlsx:
    buf = io.BytesIO()
    build_workbook(FW, data).save(buf)
    return Xlsx.load(buf.getvalue())


def place(field_id: str) -> tuple[str, str]:
    p = build_workbook(FW).inputs.get(field_id) or build_workbook(FW).computed[field_id]
    return p.sheet, p.coord


def write(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


# --------------------------------------------------------------------------- the workbooks

def _lying_size(unit: str) -> bytes:
    """A member whose directory and local header declare its true start's size and CRC, while
    the compressed data inflates to megabytes more: only a capped inflater notices."""
    x = built(dict(GOOD, unit_name=unit))
    sheet, _ = place("total")
    part = x.sheet_part(sheet)
    honest = x.members[part]
    x.members[part] = honest + b" " * (8 * MiB)
    data = bytearray(x.to_bytes())
    name = part.encode()
    crc, size = zlib.crc32(honest), len(honest)
    pos = 0
    while (pos := data.find(b"PK\x03\x04", pos)) >= 0:
        n_len = struct.unpack_from("<H", data, pos + 26)[0]
        if data[pos + 30:pos + 30 + n_len] == name:
            struct.pack_into("<I", data, pos + 14, crc)
            struct.pack_into("<I", data, pos + 22, size)
        pos += 4
    pos = 0
    while (pos := data.find(b"PK\x01\x02", pos)) >= 0:
        n_len = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46:pos + 46 + n_len] == name:
            struct.pack_into("<I", data, pos + 16, crc)
            struct.pack_into("<I", data, pos + 24, size)
        pos += 4
    return bytes(data)


def _bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w") as member:
            for _ in range(60):
                member.write(bytes(MiB))
    return out.getvalue()


def _bad_shared_string() -> bytes:
    sheet, coord = place("unit_name")
    x = built(GOOD)
    return x.replace_cell(sheet, coord, f'<c r="{coord}" t="s"><v>99</v></c>').to_bytes()


def _dtd_in(part: str) -> bytes:
    x = built(GOOD)
    text = x.text(part)
    decl_end = text.find("?>") + 2 if text.startswith("<?xml") else 0
    root = text[decl_end:].lstrip().split()[0].lstrip("<")
    dtd = f'<!DOCTYPE {root} [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    return x.set_text(part, text[:decl_end] + dtd + text[decl_end:]).to_bytes()


def _external_input() -> bytes:
    sheet, coord = place("staff_contract")
    x = built(GOOD)
    cell = x.cell_xml(sheet, coord)
    style = (cell.split(' s="', 1)[1].split('"', 1)[0]) if ' s="' in cell else None
    s = f' s="{style}"' if style else ""
    x.replace_cell(sheet, coord, f'<c r="{coord}"{s}><f>[1]人员!$B$2</f><v>{GOOD["staff_contract"]}</v></c>')
    x.add("xl/externalLinks/externalLink1.xml",
          '<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>',
          "application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml")
    return x.to_bytes()


def _ods() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", "<office:document-content/>")
    return out.getvalue()


def _fifo(path: Path) -> None:
    os.mkfifo(path)


GBK_NAME = "福田区自评表（GBK文件名）.xlsx".encode("gbk")
BAD_BYTES_NAME = b"\xff\xfe\x80\x81-undecodable.xlsx"  # neither UTF-8 nor GB18030
# terminal escapes in a file name: red text and an OSC 8 hyperlink ("/" cannot be in a name)
ESCAPE_NAME = "终端\x1b[31m红色\x1b]8;;https:evil.example\x1b\\链接\x1b]8;;\x1b\\.xlsx"
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def cases() -> list[Case]:
    good = built(GOOD).to_bytes()
    return [
        Case("空文件.xlsx", 2, "empty", write(b"")),
        Case("截断.xlsx", 2, "truncated_zip", write(good[: len(good) // 2])),
        Case("旧版.xls", 2, "xls", write(OLE2 + bytes(504) + "Workbook".encode("utf-16-le"))),
        Case("加密.xlsx", 2, "encrypted", write(OLE2 + bytes(504) + "EncryptedPackage".encode("utf-16-le"))),
        Case("表格.ods", 2, "ods", write(_ods())),
        Case("改名的PDF.xlsx", 2, "not_spreadsheet", write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")),
        Case("网页.xls", 2, "not_spreadsheet", write("<html><body><table><tr><td>自评表</td></tr></table>".encode())),
        Case("压缩炸弹.xlsx", 2, "zip_bomb", write(_bomb())),
        Case("谎报大小.xlsx", 2, "zip_bomb", write(_lying_size(BOMB_UNIT))),
        Case("共享字符串越界.xlsx", 2, "corrupt_part", write(_bad_shared_string())),
        Case("命名管道.xlsx", 2, "not_regular_file", _fifo),
        Case("核心属性DTD.xlsx", 2, "xml_bomb", write(_dtd_in("docProps/core.xml"))),
        Case("样式DTD.xlsx", 2, "xml_bomb", write(_dtd_in("xl/styles.xml"))),
        Case("外部链接输入.xlsx", 1, "external_input", write(_external_input())),
        Case("标记单位.xlsx", 0, None, write(built(dict(GOOD, unit_name=MARKUP_UNIT)).to_bytes())),
        Case("链接单位.xlsx", 0, None, write(built(dict(GOOD, unit_name=LINK_UNIT)).to_bytes())),
        Case("超长单位名称.xlsx", 0, None, write(built(dict(GOOD, unit_name=LONG_UNIT)).to_bytes())),
        Case(GBK_NAME, 0, None, write(good)),
        Case(BAD_BYTES_NAME, 0, None, write(good)),
        Case(ESCAPE_NAME, 0, None, write(good)),
    ]


def case_path(folder: Path, case: Case) -> Path:
    name = os.fsdecode(case.name) if isinstance(case.name, bytes) else case.name
    return folder / name


def build_cases(folder: Path) -> list[tuple[Case, Path]]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for case in cases():
        path = case_path(folder, case)
        if not os.path.lexists(path):
            case.make(path)
        out.append((case, path))
    return out


# --------------------------------------------------------------------------- containers for import

def zip_with_raw_names(members: dict[bytes, bytes]) -> bytes:
    """A zip whose member names are raw bytes without the UTF-8 flag (GBK, as Windows zips do):
    written under ASCII stand-ins of the same length, then the names swapped in."""
    out = io.BytesIO()
    stand_ins = {}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, (raw, data) in enumerate(members.items()):
            stand_in = (f"{i:03d}" + "x" * len(raw))[: len(raw)].encode()
            stand_ins[stand_in] = raw
            zf.writestr(stand_in.decode(), data)
    data = out.getvalue()
    for stand_in, raw in stand_ins.items():
        assert data.count(stand_in) == 2
        data = data.replace(stand_in, raw)
    return data


def traversal_zip(good: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in ("../../逃逸.xlsx", "正常/../../上级.xlsx", "/etc/绝对路径.xlsx", "C:\\Windows\\盘符.xlsx",
                     "正常.xlsx"):
            zf.writestr(zipfile.ZipInfo(name), good)
    return out.getvalue()


def rfc2231_gbk(name: str) -> str:
    return f"attachment; filename*=GBK''{urllib.parse.quote(name.encode('gbk'))}"


def rfc2231_gbk_continued(name: str) -> str:
    raw = urllib.parse.quote(name.encode("gbk"))
    cut = 3  # between the two bytes of the first character: "%BC" | "%BA..."
    return f"attachment; filename*0*=GBK''{raw[:cut]}; filename*1*={raw[cut:]}"


def mail(*parts: MIMEBase, subject: str = "自评表") -> bytes:
    msg = MIMEMultipart()
    msg["From"] = "unit@example.gov.cn"
    msg["Subject"] = subject
    msg["Date"] = "Tue, 01 Mar 2022 09:00:00 +0800"
    msg.attach(MIMEText("请查收附件。", "plain", "utf-8"))
    for part in parts:
        msg.attach(part)
    return msg.as_bytes(policy=policy.compat32.clone(linesep="\r\n", max_line_length=0))


def build_inbox(root: Path) -> tuple[Path, dict[str, bytes | None]]:
    """The whole corpus as an inbox for `jixiao import`, and the receipts it must leave:
    source (as displayed) → raw path bytes (None when the path is valid UTF-8)."""
    inbox = root / "收件"
    pairs = build_cases(inbox)
    expected: dict[str, bytes | None] = {}
    for case, path in pairs:
        raw = isinstance(case.name, bytes) or CONTROL.search(case.name)
        shown = f"{inbox}/{CONTROL.sub(chr(0xFFFD), _shown(case.name))}"
        expected[shown] = os.fsencode(path) if raw else None
    good = built(GOOD).to_bytes()
    warned = built(FUTIAN).to_bytes()
    # a GBK-named folder with a file in it
    gbk_dir = inbox / os.fsdecode("报送材料".encode("gbk"))
    gbk_dir.mkdir()
    (gbk_dir / "甲单位.xlsx").write_bytes(good)
    expected[f"{inbox}/报送材料/甲单位.xlsx"] = os.fsencode(gbk_dir / "甲单位.xlsx")
    # zips: traversal names, GBK names without the UTF-8 flag
    (inbox / "穿越.zip").write_bytes(traversal_zip(good))
    for name in ("../../逃逸.xlsx", "正常/../../上级.xlsx", "/etc/绝对路径.xlsx", "C:\\Windows\\盘符.xlsx", "正常.xlsx"):
        expected[f"{inbox}/穿越.zip!{name}"] = None
    (inbox / "GBK压缩包.zip").write_bytes(zip_with_raw_names({"乙单位自评表.xlsx".encode("gbk"): warned,
                                                            "../丙单位.xlsx".encode("gbk"): good}))
    expected[f"{inbox}/GBK压缩包.zip!乙单位自评表.xlsx"] = None
    expected[f"{inbox}/GBK压缩包.zip!../丙单位.xlsx"] = None
    # mail with GBK names: RFC 2047 and RFC 2231 (one continued, splitting a character)
    (inbox / "来信.eml").write_bytes(mail(attachment(good, rfc2231_gbk("丁单位自评表.xlsx")),
                                        attachment(warned, rfc2047_gbk("戊单位自评表.xlsx"))))
    expected[f"{inbox}/来信.eml → 附件 丁单位自评表.xlsx"] = None
    # a NUL in an attachment name (PostgreSQL refuses NUL in text)
    (inbox / "空字符.eml").write_bytes(mail(attachment(good, "attachment; filename*=UTF-8''%E8%BE%9B%00.xlsx")))
    expected[f"{inbox}/空字符.eml → 附件 辛\ufffd.xlsx"] = None
    expected[f"{inbox}/来信.eml → 附件 戊单位自评表.xlsx"] = None
    box = mailbox.mbox(inbox / "邮箱导出.mbox")
    box.add(mail(attachment(good, rfc2231_gbk_continued("己单位自评表.xlsx"))))
    box.add(mail(attachment(_lying_size("邮件里的炸弹"), rfc2047_gbk("庚单位[bold]自评表.xlsx"))))
    box.add(mail(subject="没有附件"))
    box.close()
    expected[f"{inbox}/邮箱导出.mbox#1 → 附件 己单位自评表.xlsx"] = None
    expected[f"{inbox}/邮箱导出.mbox#2 → 附件 庚单位[bold]自评表.xlsx"] = None
    expected[f"{inbox}/邮箱导出.mbox#3"] = None
    # a control character in a file name (Linux allows any byte but "/" and NUL)
    (inbox / "控制\x01字符.xlsx").write_bytes(good)
    expected[f"{inbox}/控制\ufffd字符.xlsx"] = os.fsencode(inbox / "控制\x01字符.xlsx")
    # a dangling link
    os.symlink(inbox / "不存在的文件.xlsx", inbox / "断开的链接.xlsx")
    expected[f"{inbox}/断开的链接.xlsx"] = None
    return inbox, expected


def _shown(name: str | bytes) -> str:
    from jixiao.names import display_name

    return display_name(name)
