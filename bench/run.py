"""Throughput and peak memory of `sentinel scan` beside its floors.

    python bench/run.py [--lines 5000000] [--small 1000000]

Generates a deterministic BIND query log (cached in bench/out/), then runs, one
process each, measuring wall time and peak RSS (os.wait4):

* ``wc -l``: the I/O floor;
* ``bench/naive.py``: split each line and count hosts and clients in Python;
* ``awk``: count hosts and clients;
* ``sentinel scan --format bind`` into a fresh SQLite store, end to end: once
  with the compiled BIND fold, once in pure Python (``ingest.compiled = false``).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
try:
    from collectors import _fold  # noqa: F401
    KERNEL = "compiled fold"
except ImportError:
    KERNEL = "kernel NOT built"
OUT = HERE / "out"
BIN = Path(sys.executable).parent


def generate(path: Path, lines: int, seed: int = 11) -> None:
    from sentinel.demo import NOISE, PRODUCTS, UNVETTED

    rng = random.Random(seed)
    hosts = list(NOISE) + [h for p in PRODUCTS for h in p[5]] + [h for u in UNVETTED for h in u[1]]
    hosts += [f"cdn{i}.longtail{i % 997}.com" for i in range(3000)]
    clients = [f"10.{10 + i % 6}.{(i // 250) % 64}.{i % 250 + 2}" for i in range(2_000)]
    # Each device keeps returning to its own few dozen hosts, as real ones do.
    habits = [[hosts[rng.randrange(len(hosts))] for _ in range(40)] for _ in clients]
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as fh:
        start = 1_795_939_200  # 2026-11-29 00:00 UTC
        buf = []
        for i in range(lines):
            ts = start + i * 86_400 * 7 // lines
            k = rng.randrange(len(clients))
            c = clients[k]
            h = habits[k][int(rng.paretovariate(1.2)) % 40]
            t = time.gmtime(ts)
            buf.append(f"{time.strftime('%d-%b-%Y %H:%M:%S', t)}.{i % 1000:03d} queries: info: "
                       f"client @0x7f5c2e0{i % 4096:03x} {c}#{1024 + i % 60000} ({h}): query: {h} "
                       f"IN {'AAAA' if i % 3 == 0 else 'A'} +E(0)K (10.20.0.53)\n")
            if len(buf) >= 10_000:
                fh.write("".join(buf))
                buf.clear()
        fh.write("".join(buf))
    tmp.rename(path)


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one child process."""
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: wait4 cannot deadlock on it
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        if status != 0:
            err.seek(0)
            raise SystemExit(f"{cmd[0]} failed: {err.read().decode(errors='replace')}")
    return elapsed, usage.ru_maxrss / 1024


def run(path: Path, lines: int) -> None:
    print(f"\n{path.name}: {lines:,} lines, {path.stat().st_size / 2**20:,.0f} MiB")
    print(f"{'tool':34} {'seconds':>8} {'lines/s':>12} {'peak MiB':>9}")
    data = Path(tempfile.mkdtemp(prefix="sentinel-bench-"))
    pure = data / "pure.toml"
    pure.write_text("[ingest]\ncompiled = false\n")
    scan = [str(BIN / "sentinel"), "scan", "--json", "--format", "bind", str(path)]
    tools = [
        ("wc -l (I/O floor)", ["wc", "-l", str(path)], None),
        ("naive Python split + count", [sys.executable, str(HERE / "naive.py"), str(path)], None),
        ("awk count host + client",
         ["awk", "{h[$10]++; split($7, c, \"#\"); n[c[1]]++} END {print length(h), length(n)}",
          str(path)], None),
        (f"sentinel scan ({KERNEL})", scan, "compiled"),
        ("sentinel scan (pure Python)", [*scan[:1], "--config", str(pure), *scan[1:]], "pure"),
    ]
    halves = split_in_two(path)
    tools.append(("sentinel scan --jobs 2 (2 files, 2 cores)",
                  [*scan[:3], "--jobs", "2", "--format", "bind", *map(str, halves)], "jobs2"))
    try:
        for name, cmd, store in tools:
            env = dict(os.environ, SENTINEL_DATA_DIR=str(data / store)) if store else None
            secs, mib = measure(cmd, env)
            print(f"{name:34} {secs:8.2f} {lines / secs:12,.0f} {mib:9.0f}", flush=True)
    finally:
        shutil.rmtree(data, ignore_errors=True)


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
            out[0].write_bytes(fh.read(cut))
            out[1].write_bytes(fh.read())
    for p in out:  # settled: old enough that the last line is read
        os.utime(p, (path.stat().st_mtime, path.stat().st_mtime))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=5_000_000)
    ap.add_argument("--small", type=int, default=1_000_000)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    for n in (args.small, args.lines):
        path = OUT / f"bind-{n}.log"
        if not path.exists():
            print(f"generating {path} ...", flush=True)
            generate(path, n)
        run(path, n)


if __name__ == "__main__":
    main()
