"""The server add-in's latency, as a user of the task pane sees it: headless Chromium loads the
task pane from `jixiao addin serve` (HTTPS, a generated certificate) and runs the real xlwings
client against the Office.js stand-in of tests/addin_browser/ holding the Futian sample; each
button is clicked `--repeats` times (a fresh page each time) and timed from click to the pane's
status.  Beside it: the same action in-process (`run_action` on the client's own request body)
and the size of that request.  Always exits 0.

    python benchmarks/bench_addin.py [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import test_addin_browser as tb
    from playwright.sync_api import sync_playwright

    from jixiao.addin.devcert import create
    from jixiao.addin.server import run_action
    from jixiao.data import load_data
    from jixiao.framework.loader import load_framework
    from jixiao.samples import sample_path
    from jixiao.workbook.generator import build_workbook

    tmp = Path(tempfile.mkdtemp())
    fw = load_framework()
    path = tmp / "futian.xlsx"
    build_workbook(fw, load_data(fw, sample_path("futian"))).save(path)
    cert = create(tmp / "cert")
    port = tb._free_port()
    env = {"PYTHONPATH": str(ROOT / "src")}
    proc = tb.start_server([sys.executable, "-m", "jixiao.cli"], cert.cert, cert.key, port, env)
    rows: dict[str, dict] = {}
    try:
        base = f"https://localhost:{port}"
        tb.wait_for_https(base + "/health", cert.cert, proc)
        book = tb.standin_book(path)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=tb.chromium_path(), headless=True,
                                        args=[*tb.CHROMIUM_FLAGS, f"--ignore-certificate-errors-spki-list={cert.spki_sha256}"])
            load_times = []
            for label, action in (("校验", "validate"), ("重算核对", "recompute"), ("定稿", "finalise")):
                clicks, posts = [], None
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    pane = tb.Pane(browser, base, copy.deepcopy(book))
                    load_times.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    status = pane.click(label)
                    clicks.append(time.perf_counter() - start)
                    assert status == f"{label}完成。", status
                    posts = pane.posts[-1]
                    pane.close()
                body = json.dumps(posts).encode()
                inproc = []
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    run_action(action, copy.deepcopy(posts))
                    inproc.append(time.perf_counter() - start)
                rows[label] = {"click_to_status_s": clicks, "in_process_s": inproc, "request_bytes": len(body)}
            rows["任务窗格加载"] = {"load_s": load_times}
            browser.close()
    finally:
        tb.stop(proc)

    print(f"server add-in, Futian sample, {args.repeats} repeats (median, min–max)")
    for label, r in rows.items():
        if "load_s" in r:
            v = r["load_s"]
            print(f"  {label:8} page load to ready      {statistics.median(v) * 1000:7.0f} ms  "
                  f"({min(v) * 1000:.0f}–{max(v) * 1000:.0f})")
            continue
        c, i = r["click_to_status_s"], r["in_process_s"]
        print(f"  {label:8} click → status {statistics.median(c) * 1000:7.0f} ms ({min(c) * 1000:.0f}–{max(c) * 1000:.0f})"
              f"   in-process {statistics.median(i) * 1000:6.0f} ms   request {r['request_bytes'] / 1024:.0f} KiB")
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # noqa: BLE001 - informational: never fail
        print(f"bench_addin skipped: {type(exc).__name__}: {exc}")
        sys.exit(0)
