"""W3C Extended Log File Format: Blue Coat / Symantec ProxySG (Edge SWG) and IIS-style logs.

The format (W3C Working Draft WD-logfile) is a header block of directives, then
one record per line::

    #Software: SGOS 7.3.16.1
    #Version: 1.0
    #Date: 2026-11-29 14:00:00
    #Fields: date time time-taken c-ip cs-username ... sc-bytes cs-bytes x-virus-id
    2026-11-29 14:03:01 212 10.10.0.12 s100012 ... 5120 410 -

* The columns are whatever ``#Fields:`` lists. The parser keeps the layout in its
  closure (``header_lines=10`` replays the top of a file when a read resumes
  mid-file) and a new ``#Fields:`` mid-file (a concatenated log, a changed
  format) switches layout from that line on. ``#Software``, ``#Version``,
  ``#Start-Date``, ``#End-Date``, ``#Remark`` and other directives are ignored;
  ``#Date`` gives the date of records whose layout has a ``time`` but no ``date``.
  ``options["fields"]`` (a space-separated field list) is the layout of records
  seen before any ``#Fields:`` (ProxySG streaming records through syslog sends
  no header).
* Fields are separated by spaces (runs of them count as one: ProxySG writes two
  after an empty referer) or, when the ``#Fields:`` line uses tabs, by single
  tabs (no quoting). ProxySG quotes values holding spaces (``"Mozilla/5.0
  (...)"``, categories); inside quotes ``""`` (the W3C convention) and ``\\"``
  stand for a quote (unless that reading leaves the record unterminated or with
  the wrong number of fields: then a backslash is a plain character). ``-`` is
  an empty value. IIS writes ``+`` for the spaces of user agents and cookies (no
  quoting); those fields are not used.
* Times: ``date`` and ``time`` are UTC (the W3C draft: "All times are specified
  in GMT"; IIS and TMG document the same) unless the log says otherwise:
  Windows Firewall's ``#Time Format: Local`` directive, or IIS Advanced Logging's
  ``date-local``/``time-local`` fields, are local time in ``ctx.tz``. ``time``
  may carry fractions of a second.

Field mapping (names are case-insensitive):

===================  ===========================================================
event                fields, first present wins
===================  ===========================================================
client               ``c-ip``
user                 ``cs-username``, ``cs-userdn`` (Cloud SWG); ``-`` -> none
method               ``cs-method``, ``s-operation`` (TMG)
status               ``sc-status`` (an HTTP status; TMG's Win32 codes and 0 -> None)
bytes_in             ``sc-bytes``: appliance/server TO the client (download)
bytes_out            ``cs-bytes``: client TO the appliance/server (upload)
category             ``cs-categories``, ``cs-category``, ``sc-filter-category``
                     (as logged, ``;`` between several; ``none`` and
                     ``unavailable`` -> None)
app_name             ``x-bluecoat-application-name`` (``none`` -> None)
action               blocked when ``sc-filter-result`` is DENIED, ``s-action`` is
                     TCP_DENIED, ``x-exception-id`` is a ``*denied`` exception
                     (policy_denied, content_filter_denied) or TMG's ``action``
                     is Denied; PROXIED and OBSERVED are allowed
host                 ``cs-host``, ``cs(Host)``, ``x-cs-host`` (the Host header or
                     URL host, port dropped); else the host of an absolute
                     ``cs-uri`` / ``cs-uri-stem`` (``host:port`` for CONNECT);
                     else ``r-host``/``r-dns``, then ``cs-uri-address``/``r-ip``
                     (destination); for IIS (``#Software`` says so, or the layout
                     has ``sc-substatus``/``sc-win32-status``) last ``s-ip``, the
                     server the request went to
url                  ``cs-uri`` as logged; else rebuilt from ``cs-uri-scheme``,
                     the host field, ``cs-uri-port`` (``s-port`` for IIS; default
                     ports left out), ``cs-uri-path``/``cs-uri-stem`` and
                     ``cs-uri-query`` (ProxySG logs it with its ``?``, IIS
                     without): ``http://host/path?q``, and ``host:port`` for
                     CONNECT (scheme ``tcp``/``ssl``) as Squid logs it. With no
                     scheme the port decides (443: https, else http)
===================  ===========================================================

A record without a request (method ``unknown`` or ``-``, or neither URL nor
path: ProxySG logs a failed connection as ``unknown - - 0 / -``) is valid and
carries no event; a request with a path but no host is rejected ("request
without a host").

Records may arrive through syslog: a line that does not fit the layout and
starts with a syslog header is unwrapped (directives too).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import time
from collections.abc import Callable, Sequence
from operator import itemgetter
from urllib.parse import urlsplit

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.clock import MONTHS, LocalClock
from collectors.errors import ParseError
from collectors.event import Event
from collectors.hosts import normalize_host
from collectors.proxy.squid import url_host
from collectors.syslog import has_syslog_header, split_syslog

NAME = "w3c"
HEADER_LINES = 10

PROXYSG_FIELDS = (
    "date time time-taken c-ip cs-username cs-auth-group x-exception-id sc-filter-result cs-categories "
    "cs(Referer) sc-status s-action cs-method rs(Content-Type) cs-uri-scheme cs-host cs-uri-port "
    "cs-uri-path cs-uri-query cs-uri-extension cs(User-Agent) s-ip sc-bytes cs-bytes x-virus-id")
"""ProxySG's ``bcreportermain_v1`` (the main access log) field list."""
IIS_FIELDS = ("date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) "
              "cs(Referer) sc-status sc-substatus sc-win32-status time-taken")
"""IIS 7+'s default W3C field list (``cs-host`` is added when selected)."""

_COUNT = "field count does not match #Fields"
_CACHE_MAX = 100_000
_DEFAULT_PORTS = {"http": "80", "https": "443", "ftp": "21"}
_BLANK = frozenset(("-", ""))
_NO_CATEGORY = frozenset(("none", "unavailable", "None", "Unavailable"))
"""ProxySG's words for "no category" (uncategorized, lookup failed)."""

RecordParser = Callable[[str, int], Event | None]


# ---------------------------------------------------------------- splitting

def _words(text: str) -> list[str]:
    """Split on runs of spaces and tabs only (``str.split()`` would also cut at
    form feeds, NBSPs and other Unicode blanks a hostile value may hold)."""
    if text.isprintable():  # no blank but the space: the fast split is exact
        return text.split()
    return [w for w in text.replace("\t", " ").split(" ") if w]


def split_fields(line: str) -> list[str]:
    """Split a space-separated record, honouring double quotes."""
    if '"' not in line:
        return _words(line)
    parts = line.split('"')
    last = len(parts) - 1
    if last % 2:
        return _split_slow(line)
    words = str.split if line.isprintable() else _words
    out: list[str] = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(part)
            continue
        # Outside quotes: a quote must open or close a field, never touch text.
        if part:
            if (i and part[0] not in " \t") or (i < last and part[-1] not in " \t"):
                return _split_slow(line)
            out += words(part)
        elif 0 < i < last:
            return _split_slow(line)  # '""' (an escaped quote) or two quoted fields touching
    return out


def _split_slow(line: str) -> list[str]:
    """The general case: ``\\"`` is a quote inside the value unless that reading
    leaves a value unterminated (then a backslash is a plain character)."""
    if '\\"' in line:
        try:
            return _scan(line, True)
        except ParseError:
            pass
    return _scan(line, False)


def _other_readings(line: str, n: int) -> list[str] | None:
    """The fields of a record with ``\\"`` read both ways: the one with ``n`` fields."""
    for backslash in (False, True):
        try:
            fields = _scan(line, backslash)
        except ParseError:
            continue
        if len(fields) == n:
            return fields
    return None


def _scan(line: str, backslash: bool) -> list[str]:
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c in " \t":
            i += 1
            continue
        if c != '"':
            j = i
            while j < n and line[j] not in " \t":
                j += 1
            out.append(line[i:j])
            i = j
            continue
        buf: list[str] = []
        i += 1
        while True:
            if i >= n:
                raise ParseError("unterminated quoted field")
            c = line[i]
            if backslash and c == "\\" and line[i + 1 : i + 2] == '"':
                buf.append('"')
                i += 2
            elif c == '"':
                if i + 1 < n and line[i + 1] == '"':
                    buf.append('"')
                    i += 2
                elif i + 1 >= n or line[i + 1] in " \t":
                    i += 1
                    break
                else:
                    buf.append('"')  # a stray quote inside a value
                    i += 1
            else:
                buf.append(c)
                i += 1
        out.append("".join(buf))
    return out


# ---------------------------------------------------------------- detection

def _directive_name(line: str) -> str:
    """``fields`` for ``#Fields: ...`` (also ``# Fields:``), '' for anything else."""
    if not line.startswith("#"):
        return ""
    name, colon, _ = line[1:].lstrip(" ").partition(":")
    key = name.strip()
    return key.lower() if colon and key.replace("-", "").isalpha() else ""


def sniff(lines: Sequence[str]) -> bool:
    for line in lines:
        s = line.lstrip("\ufeff")
        if _directive_name(s) == "fields":
            return True
        if "#Fields:" in s and has_syslog_header(s):
            try:
                msg = split_syslog(s, LocalClock(dt.UTC), time.time()).msg
            except ParseError:
                continue
            if _directive_name(msg) == "fields":
                return True
    return False


# ---------------------------------------------------------------- parsing

def _header_date(value: str) -> str:
    """The date of a ``#Date:`` directive as YYYY-MM-DD (``2026-11-29 14:00:00``
    as IIS writes it, or the draft's ``12-Jan-1996 00:00:00``)."""
    day = value.strip().split(" ", 1)[0]
    if len(day) == 10 and day[4] == "-" and day[7] == "-":
        return day
    bits = day.split("-")
    if (len(bits) == 3 and bits[1].lower() in MONTHS and bits[0].isdigit() and bits[2].isdigit()
            and len(bits[0]) <= 2 and len(bits[2]) == 4):
        return f"{int(bits[2]):04d}-{MONTHS[bits[1].lower()]:02d}-{int(bits[0]):02d}"
    raise ParseError("bad #Date directive")


def _authority_has_port(auth: str) -> bool:
    if auth.startswith("["):
        return "]:" in auth
    return auth.count(":") == 1


def build_url(scheme: str, authority: str, port: str, path: str, query: str, method: str | None) -> str:
    """A URL from ProxySG's / IIS's split fields (see the module docstring)."""
    colon = ":" in authority
    if colon and not authority.startswith("[") and authority.count(":") > 1:
        authority = f"[{authority}]"  # a bare IPv6 literal
    if port == "-" or not port or (colon and _authority_has_port(authority)):
        port = ""
    if method == "CONNECT" or (scheme in ("tcp", "ssl") and path in ("-", "", "/")):
        return f"{authority}:{port}" if port else authority
    if scheme == "-" or not scheme:
        scheme = "https" if port == "443" else "http"
    if port and port != _DEFAULT_PORTS.get(scheme) and port != _DEFAULT_PORTS.get(scheme.lower()):
        authority = f"{authority}:{port}"
    if path == "-" or not path:
        path = "/"
    if query == "-" or not query:
        return f"{scheme}://{authority}{path}"
    if query[0] != "?":
        query = "?" + query
    return f"{scheme}://{authority}{path}{query}"


class _State:
    def __init__(self) -> None:
        self.fields: tuple[str, ...] | None = None
        self.tab = False
        self.date = ""
        self.iis = False
        self.local = False
        self.record: RecordParser | None = None


def make_parser(ctx: ParseContext) -> LineParser:
    state = _State()
    clock = LocalClock(ctx.tz)
    clients: dict[str, str] = {}
    hosts: dict[str, str] = {}

    def reference() -> float:
        return ctx.reference.timestamp() if ctx.reference else time.time()

    def compile_layout() -> None:
        fields = state.fields
        state.record = None if fields is None else _compile(
            fields, state.tab, state.date, state.iis, ctx.tz, state.local, clients, hosts)

    preset = str(ctx.options.get("fields") or "").split()
    if preset:
        state.fields = tuple(f.lower() for f in preset)
        compile_layout()

    def directive(line: str) -> None:
        name, _, value = line[1:].lstrip(" ").partition(":")
        key = name.strip().lower()
        if key == "fields":
            body = value.strip(" \r\n")
            tab = "\t" in body
            names = [f.strip().lower() for f in (body.split("\t") if tab else body.split())]
            names = [f for f in names if f]
            if not names:
                raise ParseError("empty #Fields directive")
            state.fields, state.tab = tuple(names), tab
            compile_layout()
        elif key == "date":
            state.date = _header_date(value)
            compile_layout()
        elif key == "software":
            # A new log's header block: what the previous one said no longer holds.
            state.iis = "internet information services" in value.lower()
            state.local, state.date = False, ""
            compile_layout()
        elif key == "time format":  # Windows Firewall's "#Time Format: Local"
            state.local = value.strip().lower() == "local"
            compile_layout()

    def parse(line: str, lineno: int) -> Event | None:
        if line[:1] == "\ufeff":
            line = line[1:]
        if line[:1] == "#":
            directive(line)
            return None
        record = state.record
        if record is not None:
            try:
                return record(line, lineno)
            except ParseError as exc:
                if exc.reason != _COUNT or not has_syslog_header(line):
                    raise
        elif not has_syslog_header(line):
            raise ParseError("record before any #Fields directive")
        msg = split_syslog(line, clock, reference()).msg
        if msg[:1] == "#":
            directive(msg)
            return None
        record = state.record
        if record is None:
            raise ParseError("record before any #Fields directive")
        return record(msg, lineno)

    return parse


def _compile(fields: tuple[str, ...], tab: bool, header_date: str, iis: bool, tz: dt.tzinfo, local: bool,
             clients: dict[str, str], hosts: dict[str, str]) -> RecordParser:
    """The record parser of one layout: column indices bound once.

    A record's fields get a ``-`` appended, and every column the layout lacks
    reads that slot (index -1), so one ``itemgetter`` fetches them all."""
    n = len(fields)
    first: dict[str, int] = {}
    for i, name in enumerate(fields):
        first.setdefault(name, i)

    def col(*names: str) -> int:
        for name in names:
            if name in first:
                return first[name]
        return -1

    i_date, i_time = col("date"), col("time")
    zone = tz if local else dt.UTC  # ``date``/``time``: UTC unless a directive says local
    if i_time < 0 and col("time-local") >= 0:
        i_date, i_time, zone = col("date-local"), col("time-local"), tz
    no_date = i_date < 0
    no_time = i_time < 0
    iis = iis or col("sc-substatus", "sc-win32-status") >= 0
    fetch = itemgetter(
        i_date, i_time, col("c-ip"), col("cs-username", "cs-userdn"), col("cs-method", "s-operation"),
        col("cs-host", "cs(host)", "x-cs-host"), col("cs-uri"), col("cs-uri-path", "cs-uri-stem"),
        col("cs-uri-query"), col("cs-uri-scheme"), col("cs-uri-port", "s-port"), col("sc-status"),
        col("sc-bytes"), col("cs-bytes"), col("cs-categories", "cs-category", "sc-filter-category"),
        col("x-bluecoat-application-name"))
    verdicts = tuple(i for i in (col("sc-filter-result"), col("s-action"), col("x-exception-id"),
                                 col("action")) if i >= 0)
    fallbacks = tuple(i for i in (col("r-host", "r-dns"), col("cs-uri-address", "r-ip"),
                                  col("s-ip") if iis else -1) if i >= 0)
    split = split_fields
    new = tuple.__new__
    seconds: dict[str, float] = {}
    minutes: dict[str, int] = {}

    def stamp(day: str, clock: str) -> float:
        key = day + clock[:5]
        base = minutes.get(key)
        if base is None:
            digits = day[:4] + day[5:7] + day[8:10] + clock[:2] + clock[3:5]
            if (len(day) != 10 or day[4] != "-" or day[7] != "-" or clock[2:3] != ":"
                    or len(digits) != 12 or not digits.isascii() or not digits.isdigit()):
                raise ParseError("bad timestamp")
            try:
                base = int(dt.datetime(int(day[:4]), int(day[5:7]), int(day[8:10]), int(clock[:2]),
                                       int(clock[3:5]), tzinfo=zone).timestamp())
            except (ValueError, OverflowError):
                raise ParseError("bad timestamp") from None
            if len(minutes) >= _CACHE_MAX:
                minutes.clear()
            minutes[key] = base
        rest = clock[5:]
        if not rest:
            return float(base)
        sec = rest[1:3]
        if (rest[0] != ":" or len(rest) < 3 or not (sec.isascii() and sec.isdigit())
                or sec > "60"):
            raise ParseError("bad timestamp")
        if len(rest) == 3:
            return float(base + int(sec))
        frac = rest[4:]
        if rest[3] != "." or not frac or not (frac.isascii() and frac.isdigit()):
            raise ParseError("bad timestamp")
        if len(frac) <= 3:
            return ((base + int(sec)) * 1000 + int(frac.ljust(3, "0"))) / 1000
        return base + int(sec) + float("0." + frac[:9])

    def record(line: str, lineno: int) -> Event | None:
        t = line.split("\t") if tab else split(line)
        if len(t) != n:
            other = None if tab or '\\"' not in line else _other_readings(line, n)
            if other is None:
                raise ParseError(_COUNT)
            t = other
        if no_time:
            raise ParseError("no time field in #Fields")
        t.append("-")
        (day, clock, raw, user, verb, host_field, uri, path, query, scheme, port, code, sent, rcvd,
         category, app) = fetch(t)
        if no_date:
            day = header_date
            if not day:
                raise ParseError("record without a date")
        ts = seconds.get(day + clock)
        if ts is None:
            if day == "-":
                raise ParseError("record without a date")
            ts = stamp(day, clock)
            if len(seconds) >= _CACHE_MAX:
                seconds.clear()
            seconds[day + clock] = ts

        client = clients.get(raw)
        if client is None:
            if raw == "-" or not raw:
                client = ""
            else:
                try:
                    client = str(ipaddress.ip_address(raw))
                except ValueError:
                    raise ParseError("bad client address") from None
            if len(clients) >= _CACHE_MAX:
                clients.clear()
            clients[raw] = client

        method = None if verb == "-" or not verb else verb if verb.isupper() else verb.upper()

        # Where the request went.
        url: str | None = None
        raw_host: str | None = None
        authority = ""
        if uri != "-" and uri:
            url = uri
            if "://" in uri or method == "CONNECT":
                raw_host = url_host(uri, method or "")
        elif "://" in path:
            url = path if query in _BLANK else (
                path + query if query.startswith("?") else f"{path}?{query}")
            raw_host = url_host(path, method or "")
        if host_field != "-" and host_field:
            authority = raw_host = host_field
        elif raw_host is None:
            for i in fallbacks:
                if t[i] != "-" and t[i]:
                    authority = raw_host = t[i]
                    break
        if not raw_host:
            if method is None or method == "UNKNOWN" or (uri in _BLANK and path in _BLANK):
                return None  # no request: a failed connection, a refused handshake
            raise ParseError("request without a host")
        host = hosts.get(raw_host)
        if host is None:
            # A host field or fallback may carry a port; a URL's host came without.
            bare = url_host(raw_host, "CONNECT") if raw_host is authority else raw_host
            try:
                host = normalize_host(bare or "")
            except ValueError:
                raise ParseError("invalid host") from None
            if len(hosts) >= _CACHE_MAX:
                hosts.clear()
            hosts[raw_host] = host
        if url is None and authority:
            url = build_url(scheme, authority, port, path, query, method)

        if user == "-":
            user = ""
        status: int | None = None
        if code != "-":
            if code.isdigit() and code.isascii():
                if len(code) == 3:
                    status = int(code) or None  # longer: TMG's Win32 codes, not HTTP
            elif code:
                raise ParseError("bad status")
        if sent == "-" or not sent:
            bytes_in = None
        elif sent.isdigit() and sent.isascii() and len(sent) <= 20:
            bytes_in = int(sent)
        else:
            raise ParseError("bad byte count")
        if rcvd == "-" or not rcvd:
            bytes_out = None
        elif rcvd.isdigit() and rcvd.isascii() and len(rcvd) <= 20:
            bytes_out = int(rcvd)
        else:
            raise ParseError("bad byte count")
        if category == "-" or not category or category in _NO_CATEGORY:
            category = None
        if app == "-" or not app or app.lower() == "none":
            app = None
        action = "allowed"
        for i in verdicts:
            v = t[i]
            if "ENIED" in v or "enied" in v:  # DENIED, TCP_DENIED, policy_denied, Denied
                action = "blocked"
                break
        return new(Event, (ts, "proxy", client, user, host, action, url, None, method, status,
                           bytes_in, bytes_out, category, None, app, (), lineno))

    return record


# ---------------------------------------------------------------- rendering

def _quoted(value: str) -> str:
    if not value:
        return "-"
    if any(c in value for c in ' \t"'):
        return '"' + value.replace('"', '""') + '"'
    return value


def header(style: str = "proxysg", ts: float = 1795960800.0) -> list[str]:
    """The header block a ProxySG (``"proxysg"``) or IIS (``"iis"``) log starts with."""
    day = dt.datetime.fromtimestamp(int(ts), dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    if style == "iis":
        return ["#Software: Microsoft Internet Information Services 10.0", "#Version: 1.0",
                f"#Date: {day}", f"#Fields: {IIS_FIELDS} cs-host sc-bytes cs-bytes"]
    return ["#Software: SGOS 7.3.16.1 (ProxySG)", "#Version: 1.0", f"#Start-Date: {day}",
            f"#Date: {day}", f"#Fields: {PROXYSG_FIELDS}",
            '#Remark: 4915100001 "sg-district-1" "10.0.0.5" "main"']


def _when(ts: float) -> tuple[str, str]:
    whole = int(ts // 1)
    ms = round((ts - whole) * 1000)
    if ms == 1000:
        whole, ms = whole + 1, 0
    t = dt.datetime.fromtimestamp(whole, dt.UTC)
    clock = t.strftime("%H:%M:%S") + (f".{ms:03d}" if ms else "")
    return t.strftime("%Y-%m-%d"), clock


def render(ev: Event, style: str = "proxysg", user_agent: str = "Mozilla/5.0 (Windows NT 10.0)") -> str:
    """A record for the layout of `header` (whole milliseconds)."""
    day, clock = _when(ev.ts)
    url = ev.url or f"http://{ev.host}/"
    method = ev.method or "-"
    if method == "CONNECT":
        auth, _, port = url.rpartition(":")
        scheme, path, query = "tcp", "/", "-"
        host = auth or url
    else:
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.netloc
        port = str(parts.port or _DEFAULT_PORTS.get(scheme, "80"))
        host = host.rsplit(":", 1)[0] if _authority_has_port(host) else host
        path = parts.path or "/"
        query = "?" + parts.query if parts.query else "-"
    status = str(ev.status) if ev.status else "-"
    sent = "-" if ev.bytes_in is None else str(ev.bytes_in)
    rcvd = "-" if ev.bytes_out is None else str(ev.bytes_out)
    if style == "iis":
        agent = user_agent.replace(" ", "+") or "-"
        q = "-" if query == "-" else query[1:]
        return " ".join((day, clock, "10.0.0.80", method, path, q, port, ev.user or "-",
                         ev.client or "-", agent, "-", status, "0", "0", "15", host, sent, rcvd))
    blocked = ev.action == "blocked"
    action = "TCP_DENIED" if blocked else "TCP_TUNNELED" if method == "CONNECT" else "TCP_NC_MISS"
    ext = path.rsplit(".", 1)[1] if "." in path.rsplit("/", 1)[-1] else "-"
    return " ".join((day, clock, "15", ev.client or "-", _quoted(ev.user), "-",
                     "policy_denied" if blocked else "-", "DENIED" if blocked else "OBSERVED",
                     _quoted(ev.category or ""), "-", status, action, method, "text/html", scheme,
                     host, port, path, query, _quoted(ext), _quoted(user_agent), "10.0.0.5", sent,
                     rcvd, "-"))


FORMAT = LogFormat(NAME, "proxy", "W3C extended log (Blue Coat/Symantec ProxySG, IIS, TMG)", sniff,
                   make_parser, header_lines=HEADER_LINES)
