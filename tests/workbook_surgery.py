"""Edit an .xlsx the way Excel, WPS or a careless user would, at the level of its zip parts.

openpyxl cannot be used to build the bad cases of `jixiao check`: it drops cached results,
rewrites every part and cannot express "the formula is gone but its last value stays".  An
`Xlsx` holds the zip members as bytes (in order) and patches the XML text of one part with
plain string and regex edits, then writes a new zip.

Cells in jixiao's sheets look like ``<c r="I6" s="12"><f>ROUND(...)</f><v>5</v></c>``;
strings are inline (``t="inlineStr"``) or ``t="str"`` for formula results; references are
always sheet-qualified and quoted (``'采购与经费'!$B$5``)."""

from __future__ import annotations

import html
import io
import posixpath
import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_COORD = re.compile(r"(\$?)([A-Z]{1,3})(\$?)([0-9]+)")


class Xlsx:
    def __init__(self, members: dict[str, bytes]):
        self.members = dict(members)

    # --- in and out ----------------------------------------------------------------------

    @classmethod
    def load(cls, source: str | Path | bytes) -> Xlsx:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return cls({info.filename: zf.read(info) for info in zf.infolist()})

    def copy(self) -> Xlsx:
        return Xlsx(self.members)

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in self.members.items():
                zf.writestr(name, data)
        return out.getvalue()

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_bytes(self.to_bytes())
        return path

    # --- parts ---------------------------------------------------------------------------

    def text(self, part: str) -> str:
        return self.members[part].decode("utf-8")

    def set_text(self, part: str, text: str) -> Xlsx:
        self.members[part] = text.encode("utf-8")
        return self

    def patch(self, part: str, old: str, new: str, count: int | None = 1) -> Xlsx:
        """Replace *old* by *new* in *part*; exactly *count* occurrences must exist (None: any, ≥ 1)."""
        text = self.text(part)
        found = text.count(old)
        assert found and (count is None or found == count), f"{old!r} occurs {found}× in {part}"
        return self.set_text(part, text.replace(old, new))

    def sub(self, part: str, pattern: str, repl, count: int | None = 1, flags: int = re.S) -> Xlsx:
        """Regex replace in *part*; exactly *count* matches must exist (None: any, ≥ 1)."""
        new, n = re.subn(pattern, repl, self.text(part), flags=flags)
        assert n and (count is None or n == count), f"{pattern!r} matched {n}× in {part}"
        return self.set_text(part, new)

    def add(self, part: str, data: bytes | str, content_type: str | None = None) -> Xlsx:
        self.members[part] = data.encode("utf-8") if isinstance(data, str) else data
        if content_type:
            self.patch("[Content_Types].xml", "</Types>",
                       f'<Override PartName="/{part}" ContentType="{content_type}" /></Types>')
        return self

    def drop(self, part: str) -> Xlsx:
        del self.members[part]
        return self

    # --- sheets --------------------------------------------------------------------------

    def sheet_parts(self) -> dict[str, str]:
        """Sheet name → part name, via xl/workbook.xml and its relationships."""
        rels = {m.group("id"): m.group("target") for m in re.finditer(
            r'<Relationship\b(?=[^>]*\bId="(?P<id>[^"]+)")(?=[^>]*\bTarget="(?P<target>[^"]+)")[^>]*>',
            self.text("xl/_rels/workbook.xml.rels"))}
        out = {}
        for m in re.finditer(r"<sheet\b[^>]*>", self.text("xl/workbook.xml")):
            name = _unescape(re.search(r'\bname="([^"]*)"', m.group(0)).group(1))
            rid = re.search(r'\br:id="([^"]*)"', m.group(0)).group(1)
            target = rels[rid]
            out[name] = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        return out

    def sheet_part(self, sheet: str) -> str:
        return self.sheet_parts()[sheet]

    # --- cells ---------------------------------------------------------------------------

    @staticmethod
    def _cell_pattern(coord: str) -> str:
        return rf'<c\b[^>]*\br="{coord}"[^>]*?(?:/>|>.*?</c>)'

    def cell_xml(self, sheet: str, coord: str) -> str:
        m = re.search(self._cell_pattern(coord), self.text(self.sheet_part(sheet)), re.S)
        assert m, f"no cell {sheet}!{coord}"
        return m.group(0)

    def formula(self, sheet: str, coord: str) -> str:
        m = re.search(r"<f\b[^>]*>(.*?)</f>", self.cell_xml(sheet, coord), re.S)
        assert m, f"{sheet}!{coord} has no formula"
        return _unescape(m.group(1))

    def replace_cell(self, sheet: str, coord: str, xml: str) -> Xlsx:
        """Replace the whole ``<c>`` element of *coord* by *xml* ("" deletes the cell)."""
        return self.sub(self.sheet_part(sheet), self._cell_pattern(coord), lambda m: xml)

    def _style(self, sheet: str, coord: str) -> str:
        m = re.search(r'\bs="(\d+)"', self.cell_xml(sheet, coord))
        return f' s="{m.group(1)}"' if m else ""

    def set_number(self, sheet: str, coord: str, value: float | int | str) -> Xlsx:
        """The cell becomes a plain number (a formula there is gone, as when a user types over it)."""
        return self.replace_cell(sheet, coord, f'<c r="{coord}"{self._style(sheet, coord)}><v>{value}</v></c>')

    def set_string(self, sheet: str, coord: str, text: str) -> Xlsx:
        """The cell becomes an inline string (a number typed as text, a word, ...)."""
        return self.replace_cell(
            sheet, coord, f'<c r="{coord}"{self._style(sheet, coord)} t="inlineStr"><is><t>{escape(text)}</t></is></c>')

    def delete_cell(self, sheet: str, coord: str) -> Xlsx:
        return self.replace_cell(sheet, coord, "")

    def set_formula(self, sheet: str, coord: str, formula: str) -> Xlsx:
        """Change a formula's text, keeping its cached value."""
        part = self.sheet_part(sheet)
        cell = self.cell_xml(sheet, coord)
        new = re.sub(r"(<f\b[^>]*>).*?(</f>)", lambda m: m.group(1) + escape(formula) + m.group(2), cell, count=1, flags=re.S)
        return self.patch(part, cell, new)

    # --- whole-workbook edits ------------------------------------------------------------

    def set_calc_mode(self, mode: str) -> Xlsx:
        text = self.text("xl/workbook.xml")
        if "<calcPr" in text:
            # as Excel saves it: the mode set, no "recalculate everything on load" flag
            def calc(m: re.Match) -> str:
                kept = re.sub(r'\s(?:calcMode|fullCalcOnLoad)="[^"]*"', "", m.group(1))
                return f'<calcPr{kept} calcMode="{mode}" />'

            return self.sub("xl/workbook.xml", r"<calcPr\b([^>]*?)\s*/>", calc)
        return self.patch("xl/workbook.xml", "</workbook>", f'<calcPr calcMode="{mode}" /></workbook>')

    def remove_defined_names(self) -> Xlsx:
        return self.sub("xl/workbook.xml", r"<definedNames>.*?</definedNames>", "")

    def remove_protection(self, sheet: str) -> Xlsx:
        return self.sub(self.sheet_part(sheet), r"<sheetProtection\b[^>]*/>", "")

    def remove_sheet(self, sheet: str) -> Xlsx:
        """Delete a sheet everywhere a well-behaved application would: workbook.xml, its
        relationship, the content types, docProps/app.xml's titles, and the part itself."""
        part = self.sheet_part(sheet)
        m = re.search(rf'<sheet\b[^>]*\bname="{re.escape(escape(sheet))}"[^>]*/>', self.text("xl/workbook.xml"))
        rid = re.search(r'\br:id="([^"]*)"', m.group(0)).group(1)
        self.patch("xl/workbook.xml", m.group(0), "")
        self.sub("xl/_rels/workbook.xml.rels", rf'<Relationship\b[^>]*\bId="{rid}"[^>]*/>', "")
        self.sub("[Content_Types].xml", rf'<Override\b[^>]*\bPartName="/{re.escape(part)}"[^>]*/>', "")
        if "docProps/app.xml" in self.members:
            self.set_text("docProps/app.xml", self.text("docProps/app.xml").replace(f"<vt:lpstr>{escape(sheet)}</vt:lpstr>", ""))
        rels = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
        self.members.pop(rels, None)
        return self.drop(part)

    def rename_sheet(self, old: str, new: str, skip: tuple[str, ...] = ()) -> Xlsx:
        """Rename a sheet as Excel does: its name in workbook.xml and docProps/app.xml, and every
        reference in formulas and defined names (not in the sheets named in *skip*, nor in cell text)."""
        self.patch("xl/workbook.xml", f'<sheet name="{escape(old)}"', f'<sheet name="{escape(new)}"')
        if "docProps/app.xml" in self.members:
            self.set_text("docProps/app.xml",
                          self.text("docProps/app.xml").replace(f"<vt:lpstr>{escape(old)}</vt:lpstr>",
                                                                f"<vt:lpstr>{escape(new)}</vt:lpstr>"))
        rx = re.compile(rf"(?:'{re.escape(_quote_inner(old))}'|(?<![\w'])\b{re.escape(old)})!")
        self._edit_formulas(lambda f: rx.sub(lambda m: f"'{_quote_inner(new)}'!", f), skip)
        return self

    def insert_rows(self, sheet: str, before: int, count: int = 1, skip: tuple[str, ...] = ()) -> Xlsx:
        """Insert *count* empty rows above row *before* of *sheet*, as Excel does: the rows and
        cells below move down, and so do merged ranges, validations, the dimension, and every
        reference to the moved cells in all formulas and defined names (except in the sheets
        named in *skip* -- e.g. a hidden sheet holding references as text)."""
        def move(coord: re.Match) -> str:
            row = int(coord.group(4))
            return coord.group(1) + coord.group(2) + coord.group(3) + str(row + count if row >= before else row)

        def move_all(text: str) -> str:
            return _COORD.sub(move, text)

        part = self.sheet_part(sheet)
        xml = self.text(part)
        xml = re.sub(r'(<row\b[^>]*\br=")(\d+)"',
                     lambda m: m.group(1) + str(int(m.group(2)) + count if int(m.group(2)) >= before else int(m.group(2))) + '"',
                     xml)
        xml = re.sub(r'(<(?:c|mergeCell|dimension|selection|dataValidation|conditionalFormatting|hyperlink)\b[^>]*?\b'
                     r'(?:r|ref|sqref|activeCell)=")([^"]*)"', lambda m: m.group(1) + move_all(m.group(2)) + '"', xml)
        self.set_text(part, xml)

        qualified = re.compile(rf"((?:'{re.escape(_quote_inner(sheet))}'|(?<![\w'])\b{re.escape(sheet)})!)"
                               r"(\$?[A-Z]{1,3}\$?[0-9]+(?::\$?[A-Z]{1,3}\$?[0-9]+)?)")

        def other_sheets(code: str) -> str:  # 'Sheet'!$B$5, 'Sheet'!B5:C9
            return qualified.sub(lambda m: m.group(1) + move_all(m.group(2)), code)

        def same_sheet(code: str) -> str:  # on the sheet itself also B5, $B$5 (not Other!B5)
            return re.sub(r"((?:'(?:[^']|'')+'|[^\s'!(),&=<>+*/^-]+)!)?(\$?[A-Z]{1,3}\$?[0-9]+(?::\$?[A-Z]{1,3}\$?[0-9]+)?)(?![\w(!])",
                          lambda m: m.group(0) if m.group(1) else move_all(m.group(2)), other_sheets(code))

        self._edit_formulas(lambda f: _outside_strings(f, other_sheets), skip, exclude=part)
        self._edit_formulas(lambda f: _outside_strings(f, same_sheet), skip, only=part, names=False)
        return self

    def _edit_formulas(self, edit, skip: tuple[str, ...] = (), only: str | None = None, exclude: str | None = None,
                       names: bool = True) -> None:
        """Apply *edit* to the text of every formula: ``<f>`` and validation ``<formula1/2>`` in
        the sheet parts (but those of *skip* and *exclude*; or only *only*), and every ``<definedName>``."""
        skipped = {self.sheet_part(s) for s in skip} | {exclude}
        for name, part in self.sheet_parts().items():
            if part in skipped or (only and part != only) or part not in self.members:
                continue
            self.set_text(part, re.sub(r"(<(f|formula1|formula2)\b[^>]*>)(.*?)(</\2>)",
                                       lambda m: m.group(1) + escape(edit(_unescape(m.group(3)))) + m.group(4),
                                       self.text(part), flags=re.S))
        if names:
            self.set_text("xl/workbook.xml", re.sub(
                r"(<definedName\b[^>]*>)(.*?)(</definedName>)",
                lambda m: m.group(1) + escape(edit(_unescape(m.group(2)))) + m.group(3),
                self.text("xl/workbook.xml"), flags=re.S))


def _outside_strings(formula: str, edit) -> str:
    out, last = [], 0
    for s in re.finditer(r'"(?:[^"]|"")*"', formula):
        out.append(edit(formula[last:s.start()]))
        out.append(s.group(0))
        last = s.end()
    out.append(edit(formula[last:]))
    return "".join(out)


def _quote_inner(sheet: str) -> str:
    return sheet.replace("'", "''")


def _unescape(text: str) -> str:
    # numeric character references too: other writers (openpyxl over lxml, for one) store
    # every non-ASCII character as &#NNNNN;
    return html.unescape(text)


_ANY_CELL = re.compile(r"<c\b[^>]*?(?:/>|>.*?</c>)", re.S)
_CELL_REF = re.compile(r'\br="([A-Z]{1,3}[0-9]+)"')


def _formula_cells(xml: str) -> dict[str, str]:
    return {_CELL_REF.search(c).group(1): c for c in _ANY_CELL.findall(xml) if "<f" in c}


def recalculated(edited: Xlsx, like: Xlsx) -> Xlsx:
    """*edited* as Excel would save it after recalculating: every formula cell takes its cached
    result from *like*, a workbook of the same layout built from the same inputs (the generator's
    cached results are the engine's, which agree with Excel's)."""
    out = edited.copy()
    theirs = like.sheet_parts()
    for sheet, part in out.sheet_parts().items():
        if part not in out.members or theirs.get(sheet) not in like.members:
            continue
        results = _formula_cells(like.text(theirs[sheet]))
        out.set_text(part, _ANY_CELL.sub(
            lambda m: results.get(_CELL_REF.search(m.group(0)).group(1), m.group(0)) if "<f" in m.group(0) else m.group(0),
            out.text(part)))
    return out
