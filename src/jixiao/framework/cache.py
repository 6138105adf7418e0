"""The compiled framework, kept between processes: parsing and validating the YAML costs
~100 ms, unpickling the result under 1 ms.

A cache entry is found by the sha256 of the framework file's bytes, the package version and a
stamp of the package's code (name, size, mtime of every module: objects pickled by one version
of the code are never handed to another).  It is trusted only if, once unpickled, the
framework's own digest -- the sha256 of the framework and form files -- matches the files on
disk now, so an edited form file invalidates it too.  Anything wrong with an entry (unreadable,
truncated, from other code, not ours) means: parse the YAML, as without a cache.

Written atomically (a temp file in the same directory, then os.replace), so two processes
writing the same entry at once each leave a whole file.  Entries live in $JIXIAO_CACHE_DIR, else
$XDG_CACHE_HOME/jixiao, else ~/.cache/jixiao; JIXIAO_NO_CACHE=1 turns the cache off.  Pickle
executes what it loads, so an entry is read only from a directory and a file that belong to
the current user and that nobody else may write."""

from __future__ import annotations

import hashlib
import os
import pickle
import stat
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from jixiao import __version__
from jixiao.framework.model import Framework

MAGIC = b"jixiao-framework-cache 1\n"
KEEP = 32  # entries: every edit of a framework file makes a new one; the oldest go
PACKAGE = Path(__file__).resolve().parents[1]


def cache_dir() -> Path | None:
    if os.environ.get("JIXIAO_NO_CACHE"):
        return None
    if os.environ.get("JIXIAO_CACHE_DIR"):
        return Path(os.environ["JIXIAO_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "jixiao"


@lru_cache(maxsize=1)
def code_stamp() -> str:
    """Every module of the package by name, size and mtime: a changed module (an edit, an
    upgrade) gives another stamp.  A directory scan, ~0.5 ms: one stat per module, no
    os.walk/relpath (the order and names are os.walk's, top-down and sorted)."""
    h = hashlib.sha256(__version__.encode())
    _stamp(h, str(PACKAGE), "")
    return h.hexdigest()


def _stamp(h, folder: str, prefix: str) -> None:
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    folders = []
    for entry in entries:
        if entry.is_dir():
            if entry.name != "__pycache__" and not entry.is_symlink():  # (os.walk follows no links)
                folders.append(entry)
        elif entry.name.endswith(".py"):
            st = entry.stat()
            h.update(f"{prefix}{entry.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    for entry in folders:
        _stamp(h, entry.path, f"{prefix}{entry.name}{os.sep}")


def identity(framework: Framework) -> str:
    """What anything derived from a loaded framework is a function of: the framework and form
    files (their digest) and the package's code (its stamp).  Empty without a cache: there is
    nothing to look it up in."""
    if cache_dir() is None or not framework.digest:
        return ""
    return f"{framework.digest}\0{code_stamp()}"


def load(path: Path, parse: Callable[[Path], tuple[Framework, Path]]) -> Framework:
    """The framework of `path`: from the cache if a valid entry is there, else parsed (and the
    entry written).  `parse` gives the framework and the path of the form file it read."""
    where = cache_dir()
    try:
        raw = path.read_bytes()
    except OSError:
        where = None  # parse() reports the problem in its own words
    if where is None:
        return parse(path)[0]
    key = hashlib.sha256(b"%s\0%s\0%s\0" % (code_stamp().encode(), str(path).encode(), raw)).hexdigest()
    entry = where / f"{key}.pickle"
    fw = _read(entry, raw)
    if fw is None:
        fw, form = parse(path)
        _write(where, entry, (str(form), fw))
    return fw


def _trusted(st: os.stat_result) -> bool:
    return st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(entry: Path, raw: bytes) -> Framework | None:
    try:
        if not _trusted(os.stat(entry.parent)):
            return None
        with open(entry, "rb") as f:
            if not _trusted(os.fstat(f.fileno())) or f.read(len(MAGIC)) != MAGIC:
                return None
            form, fw = pickle.load(f)  # noqa: S301 - our own file, in our own directory (checked above)
        if not isinstance(fw, Framework):
            return None
        form_raw = Path(form).read_bytes()
        if fw.digest != hashlib.sha256(raw + b"\0" + form_raw).hexdigest():
            return None  # the form file changed since
        return fw
    except Exception:  # noqa: BLE001 - a damaged entry of any kind: parse instead
        return None


def _write(where: Path, entry: Path, value: tuple[str, Framework]) -> None:
    try:
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC)
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, entry)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _prune(where)
    except Exception:  # noqa: BLE001 - no cache (read-only home, full disk, unpicklable): just slower
        return


def _prune(where: Path) -> None:
    old = sorted(where.glob("*.pickle"), key=lambda p: p.stat().st_mtime_ns)[:-KEEP]
    for path in old:
        path.unlink(missing_ok=True)
