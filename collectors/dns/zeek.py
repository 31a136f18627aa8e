"""Zeek dns.log and ssl.log, in the ASCII writer's TSV form and in JSON.

TSV (the default ``LogAscii`` output), from the Zeek manual ("Zeek Log
Formats and Inspection", ``base/frameworks/logging/writers/ascii.zeek``)::

    #separator \\x09
    #set_separator<TAB>,
    #empty_field<TAB>(empty)
    #unset_field<TAB>-
    #path<TAB>dns
    #open<TAB>2026-11-29-10-00-00
    #fields<TAB>ts<TAB>uid<TAB>id.orig_h<TAB>...
    #types<TAB>time<TAB>string<TAB>addr<TAB>...
    <records>
    #close<TAB>2026-11-29-11-00-00

* The columns are whatever ``#fields`` says (scripts add some, e.g. ``auth`` and
  ``addl``; old Bro versions lack ``rtt`` and ``rejected``; Zeek 8 adds
  ``opcode``): the parser keeps the layout in its closure, and the format sets
  ``header_lines=8`` so a read resumed mid-file replays the header first. A
  file made of several logs concatenated changes layout at each header.
* ``#separator`` is written escaped (``\\x09``); ``#unset_field`` (``-``) marks a
  field with no value, ``#empty_field`` (``(empty)``) an empty string or set.
* Strings are escaped: ``\\\\`` for a backslash and ``\\xNN`` for a byte that is not
  printable ASCII (or, with ``LogAscii::enable_utf_8``, not valid UTF-8), the
  separator or a lone unset/empty marker. They are decoded before
  `normalize_host`.

JSON (``LogAscii::use_json=T``): one object per line with the same keys
(``id.orig_h`` flattened; ``id_orig_h`` with ``Log::default_scope_sep = "_"``,
in TSV too); ``ts`` is epoch seconds by default, an ISO 8601
string with ``json_timestamps=JSON::TS_ISO8601`` or integer milliseconds with
``JSON::TS_MILLIS``. Unset fields are left out. A record exported from Splunk
(``{"result": {"_raw": "<the Zeek JSON line>", ...}}``) is unwrapped.

Events: every dns.log record with a query (client = ``id.orig_h``, qtype =
``qtype_name``, status = the numeric ``rcode``); every ssl.log record with a
``server_name`` (kind "tls", the SNI as host). Records without one are valid
and ignored.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from collections.abc import Callable, Sequence
from typing import Any

import dns.rdatatype

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.clock import iso_stamp
from collectors.errors import ParseError
from collectors.event import Event
from collectors.fold import KernelFolder
from collectors.hosts import normalize_host

DNS_FIELDS = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "trans_id",
              "rtt", "query", "qclass", "qclass_name", "qtype", "qtype_name", "rcode", "rcode_name",
              "AA", "TC", "RD", "RA", "Z", "answers", "TTLs", "rejected")
DNS_TYPES = ("time", "string", "addr", "port", "addr", "port", "enum", "count", "interval", "string",
             "count", "string", "count", "string", "count", "string", "bool", "bool", "bool", "bool",
             "count", "vector[string]", "vector[interval]", "bool")
SSL_FIELDS = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "version", "cipher",
              "curve", "server_name", "resumed", "last_alert", "next_protocol", "established",
              "ssl_history", "cert_chain_fps", "client_cert_chain_fps", "sni_matches_cert")
SSL_TYPES = ("time", "string", "addr", "port", "addr", "port", "string", "string", "string", "string",
             "bool", "string", "string", "bool", "string", "vector[string]", "vector[string]", "bool")

_HEX = frozenset("0123456789abcdefABCDEF")
_CACHE_MAX = 100_000
_MNEMONIC_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


# ---------------------------------------------------------------- shared helpers

def unescape(text: str) -> str:
    """Undo the ASCII writer's escapes: ``\\xNN`` bytes and ``\\\\``."""
    if "\\" not in text:
        return text
    out = bytearray()
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if nxt == "x" and i + 3 < n and text[i + 2] in _HEX and text[i + 3] in _HEX:
                out.append(int(text[i + 2 : i + 4], 16))
                i += 4
                continue
            if nxt == "\\":
                out.append(0x5C)
                i += 2
                continue
        out += ch.encode("utf-8", "surrogatepass")
        i += 1
    return out.decode("utf-8", errors="replace")


def escape(text: str, sep: str = "\t") -> str:
    """The ASCII writer's escaping of a string field (``enable_utf_8`` off)."""
    if text.isascii() and text.isprintable() and "\\" not in text and sep not in text:
        return text
    out: list[str] = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif " " <= ch <= "~" and ch != sep:
            out.append(ch)
        else:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
    return "".join(out)


def _host(raw: str) -> str:
    try:
        return normalize_host(unescape(raw))
    except ValueError:
        raise ParseError("invalid query name") from None


def _sni(raw: str) -> str:
    try:
        return normalize_host(unescape(raw))
    except ValueError:
        raise ParseError("invalid server name") from None


def _client(raw: str) -> str:
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        raise ParseError("bad client address") from None


def mnemonic(number: int) -> str:
    """The type mnemonic of a numeric query type (``TYPE65534`` when unnamed)."""
    if not 0 <= number <= 65535:
        raise ParseError("bad query type")
    return str(dns.rdatatype.to_text(dns.rdatatype.RdataType.make(number)))


def qtype_name(name: str, number: str | None = None) -> str | None:
    """Zeek's ``qtype_name`` (``*`` for ANY, ``query-N`` when Zeek has no
    name) as a mnemonic; ``number`` is the numeric ``qtype`` when the name is unset."""
    if name == "*":
        return "ANY"
    if name.startswith("query-"):
        num = name[6:]
        if not num.isdigit() or len(num) > 5:
            raise ParseError("bad query type")
        return mnemonic(int(num))
    if name:
        upper = name.upper()
        if len(upper) > 16 or not _MNEMONIC_CHARS.issuperset(upper):
            raise ParseError("bad query type")
        return upper
    if number:
        if not number.isdigit() or len(number) > 5:
            raise ParseError("bad query type")
        return mnemonic(int(number))
    return None


def _rcode(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 4:
        raise ParseError("bad rcode")
    return int(raw)


def _bounded(cache: dict[str, Any]) -> None:
    if len(cache) >= _CACHE_MAX:
        cache.clear()


# ---------------------------------------------------------------- TSV

class _Layout:
    """What a Zeek TSV header says, and the column indices a parser needs."""

    def __init__(self, default_fields: Sequence[str]) -> None:
        self.default_fields = tuple(default_fields)
        self.reset()

    def reset(self) -> None:
        self.sep = "\t"
        self.set_sep = ","
        self.empty = "(empty)"
        self.unset = "-"
        self.path = ""
        self.fields: tuple[str, ...] = self.default_fields

    def index(self, name: str) -> int:
        """Column of a field (``id.orig_h`` also as ``id_orig_h``, written when
        ``Log::default_scope_sep`` is ``_``), -1 when the log has none."""
        for candidate in (name, name.replace(".", "_")):
            if candidate in self.fields:
                return self.fields.index(candidate)
        return -1

    def header(self, line: str) -> bool:
        """Take in a ``#`` line; True when the layout changed."""
        if line.startswith("#separator"):
            value = unescape(line[10:].lstrip(" "))
            if not value:
                raise ParseError("bad #separator line")
            self.reset()
            self.sep = value
            return True
        parts = line.split(self.sep) if self.sep in line else line.split()
        key, values = parts[0], parts[1:]
        if key == "#fields":
            if not values:
                raise ParseError("empty #fields line")
            self.fields = tuple(values)
            return True
        if key in ("#set_separator", "#empty_field", "#unset_field", "#path"):
            value = unescape(values[0]) if values else ""
            if key == "#set_separator":
                self.set_sep = value
            elif key == "#empty_field":
                self.empty = value
            elif key == "#unset_field":
                self.unset = value
            else:
                self.path = value
            return True
        return False  # #open, #types, #close, comments


def _make_tsv_dns(ctx: ParseContext) -> LineParser:
    layout = _Layout(DNS_FIELDS)
    hosts: dict[str, str] = {}
    clients: dict[str, str] = {}
    qtypes: dict[str, str | None] = {}
    rcodes: dict[str, int | None] = {}
    new = tuple.__new__

    sep = "\t"
    its = ih = iq = iqt = iqn = irc = split = rest = 0
    unset = ""
    blank: frozenset[str] = frozenset()
    missing: str | None = None

    def configure() -> None:
        nonlocal sep, its, ih, iq, iqt, iqn, irc, split, rest, unset, blank, missing
        sep, unset = layout.sep, layout.unset
        blank = frozenset((unset, layout.empty, ""))
        nf = len(layout.fields)
        its, ih, iq = layout.index("ts"), layout.index("id.orig_h"), layout.index("query")
        iqn, iqt, irc = layout.index("qtype_name"), layout.index("qtype"), layout.index("rcode")
        missing = None if min(its, ih, iq) >= 0 else "#fields has no ts, id.orig_h or query column"
        # Split only as far as the last column read; the rest stays one string
        # whose separators are counted, to check the record has every column.
        split = min(max(its, ih, iq, iqt, iqn, irc) + 1, nf - 1)
        rest = nf - 1 - split
        rcodes.clear()
        rcodes[unset] = None
        qtypes.clear()

    configure()

    def parse(line: str, lineno: int) -> Event | None:
        if line[:1] == "#":
            if layout.header(line):
                configure()
            return None
        f = line.split(sep, split)
        if len(f) <= split or f[split].count(sep) != rest:
            raise ParseError("wrong number of fields")
        if missing is not None:
            raise ParseError(missing)
        q = f[iq]
        if q in blank:
            return None  # no question (a reply-only or malformed exchange)
        host = hosts.get(q)
        if host is None:
            host = _host(q)
            _bounded(hosts)
            hosts[q] = host
        try:
            ts = float(f[its])
        except ValueError:
            raise ParseError("bad timestamp") from None
        if not 0 <= ts < 1e11:
            raise ParseError("bad timestamp")
        raw = f[ih]
        client = clients.get(raw)
        if client is None:
            client = "" if raw == unset else _client(raw)
            _bounded(clients)
            clients[raw] = client
        if iqn >= 0:
            raw = f[iqn]
            qtype = qtypes.get(raw, "")
            if qtype == "":
                if raw in blank:
                    num = f[iqt] if iqt >= 0 else unset
                    qtype = qtype_name("", "" if num in blank else num)
                else:
                    qtype = qtype_name(raw)
                    _bounded(qtypes)
                    qtypes[raw] = qtype
        elif iqt >= 0:  # a layout with the number only
            num = f[iqt]
            qtype = None if num in blank else qtype_name("", num)
        else:
            qtype = None
        if irc >= 0:
            raw = f[irc]
            status = rcodes.get(raw, -1)
            if status == -1:
                status = rcodes[raw] = _rcode(raw)
        else:
            status = None
        return new(Event, (ts, "dns", client, "", host, "allowed", None, qtype, None, status,
                           None, None, None, None, None, (), lineno))

    return parse


def _make_tsv_ssl(ctx: ParseContext) -> LineParser:
    layout = _Layout(SSL_FIELDS)
    hosts: dict[str, str] = {}
    clients: dict[str, str] = {}
    new = tuple.__new__

    sep = "\t"
    nf = its = ih = isn = 0
    unset = ""
    blank: frozenset[str] = frozenset()
    missing: str | None = None

    def configure() -> None:
        nonlocal sep, nf, its, ih, isn, unset, blank, missing
        sep, unset = layout.sep, layout.unset
        blank = frozenset((unset, layout.empty, ""))
        nf = len(layout.fields)
        its, ih, isn = layout.index("ts"), layout.index("id.orig_h"), layout.index("server_name")
        missing = (None if min(its, ih, isn) >= 0
                   else "#fields has no ts, id.orig_h or server_name column")

    configure()

    def parse(line: str, lineno: int) -> Event | None:
        if line[:1] == "#":
            if layout.header(line):
                configure()
            return None
        f = line.split(sep)
        if len(f) != nf:
            raise ParseError("wrong number of fields")
        if missing is not None:
            raise ParseError(missing)
        sni = f[isn]
        if sni in blank:
            return None  # no SNI in the client hello
        host = hosts.get(sni)
        if host is None:
            host = _sni(sni)
            _bounded(hosts)
            hosts[sni] = host
        try:
            ts = float(f[its])
        except ValueError:
            raise ParseError("bad timestamp") from None
        if not 0 <= ts < 1e11:
            raise ParseError("bad timestamp")
        raw = f[ih]
        client = clients.get(raw)
        if client is None:
            client = "" if raw == unset else _client(raw)
            _bounded(clients)
            clients[raw] = client
        return new(Event, (ts, "tls", client, "", host, "allowed", None, None, None, None,
                           None, None, None, None, None, (), lineno))

    return parse


# ---------------------------------------------------------------- JSON

def _load(line: str) -> dict[str, Any]:
    text = line.strip()
    if not text.startswith("{"):
        raise ParseError("not a JSON object")
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        raise ParseError("invalid JSON") from None
    if not isinstance(obj, dict):
        raise ParseError("not a JSON object")
    result = obj.get("result")
    if isinstance(result, dict) and "_raw" in result and "ts" not in obj:
        # A Splunk search export: the Zeek line is the event's _raw text.
        raw = result["_raw"]
        if not isinstance(raw, str) or not raw.lstrip().startswith("{"):
            raise ParseError("Splunk export without a Zeek JSON _raw")
        try:
            obj = json.loads(raw)
        except (ValueError, RecursionError):
            raise ParseError("invalid JSON") from None
        if not isinstance(obj, dict):
            raise ParseError("not a JSON object")
    return obj


def _json_ts(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        ts = float(value)
        if ts > 1e11:  # JSON::TS_MILLIS
            ts /= 1000
    elif isinstance(value, str):
        try:
            ts = iso_stamp(value, dt.UTC)
        except ValueError:
            raise ParseError("bad timestamp") from None
    else:
        raise ParseError("bad timestamp")
    if not 0 <= ts < 1e11:
        raise ParseError("bad timestamp")
    return ts


def _json_client(obj: dict[str, Any], clients: dict[str, str]) -> str:
    raw = obj.get("id.orig_h")
    if raw is None:
        raw = obj.get("id_orig_h")  # Log::default_scope_sep = "_"
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ParseError("bad client address")
    client = clients.get(raw)
    if client is None:
        client = _client(raw)
        _bounded(clients)
        clients[raw] = client
    return client


def _make_json_dns(ctx: ParseContext) -> LineParser:
    hosts: dict[str, str] = {}
    clients: dict[str, str] = {}

    def parse(line: str, lineno: int) -> Event | None:
        obj = _load(line)
        q = obj.get("query")
        if q is None or q == "":
            return None
        if not isinstance(q, str):
            raise ParseError("invalid query name")
        host = hosts.get(q)
        if host is None:
            host = _host(q)
            _bounded(hosts)
            hosts[q] = host
        ts = _json_ts(obj.get("ts"))
        client = _json_client(obj, clients)
        name = obj.get("qtype_name")
        num = obj.get("qtype")
        if name is not None and not isinstance(name, str):
            raise ParseError("bad query type")
        if num is not None and (isinstance(num, bool) or not isinstance(num, int)):
            raise ParseError("bad query type")
        qtype = qtype_name(name or "", None if num is None else str(num))
        rcode = obj.get("rcode")
        if rcode is None:
            status = None
        elif isinstance(rcode, int) and not isinstance(rcode, bool) and 0 <= rcode <= 4095:
            status = rcode
        else:
            raise ParseError("bad rcode")
        return Event(ts, "dns", client, "", host, "allowed", None, qtype, None, status, line=lineno)

    return parse


def _make_json_ssl(ctx: ParseContext) -> LineParser:
    hosts: dict[str, str] = {}
    clients: dict[str, str] = {}

    def parse(line: str, lineno: int) -> Event | None:
        obj = _load(line)
        sni = obj.get("server_name")
        if sni is None or sni == "":
            return None
        if not isinstance(sni, str):
            raise ParseError("invalid server name")
        host = hosts.get(sni)
        if host is None:
            host = _sni(sni)
            _bounded(hosts)
            hosts[sni] = host
        ts = _json_ts(obj.get("ts"))
        client = _json_client(obj, clients)
        return Event(ts, "tls", client, "", host, "allowed", line=lineno)

    return parse


# ---------------------------------------------------------------- sniffing

def _tsv_path(lines: Sequence[str]) -> str | None:
    """The ``#path`` of a Zeek TSV header (``""`` if the header names none)."""
    if not any(ln.startswith("#separator") for ln in lines[:3]):
        return None
    for ln in lines:
        if ln.startswith("#path"):
            parts = ln.split()
            return parts[1] if len(parts) == 2 else ""
    return ""


def _tsv_fields(lines: Sequence[str]) -> set[str]:
    for ln in lines:
        if ln.startswith("#fields"):
            return set(ln.split()[1:])
    return set()


def sniff_tsv_dns(lines: Sequence[str]) -> bool:
    path = _tsv_path(lines)
    return path == "dns" or (path == "" and {"uid", "query", "qtype_name"} <= _tsv_fields(lines))


def sniff_tsv_ssl(lines: Sequence[str]) -> bool:
    path = _tsv_path(lines)
    return path == "ssl" or (path == "" and {"uid", "server_name", "cipher"} <= _tsv_fields(lines))


def _json_objects(lines: Sequence[str]) -> list[dict[str, Any] | None]:
    out: list[dict[str, Any] | None] = []
    for ln in lines:
        try:
            obj = _load(ln)
        except ParseError:
            obj = None
        out.append(obj)
    return out


def _has_conn_id(obj: dict[str, Any] | None) -> bool:
    return obj is not None and "uid" in obj and ("id.orig_h" in obj or "id_orig_h" in obj)


def _is_dns_record(obj: dict[str, Any] | None) -> bool:
    return obj is not None and _has_conn_id(obj) and (
        "query" in obj or "qtype_name" in obj or "trans_id" in obj)


def _is_ssl_record(obj: dict[str, Any] | None) -> bool:
    if obj is None or not _has_conn_id(obj) or "query" in obj:
        return False
    version = obj.get("version")
    return "server_name" in obj or "cipher" in obj or (
        isinstance(version, str) and version.startswith(("TLS", "SSL", "DTLS")))


def _sniff_json(lines: Sequence[str], test: Callable[[dict[str, Any] | None], bool]) -> bool:
    if not lines or not lines[0].lstrip().startswith("{"):
        return False
    objs = _json_objects(lines)
    hits = sum(1 for o in objs if test(o))
    return hits > 0 and hits * 2 >= len(objs)


def sniff_json_dns(lines: Sequence[str]) -> bool:
    return _sniff_json(lines, _is_dns_record)


def sniff_json_ssl(lines: Sequence[str]) -> bool:
    return _sniff_json(lines, _is_ssl_record)


# ---------------------------------------------------------------- rendering

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def uid(serial: int) -> str:
    """A Zeek-looking connection uid (``C`` + 17 base-62 digits) for a serial."""
    n = (serial * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % (62 ** 17)
    digits = []
    for _ in range(17):
        n, r = divmod(n, 62)
        digits.append(_B62[r])
    return "C" + "".join(digits)


def _qtype_number(name: str | None) -> int:
    if not name:
        return 1
    if name == "ANY":
        return 255
    try:
        return int(dns.rdatatype.from_text(name))
    except (dns.rdatatype.UnknownRdatatype, ValueError):
        return 0


def zeek_time(ts: float) -> str:
    return f"{ts:.6f}"


def header(path: str = "dns", ts: float = 0.0, fields: Sequence[str] | None = None,
           types: Sequence[str] | None = None) -> list[str]:
    """The eight header lines Zeek writes at the top of a TSV log opened at ``ts``."""
    if fields is None:
        fields, types = (DNS_FIELDS, DNS_TYPES) if path == "dns" else (SSL_FIELDS, SSL_TYPES)
    opened = dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d-%H-%M-%S")
    return ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-",
            f"#path\t{path}", f"#open\t{opened}", "#fields\t" + "\t".join(fields),
            "#types\t" + "\t".join(types or ())]


def footer(ts: float) -> str:
    """The ``#close`` line Zeek writes when it rotates the log at ``ts``."""
    return "#close\t" + dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d-%H-%M-%S")


def render(ev: Event, serial: int = 0) -> str:
    """A dns.log record line (default ``#fields``) for this event."""
    qname = ev.qtype or "A"
    qnum = _qtype_number(ev.qtype)
    rcode = "-" if ev.status is None else str(ev.status)
    rname = "-" if ev.status is None else _RCODE_NAMES.get(ev.status, f"rcode-{ev.status}")
    answered = ev.status is not None
    rtt = f"{0.001 + (serial % 97) / 1000:.6f}" if answered else "-"
    answers = "93.184.216.34" if ev.status == 0 and qname == "A" else "-"
    ttls = "300.000000" if answers != "-" else "-"
    return "\t".join((
        zeek_time(ev.ts), uid(serial), ev.client or "-", str(30000 + serial % 30000), "10.0.0.53",
        "53", "udp", str(serial % 65536), rtt, escape(ev.host), "1", "C_INTERNET", str(qnum),
        "*" if qname == "ANY" else qname, rcode, rname, "F", "F", "T", "T" if answered else "F",
        "0", answers, ttls, "F"))


def render_ssl(ev: Event, serial: int = 0) -> str:
    """An ssl.log record line (default ``#fields``) for this TLS event."""
    return "\t".join((
        zeek_time(ev.ts), uid(serial), ev.client or "-", str(40000 + serial % 20000), "93.184.216.34",
        "443", "TLSv13", "TLS_AES_128_GCM_SHA256", "x25519", escape(ev.host), "F", "-", "h2", "T",
        "CsiI", "(empty)", "(empty)", "-"))


def render_json(ev: Event, serial: int = 0) -> str:
    """A dns.log record as ``LogAscii::use_json=T`` writes it."""
    rec: dict[str, Any] = {"ts": ev.ts, "uid": uid(serial), "id.orig_h": ev.client,
                           "id.orig_p": 30000 + serial % 30000, "id.resp_h": "10.0.0.53",
                           "id.resp_p": 53, "proto": "udp", "trans_id": serial % 65536,
                           "query": ev.host}
    if ev.qtype:
        rec.update(qclass=1, qclass_name="C_INTERNET", qtype=_qtype_number(ev.qtype),
                   qtype_name="*" if ev.qtype == "ANY" else ev.qtype)
    if ev.status is not None:
        rec.update(rcode=ev.status, rcode_name=_RCODE_NAMES.get(ev.status, f"rcode-{ev.status}"))
    rec.update(AA=False, TC=False, RD=True, RA=ev.status is not None, Z=0, rejected=False)
    return json.dumps(rec, separators=(",", ":"))


def render_ssl_json(ev: Event, serial: int = 0) -> str:
    """An ssl.log record as ``LogAscii::use_json=T`` writes it."""
    rec = {"ts": ev.ts, "uid": uid(serial), "id.orig_h": ev.client,
           "id.orig_p": 40000 + serial % 20000, "id.resp_h": "93.184.216.34", "id.resp_p": 443,
           "version": "TLSv13", "cipher": "TLS_AES_128_GCM_SHA256", "curve": "x25519",
           "server_name": ev.host, "resumed": False, "next_protocol": "h2", "established": True,
           "ssl_history": "CsiI"}
    return json.dumps(rec, separators=(",", ":"))


_RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


# ---------------------------------------------------------------- compiled fold

class ZeekFolder(KernelFolder):
    """`collectors._fold.ZeekKernel` for dns.log TSV.

    It keeps its own copy of the header state, fed the same ``#`` lines in the
    same order as the line parser (the kernel stops at each one; `prime` takes
    the header replayed when a read resumes), so both always agree on columns.
    """

    def __init__(self, ctx: ParseContext, kernel_type: Any) -> None:
        self.layout = _Layout(DNS_FIELDS)
        super().__init__(ctx, kernel_type, canonical_clients=True)
        self._configure()

    def _configure(self) -> None:
        lay = self.layout
        self.kernel.configure(len(lay.fields), lay.index("ts"), lay.index("id.orig_h"),
                              lay.index("query"), lay.index("qtype_name"), lay.index("rcode"),
                              lay.sep == "\t" and lay.unset == "-")

    def _minute(self, minute: int) -> int:
        return self.bucket(minute * 60)

    def prime(self, line: str) -> None:
        """A line replayed from the top of the file (resuming a read)."""
        if line[:1] == "#":
            self._header(line)

    def _header(self, line: str) -> None:
        try:
            changed = self.layout.header(line)
        except ParseError:
            return  # the line parser rejects it, and its layout stays as it was too
        if changed:
            self._configure()

    def fold(self, data: bytes) -> tuple[int, list[int], int]:
        idx, pos, out = 0, 0, []
        while True:
            idx, slow, stop = self.kernel.fold(data, pos, idx)
            out.extend(slow)
            if stop < 0:
                return int(idx), out, self._ignored()
            end = data.find(b"\n", stop)
            raw = data[stop:] if end < 0 else data[stop:end]
            self._header(raw.decode("utf-8", errors="replace").removesuffix("\r"))
            out.append(idx)  # the parser reads the header line too
            idx += 1
            if end < 0:
                return int(idx), out, self._ignored()
            pos = end + 1


def _make_tsv_dns_folder(ctx: ParseContext) -> ZeekFolder | None:
    return ZeekFolder.compiled(ctx, "ZeekKernel")


FORMATS = (
    LogFormat("zeek_dns", "dns", "Zeek dns.log (ASCII writer, TSV with #fields header)",
              sniff_tsv_dns, _make_tsv_dns, make_folder=_make_tsv_dns_folder, header_lines=8,
              priority=50),
    LogFormat("zeek_dns_json", "dns", "Zeek dns.log (LogAscii::use_json=T, one JSON object a line)",
              sniff_json_dns, _make_json_dns, priority=50),
    LogFormat("zeek_ssl", "tls", "Zeek ssl.log (ASCII writer, TSV with #fields header): TLS SNI",
              sniff_tsv_ssl, _make_tsv_ssl, header_lines=8, priority=50),
    LogFormat("zeek_ssl_json", "tls", "Zeek ssl.log (LogAscii::use_json=T): TLS SNI",
              sniff_json_ssl, _make_json_ssl, priority=50),
)
