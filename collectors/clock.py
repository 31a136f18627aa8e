"""Wall-clock stamps to UTC, fast.

Logs carry millions of stamps but only a few thousand distinct minutes, so the
zone arithmetic is done once per minute and cached.
"""

from __future__ import annotations

import datetime as dt

MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_CACHE_MAX = 100_000


class LocalClock:
    """Converts local times in one zone to POSIX seconds."""

    def __init__(self, tz: dt.tzinfo) -> None:
        self.tz = tz
        self._minutes: dict[str, float] = {}

    def minute(self, key: str, year: int, month: int, day: int, hour: int, minute: int) -> float:
        """POSIX seconds of the start of a local minute; ``key`` caches it."""
        got = self._minutes.get(key)
        if got is None:
            got = dt.datetime(year, month, day, hour, minute, tzinfo=self.tz).timestamp()
            if len(self._minutes) >= _CACHE_MAX:
                self._minutes.clear()
            self._minutes[key] = got
        return got

    def bind_stamp(self, stamp: str) -> float:
        """``29-Nov-2026 10:00:00.123`` (BIND's print-time) in this zone."""
        key = stamp[:17]
        got = self._minutes.get(key)
        if got is None:
            try:
                if stamp[2] != "-" or stamp[6] != "-" or stamp[11] != " " or stamp[14] != ":":
                    raise ValueError
                got = self.minute(key, int(stamp[7:11]), MONTHS[stamp[3:6].lower()],
                                  int(stamp[0:2]), int(stamp[12:14]), int(stamp[15:17]))
            except (ValueError, KeyError, IndexError):
                raise ValueError(f"bad timestamp {stamp[:32]!r}") from None
        sec = float(stamp[18:])
        if not 0 <= sec < 61:
            raise ValueError(f"bad seconds in timestamp {stamp[:32]!r}")
        return got + sec


def iso_stamp(stamp: str, default_tz: dt.tzinfo) -> float:
    """ISO 8601 (``2026-11-29T10:00:00.123``, ``Z`` or an offset optional)."""
    text = stamp[:-1] + "+00:00" if stamp.endswith(("Z", "z")) else stamp
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"bad timestamp {stamp[:40]!r}") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=default_tz)
    return t.timestamp()
