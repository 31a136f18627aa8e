"""Zeek dns.log / ssl.log (TSV and JSON): round trips, hostile input, quirks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import LineParser, ParseContext
from collectors.dns import zeek
from collectors.driver import ReadStats, read_batches
from collectors.errors import ParseError
from collectors.event import Event
from collectors.registry import FORMATS, detect

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
hosts = st.lists(label, min_size=2, max_size=4).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.tuples(*[st.integers(0, 0xFFFF)] * 8).map(
    lambda t: str(__import__("ipaddress").ip_address(":".join(f"{x:x}" for x in t))))
clients = st.one_of(ipv4, ipv6)
stamps = st.integers(1_600_000_000_000, 1_900_000_000_000).map(lambda ms: ms / 1000)
qtypes = st.sampled_from(["A", "AAAA", "HTTPS", "TXT", "PTR", "SRV", "ANY", "SVCB"])
statuses = st.sampled_from([None, 0, 2, 3, 5])


def parser(name: str) -> LineParser:
    return FORMATS[name].make_parser(ParseContext())


def feed(name: str, lines: list[str]) -> list[Event]:
    parse = parser(name)
    out = []
    for i, line in enumerate(lines, 1):
        ev = parse(line, i)
        if ev is not None:
            out.append(ev)
    return out


# ---------------------------------------------------------------- round trips

@settings(max_examples=200, deadline=None)
@given(ts=stamps, client=clients, host=hosts, qtype=qtypes, status=statuses, serial=st.integers(0, 10**9))
def test_dns_tsv_round_trip(ts: float, client: str, host: str, qtype: str, status: int | None,
                            serial: int) -> None:
    ev = Event(ts, "dns", client, "", host, "allowed", None, qtype, None, status, line=9)
    lines = [*zeek.header("dns", ts), zeek.render(ev, serial), zeek.footer(ts + 1)]
    assert feed("zeek_dns", lines) == [ev]


@settings(max_examples=100, deadline=None)
@given(ts=stamps, client=clients, host=hosts, qtype=qtypes, status=statuses)
def test_dns_json_round_trip(ts: float, client: str, host: str, qtype: str, status: int | None) -> None:
    ev = Event(ts, "dns", client, "", host, "allowed", None, qtype, None, status, line=1)
    assert feed("zeek_dns_json", [zeek.render_json(ev)]) == [ev]


@settings(max_examples=100, deadline=None)
@given(ts=stamps, client=clients, host=hosts)
def test_ssl_round_trips(ts: float, client: str, host: str) -> None:
    ev = Event(ts, "tls", client, "", host, "allowed", line=1)
    assert feed("zeek_ssl", [*zeek.header("ssl", ts), zeek.render_ssl(ev)]) == [ev]
    assert feed("zeek_ssl_json", [zeek.render_ssl_json(ev)]) == [ev]


# ---------------------------------------------------------------- hostile input

field = st.one_of(st.text(max_size=12), st.sampled_from(["-", "(empty)", "1795946400.5", "10.0.0.1",
                                                         "a.example", "query-65", "*", "\\x41"]))


@pytest.mark.parametrize("name", ["zeek_dns", "zeek_ssl"])
@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.lists(field, min_size=1, max_size=26), max_size=4))
def test_tsv_after_header_only_raises_parse_error(name: str, rows: list[list[str]]) -> None:
    parse = parser(name)
    path = "dns" if name == "zeek_dns" else "ssl"
    for i, line in enumerate(zeek.header(path), 1):
        assert parse(line, i) is None
    for row in rows:
        try:
            ev = parse("\t".join(row).replace("\n", " "), 9)
        except ParseError:
            continue
        assert ev is None or isinstance(ev, Event)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)


@pytest.mark.parametrize("name", ["zeek_dns_json", "zeek_ssl_json"])
@settings(max_examples=300, deadline=None)
@given(rec=st.fixed_dictionaries(
    {}, optional={"ts": json_values, "uid": json_values, "id.orig_h": json_values, "query": json_values,
                  "qtype": json_values, "qtype_name": json_values, "rcode": json_values,
                  "server_name": json_values, "result": json_values}))
def test_json_records_only_raise_parse_error(name: str, rec: dict[str, object]) -> None:
    try:
        ev = parser(name)(json.dumps(rec), 1)
    except ParseError:
        return
    assert ev is None or isinstance(ev, Event)


# ---------------------------------------------------------------- quirks

def test_unescape_and_escape() -> None:
    assert zeek.unescape("b\\xc3\\xbccher.example") == "bücher.example"
    assert zeek.unescape("a\\\\b") == "a\\b"
    assert zeek.unescape("trailing\\") == "trailing\\"
    assert zeek.unescape("\\x4") == "\\x4"
    assert zeek.unescape("\\xzz") == "\\xzz"
    assert zeek.unescape("\\x09") == "\t"
    for text in ("plain.example", "tab\there", "back\\slash", "bücher", "\x00\x7f"):
        assert zeek.unescape(zeek.escape(text)) == text


def test_escaped_utf8_query_is_decoded_before_normalizing() -> None:
    ev = Event(1795946400.0, "dns", "10.0.0.1", "", "x.example", "allowed", None, "A", None, 0)
    line = zeek.render(ev).replace("\tx.example\t", "\tb\\xc3\\xbccher.example\t")
    (got,) = feed("zeek_dns", [line])
    assert got.host == "xn--bcher-kva.example"


@pytest.mark.parametrize(("name", "number", "want"), [
    ("A", None, "A"), ("*", None, "ANY"), ("query-65", None, "HTTPS"), ("query-65534", None, "TYPE65534"),
    ("", "28", "AAAA"), ("", None, None), ("WINS-R", None, "WINS-R"), ("https", None, "HTTPS")])
def test_qtype_names(name: str, number: str | None, want: str | None) -> None:
    assert zeek.qtype_name(name, number) == want


@pytest.mark.parametrize("name", ["query-", "query-x", "query-999999", "A B", "x" * 40])
def test_bad_qtype_names(name: str) -> None:
    with pytest.raises(ParseError):
        zeek.qtype_name(name)


def test_columns_come_from_fields_and_separator_is_honoured() -> None:
    fields = ["ts", "id.orig_h", "query", "rcode", "qtype_name", "extra"]
    lines = ["#separator \\x2c", "#set_separator,;", "#empty_field,EMPTY", "#unset_field,NONE",
             "#path,dns", "#fields," + ",".join(fields),
             "1795946400.5,10.1.2.3,Chat.Example.,NONE,AAAA,x",
             "1795946401.5,10.1.2.3,EMPTY,0,A,x",
             "1795946402.5,NONE,b.example,3,NONE,x"]
    got = feed("zeek_dns", lines)
    assert [(e.ts, e.client, e.host, e.qtype, e.status) for e in got] == [
        (1795946400.5, "10.1.2.3", "chat.example", "AAAA", None),
        (1795946402.5, "", "b.example", None, 3)]


def test_a_new_header_block_changes_the_layout() -> None:
    ev = Event(1795946400.0, "dns", "10.0.0.1", "", "a.example", "allowed", None, "A", None, 0)
    short = ["ts", "id.orig_h", "query"]
    lines = [*zeek.header("dns"), zeek.render(ev),
             "#separator \\x09", "#fields\t" + "\t".join(short), "1795946401.0\t10.0.0.2\tb.example"]
    got = feed("zeek_dns", lines)
    assert [(e.client, e.host, e.qtype, e.status) for e in got] == [
        ("10.0.0.1", "a.example", "A", 0), ("10.0.0.2", "b.example", None, None)]
    with pytest.raises(ParseError, match="wrong number of fields"):
        feed("zeek_dns", [*lines[:-1], zeek.render(ev)])  # a default-layout record after it


def test_resumed_read_replays_the_header(tmp_path: Path) -> None:
    fields = ["ts", "query", "id.orig_h"]  # not the default order: only the header tells
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-",
            "#path\tdns", "#open\t2026-11-29-10-00-00", "#fields\t" + "\t".join(fields),
            "#types\ttime\tstring\taddr"]
    body = [f"{1795946400 + i}.000000\thost{i}.example\t10.0.0.{i}" for i in range(1, 7)]
    path = tmp_path / "dns.log"
    path.write_text("\n".join(head + body) + "\n")
    fmt = FORMATS["zeek_dns"]
    assert fmt.header_lines == len(head)
    offset = len(("\n".join(head + body[:3]) + "\n").encode())
    stats = ReadStats()
    batches = read_batches(path, fmt.make_parser(ParseContext()), stats, offset=offset,
                           line=len(head) + 3, replay=fmt.header_lines)
    got = [e for b in batches for e in b.events]
    assert [(e.host, e.client, e.line) for e in got] == [
        (f"host{i}.example", f"10.0.0.{i}", 8 + i) for i in range(4, 7)]
    assert stats.rejected == 0


def test_json_timestamps_and_splunk_export() -> None:
    rec = {"ts": 1795946400.25, "uid": "C1", "id.orig_h": "10.0.0.1", "query": "a.example",
           "qtype_name": "A", "rcode": 0}
    iso = dict(rec, ts="2026-11-29T10:00:00.250000Z")
    millis = dict(rec, ts=1795946400250)
    wrapped = {"preview": False, "offset": 0, "result": {"_raw": json.dumps(rec), "host": "sensor"}}
    got = feed("zeek_dns_json", [json.dumps(r) for r in (rec, iso, millis, wrapped)])
    assert [e.ts for e in got] == [1795946400.25] * 4
    assert {e.host for e in got} == {"a.example"}


def test_records_without_a_name_are_ignored() -> None:
    assert parser("zeek_dns_json")('{"ts":1.0,"uid":"C","id.orig_h":"10.0.0.1","rcode":1}', 1) is None
    assert parser("zeek_ssl_json")('{"ts":1.0,"uid":"C","id.orig_h":"10.0.0.1","cipher":"x"}', 1) is None


def test_sniffers_are_specific() -> None:
    ev = Event(1795946400.0, "dns", "10.0.0.1", "", "a.example", "allowed", None, "A", None, 0)
    tls = ev._replace(kind="tls", qtype=None, status=None)
    dns_tsv = [*zeek.header("dns"), zeek.render(ev)]
    ssl_tsv = [*zeek.header("ssl"), zeek.render_ssl(tls)]
    conn_tsv = [*zeek.header("conn", fields=["ts", "uid", "id.orig_h"], types=["time", "string", "addr"])]
    http_json = json.dumps({"ts": 1.0, "uid": "C", "id.orig_h": "10.0.0.1", "method": "GET",
                            "host": "a.example", "version": "1.1"})
    assert detect(dns_tsv).name == "zeek_dns"  # type: ignore[union-attr]
    assert detect(ssl_tsv).name == "zeek_ssl"  # type: ignore[union-attr]
    assert detect([zeek.render_json(ev)]).name == "zeek_dns_json"  # type: ignore[union-attr]
    assert detect([zeek.render_ssl_json(tls)]).name == "zeek_ssl_json"  # type: ignore[union-attr]
    for fmt in ("zeek_dns", "zeek_ssl", "zeek_dns_json", "zeek_ssl_json"):
        sniff = FORMATS[fmt].sniff
        assert not sniff(conn_tsv)
        assert not sniff([http_json])
        assert not sniff(["29-Nov-2026 10:00:00.000 client @0x1 10.0.0.1#1 (a.b): query: a.b IN A +"])
    assert not zeek.sniff_tsv_dns(ssl_tsv) and not zeek.sniff_tsv_ssl(dns_tsv)
    assert not zeek.sniff_json_dns([zeek.render_ssl_json(tls)])
    assert not zeek.sniff_json_ssl([zeek.render_json(ev)])


def test_layout_with_numeric_qtype_only() -> None:
    lines = ["#separator \\x09", "#fields\tts\tid.orig_h\tquery\tqtype",
             "1795946400.0\t10.0.0.1\ta.example\t65", "1795946401.0\t10.0.0.1\tb.example\t-"]
    assert [e.qtype for e in feed("zeek_dns", lines)] == ["HTTPS", None]
