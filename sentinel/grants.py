"""OAuth grants seen in SSO logs, per app, and the findings they support.

The pipeline keeps one row per account and app (`SsoGrant`): the scopes
granted since the last revocation, and whether the grant is still active. Here
those rows are grouped by the product they belong to (`catalog.sso.AppMatcher`:
id first, then the normalized name), their scopes rated (`catalog.scopes`),
and compared with the catalog:

* ``unvetted_grant``: an app not in the district catalog holds active grants;
  severity from the riskiest scope and the accounts, students weighted above
  staff;
* ``scope_drift``: an allowed product holds scopes exposing data elements its
  review does not allow (checked only where the review lists allowed elements);
* ``denied_grant``: a denied or retired product holds active grants.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.model import Catalog, Product, Vetting
from catalog.scopes import classify_scope
from catalog.sso import AppMatcher
from sentinel.store import aware
from sentinel.store.models import SsoApp, SsoGrant

RISK_ORDER = {"low": 0, "unknown": 1, "medium": 1, "high": 2}
"""A scope missing from the table is treated as medium."""


@dataclass
class GrantGroup:
    """The grants of one app (a district product, a known app or an unknown id)."""

    subject: str
    match_kind: str
    name: str
    how: str
    """How the app was matched: by ``id``, by ``name``, or ``none``."""
    app_ids: list[str] = field(default_factory=list)
    active: int = 0
    revoked: int = 0
    students: int = 0
    staff: int = 0
    sites: set[str] = field(default_factory=set)
    scopes: dict[str, int] = field(default_factory=dict)
    """Active scope -> accounts holding it."""
    first_granted: dt.datetime | None = None
    last_granted: dt.datetime | None = None

    @property
    def accounts(self) -> int:
        return self.active

    def risk(self) -> str:
        level = max((RISK_ORDER[classify_scope(s).level] for s in self.scopes), default=0)
        return ("low", "medium", "high")[level]

    def scopes_at(self, level: str) -> list[str]:
        return sorted(s for s in self.scopes if _level(s) == level)

    def shown_scopes_at(self, level: str) -> list[str]:
        """The scopes at ``level`` as a person reads them (``short_scope``)."""
        return [short_scope(s) for s in self.scopes_at(level)]

    def elements(self) -> set[str]:
        out: set[str] = set()
        for s in self.scopes:
            out.update(classify_scope(s).elements)
        return out


def _level(scope: str) -> str:
    lv = classify_scope(scope).level
    return "medium" if lv == "unknown" else lv


def short_scope(scope: str) -> str:
    """What to show a person: the scope without Google's URL prefix."""
    risk = classify_scope(scope)
    return risk.normalized or scope


def group_grants(s: Session, apps: AppMatcher) -> list[GrantGroup]:
    """Every app with grants (active or revoked), grouped by product."""
    names = {a.app_key: (a.app_id, a.app_name) for a in s.scalars(select(SsoApp))}
    groups: dict[tuple[str, str], GrantGroup] = {}
    t = SsoGrant
    # Streamed in batches, never all held: a district may have millions of grants.
    # (Options on the statement, not the connection: a connection's options
    # would stay, and turn its later INSERTs into server-side cursors.)
    rows = s.connection().execute(
        select(t.app_key, t.active, t.population, t.site, t.scopes, t.first_granted,
               t.last_granted).execution_options(yield_per=5000))
    for g in rows:
        app_id, app_name = names.get(g.app_key, ("" if g.app_key.startswith("name:")
                                                 else g.app_key, ""))
        m = apps.match(app_id, app_name)
        grp = groups.get((m.kind, m.key))
        if grp is None:
            grp = groups[(m.kind, m.key)] = GrantGroup(m.key, m.kind, m.name or app_name
                                                       or app_id, m.how)
        if app_id and app_id not in grp.app_ids:
            grp.app_ids.append(app_id)
        if not g.active:
            grp.revoked += 1
            continue
        grp.active += 1
        if g.population == "students":
            grp.students += 1
        elif g.population == "staff":
            grp.staff += 1
        if g.site and g.site != "unknown":
            grp.sites.add(g.site)
        for sc in g.scopes:
            grp.scopes[sc] = grp.scopes.get(sc, 0) + 1
        fg, lg = aware(g.first_granted), aware(g.last_granted)
        if fg is not None and (grp.first_granted is None or fg < grp.first_granted):
            grp.first_granted = fg
        if lg is not None and (grp.last_granted is None or lg > grp.last_granted):
            grp.last_granted = lg
    return sorted(groups.values(), key=lambda g: (-g.active, g.subject))



def _accounts(g: GrantGroup) -> str:
    parts = []
    if g.students:
        parts.append(f"{g.students} student account{'s' if g.students != 1 else ''}")
    if g.staff:
        parts.append(f"{g.staff} staff account{'s' if g.staff != 1 else ''}")
    other = g.active - g.students - g.staff
    if other:
        parts.append(f"{other} other account{'s' if other != 1 else ''}")
    n = len(g.sites)
    where = f" at {n} school{'s' if n != 1 else ''}" if n else ""
    closed = f"; {g.revoked} revoked" if g.revoked else ""
    return f"{', '.join(parts)}{where} (active grants{closed})"


def _scope_list(scopes: list[str], limit: int = 6) -> str:
    shown = [short_scope(s) for s in scopes[:limit]]
    more = f" and {len(scopes) - limit} more" if len(scopes) > limit else ""
    return ", ".join(shown) + more


def _severity(g: GrantGroup, high_accounts: int) -> str:
    """Scope risk first; many accounts (students count double) raise it a step."""
    score = RISK_ORDER[g.risk()]
    if g.students * 2 + g.staff >= high_accounts:
        score += 1
    return ("low", "medium", "high")[max(0, min(score, 2))]


def grant_findings(groups: list[GrantGroup], catalog: Catalog,
                   high_accounts: int = 20) -> list[dict[str, Any]]:
    """Finding fields (rule, subject, title, severity, explanation...) from the
    grant groups; `sentinel.findings` stores them like the usage findings."""
    out: list[dict[str, Any]] = []
    for g in groups:
        if g.active == 0:
            continue  # every grant revoked: nothing is shared any more
        product = catalog.by_id(g.subject) if g.match_kind == "district" else None
        high = g.scopes_at("high")
        risky = high or g.scopes_at("medium")
        if product is None:
            sev = _severity(g, high_accounts)
            what = g.name if g.match_kind == "known" else f"{g.name} (unknown app)"
            scopes = (f"{g.risk()}-risk scopes {_scope_list(risky)}" if risky
                      else f"scopes {_scope_list(sorted(g.scopes))}")
            out.append(_fields(
                "unvetted_grant", g, f"Unvetted app granted access: {what}", sev, "not in catalog",
                f"OAuth grant with {scopes} to {_accounts(g)}"))
        elif product.status in (Vetting.DENIED, Vetting.RETIRED):
            out.append(_fields(
                "denied_grant", g, f"{product.status.value.capitalize()} app granted access: "
                f"{product.name}", "high", product.status.value,
                f"{product.status.value} in the catalog, yet granted "
                f"{_scope_list(sorted(g.scopes))} by {_accounts(g)}"))
        elif product.status.allowed:
            allowed = _allowed(product)
            if allowed is None:
                continue  # the review records no allowed elements: nothing to hold it to
            beyond = sorted(s for s in g.scopes
                            if not set(classify_scope(s).elements) <= allowed)
            if not beyond:
                continue
            extra = sorted({e for s in beyond for e in classify_scope(s).elements} - allowed)
            holders = max(g.scopes[s] for s in beyond)
            sev = "high" if any(_level(s) == "high" for s in beyond) else "medium"
            out.append(_fields(
                "scope_drift", g, f"Scope drift: {product.name}", sev, product.status.value,
                f"{_scope_list(beyond)} ({', '.join(extra)}) granted beyond the review's "
                f"allowed data ({', '.join(sorted(allowed)) or 'none'}) in {holders} of its "
                f"{g.active} active grant{'s' if g.active != 1 else ''} "
                f"({_accounts(g).removesuffix(' (active grants)')})"))
    return out


def _allowed(product: Product) -> set[str] | None:
    review = getattr(product, "review", None)
    allowed = tuple(getattr(review, "allowed_data", ()) or ())
    return set(allowed) if allowed else None


def _fields(rule: str, g: GrantGroup, title: str, severity: str, status: str,
            why: str) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {
        "rule": rule, "subject": g.subject, "title": title, "severity": severity,
        "explanation": f"{severity}: {why}", "product": g.name, "status": status,
        "hosts": [f"sso:{a}" for a in g.app_ids[:50]], "clients": g.active,
        "students": g.students, "staff": g.staff, "sites": sorted(g.sites),
        "populations": sorted(p for p, n in (("students", g.students), ("staff", g.staff)) if n),
        "events": g.active + g.revoked, "first_seen": g.first_granted or now,
        "last_seen": g.last_granted or now}
