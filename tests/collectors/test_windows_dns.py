"""Windows DNS Server formats: debug log round trips, hostile input, and the quirks
(locale dates, length-prefixed names, JSON documents, CSV headers)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import zoneinfo
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.dns import windows
from collectors.driver import ReadStats, read_batches
from collectors.errors import ParseError
from collectors.event import Event
from collectors.registry import FORMATS, ParseContext, detect_file

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
NAMES = (windows.DEBUG, windows.JSON, windows.CSV)

label = st.from_regex(r"[a-z0-9_]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
hosts = st.lists(label, min_size=1, max_size=5).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n)))
seconds = st.integers(1_000_000_000, 4_000_000_000).map(float)
qtypes = st.sampled_from(["A", "AAAA", "HTTPS", "PTR", "SRV", "TXT", "MX", "SOA", "ANY"])

GOOD = ("11/29/2026 10:00:00 AM 0E48 PACKET  000000A1B2C3D4E0 UDP Rcv 10.1.2.3        d1a4   "
        "Q [0001   D   NOERROR] A      (7)example(3)com(0)")


def debug(line: str, **options: object) -> Event | None:
    ctx = ParseContext(tz=dt.UTC, options=dict(options))
    return FORMATS[windows.DEBUG].make_parser(ctx)(line, 1)


# -- properties ---------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(ts=seconds, client=st.one_of(ipv4, ipv6), host=hosts, qtype=qtypes,
       zone=st.sampled_from(["UTC", "America/Chicago", "Australia/Lord_Howe"]))
def test_debug_render_then_parse_is_identity(ts: float, client: str, host: str, qtype: str,
                                             zone: str) -> None:
    tz = zoneinfo.ZoneInfo(zone)
    # A stamp in a repeated (fall-back) hour has two readings; the log cannot tell them apart.
    local = dt.datetime.fromtimestamp(ts, tz)
    if local.replace(fold=0).timestamp() != ts:
        return
    ev = Event(ts, "dns", client, "", host, "allowed", None, qtype, line=7)
    parse = FORMATS[windows.DEBUG].make_parser(ParseContext(tz=tz))
    assert parse(windows.render(ev, tz), 7) == ev


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=400, deadline=None)
@given(text=st.text(max_size=300))
def test_arbitrary_text_only_raises_parse_error(name: str, text: str) -> None:
    parse = FORMATS[name].make_parser(ParseContext())
    for line in (text.replace("\n", " "), "{" + text.replace("\n", " ")):
        try:
            ev = parse(line, 1)
        except ParseError:
            continue
        assert ev is None or isinstance(ev, Event)


@settings(max_examples=400, deadline=None)
@given(head=st.sampled_from(["11/29/2026 10:00:00 AM 0E48 PACKET  ", "29.11.2026 10:00:00 0E48 PACKET ",
                             "20261129 10:00:00 588 PACKET 019B99F0 ", ""]),
       tokens=st.lists(st.one_of(st.sampled_from(["UDP", "TCP", "Rcv", "Snd", "R", "Q", "N", "[", "]",
                                                  "[0001", "NOERROR]", "(3)com(0)", "(0)", "A", "65",
                                                  "10.0.0.1", "::1", "(", ")", "(9)"]),
                                 st.text(max_size=8)), max_size=14))
def test_debug_near_miss_lines_only_raise_parse_error(head: str, tokens: list[str]) -> None:
    parse = FORMATS[windows.DEBUG].make_parser(ParseContext(tz=CHICAGO))
    try:
        ev = parse((head + " ".join(tokens)).replace("\n", " "), 1)
    except ParseError:
        return
    assert ev is None or isinstance(ev, Event)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
keys = st.sampled_from(["QNAME", "QTYPE", "Source", "EventID", "Id", "TimeCreated", "@timestamp",
                        "Message", "winlog", "event", "Event", "Properties", "event_data", "dns",
                        "source", "EventData", "System", "code", "Data"])


@settings(max_examples=200, deadline=None)
@given(obj=st.dictionaries(keys, json_values | st.dictionaries(keys, json_values, max_size=5),
                           max_size=8))
def test_json_objects_of_any_shape_only_raise_parse_error(obj: dict[str, object]) -> None:
    parse = FORMATS[windows.JSON].make_parser(ParseContext())
    try:
        ev = parse(json.dumps(obj), 1)
    except ParseError:
        return
    assert ev is None or isinstance(ev, Event)


@settings(max_examples=300, deadline=None)
@given(cells=st.lists(st.text(max_size=30), min_size=0, max_size=7))
def test_csv_rows_after_a_header_only_raise_parse_error(cells: list[str]) -> None:
    parse = FORMATS[windows.CSV].make_parser(ParseContext())
    assert parse('"TimeCreated","Id","Source","QNAME","QTYPE","Message"', 1) is None
    line = ",".join('"' + c.replace('"', '""').replace("\n", " ") + '"' for c in cells)
    for text in (line, line.replace('"', "")):
        try:
            ev = parse(text, 2)
        except ParseError:
            continue
        assert ev is None or isinstance(ev, Event)


# -- debug log ----------------------------------------------------------------


def test_only_received_standard_queries_are_events() -> None:
    assert debug(GOOD) is not None
    assert debug(GOOD.replace(" Rcv ", " Snd ")) is None
    assert debug(GOOD.replace("d1a4   Q", "d1a4 R Q")) is None
    for opcode in ("N", "U", "?"):
        assert debug(GOOD.replace("d1a4   Q", f"d1a4   {opcode}")) is None


def test_locale_dates_and_clocks() -> None:
    base = debug(GOOD)
    assert base is not None and base.time == dt.datetime(2026, 11, 29, 10, tzinfo=dt.UTC)
    cases = {
        "11/29/2026 10:00:00 AM": (2026, 11, 29, 10), "11/29/2026 10:00:00 PM": (2026, 11, 29, 22),
        "11/29/2026 12:00:00 AM": (2026, 11, 29, 0), "11/29/2026 12:00:00 PM": (2026, 11, 29, 12),
        "11/29/2026 10:00:00 a.m.": (2026, 11, 29, 10), "11/29/2026 22:00:00": (2026, 11, 29, 22),
        "29/11/2026 22:00:00": (2026, 11, 29, 22), "29.11.2026 22:00:00": (2026, 11, 29, 22),
        "29.11.2026 22.00.00": (2026, 11, 29, 22), "2026/11/29 22:00:00": (2026, 11, 29, 22),
        "2026-11-29 22:00:00": (2026, 11, 29, 22), "20261129 22:00:00": (2026, 11, 29, 22),
        "1/2/2026 22:00:00": (2026, 1, 2, 22), "1.2.2026 22:00:00": (2026, 2, 1, 22),
        "11/29/26 10:00:00 AM": (2026, 11, 29, 10),
    }
    for stamp, want in cases.items():
        ev = debug(GOOD.replace("11/29/2026 10:00:00 AM", stamp))
        assert ev is not None and ev.time == dt.datetime(*want, tzinfo=dt.UTC), stamp


def test_date_order_option_and_inference() -> None:
    ambiguous = GOOD.replace("11/29/2026", "1/12/2026")
    got = debug(ambiguous)
    assert got is not None and got.time.month == 1  # "/" defaults to month first
    got = debug(ambiguous, date_order="DMY")
    assert got is not None and got.time.month == 12
    with pytest.raises(ParseError, match="bad timestamp"):
        debug(GOOD, date_order="D/M/Y")  # 29 is not a month
    with pytest.raises(ValueError):
        debug(GOOD, date_order="sideways")
    # The first unambiguous date (here in the header) settles the order for the rest.
    parse = FORMATS[windows.DEBUG].make_parser(ParseContext())
    assert parse("DNS Server log file creation at 29/11/2026 07:55:12", 1) is None
    got = parse(ambiguous.replace(" AM", ""), 2)
    assert got is not None and (got.time.month, got.time.day) == (12, 1)


def test_names_decode_by_length_not_by_parentheses() -> None:
    def host(name: str) -> str:
        ev = debug(GOOD.replace("(7)example(3)com(0)", name))
        assert ev is not None
        return ev.host

    assert host("(3)WWW(7)Example(3)COM(0)") == "www.example.com"
    assert host("(0)") == "."
    assert host(".www.example.com.") == "www.example.com"
    assert host("(7)b\u00fccher(7)example(0)") == "xn--bcher-kva.example"  # UTF-8: 7 bytes
    assert host("(5)_ldap(4)_tcp(0)") == "_ldap._tcp"
    for bad in ("(7)exampl(3)com(0)", "(7)example(3)com", "(7)example(3)com(0)x", "(x)a(0)",
                "(3)a b(0)", "(64)" + "a" * 64 + "(0)"):
        with pytest.raises(ParseError, match="invalid query name"):
            host(bad)


def test_numeric_and_unknown_query_types() -> None:
    for raw, want in (("65", "HTTPS"), ("28", "AAAA"), ("65280", "TYPE65280"), ("ALL", "ANY"),
                      ("aaaa", "AAAA")):
        ev = debug(GOOD.replace("] A      (", f"] {raw} ("))
        assert ev is not None and ev.qtype == want


def test_rendered_file_is_detected_and_read(tmp_path: Path) -> None:
    """What the demo generator writes: the header, then one line per query."""
    start = 1_795_946_400.0
    evs = [Event(start + i, "dns", f"10.0.0.{i}", "", "www.example.com", qtype="A", line=0)
           for i in range(1, 4)]
    path = tmp_path / "dns.log"
    path.write_bytes((windows.render_header(start, CHICAGO)
                      + "".join(windows.render(e, CHICAGO) + "\r\n" for e in evs)).encode())
    assert detect_file(path).name == windows.DEBUG
    stats = ReadStats()
    got = [e for b in read_batches(path, windows.make_debug_parser(ParseContext(tz=CHICAGO)), stats)
           for e in b.events]
    assert got == evs and stats.rejected == 0


# -- Analytical JSON ----------------------------------------------------------


def _event(code: int, source: str, qname: str, qtype: str = "1",
           ts: str = "2026-11-29T16:00:00Z") -> dict[str, object]:
    return {"@timestamp": ts, "event": {"code": str(code)},
            "winlog": {"event_data": {"Source": source, "QNAME": qname, "QTYPE": qtype}}}


def _read(path: Path, **kw: int) -> tuple[list[Event], ReadStats, int, int]:
    stats = ReadStats()
    batches = list(windows.read_json_records(path, ParseContext(), stats, **kw))
    last = batches[-1] if batches else None
    return ([e for b in batches for e in b.events], stats,
            last.offset if last else -1, last.line if last else -1)


def test_json_document_resumes_by_record_count(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    docs = [_event(256, "10.0.0.1", "a.example."), _event(257, "10.0.0.1", "a.example.")]
    path.write_text(json.dumps(docs, indent=2))
    evs, stats, offset, line = _read(path)
    assert [e.host for e in evs] == ["a.example"] and (stats.read, line) == (2, 2)
    assert _read(path, offset=offset, line=line)[0:1] == ([],)  # unchanged: nothing new
    docs.append(_event(256, "10.0.0.2", "b.example."))
    path.write_text(json.dumps(docs, indent=2))  # the export was written again, longer
    evs, stats, offset, line = _read(path, offset=offset, line=line)
    assert [e.host for e in evs] == ["b.example"] and stats.read == 1 and line == 3
    starts = [i for i, ln in enumerate(path.read_text().splitlines(), 1) if ln == "  {"]
    assert evs[0].line == starts[2]  # the line where the record starts


def test_json_document_with_a_broken_record_keeps_the_rest(tmp_path: Path) -> None:
    good = json.dumps(_event(256, "10.0.0.1", "a.example."), indent=2)
    path = tmp_path / "events.json"
    path.write_text(good + "\n{\n  \"winlog\": {\"event_data\": \n" + good + "\n[1, 2]\n")
    evs, stats, _, _ = _read(path)
    assert len(evs) == 2
    assert dict(stats.reasons) == {"invalid JSON document": 1, "not a JSON object": 2}
    assert stats.read == stats.parsed + stats.ignored + stats.rejected


def test_json_lines_resume_through_the_line_driver(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    first = json.dumps(_event(256, "10.0.0.1", "a.example.")) + "\n"
    path.write_text(first + json.dumps(_event(256, "10.0.0.2", "b.example.")) + "\n")
    evs, _, offset, line = _read(path, offset=len(first), line=1)
    assert [(e.host, e.line) for e in evs] == [("b.example", 2)] and line == 2
    assert offset == path.stat().st_size


def test_json_sniffing() -> None:
    sample = json.dumps(_event(256, "10.0.0.1", "a.example."))
    assert windows.sniff_json_bytes(sample.encode())
    assert windows.sniff_json_bytes(b"\xff\xfe" + ("[\r\n" + sample).encode("utf-16-le"))
    assert not windows.sniff_json_bytes(b'{"ts": 1, "query": "a.example", "qtype_name": "A"}')
    assert not windows.sniff_json_bytes(GOOD.encode())


def test_json_query_events_and_others() -> None:
    parse = windows.make_json_parser(ParseContext())
    ev = parse(json.dumps(_event(286, "2001:DB8::1", "Example.COM.", "28")), 3)
    assert ev is not None and (ev.client, ev.host, ev.qtype, ev.line) == (
        "2001:db8::1", "example.com", "AAAA", 3)
    for code in (257, 258, 259, 260, 261, 262, 279, 515):
        assert parse(json.dumps(_event(code, "10.0.0.1", "a.example.")), 1) is None
    other_provider = _event(256, "10.0.0.1", "a.example.")
    other_provider["event"] = {"code": "256", "provider": "Microsoft-Windows-Kernel-Process"}
    assert parse(json.dumps(other_provider), 1) is None
    positional = {"Id": 256, "Message": None, "TimeCreated": "/Date(1795968009000)/",
                  "Properties": [{"Value": v} for v in (0, "10.0.0.53", "10.0.0.9", 1, "a.example.", 16)]}
    ev = parse(json.dumps(positional), 1)
    assert ev is not None and (ev.client, ev.host, ev.qtype, ev.ts) == (
        "10.0.0.9", "a.example", "TXT", 1795968009.0)


# -- Analytical CSV -----------------------------------------------------------


def test_csv_needs_a_header_and_follows_its_order() -> None:
    parse = windows.make_csv_parser(ParseContext())
    with pytest.raises(ParseError, match="missing CSV header"):
        parse("11/29/2026 10:00:00 AM,256,10.0.0.1,a.example.,1", 1)
    assert parse("qtype;QNAME;source;EVENTID;timecreated", 1) is None  # any case, any order
    ev = parse("28;a.example.;10.0.0.1;256;2026-11-29T10:00:00Z", 2)
    assert ev is not None and (ev.qtype, ev.host, ev.client) == ("AAAA", "a.example", "10.0.0.1")


def test_csv_resume_replays_the_header(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    head = '#TYPE System.Management.Automation.PSCustomObject\n"QNAME","Source","Id","TimeCreated"\n'
    row1 = '"a.example.","10.0.0.1","256","11/29/2026 10:00:00 AM"\n'
    path.write_text(head + row1 + '"b.example.","10.0.0.2","256","11/29/2026 10:00:01 AM"\n')
    fmt = FORMATS[windows.CSV]
    stats = ReadStats()
    got = [e for b in read_batches(path, fmt.make_parser(ParseContext()), stats,
                                   offset=len(head + row1), line=3, replay=fmt.header_lines)
           for e in b.events]
    assert [(e.host, e.line) for e in got] == [("b.example", 4)] and stats.rejected == 0


@pytest.mark.parametrize("shape", ["array", "wrapper", "wrapper-later", "concatenated", "bom"])
def test_json_document_shapes(tmp_path: Path, shape: str) -> None:
    docs = [_event(256, "10.0.0.1", "a.example."), _event(260, "8.8.8.8", "a.example."),
            _event(256, "10.0.0.2", "b.example.")]
    text = {
        "array": json.dumps(docs, indent=1),
        "wrapper": json.dumps({"events": docs, "total": 3}, indent=1),
        "wrapper-later": json.dumps({"total": 3, "Records": docs}, indent=1),
        "concatenated": "\n".join(json.dumps(d, indent=1) for d in docs),
        "bom": "\ufeff" + json.dumps(docs, indent=1),
    }[shape]
    path = tmp_path / "events.json"
    path.write_text(text, encoding="utf-8")
    assert detect_file(path).name == windows.JSON
    evs, stats, offset, line = _read(path)
    assert [e.host for e in evs] == ["a.example", "b.example"]
    assert (stats.read, stats.ignored, stats.rejected, line) == (3, 1, 0, 3)
    assert offset == path.stat().st_size
