"""The naive Python baseline: split each BIND line and count hosts and clients."""

import sys
from collections import Counter

hosts: Counter[str] = Counter()
clients: Counter[str] = Counter()
with open(sys.argv[1], encoding="utf-8", errors="replace") as fh:
    for line in fh:
        f = line.split()
        if len(f) > 9:
            hosts[f[9]] += 1
            clients[f[6].split("#")[0]] += 1
print(len(hosts), len(clients))
