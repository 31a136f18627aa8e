"""dnstap: Frame Streams files of dnstap protobuf messages.

What BIND (``dnstap-output file``), Unbound, Knot Resolver, CoreDNS and
dnsdist write (https://dnstap.info): a Frame Streams ("fstrm") file, that is
a START control frame naming the content type ``protobuf:dnstap.Dnstap``, one
data frame per ``dnstap.Dnstap`` protobuf message, and a STOP control frame.
A frame is a 4-byte big-endian length and its payload; a zero length escapes a
control frame (its own 4-byte length, then type and fields).

Frames are decoded with the ``fstrm`` codec, messages with the generated
``dnstap_pb`` classes, and the DNS wire message with dnspython (the question
only, as for packet captures):

* ``CLIENT_QUERY`` -> kind ``dns``: client = ``query_address``, ts =
  ``query_time_sec`` + ``query_time_nsec``, host and qtype from the
  ``query_message`` question.
* ``CLIENT_RESPONSE`` counts only while the read has seen no ``CLIENT_QUERY``
  (a server logging both is not counted twice; older Knot Resolver logs only
  responses). Its question comes from ``response_message`` (or
  ``query_message``), its status is the response's RCODE, its stamp the query
  time where the server set it, else the response time.
* A ``policy`` whose action rewrites or drops the answer (NXDOMAIN, NODATA,
  DROP, LOCAL_DATA: an RPZ hit) makes the event ``blocked``.
* Every other message type (resolver, forwarder, authoritative, stub, tool and
  update traffic) is ignored: it is not a district device's lookup.
* Frames that are cut off, protobufs that do not decode or lack required
  fields, DNS messages that do not parse are rejected with a reason.

Checkpoints: ``offset`` is the byte offset of the next frame (a frame
boundary), ``line`` the number of data frames before it; a resumed read
checks the START frame at the top of the file, then seeks.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import dnstap_pb
import fstrm
from google.protobuf.message import DecodeError

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.dns.pcap import SAMPLE_BYTES, _query_wire, dns_question
from collectors.driver import Batch, ReadStats, Rejected, open_stream
from collectors.errors import ParseError
from collectors.event import Event

NAME = "dnstap"
CONTENT_TYPE = b"protobuf:dnstap.Dnstap"
BATCH = 10_000
MAX_FRAME = 4 * 1024 * 1024
MAX_CONTROL = 512
"""Frame Streams limits control frames to 512 bytes."""

_MESSAGE = dnstap_pb.Dnstap.MESSAGE
_CLIENT_QUERY = dnstap_pb.Message.CLIENT_QUERY
_CLIENT_RESPONSE = dnstap_pb.Message.CLIENT_RESPONSE
_BLOCKING = frozenset((dnstap_pb.Policy.NXDOMAIN, dnstap_pb.Policy.NODATA, dnstap_pb.Policy.DROP,
                       dnstap_pb.Policy.LOCAL_DATA))
_START = struct.pack("!I", fstrm.FSTRM_CONTROL_START)
_new = tuple.__new__


def sniff(lines: Sequence[str]) -> bool:
    return False


def sniff_bytes(head: bytes) -> bool:
    """A START control frame whose content type is dnstap's."""
    if len(head) < 20 or head[:4] != b"\x00\x00\x00\x00" or head[8:12] != _START:
        return False
    clen = int.from_bytes(head[4:8], "big")
    return (head[12:16] == b"\x00\x00\x00\x01" and int.from_bytes(head[16:20], "big") == len(CONTENT_TYPE)
            and clen >= 4 + 8 + len(CONTENT_TYPE) and head[20 : 20 + len(CONTENT_TYPE)] == CONTENT_TYPE)


def make_parser(ctx: ParseContext) -> LineParser:
    def parse(line: str, lineno: int) -> Event | None:
        raise ParseError("binary format: use read_records")

    return parse


class _Stop(Exception):
    """The stream cannot be read further."""

    def __init__(self, reason: str, cut: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.cut = reason, cut


def _read_frame(fh: BinaryIO, codec: Any) -> tuple[int, list[bytes], bytes, int] | None:
    """The next frame: (control type or 0 for data, content types, payload, size on disk).

    None at a clean end of file; `_Stop` when the file is cut or the framing is bad.
    """
    head = fh.read(4)
    if not head:
        return None
    if len(head) < 4:
        raise _Stop("frame cut off", cut=True)
    (length,) = struct.unpack("!I", head)
    if length == 0:
        more = fh.read(4)
        if len(more) < 4:
            raise _Stop("frame cut off", cut=True)
        (clen,) = struct.unpack("!I", more)
        if clen < 4 or clen > MAX_CONTROL:
            raise _Stop("bad control frame length")
        body = fh.read(clen)
        if len(body) < clen:
            raise _Stop("frame cut off", cut=True)
        codec.reset()
        codec.buf = b""
        codec.append(head + more + body)
        codec.process()
        try:
            ctrl, types, _ = codec.decode()
        except Exception:  # the codec raises bare Exceptions on bad fields
            raise _Stop("malformed control frame") from None
        return ctrl, types, b"", 8 + clen
    if length > MAX_FRAME:
        raise _Stop("bad frame length")
    payload = fh.read(length)
    if len(payload) < length:
        raise _Stop("frame cut off", cut=True)
    return 0, [], payload, 4 + length


def read_records(path: Path, ctx: ParseContext, stats: ReadStats, *, offset: int = 0,
                 line: int = 0, final: bool = True) -> Iterator[Batch]:
    """Read a dnstap file from ``offset`` (a frame boundary); yields batches."""
    codec = fstrm.FstrmCodec()
    clients: dict[bytes, str] = {}
    seen_query = False
    events: list[Event] = []
    rejected: list[Rejected] = []
    count = parsed = ignored = 0
    with open_stream(Path(path)) as fh:
        pos = 0
        try:
            first = _read_frame(fh, codec)
            if first is None:
                return
            if first[0] != fstrm.FSTRM_CONTROL_START or CONTENT_TYPE not in first[1]:
                raise _Stop("not a dnstap Frame Streams file")
            pos = first[3]
            if offset > pos:
                fh.seek(offset)
                pos = offset
            while True:
                frame = _read_frame(fh, codec)
                if frame is None:
                    break
                ctrl, types, payload, size = frame
                if ctrl:
                    pos += size
                    if ctrl == fstrm.FSTRM_CONTROL_START and types and CONTENT_TYPE not in types:
                        raise _Stop("not a dnstap Frame Streams file")
                    continue  # STOP, or the START of a stream appended to this one
                line += 1
                count += 1
                pos += size
                try:
                    is_query, ev = _message(payload, line, clients, seen_query)
                except ParseError as exc:
                    stats.rejected += 1
                    stats.reasons[exc.reason] += 1
                    rejected.append(Rejected(line, exc.reason, payload[:SAMPLE_BYTES].hex(" ")))
                else:
                    seen_query = seen_query or is_query
                    if ev is None:
                        ignored += 1
                    else:
                        parsed += 1
                        events.append(ev)
                if count >= BATCH:
                    stats.read += count
                    stats.parsed += parsed
                    stats.ignored += ignored
                    yield Batch(events, rejected, pos, line)
                    events, rejected, count, parsed, ignored = [], [], 0, 0, 0
        except (_Stop, EOFError) as exc:
            # The checkpoint stays before the frame that could not be read. (A
            # gzip stream that ends early raises EOFError: a cut-off frame too.)
            stop = exc if isinstance(exc, _Stop) else _Stop("frame cut off", cut=True)
            if final or not stop.cut:
                stats.read += 1
                stats.rejected += 1
                stats.reasons[stop.reason] += 1
                rejected.append(Rejected(line + 1, stop.reason, ""))
    stats.read += count
    stats.parsed += parsed
    stats.ignored += ignored
    if count or rejected or events:
        yield Batch(events, rejected, pos, line)


def _message(payload: bytes, line: int, clients: dict[bytes, str],
             seen_query: bool) -> tuple[bool, Event | None]:
    """(is a CLIENT_QUERY, its event or None when it shows no lookup)."""
    try:
        d = dnstap_pb.Dnstap.FromString(payload)
    except (DecodeError, RuntimeError, ValueError):
        raise ParseError("malformed dnstap protobuf") from None
    if not d.HasField("type") or d.type != _MESSAGE:
        raise ParseError("malformed dnstap protobuf")
    if not d.HasField("message"):
        raise ParseError("dnstap record without a message")
    m = d.message
    if not m.HasField("type"):
        raise ParseError("malformed dnstap protobuf")
    mtype = m.type
    status = None
    if mtype == _CLIENT_QUERY:
        if not m.HasField("query_message"):
            raise ParseError("no DNS message in dnstap record")
        wire = m.query_message
        q = dns_question(wire, queries_only=False)
        if q is None:
            return True, None
    elif mtype == _CLIENT_RESPONSE:
        if seen_query:
            return False, None
        if m.HasField("response_message"):
            wire = m.response_message
            if len(wire) >= 4:
                status = wire[3] & 0x0F
        elif m.HasField("query_message"):
            wire = m.query_message
        else:
            raise ParseError("no DNS message in dnstap record")
        q = dns_question(wire, queries_only=False)
        if q is None:
            return False, None
    else:
        return False, None
    if m.HasField("query_time_sec"):
        sec, nsec = m.query_time_sec, m.query_time_nsec
    elif m.HasField("response_time_sec"):
        sec, nsec = m.response_time_sec, m.response_time_nsec
    else:
        raise ParseError("no timestamp in dnstap record")
    if nsec >= 1_000_000_000:
        raise ParseError("bad timestamp")
    raw = m.query_address
    client = clients.get(raw)
    if client is None:
        if len(raw) not in (0, 4, 16):
            raise ParseError("bad query address")
        client = str(ipaddress.ip_address(raw)) if raw else ""
        if len(clients) > 100_000:
            clients.clear()
        clients[raw] = client
    action = "allowed"
    if m.HasField("policy") and m.policy.HasField("action") and m.policy.action in _BLOCKING:
        action = "blocked"
    ts = (sec * 1_000_000_000 + nsec) / 1_000_000_000
    return mtype == _CLIENT_QUERY, _new(Event, (ts, "dns", client, "", q[0], action, None, q[1], None,
                                                status, None, None, None, None, None, (), line))


def write_dnstap(events: Iterable[Event], path: str | Path, *, identity: bytes = b"ns1.example",
                 version: bytes = b"BIND 9.18.28") -> int:
    """Write ``dns`` events as dnstap CLIENT_QUERY messages (UDP, with the query
    built by dnspython) in a Frame Streams file, as BIND's ``dnstap-output
    file`` does; a blocked event carries an RPZ policy (NXDOMAIN). Other kinds
    are skipped. Returns the messages written."""
    codec = fstrm.FstrmCodec()
    wires: dict[tuple[str, str], bytes] = {}
    server4 = ipaddress.ip_address("192.0.2.53").packed
    server6 = ipaddress.ip_address("2001:db8::53").packed
    written = 0
    with open(path, "wb") as out:
        out.write(codec.encode_ctrlstart(CONTENT_TYPE))
        for i, ev in enumerate(events):
            if ev.kind != "dns":
                continue
            key = (ev.host, ev.qtype or "A")
            wire = wires.get(key)
            if wire is None:
                wire = wires[key] = _query_wire(*key)
            addr = ipaddress.ip_address(ev.client).packed if ev.client else b""
            sec = int(ev.ts // 1)
            nsec = round((ev.ts - sec) * 1_000_000_000)
            if nsec >= 1_000_000_000:
                sec, nsec = sec + 1, nsec - 1_000_000_000
            msg = dnstap_pb.Message(
                type=_CLIENT_QUERY,
                socket_family=dnstap_pb.INET6 if len(addr) == 16 else dnstap_pb.INET,
                socket_protocol=dnstap_pb.UDP,
                query_address=addr,
                response_address=server6 if len(addr) == 16 else server4,
                query_port=49152 + (i * 7919) % 16384,
                response_port=53,
                query_time_sec=sec,
                query_time_nsec=nsec,
                query_message=struct.pack("!H", (i * 40503) & 0xFFFF) + wire[2:],
            )
            if ev.action == "blocked":
                msg.policy.type = "RPZ"
                msg.policy.action = dnstap_pb.Policy.NXDOMAIN
                msg.policy.match = dnstap_pb.Policy.QNAME
            d = dnstap_pb.Dnstap(identity=identity, version=version, type=_MESSAGE, message=msg)
            out.write(codec.encode_data(d.SerializeToString()))
            written += 1
        out.write(codec.encode(fstrm.FSTRM_CONTROL_STOP))
    return written


FORMAT = LogFormat(NAME, "dns", "dnstap Frame Streams files (BIND, Unbound, Knot, CoreDNS)",
                   sniff, make_parser, priority=10, sniff_bytes=sniff_bytes, read_records=read_records)
