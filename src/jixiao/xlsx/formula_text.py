"""Formula text compared across applications: Excel, WPS, LibreOffice and openpyxl spell the
same formula with or without '=', '$' anchors, spaces and sheet-name quotes."""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["normalise_formula"]

_STRING = re.compile(r'"(?:[^"]|"")*"')
_QUOTED_SHEET = re.compile(r"'((?:[^']|'')+)'!")


# cached: a writer spells each of a template's ~230 formulas the same way in every file (a
# LibreOffice or Excel save differs from the template in quotes and anchors, so a batch of such
# files would otherwise normalise every formula of every file)
@lru_cache(maxsize=8192)
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
