"""An `xlwings.Book` seen as the checker's `WorkbookView`, whichever engine runs it.

Desktop Excel (xlwings' COM/AppleScript engine, the ribbon add-in) gives values, formula text
and sheet protection.  The remote engine (xlwings Server: the task pane in Excel on the web,
Windows or macOS) gives only what the Office.js client sends: each sheet's values from A1 to
the last used cell, the defined names, the active sheet and selection, perhaps the
calculation mode.  No formula text and no sheet protection.  So:

* **formulas unknown** (remote engine): every cell a `jx_*` defined name points at (jixiao
  names each computed cell so, `jixiao.layout.names.computed_names`) gets the formula
  marker `SHARED` from `jixiao.xlsx.reader`, "a formula is there, its text is not
  known here".  The checker treats such a formula as intact and compares the cell's value
  with the recomputation, so a score typed over with a *different* number is still found
  (`result_mismatch` instead of `formula_overwritten`); a formula replaced by its own value, or
  edited without changing the result, is not (only `jixiao check` on the saved file sees
  formula text).  Input cells get no formula (the `input_formula` note needs formula text).
* **protection unknown**: the sheet counts as protected (no `protection_removed` warning).

`LiveBook.formulas_known` / `protection_known` say which case applies; the add-in states the
limits in its results (`addin_limits` note).  The add-in's own 校验结果 sheet is left out of the
view, so that a second 校验 does not report it as an added sheet."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from jixiao.layout.names import RESULT_SHEET
from jixiao.xlsx.refs import col_letter, parse_ref, row_of
from jixiao.xlsx.values import SHARED, RawCell, cell_type as _type, from_live as cell_value

COMPUTED_NAME_PREFIX = "jx_"
LICENSE_ENV = "XLWINGS_LICENSE_KEY"



# --------------------------------------------------------------------------- the view

@dataclass
class LiveSheet:
    name: str
    state: str = "visible"
    protection: bool | None = None  # None: not known to this engine
    cells: dict[str, RawCell] = field(default_factory=dict)

    @property
    def protected(self) -> bool:
        return True if self.protection is None else self.protection

    def cell(self, coord: str) -> RawCell | None:
        return self.cells.get(coord)

    def head(self, rows: int) -> dict[str, RawCell]:
        return {c: v for c, v in self.cells.items() if row_of(c) <= rows}

    @property
    def last_row(self) -> int:
        return max((row_of(c) for c in self.cells), default=0)


@dataclass
class LiveBook:
    """A `WorkbookView` (see jixiao.xlsx.reader) over a live workbook."""

    sheets: dict[str, LiveSheet]
    defined_names: dict[str, tuple[str, str]]
    calc_mode: str = "auto"
    formulas_known: bool = True
    protection_known: bool = True

    def cell(self, sheet: str, coord: str) -> RawCell | None:
        ws = self.sheets.get(sheet)
        return ws.cell(coord) if ws else None

    def has_cached_values(self, cells: list[tuple[str, str]]) -> bool:
        for sheet, coord in cells:
            c = self.cell(sheet, coord)
            if c is not None and c.formula is not None and c.value is not None:
                return True
        return False


@dataclass
class SheetGrid:
    """One sheet as an engine delivers it: a rectangle of values (and of formulas, where the
    engine has them) whose top-left cell is (`row`, `column`)."""

    name: str
    values: Sequence[Sequence[Any]]
    formulas: Sequence[Sequence[Any]] | None = None
    row: int = 1
    column: int = 1
    protection: bool | None = None
    state: str = "visible"


def from_grids(grids: Iterable[SheetGrid], names: dict[str, tuple[str, str]], calc_mode: str = "auto",
               skip: Iterable[str] = (RESULT_SHEET,)) -> LiveBook:
    """The view from sheet grids.  A sheet without `formulas` means formulas unknown: the
    cells of `jx_*` names get the `SHARED` marker."""
    skip = set(skip)
    sheets: dict[str, LiveSheet] = {}
    formulas_known = protection_known = True
    for g in grids:
        if g.name in skip:
            continue
        cells: dict[str, RawCell] = {}
        for i, row in enumerate(g.values):
            frow = g.formulas[i] if g.formulas is not None and i < len(g.formulas) else ()
            for j, raw in enumerate(row):
                value = cell_value(raw)
                text = frow[j] if j < len(frow) else None
                formula = text[1:] if isinstance(text, str) and text.startswith("=") and len(text) > 1 else None
                if value is None and formula is None:
                    continue
                cells[f"{col_letter(g.column + j)}{g.row + i}"] = RawCell(value, formula, _type(value, formula))
        formulas_known &= g.formulas is not None
        protection_known &= g.protection is not None
        sheets[g.name] = LiveSheet(g.name, g.state, g.protection, cells)
    book = LiveBook(sheets, dict(names), calc_mode, formulas_known, protection_known)
    if not formulas_known:
        _mark_computed(book)
    return book


def _mark_computed(book: LiveBook) -> None:
    for name, (sheet, coord) in book.defined_names.items():
        ws = book.sheets.get(sheet)
        if ws is None or not name.startswith(COMPUTED_NAME_PREFIX):
            continue
        old = ws.cells.get(coord)
        if old is None:
            ws.cells[coord] = RawCell(None, SHARED, "str")
        elif old.formula is None:
            old.formula = SHARED


# --------------------------------------------------------------------------- from xlwings

def book_view(book: Any, skip: Iterable[str] = (RESULT_SHEET,)) -> LiveBook:
    """The view of an `xlwings.Book` on any engine: the used range of every sheet (hidden
    ones included), formulas where the engine can read them, book-scope single-cell names."""
    skip = set(skip)
    grids = []
    for sheet in book.sheets:
        if sheet.name in skip:
            continue
        rng = sheet.used_range
        if is_remote(book):
            # the values as the client sent them: xlwings' own conversion would take any text
            # shaped like an ISO timestamp for a date (and fail on some); dates are converted
            # below from the exact form the Office.js client gives them
            values = [list(r) for r in rng.raw_value]
        else:
            values = rng.options(ndim=2, err_to_str=True).value
        try:
            formulas = _grid(rng.formula)
        except (NotImplementedError, AttributeError):
            formulas = None  # the remote engine: no formula text
        grids.append(SheetGrid(sheet.name, values, formulas, rng.row, rng.column, _protection(sheet), _state(sheet)))
    return from_grids(grids, _names(book), _calc_mode(book), skip)


def is_remote(book: Any) -> bool:
    """Whether the book came from xlwings Server's JSON payload (no live Excel behind it)."""
    try:
        return book.app.engine.name in ("remote", "officejs")
    except Exception:  # noqa: BLE001 - an engine that cannot say is a desktop one
        return False


def _grid(formula: Any) -> list[list[Any]]:
    if isinstance(formula, (list, tuple)):
        return [list(r) if isinstance(r, (list, tuple)) else [r] for r in formula]
    return [[formula]]


def _names(book: Any) -> dict[str, tuple[str, str]]:
    names: dict[str, tuple[str, str]] = {}
    for n in book.names:
        try:
            name, refers_to = n.name, n.refers_to
        except Exception:  # noqa: BLE001 - a name that is not a range (a constant, a formula)
            continue
        if "!" in name:
            continue  # sheet scope: the checker reads book-scope names only
        ref = parse_ref(str(refers_to))
        if ref is not None:
            names[name] = ref
    return names


def _calc_mode(book: Any) -> str:
    try:
        mode = book.app.calculation
    except Exception:  # noqa: BLE001 - the client did not send it
        return "auto"
    return "manual" if mode == "manual" else "auto"


def _protection(sheet: Any) -> bool | None:
    if is_remote(sheet.book):
        return None
    api = sheet.api
    for read in (lambda: api.ProtectContents, lambda: api.protect_contents.get()):  # Windows, macOS
        try:
            return bool(read())
        except Exception:  # noqa: BLE001 - not this platform's object model
            continue
    return None


def _state(sheet: Any) -> str:
    try:
        return "visible" if sheet.visible else "hidden"
    except Exception:  # noqa: BLE001 - the remote engine without visibility in the payload
        return "visible"


# --------------------------------------------------------------------------- the remote engine

def ensure_remote_engine() -> None:
    """Make `xlwings.Book(json=...)` available.  xlwings registers its remote engine on import
    only when a licence key is found (XLWINGS_LICENSE_KEY; "noncommercial" for use under the
    PolyForm Noncommercial licence); if xlwings was imported before the key was set, register
    the engine now."""
    import xlwings as xw

    if "remote" in [e.name for e in xw.engines]:
        return
    if not os.environ.get(LICENSE_ENV):
        raise RuntimeError(LICENSE_MESSAGE)
    from xlwings.pro import _xlremote

    xw.engines.add(xw.Engine(impl=_xlremote.engine))


def open_payload(payload: dict[str, Any]) -> Any:
    """The `xlwings.Book` for an xlwings Server request body."""
    import xlwings as xw

    ensure_remote_engine()
    return xw.Book(json=payload)


LICENSE_MESSAGE = (
    "服务器加载项使用 xlwings 的服务器组件（xlwings PRO 部分），须设置许可证密钥环境变量 XLWINGS_LICENSE_KEY："
    "符合 PolyForm Noncommercial 1.0.0 许可（其中明确包括政府机构）的非商业使用可设为 noncommercial，"
    "否则须购买 xlwings 商业许可证。"
    " / The server add-in uses xlwings' server parts (xlwings PRO): set XLWINGS_LICENSE_KEY to "
    "'noncommercial' for use permitted by the PolyForm Noncommercial License 1.0.0, or to a commercial key."
)
