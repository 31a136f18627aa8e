"""POSIX times written as SQLite DateTime text: the compiled and the Python
writer give exactly what SQLite's own strftime/round expression gives (the
expression the store used before the writers took it over)."""

from __future__ import annotations

import datetime as dt
import math
import sqlite3

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from collectors.clock import flat_values, text_time, text_times

_SQL = ("SELECT strftime('%Y-%m-%d %H:%M:%S', CAST(round(?1 * 1000000) AS INTEGER) / 1000000,"
        " 'unixepoch') || printf('.%06d', CAST(round(?1 * 1000000) AS INTEGER) % 1000000)")
_LAST = 253402300799.0  # 9999-12-31 23:59:59

try:
    from collectors import _fold
except ImportError:  # pragma: no cover - the kernels are built by `make install`
    _fold = None  # type: ignore[assignment]


def sqlite_text(t: float) -> str:
    with sqlite3.connect(":memory:") as con:
        return str(con.execute(_SQL, (t,)).fetchone()[0])


times = st.one_of(st.floats(min_value=0, max_value=_LAST, allow_nan=False),
                  st.integers(min_value=0, max_value=int(_LAST)),
                  st.integers(min_value=0, max_value=2**42).map(lambda n: n / 1000 + 5e-7))


@given(times)
@example(0.0)
@example(1_764_460_800.0000005)  # a half microsecond rounds up, as SQLite's round()
@example(1_764_460_800.9999996)  # rounds into the next second
@example(4_503_599_627.370497)  # past 2**52 microseconds: no rounding left
@example(_LAST + 0.5)
def test_text_time_is_sqlites_text(t: float) -> None:
    want = sqlite_text(t)
    assert text_time(t) == want
    assert text_times([("x", t)], (1,)) == [("x", want)]
    if _fold is not None:
        assert _fold.text_times([(t, None)], (0, 1), text_time) == [(want, None)]


def test_text_time_reads_back_as_the_same_instant() -> None:
    t = dt.datetime(2026, 11, 30, 7, 5, 3, 250000, tzinfo=dt.UTC).timestamp()
    assert text_time(t) == "2026-11-30 07:05:03.250000"
    assert dt.datetime.fromisoformat(text_time(t) or "") == dt.datetime(2026, 11, 30, 7, 5, 3,
                                                                          250000)


def test_none_stays_none_and_other_columns_are_untouched() -> None:
    row = ("2026-11-30", "quizlet.com", 3, None, 1.5)
    assert text_times([row], (3, 4)) == [("2026-11-30", "quizlet.com", 3, None,
                                          "1970-01-01 00:00:01.500000")]


def test_rows_may_be_named_tuples_or_lists() -> None:
    from sentinel.store.models import UsageRow
    row = UsageRow(dt.date(2026, 11, 30), "quizlet.com", "hs", "students", "c_1", "", "dns",
                   1, 0, 0, 0, 0, 1.5, 2.25)
    want = (*row[:12], "1970-01-01 00:00:01.500000", "1970-01-01 00:00:02.250000")
    assert text_times([row, list(row)], (12, 13)) == [want, want]


def test_times_before_1970_are_well_formed() -> None:
    # SQLite's printf would write a negative fraction here; ours is a real time.
    assert text_time(-1.5) == "1969-12-31 23:59:58.500000"
    if _fold is not None:
        assert _fold.text_times([(-1.5,)], (0,), text_time) == [("1969-12-31 23:59:58.500000",)]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, _LAST + 1, -1e13])
def test_a_time_out_of_range_is_a_value_error(bad: float) -> None:
    with pytest.raises(ValueError, match="time out of range"):
        text_time(bad)
    if _fold is not None:
        with pytest.raises(ValueError, match="time out of range"):
            _fold.text_times([(bad,)], (0,), text_time)


def test_flat_values_are_the_rows_flattened_with_text_times_and_days() -> None:
    rows = [(dt.date(2026, 11, 30), "quizlet.com", 3, 1.5, None),
            [dt.date(2026, 11, 30), "x.org", 0, 2.25, 1_764_460_800.0000005]]
    want = ["2026-11-30", "quizlet.com", 3, "1970-01-01 00:00:01.500000", None,
            "2026-11-30", "x.org", 0, "1970-01-01 00:00:02.250000",
            "2025-11-30 00:00:00.000001"]
    assert flat_values(rows, (3, 4), 0) == want  # type: ignore[arg-type]
    if _fold is not None:
        assert _fold.flat_values(rows, (3, 4), 0, text_time) == want  # type: ignore[arg-type]
