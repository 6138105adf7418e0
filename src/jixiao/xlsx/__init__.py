"""The spreadsheet file format, one concern per module (no openpyxl outside `cached_values`):

- `refs`: cell references -- column letters, A1 coordinates, quoted sheet names, "Sheet!$A$1";
- `errors`: Excel's error values;
- `values`: the cell-value model -- a cell decoded from its XML, a value encoded for writing;
- `package`: which part is which, by relationship;
- the safe reader: `safe` (open a submitted file, `SafeXlsx`), `zipguard` (zip limits, capped
  inflating), `prolog` (where a DTD can be), `sniff` (what a non-xlsx file is), `unreadable`
  (the refusal);
- reading cells: `reader` (workbook, sheets, shared strings, defined names), `sheet_scan`
  (cells without element trees), `styles` (date styles), `formula_text`;
- writing: `cached_values` (formula results into an openpyxl-saved package).
"""
