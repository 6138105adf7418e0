"""Walking the paths given to ``jixiao import``: files, folders, and the dispatch of a file or
blob (an archive member, an attachment) to the container that can open it.

* **Files** are candidates as they are (any type: .xlsx, .xls, .et, .pdf, .jpg ... -- the
  checker decides and rejects with a clear reason).  Files larger than
  ``Limits.max_file_bytes`` are reported, not read.  ``.zip`` files go to `zips`, ``.eml`` and
  mbox files (``.mbox``, or a first line starting with ``From `` for files that are not office
  documents -- also an ``.eml`` that holds several mails) to `mail`.
* **Folders** are walked recursively in sorted order.  Skipped silently -- and only these:
  hidden names (starting with ``.``, including macOS ``._*`` files), ``__MACOSX``,
  ``.DS_Store``, ``Thumbs.db``, ``ehthumbs.db``, ``desktop.ini``, ``$RECYCLE.BIN``,
  ``System Volume Information`` and Office/WPS lock files ``~$*``.  A path given explicitly
  is never skipped, whatever its name.  Symbolic links are followed (loops are detected).
  A folder given explicitly that contains nothing usable is reported.  A folder with
  ``cur/`` and ``new/`` is a maildir (`mail`).

Hostile names: a file-system name that is not valid UTF-8 (GBK bytes from a Windows share or
``unzip`` without ``-O``) is shown decoded (GB18030, else with U+FFFD) and its path kept as bytes
in ``path_bytes``; a control character in a name (NUL included) becomes U+FFFD (a file-system
path with one is also kept as bytes).

`zips` and `mail` call back into `expand_blob` and `expand_path` for what they contain (a zip
in a mail in a zip), hence the mutual imports, resolved at call time.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from jixiao.xlsx.safe import NOT_REGULAR_FILE, is_special
from jixiao.importer.sources import mail, zips
from jixiao.importer.sources.items import (
    OFFICE_EXTS, Candidate, Ctx, Item, Limits, SourceProblem, ext_of, guard, is_junk, os_error, size_text,
)
from jixiao.names import display_name, is_clean, raw_name


def iter_sources(paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
                 *, limits: Limits | None = None) -> Iterator[Item]:
    """Expand ``paths`` (files, folders, archives, mail) into Candidates and SourceProblems.

    Lazy: nothing is read before the first item is requested.  See the package docstring.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    ctx = Ctx(limits or Limits())
    for raw in paths:
        path = Path(os.fsdecode(raw))
        display = display_name(path)
        for item in guard(display, expand_path(path, display, ctx, explicit=True)):
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
# file system


def expand_path(path: Path, display: str, ctx: Ctx, *, explicit: bool) -> Iterator[Item]:
    items = _expand_path_items(path, display, ctx, explicit=explicit)
    if is_clean(os.fspath(path)) and not _CONTROL.search(os.fspath(path)):
        yield from items
        return
    raw = raw_name(path)  # kept losslessly with what this path yields (deeper paths keep their own)
    for item in items:
        yield item if item.path_bytes is not None else replace(item, path_bytes=raw)


def _expand_path_items(path: Path, display: str, ctx: Ctx, *, explicit: bool) -> Iterator[Item]:
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            yield SourceProblem(display, "符号链接指向的文件不存在")
        else:
            yield SourceProblem(display, "路径不存在")
        return
    except OSError as exc:
        yield SourceProblem(display, f"无法访问：{os_error(exc)}")
        return
    if stat.S_ISDIR(st.st_mode):
        if mail.is_maildir(path):
            yield from mail.expand_maildir(path, display, ctx)
        else:
            yield from _expand_dir(path, display, ctx, explicit=explicit)
    elif is_special(st.st_mode):
        yield SourceProblem(display, f"{NOT_REGULAR_FILE}，未读取")
    else:
        yield from _expand_file(path, display, st.st_size, ctx)


def scandir_sorted(path: Path) -> list[os.DirEntry[str]]:
    with os.scandir(path) as it:
        return sorted(it, key=lambda e: e.name)


LINK_LOOP = "符号链接形成循环，已跳过"


def unreadable_folder(display: str, exc: OSError) -> SourceProblem:
    return SourceProblem(display, f"无法读取文件夹：{os_error(exc)}")


def enter_dir(path: Path, ctx: Ctx) -> Ctx | None:
    """The context for walking ``path``, or None when it is a symlink loop."""
    real = os.path.realpath(path)
    if real in ctx.seen_dirs:
        return None
    return replace(ctx, seen_dirs=ctx.seen_dirs | {real})


def _expand_dir(path: Path, display: str, ctx: Ctx, *, explicit: bool) -> Iterator[Item]:
    sub = enter_dir(path, ctx)
    if sub is None:
        yield SourceProblem(display, LINK_LOOP)
        return
    try:
        entries = scandir_sorted(path)
    except OSError as exc:
        yield unreadable_folder(display, exc)
        return
    produced = False
    for entry in entries:
        if is_junk(entry.name):
            continue
        child = os.path.join(display, display_name(entry.name))
        for item in guard(child, expand_path(Path(entry.path), child, sub, explicit=False)):
            produced = True
            yield item
    if explicit and not produced:
        yield SourceProblem(display, "文件夹中没有文件（系统文件和隐藏文件不算）")


def read_file(path: Path, display: str, size: int, ctx: Ctx) -> bytes | SourceProblem:
    if size > ctx.limits.max_file_bytes:
        return SourceProblem(display, f"文件过大（{size_text(size)}，上限 {size_text(ctx.limits.max_file_bytes)}），未读取")
    try:
        return path.read_bytes()
    except OSError as exc:
        return SourceProblem(display, f"无法读取文件：{os_error(exc)}")


def _expand_file(path: Path, display: str, size: int, ctx: Ctx) -> Iterator[Item]:
    ext = ext_of(path.name)
    name = display_name(path.name)
    if ext == ".zip":
        yield from zips.expand_zip(display, name, path, ctx)
        return
    if ext == ".mbox" or (ext not in OFFICE_EXTS and _starts_with_from(path)):  # .eml too: several mails
        yield from mail.expand_mbox(path, display, ctx)
        return
    data = read_file(path, display, size, ctx)
    if isinstance(data, SourceProblem):
        yield data
    elif ext == ".eml":
        yield from mail.expand_mail_bytes(display, data, ctx)
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


def expand_blob(source: str, name: str, data: bytes, ctx: Ctx) -> Iterator[Item]:
    ext = ext_of(name)
    if ext == ".zip":
        yield from zips.expand_zip(source, name, data, ctx)
    elif ext == ".eml" and not data.startswith(b"From "):
        yield from mail.expand_mail_bytes(source, data, ctx)
    elif ext in (".mbox", ".eml"):
        yield from mail.expand_mbox_bytes(source, data, ctx)
    else:
        yield Candidate.of(source, name, data, ctx.received)
