"""Unbound's query and reply log (``log-queries: yes``, ``log-replies: yes``).

From Unbound's ``util/log.c`` (``log_vmsg``), ``util/net_help.c``
(``log_query_in``) and ``util/data/msgreply.c`` (``log_reply_info``):

    [EPOCH] IDENT[PID:TID] info: CLIENT NAME. TYPE CLASS                  (logfile)
    Mmm dd hh:mm:ss IDENT[PID:TID] info: ...                        (log-time-ascii: yes)
    YYYY-mm-ddTHH:MM:SS.mmm+hh:mm IDENT[PID:TID] info: ...  (log-time-ascii + log-time-iso)
    Mmm dd hh:mm:ss HOST unbound: [PID:TID] info: ...                     (use-syslog: yes)
    <30>Mmm dd hh:mm:ss unbound[PID]: [PID:TID] info: ...         (pfSense's resolver.log)

    query line:  CLIENT NAME. TYPE CLASS
    reply line:  CLIENT NAME. TYPE CLASS RCODE SECONDS CACHED SIZE [...]

* ``IDENT`` is ``unbound`` unless ``log-identity`` says otherwise; ``TID`` is
  the thread number in hex. ``log-tag-queryreply: yes`` writes ``query:`` and
  ``reply:`` instead of ``info:``; both spellings are read.
* ``[EPOCH]`` is UTC; the ASCII and syslog stamps are local time in the
  source's ``tz`` (years inferred from the context's reference).
* ``TYPE`` is the mnemonic, or ``TYPEnnn`` for one Unbound does not know:
  mapped to its mnemonic with dnspython where there is one.
* Query lines are events. Reply lines are events only while this parser has
  seen no query line: a server logging both is not counted twice, and one
  logging replies only still counts. (A read that resumes mid-file, or a
  file starting with the replies to queries logged in the previous file,
  can count those first few replies too.) A reply line keeps ``status``
  None: Unbound writes the rcode as text.
* Every other message is valid and ignored: ``notice:``/``debug:``/
  ``error:`` lines, ``info: resolving ...``, ``info: response for ...``,
  ``info: reply from ...``, ``log-local-actions`` and RPZ lines, FORMERR
  replies (``CLIENT - - - FORMERR - - -``), and lines of other programs in a
  shared syslog file.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.clock import LocalClock, iso_stamp
from collectors.dns.common import query_host, type_name
from collectors.errors import ParseError
from collectors.event import Event
from collectors.syslog import has_syslog_header, split_syslog

NAME = "unbound"

_CLASSES = frozenset({"IN", "CH", "HS", "NONE", "ANY", "CS"})
_EVENT_TYPES = frozenset({"info:", "query:", "reply:"})
_CACHE_MAX = 100_000


def sniff(lines: Sequence[str]) -> bool:
    hits = sum(1 for ln in lines if ("unbound[" in ln or "unbound:" in ln) and (
        " info: " in ln or " query: " in ln or " reply: " in ln or " notice: " in ln))
    return hits > 0 and hits * 2 >= len(lines) and any(
        " info: " in ln or " query: " in ln or " reply: " in ln for ln in lines)


def make_parser(ctx: ParseContext) -> LineParser:
    clock = LocalClock(ctx.tz)
    tz = ctx.tz
    ref = ctx.reference.timestamp() if ctx.reference else time.time()
    stamps: dict[str, float] = {}
    hosts: dict[str, str] = {}
    clients: dict[str, str] = {}
    qtypes: dict[str, str] = {}
    seen_query = False
    new = tuple.__new__

    def parse(line: str, lineno: int) -> Event | None:
        nonlocal seen_query
        tok = line.split()
        p = _marker(tok)
        if p < 0:
            _not_unbound(line, clock, ref)
            return None
        kind = tok[p + 1] if p + 1 < len(tok) else ""
        if kind not in _EVENT_TYPES:
            if kind[-1:] == ":" or kind == "fatal":  # notice:, debug:, error:, fatal error:
                stamp(tok, p, line)
                return None
            raise ParseError("truncated unbound line" if not kind else "malformed unbound line")
        msg = tok[p + 2 :]
        n = len(msg)
        if n != 4 and n < 8:
            stamp(tok, p, line)
            return None  # another info: message (resolving, response for, ...)
        addr, name, qt, qclass = msg[0], msg[1], msg[2], msg[3]
        client = clients.get(addr)
        if client is None:
            client = _client(addr)
            if len(clients) >= _CACHE_MAX:
                clients.clear()
            clients[addr] = client
        if not client or name[-1:] != "." or (qclass not in _CLASSES
                                                 and not qclass.startswith("CLASS")):
            stamp(tok, p, line)
            return None  # an info: message that does not start with a client address
        if n == 4:
            seen_query = True
        else:
            if not msg[5].replace(".", "", 1).isdigit() or not msg[6].isdigit():
                stamp(tok, p, line)
                return None
            if seen_query:
                stamp(tok, p, line)
                return None  # the query line counted it
        ts = stamp(tok, p, line)
        qtype = qtypes.get(qt)
        if qtype is None:
            qtype = _qtype(qt)
            if len(qtypes) < 1000:
                qtypes[qt] = qtype
        host = hosts.get(name)
        if host is None:
            host = _host(name)
            if len(hosts) >= _CACHE_MAX:
                hosts.clear()
            hosts[name] = host
        return new(Event, (ts, "dns", client, "", host, "allowed", None, qtype, None, None,
                           None, None, None, None, None, (), lineno))

    def stamp(tok: list[str], p: int, line: str) -> float:
        if p == 1:
            key = tok[0]
        else:
            end = line.find(" ", 15)
            key = line[:end] if end > 0 else line
        got = stamps.get(key)
        if got is not None:
            return got
        got = _stamp(tok, p, line)
        if len(stamps) >= _CACHE_MAX:
            stamps.clear()
        stamps[key] = got
        return got

    def _stamp(tok: list[str], p: int, line: str) -> float:
        t0 = tok[0]
        if t0[0] == "[" and t0[-1] == "]" and p == 1:
            # "[1732874400] unbound[1234:0]"
            if not (t0.isascii() and t0[1:-1].isdigit()) or len(t0) > 14:
                raise ParseError("bad timestamp")
            return float(t0[1:-1])
        if p == 1 and len(t0) > 19 and t0[4] == "-" and t0[10] == "T":
            # log-time-iso: "2026-11-29T10:00:00.123+01:00 unbound[1234:0]"
            try:
                return iso_stamp(t0, tz)
            except ValueError:
                raise ParseError("bad timestamp") from None
        if has_syslog_header(line):
            # log-time-ascii ("Nov 29 10:00:00 unbound[1234:0] info: ...") or syslog
            return split_syslog(line, clock, ref).ts
        raise ParseError("bad timestamp")

    return parse


def _marker(tok: list[str]) -> int:
    """Index of the ``[PID:TID]`` token (alone, or ending ``IDENT[PID:TID]``), or -1."""
    for i in range(1, min(len(tok), 9)):
        t = tok[i]
        if t[-1] == "]" and ":" in t:
            b = t.rfind("[")
            if b < 0:
                continue
            pid, colon, tid = t[b + 1 : -1].partition(":")
            if colon and pid.isdigit() and tid.isalnum():
                return i
    return -1


def _not_unbound(line: str, clock: LocalClock, ref: float) -> None:
    """A line without Unbound's ``[PID:TID]``: another program in a syslog file
    (ignored), a broken Unbound line, or not a log line at all."""
    if has_syslog_header(line):
        sl = split_syslog(line, clock, ref)
        if sl.app == "unbound" or sl.host.startswith("unbound["):
            raise ParseError("truncated unbound line")
        return None
    if line[:1] == "[" and line[1:2].isdigit():
        raise ParseError("truncated unbound line")
    if not line.strip():
        return None
    raise ParseError("not an unbound log line")


def _client(addr: str) -> str:
    """The address in canonical form, or '' when the word is not an address."""
    if not (addr[:1].isdigit() or ":" in addr):
        return ""
    try:
        return str(ipaddress.ip_address(addr))
    except ValueError:
        return ""


def _qtype(text: str) -> str:
    return type_name(text, "TYPE")


_host = query_host


def render(ev: Event, pid: int = 1234, thread: int = 0) -> str:
    """The ``log-queries`` line Unbound writes to its logfile (epoch stamp) for
    this event. Sub-second time is lost."""
    name = "." if ev.host == "." else ev.host + "."
    return (f"[{int(ev.ts)}] unbound[{pid}:{thread:x}] info: {ev.client} {name} "
            f"{ev.qtype or 'A'} IN")


FORMAT = LogFormat(NAME, "dns", "Unbound log-queries / log-replies lines (file or syslog)",
                   sniff, make_parser, priority=60)
