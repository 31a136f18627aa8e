"""Folding lines straight into usage counts, for the formats that need speed.

Most formats are parsed line by line into `Event` objects. A format whose
logs run to hundreds of millions of lines a day (BIND query logs) may also
offer a *folder*: a compiled kernel that turns a chunk of raw bytes directly
into per-day counts keyed by client and host, without building an event per
line. It takes only the lines it is sure of and hands back the rest by index,
so the Python parser stays the single reference for what a line means and for
every reject reason.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple, Protocol


class Tally(NamedTuple):
    """The events of one (kind, client, user, host) on one day, folded."""

    day: dt.date
    """The calendar day, in the context's ``day_zone``, of every event folded here."""
    kind: str
    client: str
    user: str
    host: str
    events: int
    first: float
    """POSIX seconds of the first event."""
    last: float
    blocked: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    uploads: int = 0


class Folder(Protocol):
    def fold(self, data: bytes) -> tuple[int, list[int], int]:
        """Fold the lines of ``data`` (split on newlines; a last line needs none).

        Returns how many lines there were, the 0-based indices of those it did
        not take (for the line parser), and how many it took as valid lines
        that carry no event (the parser would have ignored them). Tallies never straddle a day of
        the context's ``day_zone``.
        """

    def keys(self) -> int:
        """How many keys are held (to bound memory)."""

    def drain(self) -> list[Tally]:
        """Everything folded so far; then start afresh.

        A folder that keeps header state (like its format's parser) may also
        have ``prime(line)``: the driver passes it the lines it replays from the
        top of a file when a read resumes (`LogFormat.header_lines`)."""
