"""Expand the paths given to ``jixiao import`` into a stream of candidate files.

Budget units send their workbooks by email, zipped or not, sometimes forwarded, sometimes
as a whole mailbox export.  `iter_sources` turns every path it is given into a stream of
`Candidate` files (name + bytes + where they came from) and `SourceProblem` records, one
item at a time.  *Nothing is silently lost*: every input -- a path, a folder, an archive
member, an email -- ends up as at least one `Candidate` or one `SourceProblem`, with the
few documented exceptions (OS junk in folders and archives, inline body images).

The modules, each with the rules it owns in its docstring:

- `items`: what is yielded (`Candidate`, `SourceProblem`), the `Limits`, the context carried down;
- `walk`: paths, folders and files, and the dispatch of a file or blob to its container;
- `zips`: zip archives (member names, zip bombs, path traversal);
- `mail`: maildir folders, mbox files, one message's MIME walk, attachments, dates;
- `headers`: attachment names and subjects (RFC 2047, RFC 2231, Chinese charsets).

Deduplication is NOT done here: the same attachment sent twice (or present in a mail and
in a folder) yields two Candidates with the same ``sha256``; the importer dedups.

Memory: items are produced lazily, one at a time; an mbox is read message by message; a
candidate's bytes are in memory only while it is being yielded (and as long as the
consumer keeps it).
"""

from __future__ import annotations

from jixiao.importer.sources.items import Candidate, Limits, SourceProblem
from jixiao.importer.sources.walk import iter_sources

__all__ = [
    "Candidate",
    "Limits",
    "SourceProblem",
    "iter_sources",
]
