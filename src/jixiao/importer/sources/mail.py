"""Mail containers: maildir folders, mbox files, and the MIME walk of one message.

* **Email**: ``.eml`` files, mbox files (read message by message with `mailbox.mbox`, numbered
  from 1: ``box.mbox#12``) and maildir folders (a folder with ``cur/`` and ``new/``: every
  message in both; Maildir++ sub-folders such as ``.Sent`` too; files in ``tmp/`` are
  deliveries in progress and are reported, not read; maildir index files like
  ``dovecot-uidlist`` are skipped).  ``.eml``/``.mbox`` files met inside archives or as
  attachments are expanded too.
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

The stdlib `email` package (``policy=email.policy.default``) parses the MIME structure, the
transfer encodings and the Date header; attachment names and subjects are decoded by
`headers`.

Dates: `Candidate.received` is the email's Date header as a timezone-aware datetime (a
``-0000`` zone is taken as UTC), None for files that did not come by mail or when the
header is missing or unparseable.  For attachments of a forwarded or attached mail it is
the Date of the outermost mail that has one -- when the bureau received it.

Memory: an mbox is read message by message (`mailbox` needs a real file, so an mbox met as an
attachment is written to a temporary file first).
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import mailbox
import mimetypes
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from email.message import Message
from pathlib import Path

from jixiao.importer.sources import walk
from jixiao.importer.sources.headers import decode_words, part_filename, raw_header, unfold
from jixiao.importer.sources.items import (
    IMAGE_EXTS, SPREADSHEET_EXTS, Ctx, Item, SourceProblem, basename, ext_of, guard, is_junk,
)
from jixiao.names import display_name

_MAILDIR_META = re.compile(r"^(dovecot[.-].*|maildirfolder|maildirsize|subscriptions|courierimap.*)$", re.I)


def is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def expand_maildir(path: Path, display: str, ctx: Ctx) -> Iterator[Item]:
    sub = walk.enter_dir(path, ctx)
    if sub is None:
        yield SourceProblem(display, walk.LINK_LOOP)
        return
    produced = False
    for folder in ("cur", "new"):
        folder_display = os.path.join(display, folder)
        try:
            entries = walk.scandir_sorted(path / folder)
        except OSError as exc:
            produced = True
            yield walk.unreadable_folder(folder_display, exc)
            continue
        for entry in entries:
            if is_junk(entry.name) or not entry.is_file():
                continue
            produced = True
            source = os.path.join(folder_display, display_name(entry.name))
            data = walk.read_file(Path(entry.path), source, entry.stat().st_size, sub)
            if isinstance(data, SourceProblem):
                yield data
            else:
                yield from guard(source, expand_mail_bytes(source, data, sub))
    try:
        rest = walk.scandir_sorted(path)
    except OSError as exc:
        yield walk.unreadable_folder(display, exc)
        return
    for entry in rest:
        child = os.path.join(display, display_name(entry.name))
        if entry.name in ("cur", "new") or _MAILDIR_META.match(entry.name):
            continue
        if entry.name == "tmp":
            try:
                pending = [e for e in walk.scandir_sorted(Path(entry.path)) if not is_junk(e.name)]
            except OSError:
                pending = []
            for e in pending:
                produced = True
                yield SourceProblem(os.path.join(child, display_name(e.name)),
                                    "maildir 的 tmp/ 中是尚未投递完成的邮件，未读取")
            continue
        if entry.name.startswith(".") and entry.is_dir() and is_maildir(Path(entry.path)):
            items: Iterator[Item] = expand_maildir(Path(entry.path), child, sub)
        elif is_junk(entry.name):
            continue
        else:
            items = walk.expand_path(Path(entry.path), child, sub, explicit=False)
        for item in guard(child, items):
            produced = True
            yield item
    if not produced:
        yield SourceProblem(display, "maildir 中没有邮件")


def expand_mbox(path: Path, display: str, ctx: Ctx) -> Iterator[Item]:
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
            yield from guard(source, expand_mail_bytes(source, data, ctx))
        if count == 0:
            yield SourceProblem(display, "邮箱文件中没有邮件")
    finally:
        box.close()


def expand_mbox_bytes(source: str, data: bytes, ctx: Ctx) -> Iterator[Item]:
    """An mbox met as an attachment or archive member: `mailbox` needs a real file."""
    fd, name = tempfile.mkstemp(suffix=".mbox", prefix="jixiao-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        yield from expand_mbox(Path(name), source, ctx)
    finally:
        os.unlink(name)


# ---------------------------------------------------------------------------------------
# one message


def expand_mail_bytes(source: str, data: bytes, ctx: Ctx) -> Iterator[Item]:
    """One email that is an input of its own (a file, an mbox message, an .eml attachment)."""
    too_deep = _too_deep(source, ctx)
    if too_deep:
        yield too_deep
        return
    try:
        msg = email.message_from_bytes(data, policy=email.policy.default)
    except Exception as exc:  # noqa: BLE001
        yield SourceProblem(source, f"邮件已损坏，无法解析：{exc}")
        return
    if not msg.keys():
        yield SourceProblem(source, "不是有效的邮件（找不到邮件头），无法读取")
        return
    sub = _inside(msg, ctx)
    produced = False
    for item in _walk_part(msg, source, sub):
        produced = True
        yield item
    if not produced:
        defects = _defect_names(msg)
        hint = f"（邮件格式有误：{defects}）" if defects else ""
        yield SourceProblem(source, f"邮件中没有附件{hint}（正文中的图片不算）")


def _too_deep(source: str, ctx: Ctx) -> SourceProblem | None:
    if ctx.mail_depth >= ctx.limits.max_mail_depth:
        return SourceProblem(source, f"邮件嵌套超过 {ctx.limits.max_mail_depth} 层，未展开")
    return None


def _inside(msg: Message, ctx: Ctx) -> Ctx:
    """The context for what ``msg`` holds: one level deeper; received when the outermost mail
    with a Date was."""
    return replace(ctx, received=ctx.received or _mail_date(msg), mail_depth=ctx.mail_depth + 1)


def _defect_names(msg: Message) -> str:
    names = {type(d).__name__ for part in msg.walk() for d in getattr(part, "defects", ())}
    return "、".join(sorted(names))


def _mail_date(msg: Message) -> datetime | None:
    raw = raw_header(msg, "date")
    if not raw:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(unfold(raw).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # "-0000": UTC, local zone unknown (RFC 5322)
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def _walk_part(part: Message, source: str, ctx: Ctx) -> Iterator[Item]:
    if part.get_content_maintype() == "message" and part.is_multipart():
        # message/rfc822 (a forwarded or attached mail), parsed by the email package
        label = part_filename(part)
        for inner in part.get_payload():
            if not isinstance(inner, Message):
                continue
            inner_source = (f"{source} → 附件 {basename(label)}" if label
                            else f"{source} → 转发的邮件「{_subject(inner)}」")
            too_deep = _too_deep(inner_source, ctx)
            if too_deep:
                yield too_deep
                continue
            yield from guard(inner_source, _walk_part(inner, inner_source, _inside(inner, ctx)))
    elif part.is_multipart():
        for child in part.get_payload():
            if isinstance(child, Message):
                yield from _walk_part(child, source, ctx)
    else:
        yield from guard(source, _leaf(part, source, ctx))


def _subject(msg: Message) -> str:
    raw = raw_header(msg, "subject")
    text = decode_words(unfold(raw)).strip() if raw else ""
    text = re.sub(r"\s+", " ", text) or "无主题"
    return text if len(text) <= 40 else text[:39] + "…"


_NAMELESS_ATTACHMENT_MAIN_TYPES = frozenset({"application"})


def _leaf(part: Message, source: str, ctx: Ctx) -> Iterator[Item]:
    disposition = part.get_content_disposition()
    ctype = part.get_content_type()
    name = part_filename(part)
    if name is not None:
        name = basename(name.strip())
    if name:
        label = f"附件 {name}"
    elif disposition == "attachment" or part.get_content_maintype() in _NAMELESS_ATTACHMENT_MAIN_TYPES:
        name = "未命名附件" + (mimetypes.guess_extension(ctype) or ".bin")
        label = f"附件（无文件名，{ctype}）"
    else:
        return  # the body: text/plain, text/html, nameless inline images
    ext = ext_of(name)
    is_image = part.get_content_maintype() == "image" or ext in IMAGE_EXTS
    if is_image and ext not in SPREADSHEET_EXTS and (
        disposition == "inline" or (disposition is None and part.get("Content-ID") is not None)
    ):
        return  # an image of the mail body, not an attachment (documented)
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        data = b""
    child = f"{source} → {label}"
    if ctype in ("message/rfc822", "message/global"):
        yield from expand_mail_bytes(child, data, ctx)
    else:
        yield from walk.expand_blob(child, name, data, ctx)
