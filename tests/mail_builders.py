"""Attachments as mail programs write them (shared by the import tests and the hostile corpus)."""

from __future__ import annotations

import base64
from email import encoders
from email.mime.base import MIMEBase

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def attachment(data: bytes, disposition: str) -> MIMEBase:
    part = MIMEBase(*XLSX_TYPE.split("/"))
    part.set_payload(data)
    encoders.encode_base64(part)
    part["Content-Disposition"] = disposition
    return part


def rfc2047_gbk(name: str) -> str:
    """An attachment name as Outlook and Foxmail write it: RFC 2047 in GBK."""
    return f'attachment; filename="=?GBK?B?{base64.b64encode(name.encode("gbk")).decode()}?="'
