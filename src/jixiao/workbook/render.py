"""A Layout drawn with openpyxl: styles, merges, data validation, protection, formulas, defined
names and the print setup.  What goes where is the Layout's business; this module only knows
how openpyxl says it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openpyxl import Workbook
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from jixiao.engine import computed_cells
from jixiao.framework.field_records import Validation
from jixiao.framework.model import Framework
from jixiao.layout.model import COMPUTED, INPUT, LABEL, MIRROR, PLAIN, CellSpec, Layout, SheetLayout
from jixiao.workbook import print_layout as pl
from jixiao.workbook import styles as st
from jixiao.xlsx.refs import col_letter

FONTS = {"title": st.TITLE_FONT, "header": st.HEADER_FONT, "body": st.BODY_FONT, "note": st.NOTE_FONT,
         "status": st.STATUS_FONT}
FILLS = {"header": st.HEADER_FILL, "input": st.INPUT_FILL, "computed": st.COMPUTED_FILL, "section": st.SECTION_FILL}
ALIGNS = {"wrap": st.WRAP, "wrap_top": st.WRAP_TOP, "center": st.CENTER}
NARRATIVE_CHARS_PER_LINE = 27  # a narrative's cell, three columns wide


def render(layout: Layout, fw: Framework, data: Mapping[str, Any], values: Mapping[str, Any]
           ) -> tuple[Workbook, dict[str, dict[str, Any]]]:
    """The workbook and, per sheet and coordinate, the cached result of every formula."""
    wb = Workbook()
    formulas = {cell.id: "=" + cell.expr.excel(layout.ref) for cell in computed_cells(fw)}
    cached: dict[str, dict[str, Any]] = {}
    for n, sheet in enumerate(layout.sheets):
        ws = wb.active if n == 0 else wb.create_sheet(sheet.name)
        ws.title = sheet.name
        validations: dict[tuple, DataValidation] = {}
        for spec in sheet.cells.values():
            c = ws.cell(row=spec.row, column=spec.col)
            if spec.kind in (LABEL, PLAIN):
                c.value = spec.value
            elif spec.kind == INPUT:
                value = data.get(spec.ref)
                c.value = value
                if isinstance(value, str) and c.data_type == "f":
                    c.data_type = "s"  # a unit's text that begins with "=" is text, never a live formula
                if spec.validation is not None:
                    _validate(ws, validations, c.coordinate, spec.validation)
            elif spec.kind == COMPUTED:
                c.value = formulas[spec.ref]
                cached.setdefault(sheet.name, {})[c.coordinate] = values[spec.ref]
            elif spec.kind == MIRROR:
                c.value = "=" + layout.ref(spec.ref)
                cached.setdefault(sheet.name, {})[c.coordinate] = values[spec.ref]
            if sheet.styled:
                _style(c, spec)
        for r1, c1, r2, c2 in sheet.merges:
            ws.merge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)
        for row, height in sheet.heights.items():
            ws.row_dimensions[row].height = height
        _narrative_heights(ws, sheet, fw, data)
        _conditionals(ws, sheet)
        if sheet.styled:
            _finish_sheet(ws, sheet)
        if sheet.hidden:
            ws.sheet_state = "hidden"
        ws.protection.sheet = sheet.protected  # no password: it prevents accidents, not determined edits
    for name, place in layout.names.items():
        wb.defined_names[name] = DefinedName(name, attr_text=place.absolute)
    _print_setup(wb, layout, fw, cached, data)
    return wb, cached


def _style(c, spec: CellSpec) -> None:
    if spec.font is not None:
        c.font = FONTS[spec.font]
    if spec.align is not None:
        c.alignment = ALIGNS[spec.align]
    if spec.fill is not None:
        c.fill = FILLS[spec.fill]
    if spec.border:
        c.border = st.BORDER
    if spec.fmt:
        c.number_format = spec.fmt
    if spec.kind == INPUT:
        c.protection = st.UNLOCKED
    elif spec.kind in (COMPUTED, MIRROR):
        c.protection = st.LOCKED


def _narrative_heights(ws: Worksheet, sheet: SheetLayout, fw: Framework, data: Mapping[str, Any]) -> None:
    """A narrative's row as tall as its text (a template's stays at the layout's minimum)."""
    for spec in sheet.cells.values():
        if spec.kind == INPUT and fw.fields[spec.ref].type == "longtext":
            lines = sum(1 + len(part) // NARRATIVE_CHARS_PER_LINE for part in str(data.get(spec.ref) or "").split("\n"))
            ws.row_dimensions[spec.row].height = min(409, max(sheet.heights.get(spec.row, 0), 14 * lines))


def _conditionals(ws: Worksheet, sheet: SheetLayout) -> None:
    for rule in sheet.conditionals:
        if rule.kind == "levels":
            st.colour_levels(ws, rule.target)
        elif rule.kind == "status":
            st.colour_status(ws, rule.target, errors=rule.errors, warnings=rule.warnings)
        elif rule.kind == "status_text":
            st.colour_text(ws, rule.target)
        else:
            raise ValueError(f"unknown conditional format {rule.kind!r}")


def _validate(ws: Worksheet, validations: dict[tuple, DataValidation], coord: str, v: Validation) -> None:
    """The field type's validation as a DataValidation: one object per (sheet, rule), so the
    file stays small."""
    dv = validations.get(v.rule)
    if dv is None:
        dv = DataValidation(type=v.type, operator=v.operator, formula1=v.formula1, formula2=v.formula2,
                            allow_blank=v.allow_blank)
        dv.showErrorMessage = True
        dv.errorTitle = v.error_title
        dv.error = v.error
        dv.showInputMessage = True
        dv.promptTitle = v.prompt_title
        dv.prompt = v.prompt
        ws.add_data_validation(dv)
        validations[v.rule] = dv
    dv.add(coord)


def _finish_sheet(ws: Worksheet, sheet: SheetLayout) -> None:
    for i, w in enumerate(sheet.widths, 1):
        ws.column_dimensions[col_letter(i)].width = w
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if sheet.landscape else "portrait"
    ws.print_options.horizontalCentered = True
    pl.set_margins(ws)
    if sheet.header_rows:
        ws.print_title_rows = sheet.header_rows
    if sheet.freeze_row:
        ws.freeze_panes = ws.cell(row=sheet.freeze_row, column=1)


def _print_setup(wb: Workbook, layout: Layout, fw: Framework, cached: Mapping[str, Mapping[str, Any]],
                 data: Mapping[str, Any]) -> None:
    """Last, when every cell's text is known: heights, zoom, page breaks, header and footer."""
    unit, year = data.get(fw.form.identity.unit), data.get(fw.form.identity.year)
    left = "".join(str(p) for p in (unit or "", f"  {year:g}年度" if isinstance(year, (int, float)) else ""))
    left = left.strip() or fw.title
    for sheet in layout.sheets:
        if not sheet.styled:
            continue
        ws = wb[sheet.name]
        pl.fit_row_heights(ws, cached.get(sheet.name, {}))
        ncols = sheet.print_cols or ws.max_column
        ws.print_area = f"A1:{col_letter(ncols)}{ws.max_row}"
        scale = pl.print_scale(ws, ncols, sheet.landscape)
        # fit to width (the applications measure column widths differently); the zoom it comes
        # to is estimated to place the page breaks
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        pl.keep_blocks_together(ws, sheet.blocks, sheet.landscape, scale)
        tall = pl.taller_than_page(ws, sheet.blocks, sheet.landscape, scale)
        if tall and not ws.print_title_rows:
            # a table that must flow over pages repeats its title and header row on each
            ws.print_title_rows = f"{tall[0][0]}:{tall[0][0] + 1}"
        # &A is the sheet name; the unit is known only when jixiao fills the workbook
        pl.set_header_footer(ws, left.replace("&", "&&"), "&A")
