"""Tests for the soffice runner (jixiao.office), through the LibreOffice recalculation harness
(jixiao.verify.libreoffice_recalc) built on it.

Tests that need a real LibreOffice skip locally when it is missing, but FAIL
when the CI environment variable is set, so that CI cannot go green without
ever running them.
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
import zipfile
from pathlib import Path

import openpyxl
import pytest

from jixiao import office
from jixiao.verify.libreoffice_recalc import RecalcError, recalculate, recalculated_values

BUDGET, SCORES = "预算 数据", "评分 结果"


# the `soffice` fixture (skip locally, fail under CI when LibreOffice is missing): tests/conftest.py


def make_book(path: Path, marker: int = 1) -> Path:
    """A workbook whose formula results depend on ``marker`` (to tell outputs apart)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = BUDGET
    ws["A1"], ws["A2"], ws["A3"], ws["B2"] = 2, 3, 4, 21 * marker
    ws["C1"] = "=ROUND(21.9/0.2,0)"
    ws["C2"] = "=SUM(A1:A3)"
    ws["C3"] = '=IF(A1>1,"是","否")'
    ws["C4"] = '=TEXT(0.8709,"0.00%")'
    ws["C5"] = '=IFERROR(1/0,"x")'
    ws["D1"] = "=ROUND(109.5,0)"
    ws["D2"] = "=ROUND(2.675,2)"
    ws["D3"] = "=ROUND(1.005,2)"
    wb.create_sheet(SCORES)["A1"] = f"='{BUDGET}'!B2*2"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def with_stale_cache(path: Path) -> Path:
    """Rewrite ``path`` so every formula carries a wrong cached result (999).

    LibreOffice's default would keep these; seeing real results proves that
    the harness's "always recalculate" profile is in effect.
    """
    with zipfile.ZipFile(path) as zin:
        items = [(info, zin.read(info.filename)) for info in zin.infolist()]
    replaced = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in items:
            if info.filename.startswith("xl/worksheets/"):
                data, n = re.subn(rb"(<f>[^<]*</f>)<v\s*/>", rb"\1<v>999</v>", data)
                replaced += n
            zout.writestr(info, data)
    assert replaced == 9, "openpyxl's formula XML changed; update with_stale_cache"
    return path


def score_of(xlsx: Path) -> object:
    wb = openpyxl.load_workbook(xlsx, data_only=True)
    try:
        return wb[SCORES]["A1"].value
    finally:
        wb.close()


@pytest.fixture(scope="module")
def values(soffice: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    book = with_stale_cache(make_book(tmp_path_factory.mktemp("values") / "预算.xlsx"))
    return recalculated_values(book, soffice=soffice)


def test_formulas_are_recalculated(values: dict[str, dict[str, object]]) -> None:
    budget = values[BUDGET]
    assert budget["A1"] == 2  # plain values come back too
    assert budget["C2"] == 9
    assert budget["C3"] == "是"
    assert budget["C4"] == "87.09%"
    assert budget["C5"] == "x"
    assert values[SCORES] == {"A1": 42}  # cross-sheet reference between CJK sheet names
    assert 999 not in budget.values()


def test_round_half_up_like_excel(values: dict[str, dict[str, object]]) -> None:
    budget = values[BUDGET]
    assert budget["D1"] == 110
    assert budget["D2"] == 2.68
    assert budget["D3"] == 1.01


def test_round_of_inexact_division(values: dict[str, dict[str, object]]) -> None:
    # 21.9/0.2 is the double 109.49999999999998579.  Excel rounds to 15
    # significant digits first (109.5 -> 110); LibreOffice 7.4 rounds the raw
    # double and gives 109.  Any other result is a real failure.
    result = values[BUDGET]["C1"]
    if result == 109:
        pytest.xfail("this LibreOffice gives ROUND(21.9/0.2,0)=109, Excel gives 110")
    assert result == 110


def test_batches_account_for_every_file(soffice: str, tmp_path: Path) -> None:
    books = [make_book(tmp_path / "in" / f"book{i}.xlsx", marker=i) for i in range(1, 8)]
    result = recalculate(books, tmp_path / "out", batch_size=3, soffice=soffice)
    assert set(result) == set(books)
    assert len(set(result.values())) == 7
    for i, book in enumerate(books, start=1):
        assert result[book].parent == tmp_path / "out"
        assert score_of(result[book]) == 42 * i  # each output belongs to its input


def test_same_stem_inputs_do_not_overwrite_each_other(soffice: str, tmp_path: Path) -> None:
    first = make_book(tmp_path / "a" / "报表.xlsx", marker=1)
    second = make_book(tmp_path / "b" / "报表.xlsx", marker=2)
    result = recalculate([first, second], tmp_path / "out", soffice=soffice)
    assert result[first] != result[second]
    assert score_of(result[first]) == 42
    assert score_of(result[second]) == 84


def test_bogus_soffice_path_is_a_clear_error(tmp_path: Path) -> None:
    book = make_book(tmp_path / "book.xlsx")
    with pytest.raises(RecalcError, match="does not exist"):
        recalculate([book], tmp_path / "out", soffice=str(tmp_path / "no" / "soffice"))


def test_missing_soffice_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(office, "find_soffice", lambda: None)
    with pytest.raises(RecalcError, match="not found"):
        recalculate([make_book(tmp_path / "book.xlsx")], tmp_path / "out")


def fake_soffice(tmp_path: Path, body: str) -> str:
    """A stand-in soffice (a Python script) to provoke failures on demand."""
    script = tmp_path / "fake-soffice"
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body), encoding="utf-8")
    script.chmod(0o755)
    return str(script)


@pytest.mark.skipif(os.name == "nt", reason="needs an executable script")
def test_silently_skipped_files_are_reported(tmp_path: Path) -> None:
    # Real soffice was seen to stop after 246 of many files and still exit 0.
    fake = fake_soffice(
        tmp_path,
        """
        import shutil, sys
        from pathlib import Path
        args = sys.argv[1:]
        out = Path(args[args.index("--outdir") + 1])
        out.mkdir(parents=True, exist_ok=True)
        first = Path([a for a in args if a.endswith(".xlsx")][0])
        shutil.copyfile(first, out / first.name)  # convert only the first file
        """,
    )
    books = [make_book(tmp_path / f"book{i}.xlsx") for i in range(3)]
    with pytest.raises(RecalcError, match=r"2 of 3") as info:
        recalculate(books, tmp_path / "out", soffice=fake)
    assert str(books[1]) in str(info.value) and str(books[2]) in str(info.value)
    assert str(books[0]) not in str(info.value).split("\n")[0]


@pytest.mark.skipif(os.name == "nt", reason="needs an executable script")
def test_hanging_soffice_times_out(tmp_path: Path) -> None:
    fake = fake_soffice(tmp_path, "import time\ntime.sleep(60)\n")
    with pytest.raises(RecalcError, match="timed out"):
        recalculate([make_book(tmp_path / "book.xlsx")], tmp_path / "out", timeout=1, soffice=fake)


def test_output_names_are_unique() -> None:
    out = Path("/out")
    names = office._output_paths(
        [Path("a/x.xlsx"), Path("b/x.xlsx"), Path("c/x_2.xlsx"), Path("d/X.xlsx")], out
    )
    assert [p.name for p in names.values()] == ["x.xlsx", "x_2.xlsx", "x_2_2.xlsx", "X_3.xlsx"]


# -- the 自评报告's PDF (jixiao.selfreport.pdf) runs on the same runner; its errors are Chinese --

def _pdf_with(fake: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **kw):
    from jixiao.selfreport import pdf

    monkeypatch.setattr(pdf, "find_soffice", lambda: fake)
    docx = tmp_path / "自评报告.docx"
    docx.write_bytes(b"PK not really a document")
    return pdf.to_pdf(docx, **kw)


@pytest.mark.skipif(os.name == "nt", reason="needs an executable script")
def test_report_pdf_failure_names_the_file_and_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jixiao.selfreport import PdfError

    fake = fake_soffice(tmp_path, "import sys\nprint('source file could not be loaded', file=sys.stderr)\nsys.exit(1)\n")
    with pytest.raises(PdfError, match=r"^LibreOffice 未能将 自评报告.docx 转换为 PDF（source file could not be loaded）$"):
        _pdf_with(fake, tmp_path, monkeypatch)


@pytest.mark.skipif(os.name == "nt", reason="needs an executable script")
def test_report_pdf_without_writer_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jixiao.selfreport import PdfError

    # LibreOffice without Writer exits 0 and writes nothing
    fake = fake_soffice(tmp_path, "print('Error: no export filter for writer_pdf_Export found, aborting.')\n")
    with pytest.raises(PdfError, match="libreoffice-writer-nogui"):
        _pdf_with(fake, tmp_path, monkeypatch)


@pytest.mark.skipif(os.name == "nt", reason="needs an executable script")
def test_report_pdf_that_hangs_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jixiao.selfreport import PdfError

    fake = fake_soffice(tmp_path, "import time\ntime.sleep(60)\n")
    with pytest.raises(PdfError, match=r"LibreOffice 转换 自评报告.docx 超时（1 秒）"):
        _pdf_with(fake, tmp_path, monkeypatch, timeout=1)


@pytest.mark.skipif(os.name == "nt", reason="needs an executable script")
def test_report_pdf_lands_beside_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the runner converts a copy named 0000.docx; the PDF still gets the report's name
    fake = fake_soffice(
        tmp_path,
        """
        import sys
        from pathlib import Path
        args = sys.argv[1:]
        assert args[args.index("--convert-to") + 1] == "pdf:writer_pdf_Export"
        out = Path(args[args.index("--outdir") + 1])
        out.mkdir(parents=True, exist_ok=True)
        (out / (Path(args[-1]).stem + ".pdf")).write_bytes(b"%PDF-1.4 fake")
        """,
    )
    stale = tmp_path / "自评报告.pdf"
    stale.write_bytes(b"old")
    assert _pdf_with(fake, tmp_path, monkeypatch) == stale
    assert stale.read_bytes() == b"%PDF-1.4 fake"
