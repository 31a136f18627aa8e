"""Fortinet FortiGate (FortiOS) key=value logs: web filter and forward traffic.

FortiOS writes every log as ``key=value`` pairs separated by blanks ("Log
field format", FortiOS Log Message Reference): strings are quoted (older
releases leave simple words bare), numbers and addresses are bare::

    date=2026-11-29 time=10:00:00 devname="FGT" devid="FG100F..." eventtime=1795968000123456789
    tz="-0600" logid="0316013056" type="utm" subtype="webfilter" eventtype="ftgd_blk"
    level="warning" vd="root" policyid=1 sessionid=42 srcip=10.1.2.3 srcport=51000
    dstip=203.0.113.7 dstport=443 proto=6 service="HTTPS" hostname="www.example.com"
    profile="students" action="blocked" reqtype="direct" url="https://www.example.com/"
    sentbyte=517 rcvdbyte=0 direction="outgoing" msg="URL belongs to a denied category in policy"
    ratemethod="domain" cat=8 catdesc="Games" user="jdoe" group="students"

Read here: ``type=utm subtype=webfilter`` (every web filter event type: ftgd_blk,
ftgd_allow, urlfilter, ...) and ``type=traffic`` with ``subtype=forward`` (and
``sniffer``, a one-arm sniffer's copy of forward traffic). Other types and
subtypes (event, local traffic, app-ctrl, dns, ips...) are valid lines without
an event.

=========  ===================================================================
time       ``eventtime`` (UTC epoch in s, ms, us or ns by its length: FortiOS 6.0
           writes seconds, 6.2+ nanoseconds), else ``date`` + ``time`` in the
           ``tz`` offset (``-0600``, ``+05:30``, ``UTC+2:00``), else in the
           source's zone. A repeated key (some releases print ``tz`` twice)
           keeps its first value.
client     ``srcip``
user       ``user`` (``N/A`` is none), else ``unauthuser`` (a user name learned
           without authentication, e.g. from FSSO/NTLM)
host       web filter: ``hostname``, else the URL's host, else ``dstip``;
           traffic: ``hostname`` (6.2+ writes it when a UTM profile saw one),
           else ``dstname`` when it is a host name, else ``dstip``
url        web filter ``url``; releases before 7.0 log only the path
           (``url="/success.txt"``): it is completed with ``hostname`` and the
           scheme of ``service`` (HTTPS -> https://, else http://)
action     web filter ``action``: ``passthrough``/``pass``/``exempt``/``monitored``
           -> allowed, ``blocked`` -> blocked, but warned when the message
           says the category has warnings enabled (FortiOS logs the warning page
           of the "Warning" category action as a block); traffic ``action``:
           ``deny`` -> blocked, every close reason (``close``, ``timeout``,
           ``client-rst``, ``server-rst``, ``accept``, ``ip-conn``...) -> allowed
           ("all others = allowed by firewall policy and the status indicates
           how it was closed"); ``start`` (the optional session-start log, always
           followed by the session's end log) is ignored unless the source
           option ``session_start`` is set
method     ``httpmethod`` (7.x), else ``Method=`` in ``rawdata`` (extended UTM
           logging). The old ``method`` key is the *rating* method
           (``domain``/``ip``), not HTTP, and is not read.
status     FortiGate does not log the HTTP status: None
bytes      FortiOS counts from the session's originator (the client):
           ``sentbyte`` = client -> server = bytes_out, ``rcvdbyte`` = server ->
           client = bytes_in (Elastic maps them to source.bytes and
           destination.bytes the same way)
category   ``catdesc`` (the FortiGuard category name)
app_name   traffic ``app`` (application control's name, e.g. ``HTTPS.BROWSER``),
           except the ``tcp/514``-style service placeholders
=========  ===================================================================

Lines come bare (disk log, FortiAnalyzer export), with only a ``<PRI>`` (what
FortiOS itself sends to a syslog server), or behind any syslog header a relay
adds: the key=value body starts at the first token holding ``=``.

`parse_kv` is the fast splitter also used by `collectors.proxy.sophos`.
`make_folder` gives the compiled fold (`collectors._fold.FortiGateKernel`): it
takes the common lines straight into per-day counts and hands every other one
to the parser here, which stays the reference.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable, Sequence
from itertools import compress
from typing import Any

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.errors import ParseError
from collectors.event import Event
from collectors.fold import KernelFolder
from collectors.hosts import normalize_host
from collectors.hosts import url_host as _url_host

NAME = "fortigate"

# --------------------------------------------------------------------------- key=value

_Q = "\x01"  # stands for a quoted value in the skeleton of a line
_E = "\x02"  # stands for an empty bare value ("exceptions= next=...")
_IS_Q = _Q.__eq__
_IS_E = _E.__eq__
_BLANK = re.compile(r"\s")  # the blanks str.split() splits on
# A token holding two "=", one starting with "=" (an empty key), or an empty
# value before a blank other than the space (those before a space are marked).
_ODD_TOKEN = re.compile(r"=(?<=(?<!\S)=)|=[^\s=]*=|=(?=\s)")


_split_kv: Callable[[str], dict[str, str] | None] | None
try:  # the compiled splitter, held to _kv_slow by tests/collectors/test_fortigate.py
    from collectors._fold import split_kv as _split_kv
except ImportError:  # no C compiler here
    _split_kv = None


def parse_kv(text: str) -> dict[str, str]:
    """The pairs of a ``key=value key="quoted value" ...`` message (see
    `parse_kv_python`); compiled where built, five times faster."""
    if _split_kv is not None:
        got = _split_kv(text)
        if got is None:
            raise ParseError("not a key=value line")
        return got
    return parse_kv_python(text)


def parse_kv_python(text: str) -> dict[str, str]:
    """The pairs of a ``key=value key="quoted value" ...`` message.

    Values are bare (up to the next blank) or in double quotes, where ``\\"``
    stands for a quote; an unterminated quote runs to the end of the line. A
    word without ``=`` continues the previous value; a repeated key keeps its
    first value. Single quotes are ordinary characters.

    Fast path: split once on double quotes (odd pieces are the quoted values),
    replace each quoted value by a marker and split the rest, all in C. Lines
    the fast path cannot vouch for (escaped quotes, a quote in the middle of a
    value, a word without ``=``, repeated keys) go through `_kv_slow`, which
    gives the same result one token at a time. Raises ParseError when the
    text holds no pair at all.
    """
    if '\\"' in text:
        return _kv_slow(text)
    parts = text.split('"')
    nq = len(parts) >> 1
    if nq:
        if not len(parts) & 1 or _Q in text:
            return _kv_slow(text)  # an unbalanced quote, or the marker in the text
        sk = _Q.join(parts[0::2])
        # every quoted value must open right after "=" and close before a blank
        if sk.count("=" + _Q) != nq or sk.count(_Q + " ") + sk.endswith(_Q) != nq:
            return _kv_slow(text)
    else:
        sk = text
    empty = "= " in sk or sk.endswith("=")
    if empty:
        if _E in sk:
            return _kv_slow(text)
        sk = sk.replace("= ", "=" + _E + " ")
        if sk.endswith("="):
            sk += _E
    flat = sk.replace("=", " ").split()
    npairs = sk.count("=")
    # With no odd token, this count proves that every token is one key=value.
    if not npairs or len(flat) != 2 * npairs or _ODD_TOKEN.search(sk):
        return _kv_slow(text)
    keys = flat[0::2]
    vals = flat[1::2]
    d = dict(zip(keys, vals, strict=True))
    if len(d) != npairs:
        return _kv_slow(text)  # a repeated key: the first one wins there
    if nq:
        d.update(zip(compress(keys, map(_IS_Q, vals)), parts[1::2], strict=True))
    if empty:
        d.update(dict.fromkeys(compress(keys, map(_IS_E, vals)), ""))
    return d


def _next_blank(text: str, pos: int) -> int:
    m = _BLANK.search(text, pos)
    return m.start() if m else len(text)


def _kv_slow(text: str) -> dict[str, str]:
    d: dict[str, str] = {}
    n = len(text)
    i = 0
    last: str | None = None  # the key of the previous pair, when it is ours
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        sp = _next_blank(text, i)
        eq = text.find("=", i, sp)
        if eq <= i:
            # A word without "=" (or "=x"): it continues the previous value, as in
            # Sophos' unquoted `domain=www. google.ca`.
            if last is not None:
                d[last] = d[last] + " " + text[i:sp]
            i = sp
            continue
        key = text[i:eq]
        j = eq + 1
        if j < n and text[j] == '"':
            k = j + 1
            while True:
                m = text.find('"', k)
                if m < 0:
                    value, i = text[j + 1 :], n  # unterminated: the rest of the line
                    break
                b = m - 1
                while b > j and text[b] == "\\":
                    b -= 1
                if (m - 1 - b) & 1:
                    k = m + 1  # an escaped quote
                    continue
                value, i = text[j + 1 : m], m + 1
                break
            if '\\"' in value:
                value = value.replace('\\"', '"')
        else:
            e = _next_blank(text, j)
            value, i = text[j:e], e
        if key in d:
            last = None
        else:
            d[key] = value
            last = key
    if not d:
        raise ParseError("not a key=value line")
    return d


def kv_body(line: str) -> tuple[str, str]:
    """Split a line into (key=value body, whatever header precedes it).

    The header is a ``<PRI>`` and/or a syslog or relay header; the body starts
    at the first blank-separated token that holds ``=``.
    """
    s = line
    if s.startswith("<"):
        e = s.find(">", 1, 6)
        if e > 1 and s[1:e].isdigit():
            s = s[e + 1 :]
    p = s.find("=")
    if p < 0:
        raise ParseError("not a key=value line")
    sp = s.rfind(" ", 0, p)
    if sp < 0:
        return s, ""
    return s[sp + 1 :], s[: sp + 1]


# --------------------------------------------------------------------------- shared values

_IPS: dict[str, str] = {}
_HOSTS: dict[str, str] = {}


def _dotted_quad(text: str) -> bool:
    """Is this IPv4 text already canonical (four decimal octets, no leading zeros)?"""
    p = text.split(".")
    if len(p) != 4:
        return False
    for x in p:
        if not (x.isascii() and x.isdigit()) or len(x) > 3 or (x[0] == "0" and len(x) > 1) or int(x) > 255:
            return False
    return True


def canon_ip(text: str) -> str:
    """The canonical text of an IP address ('' stays ''); ParseError if not one."""
    got = _IPS.get(text)
    if got is not None:
        return got
    if not text:
        return ""
    if _dotted_quad(text):
        got = text
    else:
        try:
            got = str(ipaddress.ip_address(text.split("%", 1)[0]))
        except ValueError:
            raise ParseError("bad client address") from None
    if len(_IPS) > 100_000:
        _IPS.clear()
    _IPS[text] = got
    return got


def host_of(raw: str) -> str:
    """`normalize_host`, with canonical IPv4 addresses (traffic logs' long tail) short-cut."""
    got = _HOSTS.get(raw)
    if got is None:
        if _dotted_quad(raw):
            got = raw
        else:
            try:
                got = normalize_host(raw)
            except ValueError:
                raise ParseError("invalid host") from None
        if len(_HOSTS) > 200_000:
            _HOSTS.clear()
        _HOSTS[raw] = got
    return got


def url_host(url: str) -> str | None:
    """The host of a URL, with or without its scheme (`collectors.hosts.url_host`)."""
    return _url_host(url)

def to_int(text: str | None) -> int | None:
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return int(text)
    raise ParseError("bad byte count")


def epoch(text: str) -> float | None:
    """An epoch in s/ms/us/ns told apart by its number of digits; None if not one."""
    if not (text.isascii() and text.isdigit()):
        return None
    n = len(text)
    if n < 9 or n > 19:
        return None
    v = int(text)
    if n <= 10:
        return float(v)
    if n <= 13:
        return v / 1_000
    if n <= 16:
        return v / 1_000_000
    return v / 1_000_000_000


_OFFSETS: dict[str, dt.tzinfo | None] = {}


def offset_zone(text: str) -> dt.tzinfo | None:
    """A fixed zone from ``-0600``, ``+05:30``, ``UTC+2:00``, ``GMT-5``, ``UTC``,
    ``GMT``, ``Z``; None when the text is not an offset (a zone name)."""
    got = _OFFSETS.get(text, False)
    if got is not False:
        return got  # type: ignore[return-value]
    zone: dt.tzinfo | None = None
    s = text.strip()
    head = s.rstrip("+-0123456789:")
    if head.upper() in ("", "UTC", "GMT", "Z") and len(s) <= 12:
        rest = s[len(head):]
        if not rest:
            zone = dt.UTC if head else None
        elif rest[0] in "+-":
            body = rest[1:].replace(":", "")
            if body.isdigit() and len(body) in (1, 2, 3, 4):
                if len(body) <= 2:
                    h, m = int(body), 0
                else:
                    h, m = int(body[:-2]), int(body[-2:])
                if h <= 14 and m < 60:
                    off = dt.timedelta(hours=h, minutes=m)
                    zone = dt.timezone(-off if rest[0] == "-" else off)
    if len(_OFFSETS) > 1000:
        _OFFSETS.clear()
    _OFFSETS[text] = zone
    return zone


def local_stamp(date: str, clock: str, zone: dt.tzinfo,
                cache: dict[tuple[str, str, dt.tzinfo], float]) -> float:
    """``YYYY-MM-DD`` + ``HH:MM:SS`` in ``zone`` as POSIX seconds (minutes cached)."""
    key = (date, clock[:5], zone)
    base = cache.get(key)
    if base is None:
        try:
            if (len(date) != 10 or date[4] != "-" or date[7] != "-" or len(clock) < 8
                    or clock[2] != ":" or clock[5] != ":"):
                raise ValueError
            base = dt.datetime(int(date[0:4]), int(date[5:7]), int(date[8:10]),
                               int(clock[0:2]), int(clock[3:5]), tzinfo=zone).timestamp()
        except ValueError:
            raise ParseError("bad timestamp") from None
        if len(cache) > 50_000:
            cache.clear()
        cache[key] = base
    sec = clock[6:]
    if not (sec[:2].isascii() and sec[:2].isdigit()) or len(sec) < 2 or int(sec[:2]) > 60:
        raise ParseError("bad timestamp")
    if len(sec) == 2:
        return base + int(sec)
    try:
        return base + float(sec)
    except ValueError:
        raise ParseError("bad timestamp") from None


# --------------------------------------------------------------------------- FortiGate

_WEB_ALLOWED = frozenset(("passthrough", "pass", "allow", "allowed", "exempt", "monitored",
                          "monitor", "accept"))
_WEB_WARNED = frozenset(("warning", "warn", "warned"))
_PORT_APPS = ("tcp/", "udp/", "icmp/", "icmp6/", "sctp/", "ip/")
_NO_USER = ("", "N/A", "n/a", "-")


def _user(d: dict[str, str]) -> str:
    u = d.get("user", "")
    if u in _NO_USER:
        u = d.get("unauthuser", "")
        if u in _NO_USER:
            return ""
    return u


def _raw_method(raw: str) -> str | None:
    p = raw.find("Method=")
    if p < 0 or (p and raw[p - 1] != "|"):
        return None
    e = raw.find("|", p)
    return raw[p + 7 : e if e >= 0 else len(raw)] or None


def make_parser(ctx: ParseContext) -> LineParser:
    tz = ctx.tz
    stamps: dict[tuple[str, str, dt.tzinfo], float] = {}
    with_start = bool(ctx.options.get("session_start"))

    def stamp(d: dict[str, str]) -> float:
        et = d.get("eventtime")
        if et is not None:
            ts = epoch(et)
            if ts is not None:
                return ts
        date, clock = d.get("date"), d.get("time")
        if date is None or clock is None:
            raise ParseError("no timestamp")
        zone = offset_zone(d.get("tz", "")) or tz
        return local_stamp(date, clock, zone, stamps)

    def parse(line: str, lineno: int) -> Event | None:
        body, _ = kv_body(line)
        d = parse_kv(body)
        sub = d.get("subtype")
        typ = d.get("type")
        if sub is None or typ is None:
            raise ParseError("not a FortiGate log line")
        if sub == "webfilter":
            web = True
        elif typ == "traffic" and (sub == "forward" or sub == "sniffer"):
            web = False
        else:
            return None
        ts = stamp(d)
        client = canon_ip(d.get("srcip", ""))
        hostname = d.get("hostname", "")
        if web:
            url = d.get("url") or None
            if url is not None and url.startswith("/") and hostname:
                scheme = "https" if d.get("service", "").upper() == "HTTPS" else "http"
                name = f"[{hostname}]" if ":" in hostname else hostname
                url = f"{scheme}://{name}{url}"
            raw = hostname or (url_host(url) if url else None) or d.get("dstip", "")
            if not raw:
                raise ParseError("no host")
            act = d.get("action", "")
            if act in _WEB_ALLOWED:
                action = "allowed"
            elif act in _WEB_WARNED or "warning" in d.get("msg", "").lower():
                action = "warned"
            else:
                action = "blocked"
            method = d.get("httpmethod") or _raw_method(d.get("rawdata", ""))
            return Event(ts, "proxy", client, _user(d), host_of(raw), action, url, None,
                         method.upper() if method else None, None,
                         to_int(d.get("rcvdbyte")), to_int(d.get("sentbyte")),
                         d.get("catdesc") or None, line=lineno)
        act = d.get("action", "")
        if act == "start" and not with_start:
            return None
        host = ""
        if hostname:
            host = host_of(hostname)
        else:
            dstname = d.get("dstname", "")
            if dstname:
                try:
                    host = normalize_host(dstname)
                except ValueError:
                    host = ""  # an address object's name, not a host
            if not host:
                dstip = d.get("dstip", "")
                if not dstip:
                    raise ParseError("no host")
                host = host_of(dstip)
        app = d.get("app") or None
        if app is not None and app.startswith(_PORT_APPS):
            app = None
        return Event(ts, "proxy", client, _user(d), host, "blocked" if act == "deny" else "allowed",
                     None, None, None, None, to_int(d.get("rcvdbyte")), to_int(d.get("sentbyte")),
                     d.get("catdesc") or None, None, app, line=lineno)

    return parse


def sniff(lines: Sequence[str]) -> bool:
    def ok(ln: str) -> bool:
        return ("logid=" in ln and " type=" in ln and "subtype=" in ln
                and ("date=" in ln or "eventtime=" in ln))
    hits = sum(1 for ln in lines if ok(ln))
    return hits > 0 and hits * 2 >= len(lines)


# --------------------------------------------------------------------------- render

def _q(value: str) -> str:
    return '"' + value.replace('"', '\\"') + '"'


def render(ev: Event, tz: dt.tzinfo = dt.UTC, *, pri: bool = False, devname: str = "FGT-DISTRICT",
           session: int = 1) -> str:
    """One FortiOS 7.x log line for an event: a web filter log when it has a URL,
    else a forward traffic log. ``pri`` prefixes ``<PRI>`` as FortiOS sends
    to syslog."""
    t = dt.datetime.fromtimestamp(ev.ts, tz)
    off = t.utcoffset() or dt.timedelta(0)
    mins = int(off.total_seconds()) // 60
    sign = "-" if mins < 0 else "+"
    whole = int(ev.ts)
    ns = whole * 1_000_000_000 + round((ev.ts - whole) * 1_000_000_000)
    dst = ev.host if ":" in ev.host or ev.host.replace(".", "").isdigit() else "203.0.113.80"
    out = [f"date={t:%Y-%m-%d} time={t:%H:%M:%S}", f"devname={_q(devname)}",
           'devid="FGVM02TM00000001"', f"eventtime={ns}",
           f'tz="{sign}{abs(mins) // 60:02d}{abs(mins) % 60:02d}"']
    https = (ev.url or "").startswith("https") or ev.method == "CONNECT"
    if ev.url is not None:
        if ev.action == "allowed":
            head = 'logid="0317013312" type="utm" subtype="webfilter" eventtype="ftgd_allow" level="notice"'
            act, msg = "passthrough", "URL belongs to an allowed category in policy"
        elif ev.action == "warned":
            head = 'logid="0316013056" type="utm" subtype="webfilter" eventtype="ftgd_blk" level="warning"'
            act, msg = "blocked", "URL belongs to a category with warnings enabled"
        else:
            head = 'logid="0316013056" type="utm" subtype="webfilter" eventtype="ftgd_blk" level="warning"'
            act, msg = "blocked", "URL belongs to a denied category in policy"
        out += [head, f'vd="root" policyid=1 sessionid={session}',
                f'srcip={ev.client} srcport=51000 srcintf="port2" srcintfrole="lan"',
                f'dstip={dst} dstport={443 if https else 80} dstintf="port1" dstintfrole="wan" proto=6']
        if ev.method:
            out.append(f"httpmethod={_q(ev.method)}")
        out += [f'service="{"HTTPS" if https else "HTTP"}" hostname={_q(ev.host)} profile="students"',
                f'action="{act}" reqtype="direct" url={_q(ev.url)}']
        if ev.bytes_out is not None:
            out.append(f"sentbyte={ev.bytes_out}")
        if ev.bytes_in is not None:
            out.append(f"rcvdbyte={ev.bytes_in}")
        out += ['direction="outgoing"', f"msg={_q(msg)}", 'ratemethod="domain"']
        if ev.category is not None:
            out.append(f"cat=99 catdesc={_q(ev.category)}")
    else:
        out += ['logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root"',
                f'srcip={ev.client} srcport=51000 srcintf="port2" srcintfrole="lan"',
                f'dstip={dst} dstport=443 dstintf="port1" dstintfrole="wan"',
                f'sessionid={session} proto=6 action="{"deny" if ev.action == "blocked" else "close"}"',
                'policyid=1 policytype="policy" service="HTTPS" trandisp="snat"']
        if dst != ev.host:
            out.append(f"hostname={_q(ev.host)}")
        if ev.app_name is not None:
            out.append(f'appid=40568 app={_q(ev.app_name)} appcat="Web.Client"')
        if ev.category is not None:
            out.append(f"catdesc={_q(ev.category)}")
        out.append("duration=2")
        if ev.bytes_out is not None:
            out.append(f"sentbyte={ev.bytes_out}")
        if ev.bytes_in is not None:
            out.append(f"rcvdbyte={ev.bytes_in}")
    if ev.user:
        out.append(f'user={_q(ev.user)} group="students"')
    line = " ".join(out)
    return f"<189>{line}" if pri else line


# --------------------------------------------------------------------------- fold

class KVFolder(KernelFolder):
    """A key=value kernel's folder (FortiGate, Sophos), with this module's rules
    for what the kernel asks: hosts by `host_of`, clients by `canon_ip`
    (``%zone`` dropped)."""

    kind = "proxy"

    def __init__(self, ctx: ParseContext, kernel_type: Any) -> None:
        super().__init__(ctx, kernel_type, canonical_clients=True)

    def host(self, name: str) -> str | None:
        try:
            return host_of(name)
        except ParseError:
            return None

    def client(self, raw: str) -> str | None:
        try:
            return canon_ip(raw)
        except ParseError:
            return None


class FortiGateFolder(KVFolder):
    """`collectors._fold.FortiGateKernel`: minutes are POSIX minutes of ``eventtime``."""

    def __init__(self, ctx: ParseContext, kernel_type: Any) -> None:
        super().__init__(ctx, kernel_type)
        self.kernel.configure(ctx.upload_min_bytes, bool(ctx.options.get("session_start")))

    def _minute(self, minute: int) -> int:
        return self.bucket(minute * 60)


def make_folder(ctx: ParseContext) -> FortiGateFolder | None:
    return FortiGateFolder.compiled(ctx, "FortiGateKernel")


FORMAT = LogFormat(NAME, "proxy", "Fortinet FortiGate key=value logs (web filter, forward traffic)",
                   sniff, make_parser, make_folder, priority=40)
