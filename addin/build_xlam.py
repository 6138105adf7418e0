"""Build the desktop ribbon add-in jixiao.addin.xlam from the installed xlwings.

    python addin/build_xlam.py                      # → addin/jixiao.addin.xlam
    python addin/build_xlam.py -o DIR --interpreter "C:\\Python311\\python.exe"

The add-in is xlwings' own ribbon add-in (its VBA project: RunPython and the ribbon callback
RibbonMyAddin.RunMain, which runs ``import jixiao.addin; jixiao.addin.main()`` because the file
is named jixiao.addin.xlam) with jixiao's ribbon (customUI/customUI14.xml, tab 绩效自评).  The
VBA project must match the installed xlwings version, so the file is built, not kept in the
repository; `jixiao addin install` builds and installs it in one step."""

from __future__ import annotations

import argparse
from pathlib import Path

from jixiao.addin.desktop import build_xlam


def main() -> None:
    parser = argparse.ArgumentParser(description="生成绩效自评 Excel 桌面加载项（jixiao.addin.xlam）")
    parser.add_argument("-o", "--output", default=str(Path(__file__).resolve().parent),
                        help="输出文件夹或 .xlam 路径（默认 addin/）")
    parser.add_argument("--interpreter", default=None,
                        help="写入加载项配置表的 Python 解释器路径（默认不写：按 xlwings 的方式查找）")
    args = parser.parse_args()
    path = build_xlam(args.output, args.interpreter)
    print(f"已生成 {path}")


if __name__ == "__main__":
    main()
