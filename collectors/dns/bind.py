"""BIND 9 query log (the ``queries`` category).

Line shapes, from the BIND 9 ARM ("logging" statement) and named's source:

    [TIME] [queries:] [info:] client [@0xADDR] IP#PORT [(QNAME)]: [view NAME: ]
        query: QNAME CLASS TYPE FLAGS (SERVER)      (one line)

* TIME is present when the channel has ``print-time``: ``29-Nov-2026
  10:00:00.123`` (``yes``/``local``), ISO 8601 local (``iso8601``) or ISO 8601
  UTC with ``Z`` (``iso8601-utc``, 9.16+). Stamps without a zone are in the
  source's zone.
* ``@0xADDR`` appears from 9.11; ``(QNAME)`` from 9.9; ``view NAME:`` when views
  are configured.
* Other categories written to the same channel (``general``, ``resolver``,
  ``query-errors``...) are ignored, not rejected.

Parsing is by string search, not a regular expression: this is the hottest
loop in a district deployment.
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
from collectors.fold import KernelFolder
from collectors.hosts import normalize_host
from collectors.syslog import has_syslog_header, split_syslog

NAME = "bind"


def sniff(lines: Sequence[str]) -> bool:
    hits = sum(1 for ln in lines if "client " in ln and ": query: " in ln)
    return hits > 0 and hits * 2 >= len(lines)


def make_parser(ctx: ParseContext) -> LineParser:
    clock = LocalClock(ctx.tz)
    bind_stamp = clock.bind_stamp
    tz = ctx.tz
    hosts: dict[str, str] = {}

    minutes: dict[str, float] = {}
    new = tuple.__new__

    ref = ctx.reference.timestamp() if ctx.reference else time.time()

    def parse(line: str, lineno: int) -> Event | None:
        if not line[:1].isdigit() and has_syslog_header(line):
            # Through syslog (named's "syslog" channel, Infoblox, a relay): the
            # header carries the time unless print-time is also on.
            sl = split_syslog(line, clock, ref)
            msg = sl.msg
            sp = msg.find(": ")
            if 0 < sp < 40 and msg[sp + 2 : sp + 3].isdigit() and " " not in msg[:sp]:
                msg = msg[sp + 2 :]  # "queries: 29-Nov-2026 ..." (print-category before the time)
            if msg[:1].isdigit() and _has_stamp(msg):
                return body(msg, lineno, None)
            return body(sl.msg, lineno, sl.ts)
        return body(line, lineno, None)

    def body(line: str, lineno: int, ts: float | None) -> Event | None:
        tok = line.split(" ")
        try:
            ci = tok.index("client")
            qi = tok.index("query:", ci + 2)
            qname, qclass, qtype = tok[qi + 1], tok[qi + 2], tok[qi + 3]
        except (ValueError, IndexError):
            if "queries:" in tok[:4]:
                raise ParseError("truncated query line") from None
            if "query:" not in tok and (ts is not None or _has_stamp(line)):
                return None  # another category or message in the same channel
            raise ParseError("not a BIND query log line") from None
        if qclass != "IN" and qclass not in ("CH", "HS", "ANY") and not qclass.startswith("CLASS"):
            raise ParseError("bad query class")
        base = minutes.get(line[:17])
        if ts is not None:
            pass
        elif base is not None and line[17] == ":":
            # Fast path: BIND's own print-time stamp, minute already seen.
            try:
                sec = float(line[18:24])
            except ValueError:
                raise ParseError("bad timestamp") from None
            if not 0 <= sec < 61:
                raise ParseError("bad timestamp")
            ts = base + sec
        else:
            ts = _stamp(line[: line.find("client ")], minutes)
        addr = tok[ci + 1]
        if addr[:1] == "@":
            addr = tok[ci + 2]
        h = addr.find("#")
        if h <= 0:
            raise ParseError("no client address")
        host = hosts.get(qname)
        if host is None:
            host = _host(qname)
            if len(hosts) > 100_000:
                hosts.clear()
            hosts[qname] = host
        return new(Event, (ts, "dns", addr[:h], "", host, "allowed", None, qtype, None, None,
                           None, None, None, None, None, (), lineno))

    def _stamp(head: str, minutes: dict[str, float]) -> float:
        if not head or not head[0].isdigit():
            raise ParseError("no timestamp (enable print-time in the logging channel)")
        try:
            if head[4] == "-":
                return iso_stamp(head.split(" ", 1)[0], tz)
            stamp = head[:24].rstrip(": ")
            ts = bind_stamp(stamp)
        except (ValueError, IndexError):
            raise ParseError("bad timestamp") from None
        if len(head) >= 24 and head[17] == ":" and head[20] == ".":
            minutes[head[:17]] = ts - float(head[18:24])
        return ts

    return parse


def _host(qname: str) -> str:
    if qname == ".":
        return "."
    try:
        return normalize_host(_unescape(qname))
    except ValueError as exc:
        raise ParseError("invalid query name") from exc


def _has_stamp(line: str) -> bool:
    return len(line) > 20 and line[0].isdigit() and (
        (line[2] == "-" and line[6] == "-") or (line[4] == "-" and line[10] == "T"))


def _unescape(name: str) -> str:
    """Undo BIND's master-file escapes (``\\032`` and ``\\.``) in a name."""
    if "\\" not in name:
        return name
    out: list[str] = []
    i = 0
    while i < len(name):
        ch = name[i]
        if ch == "\\" and i + 3 < len(name) + 0 and name[i + 1 : i + 4].isdigit():
            out.append(chr(int(name[i + 1 : i + 4])))
            i += 4
        elif ch == "\\" and i + 1 < len(name):
            out.append(name[i + 1])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def render(ev: Event, serial: int = 0x7F0000001000) -> str:
    """The line BIND 9.18 writes for this event (print-time yes, UTC zone)."""
    t = dt.datetime.fromtimestamp(ev.ts, dt.UTC)
    stamp = t.strftime("%d-%b-%Y %H:%M:%S.") + f"{t.microsecond // 1000:03d}"
    port = 30000 + (serial % 30000)
    return (f"{stamp} queries: info: client @0x{serial:x} {ev.client}#{port} ({ev.host}): "
            f"query: {ev.host} IN {ev.qtype or 'A'} +E(0)K (10.0.0.53)")


class BindFolder(KernelFolder):
    """`collectors._fold.BindKernel`: its minutes are BIND print-time stamps."""

    def __init__(self, ctx: ParseContext, kernel_type: Any) -> None:
        self.clock = LocalClock(ctx.tz)
        super().__init__(ctx, kernel_type)

    def _minute(self, key: bytes) -> tuple[int, int] | None:
        try:
            ts = self.clock.bind_stamp(key.decode("ascii") + ":00")
        except ValueError:
            return None
        return self.bucket(ts), round(ts * 1000)


def make_folder(ctx: ParseContext) -> BindFolder | None:
    return BindFolder.compiled(ctx, "BindKernel")


FORMAT = LogFormat(NAME, "dns", "BIND 9 query log (queries category)", sniff, make_parser,
                   make_folder)
