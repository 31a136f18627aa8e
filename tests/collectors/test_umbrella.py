"""Cisco Umbrella DNS logs (S3 CSV): round trips per schema version, hostile input, quirks."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import ParseContext
from collectors.dns import umbrella
from collectors.errors import ParseError
from collectors.event import Event
from collectors.registry import FORMATS

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
hosts = st.lists(label, min_size=2, max_size=4).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
seconds = st.integers(1_300_000_000, 1_900_000_000).map(float)
qtypes = st.sampled_from(["A", "AAAA", "HTTPS", "TXT", "PTR", "SRV", "MX", "CNAME"])
emails = st.sampled_from(["mgarcia@district.example.org", "s12345@students.example.org"])


def parse(line: str) -> Event | None:
    return FORMATS["umbrella_dns"].make_parser(ParseContext())(line, 1)


@settings(max_examples=200, deadline=None)
@given(ts=seconds, client=ipv4, host=hosts, qtype=qtypes, blocked=st.booleans(),
       user=st.one_of(st.just(""), emails, st.sampled_from(["jdoe", "s12345"])),
       version=st.sampled_from([9, 10]))
def test_round_trip(ts: float, client: str, host: str, qtype: str, blocked: bool, user: str,
                    version: int) -> None:
    ev = Event(ts, "dns", client, user, host, "blocked" if blocked else "allowed", None, qtype, line=1)
    line = umbrella.render(ev, version)
    assert len(next(csv.reader([line]))) == {9: 13, 10: 16}[version]
    assert parse(line) == ev


@settings(max_examples=100, deadline=None)
@given(ts=seconds, client=ipv4, host=hosts, user=st.one_of(st.just(""), emails))
def test_round_trip_v2(ts: float, client: str, host: str, user: str) -> None:
    """No identity-type column: only an e-mail identity names a user."""
    ev = Event(ts, "dns", client, user, host, "allowed", None, "A", line=1)
    line = umbrella.render(ev, 2)
    assert len(next(csv.reader([line]))) == 10
    assert parse(line) == ev


cell = st.one_of(st.text(max_size=15), st.sampled_from(
    ["2026-11-29 10:00:00", "Allowed", "Blocked", "1 (A)", "28", "(A)", "a.example.", "10.0.0.1",
     "AD Users", "x (y@z)", ""]))


@settings(max_examples=400, deadline=None)
@given(row=st.lists(cell, max_size=17), quote_all=st.booleans())
def test_arbitrary_rows_only_raise_parse_error(row: list[str], quote_all: bool) -> None:
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
               lineterminator="").writerow(row)
    p = FORMATS["umbrella_dns"].make_parser(ParseContext())
    for _ in range(2):  # the parser's csv reader is reused: it must recover
        try:
            ev = p(buf.getvalue().replace("\n", " ").replace("\r", " "), 1)
        except ParseError:
            continue
        assert ev is None or isinstance(ev, Event)


def test_reader_recovers_after_a_broken_line() -> None:
    p = FORMATS["umbrella_dns"].make_parser(ParseContext())
    good = umbrella.render(Event(1795946400.0, "dns", "10.0.0.1", "", "a.example", "allowed", None, "A"))
    with pytest.raises(ParseError, match="bad CSV"):
        p('"2026-11-29 10:00:00","unterminated', 1)
    ev = p(good, 2)
    assert ev is not None and ev.host == "a.example"


@pytest.mark.parametrize(("text", "want"), [
    ("1 (A)", "A"), ("28 (AAAA)", "AAAA"), ("65 (HTTPS)", "HTTPS"), ("33", "SRV"), ("", None),
    ("65280 (65280)", "TYPE65280"), ("1 (A B)", "A")])
def test_query_types(text: str, want: str | None) -> None:
    assert umbrella.query_type(text) == want


@pytest.mark.parametrize("text", ["(A)", "A", "x (A)", "999999", "-1 (A)"])
def test_bad_query_types(text: str) -> None:
    with pytest.raises(ParseError):
        umbrella.query_type(text)


@pytest.mark.parametrize(("identity", "itype", "want"), [
    ("Garcia, Maria (mgarcia@d.example.org)", "AD Users", "mgarcia@d.example.org"),
    ("LastName, Ti M (Ti) (ti.lastname@d.example.org)", "AD Users", "ti.lastname@d.example.org"),
    ("jdoe", "AD Users", "jdoe"),
    ("s1@students.example.org", "Chromebook Users", "s1@students.example.org"),
    ("LIB-PC-07", "AD Computers", ""),
    ("Lincoln High", "Sites", ""),
    ("elasticuser", "Test Policy Name", ""),
    ("mlee@d.example.org", None, "mlee@d.example.org"),
    ("Lee, M (mlee@d.example.org)", None, "mlee@d.example.org"),
    ("ActiveDirectoryUserName", None, ""),
])
def test_user_of(identity: str, itype: str | None, want: str) -> None:
    assert umbrella.user_of(identity, itype) == want


@pytest.mark.parametrize(("identities", "itypes", "want"), [
    ("Elastic Machine,Elastic User (ElasticUser@elastic.co)", "Roaming Computers,AD Users",
     "ElasticUser@elastic.co"),
    ("CB-114,Nguyen, An (anguyen@d.example.org)", "Roaming Computers,AD Users", "anguyen@d.example.org"),
    ("elasticuser,Elastic Machine", "AD Users, Roaming Computers", "elasticuser"),
    ("Lincoln High,tpark", "Sites, AD Users", "tpark"),
    ("Lincoln High,District Network", "Sites,Networks", ""),
    ("a,b,c", "Sites,AD Users", ""),  # lists that do not pair up
])
def test_user_among_identities(identities: str, itypes: str, want: str) -> None:
    assert umbrella.user_among(identities, itypes) == want


def test_blank_after_commas_and_commas_inside_quotes() -> None:
    line = ('"2015-01-16 17:48:41","Lee, M (mlee@d.example.org)", "Lee, M (mlee@d.example.org),Site", '
            '"10.10.1.100","24.123.132.133","Blocked","1 (A)", "NOERROR","domain-visited.com.", '
            '"Chat,Photo Sharing,Social Networking","AD Users","AD Users,Sites","Chat,Social Networking"')
    ev = parse(line)
    assert ev is not None
    assert (ev.ts, ev.client, ev.user, ev.host, ev.action, ev.qtype) == (
        1421430521.0, "10.10.1.100", "mlee@d.example.org", "domain-visited.com", "blocked", "A")


def test_timestamps_are_utc_whatever_the_context_zone() -> None:
    import zoneinfo

    line = umbrella.render(Event(1795946400.0, "dns", "10.0.0.1", "", "a.example", "allowed", None, "A"))
    ev = FORMATS["umbrella_dns"].make_parser(ParseContext(tz=zoneinfo.ZoneInfo("America/Chicago")))(line, 1)
    assert ev is not None and ev.ts == 1795946400.0


def test_header_row_is_ignored_and_sniffed_with_the_data() -> None:
    head = ('"Timestamp","Most Granular Identity","Identities","Internal IP","External IP","Action",'
            '"Query Type","Response Code","Domain","Categories"')
    assert parse(head) is None
    line = umbrella.render(Event(1795946400.0, "dns", "10.0.0.1", "", "a.example", "allowed", None, "A"))
    assert umbrella.sniff([head, line])
    assert not umbrella.sniff([head])


def test_sniff_is_specific() -> None:
    assert not umbrella.sniff(["1795960981.101    212 10.10.0.12 TCP_MISS/200 5120 GET http://a.b/ - "
                               "HIER_DIRECT/1.2.3.4 text/html"])
    assert not umbrella.sniff(['{"ts":1.0,"uid":"C","id.orig_h":"10.0.0.1","query":"a.example"}'])
    assert not umbrella.sniff(['"2026-11-29 10:00:00","a","b","c","d","Allowed","A","NOERROR","x.","y"'])
    assert not umbrella.sniff(['"2026-11-29 10:00:00","a","b","c","d","OK","1 (A)","NOERROR","x.","y"'])
