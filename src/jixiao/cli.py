"""The `jixiao` command.  Each command imports only what it needs, so a one-file run stays fast."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from jixiao.framework.field_types import YEARS  # the --year range: what the year type allows

FRAMEWORK_HELP = "框架：内置名称（默认 shenzhen-district-2021）或 YAML 文件路径"


def _framework(source: str | None):
    from jixiao.framework.loader import load_framework
    from jixiao.framework.spec import FrameworkError

    try:
        return load_framework(source)
    except FrameworkError as exc:
        raise click.ClickException(f"框架文件有误：{exc}") from None


def _fail(message: str, code: int = 1) -> None:
    click.echo(message, err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="jixiao")
def main() -> None:
    """jixiao 绩效：部门整体支出绩效自评表的生成、填报、评分与审核。"""


@main.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="输出的 .xlsx 文件")
@click.option("--framework", "framework_source", default=None, help=FRAMEWORK_HELP)
@click.option("--year", type=click.IntRange(*YEARS), default=None, help="预填评价年度")
@click.option("--unit", default=None, help="预填单位名称")
def template(output: Path, framework_source: str | None, year: int | None, unit: str | None) -> None:
    """生成空白自评表（评分为实时公式）。"""
    from jixiao.workbook.generator import build_workbook

    fw = _framework(framework_source)
    identity = fw.form.identity
    data = {k: v for k, v in ((identity.year, year), (identity.unit, unit)) if v is not None}
    build_workbook(fw, data).save(output)
    click.echo(f"已生成 {output}（框架 {fw.id} 版本 {fw.version}，{len(fw.indicators)} 个三级指标）")


@main.command()
@click.argument("data_file", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="输出的 .xlsx 文件")
@click.option("--framework", "framework_source", default=None, help=FRAMEWORK_HELP)
def fill(data_file: Path, output: Path, framework_source: str | None) -> None:
    """由数据文件（YAML/JSON，键为字段 id）生成已填报的自评表。"""
    from jixiao.data import DataError, load_data, missing_required
    from jixiao.workbook.generator import build_workbook

    fw = _framework(framework_source)
    try:
        data = load_data(fw, data_file)
    except DataError as exc:
        _fail(f"数据文件有误，未生成工作簿（{len(exc.issues)} 处）：\n" + "\n".join(f"  {i}" for i in exc.issues))
    built = build_workbook(fw, data)
    built.save(output)
    click.echo(f"已生成 {output}：总得分 {built.values['total']:.2f}（{built.values['grade']}），"
               f"审核：{built.values['checks.summary']}")
    missing = missing_required(fw, data)
    if missing:
        lines = [f"  {f.id}“{f.label}”（{built.inputs[f.id].sheet}!{built.inputs[f.id].coord}）"
                 for f in missing if f.id in built.inputs]
        _fail(f"{data_file}：缺少 {len(missing)} 个必填字段，工作簿中这些单元格为空，审核将报错：\n" + "\n".join(lines))


@main.command()
@click.option("--framework", "framework_source", default=None, help=FRAMEWORK_HELP)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
def fields(framework_source: str | None, as_json: bool) -> None:
    """列出全部填报字段：id、名称、单位、工作表!单元格。"""
    from jixiao.layout import layout_for

    fw = _framework(framework_source)
    rows = [{"id": fid, "label": fw.fields[fid].label, "type": fw.fields[fid].type, "unit": fw.fields[fid].unit,
             "required": fw.fields[fid].required, "cell": f"{p.sheet}!{p.coord}"}
            for fid, p in layout_for(fw).inputs.items()]
    if as_json:
        import json

        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "名称", "单位", "位置", title=f"{fw.title}：{len(rows)} 个填报字段")
    for r in rows:
        table.add_row(r["id"], r["label"] + ("（必填）" if r["required"] else ""), r["unit"], r["cell"])
    Console().print(table)


@main.command()
@click.argument("data_file", type=click.Path(path_type=Path))
@click.option("--framework", "framework_source", default=None, help=FRAMEWORK_HELP)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出评分结果")
def score(data_file: Path, framework_source: str | None, as_json: bool) -> None:
    """由数据文件计算评分（不生成工作簿）。"""
    from jixiao.data import DataError, load_data
    from jixiao.engine import score as run

    fw = _framework(framework_source)
    try:
        data = load_data(fw, data_file)
    except DataError as exc:
        _fail("数据文件有误：\n" + "\n".join(f"  {i}" for i in exc.issues))
    card = run(fw, data)
    if as_json:
        import dataclasses
        import json

        out = dataclasses.asdict(card)
        out.pop("values")
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    from jixiao.report import print_scorecard

    print_scorecard(card, title=str(data.get(fw.form.identity.unit, data_file)))


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（格式见 docs/check-json.md）")
@click.option("--annotate", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="另存一份标注了问题单元格的副本（多个文件时为目录）")
@click.option("--framework", "framework_sources", multiple=True, help="另外认可的框架文件（可多次）")
@click.option("-v", "--verbose", is_flag=True, help="显示全部指标与提示")
def check(files: tuple[Path, ...], as_json: bool, annotate: Path | None, framework_sources: tuple[str, ...],
          verbose: bool) -> None:
    """审核已填报的自评表：校验输入、用 Python 重新计算全部得分并与工作簿公式结果比对、检查模板完整性。

    退出码：0 通过（含仅有警告），1 有错误，2 无法读取。"""
    from jixiao.cli_check import run_check

    frameworks = [_framework(src) for src in framework_sources]
    sys.exit(run_check(files, frameworks, as_json=as_json, annotate=annotate, verbose=verbose, echo=click.echo))


@main.command()
@click.argument("workbook", required=False, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="输出的自评报告 .docx（--all 时为目录）")
@click.option("--pdf", "as_pdf", is_flag=True, help="同时用 LibreOffice Writer 转换为 PDF（供盖章上传）")
@click.option("--framework", "framework_sources", multiple=True, help="另外认可的框架文件（可多次）")
@click.option("--definition", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="自评报告定义文件（默认：框架所用基础数据表的内置定义）")
@click.option("--db", "url", default=None, help="改为从数据库（jixiao import 导入的提交）生成：数据库 URL")
@click.option("--unit", default=None, help="与 --db 同用：单位名称")
@click.option("--year", type=int, default=None, help="与 --db 同用：评价年度（默认最新）")
@click.option("--all", "all_units", is_flag=True, help="与 --db 同用：为每个单位的当前提交生成报告，-o 为输出目录")
def report(workbook: Path | None, output: Path, as_pdf: bool, framework_sources: tuple[str, ...],
           definition: Path | None, url: str | None, unit: str | None, year: int | None, all_units: bool) -> None:
    """由已填报的自评表（或数据库中的提交）生成部门整体绩效自评报告 .docx。

    表格与数字全部取自工作簿的填报数据和评分结果；“报告文字”工作表的内容原样写入，未填写的显示【待填写】。"""
    from jixiao.framework.spec import FrameworkError
    from jixiao.selfreport import PdfError, ReportError, report_from_database, report_from_workbook

    frameworks = [_framework(src) for src in framework_sources]
    if (workbook is None) == (url is None):
        _fail("请给出一个自评表文件，或用 --db 与 --unit 指定数据库中的单位", 2)
    try:
        if workbook is not None:
            if not workbook.exists():
                _fail(f"{workbook}：文件不存在", 2)
            built, result = report_from_workbook(workbook, frameworks, definition)
            if result.errors:
                click.echo(f"注意：{workbook} 审核有错误 {len(result.errors)} 项（运行 jixiao check 查看），"
                           "报告按其填报数据生成", err=True)
        elif all_units:
            from jixiao.importer.db import make_engine
            from jixiao.selfreport.sources import reports_from_database

            outcomes = reports_from_database(make_engine(url), output, frameworks, definition)
            for label, outcome in outcomes:
                click.echo(f"{label}：{outcome}")
            written = [o for _, o in outcomes if not o.startswith("未生成")]
            if as_pdf:
                from jixiao.selfreport import to_pdf

                for target in written:
                    try:
                        to_pdf(target)
                    except PdfError as exc:
                        _fail(str(exc))
            click.echo(f"共 {len(outcomes)} 个单位，生成报告 {len(written)} 份")
            sys.exit(0 if len(written) == len(outcomes) else 1)
        else:
            if not unit:
                _fail("--db 需要与 --unit（或 --all）同用", 2)
            from jixiao.importer.db import make_engine

            built = report_from_database(make_engine(url), unit, year, frameworks=frameworks, definition=definition)
        output.parent.mkdir(parents=True, exist_ok=True)
        built.save(output)
    except (ReportError, FrameworkError) as exc:
        _fail(str(exc), 2)
    except OSError as exc:
        _fail(f"{output}：无法写入（{exc.strerror or exc}）：文件是否正在 Word/WPS 中打开？", 2)
    card = built.card
    click.echo(f"已生成 {output}：总得分 {card.total:.2f}（{card.grade}），存在的问题 {len(built.problems)} 项"
               + (f"，待填写 {len(built.placeholders)} 处" if built.placeholders else ""))
    if as_pdf:
        from jixiao.selfreport import to_pdf

        try:
            click.echo(f"已转换 {to_pdf(output)}")
        except PdfError as exc:
            _fail(str(exc))


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--db", "url", default=None, help="数据库 URL（默认 sqlite:///jixiao.db；PostgreSQL：postgresql+psycopg://…）")
@click.option("--jobs", type=click.IntRange(1, 64), default=None, help="并行检查的进程数（默认：核心数 + 1）")
@click.option("--summary", "summary_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="导入后生成汇总表 .xlsx")
@click.option("--quiet", is_flag=True, help="不显示进度条")
def import_(paths: tuple[Path, ...], url: str | None, jobs: int | None, summary_path: Path | None, quiet: bool) -> None:
    """批量导入自评表：文件、文件夹、.zip、.eml、mbox、maildir；逐个审核、评分、入库并存档原件。"""
    from rich.console import Console

    from jixiao.importer.db import default_url
    from jixiao.importer.progress import run_with_progress

    console = Console(stderr=True)
    url = url or default_url()
    stats = run_with_progress(list(paths), url, jobs=jobs, console=console, quiet=quiet)
    if summary_path is not None:
        _write_summary(url, summary_path, console)
    sys.exit(0 if stats.given else 1)


@main.command()
@click.option("--db", "url", default=None, help="数据库 URL（默认 sqlite:///jixiao.db）")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="汇总表 .xlsx")
def summary(url: str | None, output: Path) -> None:
    """由数据库生成汇总表（排名、指标统计、图表、未通过文件、历史）。"""
    from rich.console import Console

    from jixiao.importer.db import default_url

    _write_summary(url or default_url(), output, Console(stderr=True))


def _write_summary(url: str, output: Path, console) -> None:
    from jixiao.importer.db import make_engine
    from jixiao.importer.schema import upgrade
    from jixiao.importer.summary import write_summary

    engine = make_engine(url)
    upgrade(engine)
    write_summary(engine, output)
    from rich.text import Text

    console.print(Text(f"汇总表已生成：{output}"))


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out/demo"),
              show_default=True, help="输出目录")
@click.option("--pdf", "as_pdf", is_flag=True, help="自评报告同时转换为 PDF（需 LibreOffice Writer）")
def demo(out_dir: Path, as_pdf: bool) -> None:
    """演示：生成模板，用两份样例（福田、龙岗）填报，评分，用 formulas 重算工作簿核对，审核，写出自评报告，导入并汇总。"""
    from jixiao.demo import run_demo

    sys.exit(run_demo(out_dir, pdf=as_pdf))


@main.group()
def addin() -> None:
    """Excel 加载项“绩效自评”：桌面加载项（本机 Python）与服务器加载项（Excel 网页版等），见 addin/README.md。"""


@addin.command("install")
@click.option("--target", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="安装到此文件夹（默认：Excel 的启动文件夹 XLSTART，须有 Excel）")
def addin_install(target: Path | None) -> None:
    """生成桌面加载项 jixiao.addin.xlam 并安装到 Excel（Windows / macOS）。"""
    from jixiao.addin.desktop import AddinError, install

    try:
        install(target, echo=click.echo)
    except AddinError as exc:
        _fail(str(exc))


@addin.command("remove")
@click.option("--target", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="从此文件夹删除（默认：Excel 的启动文件夹 XLSTART）")
def addin_remove(target: Path | None) -> None:
    """卸载桌面加载项。"""
    from jixiao.addin.desktop import AddinError, remove

    try:
        remove(target, echo=click.echo)
    except AddinError as exc:
        _fail(str(exc))


@addin.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址（0.0.0.0：所有网卡）")
@click.option("--port", type=int, default=8000, show_default=True, help="端口")
@click.option("--cert", "--certfile", "certfile", default=None,
              help="HTTPS 证书文件（PEM）；Excel 只加载 https 加载项。开发用：jixiao addin cert")
@click.option("--key", "--keyfile", "keyfile", default=None, help="HTTPS 私钥文件（PEM）")
@click.option("--base-url", default=None,
              help="清单中的网址（默认：实际提供服务的网址 https://主机:端口；经反向代理发布时指定）")
def addin_serve(host: str, port: int, certfile: str | None, keyfile: str | None, base_url: str | None) -> None:
    """运行服务器加载项（xlwings Server：任务窗格、Office.js 清单、校验/重算核对/定稿接口）。"""
    import os

    from jixiao.addin.book_view import LICENSE_ENV, LICENSE_MESSAGE

    if not os.environ.get(LICENSE_ENV):
        _fail(LICENSE_MESSAGE)
    from jixiao.addin.server import serve

    try:
        serve(host, port, base_url, certfile, keyfile, echo=click.echo)
    except (RuntimeError, ValueError) as exc:
        _fail(str(exc))


@addin.command("cert")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="证书和私钥写入此文件夹")
@click.option("--host", "hosts", multiple=True, help="另加的主机名或 IP（localhost、127.0.0.1、::1 总是包含），可多次给出")
@click.option("--days", type=int, default=825, show_default=True, help="有效天数（macOS 最多接受 825 天）")
@click.option("--force", is_flag=True, help="覆盖已有的证书和私钥")
def addin_cert(out_dir: Path, hosts: tuple[str, ...], days: int, force: bool) -> None:
    """生成本机开发用的 HTTPS 证书（自签名），供 jixiao addin serve --cert/--key 使用。"""
    from jixiao.addin.devcert import create

    try:
        made = create(out_dir, hosts, days, overwrite=force)
    except (RuntimeError, ValueError, FileExistsError) as exc:
        _fail(str(exc))
    click.echo(f"已生成证书 {made.cert} 和私钥 {made.key}（主机：{'、'.join(made.hosts)}；"
               f"有效期至 {made.not_after:%Y-%m-%d}）")
    click.echo(f"SHA-256 指纹：{made.fingerprint}")
    click.echo(f"启动：jixiao addin serve --port 8443 --cert {made.cert} --key {made.key}")
    click.echo("在 Windows / macOS 上信任此证书的步骤见 addin/README.md（“开发证书”）。")


if __name__ == "__main__":  # pragma: no cover
    main()
