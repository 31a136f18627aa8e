"""Throughput and peak memory of `sentinel scan` beside its floors.

    python bench/run.py [--lines 5000000] [--small 1000000] [--other 5000000]
                        [--packets 2000000] [--kv 5000000] [--only bind,zeek,dnsmasq,pcap]

Generates deterministic logs of the same synthetic traffic (a week of 2,000
devices, cached in bench/out/): BIND query logs, a Zeek dns.log, a dnsmasq log
(with its "forwarded" lines) and a pcap of the queries. Then runs, one process
each, measuring wall time and peak RSS (os.wait4):

* ``wc -l``: the I/O floor;
* ``bench/naive.py``: split each line and count two fields in Python;
* ``awk`` (BIND): count hosts and clients;
* ``sentinel scan --format F`` into a fresh SQLite store, end to end (parse,
  aggregate, pseudonymize, commit with checkpoints, findings, report); for
  BIND also in pure Python (``ingest.compiled = false``) and on two cores
  (``--jobs 2`` over the log cut in two, as two DNS servers would write it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
try:
    from collectors import _fold  # noqa: F401
    KERNEL = "compiled fold"
except ImportError:
    KERNEL = "kernel NOT built"
OUT = HERE / "out"
BIN = Path(sys.executable).parent


def traffic(lines: int, seed: int = 11) -> Iterator[tuple[int, int, str, str, str]]:
    """(index, ts, client, host, qtype) of a week of queries from 2,000 devices,
    each returning to its own few dozen hosts, as real ones do."""
    from sentinel.demo import NOISE, PRODUCTS, UNVETTED

    rng = random.Random(seed)
    hosts = list(NOISE) + [h for p in PRODUCTS for h in p[5]] + [h for u in UNVETTED for h in u[1]]
    hosts += [f"cdn{i}.longtail{i % 997}.com" for i in range(3000)]
    clients = [f"10.{10 + i % 6}.{(i // 250) % 64}.{i % 250 + 2}" for i in range(2_000)]
    habits = [[hosts[rng.randrange(len(hosts))] for _ in range(40)] for _ in clients]
    start = 1_795_939_200  # 2026-11-29 00:00 UTC
    for i in range(lines):
        k = rng.randrange(len(clients))
        yield (i, start + i * 86_400 * 7 // lines, clients[k],
               habits[k][int(rng.paretovariate(1.2)) % 40], "AAAA" if i % 3 == 0 else "A")


def _write(path: Path, lines: Iterable[str], head: str = "", tail: str = "") -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as fh:
        fh.write(head)
        buf: list[str] = []
        for line in lines:
            buf.append(line)
            if len(buf) >= 10_000:
                fh.write("".join(buf))
                buf.clear()
        fh.write("".join(buf))
        fh.write(tail)
    tmp.rename(path)


def generate(path: Path, lines: int, seed: int = 11) -> None:
    """A BIND 9 query log (print-time, category, severity)."""
    def rows() -> Iterator[str]:
        for i, ts, c, h, qt in traffic(lines, seed):
            t = time.gmtime(ts)
            yield (f"{time.strftime('%d-%b-%Y %H:%M:%S', t)}.{i % 1000:03d} queries: info: "
                   f"client @0x7f5c2e0{i % 4096:03x} {c}#{1024 + i % 60000} ({h}): query: {h} "
                   f"IN {qt} +E(0)K (10.20.0.53)\n")
    _write(path, rows())


def generate_zeek(path: Path, lines: int) -> None:
    from collectors.dns import zeek
    from collectors.event import Event

    rows = (zeek.render(Event(ts + (i % 1000) / 1000, "dns", c, "", h, qtype=qt, status=0), i) + "\n"
            for i, ts, c, h, qt in traffic(lines))
    _write(path, rows, "\n".join(zeek.header("dns", 1_795_939_200)) + "\n",
           zeek.footer(1_795_939_200 + 7 * 86_400) + "\n")


def generate_dnsmasq(path: Path, lines: int) -> None:
    from collectors.dns import dnsmasq
    from collectors.event import Event

    def rows() -> Iterator[str]:
        for i, ts, c, h, qt in traffic(lines):
            ev = Event(ts, "dns", c, "", h, qtype=qt)
            yield dnsmasq.render(ev, pid=812) + "\n"
            if i % 2 == 0:  # what dnsmasq logs after a query, ignored by Sentinel
                yield f"{dnsmasq.render(ev, pid=812).split(': ', 1)[0]}: forwarded {h} to 10.20.0.1\n"
    _write(path, rows())


def _web(lines: int) -> Iterator[Any]:
    """The same traffic as web requests: mostly HTTPS CONNECTs, some uploads, a few blocks."""
    from collectors.event import Event

    for i, ts, c, h, _qt in traffic(lines):
        method = "POST" if i % 9 == 0 else "CONNECT" if i % 3 else "GET"
        url = f"{h}:443" if method == "CONNECT" else f"https://{h}/api/v1/items?id={i}"
        blocked = i % 50 == 0
        user = "s" + c.replace(".", "")[-6:] if i % 4 else ""  # a device's signed-in user
        yield Event(ts + (i % 1000) / 1000, "proxy", c, user, h,
                    "blocked" if blocked else "allowed", url, None, method,
                    403 if blocked else 200, 512 + i % 40_000,
                    60_000 if method == "POST" else 900)


def generate_squid(path: Path, lines: int) -> None:
    from collectors.proxy import squid

    _write(path, (squid.render(ev) + "\n" for ev in _web(lines)))


def generate_fortigate(path: Path, lines: int) -> None:
    from collectors.proxy import fortigate

    _write(path, (fortigate.render(ev, dt.UTC, session=i) + "\n"
                  for i, ev in enumerate(_web(lines))))


def generate_sophos(path: Path, lines: int) -> None:
    from collectors.proxy import sophos

    _write(path, (sophos.render(ev, dt.UTC) + "\n" for ev in _web(lines)))


def generate_cef(path: Path, lines: int) -> None:
    """CEF records (``rt`` in ms), every other one behind a syslog header."""
    from collectors.proxy import cef

    _write(path, (cef.render(ev, syslog=i % 2 == 0) + "\n" for i, ev in enumerate(_web(lines))))


def generate_leef(path: Path, lines: int) -> None:
    from collectors.proxy import leef

    _write(path, (leef.render(ev, syslog=i % 2 == 0) + "\n" for i, ev in enumerate(_web(lines))))


TOKEN_APPS = 400


def generate_gws_token(path: Path, size: int) -> int:
    """A Google Workspace token export (NDJSON, one activity per line) of about
    ``size`` bytes: API ``request`` events (most of a real token log), with
    ``authorize`` events (30%) and ``revoke`` events (5%) of 400 apps by 20,000
    accounts, with realistic scope lists. Returns its line count."""
    import json

    rng = random.Random(5)
    g = "https://www.googleapis.com/auth/"
    pool = ["openid", g + "userinfo.email", g + "userinfo.profile", g + "drive", g + "drive.file",
            g + "gmail.readonly", g + "calendar.readonly", g + "classroom.courses.readonly",
            g + "classroom.rosters.readonly", g + "classroom.coursework.students",
            g + "admin.directory.user.readonly", g + "spreadsheets", g + "forms.body"]
    apps = [(f"{100000000000 + i * 7919}-{i:06x}bench.apps.googleusercontent.com", f"Bench App {i}",
             json.dumps(sorted(rng.sample(pool, rng.randrange(2, 7)))))
            for i in range(TOKEN_APPS)]
    start = 1_795_939_200
    lines = 0
    written = 0
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as fh:
        while written < size:
            i = lines
            cid, name, scopes = apps[int(rng.paretovariate(1.1)) % TOKEN_APPS]
            r = rng.random()
            ev = "authorize" if r < 0.30 else "revoke" if r < 0.35 else "request"
            user = f"u{rng.randrange(20_000):05d}@students.bench.example"
            ts = start + i * 7 * 86_400 // 1_500_000
            stamp = dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + \
                f".{i % 1000:03d}Z"
            params = (f'{{"name":"client_id","value":"{cid}"}},{{"name":"app_name","value":'
                      f'"{name}"}},{{"name":"client_type","value":"WEB"}}')
            if ev == "request":
                params += ',{"name":"method_name","value":"drive.files.list"},' \
                          '{"name":"num_response_bytes","intValue":"4096"}'
            else:
                params += f',{{"name":"scope","multiValue":{scopes}}}'
            line = (f'{{"kind":"admin#reports#activity","id":{{"time":"{stamp}",'
                    f'"uniqueQualifier":"{i}","applicationName":"token","customerId":"C0bench"}},'
                    f'"etag":"\\"bench/{i}\\"","actor":{{"callerType":"USER","email":"{user}",'
                    f'"profileId":"{i + 1000}"}},"ipAddress":"10.{10 + i % 6}.{i % 64}.{i % 250 + 2}",'
                    f'"events":[{{"type":"auth","name":"{ev}","parameters":[{params}]}}]}}\n')
            fh.write(line)
            written += len(line)
            lines += 1
    tmp.rename(path)
    path.with_suffix(".lines").write_text(str(lines))
    return lines


def generate_pcap(path: Path, packets: int) -> None:
    from collectors.dns import pcap
    from collectors.event import Event

    tmp = path.with_suffix(".tmp")
    pcap.write_pcap((Event(ts + (i % 1000) / 1000, "dns", c, "", h, qtype=qt)
                     for i, ts, c, h, qt in traffic(packets)), tmp)
    tmp.rename(path)


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one child process.

    Under GNU time when it is installed: it is exec'd small, so the peak is the
    tool's own, not this (large) benchmark process's image inherited by fork.
    """
    gnu = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile() as peak:
        full = [gnu, "-f", "%M", "-o", peak.name, *cmd] if gnu else cmd
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        if status != 0:
            err.seek(0)
            raise SystemExit(f"{cmd[0]} failed: {err.read().decode(errors='replace')}")
        if gnu:
            return elapsed, int(Path(peak.name).read_text().split()[-1]) / 1024
    return elapsed, usage.ru_maxrss / 1024


def header(title: str) -> None:
    print(f"\n{title}")
    print(f"{'tool':40} {'seconds':>8} {'lines/s':>12} {'peak MiB':>9}")


def run_tools(tools: list[tuple[str, list[str], str | None]], lines: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="sentinel-bench-"))
    (data / "pure.toml").write_text("[ingest]\ncompiled = false\n")
    try:
        for name, cmd, store in tools:
            cmd = [c.replace("@PURE@", str(data / "pure.toml")) for c in cmd]
            env = dict(os.environ, SENTINEL_DATA_DIR=str(data / store)) if store else None
            secs, mib = measure(cmd, env)
            print(f"{name:40} {secs:8.2f} {lines / secs:12,.0f} {mib:9.0f}", flush=True)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def scan(fmt: str, *paths: Path, extra: tuple[str, ...] = ()) -> list[str]:
    return [str(BIN / "sentinel"), *extra, "scan", "--json", "--format", fmt, *map(str, paths)]


def floors(path: Path) -> list[tuple[str, list[str], str | None]]:
    return [("wc -l (I/O floor)", ["wc", "-l", str(path)], None),
            ("naive Python split + count", [sys.executable, str(HERE / "naive.py"), str(path)],
             None)]


def run(path: Path, lines: int) -> None:
    header(f"BIND, {path.name}: {lines:,} lines, {path.stat().st_size / 2**20:,.0f} MiB")
    halves = split_in_two(path)
    run_tools([
        *floors(path),
        ("awk count host + client",
         ["awk", "{h[$10]++; split($7, c, \"#\"); n[c[1]]++} END {print length(h), length(n)}",
          str(path)], None),
        (f"sentinel scan ({KERNEL}, 1 core)", scan("bind", path), "compiled"),
        ("sentinel scan (pure Python, 1 core)", scan("bind", path, extra=("--config", "@PURE@")),
         "pure"),
        # The halves were last read when they were cut: read them once, as the
        # floors read the whole file for the tools above (this VM's memory
        # reclaim evicts files not read lately, and a cold read is disk speed).
        ("wc -l on the two halves (I/O floor)", ["wc", "-l", *map(str, halves)], None),
        ("sentinel scan --jobs 2 (2 files, 2 cores)", [*scan("bind", *halves)[:3], "--jobs", "2",
                                                       *scan("bind", *halves)[3:]], "jobs2"),
    ], lines)


def run_format(fmt: str, path: Path, lines: int, unit: str = "lines") -> None:
    header(f"{fmt}, {path.name}: {lines:,} {unit}, {path.stat().st_size / 2**20:,.0f} MiB "
           f"(rates are {unit}/s)")
    # The I/O floor always (it shows how fast the machine is in this run);
    # the naive parser only where a line is a record.
    tools = floors(path) if unit == "lines" else floors(path)[:1]
    tools.append((f"sentinel scan ({KERNEL}, 1 core)", scan(fmt, path), "compiled"))
    run_tools(tools, lines)


def split_in_two(path: Path) -> list[Path]:
    """The log cut at its middle line into two files, as two DNS servers would write."""
    out = [path.with_name(f"{path.stem}.ns{i}.log") for i in (1, 2)]
    if not all(p.exists() for p in out):
        size = path.stat().st_size
        with path.open("rb") as fh:
            fh.seek(size // 2)
            fh.readline()
            cut = fh.tell()
            fh.seek(0)
            with out[0].open("wb") as a:
                left = cut
                while left:
                    chunk = fh.read(min(left, 1 << 20))
                    a.write(chunk)
                    left -= len(chunk)
            with out[1].open("wb") as b:
                shutil.copyfileobj(fh, b, 1 << 20)
    for p in out:  # settled: old enough that the last line is read
        os.utime(p, (path.stat().st_mtime, path.stat().st_mtime))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=5_000_000, help="BIND lines (the big run)")
    ap.add_argument("--small", type=int, default=1_000_000, help="BIND lines (the small run)")
    ap.add_argument("--other", type=int, default=5_000_000, help="Zeek and dnsmasq lines")
    ap.add_argument("--packets", type=int, default=2_000_000, help="pcap DNS query packets")
    ap.add_argument("--web", type=int, default=5_000_000, help="Squid lines")
    ap.add_argument("--kv", type=int, default=5_000_000,
                    help="FortiGate, Sophos, CEF and LEEF lines (as many as Squid)")
    ap.add_argument("--token-mib", type=int, default=1024,
                    help="Google Workspace token export size (MiB)")
    ap.add_argument("--hosts", type=int, default=200_000,
                    help="unique hosts for the cold-classification run")
    ap.add_argument("--only", default="bind,zeek,dnsmasq,pcap,squid,fortigate,sophos,cef,leef,"
                                      "gws_token,classify")
    args = ap.parse_args()
    only = set(args.only.split(","))
    OUT.mkdir(exist_ok=True)

    def made(name: str, n: int, gen: Callable[[Path, int], object]) -> Path:
        path = OUT / name
        if not path.exists():
            print(f"generating {path} ...", flush=True)
            gen(path, n)
            os.utime(path, (time.time() - 3600, time.time() - 3600))
        return path

    if "bind" in only:
        for n in (args.small, args.lines):
            run(made(f"bind-{n}.log", n, generate), n)
    if "zeek" in only:
        run_format("zeek_dns", made(f"zeek-{args.other}.log", args.other, generate_zeek), args.other)
    if "dnsmasq" in only:
        # Half the lines are "forwarded" lines dnsmasq writes after a query.
        n = args.other * 2 // 3
        run_format("dnsmasq", made(f"dnsmasq-{n}.log", n, generate_dnsmasq), n + (n + 1) // 2)
    if "squid" in only:
        run_format("squid", made(f"squid-{args.web}.log", args.web, generate_squid), args.web)
    if "fortigate" in only:
        run_format("fortigate", made(f"fortigate-{args.kv}.log", args.kv, generate_fortigate),
                   args.kv)
    for fmt, gen in (("sophos", generate_sophos), ("cef", generate_cef), ("leef", generate_leef)):
        if fmt in only:
            run_format(fmt, made(f"{fmt}-{args.kv}.log", args.kv, gen), args.kv)
    if "gws_token" in only:
        path = made(f"gws-token-{args.token_mib}MiB.ndjson", args.token_mib << 20,
                    generate_gws_token)
        n = int(path.with_suffix(".lines").read_text())
        run_format("gws_token", path, n, unit="events")
    if "pcap" in only:
        run_format("pcap", made(f"dns-{args.packets}.pcap", args.packets, generate_pcap),
                   args.packets, unit="packets")
    if "classify" in only:
        from classify_hosts import run_classify  # bench/classify_hosts.py
        run_classify(args.hosts)


if __name__ == "__main__":
    main()
