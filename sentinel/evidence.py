"""The TLE evidence bundle: one ZIP an auditor can check on their own.

Layout (members in this order; fixed timestamps, so the same content gives
the same bytes):

* ``manifest.json``: generator and version, district, period, creation time,
  the SHA-256 of every other member, the audit chain head at export, the span
  of ``audit.jsonl``, and ``digest``: the SHA-256 of the manifest's own
  canonical JSON without that key. Written in one canonical layout, so any
  changed byte shows (a changed value breaks the digest, changed layout the form);
* ``catalog.csv``: the district catalog (``catalog.io`` native CSV);
* ``findings.csv``: findings whose use overlaps the period;
* ``findings_history.csv``: their lifecycle transitions (actor, time, reason);
* ``usage_weekly.csv``: use per ISO week, product and school (counts only);
* ``coverage.csv``: per log source and day, whether it reported, gaps flagged;
* ``audit.jsonl``: the audit records from the one before the period up to the
  chain head (canonical JSON, one per line): the records after the period are
  what links the period's records to the head the manifest pins;
* ``summary.html``: the content mapped to TLE business practices 1-4.

Privacy: no member carries a client address, a user name or a pseudonym;
usage is aggregated to counts per week, product and school.

The bundle is evidence against casual or accidental change. Anyone can rewrite
a member and every hash after it; the export's own ``evidence.export`` audit
record (the member hashes, the manifest's and the ZIP's) is the anchor held
by the district's chain.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import statistics
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.io import dump_catalog_csv
from catalog.model import Catalog, Product, Vetting
from collectors.event import DNS_OTHER
from sentinel.audit import (
    ChainHead,
    append,
    canonical_json,
    default_actor,
    export_record,
    head,
    parse_checkpoint,
    verify_records,
)
from sentinel.errors import SentinelError
from sentinel.store import aware
from sentinel.store.models import (
    AuditRecord,
    Finding,
    FindingTransition,
    HostClass,
    IngestRun,
    SsoApp,
    UsageDaily,
)
from sentinel.textsafe import csv_cell, html_templates, printable

if TYPE_CHECKING:
    from sentinel.app import Context
    from sentinel.grants import GrantGroup

FORMAT = "sentinel-evidence/1"
GENERATOR = "district-sentinel"
MANIFEST = "manifest.json"
MEMBERS = ("catalog.csv", "findings.csv", "findings_history.csv", "usage_weekly.csv",
           "coverage.csv", "audit.jsonl", "summary.html")
"""Every member but the manifest, in ZIP order."""
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
MAX_MEMBER = 2 << 30
"""Members larger than this are not read by `verify_bundle` (2 GiB)."""
MAX_AUDIT_LINE = 1 << 20
UNVETTED_RULES = frozenset(("unvetted_app", "unvetted_grant", "unknown_domain"))
PRODUCT_KINDS = ("district", "known", "unknown")
"""Match kinds summarised in usage_weekly.csv (noise, IP literals and invalid hosts are not)."""


class EvidenceError(SentinelError):
    """A bundle that cannot be written (bad period, unwritable path)."""


def generator_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(GENERATOR)
    except PackageNotFoundError:  # pragma: no cover (running from a bare checkout)
        import sentinel
        return sentinel.__version__


@dataclass(frozen=True)
class AuditSpan:
    """Which records ``audit.jsonl`` holds: ``first_seq``..``last_seq`` (0, 0 when
    empty); ``period_first``/``period_last`` are the period's own (None if none)."""

    first_seq: int
    last_seq: int
    period_first: int | None
    period_last: int | None


@dataclass(frozen=True)
class Manifest:
    """What ``manifest.json`` says about a bundle."""

    version: str
    district: str
    period_start: dt.date
    period_end: dt.date
    created_at: dt.datetime
    chain_head: ChainHead
    """The audit chain head when the bundle was made (before its own export record)."""
    audit: AuditSpan
    files: Mapping[str, str]
    """Member name -> SHA-256 (hex) of every member but the manifest."""
    generator: str = GENERATOR
    format: str = FORMAT

    def body(self) -> dict[str, Any]:
        """The manifest without its digest."""
        return {
            "format": self.format, "generator": self.generator, "version": self.version,
            "district": self.district,
            "period": {"start": self.period_start.isoformat(), "end": self.period_end.isoformat()},
            "created_at": self.created_at,
            "chain_head": {"seq": self.chain_head.seq, "hash": self.chain_head.hash},
            "audit": {"first_seq": self.audit.first_seq, "last_seq": self.audit.last_seq,
                      "period_first_seq": self.audit.period_first,
                      "period_last_seq": self.audit.period_last},
            "files": {k: self.files[k] for k in sorted(self.files)},
        }

    @property
    def digest(self) -> str:
        return _sha(canonical_json(self.body()).encode("ascii"))

    def render(self) -> bytes:
        """The member's bytes: the one canonical layout `verify_bundle` expects."""
        return render_manifest({**self.body(), "digest": self.digest})


def render_manifest(doc: Mapping[str, Any]) -> bytes:
    return (json.dumps(json.loads(canonical_json(doc)), indent=2, sort_keys=True,
                       ensure_ascii=True) + "\n").encode("ascii")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- export ---------------------------------------------------------------------------


def export_bundle(ctx: Context, start: dt.date, end: dt.date, out: Path,
                  actor: str | None = None, *, today: dt.date | None = None) -> Manifest:
    """Write the evidence bundle of ``start``..``end`` (district days, inclusive)
    to ``out`` and record it in the audit chain (``evidence.export``).

    The ZIP is written beside ``out`` and moved into place only once the audit
    record is committed: a bundle that exists was recorded.
    """
    if start > end:
        raise EvidenceError(f"period {start} to {end}: the start is after the end")
    actor = actor or default_actor()
    today = today or dt.date.today()
    settings, store, catalog = ctx.settings, ctx.store, ctx.catalog
    tz = settings.tz
    t0 = dt.datetime.combine(start, dt.time(), tz).astimezone(dt.UTC)
    t1 = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC)
    chain = head(store)
    members: dict[str, bytes] = {}
    with store.session() as s:
        members["catalog.csv"] = dump_catalog_csv(catalog).encode("utf-8")
        findings = _findings(s, t0, t1)
        members["findings.csv"] = _findings_csv(findings)
        members["findings_history.csv"] = _history_csv(s, findings)
        weekly, classes = _weekly(s, ctx, start, end)
        members["usage_weekly.csv"] = _weekly_csv(weekly, catalog)
        coverage = _coverage(s, settings, start, end)
        members["coverage.csv"] = _coverage_csv(coverage)
        audit_lines, span = _audit(s, chain, t0, t1)
        members["audit.jsonl"] = audit_lines
        grants = _grants(s, ctx)
        firsts = _first_seen(s, classes)
    created = dt.datetime.now(dt.UTC).replace(microsecond=0)
    summary = _Summary.build(settings.district.name, start, end, created, chain, catalog, today,
                             findings, weekly, coverage, grants, firsts, span)
    members["summary.html"] = summary.render().encode("utf-8")
    files = {name: _sha(data) for name, data in members.items()}
    manifest = Manifest(generator_version(), settings.district.name, start, end, created, chain,
                        span, files)
    blob = _zip([(MANIFEST, manifest.render()),
                 *((name, members[name]) for name in MEMBERS if name in members)])
    out = Path(out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(blob)
        with store.session() as s:
            append(s, actor, "evidence.export", f"evidence bundle {start} to {end}", {
                "period": {"start": start.isoformat(), "end": end.isoformat()},
                "files": files, "manifest_sha256": _sha(manifest.render()),
                "manifest_digest": manifest.digest, "bundle_sha256": _sha(blob),
                "chain_head": {"seq": chain.seq, "hash": chain.hash},
                "audit_span": [span.first_seq, span.last_seq]})
        tmp.replace(out)
    except OSError as exc:
        raise EvidenceError(f"{out}: cannot write the bundle: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return manifest


def _zip(items: Iterable[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in items:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix: the same bytes wherever it is made
            zf.writestr(info, data)
    return buf.getvalue()


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(header)
    for row in rows:
        w.writerow([csv_cell(c) for c in row])
    return out.getvalue().encode("utf-8")



def _time(t: dt.datetime | None) -> str:
    t = aware(t)
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if t is not None else ""


# -- findings -------------------------------------------------------------------------

FINDING_COLUMNS = ("id", "rule", "subject", "product", "title", "severity", "state",
                   "resolution", "state_reason", "suppressed_until", "tier",
                   "catalog_status", "explanation", "clients", "students", "staff", "sites",
                   "populations", "events", "hosts", "first_seen", "last_seen", "created_at",
                   "updated_at")


def _findings(s: Session, t0: dt.datetime, t1: dt.datetime) -> list[Finding]:
    """Findings whose use overlaps the period, or that changed state in it."""
    rows = s.scalars(select(Finding).order_by(Finding.id)).all()
    t = FindingTransition
    moved = set(s.scalars(select(t.finding_id).distinct().where(t.at >= t0, t.at < t1)))
    out = []
    for f in rows:
        first, last, upd = aware(f.first_seen), aware(f.last_seen), aware(f.updated_at)
        seen = first is not None and last is not None and first < t1 and last >= t0
        changed = f.id in moved or (upd is not None and t0 <= upd < t1)
        if seen or changed:
            out.append(f)
    return out


def _findings_csv(findings: Sequence[Finding]) -> bytes:
    return _csv(FINDING_COLUMNS, ((
        f.id, f.rule, f.subject, f.product or "", f.title, f.severity, f.state,
        f.resolution or "", f.state_reason or "", _time(f.suppressed_until), f.tier,
        f.status or "",
        f.explanation, f.clients, f.students, f.staff, "; ".join(map(str, f.sites or [])),
        "; ".join(map(str, f.populations or [])), f.events, "; ".join(map(str, f.hosts or [])),
        _time(f.first_seen), _time(f.last_seen), _time(f.created_at), _time(f.updated_at))
        for f in findings))


HISTORY_COLUMNS = ("finding_id", "rule", "subject", "at", "actor", "from_state", "to_state",
                   "resolution", "reason", "suppressed_until", "audit_seq")


def _history_csv(s: Session, findings: Sequence[Finding]) -> bytes:
    """Every transition of these findings, oldest first per finding. The actor is
    the staff member or process that made it (the accountability the audit needs)."""
    t = FindingTransition
    subjects = {f.id: (f.rule, f.subject) for f in findings}
    rows = []
    ids = list(subjects)
    for i in range(0, len(ids), 500):
        for tr in s.scalars(select(t).where(t.finding_id.in_(ids[i:i + 500]))):
            rule, subject = subjects[tr.finding_id]
            rows.append((tr.finding_id, _time(tr.at), tr.id, (
                tr.finding_id, rule, subject, _time(tr.at), tr.actor, tr.from_state or "",
                tr.to_state, tr.resolution or "", tr.reason, _time(tr.suppressed_until),
                "" if tr.audit_seq is None else tr.audit_seq)))
    rows.sort(key=lambda r: r[:3])
    return _csv(HISTORY_COLUMNS, (r[3] for r in rows))


# -- weekly usage ---------------------------------------------------------------------


@dataclass
class WeekUse:
    """Use of one subject at one school in one ISO week (distinct devices)."""

    week: str
    week_start: dt.date
    subject: str
    match_kind: str
    name: str
    site: str
    events: int = 0
    uploads: int = 0
    clients: set[str] = field(default_factory=set)
    students: set[str] = field(default_factory=set)
    staff: set[str] = field(default_factory=set)
    accounts: set[str] = field(default_factory=set)
    """SSO accounts (user pseudonyms), for sign-ins that carry no device."""


def _iso_week(day: dt.date) -> tuple[str, dt.date]:
    y, w, wd = day.isocalendar()
    return f"{y}-W{w:02d}", day - dt.timedelta(days=wd - 1)


def _classes(s: Session, ctx: Context, hosts: Iterable[str]) -> dict[str, tuple[str, str, str]]:
    """host -> (match kind, subject, name): from the last evaluation's
    `HostClass`, and the matcher for hosts it did not see."""
    want = set(hosts)
    out = {h: (k, subj, name) for h, k, subj, name in s.execute(
        select(HostClass.host, HostClass.match_kind, HostClass.subject, HostClass.name))
        if h in want}
    missing = sorted(want - out.keys())
    if missing:
        from catalog.sso import AppMatcher

        apps: AppMatcher | None = None
        names = {a.app_key: (a.app_id, a.app_name) for a in s.scalars(select(SsoApp))}
        for h in missing:
            if h.startswith("sso:"):
                apps = apps or AppMatcher(ctx.catalog, ctx.kb)
                key = h[4:]
                app_id, app_name = names.get(key, ("" if key.startswith("name:") else key, ""))
                a = apps.match(app_id, app_name)
                out[h] = (a.kind, a.key, a.name or app_name or app_id)
            else:
                m = ctx.matcher.classify(h)
                out[h] = (m.kind, m.key, m.name)
    return out


def _weekly(s: Session, ctx: Context, start: dt.date, end: dt.date,
            ) -> tuple[list[WeekUse], dict[str, tuple[str, str, str]]]:
    """Use per ISO week, subject and school; and how each host of the period classified."""
    u = UsageDaily
    where = (u.day >= start, u.day <= end, u.kind != DNS_OTHER)
    hosts = s.scalars(select(u.host).distinct().where(*where)).all()
    cls = _classes(s, ctx, hosts)
    q = (select(u.day, u.host, u.site, u.population, u.client, u.user, u.kind,
                func.sum(u.events), func.sum(u.uploads))
         .where(*where).group_by(u.day, u.host, u.site, u.population, u.client, u.user, u.kind))
    acc: dict[tuple[str, str, str, str], WeekUse] = {}
    for day, host, site, pop, client, user, kind, events, uploads in \
            s.execute(q.execution_options(yield_per=5000)):
        kind_, subject, name = cls.get(host, ("unknown", host, host))
        if kind_ not in PRODUCT_KINDS:
            continue
        day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
        week, week_start = _iso_week(day)
        key = (week, kind_, subject, site)
        w = acc.get(key)
        if w is None:
            w = acc[key] = WeekUse(week, week_start, subject, kind_, name, site)
        w.events += int(events or 0)
        w.uploads += int(uploads or 0)
        if client:
            w.clients.add(client)
            if pop == "students":
                w.students.add(client)
            elif pop == "staff":
                w.staff.add(client)
        elif user and kind in ("sso", "sso-grant"):
            w.accounts.add(user)
    return sorted(acc.values(), key=lambda w: (w.week, w.match_kind != "district", w.name,
                                               w.subject, w.site)), cls


WEEKLY_COLUMNS = ("week", "week_start", "product_id", "product", "match_kind",
                  "catalog_status", "site", "events", "clients", "students", "staff",
                  "sso_accounts", "uploads")


def _status(catalog: Catalog, w: WeekUse) -> str:
    if w.match_kind != "district":
        return "not in catalog"
    p = catalog.by_id(w.subject)
    return p.status.value if p else "?"


def _weekly_csv(weekly: Sequence[WeekUse], catalog: Catalog) -> bytes:
    return _csv(WEEKLY_COLUMNS, ((
        w.week, w.week_start.isoformat(), w.subject, w.name, w.match_kind, _status(catalog, w),
        w.site, w.events, len(w.clients), len(w.students), len(w.staff), len(w.accounts),
        w.uploads) for w in weekly))


# -- coverage -------------------------------------------------------------------------

_ROTATED = re.compile(r"(\.\d{1,4})?(\.(gz|bz2|xz|zst))?$")


@dataclass(frozen=True)
class CoverageDay:
    """Whether one log source reported on one day of the period.

    ``status``: ``ok``; ``gap`` (no data, though the source reported before);
    ``not_started`` (before its first report).
    """

    source: str
    format: str
    kind: str
    day: dt.date
    files: int
    events_of_kind: int
    status: str


def _logical_source(path: str, patterns: Sequence[str]) -> str:
    """A configured ``[[sources]]`` glob the file matches, else the path with
    its rotation suffix (``.1``, ``.6.gz``) cut: a rotated file is the same source."""
    import fnmatch

    for p in patterns:
        if fnmatch.fnmatchcase(path, p):
            return p
    return _ROTATED.sub("", path) or path


def _coverage(s: Session, settings: Any, start: dt.date, end: dt.date) -> list[CoverageDay]:
    """Per source and day: covered when one of its runs spans the day (first to
    last event) and usage of its kind exists that day. (Usage is not kept per
    source: two sources of one kind share the second test.)"""
    tz = settings.tz
    patterns = [str(src.path) for src in settings.sources]
    spans: dict[tuple[str, str, str], list[tuple[dt.date, dt.date]]] = {}
    files: dict[tuple[str, str, str], set[str]] = {}
    r = IngestRun
    for source, fmt, kind, first, last in s.execute(
            select(r.source, r.format, r.kind, r.first_event, r.last_event)
            .where(r.first_event.is_not(None), r.last_event.is_not(None))):
        f, lst = aware(first), aware(last)
        assert f is not None and lst is not None
        key = (_logical_source(source, patterns), fmt, kind)
        spans.setdefault(key, []).append((f.astimezone(tz).date(), lst.astimezone(tz).date()))
        files.setdefault(key, set()).add(source)
    u = UsageDaily
    by_kind: dict[tuple[dt.date, str], int] = {}
    for day, kind, events in s.execute(
            select(u.day, u.kind, func.sum(u.events)).where(u.day >= start, u.day <= end)
            .group_by(u.day, u.kind)):
        day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
        base = "dns" if kind == DNS_OTHER else "sso" if kind == "sso-grant" else kind
        by_kind[(day, base)] = by_kind.get((day, base), 0) + int(events or 0)
    out = []
    for (source, fmt, kind), ranges in sorted(spans.items()):
        first_day = min(a for a, _ in ranges)
        day = start
        while day <= end:
            events = by_kind.get((day, kind), 0)
            covered = events > 0 and any(a <= day <= b for a, b in ranges)
            status = "ok" if covered else "not_started" if day < first_day else "gap"
            out.append(CoverageDay(source, fmt, kind, day, len(files[(source, fmt, kind)]),
                                   events, status))
            day += dt.timedelta(days=1)
    return out


COVERAGE_COLUMNS = ("source", "format", "kind", "day", "files", "events_of_kind", "status")


def _coverage_csv(rows: Sequence[CoverageDay]) -> bytes:
    return _csv(COVERAGE_COLUMNS, ((c.source, c.format, c.kind, c.day.isoformat(), c.files,
                                    c.events_of_kind, c.status) for c in rows))


# -- audit ----------------------------------------------------------------------------


def _audit(s: Session, chain: ChainHead, t0: dt.datetime,
           t1: dt.datetime) -> tuple[bytes, AuditSpan]:
    """The records from the one before the period to ``chain`` (see the module doc)."""
    a = AuditRecord
    if chain.seq == 0:
        return b"", AuditSpan(0, 0, None, None)
    first_in, last_in = s.execute(select(func.min(a.seq), func.max(a.seq))
                                  .where(a.at >= t0, a.at < t1, a.seq <= chain.seq)).one()
    if first_in is None:
        after = s.scalar(select(func.min(a.seq)).where(a.at >= t1, a.seq <= chain.seq))
        lo = max(1, int(after) - 1) if after is not None else chain.seq
    else:
        lo = max(1, int(first_in) - 1)
    lines = []
    for rec in s.scalars(select(a).where(a.seq >= lo, a.seq <= chain.seq).order_by(a.seq)):
        lines.append(canonical_json(export_record(rec)) + "\n")
    span = AuditSpan(lo, chain.seq, int(first_in) if first_in is not None else None,
                     int(last_in) if last_in is not None else None)
    return "".join(lines).encode("ascii"), span


# -- SSO grants and first use -----------------------------------------------------------


def _grants(s: Session, ctx: Context) -> list[GrantGroup]:
    from catalog.sso import AppMatcher
    from sentinel.grants import group_grants

    return group_grants(s, AppMatcher(ctx.catalog, ctx.kb))


def _first_seen(s: Session, classes: Mapping[str, tuple[str, str, str]]) -> dict[str, dt.date]:
    """The first day each subject of the period shows in all the usage held, through
    the period's hosts (``classes``)."""
    u = UsageDaily
    out: dict[str, dt.date] = {}
    for h, d in s.execute(select(u.host, func.min(u.day)).where(u.kind != DNS_OTHER)
                          .group_by(u.host)):
        c = classes.get(h)
        if c is None:
            continue
        day = d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))
        if c[1] not in out or day < out[c[1]]:
            out[c[1]] = day
    return out


# -- the HTML summary -----------------------------------------------------------------

@dataclass(frozen=True)
class AppInUse:
    """An app used in the period, with its catalog standing (practices 1 and 3)."""

    id: str
    name: str
    match_kind: str
    status: str
    decided: dt.date | None
    first_seen: dt.date | None
    days_to_vet: int | None
    """Decision date minus first use; negative when vetted before first use."""
    contract_type: str
    contract_state: str
    expires: dt.date | None
    clients: int
    students: int
    sites: tuple[str, ...]
    uploads: int
    events: int


@dataclass(frozen=True)
class _Summary:
    district: str
    start: dt.date
    end: dt.date
    created: dt.datetime
    chain: ChainHead
    span: AuditSpan
    apps: tuple[AppInUse, ...]
    unknown_domains: int
    vetting_counts: tuple[tuple[str, int], ...]
    median_days_to_vet: float | None
    by_school: tuple[tuple[str, tuple[tuple[str, str, int, int, int], ...]], ...]
    """School -> (app, rule, students, staff, events) of its unvetted-tool findings."""
    no_dpa: tuple[AppInUse, ...]
    grants: tuple[GrantGroup, ...]
    grant_status: Mapping[str, str]
    uploads: tuple[AppInUse, ...]
    coverage: tuple[tuple[str, str, int, int, tuple[str, ...]], ...]
    """(source, format, days ok, gap days, gap dates)."""
    findings: int

    @classmethod
    def build(cls, district: str, start: dt.date, end: dt.date, created: dt.datetime,
              chain: ChainHead, catalog: Catalog, today: dt.date, findings: Sequence[Finding],
              weekly: Sequence[WeekUse], coverage: Sequence[CoverageDay],
              grants: Sequence[GrantGroup], firsts: Mapping[str, dt.date],
              span: AuditSpan) -> _Summary:
        per: dict[tuple[str, str], list[WeekUse]] = {}
        for w in weekly:
            per.setdefault((w.match_kind, w.subject), []).append(w)
        apps = []
        unknown = 0
        for (kind, subject), ws in per.items():
            if kind == "unknown" and not subject.startswith("sso"):
                unknown += 1
                continue
            p: Product | None = catalog.by_id(subject) if kind == "district" else None
            clients = set().union(*(w.clients for w in ws))
            students = set().union(*(w.students for w in ws))
            first = firsts.get(subject)
            decided = p.review.decided if p else None
            apps.append(AppInUse(
                subject, ws[0].name, kind, p.status.value if p else "not in catalog", decided,
                first, (decided - first).days if decided and first else None,
                p.contract.type.value if p else "none",
                p.contract_state(end) if p else "none", p.contract_expires if p else None,
                len(clients), len(students), tuple(sorted({w.site for w in ws})),
                sum(w.uploads for w in ws), sum(w.events for w in ws)))
        apps.sort(key=lambda a: (-a.clients, -a.events, a.name))
        counts: dict[str, int] = {}
        for a in apps:
            counts[a.status] = counts.get(a.status, 0) + 1
        waits = [a.days_to_vet for a in apps if a.days_to_vet is not None and a.days_to_vet >= 0]
        schools: dict[str, list[tuple[str, str, int, int, int]]] = {}
        for f in findings:
            if f.rule not in UNVETTED_RULES:
                continue
            for site in f.sites or ["unknown"]:
                ws = [w for w in per.get(("known", f.subject), []) + per.get(("unknown", f.subject), [])
                      if w.site == site]
                stu = len(set().union(*(w.students for w in ws)))
                stf = len(set().union(*(w.staff for w in ws)))
                ev = sum(w.events for w in ws)
                schools.setdefault(str(site), []).append(
                    (f.product or f.subject, f.rule, stu, stf, ev))
        by_school = tuple((k, tuple(sorted(v, key=lambda t: (-t[2], t[0]))))
                          for k, v in sorted(schools.items(), key=lambda kv: (-len(kv[1]), kv[0])))
        no_dpa = tuple(a for a in apps if a.status not in (Vetting.DENIED.value,
                                                           Vetting.RETIRED.value)
                       and a.contract_state != "current")
        gstatus = {}
        for g in grants:
            p = catalog.by_id(g.subject) if g.match_kind == "district" else None
            gstatus[g.subject] = p.status.value if p else "not in catalog"
        cov: dict[tuple[str, str], list[CoverageDay]] = {}
        for c in coverage:
            cov.setdefault((c.source, c.format), []).append(c)
        cov_rows = tuple((src, fmt, sum(c.status == "ok" for c in cs),
                          sum(c.status == "gap" for c in cs),
                          tuple(c.day.isoformat() for c in cs if c.status == "gap"))
                         for (src, fmt), cs in sorted(cov.items()))
        return cls(district, start, end, created, chain, span, tuple(apps), unknown,
                   tuple(sorted(counts.items())),
                   statistics.median(waits) if waits else None, by_school, no_dpa,
                   tuple(g for g in grants if g.active), gstatus,
                   tuple(a for a in apps if a.uploads), cov_rows, len(findings))

    def render(self) -> str:
        return html_templates().get_template("evidence.html").render(
            s=self, members=MEMBERS, version=generator_version(), today=self.created.date())


# -- verification ---------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of `verify_bundle`: ``problems`` name the member each concerns."""

    ok: bool
    problems: list[str]
    manifest: dict[str, Any] | None = None
    """The manifest as read (None when it could not be)."""
    audit_records: int = 0


def verify_bundle(path: Path) -> VerifyReport:
    """Check a bundle on its own: the manifest's form and digest, every member's
    SHA-256 (naming each altered, missing or extra member), and ``audit.jsonl``
    as a chain segment ending at the manifest's chain head."""
    problems: list[str] = []
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return VerifyReport(False, [f"{path}: not a readable ZIP file ({exc})"])
    with zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        for n in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"{n}: the ZIP holds it {names.count(n)} times")
        if MANIFEST not in names:
            return VerifyReport(False, [*problems, f"{MANIFEST}: missing"])
        digests: dict[str, str] = {}
        for info in infos:
            if info.filename in digests:
                continue
            if info.file_size > MAX_MEMBER:
                problems.append(f"{info.filename}: {info.file_size} bytes, over the "
                                f"{MAX_MEMBER}-byte limit")
                continue
            try:
                digests[info.filename] = _hash_member(zf, info)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error,
                    NotImplementedError) as exc:  # a corrupted deflate stream is zlib.error
                problems.append(f"{info.filename}: unreadable in the ZIP ({exc})")
        try:
            raw = zf.read(MANIFEST) if MANIFEST in digests else b""
            doc = json.loads(raw)
            if not isinstance(doc, dict):
                raise ValueError("not a JSON object")
        except (ValueError, zipfile.BadZipFile, OSError, zlib.error) as exc:
            problems.append(f"{MANIFEST}: not a valid manifest ({str(exc)[:200]})")
            return VerifyReport(False, problems)
        problems.extend(_check_manifest(doc, raw))
        files = doc.get("files")
        if not isinstance(files, dict):
            problems.append(f"{MANIFEST}: no 'files' table")
            return VerifyReport(False, problems, doc)
        for name in sorted(files):
            want = files[name]
            if name not in names:
                problems.append(f"{name}: missing from the bundle (listed in the manifest)")
            elif name in digests and digests[name] != want:
                problems.append(f"{name}: altered (SHA-256 {digests[name]} does not match the "
                                f"manifest's {str(want)[:64]})")
        for name in names:
            if name != MANIFEST and name not in files:
                problems.append(f"{name}: extra file, not in the manifest")
        count = 0
        if "audit.jsonl" in digests:
            count, audit_problems = _check_audit(zf, doc)
            problems.extend(audit_problems)
    return VerifyReport(not problems, problems, doc, count)


def _hash_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    h = hashlib.sha256()
    with zf.open(info) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_manifest(doc: dict[str, Any], raw: bytes) -> list[str]:
    out = []
    digest = doc.get("digest")
    body = {k: v for k, v in doc.items() if k != "digest"}
    try:
        if render_manifest(doc) != raw:
            out.append(f"{MANIFEST}: altered (not in the layout Sentinel writes)")
        if digest != _sha(canonical_json(body).encode("ascii")):
            out.append(f"{MANIFEST}: altered (its digest does not match its content)")
    except (TypeError, ValueError) as exc:
        out.append(f"{MANIFEST}: altered ({str(exc)[:100]})")
    if doc.get("format") != FORMAT:
        out.append(f"{MANIFEST}: format {printable(doc.get('format'), 60)!r}, expected {FORMAT}")
    return out


def _check_audit(zf: zipfile.ZipFile, doc: Mapping[str, Any]) -> tuple[int, list[str]]:
    name = "audit.jsonl"
    ch = doc.get("chain_head")
    try:
        if not isinstance(ch, dict):
            raise ValueError("missing")
        cp = parse_checkpoint(f"{ch.get('seq')}:{ch.get('hash')}")
    except (SentinelError, ValueError) as exc:
        return 0, [f"{MANIFEST}: chain_head is not a valid checkpoint ({exc})"]
    problems: list[str] = []

    def records() -> Iterator[Any]:
        with zf.open(name) as fh:
            for n, line in enumerate(fh, 1):
                if len(line) > MAX_AUDIT_LINE:
                    problems.append(f"{name}: line {n} is over {MAX_AUDIT_LINE} bytes")
                    return
                try:
                    yield json.loads(line)
                except ValueError as exc:
                    problems.append(f"{name}: line {n} is not JSON ({str(exc)[:100]})")
                    return

    try:
        result = verify_records(records(), cp, segment=True)
    except (zipfile.BadZipFile, OSError) as exc:
        return 0, [f"{name}: unreadable ({exc})"]
    if problems:
        return result.records, problems
    if not result.ok:
        return result.records, [f"{name}: audit chain broken at record {result.first_bad_seq}: "
                                f"{result.problem}"]
    if result.records == 0 and cp.seq != 0:
        return 0, [f"{name}: empty, but the manifest's chain head is record {cp.seq}"]
    if result.head != cp:
        return result.records, [f"{name}: ends at record {result.head}, not at the manifest's "
                                f"chain head {cp}"]
    return result.records, []


def bundle_members(path: Path) -> list[str]:
    """The member names of a bundle, in ZIP order."""
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


__all__ = [
    "MANIFEST",
    "MEMBERS",
    "AppInUse",
    "AuditSpan",
    "EvidenceError",
    "Manifest",
    "VerifyReport",
    "export_bundle",
    "generator_version",
    "verify_bundle",
]
