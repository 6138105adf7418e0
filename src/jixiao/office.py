"""Running LibreOffice (soffice) headless: the one place jixiao finds and runs it.

At run time it prints: the filled workbooks to PDF (`to_pdf`, for `jixiao.docs_pages`) and the
自评报告 to PDF (`jixiao.selfreport.pdf`).  The verification harness
(`jixiao.verify.libreoffice_recalc`) recalculates workbooks with the same `convert`.  Two
LibreOffice habits make the naive ``soffice --convert-to`` call unreliable, and `convert` works
around them:

* By default LibreOffice keeps the cached results stored in an xlsx file instead of
  recalculating.  Every run gets a private, throw-away user profile (so a running LibreOffice or
  a user's settings cannot interfere) whose registry, with ``recalc=True``, forces "always
  recalculate on load".
* One ``--convert-to`` call with many input files was seen to stop after 246 of them and still
  exit 0.  We convert in batches and count the outputs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

__all__ = ["CALC_PDF", "WRITER_PDF", "OfficeError", "convert", "find_soffice", "to_pdf"]

_FALLBACK_PATHS = (
    "/usr/bin/soffice",
    "/usr/lib/libreoffice/program/soffice",
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
)

CALC_PDF = "pdf:calc_pdf_Export"
WRITER_PDF = "pdf:writer_pdf_Export"

# 0 = "always recalculate" for xlsx (OOXML) and ods (ODF) files on load.
_REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


class OfficeError(RuntimeError):
    """LibreOffice is missing, failed, timed out or silently skipped files.  ``kind`` says which
    ("missing", "failed", "timeout", "no_output"), ``log`` holds soffice's output when it ran."""

    def __init__(self, message: str, kind: str, log: str = ""):
        super().__init__(message)
        self.kind, self.log = kind, log


def find_soffice() -> str | None:
    """Return the LibreOffice executable, or None if it is not installed."""
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    for candidate in _FALLBACK_PATHS:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def to_pdf(paths: list[Path], out_dir: Path, *, timeout: float = 300, soffice: str | None = None) -> dict[Path, Path]:
    """Print every workbook to PDF as LibreOffice prints it (recalculated first, every
    visible sheet, its print areas, page breaks, headers and footers).  ``{input: pdf}``."""
    return convert(paths, out_dir, CALC_PDF, timeout=timeout, soffice=soffice)


def convert(
    paths: list[Path],
    out_dir: Path,
    filter_: str,
    *,
    batch_size: int = 50,
    timeout: float = 300,
    soffice: str | None = None,
    recalc: bool = True,
) -> dict[Path, Path]:
    """Convert every file in ``paths`` with the ``--convert-to`` filter ``filter_`` (e.g.
    ``"xlsx:Calc MS Excel 2007 XML"``, `CALC_PDF`, `WRITER_PDF`) and save the results in
    ``out_dir``.  ``recalc`` recalculates spreadsheets on load; with ``recalc=False``
    LibreOffice runs with its default settings instead (a fresh profile: a plain open-and-save,
    as a unit's LibreOffice does it).

    Returns ``{input path: output path}``.  An output is named after its
    input's stem; a stem seen before gets a ``_2``, ``_3``... suffix so that
    same-named inputs from different folders cannot overwrite each other.
    ``timeout`` applies to each soffice call (one per batch of ``batch_size``
    files).  ``soffice`` overrides the executable found by `find_soffice`.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    exe = soffice if soffice is not None else find_soffice()
    if exe is None:
        raise OfficeError(
            "LibreOffice (soffice) not found on PATH or in the usual places; "
            "install it, e.g. `apt-get install libreoffice-calc-nogui`", "missing"
        )
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        raise OfficeError(f"LibreOffice executable {exe!r} does not exist or is not executable", "missing")

    # The same file given twice is converted once.
    inputs = list(dict.fromkeys(Path(p) for p in paths))
    absent = [str(p) for p in inputs if not p.is_file()]
    if absent:
        raise OfficeError(f"input file(s) not found: {', '.join(absent)}", "failed")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = "." + filter_.split(":")[0]
    targets = _output_paths(inputs, out_dir, suffix)

    result: dict[Path, Path] = {}
    with tempfile.TemporaryDirectory(prefix="jixiao-lo-") as tmp_name:
        tmp = Path(tmp_name)
        profile = tmp / "profile"
        (profile / "user").mkdir(parents=True)
        if recalc:
            (profile / "user" / "registrymodifications.xcu").write_text(_REGISTRY, encoding="utf-8")
        for number, start in enumerate(range(0, len(inputs), batch_size)):
            batch = inputs[start : start + batch_size]
            # Copies named 0000.xlsx, 0001.xlsx...: unique, and free of spaces,
            # CJK or commas that could trip soffice's argument handling.
            in_dir, conv_dir = tmp / f"in{number}", tmp / f"out{number}"
            in_dir.mkdir()
            copies = [in_dir / f"{i:04d}{src.suffix.lower()}" for i, src in enumerate(batch)]
            for src, copy in zip(batch, copies):
                shutil.copyfile(src, copy)
            log = _run_soffice(exe, profile, conv_dir, copies, timeout, filter_)
            converted = [conv_dir / f"{copy.stem}{suffix}" for copy in copies]
            lost = [str(src) for src, out in zip(batch, converted) if not _nonempty(out)]
            if lost:
                raise OfficeError(
                    f"LibreOffice produced no output for {len(lost)} of {len(batch)} "
                    f"file(s) in this batch: {', '.join(lost)}\n{log}", "no_output", log
                )
            for src, out in zip(batch, converted):
                shutil.move(out, targets[src])
                result[src] = targets[src]
    return result


def _output_paths(inputs: list[Path], out_dir: Path, suffix: str = ".xlsx") -> dict[Path, Path]:
    """Give every input a distinct output name (compared case-insensitively,
    for Windows/macOS file systems): first ``stem``, then ``stem_2``..."""
    used: set[str] = set()
    targets: dict[Path, Path] = {}
    for src in inputs:
        name, n = src.stem, 1
        while name.casefold() in used:
            n += 1
            name = f"{src.stem}_{n}"
        used.add(name.casefold())
        targets[src] = out_dir / f"{name}{suffix}"
    return targets


def _nonempty(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def _run_soffice(exe: str, profile: Path, out_dir: Path, files: list[Path], timeout: float,
                 filter_: str) -> str:
    """Run one conversion; returns soffice's output for error messages."""
    cmd = [
        exe,
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--norestore",
        "--convert-to",
        filter_,
        "--outdir",
        str(out_dir),
        *map(str, files),
    ]
    # Own session: soffice is a wrapper script around oosplash/soffice.bin, so
    # on timeout the whole process group must be killed, not just the script.
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # Windows: no process groups
            proc.kill()
        proc.communicate()
        raise OfficeError(
            f"LibreOffice timed out after {timeout:g}s converting {len(files)} file(s)", "timeout"
        ) from None
    log = f"soffice stdout:\n{stdout[-2000:]}\nsoffice stderr:\n{stderr[-2000:]}"
    if proc.returncode != 0:
        raise OfficeError(f"LibreOffice exited with status {proc.returncode}\n{log}", "failed", log)
    return log
