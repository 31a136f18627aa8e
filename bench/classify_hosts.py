"""Cold host classification: unique hosts per second through a fresh `Matcher`.

    python bench/classify_hosts.py [--hosts 200000]

(also the ``classify`` section of ``bench/run.py``). The hosts are generated
with a fixed seed and are all distinct, as a pipeline sees them once per unique
host: sub-domains of knowledge-base apps and noise, a long tail of unknown
domains under common and multi-label suffixes and under platform suffixes
(``*.github.io``), Unicode and punycode names (2 %: each costs ~40 µs in IDNA
validation), upper case and trailing dots, and IP literals (4 %). Nothing is
classified before the timed loop. Both wall-clock and CPU rates are printed:
on a shared machine the CPU rate is the one-core figure.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time
from pathlib import Path

import idna

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TLDS = ("com", "com", "com", "net", "org", "io", "edu", "us", "co.uk", "com.au", "de", "ca",
        "k12.ca.us", "co", "ai", "app", "dev", "info", "fr", "co.jp")
PLATFORMS = ("github.io", "blogspot.com", "web.app", "herokuapp.com", "vercel.app",
             "netlify.app", "pages.dev", "notion.site")


def generate_hosts(n: int, seed: int = 5) -> list[str]:
    from catalog.kb import load_knowledge_base
    from catalog.match import parse_rule

    kb = load_knowledge_base()
    apps = [parse_rule(r)[1] for a in kb.apps for r in a.domains]
    noise = [parse_rule(r)[1] for r in kb.noise]
    rnd = random.Random(seed)

    def word(lo: int = 3, hi: int = 12) -> str:
        return "".join(rnd.choices(string.ascii_lowercase + string.digits, k=rnd.randint(lo, hi)))

    out: set[str] = set()
    while len(out) < n:
        r = rnd.random()
        if r < 0.25:
            h = f"{word()}.{rnd.choice(apps)}"
        elif r < 0.45:
            h = f"{word()}.{word(2, 6)}.{rnd.choice(noise)}"
        elif r < 0.80:
            h = ".".join(word() for _ in range(rnd.randint(1, 3))) + "." + rnd.choice(TLDS)
        elif r < 0.88:
            h = f"{word()}.{rnd.choice(PLATFORMS)}"
        elif r < 0.90:
            h = f"{word()}ü{word(1, 4)}.{rnd.choice(TLDS)}"
        elif r < 0.91:
            h = idna.encode(f"{word(2, 6)}ö{word(1, 5)}").decode() + "." + rnd.choice(TLDS)
        elif r < 0.96:
            h = f"{word().upper()}.{rnd.choice(TLDS)}."
        elif r < 0.98:
            h = ".".join(str(rnd.randint(0, 255)) for _ in range(4))
        else:
            h = f"2001:db8::{rnd.randint(0, 0xffff):x}:{rnd.randint(0, 0xffff):x}"
        out.add(h)
    hosts = sorted(out)
    rnd.shuffle(hosts)
    return hosts


def run_classify(n: int) -> float:
    """Print and return unique hosts/s of a cold matcher over ``n`` generated hosts."""
    from catalog.kb import load_knowledge_base
    from catalog.match import Matcher
    from catalog.model import Catalog

    hosts = generate_hosts(n)
    t0 = time.perf_counter()
    matcher = Matcher(Catalog(), load_knowledge_base())
    built = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    for h in hosts:
        matcher.classify(h)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    rate = len(hosts) / secs
    kinds: dict[str, int] = {}
    for h in hosts:
        k = matcher.classify(h).kind
        kinds[k] = kinds.get(k, 0) + 1
    t0 = time.perf_counter()
    for h in hosts:
        matcher.classify(h)
    warm = len(hosts) / (time.perf_counter() - t0)
    print(f"\nclassify: {len(hosts):,} unique hosts (matcher built in {built:.2f} s)")
    print(f"{'cold, unique hosts/s (wall clock)':40} {rate:12,.0f}")
    print(f"{'cold, unique hosts/s (CPU time)':40} {len(hosts) / cpu:12,.0f}")
    print(f"{'cached, look-ups/s':40} {warm:12,.0f}")
    print("  " + ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items())), flush=True)
    return rate


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=200_000)
    run_classify(ap.parse_args().hosts)
