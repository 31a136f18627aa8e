"""Zscaler ZIA NSS web logs (JSON templates and the default CSV feed): round trips,
hostile input, and the quirks of the templates."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import LineParser, ParseContext
from collectors.driver import ReadStats, read_batches
from collectors.errors import ParseError
from collectors.event import Event
from collectors.proxy import zscaler
from collectors.registry import FORMATS

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
hosts = st.lists(label, min_size=2, max_size=4).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
seconds = st.integers(1_300_000_000, 1_900_000_000).map(float)
users = st.sampled_from(["", "mgarcia@district.example.org", "s12345@students.example.org"])
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "proxy" / "zscaler"


def parser(name: str, **ctx: object) -> LineParser:
    return FORMATS[name].make_parser(ParseContext(**ctx))  # type: ignore[arg-type]


@st.composite
def events(draw: st.DrawFn) -> Event:
    host = draw(hosts)
    method = draw(st.sampled_from(["GET", "POST", "CONNECT", None]))
    if method == "CONNECT":
        url = f"{host}:443"
    else:
        url = draw(st.sampled_from(["https://", "http://"])) + host + draw(
            st.sampled_from(["/", "/a/b?c=1&d=2", "/search?q=x%2Cy"]))
    return Event(draw(seconds), "proxy", draw(st.one_of(st.just(""), ipv4)), draw(users), host,
                 draw(st.sampled_from(["allowed", "blocked", "warned"])), url, None, method,
                 draw(st.sampled_from([200, 403, None])), draw(st.integers(0, 10**9)),
                 draw(st.integers(0, 10**9)), draw(st.sampled_from([None, "Education", "Games"])),
                 None, draw(st.sampled_from([None, "Google Classroom", "Roblox"])), line=1)


@settings(max_examples=200, deadline=None)
@given(ev=events())
def test_json_round_trip(ev: Event) -> None:
    assert parser("zscaler_web_json")(zscaler.render_json(ev), 1) == ev


@settings(max_examples=200, deadline=None)
@given(ev=events())
def test_csv_round_trip(ev: Event) -> None:
    line = zscaler.render_csv(ev)
    assert len(next(csv.reader([line]))) == 34
    assert parser("zscaler_web_csv")(line, 1) == ev


json_values = st.one_of(st.text(max_size=12), st.integers(-5, 10**12), st.none(), st.booleans(),
                        st.sampled_from(["Sun Nov 29 10:00:00 2026", "2026-11-29 10:00:00", "Allowed",
                                         "Blocked", "GMT", "Europe/Nowhere", "GMT+25:00", "x.example/",
                                         "%zz", "10.0.0.1", "::1%eth0", "NA", "CONNECT", "1795946400",
                                         "GMT+²", "Mon Nov ² 10:00:00 2026", "Caution", "bad host!"]))
json_keys = st.sampled_from(["time", "datetime", "epochtime", "tz", "login", "elogin", "user", "url",
                             "eurl", "b64url", "host", "ehost", "hostname", "action", "reason", "cip",
                             "ClientIP", "cintip", "reqmethod", "respcode", "reqsize", "respsize",
                             "urlcat", "appname", "proto", "location", "sourcetype", "event"])


@settings(max_examples=400, deadline=None)
@given(record=st.dictionaries(json_keys, json_values, max_size=14), wrap=st.booleans(),
       syslog=st.booleans())
def test_arbitrary_json_records_only_raise_parse_error(record: dict[str, object], wrap: bool,
                                                        syslog: bool) -> None:
    obj: object = {"sourcetype": "zscalernss-web", "event": record} if wrap else record
    line = json.dumps(obj)
    if syslog:
        line = "<134>Nov 29 10:00:59 nss01 zscaler-nss: " + line
    try:
        ev = parser("zscaler_web_json")(line, 1)
    except ParseError:
        return
    assert ev is None or isinstance(ev, Event)


cell = st.one_of(st.text(max_size=15), st.sampled_from(
    ["Sun Nov 29 10:00:00 2026", "Allowed", "Blocked", "Caution", "time", "action", "eurl", "login",
     "x.example/a", "10.0.0.1", "NA", "CONNECT", ""]))


@settings(max_examples=400, deadline=None)
@given(rows=st.lists(st.lists(cell, min_size=0, max_size=36), min_size=1, max_size=3),
       quote_all=st.booleans())
def test_arbitrary_csv_rows_only_raise_parse_error(rows: list[list[str]], quote_all: bool) -> None:
    p = parser("zscaler_web_csv")
    for row in rows:  # several rows: a header among them changes the parser's state
        buf = io.StringIO()
        csv.writer(buf, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
                   lineterminator="").writerow(row)
        try:
            ev = p(buf.getvalue().replace("\n", " ").replace("\r", " "), 1)
        except ParseError:
            continue
        assert ev is None or isinstance(ev, Event)


def test_csv_reader_recovers_after_a_broken_line() -> None:
    p = parser("zscaler_web_csv")
    good = zscaler.render_csv(Event(1795946400.0, "proxy", "10.0.0.1", "", "a.example", "allowed",
                                    "https://a.example/", None, "GET", 200, 1, 2))
    with pytest.raises(ParseError, match="bad CSV"):
        p('"Sun Nov 29 10:00:00 2026","unterminated', 1)
    ev = p(good, 2)
    assert ev is not None and ev.host == "a.example"


def _parsed(p: LineParser, line: str) -> Event:
    ev = p(line, 1)
    assert ev is not None
    return ev


def _record(**kw: object) -> str:
    ev: dict[str, object] = {"time": "Sun Nov 29 10:00:00 2026", "login": "jdoe@district.example.org",
                             "proto": "HTTPS", "eurl": "www.example.com/a", "action": "Allowed",
                             "cip": "10.0.0.1", "reqmethod": "GET", "respcode": "200", "reqsize": "10",
                             "respsize": "20", "location": "Lincoln High"}
    ev.update(kw)
    return json.dumps({"sourcetype": "zscalernss-web", "event": ev})


def test_request_is_bytes_out_and_response_bytes_in() -> None:
    ev = parser("zscaler_web_json")(_record(reqsize="812", respsize="20311"), 1)
    assert ev is not None and (ev.bytes_out, ev.bytes_in) == (812, 20311)


def test_login_equal_to_the_location_is_no_user() -> None:
    p = parser("zscaler_web_json")
    ev = p(_record(login="Lincoln%20High", location="Lincoln High"), 1)
    assert ev is not None and ev.user == ""
    ev = p(_record(elogin="jdoe%40district.example.org", login=None), 1)
    assert ev is not None and ev.user == "jdoe@district.example.org"


def test_zone_of_the_record_then_the_source() -> None:
    stamp = "Sun Nov 29 04:00:00 2026"
    chicago = dt.datetime(2026, 11, 29, 10, tzinfo=dt.UTC).timestamp()
    ev = parser("zscaler_web_json")(_record(time=stamp, tz="America/Chicago"), 1)
    assert ev is not None and ev.ts == chicago
    ev = parser("zscaler_web_json")(_record(time=stamp, tz="GMT-06:00"), 1)
    assert ev is not None and ev.ts == chicago
    import zoneinfo

    ev = parser("zscaler_web_json", tz=zoneinfo.ZoneInfo("America/Chicago"))(_record(time=stamp), 1)
    assert ev is not None and ev.ts == chicago
    ev = parser("zscaler_web_json")(_record(time=stamp, tz="GMT"), 1)
    assert ev is not None and ev.ts == chicago - 6 * 3600


def test_epochtime_only_when_there_is_no_time() -> None:
    p = parser("zscaler_web_json")
    ev = p(_record(epochtime="1578128400"), 1)
    assert ev is not None and ev.ts == dt.datetime(2026, 11, 29, 10, tzinfo=dt.UTC).timestamp()
    ev = p(_record(time=None, epochtime=1578128400), 1)
    assert ev is not None and ev.ts == 1578128400.0


def test_syslog_wrapped_line_gives_the_same_event() -> None:
    p = parser("zscaler_web_json", reference=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    bare = _record()
    assert p("<134>Nov 29 10:59:59 nss01 zscaler-nss: " + bare, 1) == p(bare, 1)
    ev = p("<134>Nov 29 10:59:59 nss01 zscaler-nss: " + _record(time=None), 1)
    assert ev is not None and ev.time == dt.datetime(2026, 11, 29, 10, 59, 59, tzinfo=dt.UTC)
    c = parser("zscaler_web_csv")
    line = zscaler.render_csv(Event(1795946400.0, "proxy", "10.0.0.1", "", "a.example", "blocked",
                                    "https://a.example/", None, "GET", 403, 1, 2))
    assert c("<134>1 2026-11-29T11:00:00Z nss01 zscaler-nss - - - " + line, 1) == c(line, 1)


def test_url_scheme_from_the_protocol() -> None:
    p = parser("zscaler_web_json")
    urls = {proto: _parsed(p, _record(proto=proto, eurl="www.example.com/a")).url
            for proto in ("HTTP", "HTTPS", "FTP", "SSL", "TUNNEL")}
    assert urls == {"HTTP": "http://www.example.com/a", "HTTPS": "https://www.example.com/a",
                    "FTP": "ftp://www.example.com/a", "SSL": "www.example.com/a",
                    "TUNNEL": "www.example.com/a"}
    ev = p(_record(proto="HTTP_PROXY", reqmethod="CONNECT", eurl="www.example.com:443"), 1)
    assert ev is not None and (ev.url, ev.host) == ("www.example.com:443", "www.example.com")
    b64 = base64.b64encode(b"mail.google.com/mail/u/0/").decode()
    ev = p(_record(eurl=None, b64url=b64), 1)
    assert ev is not None and ev.url == "https://mail.google.com/mail/u/0/"
    ev = p(_record(eurl=None, ehost="docs.google.com"), 1)
    assert ev is not None and (ev.url, ev.host) == (None, "docs.google.com")


def test_actions() -> None:
    p = parser("zscaler_web_json")
    got = [_parsed(p, _record(action=a, reason=r)).action for a, r in [
        ("Allowed", "Allowed"), ("Blocked", "Not allowed to browse this category"),
        ("Allowed", "File Attachment Cautioned"), ("Caution", "Caution")]]
    assert got == ["allowed", "blocked", "warned", "warned"]
    with pytest.raises(ParseError, match="unknown action"):
        p(_record(action="Perhaps"), 1)


def test_other_nss_log_types_are_ignored() -> None:
    line = json.dumps({"sourcetype": "zscalernss-dns", "event": {"datetime": "2026-11-29 10:00:00"}})
    assert parser("zscaler_web_json")(line, 1) is None


def test_csv_header_defines_the_columns_and_is_replayed_on_resume(tmp_path: Path) -> None:
    path = tmp_path / "feed.csv"
    lines = ['"time","cip","eurl","action","proto","login"',
             '"Sun Nov 29 10:00:00 2026","10.0.0.1","a.example/x","Allowed","HTTPS","u@example.org"',
             '"Sun Nov 29 10:00:01 2026","10.0.0.2","b.example/y","Blocked","HTTP","None"']
    path.write_text("\n".join(lines) + "\n")
    fmt = FORMATS["zscaler_web_csv"]
    assert fmt.header_lines == 1
    offset = len(lines[0]) + 1 + len(lines[1]) + 1
    stats = ReadStats()
    batches = list(read_batches(path, fmt.make_parser(ParseContext()), stats, offset=offset, line=2,
                                replay=fmt.header_lines))
    evs = [ev for b in batches for ev in b.events]
    assert [(ev.client, ev.host, ev.url, ev.action, ev.user) for ev in evs] == [
        ("10.0.0.2", "b.example", "http://b.example/y", "blocked", "")]


def test_sniffers_tell_the_shapes_apart() -> None:
    ev = Event(1795946400.0, "proxy", "10.0.0.1", "", "a.example", "allowed", "https://a.example/",
               None, "GET", 200, 1, 2)
    assert zscaler.sniff_json([zscaler.render_json(ev)])
    assert not zscaler.sniff_json([zscaler.render_csv(ev)])
    assert zscaler.sniff_csv([zscaler.render_csv(ev)])
    assert not zscaler.sniff_csv([zscaler.render_json(ev)])
    assert not zscaler.sniff_json(['{"ts": 1, "uid": "C1", "query": "a.example"}'])


@pytest.mark.skipif(not CORPUS.is_dir(), reason="no ../shared/corpus on this machine")
def test_corpus_feed_parses_and_agrees() -> None:
    path = CORPUS / "test-web.log"
    expected = json.loads((CORPUS / "test-web.log-expected.json").read_text())["expected"]
    stats = ReadStats()
    evs = [ev for b in read_batches(path, parser("zscaler_web_json"), stats) for ev in b.events]
    assert stats.rejected == 0 and len(evs) == len(expected)
    for ev, doc in zip(evs, expected, strict=True):
        http = doc["http"]
        assert ev.to_json()["timestamp"] == doc["@timestamp"]
        assert ev.client == doc["source"]["nat"]["ip"]
        assert ev.user == doc["user"]["email"]
        assert ev.host == doc["url"]["domain"]
        assert ev.action == doc["event"]["action"]
        assert ev.method == http["request"]["method"]
        assert ev.status == http["response"].get("status_code")
        assert (ev.bytes_out, ev.bytes_in) == (http["request"]["bytes"], http["response"]["bytes"])
