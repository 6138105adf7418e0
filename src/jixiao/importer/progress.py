"""The import's progress bar and closing table (rich): done/total, accepted, warnings, rejected."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jixiao.importer.run import ImportStats, count_candidates, import_paths


def _counts(stats: ImportStats) -> str:
    s = stats.by_status
    return (f"[green]通过 {s['accepted']}[/green] [yellow]有警告 {s['accepted_with_warnings']}[/yellow] "
            f"[red]不通过 {s['rejected']} 无法读取 {s['unreadable'] + stats.problems}[/red] "
            f"重复 {stats.duplicates} 已导入 {stats.already}")


def run_with_progress(paths: list[Path], url: str, *, jobs: int | None, console: Console, quiet: bool) -> ImportStats:
    if quiet:
        stats = import_paths(paths, url, jobs=jobs)
    else:
        total = count_candidates(paths)
        with Progress(TextColumn("导入"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                      TimeElapsedColumn(), console=console, transient=False) as bar:
            task = bar.add_task("", total=total)

            def show(stats: ImportStats) -> None:
                bar.update(task, completed=stats.done, description=_counts(stats))
            stats = import_paths(paths, url, jobs=jobs, on_progress=show)
            show(stats)
    table = Table("收到文件", "新提交", "通过", "通过（有警告）", "不通过", "无法读取", "重复", "此前已导入", title="导入结果")
    s = stats.by_status
    table.add_row(str(stats.given), str(stats.imported), str(s["accepted"]), str(s["accepted_with_warnings"]),
                  str(s["rejected"]), str(s["unreadable"] + stats.problems), str(stats.duplicates), str(stats.already))
    console.print(table)
    return stats
