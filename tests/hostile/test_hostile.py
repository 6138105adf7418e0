"""The hostile corpus (corpus.py) through `jixiao check`, `--annotate`, `jixiao fill` and one
`jixiao import` of everything, on SQLite and PostgreSQL.

Every `check` runs in a subprocess under a timeout: a guard against a hang (a FIFO once made
`check` wait forever), not an assertion on speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from pg_server import fresh_database, postgres_url  # noqa: F401
from sqlalchemy import select
from sqlalchemy.orm import Session
from workbook_surgery import Xlsx

import corpus
from jixiao import cli
from jixiao.importer.db import Receipt, make_engine

SRC = Path(__file__).parents[2] / "src"
GUARD = 120  # seconds: a hang fails the test instead of blocking the suite


def env(**extra: str) -> dict[str, str]:
    # a strict UTF-8 terminal: an undecodable file name once crashed the report here
    return dict(os.environ, PYTHONPATH=str(SRC), PYTHONIOENCODING="utf-8:strict", LC_ALL="C.UTF-8", **extra)


def jixiao(*args: object, cwd: Path | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jixiao.cli", *map(os.fspath, args)], capture_output=True,
                          text=True, timeout=GUARD, env=env(**extra), cwd=cwd)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[corpus.Case, Path]]:
    return corpus.build_cases(tmp_path_factory.mktemp("hostile") / "corpus")


def _id(case: corpus.Case) -> str:
    return corpus._shown(case.name)


@pytest.mark.parametrize("case", corpus.cases(), ids=_id)
def test_check_gives_the_expected_exit_code_and_message_code(folder, case: corpus.Case) -> None:
    path = dict((c.name, p) for c, p in folder)[case.name]
    proc = jixiao("check", "--json", path)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == case.exit_code, proc.stdout[-2000:]
    result = json.loads(proc.stdout)
    errors = [m["code"] for m in result["messages"] if m["level"] == "错误"]
    if case.exit_code == 2:
        assert errors == [case.code] and result["status"] == "unreadable"
        assert result["unit_name"] is None and result["recomputed_total"] is None and result["indicators"] == []
    elif case.code is None:
        assert errors == []
    else:
        assert case.code in errors
    assert result["file"] == str(path.parent / corpus._shown(case.name))


def test_text_report_of_the_whole_corpus(folder) -> None:
    """One `check` of every file, as a colour terminal shows it: no traceback, unit strings as
    typed (no markup, no link), nothing shown from a refused file, long strings clipped."""
    proc = jixiao("check", *(p for _c, p in folder), FORCE_COLOR="1", COLUMNS="200")
    out = proc.stdout
    assert "Traceback" not in proc.stderr and proc.stderr == "", proc.stderr
    assert proc.returncode == 2
    assert corpus.MARKUP_UNIT in _plain(out)
    assert corpus.LINK_UNIT in _plain(out)
    assert "\x1b]8;" not in out  # an OSC 8 hyperlink: neither from a unit name nor from a file name
    assert "\x1b[31m红色" not in out and "终端\ufffd[31m红色" in out
    assert corpus.BOMB_UNIT not in out
    assert "福田区自评表（GBK文件名）.xlsx" in out and "\ufffd" in out  # the undecodable name, replaced
    assert len(out) < 60_000  # a 32,767-character unit name is clipped
    assert "共 32767 个字符" in _plain(out)
    for case, path in folder:
        assert corpus.CONTROL.sub("\ufffd", corpus._shown(case.name)) in _plain(out)


def _plain(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text).replace("\n", "")


def test_refused_file_shows_only_why(folder) -> None:
    bomb = dict((c.name, p) for c, p in folder)["谎报大小.xlsx"]
    proc = jixiao("check", bomb)
    assert proc.returncode == 2
    lines = proc.stdout.strip().splitlines()
    assert lines[0].endswith("无法读取") and "压缩炸弹" in proc.stdout
    assert corpus.BOMB_UNIT not in proc.stdout and "总得分" not in proc.stdout


@pytest.mark.parametrize("name", ["核心属性DTD.xlsx", "样式DTD.xlsx"])
def test_annotate_refuses_a_dtd_before_any_library_parses_it(folder, tmp_path: Path, name: str) -> None:
    path = dict((c.name, p) for c, p in folder)[name]
    target = tmp_path / "标注.xlsx"
    proc = jixiao("check", "--annotate", target, path)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2 and "XML 炸弹" in proc.stdout
    assert not target.exists()


def test_annotate_of_a_unit_name_with_markup(folder, tmp_path: Path) -> None:
    path = dict((c.name, p) for c, p in folder)["标记单位.xlsx"]
    target = tmp_path / "标注.xlsx"
    proc = jixiao("check", "--annotate", target, path)
    assert proc.returncode == 0, proc.stderr
    assert zipfile.is_zipfile(target)


def test_annotate_failing_never_loses_the_verdict(folder, tmp_path: Path, monkeypatch) -> None:
    from jixiao.checker import annotate

    def broken(*_args: object) -> None:
        raise ValueError("openpyxl could not read it")

    monkeypatch.setattr(annotate, "annotate", broken)
    paths = [dict((c.name, p) for c, p in folder)[n] for n in ("标记单位.xlsx", "外部链接输入.xlsx")]
    result = CliRunner().invoke(cli.main, ["check", "--annotate", str(tmp_path / "out"), *map(str, paths)])
    assert result.exit_code == 1  # the worse verdict of the two, as without --annotate
    assert "未能生成标注副本" in result.output and "openpyxl could not read it" in result.output
    assert "通过" in result.output and "不通过" in result.output


def test_sheet_deleted_in_libreoffice_is_named(soffice: str, tmp_path: Path) -> None:
    from jixiao.verify.libreoffice_recalc import recalculate

    x = corpus.built(corpus.GOOD)
    x.remove_sheet("采购与经费")
    edited = x.save(tmp_path / "删除工作表.xlsx")
    resaved = recalculate([edited], tmp_path / "lo", soffice=soffice)[edited]
    proc = jixiao("check", "--json", resaved)
    result = json.loads(proc.stdout)
    assert proc.returncode == 1
    layout = [m for m in result["messages"] if m["code"] == "layout_changed"]
    assert layout and "“采购与经费”" in layout[0]["text"] and "删除" in layout[0]["text"]


# --------------------------------------------------------------------------- fill

def test_fill_writes_text_beginning_with_equals_as_text(tmp_path: Path) -> None:
    data = tmp_path / "数据.yaml"
    data.write_text('unit_name: "=HYPERLINK(\\"https://evil.example\\",\\"点我\\")"\nyear: 2021\n', encoding="utf-8")
    out = tmp_path / "表.xlsx"
    proc = jixiao("fill", data, "-o", out)
    assert "Traceback" not in proc.stderr
    sheet, coord = corpus.place("unit_name")
    cell = Xlsx.load(out).cell_xml(sheet, coord)
    assert 't="inlineStr"' in cell and "<f>" not in cell and "HYPERLINK" in cell
    # and the checker reads it back as the text it is
    checked = json.loads(jixiao("check", "--json", out).stdout)
    assert checked["unit_name"].startswith("=HYPERLINK(")


@pytest.mark.parametrize("suffix,text", [
    (".yaml", "unit_name: 甲单位\nyear: 2021\nunit_name: 乙单位\n"),
    (".json", '{"unit_name": "甲单位",\n "year": 2021,\n "unit_name": "乙单位"}\n'),
])
def test_fill_refuses_a_duplicate_key_naming_both_lines(tmp_path: Path, suffix: str, text: str) -> None:
    data = tmp_path / f"数据{suffix}"
    data.write_text(text, encoding="utf-8")
    out = tmp_path / "表.xlsx"
    proc = jixiao("fill", data, "-o", out)
    assert proc.returncode == 1 and not out.exists()
    assert "unit_name" in proc.stderr and "第1行和第3行" in proc.stderr


def test_fill_lists_missing_required_fields_with_a_non_zero_exit(tmp_path: Path) -> None:
    data = tmp_path / "数据.yaml"
    data.write_text("unit_name: 甲单位\nyear: 2021\n", encoding="utf-8")
    out = tmp_path / "表.xlsx"
    proc = jixiao("fill", data, "-o", out)
    assert proc.returncode == 1 and out.exists()
    missing = [f for f in corpus.FW.fields.values() if f.required and f.id not in ("unit_name", "year")]
    assert f"缺少 {len(missing)} 个必填字段" in proc.stderr
    for f in missing:
        sheet, coord = corpus.place(f.id)
        assert f"{f.id}“{f.label}”（{sheet}!{coord}）" in proc.stderr


# --------------------------------------------------------------------------- import of everything

@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jixiao.db'}"
    return fresh_database(request.getfixturevalue("postgres_url"), f"jx_{uuid.uuid4().hex[:16]}")


def test_import_of_the_whole_corpus_leaves_one_receipt_per_input(db_url: str, tmp_path: Path) -> None:
    inbox, expected = corpus.build_inbox(tmp_path / "in")
    for attempt in range(2):  # and a re-run changes nothing
        summary = tmp_path / f"汇总{attempt}.xlsx"
        proc = jixiao("import", inbox, "--db", db_url, "--jobs", "2", "--quiet", "--summary", summary, cwd=tmp_path)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
        assert zipfile.is_zipfile(summary)
        engine = make_engine(db_url)
        with Session(engine) as s:
            rows = s.scalars(select(Receipt)).all()
        engine.dispose()
        sources = [r.source for r in rows]
        assert sorted(sources) == sorted(expected), (set(sources) ^ set(expected))
        by_source = {r.source: r for r in rows}
        for source, raw in expected.items():
            assert by_source[source].source_bytes == raw, source  # an undecodable name kept losslessly
        for name in ("../../逃逸.xlsx", "/etc/绝对路径.xlsx", "C:\\Windows\\盘符.xlsx"):
            r = by_source[f"{inbox}/穿越.zip!{name}"]
            assert r.submission_id is None and "路径穿越" in r.problem
        assert by_source[f"{inbox}/穿越.zip!正常.xlsx"].submission_id is not None
        assert by_source[f"{inbox}/GBK压缩包.zip!../丙单位.xlsx"].problem
        assert by_source[f"{inbox}/GBK压缩包.zip!乙单位自评表.xlsx"].submission_id is not None
        assert "不是普通文件" in by_source[f"{inbox}/命名管道.xlsx"].problem
        assert "不存在" in by_source[f"{inbox}/断开的链接.xlsx"].problem
    assert not list(tmp_path.rglob("逃逸.xlsx")) and not list(tmp_path.rglob("上级.xlsx"))
