"""FortiGate key=value logs: the splitter, round trips, hostile input and the quirks."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import ParseContext
from collectors.errors import ParseError
from collectors.event import Event
from collectors.proxy import fortigate
from collectors.proxy.fortigate import _kv_slow, parse_kv
from collectors.registry import FORMATS

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
hosts = st.lists(label, min_size=2, max_size=4).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.tuples(*[st.integers(0, 0xFFFF)] * 8).map(lambda t: ":".join(f"{x:x}" for x in t)).map(
    lambda s: str(__import__("ipaddress").ip_address(s)))
stamps = st.integers(1_600_000_000_000, 1_900_000_000_000).map(lambda ms: ms / 1000)
users = st.sampled_from(["", "s12345", "DISTRICT\\jdoe", "jdoe@district.example.org", 'o"brien x'])
categories = st.one_of(st.none(), st.sampled_from(["Games", "Education", "Social Networking", "a=b, c"]))
sizes = st.one_of(st.none(), st.integers(0, 10**12))


def parser(tz: dt.tzinfo = dt.UTC, **options: object):  # type: ignore[no-untyped-def]
    return FORMATS["fortigate"].make_parser(ParseContext(tz=tz, options=dict(options)))


# ----------------------------------------------------------------- the key=value splitter

keys = st.from_regex(r"[a-z_][a-z0-9_-]{0,12}", fullmatch=True)
values = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\\\n"), max_size=30)


@settings(max_examples=200, deadline=None)
@given(pairs=st.dictionaries(keys, values, min_size=1, max_size=12), quote_all=st.booleans())
def test_kv_round_trip(pairs: dict[str, str], quote_all: bool) -> None:
    def show(v: str) -> str:
        bare = v and not quote_all and not any(c.isspace() or c == '"' for c in v) and "=" not in v
        return v if bare else '"' + v.replace('"', '\\"') + '"'
    text = " ".join(f"{k}={show(v)}" for k, v in pairs.items())
    assert parse_kv(text) == pairs


kv_text = st.lists(st.one_of(
    st.sampled_from(['a=1', 'b="x y"', 'c=""', 'd=', '"', '\\"', '=', ' ', '\t', 'e="q\\"r"', "x",
                     'a=2', "'", "\x01", "\x02", "f=\x01", "g=\x02", '="', 'h="', "\xa0", "\x0b"]),
    st.text(max_size=6)), max_size=14).map("".join)


@settings(max_examples=600, deadline=None)
@given(text=st.one_of(kv_text, st.text(max_size=80)))
def test_fast_path_agrees_with_slow_path(text: str) -> None:
    """The Python fast path and the compiled splitter both read as _kv_slow does."""
    from collectors.proxy import fortigate

    readers = [fortigate.parse_kv_python, parse_kv]
    try:
        slow = _kv_slow(text)
    except ParseError:
        for read in readers:
            with pytest.raises(ParseError):
                read(text)
        return
    for read in readers:
        assert read(text) == slow


def test_the_compiled_splitter_is_used_where_built() -> None:
    import os

    from collectors.proxy import fortigate
    if os.environ.get("SENTINEL_REQUIRE_KERNELS"):
        assert fortigate._split_kv is not None


def test_splitter_quirks() -> None:
    assert parse_kv('a="x \\"y\\" z" b=1') == {"a": 'x "y" z', "b": "1"}
    assert parse_kv('tz="-0600" x=1 tz="+0000"') == {"tz": "-0600", "x": "1"}  # first wins
    assert parse_kv('a=1   b="two"    c=') == {"a": "1", "b": "two", "c": ""}
    assert parse_kv('msg="runs to the end') == {"msg": "runs to the end"}
    assert parse_kv("domain=www. google.ca next=1") == {"domain": "www. google.ca", "next": "1"}
    assert parse_kv('k="a=b c=d" l="x,y"') == {"k": "a=b c=d", "l": "x,y"}
    with pytest.raises(ParseError, match="not a key=value line"):
        parse_kv("no pairs here")


# ----------------------------------------------------------------- round trips

@settings(max_examples=200, deadline=None)
@given(ts=stamps, client=st.one_of(ipv4, ipv6), host=hosts, user=users,
       action=st.sampled_from(["allowed", "blocked", "warned"]),
       path=st.sampled_from(["/", "/a?b=c d", "/x,y"]),
       https=st.booleans(), method=st.one_of(st.none(), st.sampled_from(["GET", "POST", "CONNECT"])),
       category=categories, bytes_in=sizes, bytes_out=sizes, tz=st.sampled_from([dt.UTC, CHICAGO]),
       pri=st.booleans())
def test_web_filter_round_trip(ts: float, client: str, host: str, user: str, action: str, path: str,
                               https: bool, method: str | None, category: str | None, bytes_in: int | None,
                               bytes_out: int | None, tz: dt.tzinfo, pri: bool) -> None:
    url = f"{'https' if https else 'http'}://{host}{path}"
    ev = Event(ts, "proxy", client, user, host, action, url, None, method, None, bytes_in, bytes_out,
               category, line=1)
    line = fortigate.render(ev, tz, pri=pri)
    assert parser(tz)(line, 1) == ev
    assert parser(dt.UTC)(line, 1) == ev  # eventtime is UTC: the configured zone does not matter


@settings(max_examples=200, deadline=None)
@given(ts=stamps, client=ipv4, host=st.one_of(hosts, ipv4, ipv6), user=users, blocked=st.booleans(),
       app=st.one_of(st.none(), st.sampled_from(["HTTPS.BROWSER", "Zoom.Video.Conferencing", "YouTube"])),
       category=categories, bytes_in=sizes, bytes_out=sizes)
def test_traffic_round_trip(ts: float, client: str, host: str, user: str, blocked: bool, app: str | None,
                            category: str | None, bytes_in: int | None, bytes_out: int | None) -> None:
    ev = Event(ts, "proxy", client, user, host, "blocked" if blocked else "allowed", None, None, None, None,
               bytes_in, bytes_out, category, None, app, line=1)
    assert parser()(fortigate.render(ev), 1) == ev


# ----------------------------------------------------------------- hostile input

cells = st.sampled_from(['type="utm"', 'subtype="webfilter"', "type=traffic", "subtype=forward",
                         "srcip=10.0.0.1", "srcip=::1", "srcip=x", 'hostname="a.example"', 'hostname=""',
                         "dstip=1.2.3.4", "eventtime=1795968000", "eventtime=99", "date=2026-11-29",
                         "time=10:00:00", "time=1", 'tz="-0600"', 'tz="UTC+2:00"', 'tz="junk"',
                         'url="/"', 'url="https://[::1"', 'action="blocked"', 'action="start"',
                         "sentbyte=-1", "rcvdbyte=12", 'msg="warning"', 'rawdata="Method=GET|x"',
                         'dstname="File Server"', 'app="tcp/80"', '"', "=", "\\"])


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(st.one_of(cells, st.text(max_size=10)), max_size=14), pri=st.booleans())
def test_hostile_lines_only_raise_parse_error(parts: list[str], pri: bool) -> None:
    line = ("<189>" if pri else "") + " ".join(parts)
    try:
        ev = parser(CHICAGO)(line.replace("\n", " "), 1)
    except ParseError:
        return
    assert ev is None or isinstance(ev, Event)


# ----------------------------------------------------------------- quirks

BASE = ('logid="0316013056" type="utm" subtype="webfilter" eventtype="ftgd_blk" srcip=10.1.2.3 '
        'dstip=203.0.113.7 service="HTTPS" hostname="www.example.com" url="https://www.example.com/" ')


@pytest.mark.parametrize(("eventtime", "ts"), [
    ("1795968000", 1795968000.0),
    ("1795968000123", 1795968000.123),
    ("1795968000123456", 1795968000.123456),
    ("1795968000123456789", 1795968000.123456789),
])
def test_eventtime_units_by_length(eventtime: str, ts: float) -> None:
    ev = parser()(f"date=2026-11-29 time=04:00:00 eventtime={eventtime} {BASE}action=\"blocked\"", 1)
    assert ev is not None and ev.ts == ts


@pytest.mark.parametrize(("tz", "hours"), [
    ('tz="-0600"', -6), ('tz="+0530"', 5.5), ('tz="-05:00"', -5), ('tz="UTC+2:00"', 2), ('tz="GMT-3"', -3),
    ('tz="UTC"', 0), ("", -6),  # no tz: the configured zone (Chicago, CST in November)
])
def test_date_time_and_tz(tz: str, hours: float) -> None:
    ev = parser(CHICAGO)(f"date=2026-11-29 time=10:00:00 {tz} {BASE}action=\"blocked\"", 1)
    local = dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC).timestamp()
    assert ev is not None and ev.ts == local - hours * 3600


@pytest.mark.parametrize(("action", "msg", "want"), [
    ("passthrough", "URL belongs to an allowed category in policy", "allowed"),
    ("exempt", "", "allowed"),
    ("blocked", "URL belongs to a denied category in policy", "blocked"),
    ("blocked", "URL belongs to a category with warnings enabled", "warned"),
    ("blocked", "URL was blocked because it is in the URL filter list", "blocked"),
])
def test_web_actions(action: str, msg: str, want: str) -> None:
    ev = parser()(f'eventtime=1795968000 {BASE}action="{action}" msg="{msg}"', 1)
    assert ev is not None and ev.action == want


def test_path_only_url_is_completed_from_hostname() -> None:
    line = ('eventtime=1795968000 logid="0317013312" type="utm" subtype="webfilter" srcip=10.1.2.3 '
            'service="HTTP" hostname="www.example.com" action="passthrough" url="/a b?c=d" method="domain" '
            'rawdata="Method=POST|User-Agent=x"')
    ev = parser()(line, 1)
    assert ev is not None
    assert (ev.url, ev.host, ev.method) == ("http://www.example.com/a b?c=d", "www.example.com", "POST")


@pytest.mark.parametrize(("action", "want"), [
    ("close", "allowed"), ("timeout", "allowed"), ("server-rst", "allowed"), ("client-rst", "allowed"),
    ("accept", "allowed"), ("ip-conn", "allowed"), ("deny", "blocked"),
])
def test_traffic_actions(action: str, want: str) -> None:
    line = (f'eventtime=1795968000 type="traffic" subtype="forward" srcip=10.1.2.3 dstip=203.0.113.7 '
            f'action="{action}" sentbyte=10 rcvdbyte=20')
    ev = parser()(line, 1)
    assert ev is not None
    assert (ev.action, ev.host, ev.bytes_out, ev.bytes_in) == (want, "203.0.113.7", 10, 20)


def test_session_start_only_with_the_option() -> None:
    line = ('eventtime=1795968000 type="traffic" subtype="forward" srcip=10.1.2.3 dstip=203.0.113.7 '
            'action="start"')
    assert parser()(line, 1) is None
    ev = parser(session_start=True)(line, 1)
    assert ev is not None and ev.action == "allowed"


def test_other_types_are_valid_without_an_event() -> None:
    p = parser()
    for line in ('eventtime=1 type="traffic" subtype="local" srcip=10.0.0.1 dstip=10.0.0.2 action="accept"',
                 'eventtime=1 type="event" subtype="system" logdesc="Admin login successful"',
                 'eventtime=1 type="utm" subtype="dns" qname="example.com"'):
        assert p(line, 1) is None


def test_wrapped_and_bare_lines_agree() -> None:
    ev = Event(1795968000.25, "proxy", "10.1.2.3", "jdoe", "www.example.com", "blocked",
               "https://www.example.com/", None, "GET", None, 0, 517, "Games", line=1)
    bare = fortigate.render(ev, CHICAGO)
    p = parser(CHICAGO)
    for line in (bare, "<189>" + bare, "Nov 29 10:00:00 fgt01 " + bare,
                 "<189>Nov 29 10:00:00 fgt01 fortigate[1]: " + bare,
                 "2026-11-29T10:00:00-06:00 fgt01 " + bare):
        assert p(line, 1) == ev


def test_sniff() -> None:
    ev = Event(1795968000.0, "proxy", "10.1.2.3", "", "www.example.com", "allowed", "https://www.example.com/")
    assert fortigate.sniff([fortigate.render(ev), fortigate.render(ev, pri=True)])
    assert not fortigate.sniff(['device="SFW" date=2026-11-29 time=10:00:00 log_id=1 '
                                'log_type="Content Filtering" log_component="HTTP" log_subtype="Allowed"'])
