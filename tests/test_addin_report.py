"""The add-in's 生成自评报告 on a live workbook (xlwings' remote engine over the Office.js
payload of a filled workbook): the same report as `jixiao report` on the saved file."""

from __future__ import annotations

import copy
from pathlib import Path

import docx
import pytest

pytest.importorskip("xlwings", reason="the add-in needs xlwings (pip install -e '.[addin]')")

from jixiao.addin.book_view import open_payload  # noqa: E402
from jixiao.addin.report_action import ReportRefused, write_report  # noqa: E402
from jixiao.data import load_data  # noqa: E402
from jixiao.framework.loader import load_framework  # noqa: E402
from jixiao.samples import sample_path  # noqa: E402
from jixiao.selfreport import report_from_workbook  # noqa: E402
from jixiao.workbook.generator import build_workbook  # noqa: E402
from test_addin import payload_from_xlsx  # noqa: E402


def _texts(path: Path) -> tuple[list[str], list[list[list[str]]]]:
    d = docx.Document(path)
    return [p.text for p in d.paragraphs], [[[c.text for c in r.cells] for r in t.rows] for t in d.tables]


def test_live_workbook_report_equals_the_file_report(tmp_path) -> None:
    fw = load_framework()
    path = tmp_path / "福田自评表.xlsx"
    build_workbook(fw, load_data(fw, sample_path("futian"))).save(path)
    with open_payload(copy.deepcopy(payload_from_xlsx(path))) as book:
        target, report = write_report(book, tmp_path / "live.docx")
    assert report.card.total == 94.79
    from_file, _ = report_from_workbook(path)
    from_file.save(tmp_path / "file.docx")
    assert _texts(target) == _texts(tmp_path / "file.docx")


def test_refused_while_the_check_finds_errors(tmp_path) -> None:
    fw = load_framework()
    data = load_data(fw, sample_path("futian"))
    data["src_total_initial"] = 1.0  # 表1-1 no longer adds up: 错误
    path = tmp_path / "错误.xlsx"
    build_workbook(fw, data).save(path)
    with open_payload(copy.deepcopy(payload_from_xlsx(path))) as book:
        with pytest.raises(ReportRefused, match="审核有错误"):
            write_report(book, tmp_path / "r.docx")
    assert not (tmp_path / "r.docx").exists()
