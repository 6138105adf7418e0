"""The server route: an xlwings Server app (FastAPI) for units without a local Python or on Excel
for the web.  The Office.js task pane (static/taskpane.html, loaded through static/manifest.xml)
runs xlwings' JavaScript client, served by this app itself from the installed ``xlwings-server``
distribution (`jixiao.addin.client`): ``xlwings.runPython({scriptName: "validate"})`` posts the
workbook's content (sheet values, names, active sheet: the xlwings Server payload) to
``/xlwings/custom-scripts-call/validate``; this app builds ``xlwings.Book(json=payload)``, runs
the same add-in function as the desktop route (`jixiao.addin.actions`) and returns
``book.json()``, the actions the client then carries out in Excel (values written, cells
coloured, a sheet added, an alert).

xlwings' server parts are dual-licensed, PolyForm Noncommercial 1.0.0 or a commercial licence:
`create_app` refuses to start without XLWINGS_LICENSE_KEY (see addin/README.md)."""

from __future__ import annotations

import json
import struct
import threading
import zlib
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from jixiao.addin.book_view import ensure_remote_engine, open_payload

DEFAULT_BASE_URL = "https://localhost:8000"  # the URL written in static/manifest.xml
STATIC = Path(__file__).resolve().parent / "static"  # package data: manifest, task pane, its script
CLIENT_PATH = "/xlwings-client"  # where the xlwings JavaScript client is served
CONFIG_PLACEHOLDER = "JIXIAO_CLIENT_CONFIG"  # in static/taskpane.html
CLIENT_PLACEHOLDER = "JIXIAO_CLIENT_PATH"
ACTIONS = ("validate", "recompute", "finalise")
LABELS = {"validate": "校验", "recompute": "重算核对", "finalise": "定稿"}
ICON_SIZES = (16, 32, 64, 80)
ICON_RGB = (0x2F, 0x55, 0x97)  # the blue of the template's headers, darker
REQUEST_TIMEOUT = 300  # seconds the client waits for an action

# xlwings' remote engine sends alerts and macro calls to its *active* book: one request at a time
_ONE_AT_A_TIME = threading.Lock()

MISSING = ("服务器加载项需要 fastapi 和 uvicorn：pip install \"jixiao[server]\"")


def manifest_xml(base_url: str = DEFAULT_BASE_URL) -> str:
    """static/manifest.xml with every URL pointing at `base_url`."""
    base = _check_base_url(base_url)
    return (STATIC / "manifest.xml").read_text(encoding="utf-8").replace(DEFAULT_BASE_URL, base)


def client_config() -> dict[str, Any]:
    """The JSON the xlwings client reads from the task pane's <script id="config">: a plain
    xlwings Server (no Wasm, no Entra ID), requests to this origin."""
    import xlwings

    return {"appPath": "", "xlwingsVersion": xlwings.__version__, "requestTimeout": REQUEST_TIMEOUT,
            "onWasm": False, "isOfficialLiteAddin": False, "environment": "prod", "authProviders": [],
            "selfRequestsOnly": True, "allowEval": False}


def taskpane_html() -> str:
    # "</" cannot occur in the JSON (no such values), so it is safe inside <script>
    config = json.dumps(client_config(), ensure_ascii=False)
    return ((STATIC / "taskpane.html").read_text(encoding="utf-8")
            .replace(CONFIG_PLACEHOLDER, config).replace(CLIENT_PLACEHOLDER, CLIENT_PATH))


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


class PayloadError(ValueError):
    """A request body that is not an xlwings client's workbook payload."""


def _check_payload(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise PayloadError(f"应为 JSON 对象，收到 {type(data).__name__}")
    missing = [key for key in ("book", "sheets", "names") if key not in data]
    if missing:
        raise PayloadError(f"缺少字段 {'、'.join(missing)}（xlwings 客户端发送的工作簿内容应有 book、sheets、names）")
    if not isinstance(data["sheets"], list) or not all(isinstance(s, dict) and "name" in s and "values" in s
                                                        for s in data["sheets"]):
        raise PayloadError("sheets 应为工作表列表，每个工作表有 name 和 values")
    return data


def create_app(base_url: str = DEFAULT_BASE_URL, frameworks: Iterable[Any] = ()):
    """The FastAPI app: POST /xlwings/custom-scripts-call/{validate,recompute,finalise} (what
    the xlwings client's runPython calls; also /validate etc.): xlwings payload in, actions out;
    GET /taskpane.html, /taskpane.js, /manifest.xml (with `base_url`), /icons/icon-N.png,
    /xlwings/alert (xlwings' alert dialog), /xlwings-client/… (the xlwings JavaScript client)."""
    try:
        from fastapi import FastAPI, Request
        from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, \
            RedirectResponse, Response
        from fastapi.staticfiles import StaticFiles
    except ImportError as exc:
        raise RuntimeError(MISSING) from exc
    from jixiao.addin.client import client_dir

    ensure_remote_engine()  # fails without a licence key, before anything is served
    js = client_dir()  # fails (in Chinese) without the pinned xlwings-server
    base = _check_base_url(base_url)
    frameworks = list(frameworks)
    manifest = manifest_xml(base)
    taskpane = taskpane_html()

    app = FastAPI(title="jixiao 绩效自评 加载项", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount(CLIENT_PATH, StaticFiles(directory=str(js)), name="xlwings-client")

    @app.get("/")
    def root():
        return RedirectResponse("/taskpane.html")

    @app.get("/health")
    def health():
        from jixiao import __version__

        return {"status": "ok", "app": "jixiao-addin", "version": __version__, "actions": list(ACTIONS),
                "base_url": base}

    @app.get("/taskpane.html", response_class=HTMLResponse)
    def get_taskpane():
        return HTMLResponse(taskpane, headers={"Cache-Control": "no-store"})

    @app.get("/taskpane.js")
    def get_taskpane_js():
        return FileResponse(STATIC / "taskpane.js", media_type="text/javascript; charset=utf-8",
                            headers={"Cache-Control": "no-store"})

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
        """The dialog page of book.app.alert() (xlwings' client opens it with displayDialogAsync)."""
        return HTMLResponse(_alert_template().render(prompt=prompt, title=title, buttons=buttons, mode=mode,
                                                     callback=callback))

    @app.get("/xlwings/custom-scripts-meta.json")
    def scripts_meta():
        # the client asks at start-up which scripts exist (and their sheet buttons: none)
        return [{"function_name": name, "include": "", "exclude": "", "lazy": False} for name in ACTIONS]

    def endpoint(name: str):
        async def handler(request: Request):
            label = LABELS[name]
            try:
                payload = _check_payload(await request.json())
            except (ValueError, PayloadError) as exc:
                return JSONResponse({"detail": f"服务器未能{label}：请求内容不是 xlwings 客户端发送的工作簿内容（{exc}）"},
                                    status_code=400)
            try:
                import anyio

                return await anyio.to_thread.run_sync(run_action, name, payload, frameworks)
            except Exception as exc:  # noqa: BLE001 - every failure goes back to the task pane in Chinese
                return JSONResponse({"detail": f"服务器未能{label}：{type(exc).__name__}: {exc}"}, status_code=500)

        handler.__name__ = name
        handler.__annotations__ = {"request": Request}  # a real class: this module's annotations are strings
        return handler

    for name in ACTIONS:
        app.post(f"/xlwings/custom-scripts-call/{name}")(endpoint(name))
        app.post(f"/{name}")(endpoint(name))

    return app


def serve(host: str = "127.0.0.1", port: int = 8000, base_url: str | None = None, certfile: str | None = None,
          keyfile: str | None = None, echo=print) -> None:
    """Run the app with uvicorn: https when a certificate is given (Office requires https)."""
    try:
        import uvicorn
    except ImportError as exc:
        raise RuntimeError(MISSING) from exc
    if bool(certfile) != bool(keyfile):
        raise ValueError("--cert 和 --key 须同时给出（证书文件和私钥文件）")
    for label, path in (("证书", certfile), ("私钥", keyfile)):
        if path and not Path(path).is_file():
            raise ValueError(f"找不到{label}文件：{path}（可用 jixiao addin cert 生成本机开发证书）")
    scheme = "https" if certfile else "http"
    base = base_url or served_url(scheme, host, port)
    app = create_app(base)
    echo(f"绩效自评 服务器加载项：{base}/taskpane.html ，清单 {base}/manifest.xml（在 Excel 中旁加载此清单）")
    if scheme == "http":
        echo("注意：未提供证书，服务器以 http 运行；Excel 只加载 https 的加载项：请用 --cert/--key 提供证书"
             "（开发时可用 jixiao addin cert 生成）")
    uvicorn.run(app, host=host, port=port, ssl_certfile=certfile, ssl_keyfile=keyfile, log_level="warning")


def served_url(scheme: str, host: str, port: int) -> str:
    """The URL the server is reached at (and written into the manifest)."""
    name = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::", "localhost", "") else host
    return f"{scheme}://{name}:{port}"


@lru_cache(maxsize=1)
def _alert_template():
    import jinja2

    # jixiao's own page (xlwings' loads its style sheet from a CDN), in Chinese
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(STATIC)), autoescape=True)
    return env.get_template("alert.html")


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


__all__ = ["create_app", "manifest_xml", "run_action", "serve", "served_url", "taskpane_html"]
