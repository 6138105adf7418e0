"""The desktop route: a ribbon add-in for Excel on Windows or macOS with a local Python.

It is xlwings' own ribbon add-in (the ``quickstart_addin_ribbon.xlam`` that ships with the
installed xlwings, BSD-licensed): its VBA project holds xlwings' ``RunPython`` and a ribbon
callback ``RibbonMyAddin.RunMain`` that runs ``import <module>; <module>.main()``, the module
being the add-in's file name without its extension.  A VBA project cannot be written here (and
must match the installed xlwings' version anyway), so `build_xlam` keeps that VBA project and
replaces only the ribbon (customUI/customUI14.xml: a 绩效自评 tab) and the configuration sheet
(the Python interpreter to use).  Named ``jixiao.addin.xlam``, the button runs
``import jixiao.addin; jixiao.addin.main()`` → `run`.

`install` copies the add-in into Excel's start-up folder (XLSTART), as ``xlwings addin
install`` does; without Excel (Linux, WPS) it says what it would do and fails."""

from __future__ import annotations

import io
import os
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

ADDIN_FILE = "jixiao.addin.xlam"  # → RunPython "import jixiao.addin;jixiao.addin.main()"
ADDIN_MODULE = ADDIN_FILE.rsplit(".", 1)[0]
RIBBON_MACRO = "RibbonMyAddin.RunMain"  # the ribbon callback in xlwings' ribbon add-in
RIBBON_PART = "customUI/customUI14.xml"
RIBBON_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"  # Office 2010+ ribbon
CONFIG_SHEET = "myaddin.conf"  # xlwings' custom add-in config sheet (PROJECT_NAME "myaddin")
SOURCE = "quickstart_addin_ribbon.xlam"

RIBBON_XML = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<customUI xmlns="http://schemas.microsoft.com/office/2009/07/customui">
  <ribbon>
    <tabs>
      <tab id="jixiaoTab" label="绩效自评">
        <group id="jixiaoGroup" label="校验与核对">
          <button id="jixiaoCheck" label="校验并重算核对" size="large" imageMso="MacroPlay"
                  screentip="校验并重算核对"
                  supertip="校验当前工作簿的填报数据（标出有问题的单元格，生成“校验结果”工作表），用 Python 重新计算全部得分并与工作簿的公式结果核对（不一致的得分标红）。"
                  onAction="{RIBBON_MACRO}" />
        </group>
      </tab>
    </tabs>
  </ribbon>
</customUI>
"""


# A workbook in Protected View (opened from an e-mail or a download) is not among Excel's open
# workbooks until editing is enabled, so the button cannot reach it.
CALLER_MISSING = ("无法读取当前工作簿：如果工作簿处于“受保护的视图”（从邮件或网上打开的文件），"
                  "请先点击黄色提示栏中的“启用编辑”，再点击“校验并重算核对”。")


class AddinError(Exception):
    """A failure to tell the user (in Chinese), with no traceback."""


def run() -> None:
    """The ribbon button: 校验 and 重算核对 on the workbook that was active when it was clicked."""
    import xlwings as xw

    from jixiao.addin.actions import validate_and_recompute

    try:
        book = xw.Book.caller()
    except Exception as exc:  # noqa: BLE001 - xlwings shows this text in Excel's message box
        raise AddinError(CALLER_MISSING + f"（{type(exc).__name__}: {exc}）") from None
    validate_and_recompute(book)


# --------------------------------------------------------------------------- the .xlam

def xlwings_source() -> Path:
    import xlwings

    return Path(xlwings.__file__).parent / SOURCE


def build_xlam(output: str | Path, interpreter: str | None = None) -> Path:
    """Write the ribbon add-in to `output` (a folder, or a path ending in jixiao.addin.xlam).
    With `interpreter`, its configuration sheet is activated and names that Python for both
    Windows and macOS (what `install` does); without, Python is found the xlwings way (the
    PATH, ~/.myaddin/myaddin.conf)."""
    out = Path(output)
    if out.suffix.lower() != ".xlam":
        out = out / ADDIN_FILE
    if out.name != ADDIN_FILE:
        raise AddinError(f"加载项文件必须命名为 {ADDIN_FILE}（功能区按钮按文件名找到 Python 模块 {ADDIN_MODULE}）")
    source = xlwings_source()
    if not source.exists():
        raise AddinError(f"找不到 xlwings 的功能区加载项模板 {source}：请安装 xlwings（pip install xlwings）")
    with zipfile.ZipFile(source) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    members.pop("customUI/customUI.xml", None)
    members[RIBBON_PART] = RIBBON_XML.encode("utf-8")
    rels = members["_rels/.rels"].decode("utf-8")
    rels, n = re.subn(r'<Relationship\b[^>]*/ui/extensibility"[^>]*/>',
                      f'<Relationship Id="rIdJixiaoUI" Type="{RIBBON_REL}" Target="{RIBBON_PART}" />', rels)
    if n != 1:
        raise AddinError(f"xlwings {SOURCE} 的结构与预期不同（_rels/.rels），无法生成加载项")
    members["_rels/.rels"] = rels.encode("utf-8")
    if interpreter:
        _configure(members, interpreter)
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    out.write_bytes(buf.getvalue())
    return out


def _configure(members: dict[str, bytes], interpreter: str) -> None:
    """Activate the add-in's config sheet (_myaddin.conf → myaddin.conf) and fill in
    Interpreter_Win (B1) and Interpreter_Mac (B2)."""
    book = members["xl/workbook.xml"].decode("utf-8")
    if f'name="_{CONFIG_SHEET}"' not in book:
        raise AddinError(f"xlwings {SOURCE} 的结构与预期不同（没有 _{CONFIG_SHEET} 工作表），无法写入 Python 路径")
    members["xl/workbook.xml"] = book.replace(f'name="_{CONFIG_SHEET}"', f'name="{CONFIG_SHEET}"').encode("utf-8")
    if "docProps/app.xml" in members:
        app = members["docProps/app.xml"].decode("utf-8")
        members["docProps/app.xml"] = app.replace(f">_{CONFIG_SHEET}<", f">{CONFIG_SHEET}<").encode("utf-8")
    part = "xl/worksheets/sheet1.xml"
    sheet = members[part].decode("utf-8")
    for row in (1, 2):  # A1 Interpreter_Win, A2 Interpreter_Mac
        cell = f'<c r="B{row}" t="inlineStr"><is><t>{escape(interpreter)}</t></is></c>'
        sheet, n = re.subn(rf'(<row r="{row}"[^>]*>.*?<c r="A{row}"[^>]*?(?:/>|>.*?</c>))',
                           lambda m: m.group(1).replace('spans="1:1"', 'spans="1:2"') + cell, sheet, count=1, flags=re.S)
        if n != 1:
            raise AddinError(f"xlwings {SOURCE} 的配置工作表结构与预期不同，无法写入 Python 路径")
    members[part] = sheet.encode("utf-8")


# --------------------------------------------------------------------------- install / remove

@dataclass
class Plan:
    addin: str
    target: str
    interpreter: str

    def describe(self) -> str:
        return (f"将生成 Excel 加载项 {ADDIN_FILE}（功能区选项卡“绩效自评”，按钮调用 {RIBBON_MACRO} → "
                f"import {ADDIN_MODULE}; {ADDIN_MODULE}.main()；基于 xlwings {_xlwings_version()} 的功能区加载项，"
                f"Python 解释器 {self.interpreter}），并复制到 {self.target}")


NO_EXCEL = ("未找到 Microsoft Excel：桌面加载项只能安装在装有 Excel 的 Windows 或 macOS 电脑上。"
            "没有 Excel、使用 WPS 或 Excel 网页版的单位，请使用服务器加载项（jixiao addin serve），"
            "或直接使用工作簿自带的公式和“审核”工作表，提交后由主管部门用 jixiao check 审核。"
            "（只生成加载项文件：jixiao addin install --target 文件夹）")


MAC_STARTUP = ("Library", "Group Containers", "UBF8T346G9.Office", "User Content.localized", "Startup.localized",
               "Excel")  # Excel 2016 and later (sandboxed), per user


def standard_startup_dir(platform: str | None = None, home: str | Path | None = None) -> Path:
    """Excel's per-user start-up folder where it normally is: Windows %APPDATA%\\Microsoft\\Excel\\XLSTART,
    macOS ~/Library/Group Containers/UBF8T346G9.Office/User Content.localized/Startup.localized/Excel.
    `home` stands for the user's home folder (its AppData\\Roaming on Windows)."""
    platform = platform or sys.platform
    if platform.startswith("win"):
        appdata = Path(home) / "AppData" / "Roaming" if home is not None else Path(
            os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
        return appdata / "Microsoft" / "Excel" / "XLSTART"
    if platform.startswith("darwin"):
        return Path(home if home is not None else Path.home()).joinpath(*MAC_STARTUP)
    raise AddinError(NO_EXCEL)


def excel_startup_dir() -> Path:
    """Excel's XLSTART folder for this user, asked of Excel through xlwings (as ``xlwings addin
    install`` does); where Excel cannot be asked but is installed for this user (its settings
    folder exists), the standard folder.  AddinError where there is no Excel."""
    if not sys.platform.startswith(("win", "darwin")):
        raise AddinError(NO_EXCEL)
    try:
        import xlwings as xw

        if xw.apps:
            return Path(xw.apps.active.startup_path)
        with xw.App(visible=False, add_book=False) as app:
            return Path(app.startup_path)
    except Exception as exc:  # noqa: BLE001 - no Excel, or Excel refused
        folder = standard_startup_dir()
        if folder.parent.is_dir():
            return folder
        raise AddinError(f"{NO_EXCEL}（{type(exc).__name__}: {exc}）") from None


def _startup(target, platform, home) -> tuple[Path, str]:
    if target is not None:
        return Path(target), str(target)
    if platform is not None or home is not None:
        folder = standard_startup_dir(platform, home)
        return folder, f"Excel 的启动文件夹 {folder}"
    return None, "Excel 的启动文件夹（XLSTART）"


def install(target: str | Path | None = None, echo=print, interpreter: str | None = None,
            platform: str | None = None, home: str | Path | None = None) -> Path:
    """Build the add-in and copy it to `target` (default: Excel's XLSTART; with `platform`
    and/or `home`, the standard start-up folder of that system under that home folder).  Prints
    the plan first; raises AddinError (Chinese) when there is no Excel to install into."""
    interpreter = interpreter or sys.executable
    folder, where = _startup(target, platform, home)
    echo(Plan(ADDIN_FILE, where, interpreter).describe())
    folder = folder if folder is not None else excel_startup_dir()
    path = build_xlam(folder / ADDIN_FILE, interpreter)
    on_mac = (platform or sys.platform).startswith("darwin")
    if on_mac and sys.platform.startswith("darwin") and target is None and home is None:
        try:  # RunPython on macOS needs xlwings' AppleScript (as `xlwings runpython install`)
            from xlwings.cli import runpython_install

            runpython_install(None)
        except Exception as exc:  # noqa: BLE001
            echo(f"警告：未能安装 xlwings 的 AppleScript（{exc}）：请运行 xlwings runpython install")
    elif on_mac:
        echo("macOS：RunPython 还需要 xlwings 的 AppleScript：在这台 Mac 上运行 xlwings runpython install")
    echo(f"已安装：{path}。请重新启动 Excel，在“绩效自评”选项卡点击“校验并重算核对”。")
    return path


def remove(target: str | Path | None = None, echo=print, platform: str | None = None,
           home: str | Path | None = None) -> Path:
    folder, where = _startup(target, platform, home)
    echo(f"将从 {where} 删除 {ADDIN_FILE}")
    folder = folder if folder is not None else excel_startup_dir()
    path = folder / ADDIN_FILE
    if not path.exists():
        raise AddinError(f"未安装：{path} 不存在")
    try:
        path.unlink()
    except PermissionError:
        raise AddinError(f"无法删除 {path}：请先退出 Excel 再试") from None
    echo(f"已删除 {path}。重新启动 Excel 后“绩效自评”选项卡即消失。")
    return path


def _xlwings_version() -> str:
    try:
        import xlwings

        return xlwings.__version__
    except ImportError:
        return "（未安装）"


__all__ = ["ADDIN_FILE", "AddinError", "build_xlam", "install", "remove", "run", "standard_startup_dir"]
