"""A framework's computed cells as one generated Python function.

The engine evaluates every cell of every workbook a check or an import reads; walking the
expression trees (or calling one closure per node) made that a third of a check.  Here the
whole list of cells becomes straight-line Python source -- one statement per node, temporaries
in local variables, IF as `if`/`else` (the branch not taken is never evaluated, as in Excel),
IFERROR and ISNUMBER as `try`/`except` -- compiled once per framework and process.

The semantics are the tree's own, helper for helper (`expr.as_number`, `expr.compare`,
`numeric.excel_round`, ...): `Expr.evaluate` stays the reference, and a property test holds the
two equal on random inputs.  A node this module does not know, or a cell nested too deep for
Python's indentation limit, is evaluated by the tree for that cell.

The function is built from the trees, never pickled: the framework cache keeps the trees, and
`framework.code_cache` keeps the compiled bytecode of the generated text (compiling it takes
~200 ms, generating it ~10 ms), also under the framework's identity, so that a process with a
valid entry generates nothing."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from jixiao.expr import (Binary, Call, Concat, Const, ErrorValue, Expr, FormulaError, Ref, as_bool, as_number,
                         as_text, compare, excel_sum)
from jixiao.numeric import excel_round
from jixiao.textformat import general_text, text_format

_MAX_DEPTH = 80  # Python allows 100 nested blocks; a deeper cell is left to the tree


class _TooDeep(Exception):
    pass


class _Unknown(Exception):
    pass


# --------------------------------------------------------------------------- value helpers
# Each is the value-level twin of the function of the same name in expr._FUNCS.

def _num(v: Any) -> float:
    if type(v) is float:
        return v
    return 0.0 if v is None else as_number(v)  # an empty cell, the commonest other case


def _txt(v: Any) -> str:
    if type(v) is str:
        return v
    return general_text(v) if type(v) is float else as_text(v)  # a number joined with &: as as_text


def _div(a: Any, b: Any) -> float:
    x, y = as_number(a), as_number(b)
    if y == 0:
        raise FormulaError("#DIV/0!")
    return x / y


def _and(*v: Any) -> bool:
    return all(as_bool(x) for x in v)


def _or(*v: Any) -> bool:
    return any(as_bool(x) for x in v)


def _min(*v: Any) -> float:
    return min([x if type(x) is float else as_number(x) for x in v])


def _max(*v: Any) -> float:
    return max([x if type(x) is float else as_number(x) for x in v])


fast_round = excel_round  # (numeric.excel_round avoids Decimal in the usual case)


def _round(v: Any, d: Any) -> float:
    return fast_round(as_number(v), int(as_number(d)))


def _isnumber(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _raise(v: Any) -> Any:
    raise FormulaError(v)


_STRICT = {
    "MIN": "_min", "MAX": "_max", "SUM": "_sum", "ROUND": "_round",
    "ABS": "_abs", "TEXT": "_text", "LEN": "_len", "LEFT": "_left",
}
_BOOL_CMP = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "=": "==", "<>": "!="}

NAMESPACE: dict[str, Any] = {
    "_EV": ErrorValue, "_FE": FormulaError, "_raise": _raise, "_num": _num, "_txt": _txt, "_div": _div,
    "_and": _and, "_or": _or, "_not": lambda v: not as_bool(v), "_truth": as_bool, "_cmp": compare,
    "_min": _min, "_max": _max, "_sum": excel_sum, "_round": _round, "_fround": fast_round, "_isnum": _isnumber,
    "_abs": lambda v: abs(as_number(v)), "_text": lambda v, fmt: text_format(as_number(v), fmt),
    "_len": lambda v: float(len(as_text(v))), "_left": lambda v, n: as_text(v)[: int(as_number(n))],
}


# --------------------------------------------------------------------------- code generation

class _Cell:
    """The statements of one cell: `emit` appends lines, returns the atom (a literal or a
    local name) holding the node's value."""

    def __init__(self, consts: dict[str, Any]):
        self.lines: list[str] = []
        self.n = 0
        self.consts = consts

    def tmp(self) -> str:
        self.n += 1
        return f"t{self.n}"

    def line(self, depth: int, text: str) -> None:
        if depth > _MAX_DEPTH:
            raise _TooDeep
        self.lines.append("    " * depth + text)

    def literal(self, value: Any) -> str:
        if isinstance(value, float) and not math.isfinite(value) or not isinstance(value, (str, float, bool)):
            name = f"k{len(self.consts)}"
            self.consts[name] = value
            return name
        return repr(value)

    def emit(self, e: Expr, d: int) -> str:
        if type(e) is Const:
            return self.literal(e.value)
        if type(e) is Ref:
            t = self.tmp()
            self.line(d, f"{t} = g({e.name!r})")
            self.line(d, f"if type({t}) is _EV: _raise({t})")
            return t
        if type(e) is Binary:
            return self.binary(e, d)
        if type(e) is Concat:
            parts = []
            for p in e.parts:
                if type(p) is Const:
                    parts.append(repr(as_text(p.value)))
                else:
                    a = self.emit(p, d)
                    parts.append(f"({a} if type({a}) is str else _txt({a}))")
            t = self.tmp()
            self.line(d, f"{t} = {' + '.join(parts) or repr('')}")
            return t
        if type(e) is Call:
            return self.call(e, d)
        raise _Unknown(type(e).__name__)

    def binary(self, e: Binary, d: int) -> str:
        op = e.op
        a = self.emit(e.left, d)
        b = self.emit(e.right, d)
        t = self.tmp()
        if op in ("+", "-", "*"):
            if type(e.right) is Const and type(e.right.value) is float:
                self.line(d, f"{t} = {a} {op} {b} if type({a}) is float else _num({a}) {op} {b}")
            elif type(e.left) is Const and type(e.left.value) is float:
                self.line(d, f"{t} = {a} {op} {b} if type({b}) is float else {a} {op} _num({b})")
            else:
                self.line(d, f"{t} = {a} {op} {b} if type({a}) is float and type({b}) is float "
                             f"else _num({a}) {op} _num({b})")
        elif op == "/":
            # two doubles, the divisor not zero: divided as they are (_div would do the same)
            self.line(d, f"{t} = {a} / {b} if type({a}) is float and type({b}) is float and {b} != 0.0 "
                         f"else _div({a}, {b})")
        elif op in _BOOL_CMP:
            py = _BOOL_CMP[op]
            if (op in ("=", "<>") and type(e.right) is Const and type(e.right.value) is str
                    and type(e.left) is not Const):
                # cell = "是" / cell <> "": the commonest test in the template, made cheap
                # (a number is never equal to text: compare() ranks numbers below it)
                const = repr(e.right.value.lower())
                self.line(d, f"{t} = ({a} or '').lower() {py} {const} if {a} is None or type({a}) is str "
                             f"else {op == '<>'} if type({a}) is float else _cmp({a}, {const}) {py} 0")
            elif type(e.left) is not Const or type(e.right) is not Const:
                # two doubles: compared as they are unless they are close enough for their
                # 15-digit values to be equal (rounding to 15 digits is monotonic: it can merge
                # two values, never swap them); NaN and the close ones go to compare()
                floats = " and ".join(f"type({x}) is float" for x, side in ((a, e.left), (b, e.right))
                                      if not _is_float(side))  # a float literal needs no test
                self.line(d, f"if {floats or 'True'} and ({a} == {b} or abs({a} - {b}) > 2e-14 * abs({a})):")
                self.line(d + 1, f"{t} = {a} {py} {b}")
                self.line(d, "else:")
                self.line(d + 1, f"{t} = _cmp({a}, {b}) {py} 0")
            else:
                self.line(d, f"{t} = _cmp({a}, {b}) {py} 0")
        else:
            raise _Unknown(op)
        return t

    def call(self, e: Call, d: int) -> str:
        name, args = e.name, e.args
        t = self.tmp()
        if name == "IF":
            c = self.emit(args[0], d)
            self.line(d, f"if {c if _is_bool(args[0]) else f'_truth({c})'}:")
            self.line(d + 1, f"{t} = {self.emit(args[1], d + 1)}")
            self.line(d, "else:")
            self.line(d + 1, f"{t} = {self.emit(args[2], d + 1) if len(args) > 2 else 'False'}")
        elif name in ("IFERROR", "ISNUMBER"):
            self.line(d, "try:")
            a = self.emit(args[0], d + 1)
            # ISNUMBER of arithmetic, ROUND, MIN...: a double whenever it is not an error
            self.line(d + 1, f"{t} = {a}" if name == "IFERROR" else f"{t} = True" if _is_float(args[0])
                      else f"{t} = _isnum({a})")
            self.line(d, "except _FE:")
            self.line(d + 1, f"{t} = {self.emit(args[1], d + 1)}" if name == "IFERROR" else f"{t} = False")
        elif name in ("AND", "OR", "NOT"):
            atoms = [self.emit(a, d) for a in args]
            if atoms and all(_is_bool(a) for a in args):
                joined = "not " + atoms[0] if name == "NOT" else (" & " if name == "AND" else " | ").join(atoms)
                self.line(d, f"{t} = {joined}")
            else:
                self.line(d, f"{t} = _{name.lower()}({', '.join(atoms)})")
        elif (name == "ROUND" and len(args) == 2 and type(args[1]) is Const and type(args[1].value) is float
              and math.isfinite(args[1].value)):
            a = self.emit(args[0], d)
            self.line(d, f"{t} = _fround({a} if type({a}) is float else _num({a}), {int(args[1].value)})")
        elif name in ("MIN", "MAX") and len(args) == 2:
            a, b = (self.emit(x, d) for x in args)
            # two doubles: min([a, b]) is a unless b is smaller (NaN stays where min() keeps it)
            op = "<" if name == "MIN" else ">"
            self.line(d, f"{t} = ({b} if {b} {op} {a} else {a}) if type({a}) is float and type({b}) is float "
                         f"else {_STRICT[name]}({a}, {b})")
        elif name in _STRICT:
            atoms = [self.emit(a, d) for a in args]
            self.line(d, f"{t} = {_STRICT[name]}({', '.join(atoms)})")
        else:
            raise _Unknown(name)
        return t


# what always evaluates to a double (or raises): arithmetic and the numeric functions
_FLOAT_CALLS = frozenset({"MIN", "MAX", "SUM", "ROUND", "ABS", "LEN"})


def _is_float(e: Expr) -> bool:
    if type(e) is Binary:
        return e.op in ("+", "-", "*", "/")
    if type(e) is Call:
        return e.name in _FLOAT_CALLS
    return type(e) is Const and type(e.value) is float


def _is_bool(e: Expr) -> bool:
    """The node's value is always a Python bool (so IF needs no conversion, AND no helper)."""
    if type(e) is Binary:
        return e.op in _BOOL_CMP
    if type(e) is Call:
        return e.name in ("AND", "OR", "NOT", "ISNUMBER")
    return type(e) is Const and type(e.value) is bool


def source(cells: Sequence[tuple[str, Expr]]) -> tuple[str, dict[str, Any]]:
    """The module text defining `run(values)`, and the objects it needs beside NAMESPACE
    (constants without a literal, the trees of cells left to the tree)."""
    consts: dict[str, Any] = {}
    out = ["def run(values):", "    g = values.get"]
    for i, (cid, expr) in enumerate(cells):
        body = _Cell(consts)
        try:
            atom = body.emit(expr, 2)
            lines = body.lines
        except (_TooDeep, _Unknown, RecursionError, IndexError):
            consts[f"tree{i}"] = expr.evaluate
            lines, atom = [], f"tree{i}(values)"
        out.append("    try:")
        out.extend(lines)
        out.append(f"        values[{cid!r}] = {atom}")
        out.append("    except _FE as exc:")
        out.append(f"        values[{cid!r}] = _EV(exc.code)")
    return "\n".join(out) + "\n", consts


def compile_cells(cells: Sequence[tuple[str, Expr]], required: bool = True,
                  identity: Callable[[], str] | None = None) -> Callable[[dict[str, Any]], None] | None:
    """`run(values)`: every cell's value into `values`, in order, as the loop over
    `Expr.evaluate` would put it (an Excel error as its ErrorValue).  Not `required`: None
    when the bytecode is neither cached nor cacheable (see `code_cache.compiled`).
    `identity()`: a text that determines `cells` (the engine's: the framework's digest and
    the code stamp), under which the bytecode is found without generating the source."""
    from jixiao.framework import code_cache

    key = identity() if identity is not None else ""
    if key:
        code = code_cache.by_identity(key, FILENAME)
        if code is not None:
            return _run_of(code, {})
    text, consts = source(cells)
    code = code_cache.compiled(text, FILENAME, required)
    if code is None:
        return None
    if key and not consts:  # (constants without a literal and trees are not kept by identity)
        code_cache.keep(key, FILENAME, code)
    return _run_of(code, consts)


FILENAME = "<jixiao computed cells>"


def _run_of(code: Any, consts: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    namespace = dict(NAMESPACE, **consts)
    exec(code, namespace)  # noqa: S102 - our own generated code
    return namespace["run"]


def run_closures(cells: Sequence[tuple[str, Callable[[Any], Any]]], values: dict[str, Any]) -> None:
    """Each cell by its tree's closures (`Expr.compile`): the route without generated code."""
    for cid, run in cells:
        try:
            values[cid] = run(values)
        except FormulaError as exc:
            values[cid] = ErrorValue(exc.code)


def run_tree(cells: Sequence[tuple[str, Expr]], values: dict[str, Any]) -> None:
    """The reference: each cell's tree walked by `Expr.evaluate`."""
    for cid, expr in cells:
        try:
            values[cid] = expr.evaluate(values)
        except FormulaError as exc:
            values[cid] = ErrorValue(exc.code)
