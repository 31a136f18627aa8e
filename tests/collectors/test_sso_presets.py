"""Admin-defined SSO formats (kind "sso") and the shipped Clever and ClassLink
presets. Golden, detection and bad-input files: tests/collectors/test_golden.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from collectors import mapping
from collectors.base import ParseContext
from collectors.driver import ReadStats, read_batches
from collectors.registry import FORMATS

DATA = Path(__file__).parent.parent / "data"
CTX = ParseContext(reference=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))


@pytest.mark.parametrize(("name", "sample"), [("clever_csv", "logins.csv"),
                                             ("classlink_csv", "launches.csv")])
def test_presets_give_sign_ins_with_their_application(name: str, sample: str) -> None:
    stats = ReadStats()
    events = [e for b in read_batches(DATA / name / sample, FORMATS[name].make_parser(CTX), stats)
              for e in b.events]
    assert events and stats.rejected == 0
    for ev in events:
        assert (ev.kind, ev.action, ev.host) == ("sso", "signin", "")
        assert ev.user and (ev.app_name or ev.app_id)


def test_an_sso_mapping_reads_grants_and_revocations(tmp_path: Path) -> None:
    fmt = mapping.load_mapping({
        "name": "district_oauth_csv", "kind": "sso", "type": "csv",
        "timestamp": {"field": "When", "format": "iso8601"},
        "fields": {"user": "Account", "app_id": "Client", "app_name": "App", "action": "Event"},
        "actions": {"Authorized": "grant", "Revoked": "revoke"},
    })
    log = tmp_path / "oauth.csv"
    log.write_text("When,Account,Client,App,Event\n"
                   "2026-11-30T10:00:00Z,t.jones@district.example.org,1234.apps,Quizizz,Authorized\n"
                   "2026-11-30T11:00:00Z,t.jones@district.example.org,1234.apps,Quizizz,Revoked\n"
                   "2026-11-30T12:00:00Z,t.jones@district.example.org,1234.apps,Quizizz,Signed in\n")
    stats = ReadStats()
    events = [e for b in read_batches(log, fmt.make_parser(CTX), stats) for e in b.events]
    assert [(e.action, e.app_id, e.app_name) for e in events] == [
        ("grant", "1234.apps", "Quizizz"), ("revoke", "1234.apps", "Quizizz"),
        ("signin", "1234.apps", "Quizizz")]  # an unmapped value: the kind's default


@pytest.mark.parametrize(("change", "message"), [
    ({"fields": {"user": "Account"}}, "formats.0.fields.app_name: missing (need app_name or app_id)"),
    ({"actions": {"Authorized": "blocked"}}, 'formats.0.actions.Authorized: must be one of "signin"'),
])
def test_sso_mapping_errors_name_the_key(change: dict[str, object], message: str) -> None:
    spec = {"name": "x_sso", "kind": "sso", "type": "csv",
            "timestamp": {"field": "When", "format": "iso8601"},
            "fields": {"user": "Account", "app_name": "App", "action": "Event"}, **change}
    with pytest.raises(mapping.MappingError) as err:
        mapping.load_mapping(spec, "formats.0")
    assert str(err.value).startswith(message)
