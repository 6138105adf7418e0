"""`jixiao.checker.normalize`: reading input cells the way accountants type them."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jixiao.checker.normalize import Invalid, Normalised, normalise
from jixiao.framework.model import Field

AMOUNT = Field("a", "本年支出", "amount", unit="万元", minimum=0.0)
SIGNED = Field("s", "结余", "amount", unit="万元")  # no lower bound
PERCENT = Field("p", "满意度", "percent", minimum=0.0, maximum=1.0)
PEOPLE = Field("c", "在编人数", "count", unit="人", minimum=0.0)
COUNT = Field("n", "项目数", "count", minimum=0.0)
YEAR = Field("y", "评价年度", "year")
SCORE = Field("sc", "得分", "score", minimum=0.0, maximum=25.0)
TEXT = Field("t", "单位编码", "text")
YESNO = Field("b", "是否涉密单位", "yesno")
CHOICE = Field("ch", "部门预算公开", "choice",
               options=("按规定内容、时限、范围公开", "已公开，但不符合时限、内容、范围等要求", "未公开"))


def ok(field: Field, raw: object) -> Normalised:
    outcome = normalise(field, raw)
    assert isinstance(outcome, Normalised), outcome
    return outcome


def bad(field: Field, raw: object) -> Invalid:
    outcome = normalise(field, raw)
    assert isinstance(outcome, Invalid), outcome
    return outcome


# --------------------------------------------------------------------------- empty

@pytest.mark.parametrize("field", [AMOUNT, PERCENT, PEOPLE, YEAR, TEXT, YESNO, CHOICE])
@pytest.mark.parametrize("raw", [None, "", " ", "\u3000", "\xa0", " \u3000\t\n", "\u200b"])
def test_empty(field, raw):
    assert normalise(field, raw) == Normalised(None, None)


# --------------------------------------------------------------------------- numbers unchanged

@pytest.mark.parametrize("field, raw, value", [
    (AMOUNT, 1234.56, 1234.56),
    (AMOUNT, 12, 12.0),
    (AMOUNT, 0.0, 0.0),
    (SIGNED, -3.5, -3.5),
    (PERCENT, 0.9642, 0.9642),
    (PERCENT, 1, 1.0),
    (PERCENT, 0, 0.0),
    (PEOPLE, 12.0, 12),
    (PEOPLE, 12, 12),
    (YEAR, 2021.0, 2021),
    (SCORE, 25.0, 25.0),
])
def test_numbers_taken_as_they_are(field, raw, value):
    outcome = ok(field, raw)
    assert outcome.value == value and type(outcome.value) is type(value)
    assert outcome.note is None


# --------------------------------------------------------------------------- numbers in text

@pytest.mark.parametrize("field, raw, value, phrases", [
    (AMOUNT, "1234.56", 1234.56, ["文本“1234.56”按数值 1234.56 读取"]),
    (AMOUNT, "1,234.56", 1234.56, ["文本“1,234.56”按数值 1234.56 读取"]),
    (AMOUNT, "1，234.56", 1234.56, ["文本“1，234.56”按数值 1234.56 读取", "全角符号已转换"]),
    (AMOUNT, "1,234,567", 1234567.0, ["按数值 1234567 读取"]),
    (AMOUNT, " 12.5 ", 12.5, ["按数值 12.5 读取", "已去除多余空格"]),
    (AMOUNT, "\u300012.5\xa0", 12.5, ["已去除多余空格"]),
    (AMOUNT, "12.5\u200b", 12.5, ["已去除多余空格"]),
    (AMOUNT, "１２．５", 12.5, ["全角数字已转换"]),
    (AMOUNT, "１，２３４．５６", 1234.56, ["按数值 1234.56 读取", "全角数字已转换"]),
    (AMOUNT, "12。5", 12.5, ["全角符号已转换"]),
    (AMOUNT, ".5", 0.5, ["按数值 0.5 读取"]),
    (AMOUNT, "5.", 5.0, ["按数值 5 读取"]),
    (AMOUNT, "+5", 5.0, ["按数值 5 读取"]),
    (AMOUNT, "1.5E+3", 1500.0, ["按数值 1500 读取"]),
    (AMOUNT, "-0", 0.0, ["按数值 0 读取"]),
    (SIGNED, "-12.5", -12.5, ["按数值 -12.5 读取"]),
    (SIGNED, "－１２．５", -12.5, ["按数值 -12.5 读取", "全角数字已转换"]),
    (SIGNED, "\u221212.5", -12.5, ["按数值 -12.5 读取"]),
    (SIGNED, "(12.5)", -12.5, ["按数值 -12.5 读取", "括号表示负数"]),
    (SIGNED, "（1,234.5）", -1234.5, ["按数值 -1234.5 读取", "括号表示负数", "全角符号已转换"]),
    (SIGNED, "(12.5)万元", -12.5, ["按 -12.5 万元读取", "括号表示负数"]),
    (SIGNED, "(12.5万元)", -12.5, ["按 -12.5 万元读取", "括号表示负数"]),
    (PEOPLE, "12", 12, ["文本“12”按数值 12 读取"]),
    (YEAR, "２０２１", 2021, ["全角数字已转换"]),
    (SCORE, "18.5", 18.5, ["按数值 18.5 读取"]),
])
def test_numbers_typed_as_text(field, raw, value, phrases):
    outcome = ok(field, raw)
    assert outcome.value == value and type(outcome.value) is type(value)
    for phrase in phrases:
        assert phrase in outcome.note


# --------------------------------------------------------------------------- units

@pytest.mark.parametrize("field, raw, value, phrases", [
    (AMOUNT, "12.5万元", 12.5, ["“12.5万元”按 12.5 万元读取"]),
    (AMOUNT, "12.5 万元", 12.5, ["按 12.5 万元读取"]),
    (AMOUNT, "1.2万", 1.2, ["按 1.2 万元读取"]),
    (AMOUNT, "40000元", 4.0, ["“40000元”按 4 万元读取（已由元换算为万元）"]),
    (AMOUNT, "40,000元", 4.0, ["按 4 万元读取（已由元换算为万元）"]),
    (AMOUNT, "１２３４５元", 1.2345, ["按 1.2345 万元读取", "已由元换算为万元", "全角数字已转换"]),
    (AMOUNT, "1.5亿元", 15000.0, ["按 15000 万元读取（已由亿元换算为万元）"]),
    (PEOPLE, "12人", 12, ["“12人”按 12 人读取"]),
    (PEOPLE, "12名", 12, ["按 12 人读取"]),
    (PEOPLE, "12个", 12, ["按 12 人读取"]),
    (COUNT, "3个", 3, ["“3个”按 3 读取"]),
    (COUNT, "3项", 3, ["“3项”按 3 读取"]),
    (COUNT, "3 人", 3, ["按 3 读取"]),
    (YEAR, "2021年", 2021, ["“2021年”按 2021 读取"]),
    (YEAR, "2021年度", 2021, ["按 2021 读取"]),
    (SCORE, "18分", 18.0, ["按 18 读取"]),
])
def test_units(field, raw, value, phrases):
    outcome = ok(field, raw)
    assert outcome.value == value and type(outcome.value) is type(value)
    for phrase in phrases:
        assert phrase in outcome.note


@pytest.mark.parametrize("field, raw", [
    (AMOUNT, "12人"),
    (AMOUNT, "12项"),
    (AMOUNT, "50%"),
    (PEOPLE, "3项"),
    (PEOPLE, "3元"),
    (COUNT, "3万元"),
    (YEAR, "2021元"),
    (SCORE, "18%"),
    (PERCENT, "50分"),
])
def test_unit_that_does_not_fit(field, raw):
    outcome = bad(field, raw)
    assert outcome.expected.startswith("应为")
    assert "不能以“" in outcome.expected
    assert outcome.found == f"文本“{raw}”"


# --------------------------------------------------------------------------- percent

@pytest.mark.parametrize("raw, value, phrases", [
    ("96.42%", 0.9642, ["“96.42%”按 0.9642 读取"]),
    ("96.42％", 0.9642, ["“96.42％”按 0.9642 读取", "全角符号已转换"]),
    ("９６．４２％", 0.9642, ["按 0.9642 读取", "全角数字已转换"]),
    ("96.42 %", 0.9642, ["按 0.9642 读取"]),
    ("100%", 1.0, ["按 1 读取"]),
    ("0%", 0.0, ["按 0 读取"]),
    ("0.5%", 0.005, ["按 0.005 读取"]),
    (96.42, 0.9642, ["数值 96.42 按 96.42% 即 0.9642 读取"]),
    (100, 1.0, ["按 100% 即 1 读取"]),
    (100.0, 1.0, ["按 100% 即 1 读取"]),
    (1.5, 0.015, ["按 1.5% 即 0.015 读取"]),
    ("96.42", 0.9642, ["文本“96.42”按 96.42% 即 0.9642 读取"]),
    ("0.9642", 0.9642, ["文本“0.9642”按数值 0.9642 读取"]),
    (96.42000000000002, 0.9642, ["即 0.9642 读取"]),  # a pasted formula result
])
def test_percent(raw, value, phrases):
    outcome = ok(PERCENT, raw)
    assert outcome.value == value
    for phrase in phrases:
        assert phrase in outcome.note


@pytest.mark.parametrize("raw, found", [
    (150.0, "数值 150"),
    ("150%", "文本“150%”"),
    ("100.5", "文本“100.5”"),
    (1000, "数值 1000"),
])
def test_percent_over_100(raw, found):
    assert bad(PERCENT, raw) == Invalid("应不大于1（100%）", found)


def test_percent_below_zero():
    assert bad(PERCENT, "-5%") == Invalid("应不小于0（0%）", "文本“-5%”")


def test_percent_field_allowing_more_than_100_takes_numbers_as_fractions():
    growth = Field("g", "增长率", "percent", minimum=0.0, maximum=5.0)
    assert ok(growth, 1.5) == Normalised(1.5, None)
    assert ok(growth, "150%").value == 1.5


# --------------------------------------------------------------------------- invalid numbers

@pytest.mark.parametrize("field, raw, found", [
    (AMOUNT, "十二", "文本“十二”"),
    (AMOUNT, "12.5.3", "文本“12.5.3”"),
    (AMOUNT, "1,23", "文本“1,23”"),  # a decimal comma? never guessed
    (AMOUNT, "1234,567.5", "文本“1234,567.5”"),
    (AMOUNT, "1 234", "文本“1 234”"),
    (AMOUNT, "12abc", "文本“12abc”"),
    (AMOUNT, "约12", "文本“约12”"),
    (AMOUNT, "nan", "文本“nan”"),
    (AMOUNT, "inf", "文本“inf”"),
    (AMOUNT, "1e999", "文本“1e999”"),
    (AMOUNT, "(-12)", "文本“(-12)”"),
    (AMOUNT, "万元", "文本“万元”"),
    (AMOUNT, "#DIV/0!", "错误值 #DIV/0!"),
    (AMOUNT, dt.date(2021, 3, 31), "日期 2021-03-31"),
    (AMOUNT, dt.datetime(2021, 3, 31), "日期 2021-03-31"),
    (AMOUNT, dt.datetime(2021, 3, 31, 10, 30), "日期 2021-03-31 10:30"),
    (AMOUNT, dt.time(10, 30), "时间 10:30"),
    (YEAR, dt.date(2021, 1, 1), "日期 2021-01-01"),
    (AMOUNT, float("nan"), "数值 NaN"),
    (AMOUNT, float("inf"), "数值 无穷大"),
    (SIGNED, float("-inf"), "数值 负无穷大"),
    (AMOUNT, True, "逻辑值 TRUE"),
    (PEOPLE, False, "逻辑值 FALSE"),
    (PEOPLE, 12.5, "数值 12.5"),
    (PEOPLE, "12.5", "文本“12.5”"),
    (YEAR, 2021.5, "数值 2021.5"),
    (YEAR, 21, "数值 21"),
    (YEAR, "21年", "文本“21年”"),
])
def test_invalid_numbers(field, raw, found):
    outcome = bad(field, raw)
    assert outcome.found == found
    assert outcome.expected == f"应为{field.allowed()}"


@pytest.mark.parametrize("raw", ["-", "—", "/", "无", "－"])
def test_placeholders_for_nothing_are_not_guessed(raw):
    outcome = bad(AMOUNT, raw)
    assert "如为零请填0" in outcome.expected
    assert outcome.found == f"文本“{raw}”"


@pytest.mark.parametrize("field, raw, expected, found", [
    (AMOUNT, -1, "应不小于0", "数值 -1"),
    (AMOUNT, "(12.5)", "应不小于0", "文本“(12.5)”"),
    (AMOUNT, "-12.5", "应不小于0", "文本“-12.5”"),
    (PEOPLE, -3, "应不小于0", "数值 -3"),
    (COUNT, "-3", "应不小于0", "文本“-3”"),
    (Field("n", "x", "count"), -3.0, "应不小于0", "数值 -3"),  # counts are never negative
    (SCORE, 25.5, "应不大于25", "数值 25.5"),
    (SCORE, "30分", "应不大于25", "文本“30分”"),
    (Field("r", "x", "score", minimum=0.0, maximum=1.0), 1.2, "应不大于1", "数值 1.2"),
])
def test_out_of_range(field, raw, expected, found):
    assert bad(field, raw) == Invalid(expected, found)


# --------------------------------------------------------------------------- yes / no

@pytest.mark.parametrize("raw, value, phrase", [
    ("是", "是", None),
    ("否", "否", None),
    (" 是 ", "是", "已去除首尾空格"),
    ("是\u3000", "是", "已去除首尾空格"),
    ("Y", "是", "“Y”按“是”读取"),
    ("y", "是", "“y”按“是”读取"),
    ("N", "否", "“N”按“否”读取"),
    ("yes", "是", "按“是”读取"),
    ("YES", "是", "按“是”读取"),
    ("Ｙｅｓ", "是", "“Ｙｅｓ”按“是”读取"),
    ("No", "否", "按“否”读取"),
    ("√", "是", "“√”按“是”读取"),
    ("×", "否", "“×”按“否”读取"),
    ("有", "是", "“有”按“是”读取"),
    ("无", "否", "“无”按“否”读取"),
    ("TRUE", "是", "按“是”读取"),
    ("false", "否", "按“否”读取"),
    ("1", "是", "“1”按“是”读取"),
    ("０", "否", "“０”按“否”读取"),
    (True, "是", "逻辑值 TRUE 按“是”读取"),
    (False, "否", "逻辑值 FALSE 按“否”读取"),
    (1, "是", "数值 1 按“是”读取"),
    (1.0, "是", "数值 1 按“是”读取"),
    (0, "否", "数值 0 按“否”读取"),
])
def test_yesno(raw, value, phrase):
    outcome = ok(YESNO, raw)
    assert outcome.value == value
    if phrase is None:
        assert outcome.note is None
    else:
        assert phrase in outcome.note


@pytest.mark.parametrize("raw, found", [
    ("可能", "文本“可能”"),
    ("是的吧", "文本“是的吧”"),
    ("X", "文本“X”"),  # a tick for some, a cross for others
    (2, "数值 2"),
    (0.5, "数值 0.5"),
    (dt.date(2021, 3, 31), "日期 2021-03-31"),
])
def test_yesno_invalid(raw, found):
    assert bad(YESNO, raw) == Invalid("应为“是”或“否”", found)


# --------------------------------------------------------------------------- choice

PARTLY = "已公开，但不符合时限、内容、范围等要求"


@pytest.mark.parametrize("raw, value, phrases", [
    ("未公开", "未公开", None),
    (PARTLY, PARTLY, None),
    (" 未公开 ", "未公开", ["已去除首尾空格"]),
    ("未公开\u3000", "未公开", ["已去除首尾空格"]),
    ("已公开,但不符合时限、内容、范围等要求", PARTLY, [f"按选项“{PARTLY}”读取", "全角/半角标点"]),
    ("已公开, 但不符合时限､内容､范围等要求", PARTLY, [f"按选项“{PARTLY}”读取"]),
])
def test_choice(raw, value, phrases):
    outcome = ok(CHOICE, raw)
    assert outcome.value == value
    if phrases is None:
        assert outcome.note is None
    else:
        for phrase in phrases:
            assert phrase in outcome.note


@pytest.mark.parametrize("raw, found", [
    ("没公开", "文本“没公开”（是否为“未公开”？）"),
    ("不知道", "文本“不知道”"),
    (1, "数值 1"),
    (True, "逻辑值 TRUE"),
])
def test_choice_invalid_lists_the_options(raw, found):
    outcome = bad(CHOICE, raw)
    assert outcome.expected == "应为以下之一：按规定内容、时限、范围公开；已公开，但不符合时限、内容、范围等要求；未公开"
    assert outcome.found == found


def test_choice_of_numbers():
    grade = Field("g", "等级", "choice", options=("1", "2", "3"))
    assert ok(grade, 2.0) == Normalised("2", "数值 2 按选项“2”读取")
    assert ok(grade, "２").value == "2"
    assert bad(grade, 4.0).found == "数值 4"


# --------------------------------------------------------------------------- text

@pytest.mark.parametrize("raw, value, phrase", [
    ("深圳市某某局", "深圳市某某局", None),
    ("张\u3000三", "张\u3000三", None),  # inner full-width space kept: names are aligned so
    (" 深圳市某某局 ", "深圳市某某局", "已去除首尾空格"),
    (13800138000.0, "13800138000", "数值按文本“13800138000”读取"),
    (13800138000, "13800138000", "数值按文本“13800138000”读取"),
    (12.5, "12.5", "数值按文本“12.5”读取"),
    (2021.0, "2021", "数值按文本“2021”读取"),
    (0.1 + 0.2, "0.3", "数值按文本“0.3”读取"),
    (123456789012345678.0, "123456789012346000", "只保留前15位"),
    (True, "TRUE", "逻辑值按文本“TRUE”读取"),
    (dt.date(2021, 3, 31), "2021-03-31", "日期按文本“2021-03-31”读取"),
    (dt.datetime(2021, 3, 31, 9, 5), "2021-03-31 09:05", "日期按文本"),
    (dt.time(9, 5), "09:05", "时间按文本“09:05”读取"),
])
def test_text(raw, value, phrase):
    outcome = ok(TEXT, raw)
    assert outcome.value == value
    if phrase is None:
        assert outcome.note is None
    else:
        assert phrase in outcome.note


# --------------------------------------------------------------------------- properties

_FULL_WIDTH = str.maketrans("0123456789,.-", "０１２３４５６７８９，．－")


@given(st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False))
def test_formatted_amounts_read_back(x):
    text = f"{x:,.2f}"
    for raw in (text, text.translate(_FULL_WIDTH)):
        outcome = normalise(AMOUNT, raw)
        assert isinstance(outcome, Normalised), (raw, outcome)
        assert math.isclose(outcome.value, round(x, 2), rel_tol=1e-9, abs_tol=1e-9), (raw, outcome)
        assert outcome.note


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False))
def test_formatted_signed_amounts_read_back(x):
    text = f"{x:,.2f}"
    expected = round(x, 2)
    for raw in (text, text.translate(_FULL_WIDTH), f"({abs(x):,.2f})" if x < 0 else text):
        outcome = normalise(SIGNED, raw)
        assert isinstance(outcome, Normalised), (raw, outcome)
        assert math.isclose(outcome.value, expected, rel_tol=1e-9, abs_tol=1e-9), (raw, outcome)


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
                 st.dates(), st.datetimes(), st.times()))
@pytest.mark.parametrize("field", [AMOUNT, PERCENT, PEOPLE, YEAR, SCORE, TEXT, YESNO, CHOICE])
def test_never_raises(field, raw):
    outcome = normalise(field, raw)
    assert isinstance(outcome, (Normalised, Invalid))
    if isinstance(outcome, Invalid):
        assert outcome.expected.startswith("应") and outcome.found
