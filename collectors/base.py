"""What a log format is: the types every format module and the registry share.

Kept apart from the registry so a format module can be imported on its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
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
