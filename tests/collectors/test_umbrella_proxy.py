"""Cisco Umbrella SWG proxy logs (S3 CSV): round trips per column version, hostile
input, identities, verdicts."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import ParseContext
from collectors.driver import ReadStats, read_batches
from collectors.errors import ParseError
from collectors.event import Event
from collectors.proxy import umbrella_proxy
from collectors.registry import FORMATS

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
hosts = st.lists(label, min_size=2, max_size=4).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
seconds = st.integers(1_300_000_000, 1_900_000_000).map(float)
emails = st.sampled_from(["mgarcia@district.example.org", "s12345@students.example.org"])
sizes = st.one_of(st.none(), st.integers(0, 10**9))
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "proxy" / "umbrella"


def parse(line: str) -> Event | None:
    return FORMATS["umbrella_proxy"].make_parser(ParseContext())(line, 1)


@settings(max_examples=300, deadline=None)
@given(ts=seconds, client=st.one_of(st.just(""), ipv4), host=hosts, data=st.data(),
       columns=st.sampled_from(sorted(umbrella_proxy.COLUMNS)), bytes_in=sizes, bytes_out=sizes,
       status=st.sampled_from([200, 403, None]), path=st.sampled_from(["/", "/a?b=1,2", ""]),
       category=st.sampled_from([None, "Education", "Games,Application"]))
def test_round_trip(ts: float, client: str, host: str, data: st.DataObject, columns: int,
                    bytes_in: int | None, bytes_out: int | None, status: int | None, path: str,
                    category: str | None) -> None:
    # Without a type column (21) only an e-mail identity is a user; without the Warn
    # Status column (< 35) there is no warned verdict; the method comes with column 26.
    user = data.draw(st.one_of(st.just(""), emails) if columns < 22 else
                     st.one_of(st.just(""), emails, st.sampled_from(["jdoe", "s12345"])))
    actions = ["allowed", "blocked"] + (["warned"] if columns >= 35 else [])
    action = data.draw(st.sampled_from(actions))
    method = data.draw(st.sampled_from(["GET", "POST"])) if columns >= 26 else None
    ev = Event(ts, "proxy", client, user, host, action, f"https://{host}{path}", None, method,
               status, bytes_in, bytes_out, category, line=1)
    line = umbrella_proxy.render(ev, columns)
    assert len(next(csv.reader([line]))) == columns
    assert parse(line) == ev


cell = st.one_of(st.text(max_size=15), st.sampled_from(
    ["2026-11-29 10:00:00", "ALLOWED", "BLOCKED", "https://a.example/", "10.0.0.1", "AD Users",
     "x (y@z)", "warn-session", "Timestamp", "", "a,b", "AD Users,Sites"]))


@settings(max_examples=400, deadline=None)
@given(row=st.lists(cell, max_size=50), quote_all=st.booleans())
def test_arbitrary_rows_only_raise_parse_error(row: list[str], quote_all: bool) -> None:
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
               lineterminator="").writerow(row)
    p = FORMATS["umbrella_proxy"].make_parser(ParseContext())
    for _ in range(2):  # the parser's csv reader is reused: it must recover
        try:
            ev = p(buf.getvalue().replace("\n", " ").replace("\r", " "), 1)
        except ParseError:
            continue
        assert ev is None or isinstance(ev, Event)


def _ev(**kw: object) -> Event:
    base: dict[str, object] = dict(ts=1795946400.0, kind="proxy", client="10.20.1.15", user="",
                                   host="www.example.com", action="allowed",
                                   url="https://www.example.com/", method="GET", status=200,
                                   bytes_in=20, bytes_out=10, line=1)
    base.update(kw)
    return Event(**base)  # type: ignore[arg-type]


def _cells(line: str) -> list[str]:
    return next(csv.reader([line]))


def _line(cells: list[str]) -> str:
    return ",".join('"' + c.replace('"', '""') + '"' for c in cells)


def test_request_size_is_bytes_out_and_response_size_bytes_in() -> None:
    cells = _cells(umbrella_proxy.render(_ev()))
    cells[11], cells[12], cells[13] = "812", "20311", "19870"
    ev = parse(_line(cells))
    assert ev is not None and (ev.bytes_out, ev.bytes_in) == (812, 20311)


def test_display_name_identity_gives_the_address() -> None:
    cells = _cells(umbrella_proxy.render(_ev()))
    cells[1], cells[21] = "Garcia, Maria (mgarcia@district.example.org)", "AD Users"
    ev = parse(_line(cells))
    assert ev is not None and ev.user == "mgarcia@district.example.org"


def test_user_among_the_identities_of_a_roaming_computer() -> None:
    cells = _cells(umbrella_proxy.render(_ev()))
    cells[1], cells[21] = "LHS-LT-0412", "Roaming Computers"
    cells[23], cells[24] = "LHS-LT-0412,kchen@district.example.org", "Roaming Computers,AD Users"
    ev = parse(_line(cells))
    assert ev is not None and ev.user == "kchen@district.example.org"
    cells[24] = "Roaming Computers,Sites"
    ev = parse(_line(cells))
    assert ev is not None and ev.user == ""


def test_verdicts_and_warn_status() -> None:
    cells = _cells(umbrella_proxy.render(_ev()))
    got = []
    for verdict, warn in [("ALLOWED", ""), ("BLOCKED", ""), ("ALLOWED", "warn-session"),
                          ("BLOCKED", "warn-session"), ("ALLOWED", "none")]:
        cells[6], cells[34] = verdict, warn
        ev = parse(_line(cells))
        assert ev is not None
        got.append(ev.action)
    assert got == ["allowed", "blocked", "warned", "blocked", "allowed"]
    cells[6] = "MAYBE"
    with pytest.raises(ParseError, match="unknown verdict"):
        parse(_line(cells))


def test_blank_after_comma_and_header_row() -> None:
    line = umbrella_proxy.render(_ev())
    assert parse(line.replace('","', '", "')) == parse(line)
    assert parse('"Timestamp","Policy Identity","Internal Client IP","External Client IP"') is None


def test_no_url_falls_back_to_the_destination_ip() -> None:
    cells = _cells(umbrella_proxy.render(_ev()))
    cells[7] = ""
    ev = parse(_line(cells))
    assert ev is not None and (ev.host, ev.url) == ("203.0.113.10", None)


def test_syslog_wrapped_line_gives_the_same_event() -> None:
    line = umbrella_proxy.render(_ev())
    p = FORMATS["umbrella_proxy"].make_parser(
        ParseContext(reference=dt.datetime(2026, 12, 1, tzinfo=dt.UTC)))
    assert p("<134>Nov 29 10:59:59 relay umbrella: " + line, 1) == p(line, 1)


def test_sniff_keeps_dns_and_proxy_apart() -> None:
    from collectors.dns import umbrella

    dns = umbrella.render(Event(1795946400.0, "dns", "10.0.0.1", "", "a.example", "allowed", None, "A"))
    proxy = umbrella_proxy.render(_ev())
    assert umbrella_proxy.sniff([proxy]) and not umbrella_proxy.sniff([dns])
    assert umbrella.sniff([dns]) and not umbrella.sniff([proxy])


@pytest.mark.skipif(not CORPUS.is_dir(), reason="no ../shared/corpus on this machine")
def test_corpus_lines_parse() -> None:
    stats = ReadStats()
    path = CORPUS / "test-umbrella-proxylogs.log"
    p = FORMATS["umbrella_proxy"].make_parser(ParseContext())
    evs = [ev for b in read_batches(path, p, stats) for ev in b.events]
    assert stats.rejected == 0 and stats.parsed == stats.read == len(evs) > 0
    assert {ev.action for ev in evs} == {"allowed", "blocked", "warned"}
