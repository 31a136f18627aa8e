"""Wall-clock stamps to UTC, fast.

Logs carry millions of stamps but only a few thousand distinct minutes, so the
zone arithmetic is done once per minute and cached.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

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


    def syslog_stamp(self, stamp: str, reference: float) -> float:
        """``Nov 29 10:00:00`` or ``Nov  9 10:00:00[.123]`` (no year) in this zone.

        The year is the one that puts the stamp at or before ``reference`` (a
        time near the end of the log, e.g. the file's mtime, or now for a live
        stream), with a day of slack for clock skew: a December line read in
        January belongs to last year, so a log spanning New Year stays in order.
        """
        key = stamp[:12]
        got = self._minutes.get(key)
        if got is None:
            try:
                if stamp[3] != " " or stamp[6] != " " or stamp[9] != ":":
                    raise ValueError
                month = MONTHS[stamp[0:3].lower()]
                day = int(stamp[4:6])
                hour, minute = int(stamp[7:9]), int(stamp[10:12])
                year = dt.datetime.fromtimestamp(reference, self.tz).year
                for y in (year + 1, year, year - 1, year - 2, year - 3, year - 4):
                    try:
                        got = dt.datetime(y, month, day, hour, minute, tzinfo=self.tz).timestamp()
                    except ValueError:  # 29 Feb outside a leap year
                        continue
                    if got <= reference + 86_400:
                        break
                else:
                    raise ValueError
            except (ValueError, KeyError, IndexError):
                raise ValueError(f"bad timestamp {stamp[:32]!r}") from None
            if len(self._minutes) >= _CACHE_MAX:
                self._minutes.clear()
            self._minutes[key] = got
        if len(stamp) < 15 or stamp[12] != ":":
            raise ValueError(f"bad timestamp {stamp[:32]!r}")
        try:
            sec = float(stamp[13:])
        except ValueError:
            raise ValueError(f"bad timestamp {stamp[:32]!r}") from None
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


_EPOCH = dt.datetime(1970, 1, 1)
_LAST_US = 253402300800 * 1_000_000  # 10000-01-01
_NO_FRACTION = float(2**52)


def text_time(t: float | None) -> str | None:
    """POSIX seconds as UTC text ``YYYY-MM-DD HH:MM:SS.ffffff``: the form
    SQLAlchemy's SQLite ``DateTime`` stores and reads back. Rounded to the
    microsecond as SQLite's ``round(t * 1000000)`` rounds (below 2**52, add a
    half away from zero and truncate). None stays None; a time outside years
    1-9999, or not a number, is a ValueError."""
    if t is None:
        return None
    r = float(t) * 1e6
    if not -_LAST_US < r < _LAST_US:  # also NaN
        raise ValueError(f"time out of range: {t!r}")
    # Past 2**52 a double has no fraction left: SQLite adds nothing there.
    a = abs(r)
    us = int(a + 0.5) if a < _NO_FRACTION else int(a)
    us = us if r >= 0 else -us
    try:
        when = _EPOCH + dt.timedelta(microseconds=us)
    except OverflowError:
        raise ValueError(f"time out of range: {t!r}") from None
    return when.isoformat(" ", "microseconds")


def text_times(rows: Sequence[tuple[Any, ...]], cols: tuple[int, ...]) -> list[tuple[Any, ...]]:
    """``rows`` with the POSIX times at positions ``cols`` as `text_time` text
    (compiled when the kernels are built: about 0.2 µs a time)."""
    try:
        from collectors._fold import text_times as compiled
    except ImportError:  # not compiled here
        pass
    else:
        out: list[tuple[Any, ...]] = compiled(rows if isinstance(rows, list) else list(rows),
                                              cols, text_time)
        return out
    slow = []
    for r in rows:
        row = list(r)
        for c in cols:
            row[c] = text_time(row[c])
        slow.append(tuple(row))
    return slow


def flat_values(rows: Sequence[tuple[Any, ...]], cols: tuple[int, ...],
                date_col: int) -> list[Any]:
    """``rows`` as one flat list of values (for a multi-row INSERT): the times
    at ``cols`` as `text_time` text, the date at ``date_col`` as ISO text, the
    rest as they are (compiled when the kernels are built)."""
    try:
        from collectors._fold import flat_values as compiled
    except ImportError:  # not compiled here
        pass
    else:
        out: list[Any] = compiled(rows if isinstance(rows, list) else list(rows), cols,
                                  date_col, text_time)
        return out
    flat: list[Any] = []
    for r in rows:
        for k, v in enumerate(r):
            if k in cols:
                flat.append(text_time(v))
            elif k == date_col and hasattr(v, "isoformat"):
                flat.append(v.isoformat())
            else:
                flat.append(v)
    return flat
