"""The one refusal of the xlsx layer: a file that cannot (or must not) be read as a workbook,
with a stable English kind and one Chinese line for the accountant."""

from __future__ import annotations

__all__ = ["MiB", "UnreadableWorkbook", "bomb", "corrupt", "mb"]

MiB = 1024 * 1024


class UnreadableWorkbook(Exception):
    """The file cannot (or must not) be read as an .xlsx workbook.

    ``kind`` is a stable English code for programs, ``message`` one Chinese line for the
    accountant (what the file is and what to do; without the path), ``str(exc)`` is
    ``"{path}：{message}"``.
    """

    def __init__(self, path: str, kind: str, message: str):
        super().__init__(path, kind, message)  # args match __init__: picklable across processes
        self.path = path
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}：{self.message}"


def mb(size: int) -> str:
    return f"{size / MiB:.1f} MB" if size < 10 * MiB else f"{size / MiB:,.0f} MB"


def corrupt(detail: str = "") -> str:
    detail = f"（{detail}）" if detail else ""
    return f"文件已损坏{detail}，无法读取；请重新下载附件，或请填报单位在 Excel 或 WPS 中重新保存后发送"


def bomb(detail: str) -> str:
    return f"文件解压后体积异常（{detail}），疑似“压缩炸弹”，已拒绝处理；请确认文件来源，或请填报单位重新另存为普通 .xlsx"
