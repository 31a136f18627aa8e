"""Windows DNS Server: the debug log (dns.log) and Analytical events (JSON, CSV).

Three formats:

``windns_debug`` -- "Log packets for debugging" (``dns.log``). A header block
(``DNS Server log file creation at ...``, ``Log file wrap at ...``, the
``Message logging key`` legend, tab-indented) is followed by one line per
packet::

    DATE TIME [AM|PM] THREAD PACKET  [PKTID] UDP|TCP Rcv|Snd REMOTE-IP XID [R] OPCODE
        [FLAGSHEX FLAGCHARS RCODE] QTYPE (7)example(3)com(0)          (one line)

* DATE/TIME are written in the server's locale and zone: ``11/29/2026`` with
  ``1:05:03 PM`` (en-US), ``29/11/2026 13:05:03`` (en-GB), ``29.11.2026``,
  ``2026/11/29`` (ja-JP), ``20261129`` (Server 2003). An ambiguous day/month
  order follows ``ctx.options["date_order"]`` ("MDY", "DMY" or "YMD") when
  set; otherwise the first unambiguous date seen (a day above 12, also in the
  header) decides, and ``/`` dates default to month first, ``.``/``-`` dates
  to day first.
* Only a received standard query (``Rcv``, no ``R`` flag, opcode ``Q``) is an
  event: its client is the remote IP. Sent packets, responses, notify/update
  packets, ``EVENT`` and ``Note:`` lines and the "Details" packet dumps (the
  ``UDP question info at ...`` line and the indented lines after it) are
  valid lines without an event.
* The question name is length-prefixed (``(3)www(6)google(3)com(0)``, lengths
  in bytes); some tools rewrite it dotted (``.www.google.com.``): both read.

``windns_analytic_json`` -- Microsoft-Windows-DNSServer/Analytical ETW events
as JSON: one object per line (Elastic Agent/winlogbeat ``winlog.event_data``,
PowerShell ``Get-WinEvent | ConvertTo-Json -Compress`` with ``Id``,
``TimeCreated`` and ``Message``, ``Event.System``/``Event.EventData`` from an
XML-to-JSON conversion, NXLog's flat objects) or a whole JSON document (an
array, ``{"events": [...]}``, concatenated pretty-printed objects, UTF-16 as
Windows PowerShell 5.1 writes it), which `read_json_records` handles.

``windns_analytic_csv`` -- the same events as CSV with a header row naming the
columns (``Export-Csv`` of ``Get-WinEvent`` objects: ``Id``, ``TimeCreated``,
``Message``; or flattened ``QNAME``/``QTYPE``/``Source`` columns; or a SIEM
export with ``dns.question.name``/``source.ip``/``event.code``).

In both event forms, only QUERY_RECEIVED (event 256, and 286 from the newer
manifest) is a client query: its ``Source`` is the client, ``QNAME`` the name
and ``QTYPE`` the numeric type. Responses (257/258), ignored queries (259,
logged after the 256 of the same query), recursion (260-262: the server's own
queries upstream), zone transfers, updates, internal lookups and the Audit
channel (512+) are valid records without an event.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import ipaddress
import json
import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dns.rdatatype

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.clock import iso_stamp
from collectors.errors import ParseError
from collectors.event import Event
from collectors.hosts import normalize_host

DEBUG = "windns_debug"
JSON = "windns_analytic_json"
CSV = "windns_analytic_csv"

QUERY_RECEIVED = frozenset((256, 286))
"""Analytical event IDs of a query received from a client."""

EVENT_NAMES = {
    "QUERY_RECEIVED": 256, "RESPONSE_SUCCESS": 257, "RESPONSE_FAILURE": 258,
    "IGNORED_QUERY": 259, "RECURSE_QUERY_OUT": 260, "RECURSE_RESPONSE_IN": 261,
    "RECURSE_QUERY_TIMEOUT": 262, "DYN_UPDATE_RECV": 263, "DYN_UPDATE_RESPONSE": 264,
    "IXFR_REQ_OUT": 265, "IXFR_REQ_RECV": 266, "IXFR_RESP_OUT": 267, "IXFR_RESP_RECV": 268,
    "AXFR_REQ_OUT": 269, "AXFR_REQ_RECV": 270, "AXFR_RESP_OUT": 271, "AXFR_RESP_RECV": 272,
    "XFR_NOTIFY_RECV": 273, "XFR_NOTIFY_OUT": 274, "XFR_NOTIFY_ACK_IN": 275,
    "XFR_NOTIFY_ACK_OUT": 276, "DYN_UPDATE_FORWARD": 277, "DYN_UPDATE_RESPONSE_IN": 278,
    "INTERNAL_LOOKUP_CNAME": 279, "INTERNAL_LOOKUP_ADDITIONAL": 280,
    "RRL_TO_BE_DROPPED_RESPONSE": 281, "RRL_TO_BE_TRUNCATED_RESPONSE": 282,
    "RRL_TO_BE_LEAKED_RESPONSE": 283,
}
"""The keyword names that start an Analytical event's message (``QUERY_RECEIVED: TCP=0; ...``)."""

_CACHE_MAX = 100_000
_MAX_TS = 253_402_300_799.0  # 9999-12-31T23:59:59Z


# ---------------------------------------------------------------------------
# Shared pieces: locale stamps, names, types, addresses


class _Dates:
    """Local date/time text in the server's locale to POSIX seconds, cached per second."""

    def __init__(self, ctx: ParseContext) -> None:
        raw = str(ctx.options.get("date_order") or "").lower()
        order = raw.replace("/", "").replace("-", "").replace(".", "").replace(" ", "")
        if order not in ("", "mdy", "dmy", "ymd"):
            raise ValueError(f"date_order must be MDY, DMY or YMD, not {raw!r}")
        self.fixed = order or None
        self.latched: str | None = None
        self.tz = ctx.tz
        self.days: dict[str, tuple[int, int, int]] = {}
        self.minutes: dict[str, float] = {}
        self.seconds: dict[str, float] = {}

    def ymd(self, date: str) -> tuple[int, int, int]:
        got = self.days.get(date)
        if got is None:
            got = self._ymd(date)
            if len(self.days) >= 10_000:
                self.days.clear()
            self.days[date] = got
        return got

    def _ymd(self, date: str) -> tuple[int, int, int]:
        if not date.isascii():
            raise ValueError("bad date")
        if len(date) == 8 and date.isdigit():
            return int(date[:4]), int(date[4:6]), int(date[6:])
        for sep in "/.-":
            if sep in date:
                break
        else:
            raise ValueError("bad date")
        parts = (date[:-1] if date.endswith(".") else date).split(sep)
        if len(parts) != 3 or not all(p.isdigit() and len(p) <= 4 for p in parts):
            raise ValueError("bad date")
        if len(parts[0]) == 4:
            return int(parts[0]), int(parts[1]), int(parts[2])
        if len(parts[2]) == 4:
            year = int(parts[2])
        elif len(parts[2]) == 2:
            year = 2000 + int(parts[2])
        else:
            raise ValueError("bad date")
        a, b = int(parts[0]), int(parts[1])
        order = self.fixed
        if order is None:
            if a > 12 >= b:
                order = self._latch("dmy")
            elif b > 12 >= a:
                order = self._latch("mdy")
            else:
                order = self.latched or ("mdy" if sep == "/" else "dmy")
        if order == "mdy":
            return year, a, b
        if order == "dmy":
            return year, b, a
        raise ValueError("date does not match date_order")

    def _latch(self, order: str) -> str:
        if self.latched != order:
            self.latched = order
            self.days.clear()
            self.minutes.clear()
            self.seconds.clear()
        return order

    def learn(self, date: str) -> None:
        """Let a date in a header line settle the day/month order, if it can."""
        with contextlib.suppress(ValueError, IndexError):
            self.ymd(date)

    def stamp(self, text: str) -> float:
        """``11/29/2026 1:05:03 PM``, ``29.11.2026 13:05:03``, ``2026/11/29 13:05:03.250``."""
        got = self.seconds.get(text)
        if got is not None:
            return got
        c = text.rfind(":")
        sec = text[c + 1 : c + 3]
        key = ""
        if c > 0 and len(sec) == 2 and sec.isascii() and sec.isdigit() and text[c + 3 : c + 4] in ("", " "):
            key = text[:c] + text[c + 3 :]  # the minute: "11/29/2026 1:05 PM"
            base = self.minutes.get(key)
            if base is not None:
                s = int(sec)
                if s > 60:
                    raise ValueError("bad time")
                got = base + s
        if got is None:
            base, s, frac = self._parse(text)
            if frac:
                return base + s + float("0." + frac)
            if key:
                if len(self.minutes) >= _CACHE_MAX:
                    self.minutes.clear()
                self.minutes[key] = base
            got = base + s
        if len(self.seconds) >= _CACHE_MAX:
            self.seconds.clear()
        self.seconds[text] = got
        return got

    def _parse(self, text: str) -> tuple[float, int, str]:
        """The start of the minute, the seconds and the fraction digits of a stamp."""
        toks = text.replace(",", " ").split()
        if len(toks) == 2:
            date, tm = toks
            ampm = ""
        elif len(toks) == 3:
            date, tm, ampm = toks
        else:
            raise ValueError("bad timestamp")
        y, mo, d = self.ymd(date)
        frac = ""
        if ":" in tm:
            hms = tm.split(":")
            if len(hms) == 3 and "." in hms[2]:
                hms[2], frac = hms[2].split(".", 1)
        else:
            hms = tm.split(".")  # fi-FI, da-DK: 13.05.03
        if len(hms) != 3 or not all(p.isascii() and p.isdigit() and len(p) <= 2 for p in hms):
            raise ValueError("bad time")
        if frac and not (frac.isascii() and frac.isdigit()):
            raise ValueError("bad time")
        h, mi, s = int(hms[0]), int(hms[1]), int(hms[2])
        if ampm:
            mark = ampm.upper().replace(".", "")
            if mark not in ("AM", "PM") or not 1 <= h <= 12:
                raise ValueError("bad time")
            h = h % 12 + (12 if mark == "PM" else 0)
        if h > 23 or mi > 59 or s > 60:
            raise ValueError("bad time")
        return dt.datetime(y, mo, d, h, mi, tzinfo=self.tz).timestamp(), s, frac


_QTYPES: dict[str, str] = {"ALL": "ANY"}


def _qtype(raw: object) -> str:
    """A query type mnemonic from a number (``28``) or a mnemonic (``aaaa``)."""
    key = str(raw).strip() if isinstance(raw, (str, int)) and not isinstance(raw, bool) else None
    if not key:
        raise ParseError("bad query type")
    got = _QTYPES.get(key)
    if got is None:
        if key.isascii() and key.isdigit():
            num = int(key)
            if num > 65535:
                raise ParseError("bad query type")
            got = dns.rdatatype.to_text(dns.rdatatype.RdataType.make(num))
        elif key.isascii() and key.replace("-", "").isalnum() and len(key) <= 16:
            got = key.upper()
        else:
            raise ParseError("bad query type")
        if len(_QTYPES) < 10_000:
            _QTYPES[key] = got
    return got


_CLIENTS: dict[str, str] = {}


def _client(raw: object) -> str:
    """A client address as text, canonical (IPv6 compressed, lower case)."""
    if not isinstance(raw, str):
        raise ParseError("bad client address")
    got = _CLIENTS.get(raw)
    if got is None:
        try:
            got = str(ipaddress.ip_address(raw.strip().split("%", 1)[0]))
        except ValueError:
            raise ParseError("bad client address") from None
        if len(_CLIENTS) >= _CACHE_MAX:
            _CLIENTS.clear()
        _CLIENTS[raw] = got
    return got


def _host(name: str) -> str:
    """A QNAME as logged by the Analytical events (``google.es.``)."""
    text = name.strip()
    if text == ".":
        return "."
    try:
        return normalize_host(text)
    except ValueError as exc:
        raise ParseError("invalid query name") from exc


def _labels(raw: str) -> list[str]:
    """Decode ``(7)example(3)com(0)``: each ``(n)`` is followed by n bytes."""
    b = raw.encode("utf-8", "surrogatepass")
    n = len(b)
    out: list[str] = []
    i = 0
    while True:
        if i >= n or b[i] != 0x28:
            raise ValueError("label without a length")
        j = b.find(b")", i + 1)
        digits = b[i + 1 : j]
        if j < 0 or not digits.isdigit() or len(digits) > 3:
            raise ValueError("bad label length")
        ln = int(digits)
        if ln == 0:
            if j + 1 != n:
                raise ValueError("data after the root label")
            return out
        label = b[j + 1 : j + 1 + ln]
        if len(label) != ln or ln > 63:
            raise ValueError("label shorter than its length")
        out.append(label.decode("utf-8"))
        i = j + 1 + ln


def _debug_name(raw: str) -> str:
    if raw[:1] == "(":
        try:
            labels = _labels(raw)
        except (ValueError, UnicodeError):
            raise ParseError("invalid query name") from None
        if not labels:
            return "."
        text = ".".join(labels)
    else:
        text = raw.strip(".")
        if not text:
            return "."
    try:
        return normalize_host(text)
    except ValueError as exc:
        raise ParseError("invalid query name") from exc


def encode_name(host: str) -> str:
    """``example.com`` as the debug log writes it: ``(7)example(3)com(0)``."""
    if host in ("", "."):
        return "(0)"
    return "".join(f"({len(label.encode())}){label}" for label in host.split(".")) + "(0)"


def _when(value: object, dates: _Dates, tz: dt.tzinfo) -> float:
    """An event time: ISO 8601, ``/Date(ms)/``, epoch seconds or ms, or locale text."""
    if isinstance(value, dict):
        attrs = value.get("#attributes")
        inner = value.get("SystemTime") or value.get("@SystemTime") or value.get("systemTime")
        if inner is None and isinstance(attrs, dict):
            inner = attrs.get("SystemTime")
        value = inner
    if isinstance(value, bool) or value is None:
        raise ParseError("no timestamp")
    try:
        if isinstance(value, (int, float)):
            ts = float(value)
            if ts > 1e11:
                ts /= 1000.0
        elif isinstance(value, str):
            s = value.strip()
            if s.startswith("/Date(") or s.startswith("\\/Date("):
                body = s[s.index("(") + 1 :]
                end = 1
                while end < len(body) and body[end].isdigit():
                    end += 1
                ts = int(body[:end]) / 1000.0
            elif len(s) >= 10 and s[4] == "-" and s[:4].isdigit():
                ts = iso_stamp(s, tz)
            elif s.replace(".", "", 1).isdigit() and s.isascii() and len(s) >= 9:
                ts = float(s)
                if ts > 1e11:
                    ts /= 1000.0
            else:
                ts = dates.stamp(s)
        else:
            raise ParseError("no timestamp")
    except (ValueError, OverflowError, IndexError):
        raise ParseError("bad timestamp") from None
    if not (0.0 <= ts <= _MAX_TS) or math.isnan(ts):
        raise ParseError("bad timestamp")
    return ts


def _new_event(ts: float, client: str, host: str, qtype: str | None, lineno: int) -> Event:
    return tuple.__new__(Event, (ts, "dns", client, "", host, "allowed", None, qtype, None, None,
                                 None, None, None, None, None, (), lineno))


# ---------------------------------------------------------------------------
# windns_debug


_HEADER_STARTS = ("DNS Server log file creation at", "Log file wrap at", "Message logging key",
                  "Note:", "NOTE:")
_PROTOS = ("UDP", "TCP")


def sniff_debug(lines: Sequence[str]) -> bool:
    hits = 0
    for ln in lines:
        if ln.startswith(("DNS Server log file creation at", "Message logging key (for packets")):
            return True
        if " PACKET " in ln and "[" in ln and "]" in ln and (" Rcv " in ln or " Snd " in ln):
            hits += 1
    return hits > 0 and hits * 2 >= len(lines)


def make_debug_parser(ctx: ParseContext) -> LineParser:
    dates = _Dates(ctx)
    seconds = dates.seconds
    stamp = dates.stamp
    names: dict[str, str] = {}
    clients = _CLIENTS
    qtypes = _QTYPES
    new = tuple.__new__

    def when(text: str) -> float:
        got = seconds.get(text)
        if got is not None:
            return got
        try:
            return stamp(text)
        except (ValueError, OverflowError, IndexError):
            raise ParseError("bad timestamp") from None

    def parse(line: str, lineno: int) -> Event | None:
        i = line.find(" PACKET ")
        if i < 0:
            return other(line)
        text, _, thread = line[:i].rstrip().rpartition(" ")
        ts = seconds.get(text)
        if ts is None:
            ts = when(text)
        lb = line.find("[", i)
        rb = line.find("]", lb + 1)
        if lb < 0 or rb < 0:
            raise ParseError("truncated packet line")
        pre = line[i + 8 : lb].split()
        if len(pre) < 5 or not thread:
            raise ParseError("bad packet fields")
        k = 0 if pre[0] in _PROTOS else 1
        if pre[k] not in _PROTOS:
            raise ParseError("bad packet fields")
        flags = pre[k + 4 :]
        direction = pre[k + 1]
        if direction != "Rcv":
            if direction != "Snd":
                raise ParseError("bad packet fields")
            return None
        if len(flags) != 1:
            if len(flags) == 2 and flags[0] == "R":
                return None  # a response (from a forwarder or another server)
            raise ParseError("bad packet fields")
        if flags[0] != "Q":
            return None  # notify, update, unknown opcode
        tail = line[rb + 1 :].split(None, 1)
        if len(tail) != 2:
            raise ParseError("truncated packet line")
        raw = tail[1].rstrip()
        host = names.get(raw)
        if host is None:
            host = _debug_name(raw)
            if len(names) >= _CACHE_MAX:
                names.clear()
            names[raw] = host
        client = clients.get(pre[k + 2]) or _client(pre[k + 2])
        qtype = qtypes.get(tail[0]) or _qtype(tail[0])
        return new(Event, (ts, "dns", client, "", host, "allowed", None, qtype, None, None, None,
                           None, None, None, None, (), lineno))

    def other(line: str) -> Event | None:
        if not line or line[0] in " \t" or not line.strip():
            return None  # blank, legend, or a "Details" packet dump
        if line.startswith(_HEADER_STARTS):
            if line.startswith(("DNS Server log file creation at", "Log file wrap at")):
                toks = line.partition(" at ")[2].split()
                if toks:
                    dates.learn(toks[0])
            return None
        if line.startswith(_PROTOS) and " info at " in line:
            return None  # first line of a "Details" packet dump
        toks = line.split(None, 5)
        if len(toks) >= 4 and toks[0][:1].isdigit():
            n = 3 if toks[2].upper().replace(".", "") in ("AM", "PM") else 2
            if len(toks) > n + 1:
                context = toks[n + 1]
                if context == "PACKET":
                    raise ParseError("truncated packet line")
                when(" ".join(toks[:n]))
                return None  # EVENT, Note: and other server messages
        raise ParseError("not a DNS debug log line")

    return parse


def render(ev: Event, tz: dt.tzinfo = dt.UTC, *, thread: str = "0E48",
           packet: int = 0x000001A2B3C4D5E0) -> str:
    """The debug-log line of a received query (en-US locale, in zone ``tz``)."""
    t = dt.datetime.fromtimestamp(ev.ts, tz)
    hour = t.hour % 12 or 12
    stamp = f"{t.month}/{t.day}/{t.year} {hour}:{t.minute:02d}:{t.second:02d} " + (
        "AM" if t.hour < 12 else "PM")
    xid = (int(ev.ts * 1000) ^ ev.line) & 0xFFFF
    return (f"{stamp} {thread} PACKET  {packet:016X} UDP Rcv {ev.client:<15} {xid:04x}   "
            f"Q [0001   D   NOERROR] {ev.qtype or 'A':<6} {encode_name(ev.host)}")


_LEGEND = (
    ("1", "Date", ""), ("2", "Time", ""), ("3", "Thread ID", ""), ("4", "Context", ""),
    ("5", "Internal packet identifier", ""), ("6", "UDP/TCP indicator", ""),
    ("7", "Send/Receive indicator", ""), ("8", "Remote IP", ""), ("9", "Xid (hex)", ""),
    ("10", "Query/Response", "R = Response|blank = Query"),
    ("11", "Opcode", "Q = Standard Query|N = Notify|U = Update|? = Unknown"),
    ("12", "[ Flags (hex)", ""),
    ("13", "Flags (char codes)", "A = Authoritative Answer|T = Truncated Response|"
     "D = Recursion Desired|R = Recursion Available"),
    ("14", "ResponseCode ]", ""), ("15", "Question Type", ""), ("16", "Question Name", ""),
)


def render_header(ts: float, tz: dt.tzinfo = dt.UTC) -> str:
    """The block the server writes at the top of dns.log (lines end with CRLF)."""
    t = dt.datetime.fromtimestamp(ts, tz)
    stamp = f"{t.month}/{t.day}/{t.year} {t.hour % 12 or 12}:{t.minute:02d}:{t.second:02d} " + (
        "AM" if t.hour < 12 else "PM")
    out = [f"DNS Server log file creation at {stamp}", f"Log file wrap at {stamp}", "",
           "Message logging key (for packets - other items use a subset of these fields):",
           "\tField #  Information         Values", "\t-------  -----------         ------"]
    for num, info, values in _LEGEND:
        first, *more = values.split("|") if values else [""]
        out.append(f"\t{num:>4}     {info:<20}{first}".rstrip())
        out.extend(f"\t{'':29}{v}" for v in more)
    out += ["", ""]
    return "\r\n".join(out)


# ---------------------------------------------------------------------------
# Analytical events: field extraction shared by JSON and CSV


def _message_fields(msg: str) -> tuple[int | None, dict[str, str]]:
    """``QUERY_RECEIVED: TCP=0; InterfaceIP=10.0.0.1; Source=...; QNAME=x.; QTYPE=1; ...``."""
    head, sep, body = msg.partition(":")
    eid = EVENT_NAMES.get(head.strip()) if sep else None
    fields: dict[str, str] = {}
    if eid is not None:
        for part in body.split(";"):
            key, eq, value = part.partition("=")
            if eq:
                fields.setdefault(key.strip().lower(), value.strip())
    return eid, fields


def _event_id(raw: object) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, dict):
        raw = raw.get("#text", raw.get("Value", raw.get("value")))
    if isinstance(raw, bool):
        raise ParseError("bad event id")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        s = raw.strip()
        if s.isascii() and s.isdigit() and len(s) <= 6:
            return int(s)
        if s in EVENT_NAMES:
            return EVENT_NAMES[s]
    raise ParseError("bad event id")


def _dns_provider(provider: object) -> bool:
    if not isinstance(provider, str):
        return True
    p = provider.lower().replace("-", "").replace("_", "").replace(" ", "")
    return not p or "dnsserver" in p or "eb79061a" in p


def _query_event(eid: int | None, fields: dict[str, Any], message: object, when: object,
                 provider: object, dates: _Dates, tz: dt.tzinfo, lineno: int) -> Event | None:
    """The event of one Analytical record, given its lower-cased data fields."""
    if (eid is None or "qname" not in fields) and isinstance(message, str):
        msg_id, msg_fields = _message_fields(message)
        if eid is None:
            eid = msg_id
        for key, value in msg_fields.items():
            fields.setdefault(key, value)
    if eid is None:
        if "qname" not in fields or "source" not in fields:
            raise ParseError("no event id")
        eid = 256  # an export of queries only, without the ID column
    if eid not in QUERY_RECEIVED or not _dns_provider(provider):
        return None
    qname = fields.get("qname")
    if not isinstance(qname, str) or not qname.strip():
        raise ParseError("missing QNAME")
    source = fields.get("source")
    if isinstance(source, dict):
        source = source.get("ip")
    if source is None or source == "":
        raise ParseError("missing Source")
    raw_type = fields.get("qtype")
    qtype = None if raw_type is None or raw_type == "" else _qtype(raw_type)
    return _new_event(_when(when, dates, tz), _client(source), _host(qname), qtype, lineno)


def _first(d: dict[str, Any], keys: Sequence[str]) -> Any:
    for k in keys:
        v = d.get(k)
        if v is not None:
            return v
    return None


def _data_dict(value: object) -> dict[str, Any] | None:
    """EventData as a name -> value dict, from a dict or an XML-style ``Data`` list."""
    if isinstance(value, dict):
        inner = value.get("Data")
        if inner is None:
            return value
        value = [inner] if isinstance(inner, dict) else inner
    if isinstance(value, list):
        out: dict[str, Any] = {}
        for item in value:
            if not isinstance(item, dict):
                continue
            name = _first(item, ("Name", "@Name", "name"))
            attrs = item.get("#attributes")
            if name is None and isinstance(attrs, dict):
                name = attrs.get("Name")
            if isinstance(name, str):
                out[name] = _first(item, ("#text", "Value", "value", "text", "$"))
        return out
    return None


_ID_KEYS = ("EventID", "EventId", "Id", "event_id", "EventCode", "eventID", "id")
_TIME_KEYS = ("@timestamp", "TimeCreated", "EventTime", "timestamp", "TimeGenerated", "time",
              "TimeCreatedUtc")
_PROVIDER_KEYS = ("ProviderName", "provider_name", "SourceName", "Provider")
_QUERY_TEMPLATE = ((2, "source"), (4, "qname"), (5, "qtype"))
"""QUERY_RECEIVED's positional properties (TCP, InterfaceIP, Source, RD, QNAME, QTYPE, ...)."""


def _json_record(obj: dict[str, Any], dates: _Dates, tz: dt.tzinfo, lineno: int) -> Event | None:
    eid_raw: object = None
    data: object = None
    when: object = None
    provider: object = None
    w = obj.get("winlog")
    if isinstance(w, dict):
        data = w.get("event_data")
        eid_raw = w.get("event_id")
        provider = w.get("provider_name")
    ev = obj.get("event")
    if isinstance(ev, dict):
        if eid_raw is None:
            eid_raw = ev.get("code")
        if provider is None:
            provider = ev.get("provider")
    xml = obj.get("Event")
    if isinstance(xml, dict):
        system = xml.get("System")
        if isinstance(system, dict):
            if eid_raw is None:
                eid_raw = system.get("EventID")
            when = system.get("TimeCreated")
            p = system.get("Provider")
            if provider is None and isinstance(p, dict):
                attrs = p.get("#attributes")
                provider = _first(p, ("Name", "@Name")) or (
                    attrs.get("Name") if isinstance(attrs, dict) else None)
        if data is None:
            data = xml.get("EventData")
    if eid_raw is None:
        eid_raw = _first(obj, _ID_KEYS)
    if provider is None:
        provider = _first(obj, _PROVIDER_KEYS)
    if data is None:
        data = _first(obj, ("EventData", "event_data"))
    if when is None:
        when = _first(obj, _TIME_KEYS)
    flat = _data_dict(data)
    if flat is None:
        flat = obj  # NXLog and hand-made exports put the event data at the top level
    fields: dict[str, Any] = {k.lower(): v for k, v in flat.items()
              if isinstance(v, (str, int, float)) or (k == "source" and isinstance(v, dict))}
    if "qname" not in fields:
        ecs = obj.get("dns")
        question = ecs.get("question") if isinstance(ecs, dict) else None
        if isinstance(question, dict):
            if isinstance(question.get("name"), str):
                fields["qname"] = question["name"]
            if question.get("type") is not None:
                fields.setdefault("qtype", question["type"])
            src = obj.get("source")
            if isinstance(src, dict) and isinstance(src.get("ip"), str):
                fields["source"] = src["ip"]
    message = obj.get("Message", obj.get("message"))
    eid = _event_id(eid_raw)
    if "qname" not in fields and eid in QUERY_RECEIVED and not isinstance(message, str):
        props = obj.get("Properties")
        if isinstance(props, list) and len(props) > 5:
            for pos, key in _QUERY_TEMPLATE:
                v = props[pos]
                fields[key] = v.get("Value") if isinstance(v, dict) else v
    return _query_event(eid, fields, message, when, provider, dates, tz, lineno)


# ---------------------------------------------------------------------------
# windns_analytic_json


_WRAPPERS = ("events", "Events", "records", "Records", "value", "items")


def _json_head(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head[: len(head) // 2 * 2].decode("utf-16", errors="replace")
    return head.decode("utf-8", errors="replace").lstrip("\ufeff")


def _looks_analytic(text: str) -> bool:
    s = text.lstrip()
    return (s[:1] in ("{", "[") and "QNAME" in text
            and ("QTYPE" in text or "DNSServer" in text or "QUERY_RECEIVED" in text))


def sniff_json(lines: Sequence[str]) -> bool:
    return _looks_analytic("\n".join(lines))


def sniff_json_bytes(head: bytes) -> bool:
    return _looks_analytic(_json_head(head))


def make_json_parser(ctx: ParseContext) -> LineParser:
    dates = _Dates(ctx)
    tz = ctx.tz
    loads = json.loads

    def parse(line: str, lineno: int) -> Event | None:
        s = line.strip()
        if not s:
            return None
        if s[0] != "{":
            raise ParseError("not a JSON object")
        if s[-1] == ",":
            s = s[:-1]
        try:
            obj = loads(s)
        except (ValueError, RecursionError):
            raise ParseError("invalid JSON") from None
        if not isinstance(obj, dict):
            raise ParseError("not a JSON object")
        return _json_record(obj, dates, tz, lineno)

    return parse


def _is_document(head: bytes) -> bool:
    """A pretty-printed or bracketed JSON document rather than one object per line."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # UTF-16 (Windows PowerShell 5.1 redirection): the line driver reads UTF-8
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text[:1] == "[":
        return True
    first = text.split("\n", 1)[0].strip()
    return first.endswith(("{", "[")) and "\n" in text


def read_json_records(path: Path, ctx: ParseContext, stats: Any, *, offset: int = 0,
                      line: int = 0, **kwargs: Any) -> Iterator[Any]:
    """JSON lines go through the shared line driver; a JSON document is read whole
    (`collectors.jsondoc`: re-read from the start when it changed, its first
    ``line`` records skipped). Events and rejects carry the line where their
    record starts."""
    from collectors import jsondoc
    from collectors.driver import open_stream, read_batches

    with open_stream(path) as fh:
        head = fh.read(64 * 1024)
    if not _is_document(head):
        keep = {k: v for k, v in kwargs.items() if k in jsondoc.LINE_OPTIONS}
        yield from read_batches(path, make_json_parser(ctx), stats, offset=offset, line=line,
                                **keep)
        return
    doc = jsondoc.load(path, stats, offset, line)
    if not isinstance(doc, jsondoc.Document):  # unchanged, or too large
        yield from () if doc is None else (doc,)
        return
    dates = _Dates(ctx)
    yield jsondoc.numbered_events(
        doc, _records(doc.text), line, stats,
        lambda item, lineno: _json_record(item, dates, ctx.tz, lineno), _ERROR)


_ERROR = object()
_BLANK = " \t\r\n\ufeff"


def _records(text: str) -> Iterator[tuple[int, Any]]:
    """(position, value) of each record of a JSON document, in order.

    Records are the items of a top-level array or of a wrapper's list
    (``{"events": [...]}``), or top-level values themselves (concatenated
    objects). A syntax error yields ``_ERROR`` at its record, then reading
    resumes at the next line that opens an object.
    """
    decode = json.JSONDecoder().raw_decode
    n = len(text)
    pos = 0
    in_list = wrapper = False
    while True:
        while pos < n and (text[pos] in _BLANK or text[pos] == ","):
            pos += 1
        if pos >= n:
            return
        ch = text[pos]
        if in_list and ch == "]":
            in_list = False
            pos = _after_members(text, pos + 1, decode) if wrapper else pos + 1
            continue
        if not in_list:
            if ch in "]}":
                pos += 1  # the rest of a structure broken by a syntax error
                continue
            if ch == "[":
                in_list, wrapper, pos = True, False, pos + 1
                continue
            if ch == "{":
                inner = _wrapper_list(text, pos, decode)
                if inner > 0:
                    in_list, wrapper, pos = True, True, inner
                    continue
        try:
            value, end = decode(text, pos)
        except (ValueError, RecursionError):
            yield pos, _ERROR
            pos = _resync(text, pos)
            in_list = wrapper = False
            continue
        items = _wrapped(value) if not in_list and isinstance(value, dict) else None
        if items is not None:
            for item in items:
                yield pos, item
        else:
            yield pos, value
        pos = end


def _skip_blank(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _BLANK:
        pos += 1
    return pos


def _wrapper_list(text: str, pos: int, decode: Any) -> int:
    """Where the records start if the object at ``pos`` opens with ``"events": [``; else -1."""
    p = _skip_blank(text, pos + 1)
    if text[p : p + 1] != '"':
        return -1
    try:
        key, p = decode(text, p)
    except (ValueError, RecursionError):
        return -1
    p = _skip_blank(text, p)
    if key not in _WRAPPERS or text[p : p + 1] != ":":
        return -1
    p = _skip_blank(text, p + 1)
    return p + 1 if text[p : p + 1] == "[" else -1


def _after_members(text: str, pos: int, decode: Any) -> int:
    """Past the members that follow a wrapper's list, and its closing brace."""
    while True:
        p = _skip_blank(text, pos)
        if p >= len(text) or text[p] == "}":
            return p + 1
        if text[p] == ",":
            pos = p + 1
            continue
        try:
            _, p = decode(text, p)
            p = _skip_blank(text, p)
            if text[p : p + 1] != ":":
                return p
            _, pos = decode(text, _skip_blank(text, p + 1))
        except (ValueError, RecursionError):
            return p


def _wrapped(value: dict[str, Any]) -> list[Any] | None:
    """The records of ``{"events": [...]}``-style wrappers; None for a record itself."""
    if "winlog" in value or "Event" in value or "QNAME" in value:
        return None
    for key in _WRAPPERS:
        got = value.get(key)
        if isinstance(got, list):
            return got
    return None


def _resync(text: str, pos: int) -> int:
    """After a syntax error: the next line that opens an object, or the end."""
    while True:
        nl = text.find("\n", pos)
        if nl < 0:
            return len(text)
        pos = nl + 1
        if text[pos : pos + 200].lstrip(" \t")[:1] == "{":
            return pos


# ---------------------------------------------------------------------------
# windns_analytic_csv


_NORM = re.compile(r"[^a-z0-9]")
_PREFIXES = ("winlogeventdata", "eventdata", "microsoftdnsserveranalytical")
_CSV_COLUMNS = {
    "qname": ("qname", "dnsquestionname", "questionname"),
    "qtype": ("qtype", "dnsquestiontype", "questiontype"),
    "source": ("source", "sourceip", "sourceaddress", "clientip"),
    "id": ("id", "eventid", "eventcode", "winlogeventid", "code"),
    "time": ("timecreated", "timestamp", "timecreatedsystemtime", "systemtime", "eventtime",
             "timegenerated", "timegeneratedutc", "time", "date", "datetime"),
    "message": ("message",),
    "provider": ("providername", "provider", "winlogprovidername", "eventprovider",
                 "sourcename"),
}


def _column_key(name: str) -> str:
    key = _NORM.sub("", name.strip().strip('"').lower())
    for prefix in _PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix) :]
    return key


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _split_row(line: str, delim: str) -> list[str]:
    if '"' not in line:
        return line.split(delim)
    try:
        return next(csv.reader((line,), delimiter=delim, strict=True))
    except (csv.Error, StopIteration):
        raise ParseError("malformed CSV row") from None


def _csv_layout(cells: Sequence[str]) -> dict[str, int] | None:
    """Column positions of the fields we use, from a header row; None if it is not one."""
    keys = [_column_key(c.lstrip("\ufeff")) for c in cells]
    where: dict[str, int] = {}
    for field, names in _CSV_COLUMNS.items():
        for name in names:
            if name in keys:
                where[field] = keys.index(name)
                break
    if "qname" in where or ("message" in where and "id" in where):
        return where
    return None


def sniff_csv(lines: Sequence[str]) -> bool:
    rows = [ln for ln in lines if not ln.startswith("#")]
    if not rows or rows[0].lstrip()[:1] in ("{", "["):
        return False
    delim = _delimiter(rows[0])
    try:
        cells = _split_row(rows[0], delim)
    except ParseError:
        return False
    keys = {_column_key(c.lstrip("\ufeff")) for c in cells}
    if "qname" in keys and keys & {"source", "id", "eventid", "timecreated", "qtype"}:
        return True
    if "dnsquestionname" in keys and any("Microsoft-Windows-DNSServer" in ln for ln in rows[1:]):
        return True  # an ECS export (Kibana, Elastic integration fields)
    return ("message" in keys and bool(keys & {"id", "eventid"})
            and any(f"{name}:" in ln for ln in rows[1:] for name in ("QUERY_RECEIVED",
                                                                      "RESPONSE_SUCCESS")))


def make_csv_parser(ctx: ParseContext) -> LineParser:
    local = _Dates(ctx)
    utc = _Dates(dataclasses.replace(ctx, tz=dt.UTC))
    header: list[str] | None = None
    delim = ","
    where: dict[str, int] = {}
    dates = local

    def parse(line: str, lineno: int) -> Event | None:
        nonlocal header, delim, where, dates
        if not line.strip():
            return None
        if line.startswith("#"):
            return None  # "#TYPE System.Management.Automation.PSCustomObject" (Export-Csv)
        if header is None or line == header[0]:
            d = _delimiter(line)
            cells = _split_row(line, d)
            layout = _csv_layout(cells)
            if layout is None:
                if header is None:
                    raise ParseError("missing CSV header")
            else:
                header, delim, where = [line, *cells], d, layout
                utc_column = "time" in where and "utc" in cells[where["time"]].lower()
                dates = utc if utc_column else local  # "TimeGenerated [UTC]"
                return None
        row = _split_row(line, delim)
        if len(row) != len(header) - 1:
            raise ParseError("column count differs from header")
        fields: dict[str, Any] = {}
        for key in ("qname", "qtype", "source"):
            pos = where.get(key)
            if pos is not None and row[pos] != "":
                fields[key] = row[pos]
        pos = where.get("id")
        eid = _event_id(row[pos]) if pos is not None and row[pos].strip() else None
        pos = where.get("message")
        message = row[pos] if pos is not None else None
        pos = where.get("provider")
        provider = row[pos] if pos is not None else None
        pos = where.get("time")
        when = row[pos] if pos is not None and row[pos].strip() else None
        return _query_event(eid, fields, message, when, provider, dates, dates.tz, lineno)

    return parse


FORMATS = (
    LogFormat(DEBUG, "dns", "Windows DNS Server debug log (dns.log, packet logging)", sniff_debug,
              make_debug_parser, header_lines=2),
    LogFormat(JSON, "dns", "Windows DNS Server Analytical events as JSON (QUERY_RECEIVED)",
              sniff_json, make_json_parser, sniff_bytes=sniff_json_bytes,
              read_records=read_json_records),
    LogFormat(CSV, "dns", "Windows DNS Server Analytical events as CSV with a header row",
              sniff_csv, make_csv_parser, header_lines=2),
)
