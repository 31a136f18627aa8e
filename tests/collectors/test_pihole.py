"""Pi-hole query database CSV: header state, type and status tables, golden files, hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import LineParser, ParseContext
from collectors.dns import pihole
from collectors.driver import ReadStats, read_batches
from collectors.errors import ParseError
from collectors.event import Event
from collectors.registry import FORMATS

DATA = Path(__file__).parent.parent / "data"
HEADER = pihole.HEADER
ROW = "1,1795960801,1,2,classroom.google.com,10.10.0.12,10.20.0.53#53,,4,0.012345,2"


def parser() -> LineParser:
    parse = pihole.make_parser(ParseContext())
    assert parse(HEADER, 1) is None
    return parse


def read(path: Path, offset: int = 0, line: int = 0) -> tuple[list[Event], ReadStats]:
    stats = ReadStats()
    fmt = FORMATS["pihole_csv"]
    batches = read_batches(path, fmt.make_parser(ParseContext()), stats, offset=offset, line=line,
                           replay=fmt.header_lines)
    return [ev for b in batches for ev in b.events], stats


def test_row_is_an_event() -> None:
    assert parser()(ROW, 2) == Event(1795960801.0, "dns", "10.10.0.12", "", "classroom.google.com",
                                     "allowed", None, "A")


@pytest.mark.parametrize(("code", "qtype"), [
    (1, "A"), (2, "AAAA"), (3, "ANY"), (4, "SRV"), (5, "SOA"), (6, "PTR"), (7, "TXT"), (8, "NAPTR"),
    (9, "MX"), (10, "DS"), (11, "RRSIG"), (12, "DNSKEY"), (13, "NS"), (14, None), (15, "SVCB"),
    (16, "HTTPS"), (105, "CNAME"), (164, "SVCB"), (199, "SPF"), (65635, "TYPE65535"),
])
def test_ftl_query_types(code: int, qtype: str | None) -> None:
    ev = parser()(f"1,1795960801,{code},2,a.example,10.1.2.3,,,4,0.1,0", 2)
    assert ev is not None and ev.qtype == qtype


@pytest.mark.parametrize("code", [0, 17, 99, 65636])
def test_impossible_query_types_are_rejected(code: int) -> None:
    with pytest.raises(ParseError, match="bad query type"):
        parser()(f"1,1795960801,{code},2,a.example,10.1.2.3,,,4,0.1,0", 2)


@pytest.mark.parametrize(("status", "action"), [
    (0, "allowed"), (1, "blocked"), (2, "allowed"), (3, "allowed"), (4, "blocked"), (5, "blocked"),
    (6, "blocked"), (7, "blocked"), (8, "blocked"), (9, "blocked"), (10, "blocked"), (11, "blocked"),
    (12, "allowed"), (13, "allowed"), (14, "allowed"), (15, "blocked"), (16, "blocked"),
    (17, "allowed"), (18, "blocked"), (19, "allowed"),
])
def test_ftl_statuses(status: int, action: str) -> None:
    ev = parser()(f"1,1795960801,1,{status},a.example,10.1.2.3,,,4,0.1,0", 2)
    assert ev is not None and ev.action == action


def test_header_sets_the_column_order() -> None:
    parse = pihole.make_parser(ParseContext())
    assert parse("client,domain,status,type,timestamp", 1) is None
    ev = parse("10.1.2.3,a.example,1,16,1795960801.5", 2)
    assert ev == Event(1795960801.5, "dns", "10.1.2.3", "", "a.example", "blocked", None, "HTTPS")


def test_a_second_header_resets_the_columns() -> None:
    parse = parser()
    assert parse(ROW, 2) is not None
    assert parse("timestamp,client,domain,status", 3) is None
    ev = parse("1795960802,10.1.2.4,b.example,2", 4)
    assert ev is not None and (ev.client, ev.host, ev.qtype) == ("10.1.2.4", "b.example", None)


def test_rows_before_any_header_are_rejected() -> None:
    with pytest.raises(ParseError, match="no header row"):
        pihole.make_parser(ParseContext())(ROW, 1)


def test_quoted_fields() -> None:
    ev = parser()('2,1795960801,1,9,"cdn.example",10.1.2.3,"10.20.0.53#53",'
                  '"cname, ""quoted"" target",4,0.1,2', 2)
    assert ev is not None and ev.host == "cdn.example" and ev.action == "blocked"


def test_hidden_domains_are_ignored() -> None:
    assert parser()("3,1795960801,1,2,hidden,0.0.0.0,,,4,0.1,0", 2) is None


def test_bom_before_the_header() -> None:
    parse = pihole.make_parser(ParseContext())
    assert parse("\ufeff" + HEADER, 1) is None
    assert parse(ROW, 2) is not None
    assert pihole.sniff(["\ufeff" + HEADER, ROW])


def test_sniff() -> None:
    assert pihole.sniff([HEADER, ROW])
    assert pihole.sniff(["timestamp,domain,client,status"])
    assert not pihole.sniff([ROW])
    assert not pihole.sniff(["timestamp,domain,client,type"])  # no status column
    assert not pihole.sniff(["Nov 29 08:00:01 dnsmasq[812]: query[A] a.example from 10.1.2.3"])


def test_resuming_mid_file_replays_the_header(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("client,domain,status,timestamp\n10.1.2.3,a.example,2,1795960801\n"
                    "10.1.2.4,b.example,1,1795960802\n")
    offset = len("client,domain,status,timestamp\n10.1.2.3,a.example,2,1795960801\n")
    events, stats = read(path, offset=offset, line=2)
    assert [(e.client, e.host, e.action, e.line) for e in events] == [
        ("10.1.2.4", "b.example", "blocked", 3)]
    assert stats.rejected == 0


def _row(ev: Event, code: int, status: int) -> str:
    """A row as the sqlite3 shell writes it for this event."""
    return f"7,{ev.ts:.0f},{code},{status},{ev.host},{ev.client},,,4,0.001,0"


@settings(max_examples=200, deadline=None)
@given(ts=st.integers(1_600_000_000, 1_900_000_000).map(float),
       client=st.ip_addresses().map(str),
       host=st.from_regex(r"[a-z0-9]{1,12}(\.[a-z0-9]{1,12}){1,3}", fullmatch=True),
       code=st.sampled_from(sorted(pihole.FTL_TYPES)), status=st.integers(0, 18))
def test_round_trip(ts: float, client: str, host: str, code: int, status: int) -> None:
    action = "blocked" if status in pihole.BLOCKED_STATUSES else "allowed"
    ev = Event(ts, "dns", client, "", host, action, None, pihole.FTL_TYPES[code], line=2)
    assert parser()(_row(ev, code, status), 2) == ev


@settings(max_examples=400, deadline=None)
@given(text=st.text(max_size=200))
def test_hostile_rows_only_raise_parse_error(text: str) -> None:
    try:
        ev = parser()(text.replace("\n", " "), 2)
    except ParseError:
        return
    assert ev is None or isinstance(ev, Event)


@settings(max_examples=300, deadline=None)
@given(fields=st.lists(st.sampled_from(["1", "1795960801", "2", "16", "a.example", "10.1.2.3",
                                        "", '"', '""', "x,y", "hidden", "-1", "1e99", "nan",
                                        "timestamp", "domain", "client", "status", "é", "²"]),
                       max_size=14))
def test_hostile_structured_rows(fields: list[str]) -> None:
    parse = parser()
    try:
        ev = parse(",".join(fields), 2)
    except ParseError:
        return
    assert ev is None or isinstance(ev, Event)
