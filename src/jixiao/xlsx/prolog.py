"""Where a DTD can be: only in an XML document's prolog, before the root element's start tag
(XML 1.0 §2.8: prolog ::= XMLDecl? Misc* (doctypedecl Misc*)?).  So refusing DTDs needs the
head of each part, not the whole part -- as long as the head is read the way a parser reads
it: the XML declaration, comments and processing instructions skipped (a "<!DOCTYPE" inside a
comment is not a DTD, and a comment may be long), then either a doctype declaration or the
root element.  "<!DOCTYPE" text inside a cell value comes after the root start tag and is
never looked at.

`scan` answers from a prefix of the part: DTD, ROOT (no DTD is possible any more), MORE
(the prefix ends inside the prolog) or UNSURE (an encoding or a prolog this scan does not
read: the caller scans the whole part, as before)."""

from __future__ import annotations

import re

__all__ = ["DTD", "MORE", "ROOT", "UNSURE", "scan"]

DTD, ROOT, MORE, UNSURE = "dtd", "root", "more", "unsure"

# encodings in which "<!DOCTYPE" is spelled in ASCII bytes, as this scan reads it
_ASCII_COMPATIBLE = re.compile(r"^(?:utf-?8|us-ascii|ascii|iso-?8859-\d+|latin-?1|windows-125\d|cp125\d|"
                               r"gb2312|gbk|gb18030|big5|shift_jis|euc-jp|euc-kr)$", re.IGNORECASE)
_ENCODING = re.compile(r"""encoding\s*=\s*["']([^"']*)["']""")
_NAME_START = re.compile(r"[A-Za-z_:\u00c0-\uffff]")


def scan(head: bytes, complete: bool) -> str:
    """What the prefix `head` of an XML part says (`complete`: it is the whole part)."""
    text = _decoded(head)
    if text is None:
        return UNSURE
    pos, n = 0, len(text)
    if text.startswith("<?xml"):
        end = text.find("?>")
        if end < 0:
            return UNSURE if complete else MORE
        m = _ENCODING.search(text, 0, end)
        wide = head[:2] in (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")  # UTF-16, decoded as such
        if m and not wide and not _ASCII_COMPATIBLE.match(m.group(1).strip()):
            return UNSURE
        pos = end + 2
    while True:
        while pos < n and text[pos] in " \t\r\n":
            pos += 1
        if n - pos < 9 and not complete:  # room to tell "<!DOCTYPE" from "<!--" or a name
            return MORE
        if pos >= n:
            return ROOT  # nothing but a prolog (not well-formed, and no DTD)
        if text.startswith("<!--", pos):
            end = text.find("-->", pos + 4)
        elif text.startswith("<?", pos):
            end = text.find("?>", pos + 2)
        elif text.startswith("<!DOCTYPE", pos):
            return DTD
        elif text[pos] == "<" and _NAME_START.match(text, pos + 1):
            return ROOT
        else:
            return UNSURE
        if end < 0:
            return UNSURE if complete else MORE
        pos = end + (3 if text[end] == "-" else 2)


def _decoded(head: bytes) -> str | None:
    """The prefix as text: UTF-16 by its BOM or its first character, anything else read byte
    by byte (the prolog's markup is ASCII in every ASCII-compatible encoding)."""
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if head[:4] in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\x00<", b"<\x00\x00\x00"):
        return None  # UTF-32: not for this scan
    for mark, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"),
                        (b"<\x00", "utf-16-le"), (b"\x00<", "utf-16-be")):
        if head.startswith(mark):
            body = head[2:] if mark[0] in (0xFF, 0xFE) else head
            return body[:len(body) & ~1].decode(codec, errors="replace")
    return head.decode("latin-1")
