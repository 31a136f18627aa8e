"""Property tests: hostile text never raises anything but ParseError, and
rendering an event in the vendor format then parsing it gives it back."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.dns import bind
from collectors.errors import ParseError
from collectors.event import Event
from collectors.hosts import normalize_host
from collectors.proxy import squid
from collectors.registry import FORMATS, ParseContext

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
hosts = st.lists(label, min_size=2, max_size=4).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
stamps = st.integers(1_600_000_000_000, 1_900_000_000_000).map(lambda ms: ms / 1000)


@pytest.mark.parametrize("name", sorted(FORMATS))
@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300))
def test_arbitrary_text_only_raises_parse_error(name: str, text: str) -> None:
    parse = FORMATS[name].make_parser(ParseContext())
    try:
        ev = parse(text.replace("\n", " "), 1)
    except ParseError:
        return
    assert ev is None or isinstance(ev, Event)


@settings(max_examples=200, deadline=None)
@given(ts=stamps, client=ipv4, host=hosts, qtype=st.sampled_from(["A", "AAAA", "HTTPS", "TXT"]))
def test_bind_round_trip(ts: float, client: str, host: str, qtype: str) -> None:
    ev = Event(ts, "dns", client, "", host, "allowed", None, qtype, line=1)
    got = FORMATS["bind"].make_parser(ParseContext(tz=dt.UTC))(bind.render(ev), 1)
    assert got == ev


@settings(max_examples=200, deadline=None)
@given(ts=stamps, client=ipv4, host=hosts, user=st.sampled_from(["", "s12345", "jdoe"]),
       blocked=st.booleans(), size=st.integers(0, 10**9))
def test_squid_round_trip(ts: float, client: str, host: str, user: str, blocked: bool,
                          size: int) -> None:
    ev = Event(ts, "proxy", client, user, host, "blocked" if blocked else "allowed",
               f"{host}:443", None, "CONNECT", 403 if blocked else 200, size, line=1)
    got = FORMATS["squid"].make_parser(ParseContext())(squid.render(ev), 1)
    assert got == ev


@given(host=hosts)
def test_normalize_is_idempotent_and_case_insensitive(host: str) -> None:
    once = normalize_host(host.upper() + ".")
    assert once == host
    assert normalize_host(once) == once


@given(text=st.text(max_size=80))
def test_normalize_rejects_with_value_error_only(text: str) -> None:
    try:
        out = normalize_host(text)
    except ValueError:
        return
    assert out == out.lower() and not out.endswith(".") and out.isascii()


def test_unicode_and_punycode_meet() -> None:
    assert normalize_host("BÜCHER.example.") == normalize_host("xn--bcher-kva.example")
    assert normalize_host("[2001:DB8::1]") == "2001:db8::1"


@pytest.mark.parametrize(("url", "connect", "host"), [
    ("https://u:p@www.Example.com:8443/a?b#c", False, "www.Example.com"),
    ("www.example.com/path?x=1", False, "www.example.com"),
    ("www.example.com/r?to=http://evil.example/", False, "www.example.com"),
    ("//cdn.example/x.js", False, "cdn.example"),
    ("averyveryverylongscheme://a.example/", False, "averyveryverylongscheme"),
    ("[2001:db8::1]:443", True, "[2001:db8::1]"),
    ("host.example:443", True, "host.example"),
    ("/relative/path", False, None),
])
def test_url_host_one_rule_for_every_proxy_format(url: str, connect: bool, host: str | None) -> None:
    from collectors.hosts import url_host

    assert url_host(url, connect) == host
