"""Sophos web filter logs: Sophos Firewall (XG / SFOS) content filtering and
Sophos UTM 9 web proxy (``httpproxy``). Both are ``key=value`` lines, split by
`collectors.proxy.fortigate.parse_kv`.

Sophos Firewall (SFOS 17-18.5, "Log file details" / syslog guide)::

    device="SFW" date=2026-11-29 time=10:00:00 timezone="CST" device_name="XG230"
    device_id=C01001K234RXPA1 log_id=050901616001 log_type="Content Filtering"
    log_component="HTTP" log_subtype="Allowed" status="" priority=Information fw_rule_id=5
    user_name="jdoe" user_gp="students" iap=13 category="Games" category_type="Unproductive"
    url="https://www.example.com/" contenttype="text/html" src_ip=10.1.2.3 dst_ip=203.0.113.7
    protocol="TCP" src_port=51000 dst_port=443 sent_bytes=517 recv_bytes=20480
    domain=www.example.com exceptions= activityname="" reason=""

and SFOS 19+ (``device_name="SFW" timestamp="2026-11-29T10:00:00-0600" ...
http_category="Games" bytes_sent=... bytes_received=... http_status="200"
app_name=...``). Read: ``log_type="Content Filtering"`` (component HTTP, or
Application for application-control hits, whose host is ``dst_ip``); other log
types (Firewall, Event, IDP, Anti-Virus...) are valid lines without an event.

=========  ===================================================================
time       ``timestamp`` (ISO 8601 with its offset), else ``date`` + ``time`` in
           ``timezone``: ``UTC``/``GMT``/an offset exactly; a zone abbreviation
           (``CST``, ``CEST``) as the source's configured zone when that zone
           uses the abbreviation at that date, else by a table of common
           abbreviations (``CST`` = US Central), else the configured zone
client     ``src_ip``; user ``user_name``
host       the host of ``url``, else ``domain``, else ``dst_ip``
action     ``log_subtype``: Allowed -> allowed, Denied -> blocked, Warned ->
           warned (the warning page was shown)
category   ``category`` / ``http_category`` (``None`` means none)
method     ``method`` / ``http_method``; status ``http_status`` /
           ``httpresponsecode`` (0 = none)
bytes      the firewall counts from the client: ``recv_bytes`` /
           ``bytes_received`` = what the client received = bytes_in (a download
           of an .exe logs ``sent_bytes=0 recv_bytes=531659``), ``sent_bytes`` /
           ``bytes_sent`` = bytes_out
app_name   ``app_name``
=========  ===================================================================

SFOS writes some values unquoted even when they hold a blank
(``domain=www. google.ca`` in an 18.5 sample): a word without ``=`` continues
the previous value; the URL's host is preferred for that reason.

Sophos UTM 9 (``/var/log/http.log``, or its remote syslog)::

    2026:11:29-10:00:00 utm httpproxy[1234]: id="0001" severity="info" sys="SecureWeb"
    sub="http" name="http access" action="pass" method="GET" srcip="10.1.2.3"
    dstip="203.0.113.7" user="jdoe" group="students" ad_domain="DISTRICT"
    statuscode="200" cached="0" profile="REF_..." filteraction="REF_..." size="1234"
    request="0x..." url="https://www.example.com/" referer="" error="" ...
    ua="Mozilla/5.0 ..." exceptions="" category="105" reputation="neutral"
    categoryname="Business" content-type="text/html" application="..." app-id="..."

The body has no time: it is the header's (``YYYY:MM:DD-HH:MM:SS`` in the UTM's
zone, or a standard syslog header). ``action``: pass -> allowed, block ->
blocked, warn -> warned. Records without an action (``id="0003"`` debug
records, ``id="0072"`` "warned and proceeded": the request that follows is
logged on its own) and ``sys`` other than SecureWeb are valid lines without an
event. ``size`` is the response size (bytes_in; UTM logs no upload size),
``statuscode`` the HTTP status, ``categoryname`` the category (a repeated
``Business,Business`` list is reduced to its distinct names), ``application``
the app name. A CONNECT request's host is the URL's.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import Any

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.clock import LocalClock, iso_stamp
from collectors.errors import ParseError
from collectors.event import Event
from collectors.proxy.fortigate import (
    KVFolder,
    canon_ip,
    host_of,
    kv_body,
    local_stamp,
    offset_zone,
    parse_kv,
    url_host,
)
from collectors.syslog import has_syslog_header, split_syslog

NAME = "sophos"

_XG_ACTIONS = {"allowed": "allowed", "allow": "allowed", "denied": "blocked", "deny": "blocked",
               "blocked": "blocked", "block": "blocked", "warned": "warned", "warn": "warned"}
_UTM_ACTIONS = {"pass": "allowed", "block": "blocked", "warn": "warned"}
# Common abbreviations -> UTC offset in minutes (used only when the configured
# zone does not itself use the abbreviation at that date). CST and IST are
# ambiguous; CST is read as US Central (the deployments this serves).
_ABBR_MINUTES = {
    "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360,
    "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600, "WET": 0, "WEST": 60,
    "BST": 60, "CET": 60, "CEST": 120, "EET": 120, "EEST": 180, "MSK": 180, "SGT": 480,
    "HKT": 480, "AWST": 480, "JST": 540, "KST": 540, "ACST": 570, "ACDT": 630, "AEST": 600,
    "AEDT": 660, "NZST": 720, "NZDT": 780, "SAST": 120, "GST": 240, "PKT": 300, "WIB": 420,
}
_NO_VALUE = ("", "-", "None", "N/A")


def _int(text: str | None, reason: str) -> int | None:
    if text is None or text in _NO_VALUE:
        return None
    if text.isascii() and text.isdigit():
        return int(text)
    raise ParseError(reason)


def _status(text: str | None) -> int | None:
    v = _int(text, "bad HTTP status")
    return v or None


def _category(text: str | None) -> str | None:
    if text is None or text in _NO_VALUE:
        return None
    if "," in text:
        names = list(dict.fromkeys(x.strip() for x in text.split(",") if x.strip()))
        return ",".join(names) or None
    return text


def _is_utm_stamp(s: str) -> bool:
    return (len(s) >= 19 and s[4] == ":" and s[7] == ":" and s[10] == "-" and s[13] == ":"
            and s[16] == ":")


def zone_for(name: str, date: str, clock_text: str, tz: dt.tzinfo,
             zones: dict[tuple[str, str, str], dt.tzinfo]) -> dt.tzinfo:
    """The zone of an SFOS ``timezone`` value at ``date`` + ``clock_text`` (its
    hour), by the rules in the module docstring; ``zones`` caches it."""
    if not name:
        return tz
    z = offset_zone(name)
    if z is not None:
        return z
    key = (name, date, clock_text[:2])
    got = zones.get(key)
    if got is None:
        got = tz
        try:
            local = dt.datetime(int(date[0:4]), int(date[5:7]), int(date[8:10]),
                                int(clock_text[0:2]), tzinfo=tz)
        except ValueError:
            raise ParseError("bad timestamp") from None
        if local.tzname() != name:
            mins = _ABBR_MINUTES.get(name.upper())
            if mins is not None:
                got = dt.timezone(dt.timedelta(minutes=mins))
        if len(zones) > 10_000:
            zones.clear()
        zones[key] = got
    return got


def make_parser(ctx: ParseContext) -> LineParser:
    tz = ctx.tz
    clock = LocalClock(tz)
    ref = ctx.reference.timestamp() if ctx.reference else time.time()
    stamps: dict[tuple[str, str, dt.tzinfo], float] = {}
    zones: dict[tuple[str, str, str], dt.tzinfo] = {}

    def xg(d: dict[str, str], lineno: int) -> Event | None:
        if d.get("log_type") != "Content Filtering":
            return None
        iso = d.get("timestamp")
        if iso:
            try:
                ts = iso_stamp(iso, tz)
            except ValueError:
                raise ParseError("bad timestamp") from None
        else:
            date, clock_text = d.get("date"), d.get("time")
            if not date or not clock_text:
                raise ParseError("no timestamp")
            zone = zone_for(d.get("timezone", ""), date, clock_text, tz, zones)
            ts = local_stamp(date, clock_text, zone, stamps)
        url = d.get("url") or None
        raw = (url_host(url) if url else None) or d.get("domain") or d.get("dst_ip")
        if not raw:
            raise ParseError("no host")
        sub = d.get("log_subtype", "")
        action = _XG_ACTIONS.get(sub.lower(), "allowed")
        method = d.get("method") or d.get("http_method")
        return Event(
            ts, "proxy", canon_ip(d.get("src_ip", "")), d.get("user_name", ""), host_of(raw), action,
            url, None, method.upper() if method else None,
            _status(d.get("http_status") or d.get("httpresponsecode")),
            _int(d.get("recv_bytes") or d.get("bytes_received"), "bad byte count"),
            _int(d.get("sent_bytes") or d.get("bytes_sent"), "bad byte count"),
            _category(d.get("category") or d.get("http_category")), None,
            d.get("app_name") or None, line=lineno)

    def utm_time(line: str, head: str) -> float:
        if _is_utm_stamp(head):
            s = head
            try:
                base = clock.minute(s[:16], int(s[0:4]), int(s[5:7]), int(s[8:10]),
                                    int(s[11:13]), int(s[14:16]))
                sec = int(s[17:19])
            except ValueError:
                raise ParseError("bad timestamp") from None
            if sec > 60:
                raise ParseError("bad timestamp")
            return base + sec
        if has_syslog_header(line):
            return split_syslog(line, clock, ref).ts
        raise ParseError("no timestamp")

    def utm(d: dict[str, str], line: str, head: str, lineno: int) -> Event | None:
        if d.get("sys") != "SecureWeb":
            return None
        act = d.get("action")
        if act is None:
            return None
        ts = utm_time(line, head)
        url = d.get("url") or None
        raw = (url_host(url) if url else None) or d.get("dstip")
        if not raw:
            raise ParseError("no host")
        user = d.get("user", "")
        method = d.get("method")
        return Event(
            ts, "proxy", canon_ip(d.get("srcip", "")), "" if user == "-" else user, host_of(raw),
            _UTM_ACTIONS.get(act, "allowed"), url, None, method.upper() if method else None,
            _status(d.get("statuscode")), _int(d.get("size"), "bad byte count"), None,
            _category(d.get("categoryname")), None, d.get("application") or None, line=lineno)

    def parse(line: str, lineno: int) -> Event | None:
        body, head = kv_body(line)
        d = parse_kv(body)
        if "log_type" in d:
            return xg(d, lineno)
        if "sys" in d or ("id" in d and "severity" in d):
            return utm(d, line, head, lineno)
        raise ParseError("not a Sophos log line")

    return parse


def sniff(lines: Sequence[str]) -> bool:
    def ok(ln: str) -> bool:
        if "log_type=" in ln and "log_id=" in ln and "log_component=" in ln:
            return True
        return 'sys="SecureWeb"' in ln or ("httpproxy[" in ln and 'severity="' in ln)
    hits = sum(1 for ln in lines if ok(ln))
    return hits > 0 and hits * 2 >= len(lines)


# --------------------------------------------------------------------------- render

def _q(value: str) -> str:
    return '"' + value.replace('"', '\\"') + '"'


_XG_IDS = {"allowed": ("050901616001", "Allowed"), "blocked": ("050902616002", "Denied"),
           "warned": ("050927616005", "Warned")}


def render(ev: Event, tz: dt.tzinfo = dt.UTC, *, pri: bool = False) -> str:
    """A Sophos Firewall (SFOS 18.5) content filtering line. Seconds only; the
    ``timezone`` value is the zone's abbreviation at that time (UTC for UTC)."""
    t = dt.datetime.fromtimestamp(ev.ts, tz)
    log_id, sub = _XG_IDS.get(ev.action, _XG_IDS["allowed"])
    url = ev.url if ev.url is not None else f"https://{ev.host}/"
    name = "UTC" if tz is dt.UTC else (t.tzname() or "UTC")
    out = [f'device="SFW" date={t:%Y-%m-%d} time={t:%H:%M:%S} timezone={_q(name)}',
           'device_name="XG230" device_id=C01001K234RXPA1', f"log_id={log_id}",
           'log_type="Content Filtering" log_component="HTTP"', f'log_subtype="{sub}" status=""',
           "priority=Information fw_rule_id=5", f"user_name={_q(ev.user)}",
           'user_gp="students" iap=13', f'category={_q(ev.category or "None")} category_type=""',
           f'url={_q(url)} contenttype="text/html" override_token=""',
           f'src_ip={ev.client} dst_ip={ev.host if ev.host.replace(".", "").isdigit() else "203.0.113.7"}',
           'protocol="TCP" src_port=51000 dst_port=443']
    if ev.bytes_out is not None:
        out.append(f"sent_bytes={ev.bytes_out}")
    if ev.bytes_in is not None:
        out.append(f"recv_bytes={ev.bytes_in}")
    out.append(f"domain={ev.host} exceptions= activityname=\"\" reason=\"\"")
    if ev.method is not None:
        out.append(f"method={ev.method}")
    if ev.status is not None:
        out.append(f"http_status={ev.status}")
    if ev.app_name is not None:
        out.append(f"app_name={_q(ev.app_name)}")
    line = " ".join(out)
    return f"<30>{line}" if pri else line


def render_utm(ev: Event, tz: dt.tzinfo = dt.UTC, *, host: str = "utm", pid: int = 4312) -> str:
    """A Sophos UTM 9 ``httpproxy`` line (with its own header). Seconds only."""
    t = dt.datetime.fromtimestamp(ev.ts, tz)
    act = {"allowed": "pass", "blocked": "block", "warned": "warn"}.get(ev.action, "pass")
    name = {"pass": "http access", "block": "web request blocked, forbidden category detected",
            "warn": "web request warned, forbidden category detected"}[act]
    url = ev.url if ev.url is not None else f"https://{ev.host}/"
    fields = [
        f'id="{"0001" if act == "pass" else "0060" if act == "block" else "0071"}"',
        'severity="info" sys="SecureWeb" sub="http"', f"name={_q(name)}", f'action="{act}"',
        f"method={_q(ev.method or 'GET')}", f"srcip={_q(ev.client)}", 'dstip="203.0.113.7"',
        f"user={_q(ev.user)}", 'group="" ad_domain=""', f'statuscode="{ev.status or 0}"',
        'cached="0" profile="REF_DefaultHTTPProfile" filteraction="REF_DefaultHTTPCFFAction"',
        f'size="{ev.bytes_in or 0}" request="0x7fad9e44ac00"', f"url={_q(url)}",
        'referer="" error="" authtime="0" dnstime="1" cattime="120" avscantime="0"',
        'fullreqtime="2500" device="0" auth="0" ua="Mozilla/5.0 (Windows NT 10.0; Win64; x64)"',
        'exceptions="" category="105" reputation="neutral"',
        f'categoryname={_q(ev.category or "")} content-type="text/html"']
    if ev.app_name is not None:
        fields.append(f'application={_q(ev.app_name)} app-id="816"')
    return f"{t:%Y:%m:%d-%H:%M:%S} {host} httpproxy[{pid}]: " + " ".join(fields)


# --------------------------------------------------------------------------- fold

class SophosFolder(KVFolder):
    """`collectors._fold.SophosKernel`. It asks once per minute key: ``I`` +
    an ISO stamp without its seconds, or ``D`` + ``date`` + ``HH:MM`` +
    ``timezone``, then a NUL. The answer is that minute's day bucket and POSIX
    milliseconds by the parser's own rules, or None (the parser takes the line)
    when the seconds would not simply add to it."""

    def __init__(self, ctx: ParseContext, kernel_type: Any) -> None:
        super().__init__(ctx, kernel_type)
        self.tz = ctx.tz
        self.stamps: dict[tuple[str, str, dt.tzinfo], float] = {}
        self.zones: dict[tuple[str, str, str], dt.tzinfo] = {}
        self.kernel.configure(ctx.upload_min_bytes)

    def _minute(self, key: bytes) -> tuple[int, int] | None:
        text = key[:-1].decode("ascii")
        try:
            if text[0] == "I":
                head, tail = text[1:17], text[17:]
                base = iso_stamp(head + ":00" + tail, self.tz)
                end = iso_stamp(head + ":59" + tail, self.tz)
            else:
                date, hm, name = text[1:11], text[11:16], text[16:]
                zone = zone_for(name, date, hm, self.tz, self.zones)
                base = local_stamp(date, hm + ":00", zone, self.stamps)
                end = local_stamp(date, hm + ":59", zone, self.stamps)
        except (ValueError, OverflowError, ParseError):
            return None
        # Whole seconds, and one offset and one day through the minute.
        if end != base + 59 or base != int(base) or self._day(base) != self._day(end):
            return None
        return self.bucket(base), int(base) * 1000

    def _day(self, ts: float) -> dt.date:
        return dt.datetime.fromtimestamp(ts, self.day_zone).date()


def make_folder(ctx: ParseContext) -> SophosFolder | None:
    return SophosFolder.compiled(ctx, "SophosKernel")


FORMAT = LogFormat(NAME, "proxy", "Sophos Firewall (XG/SFOS) and UTM 9 web filter logs",
                   sniff, make_parser, make_folder, priority=40)
