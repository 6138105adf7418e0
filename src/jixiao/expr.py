"""Spreadsheet expressions defined once: rendered as an Excel formula, evaluated in Python.

Every rule kind and every cross-check builds one expression tree.  The same tree writes the
live formula into the workbook and computes the score in Python, so the two cannot drift apart
in operation order.  Evaluation follows Excel's (and LibreOffice's) semantics where they differ
from plain Python: an empty cell is 0 in arithmetic and "" in text, numbers are compared and
rounded at 15 significant digits, ROUND rounds half away from zero, and a number joined to text
shows in the General format.

Only functions that Excel 2010 and WPS both have are offered here; `ALLOWED_FUNCTIONS` is the
list the template tests scan against.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jixiao.numeric import excel_round
from jixiao.textformat import general_text, text_format

from jixiao.excel_values import (  # noqa: F401  (re-exported: the tree's value vocabulary)
    ErrorValue, FormulaError, as_bool, as_number, as_text, compare, text_number,
)

ALLOWED_FUNCTIONS = frozenset(
    {"IF", "AND", "OR", "NOT", "MIN", "MAX", "ROUND", "ABS", "SUM", "IFERROR", "TEXT",
     "ISNUMBER", "LEFT", "LEN", "COUNTIF", "INDEX", "MATCH"}
)


# --------------------------------------------------------------------------- the tree

class Expr:
    """A node.  Arithmetic and comparison operators build bigger nodes."""

    def evaluate(self, values: Mapping[str, Any]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def excel(self, refs: Callable[[str], str]) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def compile(self) -> Callable[[Mapping[str, Any]], Any]:
        """A closure computing the same value as `evaluate`, without walking the tree each time
        (the engine evaluates every cell of every workbook: this is its hot path)."""
        return self.evaluate

    def names(self) -> set[str]:
        """Every field or measure id this expression reads."""
        out: set[str] = set()
        for child in self.children():
            out |= child.names()
        return out

    def children(self) -> tuple[Expr, ...]:
        return ()

    def functions(self) -> set[str]:
        out: set[str] = set()
        for child in self.children():
            out |= child.functions()
        return out

    # operators
    def __add__(self, other: Any) -> Expr: return Binary("+", self, lift(other))
    def __radd__(self, other: Any) -> Expr: return Binary("+", lift(other), self)
    def __sub__(self, other: Any) -> Expr: return Binary("-", self, lift(other))
    def __rsub__(self, other: Any) -> Expr: return Binary("-", lift(other), self)
    def __mul__(self, other: Any) -> Expr: return Binary("*", self, lift(other))
    def __rmul__(self, other: Any) -> Expr: return Binary("*", lift(other), self)
    def __truediv__(self, other: Any) -> Expr: return Binary("/", self, lift(other))
    def __rtruediv__(self, other: Any) -> Expr: return Binary("/", lift(other), self)
    def __lt__(self, other: Any) -> Expr: return Binary("<", self, lift(other))
    def __le__(self, other: Any) -> Expr: return Binary("<=", self, lift(other))
    def __gt__(self, other: Any) -> Expr: return Binary(">", self, lift(other))
    def __ge__(self, other: Any) -> Expr: return Binary(">=", self, lift(other))

    def eq(self, other: Any) -> Expr:
        return Binary("=", self, lift(other))

    def ne(self, other: Any) -> Expr:
        return Binary("<>", self, lift(other))

    __hash__ = object.__hash__


class Const(Expr):
    __slots__ = ("value",)

    def __init__(self, value: float | str | bool):
        # numbers are doubles, as in a spreadsheet (and the arithmetic fast path expects floats)
        self.value = float(value) if type(value) is int else value

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        return self.value

    def compile(self) -> Callable[[Mapping[str, Any]], Any]:
        value = self.value
        return lambda values: value

    def excel(self, refs: Callable[[str], str]) -> str:
        v = self.value
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        if isinstance(v, str):
            return '"' + v.replace('"', '""') + '"'
        text = general_text(float(v))
        return f"({text})" if text.startswith("-") else text


class Ref(Expr):
    """A field or a measure, by id; the workbook writes it as the cell it lives in."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        value = values.get(self.name)
        if type(value) is ErrorValue:
            raise FormulaError(value)
        return value

    def compile(self) -> Callable[[Mapping[str, Any]], Any]:
        name = self.name

        def get(values: Mapping[str, Any]) -> Any:
            value = values.get(name)
            if type(value) is ErrorValue:
                raise FormulaError(value)
            return value
        return get

    def excel(self, refs: Callable[[str], str]) -> str:
        return refs(self.name)

    def names(self) -> set[str]:
        return {self.name}


_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
}
_CMP: dict[str, Callable[[int], bool]] = {
    "<": lambda c: c < 0, "<=": lambda c: c <= 0, ">": lambda c: c > 0,
    ">=": lambda c: c >= 0, "=": lambda c: c == 0, "<>": lambda c: c != 0,
}


class Binary(Expr):
    __slots__ = ("op", "left", "right")

    def __init__(self, op: str, left: Expr, right: Expr):
        self.op, self.left, self.right = op, left, right

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        return _binary(self.op, self.left.evaluate(values), self.right.evaluate(values))

    def compile(self) -> Callable[[Mapping[str, Any]], Any]:
        op, left, right = self.op, self.left.compile(), self.right.compile()
        if op in _CMP:
            test = _CMP[op]
            if op in ("=", "<>") and isinstance(self.right, Const) and isinstance(self.right.value, str):
                # cell = "是" / cell <> "": the commonest test in the template, made cheap
                const, equal = self.right.value.lower(), op == "="

                def text_test(values: Mapping[str, Any]) -> bool:
                    a = left(values)
                    if a is None or type(a) is str:
                        return ((a or "").lower() == const) == equal
                    return test(compare(a, const))
                return text_test
            return lambda values: test(compare(left(values), right(values)))
        if op in _ARITH:
            fn = _ARITH[op]

            def arith(values: Mapping[str, Any]) -> Any:
                a, b = left(values), right(values)
                if type(a) is float and type(b) is float:
                    return fn(a, b)
                return fn(as_number(a), as_number(b))
            return arith
        return lambda values: _binary(op, left(values), right(values))

    def excel(self, refs: Callable[[str], str]) -> str:
        return f"{_paren(self.left, refs)}{self.op}{_paren(self.right, refs)}"


def _binary(op: str, a: Any, b: Any) -> Any:
    if op in _CMP:
        return _CMP[op](compare(a, b))
    x, y = as_number(a), as_number(b)
    if op == "/":
        if y == 0:
            raise FormulaError("#DIV/0!")
        return x / y
    return _ARITH[op](x, y)


def _paren(e: Expr, refs: Callable[[str], str]) -> str:
    text = e.excel(refs)
    return f"({text})" if isinstance(e, (Binary, Concat)) else text


class Concat(Expr):
    __slots__ = ("parts",)

    def __init__(self, parts: tuple[Expr, ...]):
        self.parts = parts

    def children(self) -> tuple[Expr, ...]:
        return self.parts

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        return "".join(as_text(p.evaluate(values)) for p in self.parts)

    def compile(self) -> Callable[[Mapping[str, Any]], Any]:
        parts = [p.compile() for p in self.parts]
        return lambda values: "".join([as_text(p(values)) for p in parts])

    def excel(self, refs: Callable[[str], str]) -> str:
        return "&".join(_paren(p, refs) for p in self.parts)


# A function gets its arguments as thunks (callables of the values), so IF and IFERROR can be
# lazy like Excel: the branch not taken is never evaluated (it may divide by zero).
Thunk = Callable[[Mapping[str, Any]], Any]


def _f_if(args: list[Thunk], values: Mapping[str, Any]) -> Any:
    if as_bool(args[0](values)):
        return args[1](values)
    return args[2](values) if len(args) > 2 else False


def _f_iferror(args: list[Thunk], values: Mapping[str, Any]) -> Any:
    try:
        return args[0](values)
    except FormulaError:
        return args[1](values)


def _f_isnumber(args: list[Thunk], values: Mapping[str, Any]) -> bool:
    # ISNUMBER of an error value is FALSE, not the error (ISNUMBER(A1+0) tests a usable number)
    try:
        v = args[0](values)
    except FormulaError:
        return False
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _strict(fn: Callable[..., Any]) -> Callable[[list[Thunk], Mapping[str, Any]], Any]:
    def run(args: list[Thunk], values: Mapping[str, Any]) -> Any:
        return fn(*[a(values) for a in args])
    return run


def excel_sum(*vals: Any) -> float:
    """SUM over cells skips text and empties (unlike +), as Excel does for references."""
    total = 0.0
    for v in vals:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            total += v
    return total


_FUNCS: dict[str, Callable[[list[Thunk], Mapping[str, Any]], Any]] = {
    "IF": _f_if,
    "IFERROR": _f_iferror,
    "AND": _strict(lambda *v: all(as_bool(x) for x in v)),
    "OR": _strict(lambda *v: any(as_bool(x) for x in v)),
    "NOT": _strict(lambda v: not as_bool(v)),
    "MIN": _strict(lambda *v: min(as_number(x) for x in v)),
    "MAX": _strict(lambda *v: max(as_number(x) for x in v)),
    "ABS": _strict(lambda v: abs(as_number(v))),
    "ROUND": _strict(lambda v, d: excel_round(as_number(v), int(as_number(d)))),
    "SUM": _strict(excel_sum),
    "ISNUMBER": _f_isnumber,
    "TEXT": _strict(lambda v, fmt: text_format(as_number(v), fmt)),
    "LEN": _strict(lambda v: float(len(as_text(v)))),
    "LEFT": _strict(lambda v, n: as_text(v)[: int(as_number(n))]),
}


class Call(Expr):
    __slots__ = ("name", "args")

    def __init__(self, name: str, args: tuple[Expr, ...]):
        if name not in _FUNCS:
            raise ValueError(f"function {name} is not available in Excel 2010 and WPS alike")
        self.name, self.args = name, args

    def children(self) -> tuple[Expr, ...]:
        return self.args

    def functions(self) -> set[str]:
        return super().functions() | {self.name}

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        return _FUNCS[self.name]([a.evaluate for a in self.args], values)

    def compile(self) -> Callable[[Mapping[str, Any]], Any]:
        fn, args = _FUNCS[self.name], [a.compile() for a in self.args]
        return lambda values: fn(args, values)

    def excel(self, refs: Callable[[str], str]) -> str:
        return f"{self.name}(" + ",".join(a.excel(refs) for a in self.args) + ")"


# --------------------------------------------------------------------------- builders

def lift(value: Any) -> Expr:
    if isinstance(value, Expr):
        return value
    if isinstance(value, (int, float, str, bool)):
        return Const(value)
    raise TypeError(f"cannot use {value!r} in an expression")


def ref(name: str) -> Ref:
    return Ref(name)


def number(name: str) -> Expr:
    """A numeric input used as a number: `cell+0`.  Empty is 0 and a number stored as text is
    converted, as in any arithmetic; other text (55人) is #VALUE!, which the 审核 sheet reports
    (checks.usable_number_checks).  A bare reference would let MIN, MAX and SUM skip such a
    cell silently and a comparison rank text above every number."""
    return Binary("+", Ref(name), Const(0.0))


def usable(name: str) -> Expr:
    """Whether a numeric input is empty or a number the workbook's formulas can compute with."""
    return call("ISNUMBER", number(name))


def call(name: str, *args: Any) -> Call:
    return Call(name, tuple(lift(a) for a in args))


def if_(cond: Any, then: Any, otherwise: Any) -> Call:
    return call("IF", cond, then, otherwise)


def min_(*args: Any) -> Call:
    return call("MIN", *args)


def max_(*args: Any) -> Call:
    return call("MAX", *args)


def round_(value: Any, digits: int) -> Call:
    return call("ROUND", value, digits)


def sum_(*args: Any) -> Call:
    return call("SUM", *args)


def text(value: Any, fmt: str) -> Call:
    return call("TEXT", value, fmt)


def concat(*parts: Any) -> Expr:
    flat: list[Expr] = []
    for p in parts:
        e = lift(p)
        if isinstance(e, Concat):
            flat.extend(e.parts)
        elif not (isinstance(e, Const) and e.value == ""):
            flat.append(e)
    if not flat:
        return Const("")
    return flat[0] if len(flat) == 1 else Concat(tuple(flat))


def clip(value: Any, low: float, high: float) -> Call:
    return min_(max_(value, low), high)


def choose(branches: list[tuple[Expr, Any]], otherwise: Any) -> Expr:
    """Nested IF: the first branch whose condition holds."""
    out = lift(otherwise)
    for cond, value in reversed(branches):
        out = if_(cond, value, out)
    return out
