"""The `formulas` package (https://formulas.readthedocs.io) as an oracle: it evaluates a
generated workbook's own formulas in Python, independently of `jixiao.engine`, so the demo and
the tests can prove that the two agree cell for cell.

A verification tool, not on the `jixiao check` / `jixiao import` / add-in path (a test asserts
that those never import it).  `formulas` nonetheless stays a core dependency, imported lazily
here only: README's first command, ``pip install -e . && jixiao demo``, recomputes the filled
workbooks through this module, and pip has no "default extras" that a plain install would get.

The functions the template emits are patched to compute as Excel does (`excel_patches`);
:class:`CompiledWorkbook` / :func:`evaluate_file` compile with the patches on and restore vanilla
``formulas`` afterwards.

Cell keys
---------
Public keys have the form ``"'<sheet title>'!<CELL>"`` -- sheet title in its
original case, always single-quoted (an apostrophe inside doubled), cell in
upper case without ``$``: ``"'预算与执行'!C5"``.  :func:`cell_key` builds one,
:func:`parse_key` accepts looser spellings (``预算与执行!$c$5``) and
``(sheet, cell)`` tuples.  ``formulas`` itself names cells
``"'[<file name>]<SHEET TITLE UPPER-CASED>'!C5"``;
:meth:`CompiledWorkbook.formulas_key` / :meth:`CompiledWorkbook.from_formulas_key`
convert.

Known limits of ``formulas`` (keep templates away from them): sheet titles
containing an apostrophe break every reference on that sheet (#REF!);
circular references are not evaluated (:class:`EvaluationError`); Excel's
"snap to zero" of a final subtraction (``=0.5-0.4-0.1`` shows 0) is not
reproduced -- compare or ROUND instead of testing ``=0``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import io
import math
import os
import re
import threading
from collections.abc import Iterable, Mapping

import formulas
import numpy as np
import schedula as sh
from formulas.excel import BOOK
from formulas.functions import XlError
from formulas.ranges import Ranges

from jixiao.verify.excel_patches import excel_compat, is_real_number
from jixiao.xlsx.refs import coord, normalise_coord, quote_sheetname, split_coord

__all__ = [
    "CompiledWorkbook",
    "EvaluationError",
    "cell_key",
    "evaluate_file",
    "nest",
    "parse_key",
    "to_python",
]

_compat = excel_compat  # the name is shadowed by keyword arguments below


# ---------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------

_FORMULAS_KEY_RE = re.compile(r"^'\[(?P<book>.+?)\](?P<sheet>.+)'!(?P<cell>[A-Z]+[0-9]+)$")  # formulas' own key form


def _norm_cell(cell: str) -> str:
    text = normalise_coord(cell)
    try:
        row, col = split_coord(text)
    except ValueError:
        row = col = 0
    if row < 1 or col < 1 or coord(row, col) != text:  # (no row 0, no leading zeros)
        raise ValueError(f"not a single-cell A1 reference: {cell!r}")
    return text


def _quote_sheet(sheet: str) -> str:
    return quote_sheetname(sheet, always=True)


def cell_key(sheet: str, cell: str) -> str:
    """Canonical key: ``cell_key('预算与执行', '$c$5') == "'预算与执行'!C5"``."""
    return f"{_quote_sheet(sheet)}!{_norm_cell(cell)}"


def parse_key(key) -> tuple[str, str]:
    """``(sheet title, CELL)`` from a key.

    Accepts ``"'预算与执行'!C5"``, ``"预算与执行!$C$5"``, lower-case cells and
    ``(sheet, cell)`` tuples.
    """
    if isinstance(key, tuple):
        sheet, cell = key
        return sheet, _norm_cell(cell)
    if not isinstance(key, str) or "!" not in key:
        raise ValueError(f"not a sheet!cell key: {key!r}")
    sheet, cell = key.rsplit("!", 1)
    sheet = sheet.strip()
    if len(sheet) >= 2 and sheet[0] == sheet[-1] == "'":
        sheet = sheet[1:-1].replace("''", "'")
    if not sheet:
        raise ValueError(f"empty sheet name in key {key!r}")
    return sheet, _norm_cell(cell)


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


class EvaluationError(RuntimeError):
    """Some formula cells could not be evaluated (e.g. circular references).

    ``missing`` lists their keys, ``results`` holds what was computed (the
    missing cells set to None).
    """

    def __init__(self, missing: list[str], results: dict):
        self.missing = missing
        self.results = results
        more = f" (+{len(missing) - 10} more)" if len(missing) > 10 else ""
        super().__init__(f"formula cells not evaluated: {', '.join(missing[:10])}{more}")


def to_python(value):
    """Plain Python value of a ``formulas`` result.

    Ranges / arrays -> their top-left element; empty -> None; errors -> their
    text ("#DIV/0!"); numbers -> float; booleans -> bool; text -> str.
    """
    if isinstance(value, Ranges):
        value = value.value
    if isinstance(value, np.ndarray):
        if value.size == 0:
            return None
        value = value.ravel()[0] if value.ndim else value.item()
    if value is sh.EMPTY:
        return None
    if isinstance(value, XlError):
        return str(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if is_real_number(value):
        value = float(value)
        return value if math.isfinite(value) else "#NUM!"
    if isinstance(value, str):
        return str(value)
    return value


_EMPTY_INPUT = [[sh.EMPTY]]  # how formulas stores an empty cell


def _to_formulas_input(value):
    if value is None or value is sh.EMPTY:
        return _EMPTY_INPUT
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time, _dt.timedelta)):
        from openpyxl.utils.datetime import to_excel

        return to_excel(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        # formulas loads every float cell of a file as round(x, 15); do the
        # same so that calculate(inputs) == evaluate_file(file with inputs)
        value = round(value, 15)
    return value


# ---------------------------------------------------------------------------
# Compiled workbook
# ---------------------------------------------------------------------------


class CompiledWorkbook:
    """A workbook compiled once by ``formulas``, evaluated many times.

    >>> cw = CompiledWorkbook("template.xlsx")            # doctest: +SKIP
    >>> cw.calculate({"'预算与执行'!C5": 120})["'评分表'!D7"]  # doctest: +SKIP

    Inputs are the values of non-formula cells; cells not given keep the
    template's value.  Compile once per template version and reuse: for ~300
    formula cells on 5 sheets compiling took ~0.6 s and each full
    ``calculate`` ~150 ms (formulas' per-cell overhead, ~0.5 ms a cell;
    ``outputs=`` computes only what those cells need).  ``calculate`` is
    serialised by a lock (the dispatcher keeps state), so an instance may be
    shared between threads but does not calculate in parallel.
    """

    def __init__(self, path: str | os.PathLike, *, excel_compat: bool = True):
        self.path = os.fspath(path)
        #: whether compiled with the Excel patches (False: vanilla formulas)
        self.excel_compat = excel_compat
        with _compat(excel_compat), contextlib.redirect_stderr(io.StringIO()):
            # (stderr: formulas draws a tqdm progress bar while compiling)
            self.model = formulas.ExcelModel().loads(self.path).finish()
        self._lock = threading.Lock()

        (book_data,) = self.model.books.values()
        book = book_data[BOOK]
        #: sheet titles in workbook order, original case
        self.sheet_titles: list[str] = list(book.sheetnames)
        self._title_by_upper = {t.upper(): t for t in self.sheet_titles}
        self._book_name = self._find_book_name()

        formula_cells: list[str] = []
        for ws in book.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if c.data_type == "f":
                        formula_cells.append(cell_key(ws.title, c.coordinate))
        #: canonical keys of every formula cell, workbook/sheet/row order
        self.formula_keys: tuple[str, ...] = tuple(formula_cells)
        self._formula_set = frozenset(formula_cells)
        self._fkey = {k: self.formulas_key(*parse_key(k)) for k in formula_cells}
        nodes = self.model.dsp.data_nodes
        #: canonical keys of the non-formula cells formulas depend on
        self.input_keys: frozenset[str] = frozenset(
            self.from_formulas_key(k)
            for k in nodes
            if isinstance(k, str) and _FORMULAS_KEY_RE.match(k)
        ) - self._formula_set

    # -- keys ---------------------------------------------------------------

    def _find_book_name(self) -> str:
        names = {
            m.group("book")
            for k in self.model.dsp.data_nodes
            if isinstance(k, str) and (m := _FORMULAS_KEY_RE.match(k))
        }
        if len(names) > 1:
            raise ValueError(f"expected one workbook, formulas saw {sorted(names)}")
        return names.pop() if names else os.path.basename(self.path)

    def formulas_key(self, sheet: str, cell: str) -> str:
        """``('预算与执行', 'c5')`` -> ``"'[file.xlsx]预算与执行'!C5"``."""
        upper = sheet.upper()
        if upper not in self._title_by_upper:
            raise KeyError(f"no sheet {sheet!r} in {self.path}")
        return f"'[{self._book_name}]{upper}'!{_norm_cell(cell)}"

    def from_formulas_key(self, key: str) -> str:
        """``"'[file.xlsx]SHEET'!C5"`` -> canonical ``"'Sheet'!C5"``."""
        m = _FORMULAS_KEY_RE.match(key)
        if not m:
            raise ValueError(f"not a formulas single-cell key: {key!r}")
        sheet = m.group("sheet")
        return cell_key(self._title_by_upper.get(sheet, sheet), m.group("cell"))

    # -- evaluation -----------------------------------------------------------

    def _inputs(self, inputs: Mapping | None) -> dict:
        out = {}
        nodes = self.model.dsp.data_nodes
        for key, value in (inputs or {}).items():
            sheet, cell = parse_key(key)
            fkey = self.formulas_key(sheet, cell)  # KeyError for unknown sheets
            if cell_key(self._title_by_upper[sheet.upper()], cell) in self._formula_set:
                raise ValueError(f"{key!r} is a formula cell, not an input")
            if fkey in nodes:  # other cells cannot influence any formula
                out[fkey] = _to_formulas_input(value)
        return out

    def calculate(
        self,
        inputs: Mapping | None = None,
        outputs: Iterable | None = None,
        *,
        strict: bool = True,
    ) -> dict[str, object]:
        """Evaluate with ``inputs`` replacing template values.

        ``inputs``: ``{key: value}``, keys as accepted by :func:`parse_key`,
        values None (empty cell), str, bool, int, float or date/datetime.
        Cells that no formula depends on are ignored; formula cells and
        unknown sheets raise.
        ``outputs``: keys to compute (default: every formula cell); computing
        fewer is faster.
        Returns ``{canonical key: plain value}`` (see :func:`to_python`).
        With ``strict`` (default) raises :class:`EvaluationError` if a
        requested formula cell could not be evaluated; otherwise it is None.
        """
        if outputs is None:
            keys = list(self.formula_keys)
        else:
            keys = [cell_key(*parse_key(k)) for k in outputs]
            for k in keys:
                self.formulas_key(*parse_key(k))  # validate the sheet
        fkeys = {k: self._fkey.get(k) or self.formulas_key(*parse_key(k)) for k in keys}
        with self._lock:
            sol = self.model.calculate(
                inputs=self._inputs(inputs),
                outputs=None if outputs is None else list(fkeys.values()),
            )
        results, missing = {}, []
        for k, fk in fkeys.items():
            if fk in sol:
                results[k] = to_python(sol[fk])
            else:
                results[k] = None  # not evaluated, or an empty unreferenced cell
                if k in self._formula_set:
                    missing.append(k)
        if missing and strict:
            raise EvaluationError(missing, results)
        return results

    def calculate_sheets(
        self, inputs: Mapping | None = None, *, strict: bool = True
    ) -> dict[str, dict[str, object]]:
        """Like :meth:`calculate`, nested as ``{sheet title: {"A1": value}}``."""
        return nest(self.calculate(inputs, strict=strict))


def nest(results: Mapping[str, object]) -> dict[str, dict[str, object]]:
    """``{"'S'!A1": v}`` -> ``{"S": {"A1": v}}``."""
    out: dict[str, dict[str, object]] = {}
    for k, v in results.items():
        sheet, cell = parse_key(k)
        out.setdefault(sheet, {})[cell] = v
    return out


def evaluate_file(
    path: str | os.PathLike, *, strict: bool = True, excel_compat: bool = True
) -> dict[str, dict[str, object]]:
    """Evaluate a workbook file as it is.

    Returns ``{sheet title: {"A1": value}}`` for every formula cell (sheets
    without formulas are absent), values as in :func:`to_python`.
    """
    cw = CompiledWorkbook(path, excel_compat=excel_compat)
    return cw.calculate_sheets(strict=strict)
