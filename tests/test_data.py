"""Data files for `jixiao fill` / `jixiao score`: strict, and every message names the file, the
field id and label, what was expected and what was found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jixiao.data import DataError, load_data, read_data_file, validate_data
from jixiao.framework.loader import load_framework
from jixiao.samples import sample_path


@pytest.fixture(scope="module")
def fw():
    return load_framework()


def issues(fw, data: dict, source: str = "data.yaml") -> list[str]:
    with pytest.raises(DataError) as err:
        validate_data(fw, data, source)
    assert str(err.value) == "\n".join(str(i) for i in err.value.issues)
    assert all(i.source == source for i in err.value.issues)
    return [str(i) for i in err.value.issues]


# --------------------------------------------------------------------------- values

def test_unknown_field_with_suggestion(fw):
    assert issues(fw, {"unit_nam": "福田"}) == [
        "data.yaml：字段 unit_nam：框架 shenzhen-district-2021 中没有这个字段（是否为 unit_name？）"]


def test_unknown_field_without_suggestion(fw):
    assert issues(fw, {"xyzzy": 1}) == ["data.yaml：字段 xyzzy：框架 shenzhen-district-2021 中没有这个字段"]


def test_word_where_a_number_belongs(fw):
    assert issues(fw, {"procurement_plan": "四百"}) == [
        "data.yaml：字段 procurement_plan：“政府采购计划（预算）金额合计数”应为不小于0的数值（单位：万元），"
        "实际为 文本 “四百”"]


def test_numeric_text_is_not_a_number(fw):
    # "437.35" quoted in the file is text: refused rather than guessed
    assert issues(fw, {"procurement_plan": "437.35"}) == [
        "data.yaml：字段 procurement_plan：“政府采购计划（预算）金额合计数”应为不小于0的数值（单位：万元），"
        "实际为 文本 “437.35”"]


def test_yes_no_where_a_number_belongs(fw):
    assert issues(fw, {"procurement_plan": True}) == [
        "data.yaml：字段 procurement_plan：“政府采购计划（预算）金额合计数”应为不小于0的数值（单位：万元），"
        "实际为 是/否值 True"]


def test_negative_amount(fw):
    assert issues(fw, {"procurement_plan": -1}) == [
        "data.yaml：字段 procurement_plan：“政府采购计划（预算）金额合计数”应为不小于0的数值（单位：万元），"
        "实际为 数值 -1（小于0）"]


def test_count_not_whole(fw):
    assert issues(fw, {"staff_quota": 12.5}) == [
        "data.yaml：字段 staff_quota：“核定编制数（含工勤人员）”应为不小于0的整数，实际为 数值 12.5"]


def test_whole_float_count_is_accepted(fw):
    assert validate_data(fw, {"staff_quota": 13.0}) == {"staff_quota": 13}


def test_percent_above_one(fw):
    # 95 meant as 95%: a percent is a fraction, 0.95
    assert issues(fw, {"satisfaction_rate": 95}) == [
        "data.yaml：字段 satisfaction_rate：“公众或服务对象满意度”应为0%～100%之间的百分比，实际为 数值 95（大于1）"]
    assert validate_data(fw, {"satisfaction_rate": 0.95}) == {"satisfaction_rate": 0.95}


def test_score_above_points(fw):
    assert issues(fw, {"effectiveness": 26}) == [
        "data.yaml：字段 effectiveness：“效果性自评得分（0～25分）”应为不小于0、不大于25的数值，实际为 数值 26（大于25）"]


def test_year_not_four_digits(fw):
    assert issues(fw, {"year": 21}) == ["data.yaml：字段 year：“评价年度”应为四位年份，实际为 数值 21"]


def test_yes_no_answered_y(fw):
    assert issues(fw, {"classified_unit": "Y"}) == [
        "data.yaml：字段 classified_unit：“是否涉密单位（按规定不需公开预决算信息）”应为“是”或“否”，实际为 文本 “Y”"]


@pytest.mark.parametrize("value, stored", [("是", "是"), ("否", "否"), (True, "是"), (False, "否")])
def test_yes_no_accepted(fw, value, stored):
    assert validate_data(fw, {"classified_unit": value}) == {"classified_unit": stored}


def test_choice_not_among_options(fw):
    assert issues(fw, {"disclosure_budget": "按规定内容、时限、范围公布"}) == [
        "data.yaml：字段 disclosure_budget：“部门预算公开”应为以下之一：按规定内容、时限、范围公开；"
        "已公开，但不符合时限、内容、范围等要求；未公开，实际为 文本 “按规定内容、时限、范围公布”"
        "（是否为“按规定内容、时限、范围公开”？）"]


def test_choice_without_close_option(fw):
    (msg,) = issues(fw, {"disclosure_budget": 1.5})
    assert msg == ("data.yaml：字段 disclosure_budget：“部门预算公开”应为以下之一：按规定内容、时限、范围公开；"
                   "已公开，但不符合时限、内容、范围等要求；未公开，实际为 数值 1.5")


def test_choice_hint_does_not_invert_the_answer(fw):
    (msg,) = issues(fw, {"disclosure_budget": "已公开"})
    assert "是否为“未公开”" not in msg


def test_list_value_described_in_chinese(fw):
    (msg,) = issues(fw, {"unit_name": ["福田"]})
    assert msg.startswith("data.yaml：字段 unit_name：“单位名称”应为文本，实际为 ") and "list" not in msg


def test_every_problem_listed_at_once(fw):
    msgs = issues(fw, {"unit_nam": "x", "staff_quota": 1.5, "classified_unit": "Y", "year": 2021})
    assert [m.split("：")[1] for m in msgs] == ["字段 unit_nam", "字段 staff_quota", "字段 classified_unit"]


def test_blank_values_are_left_empty(fw):
    assert validate_data(fw, {"unit_code": None, "phone": "", "year": 2021}) == {"year": 2021}


# --------------------------------------------------------------------------- files

def test_yaml_file(fw, tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("unit_name: 福田\nyear: 2021\nclassified_unit: 否\nstaff_quota: 13\n", encoding="utf-8")
    assert load_data(fw, path) == {"unit_name": "福田", "year": 2021, "classified_unit": "否", "staff_quota": 13}


def test_json_file(fw, tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"unit_name": "福田", "year": 2021, "satisfaction_rate": 0.95}, ensure_ascii=False),
                    encoding="utf-8")
    assert load_data(fw, path) == {"unit_name": "福田", "year": 2021, "satisfaction_rate": 0.95}


def test_json_file_with_bom(fw, tmp_path):
    path = tmp_path / "d.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"year": 2021}).encode())
    assert load_data(fw, path) == {"year": 2021}


def test_sample_as_json_scores_the_same(fw, tmp_path):
    from jixiao.engine import score

    data = load_data(fw, sample_path("longgang"))
    path = tmp_path / "longgang.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert score(fw, load_data(fw, path)).total == 96.94


def test_messages_name_the_file(fw, tmp_path):
    path = tmp_path / "d.json"
    path.write_text('{"staff_quota": 1.5}', encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_data(fw, path)
    assert str(err.value) == f"{path}：字段 staff_quota：“核定编制数（含工勤人员）”应为不小于0的整数，实际为 数值 1.5"


def _file_error(path: Path) -> str:
    with pytest.raises(DataError) as err:
        read_data_file(path)
    (issue,) = err.value.issues
    assert issue.source == str(path) and issue.field_id == ""
    return str(err.value)


def test_yaml_syntax_error(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("unit_name: 福田\nyear: [2021\nphone: 1\n", encoding="utf-8")
    assert _file_error(path) == f"{path}：YAML 格式错误：第3行第6列 expected ',' or ']', but got ':'"


def test_json_syntax_error(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('{"unit_name": "福田",\n "year": 2021,}', encoding="utf-8")
    msg = _file_error(path)
    assert msg.startswith(f"{path}：JSON 格式错误：第2行第")


def test_yaml_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("- unit_name\n- year\n", encoding="utf-8")
    assert _file_error(path) == f"{path}：内容应为“字段 id: 值”的映射"


def test_json_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "d.json"
    path.write_text("[1, 2]", encoding="utf-8")
    assert _file_error(path) == f"{path}：内容应为“字段 id: 值”的映射"


def test_scalar_file_is_not_a_mapping(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("福田\n", encoding="utf-8")
    assert _file_error(path) == f"{path}：内容应为“字段 id: 值”的映射"


def test_empty_file_is_no_data(fw, tmp_path):
    # An empty (or comments-only) file is an empty mapping: nothing filled in, no error here;
    # the workbook's 审核 then lists the required fields left blank.
    for text in ("", "# nothing yet\n"):
        path = tmp_path / "d.yaml"
        path.write_text(text, encoding="utf-8")
        assert read_data_file(path) == {}
        assert load_data(fw, path) == {}


def test_missing_file(tmp_path):
    assert _file_error(tmp_path / "none.yaml") == f"{tmp_path / 'none.yaml'}：文件不存在"


def test_not_utf8(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_bytes("unit_name: 福田\n".encode("gbk"))
    assert _file_error(path) == f"{path}：文件不是 UTF-8 编码的文本"


def test_samples_are_valid(fw):
    for name in ("futian", "longgang"):
        data = load_data(fw, sample_path(name))
        assert data["year"] == 2021 and data["unit_name"].startswith("深圳市")
