"""The framework is data: which fields identify a submission and which amounts bound the 元/万元
plausibility check are declared in the form file (`identity`, `plausibility`), and no field id
of the built-in form is written in Python.  A second form with OTHER field ids
(tests/frameworks/test-renamed-form.yaml, whose identity is not even its first table) gets the
same plausibility and blank-template checks, also after a LibreOffice recalculation."""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from jixiao.checker.check import check_file
from jixiao.cli import main
from jixiao.data import read_data_file, validate_data
from jixiao.engine import score
from jixiao.framework.loader import builtin_path, load_framework
from jixiao.framework.model import FIELD_TYPES, Framework
from jixiao.framework.spec import FrameworkError
from jixiao.libreoffice import recalculate
from jixiao.samples import sample_path
from jixiao.workbook.generator import build_workbook

SRC = Path(__file__).resolve().parents[1] / "src" / "jixiao"
MIGRATIONS = SRC / "importer" / "migrations"
FRAMEWORKS = Path(__file__).parent / "frameworks"
FORM = "shenzhen-form-2021"

# the database's own column names, defined where the schema is: not read from a form
SCHEMA_CALLS = frozenset({"Index", "Column", "mapped_column", "create_index", "UniqueConstraint"})
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# --------------------------------------------------------------------------- no Shenzhen ids in Python

def builtin_form_ids(fw: Framework) -> set[str]:
    """Every field id of the built-in form and framework, the computed items and the rows
    (whose ids make the table cells' ids)."""
    ids = set(fw.fields)
    for sheet in fw.form.sheets:
        for table in sheet.tables:
            ids |= {c.id for c in table.computed} | {r.id for r in table.rows}
    return ids


def _call_name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def string_tokens(source: str) -> Iterator[tuple[int, str]]:
    """(line, identifier) for every identifier-like word in the string literals of `source`,
    but docstrings and the arguments of schema definitions (Index("ix", "unit_name"))."""
    tree = ast.parse(source)
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))
        if isinstance(node, ast.Call) and _call_name(node.func) in SCHEMA_CALLS:
            skip |= {id(n) for arg in node.args for n in ast.walk(arg)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            for word in _TOKEN.findall(node.value):
                yield node.lineno, word


def leaks(source: str, ids: set[str]) -> list[tuple[int, str]]:
    # a field TYPE named like a field (`year`) is the type, not the field
    return [(line, word) for line, word in string_tokens(source) if word in ids and word not in FIELD_TYPES]


def test_the_scan_finds_a_field_id_and_passes_types_and_schema():
    ids = builtin_form_ids(load_framework())
    source = '''
"""A docstring may say use_total_adjusted."""
budget = inputs.get("use_total_adjusted")
label = f"{sheet}!{coord} unit_name"
if field.type == "year":
    pass
Index("ix_submissions_unit_year", "unit_name", "year")
sa.Column("unit_code", sa.Text)
'''
    assert leaks(source, ids) == [(3, "use_total_adjusted"), (4, "unit_name")]


def test_no_builtin_form_field_id_is_a_string_literal_in_src():
    ids = builtin_form_ids(load_framework())
    assert {"unit_name", "unit_code", "use_total_adjusted", "src_total_adjusted", "staff_quota"} <= ids
    found = []
    files = [p for p in sorted(SRC.rglob("*.py")) if MIGRATIONS not in p.parents]
    assert len(files) > 40
    for path in files:
        for line, word in leaks(path.read_text(encoding="utf-8"), ids):
            found.append(f"{path.relative_to(SRC)}:{line}: {word}")
    # and the add-in task pane script
    for path in sorted((SRC / "addin" / "static").glob("*.js")):
        for literal in re.findall(r"""(["'`])((?:\\.|(?!\1).)*)\1""", path.read_text(encoding="utf-8")):
            found += [f"{path.relative_to(SRC)}: {w}" for w in _TOKEN.findall(literal[1])
                      if w in ids and w not in FIELD_TYPES]
    assert found == [], "field ids of the built-in form written in code (declare them in the form YAML):\n" + \
        "\n".join(found)


# --------------------------------------------------------------------------- the built-in declarations

def test_builtin_form_declares_identity_and_plausibility():
    fw = load_framework()
    identity, rule = fw.form.identity, fw.form.plausibility
    assert (identity.unit, identity.year, identity.code) == ("unit_name", "year", "unit_code")
    # the blank-template test of before: the first table (单位基本信息) is not data
    assert set(identity.fields) == {f.id for f in fw.form.sheets[0].tables[0].fields}
    assert rule is not None and rule.budget == ("use_total_adjusted", "use_total_initial", "src_total_adjusted")
    assert (rule.times, rule.at_least) == (10, 1000)


# --------------------------------------------------------------------------- validation

@cache
def _form_text() -> str:
    return builtin_path(FORM).read_text(encoding="utf-8")


def form_error(tmp_path: Path, mutate) -> str:
    """The FrameworkError for the built-in framework whose form is broken by `mutate` (the
    broken form is written beside a copy of the framework, which finds it first)."""
    form = yaml.safe_load(_form_text())
    mutate(form)
    (tmp_path / f"{FORM}.yaml").write_text(yaml.safe_dump(form, allow_unicode=True, sort_keys=False), encoding="utf-8")
    framework = tmp_path / "broken.yaml"
    framework.write_bytes(builtin_path("shenzhen-district-2021").read_bytes())
    with pytest.raises(FrameworkError) as err:
        load_framework(framework)
    return str(err.value)


def _set(path: list, value):
    def mutate(form: dict) -> None:
        target = form
        for key in path[:-1]:
            target = target[key]
        if value is KeyError:
            del target[path[-1]]
        else:
            target[path[-1]] = copy.deepcopy(value)
    return mutate


@pytest.mark.parametrize("path, value, expected", [
    (["identity", "unit"], "unit_nam", ".identity.unit：引用的字段 “unit_nam” 不是本表的输入字段（是否为 unit_name？）"),
    (["identity", "year"], "staff_quota",
     ".identity.year：字段 “staff_quota”（核定编制数（含工勤人员））的类型为 count，这里应为 year"),
    (["identity", "details"], ["preparer", 12], ".identity.details[1]：应为字段 id（文本），实际为 数值 12"),
    (["identity", "details"], ["preparer", "telephone"],
     ".identity.details[1]：引用的字段 “telephone” 不是本表的输入字段（是否为 phone？）"),
    (["identity", "details"], ["preparer", "unit_name"], ".identity：字段 “unit_name” 出现了不止一次"),
    (["identity", "unti"], "unit_name", ".identity：未知的键 “unti”"),
    (["identity", "year"], KeyError, ".identity：缺少必需的键 “year”"),
    (["identity"], KeyError, "：缺少必需的键 “identity”"),
    (["plausibility", "budget", 1], "staff_quota",
     ".plausibility.budget[1]：字段 “staff_quota”（核定编制数（含工勤人员））的类型为 count，这里应为 amount"),
    (["plausibility", "budget", 2], "src_total_adjustd",
     ".plausibility.budget[2]：引用的字段 “src_total_adjustd” 不是本表的输入字段（是否为 src_total_adjusted？）"),
    (["plausibility", "budget"], [], ".plausibility.budget：至少需要一个字段 id"),
    (["plausibility", "times"], 1, ".plausibility.times：应为大于1的倍数，实际为 1"),
    (["plausibility", "at_least"], "一千", ".plausibility.at_least：应为数值，实际为 文本 “一千”"),
    (["plausibility", "above"], 100000, ".plausibility：未知的键 “above”"),
])
def test_a_broken_declaration_is_one_precise_error(tmp_path, path, value, expected):
    assert form_error(tmp_path, _set(path, value)) == f"{FORM}.yaml{expected}"


def test_a_form_without_plausibility_has_no_yuan_check(tmp_path):
    form = yaml.safe_load(_form_text())
    del form["plausibility"]
    (tmp_path / f"{FORM}.yaml").write_text(yaml.safe_dump(form, allow_unicode=True, sort_keys=False), encoding="utf-8")
    framework = tmp_path / "plain.yaml"
    framework.write_bytes(builtin_path("shenzhen-district-2021").read_bytes())
    fw = load_framework(framework)
    assert fw.form.plausibility is None
    data = futian(fw, fn_general_initial=28106600.0)
    path = tmp_path / "元.xlsx"
    build_workbook(fw, data).save(path)
    result = check_file(path, [fw])
    assert result.framework_id == fw.id and result.recomputed_total is not None
    assert "looks_like_yuan" not in codes(result)


# --------------------------------------------------------------------------- a form with other ids

RENAMED = {"unit_name": "dept_name", "unit_code": "credit_code", "year": "fiscal_year"}


def renamed(fw: Framework, fid: str) -> str:
    """A built-in field's id in tests/frameworks/renamed-ids.yaml: the identity renamed, the 总计
    rows spend_total / income_total, every other input of the form and every judgement the
    framework file names prefixed b_ (those it derives from an indicator id are unchanged)."""
    if fid in RENAMED:
        new = RENAMED[fid]
    elif fid.startswith(("use_total_", "src_total_")):
        new = fid.replace("use_total_", "spend_total_", 1).replace("src_total_", "income_total_", 1)
    else:
        new = "b_" + fid
    return new if new in fw.fields else fid


def futian(fw: Framework, **changes) -> dict:
    raw = read_data_file(sample_path("futian"))
    data = {renamed(fw, k) if fw.id == "test-renamed-ids" else k: v for k, v in raw.items()}
    return validate_data(fw, {**data, **changes}, "futian")


def codes(result) -> list[str]:
    return [m.code for m in result.messages]


@pytest.fixture(scope="module")
def other() -> Framework:
    return load_framework(FRAMEWORKS / "renamed-ids.yaml")


def test_other_form_shares_no_field_id_with_the_builtin(other):
    builtin = builtin_form_ids(load_framework())
    own = builtin_form_ids(other)
    form_fields = {f.id for s in other.form.sheets for t in s.tables for f in t.fields}
    assert len(form_fields) > 20 and not form_fields & builtin
    assert not {"unit_name", "year", "unit_code", "use_total_adjusted", "src_total_adjusted"} & own
    assert (other.form.identity.unit, other.form.identity.year, other.form.identity.code) == \
        ("dept_name", "fiscal_year", "credit_code")
    # the identity is not the first table: a rule "first table = identity" would be wrong here
    assert {f.id for f in other.form.sheets[0].tables[0].fields} == set(other.form.identity.details)


def test_other_form_scores_as_the_builtin(other):
    assert score(other, futian(other)).total == score(load_framework(), futian(load_framework())).total == 94.79


@pytest.fixture(scope="module")
def other_books(other, tmp_path_factory) -> dict[str, Path]:
    """The other form's workbooks as openpyxl writes them (jixiao's own cached values)."""
    folder = tmp_path_factory.mktemp("other")
    books = {
        "filled": futian(other, credit_code="91440300MA5XXXXX0X"),
        "yuan": futian(other, b_fn_general_initial=28106600.0),
        "blank": {},
        "typed_identity": {"dept_name": "某区某局", "fiscal_year": 2021, "b_preparer": "张三", "b_phone": "0755-1234"},
        "one_figure": {"dept_name": "某区某局", "fiscal_year": 2021, "b_staff_quota": 12},
    }
    out = {}
    for name, data in books.items():
        out[name] = folder / f"{name}.xlsx"
        build_workbook(other, data).save(out[name])
    out["prefilled"] = folder / "预填空白.xlsx"
    run = CliRunner().invoke(main, ["template", "-o", str(out["prefilled"]), "--framework",
                                    str(FRAMEWORKS / "renamed-ids.yaml"), "--unit", "某区财政局", "--year", "2021"])
    assert run.exit_code == 0, run.output
    return out


@pytest.fixture(scope="module")
def recalculated_books(other_books, soffice, tmp_path_factory) -> dict[str, Path]:
    """The same workbooks recalculated and saved by LibreOffice (one soffice call)."""
    converted = recalculate(list(other_books.values()), tmp_path_factory.mktemp("lo"), soffice=soffice)
    return {name: converted[path] for name, path in other_books.items()}


@pytest.fixture(params=["openpyxl", "libreoffice"])
def books(request, other_books) -> dict[str, Path]:
    return other_books if request.param == "openpyxl" else request.getfixturevalue("recalculated_books")


def test_other_form_identity_is_read(other, books):
    result = check_file(books["filled"], [other])
    assert result.framework_id == "test-renamed-ids" and result.recomputed_total == result.workbook_total == 94.79
    assert (result.unit_name, result.year, result.unit_code) == ("深圳市福田区政务服务中心", 2021, "91440300MA5XXXXX0X")
    assert "blank_template" not in codes(result) and "looks_like_yuan" not in codes(result)


def test_other_form_amount_in_yuan_is_warned(other, books):
    result = check_file(books["yuan"], [other])
    (m,) = [m for m in result.messages if m.code == "looks_like_yuan"]
    assert m.field == "b_fn_general_initial" and m.level == "警告"
    assert "2.81066e+07 万元，超过部门预算总额 4384.99 万元的10倍" in m.text and "应为 2810.66 万元" in m.text


@pytest.mark.parametrize("name", ["blank", "prefilled", "typed_identity"])
def test_other_form_blank_template(other, books, name):
    result = check_file(books[name], [other])
    assert [m.code for m in result.errors] == ["blank_template"], name
    assert "required" not in codes(result)


def test_other_form_prefilled_template_names_the_unit(other, books):
    result = check_file(books["prefilled"], [other])
    assert (result.unit_name, result.year) == ("某区财政局", 2021)


def test_other_form_one_figure_is_not_blank(other, books):
    result = check_file(books["one_figure"], [other])
    assert "blank_template" not in codes(result) and "required" in codes(result)


def test_other_form_header_names_the_unit_and_year(other):
    book = build_workbook(other, {"dept_name": "某区某局", "fiscal_year": 2021})
    sheets = [ws for ws in book.workbook.worksheets if ws.sheet_state == "visible"]
    assert len(sheets) > 3 and {ws.oddHeader.left.text for ws in sheets} == {"某区某局  2021年度"}


def test_importer_stores_the_declared_identity(tmp_path, monkeypatch):
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from jixiao.importer.db import Submission, make_engine
    from jixiao.importer.run import import_paths

    fw = load_framework()
    path = tmp_path / "福田.xlsx"
    build_workbook(fw, futian(fw, unit_code="91440300MA5XXXXX0X")).save(path)
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'jixiao.db'}"
    stats = import_paths([path], url, jobs=1)
    assert stats.given == 1
    with Session(make_engine(url)) as session:
        sub = session.scalars(select(Submission)).one()
    assert (sub.unit_name, sub.year, sub.unit_code) == ("深圳市福田区政务服务中心", 2021, "91440300MA5XXXXX0X")
