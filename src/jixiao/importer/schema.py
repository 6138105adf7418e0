"""Creating and upgrading the database schema with the Alembic migrations beside this file."""

from __future__ import annotations

import fcntl
import hashlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

MIGRATIONS = Path(__file__).parent / "migrations"


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision, one migrator at a time: PostgreSQL by an
    advisory lock in the migration's transaction; SQLite, whose driver commits DDL statement by
    statement, by a lock file beside the database — and its migrations create only what is
    missing, so a migration killed half-way is finished by the next run."""
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        with open(f"{engine.url.database}.migrate-lock", "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                _upgrade(engine)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    else:
        _upgrade(engine)


def _upgrade(engine: Engine) -> None:
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
