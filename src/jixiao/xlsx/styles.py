"""Which cell styles show a date: a number in such a style is a date to the accountant, and
Excel stores dates as serial numbers (read from xl/styles.xml, once per distinct part)."""

from __future__ import annotations

import re

from jixiao.xlsx.package import NS
from jixiao.xlsx.safe import SafeXlsx

__all__ = ["date_styles", "is_date_format"]

STYLES_PART = "xl/styles.xml"
# Built-in number formats that show a date or time: 14-22 and 45-47 everywhere, 27-36 and
# 50-58 in the Chinese, Japanese and Korean editions of Excel and WPS (年月日 formats).
_BUILTIN_DATES = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
_NOT_DATE_PARTS = re.compile(r'"[^"]*"|\\.|\[(?!h\]|hh\]|m\]|mm\]|s\]|ss\])[^\]]*\]', re.IGNORECASE)
# styles.xml by content: the files of one template version share it, so a batch parses it once
_STYLES: dict[bytes, frozenset[str]] = {}
_STYLES_KEPT = 16


def is_date_format(code: str) -> bool:
    """Whether a number format code shows a date or time (y m d h s outside quotes, escapes
    and [colour]/[locale] sections; [h] elapsed time counts)."""
    return any(ch in "ymdhsYMDHS" for ch in _NOT_DATE_PARTS.sub("", code.split(";")[0]))


def date_styles(xlsx: SafeXlsx) -> frozenset[str]:
    """The cell style indices (the `s` of a <c>) whose number format is a date or time."""
    if STYLES_PART not in xlsx.names:
        return frozenset()
    raw = xlsx.read_xml(STYLES_PART)
    known = _STYLES.get(raw)
    if known is None:
        known = _parse_date_styles(xlsx, raw)
        if len(_STYLES) >= _STYLES_KEPT:
            _STYLES.pop(next(iter(_STYLES)))
        _STYLES[raw] = known
    return known


def _parse_date_styles(xlsx: SafeXlsx, raw: bytes) -> frozenset[str]:
    root = xlsx.parse_xml(STYLES_PART, raw)
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
