"""Broken framework files get one precise FrameworkError: the file, the place inside it (指标 id
and key path) and the problem.  Each case is the built-in framework (or form) loaded as plain
data, broken in one place, and written to tmp_path as broken.yaml."""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
import yaml

from jixiao.framework.loader import builtin_path, load_framework
from jixiao.framework.spec import FrameworkError

FORM = "shenzhen-form-2021"

# where the loader says an indicator is (the key path, then the indicator's id and name)
RATIONALITY = "broken.yaml.level1[0].level2[0].indicators[0] 指标 budget_rationality（预算编制合理性）"
DISCLOSURE = "broken.yaml.level1[1].level2[0].indicators[2] 指标 disclosure（预决算信息公开）"
ASSETS = "broken.yaml.level1[1].level2[2].indicators[1] 指标 fixed_asset_utilisation（固定资产利用率）"
EXECUTION = "broken.yaml.level1[2].level2[1].indicators[0] 指标 budget_execution（预算执行率）"


@cache
def _builtin(name: str) -> dict:
    return yaml.safe_load(builtin_path(name).read_text(encoding="utf-8"))


def framework_data() -> dict:
    return copy.deepcopy(_builtin("shenzhen-district-2021"))


def form_data() -> dict:
    return copy.deepcopy(_builtin(FORM))


def indicator(data: dict, iid: str) -> dict:
    return next(i for l1 in data["level1"] for l2 in l1["level2"] for i in l2["indicators"] if i["id"] == iid)


def dump(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def error(tmp_path: Path, mutate: Callable[[dict], object] | None = None,
          mutate_form: Callable[[dict], object] | None = None) -> str:
    """The FrameworkError message for the built-in framework broken by `mutate` (and its form
    by `mutate_form`: the broken form is written beside the framework, which finds it first)."""
    data = framework_data()
    if mutate:
        mutate(data)
    if mutate_form:
        form = form_data()
        mutate_form(form)
        dump(tmp_path / f"{FORM}.yaml", form)
    with pytest.raises(FrameworkError) as err:
        load_framework(dump(tmp_path / "broken.yaml", data))
    return str(err.value)


def test_unbroken_copy_loads(tmp_path):
    fw = load_framework(dump(tmp_path / "copy.yaml", framework_data()))
    assert fw.id == "shenzhen-district-2021" and len(fw.indicators) == 21


# --------------------------------------------------------------------------- points

def test_level2_points_do_not_add_up(tmp_path):
    msg = error(tmp_path, lambda d: d["level1"][0]["level2"][0].update(points=11))
    assert msg == "broken.yaml.level1[0].level2[0]：二级指标“预算编制”的参考分值为 11，但下级分值之和为 5+5 = 10"


def test_level2_points_do_not_add_up_after_indicator_change(tmp_path):
    def mutate(d):
        indicator(d, "target_completeness")["points"] = 4
        indicator(d, "target_completeness")["rule"]["per"] = 1
    msg = error(tmp_path, mutate)
    assert msg == "broken.yaml.level1[0].level2[1]：二级指标“目标设置”的参考分值为 10，但下级分值之和为 4+7 = 11"


def test_level1_points_do_not_add_up(tmp_path):
    msg = error(tmp_path, lambda d: d["level1"][0].update(points=21))
    assert msg == "broken.yaml.level1[0]：一级指标“部门决策”的参考分值为 21，但下级分值之和为 10+10 = 20"


def test_total_points_do_not_add_up(tmp_path):
    msg = error(tmp_path, lambda d: d.update(total_points=90))
    assert msg == "broken.yaml：框架总分的参考分值为 90，但下级分值之和为 20+20+60 = 100"


def test_points_not_a_number(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "budget_rationality").update(points="五"))
    assert msg == f"{RATIONALITY}.points：应为数值，实际为 文本 “五”"


def test_checklist_items_do_not_add_up(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "budget_rationality")["rule"]["items"][0].update(points=2))
    assert msg == f"{RATIONALITY}.rule.items：各项分值之和 6 不等于参考分值 5"


def test_sum_parts_do_not_add_up(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "financial_compliance")["rule"]["parts"][1].update(points=2))
    assert msg == ("broken.yaml.level1[1].level2[0].indicators[1] 指标 financial_compliance（财务合规性）"
                   ".rule.parts：各部分分值之和 4 不等于参考分值 3")


def test_choice_best_option_is_not_the_points(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "disclosure")["rule"]["parts"][0]["options"][0].update(score=2))
    assert msg == f"{DISCLOSURE}.rule.parts[0].options：最高档应等于分值 1.5 且各档不小于0"


def test_choice_options_not_descending(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "disclosure")["rule"]["parts"][0]["options"].reverse())
    assert msg == f"{DISCLOSURE}.rule.parts[0].options：各档应按得分从高到低排列"


def test_choice_without_options(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "disclosure")["rule"]["parts"][0].update(options=[]))
    assert msg.startswith(f"{DISCLOSURE}.rule.parts[0].options：")


def test_quarterly_points_do_not_add_up(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "budget_execution")["rule"].update(annual_points=3))
    assert msg == f"{EXECUTION}.rule：季度分与全年分之和 7 不等于参考分值 6"


# --------------------------------------------------------------------------- tiers

def test_tier_thresholds_out_of_order(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "fixed_asset_utilisation")["rule"]["bands"].reverse())
    assert msg == f"{ASSETS}.rule.bands：各档阈值应从大到小排列"


def test_tier_thresholds_out_of_order_ascending(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "contract_staff_control")["rule"]["bands"].reverse())
    assert msg == ("broken.yaml.level1[1].level2[3].indicators[1] 指标 contract_staff_control（编外人员控制率）"
                   ".rule.bands：各档阈值应从小到大排列")


def test_tier_bands_mix_directions(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "fixed_asset_utilisation")["rule"]["bands"][1].update(op="<"))
    assert msg == f"{ASSETS}.rule.bands：各档的比较方向应一致（都用 < / <=，或都用 > / >=）"


def test_tier_score_above_points(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "fixed_asset_utilisation")["rule"]["bands"][0].update(score=2))
    assert msg == f"{ASSETS}.rule.bands：各档得分应在 0～1 之间"


def test_tier_unknown_operator(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "fixed_asset_utilisation")["rule"]["bands"][0].update(op="≥"))
    assert msg == f"{ASSETS}.rule.bands[0].op：应为 <、<=、>、>= 之一，实际为 “≥”"


def test_tiers_without_bands(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "fixed_asset_utilisation")["rule"].update(bands=[]))
    assert msg.startswith(f"{ASSETS}.rule.bands：") and "方向" not in msg


# --------------------------------------------------------------------------- references, kinds, keys, ids

def test_rule_references_unknown_field(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "fixed_asset_utilisation")["rule"].update(value="asset_utilization"))
    assert msg == f"{ASSETS}.rule.value：引用的字段或计算项 “asset_utilization” 不存在"


def test_measure_references_unknown_field(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "fixed_asset_utilisation")["measures"][0].update(num="fa_total_inuse"))
    assert msg == f"{ASSETS}.measures[0].num：引用的字段或计算项 “fa_total_inuse” 不存在"


def test_quarterly_references_unknown_measure(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "budget_execution")["rule"]["progress"].__setitem__(3, "q5_progress"))
    assert msg == f"{EXECUTION}.rule.progress[3]：引用的字段或计算项 “q5_progress” 不存在"


def test_framework_check_references_unknown_field(tmp_path):
    msg = error(tmp_path, lambda d: d["checks"][0]["values"].append("effect_cultural"))
    assert msg == "broken.yaml.checks[0].values[4]：引用的字段或计算项 “effect_cultural” 不存在"


def test_rule_value_must_be_numeric(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "fixed_asset_utilisation")["rule"].update(value="unit_name"))
    assert msg.startswith(f"{ASSETS}.rule.value：") and "unit_name" in msg


def test_unknown_rule_kind(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "fixed_asset_utilisation")["rule"].update(kind="tier"))
    assert msg == (f"{ASSETS}.rule.kind：未知的规则类型 “tier”，"
                   "可用：checklist、deduction、choice、manual、tiers、rate、limit、quarterly、sum")


def test_unknown_measure_kind(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "fixed_asset_utilisation")["measures"][0].update(kind="ratios"))
    assert msg == f"{ASSETS}.measures[0].kind：未知的计算项类型 “ratios”，可用：ratio、declared_or_difference"


def test_rate_above_one_invalid(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "project_timeliness")["rule"].update(above_one="clip"))
    assert msg == ("broken.yaml.level1[2].level2[1].indicators[2] 指标 project_timeliness（项目完成及时性）"
                   ".rule.above_one：应为 zero 或 cap，实际为 “clip”")


def test_unknown_key_typo(tmp_path):
    # a typo beside the right key: refused, not ignored
    msg = error(tmp_path, lambda d: indicator(d, "budget_rationality").update(pionts=5))
    assert msg == f"{RATIONALITY}：未知的键 “pionts”"


def test_typo_instead_of_required_key(tmp_path):
    # the typo instead of the key: the required key is missing
    def mutate(d):
        ind = indicator(d, "budget_rationality")
        ind["pionts"] = ind.pop("points")
    msg = error(tmp_path, mutate)
    assert msg == f"{RATIONALITY}：缺少必需的键 “points”（是否把 “pionts” 写错了？）"


def test_typo_in_level2(tmp_path):
    def mutate(d):
        l2 = d["level1"][0]["level2"][0]
        l2["pionts"] = l2.pop("points")
    assert error(tmp_path, mutate) == "broken.yaml.level1[0].level2[0]：缺少必需的键 “points”（是否把 “pionts” 写错了？）"


def test_typo_in_optional_top_level_key(tmp_path):
    msg = error(tmp_path, lambda d: d.update(score_decimal=2))
    assert msg == "broken.yaml：未知的键 “score_decimal”"


def test_typo_in_band(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "fixed_asset_utilisation")["rule"]["bands"][0].update(scroe=1))
    assert msg == f"{ASSETS}.rule.bands[0]：未知的键 “scroe”"


def test_duplicate_indicator_id(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "budget_compliance").update(id="budget_rationality"))
    assert msg == ("broken.yaml.level1[0].level2[0].indicators[1] 指标 budget_rationality（预算编制规范性）"
                   ".id：指标 id “budget_rationality” 重复")


def test_indicator_id_clashes_with_form_field(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "effectiveness").update(id="unit_name"))
    assert msg == ("broken.yaml.level1[2].level2[2].indicators[0] 指标 unit_name（社会、经济、生态效益及可持续影响等）"
                   ".rule：字段 id “unit_name” 重复（已在 基本信息“单位基本信息”中）")


def test_duplicate_level2_name(tmp_path):
    msg = error(tmp_path, lambda d: d["level1"][1]["level2"][1].update(name="预算编制"))
    assert "预算编制" in msg and "重复" in msg


def test_duplicate_yaml_key(tmp_path):
    text = builtin_path("shenzhen-district-2021").read_text(encoding="utf-8")
    text = text.replace("            name: 预算编制合理性\n",
                        "            name: 预算编制合理性\n            name: 预算编制规范性\n", 1)
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FrameworkError) as err:
        load_framework(path)
    assert "name" in str(err.value)


# --------------------------------------------------------------------------- grades

def test_grades_not_descending(tmp_path):
    msg = error(tmp_path, lambda d: d["grades"].reverse())
    assert msg == "broken.yaml.grades：等级下限应从高到低排列且互不相同"


def test_grades_not_distinct(tmp_path):
    msg = error(tmp_path, lambda d: d["grades"][1].update(min=90))
    assert msg == "broken.yaml.grades：等级下限应从高到低排列且互不相同"


def test_lowest_grade_not_zero(tmp_path):
    msg = error(tmp_path, lambda d: d["grades"][-1].update(min=10))
    assert msg == "broken.yaml.grades：最低等级的下限应为 0，否则低分没有等级"


def test_lowest_grade_negative(tmp_path):
    msg = error(tmp_path, lambda d: d["grades"][-1].update(min=-10))
    assert msg == "broken.yaml.grades：最低等级的下限应为 0，否则低分没有等级"


def test_no_grades(tmp_path):
    msg = error(tmp_path, lambda d: d.update(grades=[]))
    assert msg.startswith("broken.yaml.grades：")


# --------------------------------------------------------------------------- quarterly

def test_quarterly_schedule_length_mismatch(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "budget_execution")["rule"].update(schedule=[0.25, 0.5, 1.0]))
    assert msg == f"{EXECUTION}.rule.schedule：序时进度的个数应与支出进度的个数相同"


def test_quarterly_schedule_not_increasing(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "budget_execution")["rule"].update(schedule=[0.5, 0.25, 0.75, 1.0]))
    assert msg == f"{EXECUTION}.rule.schedule：序时进度应大于0且逐期递增"


def test_quarterly_without_quarters(tmp_path):
    msg = error(tmp_path, lambda d: indicator(d, "budget_execution")["rule"].update(progress=[], schedule=[]))
    assert msg.startswith(f"{EXECUTION}.rule") and "个数应与" not in msg


# --------------------------------------------------------------------------- files

def test_yaml_syntax_error_names_line_and_column(tmp_path):
    text = builtin_path("shenzhen-district-2021").read_text(encoding="utf-8")
    lines = text.splitlines()
    n = lines.index("            points: 5")  # budget_rationality, line n + 1
    lines[n] = "            points: [5"
    path = tmp_path / "broken.yaml"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(FrameworkError) as err:
        load_framework(path)
    # the parser notices the unclosed [ on the next line
    assert str(err.value) == f"{path} 第{n + 2}行第24列：YAML 格式错误：expected ',' or ']', but got ':'"


def test_yaml_tab_indentation(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: x\ntitle: y\n\tversion: 1\n", encoding="utf-8")
    with pytest.raises(FrameworkError) as err:
        load_framework(path)
    assert str(err.value).startswith(f"{path} 第3行第1列：YAML 格式错误：")


def test_file_not_a_mapping(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(FrameworkError) as err:
        load_framework(path)
    assert str(err.value) == f"{path}：文件内容应为映射（键: 值）"


def test_missing_framework_file(tmp_path):
    with pytest.raises(FrameworkError) as err:
        load_framework(tmp_path / "nothing.yaml")
    assert str(err.value).startswith(f"{tmp_path / 'nothing.yaml'}：无法读取文件")


def test_unknown_builtin_name():
    with pytest.raises(FrameworkError) as err:
        load_framework("shenzhen-district-2099")
    assert str(err.value) == "shenzhen-district-2099：没有这个内置框架，也没有这个文件"


def test_missing_form(tmp_path):
    msg = error(tmp_path, lambda d: d.update(form="shenzhen-form-2099"))
    assert msg == "broken.yaml.form：找不到基础数据表定义 “shenzhen-form-2099”（shenzhen-form-2099.yaml）"


def test_form_beside_the_framework_is_used(tmp_path):
    form = form_data()
    form["title"] = "本地表"
    dump(tmp_path / f"{FORM}.yaml", form)
    assert load_framework(dump(tmp_path / "local.yaml", framework_data())).form.title == "本地表"


# --------------------------------------------------------------------------- form checks

def test_form_check_references_unknown_field(tmp_path):
    msg = error(tmp_path, mutate_form=lambda f: f["checks"][0].update(total="src_totl_initial"))
    assert msg == f"{FORM}.yaml.checks[0].total：引用的字段或计算项 “src_totl_initial” 不存在"


def test_form_check_part_references_unknown_field(tmp_path):
    msg = error(tmp_path, mutate_form=lambda f: f["checks"][0]["parts"].append("src_lottery_initial"))
    assert msg == f"{FORM}.yaml.checks[0].parts[8]：引用的字段或计算项 “src_lottery_initial” 不存在"


def test_form_check_bad_level(tmp_path):
    msg = error(tmp_path, mutate_form=lambda f: f["checks"][0].update(level="严重"))
    assert msg == f"{FORM}.yaml.checks[0].level：应为“错误”或“警告”，实际为 “严重”"


def test_form_check_unknown_kind(tmp_path):
    msg = error(tmp_path, mutate_form=lambda f: f["checks"][0].update(kind="sum_equal"))
    assert msg == (f"{FORM}.yaml.checks[0].kind：未知的审核类型 “sum_equal”，"
                   "可用：sum_equals、equals、at_most、non_decreasing、at_least_yes")


def test_duplicate_check_id(tmp_path):
    msg = error(tmp_path, lambda d: d["checks"][0].update(id="sources_initial"))
    assert msg == "broken.yaml.checks[0].id：审核 id “sources_initial” 重复"


def test_form_unknown_field_type(tmp_path):
    msg = error(tmp_path, mutate_form=lambda f: f["sheets"][0]["tables"][0]["fields"][2].update(type="date"))
    assert msg.startswith(f"{FORM}.yaml.sheets[0].tables[0].fields[2].type：未知的字段类型 “date”，可用：")
