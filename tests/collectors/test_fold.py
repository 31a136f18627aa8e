"""The compiled BIND fold must give exactly what the line parser gives.

Hypothesis writes hostile query logs (every layout BIND writes, plus escapes,
upper case, bad names, other classes, ISO stamps, day boundaries, CRLF,
non-UTF-8 bytes, garbage), then each file is read twice: line by line through
the reference parser, and through the kernel with the parser taking what the
kernel hands back. Counts, reject reasons, line numbers and the daily usage
rows must be identical.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from collectors.dns import bind
from collectors.driver import ReadStats, read_batches
from collectors.event import Event
from collectors.registry import FORMATS, ParseContext
from sentinel.pipeline import Aggregator

try:
    from collectors import _fold
except ImportError:  # pragma: no cover - only where no C compiler was found
    _fold = None
    if os.environ.get("SENTINEL_REQUIRE_KERNELS"):
        raise

pytestmark = pytest.mark.skipif(_fold is None, reason="compiled kernel not built here")

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
NY = zoneinfo.ZoneInfo("America/New_York")


class Ids:
    """Identity resolution that keeps addresses as they are."""

    def resolve(self, client: str, user: str) -> tuple[str, str, str, str]:
        return "site", "students", client, user


def stamp(t: dt.datetime, month_case: str) -> str:
    mon = MONTHS[t.month - 1]
    mon = mon.upper() if month_case == "upper" else mon
    return f"{t.day:02d}-{mon}-{t.year} {t:%H:%M:%S}.{t.microsecond // 1000:03d}"


names = st.one_of(
    st.sampled_from(["www.Khanacademy.org", "quizlet.com", "a.b.c.example.net", "_dmarc.x.org",
                     "xn--bcher-kva.example", "xn--zz.example", "ex--ample.com", "-bad.com",
                     "a..b.com", "trail.example.", ".", "10.1.2.3", "sp\\032ace.example.com",
                     "caf\\195\\169.example", "\u00e9cole.example", "x" * 64 + ".com", "UPPER.ORG"]),
    st.from_regex(r"[A-Za-z0-9_-]{1,12}(\.[A-Za-z0-9_-]{1,12}){1,3}", fullmatch=True),
)
clients = st.sampled_from(["10.1.2.3", "10.1.2.4", "fe80::1%eth0", "2001:db8::7", "", "x"])
times = st.datetimes(min_value=dt.datetime(2026, 11, 28, 22), max_value=dt.datetime(2026, 11, 30, 2))


@st.composite
def lines(draw: Any) -> str:
    t = draw(times)
    shape = draw(st.sampled_from(["full", "full", "full", "bare", "nocat", "view", "old", "iso",
                                  "isoz", "nostamp", "otherclass", "short", "general", "garbage",
                                  "empty", "badsec"]))
    name, client = draw(names), draw(clients)
    qtype = draw(st.sampled_from(["A", "AAAA", "HTTPS", "PTR", ""]))
    head = stamp(t, draw(st.sampled_from(["title", "title", "upper"])))
    addr = f"{client}#{draw(st.integers(1, 65535))}"
    tail = f"query: {name} IN {qtype} +E(0)K (10.0.0.53)"
    if shape == "full":
        serial = draw(st.integers(0, 999))
        return f"{head} queries: info: client @0x7f5c2e0{serial:03d} {addr} ({name}): {tail}"
    if shape == "bare":
        return f"{head} client @0x7f1 {addr} ({name}): {tail}"
    if shape == "nocat":
        return f"{head} info: client {addr} ({name}): {tail}"
    if shape == "view":
        return f"{head} queries: info: client @0x1 {addr} ({name}): view internal: {tail}"
    if shape == "old":
        return f"{head} queries: info: client {addr}: {tail}"
    if shape == "iso":
        return f"{t.isoformat(timespec='milliseconds')} queries: info: client @0x1 {addr} ({name}): {tail}"
    if shape == "isoz":
        return f"{t.isoformat(timespec='milliseconds')}Z queries: info: client {addr} ({name}): {tail}"
    if shape == "nostamp":
        return f"client @0x1 {addr} ({name}): {tail}"
    if shape == "otherclass":
        return f"{head} queries: info: client @0x1 {addr} ({name}): query: {name} CH TXT +"
    if shape == "short":
        return f"{head} queries: info: client @0x1 {addr} ({name}): query: {name} IN"
    if shape == "general":
        return f"{head} general: info: zone example.com/IN: loaded serial 7"
    if shape == "badsec":
        return head[:18] + "7" + head[19:] + f" queries: info: client {addr} ({name}): {tail}"
    if shape == "empty":
        return ""
    return draw(st.text(max_size=60)).replace("\n", " ")


def ending() -> Any:
    return st.sampled_from(["\n", "\n", "\n", "\r\n"])


@st.composite
def logs(draw: Any) -> bytes:
    out = []
    for ln in draw(st.lists(lines(), min_size=1, max_size=40)):
        out.append(ln.encode("utf-8", errors="surrogateescape") + draw(ending()).encode())
    if draw(st.booleans()):
        out.insert(draw(st.integers(0, len(out))), b"29-Nov-2026 10:00:00.000 \xff\xfe bad bytes\n")
    data = b"".join(out)
    if draw(st.booleans()):
        data = data.rstrip(b"\n")  # a last line without its newline
    return data


def read(path: Path, tz: dt.tzinfo, folded: bool, chunk: int, fmt: str = "bind",
         offset: int = 0, line: int = 0) -> tuple[Any, ...]:
    ctx = ParseContext(tz=tz, day_zone=NY, max_line=300)
    f = FORMATS[fmt]
    parse = f.make_parser(ctx)
    folder = f.make_folder(ctx) if folded and f.make_folder else None
    if folded:
        assert folder is not None
    stats = ReadStats()
    agg = Aggregator(NY)
    rejected = []
    for batch in read_batches(path, parse, stats, chunk=chunk, max_line=300, folder=folder,
                              offset=offset, line=line, replay=f.header_lines):
        agg.add(batch.events)
        rejected += [(r.line, r.reason, r.raw) for r in batch.rejected]
    rows = agg.flush(Ids(), folder.drain() if folder else ())  # type: ignore[arg-type]
    usage = sorted((*r[:12], round(r[12], 3), round(r[13], 3)) for r in rows)
    return (stats.read, stats.parsed, stats.ignored, stats.rejected, stats.decode_errors,
            dict(stats.reasons), sorted(rejected), usage)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(data=logs(), tz=st.sampled_from([dt.UTC, NY, zoneinfo.ZoneInfo("Asia/Kolkata")]),
       chunk=st.sampled_from([64, 512, 1 << 20]))
def test_fold_equals_the_line_parser(tmp_path: Path, data: bytes, tz: dt.tzinfo, chunk: int) -> None:
    path = tmp_path / "query.log"
    path.write_bytes(data)
    assert read(path, tz, True, chunk) == read(path, tz, False, chunk)


def test_the_kernel_takes_the_common_layouts(tmp_path: Path) -> None:
    """Not a speed test: it checks the fast path is actually used."""
    path = tmp_path / "q.log"
    base = "29-Nov-2026 10:00:0{}.123 queries: info: client @0x7f1 10.1.2.{}#5353 (a.example): " \
           "query: A.Example IN A +E(0)K (10.0.0.53)\n"
    path.write_text("".join(base.format(i, i) for i in range(5)) + "garbage\n")
    folder = bind.make_folder(ParseContext(tz=dt.UTC))
    assert folder is not None
    count, slow, ignored = folder.fold(path.read_bytes())
    assert (count, slow, ignored) == (6, [5], 0)
    tallies = folder.drain()
    assert sorted((t.client, t.host, t.events) for t in tallies) == [
        (f"10.1.2.{i}", "a.example", 1) for i in range(5)]
    assert tallies[0].day == dt.date(2026, 11, 29)
    assert folder.drain() == []


# ---------------------------------------------------------------- Zeek dns.log TSV

ZEEK_DEFAULT = ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto trans_id rtt query qclass "
                "qclass_name qtype qtype_name rcode rcode_name AA TC RD RA Z answers TTLs rejected")
ZEEK_LAYOUTS = [ZEEK_DEFAULT.split(" "),
                ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "trans_id",
                 "query", "qtype_name"],
                ["uid", "query", "ts", "id_orig_h", "qtype", "qtype_name", "rcode", "extra"]]


def zeek_header(fields: list[str], sep: str = "\t") -> list[str]:
    esc = f"\\x{ord(sep):02x}"
    return [f"#separator {esc}", f"#set_separator{sep},", f"#empty_field{sep}(empty)",
            f"#unset_field{sep}-", f"#path{sep}dns", f"#open{sep}2026-11-29-00-00-00",
            f"#fields{sep}" + sep.join(fields), f"#types{sep}" + sep.join("string" for _ in fields)]


@st.composite
def zeek_records(draw: Any, fields: list[str], sep: str) -> str:
    t = draw(times).replace(tzinfo=dt.UTC).timestamp()
    values = {
        "ts": draw(st.sampled_from([f"{t:.6f}", f"{t:.3f}", f"{int(t)}", f"{t:.6f}x", "-",
                                    f"0{t:.6f}", f"{t:.9f}", "1e9"])),
        "id.orig_h": draw(st.sampled_from(["10.1.2.3", "10.1.2.4", "2001:DB8:0:0::7", "-",
                                           "010.1.2.3", "fe80::1", "x"])),
        "query": draw(st.one_of(names, st.sampled_from(["-", "(empty)", "", "caf\\xc3\\xa9.example",
                                                        "sp ace.example"]))),
        "qtype_name": draw(st.sampled_from(["A", "AAAA", "HTTPS", "PTR", "TXT", "*", "query-65",
                                            "a", "-", "TYPE65534"])),
        "qtype": draw(st.sampled_from(["1", "28", "65", "-", "x"])),
        "rcode": draw(st.sampled_from(["0", "3", "-", "99999", "x"])),
    }
    values["id_orig_h"] = values["id.orig_h"]
    row = [values.get(f, draw(st.sampled_from(["-", "C1a2b3", "53", "udp", "T"]))) for f in fields]
    if draw(st.integers(0, 15)) == 0:
        row = row[:-1]  # a field short
    return sep.join(row)


@st.composite
def zeek_logs(draw: Any) -> bytes:
    out: list[str] = []
    for _ in range(draw(st.integers(1, 2))):  # one log, or two concatenated
        fields = draw(st.sampled_from(ZEEK_LAYOUTS))
        sep = draw(st.sampled_from(["\t", "\t", "\t", " "]))
        if draw(st.booleans()):
            out += zeek_header(fields, sep)
        out += draw(st.lists(zeek_records(fields, sep), min_size=1, max_size=25))
        if draw(st.booleans()):
            out.append(f"#close{sep}2026-11-30-00-00-00")
    data = "".join(ln + draw(ending()) for ln in out).encode()
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(data=zeek_logs(), chunk=st.sampled_from([64, 700, 1 << 20]))
def test_zeek_fold_equals_the_line_parser(tmp_path: Path, data: bytes, chunk: int) -> None:
    path = tmp_path / "dns.log"
    path.write_bytes(data)
    assert read(path, dt.UTC, True, chunk, "zeek_dns") == read(path, dt.UTC, False, chunk, "zeek_dns")


def test_zeek_fold_resumed_mid_file_keeps_the_layout(tmp_path: Path) -> None:
    fields = ZEEK_LAYOUTS[2]
    rows = [f"C{i}\tdocs.example\t1795939200.{i:06d}\t10.1.2.{i}\t1\tA\t0\tx" for i in range(20)]
    data = ("\n".join([*zeek_header(fields), *rows]) + "\n").encode()
    path = tmp_path / "dns.log"
    path.write_bytes(data)
    offset = data.index(rows[10].encode())
    folded = read(path, dt.UTC, True, 1 << 20, "zeek_dns", offset=offset, line=18)
    assert folded == read(path, dt.UTC, False, 1 << 20, "zeek_dns", offset=offset, line=18)
    assert folded[1] == 10 and sum(r[7] for r in folded[-1]) == 10


def test_the_zeek_kernel_takes_the_default_layout(tmp_path: Path) -> None:
    from collectors.dns import zeek

    ev = [Event(1795939200.5 + i, "dns", f"10.1.2.{i}", "", "a.example", qtype="A", status=0)
          for i in range(5)]
    text = "\n".join([*zeek.header("dns"), *(zeek.render(e, i) for i, e in enumerate(ev)),
                      zeek.footer(1795939300)]) + "\n"
    folder = zeek.FORMATS[0].make_folder(ParseContext())  # type: ignore[misc]
    assert folder is not None
    count, slow, ignored = folder.fold(text.encode())
    assert count == 14 and slow == [0, 1, 2, 3, 4, 5, 6, 7, 13]  # the header and #close only
    assert ignored == 0
    assert sorted(t.client for t in folder.drain()) == [f"10.1.2.{i}" for i in range(5)]


# ---------------------------------------------------------------- dnsmasq / Pi-hole

@st.composite
def dnsmasq_lines(draw: Any) -> str:
    t = draw(st.datetimes(min_value=dt.datetime(2026, 12, 31, 22), max_value=dt.datetime(2027, 1, 1, 2)))
    stamp = f"{t:%b} {t.day:2d} {t:%H:%M:%S}"
    stamp = draw(st.sampled_from([stamp, stamp, stamp, "Nov 31 10:00:00", stamp[:13] + "61",
                                  stamp[:13] + " 5", stamp.replace(" ", "  ", 1)]))
    tag = draw(st.sampled_from(["dnsmasq[812]", "dnsmasq[812]", "pihole-FTL[77]", "ns1 dnsmasq[812]",
                                "dnsmasq", "dnsmasq-dhcp[812]", "ns1 daemon.info dnsmasq[812]",
                                "dnsmasq[x]", "named[1]"]))
    name, client = draw(names), draw(clients)
    qtype = draw(st.sampled_from(["A", "AAAA", "HTTPS", "PTR", "type=65", "a", "SRV"]))
    msg = draw(st.sampled_from([
        f"query[{qtype}] {name} from {client}", f"query[{qtype}] {name} from {client}",
        f"17 {client}/5353 query[{qtype}] {name} from {client}",
        f"forwarded {name} to 10.0.0.1", f"reply {name} is 1.2.3.4", f"gravity blocked {name} is 0.0.0.0",
        f"query[{qtype}] {name}", f"query[] {name} from {client}", f"query[{qtype}] {name} from"]))
    return f"{stamp} {tag}: {msg}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(lines_=st.lists(dnsmasq_lines(), min_size=1, max_size=40),
       ends=st.lists(ending(), min_size=40, max_size=40),
       tz=st.sampled_from([dt.UTC, NY]), chunk=st.sampled_from([64, 900, 1 << 20]))
def test_dnsmasq_fold_equals_the_line_parser(tmp_path: Path, lines_: list[str], ends: list[str],
                                             tz: dt.tzinfo, chunk: int) -> None:
    path = tmp_path / "pihole.log"
    path.write_bytes("".join(ln + e for ln, e in zip(lines_, ends, strict=False)).encode())
    ref = dt.datetime(2027, 1, 1, 12, tzinfo=dt.UTC)

    def go(folded: bool) -> tuple[Any, ...]:
        ctx = ParseContext(tz=tz, day_zone=NY, max_line=300, reference=ref)
        f = FORMATS["dnsmasq"]
        folder = f.make_folder(ctx) if folded and f.make_folder else None
        assert folder is not None or not folded
        stats, agg, rejected = ReadStats(), Aggregator(NY), []
        for batch in read_batches(path, f.make_parser(ctx), stats, chunk=chunk, max_line=300,
                                  folder=folder):
            agg.add(batch.events)
            rejected += [(r.line, r.reason) for r in batch.rejected]
        rows = agg.flush(Ids(), folder.drain() if folder else ())  # type: ignore[arg-type]
        return (stats.read, stats.parsed, stats.ignored, stats.rejected, dict(stats.reasons),
                sorted(rejected), sorted(tuple(r) for r in rows))

    assert go(True) == go(False)


def test_the_dnsmasq_kernel_takes_query_lines() -> None:
    from collectors.dns import dnsmasq

    text = "".join(f"Nov 29 10:00:0{i} dnsmasq[812]: query[AAAA] Docs.Example from 10.1.2.{i}\n"
                   f"Nov 29 10:00:0{i} dnsmasq[812]: forwarded docs.example to 10.0.0.1\n"
                   for i in range(5))
    folder = dnsmasq.make_folder(ParseContext(reference=dt.datetime(2026, 12, 1, tzinfo=dt.UTC)))
    assert folder is not None
    count, slow, ignored = folder.fold(text.encode())
    assert (count, slow, ignored) == (10, [], 5)  # the forwarded lines: valid, no event
    tallies = folder.drain()
    assert sorted((t.client, t.host, t.kind) for t in tallies) == [
        (f"10.1.2.{i}", "docs.example", "dns") for i in range(5)]


# ---------------------------------------------------------------- Squid native

@st.composite
def squid_lines(draw: Any) -> str:
    t = draw(times).replace(tzinfo=dt.UTC).timestamp()
    stamp = draw(st.sampled_from([f"{t:.3f}", f"{t:.3f}", f"{int(t)}", f"{t:.7f}", "1e9", "-5.0",
                                  "nan", f"{t:.3f}x"]))
    code = draw(st.sampled_from(["TCP_MISS/200", "TCP_TUNNEL/200", "TCP_DENIED/403",
                                 "TCP_DENIED/407", "TCP_MISS/407", "NONE/000", "TCP_MISS/2x0",
                                 "TCP_MISS"]))
    size = draw(st.sampled_from(["0", "3950", "48213", "-", "12a"]))
    name = draw(names)
    method, url = draw(st.sampled_from([
        ("GET", f"http://{name}/path?q=1"), ("CONNECT", f"{name}:443"), ("POST", f"https://{name}:8443/up"),
        ("GET", f"https://user@{name}/"), ("GET", "http://[2001:db8::1]/"), ("NONE", "error:invalid-request"),
        ("-", "-"), ("GET", f"{name}"), ("GET", "/relative"), ("GET", f"http://{name}#frag"),
        ("CONNECT", "10.0.0.1:443"), ("GET", "http:///nohost"), ("GET", f"{name}/r?to=http://evil.example/"),
        ("GET", f"//{name}/x"), ("GET", f"averyveryverylongscheme://{name}/"), ("GET", f"a/b://{name}/")]))
    user = draw(st.sampled_from(["-", "jdoe", "DISTRICT%5Cjdoe", "s12345", "caf\u00e9"]))
    sep = draw(st.sampled_from([" ", " ", "   ", "\t"]))
    fields = [stamp, f"{draw(st.integers(0, 99999)):6d}", draw(clients) or "10.9.9.9", code, size, method,
              url, user, "HIER_DIRECT/10.0.0.1", "text/html"]
    cut = draw(st.sampled_from([10, 10, 10, 9, 8]))
    return sep.join(fields[:cut])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(lines_=st.lists(squid_lines(), min_size=1, max_size=40),
       ends=st.lists(ending(), min_size=40, max_size=40), chunk=st.sampled_from([64, 900, 1 << 20]))
@example(lines_=[  # the cases a kernel is likeliest to get wrong, always tried
    "1795960802.300      5 10.1.2.3 TCP_DENIED/407 3950 CONNECT www.gimkit.com:443 - HIER_NONE/- -",
    "1795960802.300      5 10.1.2.3 TCP_DENIED/403 3950 GET http://u@www.gimkit.com/ - HIER_NONE/- -",
    "1795960802.300      5 10.1.2.3 TCP_MISS/200 3950 NONE error:invalid-request - HIER_NONE/- -",
    "1795960802.300      5 10.1.2.3 TCP_MISS/200 3950 GET http://[::1]:8080/ DISTRICT%5Cjd HIER/- -",
    "179596080230000.3   5 10.1.2.3 TCP_MISS/200 3950 GET http://a.example/ - HIER_NONE/- -"],
    ends=["\n"] * 40, chunk=1 << 20)
def test_squid_fold_equals_the_line_parser(tmp_path: Path, lines_: list[str], ends: list[str],
                                           chunk: int) -> None:
    path = tmp_path / "access.log"
    path.write_bytes("".join(ln + e for ln, e in zip(lines_, ends, strict=False)).encode())
    assert read(path, dt.UTC, True, chunk, "squid") == read(path, dt.UTC, False, chunk, "squid")


def test_the_squid_kernel_takes_requests_and_counts_blocks_and_bytes() -> None:
    from collectors.proxy import squid

    text = ("1795960800.100    120 10.1.2.3 TCP_TUNNEL/200 5000 CONNECT www.gimkit.com:443 jdoe "
            "HIER_DIRECT/1.2.3.4 -\n"
            "1795960801.200     12 10.1.2.3 TCP_DENIED/403 3950 CONNECT www.gimkit.com:443 jdoe "
            "HIER_NONE/- text/html\n"
            "1795960802.300      5 10.1.2.3 TCP_DENIED/407 3950 CONNECT www.gimkit.com:443 - "
            "HIER_NONE/- text/html\n")
    folder = squid.make_folder(ParseContext())
    assert folder is not None
    assert folder.fold(text.encode()) == (3, [], 1)
    (t,) = folder.drain()
    assert (t.kind, t.client, t.user, t.host, t.events, t.blocked, t.bytes_in) == (
        "proxy", "10.1.2.3", "jdoe", "www.gimkit.com", 2, 1, 5000)
