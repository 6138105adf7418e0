"""jixiao (绩效): 部门整体支出绩效自评 workbook generator, scoring engine and checker."""

import os as _os

__version__ = "0.1.0"

# openpyxl writes through lxml whenever lxml happens to be installed (python-docx brings it), and
# lxml's incremental writer then stores every non-ASCII character as a numeric character
# reference: the sheet parts grow two- to threefold and the template's bytes would depend on an
# unrelated package.  The pure-Python writer writes UTF-8.  Set before openpyxl is first imported;
# a user's own OPENPYXL_LXML wins.
_os.environ.setdefault("OPENPYXL_LXML", "False")
