"""IBM QRadar Log Event Extended Format, generic (format ``leef``).

From IBM's "Log Event Extended Format (LEEF)" guide (QRadar DSM
documentation: "LEEF event components", "Predefined LEEF event attributes",
"Custom event date format"):

    [syslog header ]LEEF:1.0|Vendor|Product|Version|EventID|key=value<TAB>key=value...
    [syslog header ]LEEF:2.0|Vendor|Product|Version|EventID|DelimiterCharacter|key=value^key=value...

The syslog header (RFC 3164 or 5424) is optional and separated from the LEEF
header by a space. LEEF 1.0 separates attributes with a tab. LEEF 2.0 adds a
header field naming the separator: one character (``^``) or its code in hex,
``0x`` or ``x`` then 1-4 hex digits (``x09`` is a tab); an empty field means a
tab. A value runs to the next separator and may hold ``=`` (URLs); LEEF has no
escapes in values. Records whose tabs a relay turned into spaces are read as
CEF-style ``key=value key=value`` (values run to the next `` key=``). Header
fields may escape a pipe as ``\\|``.

Predefined attributes used for a web event:

* ``devTime`` with ``devTimeFormat`` (a Java SimpleDateFormat pattern, e.g.
  ``MMM dd yyyy HH:mm:ss.SSS z``); without a format, epoch milliseconds (or
  seconds), the suggested ``MMM dd yyyy HH:mm:ss[.SSS][ z]`` or ISO 8601. No
  ``devTime``: the syslog header's time; neither: rejected ("no timestamp").
* client: ``src``, else ``srcPreNAT``; user: ``usrName`` (else ``suser``,
  ``accountName``, ``user``).
* host: the host of ``url`` (kept as the event URL), else the vendors'
  ``dhost`` / ``dstHost`` / ``host``, else ``dst`` (an IP literal). A record
  with none of them carries no web use: ignored.
* bytes: ``srcBytes`` (bytes the source sent: the client's upload, bytes_out)
  and ``dstBytes`` (bytes the destination sent: bytes_in).
* action: ``action`` or ``act`` (vendor words, see `collectors.mapping.vendor_action`);
  category: ``urlCategory``/``category``, else ``cat``; method: ``method``/
  ``requestMethod``/``httpMethod``; status: ``httpStatus``/``statusCode``/
  ``responseCode``/``status`` when a 3-digit code; app_name: ``appName``/
  ``application``/``cloudAppName``.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.clock import LocalClock
from collectors.errors import ParseError
from collectors.event import Event
from collectors.fold import KernelFolder
from collectors.mapping import (
    client_ip,
    count,
    guess_year,
    http_status,
    url_host,
    vendor_action,
    web_host,
    zone_of,
)
from collectors.proxy.cef import CEFFolder, StampParser, parse_extension, split_pipes
from collectors.syslog import has_syslog_header, split_syslog

NAME = "leef"
PRIORITY = 150

_START = re.compile(r"(?:^|\s)LEEF:[12](?:\.0)?\|")
_DELIM = re.compile(r"(?:0?[xX]([0-9A-Fa-f]{1,4})|([^|]?))\|")
_CACHE_MAX = 100_000


def locate(line: str) -> int:
    if line.startswith("LEEF:"):
        return 0
    i = line.find(" LEEF:")
    return i + 1 if i >= 0 else -1


def sniff(lines: Sequence[str]) -> bool:
    hits = sum(1 for ln in lines if "LEEF:" in ln and _START.search(ln))
    return hits > 0 and hits * 2 >= len(lines)


def split_record(msg: str) -> tuple[list[str], str, str]:
    """Header fields (version, vendor, product, version, event id), the
    attribute separator and the raw attributes of ``LEEF:...``."""
    parts = msg.split("|", 5)
    if len(parts) == 6 and not any("\\" in p for p in parts[:5]):
        header, rest = parts[:5], parts[5]
    else:
        header, rest = split_pipes(msg, 5, "truncated LEEF header")
    version = header[0][5:]
    if version in ("1.0", "1"):
        return header, "\t", rest
    if version not in ("2.0", "2"):
        raise ParseError("bad LEEF version")
    m = _DELIM.match(rest)
    if m is None:
        return header, "\t", rest
    if m.group(1):
        code = int(m.group(1), 16)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise ParseError("bad LEEF delimiter")
        delim = chr(code)
    else:
        delim = m.group(2) or "\t"
    return header, delim, rest[m.end():]


def parse_attributes(text: str, delim: str = "\t") -> dict[str, str]:
    """``key=value`` attributes split on ``delim``; the first ``=`` ends the key."""
    if delim not in text and delim == "\t" and " " in text:
        try:
            return parse_extension(text)  # tabs lost on the way: read as CEF-style
        except ParseError:
            raise ParseError("malformed LEEF attributes") from None
    out: dict[str, str] = {}
    for piece in text.split(delim):
        if not piece or piece.isspace():
            continue
        key, sep, value = piece.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ParseError("malformed LEEF attributes")
        out[key] = value.strip()
    return out


def render_attributes(pairs: dict[str, str], delim: str = "\t") -> str:
    return delim.join(f"{k}={v}" for k, v in pairs.items())


# ---- devTimeFormat: Java SimpleDateFormat patterns

_JAVA = re.compile(r"''|'[^']*'|([A-Za-z])\1*|[^A-Za-z']+")


def java_pattern(pattern: str) -> tuple[str, bool, bool] | None:
    """A SimpleDateFormat pattern as (strptime format, has year, zone name at
    the end); None for what strptime cannot express."""
    out: list[str] = []
    has_year = False
    zone_name = False
    tokens = [m.group(0) for m in _JAVA.finditer(pattern)]
    for tok in tokens:
        ch, n = tok[0], len(tok)
        if zone_name:
            return None  # the zone name must come last
        if tok == "''":
            out.append("'")
        elif ch == "'":
            out.append(tok[1:-1].replace("%", "%%"))
        elif not ch.isalpha():
            out.append(tok.replace("%", "%%"))
        elif ch == "y":
            out.append("%y" if n == 2 else "%Y")
            has_year = True
        elif ch == "M":
            out.append("%m" if n <= 2 else "%b" if n == 3 else "%B")
        elif ch == "d":
            out.append("%d")
        elif ch == "H":
            out.append("%H")
        elif ch == "h":
            out.append("%I")
        elif ch == "m":
            out.append("%M")
        elif ch == "s":
            out.append("%S")
        elif ch == "S":
            out.append("%f")
        elif ch == "a":
            out.append("%p")
        elif ch == "E":
            out.append("%a" if n <= 3 else "%A")
        elif ch == "D":
            out.append("%j")
        elif ch in "ZX":
            out.append("%z")
        elif ch == "z":
            zone_name = True
            if out and out[-1].endswith(" "):
                out[-1] = out[-1][:-1]
        else:
            return None
    return "".join(out), has_year, zone_name


class DevTime:
    """``devTime`` values, per ``devTimeFormat`` (patterns and stamps cached)."""

    def __init__(self, tz: dt.tzinfo, reference: float | None) -> None:
        self.tz = tz
        self.reference = reference
        self.generic = StampParser(tz, reference)
        self.formats: dict[str, Callable[[str], float] | None] = {}
        self.cache: dict[tuple[str, str], float] = {}

    def __call__(self, value: str, pattern: str | None) -> float:
        if not pattern:
            return self.generic(value)
        key = (pattern, value)
        got = self.cache.get(key)
        if got is not None:
            return got
        if pattern not in self.formats:
            conv = java_pattern(pattern)
            self.formats[pattern] = None if conv is None else self._compile(*conv)
            if len(self.formats) > 1000:
                self.formats.clear()
        fn = self.formats.get(pattern)
        try:
            if fn is None:
                raise ValueError("unsupported pattern")
            got = fn(value.strip())
            if not 0 <= got < 1e11:
                raise ValueError("out of range")
        except (ValueError, OverflowError, OSError):
            got = self.generic(value)  # a pattern that does not fit: try the usual forms
        if len(self.cache) >= _CACHE_MAX:
            self.cache.clear()
        self.cache[key] = got
        return got

    def _compile(self, fmt: str, has_year: bool, zone_name: bool) -> Callable[[str], float]:
        tz = self.tz
        has_offset = "%z" in fmt

        def parse(text: str) -> float:
            zone = tz
            if zone_name:
                text, _, name = text.rpartition(" ")
                zone = zone_of(name)
            if has_year:
                t = dt.datetime.strptime(text, fmt)
            else:
                t = dt.datetime.strptime(f"{text} 2000", f"{fmt} %Y")
            if has_offset and t.tzinfo is not None:
                zone = t.tzinfo
            if has_year:
                return t.replace(tzinfo=zone).timestamp()
            ref = self.reference if self.reference is not None else time.time()
            return guess_year(t.month, t.day, t.hour, t.minute, t.second + t.microsecond / 1e6,
                              zone, ref)

        return parse


def make_parser(ctx: ParseContext) -> LineParser:
    clock = LocalClock(ctx.tz)
    ref = ctx.reference.timestamp() if ctx.reference else None
    dev_time = DevTime(ctx.tz, ref)
    hosts: dict[str, str] = {}
    new = tuple.__new__

    def parse(line: str, lineno: int) -> Event | None:
        start = locate(line)
        if start < 0:
            raise ParseError("not a LEEF record")
        msg = line[start:] if start else line
        _header, delim, raw = split_record(msg)
        attrs = parse_attributes(raw, delim)
        get = attrs.get

        url = get("url")
        if url == "-" or url == "":
            url = None
        raw_host = url_host(url) if url else None
        if not raw_host:
            raw_host = get("dhost") or get("dstHost") or get("host") or get("dst") or get("dstPreNAT")
            if raw_host == "-":
                raw_host = None
        if not raw_host:
            return None
        host = hosts.get(raw_host)
        if host is None:
            host = web_host(url_host(raw_host) or raw_host)
            if len(hosts) >= _CACHE_MAX:
                hosts.clear()
            hosts[raw_host] = host

        when = get("devTime")
        if when:
            ts = dev_time(when, get("devTimeFormat"))
        elif start and has_syslog_header(line):
            ts = split_syslog(line, clock, ref if ref is not None else time.time()).ts
        else:
            raise ParseError("no timestamp")

        try:
            client = client_ip(get("src") or get("srcPreNAT") or "")
        except ValueError:
            raise ParseError("invalid client address") from None
        user = get("usrName") or get("suser") or get("accountName") or get("user") or ""
        if user == "-":
            user = ""
        act = get("action") or get("act")
        method = get("method") or get("requestMethod") or get("httpMethod")
        status_text = get("httpStatus") or get("statusCode") or get("responseCode") or get("status")
        status = None
        if status_text:
            try:
                status = http_status(status_text)
            except ParseError:
                status = None  # "status" is not always HTTP's
        b_in = get("dstBytes")
        b_out = get("srcBytes")
        category = get("urlCategory") or get("category") or get("cat")
        app = get("appName") or get("application") or get("cloudAppName")
        return new(Event, (ts, "proxy", client, user, host, vendor_action(act) if act else "allowed",
                           url, None, method.upper() if method and method != "-" else None, status,
                           count(b_in) if b_in else None, count(b_out) if b_out else None,
                           category if category and category != "-" else None, None,
                           app if app and app != "-" else None, (), lineno))

    return parse


def render(ev: Event, version: str = "1.0", delim: str = "\t", syslog: bool = False) -> str:
    """A LEEF line for an event (round-trip tests)."""
    pairs = {"devTime": str(round(ev.ts * 1000))}
    if ev.client:
        pairs["src"] = ev.client
    if ev.user:
        pairs["usrName"] = ev.user
    if ev.url:
        pairs["url"] = ev.url
    else:
        pairs["dhost"] = ev.host
    if ev.method:
        pairs["method"] = ev.method
    pairs["action"] = {"blocked": "blocked", "warned": "warned"}.get(ev.action, "allowed")
    if ev.category:
        pairs["cat"] = ev.category
    if ev.status is not None:
        pairs["httpStatus"] = str(ev.status)
    if ev.bytes_out is not None:
        pairs["srcBytes"] = str(ev.bytes_out)
    if ev.bytes_in is not None:
        pairs["dstBytes"] = str(ev.bytes_in)
    if ev.app_name:
        pairs["appName"] = ev.app_name
    head = f"LEEF:{version}|Sentinel|Test Gateway|1.0|web|"
    if version.startswith("2"):
        head += (f"x{ord(delim):02X}" if delim == "\t" else delim) + "|"
    line = head + render_attributes(pairs, delim)
    if syslog:
        stamp = dt.datetime.fromtimestamp(ev.ts, dt.UTC).strftime("%b %d %H:%M:%S")
        line = f"<134>{stamp} gw01 {line}"
    return line


class LEEFFolder(CEFFolder):
    """`collectors._fold.LEEFKernel`: minutes and clients as `CEFFolder` has them
    (epoch stamps; clients canonical by `mapping.client_ip`, the parser's)."""

    def __init__(self, ctx: ParseContext, kernel_type: Any) -> None:
        # CEFFolder's own __init__ configures CEF's byte option, which LEEF has not
        KernelFolder.__init__(self, ctx, kernel_type, canonical_clients=True)
        self.kernel.configure(ctx.upload_min_bytes)


def make_folder(ctx: ParseContext) -> LEEFFolder | None:
    return LEEFFolder.compiled(ctx, "LEEFKernel")


FORMAT = LogFormat(NAME, "proxy", "IBM QRadar LEEF 1.0/2.0 (generic: any appliance, bare or through syslog)",
                   sniff, make_parser, make_folder, priority=PRIORITY)
