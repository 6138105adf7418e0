"""Tests for jixiao.numeric.excel_round, jixiao.verify.excel_patches and jixiao.verify.formulas_oracle."""

from __future__ import annotations

import io
import math
import random
import re
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import formulas
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jixiao.data import load_data
from jixiao.framework.loader import load_framework
from jixiao.numeric import excel_round, excel_rounddown, excel_roundup, round15
from jixiao.samples import SAMPLES, sample_path
from jixiao.verify.excel_patches import (
    EMITTED_FUNCTIONS,
    PATCHED_FUNCTIONS,
    excel_compat,
    excel_compat_installed,
    excel_number_to_text,
)
from jixiao.verify.formulas_oracle import CompiledWorkbook, EvaluationError, cell_key, evaluate_file, parse_key

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def save_formulas(path: Path, formulas_by_cell: dict[str, object], sheet="评分表", extra=None):
    """One sheet `sheet` with the given cells; `extra` = {sheet: {cell: value}}."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for ref, v in formulas_by_cell.items():
        ws[ref] = v
    for title, cells in (extra or {}).items():
        other = wb.create_sheet(title)
        for ref, v in cells.items():
            other[ref] = v
    wb.save(path)
    return path


def eval_one(tmp_path, formula, cells=None, *, excel_compat=True):
    """Evaluate one formula put in 评分表!Z1 next to `cells`."""
    cells = dict(cells or {})
    cells["Z1"] = formula
    path = save_formulas(tmp_path / f"one_{abs(hash((formula, excel_compat)))}.xlsx", cells)
    return evaluate_file(path, excel_compat=excel_compat)["评分表"]["Z1"]


N_PROJECTS = 40


def build_template(path: Path, values: dict[str, object] | None = None) -> Path:
    """A jixiao-like workbook: 5 Chinese-named sheets, ~300 formula cells.

    `values` ({canonical key: value}) overrides input cells.
    """
    wb = openpyxl.Workbook()
    budget = wb.active
    budget.title = "预算与执行"
    factors = wb.create_sheet("评分要素")
    scores = wb.create_sheet("评分表")
    outputs = wb.create_sheet("产出指标")
    summary = wb.create_sheet("汇总")

    budget["A4"], budget["B4"], budget["C4"], budget["D4"] = "项目", "预算数", "执行数", "是否完成"
    first, last = 5, 4 + N_PROJECTS
    for i, r in enumerate(range(first, last + 1)):
        budget[f"A{r}"] = f"项目{i + 1}"
        budget[f"B{r}"] = 100 + 7 * i
        budget[f"C{r}"] = round((100 + 7 * i) * (0.55 + (i % 9) * 0.06), 2)
        budget[f"D{r}"] = "是" if i % 3 else "否"
        budget[f"E{r}"] = f'=IFERROR(ROUND(C{r}/B{r},4),"")'
        budget[f"F{r}"] = f'=IF(E{r}="","未填",TEXT(E{r},"0.00%"))'
        budget[f"G{r}"] = f'=IF(D{r}="是",1,0)'
    t = last + 2
    budget[f"B{t}"] = f"=SUM(B{first}:B{last})"
    budget[f"C{t}"] = f"=SUM(C{first}:C{last})"
    budget[f"D{t}"] = f'=COUNTIF(D{first}:D{last},"是")'
    budget[f"E{t}"] = f"=IFERROR(ROUND(C{t}/B{t},4),0)"

    for r, (grade, threshold, score) in enumerate(
        [("优", 0.9, 10), ("良", 0.8, 8), ("中", 0.6, 6), ("差", 0, 2)], start=2
    ):
        factors[f"A{r}"], factors[f"B{r}"], factors[f"C{r}"] = grade, threshold, score
    factors["E1"] = "满分"
    factors["F1"] = 10
    factors["F2"] = "=MAX(C2:C5)"
    factors["F3"] = "=MIN(C2:C5)"
    factors["F4"] = '=COUNTIF(B2:B5,">0")'

    for r in range(first, last + 1):
        e = f"'预算与执行'!$E${r}"
        scores[f"A{r}"] = f"='预算与执行'!A{r}"
        scores[f"B{r}"] = (
            f'=IF({e}="","差",IF({e}>=\'评分要素\'!$B$2,"优",'
            f'IF({e}>=\'评分要素\'!$B$3,"良",IF({e}>=\'评分要素\'!$B$4,"中","差"))))'
        )
        scores[f"C{r}"] = (
            f"=MIN('评分要素'!$F$1,IFERROR(INDEX('评分要素'!$C$2:$C$5,"
            f"MATCH(B{r},'评分要素'!$A$2:$A$5,0)),0))"
        )
    scores[f"C{t}"] = f"=ROUND(SUM(C{first}:C{last})/{N_PROJECTS},2)"
    scores[f"D{t}"] = f'="平均得分："&C{t}&"分"'

    for r in range(2, 12):
        outputs[f"A{r}"] = f"指标{r - 1}"
        outputs[f"B{r}"] = 10 * r  # 目标值
        outputs[f"C{r}"] = 10 * r - (r % 4)  # 实际值
        outputs[f"D{r}"] = f'=IF(ISNUMBER(C{r}),ROUND(C{r}/B{r}*100,1),"未填")'
        outputs[f"E{r}"] = f'=IF(ISNUMBER(D{r}),IF(D{r}>=100,"达成","未达成"),"")'
        outputs[f"F{r}"] = f'=IF(E{r}="达成",2,IF(E{r}="",0,ROUND(2*D{r}/100,2)))'
        outputs[f"G{r}"] = f"=ABS(C{r}-B{r})"

    summary["A1"] = "汇总"
    summary["B1"] = "备注"
    s = summary
    s["B2"] = f"='预算与执行'!E{t}"
    s["B3"] = '=TEXT(B2,"0.00%")'
    s["B4"] = f"=SUM('产出指标'!F2:F11)"
    s["B5"] = f"='评分表'!C{t}"
    s["B6"] = "=ROUND(B4+B5,2)"
    s["B7"] = '=IF(B6>=8,"合格","不合格")'
    s["B8"] = '=ISBLANK(B1)'
    s["B9"] = '=LEN(B1)'
    s["B10"] = '=AND(B6>0,NOT(B8))'
    s["B11"] = '=OR(B7="合格",B6>100)'
    s["B12"] = f"=COUNTIF('产出指标'!E2:E11,\"达成\")"
    s["B13"] = '="得分"&TEXT(B6,"0.00")&"，"&B7'
    s["B14"] = f"=MAX('预算与执行'!E{first}:E{last})"
    s["B15"] = f"=INDEX('评分表'!B{first}:B{last},MATCH(B14,'预算与执行'!E{first}:E{last},0))"
    s["B16"] = '=TEXT(B4,"#,##0.00")'

    for key, value in (values or {}).items():
        sheet, cell = parse_key(key)
        wb[sheet][cell] = value
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build_template(tmp_path_factory.mktemp("tpl") / "模板.xlsx")


@pytest.fixture(scope="module")
def compiled(template):
    return CompiledWorkbook(template)


# ---------------------------------------------------------------------------
# excel_round
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x, digits, expected",
    [
        (0.125, 2, 0.13),
        (2.675, 2, 2.68),  # the double is 2.67499999..., 15 digits: 2.675
        (-1.005, 2, -1.01),
        (1.005, 2, 1.01),
        (21.9 / 0.2, 0, 110.0),  # the double is 109.49999999999999
        (2.5, 0, 3.0),
        (-2.5, 0, -3.0),
        (0.5, 0, 1.0),
        (1234.5, -1, 1230.0),
        (1245, -1, 1250.0),
        (5, -3, 0.0),
        (0.1 + 0.2, 1, 0.3),
        (123.456, 5, 123.456),
        (1e300, 2, 1e300),
        (0.0, 2, 0.0),
    ],
)
def test_excel_round_examples(x, digits, expected):
    assert excel_round(x, digits) == expected


def test_excel_round_no_negative_zero():
    r = excel_round(-0.4, 0)
    assert r == 0 and math.copysign(1, r) == 1


def test_excel_round_truncates_digits():
    assert excel_round(1.2345, 2.9) == 1.23


def test_excel_roundup_rounddown():
    assert excel_roundup(0.1 * 3, 1) == 0.3  # 0.30000000000000004
    assert excel_roundup(2.21 + 2.19, 2) == 4.4
    assert excel_rounddown(2.26 + 2.94, 2) == 5.2  # 5.199999999999999
    assert excel_roundup(-1.21, 1) == -1.3
    assert excel_rounddown(-1.29, 1) == -1.2


def test_plain_python_round_differs():
    # why excel_round exists
    assert round(21.9 / 0.2) == 109 and round(2.5) == 2 and round(2.675, 2) == 2.67


decimals_12 = st.decimals(
    min_value=Decimal("-1e6"), max_value=Decimal("1e6"), places=6, allow_nan=False
)


@given(decimals_12, st.integers(min_value=0, max_value=5))
def test_excel_round_matches_decimal_arithmetic(d, digits):
    """A number typed with <= 13 significant digits rounds like on paper."""
    expected = float(d.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))
    assert excel_round(float(d), digits) == expected + 0.0


@given(st.integers(min_value=-10**6, max_value=10**6), st.integers(min_value=1, max_value=4))
def test_excel_round_half_cases_away_from_zero(n, digits):
    # n + 0.5 units in the last kept place: always away from zero
    x = float((Decimal(n) + Decimal("0.5")) / 10**digits)
    expected = float((Decimal(n) + (1 if n >= 0 else 0)) / 10**digits)
    assert excel_round(x, digits) == expected + 0.0


finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


@given(finite, st.integers(min_value=-3, max_value=6))
def test_excel_round_properties(x, digits):
    r = excel_round(x, digits)
    assert excel_round(r, digits) == r  # idempotent
    assert excel_round(-x, digits) == -r + 0.0  # symmetric
    assert abs(r - x) <= 0.5 * 10.0**-digits + abs(x) * 1e-14 + 1e-300


# ---------------------------------------------------------------------------
# patched formulas ROUND == excel_round; vanilla pinned
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def formulas_round():
    with excel_compat(True):
        func = formulas.Parser().ast("=ROUND(X, D)")[1].compile()
    order = list(func.inputs)  # formulas sorts the inputs by name
    assert order == ["D", "X"]
    return lambda x, d: float(func(d, x).item())


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(finite, decimals_12.map(float), st.integers(-10**6, 10**6).map(lambda n: n / 8)),
    st.integers(min_value=-3, max_value=6),
)
def test_patched_formulas_round_agrees_with_excel_round(formulas_round, x, digits):
    assert formulas_round(x, digits) == excel_round(x, digits)


def test_vanilla_formulas_round_disagrees_with_excel(tmp_path):
    """Pin what vanilla formulas 1.3.x computes, to notice upstream changes."""
    cells = {
        "A1": "=ROUND(21.9/0.2,0)",
        "A2": "=ROUND(-1.005,2)",
        "A4": '=TEXT(21.9/0.2,"0")',
        "A5": "=0.1+0.2=0.3",
        "A6": '=1/3&""',
        "A7": '=ISNUMBER("1")',
    }
    path = save_formulas(tmp_path / "vanilla.xlsx", cells)
    vanilla = evaluate_file(path, excel_compat=False)["评分表"]
    assert vanilla == {
        "A1": 109.0,
        "A2": -1.0,
        "A4": "109",
        "A5": False,
        "A6": "0.3333333333333333",
        "A7": True,
    }
    patched = evaluate_file(path)["评分表"]
    assert patched == {
        "A1": 110.0,
        "A2": -1.01,
        "A4": "110",
        "A5": True,
        "A6": "0.333333333333333",
        "A7": False,
    }


def test_compiling_does_not_leave_patches_installed(tmp_path):
    before = excel_compat_installed()
    evaluate_file(save_formulas(tmp_path / "x.xlsx", {"A1": "=ROUND(1.5,0)"}))
    assert excel_compat_installed() == before


# ---------------------------------------------------------------------------
# Excel behaviour of the functions the template uses (EMITTED_FUNCTIONS)
# ---------------------------------------------------------------------------

DATA = {  # 评分表!A1:A10
    "A1": "是",
    "A2": 21.9,
    "A3": 0.2,
    # A4 empty
    "A5": "1",  # a number typed as text
    "A6": True,
    "A7": '=""',
    "A8": 0,
    "A9": -3,
    "A10": "否",
}

CASES = [
    # ROUND / TEXT
    ("=ROUND(A2/A3,0)", 110.0),
    ("=ROUND(2.675,2)", 2.68),
    ('=TEXT(0.12345,"0.00%")', "12.35%"),
    ('=TEXT(0.125,"0.00%")', "12.50%"),
    ('=TEXT(0.00125,"0.0%")', "0.1%"),
    ('=TEXT(2.675,"0.00")', "2.68"),
    ('=TEXT(0.125,"0.00")', "0.13"),
    ('=TEXT(2.5,"0")', "3"),
    ('=TEXT(-2.5,"0")', "-3"),
    ('=TEXT(A2/A3,"0")', "110"),
    ('=TEXT(1234567.125,"#,##0.00")', "1,234,567.13"),
    ('=TEXT(-1234.5,"#,##0")', "-1,235"),
    ('=TEXT(0,"0.00")', "0.00"),
    ('=TEXT(-0.001,"0.00")', "-0.00"),  # Excel shows "negative zero" too
    ('=TEXT("abc","0.00")', "abc"),
    ('=TEXT(5,"0.00""分""")', "5.00分"),
    ('=TEXT(0.1+0.2,"0.000000000000000000")', "0.300000000000000000"),
    # &
    ('="得分："&ROUND(8.345,2)&"分"', "得分：8.35分"),
    ('="x"&0.1+0.2', "x0.3"),
    ('=1/3&""', "0.333333333333333"),
    ('=2/3*100&"%"', "66.6666666666667%"),
    ('=A1&A4&"|"', "是|"),
    ('=TRUE&""', "TRUE"),
    ('=1E+20&""', "1E+20"),
    # IFERROR
    ('=IFERROR(1/0,"除零")', "除零"),
    ('=IFERROR(A2,"x")', 21.9),
    ("=1/0", "#DIV/0!"),
    # comparisons
    ('=A1="是"', True),
    ('=A10="是"', False),
    ('="A"="a"', True),
    ('=A1<>"是"', False),
    ("=0.1+0.2=0.3", True),
    ("=A2/A3=109.5", True),
    ("=0.1+0.2>0.3", False),
    ('=A5=1', False),  # text is never equal to a number
    ('=A1>1000', True),  # text sorts after numbers
    # empty cells
    ('=A4=""', True),
    ("=A4=0", True),
    ("=A4+1", 1.0),
    ("=A4*5", 0.0),
    ("=A4", 0.0),
    ('=IF(A4="","空","非空")', "空"),
    ('=IF(A7="","空","非空")', "空"),
    # MIN / MAX / ABS / SUM
    ("=MIN(5)", 5.0),
    ("=MAX(-5)", -5.0),
    ("=MIN(A2)", 21.9),
    ("=MAX(A4)", 0.0),
    ("=MIN(A1:A10)", -3.0),
    ("=MAX(A1:A10)", 21.9),
    ("=MAX(A5)", 0.0),  # text "1" in a reference is ignored
    ('=MAX("7",1)', 7.0),  # ...but a literal is coerced
    ("=ABS(-2.5)", 2.5),
    ("=ABS(A4)", 0.0),
    ("=ABS(A9)", 3.0),
    ("=SUM(A1:A10)", 19.1),
    ("=SUM(A5,A6)", 0.0),
    ('=SUM("1",TRUE,2)', 4.0),
    ("=SUM(A1)", 0.0),
    # ISNUMBER / logic
    ("=ISNUMBER(A2)", True),
    ("=ISNUMBER(A5)", False),
    ('=ISNUMBER("1")', False),
    ("=ISNUMBER(A4)", False),
    ("=AND(A2>1,A3<1)", True),
    ("=OR(A4,FALSE)", False),
    ("=IF(A2>20,1)", 1.0),
    ("=IF(A2>30,1)", False),
    ("=IF(TRUE,1,1/0)", 1.0),
]


@pytest.fixture(scope="module")
def cases_result(tmp_path_factory):
    cells = dict(DATA)
    for i, (formula, _) in enumerate(CASES, start=1):
        cells[f"C{i}"] = formula
    path = save_formulas(tmp_path_factory.mktemp("cases") / "cases.xlsx", cells)
    return evaluate_file(path)["评分表"]


@pytest.mark.parametrize("i, formula, expected", [(i, f, e) for i, (f, e) in enumerate(CASES, 1)])
def test_excel_behaviour(cases_result, i, formula, expected):
    got = cases_result[f"C{i}"]
    assert type(got) is type(expected), (formula, got)
    if isinstance(expected, float):
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-12), formula
    else:
        assert got == expected, formula


# ---------------------------------------------------------------------------
# the patches cover exactly what the generated workbooks emit
# ---------------------------------------------------------------------------

STRING = re.compile(r'"(?:[^"]|"")*"')
CALL = re.compile(r"([A-Z][A-Z0-9.]*)\(")
TEXT_CODE = re.compile(r'TEXT\((?:[^"()]|\([^"()]*\))*,("(?:[^"]|"")*")\)')


@pytest.fixture(scope="module")
def emitted() -> tuple[set[str], set[str], set[str]]:
    """(functions, operators, TEXT format codes) of every formula in the template and in both
    filled samples, as the generator writes them."""
    from jixiao.workbook.generator import build_workbook

    fw = load_framework()
    books = [build_workbook(fw)] + [build_workbook(fw, load_data(fw, sample_path(n))) for n in SAMPLES]
    functions, operators, codes, count = set(), set(), set(), 0
    for book in books:
        buffer = io.BytesIO()
        book.save(buffer)
        wb = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
        for ws in wb:
            for row in ws.iter_rows():
                for cell in row:
                    if not (isinstance(cell.value, str) and cell.value.startswith("=")):
                        continue
                    count += 1
                    codes |= {c[1:-1].replace('""', '"') for c in TEXT_CODE.findall(cell.value)}
                    body = STRING.sub('""', cell.value[1:])
                    body = re.sub(r"'(?:[^']|'')*'!", "S!", body)  # quoted sheet names
                    functions |= set(CALL.findall(body))
                    operators |= set(re.findall(r"<>|<=|>=|[-+*/&=<>^%:]", body))
    assert count > 500  # template + 2 samples
    return functions, operators, codes


def test_the_oracle_is_checked_for_exactly_the_functions_the_workbooks_use(emitted):
    functions, _, _ = emitted
    assert functions - EMITTED_FUNCTIONS == set(), "the template uses a function the oracle has not been checked for"
    assert EMITTED_FUNCTIONS - functions == set(), "the oracle claims a function the template no longer uses: trim it"
    assert set(PATCHED_FUNCTIONS) <= EMITTED_FUNCTIONS


def test_the_workbooks_use_only_the_operators_and_text_codes_the_patches_handle(emitted):
    _, operators, codes = emitted
    # no ranges (SUM/MIN/MAX of references only), no ^ or % operators
    assert operators <= {"+", "-", "*", "/", "&", "=", "<>", "<", ">", "<=", ">="}, operators
    assert {"&", "=", "<>", "<", ">", "<=", ">="} <= operators  # the patched operators are in use
    # TEXT is patched for single-section number codes only; each code is exercised in CASES
    assert codes and all(";" not in c and "[" not in c for c in codes), codes
    tested = {c[1:-1] for f, _ in CASES for c in TEXT_CODE.findall(f)}
    assert codes <= tested, codes - tested


def test_every_function_the_workbooks_use_has_excel_cases():
    used = {name for formula, _ in CASES for name in CALL.findall(STRING.sub('""', formula))}
    assert EMITTED_FUNCTIONS <= used, EMITTED_FUNCTIONS - used


def test_cross_sheet_references_with_chinese_names(tmp_path):
    path = save_formulas(
        tmp_path / "跨表.xlsx",
        {
            "A1": "='预算与执行'!$C$5*2",
            "A2": "=SUM('预算与执行'!C5:C7)",
            "A3": "=INDEX('评分要素'!B1:B3,MATCH(\"良\",'评分要素'!A1:A3,0))",
            "A4": "=预算与执行!C6",
        },
        extra={
            "预算与执行": {"C5": 21.9, "C6": 0.2, "C7": "=C5/C6"},
            "评分要素": {"A1": "优", "A2": "良", "A3": "中", "B1": 10, "B2": 8, "B3": 6},
        },
    )
    res = evaluate_file(path)
    assert res["评分表"] == {"A1": 43.8, "A2": pytest.approx(131.6), "A3": 8.0, "A4": 0.2}
    assert res["预算与执行"] == {"C7": pytest.approx(109.5)}
    assert "评分要素" not in res  # no formulas there


def test_evaluate_file_keeps_sheet_title_case(tmp_path):
    path = save_formulas(
        tmp_path / "Case.xlsx", {"B1": "=A1*2", "A1": 3}, sheet="Sheet Mixed", extra={"x表": {"A1": "='Sheet Mixed'!B1+1"}}
    )
    assert evaluate_file(path) == {"Sheet Mixed": {"B1": 6.0}, "x表": {"A1": 7.0}}


# ---------------------------------------------------------------------------
# keys
# ---------------------------------------------------------------------------


def test_keys():
    assert cell_key("预算与执行", "$c$5") == "'预算与执行'!C5"
    assert cell_key("It's", "A1") == "'It''s'!A1"
    for k in ["'预算与执行'!C5", "预算与执行!$C$5", "'预算与执行'!c5", ("预算与执行", "C$5")]:
        assert parse_key(k) == ("预算与执行", "C5")
    assert parse_key("'It''s'!A1") == ("It's", "A1")
    with pytest.raises(ValueError):
        parse_key("C5")
    with pytest.raises(ValueError):
        parse_key("'S'!C5:C6")


def test_formulas_key_roundtrip(tmp_path):
    path = save_formulas(tmp_path / "Mixed Name.xlsx", {"A1": 1, "B1": "=A1+1"}, sheet="Sheet a")
    cw = CompiledWorkbook(path)
    fk = cw.formulas_key("Sheet a", "$b$1")
    assert fk == "'[Mixed Name.xlsx]SHEET A'!B1"
    assert fk in cw.model.dsp.data_nodes
    assert cw.from_formulas_key(fk) == "'Sheet a'!B1"
    assert cw.formula_keys == ("'Sheet a'!B1",)
    assert cw.input_keys == {"'Sheet a'!A1"}
    with pytest.raises(KeyError):
        cw.formulas_key("nope", "A1")


# ---------------------------------------------------------------------------
# CompiledWorkbook
# ---------------------------------------------------------------------------


def test_template_size(compiled):
    assert len(compiled.sheet_titles) == 5
    assert 290 <= len(compiled.formula_keys) <= 320


def test_calculate_without_inputs_equals_evaluate_file(compiled, template):
    assert compiled.calculate_sheets() == evaluate_file(template)


def random_inputs(seed: int) -> dict[str, object]:
    rnd = random.Random(seed)
    values: dict[str, object] = {}
    for r in range(5, 5 + N_PROJECTS):
        kind = rnd.random()
        values[f"'预算与执行'!B{r}"] = (
            None if kind < 0.05 else 0 if kind < 0.1 else round(rnd.uniform(1, 5000), 2)
        )
        values[f"'预算与执行'!C{r}"] = (
            None if kind > 0.95 else round(rnd.uniform(0, 5000), rnd.choice([0, 1, 2, 6]))
        )
        values[f"'预算与执行'!D{r}"] = rnd.choice(["是", "否", None, "是 "])
    for r in range(2, 12):
        values[f"'产出指标'!C{r}"] = rnd.choice([None, "12", rnd.randint(0, 150), rnd.random() * 150])
    values["'汇总'!B1"] = rnd.choice([None, "说明", "ok"])
    values["'评分要素'!B2"] = rnd.choice([0.9, 0.95, 21.9 / 0.2 / 120])
    return values


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_calculate_with_inputs_equals_evaluate_file_of_saved_workbook(compiled, tmp_path, seed):
    values = random_inputs(seed)
    expected = evaluate_file(build_template(tmp_path / f"filled_{seed}.xlsx", values))
    assert compiled.calculate_sheets(values) == expected


def test_calculate_is_stateless_between_calls(compiled):
    base = compiled.calculate()
    changed = compiled.calculate({"'预算与执行'!C5": 0})
    assert changed["'预算与执行'!E5"] == 0.0
    assert changed != base
    assert compiled.calculate() == base


def test_calculate_outputs_subset_and_key_spellings(compiled):
    res = compiled.calculate(
        {("预算与执行", "B5"): 200, "预算与执行!$C$5": 150.5},
        outputs=["预算与执行!e5", "'预算与执行'!F5", "'评分表'!B5"],
    )
    assert res == {"'预算与执行'!E5": 0.7525, "'预算与执行'!F5": "75.25%", "'评分表'!B5": "中"}


def test_calculate_empty_input_and_text_number(compiled):
    res = compiled.calculate(
        {"'产出指标'!C2": None, "'产出指标'!C3": "25"},
        outputs=["'产出指标'!D2", "'产出指标'!E2", "'产出指标'!F2", "'产出指标'!D3", "'产出指标'!G3"],
    )
    assert res == {
        "'产出指标'!D2": "未填",
        "'产出指标'!E2": "",
        "'产出指标'!F2": 0.0,
        "'产出指标'!D3": "未填",  # ISNUMBER("25") is FALSE in Excel
        "'产出指标'!G3": 5.0,  # but arithmetic coerces the text
    }


def test_calculate_rejects_formula_cells_and_unknown_sheets(compiled):
    with pytest.raises(ValueError):
        compiled.calculate({"'预算与执行'!E5": 1})
    with pytest.raises(KeyError):
        compiled.calculate({"'没有'!A1": 1})
    # a cell no formula reads is accepted and ignored
    assert compiled.calculate({"'汇总'!Z99": 5}) == compiled.calculate()


def test_circular_reference_raises_evaluation_error(tmp_path):
    path = save_formulas(tmp_path / "circ.xlsx", {"A1": "=A2+1", "A2": "=A1+1", "A3": "=1+1"})
    with pytest.raises(EvaluationError) as info:
        evaluate_file(path)
    assert sorted(info.value.missing) == ["'评分表'!A1", "'评分表'!A2"]
    assert info.value.results["'评分表'!A3"] == 2.0
    assert evaluate_file(path, strict=False)["评分表"] == {"A1": None, "A2": None, "A3": 2.0}


def test_excel_number_to_text():
    assert excel_number_to_text(0.1 + 0.2) == "0.3"
    assert excel_number_to_text(-1 / 3) == "-0.333333333333333"
    assert excel_number_to_text(100.0) == "100"
    assert excel_number_to_text(1e20) == "1E+20"
    assert excel_number_to_text(1.5e-10) == "1.5E-10"
    assert excel_number_to_text(0.0000001) == "0.0000001"
    assert round15(21.9 / 0.2) == 109.5


def test_timings(template, capsys):
    """Not an assertion on speed, a record of it (run with -s to see)."""
    t0 = time.perf_counter()
    cw = CompiledWorkbook(template)
    compile_s = time.perf_counter() - t0
    values = random_inputs(7)
    n = 20
    t0 = time.perf_counter()
    for _ in range(n):
        cw.calculate(values)
    calc_s = (time.perf_counter() - t0) / n
    with capsys.disabled():
        print(
            f"\n[timing] {len(cw.formula_keys)} formula cells / {len(cw.sheet_titles)} sheets: "
            f"compile {compile_s:.2f}s, calculate {calc_s * 1000:.1f}ms"
        )
