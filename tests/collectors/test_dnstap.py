"""dnstap: hostile input, round trips, resuming, which messages count."""

from __future__ import annotations

import contextlib
import gzip
import ipaddress
import struct
from pathlib import Path

import dnstap_pb
import fstrm
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.base import ParseContext
from collectors.dns import dnstap
from collectors.dns.pcap import _query_wire
from collectors.driver import Batch, ReadStats
from collectors.errors import ParseError
from collectors.event import Event
from collectors.registry import FORMATS, detect_file

DATA = Path(__file__).parent.parent / "data" / "dnstap"

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
hosts = st.lists(label, min_size=2, max_size=4).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.binary(min_size=16, max_size=16).map(lambda b: str(ipaddress.IPv6Address(b)))
stamps = st.integers(1_600_000_000_000_000, 1_900_000_000_000_000).map(lambda us: us / 1_000_000)
START = fstrm.FstrmCodec().encode_ctrlstart(dnstap.CONTENT_TYPE)


def with_tmp(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def read(path: Path, **kw: object) -> tuple[list[Event], ReadStats, list[Batch]]:
    stats = ReadStats()
    batches = list(dnstap.read_records(path, ParseContext(), stats, **kw))  # type: ignore[arg-type]
    assert stats.read == stats.parsed + stats.ignored + stats.rejected
    return [e for b in batches for e in b.events], stats, batches


def frame(msg: dnstap_pb.Message) -> bytes:
    d = dnstap_pb.Dnstap(type=dnstap_pb.Dnstap.MESSAGE, message=msg)
    return fstrm.FstrmCodec().encode_data(d.SerializeToString())


def msg(mtype: int, host: str, *, client: str = "10.9.8.7", sec: int = 1_796_000_000,
        response: bool = False, rcode: int = 0) -> dnstap_pb.Message:
    m = dnstap_pb.Message(type=mtype, socket_family=dnstap_pb.INET, socket_protocol=dnstap_pb.UDP,
                          query_address=ipaddress.ip_address(client).packed, query_time_sec=sec,
                          query_time_nsec=0)
    wire = _query_wire(host, "A")
    if response:
        m.response_message = wire[:2] + bytes([0x81, 0x80 | rcode]) + wire[4:]
    else:
        m.query_message = wire
    return m


def test_line_api_refuses_and_sniff_is_binary_only() -> None:
    fmt = FORMATS["dnstap"]
    with pytest.raises(ParseError, match="binary format"):
        fmt.make_parser(ParseContext())("x", 1)
    assert fmt.sniff(["x"]) is False


def test_sniff_bytes_wants_a_dnstap_start_frame() -> None:
    assert dnstap.sniff_bytes(START)
    assert not dnstap.sniff_bytes(fstrm.FstrmCodec().encode_ctrlstart(b"protobuf:other.Type"))
    assert not dnstap.sniff_bytes(fstrm.FstrmCodec().encode(fstrm.FSTRM_CONTROL_START))
    assert not dnstap.sniff_bytes(b"\x00\x00\x00\x00" + bytes(40))
    assert not dnstap.sniff_bytes(bytes.fromhex("d4c3b2a1") + bytes(20))


def test_a_file_written_by_the_fstrm_codec_is_read(tmp_path: Path) -> None:
    codec = fstrm.FstrmCodec()
    path = tmp_path / "c.dnstap"
    path.write_bytes(codec.encode_ctrlstart(dnstap.CONTENT_TYPE)
                     + frame(msg(dnstap_pb.Message.CLIENT_QUERY, "a.example"))
                     + codec.encode(fstrm.FSTRM_CONTROL_STOP))
    assert detect_file(path).name == "dnstap"
    got, stats, _ = read(path)
    assert [e.host for e in got] == ["a.example"] and stats.read == 1


# --- hostile input ------------------------------------------------------------

@with_tmp(200)
@given(body=st.binary(max_size=600))
def test_arbitrary_bytes_after_the_start_frame(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "f.dnstap"
    path.write_bytes(START + body)
    read(path)


@with_tmp(200)
@given(payloads=st.lists(st.binary(min_size=1, max_size=120), max_size=6), tail=st.binary(max_size=12))
def test_arbitrary_frame_payloads_are_rejected_not_raised(tmp_path: Path, payloads: list[bytes],
                                                          tail: bytes) -> None:
    codec = fstrm.FstrmCodec()
    path = tmp_path / "p.dnstap"
    path.write_bytes(START + b"".join(codec.encode_data(p) for p in payloads) + tail)
    _, stats, _ = read(path)
    assert stats.read >= len(payloads)


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=200))
def test_message_decoder_only_raises_parse_error(payload: bytes) -> None:
    with contextlib.suppress(ParseError):
        dnstap._message(payload, 1, {}, False)


def test_not_a_dnstap_file(tmp_path: Path) -> None:
    path = tmp_path / "x.dnstap"
    path.write_bytes(fstrm.FstrmCodec().encode_ctrlstart(b"protobuf:other.Type") + b"\x00\x00\x00\x01x")
    _, stats, batches = read(path)
    assert stats.reasons == {"not a dnstap Frame Streams file": 1}
    assert batches[-1].offset == 0
    (tmp_path / "e.dnstap").write_bytes(b"")
    assert read(tmp_path / "e.dnstap")[1].read == 0


# --- round trip ------------------------------------------------------------------

@with_tmp(60)
@given(evs=st.lists(st.builds(
    lambda ts, client, host, qtype, blocked: Event(ts, "dns", client, "", host,
                                                   "blocked" if blocked else "allowed", qtype=qtype),
    stamps, st.one_of(ipv4, ipv6), hosts, st.sampled_from(["A", "AAAA", "HTTPS", "TXT", "SRV"]),
    st.booleans()), max_size=20))
def test_write_dnstap_then_read_is_identity(tmp_path: Path, evs: list[Event]) -> None:
    path = tmp_path / "rt.dnstap"
    assert dnstap.write_dnstap(evs, path) == len(evs)
    got, stats, _ = read(path)
    assert got == evs
    assert [e.line for e in got] == list(range(1, len(evs) + 1))
    assert stats.rejected == 0


# --- which messages count ---------------------------------------------------------

def test_responses_count_only_until_a_query_is_seen(tmp_path: Path) -> None:
    q, r = dnstap_pb.Message.CLIENT_QUERY, dnstap_pb.Message.CLIENT_RESPONSE
    path = tmp_path / "m.dnstap"
    path.write_bytes(START + frame(msg(r, "first.example", response=True, rcode=3))
                     + frame(msg(q, "second.example")) + frame(msg(r, "second.example", response=True))
                     + frame(msg(dnstap_pb.Message.AUTH_QUERY, "auth.example"))
                     + frame(msg(dnstap_pb.Message.FORWARDER_QUERY, "fwd.example")))
    got, stats, _ = read(path)
    assert [(e.host, e.status) for e in got] == [("first.example", 3), ("second.example", None)]
    assert stats.ignored == 3


def test_policy_that_rewrites_is_a_block(tmp_path: Path) -> None:
    path = tmp_path / "p.dnstap"
    frames = b""
    for action in (dnstap_pb.Policy.NXDOMAIN, dnstap_pb.Policy.PASS, dnstap_pb.Policy.LOCAL_DATA):
        m = msg(dnstap_pb.Message.CLIENT_QUERY, "x.example")
        m.policy.type = "RPZ"
        m.policy.action = action
        frames += frame(m)
    path.write_bytes(START + frames)
    assert [e.action for e in read(path)[0]] == ["blocked", "allowed", "blocked"]


# --- checkpoints ---------------------------------------------------------------------

def sample(n: int) -> list[Event]:
    return [Event(1_796_000_000 + i / 8, "dns", f"10.0.0.{i + 1}", "", f"h{i}.example", qtype="A")
            for i in range(n)]


def test_resume_from_every_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dnstap, "BATCH", 3)
    evs = sample(10)
    path = tmp_path / "r.dnstap.gz"
    plain = tmp_path / "r.dnstap"
    dnstap.write_dnstap(evs, plain)
    path.write_bytes(gzip.compress(plain.read_bytes()))
    for p in (plain, path):
        whole, _, batches = read(p)
        assert whole == evs and len(batches) == 4
        for b in batches:
            rest, stats, _ = read(p, offset=b.offset, line=b.line)
            assert rest == evs[b.line :] and stats.rejected == 0


def test_cut_frame_is_left_for_the_next_read_when_not_final(tmp_path: Path) -> None:
    evs = sample(4)
    full = tmp_path / "f.dnstap"
    dnstap.write_dnstap(evs, full)
    raw = full.read_bytes()
    stop = len(fstrm.FstrmCodec().encode(fstrm.FSTRM_CONTROL_STOP))
    live = tmp_path / "live.dnstap"
    live.write_bytes(raw[: -stop - 10])
    got, stats, batches = read(live, final=False)
    assert got == evs[:3] and stats.rejected == 0
    end = batches[-1]
    got, stats, batches = read(live)
    assert stats.reasons == {"frame cut off": 1}
    assert (batches[-1].offset, batches[-1].line) == (end.offset, end.line)
    live.write_bytes(raw)
    rest, stats, _ = read(live, offset=end.offset, line=end.line)
    assert rest == evs[3:] and stats.read == 1


def test_bad_frame_length_stops_the_read(tmp_path: Path) -> None:
    path = tmp_path / "b.dnstap"
    path.write_bytes(START + frame(msg(dnstap_pb.Message.CLIENT_QUERY, "a.example"))
                     + struct.pack("!I", 0xFFFFFFF0) + b"xx")
    got, stats, _ = read(path)
    assert len(got) == 1 and stats.reasons == {"bad frame length": 1}


def test_gzip_stream_cut_short(tmp_path: Path) -> None:
    evs = sample(50)
    plain = tmp_path / "g.dnstap"
    dnstap.write_dnstap(evs, plain)
    packed = gzip.compress(plain.read_bytes())
    path = tmp_path / "g.dnstap.gz"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    got, stats, _ = read(path)
    assert got == evs[: len(got)] and stats.reasons == {"frame cut off": 1}
