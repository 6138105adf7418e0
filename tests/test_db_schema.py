"""`importer/db.py`: the ORM classes describe the schema the migrations build, and their names
say they are rows (no clash with the engine's or the checker's classes of the same concept)."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import inspect

from jixiao.importer.db import Base, make_engine
from jixiao.importer.schema import upgrade

SRC = Path(__file__).resolve().parents[1] / "src" / "jixiao"


def _orm_classes() -> dict[str, str]:
    """class name -> table name, for every mapped class."""
    return {m.class_.__name__: m.local_table.name for m in Base.registry.mappers}


def test_orm_classes_map_the_migrated_tables_column_for_column(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'jixiao.db'}")
    upgrade(engine)
    db = inspect(engine)
    tables = set(db.get_table_names()) - {"alembic_version"}
    assert set(_orm_classes().values()) == tables
    for table in Base.metadata.sorted_tables:
        assert {c["name"] for c in db.get_columns(table.name)} == {c.name for c in table.columns}, table.name
    engine.dispose()


def test_renamed_rows_keep_their_tables() -> None:
    classes = _orm_classes()
    assert classes["ScoreRow"] == "indicator_scores"
    assert classes["MessageRow"] == "messages"


def test_no_orm_class_shares_a_name_with_another_class_in_src() -> None:
    orm = set(_orm_classes()) | {"Base"}
    clashes = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "importer" / "db.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name in orm:
                clashes.append(f"{path.relative_to(SRC)}: {node.name}")
    assert clashes == []
