"""Build the dnstap golden and bad-input files, byte by byte.

Run from anywhere: ``python tests/data/dnstap/make_fixtures.py``; the output is
deterministic. Frame Streams framing and the protobuf encoding of
``dnstap.Dnstap`` are written here from the specifications (see SOURCES.md),
without the ``fstrm`` or ``dnstap_pb`` packages the reader uses, so the golden
files check the reader against the documents rather than against itself.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import struct
from pathlib import Path

HERE = Path(__file__).parent
BASE = calendar.timegm((2026, 11, 30, 15, 0, 0))
CONTENT_TYPE = b"protobuf:dnstap.Dnstap"

# dnstap.proto: Message.Type, SocketFamily, SocketProtocol, Policy.Action
AUTH_QUERY, RESOLVER_QUERY, RESOLVER_RESPONSE, CLIENT_QUERY, CLIENT_RESPONSE = 1, 3, 4, 5, 6
FORWARDER_QUERY = 7
INET, INET6 = 1, 2
UDP, TCP, DOT, DOH = 1, 2, 3, 4
A, NS, AAAA, HTTPS = 1, 2, 28, 65


# --- Frame Streams (https://farsightsec.github.io/fstrm/) -------------------

def control(ctype: int, content_type: bytes | None = CONTENT_TYPE) -> bytes:
    """Escape (0), control frame length, control type, [CONTENT_TYPE field (1), length, value]."""
    body = struct.pack("!I", ctype)
    if content_type is not None:
        body += struct.pack("!II", 1, len(content_type)) + content_type
    return struct.pack("!II", 0, len(body)) + body


START, STOP = 2, 3


def data(payload: bytes) -> bytes:
    return struct.pack("!I", len(payload)) + payload


# --- protobuf encoding (https://protobuf.dev/programming-guides/encoding/) ---

def varint(n: int) -> bytes:
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def f_varint(num: int, value: int) -> bytes:
    return varint(num << 3 | 0) + varint(value)


def f_bytes(num: int, value: bytes) -> bytes:
    return varint(num << 3 | 2) + varint(len(value)) + value


def f_fixed32(num: int, value: int) -> bytes:
    return varint(num << 3 | 5) + struct.pack("<I", value)


def message(mtype: int | None, *, family: int | None = INET, protocol: int | None = UDP,
            qaddr: bytes | None = None, raddr: bytes | None = None, qport: int | None = None,
            rport: int | None = 53, qtime: tuple[int, int] | None = None,
            qmsg: bytes | None = None, rtime: tuple[int, int] | None = None,
            rmsg: bytes | None = None, zone: bytes | None = None, policy: bytes | None = None) -> bytes:
    """dnstap.Message, fields in the proto's numbering (1..15)."""
    out = b""
    if mtype is not None:
        out += f_varint(1, mtype)
    if family is not None:
        out += f_varint(2, family)
    if protocol is not None:
        out += f_varint(3, protocol)
    if qaddr is not None:
        out += f_bytes(4, qaddr)
    if raddr is not None:
        out += f_bytes(5, raddr)
    if qport is not None:
        out += f_varint(6, qport)
    if rport is not None:
        out += f_varint(7, rport)
    if qtime is not None:
        out += f_varint(8, qtime[0]) + f_fixed32(9, qtime[1])
    if qmsg is not None:
        out += f_bytes(10, qmsg)
    if zone is not None:
        out += f_bytes(11, zone)
    if rtime is not None:
        out += f_varint(12, rtime[0]) + f_fixed32(13, rtime[1])
    if rmsg is not None:
        out += f_bytes(14, rmsg)
    if policy is not None:
        out += f_bytes(15, policy)
    return out


def dnstap(msg: bytes | None, *, identity: bytes | None = None, version: bytes | None = None,
           extra: bytes | None = None, dtype: int | None = 1) -> bytes:
    """dnstap.Dnstap: identity (1), version (2), extra (3), message (14), type (15, MESSAGE = 1)."""
    out = b""
    if identity is not None:
        out += f_bytes(1, identity)
    if version is not None:
        out += f_bytes(2, version)
    if extra is not None:
        out += f_bytes(3, extra)
    if msg is not None:
        out += f_bytes(14, msg)
    if dtype is not None:
        out += f_varint(15, dtype)
    return out


# --- DNS (RFC 1035 section 4.1) ----------------------------------------------

def qname(name: str) -> bytes:
    out = b""
    for label in name.encode("ascii").split(b"."):
        if label:
            out += bytes([len(label)]) + label
    return out + b"\x00"


def query(qid: int, name: str, qtype: int, *, raw_name: bytes | None = None) -> bytes:
    return (struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
            + (raw_name if raw_name is not None else qname(name)) + struct.pack("!HH", qtype, 1))


def response(qid: int, name: str, qtype: int, rcode: int = 0) -> bytes:
    answers = 1 if rcode == 0 and qtype == A else 0
    out = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, answers, 0, 0)
    out += qname(name) + struct.pack("!HH", qtype, 1)
    if answers:
        out += b"\xc0\x0c" + struct.pack("!HHIH", A, 1, 60, 4) + bytes([93, 184, 215, 14])
    return out


def ip4(text: str) -> bytes:
    return bytes(int(x) for x in text.split("."))


def ip6(text: str) -> bytes:
    head, _, tail = text.partition("::")
    h = [int(x, 16) for x in head.split(":") if x]
    t = [int(x, 16) for x in tail.split(":") if x]
    return struct.pack("!8H", *(h + [0] * (8 - len(h) - len(t)) + t))


SERVER, SERVER6 = ip4("10.0.0.53"), ip6("2001:db8::53")


# --- expected output -----------------------------------------------------------

def event(line: int, sec: int, nsec: int, client: str, host: str, qtype: str, *,
          status: int | None = None, action: str = "allowed") -> dict[str, object]:
    stamp = dt.datetime.fromtimestamp(sec, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.")
    return {"timestamp": f"{stamp}{nsec // 1_000_000:03d}Z", "kind": "dns", "client": client,
            "user": None, "host": host, "url": None, "action": action, "qtype": qtype,
            "method": None, "status": status, "bytes_in": None, "bytes_out": None,
            "category": None, "app_id": None, "app_name": None, "scopes": [], "line": line}


def write(name: str, frames: list[bytes], want: list[dict[str, object]] | None, *,
          stop: bool = True, tail: bytes = b"") -> None:
    out = control(START) + b"".join(data(f) for f in frames)
    if stop:
        out += control(STOP, None)
    (HERE / f"{name}.dnstap").write_bytes(out + tail)
    if want is not None:
        (HERE / f"{name}.expected.jsonl").write_text("".join(json.dumps(e) + "\n" for e in want))


def bind() -> None:
    """BIND 9.18, ``dnstap { client; resolver query; };`` and ``dnstap-output file``."""
    ident, ver = b"ns1.district.k12.us", b"BIND 9.18.28-1~deb12u2-Debian"
    t = BASE

    def tap(msg: bytes) -> bytes:
        return dnstap(msg, identity=ident, version=ver)

    c1, c2 = ip4("10.60.1.10"), ip6("2001:db8:60::10")
    root = ip4("198.41.0.4")
    frames = [
        tap(message(CLIENT_QUERY, qaddr=c1, raddr=SERVER, qport=53211, qtime=(t + 1, 120_000_000),
                    qmsg=query(0x1A2B, "www.example.com", A))),
        tap(message(RESOLVER_QUERY, qaddr=SERVER, raddr=root, qport=40001, qtime=(t + 1, 121_000_000),
                    qmsg=query(0x0101, "com", NS), zone=qname("."))),
        tap(message(RESOLVER_RESPONSE, qaddr=SERVER, raddr=root, qport=40001, qtime=(t + 1, 121_000_000),
                    rtime=(t + 1, 140_000_000), rmsg=response(0x0101, "com", NS), zone=qname("."))),
        tap(message(CLIENT_RESPONSE, qaddr=c1, raddr=SERVER, qport=53211, qtime=(t + 1, 120_000_000),
                    rtime=(t + 1, 180_000_000), rmsg=response(0x1A2B, "www.example.com", A))),
        tap(message(CLIENT_QUERY, family=INET6, protocol=TCP, qaddr=c2, raddr=SERVER6, qport=40400,
                    qtime=(t + 2, 5_000_000), qmsg=query(0x2B3C, "Classroom.Google.com", AAAA))),
        tap(message(CLIENT_QUERY, qaddr=c1, raddr=SERVER, qport=53212, qtime=(t + 3, 987_654_321),
                    qmsg=query(0x3C4D, "www.youtube.com", HTTPS))),
    ]
    write("bind", frames, [
        event(1, t + 1, 120_000_000, "10.60.1.10", "www.example.com", "A"),
        event(5, t + 2, 5_000_000, "2001:db8:60::10", "classroom.google.com", "AAAA"),
        event(6, t + 3, 987_654_321, "10.60.1.10", "www.youtube.com", "HTTPS"),
    ])


def unbound() -> None:
    """Unbound 1.19, ``dnstap-log-client-query-messages`` and ``-response-messages``;
    one client on DNS over TLS (socket_protocol DOT)."""
    ident, ver = b"resolver2", b"unbound 1.19.1"
    t = BASE + 600
    c1, c2 = ip4("10.61.0.7"), ip4("10.61.0.8")
    frames = []
    for i, (c, name, qtype, proto) in enumerate([(c1, "quizlet.com", A, UDP), (c2, "www.roblox.com", AAAA, DOT),
                                                 (c1, "api.quizlet.com", A, UDP)]):
        qt, rt = (t + i, 250_000_000), (t + i, 262_500_000)
        frames.append(dnstap(message(CLIENT_QUERY, protocol=proto, qaddr=c, raddr=SERVER, qport=50000 + i,
                                     rport=853 if proto == DOT else 53, qtime=qt,
                                     qmsg=query(i, name, qtype)), identity=ident, version=ver))
        frames.append(dnstap(message(CLIENT_RESPONSE, protocol=proto, qaddr=c, raddr=SERVER,
                                     qport=50000 + i, rport=853 if proto == DOT else 53, qtime=qt, rtime=rt,
                                     rmsg=response(i, name, qtype)), identity=ident, version=ver))
    write("unbound", frames, [
        event(1, t, 250_000_000, "10.61.0.7", "quizlet.com", "A"),
        event(3, t + 1, 250_000_000, "10.61.0.8", "www.roblox.com", "AAAA"),
        event(5, t + 2, 250_000_000, "10.61.0.7", "api.quizlet.com", "A"),
    ])


def coredns() -> None:
    """CoreDNS ``dnstap /var/run/dnstap.sock full`` with ``extra`` and ``identity``
    (captured to a file by ``fstrm_capture``); the stream ends without STOP, as
    when the capture is still running."""
    t = BASE + 1200
    c1 = ip6("fd00:61::21")
    c2 = ip4("10.62.3.4")
    frames = [
        dnstap(message(CLIENT_QUERY, family=INET6, qaddr=c1, raddr=ip6("fd00:61::53"), qport=33000,
                       qtime=(t, 1_000_000), qmsg=query(77, "discord.com", A)),
               identity=b"coredns-0", version=b"1.11.1", extra=b"site=north"),
        dnstap(message(CLIENT_RESPONSE, family=INET6, qaddr=c1, raddr=ip6("fd00:61::53"), qport=33000,
                       rtime=(t, 3_000_000), rmsg=response(77, "discord.com", A)),
               identity=b"coredns-0", version=b"1.11.1", extra=b"site=north"),
        dnstap(message(FORWARDER_QUERY, qaddr=SERVER, raddr=ip4("9.9.9.9"), qport=41000,
                       qtime=(t, 1_500_000), qmsg=query(78, "discord.com", A)),
               identity=b"coredns-0", version=b"1.11.1"),
        dnstap(message(CLIENT_QUERY, protocol=DOH, qaddr=c2, raddr=SERVER, qport=443,
                       qtime=(t + 1, 0), qmsg=query(79, "open.spotify.com", HTTPS)),
               identity=b"coredns-0", version=b"1.11.1", extra=b"site=north"),
    ]
    write("coredns", frames, [
        event(1, t, 1_000_000, "fd00:61::21", "discord.com", "A"),
        event(4, t + 1, 0, "10.62.3.4", "open.spotify.com", "HTTPS"),
    ], stop=False)


def knot() -> None:
    """Knot Resolver 5 with ``client = { log_queries = false, log_responses = true }``:
    responses only, so they count, with their RCODE; one carries no query time."""
    t = BASE + 1800
    c = ip4("10.63.0.50")
    ver = b"Knot Resolver 5.7.1"
    frames = [
        dnstap(message(CLIENT_RESPONSE, qaddr=c, raddr=SERVER, qport=5353, qtime=(t, 100_000_000),
                       rtime=(t, 130_000_000), rmsg=response(1, "www.minecraft.net", A)), version=ver),
        dnstap(message(CLIENT_RESPONSE, qaddr=c, raddr=SERVER, qport=5354, qtime=(t + 1, 200_000_000),
                       rtime=(t + 1, 230_000_000), rmsg=response(2, "no-such-app.example", AAAA, rcode=3)),
               version=ver),
        dnstap(message(CLIENT_RESPONSE, protocol=TCP, qaddr=c, raddr=SERVER, qport=5355,
                       rtime=(t + 2, 400_000_000), rmsg=response(3, "broken.example", A, rcode=2)),
               version=ver),
    ]
    write("knot", frames, [
        event(1, t, 100_000_000, "10.63.0.50", "www.minecraft.net", "A", status=0),
        event(2, t + 1, 200_000_000, "10.63.0.50", "no-such-app.example", "AAAA", status=3),
        event(3, t + 2, 400_000_000, "10.63.0.50", "broken.example", "A", status=2),
    ])


def bad() -> None:
    t = BASE + 2400
    c = ip4("10.64.0.1")

    def cq(**kw: object) -> bytes:
        args: dict[str, object] = {"qaddr": c, "qtime": (t, 0), "qmsg": query(1, "www.example.org", A)}
        args.update(kw)
        return dnstap(message(CLIENT_QUERY, **args))  # type: ignore[arg-type]

    frames = [
        cq(),                                                        # parsed
        b"\xff\xff\xff\xff",                                         # malformed dnstap protobuf
        dnstap(None, identity=b"ns1", dtype=None),                   # no type: malformed
        dnstap(None, identity=b"ns1"),                               # type MESSAGE, no message
        cq(qmsg=None),                                               # no DNS message
        cq(qmsg=b"\x00\x01\x01\x00\x00"),                            # truncated DNS header
        cq(qmsg=query(2, "", A, raw_name=b"\x08bad name\x07example\x00")),  # invalid query name
        cq(qaddr=b"\x0a\x40\x00\x01\x00"),                           # bad query address
        cq(qtime=None),                                              # no timestamp
        dnstap(message(RESOLVER_QUERY, qaddr=SERVER, qtime=(t, 0), qmsg=query(3, "org", NS))),  # ignored
        cq(qtime=(t, 1_500_000_000)),                                # bad timestamp
        cq(qmsg=query(4, "www.bandlab.com", A)),                     # parsed
    ]
    # The capture stops in the middle of a frame: its length says 200 bytes.
    write("bad", frames, None, stop=False, tail=struct.pack("!I", 200) + cq()[:30])
    (HERE / "bad.expected.json").write_text(json.dumps({
        "read": 13, "parsed": 2, "ignored": 1, "rejected": 10,
        "reasons": {
            "malformed dnstap protobuf": 2, "dnstap record without a message": 1,
            "no DNS message in dnstap record": 1, "truncated DNS header": 1, "invalid query name": 1,
            "bad query address": 1, "no timestamp in dnstap record": 1, "bad timestamp": 1,
            "frame cut off": 1,
        }}, indent=1) + "\n")


if __name__ == "__main__":
    bind()
    unbound()
    coredns()
    knot()
    bad()
