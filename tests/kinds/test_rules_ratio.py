"""Rule kinds scored from a measured value: tiers, rate, limit, quarterly -- formula text,
values at and just off every boundary (engine == formulas oracle), explanation, readings
and validation messages."""

from __future__ import annotations

from kinds_kit import RULE_AT, assert_cases

FIELDS = """
- {id: plan, label: 计划数}
- {id: done, label: 完成数}
- {id: rate, label: 满意度, type: percent, max: 2}
- {id: note, label: 说明, type: text}
"""
RATIO = "[{id: r, kind: ratio, label: 完成率, num: done, den: plan, zero_den: {both_zero: 1, num_only: 999, note: 计划数为0}}]"
#: the explanation of the ratio r, which a rule on r starts with
R_TEXT = ('IF((plan+0)=0,IF((done+0)=0,"计划数为0且完成数为0，完成率按100%计","计划数为0但完成数不为0，完成率按超过100%计"),'
          '"完成率"&"="&done&"万元"&"/"&plan&"万元"&"="&TEXT(r,"0.00%"))')

TIERS_DOWN = "{kind: tiers, value: r, bands: [{op: '>=', at: 0.9, score: 2}, {op: '>=', at: 0.8, score: 1}], otherwise: 0}"


def test_tiers_formulas(kit):
    k = kit(fields=FIELDS, measures=RATIO, points=2, rule=TIERS_DOWN)
    assert k.score_formula == "ROUND(MIN(MAX(IF(r>=0.9,2,IF(r>=0.8,1,0)),0),2),2)"
    assert k.text_formula == R_TEXT + '&IF(r>=0.9,"，≥90%，得2分。",IF(r>=0.8,"，≥80%，得1分。","，<80%，得0分。"))'


def test_tiers_values_at_boundaries(kit):
    assert_cases(kit(fields=FIELDS, measures=RATIO, points=2, rule=TIERS_DOWN), [
        ({"done": 9, "plan": 10}, 2, "完成率=9万元/10万元=90.00%，≥90%，得2分。"),
        # 27.9/31 is 0.8999999999999999 in binary: 0.9 at 15 significant digits, on the boundary
        ({"done": 27.9, "plan": 31}, 2, "完成率=27.9万元/31万元=90.00%，≥90%，得2分。"),
        ({"done": 89.99995, "plan": 100}, 1, "完成率=89.99995万元/100万元=90.00%，≥80%，得1分。"),  # just under
        ({"done": 5.6, "plan": 7}, 1, "完成率=5.6万元/7万元=80.00%，≥80%，得1分。"),  # 0.7999999999999999
        ({"done": 7.99, "plan": 10}, 0, "完成率=7.99万元/10万元=79.90%，<80%，得0分。"),
        ({"done": 12, "plan": 10}, 2, "完成率=12万元/10万元=120.00%，≥90%，得2分。"),
        ({}, 2, "计划数为0且完成数为0，完成率按100%计，≥90%，得2分。"),  # zero_den both_zero: 100%
        ({"plan": 0, "done": 3}, 2, "计划数为0但完成数不为0，完成率按超过100%计，≥90%，得2分。"),
        ({"plan": "十", "done": 3}, "#VALUE!", "#VALUE!"),
    ])


def test_tiers_ascending_on_a_percent_field(kit):
    k = kit(fields=FIELDS, points=2,
            rule="{kind: tiers, value: rate, bands: [{op: '<', at: 0.6, score: 0}, {op: '<=', at: 0.8, score: 1}], "
                 "otherwise: 2}")
    assert k.score_formula == "ROUND(MIN(MAX(IF((rate+0)<0.6,0,IF((rate+0)<=0.8,1,2)),0),2),2)"
    assert k.text_formula == ('"满意度"&TEXT(rate,"0.00%")&IF((rate+0)<0.6,"，<60%，得0分。",'
                              'IF((rate+0)<=0.8,"，≤80%，得1分。","，>80%，得2分。"))')
    assert_cases(k, [
        ({"rate": 0.5999}, 0, "满意度59.99%，<60%，得0分。"),
        ({"rate": 0.6}, 1, "满意度60.00%，≤80%，得1分。"),
        ({"rate": 0.8}, 1, "满意度80.00%，≤80%，得1分。"),
        ({"rate": 0.8001}, 2, "满意度80.01%，>80%，得2分。"),
        ({"rate": "0.85"}, 2, "满意度85.00%，>80%，得2分。"),  # a number stored as text
        ({}, 0, "满意度0.00%，<60%，得0分。"),
    ])
    # "85%" typed as text is 0.85 in Excel's and LibreOffice's arithmetic, and in the engine; the
    # formulas oracle (vanilla coercion) makes it #VALUE!, so this one is the engine's alone
    assert (k.score({"rate": "85%"}), k.text({"rate": "85%"})) == (2, "满意度85.00%，>80%，得2分。")


def test_tiers_on_an_amount_shows_its_unit(kit):
    k = kit(fields=FIELDS, points=2, rule="{kind: tiers, value: plan, bands: [{op: '>', at: 10, score: 2}], otherwise: 0}")
    assert k.text_formula == '"计划数"&plan&"万元"&IF((plan+0)>10,"，>10，得2分。","，≤10，得0分。")'
    assert_cases(k, [({"plan": 10}, 0, "计划数10万元，≤10，得0分。"), ({"plan": 10.01}, 2, "计划数10.01万元，>10，得2分。")])


def test_tiers_mistakes(refuse):
    def tiers(bands: str, otherwise: float = 0, value: str = "r") -> str:
        return f"{{kind: tiers, value: {value}, bands: {bands}, otherwise: {otherwise}}}"

    def problem(rule: str) -> tuple[str, str]:
        e = refuse(fields=FIELDS, measures=RATIO, points=2, rule=rule)
        return e.where, e.problem

    assert problem(tiers("[{op: '>=', at: 0.8, score: 1}, {op: '>=', at: 0.9, score: 2}]")) == (
        f"{RULE_AT}.bands", "各档阈值应从大到小排列")
    assert problem(tiers("[{op: '<', at: 0.9, score: 0}, {op: '<', at: 0.8, score: 1}]", 2)) == (
        f"{RULE_AT}.bands", "各档阈值应从小到大排列")
    assert problem(tiers("[{op: '>=', at: 0.9, score: 2}, {op: '>=', at: 0.9, score: 1}]")) == (
        f"{RULE_AT}.bands", "各档阈值应从大到小排列")  # one threshold twice: the second band is dead
    assert problem(tiers("[{op: '>=', at: 0.9, score: 2}, {op: '<', at: 0.8, score: 1}]")) == (
        f"{RULE_AT}.bands", "各档的比较方向应一致（都用 < / <=，或都用 > / >=）")
    assert problem(tiers("[{op: '>=', at: 0.9, score: 3}]")) == (f"{RULE_AT}.bands", "各档得分应在 0～2 之间")
    assert problem(tiers("[{op: '>=', at: 0.9, score: 2}]", -1)) == (f"{RULE_AT}.bands", "各档得分应在 0～2 之间")
    assert problem(tiers("[]")) == (f"{RULE_AT}.bands", "至少需要一档（另加 otherwise 作为其余情况的得分）")
    assert problem(tiers("[{op: '=>', at: 0.9, score: 2}]")) == (
        f"{RULE_AT}.bands[0].op", "应为 <、<=、>、>= 之一，实际为 “=>”")
    assert problem(tiers("[{op: '>=', at: 90%, score: 2}]")) == (
        f"{RULE_AT}.bands[0].at", "应为数值，实际为 文本 “90%”")
    assert problem("{kind: tiers, value: r, bands: [{op: '>=', at: 0.9, score: 2}]}") == (
        RULE_AT, "缺少必需的键 “otherwise”")
    assert problem(tiers("[{op: '>=', at: 0.9, score: 2}]", value="ratio")) == (
        f"{RULE_AT}.value", "引用的字段或计算项 “ratio” 不存在")
    assert problem(tiers("[{op: '>=', at: 0.9, score: 2}]", value="note")) == (
        f"{RULE_AT}.value", "“note”（说明）不是数值型字段，不能用于tiers规则")


def test_rate_zero_above_one(kit):
    k = kit(fields=FIELDS, measures=RATIO, points=4, rule="{kind: rate, value: r, above_one: zero}")
    assert k.score_formula == "ROUND(MIN(MAX(IF(r>1,0,r*4),0),4),2)"
    assert k.text_formula == R_TEXT + '&IF(r>1,"，超过100%，得0分。","，得"&ROUND(IF(r>1,0,r*4),2)&"分。")'
    assert_cases(k, [
        ({"done": 10, "plan": 10}, 4, "完成率=10万元/10万元=100.00%，得4分。"),
        ({"done": 1000.0004, "plan": 1000}, 0, "完成率=1000.0004万元/1000万元=100.00%，超过100%，得0分。"),
        ({"done": 9.99, "plan": 10}, 4.0, "完成率=9.99万元/10万元=99.90%，得4分。"),  # 3.996 → 4.00
        ({"done": 9.9, "plan": 10}, 3.96, "完成率=9.9万元/10万元=99.00%，得3.96分。"),
        ({"done": 1, "plan": 3}, 1.33, "完成率=1万元/3万元=33.33%，得1.33分。"),
        ({}, 4, "计划数为0且完成数为0，完成率按100%计，得4分。"),
        ({"plan": 0, "done": 1}, 0, "计划数为0但完成数不为0，完成率按超过100%计，超过100%，得0分。"),
    ])


def test_rate_cap_above_one(kit):
    k = kit(fields=FIELDS, measures=RATIO, points=4, rule="{kind: rate, value: r, above_one: cap}")
    assert k.score_formula == "ROUND(MIN(MAX(MIN(r,1)*4,0),4),2)"
    assert k.text_formula == R_TEXT + '&"，得"&ROUND(MIN(r,1)*4,2)&"分。"'
    assert_cases(k, [
        ({"done": 12, "plan": 10}, 4, "完成率=12万元/10万元=120.00%，得4分。"),
        ({"done": 0.125, "plan": 1}, 0.5, "完成率=0.125万元/1万元=12.50%，得0.5分。"),
        ({"done": 0.12375, "plan": 1}, 0.5, "完成率=0.12375万元/1万元=12.38%，得0.5分。"),  # 0.495 half up
        ({"plan": 0, "done": 1}, 4, "计划数为0但完成数不为0，完成率按超过100%计，得4分。"),
    ])


def test_rate_mistakes(refuse):
    e = refuse(fields=FIELDS, measures=RATIO, points=4, rule="{kind: rate, value: r, above_one: ignore}")
    assert (e.where, e.problem) == (f"{RULE_AT}.above_one", "应为 zero 或 cap，实际为 “ignore”")
    e = refuse(fields=FIELDS, measures=RATIO, points=4, rule="{kind: rate, value: r}")
    assert (e.where, e.problem) == (RULE_AT, "缺少必需的键 “above_one”")
    e = refuse(fields=FIELDS, measures=RATIO, points=4, rule="{kind: rate, above_one: cap}")
    assert (e.where, e.problem) == (RULE_AT, "缺少必需的键 “value”")


LIMIT = "{kind: limit, value: rate, limit: 1, per_point: 0.1}"


def test_limit_formulas_and_reading(kit):
    k = kit(fields=FIELDS, points=1, rule=LIMIT)
    assert k.score_formula == "ROUND(MIN(MAX(IF((rate+0)<=1,1,MAX(1-((((rate+0)-1)*100)*0.1),0)),0),1),2)"
    assert k.text_formula == ('"满意度"&TEXT(rate,"0.00%")&IF((rate+0)<=1,"，未超过100%，得1分。",'
                              '"，超过100%，每超过1个百分点扣0.1分，得"'
                              '&ROUND(IF((rate+0)<=1,1,MAX(1-((((rate+0)-1)*100)*0.1),0)),2)&"分。")')
    assert k.rule.readings() == ["满意度不超过100%得1分；超过的，每超过1个百分点扣0.1分（按比例计算，不取整），扣完为止。"]


def test_limit_values(kit):
    assert_cases(kit(fields=FIELDS, points=1, rule=LIMIT), [
        ({"rate": 1}, 1, "满意度100.00%，未超过100%，得1分。"),
        ({"rate": 1.0000001}, 1, "满意度100.00%，超过100%，每超过1个百分点扣0.1分，得1分。"),  # over, by a hair
        ({"rate": 1.05}, 0.5, "满意度105.00%，超过100%，每超过1个百分点扣0.1分，得0.5分。"),  # proportional
        ({"rate": 1.1}, 0, "满意度110.00%，超过100%，每超过1个百分点扣0.1分，得0分。"),  # exactly all points
        ({"rate": 1.2}, 0, "满意度120.00%，超过100%，每超过1个百分点扣0.1分，得0分。"),  # 扣完为止
        ({}, 1, "满意度0.00%，未超过100%，得1分。"),
    ])


def test_limit_mistakes(refuse):
    e = refuse(fields=FIELDS, points=1, rule="{kind: limit, value: rate, limit: 1, per_point: -0.1}")
    assert (e.where, e.problem) == (f"{RULE_AT}.per_point", "分值应大于0，实际为 -0.1")
    e = refuse(fields=FIELDS, points=1, rule="{kind: limit, value: rate, limit: 100%, per_point: 0.1}")
    assert (e.where, e.problem) == (f"{RULE_AT}.limit", "应为数值，实际为 文本 “100%”")


QFIELDS = "[{id: q1, label: 上半年支出进度, type: percent, max: 2}, {id: q2, label: 全年支出进度, type: percent, max: 2}]"
QUARTERLY = "{kind: quarterly, progress: [q1, q2], schedule: [0.5, 1], quarter_points: 1, annual_points: 4}"


def test_quarterly_formulas_and_reading(kit):
    k = kit(fields=QFIELDS, points=6, rule=QUARTERLY)
    q1, q2 = "ROUND(MIN((q1+0)/0.5,1)*1,2)", "ROUND(MIN((q2+0)/1,1)*1,2)"
    mean = "(((q1+0)/0.5)+((q2+0)/1))/2"
    annual = f"ROUND(MIN(({mean})*4,4),2)"
    assert k.score_formula == f"ROUND(MIN(MAX(({q1}+{q2})+{annual},0),6),2)"
    assert k.text_formula == (f'"第1期支出进度"&TEXT(q1,"0.00%")&"（序时进度50%），得"&{q1}&"分；"'
                              f'&"第2期支出进度"&TEXT(q2,"0.00%")&"（序时进度100%），得"&{q2}&"分；"'
                              f'&"全年平均执行率"&TEXT({mean},"0.00%")&"，得"&{annual}&"分。"')
    assert k.rule.readings() == ["每期得分=MIN(支出进度÷序时进度,1)×1分，每期分别保留两位小数；"
                                 "全年得分=MIN(2期“支出进度÷序时进度”（不封顶）的平均数×4分, 4分)。"]


def test_quarterly_values(kit):
    def said(p1: str, s1: float, p2: str, s2: float, mean: str, annual: float) -> str:
        return (f"第1期支出进度{p1}（序时进度50%），得{s1:g}分；第2期支出进度{p2}（序时进度100%），得{s2:g}分；"
                f"全年平均执行率{mean}，得{annual:g}分。")

    assert_cases(kit(fields=QFIELDS, points=6, rule=QUARTERLY), [
        ({"q1": 0.5, "q2": 1}, 6, said("50.00%", 1, "100.00%", 1, "100.00%", 4)),
        ({"q1": 0.25, "q2": 0.9}, 4.2, said("25.00%", 0.5, "90.00%", 0.9, "70.00%", 2.8)),
        # ahead of schedule in the first period makes up for the second: the mean is not capped
        ({"q1": 0.6, "q2": 0.8}, 5.8, said("60.00%", 1, "80.00%", 0.8, "100.00%", 4)),
        ({"q1": 0.6, "q2": 1.2}, 6, said("60.00%", 1, "120.00%", 1, "120.00%", 4)),
        # each period rounded on its own: 0.999 → 1
        ({"q1": 0.4995, "q2": 0.995}, 5.99, said("49.95%", 1, "99.50%", 1, "99.70%", 3.99)),
        ({}, 0, said("0.00%", 0, "0.00%", 0, "0.00%", 0)),
    ])


def test_quarterly_four_quarters_are_named(kit):
    fields = [{"id": f"p{i}", "label": f"第{i}季度", "type": "percent"} for i in range(1, 5)]
    k = kit(fields=fields, points=8, rule="{kind: quarterly, progress: [p1, p2, p3, p4], "
                                           "schedule: [0.25, 0.5, 0.75, 1], quarter_points: 1, annual_points: 4}")
    values = k.agree({"p1": 0.2, "p2": 0.5, "p3": 0.75, "p4": 1})
    assert values["score.k"] == 7.6  # 0.8 + 1 + 1 + 1 + 4 × 0.95
    assert values["text.k"].startswith("一季度支出进度20.00%（序时进度25%），得0.8分；二季度支出进度50.00%")
    assert values["text.k"].endswith("全年平均执行率95.00%，得3.8分。")


def test_quarterly_mistakes(refuse):
    def problem(rule: str, points: float = 6) -> tuple[str, str]:
        e = refuse(fields=QFIELDS, points=points, rule=rule)
        return e.where, e.problem

    base = "kind: quarterly, quarter_points: 1, annual_points: 4"
    assert problem(f"{{{base}, progress: [q1, q2], schedule: [1]}}") == (
        f"{RULE_AT}.schedule", "序时进度的个数应与支出进度的个数相同")
    assert problem(f"{{{base}, progress: [q1, q2], schedule: [1, 0.5]}}") == (
        f"{RULE_AT}.schedule", "序时进度应大于0且逐期递增")
    assert problem(f"{{{base}, progress: [q1, q2], schedule: [0, 1]}}") == (
        f"{RULE_AT}.schedule", "序时进度应大于0且逐期递增")
    assert problem(f"{{{base}, progress: [], schedule: []}}", points=4) == (
        f"{RULE_AT}.progress", "至少需要一期支出进度")
    assert problem(f"{{{base}, progress: [q1, q3], schedule: [0.5, 1]}}") == (
        f"{RULE_AT}.progress[1]", "引用的字段或计算项 “q3” 不存在")
    assert problem(f"{{{base}, progress: [q1, q2], schedule: [0.5, 1]}}", points=7) == (
        RULE_AT, "季度分与全年分之和 6 不等于参考分值 7")
    assert problem(f"{{{base}, progress: q1, schedule: [1]}}") == (f"{RULE_AT}.progress", "应为列表，实际为 文本 “q1”")


def test_ratio_kinds_agree_on_random_inputs(kit):
    from hypothesis import strategies as st
    from kinds_kit import agree_on_random_inputs, typed_number

    amounts = st.fixed_dictionaries({"done": typed_number(4, 2000), "plan": typed_number(4, 2000)})
    rates = st.fixed_dictionaries({"rate": typed_number(4, 2)})
    for rule, points, inputs in [
        (TIERS_DOWN, 2, amounts),
        ("{kind: rate, value: r, above_one: zero}", 4, amounts),
        ("{kind: rate, value: r, above_one: cap}", 4, amounts),
        (LIMIT, 1, rates),
    ]:
        agree_on_random_inputs(kit(fields=FIELDS, measures=RATIO, points=points, rule=rule), inputs)
    quarters = st.fixed_dictionaries({"q1": typed_number(4, 1.5), "q2": typed_number(4, 1.5)})
    agree_on_random_inputs(kit(fields=QFIELDS, points=6, rule=QUARTERLY), quarters)


def test_tiers_on_an_indicator_input(kit):
    # an indicator's own inputs go on the 评分要素 sheet, counts by default, required once scored
    k = kit(points=2, inputs="[{id: k_staff, label: 超编人数}]",
            rule="{kind: tiers, value: k_staff, bands: [{op: '<=', at: 0, score: 2}, {op: '<=', at: 2, score: 1}], "
                 "otherwise: 0}")
    field = k.fw.fields["k_staff"]
    assert (field.type, field.sheet, field.section, field.required) == ("count", "评分要素", "测试指标", True)
    assert k.text_formula == ('"超编人数"&k_staff&IF((k_staff+0)<=0,"，≤0，得2分。",'
                              'IF((k_staff+0)<=2,"，≤2，得1分。","，>2，得0分。"))')
    assert_cases(k, [({"k_staff": 0}, 2, "超编人数0，≤0，得2分。"), ({"k_staff": 2}, 1, "超编人数2，≤2，得1分。"),
                     ({"k_staff": 3}, 0, "超编人数3，>2，得0分。"), ({}, 2, "超编人数，≤0，得2分。")])
