"""Generic LEEF 1.0/2.0: attributes, delimiters, devTimeFormat, round trips, hostile input."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import ParseContext
from collectors.errors import ParseError
from collectors.event import Event
from collectors.proxy import leef
from collectors.registry import FORMATS

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
hosts = st.lists(label, min_size=2, max_size=4).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
stamps = st.integers(1_600_000_000_000, 1_900_000_000_000).map(lambda ms: ms / 1000)
keys = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,12}", fullmatch=True)
REF = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def parse(line: str) -> Event | None:
    return FORMATS["leef"].make_parser(ParseContext(reference=REF))(line, 1)


def values(delim: str) -> st.SearchStrategy[str]:
    """Values with = | \\ spaces and look-alike keys; never the delimiter, never
    blank at either end (LEEF has no escapes; attributes are trimmed)."""
    chars = [c for c in "ab =\\|^;.:/?&é🙂\t" if c != delim]
    return (st.lists(st.sampled_from([*chars, " k=", "x=y"]), max_size=20).map("".join)
            .map(lambda v: v.strip(" \t")))


@settings(max_examples=300, deadline=None)
@given(data=st.data(), delim=st.sampled_from(["\t", "^", ";", "|"]))
def test_attributes_round_trip(data: st.DataObject, delim: str) -> None:
    pairs = data.draw(st.dictionaries(keys, values(delim), min_size=2 if delim == "\t" else 0, max_size=8))
    assert leef.parse_attributes(leef.render_attributes(pairs, delim), delim) == pairs


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200), delim=st.sampled_from(["\t", "^", "x"]))
def test_arbitrary_attributes_only_raise_parse_error(text: str, delim: str) -> None:
    try:
        got = leef.parse_attributes(text, delim)
    except ParseError:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in got.items())


@settings(max_examples=400, deadline=None)
@given(text=st.text(max_size=300), prefix=st.sampled_from(
    ["", "LEEF:1.0|", "LEEF:1.0|V|P|1|e|", "LEEF:2.0|V|P|1|e|", "LEEF:2.0|V|P|1|e|x",
     "<13>Jan 18 11:07:53 h LEEF:1.0|V|P|1|e|dhost=a.example\tdevTime=",
     "LEEF:1.0|V|P|1|e|dhost=a.example\tdevTime=Nov 29 2026 10:00:00\tdevTimeFormat="]))
def test_arbitrary_text_only_raises_parse_error(text: str, prefix: str) -> None:
    try:
        ev = parse(prefix + text.replace("\n", " "))
    except ParseError:
        return
    assert ev is None or isinstance(ev, Event)


@settings(max_examples=300, deadline=None)
@given(ts=stamps, client=st.one_of(st.just(""), ipv4), host=hosts,
       user=st.sampled_from(["", "jdoe", "DISTRICT\\mgarcia", "s1@students.example.org", "a b=c"]),
       action=st.sampled_from(["allowed", "blocked", "warned"]), with_url=st.booleans(),
       method=st.sampled_from([None, "GET", "POST"]), status=st.sampled_from([None, 200, 404]),
       b_in=st.one_of(st.none(), st.integers(0, 10**12)), b_out=st.one_of(st.none(), st.integers(0, 10**9)),
       category=st.sampled_from([None, "Games", "a=b"]), app=st.sampled_from([None, "Canva"]),
       header=st.sampled_from([("1.0", "\t"), ("2.0", "\t"), ("2.0", "^")]), syslog=st.booleans())
def test_render_parse_round_trip(ts: float, client: str, host: str, user: str, action: str, with_url: bool,
                                 method: str | None, status: int | None, b_in: int | None,
                                 b_out: int | None, category: str | None, app: str | None,
                                 header: tuple[str, str], syslog: bool) -> None:
    url = f"https://{host}/p?a=b|c" if with_url else None
    ev = Event(ts, "proxy", client, user, host, action, url, None, method, status, b_in, b_out,
               category, None, app, line=1)
    assert parse(leef.render(ev, header[0], header[1], syslog=syslog)) == ev


@pytest.mark.parametrize(("field", "delim"), [("^", "^"), ("x5E", "^"), ("0x5e", "^"), ("x09", "\t"),
                                              ("0x9", "\t"), ("", "\t"), (";", ";"), ("x7C", "|")])
def test_leef2_delimiter_field(field: str, delim: str) -> None:
    attrs = delim.join(["devTime=1795962900000", "dhost=a.example", "src=10.0.0.1"])
    ev = parse(f"LEEF:2.0|V|P|1|e|{field}|{attrs}")
    assert ev is not None and (ev.ts, ev.host, ev.client) == (1795962900.0, "a.example", "10.0.0.1")


def test_leef2_without_delimiter_field() -> None:
    ev = parse("LEEF:2.0|V|P|1|e|devTime=1795962900000\tdhost=a.example")
    assert ev is not None and ev.host == "a.example"


@pytest.mark.parametrize(("value", "pattern"), [
    ("Nov 29 2026 14:35:00", "MMM dd yyyy HH:mm:ss"),
    ("Nov 29 2026 14:35:00.000", "MMM dd yyyy HH:mm:ss.SSS"),
    ("Nov 29 2026 08:35:00.000 CST", "MMM dd yyyy HH:mm:ss.SSS z"),
    ("Nov 29 2026 15:35:00 GMT+01:00", "MMM dd yyyy HH:mm:ss z"),
    ("2026-11-29T14:35:00.000Z", "yyyy-MM-dd'T'HH:mm:ss.SSSX"),
    ("2026-11-29 08:35:00 -0600", "yyyy-MM-dd HH:mm:ss Z"),
    ("29/11/26 02:35:00 PM", "dd/MM/yy hh:mm:ss a"),
    ("Sun, 29 Nov 2026 14:35:00", "EEE, dd MMM yyyy HH:mm:ss"),
    ("Nov 29 14:35:00", "MMM dd HH:mm:ss"),
    ("1795962900000", None),
    ("1795962900", None),
    ("Nov 29 2026 14:35:00 UTC", None),
    ("2026-11-29T14:35:00Z", "an unknown pattern QQQ"),
])
def test_dev_time_formats(value: str, pattern: str | None) -> None:
    fmt = f"\tdevTimeFormat={pattern}" if pattern else ""
    ev = parse(f"LEEF:1.0|V|P|1|e|devTime={value}{fmt}\tdhost=a.example")
    assert ev is not None and ev.ts == 1795962900.0


def test_java_pattern() -> None:
    assert leef.java_pattern("MMM dd yyyy HH:mm:ss.SSS z") == ("%b %d %Y %H:%M:%S.%f", True, True)
    assert leef.java_pattern("yyyy-MM-dd'T'HH:mm:ssXXX") == ("%Y-%m-%dT%H:%M:%S%z", True, False)
    assert leef.java_pattern("dd/MM 'at' h a ''") == ("%d/%m at %I %p '", False, False)
    assert leef.java_pattern("z yyyy") is None  # a zone name must come last
    assert leef.java_pattern("kk:mm") is None


def test_bytes_direction_and_identity_keys() -> None:
    ev = parse("LEEF:1.0|V|P|1|e|devTime=1795962900000\turl=https://a.example/\tsrcBytes=10\tdstBytes=99"
               "\tsrcPreNAT=10.9.9.9\tsuser=bob")
    assert ev is not None and (ev.bytes_in, ev.bytes_out, ev.client, ev.user) == (99, 10, "10.9.9.9", "bob")


def test_wrapped_and_bare_give_the_same_event() -> None:
    bare = "LEEF:1.0|V|P|1|e|devTime=1795962900000\tsrc=10.1.1.1\turl=https://x.example/a\taction=block"
    for wrapped in (f"<134>Nov 29 10:00:00 gw {bare}", f"<134>1 2026-11-29T10:00:00Z gw app - - - {bare}"):
        assert parse(wrapped) == parse(bare)
