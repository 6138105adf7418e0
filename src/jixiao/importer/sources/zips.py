"""Zip archives: expanded member by member, with their member names decoded and their sizes held
to the `Limits`.

* **.zip archives** (by extension) are expanded member by member, in archive order,
  recursively for members that are themselves .zip, up to ``Limits.max_zip_depth`` (3)
  levels; deeper archives are reported; junk names (as for folders) are skipped.  Member
  names without the UTF-8 flag (0x800) -- written by Windows Chinese zip tools in
  GBK/CP936 -- are decoded correctly: zipfile decodes them as cp437, so they are
  re-encoded to the original bytes and decoded as UTF-8 if valid, else GB18030 (a superset
  of GBK/GB2312).  An Info-ZIP Unicode Path extra field (0x7075) wins when present and
  valid.  A ".zip" that actually is an OOXML document (it has ``[Content_Types].xml``) is
  a candidate as a whole.  Encrypted members, unsupported compression methods, corrupt
  members and corrupt archives are reported.
* **Zip bombs**: limits are checked on the *declared* sizes before anything is inflated
  and enforced again while reading (`Limits`): member count per archive, bytes per member,
  and total bytes per top-level archive -- nested archives draw on the budget of the
  archive that contains them.  Every member refused is reported.
* **Hostile names**: a member whose name is absolute or contains ``..`` is a SourceProblem,
  never read (nothing here writes a member name to disk, and none ever should).
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from jixiao.importer.sources import walk
from jixiao.importer.sources.items import (
    Budget, Candidate, Ctx, Item, Limits, SourceProblem, basename, guard, is_junk_member, os_error, size_text,
)


class _TooBig(Exception):
    pass


def _zip_member_name(info: zipfile.ZipInfo) -> str:
    """The member's real name: UTF-8 when flagged, else the cp437-decoded bytes re-decoded."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.orig_filename.encode("cp437")
    except UnicodeEncodeError:  # zipfile was given another metadata_encoding
        return info.filename
    unicode_path = _unicode_path_extra(info.extra, raw)
    if unicode_path is not None:
        return unicode_path
    if raw.isascii():
        return info.filename
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            pass
    return info.filename


def _unicode_path_extra(extra: bytes, raw_name: bytes) -> str | None:
    """The Info-ZIP Unicode Path extra field (0x7075), if present and matching the name."""
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        body = extra[i + 4:i + 4 + size]
        if tag == 0x7075 and len(body) >= 5 and body[0] == 1:
            (crc,) = struct.unpack_from("<I", body, 1)
            if crc == zlib.crc32(raw_name):
                try:
                    return body[5:].decode("utf-8")
                except UnicodeDecodeError:
                    return None
        i += 4 + size
    return None


def _traversal(member: str) -> str:
    """Why a member name points outside the archive ("" when it does not)."""
    parts = re.split(r"[/\\]", member)
    if member.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", member):
        return "是绝对路径"
    if ".." in parts:
        return "含有“..”"
    return ""


def expand_zip(source: str, name: str, file: Path | bytes, ctx: Ctx) -> Iterator[Item]:
    limits = ctx.limits
    depth = ctx.zip_depth + 1
    if depth > limits.max_zip_depth:
        yield SourceProblem(source, f"压缩包嵌套超过 {limits.max_zip_depth} 层，未解开；请解压后单独发送")
        return
    opener = file if isinstance(file, Path) else io.BytesIO(file)
    try:
        zf = zipfile.ZipFile(opener)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as exc:
        yield SourceProblem(source, f"压缩包已损坏或不是 zip 文件，无法打开（{exc}）")
        return
    except OSError as exc:
        yield SourceProblem(source, f"无法读取压缩包：{os_error(exc)}")
        return
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_archive_members:
            yield SourceProblem(source, f"压缩包中文件过多（{len(infos)} 个，上限 "
                                        f"{limits.max_archive_members} 个），疑似压缩炸弹，未解开")
            return
        if any(i.filename == "[Content_Types].xml" for i in infos):
            # an OOXML document (e.g. an .xlsx) renamed to .zip: the whole file is the candidate
            data = file if isinstance(file, bytes) else walk.read_file(file, source, file.stat().st_size, ctx)
            yield data if isinstance(data, SourceProblem) else Candidate.of(source, name, data, ctx.received)
            return
        budget = ctx.budget or Budget(limits.max_archive_bytes)
        sub = replace(ctx, zip_depth=depth, budget=budget)
        produced = False
        for info in infos:
            if info.is_dir():
                continue
            member = _zip_member_name(info)
            traversal = _traversal(member)
            if not traversal and is_junk_member(member):
                continue
            produced = True
            member_source = f"{source}!{member}"
            if traversal:
                # never a path written anywhere: reported, as Windows' and Info-ZIP's unzip refuse it
                yield SourceProblem(member_source, f"压缩包中的文件名{traversal}（疑似路径穿越攻击），未解压；"
                                                   "请检查压缩包来源，解压后单独发送其中的 .xlsx 文件")
                continue
            data = _read_member(zf, info, member_source, budget, limits)
            if isinstance(data, SourceProblem):
                yield data
            else:
                yield from guard(member_source, walk.expand_blob(member_source, basename(member), data, sub))
        if not produced:
            yield SourceProblem(source, "压缩包中没有文件")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, source: str,
                 budget: Budget, limits: Limits) -> bytes | SourceProblem:
    if info.flag_bits & 0x1:
        return SourceProblem(source, "压缩包中的文件已加密（需要密码），无法解压；请发送未加密的文件")
    if info.file_size > limits.max_member_bytes:
        return SourceProblem(source, f"解压后过大（{size_text(info.file_size)}，单个文件上限 "
                                     f"{size_text(limits.max_member_bytes)}），疑似压缩炸弹，未解压")
    if info.file_size > budget.remaining:
        return SourceProblem(source, f"压缩包解压总量超过上限（{size_text(limits.max_archive_bytes)}），"
                                     "疑似压缩炸弹，未解压")
    cap = min(limits.max_member_bytes, budget.remaining)
    try:
        with zf.open(info) as f:
            data = f.read(cap + 1)  # zipfile never inflates past the declared size; belt and braces
        if len(data) > cap:
            raise _TooBig
    except _TooBig:
        return SourceProblem(source, "解压后超过大小上限，疑似压缩炸弹，未解压")
    except NotImplementedError as exc:
        return SourceProblem(source, f"压缩方式不受支持（{exc}），请用普通 zip 格式重新压缩")
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, RuntimeError) as exc:
        return SourceProblem(source, f"压缩包中的文件已损坏，无法解压（{exc}）")
    except OSError as exc:
        return SourceProblem(source, f"无法读取压缩包：{os_error(exc)}")
    budget.remaining -= len(data)
    return data
