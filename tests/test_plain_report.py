"""The plain check report (`checker.plain_report`) against rich, which it stands in for: for any
text and width it writes what rich's Console writes to a file, and it declines whenever rich
would do something else (a terminal, forced colour, the indicator table, control characters)."""

from __future__ import annotations

import io
import os
import pty

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st
from rich.console import Console
from rich.text import Text

from jixiao.checker import plain_report
from jixiao.checker.report import IndicatorTable, Line, print_result, print_results, report_items
from jixiao.checker.result import ERROR, NOTE, WARNING, CheckResult, IndicatorCheck


def by_rich(results: list[CheckResult], width: int, verbose: bool = False) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, _environ={})
    for r in results:
        print_result(r, console, verbose)
    return out.getvalue()


# what a report holds: CJK and full-width punctuation, Latin words, runs longer than a line,
# wide and zero-width characters (emoji, combining accents), spaces of several kinds
ALPHABET = st.sampled_from(list("深圳市福田区政务服务中心，。、：（）“”—…") + list("abcXYZ019.-_/!%")
                           + [" ", " ", " ", "\u3000", "\u00a0", "😀", "👍🏽", "e\u0301", "\u200b", "ｱ", "한"])
TEXT = st.lists(ALPHABET, max_size=160).map("".join) | st.text(st.characters(blacklist_categories=("Cs",)),
                                                                 max_size=120)


def a_result(file: str, unit: str, messages: list[tuple[str, str, str]], notes: int) -> CheckResult:
    r = CheckResult(file=file)
    r.status = "accepted_with_warnings"
    r.unit_name, r.year = unit, 2021
    r.recomputed_total = r.workbook_total = 94.79
    r.grade = "优"
    for level, where, text in messages:
        sheet, _, cell = where.partition("!")
        r.add(level, "cross_check", text, sheet=sheet or None, cell=cell or None)
    for n in range(notes):
        r.add(NOTE, "older_template", f"提示 {n}")
    return r


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT, width=st.integers(plain_report.MIN_WIDTH, 130))
def test_a_line_wraps_as_rich_wraps_it(text: str, width: int) -> None:
    rendered = plain_report.render([[Line([(text, None)])]], width)
    assume(rendered is not None)  # declined: rich prints it (see the tests below)
    out = io.StringIO()
    Console(file=out, width=width, _environ={}).print(Text(text))
    assert rendered == out.getvalue()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(file=TEXT, unit=TEXT, texts=st.lists(st.tuples(st.sampled_from([ERROR, WARNING]),
                                                      st.sampled_from(["", "审核!D28", "基本信息!B7"]), TEXT),
                                            max_size=4),
       notes=st.integers(0, 2), width=st.integers(plain_report.MIN_WIDTH, 130))
def test_a_report_is_what_rich_prints(file: str, unit: str, texts, notes: int, width: int) -> None:
    results = [a_result(file or "a.xlsx", unit, texts, notes)]
    rendered = plain_report.render([report_items(r) for r in results], width)
    assume(rendered is not None)
    assert rendered == by_rich(results, width)


def test_control_characters_and_tabs_are_left_to_rich() -> None:
    for text in ("a\tb", "a\nb", "a\x1b[31mb", "a\x85b", "a\rb"):
        assert plain_report.render([[Line([(text, None)])]], 80) is None
    assert plain_report.render([[Line([("a b", None)])]], 80) == "a b\n"


def test_the_indicator_table_is_left_to_rich(capsys) -> None:
    r = a_result("表.xlsx", "某单位", [(WARNING, "审核!D28", "相差-0.6")], 0)
    r.indicators.append(IndicatorCheck("x", "预算执行率", 5, 6.0, 4.5, "执行率 90%，扣 0.5 分"))
    items = report_items(r)
    assert any(isinstance(i, IndicatorTable) for i in items)
    assert plain_report.render([items], 80) is None
    print_results([r])  # capsys's stream is no terminal: rich renders the table
    assert capsys.readouterr().out == by_rich([r], plain_report.rich_width()) != ""


def test_print_results_writes_plain_text_where_rich_would(capsys) -> None:
    results = [a_result(f"文件{n}.xlsx", "深圳市福田区政务服务中心", [(WARNING, "审核!D28", "合计4228.15，相差-0.6" * 9)], n)
               for n in range(3)]
    print_results(results)
    assert capsys.readouterr().out == by_rich(results, plain_report.rich_width())


@pytest.mark.parametrize("environ", [{}, {"COLUMNS": "57"}, {"COLUMNS": "wide"}, {"COLUMNS": "0"}, {"LINES": "9"}])
def test_the_width_is_richs(environ: dict[str, str]) -> None:
    assert plain_report.rich_width(environ) == Console(file=io.StringIO(), _environ=environ).width


def test_a_terminal_or_forced_colour_goes_to_rich() -> None:
    main, tty = pty.openpty()
    try:
        with os.fdopen(tty, "w", closefd=False) as terminal:
            assert Console(file=terminal, _environ={}).is_terminal  # rich agrees: a terminal
            assert not plain_report.plain_possible(terminal, {})
            assert not plain_report.write_plain([[Line([("x", None)])]], terminal, {})
    finally:
        os.close(main)
        os.close(tty)
    pipe = io.StringIO()
    assert plain_report.plain_possible(pipe, {})
    for environ in ({"FORCE_COLOR": "1"}, {"TTY_COMPATIBLE": "1"}, {"TTY_COMPATIBLE": "0"}):
        assert not plain_report.plain_possible(pipe, environ)
        assert not plain_report.write_plain([[Line([("x", None)])]], pipe, environ)
    assert pipe.getvalue() == ""
    assert plain_report.write_plain([[Line([("x", None)])]], pipe, {}) and pipe.getvalue() == "x\n"
