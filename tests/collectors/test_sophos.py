"""Sophos Firewall (XG/SFOS) and UTM 9 web logs: round trips, hostile input, zones and quirks."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import ParseContext
from collectors.errors import ParseError
from collectors.event import Event
from collectors.proxy import sophos
from collectors.registry import FORMATS

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
hosts = st.lists(label, min_size=2, max_size=4).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
seconds = st.integers(1_600_000_000, 1_900_000_000).map(float)
users = st.sampled_from(["", "s12345", "jdoe@district.example.org", 'DISTRICT\\o"brien'])
categories = st.one_of(st.none(), st.sampled_from(["Games", "Search Engines", "Finance & Investing"]))
paths = st.sampled_from(["/", "/a?b=c d", "/x,y", '/q"q'])
actions = st.sampled_from(["allowed", "blocked", "warned"])


def parser(tz: dt.tzinfo = dt.UTC, reference: str = "2026-11-30T00:00:00+00:00"):  # type: ignore[no-untyped-def]
    return FORMATS["sophos"].make_parser(ParseContext(tz=tz, reference=dt.datetime.fromisoformat(reference)))


@settings(max_examples=200, deadline=None)
@given(ts=seconds, client=ipv4, host=hosts, user=users, action=actions,
       path=paths, https=st.booleans(), method=st.one_of(st.none(), st.sampled_from(["GET", "POST"])),
       status=st.one_of(st.none(), st.integers(100, 599)),
       bytes_in=st.one_of(st.none(), st.integers(0, 10**12)),
       bytes_out=st.one_of(st.none(), st.integers(0, 10**12)), category=categories,
       app=st.one_of(st.none(), st.sampled_from(["Zoom", "Roblox"])),
       tz=st.sampled_from([dt.UTC, CHICAGO, BERLIN]), pri=st.booleans())
def test_xg_round_trip(ts: float, client: str, host: str, user: str, action: str, path: str, https: bool,
                       method: str | None, status: int | None, bytes_in: int | None, bytes_out: int | None,
                       category: str | None, app: str | None, tz: dt.tzinfo, pri: bool) -> None:
    url = f"{'https' if https else 'http'}://{host}{path}"
    ev = Event(ts, "proxy", client, user, host, action, url, None, method, status, bytes_in, bytes_out,
               category, None, app, line=1)
    assert parser(tz)(sophos.render(ev, tz, pri=pri), 1) == ev


@settings(max_examples=200, deadline=None)
@given(ts=seconds, client=ipv4, host=hosts, user=users, action=actions,
       path=paths, method=st.sampled_from(["GET", "POST", "CONNECT", "HEAD"]), status=st.integers(100, 599),
       size=st.integers(0, 10**12), category=categories,
       app=st.one_of(st.none(), st.sampled_from(["youtube"])),
       tz=st.sampled_from([dt.UTC, CHICAGO]))
def test_utm_round_trip(ts: float, client: str, host: str, user: str, action: str, path: str, method: str,
                        status: int, size: int, category: str | None, app: str | None, tz: dt.tzinfo) -> None:
    ev = Event(ts, "proxy", client, user, host, action, f"https://{host}{path}", None, method, status, size,
               None, category, None, app, line=1)
    line = sophos.render_utm(ev, tz)
    p = parser(tz, "2099-01-01T00:00:00+00:00")
    assert p(line, 1) == ev
    assert p("<30>" + line, 1) == ev


cells = st.sampled_from(['log_type="Content Filtering"', 'log_type="Firewall"', 'log_subtype="Denied"',
                         "date=2026-11-29", "date=2026-02-30", "time=10:00:00", "time=99:00:00",
                         'timezone="CST"', 'timezone="XYZ"', 'timezone="+0530"',
                         'timestamp="2026-11-29T10:00:00"', 'timestamp="bad"', "src_ip=10.0.0.1",
                         "src_ip=nope",
                         'url="http://a.example/"', 'url="http://[::1"', "domain=a. b", "recv_bytes=12",
                         "recv_bytes=-1", 'http_status="0"',
                         'sys="SecureWeb"', 'sys="SecureNet"', 'action="pass"', 'action="x"', 'srcip="::1"',
                         "2026:11:29-10:00:00 utm httpproxy[1]:", "2026:99:29-10:00:00 utm httpproxy[1]:",
                         'id="0001" severity="info"', 'size="x"', 'statuscode="abc"', '"', "=", "\\"])


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(st.one_of(cells, st.text(max_size=10)), max_size=14), pri=st.booleans())
def test_hostile_lines_only_raise_parse_error(parts: list[str], pri: bool) -> None:
    line = ("<30>" if pri else "") + " ".join(parts)
    try:
        ev = parser(CHICAGO)(line.replace("\n", " "), 1)
    except ParseError:
        return
    assert ev is None or isinstance(ev, Event)


XG = ('device="SFW" date=2026-11-29 time=10:00:00 timezone="{tz}" log_id=050901616001 '
      'log_type="Content Filtering" log_component="HTTP" log_subtype="Allowed" user_name="jdoe" '
      'url="https://www.example.com/" src_ip=10.1.2.3 dst_ip=203.0.113.7 sent_bytes=1 recv_bytes=2 '
      'domain=www.example.com')


@pytest.mark.parametrize(("zone", "name", "offset_hours"), [
    (CHICAGO, "CST", -6),  # the configured zone uses CST in November
    (dt.UTC, "CST", -6),  # the table: US Central
    (dt.UTC, "CDT", -5),
    (BERLIN, "CET", 1),
    (dt.UTC, "CEST", 2),
    (CHICAGO, "GMT", 0),
    (CHICAGO, "UTC", 0),
    (CHICAGO, "+0530", 5.5),
    (CHICAGO, "", -6),  # none: the configured zone
    (CHICAGO, "XYZT", -6),  # unknown: the configured zone
    (zoneinfo.ZoneInfo("Asia/Shanghai"), "CST", 8),  # China Standard Time where that is the zone
])
def test_xg_zone_names(zone: dt.tzinfo, name: str, offset_hours: float) -> None:
    ev = parser(zone)(XG.format(tz=name), 1)
    local = dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC).timestamp()
    assert ev is not None and ev.ts == local - offset_hours * 3600


def test_xg_quirks() -> None:
    p = parser()
    quirk = XG.format(tz="GMT").replace("domain=www.example.com", "domain=www. example.com exceptions=")
    ev = p(quirk, 1)
    assert ev is not None and ev.host == "www.example.com"
    no_url = XG.format(tz="GMT").replace('url="https://www.example.com/"', 'url=""')
    ev = p(no_url.replace("domain=www.example.com", "domain=Files.Example.org"), 1)
    assert ev is not None and ev.host == "files.example.org" and ev.url is None
    schemeless = XG.format(tz="GMT").replace("https://www.example.com/", "cdn.example.net/lib.js")
    ev = p(schemeless, 1)
    assert ev is not None and ev.host == "cdn.example.net"
    ev = p(XG.format(tz="GMT").replace('log_subtype="Allowed"', 'log_subtype="Denied"'), 1)
    assert ev is not None and (ev.action, ev.bytes_in, ev.bytes_out) == ("blocked", 2, 1)
    assert p(XG.format(tz="GMT").replace("Content Filtering", "Firewall"), 1) is None


def test_xg_new_format_with_header() -> None:
    line = ('Nov 29 10:06:00 sophos device_name="SFW" timestamp="2026-11-29T10:06:00-0600" '
            'log_id=050901616001 log_type="Content Filtering" log_component="HTTP" log_subtype="Allowed" '
            'http_category="Online Meeting" url="https://zoom.us/j/1" src_ip="10.1.2.3" '
            'dst_ip="170.114.52.2" bytes_sent=5 bytes_received=6 domain="zoom.us" http_status="0" '
            'app_name="Zoom"')
    ev = parser(dt.UTC)(line, 1)
    assert ev is not None
    assert ev.ts == dt.datetime(2026, 11, 29, 16, 6, tzinfo=dt.UTC).timestamp()
    got = (ev.category, ev.status, ev.bytes_in, ev.bytes_out, ev.app_name)
    assert got == ("Online Meeting", None, 6, 5, "Zoom")


def test_utm_records_without_an_event() -> None:
    p = parser()
    head = "2026:11:29-10:00:00 utm httpproxy[1]: "
    assert p(head + 'id="0003" severity="info" sys="SecureWeb" sub="http" message="SSL error: x"', 1) is None
    assert p(head + 'id="0072" severity="info" sys="SecureWeb" sub="http" name="Contentfilter warned and '
             'proceeded" url="http://a.example/" srcip="10.0.0.1"', 1) is None
    assert p(head + 'id="2001" severity="info" sys="SecureNet" sub="packetfilter" action="drop"', 1) is None
    with pytest.raises(ParseError, match="no timestamp"):
        p('id="0001" severity="info" sys="SecureWeb" sub="http" action="pass" url="http://a.example/"', 1)


def test_utm_header_forms_and_category_lists() -> None:
    body = ('id="0060" severity="info" sys="SecureWeb" sub="http" action="block" method="get" '
            'srcip="10.1.2.3" user="-" statuscode="403" size="10" url="https://www.example.com/" '
            'categoryname="Games, Games,Business"')
    p = parser(CHICAGO)
    want = dt.datetime(2026, 11, 29, 16, 0, tzinfo=dt.UTC).timestamp()
    for line in ("2026:11:29-10:00:00 utm httpproxy[1]: " + body,
                 "<30>2026:11:29-10:00:00 utm httpproxy[1]: " + body,
                 "Nov 29 10:00:00 utm httpproxy[1]: " + body,
                 "<30>Nov 29 10:00:00 utm httpproxy[1]: " + body,
                 "2026-11-29T10:00:00-06:00 utm httpproxy[1]: " + body):
        ev = p(line, 1)
        assert ev is not None and ev.ts == want
        assert (ev.user, ev.method, ev.status, ev.category) == ("", "GET", 403, "Games,Business")


def test_sniff() -> None:
    ev = Event(1795968000.0, "proxy", "10.1.2.3", "", "www.example.com", "allowed", "https://www.example.com/")
    assert sophos.sniff([sophos.render(ev), sophos.render_utm(ev)])
    assert not sophos.sniff(['date=2026-11-29 time=10:00:00 logid="0316013056" type="utm" '
                             'subtype="webfilter"'])
