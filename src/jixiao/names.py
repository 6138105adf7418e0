"""File names as the bureau meets them: not always valid UTF-8.

A Windows share, or `unzip` without ``-O``, leaves GBK bytes in a file name; Python hands them
over as surrogate escapes (``\\udcb8``), which no database driver, terminal or JSON writer
accepts.  `display_name` turns such a name into text for people (GB18030 -- a superset of GBK
-- first, then UTF-8 with replacement); `raw_name` keeps its exact bytes for storage."""

from __future__ import annotations

import os
import re

__all__ = ["clip", "display_name", "is_clean", "raw_name"]

# C0 controls but tab and newline, DEL and C1: an ESC in a file name could drive the terminal
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def raw_name(name: str | bytes | os.PathLike) -> bytes:
    """The name's bytes as the file system has them."""
    return os.fsencode(name)


def is_clean(name: str) -> bool:
    """True when the text holds no undecodable bytes (surrogate escapes)."""
    return not any("\udc80" <= ch <= "\udcff" for ch in name)


def display_name(name: str | bytes | os.PathLike) -> str:
    """Text for people and databases: valid UTF-8 as it is, else GB18030, else UTF-8 with �."""
    text = os.fspath(name)
    if isinstance(text, str):
        if is_clean(text):
            return text
        raw = text.encode("utf-8", "surrogateescape")
    else:
        raw = text
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            pass
    return raw.decode("utf-8", "replace")


def clip(text: str, limit: int = 200) -> str:
    """A unit-supplied string fit to echo: at most `limit` characters, control characters
    (terminal escapes) shown as U+FFFD."""
    text = _CONTROL.sub("\ufffd", text)
    return text if len(text) <= limit else f"{text[:limit]}…（共 {len(text)} 个字符）"
