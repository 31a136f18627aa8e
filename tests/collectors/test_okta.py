"""okta: properties, round trips and quirks."""

from __future__ import annotations

import contextlib
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import ParseContext
from collectors.errors import ParseError
from collectors.event import Event
from collectors.registry import FORMATS
from collectors.sso import okta

ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
stamps = st.integers(1_600_000_000_000, 1_900_000_000_000).map(lambda ms: ms / 1000)
word = st.from_regex(r"[a-z0-9.:]{1,15}", fullmatch=True)
text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(ts=stamps, client=st.one_of(st.just(""), ipv4), user=st.sampled_from(["", "a@b.example"]),
       action=st.sampled_from(["signin", "grant", "revoke"]), app_id=text,
       app_name=st.one_of(st.none(), text), scopes=st.lists(word, max_size=4))
def test_round_trip(ts: float, client: str, user: str, action: str, app_id: str,
                    app_name: str | None, scopes: list[str]) -> None:
    got_scopes = () if action == "signin" else tuple(sorted(set(scopes)))
    ev = Event(ts, "sso", client, user, "", action, app_id=app_id, app_name=app_name,
               scopes=got_scopes, line=1)
    assert FORMATS["okta"].make_parser(ParseContext())(okta.render(ev), 1) == ev


@settings(max_examples=300, deadline=None)
@given(obj=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                        lambda c: st.lists(c, max_size=4) | st.dictionaries(
                            st.sampled_from(["type", "id", "displayName", "detailEntry",
                                             "publicclientapp", "debugData", "grantedScopes",
                                             "ipAddress", "alternateId", "result"]),
                            c, max_size=5), max_leaves=30),
       et=st.sampled_from(["user.authentication.sso", "app.oauth2.as.consent.grant",
                           "app.oauth2.as.consent.revoke.user"]))
def test_hostile_json_only_raises_parse_error(obj: object, et: str) -> None:
    parse = FORMATS["okta"].make_parser(ParseContext())
    for doc in ({"eventType": et, "published": "2026-01-01T00:00:00Z", "target": obj},
                {"eventType": et, "published": "2026-01-01T00:00:00Z", "actor": obj,
                 "client": obj, "outcome": obj, "debugContext": obj, "target": [obj]}):
        with contextlib.suppress(ParseError):
            parse(json.dumps(doc), 1)


def test_event_type_mapping() -> None:
    assert okta._action("app.oauth2.as.consent.revoke.implicit.user") == "revoke"
    assert okta._action("app.oauth2.as.consent.revoked") is None
    assert okta._action("app.oauth2.consent.grant") == "grant"
    assert okta._action("app.oauth2.admin.consent.grant") is None
    assert okta._action("user.session.start") is None


def test_failed_sso_and_scope_fallbacks() -> None:
    parse = FORMATS["okta"].make_parser(ParseContext())
    base = {"eventType": "user.authentication.sso", "published": "2026-01-01T00:00:00.000Z",
            "actor": {"alternateId": "u@x.example"}, "client": {"ipAddress": None},
            "target": [{"type": "AppInstance", "id": "0oa1", "displayName": "App"}]}
    assert parse(json.dumps({**base, "outcome": {"result": "FAILURE"}}), 1) is None
    grant = {**base, "eventType": "app.oauth2.as.consent.grant", "target": [],
             "debugContext": {"debugData": {"grantedScopes": "b,a a", "clientId": "0oa7"}}}
    ev = parse(json.dumps(grant), 1)
    assert ev is not None and ev.scopes == ("a", "b") and ev.app_id == "0oa7" and ev.client == ""


def test_sniff() -> None:
    line = okta.render(Event(1.7e9, "sso", "", "u@x", "", "signin", app_id="a", line=1))
    assert okta.sniff([line]) and okta.sniff_bytes(line.encode())
    assert not okta.sniff(['{"eventType": "x"}'])
