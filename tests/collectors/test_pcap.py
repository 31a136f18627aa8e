"""Packet captures: hostile input, round trips, resuming, the quirks of the format."""

from __future__ import annotations

import gzip
import shutil
import ssl
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.base import ParseContext
from collectors.dns import pcap
from collectors.driver import Batch, ReadStats
from collectors.errors import ParseError
from collectors.event import Event
from collectors.registry import FORMATS, detect_file

DATA = Path(__file__).parent.parent / "data" / "pcap"


def with_tmp(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
hosts = st.lists(label, min_size=2, max_size=4).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.tuples(*[st.integers(0, 0xFFFF)] * 8).map(
    lambda t: __import__("ipaddress").IPv6Address(struct.pack("!8H", *t)).compressed)
stamps = st.integers(1_600_000_000_000, 1_900_000_000_000).map(lambda ms: ms / 1000)
qtypes = st.sampled_from(["A", "AAAA", "HTTPS", "TXT", "MX", "PTR", "SRV"])


def read(path: Path, **kw: object) -> tuple[list[Event], ReadStats, list[Batch]]:
    stats = ReadStats()
    batches = list(pcap.read_records(path, ParseContext(), stats, **kw))  # type: ignore[arg-type]
    assert stats.read == stats.parsed + stats.ignored + stats.rejected
    return [e for b in batches for e in b.events], stats, batches


def sample_events(n: int) -> list[Event]:
    out = []
    for i in range(n):
        client = f"10.1.{i % 7}.{i % 200 + 1}" if i % 5 else f"2001:db8::{i + 1:x}"
        if i % 4 == 3:
            out.append(Event(1_796_000_000 + i * 0.25, "tls", client, "", f"site{i % 9}.example.org"))
        else:
            out.append(Event(1_796_000_000 + i * 0.25, "dns", client, "", f"h{i % 11}.example.com",
                             qtype=("A", "AAAA", "HTTPS")[i % 3]))
    return out


# --- detection and contract ----------------------------------------------------

def test_line_api_refuses_and_sniff_is_binary_only() -> None:
    fmt = FORMATS["pcap"]
    with pytest.raises(ParseError, match="binary format"):
        fmt.make_parser(ParseContext())("anything", 1)
    assert fmt.sniff(["anything"]) is False
    assert fmt.read_records is not None and fmt.sniff_bytes is not None


@pytest.mark.parametrize("magic", ["a1b2c3d4", "d4c3b2a1", "a1b23c4d", "4d3cb2a1"])
def test_sniff_bytes_pcap_magics(magic: str) -> None:
    assert pcap.sniff_bytes(bytes.fromhex(magic) + bytes(20))
    assert not pcap.sniff_bytes(bytes.fromhex(magic))  # too short for a global header


def test_sniff_bytes_pcapng_needs_the_byte_order_magic() -> None:
    assert pcap.sniff_bytes(bytes.fromhex("0a0d0d0a1c0000004d3c2b1a") + bytes(16))
    assert pcap.sniff_bytes(bytes.fromhex("0a0d0d0a0000001c1a2b3c4d") + bytes(16))
    assert not pcap.sniff_bytes(bytes.fromhex("0a0d0d0a1c000000deadbeef") + bytes(16))
    assert not pcap.sniff_bytes(b"29-Nov-2026 10:00:00.000 queries: info: client")


def test_gzip_capture_is_detected_and_reads_the_same(tmp_path: Path) -> None:
    packed = tmp_path / "mixed.pcap.gz"
    with open(DATA / "mixed.pcap", "rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert detect_file(packed).name == "pcap"
    assert read(packed)[0] == read(DATA / "mixed.pcap")[0]


# --- hostile input -------------------------------------------------------------

def _valid_frames() -> list[bytes]:
    out = []
    for path in (DATA / "mixed.pcap", DATA / "bad.pcap"):
        raw = path.read_bytes()
        p = 24
        while p + 16 <= len(raw):
            caplen = struct.unpack("<I", raw[p + 8 : p + 12])[0]
            out.append(raw[p + 16 : p + 16 + caplen])
            p += 16 + caplen
    return out


VALID = _valid_frames()


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    """Random bytes, or a real frame with a few bytes changed and maybe cut short."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=200))
    f = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(0, 4))):
        if f:
            f[draw(st.integers(0, len(f) - 1))] = draw(st.integers(0, 255))
    return bytes(f[: draw(st.integers(0, len(f)))])


@settings(max_examples=600, deadline=None)
@given(frame=frames(), linktype=st.sampled_from([0, 1, 101, 108, 113, 228, 229, 276, 147]))
def test_decoder_only_raises_parse_error(frame: bytes, linktype: int) -> None:
    try:
        got = pcap.Decoder().frame(frame, linktype)
    except ParseError:
        return
    assert got is None or got[0] in ("dns", "tls")


@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=400), split=st.integers(0, 400))
def test_client_hello_parser_on_arbitrary_bytes(data: bytes, split: int) -> None:
    for chunk in (data, b"\x16\x03\x01" + data, pcap.client_hello("a.example")[:split] + data):
        try:
            got = pcap.client_hello_sni(chunk)
        except (ParseError, pcap._Incomplete):
            continue
        assert got is None or isinstance(got, str)


@with_tmp(150)
@given(body=st.lists(frames(), max_size=8), junk=st.binary(max_size=40),
       linktype=st.sampled_from([1, 101, 113]), big=st.booleans())
def test_arbitrary_pcap_bodies_are_rejected_not_raised(tmp_path: Path, body: list[bytes], junk: bytes,
                                                       linktype: int, big: bool) -> None:
    e = ">" if big else "<"
    raw = struct.pack(e + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)
    for f in body:
        raw += struct.pack(e + "IIII", 1_796_000_000, 0, len(f), len(f)) + f
    path = tmp_path / "fuzz.pcap"
    path.write_bytes(raw + junk)
    _, stats, _ = read(path)
    assert stats.read >= len(body)


@with_tmp(150)
@given(raw=st.binary(max_size=600))
def test_arbitrary_bytes_after_a_pcap_header(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "fuzz.pcap"
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1) + raw)
    read(path)


@with_tmp(150)
@given(raw=st.binary(max_size=600), cut=st.integers(0, 2000))
def test_arbitrary_pcapng_bodies(tmp_path: Path, raw: bytes, cut: int) -> None:
    good = (DATA / "sections.pcapng").read_bytes()
    path = tmp_path / "fuzz.pcapng"
    path.write_bytes(good[:cut] + raw)
    read(path)


# --- round trips ---------------------------------------------------------------

@with_tmp(60)
@given(evs=st.lists(st.builds(
    lambda ts, client, host, kind, qtype: Event(ts, kind, client, "", host,
                                                qtype=qtype if kind == "dns" else None),
    stamps, st.one_of(ipv4, ipv6), hosts, st.sampled_from(["dns", "tls"]), qtypes), max_size=20))
def test_write_pcap_then_read_is_identity(tmp_path: Path, evs: list[Event]) -> None:
    path = tmp_path / "rt.pcap"
    assert pcap.write_pcap(evs, path) == len(evs)
    got, stats, _ = read(path)
    assert got == evs
    assert [e.line for e in got] == list(range(1, len(evs) + 1))
    assert stats.rejected == 0


def test_write_pcap_skips_other_kinds(tmp_path: Path) -> None:
    evs = [Event(1.0, "proxy", "10.0.0.1", "", "a.example"), *sample_events(3)]
    assert pcap.write_pcap(evs, tmp_path / "x.pcap") == 3
    assert read(tmp_path / "x.pcap")[0] == evs[1:]


@settings(max_examples=40, deadline=None)
@given(host=hosts)
def test_client_hello_is_what_openssl_reads(host: str) -> None:
    """The stdlib's OpenSSL, as a TLS server, sees the same SNI in our ClientHello."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    seen: list[str | None] = []
    ctx.sni_callback = lambda sock, name, c: seen.append(name)  # type: ignore[assignment,misc,return-value]
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_side=True)
    hello = pcap.client_hello(host)
    inc.write(hello)
    with pytest.raises(ssl.SSLError):
        obj.do_handshake()  # no certificate: it fails after reading the SNI
    assert seen == [host] == [pcap.client_hello_sni(hello)]


# --- quirks ----------------------------------------------------------------------

def test_dns_question_cache_is_not_poisoned() -> None:
    head = struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0)
    good = head + b"\x03abc\x07example\x00\x00\x01\x00\x01"
    bad = head + b"\x03a\x00c\x07example\x00\x00\x01\x00\x01"  # NUL inside a label
    assert pcap.dns_question(good) == ("abc.example", "A")
    for _ in range(2):
        with pytest.raises(ParseError):
            pcap.dns_question(bad)
    assert pcap.dns_question(good[:2] + b"\x81\x80" + good[4:]) is None  # a response
    assert pcap.dns_question(good[:2] + b"\x81\x80" + good[4:], queries_only=False) == ("abc.example", "A")


def test_question_with_a_forward_pointer_is_malformed() -> None:
    head = struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0)
    msg = head + b"\x03www\xc0\x19" + b"\x00\x1c\x00\x01" + b"\x07example\x00"
    for _ in range(2):
        with pytest.raises(ParseError, match="malformed DNS question"):
            pcap.dns_question(msg)


def test_split_client_hello_waits_for_the_in_order_segment(tmp_path: Path) -> None:
    hello = pcap.client_hello("www.example.edu")
    seg = pcap._tcp(b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02", 50000, 443, 1000, hello[:100])
    seg2 = pcap._tcp(b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02", 50000, 443, 1100, hello[100:])
    retrans = pcap._tcp(b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02", 50000, 443, 1050, hello[50:100])
    d = pcap.Decoder()
    frame = lambda s: pcap._ether(b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02", 6, s, 1)  # noqa: E731
    assert d.frame(frame(seg), 1) is None
    assert d.frame(frame(retrans), 1) is None  # not the next byte: still waiting
    assert d.frame(frame(seg2), 1) == ("tls", "10.0.0.1", "www.example.edu", None)
    assert not d.pending


def test_ipv6_fragment_after_the_first_is_ignored() -> None:
    src, dst = bytes(15) + b"\x01", bytes(15) + b"\x02"
    frag = bytes([17, 0]) + struct.pack("!HI", 185 << 3, 7) + b"\x00" * 16
    ip = struct.pack("!IHBB", 0x60000000, len(frag), 44, 64) + src + dst + frag
    assert pcap.Decoder().frame(ip, 101) is None


def test_unsupported_link_type_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "wifi.pcap"
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 127)
                     + struct.pack("<IIII", 1, 0, 4, 4) + b"\x00" * 4)
    _, stats, _ = read(path)
    assert stats.reasons == {"unsupported link type": 1}


def test_not_a_capture(tmp_path: Path) -> None:
    path = tmp_path / "x.pcap"
    path.write_bytes(b"hello, this is text\n" * 3)
    _, stats, batches = read(path)
    assert stats.reasons == {"not a pcap or pcapng file": 1}
    assert batches[-1].offset == 0 and batches[-1].line == 0
    (tmp_path / "e.pcap").write_bytes(b"")
    assert read(tmp_path / "e.pcap")[1].read == 0


# --- checkpoints -------------------------------------------------------------------

def test_resume_pcap_from_every_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pcap, "BATCH", 3)
    evs = sample_events(20)
    path = tmp_path / "r.pcap"
    pcap.write_pcap(evs, path)
    whole, _, batches = read(path)
    assert whole == evs and len(batches) == 7
    for b in batches:
        rest, _, _ = read(path, offset=b.offset, line=b.line)
        assert rest == evs[b.line :]
        assert [e.line for e in rest] == list(range(b.line + 1, 21))


@pytest.mark.parametrize("nano,endian", [(True, ">"), (False, ">"), (True, "<")])
def test_resume_keeps_byte_order_and_precision(tmp_path: Path, nano: bool, endian: str) -> None:
    frame = (DATA / "cooked.pcap").read_bytes()[24 + 16 :]
    frame = frame[: struct.unpack(">I", (DATA / "cooked.pcap").read_bytes()[24 + 8 : 24 + 12])[0]]
    head = struct.pack(endian + "IHHiIII", 0xA1B23C4D if nano else 0xA1B2C3D4, 2, 4, 0, 0, 65535, 113)
    recs = b"".join(struct.pack(endian + "IIII", 1_796_000_000 + i, 500_000, len(frame), len(frame)) + frame
                    for i in range(3))
    path = tmp_path / "o.pcap"
    path.write_bytes(head + recs)
    evs, _, _ = read(path)
    rest, _, _ = read(path, offset=24 + 16 + len(frame), line=1)
    assert rest == evs[1:]
    assert rest[0].ts == 1_796_000_001 + (0.0005 if nano else 0.5)


def test_resume_pcapng_in_the_second_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pcap, "BATCH", 1)
    whole, _, batches = read(DATA / "sections.pcapng")
    for b in batches:
        rest, stats, _ = read(DATA / "sections.pcapng", offset=b.offset, line=b.line)
        assert rest == [e for e in whole if e.line > b.line]
        assert stats.rejected == 0
    gz = tmp_path / "s.pcapng.gz"
    gz.write_bytes(gzip.compress((DATA / "sections.pcapng").read_bytes()))
    b = batches[-2]
    assert read(gz, offset=b.offset, line=b.line)[0] == [e for e in whole if e.line > b.line]


def test_cut_record_is_left_for_the_next_read_when_not_final(tmp_path: Path) -> None:
    evs = sample_events(5)
    full = tmp_path / "full.pcap"
    pcap.write_pcap(evs, full)
    raw = full.read_bytes()
    live = tmp_path / "live.pcap"
    live.write_bytes(raw[:-30])
    got, stats, batches = read(live, final=False)
    assert got == evs[:4] and stats.rejected == 0
    end = batches[-1]
    got, stats, batches = read(live)  # final: the partial record is rejected, offset stays
    assert stats.reasons == {"capture cut off mid-record": 1}
    assert (batches[-1].offset, batches[-1].line) == (end.offset, end.line)
    live.write_bytes(raw)  # the capture grew
    rest, stats, _ = read(live, offset=end.offset, line=end.line)
    assert rest == evs[4:] and stats.rejected == 0


def test_cut_record_header(tmp_path: Path) -> None:
    evs = sample_events(2)
    pcap.write_pcap(evs, tmp_path / "a.pcap")
    raw = (tmp_path / "a.pcap").read_bytes()
    (tmp_path / "b.pcap").write_bytes(raw + b"\x01\x02\x03")
    got, stats, batches = read(tmp_path / "b.pcap")
    assert got == evs and stats.reasons == {"capture cut off mid-record": 1}
    assert batches[-1].offset == len(raw)
    assert read(tmp_path / "b.pcap", final=False)[1].rejected == 0


def _first_epb(raw: bytes) -> int:
    p = 0
    while True:
        btype, blen = struct.unpack("<II", raw[p : p + 8])
        if btype == 6:
            return p
        p += blen


def test_pcapng_damage(tmp_path: Path) -> None:
    good = (DATA / "sections.pcapng").read_bytes()
    path = tmp_path / "d.pcapng"
    path.write_bytes(good[:-10])
    got, stats, _ = read(path)
    assert stats.reasons == {"capture cut off mid-record": 1} and len(got) == 6
    assert read(path, final=False)[1].rejected == 0
    # A block length that is not a multiple of 4 stops the read.
    blocks = bytearray(good)
    first_epb = _first_epb(good)
    blocks[first_epb + 4 : first_epb + 8] = struct.pack("<I", 1001)
    path.write_bytes(bytes(blocks))
    got, stats, _ = read(path)
    assert got == [] and stats.reasons == {"bad pcapng block length": 1}


def test_pcapng_packet_on_an_undeclared_interface(tmp_path: Path) -> None:
    good = (DATA / "sections.pcapng").read_bytes()
    blocks = bytearray(good)
    first_epb = _first_epb(good)
    blocks[first_epb + 8 : first_epb + 12] = struct.pack("<I", 5)
    path = tmp_path / "i.pcapng"
    path.write_bytes(bytes(blocks))
    got, stats, _ = read(path)
    assert stats.reasons == {"packet on an undeclared interface": 1} and len(got) == 6


def test_gzip_stream_cut_short(tmp_path: Path) -> None:
    evs = sample_events(40)
    plain = tmp_path / "g.pcap"
    pcap.write_pcap(evs, plain)
    for source in (plain, DATA / "sections.pcapng"):
        packed = gzip.compress(source.read_bytes())
        path = tmp_path / "g.pcap.gz"
        path.write_bytes(packed[: len(packed) * 2 // 3])
        got, stats, _ = read(path)
        assert stats.rejected <= 1 and stats.reasons.keys() <= {"capture cut off mid-record"}
        assert got == read(source)[0][: len(got)]
