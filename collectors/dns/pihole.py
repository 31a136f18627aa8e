"""Pi-hole's long-term query database, exported as CSV (format ``pihole_csv``).

The export is what the sqlite3 shell writes for

    sqlite3 -header -csv /etc/pihole/pihole-FTL.db "SELECT * FROM queries"

a header row, then one row per query. The ``queries`` view (Pi-hole docs,
"Query database") has the columns ``id, timestamp, type, status, domain,
client, forward, additional_info, reply_type, reply_time, dnssec`` (database
version 10 and later; FTL v6 adds ``list_id`` and ``ede``, older databases
lack the last ones). The header row sets the column order, so a projection
(``SELECT timestamp, domain, client, type, status ...``) reads too; only
``timestamp``, ``domain`` and ``client`` are required.

* ``timestamp``: POSIX seconds (an integer; FTL v6 may store a fraction).
* ``type``: FTL's query type: 1 A, 2 AAAA, 3 ANY, 4 SRV, 5 SOA, 6 PTR, 7 TXT,
  8 NAPTR, 9 MX, 10 DS, 11 RRSIG, 12 DNSKEY, 13 NS, 14 OTHER (deprecated
  since FTL v5.4: qtype None), 15 SVCB, 16 HTTPS; any other type is stored
  as 100 + its number (166 is TYPE66) and mapped with dnspython.
* ``status``: how FTL handled it. Blocked (action ``blocked``): 1 gravity,
  4 regex denylist, 5 exact denylist, 6 upstream (blocking-page IP), 7
  upstream (0.0.0.0 or ::), 8 upstream (NXDOMAIN without RA), 9/10/11 gravity,
  regex and exact denylist found by CNAME inspection, 15 database busy, 16
  special domain (Mozilla canary, iCloud Private Relay), 18 upstream (EDE 15).
  Everything else is allowed: 0 unknown, 2 forwarded, 3 cache, 12 retried,
  13 retried but ignored, 14 already forwarded, 17 stale cache, and any
  status a later FTL adds.
* Rows Pi-hole stored under a privacy level that hides the domain
  (``domain`` = ``hidden``) carry nothing to count and are ignored.

The sqlite3 shell quotes a field only when it must (RFC 4180); NULL is an
empty field. A quoted field spanning lines (a binary ``additional_info``) is
rejected. A second header row (files concatenated) resets the columns.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence

import dns.rdatatype

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.dns.common import client_address, query_host
from collectors.errors import ParseError
from collectors.event import Event

NAME = "pihole_csv"

FTL_TYPES: dict[int, str | None] = {
    1: "A", 2: "AAAA", 3: "ANY", 4: "SRV", 5: "SOA", 6: "PTR", 7: "TXT", 8: "NAPTR",
    9: "MX", 10: "DS", 11: "RRSIG", 12: "DNSKEY", 13: "NS", 14: None, 15: "SVCB", 16: "HTTPS",
}
"""FTL's ``enum query_type`` as stored in the ``type`` column."""
BLOCKED_STATUSES = frozenset({1, 4, 5, 6, 7, 8, 9, 10, 11, 15, 16, 18})
"""FTL's query statuses the Pi-hole docs list as blocked."""

_REQUIRED = ("timestamp", "domain", "client")
_COLUMN_NAMES = frozenset({"id", "timestamp", "type", "status", "domain", "client", "forward",
                           "additional_info", "reply_type", "reply_time", "dnssec", "list_id",
                           "ede", "regex_id"})
_CACHE_MAX = 100_000


def _header(fields: Sequence[str]) -> dict[str, int] | None:
    names = [f.strip().strip('"').lower() for f in fields]
    if all(r in names for r in _REQUIRED) and "status" in names:
        return {n: i for i, n in enumerate(names)}
    return None


def sniff(lines: Sequence[str]) -> bool:
    if not lines:
        return False
    head = lines[0].lstrip("\ufeff")
    return "," in head and _header(head.split(",")) is not None


def make_parser(ctx: ParseContext) -> LineParser:
    cols: dict[str, int] | None = None
    idx = (0, 0, 0, -1, -1)
    width = 0
    hosts: dict[str, str] = {}
    clients: dict[str, str] = {}
    new = tuple.__new__

    def parse(line: str, lineno: int) -> Event | None:
        nonlocal cols, idx, width
        if not line.strip():
            return None
        row = _csv_row(line) if '"' in line else line.split(",")
        if cols is None or row[0].strip('\ufeff" ').lower() in _COLUMN_NAMES:
            got = _header([row[0].lstrip("\ufeff"), *row[1:]])
            if got is not None:
                cols = got
                idx = (got["timestamp"], got["domain"], got["client"], got.get("type", -1),
                       got.get("status", -1))
                width = max(got.values()) + 1
                return None
            if cols is None:
                raise ParseError("no header row (export with sqlite3 -header)")
        if len(row) < width:
            raise ParseError("too few fields")
        i_ts, i_dom, i_cli, i_type, i_status = idx
        try:
            ts = float(row[i_ts])
        except ValueError:
            raise ParseError("bad timestamp") from None
        if not 0 <= ts < 1e11:
            raise ParseError("bad timestamp")
        qtype: str | None = None
        if i_type >= 0:
            qtype = _ftl_type(row[i_type])
        action = "allowed"
        if i_status >= 0:
            s = row[i_status]
            if not (s.isascii() and s.isdigit()) or len(s) > 6:
                raise ParseError("bad status")
            if int(s) in BLOCKED_STATUSES:
                action = "blocked"
        domain = row[i_dom]
        if domain == "hidden":
            return None  # stored under a privacy level that hides domains
        host = hosts.get(domain)
        if host is None:
            host = _host(domain)
            if len(hosts) >= _CACHE_MAX:
                hosts.clear()
            hosts[domain] = host
        addr = row[i_cli]
        client = clients.get(addr)
        if client is None:
            client = _client(addr)
            if len(clients) >= _CACHE_MAX:
                clients.clear()
            clients[addr] = client
        return new(Event, (ts, "dns", client, "", host, action, None, qtype, None, None,
                           None, None, None, None, None, (), lineno))

    return parse


def _csv_row(line: str) -> list[str]:
    try:
        rows = list(csv.reader([line], strict=True))
    except csv.Error:
        raise ParseError("bad CSV quoting") from None
    if len(rows) != 1:
        raise ParseError("bad CSV quoting")
    return rows[0]


def _ftl_type(text: str) -> str | None:
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise ParseError("bad query type")
    n = int(text)
    if n in FTL_TYPES:
        return FTL_TYPES[n]
    if 100 <= n <= 100 + 65535:
        return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(n - 100))
    raise ParseError("bad query type")


_client = client_address
_host = query_host


HEADER = ("id,timestamp,type,status,domain,client,forward,additional_info,reply_type,"
          "reply_time,dnssec")
"""The header row of ``SELECT * FROM queries`` (database versions 10 to 12)."""


FORMAT = LogFormat(NAME, "dns", "Pi-hole FTL query database exported as CSV with a header row",
                   sniff, make_parser, header_lines=1, priority=60)
