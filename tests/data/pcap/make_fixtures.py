"""Build the pcap/pcapng golden and bad-input files, byte by byte.

Run from anywhere: ``python tests/data/pcap/make_fixtures.py``. The output is
deterministic. Every header is packed here from the documented layouts (see
SOURCES.md), without scapy, dnspython or the reader under test, so the golden
files check the reader against the specifications rather than against itself.
The expected events are written from what each packet was built to carry.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import struct
from pathlib import Path

HERE = Path(__file__).parent
BASE = calendar.timegm((2026, 11, 30, 14, 0, 0))

A, NS, PTR, TXT, AAAA, SRV, OPT, HTTPS = 1, 2, 12, 16, 28, 33, 41, 65
TYPE_NAMES = {A: "A", NS: "NS", PTR: "PTR", TXT: "TXT", AAAA: "AAAA", SRV: "SRV", HTTPS: "HTTPS"}


# --- protocol pieces --------------------------------------------------------

def ip4(text: str) -> bytes:
    return bytes(int(x) for x in text.split("."))


def ip6(text: str) -> bytes:
    head, _, tail = text.partition("::")
    h = [int(x, 16) for x in head.split(":") if x]
    t = [int(x, 16) for x in tail.split(":") if x]
    return struct.pack("!8H", *(h + [0] * (8 - len(h) - len(t)) + t))


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def qname(name: str) -> bytes:
    """RFC 1035 4.1.2: length-prefixed labels, then the root's zero length."""
    out = b""
    for label in name.encode("ascii").split(b"."):
        if label:
            out += bytes([len(label)]) + label
    return out + b"\x00"


def dns_query(qid: int, name: str, qtype: int, *, opcode: int = 0, edns: bool = False,
              raw_name: bytes | None = None) -> bytes:
    """RFC 1035 4.1.1 header (RD set) + one question; EDNS(0) OPT with a cookie if asked."""
    flags = (opcode << 11) | 0x0100
    head = struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 1 if edns else 0)
    body = (raw_name if raw_name is not None else qname(name)) + struct.pack("!HH", qtype, 1)
    if edns:
        cookie = struct.pack("!HH", 10, 8) + bytes(range(1, 9))
        body += b"\x00" + struct.pack("!HHIH", OPT, 1232, 0, len(cookie)) + cookie
    return head + body


def dns_response(qid: int, name: str, qtype: int, addr: bytes) -> bytes:
    head = struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0)
    q = qname(name) + struct.pack("!HH", qtype, 1)
    answer = b"\xc0\x0c" + struct.pack("!HHIH", A, 1, 300, 4) + addr
    return head + q + answer


def udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> tuple[int, bytes]:
    length = 8 + len(payload)
    pseudo = (src + dst + struct.pack("!xBH", 17, length) if len(src) == 4
              else src + dst + struct.pack("!IxxxB", length, 17))
    c = csum(pseudo + struct.pack("!HHHH", sport, dport, length, 0) + payload) or 0xFFFF
    return 17, struct.pack("!HHHH", sport, dport, length, c) + payload


def tcp(src: bytes, dst: bytes, sport: int, dport: int, seq: int, payload: bytes, *,
        flags: int = 0x18, doff: int = 5) -> tuple[int, bytes]:
    head = struct.pack("!HHIIBBHHH", sport, dport, seq, 1000, doff << 4, flags, 64240, 0, 0)
    pseudo = (src + dst + struct.pack("!xBH", 6, len(head) + len(payload)) if len(src) == 4
              else src + dst + struct.pack("!IxxxB", len(head) + len(payload), 6))
    c = csum(pseudo + head + payload)
    return 6, head[:16] + struct.pack("!H", c) + head[18:] + payload


def ipv4(src: bytes, dst: bytes, l4: tuple[int, bytes], *, ident: int = 1, frag: int = 0x4000,
         options: bytes = b"") -> bytes:
    proto, seg = l4
    ihl = 5 + len(options) // 4
    head = struct.pack("!BBHHHBBH", 0x40 | ihl, 0, ihl * 4 + len(seg), ident, frag, 64, proto, 0)
    head += src + dst + options
    return head[:10] + struct.pack("!H", csum(head)) + head[12:] + seg


def ipv6(src: bytes, dst: bytes, l4: tuple[int, bytes], *, hop_by_hop: bool = False) -> bytes:
    proto, seg = l4
    ext = b""
    if hop_by_hop:
        # Next header, length 0 (8 bytes), router alert option (RFC 2711), PadN.
        ext = bytes([proto, 0, 5, 2, 0, 0, 1, 0])
        proto = 0
    return struct.pack("!IHBB", 0x60000000, len(ext) + len(seg), proto, 64) + src + dst + ext + seg


MAC_CLIENT, MAC_ROUTER = bytes.fromhex("3c22fb1a2b3c"), bytes.fromhex("0050569a0001")


def ether(ip: bytes, *, vlans: tuple[tuple[int, int], ...] = (), ethertype: int | None = None,
          trailer: bytes = b"") -> bytes:
    if ethertype is None:
        ethertype = 0x0800 if ip[0] >> 4 == 4 else 0x86DD
    tags = b"".join(struct.pack("!HH", tpid, vid) for tpid, vid in vlans)
    return MAC_ROUTER + MAC_CLIENT + tags + struct.pack("!H", ethertype) + ip + trailer


def sll(ip: bytes) -> bytes:
    """LINKTYPE_LINUX_SLL: packet type, ARPHRD, address length, 8 address bytes, protocol."""
    proto = 0x0800 if ip[0] >> 4 == 4 else 0x86DD
    return struct.pack("!HHH", 4, 1, 6) + MAC_CLIENT + b"\x00\x00" + struct.pack("!H", proto) + ip


def sll2(ip: bytes) -> bytes:
    """LINKTYPE_LINUX_SLL2: protocol, reserved, ifindex, ARPHRD, packet type, addr len, addr."""
    proto = 0x0800 if ip[0] >> 4 == 4 else 0x86DD
    return struct.pack("!HHIHBB", proto, 0, 2, 1, 0, 6) + MAC_CLIENT + b"\x00\x00" + ip


def loopback(ip: bytes) -> bytes:
    """LINKTYPE_NULL: the address family in the writer's byte order (little-endian here)."""
    return struct.pack("<I", 2 if ip[0] >> 4 == 4 else 30) + ip


def client_hello(sni: str | None, *, pad_before_sni: int = 0, broken_sni: bool = False) -> bytes:
    """RFC 8446 4.1.2 ClientHello in a TLS record; server_name per RFC 6066 section 3."""
    def ext(etype: int, body: bytes) -> bytes:
        return struct.pack("!HH", etype, len(body)) + body

    exts = b""
    if pad_before_sni:
        exts += ext(21, b"\x00" * pad_before_sni)  # padding (RFC 7685)
    if sni is not None:
        name = sni.encode("ascii")
        entry = struct.pack("!BH", 0, len(name)) + name
        exts += ext(0, struct.pack("!H", len(entry) + (5 if broken_sni else 0)) + entry)
    exts += ext(10, bytes.fromhex("0004001d0017"))  # supported_groups
    exts += ext(13, bytes.fromhex("0006040308040401"))  # signature_algorithms
    exts += ext(43, bytes.fromhex("0403040303"))  # supported_versions
    suites = bytes.fromhex("130113021303c02f")
    body = (b"\x03\x03" + bytes(range(32)) + b"\x20" + bytes(range(32, 64))
            + struct.pack("!H", len(suites)) + suites + b"\x01\x00"
            + struct.pack("!H", len(exts)) + exts)
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


# --- containers -------------------------------------------------------------

def pcap(path: Path, linktype: int, records: list[tuple[int, int, bytes]], *, endian: str = "<",
         nano: bool = False, cut_last: int = 0) -> None:
    """Classic pcap: global header (magic, 2.4, zone, sigfigs, snaplen, link type), records."""
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 262144, linktype)
    for sec, frac, frame in records:
        out += struct.pack(endian + "IIII", sec, frac, len(frame), len(frame)) + frame
    if cut_last:
        out = out[:-cut_last]
    path.write_bytes(out)


def block(endian: str, btype: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    total = len(body) + 12
    return struct.pack(endian + "II", btype, total) + body + struct.pack(endian + "I", total)


Opts = tuple[tuple[int, bytes], ...]


def options(endian: str, opts: Opts) -> bytes:
    out = b""
    for code, value in opts:
        out += struct.pack(endian + "HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)
    return out + struct.pack(endian + "HH", 0, 0) if opts else b""


def shb(endian: str, opts: Opts = ()) -> bytes:
    body = struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1) + options(endian, opts)
    return block(endian, 0x0A0D0D0A, body)


def idb(endian: str, linktype: int, opts: Opts = ()) -> bytes:
    return block(endian, 1, struct.pack(endian + "HHI", linktype, 0, 262144) + options(endian, opts))


def epb(endian: str, iface: int, stamp: int, frame: bytes, opts: Opts = ()) -> bytes:
    head = struct.pack(endian + "IIIII", iface, stamp >> 32, stamp & 0xFFFFFFFF, len(frame), len(frame))
    return block(endian, 6, head + frame + b"\x00" * (-len(frame) % 4) + options(endian, opts))


def spb(endian: str, frame: bytes) -> bytes:
    return block(endian, 3, struct.pack(endian + "I", len(frame)) + frame)


# --- expected output --------------------------------------------------------

def event(line: int, sec: int, micros: int, kind: str, client: str, host: str,
          qtype: str | None) -> dict[str, object]:
    stamp = dt.datetime.fromtimestamp(sec, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.")
    return {"timestamp": f"{stamp}{micros // 1000:03d}Z", "kind": kind, "client": client,
            "user": None, "host": host, "url": None, "action": "allowed", "qtype": qtype,
            "method": None, "status": None, "bytes_in": None, "bytes_out": None, "category": None,
            "app_id": None, "app_name": None, "scopes": [], "line": line}


def write_expected(path: Path, events: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))


RESOLVER = ip4("10.0.0.53")
WEB = ip4("142.250.190.14")
RESOLVER6 = ip6("2001:db8::53")


def mixed_pcap() -> None:
    recs: list[tuple[int, int, bytes]] = []
    want: list[dict[str, object]] = []

    def add(frame: bytes, expect: tuple[str, str, str, str | None] | None = None) -> None:
        n = len(recs) + 1
        sec, usec = BASE + n, 1000 * n + 234
        recs.append((sec, usec, frame))
        if expect:
            want.append(event(n, sec, usec, *expect))

    def q4(client: str, name: str, qtype: int, **kw: object) -> bytes:
        c = ip4(client)
        return ipv4(c, RESOLVER, udp(c, RESOLVER, 40000 + len(recs), 53,
                                     dns_query(0x1000 + len(recs), name, qtype)), **kw)  # type: ignore[arg-type]

    add(ether(q4("10.20.1.15", "www.example.com", A)), ("dns", "10.20.1.15", "www.example.com", "A"))
    add(ether(q4("10.20.2.31", "Classroom.Google.COM", AAAA), vlans=((0x8100, 120),)),
        ("dns", "10.20.2.31", "classroom.google.com", "AAAA"))
    add(ether(q4("10.20.3.7", "www.khanacademy.org", HTTPS), vlans=((0x88A8, 100), (0x8100, 20))),
        ("dns", "10.20.3.7", "www.khanacademy.org", "HTTPS"))
    add(ether(q4("10.20.4.8", "quizlet.com", A, options=bytes.fromhex("94040000"))),
        ("dns", "10.20.4.8", "quizlet.com", "A"))
    c = ip4("10.20.1.15")
    add(ether(ipv4(RESOLVER, c, udp(RESOLVER, c, 53, 40001, dns_response(0x1001, "www.example.com", A,
                                                                          ip4("93.184.215.14"))))))
    c6 = ip6("2001:db8:20::15")
    add(ether(ipv6(c6, RESOLVER6, udp(c6, RESOLVER6, 40006, 53, dns_query(7, "www.desmos.com", AAAA)),
                   hop_by_hop=True)), ("dns", "2001:db8:20::15", "www.desmos.com", "AAAA"))
    c6 = ip6("fd00:20::7")
    add(ether(ipv6(c6, RESOLVER6, udp(c6, RESOLVER6, 40007, 53,
                                      dns_query(8, "15.1.20.10.in-addr.arpa", PTR)))),
        ("dns", "fd00:20::7", "15.1.20.10.in-addr.arpa", "PTR"))
    c = ip4("10.20.5.9")
    add(ether(ipv4(c, RESOLVER, tcp(c, RESOLVER, 40009, 53, 5000, b"", flags=0x02))))  # SYN
    msg = dns_query(9, "_dmarc.district.k12.us", TXT)
    add(ether(ipv4(c, RESOLVER, tcp(c, RESOLVER, 40009, 53, 5001, struct.pack("!H", len(msg)) + msg))),
        ("dns", "10.20.5.9", "_dmarc.district.k12.us", "TXT"))
    c = ip4("10.20.6.12")
    add(ether(ipv4(c, WEB, tcp(c, WEB, 50010, 443, 7000, client_hello("docs.google.com")))),
        ("tls", "10.20.6.12", "docs.google.com", None))
    c = ip4("10.20.6.13")
    lms = ip4("203.0.113.80")
    add(ether(ipv4(c, lms, tcp(c, lms, 50011, 8443, 8000, client_hello("Portal.Example-LMS.com")))),
        ("tls", "10.20.6.13", "portal.example-lms.com", None))
    add(ether(ipv4(c, lms, tcp(c, lms, 50012, 443, 9000, client_hello(None)))))  # no SNI: ignored
    c = ip4("10.20.6.14")
    big = client_hello("www.tiktok.com", pad_before_sni=1500)
    add(ether(ipv4(c, WEB, tcp(c, WEB, 50013, 443, 10000, big[:1200]))))
    add(ether(ipv4(c, WEB, tcp(c, WEB, 50013, 443, 11200, big[1200:]))),
        ("tls", "10.20.6.14", "www.tiktok.com", None))
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + MAC_CLIENT + ip4("10.20.1.15") + bytes(6) + RESOLVER
    add(ether(arp, ethertype=0x0806))
    c = ip4("10.20.1.16")
    add(ether(ipv4(c, RESOLVER, (17, b"\x00" * 64), frag=185)))  # a fragment after the first
    add(ether(ipv4(c, RESOLVER, udp(c, RESOLVER, 123, 123, b"\x23" + b"\x00" * 47))))  # NTP
    add(ether(ipv4(c, RESOLVER, udp(c, RESOLVER, 40017, 53, dns_query(17, "district.k12.us", 6,
                                                                      opcode=4)))))  # NOTIFY
    add(ether(q4("10.20.7.1", "xn--bcher-kva.example", A)), ("dns", "10.20.7.1", "xn--bcher-kva.example", "A"))
    add(ether(q4("10.20.7.2", ".", NS)), ("dns", "10.20.7.2", ".", "NS"))
    add(ether(q4("10.20.7.3", "printer.district.local", 65280)),
        ("dns", "10.20.7.3", "printer.district.local", "TYPE65280"))
    add(ether(q4("10.20.7.4", "zoom.us", A), trailer=b"\xde\xad\xbe\xef"),  # an FCS after the packet
        ("dns", "10.20.7.4", "zoom.us", "A"))
    fwd = ip4("8.8.8.8")
    add(ether(ipv4(RESOLVER, fwd, udp(RESOLVER, fwd, 53, 53, dns_query(22, "example.net", A)))),
        ("dns", "10.0.0.53", "example.net", "A"))
    c = ip4("10.20.8.2")
    add(ether(ipv4(c, RESOLVER, udp(c, RESOLVER, 40023, 53, dns_query(23, "api.openai.com", A, edns=True)))),
        ("dns", "10.20.8.2", "api.openai.com", "A"))
    add(ether(q4("10.20.8.3", "_ldap._tcp.dc._msdcs.district.local", SRV), vlans=((0x8100, 30),)),
        ("dns", "10.20.8.3", "_ldap._tcp.dc._msdcs.district.local", "SRV"))
    pcap(HERE / "mixed.pcap", 1, recs)
    write_expected(HERE / "mixed.expected.jsonl", want)


def cooked_pcap() -> None:
    """Big-endian, nanosecond stamps, Linux cooked capture (``tcpdump -i any``, libpcap < 1.10)."""
    recs: list[tuple[int, int, bytes]] = []
    want: list[dict[str, object]] = []
    c = ip4("10.40.0.21")
    c6 = ip6("2001:db8:40::21")
    frames = [
        (sll(ipv4(c, RESOLVER, udp(c, RESOLVER, 41000, 53, dns_query(1, "www.wikipedia.org", A)))),
         ("dns", "10.40.0.21", "www.wikipedia.org", "A")),
        (sll(ipv6(c6, RESOLVER6, udp(c6, RESOLVER6, 41001, 53, dns_query(2, "www.wikipedia.org", AAAA)))),
         ("dns", "2001:db8:40::21", "www.wikipedia.org", "AAAA")),
        (sll(ipv4(c, WEB, tcp(c, WEB, 41002, 443, 1, client_hello("www.wikipedia.org")))),
         ("tls", "10.40.0.21", "www.wikipedia.org", None)),
        (sll(ipv4(RESOLVER, c, udp(RESOLVER, c, 53, 41000, dns_response(1, "www.wikipedia.org", A,
                                                                         ip4("185.15.59.224"))))), None),
    ]
    for i, (frame, expect) in enumerate(frames, 1):
        sec, nsec = BASE + 3600 + i, 123_456_789 * i % 1_000_000_000
        recs.append((sec, nsec, frame))
        if expect:
            want.append(event(i, sec, nsec // 1000, *expect))  # type: ignore[arg-type]
    pcap(HERE / "cooked.pcap", 113, recs, endian=">", nano=True)
    write_expected(HERE / "cooked.expected.jsonl", want)


def loopback_pcap() -> None:
    """LINKTYPE_NULL (BSD loopback, a resolver capturing on lo0), little-endian family."""
    recs: list[tuple[int, int, bytes]] = []
    lo, lo6 = ip4("127.0.0.1"), ip6("::1")
    recs.append((BASE + 7200, 500_000, loopback(ipv4(lo, lo, udp(lo, lo, 42000, 53,
                                                                dns_query(1, "localhost.district.local", A))))))
    recs.append((BASE + 7201, 250_000, loopback(ipv6(lo6, lo6, udp(lo6, lo6, 42001, 53,
                                                                  dns_query(2, "time.apple.com", AAAA))))))
    pcap(HERE / "loopback.pcap", 0, recs)
    write_expected(HERE / "loopback.expected.jsonl", [
        event(1, BASE + 7200, 500_000, "dns", "127.0.0.1", "localhost.district.local", "A"),
        event(2, BASE + 7201, 250_000, "dns", "::1", "time.apple.com", "AAAA"),
    ])


def sections_pcapng() -> None:
    """Two sections: little-endian (Ethernet in microseconds, SLL2 in nanoseconds),
    then big-endian (raw IP in milliseconds); skipped blocks in between."""
    le, be = "<", ">"
    out = shb(le, ((4, b"make_fixtures.py"),))
    out += idb(le, 1, ((2, b"eth0"),))
    out += idb(le, 276, ((2, b"any"), (9, b"\x09")))
    want: list[dict[str, object]] = []
    n = 0
    t0 = BASE + 10800

    def pkt(endian: str, iface: int, stamp: int, frame: bytes, expect: tuple[str, str, str, str | None] | None,
            sec: int, micros: int, opts: Opts = ()) -> bytes:
        nonlocal n
        n += 1
        if expect:
            want.append(event(n, sec, micros, *expect))
        return epb(endian, iface, stamp, frame, opts)

    c = ip4("10.30.1.5")
    q = ipv4(c, RESOLVER, udp(c, RESOLVER, 43000, 53, dns_query(1, "www.roblox.com", A)))
    out += pkt(le, 0, (t0 + 1) * 10**6 + 111_111, ether(q, vlans=((0x8100, 30),)),
               ("dns", "10.30.1.5", "www.roblox.com", "A"), t0 + 1, 111_111)
    c = ip4("10.30.1.6")
    q = ipv4(c, RESOLVER, udp(c, RESOLVER, 43001, 53, dns_query(2, "discord.com", AAAA)))
    out += pkt(le, 1, (t0 + 2) * 10**9 + 222_222_222, sll2(q),
               ("dns", "10.30.1.6", "discord.com", "AAAA"), t0 + 2, 222_222)
    # Interface Statistics Block: skipped.
    out += block(le, 5, struct.pack(le + "III", 0, 0, 0) + options(le, ((4, struct.pack(le + "Q", 3)),)))
    c = ip4("10.30.1.7")
    out += pkt(le, 0, (t0 + 3) * 10**6 + 333_333,
               ether(ipv4(c, WEB, tcp(c, WEB, 43002, 443, 1, client_hello("www.netflix.com")))),
               ("tls", "10.30.1.7", "www.netflix.com", None), t0 + 3, 333_333,
               ((1, b"a packet comment"),))
    # Simple Packet Block on interface 0: no stamp of its own, takes the last one.
    c = ip4("10.30.1.8")
    out += spb(le, ether(ipv4(c, RESOLVER, udp(c, RESOLVER, 43003, 53, dns_query(3, "spotify.com", A)))))
    n += 1
    want.append(event(n, t0 + 3, 333_333, "dns", "10.30.1.8", "spotify.com", "A"))
    c6 = ip6("2001:db8:30::8")
    q = ipv6(c6, RESOLVER6, udp(c6, RESOLVER6, 43004, 53, dns_query(4, "www.youtube.com", HTTPS)))
    out += pkt(le, 1, (t0 + 4) * 10**9 + 444_444_444, sll2(q),
               ("dns", "2001:db8:30::8", "www.youtube.com", "HTTPS"), t0 + 4, 444_444)
    # Name Resolution Block (one IPv4 record, then end): skipped.
    rec = struct.pack(le + "HH", 1, 4 + 12) + RESOLVER + b"ns1.local\x00\x00\x00"
    out += block(le, 4, rec + struct.pack(le + "HH", 0, 0))
    c = ip4("10.30.1.5")
    r = ipv4(RESOLVER, c, udp(RESOLVER, c, 53, 43000, dns_response(1, "www.roblox.com", A, ip4("128.116.0.1"))))
    out += pkt(le, 0, (t0 + 5) * 10**6, ether(r), None, t0 + 5, 0)
    out += block(le, 0x00000BAD, struct.pack(le + "I", 32473) + b"custom data")  # custom block: skipped
    # Second section, big-endian; interface numbering starts again.
    out += shb(be)
    out += idb(be, 101, ((9, b"\x03"),))
    c = ip4("10.30.2.9")
    q = ipv4(c, RESOLVER, udp(c, RESOLVER, 43005, 53, dns_query(5, "www.instagram.com", A)))
    out += pkt(be, 0, (t0 + 6) * 1000 + 666, q, ("dns", "10.30.2.9", "www.instagram.com", "A"), t0 + 6, 666_000)
    c6 = ip6("2001:db8:30::9")
    web6 = ip6("2606:4700::6810:84e5")
    h = ipv6(c6, web6, tcp(c6, web6, 43006, 443, 99, client_hello("chatgpt.com")))
    out += pkt(be, 0, (t0 + 7) * 1000 + 777, h, ("tls", "2001:db8:30::9", "chatgpt.com", None), t0 + 7, 777_000)
    # The golden harness pairs <name>.<ext> with <name>.expected.jsonl: the
    # pcapng file needs a name of its own, apart from mixed.pcap.
    (HERE / "sections.pcapng").write_bytes(out)
    write_expected(HERE / "sections.expected.jsonl", want)


def bad_pcap() -> None:
    recs: list[tuple[int, int, bytes]] = []

    def add(frame: bytes) -> None:
        n = len(recs) + 1
        recs.append((BASE + 14400 + n, 0, frame))

    c = ip4("10.50.0.9")

    def q(payload: bytes, dport: int = 53) -> bytes:
        return ether(ipv4(c, RESOLVER, udp(c, RESOLVER, 44000, dport, payload)))

    add(q(dns_query(1, "www.example.org", A)))                         # parsed
    add(ether(ipv4(RESOLVER, c, udp(RESOLVER, c, 53, 44000,
                                    dns_response(1, "www.example.org", A, ip4("93.184.215.14"))))))  # ignored
    add(MAC_ROUTER + MAC_CLIENT[:4])                                    # truncated Ethernet header
    add(ether(ipv4(c, RESOLVER, udp(c, RESOLVER, 44000, 53, b"x" * 20))[:12]))  # truncated IPv4 header
    add(q(dns_query(2, "www.example.org", A))[:50])                     # truncated IPv4 packet (snaplen)
    frame = bytearray(q(dns_query(3, "www.example.org", A)))
    frame[14 + 20 + 4 : 14 + 20 + 6] = struct.pack("!H", 300)           # UDP length past the packet
    add(bytes(frame))                                                   # bad UDP length
    add(q(b"\x00\x04\x01\x00\x00"))                                     # truncated DNS header
    add(q(dns_query(5, "", A, raw_name=b"\x3fabc\x00")))                # label runs past the end
    add(q(dns_query(6, "", A, raw_name=b"\x03www\x07example\x03org\x00")[:-4]))  # no qtype/qclass
    add(q(dns_query(7, "", A, raw_name=b"\x08bad name\x07example\x00")))  # invalid query name
    add(q(dns_query(8, "", A, raw_name=b"\xc0\x0c")))                    # pointer loop
    msg = dns_query(9, "www.example.org", A)
    add(ether(ipv4(c, RESOLVER, tcp(c, RESOLVER, 44001, 53, 1, struct.pack("!H", len(msg) + 40) + msg))))
    add(ether(ipv4(c, WEB, tcp(c, WEB, 44002, 443, 1, client_hello("www.example.org", broken_sni=True)))))
    add(ether(ipv6(ip6("2001:db8::9"), RESOLVER6, udp(ip6("2001:db8::9"), RESOLVER6, 1, 53, b""))[:30]))
    add(ether(b"\x55" + ipv4(c, RESOLVER, udp(c, RESOLVER, 44000, 53, msg))[1:], ethertype=0x0800))  # IP version 5
    add(ether(ipv4(c, RESOLVER, tcp(c, RESOLVER, 44003, 53, 1, msg, doff=3))))     # TCP header length 12
    add(q(dns_query(10, "bandlab.com", AAAA)))                          # parsed
    add(q(dns_query(11, "www.example.org", A)))                         # cut off: the capture stops
    pcap(HERE / "bad.pcap", 1, recs, cut_last=40)
    (HERE / "bad.expected.json").write_text(json.dumps({
        "read": 18, "parsed": 2, "ignored": 1, "rejected": 15,
        "reasons": {
            "truncated Ethernet header": 1, "truncated IPv4 header": 1, "truncated IPv4 packet": 1,
            "bad UDP length": 1, "truncated DNS header": 1, "malformed DNS question": 2,
            "truncated DNS question": 1, "invalid query name": 1,
            "DNS over TCP message split across segments": 1,
            "malformed TLS server_name extension": 1, "truncated IPv6 header": 1, "bad IP version": 1,
            "bad TCP header length": 1, "capture cut off mid-record": 1,
        }}, indent=1) + "\n")


if __name__ == "__main__":
    mixed_pcap()
    cooked_pcap()
    loopback_pcap()
    sections_pcapng()
    bad_pcap()
