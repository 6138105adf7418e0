"""Currency through an index: submissions.version_key and (unit_name, year, version_key).

Each version of a unit and year points at the next newer one; the key orders them (see
importer/currency.py).  Existing rows get their key and their chain here, once.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEX = "ix_submissions_unit_year_version"


def upgrade() -> None:
    # idempotent, like 0001: on SQLite each DDL statement commits by itself
    from jixiao.importer.currency import relink_all, version_key

    bind = op.get_bind()
    inspector = sa.inspect(bind)
    if "version_key" not in {c["name"] for c in inspector.get_columns("submissions")}:
        op.add_column("submissions", sa.Column("version_key", sa.String(120)))
    if INDEX not in {i["name"] for i in sa.inspect(bind).get_indexes("submissions")}:
        op.create_index(INDEX, "submissions", ["unit_name", "year", "version_key"])
    subs = sa.table("submissions", sa.column("id"), sa.column("status"), sa.column("unit_name"),
                    sa.column("year"), sa.column("received_at", sa.DateTime(timezone=True)),
                    sa.column("sha256"), sa.column("version_key"))
    rows = bind.execute(sa.select(subs).where(subs.c.version_key.is_(None))).all()
    for r in rows:
        key = version_key(r.status, r.unit_name, r.year, r.received_at, r.sha256)
        if key is not None:
            bind.execute(sa.update(subs).where(subs.c.id == r.id).values(version_key=key))
    if rows:
        relink_all(bind)


def downgrade() -> None:
    op.drop_index(INDEX, "submissions")
    op.drop_column("submissions", "version_key")
