"""Cisco Umbrella DNS logs as exported to S3 (``dnslogs/YYYY-MM-DD/*.csv.gz``).

From the Umbrella "DNS Log Formats" and "Log Formats and Versioning" pages:
CSV, every field double-quoted, no header row (unless the optional log header
is switched on, from v11), one query a line. Columns by log schema version:

    v1-v2   "Timestamp","Most Granular Identity","Identities","Internal IP",
            "External IP","Action","QueryType","ResponseCode","Domain","Categories"
    v3-v9   ... + "Most Granular Identity Type","Identity Types","Blocked Categories"
    v10+    ... + "Rule ID","Destination Countries","Organization ID"

The version is told by the column count (10, 13, 16; anything from 10 up is
read, only the first eleven columns matter). Umbrella's own sample puts a blank
after some commas (``"a", "b"``): read with ``skipinitialspace``.

* Timestamp ``2026-11-29 10:00:00`` is UTC, whatever the source's zone.
* Action ``Allowed``/``Blocked`` (``Proxied``: sent to the intelligent proxy,
  which logs the request itself; the lookup counts as allowed).
* QueryType ``1 (A)``, ``28 (AAAA)``: the mnemonic (the number when there is none).
* Domain has the trailing dot of a fully qualified name.
* ResponseCode is a name (``NOERROR``), so status stays None.
* client = Internal IP ("" when Umbrella has none, e.g. roaming clients off
  network); user = the most granular identity when its type is a user type
  (``AD Users``, ``... Users``): its e-mail address when it is written
  ``Display Name (user@example.org)``, else the name as logged. When the most
  granular identity is something else (a roaming computer, a site) but a user
  type is among the Identity Types, that user is taken from the Identities
  (Umbrella's own samples have such lines). A v1/v2 line has no type column:
  the identity counts as a user only if it is an e-mail.
"""

from __future__ import annotations

import csv
import datetime as dt
import ipaddress
from collections.abc import Iterator, Sequence

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.dns.zeek import mnemonic
from collectors.errors import ParseError
from collectors.event import Event
from collectors.hosts import normalize_host

NAME = "umbrella_dns"
_ACTIONS = {"allowed": "allowed", "blocked": "blocked", "proxied": "allowed"}
_CACHE_MAX = 100_000
_MNEMONIC_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


class _Feed:
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


def _stamp_ok(s: str) -> bool:
    return (len(s) == 19 and s[4] == "-" and s[7] == "-" and s[10] == " " and s[13] == ":"
            and s[16] == ":" and s[:4].isdigit() and s[5:7].isdigit() and s[8:10].isdigit()
            and s[11:13].isdigit() and s[14:16].isdigit() and s[17:19].isdigit())


def _minute(key: str) -> float:
    try:
        return dt.datetime(int(key[:4]), int(key[5:7]), int(key[8:10]), int(key[11:13]),
                           int(key[14:16]), tzinfo=dt.UTC).timestamp()
    except ValueError:
        raise ParseError("bad timestamp") from None


def query_type(text: str) -> str | None:
    """``1 (A)`` -> ``A``; ``65 (HTTPS)`` -> ``HTTPS``; ``28`` -> ``AAAA``."""
    text = text.strip()
    if not text:
        return None
    number, _, rest = text.partition(" ")
    if not number.isdigit() or len(number) > 5:
        raise ParseError("bad query type")
    if rest.startswith("(") and rest.endswith(")"):
        name = rest[1:-1].strip().upper()
        if name and len(name) <= 16 and _MNEMONIC_CHARS.issuperset(name) and not name.isdigit():
            return name
    return mnemonic(int(number))


def _is_user_type(identity_type: str) -> bool:
    return identity_type.strip().endswith(("Users", "User"))


def _user_text(identity: str) -> str:
    """``Display Name (user@example.org)`` -> the address; otherwise as logged."""
    identity = identity.strip()
    if identity.endswith(")"):
        cut = identity.rfind("(")
        inner = identity[cut + 1 : -1].strip() if cut >= 0 else ""
        if "@" in inner and " " not in inner:
            return inner
    return identity


def user_of(identity: str, identity_type: str | None) -> str:
    """The user a record names, from its most granular identity and type."""
    if identity_type is None:  # v1/v2: no type column
        user = _user_text(identity)
        return user if "@" in user and " " not in user else ""
    return _user_text(identity) if _is_user_type(identity_type) else ""


def user_among(identities: str, identity_types: str) -> str:
    """The user listed among all a record's identities, when the most granular
    one is not a user (a roaming computer or site with a signed-in AD user).

    Both lists are comma-separated and in the same order, but a user written
    ``Last, First (address)`` holds a comma itself: the address in parentheses
    is taken first; otherwise the lists are paired when their lengths agree.
    """
    types = [t.strip() for t in identity_types.split(",")]
    wanted = [i for i, t in enumerate(types) if _is_user_type(t)]
    if not wanted:
        return ""
    for piece in identities.split("("):
        inner, sep, _ = piece.partition(")")
        if sep and "@" in inner and " " not in inner.strip() and "," not in inner:
            return inner.strip()
    names = [n.strip() for n in identities.split(",")]
    if len(names) == len(types) and names[wanted[0]]:
        return _user_text(names[wanted[0]])
    return ""


def make_parser(ctx: ParseContext) -> LineParser:
    feed = _Feed()
    reader = csv.reader(feed, skipinitialspace=True, strict=True)
    minutes: dict[str, float] = {}
    hosts: dict[str, str] = {}
    clients: dict[str, str] = {}
    qtypes: dict[str, str | None] = {}
    users: dict[tuple[str, str | None], str] = {}
    listed_users: dict[tuple[str, str], str] = {}

    def parse(line: str, lineno: int) -> Event | None:
        if not line or line.isspace():
            raise ParseError("empty line")
        feed.line = line
        try:
            row = next(reader)
        except (csv.Error, StopIteration):
            feed.line = None
            raise ParseError("bad CSV") from None
        n = len(row)
        if n < 10:
            raise ParseError("too few fields")
        stamp = row[0]
        if not _stamp_ok(stamp):
            if stamp.strip().lower() == "timestamp":
                return None  # the optional header row
            raise ParseError("bad timestamp")
        base = minutes.get(stamp[:16])
        if base is None:
            base = _minute(stamp)
            if len(minutes) >= _CACHE_MAX:
                minutes.clear()
            minutes[stamp[:16]] = base
        sec = int(stamp[17:19])
        if sec > 60:
            raise ParseError("bad timestamp")
        action = _ACTIONS.get(row[5].strip().lower())
        if action is None:
            raise ParseError("unknown action")
        raw = row[8]
        host = hosts.get(raw)
        if host is None:
            if not raw.strip():
                raise ParseError("no domain")
            try:
                host = normalize_host(raw)
            except ValueError:
                raise ParseError("invalid query name") from None
            if len(hosts) >= _CACHE_MAX:
                hosts.clear()
            hosts[raw] = host
        raw = row[3]
        client = clients.get(raw)
        if client is None:
            if raw.strip():
                try:
                    client = str(ipaddress.ip_address(raw.strip()))
                except ValueError:
                    raise ParseError("bad internal IP") from None
            else:
                client = ""
            if len(clients) >= _CACHE_MAX:
                clients.clear()
            clients[raw] = client
        raw = row[6]
        qtype = qtypes.get(raw, "")
        if qtype == "":
            qtype = query_type(raw)
            if len(qtypes) >= _CACHE_MAX:
                qtypes.clear()
            qtypes[raw] = qtype
        key = (row[1], row[10] if n > 10 else None)
        user = users.get(key)
        if user is None:
            user = user_of(*key)
            if len(users) >= _CACHE_MAX:
                users.clear()
            users[key] = user
        if not user and n > 11 and "User" in row[11]:
            listed = (row[2], row[11])
            user = listed_users.get(listed)
            if user is None:
                user = user_among(*listed)
                if len(listed_users) >= _CACHE_MAX:
                    listed_users.clear()
                listed_users[listed] = user
        return Event(base + sec, "dns", client, user, host, action, None, qtype, line=lineno)

    return parse


def sniff(lines: Sequence[str]) -> bool:
    def ok(line: str) -> bool:
        if not line.startswith('"'):
            return False
        try:
            row = next(csv.reader([line], skipinitialspace=True))
        except (csv.Error, StopIteration):
            return False
        return (len(row) >= 10 and _stamp_ok(row[0]) and row[5] in ("Allowed", "Blocked", "Proxied")
                and row[6][:1].isdigit())
    hits = sum(1 for ln in lines if ok(ln))
    return hits > 0 and hits * 2 >= len(lines)


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def render(ev: Event, version: int = 10) -> str:
    """The line Umbrella writes for this event (schema ``version`` 2, 9 or 10+)."""
    import dns.rdatatype

    stamp = dt.datetime.fromtimestamp(ev.ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    if ev.user:
        identity, itype = ev.user, "AD Users"
        identities, itypes = f"{ev.user},Main Campus", "AD Users,Sites"
    else:
        identity, itype = "Main Campus", "Sites"
        identities, itypes = "Main Campus", "Sites"
    qtype = ev.qtype or "A"
    try:
        number = int(dns.rdatatype.from_text(qtype))
    except (dns.rdatatype.UnknownRdatatype, ValueError):
        number = 0
    blocked = ev.action == "blocked"
    fields = [stamp, identity, identities, ev.client, "198.51.100.7",
              "Blocked" if blocked else "Allowed", f"{number} ({qtype})",
              "NOERROR", ev.host + ".", ev.category or ""]
    if version >= 3:
        fields += [itype, itypes, (ev.category or "") if blocked else ""]
    if version >= 10:
        fields += ["", "", "2072337"]
    return ",".join(_quote(f) for f in fields)


FORMAT = LogFormat(NAME, "dns", "Cisco Umbrella DNS logs (S3 CSV export, schema v1-v13)",
                   sniff, make_parser, priority=50)
