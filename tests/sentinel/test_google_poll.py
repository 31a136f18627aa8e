"""``sentinel poll google``: recorded Reports API responses, never the network.

The responses are written from the API's documentation (activities.list: a
``admin#reports#activities`` page of ``items``, newest first, with
``nextPageToken``) and served by googleapiclient's own mock transport.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

if os.environ.get("SENTINEL_REQUIRE_EXTRAS"):  # CI installs every extra: no skipping there
    import googleapiclient  # noqa: F401
else:
    pytest.importorskip("googleapiclient", reason="the [google] extra is not installed")

from google.auth.credentials import AnonymousCredentials
from googleapiclient.http import HttpMockSequence

from sentinel import google_poll
from sentinel.config import Settings, load_settings
from sentinel.errors import ConfigError
from sentinel.google_poll import PollError, build_service, poll, run_poll
from sentinel.store import Store
from sentinel.store.models import (
    AuditRecord,
    IngestRun,
    PollCheckpoint,
    SsoGrant,
    UsageDaily,
)

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC).timestamp()
QUIZ = "111-quiz.apps.googleusercontent.com"
MERGE = "222-merge.apps.googleusercontent.com"
DRIVE = "https://www.googleapis.com/auth/drive"
GMAIL = "https://mail.google.com/"


def activity(app: str, when: str, uq: str, email: str, name: str,
             params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "kind": "admin#reports#activity",
        "id": {"time": f"2026-12-01T{when}Z", "uniqueQualifier": uq, "applicationName": app,
               "customerId": "C03az79cb"},
        "etag": '"abc"',
        "actor": {"callerType": "USER", "email": email, "profileId": "1" + uq},
        "ipAddress": "203.0.113.7",
        "events": [{"type": "auth" if app == "token" else "login", "name": name,
                    "parameters": params or []}],
    }


def token(when: str, uq: str, email: str, name: str, client: str, app_name: str,
          scopes: list[str]) -> dict[str, Any]:
    return activity("token", when, uq, email, name, [
        {"name": "client_id", "value": client},
        {"name": "app_name", "value": app_name},
        {"name": "client_type", "value": "WEB"},
        {"name": "scope", "multiValue": scopes},
    ])


A3 = token("10:05:00.000", "103", "ana@students.example-usd.org", "authorize", QUIZ,
           "Quiz Helper", ["email", DRIVE])
A2 = token("10:04:00.000", "102", "ana@students.example-usd.org", "request", QUIZ,
           "Quiz Helper", [DRIVE])
A1 = token("10:00:00.000", "101", "tom@example-usd.org", "authorize", MERGE,
           "Mail Merge Pro", [GMAIL])
A0 = token("09:00:00.000", "100", "bea@students.example-usd.org", "revoke", QUIZ,
           "Quiz Helper", [])
A4 = token("11:00:00.000", "104", "cal@students.example-usd.org", "authorize", QUIZ,
           "Quiz Helper", [DRIVE])
L1 = activity("login", "09:30:00.000", "200", "ana@students.example-usd.org", "login_success",
              [{"name": "login_type", "value": "google_password"}])
L0 = activity("login", "09:10:00.000", "199", "ana@students.example-usd.org", "login_failure",
              [{"name": "login_type", "value": "google_password"}])


def page(items: list[dict[str, Any]], next_token: str | None = None) -> tuple[dict[str, str], str]:
    body: dict[str, Any] = {"kind": "admin#reports#activities", "etag": '"e"'}
    if items:
        body["items"] = items
    if next_token:
        body["nextPageToken"] = next_token
    return ({"status": "200", "content-type": "application/json"}, json.dumps(body))


class Crashing(HttpMockSequence):  # type: ignore[misc]
    """Serves its pages, then the connection drops."""

    def request(self, uri: str, *args: Any, **kwargs: Any) -> Any:
        if not self._iterable:
            self.request_sequence.append((uri, "GET", None, {}))
            raise ConnectionResetError("connection reset by peer")
        return super().request(uri, *args, **kwargs)


def make_settings(db_url: str, tmp_path: Path, **extra: Any) -> Settings:
    return load_settings(None, {
        "storage.data_dir": str(tmp_path / "data"),
        "storage.database_url": db_url,
        "district.timezone": "UTC",
        "accounts": [{"match": "*@students.example-usd.org", "population": "students"},
                     {"match": "*@example-usd.org", "population": "staff"}],
        "google.page_size": 2,
        **extra,
    }, env={})


def service(http: Any) -> Any:
    return build_service(AnonymousCredentials(), http=http)  # type: ignore[no-untyped-call]


def query(http: HttpMockSequence, i: int) -> dict[str, list[str]]:
    return parse_qs(urlparse(http.request_sequence[i][0]).query)


def usage(store: Store) -> dict[tuple[str, str], int]:
    with store.session() as s:
        return {(k, h): int(n) for k, h, n in s.execute(
            select(UsageDaily.kind, UsageDaily.host, func.sum(UsageDaily.events))
            .group_by(UsageDaily.kind, UsageDaily.host))}


def grants(store: Store) -> list[tuple[str, str, bool, int, int, list[str]]]:
    with store.session() as s:
        return sorted((g.app_key, g.population, g.active, g.grants, g.revokes, sorted(g.scopes))
                      for g in s.scalars(select(SsoGrant)))


def checkpoint(store: Store, app: str) -> PollCheckpoint:
    with store.session() as s:
        cp = s.scalars(select(PollCheckpoint).where(PollCheckpoint.application == app)).one()
        return cp


FIRST_USAGE = {("sso-grant", "sso:" + QUIZ): 1, ("sso-grant", "sso:" + MERGE): 1,
               ("sso", "sso:google"): 1}
FIRST_GRANTS = [
    (QUIZ, "students", False, 0, 1, []),
    (QUIZ, "students", True, 1, 0, ["email", DRIVE]),
    (MERGE, "staff", True, 1, 0, [GMAIL]),
]


def first_poll_http() -> HttpMockSequence:
    return HttpMockSequence([page([A3, A2], "page-2"), page([A1, A0]), page([L1, L0])])


def test_two_pages_are_ingested_into_usage_and_grants(store: Store, db_url: str,
                                                     tmp_path: Path) -> None:
    settings = make_settings(db_url, tmp_path)
    http = first_poll_http()
    results = poll(settings, store, service(http), now=NOW, num_retries=0)
    tok, login = results
    assert (tok.pages, tok.activities, tok.parsed, tok.ignored, tok.rejected, tok.events) == \
        (2, 4, 3, 1, 0, 3)
    assert (login.pages, login.activities, login.parsed, login.ignored, login.events) == \
        (1, 2, 1, 1, 1)
    assert usage(store) == FIRST_USAGE
    assert grants(store) == FIRST_GRANTS
    # the requests: all users, the application, the lookback window, paging
    q = query(http, 0)
    assert http.request_sequence[0][0].startswith(
        "https://admin.googleapis.com/admin/reports/v1/activity/users/all/applications/token?")
    assert q["startTime"] == ["2026-11-01T12:00:00.000000Z"]
    assert q["maxResults"] == ["2"]
    assert "pageToken" not in q and "customerId" not in q
    assert query(http, 1)["pageToken"] == ["page-2"]
    assert "/applications/login?" in http.request_sequence[2][0]
    cp = checkpoint(store, "token")
    assert cp.pending is None and cp.last_ids == ["103"]
    assert cp.last_time is not None
    assert cp.last_time.replace(tzinfo=dt.UTC) == dt.datetime(2026, 12, 1, 10, 5, tzinfo=dt.UTC)
    assert checkpoint(store, "login").last_ids == ["200"]
    with store.session() as s:
        runs = s.scalars(select(IngestRun).order_by(IngestRun.id)).all()
        assert [(r.format, r.status, r.parsed, r.ignored) for r in runs] == \
            [("gws_token", "completed", 3, 1), ("gws_login", "completed", 1, 1)]
        audit = s.scalars(select(AuditRecord).where(AuditRecord.action == "ingest.run")).all()
        assert len(audit) == 1
        payload = json.loads(audit[0].payload)
        assert payload["run_ids"] == [r.id for r in runs]
        assert payload["parsed"] == 4


def test_second_poll_resumes_from_the_checkpoint(store: Store, db_url: str,
                                                 tmp_path: Path) -> None:
    settings = make_settings(db_url, tmp_path)
    poll(settings, store, service(first_poll_http()), now=NOW, num_retries=0)
    # the API repeats the boundary activity (startTime is inclusive) and adds a new one
    http = HttpMockSequence([page([A4, A3]), page([L1])])
    tok, login = poll(settings, store, service(http), now=NOW + 3600, num_retries=0)
    assert query(http, 0)["startTime"] == ["2026-12-01T10:05:00.000000Z"]
    assert query(http, 1)["startTime"] == ["2026-12-01T09:30:00.000000Z"]
    assert (tok.activities, tok.skipped, tok.parsed, tok.events) == (2, 1, 1, 1)
    assert (login.skipped, login.events, login.status) == (1, 0, "unchanged")
    got = usage(store)
    assert got[("sso-grant", "sso:" + QUIZ)] == 2  # A3 once, A4 once
    assert got[("sso", "sso:google")] == 1
    assert [g for g in grants(store) if g[0] == QUIZ and g[2]] == [
        (QUIZ, "students", True, 1, 0, ["email", DRIVE]), (QUIZ, "students", True, 1, 0, [DRIVE])]
    cp = checkpoint(store, "token")
    assert cp.last_ids == ["104"] and cp.pending is None
    # nothing new: the checkpoint stays where it was
    http = HttpMockSequence([page([A4]), page([])])
    tok, _ = poll(settings, store, service(http), now=NOW + 7200, num_retries=0)
    assert (tok.skipped, tok.events, tok.status) == (1, 0, "unchanged")
    assert checkpoint(store, "token").last_ids == ["104"]
    assert usage(store)[("sso-grant", "sso:" + QUIZ)] == 2


def test_a_crash_between_pages_neither_loses_nor_double_counts(store: Store, db_url: str,
                                                               tmp_path: Path) -> None:
    settings = make_settings(db_url, tmp_path)
    http = Crashing([page([A3, A2], "page-2")])
    with pytest.raises(PollError, match="connection reset"):
        poll(settings, store, service(http), now=NOW, num_retries=0)
    # page 1 and the checkpoint were committed together
    assert usage(store) == {("sso-grant", "sso:" + QUIZ): 1}
    cp = checkpoint(store, "token")
    assert cp.last_time is None and cp.pending is not None
    assert cp.pending["cursor_ids"] == ["102"]
    with store.session() as s:
        run = s.scalars(select(IngestRun)).one()
        assert run.status == "failed" and "connection reset" in (run.error or "")
        failed = s.scalars(select(AuditRecord).where(AuditRecord.action == "ingest.run")).one()
        assert json.loads(failed.payload)["status"] == "failed"
    # the rerun asks for the rest of the window; the API returns the boundary again
    http = HttpMockSequence([page([A2, A1], "page-2"), page([A0]), page([L1, L0])])
    tok, _ = poll(settings, store, service(http), now=NOW + 600, num_retries=0)
    q = query(http, 0)
    assert q["startTime"] == ["2026-11-01T12:00:00.000000Z"]  # the interrupted window's start
    assert q["endTime"] == ["2026-12-01T10:04:01.000000Z"]  # down from its cursor
    assert (tok.skipped, tok.parsed, tok.events) == (1, 2, 2)
    assert usage(store) == FIRST_USAGE
    assert grants(store) == FIRST_GRANTS
    cp = checkpoint(store, "token")
    assert cp.pending is None and cp.last_ids == ["103"]  # the newest of the whole window


def test_bad_activities_are_rejected_and_quarantined(store: Store, db_url: str,
                                                     tmp_path: Path) -> None:
    from sentinel.store.models import Quarantine

    settings = make_settings(db_url, tmp_path, **{"google.applications": ["token"]})
    no_id = {"kind": "admin#reports#activity", "events": []}
    no_client = token("10:01:00.000", "150", "x@example-usd.org", "authorize", "", "", [])
    http = HttpMockSequence([page([A3, no_id, no_client])])
    (tok,) = poll(settings, store, service(http), now=NOW, num_retries=0)
    assert (tok.parsed, tok.rejected, tok.events) == (1, 2, 1)
    with store.session() as s:
        reasons = sorted(q.reason for q in s.scalars(select(Quarantine)))
    assert reasons == ["not a Reports API activity", "token event without client_id or app_name"]


def test_api_error_is_one_line(store: Store, db_url: str, tmp_path: Path) -> None:
    settings = make_settings(db_url, tmp_path)
    http = HttpMockSequence([({"status": "403"}, json.dumps(
        {"error": {"code": 403, "message": "Not Authorized to access this resource/api"}}))])
    with pytest.raises(PollError, match="HTTP 403"):
        poll(settings, store, service(http), now=NOW, num_retries=0)


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "googleapiclient", None)
    monkeypatch.setitem(sys.modules, "googleapiclient.discovery", None)
    with pytest.raises(ConfigError, match=r"pip install 'district-sentinel\[google\]'"):
        build_service(AnonymousCredentials())  # type: ignore[no-untyped-call]


def test_cli_without_the_extra_fails_with_the_hint(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from sentinel.cli import main

    monkeypatch.setitem(sys.modules, "googleapiclient", None)
    monkeypatch.setitem(sys.modules, "googleapiclient.discovery", None)
    cfg = tmp_path / "sentinel.toml"
    cfg.write_text('[storage]\ndata_dir = "data"\n[google]\ncredentials_file = "sa.json"\n'
                   'subject = "admin@example-usd.org"\n')
    res = CliRunner().invoke(main, ["-c", str(cfg), "poll", "google"])
    assert res.exit_code == 1
    assert "district-sentinel[google]" in res.output


def test_credentials_must_be_configured(tmp_path: Path) -> None:
    settings = load_settings(None, {"storage.data_dir": str(tmp_path)}, env={})
    with pytest.raises(ConfigError, match=r"google\.credentials_file"):
        google_poll.load_credentials(settings)
    settings = load_settings(None, {"storage.data_dir": str(tmp_path),
                                    "google.credentials_file": str(tmp_path / "sa.json")}, env={})
    with pytest.raises(ConfigError, match=r"google\.subject"):
        google_poll.load_credentials(settings)
    settings = load_settings(None, {"storage.data_dir": str(tmp_path), "google.subject": "a@b.c",
                                    "google.credentials_file": str(tmp_path / "sa.json")}, env={})
    with pytest.raises(ConfigError, match="file not found"):
        google_poll.load_credentials(settings)


def test_run_poll_evaluates_findings_and_writes_the_report(tmp_path: Path) -> None:
    from sentinel.app import open_context

    settings = make_settings(f"sqlite:///{tmp_path / 's.db'}", tmp_path)
    ctx = open_context(settings)
    try:
        outcome = run_poll(ctx, service=service(first_poll_http()), now=NOW, num_retries=0,
                           today=dt.date(2026, 12, 1))
    finally:
        ctx.store.dispose()
    assert outcome.scan.html.exists()
    rules = {f.rule for f in outcome.scan.findings}
    assert "unvetted_grant" in rules
    out = outcome.to_json()
    assert [i["application"] for i in out["inputs"]] == ["token", "login"]
