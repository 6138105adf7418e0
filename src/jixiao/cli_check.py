"""The body of `jixiao check`, shared by the click command (`cli.check`) and the quick route
that runs a plain `jixiao check FILE…` without importing click (`jixiao.__main__`): one
definition of what the command does, prints and returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

Echo = Callable[..., None]  # echo(message, err=False), as click.echo


def run_check(files: Sequence[Path], frameworks: Sequence = (), *, as_json: bool = False,
              annotate: Path | None = None, verbose: bool = False, echo: Echo) -> int:
    """Check `files`, write the annotated copies and the report; the exit code (0 通过,
    1 有错误, 2 无法读取: the worst file's)."""
    from jixiao.checker.check import check_file

    results = [check_file(f, frameworks) for f in files]
    if annotate is not None:
        from jixiao.checker.annotate import annotate as write_annotated

        from jixiao.names import display_name

        for f, r in zip(files, results):
            if r.status == "unreadable":
                continue
            target = annotate if len(files) == 1 else annotate / f"{display_name(f.stem)}-校验.xlsx"
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                write_annotated(f, r, target)
            except Exception as exc:  # noqa: BLE001 - the verdict below must never be lost
                echo(f"{display_name(f)}：未能生成标注副本 {display_name(target)}（{type(exc).__name__}: "
                     f"{str(exc)[:200]}）；审核结果不受影响", err=True)
    if as_json:
        import json

        payload = [r.to_json() for r in results]
        echo(json.dumps(payload[0] if len(payload) == 1 else payload, ensure_ascii=False, indent=1))
    else:
        from jixiao.checker.report import print_results

        print_results(results, verbose)
    return max(r.exit_code for r in results)
