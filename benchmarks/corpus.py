"""Workbooks for the benchmarks that differ the way real units' workbooks differ: every
figure, and so every result computed from it, not only the unit's name.

A batch of copies with only the name changed would repeat most rows and shared strings of
every file, which the reader remembers across a batch (`jixiao.xlsx.fragments`): a benchmark
on such copies measures the memory, not the reading.  Here each workbook gets the Futian
sample's figures scaled by its own factor (every amount, and every figure computed from the
amounts) and its own narrative, and is built by the real generator.
"""

from __future__ import annotations

import io
import multiprocessing
from pathlib import Path
from typing import Any

__all__ = ["build_distinct", "distinct_figures"]


def distinct_figures(fw: Any, base: dict[str, Any], i: int, unit: str) -> dict[str, Any]:
    """The Futian sample as unit `i` might fill it in: every amount times a whole factor of
    its own, 2 + i -- no two units share a figure, as no two real units do (a factor drawn from
    a few dozen would give units the same rows, which the reader remembers); sums stay exact, so
    the cross-checks pass as Futian's do; rates and scores stay Futian's -- every narrative its
    own."""
    scale = 2 + i
    out: dict[str, Any] = {}
    for key, value in base.items():
        field = fw.fields.get(key)
        if isinstance(value, float) and field is not None and field.type == "amount":
            out[key] = round(value * scale, 2)
        elif isinstance(value, str) and (key.startswith("report_") or key.endswith("_note")) and value:
            out[key] = f"{value}（第 {i} 号单位）"
        else:
            out[key] = value
    out["unit_name"] = unit
    return out


def _build(job: tuple[int, str, str]) -> None:
    i, unit, path = job
    from jixiao.data import load_data
    from jixiao.framework.loader import load_framework
    from jixiao.samples import sample_path
    from jixiao.workbook.generator import build_workbook

    fw = load_framework()
    base = load_data(fw, sample_path("futian"))
    buf = io.BytesIO()
    build_workbook(fw, distinct_figures(fw, base, i, unit)).save(buf)
    Path(path).write_bytes(buf.getvalue())


def build_distinct(folder: Path, n: int, tag: str, jobs: int | None = None) -> list[Path]:
    """n workbooks of n different units' figures, built in parallel (~0.2 s each)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{tag}-{i:06d}.xlsx" for i in range(n)]
    jobs_list = [(i, f"基准单位{tag}{i:06d}", str(p)) for i, p in enumerate(paths)]
    with multiprocessing.get_context("spawn").Pool(jobs or multiprocessing.cpu_count()) as pool:
        pool.map(_build, jobs_list, chunksize=8)
    return paths
