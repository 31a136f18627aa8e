"""``sentinel poll google``: Google Workspace Reports API activities, read live.

The Admin SDK Reports API is read through Google's client library
(``google-api-python-client`` and ``google-auth``, the ``[google]`` extra),
with a service account that has domain-wide delegation and impersonates an
admin (``[google]`` in the configuration). Nothing is fetched but the
activities: the API's discovery document ships with the library.

Each application (``token``, ``login``) is polled from its checkpoint
(`PollCheckpoint`). Activities become Events through the same record handlers
as files (`collectors.sso.google_workspace.token_record` / ``login_record``),
are aggregated by `sentinel.pipeline.Aggregator` and written, page by page, in
one transaction with the usage, the grants, the apps and the checkpoint: a
crash neither loses nor double-counts an activity.

Resuming. The API lists activities newest first. A poll fixes its window
[start, end] (start: the last activity time of the previous poll, or
``lookback_days`` ago; end: now) and walks down it; after each page the
checkpoint holds the oldest time taken so far (the *cursor*) and the
``id.uniqueQualifier`` of the activities taken at exactly that time. A poll
interrupted is resumed by asking for [start, cursor] and skipping those. When
the window is done, the checkpoint holds the newest activity time and the
qualifiers taken at it; the next poll starts there and skips them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from collectors.driver import ReadStats
from collectors.errors import ParseError
from collectors.event import Event
from collectors.sso.google_workspace import login_record, rfc3339, take_record, token_record
from sentinel.config import Settings
from sentinel.errors import ConfigError, SentinelError
from sentinel.privacy import Identities, load_or_create_key
from sentinel.store import Store, aware
from sentinel.store.models import IngestRun, PollCheckpoint, Quarantine

log = logging.getLogger("sentinel")

SCOPE = "https://www.googleapis.com/auth/admin.reports.audit.readonly"
"""The only OAuth scope the service account is delegated and used with."""
EXTRA = "pip install 'district-sentinel[google]'"
FORMATS = {"token": "gws_token", "login": "gws_login"}
HANDLERS: dict[str, Callable[[Any, int], list[Event]]] = {"token": token_record,
                                                          "login": login_record}
MAX_PAGES = 100_000
"""A poll stops with an error past this many pages (a server looping its page token)."""


class PollError(SentinelError):
    """The Reports API refused a request or could not be reached."""


@dataclass(frozen=True)
class AppResult:
    """One application's poll: what was fetched, taken and rejected."""

    application: str
    format: str
    status: str
    """completed, unchanged (no new activity) or failed."""
    run_id: int
    pages: int
    activities: int
    """Activities fetched, including those skipped."""
    skipped: int
    """Activities already taken by an earlier poll (checkpoint boundary)."""
    parsed: int
    """Activities that gave at least one event."""
    ignored: int
    """Valid activities without a relevant event (a token ``request``, a login failure)."""
    rejected: int
    events: int
    start: dt.datetime
    last_time: dt.datetime | None
    """The checkpoint after the poll: every activity up to it is in the store."""

    def to_json(self) -> dict[str, Any]:
        return {"application": self.application, "format": self.format, "status": self.status,
                "run_id": self.run_id, "pages": self.pages, "activities": self.activities,
                "skipped": self.skipped, "parsed": self.parsed, "ignored": self.ignored,
                "rejected": self.rejected, "events": self.events,
                "start": self.start.isoformat(),
                "last_time": self.last_time.isoformat() if self.last_time else None}


@dataclass
class Window:
    """A poll in progress (stored in `PollCheckpoint.pending`), POSIX seconds."""

    start: float
    end: float
    cursor: float | None = None
    """Oldest activity time taken so far in this window (the API lists newest first)."""
    cursor_ids: set[str] = field(default_factory=set)
    newest: float | None = None
    """Newest activity time taken: the checkpoint once the window is done."""
    newest_ids: set[str] = field(default_factory=set)
    start_ids: set[str] = field(default_factory=set)
    """Qualifiers at exactly ``start`` taken by the previous poll."""

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "cursor": self.cursor,
                "cursor_ids": sorted(self.cursor_ids), "newest": self.newest,
                "newest_ids": sorted(self.newest_ids), "start_ids": sorted(self.start_ids)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Window:
        return cls(float(d["start"]), float(d["end"]),
                   None if d.get("cursor") is None else float(d["cursor"]),
                   set(d.get("cursor_ids") or ()),
                   None if d.get("newest") is None else float(d["newest"]),
                   set(d.get("newest_ids") or ()), set(d.get("start_ids") or ()))

    def seen(self, ts: float, uq: str) -> bool:
        """Taken already: newer than the cursor, or at a boundary with its qualifier."""
        if self.cursor is not None and (ts > self.cursor or (ts == self.cursor
                                                              and uq in self.cursor_ids)):
            return True
        return ts < self.start or (ts == self.start and uq in self.start_ids) or ts > self.end

    def take(self, ts: float, uq: str) -> None:
        if self.cursor is None or ts < self.cursor:
            self.cursor, self.cursor_ids = ts, {uq}
        elif ts == self.cursor:
            self.cursor_ids.add(uq)
        if self.newest is None or ts > self.newest:
            self.newest, self.newest_ids = ts, {uq}
        elif ts == self.newest:
            self.newest_ids.add(uq)


def stamp(ts: float) -> str:
    """POSIX seconds as the RFC 3339 the API takes (microseconds, Z)."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _import_client() -> tuple[Any, Any]:
    """(googleapiclient.discovery, google_auth_httplib2), or a ConfigError naming the extra."""
    try:
        import google_auth_httplib2
        from googleapiclient import discovery
    except ImportError as exc:
        raise ConfigError(f"polling Google Workspace needs Google's client library "
                          f"(missing {exc.name or 'googleapiclient'}): {EXTRA}",
                          key="google") from None
    return discovery, google_auth_httplib2


def load_credentials(settings: Settings) -> Any:
    """The service account's credentials, delegated to ``[google] subject``."""
    g = settings.google
    file = str(settings.config_file) if settings.config_file else "settings"
    if g.credentials_file is None:
        raise ConfigError("no service account key file configured", file, "google.credentials_file")
    if not g.subject:
        raise ConfigError("no admin to impersonate configured (domain-wide delegation)", file,
                          "google.subject")
    _import_client()
    from google.oauth2 import service_account

    try:
        creds = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(g.credentials_file), scopes=[SCOPE])
    except FileNotFoundError:
        raise ConfigError(f"file not found: {g.credentials_file}", file,
                          "google.credentials_file") from None
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"not a service account key file ({g.credentials_file}): {exc}", file,
                          "google.credentials_file") from None
    return creds.with_subject(g.subject)


def build_service(credentials: Any, http: Any = None) -> Any:
    """The Reports API client, from the discovery document bundled with the
    library (no request for it). ``http``: a transport (tests pass
    ``googleapiclient.http.HttpMockSequence``); the credentials sign its requests."""
    discovery, auth_httplib2 = _import_client()
    if http is None:
        return discovery.build("admin", "reports_v1", credentials=credentials,
                               cache_discovery=False, static_discovery=True)
    return discovery.build("admin", "reports_v1",
                           http=auth_httplib2.AuthorizedHttp(credentials, http=http),
                           cache_discovery=False, static_discovery=True)


def _pages(service: Any, settings: Settings, app: str, start: float, upper: float,
           num_retries: int) -> Iterator[dict[str, Any]]:
    g = settings.google
    token: str | None = None
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {"userKey": "all", "applicationName": app,
                                  "startTime": stamp(start),
                                  # a second past the bound: whether the API's end is
                                  # inclusive does not matter (`Window.seen` filters)
                                  "endTime": stamp(upper + 1.0), "maxResults": g.page_size}
        if g.customer_id != "my_customer":
            params["customerId"] = g.customer_id
        if token:
            params["pageToken"] = token
        try:
            page = service.activities().list(**params).execute(num_retries=num_retries)
        except SentinelError:
            raise
        except Exception as exc:  # HttpError, transport and auth errors: one line
            raise PollError(f"Google Reports API ({app}): {_describe(exc)}") from exc
        if not isinstance(page, dict):
            raise PollError(f"Google Reports API ({app}): a response that is not a JSON object")
        yield page
        nxt = page.get("nextPageToken")
        if not nxt or not isinstance(nxt, str):
            return
        token = nxt
    raise PollError(f"Google Reports API ({app}): more than {MAX_PAGES} pages")


def _describe(exc: BaseException) -> str:
    status = getattr(getattr(exc, "resp", None), "status", None)
    reason = getattr(exc, "reason", None) or getattr(exc, "error_details", None) or exc
    text = f"HTTP {status}: {reason}" if status else f"{type(exc).__name__}: {reason}"
    return text[:500]


def _identity(activity: Any) -> tuple[float, str]:
    """(time, uniqueQualifier) of an activity; ParseError when it has none."""
    if not isinstance(activity, dict) or not isinstance(activity.get("id"), dict):
        raise ParseError("not a Reports API activity")
    ident = activity["id"]
    uq = ident.get("uniqueQualifier")
    if not isinstance(uq, (str, int)) or isinstance(uq, bool) or uq == "":
        raise ParseError("activity without id.uniqueQualifier")
    return rfc3339(ident.get("time")), str(uq)[:64]


def poll_application(settings: Settings, store: Store, ids: Identities, service: Any, app: str,
                     *, now: float | None = None, num_retries: int = 3) -> AppResult:
    """Poll one application from its checkpoint, committing page by page."""
    from sentinel.pipeline import Aggregator, _upsert_apps, _upsert_grants, _utc, utcnow

    g = settings.google
    source = f"google:{g.customer_id}"
    fmt = FORMATS[app]
    handle = HANDLERS[app]
    now = time.time() if now is None else now
    with store.session() as s:
        cp = s.scalars(select(PollCheckpoint).where(PollCheckpoint.source == source,
                                                    PollCheckpoint.application == app)).first()
        if cp is not None and cp.pending:
            win = Window.from_json(cp.pending)  # an interrupted poll: finish its window
        elif cp is not None and cp.last_time is not None:
            last = aware(cp.last_time).timestamp()
            win = Window(last, max(now, last), newest=last, newest_ids=set(cp.last_ids or ()),
                         start_ids=set(cp.last_ids or ()))
        else:
            win = Window(now - g.lookback_days * 86400.0, now)
        run = IngestRun(source=f"{source}/{app}", format=fmt, kind="sso", file_size=0, inode=0,
                        fingerprint="", start_offset=0, end_offset=0, reasons={},
                        status="running", started_at=utcnow())
        s.add(run)
        s.flush()
        run_id = run.id
    stats = ReadStats()
    counts = {"pages": 0, "activities": 0, "skipped": 0, "events": 0}
    cap, kept = settings.privacy.quarantine_samples, 0
    agg = Aggregator(settings.tz, False, settings.ingest.upload_min_bytes)
    started = dt.datetime.fromtimestamp(win.start, dt.UTC)

    def commit(samples: list[tuple[int, str, str]], done: bool) -> None:
        rows = agg.flush(ids)
        grants, apps = agg.flush_grants(ids) if agg.apps else ([], [])
        with store.writer(), store.session() as s:
            store.upsert_usage(s, rows)
            if apps:
                _upsert_apps(s, apps, fmt)
            if grants:
                _upsert_grants(store, s, grants)
            cp = s.scalars(select(PollCheckpoint).where(
                PollCheckpoint.source == source, PollCheckpoint.application == app)).first()
            if cp is None:
                cp = PollCheckpoint(source=source, application=app, last_ids=[],
                                    updated_at=utcnow())
                s.add(cp)
            if done:
                if win.newest is not None:
                    cp.last_time = _utc(win.newest)
                    cp.last_ids = sorted(win.newest_ids)
                cp.pending = None
            else:
                cp.pending = win.to_json()
            cp.updated_at = utcnow()
            now_ = utcnow()
            s.add_all(Quarantine(run_id=run_id, line=ln, reason=reason, raw=raw, created_at=now_)
                      for ln, reason, raw in samples)
            r = s.get(IngestRun, run_id)
            assert r is not None
            r.lines_read, r.parsed, r.ignored = stats.read, stats.parsed, stats.ignored
            r.rejected, r.reasons = stats.rejected, dict(stats.reasons)
            r.end_offset = counts["activities"]
            r.first_event, r.last_event = _utc(agg.first), _utc(agg.last)
            if done:
                r.status = "completed" if stats.read else "unchanged"
                r.ended_at = utcnow()

    try:
        for page in _pages(service, settings, app, win.start,
                           win.cursor if win.cursor is not None else win.end, num_retries):
            counts["pages"] += 1
            items = page.get("items") or []
            if not isinstance(items, list):
                raise PollError(f"Google Reports API ({app}): 'items' is not a list")
            events: list[Event] = []
            samples: list[tuple[int, str, str]] = []

            def reject(n: int, exc: ParseError, activity: Any,
                       samples: list[tuple[int, str, str]] = samples) -> None:
                """Counted, and kept as a sample while under the cap."""
                nonlocal kept
                stats.rejected += 1
                stats.reasons[exc.reason] += 1
                if kept < cap:
                    kept += 1
                    samples.append((n, exc.reason, json.dumps(activity)[:2000]))

            for activity in items:
                counts["activities"] += 1
                n = counts["activities"]
                try:
                    ts, uq = _identity(activity)
                except ParseError as exc:
                    stats.read += 1
                    reject(n, exc, activity)
                    continue
                if win.seen(ts, uq):
                    counts["skipped"] += 1
                    continue
                win.take(ts, uq)
                stats.read += 1
                err = take_record(handle, activity, n, stats, events)
                if err is not None:
                    reject(n, err, activity)
            counts["events"] += len(events)
            agg.add(events)
            commit(samples, done=False)
        commit([], done=True)
    except BaseException as exc:
        from sentinel.pipeline import fail_run
        fail_run(store, run_id, exc)
        raise
    status = "completed" if stats.read else "unchanged"
    return AppResult(app, fmt, status, run_id, counts["pages"], counts["activities"],
                     counts["skipped"], stats.parsed, stats.ignored, stats.rejected,
                     counts["events"], started, _utc(win.newest))


def poll(settings: Settings, store: Store, service: Any, *, now: float | None = None,
         num_retries: int = 3, actor: str | None = None) -> list[AppResult]:
    """Poll each configured application; one ``ingest.run`` audit record for the
    poll (a failed poll records its error, and what it committed stays)."""
    from sentinel.audit import append, default_actor, record_failed_ingest

    ids = Identities(settings, load_or_create_key(settings.storage.data_dir))
    results: list[AppResult] = []
    try:
        for app in settings.google.applications:
            results.append(poll_application(settings, store, ids, service, app, now=now,
                                            num_retries=num_retries))
    except BaseException as exc:
        record_failed_ingest(store, [f"google:{settings.google.customer_id}/{a}"
                                     for a in settings.google.applications], exc, actor)
        raise
    payload = {
        "source": "google", "customer_id": settings.google.customer_id,
        "inputs": [r.to_json() for r in results],
        "run_ids": [r.run_id for r in results],
        "lines_read": sum(r.parsed + r.ignored + r.rejected for r in results),
        "parsed": sum(r.parsed for r in results),
        "rejected": sum(r.rejected for r in results),
    }
    with store.session() as s:
        append(s, actor or default_actor(), "ingest.run",
               f"poll of Google Workspace ({', '.join(r.application for r in results)})", payload)
    return results


@dataclass
class PollOutcome:
    """A poll and the findings and report that followed it."""

    results: list[AppResult]
    scan: Any
    """The `sentinel.app.ScanOutcome` of the evaluation and report."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = self.scan.to_json()
        out["inputs"] = [r.to_json() for r in self.results]
        return out


def run_poll(ctx: Any, *, service: Any = None, now: float | None = None, num_retries: int = 3,
             actor: str | None = None, today: dt.date | None = None) -> PollOutcome:
    """Poll, then evaluate the findings and regenerate the report, as
    ``sentinel scan`` does after reading its files (`sentinel.app.run_scan`)."""
    from sentinel.app import regenerate_report
    from sentinel.findings import evaluate

    if service is None:
        service = build_service(load_credentials(ctx.settings))
    results = poll(ctx.settings, ctx.store, service, now=now, num_retries=num_retries,
                   actor=actor)
    evaluation = evaluate(ctx.settings, ctx.store, ctx.catalog, ctx.kb, ctx.matcher, today)
    return PollOutcome(results, regenerate_report(ctx, today, evaluation, actor))


__all__ = ["EXTRA", "AppResult", "PollError", "PollOutcome", "Window", "build_service",
           "load_credentials", "poll", "poll_application", "run_poll"]
