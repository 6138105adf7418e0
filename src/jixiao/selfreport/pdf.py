"""The report as PDF (for the 盖章 upload), converted by LibreOffice Writer through
`jixiao.office` (a throw-away profile, so a running LibreOffice or a user's settings cannot
interfere); its errors are said here in Chinese."""

from __future__ import annotations

from pathlib import Path

from jixiao.office import WRITER_PDF, OfficeError, convert, find_soffice

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
    try:
        converted = convert([docx], out_dir, WRITER_PDF, timeout=timeout, soffice=exe, recalc=False)
    except OfficeError as exc:
        if exc.kind == "timeout":
            raise PdfError(f"LibreOffice 转换 {docx.name} 超时（{timeout:g} 秒）") from None
        log = exc.log.lower()
        if "writer" in log and "filter" in log:
            raise PdfError(INSTALL_HINT) from None
        detail = [line for line in (exc.log or str(exc)).strip().splitlines() if line.strip()
                  and not line.startswith("soffice std")][-1:] or [""]
        raise PdfError(f"LibreOffice 未能将 {docx.name} 转换为 PDF（{detail[0]}）") from None
    return converted[docx]
