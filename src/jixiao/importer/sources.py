"""Expand the paths given to ``jixiao import`` into a stream of candidate files.

Budget units send their workbooks by email, zipped or not, sometimes forwarded, sometimes
as a whole mailbox export.  `iter_sources` turns every path it is given into a stream of
`Candidate` files (name + bytes + where they came from) and `SourceProblem` records, one
item at a time.  *Nothing is silently lost*: every input -- a path, a folder, an archive
member, an email -- ends up as at least one `Candidate` or one `SourceProblem`, with the
few documented exceptions below (OS junk in folders and archives, inline body images).

What is expanded
----------------
* **Files** are candidates as they are (any type: .xlsx, .xls, .et, .pdf, .jpg ... -- the
  checker decides and rejects with a clear reason).  Files larger than
  ``Limits.max_file_bytes`` are reported, not read.
* **Folders** are walked recursively in sorted order.  Skipped silently -- and only these:
  hidden names (starting with ``.``, including macOS ``._*`` files), ``__MACOSX``,
  ``.DS_Store``, ``Thumbs.db``, ``ehthumbs.db``, ``desktop.ini``, ``$RECYCLE.BIN``,
  ``System Volume Information`` and Office/WPS lock files ``~$*``.  A path given explicitly
  is never skipped, whatever its name.  Symbolic links are followed (loops are detected).
  A folder given explicitly that contains nothing usable is reported.
* **.zip archives** (by extension) are expanded member by member, in archive order,
  recursively for members that are themselves .zip, up to ``Limits.max_zip_depth`` (3)
  levels; deeper archives are reported; junk names (as for folders) are skipped.  Member
  names without the UTF-8 flag (0x800) -- written by Windows Chinese zip tools in
  GBK/CP936 -- are decoded correctly: zipfile decodes them as cp437, so they are
  re-encoded to the original bytes and decoded as UTF-8 if valid, else GB18030 (a superset
  of GBK/GB2312).  An Info-ZIP Unicode Path extra field (0x7075) wins when present and
  valid.  A ".zip" that actually is an OOXML document (it has ``[Content_Types].xml``) is
  a candidate as a whole.  Encrypted members, unsupported compression methods, corrupt
  members and corrupt archives are reported.
* **Zip bombs**: limits are checked on the *declared* sizes before anything is inflated
  and enforced again while reading (`Limits`): member count per archive, bytes per member,
  and total bytes per top-level archive -- nested archives draw on the budget of the
  archive that contains them.  Every member refused is reported.
* **Email**: ``.eml`` files, mbox files (``.mbox`` extension, or a first line starting
  with ``From `` for files that are not office documents -- also an ``.eml`` that holds
  several mails; read message by message with `mailbox.mbox`, numbered from 1:
  ``box.mbox#12``) and maildir folders (a folder with ``cur/`` and ``new/``: every message
  in both; Maildir++ sub-folders such as ``.Sent`` too; files in ``tmp/`` are deliveries in
  progress and are reported, not read; maildir index files like ``dovecot-uidlist`` are
  skipped).  ``.eml``/``.mbox`` files met inside archives or as attachments are expanded
  too.
* **Attachments**: every MIME part with a file name, at any depth, including forwarded
  mails (``message/rfc822`` parts: their attachments are expanded, with the forwarded
  mail's subject in the source).  Parts without a file name are attachments when their
  Content-Disposition says ``attachment`` or their type is ``application/*`` (they get a
  name like ``未命名附件.xlsx`` from the MIME type).  Attachments that are .zip are
  expanded.  Non-spreadsheet attachments (images, .docx, .pdf ...) are still candidates;
  only **inline images of the mail body** are skipped: an ``image/*`` part (or a name with
  an image extension) that is ``Content-Disposition: inline``, or has no disposition but a
  ``Content-ID`` (referenced by the HTML body) -- unless its name has a spreadsheet
  extension.  An email that yields nothing at all is reported ("没有附件").  Outlook's
  ``winmail.dat`` (TNEF) is not unpacked: it is a candidate like any other file.

File names in mail
------------------
Units' mail clients encode attachment names in every possible way: RFC 2047 encoded words
(``=?GBK?B?...?=``, ``=?gb2312?Q?...?=``, ``=?UTF-8?B?...?=``, inside or outside quotes,
sometimes splitting one character over two words), RFC 2231 (``filename*=GBK''%C8...``,
continuations ``filename*0*=...; filename*1*=...``, sometimes splitting one character over
two sections) and raw 8-bit GBK bytes without any encoding.  The stdlib `email` package
(``policy=email.policy.default``) parses the MIME structure, the transfer encodings and
the Date header.  For file names, testing showed where it does not work: it decodes
``gb2312`` strictly (names with GBK-only or GB18030-only characters become ``\\ufffd``),
returns None for an unquoted encoded word, garbles GBK RFC 2231 continuations that split a
character (sometimes into *valid but wrong* characters), garbles encoded words that split
a character, decodes raw GBK bytes as ``\\ufffd`` and prefers ``filename`` to
``filename*`` (RFC 6266 says the opposite).  So each name is also decoded by
hand from the raw header (GB2312/GBK/GB18030 all decoded as GB18030, fragments joined at
the byte level before decoding, undeclared bytes decoded as UTF-8, else GB18030); the hand
result is used when it decodes cleanly, the stdlib result otherwise.  Names are reduced to
their last path component (some clients send ``C:\\Users\\...\\表.xlsx``).

Dates: `Candidate.received` is the email's Date header as a timezone-aware datetime (a
``-0000`` zone is taken as UTC), None for files that did not come by mail or when the
header is missing or unparseable.  For attachments of a forwarded or attached mail it is
the Date of the outermost mail that has one -- when the bureau received it.

Hostile names: a file-system name that is not valid UTF-8 (GBK bytes from a Windows share or
``unzip`` without ``-O``) is shown decoded (GB18030, else with U+FFFD) and its path kept as bytes
in ``path_bytes``; an archive member whose name is absolute or contains ``..`` is a
SourceProblem, never read (nothing here writes a member name to disk, and none ever should);
a control character in a name (NUL included) becomes U+FFFD (a file-system path with one is
also kept as bytes).

Deduplication is NOT done here: the same attachment sent twice (or present in a mail and
in a folder) yields two Candidates with the same ``sha256``; the importer dedups.

Memory: items are produced lazily, one at a time; an mbox is read message by message; a
candidate's bytes are in memory only while it is being yielded (and as long as the
consumer keeps it).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email
import email.policy
import email.utils
import hashlib
import io
import mailbox
import mimetypes
import os
import re
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from email.message import Message
from pathlib import Path
from urllib.parse import unquote_to_bytes

from jixiao.xlsx.safe import NOT_REGULAR_FILE, is_special
from jixiao.names import display_name, is_clean, raw_name

__all__ = [
    "Candidate",
    "Limits",
    "SourceProblem",
    "iter_sources",
]

MiB = 1024 * 1024


@dataclass(frozen=True)
class Candidate:
    """One file that may be a submitted workbook.

    ``source`` says where it came from, for humans: ``报送/福田区.xlsx``,
    ``材料.zip!子目录/表.xlsx``, ``mail.eml → 附件 福田区自评表.xlsx``,
    ``box.mbox#12 → 转发的邮件「自评表」 → 附件 材料.zip!表.xlsx``.
    ``original_name`` is the file's own (decoded) name, without directories.
    """

    source: str
    original_name: str
    data: bytes = field(repr=False)
    received: datetime | None
    sha256: str
    # the file-system path it came from, as bytes, when that path is not valid UTF-8 (then
    # ``source`` shows it decoded as GB18030 or with replacement characters)
    path_bytes: bytes | None = None

    @classmethod
    def of(cls, source: str, original_name: str, data: bytes, received: datetime | None = None) -> Candidate:
        return cls(source, original_name, data, received, hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class SourceProblem:
    """Something that could not be expanded; ``message`` is one Chinese sentence."""

    source: str
    message: str
    path_bytes: bytes | None = None  # as for Candidate


Item = Candidate | SourceProblem


@dataclass(frozen=True)
class Limits:
    """Resource limits (zip bombs, huge files, absurd nesting)."""

    max_file_bytes: int = 200 * MiB         # a file (or .eml) read into memory
    max_member_bytes: int = 50 * MiB        # one archive member, uncompressed
    max_archive_bytes: int = 200 * MiB      # all members of a top-level archive, nested ones included
    max_archive_members: int = 5000         # entries in one archive's central directory
    max_zip_depth: int = 3                  # archive inside archive inside archive
    max_mail_depth: int = 10                # mail attached to / forwarded in a mail ...


def iter_sources(paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
                 *, limits: Limits | None = None) -> Iterator[Item]:
    """Expand ``paths`` (files, folders, archives, mail) into Candidates and SourceProblems.

    Lazy: nothing is read before the first item is requested.  See the module docstring.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    ctx = _Ctx(limits or Limits())
    for raw in paths:
        path = Path(os.fsdecode(raw))
        display = display_name(path)
        for item in _guard(display, _expand_path(path, display, ctx, explicit=True)):
            yield _storable(item)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _storable(item: Item) -> Item:
    """Text every database, terminal and spreadsheet takes: no undecodable bytes (a name from a
    mail header the parser kept as surrogate escapes), no control characters (PostgreSQL refuses
    NUL in text, openpyxl refuses the others in a cell); they become U+FFFD."""
    fixed = {}
    for attr in ("source", "original_name"):
        value = getattr(item, attr, None)
        if value is not None and (not is_clean(value) or _CONTROL.search(value)):
            fixed[attr] = _CONTROL.sub("\ufffd", display_name(value))
    return replace(item, **fixed) if fixed else item


# ---------------------------------------------------------------------------------------
# context, guards


class _Budget:
    """Uncompressed bytes still allowed for one top-level archive (shared by nested ones)."""

    def __init__(self, remaining: int) -> None:
        self.remaining = remaining


@dataclass(frozen=True)
class _Ctx:
    limits: Limits
    received: datetime | None = None
    zip_depth: int = 0
    mail_depth: int = 0
    budget: _Budget | None = None
    seen_dirs: frozenset[str] = frozenset()


def _guard(source: str, items: Iterator[Item]) -> Iterator[Item]:
    """Turn an unexpected error while expanding ``source`` into a SourceProblem."""
    try:
        yield from items
    except Exception as exc:  # noqa: BLE001 -- one bad input must not stop the import
        yield SourceProblem(source, f"读取时出错，未能展开：{type(exc).__name__}: {exc}")


def _size(n: int) -> str:
    if n >= MiB:
        return f"{n / MiB:.0f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} 字节"


def _os_error(exc: OSError) -> str:
    return exc.strerror or str(exc)


# ---------------------------------------------------------------------------------------
# file system

_JUNK_NAMES = frozenset(
    name.lower()
    for name in ("Thumbs.db", "ehthumbs.db", "desktop.ini", "__MACOSX", "$RECYCLE.BIN",
                 "System Volume Information", ".DS_Store")
)
_MAILDIR_META = re.compile(r"^(dovecot[.-].*|maildirfolder|maildirsize|subscriptions|courierimap.*)$", re.I)


def _is_junk(name: str) -> bool:
    """OS / office junk that is skipped silently inside folders and archives."""
    return name.startswith(".") or name.startswith("~$") or name.lower() in _JUNK_NAMES


def _is_junk_member(member: str) -> bool:
    return any(_is_junk(part) for part in re.split(r"[/\\]", member) if part)


_SPREADSHEET_EXTS = frozenset(
    ".xlsx .xlsm .xltx .xltm .xlsb .xls .xlt .et .ett .ods .csv".split()
)
_OFFICE_EXTS = _SPREADSHEET_EXTS | frozenset(
    ".docx .doc .wps .pptx .ppt .dps .pdf .ofd .odt .odp .zip .rar .7z .png .jpg .jpeg .gif".split()
)
_IMAGE_EXTS = frozenset(".png .jpg .jpeg .gif .bmp .tif .tiff .webp .emf .wmf .heic".split())


def _ext(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def _expand_path(path: Path, display: str, ctx: _Ctx, *, explicit: bool) -> Iterator[Item]:
    items = _expand_path_items(path, display, ctx, explicit=explicit)
    if is_clean(os.fspath(path)) and not _CONTROL.search(os.fspath(path)):
        yield from items
        return
    raw = raw_name(path)  # kept losslessly with what this path yields (deeper paths keep their own)
    for item in items:
        yield item if item.path_bytes is not None else replace(item, path_bytes=raw)


def _expand_path_items(path: Path, display: str, ctx: _Ctx, *, explicit: bool) -> Iterator[Item]:
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            yield SourceProblem(display, "符号链接指向的文件不存在")
        else:
            yield SourceProblem(display, "路径不存在")
        return
    except OSError as exc:
        yield SourceProblem(display, f"无法访问：{_os_error(exc)}")
        return
    if stat.S_ISDIR(st.st_mode):
        if _is_maildir(path):
            yield from _expand_maildir(path, display, ctx)
        else:
            yield from _expand_dir(path, display, ctx, explicit=explicit)
    elif is_special(st.st_mode):
        yield SourceProblem(display, f"{NOT_REGULAR_FILE}，未读取")
    else:
        yield from _expand_file(path, display, st.st_size, ctx)


def _scandir_sorted(path: Path) -> list[os.DirEntry[str]]:
    with os.scandir(path) as it:
        return sorted(it, key=lambda e: e.name)


def _enter_dir(path: Path, ctx: _Ctx) -> _Ctx | None:
    """The context for walking ``path``, or None when it is a symlink loop."""
    real = os.path.realpath(path)
    if real in ctx.seen_dirs:
        return None
    return replace(ctx, seen_dirs=ctx.seen_dirs | {real})


def _expand_dir(path: Path, display: str, ctx: _Ctx, *, explicit: bool) -> Iterator[Item]:
    sub = _enter_dir(path, ctx)
    if sub is None:
        yield SourceProblem(display, "符号链接形成循环，已跳过")
        return
    try:
        entries = _scandir_sorted(path)
    except OSError as exc:
        yield SourceProblem(display, f"无法读取文件夹：{_os_error(exc)}")
        return
    produced = False
    for entry in entries:
        if _is_junk(entry.name):
            continue
        child = os.path.join(display, display_name(entry.name))
        for item in _guard(child, _expand_path(Path(entry.path), child, sub, explicit=False)):
            produced = True
            yield item
    if explicit and not produced:
        yield SourceProblem(display, "文件夹中没有文件（系统文件和隐藏文件不算）")


def _read_file(path: Path, display: str, size: int, ctx: _Ctx) -> bytes | SourceProblem:
    if size > ctx.limits.max_file_bytes:
        return SourceProblem(display, f"文件过大（{_size(size)}，上限 {_size(ctx.limits.max_file_bytes)}），未读取")
    try:
        return path.read_bytes()
    except OSError as exc:
        return SourceProblem(display, f"无法读取文件：{_os_error(exc)}")


def _expand_file(path: Path, display: str, size: int, ctx: _Ctx) -> Iterator[Item]:
    ext = _ext(path.name)
    name = display_name(path.name)
    if ext == ".zip":
        yield from _expand_zip(display, name, path, ctx)
        return
    if ext == ".mbox" or (ext not in _OFFICE_EXTS and _starts_with_from(path)):  # .eml too: several mails
        yield from _expand_mbox(path, display, ctx)
        return
    data = _read_file(path, display, size, ctx)
    if isinstance(data, SourceProblem):
        yield data
    elif ext == ".eml":
        yield from _expand_mail_bytes(display, data, ctx)
    else:
        yield Candidate.of(display, name, data, None)


def _starts_with_from(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(5) == b"From "
    except OSError:
        return False


# ---------------------------------------------------------------------------------------
# blobs: an archive member or an attachment


def _expand_blob(source: str, name: str, data: bytes, ctx: _Ctx) -> Iterator[Item]:
    ext = _ext(name)
    if ext == ".zip":
        yield from _expand_zip(source, name, data, ctx)
    elif ext == ".eml" and not data.startswith(b"From "):
        yield from _expand_mail_bytes(source, data, ctx)
    elif ext in (".mbox", ".eml"):
        yield from _expand_mbox_bytes(source, data, ctx)
    else:
        yield Candidate.of(source, name, data, ctx.received)


# ---------------------------------------------------------------------------------------
# zip


class _TooBig(Exception):
    pass


def _zip_member_name(info: zipfile.ZipInfo) -> str:
    """The member's real name: UTF-8 when flagged, else the cp437-decoded bytes re-decoded."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.orig_filename.encode("cp437")
    except UnicodeEncodeError:  # zipfile was given another metadata_encoding
        return info.filename
    unicode_path = _unicode_path_extra(info.extra, raw)
    if unicode_path is not None:
        return unicode_path
    if raw.isascii():
        return info.filename
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            pass
    return info.filename


def _unicode_path_extra(extra: bytes, raw_name: bytes) -> str | None:
    """The Info-ZIP Unicode Path extra field (0x7075), if present and matching the name."""
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        body = extra[i + 4:i + 4 + size]
        if tag == 0x7075 and len(body) >= 5 and body[0] == 1:
            (crc,) = struct.unpack_from("<I", body, 1)
            if crc == zlib.crc32(raw_name):
                try:
                    return body[5:].decode("utf-8")
                except UnicodeDecodeError:
                    return None
        i += 4 + size
    return None


def _traversal(member: str) -> str:
    """Why a member name points outside the archive ("" when it does not)."""
    parts = re.split(r"[/\\]", member)
    if member.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", member):
        return "是绝对路径"
    if ".." in parts:
        return "含有“..”"
    return ""


def _basename(name: str) -> str:
    return re.split(r"[/\\]", name.rstrip("/\\"))[-1]


def _expand_zip(source: str, name: str, file: Path | bytes, ctx: _Ctx) -> Iterator[Item]:
    limits = ctx.limits
    depth = ctx.zip_depth + 1
    if depth > limits.max_zip_depth:
        yield SourceProblem(source, f"压缩包嵌套超过 {limits.max_zip_depth} 层，未解开；请解压后单独发送")
        return
    opener = file if isinstance(file, Path) else io.BytesIO(file)
    try:
        zf = zipfile.ZipFile(opener)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as exc:
        yield SourceProblem(source, f"压缩包已损坏或不是 zip 文件，无法打开（{exc}）")
        return
    except OSError as exc:
        yield SourceProblem(source, f"无法读取压缩包：{_os_error(exc)}")
        return
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_archive_members:
            yield SourceProblem(source, f"压缩包中文件过多（{len(infos)} 个，上限 "
                                        f"{limits.max_archive_members} 个），疑似压缩炸弹，未解开")
            return
        if any(i.filename == "[Content_Types].xml" for i in infos):
            # an OOXML document (e.g. an .xlsx) renamed to .zip: the whole file is the candidate
            data = file if isinstance(file, bytes) else _read_file(file, source, file.stat().st_size, ctx)
            yield data if isinstance(data, SourceProblem) else Candidate.of(source, name, data, ctx.received)
            return
        budget = ctx.budget or _Budget(limits.max_archive_bytes)
        sub = replace(ctx, zip_depth=depth, budget=budget)
        produced = False
        for info in infos:
            if info.is_dir():
                continue
            member = _zip_member_name(info)
            traversal = _traversal(member)
            if not traversal and _is_junk_member(member):
                continue
            produced = True
            member_source = f"{source}!{member}"
            if traversal:
                # never a path written anywhere: reported, as Windows' and Info-ZIP's unzip refuse it
                yield SourceProblem(member_source, f"压缩包中的文件名{traversal}（疑似路径穿越攻击），未解压；"
                                                   "请检查压缩包来源，解压后单独发送其中的 .xlsx 文件")
                continue
            data = _read_member(zf, info, member_source, budget, limits)
            if isinstance(data, SourceProblem):
                yield data
            else:
                yield from _guard(member_source, _expand_blob(member_source, _basename(member), data, sub))
        if not produced:
            yield SourceProblem(source, "压缩包中没有文件")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, source: str,
                 budget: _Budget, limits: Limits) -> bytes | SourceProblem:
    if info.flag_bits & 0x1:
        return SourceProblem(source, "压缩包中的文件已加密（需要密码），无法解压；请发送未加密的文件")
    if info.file_size > limits.max_member_bytes:
        return SourceProblem(source, f"解压后过大（{_size(info.file_size)}，单个文件上限 "
                                     f"{_size(limits.max_member_bytes)}），疑似压缩炸弹，未解压")
    if info.file_size > budget.remaining:
        return SourceProblem(source, f"压缩包解压总量超过上限（{_size(limits.max_archive_bytes)}），"
                                     "疑似压缩炸弹，未解压")
    cap = min(limits.max_member_bytes, budget.remaining)
    try:
        with zf.open(info) as f:
            data = f.read(cap + 1)  # zipfile never inflates past the declared size; belt and braces
        if len(data) > cap:
            raise _TooBig
    except _TooBig:
        return SourceProblem(source, "解压后超过大小上限，疑似压缩炸弹，未解压")
    except NotImplementedError as exc:
        return SourceProblem(source, f"压缩方式不受支持（{exc}），请用普通 zip 格式重新压缩")
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, RuntimeError) as exc:
        return SourceProblem(source, f"压缩包中的文件已损坏，无法解压（{exc}）")
    except OSError as exc:
        return SourceProblem(source, f"无法读取压缩包：{_os_error(exc)}")
    budget.remaining -= len(data)
    return data


# ---------------------------------------------------------------------------------------
# mailboxes


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _expand_maildir(path: Path, display: str, ctx: _Ctx) -> Iterator[Item]:
    sub = _enter_dir(path, ctx)
    if sub is None:
        yield SourceProblem(display, "符号链接形成循环，已跳过")
        return
    produced = False
    for folder in ("cur", "new"):
        folder_display = os.path.join(display, folder)
        try:
            entries = _scandir_sorted(path / folder)
        except OSError as exc:
            produced = True
            yield SourceProblem(folder_display, f"无法读取文件夹：{_os_error(exc)}")
            continue
        for entry in entries:
            if _is_junk(entry.name) or not entry.is_file():
                continue
            produced = True
            source = os.path.join(folder_display, display_name(entry.name))
            data = _read_file(Path(entry.path), source, entry.stat().st_size, sub)
            if isinstance(data, SourceProblem):
                yield data
            else:
                yield from _guard(source, _expand_mail_bytes(source, data, sub))
    try:
        rest = _scandir_sorted(path)
    except OSError as exc:
        yield SourceProblem(display, f"无法读取文件夹：{_os_error(exc)}")
        return
    for entry in rest:
        child = os.path.join(display, display_name(entry.name))
        if entry.name in ("cur", "new") or _MAILDIR_META.match(entry.name):
            continue
        if entry.name == "tmp":
            try:
                pending = [e for e in _scandir_sorted(Path(entry.path)) if not _is_junk(e.name)]
            except OSError:
                pending = []
            for e in pending:
                produced = True
                yield SourceProblem(os.path.join(child, display_name(e.name)),
                                    "maildir 的 tmp/ 中是尚未投递完成的邮件，未读取")
            continue
        if entry.name.startswith(".") and entry.is_dir() and _is_maildir(Path(entry.path)):
            items: Iterator[Item] = _expand_maildir(Path(entry.path), child, sub)
        elif _is_junk(entry.name):
            continue
        else:
            items = _expand_path(Path(entry.path), child, sub, explicit=False)
        for item in _guard(child, items):
            produced = True
            yield item
    if not produced:
        yield SourceProblem(display, "maildir 中没有邮件")


def _expand_mbox(path: Path, display: str, ctx: _Ctx) -> Iterator[Item]:
    try:
        box = mailbox.mbox(os.fspath(path), create=False)
    except (OSError, mailbox.Error) as exc:
        yield SourceProblem(display, f"无法打开邮箱文件：{exc}")
        return
    try:
        count = 0
        for number, key in enumerate(box.iterkeys(), start=1):
            count += 1
            source = f"{display}#{number}"
            try:
                data = box.get_bytes(key)
            except Exception as exc:  # noqa: BLE001
                yield SourceProblem(source, f"无法读取邮箱中的这封邮件：{exc}")
                continue
            yield from _guard(source, _expand_mail_bytes(source, data, ctx))
        if count == 0:
            yield SourceProblem(display, "邮箱文件中没有邮件")
    finally:
        box.close()


def _expand_mbox_bytes(source: str, data: bytes, ctx: _Ctx) -> Iterator[Item]:
    """An mbox met as an attachment or archive member: `mailbox` needs a real file."""
    fd, name = tempfile.mkstemp(suffix=".mbox", prefix="jixiao-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        yield from _expand_mbox(Path(name), source, ctx)
    finally:
        os.unlink(name)


# ---------------------------------------------------------------------------------------
# one email


def _expand_mail_bytes(source: str, data: bytes, ctx: _Ctx) -> Iterator[Item]:
    """One email that is an input of its own (a file, an mbox message, an .eml attachment)."""
    if ctx.mail_depth >= ctx.limits.max_mail_depth:
        yield SourceProblem(source, f"邮件嵌套超过 {ctx.limits.max_mail_depth} 层，未展开")
        return
    try:
        msg = email.message_from_bytes(data, policy=email.policy.default)
    except Exception as exc:  # noqa: BLE001
        yield SourceProblem(source, f"邮件已损坏，无法解析：{exc}")
        return
    if not msg.keys():
        yield SourceProblem(source, "不是有效的邮件（找不到邮件头），无法读取")
        return
    sub = replace(ctx, received=ctx.received or _mail_date(msg), mail_depth=ctx.mail_depth + 1)
    produced = False
    for item in _walk(msg, source, sub):
        produced = True
        yield item
    if not produced:
        defects = _defect_names(msg)
        hint = f"（邮件格式有误：{defects}）" if defects else ""
        yield SourceProblem(source, f"邮件中没有附件{hint}（正文中的图片不算）")


def _defect_names(msg: Message) -> str:
    names = {type(d).__name__ for part in msg.walk() for d in getattr(part, "defects", ())}
    return "、".join(sorted(names))


def _raw_header(part: Message, name: str) -> str | None:
    for key, value in part.raw_items():
        if key.lower() == name:
            return value
    return None


def _mail_date(msg: Message) -> datetime | None:
    raw = _raw_header(msg, "date")
    if not raw:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(_unfold(raw).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # "-0000": UTC, local zone unknown (RFC 5322)
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def _walk(part: Message, source: str, ctx: _Ctx) -> Iterator[Item]:
    if part.get_content_maintype() == "message" and part.is_multipart():
        # message/rfc822 (a forwarded or attached mail), parsed by the email package
        label = _part_filename(part)
        for inner in part.get_payload():
            if not isinstance(inner, Message):
                continue
            inner_source = (f"{source} → 附件 {_basename(label)}" if label
                            else f"{source} → 转发的邮件「{_subject(inner)}」")
            if ctx.mail_depth >= ctx.limits.max_mail_depth:
                yield SourceProblem(inner_source, f"邮件嵌套超过 {ctx.limits.max_mail_depth} 层，未展开")
                continue
            sub = replace(ctx, received=ctx.received or _mail_date(inner), mail_depth=ctx.mail_depth + 1)
            yield from _guard(inner_source, _walk(inner, inner_source, sub))
    elif part.is_multipart():
        for child in part.get_payload():
            if isinstance(child, Message):
                yield from _walk(child, source, ctx)
    else:
        yield from _guard(source, _leaf(part, source, ctx))


def _subject(msg: Message) -> str:
    raw = _raw_header(msg, "subject")
    text = _decode_words(_unfold(raw)).strip() if raw else ""
    text = re.sub(r"\s+", " ", text) or "无主题"
    return text if len(text) <= 40 else text[:39] + "…"


_NAMELESS_ATTACHMENT_MAIN_TYPES = frozenset({"application"})


def _leaf(part: Message, source: str, ctx: _Ctx) -> Iterator[Item]:
    disposition = part.get_content_disposition()
    ctype = part.get_content_type()
    name = _part_filename(part)
    if name is not None:
        name = _basename(name.strip())
    if name:
        label = f"附件 {name}"
    elif disposition == "attachment" or part.get_content_maintype() in _NAMELESS_ATTACHMENT_MAIN_TYPES:
        name = "未命名附件" + (mimetypes.guess_extension(ctype) or ".bin")
        label = f"附件（无文件名，{ctype}）"
    else:
        return  # the body: text/plain, text/html, nameless inline images
    ext = _ext(name)
    is_image = part.get_content_maintype() == "image" or ext in _IMAGE_EXTS
    if is_image and ext not in _SPREADSHEET_EXTS and (
        disposition == "inline" or (disposition is None and part.get("Content-ID") is not None)
    ):
        return  # an image of the mail body, not an attachment (documented)
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        data = b""
    child = f"{source} → {label}"
    if ctype in ("message/rfc822", "message/global"):
        yield from _expand_mail_bytes(child, data, ctx)
    else:
        yield from _expand_blob(child, name, data, ctx)


# ---------------------------------------------------------------------------------------
# attachment file names (see "File names in mail" in the module docstring)


def _part_filename(part: Message) -> str | None:
    try:
        stdlib = part.get_filename()
    except Exception:  # noqa: BLE001 -- header parser bugs on malformed input
        stdlib = None
    try:
        by_hand = _hand_filename(part)
    except Exception:  # noqa: BLE001
        by_hand = None
    if by_hand and _clean(by_hand):
        return by_hand
    if stdlib and _clean(stdlib):
        return stdlib
    return by_hand or stdlib


_LEFTOVER_WORD = re.compile(r"=\?[^?]+\?[bBqQ]\?")


def _clean(name: str) -> bool:
    return not (
        "\ufffd" in name
        or any("\udc80" <= ch <= "\udcff" or ch < " " for ch in name)
        or _LEFTOVER_WORD.search(name)
    )


def _hand_filename(part: Message) -> str | None:
    for header, key in (("content-disposition", "filename"), ("content-type", "name")):
        raw = _raw_header(part, header)
        if raw is None:
            continue
        value = _param(_split_params(_unfold(raw)), key)
        if value:
            return value
    return None


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def _split_params(value: str) -> list[tuple[str, str]]:
    """``name=value`` pairs after the first ``;``, lenient about quoting and spaces.

    In quoted strings a backslash escapes only ``"`` and ``\\``, so unescaped Windows paths
    survive.
    """
    out: list[tuple[str, str]] = []
    i = value.find(";")
    if i < 0:
        return out
    n = len(value)
    i += 1
    while i < n:
        while i < n and value[i] in " \t;":
            i += 1
        j = i
        while j < n and value[j] not in "=;":
            j += 1
        name = value[i:j].strip().lower()
        if j >= n or value[j] == ";":
            i = j
            continue
        j += 1
        while j < n and value[j] in " \t":
            j += 1
        if j < n and value[j] == '"':
            j += 1
            buf = []
            while j < n and value[j] != '"':
                if value[j] == "\\" and j + 1 < n and value[j + 1] in '"\\':
                    j += 1
                buf.append(value[j])
                j += 1
            text = "".join(buf)
            while j < n and value[j] != ";":
                j += 1
        else:
            k = j
            while k < n and value[k] != ";":
                k += 1
            text = value[j:k].strip()
            j = k
        if name:
            out.append((name, text))
        i = j
    return out


def _to_bytes(text: str) -> bytes:
    """Back to the header's bytes: 8-bit bytes were kept as surrogate escapes by the parser."""
    return text.encode("utf-8", "surrogateescape")


def _param(params: list[tuple[str, str]], key: str) -> str | None:
    values: dict[str, str] = {}
    sections: dict[int, tuple[bool, str]] = {}
    section_re = re.compile(re.escape(key) + r"\*(\d+)(\*?)")
    for name, value in params:
        values.setdefault(name, value)
        m = section_re.fullmatch(name)
        if m:
            sections.setdefault(int(m[1]), (bool(m[2]), value))
    if key + "*" in values:                              # RFC 2231: name*=charset'lang'%XX
        charset, text = _split_2231(values[key + "*"])
        return _decode_bytes(unquote_to_bytes(_to_bytes(text)), charset)
    if sections:                                         # RFC 2231 continuations
        charset = None
        chunks = []
        for index in range(len(sections)):
            if index not in sections:
                break
            encoded, text = sections[index]
            if encoded:
                if index == 0:
                    charset, text = _split_2231(text)
                chunks.append(unquote_to_bytes(_to_bytes(text)))
            else:
                chunks.append(_to_bytes(text))
        return _decode_bytes(b"".join(chunks), charset)
    if key in values:                                    # plain, RFC 2047 words or raw 8-bit
        return _decode_words(values[key])
    return None


def _split_2231(text: str) -> tuple[str | None, str]:
    if text.count("'") >= 2:
        charset, _lang, rest = text.split("'", 2)
        return charset or None, rest
    return None, text


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?(.*?)\?=")


def _decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words anywhere in ``text``; adjacent words of one charset are
    joined as bytes first (clients split multi-byte characters over two words)."""
    pieces: list[tuple[str | None, bytes]] = []
    pos = 0
    for m in _ENCODED_WORD.finditer(text):
        between = text[pos:m.start()]
        if between and not (between.isspace() and pieces and pieces[-1][0] is not None):
            pieces.append((None, _to_bytes(between)))
        charset = _codec(m[1].split("*")[0]) or m[1]
        raw = _b_decode(m[3]) if m[2] in "bB" else _q_decode(m[3])
        if pieces and pieces[-1][0] == charset:
            pieces[-1] = (charset, pieces[-1][1] + raw)
        else:
            pieces.append((charset, raw))
        pos = m.end()
    if pos < len(text):
        pieces.append((None, _to_bytes(text[pos:])))
    return "".join(_decode_bytes(raw, charset) for charset, raw in pieces)


def _b_decode(text: str) -> bytes:
    text = re.sub(r"[^A-Za-z0-9+/]", "", text)
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return base64.b64decode(text[: len(text) // 4 * 4])


def _q_decode(text: str) -> bytes:
    raw = _to_bytes(text).replace(b"_", b" ")
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m[1], 16)]), raw)


_GB_FAMILY = frozenset({"gb2312", "gbk", "gb18030", "cp936", "ms936", "euc_cn", "euccn", "x-gbk",
                        "gb_2312-80", "csgb2312", "chinese", "936"})


def _codec(charset: str | None) -> str | None:
    """A Python codec for a MIME charset name; the GB family is decoded as GB18030."""
    if not charset:
        return None
    charset = charset.strip().strip('"').lower()
    if charset in _GB_FAMILY:
        return "gb18030"
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        return None
    return "gb18030" if name in ("gb2312", "gbk", "gb18030") else name


def _decode_bytes(raw: bytes, charset: str | None = None) -> str:
    """Decode with the declared charset, else UTF-8, else GB18030."""
    codec = _codec(charset)
    for encoding in (codec, "utf-8", "gb18030"):
        if encoding is None:
            continue
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            pass
    return raw.decode(codec or "utf-8", "replace")
