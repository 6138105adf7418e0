"""The field types' shortcuts for the commonest cells (`FieldType.lax_shortcut`) answer exactly
what the general lax reading (`coerce(field, raw, "lax")`) gives, or leave the cell to it."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from jixiao.framework import field_types as ft
from jixiao.framework.field_records import Value
from jixiao.framework.loader import load_framework
from jixiao.framework.model import Field

FW = load_framework()

# beside every field of the built-in form: bounds and types it does not use
EXTRA = [
    Field("pct_open", "完成率", "percent", maximum=2.0),
    Field("pct_min", "比率", "percent", minimum=0.5),
    Field("amount_neg", "差额", "amount", unit="万元", minimum=-100.0, maximum=math.inf),
    Field("amount_open", "金额", "amount"),
    Field("count_max", "人数", "count", unit="人", maximum=50.0),
    Field("year", "年度", "year", minimum=2020.0, maximum=2022.0),
    Field("score", "分数", "score", maximum=10.0),
    Field("yn", "是否", "yesno"),
    Field("pick", "等级", "choice", options=("优", "良", " ", "中（合格）")),
    Field("note", "说明", "text"),
    Field("story", "报告", "longtext"),
]
FIELDS = list(FW.fields.values()) + EXTRA

RAW = st.one_of(
    st.none(), st.booleans(), st.integers(-10**16, 10**16), st.floats(),
    st.floats(min_value=-5, max_value=3000), st.sampled_from([0.0, -0.0, 1.0, 1.5, 100.0, 100.5, 2021.0, 2021.5]),
    st.text(max_size=12), st.sampled_from(["是", "否", " 是", "是\u3000", "优", "良", " ", "中（合格）", "中(合格)",
                                           "", "\u200b", "12.5", "Y", "√"]),
)


def agrees(field: Field, raw: object) -> object:
    quick = field.kind.lax_shortcut(field)(raw)
    general = field.kind.coerce(field, raw, "lax")
    if quick is not ft.GENERAL:
        assert isinstance(general, Value) and general.note is None, (field.id, raw, general)
        assert type(quick) is type(general.value) and quick == general.value, (field.id, raw, quick, general)
    return quick


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.id)
@settings(max_examples=60, deadline=None)
@given(raw=RAW)
@example(raw=math.inf)
@example(raw=-math.inf)
@example(raw=math.nan)
def test_the_shortcut_is_the_general_reading(field, raw):
    agrees(field, raw)


def test_the_common_cells_take_the_shortcut():
    amount = Field("a", "金额", "amount", unit="万元", minimum=0.0)  # as the loader gives a form field
    assert agrees(amount, 437.35) == 437.35
    assert agrees(amount, -0.0) == 0.0 and math.copysign(1, agrees(amount, -0.0)) == 1.0
    assert agrees(amount, -1.0) is ft.GENERAL  # too small: the general path words the error
    assert agrees(amount, math.inf) is ft.GENERAL
    assert agrees(amount, "437.35") is ft.GENERAL  # text: a note
    pct = Field("p", "比率", "percent")
    assert agrees(pct, 0.9642) == 0.9642
    assert agrees(pct, 96.42) is ft.GENERAL  # read as 96.42%
    count = Field("c", "人数", "count", unit="人")
    assert agrees(count, 55.0) == 55 and type(agrees(count, 55.0)) is int
    assert agrees(count, 5.5) is ft.GENERAL
    assert agrees(Field("y", "是否", "yesno"), "是") == "是"
    assert agrees(Field("y", "是否", "yesno"), " 是") is ft.GENERAL  # stripped: a note
    assert agrees(Field("t", "说明", "text"), "好") == "好"
    assert agrees(Field("t", "说明", "text"), "\u3000") is None  # blank
    for field in FIELDS:
        assert agrees(field, None) is None


class _Shouting(ft.TextType):
    """A type that reads text its own way: no shortcut may bypass it."""

    def _lax(self, field, raw, read):
        return Value(str(raw).upper() if raw is not None else None)


class _Own(ft.NumberType):
    def coerce(self, field, raw, mode="strict"):
        return Value(42.0)


def test_a_type_with_its_own_reading_gets_the_general_path():
    ft.register(_Shouting("shout"))
    ft.register(_Own("own"))
    try:
        shout, own = Field("s", "文本", "shout"), Field("o", "数", "own")
        assert shout.kind.lax_shortcut(shout)("abc") is ft.GENERAL
        assert shout.kind.coerce(shout, "abc", "lax").value == "ABC"
        assert own.kind.lax_shortcut(own)(1.0) is ft.GENERAL
        assert own.kind.lax_shortcut(own)(None) is ft.GENERAL  # even empty is its own
    finally:
        ft.unregister("shout")
        ft.unregister("own")


def test_the_registry_generation_changes_with_the_registry():
    before = ft.generation()
    ft.register(ft.NumberType("tmp_generation"))
    try:
        assert ft.generation() != before
    finally:
        ft.unregister("tmp_generation")
    assert ft.generation() != before


def test_the_checkers_plan_follows_the_registry():
    """The checker builds its per-field shortcuts once per framework, and afresh when a type
    is registered or unregistered (a type re-registered under the same name reads its own way)."""
    from jixiao.checker import inputs

    first = inputs._plan(FW)
    assert inputs._plan(FW) is first
    assert [fid for fid, *_ in first] == list(FW.fields)
    ft.register(ft.NumberType("tmp_plan"))
    try:
        again = inputs._plan(FW)
        assert again is not first and [fid for fid, *_ in again] == list(FW.fields)
    finally:
        ft.unregister("tmp_plan")
    assert inputs._plan(FW) is not again


AWKWARD = [None, "", " ", "\u3000", 0.0, -0.0, 1.0, 2.0, 0.5, 0.9642, 96.42, 100.0, 150.5, -3.0, 55.0, 5.5, 2021.0,
           1e20, "437.35", " 437.35 ", "１２３", "40000元", "55人", "96.42%", "(12.5)", "是", "否", " 是", "Y", "√",
           "无", "--", "abc", "#VALUE!", True, False]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_check_says_the_same_with_and_without_the_shortcuts(seed, tmp_path, monkeypatch):
    """Every input cell of the Futian workbook typed with something awkward (as an accountant,
    WPS or a paste leaves it): the check's values and every message are those of the general
    reading of every cell."""
    import random

    from openpyxl import load_workbook

    from jixiao.checker import inputs
    from jixiao.checker.check import check_file
    from jixiao.data import load_data
    from jixiao.layout import layout_for
    from jixiao.samples import sample_path
    from jixiao.workbook.generator import build_workbook

    rnd = random.Random(seed)
    path = tmp_path / "typed.xlsx"
    build_workbook(FW, load_data(FW, sample_path("futian"))).save(path)
    wb = load_workbook(path)
    positions = layout_for(FW).positions
    for fid in FW.fields:
        if rnd.random() < 0.6:
            sheet, coord = positions[fid]
            wb[sheet][coord].value = rnd.choice(AWKWARD)
    wb.save(path)

    shortcut = check_file(path).to_json()
    monkeypatch.setattr(ft.FieldType, "lax_shortcut", lambda self, field: lambda raw: ft.GENERAL)
    monkeypatch.setattr(inputs, "_PLANS", {})
    general = check_file(path).to_json()
    assert shortcut == general
    assert shortcut["inputs"] and any(m["code"] == "normalised" for m in shortcut["messages"])
