"""Reading the head of a part (`zipguard.HeadReader`, `SafeXlsx.read_until`): only as far as
asked, never past the declared size, and the same bytes as reading the whole part."""

from __future__ import annotations

import zlib

import pytest

from jixiao.xlsx.safe import UnreadableWorkbook, open_xlsx_bytes
from test_safety import SHEET, MiB, _workbook_bytes, forge_sizes, rezip


def test_read_until_is_a_prefix_of_the_whole_part() -> None:
    data = _workbook_bytes(rows=400)
    whole = open_xlsx_bytes(data, "a.xlsx").read_xml(SHEET)
    for needle in (b'<row r="2"', b'<row r="300"', b"</sheetData>"):
        fresh = open_xlsx_bytes(data, "a.xlsx")
        head = fresh.read_until(SHEET, needle)
        assert head == whole[:whole.find(needle)]
        assert SHEET not in fresh._read  # not read whole (and so not kept)
    fresh = open_xlsx_bytes(data, "a.xlsx")
    assert fresh.read_until(SHEET, b"<nowhere") is None  # read whole after all: CRC checked, kept
    assert fresh._read[SHEET] == whole


def test_a_lying_size_stops_the_head_reader_too() -> None:
    big = b"<x>" + b" " * (10 * MiB) + b"</x>"
    data = forge_sizes(rezip(_workbook_bytes(), replace={SHEET: big}), SHEET, file_size=5000,
                       crc=zlib.crc32(big[:5000]))
    xlsx = open_xlsx_bytes(data, "篡改.xlsx")
    with pytest.raises(UnreadableWorkbook) as caught:
        xlsx.read_until(SHEET, b"<never>")
    assert caught.value.kind == "zip_bomb" and "5000 字节" in caught.value.message


def test_damaged_deflate_data_is_corruption() -> None:
    data = bytearray(_workbook_bytes(rows=200))
    xlsx = open_xlsx_bytes(bytes(data), "a.xlsx")
    info = xlsx._infos[SHEET]
    start = info.header_offset + 30 + len(info.orig_filename.encode()) + len(info.extra)
    data[start:start + 8] = b"\xff" * 8  # an invalid block header at the very start
    damaged = open_xlsx_bytes(bytes(data), "坏.xlsx")
    with pytest.raises(UnreadableWorkbook) as caught:
        damaged.read_until(SHEET, b'<row r="2"')
    assert caught.value.kind == "corrupt_zip"
