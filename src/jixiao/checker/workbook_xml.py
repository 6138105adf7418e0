"""Reading an .xlsx the fast way: cell values, cached results and formulas straight from the
sheet XML (parsed by defusedxml via `safety.SafeXlsx`), with shared strings, defined names,
sheet protection and the calculation mode.  No openpyxl: a check must take milliseconds."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any, Protocol

from jixiao.checker.safety import SafeXlsx, UnreadableWorkbook
from jixiao.names import clip

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
    date: bool = False  # a number shown in a date or time format (Excel stores dates as serials)


class SheetView(Protocol):
    name: str
    state: str

    @property
    def protected(self) -> bool: ...

    @property
    def cells(self) -> dict[str, RawCell]: ...

    def cell(self, coord: str) -> RawCell | None: ...

    def head(self, rows: int) -> dict[str, RawCell]: ...


class WorkbookView(Protocol):
    """What the checker needs of a workbook: sheets by name, single-cell defined names, the
    calculation mode, and each cell's cached value and formula."""

    sheets: dict[str, SheetView]
    defined_names: dict[str, tuple[str, str]]
    calc_mode: str

    def cell(self, sheet: str, coord: str) -> RawCell | None: ...

    def has_cached_values(self, cells: list[tuple[str, str]]) -> bool: ...


class RawSheet:
    """A worksheet whose XML is parsed the first time its cells are asked for: a check reads
    only the sheets it needs (not the 填表说明, not the whole metadata map)."""

    def __init__(self, xlsx: SafeXlsx, name: str, part: str, state: str, shared: list[str],
                 date_styles: frozenset[str] = frozenset()):
        self.name, self.part, self.state = name, part, state
        self._xlsx, self._shared, self._dates = xlsx, shared, date_styles
        self._elements: dict[str, Any] | None = None  # coordinate → <c> element, decoded on demand
        self._protected = False

    def _load(self) -> dict[str, Any]:
        if self._elements is None:
            self._elements = {}
            if self.part in self._xlsx.names:
                root = self._xlsx.parse_xml(self.part)
                self._protected = any(p.get("sheet") in ("1", "true") for p in root.iter(f"{NS}sheetProtection"))
                self._elements = _positioned(root)
        return self._elements

    def cell(self, coord: str) -> RawCell | None:
        element = self._load().get(coord)
        return None if element is None else self._decode(element)

    @property
    def cells(self) -> dict[str, RawCell]:
        return {r: cell for r, c in self._load().items() if (cell := self._decode(c)) is not None}

    def _decode(self, element: Any) -> RawCell | None:
        try:
            return _cell(element, self._shared, self._dates)
        except _BadSharedString as exc:
            raise UnreadableWorkbook(
                self._xlsx.path, "corrupt_part",
                f"工作簿内部的 {self.part} 已损坏：单元格 {clip(str(element.get('r')), 20)} 引用的共享字符串 "
                f"{clip(exc.index, 20)} 不存在（共 {len(self._shared)} 个）；请在 Excel 或 WPS 中打开后重新另存为 .xlsx") from None

    @property
    def protected(self) -> bool:
        self._load()
        return self._protected

    def head(self, rows: int) -> dict[str, RawCell]:
        """The cells of the first `rows` rows, parsing only that much of the XML."""
        if self._elements is not None or self.part not in self._xlsx.names:
            return self.cells
        raw = self._xlsx.read_xml(self.part)
        cut = raw.find(f'<row r="{rows + 1}"'.encode())
        if cut < 0:
            return self.cells
        root = self._xlsx.parse_xml(self.part, raw[:cut] + b"</sheetData></worksheet>")
        return {r: cell for r, c in _positioned(root).items() if (cell := self._decode(c)) is not None}


@dataclass
class RawWorkbook:
    sheets: dict[str, RawSheet]
    defined_names: dict[str, tuple[str, str]]  # name → (sheet, coordinate) for single-cell names
    calc_mode: str

    def cell(self, sheet: str, coord: str) -> RawCell | None:
        ws = self.sheets.get(sheet)
        return ws.cell(coord) if ws else None

    def has_cached_values(self, cells: list[tuple[str, str]]) -> bool:
        """Whether the formula cells among `cells` carry results (a workbook written by a
        program and never opened in Excel or WPS has formulas without results)."""
        for sheet, coord in cells:
            c = self.cell(sheet, coord)
            if c is not None and c.formula is not None and c.value is not None:
                return True
        return False


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
    dates = _date_styles(xlsx)
    sheets: dict[str, RawSheet] = {}
    for s in book.iter(f"{NS}sheet"):
        target = rels.get(s.get(f"{REL_NS}id"), "")
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        sheets[s.get("name")] = RawSheet(xlsx, s.get("name"), part, s.get("state") or "visible", shared, dates)
    for sheet in sheets.values():
        if sheet.part not in xlsx.names:
            raise UnreadableWorkbook(xlsx.path, "missing_part",
                                     f"工作表“{sheet.name}”的内容（{sheet.part}）缺失，文件不完整或已损坏；"
                                     "请在 Excel 或 WPS 中打开后重新另存为 .xlsx")
    names: dict[str, tuple[str, str]] = {}
    for dn in book.iter(f"{NS}definedName"):
        if dn.get("localSheetId") is None and dn.text:
            ref = parse_ref(dn.text)
            if ref:
                names[dn.get("name")] = ref
    calc = book.find(f"{NS}calcPr")
    calc_mode = (calc.get("calcMode") if calc is not None else None) or "auto"
    return RawWorkbook(sheets, names, calc_mode)


_COLUMN = re.compile(r"^([A-Z]{1,3})[0-9]+$")


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _column_letters(n: int) -> str:
    out = ""
    while n:
        n, rest = divmod(n - 1, 26)
        out = chr(65 + rest) + out
    return out


def _positioned(root: Any) -> dict[str, Any]:
    """coordinate → <c> element.  `r` is optional on <row> and <c> (ECMA-376 18.3.1.73/.4):
    without it a row follows the previous row and a cell the previous cell, as Excel reads it
    (no openpyxl here: importing it would cost more than a whole check)."""
    out: dict[str, Any] = {}
    row_number = 0
    for row in root.iter(f"{NS}row"):
        r = row.get("r")
        row_number = int(r) if r and r.isdigit() else row_number + 1
        column = 0
        for c in row.iter(f"{NS}c"):
            coord = c.get("r")
            m = _COLUMN.match(coord) if coord else None
            if m:
                column = _column_number(m.group(1))
            else:
                column += 1
                coord = f"{_column_letters(column)}{row_number}"
            out[coord] = c
    return out


def _shared_strings(xlsx: SafeXlsx) -> list[str]:
    if "xl/sharedStrings.xml" not in xlsx.names:
        return []
    return ["".join(t.text or "" for t in si.iter(f"{NS}t")) for si in xlsx.parse_xml("xl/sharedStrings.xml").iter(f"{NS}si")]


class _BadSharedString(Exception):
    def __init__(self, index: str):
        super().__init__(index)
        self.index = index



# Built-in number formats that show a date or time: 14-22 and 45-47 everywhere, 27-36 and
# 50-58 in the Chinese, Japanese and Korean editions of Excel and WPS (年月日 formats).
_BUILTIN_DATES = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
_NOT_DATE_PARTS = re.compile(r'"[^"]*"|\\.|\[(?!h\]|hh\]|m\]|mm\]|s\]|ss\])[^\]]*\]', re.IGNORECASE)


def is_date_format(code: str) -> bool:
    """Whether a number format code shows a date or time (y m d h s outside quotes, escapes
    and [colour]/[locale] sections; [h] elapsed time counts)."""
    return any(ch in "ymdhsYMDHS" for ch in _NOT_DATE_PARTS.sub("", code.split(";")[0]))


def _date_styles(xlsx: SafeXlsx) -> frozenset[str]:
    """The cell style indices (the `s` of a <c>) whose number format is a date or time."""
    if "xl/styles.xml" not in xlsx.names:
        return frozenset()
    root = xlsx.parse_xml("xl/styles.xml")
    custom = {}
    for fmt in root.iter(f"{NS}numFmt"):
        try:
            custom[int(fmt.get("numFmtId", ""))] = fmt.get("formatCode") or ""
        except ValueError:
            continue
    xfs = root.find(f"{NS}cellXfs")
    out = set()
    for i, xf in enumerate(xfs.iter(f"{NS}xf") if xfs is not None else ()):
        try:
            fid = int(xf.get("numFmtId") or 0)
        except ValueError:
            continue
        if (is_date_format(custom[fid]) if fid in custom else fid in _BUILTIN_DATES):
            out.add(str(i))
    return frozenset(out)


def _cell(c: Any, shared: list[str], date_styles: frozenset[str] = frozenset()) -> RawCell | None:
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
        try:
            index = int(text)
            if index < 0:
                raise IndexError(index)
            value = shared[index]
        except (ValueError, IndexError):
            raise _BadSharedString(text) from None
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
    return RawCell(value, formula, t, t == "n" and isinstance(value, float) and c.get("s") in date_styles)


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
