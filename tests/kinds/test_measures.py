"""Measures (the 指标计算 cells behind a score): ratio and declared_or_difference, each from a
YAML snippet -- formula text of the value and of its explanation, values on blanks, zero
denominators and noisy divisions (engine == formulas oracle), readings and validation."""

from __future__ import annotations

from kinds_kit import RULE_AT

from jixiao.measures import ratio_reading

FIELDS = """
- {id: a, label: 基本支出}
- {id: b, label: 项目支出}
- {id: c, label: 预算数}
- {id: cnt, label: 人数, type: count}
"""
RATIO = "{id: r, kind: ratio, label: 执行率, num: [a, b], den: c, zero_den: {both_zero: 0, num_only: 999, note: 预算数为0}}"
MANUAL = "{kind: manual, score_label: 得分}"  # a rule that reads no measure
INDICATOR_AT = RULE_AT.removesuffix(".rule")


def values(k, inputs: dict) -> tuple:
    v = k.agree(inputs)
    return v["r"], v["explain.r"]


def test_ratio_formulas_and_reading(kit):
    k = kit(fields=FIELDS, measures=f"[{RATIO}]", rule=MANUAL)
    assert k.formula("r") == "IF((c+0)=0,IF(((a+0)+(b+0))=0,0,999),((a+0)+(b+0))/(c+0))"
    assert k.formula("explain.r") == (
        'IF((c+0)=0,IF(((a+0)+(b+0))=0,"预算数为0且基本支出+项目支出为0，执行率按0%计",'
        '"预算数为0但基本支出+项目支出不为0，执行率按超过100%计"),'
        '"执行率"&"="&"("&a&"万元"&"+"&b&"万元"&")"&"/"&c&"万元"&"="&TEXT(r,"0.00%"))')
    assert k.indicator.measures[0].readings() == [
        "执行率：预算数为0且基本支出+项目支出为0的，按0%计；预算数为0但基本支出+项目支出不为0的，按超过100%计。"]


def test_ratio_values(kit):
    k = kit(fields=FIELDS, measures=f"[{RATIO}]", rule=MANUAL)
    assert values(k, {"a": 30, "b": 60, "c": 100}) == (0.9, "执行率=(30万元+60万元)/100万元=90.00%")
    r, text = values(k, {"a": 27.9, "b": 0, "c": 31})
    assert r == 27.9 / 31 and text == "执行率=(27.9万元+0万元)/31万元=90.00%"  # unrounded, as divided
    assert values(k, {"a": 1, "b": 0.12345, "c": 10}) == (0.112345, "执行率=(1万元+0.12345万元)/10万元=11.23%")
    assert values(k, {"a": 1, "b": 0.12355, "c": 10})[1] == "执行率=(1万元+0.12355万元)/10万元=11.24%"  # TEXT halves up
    assert values(k, {}) == (0, "预算数为0且基本支出+项目支出为0，执行率按0%计")  # all blank
    assert values(k, {"c": 0, "a": 0, "b": 0}) == (0, "预算数为0且基本支出+项目支出为0，执行率按0%计")
    assert values(k, {"c": 0, "a": 5}) == (999, "预算数为0但基本支出+项目支出不为0，执行率按超过100%计")
    assert values(k, {"a": "30", "b": "60", "c": "100"}) == (0.9, "执行率=(30万元+60万元)/100万元=90.00%")
    assert values(k, {"a": "三十", "b": 60, "c": 100}) == ("#VALUE!", "#VALUE!")


def test_ratio_rounded_by_the_framework(kit):
    k = kit(fields=FIELDS, measures=f"[{RATIO}]", rule=MANUAL, ratio_decimals=4)
    assert k.formula("r") == "ROUND(IF((c+0)=0,IF(((a+0)+(b+0))=0,0,999),((a+0)+(b+0))/(c+0)),4)"
    assert values(k, {"a": 1, "b": 0, "c": 3}) == (0.3333, "执行率=(1万元+0万元)/3万元=33.33%")
    assert values(k, {"a": 0.00005, "b": 0, "c": 1})[0] == 0.0001  # half away from zero
    assert ratio_reading(4).startswith("各项比率统一四舍五入到小数点后4位（ROUND(比率,4)）")
    assert ratio_reading(None).startswith("各项比率不作舍入，按15位有效数字")


def test_ratio_of_a_count_to_a_constant(kit):
    k = kit(fields=FIELDS, rule=MANUAL,
            measures="[{id: r, kind: ratio, label: 到岗率, num: cnt, den: 4, zero_den: {both_zero: 1, num_only: 0.5, note: 编制为0}}]")
    assert k.formula("r") == "IF(4=0,IF((cnt+0)=0,1,0.5),(cnt+0)/4)"
    assert k.formula("explain.r") == ('IF(4=0,IF((cnt+0)=0,"编制为0且人数为0，到岗率按100%计","编制为0但人数不为0，到岗率按50%计"),'
                                      '"到岗率"&"="&cnt&"/"&"4"&"="&TEXT(r,"0.00%"))')
    assert values(k, {"cnt": 3}) == (0.75, "到岗率=3/4=75.00%")  # a count has no unit
    assert k.indicator.measures[0].readings() == ["到岗率：编制为0且人数为0的，按100%计；编制为0但人数不为0的，按50%计。"]


def test_ratio_mistakes(refuse):
    def problem(measure: str) -> tuple[str, str]:
        e = refuse(fields=FIELDS, measures=f"[{measure}]", rule=MANUAL)
        return e.where, e.problem

    at = f"{INDICATOR_AT}.measures[0]"
    zero = "zero_den: {both_zero: 0, num_only: 1, note: 为0}"
    assert problem(f"{{id: r, kind: ratio, label: 率, num: a, den: d, {zero}}}") == (
        f"{at}.den", "引用的字段或计算项 “d” 不存在")
    assert problem(f"{{id: r, kind: ratio, label: 率, num: [a, x], den: c, {zero}}}") == (
        f"{at}.num[1]", "引用的字段或计算项 “x” 不存在")
    assert problem(f"{{id: r, kind: ratio, label: 率, num: {{a: 1}}, den: c, {zero}}}") == (
        f"{at}.num", "应为字段 id、字段 id 列表（相加）或数值")
    assert problem(f"{{id: r, kind: ratio, label: 率, num: [], den: c, {zero}}}") == (
        f"{at}.num", "应为字段 id、字段 id 列表（相加）或数值")
    assert problem("{id: r, kind: ratio, label: 率, num: a, den: c}") == (at, "缺少必需的键 “zero_den”")
    assert problem("{id: r, kind: ratio, label: 率, num: a, den: c, zero_den: {both_zero: 0, note: 为0}}") == (
        f"{at}.zero_den", "缺少必需的键 “num_only”")
    assert problem(f"{{id: r, kind: ratio, label: 率, num: a, den: c, decimals: 2, {zero}}}") == (
        at, "未知的键 “decimals”")
    assert problem(f"{{id: a, kind: ratio, label: 率, num: b, den: c, {zero}}}") == (
        f"{at}.id", "计算项 id “a” 与已有字段或计算项重复")
    where, text = problem(f"{{id: r, kind: rate, label: 率, num: a, den: c, {zero}}}")
    assert (where, text) == (f"{at}.kind", "未知的计算项类型 “rate”，可用：ratio、declared_or_difference")


ADJUSTMENT = "{id: adj, kind: declared_or_difference, label: 调整资金, declared: a, minuend: b, subtrahend: c}"
ON_ADJUSTMENT = "{kind: tiers, value: adj, bands: [{op: '<=', at: 10, score: 2}], otherwise: 0}"


def test_declared_or_difference_formulas_and_reading(kit):
    k = kit(fields=FIELDS, measures=f"[{ADJUSTMENT}]", points=2, rule=ON_ADJUSTMENT)
    assert k.formula("adj") == 'ROUND(ABS(IF(AND(a<>"",ISNUMBER(a+0)),a+0,(b+0)-(c+0))),6)'
    assert k.formula("explain.adj") == ('IF(AND(a<>"",ISNUMBER(a+0)),"调整资金"&"（单位填报）"&adj&"万元",'
                                        '"调整资金"&"=|"&b&"−"&c&"|="&adj&"万元")')
    assert k.indicator.measures[0].readings() == ["调整资金：填写了“基本支出”的按所填金额计；未填写的按|项目支出−预算数|计算。"]
    # the score reads all three; only the declared amount may stay blank (its blank has a meaning)
    assert [k.fw.fields[f].required for f in "abc"] == [False, True, True]


def test_declared_or_difference_values(kit):
    k = kit(fields=FIELDS, measures=f"[{ADJUSTMENT}]", points=2, rule=ON_ADJUSTMENT)

    def adj(inputs: dict) -> tuple:
        v = k.agree(inputs)
        return v["adj"], v["explain.adj"], v["score.k"]

    assert adj({"a": 5, "b": 10, "c": 30}) == (5, "调整资金（单位填报）5万元", 2)
    assert adj({"a": 0, "b": 10, "c": 30}) == (0, "调整资金（单位填报）0万元", 2)  # 0 declared is declared
    assert adj({"b": 10, "c": 30}) == (20, "调整资金=|10−30|=20万元", 0)  # blank: the difference, absolute
    assert adj({"b": 30, "c": 20}) == (10, "调整资金=|30−20|=10万元", 2)  # exactly on the band
    assert adj({"b": 30.01, "c": 20}) == (10.01, "调整资金=|30.01−20|=10.01万元", 0)
    # 1200.7 − 1113.25 is 87.45000000000005 in binary: kept to 6 decimals, shown as typed
    assert adj({"b": 1200.7, "c": 1113.25}) == (87.45, "调整资金=|1200.7−1113.25|=87.45万元", 0)
    assert adj({"a": "5", "b": 10, "c": 30}) == (5, "调整资金（单位填报）5万元", 2)  # number stored as text
    assert adj({"a": "无", "b": 10, "c": 15}) == (5, "调整资金=|10−15|=5万元", 2)  # not a number: not declared
    assert adj({"a": -3, "b": 10, "c": 15}) == (3, "调整资金（单位填报）3万元", 2)  # ABS of the declared too


def test_declared_or_difference_mistakes(refuse):
    at = f"{INDICATOR_AT}.measures[0]"
    e = refuse(fields=FIELDS, rule=MANUAL,
               measures="[{id: adj, kind: declared_or_difference, label: 调整, declared: a, minuend: b}]")
    assert (e.where, e.problem) == (at, "缺少必需的键 “subtrahend”")
    e = refuse(fields=FIELDS, rule=MANUAL,
               measures="[{id: adj, kind: declared_or_difference, label: 调整, declared: z, minuend: b, subtrahend: c}]")
    assert (e.where, e.problem) == (f"{at}.declared", "引用的字段或计算项 “z” 不存在")


def test_measures_agree_on_random_inputs(kit):
    from hypothesis import strategies as st
    from kinds_kit import agree_on_random_inputs, typed_number

    amounts = st.fixed_dictionaries({f: typed_number(4, 5000) for f in "abc"})
    agree_on_random_inputs(kit(fields=FIELDS, measures=f"[{RATIO}]", rule=MANUAL), amounts)
    agree_on_random_inputs(kit(fields=FIELDS, measures=f"[{RATIO}]", rule=MANUAL, ratio_decimals=4), amounts)
    agree_on_random_inputs(kit(fields=FIELDS, measures=f"[{ADJUSTMENT}]", points=2, rule=ON_ADJUSTMENT), amounts)
