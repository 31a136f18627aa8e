"""Generic CEF: the extension parser, round trips, hostile input, the quirks."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import ParseContext
from collectors.errors import ParseError
from collectors.event import Event
from collectors.proxy import cef
from collectors.registry import FORMATS, detect

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
hosts = st.lists(label, min_size=2, max_size=4).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
stamps = st.integers(1_600_000_000_000, 1_900_000_000_000).map(lambda ms: ms / 1000)
keys = st.from_regex(r"[A-Za-z][A-Za-z0-9_.]{0,12}", fullmatch=True)
# Values full of what needs escaping (\ = newlines), look-alike keys and pipes;
# a value never ends in a blank (blanks before the next key are separators).
tricky = st.lists(st.sampled_from([*"ab =\\\n\r|\t.:/?&é🙂", " k=", " x.y=", "\\="]),
                  max_size=20).map("".join)
values = tricky.filter(lambda v: v == v.rstrip(" \t"))
REF = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def parse(line: str, **options: object) -> Event | None:
    return FORMATS["cef"].make_parser(ParseContext(reference=REF, options=dict(options)))(line, 1)


@settings(max_examples=300, deadline=None)
@given(pairs=st.dictionaries(keys, values, max_size=8))
def test_extension_round_trip(pairs: dict[str, str]) -> None:
    assert cef.parse_extension(cef.render_extension(pairs)) == pairs


@settings(max_examples=200, deadline=None)
@given(fields=st.lists(st.text(alphabet=st.sampled_from(list("ab|\\ =")), max_size=8), min_size=6,
                       max_size=6), ext=st.dictionaries(keys, values, max_size=4))
def test_header_escapes_round_trip(fields: list[str], ext: dict[str, str]) -> None:
    line = "|".join(["CEF:0", *(cef.escape_header(f) for f in fields), cef.render_extension(ext)])
    header, raw = cef.split_record(line)
    assert header == ["CEF:0", *fields]
    assert cef.parse_extension(raw) == ext


@settings(max_examples=400, deadline=None)
@given(text=st.text(max_size=300), prefix=st.sampled_from(
    ["", "CEF:0|", "CEF:0|V|P|1|2|n|3|", "<134>Nov 29 10:00:00 gw CEF:0|V|P|1|2|n|3|rt=",
     "CEF:0|V|P|1|2|n|3|rt=1795962900000 dhost=", "CEF:0|V|P|1|2|n|3|dhost=a.example rt="]))
def test_arbitrary_text_only_raises_parse_error(text: str, prefix: str) -> None:
    try:
        ev = parse(prefix + text.replace("\n", " "))
    except ParseError:
        return
    assert ev is None or isinstance(ev, Event)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200))
def test_arbitrary_extension_only_raises_parse_error(text: str) -> None:
    try:
        got = cef.parse_extension(text)
    except ParseError:
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in got.items())


users = st.sampled_from(["", "jdoe", "DISTRICT\\mgarcia", "s1@students.example.org", "a=b c"])
cats = st.sampled_from([None, "Games", "Social Networking", "a=b\\c"])


@settings(max_examples=300, deadline=None)
@given(ts=stamps, client=st.one_of(st.just(""), ipv4, st.just("2001:db8::5")), host=hosts,
       user=users, action=st.sampled_from(["allowed", "blocked", "warned"]), with_url=st.booleans(),
       method=st.sampled_from([None, "GET", "CONNECT"]), status=st.sampled_from([None, 200, 403]),
       b_in=st.one_of(st.none(), st.integers(0, 10**12)), b_out=st.one_of(st.none(), st.integers(0, 10**9)),
       category=cats, app=st.sampled_from([None, "TikTok"]), syslog=st.booleans())
def test_render_parse_round_trip(ts: float, client: str, host: str, user: str, action: str, with_url: bool,
                                 method: str | None, status: int | None, b_in: int | None,
                                 b_out: int | None, category: str | None, app: str | None,
                                 syslog: bool) -> None:
    url = f"https://{host}/path?q=a=b" if with_url else None
    ev = Event(ts, "proxy", client, user, host, action, url, None, method, status, b_in, b_out,
               category, None, app, line=1)
    assert parse(cef.render(ev, syslog=syslog)) == ev


def test_bytes_follow_the_vendors_by_default_and_the_spec_on_request() -> None:
    line = "CEF:0|V|P|1|2|n|3|rt=1795962900000 dhost=a.example in=100 out=7"
    ev = parse(line)
    assert ev is not None and (ev.bytes_in, ev.bytes_out) == (100, 7)
    ev = parse(line, cef_bytes="spec")
    assert ev is not None and (ev.bytes_in, ev.bytes_out) == (7, 100)
    ev = parse("CEF:0|V|P|1|2|n|3|rt=1795962900000 dhost=a.example bytesIn=5 bytesOut=6")
    assert ev is not None and (ev.bytes_in, ev.bytes_out) == (5, 6)


def test_epoch_seconds_milliseconds_and_strings() -> None:
    for rt in ("1795962900", "1795962900000", "1795962900000.0", "Nov 29 2026 14:35:00 UTC",
               "Nov 29 2026 14:35:00.000 GMT", "Nov 29 2026 08:35:00 -0600", "2026-11-29T14:35:00Z",
               "Nov 29 14:35:00 UTC"):
        ev = parse(f"CEF:0|V|P|1|2|n|3|rt={rt} dhost=a.example")
        assert ev is not None and ev.ts == 1795962900.0, rt


def test_time_keys_in_order_and_syslog_fallback() -> None:
    ev = parse("CEF:0|V|P|1|2|n|3|end=1795962960000 start=1795962930000 dhost=a.example")
    assert ev is not None and ev.ts == 1795962930.0
    ev = parse("<134>Nov 29 14:36:00 gw CEF:0|V|P|1|2|n|3|dhost=a.example")
    assert ev is not None and ev.ts == 1795962960.0
    with pytest.raises(ParseError, match="no timestamp"):
        parse("CEF:0|V|P|1|2|n|3|dhost=a.example")


def test_wrapped_and_bare_give_the_same_event() -> None:
    bare = "CEF:0|V|P|1|2|n|3|rt=1795962900000 src=10.1.1.1 request=https://x.example/a act=block"
    for wrapped in (f"<134>Nov 29 10:00:00 gw {bare}", f"<134>1 2026-11-29T10:00:00Z gw app - - - {bare}",
                    f"Nov 29 10:00:00 gw app[12]: {bare}"):
        assert parse(wrapped) == parse(bare)


def test_host_sources_and_labels() -> None:
    ev = parse("CEF:0|V|P|1|2|n|3|rt=1 request=https://u.example/x dhost=d.example dst=1.2.3.4")
    assert ev is not None and ev.host == "u.example"
    ev = parse("CEF:0|V|P|1|2|n|3|rt=1 destinationHostName=D.Example. dst=1.2.3.4")
    assert ev is not None and ev.host == "d.example"
    ev = parse("CEF:0|V|P|1|2|n|3|rt=1 dst=1.2.3.4")
    assert ev is not None and ev.host == "1.2.3.4"
    assert parse("CEF:0|V|P|1|2|n|3|rt=1 src=1.2.3.4 suser=x") is None
    ev = parse("CEF:0|V|P|1|2|n|3|rt=1 dhost=a.example cat=Web Policy cs4Label=URL Category cs4=Games "
               "cs5Label=Risk cs5=High cn2Label=HTTP Status cn2=204 outcome=success")
    assert ev is not None and (ev.category, ev.status) == ("Games", 204)
    ev = parse("CEF:0|V|P|1|2|n|3|rt=1 dhost=a.example cat=Web Policy outcome=failure")
    assert ev is not None and (ev.category, ev.status) == ("Web Policy", None)


@pytest.mark.parametrize(("act", "want"), [
    ("Blocked", "blocked"), ("deny", "blocked"), ("Drop", "blocked"), ("Reject", "blocked"),
    ("Prevent", "blocked"), ("reset-both", "blocked"), ("warn", "warned"), ("Caution", "warned"),
    ("continue", "warned"), ("Ask", "warned"), ("Inform", "warned"), ("allow", "allowed"),
    ("Accept", "allowed"), ("permitted", "allowed"), ("pass", "allowed"), ("observed", "allowed"),
    ("Bypass", "allowed"), ("Detect", "allowed"), ("-", "allowed")])
def test_actions(act: str, want: str) -> None:
    ev = parse(f"CEF:0|V|P|1|2|n|3|rt=1795962900000 dhost=a.example act={act}")
    assert ev is not None and ev.action == want


def test_year_less_stamp_uses_the_reference() -> None:
    ev = parse("CEF:0|V|P|1|2|n|3|rt=Dec 31 23:59:59 UTC dhost=a.example")
    assert ev is not None and dt.datetime.fromtimestamp(ev.ts, dt.UTC).year == 2025


def test_sniff_is_specific() -> None:
    cef_lines = ["<134>Nov 29 10:00:00 gw CEF:0|V|P|1|2|n|3|rt=1 dhost=a.example"] * 3
    assert detect(cef_lines).name == "cef"  # type: ignore[union-attr]
    assert not cef.sniff(["LEEF:1.0|V|P|1|e|src=1.2.3.4", "plain text"])
    assert not cef.sniff(["x CEF:0| y"] + ["other"] * 3)


def general_split(ext: str) -> dict[str, str]:
    """The extension grammar without the single-blank shortcut (the reference)."""
    parts = cef._EXT_SPLIT.split(" " + ext.rstrip(" \t"))
    if parts[0].strip():
        raise ParseError("malformed CEF extension")
    return {parts[i]: cef._UNESCAPE.sub(cef._unescape_value, parts[i + 1])
            for i in range(1, len(parts) - 1, 2)}


@settings(max_examples=500, deadline=None)
@given(ext=st.lists(st.sampled_from([*"ab =\\|\tz9._", " k=", "x.y=", "\\=", "  ", "é"]), max_size=30)
       .map("".join))
def test_fast_split_agrees_with_the_grammar(ext: str) -> None:
    try:
        want: dict[str, str] | None = general_split(ext)
    except ParseError:
        want = None
    try:
        got: dict[str, str] | None = cef.parse_extension(ext)
    except ParseError:
        got = None
    assert got == want
