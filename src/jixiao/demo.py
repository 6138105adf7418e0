"""`jixiao demo`: the whole job on the embedded defaults — generate the template, fill it with
the two seed reports, score them, recompute each workbook's own formulas in Python, check the
workbooks as the bureau would, write each unit's 自评报告, import them into a database and write
the 汇总表."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from jixiao.data import load_data
from jixiao.engine import score
from jixiao.framework.loader import load_framework
from jixiao.numeric import same_cell_value
from jixiao.report import print_scorecard
from jixiao.samples import REPORTED_TOTALS, SAMPLES, sample_path
from jixiao.workbook.generator import build_workbook


def run_demo(out_dir: Path, pdf: bool = False) -> int:
    console = Console()
    out_dir.mkdir(parents=True, exist_ok=True)
    fw = load_framework()
    template = out_dir / f"{fw.id}-template.xlsx"
    build_workbook(fw).save(template)
    console.print(f"[bold]1. 模板[/bold] {template}")

    failures = 0
    for name in SAMPLES:
        data = load_data(fw, sample_path(name))
        built = build_workbook(fw, data)
        path = out_dir / f"{name}-2021.xlsx"
        built.save(path)
        card = score(fw, data)
        console.print(f"\n[bold]2. 填报[/bold] {path}")
        print_scorecard(card, title=data[fw.form.identity.unit], console=console)
        reported = REPORTED_TOTALS[name]
        ok = card.total == reported
        failures += not ok
        console.print(f"报告总分 {reported:.2f}，Python 计算 {card.total:.2f}：" + ("[green]一致[/green]" if ok else "[red]不一致[/red]"))

        from jixiao.workbook.evaluate import evaluate_file  # the formulas package: slow to import

        evaluated = evaluate_file(path)
        differ = [f"{sheet}!{coord}" for sheet, cells in built.cached.items() for coord, v in cells.items()
                  if not same_cell_value(evaluated.get(sheet, {}).get(coord), v)]
        failures += bool(differ)
        console.print(f"[bold]3. 核对[/bold] 用 formulas 重算工作簿中 {sum(map(len, built.cached.values()))} 个公式："
                      + ("[green]与 Python 计算全部一致[/green]" if not differ else f"[red]{len(differ)} 处不一致：{differ[:5]}[/red]"))

    from jixiao.checker.check import check_file
    from jixiao.checker.report import print_result

    console.print("\n[bold]4. 审核[/bold] jixiao check（单位报送前、财政局收到后）")
    for name in SAMPLES:
        result = check_file(out_dir / f"{name}-2021.xlsx")
        print_result(result, console)
        failures += result.exit_code != 0 or result.recomputed_total != REPORTED_TOTALS[name]

    from jixiao.selfreport import PdfError, report_from_workbook, to_pdf

    console.print("\n[bold]5. 自评报告[/bold] jixiao report（表格与数字取自工作簿，文字取自“报告文字”工作表）")
    for name in SAMPLES:
        built, _ = report_from_workbook(out_dir / f"{name}-2021.xlsx")
        target = out_dir / f"{name}-2021-自评报告.docx"
        built.save(target)
        line = f"{target}：存在的问题 {len(built.problems)} 项" + (f"，待填写 {len(built.placeholders)} 处"
                                                                 if built.placeholders else "")
        if pdf:
            try:
                line += f"；PDF {to_pdf(target)}"
            except PdfError as exc:
                line += f"；[yellow]{exc}[/yellow]"
        console.print(line)

    from jixiao.importer.db import make_engine
    from jixiao.importer.run import import_paths
    from jixiao.importer.summary import write_summary

    db = out_dir / "jixiao.db"
    db.unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    stats = import_paths([out_dir / f"{n}-2021.xlsx" for n in SAMPLES] + [template], url, jobs=1)
    summary = out_dir / "汇总表.xlsx"
    write_summary(make_engine(url), summary)
    console.print(f"\n[bold]6. 导入[/bold] {db}：收到 {stats.given} 个文件，新提交 {stats.imported} 个"
                  f"（通过（有警告）{stats.by_status['accepted_with_warnings']}，不通过 {stats.by_status['rejected']}）；"
                  f"汇总表 {summary}")
    failures += stats.by_status["accepted_with_warnings"] != len(SAMPLES)
    return 1 if failures else 0
