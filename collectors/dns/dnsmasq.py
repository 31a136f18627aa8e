"""dnsmasq query log (``log-queries``), and Pi-hole's ``pihole.log``.

Pi-hole FTL embeds dnsmasq and writes the same lines to
``/var/log/pihole/pihole.log`` (``/var/log/pihole.log`` before v6), so one
format reads both. From dnsmasq's ``log.c`` (``my_syslog``) and ``cache.c``
(``log_query``), as copied into Pi-hole FTL:

    Mmm dd hh:mm:ss dnsmasq[PID]: query[TYPE] NAME from CLIENT      (log-facility=FILE)
    Mmm dd hh:mm:ss HOST dnsmasq[PID]: query[TYPE] NAME from CLIENT (through syslog)
    ... dnsmasq[PID]: SERIAL ADDR/PORT query[TYPE] NAME from CLIENT (log-queries=extra)
    ... dnsmasq[PID]: UDP SERIAL ADDR/PORT query[TYPE] NAME from CLIENT  (log-queries=proto,
                                                                    Pi-hole's extraLogging)

* The stamp is ``ctime()`` without weekday and year, the day padded with a
  space (``Nov  9``), in the server's local zone (the source's ``tz``); the
  year is inferred from the context's reference. Other headers read: syslog
  with ``<PRI>``, rsyslog's RFC 3339 stamps, RFC 5424, BusyBox syslogd's
  ``HOST FACILITY.LEVEL TAG:``, and OpenWrt's logd/logread file
  (``Sun Nov 29 10:00:00 2026 [EPOCH.MS] daemon.info dnsmasq[PID]: ...``).
* ``TYPE`` is the mnemonic from dnsmasq's type table, or ``type=N`` for a type
  the table lacks (``type=65`` from dnsmasq < 2.86): those are mapped to their
  mnemonic with dnspython.
* Only ``query[...]`` lines are events. Everything else dnsmasq or FTL logs is
  valid and ignored: ``forwarded``, ``reply``, ``cached``, ``cached-stale``,
  ``config``, hosts-file answers (``/etc/hosts NAME is ADDR``), ``DHCP``,
  ``validation``, ``dnssec-query[DS]``, ``auth[...]`` (queries to an
  authoritative zone the server itself hosts), Pi-hole's verdicts
  (``gravity blocked``, ``regex blacklisted``/``regex denied``, ``exactly
  blacklisted``/``exactly denied``, ``special domain``, ``Pi-hole hostname``,
  ``Rate-limiting``, ...), start-up and cache-dump messages, and the other
  dnsmasq subsystems (``dnsmasq-dhcp[...]``, ``dnsmasq-tftp``, ``-script``).
  In a shared syslog file, lines of other programs are ignored too.
* Blocked queries: Pi-hole logs its verdict (``gravity blocked NAME is
  0.0.0.0``) on a line after the query. The query event stays ``allowed``:
  a blocked lookup still shows that a device tried to use the service, and
  only ``log-queries=extra`` (the serial) ties the verdict to its query
  reliably; without it, concurrent queries for the same name interleave.
  Marking such events blocked would mean holding each query back until its
  verdict (or the next query with its serial) arrives.
* A line without a stamp (``dnsmasq[1]: ...``, dnsmasq logging to stderr in a
  container) is rejected: the time is unknown.

Parsing is by string search; the common file/syslog stamp takes a fast path
with per-second stamp and per-tag caches.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import Any

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.clock import MONTHS, LocalClock
from collectors.dns.common import client_address, query_host, type_name
from collectors.errors import ParseError
from collectors.event import Event
from collectors.fold import KernelFolder
from collectors.syslog import has_syslog_header, split_syslog

NAME = "dnsmasq"

_DNS_TAGS = frozenset({"dnsmasq", "pihole-FTL"})
_SNIFF_WORDS = (" query[", " forwarded ", " reply ", " cached ", " gravity blocked ", " config ")
_WEEKDAYS = frozenset({"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"})
_CACHE_MAX = 100_000


def sniff(lines: Sequence[str]) -> bool:
    tagged = [ln for ln in lines if "dnsmasq[" in ln or "pihole-FTL[" in ln]
    if not tagged or len(tagged) * 2 < len(lines):
        return False
    return any(w in ln for ln in tagged for w in _SNIFF_WORDS)


def make_parser(ctx: ParseContext) -> LineParser:
    clock = LocalClock(ctx.tz)
    tz = ctx.tz
    ref = ctx.reference.timestamp() if ctx.reference else time.time()
    stamps: dict[str, float] = {}
    heads: dict[str, bool] = {}
    hosts: dict[str, str] = {}
    clients: dict[str, str] = {}
    qtypes: dict[str, str] = {}
    new = tuple.__new__

    def syslog_stamp(stamp: str) -> float:
        try:
            ts = clock.syslog_stamp(stamp, ref)
        except ValueError:
            if stamp[:3].lower() in MONTHS:
                raise ParseError("bad timestamp") from None
            raise ParseError("not a dnsmasq log line") from None
        if len(stamps) >= _CACHE_MAX:
            stamps.clear()
        stamps[stamp] = ts
        return ts

    def parse(line: str, lineno: int) -> Event | None:
        if len(line) > 16 and line[3] == " " and line[15] == " ":
            # Fast path: "Nov 29 10:00:00 [HOST ]TAG[PID]: MESSAGE"
            ts = stamps.get(line[:15])
            if ts is None:
                ts = syslog_stamp(line[:15])
            rest = line[16:]
            c = rest.find(": ")
            if c < 0:
                return None  # a syslog line without a tag: not dnsmasq's
            head = rest[:c]
            dns_tag = heads.get(head)
            if dns_tag is None:
                dns_tag = _classify(head)
                if len(heads) >= 10_000:
                    heads.clear()
                heads[head] = dns_tag
            if not dns_tag:
                return None
            msg = rest[c + 2 :]
        else:
            ts, found = _slow_header(line)
            if found is None:
                return None
            msg = found
        if msg[:6] == "query[":
            body = msg[6:]
        else:
            i = msg.find(" query[")
            if i < 0:
                return None  # forwarded, reply, cached, Pi-hole's verdicts, ...
            _check_extra(msg[:i])
            body = msg[i + 7 :]
        b = body.find("] ")
        if b <= 0:
            raise ParseError("malformed query line")
        qt = body[:b]
        parts = body[b + 2 :].rsplit(" ", 2)
        if len(parts) != 3 or parts[1] != "from":
            raise ParseError("malformed query line")
        name, _, addr = parts
        qtype = qtypes.get(qt)
        if qtype is None:
            qtype = _qtype(qt)
            if len(qtypes) < 1000:
                qtypes[qt] = qtype
        client = clients.get(addr)
        if client is None:
            client = _client(addr)
            if len(clients) >= _CACHE_MAX:
                clients.clear()
            clients[addr] = client
        host = hosts.get(name)
        if host is None:
            host = _host(name)
            if len(hosts) >= _CACHE_MAX:
                hosts.clear()
            hosts[name] = host
        return new(Event, (ts, "dns", client, "", host, "allowed", None, qtype, None, None,
                           None, None, None, None, None, (), lineno))

    def _slow_header(line: str) -> tuple[float, str | None]:
        """(ts, message) of a dnsmasq line in a less common header; message None
        for a valid line of another program or dnsmasq subsystem."""
        if has_syslog_header(line):
            sl = split_syslog(line, clock, ref)
            if sl.app:
                return sl.ts, (sl.msg if sl.app in _DNS_TAGS else None)
            if sl.host.endswith(":"):
                # No host name: "<30>Nov 29 10:00:00 dnsmasq[1234]: ..." (the
                # header as dnsmasq writes it to /dev/log).
                return sl.ts, (sl.msg if _classify(sl.host[:-1]) else None)
            # "HOST FACILITY.LEVEL TAG[PID]: ..." (BusyBox syslogd)
            head, sep, msg = sl.msg.partition(": ")
            return sl.ts, (msg if sep and _classify(head) else None)
        if line[:3] in _WEEKDAYS and len(line) > 25 and line[24] == " ":
            # OpenWrt's logd/logread: "Sun Nov 29 10:00:00 2026 daemon.info dnsmasq[1]: ...",
            # with "-t" "[EPOCH.MS] " before the facility.
            ts = stamps.get(line[:24])
            if ts is None:
                ts = _ctime_stamp(line[:24], tz)
                if len(stamps) >= _CACHE_MAX:
                    stamps.clear()
                stamps[line[:24]] = ts
            rest = line[25:]
            if rest[:1] == "[":
                end = rest.find("] ")
                try:
                    ts = float(rest[1:end])
                except ValueError:
                    raise ParseError("bad timestamp") from None
                if end < 0 or not 0 <= ts < 1e11:
                    raise ParseError("bad timestamp")
                rest = rest[end + 2 :]
            head, sep, msg = rest.partition(": ")
            if not sep:
                return ts, None
            return ts, (msg if _classify(head) else None)
        if line.startswith(("dnsmasq[", "dnsmasq:", "pihole-FTL[")):
            raise ParseError("no timestamp")
        raise ParseError("not a dnsmasq log line")

    return parse


def _classify(head: str) -> bool:
    """Is ``[HOST ][FACILITY.LEVEL ]TAG[PID]`` dnsmasq's DNS side (True) or
    anything else (False)? (BusyBox syslogd and OpenWrt's logd write the
    facility and level before the tag.)"""
    sp = head.rfind(" ")
    if sp >= 0:
        before = head[:sp].split(" ")
        if len(before) > 2 or (len(before) == 2 and "." not in before[1]):
            return False  # more words than "HOST TAG": a message, not a tag
    tag = head[sp + 1 :]
    name, br, pid = tag.partition("[")
    if br and not (pid.endswith("]") and pid[:-1].isdigit()):
        return False
    return name in _DNS_TAGS


def _check_extra(prefix: str) -> None:
    """``[UDP|TCP ]SERIAL[ ADDR/PORT]`` before ``query[`` (log-queries=extra/proto)."""
    tok = prefix.split(" ")
    if tok[0] in ("UDP", "TCP"):
        if len(tok) == 1:
            return
        tok = tok[1:]
    if not tok[0].isdigit() or len(tok) > 2 or (len(tok) == 2 and "/" not in tok[1]):
        raise ParseError("malformed query line")


def _ctime_stamp(stamp: str, tz: dt.tzinfo) -> float:
    """``Fri Nov 29 10:00:00 2026`` (``ctime()`` with weekday and year) in ``tz``."""
    try:
        if stamp[7] != " " or stamp[10] != " " or stamp[13] != ":" or stamp[16] != ":":
            raise ValueError
        month = MONTHS[stamp[4:7].lower()]
        t = dt.datetime(int(stamp[20:24]), month, int(stamp[8:10]), int(stamp[11:13]),
                        int(stamp[14:16]), int(stamp[17:19]), tzinfo=tz)
    except (ValueError, KeyError, IndexError):
        raise ParseError("bad timestamp") from None
    return t.timestamp()


def _qtype(text: str) -> str:
    return type_name(text, "type=")


_client = client_address
_host = query_host


def render(ev: Event, pid: int = 1234, serial: int | None = None) -> str:
    """The line dnsmasq writes to its log file for this query (UTC zone).

    With ``serial``, the ``log-queries=extra`` form. Sub-second time is lost.
    """
    t = dt.datetime.fromtimestamp(ev.ts, dt.UTC)
    stamp = f"{t:%b} {t.day:2d} {t:%H:%M:%S}"
    extra = "" if serial is None else f"{serial} {ev.client}/{40000 + serial % 20000} "
    return f"{stamp} dnsmasq[{pid}]: {extra}query[{ev.qtype or 'A'}] {ev.host} from {ev.client}"


class DnsmasqFolder(KernelFolder):
    """`collectors._fold.DnsmasqKernel`: minutes are syslog stamps (year inferred)."""

    def __init__(self, ctx: ParseContext, kernel_type: Any) -> None:
        self.clock = LocalClock(ctx.tz)
        self.ref = ctx.reference.timestamp() if ctx.reference else time.time()
        super().__init__(ctx, kernel_type, canonical_clients=True)

    def _minute(self, key: bytes) -> tuple[int, int] | None:
        try:
            ts = self.clock.syslog_stamp(key.decode("ascii") + ":00", self.ref)
        except (ValueError, UnicodeDecodeError):
            return None
        return self.bucket(ts), round(ts * 1000)

    def host(self, name: str) -> str | None:
        return None if name == "." else super().host(name)  # "." stays with the parser


def make_folder(ctx: ParseContext) -> DnsmasqFolder | None:
    return DnsmasqFolder.compiled(ctx, "DnsmasqKernel")


FORMAT = LogFormat(NAME, "dns", "dnsmasq log-queries output, incl. Pi-hole's pihole.log",
                   sniff, make_parser, make_folder, priority=60)
