"""What expanding the inputs yields (`Candidate`, `SourceProblem`), the `Limits` and the context
(`Ctx`, the shared archive `Budget`) it carries down, and the name tests every container shares."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

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


# ---------------------------------------------------------------------------------------
# context, guards


class Budget:
    """Uncompressed bytes still allowed for one top-level archive (shared by nested ones)."""

    def __init__(self, remaining: int) -> None:
        self.remaining = remaining


@dataclass(frozen=True)
class Ctx:
    limits: Limits
    received: datetime | None = None
    zip_depth: int = 0
    mail_depth: int = 0
    budget: Budget | None = None
    seen_dirs: frozenset[str] = frozenset()


def guard(source: str, items: Iterator[Item]) -> Iterator[Item]:
    """Turn an unexpected error while expanding ``source`` into a SourceProblem."""
    try:
        yield from items
    except Exception as exc:  # noqa: BLE001 -- one bad input must not stop the import
        yield SourceProblem(source, f"读取时出错，未能展开：{type(exc).__name__}: {exc}")


def size_text(n: int) -> str:
    if n >= MiB:
        return f"{n / MiB:.0f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} 字节"


def os_error(exc: OSError) -> str:
    return exc.strerror or str(exc)


# ---------------------------------------------------------------------------------------
# names: junk, extensions

_JUNK_NAMES = frozenset(
    name.lower()
    for name in ("Thumbs.db", "ehthumbs.db", "desktop.ini", "__MACOSX", "$RECYCLE.BIN",
                 "System Volume Information", ".DS_Store")
)


def is_junk(name: str) -> bool:
    """OS / office junk that is skipped silently inside folders and archives."""
    return name.startswith(".") or name.startswith("~$") or name.lower() in _JUNK_NAMES


def is_junk_member(member: str) -> bool:
    return any(is_junk(part) for part in re.split(r"[/\\]", member) if part)


SPREADSHEET_EXTS = frozenset(
    ".xlsx .xlsm .xltx .xltm .xlsb .xls .xlt .et .ett .ods .csv".split()
)
OFFICE_EXTS = SPREADSHEET_EXTS | frozenset(
    ".docx .doc .wps .pptx .ppt .dps .pdf .ofd .odt .odp .zip .rar .7z .png .jpg .jpeg .gif".split()
)
IMAGE_EXTS = frozenset(".png .jpg .jpeg .gif .bmp .tif .tiff .webp .emf .wmf .heic".split())


def ext_of(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def basename(name: str) -> str:
    return re.split(r"[/\\]", name.rstrip("/\\"))[-1]

