"""Admin-defined formats (collectors/mapping.py): samples, presets, validation, hostile input."""

from __future__ import annotations

import copy
import datetime as dt
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import LogFormat, ParseContext
from collectors.driver import ReadStats, read_batches
from collectors.errors import FormatError, ParseError, SentinelError
from collectors.event import Event
from collectors.mapping import (
    MappingError,
    load_mapping,
    load_mappings,
    preset_formats,
    presets,
    url_host,
    vendor_action,
)
from collectors.registry import FORMATS

DATA = Path(__file__).parent.parent / "data"
SAMPLES = DATA / "mapping"
CASES = [("district_proxy", "district_proxy.log"), ("cloud_filter", "cloud_filter.ndjson"),
         ("dns_filter", "dns_filter.tsv")]


def sample_format(name: str) -> LogFormat:
    doc = tomllib.loads((SAMPLES / f"{name}.toml").read_text())
    (fmt,) = load_mappings(doc["formats"])
    return fmt


def read(fmt: LogFormat, path: Path, ctx: ParseContext | None = None,
         **kw: Any) -> tuple[list[Event], ReadStats]:
    stats = ReadStats()
    events = [ev for b in read_batches(path, fmt.make_parser(ctx or ParseContext()), stats, **kw)
              for ev in b.events]
    return events, stats


@pytest.mark.parametrize(("name", "data"), CASES)
def test_district_samples(name: str, data: str) -> None:
    events, stats = read(sample_format(name), SAMPLES / data)
    want = [json.loads(ln) for ln in (SAMPLES / f"{name}.events.jsonl").read_text().splitlines()]
    assert [ev.to_json() for ev in events] == want
    assert stats.rejected == 0


def test_presets_are_registered_formats() -> None:
    assert set(presets()) == {"lightspeed", "securly", "linewize", "clever", "classlink"}
    names = [f.name for f in preset_formats()]
    assert names == ["classlink_csv", "clever_csv", "lightspeed_csv", "linewize_csv", "securly_csv"]
    for name in names:
        assert FORMATS[name].header_lines == 1
        assert FORMATS[name].priority > FORMATS["squid"].priority


def test_header_is_replayed_when_resuming() -> None:
    path = DATA / "lightspeed_csv" / "activity.csv"
    fmt = FORMATS["lightspeed_csv"]
    full, _ = read(fmt, path)
    raw = path.read_bytes()
    offset = len(b"".join(raw.splitlines(keepends=True)[:3]))
    rest, _ = read(fmt, path, offset=offset, line=3, replay=fmt.header_lines)
    assert rest == full[2:] and [e.line for e in rest] == [e.line for e in full[2:]]


def test_options_name_the_user_and_client_of_a_single_user_export() -> None:
    ctx = ParseContext(options={"user": "s998877", "client": "10.20.0.7"})
    events, _ = read(FORMATS["linewize_csv"], DATA / "linewize_csv" / "timeline.csv", ctx)
    assert {(e.user, e.client) for e in events} == {("s998877", "10.20.0.7")}
    with pytest.raises(MappingError, match=r"options\.client"):
        FORMATS["linewize_csv"].make_parser(ParseContext(options={"client": "laptop"}))


def test_year_less_stamps_take_the_reference_year() -> None:
    fmt = load_mapping({"name": "x", "type": "regex", "pattern": r"(?P<t>\w+ \d+ [\d:]+) (?P<h>\S+)",
                        "timestamp": {"field": "t", "format": "%b %d %H:%M:%S", "zone": "UTC"},
                        "fields": {"host": "h"}})
    parse = fmt.make_parser(ParseContext(reference=dt.datetime(2027, 1, 2, tzinfo=dt.UTC)))
    for text, year in (("Dec 31 23:00:00 a.example", 2026), ("Jan 01 10:00:00 a.example", 2027),
                       ("Feb 29 10:00:00 a.example", 2024)):
        ev = parse(text, 1)
        assert ev is not None and dt.datetime.fromtimestamp(ev.ts, dt.UTC).year == year


def test_helpers() -> None:
    assert url_host("https://user:pw@Www.Example.com:8443/a?b#c") == "Www.Example.com"
    assert url_host("www.example.com/path?x=1") == "www.example.com"
    assert url_host("example.com:443") == "example.com"
    assert url_host("http://[2001:db8::1]:80/") == "[2001:db8::1]"
    assert url_host("2001:db8::1") == "2001:db8::1"
    assert url_host("/relative/only") is None
    assert [vendor_action(a) for a in ("BLOCKED", "Denied", "warn", "override-pending", "Allowed",
                                       "redirected")] == ["blocked", "blocked", "warned", "warned",
                                                          "allowed", "allowed"]


# ---- validation: every bad key gives a message that starts with its path

BASE: dict[str, Any] = {
    "name": "good_csv", "type": "csv",
    "timestamp": {"field": "Date", "format": "%m/%d/%Y %I:%M:%S %p", "zone": "America/Chicago"},
    "fields": {"client": "IP", "user": "User", "url": "URL", "action": "Action"},
    "actions": {"Blocked": "blocked"},
    "sniff": {"header": ["Date", "URL"]},
}
REGEX: dict[str, Any] = {
    "name": "good_re", "type": "regex", "pattern": r"(?P<when>\S+) (?P<host>\S+)",
    "timestamp": {"field": "when", "format": "iso8601"}, "fields": {"host": "host"},
}


def changed(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    spec = copy.deepcopy(base)
    *parents, last = path.split(".")
    node = spec
    for p in parents:
        node = node[p]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return spec


DELETE = object()
BAD = [
    (BASE, "name", DELETE, "formats.0.name: missing"),
    (BASE, "name", "Bad Name", "formats.0.name: 'Bad Name' is not a format name"),
    (BASE, "name", 7, "formats.0.name: must be a string"),
    (BASE, "colour", "red", "formats.0.colour: unknown key"),
    (BASE, "kind", "mail", "formats.0.kind: must be one of proxy, dns, tls, sso"),
    (BASE, "kind", "sso", "formats.0.fields.app_name: missing (need app_name or app_id)"),
    (BASE, "type", "xml", "formats.0.type: must be one of csv, regex, json"),
    (BASE, "type", DELETE, "formats.0.type: missing"),
    (BASE, "priority", True, "formats.0.priority: must be an integer"),
    (BASE, "delimiter", ",,", "formats.0.delimiter: must be one character"),
    (BASE, "delimiter", '"', "formats.0.delimiter: must be one character"),
    (BASE, "columns", [], "formats.0.columns: must be a non-empty array"),
    (BASE, "columns", ["Date", "date"], "formats.0.columns: duplicate column name"),
    (BASE, "skip_lines", -1, "formats.0.skip_lines: must be an integer from 0 to 100"),
    (BASE, "pattern", "(?P<x>.)", "formats.0.pattern: only for type = \"regex\""),
    (BASE, "timestamp", DELETE, "formats.0.timestamp: missing"),
    (BASE, "timestamp", "Date", "formats.0.timestamp: must be a table"),
    (BASE, "timestamp.field", DELETE, "formats.0.timestamp.field: missing"),
    (BASE, "timestamp.tz", "UTC", "formats.0.timestamp.tz: unknown key"),
    (BASE, "timestamp.format", "%Y-%m-%d %Q", "formats.0.timestamp.format: unknown directive %Q"),
    (BASE, "timestamp.format", "%m/%d/%Y %I:%M", "formats.0.timestamp.format: %I (12-hour clock) needs %p"),
    (BASE, "timestamp.format", "%H:%M:%S", "formats.0.timestamp.format: no day"),
    (BASE, "timestamp.format", "%d %H:%M", "formats.0.timestamp.format: no month"),
    (BASE, "timestamp.format", "%d/%m/%Y", "formats.0.timestamp.format: no hour"),
    (BASE, "timestamp.format", "%d/%m/%Y %H:%M %Z", "formats.0.timestamp.format: %Z is not supported"),
    (BASE, "timestamp.format", "%d/%m/%Y %H:%", "formats.0.timestamp.format: ends with a lone %"),
    (BASE, "timestamp.format", ["iso8601", 5], "formats.0.timestamp.format: must be a string or an array"),
    (BASE, "timestamp.zone", "Mars/Olympus_Mons", "formats.0.timestamp.zone: unknown time zone"),
    (BASE, "fields", DELETE, "formats.0.fields: missing"),
    (BASE, "fields", ["URL"], "formats.0.fields: must be a table"),
    (BASE, "fields.url", DELETE, "formats.0.fields.host: missing (need host or url)"),
    (BASE, "fields.colour", "C", "formats.0.fields.colour: unknown event field"),
    (BASE, "fields.user", 3, "formats.0.fields.user: must be a column/group/path name"),
    (BASE, "fields.user", [], "formats.0.fields.user: must be a column/group/path name"),
    (BASE, "fields.qtype", "Type", "formats.0.fields.qtype: only for kind = \"dns\""),
    (BASE, "actions", "blocked", "formats.0.actions: must be a table"),
    (BASE, "actions.Blocked", "denied", "formats.0.actions.Blocked: must be one of \"allowed\", \"blocked\""),
    (BASE, "fields.action", DELETE, "formats.0.actions: given but fields.action is not mapped"),
    (BASE, "sniff", {}, "formats.0.sniff: must be a table with header or regex"),
    (BASE, "sniff.lines", 3, "formats.0.sniff.lines: unknown key"),
    (BASE, "sniff.header", "Date", "formats.0.sniff.header: must be a non-empty array"),
    (BASE, "sniff.header", ["Date", 4], "formats.0.sniff.header.1: must be a column"),
    (BASE, "sniff.regex", "([", "formats.0.sniff.regex: bad regex"),
    (REGEX, "pattern", "(?P<when>[)", "formats.0.pattern: bad regex"),
    (REGEX, "pattern", DELETE, "formats.0.pattern: missing"),
    (REGEX, "pattern", r"(\S+) (\S+)", "formats.0.pattern: has no named groups"),
    (REGEX, "fields.user", "usr", "formats.0.fields.user: no group named 'usr' in pattern"),
    (REGEX, "timestamp.field", "time", "formats.0.timestamp.field: no group named 'time' in pattern"),
    (REGEX, "unmatched", "skip", "formats.0.unmatched: must be \"reject\" or \"ignore\""),
    (REGEX, "delimiter", ";", "formats.0.delimiter: only for type = \"csv\""),
    (REGEX, "sniff", {"header": ["a"]}, "formats.0.sniff.header: only for type = \"csv\" with a header row"),
]


@pytest.mark.parametrize(("base", "path", "value", "message"), BAD,
                         ids=[f"{b['type']}:{p}={v!r}"[:60] for b, p, v, _ in BAD])
def test_validation_names_the_key(base: dict[str, Any], path: str, value: Any, message: str) -> None:
    with pytest.raises(MappingError) as exc:
        load_mapping(changed(base, path, value), "formats.0")
    assert str(exc.value).startswith(message), str(exc.value)
    assert isinstance(exc.value, FormatError) and isinstance(exc.value, SentinelError)


def test_valid_bases_load() -> None:
    assert load_mapping(BASE).name == "good_csv"
    assert load_mapping(REGEX).name == "good_re"


def test_explicit_columns_must_name_the_fields() -> None:
    spec = changed(BASE, "columns", ["Date", "IP", "URL", "Action"])
    del spec["sniff"]
    with pytest.raises(MappingError, match=r"^formats\.0\.fields\.user: column 'User' is not in columns"):
        load_mapping(spec)


def test_second_entry_and_duplicates_are_named() -> None:
    with pytest.raises(MappingError, match=r"^formats\.1\.pattern: bad regex"):
        load_mappings([BASE, changed(REGEX, "pattern", "(")])
    with pytest.raises(MappingError, match=r"^formats\.1\.name: the format name 'good_csv' is already used"):
        load_mappings([BASE, BASE])
    with pytest.raises(MappingError, match=r"^formats\.0\.name: the format name 'squid' is already used"):
        load_mappings([changed(BASE, "name", "squid")], taken=FORMATS)
    with pytest.raises(MappingError, match=r"^formats\.0: must be a table"):
        load_mappings(["x"])  # type: ignore[list-item]


spec_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=12),
              st.sampled_from(["csv", "regex", "json", "proxy", "dns", "%Y-%m-%d %H:%M:%S", "epoch",
                               "(?P<a>.)", "URL", "Date", "blocked", "UTC"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["field", "format", "zone", "host", "url",
                                                             "user", "header", "regex", "x"]),
                                            inner, max_size=3)),
    max_leaves=8)


@settings(max_examples=400, deadline=None)
@given(spec=st.dictionaries(st.sampled_from(["name", "kind", "type", "delimiter", "columns", "skip_lines",
                                             "pattern", "unmatched", "timestamp", "fields", "actions",
                                             "sniff", "priority", "description", "zzz"]),
                            spec_values, max_size=8))
def test_any_spec_gives_a_format_or_a_mapping_error(spec: dict[str, Any]) -> None:
    try:
        fmt = load_mapping(spec)
    except MappingError:
        return
    assert fmt.make_parser(ParseContext()) is not None


def every_mapping() -> list[LogFormat]:
    return [*preset_formats(), *(sample_format(n) for n, _ in CASES)]


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.one_of(st.text(max_size=120), st.sampled_from(
    ["Time,Destination,Action,Reason,User,IP Address", "Date/Time,Verdict,Website",
     '{"request": {"host": "a.example"}, "ts": 1}', "1795960800\t10.0.0.1\ta.example\tA\tok",
     "2026-11-29 09:00:01.250 10.30.1.5 - ALLOW GET https://a.example/ 200 1/2"])), max_size=6))
def test_arbitrary_text_only_raises_parse_error(lines: list[str]) -> None:
    for fmt in every_mapping():
        parse = fmt.make_parser(ParseContext())
        for i, text in enumerate(lines, 1):
            try:
                ev = parse(text.replace("\n", " "), i)
            except ParseError:
                continue
            assert ev is None or isinstance(ev, Event)


def test_sniff_needs_the_declared_header_or_regex() -> None:
    assert FORMATS["linewize_csv"].sniff(["Date/Time,Machine Name,Verdict,Website,Type"])
    assert not FORMATS["linewize_csv"].sniff(["Date/Time,Machine Name,Result,Website,Type"])
    assert not load_mapping(REGEX).sniff(["2026-11-29T10:00:00Z a.example"])  # no sniff: never detected
    fmt = load_mapping({**REGEX, "sniff": {"regex": r"^\d{4}-\d\d-\d\dT"}})
    assert fmt.sniff(["2026-11-29T10:00:00Z a.example"] * 3)
    assert not fmt.sniff(["Nov 29 10:00:00 a.example"])
