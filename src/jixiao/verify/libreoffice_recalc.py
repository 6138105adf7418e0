"""Recalculate .xlsx workbooks in headless LibreOffice and read back the results: a second,
independent spreadsheet application checking the template's formulas (tests, benchmarks).

Built on `jixiao.office.convert` (the one soffice runner: throw-away profile forcing "always
recalculate on load", batches whose outputs are counted); this module adds only the xlsx
round trip and reading the results."""

from __future__ import annotations

import tempfile
from pathlib import Path

import openpyxl

from jixiao.office import OfficeError, convert, find_soffice

__all__ = ["XLSX", "RecalcError", "find_soffice", "recalculate", "recalculated_values"]

XLSX = "xlsx:Calc MS Excel 2007 XML"

#: LibreOffice is missing, failed, timed out or silently skipped files (`jixiao.office.OfficeError`).
RecalcError = OfficeError


def recalculate(
    paths: list[Path],
    out_dir: Path,
    *,
    batch_size: int = 50,
    timeout: float = 300,
    soffice: str | None = None,
    recalc: bool = True,
) -> dict[Path, Path]:
    """Recalculate every workbook in ``paths`` and save the results as .xlsx in ``out_dir``;
    ``{input path: output path}``.  With ``recalc=False`` LibreOffice runs with its default
    settings instead (a plain open-and-save, as a unit's LibreOffice does it).  Naming,
    batching and errors: `jixiao.office.convert`."""
    return convert(paths, out_dir, XLSX, batch_size=batch_size, timeout=timeout, soffice=soffice, recalc=recalc)


def recalculated_values(
    path: Path, *, timeout: float = 300, soffice: str | None = None
) -> dict[str, dict[str, object]]:
    """Recalculate one workbook and return ``{sheet title: {"A1": value}}``.

    Only non-empty cells are included.  Note that LibreOffice writes cached
    values with 15 significant digits, like Excel does.
    """
    with tempfile.TemporaryDirectory(prefix="jixiao-lo-values-") as tmp:
        out = recalculate([Path(path)], Path(tmp), timeout=timeout, soffice=soffice)[Path(path)]
        wb = openpyxl.load_workbook(out, data_only=True)
        try:
            return {
                ws.title: {
                    cell.coordinate: cell.value
                    for row in ws.iter_rows()
                    for cell in row
                    if cell.value is not None
                }
                for ws in wb.worksheets
            }
        finally:
            wb.close()
