"""Mail header text: RFC 2047 encoded words, RFC 2231 parameters, and the charsets Chinese mail
clients actually send, for attachment names and subjects.

Units' mail clients encode attachment names in every possible way: RFC 2047 encoded words
(``=?GBK?B?...?=``, ``=?gb2312?Q?...?=``, ``=?UTF-8?B?...?=``, inside or outside quotes,
sometimes splitting one character over two words), RFC 2231 (``filename*=GBK''%C8...``,
continuations ``filename*0*=...; filename*1*=...``, sometimes splitting one character over
two sections) and raw 8-bit GBK bytes without any encoding.  For file names, testing showed
where the stdlib `email` package does not work: it decodes ``gb2312`` strictly (names with
GBK-only or GB18030-only characters become ``\\ufffd``), returns None for an unquoted encoded
word, garbles GBK RFC 2231 continuations that split a character (sometimes into *valid but
wrong* characters), garbles encoded words that split a character, decodes raw GBK bytes as
``\\ufffd`` and prefers ``filename`` to ``filename*`` (RFC 6266 says the opposite).  So each
name is also decoded by hand from the raw header (GB2312/GBK/GB18030 all decoded as GB18030,
fragments joined at the byte level before decoding, undeclared bytes decoded as UTF-8, else
GB18030); the hand result is used when it decodes cleanly, the stdlib result otherwise.
Names are reduced to their last path component by the caller (some clients send
``C:\\Users\\...\\表.xlsx``).

Of the stdlib, what does the job as the mail clients need is used: `email.utils.decode_rfc2231`
splits a ``charset'language'value``, `urllib.parse.unquote_to_bytes` undoes its percent
escapes.  `email.header.decode_header` was tried for `decode_words` and not taken: it turns
non-ASCII text beside an encoded word (``前缀 =?utf-8?B?6KGo?=``, or raw GBK bytes) into
``\\uXXXX`` escapes, and refuses a base64 word one character too long, which the hand decoder
reads.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email.utils
import re
from email.message import Message
from urllib.parse import unquote_to_bytes


def raw_header(part: Message, name: str) -> str | None:
    for key, value in part.raw_items():
        if key.lower() == name:
            return value
    return None


def part_filename(part: Message) -> str | None:
    try:
        stdlib = part.get_filename()
    except Exception:  # noqa: BLE001 -- header parser bugs on malformed input
        stdlib = None
    try:
        by_hand = _hand_filename(part)
    except Exception:  # noqa: BLE001
        by_hand = None
    if by_hand and _clean(by_hand):
        return by_hand
    if stdlib and _clean(stdlib):
        return stdlib
    return by_hand or stdlib


_LEFTOVER_WORD = re.compile(r"=\?[^?]+\?[bBqQ]\?")


def _clean(name: str) -> bool:
    return not (
        "\ufffd" in name
        or any("\udc80" <= ch <= "\udcff" or ch < " " for ch in name)
        or _LEFTOVER_WORD.search(name)
    )


def _hand_filename(part: Message) -> str | None:
    for header, key in (("content-disposition", "filename"), ("content-type", "name")):
        raw = raw_header(part, header)
        if raw is None:
            continue
        value = _param(_split_params(unfold(raw)), key)
        if value:
            return value
    return None


def unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def _split_params(value: str) -> list[tuple[str, str]]:
    """``name=value`` pairs after the first ``;``, lenient about quoting and spaces.

    In quoted strings a backslash escapes only ``"`` and ``\\``, so unescaped Windows paths
    survive.
    """
    out: list[tuple[str, str]] = []
    i = value.find(";")
    if i < 0:
        return out
    n = len(value)
    i += 1
    while i < n:
        while i < n and value[i] in " \t;":
            i += 1
        j = i
        while j < n and value[j] not in "=;":
            j += 1
        name = value[i:j].strip().lower()
        if j >= n or value[j] == ";":
            i = j
            continue
        j += 1
        while j < n and value[j] in " \t":
            j += 1
        if j < n and value[j] == '"':
            j += 1
            buf = []
            while j < n and value[j] != '"':
                if value[j] == "\\" and j + 1 < n and value[j + 1] in '"\\':
                    j += 1
                buf.append(value[j])
                j += 1
            text = "".join(buf)
            while j < n and value[j] != ";":
                j += 1
        else:
            k = j
            while k < n and value[k] != ";":
                k += 1
            text = value[j:k].strip()
            j = k
        if name:
            out.append((name, text))
        i = j
    return out


def _to_bytes(text: str) -> bytes:
    """Back to the header's bytes: 8-bit bytes were kept as surrogate escapes by the parser."""
    return text.encode("utf-8", "surrogateescape")


def _param(params: list[tuple[str, str]], key: str) -> str | None:
    values: dict[str, str] = {}
    sections: dict[int, tuple[bool, str]] = {}
    section_re = re.compile(re.escape(key) + r"\*(\d+)(\*?)")
    for name, value in params:
        values.setdefault(name, value)
        m = section_re.fullmatch(name)
        if m:
            sections.setdefault(int(m[1]), (bool(m[2]), value))
    if key + "*" in values:                              # RFC 2231: name*=charset'lang'%XX
        charset, text = _split_2231(values[key + "*"])
        return _decode_bytes(unquote_to_bytes(_to_bytes(text)), charset)
    if sections:                                         # RFC 2231 continuations
        charset = None
        chunks = []
        for index in range(len(sections)):
            if index not in sections:
                break
            encoded, text = sections[index]
            if encoded:
                if index == 0:
                    charset, text = _split_2231(text)
                chunks.append(unquote_to_bytes(_to_bytes(text)))
            else:
                chunks.append(_to_bytes(text))
        return _decode_bytes(b"".join(chunks), charset)
    if key in values:                                    # plain, RFC 2047 words or raw 8-bit
        return decode_words(values[key])
    return None


def _split_2231(text: str) -> tuple[str | None, str]:
    """``charset'language'value`` -> (charset, value); the value stays percent-encoded."""
    charset, _language, rest = email.utils.decode_rfc2231(text)
    return charset or None, rest


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?(.*?)\?=")


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words anywhere in ``text``; adjacent words of one charset are
    joined as bytes first (clients split multi-byte characters over two words)."""
    pieces: list[tuple[str | None, bytes]] = []
    pos = 0
    for m in _ENCODED_WORD.finditer(text):
        between = text[pos:m.start()]
        if between and not (between.isspace() and pieces and pieces[-1][0] is not None):
            pieces.append((None, _to_bytes(between)))
        charset = _codec(m[1].split("*")[0]) or m[1]
        raw = _b_decode(m[3]) if m[2] in "bB" else _q_decode(m[3])
        if pieces and pieces[-1][0] == charset:
            pieces[-1] = (charset, pieces[-1][1] + raw)
        else:
            pieces.append((charset, raw))
        pos = m.end()
    if pos < len(text):
        pieces.append((None, _to_bytes(text[pos:])))
    return "".join(_decode_bytes(raw, charset) for charset, raw in pieces)


def _b_decode(text: str) -> bytes:
    text = re.sub(r"[^A-Za-z0-9+/]", "", text)
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return base64.b64decode(text[: len(text) // 4 * 4])


def _q_decode(text: str) -> bytes:
    raw = _to_bytes(text).replace(b"_", b" ")
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m[1], 16)]), raw)


_GB_FAMILY = frozenset({"gb2312", "gbk", "gb18030", "cp936", "ms936", "euc_cn", "euccn", "x-gbk",
                        "gb_2312-80", "csgb2312", "chinese", "936"})


def _codec(charset: str | None) -> str | None:
    """A Python codec for a MIME charset name; the GB family is decoded as GB18030."""
    if not charset:
        return None
    charset = charset.strip().strip('"').lower()
    if charset in _GB_FAMILY:
        return "gb18030"
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        return None
    return "gb18030" if name in ("gb2312", "gbk", "gb18030") else name


def _decode_bytes(raw: bytes, charset: str | None = None) -> str:
    """Decode with the declared charset, else UTF-8, else GB18030."""
    codec = _codec(charset)
    for encoding in (codec, "utf-8", "gb18030"):
        if encoding is None:
            continue
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            pass
