"""Microsoft Entra ID (Azure AD): sign-in logs (JSON and the portal's CSV) and audit logs.

Three formats, all of kind ``sso`` (host ""; the lead maps app ids to products):

``entra_signin`` -- Microsoft Graph ``signIn`` objects (``GET /auditLogs/signIns``):

* an API page ``{"@odata.context": ..., "value": [...], "@odata.nextLink": ...}``, a JSON
  array (the admin center's "Download JSON"), concatenated pages, or one object per
  line (NDJSON);
* Azure Monitor diagnostic-settings records: ``{"records": [{"category": "SignInLogs",
  "properties": {...}}]}`` (Event Hubs) or one record per line (storage-account blobs,
  ``PT1H.json``). Categories SignInLogs, NonInteractiveUserSignInLogs,
  ServicePrincipalSignInLogs and MicrosoftServicePrincipalSignInLogs are read;
  ManagedIdentitySignInLogs (the district's own Azure resources) and every other
  category (AuditLogs, ProvisioningLogs...) are valid records without an event.

  Fields: ``createdDateTime`` (the record's ``time`` when absent), ``userPrincipalName``
  (as logged; "" for a service principal, which signs in as itself), ``appId``,
  ``appDisplayName``, ``ipAddress`` (``callerIpAddress``), ``status.errorCode`` (the
  record's ``resultType`` when absent). Only a successful sign-in (error code 0) is an
  event (action ``signin``); a failed or interrupted one is a valid record without an
  event. ``resourceDisplayName`` and ``clientAppUsed`` are not kept (the Event has no
  field for them).

``entra_signin_csv`` -- the admin center's sign-in log "Download CSV" (Interactive,
Non-interactive, Service principal or Managed identity tab). A header row names the
columns (``"Date (UTC)","Request ID","User agent",...,"Username",...,"Application",
"Application ID ",...,"IP address",...,"Status","Sign-in error code",...``; the portal
writes some headings with a trailing space and repeats "Incoming token type": the first
occurrence of a heading wins). Only the time and one of Application/Application ID are
required; a row is an event when its "Sign-in error code" is 0 (or, without that column,
its Status is "Success"). A repeated header row (concatenated downloads) is skipped.
Older downloads name the time column "Date" (the admin's zone: ``ctx.tz``).

``entra_audit`` -- Entra audit logs: Graph ``directoryAudit`` objects
(``/auditLogs/directoryAudits``, same document shapes as sign-ins) and diagnostic-settings
``AuditLogs`` records. Activities (``activityDisplayName``, or ``operationName``):

* ``Consent to application`` -> ``grant``; scopes from the ``ConsentAction.Permissions``
  property (``[...] => [[Id: ..., ConsentType: Principal, Scope: openid User.Read, ...]]``:
  the ``Scope:`` parts of the new value, after ``=>``);
* ``Add delegated permission grant`` -> ``grant``; scopes from
  ``DelegatedPermissionGrant.Scope`` (new value);
* ``Remove delegated permission grant`` and ``Revoke consent`` -> ``revoke``; scopes from
  the old value of the same properties.

  The app is ``targetResources[0]`` (``displayName``; ``app_id`` is the appId found in
  ``TargetId.ServicePrincipalNames`` or ``additionalDetails`` "AppId" when logged, else the
  target's object ``id``). Caveat: for the delegated-permission-grant activities Entra's
  target can be the *resource* API's service principal (e.g. "Microsoft Graph") rather
  than the client app; those records carry the client only as an object id. The user is
  ``initiatedBy.user.userPrincipalName`` and the client ``initiatedBy.user.ipAddress``.
  A failed activity (``result`` not "success") and every other activity are valid records
  without an event.

Documents (anything that is not one JSON object per line) are read whole by
`read_records`, up to `MAX_DOCUMENT` bytes (larger ones are rejected as one record:
export them as NDJSON, which goes through the shared line driver with bounded memory).
Counting is per record: a page with 50 sign-ins counts 50 records. A JSON syntax error
rejects the rest of the document from that point as one record.
"""

from __future__ import annotations

import csv
import datetime as dt
import ipaddress
import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from collectors import jsondoc
from collectors.base import LineParser, LogFormat, ParseContext
from collectors.clock import iso_stamp
from collectors.errors import ParseError
from collectors.event import Event

SIGNIN = "entra_signin"
SIGNIN_CSV = "entra_signin_csv"
AUDIT = "entra_audit"

MAX_DOCUMENT = jsondoc.MAX_DOCUMENT
"""Largest whole JSON document read (bytes, decompressed)."""

SIGNIN_CATEGORIES = frozenset(("SignInLogs", "NonInteractiveUserSignInLogs",
                               "ServicePrincipalSignInLogs", "MicrosoftServicePrincipalSignInLogs"))
GRANTS = {"Consent to application": ("grant", "ConsentAction.Permissions"),
          "Add delegated permission grant": ("grant", "DelegatedPermissionGrant.Scope"),
          "Remove delegated permission grant": ("revoke", "DelegatedPermissionGrant.Scope"),
          "Revoke consent": ("revoke", "ConsentAction.Permissions")}
"""Audit activity -> (action, modified property holding the scopes)."""

_CACHE_MAX = 100_000
_MAX_TS = 253_402_300_799.0
_WRAPPERS = ("value", "records", "Records", "items")


# ---------------------------------------------------------------------------
# Shared field helpers


def _stamp(value: object, tz: dt.tzinfo = dt.UTC) -> float:
    if not isinstance(value, str) or not value:
        raise ParseError("no timestamp")
    try:
        ts = iso_stamp(value.strip(), tz)
    except (ValueError, OverflowError):
        raise ParseError("bad timestamp") from None
    if not 0.0 <= ts <= _MAX_TS or math.isnan(ts):
        raise ParseError("bad timestamp")
    return ts


_IPS: dict[str, str] = {}


def _ip(value: object) -> str:
    """Canonical text of an IP address; "" when absent."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ParseError("bad IP address")
    got = _IPS.get(value)
    if got is None:
        raw = value.strip()
        if not raw:
            got = ""
        else:
            try:
                got = str(ipaddress.ip_address(raw.split("%", 1)[0]))
            except ValueError:
                raise ParseError("bad IP address") from None
        if len(_IPS) >= _CACHE_MAX:
            _IPS.clear()
        _IPS[value] = got
    return got


def _text(value: object, reason: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ParseError(reason)
    return value.strip()


def _error_code(value: object) -> int:
    if isinstance(value, bool):
        raise ParseError("bad status")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        s = value.strip()
        if s.isascii() and s.lstrip("-").isdigit() and len(s) <= 12:
            return int(s)
    raise ParseError("bad status")


def _new(ts: float, client: str, user: str, action: str, app_id: str, app_name: str,
         scopes: tuple[str, ...], lineno: int) -> Event:
    return tuple.__new__(Event, (ts, "sso", client, user, "", action, None, None, None, None,
                                 None, None, None, app_id or None, app_name or None, scopes,
                                 lineno))


# ---------------------------------------------------------------------------
# entra_signin


def signin_event(obj: dict[str, Any], lineno: int) -> Event | None:
    """The event of one sign-in record (Graph signIn or diagnostic-settings record)."""
    props = obj.get("properties")
    category = obj.get("category")
    if isinstance(props, dict):
        if category is not None:
            if not isinstance(category, str):
                raise ParseError("bad category")
            if category not in SIGNIN_CATEGORIES:
                return None  # another diagnostic category
        rec = props
    elif props is None:
        rec = obj
    else:
        raise ParseError("bad properties")
    status = rec.get("status")
    if isinstance(status, dict) and "errorCode" in status:
        code = _error_code(status["errorCode"])
    elif rec is not obj and "resultType" in obj:
        code = _error_code(obj["resultType"])
    else:
        raise ParseError("no status")
    when = rec.get("createdDateTime")
    if when is None and rec is not obj:
        when = obj.get("time")
    ts = _stamp(when)
    app_id = _text(rec.get("appId"), "bad appId")
    app_name = _text(rec.get("appDisplayName"), "bad appDisplayName")
    if not app_id and not app_name:
        raise ParseError("no application")
    user = _text(rec.get("userPrincipalName"), "bad userPrincipalName")
    raw_ip = rec.get("ipAddress")
    if (raw_ip is None or raw_ip == "") and rec is not obj:
        raw_ip = obj.get("callerIpAddress")
    client = _ip(raw_ip)
    if code != 0:
        return None  # a failed or interrupted sign-in: valid, no event
    return _new(ts, client, user, "signin", app_id, app_name, (), lineno)


def _looks_signin(text: str) -> bool:
    s = text.lstrip("\ufeff \t\r\n")
    return (s[:1] in ("{", "[") and '"createdDateTime"' in text
            and ('"appId"' in text or '"appDisplayName"' in text)
            and ('"errorCode"' in text or "SignInLogs" in text)
            and '"targetResources"' not in text)


def sniff_signin(lines: Sequence[str]) -> bool:
    return _looks_signin("\n".join(lines))


def sniff_signin_bytes(head: bytes) -> bool:
    return _looks_signin(head.decode("utf-8", errors="replace"))


def _json_parser(record: Any) -> Any:
    loads = json.loads

    def make(ctx: ParseContext) -> LineParser:
        def parse(line: str, lineno: int) -> Event | None:
            s = line.strip()
            if not s:
                return None
            if s[0] != "{":
                raise ParseError("not a JSON object")
            if s[-1] == ",":
                s = s[:-1]  # a line of a pretty-printed array written one item a line
            try:
                obj = loads(s)
            except (ValueError, RecursionError):
                raise ParseError("invalid JSON") from None
            if not isinstance(obj, dict):
                raise ParseError("not a JSON object")
            for key in _WRAPPERS:
                if isinstance(obj.get(key), list):
                    raise ParseError("a page of records on one line (read it as a document)")
            result: Event | None = record(obj, lineno)
            return result

        return parse

    return make


make_signin_parser = _json_parser(signin_event)


def render(ev: Event) -> str:
    """A Graph signIn object (one NDJSON line) for a sign-in event."""
    t = dt.datetime.fromtimestamp(ev.ts, dt.UTC)
    obj = {"id": f"{ev.line:08d}-0000-4000-8000-000000000000",
           "createdDateTime": t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
           "userDisplayName": ev.user.split("@", 1)[0], "userPrincipalName": ev.user,
           "appId": ev.app_id or "", "appDisplayName": ev.app_name or "",
           "ipAddress": ev.client, "clientAppUsed": "Browser",
           "resourceDisplayName": "Microsoft Graph",
           "status": {"errorCode": 0, "failureReason": "Other.", "additionalDetails": None}}
    return json.dumps(obj, separators=(",", ":"))


# ---------------------------------------------------------------------------
# entra_audit


def _modified(target: dict[str, Any]) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    props = target.get("modifiedProperties")
    if not isinstance(props, list):
        return out
    for p in props:
        if not isinstance(p, dict):
            continue
        name = p.get("displayName")
        if isinstance(name, str) and name not in out:
            old, new = p.get("oldValue"), p.get("newValue")
            out[name] = (old if isinstance(old, str) else "", new if isinstance(new, str) else "")
    return out


def _unquote(value: str) -> str:
    s = value.strip()
    if len(s) >= 2 and s[0] == '"' and s[-1] == '"':
        s = s[1:-1]
    return s.replace('\\"', '"').strip()


def consent_scopes(value: str, *, old: bool = False) -> tuple[str, ...]:
    """Scopes in a ``ConsentAction.Permissions`` value: the ``Scope:`` parts of the new
    side (after ``=>``; the old side when ``old``), split on blanks, sorted, unique."""
    s = _unquote(value)
    if "=>" in s:
        left, _, right = s.partition("=>")
        s = left if old else right
    found: set[str] = set()
    at = 0
    while True:
        i = s.find("Scope:", at)
        if i < 0:
            break
        j = i + 6
        end = len(s)
        for stop in (", ", "]"):
            k = s.find(stop, j)
            if 0 <= k < end:
                end = k
        found.update(s[j:end].split())
        at = end
    return tuple(sorted(found))


def _scope_list(value: str) -> tuple[str, ...]:
    return tuple(sorted(set(_unquote(value).split())))


def _is_guid(s: str) -> bool:
    return len(s) == 36 and s.count("-") == 4 and all(c in "0123456789abcdefABCDEF-" for c in s)


def audit_event(obj: dict[str, Any], lineno: int) -> Event | None:
    """The event of one audit record (Graph directoryAudit or diagnostic-settings record)."""
    props = obj.get("properties")
    if isinstance(props, dict):
        category = obj.get("category")
        if category is not None and category != "AuditLogs":
            if isinstance(category, str):
                return None
            raise ParseError("bad category")
        rec = props
    elif props is None:
        rec = obj
    else:
        raise ParseError("bad properties")
    activity = rec.get("activityDisplayName")
    if activity is None and rec is not obj:
        activity = obj.get("operationName")
    if not isinstance(activity, str):
        raise ParseError("no activity")
    when = rec.get("activityDateTime")
    if when is None and rec is not obj:
        when = obj.get("time")
    ts = _stamp(when)
    known = GRANTS.get(activity.strip())
    if known is None:
        return None
    result = rec.get("result", obj.get("resultType") if rec is not obj else None)
    if isinstance(result, str) and result.strip().lower() not in ("success", "0", ""):
        return None  # a failed consent: valid, no event
    action, prop = known
    targets = rec.get("targetResources")
    if not isinstance(targets, list) or not targets or not isinstance(targets[0], dict):
        raise ParseError("no target resource")
    target = targets[0]
    app_name = _text(target.get("displayName"), "bad target")
    app_id = _text(target.get("id"), "bad target")
    mods = _modified(target)
    names = mods.get("TargetId.ServicePrincipalNames")
    first = _unquote(names[1]).split(";", 1)[0].strip() if names else ""
    if _is_guid(first):
        app_id = first
    else:
        details = rec.get("additionalDetails")
        if isinstance(details, list):
            for d in details:
                if isinstance(d, dict) and d.get("key") == "AppId" and isinstance(d.get("value"), str):
                    if _is_guid(d["value"].strip()):
                        app_id = d["value"].strip()
                    break
    if not app_id and not app_name:
        raise ParseError("no application")
    old, new = mods.get(prop, ("", ""))
    if prop == "ConsentAction.Permissions":
        value = new if "=>" in new or action == "grant" or not old else old
        scopes = consent_scopes(value, old=action == "revoke")
    else:
        scopes = _scope_list(old if action == "revoke" else new)
    user, client = "", ""
    initiated = rec.get("initiatedBy")
    if isinstance(initiated, dict):
        who = initiated.get("user")
        if isinstance(who, dict):
            user = _text(who.get("userPrincipalName"), "bad initiatedBy")
            client = _ip(who.get("ipAddress"))
    return _new(ts, client, user, action, app_id, app_name, scopes, lineno)


def _looks_audit(text: str) -> bool:
    s = text.lstrip("\ufeff \t\r\n")
    return (s[:1] in ("{", "[") and '"activityDisplayName"' in text
            and ('"targetResources"' in text or '"initiatedBy"' in text))


def sniff_audit(lines: Sequence[str]) -> bool:
    return _looks_audit("\n".join(lines))


def sniff_audit_bytes(head: bytes) -> bool:
    return _looks_audit(head.decode("utf-8", errors="replace"))


make_audit_parser = _json_parser(audit_event)


# ---------------------------------------------------------------------------
# Whole JSON documents


def _is_document(head: bytes) -> bool:
    """Not one JSON object per line: an array, a page, pretty-printed or concatenated objects."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text[:1] == "[":
        return True
    first = text.split("\n", 1)[0].strip()
    if first.endswith(("{", "[")) and "\n" in text:
        return True
    return any(f'"{key}":[' in first.replace(" ", "") for key in _WRAPPERS)


def _records(text: str) -> Iterator[tuple[int, Any]]:
    """(position, record) of each record of a document; (position, None) for a syntax
    error, after which the rest of the document is not read."""
    decode = json.JSONDecoder().raw_decode
    n = len(text)
    pos = 0
    while True:
        while pos < n and text[pos] in " \t\r\n\ufeff,":
            pos += 1
        if pos >= n:
            return
        try:
            value, end = decode(text, pos)
        except (ValueError, RecursionError):
            yield pos, None
            return
        items: list[Any] = [value]
        at: list[int] | None = None
        if isinstance(value, list):
            items, at = value, _item_positions(text, pos, value, decode)
        elif isinstance(value, dict):
            for key in _WRAPPERS:
                if isinstance(value.get(key), list):
                    items = value[key]
                    start = _list_start(text, pos, end, key)
                    if start is not None:
                        at = _item_positions(text, start, items, decode)
                    break
        for i, item in enumerate(items):
            yield (at[i] if at is not None else pos), item
        pos = end


def _list_start(text: str, start: int, end: int, key: str) -> int | None:
    """Where the ``"key": [`` list of a wrapper object starts (the ``[``)."""
    token = f'"{key}"'
    i = text.find(token, start, end)
    while i >= 0:
        p = i + len(token)
        while p < end and text[p] in " \t\r\n":
            p += 1
        if text[p : p + 1] == ":":
            p += 1
            while p < end and text[p] in " \t\r\n":
                p += 1
            if text[p : p + 1] == "[":
                return p
        i = text.find(token, i + 1, end)
    return None


def _item_positions(text: str, start: int, items: list[Any], decode: Any) -> list[int] | None:
    """Where each item of the list opening at ``start`` begins (None if they do not match)."""
    out: list[int] = []
    p = start + 1
    for item in items:
        while p < len(text) and text[p] in " \t\r\n,":
            p += 1
        try:
            value, q = decode(text, p)
        except (ValueError, RecursionError):
            return None
        if value != item:
            return None
        out.append(p)
        p = q
    return out


def _reader(record: Any, make: Any) -> Any:
    def read_records(path: Path, ctx: ParseContext, stats: Any, *, offset: int = 0,
                     line: int = 0, **kwargs: Any) -> Iterator[Any]:
        """NDJSON through the shared line driver; a document read whole (see the module doc).

        For a document, ``offset`` is its size when last read and ``line`` the number of
        records taken: a document that has changed is read again and its first ``line``
        records skipped."""
        from collectors.driver import open_stream, read_batches

        with open_stream(path) as fh:
            head = fh.read(64 * 1024)
        if not _is_document(head):
            keep = {k: v for k, v in kwargs.items() if k in jsondoc.LINE_OPTIONS}
            yield from read_batches(path, make(ctx), stats, offset=offset, line=line, **keep)
            return
        doc = jsondoc.load(path, stats, offset, line, MAX_DOCUMENT)
        if not isinstance(doc, jsondoc.Document):  # unchanged, or too large
            yield from () if doc is None else (doc,)
            return
        yield jsondoc.numbered_events(doc, _records(doc.text), line, stats, record)

    return read_records


read_signin_records = _reader(signin_event, make_signin_parser)
read_audit_records = _reader(audit_event, make_audit_parser)


# ---------------------------------------------------------------------------
# entra_signin_csv


def _heading(cell: str) -> str:
    return " ".join(cell.lstrip("\ufeff").strip().strip('"').lower().split())


_CSV_COLUMNS = {
    "time": ("date (utc)", "date", "created date time", "createddatetime"),
    "user": ("username", "user principal name", "userprincipalname"),
    "app_name": ("application", "app display name", "appdisplayname"),
    "app_id": ("application id", "app id", "appid"),
    "ip": ("ip address", "ipaddress"),
    "status": ("status",),
    "code": ("sign-in error code", "error code"),
}


def _split(line: str) -> list[str]:
    if '"' not in line:
        return line.split(",")
    try:
        rows = list(csv.reader((line,), strict=True))
    except csv.Error:
        raise ParseError("malformed CSV row") from None
    if len(rows) != 1:
        raise ParseError("malformed CSV row")
    return rows[0]


def _layout(cells: Sequence[str]) -> dict[str, int] | None:
    keys = [_heading(c) for c in cells]
    where: dict[str, int] = {}
    for field, names in _CSV_COLUMNS.items():
        for name in names:
            if name in keys:
                where[field] = keys.index(name)
                break
    if "time" in where and ("app_name" in where or "app_id" in where) and (
            "status" in where or "code" in where):
        return where
    return None


def sniff_csv(lines: Sequence[str]) -> bool:
    if not lines:
        return False
    head = lines[0].lstrip("\ufeff")
    if head[:1] in ("{", "[") or "," not in head:
        return False
    try:
        keys = {_heading(c) for c in _split(head)}
    except ParseError:
        return False
    return ("request id" in keys and "application" in keys and "ip address" in keys
            and bool(keys & {"date (utc)", "date"}) and bool(keys & {"status", "sign-in error code"}))


def make_csv_parser(ctx: ParseContext) -> LineParser:
    where: dict[str, int] | None = None
    header = ""
    width = 0
    tz: dt.tzinfo = dt.UTC

    def parse(line: str, lineno: int) -> Event | None:
        nonlocal where, header, width, tz
        if not line.strip():
            return None
        if where is None or line == header:
            cells = _split(line)
            layout = _layout(cells)
            if layout is None:
                raise ParseError("missing CSV header")
            where, header, width = layout, line, len(cells)
            tz = dt.UTC if _heading(cells[layout["time"]]).endswith("(utc)") else ctx.tz
            return None
        row = _split(line)
        if len(row) != width:
            raise ParseError("column count differs from header")
        ts = _stamp(row[where["time"]].strip(), tz)
        pos = where.get("code")
        code_text = row[pos].strip() if pos is not None else ""
        if code_text:
            ok = _error_code(code_text) == 0
        else:
            pos = where.get("status")
            if pos is None:
                raise ParseError("no status")
            status = row[pos].strip().lower()
            if not status:
                raise ParseError("no status")
            ok = status == "success"
        app_id = row[where["app_id"]].strip() if "app_id" in where else ""
        app_name = row[where["app_name"]].strip() if "app_name" in where else ""
        if not app_id and not app_name:
            raise ParseError("no application")
        user = row[where["user"]].strip() if "user" in where else ""
        client = _ip(row[where["ip"]]) if "ip" in where else ""
        if not ok:
            return None
        return _new(ts, client, user, "signin", app_id, app_name, (), lineno)

    return parse


CSV_HEADER = ('"Date (UTC)","Request ID","User agent","Correlation ID","User ID","User","Username",'
              '"Application","Application ID ","Resource","Resource ID ","IP address","Location",'
              '"Status","Sign-in error code","Failure reason","Client app"')


def render_csv(ev: Event) -> str:
    """A row under `CSV_HEADER` for a sign-in event."""
    t = dt.datetime.fromtimestamp(ev.ts, dt.UTC)
    cells = [t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), f"{ev.line:08d}-0000-4000-8000-000000000001",
             "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "", "", ev.user.split("@", 1)[0], ev.user,
             ev.app_name or "", ev.app_id or "", "Microsoft Graph",
             "00000003-0000-0000-c000-000000000000", ev.client, "Chicago, Illinois, US",
             "Success", "0", "", "Browser"]
    return ",".join('"' + c.replace('"', '""') + '"' for c in cells)


FORMATS = (
    LogFormat(SIGNIN, "sso", "Microsoft Entra ID sign-in logs (Graph signIns JSON, diagnostic "
              "settings SignInLogs)", sniff_signin, make_signin_parser,
              sniff_bytes=sniff_signin_bytes, read_records=read_signin_records, priority=90),
    LogFormat(SIGNIN_CSV, "sso", "Microsoft Entra admin center sign-in log CSV download",
              sniff_csv, make_csv_parser, header_lines=1, priority=90),
    LogFormat(AUDIT, "sso", "Microsoft Entra ID audit logs (Graph directoryAudits, diagnostic "
              "settings AuditLogs): app consents and revocations", sniff_audit, make_audit_parser,
              sniff_bytes=sniff_audit_bytes, read_records=read_audit_records, priority=90),
)
