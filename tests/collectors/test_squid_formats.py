"""Squid ``logformat common`` / ``combined``: round trips, hostile input, quirks, detection."""

from __future__ import annotations

import contextlib
import datetime as dt
import zoneinfo
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import ParseContext
from collectors.errors import ParseError
from collectors.event import Event
from collectors.proxy import squid_formats as sf
from collectors.registry import FORMATS, detect, detect_file, head_lines

DATA = Path(__file__).parent.parent / "data"
CORPUS = Path("/work/shared/corpus/proxy/squid/test-access.log")

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
hosts = st.lists(label, min_size=2, max_size=4).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.tuples(*[st.integers(0, 0xFFFF)] * 8).map(
    lambda t: str(__import__("ipaddress").ip_address(":".join(f"{x:x}" for x in t))))
clients = st.one_of(ipv4, ipv6)
stamps = st.integers(1_600_000_000, 1_900_000_000).map(float)
users = st.one_of(st.sampled_from(["", "s12345", "jdoe", "DISTRICT\\jdoe", "s1@district.example.org",
                                   "Jane Doe", "100%", "[x]", "-"]),
                  st.text(st.characters(codec="utf-8"), max_size=12))
offsets = st.sampled_from([0, -360, -300, 330, 60, -600, 345])
agents = st.text(st.characters(blacklist_characters="\n\r", codec="utf-8"), max_size=60)
LINE = ('10.10.0.13 - s100012 [29/Nov/2026:08:03:02 -0600] "CONNECT www.blooket.com:443 HTTP/1.1" '
        "200 48213 TCP_TUNNEL:HIER_DIRECT")
COMBINED = ('10.10.0.12 - - [29/Nov/2026:08:03:01 -0600] "GET http://www.khanacademy.org/ HTTP/1.1" '
            '200 5120 "-" "Mozilla/5.0 (X11)" TCP_MISS:HIER_DIRECT')


def parse(line: str, ctx: ParseContext | None = None) -> Event | None:
    return sf.make_parser(ctx or ParseContext())(line, 7)


def request(draw: st.DrawFn) -> tuple[str, str]:
    host = draw(hosts)
    method = draw(st.sampled_from(["GET", "POST", "CONNECT", "PUT", "HEAD"]))
    if method == "CONNECT":
        return method, f"{host}:{draw(st.sampled_from([443, 8443, 5228]))}"
    path = draw(st.sampled_from(["/", "/a/b.js", "/q?x=1&y=%20z", "/%E2%9C%93"]))
    return method, f"{draw(st.sampled_from(['http', 'https']))}://{host}{path}"


@st.composite
def events(draw: st.DrawFn) -> Event:
    method, url = request(draw)
    host = url.split("://")[-1].split("/")[0].split(":")[0]
    blocked = draw(st.booleans())
    # (A denied 407 is an authentication challenge: no event, tested on its own.)
    statuses = [None, 200, 204, 302, 403, 503] + ([] if blocked else [407])
    return Event(draw(stamps), "proxy", draw(clients), draw(users), host,
                 "blocked" if blocked else "allowed", url, None, method,
                 draw(st.sampled_from(statuses)),
                 draw(st.one_of(st.none(), st.integers(0, 10**12))), line=7)


# ---------------------------------------------------------------- round trips

@settings(max_examples=300, deadline=None)
@given(ev=events(), offset=offsets)
def test_common_round_trip(ev: Event, offset: int) -> None:
    line = sf.render_common(ev, offset)
    assert parse(line) == ev
    assert sf._shape(line) == "common"


@settings(max_examples=300, deadline=None)
@given(ev=events(), offset=offsets, referer=agents, agent=agents)
def test_combined_round_trip_whatever_the_user_agent(ev: Event, offset: int, referer: str,
                                                     agent: str) -> None:
    line = sf.render_combined(ev, offset, referer, agent)
    assert parse(line) == ev


@settings(max_examples=100, deadline=None)
@given(ev=events(), agent=agents)
def test_syslog_wrapped_line_gives_the_same_event(ev: Event, agent: str) -> None:
    ctx = ParseContext(tz=zoneinfo.ZoneInfo("America/Chicago"),
                       reference=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    line = sf.render_combined(ev, -360, "-", agent)
    for header in ("<134>Nov 29 08:04:40 proxy1 squid[2310]: ", "Nov  2 08:04:40 proxy1 squid: ",
                   "<134>1 2026-11-29T14:04:40Z proxy1 squid 2310 - - ",
                   "2026-11-29T08:04:40.5-06:00 proxy1 squid[1]: "):
        assert parse(header + line, ctx) == ev


# ---------------------------------------------------------------- hostile input

@settings(max_examples=500, deadline=None)
@given(cut=st.integers(0, len(COMBINED)), junk=st.text(max_size=30), drop=st.integers(0, 5))
def test_mangled_lines_raise_parse_error_only(cut: int, junk: str, drop: int) -> None:
    line = (COMBINED[:cut] + junk + COMBINED[cut + drop :]).replace("\n", " ")
    try:
        ev = parse(line)
    except ParseError:
        return
    assert ev is None or isinstance(ev, Event)


@settings(max_examples=300, deadline=None)
@given(fields=st.lists(st.one_of(st.text(max_size=12), st.sampled_from(
    ["-", "[29/Nov/2026:08:03:01", "-0600]", '"GET', "http://a.example/", 'HTTP/1.1"', "200", "000",
     "TCP_DENIED:HIER_NONE", '"', "[", "]", "::1", "10.0.0.1"])), max_size=14))
def test_shuffled_fields_raise_parse_error_only(fields: list[str]) -> None:
    line = " ".join(fields).replace("\n", " ")
    with contextlib.suppress(ParseError):
        parse(line)
    sf.sniff_common([line])
    sf.sniff_combined([line])


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.text(max_size=120).map(lambda s: s.replace("\n", " ")), max_size=5),
       prefix=st.sampled_from(["", "<13>Nov 29 08:03:01 h squid: ",
                               '10.0.0.1 - - [29/Nov/2026:08:03:01 -0600] "']))
def test_sniffers_never_raise(lines: list[str], prefix: str) -> None:
    lines = [prefix + ln for ln in lines]
    assert sf.sniff_common(lines) in (True, False)
    assert sf.sniff_combined(lines) in (True, False)


# ---------------------------------------------------------------- quirks

def test_line_fields() -> None:
    ev = parse(LINE)
    assert ev == Event(1795960982.0, "proxy", "10.10.0.13", "s100012", "www.blooket.com", "allowed",
                       "www.blooket.com:443", None, "CONNECT", 200, 48213)
    assert ev is not None and ev.line == 7


def test_denied_is_blocked_and_an_auth_challenge_is_no_event() -> None:
    denied = parse(LINE.replace("200 48213 TCP_TUNNEL:HIER_DIRECT", "403 3950 TCP_DENIED:HIER_NONE"))
    challenge = parse(LINE.replace("200 48213 TCP_TUNNEL:HIER_DIRECT", "407 3950 TCP_DENIED:HIER_NONE"))
    reply = parse(LINE.replace("TCP_TUNNEL", "TCP_DENIED_REPLY"))
    assert denied is not None and denied.action == "blocked" and denied.status == 403
    assert challenge is None  # the browser repeats the request with credentials
    assert reply is not None and reply.action == "blocked"


def test_own_utc_offset_wins_over_context_zone() -> None:
    chicago = ParseContext(tz=zoneinfo.ZoneInfo("America/Chicago"))
    a = parse(LINE, chicago)
    b = parse(LINE.replace("08:03:02 -0600", "14:03:02 +0000"))
    c = parse(LINE.replace("08:03:02 -0600", "19:48:02 +0545"))
    assert a is not None and b is not None and c is not None
    assert a.ts == b.ts == c.ts == 1795960982.0


def test_users() -> None:
    def user(ident: str, name: str) -> str:
        ev = parse(LINE.replace("- s100012", f"{ident} {name}"))
        assert ev is not None
        return ev.user

    assert user("-", "-") == ""
    assert user("-", "DISTRICT%5Cjdoe") == "DISTRICT\\jdoe"
    assert user("-", "Jane%20Doe") == "Jane Doe"
    assert user("-", "s1@district.example.org") == "s1@district.example.org"
    assert user("ident-name", "-") == "ident-name"  # RFC 931 ident when no user
    assert user("ident-name", "authuser") == "authuser"
    assert user("-", "caf%C3%A9") == "café"
    assert user("-", "Jane Doe") == "Jane Doe"  # %[un leaves spaces alone


def test_lines_without_a_request_are_ignored() -> None:
    base = '10.11.0.9 - - [29/Nov/2026:08:03:07 -0600] "{}" 0 0 NONE_NONE:HIER_NONE'
    assert parse(base.format("NONE error:transaction-end-before-headers NONE/0.0")) is None
    assert parse(base.format("NONE error:invalid-request HTTP/0.0")) is None
    assert parse(base.format("-")) is None


def test_status_size_and_http09() -> None:
    ev = parse(LINE.replace("200 48213", "000 0"))
    assert ev is not None and ev.status is None and ev.bytes_in == 0
    ev = parse(LINE.replace("200 48213", "- -"))
    assert ev is not None and ev.status is None and ev.bytes_in is None
    ev = parse(LINE.replace('CONNECT www.blooket.com:443 HTTP/1.1"', 'get http://old.example/"'))
    assert ev is not None and ev.url == "http://old.example/" and ev.method == "GET"


def test_mime_headers_are_skipped() -> None:
    ev = parse(COMBINED + " [Host: www.khanacademy.org%0D%0A] [HTTP/1.1 200 OK%0D%0A]")
    assert ev is not None and ev.host == "www.khanacademy.org"
    ev = parse(LINE.replace("TCP_TUNNEL", "TCP_DENIED") + " [Host: x%0D%0A] [HTTP/1.1 403%0D%0A]")
    assert ev is not None and ev.action == "blocked"


def test_user_agent_cannot_forge_fields() -> None:
    forged = COMBINED.replace("Mozilla/5.0 (X11)", 'x" 403 1 "y" "z" TCP_DENIED:HIER_NONE [a] [b')
    ev = parse(forged)
    assert ev is not None and ev.action == "allowed" and ev.status == 200 and ev.bytes_in == 5120


def test_apache_combined_line_without_squid_tag() -> None:
    line = COMBINED.rsplit(" ", 1)[0]
    ev = parse(line)
    assert ev is not None and ev.action == "allowed"
    assert not sf.sniff_combined([line])  # a web server's log is not a proxy's


def test_reasons() -> None:
    for line, reason in [
        ("", "not a squid common/combined line"),
        (LINE.replace("10.10.0.13", "proxy-7"), "bad client address"),
        (LINE.replace("[29/Nov/2026:08:03:02 -0600]", "29/Nov/2026:08:03:02"), "no [time] field"),
        (LINE.replace("Nov", "Now"), "bad timestamp"),
        (LINE.replace("08:03:02", "08:03:99"), "bad timestamp"),
        (LINE.replace("-0600", "-2500"), "bad timestamp"),
        (LINE.replace("HTTP/1.1\"", "HTTP/1.1"), "unterminated request line"),
        (LINE.replace("www.blooket.com:443", "/path").replace("CONNECT", "GET"), "request without a host"),
        (LINE.replace("www.blooket.com", "a..b"), "invalid host"),
    ]:
        with pytest.raises(ParseError) as err:
            parse(line)
        assert err.value.reason == reason


# ---------------------------------------------------------------- detection

def test_sniffers_tell_the_layouts_apart() -> None:
    assert sf.sniff_common([LINE]) and not sf.sniff_combined([LINE])
    assert sf.sniff_combined([COMBINED]) and not sf.sniff_common([COMBINED])
    wrapped = "<134>Nov 29 08:04:40 proxy1 squid[2310]: " + COMBINED
    assert sf.sniff_combined([wrapped])
    mime = " [Host: a.example%0D%0A] [HTTP/1.1 200 OK%0D%0A]"
    assert sf.sniff_common([LINE + mime]) and sf.sniff_combined([COMBINED + mime])


def test_sniffers_claim_no_other_format_golden_file() -> None:
    for path in sorted(DATA.glob("*/*")):
        if path.parent.name in (sf.COMMON, sf.COMBINED) or path.suffix in (".json", ".jsonl", ".md"):
            continue
        if not path.is_file() or path.suffix in (".pcap", ".pcapng", ".dnstap", ".py"):
            continue
        lines = head_lines(path)
        assert not sf.sniff_common(lines), path
        assert not sf.sniff_combined(lines), path


def test_squid_native_is_not_claimed() -> None:
    native = (DATA / "squid" / "forms.log").read_text().splitlines()
    assert not sf.sniff_common(native) and not sf.sniff_combined(native)
    fmt = detect(native)
    assert fmt is not None and fmt.name == "squid"


@pytest.mark.skipif(not CORPUS.exists(), reason="developer corpus not present")
def test_native_corpus_still_detected_as_squid() -> None:
    assert detect_file(CORPUS).name == "squid"


def test_registered() -> None:
    assert FORMATS["squid_common"].kind == "proxy" and FORMATS["squid_combined"].kind == "proxy"
    assert sf.render is sf.render_common
