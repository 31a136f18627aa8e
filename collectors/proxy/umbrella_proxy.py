"""Cisco Umbrella secure web gateway (proxy) logs, as exported to S3
(``proxylogs/YYYY-MM-DD/*.csv.gz``).

From Umbrella's "Web Log Formats" (formerly "Proxy Log Formats") and "Log
Formats and Versioning" pages: CSV, every field double-quoted, no header row
(unless the optional log header is switched on), one request a line, fields
in this order (0-based)::

     0 Timestamp (UTC)           12 Response Size            24 Identity Types
     1 Policy Identity           13 Response Body Size       25 Request Method
     2 Internal Client IP        14 SHA-SHA256               26 DLP Status
     3 External Client IP        15 Categories               27 Certificate Errors
     4 Destination IP            16 AV Detections            28 File Name
     5 Content Type              17 PUAs                     29 Ruleset ID
     6 Verdict (ALLOWED/BLOCKED) 18 AMP Disposition          30 Rule ID
     7 URL                       19 AMP Malware Name         31 Destination List IDs
     8 Referer                   20 AMP Score                32 Isolate Action
     9 User Agent                21 Policy Identity Type     33 File Action
    10 Status Code               22 Blocked Categories       34 Warn Status
    11 Request Size              23 Identities               35 Forwarding Method ...

Later schema versions append columns (Producer, MSP organization, blocked
destination countries, application IDs, hostname, data center, egress, server
name... organization ID: 49 in the 2024 sample) and earlier ones stop sooner:
21 (up to AMP Score), 22 (+ identity type), 23 (+ blocked categories), 25-26
(+ identities, identity types, request method), 32 (up to destination lists),
35 (up to warn status). The version is told by the column count; only the
columns a row has are read, so any count from 21 up parses. Some third-party
parsers (Panther) describe an early layout with a separate "Identities" column
after the identity (verdict in column 7, 22-24 columns): a row whose verdict
sits there is read in that layout. Umbrella's own sample puts a blank after a
comma (``"1.1.1.91", "3.4.5.6"``): read with ``skipinitialspace``.

* ts: the UTC timestamp.
* client = Internal Client IP ('' when there is none: network identities).
* user = the policy identity when its type is a user type (``AD Users``...), as
  in ``collectors.dns.umbrella``: ``Display Name (user@example.org)`` gives the
  address; a user listed among the Identities of a computer/site identity is
  taken from there; rows without a type column name a user only by e-mail.
* host = the URL's host (the destination IP when a row has no URL).
* action: Verdict BLOCKED -> blocked; ALLOWED -> allowed, or warned when the
  Warn Status column is set (``warn-session`` in Umbrella's sample: the user
  was shown the warn page). Isolated requests are allowed (served through
  remote browser isolation).
* bytes_out = Request Size (what the client sent), bytes_in = Response Size
  (what the client received, headers included); "Request size in bytes" and
  "Response size in bytes" in the docs, and the Elastic integration maps them
  to http.request.bytes / http.response.bytes. Empty -> None.
* status = Status Code; category = Categories (comma-separated, as logged);
  method = Request Method (v5+ rows; None before).
"""

from __future__ import annotations

import csv
import datetime as dt
import ipaddress
import time
from collections.abc import Sequence

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.clock import LocalClock
from collectors.dns.umbrella import user_among, user_of
from collectors.errors import ParseError
from collectors.event import Event
from collectors.hosts import normalize_host
from collectors.proxy.zscaler import LineFeed, url_host
from collectors.syslog import has_syslog_header, split_syslog

NAME = "umbrella_proxy"
MIN_COLUMNS = 21
_CACHE_MAX = 100_000
_new = tuple.__new__
"""Builds an Event from its full field tuple, skipping NamedTuple's argument handling."""
_VERDICTS = {"ALLOWED": "allowed", "BLOCKED": "blocked", "WARNED": "warned", "WARN": "warned",
             "ISOLATED": "allowed"}
_NOT_WARNED = frozenset(("", "none", "-", "false", "no", "not-warned"))


def _stamp_ok(s: str) -> bool:
    return (len(s) == 19 and s[4] == "-" and s[7] == "-" and s[10] == " " and s[13] == ":"
            and s[16] == ":" and s[:4].isdigit() and s[5:7].isdigit() and s[8:10].isdigit()
            and s[11:13].isdigit() and s[14:16].isdigit() and s[17:19].isdigit() and s.isascii())


def _minute(key: str) -> float:
    try:
        return dt.datetime(int(key[:4]), int(key[5:7]), int(key[8:10]), int(key[11:13]),
                           int(key[14:16]), tzinfo=dt.UTC).timestamp()
    except ValueError:
        raise ParseError("bad timestamp") from None


def _int(text: str) -> int | None:
    text = text.strip()
    if text.isascii() and text.isdigit() and len(text) <= 18:
        return int(text)
    return None


def make_parser(ctx: ParseContext) -> LineParser:
    feed = LineFeed()
    reader = csv.reader(feed, skipinitialspace=True, strict=True)
    clock = LocalClock(ctx.tz)
    reference = ctx.reference.timestamp() if ctx.reference else time.time()
    minutes: dict[str, float] = {}
    hosts: dict[str, str] = {}
    clients: dict[str, str] = {}
    users: dict[tuple[str, str | None], str] = {}
    listed_users: dict[tuple[str, str], str] = {}

    def parse(line: str, lineno: int) -> Event | None:
        if not line or line.isspace():
            raise ParseError("empty line")
        if not line.startswith('"'):
            cut = line.find('"') if has_syslog_header(line) else -1
            if cut < 0:
                if line.lower().startswith("timestamp,"):
                    return None  # an unquoted optional header row
                raise ParseError("not a quoted CSV record")
            split_syslog(line[:cut] + '""', clock, reference)  # a valid header, or ParseError
            line = line[cut:]
        feed.line = line
        try:
            row = next(reader)
        except (csv.Error, StopIteration):
            feed.line = None
            raise ParseError("bad CSV") from None
        n = len(row)
        stamp = row[0]
        if not _stamp_ok(stamp):
            if stamp.strip().lower() == "timestamp":
                return None  # the optional header row
            raise ParseError("bad timestamp")
        if n < MIN_COLUMNS:
            raise ParseError("too few fields")
        # Verdict in column 6; in the early layout (identity, identities, ...) in 7.
        shift = 0
        verdict = row[6].strip().upper()
        if verdict not in _VERDICTS and n > 7 and row[7].strip().upper() in _VERDICTS:
            shift, verdict = 1, row[7].strip().upper()
        action = _VERDICTS.get(verdict)
        if action is None:
            raise ParseError("unknown verdict")
        if action == "allowed" and n > 34 and not shift and row[34].strip().lower() not in _NOT_WARNED:
            action = "warned"
        base = minutes.get(stamp[:16])
        if base is None:
            base = _minute(stamp)
            if len(minutes) >= _CACHE_MAX:
                minutes.clear()
            minutes[stamp[:16]] = base
        sec = int(stamp[17:19])
        if sec > 60:
            raise ParseError("bad timestamp")
        url = row[7 + shift].strip()
        raw = url_host(url) if url else row[4 + shift].strip()
        if not raw:
            raise ParseError("request without a host")
        host = hosts.get(raw)
        if host is None:
            try:
                host = normalize_host(raw)
            except ValueError:
                raise ParseError("invalid host") from None
            if len(hosts) >= _CACHE_MAX:
                hosts.clear()
            hosts[raw] = host
        raw = row[2 + shift]
        client = clients.get(raw)
        if client is None:
            text = raw.strip()
            if text:
                try:
                    client = str(ipaddress.ip_address(text))
                except ValueError:
                    raise ParseError("bad internal IP") from None
            else:
                client = ""
            if len(clients) >= _CACHE_MAX:
                clients.clear()
            clients[raw] = client
        type_col = 22 if shift else 21
        key = (row[1], row[type_col] if n > type_col else None)
        user = users.get(key)
        if user is None:
            user = user_of(*key)
            if len(users) >= _CACHE_MAX:
                users.clear()
            users[key] = user
        if not user and n > 24 and not shift and "User" in row[24]:
            listed = (row[23], row[24])
            got = listed_users.get(listed)
            if got is None:
                got = user_among(*listed)
                if len(listed_users) >= _CACHE_MAX:
                    listed_users.clear()
                listed_users[listed] = got
            user = got
        status = _int(row[10 + shift]) or None
        method = (row[25].strip().upper() or None) if n > 25 and not shift else None
        category = row[15 + shift].strip() or None
        return _new(Event, (base + sec, "proxy", client, user, host, action, url or None, None, method,
                            status, _int(row[12 + shift]), _int(row[11 + shift]), category, None, None,
                            (), lineno))

    return parse


def sniff(lines: Sequence[str]) -> bool:
    def ok(line: str) -> bool:
        if not line.startswith('"'):
            return False
        try:
            row = next(csv.reader([line], skipinitialspace=True))
        except (csv.Error, StopIteration):
            return False
        if len(row) < MIN_COLUMNS or not _stamp_ok(row[0]):
            return False
        return row[6] in ("ALLOWED", "BLOCKED") or row[7] in ("ALLOWED", "BLOCKED")
    hits = sum(1 for ln in lines if ok(ln))
    return hits > 0 and hits * 2 >= len(lines)


COLUMNS = {21: "v1", 22: "v2", 23: "v3-v4", 26: "v5", 32: "v6-v7", 35: "v8-v10", 37: "v11",
           49: "v13"}
"""Column counts `render` writes, with the schema versions they stand for (approximate:
Umbrella documents the order, not every version's count)."""


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def render(ev: Event, columns: int = 35) -> str:
    """The line Umbrella writes for this event, with ``columns`` columns (see `COLUMNS`)."""
    stamp = dt.datetime.fromtimestamp(ev.ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    if ev.user:
        identity, itype = ev.user, "AD Users"
        identities, itypes = f"{ev.user},LIB-PC-07,Lincoln High", "AD Users,AD Computers,Sites"
    else:
        identity, itype = "Lincoln High", "Sites"
        identities, itypes = "Lincoln High,District Network", "Sites,Networks"
    if ev.action == "warned" and columns < 35:
        raise ValueError("a warned request needs the Warn Status column (35 columns or more)")
    blocked = ev.action == "blocked"
    fields = [stamp, identity, ev.client, "198.51.100.7", "203.0.113.10", "text/html",
              "BLOCKED" if blocked else "ALLOWED", ev.url or f"https://{ev.host}/",
              "", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0)",
              str(ev.status) if ev.status else "",
              "" if ev.bytes_out is None else str(ev.bytes_out),
              "" if ev.bytes_in is None else str(ev.bytes_in), "", "", ev.category or "",
              "", "", "", "", ""]
    fields += [itype, (ev.category or "") if blocked else "", identities, itypes,
               ev.method or "", "", "", "", "", "", "", "", "", "warned" if ev.action == "warned" else ""]
    fields += ["PROXY_CHAINING", "SWG", "", "", "", "swg-proxy.example", "ATL1", "false",
               ev.host, "false", "false", "", "", "2204063"]
    fields += [""] * max(0, columns - len(fields))
    return ",".join(_quote(f) for f in fields[:columns])


FORMAT = LogFormat(NAME, "proxy", "Cisco Umbrella SWG proxy logs (S3 CSV export)", sniff, make_parser,
                   priority=50)
