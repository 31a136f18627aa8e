"""Google Workspace Admin SDK Reports API activities: OAuth token and login logs.

Formats:

``gws_token``
    ``applicationName=token`` activities. Event ``authorize`` -> action "grant",
    ``revoke`` -> "revoke"; other token events (``request``: an API call made with
    a token) carry no event. app_id = ``client_id``, app_name = ``app_name``,
    scopes = the ``scope`` multiValue (or, when absent, the ``scope_name`` of each
    ``scope_data`` message), sorted and de-duplicated.
``gws_login``
    ``applicationName=login`` activities. ``login_success`` -> action "signin" with
    app_name "Google" / app_id "google" and the ``login_type`` parameter in
    ``Event.method``. ``login_failure``, ``login_challenge``, ``login_verification``,
    ``logout``, ``suspicious_login*``, ``account_disabled_*``, ``risky_*`` and every
    other login event are valid records that carry no event (a failed sign-in is
    not a use of the service).

Common fields: user = ``actor.email`` ('' when the actor has none, e.g. a key);
client = ``ipAddress`` (canonical, '' when absent); ts = ``id.time``.

Input shapes (both formats):

* NDJSON, one activity per line (API ``items`` dumped with ``jq -c '.items[]'``,
  Elastic/Filebeat ``event.original``, log shippers). Read by the shared line
  driver, so memory stays bounded. An activity holds an ``events`` list (or, in
  Elastic's split form, one ``events`` object): every relevant event of it becomes
  an Event; the *record* (line) counts once as parsed. A line may also hold a whole
  API page (``{"kind": "admin#reports#activities", "items": [...]}``) or an array.
* Whole JSON documents: an API response page (pretty-printed or not), several
  pages one after the other, or an array of activities. Read whole, up to
  `MAX_DOCUMENT` bytes (a larger document is rejected as one record); records are
  the activities, and an Event's ``line`` is the activity's ordinal in the
  document (1-based), not a text line.

Line-mode shortcut (speed): a line that is a JSON object but does not contain the
name of a relevant event (``"authorize"``/``"revoke"``, ``"login_success"``) is
counted as ignored without being decoded, so broken JSON on such lines is not
noticed. Token logs are mostly ``request`` events; this keeps them cheap.

GAM's ``gam report token`` writes CSV (flattened columns) by default: not read here.
"""

from __future__ import annotations

import calendar
import datetime as dt
import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from collectors import jsondoc
from collectors.base import LineParser, LogFormat, ParseContext
from collectors.clock import iso_stamp
from collectors.errors import ParseError
from collectors.event import Event

TOKEN = "gws_token"  # noqa: S105 (a format name)
LOGIN = "gws_login"
MAX_DOCUMENT = jsondoc.MAX_DOCUMENT
"""Largest whole JSON document read (decompressed bytes); NDJSON has no limit."""

RecordHandler = Callable[[Any, int], list[Event]]
"""One decoded record -> its events ([] for a valid record with none); ParseError if invalid."""


# ---------------------------------------------------------------------------
# shared helpers (also used by collectors.sso.okta)

_UTC = dt.UTC
_MINUTES: dict[str, int] = {}
_IPS: dict[str, str] = {}


def rfc3339(stamp: Any) -> float:
    """``2023-01-01T06:24:42.442Z`` (RFC 3339, any fraction, Z or offset) -> POSIX seconds."""
    if not isinstance(stamp, str) or len(stamp) < 20:
        raise ParseError("bad timestamp")
    if stamp[-1] in "Zz" and stamp[10] in "Tt " and stamp[19] in ".Zz":
        key = stamp[:16]
        base = _MINUTES.get(key)
        try:
            if base is None:
                digits = key[:4] + key[5:7] + key[8:10] + key[11:13] + key[14:16]
                if not (digits.isascii() and digits.isdecimal() and key[4] == "-"
                        and key[7] == "-" and key[13] == ":"):
                    raise ValueError
                base = calendar.timegm((int(key[:4]), int(key[5:7]), int(key[8:10]),
                                        int(key[11:13]), int(key[14:16]), 0))
                month, day = int(key[5:7]), int(key[8:10])
                if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(int(key[:4]), month)[1]
                        and int(key[11:13]) < 24 and int(key[14:16]) < 60):
                    raise ValueError
                if len(_MINUTES) > 50_000:
                    _MINUTES.clear()
                _MINUTES[key] = base
            sec = stamp[17:19]
            if not (sec.isascii() and sec.isdecimal()) or stamp[16] != ":" or int(sec) > 60:
                raise ValueError
            frac = stamp[20:-1]
            whole = base + int(sec)
            if not frac:
                return float(whole)
            if not frac.isdecimal() or not frac.isascii():
                raise ValueError
            scale: int = 10 ** len(frac)
            return float((whole * scale + int(frac)) / scale)
        except ValueError:
            raise ParseError("bad timestamp") from None
    try:
        return iso_stamp(stamp, _UTC)
    except (ValueError, OverflowError):
        raise ParseError("bad timestamp") from None


def client_ip(raw: Any) -> str:
    """A source address as canonical text; '' when missing."""
    if raw is None or raw == "":
        return ""
    got = _IPS.get(raw) if isinstance(raw, str) else None
    if got is not None:
        return got
    if not isinstance(raw, str):
        raise ParseError("bad client address")
    try:
        text = str(ipaddress.ip_address(raw.strip("[]")))
    except ValueError:
        raise ParseError("bad client address") from None
    if len(_IPS) > 100_000:
        _IPS.clear()
    _IPS[raw] = text
    return text


def _records_of(value: Any) -> list[Any]:
    """The records a decoded JSON value holds: an array's items, a page's ``items``, or itself."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        items = value.get("items")
        if isinstance(items, list) and "id" not in value:
            return items
        if items is None and value.get("kind") == "admin#reports#activities":
            return []  # an empty API page has no "items"
    return [value]


def make_json_line_parser(handle: RecordHandler, needles: tuple[str, ...],
                          extras: dict[int, list[Event]] | None = None) -> LineParser:
    """A LineParser over JSON lines. Returns the first event of a line; when ``extras``
    is given, the other events of that line are stored there under its line number."""
    loads = orjson.loads  # three times json's speed; same values, stricter on bad UTF-8

    def parse(line: str, lineno: int) -> Event | None:
        s = line.strip()
        if not s:
            return None
        first = s[0]
        if first != "{" and first != "[":
            raise ParseError("not a JSON object")
        if s[-1] == ",":
            s = s[:-1].rstrip()  # an item line of a hand-split array
        if first == "{" and s[-1] == "}":
            for needle in needles:
                if needle in s:
                    break
            else:
                return None  # no relevant event named on the line (see module docstring)
        try:
            value = loads(s)
        except (ValueError, RecursionError):
            raise ParseError("invalid JSON") from None
        events = []
        for record in _records_of(value):
            events.extend(handle(record, lineno))
        if not events:
            return None
        if len(events) > 1 and extras is not None:
            extras[lineno] = events[1:]
        return events[0]

    return parse


def is_document(head: bytes) -> bool:
    """A JSON document to read whole (array, pretty-printed object, API page) rather than lines."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text[:1] == "[":
        return True
    first = text.split("\n", 1)[0].strip()
    if first.endswith(("{", "[")) and "\n" in text:
        return True
    return first.startswith("{") and '"items"' in first[:4096] and "#activities" in first[:4096]


def read_json_records(path: Path, ctx: ParseContext, stats: Any, handle: RecordHandler,
                      needles: tuple[str, ...], *, offset: int = 0, line: int = 0,
                      **kwargs: Any) -> Iterator[Any]:
    """JSON lines through the shared line driver (all events of a line kept); a JSON
    document read whole (see the module docstring)."""
    from collectors.driver import open_stream, read_batches

    with open_stream(path) as fh:
        head = fh.read(64 * 1024)
    if is_document(head):
        yield from _read_document(path, stats, handle, offset, line)
        return
    extras: dict[int, list[Event]] = {}
    parse = make_json_line_parser(handle, needles, extras)
    keep = {k: v for k, v in kwargs.items()
            if k in ("skip_partial", "final", "max_line", "chunk", "replay")}
    for batch in read_batches(path, parse, stats, offset=offset, line=line, **keep):
        if extras:
            out: list[Event] = []
            for ev in batch.events:
                out.append(ev)
                more = extras.pop(ev.line, None)
                if more:
                    out.extend(more)
            batch.events = out
        yield batch


def _read_document(path: Path, stats: Any, handle: RecordHandler, offset: int,
                   line: int) -> Iterator[Any]:
    from collectors.driver import SAMPLE_CHARS, Batch, Rejected, reject

    doc = jsondoc.load(path, stats, offset, line, MAX_DOCUMENT)
    if not isinstance(doc, jsondoc.Document):  # unchanged, or too large
        yield from () if doc is None else (doc,)
        return
    text, size = doc.text, doc.size
    del doc
    events: list[Event] = []
    rejected: list[Rejected] = []
    count = 0

    decode = json.JSONDecoder().raw_decode
    pos, n = 0, len(text)
    while True:
        while pos < n and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= n:
            break
        try:
            value, pos = decode(text, pos)
        except (ValueError, RecursionError):
            count += 1
            if count > line:
                stats.read += 1
                end = text.find("\n", pos)
                reject(stats, rejected, count, "invalid JSON document",
                       text[pos : end if end > 0 else n])
            break  # the rest cannot be framed reliably
        for record in _records_of(value):
            count += 1
            if count <= line:
                continue  # taken by an earlier read
            stats.read += 1
            err = take_record(handle, record, count, stats, events)
            if err is not None:
                reject(stats, rejected, count, err.reason, json.dumps(record)[:SAMPLE_CHARS])
    yield Batch(events, rejected, size, max(count, line))


def take_record(handle: RecordHandler, record: Any, n: int, stats: Any,
                events: list[Event]) -> ParseError | None:
    """``handle`` record ``n`` into ``events``, counted as parsed or ignored; its
    ParseError when it is invalid, for the caller to reject (a document's reject
    list, or the poll's quarantine)."""
    try:
        got = handle(record, n)
    except ParseError as exc:
        return exc
    if got:
        stats.parsed += 1
        events.extend(got)
    else:
        stats.ignored += 1
    return None


# ---------------------------------------------------------------------------
# Reports API activities


def _param_value(p: dict[str, Any]) -> Any:
    for key in ("value", "multiValue", "intValue", "boolValue", "multiIntValue",
                "multiMessageValue", "messageValue"):
        if key in p:
            return p[key]
    return None


def _params(event: dict[str, Any], wanted: frozenset[str] | None = None) -> dict[str, Any]:
    """The event's parameters by name (only ``wanted`` ones, when given: the
    others are not decoded)."""
    params = event.get("parameters")
    if not params:
        return {}
    if not isinstance(params, list):
        raise ParseError("bad parameters")
    out: dict[str, Any] = {}
    for p in params:
        if isinstance(p, dict):
            name = p.get("name")
            if isinstance(name, str) and (wanted is None or name in wanted):
                out[name] = _param_value(p)
    return out


_TOKEN_PARAMS = frozenset(("client_id", "app_name", "scope", "scope_data"))


def _activity(record: Any, app: str) -> tuple[list[Any], dict[str, Any]]:
    """(events, activity) of one activity of application ``app``; ParseError if it is not one."""
    if not isinstance(record, dict):
        raise ParseError("not a JSON object")
    ident = record.get("id")
    if not isinstance(ident, dict):
        raise ParseError("not a Reports API activity")
    name = ident.get("applicationName")
    if name != app:
        if isinstance(name, str):
            raise ParseError("activity of another application")
        raise ParseError("not a Reports API activity")
    events = record.get("events")
    if isinstance(events, dict):
        events = [events]  # Elastic's split form: one event per document
    elif not isinstance(events, list):
        raise ParseError("no events in activity")
    return events, record


def _common(record: dict[str, Any]) -> tuple[float, str, str]:
    ident = record["id"]
    ts = rfc3339(ident.get("time"))
    actor = record.get("actor")
    user = ""
    if isinstance(actor, dict):
        email = actor.get("email")
        if isinstance(email, str):
            user = email
    return ts, client_ip(record.get("ipAddress")), user


def _scopes(params: dict[str, Any]) -> tuple[str, ...]:
    scope = params.get("scope")
    names: list[str] = []
    if isinstance(scope, list):
        names = [s for s in scope if isinstance(s, str)]
    elif isinstance(scope, str):
        names = scope.split()
    if not names:
        data = params.get("scope_data")
        if isinstance(data, dict):
            data = [data]
        if isinstance(data, list):
            for msg in data:
                inner = msg.get("parameter") if isinstance(msg, dict) else None
                if isinstance(inner, list):
                    for p in inner:
                        if isinstance(p, dict) and p.get("name") == "scope_name":
                            v = p.get("value")
                            if isinstance(v, str):
                                names.append(v)
    return tuple(sorted(set(filter(None, names))))


_TOKEN_ACTIONS = {"authorize": "grant", "revoke": "revoke"}


def token_record(record: Any, lineno: int) -> list[Event]:
    events, activity = _activity(record, "token")
    out: list[Event] = []
    common: tuple[float, str, str] | None = None
    for ev in events:
        if not isinstance(ev, dict):
            raise ParseError("bad event in activity")
        action = _TOKEN_ACTIONS.get(ev.get("name"))  # type: ignore[arg-type]
        if action is None:
            continue
        if common is None:
            common = _common(activity)
        params = _params(ev, _TOKEN_PARAMS)
        client_id = params.get("client_id")
        app_name = params.get("app_name")
        client_id = str(client_id) if isinstance(client_id, (str, int)) and client_id != "" else None
        app_name = app_name if isinstance(app_name, str) and app_name else None
        if client_id is None and app_name is None:
            raise ParseError("token event without client_id or app_name")
        ts, client, user = common
        out.append(Event(ts, "sso", client, user, "", action, app_id=client_id, app_name=app_name,
                         scopes=_scopes(params), line=lineno))
    return out


def login_record(record: Any, lineno: int) -> list[Event]:
    events, activity = _activity(record, "login")
    out: list[Event] = []
    for ev in events:
        if not isinstance(ev, dict):
            raise ParseError("bad event in activity")
        if ev.get("name") != "login_success":
            continue  # failures, challenges, logouts, warnings: no use of the service
        ts, client, user = _common(activity)
        login_type = _params(ev).get("login_type")
        out.append(Event(ts, "sso", client, user, "", "signin",
                         method=login_type if isinstance(login_type, str) and login_type else None,
                         app_id="google", app_name="Google", line=lineno))
    return out


_TOKEN_NEEDLES = ('"authorize"', '"revoke"')
_LOGIN_NEEDLES = ('"login_success"',)


def make_token_parser(ctx: ParseContext) -> LineParser:
    return make_json_line_parser(token_record, _TOKEN_NEEDLES)


def make_login_parser(ctx: ParseContext) -> LineParser:
    return make_json_line_parser(login_record, _LOGIN_NEEDLES)


def read_token_records(path: Path, ctx: ParseContext, stats: Any, **kwargs: Any) -> Iterator[Any]:
    return read_json_records(path, ctx, stats, token_record, _TOKEN_NEEDLES, **kwargs)


def read_login_records(path: Path, ctx: ParseContext, stats: Any, **kwargs: Any) -> Iterator[Any]:
    return read_json_records(path, ctx, stats, login_record, _LOGIN_NEEDLES, **kwargs)


# ---------------------------------------------------------------------------
# detection

_APP = re.compile(r'"applicationName"\s*:\s*"([a-z_]+)"')


def _application(text: str) -> str | None:
    """The applicationName of the first Reports API activity in ``text``, if it looks like one."""
    if '"applicationName"' not in text:
        return None
    if "admin#reports#activit" not in text and '"uniqueQualifier"' not in text:
        return None
    m = _APP.search(text)
    return m.group(1) if m else None


def _head_text(head: bytes) -> str:
    return head.decode("utf-8", errors="replace").lstrip("\ufeff")


def sniff_token(lines: Sequence[str]) -> bool:
    return _application("\n".join(lines)) == "token"


def sniff_token_bytes(head: bytes) -> bool:
    return _application(_head_text(head)) == "token"


def sniff_login(lines: Sequence[str]) -> bool:
    return _application("\n".join(lines)) == "login"


def sniff_login_bytes(head: bytes) -> bool:
    return _application(_head_text(head)) == "login"


# ---------------------------------------------------------------------------
# rendering (round trips)

_REVERSE = {"grant": "authorize", "revoke": "revoke"}


def _stamp(ts: float) -> str:
    from collectors.event import format_ts

    return format_ts(ts)


def render(ev: Event) -> str:
    """A ``gws_token`` event as one NDJSON activity line (millisecond precision)."""
    params: list[dict[str, Any]] = []
    if ev.app_id is not None:
        params.append({"name": "client_id", "value": ev.app_id})
    if ev.app_name is not None:
        params.append({"name": "app_name", "value": ev.app_name})
    params.append({"name": "client_type", "value": "WEB"})
    if ev.scopes:
        params.append({"name": "scope_data", "multiMessageValue": [
            {"parameter": [{"name": "scope_name", "value": s},
                           {"name": "product_bucket", "multiValue": ["OTHER"]}]}
            for s in ev.scopes]})
        params.append({"name": "scope", "multiValue": list(ev.scopes)})
    activity: dict[str, Any] = {
        "kind": "admin#reports#activity",
        "id": {"time": _stamp(ev.ts), "uniqueQualifier": "1", "applicationName": "token",
               "customerId": "C0000000"},
        "actor": {"callerType": "USER", "email": ev.user} if ev.user else {"callerType": "KEY"},
        "events": [{"type": "auth", "name": _REVERSE[ev.action], "parameters": params}],
    }
    if ev.client:
        activity["ipAddress"] = ev.client
    return json.dumps(activity, separators=(",", ":"))


def render_login(ev: Event) -> str:
    """A ``gws_login`` signin event as one NDJSON activity line."""
    params = [{"name": "login_type", "value": ev.method}] if ev.method else []
    activity: dict[str, Any] = {
        "kind": "admin#reports#activity",
        "id": {"time": _stamp(ev.ts), "uniqueQualifier": "1", "applicationName": "login",
               "customerId": "C0000000"},
        "actor": {"email": ev.user},
        "events": [{"type": "login", "name": "login_success", "parameters": params}],
    }
    if ev.client:
        activity["ipAddress"] = ev.client
    return json.dumps(activity, separators=(",", ":"))


FORMATS = (
    LogFormat(TOKEN, "sso", "Google Workspace Reports API token activities (OAuth grants, revokes)",
              sniff_token, make_token_parser, priority=50, sniff_bytes=sniff_token_bytes,
              read_records=read_token_records),
    LogFormat(LOGIN, "sso", "Google Workspace Reports API login activities (successful sign-ins)",
              sniff_login, make_login_parser, priority=50, sniff_bytes=sniff_login_bytes,
              read_records=read_login_records),
)
