"""OAuth grants: folding grant and revoke events, merging across commits, storing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from collectors.event import Event
from sentinel.config import load_settings
from sentinel.pipeline import Aggregator, GrantRow, merge_grants, sso_app_key
from sentinel.privacy import Identities
from sentinel.store import Store

SCOPES = ("openid", "email", "drive", "gmail.readonly", "classroom.rosters")
KEY = b"k" * 32


def _ids(**over: object) -> Identities:
    return Identities(load_settings(None, dict(over), env={}), KEY)


def _ev(ts: float, action: str, scopes: tuple[str, ...] = (), user: str = "amy@d.example",
        app_id: str = "123-abc.apps.googleusercontent.com", name: str = "Quiz App") -> Event:
    return Event(ts, "sso", "10.0.0.5", user, "", action, app_id=app_id, app_name=name,
                 scopes=scopes)


def _fold(events: list[Event]) -> GrantRow:
    agg = Aggregator(dt.UTC)
    agg.add(events)
    grants, _apps = agg.flush_grants(_ids())
    assert len(grants) == 1
    return grants[0]


def _expected(events: list[Event]) -> tuple[dict[str, float], bool, float | None]:
    """The definition: a scope is live when its last grant is later than the
    last revocation; the grant is active when its last grant is."""
    revoked = max((e.ts for e in events if e.action == "revoke"), default=None)
    last: dict[str, float] = {}
    for e in events:
        if e.action == "grant":
            for sc in e.scopes:
                last[sc] = max(last.get(sc, e.ts), e.ts)
    live = {sc: t for sc, t in last.items() if revoked is None or t > revoked}
    granted = max((e.ts for e in events if e.action == "grant"), default=None)
    active = granted is not None and (revoked is None or granted > revoked)
    return live, active, revoked


event_st = st.tuples(st.integers(0, 20).map(float), st.sampled_from(["grant", "revoke"]),
                     st.lists(st.sampled_from(SCOPES), max_size=3, unique=True).map(tuple))


@settings(max_examples=200, deadline=None)
@given(st.lists(event_st, min_size=1, max_size=12), st.integers(0, 12), st.randoms())
# A grant after a revoke, but read first; a revoke at the same second as a grant.
@example([(5.0, "grant", ("drive",)), (3.0, "revoke", ()), (1.0, "grant", ("email",))], 1, None)
@example([(2.0, "grant", ("drive",)), (2.0, "revoke", ())], 1, None)
def test_folding_in_any_order_and_any_split_matches_the_definition(
        raw: list[tuple[float, str, tuple[str, ...]]], cut: int, rnd: object) -> None:
    events = [_ev(ts, a, sc) for ts, a, sc in raw]
    if rnd is not None:
        rnd.shuffle(events)  # type: ignore[attr-defined]
    live, active, revoked = _expected(events)
    whole = _fold(events)
    assert (whole.scopes, whole.active, whole.last_revoked) == (live, active, revoked)
    cut = min(cut, len(events))
    if 0 < cut < len(events):
        a, b = _fold(events[:cut]), _fold(events[cut:])
        for merged in (merge_grants(a, b), merge_grants(b, a)):
            assert (merged.scopes, merged.active, merged.last_revoked) == (live, active, revoked)
            assert merged.grants + merged.revokes == len(events)


def test_revoke_is_not_use_and_sign_in_and_grant_are() -> None:
    agg = Aggregator(dt.UTC)
    agg.add([_ev(100.0, "grant", ("drive",)), _ev(200.0, "revoke"), _ev(300.0, "signin")])
    rows = agg.flush(_ids())
    kinds = sorted((r[6], r[1], r[7]) for r in rows)
    app = "sso:123-abc.apps.googleusercontent.com"
    assert kinds == [("sso", app, 1), ("sso-grant", app, 1)]
    grants, apps = agg.flush_grants(_ids())
    assert [(a.app_key, a.app_name) for a in apps] == [("123-abc.apps.googleusercontent.com",
                                                        "Quiz App")]
    assert grants[0].active is False and grants[0].scopes == {}


def test_app_without_an_id_is_keyed_by_its_folded_name() -> None:
    assert sso_app_key(None, "  Quiz   APP ") == "name:quiz app"
    assert sso_app_key("", "") == "name:unknown"
    assert sso_app_key(" abc ", "x") == "abc"


def test_huge_scope_lists_are_capped() -> None:
    g = _fold([_ev(1.0, "grant", tuple(f"s{i}" for i in range(10_000)))])
    assert len(g.scopes) == 256


def test_account_population_by_name_overrides_the_network(tmp_path: Path) -> None:
    ids = _ids(networks=[{"cidr": "10.0.0.0/8", "site": "HS", "population": "staff"}],
               accounts=[{"match": "*@students.d.example", "population": "students"}],
               **{"privacy.identity": {"students": "pseudonymize", "staff": "keep",
                                       "guest": "drop", "unknown": "pseudonymize"}})
    site, pop, client, user = ids.resolve("10.0.0.5", "Kid@Students.D.Example")
    assert (site, pop, client) == ("HS", "students", "10.0.0.5")
    assert user.startswith("u_") and "kid" not in user.lower()
    assert ids.resolve("10.0.0.5", "teacher@d.example")[1:] == ("staff", "10.0.0.5",
                                                                 "teacher@d.example")


def test_grants_merge_in_the_store_across_units(store: Store) -> None:
    """Three commits of one account's grant: stored, merged, closed, re-opened;
    the times and scopes survive the store exactly (both backends)."""
    from sentinel.pipeline import _upsert_grants
    from sentinel.store.models import SsoGrant

    ids = _ids()
    units = [
        [_ev(1_795_939_200.25, "grant", ("drive", "openid"))],
        [_ev(1_795_939_300.5, "grant", ("gmail.readonly",)), _ev(1_795_939_250.0, "revoke")],
        [_ev(1_795_939_400.75, "grant", ("openid",))],
    ]
    want = [({"drive": 1_795_939_200.25, "openid": 1_795_939_200.25}, True),
            ({"gmail.readonly": 1_795_939_300.5}, True),
            ({"gmail.readonly": 1_795_939_300.5, "openid": 1_795_939_400.75}, True)]
    for events, (scopes, active) in zip(units, want, strict=True):
        agg = Aggregator(dt.UTC)
        agg.add(events)
        grants, _ = agg.flush_grants(ids)
        with store.session() as s:
            _upsert_grants(store, s, grants)
        with store.session() as s:
            row = s.get(SsoGrant, (grants[0].app_key, grants[0].user))
            assert row is not None
            assert (dict(row.scopes), row.active) == (scopes, active)
    with store.session() as s:
        (got,) = store.read_grants(s, [(grants[0].app_key, grants[0].user)])
    assert got[6:] == (3, 1, 1_795_939_200.25, 1_795_939_400.75, 1_795_939_250.0)
    # A revocation after everything closes it and drops every scope.
    agg = Aggregator(dt.UTC)
    agg.add([_ev(1_795_939_500.0, "revoke")])
    with store.session() as s:
        _upsert_grants(store, s, agg.flush_grants(ids)[0])
    with store.session() as s:
        row = s.get(SsoGrant, (grants[0].app_key, grants[0].user))
        assert row is not None and row.active is False and dict(row.scopes) == {}
