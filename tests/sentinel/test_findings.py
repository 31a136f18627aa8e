"""Finding rules, evidence tiers, severity, and the lifecycle (SQLite, and
PostgreSQL when SENTINEL_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_
from hypothesis import strategies as st
from sqlalchemy import func, select

from catalog.kb import KnowledgeBase, load_knowledge_base
from catalog.match import Matcher
from catalog.model import Catalog, Contract, ContractType, Product, Review, Vetting
from sentinel import audit
from sentinel.config import Settings
from sentinel.findings import (
    RULES,
    TIERS,
    Evaluation,
    Reach,
    evaluate,
    score,
    tier_of,
)
from sentinel.lifecycle import (
    FROM,
    SENTINEL,
    FindingNotFound,
    TransitionError,
    act,
    find,
    history,
)
from sentinel.store import Store
from sentinel.store.models import (
    Finding,
    FindingTransition,
    SsoApp,
    SsoGrant,
    UsageRow,
)

TODAY = dt.date(2026, 11, 28)
NOON = dt.time(12, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)
"""Evaluations happen the day after the last usage day."""
KB: KnowledgeBase = load_knowledge_base()
G = "https://www.googleapis.com/auth/"


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), dt.UTC)


def use(store: Store, host: str, *, day: dt.date = TODAY, clients: int = 3, first: int = 0,
        population: str = "students", site: str = "High", kind: str = "dns", events: int = 5,
        blocked: int = 0, uploads: int = 0, hour: int = 12, user: str = "") -> None:
    """``clients`` devices (c_<first>...) each with ``events`` records of ``host``."""
    ts = at(day, hour).timestamp()
    rows = [UsageRow(day, host, site, population, f"c_{population}_{i}", user, kind, events,
                     blocked, 0, 0, uploads, ts, ts) for i in range(first, first + clients)]
    with store.session() as s:
        store.upsert_usage(s, rows)


def product(pid: str, status: str = "approved", contract: str = "ndpa",
            expires: dt.date | None = None, domains: tuple[str, ...] | None = None,
            sso_ids: tuple[str, ...] = (), allowed: tuple[str, ...] = ()) -> Product:
    c = Contract() if contract == "none" else Contract(type=ContractType(contract),
                                                       expires=expires)
    return Product(id=pid, name=pid.capitalize(), domains=domains or (f"{pid}.example",),
                   sso_ids=sso_ids, review=Review(status=Vetting(status), allowed_data=allowed),
                   contract=c)


EMPTY = Catalog()


def run(settings: Settings, store: Store, catalog: Catalog = EMPTY, *,
        now: dt.datetime = NOW, today: dt.date = TODAY, **cfg: Any) -> Evaluation:
    if cfg:
        settings = settings.model_copy(update={
            "findings": settings.findings.model_copy(update=cfg)})
    return evaluate(settings, store, catalog, KB, Matcher(catalog, KB), today=today, now=now)


def rules_of(ev: Evaluation) -> dict[tuple[str, str], Finding]:
    return {(f.rule, f.subject): f for f in ev.findings}


def one(store: Store, rule: str, subject: str) -> Finding:
    with store.session() as s:
        return s.scalars(select(Finding).where(Finding.rule == rule,
                                               Finding.subject == subject)).one()


def moves(store: Store, f: Finding) -> list[FindingTransition]:
    return history(store, f.id)[1]


# -- rules and thresholds -------------------------------------------------------------------


def test_unvetted_known_app_at_its_thresholds(settings: Settings, store: Store) -> None:
    use(store, "www.blooket.com", clients=2)
    assert ("unvetted_app", "blooket") not in rules_of(run(settings, store))
    use(store, "www.blooket.com", clients=1, first=2)
    f = rules_of(run(settings, store))[("unvetted_app", "blooket")]
    assert (f.clients, f.students, f.status) == (3, 3, "not in catalog")
    # Events are a threshold too: 3 devices, 15 events < 20.
    assert ("unvetted_app", "blooket") not in rules_of(run(settings, store,
                                                          unvetted_min_events=20))


def test_unknown_domain_needs_high_reach_and_is_not_unvetted_app(settings: Settings,
                                                                 store: Store) -> None:
    use(store, "play.oddgames.net", clients=9)
    ev = run(settings, store)
    assert not [f for f in ev.findings if f.subject == "oddgames.net"]
    use(store, "cdn.oddgames.net", clients=1, first=9)
    got = rules_of(run(settings, store))
    f = got[("unknown_domain", "oddgames.net")]
    assert ("unvetted_app", "oddgames.net") not in got
    assert f.clients == 10 and "pending triage" in f.explanation and f.severity == "low"
    assert ("unknown_domain", "oddgames.net") not in rules_of(
        run(settings, store, unknown_min_clients=11))


def test_pending_review_and_its_threshold(settings: Settings, store: Store) -> None:
    cat = Catalog((product("quizapp", "in_review"), product("drawit", "requested")))
    use(store, "quizapp.example", clients=1)
    use(store, "drawit.example", clients=2)
    got = rules_of(run(settings, store, cat))
    assert {k for k in got if k[0] == "pending_review"} == {("pending_review", "quizapp"),
                                                           ("pending_review", "drawit")}
    assert "in_review in the catalog" in got[("pending_review", "quizapp")].explanation
    got = rules_of(run(settings, store, cat, review_min_clients=2))
    assert {k for k in got if k[0] == "pending_review"} == {("pending_review", "drawit")}
    # Approved (with a current DPA): nothing.
    ok = Catalog((product("quizapp"), product("drawit")))
    assert not run(settings, store, ok).findings


def test_denied_and_retired_apps_in_use(settings: Settings, store: Store) -> None:
    cat = Catalog((product("tok", "denied"), product("old", "retired"), product("fine")))
    for host in ("tok.example", "old.example", "fine.example"):
        use(store, host, clients=1)
    got = rules_of(run(settings, store, cat))
    assert set(got) == {("denied_app", "tok"), ("denied_app", "old")}
    assert got[("denied_app", "tok")].severity == "high"
    assert not run(settings, store, cat, denied_min_clients=2).findings


def test_parental_consent_app_used_by_students_only(settings: Settings, store: Store) -> None:
    cat = Catalog((product("kidsapp", "parental_consent_required"),))
    use(store, "kidsapp.example", clients=4, population="staff")
    assert ("consent_required", "kidsapp") not in rules_of(run(settings, store, cat))
    use(store, "kidsapp.example", clients=2)
    f = rules_of(run(settings, store, cat))[("consent_required", "kidsapp")]
    assert "used by 2 student devices" in f.explanation
    assert ("consent_required", "kidsapp") not in rules_of(
        run(settings, store, cat, consent_min_students=3))


def test_no_contract_includes_click_through(settings: Settings, store: Store) -> None:
    cat = Catalog((product("bare", contract="none"), product("clicky", contract="click_through"),
                   product("signed", contract="ndpa", expires=TODAY + dt.timedelta(days=400)),
                   product("forever", contract="state_dpa")))
    for pid in ("bare", "clicky", "signed", "forever"):
        use(store, f"{pid}.example", clients=1)
    got = rules_of(run(settings, store, cat))
    assert set(got) == {("no_contract", "bare"), ("no_contract", "clicky")}
    assert "click-through terms only" in got[("no_contract", "clicky")].explanation
    assert got[("no_contract", "clicky")].details["contract_state"] == "none"
    assert not run(settings, store, cat, contract_min_clients=2).findings


@pytest.mark.parametrize(("days", "rule"), [(-1, "contract_expired"), (0, "contract_expiring"),
                                            (60, "contract_expiring"), (61, None)])
def test_contract_expired_or_expiring_within_the_warning(settings: Settings, store: Store,
                                                         days: int, rule: str | None) -> None:
    cat = Catalog((product("renewme", expires=TODAY + dt.timedelta(days=days)),))
    use(store, "renewme.example", clients=2)
    got = [f.rule for f in run(settings, store, cat).findings]
    assert got == ([rule] if rule else [])
    if rule == "contract_expiring":
        assert f"(in {days} day" in run(settings, store, cat).findings[0].explanation
    # The warning is configurable.
    later = [f.rule for f in run(settings, store, cat, contract_warn_days=61).findings]
    assert later == ([rule or "contract_expiring"])


def test_new_app_needs_a_baseline_and_a_first_use_this_week(settings: Settings,
                                                            store: Store) -> None:
    cat = Catalog((product("fresh"), product("steady")))
    use(store, "fresh.example", day=TODAY - dt.timedelta(days=2), clients=1)
    use(store, "steady.example", day=TODAY - dt.timedelta(days=1), clients=1)
    use(store, "www.blooket.com", day=TODAY - dt.timedelta(days=3), clients=3)
    # No history before the week: every app would be new, so none is.
    assert not [f for f in run(settings, store, cat).findings if f.rule == "new_app"]
    # Steady was used three weeks ago (on another host of its domain); Blooket
    # last month on another of the knowledge base's domains. Fresh never.
    use(store, "cdn.steady.example", day=TODAY - dt.timedelta(days=20), clients=1)
    got = {f.subject for f in run(settings, store, cat).findings if f.rule == "new_app"}
    assert got == {"fresh", "blooket"}
    use(store, "blooket.com", day=TODAY - dt.timedelta(days=30), clients=1)
    got = {f.subject for f in run(settings, store, cat).findings if f.rule == "new_app"}
    assert got == {"fresh"}
    f = one(store, "new_app", "fresh")
    assert f.details["first_use"] == (TODAY - dt.timedelta(days=2)).isoformat()
    # The period ends at the latest usage day (Steady's, the day before TODAY):
    # Fresh, a day before that, is new in a two-day period, not in a one-day one.
    assert {f.subject for f in run(settings, store, cat, new_app_days=2).findings
            if f.rule == "new_app"} == {"fresh"}
    assert not [f for f in run(settings, store, cat, new_app_days=1).findings
                if f.rule == "new_app"]
    # Too little history for a longer baseline.
    assert not [f for f in run(settings, store, cat, new_app_baseline_days=30).findings
                if f.rule == "new_app"]


def _grant(store: Store, app_id: str, name: str, scopes: list[str], students: int,
           staff: int = 0, when: dt.datetime | None = None, site: str = "High") -> None:
    when = when or at(TODAY)
    with store.session() as s:
        if s.get(SsoApp, app_id) is None:
            s.add(SsoApp(app_key=app_id, app_id=app_id, app_name=name, source="gws_token",
                         first_seen=when, last_seen=when))
        for i in range(students + staff):
            pop = "students" if i < students else "staff"
            s.merge(SsoGrant(app_key=app_id, user=f"u_{pop}_{i}", site=site, population=pop,
                             client=f"c_{pop}_{i}", scopes={sc: when.timestamp()
                                                           for sc in scopes},
                             grants=1, revokes=0, first_granted=when, last_granted=when,
                             active=True))
    use(store, f"sso:{app_id}", kind="sso-grant", clients=students, events=1,
        day=when.date(), hour=when.hour)
    if staff:
        use(store, f"sso:{app_id}", kind="sso-grant", clients=staff, first=students,
            population="staff", events=1, day=when.date(), hour=when.hour)


def test_grant_rules_carry_their_tier_and_details(settings: Settings, store: Store) -> None:
    _grant(store, "111-quiz.apps.googleusercontent.com", "Quiz Whiz",
           ["openid", G + "drive"], students=3)
    _grant(store, "222-mild.apps.googleusercontent.com", "Mild App", ["openid", "email"],
           students=1)
    got = rules_of(run(settings, store))
    f = got[("unvetted_grant", "sso:111-quiz")]
    assert f.tier == "oauth_high" and f.details["high_scopes"] == ["drive"]
    assert f.explanation.startswith("high: OAuth grant with high-risk scopes drive")
    assert "3 student accounts" in f.explanation
    low = got[("unvetted_grant", "sso:222-mild")]
    assert low.tier == "oauth" and low.severity == "low"
    # A grant-only app raises the grant rule, not unvetted_app as well.
    assert ("unvetted_app", "sso:111-quiz") not in got


def test_a_pending_product_with_grants_only_is_pending_review(settings: Settings,
                                                               store: Store) -> None:
    cat = Catalog((product("quizwhiz", "in_review", sso_ids=("333-qw.apps.googleusercontent.com",)),))
    _grant(store, "333-qw.apps.googleusercontent.com", "QuizWhiz", [G + "gmail.readonly"],
           students=2)
    f = rules_of(run(settings, store, cat))[("pending_review", "quizwhiz")]
    assert f.tier == "oauth_high" and "gmail.readonly" in f.explanation
    # base medium, +2 for the high-risk grant: high.
    assert f.severity == "high"


# -- evidence tier and severity ------------------------------------------------------------


def test_tiers_weakest_to_strongest() -> None:
    assert TIERS == ("dns", "web", "upload", "sso", "oauth", "oauth_high")
    assert tier_of(["dns"]) == "dns"
    assert tier_of(["dns", "tls"]) == tier_of(["proxy"]) == "web"
    assert tier_of(["dns", "proxy"], uploads=1) == "upload"
    assert tier_of(["proxy", "sso"], uploads=5) == "sso"
    assert tier_of(["sso", "sso-grant"]) == "oauth"
    assert tier_of(["sso-grant"], high_scopes=True) == "oauth_high"


def test_severity_adds_up_base_tier_reach_and_risk(settings: Settings) -> None:
    cfg = settings.findings
    r = Reach("x", "known", "X", "c", clients=30, students=25, staff=5, sites=["A", "B"])
    s = score(1, "a known app not in the catalog", r, "dns", cfg)
    assert (s.severity, s.plus) == ("high", ((1, "reach 55 devices (students count twice) "
                                                  ">= 50"),))
    staff = Reach("x", "known", "X", "c", clients=30, staff=30, sites=["A"])
    assert score(1, "b", staff, "dns", cfg).severity == "medium"  # students weigh more
    wide = Reach("x", "known", "X", "c", clients=4, staff=4, sites=["A", "B", "C", "D"])
    assert score(0, "b", wide, "dns", cfg).plus == ((1, "reach 4 schools >= 4"),)
    assert score(0, "b", staff, "upload", cfg).severity == "medium"
    assert score(0, "b", staff, "oauth_high", cfg).severity == "high"
    few = Reach("x", "known", "X", "c", clients=2, students=2, sites=["A"])
    assert score(1, "b", few, "dns", cfg, risky=True).severity == "high"
    assert score(1, "b", few, "dns", cfg).severity == "medium"
    text = score(1, "a known app not in the catalog", r, "upload", cfg).explain()
    assert text == ("base medium: a known app not in the catalog; +1 evidence: upload "
                    "(POST bytes); +1 reach 55 devices (students count twice) >= 50")


def test_explanations_state_tier_reach_and_reasoning(settings: Settings, store: Store) -> None:
    use(store, "chatgpt.com", clients=2, kind="proxy", uploads=4, site="North")
    use(store, "chatgpt.com", clients=1, first=2, population="staff", site="South")
    f = rules_of(run(settings, store))[("unvetted_app", "chatgpt")]
    assert f.tier == "upload"
    assert f.explanation == (
        "high: uploads (8 POSTs), used by 2 students, 1 staff at 2 schools (dns/proxy, 15 "
        "events); not in the catalog [base medium: a known app not in the catalog; +1 "
        "evidence: upload (POST bytes); +1 high student-data risk, used by students]")
    assert f.details["score"]["total"] == 2 and f.details["uploads"] == 8
    assert f.details["student_data_risk"] == "high"


def test_sign_ins_without_an_address_count_their_accounts(settings: Settings,
                                                          store: Store) -> None:
    ts = at(TODAY).timestamp()
    rows = [UsageRow(TODAY, "sso:444-x.apps.googleusercontent.com", "unknown", "students", "",
                     f"u_{i}", "sso", 2, 0, 0, 0, 0, ts, ts) for i in range(3)]
    with store.session() as s:
        store.upsert_usage(s, rows)
        s.add(SsoApp(app_key="444-x.apps.googleusercontent.com", app_id="444-x.apps."
                     "googleusercontent.com", app_name="Blooket", source="gws_login",
                     first_seen=at(TODAY), last_seen=at(TODAY)))
    f = rules_of(run(settings, store, unvetted_min_events=1))[("unvetted_app", "blooket")]
    assert (f.clients, f.students, f.tier) == (3, 3, "sso")


# -- lifecycle ------------------------------------------------------------------------------


def test_raising_records_a_transition_and_an_audit_record(settings: Settings,
                                                          store: Store) -> None:
    use(store, "www.blooket.com")
    f = run(settings, store).findings[0]
    (t,) = moves(store, f)
    assert (t.from_state, t.to_state, t.actor) == (None, "open", SENTINEL)
    assert t.reason == "raised: Unvetted app in use: Blooket (assessment)"
    recs = audit.records(store, action="finding.transition")
    assert [r["seq"] for r in recs] == [t.audit_seq]
    assert recs[0]["payload"]["to"] == "open" and recs[0]["payload"]["finding"] == f.id
    assert audit.verify(store).ok


def test_new_usage_updates_the_finding_never_duplicates_it(settings: Settings,
                                                           store: Store) -> None:
    use(store, "www.blooket.com", day=TODAY - dt.timedelta(days=1))
    first = run(settings, store).findings[0]
    use(store, "play.blooket.com", clients=5, first=3)
    second = run(settings, store, now=NOW + dt.timedelta(hours=1)).findings[0]
    assert second.id == first.id and second.clients == 8
    assert "play.blooket.com" in second.hosts
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Finding)) == 1
    assert len(moves(store, second)) == 1
    assert second.first_seen.date() == TODAY - dt.timedelta(days=1)


@pytest.fixture
def blooket(settings: Settings, store: Store) -> Finding:
    use(store, "www.blooket.com", day=TODAY - dt.timedelta(days=1))
    return run(settings, store).findings[0]


def test_every_valid_move(store: Store, blooket: Finding) -> None:
    f, t = act(store, blooket.id, "acknowledged", "local:amy", now=NOW)
    assert (f.state, t.reason, t.from_state) == ("acknowledged", "", "open")
    f, _ = act(store, blooket.id, "vetting_requested", "local:amy", "ticket 42", now=NOW)
    assert f.state == "vetting_requested"
    until = NOW + dt.timedelta(days=7)
    f, t = act(store, blooket.id, "suppressed", "local:bo", "waiting on vendor", until=until,
               now=NOW)
    assert (f.state, f.suppressed_until, t.suppressed_until) == ("suppressed", until, until)
    f, _ = act(store, blooket.id, "suppressed", "local:bo", "longer",
               until=until + dt.timedelta(days=1), now=NOW)
    f, t = act(store, blooket.id, "resolved", "local:cy", "approved by board", now=NOW,
               resolution="approved")
    assert (f.state, f.resolution, f.suppressed_until) == ("resolved", "approved", None)
    f, _ = act(store, blooket.id, "open", "local:cy", "approval withdrawn", now=NOW)
    assert (f.state, f.resolution) == ("open", None)
    f, _ = act(store, blooket.id, "resolved", "local:cy", "mistake", now=NOW,
               resolution="false_positive")
    hist = moves(store, f)
    assert [(m.from_state, m.to_state, m.resolution) for m in hist] == [
        (None, "open", None), ("open", "acknowledged", None),
        ("acknowledged", "vetting_requested", None), ("vetting_requested", "suppressed", None),
        ("suppressed", "suppressed", None), ("suppressed", "resolved", "approved"),
        ("resolved", "open", None), ("open", "resolved", "false_positive")]
    assert [m.actor for m in hist][1:] == ["local:amy"] * 2 + ["local:bo"] * 2 + ["local:cy"] * 3
    recs = audit.records(store, action="finding.transition")
    assert [r["seq"] for r in recs] == [m.audit_seq for m in hist]
    assert [r["payload"]["reason"] for r in recs][-1] == "mistake"
    assert audit.verify(store).ok


@pytest.mark.parametrize(("setup", "to", "kw", "message"), [
    ([], "resolved", {"resolution": "blocked"}, "needs a reason"),
    ([], "resolved", {"resolution": "blocked", "reason": "   "}, "needs a reason"),
    ([], "resolved", {"resolution": "cleared", "reason": "x"}, "must be one of"),
    ([], "resolved", {"resolution": None, "reason": "x"}, "must be one of"),
    ([], "suppressed", {"reason": "x"}, "needs an expiry"),
    ([], "suppressed", {"reason": "x", "until": NOW - dt.timedelta(seconds=1)},
     "not in the future"),
    ([], "suppressed", {"until": NOW + dt.timedelta(days=1)}, "needs a reason"),
    ([], "open", {"reason": "x"}, "cannot re-open it"),
    ([], "acknowledged", {"reason": "x\x1b[31m"}, "control character U+001B"),
    ([], "acknowledged", {"resolution": "approved"}, "only resolving"),
    ([], "acknowledged", {"until": NOW + dt.timedelta(days=1)}, "only suppressing"),
    ([], "acknowledged", {"actor": SENTINEL}, "reserved"),
    ([], "acknowledged", {"actor": ""}, "actor"),
    ([], "closed", {}, "unknown target state"),
    ([("resolved", "blocked")], "acknowledged", {}, "is resolved (blocked): cannot acknowledge"),
    ([("resolved", "approved")], "vetting_requested", {}, "cannot request vetting"),
    ([("resolved", "approved")], "resolved", {"resolution": "removed", "reason": "x"},
     "cannot resolve"),
    ([("acknowledged", None)], "acknowledged", {}, "cannot acknowledge"),
    ([("vetting_requested", None)], "acknowledged", {}, "cannot acknowledge"),
    ([("vetting_requested", None)], "vetting_requested", {}, "cannot request vetting"),
    ([("suppressed", None)], "acknowledged", {}, "cannot acknowledge"),
])
def test_invalid_moves_are_refused_and_change_nothing(
        store: Store, blooket: Finding, setup: list[tuple[str, str | None]], to: str,
        kw: dict[str, Any], message: str) -> None:
    for state, resolution in setup:
        act(store, blooket.id, state, "local:amy", "setup", resolution=resolution, now=NOW,
            until=NOW + dt.timedelta(days=3) if state == "suppressed" else None)
    before = moves(store, blooket)
    kw = dict(kw)  # the parameters are shared by both backends' runs
    actor = kw.pop("actor", "local:amy")
    with pytest.raises(TransitionError, match=re.escape(message)):
        act(store, blooket.id, to, actor, now=NOW, **kw)
    assert len(moves(store, blooket)) == len(before)


def test_the_move_table_is_the_documented_one() -> None:
    work = ("open", "acknowledged", "vetting_requested")
    assert {"acknowledged": ("open",), "vetting_requested": ("open", "acknowledged"),
                    "resolved": (*work, "suppressed"), "suppressed": (*work, "suppressed"),
                    "open": ("resolved", "suppressed")} == FROM


def test_unknown_finding(store: Store) -> None:
    with pytest.raises(FindingNotFound, match="no finding with id 99"):
        act(store, 99, "acknowledged", "local:amy")
    with pytest.raises(FindingNotFound):
        history(store, 99)


@pytest.mark.parametrize("resolution", ["blocked", "removed"])
def test_blocked_or_removed_reopens_when_use_recurs(settings: Settings, store: Store,
                                                    blooket: Finding, resolution: str) -> None:
    resolved_at = at(TODAY, 13)
    act(store, blooket.id, "resolved", "local:amy", "blocked at the filter",
        resolution=resolution, now=resolved_at)
    # The scan after it: the use it knew of (noon) is older than the resolution.
    f = rules_of(run(settings, store))[("unvetted_app", "blooket")]
    assert (f.state, f.resolution) == ("resolved", resolution)
    # Blocked attempts later, and the lookups before them, are not use.
    use(store, "www.blooket.com", kind="proxy", blocked=5, hour=15)
    use(store, "www.blooket.com", kind="dns", hour=15, first=10)
    f = rules_of(run(settings, store))[("unvetted_app", "blooket")]
    assert f.state == "resolved"
    # A request that got through, at 16:00: re-opened by Sentinel, saying why.
    use(store, "www.blooket.com", kind="proxy", hour=16, first=20, clients=1)
    f = rules_of(run(settings, store))[("unvetted_app", "blooket")]
    assert (f.state, f.resolution) == ("open", None)
    last = moves(store, f)[-1]
    assert (last.actor, last.from_state, last.to_state) == (SENTINEL, "resolved", "open")
    assert last.reason == (f"use recurred: seen {TODAY.isoformat()} 16:00 UTC, after it was "
                           f"resolved as {resolution} on {TODAY.isoformat()} 13:00 UTC")
    rec = audit.records(store, action="finding.transition")[-1]
    assert rec["actor"] == SENTINEL and rec["seq"] == last.audit_seq


def test_dns_lookups_alone_are_use_where_nothing_shows_a_block(settings: Settings,
                                                               store: Store,
                                                               blooket: Finding) -> None:
    act(store, blooket.id, "resolved", "local:amy", "removed from devices",
        resolution="removed", now=at(TODAY, 13))
    use(store, "www.blooket.com", kind="dns", hour=14, first=30, clients=1)
    assert rules_of(run(settings, store))[("unvetted_app", "blooket")].state == "open"


def test_approved_and_false_positive_stay_resolved(settings: Settings, store: Store,
                                                  blooket: Finding) -> None:
    act(store, blooket.id, "resolved", "local:amy", "approved, catalog update pending",
        resolution="approved", now=at(TODAY, 13))
    use(store, "www.blooket.com", kind="proxy", hour=16, clients=7, first=40)
    f = rules_of(run(settings, store))[("unvetted_app", "blooket")]
    assert (f.state, f.resolution, f.clients) == ("resolved", "approved", 10)
    assert len(moves(store, f)) == 2


def test_suppression_expires_and_reopens(settings: Settings, store: Store,
                                         blooket: Finding) -> None:
    until = NOW + dt.timedelta(days=2)
    act(store, blooket.id, "suppressed", "local:amy", "vendor answering", until=until, now=NOW)
    assert one(store, "unvetted_app", "blooket").state == "suppressed"
    run(settings, store, now=until - dt.timedelta(seconds=1))
    assert one(store, "unvetted_app", "blooket").state == "suppressed"
    run(settings, store, now=until)
    f = one(store, "unvetted_app", "blooket")
    assert (f.state, f.suppressed_until) == ("open", None)
    last = moves(store, f)[-1]
    assert last.actor == SENTINEL and last.from_state == "suppressed"
    assert last.reason.startswith("the suppression expired 2026-12-01 12:00 UTC and the "
                                  "condition still holds: ")


def test_expired_suppression_of_a_cleared_condition_resolves(settings: Settings, store: Store,
                                                            blooket: Finding) -> None:
    until = NOW + dt.timedelta(days=2)
    act(store, blooket.id, "suppressed", "local:amy", "ask later", until=until, now=NOW)
    cat = Catalog((product("blooket", domains=("blooket.com",)),))
    run(settings, store, cat, now=NOW + dt.timedelta(days=1))  # suppressed: left alone
    assert one(store, "unvetted_app", "blooket").state == "suppressed"
    run(settings, store, cat, now=until + dt.timedelta(hours=1))
    f = one(store, "unvetted_app", "blooket")
    assert (f.state, f.resolution) == ("resolved", "cleared")
    assert moves(store, f)[-1].reason.startswith("the suppression expired")


def test_condition_cleared_resolves_then_holding_again_reopens(settings: Settings,
                                                              store: Store,
                                                              blooket: Finding) -> None:
    act(store, blooket.id, "vetting_requested", "local:amy", "form sent", now=NOW)
    approved = Catalog((product("blooket", domains=("blooket.com",)),))
    ev = run(settings, store, approved)
    assert not [f for f in ev.findings if f.rule == "unvetted_app"]
    f = one(store, "unvetted_app", "blooket")
    assert (f.state, f.resolution) == ("resolved", "cleared")
    last = moves(store, f)[-1]
    assert (last.actor, last.from_state) == (SENTINEL, "vetting_requested")
    assert last.reason == ("the condition no longer holds: now in the catalog as Blooket "
                           "(approved)")
    # Out of the catalog again: the same finding re-opens.
    run(settings, store, now=NOW + dt.timedelta(hours=1))
    f = one(store, "unvetted_app", "blooket")
    assert f.state == "open"
    assert moves(store, f)[-1].reason.startswith("the condition holds again: ")


def test_cleared_by_a_catalog_entry_of_another_id(settings: Settings, store: Store,
                                                  blooket: Finding) -> None:
    """The catalog lists Blooket under its own id: the knowledge base's finding
    is cleared naming it, and the product's own rules take over."""
    cat = Catalog((product("blooket-edu", "denied", domains=("blooket.com",)),))
    ev = run(settings, store, cat)
    assert [(f.rule, f.subject) for f in ev.findings] == [("denied_app", "blooket-edu")]
    f = one(store, "unvetted_app", "blooket")
    assert f.state_reason == ("the condition no longer holds: now in the catalog as "
                              "Blooket-edu (denied)")


def test_renewed_contract_and_no_use_clear_findings(settings: Settings, store: Store) -> None:
    use(store, "signme.example", clients=2)
    use(store, "gone.example", clients=2, day=TODAY - dt.timedelta(days=3))
    bare = Catalog((product("signme", contract="none"), product("gone", contract="none")))
    run(settings, store, bare)
    assert {f.subject for f in find(store, rules=["no_contract"])} == {"signme", "gone"}
    signed = Catalog((product("signme", expires=TODAY + dt.timedelta(days=365)),
                      product("gone", contract="none")))
    # Nine days later: "gone" has had no use in the window.
    use(store, "signme.example", clients=2, day=TODAY + dt.timedelta(days=9))
    run(settings, store, signed, now=NOW + dt.timedelta(days=9),
        today=TODAY + dt.timedelta(days=9))
    reasons = {f.subject: (f.state, f.resolution, f.state_reason)
               for f in find(store, states=["resolved"])}
    assert reasons == {
        "signme": ("resolved", "cleared", "the condition no longer holds: the contract is now "
                   "current (ndpa, expires 2027-11-28)"),
        "gone": ("resolved", "cleared", "the condition no longer holds: no use from "
                 "2026-12-01 to 2026-12-07")}


def test_revoked_grants_clear_the_grant_finding(settings: Settings, store: Store) -> None:
    _grant(store, "555-q.apps.googleusercontent.com", "Q", [G + "drive"], students=2)
    run(settings, store)
    with store.session() as s:
        for g in s.scalars(select(SsoGrant)):
            g.active = False
    run(settings, store, now=NOW + dt.timedelta(hours=1))
    f = one(store, "unvetted_grant", "sso:555-q")
    assert (f.state, f.resolution) == ("resolved", "cleared")
    assert f.state_reason == ("the condition no longer holds: no active OAuth grants (all "
                              "revoked or purged)")


def test_a_new_grant_after_removal_reopens_the_grant_finding(settings: Settings,
                                                             store: Store) -> None:
    _grant(store, "666-q.apps.googleusercontent.com", "Q", [G + "drive"], students=2)
    f = run(settings, store).findings[0]
    act(store, f.id, "resolved", "local:amy", "asked teachers to revoke", resolution="removed",
        now=at(TODAY, 13))
    run(settings, store)
    assert one(store, "unvetted_grant", "sso:666-q").state == "resolved"
    _grant(store, "666-q.apps.googleusercontent.com", "Q", [G + "drive"], students=3,
           when=at(TODAY, 18))
    run(settings, store)
    f = one(store, "unvetted_grant", "sso:666-q")
    assert f.state == "open" and "use recurred" in (f.state_reason or "")


def test_find_filters(settings: Settings, store: Store, blooket: Finding) -> None:
    use(store, "tok.example", clients=4, site="North")
    cat = Catalog((product("tok", "denied"),))
    run(settings, store, cat)
    act(store, blooket.id, "resolved", "local:amy", "blocked", resolution="blocked", now=NOW)
    assert [f.subject for f in find(store)] == ["tok", "blooket"]
    assert [f.subject for f in find(store, states=["open"])] == ["tok"]
    assert [f.subject for f in find(store, severities=["high"])] == ["tok"]
    assert [f.subject for f in find(store, rules=["unvetted_app"])] == ["blooket"]
    assert [f.subject for f in find(store, school="north")] == ["tok"]
    assert find(store, school="South") == []


def test_every_rule_is_documented() -> None:
    import sentinel.findings as mod
    assert mod.__doc__ is not None
    for rule in RULES:
        assert f"``{rule}``" in mod.__doc__, rule


def test_migration_matches_the_models(store: Store) -> None:
    """The findings tables as migration 0004 leaves them are what the models say."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from sentinel.store.models import Base

    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diffs if "finding" in json.dumps(repr(d))]
    assert ours == []


def test_audit_payload_is_the_move(settings: Settings, store: Store, blooket: Finding) -> None:
    until = NOW + dt.timedelta(days=3)
    act(store, blooket.id, "suppressed", "local:amy", "later", until=until, now=NOW)
    rec = audit.records(store, action="finding.transition")[-1]
    assert rec["actor"] == "local:amy" and rec["subject"] == f"finding {blooket.id}: " \
        "unvetted_app blooket"
    p = rec["payload"]
    assert (p["from"], p["to"], p["reason"], p["suppressed_until"]) == (
        "open", "suppressed", "later", "2026-12-02T12:00:00.000000Z")


MOVE = st.tuples(st.sampled_from(sorted(FROM)), st.sampled_from(["", "why"]),
                 st.sampled_from(["approved", "blocked", "removed", "false_positive", "cleared"]))


@pytest.fixture(scope="module")
def moves_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('moves') / 's.db'}")
    yield store
    store.dispose()


@settings_(max_examples=100, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(MOVE, max_size=8))
def test_any_sequence_of_moves_follows_the_table(moves_store: Store,
                                                 seq: list[tuple[str, str, str]]) -> None:
    """Whatever a person tries, the state follows `FROM`, refused moves change
    nothing, and each accepted one is one transition and one audit record."""
    store = moves_store
    with store.session() as s:
        n = s.scalar(select(func.count()).select_from(Finding))
        f = Finding(rule="unvetted_app", subject=f"x{n}.example", title="t", severity="low",
                    state="open", explanation="e", first_seen=NOW, last_seen=NOW,
                    created_at=NOW, updated_at=NOW)
        s.add(f)
    head = audit.head(store).seq
    state, accepted = "open", 0
    for to, reason, resolution in seq:
        ok = (state in FROM[to] and (bool(reason) or to in ("acknowledged",
                                                            "vetting_requested"))
              and (to != "resolved" or resolution != "cleared"))
        try:
            act(store, f.id, to, "local:amy", reason, now=NOW,
                resolution=resolution if to == "resolved" else None,
                until=NOW + dt.timedelta(days=1) if to == "suppressed" else None)
        except TransitionError:
            assert not ok, (state, to, reason, resolution)
            continue
        assert ok, (state, to, reason, resolution)
        state, accepted = to, accepted + 1
    got, hist = history(store, f.id)
    assert got.state == state and len(hist) == accepted
    assert (got.resolution is not None) == (state == "resolved")
    assert [m.audit_seq for m in hist] == list(range(head + 1, head + accepted + 1))
    assert audit.verify(store).ok
