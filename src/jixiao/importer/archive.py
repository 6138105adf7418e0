"""The content-addressed archive of originals: every file kept once, named by its sha256."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePath


_MADE: set[Path] = set()
INCOMING = ".incoming-"  # + the writer's pid: a temp file whose writer is gone is debris


def sweep(root: Path) -> int:
    """Remove temp files left by imports that were killed mid-write (their process is gone);
    a concurrent import's temp files are left alone."""
    removed = 0
    for tmp in root.glob(f"*/{INCOMING}*") if root.exists() else ():
        pid = tmp.name[len(INCOMING):].split("-", 1)[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        tmp.unlink(missing_ok=True)
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def archive_name(sha256: str, original_name: str) -> str:
    suffix = PurePath(original_name).suffix.lower()
    if not suffix.isascii() or len(suffix) > 8:
        suffix = ".bin"
    return f"{sha256[:2]}/{sha256}{suffix}"


def store(root: Path, sha256: str, original_name: str, data: bytes) -> str:
    """Write once, atomically (temp file + rename): a killed import leaves no half file."""
    name = archive_name(sha256, original_name)
    target = root / name
    if not target.exists():
        if target.parent not in _MADE:  # 256 folders: made once per process, not per file
            target.parent.mkdir(parents=True, exist_ok=True)
            _MADE.add(target.parent)
        try:
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f"{INCOMING}{os.getpid()}-")
        except FileNotFoundError:  # the folder was removed since
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f"{INCOMING}{os.getpid()}-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return name
