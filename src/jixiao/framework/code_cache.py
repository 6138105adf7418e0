"""Compiled Python code kept between processes: the engine's generated evaluator for a framework
(`expr_codegen`) is ~450 kB of source that CPython compiles in ~200 ms, and unmarshals in under
1 ms.

An entry is found by the sha256 of the source text and the interpreter's bytecode version, so
it can only ever hold the compilation of exactly that text; its payload's own sha256 is checked
before it is unmarshalled (a truncated or damaged file is compiled afresh, never run).  Same
directory, same trust rule and same atomic writes as the framework cache (`cache.py`).

Finding an entry by its text means generating the text first (~10 ms for the engine's ~450
cells).  A caller that knows what its text is a function of -- the engine: the framework
files' digest and the package's code stamp -- can `keep` the code under that identity as well
and find it `by_identity` without generating anything (a `.program` entry, checked the same
way); so can plain data derived the same way (the layout's positions and digest)."""

from __future__ import annotations

import hashlib
import importlib.util
import marshal
import os
import sys
import tempfile
from pathlib import Path
from types import CodeType
from typing import Any

from jixiao.framework.cache import _trusted, cache_dir

MAGIC = b"jixiao-code-cache 1\n"
KEEP = 8
_DIGEST = 32


def compiled(text: str, filename: str, required: bool = True) -> CodeType | None:
    """compile(text, filename, "exec"), from the cache when a valid entry is there.  Not
    `required`: None instead of compiling when no entry can be kept (no cache, or a directory
    we cannot write), so that a caller with a cheaper route takes it rather than pay the
    compilation in every process."""
    where = cache_dir()
    if where is None:
        return compile(text, filename, "exec") if required else None
    key = hashlib.sha256(b"%s\0%s\0%s\0%s" % (MAGIC, importlib.util.MAGIC_NUMBER, sys.version.encode(),
                                              filename.encode())
                         + text.encode()).hexdigest()
    entry = where / f"{key}.code"
    code = _read(entry)
    if code is None:
        if not required and not _writable(where):
            return None
        code = compile(text, filename, "exec")
        _write(where, entry, marshal.dumps(code))
    return code


def by_identity(identity: str, filename: str, kind: type = CodeType) -> Any:
    """What was kept for `identity` under `filename` (see `keep`) if it is a `kind`, else
    None: no cache, no entry, a bad entry."""
    where = cache_dir()
    return None if where is None else _read(_identity_entry(where, identity, filename), kind)


def keep(identity: str, filename: str, value: Any) -> None:
    """Keep `value` (code, or plain data marshal can hold) under `identity`: the caller vouches
    that `identity` determines it (the text `code` was compiled from, the data derived)."""
    where = cache_dir()
    if where is None:
        return
    try:
        payload = marshal.dumps(value)
    except ValueError:  # not plain data: nothing kept
        return
    _write(where, _identity_entry(where, identity, filename), payload, ".program")


def _identity_entry(where: Path, identity: str, filename: str) -> Path:
    key = hashlib.sha256(b"%s\0identity\0%s\0%s\0%s\0" % (MAGIC, importlib.util.MAGIC_NUMBER, sys.version.encode(),
                                                          filename.encode()) + identity.encode()).hexdigest()
    return where / f"{key}.program"


def _writable(where: Path) -> bool:
    try:
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return False
    return os.access(where, os.W_OK) and _trusted(os.stat(where))


def _read(entry: Path, kind: type = CodeType) -> Any:
    try:
        if not _trusted(os.stat(entry.parent)):
            return None
        with open(entry, "rb") as f:
            if not _trusted(os.fstat(f.fileno())):
                return None
            raw = f.read()
        head, digest, payload = raw[:len(MAGIC)], raw[len(MAGIC):len(MAGIC) + _DIGEST], raw[len(MAGIC) + _DIGEST:]
        if head != MAGIC or hashlib.sha256(payload).digest() != digest:
            return None
        value = marshal.loads(payload)
        return value if isinstance(value, kind) else None
    except Exception:  # noqa: BLE001 - unreadable entry of any kind: compile instead
        return None


def _write(where: Path, entry: Path, payload: bytes, suffix: str = ".code") -> None:
    try:
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".tmp-", suffix=suffix)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + hashlib.sha256(payload).digest() + payload)
            os.replace(tmp, entry)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        for old in sorted(where.glob(f"*{suffix}"), key=lambda p: p.stat().st_mtime_ns)[:-KEEP]:
            old.unlink(missing_ok=True)
    except Exception:  # noqa: BLE001 - no cache (read-only home, full disk): just slower
        return
