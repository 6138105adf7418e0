"""`xlsx.fragments`: a text is proven well-formed from its parts only when expat would accept
the whole of it -- also after the parts of other (good) files were remembered, and for every
damage a fuzzer makes -- and a proven sheet reads exactly as the whole-text path reads it."""

from __future__ import annotations

import random
import xml.parsers.expat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jixiao.xlsx import fragments, sheet_scan

NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def expat_verdict(raw: bytes) -> tuple[bool, bool] | None:
    """(has a DTD, has markup) as the whole-text pass says, or None if it is not well-formed."""
    try:
        return sheet_scan.check_well_formed(raw)
    except sheet_scan.Malformed:
        return None


def sheet(rows: list[bytes], tail: bytes = b"") -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet ' + NS + b"><sheetData>" + b"".join(rows)
            + b"</sheetData>" + tail + b"</worksheet>")


def row(r: int, cells: str) -> bytes:
    return f'<row r="{r}">{cells}</row>'.encode()


GOOD_ROWS = [row(1, '<c r="A1" t="inlineStr"><is><t>单位名称</t></is></c><c r="B1"><v>1</v></c>'),
             row(2, '<c r="A2"><f>A1&amp;"x"</f><v>3.5</v></c>'),
             row(3, '<c r="A3" s="2"/>')]


@pytest.fixture(autouse=True)
def fresh_memory():
    fragments._PROVEN.clear()
    fragments._FRAMES.clear()
    yield
    fragments._PROVEN.clear()
    fragments._FRAMES.clear()


def test_a_good_sheet_is_proven_and_its_rows_remembered():
    raw = sheet(GOOD_ROWS, b'<sheetProtection sheet="1"/>')
    proof = fragments.prove(raw, fragments.SHEET_ROWS)
    assert proof is not None and proof.head.endswith(b"<sheetData>") and len(proof.pieces) == 3
    assert set(proof.pieces) <= fragments._PROVEN[b"</row>"]
    assert proof.head + b"".join(p + b"</row>" for p in proof.pieces) + proof.tail == raw


@pytest.mark.parametrize("damage", [
    lambda raw: raw.replace(b"</sheetData>", b"", 1),                 # the test_sheet_scan case
    lambda raw: raw[:200],                                            # cut off
    lambda raw: raw.replace(b"<sheetData>", b'<sheetData x="', 1),    # rows inside an attribute
    lambda raw: raw.replace(b"<sheetData>", b"<sheetData><!-- ", 1).replace(b"</sheetData>", b" --></sheetData>"),
    lambda raw: raw.replace(b"<sheetData>", b"<sheetData><![CDATA[", 1).replace(b"</sheetData>", b"]]></sheetData>"),
    lambda raw: raw.replace(b"<?xml", b'<!DOCTYPE worksheet [<!ENTITY a "b">]><?xml', 1),
    lambda raw: raw.replace(b"<v>1</v>", b"<v>1</c>", 1),             # a damaged row
    lambda raw: raw.replace(b"&amp;", b"&nbsp;", 1),                  # an undefined entity
    lambda raw: raw.replace("单位".encode(), b"\xe5\x8d", 1),          # broken UTF-8
    lambda raw: raw.replace(b'<row r="2">', b'<row r="2"><row>', 1),  # a row in a row
    lambda raw: raw.replace(b'<row r="3">', b'<row r="3" xmlns="urn:other">', 1),
])
def test_damage_is_never_proven_even_after_good_files(damage):
    good = sheet(GOOD_ROWS)
    assert fragments.prove(good, fragments.SHEET_ROWS) is not None  # its rows are now remembered
    bad = damage(good)
    assert bad != good
    assert fragments.prove(bad, fragments.SHEET_ROWS) is None


def test_nested_rows_split_across_pieces_are_not_proven():
    # "<row><row></row>" and "<row/></row>" concatenate to well-formed XML but neither piece is
    # one row: remembering either would let it be combined with anything later
    raw = sheet([b"<row><row></row>", b"<row/></row>"])
    assert expat_verdict(raw) == (False, False)
    assert fragments.prove(raw, fragments.SHEET_ROWS) is None
    assert not any(fragments._PROVEN.values())


def test_shared_strings_items():
    raw = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst ' + NS + b' count="3" uniqueCount="3">'
           + "<si><t>甲</t></si><si><r><rPr><b/></rPr><t xml:space=\"preserve\">乙 </t></r></si><si><t/></si>".encode()
           + b"</sst>")
    proof = fragments.prove(raw, fragments.SHARED_ITEMS)
    assert proof is not None
    texts = [sheet_scan.shared_text(i, element=True) for i in sheet_scan.shared_strings(raw, proof.pieces)]
    assert texts == ["甲", "乙 ", ""] == [sheet_scan.shared_text(i) for i in sheet_scan.shared_strings(raw)]
    with_attributes = raw.replace(b"<si><t>", b'<si  x="a>b"><t>', 1)
    proof = fragments.prove(with_attributes, fragments.SHARED_ITEMS)
    assert proof is not None
    assert [sheet_scan.shared_text(i, element=True) for i in proof.pieces] == texts


_FRAGMENTS = st.sampled_from([b"<", b">", b"/", b'"', b"&", b"&amp;", b"<row>", b"</row>", b"<row/>", b"<c>", b"</c>",
                              b"<!--", b"-->", b"<![CDATA[", b"]]>", b"<?", b"?>", b"x", b" ", b"=", b"\xe4", b"<si>"])


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_fuzz_proven_implies_expat_accepts(data):
    good = sheet(GOOD_ROWS + [row(4, '<c r="A4"><v>2</v></c>')])
    fragments.prove(good, fragments.SHEET_ROWS)
    raw = bytearray(good)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw)))
        if data.draw(st.booleans()):
            raw[at:at] = data.draw(_FRAGMENTS)
        else:
            del raw[at:at + data.draw(st.integers(1, 12))]
    raw = bytes(raw)
    if fragments.prove(raw, fragments.SHEET_ROWS) is not None:
        assert expat_verdict(raw) == (False, False), raw


def test_random_row_recombinations_of_remembered_rows():
    """Rows proven in one file and rearranged, duplicated or cut in another: a proof holds
    exactly when expat accepts the text."""
    rng = random.Random(11)
    pieces = GOOD_ROWS + [b"<row><row/>", b'<row r="9"><c r="A9"><v>', b"</c>", b"<row/>"]
    fragments.prove(sheet(GOOD_ROWS), fragments.SHEET_ROWS)
    for _ in range(300):
        rows = [rng.choice(pieces) for _ in range(rng.randint(1, 5))]
        raw = sheet(rows)
        proof = fragments.prove(raw, fragments.SHEET_ROWS)
        if proof is not None:
            assert expat_verdict(raw) == (False, False)
        parser = xml.parsers.expat.ParserCreate()
        try:
            parser.Parse(raw, True)
        except xml.parsers.expat.ExpatError:
            assert proof is None



def test_an_unknown_encoding_is_damage_not_an_internal_error():
    raw = sheet(GOOD_ROWS).replace(b"UTF-8", b"TF-8", 1)
    with pytest.raises(sheet_scan.Malformed):
        sheet_scan.check_well_formed(raw)
    assert fragments.prove(raw, fragments.SHEET_ROWS) is None


def test_an_item_proven_in_one_kind_of_part_proves_nothing_in_another():
    """A row remembered as well-formed before "</row>" is not well-formed before "</si>"."""
    fragments.prove(sheet([b'<row r="1"><c r="A1"><v>1</v></c></row>']), fragments.SHEET_ROWS)
    sst = (b'<sst ' + NS + b'><si><t>a</t></si><row r="1"><c r="A1"><v>1</v></c></si></sst>')
    assert expat_verdict(sst) is None
    assert fragments.prove(sst, fragments.SHARED_ITEMS) is None


def test_items_at_the_top_level_are_not_proven():
    """Two rows as the document's roots are two roots: not well-formed, never proven."""
    fragments.prove(sheet(GOOD_ROWS), fragments.SHEET_ROWS)
    raw = b'<?xml version="1.0" encoding="UTF-8"?>\n' + GOOD_ROWS[0] + GOOD_ROWS[1]
    assert expat_verdict(raw) is None
    assert fragments.prove(raw, fragments.SHEET_ROWS) is None


def test_a_remembered_frame_proves_only_itself():
    """The head and tail of a good sheet are parsed once; the same frame around other rows is
    proven without parsing it again, and a frame changed by one byte is parsed (and refused)."""
    good = sheet(GOOD_ROWS, tail=b'<mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells>')
    assert fragments.prove(good, fragments.SHEET_ROWS) is not None
    assert len(fragments._FRAMES[b"</row>"]) == 1
    other = sheet(GOOD_ROWS[:1], tail=b'<mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells>')
    assert fragments.prove(other, fragments.SHEET_ROWS) is not None
    assert len(fragments._FRAMES[b"</row>"]) == 1
    for damaged in (good.replace(b'ref="A1:B1"/>', b'ref="A1:B1">'), good.replace(b"</sheetData>", b"</sheetdata>"),
                    good.replace(b"<mergeCells", b"<!-- x --><mergeCells")):
        assert expat_verdict(damaged) != (False, False)
        assert fragments.prove(damaged, fragments.SHEET_ROWS) is None
    assert len(fragments._FRAMES[b"</row>"]) == 1
