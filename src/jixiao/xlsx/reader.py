"""Reading an .xlsx the fast way: cell values, cached results and formulas straight from the
sheet XML (scanned by `sheet_scan` after a well-formedness pass; other forms of XML parsed by
`safe.SafeXlsx`), with shared strings, defined names, sheet protection and the calculation
mode.  No openpyxl: a check must take milliseconds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from jixiao.names import clip
from jixiao.xlsx import fragments, package, sheet_scan, values
from jixiao.xlsx.formula_text import normalise_formula
from jixiao.xlsx.package import NS, PKG_REL_NS, REL_NS
from jixiao.xlsx.refs import COORD, col_letter, col_number, parse_ref
from jixiao.xlsx.safe import SafeXlsx, UnreadableWorkbook
from jixiao.xlsx.styles import date_styles, is_date_format
from jixiao.xlsx.values import SHARED, RawCell

__all__ = [
    "NS", "PKG_REL_NS", "REL_NS", "SHARED", "RawCell", "RawSheet", "RawWorkbook", "SharedStrings", "SheetView",
    "WorkbookView", "is_date_format", "normalise_formula", "parse_ref", "read_workbook",
]


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


class SharedStrings:
    """xl/sharedStrings.xml, read the first time a cell refers to it; each string decoded when
    asked for.  An index that is not there names the part and the cell, as damage."""

    PART = "xl/sharedStrings.xml"

    def __init__(self, xlsx: SafeXlsx):
        self._xlsx = xlsx
        self._items: list[Any] | None = None
        self._plain = False
        self._elements = False  # items are <si> elements cut by `fragments`, not inner XML

    def _load(self) -> list[Any]:
        if self._items is None:
            if self.PART not in self._xlsx.names:
                self._items = []
            else:
                raw = self._xlsx.read_xml(self.PART)
                proof = fragments.prove(raw, fragments.SHARED_ITEMS)
                if proof is not None:
                    self._plain = sheet_scan.plain(proof.head + proof.tail, b"sst", False)
                else:
                    self._plain = sheet_scan.plain(raw, b"sst", _well_formed(self._xlsx, self.PART, raw))
                if self._plain:
                    self._elements = proof is not None
                    self._items = sheet_scan.shared_strings(raw, proof and proof.pieces)
                else:
                    root = self._xlsx.parse_xml(self.PART, raw)
                    self._items = ["".join(t.text or "" for t in si.iter(f"{NS}t")) for si in root.iter(f"{NS}si")]
        return self._items

    def get(self, index: str, sheet: str, coord: str, part: str) -> str:
        items = self._load()
        i = int(index) if index.strip().isascii() and index.strip().isdigit() else -1  # not "²"
        if not 0 <= i < len(items):
            raise UnreadableWorkbook(
                self._xlsx.path, "corrupt_part",
                f"工作簿内部的 {clip(part, 80)} 已损坏：工作表“{clip(sheet, 80)}”的单元格 {clip(coord, 20)} 引用的共享字符串 "
                f"{clip(index.strip(), 20)} 不存在（{self.PART} 中共 {len(items)} 个）；"
                "请在 Excel 或 WPS 中打开后重新另存为 .xlsx")
        item = items[i]
        return sheet_scan.shared_text(item, self._elements) if self._plain else item

    def __len__(self) -> int:
        return len(self._load())


class RawSheet:
    """A worksheet read the first time its cells are asked for, and only as far as asked: the
    cells behind defined names (`wanted`) by a targeted scan of the XML (`sheet_scan`); any
    other cell, `cells` or a sheet in another form of XML by reading all of it once.  A check
    reads only the sheets it needs (not the 填表说明, not the whole metadata map)."""

    def __init__(self, xlsx: SafeXlsx, name: str, part: str, state: str, shared: SharedStrings,
                 wanted: frozenset[str] = frozenset(), date_styles: frozenset[str] = frozenset()):
        self.name, self.part, self.state = name, part, state
        self._xlsx, self._shared, self.wanted, self._dates = xlsx, shared, wanted, date_styles
        self._raw: bytes | None = None  # the part's bytes, checked well-formed
        self._plain = False
        self._some: dict[str, RawCell | None] | None = None  # the wanted cells
        self._all: dict[str, RawCell] | None = None
        self._protected: bool | None = None

    def _bytes(self) -> bytes:
        if self._raw is None:
            raw = self._xlsx.read_xml(self.part) if self.part in self._xlsx.names else b""
            self._plain = bool(raw) and _plain_sheet(self._xlsx, self.part, raw)
            self._raw = raw
        return self._raw

    def cell(self, coord: str) -> RawCell | None:
        if self._all is None and coord in self.wanted:
            if self._some is None:
                raw = self._bytes()
                if self._plain:
                    found = sheet_scan.scan_wanted(raw, self.wanted)
                    # a wanted cell not found by its r may be an r-less (positional) one
                    if None not in found.values() or sheet_scan.all_cells_have_r(raw):
                        self._some = self._decode_found(found)
            if self._some is not None:
                return self._some[coord]
        return self._load_all().get(coord)

    @property
    def cells(self) -> dict[str, RawCell]:
        return self._load_all()

    @property
    def protected(self) -> bool:
        if self._protected is None:
            raw = self._bytes()
            if not raw:
                self._protected = False
            elif self._plain:
                self._protected = sheet_scan.protected(raw)
            else:
                root = self._xlsx.parse_xml(self.part, raw)
                self._protected = any(p.get("sheet") in ("1", "true") for p in root.iter(f"{NS}sheetProtection"))
        return self._protected

    def head(self, rows: int) -> dict[str, RawCell]:
        """The cells of the first `rows` rows, reading only that much of the XML."""
        if self._all is not None or self.part not in self._xlsx.names:
            return self.cells
        needle = f'<row r="{rows + 1}"'.encode()
        if self._raw is not None:
            cut = self._raw.find(needle)
            head = self._raw[:cut] if cut >= 0 else None
        else:
            head = self._xlsx.read_until(self.part, needle)  # inflates only that far
        if head is None:
            return self.cells
        prefix = head + b"</sheetData></worksheet>"
        plain = _plain_sheet(self._xlsx, self.part, prefix)
        known = _HEADS.get(prefix) if plain else None
        if known is None:
            known = self._read_all(prefix, plain)
            if plain and b't="s"' not in prefix:  # (a shared string's text is the file's own)
                if len(_HEADS) >= _HEADS_KEPT:
                    _HEADS.pop(next(iter(_HEADS)))
                _HEADS[prefix] = known
        return dict(known)

    def _load_all(self) -> dict[str, RawCell]:
        if self._all is None:
            raw = self._bytes()
            self._all = self._read_all(raw, self._plain) if raw else {}
        return self._all

    def _read_all(self, raw: bytes, plain: bool) -> dict[str, RawCell]:
        if plain:
            found = ((c, self._decode(t, c)) for c, t in sheet_scan.scan_all(raw).items())
        else:
            found = ((c, self._decode(_element_tuple(e), c)) for c, e in _positioned(self._xlsx.parse_xml(self.part, raw)).items())
        return {c: cell for c, cell in found if cell is not None}

    def _decode_found(self, found: dict[str, values.RawTuple | None]) -> dict[str, RawCell | None]:
        """`_decode` of each found cell; the two commonest kinds -- a number without a formula
        in no date style, a formula with its number -- built here (~450 cells a check)."""
        out: dict[str, RawCell | None] = {}
        dates = self._dates
        for coord, raw in found.items():
            if raw is not None and raw[0] == "n" and raw[2] and raw[3] is None and raw[4] not in dates:
                f = raw[1]
                try:
                    value = float(raw[2])
                except ValueError:
                    pass
                else:
                    if f is None or f[0]:
                        out[coord] = RawCell(value, None if f is None else f[0], "n")
                        continue
            out[coord] = None if raw is None else self._decode(raw, coord)
        return out

    def _decode(self, raw: values.RawTuple, coord: str) -> RawCell | None:
        lookup = (lambda index: self._shared.get(index, self.name, coord, self.part)) if raw[0] == "s" else None
        return values.decode(raw, lookup, self._dates)


# the metadata head of a sheet by its bytes: the same in every file of a template version
_HEADS: dict[bytes, dict[str, RawCell]] = {}
_HEADS_KEPT = 16


def _plain_sheet(xlsx: SafeXlsx, part: str, raw: bytes) -> bool:
    """Sheet XML checked well-formed (most rows proven by earlier files: `fragments`), and
    whether it is in the form the scan reads."""
    proof = fragments.prove(raw, fragments.SHEET_ROWS)
    if proof is not None:
        return sheet_scan.plain(proof.head + proof.tail, markup=False)
    return sheet_scan.plain(raw, markup=_well_formed(xlsx, part, raw))


def _well_formed(xlsx: SafeXlsx, part: str, raw: bytes) -> bool:
    """The same refusals as `SafeXlsx.parse_xml`, without building the tree; whether the text
    has comments, CDATA or processing instructions (for `sheet_scan.plain`)."""
    try:
        dtd, markup = sheet_scan.check_well_formed(raw)
    except sheet_scan.Malformed as exc:
        where = f"（第 {exc.line} 行第 {exc.column} 列）" if exc.line else ""
        raise UnreadableWorkbook(
            xlsx.path, "corrupt_xml",
            f"工作簿内部的 {part} 不是有效的 XML{where}，文件已损坏；请在 Excel 或 WPS 中打开后重新另存为 .xlsx") from None
    if dtd:
        xlsx.parse_xml(part, raw)  # defusedxml: refuses it as an XML bomb
        raise AssertionError(f"{part}: a DTD not refused")  # pragma: no cover - forbid_dtd always refuses
    return markup


def _positioned(root: Any) -> dict[str, Any]:
    """coordinate → <c> element of a parsed sheet.  `r` is optional on <row> and <c> (ECMA-376
    18.3.1.73/.4): without it a row follows the previous row and a cell the previous cell, as
    Excel reads it (no openpyxl here: importing it would cost more than a whole check)."""
    out: dict[str, Any] = {}
    row = 0
    for r in root.iter(f"{NS}row"):
        ref = r.get("r")
        row = int(ref) if ref is not None and ref.strip().isascii() and ref.strip().isdigit() else row + 1
        col = 0
        for c in r.iter(f"{NS}c"):
            ref = c.get("r")
            m = COORD.fullmatch(ref.strip()) if ref is not None else None
            if m is not None:
                col = col_number(m.group(1))
                out[f"{m.group(1)}{m.group(2)}"] = c
            elif ref is None:
                col += 1
                out[f"{col_letter(col)}{row}"] = c
    return out


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


# workbook.xml and its rels by content: every workbook of one template version has the same
# (sheets, defined names), so a batch parses them once, not ~340 names per file
_BOOKS: dict[tuple[bytes, bytes], tuple[list[tuple[str, str, str]], dict[str, tuple[str, str]], str,
                                        dict[str, frozenset[str]]]] = {}
_BOOKS_KEPT = 16


def read_workbook(xlsx: SafeXlsx) -> RawWorkbook:
    key = (xlsx.read_xml("xl/workbook.xml"), xlsx.read_xml("xl/_rels/workbook.xml.rels"))
    known = _BOOKS.get(key)
    if known is None:
        known = _read_book(xlsx, *key)
        if len(_BOOKS) >= _BOOKS_KEPT:
            _BOOKS.pop(next(iter(_BOOKS)))
        _BOOKS[key] = known
    sheet_list, names, calc_mode, wanted = known
    shared = SharedStrings(xlsx)
    dates = date_styles(xlsx)
    sheets = {name: RawSheet(xlsx, name, part, state, shared, wanted.get(name, frozenset()), dates)
              for name, part, state in sheet_list}
    for sheet in sheets.values():
        if sheet.part not in xlsx.names:
            raise UnreadableWorkbook(xlsx.path, "missing_part",
                                     f"工作表“{sheet.name}”的内容（{sheet.part}）缺失，文件不完整或已损坏；"
                                     "请在 Excel 或 WPS 中打开后重新另存为 .xlsx")
    return RawWorkbook(sheets, dict(names), calc_mode)


def _read_book(xlsx: SafeXlsx, book_raw: bytes, rels_raw: bytes):
    book = xlsx.parse_xml(package.WORKBOOK_PART, book_raw)
    rels = package.relationships(xlsx.parse_xml(package.WORKBOOK_RELS, rels_raw), package.WORKBOOK_PART)
    names: dict[str, tuple[str, str]] = {}
    for dn in book.iter(f"{NS}definedName"):
        if dn.get("localSheetId") is None and dn.text:
            ref = parse_ref(dn.text)
            if ref:
                names[dn.get("name")] = ref
    unresolved = package.resolve_target(package.WORKBOOK_PART, "")  # a sheet whose r:id leads nowhere
    sheet_list = [(name, unresolved if part is None else part, state)
                  for name, part, state in package.sheet_entries(book, rels)]
    calc = book.find(f"{NS}calcPr")
    calc_mode = (calc.get("calcMode") if calc is not None else None) or "auto"
    wanted: dict[str, set[str]] = {}  # each sheet's cells behind names: what its scan looks for
    for sheet_name, coord in names.values():
        wanted.setdefault(sheet_name, set()).add(coord)
    return sheet_list, names, calc_mode, {sheet: frozenset(coords) for sheet, coords in wanted.items()}


def _element_tuple(c: Any) -> values.RawTuple:
    """A parsed <c> element in the scanner's form."""
    t = c.get("t") or "n"
    f = c.find(f"{NS}f")
    v = c.find(f"{NS}v")
    inline = None
    if t == "inlineStr":
        is_ = c.find(f"{NS}is")
        inline = "".join(x.text or "" for x in is_.iter(f"{NS}t")) if is_ is not None else None
    return t, (None if f is None else (f.text, f.get("t"))), (v.text if v is not None else None), inline, c.get("s")
