"""PAN-OS syslog CSV: round trips per record type, hostile rows, version layouts and quirks."""

from __future__ import annotations

import csv
import datetime as dt
import io
import ipaddress
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import ParseContext
from collectors.errors import ParseError
from collectors.event import Event
from collectors.proxy import panos
from collectors.registry import FORMATS

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
hosts = st.lists(label, min_size=2, max_size=4).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n)))
seconds = st.integers(1_600_000_000, 1_900_000_000).map(float)
users = st.sampled_from(["", "district\\s12345", "jdoe@district.example.org", 'o"brien, jr'])
apps = st.one_of(st.none(), st.sampled_from(["ssl", "web-browsing", "youtube-base", "quic"]))


def parser(tz: dt.tzinfo = dt.UTC, **options: object):  # type: ignore[no-untyped-def]
    return FORMATS["panos"].make_parser(ParseContext(tz=tz, options=dict(options)))


@settings(max_examples=200, deadline=None)
@given(ts=seconds, client=st.one_of(ipv4, ipv6), host=hosts, user=users,
       action=st.sampled_from(["allowed", "blocked", "warned"]),
       path=st.sampled_from(["/", "/a?b=c", "/x,y", '/q"uote', ""]),
       method=st.one_of(st.none(), st.sampled_from(["GET", "POST", "CONNECT"])),
       category=st.one_of(st.none(), st.sampled_from(["games", "social-networking", "a,b"])), app=apps,
       tz=st.sampled_from([dt.UTC, CHICAGO]), syslog=st.booleans())
def test_url_filtering_round_trip(ts: float, client: str, host: str, user: str, action: str, path: str,
                                  method: str | None, category: str | None, app: str | None,
                                  tz: dt.tzinfo, syslog: bool) -> None:
    ev = Event(ts, "proxy", client, user, host, action, host + path, None, method, None, None, None,
               category, None, app, line=1)
    line = panos.render(ev, tz, syslog=syslog)
    assert parser(tz)(line, 1) == ev
    # The high-resolution timestamp carries the firewall's offset: another configured zone agrees.
    assert parser(dt.timezone(dt.timedelta(hours=5)))(line, 1) == ev


@settings(max_examples=200, deadline=None)
@given(ts=seconds, client=ipv4, host=st.one_of(hosts, ipv4, ipv6), user=users, blocked=st.booleans(),
       app=apps, category=st.one_of(st.none(), st.sampled_from(["online-meetings", "games"])),
       bytes_in=st.integers(0, 10**12), bytes_out=st.integers(0, 10**12))
def test_traffic_round_trip(ts: float, client: str, host: str, user: str, blocked: bool, app: str | None,
                            category: str | None, bytes_in: int, bytes_out: int) -> None:
    ev = Event(ts, "proxy", client, user, host, "blocked" if blocked else "allowed", None, None, None, None,
               bytes_in, bytes_out, category, None, app, line=1)
    assert parser(CHICAGO)(panos.render(ev, CHICAGO), 1) == ev


cell = st.one_of(st.text(max_size=12), st.sampled_from(
    ["THREAT", "TRAFFIC", "SYSTEM", "url", "end", "start", "2026/11/29 10:00:00", "2026/02/30 10:00:00",
     "10.0.0.1", "::1", "10.0.0.300", "alert", "block-url", "www.example.com/", "bad host/", "[::1/",
     "12", "-1", "any", "2026-11-29T10:00:00.000-06:00", "2026-11-29T10:00:00.000+99:99", ""]))


@settings(max_examples=400, deadline=None)
@given(row=st.lists(cell, max_size=110), quote_all=st.booleans(), header=st.booleans())
def test_arbitrary_rows_only_raise_parse_error(row: list[str], quote_all: bool, header: bool) -> None:
    buf = io.StringIO()
    if quote_all:
        csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="").writerow(row)
    else:
        csv.writer(buf, lineterminator="").writerow(row)
    line = buf.getvalue().replace("\n", " ").replace("\r", " ")
    if header:
        line = "<14>Nov 29 10:00:00 PA-VM " + line
    try:
        ev = parser(CHICAGO)(line, 1)
    except ParseError:
        return
    assert ev is None or isinstance(ev, Event)


def _threat(n: int, **cols: str) -> str:
    f = [""] * n
    base = {0: "1", 1: "2026/11/29 10:00:02", 3: "THREAT", 4: "url", 6: "2026/11/29 10:00:01",
            7: "10.1.2.3", 8: "203.0.113.7", 12: "district\\jdoe", 14: "ssl", 30: "alert",
            31: '"www.example.com/path"', 33: "games", 63: "get"}
    for k, v in {**base, **{int(k[1:]): v for k, v in cols.items()}}.items():
        if k < n:
            f[k] = v
    return ",".join(f)


def test_extra_trailing_columns_are_ignored() -> None:
    p = parser(CHICAGO)
    events = [p(_threat(n), 1) for n in (64, 76, 79, 108, 130)]
    assert all(ev == events[0] for ev in events)
    assert events[0] is not None and events[0].method == "GET"
    short = p(_threat(34), 1)  # a 7.x-size record: no HTTP Method column
    assert short is not None and short.method is None and short.host == "www.example.com"
    with pytest.raises(ParseError, match="too few fields"):
        p(_threat(33), 1)


@pytest.mark.parametrize(("action", "want"), [
    ("alert", "allowed"), ("allow", "allowed"), ("continue", "warned"), ("block-continue", "warned"),
    ("block-override", "warned"), ("override", "warned"), ("override-lockout", "blocked"),
    ("block-url", "blocked"), ("reset-both", "blocked"), ("drop", "blocked"), ("deny", "blocked"),
])
def test_url_actions(action: str, want: str) -> None:
    ev = parser()(_threat(79, c30=action), 1)
    assert ev is not None and ev.action == want


@pytest.mark.parametrize(("url", "host"), [
    ('"www.example.com/a,b"', "www.example.com"), ('"Example.COM:8443/x"', "example.com"),
    ('"[2001:DB8::1]/x"', "2001:db8::1"), ('"203.0.113.9/"', "203.0.113.9"),
    ('"https://www.example.org/x"', "www.example.org"), ('"www.example.net"', "www.example.net"),
    ("", "203.0.113.7"),  # no URL: the destination address
])
def test_url_hosts(url: str, host: str) -> None:
    ev = parser()(_threat(79, c31=url), 1)
    assert ev is not None and ev.host == host


def test_high_resolution_timestamp_gives_the_offset() -> None:
    line = _threat(108, c6="2026/11/29 16:00:01", c107="2026-11-29T16:00:01.250+00:00")
    ev = parser(CHICAGO)(line, 1)  # the firewall runs in UTC although the source says Chicago
    assert ev is not None and ev.ts == dt.datetime(2026, 11, 29, 16, 0, 1, tzinfo=dt.UTC).timestamp()
    junk = _threat(108, c6="2026/11/29 10:00:01", c107="not a stamp")
    ev = parser(CHICAGO)(junk, 1)
    assert ev is not None and ev.ts == dt.datetime(2026, 11, 29, 16, 0, 1, tzinfo=dt.UTC).timestamp()


def test_generated_time_wins_over_receive_time_and_header() -> None:
    line = "<14>Nov 29 23:59:59 PA-VM " + _threat(79, c1="2026/11/29 10:00:09", c6="2026/11/29 10:00:01")
    ev = parser(CHICAGO)(line, 1)
    assert ev is not None and ev.ts == dt.datetime(2026, 11, 29, 16, 0, 1, tzinfo=dt.UTC).timestamp()
    ev2 = parser(CHICAGO)(_threat(79, c1="2026/11/29 10:00:09", c6=""), 1)
    assert ev2 is not None and ev2.ts == ev.ts + 8


def test_wrapped_and_bare_records_agree() -> None:
    bare = _threat(79)
    p = parser(CHICAGO)
    want = p(bare, 1)
    for line in ("<14>Nov 29 10:00:02 PA-VM " + bare, "Nov 29 10:00:02 PA-VM " + bare,
                 "<14>1 2026-11-29T10:00:02-06:00 PA-VM - - - - " + bare, "<14>" + bare):
        assert p(line, 1) == want
    with pytest.raises(ParseError):
        p("some words " + bare, 1)


def test_other_records_are_valid_without_an_event() -> None:
    p = parser()
    assert p(_threat(79, c4="spyware"), 1) is None
    assert p(_threat(79, c3="SYSTEM", c4="general"), 1) is None
    assert p(_threat(79, c3="GLOBALPROTECT", c4="0"), 1) is None
    start = _threat(67, c3="TRAFFIC", c4="start", c32="0", c33="0")
    assert p(start, 1) is None
    ev = parser(session_start=True)(start, 1)
    assert ev is not None and ev.host == "203.0.113.7" and ev.url is None


def test_traffic_destination_hostname_and_category() -> None:
    line = _threat(103, c3="TRAFFIC", c4="end", c30="allow", c31="300", c32="100", c33="200", c37="any",
                   c90="Zoom.US")
    ev = parser()(line, 1)
    assert ev is not None
    assert (ev.host, ev.category, ev.bytes_out, ev.bytes_in, ev.url) == ("zoom.us", None, 100, 200, None)
    bad_name = line.replace("Zoom.US", "not a host!")
    ev = parser()(bad_name, 1)
    assert ev is not None and ev.host == "203.0.113.7"


def test_sniff() -> None:
    ev = Event(1795968000.0, "proxy", "10.1.2.3", "", "www.example.com", "allowed", "www.example.com/")
    assert panos.sniff([panos.render(ev), panos.render(ev, syslog=False)])
    assert not panos.sniff(["1795960981.101    212 10.10.0.12 TCP_MISS/200 5120 GET http://a.example/ - "
                            "HIER_DIRECT/23.185.0.2 text/html"])
