"""Where xlwings' JavaScript client for Office.js comes from: the installed ``xlwings-server``
distribution (the client left the xlwings package after 0.33; xlwings-server ships it as ES
modules under ``xlwings_server/static/js``).  The add-in server serves those files itself, so
the task pane loads nothing from a CDN except Office.js.

The directory is found through the distribution's file list, without importing
``xlwings_server`` (its import reads server settings this app does not use).  The pinned range
is the one the browser test runs against (tests/test_addin_browser.py); pyproject.toml's addin
extra says the same."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

DISTRIBUTION = "xlwings-server"
TESTED = ((1, 20), (1, 21))  # >=1.20,<1.21
ENTRY = "custom-scripts/index.js"  # defines globalThis.xlwings (runPython, registerCallback, …)


class ClientMissing(RuntimeError):
    pass


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def client_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise ClientMissing(f"未安装 {DISTRIBUTION}（xlwings 的 JavaScript 客户端随它发布）："
                            f"pip install \"jixiao[server]\"") from None


def client_dir() -> Path:
    """The folder holding the client's modules (…/xlwings_server/static/js)."""
    version = client_version()
    low, high = TESTED
    if not (low <= _version_tuple(version)[:2] < high):
        raise ClientMissing(f"{DISTRIBUTION} {version} 未经测试：服务器加载项使用 {DISTRIBUTION} "
                            f">={'.'.join(map(str, low))},<{'.'.join(map(str, high))} 中的 JavaScript 客户端"
                            f"（pip install \"jixiao[server]\"）")
    dist = metadata.distribution(DISTRIBUTION)
    entry = next((f for f in dist.files or () if str(f).replace("\\", "/").endswith("static/js/" + ENTRY)), None)
    if entry is None:
        raise ClientMissing(f"{DISTRIBUTION} {version} 中找不到 JavaScript 客户端 static/js/{ENTRY}")
    path = Path(dist.locate_file(entry)).resolve()
    if not path.is_file():
        raise ClientMissing(f"{DISTRIBUTION} {version} 的文件 {path} 不存在：请重新安装 {DISTRIBUTION}")
    return path.parent.parent


__all__ = ["ClientMissing", "client_dir", "client_version"]
