"""Okta System Log API events (``/api/v1/logs``): SSO launches and OAuth consents.

Format ``okta``. Input: an API page (a JSON array of LogEvent objects, as the API
returns it, possibly on one line), several pages one after the other, or NDJSON
(one LogEvent per line, as log shippers and ``okta-logs`` exports write). Arrays
and pretty-printed documents are read whole (up to
`collectors.sso.google_workspace.MAX_DOCUMENT` bytes), NDJSON by the line driver.

Mapping:

* ``user.authentication.sso`` -> action "signin"; the target of type
  ``AppInstance`` gives app_id (its ``id``) and app_name (``displayName``).
* ``app.oauth2.as.consent.grant`` (custom authorization server) and
  ``app.oauth2.consent.grant`` (org authorization server) -> "grant".
  Scopes: ``debugContext.debugData.grantedScopes`` (or ``scopes``), a space- or
  comma-separated string or a list; else the ``displayName`` of each target that
  is a scope (type containing "Scope", or a ``detailEntry`` naming the
  ``publicclientapp``, as Okta logs consent targets). app_id: the AppInstance
  target, else ``debugData.clientId``, else ``detailEntry.publicclientapp``.
* ``app.oauth2.as.consent.revoke`` and ``app.oauth2.consent.revoke``, including
  their sub-types (``...revoke.user.client``, ``...revoke.implicit.*``) -> "revoke".
* An event whose ``outcome.result`` is not SUCCESS (FAILURE, DENY, ...) is a valid
  record with no event; so is every other eventType (session start/end, policy
  evaluation, admin consent ``app.oauth2.admin.consent.*`` ...).

user = ``actor.alternateId``; client = ``client.ipAddress``; ts = ``published``.
Okta records some consent grants with the system principal as actor
(``system@okta.com``); the user is then not in the event itself.

Line-mode shortcut: a JSON-object line that names none of the relevant event
types is counted as ignored without being decoded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.errors import ParseError
from collectors.event import Event, format_ts
from collectors.sso.google_workspace import (
    client_ip,
    make_json_line_parser,
    read_json_records,
    rfc3339,
)

NAME = "okta"
SSO = "user.authentication.sso"
GRANTS = frozenset(("app.oauth2.as.consent.grant", "app.oauth2.consent.grant"))
REVOKES = ("app.oauth2.as.consent.revoke", "app.oauth2.consent.revoke")
_NEEDLES = ('"user.authentication.sso"', "consent.grant", "consent.revoke")


def _action(event_type: str) -> str | None:
    if event_type == SSO:
        return "signin"
    if event_type in GRANTS:
        return "grant"
    for prefix in REVOKES:
        if event_type.startswith(prefix) and (len(event_type) == len(prefix)
                                              or event_type[len(prefix)] == "."):
            return "revoke"
    return None


def _split_scopes(raw: Any) -> list[str]:
    if isinstance(raw, str):
        return raw.replace(",", " ").split()
    if isinstance(raw, list):
        return [s for s in raw if isinstance(s, str) and s]
    return []


def okta_record(record: Any, lineno: int) -> list[Event]:
    if not isinstance(record, dict):
        raise ParseError("not a JSON object")
    event_type = record.get("eventType")
    if not isinstance(event_type, str):
        raise ParseError("no eventType")
    action = _action(event_type)
    if action is None:
        return []
    outcome = record.get("outcome")
    if isinstance(outcome, dict):
        result = outcome.get("result")
        if result is not None and result != "SUCCESS":
            return []  # a failed or denied attempt: no use of the app
    ts = rfc3339(record.get("published"))
    actor = record.get("actor")
    user = actor.get("alternateId") if isinstance(actor, dict) else None
    if not isinstance(user, str):
        user = ""
    client = record.get("client")
    ip = client_ip(client.get("ipAddress")) if isinstance(client, dict) else ""

    app_id: str | None = None
    app_name: str | None = None
    scopes: list[str] = []
    fallback_id: str | None = None
    targets = record.get("target")
    if targets is not None and not isinstance(targets, list):
        raise ParseError("bad target list")
    for t in targets or ():
        if not isinstance(t, dict):
            continue
        kind = t.get("type")
        kind = kind if isinstance(kind, str) else ""
        if kind == "AppInstance":
            if app_id is None and app_name is None:
                tid, tname = t.get("id"), t.get("displayName")
                app_id = tid if isinstance(tid, str) and tid else None
                app_name = tname if isinstance(tname, str) and tname else None
            continue
        detail = t.get("detailEntry")
        owner = detail.get("publicclientapp") if isinstance(detail, dict) else None
        if isinstance(owner, str) and owner and fallback_id is None:
            fallback_id = owner
        if "scope" in kind.lower() or owner:
            name = t.get("displayName")
            if isinstance(name, str) and name:
                scopes.append(name)
    if action != "signin":
        debug = record.get("debugContext")
        data = debug.get("debugData") if isinstance(debug, dict) else None
        if isinstance(data, dict):
            logged = _split_scopes(data.get("grantedScopes")) or _split_scopes(data.get("scopes"))
            if logged:
                scopes = logged
            cid = data.get("clientId")
            if app_id is None and isinstance(cid, str) and cid:
                app_id = cid
        if app_id is None:
            app_id = fallback_id
    elif app_id is None and app_name is None:
        raise ParseError("SSO event without an app target")
    return [Event(ts, "sso", ip, user, "", action, app_id=app_id, app_name=app_name,
                  scopes=tuple(sorted(set(scopes))) if action != "signin" else (), line=lineno)]


def make_parser(ctx: ParseContext) -> LineParser:
    return make_json_line_parser(okta_record, _NEEDLES)


def read_records(path: Path, ctx: ParseContext, stats: Any, **kwargs: Any) -> Iterator[Any]:
    return read_json_records(path, ctx, stats, okta_record, _NEEDLES, **kwargs)


def _looks_okta(text: str) -> bool:
    s = text.lstrip("\ufeff \t\r\n")
    return (s[:1] in ("{", "[") and '"eventType"' in text and '"published"' in text
            and '"alternateId"' in text and '"actor"' in text)


def sniff(lines: Sequence[str]) -> bool:
    return _looks_okta("\n".join(lines))


def sniff_bytes(head: bytes) -> bool:
    return _looks_okta(head.decode("utf-8", errors="replace"))


_REVERSE = {"signin": SSO, "grant": "app.oauth2.as.consent.grant",
            "revoke": "app.oauth2.as.consent.revoke"}


def render(ev: Event) -> str:
    """An event as one NDJSON System Log line (millisecond precision)."""
    targets: list[dict[str, Any]] = []
    if ev.app_id is not None or ev.app_name is not None:
        targets.append({"id": ev.app_id, "type": "AppInstance", "alternateId": ev.app_name,
                        "displayName": ev.app_name, "detailEntry": None})
    record: dict[str, Any] = {
        "actor": {"id": "00u1", "type": "User", "alternateId": ev.user, "displayName": ev.user},
        "client": {"ipAddress": ev.client or None},
        "eventType": _REVERSE[ev.action],
        "outcome": {"result": "SUCCESS", "reason": None},
        "published": format_ts(ev.ts),
        "severity": "INFO",
        "target": targets,
        "uuid": "00000000-0000-0000-0000-000000000000",
        "version": "0",
    }
    if ev.action != "signin":
        record["debugContext"] = {"debugData": {"grantedScopes": " ".join(ev.scopes)}}
    return json.dumps(record, separators=(",", ":"))


FORMAT = LogFormat(NAME, "sso", "Okta System Log API events (SSO launches, OAuth consents)",
                   sniff, make_parser, priority=50, sniff_bytes=sniff_bytes,
                   read_records=read_records)
