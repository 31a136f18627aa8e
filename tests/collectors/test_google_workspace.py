"""gws_token / gws_login: properties, round trips and quirks."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import ParseContext
from collectors.driver import ReadStats
from collectors.errors import ParseError
from collectors.event import Event
from collectors.registry import FORMATS
from collectors.sso import google_workspace as gws

ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
stamps = st.integers(1_600_000_000_000, 1_900_000_000_000).map(lambda ms: ms / 1000)
scope = st.from_regex(r"https://www\.googleapis\.com/auth/[a-z.]{1,20}|openid|email", fullmatch=True)
text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)


def _read(path: Path, fmt: str) -> tuple[list[Event], ReadStats]:
    stats = ReadStats()
    events = [e for b in FORMATS[fmt].read_records(path, ParseContext(), stats) for e in b.events]
    return events, stats


@settings(max_examples=200, deadline=None)
@given(ts=stamps, client=st.one_of(st.just(""), ipv4), user=st.sampled_from(["", "a@b.example"]),
       grant=st.booleans(), app_id=text, app_name=st.one_of(st.none(), text),
       scopes=st.lists(scope, max_size=4).map(lambda s: tuple(sorted(set(s)))))
def test_token_round_trip(ts: float, client: str, user: str, grant: bool, app_id: str,
                          app_name: str | None, scopes: tuple[str, ...]) -> None:
    ev = Event(ts, "sso", client, user, "", "grant" if grant else "revoke", app_id=app_id,
               app_name=app_name, scopes=scopes, line=1)
    line = gws.render(ev)
    assert "\n" not in line
    assert FORMATS["gws_token"].make_parser(ParseContext())(line, 1) == ev


@settings(max_examples=100, deadline=None)
@given(ts=stamps, client=ipv4, user=st.sampled_from(["a@b.example", "s1@district.example"]),
       login_type=st.sampled_from(["google_password", "saml", "reauth", "exchange"]))
def test_login_round_trip(ts: float, client: str, user: str, login_type: str) -> None:
    ev = Event(ts, "sso", client, user, "", "signin", method=login_type, app_id="google",
               app_name="Google", line=1)
    assert FORMATS["gws_login"].make_parser(ParseContext())(gws.render_login(ev), 1) == ev


@settings(max_examples=300, deadline=None)
@given(obj=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                        lambda c: st.lists(c, max_size=4) | st.dictionaries(
                            st.sampled_from(["id", "events", "name", "parameters", "time",
                                             "applicationName", "items", "ipAddress", "actor",
                                             "email", "value", "multiValue", "scope"]),
                            c, max_size=5), max_leaves=30),
       name=st.sampled_from(["authorize", "revoke", "login_success"]),
       app=st.sampled_from(["token", "login"]))
def test_hostile_json_only_raises_parse_error(obj: object, name: str, app: str) -> None:
    doc = {"id": {"applicationName": app, "time": "2026-01-01T00:00:00Z"},
           "events": [{"name": name, "parameters": obj}], "x": obj}
    for fmt in ("gws_token", "gws_login"):
        parse = FORMATS[fmt].make_parser(ParseContext())
        for line in (json.dumps(doc), json.dumps(obj), json.dumps([doc, obj])):
            with contextlib.suppress(ParseError):
                parse(line, 1)


def test_corpus_like_elastic_form_and_numeric_values() -> None:
    line = json.dumps({"kind": "admin#reports#activity",
                       "id": {"applicationName": "token", "time": "2023-01-01T06:24:42.442Z"},
                       "actor": {"email": "foo@bar.com"}, "ipAddress": "89.160.20.112",
                       "events": {"name": "authorize", "parameters": [
                           {"name": "client_id", "value": "1-x.apps.googleusercontent.com"},
                           {"name": "num_response_bytes", "value": 1223},
                           {"name": "app_name", "value": "Gmail Add-on"}]}})
    ev = FORMATS["gws_token"].make_parser(ParseContext())(line, 3)
    assert ev is not None and ev.action == "grant" and ev.app_name == "Gmail Add-on"
    assert ev.ts == 1672554282.442 and ev.line == 3


def test_several_events_in_one_activity_count_once(tmp_path: Path) -> None:
    ev = Event(1_700_000_000.5, "sso", "192.0.2.1", "u@x.example", "", "grant", app_id="a",
               app_name="A", scopes=("openid",), line=1)
    act = json.loads(gws.render(ev))
    act["events"] = act["events"] * 3
    path = tmp_path / "t.ndjson"
    path.write_text(json.dumps(act) + "\n" + gws.render(ev) + "\n")
    events, stats = _read(path, "gws_token")
    assert [e.line for e in events] == [1, 1, 1, 2]
    assert (stats.read, stats.parsed, stats.ignored, stats.rejected) == (2, 2, 0, 0)


def test_single_line_page_and_empty_page(tmp_path: Path) -> None:
    ev = Event(1_700_000_000.0, "sso", "", "", "", "revoke", app_id="a", line=1)
    page = {"kind": "admin#reports#activities", "items": [json.loads(gws.render(ev))] * 2}
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page) + json.dumps({"kind": "admin#reports#activities", "etag": "x"}))
    events, stats = _read(path, "gws_token")
    assert [e.line for e in events] == [1, 2] and stats.read == 2 and stats.parsed == 2


def test_resume_document_skips_taken_records(tmp_path: Path) -> None:
    path = Path(__file__).parent.parent / "data" / "gws_token" / "page.log"
    stats = ReadStats()
    batches = list(FORMATS["gws_token"].read_records(path, ParseContext(), stats, offset=10, line=1))
    assert [e.line for b in batches for e in b.events] == [2] and stats.read == 1


def test_timestamps() -> None:
    assert gws.rfc3339("2026-09-14T13:10:11.123456Z") == 1789391411.123456
    assert gws.rfc3339("2026-09-14T13:10:11Z") == 1789391411.0
    assert gws.rfc3339("2026-09-14T15:10:11+02:00") == 1789391411.0
    for bad in ("2026-02-31T00:00:00Z", "2026-09-14T13:10:61Z", "2026-09-14T13:1０:11Z", "x" * 25, 5):
        try:
            gws.rfc3339(bad)
        except ParseError:
            continue
        raise AssertionError(bad)


def test_sniffers_are_specific() -> None:
    token = gws.render(Event(1.7e9, "sso", "", "u@x", "", "grant", app_id="a", line=1))
    login = gws.render_login(Event(1.7e9, "sso", "", "u@x", "", "signin", line=1))
    assert gws.sniff_token([token]) and not gws.sniff_login([token])
    assert gws.sniff_login([login]) and not gws.sniff_token([login])
    assert not gws.sniff_token(['{"applicationName": "token"}'])
