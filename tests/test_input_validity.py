"""Inside the workbook (the route for units without the add-in): an input cell that is not a
usable number is an 错误 on the 审核 sheet, never a silent #VALUE! in 总得分; a number stored
as text scores right and raises no false 审核 error; every input a score depends on is
required.  The engine says so, and LibreOffice recalculating the very workbook says the same
in every formula cell (issue 8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest

from jixiao.checks import ERROR, PASSED
from jixiao.engine import check_id, computed_cells, evaluate, score_id
from jixiao.expr import text_number
from jixiao.verify.libreoffice_recalc import recalculate
from jixiao.verify.formulas_oracle import cell_key
from jixiao.workbook.generator import build_workbook
from test_agreement import FW, SAMPLE_DATA, Layout, disagreements, last_digit_apart, report

FUTIAN = SAMPLE_DATA["futian"]
USABLE = {c.id: c for c in FW.checks if c.kind == "usable_numbers"}
REQUIRED = {c.id: c for c in FW.checks if c.kind == "required"}


def check_of(kind: dict, fid: str) -> str:
    return next(cid for cid, c in kind.items() if any(f.id == fid for f in c.fields))


#: raw cell contents the way a paste or an IME leaves them, and whether the formulas can use them
TEXTS: dict[str, tuple[dict[str, Any], bool]] = {
    "count-with-unit": ({"staff_quota": "13人"}, False),
    "amount-with-unit": ({"procurement_plan": "437.35万元"}, False),
    "full-width-digits": ({"q1_cumulative": "１３１７.５５"}, False),
    "thousands-separator": ({"q1_cumulative": "1,317.55"}, True),
    "percent-as-text-with-sign": ({"satisfaction_rate": "96%"}, True),
    "amount-with-yuan": ({"sangong_actual": "6000元"}, False),
    "amount-as-text": ({"procurement_plan": "437.35"}, True),
    "parts-as-text": ({"src_general_initial": "2951.99"}, True),  # in a 各项之和 check
    "count-as-text": ({"staff_contract": " 55 "}, True),
    "percent-as-text": ({"satisfaction_rate": "0.96"}, True),  # compared with 95%: not as text
    "score-as-text": ({"effectiveness": "24"}, True),  # MIN/MAX would skip a text reference
    "quarters-as-text": ({"q2_cumulative": "1895.76", "q3_cumulative": "3324.75"}, True),
}


def futian(overrides: dict[str, Any]) -> dict[str, Any]:
    return {**FUTIAN, **overrides}


def errors(values: dict[str, Any]) -> list[str]:
    return [c.id for c in FW.checks if values[check_id(c.id)] == ERROR]


@pytest.mark.parametrize("case", list(TEXTS))
def test_engine_usable_or_reported(case: str) -> None:
    overrides, usable = TEXTS[case]
    values = evaluate(FW, futian(overrides))
    expected = evaluate(FW, FUTIAN)
    if usable:
        assert [values[score_id(i.id)] for i in FW.indicators] == [expected[score_id(i.id)] for i in FW.indicators]
        assert values["total"] == 94.79 and errors(values) == [] and values["checks.errors"] == 0
    else:
        (fid,) = overrides
        cid = check_of(USABLE, fid)
        assert cid in errors(values) and values["checks.errors"] >= 1
        assert FW.fields[fid].label in values[f"detail.{cid}"]
        assert values["checks.summary"].startswith(f"错误{general(values['checks.errors'])}项")
        assert text_number(overrides[fid]) is None


def general(x: float) -> str:
    return f"{x:g}"


@pytest.mark.parametrize("fid", ["satisfaction_rate", "projects_planned", "projects_completed"])
def test_score_inputs_are_required(fid: str) -> None:
    """An empty 满意度 used to score 1 of 6 silently, empty project counts 6 of 6."""
    assert FW.fields[fid].required
    values = evaluate(FW, {k: v for k, v in FUTIAN.items() if k != fid})
    cid = check_of(REQUIRED, fid)
    assert values[check_id(cid)] == ERROR and FW.fields[fid].label in values[f"detail.{cid}"]


def test_every_score_input_is_required_or_has_a_stated_default() -> None:
    cells = {c.id: c for c in computed_cells(FW)}
    todo, seen, inputs = [score_id(i.id) for i in FW.indicators], set(), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in cells:
            todo.extend(cells[name].expr.names())
        elif name in FW.fields:
            inputs.add(name)
    optional = {f for f in inputs if not FW.fields[f].required}
    assert optional == {"adjustment_declared"}  # blank: |调整预算数 − 年初预算数|, said in the text
    assert any("未填写" in text and "调整" in text for m in FW.measures for text in m.readings())


def test_checks_that_cannot_be_computed_fail_rather_than_break_the_count() -> None:
    values = evaluate(FW, futian({"q1_cumulative": "１３１７.５５"}))
    assert values[check_id("quarterly_increasing")] == ERROR
    assert isinstance(values["checks.errors"], float)


# --------------------------------------------------------------------------- LibreOffice

@pytest.fixture(scope="module")
def recalculated(soffice: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, dict]]:
    """case → (built workbook, LibreOffice's value of every formula cell), one soffice call."""
    folder = tmp_path_factory.mktemp("validity-in")
    built, paths = {}, {}
    for case, (overrides, _) in TEXTS.items():
        built[case] = build_workbook(FW, futian(overrides))
        paths[case] = folder / f"{case}.xlsx"
        built[case].save(paths[case])
    out = recalculate(list(paths.values()), tmp_path_factory.mktemp("validity-out"), batch_size=len(paths),
                      soffice=soffice)
    result = {}
    for case, path in paths.items():
        wb = openpyxl.load_workbook(out[path], data_only=True)
        try:
            result[case] = (built[case], {cell_key(sheet, coord): wb[sheet][coord].value
                                          for sheet, cells in built[case].cached.items() for coord in cells})
        finally:
            wb.close()
    return result


@pytest.mark.parametrize("case", list(TEXTS))
def test_libreoffice_agrees_on_text_inputs(case: str, recalculated: dict[str, tuple[Any, dict]]) -> None:
    built, libreoffice = recalculated[case]
    layout = Layout(built)
    engine = {key: v for key, v in layout.engine(built.values).items()}
    diffs = disagreements(engine, libreoffice, layout.cells, "LibreOffice", last_digit_apart)
    assert not diffs, report(diffs, case)
    overrides, usable = TEXTS[case]
    place = built.computed["checks.errors"]
    count = libreoffice[cell_key(place.sheet, place.coord)]
    total = libreoffice[cell_key(built.computed["total"].sheet, built.computed["total"].coord)]
    if usable:
        assert count == 0 and total == 94.79
    else:
        assert count >= 1  # the 审核 sheet says 错误, whatever 总得分 shows
        (fid,) = overrides
        cid = check_of(USABLE, fid)
        p = built.computed[check_id(cid)]
        assert libreoffice[cell_key(p.sheet, p.coord)] == ERROR != PASSED
