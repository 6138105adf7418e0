"""Excel compatibility patches for the `formulas` package, for exactly what the template emits
(`jixiao.verify.formulas_oracle` compiles with them).

The template's formulas use the functions ABS, AND, IF, IFERROR, ISNUMBER, MAX, MIN, OR, ROUND,
SUM and TEXT (format code "0.00%"), the operators ``+ - * / &`` and the comparisons
(`EMITTED_FUNCTIONS`; a test scans every formula of the generated workbooks against it, so a
function added to the template must be checked here first).  ``formulas`` 1.3.x differs from
Excel / WPS in some of them; `formulas_oracle` compiles with these replaced by Excel-faithful
versions (:func:`excel_compat`; vanilla ``formulas`` is restored afterwards, the compiled model
keeps the patches):

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
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
import threading
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

import numpy as np
import schedula as sh
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

from jixiao.numeric import decimal15, excel_round, round15
from jixiao.textformat import general_text

__all__ = [
    "EMITTED_FUNCTIONS",
    "PATCHED_FUNCTIONS",
    "PATCHED_OPERATORS",
    "excel_compat",
    "excel_compat_installed",
    "excel_number_to_text",
    "is_real_number",
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
    return general_text(x)


def is_real_number(v) -> bool:
    return isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))


def _excel_str(v) -> str:
    """Excel's text coercion of a scalar (for ``&``)."""
    if isinstance(v, (bool, np.bool_)):
        return "TRUE" if v else "FALSE"
    if is_real_number(v):
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
    if is_real_number(v) and math.isfinite(v):
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
                if is_real_number(v):
                    out.append(float(v))
        elif isinstance(a, XlError):
            raise FoundError(err=a)
        elif a is sh.EMPTY or a is None:
            continue
        elif isinstance(a, (bool, np.bool_)) or is_real_number(a):
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
                _fx_info.iserror, check=is_real_number, array=_fx_info.FalseArray
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
#: Names of the ``formulas`` functions replaced inside :func:`excel_compat`.
PATCHED_FUNCTIONS = tuple(sorted(_PATCH_FUNCTIONS))
#: Operators replaced inside :func:`excel_compat`.
PATCHED_OPERATORS = tuple(sorted(_PATCH_OPERATORS))
_VANILLA_FUNCTIONS = {k: get_functions()[k] for k in _PATCH_FUNCTIONS}
_VANILLA_OPERATORS = {k: _fx_operators.OPERATORS[k] for k in _PATCH_OPERATORS}
_patch_lock = threading.RLock()


def _install(enabled: bool) -> None:
    # Process-global: formulas binds functions when a formula is compiled, so compiled models
    # keep whatever was installed then.
    get_functions().update(_PATCH_FUNCTIONS if enabled else _VANILLA_FUNCTIONS)
    _fx_operators.OPERATORS.update(_PATCH_OPERATORS if enabled else _VANILLA_OPERATORS)


def excel_compat_installed() -> bool:
    """Whether the Excel patches are currently installed."""
    return get_functions()["ROUND"] is _PATCH_FUNCTIONS["ROUND"]


@contextlib.contextmanager
def excel_compat(enabled: bool = True):
    """Compile with (``enabled``) or without the Excel patches, restoring the
    previous global state afterwards.  Holds a lock for the duration."""
    with _patch_lock:
        before = excel_compat_installed()
        _install(enabled)
        try:
            yield
        finally:
            _install(before)
