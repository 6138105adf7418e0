"""`jixiao check FILE…` as the process a person or a script starts (`python -m jixiao`, the
console script's module): what it imports, and that it writes exactly what the click command
and rich write, and exits with the same codes.

The oracle for the text is rich itself: with TTY_COMPATIBLE=0 in the environment the quick
route declines and rich renders the same report (no terminal, so no colour); and for the
Futian sample, the bytes the command printed before the quick route existed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jixiao.data import load_data
from jixiao.framework.loader import load_framework
from jixiao.samples import sample_path
from jixiao.workbook.generator import build_workbook

SRC = str(Path(__file__).resolve().parents[1] / "src")
# never on the path of a check: the generator's, the YAML parser's, the database's, the
# oracle's, click's and rich's console (rich._wrap and rich.cells are allowed: line breaking)
HEAVY = ("openpyxl", "yaml", "sqlalchemy", "alembic", "formulas", "docx", "lxml", "click", "rich.console",
         "rich.table", "rich.text", "jixiao.cli", "jixiao.workbook", "jixiao.importer", "jixiao.verify")

# `jixiao check futian.xlsx` at 80 columns, printed by the code before the quick route (58269ff)
FUTIAN_BEFORE = """\
futian.xlsx：通过（有警告）  深圳市福田区政务服务中心 2021  总得分 
94.79（优），工作簿显示 94.79
  警告 审核!D28 表1-4 
实际支出：人员经费、公用经费、项目支出之和应等于合计：合计4228.15，各项之和4227.
55，相差-0.6
  警告 审核!D37 日常公用经费调整预算数与表1-3 
公用经费调整预算数不一致：日常公用经费调整预算数53，公用经费：调整预算数58.67，
相差-5.67
"""


def run(module: str, *args: str, cwd: Path, env: dict[str, str] | None = None, importtime: bool = False):
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE")}
    environ.update({"PYTHONPATH": SRC, "COLUMNS": "80", **(env or {})})
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", module, *args]
    return subprocess.run(cmd, capture_output=True, cwd=cwd, env=environ, stdin=subprocess.DEVNULL, timeout=300)


def imported(stderr: bytes) -> set[str]:
    """Every module the process imported, from -X importtime's report on stderr."""
    return {m.group(1).decode() for m in re.finditer(rb"^import time:\s+\d+ \|\s+\d+ \| +(\S+)$", stderr, re.M)}


def heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)}


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("quick")
    fw = load_framework()
    futian = load_data(fw, sample_path("futian"))
    build_workbook(fw, futian).save(folder / "futian.xlsx")
    # a long unit name with spaces and a word longer than a line: rich's folding and wrapping
    name = "深圳市福田区政务服务中心 （Futian District Government Service Center） " + "X" * 95 + " 😀 é́ 末"
    build_workbook(fw, {**futian, "unit_name": name}).save(folder / "新建 Microsoft Excel 工作表 (2).xlsx")
    # errors: required inputs missing
    build_workbook(fw, {k: v for k, v in futian.items() if k not in ("unit_head", "phone", "year")}).save(
        folder / "缺少必填.xlsx")
    (folder / "空文件.xlsx").write_bytes(b"")
    (folder / "not-a-zip.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook" * 10)
    return folder


def test_the_quick_check_imports_none_of_the_heavy_modules(books: Path) -> None:
    for args in (["check", "futian.xlsx"], ["check", "--json", "futian.xlsx", "空文件.xlsx"]):
        done = run("jixiao", *args, cwd=books, importtime=True)
        assert done.returncode in (0, 2), done.stderr[-2000:]
        modules = imported(done.stderr)
        assert {"jixiao.cli_check", "jixiao.checker.check", "jixiao.engine"} <= modules  # it really checked
        assert heavy(modules) == set(), args


def test_the_probe_sees_heavy_imports(books: Path) -> None:
    # the same probe on the click command (and on an option the quick route leaves to click)
    # finds click and rich: the assertion above can fail
    for module, args in (("jixiao.cli", ["check", "futian.xlsx"]), ("jixiao", ["check", "futian.xlsx", "-h"])):
        done = run(module, *args, cwd=books, importtime=True)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "click" in heavy(imported(done.stderr))
    done = run("jixiao", "check", "futian.xlsx", cwd=books, env={"TTY_COMPATIBLE": "0"}, importtime=True)
    assert "rich.console" in imported(done.stderr)  # rich renders when the quick text route declines


def test_the_futian_report_is_the_bytes_printed_before(books: Path) -> None:
    done = run("jixiao", "check", "futian.xlsx", cwd=books)
    assert (done.returncode, done.stdout.decode(), done.stderr) == (0, FUTIAN_BEFORE, b"")


CASES = [
    ["futian.xlsx"],
    ["新建 Microsoft Excel 工作表 (2).xlsx"],
    ["缺少必填.xlsx"],
    ["空文件.xlsx", "not-a-zip.xlsx", "不存在.xlsx"],
    ["futian.xlsx", "缺少必填.xlsx", "空文件.xlsx"],
    ["-v", "futian.xlsx"],  # the indicator table: rendered by rich on both routes
    ["缺少必填.xlsx", "--verbose", "新建 Microsoft Excel 工作表 (2).xlsx"],
]


@pytest.mark.parametrize("args", CASES, ids=lambda a: "+".join(a))
@pytest.mark.parametrize("width", ["80", "37"])
def test_quick_route_writes_what_click_and_rich_write(books: Path, args: list[str], width: str) -> None:
    quick = run("jixiao", "check", *args, cwd=books, env={"COLUMNS": width})
    by_rich = run("jixiao.cli", "check", *args, cwd=books, env={"COLUMNS": width, "TTY_COMPATIBLE": "0"})
    by_click = run("jixiao.cli", "check", *args, cwd=books, env={"COLUMNS": width})
    assert quick.stdout, quick.stderr
    assert b"Traceback" not in quick.stderr + by_rich.stderr
    assert (quick.returncode, quick.stdout, quick.stderr) == (by_rich.returncode, by_rich.stdout, by_rich.stderr)
    assert (quick.returncode, quick.stdout, quick.stderr) == (by_click.returncode, by_click.stdout, by_click.stderr)
    if width == "37" and "-v" not in args and "--verbose" not in args:
        assert max(len(line) for line in quick.stdout.decode().splitlines()) <= 37  # wrapped, not cut


@pytest.mark.parametrize("args", CASES[:5], ids=lambda a: "+".join(a))
def test_quick_json_and_exit_codes_are_the_click_commands(books: Path, args: list[str]) -> None:
    quick = run("jixiao", "check", "--json", *args, cwd=books)
    by_click = run("jixiao.cli", "check", *args, "--json", cwd=books)
    assert quick.stdout.startswith(b"{" if len(args) == 1 else b"[")
    assert (quick.returncode, quick.stdout, quick.stderr) == (by_click.returncode, by_click.stdout, by_click.stderr)


@pytest.mark.parametrize("args", [[], ["--help"], ["-"], ["--", "futian.xlsx"], ["--jsn", "futian.xlsx"],
                                  ["--json=1", "futian.xlsx"], ["", "futian.xlsx"]])
def test_anything_else_is_left_to_click(books: Path, args: list[str]) -> None:
    quick = run("jixiao", "check", *args, cwd=books)
    by_click = run("jixiao.cli", "check", *args, cwd=books)
    # the same code and messages; click names the program as it was started
    assert quick.returncode == by_click.returncode
    assert quick.stdout.replace(b"python -m jixiao ", b"") == by_click.stdout.replace(b"python -m jixiao.cli ", b"")
    assert quick.stderr.replace(b"python -m jixiao ", b"") == by_click.stderr.replace(b"python -m jixiao.cli ", b"")


def test_other_commands_go_to_click(books: Path) -> None:
    done = run("jixiao", "--version", cwd=books)
    assert done.returncode == 0 and b"0.1.0" in done.stdout
    done = run("jixiao", "fields", "--json", cwd=books)
    assert done.returncode == 0 and b'"unit_name"' in done.stdout
