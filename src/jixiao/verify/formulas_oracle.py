"""The `formulas` package (https://formulas.readthedocs.io) as an oracle: it evaluates a
generated workbook's own formulas in Python, independently of `jixiao.engine`, so the demo and
the tests can prove that the two agree cell for cell.

A verification tool, not on the `jixiao check` / `jixiao import` / add-in path (a test asserts
that those never import it).  `formulas` nonetheless stays a core dependency, imported lazily
here only: README's first command, ``pip install -e . && jixiao demo``, recomputes the filled
workbooks through this module, and pip has no "default extras" that a plain install would get.

Excel compatibility patches, for what the template emits
--------------------------------------------------------
The template's formulas use the functions ABS, AND, IF, IFERROR, ISNUMBER, MAX, MIN, OR, ROUND,
SUM and TEXT (format code "0.00%"), the operators ``+ - * / &`` and the comparisons
(`EMITTED_FUNCTIONS`; a test scans every formula of the generated workbooks against it, so a
function added to the template must be checked here first).  ``formulas`` 1.3.x differs from
Excel / WPS in some of them; :class:`CompiledWorkbook` / :func:`evaluate_file` compile with
these replaced by Excel-faithful versions (:func:`excel_compat`; vanilla ``formulas`` is
restored afterwards, the compiled model keeps the patches):

``ROUND``
    vanilla rounds the raw double: ``ROUND(21.9/0.2,0)`` = 109.  Excel first takes the value to
    15 significant digits: 110 (:mod:`jixiao.numeric`).
``TEXT``
    vanilla formats the raw double with ties-to-even: ``TEXT(2.5,"0")`` = "2",
    ``TEXT(0.125,"0.00")`` = "0.12", ``TEXT(21.9/0.2,"0")`` = "109"; Excel: "3", "0.13", "110"
    (and so for ``"0.00%"``).  Like Excel, a small negative number keeps its sign:
    ``TEXT(-0.001,"0.00")`` = "-0.00".  Only single-section number codes are handled (the
    template writes no others).
``&``
    vanilla turns numbers into text with ``str()``: ``1/3&""`` = "0.3333333333333333",
    ``(0.1+0.2)&""`` = "0.30000000000000004", ``1E+20&""`` = "100000000000000000000".  Excel
    uses at most 15 significant digits ("0.333333333333333", "0.3", "1E+20").
``=`` ``<>`` ``<`` ``>`` ``<=`` ``>=``
    vanilla compares raw doubles: ``0.1+0.2=0.3`` and ``21.9/0.2=109.5`` are FALSE.  Excel
    rounds both numeric operands to 15 significant digits just for the comparison: TRUE.
``ISNUMBER``
    vanilla: TRUE for numeric-looking text (``ISNUMBER("1")``, or a cell holding the text "1");
    Excel: FALSE.
``SUM`` / ``MIN`` / ``MAX``
    vanilla counts numeric text inside references (a cell holding the text "1" adds 1 to SUM;
    MIN/MAX return the text or #VALUE!).  Excel ignores text, booleans and empty cells in
    references and arrays, and coerces only literal arguments (``SUM("1",TRUE)`` = 2).
    Deviation kept: an argument that is an *expression* yielding text or a boolean is ignored
    here, Excel would coerce it -- templates must not rely on that.

Checked and left alone (vanilla matches Excel): IF, AND, OR, ABS, IFERROR, string comparison
(case-insensitive), empty cells in arithmetic (0), compared with "" (TRUE) and concatenated ("").

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
import functools
import io
import math
import os
import re
import threading
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

import numpy as np
import schedula as sh

import formulas
from formulas.errors import FoundError
from formulas.functions import (
    Error,
    XlError,
    get_functions,
    replace_empty,
    wrap_func,
    wrap_ranges_func,
    wrap_ufunc,
)
from formulas.functions import info as _fx_info
from formulas.functions import operators as _fx_operators
from formulas.functions import text as _fx_text
from formulas.excel import BOOK
from formulas.ranges import Ranges

from jixiao.numeric import decimal15, excel_round, round15

__all__ = [
    "EMITTED_FUNCTIONS",
    "PATCHED_FUNCTIONS",
    "PATCHED_OPERATORS",
    "CompiledWorkbook",
    "EvaluationError",
    "cell_key",
    "evaluate_file",
    "excel_compat",
    "excel_compat_installed",
    "excel_number_to_text",
    "install_excel_compat",
    "nest",
    "parse_key",
    "to_python",
    "uninstall_excel_compat",
]

#: The functions the generated workbooks use: each is patched below or checked to need no patch.
EMITTED_FUNCTIONS = frozenset({"ABS", "AND", "IF", "IFERROR", "ISNUMBER", "MAX", "MIN", "OR", "ROUND", "SUM", "TEXT"})

# ---------------------------------------------------------------------------
# Excel-compatible replacements
# ---------------------------------------------------------------------------


def excel_number_to_text(x: float) -> str:
    """Text Excel makes of a number in ``&`` ("General" format).

    At most 15 significant digits, no trailing zeros; E notation
    (``1E+20``, ``1.5E-10``) outside ``1e-9 <= |x| < 1e15``.
    """
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"not a finite number: {x!r}")
    if x == 0:
        return "0"
    d = decimal15(x).normalize()
    if Decimal("1e-9") <= abs(d) < Decimal("1e15"):
        return format(d, "f")
    sign, digits, exp = d.as_tuple()
    mantissa = "".join(map(str, digits))
    exp10 = exp + len(digits) - 1
    if len(mantissa) > 1:
        mantissa = mantissa[0] + "." + mantissa[1:]
    return f"{'-' if sign else ''}{mantissa}E{'+' if exp10 >= 0 else '-'}{abs(exp10):02d}"


def _is_real_number(v) -> bool:
    return isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))


def _excel_str(v) -> str:
    """Excel's text coercion of a scalar (for ``&``)."""
    if isinstance(v, (bool, np.bool_)):
        return "TRUE" if v else "FALSE"
    if _is_real_number(v):
        return excel_number_to_text(v)
    return str(v)


def _rounder(func):
    def xround(x, digits):
        return func(x, digits)

    xround.__name__ = func.__name__
    return wrap_ufunc(xround)  # same argument handling as vanilla ROUND


_WIDE = Context(prec=800)  # room for every digit of any double


def _format_number_excel(value, codes, types, fstr, mul):
    # Vanilla formats value*mul with ``format(float, fstr)``: binary value and
    # ties-to-even.  Round like Excel instead (15 significant digits, then
    # half away from zero) and hand vanilla an exact Decimal, whose
    # ``format`` then has nothing left to round.
    if not fstr.endswith("f"):
        return _fx_text._format_number(value, codes, types, fstr, mul)
    decimals = int(fstr.rsplit(".", 1)[1][:-1])
    with localcontext(_WIDE):
        q = (decimal15(value) * mul).quantize(
            Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP
        )
        return _fx_text._format_number(q / mul, codes, types, fstr, mul)


def _xtext_excel(value, format_code):
    # formulas.functions.text.xtext with Excel's rounding (_format_number_excel)
    if isinstance(value, (np.bool_, bool)):
        return str(bool(value)).upper()
    try:
        value = _fx_text.xvalue(value)
    except (ValueError, TypeError, AssertionError):
        return value
    format_code = str(format_code)
    for check, codes, types, fstr, mul in _fx_text._parse_format_code(format_code):
        if not check(value):
            continue
        if "date" in types or "time" in types:
            codes = _fx_text._format_datetime(value, codes, types)
        else:
            codes = _format_number_excel(value, codes, types, fstr, mul)
        return "".join(codes)
    raise ValueError(f"no section of {format_code!r} applies to {value!r}")


def _round15_operand(v):
    if _is_real_number(v) and math.isfinite(v):
        return round15(v)
    return v


def _compare_input_parser(x, y):
    (xti, x), (yti, y) = _fx_operators.logic_input_parser(x, y)
    if xti == 0 == yti:  # both numbers: compare at 15 significant digits
        x, y = _round15_operand(x), _round15_operand(y)
    return (xti, x), (yti, y)


_NUMBER_TEXT_RE = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*(%?)\s*$")


def _text_to_number(text: str):
    """Number in ``text`` the way Excel coerces text (None if it is not one)."""
    m = _NUMBER_TEXT_RE.match(text)
    if not m:
        return None
    value = float(text.strip().rstrip("%"))
    return value / 100 if m.group(3) else value


def _aggregate_numbers(args):
    """Numbers SUM/MIN/MAX see, Excel style.

    Array arguments (references, ranges, array constants, expression
    results) contribute only their real numbers: text -- even "1" --, booleans
    and empty cells are ignored.  Literal scalar arguments are coerced:
    TRUE -> 1, "3" -> 3, other text -> #VALUE!.  The first error wins.
    """
    out = []
    for a in args:
        if isinstance(a, np.ndarray):
            for v in a.ravel().tolist():
                if isinstance(v, XlError):
                    raise FoundError(err=v)
                if _is_real_number(v):
                    out.append(float(v))
        elif isinstance(a, XlError):
            raise FoundError(err=a)
        elif a is sh.EMPTY or a is None:
            continue
        elif isinstance(a, (bool, np.bool_)) or _is_real_number(a):
            out.append(float(a))
        elif isinstance(a, str):
            v = _text_to_number(a)
            if v is None:
                raise FoundError(err=Error.errors["#VALUE!"])
            out.append(v)
        else:
            raise FoundError(err=Error.errors["#VALUE!"])
    return out


def _xsum(*args):
    total = 0.0
    for v in _aggregate_numbers(args):  # left to right, like Excel
        total += v
    return total


def _xmin(*args):
    return min(_aggregate_numbers(args), default=0.0)


def _xmax(*args):
    return max(_aggregate_numbers(args), default=0.0)


def _build_patches():
    functions = {
        "ROUND": _rounder(excel_round),
        "TEXT": wrap_ufunc(_xtext_excel, input_parser=lambda *a: a),
        "SUM": wrap_func(_xsum),
        "MIN": wrap_func(_xmin),
        "MAX": wrap_func(_xmax),
        "ISNUMBER": wrap_ranges_func(
            functools.partial(
                _fx_info.iserror, check=_is_real_number, array=_fx_info.FalseArray
            )
        ),
    }
    operators = {
        "&": wrap_ufunc(
            lambda x, y: x + y,
            input_parser=lambda *a: map(_excel_str, a),
            args_parser=lambda *a: (replace_empty(v, "") for v in a),
        ),
    }
    for op, fn in _fx_operators.LOGIC_OPERATORS.items():
        operators[op] = wrap_ufunc(
            fn, input_parser=_compare_input_parser, args_parser=lambda *a: a
        )
    return functions, operators


_PATCH_FUNCTIONS, _PATCH_OPERATORS = _build_patches()
#: Names of the ``formulas`` functions replaced by :func:`install_excel_compat`.
PATCHED_FUNCTIONS = tuple(sorted(_PATCH_FUNCTIONS))
#: Operators replaced by :func:`install_excel_compat`.
PATCHED_OPERATORS = tuple(sorted(_PATCH_OPERATORS))
_VANILLA_FUNCTIONS = {k: get_functions()[k] for k in _PATCH_FUNCTIONS}
_VANILLA_OPERATORS = {k: _fx_operators.OPERATORS[k] for k in _PATCH_OPERATORS}
_patch_lock = threading.RLock()


def install_excel_compat() -> None:
    """Make ``formulas`` behave like Excel for the patched functions/operators.

    Process-global and idempotent.  Functions are bound when a formula is
    compiled, so this must run before compiling.  :class:`CompiledWorkbook`
    and :func:`evaluate_file` do not need it: they switch the patches on just
    for their own compilation (see :func:`excel_compat`).
    """
    with _patch_lock:
        get_functions().update(_PATCH_FUNCTIONS)
        _fx_operators.OPERATORS.update(_PATCH_OPERATORS)


def uninstall_excel_compat() -> None:
    """Restore vanilla ``formulas``.  Already compiled formulas keep the
    functions they were compiled with."""
    with _patch_lock:
        get_functions().update(_VANILLA_FUNCTIONS)
        _fx_operators.OPERATORS.update(_VANILLA_OPERATORS)


def excel_compat_installed() -> bool:
    """Whether the Excel patches are currently installed."""
    return get_functions()["ROUND"] is _PATCH_FUNCTIONS["ROUND"]


@contextlib.contextmanager
def excel_compat(enabled: bool = True):
    """Compile with (``enabled``) or without the Excel patches, restoring the
    previous global state afterwards.  Holds a lock for the duration."""
    with _patch_lock:
        before = excel_compat_installed()
        (install_excel_compat if enabled else uninstall_excel_compat)()
        try:
            yield
        finally:
            (install_excel_compat if before else uninstall_excel_compat)()


_compat = excel_compat  # the name is shadowed by keyword arguments below


# ---------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------

_CELL_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?([1-9][0-9]*)$")
_FORMULAS_KEY_RE = re.compile(r"^'\[(?P<book>.+?)\](?P<sheet>.+)'!(?P<cell>[A-Z]+[0-9]+)$")


def _norm_cell(cell: str) -> str:
    m = _CELL_RE.match(cell.strip())
    if not m:
        raise ValueError(f"not a single-cell A1 reference: {cell!r}")
    return m.group(1).upper() + m.group(2)


def _quote_sheet(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


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
    if _is_real_number(value):
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
