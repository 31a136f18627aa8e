"""ArcSight Common Event Format, generic (format ``cef``).

From "Implementing ArcSight CEF" (Micro Focus, revision 25), a record is

    CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension

bare (a file written by a SIEM forwarder) or behind a syslog header
(``<134>Nov 29 10:00:00 host CEF:0|...``). In the seven header fields a pipe
is written ``\\|`` and a backslash ``\\\\``. The extension is ``key=value``
pairs separated by spaces; in a value ``=`` is written ``\\=``, a backslash
``\\\\`` and a line break ``\\n`` or ``\\r``; a value may hold spaces and runs to
the next `` key=`` (keys are letters, digits, ``_`` and ``.``; the spec has
alphanumerics only, vendors add the rest). Pipes need no escaping in the
extension. An unescaped ``=`` inside a value that is not preceded by a space
and a key (``request=https://x/?a=b``, which many vendors write) stays data.

What a web event takes from the extension (the short key or its full name):

* time: ``rt`` (deviceReceiptTime), else ``start``, else ``end``: milliseconds
  since the epoch, or ``MMM dd[ yyyy] HH:mm:ss[.SSS][ zzz]`` (the spec's
  forms; no zone: the source's zone; no year: the year that puts the stamp
  before the end of the file). Forcepoint writes ``rt`` in *seconds*: a
  number too small to be milliseconds after 1973 is taken as seconds. With
  none of them, the syslog header's time; with no header either, the record
  is rejected ("no timestamp").
* client: ``src`` (sourceAddress), else ``sourceTranslatedAddress``, else a
  ``c6aN`` labelled "Source IPv6 Address" (Check Point).
* user: ``suser`` (sourceUserName), else ``duser`` (destinationUserName).
* host: the host of ``request`` (requestUrl, the URL, kept as ``url``), else
  ``dhost`` (destinationHostName), else ``dst`` (destinationAddress, an IP
  literal), else a ``c6aN`` labelled "Destination IPv6 Address". A record
  with none of them is valid CEF but no web use: it is ignored.
* method: ``requestMethod``; status: a custom field labelled as an HTTP status
  (``cnNLabel=HTTP Status``...), else ``outcome`` when it is a 3-digit code
  (Zscaler writes the response code there).
* action: ``act`` (deviceAction): deny/denied/block/blocked/drop/reject/reset/
  prevent -> blocked; warn/caution/continue/ask/inform -> warned; anything
  else (allow/accept/permit/pass/observed/bypass/detect...) -> allowed.
* category: a custom string whose label names a category (``csNLabel=Category``,
  ``URL Category``, ``Matched Category``, ``Categories``; iboss, Check Point,
  Barracuda and Forcepoint style label/value pairs are matched generically,
  case and spaces ignored), else ``cat`` (deviceEventCategory).
* app_name: a custom string labelled "Application"/"Application Name"/
  "App Name"/"Cloud App", else ``destinationServiceName`` (Zscaler's appname).

Byte counts. The spec: ``in`` (bytesIn) is "Number of bytes transferred
inbound, relative to the source to destination relationship, meaning that
data was flowing from source to destination"; ``out`` (bytesOut) is "Number
of bytes transferred outbound relative to the source to destination
relationship. For example, the byte number of data flowing from the
destination to the source." Read literally, ``in`` is the client's upload.
The web gateways that emit CEF do the opposite: Zscaler NSS writes
``in=%d{respsize} out=%d{reqsize}``, Forcepoint ``in=%<bytesReceived>
out=%<bytesSent>`` (FortiGate and PAN-OS likewise put the received bytes in
``in``). So by default ``in`` -> bytes_in (sent to the client, download) and
``out`` -> bytes_out (sent by the client, upload); the source option
``cef_bytes = "spec"`` reads them the spec's way instead.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Sequence
from typing import Any

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.clock import MONTHS, LocalClock, iso_stamp
from collectors.errors import ParseError
from collectors.event import Event
from collectors.fold import KernelFolder
from collectors.mapping import (
    client_ip,
    count,
    epoch_number,
    guess_year,
    http_status,
    url_host,
    vendor_action,
    web_host,
    zone_of,
)
from collectors.syslog import has_syslog_header, split_syslog

NAME = "cef"
PRIORITY = 150
"""After the vendor formats: a vendor module that reads its own CEF dialect wins."""

_EXT_SPLIT = re.compile(r"[ \t]+([A-Za-z0-9_.]+)=")
_FAST_SPLIT = re.compile(r" ([\w.]++)=", re.ASCII).split
"""The same split when pairs are separated by exactly one blank (\\w is [A-Za-z0-9_] in ASCII mode)."""
_UNESCAPE = re.compile(r"\\([\\=nr])")
_UNESCAPED = {"\\": "\\", "=": "=", "n": "\n", "r": "\r"}
_START = re.compile(r"(?:^|\s)CEF:\d+\|")
_CACHE_MAX = 100_000

CATEGORY_LABELS = frozenset((
    "category", "categories", "urlcategory", "urlcategories", "urlcategoryname", "categoryname",
    "webcategory", "contentcategory", "matchedcategory", "urlcat", "sitecategory", "webfiltercategory"))
APP_LABELS = frozenset((
    "application", "applicationname", "appname", "app", "cloudapp", "cloudappname",
    "cloudapplication", "saasapplication", "applicationtype"))
STATUS_LABELS = frozenset((
    "httpstatus", "httpstatuscode", "statuscode", "responsecode", "httpresponsecode",
    "serverstatuscode", "httpresponse", "status"))
SOURCE6_LABELS = frozenset(("sourceipv6address", "sourceipv6", "srcipv6"))
DEST6_LABELS = frozenset(("destinationipv6address", "destinationipv6", "dstipv6"))


def _unescape_value(m: re.Match[str]) -> str:
    return _UNESCAPED[m.group(1)]


def parse_extension(ext: str) -> dict[str, str]:
    """The ``key=value`` pairs of a CEF extension, values unescaped.

    One regex split finds every `` key=`` (blanks, a key, ``=``); a ``\\=`` is
    never a separator because ``\\`` cannot end a key. Text before the first
    key is an error; blanks around the extension are dropped. Pairs separated
    by exactly one space (the usual case) take a faster literal split.
    """
    if "\t" not in ext and "  " not in ext:
        if ext[:1] == " " or ext[-1:] == " ":
            ext = ext.strip(" ")
        parts = _FAST_SPLIT(" " + ext) if ext else [""]
    else:
        parts = _EXT_SPLIT.split(" " + ext.rstrip(" \t"))
        if not parts[0].strip():
            parts[0] = ""
    if parts[0]:
        raise ParseError("malformed CEF extension")
    out = dict(zip(parts[1::2], parts[2::2], strict=True))
    if "\\" in ext:
        for key, value in out.items():
            if "\\" in value:
                out[key] = _UNESCAPE.sub(_unescape_value, value)
    return out


def escape_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("=", "\\=").replace("\n", "\\n").replace("\r", "\\r")


def render_extension(pairs: dict[str, str]) -> str:
    return " ".join(f"{k}={escape_value(v)}" for k, v in pairs.items())


def escape_header(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def split_record(msg: str) -> tuple[list[str], str]:
    """The seven header fields (unescaped) and the raw extension of ``CEF:...``."""
    return split_pipes(msg, 7, "truncated CEF header")


def split_pipes(msg: str, count: int, reason: str) -> tuple[list[str], str]:
    """The first ``count`` ``|``-separated fields (``\\|`` and ``\\\\`` unescaped)
    and the rest of ``msg``: the header of a CEF or LEEF record."""
    parts = msg.split("|", count)
    if len(parts) == count + 1 and not any("\\" in p for p in parts[:count]):
        return parts[:count], parts[count]
    fields: list[str] = []
    buf: list[str] = []
    i, n = 0, len(msg)
    while i < n and len(fields) < count:
        ch = msg[i]
        if ch == "\\" and i + 1 < n and msg[i + 1] in "\\|":
            buf.append(msg[i + 1])
            i += 2
            continue
        if ch == "|":
            fields.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    if len(fields) < count:
        raise ParseError(reason)
    return fields, msg[i:]


def locate(line: str) -> int:
    """Where ``CEF:`` starts (0 for a bare record); -1 when it does not."""
    if line.startswith("CEF:"):
        return 0
    i = line.find(" CEF:")
    return i + 1 if i >= 0 else -1


def sniff(lines: Sequence[str]) -> bool:
    hits = sum(1 for ln in lines if "CEF:" in ln and _START.search(ln))
    return hits > 0 and hits * 2 >= len(lines)


def _norm_label(label: str) -> str:
    return "".join(ch for ch in label.lower() if ch.isalnum())


class StampParser:
    """CEF time values: epoch numbers or ``MMM dd[ yyyy] HH:mm:ss[.SSS][ zzz]``."""

    def __init__(self, tz: dt.tzinfo, reference: float | None) -> None:
        self.tz = tz
        self.reference = reference
        self.cache: dict[str, float] = {}

    def __call__(self, value: str) -> float:
        got = self.cache.get(value)
        if got is not None:
            return got
        try:
            got = self._parse(value.strip())
        except (ValueError, KeyError, IndexError, OverflowError, OSError):
            raise ParseError("bad timestamp") from None
        if not 0 <= got < 1e11:
            raise ParseError("bad timestamp")
        if len(self.cache) >= _CACHE_MAX:
            self.cache.clear()
        self.cache[value] = got
        return got

    def _parse(self, v: str) -> float:
        if v[:1].isdigit() and (v.isdigit() or v.replace(".", "", 1).isdigit()):
            return epoch_number(v)
        if len(v) > 10 and v[4] == "-" and v[7] == "-":
            return iso_stamp(v, self.tz)
        tokens = v.split()
        month = MONTHS[tokens[0][:3].lower()]
        if len(tokens[0]) != 3 or not tokens[1].isdigit():
            raise ValueError("bad date")
        day = int(tokens[1])
        year: int | None = None
        rest = tokens[2:]
        if rest and len(rest[0]) == 4 and rest[0].isdigit():
            year = int(rest[0])
            rest = rest[1:]
        clock = rest[0]
        hh, mm, ss = clock.split(":")
        if len(hh) != 2 or len(mm) != 2 or not hh.isdigit() or not mm.isdigit():
            raise ValueError("bad time")
        sec = float(ss) if ss.replace(".", "", 1).isdigit() and ss.isascii() else -1.0
        if not 0 <= sec < 61:
            raise ValueError("bad seconds")
        tz = zone_of(" ".join(rest[1:])) if len(rest) > 1 else self.tz
        if year is None:
            ref = self.reference if self.reference is not None else time.time()
            return guess_year(month, day, int(hh), int(mm), sec, tz, ref)
        return dt.datetime(year, month, day, int(hh), int(mm), tzinfo=tz).timestamp() + sec


def make_parser(ctx: ParseContext) -> LineParser:
    clock = LocalClock(ctx.tz)
    ref = ctx.reference.timestamp() if ctx.reference else None
    stamp = StampParser(ctx.tz, ref)
    spec_bytes = str(ctx.options.get("cef_bytes") or "").lower() == "spec"
    k_in, k_out = ("out", "in") if spec_bytes else ("in", "out")
    f_in, f_out = ("bytesOut", "bytesIn") if spec_bytes else ("bytesIn", "bytesOut")
    hosts: dict[str, str] = {}
    ips: dict[str, str] = {}
    labels: dict[str, str] = {}
    new = tuple.__new__

    def parse(line: str, lineno: int) -> Event | None:
        if line.startswith("CEF:"):
            start, msg = 0, line
        else:
            start = line.find(" CEF:") + 1
            if not start:
                raise ParseError("not a CEF record")
            msg = line[start:]
        parts = msg.split("|", 7)
        if len(parts) == 8 and "\\" not in msg[: len(msg) - len(parts[7])]:
            version, raw_ext = parts[0], parts[7]
        else:
            header, raw_ext = split_record(msg)
            version = header[0]
        if not version[4:].isdigit():
            raise ParseError("bad CEF version")
        ext = parse_extension(raw_ext)
        get = ext.get

        labelled: dict[str, str] = {}
        if "Label=" in raw_ext:
            for chunk in raw_ext.split("Label=")[:-1]:
                base = chunk[max(chunk.rfind(" "), chunk.rfind("\t")) + 1 :]
                label = get(base + "Label")
                value = get(base)
                if label and value and value != "-":
                    norm = labels.get(label)
                    if norm is None:
                        norm = labels[label] = _norm_label(label) if len(labels) < 10_000 else ""
                    labelled.setdefault(norm, value)

        url = get("request") or get("requestUrl")
        if url == "-":
            url = None
        raw_host = url_host(url) if url else None
        if not raw_host:
            raw_host = (get("dhost") or get("destinationHostName") or get("dst")
                        or get("destinationAddress") or _labelled(labelled, DEST6_LABELS))
            if raw_host == "-":
                raw_host = None
            if not raw_host:
                return None  # valid CEF, but no web use
        host = hosts.get(raw_host)
        if host is None:
            host = web_host(url_host(raw_host) or raw_host)
            if len(hosts) >= _CACHE_MAX:
                hosts.clear()
            hosts[raw_host] = host

        when = get("rt") or get("deviceReceiptTime") or get("start") or get("startTime") or get("end") \
            or get("endTime")
        if when:
            if when.isdigit() and when.isascii() and len(when) <= 16:
                n = int(when)
                ts = n / 1000.0 if n >= 100_000_000_000 else float(n)
                if ts >= 1e11:
                    ts = stamp(when)  # microseconds or out of range: the careful path
            else:
                ts = stamp(when)
        elif start and has_syslog_header(line):
            ts = split_syslog(line, clock, ref if ref is not None else time.time()).ts
        else:
            raise ParseError("no timestamp")

        raw_client = get("src") or get("sourceAddress") or get("sourceTranslatedAddress") \
            or _labelled(labelled, SOURCE6_LABELS) or ""
        client = ips.get(raw_client)
        if client is None:
            try:
                client = client_ip(raw_client)
            except ValueError:
                raise ParseError("invalid client address") from None
            if len(ips) >= _CACHE_MAX:
                ips.clear()
            ips[raw_client] = client
        user = get("suser") or get("sourceUserName") or get("duser") or get("destinationUserName") or ""
        if user == "-":
            user = ""
        act = get("act") or get("deviceAction")
        method = get("requestMethod")
        outcome = get("outcome")
        if labelled:
            status = _status(labelled, outcome)
            category = _labelled(labelled, CATEGORY_LABELS) or get("cat") or get("deviceEventCategory")
            app = _labelled(labelled, APP_LABELS) or get("destinationServiceName")
        else:
            status = _status(labelled, outcome) if outcome else None
            category = get("cat") or get("deviceEventCategory")
            app = get("destinationServiceName")
        b_in = get(k_in) or get(f_in)
        b_out = get(k_out) or get(f_out)
        return new(Event, (ts, "proxy", client, user, host, vendor_action(act) if act else "allowed", url,
                           None, method.upper() if method and method != "-" else None, status,
                           (int(b_in) if b_in.isdigit() and b_in.isascii() and len(b_in) < 19
                            else count(b_in)) if b_in else None,
                           (int(b_out) if b_out.isdigit() and b_out.isascii() and len(b_out) < 19
                            else count(b_out)) if b_out else None,
                           category if category and category != "-" else None, None,
                           app if app and app != "-" else None, (), lineno))

    return parse


def _labelled(labelled: dict[str, str], names: frozenset[str]) -> str | None:
    if labelled:
        for label, value in labelled.items():
            if label in names:
                return value
    return None


def _status(labelled: dict[str, str], outcome: str | None) -> int | None:
    for label, value in labelled.items():
        if label in STATUS_LABELS:
            try:
                return http_status(value)
            except ParseError:
                pass
    if outcome and len(outcome) == 3 and outcome.isdigit() and "100" <= outcome <= "599":
        return int(outcome)
    return None


def render(ev: Event, syslog: bool = False) -> str:
    """A CEF line for an event (for round-trip tests and demos)."""
    pairs = {"rt": str(round(ev.ts * 1000))}
    if ev.client:
        pairs["src"] = ev.client
    if ev.user:
        pairs["suser"] = ev.user
    if ev.url:
        pairs["request"] = ev.url
    else:
        pairs["dhost"] = ev.host
    if ev.method:
        pairs["requestMethod"] = ev.method
    pairs["act"] = {"blocked": "blocked", "warned": "warned"}.get(ev.action, "allowed")
    if ev.category:
        pairs["cs1Label"] = "URL Category"
        pairs["cs1"] = ev.category
    if ev.status is not None:
        pairs["cn1Label"] = "HTTP Status"
        pairs["cn1"] = str(ev.status)
    if ev.bytes_in is not None:
        pairs["in"] = str(ev.bytes_in)
    if ev.bytes_out is not None:
        pairs["out"] = str(ev.bytes_out)
    if ev.app_name:
        pairs["destinationServiceName"] = ev.app_name
    line = ("CEF:0|Sentinel|Test Gateway|1.0|web|Web request|3|" + render_extension(pairs))
    if syslog:
        stamp = dt.datetime.fromtimestamp(ev.ts, dt.UTC).strftime("%b %d %H:%M:%S")
        line = f"<134>{stamp} gw01 {line}"
    return line


class CEFFolder(KernelFolder):
    """`collectors._fold.CEFKernel`: minutes are POSIX minutes of the record's
    epoch time; clients are canonical by `mapping.client_ip` (the parser's)."""

    kind = "proxy"

    def __init__(self, ctx: ParseContext, kernel_type: Any) -> None:
        super().__init__(ctx, kernel_type, canonical_clients=True)
        spec = str(ctx.options.get("cef_bytes") or "").lower() == "spec"
        self.kernel.configure(ctx.upload_min_bytes, spec)

    def _minute(self, minute: int) -> int:
        return self.bucket(minute * 60)

    def client(self, raw: str) -> str | None:
        try:
            return client_ip(raw)
        except ValueError:
            return None


def make_folder(ctx: ParseContext) -> CEFFolder | None:
    return CEFFolder.compiled(ctx, "CEFKernel")


FORMAT = LogFormat(NAME, "proxy", "ArcSight CEF (generic: any appliance, bare or through syslog)",
                   sniff, make_parser, make_folder, priority=PRIORITY)
