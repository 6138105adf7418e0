"""The package: which part is which, by relationship (ECMA-376 Part 2, OPC).

The workbook part is the target of the package's officeDocument relationship; each sheet of
workbook.xml names its part by r:id through xl/_rels/workbook.xml.rels; a relationship's
target is resolved against the directory of its source part (or from the root, when it
starts with "/").  Parsing is the caller's (a `SafeXlsx`, or defusedxml on bytes written by
openpyxl): these functions take parsed elements."""

from __future__ import annotations

import posixpath
from typing import Any, Iterable

__all__ = [
    "NS", "PKG_REL_NS", "REL_NS", "REL_OFFICE_DOCUMENT", "REL_WORKSHEET", "WORKBOOK_PART", "WORKBOOK_RELS",
    "Relationship", "local", "relationships", "rels_part", "resolve_target", "sheet_entries", "workbook_part",
]

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
REL_OFFICE_DOCUMENT = "/officeDocument"
REL_WORKSHEET = "/worksheet"
WORKBOOK_PART = "xl/workbook.xml"  # where every application puts it
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"

Relationship = tuple[str, str, str, bool]  # (Id, Type, resolved target part, external)


def local(tag: str) -> str:
    """An element's tag without its namespace."""
    return tag.rsplit("}", 1)[-1]


def resolve_target(source_part: str, target: str) -> str:
    """The part a relationship of `source_part` points at."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


def rels_part(part: str) -> str:
    """The relationships part of `part` ('' = the package)."""
    if part == "":
        return "_rels/.rels"
    directory, name = posixpath.split(part)
    return posixpath.join(directory, "_rels", name + ".rels")


def relationships(root: Any, source_part: str) -> list[Relationship]:
    """The relationships of a parsed .rels part, targets resolved against `source_part`
    (external targets are kept as written)."""
    out = []
    for rel in root:
        if local(rel.tag) != "Relationship":
            continue
        external = rel.get("TargetMode") == "External"
        target = rel.get("Target", "")
        out.append((rel.get("Id", ""), rel.get("Type", ""), target if external else resolve_target(source_part, target),
                    external))
    return out


def workbook_part(package_rels: Iterable[Relationship]) -> str:
    """The workbook part named by the package's relationships (xl/workbook.xml by default)."""
    for _id, rel_type, target, external in package_rels:
        if rel_type.endswith(REL_OFFICE_DOCUMENT) and not external:
            return target
    return WORKBOOK_PART


def sheet_entries(book: Any, rels: Iterable[Relationship], strict: bool = True) -> list[tuple[str, str | None, str]]:
    """(name, part or None, state) of each <sheet> of a parsed workbook part, in order; the
    part through its r:id (None when no relationship has that id).  `strict`: SpreadsheetML's
    own namespaces only; otherwise any element named sheet with any attribute named id (as
    lenient as a writer fixing up its own output can be)."""
    targets = {rid: target for rid, _type, target, _external in rels}
    out = []
    for element in (book.iter(f"{NS}sheet") if strict else book.iter()):
        if strict:
            rid = element.get(f"{REL_NS}id")
        elif local(element.tag) == "sheet":
            rid = next((v for k, v in element.attrib.items() if local(k) == "id"), None)
        else:
            continue
        out.append((element.get("name", ""), targets.get(rid), element.get("state") or "visible"))
    return out
