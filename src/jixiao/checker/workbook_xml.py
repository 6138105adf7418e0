"""Reading an .xlsx the fast way: cell values, cached results and formulas straight from the
sheet XML (parsed by defusedxml via `safety.SafeXlsx`), with shared strings, defined names,
sheet protection and the calculation mode.  No openpyxl: a check must take milliseconds."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from jixiao.checker.safety import SafeXlsx

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
SHARED = "<shared>"  # a shared-formula child: a formula is there, its text lives elsewhere

_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Z]{1,3})\$?([0-9]+)$")


@dataclass
class RawCell:
    value: Any  # cached value: float, str, bool, error text, or None
    formula: str | None
    type: str


@dataclass
class RawSheet:
    name: str
    part: str
    state: str
    protected: bool
    cells: dict[str, RawCell] = field(default_factory=dict)


@dataclass
class RawWorkbook:
    sheets: dict[str, RawSheet]
    defined_names: dict[str, tuple[str, str]]  # name → (sheet, coordinate) for single-cell names
    calc_mode: str
    has_cached_values: bool

    def cell(self, sheet: str, coord: str) -> RawCell | None:
        ws = self.sheets.get(sheet)
        return ws.cells.get(coord) if ws else None


def parse_ref(text: str) -> tuple[str, str] | None:
    """'Sheet'!$C$5 → ("Sheet", "C5"); None for ranges, formulas or #REF!."""
    m = _REF.match(text.strip().lstrip("="))
    if not m:
        return None
    sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
    return sheet, f"{m.group(3)}{m.group(4)}"


def read_workbook(xlsx: SafeXlsx) -> RawWorkbook:
    book = xlsx.parse_xml("xl/workbook.xml")
    rels = {r.get("Id"): r.get("Target") for r in xlsx.parse_xml("xl/_rels/workbook.xml.rels").iter(f"{PKG_REL_NS}Relationship")}
    shared = _shared_strings(xlsx)
    sheets: dict[str, RawSheet] = {}
    for s in book.iter(f"{NS}sheet"):
        target = rels.get(s.get(f"{REL_NS}id"), "")
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        sheets[s.get("name")] = RawSheet(s.get("name"), part, s.get("state") or "visible", False)
    names: dict[str, tuple[str, str]] = {}
    for dn in book.iter(f"{NS}definedName"):
        if dn.get("localSheetId") is None and dn.text:
            ref = parse_ref(dn.text)
            if ref:
                names[dn.get("name")] = ref
    calc = book.find(f"{NS}calcPr")
    calc_mode = (calc.get("calcMode") if calc is not None else None) or "auto"
    cached = False
    for sheet in sheets.values():
        if sheet.part not in xlsx.names:
            continue
        root = xlsx.parse_xml(sheet.part)
        sheet.protected = any(p.get("sheet") in ("1", "true") for p in root.iter(f"{NS}sheetProtection"))
        for c in root.iter(f"{NS}c"):
            cell = _cell(c, shared)
            if cell is not None:
                sheet.cells[c.get("r")] = cell
                cached = cached or (cell.formula is not None and cell.value is not None)
    return RawWorkbook(sheets, names, calc_mode, cached)


def _shared_strings(xlsx: SafeXlsx) -> list[str]:
    if "xl/sharedStrings.xml" not in xlsx.names:
        return []
    return ["".join(t.text or "" for t in si.iter(f"{NS}t")) for si in xlsx.parse_xml("xl/sharedStrings.xml").iter(f"{NS}si")]


def _cell(c: Any, shared: list[str]) -> RawCell | None:
    t = c.get("t") or "n"
    f = c.find(f"{NS}f")
    formula = None
    if f is not None:
        formula = f.text if f.text else (SHARED if f.get("t") == "shared" else "")
    v = c.find(f"{NS}v")
    text = v.text if v is not None else None
    value: Any = None
    if t == "inlineStr":
        is_ = c.find(f"{NS}is")
        value = "".join(x.text or "" for x in is_.iter(f"{NS}t")) if is_ is not None else None
    elif text is None or (text == "" and t != "str"):
        value = None
    elif t == "s":
        value = shared[int(text)]
    elif t in ("str", "e"):
        value = text
    elif t == "b":
        value = text == "1"
    else:
        try:
            value = float(text)
        except ValueError:
            value = text
    if value is None and formula is None:
        return None
    return RawCell(value, formula, t)


_STRING = re.compile(r'"(?:[^"]|"")*"')
_QUOTED_SHEET = re.compile(r"'((?:[^']|'')+)'!")


def normalise_formula(formula: str) -> str:
    """For comparing formulas written by different applications: no '=', no '$', no spaces or
    sheet-name quotes outside strings, upper case outside strings."""
    out, last = [], 0
    body = formula.lstrip("=")
    for m in _STRING.finditer(body):
        out.append(_canon(body[last:m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(_canon(body[last:]))
    return "".join(out)


def _canon(code: str) -> str:
    code = _QUOTED_SHEET.sub(lambda m: m.group(1).replace("''", "'") + "!", code)
    return code.replace("$", "").replace(" ", "").upper()
