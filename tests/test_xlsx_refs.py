"""`jixiao.xlsx.refs`: the one spelling of cell references, checked against openpyxl's own
helpers (a library the project did not write) and against the names Excel writes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.utils.cell import (
    absolute_coordinate,
    column_index_from_string,
    coordinate_from_string,
    get_column_letter,
    quote_sheetname as openpyxl_quote,
)

from jixiao.xlsx.refs import (
    MAX_COL, absolute_ref, col_letter, col_number, coord, coord_order, normalise_coord, parse_ref, quote_sheetname,
    row_of, split_coord,
)


@pytest.mark.parametrize("n", [1, 2, 25, 26, 27, 52, 53, 702, 703, 16383, MAX_COL])
def test_columns_agree_with_openpyxl(n: int) -> None:
    assert col_letter(n) == get_column_letter(n)
    assert col_number(get_column_letter(n)) == n == column_index_from_string(col_letter(n))


@given(st.integers(1, MAX_COL), st.integers(1, 1_048_576))
def test_coordinates_round_trip(col: int, row: int) -> None:
    text = coord(row, col)
    assert split_coord(text) == (row, col)
    assert split_coord(absolute_coordinate(text)) == (row, col)  # "$C$5" reads as "C5"
    letters, r = coordinate_from_string(text)
    assert (r, column_index_from_string(letters)) == (row, col)


def test_split_and_order() -> None:
    assert split_coord("I27") == (27, 9) and split_coord(" $AB$3 ") == (3, 28) and row_of("C17") == 17
    assert sorted(["B2", "A10", "AA1", "C1"], key=coord_order) == ["C1", "AA1", "B2", "A10"]  # row-major
    assert coord_order("not a cell") == (0, 0)
    assert normalise_coord(" $b$2 ") == "B2"


@pytest.mark.parametrize("bad", ["", "A", "12", "A0B", "a1", "Sheet!A1", "A1:B2", "ABCD1"])
def test_bad_coordinates_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a cell coordinate"):
        split_coord(bad)


def test_col_letter_refuses_zero() -> None:
    with pytest.raises(ValueError):
        col_letter(0)


@pytest.mark.parametrize("name, quoted", [
    ("Sheet1", "Sheet1"),                # a plain identifier: Excel writes it bare
    ("评分表", "评分表"),                 # CJK letters are identifier letters too
    ("_jixiao", "_jixiao"),
    ("my sheet", "'my sheet'"),          # a space
    ("O'Brien", "'O''Brien'"),           # an apostrophe, doubled
    ("表1-1", "'表1-1'"),                 # punctuation
    ("2021", "'2021'"),                  # starts with a digit
    ("A1", "'A1'"), ("XFD12", "'XFD12'"), ("R1C1", "'R1C1'"), ("R", "'R'"), ("C3", "'C3'"),  # read as references
])
def test_quote_sheetname_follows_excel(name: str, quoted: str) -> None:
    assert quote_sheetname(name) == quoted
    # always-quoted, the form the template's defined names use, is openpyxl's own rule
    assert quote_sheetname(name, always=True) == openpyxl_quote(name)


@pytest.mark.parametrize("sheet", ["评分表", "my sheet", "O'Brien", "''", "a'b'c", "表 1（续）", "Sheet1", "!", "x!y"])
@pytest.mark.parametrize("cell", ["A1", "C5", "XFD1048576"])
def test_absolute_ref_parses_back(sheet: str, cell: str) -> None:
    text = absolute_ref(sheet, cell)
    row, col = split_coord(cell)
    assert text == f"{openpyxl_quote(sheet)}!{absolute_coordinate(cell)}"  # openpyxl spells it the same
    assert parse_ref(text) == (sheet, cell)
    assert parse_ref("=" + text) == (sheet, cell)  # as a defined name's formula may hold it
    assert parse_ref(f"{quote_sheetname(sheet)}!{cell}") == (sheet, coord(row, col))  # unanchored, minimal quoting


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=31)
       .filter(lambda s: s.strip() and not s.startswith("'") and "'" not in s[-1:]),
       st.integers(1, MAX_COL), st.integers(1, 1_048_576))
def test_any_sheet_name_round_trips(sheet: str, col: int, row: int) -> None:
    assert parse_ref(absolute_ref(sheet, coord(row, col))) == (sheet, coord(row, col))


@pytest.mark.parametrize("text", [
    "评分表!A1:B2",          # a range
    "SUM(评分表!A1)",        # a formula
    "#REF!",                # a deleted reference
    "评分表!#REF!",
    "'unterminated!A1",
    "A1",                   # no sheet
    "'a'b'!A1",             # an apostrophe not doubled
    "Sheet!$A$",
])
def test_parse_ref_refuses_non_cells(text: str) -> None:
    assert parse_ref(text) is None
