"""Findings: usage compared with the catalog's vetting and contract status.

Each rule is keyed per rule and subject (a catalog product id, a knowledge-base
app id, an SSO app key or a registered domain), so new usage updates a finding
rather than duplicating it. Thresholds are `sentinel.config.Findings`; reach
counts distinct devices over the window (``findings.window_days``).

==================== ===========================================================
``unvetted_app``     a known app (or an SSO app) not in the district catalog, in
                     use (``unvetted_min_clients``, ``unvetted_min_events``)
``unknown_domain``   a registered domain nobody knows, with high reach, pending
                     triage (``unknown_min_clients``, ``unvetted_min_events``)
``pending_review``   a product still ``requested`` or ``in_review``, in use
``denied_app``       a ``denied`` or ``retired`` product, in use
``consent_required`` a ``parental_consent_required`` product used by students
``no_contract``      an allowed product with no DPA (none or click-through)
``contract_expired`` an allowed product whose DPA has expired, in use
``contract_expiring`` ...whose DPA ends within ``contract_warn_days``, in use
``new_app``          a product or known app first used (in all stored usage)
                     within the last ``new_app_days``, once the store holds
                     ``new_app_baseline_days`` of usage before that
``unvetted_grant``,  the OAuth grant rules (`sentinel.grants`)
``scope_drift``,
``denied_grant``
==================== ===========================================================

Evidence tier, weakest to strongest: ``dns`` (DNS lookup) < ``web`` (TLS SNI
or proxy request) < ``upload`` (POST bytes) < ``sso`` (SSO sign-in) <
``oauth`` (OAuth grant) < ``oauth_high`` (OAuth grant with high-risk scopes).

Severity is a score, clamped to low (0), medium (1), high (2): the rule's base
(what the catalog status makes it), +1 for uploads, sign-ins or grants (+2
for high-risk scopes), +1 for reach (devices, a student counting twice, at
``high_severity_clients``, or ``high_severity_schools`` schools), +1 for a
known app the knowledge base rates high student-data risk used by students.
The explanation states each part; ``details`` holds them. The grant rules
keep their own severity (scope risk and accounts, `sentinel.grants`).

What happens to a finding afterwards is `sentinel.lifecycle`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, delete, distinct, func, insert, literal, or_, select, text
from sqlalchemy.orm import Session

from catalog.kb import KnowledgeBase, KnownApp
from catalog.match import Matcher, registered_domain
from catalog.model import Catalog, Product, Vetting, parse_domain_rule
from catalog.sso import AppMatcher
from collectors.event import DNS_OTHER
from sentinel.config import Findings, Settings
from sentinel.grants import GrantGroup, grant_findings, group_grants, short_scope
from sentinel.lifecycle import Raised, reconcile
from sentinel.store import Store, aware
from sentinel.store.models import Finding, HostClass, SsoApp, UsageDaily

SEVERITIES = ("low", "medium", "high")
TIERS = ("dns", "web", "upload", "sso", "oauth", "oauth_high")
"""Evidence tiers, weakest to strongest."""
TIER_LABELS = {
    "dns": "DNS lookup",
    "web": "TLS SNI or proxy request",
    "upload": "upload (POST bytes)",
    "sso": "SSO sign-in",
    "oauth": "OAuth grant",
    "oauth_high": "OAuth grant with high-risk scopes",
}
TIER_BONUS = {"dns": 0, "web": 0, "upload": 1, "sso": 1, "oauth": 1, "oauth_high": 2}
RULES = ("unvetted_app", "unknown_domain", "pending_review", "denied_app", "consent_required",
         "no_contract", "contract_expired", "contract_expiring", "new_app", "unvetted_grant",
         "scope_drift", "denied_grant")
GRANT_RULES = frozenset(("unvetted_grant", "scope_drift", "denied_grant"))
EVALUATION_LOCK = int.from_bytes(b"SNTFINDS", "big")
"""PostgreSQL advisory lock key held by an evaluation (transaction-scoped)."""


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
    uploads: int = 0
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    last_web: dt.datetime | None = None
    """Latest proxy, TLS or SSO record with allowed (not blocked) events."""
    last_web_blocked: dt.datetime | None = None
    """Latest proxy, TLS or SSO record with blocked events."""
    last_dns: dt.datetime | None = None
    """Latest DNS lookup record (not blocked)."""
    hosts: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    populations: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)

    @property
    def schools(self) -> int:
        return len([x for x in self.sites if x != "unknown"])

    @property
    def weighted(self) -> int:
        """Devices, a student counting twice."""
        return self.clients + self.students


@dataclass(frozen=True)
class Use:
    """When a subject was last used: what re-opens a finding resolved as
    blocked or removed. A blocked request is not use; a DNS lookup is, unless
    a proxy, TLS or SSO record after the same time shows the requests blocked
    (the filter resolved the name, then refused the request)."""

    web: dt.datetime | None = None
    web_blocked: dt.datetime | None = None
    dns: dt.datetime | None = None
    granted: dt.datetime | None = None

    def after(self, t: dt.datetime) -> dt.datetime | None:
        for seen in (self.web, self.granted):
            if seen is not None and seen > t:
                return seen
        if self.dns is not None and self.dns > t and not (
                self.web_blocked is not None and self.web_blocked > t):
            return self.dns
        return None


def window(s: Session, days: int) -> tuple[dt.date, dt.date] | None:
    """The last ``days`` days of usage held (ending at the latest day)."""
    last = s.scalar(select(func.max(UsageDaily.day)))
    if last is None:
        return None
    return last - dt.timedelta(days=days - 1), last


def _classify(host: str, matcher: Matcher, apps: AppMatcher | None,
              names: dict[str, tuple[str, str]]) -> dict[str, str]:
    """A `HostClass` row of one host. SSO apps are in usage as ``sso:<app
    key>`` hosts: they match by app id, then by name."""
    if host.startswith("sso:") and apps is not None:
        key = host[4:]
        app_id, app_name = names.get(key, ("" if key.startswith("name:") else key, ""))
        a = apps.match(app_id, app_name)
        return {"host": host, "match_kind": a.kind, "subject": a.key,
                "name": a.name or app_name or app_id, "category": a.category or "sso",
                "rule": f"sso app {a.how}: {app_id or app_name}"[:255]}
    m = matcher.classify(host)
    return {"host": host, "match_kind": m.kind, "subject": m.key, "name": m.name,
            "category": m.category, "rule": m.rule}


def _sso_names(s: Session) -> dict[str, tuple[str, str]]:
    return {a.app_key: (a.app_id, a.app_name) for a in s.scalars(select(SsoApp))}


def classify_hosts(s: Session, matcher: Matcher, start: dt.date, end: dt.date,
                   apps: AppMatcher | None = None) -> None:
    """Classify every host of the window into `HostClass`."""
    hosts = s.scalars(select(UsageDaily.host).distinct().where(
        UsageDaily.day.between(start, end))).all()
    s.execute(delete(HostClass))
    names = _sso_names(s) if apps is not None and any(h.startswith("sso:") for h in hosts) \
        else {}
    rows = [_classify(h, matcher, apps, names) for h in hosts]
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


def _later(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    a, b = aware(a), aware(b)
    if a is None:
        return b
    return a if b is None or a >= b else b


def usage_by_subject(s: Session, start: dt.date, end: dt.date,
                     spread: Future[list[Any]] | None = None) -> list[Reach]:
    """Use of every subject over the window; needs `classify_hosts` first.

    ``spread``: `host_spread` of the same window, started earlier."""
    u, h = UsageDaily, HostClass
    # Lookups that do not show use (PTR, TXT, SRV...) raise nothing and reach no one.
    where = (u.day >= start, u.day <= end, u.kind != DNS_OTHER)
    # Reach counts devices (client pseudonyms): a proxy user and the same device's
    # DNS lookups must not count twice. A device is in one population (both come
    # from its address), so the distinct counts per population add up. A record
    # with no address (an SSO log without one) counts its account instead.
    device = case((u.client != "", u.client), (u.user != "", literal("u:") + u.user))
    web, allowed = u.kind != "dns", u.events > u.blocked
    q = (select(h.subject, h.match_kind, u.population, func.min(h.name), func.min(h.category),
                func.sum(u.events), func.sum(u.blocked), func.sum(u.uploads),
                func.count(distinct(device)),
                func.min(u.first_seen), func.max(u.last_seen),
                func.max(case((and_(web, allowed), u.last_seen))),
                func.max(case((and_(web, u.blocked > 0), u.last_seen))),
                func.max(case((and_(u.kind == "dns", allowed), u.last_seen))))
         .join(h, h.host == u.host).where(*where)
         .group_by(h.subject, h.match_kind, u.population))
    out: dict[tuple[str, str], Reach] = {}
    for (subj, mk, pop, name, cat, ev, bl, up, cl, fs, ls, lw, lwb, ld) in s.execute(q):
        r = out.get((subj, mk))
        if r is None:
            r = out[(subj, mk)] = Reach(subj, mk, name, cat)
        r.events += int(ev or 0)
        r.blocked += int(bl or 0)
        r.uploads += int(up or 0)
        r.clients += cl
        if pop == "students":
            r.students += cl
        elif pop == "staff":
            r.staff += cl
        first = aware(_dt(fs))
        if first is not None and (r.first_seen is None or first < r.first_seen):
            r.first_seen = first
        r.last_seen = _later(r.last_seen, _dt(ls))
        r.last_web = _later(r.last_web, _dt(lw))
        r.last_web_blocked = _later(r.last_web_blocked, _dt(lwb))
        r.last_dns = _later(r.last_dns, _dt(ld))
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


def _dt(value: Any) -> dt.datetime | None:
    """A time from an aggregate: SQLite may hand back the stored text."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


# -- tier and severity -------------------------------------------------------------------


def tier_of(kinds: Iterable[str], uploads: int = 0, high_scopes: bool = False) -> str:
    """The strongest evidence among a subject's usage kinds (see `TIERS`)."""
    ks = set(kinds)
    if "sso-grant" in ks:
        return "oauth_high" if high_scopes else "oauth"
    if "sso" in ks:
        return "sso"
    if uploads > 0:
        return "upload"
    if ks & {"proxy", "tls"}:
        return "web"
    return "dns"


def _evidence(tier: str, r: Reach, high: list[str]) -> str:
    """What the tier's evidence is, for the explanation."""
    if tier == "oauth_high":
        shown = ", ".join(short_scope(x) for x in high[:4]) + (" ..." if len(high) > 4 else "")
        return f"OAuth grants with high-risk scopes ({shown})"
    if tier == "upload":
        return f"uploads ({r.uploads} POST{'s' if r.uploads != 1 else ''})"
    return {"dns": "DNS lookups", "web": "TLS/proxy requests", "sso": "SSO sign-ins",
            "oauth": "OAuth grants"}[tier]


@dataclass(frozen=True)
class Score:
    """A severity and the parts it was added up from."""

    base: int
    base_why: str
    plus: tuple[tuple[int, str], ...] = ()

    @property
    def total(self) -> int:
        return max(0, min(self.base + sum(n for n, _ in self.plus), 2))

    @property
    def severity(self) -> str:
        return SEVERITIES[self.total]

    def explain(self) -> str:
        parts = [f"base {SEVERITIES[max(0, min(self.base, 2))]}: {self.base_why}"]
        parts.extend(f"+{n} {why}" for n, why in self.plus)
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {"base": self.base, "base_why": self.base_why,
                "plus": [{"points": n, "why": why} for n, why in self.plus],
                "total": self.total}


def score(base: int, base_why: str, r: Reach, tier: str, cfg: Findings,
          risky: bool = False) -> Score:
    """The rule's base, then evidence, reach and risk (module docstring)."""
    plus: list[tuple[int, str]] = []
    if TIER_BONUS[tier]:
        plus.append((TIER_BONUS[tier], f"evidence: {TIER_LABELS[tier]}"))
    wide = []
    if r.weighted >= cfg.high_severity_clients:
        wide.append(f"{r.weighted} devices (students count twice) >= "
                    f"{cfg.high_severity_clients}")
    if r.schools >= cfg.high_severity_schools:
        wide.append(f"{r.schools} schools >= {cfg.high_severity_schools}")
    if wide:
        plus.append((1, "reach " + ", ".join(wide)))
    if risky and r.students:
        plus.append((1, "high student-data risk, used by students"))
    return Score(base, base_why, tuple(plus))


def _who(r: Reach) -> str:
    parts = []
    if r.students:
        parts.append(f"{r.students} student{'s' if r.students != 1 else ''}")
    if r.staff:
        parts.append(f"{r.staff} staff")
    other = r.clients - r.students - r.staff
    if other > 0 or not parts:
        parts.append(f"{max(other, 0)} other device{'s' if other != 1 else ''}")
    n = r.schools
    where = f" at {n} school{'s' if n != 1 else ''}" if n else ""
    via = "/".join(r.kinds)
    blocked = f", {r.blocked} blocked" if r.blocked else ""
    return f"{', '.join(parts)}{where} ({via}, {r.events} events{blocked})"


@dataclass
class Evaluation:
    findings: list[Finding]
    window: tuple[dt.date, dt.date] | None
    reach: list[Reach]
    """Use of every subject over the window (the report shows the same)."""


class _Rules:
    """The rules of one evaluation, over its reach and grant groups."""

    def __init__(self, settings: Settings, catalog: Catalog, kb: KnowledgeBase,
                 today: dt.date, groups: list[GrantGroup]) -> None:
        self.cfg = settings.findings
        self.catalog, self.today = catalog, today
        self.known: dict[str, KnownApp] = {a.id: a for a in kb.apps}
        self.groups = {(g.match_kind, g.subject): g for g in groups}
        self.raised: list[Raised] = []

    def usage(self, r: Reach, new_since: dt.date | None) -> None:
        """The usage rules for one subject."""
        cfg = self.cfg
        if r.match_kind in ("noise", "ip", "invalid"):
            return
        group = self.groups.get((r.match_kind, r.subject))
        high = group.scopes_at("high") if group is not None and group.active else []
        tier = tier_of(r.kinds, r.uploads, bool(high))
        use = Use(r.last_web, r.last_web_blocked, r.last_dns,
                  group.last_granted if group is not None else None)
        grant_only = r.kinds == ["sso-grant"]
        product = self.catalog.by_id(r.subject) if r.match_kind == "district" else None
        if product is None:
            self._outside(r, tier, high, use, grant_only)
        else:
            self._catalogued(r, product, tier, high, use, grant_only)
        if (new_since is not None and r.match_kind in ("district", "known")
                and r.first_seen is not None and r.clients >= cfg.new_app_min_clients):
            first = r.first_seen.date()
            if first >= new_since:
                status = product.status.value if product else "not in catalog"
                sc = score(0, "a new app", r, tier, cfg)
                self._add("new_app", r, f"New app: {r.name}", status,
                          f"first used {first.isoformat()} (within the last "
                          f"{cfg.new_app_days} days); {status}", sc, tier, high, use,
                          {"first_use": first.isoformat()})

    def _outside(self, r: Reach, tier: str, high: list[str], use: Use,
                 grant_only: bool) -> None:
        cfg = self.cfg
        if grant_only:
            return  # only OAuth grants: the grant rules judge those
        sso = r.subject.startswith(("sso:", "sso-name:"))
        if r.match_kind == "unknown" and not sso:
            if r.clients < cfg.unknown_min_clients or r.events < cfg.unvetted_min_events:
                return
            sc = score(0, "an unknown domain", r, tier, cfg)
            self._add("unknown_domain", r, f"Unknown domain in use: {r.subject}",
                      "not in catalog", "unknown domain (no catalog or knowledge-base entry), "
                      "pending triage", sc, tier, high, use, {})
            return
        if r.clients < cfg.unvetted_min_clients or r.events < cfg.unvetted_min_events:
            return
        app = self.known.get(r.subject) if r.match_kind == "known" else None
        risky = app is not None and app.student_data_risk == "high"
        sc = (score(1, "a known app not in the catalog", r, tier, cfg, risky) if app or not sso
              else score(0, "an unknown SSO app", r, tier, cfg))
        what = f"{r.name} ({r.category})" if r.match_kind == "known" else f"{r.name} (unknown app)"
        extra = {"student_data_risk": app.student_data_risk} if app else {}
        self._add("unvetted_app", r, f"Unvetted app in use: {what}", "not in catalog",
                  "not in the catalog", sc, tier, high, use, extra)

    def _catalogued(self, r: Reach, p: Product, tier: str, high: list[str], use: Use,
                    grant_only: bool) -> None:
        cfg = self.cfg
        st = p.status
        if st in (Vetting.DENIED, Vetting.RETIRED):
            if grant_only or r.clients < cfg.denied_min_clients:
                return  # grants alone: denied_grant
            sc = score(2, f"{st.value} in the catalog", r, tier, cfg)
            self._add("denied_app", r, f"{st.value.capitalize()} app in use: {r.name}",
                      st.value, f"{st.value} in the catalog, yet in use", sc, tier, high, use, {})
            return
        if st in (Vetting.REQUESTED, Vetting.IN_REVIEW):
            if r.clients >= cfg.review_min_clients:
                sc = score(1, f"in use while {st.value}", r, tier, cfg)
                self._add("pending_review", r, f"In use before vetting: {r.name}", st.value,
                          f"{st.value} in the catalog, not yet vetted", sc, tier, high, use, {})
            return
        if st is Vetting.PARENTAL_CONSENT_REQUIRED and r.students >= cfg.consent_min_students:
            sc = score(1, "parental consent required", r, tier, cfg)
            self._add("consent_required", r, f"Parental consent required: {r.name}", st.value,
                      f"requires parental consent, used by {r.students} student device"
                      f"{'s' if r.students != 1 else ''}", sc, tier, high, use, {})
        if r.clients < cfg.contract_min_clients:
            return
        state = p.contract_state(self.today, cfg.contract_warn_days)
        contract = {"contract_type": p.contract.type.value, "contract_state": state,
                    "contract_expires": p.contract_expires.isoformat()
                    if p.contract_expires else None}
        if state == "none":
            kind = "click-through terms only" if p.contract.type.value == "click_through" \
                else "no contract"
            sc = score(0, "approved without a DPA", r, tier, cfg)
            self._add("no_contract", r, f"No DPA: {r.name}", st.value,
                      f"{st.value} with no data-privacy agreement ({kind})", sc, tier, high,
                      use, contract)
        elif state == "expired":
            assert p.contract_expires is not None
            sc = score(1, "its DPA expired", r, tier, cfg)
            self._add("contract_expired", r, f"Contract expired, app in use: {r.name}",
                      st.value, f"contract/DPA expired {p.contract_expires.isoformat()}, "
                      "still in use", sc, tier, high, use, contract)
        elif state == "expiring":
            assert p.contract_expires is not None
            days = (p.contract_expires - self.today).days
            sc = score(0, "its DPA is expiring", r, tier, cfg)
            self._add("contract_expiring", r, f"Contract expiring: {r.name}", st.value,
                      f"contract/DPA expires {p.contract_expires.isoformat()} (in {days} "
                      f"day{'s' if days != 1 else ''})", sc, tier, high, use,
                      {**contract, "days_left": days})

    def _add(self, rule: str, r: Reach, title: str, status: str, why: str, sc: Score,
             tier: str, high: list[str], use: Use, extra: dict[str, Any]) -> None:
        sev = sc.severity
        explanation = (f"{sev}: {_evidence(tier, r, high)}, used by {_who(r)}; {why} "
                       f"[{sc.explain()}]")
        details = {"tier": tier, "tier_label": TIER_LABELS[tier], "score": sc.to_json(),
                   "weighted_reach": r.weighted, "schools": r.schools, "uploads": r.uploads,
                   "blocked": r.blocked, "kinds": list(r.kinds),
                   "high_scopes": [short_scope(x) for x in high[:20]],
                   **extra}
        fields = {
            "rule": rule, "subject": r.subject, "title": title, "severity": sev,
            "explanation": explanation, "product": r.name, "status": status,
            "hosts": r.hosts[:50], "clients": r.clients, "students": r.students,
            "staff": r.staff, "sites": r.sites, "populations": r.populations,
            "events": r.events, "first_seen": r.first_seen, "last_seen": r.last_seen,
            "tier": tier, "details": details}
        self.raised.append(Raised(fields, use.after))

    def grants(self, groups: list[GrantGroup]) -> None:
        """The grant rules (`sentinel.grants`), with their tier and details."""
        by_subject = {g.subject: g for g in groups}
        for f in grant_findings(groups, self.catalog, self.cfg.high_severity_accounts):
            g = by_subject[f["subject"]]
            high = g.scopes_at("high")
            f["tier"] = "oauth_high" if high else "oauth"
            f["details"] = {
                "tier": f["tier"], "tier_label": TIER_LABELS[f["tier"]], "risk": g.risk(),
                "scopes": {short_scope(k): v for k, v in sorted(g.scopes.items())[:100]},
                "high_scopes": [short_scope(x) for x in high[:20]],
                "active_grants": g.active, "revoked_grants": g.revoked,
                "schools": len(g.sites), "weighted_reach": g.students * 2 + g.staff,
                "app_ids": g.app_ids[:20], "matched_by": g.how}
            self.raised.append(Raised(f, Use(granted=g.last_granted).after))


def _new_since(s: Session, cfg: Findings, end: dt.date) -> dt.date | None:
    """The first day of the new-app period, or None without enough history."""
    since = end - dt.timedelta(days=cfg.new_app_days - 1)
    first = s.scalar(select(func.min(UsageDaily.day)).where(UsageDaily.kind != DNS_OTHER))
    if first is None or first > since - dt.timedelta(days=cfg.new_app_baseline_days):
        return None
    return since


def _used_before(s: Session, before: dt.date, candidates: list[Reach], catalog: Catalog,
                 kb: dict[str, KnownApp], matcher: Matcher,
                 apps: AppMatcher) -> set[tuple[str, str]]:
    """The candidates (new-app subjects) with any use before ``before``: hosts
    under the domains of their window hosts and of their catalog or
    knowledge-base rules, classified again; their SSO hosts too."""
    domains: set[str] = set()
    exact: set[str] = set()
    sso = False
    for r in candidates:
        for h in r.hosts:
            if h.startswith("sso:"):
                exact.add(h)
                sso = True
            else:
                domains.add(registered_domain(h))
        p = catalog.by_id(r.subject) if r.match_kind == "district" else None
        a = kb.get(r.subject) if r.match_kind == "known" else None
        rules = p.domains if p else a.domains if a else ()
        for rule in rules:
            try:
                domains.add(parse_domain_rule(rule).domain)
            except ValueError:
                continue
    u = UsageDaily
    hosts: set[str] = set()
    conds: list[Any] = []
    for d in sorted(domains):
        esc = d.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conds.extend((u.host == d, u.host.like(f"%.{esc}", escape="\\")))
    if exact:
        conds.append(u.host.in_(sorted(exact)))
    if sso:
        conds.append(u.host.like("sso:%"))
    for i in range(0, len(conds), 200):
        hosts.update(s.scalars(select(u.host).distinct().where(
            u.day < before, u.kind != DNS_OTHER, or_(*conds[i:i + 200]))))
    want = {(r.match_kind, r.subject) for r in candidates}
    names = _sso_names(s) if sso else {}
    found = set()
    for h in hosts:
        c = _classify(h, matcher, apps, names)
        key = (c["match_kind"], c["subject"])
        if key in want:
            found.add(key)
    return found


def evaluate(settings: Settings, store: Store, catalog: Catalog, kb: KnowledgeBase,
             matcher: Matcher, today: dt.date | None = None,
             now: dt.datetime | None = None) -> Evaluation:
    """Re-evaluate every rule over the findings window, store the findings and
    make Sentinel's lifecycle moves (`sentinel.lifecycle.reconcile`)."""
    now = now or dt.datetime.now(dt.UTC)
    today = today or now.date()
    cfg = settings.findings
    with store.session() as s:
        if store.dialect == "postgresql":
            # One evaluation at a time (the service and a CLI command): both
            # rewrite host_class and could raise the same new finding.
            s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVALUATION_LOCK})
        win = window(s, cfg.window_days)
        if win is None:
            return Evaluation([], None, [])
        memory = store.engine.url.database in (None, "", ":memory:")  # one connection only
        spread = None if memory else host_spread(store.engine, *win)
        apps = AppMatcher(catalog, kb)
        classify_hosts(s, matcher, *win, apps=apps)
        reach = usage_by_subject(s, *win, spread=spread)
        groups = group_grants(s, apps)
        rules = _Rules(settings, catalog, kb, today, groups)
        new_since = _new_since(s, cfg, win[1])
        older: set[tuple[str, str]] = set()
        if new_since is not None:
            fresh = [r for r in reach if r.match_kind in ("district", "known")
                     and r.first_seen is not None and r.first_seen.date() >= new_since]
            if fresh:
                older = _used_before(s, new_since, fresh, catalog, rules.known, matcher, apps)
        for r in reach:
            old = new_since is None or (r.match_kind, r.subject) in older
            rules.usage(r, None if old else new_since)
        rules.grants(groups)
        reached = {(r.match_kind, r.subject): r for r in reach}
        live = {g.subject for g in groups if g.active}
        names = _sso_names(s)

        def listed(f: Finding) -> Product | None:
            """The catalog product the finding's hosts now match (its id may
            differ from the knowledge base's)."""
            for h in (f.hosts or [])[:10]:
                c = _classify(str(h), matcher, apps, names)
                if c["match_kind"] == "district":
                    return catalog.by_id(c["subject"])
            return catalog.by_id(f.subject)

        def noise(f: Finding) -> str | None:
            """The noise category the finding's hosts now classify as (a triage
            label, an admin list), if they all do."""
            cats = {c["category"] for h in (f.hosts or [])[:10]
                    for c in [_classify(str(h), matcher, apps, names)]
                    if c["match_kind"] == "noise"}
            return cats.pop() if len(cats) == 1 and f.hosts else None

        def why_cleared(f: Finding) -> str:
            if f.rule in ("unknown_domain", "unvetted_app"):
                cat = noise(f)
                if cat is not None:
                    return f"the condition no longer holds: now noise ({cat})"
            return _why_cleared(f, listed(f), reached, live, win, today, cfg)

        out = reconcile(s, rules.raised, now, why_cleared)
    return Evaluation(out, win, reach)


def _why_cleared(f: Finding, p: Product | None, reached: dict[tuple[str, str], Reach],
                 live: set[str], win: tuple[dt.date, dt.date], today: dt.date,
                 cfg: Findings) -> str:
    """What no longer holds for a finding its rule did not raise this time
    (``p``: the catalog product it now matches, if any)."""
    head = "the condition no longer holds: "
    if f.rule in ("unvetted_app", "unknown_domain", "unvetted_grant") and p is not None:
        return head + f"now in the catalog as {p.name} ({p.status.value})"
    if f.rule in GRANT_RULES:
        if f.subject not in live:
            return head + "no active OAuth grants (all revoked or purged)"
    elif not any(subj == f.subject for _, subj in reached):
        return head + f"no use from {win[0].isoformat()} to {win[1].isoformat()}"
    if p is not None:
        state = p.contract_state(today, cfg.contract_warn_days)
        if f.rule in ("no_contract", "contract_expired", "contract_expiring") and \
                state != {"no_contract": "none", "contract_expired": "expired",
                          "contract_expiring": "expiring"}[f.rule]:
            until = f", expires {p.contract_expires.isoformat()}" if p.contract_expires else ""
            return head + f"the contract is now {state} ({p.contract.type.value}{until})"
        if f.rule == "scope_drift" and p.status.allowed:
            return head + "the active grants are within the review's allowed data"
        if f.rule in ("denied_app", "denied_grant", "pending_review", "consent_required",
                      "scope_drift"):
            return head + f"catalog status is now {p.status.value}"
    if f.rule == "new_app":
        return head + f"first used more than {cfg.new_app_days} days ago"
    return head + "below the rule's threshold in the window " \
        f"{win[0].isoformat()} to {win[1].isoformat()}"


def list_findings(store: Store) -> list[Finding]:
    """Every finding: those asking for work first, then by severity and reach."""
    from sentinel.lifecycle import find

    return find(store)
