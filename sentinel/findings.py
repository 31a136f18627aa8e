"""Findings: usage compared with the catalog's vetting and contract status.

Rules (each keyed per rule and subject, so new usage updates a finding rather
than duplicating it):

* ``unvetted_app``: an app or domain not in the district catalog, used by at
  least ``findings.unvetted_min_clients`` clients and ``unvetted_min_events`` events;
* ``denied_app``: a catalog product marked denied (or retired) still in use;
* ``contract_expired``: an allowed product whose contract/DPA has expired, in use.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, delete, distinct, func, insert, select
from sqlalchemy.orm import Session

from catalog.kb import KnowledgeBase
from catalog.match import Matcher
from catalog.model import Catalog, Vetting
from collectors.event import DNS_OTHER
from sentinel.config import Settings
from sentinel.store import Store
from sentinel.store.models import Finding, HostClass, UsageDaily

SEVERITIES = ("low", "medium", "high")


@dataclass
class Reach:
    """Use of one subject (product or registered domain) over a window."""

    subject: str
    match_kind: str
    name: str
    category: str
    events: int = 0
    blocked: int = 0
    clients: int = 0
    students: int = 0
    staff: int = 0
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    hosts: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    populations: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)


def window(s: Session, days: int) -> tuple[dt.date, dt.date] | None:
    """The last ``days`` days of usage held (ending at the latest day)."""
    last = s.scalar(select(func.max(UsageDaily.day)))
    if last is None:
        return None
    return last - dt.timedelta(days=days - 1), last


def classify_hosts(s: Session, matcher: Matcher, start: dt.date, end: dt.date) -> None:
    hosts = s.scalars(select(UsageDaily.host).distinct().where(
        UsageDaily.day.between(start, end))).all()
    s.execute(delete(HostClass))
    rows = [{"host": h, "match_kind": m.kind, "subject": m.key, "name": m.name,
             "category": m.category, "rule": m.rule}
            for h in hosts for m in [matcher.classify(h)]]
    if rows:
        s.execute(insert(HostClass), rows)


def _host_spread_query(start: dt.date, end: dt.date) -> Any:
    u = UsageDaily
    return (select(u.host, u.site, u.population, u.kind)
            .where(u.day >= start, u.day <= end, u.kind != DNS_OTHER)
            .group_by(u.host, u.site, u.population, u.kind))


def host_spread(engine: Any, start: dt.date, end: dt.date) -> Future[list[Any]]:
    """The (host, site, population, kind) groups of the window, read on a
    connection of its own in a thread: the database works on it (SQLite and
    psycopg release the GIL) while this one classifies hosts and counts reach."""
    def run() -> list[Any]:
        with engine.connect() as conn:
            return list(conn.execute(_host_spread_query(start, end)))
    pool = ThreadPoolExecutor(max_workers=1)
    fut = pool.submit(run)
    pool.shutdown(wait=False)
    return fut


def usage_by_subject(s: Session, start: dt.date, end: dt.date,
                     spread: Future[list[Any]] | None = None) -> list[Reach]:
    """Use of every subject over the window; needs `classify_hosts` first.

    ``spread``: `host_spread` of the same window, started earlier."""
    u, h = UsageDaily, HostClass
    # Lookups that do not show use (PTR, TXT, SRV...) raise nothing and reach no one.
    where = (u.day >= start, u.day <= end, u.kind != DNS_OTHER)
    # Reach counts devices (client pseudonyms): a proxy user and the same device's
    # DNS lookups must not count twice. A device is in one population (both come
    # from its address), so the distinct counts per population add up.
    q = (select(h.subject, h.match_kind, u.population, func.min(h.name), func.min(h.category),
                func.sum(u.events), func.sum(u.blocked),
                func.count(distinct(func.nullif(u.client, ""))),
                func.min(u.first_seen), func.max(u.last_seen))
         .join(h, h.host == u.host).where(*where)
         .group_by(h.subject, h.match_kind, u.population))
    out: dict[tuple[str, str], Reach] = {}
    for subj, mk, pop, name, cat, ev, bl, cl, fs, ls in s.execute(q):
        r = out.get((subj, mk))
        if r is None:
            r = out[(subj, mk)] = Reach(subj, mk, name, cat)
        r.events += int(ev or 0)
        r.blocked += int(bl or 0)
        r.clients += cl
        if pop == "students":
            r.students += cl
        elif pop == "staff":
            r.staff += cl
        first, last = _aware(fs), _aware(ls)
        if first is not None and (r.first_seen is None or first < r.first_seen):
            r.first_seen = first
        if last is not None and (r.last_seen is None or last > r.last_seen):
            r.last_seen = last
    # Sites, populations, kinds and hosts of each subject: one grouped pass over
    # usage alone, hosts mapped to subjects here (a few thousand).
    subject = {host: (subj, mk) for host, subj, mk in s.execute(
        select(h.host, h.subject, h.match_kind))}
    rows = spread.result() if spread is not None else s.execute(_host_spread_query(start, end))
    seen: dict[tuple[str, str], tuple[set[str], set[str], set[str], set[str]]] = {}
    for host, site, pop, kind in rows:
        key = subject.get(host)
        if key is None:
            continue
        sets = seen.get(key)
        if sets is None:
            sets = seen[key] = (set(), set(), set(), set())
        sets[0].add(site)
        sets[1].add(pop)
        sets[2].add(kind)
        sets[3].add(host)
    for key, (sites, pops, kinds, hosts) in seen.items():
        r = out[key]
        r.sites, r.populations, r.kinds, r.hosts = (sorted(sites), sorted(pops), sorted(kinds),
                                                    sorted(hosts))
    return sorted(out.values(), key=lambda r: (-r.clients, -r.events, r.subject))


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    if t is not None and t.tzinfo is None:
        return t.replace(tzinfo=dt.UTC)
    return t


def _who(r: Reach) -> str:
    parts = []
    if r.students:
        parts.append(f"{r.students} student{'s' if r.students != 1 else ''}")
    if r.staff:
        parts.append(f"{r.staff} staff")
    other = r.clients - r.students - r.staff
    if other > 0 or not parts:
        parts.append(f"{max(other, 0)} other client{'s' if other != 1 else ''}")
    n = len([x for x in r.sites if x != "unknown"])
    where = f" at {n} site{'s' if n != 1 else ''}" if n else ""
    via = "/".join(r.kinds)
    return f"{', '.join(parts)}{where} ({via}, {r.events} events)"


def _severity(score: int) -> str:
    return SEVERITIES[max(0, min(score, 2))]


@dataclass
class Evaluation:
    findings: list[Finding]
    window: tuple[dt.date, dt.date] | None
    reach: list[Reach]
    """Use of every subject over the window (the report shows the same)."""


def evaluate(settings: Settings, store: Store, catalog: Catalog, kb: KnowledgeBase,
             matcher: Matcher, today: dt.date | None = None) -> Evaluation:
    """Re-evaluate every rule over the findings window and store the findings."""
    today = today or dt.date.today()
    cfg = settings.findings
    risk = {a.id: a.student_data_risk for a in kb.apps}
    now = dt.datetime.now(dt.UTC)
    raised: list[dict[str, Any]] = []
    with store.session() as s:
        win = window(s, cfg.window_days)
        if win is None:
            return Evaluation([], None, [])
        memory = store.engine.url.database in (None, "", ":memory:")  # one connection only
        spread = None if memory else host_spread(store.engine, *win)
        classify_hosts(s, matcher, *win)
        reach = usage_by_subject(s, *win, spread=spread)
        for r in reach:
            if r.match_kind in ("noise", "ip", "invalid"):
                continue
            product = catalog.by_id(r.subject) if r.match_kind == "district" else None
            if product is None:
                if r.clients < cfg.unvetted_min_clients or r.events < cfg.unvetted_min_events:
                    continue
                known = r.match_kind == "known"
                score = 1 if known else 0
                if risk.get(r.subject) == "high" and r.students:
                    score += 1
                if r.students >= cfg.high_severity_clients:
                    score += 1
                what = (f"{r.name} ({r.category})" if known else f"unknown domain {r.subject}")
                raised.append(_finding("unvetted_app", r, f"Unvetted app in use: {what}",
                                       _severity(score), "not in catalog",
                                       f"in use without vetting by {_who(r)}"))
                continue
            if product.status in (Vetting.DENIED, Vetting.RETIRED):
                raised.append(_finding(
                    "denied_app", r, f"{product.status.value.capitalize()} app in use: {r.name}",
                    "high", product.status.value,
                    f"{product.status.value} in the catalog, yet used by {_who(r)}"))
            elif product.status.allowed and product.contract_state(today) == "expired":
                assert product.contract_expires is not None
                score = 1 + (1 if r.students >= cfg.high_severity_clients else 0)
                raised.append(_finding(
                    "contract_expired", r, f"Contract expired, app in use: {r.name}",
                    _severity(score), product.status.value,
                    f"contract/DPA expired {product.contract_expires.isoformat()}, "
                    f"still used by {_who(r)}"))
        out = []
        existing = {(f.rule, f.subject): f for f in s.scalars(select(Finding))}
        for f in raised:
            row = existing.get((f["rule"], f["subject"]))
            if row is None:
                row = Finding(**f, state="open", created_at=now, updated_at=now)
                s.add(row)
            else:
                for k, v in f.items():
                    setattr(row, k, v)
                row.updated_at = now
            out.append(row)
        s.flush()
    return Evaluation(out, win, reach)


def _finding(rule: str, r: Reach, title: str, severity: str, status: str,
             why: str) -> dict[str, Any]:
    return {
        "rule": rule, "subject": r.subject, "title": title, "severity": severity,
        "explanation": f"{severity}: {why}", "product": r.name, "status": status,
        "hosts": r.hosts[:50], "clients": r.clients, "students": r.students, "staff": r.staff,
        "sites": r.sites, "populations": r.populations, "events": r.events,
        "first_seen": r.first_seen, "last_seen": r.last_seen}


def list_findings(store: Store) -> list[Finding]:
    order = case({"high": 0, "medium": 1, "low": 2}, value=Finding.severity)
    with store.session() as s:
        return list(s.scalars(select(Finding).order_by(order, Finding.clients.desc(),
                                                       Finding.subject)))
