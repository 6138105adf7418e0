"""The Excel add-in: validate and recompute inside Excel (绩效自评 ribbon tab / task pane).

Two routes run the same functions (`jixiao.addin.actions`, each taking an `xlwings.Book`):

* desktop: the ribbon add-in `jixiao.addin.xlam` (built from xlwings' own ribbon add-in by
  `jixiao addin install`); its button runs xlwings' ``RunPython "import jixiao.addin;
  jixiao.addin.main()"`` (the module name comes from the add-in's file name);
* server: `jixiao addin serve`, an xlwings Server (FastAPI) app with an Office.js manifest and
  task pane (`jixiao.addin.server`).

See addin/README.md for which route fits which user."""

from __future__ import annotations


def main() -> None:
    """The desktop ribbon button (xlwings RunPython): 校验 and 重算核对 on the active workbook."""
    from jixiao.addin.desktop import run

    run()
