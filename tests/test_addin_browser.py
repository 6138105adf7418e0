"""The server add-in in a real browser: headless Chromium (the system's, driven by Playwright)
loads the task pane from a running ``jixiao addin serve`` over HTTPS with a certificate made by
``jixiao addin cert``; the page runs the real xlwings JavaScript client served by that server.
Office.js is the one script the page loads from Microsoft: here its URL is answered by a small
stand-in (tests/addin_browser/office_standin.js) that holds a real generated workbook (both
samples and damaged variants, read with openpyxl).  The test clicks 校验, 重算核对 and 定稿 and
asserts what the client did to the stand-in workbook (values written, cells coloured, a sheet
added, protection taken off and put back, the alert) and the task pane's Chinese status, also
for failing actions (a sheet protected with a password, a server that does not answer).  The
colours and values must be exactly those the same actions give through xlwings' remote engine
in Python (tests/test_addin.py), and the verdict that of ``jixiao check`` on the same file.

With CI=true a missing browser or driver package fails the test instead of skipping it."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from unittest import mock

import openpyxl
import pytest
from openpyxl.utils.cell import get_column_letter

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")  # PolyForm Noncommercial: testing

import jixiao.addin.actions as addin_actions  # noqa: E402
from jixiao.checker.check import check_file  # noqa: E402
from jixiao.checker.result import ERROR, WARNING  # noqa: E402
from jixiao.layout.names import META_SHEET, RESULT_SHEET  # noqa: E402
from jixiao.xlsx.refs import parse_ref  # noqa: E402

HERE = Path(__file__).resolve().parent
STANDIN = HERE / "addin_browser" / "office_standin.js"
OFFICE_JS = "https://appsforoffice.microsoft.com/lib/1/hosted/office.js"
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ACTIONS = {"校验": "validate", "重算核对": "recompute", "定稿": "finalise"}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _missing(what: str):
    message = f"the browser test needs {what}"
    if CI:
        pytest.fail(message + " (.ci/run installs chromium and the playwright package)")
    pytest.skip(message)


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    _missing("a Chromium (apt-get install chromium)")


# --------------------------------------------------------------------------- the stand-in workbook

def standin_book(path: Path, password: dict[str, str] | None = None) -> dict:
    """The workbook as Office.js would show it: each sheet's values (the cached results; dates as
    serial numbers with their number format, as Excel holds them), protection, the defined names."""
    wb = openpyxl.load_workbook(path, data_only=True)
    sheets = []
    epoch = dt.datetime(1899, 12, 30)
    for ws in wb.worksheets:
        values, formats = [], []
        for row in ws.iter_rows(min_row=1, max_row=max(ws.max_row, 1), max_col=max(ws.max_column, 1)):
            vrow, frow = [], []
            for cell in row:
                v = cell.value
                if isinstance(v, dt.datetime):
                    v = (v - epoch).total_seconds() / 86400
                elif isinstance(v, dt.date):
                    v = float((dt.datetime(v.year, v.month, v.day) - epoch).days)
                elif isinstance(v, dt.time):
                    v = (v.hour * 3600 + v.minute * 60 + v.second) / 86400
                vrow.append("" if v is None else v)
                frow.append(cell.number_format or "General")
            values.append(vrow)
            formats.append(frow)
        sheets.append({"name": ws.title, "values": values, "numberFormat": formats,
                       "protected": bool(ws.protection.sheet), "password": (password or {}).get(ws.title),
                       "visibility": {"visible": "Visible", "hidden": "Hidden"}.get(ws.sheet_state, "VeryHidden")})
    names = []
    for name, dn in wb.defined_names.items():
        ref = parse_ref(dn.attr_text or "")
        if ref:
            names.append({"name": name, "sheet": ref[0], "address": ref[1].replace("$", "")})
    active = wb.worksheets.index(wb.active) if wb.active in wb.worksheets else 0
    calculation = "Manual" if wb.calculation.calcMode == "manual" else "Automatic"
    return {"name": path.name, "active": active, "sheets": sheets, "names": names, "calculation": calculation}


# --------------------------------------------------------------------------- server and browser

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_https(url: str, cafile: Path, proc: subprocess.Popen, timeout: float = 60) -> dict:
    """GET `url` with only `cafile` trusted (so the server must present that certificate, valid for
    the host name): the served health JSON."""
    context = ssl.create_default_context(cafile=str(cafile))
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"jixiao addin serve exited with {proc.returncode}: {out}")
        try:
            with urllib.request.urlopen(url, context=context, timeout=5) as response:
                return json.loads(response.read())
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def start_server(command: list[str], cert: Path, key: Path, port: int, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([*command, "addin", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--cert", str(cert), "--key", str(key)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "XLWINGS_LICENSE_KEY": "noncommercial", **(env or {})})


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def devcert(tmp_path_factory):
    from jixiao.addin.devcert import create

    return create(tmp_path_factory.mktemp("cert"))


@pytest.fixture(scope="module")
def server(devcert):
    port = _free_port()
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {"PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    proc = start_server([sys.executable, "-m", "jixiao.cli"], devcert.cert, devcert.key, port, env)
    try:
        base = f"https://localhost:{port}"
        health = wait_for_https(base + "/health", devcert.cert, proc)
        assert health["base_url"] == base  # the manifest names the URL actually served
        yield base
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def browser(devcert):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package (pip install playwright; no browser download: it drives the system Chromium)")
    executable = chromium_path()
    with sync_playwright() as p:
        # trust exactly the generated certificate (its public key), nothing else;
        # Playwright starts Chromium with a fresh --user-data-dir
        b = p.chromium.launch(executable_path=executable, headless=True,
                              args=[*CHROMIUM_FLAGS, f"--ignore-certificate-errors-spki-list={devcert.spki_sha256}"])
        try:
            yield b
        finally:
            b.close()


class Pane:
    """The task pane in a page, with the stand-in workbook behind Office.js."""

    def __init__(self, browser, base: str, book: dict, fail_posts: bool = False, mangle_posts: bool = False,
                 url: str | None = None):
        self.base = base
        self.external: list[str] = []
        self.posts: list[dict] = []  # the request bodies the client sent to the server
        self.console: list[str] = []
        self.page = browser.new_page()
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        script = "globalThis.STANDIN_BOOK = " + json.dumps(book, ensure_ascii=False) + ";\n" + STANDIN.read_text(
            encoding="utf-8")

        def route(r):
            url = r.request.url
            if url.startswith(OFFICE_JS):
                r.fulfill(body=script, content_type="text/javascript; charset=utf-8")
            elif url.startswith(base + "/"):
                if fail_posts and "/xlwings/custom-scripts-call/" in url:
                    r.abort("connectionrefused")
                elif mangle_posts and "/xlwings/custom-scripts-call/" in url:
                    body = json.loads(r.request.post_data)
                    body.pop("sheets")
                    r.continue_(post_data=json.dumps(body))
                else:
                    if r.request.method == "POST":
                        self.posts.append(json.loads(r.request.post_data))
                    r.continue_()
            else:  # nothing else may come from outside the add-in server
                self.external.append(url)
                r.abort()

        self.page.route("**/*", route)
        self.page.goto(url or base + "/taskpane.html")
        if url is None:
            self.page.wait_for_selector("body[data-ready=true]", timeout=30000)
        else:
            self.page.wait_for_load_state("load")

    def click(self, label: str, timeout: float = 120000) -> str:
        """Click the button and wait for the pane to say it has finished (完成 or 失败)."""
        button = self.page.locator(f"button[data-action={ACTIONS[label]}]")
        assert button.inner_text().split()[0] == label
        button.click()
        self.page.wait_for_function(
            "(label) => { const t = document.getElementById('status').textContent;"
            " return t.startsWith(label + '完成') || t.startsWith(label + '失败'); }", arg=label, timeout=timeout)
        return self.status()

    def status(self) -> str:
        return self.page.inner_text("#status")

    def book(self) -> dict:
        return self.page.evaluate("globalThis.STANDIN_BOOK")

    def log(self) -> dict:
        return self.page.evaluate("globalThis.STANDIN_LOG")

    def close(self):
        self.page.close()


def sheet(book: dict, name: str) -> dict:
    return next(s for s in book["sheets"] if s["name"] == name)


def prompt_counts(prompt: str) -> tuple[int, int]:
    m = re.search(r"错误 (\d+) 项，警告 (\d+) 项", prompt)
    assert m, prompt
    return int(m.group(1)), int(m.group(2))


def expected_colours(payload: dict, action: str) -> dict[tuple[str, str], str]:
    """What xlwings' remote engine in Python returns for the same workbook: (sheet, cell) → colour."""
    from jixiao.addin.server import run_action

    acts = run_action(action, copy.deepcopy(payload))["actions"]
    names = [s["name"] for s in payload["sheets"]]
    out = {}
    for a in acts:
        if a["func"] == "setRangeColor":
            for i in range(a["row_count"]):
                for j in range(a["column_count"]):
                    cell = f"{get_column_letter(a['start_column'] + j + 1)}{a['start_row'] + i + 1}"
                    out[(names[a["sheet_position"]], cell)] = None if a["args"][0] is None else a["args"][0].upper()
    return out


# --------------------------------------------------------------------------- the tests

@pytest.fixture(scope="module")
def workbooks(tmp_path_factory):
    """The two samples and damaged variants of the Futian one, as files (from tests/test_addin.py)."""
    import test_addin as t
    from jixiao.data import load_data
    from jixiao.framework.loader import load_framework
    from jixiao.samples import sample_path
    from jixiao.workbook.generator import build_workbook

    fw = load_framework()
    data = {n: load_data(fw, sample_path(n)) for n in ("futian", "longgang")}
    built = build_workbook(fw, data["futian"])
    good = t._bytes(built)
    folder = tmp_path_factory.mktemp("browser")

    def where(ident):
        p = built.inputs.get(ident) or built.computed[ident]
        return p.sheet, p.coord

    out = {}
    for name, content in {
        "futian": good,
        "longgang": t._bytes(build_workbook(fw, data["longgang"])),
        "invalid_text": t.Parts(good).string(*where(t.COUNT), "十二"),
        "score_constant": t.Parts(good).number(*where(t.SCORE), 3),
    }.items():
        path = folder / f"{name}.xlsx"
        if isinstance(content, t.Parts):
            content.save(path)
        else:
            path.write_bytes(content)
        out[name] = path
    out["_score_cell"] = where(t.SCORE)
    return out


def _check_alert_page(browser, server: str, dialog: dict) -> None:
    """The dialog the client opened: this server's page, in Chinese, nothing from a CDN; its
    button answers the task pane as xlwings' protocol says ("ok|<callback>")."""
    page = Pane(browser, server, {"name": "x.xlsx", "sheets": [], "names": []}, url=dialog["url"])
    try:
        assert page.page.inner_text("h1") == dialog["title"]
        assert page.page.inner_text("#prompt") == dialog["prompt"]
        page.page.click("button#ok:has-text('确定')")
        page.page.wait_for_function("globalThis.STANDIN_LOG.messages.length > 0")
        assert page.log()["messages"] == ["ok|"]
        _clean(page)
    finally:
        page.close()


def _clean(pane: Pane) -> None:
    log = pane.log()
    assert pane.external == [], f"loaded from outside the add-in server: {pane.external}"
    # properties of the Excel API the client used and the stand-in lacks would make this test moot
    assert log["unknown"] == [], log["unknown"]


@pytest.mark.parametrize("name", ["futian", "longgang", "invalid_text", "score_constant"])
def test_task_pane_runs_the_three_actions(name, browser, server, workbooks):
    import test_addin as t

    path = workbooks[name]
    payload = t.payload_from_xlsx(path)
    by_file = check_file(path)
    pane = Pane(browser, server, standin_book(path))
    try:
        before = pane.book()
        sheets_before = [s["name"] for s in before["sheets"]]

        # 校验: a 校验结果 sheet after the last one, its rows written, links to the cells; the alert
        status = pane.click("校验")
        assert status == "校验完成。", (status, [c for c in pane.console if not c.startswith("log")])
        book, log = pane.book(), pane.log()
        assert [s["name"] for s in book["sheets"]] == [*sheets_before, RESULT_SHEET]
        result = sheet(book, RESULT_SHEET)
        assert result.get("added") and not result["protected"]
        texts = [v for row in result["values"] for v in (row or []) if isinstance(v, str)]
        assert any("校验结论" in v or "结论" in v for v in texts), texts[:20]
        assert len(result["hyperlinks"]) >= 1 and all(h["address"].startswith("#") for h in result["hyperlinks"].values())
        assert book["active"] == len(sheets_before)  # the result sheet is shown
        [dialog] = log["dialogs"]
        assert dialog["title"] == "绩效自评：校验" and dialog["url"].startswith(server + "/xlwings/alert?")
        errors = sum(1 for m in by_file.messages if m.level == ERROR)
        warnings = sum(1 for m in by_file.messages if m.level == WARNING and m.code not in t.BLIND)
        assert prompt_counts(dialog["prompt"]) == (errors, warnings)  # the verdict of jixiao check
        assert (errors == 0) == ("不通过" not in dialog["prompt"])
        if name == "futian":
            _check_alert_page(browser, server, dialog)
        # the add-in's other fills are exactly those the Python remote engine gives
        validate_fills = expected_colours(payload, "validate")
        for (sname, cell), colour in validate_fills.items():
            assert sheet(book, sname)["fills"].get(cell) == colour, (sname, cell)

        # 重算核对: the scores coloured as the remote engine in Python colours them, protection back
        status = pane.click("重算核对")
        assert status == "重算核对完成。", (status, pane.console)
        book, log = pane.book(), pane.log()
        recompute_fills = expected_colours(payload, "recompute")
        assert bool(recompute_fills) == (name != "invalid_text")  # recomputing waits for invalid inputs to be corrected
        for (sname, cell), colour in recompute_fills.items():
            assert sheet(book, sname)["fills"].get(cell) == colour, (sname, cell, colour)
        for sname in {s for s, _ in recompute_fills}:
            s = sheet(book, sname)
            assert s["protected"] == sheet(before, sname)["protected"]
        assert log["dialogs"][-1]["title"] == "绩效自评：重算核对"
        if name == "score_constant":
            score_sheet, score_cell = workbooks["_score_cell"]
            assert "不一致" in log["dialogs"][-1]["prompt"]
            assert sheet(book, score_sheet)["fills"][score_cell] == recompute_fills[(score_sheet, score_cell)]

        # 定稿: two rows at the end of _jixiao (digest, time) or refused while errors remain
        meta_before = len([r for r in sheet(before, META_SHEET)["values"] if any(v != "" for v in r)])
        status = pane.click("定稿")
        assert status == "定稿完成。", (status, pane.console)
        book, log = pane.book(), pane.log()
        meta = sheet(book, META_SHEET)
        rows = [r for r in meta["values"] if r and any(v not in ("", None) for v in r)]
        from jixiao.addin import actions

        if errors:
            assert log["dialogs"][-1]["prompt"].startswith("未定稿") and len(rows) == meta_before
        else:
            assert log["dialogs"][-1]["prompt"].startswith("已定稿")
            assert rows[-2][:2] == [actions.FINALISED_DIGEST, actions.input_digest(by_file.inputs)]
            assert rows[-1][0] == actions.FINALISED_AT and re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", rows[-1][1])
            assert meta["protected"] == sheet(before, META_SHEET)["protected"]
        _clean(pane)
    finally:
        pane.close()


def test_a_failing_action_is_reported_in_chinese(browser, server, workbooks):
    """评分表 protected with a password (not the template's way): Excel refuses to unprotect it, the
    client stops at that action, and the pane says which step failed and why, never 完成."""
    path = workbooks["score_constant"]
    score_sheet, _ = workbooks["_score_cell"]
    pane = Pane(browser, server, standin_book(path, password={score_sheet: "secret"}))
    try:
        status = pane.click("重算核对")
        assert status.startswith("重算核对失败：") and "完成" not in status, status
        assert "Excel 未能执行服务器返回的第 1 步操作（取消或恢复工作表保护" in status
        assert f"工作表“{score_sheet}”的保护无法取消" in status
        book = pane.book()
        assert sheet(book, score_sheet)["fills"] == {} and sheet(book, score_sheet)["protected"]
        assert pane.page.eval_on_selector("#status", "e => e.classList.contains('failed')")
        assert pane.log()["dialogs"] == []  # no English error dialog
        # the pane recovers: 校验 still works on the same workbook
        assert pane.click("校验") == "校验完成。"
        _clean(pane)
    finally:
        pane.close()


def test_an_unreachable_server_is_reported_in_chinese(browser, server, workbooks):
    pane = Pane(browser, server, standin_book(workbooks["futian"]), fail_posts=True)
    try:
        status = pane.click("校验")
        assert status == "校验失败：服务器无响应（网络中断、服务器未运行，或证书不受信任）", status
        assert RESULT_SHEET not in [s["name"] for s in pane.book()["sheets"]]
        _clean(pane)
    finally:
        pane.close()


def test_a_server_error_is_reported_in_chinese(browser, server, workbooks):
    """The server's own message reaches the pane: here the request loses its sheets on the way
    (as from a client of another version), the server refuses it with a Chinese reason."""
    pane = Pane(browser, server, standin_book(workbooks["futian"]), mangle_posts=True)
    try:
        status = pane.click("校验")
        assert status.startswith("校验失败：服务器未能校验：请求内容不是 xlwings 客户端发送的工作簿内容"), status
        assert "缺少字段 sheets" in status
        assert RESULT_SHEET not in [s["name"] for s in pane.book()["sheets"]]
        _clean(pane)
    finally:
        pane.close()


def _shape(value, sample):
    """`sample`'s keys (recursively, first list item as the pattern) that `value` lacks."""
    missing = []
    if isinstance(sample, dict):
        for key, sub in sample.items():
            if key not in value:
                missing.append(key)
            else:
                missing += [f"{key}.{m}" for m in _shape(value[key], sub)]
    elif isinstance(sample, list) and sample and isinstance(sample[0], dict) and value:
        missing += _shape(value[0], sample[0])
    return missing


def test_the_real_client_sends_what_the_python_tests_send(browser, server, workbooks):
    """tests/test_addin.py builds payloads by hand (payload_from_xlsx); the real client's request
    for the same workbook has every field they have and the same sheet values and names."""
    import test_addin as t

    path = workbooks["futian"]
    by_hand = t.payload_from_xlsx(path)
    book = standin_book(path)
    book["name"] = "福田区政务服务中心2021年度绩效自评 (1).xlsx"  # as Windows names a second download
    pane = Pane(browser, server, book)
    try:
        assert pane.click("校验") == "校验完成。"
        [sent] = pane.posts
        assert sent["book"]["name"] == book["name"]
        by_hand["book"]["name"] = book["name"]
        assert sent["client"] == "Office.js" and sent["version"] == by_hand["version"]
        assert _shape(sent, by_hand) == []
        assert [s["name"] for s in sent["sheets"]] == [s["name"] for s in by_hand["sheets"]]
        for real, hand in zip(sent["sheets"], by_hand["sheets"]):
            width = max((len(r) for r in real["values"]), default=0)
            trimmed = [row[:width] for row in hand["values"][:len(real["values"])]]
            assert real["values"] == trimmed, real["name"]
            assert all(v == "" for row in hand["values"][len(real["values"]):] for v in row)
        key = lambda n: (n["name"], n["sheet_index"], n["address"].replace("$", ""))  # noqa: E731
        assert sorted(map(key, sent["names"])) == sorted(map(key, by_hand["names"]))
        # and the remote engine answers both with the same actions
        from jixiao.addin.server import run_action

        # one 校验时间 for both answers: two calls may fall either side of a second
        with mock.patch.object(addin_actions, "_stamp", lambda now=None: "2022-03-31 17:30:00+08:00"):
            for action in ("validate", "recompute"):
                real = run_action(action, copy.deepcopy(sent))["actions"]
                hand = run_action(action, copy.deepcopy(by_hand))["actions"]
                assert real == hand, action
        _clean(pane)
    finally:
        pane.close()


def test_ribbon_buttons_run_the_same_actions(browser, server, workbooks):
    """manifest.xml's ExecuteFunction buttons: the functions the page associates with Office."""
    pane = Pane(browser, server, standin_book(workbooks["invalid_text"]))
    try:
        assert pane.log()["associated"] == ["jixiao-validate", "jixiao-recompute", "jixiao-finalise"]
        pane.page.evaluate("new Promise((done) => globalThis.STANDIN_RIBBON['jixiao-validate']({ completed: done }))")
        assert pane.status() == "校验完成。"
        assert RESULT_SHEET in [s["name"] for s in pane.book()["sheets"]]
        assert pane.log()["dialogs"][-1]["prompt"].startswith("校验结论：不通过")
        pane.page.evaluate("new Promise((done) => globalThis.STANDIN_RIBBON['jixiao-finalise']({ completed: done }))")
        assert pane.log()["dialogs"][-1]["prompt"].startswith("未定稿")
        _clean(pane)
    finally:
        pane.close()


def test_with_ci_set_a_missing_browser_fails_instead_of_skipping(monkeypatch):
    import test_addin_browser as me

    monkeypatch.setattr(me, "CI", True)
    monkeypatch.setattr(me.shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="Chromium"):
        me.chromium_path()
    monkeypatch.setattr(me, "CI", False)
    with pytest.raises(pytest.skip.Exception):
        me.chromium_path()


def test_the_stand_in_logs_what_it_lacks_and_refuses_what_excel_refuses(browser, server, workbooks):
    """The checks above rely on these: an Excel API the stand-in lacks is logged (so `_clean` would
    catch the client using one), and a protected sheet refuses a fill at sync, as Excel does."""
    pane = Pane(browser, server, standin_book(workbooks["futian"]))
    try:
        pane.page.evaluate("Excel.run(async (context) => context.workbook.worksheets.getItem('评分表').freezePanes)")
        assert pane.log()["unknown"] == ["Worksheet.freezePanes"]
        refused = pane.page.evaluate("""Excel.run(async (context) => {
            context.workbook.worksheets.getItem('评分表').getRange('I8').format.fill.color = '#FF0000';
            try { await context.sync(); return null; } catch (e) { return e.code; }
        })""")
        assert refused == "AccessDenied" and sheet(pane.book(), "评分表")["fills"] == {}
    finally:
        pane.close()
