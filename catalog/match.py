"""Pure host -> product matching, cached per unique host.

Precedence, first by tier, then by the longest matching rule within the tier:

1. ``district``: the district catalog's products;
2. ``known``: knowledge-base apps and the admin's ``app`` lists;
3. ``noise``: knowledge-base noise, the district's own domains (category
   ``district``) and the admin's ``noise`` lists;
4. otherwise reverse look-ups and local names (noise), or the ``unknown``
   registered domain (public suffix list, private suffixes included).

A rule is ``example.com`` (the host and its sub-domains), ``=www.example.com``
(that host only) or ``*.example.com`` (any sub-domain, not the apex). At equal
length an exact rule beats the others for its own host, and a wildcard beats a
plain rule for a sub-domain. Within a tier, at the same rule, the district's
configuration beats the shipped knowledge base.

Platform suffixes: a plain rule whose domain is itself a public or private
suffix of the Public Suffix List (``github.io``, ``blogspot.com``,
``herokuapp.com``, ``co.uk``) matches that host only. The sites under it belong
to their owners and are attributed by their own registered domain
(``someone.github.io``), unless a rule names the site. To claim every host
under such a suffix on purpose (a CDN such as ``cloudfront.net``), write the
wildcard ``*.cloudfront.net``.

Brand names on shared infrastructure: a host that only matched a content
delivery or cloud-hosting noise rule, or that sits under such a platform suffix
(``herokuapp.com``), is attributed to an app when one of the labels in front of
that rule, split at dots, hyphens and underscores, is an app's brand
(``reddit-uploaded-media.s3-accelerate.amazonaws.com`` is Reddit's). An app's
brands are the first labels of the registered domains it owns outright (plain
rules at a registered domain: ``quizlet.com`` gives ``quizlet``); a brand is
kept only when it has five characters or more, is not a word CDN hosts use for
anything (`GENERIC_TOKENS`), no noise domain starts with it, and no other app
of the same tier claims it. The match names the brand and the infrastructure
rule (``brand 'reddit' on amazonaws.com``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from catalog.errors import CatalogError
from catalog.kb import HostList, KnowledgeBase, product_categories, rule_text
from catalog.model import Catalog
from catalog.suffixes import SuffixList, bundled
from collectors.hosts import is_ip, normalize_host

LOCAL_SUFFIXES = ("local", "lan", "home", "internal", "localdomain", "home.arpa", "corp",
                  "localhost", "intranet", "private")
"""Names under these are local: noise ``local`` (single-label names too)."""
LOCAL_LABELS = frozenset(("wpad", "isatap"))
"""Names starting with these labels are local (proxy and tunnel auto-discovery)."""
_LOCAL_TLDS = frozenset(s for s in LOCAL_SUFFIXES if "." not in s)
SHARED_INFRA = frozenset(("cdn", "cloud-hosting"))
"""Noise categories whose hosts may carry an app's brand (see the module's notes)."""
BRAND_MIN = 5
GENERIC_TOKENS = frozenset((
    "static", "assets", "media", "images", "image", "video", "videos", "content", "cloud",
    "files", "storage", "upload", "uploads", "prod", "production", "staging", "stage",
    "edge", "stream", "streaming", "mobile", "secure", "public", "global", "origin",
    "cache", "proxy", "server", "service", "services", "webapp", "admin", "login",
    "account", "accounts", "music", "games", "school", "schools", "learn", "learning",
    "class", "classroom", "study", "teach", "teacher", "student", "students", "education",
    "academy", "books", "reader", "reading", "writer", "write", "science", "maths",
    "coding", "photo", "photos", "share", "world", "online", "digital", "drive", "email",
    "docs", "notes", "draw", "paint", "quiz", "quizzes", "words", "story", "stories",
    "kids", "radio", "sound", "audio", "voice", "social", "stats", "track",
    "tracking", "metrics", "analytics", "events", "event", "logs", "report", "reports",
    "search", "maps", "portal", "platform", "tools", "apps", "store", "market", "cdn01",
    "player", "embed", "widget", "widgets", "fonts", "icons", "thumbs", "thumbnails",
    "avatar", "avatars", "downloads", "download", "update", "updates", "backup",
    "default", "bucket", "buckets", "website", "sites", "pages", "frontend", "backend",
))
"""Labels too common on content delivery hosts to name an app."""
KIND_LABELS = {"district": "district product", "known": "known app", "noise": "noise",
               "unknown": "unknown", "ip": "IP literal", "invalid": "invalid host"}
"""What each match kind is called in front of a person."""


class Match(NamedTuple):
    """How a host classifies.

    kind: ``district`` (a district product), ``known`` (a knowledge-base app or
    an entry of an admin ``app`` list), ``noise``, ``ip``, ``unknown`` or ``invalid``.
    key: the product or app id (an admin app list's entry: its domain), the
    noise category (an admin noise list: its name), or the registered domain.
    name: what to show a person. category: the product, app or noise category.
    rule: the rule that matched, in rule syntax, or how the match was made.
    """

    kind: str
    key: str
    name: str
    category: str
    rule: str


_DISTRICT, _KNOWN, _NOISE, _NONE = 0, 1, 2, 3
_REVERSE = Match("noise", "reverse-lookup", "reverse-lookup", "reverse-lookup", "arpa")
_LOCAL = Match("noise", "local", "local", "local", "local name")
_new = tuple.__new__
"""Builds a Match without NamedTuple's keyword handling: three times cheaper,
on the path every unknown host takes."""
_TOKENS = re.compile(r"[._-]+")
_Cand = tuple[int, Match]
"""(tier, match): the lower tier wins."""


class _Entry:
    """The rules written at one domain. ``confined``: plain rules at a public
    suffix, confined to the suffix itself (kept for explanations)."""

    __slots__ = ("confined", "exact", "plain", "wild")

    def __init__(self) -> None:
        self.exact: list[_Cand] = []
        self.plain: list[_Cand] = []
        self.wild: list[_Cand] = []
        self.confined: list[_Cand] = []

    def compile(self) -> tuple[_Cand | None, _Cand | None]:
        """The best match for the domain itself and for its sub-domains."""
        return _best(self.exact, self.plain), _best(self.wild, self.plain)


def _best(first: list[_Cand], then: list[_Cand]) -> _Cand | None:
    """The lowest tier; the earliest of equal tiers, ``first`` before ``then``."""
    best = None
    for c in first + then:
        if best is None or c[0] < best[0]:
            best = c
    return best


def parse_rule(text: str) -> tuple[str, str]:
    """``(kind, host)`` of a rule's canonical text: ``exact``, ``wildcard`` or ``suffix``."""
    if text.startswith("="):
        return "exact", text[1:]
    if text.startswith("*."):
        return "wildcard", text[2:]
    return "suffix", text


class Matcher:
    """Classifies hosts. Build it once per run; `classify` caches per host, so
    the cost per event is one dict look-up."""

    def __init__(self, catalog: Catalog, kb: KnowledgeBase,
                 district_domains: Sequence[str] = (), lists: Sequence[HostList] = (),
                 suffixes: SuffixList | None = None) -> None:
        self.suffixes = suffixes if suffixes is not None else bundled()
        self._entries: dict[str, _Entry] = {}
        # Sources best first within a tier: `_best` keeps the first of equal tiers.
        categories = product_categories(catalog, kb)
        for p in catalog.products:
            for d in p.domains:
                r = _canonical(d, f"product {p.id}")
                self._add(r, _DISTRICT, Match("district", p.id, p.name, categories[p.id], r))
        for hl in lists:
            if hl.category == "app":
                for r in hl.rules:
                    host = parse_rule(r)[1]
                    self._add(r, _KNOWN, Match("known", host, host, hl.name, r))
        for app in kb.apps:
            for r in app.domains:
                self._add(r, _KNOWN, Match("known", app.id, app.name, app.category, r))
        for d in district_domains:
            r = _canonical(d, "district.domains")
            self._add(r, _NOISE, Match("noise", "district", "district", "district", r))
        for hl in lists:
            if hl.category == "noise":
                for r in hl.rules:
                    self._add(r, _NOISE, Match("noise", hl.name, hl.name, hl.name, r))
        for r, cat in kb.noise.items():
            self._add(r, _NOISE, Match("noise", cat, cat, cat, r))
        self._rules: dict[str, tuple[_Cand | None, _Cand | None]] = {
            d: e.compile() for d, e in self._entries.items()}
        self._brands = self._brand_map()
        # Platform suffixes of shared infrastructure (a confined noise rule,
        # e.g. herokuapp.com): the sites under them may carry a brand too.
        self._platforms = {d: m for d, e in self._entries.items() for tier, m in e.confined
                           if tier == _NOISE and m.category in SHARED_INFRA}
        self._cache: dict[str, Match] = {}

    def _brand_map(self) -> dict[str, Match]:
        """Brand -> the app or product that owns it (see the module's notes)."""
        claims: dict[str, dict[str, _Cand]] = {}
        taken: set[str] = set()  # first labels of noise domains
        for host, entry in self._entries.items():
            reg = self.suffixes.registered_domain(host)
            token = (reg or host).split(".", 1)[0]
            if any(tier == _NOISE for tier, _ in entry.exact + entry.plain + entry.wild):
                taken.add(token)
            if reg == host:  # a plain rule at a registered domain owns it outright
                for tier, m in entry.plain:
                    if m.kind in ("district", "known"):
                        claims.setdefault(token, {}).setdefault(f"{m.kind}:{m.key}", (tier, m))
        brands: dict[str, Match] = {}
        for token, owners in claims.items():
            if len(token) < BRAND_MIN or token in GENERIC_TOKENS or token in taken:
                continue
            top = min(tier for tier, _ in owners.values())
            best = [m for tier, m in owners.values() if tier == top]
            if len(best) == 1:
                brands[token] = best[0]
        return brands

    def _add(self, rule: str, tier: int, match: Match) -> None:
        kind, host = parse_rule(rule)
        entry = self._entries.get(host)
        if entry is None:
            entry = self._entries[host] = _Entry()
        cand = (tier, match)
        if kind == "exact":
            entry.exact.append(cand)
        elif kind == "wildcard":
            entry.wild.append(cand)
        elif self.suffixes.is_suffix(host):
            entry.exact.append(cand)
            entry.confined.append(cand)
        else:
            entry.plain.append(cand)

    def classify(self, host: str) -> Match:
        """How ``host`` (as logged: any case, trailing dot, Unicode or punycode,
        IP literal) classifies. Never raises: a name that cannot be a host is
        kind ``invalid``."""
        got = self._cache.get(host)
        if got is None:
            got = self._cache[host] = self._classify(host)
        return got

    def _classify(self, raw: str) -> Match:
        try:
            host = normalize_host(raw)
        except ValueError as exc:
            return Match("invalid", raw, raw, "invalid", str(exc))
        # A normalized host holds ":" only as an IPv6 literal; a dotted quad is
        # checked (normalize_host leaves 999.1.1.1 as a name).
        if ":" in host or (host[-1].isdigit() and host.replace(".", "").isdigit()
                           and is_ip(host)):
            return Match("ip", host, host, "ip-literal", "")
        rules = self._rules
        tier, best = _NONE, None
        got = rules.get(host)
        if got is not None and got[0] is not None:
            tier, best = got[0]
        s = host
        i = s.find(".")
        while i >= 0 and tier:
            s = s[i + 1:]
            got = rules.get(s)
            if got is not None:
                sub = got[1]
                if sub is not None and sub[0] < tier:
                    tier, best = sub
            i = s.find(".")
        if best is not None:
            if tier == _NOISE and best.category in SHARED_INFRA and self._brands:
                return self._branded(host, best) or best
            return best
        return self._fallback(host)

    def _branded(self, host: str, infra: Match) -> Match | None:
        """The app whose brand is a label in front of the shared-infrastructure
        rule ``infra`` matched, if exactly one is."""
        domain = parse_rule(infra.rule)[1]
        if not host.endswith("." + domain):
            return None
        found = {m.key: (token, m) for token in _TOKENS.split(host[:-len(domain) - 1])
                 for m in [self._brands.get(token)] if m is not None}
        if len(found) != 1:
            return None
        token, m = found.popitem()[1]
        return Match(m.kind, m.key, m.name, m.category, f"brand {token!r} on {infra.rule}")

    def _fallback(self, host: str) -> Match:
        dot = host.rfind(".")
        tld = host[dot + 1:]
        if tld == "arpa":
            if host.endswith((".in-addr.arpa", ".ip6.arpa")) or host in ("in-addr.arpa",
                                                                         "ip6.arpa"):
                return _REVERSE
            if host == "home.arpa" or host.endswith(".home.arpa"):
                return _LOCAL
        if dot < 0 or tld in _LOCAL_TLDS or host[:host.find(".")] in LOCAL_LABELS:
            return _LOCAL
        if self._brands and self._platforms:
            i = host.find(".")
            while i >= 0:
                infra = self._platforms.get(host[i + 1:])
                if infra is not None:
                    got = self._branded(host, infra)
                    if got is not None:
                        return got
                    break
                i = host.find(".", i + 1)
        reg = self.suffixes.registered_domain(host) or host
        return _new(Match, ("unknown", reg, reg, "", "registered domain"))

    def suggest(self, domain: str, hosts: Sequence[str] = (), limit: int = 3) -> list[Match]:
        """Apps an unknown registered ``domain`` may belong to, for a reviewer to
        confirm (``triage list``); the hint never changes how a host classifies.

        A brand (see the module's notes) suggests its app when it is a label of one
        of ``hosts`` in front of ``domain`` or of ``domain`` itself, split at dots,
        hyphens and underscores (``kahoot.media-edge.net``), or when a word of the
        first label of ``domain`` starts or ends with it and it has six letters or
        more (``kahootcdn.net``, ``my-getquizlet.com``; ``startup`` does not suggest
        start.gg). Whole labels come first, then longer brands; ``rule`` says why.
        """
        domain = domain.strip().lower().rstrip(".")
        if not self._brands or not domain:
            return []
        found: dict[str, tuple[int, int, Match]] = {}

        def add(token: str, rank: int, why: str) -> None:
            m = self._brands.get(token)
            if m is None:
                return
            key = f"{m.kind}:{m.key}"
            if key not in found or (rank, -len(token)) < found[key][:2]:
                found[key] = (rank, -len(token), m._replace(rule=why))

        for host in (*hosts, domain):
            host = host.strip().lower().rstrip(".")
            if host != domain and not host.endswith("." + domain):
                continue
            for token in _TOKENS.split(host):
                add(token, 0, f"brand {token!r} in {host}")
        glued = BRAND_MIN + 1  # inside a word, five letters are too often a word ("start")
        for word in _TOKENS.split(domain.split(".", 1)[0]):
            for token in {word[:n] for n in range(glued, len(word) - 1)} | \
                    {word[n:] for n in range(2, len(word) - glued + 1)}:
                add(token, 1, f"brand {token!r} in {word}")
        ranked = sorted(found.values(), key=lambda f: (f[0], f[1], f[2].name))
        return [m for _, _, m in ranked[:limit]]

    def explain(self, raw: str) -> Explanation:
        """`classify`, and why: every rule that applies to the host, best first,
        and the plain rules at a platform suffix that were confined to it."""
        match = self.classify(raw)
        try:
            host = normalize_host(raw)
        except ValueError:
            return Explanation(raw, None, match)
        if match.kind == "ip":
            return Explanation(raw, host, match)
        labels = host.split(".")
        applied: list[tuple[int, int, Match]] = []
        confined: list[Match] = []
        for i in range(len(labels)):
            got = self._entries.get(".".join(labels[i:]))
            if got is None:
                continue
            groups = (got.exact, got.plain) if i == 0 else (got.wild, got.plain)
            applied += [(tier, i, m) for g in groups for tier, m in g]
            if i:
                confined += [m for _, m in got.confined if (m.kind, m.key) != (match.kind, match.key)]
        applied.sort(key=lambda t: (t[0], t[1]))
        others = [m for _, _, m in applied if m is not match]
        return Explanation(raw, host, match, self.suffixes.registered_domain(host),
                           self.suffixes.public_suffix(host), self.suffixes.is_private(host),
                           tuple(others), tuple(confined))


@dataclass(frozen=True)
class Explanation:
    """How a host classifies, and why (`Matcher.explain`).

    host: the normalized host (None when the text is no host name).
    registered_domain: "" when the host is itself a suffix or its TLD is not
    listed. overridden: other rules that apply, beaten by precedence (best
    first). confined: plain rules at a platform suffix above the host, which
    do not reach its sites (see the module's notes).
    """

    input: str
    host: str | None
    match: Match
    registered_domain: str = ""
    public_suffix: str = ""
    private_suffix: bool = False
    overridden: tuple[Match, ...] = ()
    confined: tuple[Match, ...] = ()

    def to_json(self) -> dict[str, Any]:
        m = self.match
        return {"input": self.input, "host": self.host, "kind": m.kind,
                "kind_label": KIND_LABELS.get(m.kind, m.kind), "key": m.key, "name": m.name,
                "category": m.category, "rule": m.rule,
                "registered_domain": self.registered_domain, "public_suffix": self.public_suffix,
                "private_suffix": self.private_suffix,
                "overridden": [_match_json(o) for o in self.overridden],
                "confined": [_match_json(o) for o in self.confined]}


def _match_json(m: Match) -> dict[str, str]:
    return {"kind": m.kind, "key": m.key, "name": m.name, "category": m.category, "rule": m.rule}


def _canonical(text: str, where: str) -> str:
    try:
        return rule_text(text)
    except ValueError as exc:
        raise CatalogError(f"{where}: domain {text!r}: {exc}") from None


def registered_domain(host: str) -> str:
    """``www.bbc.co.uk`` -> ``bbc.co.uk``; private suffixes count
    (``a.me.github.io`` -> ``me.github.io``). Falls back to the host itself."""
    try:
        h = normalize_host(host)
    except ValueError:
        return host
    return bundled().registered_domain(h) or h

