"""How long intake takes on hostile and bulk input: the timings that used to be assertions in
the tests (a busy machine made them fail), now measured here.

    python benchmarks/bench_intake.py

Rows:
- summary of 10,000 submissions: `write_summary` on a SQLite database of 10,000 scored rows;
- zip bomb refused from its directory: `open_xlsx` of a 200 MB-of-zeros member (~1 MB file);
- XML bomb refused: `parse_xml` of a billion-laughs sheet;
- archive bomb expanded: `iter_sources` of a zip holding a 100 MB member and a real file;
- hostile corpus: `jixiao check --json` of each file of tests/hostile/corpus.py, as a process
  (the slowest and the median).
Always exits 0: the numbers are informational.
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "tests" / "hostile")]
MiB = 1024 * 1024


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def summary_10k(tmp: Path) -> float:
    from datetime import datetime, timezone

    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from jixiao.framework.loader import load_framework
    from jixiao.importer.db import ScoreRow, Submission, make_engine
    from jixiao.importer.schema import upgrade
    from jixiao.importer.summary import write_summary

    fw = load_framework()
    engine = make_engine(f"sqlite:///{tmp / 'big.db'}")
    upgrade(engine)
    subs, scores = [], []
    for k in range(1, 10_001):
        total = 0.0
        for j, ind in enumerate(fw.indicators):
            score = round(ind.points * ((k * 7 + j * 13) % 100) / 100, 2)
            total += score
            scores.append({"submission_id": k, "indicator_id": ind.id, "name": ind.name, "points": ind.points,
                           "workbook_score": score, "recomputed_score": score, "explanation": ""})
        subs.append({"id": k, "sha256": f"{k:064x}", "original_name": f"单位{k}.xlsx",
                     "received_at": datetime(2022, 3, 1, tzinfo=timezone.utc), "status": "accepted",
                     "unit_name": f"单位{k // 2}", "year": 2020 + k % 2, "recomputed_total": round(total, 2),
                     "workbook_total": round(total, 2), "grade": "良", "errors": 0, "warnings": 0,
                     "archive_path": "x", "is_current": True})
    with Session(engine) as s, s.begin():
        s.execute(insert(Submission), subs)
        s.execute(insert(ScoreRow), scores)
    return timed(lambda: write_summary(engine, tmp / "big.xlsx", fw))


def zip_bomb(tmp: Path) -> float:
    from jixiao.xlsx.safe import UnreadableWorkbook, open_xlsx

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(200):
                member.write(bytes(MiB))
    path = tmp / "bomb.xlsx"
    path.write_bytes(out.getvalue())

    def run() -> None:
        try:
            open_xlsx(path)
        except UnreadableWorkbook:
            return
        raise AssertionError("not refused")

    return timed(run)


def xml_bomb(tmp: Path) -> float:
    from jixiao.xlsx.safe import UnreadableWorkbook, open_xlsx
    import corpus

    x = corpus.built(corpus.GOOD)
    part = x.sheet_part("基本信息")
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10))
              + ']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">&lol9;</worksheet>')
    x.set_text(part, laughs)
    path = x.save(tmp / "laughs.xlsx")
    xlsx = open_xlsx(path)

    def run() -> None:
        try:
            xlsx.parse_xml(part)
        except UnreadableWorkbook:
            return
        raise AssertionError("not refused")

    return timed(run)


def archive_bomb(tmp: Path) -> float:
    from jixiao.importer.sources import iter_sources

    path = tmp / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("zeros.xlsx", "w") as member:
            for _ in range(100):
                member.write(bytes(MiB))
        zf.writestr("real.xlsx", b"PK")
    return timed(lambda: list(iter_sources(path)))


def corpus_checks(tmp: Path) -> list[tuple[str, float]]:
    import corpus

    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    times = []
    for case, path in corpus.build_cases(tmp / "corpus"):
        seconds = timed(lambda: subprocess.run([sys.executable, "-m", "jixiao.cli", "check", "--json", str(path)],
                                               capture_output=True, timeout=300, env=env))
        times.append((corpus._shown(case.name), seconds))
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        rows = [("summary of 10,000 submissions", summary_10k(tmp)),
                ("zip bomb (200 MB member) refused", zip_bomb(tmp)),
                ("XML bomb refused", xml_bomb(tmp)),
                ("archive bomb (100 MB member) expanded", archive_bomb(tmp))]
        checks = corpus_checks(tmp)
    slowest = max(checks, key=lambda c: c[1])
    rows.append((f"hostile corpus, {len(checks)} checks: median", statistics.median(s for _n, s in checks)))
    rows.append((f"hostile corpus: slowest ({slowest[0]})", slowest[1]))
    width = max(len(r[0]) for r in rows)
    for what, seconds in rows:
        print(f"{what:<{width}}  {seconds * 1000:9.1f} ms")
    print(f"load average {os.getloadavg()[0]:.2f} (other work on the machine inflates every number)")


if __name__ == "__main__":
    main()
