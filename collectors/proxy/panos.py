"""Palo Alto Networks PAN-OS syslog, default (CSV) format: URL filtering and traffic.

PAN-OS forwards each log as one comma-separated record without a header row
("Syslog Field Descriptions", PAN-OS Administrator's Guide 8.1, 9.x, 10.x,
11.x). Columns are bound by position; each release only appends columns at the
end, so a record may be longer than the layout read here (extra columns are
ignored) and the columns read are the same in every release since 8.0:

==  ===================  =====================================================
 1  Receive Time         ``2026/11/29 10:00:00``, the firewall's local time
 3  Type                 ``THREAT`` / ``TRAFFIC`` / ``SYSTEM`` / ...
 4  Threat/Content Type  the subtype: ``url`` for URL filtering; traffic
                         ``start`` / ``end`` / ``drop`` / ``deny``
 6  Generated Time       when the dataplane made the log: the event's time
 7  Source Address       client
 8  Destination Address  the server's address
12  Source User          ``domain\\user`` or ``user@domain`` as User-ID maps it
14  Application          App-ID name (``ssl``, ``web-browsing``, ``facebook-base``)
30  Action               see below
==  ===================  =====================================================

THREAT (subtype ``url``; other threat subtypes are valid lines without an
event): 31 URL/Filename (``"www.example.com/path"``, quoted, no scheme), 33
Category (the URL category), 63 HTTP Method (lower case, 8.0+), 107 High
Resolution Timestamp (10.0+). TRAFFIC: 32 Bytes Sent (client to server:
bytes_out), 33 Bytes Received (server to client: bytes_in), 37 Category
(``any`` when no URL category applied: None), 90 Destination Hostname (10.0+,
Device-ID's name for the destination), 102 High Resolution Timestamp (10.0+).

Time: Generated Time (else Receive Time) in the firewall's zone. The High
Resolution Timestamp (``2026-11-29T10:00:00.123-06:00``) carries that zone's
offset: where the record has one, the offset is taken from it, else from the
source's configured zone.

Host: a URL filtering record's host is the URL's; a traffic record's is
Destination Hostname when present, else the destination address (an IP
literal: traffic logs carry no host name). The URL is kept as logged.

Actions (Threat log "Action" field): ``alert`` and ``allow`` -> allowed;
``block-continue`` (the Continue page was shown), ``continue`` (the user chose
to continue past it), ``block-override`` (the admin-override page was shown:
pending an override) and ``override`` (a correct override password let the
request through) -> warned; every other action (``block-url``,
``override-lockout``, ``deny``, ``drop``, ``reset-client``/``-server``/``-both``,
``block-ip``, ``sinkhole``...) -> blocked. Traffic: ``allow`` -> allowed, others
(``deny``, ``drop``, ``drop-icmp``, ``reset-*``) -> blocked. A traffic ``start``
record (session logging at start, an option; the same session logs again at its
end) is ignored unless the source option ``session_start`` is set.

Records arrive bare or behind a syslog header (``<14>Nov 29 10:00:00 PA-VM
1,2026/11/29...``, or the IETF/RFC 5424 header); the record's own time wins.
Quoted fields may hold commas and doubled quotes (standard CSV).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.errors import ParseError
from collectors.event import Event
from collectors.hosts import normalize_host
from collectors.proxy.fortigate import canon_ip, host_of, offset_zone, url_host
from collectors.syslog import has_syslog_header

NAME = "panos"

_ALLOWED = frozenset(("alert", "allow"))
_WARNED = frozenset(("continue", "block-continue", "block-override", "override"))
# Records this format reads: type -> minimum number of fields.
_MIN_FIELDS = {"THREAT": 34, "TRAFFIC": 34}
_HI_RES = {"THREAT": 107, "TRAFFIC": 102}
_DST_HOSTNAME_TRAFFIC = 90


def _fields(msg: str) -> list[str]:
    if '"' not in msg:
        return msg.split(",")
    try:
        return next(csv.reader([msg]))
    except (csv.Error, StopIteration):
        raise ParseError("bad CSV quoting") from None


def _payload(line: str) -> str:
    """The CSV record of a line, without any syslog header."""
    c = line.find(",")
    if c < 0:
        raise ParseError("not a PAN-OS CSV record")
    sp = line.rfind(" ", 0, c)
    if sp >= 0:
        if not has_syslog_header(line):
            raise ParseError("not a PAN-OS CSV record")
        return line[sp + 1 :]
    if line.startswith("<"):
        e = line.find(">", 1, 6)
        if e > 1 and line[1:e].isdigit():
            return line[e + 1 :]
    return line


def _is_stamp(s: str) -> bool:
    return (len(s) == 19 and s[4] == "/" and s[7] == "/" and s[10] == " " and s[13] == ":"
            and s[16] == ":")


def make_parser(ctx: ParseContext) -> LineParser:
    tz = ctx.tz
    minutes: dict[tuple[str, dt.tzinfo], float] = {}
    with_start = bool(ctx.options.get("session_start"))

    def stamp(s: str, zone: dt.tzinfo) -> float:
        key = (s[:16], zone)
        base = minutes.get(key)
        if base is None:
            if not _is_stamp(s):
                raise ParseError("bad timestamp")
            try:
                base = dt.datetime(int(s[0:4]), int(s[5:7]), int(s[8:10]), int(s[11:13]),
                                   int(s[14:16]), tzinfo=zone).timestamp()
            except ValueError:
                raise ParseError("bad timestamp") from None
            if len(minutes) > 50_000:
                minutes.clear()
            minutes[key] = base
        sec = s[17:19]
        if not (sec.isascii() and sec.isdigit()) or int(sec) > 60 or len(s) != 19:
            raise ParseError("bad timestamp")
        return base + int(sec)

    def zone_of(f: list[str], typ: str) -> dt.tzinfo:
        i = _HI_RES[typ]
        if len(f) > i:
            hi = f[i]
            if len(hi) >= 25 and hi[10] == "T" and hi[-6] in "+-" and hi[-3] == ":":
                return offset_zone(hi[-6:]) or tz
        return tz

    def parse(line: str, lineno: int) -> Event | None:
        f = _fields(_payload(line))
        if len(f) < 7:
            raise ParseError("not a PAN-OS CSV record")
        typ = f[3]
        need = _MIN_FIELDS.get(typ)
        if need is None:
            if _is_stamp(f[1]) and typ.isalpha() and typ.isupper():
                return None  # SYSTEM, CONFIG, HIPMATCH, USERID, GLOBALPROTECT...
            raise ParseError("not a PAN-OS CSV record")
        sub = f[4]
        if typ == "THREAT" and sub != "url":
            return None
        if typ == "TRAFFIC" and sub == "start" and not with_start:
            return None
        if len(f) < need:
            raise ParseError("too few fields")
        ts = stamp(f[6] or f[1], zone_of(f, typ))
        client = canon_ip(f[7])
        act = f[30]
        user = f[12]
        app = f[14] or None
        if typ == "THREAT":
            url = f[31]
            raw = (url_host(url) if url else None) or f[8]
            if not raw:
                raise ParseError("no host")
            action = "allowed" if act in _ALLOWED else "warned" if act in _WARNED else "blocked"
            method = f[63].upper() if len(f) > 63 and f[63] else None
            return Event(ts, "proxy", client, user, host_of(raw), action, url or None, None,
                         method, None, None, None, f[33] or None, None, app, line=lineno)
        host = ""
        if len(f) > _DST_HOSTNAME_TRAFFIC and f[_DST_HOSTNAME_TRAFFIC]:
            try:
                host = normalize_host(f[_DST_HOSTNAME_TRAFFIC])
            except ValueError:
                host = ""
        if not host:
            if not f[8]:
                raise ParseError("no host")
            host = host_of(f[8])
        try:
            sent, rcvd = int(f[32]), int(f[33])
        except ValueError:
            raise ParseError("bad byte count") from None
        cat = f[37] if len(f) > 37 and f[37] != "any" else ""
        return Event(ts, "proxy", client, user, host, "allowed" if act == "allow" else "blocked",
                     None, None, None, None, rcvd, sent, cat or None, None, app, line=lineno)

    return parse


def sniff(lines: Sequence[str]) -> bool:
    def ok(ln: str) -> bool:
        try:
            f = _payload(ln).split(",", 7)
        except ParseError:
            return False
        return len(f) > 7 and _is_stamp(f[1]) and f[3].isalpha() and f[3].isupper()
    hits = sum(1 for ln in lines if ok(ln))
    return hits > 0 and hits * 2 >= len(lines)


# --------------------------------------------------------------------------- render

def _csv(value: str) -> str:
    if "," in value or '"' in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def render(ev: Event, tz: dt.tzinfo = dt.UTC, *, syslog: bool = True, device: str = "PA-VM",
           serial: str = "012801096514", session: int = 1) -> str:
    """A PAN-OS 10.1 record for an event: a THREAT/url record when it has a URL,
    else a TRAFFIC/end record (the destination address is the host when that
    is an IP literal, else Destination Hostname names it). Seconds only."""
    t = dt.datetime.fromtimestamp(ev.ts, tz)
    stamp = t.strftime("%Y/%m/%d %H:%M:%S")
    off = t.utcoffset() or dt.timedelta(0)
    mins = int(off.total_seconds()) // 60
    hi = f"{t:%Y-%m-%dT%H:%M:%S}.000{'-' if mins < 0 else '+'}{abs(mins) // 60:02d}:{abs(mins) % 60:02d}"
    is_ip = ":" in ev.host or ev.host.replace(".", "").isdigit()
    dst = ev.host if is_ip else "198.51.100.20"
    head = ["1", stamp, serial]
    common = [stamp, ev.client, dst, "203.0.113.5", dst, "students-web", ev.user, "",
              ev.app_name or "", "vsys1", "trust", "untrust", "ethernet1/2", "ethernet1/1",
              "default", stamp, str(session), "1", "51000", "443", "40123", "443", "0x8000", "tcp"]
    if ev.url is not None:
        act = {"allowed": "alert", "warned": "block-continue"}.get(ev.action, "block-url")
        f = [
            *head, "THREAT", "url", "2049", *common,
            act, ev.url, "(9999)", ev.category or "", "informational", "client-to-server",
            str(7000 + session), "0x0", "10.0.0.0-10.255.255.255", "United States", "0",
            "text/html", "0", "", "", "0", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "", "", "",
            "", "", "", "0", "0", "0", "0", "0", "", device, "", "", "",
            (ev.method or "").lower(), "0", "", "0", "", "N/A", "N/A", "AppThreat-8700-8000", "0x0",
            "0", "4294967295", "", ev.category or "", "", "0", ""]
        f += [""] * (107 - len(f)) + [hi]
    else:
        rcvd, sent = ev.bytes_in or 0, ev.bytes_out or 0
        act = "allow" if ev.action == "allowed" else "deny"
        f = [
            *head, "TRAFFIC", "end" if act == "allow" else "deny", "2304", *common,
            act, str(sent + rcvd), str(sent), str(rcvd), "12", stamp, "3", ev.category or "any",
            "0", str(7000 + session), "0x0", "10.0.0.0-10.255.255.255", "United States", "0", "6",
            "6", "tcp-fin", "0", "0", "0", "0", "", device, "from-policy", "", "", "0", "", "0", "",
            "N/A", "0", "0", "0", "0", "9e5d9b0a-1d2b-41ee-8f3c-3c0d9f8a1b2c", "0"]
        f += [""] * (90 - len(f)) + ["" if is_ip else ev.host]
        f += [""] * (102 - len(f)) + [hi]
    quoted = 31 if ev.url is not None else -1  # PAN-OS always quotes the URL field
    line = ",".join('"' + x.replace('"', '""') + '"' if i == quoted else _csv(x)
                    for i, x in enumerate(f))
    return f"<14>{t:%b %d %H:%M:%S} {device} {line}" if syslog else line


FORMAT = LogFormat(NAME, "proxy", "Palo Alto Networks PAN-OS syslog CSV (URL filtering, traffic)",
                   sniff, make_parser, priority=40)
