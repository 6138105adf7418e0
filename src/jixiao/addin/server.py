"""The server route: an xlwings Server app (FastAPI) for units without a local Python or on Excel
for the web.  The Office.js task pane (addin/taskpane.html, loaded through addin/manifest.xml)
calls ``xlwings.runPython(origin + "/validate")`` and so on: xlwings' JavaScript client posts
the workbook's content (sheet values, names, active sheet: the xlwings Server payload), this app
builds ``xlwings.Book(json=payload)``, runs the same add-in function as the desktop route
(`jixiao.addin.actions`) and returns ``book.json()``, the actions the client then carries out in
Excel (values written, cells coloured, a sheet added, an alert).

xlwings' server parts are dual-licensed, PolyForm Noncommercial 1.0.0 or a commercial licence:
`create_app` refuses to start without XLWINGS_LICENSE_KEY (see addin/README.md)."""

from __future__ import annotations

import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from jixiao.addin.book_view import ensure_remote_engine, open_payload

DEFAULT_BASE_URL = "https://localhost:8000"  # the URL written in addin/manifest.xml
ADDIN_DIR_ENV = "JIXIAO_ADDIN_DIR"
XLWINGS_JS_ENV = "JIXIAO_XLWINGS_JS"
XLWINGS_JS_PLACEHOLDER = "XLWINGS_JS_URL"  # in addin/taskpane.html
ACTIONS = ("validate", "recompute", "finalise")
ICON_SIZES = (16, 32, 64, 80)
ICON_RGB = (0x2F, 0x55, 0x97)  # the blue of the template's headers, darker

# xlwings' remote engine sends alerts and macro calls to its *active* book: one request at a time
_ONE_AT_A_TIME = threading.Lock()

MISSING = ("服务器加载项需要 fastapi 和 uvicorn（pip install fastapi uvicorn）。"
           " / The server add-in needs fastapi and uvicorn: pip install fastapi uvicorn")


def addin_dir() -> Path:
    """Where manifest.xml and taskpane.html are: $JIXIAO_ADDIN_DIR, else the source tree's addin/."""
    env = os.environ.get(ADDIN_DIR_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[3] / "addin"


def xlwings_js_url() -> str:
    """xlwings' JavaScript client for the task pane: $JIXIAO_XLWINGS_JS, else the CDN copy of the
    installed xlwings version (as xlwings' Office.js documentation loads it)."""
    import xlwings

    return os.environ.get(XLWINGS_JS_ENV) or (
        f"https://cdn.jsdelivr.net/gh/xlwings/xlwings@{xlwings.__version__}/xlwingsjs/dist/xlwings.min.js")


def manifest_xml(base_url: str = DEFAULT_BASE_URL, folder: Path | None = None) -> str:
    """addin/manifest.xml with every URL pointing at `base_url`."""
    base = _check_base_url(base_url)
    return ((folder or addin_dir()) / "manifest.xml").read_text(encoding="utf-8").replace(DEFAULT_BASE_URL, base)


def taskpane_html(folder: Path | None = None, xlwings_js: str | None = None) -> str:
    return ((folder or addin_dir()) / "taskpane.html").read_text(encoding="utf-8").replace(
        XLWINGS_JS_PLACEHOLDER, xlwings_js or xlwings_js_url())


def _check_base_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    if not base.startswith(("https://", "http://")) or any(c in base for c in "\"'<>& "):
        raise ValueError(f"基础网址应为 https://主机:端口 形式：{base_url!r}")
    return base


def run_action(name: str, payload: dict[str, Any], frameworks: Iterable[Any] = ()) -> dict[str, Any]:
    """One request: the payload's Book, the add-in function, the actions for the client."""
    from jixiao.addin import actions

    function: Callable[..., Any] = {"validate": actions.validate, "recompute": actions.recompute,
                                    "finalise": actions.finalise}[name]
    with _ONE_AT_A_TIME, open_payload(payload) as book:
        function(book, list(frameworks))
        return book.json()


def create_app(base_url: str = DEFAULT_BASE_URL, folder: str | Path | None = None, xlwings_js: str | None = None,
               frameworks: Iterable[Any] = ()):
    """The FastAPI app: POST /validate, /recompute, /finalise (xlwings payload in, actions out);
    GET /taskpane.html, /manifest.xml, /icons/icon-N.png, /xlwings/alert (xlwings' alert dialog)."""
    try:
        from fastapi import Body, FastAPI, Request
        from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
    except ImportError as exc:
        raise RuntimeError(MISSING) from exc
    ensure_remote_engine()  # fails without a licence key, before anything is served
    folder = Path(folder) if folder is not None else addin_dir()
    base = _check_base_url(base_url)
    frameworks = list(frameworks)
    try:
        manifest = manifest_xml(base, folder)
        taskpane = taskpane_html(folder, xlwings_js)
    except FileNotFoundError as exc:
        raise RuntimeError(f"找不到加载项文件（{exc.filename}）：请在 jixiao 源码目录运行，"
                           f"或用环境变量 {ADDIN_DIR_ENV} 指定 addin 文件夹") from None

    app = FastAPI(title="jixiao 绩效自评 加载项", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/")
    def root():
        return RedirectResponse("/taskpane.html")

    @app.get("/health")
    def health():
        from jixiao import __version__

        return {"status": "ok", "app": "jixiao-addin", "version": __version__, "actions": list(ACTIONS)}

    @app.get("/taskpane.html", response_class=HTMLResponse)
    def get_taskpane():
        return HTMLResponse(taskpane, headers={"Cache-Control": "no-store"})

    @app.get("/manifest.xml")
    def get_manifest():
        return Response(manifest, media_type="application/xml; charset=utf-8")

    @app.get("/icons/icon-{size}.png")
    def icon(size: int):
        if size not in ICON_SIZES:
            return PlainTextResponse("not found", status_code=404)
        return Response(_png(size), media_type="image/png")

    @app.get("/xlwings/alert", response_class=HTMLResponse)
    def alert(prompt: str = "", title: str = "", buttons: str = "ok", mode: str = "", callback: str = ""):
        """Required by book.app.alert() and xlwings' error display (its alert dialog page)."""
        return HTMLResponse(_alert_template().render(prompt=prompt, title=title, buttons=buttons, mode=mode,
                                                     callback=callback))

    def endpoint(name: str):
        def handler(data: dict = Body(...)):  # noqa: B008 - FastAPI's way of taking the raw JSON body
            return run_action(name, data, frameworks)

        handler.__name__ = name
        return handler

    for name in ACTIONS:
        app.post(f"/{name}")(endpoint(name))

    @app.exception_handler(Exception)
    async def errors(request: Request, exc: Exception):
        # xlwings' client shows the response text of a failed call in its alert dialog
        return PlainTextResponse(f"{type(exc).__name__}: {exc}", status_code=500)

    return app


def serve(host: str = "127.0.0.1", port: int = 8000, base_url: str | None = None, certfile: str | None = None,
          keyfile: str | None = None, folder: str | None = None, echo=print) -> None:
    """Run the app with uvicorn (https when a certificate is given: Office requires https)."""
    try:
        import uvicorn
    except ImportError as exc:
        raise RuntimeError(MISSING) from exc
    scheme = "https" if certfile else "http"
    base = base_url or f"{scheme}://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}"
    app = create_app(base, folder)
    echo(f"绩效自评 服务器加载项：{base}/taskpane.html ，清单 {base}/manifest.xml（在 Excel 中旁加载此清单）")
    if scheme == "http":
        echo("注意：Excel 只加载 https 的加载项：请用 --certfile/--keyfile 提供证书（开发时可用 mkcert 生成 localhost 证书）")
    uvicorn.run(app, host=host, port=port, ssl_certfile=certfile, ssl_keyfile=keyfile)


@lru_cache(maxsize=1)
def _alert_template():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("xlwings", "html"), autoescape=True)
    return env.get_template("xlwings-alert.html")


@lru_cache(maxsize=len(ICON_SIZES))
def _png(size: int) -> bytes:
    """A plain square icon (the manifest requires icons; no binary files in the repository)."""
    r, g, b = ICON_RGB
    row = b"\x00" + bytes((r, g, b)) * size
    raw = row * size

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


__all__ = ["create_app", "manifest_xml", "run_action", "serve", "taskpane_html"]
