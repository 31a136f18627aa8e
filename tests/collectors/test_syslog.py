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


# ---------------------------------------------------------------- stream framing (RFC 6587)

from collectors.syslog import SyslogFramer  # noqa: E402

MSGS = ["<34>Nov 29 10:00:00 fw1 filterlog: one, with commas",
        "<165>1 2026-11-29T16:00:00Z fw1 app 1 ID47 [x y=\"]\"] \ufeffbody",
        "\ufeff<13>Nov 29 10:00:01 fw1 t: bom first",
        "<13>Nov 29 10:00:02 h t: caf\u00e9 \u2603"]


def octet(m: str) -> bytes:
    raw = m.encode()
    return str(len(raw)).encode() + b" " + raw


@settings(max_examples=200, deadline=None)
@given(framing=st.lists(st.sampled_from(["octet", "lf", "crlf", "nul"]), min_size=4, max_size=4),
       cuts=st.lists(st.integers(1, 500), max_size=20))
def test_messages_come_out_whole_however_the_stream_is_cut(framing: list[str], cuts: list[int]) -> None:
    data = b"".join(octet(m) if f == "octet" else m.encode() + {"lf": b"\n", "crlf": b"\r\n",
                                                               "nul": b"\x00"}[f]
                    for m, f in zip(MSGS, framing, strict=True))
    f = SyslogFramer()
    got: list[str] = []
    pos = 0
    for c in [*sorted(set(cuts)), len(data)]:
        got += f.feed(data[pos:c])
        pos = max(pos, c)
    got += f.feed(data[pos:]) + f.flush()
    assert got == [m.removeprefix("\ufeff") for m in MSGS]
    assert (f.errors, f.truncated) == (0, 0)


def test_over_long_and_broken_frames_are_counted_and_the_stream_goes_on() -> None:
    f = SyslogFramer(max_message=20)
    data = (b"<1>" + b"x" * 50 + b"\n" + b"999999999999 not a count\n" + octet("<5>ok")
            + b"27 <5>" + b"y" * 24 + b"<5>next\n")
    got: list[str] = []
    for i in range(0, len(data), 3):
        got += f.feed(data[i : i + 3])
    got += f.flush()
    assert got == ["<1>" + "x" * 17, "<5>ok", "<5>" + "y" * 17, "<5>next"]
    assert (f.truncated, f.errors) == (2, 1)


def test_a_message_through_syslog_parses_like_the_file_line() -> None:
    from collectors.dns import bind

    line = ("29-Nov-2026 14:05:02.345 queries: info: client @0x1 10.1.2.3#5 (padlet.com): "
            "query: padlet.com IN A + (10.0.0.53)")
    wire = octet(f"<30>1 2026-11-29T14:05:02.345Z ns1 named 812 - - {line}")
    (msg,) = SyslogFramer().feed(wire)
    parse = bind.make_parser(__import__("collectors.base", fromlist=["ParseContext"]).ParseContext())
    assert parse(msg, 1) == parse(line, 1)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.integers(1, 50))
def test_arbitrary_bytes_never_raise(data: bytes, step: int) -> None:
    f = SyslogFramer(max_message=64)
    for i in range(0, len(data), step):
        for m in f.feed(data[i : i + step]):
            assert len(m) <= 64
    f.flush()
