"""Creating and upgrading the database schema with the Alembic migrations beside this file."""

from __future__ import annotations

import fcntl
import hashlib
import re
from functools import cache
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

MIGRATIONS = Path(__file__).parent / "migrations"


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision, one migrator at a time: PostgreSQL by an
    advisory lock in the migration's transaction; SQLite, whose driver commits DDL statement by
    statement, by a lock file beside the database — and its migrations create only what is
    missing, so a migration killed half-way is finished by the next run.

    A database already at the newest revision is recognised by one query, without loading
    Alembic (a third of a second of imports, on every run into the bureau's database)."""
    if _at_head(engine):
        return
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        with open(f"{engine.url.database}.migrate-lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                _upgrade(engine)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    else:
        _upgrade(engine)


_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*[\"']([^\"']+)[\"']\s*$", re.M)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+?)\s*$", re.M)


@cache
def _heads() -> frozenset[str] | None:
    """The newest revisions, read from the migration files' `revision`/`down_revision` lines;
    None (so Alembic decides) when a file is not written that simply."""
    revisions, downs = set(), set()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        rev, down = _REVISION.findall(text), _DOWN.findall(text)
        if len(rev) != 1 or len(down) != 1:
            return None
        revisions.add(rev[0])
        if down[0] != "None":
            names = re.findall(r"[\"']([^\"']+)[\"']", down[0])
            if not names:
                return None
            downs.update(names)
    heads = revisions - downs
    return frozenset(heads) if heads and downs <= revisions else None


def _at_head(engine: Engine) -> bool:
    heads = _heads()
    if heads is None:
        return False
    try:
        with engine.connect() as conn:
            have = set(conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())
    except (OperationalError, ProgrammingError):  # no schema yet
        return False
    return have == heads


def _upgrade(engine: Engine) -> None:
    from alembic import command  # only when there is something to migrate
    from alembic.config import Config

    for attempt in range(3):
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(717171)")  # one migrator at a time
                cfg = Config()
                cfg.set_main_option("script_location", str(MIGRATIONS))
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
            return
        except (OperationalError, ProgrammingError):
            if attempt == 2:
                raise


def receipt_key(source: str, sha256: str | None, source_bytes: bytes | None = None) -> str:
    """The receipt's idempotency key: the same input given twice, or to two imports at once,
    is one receipt (a unique index on both databases; NULL contents compare unequal in a
    UNIQUE(source, sha256), so that constraint alone lets problem receipts multiply)."""
    raw = (source_bytes or b"") + b"\0" + source.encode("utf-8", "surrogateescape") + b"\0" + (sha256 or "-").encode()
    return hashlib.sha256(raw).hexdigest()


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())
