"""Infoblox NIOS DNS logging, as received by syslog.

NIOS runs BIND and sends its logs through syslog (``named[PID]:``). What it adds
to plain BIND, from the NIOS Administrator Guide ("Capturing DNS Queries and
Responses", "Configuring RPZ logging"):

* query logging: BIND's own ``client @0x… IP#PORT (NAME): query: NAME IN TYPE …``;
* response logging (NIOS 8.x): ``DD-Mon-YYYY HH:MM:SS.mmm client IP#PORT UDP:
  query: NAME IN TYPE response: RCODE FLAGS [RRs]`` - one line per answered query;
* RPZ hits in CEF: ``CEF:0|Infoblox|NIOS|VERSION|RPZ-QNAME|NXDOMAIN|7|app=DNS
  dst=… src=CLIENT spt=… view=… qtype=A msg="rpz QNAME NXDOMAIN rewrite NAME [A]
  via …"``: the district's own filter blocking a name, kept as a blocked event.

A server logs queries, responses or both: response lines count only while the
read has seen no query line, so a server logging both is not counted twice.
Everything else named says (zone transfers, notifies, priming, query errors)
is valid and ignored.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.clock import LocalClock
from collectors.dns import bind
from collectors.errors import ParseError
from collectors.event import Event
from collectors.hosts import normalize_host
from collectors.proxy.cef import parse_extension, split_pipes
from collectors.syslog import has_syslog_header, split_syslog

NAME = "infoblox"


def sniff(lines: Sequence[str]) -> bool:
    named = [ln for ln in lines if has_syslog_header(ln) and " named[" in ln]
    if not named or len(named) * 2 < len(lines):
        return False
    return any("CEF:0|Infoblox|NIOS|" in ln or " UDP: query: " in ln or " TCP: query: " in ln
               or "infoblox" in ln.lower() for ln in named)


def make_parser(ctx: ParseContext) -> LineParser:
    clock = LocalClock(ctx.tz)
    ref = ctx.reference.timestamp() if ctx.reference else time.time()
    inner = bind.make_parser(ctx)
    seen_query = False

    def parse(line: str, lineno: int) -> Event | None:
        nonlocal seen_query
        if not has_syslog_header(line):
            raise ParseError("no syslog header")
        sl = split_syslog(line, clock, ref)
        msg = sl.msg
        if msg.startswith("CEF:"):
            return _cef(msg, sl.ts, lineno)
        if " response: " in msg and (" UDP: query: " in msg or " TCP: query: " in msg):
            return None if seen_query else inner(line, lineno)
        ev = inner(line, lineno)
        if ev is not None:
            seen_query = True
        return ev

    return parse


def _cef(msg: str, ts: float, lineno: int) -> Event | None:
    head, rest = split_pipes(msg, 7, "truncated CEF record")
    if not head[4].startswith("RPZ-"):
        return None
    ext = parse_extension(rest)
    client = ext.get("src", "")
    text = ext.get("msg", "")
    # msg="rpz QNAME NXDOMAIN rewrite NAME [TYPE] via TRIGGER"
    words = text.split(" ")
    try:
        i = words.index("rewrite")
        qname = words[i + 1]
    except (ValueError, IndexError):
        raise ParseError("RPZ record without a rewritten name") from None
    try:
        host = normalize_host(qname)
    except ValueError:
        raise ParseError("invalid query name") from None
    qtype = ext.get("qtype") or None
    return Event(ts, "dns", client, "", host, "blocked", None, qtype, line=lineno)


FORMAT = LogFormat(NAME, "dns", "Infoblox NIOS DNS logging via syslog (queries, responses, RPZ)",
                   sniff, make_parser, priority=50)
