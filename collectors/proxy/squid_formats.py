"""Squid access.log in its Apache-style built-in formats ``common`` and ``combined``.

squid.conf.documented (``logformat``) defines them as::

    logformat common   %>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st %Ss:%Sh
    logformat combined %>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st
                       "%{Referer}>h" "%{User-Agent}>h" %Ss:%Sh

(``access_log ... common`` / ``combined``; ``emulate_httpd_log on`` in Squid 2.x
selects ``common``). A line reads::

    10.10.0.12 - s100012 [29/Nov/2026:08:03:01 -0600] "CONNECT www.blooket.com:443 HTTP/1.1"
        200 48213 "-" "Mozilla/5.0 (...)" TCP_TUNNEL:HIER_DIRECT

(each on one line; broken here for width).

* client (``%>a``, an IP address); RFC 931 ident (``%ui``, nearly always ``-``) and
  user (``%un``; ``-`` when none). Squid %-encodes the user (``%[`` encoding or
  URL encoding): it is decoded, so ``DOMAIN%5Cjdoe`` gives ``DOMAIN\\jdoe``. When
  ``%un`` is ``-`` the ident name, if any, is the user.
* ``[%tl]``: local time with its own UTC offset (``%d/%b/%Y:%H:%M:%S %z``), so
  ``ctx.tz`` is not needed.
* the request line: method, URL (``host:port`` for CONNECT), protocol/version
  (``NONE/0.0`` on transactions Squid aborted before a request: ignored, like
  method ``NONE`` and ``error:...`` URLs).
* ``%>Hs`` HTTP status (0 or ``-`` gives no status) and ``%<st`` the reply size,
  i.e. bytes sent TO the client (``bytes_in``); the formats log no request size.
* combined only: referer and user agent in quotes. The built-in writer prints
  both raw (quotes and control characters unescaped); a ``logformat`` copy of
  the definition %-encodes them; ``%"`` encoding backslash-escapes them. Their
  content is never needed, so the parser takes the last field from the right and
  a hostile user agent cannot shift the other fields.
* ``%Ss:%Sh``: the Squid result code and hierarchy code. ``TCP_DENIED`` (any code
  with DENIED) gives action ``blocked``; a 407 (a proxy-authentication challenge,
  which the browser repeats with credentials) is no event, as in the native format.
* ``log_mime_hdrs on`` appends `` [request headers] [reply headers]``: skipped.
* Lines may arrive through syslog (``access_log syslog:... combined``): the
  header is peeled off and the line's own time wins.

Both formats share one parser, which accepts either line shape (a log that
switched from common to combined parses whole); they differ in detection and
rendering.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import time
from collections.abc import Sequence
from urllib.parse import quote, unquote

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.clock import MONTHS, LocalClock
from collectors.errors import ParseError
from collectors.event import Event
from collectors.hosts import normalize_host
from collectors.proxy.squid import url_host
from collectors.syslog import has_syslog_header, split_syslog

COMMON = "squid_common"
COMBINED = "squid_combined"

_CACHE_MAX = 100_000
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_USER_SAFE = "@.-_+!$&'()*,;=:~"
"""Characters Squid leaves alone in a user name (its %-encodings leave more; these suffice to render)."""


# ---------------------------------------------------------------- detection

def _payload(line: str) -> str:
    """The message of a syslog-wrapped line (for sniffing), else the line."""
    if has_syslog_header(line):
        try:
            return split_syslog(line, LocalClock(dt.UTC), time.time()).msg
        except ParseError:
            return line
    return line


def _strip_mime(rest: str) -> str:
    """``rest`` without the `` [request headers] [reply headers]`` of ``log_mime_hdrs on``
    (Squid %-encodes brackets inside them, so the last two `` [`` start them)."""
    if rest[-1:] != "]":
        return rest
    cut = rest.rfind(" [")
    cut2 = rest.rfind(" [", 0, cut) if cut > 0 else -1
    return rest[: cut2 if cut2 >= 0 else max(cut, 0)]


def _shape(line: str) -> str | None:
    """``"common"``, ``"combined"`` or None: which Squid CLF layout a line has."""
    line = _payload(line)
    sp = line.find(" ")
    if sp < 2 or not all(c in "0123456789abcdefABCDEF.:" for c in line[:sp]):
        return None
    lb = line.find(" [", sp)
    end = lb + 28
    if lb < 0 or line[end : end + 3] != '] "':
        return None
    stamp = line[lb + 2 : end]
    if stamp[2] != "/" or stamp[6] != "/" or stamp[11] != ":" or stamp[20] != " ":
        return None
    q = line.find('" ', end + 3)
    if q < 0:
        return None
    parts = line[q + 2 :].split(" ", 2)
    if len(parts) < 3 or not parts[0].isdigit():
        return None
    rest = _strip_mime(parts[2])
    tag = rest.rsplit(" ", 1)[-1]
    code, colon, _hier = tag.partition(":")
    if not colon or "_" not in code or not code.replace("_", "").isalpha() or not code.isupper():
        return None
    if rest.startswith('"'):
        return "combined"
    return "common" if rest == tag else None


def sniff_common(lines: Sequence[str]) -> bool:
    hits = sum(1 for ln in lines if _shape(ln) == "common")
    return hits > 0 and hits * 2 >= len(lines)


def sniff_combined(lines: Sequence[str]) -> bool:
    hits = sum(1 for ln in lines if _shape(ln) == "combined")
    return hits > 0 and hits * 2 >= len(lines)


# ---------------------------------------------------------------- parsing

def _user(raw: str) -> str:
    if raw == "-" or not raw:
        return ""
    if "%" in raw:
        return unquote(raw, errors="replace")
    return raw


def make_parser(ctx: ParseContext) -> LineParser:
    minutes: dict[str, float] = {}
    seconds: dict[str, float] = {}
    clients: dict[str, str] = {}
    hosts: dict[str, str] = {}
    users: dict[str, str] = {}
    clock = LocalClock(ctx.tz)
    new = tuple.__new__

    def reference() -> float:
        return ctx.reference.timestamp() if ctx.reference else time.time()

    def stamp_ts(stamp: str) -> float:
        """``29/Nov/2026:10:00:00 -0600`` to POSIX seconds."""
        key = stamp[:17] + stamp[20:]
        base = minutes.get(key)
        if base is None:
            digits = stamp[0:2] + stamp[7:11] + stamp[12:14] + stamp[15:17] + stamp[22:26]
            if (len(stamp) != 26 or stamp[2] != "/" or stamp[6] != "/" or stamp[11] != ":"
                    or stamp[14] != ":" or stamp[17] != ":" or stamp[20] != " "
                    or stamp[21] not in "+-" or not digits.isascii() or not digits.isdigit()):
                raise ParseError("bad timestamp")
            month = MONTHS.get(stamp[3:6].lower())
            hours, mins = int(stamp[22:24]), int(stamp[24:26])
            if month is None or hours > 23 or mins > 59:
                raise ParseError("bad timestamp")
            offset = (hours * 60 + mins) * 60
            try:
                base = dt.datetime(int(stamp[7:11]), month, int(stamp[0:2]), int(stamp[12:14]),
                                   int(stamp[15:17]), tzinfo=dt.UTC).timestamp()
            except ValueError:
                raise ParseError("bad timestamp") from None
            base += offset if stamp[21] == "-" else -offset
            if len(minutes) >= _CACHE_MAX:
                minutes.clear()
            minutes[key] = base
        sec = stamp[18:20]
        if not (sec.isascii() and sec.isdigit()) or sec > "60":
            raise ParseError("bad timestamp")
        ts = base + int(sec)
        if len(seconds) >= _CACHE_MAX:
            seconds.clear()
        seconds[stamp] = ts
        return ts

    def parse(line: str, lineno: int, wrapped: bool = False) -> Event | None:
        sp = line.find(" ")
        if sp <= 0:
            raise ParseError("not a squid common/combined line")
        raw = line[:sp]
        client = clients.get(raw)
        if client is None:
            try:
                client = str(ipaddress.ip_address(raw))
            except ValueError:
                if not wrapped and has_syslog_header(line):
                    return parse(split_syslog(line, clock, reference()).msg, lineno, True)
                raise ParseError("bad client address") from None
            if len(clients) >= _CACHE_MAX:
                clients.clear()
            clients[raw] = client
        lb = line.find(" [", sp)
        if lb < 0:
            raise ParseError("no [time] field")
        ident, sep, user = line[sp + 1 : lb].partition(" ")
        if not sep:
            raise ParseError("bad user fields")
        end = lb + 28
        if line[end : end + 3] != '] "':
            raise ParseError("bad timestamp")
        stamp = line[lb + 2 : end]
        ts = seconds.get(stamp)
        if ts is None:
            ts = stamp_ts(stamp)
        q = line.find('" ', end + 3)
        if q < 0:
            raise ParseError("unterminated request line")
        request = line[end + 3 : q]
        parts = line[q + 2 :].split(" ", 2)
        if len(parts) < 2:
            raise ParseError("missing status or size")
        status_s, size_s = parts[0], parts[1]
        if status_s.isdigit() and status_s.isascii() and len(status_s) <= 3:
            status = int(status_s) or None
        elif status_s == "-":
            status = None
        else:
            raise ParseError("bad status or size")
        if size_s.isdigit() and size_s.isascii() and len(size_s) <= 20:
            size: int | None = int(size_s)
        elif size_s == "-":
            size = None
        else:
            raise ParseError("bad status or size")
        tag = ""
        if len(parts) == 3:
            rest = _strip_mime(parts[2])
            if rest and rest[-1] != '"':
                tag = rest[rest.rfind(" ") + 1 :]
        method, sep, target = request.partition(" ")
        if not sep:
            if request in ("-", ""):
                return None  # no request line
            raise ParseError("bad request line")
        url, sep, proto = target.rpartition(" ")
        if not sep or "/" not in proto or "://" in proto:
            url = target  # HTTP/0.9: no version
        if method == "NONE" or method == "-" or url.startswith("error:"):
            return None  # a transaction squid aborted before it had a request
        if not method.isupper():
            method = method.upper()
        # The host, cached by the URL up to its path (scheme://authority) or the CONNECT authority.
        key = url
        if method != "CONNECT":
            i = url.find("://")
            if i > 0:
                k = url.find("/", i + 3)
                if k > 0:
                    key = url[:k]
        host = hosts.get(key)
        if host is None:
            raw_host = None if key[:1] == "/" else url_host(key, method)
            if not raw_host:
                raise ParseError("request without a host")
            try:
                host = normalize_host(raw_host)
            except ValueError:
                raise ParseError("invalid host") from None
            if len(hosts) >= _CACHE_MAX:
                hosts.clear()
            hosts[key] = host
        if user == "-":
            user = _user(ident)
        elif "%" in user:
            decoded = users.get(user)
            if decoded is None:
                decoded = unquote(user, errors="replace")
                if len(users) >= _CACHE_MAX:
                    users.clear()
                users[user] = decoded
            user = decoded
        if status == 407 and "DENIED" in tag:
            return None  # a proxy-authentication challenge: the browser retries with credentials
        action = "blocked" if "DENIED" in tag else "allowed"
        return new(Event, (ts, "proxy", client, user, host, action, url, None, method, status, size,
                           None, None, None, None, (), lineno))

    return parse


# ---------------------------------------------------------------- rendering

def _stamp(ts: float, offset_minutes: int) -> str:
    t = dt.datetime.fromtimestamp(int(ts), dt.timezone(dt.timedelta(minutes=offset_minutes)))
    sign = "-" if offset_minutes < 0 else "+"
    off = abs(offset_minutes)
    return (f"{t.day:02d}/{_MONTH_NAMES[t.month - 1]}/{t.year:04d}:{t.hour:02d}:{t.minute:02d}:"
            f"{t.second:02d} {sign}{off // 60:02d}{off % 60:02d}")


def _tag(ev: Event) -> str:
    if ev.action == "blocked":
        return "TCP_DENIED:HIER_NONE"
    return "TCP_TUNNEL:HIER_DIRECT" if ev.method == "CONNECT" else "TCP_MISS:HIER_DIRECT"


def _head(ev: Event, offset_minutes: int) -> str:
    user = quote(ev.user, safe=_USER_SAFE) if ev.user else "-"
    if ev.user == "-":
        user = "%2D"  # a user named "-", not "no user"
    size = "-" if ev.bytes_in is None else str(ev.bytes_in)
    return (f"{ev.client} - {user} [{_stamp(ev.ts, offset_minutes)}] "
            f'"{ev.method or "GET"} {ev.url or ev.host} HTTP/1.1" {ev.status or 0:03d} {size}')


def render_common(ev: Event, offset_minutes: int = 0) -> str:
    """A ``logformat common`` line for an event (whole seconds; the stamp in the given UTC offset)."""
    return f"{_head(ev, offset_minutes)} {_tag(ev)}"


def render_combined(ev: Event, offset_minutes: int = 0, referer: str = "-",
                    user_agent: str = "-") -> str:
    """A ``logformat combined`` line; referer and user agent are written raw, as the
    built-in writer does."""
    return f'{_head(ev, offset_minutes)} "{referer or "-"}" "{user_agent or "-"}" {_tag(ev)}'


render = render_common

FORMATS = (
    LogFormat(COMMON, "proxy", "Squid access.log, logformat common (Apache CLF + %Ss:%Sh)",
              sniff_common, make_parser),
    LogFormat(COMBINED, "proxy", "Squid access.log, logformat combined (CLF + referer, user agent)",
              sniff_combined, make_parser),
)
