"""Installing the add-in as a user would: the package built as a wheel and installed into a fresh
virtual environment serves the add-in from its package data (no source tree); ``jixiao addin
cert`` makes a certificate a TLS client accepts for localhost; ``jixiao addin serve`` takes
--host/--port/--cert/--key and writes the URL it serves into the manifest; the desktop add-in
installs into and is removed from the Windows (XLSTART) and macOS start-up folders of a fake
home folder, and the installed file's ribbon callback and VBA modules are checked by name in
its VBA project (an OLE compound file, read with olefile; module source decompressed as
MS-OVBA specifies)."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import ssl
import subprocess
import sys
import urllib.request
import venv
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")  # PolyForm Noncommercial: testing

from jixiao.addin.desktop import ADDIN_FILE, RIBBON_MACRO, install, remove, standard_startup_dir  # noqa: E402
from jixiao.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- jixiao addin cert

def test_cert_command_makes_a_certificate_for_localhost(tmp_path):
    from cryptography import x509

    result = CliRunner().invoke(main, ["addin", "cert", "--out", str(tmp_path), "--host", "jixiao.czj.example"])
    assert result.exit_code == 0, result.output
    cert_path, key_path = tmp_path / "jixiao-addin-cert.pem", tmp_path / "jixiao-addin-key.pem"
    assert "已生成证书" in result.output and "SHA-256 指纹" in result.output and "addin/README.md" in result.output
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"localhost", "jixiao.czj.example"}
    assert set(san.get_values_for_type(x509.IPAddress)) == {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca  # can be trusted as a root
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 825  # macOS' limit
    if os.name == "posix":
        assert key_path.stat().st_mode & 0o077 == 0  # the key readable by its owner only
    # a TLS client that trusts this certificate accepts a server presenting it as localhost
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert_path, key_path)
    client_side = ssl.create_default_context(cafile=str(cert_path))
    assert client_side.check_hostname and client_side.verify_mode == ssl.CERT_REQUIRED
    # never overwrites silently
    again = CliRunner().invoke(main, ["addin", "cert", "--out", str(tmp_path)])
    assert again.exit_code == 1 and "不覆盖" in again.output and "--force" in again.output
    assert CliRunner().invoke(main, ["addin", "cert", "--out", str(tmp_path), "--force"]).exit_code == 0
    bad = CliRunner().invoke(main, ["addin", "cert", "--out", str(tmp_path / "x"), "--days", "3650"])
    assert bad.exit_code == 1 and "825" in bad.output and "Traceback" not in bad.output


# --------------------------------------------------------------------------- jixiao addin serve options

@pytest.fixture()
def fake_uvicorn(monkeypatch):
    import uvicorn

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    return seen


def _manifest(app) -> str:
    from fastapi.testclient import TestClient

    return TestClient(app).get("/manifest.xml").text


def test_serve_writes_the_served_url_into_the_manifest(tmp_path, fake_uvicorn):
    from jixiao.addin.devcert import create

    made = create(tmp_path)
    result = CliRunner().invoke(main, ["addin", "serve", "--host", "0.0.0.0", "--port", "8443",
                                       "--cert", str(made.cert), "--key", str(made.key)])
    assert result.exit_code == 0, result.output
    assert fake_uvicorn["ssl_certfile"] == str(made.cert) and fake_uvicorn["ssl_keyfile"] == str(made.key)
    assert fake_uvicorn["host"] == "0.0.0.0" and fake_uvicorn["port"] == 8443
    assert "https://localhost:8443/manifest.xml" in result.output
    assert "https://localhost:8443/taskpane.html" in _manifest(fake_uvicorn["app"])

    plain = CliRunner().invoke(main, ["addin", "serve", "--host", "10.1.2.3", "--port", "8001"])
    assert plain.exit_code == 0, plain.output
    assert "http://10.1.2.3:8001/manifest.xml" in plain.output and "Excel 只加载 https" in plain.output
    manifest = _manifest(fake_uvicorn["app"])
    assert "http://10.1.2.3:8001/taskpane.html" in manifest and "https://localhost:8000" not in manifest


@pytest.mark.parametrize("args, message", [
    (["--cert", "c.pem"], "--cert 和 --key 须同时给出"),
    (["--cert", "nowhere.pem", "--key", "nowhere-key.pem"], "找不到证书文件：nowhere.pem"),
])
def test_serve_refuses_bad_certificate_options(args, message, fake_uvicorn):
    result = CliRunner().invoke(main, ["addin", "serve", *args])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert "app" not in fake_uvicorn


def test_serve_without_the_client_package_says_so(monkeypatch):
    from importlib import metadata

    from jixiao.addin import client

    real = metadata.version
    monkeypatch.setattr(client.metadata, "version",
                        lambda name: (_ for _ in ()).throw(metadata.PackageNotFoundError(name))
                        if name == client.DISTRIBUTION else real(name))
    result = CliRunner().invoke(main, ["addin", "serve"])
    assert result.exit_code == 1 and "未安装 xlwings-server" in result.output
    monkeypatch.setattr(client.metadata, "version", lambda name: "1.21.0" if name == client.DISTRIBUTION else real(name))
    result = CliRunner().invoke(main, ["addin", "serve"])
    assert result.exit_code == 1 and "xlwings-server 1.21.0 未经测试" in result.output and ">=1.20,<1.21" in result.output


def test_the_pin_in_pyproject_is_the_one_checked_at_start_up():
    import tomllib

    from jixiao.addin import client

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    low, high = client.TESTED
    assert f"xlwings-server>={low[0]}.{low[1]},<{high[0]}.{high[1]}" in extra["server"]
    assert "xlwings>=0.37.8,<0.38" in extra["server"] and any(d.startswith("cryptography") for d in extra["server"])
    # the desktop add-in needs xlwings only: no web server on an accountant's PC
    assert extra["addin"] == ["xlwings>=0.37.8,<0.38"]
    import xlwings

    assert xlwings.__version__.startswith("0.37.")  # the Python side the tests ran on


# --------------------------------------------------------------------------- a wheel in a fresh venv

@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The package built as a wheel from a copy of the source (no build files left in the tree)."""
    tree = tmp_path_factory.mktemp("tree")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), str(tree)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    [built] = out.glob("jixiao-*.whl")
    return built


def test_wheel_holds_the_addin_files(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for name in ("manifest.xml", "taskpane.html", "taskpane.js", "alert.html"):
        assert f"jixiao/addin/static/{name}" in names, name
    with zipfile.ZipFile(wheel) as zf:
        ET.fromstring(zf.read("jixiao/addin/static/manifest.xml"))


def test_server_runs_from_a_wheel_in_a_fresh_virtualenv(wheel, tmp_path):
    """The installed package, started from a folder with no source tree, serves the task pane,
    the manifest and the xlwings client over https with a certificate it generated itself."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)  # dependencies: already installed
    python = env_dir / ("Scripts" if os.name == "nt" else "bin") / ("python.exe" if os.name == "nt" else "python")
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "JIXIAO_ADDIN_DIR")}
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                           "--no-index", "-q", str(wheel)], capture_output=True, text=True, env=clean_env)
    if done.returncode != 0 and "no such option: --python" in done.stderr:  # pip < 22.3
        done = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
                              capture_output=True, text=True, env=clean_env)
    assert done.returncode == 0, done.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([str(python), "-c", "import jixiao.addin.server as s; print(s.__file__)"],
                           capture_output=True, text=True, cwd=elsewhere, env=clean_env, check=True).stdout.strip()
    assert Path(where).resolve().is_relative_to(env_dir.resolve()), where  # the wheel's copy, not the source
    jixiao = [str(python), "-m", "jixiao.cli"]
    made = subprocess.run([*jixiao, "addin", "cert", "--out", str(tmp_path / "cert")], capture_output=True,
                          text=True, cwd=elsewhere, env=clean_env)
    assert made.returncode == 0, made.stderr
    cert, key = tmp_path / "cert" / "jixiao-addin-cert.pem", tmp_path / "cert" / "jixiao-addin-key.pem"

    from test_addin_browser import _free_port, start_server, stop, wait_for_https

    port = _free_port()
    proc = subprocess.Popen([*jixiao, "addin", "serve", "--port", str(port), "--cert", str(cert), "--key", str(key)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=elsewhere,
                            env={**clean_env, "XLWINGS_LICENSE_KEY": "noncommercial"})
    assert start_server  # (same start-up as the browser test, here from the venv and another folder)
    try:
        base = f"https://localhost:{port}"
        assert wait_for_https(base + "/health", cert, proc)["base_url"] == base
        context = ssl.create_default_context(cafile=str(cert))

        def get(path: str) -> tuple[str, bytes]:
            with urllib.request.urlopen(base + path, context=context, timeout=10) as response:
                return response.headers.get("content-type", ""), response.read()

        kind, page = get("/taskpane.html")
        assert "text/html" in kind and "校验".encode() in page and b"/xlwings-client/custom-scripts/index.js" in page
        kind, manifest = get("/manifest.xml")
        assert f"{base}/taskpane.html".encode() in manifest
        kind, client = get("/xlwings-client/custom-scripts/index.js")
        assert "javascript" in kind and b"export async function runPython" in client
        kind, script = get("/taskpane.js")
        assert "javascript" in kind and "describeFailure".encode() in script
        request = urllib.request.Request(base + "/xlwings/custom-scripts-call/validate", data=b"{}", method="POST",
                                         headers={"content-type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, context=context, timeout=10)
        assert refused.value.code == 400 and "缺少字段" in json.loads(refused.value.read())["detail"]
    finally:
        stop(proc)


# --------------------------------------------------------------------------- desktop: fake home folders

def _ole_streams(data: bytes) -> dict[str, bytes]:
    import io

    import olefile

    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        return {"/".join(path): ole.openstream(path).read() for path in ole.listdir()}


def _ovba_decompress(data: bytes) -> bytes:
    """MS-OVBA 2.4.1 decompression (the VBA source in a module stream)."""
    assert data[0] == 1, "not a compressed container"
    out = bytearray()
    pos = 1
    while pos < len(data):
        header = int.from_bytes(data[pos:pos + 2], "little")
        size = (header & 0x0FFF) + 3
        chunk_end = min(pos + size, len(data))
        pos += 2
        start = len(out)
        if not header & 0x8000:  # raw chunk
            out += data[pos:pos + 4096]
            pos += 4096
            continue
        while pos < chunk_end:
            flags = data[pos]
            pos += 1
            for bit in range(8):
                if pos >= chunk_end:
                    break
                if not flags & (1 << bit):
                    out.append(data[pos])
                    pos += 1
                    continue
                token = int.from_bytes(data[pos:pos + 2], "little")
                pos += 2
                done = len(out) - start
                bits = max((done - 1).bit_length(), 4)
                length = (token & (0xFFFF >> bits)) + 3
                offset = (token >> (16 - bits)) + 1
                for _ in range(length):
                    out.append(out[-offset])
    return bytes(out)


def _module_source(streams: dict[str, bytes], module: str) -> str:
    """The source of a VBA module: its stream from the offset the dir stream records."""
    directory = _ovba_decompress(streams["VBA/dir"])
    name = module.encode("latin-1")
    i = directory.find(b"\x19\x00" + len(name).to_bytes(4, "little") + name)  # MODULENAME
    assert i >= 0, f"VBA module {module} not in the project"
    j = directory.find(b"\x31\x00\x04\x00\x00\x00", i)  # MODULEOFFSET
    offset = int.from_bytes(directory[j + 6:j + 10], "little")
    return _ovba_decompress(streams[f"VBA/{module}"][offset:]).decode("latin-1")


def _check_installed_addin(path: Path, interpreter: str) -> None:
    with zipfile.ZipFile(path) as zf:
        ribbon = ET.fromstring(zf.read("customUI/customUI14.xml"))
        vba = zf.read("xl/vbaProject.bin")
    ns = "{http://schemas.microsoft.com/office/2009/07/customui}"
    [button] = list(ribbon.iter(f"{ns}button"))
    assert button.get("onAction") == RIBBON_MACRO == "RibbonMyAddin.RunMain"
    streams = _ole_streams(vba)
    module, macro = RIBBON_MACRO.split(".")
    assert f"VBA/{module}" in streams and "VBA/xlwings" in streams  # the ribbon module and RunPython's
    ribbon_code = _module_source(streams, module)
    assert f"Sub {macro}(" in ribbon_code and "RunPython" in ribbon_code  # the callback, calling RunPython
    assert "Function RunPython(" in _module_source(streams, "xlwings")
    from test_addin import _config

    assert _config(path)["B1"] == interpreter  # the Python the button runs


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_install_and_remove_in_the_start_up_folder_of_a_fake_home(platform, tmp_path):
    home = tmp_path / "home"
    interpreter = r"C:\Users\张三\AppData\Local\Programs\Python\Python311\python.exe" if platform == "win32" \
        else "/Users/zhangsan/.venv/bin/python"
    said: list[str] = []
    path = install(echo=said.append, interpreter=interpreter, platform=platform, home=home)
    expected = (home / "AppData" / "Roaming" / "Microsoft" / "Excel" / "XLSTART" if platform == "win32" else
                home / "Library" / "Group Containers" / "UBF8T346G9.Office" / "User Content.localized"
                / "Startup.localized" / "Excel")
    assert path == expected / ADDIN_FILE == standard_startup_dir(platform, home) / ADDIN_FILE
    assert path.is_file() and [p.name for p in expected.iterdir()] == [ADDIN_FILE]
    assert said[0].startswith("将生成 Excel 加载项") and str(expected) in said[0] and "已安装" in said[-1]
    if platform == "darwin":
        assert any("xlwings runpython install" in line for line in said)
    _check_installed_addin(path, interpreter)
    # installing again replaces the file; removing leaves the folder as Excel made it
    install(echo=said.append, interpreter=interpreter, platform=platform, home=home)
    remove(echo=said.append, platform=platform, home=home)
    assert not path.exists() and expected.is_dir() and "已删除" in said[-1]
    from jixiao.addin.desktop import AddinError

    with pytest.raises(AddinError, match="未安装"):
        remove(echo=said.append, platform=platform, home=home)


def test_there_is_no_start_up_folder_without_windows_or_macos():
    from jixiao.addin.desktop import AddinError

    with pytest.raises(AddinError, match="未找到 Microsoft Excel"):
        standard_startup_dir("linux", "/home/x")


def test_ribbon_button_on_a_workbook_in_protected_view_says_what_to_do(monkeypatch):
    """In Protected View the workbook is not among Excel's workbooks: xlwings' Book.caller()
    fails; the message box xlwings shows then starts with what to do, in Chinese."""
    import xlwings as xw

    from jixiao.addin.desktop import AddinError, run

    def caller(cls):
        raise AttributeError("'NoneType' object has no attribute 'Workbooks'")

    monkeypatch.setattr(xw.Book, "caller", classmethod(caller))
    with pytest.raises(AddinError) as failed:
        run()
    assert str(failed.value).startswith("无法读取当前工作簿：如果工作簿处于“受保护的视图”")
    assert "启用编辑" in str(failed.value) and "AttributeError" in str(failed.value)


def test_no_static_file_loads_anything_from_outside_but_office_js():
    import re

    static = ROOT / "src" / "jixiao" / "addin" / "static"
    for path in static.iterdir():
        if path.suffix in (".html", ".js"):
            urls = set(re.findall(r"https?://[^\s\"'<>)]+", path.read_text(encoding="utf-8")))
            assert urls <= {"https://appsforoffice.microsoft.com/lib/1/hosted/office.js"}, (path.name, urls)
