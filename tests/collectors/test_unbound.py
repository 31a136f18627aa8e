"""Unbound log-queries / log-replies: stamps, reply counting, what is ignored, hostile input."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import ParseContext
from collectors.dns import unbound
from collectors.errors import ParseError
from collectors.event import Event

REF = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
CTX = ParseContext(reference=REF)
T = 1795960801  # 2026-11-29T14:00:01Z
Q = f"[{T}] unbound[2710:0] info: 10.10.0.12 classroom.google.com. A IN"
R = f"[{T}] unbound[2710:0] info: 10.10.0.12 classroom.google.com. A IN NOERROR 0.012345 0 62"


def one(line: str, ctx: ParseContext = CTX) -> Event | None:
    return unbound.make_parser(ctx)(line, 3)


def test_query_line_is_an_event() -> None:
    assert one(Q) == Event(float(T), "dns", "10.10.0.12", "", "classroom.google.com", "allowed",
                           None, "A")


def test_replies_count_until_a_query_line_is_seen() -> None:
    parse = unbound.make_parser(CTX)
    assert parse(R, 1) is not None  # a server logging replies only
    assert parse(Q, 2) is not None
    assert parse(R, 3) is None  # ... now it logs both: the query line counted it
    assert parse(R.replace(" info: ", " reply: "), 4) is None


def test_reply_event_has_no_numeric_status() -> None:
    ev = one(R.replace("NOERROR", "NXDOMAIN"))
    assert ev is not None and ev.status is None and ev.action == "allowed"


def test_stamp_forms_agree() -> None:
    chi = ParseContext(tz=zoneinfo.ZoneInfo("America/Chicago"), reference=REF)
    msg = "info: 10.10.0.12 classroom.google.com. A IN"
    for line in [
        f"[{T}] unbound[2710:0] {msg}",
        f"[{T}] unbound[2710:1f] {msg}",
        f"[{T}] resolver-7[2710:0] {msg}",  # log-identity
        f"Nov 29 08:00:01 unbound[2710:0] {msg}",
        f"2026-11-29T08:00:01.000-06:00 unbound[2710:0] {msg}",
        f"Nov 29 08:00:01 ns1 unbound: [2710:0] {msg}",
        f"Nov 29 08:00:01 ns1 unbound[2710]: [2710:0] {msg}",
        f"<30>Nov 29 08:00:01 unbound[2710]: [2710:0] {msg}",
        f"<30>1 2026-11-29T14:00:01Z ns1 unbound 2710 - - [2710:0] {msg}",
        f"2026-11-29T08:00:01-06:00 ns1 unbound: [2710:0] {msg}",
        f"[{T}] unbound[2710:0] query: 10.10.0.12 classroom.google.com. A IN",
    ]:
        ev = unbound.make_parser(chi)(line, 1)
        assert ev is not None and ev.ts == T and ev.host == "classroom.google.com", line


def test_pfsense_resolver_log_line() -> None:
    # The shape of pfSense's resolver.log (syslog without a host name).
    ev = one("<30>Aug 15 16:19:02 unbound[26931]: [26931:2] info: 172.16.33.2 clients4.example. A IN")
    assert ev is not None and (ev.client, ev.host, ev.qtype) == ("172.16.33.2", "clients4.example", "A")
    assert ev.ts == dt.datetime(2026, 8, 15, 16, 19, 2, tzinfo=dt.UTC).timestamp()


@pytest.mark.parametrize(("shown", "qtype"), [("TYPE65", "HTTPS"), ("TYPE64", "SVCB"),
                                               ("HTTPS", "HTTPS"), ("TYPE65280", "TYPE65280")])
def test_unknown_type_numbers_are_mapped(shown: str, qtype: str) -> None:
    ev = one(f"[{T}] unbound[1:0] info: 10.1.2.3 example.com. {shown} IN")
    assert ev is not None and ev.qtype == qtype


@pytest.mark.parametrize("msg", [
    "notice: init module 0: validator",
    "info: start of service (unbound 1.19.0).",
    "info: resolving example.com. A IN",
    "info: response for example.com. A IN",
    "info: reply from <example.com.> 192.0.2.53#53",
    "info: query response was ANSWER",
    "info: 10.1.2.3 - - - FORMERR - - - ",
    "info: example.com. static 10.1.2.3@5000 printer.example.com. A IN",
    "info: rpz: applied [rpz.example] bad.example. rpz-nxdomain 10.1.2.3@5000 bad.example. A IN",
    "info: SERVFAIL <broken.example. A IN>: all servers for this domain failed",
    "error: SERVFAIL <broken.example. A IN>: exceeded the maximum nameserver nxdomains",
    "debug: cache memory msg=66216 rrset=66216 infra=7936 val=66280",
    "fatal error: could not open ports",
    "info: server stats for thread 0: 12 queries, 3 answers from cache, 9 recursions",
    "info:    0.000000    0.000001 3",
    "info: generate keytag query _ta-4f66. NULL IN",
    "warning: too many file descriptors requested.",
])
def test_other_messages_are_ignored(msg: str) -> None:
    assert one(f"[{T}] unbound[2710:0] {msg}") is None


def test_other_programs_in_syslog_are_ignored() -> None:
    assert one("Nov 29 08:00:10 ns1 systemd[1]: Started unbound.service - Unbound DNS server.") is None


@pytest.mark.parametrize(("line", "reason"), [
    (f"[{T}] unbound[2710:0]", "truncated unbound line"),
    (f"[{T}] unbound[2710:0] hello 10.1.2.3", "malformed unbound line"),
    (f"[1x{T}] unbound[2710:0] info: 10.1.2.3 a.example. A IN", "bad timestamp"),
    ("Nov 31 08:00:01 unbound[2710:0] info: 10.1.2.3 a.example. A IN", "bad timestamp"),
    (f"[{T}] unbound[2710:0] info: 10.1.2.3 a..example. A IN", "invalid query name"),
    (f"[{T}] unbound[2710:0] info: 10.1.2.3 a?b.example. A IN", "invalid query name"),
    (f"[{T}] unbound[2710:0] info: 10.1.2.3 a.example. A%B IN", "bad query type"),
    ("Nov 29 08:00:05 ns1 unbound: [2710:0", "truncated unbound line"),
    ("a line of something else", "not an unbound log line"),
])
def test_rejects(line: str, reason: str) -> None:
    with pytest.raises(ParseError) as exc:
        one(line)
    assert exc.value.reason == reason


def test_sniff() -> None:
    assert unbound.sniff([Q, R])
    assert unbound.sniff(["<30>Aug 15 16:19:02 unbound[26931]: [26931:0] info: 10.1.2.3 a.example. A IN"])
    assert not unbound.sniff(["Nov 29 08:00:01 dnsmasq[812]: query[A] a.example from 10.1.2.3"])
    assert not unbound.sniff(["Nov 29 08:00:10 ns1 systemd[1]: Started unbound.service."])


label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
hosts = st.lists(label, min_size=2, max_size=4).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.ip_addresses(v=6).map(str)


@settings(max_examples=200, deadline=None)
@given(ts=st.integers(1_600_000_000, 1_900_000_000).map(float), client=st.one_of(ipv4, ipv6),
       host=hosts, qtype=st.sampled_from(["A", "AAAA", "HTTPS", "TXT", "PTR", "SVCB"]),
       thread=st.integers(0, 300))
def test_round_trip(ts: float, client: str, host: str, qtype: str, thread: int) -> None:
    ev = Event(ts, "dns", client, "", host, "allowed", None, qtype, line=1)
    assert unbound.make_parser(CTX)(unbound.render(ev, thread=thread), 1) == ev


fragments = st.sampled_from([
    f"[{T}] ", "unbound[2710:0] ", "[2710:0] ", "info: ", "query: ", "reply: ", "notice: ",
    "10.1.2.3 ", "::1 ", "a.example. ", ". ", "A ", "TYPE65 ", "IN ", "NOERROR ", "0.001 ", "0 ",
    "45", "Nov 29 08:00:01 ", "<30>", "<30>1 ", "ns1 ", "unbound: ", "2026-11-29T08:00:01Z ",
    "- - ", "[", "]", ":", " ", "\x00", "é", "²", "[²] ", "TYPE² ",
])


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(fragments, max_size=14), tail=st.text(max_size=20))
def test_hostile_lines_only_raise_parse_error(parts: list[str], tail: str) -> None:
    line = ("".join(parts) + tail).replace("\n", " ")
    try:
        ev = unbound.make_parser(CTX)(line, 1)
    except ParseError:
        return
    assert ev is None or isinstance(ev, Event)
