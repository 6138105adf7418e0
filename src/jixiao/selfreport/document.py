"""The .docx itself (python-docx): A4, 宋体 headings, 仿宋 body, numbered tables with their
单位 line, as the seed reports are set.  Only layout lives here; every text comes from `build`."""

from __future__ import annotations

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table as DocxTable
from docx.table import _Cell

SONG, FANGSONG = "宋体", "仿宋"
# characters XML 1.0 cannot hold (a pasted form feed, a stray NUL): python-docx would refuse them
_ILLEGAL = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))


def clean(text: str) -> str:
    return text.translate(_ILLEGAL)
BODY_SIZE = Pt(14)   # 四号
TABLE_SIZE = Pt(10.5)  # 五号
HEADINGS = {1: ("Heading 1", SONG, Pt(16)), 2: ("Heading 2", SONG, Pt(14)), 3: ("Heading 3", FANGSONG, Pt(14))}


def set_font(target, name: str, size: Pt | None = None, bold: bool | None = None) -> None:
    """A font for Latin and Chinese text alike: Word takes Chinese glyphs from w:eastAsia, which
    python-docx's font.name does not set; theme fonts would override both, so they go."""
    font = target.font
    font.name = name
    if size is not None:
        font.size = size
    if bold is not None:
        font.bold = bold
    rpr = target.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)


class ReportDocument:
    def __init__(self) -> None:
        self.doc = Document()
        section = self.doc.sections[0]
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)  # A4
        section.top_margin, section.bottom_margin = Cm(2.54), Cm(2.54)
        section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
        styles = self.doc.styles
        normal = styles["Normal"]
        set_font(normal, FANGSONG, BODY_SIZE)
        normal.paragraph_format.line_spacing = 1.5
        normal.paragraph_format.space_after = Pt(0)
        for level, (style, font, size) in HEADINGS.items():
            st = styles[style]
            set_font(st, font, size, bold=True)
            st.font.color.rgb = RGBColor(0, 0, 0)
            st.paragraph_format.space_before = Pt(6)
            st.paragraph_format.space_after = Pt(3)
            st.paragraph_format.keep_with_next = True
        self.doc.core_properties.language = "zh-CN"
        self._page_numbers(section)

    # --- text ------------------------------------------------------------------------

    def cover(self, title: str, lines: list[str]) -> None:
        for _ in range(4):
            self.doc.add_paragraph()
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        set_font(p.add_run(clean(title)), SONG, Pt(22), bold=True)
        for _ in range(5):
            self.doc.add_paragraph()
        for line in lines:
            p = self.doc.add_paragraph()
            p.paragraph_format.left_indent = Cm(2.5)
            p.paragraph_format.line_spacing = 2
            set_font(p.add_run(clean(line)), FANGSONG, Pt(16))
        self.page_break()
        self.doc.core_properties.title = clean(title)

    def heading(self, text: str, level: int) -> None:
        self.doc.add_heading(clean(text), level=level)

    def paragraph(self, text: str, indent: bool = True) -> None:
        p = self.doc.add_paragraph(clean(text))
        if indent:
            p.paragraph_format.first_line_indent = Pt(28)  # two characters

    def page_break(self) -> None:
        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def landscape(self) -> None:
        section = self.doc.add_section(WD_SECTION.NEW_PAGE)
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Cm(29.7), Cm(21.0)
        section.left_margin = section.right_margin = Cm(2.0)
        section.top_margin = section.bottom_margin = Cm(2.0)

    # --- tables ----------------------------------------------------------------------

    def table_title(self, title: str, unit: str) -> None:
        p = self.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.keep_with_next = True
        p.paragraph_format.space_before = Pt(6)
        set_font(p.add_run(clean(title)), SONG, Pt(12), bold=True)
        if unit:
            p = self.doc.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            p.paragraph_format.keep_with_next = True
            set_font(p.add_run(f"单位：{unit}"), SONG, TABLE_SIZE)

    def table(self, header_rows: list[list[str]], rows: list[list[str]], widths: list[float],
              size: Pt = TABLE_SIZE, left: tuple[int, ...] = (0,)) -> DocxTable:
        """A grid: header rows (bold, shaded, repeated on each page), then the body; numbers
        centred, the columns in `left` left-aligned."""
        ncols = len(widths)
        table = self.doc.add_table(rows=len(header_rows) + len(rows), cols=ncols)
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        for c, width in enumerate(widths):  # the grid's own widths: LibreOffice reads these
            table.columns[c].width = Cm(width)
        for r, values in enumerate(header_rows + rows):
            header = r < len(header_rows)
            row = table.rows[r]
            if header:
                _repeat_header(row)
            for c, value in enumerate(values):
                cell = cell_at(table, r, c)
                cell.width = Cm(widths[c])
                _cell_text(cell, value, size, bold=header, shade=header,
                           align=WD_ALIGN_PARAGRAPH.LEFT if (c in left and not header) else WD_ALIGN_PARAGRAPH.CENTER)
        self.doc.add_paragraph()
        return table

    def save(self, target) -> None:
        self.doc.save(target)

    @staticmethod
    def _page_numbers(section) -> None:
        p = section.footer.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run()
        for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
            if kind:
                el = OxmlElement("w:fldChar")
                el.set(qn("w:fldCharType"), kind)
            else:
                el = OxmlElement("w:instrText")
                el.set(qn("xml:space"), "preserve")
                el.text = text
            run._r.append(el)
        set_font(run, SONG, Pt(10.5))


def _cell_text(cell, text: str, size: Pt, bold: bool, shade: bool, align) -> None:
    lines = clean(text).split("\n") if text else [""]
    first = cell.paragraphs[0]
    for i, line in enumerate(lines):
        p = first if i == 0 else cell.add_paragraph()
        p.alignment = align
        p.paragraph_format.line_spacing = 1.0
        p.paragraph_format.space_before = p.paragraph_format.space_after = Pt(1.5)
        p.paragraph_format.first_line_indent = None
        if line:  # an empty cell keeps no run, so that merging it adds nothing
            set_font(p.add_run(line), SONG, size, bold=bold)
    if shade:
        shd = OxmlElement("w:shd")
        shd.set(qn("w:val"), "clear")
        shd.set(qn("w:fill"), "D9D9D9")
        cell._tc.get_or_add_tcPr().append(shd)


def _repeat_header(row) -> None:
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(el)


def cell_at(table: DocxTable, row: int, col: int) -> _Cell:
    """The cell at (row, col) of a row without horizontal merges, in constant time (python-docx's
    table.cell() re-reads the whole grid on every call: seconds for the 评分表)."""
    return _Cell(table._tbl.tr_lst[row].tc_lst[col], table)


def merge_down(table: DocxTable, col: int, first: int, last: int) -> None:
    """One cell for a run of equal names (一级/二级指标), keeping the first cell's text."""
    if last <= first:
        return
    top = cell_at(table, first, col)
    for r in range(first + 1, last + 1):
        cell = cell_at(table, r, col)
        for p in list(cell.paragraphs):
            p._p.getparent().remove(p._p)
        cell._tc.append(OxmlElement("w:p"))
    merged = top.merge(cell_at(table, last, col))
    # merge() appends the emptied cells' paragraphs: drop the empty ones it left behind
    for p in merged.paragraphs[1:]:
        if not p.text:
            p._p.getparent().remove(p._p)
