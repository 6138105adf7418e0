"""The report as PDF (for the 盖章 upload), converted by LibreOffice Writer in a throw-away
profile, so a running LibreOffice or a user's settings cannot interfere."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

from jixiao.libreoffice import find_soffice

INSTALL_HINT = "未找到 LibreOffice Writer，无法转换为 PDF（Debian/Ubuntu：apt-get install libreoffice-writer-nogui）"


class PdfError(RuntimeError):
    pass


def to_pdf(docx: str | Path, out_dir: str | Path | None = None, timeout: float = 180) -> Path:
    """Convert `docx` to PDF beside it (or in `out_dir`); returns the PDF's path."""
    docx = Path(docx)
    out_dir = Path(out_dir) if out_dir is not None else docx.parent
    exe = find_soffice()
    if exe is None:
        raise PdfError(INSTALL_HINT)
    target = out_dir / f"{docx.stem}.pdf"
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="jixiao-lo-") as profile:
        cmd = [exe, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
               "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(out_dir), str(docx)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                errors="replace", start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise PdfError(f"LibreOffice 转换 {docx.name} 超时（{timeout:g} 秒）") from None
    if proc.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
        detail = (err or out).strip().splitlines()[-1:] or [""]
        if "writer" in (err + out).lower() and "filter" in (err + out).lower():
            raise PdfError(INSTALL_HINT)
        raise PdfError(f"LibreOffice 未能将 {docx.name} 转换为 PDF（{detail[0]}）")
    return target
