"""The generated evaluator (expr_codegen) against the tree interpreter (Expr.evaluate), the
reference: equal values, equal types, equal error values, on random trees over random cells and
on every framework with hostile inputs; and the compiled-code cache."""

from __future__ import annotations

import math
import os
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jixiao import engine
from jixiao.expr import (ALLOWED_FUNCTIONS, Binary, Call, Concat, Const, ErrorValue, Expr, Ref, call, concat,
                         if_, number, ref)
from jixiao.expr_codegen import compile_cells, fast_round, run_closures, run_tree, source
from jixiao.framework import code_cache
from jixiao.framework.loader import load_framework
from jixiao.numeric import excel_round, excel_round_decimal

FRAMEWORKS = Path(__file__).parent / "frameworks"
NAMES = ["a", "b", "c", "d"]

# cell values a workbook can hold, the awkward ones included
VALUES = st.one_of(
    st.none(), st.booleans(), st.sampled_from(["", "是", "否", "abc", "1,234.5", "96.42%", "55人", " 7 ", "TRUE"]),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0.0, -0.0, 1.0, 2.5, -2.5, 0.1 + 0.2, 109.49999999999999, 1e15, 1e-300, 1e308]),
    st.integers(-10**6, 10**6),
    st.sampled_from([ErrorValue("#VALUE!"), ErrorValue("#DIV/0!")]),
)
CONSTS = st.one_of(st.sampled_from([0.0, 1.0, -1.0, 2.0, 0.5, 100.0, 1e-9, 0.3, 109.5, "", "是", "x", True, False]),
                   st.floats(-1e6, 1e6, allow_nan=False))
FUNCS = sorted(ALLOWED_FUNCTIONS - {"COUNTIF", "INDEX", "MATCH"})
ARITY = {"IF": (2, 3), "IFERROR": (2, 2), "NOT": (1, 1), "ABS": (1, 1), "ROUND": (2, 2), "ISNUMBER": (1, 1),
         "TEXT": (2, 2), "LEN": (1, 1), "LEFT": (2, 2)}


def _call(draw: Any, children: Any) -> Expr:
    name = draw(st.sampled_from(FUNCS))
    low, high = ARITY.get(name, (1, 4))
    args = [draw(children) for _ in range(draw(st.integers(low, high)))]
    if name == "TEXT":
        args[1] = Const(draw(st.sampled_from(["0", "0.00", "0.00%", "#,##0.00", "0.0%"])))
    if name == "ROUND":
        args[1] = draw(st.one_of(st.sampled_from([Const(0.0), Const(2.0), Const(-1.0), Const(4.0)]), children))
    return Call(name, tuple(args))


@st.composite
def trees(draw: Any, depth: int = 4) -> Expr:
    leaf = st.one_of(CONSTS.map(Const), st.sampled_from(NAMES).map(Ref), st.sampled_from(NAMES).map(number))
    if depth == 0:
        return draw(leaf)
    sub = trees(depth - 1)
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(leaf)
    if kind in (1, 2):
        op = draw(st.sampled_from(["+", "-", "*", "/", "<", "<=", ">", ">=", "=", "<>"]))
        return Binary(op, draw(sub), draw(st.one_of(sub, CONSTS.map(Const))))
    if kind == 3:
        return Concat(tuple(draw(st.lists(sub, min_size=1, max_size=4))))
    return _call(draw, sub)


def outcome(run: Any, cells: list[tuple[str, Expr]], values: dict[str, Any]) -> Any:
    """The values (type and repr, so -0.0, nan and ErrorValue count), or the exception type."""
    values = dict(values)
    try:
        run(cells, values) if run is run_tree else run(values)
    except Exception as exc:  # noqa: BLE001 - both evaluators must fail alike (e.g. ROUND of inf)
        return type(exc)
    return {k: (type(v), repr(v)) for k, v in values.items()}


@settings(max_examples=400, deadline=None)
@given(cells=st.lists(trees(), min_size=1, max_size=4), values=st.fixed_dictionaries({n: VALUES for n in NAMES}))
def test_generated_code_equals_the_tree_on_random_trees(cells: list[Expr], values: dict[str, Any]) -> None:
    # later cells may read earlier ones, as computed cells do
    named = [(f"c{i}", e if i == 0 else Binary("+", e, Ref(f"c{i - 1}")) if i % 2 else e)
             for i, e in enumerate(cells)]
    named += [(f"r{i}", Ref(f"c{i}")) for i in range(len(cells))]
    assert outcome(compile_cells(named), named, values) == outcome(run_tree, named, values)


def hostile_value(rnd: random.Random) -> Any:
    return rnd.choice([None, "", "是", "否", "abc", "1,317.55", "96.42%", "55人", True, False, 0, 3, -0.0,
                       ErrorValue("#VALUE!"), ErrorValue("#DIV/0!"), 1e15, 1e-9, 0.1 + 0.2, 21.9 / 0.2,
                       rnd.uniform(-10, 10), rnd.uniform(0, 1e6), round(rnd.uniform(0, 100), 2), rnd.random()])


@pytest.mark.parametrize("framework", [None, *sorted(p.name for p in FRAMEWORKS.glob("*.yaml")
                                                    if "form" not in p.name)])
def test_generated_code_equals_the_tree_on_every_framework(framework: str | None) -> None:
    fw = load_framework(None if framework is None else FRAMEWORKS / framework)
    rnd = random.Random(f"codegen-{framework}")
    cells = [(c.id, c.expr) for c in engine.computed_cells(fw)]
    closures = [(c.id, c.run) for c in engine.computed_cells(fw)]
    generated = compile_cells(cells)
    fields = list(fw.fields)
    for case in range(150):
        # mostly sensible inputs with a few hostile ones, then everything hostile
        share = 0.1 if case < 100 else 1.0
        inputs = {f: hostile_value(rnd) if rnd.random() < share else rnd.choice([None, 1.0, 50.0, 100.0, "是"])
                  for f in fields}
        tree = outcome(run_tree, cells, inputs)
        assert outcome(generated, cells, inputs) == tree
        assert outcome(lambda values: run_closures(closures, values), cells, inputs) == tree  # the no-cache route


def test_every_cell_of_the_builtin_framework_is_generated_code() -> None:
    text, consts = source([(c.id, c.expr) for c in engine.computed_cells(load_framework())])
    assert not [k for k in consts if k.startswith("tree")], "a cell fell back to the tree interpreter"
    assert "values['total'] =" in text


def test_a_cell_too_deep_for_python_blocks_is_left_to_the_tree() -> None:
    deep: Expr = ref("a")
    for i in range(120):
        deep = if_(ref("a").eq(i), float(i), deep)
    cells = [("deep", deep), ("after", concat("=", ref("deep")))]
    text, consts = source(cells)
    assert "tree0" in consts and "tree1" not in consts
    for a in (None, 5.0, 119.0, "x", ErrorValue("#VALUE!")):
        assert outcome(compile_cells(cells), cells, {"a": a}) == outcome(run_tree, cells, {"a": a})


@settings(max_examples=2000, deadline=None)
@given(x=st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                   st.floats(-1e4, 1e4).map(lambda v: round(v, 3) + 0.005)),
       digits=st.integers(-3, 6))
def test_excel_round_without_decimal_is_excel_round_by_decimal(x: float, digits: int) -> None:
    assert repr(excel_round(x, digits)) == repr(excel_round_decimal(x, digits))
    assert fast_round is excel_round


def test_excel_round_refuses_what_decimal_refuses() -> None:
    for bad in (math.inf, -math.inf, math.nan):
        with pytest.raises(ValueError):
            excel_round(bad, 2)
        with pytest.raises(ValueError):
            excel_round_decimal(bad, 2)


# --------------------------------------------------------------------------- the code cache

@pytest.fixture
def code_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("JIXIAO_CACHE_DIR", str(where))
    monkeypatch.delenv("JIXIAO_NO_CACHE", raising=False)
    return where


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []

    def spy(text: str, filename: str, mode: str):
        seen.append(filename)
        return compile(text, filename, mode)

    monkeypatch.setattr(code_cache, "compile", spy, raising=False)
    return seen


TEXT = "def f(x):\n    return x * 2 + 1\n"


def run_f(code) -> Any:
    ns: dict[str, Any] = {}
    exec(code, ns)  # noqa: S102 - the test's own text
    return ns["f"](20)


def test_code_is_compiled_once_then_read_from_the_cache(code_dir: Path, compiles: list[str]) -> None:
    assert run_f(code_cache.compiled(TEXT, "<t>")) == 41
    assert run_f(code_cache.compiled(TEXT, "<t>")) == 41
    assert compiles == ["<t>"] and len(list(code_dir.glob("*.code"))) == 1
    other = TEXT.replace("+ 1", "+ 2")
    assert run_f(code_cache.compiled(other, "<t>")) == 42, "another text never gets the first text's code"
    assert compiles == ["<t>", "<t>"]


@pytest.mark.parametrize("damage", ["truncate", "flip", "magic", "empty"])
def test_damaged_entry_is_compiled_afresh(code_dir: Path, compiles: list[str], damage: str) -> None:
    code_cache.compiled(TEXT, "<t>")
    (entry,) = code_dir.glob("*.code")
    raw = entry.read_bytes()
    entry.write_bytes({"truncate": raw[:-7], "flip": raw[:-5] + bytes([raw[-5] ^ 1]) + raw[-4:],
                       "magic": b"x" + raw[1:], "empty": b""}[damage])
    assert run_f(code_cache.compiled(TEXT, "<t>")) == 41
    assert len(compiles) == 2
    assert run_f(code_cache.compiled(TEXT, "<t>")) == 41 and len(compiles) == 2, "the rewritten entry is used"


def test_entry_writable_by_others_is_not_trusted(code_dir: Path, compiles: list[str]) -> None:
    code_cache.compiled(TEXT, "<t>")
    (entry,) = code_dir.glob("*.code")
    os.chmod(entry, 0o666)
    code_cache.compiled(TEXT, "<t>")
    assert len(compiles) == 2


def test_no_cache_still_compiles(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, compiles: list[str]) -> None:
    monkeypatch.setenv("JIXIAO_NO_CACHE", "1")
    monkeypatch.setenv("JIXIAO_CACHE_DIR", str(tmp_path / "c"))
    assert run_f(code_cache.compiled(TEXT, "<t>")) == 41
    assert run_f(code_cache.compiled(TEXT, "<t>")) == 41
    assert len(compiles) == 2 and not (tmp_path / "c").exists()


def test_engine_results_through_a_cached_program(code_dir: Path) -> None:
    fw = load_framework()
    cells = [(c.id, c.expr) for c in engine.computed_cells(fw)]
    first, second = compile_cells(cells), compile_cells(cells)  # the second from the entry
    assert len(list(code_dir.glob("*.code"))) == 1
    inputs = {f: 1.0 for f in fw.fields}
    assert outcome(first, cells, inputs) == outcome(second, cells, inputs) == outcome(run_tree, cells, inputs)


def test_builders_used_in_tests_are_known_to_the_generator() -> None:
    e = call("AND", ref("a") > 1, call("OR", ref("b").eq("是"), call("NOT", ref("c") < 0)))
    text, consts = source([("x", e)])
    assert "_and(" not in text and "_or(" not in text and not consts


CLOSE = st.tuples(st.floats(-1e12, 1e12, allow_nan=False), st.integers(-40, 40), st.sampled_from([1e-15, 1e-16, 1e-14])
                  ).map(lambda t: (t[0], t[0] * (1 + t[1] * t[2])))


@settings(max_examples=1500, deadline=None)
@given(pair=st.one_of(CLOSE, st.tuples(st.sampled_from([0.3, 109.5, 0.0, -0.0, 1e15, 1e-300, math.inf, -math.inf]),
                                       st.sampled_from([0.1 + 0.2, 21.9 / 0.2, -0.0, 5e-324, 1e15 + 0.125,
                                                        math.inf, math.nan]))))
def test_comparisons_of_close_doubles_are_compared_at_15_digits(pair: tuple[float, float]) -> None:
    a, b = pair
    cells = [(f"{op}{i}", Binary(op, Ref("a"), right)) for op in ("<", "<=", ">", ">=", "=", "<>")
             for i, right in enumerate((Ref("b"), Const(b)))]
    for values in ({"a": a, "b": b}, {"a": b, "b": a}):
        assert outcome(compile_cells(cells), cells, values) == outcome(run_tree, cells, values)


def test_without_a_cache_the_engine_takes_the_closures_and_scores_the_same(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, compiles: list[str]) -> None:
    fw = load_framework()
    inputs = {f: 1.0 for f in fw.fields}
    reference = engine.evaluate_tree(fw, inputs)
    (tmp_path / "not-a-folder").write_text("")  # a cache directory that cannot be made (even by root)
    for env in ({"JIXIAO_NO_CACHE": "1"}, {"JIXIAO_CACHE_DIR": str(tmp_path / "not-a-folder" / "cache")}):
        for key in ("JIXIAO_NO_CACHE", "JIXIAO_CACHE_DIR"):
            monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        try:
            engine._program.cache_clear()
            values = engine.evaluate(fw, inputs)
        finally:
            engine._program.cache_clear()
        assert {k: repr(v) for k, v in values.items()} == {k: repr(v) for k, v in reference.items()}
    assert compiles == [], "compiled although nothing could keep the bytecode"


def test_with_a_cache_the_engine_runs_generated_code(code_dir: Path) -> None:
    engine._program.cache_clear()
    try:
        fw = load_framework()
        engine.evaluate(fw, {})
        assert engine._program(fw).__code__.co_filename == "<jixiao computed cells>"
        assert len(list(code_dir.glob("*.code"))) == 1
    finally:
        engine._program.cache_clear()
