"""Alembic environment: always run programmatically by `jixiao.importer.schema.upgrade`, on the
connection it hands over (no alembic.ini, no URL here)."""

from alembic import context

from jixiao.importer.db import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
