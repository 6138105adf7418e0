"""The engine's generated program found by the framework's identity (`code_cache.keep` /
`by_identity`): a process with a valid entry generates no source, gets the same results, and
anything that changes the identity -- the framework, the code -- or damages the entry means
generating again."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from jixiao import engine, expr_codegen
from jixiao.expr import if_, ref
from jixiao.framework import cache, code_cache
from jixiao.framework.loader import load_framework


@pytest.fixture
def code_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("JIXIAO_CACHE_DIR", str(where))
    monkeypatch.delenv("JIXIAO_NO_CACHE", raising=False)
    engine._program.cache_clear()
    yield where
    engine._program.cache_clear()


@pytest.fixture
def generated(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many cells each generation of source text covered."""
    seen: list[int] = []
    real = expr_codegen.source

    def spy(cells):
        seen.append(len(cells))
        return real(cells)

    monkeypatch.setattr(expr_codegen, "source", spy)
    return seen


def results(values: dict[str, Any]) -> dict[str, str]:
    return {k: repr(v) for k, v in values.items()}


def fresh_program(fw) -> Any:
    engine._program.cache_clear()  # as a new process would
    return engine._program(fw)


def test_a_second_process_generates_nothing_and_scores_the_same(code_dir: Path, generated: list[int]) -> None:
    fw = load_framework()
    inputs = {f: 1.0 for f in fw.fields}
    reference = results(engine.evaluate_tree(fw, inputs))
    first = fresh_program(fw)
    assert len(generated) == 1 and len(list(code_dir.glob("*.program"))) == 1
    second = fresh_program(fw)
    assert len(generated) == 1, "the program was found by the framework's identity"
    assert second.__code__.co_filename == expr_codegen.FILENAME
    for run in (first, second):
        values = engine._doubles(inputs)
        run(values)
        assert results(values) == reference


def test_other_code_or_another_framework_generates_again(code_dir: Path, generated: list[int],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    fw = load_framework()
    fresh_program(fw)
    stamp = cache.code_stamp
    monkeypatch.setattr(cache, "code_stamp", lambda: "another version of the package")
    fresh_program(fw)
    assert len(generated) == 2 and len(list(code_dir.glob("*.program"))) == 2
    monkeypatch.setattr(cache, "code_stamp", stamp)
    other = load_framework(str(Path(__file__).parent / "frameworks" / "reweighted.yaml"))  # the same cells, other points
    assert [c.id for c in engine.computed_cells(other)] == [c.id for c in engine.computed_cells(fw)]
    assert engine._identity(other) != engine._identity(fw)
    fresh_program(other)
    assert len(generated) == 3


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "others_may_write"])
def test_a_damaged_entry_is_generated_afresh(code_dir: Path, generated: list[int], damage: str) -> None:
    fw = load_framework()
    fresh_program(fw)
    (entry,) = code_dir.glob("*.program")
    raw = entry.read_bytes()
    if damage == "others_may_write":
        os.chmod(entry, 0o666)
    else:
        entry.write_bytes({"truncate": raw[:-9], "flip": raw[:-5] + bytes([raw[-5] ^ 1]) + raw[-4:],
                           "empty": b""}[damage])
    inputs = {f: 2.0 for f in fw.fields}
    values = engine._doubles(inputs)
    fresh_program(fw)(values)
    assert len(generated) == 2
    assert results(values) == results(engine.evaluate_tree(fw, inputs))


def test_no_identity_entry_without_a_cache_or_for_cells_left_to_trees(code_dir: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    deep: Any = ref("a")
    for i in range(120):  # deeper than Python's block limit: left to the tree (a constant)
        deep = if_(ref("a").eq(i), float(i + 1), deep)
    run = expr_codegen.compile_cells([("deep", deep)], identity=lambda: "a deep cell")
    values = {"a": 7.0}
    run(values)
    assert values["deep"] == 8.0
    assert list(code_dir.glob("*.program")) == [] and code_cache.by_identity("a deep cell", expr_codegen.FILENAME) is None
    monkeypatch.setenv("JIXIAO_NO_CACHE", "1")
    assert engine._identity(load_framework()) == ""
