"""The zip under a workbook, read without trusting it: limits checked from the central
directory before anything is inflated (member count, declared sizes, compression ratio), and
members inflated by our own capped reader -- never more than the declared size + 1 byte, so a
directory that lies about a member's size cannot inflate it; CRC always verified on a whole
member."""

from __future__ import annotations

import io
import struct
import zipfile

try:  # zlib-ng: the same deflate, inflated in about half the time (inflating is a check's dearest C step)
    from zlib_ng import zlib_ng as zlib
except ImportError:  # pragma: no cover - the `fast` extra not installed: zlib gives the same bytes
    import zlib  # type: ignore[no-redef]

from jixiao.xlsx.unreadable import MiB, UnreadableWorkbook, bomb, corrupt, mb

__all__ = [
    "MAX_CENTRAL_DIRECTORY", "MAX_FILE_BYTES", "MAX_MEMBERS", "MAX_MEMBER_BYTES", "MAX_RATIO", "MAX_TOTAL_BYTES",
    "RATIO_FLOOR", "ZIP_SIGNATURES", "HeadReader", "read_directory", "read_member",
]

MAX_FILE_BYTES = 100 * MiB          # the file itself, before anything else
MAX_MEMBERS = 2000                  # zip members
MAX_TOTAL_BYTES = 100 * MiB         # sum of declared uncompressed sizes
MAX_MEMBER_BYTES = 50 * MiB         # one member, uncompressed
MAX_RATIO = 200                     # uncompressed / compressed ...
RATIO_FLOOR = 1 * MiB               # ... for members larger than this
MAX_CENTRAL_DIRECTORY = 4 * MiB     # 2,000 honest entries need ~0.3 MB; bounds zipfile's own parsing

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_LOCAL_HEADER = b"PK\x03\x04"
ZIP_SIGNATURES = (_LOCAL_HEADER, _EOCD, b"PK\x07\x08")  # a member, an empty zip, a spanned zip


def read_directory(path: str, data: bytes) -> dict[str, zipfile.ZipInfo]:
    """The members by name, after the limits: refuses a truncated, corrupt or bomb-like zip."""
    eocd = data.rfind(_EOCD, max(0, len(data) - 22 - 0xFFFF))
    if eocd < 0 or eocd + 22 > len(data):  # the end record is missing or cut off
        raise UnreadableWorkbook(
            path, "truncated_zip",
            "文件不完整（末尾缺失，可能是邮件附件下载中断或保存未完成）；请重新下载附件，或请填报单位重新发送")
    _check_directory_size(path, data, eocd)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception:  # untrusted bytes: any failure to read the directory is corruption
        raise UnreadableWorkbook(path, "corrupt_zip", corrupt()) from None
    _check_limits(path, data, infos)
    by_name = {i.filename: i for i in infos}
    if len(by_name) != len(infos):
        raise UnreadableWorkbook(path, "corrupt_zip", corrupt("内部文件名重复"))
    return by_name


def _check_directory_size(path: str, data: bytes, eocd: int) -> None:
    """Member count and directory size from the end records, before zipfile builds a
    ZipInfo per entry (a directory with millions of entries is itself a bomb)."""
    _, _, _, _, entries, cd_size, _, _ = struct.unpack("<4s4H2LH", data[eocd:eocd + 22])
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF:  # zip64: the real values are elsewhere
        locator = data[eocd - 20:eocd] if eocd >= 20 else b""
        if locator[:4] == _EOCD64_LOCATOR:
            (offset,) = struct.unpack("<Q", locator[8:16])
            record64 = data[offset:offset + 56]
            if len(record64) == 56 and record64[:4] == _EOCD64:
                entries, cd_size = struct.unpack("<QQ", record64[32:48])
    if cd_size > eocd or entries * 46 > cd_size:  # 46 bytes: the smallest directory entry
        raise UnreadableWorkbook(path, "corrupt_zip", corrupt("内部文件目录的记录不一致"))
    if entries > MAX_MEMBERS:
        raise UnreadableWorkbook(path, "zip_bomb", bomb(f"包含 {entries} 个内部文件，超过上限 {MAX_MEMBERS}"))
    if cd_size > MAX_CENTRAL_DIRECTORY:
        raise UnreadableWorkbook(path, "zip_bomb", bomb(f"内部文件目录过大（{mb(cd_size)}）"))


def _check_limits(path: str, data: bytes, infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_MEMBERS:
        raise UnreadableWorkbook(path, "zip_bomb", bomb(f"包含 {len(infos)} 个内部文件，超过上限 {MAX_MEMBERS}"))
    total = 0
    for info in infos:
        size = info.file_size
        if size > MAX_MEMBER_BYTES:
            _refuse_size(path, data, info, f"内部文件 {info.filename} 解压后达 {mb(size)}，超过单个上限 {mb(MAX_MEMBER_BYTES)}")
        if size > RATIO_FLOOR and size > MAX_RATIO * info.compress_size:
            ratio = size / max(info.compress_size, 1)
            _refuse_size(path, data, info, f"内部文件 {info.filename} 压缩比 {ratio:,.0f}:1，超过上限 {MAX_RATIO}:1")
        total += size
    if total > MAX_TOTAL_BYTES:
        raise UnreadableWorkbook(path, "zip_bomb", bomb(f"解压后总计 {mb(total)}，超过上限 {mb(MAX_TOTAL_BYTES)}"))


def _refuse_size(path: str, data: bytes, info: zipfile.ZipInfo, detail: str) -> None:
    """Over a limit: a bomb, unless the member's own header disagrees with the directory --
    then a damaged size field is the likelier story (the file is refused either way)."""
    local = _local_header(data, info)
    if local is None or _local_mismatch(local, info):
        raise UnreadableWorkbook(path, "corrupt_zip", corrupt("内部目录与文件头不一致"))
    raise UnreadableWorkbook(path, "zip_bomb", bomb(detail))


def _local_header(data: bytes, info: zipfile.ZipInfo) -> tuple[int, int, int, int, int, int] | None:
    """(flags, method, compressed size, size, name length, extra length) of the member's local
    header, or None if there is no local header where the directory says."""
    offset = info.header_offset
    header = data[offset:offset + 30]
    if len(header) < 30 or header[:4] != _LOCAL_HEADER:
        return None
    flags, method = struct.unpack("<HH", header[6:10])
    csize, usize, name_len, extra_len = struct.unpack("<LLHH", header[18:30])
    return flags, method, csize, usize, name_len, extra_len


def _local_mismatch(local: tuple[int, int, int, int, int, int], info: zipfile.ZipInfo) -> bool:
    flags, method, csize, usize, _, _ = local
    if (flags ^ info.flag_bits) & 0x1 or method != info.compress_type:
        return True
    if flags & 0x8 or 0xFFFFFFFF in (csize, usize):  # sizes in a data descriptor or zip64 extra
        return False
    return (csize, usize) != (info.compress_size, info.file_size)


def _compressed(path: str, data: bytes, info: zipfile.ZipInfo) -> memoryview:
    """The member's compressed bytes, after its local header was found consistent with the
    directory (and the member is neither encrypted nor compressed in a way Excel never uses)."""
    local = _local_header(data, info)
    if local is None:
        raise UnreadableWorkbook(path, "corrupt_zip", corrupt(f"内部文件 {info.filename} 的位置错误"))
    _, _, _, _, name_len, extra_len = local
    start = info.header_offset + 30
    raw_name = data[start:start + name_len]
    if _local_mismatch(local, info) or raw_name != _raw_name(info):
        raise UnreadableWorkbook(path, "corrupt_zip", corrupt(f"内部文件 {info.filename} 的文件头与目录不一致"))
    if info.flag_bits & 0x1:
        raise UnreadableWorkbook(path, "encrypted", "文件（压缩包）设置了密码，请取消密码后重新提交")
    start += name_len + extra_len
    compressed = memoryview(data)[start:start + info.compress_size]
    if len(compressed) < info.compress_size:
        raise UnreadableWorkbook(path, "corrupt_zip", corrupt(f"内部文件 {info.filename} 不完整"))
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise UnreadableWorkbook(
            path, "corrupt_zip",
            f"工作簿内部使用了 Excel/WPS 不使用的压缩方式（{info.compress_type}），无法读取；请在 Excel 或 WPS 中重新另存为 .xlsx")
    return compressed


def _damaged(path: str, info: zipfile.ZipInfo) -> UnreadableWorkbook:
    return UnreadableWorkbook(path, "corrupt_zip", corrupt(f"内部文件 {info.filename} 的压缩数据损坏"))


def read_member(path: str, data: bytes, info: zipfile.ZipInfo) -> bytes:
    """Inflate one member straight from the file's bytes: at most declared size + 1 byte is
    ever produced, the result must have exactly the declared size and CRC."""
    compressed = _compressed(path, data, info)
    declared = info.file_size
    if info.compress_type == zipfile.ZIP_STORED:
        out = bytes(compressed)
    else:
        try:
            out = zlib.decompressobj(-15).decompress(compressed, declared + 1)
        except zlib.error:
            raise _damaged(path, info) from None
    if len(out) > declared:
        # more data than declared: a header forged to pass the limits (its CRC fits the declared
        # prefix), or plain damage to the compressed bytes (it does not)
        if zlib.crc32(out[:declared]) == info.CRC:
            raise UnreadableWorkbook(
                path, "zip_bomb", bomb(f"内部文件 {info.filename} 的实际大小超过其声明的 {declared} 字节，头信息被篡改或损坏"))
        raise UnreadableWorkbook(path, "corrupt_zip", corrupt(f"内部文件 {info.filename} 校验失败"))
    if len(out) != declared or zlib.crc32(out) != info.CRC:
        raise UnreadableWorkbook(path, "corrupt_zip", corrupt(f"内部文件 {info.filename} 校验失败"))
    return out


class HeadReader:
    """The first bytes of a member, inflated step by step as far as the caller asks: looking
    at the start of an XML part (its prolog) costs a few KB of inflating, not the whole part.
    The cap at the declared size holds here too; the CRC needs the whole member and is checked
    by `read_member` when the part itself is read."""

    FIRST_STEP = 1024  # a part's prolog and root tag: a few hundred bytes (inflating is most of the cost)
    STEP = 4096

    def __init__(self, path: str, data: bytes, info: zipfile.ZipInfo):
        self._path, self._info = path, info
        self._step = self.FIRST_STEP
        self._compressed = _compressed(path, data, info)
        self._inflate = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
        self._tail = self._compressed
        self.head = b""
        self.complete = False

    def more(self) -> bool:
        """Inflate the next step onto `head`; False once the member is exhausted."""
        if self.complete:
            return False
        declared = self._info.file_size
        step, self._step = self._step, self.STEP
        if self._inflate is None:
            self.head = bytes(self._compressed[:len(self.head) + step])
            self.complete = len(self.head) >= len(self._compressed)
            return True
        try:
            chunk = self._inflate.decompress(self._tail, step)
        except zlib.error:
            raise _damaged(self._path, self._info) from None
        self._tail = self._inflate.unconsumed_tail
        self.head += chunk
        if len(self.head) > declared:
            raise UnreadableWorkbook(self._path, "zip_bomb", bomb(
                f"内部文件 {self._info.filename} 的实际大小超过其声明的 {declared} 字节，头信息被篡改或损坏"))
        self.complete = self._inflate.eof or (not chunk and not self._tail)
        return bool(chunk) or not self.complete


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    """The member name as stored in the central directory."""
    try:
        return info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
    except UnicodeEncodeError:
        return b""
