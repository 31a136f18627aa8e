"""Microsoft Entra ID formats: hostile input, render round trips, documents and the quirks."""

from __future__ import annotations

import contextlib
import ipaddress
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import ParseContext
from collectors.driver import ReadStats
from collectors.errors import ParseError
from collectors.event import Event
from collectors.registry import FORMATS
from collectors.sso import entra

NAMES = (entra.SIGNIN, entra.SIGNIN_CSV, entra.AUDIT)

ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n)))
millis = st.integers(1_000_000_000_000, 4_000_000_000_000).map(lambda ms: ms / 1000)
users = st.one_of(st.just(""), st.from_regex(r"[a-z][a-z0-9.]{0,15}@[a-z]{1,10}\.org", fullmatch=True))
names = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_characters='"\\'),
                min_size=1, max_size=30).map(str.strip).filter(bool)
guids = st.uuids().map(str)


def parse_line(name: str, line: str, lineno: int = 1) -> Event | None:
    return FORMATS[name].make_parser(ParseContext())(line, lineno)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300))
def test_arbitrary_text_raises_only_parse_error(name: str, text: str) -> None:
    parse = FORMATS[name].make_parser(ParseContext())
    for i, line in enumerate(text.split("\n"), 1):
        with contextlib.suppress(ParseError):
            parse(line, i)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20)
keys = st.sampled_from(["createdDateTime", "appId", "appDisplayName", "userPrincipalName", "ipAddress",
                        "status", "category", "properties", "time", "resultType", "activityDisplayName",
                        "activityDateTime", "targetResources", "initiatedBy", "result", "value"])


@pytest.mark.parametrize("name", (entra.SIGNIN, entra.AUDIT))
@settings(max_examples=300, deadline=None)
@given(obj=st.dictionaries(keys, json_values, max_size=8))
def test_arbitrary_json_objects_raise_only_parse_error(name: str, obj: dict[str, object]) -> None:
    with contextlib.suppress(ParseError):
        parse_line(name, json.dumps(obj))


@settings(max_examples=300, deadline=None)
@given(ts=millis, client=st.one_of(st.just(""), ipv4, ipv6), user=users, app_id=guids, app_name=names)
def test_signin_render_then_parse_is_identity(ts: float, client: str, user: str, app_id: str,
                                              app_name: str) -> None:
    ev = Event(ts, "sso", client, user, "", "signin", app_id=app_id, app_name=app_name, line=3)
    got = parse_line(entra.SIGNIN, entra.render(ev), 3)
    assert got is not None
    assert abs(got.ts - ev.ts) < 1e-6
    assert got._replace(ts=ev.ts) == ev


@settings(max_examples=200, deadline=None)
@given(ts=millis, client=st.one_of(st.just(""), ipv4, ipv6), user=users, app_id=guids, app_name=names)
def test_signin_csv_render_then_parse_is_identity(ts: float, client: str, user: str, app_id: str,
                                                  app_name: str) -> None:
    ev = Event(ts, "sso", client, user, "", "signin", app_id=app_id, app_name=app_name, line=2)
    parse = FORMATS[entra.SIGNIN_CSV].make_parser(ParseContext())
    assert parse(entra.CSV_HEADER, 1) is None
    got = parse(entra.render_csv(ev), 2)
    assert got is not None
    assert abs(got.ts - ev.ts) < 1e-6
    assert got._replace(ts=ev.ts) == ev


# -- quirks -------------------------------------------------------------------


def test_failed_signin_is_ignored_not_rejected() -> None:
    line = ('{"createdDateTime":"2026-11-30T15:00:00Z","userPrincipalName":"a@b.org","appId":"x",'
            '"status":{"errorCode":50126}}')
    assert parse_line(entra.SIGNIN, line) is None


def test_diagnostic_record_falls_back_to_record_fields() -> None:
    line = json.dumps({"time": "2026-11-30T15:00:00Z", "category": "SignInLogs", "resultType": "0",
                       "callerIpAddress": "203.0.113.9",
                       "properties": {"appId": "x", "userPrincipalName": "a@b.org"}})
    ev = parse_line(entra.SIGNIN, line)
    assert ev is not None and ev.client == "203.0.113.9" and ev.ts == 1796050800.0


def test_managed_identity_and_other_categories_are_ignored() -> None:
    for cat in ("ManagedIdentitySignInLogs", "AuditLogs", "ProvisioningLogs"):
        line = json.dumps({"category": cat, "properties": {"createdDateTime": "2026-11-30T15:00:00Z",
                                                           "appId": "x", "status": {"errorCode": 0}}})
        assert parse_line(entra.SIGNIN, line) is None


def test_consent_scopes_take_the_new_side() -> None:
    value = ('"[[Id: a, Scope:  User.Read, CreatedDateTime: ]] => [[Id: a, ConsentType: Principal, '
             'Scope:  User.Read Mail.Read, CreatedDateTime: , LastModifiedDateTime ], '
             '[Id: b, Scope: Sites.Read.All]]; "')
    assert entra.consent_scopes(value) == ("Mail.Read", "Sites.Read.All", "User.Read")
    assert entra.consent_scopes(value, old=True) == ("User.Read",)
    assert entra.consent_scopes('"[] => []; "') == ()


def test_audit_app_id_prefers_the_app_id_over_the_object_id() -> None:
    rec = {"activityDisplayName": "Consent to application", "activityDateTime": "2026-11-30T19:00:00Z",
           "result": "success", "initiatedBy": {"app": {"displayName": "x"}},
           "targetResources": [{"id": "obj", "displayName": "App", "modifiedProperties": [
               {"displayName": "TargetId.ServicePrincipalNames", "oldValue": None,
                "newValue": '"b8e5d2a9-3c71-4f04-9a6e-0d4f7c2b1e93;https://app.example"'}]}]}
    ev = entra.audit_event(rec, 1)
    assert ev is not None and ev.app_id == "b8e5d2a9-3c71-4f04-9a6e-0d4f7c2b1e93"
    assert ev.user == "" and ev.client == "" and ev.scopes == ()


def test_failed_consent_is_ignored() -> None:
    rec = {"activityDisplayName": "Consent to application", "activityDateTime": "2026-11-30T19:00:00Z",
           "result": "failure", "targetResources": []}
    assert entra.audit_event(rec, 1) is None


def test_page_on_one_line_is_read_as_a_document(tmp_path: Path) -> None:
    recs = [{"createdDateTime": f"2026-11-30T15:00:0{i}Z", "appId": "x", "status": {"errorCode": 0}}
            for i in range(3)]
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"value": recs, "@odata.nextLink": "https://x"}) + "\n"
                    + json.dumps({"value": recs[:1]}) + "\n")
    stats = ReadStats()
    events = [e for b in entra.read_signin_records(path, ParseContext(), stats) for e in b.events]
    assert len(events) == 4 and stats.read == 4 and stats.parsed == 4
    # A second read of the unchanged document gives nothing new.
    again = list(entra.read_signin_records(path, ParseContext(), ReadStats(), offset=path.stat().st_size,
                                           line=4))
    assert again == []


def test_broken_document_rejects_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[\n{"createdDateTime": "2026-11-30T15:00:00Z", "appId": "x", '
                    '"status": {"errorCode": 0}},\n{"createdDateTime": \n')
    stats = ReadStats()
    batches = list(entra.read_signin_records(path, ParseContext(), stats))
    assert stats.read == 1 and stats.rejected == 1 and dict(stats.reasons) == {"invalid JSON document": 1}
    assert sum(len(b.events) for b in batches) == 0


def test_csv_repeated_header_and_duplicate_headings() -> None:
    parse = FORMATS[entra.SIGNIN_CSV].make_parser(ParseContext())
    header = ('"Date (UTC)","Application","Application ID ","IP address","Status",'
              '"Sign-in error code","Status"')
    assert parse(header, 1) is None
    ev = parse('"2026-11-30T15:00:00Z","Canva","","10.0.0.1","Success","0","ignored"', 2)
    assert ev is not None and ev.app_name == "Canva" and ev.app_id is None
    assert parse(header, 3) is None
    with pytest.raises(ParseError):
        FORMATS[entra.SIGNIN_CSV].make_parser(ParseContext())('"2026-11-30T15:00:00Z","x"', 1)
