"""The check report as plain text, where plain text is exactly what rich would write: standard
output is not a terminal (a pipe, a file), so rich uses no colour, and nothing printed needs
more than line wrapping.  Importing rich's console and table costs a `jixiao check` process
~20 ms, a sixth of its life; this writes the same bytes with rich's own line breaking
(`rich._wrap.divide_line`, `rich.cells`), a 2 ms import.

`write_plain` declines (and the caller uses rich) whenever the outcome could differ: a
terminal or a forced one (FORCE_COLOR, TTY_COMPATIBLE), Windows (rich measures its console
there), the indicator table, a control character or tab in the text, a tiny width, rich's
helpers missing.  tests/test_plain_report.py holds it to rich's output."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence

from jixiao.checker.report import Item, Line

_WHITESPACE_END = re.compile(r"\s+$")
# Text() drops some control characters and expands tabs; such text goes to rich itself
_UNUSUAL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MIN_WIDTH = 10


def rich_width(environ: Mapping[str, str] = os.environ) -> int:
    """The width rich's Console() takes on a POSIX system (rich.console.Console.size): COLUMNS
    if it is a number, else the first of stdin, stdout, stderr that is a terminal, else 80."""
    columns = environ.get("COLUMNS")
    if columns is not None and columns.isdigit():
        return int(columns)
    width = None
    for fd in (0, 1, 2):
        try:
            width, _ = os.get_terminal_size(fd)
        except (AttributeError, ValueError, OSError):
            continue
        break
    return width or 80


def plain_possible(stream, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether rich would write to `stream` without colour or other terminal codes."""
    if os.name == "nt" or "FORCE_COLOR" in environ or "TTY_COMPATIBLE" in environ:
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return isatty is not None and not isatty()
    except ValueError:  # a closed stream: let rich report it
        return False


def wrap(text: str, width: int) -> list[str]:
    """The lines rich's Text.wrap makes of one line of plain text (justify "default",
    overflow "fold"): break at rich's offsets, drop trailing whitespace beyond the width,
    crop to the width."""
    from rich._wrap import divide_line
    from rich.cells import cell_len, set_cell_size

    offsets = divide_line(text, width, fold=True)
    lines = []
    for start, end in zip([0, *offsets], [*offsets, len(text)]):
        line = text[start:end]
        if len(line) > width:
            trailing = _WHITESPACE_END.search(line)
            if trailing is not None:
                line = line[:len(line) - min(len(trailing.group(0)), len(line) - width)]
        if cell_len(line) > width:
            line = set_cell_size(line, width)
        lines.append(line)
    return lines


def render(reports: Sequence[Sequence[Item]], width: int) -> str | None:
    """The text of `reports` at `width`, or None when only rich can say what it would be."""
    if width < MIN_WIDTH:
        return None
    try:
        import rich._wrap  # noqa: F401 - rich's private helpers: their absence means "use rich"
        import rich.cells  # noqa: F401
    except ImportError:
        return None
    out = []
    for items in reports:
        for item in items:
            if not isinstance(item, Line):
                return None
            text = item.plain
            if _UNUSUAL.search(text):
                return None
            out.extend(wrap(text, width))
    return "".join(line + "\n" for line in out)


def write_plain(reports: Sequence[Sequence[Item]], stream=None, environ: Mapping[str, str] = os.environ) -> bool:
    """Write `reports` to `stream` (standard output) as rich would; False, having written
    nothing, when that is not certain."""
    stream = sys.stdout if stream is None else stream
    if not plain_possible(stream, environ):
        return False
    text = render(reports, rich_width(environ))
    if text is None:
        return False
    stream.write(text)
    stream.flush()
    return True
