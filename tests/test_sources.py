"""`jixiao.importer.sources`: every path given to `jixiao import` becomes candidates or problems.

All test data is built here with the stdlib (`email`, `mailbox`, `zipfile`) or by hand
(zip files with GBK names or encrypted members, which zipfile cannot write).
"""

from __future__ import annotations

import base64
import hashlib
import io
import mailbox
import os
import struct
import urllib.parse
import zipfile
import zlib
from datetime import datetime, timedelta, timezone
from email import encoders, policy
from email.header import Header
from email.message import EmailMessage
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest

from jixiao.importer.sources import Candidate, Limits, SourceProblem, iter_sources

FUTIAN = "福田区政务服务中心2021年自评表.xlsx"
LONGGANG = "龙岗区人事服务中心（定稿）.xlsx"
GBK_ONLY = "罗湖区珺琦中心自评表.xlsx"          # 珺 is in GBK, not in GB2312
GB18030_ONLY = "南山区𠀀中心自评表.xlsx"         # 𠀀 (U+20000) needs GB18030's 4-byte form

DATE = "Fri, 05 Mar 2021 09:30:00 +0800"
RECEIVED = datetime(2021, 3, 5, 9, 30, tzinfo=timezone(timedelta(hours=8)))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RAW = policy.compat32.clone(linesep="\r\n", max_line_length=0)  # keeps our raw headers as written


def payload(tag: str) -> bytes:
    return f"PK\x03\x04 workbook {tag}".encode()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def run(*paths, **kw) -> list[Candidate | SourceProblem]:
    return list(iter_sources(list(paths), **kw))


def candidates(items) -> list[Candidate]:
    return [i for i in items if isinstance(i, Candidate)]


def problems(items) -> list[SourceProblem]:
    return [i for i in items if isinstance(i, SourceProblem)]


# --------------------------------------------------------------------------- builders


def attachment(data: bytes, disposition: str | None = None, content_type: str = "application/octet-stream",
               **headers: str) -> MIMEBase:
    """A base64 MIME part whose Content-Disposition / Content-Type are exactly the raw strings given
    (surrogate escapes stand for raw 8-bit bytes)."""
    main, sub = content_type.split(";")[0].strip().split("/")
    part = MIMEBase(main, sub)
    part.set_payload(data)
    encoders.encode_base64(part)
    if ";" in content_type:
        part.replace_header("Content-Type", content_type)
    if disposition is not None:
        part["Content-Disposition"] = disposition
    for key, value in headers.items():
        part[key.replace("_", "-")] = value
    return part


def mail(*parts, subject: str = "2021年自评表", date: str | None = DATE, body: str = "请查收附件。") -> MIMEMultipart:
    msg = MIMEMultipart()
    msg["From"] = "unit@futian.gov.cn"
    msg["To"] = "jixiao@czj.gov.cn"
    msg["Subject"] = Header(subject, "gbk")
    if date is not None:
        msg["Date"] = date
    msg.attach(MIMEText(body, "plain", "utf-8"))
    for part in parts:
        msg.attach(part)
    return msg


def write_mail(path: Path, msg) -> Path:
    path.write_bytes(msg.as_bytes(policy=RAW) if not isinstance(msg, bytes) else msg)
    return path


def raw8(text: str, encoding: str = "gbk") -> str:
    """``text`` as raw 8-bit bytes inside a header (what the parser keeps as surrogate escapes)."""
    return text.encode(encoding).decode("ascii", "surrogateescape")


def b_word(charset: str, text: str, codec: str | None = None) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(codec or charset)).decode()}?="


def q_word(charset: str, text: str, codec: str | None = None) -> str:
    raw = text.encode(codec or charset)
    return f"=?{charset}?Q?" + "".join(chr(c) if chr(c).isalnum() and c < 128 else f"={c:02X}" for c in raw) + "?="


def rfc2231_sections(charset: str, text: str, codec: str, per: int = 5) -> str:
    """``filename*0*=charset''..; filename*1*=..`` splitting every ``per`` octets -- i.e. inside characters."""
    raw = text.encode(codec)
    chunks = [urllib.parse.quote(raw[i:i + per], safe="") for i in range(0, len(raw), per)]
    sections = [f"filename*{i}*={charset}''{c}" if i == 0 else f"filename*{i}*={c}" for i, c in enumerate(chunks)]
    return "attachment;\r\n " + ";\r\n ".join(sections)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def raw_zip(entries: list[tuple[bytes, bytes, int, bytes]]) -> bytes:
    """A stored zip written by hand: (name bytes, data, general purpose flags, extra field).

    zipfile always writes non-ASCII names as UTF-8 with flag 0x800 and cannot encrypt, so
    GBK names (Windows Chinese zip tools) and encrypted members are built byte by byte."""
    out = bytearray()
    central = bytearray()
    for name, data, flags, extra in entries:
        crc = zlib.crc32(data)
        offset = len(out)
        out += struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, flags, 0, 0, 0x21, crc, len(data), len(data),
                           len(name), len(extra)) + name + extra + data
        central += struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, flags, 0, 0, 0x21, crc, len(data),
                               len(data), len(name), len(extra), 0, 0, 0, 0, offset) + name + extra
    n = len(entries)
    return bytes(out + central + struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, n, n, len(central), len(out), 0))


# --------------------------------------------------------------------------- attachment names

NAME_CASES = {
    # RFC 2047, B and Q, in every GB charset and UTF-8, quoted as clients do
    "2047-B-GBK": (f'attachment; filename="{b_word("GBK", FUTIAN)}"', None, FUTIAN),
    "2047-B-gb2312": (f'attachment; filename="{b_word("gb2312", LONGGANG)}"', None, LONGGANG),
    "2047-B-GB18030": (f'attachment; filename="{b_word("GB18030", GB18030_ONLY)}"', None, GB18030_ONLY),
    "2047-B-UTF-8": (f'attachment; filename="{b_word("UTF-8", FUTIAN)}"', None, FUTIAN),
    "2047-Q-GBK": (f'attachment; filename="{q_word("GBK", LONGGANG)}"', None, LONGGANG),
    "2047-Q-gb2312": (f'attachment; filename="{q_word("gb2312", FUTIAN)}"', None, FUTIAN),
    "2047-Q-GB18030": (f'attachment; filename="{q_word("GB18030", GB18030_ONLY)}"', None, GB18030_ONLY),
    "2047-Q-UTF-8": (f'attachment; filename="{q_word("UTF-8", LONGGANG)}"', None, LONGGANG),
    # mislabelled: gb2312 declared, GBK / GB18030 characters inside (stdlib: U+FFFD)
    "2047-B-gb2312-with-GBK-chars": (f'attachment; filename="{b_word("gb2312", GBK_ONLY, "gbk")}"', None, GBK_ONLY),
    "2047-Q-gb2312-with-GB18030-chars": (
        f'attachment; filename="{q_word("gb2312", GB18030_ONLY, "gb18030")}"', None, GB18030_ONLY),
    # encoded word not quoted (stdlib: None)
    "2047-B-unquoted": (f"attachment; filename={b_word('GBK', FUTIAN)}", None, FUTIAN),
    # one character split over two encoded words (stdlib: U+FFFD)
    "2047-B-split-character": (
        'attachment; filename="=?GBK?B?{}?= =?GBK?B?{}?="'.format(
            base64.b64encode(FUTIAN.encode("gbk")[:5]).decode(),
            base64.b64encode(FUTIAN.encode("gbk")[5:]).decode()),
        None, FUTIAN),
    # raw 8-bit text beside an encoded word (email.header.decode_header: \uXXXX escapes)
    "2047-beside-raw-text": (
        f'attachment; filename="{raw8("龙岗区", "utf-8")}{b_word("UTF-8", "人事服务中心（定稿）.xlsx")}"', None, LONGGANG),
    "2047-beside-raw-GBK": (f'attachment; filename="{raw8("龙岗区")}{b_word("GBK", LONGGANG[3:])}"', None, LONGGANG),
    # a base64 word one character too long (email.header.decode_header: HeaderParseError)
    "2047-B-one-character-too-long": (
        'attachment; filename="=?UTF-8?B?{}A?="'.format(base64.b64encode("自评表1.xlsx".encode()).decode()),
        None, "自评表1.xlsx"),
    # RFC 2231
    "2231-GBK": (f"attachment; filename*=GBK''{urllib.parse.quote(FUTIAN.encode('gbk'))}", None, FUTIAN),
    "2231-UTF-8": (f"attachment; filename*=UTF-8''{urllib.parse.quote(LONGGANG.encode('utf-8'))}", None, LONGGANG),
    "2231-gb2312-with-GBK-chars": (
        f"attachment; filename*=gb2312''{urllib.parse.quote(GBK_ONLY.encode('gbk'))}", None, GBK_ONLY),
    "2231-GBK-continuations": (rfc2231_sections("GBK", LONGGANG, "gbk"), None, LONGGANG),
    "2231-UTF-8-continuations": (rfc2231_sections("UTF-8", FUTIAN, "utf-8", per=7), None, FUTIAN),
    "2231-GB18030-continuations": (rfc2231_sections("GB18030", GB18030_ONLY, "gb18030", per=3), None,
                                   GB18030_ONLY),
    # raw 8-bit, no encoding at all (stdlib: U+FFFD for GBK)
    "raw-8bit-GBK": (f'attachment; filename="{raw8(LONGGANG)}"', None, LONGGANG),
    "raw-8bit-GBK-unquoted": (f"attachment; filename={raw8(FUTIAN)}", None, FUTIAN),
    "raw-8bit-UTF-8": (f'attachment; filename="{raw8(FUTIAN, "utf-8")}"', None, FUTIAN),
    # the name only in Content-Type (old Outlook / Foxmail), no filename
    "content-type-name-2047": (
        "attachment", f'application/vnd.ms-excel; name="{b_word("gb2312", LONGGANG)}"', LONGGANG),
    "content-type-name-raw-GBK": (None, f'application/octet-stream; name="{raw8(FUTIAN)}"', FUTIAN),
    # filename* preferred over a garbled filename (RFC 6266)
    "2231-wins-over-plain": (
        f"attachment; filename=\"????.xlsx\"; filename*=UTF-8''{urllib.parse.quote(FUTIAN)}", None, FUTIAN),
    # full Windows path sent as the name
    "windows-path": ('attachment; filename="' + raw8("C:\\Users\\czj\\桌面\\" + LONGGANG) + '"', None, LONGGANG),
}


@pytest.mark.parametrize("case", NAME_CASES, ids=list(NAME_CASES))
def test_attachment_names_are_decoded(tmp_path: Path, case: str) -> None:
    disposition, content_type, expected = NAME_CASES[case]
    data = payload(case)
    part = attachment(data, disposition, content_type or "application/octet-stream")
    path = write_mail(tmp_path / "报送.eml", mail(part))

    items = run(path)

    assert items == [Candidate(f"{path} → 附件 {expected}", expected, data, RECEIVED, sha(data))]
    assert items[0].received.tzinfo is not None


def test_email_message_add_attachment(tmp_path: Path) -> None:
    """What a modern client (and the stdlib itself) writes: RFC 2231 UTF-8 with folding."""
    msg = EmailMessage()
    msg["Subject"] = "自评表"
    msg["Date"] = "Mon, 08 Mar 2021 17:05:09 +0000"
    msg.set_content("见附件")
    data = payload("modern")
    msg.add_attachment(data, maintype="application", subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       filename="深圳市龙岗区人事服务中心部门整体支出绩效自评表（定稿）2021.xlsx")
    path = write_mail(tmp_path / "modern.eml", msg.as_bytes())

    [item] = run(path)

    assert item.original_name == "深圳市龙岗区人事服务中心部门整体支出绩效自评表（定稿）2021.xlsx"
    assert item.data == data
    assert item.received == datetime(2021, 3, 8, 17, 5, 9, tzinfo=timezone.utc)


def test_received_dates(tmp_path: Path) -> None:
    data = payload("d")
    named = f'attachment; filename="{raw8(FUTIAN, "utf-8")}"'
    no_date = write_mail(tmp_path / "no-date.eml", mail(attachment(data, named), date=None))
    utc_unknown = write_mail(tmp_path / "minus-zero.eml", mail(attachment(data, named), date="5 Mar 2021 01:30 -0000"))
    garbage = write_mail(tmp_path / "bad-date.eml", mail(attachment(data, named), date="last Friday"))

    [a] = run(no_date)
    [b] = run(utc_unknown)
    [c] = run(garbage)

    assert a.received is None and a.original_name == FUTIAN
    assert b.received == datetime(2021, 3, 5, 1, 30, tzinfo=timezone.utc)
    assert c.received is None


# --------------------------------------------------------------------------- mail structure


def test_forwarded_mail_with_original_as_message_rfc822(tmp_path: Path) -> None:
    original_data, extra_data = payload("original"), payload("extra")
    original = mail(attachment(original_data, f'attachment; filename="{b_word("GBK", FUTIAN)}"'),
                    subject="福田区自评表", date="Tue, 02 Mar 2021 10:00:00 +0800")
    forward = mail(MIMEMessage(original),
                   attachment(extra_data, f"attachment; filename*=GBK''{urllib.parse.quote(LONGGANG.encode('gbk'))}"),
                   subject="转发：福田区自评表")
    path = write_mail(tmp_path / "fwd.eml", forward)

    items = run(path)

    assert [(i.source, i.original_name, i.data, i.received) for i in items] == [
        (f"{path} → 转发的邮件「福田区自评表」 → 附件 {FUTIAN}", FUTIAN, original_data, RECEIVED),
        (f"{path} → 附件 {LONGGANG}", LONGGANG, extra_data, RECEIVED),
    ]


def test_original_attached_as_eml_file_and_nested_forward(tmp_path: Path) -> None:
    data = payload("deep")
    original = mail(attachment(data, f'attachment; filename="{raw8(LONGGANG)}"'), subject="原件", date=None)
    middle = mail(MIMEMessage(original), subject="转发一次", date=None)
    eml = attachment(middle.as_bytes(policy=RAW), 'attachment; filename="原始邮件.eml"')
    path = write_mail(tmp_path / "outer.eml", mail(eml, date="Wed, 10 Mar 2021 08:00:00 +0800"))

    [item] = run(path)

    assert item.source == f"{path} → 附件 原始邮件.eml → 转发的邮件「原件」 → 附件 {LONGGANG}"
    assert item.received == datetime(2021, 3, 10, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    assert item.data == data


def test_forward_as_named_message_rfc822_part(tmp_path: Path) -> None:
    data = payload("named")
    original = mail(attachment(data, f'attachment; filename="{b_word("GBK", FUTIAN)}"'), date=None)
    wrapper = MIMEMessage(original)
    wrapper["Content-Disposition"] = f'attachment; filename="{b_word("GBK", "原邮件.eml")}"'
    path = write_mail(tmp_path / "fwd.eml", mail(wrapper))

    [item] = run(path)

    assert item.source == f"{path} → 附件 原邮件.eml → 附件 {FUTIAN}"
    assert item.received == RECEIVED


def test_mails_inside_a_zip(tmp_path: Path) -> None:
    a, b, c = payload("a"), payload("b"), payload("c")
    one = mail(attachment(a, f'attachment; filename="{raw8(FUTIAN)}"')).as_bytes(policy=RAW)
    box = tmp_path / "tmp.mbox"
    mbox = mailbox.mbox(box)
    mbox.add(mail(attachment(b, 'attachment; filename="b.xlsx"')).as_bytes(policy=RAW))
    mbox.add(mail(attachment(c, 'attachment; filename="c.xlsx"'), date=None).as_bytes(policy=RAW))
    mbox.close()
    archive = tmp_path / "邮件导出.zip"
    archive.write_bytes(zip_bytes({"单封.eml": one, "导出.mbox": box.read_bytes(), "多封.eml": box.read_bytes()}))

    items = run(archive)

    assert [(i.source, i.data, i.received) for i in items] == [
        (f"{archive}!单封.eml → 附件 {FUTIAN}", a, RECEIVED),
        (f"{archive}!导出.mbox#1 → 附件 b.xlsx", b, RECEIVED),
        (f"{archive}!导出.mbox#2 → 附件 c.xlsx", c, None),
        (f"{archive}!多封.eml#1 → 附件 b.xlsx", b, RECEIVED),
        (f"{archive}!多封.eml#2 → 附件 c.xlsx", c, None),
    ]


def test_mail_with_zip_attachment(tmp_path: Path) -> None:
    a, b = payload("a"), payload("b")
    archive = zip_bytes({"福田区/自评表.xlsx": a, "龙岗区.xls": b, "__MACOSX/福田区/._自评表.xlsx": b"junk"})
    part = attachment(archive, f'attachment; filename="{b_word("GBK", "材料.zip")}"', "application/zip")
    path = write_mail(tmp_path / "zip.eml", mail(part))

    items = run(path)

    assert [(i.source, i.original_name, i.data, i.received) for i in items] == [
        (f"{path} → 附件 材料.zip!福田区/自评表.xlsx", "自评表.xlsx", a, RECEIVED),
        (f"{path} → 附件 材料.zip!龙岗区.xls", "龙岗区.xls", b, RECEIVED),
    ]


def test_inline_images_skipped_other_attachments_kept(tmp_path: Path) -> None:
    msg = mail(
        attachment(b"\x89PNG logo", "inline", "image/png"),
        attachment(b"\x89PNG sig", None, 'image/png; name="签名.png"', Content_ID="<sig@x>"),
        attachment(b"GIF89a", 'inline; filename="表情.gif"', "image/gif"),
        attachment(b"\xff\xd8 photo", 'attachment; filename="现场照片.jpg"', "image/jpeg"),
        attachment(b"%PDF", 'inline; filename="说明.pdf"', "application/pdf"),          # Apple Mail style
        attachment(b"PK docx", 'attachment; filename="报告.docx"'),
        attachment(b"PK xlsx", 'inline; filename="自评表.xlsx"', XLSX),
        attachment(b"PK nameless", "attachment", XLSX),
    )
    path = write_mail(tmp_path / "mixed.eml", msg)

    names = [i.original_name for i in run(path)]

    assert names == ["现场照片.jpg", "说明.pdf", "报告.docx", "自评表.xlsx", "未命名附件.xlsx"]


def test_mail_without_attachments_and_corrupt_mail_are_problems(tmp_path: Path) -> None:
    empty = write_mail(tmp_path / "empty.eml", mail())
    only_logo = write_mail(tmp_path / "logo.eml", mail(attachment(b"\x89PNG", "inline", "image/png")))
    garbage = tmp_path / "garbage.eml"
    garbage.write_bytes(bytes(range(256)) * 20)
    blank = tmp_path / "blank.eml"
    blank.write_bytes(b"")

    items = run(empty, only_logo, garbage, blank)

    assert [(p.source, "没有附件" in p.message) for p in items] == [
        (str(empty), True), (str(only_logo), True), (str(garbage), False), (str(blank), False)]
    assert all(isinstance(p, SourceProblem) for p in items)
    assert "邮件头" in items[2].message


def test_same_attachment_twice_gives_two_candidates_with_one_sha(tmp_path: Path) -> None:
    data = payload("twice")
    first = write_mail(tmp_path / "1.eml", mail(attachment(data, f'attachment; filename="{b_word("GBK", FUTIAN)}"')))
    again = write_mail(tmp_path / "2.eml", mail(attachment(data, f"attachment; filename*=utf-8''{urllib.parse.quote(FUTIAN)}")))

    a, b = run(first, again)

    assert a.sha256 == b.sha256 == sha(data) and a.source != b.source


# --------------------------------------------------------------------------- zip archives


def test_zip_with_gbk_member_names(tmp_path: Path) -> None:
    a, b, c, d = payload("a"), payload("b"), payload("c"), payload("d")
    unicode_extra_name = "光明区.xlsx"
    wrong_bytes = "????.xlsx".encode()
    extra = struct.pack("<HHBI", 0x7075, 5 + len(unicode_extra_name.encode()), 1, zlib.crc32(wrong_bytes)) \
        + unicode_extra_name.encode()
    archive = tmp_path / "报送材料.zip"
    archive.write_bytes(raw_zip([
        (f"福田区/{FUTIAN}".encode("gbk"), a, 0, b""),                # Windows Chinese zip tool
        (LONGGANG.encode("utf-8"), b, 0x800, b""),                    # UTF-8 flag set
        (GB18030_ONLY.encode("gb18030"), c, 0, b""),
        (wrong_bytes, d, 0, extra),                                   # Info-ZIP Unicode Path field
        ("福田区/".encode("gbk"), b"", 0, b""),                        # a directory entry
        ("~$自评表.xlsx".encode("gbk"), b"lock", 0, b""),               # Office lock file
    ]))

    items = run(archive)

    assert [(i.source, i.original_name, i.data, i.received) for i in items] == [
        (f"{archive}!福田区/{FUTIAN}", FUTIAN, a, None),
        (f"{archive}!{LONGGANG}", LONGGANG, b, None),
        (f"{archive}!{GB18030_ONLY}", GB18030_ONLY, c, None),
        (f"{archive}!{unicode_extra_name}", unicode_extra_name, d, None),
    ]


def test_nested_zips_expanded_up_to_depth_three(tmp_path: Path) -> None:
    level4 = zip_bytes({"4.xlsx": payload("4")})
    level3 = zip_bytes({"3.xlsx": payload("3"), "四.zip": level4})
    level2 = zip_bytes({"2.xlsx": payload("2"), "三.zip": level3})
    archive = tmp_path / "一.zip"
    archive.write_bytes(zip_bytes({"1.xlsx": payload("1"), "二.zip": level2}))

    items = run(archive)

    assert [i.source for i in candidates(items)] == [
        f"{archive}!1.xlsx", f"{archive}!二.zip!2.xlsx", f"{archive}!二.zip!三.zip!3.xlsx"]
    [problem] = problems(items)
    assert problem.source == f"{archive}!二.zip!三.zip!四.zip" and "3 层" in problem.message


def test_zip_that_is_really_an_xlsx_is_one_candidate(tmp_path: Path) -> None:
    data = zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
    renamed = tmp_path / "自评表.zip"
    renamed.write_bytes(data)

    assert run(renamed) == [Candidate.of(str(renamed), "自评表.zip", data)]


def test_corrupt_and_empty_zips(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"this is not a zip at all" * 10)
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(zip_bytes({"a.xlsx": payload("a") * 100})[:-30])
    bad_crc_bytes = bytearray(raw_zip([(b"ok.xlsx", b"fine", 0, b""), (b"bad.xlsx", b"original", 0, b"")]))
    bad_crc_bytes[bad_crc_bytes.index(b"original")] ^= 0xFF
    bad_crc = tmp_path / "bad-crc.zip"
    bad_crc.write_bytes(bytes(bad_crc_bytes))
    empty = tmp_path / "empty.zip"
    empty.write_bytes(zip_bytes({}))

    items = run(junk, truncated, bad_crc, empty)

    assert [(type(i).__name__, i.source) for i in items] == [
        ("SourceProblem", str(junk)),
        ("SourceProblem", str(truncated)),
        ("Candidate", f"{bad_crc}!ok.xlsx"),
        ("SourceProblem", f"{bad_crc}!bad.xlsx"),
        ("SourceProblem", str(empty)),
    ]
    assert "损坏" in items[0].message and "损坏" in items[3].message and "没有文件" in items[4].message


def test_encrypted_member_is_a_problem(tmp_path: Path) -> None:
    archive = tmp_path / "加密.zip"
    archive.write_bytes(raw_zip([
        ("自评表.xlsx".encode("gbk"), os.urandom(64), 0x1, b""),
        (b"readme.txt", b"password is 123456", 0, b""),
    ]))

    items = run(archive)

    assert [(type(i).__name__, i.source) for i in items] == [
        ("SourceProblem", f"{archive}!自评表.xlsx"), ("Candidate", f"{archive}!readme.txt")]
    assert "加密" in items[0].message


def test_zip_bomb_member_is_refused_without_inflating(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    chunk = bytes(1024 * 1024)
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("zeros.xlsx", "w") as member:
            for _ in range(100):
                member.write(chunk)
        zf.writestr("真表.xlsx", payload("real"))
    assert bomb.stat().st_size < 2 * 1024 * 1024

    items = run(bomb)  # the time it takes: benchmarks/bench_intake.py

    assert [(type(i).__name__, i.source) for i in items] == [
        ("SourceProblem", f"{bomb}!zeros.xlsx"), ("Candidate", f"{bomb}!真表.xlsx")]
    assert "压缩炸弹" in items[0].message


def test_zip_total_and_member_count_limits(tmp_path: Path) -> None:
    limits = Limits(max_member_bytes=1000, max_archive_bytes=2500, max_archive_members=5)
    archive = tmp_path / "big.zip"
    archive.write_bytes(zip_bytes({"a.xlsx": b"a" * 900, "inner.zip": zip_bytes({"b.xlsx": b"b" * 900}),
                                   "c.xlsx": b"c" * 900}))
    crowded = tmp_path / "crowded.zip"
    crowded.write_bytes(zip_bytes({f"{i}.xlsx": b"x" for i in range(6)}))

    items = run(archive, crowded, limits=limits)

    # a.xlsx (900) + inner.zip itself (~130) + its b.xlsx (900) leave less than 900 for c.xlsx:
    # nested archives draw on the budget of the top-level one
    assert [(type(i).__name__, i.source) for i in items] == [
        ("Candidate", f"{archive}!a.xlsx"),
        ("Candidate", f"{archive}!inner.zip!b.xlsx"),
        ("SourceProblem", f"{archive}!c.xlsx"),
        ("SourceProblem", str(crowded)),
    ]
    assert "总量超过上限（2 KB）" in items[2].message
    assert "过多" in items[3].message


def test_file_size_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.xlsx"
    big.write_bytes(b"x" * 2000)

    [problem] = run(big, limits=Limits(max_file_bytes=1000))

    assert problem == SourceProblem(str(big), "文件过大（2 KB，上限 1000 字节），未读取")


# --------------------------------------------------------------------------- mailboxes


def test_mbox_with_three_messages(tmp_path: Path) -> None:
    a, b = payload("a"), payload("b")
    path = tmp_path / "收件箱.mbox"
    box = mailbox.mbox(path)
    box.add(mail(attachment(a, f'attachment; filename="{b_word("gb2312", LONGGANG)}"')).as_bytes(policy=RAW))
    box.add(mail(subject="催报通知", body="请尽快报送。").as_bytes(policy=RAW))
    box.add(mail(attachment(b, f"attachment; filename*=GBK''{urllib.parse.quote(FUTIAN.encode('gbk'))}"),
                 date="Sat, 06 Mar 2021 12:00:00 +0800").as_bytes(policy=RAW))
    box.close()
    # the same mailbox exported without extension (Thunderbird): detected by its "From " line
    thunderbird = tmp_path / "Inbox"
    thunderbird.write_bytes(path.read_bytes())

    items = run(path, thunderbird)

    for p in (path, thunderbird):
        group = [i for i in items if i.source.startswith(f"{p}#")]
        assert [(type(i).__name__, i.source) for i in group] == [
            ("Candidate", f"{p}#1 → 附件 {LONGGANG}"),
            ("SourceProblem", f"{p}#2"),
            ("Candidate", f"{p}#3 → 附件 {FUTIAN}"),
        ]
        assert group[0].received == RECEIVED and group[0].data == a
        assert group[2].received == datetime(2021, 3, 6, 12, 0, tzinfo=timezone(timedelta(hours=8)))
        assert group[2].data == b


def test_mbox_is_read_lazily_message_by_message(tmp_path: Path) -> None:
    path = tmp_path / "big.mbox"
    box = mailbox.mbox(path)
    for n in range(3):
        box.add(mail(attachment(payload(str(n)), f'attachment; filename="{n}.xlsx"')).as_bytes(policy=RAW))
    box.close()

    stream = iter_sources([path])
    first = next(stream)

    assert first.source == f"{path}#1 → 附件 0.xlsx"
    assert [i.original_name for i in stream] == ["1.xlsx", "2.xlsx"]


def test_maildir(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    box = mailbox.Maildir(root, create=True)
    data = {n: payload(str(n)) for n in range(3)}
    for n in range(3):
        message = mailbox.MaildirMessage(mail(attachment(data[n], f'attachment; filename="{raw8(f"{n}号表.xlsx")}"'))
                                         .as_bytes(policy=RAW))
        if n < 2:
            message.set_subdir("cur")
            message.set_flags("S")
        box.add(message)
    sent = box.add_folder("Sent")
    sent.add(mail(attachment(payload("sent"), 'attachment; filename="回执.xlsx"')).as_bytes(policy=RAW))
    (root / "tmp" / "1615000000.M1P1.host").write_bytes(b"Subject: half written\r\n")
    (root / "dovecot-uidlist").write_text("3 V1 N4\n")

    items = run(root)

    cur, new, sent = (sorted(os.listdir(d)) for d in (root / "cur", root / "new", root / ".Sent" / "new"))
    assert len(cur) == 2 and len(new) == 1
    assert [(type(i).__name__, i.source.split(" → ")[0]) for i in items] == [
        ("Candidate", os.path.join(str(root), "cur", cur[0])),
        ("Candidate", os.path.join(str(root), "cur", cur[1])),
        ("Candidate", os.path.join(str(root), "new", new[0])),
        ("Candidate", os.path.join(str(root), ".Sent", "new", sent[0])),
        ("SourceProblem", os.path.join(str(root), "tmp", "1615000000.M1P1.host")),
    ]
    assert sorted(i.original_name for i in items[:2]) == ["0号表.xlsx", "1号表.xlsx"]
    assert [i.original_name for i in items[2:4]] == ["2号表.xlsx", "回执.xlsx"]
    assert all(i.received == RECEIVED for i in candidates(items))


# --------------------------------------------------------------------------- folders, paths


def test_folder_tree_sorted_and_junk_skipped(tmp_path: Path) -> None:
    root = tmp_path / "2021年报送"
    (root / "福田区").mkdir(parents=True)
    (root / "龙岗区" / "附件").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "__MACOSX").mkdir()
    files = {
        "福田区/自评表.xlsx": b"PK1",
        "龙岗区/自评表.xls": b"\xd0\xcf\x11\xe0",
        "龙岗区/附件/说明.docx": b"PK2",
        "A单位.et": b"\xd0\xcf\x11\xe0et",
        "现场照片.jpg": b"\xff\xd8",
    }
    junk = [".DS_Store", "Thumbs.db", "desktop.ini", "福田区/~$自评表.xlsx", "福田区/._自评表.xlsx",
            ".git/config", "__MACOSX/x.xlsx", "龙岗区/.~lock.自评表.xls#"]
    for name, data in files.items():
        (root / name).write_bytes(data)
    for name in junk:
        (root / name).write_bytes(b"junk")
    lock = root / "福田区" / "~$自评表.xlsx"

    items = run(root, lock)   # a junk name given explicitly is not skipped

    assert [(i.source, i.original_name, i.data, i.received) for i in items] == [
        (os.path.join(str(root), "A单位.et"), "A单位.et", b"\xd0\xcf\x11\xe0et", None),
        (os.path.join(str(root), "现场照片.jpg"), "现场照片.jpg", b"\xff\xd8", None),
        (os.path.join(str(root), "福田区", "自评表.xlsx"), "自评表.xlsx", b"PK1", None),
        (os.path.join(str(root), "龙岗区", "自评表.xls"), "自评表.xls", b"\xd0\xcf\x11\xe0", None),
        (os.path.join(str(root), "龙岗区", "附件", "说明.docx"), "说明.docx", b"PK2", None),
        (str(lock), "~$自评表.xlsx", b"junk", None),
    ]
    assert all(i.sha256 == sha(i.data) for i in items)


def test_missing_path_empty_folder_and_symlink_loop(tmp_path: Path) -> None:
    missing = tmp_path / "没有这个文件.xlsx"
    empty = tmp_path / "空文件夹"
    empty.mkdir()
    (empty / "Thumbs.db").write_bytes(b"")
    looped = tmp_path / "loop"
    looped.mkdir()
    (looped / "a.xlsx").write_bytes(b"PK")
    (looped / "self").symlink_to(looped)

    items = run(missing, empty, looped)

    assert [(type(i).__name__, i.source) for i in items] == [
        ("SourceProblem", str(missing)),
        ("SourceProblem", str(empty)),
        ("Candidate", os.path.join(str(looped), "a.xlsx")),
        ("SourceProblem", os.path.join(str(looped), "self")),
    ]
    assert items[0].message == "路径不存在"


def test_a_single_path_string_is_one_path(tmp_path: Path) -> None:
    f = tmp_path / "a.xlsx"
    f.write_bytes(b"PK")

    assert list(iter_sources(str(f))) == [Candidate.of(str(f), "a.xlsx", b"PK")]


def test_every_input_is_accounted_for(tmp_path: Path) -> None:
    """All kinds of input together: each one yields at least one Candidate or SourceProblem."""
    inputs = []
    inputs.append(write_mail(tmp_path / "a.eml", mail(attachment(b"PK", f'attachment; filename="{raw8(FUTIAN)}"'))))
    inputs.append(write_mail(tmp_path / "b.eml", mail()))
    z = tmp_path / "c.zip"
    z.write_bytes(zip_bytes({"x.xlsx": b"PK"}))
    inputs.append(z)
    bad = tmp_path / "d.zip"
    bad.write_bytes(b"PK\x03\x04 broken")
    inputs.append(bad)
    inputs.append(tmp_path / "missing")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "e.xlsx").write_bytes(b"PK")
    inputs.append(folder)
    box = mailbox.mbox(tmp_path / "f.mbox")
    box.add(mail(attachment(b"PK", 'attachment; filename="f.xlsx"')).as_bytes(policy=RAW))
    box.close()
    inputs.append(tmp_path / "f.mbox")
    empty_mbox = tmp_path / "g.mbox"
    empty_mbox.write_bytes(b"")
    inputs.append(empty_mbox)

    items = run(*inputs)

    for path in inputs:
        assert any(i.source == str(path) or i.source.startswith((f"{path} ", f"{path}!", f"{path}#", f"{path}{os.sep}"))
                   for i in items), path
    assert all(isinstance(i, (Candidate, SourceProblem)) for i in items)
