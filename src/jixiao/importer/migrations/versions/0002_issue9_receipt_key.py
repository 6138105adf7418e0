"""Receipts get an idempotency key (unique on SQLite and PostgreSQL alike) and the raw bytes of
a source path that is not valid UTF-8.  Receipts duplicated by earlier concurrent imports (the
same source without content, recorded twice) are merged, keeping the first.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # as in 0001, only what is missing: on SQLite a migration killed half-way is finished later
    from jixiao.importer.schema import receipt_key

    bind = op.get_bind()
    columns = {c["name"] for c in sa.inspect(bind).get_columns("receipts")}
    if "key" not in columns:
        op.add_column("receipts", sa.Column("key", sa.String(64)))
    if "source_bytes" not in columns:
        op.add_column("receipts", sa.Column("source_bytes", sa.LargeBinary))
    receipts = sa.table("receipts", sa.column("id", sa.Integer), sa.column("source", sa.Text),
                        sa.column("sha256", sa.String), sa.column("source_bytes", sa.LargeBinary),
                        sa.column("key", sa.String))
    seen: set[str] = set()
    rows = bind.execute(sa.select(receipts.c.id, receipts.c.source, receipts.c.sha256, receipts.c.source_bytes,
                                  receipts.c.key).order_by(receipts.c.id)).all()
    for row in rows:
        key = row.key or receipt_key(row.source, row.sha256, row.source_bytes)
        if key in seen:
            bind.execute(sa.delete(receipts).where(receipts.c.id == row.id))
            continue
        seen.add(key)
        if row.key is None:
            bind.execute(sa.update(receipts).where(receipts.c.id == row.id).values(key=key))
    if "uq_receipts_key" not in {i["name"] for i in sa.inspect(bind).get_indexes("receipts")}:
        op.create_index("uq_receipts_key", "receipts", ["key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_receipts_key", "receipts")
    op.drop_column("receipts", "source_bytes")
    op.drop_column("receipts", "key")
