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


# --------------------------------------------------------------------------- the layout's positions

@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch, code_dir: Path) -> list[str]:
    """Every full build of a layout, by framework id; lru caches cleared as in a new process."""
    import jixiao.layout as layout

    seen: list[str] = []
    real = layout._build

    def spy(fw):
        seen.append(fw.id)
        return real(fw)

    monkeypatch.setattr(layout, "_build", spy)
    layout.layout_for.cache_clear()
    yield seen
    layout.layout_for.cache_clear()


def every_part(layout) -> tuple:
    return (layout.framework_id, layout.sheet_names, layout.sheets, layout.names, layout.inputs, layout.computed,
            layout.mirrors, layout.positions, layout.digest, layout.row_labels)


def test_a_known_layout_gives_its_positions_without_building_its_sheets(builds: list[str]) -> None:
    from jixiao.layout import layout_for

    fw = load_framework()
    built = layout_for(fw)
    assert len(builds) == 1 and len(list(Path(os.environ["JIXIAO_CACHE_DIR"]).glob("*.program"))) == 1
    layout_for.cache_clear()
    known = layout_for(fw)
    assert (known.positions, known.digest) == (built.positions, built.digest) and builds == [fw.id]
    assert every_part(known) == every_part(built) and known == built and built == known
    assert builds == [fw.id, fw.id], "built once, when the sheets were asked for"
    assert every_part(known) == every_part(built) and len(builds) == 2


def test_checks_read_the_known_positions_and_build_sheets_only_when_cells_moved(builds: list[str],
                                                                                 tmp_path: Path) -> None:
    import io
    import zipfile

    from jixiao.checker.check import check_file
    from jixiao.data import load_data
    from jixiao.layout import layout_for
    from jixiao.samples import sample_path
    from jixiao.workbook.generator import build_workbook

    fw = load_framework()
    book = tmp_path / "福田.xlsx"
    build_workbook(fw, load_data(fw, sample_path("futian"))).save(book)
    layout_for.cache_clear()
    builds.clear()
    assert check_file(book).recomputed_total == 94.79 and builds == []
    # defined names removed: the checker verifies the template's positions, row labels and all
    raw = io.BytesIO()
    with zipfile.ZipFile(book) as z, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as out:
        for item in z.infolist():
            data = z.read(item)
            if item.filename == "xl/workbook.xml":
                text = data.decode()
                start, end = text.find("<definedNames>"), text.find("</definedNames>") + len("</definedNames>")
                data = (text[:start] + text[end:]).encode()
            out.writestr(item, data)
    unnamed = tmp_path / "无名称.xlsx"
    unnamed.write_bytes(raw.getvalue())
    result = check_file(unnamed)
    assert "names_missing" in [m.code for m in result.messages] and result.recomputed_total == 94.79
    assert builds == [fw.id]


def test_a_damaged_positions_entry_means_building(builds: list[str], code_dir: Path) -> None:
    from jixiao.layout import layout_for

    fw = load_framework()
    built = layout_for(fw)
    for entry in code_dir.glob("*.program"):
        entry.write_bytes(entry.read_bytes()[:-3])
    layout_for.cache_clear()
    again = layout_for(fw)
    assert type(again) is type(built) and len(builds) == 2 and every_part(again) == every_part(built)
