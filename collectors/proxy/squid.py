"""Squid native access.log (``logformat squid``).

From the Squid wiki (Features/LogFormat), the native format is

    %ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt

time (POSIX seconds), elapsed ms, client, result/status, reply bytes, method,
URL, user, hierarchy/peer, MIME type. CONNECT requests log ``host:port`` as the
URL. Squid writes the URL and user URL-encoded, so fields hold no blanks.
Lines may arrive through syslog (``access_log syslog:``, pfSense): the header
is peeled off and the line's own stamp is used.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from urllib.parse import unquote

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.clock import LocalClock
from collectors.errors import ParseError
from collectors.event import Event
from collectors.fold import KernelFolder
from collectors.hosts import normalize_host
from collectors.hosts import url_host as _url_host
from collectors.syslog import has_syslog_header, split_syslog

NAME = "squid"


def sniff(lines: Sequence[str]) -> bool:
    def ok(line: str) -> bool:
        if not line[:1].isdigit() and has_syslog_header(line):
            line = line.split(": ", 1)[-1]
        f = line.split()
        return (len(f) >= 9 and "/" in f[3] and f[0].replace(".", "", 1).isdigit()
                and f[1].lstrip("-").isdigit())
    hits = sum(1 for ln in lines if ok(ln))
    return hits > 0 and hits * 2 >= len(lines)


def url_host(url: str, method: str) -> str | None:
    """The host of a request URL or CONNECT authority (`collectors.hosts.url_host`)."""
    return _url_host(url, method == "CONNECT")

def make_parser(ctx: ParseContext) -> LineParser:
    clock = LocalClock(ctx.tz)
    ref = ctx.reference.timestamp() if ctx.reference else time.time()

    def parse(line: str, lineno: int) -> Event | None:
        if not line[:1].isdigit() and has_syslog_header(line):
            # Through syslog (pfSense, a relay): the line is the message; its own
            # stamp wins over the header's.
            line = split_syslog(line, clock, ref).msg
        f = line.split(None, 9)
        if len(f) < 9:
            raise ParseError("too few fields for squid native format")
        try:
            ts = float(f[0])
        except ValueError:
            raise ParseError("bad timestamp") from None
        if not 0 <= ts < 1e11:
            raise ParseError("bad timestamp")
        code, _, status_s = f[3].partition("/")
        method, url = f[5], f[6]
        try:
            status = int(status_s)
            size = int(f[4])
        except ValueError:
            raise ParseError("bad status or size") from None
        if url.startswith("error:") or method in ("NONE", "-"):
            return None  # a transaction squid aborted before it had a request
        if status == 407 and "DENIED" in code:
            return None  # a proxy-authentication challenge: the browser retries with credentials
        raw_host = url_host(url, method)
        if not raw_host:
            raise ParseError("request without a host")
        try:
            host = normalize_host(raw_host)
        except ValueError as exc:
            raise ParseError("invalid host") from exc
        user = f[7]
        if "%" in user:
            user = unquote(user, errors="replace")  # Squid %-encodes it (DISTRICT%5Cjdoe)
        action = "blocked" if "DENIED" in code else "allowed"
        return Event(ts, "proxy", f[2], "" if user == "-" else user, host, action,
                     url, None, method, status, size, None, None, line=lineno)

    return parse


def render(ev: Event) -> str:
    code = "TCP_DENIED" if ev.action == "blocked" else "TCP_TUNNEL" if ev.method == "CONNECT" else "TCP_MISS"
    return (f"{ev.ts:.3f} {150:6d} {ev.client} {code}/{ev.status or 200:03d} {ev.bytes_in or 0} "
            f"{ev.method or 'GET'} {ev.url or ev.host} {ev.user or '-'} HIER_DIRECT/{ev.host} -")


class SquidFolder(KernelFolder):
    """`collectors._fold.SquidKernel`: minutes are POSIX minutes of the stamp."""

    kind = "proxy"

    def _minute(self, minute: int) -> int:
        return self.bucket(minute * 60)


def make_folder(ctx: ParseContext) -> SquidFolder | None:
    return SquidFolder.compiled(ctx, "SquidKernel")


FORMAT = LogFormat(NAME, "proxy", "Squid native access.log", sniff, make_parser, make_folder)
