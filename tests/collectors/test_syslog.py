"""Syslog headers and year inference for stamps without a year."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.clock import LocalClock
from collectors.errors import ParseError
from collectors.syslog import has_syslog_header, split_syslog

CHI = zoneinfo.ZoneInfo("America/Chicago")


def utc(*a: int) -> float:
    return dt.datetime(*a, tzinfo=dt.UTC).timestamp()


def test_a_log_spanning_new_year_stays_in_order() -> None:
    clock = LocalClock(CHI)
    ref = utc(2027, 1, 1, 7)  # 01:00 on 1 January in Chicago
    dec = clock.syslog_stamp("Dec 31 23:59:59", ref)
    jan = clock.syslog_stamp("Jan  1 00:00:01", ref)
    assert dec == utc(2027, 1, 1, 5, 59, 59)
    assert jan - dec == 2


def test_a_line_a_little_after_the_reference_is_this_year_not_last() -> None:
    # Clock skew: a line stamped three hours after the file's mtime.
    assert LocalClock(dt.UTC).syslog_stamp("Jan  1 02:00:00", utc(2026, 12, 31, 23)) == \
        utc(2027, 1, 1, 2)


def test_leap_day_goes_back_to_the_last_leap_year() -> None:
    assert LocalClock(dt.UTC).syslog_stamp("Feb 29 10:00:00", utc(2026, 11, 29)) == \
        utc(2024, 2, 29, 10)


@settings(max_examples=300, deadline=None)
@given(t=st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1)),
       lag=st.integers(0, 300 * 86_400))
def test_year_inference_recovers_any_time_within_300_days(t: dt.datetime, lag: int) -> None:
    t = t.replace(tzinfo=dt.UTC, microsecond=0)
    stamp = f"{t:%b} {t.day:2d} {t:%H:%M:%S}"
    assert LocalClock(dt.UTC).syslog_stamp(stamp, t.timestamp() + lag) == t.timestamp()


@pytest.mark.parametrize(("line", "want"), [
    ("Nov 29 10:00:00 ns1 named[812]: client @0x1 10.1.2.3#5 (a.b): query: a.b IN A +",
     ("ns1", "named", "812", "client @0x1 10.1.2.3#5 (a.b): query: a.b IN A +")),
    ("<30>Nov 29 10:00:00 ns1 unbound: [1:0] info: 10.1.2.3 a.b. A IN",
     ("ns1", "unbound", "", "[1:0] info: 10.1.2.3 a.b. A IN")),
    ("2026-11-29T10:00:00.123456-06:00 dns1 dnsmasq[99]: query[A] a.b from 10.1.2.3",
     ("dns1", "dnsmasq", "99", "query[A] a.b from 10.1.2.3")),
    ('<165>1 2026-11-29T16:00:00.000Z ib01 named 77 - [meta x="a]b"] \ufeffhello world',
     ("ib01", "named", "77", "hello world")),
    ("<165>1 2026-11-29T16:00:00Z - - - - - msg", ("", "", "", "msg")),
])
def test_headers(line: str, want: tuple[str, str, str, str]) -> None:
    got = split_syslog(line, LocalClock(CHI), utc(2026, 11, 30))
    assert (got.host, got.app, got.pid, got.msg) == want
    assert has_syslog_header(line)
    assert abs(got.ts - utc(2026, 11, 29, 16)) < 1


@pytest.mark.parametrize("line", [
    "", "hello", "<x>Nov 29 10:00:00 h t: m", "Nov 29 25:00:00 h t: m",
    "<165>1 2026-11-29T16:00:00Z h a p", "<1>1 2026-13-01T00:00:00Z h a p m - x",
    '<1>1 2026-11-29T16:00:00Z h a p m [x y="unterminated'])
def test_bad_headers_raise_parse_error(line: str) -> None:
    with pytest.raises(ParseError):
        split_syslog(line, LocalClock(dt.UTC), utc(2026, 11, 30))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_arbitrary_text_only_raises_parse_error(text: str) -> None:
    try:
        got = split_syslog(text, LocalClock(dt.UTC), utc(2026, 11, 30))
    except ParseError:
        return
    assert isinstance(got.msg, str) and isinstance(got.ts, float)
