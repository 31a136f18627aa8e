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
from collections.abc import Callable
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


# ---------------------------------------------------------------- FortiGate key=value

FGT_HEADS = ["<189>", "Nov 29 10:00:00 fgt01 ", "<189>Nov 29 10:00:00 fgt01 fortigate[1]: ",
             "<1899999>", "<x>", "2026-11-29T10:00:00-06:00 fgt01 "]
plain_hosts = st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9-]{1,10}){1,2}\.(com|org)", fullmatch=True)


def picker(draw: Any) -> Callable[[list[str], list[str]], str]:
    """``pick(good, odd)``: a good value, and one time in twenty an odd one
    (shrinking towards the common values)."""
    def pick(good: list[str], odd: list[str]) -> str:
        if odd and draw(st.integers(0, 19)) == 19:
            return str(draw(st.sampled_from(odd)))
        return str(draw(st.sampled_from(good)))
    return pick


@st.composite
def fortigate_lines(draw: Any) -> str:
    """A FortiGate log line: each field usually as FortiOS writes it, sometimes
    missing, repeated, odd or hostile (so that most lines reach the kernel's fast
    path and every branch of it meets its edge cases)."""

    pick = picker(draw)

    t = draw(times).replace(tzinfo=dt.UTC).timestamp()
    sec = int(t)
    ns = sec * 10**9 + draw(st.sampled_from([0, 123456789, 146929019, 500000001, 999989999,
                                             999990000, 999999999]))
    q = draw(st.sampled_from(["", '"']))  # FortiOS quotes strings; older releases do not
    kind = pick(["web", "web", "traffic", "sniffer"], ["local", "event", "dns", "notype", "nosub"])
    head = {"web": [f"type={q}utm{q}", f"subtype={q}webfilter{q}"],
            "traffic": ['type="traffic"', 'subtype="forward"'],
            "sniffer": ["type=traffic", "subtype=sniffer"],
            "local": ['type="traffic"', 'subtype="local"'],
            "event": ['type="event"', 'subtype="system"'],
            "dns": ['type="utm"', 'subtype="dns"'],
            "notype": ['subtype="forward"'], "nosub": ['type="utm"']}[kind]
    host = draw(st.one_of(plain_hosts, plain_hosts.map(str.upper), names))
    cells = [
        "date=2026-11-29", pick(["time=10:00:00"], ["time=10:00:00.5", "time=1"]),
        'devname="FGT-DISTRICT"', *head,
        pick([f"eventtime={ns}", f"eventtime={ns // 1000}", f"eventtime={ns // 10**6}",
              f"eventtime={sec}", f'eventtime="{ns}"'],
             ["eventtime=99999999", f"eventtime={ns}0", f"eventtime={ns}x", "eventtime=", "",
              f"eventtime={10**19 - 1}"]),
        pick(['tz="-0600"', 'tz="+0000"'], ['tz="UTC+2:00"', 'tz="junk"', ""]),
        pick(["srcip=10.1.2.3", "srcip=10.1.2.4", 'srcip="10.1.2.5"'],
             ["srcip=2001:db8::7", "srcip=fe80::1%port2", "srcip=010.1.2.3", "srcip=", "", "srcip=x",
              'srcip="10.1.2.3 x"']),
        "srcport=51000",
        pick(["dstip=203.0.113.80", "dstip=203.0.113.81"],
             ["dstip=2001:db8::80", "dstip=", "", "dstip=203.0.113.081"]),
        pick([""], ['dstname="File Server"', "dstname=files.example.org", "dstname="]),
        pick(['httpmethod="POST"', 'httpmethod="GET"', 'httpmethod="CONNECT"', ""],
             ['httpmethod="post"', 'httpmethod="PUT"', "httpmethod=PATCH", 'httpmethod=""']),
        'service="HTTPS"',
        pick([f'hostname="{host}"', f"hostname={host}"],
             ['hostname=""', "", 'hostname="[2001:db8::1]"', 'hostname="a b.example"',
              'hostname="o\\"x.example"']),
        pick(['action="blocked"', 'action="passthrough"', 'action="deny"', 'action="close"'],
             ["action=pass", 'action="exempt"', 'action="monitored"', 'action="warning"',
              'action="Blocked"', 'action="start"', 'action="accept"', "", "action="]),
        pick(['url="https://quizlet.com/x"', 'url="quizlet.com:443"'],
             ['url="/success.txt"', "", 'url="https://[2001:db8::1]/"']),
        pick(["sentbyte=517", "sentbyte=60000", ""],
             ["sentbyte=10240", "sentbyte=10239", "sentbyte=", "sentbyte=-1", "sentbyte=12a",
              f"sentbyte={10**19}", 'sentbyte="900"']),
        pick(["rcvdbyte=512", "rcvdbyte=0", ""], ["rcvdbyte=x", 'rcvdbyte=""']),
        pick(['msg="URL belongs to a denied category in policy"',
              'msg="URL belongs to an allowed category in policy"'],
             ['msg="URL belongs to a category with WARNINGs enabled"', 'msg="a \\"quoted\\" warning"',
              'msg="runs to the end', ""]),
        pick([""], ['rawdata="Method=POST|User-Agent=x"', 'rawdata=""']),
        pick(['user="jdoe"', 'user="s012345"', ""],
             ['user="N/A" unauthuser="kim"', 'user="-"', 'unauthuser="kim"', 'user="John Doe"',
              'user="o\\"brien"', 'user="caf\u00e9"', "user=n/a", 'user="DISTRICT\\\\jdoe"']),
        pick([""], ['catdesc="Games"', "hostname=second.example", 'tz="+0000"', "word", "=odd",
                    'a="x"b=c', "x==y", 'user="second"']),
    ]
    if draw(st.integers(0, 4)) == 0:
        cells = draw(st.permutations(cells))  # repeated keys and continuations land anywhere
    line = pick([""], FGT_HEADS) + " ".join(c for c in cells if c)
    if draw(st.integers(0, 12)) == 0:
        line = line.replace(" ", draw(st.sampled_from(["  ", "\t", "\x1c", "\u00a0"])), 2)
    if draw(st.integers(0, 20)) == 0:
        line += " pad=" + "x" * 2500  # past the kernel's own line limit
    return line


def read_kv(path: Path, folded: bool, chunk: int, fmt: str = "fortigate", upload_min: int = 10_240,
            tz: dt.tzinfo = dt.UTC, options: dict[str, Any] | None = None) -> tuple[Any, ...]:
    """`read` for key=value logs: longer lines, options, the upload threshold, and
    first/last times compared exactly."""
    ctx = ParseContext(tz=tz, day_zone=NY, max_line=4000, upload_min_bytes=upload_min,
                       options=options or {}, reference=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    f = FORMATS[fmt]
    folder = f.make_folder(ctx) if folded and f.make_folder else None
    assert folder is not None or not folded
    stats, agg, rejected = ReadStats(), Aggregator(NY, upload_min_bytes=upload_min), []
    for batch in read_batches(path, f.make_parser(ctx), stats, chunk=chunk, max_line=4000,
                              folder=folder):
        agg.add(batch.events)
        rejected += [(r.line, r.reason, r.raw) for r in batch.rejected]
    rows = agg.flush(Ids(), folder.drain() if folder else ())  # type: ignore[arg-type]
    return (stats.read, stats.parsed, stats.ignored, stats.rejected, stats.decode_errors,
            dict(stats.reasons), sorted(rejected), sorted(tuple(r) for r in rows))


FGT_CELLS = [
    ("date", "2026-11-29"), ("time", "10:00:00"), ("devname", '"FGT"'),
    ("eventtime", "1795975200123456789"), ("tz", '"-0600"'), ("logid", '"0317013312"'),
    ("type", '"utm"'), ("subtype", '"webfilter"'), ("eventtype", '"ftgd_allow"'), ("srcip", "10.1.2.3"),
    ("dstip", "203.0.113.80"), ("service", '"HTTPS"'), ("hostname", '"quizlet.com"'),
    ("profile", '"students"'), ("action", '"passthrough"'), ("url", '"https://quizlet.com/"'),
    ("sentbyte", "517"), ("rcvdbyte", "20480"),
    ("msg", '"URL belongs to an allowed category in policy"'), ("user", '"jdoe"')]
FGT_BASE = " ".join(f"{k}={v}" for k, v in FGT_CELLS)


def fgt(**changes: str | None) -> str:
    """FGT_BASE with fields replaced (a str), dropped (None) or appended."""
    cells = dict(FGT_CELLS)
    for k, v in changes.items():
        if v is None:
            cells.pop(k, None)
        else:
            cells[k] = v
    return " ".join(f"{k}={v}" for k, v in cells.items())


FGT_PINNED = [  # the cases a kernel is likeliest to get wrong, always tried
    FGT_BASE,
    fgt(msg='"a \\"quoted\\" value with spaces"', user='"o\\"brien"'),  # escaped quotes
    fgt(user='"John Doe"'), fgt(user='"N/A"', unauthuser='"kim"'), fgt(user="-"), fgt(user=None),
    fgt(hostname=None), fgt(hostname='""'), fgt(hostname='"WWW.Quizlet.COM."'),  # URL host, case
    fgt(hostname='"2001:db8::1"'), fgt(srcip="2001:db8::7"), fgt(srcip="fe80::1%port2"),
    fgt(srcip=None), fgt(srcip="010.1.2.3"),
    fgt(action='"blocked"', msg='"URL belongs to a denied category in policy"'),
    fgt(action='"blocked"', msg='"URL belongs to a category with warnings enabled"'),
    fgt(action='"blocked"', msg='"WARNING \\"page\\""'), fgt(action='"warning"'),
    fgt(action="pass"), fgt(action=None),
    fgt(sentbyte=None, rcvdbyte=None), fgt(sentbyte='""'), fgt(rcvdbyte="-1"), fgt(sentbyte="1e3"),
    fgt(httpmethod='"POST"', sentbyte="10240"), fgt(httpmethod='"post"', sentbyte="10239"),
    fgt(httpmethod='"PUT"', sentbyte="60000", action='"blocked"'), fgt(httpmethod="PATCH", sentbyte="99999"),
    fgt(rawdata='"Method=POST|User-Agent=x"', sentbyte="60000"),
    fgt(eventtime=None), fgt(eventtime=None, tz=None), fgt(eventtime="1795975200"),
    fgt(eventtime="1795975200123"), fgt(eventtime='"1795975200123456"'), fgt(eventtime="99999999"),
    fgt(eventtime="1796153392146929019"),  # C's double(ns) / 1e9 is one ulp off here
    fgt(eventtime="1796014799999999999"),  # a float rounds it up to midnight in New York
    fgt(eventtime="1796014799999990000"), fgt(eventtime="1796014799999989999"),
    fgt(date="2026-13-45", eventtime=None), fgt(tz='"+0000"') + ' tz="-0600"',
    fgt(type='"traffic"', subtype='"forward"', action='"deny"'),
    fgt(type='"traffic"', subtype='"forward"', action='"close"', hostname=None),
    fgt(type='"traffic"', subtype='"forward"', hostname=None, dstname='"File Server"'),
    fgt(type='"traffic"', subtype='"forward"', hostname=None, dstip=None),
    fgt(type='"traffic"', subtype='"forward"', action='"start"'),
    fgt(type='"traffic"', subtype='"forward"', action='"start"', srcip="x"),
    fgt(type='"traffic"', subtype='"forward"', action='"start"', sentbyte="x"),
    fgt(type='"traffic"', subtype='"local"'), fgt(type='"event"', subtype='"system"'),
    fgt(subtype=None), fgt(type=None),
    "<189>" + FGT_BASE, "Nov 29 10:00:00 fgt01 " + FGT_BASE, "<189>Nov 29 10:00:00 fgt01 x: " + FGT_BASE,
    FGT_BASE + " hostname=second.example",
    FGT_BASE.replace('hostname="quizlet.com"', "hostname=quizlet. com"),  # a word continuing it
    FGT_BASE + " trailing word", FGT_BASE.replace('"students"', '"students" loose'),
    FGT_BASE + " user=second", FGT_BASE.replace(" ", "\t", 3), FGT_BASE.replace(" ", "  "),
    FGT_BASE.replace("jdoe", "j\u00f6e"), FGT_BASE + " pad=" + "x" * 2500,
    FGT_BASE.replace('url="https://quizlet.com/"', 'url="https://quizlet.com/ unterminated'),
    'msg="only one pair with a = inside"', "no pairs at all", "",
    "<1x>" + fgt(date=None, time=None, devname=None),  # not a PRI: "<1x>eventtime" is the key
    "<18999>" + fgt(date=None, time=None, devname=None),  # five digits: not a PRI either
    fgt(msg='"three \\\\\\" quote"'),  # an odd run of "\\" escapes the quote, an even one not:
    fgt(msg=None, user=None, sentbyte=None) + ' msg="C:\\\\" user=jdoe sentbyte=60000',
    fgt(type='"traffic"', subtype='"forward"', hostname=None, dstname="files.example.org"),
    fgt(type="traffic", subtype="sniffer", user='"sniffed"'), fgt(type="traffic", subtype="sniffe"),
    fgt(action='"blocked"', user='"blocked-first"'),  # a new key's first event blocked: no bytes
    FGT_BASE.replace(" user=", "\tuser="), FGT_BASE.replace(" action=", "\x1caction="),
    FGT_BASE.replace(" action=", "\raction="),
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(lines_=st.lists(fortigate_lines(), min_size=5, max_size=30),
       ends=st.lists(ending(), min_size=len(FGT_PINNED), max_size=len(FGT_PINNED)),
       chunk=st.sampled_from([64, 2000, 1 << 20]), bad_bytes=st.booleans(), start=st.booleans())
@example(lines_=FGT_PINNED, ends=["\n"] * len(FGT_PINNED), chunk=1 << 20, bad_bytes=True, start=False)
@example(lines_=FGT_PINNED, ends=["\r\n"] * len(FGT_PINNED), chunk=64, bad_bytes=False, start=True)
def test_fortigate_fold_equals_the_line_parser(tmp_path: Path, lines_: list[str], ends: list[str],
                                               chunk: int, bad_bytes: bool, start: bool) -> None:
    data = b"".join(ln.encode() + e.encode() for ln, e in zip(lines_, ends, strict=False))
    if bad_bytes:
        data += FGT_BASE.replace("jdoe", "j\udcffdoe").encode("utf-8", "surrogateescape") + b"\n"
    path = tmp_path / "fgt.log"
    path.write_bytes(data)
    opts = {"session_start": True} if start else {}
    assert read_kv(path, True, chunk, options=opts) == read_kv(path, False, chunk, options=opts)


def test_fortigate_fold_applies_the_upload_threshold(tmp_path: Path) -> None:
    lines = [fgt(httpmethod='"POST"', sentbyte=str(n)) for n in (999, 1000, 60000)]
    path = tmp_path / "fgt.log"
    path.write_text("\n".join(lines) + "\n")
    folded = read_kv(path, True, 1 << 20, upload_min=1000)
    assert folded == read_kv(path, False, 1 << 20, upload_min=1000)
    (row,) = folded[-1]
    assert row[7:12] == (3, 0, 3 * 20480, 999 + 1000 + 60000, 2)  # events .. uploads


def test_the_fortigate_kernel_takes_web_and_traffic_lines() -> None:
    """Not a speed test: it checks the fast path is actually used."""
    from collectors.proxy import fortigate

    lines = [FGT_BASE, "<189>" + fgt(action='"blocked"', httpmethod='"POST"', sentbyte="60000"),
             fgt(type='"traffic"', subtype='"forward"', hostname=None, action='"deny"'),
             fgt(type='"event"', subtype='"system"'), fgt(eventtime=None), FGT_BASE + "\r"]
    folder = fortigate.make_folder(ParseContext())
    assert folder is not None
    assert folder.fold("\n".join(lines).encode()) == (6, [4], 1)  # date + time: the parser's
    got = sorted(folder.drain())
    assert [(t.client, t.user, t.host, t.events, t.blocked, t.bytes_in, t.bytes_out, t.uploads)
            for t in got] == [("10.1.2.3", "jdoe", "203.0.113.80", 1, 1, 0, 0, 0),
                              ("10.1.2.3", "jdoe", "quizlet.com", 3, 1, 40960, 1034, 0)]
    assert got[1].first == 1795975200.1234567  # eventtime in ns, divided exactly


def test_the_upload_rule_matches_the_pipeline() -> None:
    from sentinel.pipeline import UPLOAD_METHODS, UPLOAD_MIN_BYTES

    assert {"POST", "PUT", "PATCH"} == UPLOAD_METHODS  # spelled out in FortiGateKernel
    assert ParseContext().upload_min_bytes == UPLOAD_MIN_BYTES


# ---------------------------------------------------------------- Sophos Firewall key=value

@st.composite
def sophos_lines(draw: Any) -> str:
    """An SFOS content filtering line (18.5 or 19+ layout), each field usually as
    SFOS writes it and sometimes missing, odd or hostile; and other records."""

    pick = picker(draw)

    t = draw(times)
    iso = f"{t:%Y-%m-%dT%H:%M:%S}"
    host = draw(st.one_of(plain_hosts, plain_hosts.map(str.upper), names))
    stamp = pick([f"date={t:%Y-%m-%d} time={t:%H:%M:%S} timezone=\"{z}\"" for z in ("UTC", "CST", "EST")]
                 + [f'timestamp="{iso}{z}"' for z in ("-0600", "+05:30", "Z", "")],
                 [f"date={t:%Y-%m-%d} time={t:%H:%M:%S}",
                  f'date={t:%Y-%m-%d} time={t:%H:%M}:60 timezone="UTC"',
                  f'date={t:%Y-%m-%d} time={t:%H:%M:%S}.5 timezone="UTC"', 'date=2026-13-45 time=10:00:00',
                  f'date={t:%Y-%m-%d} time={t:%H:%M:%S} timezone="+05:30"', f'timestamp="{iso}.5Z"',
                  f'timestamp="{iso[:10]} {iso[11:]}-06"', f'timestamp="{iso}+5"', 'timestamp=""',
                  f'date={t:%Y-%m-%d} time={t:%H:%M:%S} timezone="Central Standard Time"', ""])
    cells = [
        'device="SFW"', stamp, 'device_name="XG230"', "log_id=050901616001",
        pick(['log_type="Content Filtering"'], ['log_type="Firewall"', "", 'log_type="content filtering"']),
        'log_component="HTTP"',
        pick(['log_subtype="Allowed"', 'log_subtype="Denied"', 'log_subtype="Warned"'],
             ['log_subtype="BLOCK"', 'log_subtype="deny"', "", 'log_subtype="Other"']),
        'status=""', "priority=Information",
        pick(['user_name="jdoe"', 'user_name=""', ""],
             ['user_name="John Doe"', 'user_name="o\\"brien"', 'user_name="caf\u00e9"', "user_name=-"]),
        pick([f'url="https://{host}/a?b=c"', f'url="{host}:443"', f'url="http://{host}:8080/"'],
             [f'url="http://u@{host}/"', 'url="http://[2001:db8::1]/"', 'url=""', "", 'url="/relative"',
              f'url="//{host}/x"', 'url="http://a:b:c/"']),
        pick(["src_ip=10.1.2.3", "src_ip=10.1.2.4"], ["src_ip=2001:db8::7", "src_ip=", "", "src_ip=x"]),
        pick(["dst_ip=203.0.113.7"], ["", "dst_ip=2001:db8::80"]),
        pick(["sent_bytes=517", "sent_bytes=60000", "bytes_sent=60000", ""],
             ["sent_bytes=10240", "sent_bytes=", "sent_bytes=-", "sent_bytes=None", "sent_bytes=x",
              f"sent_bytes={10**19}", "sent_bytes= bytes_sent=70000"]),
        pick(["recv_bytes=20480", "bytes_received=512", ""], ["recv_bytes=N/A", "recv_bytes=-1"]),
        pick([f"domain={host}", ""], ["domain=www. google.ca", 'domain=""']),
        "exceptions=",
        pick(["method=GET", "method=POST", "http_method=POST", ""], ["method=post", "method=PUT"]),
        pick(["http_status=200", "http_status=403", ""],
             ["http_status=-", "http_status=None", "http_status=2x0", "httpresponsecode=200",
              'http_status="" httpresponsecode=x']),
        pick([""], ['app_name="YouTube"', "log_type=second", "word", 'a="x"b=c']),
    ]
    if draw(st.integers(0, 4)) == 0:
        cells = draw(st.permutations(cells))
    line = pick(["", "<30>"], ["Nov 29 10:00:00 sfw01 ", "<1x>"]) + " ".join(c for c in cells if c)
    if draw(st.integers(0, 12)) == 0:
        line = line.replace(" ", draw(st.sampled_from(["  ", "\t", "\u00a0"])), 2)
    if draw(st.integers(0, 30)) == 0:  # a Sophos UTM 9 record: the parser's
        line = ('2026:11:29-10:00:00 utm httpproxy[1234]: id="0001" severity="info" sys="SecureWeb" '
                'sub="http" action="pass" method="GET" srcip="10.1.2.3" url="https://quizlet.com/"')
    return line


SFOS = ('device="SFW" date=2026-11-29 time=23:59:10 timezone="EST" device_name="XG230" '
        'log_id=050901616001 log_type="Content Filtering" log_component="HTTP" log_subtype="Allowed" '
        'user_name="jdoe" url="https://quizlet.com/live" src_ip=10.1.2.3 dst_ip=203.0.113.7 '
        'sent_bytes=517 recv_bytes=20480 domain=quizlet.com method=GET http_status=200')

SOPHOS_PINNED = [
    SFOS, SFOS.replace('timezone="EST"', 'timezone="CST"'),  # not New York's: the table's US Central
    SFOS.replace('timezone="EST"', 'timezone="UTC"'), SFOS.replace(' timezone="EST"', ""),
    SFOS.replace("time=23:59:10", "time=23:59:60"), SFOS.replace("time=23:59:10", "time=23:59:61"),
    SFOS.replace("time=23:59:10", "time=23:59:10.5"), SFOS.replace("date=2026-11-29", "date=2026-02-30"),
    SFOS.replace('timezone="EST"', 'timezone="Central Standard Time"'),
    SFOS.replace('date=2026-11-29 time=23:59:10 timezone="EST"', 'timestamp="2026-11-29T23:59:10-0500"'),
    SFOS.replace('date=2026-11-29 time=23:59:10 timezone="EST"', 'timestamp="2026-11-29T23:59:10+05:30"'),
    SFOS.replace('date=2026-11-29 time=23:59:10 timezone="EST"', 'timestamp="2026-11-29 23:59:10Z"'),
    SFOS.replace('date=2026-11-29 time=23:59:10 timezone="EST"', 'timestamp="2026-11-29T23:59:10"'),
    SFOS.replace('date=2026-11-29 time=23:59:10 timezone="EST"', 'timestamp="2026-11-29T23:59:10.25Z"'),
    SFOS.replace('timezone="EST"', 'timezone="EST" timestamp=""'),
    SFOS.replace('date=2026-11-29 time=23:59:10 timezone="EST"', 'timestamp="2026-11-29T23:59:60Z"'),
    SFOS.replace('timezone="EST"', 'timezone="UTC+2"'), SFOS.replace('timezone="EST"', 'timezone="UTC"'),
    SFOS.replace("domain=quizlet.com", "domain=other.example"),  # the URL's host first
    SFOS.replace('log_type="Content Filtering"', 'log_type="Firewall"'),
    SFOS.replace('log_type="Content Filtering"', ""),
    SFOS.replace('log_subtype="Allowed"', 'log_subtype="DENIED"'),
    SFOS.replace('log_subtype="Allowed"', 'log_subtype="Warned"'),
    SFOS.replace('log_subtype="Allowed"', 'log_subtype="Denied"').replace("method=GET", "method=post")
    .replace("sent_bytes=517", "sent_bytes=60000"),
    SFOS.replace("method=GET", "method=post").replace("sent_bytes=517", "sent_bytes=10240"),
    SFOS.replace("method=GET", "http_method=PUT").replace("sent_bytes=517", "bytes_sent=99999"),
    SFOS.replace("sent_bytes=517", "sent_bytes= bytes_sent=70000").replace("method=GET", "method=PATCH"),
    SFOS.replace("recv_bytes=20480", "recv_bytes=-"), SFOS.replace("recv_bytes=20480", "recv_bytes=None"),
    SFOS.replace("recv_bytes=20480", "recv_bytes=1e3"), SFOS.replace("http_status=200", "http_status=2x0"),
    SFOS.replace("http_status=200", "http_status=N/A"),
    SFOS.replace("http_status=200", 'http_status="" httpresponsecode=x'),
    SFOS.replace('url="https://quizlet.com/live"', 'url="quizlet.com:443"'),
    SFOS.replace('url="https://quizlet.com/live"', 'url="https://user@evil.example@quizlet.com/"'),
    SFOS.replace('url="https://quizlet.com/live"', 'url="/relative"'),
    SFOS.replace('url="https://quizlet.com/live"', 'url="/relative"').replace(" domain=quizlet.com", ""),
    SFOS.replace('url="https://quizlet.com/live"', 'url="http://[2001:db8::1]:8080/"'),
    SFOS.replace('url="https://quizlet.com/live"', 'url="HTTPS://QUIZLET.COM./"'),
    SFOS.replace('url="https://quizlet.com/live"', 'url="averyveryverylongscheme://quizlet.com/"'),
    SFOS.replace('url="https://quizlet.com/live"', "").replace("domain=quizlet.com", "domain=www. google.ca"),
    SFOS.replace('user_name="jdoe"', 'user_name="John Doe"'),
    SFOS.replace('user_name="jdoe"', 'user_name="o\\"b"'),
    SFOS.replace('user_name="jdoe"', "user_name=-"), SFOS.replace("src_ip=10.1.2.3", "src_ip=fe80::1%port2"),
    SFOS.replace("src_ip=10.1.2.3", "src_ip=010.1.2.3"), "<30>" + SFOS, "<1x>" + SFOS,
    SFOS + " log_type=second user_name=second", SFOS.replace(" ", "\t", 2), SFOS + "\u00e9",
    '2026:11:29-10:00:00 utm httpproxy[1234]: id="0001" severity="info" sys="SecureWeb" sub="http" '
    'action="pass" method="GET" srcip="10.1.2.3" url="https://quizlet.com/"',
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(lines_=st.lists(sophos_lines(), min_size=5, max_size=30),
       ends=st.lists(ending(), min_size=len(SOPHOS_PINNED), max_size=len(SOPHOS_PINNED)),
       chunk=st.sampled_from([64, 2000, 1 << 20]), tz=st.sampled_from([dt.UTC, NY]))
@example(lines_=SOPHOS_PINNED, ends=["\n"] * len(SOPHOS_PINNED), chunk=1 << 20, tz=NY)
@example(lines_=SOPHOS_PINNED, ends=["\r\n"] * len(SOPHOS_PINNED), chunk=64, tz=dt.UTC)
def test_sophos_fold_equals_the_line_parser(tmp_path: Path, lines_: list[str], ends: list[str],
                                            chunk: int, tz: dt.tzinfo) -> None:
    path = tmp_path / "sfos.log"
    path.write_bytes(b"".join(ln.encode() + e.encode() for ln, e in zip(lines_, ends, strict=False)))
    assert read_kv(path, True, chunk, "sophos", tz=tz) == read_kv(path, False, chunk, "sophos", tz=tz)


def test_the_sophos_kernel_takes_content_filtering_lines() -> None:
    """Not a speed test: it checks the fast path is actually used."""
    from collectors.proxy import sophos

    lines = [SFOS, SFOS.replace('date=2026-11-29 time=23:59:10 timezone="EST"',
                                'timestamp="2026-11-30T04:59:11Z"'),
             SFOS.replace('log_type="Content Filtering"', 'log_type="Firewall"'),
             SOPHOS_PINNED[-1], SFOS.replace('log_subtype="Allowed"', 'log_subtype="Denied"') + "\r"]
    folder = sophos.make_folder(ParseContext(tz=NY, day_zone=NY))
    assert folder is not None
    assert folder.fold("\n".join(lines).encode()) == (5, [3], 1)  # UTM 9: the parser's
    (t,) = folder.drain()
    assert (t.day, t.client, t.user, t.host, t.events, t.blocked, t.bytes_in, t.bytes_out) == (
        dt.date(2026, 11, 29), "10.1.2.3", "jdoe", "quizlet.com", 3, 1, 40960, 1034)
    assert (t.first, t.last) == (1796014750.0, 1796014751.0)


# ---------------------------------------------------------------- through the pipeline

@pytest.mark.parametrize("fmt", ["fortigate", "sophos", "cef", "leef"])
def test_a_scan_gives_the_same_usage_folded_or_not(tmp_path: Path, fmt: str) -> None:
    """`sentinel.pipeline` hands the fold ``ingest.upload_min_bytes``; with
    ``privacy.store_urls`` a proxy fold stands aside so URL samples are kept."""
    from sqlalchemy import func, select

    from sentinel.config import load_settings
    from sentinel.pipeline import scan
    from sentinel.store import Store
    from sentinel.store.models import UrlSample, UsageDaily

    if fmt == "fortigate":
        lines = [fgt(httpmethod='"POST"', sentbyte=str(n), user=f'"u{n}"') for n in (999, 1000, 60000)]
        lines.append(fgt(action='"blocked"', httpmethod='"PUT"', sentbyte="60000"))
    elif fmt == "cef":
        lines = [cef(requestMethod="POST", out=str(n), suser=f"u{n}") for n in (999, 1000, 60000)]
        lines.append(cef(act="blocked", requestMethod="PUT", out="60000"))
    elif fmt == "leef":
        lines = [leef(method="POST", srcBytes=str(n), usrName=f"u{n}") for n in (999, 1000, 60000)]
        lines.append(leef(action="blocked", method="PUT", srcBytes="60000"))
    else:
        post = SFOS.replace("method=GET", "method=POST")
        lines = [post.replace("sent_bytes=517", f"sent_bytes={n}").replace("jdoe", f"u{n}")
                 for n in (999, 1000, 60000)]
        lines.append(post.replace('log_subtype="Allowed"', 'log_subtype="Denied"'))
    path = tmp_path / f"{fmt}.log"
    path.write_text("\n".join(lines) + "\n")
    os.utime(path, (path.stat().st_mtime - 3600,) * 2)

    def run(compiled: bool, urls: bool) -> tuple[list[tuple[Any, ...]], int]:
        settings = load_settings(None, {
            "storage.data_dir": str(tmp_path / "data"),  # one pseudonym key for every run
            "storage.database_url": f"sqlite:///{tmp_path / f'{compiled}{urls}.db'}",
            "district.timezone": "UTC", "ingest.upload_min_bytes": 1000,
            "ingest.compiled": compiled, "privacy.store_urls": urls}, env={})
        store = Store.open(str(settings.storage.database_url))
        try:
            scan(settings, store, [path], format_name=fmt)
            with store.session() as s:
                usage = sorted((r.day, r.host, r.user, r.events, r.blocked, r.bytes_in, r.bytes_out,
                                r.uploads) for r in s.scalars(select(UsageDaily)))
                samples = s.scalar(select(func.count()).select_from(UrlSample)) or 0
        finally:
            store.dispose()
        return usage, samples

    folded, plain = run(True, False), run(False, False)
    assert folded == plain and folded[1] == 0
    assert sum(r[-1] for r in folded[0]) == 2  # 1000 and 60000 bytes: uploads at this threshold
    assert sum(r[4] for r in folded[0]) == 1
    usage, samples = run(True, True)
    assert usage == plain[0] and samples > 0


# ---------------------------------------------------------------- CEF

@st.composite
def cef_lines(draw: Any) -> str:
    """A CEF web record, each field usually as the gateways write it and sometimes
    missing, repeated, escaped or hostile; behind a syslog header or bare."""

    pick = picker(draw)

    t = draw(times)
    sec = int(t.replace(tzinfo=dt.UTC).timestamp())
    ms = sec * 1000 + draw(st.sampled_from([0, 250, 999]))
    host = draw(st.one_of(plain_hosts, plain_hosts.map(str.upper), names))
    head = pick(["", "<134>Nov 29 10:00:00 gw01 "],
                ["<134>Nov  9 10:00:00 gw01 ", "<134>1 2026-11-29T10:00:00Z gw01 app - - ", "junk",
                 "xCEF:0|", "Nov 29 10:00:00 gw01 x CEF:0|a|b "])
    header = pick(["CEF:0|Zscaler|NSSWeblog|5.7|web|Web request|3|"],
                  ["CEF:1|a|b|c|d|e|f|", "CEF:|a|b|c|d|e|f|", "CEF:0|a|b|c|d|e|", "CEF:x|a|b|c|d|e|f|",
                   "CEF:0|Acme\\|Labs|W\\\\F|1|2|n|3|", "CEF:0|a|b|c|d|e|f| "])
    cells = [
        pick([f"rt={ms}", f"rt={sec}"],
             [f"start={ms}", f"end={sec}", f"deviceReceiptTime={ms}", "rt=Nov 29 2026 10:00:00",
              "rt=Nov 29 10:00:00.250 UTC", "rt=2026-11-29T10:00:00Z", f"rt={ms}123", "rt=", "",
              f"rt={ms}x", "rt=99999999999999", "rt=100000000000", f"rt= {ms}", f"rt= start={ms}"]),
        pick(["src=10.1.2.3", "src=10.1.2.4"],
             ["src=2001:db8::7", "src=fe80::1%eth0", "src=010.1.2.3", "src=", "", "src=x", "src=-",
              "sourceAddress=10.1.2.5", "sourceTranslatedAddress=10.9.9.9", "src=10.1.2.3 junk",
              "c6a2=FD00::555 c6a2Label=Source IPv6 Address", "src=[10.1.2.3]"]),
        pick(["suser=jdoe", "suser=s012345", ""],
             ["suser=-", "duser=kim", "suser=John Doe", "suser=DISTRICT\\\\jdoe", "sourceUserName=amy",
              "suser=caf\u00e9", "suser= duser=kim", "suser=- duser=kim"]),
        pick([f"request=https://{host}/a?b=c", f"request={host}:443", f"dhost={host}",
              f"request=https://{host}/a?id\\=7"],
             ["request=-", "request=- dhost=x.example.com", f"requestUrl=http://{host}/",
              "request=http://u@h.example/", "request=http://[2001:db8::1]/", "request=", "",
              "dst=203.0.113.80", "dst=2001:db8::80", "dhost=-", f"dhost={host}:8443",
              "request=https:///x", "request=/relative", "request=https://x.example/?q= a=b",
              "c6a3=2606:4700::1 c6a3Label=Destination IPv6 Address",
              "destinationHostName=www.example.org", "request=https://a\\=b.example/"]),
        pick(["act=allowed", "act=blocked", ""],
             ["act=Blocked", "act=deny", "act=DENIED", "act=warn", "act=drop", "act= block",
              "deviceAction=reject", "act=reset-both", "act=quarantined", "act=-", "act=permit",
              "act=blocked by policy"]),
        pick(["requestMethod=GET", "requestMethod=POST", "requestMethod=CONNECT", ""],
             ["requestMethod=post", "requestMethod=PUT", "requestMethod=PATCH", "requestMethod=-"]),
        pick(["in=512 out=900", "in=20480 out=60000", ""],
             ["in=- out=12", "in= out=10240", "out=10239", "bytesIn=5 bytesOut=60000", "in=1e3", "in=-1",
              f"out={10**19}", "in=12 in=34", "out=x", "out=0060000"]),
        pick([""], ["cs1Label=URL Category cs1=Games", "cn1Label=HTTP Status cn1=200", "msg=a \\= b",
                    "msg=two  blanks", "cat=x", "outcome=403", "word", "=odd", "x==y",
                    "destinationServiceName=YouTube", "src=10.7.7.7", "a-b=c"]),
    ]
    if draw(st.integers(0, 4)) == 0:
        cells = draw(st.permutations(cells))  # repeated keys land anywhere
    line = head + header + " ".join(c for c in cells if c)
    if draw(st.integers(0, 12)) == 0:
        line = line.replace(" ", draw(st.sampled_from(["  ", "\t", "\u00a0"])), 2)
    if draw(st.integers(0, 15)) == 0:
        line += draw(st.sampled_from([" ", "  ", " \\"]))
    if draw(st.integers(0, 20)) == 0:
        line += " pad=" + "x" * 2500  # past the kernel's own line limit
    return line


CEF_HEAD = "CEF:0|Zscaler|NSSWeblog|5.7|web|Web request|3|"
CEF_CELLS = [("rt", "1796014750123"), ("src", "10.1.2.3"), ("suser", "jdoe"),
             ("request", "https://quizlet.com/live"), ("requestMethod", "GET"), ("act", "allowed"),
             ("in", "20480"), ("out", "517"), ("cn1Label", "HTTP Status"), ("cn1", "200")]
CEF_BASE = CEF_HEAD + " ".join(f"{k}={v}" for k, v in CEF_CELLS)


def cef(**changes: str | None) -> str:
    """CEF_BASE with extension pairs replaced (a str), dropped (None) or appended."""
    cells = dict(CEF_CELLS)
    for k, v in changes.items():
        k = k.rstrip("_")  # in_=...: "in" is a keyword
        if v is None:
            cells.pop(k, None)
        else:
            cells[k] = v
    return CEF_HEAD + " ".join(f"{k}={v}" for k, v in cells.items())


CEF_PINNED = [  # the cases a kernel is likeliest to get wrong, always tried
    # Found by Hypothesis: blanks after the last value ("POST  " is POST: an upload).
    "CEF:0|Zscaler|NSSWeblog|5.7|web|Web request|3|rt=1795903200000 act=allowed in=20480 "
    "out=60000 request=https://0.0.com/a?b=c src=10.1.2.3 suser=jdoe requestMethod=POST  ",
    "CEF:0|Zscaler|NSSWeblog|5.7|web|Web request|3|  rt=1795903200000 src=10.1.2.3 "
    "request=https://0.0.com/ requestMethod=POST out=60000",
    CEF_BASE,
    # escaped pipes and backslashes in the header, escaped "=" and "\" in values
    CEF_BASE.replace("Zscaler|NSSWeblog", "Acme\\|Labs|Web\\\\Filter").replace("|web|", "|"),
    CEF_BASE.replace("Zscaler", "Acme\\|Labs"), cef(request="https://quizlet.com/?a\\=b"),
    cef(msg="a \\= b \\\\ c\\nd"), cef(request="https://quizlet.com\\=x/"),
    cef(request="http\\://quizlet.com/"), cef(request="ab?\\=x://quizlet.com/"),
    cef(request="https://quiz\\\\let.com/"), cef(request="//quizlet.com/?a\\=b"),
    cef(request="quizlet.com:443/\\="), cef(request="https://quizlet.com?\\=\\\\\\n"),
    cef(request="", requestUrl="https://quizlet.com/?a\\=b"), cef(request="https:\\=//x.example/"),
    cef(request="https://u@quizlet.com/?\\="), cef(request="https://[2001:db8::1]/?\\="),
    cef(requestUrl="https://other.example/?\\=\\"), cef(suser="DISTRICT\\\\jdoe"), cef(suser="a\\=b"),
    # values with spaces, "=" inside values, a separator inside a URL
    cef(suser="John Doe"), cef(act="blocked by policy"), cef(msg="three words here"),
    cef(request="https://quizlet.com/?q=a=b&x=1"), cef(request="https://quizlet.com/?q= a=b"),
    # missing keys
    cef(suser=None), cef(act=None), cef(src=None), cef(rt=None), cef(requestMethod=None),
    cef(request=None), cef(request=None, dhost="quizlet.com"), cef(request="-"),
    cef(request="-", dhost="www.khanacademy.org"), cef(request=None, dhost="-", dst="203.0.113.80"),
    cef(request=None, dst="203.0.113.80"), cef(request=None, destinationAddress="203.0.113.81"),
    cef(request=None, destinationHostName="Docs.Google.COM."), cef(request=None, dhost="quizlet.com:8443"),
    cef(request=None, cn1Label=None, cn1=None),  # no host, no label: a valid record without use
    cef(request=None, c6a3="2606:4700::6810:1405", c6a3Label="Destination IPv6 Address"),
    cef(src=None, c6a2="FD00:0:0:0:0:0:0:555", c6a2Label="Source IPv6 Address"),
    cef(src=None, sourceAddress="10.1.2.5"), cef(src="", sourceTranslatedAddress="10.9.9.9"),
    cef(suser="-", duser="kim"), cef(suser="", duser="kim"), cef(suser=None, sourceUserName="amy"),
    # blocked, warned and allowed actions
    cef(act="blocked"), cef(act="Blocked"), cef(act="DENIED"), cef(act="deny"), cef(act="drop"),
    cef(act="reset-both"), cef(act="prevent"), cef(act="quarantined"), cef(act="refused"),
    cef(act="warn"), cef(act="continue"), cef(act="permit"), cef(act="-"),
    cef(act=None, deviceAction="Reject"),
    cef(act="blocked", requestMethod="POST", out="60000"),
    # byte fields absent or odd
    cef(in_=None, out=None), cef(in_="-"), cef(in_="", out="12"), cef(out="1e3"), cef(in_="-1"),
    cef(out=str(10**19)), cef(in_=None, bytesIn="5"), cef(out=None, bytesOut="60000", requestMethod="POST"),
    cef(requestMethod="POST", out="10240"), cef(requestMethod="post", out="10239"),
    cef(requestMethod="PUT", out="60000"), cef(requestMethod="PATCH", out="0060000"),
    cef(requestMethod="-", out="60000"),
    # IPv6 and odd addresses
    cef(src="2001:db8::7"), cef(src="fe80::1%eth0"), cef(src="010.1.2.3"), cef(src="-"), cef(src="x"),
    cef(src="[10.1.2.3]"), cef(request="http://[2001:db8::1]/"), cef(request=None, dst="2001:db8::80"),
    cef(request="http://u@evil.example@quizlet.com/"), cef(request="HTTPS://QUIZLET.COM./"),
    cef(request="quizlet.com:443"), cef(request="https:///x"), cef(request="/relative"),
    cef(request="averyveryverylongscheme://quizlet.com/"), cef(request="https://a:b:c/"),
    # syslog-wrapped records
    "<134>Nov 29 23:59:10 gw01 " + CEF_BASE, "<134>Nov  9 10:00:00 gw01 " + CEF_BASE,
    "<134>Nov 29 23:59:10 gw01 " + cef(rt=None), "<134>1 2026-11-29T10:00:00Z gw01 app - - " + CEF_BASE,
    "Nov 29 23:59:10 gw01 x CEF:0|a|b " + CEF_BASE, "xCEF:" + CEF_BASE[4:],
    # rt in ms, in s, as text; the parser's other time keys
    cef(rt="1796014750"), cef(rt="1796014799999"), cef(rt="1796014800000"), cef(rt="Nov 29 2026 23:59:10"),
    cef(rt="Nov 29 23:59:10.250 EST"), cef(rt="2026-11-29T23:59:10Z"), cef(rt="1796014750123456"),
    cef(rt="99999999999"), cef(rt="100000000000"), cef(rt="99999999999999"), cef(rt="0"),
    cef(rt="", start="1796014750123"), cef(rt=None, end="1796014750"), cef(rt="17960147501x"),
    cef(rt=None, deviceReceiptTime="1796014750000", start="1"), cef(rt=None, startTime="1796014750000"),
    # headers, splits and blanks
    "CEF:1|a|b|c|d|e|f|rt=1796014750123 src=10.1.2.3 dhost=quizlet.com", "CEF:|a|b|c|d|e|f|rt=1",
    "CEF:x|a|b|c|d|e|f|rt=1 src=10.1.2.3 dhost=q.com", "CEF:0|a|b|c|d|e|rt=1796014750123 src=10.1.2.3",
    "CEF:0|a|b|c|d|e|f|", "CEF:0|a|b|c|d|e|f| ", "CEF:0|a|b|c|d|e|f|word rt=1", "CEF:0|a|b|c|d|e|f|=x",
    CEF_HEAD + " " + CEF_BASE[len(CEF_HEAD):] + " ", CEF_BASE.replace(" ", "  ", 2),
    CEF_BASE.replace(" ", "\t"), CEF_BASE + " src=10.9.9.9", CEF_BASE + " rt=1796014760000",
    CEF_BASE + " x==y a-b=c word", CEF_BASE.replace("jdoe", "j\u00f6e"), CEF_BASE + " pad=" + "x" * 2500,
    CEF_BASE + "\r", CEF_BASE.replace(" act=", "\ract="), "not a CEF record", "",
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(lines_=st.lists(cef_lines(), min_size=5, max_size=30),
       ends=st.lists(ending(), min_size=len(CEF_PINNED), max_size=len(CEF_PINNED)),
       chunk=st.sampled_from([64, 2000, 1 << 20]), tz=st.sampled_from([dt.UTC, NY]),
       bad_bytes=st.booleans(), spec=st.booleans())
@example(lines_=CEF_PINNED, ends=["\n"] * len(CEF_PINNED), chunk=1 << 20, tz=NY, bad_bytes=True,
         spec=False)
@example(lines_=CEF_PINNED, ends=["\r\n"] * len(CEF_PINNED), chunk=64, tz=dt.UTC, bad_bytes=False,
         spec=True)
def test_cef_fold_equals_the_line_parser(tmp_path: Path, lines_: list[str], ends: list[str], chunk: int,
                                         tz: dt.tzinfo, bad_bytes: bool, spec: bool) -> None:
    data = b"".join(ln.encode() + e.encode() for ln, e in zip(lines_, ends, strict=False))
    if bad_bytes:
        data += CEF_BASE.replace("jdoe", "j\udcffdoe").encode("utf-8", "surrogateescape") + b"\n"
    path = tmp_path / "cef.log"
    path.write_bytes(data)
    opts = {"cef_bytes": "spec"} if spec else {}
    assert (read_kv(path, True, chunk, "cef", tz=tz, options=opts)
            == read_kv(path, False, chunk, "cef", tz=tz, options=opts))


def test_the_cef_kernel_takes_web_records() -> None:
    """Not a speed test: it checks the fast path is actually used."""
    from collectors.proxy import cef as cef_format

    lines = [CEF_BASE, "<134>Nov 29 23:59:10 gw01 " + cef(act="Blocked", requestMethod="POST", out="60000"),
             cef(request=None, dhost="QUIZLET.com"), cef(request=None, cn1Label=None, cn1=None),
             cef(rt="Nov 29 2026 23:59:10"), cef(rt="1796014751") + "\r"]
    folder = cef_format.make_folder(ParseContext(tz=NY, day_zone=NY))
    assert folder is not None
    assert folder.fold("\n".join(lines).encode()) == (6, [4], 1)  # a text date: the parser's
    (t,) = folder.drain()
    assert (t.day, t.client, t.user, t.host, t.events, t.blocked, t.bytes_in, t.bytes_out) == (
        dt.date(2026, 11, 29), "10.1.2.3", "jdoe", "quizlet.com", 4, 1, 3 * 20480, 3 * 517)
    assert (t.first, t.last) == (1796014750.123, 1796014751.0)  # milliseconds divided exactly


def proxy_events(n: int) -> list[Event]:
    """Web events for a render -> fold round trip: users, blocks, URLs and uploads mixed."""
    return [Event(1796014750.5 + i, "proxy", "10.1.2.3", "jdoe" if i % 2 else "", "quizlet.com",
                  "blocked" if i % 3 == 0 else "allowed", "https://quizlet.com/x" if i % 4 else None,
                  None, "POST" if i % 5 == 0 else "GET", 200, 512, 60_000,
                  "Education" if i % 2 else None)
            for i in range(n)]


def test_the_cef_kernel_takes_what_cef_render_writes() -> None:
    from collectors.proxy import cef as cef_format

    evs = proxy_events(20)
    folder = cef_format.make_folder(ParseContext(tz=NY, day_zone=NY))
    assert folder is not None
    data = "\n".join(cef_format.render(ev, syslog=i % 2 == 0) for i, ev in enumerate(evs)).encode()
    assert folder.fold(data) == (20, [], 0)


# ---------------------------------------------------------------- LEEF

LEEF_DELIMS = {  # header field -> (version, the delimiter the records use)
    "": ("1.0", "\t"), "^|": ("2.0", "^"), "x09|": ("2.0", "\t"), "|": ("2.0", "\t"),
    "0x09|": ("2.0", "\t"), "X9|": ("2", "\t"), "x7C|": ("2.0", "|"), "1": ("1", "\t"),
    "x3b|": ("2.0", ";"), "0X5E|": ("2.0", "^"), "x0|": ("2.0", "\t"), "x00009|": ("2.0", "\t"),
    "none": ("2.0", "\t"), "x20|": ("2.0", " "), "=|": ("2.0", "="), "3": ("3.0", "\t"),
    "xE9|": ("2.0", "\u00e9"), "x01|": ("2.0", "\x01"), "xZZ|": ("2.0", "\t"), "1^": ("1.0", "^"),
    "x|": ("2.0", "x"), "\t|": ("2.0", "\t"), " |": ("2.0", " "), "0|": ("2.0", "0"),
    "x7f|": ("2.0", "\x7f"), "xD800|": ("2.0", "\t"),
}


@st.composite
def leef_lines(draw: Any) -> str:
    """A LEEF web record, each field usually as the gateways write it and sometimes
    missing, repeated, odd or hostile; LEEF 1.0 or 2.0 with the delimiter given in
    every form; behind a syslog header or bare."""

    pick = picker(draw)

    t = draw(times)
    sec = int(t.replace(tzinfo=dt.UTC).timestamp())
    ms = sec * 1000 + draw(st.sampled_from([0, 250, 999]))
    host = draw(st.one_of(plain_hosts, plain_hosts.map(str.upper), names))
    field = pick(["", "^|", "x09|"], sorted(LEEF_DELIMS))
    version, d = LEEF_DELIMS[field]
    field = {"none": "", "1": "", "3": "", "1^": ""}.get(field, field)
    head = pick(["", "<134>Nov 29 10:00:00 gw01 "],
                ["<134>Nov  9 10:00:00 gw01 ", "<134>1 2026-11-29T10:00:00Z gw01 app - - ", "junk",
                 "xLEEF:1.0|", "Nov 29 10:00:00 gw01 x LEEF:1.0|a|b "])
    header = pick(["Sentinel|Test Gateway|1.0|web|"],
                  ["Acme\\|Labs|W|1|e|", "a|b|c|", "a|b|c|d|e|", "a\\\\b|c|d|e|", "|||", "a|b|c|d"])
    cells = [
        pick([f"devTime={ms}", f"devTime={sec}"],
             [f"devTime={ms}123", "devTime=Nov 29 2026 10:00:00", f"devTime={ms}{d}devTimeFormat=",
              f"devTime=Nov 29 2026 10:00:00{d}devTimeFormat=MMM dd yyyy HH:mm:ss", "devTime=", "",
              f"devTime={ms}x", "devTime=99999999999999", "devTime=100000000000", f"devTime= {ms}",
              f"devTime={sec}.5", "devTime=0", f"devTime={sec}{d}devTimeFormat=yyyy",
              f"devTime=1{d}devTime={ms}", f"devTime={ms}{d}devTime=", "devTime=2026-11-29T10:00:00Z"]),
        pick(["src=10.1.2.3", "src=10.1.2.4"],
             ["src=2001:db8::7", "src=fe80::1%eth0", "src=010.1.2.3", "src=", "", "src=x", "src=-",
              "srcPreNAT=10.1.2.5", f"src={d}srcPreNAT=10.9.9.9", "src=[10.1.2.3]", "src= 10.1.2.3 ",
              "src=10.1.2.3 junk", "src=FD00:0:0:0:0:0:0:555"]),
        pick(["usrName=jdoe", "usrName=s012345", ""],
             ["usrName=-", "suser=kim", "accountName=amy", "user=bob", "usrName=John Doe",
              "usrName=caf\u00e9", f"usrName={d}user=kim", f"usrName=-{d}suser=kim",
              "usrName=DISTRICT\\jdoe", " usrName =jdoe"]),
        pick([f"url=https://{host}/a?b=c", f"url={host}:443", f"dhost={host}"],
             ["url=-", f"url=-{d}dhost=x.example.com", f"dstHost={host}", f"host={host}",
              "dst=203.0.113.80", "dstPreNAT=203.0.113.81", "dst=2001:db8::80",
              "url=http://u@h.example/", "url=http://[2001:db8::1]/", "url=", "", "dhost=-",
              f"dhost={host}:8443", "url=https:///x", "url=/relative", "url=https://x.example/?q=a=b",
              "url=https://x.example/?q= a b", f"url= https://{host}/ ", f"url=https:// {host}/"]),
        pick(["action=allowed", "action=blocked", ""],
             ["action=Blocked", "action=deny", "act=DENIED", "action=warn", "action=drop",
              "action= block", "act=reject", "action=-", "action=permit", "action=blocked by policy",
              f"action=allowed{d}act=blocked", f"action={d}act=blocked", "action=quarantined"]),
        pick(["method=GET", "method=POST", "method=CONNECT", ""],
             ["method=post", "requestMethod=PUT", "httpMethod=PATCH", "method=-",
              f"method={d}requestMethod=POST", "method=P OST"]),
        pick([f"srcBytes=900{d}dstBytes=512", f"srcBytes=60000{d}dstBytes=20480", ""],
             ["srcBytes=-", "dstBytes=", "srcBytes=10240", "srcBytes=10239", "dstBytes=1e3",
              "dstBytes=-1", f"srcBytes={10**19}", f"dstBytes=12{d}dstBytes=34", "srcBytes=x",
              "srcBytes=0060000", "srcBytes= 70000", "dstBytes=1 000"]),
        pick([""], ["cat=Games", "httpStatus=200", "httpStatus=abc", "status=x", "appName=YouTube",
                    "word", "=odd", "x==y", "src=10.7.7.7", " ", "a b=c", "msg=a\\b", "k=v|w",
                    " =x", "url=https://other.example/"]),
    ]
    if draw(st.integers(0, 4)) == 0:
        cells = draw(st.permutations(cells))  # repeated keys land anywhere
    line = f"{head}LEEF:{version}|{header}{field}" + d.join(c for c in cells if c)
    if draw(st.integers(0, 12)) == 0:
        line = line.replace("\t", draw(st.sampled_from([" ", "  ", "\t\t", "\u00a0", "\t \t"])))
    if draw(st.integers(0, 15)) == 0:
        line += draw(st.sampled_from([" ", "\t", d, d + " ", "\\"]))
    if draw(st.integers(0, 20)) == 0:
        line += d + "pad=" + "x" * 2500  # past the kernel's own line limit
    return line


LEEF_HEAD = "LEEF:1.0|Sentinel|Test Gateway|1.0|web|"
LEEF_CELLS = [("devTime", "1796014750123"), ("src", "10.1.2.3"), ("usrName", "jdoe"),
              ("url", "https://quizlet.com/live"), ("method", "GET"), ("action", "allowed"),
              ("srcBytes", "517"), ("dstBytes", "20480"), ("httpStatus", "200")]
LEEF_BASE = LEEF_HEAD + "\t".join(f"{k}={v}" for k, v in LEEF_CELLS)


def leef(head: str = LEEF_HEAD, delim: str = "\t", **changes: str | None) -> str:
    """LEEF_BASE (under ``head``, split by ``delim``) with attributes replaced (a
    str), dropped (None) or appended."""
    cells = dict(LEEF_CELLS)
    for k, v in changes.items():
        if v is None:
            cells.pop(k, None)
        else:
            cells[k] = v
    return head + delim.join(f"{k}={v}" for k, v in cells.items())


L2 = "LEEF:2.0|Sentinel|Test Gateway|1.0|web|"
LEEF_PINNED = [  # the cases a kernel is likeliest to get wrong, always tried
    LEEF_BASE,
    # LEEF 1.0 and 2.0 headers, the delimiter in each form
    leef("LEEF:1|V|P|1|e|"), leef(L2 + "^|", "^"), leef(L2 + "x09|"), leef(L2 + "0x09|"), leef(L2 + "X9|"),
    leef(L2 + "|"), leef(L2), leef(L2 + "x5E|", "^"), leef(L2 + "0X5e|", "^"), leef(L2 + "x005E|", "^"),
    leef(L2 + "x7C|", "|"), leef(L2 + ";|", ";"), leef(L2 + "x3B|", ";"), leef(L2 + "x20|", " "),
    leef(L2 + " |", " "), leef(L2 + "\t|"), leef(L2 + "x|", "x"), leef(L2 + "0|", "0"),
    leef(L2 + "=|", "="), leef(L2 + "x0|"), leef(L2 + "x00009|"), leef(L2 + "xZZ|"), leef(L2 + "0x|"),
    leef(L2 + "xD800|"), leef(L2 + "x01|", "\x01"), leef(L2 + "x7f|", "\x7f"), leef(L2 + "xE9|", "\u00e9"),
    leef(L2 + "^|", "\t"), leef(L2 + "x09|", "^"), leef("LEEF:2|V|P|1|e|^|", "^"),
    leef("LEEF:1.0|V|P|1|e|", "^"),
    leef("LEEF:3.0|V|P|1|e|"), leef("LEEF:|V|P|1|e|"), leef("LEEF:1.0|V|P|1|"), leef("LEEF:1.0|V|P|1|e"),
    leef("LEEF:1.0|Acme\\|Labs|P|1|e|"), leef("LEEF:1.0|A\\\\B|P|1|e|"), leef("LEEF:1.0|||||"),
    # blanks: trimmed keys and values, blank pieces, tabs lost on the way (read CEF-style)
    leef(usrName=" jdoe "), leef(url=" https://quizlet.com/ "), leef(**{" src ": "10.1.2.4"}),
    LEEF_BASE + "\t", LEEF_BASE + "\t\t \t", LEEF_HEAD + "\t" + LEEF_BASE[len(LEEF_HEAD):],
    LEEF_BASE.replace("\t", " "), LEEF_BASE.replace("\t", "  "), LEEF_BASE.replace("\t", "\t ", 3),
    LEEF_HEAD + "devTime=1796014750123", LEEF_HEAD + "url=https://quizlet.com/", LEEF_HEAD,
    leef(L2 + "^|", "^", usrName="John Doe"), leef(L2 + "^|", "^", usrName="a\tb"),
    leef(L2 + "^|", "^") + "^", leef(L2 + "^|", "^") + "^ ^\t^",
    # malformed attributes: the parser's rejects
    LEEF_BASE + "\tword", LEEF_BASE + "\t=x", LEEF_BASE + "\t =x", LEEF_BASE + "\tx==y",
    LEEF_BASE + "\ta b=c",
    # "=" and "|" inside values, the first "=" ends the key
    leef(url="https://quizlet.com/?q=a=b&x=1"), leef(url="https://quizlet.com/?a|b"),
    leef(msg="a=b=c"), leef(usrName="DISTRICT\\jdoe"),
    # missing keys and the parser's other keys
    leef(usrName=None), leef(action=None), leef(src=None), leef(devTime=None), leef(method=None),
    leef(url=None), leef(url=None, dhost="quizlet.com"), leef(url="-"), leef(url=""),
    leef(url="-", dhost="www.khanacademy.org"), leef(url=None, dhost="-", dst="203.0.113.80"),
    leef(url=None, dstHost="Docs.Google.COM."), leef(url=None, host="quizlet.com"),
    leef(url=None, dst="203.0.113.80"), leef(url=None, dstPreNAT="203.0.113.81"),
    leef(url=None, dhost="quizlet.com:8443"), leef(url=None, dhost="", host="x.example.org"),
    leef(url="/relative", dhost="quizlet.com"), leef(url=None, httpStatus=None),
    leef(src=None, srcPreNAT="10.1.2.5"), leef(src="", srcPreNAT="10.9.9.9"), leef(src="-"),
    leef(usrName="-", suser="kim"), leef(usrName="", accountName="amy"), leef(usrName=None, user="bob"),
    leef(usrName="-"), leef(method=None, requestMethod="POST", srcBytes="60000"),
    leef(method="", httpMethod="put", srcBytes="60000"), leef(method="-", srcBytes="60000"),
    # repeated keys: the last value counts
    LEEF_BASE + "\tsrc=10.9.9.9", LEEF_BASE + "\tdevTime=1796014760000", LEEF_BASE + "\turl=",
    LEEF_BASE + "\tsrcBytes=x", LEEF_BASE + "\taction=blocked", LEEF_BASE + "\tdevTime=",
    # blocked, warned and allowed actions
    leef(action="blocked"), leef(action="Blocked"), leef(action="DENIED"), leef(action="deny"),
    leef(action="drop"), leef(action="reset-both"), leef(action="prevent"), leef(action="quarantined"),
    leef(action="refused"), leef(action="warn"), leef(action="continue"), leef(action="permit"),
    leef(action="-"), leef(action=None, act="Reject"), leef(action="", act="block"),
    leef(action="blocked", method="POST", srcBytes="60000"), leef(action="blocked by policy"),
    # byte fields absent or odd
    leef(srcBytes=None, dstBytes=None), leef(dstBytes="-"), leef(dstBytes="", srcBytes="12"),
    leef(srcBytes="1e3"), leef(dstBytes="-1"), leef(srcBytes=str(10**19)), leef(srcBytes="9" * 18),
    leef(method="POST", srcBytes="10240"), leef(method="post", srcBytes="10239"),
    leef(method="PUT", srcBytes="60000"), leef(method="PATCH", srcBytes="0060000"),
    leef(method="CONNECT", srcBytes="60000"), leef(dstBytes="1 000"), leef(srcBytes="+5"),
    # IPv6 and odd addresses and hosts
    leef(src="2001:db8::7"), leef(src="fe80::1%eth0"), leef(src="010.1.2.3"), leef(src="x"),
    leef(src="[10.1.2.3]"), leef(src="FD00:0:0:0:0:0:0:555"), leef(url="http://[2001:db8::1]/"),
    leef(url=None, dst="2001:db8::80"), leef(url="http://u@evil.example@quizlet.com/"),
    leef(url="HTTPS://QUIZLET.COM./"), leef(url="quizlet.com:443"), leef(url="https:///x"),
    leef(url="averyveryverylongscheme://quizlet.com/"), leef(url="https://a:b:c/"),
    leef(url="https:// quizlet.com/"), leef(url="https://-bad.com/"), leef(url="https://qu_iz.com/"),
    # syslog-wrapped records
    "<134>Nov 29 23:59:10 gw01 " + LEEF_BASE, "<134>Nov  9 10:00:00 gw01 " + LEEF_BASE,
    "<134>Nov 29 23:59:10 gw01 " + leef(devTime=None),
    "<134>1 2026-11-29T10:00:00Z gw01 app - - " + LEEF_BASE,
    "Nov 29 23:59:10 gw01 x LEEF:1.0|a|b " + LEEF_BASE, "xLEEF:" + LEEF_BASE[5:], " " + LEEF_BASE,
    "<134>Nov 29 23:59:10 gw01 " + leef(L2 + "x5E|", "^"),
    # devTime in epoch s or ms, as text, with a devTimeFormat
    leef(devTime="1796014750"), leef(devTime="1796014799999"), leef(devTime="1796014800000"),
    leef(devTime="1796014750123456"), leef(devTime="99999999999"), leef(devTime="100000000000"),
    leef(devTime="99999999999999"), leef(devTime="0"), leef(devTime="00001796014750"),
    leef(devTime="17960147501x"), leef(devTime="1796014750.5"), leef(devTime=""),
    leef(devTime="Nov 29 2026 23:59:10"), leef(devTime="Nov 29 2026 23:59:10.250 EST"),
    leef(devTime="2026-11-29T23:59:10Z"),
    leef(devTime="Nov 29 2026 23:59:10", devTimeFormat="MMM dd yyyy HH:mm:ss"),
    leef(devTime="1796014750123", devTimeFormat=""), leef(devTime="1796014750123", devTimeFormat="yyyy"),
    leef(devTime="29/11/2026 23:59:10.250", devTimeFormat="dd/MM/yyyy HH:mm:ss.SSS"),
    # non-ASCII, control characters, long lines, CR
    LEEF_BASE.replace("jdoe", "j\u00f6e"), LEEF_BASE.replace("quizlet", "quizl\u00e9t"),
    LEEF_BASE + "\tpad=" + "x" * 2500, LEEF_BASE + "\r", LEEF_BASE.replace("\taction=", "\raction="),
    LEEF_BASE.replace("\taction=", "\x0baction="), LEEF_BASE + "\x1f", "not a LEEF record", "",
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(lines_=st.lists(leef_lines(), min_size=5, max_size=30),
       ends=st.lists(ending(), min_size=len(LEEF_PINNED), max_size=len(LEEF_PINNED)),
       chunk=st.sampled_from([64, 2000, 1 << 20]), tz=st.sampled_from([dt.UTC, NY]),
       bad_bytes=st.booleans())
@example(lines_=LEEF_PINNED, ends=["\n"] * len(LEEF_PINNED), chunk=1 << 20, tz=NY, bad_bytes=True)
@example(lines_=LEEF_PINNED, ends=["\r\n"] * len(LEEF_PINNED), chunk=64, tz=dt.UTC, bad_bytes=False)
def test_leef_fold_equals_the_line_parser(tmp_path: Path, lines_: list[str], ends: list[str], chunk: int,
                                          tz: dt.tzinfo, bad_bytes: bool) -> None:
    data = b"".join(ln.encode() + e.encode() for ln, e in zip(lines_, ends, strict=False))
    if bad_bytes:
        data += LEEF_BASE.replace("jdoe", "j\udcffdoe").encode("utf-8", "surrogateescape") + b"\n"
        data += leef(L2 + "^|", "^", usrName="\udcfe").encode("utf-8", "surrogateescape") + b"\n"
    path = tmp_path / "leef.log"
    path.write_bytes(data)
    assert read_kv(path, True, chunk, "leef", tz=tz) == read_kv(path, False, chunk, "leef", tz=tz)


def test_the_leef_kernel_takes_web_records() -> None:
    """Not a speed test: it checks the fast path is actually used."""
    from collectors.proxy import leef as leef_format

    lines = [LEEF_BASE,
             "<134>Nov 29 23:59:10 gw01 " + leef(action="Blocked", method="POST", srcBytes="60000"),
             leef(L2 + "^|", "^", url=None, dhost="QUIZLET.com"), leef(L2 + "x09|", url=None),
             leef(devTime="Nov 29 2026 23:59:10"), leef(L2 + "0x5E|", "^", devTime="1796014751") + "\r",
             leef(devTime="1796014750123", devTimeFormat="MMM dd yyyy HH:mm:ss")]
    folder = leef_format.make_folder(ParseContext(tz=NY, day_zone=NY))
    assert folder is not None
    # a text date and a devTimeFormat are the parser's; the record without a host is ignored
    assert folder.fold("\n".join(lines).encode()) == (7, [4, 6], 1)
    (t,) = folder.drain()
    assert (t.day, t.client, t.user, t.host, t.events, t.blocked, t.bytes_in, t.bytes_out) == (
        dt.date(2026, 11, 29), "10.1.2.3", "jdoe", "quizlet.com", 4, 1, 3 * 20480, 3 * 517)
    assert (t.first, t.last) == (1796014750.123, 1796014751.0)  # milliseconds divided exactly


def test_the_leef_kernel_takes_what_leef_render_writes() -> None:
    from collectors.proxy import leef as leef_format

    evs = proxy_events(24)
    folder = leef_format.make_folder(ParseContext(tz=NY, day_zone=NY))
    assert folder is not None
    forms = [("1.0", "\t"), ("2.0", "\t"), ("2.0", "^"), ("2.0", ";")]
    data = "\n".join(leef_format.render(ev, *forms[i % 4], syslog=i % 3 == 0)
                     for i, ev in enumerate(evs)).encode()
    assert folder.fold(data) == (24, [], 0)


def test_the_leef_kernel_takes_everything_the_bench_writes(tmp_path: Path) -> None:
    """bench/run.py's ``leef`` section must measure the fold, not the parser."""
    import importlib.util
    import sys

    from collectors.proxy import leef as leef_format

    spec = importlib.util.spec_from_file_location(
        "sentinel_bench_run", Path(__file__).resolve().parents[2] / "bench" / "run.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules["sentinel_bench_run"] = bench
    try:
        spec.loader.exec_module(bench)
        path = tmp_path / "leef.log"
        bench.generate_leef(path, 3000)
    finally:
        del sys.modules["sentinel_bench_run"]
    folder = leef_format.make_folder(ParseContext(tz=dt.UTC, day_zone=dt.UTC))
    assert folder is not None
    lines, slow, ignored = folder.fold(path.read_bytes())
    assert (lines, slow, ignored) == (3000, [], 0)
