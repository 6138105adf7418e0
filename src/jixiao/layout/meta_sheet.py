"""The hidden metadata sheet `_jixiao`, as one schema that writes and reads it.

Rows 1–7: key / value (which template, framework and generator, the layout digest); row 9: the
header of the cell map; then one row per input and computed cell (kind, id, absolute cell,
label, type, unit).  The add-in's 定稿 appends `finalised_digest` / `finalised_at` rows below.
Readers take any workbook view whose sheets offer `head(n)` and `cells` (the file reader's and
the add-in's)."""

from __future__ import annotations

from typing import Any

from jixiao import __version__
from jixiao.framework.model import Framework
from jixiao.layout.model import PLAIN, Layout, SheetLayout
from jixiao.xlsx.refs import parse_ref
from jixiao.layout.names import META_SHEET, TEMPLATE_ID, computed_names

HEAD_KEYS = ("template_id", "framework_id", "framework_version", "framework_digest", "generator",
             "generator_version", "layout_digest")
HEAD_ROWS = len(HEAD_KEYS) + 1  # the key/value rows and the blank row after them
MAP_HEADER = ("kind", "id", "cell", "label", "type", "unit")
INPUT, COMPUTED = "input", "computed"
FINALISED_DIGEST, FINALISED_AT = "finalised_digest", "finalised_at"
MAP_LIMIT = 10_000  # rows read at most when looking for the end of the cell map

Position = tuple[str, str]


# --------------------------------------------------------------------------- writing

def metadata_sheet(fw: Framework, layout: Layout) -> SheetLayout:
    """The sheet for `layout` (added to it last: the digest covers every other sheet)."""
    sheet = SheetLayout(META_SHEET, hidden=True, styled=False)
    head = {"template_id": TEMPLATE_ID, "framework_id": fw.id, "framework_version": fw.version,
            "framework_digest": fw.digest, "generator": "jixiao", "generator_version": __version__,
            "layout_digest": layout.digest}
    for row, key in enumerate(HEAD_KEYS, 1):
        sheet.put(row, 1, key, kind=PLAIN)
        sheet.put(row, 2, head[key], kind=PLAIN)
    row = HEAD_ROWS + 1
    for col, text in enumerate(MAP_HEADER, 1):
        sheet.put(row, col, text, kind=PLAIN)
    for fid, place in layout.inputs.items():
        f = fw.fields[fid]
        row += 1
        for col, v in enumerate((INPUT, fid, place.absolute, f.label, f.type, f.unit), 1):
            sheet.put(row, col, v, kind=PLAIN)
    names = computed_names(fw)
    for cid, place in layout.computed.items():
        row += 1
        for col, v in enumerate((COMPUTED, cid, place.absolute, names[cid]), 1):
            sheet.put(row, col, v, kind=PLAIN)
    return sheet


# --------------------------------------------------------------------------- reading

def read_head(book: Any) -> dict[str, Any]:
    """The key/value head (template id, framework, layout digest); {} without the sheet."""
    sheet = book.sheets.get(META_SHEET)
    if sheet is None:
        return {}
    cells = sheet.head(HEAD_ROWS)
    meta: dict[str, Any] = {}
    row = 1
    while (key := cells.get(f"A{row}")) is not None and key.value not in (None, MAP_HEADER[0]):
        value = cells.get(f"B{row}")
        meta[str(key.value)] = value.value if value is not None else None
        row += 1
    return meta


def read_map(book: Any) -> dict[str, Position]:
    """Where the template put every cell, as the sheet records it (the slow path: only when
    names are missing or the layout changed)."""
    sheet = book.sheets.get(META_SHEET)
    if sheet is None:
        return {}
    cells = sheet.cells
    row = HEAD_ROWS
    mapping: dict[str, Position] = {}
    while True:
        row += 1
        kind = cells.get(f"A{row}")
        if kind is None:
            if row > MAP_LIMIT or cells.get(f"A{row + 1}") is None:
                break
            continue
        ident, where = cells.get(f"B{row}"), cells.get(f"C{row}")
        if kind.value in (INPUT, COMPUTED) and ident is not None and where is not None:
            ref = parse_ref(str(where.value))
            if ref:
                mapping[str(ident.value)] = ref
    return mapping


def finalisation_rows(cells: dict[str, Any]) -> dict[str, int]:
    """Row of each finalisation key in column A."""
    return {c.value: int(coord[1:]) for coord, c in cells.items()
            if coord.startswith("A") and coord[1:].isdigit() and c.value in (FINALISED_DIGEST, FINALISED_AT)}


def read_finalisation(book: Any) -> dict[str, Any]:
    sheet = book.sheets.get(META_SHEET)
    if sheet is None:
        return {}
    cells = sheet.cells
    return {key: getattr(cells.get(f"B{row}"), "value", None) for key, row in finalisation_rows(cells).items()}
