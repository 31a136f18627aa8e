"""Packet captures (pcap and pcapng): DNS queries and TLS ClientHello server names.

One format, ``pcap``, reads both container formats, plain or gzip'd:

* classic pcap (draft-ietf-opsawg-pcap): a 24-byte global header whose magic
  gives the byte order and the stamp precision (``a1b2c3d4`` microseconds,
  ``a1b23c4d`` nanoseconds), then records of a 16-byte header and the frame;
* pcapng (draft-ietf-opsawg-pcapng): blocks; Section Header (byte order),
  Interface Description (link type, ``if_tsresol``), Enhanced and Simple Packet
  blocks. Other blocks are skipped.

Records are read with scapy's raw readers (`scapy.utils.RawPcapReader`,
`RawPcapNgReader`): scapy never dissects a packet, that would be far too slow.
Frames are sliced here: Ethernet (with 802.1Q / 802.1ad tags), Linux cooked
(SLL, SLL2), raw IP, BSD loopback; IPv4 (options; fragments after the first
are ignored) and IPv6 (hop-by-hop, routing, destination-options, fragment and
AH headers are skipped); UDP and TCP. Then:

* a DNS query (QR=0, opcode QUERY) to port 53 over UDP, or over TCP when one
  segment holds the 2-byte length and the whole message (RFC 7766 streams are
  not reassembled; a message split across segments is rejected; of several
  messages in one segment the first is read) -> kind ``dns``, client = source
  address, host = QNAME, qtype = mnemonic. The question is decoded with
  `dns.name.from_wire` (dnspython), not `dns.message.from_wire`: the latter
  costs ~50 µs a message, ten times the question alone. Decoded questions are
  cached by their wire bytes. Sections after the question are not checked.
* a TLS ClientHello (a TCP payload starting with a handshake record, ``16 03``,
  of handshake type 1, on any port) -> kind ``tls``, host = the server_name
  extension (RFC 6066), parsed here within the record's bounds. A ClientHello
  longer than one segment (post-quantum key shares make them ~1.8 kB) is
  followed into the next in-order segments of the same flow, up to 32 KiB;
  one that never completes is counted as ignored. No SNI: ignored. With ECH
  the outer (public) name is what is seen. QUIC (UDP 443) is out of scope.
* DNS responses, traffic from port 53, other ports and protocols, ARP and the
  like are ignored. Truncated or malformed frames and DNS messages are
  rejected with a short reason and the read goes on.

Checkpoints: ``offset`` is the byte offset of the next record in the
decompressed stream, ``line`` the number of records (packets) before it. A
classic pcap resumes by re-reading its global header and seeking. A pcapng
resumes by walking the block headers before the offset and re-reading only
the Section Header and Interface Description blocks (byte order, link types,
stamp resolution). A record cut off at the end of the file is rejected (or,
with ``final=False``, left for the next read); the checkpoint stays at its
start so it is read whole once the capture has grown.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging
import socket
import struct
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import dns.exception
import dns.name
import dns.rdatatype

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.driver import Batch, ReadStats, Rejected, open_stream
from collectors.errors import ParseError
from collectors.event import Event
from collectors.hosts import normalize_host

NAME = "pcap"
BATCH = 10_000
MAX_RECORD = 256 * 1024
"""Largest frame read from a record (libpcap's own snapshot limit)."""
_SCAPY_MAX_READ = 0xFFFF * 4
"""What scapy reads of a record at most; the rest it skips."""
MAX_BLOCK = 16 * 1024 * 1024
"""Largest pcapng block accepted (a bad length otherwise reads the whole file)."""
MAX_HELLO = 32 * 1024
MAX_PENDING = 4096
SAMPLE_BYTES = 256

_PCAP_MAGICS = {
    b"\xa1\xb2\xc3\xd4": (">", False), b"\xd4\xc3\xb2\xa1": ("<", False),
    b"\xa1\xb2\x3c\x4d": (">", True), b"\x4d\x3c\xb2\xa1": ("<", True),
}
_PCAPNG = b"\x0a\x0d\x0d\x0a"
_BOMS = (b"\x1a\x2b\x3c\x4d", b"\x4d\x3c\x2b\x1a")

# Link types (https://www.tcpdump.org/linktypes.html)
LINK_NULL, LINK_ETHERNET, LINK_RAW, LINK_LOOP = 0, 1, 101, 108
LINK_SLL, LINK_SLL2, LINK_IPV4, LINK_IPV6 = 113, 276, 228, 229
_RAW_LINKS = frozenset((LINK_RAW, 12, 14))
_VLAN = frozenset((0x8100, 0x88A8, 0x9100))

_new = tuple.__new__


def sniff(lines: Sequence[str]) -> bool:
    return False


def sniff_bytes(head: bytes) -> bool:
    if head[:4] in _PCAP_MAGICS:
        return len(head) >= 24
    return head[:4] == _PCAPNG and head[8:12] in _BOMS


def make_parser(ctx: ParseContext) -> LineParser:
    def parse(line: str, lineno: int) -> Event | None:
        raise ParseError("binary format: use read_records")

    return parse


# --- DNS question ---------------------------------------------------------

_QUESTIONS: dict[bytes, tuple[str, str]] = {}
_QUESTIONS_MAX = 200_000
_QTYPES: dict[int, str] = {}


def dns_question(msg: bytes, queries_only: bool = True) -> tuple[str, str] | None:
    """(host, qtype mnemonic) of a DNS message's first question.

    None for a message that is valid but shows no lookup: a response (when
    ``queries_only``), another opcode (NOTIFY, UPDATE), no question. Raises
    ParseError for a truncated or malformed header or question.
    """
    n = len(msg)
    if n < 12:
        raise ParseError("truncated DNS header")
    flags = msg[2]
    if (queries_only and flags & 0x80) or flags & 0x78:
        return None
    if not (msg[4] or msg[5]):
        return None
    z = msg.find(b"\x00", 12)
    key = msg[12 : z + 5] if z >= 0 else b""
    if z >= 0 and z + 5 <= n:
        got = _QUESTIONS.get(key)
        if got is not None:
            return got
    try:
        name, used = dns.name.from_wire(msg, 12)
    except dns.exception.DNSException:
        raise ParseError("malformed DNS question") from None
    end = 12 + used
    if end + 4 > n:
        raise ParseError("truncated DNS question")
    code = (msg[end] << 8) | msg[end + 1]
    qtype = _QTYPES.get(code)
    if qtype is None:
        qtype = _QTYPES[code] = dns.rdatatype.to_text(code)  # type: ignore[arg-type]
    got = (_name_host(name.labels), qtype)
    if end == z + 1:  # no compression pointer, no NUL inside a label: the key is the name
        if len(_QUESTIONS) >= _QUESTIONS_MAX:
            _QUESTIONS.clear()
        _QUESTIONS[key] = got
    return got


def _name_host(labels: tuple[bytes, ...]) -> str:
    if len(labels) <= 1:
        return "."
    try:
        text = b".".join(labels[:-1]).decode("ascii")
    except UnicodeDecodeError:
        raise ParseError("invalid query name") from None
    if text.count(".") != len(labels) - 2:
        raise ParseError("invalid query name")  # a dot inside a label
    try:
        return normalize_host(text)
    except ValueError:
        raise ParseError("invalid query name") from None


# --- TLS ClientHello ------------------------------------------------------

class _Incomplete(Exception):
    """The ClientHello goes on in a later segment."""


def client_hello_sni(data: bytes) -> str | None:
    """The server_name (host_name type) of a ClientHello at the start of ``data``.

    ``data`` is a TCP stream from its first byte: TLS records of type
    handshake (22). Returns None when the ClientHello has no SNI; raises
    `_Incomplete` when more bytes are needed, ParseError when it is malformed.
    """
    hs = b""
    p, n = 0, len(data)
    hlen = -1
    while True:
        if p + 5 > n:
            raise _Incomplete
        if data[p] != 0x16 or data[p + 1] != 3:
            raise ParseError("malformed TLS record")
        rlen = (data[p + 3] << 8) | data[p + 4]
        if rlen == 0 or rlen > 18432:
            raise ParseError("bad TLS record length")
        hs += data[p + 5 : p + 5 + rlen]
        whole = p + 5 + rlen <= n
        p += 5 + rlen
        if hlen < 0 and len(hs) >= 4:
            if hs[0] != 1:
                raise ParseError("malformed TLS record")
            hlen = int.from_bytes(hs[1:4], "big")
            if hlen < 38 or hlen > MAX_HELLO:
                raise ParseError("bad TLS ClientHello length")
        if hlen >= 0 and len(hs) >= 4 + hlen:
            break
        if not whole:
            break
    body = hs[4 : 4 + hlen] if hlen >= 0 else b""
    complete = hlen >= 0 and len(body) == hlen
    if hlen < 0:
        raise _Incomplete
    return _hello_sni(body, complete)


def _hello_sni(body: bytes, complete: bool) -> str | None:
    n = len(body)

    def short() -> Exception:
        return ParseError("malformed TLS ClientHello") if complete else _Incomplete()

    q = 34  # legacy_version, random
    if q + 1 > n:
        raise short()
    q += 1 + body[q]  # legacy_session_id
    if q + 2 > n:
        raise short()
    q += 2 + ((body[q] << 8) | body[q + 1])  # cipher_suites
    if q + 1 > n:
        raise short()
    q += 1 + body[q]  # legacy_compression_methods
    if q > n:
        raise short()
    if q == n and complete:
        return None  # no extensions
    if q + 2 > n:
        raise short()
    ext_end = q + 2 + ((body[q] << 8) | body[q + 1])
    if complete and ext_end > n:
        raise ParseError("malformed TLS ClientHello")
    q += 2
    while q + 4 <= ext_end:
        if q + 4 > n:
            raise short()
        etype = (body[q] << 8) | body[q + 1]
        elen = (body[q + 2] << 8) | body[q + 3]
        q += 4
        if etype == 0:
            if q + elen > n or q + elen > ext_end:
                if complete or q + elen > ext_end:
                    raise ParseError("malformed TLS server_name extension")
                raise _Incomplete
            return _server_name(body[q : q + elen])
        q += elen
    if q > ext_end or (complete and q != ext_end):
        raise ParseError("malformed TLS ClientHello")
    if q > n:
        raise short()
    return None


def _server_name(ext: bytes) -> str | None:
    if len(ext) < 2 or ((ext[0] << 8) | ext[1]) != len(ext) - 2:
        raise ParseError("malformed TLS server_name extension")
    p = 2
    while p + 3 <= len(ext):
        ntype, nlen = ext[p], (ext[p + 1] << 8) | ext[p + 2]
        name = ext[p + 3 : p + 3 + nlen]
        if len(name) != nlen:
            raise ParseError("malformed TLS server_name extension")
        if ntype == 0:
            try:
                return normalize_host(name.decode("ascii"))
            except (UnicodeDecodeError, ValueError):
                raise ParseError("invalid server name") from None
        p += 3 + nlen
    if p != len(ext):
        raise ParseError("malformed TLS server_name extension")
    return None


# --- frames ---------------------------------------------------------------

Found = tuple[str, str, str, "str | None"]
"""(kind, client, host, qtype) of a frame that shows use of a host."""


class Decoder:
    """Slices frames down to DNS queries and ClientHellos.

    Keeps the ClientHellos awaiting their next segment, per flow.
    """

    def __init__(self) -> None:
        self.clients: dict[bytes, str] = {}
        self.pending: dict[tuple[bytes, bytes, int, int], tuple[int, bytes]] = {}

    def frame(self, f: bytes, linktype: int) -> Found | None:
        """What a frame shows; None if nothing (valid but ignored); ParseError if broken."""
        n = len(f)
        if linktype == LINK_ETHERNET:
            if n < 14:
                raise ParseError("truncated Ethernet header")
            et = (f[12] << 8) | f[13]
            off = 14
            while et in _VLAN:
                if n < off + 4:
                    raise ParseError("truncated VLAN tag")
                et = (f[off + 2] << 8) | f[off + 3]
                off += 4
        elif linktype == LINK_SLL:
            if n < 16:
                raise ParseError("truncated Linux cooked header")
            et, off = (f[14] << 8) | f[15], 16
        elif linktype == LINK_SLL2:
            if n < 20:
                raise ParseError("truncated Linux cooked header")
            et, off = (f[0] << 8) | f[1], 20
        elif linktype in _RAW_LINKS or linktype in (LINK_IPV4, LINK_IPV6):
            if not n:
                raise ParseError("truncated IPv4 header")
            v = f[0] >> 4
            et, off = (0x0800 if v == 4 else 0x86DD if v == 6 else -1), 0
            if et < 0:
                raise ParseError("bad IP version")
        elif linktype in (LINK_NULL, LINK_LOOP):
            if n < 4:
                raise ParseError("truncated loopback header")
            # NULL: the family in the writer's byte order (a small number: its
            # first byte is zero when big-endian); LOOP: always big-endian.
            fam = int.from_bytes(f[:4], "big" if linktype == LINK_LOOP or not f[0] else "little")
            et, off = (0x0800 if fam == 2 else 0x86DD if fam in (10, 24, 28, 30) else -1), 4
        else:
            raise ParseError("unsupported link type")
        if et == 0x0800:
            if n - off < 20:
                raise ParseError("truncated IPv4 header")
            vihl = f[off]
            if vihl >> 4 != 4:
                raise ParseError("bad IP version")
            ihl = (vihl & 15) << 2
            total = (f[off + 2] << 8) | f[off + 3]
            if ihl < 20 or total < ihl:
                raise ParseError("bad IPv4 header length")
            end = off + total
            if end > n:
                raise ParseError("truncated IPv4 packet")
            if (f[off + 6] & 0x1F) or f[off + 7]:
                return None  # a fragment after the first
            proto = f[off + 9]
            src, dst = f[off + 12 : off + 16], f[off + 16 : off + 20]
            p = off + ihl
        elif et == 0x86DD:
            if n - off < 40:
                raise ParseError("truncated IPv6 header")
            if f[off] >> 4 != 6:
                raise ParseError("bad IP version")
            end = off + 40 + ((f[off + 4] << 8) | f[off + 5])
            if end > n:
                raise ParseError("truncated IPv6 packet")
            proto = f[off + 6]
            src, dst = f[off + 8 : off + 24], f[off + 24 : off + 40]
            p = off + 40
            for _ in range(8):
                if proto in (0, 43, 60):
                    if p + 2 > end:
                        raise ParseError("truncated IPv6 extension header")
                    proto, p = f[p], p + ((f[p + 1] + 1) << 3)
                elif proto == 44:
                    if p + 8 > end:
                        raise ParseError("truncated IPv6 extension header")
                    if ((f[p + 2] << 8) | f[p + 3]) & 0xFFF8:
                        return None  # a fragment after the first
                    proto, p = f[p], p + 8
                elif proto == 51:
                    if p + 2 > end:
                        raise ParseError("truncated IPv6 extension header")
                    proto, p = f[p], p + ((f[p + 1] + 2) << 2)
                else:
                    break
            if p > end:
                raise ParseError("truncated IPv6 extension header")
        else:
            return None  # ARP, LLDP, ...
        if proto == 17:
            if end - p < 8:
                raise ParseError("truncated UDP header")
            if ((f[p + 2] << 8) | f[p + 3]) != 53:
                return None
            ulen = (f[p + 4] << 8) | f[p + 5]
            if ulen < 8 or p + ulen > end:
                raise ParseError("bad UDP length")
            q = dns_question(f[p + 8 : p + ulen])
            if q is None:
                return None
            return ("dns", self.client(src), q[0], q[1])
        if proto == 6:
            if end - p < 20:
                raise ParseError("truncated TCP header")
            doff = (f[p + 12] >> 4) << 2
            if doff < 20 or p + doff > end:
                raise ParseError("bad TCP header length")
            data = p + doff
            if data == end:
                return None  # SYN, ACK, FIN...
            dport = (f[p + 2] << 8) | f[p + 3]
            if dport == 53:
                if end - data < 2:
                    raise ParseError("DNS over TCP message split across segments")
                mend = data + 2 + ((f[data] << 8) | f[data + 1])
                if mend > end:
                    raise ParseError("DNS over TCP message split across segments")
                q = dns_question(f[data + 2 : mend])
                if q is None:
                    return None
                return ("dns", self.client(src), q[0], q[1])
            if f[data] == 0x16 and end - data > 5 and f[data + 1] == 3 and f[data + 5] == 1:
                payload = f[data:end]
                try:
                    sni = client_hello_sni(payload)
                except _Incomplete:
                    sport = (f[p] << 8) | f[p + 1]
                    seq = int.from_bytes(f[p + 4 : p + 8], "big")
                    self._hold((src, dst, sport, dport), seq, payload)
                    return None
                return None if sni is None else ("tls", self.client(src), sni, None)
            if self.pending:
                sport = (f[p] << 8) | f[p + 1]
                flow = (src, dst, sport, dport)
                held = self.pending.get(flow)
                if held is not None:
                    seq = int.from_bytes(f[p + 4 : p + 8], "big")
                    if seq != held[0]:
                        return None  # a retransmission, or out of order: wait for the next
                    del self.pending[flow]
                    payload = held[1] + f[data:end]
                    try:
                        sni = client_hello_sni(payload)
                    except _Incomplete:
                        self._hold(flow, seq - len(held[1]), payload)
                        return None
                    return None if sni is None else ("tls", self.client(src), sni, None)
            return None
        return None

    def _hold(self, flow: tuple[bytes, bytes, int, int], seq: int, payload: bytes) -> None:
        if len(payload) > MAX_HELLO + 1024:
            raise ParseError("bad TLS ClientHello length")
        if len(self.pending) >= MAX_PENDING:
            del self.pending[next(iter(self.pending))]
        self.pending[flow] = ((seq + len(payload)) & 0xFFFFFFFF, payload)

    def client(self, raw: bytes) -> str:
        text = self.clients.get(raw)
        if text is None:
            text = socket.inet_ntoa(raw) if len(raw) == 4 else str(ipaddress.ip_address(raw))
            if len(self.clients) > 100_000:
                self.clients.clear()
            self.clients[raw] = text
        return text


# --- reading --------------------------------------------------------------

@contextlib.contextmanager
def _quiet_scapy() -> Iterator[None]:
    """scapy logs a warning per damaged record (and walks the stack to rate-limit
    it): the reader reports those itself, so silence them while it reads."""
    log = logging.getLogger("scapy.runtime")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


class _Reject(Exception):
    def __init__(self, reason: str, cut: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.cut = reason, cut


def read_records(path: Path, ctx: ParseContext, stats: ReadStats, *, offset: int = 0,
                 line: int = 0, final: bool = True) -> Iterator[Batch]:
    """Read a capture from ``offset`` (see the module docstring); yields batches."""
    with open_stream(Path(path)) as fh, _quiet_scapy():
        try:
            head = fh.read(24)
        except EOFError:  # a gzip stream that stops before 24 bytes
            if final:
                _count_reject(stats, "truncated capture file header")
                yield Batch([], [Rejected(line + 1, "truncated capture file header", "")], offset, line)
            return
        if not head:
            return
        if head[:4] in _PCAP_MAGICS:
            yield from _read_pcap(fh, head, stats, offset, line, final)
        elif head[:4] == _PCAPNG:
            yield from _read_pcapng(fh, stats, offset, line, final)
        else:
            _count_reject(stats, "not a pcap or pcapng file")
            yield Batch([], [Rejected(line + 1, "not a pcap or pcapng file", _hex(head))], offset, line)


def _count_reject(stats: ReadStats, reason: str) -> None:
    stats.read += 1
    stats.rejected += 1
    stats.reasons[reason] += 1


def _hex(raw: bytes) -> str:
    return raw[:SAMPLE_BYTES].hex(" ")


def _scapy() -> Any:
    import scapy.utils

    return scapy.utils


def _read_pcap(fh: BinaryIO, head: bytes, stats: ReadStats, offset: int, line: int,
               final: bool) -> Iterator[Batch]:
    if len(head) < 24:
        if final:
            _count_reject(stats, "truncated capture file header")
            yield Batch([], [Rejected(line + 1, "truncated capture file header", _hex(head))],
                        offset, line)
        return
    su = _scapy()
    fh.seek(0)
    reader = su.RawPcapReader(fh)
    read_packet = reader._read_packet
    linktype: int = reader.linktype
    div = 1_000_000_000 if reader.nano else 1_000_000
    pos = max(offset, 24)
    if pos != 24:
        fh.seek(pos)
    dec = Decoder()
    frame = dec.frame
    events: list[Event] = []
    rejected: list[Rejected] = []
    count = 0
    parsed = ignored = 0
    stop = False
    while not stop:
        try:
            data, meta = read_packet(MAX_RECORD)
        except EOFError:
            # Scapy says EOF for a partial 16-byte header too: tell the two apart.
            stop = True
            if fh.tell() <= pos:
                break
            reason, raw = "capture cut off mid-record", b""
        else:
            caplen = meta.caplen
            if len(data) < caplen:
                stop = True
                reason = ("capture cut off mid-record" if caplen <= _SCAPY_MAX_READ
                          else "bad record length")
                raw = data
            else:
                line += 1
                count += 1
                pos += 16 + caplen
                try:
                    got = frame(data, linktype)
                except ParseError as exc:
                    stats.rejected += 1
                    stats.reasons[exc.reason] += 1
                    rejected.append(Rejected(line, exc.reason, _hex(data)))
                else:
                    if got is None:
                        ignored += 1
                    else:
                        parsed += 1
                        events.append(_new(Event, (
                            (meta.sec * div + meta.usec) / div, got[0], got[1], "", got[2],
                            "allowed", None, got[3], None, None, None, None, None, None, None, (),
                            line)))
                if count < BATCH:
                    continue
                stats.read += count
                stats.parsed += parsed
                stats.ignored += ignored
                yield Batch(events, rejected, pos, line)
                events, rejected, count, parsed, ignored = [], [], 0, 0, 0
                continue
        # A record that is not all there: the checkpoint stays at its start.
        if final or reason != "capture cut off mid-record":
            _count_reject(stats, reason)
            rejected.append(Rejected(line + 1, reason, _hex(raw)))
    stats.read += count
    stats.parsed += parsed
    stats.ignored += ignored
    if count or rejected or events:
        yield Batch(events, rejected, pos, line)


def _at_eof(fh: BinaryIO) -> bool:
    try:
        return not fh.read(1)
    except EOFError:  # a gzip stream that stops early
        return True


def _peek(fh: BinaryIO, pos: int, size: int) -> bytes:
    """``size`` bytes at ``pos`` (the current position), without consuming them."""
    got: bytes = fh.peek(size)[:size]  # type: ignore[attr-defined]
    if len(got) < size:
        got = fh.read(size)
        fh.seek(pos)
    return got


def _block_len(head: bytes, endian: str) -> int:
    """A pcapng block's total length from its first 12 bytes; _Reject if unusable."""
    if len(head) < 12:
        raise _Reject("capture cut off mid-record", cut=True)
    if head[:4] == _PCAPNG:
        if head[8:12] not in _BOMS:
            raise _Reject("malformed pcapng block")
        endian = ">" if head[8:12] == _BOMS[0] else "<"
    blen: int = struct.unpack(endian + "I", head[4:8])[0]
    if blen < 12 or blen > MAX_BLOCK or blen % 4:
        raise _Reject("bad pcapng block length")
    return blen


def _read_pcapng(fh: BinaryIO, stats: ReadStats, offset: int, line: int,
                 final: bool) -> Iterator[Batch]:
    su = _scapy()
    fh.seek(0)
    try:
        head = _peek(fh, 0, 12)
        _block_len(head, "<")
        reader = _ng_reader(su)(fh)
    except (_Reject, su.Scapy_Exception, EOFError, struct.error, ValueError, OSError) as exc:
        cut = isinstance(exc, _Reject) and exc.cut
        if final or not cut:
            reason = "truncated capture file header" if cut else "malformed pcapng section header"
            _count_reject(stats, reason)
            yield Batch([], [Rejected(line + 1, reason, "")], offset, line)
        return
    pos = fh.tell()
    events: list[Event] = []
    rejected: list[Rejected] = []
    last_ts: float | None = None
    if offset > pos:
        # Resume: walk the block headers, re-reading only those that define the
        # section (byte order) and the interfaces, and the stamp of the last
        # Enhanced Packet Block (for a Simple Packet Block right after).
        try:
            while pos < offset:
                head = _peek(fh, pos, 20)
                blen = _block_len(head, reader.endian)
                btype, _, iface, hi, lo = struct.unpack(reader.endian + "5I", head.ljust(20, b"\x00"))
                if btype in (0x0A0D0D0A, 1):
                    reader._read_block(MAX_RECORD)
                    pos = fh.tell()
                    continue
                if btype == 6 and iface < len(reader.interfaces):
                    last_ts = ((hi << 32) | lo) / reader.interfaces[iface][2]["tsresol"]
                pos += blen
                fh.seek(pos)
        except (_Reject, su.Scapy_Exception, EOFError, struct.error, ValueError) as exc:
            if not final and isinstance(exc, _Reject) and exc.cut:
                return
            reason = exc.reason if isinstance(exc, _Reject) else "malformed pcapng block"
            _count_reject(stats, reason)
            yield Batch([], [Rejected(line + 1, reason, "")], offset, line)
            return
    read_block = reader._read_block
    dec = Decoder()
    frame = dec.frame
    count = parsed = ignored = 0
    while True:
        try:
            head = _peek(fh, pos, 12)
            if not head:
                break
            blen = _block_len(head, reader.endian)
            res = read_block(MAX_RECORD)
        except (_Reject, su.Scapy_Exception, EOFError, struct.error, ValueError) as exc:
            if isinstance(exc, _Reject):
                cut, reason = exc.cut, exc.reason
            else:
                cut = _at_eof(fh)
                reason = "capture cut off mid-record" if cut else "malformed pcapng block"
            if final or not cut:
                _count_reject(stats, reason)
                rejected.append(Rejected(line + 1, reason, _hex(head)))
            break
        pos += blen
        if res is None:
            if reader.bad_interface:
                reader.bad_interface = False
                line += 1
                count += 1
                stats.rejected += 1
                stats.reasons["packet on an undeclared interface"] += 1
                rejected.append(Rejected(line, "packet on an undeclared interface", ""))
            else:
                continue
        else:
            data, meta = res
            line += 1
            count += 1
            try:
                got = frame(data, meta.linktype)
            except ParseError as exc:
                stats.rejected += 1
                stats.reasons[exc.reason] += 1
                rejected.append(Rejected(line, exc.reason, _hex(data)))
            else:
                if got is None:
                    ignored += 1
                elif meta.tshigh is None and last_ts is None:
                    # A Simple Packet Block has no stamp: it takes the last one seen.
                    stats.rejected += 1
                    stats.reasons["packet without a timestamp"] += 1
                    rejected.append(Rejected(line, "packet without a timestamp", _hex(data)))
                else:
                    if meta.tshigh is not None:
                        last_ts = ((meta.tshigh << 32) | meta.tslow) / meta.tsresol
                    ts = last_ts
                    parsed += 1
                    events.append(_new(Event, (
                        ts, got[0], got[1], "", got[2], "allowed", None, got[3], None, None, None,
                        None, None, None, None, (), line)))
        if count < BATCH:
            continue
        stats.read += count
        stats.parsed += parsed
        stats.ignored += ignored
        yield Batch(events, rejected, pos, line)
        events, rejected, count, parsed, ignored = [], [], 0, 0, 0
    stats.read += count
    stats.parsed += parsed
    stats.ignored += ignored
    if count or rejected or events:
        yield Batch(events, rejected, pos, line)


_NG_READER: Any = None


def _ng_reader(su: Any) -> Any:
    """scapy's RawPcapNgReader, told two things it does not do by itself: a new
    section restarts interface numbering, and a packet on an undeclared
    interface is reported rather than dropped in silence."""
    global _NG_READER
    if _NG_READER is None:
        class NgReader(su.RawPcapNgReader):  # type: ignore[misc]
            bad_interface = False

            def _read_block_shb(self) -> None:
                self.interfaces: list[Any] = []
                super()._read_block_shb()

            def _check_interface_id(self, intid: int) -> bool:
                if intid < len(self.interfaces):
                    return True
                self.bad_interface = True
                return False

        _NG_READER = NgReader
    return _NG_READER


# --- writing --------------------------------------------------------------

DNS_SERVER4, DNS_SERVER6 = bytes([192, 0, 2, 53]), ipaddress.ip_address("2001:db8::53").packed
WEB_SERVER4, WEB_SERVER6 = bytes([198, 51, 100, 10]), ipaddress.ip_address("2001:db8::443").packed
_SRC_MAC, _DST_MAC = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")


def write_pcap(events: Iterable[Event], path: str | Path) -> int:
    """Write ``dns`` events as DNS queries over UDP (built with dnspython) and
    ``tls`` events as a TCP segment carrying a ClientHello with their SNI, in
    a classic little-endian microsecond pcap over Ethernet. Other kinds are
    skipped. An IPv6 client gives an IPv6 packet. Returns the packets written."""
    queries: dict[tuple[str, str], bytes] = {}
    written = 0
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, MAX_RECORD, LINK_ETHERNET))
        for i, ev in enumerate(events):
            src = ipaddress.ip_address(ev.client or "192.0.2.1").packed
            sport = 49152 + (i * 7919) % 16384
            v6 = len(src) == 16
            if ev.kind == "dns":
                key = (ev.host, ev.qtype or "A")
                wire = queries.get(key)
                if wire is None:
                    wire = queries[key] = _query_wire(*key)
                msg = struct.pack("!H", (i * 40503) & 0xFFFF) + wire[2:]
                dst = DNS_SERVER6 if v6 else DNS_SERVER4
                frame = _ether(src, dst, 17, _udp(src, dst, sport, 53, msg), i)
            elif ev.kind == "tls":
                dst = WEB_SERVER6 if v6 else WEB_SERVER4
                seg = _tcp(src, dst, sport, 443, (i * 2654435761) & 0xFFFFFFFF,
                           client_hello(ev.host, seed=i))
                frame = _ether(src, dst, 6, seg, i)
            else:
                continue
            sec = int(ev.ts // 1)
            usec = round((ev.ts - sec) * 1_000_000)
            if usec >= 1_000_000:
                sec, usec = sec + 1, usec - 1_000_000
            out.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
            out.write(frame)
            written += 1
    return written


def _query_wire(host: str, qtype: str) -> bytes:
    import dns.message  # only writers need it; it costs 75 ms to import

    q = dns.message.make_query(host if host != "." else dns.name.root, qtype, use_edns=0,
                               payload=1232)
    q.id = 0
    wire: bytes = q.to_wire()
    return wire


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    s: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _pseudo(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    if len(src) == 16:
        return src + dst + struct.pack("!IxxxB", length, proto)
    return src + dst + struct.pack("!xBH", proto, length)


def _udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    length = 8 + len(payload)
    head = struct.pack("!HHHH", sport, dport, length, 0)
    c = _csum(_pseudo(src, dst, 17, length) + head + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, c) + payload


def _tcp(src: bytes, dst: bytes, sport: int, dport: int, seq: int, payload: bytes) -> bytes:
    head = struct.pack("!HHIIBBHHH", sport, dport, seq, 1, 5 << 4, 0x18, 64240, 0, 0)
    c = _csum(_pseudo(src, dst, 6, len(head) + len(payload)) + head + payload)
    return head[:16] + struct.pack("!H", c) + head[18:] + payload


def _ether(src: bytes, dst: bytes, proto: int, seg: bytes, ident: int) -> bytes:
    if len(src) == 16:
        ip = struct.pack("!IHBB", 0x60000000, len(seg), proto, 64) + src + dst
        return _DST_MAC + _SRC_MAC + b"\x86\xdd" + ip + seg
    head = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(seg), ident & 0xFFFF, 0x4000, 64, proto, 0)
    head += src + dst
    head = head[:10] + struct.pack("!H", _csum(head)) + head[12:]
    return _DST_MAC + _SRC_MAC + b"\x08\x00" + head + seg


def client_hello(host: str, seed: int = 0) -> bytes:
    """A TLS 1.3 ClientHello record (as a browser sends it) naming ``host``."""
    rnd = hashlib.sha256(f"{host}/{seed}".encode()).digest()
    name = host.encode("ascii")

    def ext(etype: int, body: bytes) -> bytes:
        return struct.pack("!HH", etype, len(body)) + body

    sni = struct.pack("!HBH", len(name) + 3, 0, len(name)) + name
    alpn = b"\x02h2\x08http/1.1"
    exts = b"".join((
        ext(0, sni),
        ext(23, b""),  # extended_master_secret
        ext(10, struct.pack("!H", 6) + bytes.fromhex("001d00170018")),  # supported_groups
        ext(11, b"\x01\x00"),  # ec_point_formats
        ext(16, struct.pack("!H", len(alpn)) + alpn),
        ext(13, struct.pack("!H", 8) + bytes.fromhex("0403080404010503")),  # signature_algorithms
        ext(43, b"\x04\x03\x04\x03\x03"),  # supported_versions
        ext(45, b"\x01\x01"),  # psk_key_exchange_modes
        ext(51, struct.pack("!HHH", 36, 0x001D, 32) + hashlib.sha256(rnd).digest()),  # key_share
    ))
    suites = bytes.fromhex("130113021303c02bc02fc02cc030")
    body = (b"\x03\x03" + rnd + b"\x20" + hashlib.sha256(rnd + b"sid").digest()
            + struct.pack("!H", len(suites)) + suites + b"\x01\x00"
            + struct.pack("!H", len(exts)) + exts)
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


FORMAT = LogFormat(
    NAME, "dns", "Packet captures (pcap, pcapng): DNS queries and TLS ClientHello SNI",
    sniff, make_parser, priority=10, sniff_bytes=sniff_bytes, read_records=read_records)
