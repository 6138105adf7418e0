"""`jixiao.framework.field_types`: one object per field type owns the allowed-values text, the
bounds, strict (`jixiao fill`) and lax (`jixiao check`) coercion, the number format and the data
validation; a type registered here is known to the loader, the generator, `fill` and the checker
with no other change (proved with a test-only type, through a LibreOffice re-save)."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from openpyxl import load_workbook

from jixiao.checker.check import check_file
from jixiao.checker.normalize import Invalid, Normalised, normalise
from jixiao.data import DataError, coerce_value, validate_data
from jixiao.framework import field_types as ft
from jixiao.framework.field_types import FieldError, Validation, Value
from jixiao.framework.loader import builtin_path, load_framework
from jixiao.framework.model import FIELD_TYPES, NUMERIC_TYPES, TEXT_TYPES, Field
from jixiao.framework.spec import FrameworkError
from jixiao.verify.libreoffice_recalc import recalculate
from jixiao.layout.model import SheetLayout
from jixiao.workbook.generator import build_workbook

AMOUNT = Field("a", "本年支出", "amount", unit="万元", minimum=0.0)
COUNT = Field("c", "在编人数", "count", unit="人", minimum=0.0)
PERCENT = Field("p", "满意度", "percent", minimum=0.0, maximum=1.0)
SCORE = Field("s", "得分", "score", minimum=0.0, maximum=25.0)
YEAR = Field("y", "评价年度", "year")
TEXT = Field("t", "单位编码", "text")
LONGTEXT = Field("l", "部门整体支出绩效情况", "longtext")
YESNO = Field("b", "是否涉密单位", "yesno")
CHOICE = Field("ch", "部门预算公开", "choice", options=("已公开", "未公开"))
FIELDS = {f.type: f for f in (AMOUNT, COUNT, PERCENT, SCORE, YEAR, TEXT, LONGTEXT, YESNO, CHOICE)}
BUILTIN = ("amount", "count", "percent", "score", "year", "text", "longtext", "yesno", "choice")


def test_every_builtin_type_is_registered_once():
    assert sorted(FIELD_TYPES) == sorted(BUILTIN) and len(FIELD_TYPES) == len(BUILTIN)
    assert set(NUMERIC_TYPES) == {"amount", "count", "percent", "score", "year"}
    assert set(TEXT_TYPES) == {"text", "longtext"}
    assert all(FIELDS[name].kind is ft.get(name) is ft.field_type(FIELDS[name]) for name in BUILTIN)
    with pytest.raises(ValueError, match="registered already"):
        ft.register(ft.NumberType("amount"))


# --------------------------------------------------------------------------- coercion table

def V(value, note=None):  # noqa: N802 - reads as the table's "value" column
    return Value(value, note)


DATE = dt.date(2021, 3, 31)

# (type, raw, strict, lax): a Value, or the error code
TABLE = [
    # numbers as numbers: both modes take them
    ("amount", 12.5, V(12.5), V(12.5)),
    ("amount", 12, V(12.0), V(12.0)),
    ("count", 12.0, V(12), V(12)),
    ("year", 2021, V(2021), V(2021)),
    ("percent", 0.5, V(0.5), V(0.5)),
    ("score", 25, V(25.0), V(25.0)),
    # text numbers: a data file is wrong, a typed cell is read (with a note)
    ("amount", "12", "wrong_type", V(12.0, "文本“12”按数值 12 读取")),
    ("count", "12", "wrong_type", V(12, "文本“12”按数值 12 读取")),
    ("score", "12.5", "wrong_type", V(12.5, "文本“12.5”按数值 12.5 读取")),
    # full-width digits from a Chinese IME
    ("amount", "１２．５", "wrong_type", V(12.5, "文本“１２．５”按数值 12.5 读取；全角数字已转换")),
    ("count", "１２", "wrong_type", V(12, "文本“１２”按数值 12 读取；全角数字已转换")),
    # units: the type says which fit it
    ("amount", "12万元", "wrong_type", V(12.0, "“12万元”按 12 万元读取")),
    ("amount", "40000元", "wrong_type", V(4.0, "“40000元”按 4 万元读取（已由元换算为万元）")),
    ("amount", "12人", "wrong_type", "wrong_unit"),
    ("count", "12人", "wrong_type", V(12, "“12人”按 12 人读取")),
    ("count", "12万元", "wrong_type", "wrong_unit"),
    ("year", "2021年", "wrong_type", V(2021, "“2021年”按 2021 读取")),
    ("score", "12分", "wrong_type", V(12.0, "“12分”按 12 读取")),
    ("score", "96%", "wrong_type", "wrong_unit"),
    ("percent", "96%", "wrong_type", V(0.96, "“96%”按 0.96 读取")),
    # a percent typed without %: lax reads it as a percentage, strict refuses it as > 100%
    ("percent", 96, "too_large", V(0.96, "数值 96 按 96% 即 0.96 读取")),
    ("percent", 2021, "too_large", "too_large"),
    # placeholders for nothing
    ("amount", "-", "wrong_type", "placeholder"),
    ("count", "无", "wrong_type", "placeholder"),
    ("year", "——", "wrong_type", "placeholder"),
    # dates and bools where a number belongs
    ("amount", DATE, "wrong_type", "wrong_type"),
    ("year", DATE, "wrong_type", "wrong_type"),
    ("count", True, "wrong_type", "wrong_type"),
    # bounds
    ("amount", -1, "too_small", "too_small"),
    ("count", -1, "too_small", "too_small"),
    ("score", 26, "too_large", "too_large"),
    ("count", 12.5, "not_integer", "not_integer"),
    ("year", 21, "out_of_range", "out_of_range"),
    ("year", 2101, "out_of_range", "out_of_range"),
    ("year", 2021.5, "not_integer", "not_integer"),
    ("amount", float("nan"), "wrong_type", "not_finite"),
    ("amount", "#DIV/0!", "wrong_type", "error_value"),
    ("amount", "十二", "wrong_type", "not_a_number"),
    # text: strict takes str and numbers as text; lax also dates and bools, with a note
    ("text", "91440300", V("91440300"), V("91440300")),
    ("text", 13800138000, V("13800138000"), V("13800138000", "数值按文本“13800138000”读取")),
    ("text", " 福田区 ", V(" 福田区 "), V("福田区", "已去除首尾空格")),
    ("text", DATE, "wrong_type", V("2021-03-31", "日期按文本“2021-03-31”读取")),
    ("longtext", True, "wrong_type", V("TRUE", "逻辑值按文本“TRUE”读取")),
    ("longtext", "第一段\n第二段", V("第一段\n第二段"), V("第一段\n第二段")),
    # yes / no
    ("yesno", "是", V("是"), V("是")),
    ("yesno", True, V("是"), V("是", "逻辑值 TRUE 按“是”读取")),
    ("yesno", False, V("否"), V("否", "逻辑值 FALSE 按“否”读取")),
    ("yesno", "Y", "not_yes_no", V("是", "“Y”按“是”读取")),
    ("yesno", "无", "not_yes_no", V("否", "“无”按“否”读取")),
    ("yesno", 1, "not_yes_no", V("是", "数值 1 按“是”读取")),
    ("yesno", 2, "not_yes_no", "not_yes_no"),
    ("yesno", DATE, "not_yes_no", "not_yes_no"),
    # choice
    ("choice", "已公开", V("已公开"), V("已公开")),
    ("choice", " 未公开", "not_an_option", V("未公开", "已去除首尾空格")),
    ("choice", "公开", "not_an_option", "not_an_option"),
    ("choice", True, "not_an_option", "not_an_option"),
]


def _matches(outcome: Value | FieldError, expected: Value | str) -> bool:
    if isinstance(expected, str):
        return isinstance(outcome, FieldError) and outcome.code == expected
    return isinstance(outcome, Value) and outcome == expected and type(outcome.value) is type(expected.value)


@pytest.mark.parametrize("type_name, raw, strict, lax", TABLE, ids=[f"{t}-{r!r}" for t, r, _, _ in TABLE])
def test_strict_and_lax(type_name, raw, strict, lax):
    field = FIELDS[type_name]
    got_strict = field.kind.coerce(field, raw, "strict")
    got_lax = field.kind.coerce(field, raw, "lax")
    assert _matches(got_strict, strict), got_strict
    assert _matches(got_lax, lax), got_lax
    # `fill` and `check` are these two modes
    assert coerce_value(field, raw) == ((None, got_strict.message) if isinstance(got_strict, FieldError)
                                        else (got_strict.value, None))
    assert normalise(field, raw) == got_lax


def test_every_type_is_in_the_table():
    assert {t for t, *_ in TABLE} == set(BUILTIN)


@pytest.mark.parametrize("type_name", BUILTIN)
@pytest.mark.parametrize("raw", [None, ""])
def test_empty_is_no_value_in_both_modes(type_name, raw):
    field = FIELDS[type_name]
    assert field.kind.coerce(field, raw, "strict") == field.kind.coerce(field, raw, "lax") == Value(None, None)


def test_blank_text_is_empty_only_when_lax():
    assert TEXT.kind.coerce(TEXT, "\u3000", "lax") == Value(None, None)
    assert TEXT.kind.coerce(TEXT, "\u3000", "strict") == Value("\u3000")


def test_unknown_mode():
    with pytest.raises(ValueError, match="strict"):
        AMOUNT.kind.coerce(AMOUNT, 1, "loose")


# --------------------------------------------------------------------------- the error record

def test_strict_error_record():
    error = AMOUNT.kind.coerce(AMOUNT, -1, "strict")
    assert isinstance(error, FieldError)
    assert (error.code, error.expected, error.found, error.input) == (
        "too_small", "应为不小于0的数值（单位：万元）", "数值 -1（小于0）", -1)
    assert error.message == "应为不小于0的数值（单位：万元），实际为 数值 -1（小于0）"


def test_lax_error_record_is_the_checkers_invalid():
    error = PERCENT.kind.coerce(PERCENT, "-5%", "lax")
    assert error == Invalid("应不小于0（0%）", "文本“-5%”")
    assert (error.code, error.input) == ("too_small", "-5%")
    assert error.message == "应不小于0（0%），实际为文本“-5%”"
    assert Normalised is Value and Invalid is FieldError


def test_choice_errors_hint_at_the_option_meant():
    strict = CHOICE.kind.coerce(CHOICE, "已公", "strict")
    lax = CHOICE.kind.coerce(CHOICE, "已公", "lax")
    assert strict.message == "应为以下之一：已公开；未公开，实际为 文本 “已公”（是否为“已公开”？）"
    assert lax.message == "应为以下之一：已公开；未公开，实际为文本“已公”（是否为“已公开”？）"


def test_lax_reports_a_unit_that_does_not_fit():
    assert COUNT.kind.coerce(COUNT, "3万元", "lax").message == \
        "应为不小于0的整数，不能以“万元”为单位，实际为文本“3万元”"


def test_a_count_made_by_a_rule_has_the_types_lower_bound_in_both_modes():
    # a rule's 问题数 field states no minimum: the type's 0 holds for `fill` as for `check`
    problems = Field("n", "问题数", "count")
    assert problems.kind.bounds(problems) == (0.0, None)
    assert problems.kind.coerce(problems, -1, "strict").code == "too_small"
    assert problems.kind.coerce(problems, -1, "lax").code == "too_small"


# --------------------------------------------------------------------------- allowed text, format, validation

@pytest.mark.parametrize("type_name, allowed", [
    ("amount", "不小于0的数值（单位：万元）"),
    ("count", "不小于0的整数"),
    ("percent", "0%～100%之间的百分比"),
    ("score", "不小于0、不大于25的数值"),
    ("year", "四位年份"),
    ("text", "文本"),
    ("longtext", "文本（可分段，不超过32767字），原样写入自评报告"),
    ("yesno", "“是”或“否”"),
    ("choice", "以下之一：已公开；未公开"),
])
def test_allowed_text(type_name, allowed):
    field = FIELDS[type_name]
    assert field.kind.allowed(field) == field.allowed() == allowed
    assert field.kind.expected(field) == "应为" + allowed


def test_allowed_text_follows_the_fields_bounds_and_unit():
    growth = Field("g", "增长额", "amount", unit="元", minimum=-100.0, maximum=1e6)
    assert growth.allowed() == "不小于-100、不大于1e+06的数值（单位：元）"


@pytest.mark.parametrize("type_name, number_format", [
    ("amount", "#,##0.00"), ("count", "0"), ("percent", "0.00%"), ("score", "0.00"), ("year", "0"),
    ("text", "@"), ("longtext", "@"), ("yesno", "@"), ("choice", "@"),
])
def test_number_format(type_name, number_format):
    assert ft.get(type_name).number_format == number_format
    # and the layout gives an input cell of the type that format, with the type's validation
    sheet = SheetLayout("表")
    field = Field("f", "项目", type_name, options=("甲", "乙") if type_name == "choice" else ())
    sheet.input(3, 2, field)
    assert sheet.cells[(3, 2)].fmt == number_format
    assert sheet.cells[(3, 2)].validation == field.kind.validation(field)


@pytest.mark.parametrize("type_name, rule", [
    ("amount", ("decimal", "between", "0", "1e+12", True)),
    ("count", ("whole", "between", "0", "1000000", True)),
    ("percent", ("decimal", "between", "0", "1", True)),
    ("score", ("decimal", "between", "0", "25", True)),
    ("year", ("whole", "between", "2000", "2100", True)),
    ("text", ("textLength", "lessThanOrEqual", "500", None, True)),
    ("longtext", ("textLength", "lessThanOrEqual", "32767", None, True)),
    ("yesno", ("list", None, '"是,否"', None, True)),
    ("choice", ("list", None, '"已公开,未公开"', None, True)),
])
def test_validation_data(type_name, rule):
    field = FIELDS[type_name]
    v = field.kind.validation(field)
    assert isinstance(v, Validation) and v.rule == rule
    allowed = field.allowed()
    assert (v.prompt_title, v.prompt, v.error_title, v.error) == ("填写要求", allowed[:250], "输入有误",
                                                                  f"此处应填写{allowed}。")
    with pytest.raises(AttributeError):
        v.formula1 = "1"  # type: ignore[misc]  # frozen: validations are shared between cells


def test_validation_follows_the_fields_bounds():
    limit = Field("x", "人数上限", "count", minimum=1.0, maximum=50.0)
    assert limit.kind.validation(limit).rule == ("whole", "between", "1", "50", True)
    ratio = Field("r", "增长率", "percent", minimum=-1.0, maximum=5.0)
    assert ratio.kind.validation(ratio).rule == ("decimal", "between", "-1", "5", True)


def test_loader_defaults_come_from_the_type():
    fw = load_framework()
    for fid in ("year", "unit_name"):  # a year and a text field: no bounds
        assert (fw.fields[fid].minimum, fw.fields[fid].maximum) == (None, None)
    amounts = [f for f in fw.fields.values() if f.type == "amount" and f.sheet != "评分要素"]
    assert amounts and all(f.minimum == 0.0 and f.maximum is None and f.unit == "万元" for f in amounts)
    assert {ft.get(n).default_maximum for n in ("percent",)} == {1.0}


def test_unknown_column_type_is_a_framework_error(tmp_path):
    form = yaml.safe_load(builtin_path("shenzhen-form-2021").read_text(encoding="utf-8"))
    grid = next(t for s in form["sheets"] for t in s["tables"] if "columns" in t)
    grid["columns"][0]["type"] = "money"
    (tmp_path / "shenzhen-form-2021.yaml").write_text(yaml.safe_dump(form, allow_unicode=True), encoding="utf-8")
    (tmp_path / "fw.yaml").write_bytes(builtin_path("shenzhen-district-2021").read_bytes())
    with pytest.raises(FrameworkError, match="未知的字段类型 “money”，可用：amount、choice、count"):
        load_framework(tmp_path / "fw.yaml")


def test_a_choice_without_options_is_a_framework_error(tmp_path):
    form = yaml.safe_load(builtin_path("shenzhen-form-2021").read_text(encoding="utf-8"))
    form["sheets"][0]["tables"][0]["fields"].append({"id": "grade", "label": "等级", "type": "choice"})
    (tmp_path / "shenzhen-form-2021.yaml").write_text(yaml.safe_dump(form, allow_unicode=True), encoding="utf-8")
    (tmp_path / "fw.yaml").write_bytes(builtin_path("shenzhen-district-2021").read_bytes())
    with pytest.raises(FrameworkError, match="选择型字段需要 options"):
        load_framework(tmp_path / "fw.yaml")


# --------------------------------------------------------------------------- a new type is one entry

MONTH = ft.NumberType(
    "month", integral=True, number_format="0", words="1～12的整数月份", floor=1.0, ceiling=12.0,
    range_words=True, validation_type="whole", validation_range=(1, 12), unit_words=frozenset({"月"}))


@pytest.fixture()
def month():
    ft.register(MONTH)
    yield MONTH
    ft.unregister("month")


@pytest.fixture()
def month_framework(month, tmp_path):
    """The built-in framework with a form that asks for a 报送月份 of the test-only type."""
    form = yaml.safe_load(builtin_path("shenzhen-form-2021").read_text(encoding="utf-8"))
    form["sheets"][0]["tables"][0]["fields"].append({"id": "report_month", "label": "报送月份", "type": "month"})
    (tmp_path / "shenzhen-form-2021.yaml").write_text(yaml.safe_dump(form, allow_unicode=True), encoding="utf-8")
    (tmp_path / "fw.yaml").write_bytes(builtin_path("shenzhen-district-2021").read_bytes())
    return load_framework(tmp_path / "fw.yaml")


def test_attributes_of_a_type_are_checked():
    with pytest.raises(TypeError, match="no attribute 'colour'"):
        ft.NumberType("x", colour="red")


def test_a_registered_type_is_known_everywhere(month):
    field = Field("m", "报送月份", "month")
    assert "month" in FIELD_TYPES and "month" in NUMERIC_TYPES and field.numeric
    assert field.kind.number_format == "0"
    assert field.allowed() == "1～12的整数月份"
    assert field.kind.validation(field).rule == ("whole", "between", "1", "12", True)
    assert normalise(field, "７月") == Value(7, "“７月”按 7 读取；全角数字已转换")
    assert normalise(field, 13) == Invalid("应为1～12的整数月份", "数值 13")
    assert coerce_value(field, 13) == (None, "应为1～12的整数月份，实际为 数值 13")
    assert coerce_value(field, 7.0) == (7, None)


def test_a_registered_type_in_a_form_reaches_fill_the_workbook_and_the_checker(month_framework, tmp_path, soffice):
    fw = month_framework
    assert fw.fields["report_month"].kind is MONTH
    with pytest.raises(DataError) as err:
        validate_data(fw, {"report_month": "7"}, "data.yaml")
    assert str(err.value) == "data.yaml：字段 report_month：“报送月份”应为1～12的整数月份，实际为 文本 “7”"
    data = validate_data(fw, {"report_month": 7, "unit_name": "测试单位", "year": 2021})
    assert data["report_month"] == 7

    path = tmp_path / "月份.xlsx"
    build_workbook(fw, data).save(path)
    # through LibreOffice, which did not write the validation or the number format
    resaved = recalculate([path], tmp_path / "lo", soffice=soffice)[path]
    for book in (path, resaved):
        ws = load_workbook(book)["基本信息"]
        cell = next(c for row in ws.iter_rows() for c in row if c.value == 7)
        assert cell.number_format == "0"
        rules = [dv for dv in ws.data_validations.dataValidation if cell.coordinate in dv.sqref]
        assert [(dv.type, dv.operator, dv.formula1, dv.formula2) for dv in rules] == [("whole", "between", "1", "12")]
        assert rules[0].error == "此处应填写1～12的整数月份。"

    result = check_file(resaved, [fw])
    assert result.inputs["report_month"] == 7
    assert not [m for m in result.messages if m.field == "report_month"]

    # typed the way a unit types it (read, but the workbook's formulas cannot use text), and wrong
    for typed, expected in (
            ("７月", [("normalised", "：“７月”按 7 读取；全角数字已转换"), ("not_a_number", "请改为只填写数字 7")]),
            (13, [("invalid_value", "“报送月份”：应为1～12的整数月份，实际为数值 13")])):
        wb = load_workbook(resaved)
        ws = wb["基本信息"]
        next(c for row in ws.iter_rows() for c in row if c.value == 7).value = typed
        wb.save(tmp_path / "typed.xlsx")
        result = check_file(tmp_path / "typed.xlsx", [fw])
        got = [m for m in result.messages if m.field == "report_month"]
        assert [m.code for m in got] == [code for code, _ in expected], got
        assert all(m.text.endswith(end) for m, (_, end) in zip(got, expected)), got
