"""Creating and upgrading the database schema with the Alembic migrations beside this file."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

MIGRATIONS = Path(__file__).parent / "migrations"


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision.  Two importers starting at once may both try
    to create it: the loser of that race finds the tables there and tries again."""
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


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())
