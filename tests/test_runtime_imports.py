"""The verification tools stay off the runtime path: running `jixiao check` (with an annotated
copy), `jixiao import` (with its 汇总表), `jixiao report` and loading the add-in never imports
the `formulas` package (nor schedula, its engine) or `jixiao.verify`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

FORBIDDEN = ("formulas", "schedula", "jixiao.verify")

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    out = Path(sys.argv[1])
    from jixiao.data import load_data
    from jixiao.framework.loader import load_framework
    from jixiao.samples import sample_path
    from jixiao.workbook.generator import build_workbook

    fw = load_framework()
    book = out / "福田区某单位 2021.xlsx"
    build_workbook(fw, load_data(fw, sample_path("futian"))).save(book)

    from jixiao.cli import main

    codes = {}
    for args in (["check", str(book), "--annotate", str(out / "annotated.xlsx")],
                 ["check", str(book), "--json"],
                 ["import", str(book), "--db", f"sqlite:///{out / 'j.db'}", "--jobs", "1", "--quiet",
                  "--summary", str(out / "汇总表.xlsx")],
                 ["report", str(book), "-o", str(out / "自评报告.docx")]):
        try:
            codes[args[0] + str(len(codes))] = main(args, standalone_mode=False)
        except SystemExit as exc:
            codes[args[0] + str(len(codes))] = exc.code

    import jixiao.addin.actions, jixiao.addin.book_view, jixiao.addin.report_action, jixiao.addin.server  # noqa

    print(json.dumps({"codes": codes, "modules": sorted(sys.modules)}))
    """
)


def _loaded(tmp_path: Path, prelude: str = "") -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    done = subprocess.run([sys.executable, "-c", prelude + SCRIPT, str(tmp_path)], capture_output=True,
                          text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _forbidden(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]


def test_check_import_report_and_addin_never_load_the_verification_tools(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path)
    # the commands really ran: the files they write exist, check and import accepted the sample
    assert (tmp_path / "annotated.xlsx").is_file() and (tmp_path / "汇总表.xlsx").is_file()
    assert (tmp_path / "自评报告.docx").is_file()
    assert {"jixiao.checker.check", "jixiao.importer.run", "jixiao.addin.actions"} <= set(loaded["modules"])
    assert _forbidden(loaded["modules"]) == []


def test_the_probe_sees_a_verification_import(tmp_path: Path) -> None:
    # the same probe with the oracle imported first reports it: the assertion above can fail
    loaded = _loaded(tmp_path, "import jixiao.verify.formulas_oracle\n")
    assert {"formulas", "jixiao.verify", "jixiao.verify.formulas_oracle"} <= set(_forbidden(loaded["modules"]))
