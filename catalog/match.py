"""Pure host -> product matching, cached per unique host.

Precedence: the district catalog, then known apps, then noise; otherwise the
unknown registered domain (tldextract, bundled suffix list, no network). The
longest matching domain wins within each tier.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from catalog.kb import KnowledgeBase
from catalog.model import Catalog
from collectors.hosts import is_ip, normalize_host


@lru_cache(maxsize=1)
def _extractor() -> Any:
    """tldextract with its bundled public-suffix snapshot only: never fetched,
    never cached on disk. Imported on first use (it costs a twentieth of a second)."""
    import tldextract

    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(),
                                 include_psl_private_domains=True)

LOCAL_SUFFIXES = ("local", "lan", "home", "internal", "localdomain", "home.arpa", "corp",
                  "localhost", "intranet", "private")
LOCAL_LABELS = ("wpad", "isatap")


class Match(NamedTuple):
    """How a host classifies.

    kind: ``district`` (a district product), ``known`` (a knowledge-base app not
    in the district catalog), ``noise``, ``ip``, ``unknown`` or ``invalid``.
    key: the product or app id, the noise category, or the registered domain.
    name: what to show a person. rule: the domain entry that matched.
    """

    kind: str
    key: str
    name: str
    category: str
    rule: str


@lru_cache(maxsize=65536)
def registered_domain(host: str) -> str:
    """``www.bbc.co.uk`` -> ``bbc.co.uk``; private suffixes count
    (``me.github.io`` stays whole). Falls back to the host itself."""
    ext = _extractor()(host)
    if ext.domain and ext.suffix:
        return f"{ext.domain}.{ext.suffix}"
    return host


class Matcher:
    def __init__(self, catalog: Catalog, kb: KnowledgeBase,
                 district_domains: tuple[str, ...] = ()) -> None:
        self._district: dict[str, Match] = {}
        for p in catalog.products:
            for d in p.domains:
                self._district[d] = Match("district", p.id, p.name, p.category, d)
        self._known: dict[str, Match] = {}
        for app in kb.apps:
            for d in app.domains:
                self._known.setdefault(d, Match("known", app.id, app.name, app.category, d))
        self._noise: dict[str, Match] = {
            d: Match("noise", cat, cat, cat, d) for d, cat in kb.noise.items()}
        for d in district_domains:
            nd = normalize_host(d)
            self._noise[nd] = Match("noise", "district", "district", "district", nd)
        self._cache: dict[str, Match] = {}

    def classify(self, host: str) -> Match:
        got = self._cache.get(host)
        if got is None:
            got = self._classify(host)
            self._cache[host] = got
        return got

    def _classify(self, raw: str) -> Match:
        try:
            host = normalize_host(raw)
        except ValueError as exc:
            return Match("invalid", raw, raw, "invalid", str(exc))
        if is_ip(host):
            return Match("ip", host, host, "ip-literal", "")
        labels = host.split(".")
        suffixes = [".".join(labels[i:]) for i in range(len(labels))]
        for table in (self._district, self._known, self._noise):
            for s in suffixes:
                m = table.get(s)
                if m is not None:
                    return m
        if host.endswith((".in-addr.arpa", ".ip6.arpa")) or host in ("in-addr.arpa", "ip6.arpa"):
            return Match("noise", "reverse-lookup", "reverse-lookup", "reverse-lookup", "arpa")
        if (len(labels) == 1 or labels[0] in LOCAL_LABELS
                or any(host == s or host.endswith("." + s) for s in LOCAL_SUFFIXES)):
            return Match("noise", "local", "local", "local", "local name")
        reg = registered_domain(host)
        return Match("unknown", reg, reg, "", "registered domain")
