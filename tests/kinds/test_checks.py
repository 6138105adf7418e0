"""审核 check kinds (sum_equals, equals, at_most, non_decreasing, at_least_yes) and the checks
generated from the form (required, usable_numbers), each from a YAML snippet: the formula text
of the 审核结果 and 说明 cells, results and details at and just off the tolerance (engine ==
formulas oracle), and the validation messages."""

from __future__ import annotations

import pytest
from kinds_kit import Kit

FIELDS = """
- {id: t, label: 合计}
- {id: p1, label: 基本支出}
- {id: p2, label: 项目支出}
- {id: y1, label: 社会效益, type: yesno}
- {id: y2, label: 经济效益, type: yesno}
- {id: y3, label: 生态效益, type: yesno}
- {id: n, label: 人数, type: count, required: true}
"""
CHECKS = """
- {id: s, kind: sum_equals, level: 错误, total: t, parts: [p1, p2], message: 合计等于各项之和}
- {id: so, kind: sum_equals, level: 警告, total: t, parts: [p1, p2], optional_parts: true, tolerance: 0.5,
   message: 填写了明细的，合计等于各项之和}
- {id: e, kind: equals, level: 错误, left: t, right: p1, message: 合计等于基本支出}
- {id: m, kind: at_most, level: 警告, value: p1, limit: t, message: 基本支出不超过合计}
- {id: nd, kind: non_decreasing, level: 警告, values: [p1, p2, t], message: 逐项不减}
- {id: y, kind: at_least_yes, level: 警告, values: [y1, y2, y3], count: 2, message: 至少选择两项}
"""
MANUAL = "{kind: manual, score_label: 得分}"
NOT_A_NUMBER = "无法核对：有填写项不是数值"


@pytest.fixture
def k(kit) -> Kit:
    return kit(fields=FIELDS, checks=CHECKS, rule=MANUAL)


def result(k: Kit, cid: str, inputs: dict) -> tuple[str, str]:
    """The 审核结果 and the 说明 of check `cid` (engine == formulas oracle on every cell)."""
    v = k.agree(inputs)
    return v[f"check.{cid}"], v[f"detail.{cid}"]


def test_checks_in_order(k):
    # generated per sheet first (required, then usable numbers), then the file's own
    assert [(c.id, c.kind, c.level) for c in k.fw.checks] == [
        ("required_1", "required", "错误"), ("required_2", "required", "错误"),
        ("numbers_1", "usable_numbers", "错误"), ("numbers_2", "usable_numbers", "错误"),
        ("s", "sum_equals", "错误"), ("so", "sum_equals", "警告"), ("e", "equals", "错误"),
        ("m", "at_most", "警告"), ("nd", "non_decreasing", "警告"), ("y", "at_least_yes", "警告")]
    assert [c.message for c in k.fw.checks[:4]] == [
        "基础数据：必填项均已填写", "评分要素：必填项均已填写", "基础数据：数值填写项均为数值", "评分要素：数值填写项均为数值"]


def test_sum_equals(k):
    assert k.formula("check.s") == 'IFERROR(IF(ROUND(ABS(((p1+0)+(p2+0))-t),2)<=0.01,"通过","错误"),"错误")'
    assert k.formula("detail.s") == (
        'IF(check.s="通过","",IFERROR("合计"&t&"，各项之和"&ROUND((p1+0)+(p2+0),2)&"，相差"&ROUND(((p1+0)+(p2+0))-t,2),'
        f'"{NOT_A_NUMBER}"))')
    assert result(k, "s", {"t": 100, "p1": 60, "p2": 40}) == ("通过", "")
    assert result(k, "s", {"t": 100, "p1": 60, "p2": 40.01}) == ("通过", "")  # exactly the tolerance
    assert result(k, "s", {"t": 100, "p1": 60, "p2": 40.02}) == ("错误", "合计100，各项之和100.02，相差0.02")
    assert result(k, "s", {"t": 100, "p1": 60, "p2": 39.98}) == ("错误", "合计100，各项之和99.98，相差-0.02")
    assert result(k, "s", {"t": 0.3, "p1": 0.1, "p2": 0.2}) == ("通过", "")  # no float noise
    assert result(k, "s", {}) == ("通过", "")
    assert result(k, "s", {"t": 100, "p1": "60", "p2": 40}) == ("通过", "")  # a number stored as text
    assert result(k, "s", {"t": 100, "p1": "六十", "p2": 40}) == ("错误", NOT_A_NUMBER)  # never #VALUE!


def test_sum_equals_with_optional_parts_and_tolerance(k):
    assert k.formula("check.so") == (
        'IFERROR(IF(OR(AND(p1="",p2=""),ROUND(ABS(((p1+0)+(p2+0))-t),2)<=0.5),"通过","警告"),"警告")')
    assert result(k, "so", {"t": 100}) == ("通过", "")  # no breakdown given: nothing to contradict
    assert result(k, "so", {"t": 100, "p1": 60}) == ("警告", "合计100，各项之和60，相差-40")
    assert result(k, "so", {"t": 100, "p1": 60, "p2": 40.5}) == ("通过", "")
    assert result(k, "so", {"t": 100, "p1": 60, "p2": 40.51}) == ("警告", "合计100，各项之和100.51，相差0.51")


def test_equals(k):
    assert k.formula("check.e") == 'IFERROR(IF(ROUND(ABS(t-p1),2)<=0.01,"通过","错误"),"错误")'
    assert k.formula("detail.e") == (
        f'IF(check.e="通过","",IFERROR("合计"&t&"，"&"基本支出"&p1&"，相差"&ROUND(t-p1,2),"{NOT_A_NUMBER}"))')
    assert result(k, "e", {"t": 5, "p1": 5}) == ("通过", "")
    assert result(k, "e", {"t": 5, "p1": 5.01}) == ("通过", "")
    assert result(k, "e", {"t": 5, "p1": 5.02}) == ("错误", "合计5，基本支出5.02，相差-0.02")
    assert result(k, "e", {"t": 5}) == ("错误", "合计5，基本支出，相差5")  # blank is 0, shown empty
    assert result(k, "e", {"t": 5, "p1": "5元"}) == ("错误", NOT_A_NUMBER)


def test_at_most(k):
    assert k.formula("check.m") == 'IFERROR(IF(ROUND(p1-t,2)<=0,"通过","警告"),"警告")'
    assert k.formula("detail.m") == f'IF(check.m="通过","",IFERROR("基本支出"&p1&"，大于"&"合计"&t,"{NOT_A_NUMBER}"))'
    assert result(k, "m", {"t": 100, "p1": 100}) == ("通过", "")
    assert result(k, "m", {"t": 100, "p1": 100.004}) == ("通过", "")  # under a cent over
    assert result(k, "m", {"t": 100, "p1": 100.01}) == ("警告", "基本支出100.01，大于合计100")
    assert result(k, "m", {}) == ("通过", "")


def test_non_decreasing(k):
    assert k.formula("check.nd") == 'IFERROR(IF(AND((p2+0)>=(p1+0),(t+0)>=(p2+0)),"通过","警告"),"警告")'
    assert k.formula("detail.nd") == f'IF(check.nd="通过","",IFERROR("依次为"&p1&"、"&p2&"、"&t,"{NOT_A_NUMBER}"))'
    assert result(k, "nd", {"p1": 1, "p2": 2, "t": 2}) == ("通过", "")  # equal neighbours are not a decrease
    assert result(k, "nd", {"p1": 1, "p2": 3, "t": 2}) == ("警告", "依次为1、3、2")
    assert result(k, "nd", {"p1": 1, "t": 2}) == ("警告", "依次为1、、2")  # a blank is 0
    assert result(k, "nd", {"p1": 0.1 + 0.2, "p2": 0.3, "t": 1}) == ("通过", "")  # 0.30000000000000004 ≤ 0.3


def test_at_least_yes(k):
    count = '((IF(y1="是",1,0)+IF(y2="是",1,0))+IF(y3="是",1,0))'
    assert k.formula("check.y") == f'IFERROR(IF({count}>=2,"通过","警告"),"警告")'
    assert k.formula("detail.y") == (
        f'IF(check.y="通过","",IFERROR("已选择"&{count}&"个，至少应选择"&"2"&"个","{NOT_A_NUMBER}"))')
    assert result(k, "y", {"y1": "是", "y2": "是", "y3": "否"}) == ("通过", "")
    assert result(k, "y", {"y1": "是", "y2": "否"}) == ("警告", "已选择1个，至少应选择2个")
    assert result(k, "y", {}) == ("警告", "已选择0个，至少应选择2个")


def test_required_and_usable_numbers(k):
    assert k.formula("check.required_1") == 'IFERROR(IF(AND(n<>""),"通过","错误"),"错误")'
    assert k.formula("detail.required_1") == (
        f'IF(check.required_1="通过","",IFERROR("未填写："&IF(n="","基础“人数”；",""),"{NOT_A_NUMBER}"))')
    assert k.formula("check.numbers_1") == (
        'IFERROR(IF(AND(ISNUMBER(t+0),ISNUMBER(p1+0),ISNUMBER(p2+0),ISNUMBER(n+0)),"通过","错误"),"错误")')
    assert k.formula("detail.numbers_1") == (
        'IF(check.numbers_1="通过","",IFERROR("以下填写项不是数值（请只填写数字，不带单位、不用全角数字）："'
        '&IF(ISNUMBER(t+0),"","基础“合计”；")&IF(ISNUMBER(p1+0),"","基础“基本支出”；")'
        f'&IF(ISNUMBER(p2+0),"","基础“项目支出”；")&IF(ISNUMBER(n+0),"","基础“人数”；"),"{NOT_A_NUMBER}"))')
    assert result(k, "required_1", {}) == ("错误", "未填写：基础“人数”；")
    assert result(k, "required_1", {"n": 0}) == ("通过", "")  # 0 is filled in
    assert result(k, "required_2", {}) == ("错误", "未填写：测试指标“得分（0～5分）”；")  # a rule's input
    assert result(k, "numbers_1", {"n": "55"}) == ("通过", "")
    assert result(k, "numbers_1", {"n": "55人", "p2": "1317.55"}) == (
        "错误", "以下填写项不是数值（请只填写数字，不带单位、不用全角数字）：基础“人数”；")
    # full-width digits are #VALUE! in LibreOffice and the engine; the formulas oracle reads them
    # with Python's float() as 12, so this one is the engine's alone
    v = k.values({"p1": "１２"})
    assert (v["check.numbers_1"], v["detail.numbers_1"]) == (
        "错误", "以下填写项不是数值（请只填写数字，不带单位、不用全角数字）：基础“基本支出”；")


def test_counts_and_status(k):
    v = k.agree({"n": 3, "k": 5, "y1": "是", "y2": "是"})
    assert (v["checks.errors"], v["checks.warnings"], v["checks.status"]) == (0, 0, "错误 0 项，警告 0 项：可以报送")
    v = k.agree({"n": 3, "k": 5, "y1": "是", "y2": "是", "t": 100, "p1": 100, "p2": 0})  # p2 < p1: 逐项不减
    assert (v["checks.errors"], v["checks.warnings"], v["checks.summary"]) == (0, 1, "错误0项，警告1项")
    assert v["checks.status"] == "错误 0 项，警告 1 项：可以报送（请在评分表中逐项写明警告的原因）"
    v = k.agree({"y1": "是"})  # two sheets' required fields blank, one 是 short
    assert (v["checks.errors"], v["checks.warnings"]) == (2, 1)
    assert v["checks.status"] == "错误 2 项，警告 1 项：须修正全部错误后方可报送"


def test_check_in_the_form_file(kit):
    k = kit(fields=FIELDS, rule=MANUAL, form_checks="[{id: f, kind: at_most, level: 错误, value: p1, limit: t, message: 不超过}]")
    assert result(k, "f", {"t": 1, "p1": 2}) == ("错误", "基本支出2，大于合计1")


def test_check_mistakes(refuse):
    def problem(check: str, form: bool = False) -> tuple[str, str]:
        e = refuse(fields=FIELDS, rule=MANUAL, **{"form_checks" if form else "checks": f"[{check}]"})
        return e.where, e.problem

    assert problem("{id: x, kind: sum, level: 错误, total: t, parts: [p1], message: m}") == (
        "kit.yaml.checks[0].kind", "未知的审核类型 “sum”，可用：sum_equals、equals、at_most、non_decreasing、at_least_yes")
    assert problem("{id: x, kind: equals, level: 提示, left: t, right: p1, message: m}") == (
        "kit.yaml.checks[0].level", "应为“错误”或“警告”，实际为 “提示”")
    assert problem("{id: x, kind: equals, level: 错误, left: t, right: p3, message: m}", form=True) == (
        "kit-form.yaml.checks[0].right", "引用的字段或计算项 “p3” 不存在")
    assert problem("{id: x, kind: sum_equals, level: 错误, total: t, parts: [p1, q], message: m}") == (
        "kit.yaml.checks[0].parts[1]", "引用的字段或计算项 “q” 不存在")
    assert problem("{id: x, kind: sum_equals, level: 错误, total: t, parts: p1, message: m}") == (
        "kit.yaml.checks[0].parts", "应为列表，实际为 文本 “p1”")
    assert problem("{id: x, kind: non_decreasing, level: 警告, values: [p1], message: m}") == (
        "kit.yaml.checks[0].values", "至少需要两个值")
    assert problem("{id: x, kind: at_least_yes, level: 警告, values: [y1, y2], count: 1.5, message: m}") == (
        "kit.yaml.checks[0].count", "应为整数，实际为 数值 1.5")
    assert problem("{id: x, kind: at_most, level: 警告, value: p1, limit: t}") == (
        "kit.yaml.checks[0]", "缺少必需的键 “message”")
    assert problem("{id: x, kind: at_most, level: 警告, value: p1, limit: t, message: m, tolerance: 1}") == (
        "kit.yaml.checks[0]", "未知的键 “tolerance”")
    assert problem("{id: required_1, kind: at_most, level: 警告, value: p1, limit: t, message: m}") == (
        "kit.yaml.checks[0].id", "审核 id “required_1” 重复")  # a generated check's id is taken


def test_check_id_twice(refuse):
    twice = "[{id: x, kind: at_most, level: 警告, value: p1, limit: t, message: a}, " \
            "{id: x, kind: equals, level: 错误, left: t, right: p1, message: b}]"
    e = refuse(fields=FIELDS, rule=MANUAL, checks=twice)
    assert (e.where, e.problem) == ("kit.yaml.checks[1].id", "审核 id “x” 重复")


def test_checks_agree_on_random_inputs(k):
    from hypothesis import strategies as st
    from kinds_kit import agree_on_random_inputs, typed_number

    answer = st.sampled_from([None, "是", "否"])
    amount = typed_number(2, 200)
    agree_on_random_inputs(k, st.fixed_dictionaries({
        "t": amount, "p1": amount, "p2": amount, "y1": answer, "y2": answer, "y3": answer,
        "n": st.one_of(typed_number(0, 50), st.sampled_from(["55人", "12", " 12 "])),
    }), examples=40)
