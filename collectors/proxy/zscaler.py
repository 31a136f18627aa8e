"""Zscaler Internet Access (ZIA) web logs, as the Nanolog Streaming Service (NSS) sends them.

An NSS feed prints each web transaction through a *feed output format*, a
template of ``%s{field}`` / ``%d{field}`` tokens ("NSS Feed Output Format: Web
Logs", https://help.zscaler.com/zia/nss-feed-output-format-web-logs). Two
shapes are read here:

``zscaler_web_json``
    one JSON object a line. The SIEM templates (Splunk app, Sumo Logic,
    Datadog, Elastic's v9 template) wrap the record as
    ``{"sourcetype":"zscalernss-web","event":{...}}``; flat objects without the
    wrapper are read too. Key names vary by template and are taken by alias:

    ========  =====================================================================
    time      ``time`` (``Fri Dec 31 07:07:07 2021``), ``datetime``
              (``2021-12-31 07:07:07``, the Splunk template's
              ``%d{yy}-%02d{mth}-%02d{dd} ...``); ``epochtime`` only when neither
              is there. Zone: the record's ``tz`` (``GMT`` by default), else the
              source's configured zone.
    url       ``url`` / ``eurl`` (the "encoded URL"), else ``b64url`` (base64).
              NSS writes it without the scheme (``www.example.com/join/``): the
              scheme is put back from ``proto`` (HTTP -> http://, HTTPS ->
              https://, FTP -> ftp://); a CONNECT or any other protocol keeps the
              URL as logged (``www.example.com:443``, like Squid's CONNECT).
    host      the URL's host; ``host`` / ``ehost`` / ``hostname`` when there is no URL
    client    ``cip`` / ``ClientIP`` / ``cltip``; ``cintip`` / ``cltintip`` only
              when those are absent
    user      ``login`` / ``elogin`` / ``user``: the login in e-mail form. An
              unauthenticated location logs its own name there (the docs' sample
              has login = location = ``new-gre``): no user then.
    action    ``action``: Allowed / Blocked (Caution -> warned). An allowed record
              whose ``reason`` says "Caution..." (``File Attachment Cautioned``
              in the v9 sample) went through a caution page: warned.
    method    ``reqmethod`` / ``requestmethod``
    status    ``respcode`` / ``status`` (``NA`` -> none)
    bytes     ``reqsize`` / ``requestsize`` = the request, what the client sent
              (bytes_out; the docs pair it with the "Uplink direction (Upload)"
              throttle size); ``respsize`` / ``responsesize`` = the response, what
              the client received (bytes_in). Elastic maps them the same way
              (http.request.bytes / http.response.bytes).
    category  ``urlcat`` / ``urlcategory`` / ``urlsubcat`` (the sub-category)
    app_name  ``appname`` as logged (``General Browsing`` included)
    ========  =====================================================================

``zscaler_web_csv``
    the comma-separated feed with every value quoted, in the documented default
    field order (the sample on the docs page), 34 fields::

        time, login, proto, eurl, action, appname, appclass, reqsize, respsize,
        stime, ctime, urlclass, urlsupercat, urlcat, malwarecat, threatname,
        riskscore, dlpeng, dlpdict, location, dept, cip, sip, reqmethod,
        respcode, ua, ereferer, ruletype, rulelabel, contenttype,
        unscannabletype, deviceowner, devicehostname, keyprotectiontype

    (older feeds stop before ``keyprotectiontype``: 33 fields are enough). A
    custom template written with a header row of field names (``time``,
    ``login``, ``eurl``... or ``%s{time}``...) is read by those names instead.

Values absent in the record are written ``None``, ``NA`` or ``N/A`` by NSS.
NSS hex-encodes (``%HH``) the control and non-ASCII bytes of URLs and host
names, and the feed's escape characters (``%2C``, ``%22``) in the ``e``-fields
(``eurl``, ``ehost``, ``elogin``, ``elocation``...): the user, location and
host are %-decoded; the URL is kept as logged. Both shapes may arrive behind a
syslog header; the record's own time wins over the header's.
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import ipaddress
import json
import time
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any
from urllib.parse import unquote

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.clock import MONTHS, LocalClock
from collectors.errors import ParseError
from collectors.event import Event
from collectors.hosts import normalize_host
from collectors.hosts import url_host as _url_host
from collectors.syslog import has_syslog_header, split_syslog

NAME_JSON = "zscaler_web_json"
NAME_CSV = "zscaler_web_csv"
_CACHE_MAX = 100_000
_new = tuple.__new__
"""Builds an Event from its full field tuple, skipping NamedTuple's argument handling."""

DEFAULT_FIELDS = (
    "time", "login", "proto", "eurl", "action", "appname", "appclass", "reqsize", "respsize",
    "stime", "ctime", "urlclass", "urlsupercat", "urlcat", "malwarecat", "threatname",
    "riskscore", "dlpeng", "dlpdict", "location", "dept", "cip", "sip", "reqmethod",
    "respcode", "ua", "ereferer", "ruletype", "rulelabel", "contenttype",
    "unscannabletype", "deviceowner", "devicehostname", "keyprotectiontype",
)
"""The default web feed's fields, in order (the sample on the NSS web log docs page)."""
MIN_DEFAULT = 33

ABSENT = frozenset(("", "None", "NA", "N/A", "none", "na", "n/a", "-", "NONE"))
_ACTIONS = {
    "allowed": "allowed", "allow": "allowed", "isolated": "allowed", "isolate": "allowed",
    "blocked": "blocked", "block": "blocked", "denied": "blocked", "deny": "blocked",
    "drop": "blocked", "dropped": "blocked", "reset": "blocked",
    "caution": "warned", "cautioned": "warned", "warn": "warned", "warned": "warned",
}
_SCHEMES = {"HTTP": "http://", "HTTPS": "https://", "FTP": "ftp://"}
_UTC_NAMES = frozenset(("GMT", "UTC", "Z", "UT", "ETC/GMT", "ETC/UTC"))

ALIASES: tuple[tuple[str, ...], ...] = (
    ("time", "datetime"),                                   # 0  TIME
    ("epochtime",),                                         # 1  EPOCH
    ("tz",),                                                # 2  TZ
    ("action",),                                            # 3  ACTION
    ("reason",),                                            # 4  REASON
    ("reqmethod", "requestmethod"),                         # 5  METHOD
    ("url", "eurl"),                                        # 6  URL
    ("b64url",),                                            # 7  B64URL
    ("proto", "protocol"),                                  # 8  PROTO
    ("host", "ehost", "hostname"),                          # 9  HOST
    ("cip", "ClientIP", "cltip", "clientip", "clientIP"),   # 10 CLIENT
    ("cintip", "cltintip"),                                 # 11 INTERNAL
    ("login", "elogin", "user"),                            # 12 USER
    ("location", "elocation"),                              # 13 LOCATION
    ("respcode", "status"),                                 # 14 STATUS
    ("reqsize", "requestsize"),                             # 15 OUT
    ("respsize", "responsesize"),                           # 16 IN
    ("urlcat", "urlcategory", "urlsubcat"),                 # 17 CATEGORY
    ("appname",),                                           # 18 APP
)
"""The record fields read, by slot: each slot takes its first alias with a value."""
(TIME, EPOCH, TZ, ACTION, REASON, METHOD, URL, B64URL, PROTO, HOST, CLIENT, INTERNAL, USER,
 LOCATION, STATUS, OUT, IN, CATEGORY, APP) = range(len(ALIASES))
_SLOTS = len(ALIASES)


class LineFeed:
    """Hands one line at a time to a single long-lived csv.reader."""

    def __init__(self) -> None:
        self.line: str | None = None

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line, self.line = self.line, None
        if line is None:
            raise StopIteration
        return line


def url_host(url: str) -> str | None:
    """The host of a URL, with or without its scheme (`collectors.hosts.url_host`)."""
    return _url_host(url)

def _text(value: Any) -> str:
    """A JSON value as the text NSS printed (numbers appear unquoted in some templates)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _clean(v: Any) -> str:
    """A value as text, '' when NSS wrote it absent (None, NA, N/A...)."""
    if v is None:
        return ""
    if v.__class__ is not str:
        v = _text(v)
    v = v.strip()
    return "" if v in ABSENT else v


class _JsonSlots:
    """Reads the slots of a JSON record. A feed's template fixes its keys, so which
    aliases a record has is worked out once per key set (a plan) and cached: the
    first present alias of each slot, and the slots that have more than one."""

    def __init__(self) -> None:
        self.plans: dict[tuple[str, ...], tuple[tuple[str, ...], list[tuple[int, tuple[str, ...]]]]] = {}

    def __call__(self, d: Mapping[str, Any]) -> list[str]:
        shape = tuple(d)
        plan = self.plans.get(shape)
        if plan is None:
            present = [tuple(a for a in aliases if a in d) for aliases in ALIASES]
            plan = (tuple(keys[0] if keys else "" for keys in present),
                    [(i, keys[1:]) for i, keys in enumerate(present) if len(keys) > 1])
            if len(self.plans) >= 1000:
                self.plans.clear()
            self.plans[shape] = plan
        first, more = plan
        out = ["" if v is None else "" if (x := (v if v.__class__ is str else _text(v)).strip()) in ABSENT
               else x for v in map(d.get, first)]
        for i, keys in more:
            if not out[i]:
                for k in keys:
                    v = _clean(d[k])
                    if v:
                        out[i] = v
                        break
        return out


class _ColumnSlots:
    """Reads the slots of a CSV row of one layout (the default feed, or a header's)."""

    def __init__(self, fields: Sequence[str]) -> None:
        where: dict[str, list[int]] = {}
        for i, name in enumerate(fields):
            where.setdefault(name, []).append(i)
        present = [[c for a in aliases for c in where.get(a, ())] for aliases in ALIASES]
        self.width = len(fields)
        # Column -1 is a blank appended to each row: the slots the layout lacks read it.
        self.first = itemgetter(*[cols[0] if cols else -1 for cols in present])
        self.more = [(i, cols[1:]) for i, cols in enumerate(present) if len(cols) > 1]

    def __call__(self, row: list[str]) -> list[str]:
        if len(row) < self.width:
            row += [""] * (self.width - len(row))
        row.append("")
        out = ["" if (x := v.strip()) in ABSENT else x for v in self.first(row)]
        for i, cols in self.more:
            if not out[i]:
                for c in cols:
                    v = _clean(row[c])
                    if v:
                        out[i] = v
                        break
        return out


def _decode(text: str) -> str:
    return unquote(text, errors="replace") if "%" in text else text


def _int(text: str) -> int | None:
    return int(text) if text.isdecimal() and len(text) <= 18 else None


def _fixed_zone(name: str) -> dt.tzinfo | None:
    """``GMT+05:30``, ``UTC-8``, ``GMT-0800`` -> a fixed offset."""
    rest = name[3:] if name[:3] in ("GMT", "UTC") else ""
    if len(rest) < 2 or rest[0] not in "+-":
        return None
    body = rest[1:].replace(":", "")
    if not (body.isascii() and body.isdigit()) or len(body) > 4:
        return None
    hours, minutes = (int(body), 0) if len(body) <= 2 else (int(body[:-2]), int(body[-2:]))
    if hours > 14 or minutes > 59:
        return None
    delta = dt.timedelta(hours=hours, minutes=minutes)
    return dt.timezone(-delta if rest[0] == "-" else delta)


def zone_of(name: str, default: dt.tzinfo) -> dt.tzinfo:
    """The zone an NSS ``tz`` value names (``GMT``, an IANA name, ``GMT+05:30``)."""
    key = name.strip()
    if key.upper() in _UTC_NAMES:
        return dt.UTC
    fixed = _fixed_zone(key.upper())
    if fixed is not None:
        return fixed
    if key and len(key) < 64 and key.isascii() and ".." not in key and not key.startswith("/"):
        try:
            return zoneinfo.ZoneInfo(key)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass
    return default


def _stamp_fields(text: str) -> tuple[int, int, int, int, int, int]:
    """``Fri Dec 31 07:07:07 2021`` or ``2021-12-31 07:07:07`` -> its numbers."""
    parts = text.split()
    if len(parts) == 5:  # day name, month, day, time, year
        month = MONTHS.get(parts[1][:3].lower()) if len(parts[1]) >= 3 else None
        day_s, hms, year_s = parts[2], parts[3], parts[4]
        if month is None or not day_s.isdecimal() or not year_s.isdecimal():
            raise ValueError
        year, day = int(year_s), int(day_s)
    elif len(parts) == 2:
        ymd = parts[0].split("-")
        hms = parts[1]
        if len(ymd) != 3 or not all(p.isascii() and p.isdecimal() for p in ymd):
            raise ValueError
        year, month, day = int(ymd[0]), int(ymd[1]), int(ymd[2])
        if len(ymd[0]) == 2:
            year += 2000
    else:
        raise ValueError
    hh, mm, ss = hms.split(":")
    if not (hh.isascii() and mm.isascii() and ss.isascii()):
        raise ValueError
    return year, month, day, int(hh), int(mm), int(ss)


class _Stamps:
    """Zscaler time text (in a named zone) -> POSIX seconds, cached."""

    def __init__(self, default: dt.tzinfo) -> None:
        self.default = default
        self.zones: dict[str, LocalClock] = {}
        self.cache: dict[tuple[str, str], float] = {}
        self.last_text, self.last_tz, self.last = "", "", 0.0

    def clock(self, tz_name: str) -> LocalClock:
        clock = self.zones.get(tz_name)
        if clock is None:
            clock = LocalClock(zone_of(tz_name, self.default) if tz_name else self.default)
            if len(self.zones) > 1000:
                self.zones.clear()
            self.zones[tz_name] = clock
        return clock

    def __call__(self, text: str, tz_name: str) -> float:
        if text == self.last_text and tz_name == self.last_tz:
            return self.last
        key = (text, tz_name)
        got = self.cache.get(key)
        if got is None:
            try:
                y, mo, d, h, mi, s = _stamp_fields(text)
                if not 0 <= s <= 60:
                    raise ValueError
                got = self.clock(tz_name).minute(f"{y}-{mo}-{d} {h}:{mi}", y, mo, d, h, mi) + s
            except (ValueError, OverflowError):
                raise ParseError("bad timestamp") from None
            if len(self.cache) >= _CACHE_MAX:
                self.cache.clear()
            self.cache[key] = got
        self.last_text, self.last_tz, self.last = text, tz_name, got
        return got


def _b64_url(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        raise ParseError("bad base64 URL") from None


class _Builder:
    """Turns one record (field name -> text) into an Event; shared by both shapes."""

    def __init__(self, ctx: ParseContext) -> None:
        self.stamps = _Stamps(ctx.tz)
        self.hosts: dict[str, str] = {}
        self.clients: dict[str, str] = {}

    def host(self, raw: str) -> str:
        host = self.hosts.get(raw)
        if host is None:
            try:
                host = normalize_host(_decode(raw))
            except ValueError:
                raise ParseError("invalid host") from None
            if len(self.hosts) >= _CACHE_MAX:
                self.hosts.clear()
            self.hosts[raw] = host
        return host

    def client(self, raw: str) -> str:
        client = self.clients.get(raw)
        if client is None:
            try:
                client = str(ipaddress.ip_address(raw))
            except ValueError:
                raise ParseError("bad client IP") from None
            if len(self.clients) >= _CACHE_MAX:
                self.clients.clear()
            self.clients[raw] = client
        return client

    def build(self, v: list[str], lineno: int, fallback_ts: float | None) -> Event:
        """The event of a record whose slots (see `ALIASES`) are ``v``."""
        stamp = v[TIME]
        if stamp:
            ts = self.stamps(stamp, v[TZ])
        else:
            epoch = _int(v[EPOCH])
            if epoch is not None:
                ts = float(epoch)
            elif fallback_ts is not None:
                ts = fallback_ts
            else:
                raise ParseError("no timestamp")
        action = _ACTIONS.get(v[ACTION].lower())
        if action is None:
            raise ParseError("unknown action")
        if action == "allowed" and "aution" in v[REASON]:
            action = "warned"  # a caution page was shown ("File Attachment Cautioned")
        method = v[METHOD].upper() or None
        url = v[URL]
        if not url and v[B64URL]:
            url = _b64_url(v[B64URL]).strip()
        if url and "://" not in url and method != "CONNECT":
            scheme = _SCHEMES.get(v[PROTO].upper())
            if scheme:
                url = scheme + url
        raw_host = url_host(url) if url else v[HOST]
        if not raw_host:
            raw_host = v[HOST]
            if not raw_host:
                raise ParseError("request without a host")
        host = self.host(raw_host)
        raw = v[CLIENT] or v[INTERNAL]
        client = self.client(raw) if raw else ""
        user = v[USER]
        if user:
            if "%" in user:
                user = _decode(user)
            location = v[LOCATION]
            if location and _decode(location) == user:
                user = ""  # an unauthenticated location logs its own name as the login
        return _new(Event, (ts, "proxy", client, user, host, action, url or None, None, method,
                            _int(v[STATUS]) or None, _int(v[IN]), _int(v[OUT]), v[CATEGORY] or None,
                            None, v[APP] or None, (), lineno))


def _reference(ctx: ParseContext) -> float:
    return ctx.reference.timestamp() if ctx.reference else time.time()


# ---------------------------------------------------------------- JSON


def _json_record(line: str) -> tuple[dict[str, Any], str, str | None]:
    """The record's fields, its ``sourcetype`` and, when the line came through syslog,
    the header text."""
    s = line.strip()
    wrapped: str | None = None
    if not s.startswith("{"):
        if not has_syslog_header(s):
            raise ParseError("not a JSON object")
        cut = s.find("{")
        if cut < 0:
            raise ParseError("not a JSON object")
        wrapped, s = s[:cut], s[cut:]
    try:
        obj = json.loads(s)
    except (ValueError, RecursionError):
        raise ParseError("bad JSON") from None
    if not isinstance(obj, dict):
        raise ParseError("not a JSON object")
    sourcetype = _text(obj.get("sourcetype", ""))
    inner = obj.get("event")
    if isinstance(inner, dict):
        return inner, sourcetype, wrapped
    return obj, sourcetype, wrapped


def _is_web(d: Mapping[str, Any]) -> bool:
    keys = d.keys()
    return ("action" in keys and any(k in keys for k in ALIASES[URL] + ALIASES[B64URL] + ALIASES[HOST])
            and any(k in keys for k in ALIASES[METHOD] + ALIASES[OUT] + ALIASES[IN] + ALIASES[STATUS]))


def make_json_parser(ctx: ParseContext) -> LineParser:
    builder = _Builder(ctx)
    slots = _JsonSlots()
    clock = LocalClock(ctx.tz)
    reference = _reference(ctx)

    def parse(line: str, lineno: int) -> Event | None:
        d, sourcetype, wrapped = _json_record(line)
        if sourcetype.startswith("zscalernss-") and sourcetype != "zscalernss-web":
            return None  # another NSS log type (firewall, DNS, tunnel) on the same feed
        v = slots(d)
        fallback = None
        if wrapped is not None and not v[TIME] and not v[EPOCH]:
            fallback = split_syslog(wrapped + "{}", clock, reference).ts
        return builder.build(v, lineno, fallback)

    return parse


def sniff_json(lines: Sequence[str]) -> bool:
    def ok(line: str) -> bool:
        if '"' not in line:
            return False
        try:
            d, sourcetype, _ = _json_record(line)
        except ParseError:
            return False
        return sourcetype == "zscalernss-web" or (not sourcetype and _is_web(d))
    hits = sum(1 for ln in lines if ok(ln))
    return hits > 0 and hits * 2 >= len(lines)


# ---------------------------------------------------------------- CSV


def _header_name(cell: str) -> str:
    name = cell.strip()
    if name.startswith("%") and "{" in name and name.endswith("}"):
        name = name[name.index("{") + 1 : -1]  # the template token itself: %s{time}
    return name


def _is_header(row: Sequence[str]) -> bool:
    names = {_header_name(c).lower() for c in row}
    return ("time" in names or "datetime" in names or "epochtime" in names) and (
        "action" in names) and bool(names & {"url", "eurl", "b64url", "host", "ehost"})


def _csv_row(line: str, feed: LineFeed, reader: Iterator[list[str]]) -> tuple[list[str], str | None]:
    s = line
    wrapped: str | None = None
    if not s.startswith('"'):
        if not has_syslog_header(s):
            if s.startswith(("time,", "datetime,")):
                wrapped = None  # an unquoted header row
            else:
                raise ParseError("not a quoted CSV record")
        else:
            cut = s.find('"')
            if cut < 0:
                raise ParseError("not a quoted CSV record")
            wrapped, s = s[:cut], s[cut:]
    feed.line = s
    try:
        row = next(reader)
    except (csv.Error, StopIteration):
        feed.line = None
        raise ParseError("bad CSV") from None
    return row, wrapped


_DEFAULT_COLUMNS = _ColumnSlots(DEFAULT_FIELDS)


def make_csv_parser(ctx: ParseContext) -> LineParser:
    builder = _Builder(ctx)
    clock = LocalClock(ctx.tz)
    reference = _reference(ctx)
    feed = LineFeed()
    reader = csv.reader(feed, skipinitialspace=True, strict=True)
    header: list[tuple[int, _ColumnSlots]] = []
    """(field count, slot reader) of the header row, when the file has one."""

    def parse(line: str, lineno: int) -> Event | None:
        if not line or line.isspace():
            raise ParseError("empty line")
        row, wrapped = _csv_row(line, feed, reader)
        first = row[0].strip() if row else ""
        if " " not in first and not first[:1].isdigit() and _is_header(row):
            header[:] = [(len(row), _ColumnSlots([_header_name(c) for c in row]))]
            return None
        if header:
            count, columns = header[0]
            if len(row) != count:
                raise ParseError("field count differs from the header")
        else:
            if len(row) < MIN_DEFAULT:
                raise ParseError("too few fields")
            columns = _DEFAULT_COLUMNS
        v = columns(row)
        fallback = None
        if wrapped is not None and not v[TIME] and not v[EPOCH]:
            fallback = split_syslog(wrapped + '""', clock, reference).ts
        return builder.build(v, lineno, fallback)

    return parse


def sniff_csv(lines: Sequence[str]) -> bool:
    fields: list[Sequence[str]] = [DEFAULT_FIELDS]

    def ok(line: str) -> bool:
        if not line.startswith('"'):
            cut = line.find('"') if has_syslog_header(line) else -1
            if cut < 0:
                if line.startswith(("time,", "datetime,")) and _is_header(line.split(",")):
                    fields[0] = [_header_name(c) for c in line.split(",")]
                    return True
                return False
            line = line[cut:]
        try:
            row = next(csv.reader([line], skipinitialspace=True))
        except (csv.Error, StopIteration):
            return False
        if _is_header(row):
            fields[0] = [_header_name(c) for c in row]
            return True
        if len(row) < min(MIN_DEFAULT, len(fields[0])):
            return False
        v = _ColumnSlots(fields[0])(row)
        if v[ACTION].lower() not in _ACTIONS:
            return False
        try:
            _stamp_fields(v[TIME])
        except ValueError:
            return False
        return True
    hits = sum(1 for ln in lines if ok(ln))
    return hits > 0 and hits * 2 >= len(lines)


# ---------------------------------------------------------------- rendering


def _fields(ev: Event) -> dict[str, str]:
    """The NSS fields an event stands for (a district feed: location ``Lincoln High``)."""
    stamp = dt.datetime.fromtimestamp(ev.ts, dt.UTC).strftime("%a %b %d %H:%M:%S %Y")
    url, proto = ev.url or ev.host, "SSL"
    for name, scheme in _SCHEMES.items():
        if url.startswith(scheme):
            url, proto = url[len(scheme) :], name
    action = {"allowed": "Allowed", "blocked": "Blocked", "warned": "Caution"}[ev.action]
    return {
        "time": stamp, "login": ev.user or "Lincoln High", "proto": proto, "eurl": url,
        "action": action, "appname": ev.app_name or "None", "appclass": "General Browsing",
        "reqsize": str(ev.bytes_out or 0), "respsize": str(ev.bytes_in or 0),
        "stime": "0", "ctime": "0", "urlclass": "Business Use",
        "urlsupercat": "Information Technology", "urlcat": ev.category or "None",
        "malwarecat": "None", "threatname": "None", "riskscore": "0", "dlpeng": "None",
        "dlpdict": "None", "location": "Lincoln High", "dept": "Students", "cip": ev.client,
        "sip": "203.0.113.10", "reqmethod": ev.method or "NA",
        "respcode": str(ev.status) if ev.status else "NA", "ua": "Mozilla/5.0",
        "ereferer": "None", "ruletype": "None", "rulelabel": "None", "contenttype": "Other",
        "unscannabletype": "None", "deviceowner": "NA", "devicehostname": "NA",
        "keyprotectiontype": "N/A",
    }


def render_json(ev: Event) -> str:
    """The line the Splunk-style JSON template prints for this event."""
    f = _fields(ev)
    f["tz"] = "GMT"
    return json.dumps({"sourcetype": "zscalernss-web", "event": f}, separators=(",", ":"))


def render_csv(ev: Event) -> str:
    """The line the default CSV feed prints for this event."""
    f = _fields(ev)
    return ",".join('"' + f[name].replace('"', '""') + '"' for name in DEFAULT_FIELDS)


FORMATS = (
    LogFormat(NAME_JSON, "proxy", "Zscaler ZIA NSS web logs, JSON templates", sniff_json,
              make_json_parser, priority=60),
    LogFormat(NAME_CSV, "proxy", "Zscaler ZIA NSS web logs, default quoted CSV feed", sniff_csv,
              make_csv_parser, header_lines=1, priority=60),
)
