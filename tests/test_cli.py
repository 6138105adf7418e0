"""The `jixiao` command, run in-process with click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from openpyxl import load_workbook

from jixiao.cli import main
from jixiao.framework.loader import builtin_path, load_framework
from jixiao.samples import sample_path

FRAMEWORKS = Path(__file__).parent / "frameworks"


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, [str(a) for a in args])

    return invoke


@pytest.fixture(scope="module")
def fields_json():
    result = CliRunner().invoke(main, ["fields", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def cell_of(fields_json, fid: str) -> tuple[str, str]:
    sheet, coord = next(f["cell"] for f in fields_json if f["id"] == fid).split("!")
    return sheet, coord


# --------------------------------------------------------------------------- template

def test_template_prefills_unit_and_year(run, tmp_path, fields_json):
    out = tmp_path / "t.xlsx"
    result = run("template", "-o", out, "--unit", "深圳市测试局", "--year", 2022)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"已生成 {out}（框架 shenzhen-district-2021 版本 2021.1，21 个三级指标）\n"
    wb = load_workbook(out)
    for fid, value in (("unit_name", "深圳市测试局"), ("year", 2022)):
        sheet, coord = cell_of(fields_json, fid)
        assert sheet == "基本信息"
        assert wb[sheet][coord].value == value
    # nothing else is filled in
    sheet, coord = cell_of(fields_json, "preparer")
    assert wb[sheet][coord].value is None


def test_template_without_prefill(run, tmp_path, fields_json):
    out = tmp_path / "t.xlsx"
    assert run("template", "-o", out).exit_code == 0
    wb = load_workbook(out)
    for fid in ("unit_name", "year"):
        sheet, coord = cell_of(fields_json, fid)
        assert wb[sheet][coord].value is None


def test_template_year_out_of_range(run, tmp_path):
    result = run("template", "-o", tmp_path / "t.xlsx", "--year", 21)
    assert result.exit_code == 2
    assert "--year" in result.output
    assert not (tmp_path / "t.xlsx").exists()


def test_template_with_framework_file(run, tmp_path):
    out = tmp_path / "t.xlsx"
    result = run("template", "-o", out, "--framework", FRAMEWORKS / "reweighted.yaml")
    assert result.exit_code == 0, result.output
    assert "框架 test-reweighted 版本 test.1" in result.stdout
    assert out.exists()


# --------------------------------------------------------------------------- fill

def test_fill_sample(run, tmp_path, fields_json):
    out = tmp_path / "futian.xlsx"
    result = run("fill", sample_path("futian"), "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"已生成 {out}：总得分 94.79（优），审核：错误0项，警告2项\n"
    sheet, coord = cell_of(fields_json, "unit_name")
    assert load_workbook(out)[sheet][coord].value == "深圳市福田区政务服务中心"


def test_fill_bad_data_writes_nothing(run, tmp_path):
    data = tmp_path / "bad.yaml"
    data.write_text("unit_nam: 福田\nstaff_quota: 12.5\nclassified_unit: Y\n", encoding="utf-8")
    out = tmp_path / "bad.xlsx"
    result = run("fill", data, "-o", out)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "数据文件有误，未生成工作簿（3 处）：\n"
        f"  {data}：字段 unit_nam：框架 shenzhen-district-2021 中没有这个字段（是否为 unit_name？）\n"
        f"  {data}：字段 staff_quota：“核定编制数（含工勤人员）”应为不小于0的整数，实际为 数值 12.5\n"
        f"  {data}：字段 classified_unit：“是否涉密单位（按规定不需公开预决算信息）”应为“是”或“否”，实际为 文本 “Y”\n"
    )
    assert "Traceback" not in result.output
    assert not out.exists()


def test_fill_unreadable_data_file(run, tmp_path):
    data = tmp_path / "bad.yaml"
    data.write_text("year: [2021\nphone: 1\n", encoding="utf-8")
    result = run("fill", data, "-o", tmp_path / "bad.xlsx")
    assert result.exit_code == 1
    assert result.stderr == f"数据文件有误，未生成工作簿（1 处）：\n  {data}：YAML 格式错误：第2行第6列 expected ',' or ']', but got ':'\n"
    assert not (tmp_path / "bad.xlsx").exists()


def test_fill_missing_data_file(run, tmp_path):
    result = run("fill", tmp_path / "none.yaml", "-o", tmp_path / "x.xlsx")
    assert result.exit_code == 1
    assert f"{tmp_path / 'none.yaml'}：文件不存在" in result.stderr
    assert not (tmp_path / "x.xlsx").exists()


# --------------------------------------------------------------------------- fields

def test_fields_json_lists_every_field(fields_json):
    fw = load_framework()
    assert [f["id"] for f in fields_json] and {f["id"] for f in fields_json} == set(fw.fields)
    assert len(fields_json) == len(fw.fields)
    sheets = {s.name for s in fw.form.sheets} | {"评分要素", "评分表"}
    cells = set()
    for f in fields_json:
        assert set(f) == {"id", "label", "type", "unit", "required", "cell"}
        sheet, coord = f["cell"].split("!")
        assert sheet in sheets, f
        assert coord[0].isalpha() and coord[-1].isdigit(), f
        assert f["label"] == fw.fields[f["id"]].label
        cells.add(f["cell"])
    assert len(cells) == len(fields_json)  # one cell per field


def test_fields_json_examples(fields_json):
    by_id = {f["id"]: f for f in fields_json}
    assert by_id["unit_name"] == {"id": "unit_name", "label": "单位名称", "type": "text", "unit": "",
                                  "required": True, "cell": by_id["unit_name"]["cell"]}
    assert by_id["unit_name"]["cell"].startswith("基本信息!")
    assert by_id["procurement_plan"]["unit"] == "万元"
    assert by_id["effectiveness"]["type"] == "score"
    assert by_id["effectiveness"]["cell"].startswith("评分要素!")


def test_fields_table(run):
    result = run("fields")
    assert result.exit_code == 0, result.output
    assert "unit_name" in result.stdout and "基本信息!" in result.stdout


# --------------------------------------------------------------------------- score

def test_score_json_longgang(run):
    result = run("score", "--json", sample_path("longgang"))
    assert result.exit_code == 0, result.output
    card = json.loads(result.stdout)
    assert card["total"] == 96.94
    assert card["grade"] == "优"
    assert card["framework_id"] == "shenzhen-district-2021"
    assert len(card["indicators"]) == 21
    assert round(sum(i["score"] for i in card["indicators"]), 2) == 96.94
    assert "values" not in card


def test_score_json_futian(run):
    card = json.loads(run("score", "--json", sample_path("futian")).stdout)
    assert card["total"] == 94.79


def test_score_with_framework_file(run):
    result = run("score", "--json", "--framework", FRAMEWORKS / "execution-rate.yaml", sample_path("futian"))
    assert result.exit_code == 0, result.output
    card = json.loads(result.stdout)
    assert card["framework_id"] == "test-execution-rate"
    assert card["total"] == 94.61


def test_score_table(run):
    result = run("score", sample_path("longgang"))
    assert result.exit_code == 0, result.output
    assert "96.94" in result.stdout


def test_score_bad_data(run, tmp_path):
    data = tmp_path / "bad.json"
    data.write_text('{"satisfaction_rate": 95}', encoding="utf-8")
    result = run("score", data)
    assert result.exit_code == 1
    assert result.stderr == ("数据文件有误：\n  "
                             f"{data}：字段 satisfaction_rate：“公众或服务对象满意度”应为0%～100%之间的百分比，实际为 数值 95（大于1）\n")


# --------------------------------------------------------------------------- --framework errors

def _broken_framework(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(builtin_path("shenzhen-district-2021").read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _one_line_error(result, expected: str) -> None:
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"Error: 框架文件有误：{expected}\n"
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("command", [["template", "-o", "x.xlsx"], ["fields", "--json"], ["score", "DATA"],
                                     ["fill", "DATA", "-o", "x.xlsx"]])
def test_bad_framework_one_line_error(run, tmp_path, command):
    fw = _broken_framework(tmp_path, lambda d: d["level1"][0].update(points=21))
    args = [str(sample_path("futian")) if a == "DATA" else str(tmp_path / a) if a.endswith(".xlsx") else a
            for a in command]
    result = run(*args, "--framework", fw)
    _one_line_error(result, "broken.yaml.level1[0]：一级指标“部门决策”的参考分值为 21，但下级分值之和为 10+10 = 20")
    assert not (tmp_path / "x.xlsx").exists()


def test_framework_yaml_syntax_error(run, tmp_path):
    fw = tmp_path / "bad.yaml"
    fw.write_text("id: x\n  bad: [\n", encoding="utf-8")
    result = run("score", "--framework", fw, sample_path("futian"))
    _one_line_error(result, f"{fw} 第2行第6列：YAML 格式错误：mapping values are not allowed here")


def test_framework_missing_file(run, tmp_path):
    result = run("fields", "--framework", tmp_path / "none.yaml")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: 框架文件有误：{tmp_path / 'none.yaml'}：无法读取文件")
    assert result.stderr.count("\n") == 1


def test_framework_unknown_builtin(run):
    result = run("fields", "--framework", "shenzhen-district-2099")
    _one_line_error(result, "shenzhen-district-2099：没有这个内置框架，也没有这个文件")


def test_framework_without_grades_one_line_error(run, tmp_path):
    fw = _broken_framework(tmp_path, lambda d: d.update(grades=[]))
    result = run("fields", "--framework", fw)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: 框架文件有误：broken.yaml.grades：")
