"""Well-formedness proven part by part, and remembered across the files of a batch.

Every file of one template version repeats most of its XML: the shared strings of the
labels and instructions (half a megabyte from an Excel or LibreOffice save), the rows of
labels and formulas.  Proving each file well-formed by one expat pass over all of it is the
dearest step of a check, so a part is split into its repeated items (`<si>…</si>` of the
shared strings, `<row …>…</row>` of a sheet) and only items not proven before are parsed.

Why that proves the whole text well-formed: the text is head + item₁ + … + itemₙ + tail,
split at each end tag.  expat proves (1) head + "<x/><x/>" + tail a well-formed document --
with two elements standing where the items stood, so the items stand in an element's content:
not in a tag, an attribute or a comment, and not at the top, where a second element would be a
second root -- and (2) each item well-formed content: it starts with the one start tag of
its name in it (so the end tag it was cut at closes that start tag) and parses inside a
wrapper element.  A sequence of well-formed content in element content is well-formed.  A
remembered item was proven in the same way, before the same end tag, and a remembered frame
(head, tail) by the same pass (1) -- which does not depend on the items; content is well-formed
or not whatever surrounds it (no DTD: a document with one is never proven here; no
namespaces: expat checks them in neither pass).

Anything this cannot prove -- comments, CDATA, processing instructions, a DTD, an item of
another shape or declaring a namespace, damage -- returns None, and the caller parses the
whole text as before: the refusals and their line and column stay exactly what they were.
"""

from __future__ import annotations

from typing import NamedTuple

from jixiao.xlsx.sheet_scan import Malformed, check_well_formed

__all__ = ["SHEET_ROWS", "SHARED_ITEMS", "Proof", "prove"]

SHEET_ROWS = (b"<row", b"</row>")
SHARED_ITEMS = (b"<si", b"</si>")

# end tag -> the items proven with it (a row proven is not a shared string proven: the same
# bytes cut at another end tag are another text)
_PROVEN: dict[bytes, set[bytes]] = {}
# end tag -> the (head, tail) pairs proven with it: a sheet's frame (its columns, views, merged
# cells, validations) is the same in every file of a template version
_FRAMES: dict[bytes, set[tuple[bytes, bytes]]] = {}
_PROVEN_LIMIT = 32 << 20  # bytes remembered before starting afresh (a batch's unit texts add up)
_remembered = 0


class Proof(NamedTuple):
    """raw == head + (piece + end tag for each piece) + tail; no piece declares a namespace,
    so what `sheet_scan.plain` looks for outside the cells is all in head + tail."""

    head: bytes
    pieces: list[bytes]
    tail: bytes


def prove(raw: bytes, item: tuple[bytes, bytes]) -> Proof | None:
    """`raw` proven well-formed, without a DTD, comments, CDATA or processing instructions,
    from its items (`SHEET_ROWS`, `SHARED_ITEMS`) and what was proven before; None if not."""
    global _remembered
    start, end = item
    pieces = raw.split(end)
    if len(pieces) < 2:
        return None
    tail = pieces.pop()
    first = pieces[0]
    at = first.find(start)
    if at < 0:
        return None
    head, pieces[0] = first[:at], first[at:]
    skip = len(start)
    proven = _PROVEN.get(end) or set()
    new = [piece for piece in pieces if piece not in proven]
    for piece in new:
        if not piece.startswith(start) or piece.find(start, skip) >= 0 or b"xmlns" in piece:
            return None  # not one item per piece: nothing to prove it by
    frames = _FRAMES.get(end) or set()
    frame = (head, tail)
    try:
        if frame not in frames and check_well_formed(head + b"<x/><x/>" + tail) != (False, False):
            return None  # a DTD, or comments, CDATA, PIs (`sheet_scan.plain` must see them)
        if new and check_well_formed(b"<x>" + end.join(new) + end + b"</x>") != (False, False):
            return None
    except Malformed:
        return None  # the whole-text pass says where
    if _remembered > _PROVEN_LIMIT:
        _PROVEN.clear()
        _FRAMES.clear()
        _remembered = 0
    _PROVEN.setdefault(end, set()).update(new)
    _remembered += sum(map(len, new))
    if frame not in frames:
        _FRAMES.setdefault(end, set()).add(frame)
        _remembered += len(head) + len(tail)
    return Proof(head, pieces, tail)
