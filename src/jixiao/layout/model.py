"""What a Layout is: the workbook's structure as plain data, without openpyxl.

A `Layout` lists the sheets in order; a `SheetLayout` holds its cells (a label, an input, a
computed cell or a mirror of one), merged ranges, column widths, fixed row heights, the blocks of
rows that print together, and its conditional colours.  Styles are named (`font="header"`,
`fill="input"`): the renderer maps names to an application's style objects.  Everything that
needs to know where a cell is (the renderer, the checker, the add-in, `jixiao fields`, the
self-report) asks the Layout, built once per framework."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from jixiao.framework.field_records import Validation
from jixiao.framework.model import Field
from jixiao.xlsx.refs import absolute_ref, coord

# the kinds of cell a layout places
LABEL, INPUT, COMPUTED, MIRROR, PLAIN = "label", "input", "computed", "mirror", "plain"


def layout_digest(positions: dict[str, tuple[str, str]]) -> str:
    """sha256 of where every input and computed cell is: equal digests, unchanged layout."""
    import json  # (here: a check of an unmoved workbook never needs it)

    text = json.dumps({i: absolute_ref(*p) for i, p in positions.items()}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Place:
    sheet: str
    row: int
    col: int

    @property
    def coord(self) -> str:
        return coord(self.row, self.col)

    @property
    def absolute(self) -> str:
        return absolute_ref(self.sheet, self.coord)

    @property
    def position(self) -> tuple[str, str]:
        return (self.sheet, self.coord)


@dataclass(frozen=True)
class CellSpec:
    row: int
    col: int
    value: Any = None  # a label's text or number; None for inputs, computed cells and mirrors
    kind: str = LABEL
    ref: str | None = None  # field id (input), computed cell id (computed, mirror)
    font: str | None = "body"  # title | header | body | note | status; None: the application's default
    fill: str | None = None  # header | input | computed | section
    align: str | None = "wrap"  # wrap | wrap_top | center; None: the application's default
    border: bool = True
    fmt: str | None = None  # number format
    validation: Validation | None = None  # an input's data validation, from its field type


@dataclass(frozen=True)
class Conditional:
    """A conditional colour: `levels` (错误/警告 words), `status` (by the error and warning
    counts at `errors`/`warnings`), `status_text` (a copy of the status sentence)."""

    kind: str
    target: str  # a range on this sheet
    errors: str = ""
    warnings: str = ""


@dataclass
class SheetLayout:
    name: str
    cells: dict[tuple[int, int], CellSpec] = field(default_factory=dict)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # first row, col, last row, col
    widths: list[float] = field(default_factory=list)
    heights: dict[int, float] = field(default_factory=dict)  # fixed heights (titles, narratives)
    landscape: bool = True
    header_rows: str | None = None  # print titles, "4:6"
    blocks: list[tuple[int, int]] = field(default_factory=list)  # row ranges printed on one page
    print_cols: int | None = None  # columns beyond are helpers, out of the print area
    freeze_row: int | None = None  # first row below the frozen panes
    conditionals: list[Conditional] = field(default_factory=list)
    hidden: bool = False
    styled: bool = True  # False: raw key/value cells (the metadata sheet)
    protected: bool = True

    # --- building -----------------------------------------------------------------------

    def put(self, row: int, col: int, value: Any = None, **style: Any) -> CellSpec:
        spec = CellSpec(row, col, value, **style)
        self.cells[(row, col)] = spec
        return spec

    def merge(self, first_row: int, first_col: int, last_row: int, last_col: int) -> None:
        self.merges.append((first_row, first_col, last_row, last_col))

    def title(self, text: str, width: int, note: str = "") -> int:
        """The sheet's title row (and a note under it); the first free row."""
        self.merge(1, 1, 1, width)
        self.put(1, 1, text, font="title", align="center", border=False)
        self.heights[1] = 28
        if note:
            self.merge(2, 1, 2, width)
            self.put(2, 1, note, font="note", border=False)
        return 3

    def header_row(self, row: int, heads: tuple[str | None, ...]) -> None:
        for col, head in enumerate(heads, 1):
            self.put(row, col, head, font="header", fill="header", align="center")

    def input(self, row: int, col: int, f: Field) -> None:
        align = "wrap" if f.type == "text" else "wrap_top" if f.type == "longtext" else "center"
        self.put(row, col, kind=INPUT, ref=f.id, fill="input", fmt=f.kind.number_format, align=align,
                 validation=f.kind.validation(f))

    def computed(self, row: int, col: int, cell_id: str, fmt: str | None = None, align: str = "center",
                 font: str = "body") -> None:
        self.put(row, col, kind=COMPUTED, ref=cell_id, fill="computed", fmt=fmt, align=align, font=font)

    def mirror(self, row: int, col: int, cell_id: str) -> None:
        """A second view of a computed cell (=that cell)."""
        self.put(row, col, kind=MIRROR, ref=cell_id, fill="computed", align="center")

    # --- reading ------------------------------------------------------------------------

    @property
    def last_row(self) -> int:
        return max((r for r, _ in self.cells), default=0)

    @property
    def last_col(self) -> int:
        return max((c for _, c in self.cells), default=0)

    @cached_property
    def covered(self) -> frozenset[tuple[int, int]]:
        """Cells hidden under a merged range (all but its top-left): what they hold is not shown,
        and an application saves them empty."""
        return frozenset((r, c) for r1, c1, r2, c2 in self.merges for r in range(r1, r2 + 1)
                         for c in range(c1, c2 + 1) if (r, c) != (r1, c1))

    def shown(self, row: int, col: int) -> CellSpec | None:
        return None if (row, col) in self.covered else self.cells.get((row, col))

    def placed(self, kind: str) -> dict[str, Place]:
        return {c.ref: Place(self.name, c.row, c.col) for c in self.cells.values() if c.kind == kind and c.ref}


@dataclass
class Layout:
    """Every sheet of the workbook, in order, and where each field and computed cell is."""

    framework_id: str
    sheets: list[SheetLayout]
    # the defined names: field ids, computed cells' ASCII names, total and grade
    names: dict[str, Place] = field(default_factory=dict)

    def sheet(self, name: str) -> SheetLayout:
        return next(s for s in self.sheets if s.name == name)

    @cached_property
    def inputs(self) -> dict[str, Place]:
        return {k: v for s in self.sheets for k, v in s.placed(INPUT).items()}

    @cached_property
    def computed(self) -> dict[str, Place]:
        return {k: v for s in self.sheets for k, v in s.placed(COMPUTED).items()}

    @cached_property
    def mirrors(self) -> list[tuple[Place, str]]:
        return [(Place(s.name, c.row, c.col), c.ref) for s in self.sheets for c in s.cells.values()
                if c.kind == MIRROR and c.ref]

    @cached_property
    def positions(self) -> dict[str, tuple[str, str]]:
        """id → (sheet, coordinate) of every input and computed cell."""
        return {i: p.position for i, p in {**self.inputs, **self.computed}.items()}

    @cached_property
    def digest(self) -> str:
        """The layout digest the metadata sheet records for these positions."""
        return layout_digest(self.positions)

    @cached_property
    def row_labels(self) -> dict[tuple[str, str], str]:
        """The text in column A of every input's row: what shows the rows have not moved."""
        out = {}
        for place in self.inputs.values():
            spec = self.sheet(place.sheet).shown(place.row, 1)
            if spec is not None and isinstance(spec.value, str) and spec.value:
                out[(place.sheet, f"A{place.row}")] = spec.value
        return out

    def ref(self, cell_id: str) -> str:
        """The absolute reference of an input or computed cell, as a formula writes it."""
        place = self.inputs.get(cell_id) or self.computed.get(cell_id)
        if place is None:
            raise KeyError(f"no cell for {cell_id!r}")
        return place.absolute

    @property
    def sheet_names(self) -> list[str]:
        return [s.name for s in self.sheets]
