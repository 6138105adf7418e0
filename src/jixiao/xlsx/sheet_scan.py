"""Reading cells out of sheet XML without building element trees.

A check needs ~300 cells of a workbook's ~2,800: those behind defined names.  Building every
element (ElementTree) costs several times more than the check itself, so a sheet is read in
two C-speed passes and Python touches only the cells asked for:

1. well-formedness: expat with no handlers (no Python per element) -- a damaged part gets the
   same "corrupt_xml" / "xml_bomb" errors as before;
2. the cells: each wanted `<c r="B5"` is found by `bytes.find`, in document order (one pass in
   all), and only that element is decoded.

The scan is used only when the text is in the plain form Excel, WPS, LibreOffice and openpyxl
write: UTF-8, SpreadsheetML as the one default namespace, no comments, CDATA or processing
instructions, and every `<c` with `r="…"` as its first attribute (an `r`-less cell is
positional, as Excel reads it: `scan_all` numbers them).  Anything else (`Plain` says) goes to
the ElementTree reader in `reader`, which handles every form.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from functools import lru_cache

from jixiao.xlsx.refs import col_letter, col_number, coord_order
from jixiao.xlsx.values import RawTuple

MAIN_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"

_ATTRS = rb"((?:\s+[\w:.-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*"
# a cell whose r is its first attribute (the only form the targeted scan reads)
_CELL_AT = re.compile(rb'<c r="([A-Z]{1,3}[0-9]{1,7})"' + _ATTRS + rb"(?:/>|>(.*?)</c\s*>)", re.S)
# the shapes Excel, WPS and openpyxl write ("<c .../>" or, by openpyxl's etree writer,
# "<c ... />"), decoded by one match (anything else: _decode)
# (LibreOffice writes every formula as <f aca="false">: "always calculate", nothing the check reads;
# openpyxl a formula without its result as <v />)
_SIMPLE = re.compile(rb'<c r="([A-Z]{1,3}[0-9]{1,7})"(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?(?: s="([0-9]+)")?'
                     rb'(?: ?/>|>(?:<f(?: aca="(?:false|true)")?>([^<]*)</f>)?(?:<v>([^<]*)</v>|<v ?/>)?'
                     rb"(?:<is><t>([^<]*)</t></is>)?</c>)")
# any cell or row start tag (the full, positional scan)
_TOKEN = re.compile(rb"<(row|c)(?=[\s/>])" + _ATTRS + rb"(?:(/>)|>)", re.S)
_CELL_END = re.compile(rb"</c\s*>")
_ATTR = re.compile(rb"([\w:.-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_F = re.compile(rb"<f(?=[\s/>])" + _ATTRS + rb"(?:/>|>(.*?)</f\s*>)", re.S)
_V = re.compile(rb"<v(?=[\s/>])" + _ATTRS + rb"(?:/>|>(.*?)</v\s*>)", re.S)
_IS = re.compile(rb"<is(?=[\s/>])" + _ATTRS + rb"(?:/>|>(.*?)</is\s*>)", re.S)
_T = re.compile(rb"<t(?=[\s/>])" + _ATTRS + rb"(?:/>|>(.*?)</t\s*>)", re.S)
_SI = re.compile(rb"<si(?=[\s/>])" + _ATTRS + rb"(?:/>|>(.*?)</si\s*>)", re.S)
_PROTECTION = re.compile(rb"<sheetProtection(?=[\s/>])" + _ATTRS + rb"/?>", re.S)
_SHEET_ATTR = re.compile(rb"\ssheet\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")  # (XML allows an attribute once)
_REFERENCE = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_COORD = re.compile(r"([A-Z]{1,3})([0-9]+)")  # an r attribute as the scan reads it: no "$"
_TYPES = {None: "n", b"n": "n", b"s": "s", b"str": "str", b"b": "b", b"e": "e"}


class Malformed(Exception):
    """Not well-formed XML: line and column as expat counts them."""

    def __init__(self, line: int, column: int):
        super().__init__(line, column)
        self.line, self.column = line, column


class _Doctype(Exception):
    pass


def _stop_at_doctype(*_: object) -> None:
    raise _Doctype  # before expat reads a single declaration of the DTD


def check_well_formed(raw: bytes) -> tuple[bool, bool]:
    """(has a DTD, has comments, CDATA or processing instructions), from one expat pass that
    stops at a DTD (the caller refuses it); Malformed if not well-formed.  The second answer
    is what `plain` would otherwise search the whole text for."""
    parser = xml.parsers.expat.ParserCreate()
    seen: list[bool] = []

    def markup(*_: object) -> None:
        seen.append(True)

    parser.StartDoctypeDeclHandler = _stop_at_doctype
    parser.CommentHandler = parser.ProcessingInstructionHandler = parser.StartCdataSectionHandler = markup
    try:
        parser.Parse(raw, True)
    except _Doctype:
        return True, True
    except xml.parsers.expat.ExpatError as exc:
        raise Malformed(exc.lineno, exc.offset) from None
    except (LookupError, ValueError):  # an encoding expat does not know (as `SafeXlsx.parse_xml` says)
        raise Malformed(0, 0) from None
    return False, bool(seen)


def plain(raw: bytes, root: bytes = b"worksheet", markup: bool | None = None) -> bool:
    """Whether the text is in the form the scan reads exactly (see the module docstring).
    `markup`: whether it has comments, CDATA, a DTD or processing instructions, if already
    known (`check_well_formed` says), so as not to search the text for them again."""
    head = raw[:200]
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) or b"\0" in head:
        return False
    if head.startswith(b"<?xml"):
        decl_end = head.find(b"?>")
        decl = head[:decl_end].lower()
        if decl_end < 0 or (b"encoding" in decl and b"utf-8" not in decl):
            return False
        body_start = decl_end + 2
    else:
        body_start = 0
    if markup if markup is not None else (b"<!" in raw or raw.find(b"<?", body_start) >= 0):
        return False  # comments, CDATA, a DTD; processing instructions
    start = raw.find(b"<", body_start)
    if raw[start + 1:start + 1 + len(root)] != root or raw.count(b'xmlns="') != 1:
        return False
    tag_end = raw.find(b">", start)
    return b'xmlns="' + MAIN_NS + b'"' in raw[start:tag_end]


def all_cells_have_r(raw: bytes) -> bool:
    return raw.count(b"<c ") + raw.count(b"<c>") + raw.count(b"<c/>") + raw.count(b"<c\t") + \
        raw.count(b"<c\n") + raw.count(b"<c\r") == raw.count(b'<c r="')


def _text(raw: bytes | None) -> str | None:
    """Element text as ElementTree gives it: None when empty, line ends normalised, character
    and the five predefined entity references resolved."""
    if not raw:
        return None
    if b"&" not in raw and b"\r" not in raw:
        return raw.decode("utf-8")  # the usual case: nothing to resolve
    text = raw.decode("utf-8")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in text:
        if "&#" in text:
            text = _REFERENCE.sub(_resolve, text)
        else:  # only the five named ones: "&amp;" last, so "&amp;lt;" stays "&lt;"
            text = text.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">") \
                .replace("&apos;", "'").replace("&amp;", "&")
    return text


# a formula's text -> its decoded form: a template's ~230 formulas are the same in every file
# of its version, and long (their "&amp;" and "&gt;" make them the dearest texts to decode)
_FORMULAS: dict[bytes, tuple[str | None, None]] = {}
_FORMULAS_KEPT = 20_000


def _formula(raw: bytes) -> tuple[str | None, None]:
    known = _FORMULAS.get(raw)
    if known is None:
        if len(_FORMULAS) >= _FORMULAS_KEPT:
            _FORMULAS.clear()
        known = _FORMULAS[raw] = (_text(raw), None)
    return known


def _resolve(m: re.Match[str]) -> str:
    ref = m.group(1)
    if ref[0] == "#":
        return chr(int(ref[2:], 16) if ref[1] in "xX" else int(ref[1:]))
    return _NAMED[ref]


def _attrs(raw: bytes) -> dict[bytes, bytes]:
    return {m.group(1): (m.group(2) if m.group(2) is not None else m.group(3)) for m in _ATTR.finditer(raw)} \
        if raw else {}


def _attr_text(value: bytes | None) -> str | None:
    if value is None:
        return None
    text = value.decode("utf-8")
    for ws in "\t\n\r":
        text = text.replace(ws, " ")  # attribute-value normalisation
    return _REFERENCE.sub(_resolve, text) if "&" in text else text


def _decode(attrs: bytes, body: bytes | None) -> RawTuple:
    a = _attrs(attrs)
    t = _attr_text(a.get(b"t")) or "n"
    style = _attr_text(a.get(b"s"))
    f = v = inline = None
    if body:
        m = _F.search(body)
        if m:
            f = (_text(m.group(2)), _attr_text(_attrs(m.group(1)).get(b"t")))
        m = _V.search(body)
        if m:
            v = _text(m.group(2))
        if t == "inlineStr":
            m = _IS.search(body)
            if m:
                inline = "".join(_text(x.group(2)) or "" for x in _T.finditer(m.group(2) or b""))
    return t, f, v, inline, style


def scan_wanted(raw: bytes, wanted: frozenset[str]) -> dict[str, RawTuple | None]:
    """The wanted cells (plain text with r everywhere: see `plain`, `all_cells_have_r`), each
    found by its own `<c r="…"`, in row order so the finds add up to about one pass."""
    out: dict[str, RawTuple | None] = {}
    pos = 0
    for coord, needle in _needles(wanted):
        at = raw.find(needle, pos)
        if at < 0:
            at = raw.find(needle)  # out of order (never in files Excel writes)
        if at < 0:
            out[coord] = None
            continue
        pos = at
        m = _SIMPLE.match(raw, at)
        if m is not None:
            s1, t, s2, f, v, inline = m.group(2, 3, 4, 5, 6, 7)
            if s1 is None or s2 is None:  # (s given twice is not well-formed XML anyway)
                style = (s1 or s2).decode() if (s1 or s2) else None
                if t == b"inlineStr":
                    if inline is not None:  # <is><t>text</t></is>: the inline string is that text
                        out[coord] = ("inlineStr", None if f is None else _formula(f), _text(v),
                                      _text(inline) or "", style)
                        continue
                elif inline is None:
                    out[coord] = (_TYPES.get(t) or t.decode(), None if f is None else _formula(f), _text(v), None,
                                  style)
                    continue
        m = _CELL_AT.match(raw, at)
        out[coord] = None if m is None else _decode(m.group(2), m.group(3))
    return out


def scan_all(raw: bytes) -> dict[str, RawTuple]:
    """Every cell of plain text, `r`-less cells and rows numbered by position as Excel does:
    a row without r follows the previous row, a cell without r the previous cell."""
    out: dict[str, RawTuple] = {}
    row, col = 0, 0
    pos = 0
    while True:
        m = _TOKEN.search(raw, pos)
        if m is None:
            return out
        a = _attrs(m.group(2))
        r = a.get(b"r")
        if m.group(1) == b"row":
            row = int(r) if r is not None and r.isdigit() else row + 1
            col = 0
            pos = m.end()
            continue
        if m.group(3):  # <c .../>
            body, pos = None, m.end()
        else:
            end = _CELL_END.search(raw, m.end())
            if end is None:
                return out
            body, pos = raw[m.end():end.start()], end.end()
        if r is not None:
            cm = _COORD.fullmatch(r.decode("ascii", "replace"))
            if cm is None:
                continue
            col = col_number(cm.group(1))
            coord = f"{cm.group(1)}{cm.group(2)}"
        else:
            col += 1
            coord = f"{col_letter(col)}{max(row, 1)}"
        out[coord] = _decode(m.group(2), body)


def protected(raw: bytes) -> bool:
    # found by bytes.find (a long needle skips through the text), each hit matched in place:
    # the regex searching on its own tries every "<" of the sheet.  The element follows
    # sheetData (CT_Worksheet's order), so the search starts after the cells: in plain text no
    # "<sheetProtection" can stand inside them (a cell's text would have it as "&lt;")
    end = raw.rfind(b"</sheetData")
    at = raw.find(b"<sheetProtection", max(end, 0))
    while at >= 0:
        m = _PROTECTION.match(raw, at)
        if m is not None:
            a = _SHEET_ATTR.search(m.group(1))
            if a is not None and (a.group(1) if a.group(1) is not None else a.group(2)) in (b"1", b"true"):
                return True
            at = m.end()
        else:
            at += 1
        at = raw.find(b"<sheetProtection", at)
    return False


def shared_strings(raw: bytes, items: list[bytes] | None = None) -> list[bytes | None]:
    """Each <si>'s XML, decoded on demand by `shared_text`.  `items`: the text already cut into
    one `<si…` element each (`fragments.Proof`), which is all it takes (half a megabyte of rich
    text from a LibreOffice save takes the regex milliseconds); else each <si>'s inner XML."""
    if items is not None:
        return items
    return [m.group(2) for m in _SI.finditer(raw)]


_PRESERVED = b'<t xml:space="preserve">'


def shared_text(inner: bytes | None, element: bool = False) -> str:
    """The text of a shared string from its inner XML, or (`element`) from its <si> element
    as `fragments` cut it (without the end tag)."""
    if inner is None:
        return ""
    if element:
        if inner[3:4] == b">":
            inner = inner[4:]
        else:  # <si> with attributes (never written by Excel, WPS or LibreOffice)
            m = _SI.match(inner + b"</si>")
            inner = (m.group(2) if m else None) or b""
    if inner.endswith(b"</t>") and inner.count(b"<") == 2:  # <t>text</t>, the usual item
        if inner.startswith(b"<t>"):
            return _text(inner[3:-4]) or ""
        if inner.startswith(_PRESERVED):  # as LibreOffice writes every item
            return _text(inner[len(_PRESERVED):-4]) or ""
    return "".join(_text(x.group(2)) or "" for x in _T.finditer(inner))


@lru_cache(maxsize=64)
def _needles(wanted: frozenset[str]) -> list[tuple[str, bytes]]:
    """The wanted cells in row order with their search strings (the same for every file of a
    template version)."""
    return [(c, b'<c r="%s"' % c.encode()) for c in sorted(wanted, key=coord_order)]


__all__ = ["Malformed", "RawTuple", "all_cells_have_r", "check_well_formed", "plain", "protected", "scan_all",
           "scan_wanted", "shared_strings", "shared_text"]
