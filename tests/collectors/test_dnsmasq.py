"""dnsmasq / Pi-hole pihole.log: line forms, what is ignored, round trips, hostile input."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import ParseContext
from collectors.dns import dnsmasq
from collectors.errors import ParseError
from collectors.event import Event

REF = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
CTX = ParseContext(reference=REF)
HEAD = "Nov 29 08:00:01 dnsmasq[812]: "


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> float:
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=dt.UTC).timestamp()


def one(line: str, ctx: ParseContext = CTX) -> Event | None:
    return dnsmasq.make_parser(ctx)(line, 7)


def test_query_line_is_an_event() -> None:
    ev = one(HEAD + "query[A] Classroom.Google.com from 10.10.0.12")
    assert ev == Event(utc(2026, 11, 29, 8, 0, 1), "dns", "10.10.0.12", "", "classroom.google.com",
                       "allowed", None, "A")
    assert ev is not None and ev.line == 7


@pytest.mark.parametrize("prefix", ["", "17 10.10.0.12/50123 ", "17 ", "UDP 17 10.10.0.12/50123 ",
                                    "TCP 18 [2001:db8::1]/53000 ", "UDP "])
def test_extra_and_proto_forms(prefix: str) -> None:
    ev = one(HEAD + prefix + "query[AAAA] example.com from 10.10.0.12")
    assert ev is not None and (ev.client, ev.host, ev.qtype) == ("10.10.0.12", "example.com", "AAAA")


@pytest.mark.parametrize(("shown", "qtype"), [("type=65", "HTTPS"), ("type=64", "SVCB"),
                                               ("type=65534", "TYPE65534"), ("HTTPS", "HTTPS")])
def test_numeric_types_are_mapped(shown: str, qtype: str) -> None:
    ev = one(HEAD + f"query[{shown}] example.com from 10.10.0.12")
    assert ev is not None and ev.qtype == qtype


@pytest.mark.parametrize("msg", [
    "forwarded example.com to 10.20.0.53",
    "forwarded example.com to 10.20.0.53#5353",
    "reply example.com is 93.184.216.34",
    "reply example.com is 93.184.216.34 (DNSSEC signed)",
    "reply example.com is NODATA-IPv6 (EDE: stale answer)",
    "cached example.com is <CNAME>",
    "cached-stale example.com is 93.184.216.34",
    "config wpad.example is NXDOMAIN",
    "/etc/hosts printer.example is 10.1.2.3",
    "/etc/pihole/custom.list nas.lan is 10.1.2.4",
    "DHCP laptop.lan is 10.1.2.5",
    "validation result is INSECURE",
    "dnssec-query[DS] example.com to 10.20.0.53",
    "auth[SOA] district.example from 198.51.100.7",
    "gravity blocked doubleclick.net is 0.0.0.0",
    "gravity blocked (CNAME) tracker.example is 0.0.0.0",
    "regex blacklisted tiktok.com is 0.0.0.0",
    "regex denied tiktok.com is ::",
    "exactly blacklisted bad.example is 0.0.0.0",
    "exactly denied bad.example is 0.0.0.0",
    "special domain mask.icloud.com is NXDOMAIN",
    "Pi-hole hostname pi.hole is 10.20.0.2",
    "Rate-limiting 10.1.2.3 for at least 60 seconds",
    "started, version 2.90 cachesize 10000",
    "compile time options: IPv6 GNU-getopt DBus i18n IDN2 DHCP DHCPv6 no-Lua TFTP",
    "17 10.10.0.12/50123 reply example.com is 93.184.216.34",
    "UDP 17 10.10.0.12/50123 gravity blocked doubleclick.net is 0.0.0.0",
    "exiting on receipt of SIGTERM",
])
def test_other_dnsmasq_and_pihole_lines_are_ignored(msg: str) -> None:
    assert one(HEAD + msg) is None


@pytest.mark.parametrize("line", [
    "Nov 29 08:00:01 dnsmasq-dhcp[812]: DHCPACK(eth0) 10.1.2.3 aa:bb:cc:dd:ee:ff laptop",
    "Nov 29 08:00:01 dnsmasq-tftp[812]: sent /srv/tftp/pxelinux.0 to 10.1.2.3",
    "Nov 29 08:00:01 gw kernel: [1.0] eth0: link up",
    "Nov 29 08:00:01 gw sshd[99]: Accepted publickey for admin from 10.1.2.3 port 50000",
    "Nov 29 08:00:01 gw a message without a tag",
    "<30>Nov 29 08:00:01 gw cron[5]: (root) CMD (run-parts /etc/cron.hourly)",
])
def test_other_programs_in_a_syslog_file_are_ignored(line: str) -> None:
    assert one(line) is None


def test_blocked_query_stays_allowed() -> None:
    # The verdict comes on the next line; the lookup still shows intent to use the service.
    parse = dnsmasq.make_parser(CTX)
    ev = parse(HEAD + "3 10.1.2.3/5000 query[A] doubleclick.net from 10.1.2.3", 1)
    assert parse(HEAD + "3 10.1.2.3/5000 gravity blocked doubleclick.net is 0.0.0.0", 2) is None
    assert ev is not None and ev.action == "allowed"


def test_header_forms_agree() -> None:
    want = utc(2026, 11, 29, 8, 0, 1)
    for line in [
        "Nov 29 08:00:01 dnsmasq[812]: query[A] a.example from 10.1.2.3",
        "Nov 29 08:00:01 ns1 dnsmasq[812]: query[A] a.example from 10.1.2.3",
        "Nov 29 08:00:01 ns1 pihole-FTL[812]: query[A] a.example from 10.1.2.3",
        "Nov 29 08:00:01 ns1 daemon.info dnsmasq[812]: query[A] a.example from 10.1.2.3",
        "<30>Nov 29 08:00:01 dnsmasq[812]: query[A] a.example from 10.1.2.3",
        "<30>Nov 29 08:00:01 ns1 dnsmasq[812]: query[A] a.example from 10.1.2.3",
        "<30>Nov 29 08:00:01 ns1 daemon.info dnsmasq[812]: query[A] a.example from 10.1.2.3",
        "2026-11-29T08:00:01Z ns1 dnsmasq[812]: query[A] a.example from 10.1.2.3",
        "<30>1 2026-11-29T08:00:01.000Z ns1 dnsmasq 812 - - query[A] a.example from 10.1.2.3",
        "Sun Nov 29 08:00:01 2026 daemon.info dnsmasq[812]: query[A] a.example from 10.1.2.3",
    ]:
        ev = one(line)
        assert ev is not None and ev.ts == want and ev.host == "a.example", line
    ev = one("Nov 29 08:00:01.250 ns1 dnsmasq[812]: query[A] a.example from 10.1.2.3")
    assert ev is not None and ev.ts == want + 0.25


def test_local_zone_and_year_inference() -> None:
    chi = ParseContext(tz=zoneinfo.ZoneInfo("America/Chicago"),
                       reference=dt.datetime(2027, 1, 1, 7, tzinfo=dt.UTC))
    parse = dnsmasq.make_parser(chi)
    dec = parse("Dec 31 23:59:59 dnsmasq[1]: query[A] a.example from 10.1.2.3", 1)
    jan = parse("Jan  1 00:00:01 dnsmasq[1]: query[A] a.example from 10.1.2.3", 2)
    assert dec is not None and jan is not None
    assert dec.ts == utc(2027, 1, 1, 5, 59, 59) and jan.ts - dec.ts == 2


def test_root_ipv6_and_ptr() -> None:
    ev = one(HEAD + "query[NS] . from 2001:DB8::1")
    assert ev is not None and (ev.host, ev.client) == (".", "2001:db8::1")
    ev = one(HEAD + "query[PTR] 3.2.1.10.in-addr.arpa from 10.1.2.3")
    assert ev is not None and ev.host == "3.2.1.10.in-addr.arpa" and ev.qtype == "PTR"


@pytest.mark.parametrize(("line", "reason"), [
    ("dnsmasq[812]: query[A] a.example from 10.1.2.3", "no timestamp"),
    ("Nov 31 08:00:01 dnsmasq[812]: query[A] a.example from 10.1.2.3", "bad timestamp"),
    (HEAD + "query[A] a.example", "malformed query line"),
    (HEAD + "query[A] a.example to 10.1.2.3", "malformed query line"),
    (HEAD + "x y z query[A] a.example from 10.1.2.3", "malformed query line"),
    (HEAD + "query[A] a..example from 10.1.2.3", "invalid query name"),
    (HEAD + "query[A] a.example from somewhere", "bad client address"),
    (HEAD + "query[type=x] a.example from 10.1.2.3", "bad query type"),
    (HEAD + "query[type=70000] a.example from 10.1.2.3", "bad query type"),
    ("hello world", "not a dnsmasq log line"),
])
def test_rejects(line: str, reason: str) -> None:
    with pytest.raises(ParseError) as exc:
        one(line)
    assert exc.value.reason == reason


def test_sniff() -> None:
    pihole = [
        "Nov 29 08:00:01 dnsmasq[812]: query[A] a.example from 10.1.2.3",
        "Nov 29 08:00:01 dnsmasq[812]: gravity blocked a.example is 0.0.0.0",
    ]
    assert dnsmasq.sniff(pihole)
    assert dnsmasq.sniff(["Nov 29 08:00:01 ns1 pihole-FTL[1]: forwarded a.example to 9.9.9.9"])
    assert not dnsmasq.sniff(["[1795960801] unbound[2710:0] info: 10.1.2.3 a.example. A IN"])
    assert not dnsmasq.sniff(["Nov 29 08:00:01 gw dnsmasq-dhcp[1]: DHCPACK(eth0) 10.1.2.3 aa:bb"])
    assert not dnsmasq.sniff(["29-Nov-2026 14:03:01.101 queries: info: client @0x1 10.1.2.3#5 "
                              "(a.example): query: a.example IN A +E(0)K (10.20.0.53)"])


label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
hosts = st.lists(label, min_size=2, max_size=4).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.ip_addresses(v=6).map(str)
seconds = st.integers(1_700_000_000, 1_900_000_000).map(float)


@settings(max_examples=200, deadline=None)
@given(ts=seconds, client=st.one_of(ipv4, ipv6), host=hosts,
       qtype=st.sampled_from(["A", "AAAA", "HTTPS", "TXT", "PTR", "SRV"]),
       serial=st.one_of(st.none(), st.integers(1, 10**6)))
def test_round_trip(ts: float, client: str, host: str, qtype: str, serial: int | None) -> None:
    ev = Event(ts, "dns", client, "", host, "allowed", None, qtype, line=1)
    ctx = ParseContext(reference=dt.datetime.fromtimestamp(ts, dt.UTC))
    assert dnsmasq.make_parser(ctx)(dnsmasq.render(ev, serial=serial), 1) == ev


fragments = st.sampled_from([
    "Nov 29 08:00:01 ", "<30>", "dnsmasq[812]: ", "pihole-FTL[1]: ", "ns1 ", "query[", "A] ",
    "type=65] ", " from ", "10.1.2.3", "::1", "a.example", " ", "]", "[", ": ", "17 ", "UDP ",
    "10.1.2.3/5000 ", "Sun Nov 29 08:00:01 2026 ", "daemon.info ", "[1795960924.250] ",
    "2026-11-29T08:00:01Z ", "<30>1 ", "- - ", "gravity blocked ", "\x00", "é", ".", "²", "type=²] ",
])


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(fragments, max_size=12), tail=st.text(max_size=20))
def test_hostile_lines_only_raise_parse_error(parts: list[str], tail: str) -> None:
    line = ("".join(parts) + tail).replace("\n", " ")
    try:
        ev = dnsmasq.make_parser(CTX)(line, 1)
    except ParseError:
        return
    assert ev is None or isinstance(ev, Event)
