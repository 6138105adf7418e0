"""Which submission of a unit and year is current, in constant work per file.

The versions of one unit and year form a chain ordered by `version_key` (the email's Date,
undated ones first, ties by content hash): each points at the next newer one (`superseded_by`),
the newest is current.  A new version is linked in between its two neighbours, found through
the index on (unit_name, year, version_key): two indexed look-ups and at most two updates,
whatever the history length.  The chain depends only on the keys, never on the order files
were written in."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.engine import Connection

from jixiao.checker.result import UNREADABLE
from jixiao.importer.db import Submission

S = Submission.__table__


def version_key(status: str, unit: str | None, year: int | None, received: datetime | None, sha256: str) -> str | None:
    """Sortable text; None for a submission that takes no part in currency (unreadable, or no
    unit or year)."""
    if status == UNREADABLE or unit is None or year is None:
        return None
    if received is None:
        return f"0|{sha256}"
    if received.tzinfo is not None:
        received = received.astimezone(timezone.utc).replace(tzinfo=None)
    return f"1{received.isoformat(timespec='microseconds')}|{sha256}"


def lock(conn: Connection, unit: str, year: int) -> None:
    """PostgreSQL: two imports linking versions of one unit and year wait for each other, and
    under READ COMMITTED the second then sees the first's row (SQLite serialises writers)."""
    if conn.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"{unit}\0{year}".encode()).digest()[:8], "big", signed=True)
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _side(newer: bool):
    cond = S.c.version_key > bindparam("key") if newer else S.c.version_key < bindparam("key")
    order = S.c.version_key.asc() if newer else S.c.version_key.desc()
    return select(S.c.id).where(S.c.unit_name == bindparam("unit"), S.c.year == bindparam("year"), cond) \
        .order_by(order).limit(1).scalar_subquery()


# built once: constructing statements per file would cost more than running them
_NEIGHBOURS = select(_side(False), _side(True))
_SET = update(S).where(S.c.id == bindparam("sub_id")).values(is_current=bindparam("current"),
                                                             superseded_by=bindparam("by"))


def neighbours(conn: Connection, unit: str, year: int, key: str) -> tuple[int | None, int | None]:
    """(the next older, the next newer) version of a unit and year around `key`: one statement."""
    row = conn.execute(_NEIGHBOURS, {"unit": unit, "year": year, "key": key}).one()
    return row[0], row[1]


def _set(conn: Connection, sub_id: int, current: bool, by: int | None) -> None:
    conn.execute(_SET, {"sub_id": sub_id, "current": current, "by": by})


def link(conn: Connection, sub_id: int, unit: str, year: int, key: str) -> None:
    """Put a submission (its row already carrying `key`, not current, superseded by none) into
    its place in the chain."""
    older, newer = neighbours(conn, unit, year, key)
    _set(conn, sub_id, newer is None, newer)
    if older is not None:
        _set(conn, older, False, sub_id)


def unlink(conn: Connection, sub_id: int, unit: str, year: int, key: str) -> None:
    """Take a submission out of the chain (before its key changes): its older neighbour then
    points at its newer one, or becomes current."""
    older, newer = neighbours(conn, unit, year, key)
    if older is not None:
        _set(conn, older, newer is None, newer)
    _set(conn, sub_id, False, None)


def relink_all(conn: Connection) -> None:
    """Every chain rebuilt from the keys (the migration that introduces them): linear, once."""
    rows = conn.execute(select(S.c.id, S.c.unit_name, S.c.year, S.c.version_key)
                        .where(S.c.version_key.is_not(None))
                        .order_by(S.c.unit_name, S.c.year, S.c.version_key)).all()
    conn.execute(update(S).where(S.c.version_key.is_(None)).values(is_current=False, superseded_by=None))
    for i, r in enumerate(rows):
        nxt = rows[i + 1] if i + 1 < len(rows) and (rows[i + 1].unit_name, rows[i + 1].year) == (r.unit_name, r.year) else None
        conn.execute(update(S).where(S.c.id == r.id).values(
            is_current=nxt is None, superseded_by=None if nxt is None else nxt.id))
