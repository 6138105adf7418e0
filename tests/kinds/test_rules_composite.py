"""The sum rule: parts of other kinds added up, with a veto (一票否决) and a full-points
condition (full_if) -- formula text, values (engine == formulas oracle), explanation, the
inputs it asks for and the validation messages."""

from __future__ import annotations

from kinds_kit import RULE_AT, assert_cases

FIELDS = "[{id: secret, label: 是否涉密单位, type: yesno}]"
PARTS = """
  - {id: a, points: 2, kind: checklist, items: [{label: 制度健全, points: 2}]}
  - {id: b, points: 3, kind: deduction, per: 1, count_label: 问题数}
"""
SUM = f"""
kind: sum
parts: {PARTS}
veto: {{label: 发生重大违纪违法问题}}
full_if: {{field: secret, label: 涉密单位，本项指标得满分}}
"""
A_SCORE, B_SCORE = 'IF(k_a_1="是",2,0)', "MAX(3-(1*(k_b_count+0)),0)"
A_TEXT = 'IF(k_a_1="是","","“制度健全”未达到，扣2分。")'
B_TEXT = 'IF((k_b_count+0)>0,"问题数"&(k_b_count+0)&"项，每项扣"&"1"&"分，扣"&ROUND(MIN(1*(k_b_count+0),3),2)&"分。","")'


def test_sum_of_parts(kit):
    k = kit(points=5, rule=f"kind: sum\nparts: {PARTS}")
    assert k.score_formula == f"ROUND(MIN(MAX({A_SCORE}+{B_SCORE},0),5),2)"
    assert k.text_formula == f"{A_TEXT}&{B_TEXT}"
    # the parts' inputs, each id prefixed by the indicator's and the part's
    assert [f.id for f in k.rule.judgements()] == ["k_a_1", "k_b_count"]
    assert_cases(k, [
        ({"k_a_1": "是", "k_b_count": 0}, 5, ""),
        ({"k_a_1": "否", "k_b_count": 1}, 2, "“制度健全”未达到，扣2分。问题数1项，每项扣1分，扣1分。"),
        ({"k_a_1": "是", "k_b_count": 9}, 2, "问题数9项，每项扣1分，扣3分。"),  # a part stops at its own 0
    ])


def test_sum_with_veto_and_full_if(kit):
    k = kit(fields=FIELDS, points=5, rule=SUM)
    assert k.score_formula == (f'ROUND(MIN(MAX(IF(k_veto="是",0,IF(secret="是",5,{A_SCORE}+{B_SCORE})),0),5),2)')
    assert k.text_formula == ('IF(k_veto="是","发生重大违纪违法问题，本项指标得0分。",'
                              f'IF(secret="是","涉密单位，本项指标得满分。",{A_TEXT}&{B_TEXT}))')
    veto = k.rule.judgements()[-1]
    assert (veto.id, veto.label, veto.type, veto.required) == (
        "k_veto", "是否发生重大违纪违法问题（是则本项指标得0分）", "yesno", True)
    # the score depends on the full_if field, so a blank there is an error on the 审核 sheet
    assert k.fw.fields["secret"].required
    assert_cases(k, [
        ({"k_a_1": "是", "k_b_count": 0, "k_veto": "否"}, 5, ""),
        ({"k_a_1": "否", "k_b_count": 1, "k_veto": "否", "secret": "否"}, 2,
         "“制度健全”未达到，扣2分。问题数1项，每项扣1分，扣1分。"),
        ({"k_a_1": "是", "k_b_count": 0, "k_veto": "是"}, 0, "发生重大违纪违法问题，本项指标得0分。"),
        ({"k_a_1": "否", "k_b_count": 3, "secret": "是"}, 5, "涉密单位，本项指标得满分。"),
        ({"k_veto": "是", "secret": "是"}, 0, "发生重大违纪违法问题，本项指标得0分。"),  # the veto wins
        ({}, 3, "“制度健全”未达到，扣2分。"),  # blank veto is no veto
    ])


def test_sum_readings_are_the_parts(kit):
    k = kit(fields="[{id: rate, label: 控制率, type: percent, max: 2}]", points=3, rule="""
kind: sum
parts:
  - {id: a, points: 2, kind: checklist, items: [{label: 甲, points: 2}]}
  - {id: b, points: 1, kind: limit, value: rate, limit: 1, per_point: 0.5}
""")
    assert k.rule.readings() == ["控制率不超过100%得1分；超过的，每超过1个百分点扣0.5分（按比例计算，不取整），扣完为止。"]
    assert_cases(k, [({"k_a_1": "是", "rate": 1.01}, 2.5, "控制率101.00%，超过100%，每超过1个百分点扣0.5分，得0.5分。")])


def test_sum_mistakes(refuse):
    def problem(rule: str, points: float = 5) -> tuple[str, str]:
        e = refuse(fields=FIELDS, points=points, rule=rule)
        return e.where, e.problem

    assert problem(f"kind: sum\nparts: {PARTS}", points=6) == (f"{RULE_AT}.parts", "各部分分值之和 5 不等于参考分值 6")
    assert problem("""
kind: sum
parts:
  - {id: a, points: 2, kind: checklist, items: [{label: 甲, points: 2}]}
  - {id: a, points: 3, kind: manual, score_label: 乙}
""") == (f"{RULE_AT}.parts[1].id", "部分 id “a” 重复")
    assert problem("""
kind: sum
parts:
  - {id: a, kind: checklist, items: [{label: 甲, points: 5}]}
""") == (f"{RULE_AT}.parts[0]", "缺少必需的键 “points”")
    assert problem("""
kind: sum
parts:
  - {id: a, points: 5, kind: checklist, items: [{label: 甲, points: 4}]}
""") == (f"{RULE_AT}.parts[0].items", "各项分值之和 4 不等于参考分值 5")  # a part's own check, at its path
    where, text = problem("""
kind: sum
parts:
  - {points: 5, kind: manual, score_label: 甲}
""")
    # (the message goes on with a misleading typo hint, “kind”: difflib finds "id" close to it)
    assert where == f"{RULE_AT}.parts[0]" and text.startswith("缺少必需的键 “id”")
    assert problem(f"kind: sum\nparts: {PARTS}\nveto: {{text: 违纪}}") == (f"{RULE_AT}.veto", "缺少必需的键 “label”")
    assert problem(f"kind: sum\nparts: {PARTS}\nveto: 违纪") == (f"{RULE_AT}.veto", "应为映射，实际为 文本 “违纪”")
    assert problem(f"kind: sum\nparts: {PARTS}\nfull_if: {{field: classified, label: 涉密}}") == (
        f"{RULE_AT}.full_if.field", "引用的字段或计算项 “classified” 不存在")
    assert problem(f"kind: sum\nparts: {PARTS}\nfull_if: {{field: secret}}") == (
        f"{RULE_AT}.full_if", "缺少必需的键 “label”")
