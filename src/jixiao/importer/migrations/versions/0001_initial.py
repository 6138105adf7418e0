"""The first schema: submissions, receipts, inputs, indicator scores, messages.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Only what is missing: on SQLite each CREATE commits by itself, so a run killed half-way
    # leaves some tables, and the next run must finish the job rather than fail on them.
    existing = set(sa.inspect(op.get_bind()).get_table_names())

    def create_table(name: str, *columns: object) -> None:
        if name not in existing:
            op.create_table(name, *columns)

    def create_index(name: str, table: str, cols: list[str]) -> None:
        if name not in {i["name"] for i in sa.inspect(op.get_bind()).get_indexes(table)}:
            op.create_index(name, table, cols)

    create_table(
        "submissions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("original_name", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("unit_name", sa.Text),
        sa.Column("unit_code", sa.Text),
        sa.Column("year", sa.Integer),
        sa.Column("framework_id", sa.String(100)),
        sa.Column("framework_version", sa.String(50)),
        sa.Column("workbook_total", sa.Float),
        sa.Column("recomputed_total", sa.Float),
        sa.Column("grade", sa.String(10)),
        sa.Column("errors", sa.Integer, nullable=False),
        sa.Column("warnings", sa.Integer, nullable=False),
        sa.Column("archive_path", sa.Text, nullable=False),
        sa.Column("is_current", sa.Boolean, nullable=False),
        sa.Column("superseded_by", sa.Integer, sa.ForeignKey("submissions.id")),
    )
    create_index("ix_submissions_unit_year", "submissions", ["unit_name", "year"])
    create_table(
        "receipts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("original_name", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("received_at", sa.DateTime(timezone=True)),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id")),
        sa.Column("problem", sa.Text),
        sa.UniqueConstraint("source", "sha256", name="uq_receipts_source_sha256"),
    )
    create_table(
        "inputs",
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("field_id", sa.String(100), primary_key=True),
        sa.Column("value_number", sa.Float),
        sa.Column("value_text", sa.Text),
    )
    create_table(
        "indicator_scores",
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("indicator_id", sa.String(100), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("points", sa.Float, nullable=False),
        sa.Column("workbook_score", sa.Float),
        sa.Column("recomputed_score", sa.Float, nullable=False),
        sa.Column("explanation", sa.Text, nullable=False),
    )
    create_table(
        "messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("code", sa.String(50), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("sheet", sa.Text),
        sa.Column("cell", sa.String(20)),
        sa.Column("field", sa.String(100)),
    )
    create_index("ix_messages_submission_id", "messages", ["submission_id"])


def downgrade() -> None:
    for table in ("messages", "indicator_scores", "inputs", "receipts", "submissions"):
        op.drop_table(table)
