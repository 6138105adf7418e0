"""Rule kinds scored from the unit's own judgements: checklist, deduction, choice, manual --
each from a YAML snippet: formula text, values (engine == formulas oracle), explanation,
and the validation message for its typical mistakes."""

from __future__ import annotations

from kinds_kit import RULE_AT, assert_cases

CHECKLIST = """
kind: checklist
items:
  - {label: 甲, points: 2}
  - {label: 乙, points: 3, input: score}
"""


def test_checklist_formulas(kit):
    k = kit(rule=CHECKLIST)
    assert k.score_formula == 'ROUND(MIN(MAX(IF(k_1="是",2,0)+MIN(MAX(k_2+0,0),3),0),5),2)'
    assert k.text_formula == (
        'IF(k_1="是","","第1项“甲”未达到，扣2分。")'
        '&IF(ROUND(3-ROUND(MIN(MAX(k_2+0,0),3),2),2)>0,"第2项“乙”"&"扣"&ROUND(3-ROUND(MIN(MAX(k_2+0,0),3),2),2)&"分。","")')
    assert [(f.id, f.label, f.type, f.required, f.maximum) for f in k.rule.judgements()] == [
        ("k_1", "1. 甲（2分）", "yesno", True, None), ("k_2", "2. 乙（3分）", "score", True, 3.0)]


def test_checklist_values(kit):
    assert_cases(kit(rule=CHECKLIST), [
        ({"k_1": "是", "k_2": 3}, 5, ""),
        ({"k_1": "否", "k_2": 3}, 3, "第1项“甲”未达到，扣2分。"),
        ({}, 0, "第1项“甲”未达到，扣2分。第2项“乙”扣3分。"),  # blank is not 是, and scores 0
        ({"k_1": "是", "k_2": 2.5}, 4.5, "第2项“乙”扣0.5分。"),
        ({"k_1": "是", "k_2": 2.99}, 4.99, "第2项“乙”扣0.01分。"),  # just under the item's points
        ({"k_1": "是", "k_2": 3.5}, 5, ""),  # above the item's points: capped there
        ({"k_1": "是", "k_2": -1}, 2, "第2项“乙”扣3分。"),  # below 0: 0
        ({"k_1": "是", "k_2": "2.5"}, 4.5, "第2项“乙”扣0.5分。"),  # a number stored as text counts
        ({"k_1": "是", "k_2": "2.5分"}, "#VALUE!", "#VALUE!"),  # text the formulas cannot compute
        ({"k_1": "是 ", "k_2": 3}, 3, "第1项“甲”未达到，扣2分。"),  # only 是 itself is 是
        ({"k_1": "是", "k_2": 2.555}, 4.56, "第2项“乙”扣0.44分。"),  # the loss of the score as shown
    ])


def test_checklist_single_item_has_no_number(kit):
    k = kit(points=5, rule="{kind: checklist, items: [{label: 甲, points: 5}]}")
    assert k.score_formula == 'ROUND(MIN(MAX(IF(k_1="是",5,0),0),5),2)'
    assert k.text_formula == 'IF(k_1="是","","“甲”未达到，扣5分。")'
    assert k.rule.judgements()[0].label == "甲（5分）"
    assert_cases(k, [({"k_1": "是"}, 5, ""), ({"k_1": "否"}, 0, "“甲”未达到，扣5分。")])


def test_checklist_mistakes(refuse):
    e = refuse(points=5, rule="{kind: checklist, items: [{label: 甲, points: 2}, {label: 乙, points: 2}]}")
    assert (e.where, e.problem) == (f"{RULE_AT}.items", "各项分值之和 4 不等于参考分值 5")
    e = refuse(points=2, rule="{kind: checklist, items: [{label: 甲, points: 2, input: number}]}")
    assert (e.where, e.problem) == (f"{RULE_AT}.items[0].input", "应为 yesno 或 score，实际为 “number”")
    e = refuse(points=2, rule="{kind: checklist, items: [{label: 甲, points: 2, input: yes}]}")  # YAML: true
    assert (e.where, e.problem) == (f"{RULE_AT}.items[0].input", "应为文本，实际为 是/否值 True")
    e = refuse(points=2, rule="{kind: checklist, items: [{label: 甲, points: 2}, {label: 乙, points: 0}]}")
    assert (e.where, e.problem) == (f"{RULE_AT}.items[1].points", "分值应大于0，实际为 0")
    e = refuse(points=2, rule="{kind: checklist, items: [{label: 甲, pionts: 2}]}")
    assert (e.where, e.problem) == (f"{RULE_AT}.items[0]", "缺少必需的键 “points”（是否把 “pionts” 写错了？）")
    e = refuse(points=2, rule="{kind: checklist, items: [{label: 甲, points: 两分}]}")
    assert (e.where, e.problem) == (f"{RULE_AT}.items[0].points", "应为数值，实际为 文本 “两分”")
    e = refuse(points=2, rule="{kind: checklist, items: {label: 甲, points: 2}}")
    assert (e.where, e.problem) == (f"{RULE_AT}.items", "应为列表，实际为 映射")
    e = refuse(points=2, rule="{kind: checklist, items: [{label: 甲, points: 2, note: x}]}")
    assert (e.where, e.problem) == (f"{RULE_AT}.items[0]", "未知的键 “note”")
    e = refuse(points=2, rule="{kind: checklists, items: []}")
    assert e.where == f"{RULE_AT}.kind"
    assert e.problem.startswith("未知的规则类型 “checklists”，可用：checklist、deduction、choice、manual")


DEDUCTION = "{kind: deduction, per: 1, count_label: 不符合事项数}"


def test_deduction_formulas(kit):
    k = kit(points=3, rule=DEDUCTION)
    assert k.score_formula == "ROUND(MIN(MAX(MAX(3-(1*(k_count+0)),0),0),3),2)"
    assert k.text_formula == ('IF((k_count+0)>0,"不符合事项数"&(k_count+0)&"项，每项扣"&"1"&"分，扣"'
                              '&ROUND(MIN(1*(k_count+0),3),2)&"分。","")')
    (field,) = k.rule.judgements()
    assert (field.id, field.label, field.type, field.required) == ("k_count", "不符合事项数（每项扣1分）", "count", True)


def test_deduction_values(kit):
    assert_cases(kit(points=3, rule=DEDUCTION), [
        ({}, 3, ""),  # blank: nothing counted (the 审核 sheet reports the blank)
        ({"k_count": 0}, 3, ""),
        ({"k_count": 1}, 2, "不符合事项数1项，每项扣1分，扣1分。"),
        ({"k_count": 3}, 0, "不符合事项数3项，每项扣1分，扣3分。"),  # exactly all points
        ({"k_count": 5}, 0, "不符合事项数5项，每项扣1分，扣3分。"),  # 扣完为止: never below 0
        ({"k_count": "2"}, 1, "不符合事项数2项，每项扣1分，扣2分。"),
        ({"k_count": "两项"}, "#VALUE!", "#VALUE!"),
    ])
    assert_cases(kit(points=3, rule="{kind: deduction, per: 0.5, count_label: 问题数}"), [
        ({"k_count": 1}, 2.5, "问题数1项，每项扣0.5分，扣0.5分。"),
        ({"k_count": 6}, 0, "问题数6项，每项扣0.5分，扣3分。"),
        ({"k_count": 7}, 0, "问题数7项，每项扣0.5分，扣3分。"),
    ])


def test_deduction_mistakes(refuse):
    e = refuse(points=3, rule="{kind: deduction, per: 0, count_label: 问题数}")
    assert (e.where, e.problem) == (f"{RULE_AT}.per", "分值应大于0，实际为 0")
    e = refuse(points=3, rule="{kind: deduction, per: 1}")
    assert (e.where, e.problem) == (RULE_AT, "缺少必需的键 “count_label”")
    e = refuse(points=3, rule="{kind: deduction, per: [1], count_label: 问题数}")
    assert (e.where, e.problem) == (f"{RULE_AT}.per", "应为数值，实际为 列表")


CHOICE = """
kind: choice
label: 预算公开
options:
  - {label: 公开, score: 1.5}
  - {label: 部分公开, score: 1}
  - {label: 未公开, score: 0}
"""


def test_choice_formulas(kit):
    k = kit(points=1.5, rule=CHOICE)
    assert k.score_formula == 'ROUND(MIN(MAX(IF(k="公开",1.5,IF(k="部分公开",1,IF(k="未公开",0,0))),0),1.5),2)'
    assert k.text_formula == ('IF(k="公开","","预算公开"&"："&IF(k="","未填写",k)&"，得"'
                              '&IF(k="公开",1.5,IF(k="部分公开",1,IF(k="未公开",0,0)))&"分。")')
    (field,) = k.rule.judgements()
    assert (field.id, field.type, field.options) == ("k", "choice", ("公开", "部分公开", "未公开"))


def test_choice_values(kit):
    assert_cases(kit(points=1.5, rule=CHOICE), [
        ({"k": "公开"}, 1.5, ""),
        ({"k": "部分公开"}, 1, "预算公开：部分公开，得1分。"),
        ({"k": "未公开"}, 0, "预算公开：未公开，得0分。"),
        ({}, 0, "预算公开：未填写，得0分。"),
        ({"k": "其他"}, 0, "预算公开：其他，得0分。"),  # not an option: the lowest, said as typed
        ({"k": 1.5}, 0, "预算公开：1.5，得0分。"),  # a number is no option
    ])


def test_choice_mistakes(refuse):
    e = refuse(points=1.5, rule="{kind: choice, options: [{label: 公开, score: 1.5}]}")
    assert (e.where, e.problem) == (RULE_AT, "缺少必需的键 “label”")
    e = refuse(points=1.5, rule="{kind: choice, label: 公开, options: []}")
    assert (e.where, e.problem) == (f"{RULE_AT}.options", "至少需要一个选项")
    e = refuse(points=2, rule="{kind: choice, label: 公开, options: [{label: 是, score: 1.5}, {label: 否, score: 0}]}")
    assert (e.where, e.problem) == (f"{RULE_AT}.options", "最高档应等于分值 2 且各档不小于0")
    e = refuse(points=2, rule="{kind: choice, label: 公开, options: [{label: 是, score: 2}, {label: 否, score: -1}]}")
    assert (e.where, e.problem) == (f"{RULE_AT}.options", "最高档应等于分值 2 且各档不小于0")
    e = refuse(points=2, rule="{kind: choice, label: 公开, options: [{label: 否, score: 0}, {label: 是, score: 2}]}")
    assert (e.where, e.problem) == (f"{RULE_AT}.options", "各档应按得分从高到低排列")
    e = refuse(points=2, rule="{kind: choice, label: 公开, options: [{label: 是}]}")
    assert (e.where, e.problem) == (f"{RULE_AT}.options[0]", "缺少必需的键 “score”")


MANUAL = "{kind: manual, score_label: 效果性得分}"


def test_manual_formulas(kit):
    k = kit(points=6, rule=MANUAL)
    assert k.score_formula == "ROUND(MIN(MAX(MIN(MAX(k+0,0),6),0),6),2)"
    assert k.text_formula == ('IF(ROUND(6-ROUND(MIN(MAX(k+0,0),6),2),2)>0,"效果性得分"&ROUND(MIN(MAX(k+0,0),6),2)'
                              '&"分，酌情扣"&ROUND(6-ROUND(MIN(MAX(k+0,0),6),2),2)&"分。","")')
    (field,) = k.rule.judgements()
    assert (field.id, field.label, field.type, field.minimum, field.maximum) == (
        "k", "效果性得分（0～6分）", "score", 0.0, 6.0)


def test_manual_values(kit):
    assert_cases(kit(points=6, rule=MANUAL), [
        ({"k": 6}, 6, ""),
        ({"k": 5.99}, 5.99, "效果性得分5.99分，酌情扣0.01分。"),
        ({"k": 5.5}, 5.5, "效果性得分5.5分，酌情扣0.5分。"),
        ({}, 0, "效果性得分0分，酌情扣6分。"),
        ({"k": 0}, 0, "效果性得分0分，酌情扣6分。"),
        ({"k": 7}, 6, ""),  # above the points: capped
        ({"k": -1}, 0, "效果性得分0分，酌情扣6分。"),
        ({"k": "6分"}, "#VALUE!", "#VALUE!"),
        # more decimals than a score shows: the text says what the 得分 column says
        ({"k": 5.555}, 5.56, "效果性得分5.56分，酌情扣0.44分。"),
        ({"k": 5.994}, 5.99, "效果性得分5.99分，酌情扣0.01分。"),
        ({"k": 5.996}, 6, ""),
    ])


def test_manual_mistakes(refuse):
    e = refuse(points=6, rule="{kind: manual}")
    assert (e.where, e.problem) == (RULE_AT, "缺少必需的键 “score_label”")
    e = refuse(points=6, rule="{kind: manual, score_label: 得分, per: 1}")
    assert (e.where, e.problem) == (RULE_AT, "未知的键 “per”")


def test_judgement_kinds_agree_on_random_inputs(kit):
    from hypothesis import strategies as st
    from kinds_kit import agree_on_random_inputs, typed_number

    answer = st.sampled_from([None, "是", "否", "", "其他"])
    agree_on_random_inputs(kit(rule=CHECKLIST), st.fixed_dictionaries({"k_1": answer, "k_2": typed_number(3, 4)}))
    agree_on_random_inputs(kit(points=3, rule=DEDUCTION), st.fixed_dictionaries({"k_count": typed_number(0, 10)}))
    agree_on_random_inputs(kit(points=1.5, rule=CHOICE),
                           st.fixed_dictionaries({"k": st.sampled_from([None, "公开", "部分公开", "未公开", "其他"])}))
    agree_on_random_inputs(kit(points=6, rule=MANUAL), st.fixed_dictionaries({"k": typed_number(3, 8)}))
