"""Write cached formula results into an openpyxl-generated ``.xlsx``.

openpyxl saves formula cells without a cached result::

    <c r="B2" s="1"><f>SUM(A1:A3)</f><v /></c>      (xml.etree writer)
    <c r="B2" s="1"><f>SUM(A1:A3)</f><v></v></c>    (lxml writer)

so every consumer that does not run a calculation engine (mail previews,
phone viewers, ``python-calamine``, ``openpyxl`` with ``data_only=True``)
sees an empty cell.  :func:`save_with_cached_values` saves the workbook,
then rewrites the formula cells of the worksheet parts so that they carry
the results we computed ourselves, exactly like Excel/WPS store them::

    <c r="B2" s="1"><f>SUM(A1:A3)</f><v>1.97</v></c>
    <c r="C5"><f>A1&amp;"x"</f><v>text</v></c>             -> t="str"
    <c r="D1" t="b"><f>A1&gt;0</f><v>1</v></c>
    <c r="E1" t="e"><f>1/0</f><v>#DIV/0!</v></c>

``xl/workbook.xml`` keeps ``<calcPr fullCalcOnLoad="1"/>`` so that Excel,
WPS and LibreOffice still recalculate everything on open; the cached values
only serve readers that cannot calculate.

The rewrite is a single bytes regex pass per worksheet part (no DOM), which
is correct for the regular cell shape openpyxl 3.1 emits (see
``openpyxl/cell/_writer.py``): ``<c`` + attributes (``r`` first, optional
``s``, *no* ``t`` for formula cells) + ``<f ...>formula</f>`` (or a
self-closing ``<f .../>`` for data-table formulas) + an empty ``<v/>``,
``<v />`` or ``<v></v>`` + ``</c>``.  Formula text never contains a raw
``<`` because both writers escape it.  Strings are written inline
(``t="inlineStr"``), never as shared strings, and non-formula cells never
start with ``<f`` so they cannot match.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import BinaryIO, Mapping

from defusedxml import ElementTree as _SafeET
from openpyxl import Workbook
from openpyxl.workbook.properties import CalcProperties

from jixiao.xlsx import package
from jixiao.xlsx.errors import STORABLE as ERROR_CODES
from jixiao.xlsx.refs import normalise_coord
from jixiao.xlsx.values import encode as _encode

__all__ = ["save_with_cached_values", "ERROR_CODES"]

# A formula cell as written by openpyxl (both the etree and lxml writers).
#   group 1: attributes of <c>   group 2: the complete <f> element
# (A self-closing empty cell "<c r="A1"/>" is never followed by "<f", so the
# greedy attribute group cannot run into the next cell; greedy is ~2x faster.)
_FORMULA_CELL_RE = re.compile(
    rb"<c\s([^>]*)>"
    rb"(<f(?:\s[^>]*?)?(?:/>|>[^<]*</f>))"
    rb"(?:<v\s*/>|<v\s*>[^<]*</v>)?"
    rb"</c>"
)
_ATTR_R_RE = re.compile(rb"""(?:^|\s)r\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_ATTR_T_RE = re.compile(rb"""\s+t\s*=\s*(?:"[^"]*"|'[^']*')""")

# Characters that are not allowed in XML 1.0 text.  Excel stores them as
# _xHHHH_ and escapes the underscore of a literal "_xHHHH_" as _x005F_; Excel
# and calamine decode this (openpyxl's reader does not decode t="str" values).
_XML_ILLEGAL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_OOXML_ESCAPE_LIKE_RE = re.compile("_(?=x[0-9A-Fa-f]{4}_)")

_CALCPR_RE = re.compile(rb"<calcPr\b[^>]*?/?>")
_FULLCALC_ON_RE = re.compile(rb"""\sfullCalcOnLoad\s*=\s*["'](?:1|true)["']""")
_FULLCALC_ANY_RE = re.compile(rb"""\s+fullCalcOnLoad\s*=\s*(?:"[^"]*"|'[^']*')""")
# Elements that follow calcPr in CT_Workbook (where calcPr must be inserted).
_AFTER_CALCPR_RE = re.compile(
    rb"<(?:oleSize|customWorkbookViews|pivotCaches|smartTagPr|smartTagTypes|"
    rb"webPublishing|fileRecoveryPr|webPublishObjects|extLst)\b|</workbook>"
)


# --------------------------------------------------------------------------- #
# package structure (jixiao.xlsx.package), on the bytes openpyxl wrote
# --------------------------------------------------------------------------- #
def _read_rels(parts: Mapping[str, bytes], source_part: str) -> list[package.Relationship]:
    """The internal relationships of ``source_part`` ('' = package)."""
    data = parts.get(package.rels_part(source_part))
    if data is None:
        return []
    return [r for r in package.relationships(_SafeET.fromstring(data), source_part) if not r[3]]


def _workbook_part(parts: Mapping[str, bytes]) -> str:
    return package.workbook_part(_read_rels(parts, ""))


def _sheet_parts(parts: Mapping[str, bytes], workbook_part: str) -> dict[str, str]:
    """Map worksheet title -> worksheet part name (chartsheets are skipped)."""
    worksheets = [r for r in _read_rels(parts, workbook_part) if r[1].endswith(package.REL_WORKSHEET)]
    return {name: part for name, part, _state in
            package.sheet_entries(_SafeET.fromstring(parts[workbook_part]), worksheets, strict=False)
            if part is not None}


# --------------------------------------------------------------------------- #
# XML rewriting
# --------------------------------------------------------------------------- #
def _rewrite_sheet_xml(xml: bytes, encoded: Mapping[bytes, tuple[bytes | None, bytes]]
                       ) -> tuple[bytes, set[bytes]]:
    """Insert cached values into the formula cells of one worksheet part.

    ``encoded`` maps normalised coordinates (``b"B2"``) to ``(t, v)`` pairs as
    returned by :func:`_encode`.  Returns the new XML and the set of
    coordinates that were written.
    """
    done: set[bytes] = set()
    if not encoded:
        return xml, done

    def replace(match: re.Match[bytes]) -> bytes:
        attrs = match.group(1)
        if attrs.startswith(b'r="'):  # openpyxl always writes r first
            coordinate = attrs[3:attrs.find(b'"', 3)]
        else:
            r_match = _ATTR_R_RE.search(attrs)
            if r_match is None:
                return match.group(0)
            coordinate = r_match.group(1) if r_match.group(1) is not None else r_match.group(2)
        item = encoded.get(coordinate)
        if item is None:
            coordinate = coordinate.upper().replace(b"$", b"")
            item = encoded.get(coordinate)
            if item is None:
                return match.group(0)
        done.add(coordinate)
        t_value, v_text = item
        if b"t=" in attrs:
            attrs = _ATTR_T_RE.sub(b"", attrs)
        attrs = attrs.rstrip()
        if t_value is not None:
            attrs += b' t="' + t_value + b'"'
        return b"<c " + attrs + b">" + match.group(2) + b"<v>" + v_text + b"</v></c>"

    return _FORMULA_CELL_RE.sub(replace, xml), done


def _ensure_full_calc_on_load(xml: bytes) -> bytes:
    match = _CALCPR_RE.search(xml)
    if match is not None:
        tag = match.group(0)
        if _FULLCALC_ON_RE.search(tag):
            return xml
        tag = _FULLCALC_ANY_RE.sub(b"", tag)
        closing = b"/>" if tag.endswith(b"/>") else b">"
        tag = tag[: -len(closing)].rstrip() + b' fullCalcOnLoad="1"' + closing
        return xml[: match.start()] + tag + xml[match.end():]
    anchor = _AFTER_CALCPR_RE.search(xml)
    if anchor is None:  # pragma: no cover - not a SpreadsheetML workbook part
        raise ValueError("workbook part has no </workbook> end tag")
    return xml[: anchor.start()] + b'<calcPr fullCalcOnLoad="1"/>' + xml[anchor.start():]


# --------------------------------------------------------------------------- #
# public API
# --------------------------------------------------------------------------- #
def save_with_cached_values(
    workbook: Workbook,
    target: Path | str | BinaryIO,
    values: Mapping[str, Mapping[str, object]],
    *,
    strict: bool = False,
) -> None:
    """Save ``workbook`` to ``target`` with cached results for formula cells.

    ``values`` maps sheet titles to ``{coordinate: result}`` (``"B2"``,
    ``"$B$2"`` and ``"b2"`` are equivalent).  Results are written as Excel
    does: numbers (``int``/``float``/``Decimal``, dates as serials) as plain
    ``<v>``; ``nan``/``inf`` as the error ``#NUM!``; ``bool`` as ``t="b"``;
    the error strings in :data:`ERROR_CODES` as ``t="e"``; any other string
    as ``t="str"``; ``None`` means "no cached value".

    Formula cells not listed keep an empty cached value, non-formula cells
    and every other package member are left unchanged, and the workbook is
    marked ``fullCalcOnLoad`` so spreadsheet applications recalculate.

    Unknown sheet titles raise :class:`KeyError`.  Coordinates that are not
    formula cells are ignored, unless ``strict`` is true, in which case they
    raise :class:`ValueError`.  Unsupported value types raise
    :class:`TypeError`.  Nothing is written to ``target`` when an error is
    raised.
    """
    # 1. Let openpyxl write the package, making sure calcPr asks for a recalc.
    previous_calc = workbook.calculation
    if previous_calc is None:
        workbook.calculation = CalcProperties()
    previous_full = workbook.calculation.fullCalcOnLoad
    workbook.calculation.fullCalcOnLoad = True
    buffer = io.BytesIO()
    try:
        workbook.save(buffer)
    finally:
        workbook.calculation.fullCalcOnLoad = previous_full
        workbook.calculation = previous_calc

    # 2. Read all members (order and ZipInfo kept for a faithful rewrite).
    buffer.seek(0)
    with zipfile.ZipFile(buffer) as source:
        infos = source.infolist()
        parts = {info.filename: source.read(info) for info in infos}

    # 3. Rewrite what needs rewriting.
    changed: dict[str, bytes] = {}
    workbook_part = _workbook_part(parts)
    workbook_xml = _ensure_full_calc_on_load(parts[workbook_part])
    if workbook_xml != parts[workbook_part]:
        changed[workbook_part] = workbook_xml

    if values:
        sheet_parts = _sheet_parts(parts, workbook_part)
        epoch = workbook.epoch
        for title, cells in values.items():
            if title not in sheet_parts:
                raise KeyError(f"no worksheet titled {title!r} in workbook "
                               f"(have {sorted(sheet_parts)!r})")
            encoded: dict[bytes, tuple[bytes | None, bytes]] = {}
            for coordinate, value in cells.items():
                item = _encode(value, epoch)
                if item is not None:
                    encoded[normalise_coord(coordinate).encode("ascii")] = item
            part = sheet_parts[title]
            new_xml, done = _rewrite_sheet_xml(changed.get(part, parts[part]), encoded)
            if strict and len(done) != len(encoded):
                missing = sorted(c.decode() for c in encoded.keys() - done)
                raise ValueError(f"{title!r}: not formula cells: {', '.join(missing)}")
            if done:
                changed[part] = new_xml

    # 4. Write the result: same member names, order, compression and metadata.
    if isinstance(target, (str, Path)):
        with open(target, "wb") as handle:
            _write_zip(handle, infos, parts, changed)
    else:
        _write_zip(target, infos, parts, changed)


def _write_zip(handle: BinaryIO, infos: list[zipfile.ZipInfo], parts: Mapping[str, bytes],
               changed: Mapping[str, bytes]) -> None:
    with zipfile.ZipFile(handle, "w", allowZip64=True) as out:
        for info in infos:
            new_info = zipfile.ZipInfo(info.filename, info.date_time)
            new_info.compress_type = info.compress_type
            new_info.external_attr = info.external_attr
            new_info.create_system = info.create_system
            new_info.comment = info.comment
            new_info.extra = info.extra
            out.writestr(new_info, changed.get(info.filename, parts[info.filename]))
