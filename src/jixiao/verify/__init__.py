"""Verification tools: other spreadsheet engines computing the template's own formulas, to
prove that the Python engine computes what the workbook computes.

- `formulas_oracle` — the `formulas` package evaluating a workbook (used by `jixiao demo`, the
  tests and the benchmarks), compiled with `excel_patches`: Excel's behaviour for exactly the
  functions and operators the template emits;
- `libreoffice_recalc` — LibreOffice recalculating workbooks (tests and benchmarks).

Nothing on the `jixiao check` / `jixiao import` / add-in path imports this package (a test
asserts it); import the submodules explicitly, this file imports nothing.
"""
