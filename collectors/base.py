"""What a log format is: the types every format module and the registry share.

Kept apart from the registry so a format module can be imported on its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from collectors.event import Event
from collectors.fold import Folder

LineParser = Callable[[str, int], Event | None]
"""Parses one line (without its newline) found at a line number.

Returns an event, or None for a line that is valid but carries no event
(another log category, a header, a cache-hit echo). Raises ParseError for a
line that is not valid in the format.
"""


@dataclass(frozen=True)
class ParseContext:
    """What a parser needs to know about its source."""

    tz: dt.tzinfo = dt.UTC
    """Zone of stamps that carry none."""
    reference: dt.datetime | None = None
    """A time near the log's end (file mtime), to infer missing years."""
    options: dict[str, Any] = field(default_factory=dict)
    day_zone: dt.tzinfo | None = None
    """Zone of the calendar days that folded tallies must not straddle (default ``tz``)."""
    max_line: int = 64 * 1024
    upload_min_bytes: int = 10_240
    """``ingest.upload_min_bytes``: a folder counting uploads itself applies the
    pipeline's threshold (`sentinel.pipeline.Aggregator`)."""


@dataclass(frozen=True)
class LogFormat:
    name: str
    kind: str
    description: str
    sniff: Callable[[Sequence[str]], bool]
    """Cheap test on the first non-empty lines of a file."""
    make_parser: Callable[[ParseContext], LineParser]
    make_folder: Callable[[ParseContext], Folder | None] | None = None
    """A compiled fast path (see `collectors.fold`); None when the format has none."""
    header_lines: int = 0
    """The parser keeps state from the file's first lines (Zeek ``#fields``, a CSV
    header): when a read resumes mid-file, the driver first replays this many
    lines from the top through the parser and discards what they give."""
    priority: int = 100
    """Detection order: lower sniffs first (put specific formats before lenient ones)."""
    sniff_bytes: Callable[[bytes], bool] | None = None
    """Binary formats: a test on the first decompressed bytes (magic numbers)."""
    read_records: RecordReader | None = None
    """Binary formats (pcap, dnstap): read records instead of lines; see `RecordReader`."""


RecordReader = Callable[..., Iterator[Any]]
"""``read_records(path, ctx, stats, *, offset=0, line=0[, final=True, skip_partial=False,
max_line=...]) -> Iterator[Batch]`` for binary formats (and whole documents).
The keywords in brackets are passed when the reader takes them: ``final``
False means the writer may still be appending, so a cut-off last record is
left for the next read rather than rejected. ``offset`` is the byte offset (in the decompressed stream) of
the next record to read and ``line`` the number of records before it; each
`collectors.driver.Batch` carries the events and rejects of a run of records,
and the offset/line after them, so checkpoints work as for text. Records that
cannot be decoded are counted in ``stats`` and rejected with a reason."""
