"""The bureau's database: one schema through SQLAlchemy 2, SQLite by default, PostgreSQL by URL.

Everything a check finds is a queryable row, not a blob: submissions, their inputs, their
indicator scores (the workbook's and the recomputed), their messages; and every file the
importer was given is a receipt, so nothing is lost.  The schema is created and upgraded by
the Alembic migrations in `importer/migrations` (`upgrade`), never by `create_all`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import (
    Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Submission(Base):
    """One distinct workbook (by sha256): the same attachment sent twice is one submission."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(Text)  # of its first receipt
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # earliest Date seen
    status: Mapped[str] = mapped_column(String(32))  # accepted | accepted_with_warnings | rejected | unreadable
    unit_name: Mapped[str | None] = mapped_column(Text)
    unit_code: Mapped[str | None] = mapped_column(Text)
    year: Mapped[int | None] = mapped_column(Integer)
    framework_id: Mapped[str | None] = mapped_column(String(100))
    framework_version: Mapped[str | None] = mapped_column(String(50))
    workbook_total: Mapped[float | None] = mapped_column(Float)
    recomputed_total: Mapped[float | None] = mapped_column(Float)
    grade: Mapped[str | None] = mapped_column(String(10))
    errors: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    archive_path: Mapped[str] = mapped_column(Text)  # relative to the archive root
    # the newest submission of a unit and year is current; each earlier one points at the next
    # newer one, in the order of version_key (importer/currency.py)
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    version_key: Mapped[str | None] = mapped_column(String(120))  # None: takes no part in currency (migration 0003)

    __table_args__ = (Index("ix_submissions_unit_year", "unit_name", "year"),
                      Index("ix_submissions_unit_year_version", "unit_name", "year", "version_key"))


class Receipt(Base):
    """Every file the importer was given, once per (source, content): the accounting of a batch."""

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    original_name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))  # None: the source itself could not be read
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"))
    problem: Mapped[str | None] = mapped_column(Text)  # why a source yielded no file (or could not be checked)
    # idempotency: one receipt per (path bytes, source, content), also for sources without
    # content, where (source, NULL) would not be unique (schema.receipt_key; migration 0002)
    key: Mapped[str] = mapped_column(String(64))
    source_bytes: Mapped[bytes | None] = mapped_column(LargeBinary)  # the path when not valid UTF-8

    __table_args__ = (UniqueConstraint("source", "sha256", name="uq_receipts_source_sha256"),
                      Index("uq_receipts_key", "key", unique=True))


class InputValue(Base):
    __tablename__ = "inputs"

    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True)
    field_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    value_number: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str | None] = mapped_column(Text)


class ScoreRow(Base):
    """One indicator of a submission: the workbook's score and the recomputed one (the engine's
    `IndicatorScore`, stored)."""

    __tablename__ = "indicator_scores"

    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True)
    indicator_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    points: Mapped[float] = mapped_column(Float)
    workbook_score: Mapped[float | None] = mapped_column(Float)
    recomputed_score: Mapped[float] = mapped_column(Float)
    explanation: Mapped[str] = mapped_column(Text)


class MessageRow(Base):
    """One 错误/警告 of a submission's check (the checker's `Message`, stored)."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(10))
    code: Mapped[str] = mapped_column(String(50))
    text: Mapped[str] = mapped_column(Text)
    sheet: Mapped[str | None] = mapped_column(Text)
    cell: Mapped[str | None] = mapped_column(String(20))
    field: Mapped[str | None] = mapped_column(String(100))


def default_url(directory: str | Path = ".") -> str:
    return f"sqlite:///{Path(directory) / 'jixiao.db'}"


def make_engine(url: str) -> Engine:
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # noqa: ANN001
            cur = dbapi_connection.cursor()
            # WAL: readers never block the writer; busy_timeout: two imports at once wait, not fail
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
    return engine


def archive_root(url: str) -> Path:
    """The content-addressed archive lives beside a SQLite file; for a server, in ./jixiao-archive."""
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):]).resolve().parent / "jixiao-archive"
    return Path("jixiao-archive").resolve()
