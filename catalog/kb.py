"""The shipped knowledge base (known apps and noise, see knowledge/SCHEMA.md) and
the admin's own host lists (hosts files or plain domain lists).

Domain entries use the district catalog's rule syntax (`catalog.model.parse_domain_rule`):
``example.com`` is the host and its sub-domains, ``=www.example.com`` that host
only, ``*.example.com`` any sub-domain but not the apex. They are kept as
canonical rule text (normalized host, with its ``=`` or ``*.`` prefix).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from catalog.errors import CatalogError
from catalog.model import Catalog, parse_domain_rule
from collectors.hosts import is_ip, normalize_host

KB_DIR = Path(__file__).resolve().parent / "knowledge"
APP_CATEGORIES = frozenset((
    "lms", "assessment", "reading", "math", "science", "social-studies", "language-learning",
    "video", "coding", "ai-tutor", "ai-writing", "ai-chat", "ai-image", "study-tools",
    "classroom-management", "communication", "productivity", "file-sharing", "creativity",
    "research", "special-education", "sis", "social-media", "messaging", "games", "streaming",
    "other",
))
NOISE_CATEGORIES = frozenset((
    "cdn", "cloud-hosting", "os-updates", "telemetry", "pki", "connectivity-check", "ads-analytics",
    "fonts", "network-infra",
))
RISKS = ("low", "medium", "high")
ListCategory = Literal["noise", "app"]
ListFormat = Literal["domains", "hosts"]


def rule_text(text: str) -> str:
    """The canonical form of one domain rule: ``*.Bücher.example.`` -> ``*.xn--bcher-kva.example``.

    Raises ValueError naming what is wrong.
    """
    return str(parse_domain_rule(text))


@dataclass(frozen=True)
class KnownApp:
    """A product of the knowledge base; ``domains`` are canonical rule texts."""

    id: str
    name: str
    vendor: str
    category: str
    website: str
    domains: tuple[str, ...]
    student_data_risk: str
    sso: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    source: str = field(default="", compare=False)


_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it (ten times faster)."""


@dataclass(frozen=True)
class KnowledgeBase:
    """Known apps, and noise rules (canonical rule text -> noise category)."""

    apps: tuple[KnownApp, ...]
    noise: dict[str, str]

    def app(self, app_id: str) -> KnownApp | None:
        for a in self.apps:
            if a.id == app_id:
                return a
        return None


def product_categories(catalog: Catalog, kb: KnowledgeBase) -> dict[str, str]:
    """Each district product's category (product id -> category): its own, else,
    where the district left it empty, the category of the knowledge-base app it
    stands for (so the report and the findings still say "quiz" rather than
    nothing): the app listing one of the product's domain rules (in the
    product's order), else the app of the same name (case and punctuation
    aside), else ""."""
    out = {p.id: p.category for p in catalog.products}
    if all(out.values()):
        return out
    by_rule: dict[str, str] = {}
    by_name: dict[str, str] = {}
    for a in kb.apps:
        for r in a.domains:
            by_rule.setdefault(r, a.category)
        by_name.setdefault(_name_key(a.name), a.category)
    by_name.pop("", None)
    for p in catalog.products:
        if not p.category:
            out[p.id] = next((by_rule[r] for r in p.domains if r in by_rule),
                             by_name.get(_name_key(p.name), ""))
    return out


def _name_key(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


CACHE_FORMAT = 1
"""Bumped when the cached form changes."""
CACHE_KEEP = 4
"""Cached versions kept side by side (the newest)."""
_SHAPING_CODE = (Path(__file__), Path(__file__).with_name("model.py"),
                 Path(__file__).resolve().parent.parent / "collectors" / "hosts.py")
"""Code that shapes a loaded knowledge base: part of the cache key."""


def cache_dir() -> Path | None:
    """Where the checked knowledge base is cached: ``$SENTINEL_CACHE_DIR`` (empty:
    no cache), else ``$XDG_CACHE_HOME/sentinel`` or ``~/.cache/sentinel``."""
    env = os.environ.get("SENTINEL_CACHE_DIR")
    if env is not None:
        return Path(env) if env else None
    xdg = os.environ.get("XDG_CACHE_HOME")
    try:
        return Path(xdg) / "sentinel" if xdg else Path.home() / ".cache" / "sentinel"
    except RuntimeError:  # no home directory
        return None


@lru_cache(maxsize=4)
def load_knowledge_base(root: Path = KB_DIR) -> KnowledgeBase:
    """Read and check every file; the first bad entry raises CatalogError naming
    the file, the entry and the reason. A rule listed twice (by two apps, by an
    app and a noise file, or by two noise files) is an error: which one wins
    would depend on file order.

    The checked result is cached as JSON (`cache_dir`), keyed by the SHA-256 of
    every file and of the code that reads them: a changed file, or a new
    version, reads the YAML again. A missing, unreadable or damaged cache is
    rebuilt; one that cannot be written is skipped (the load is only slower).
    The four newest versions are kept side by side.
    """
    apps_files = sorted((root / "apps").glob("*.yaml"))
    noise_files = sorted((root / "noise").glob("*.yaml"))
    texts: dict[Path, str] = {}
    key = hashlib.sha256(f"sentinel knowledge base, cache format {CACHE_FORMAT}\n".encode())
    for path in (*_SHAPING_CODE, *apps_files, *noise_files):
        try:
            data = path.read_bytes()
        except OSError as exc:
            if path in _SHAPING_CODE:
                continue
            raise CatalogError(f"{path}: {exc}") from None
        key.update(f"{path.name} {len(data)}\n".encode())
        key.update(data)
        try:
            texts[path] = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CatalogError(f"{path}: not UTF-8 text: {exc}") from None
    where = cache_dir()
    cached = where / f"kb-{key.hexdigest()[:32]}.json" if where is not None else None
    if cached is not None:
        got = _read_cache(cached)
        if got is not None:
            return got
    kb = _check(apps_files, noise_files, texts)
    if cached is not None:
        _write_cache(cached, kb)
    return kb


def _read_cache(path: Path) -> KnowledgeBase | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") != CACHE_FORMAT:
            return None
        apps = tuple(KnownApp(a["id"], a["name"], a["vendor"], a["category"], a["website"],
                              tuple(a["domains"]), a["risk"],
                              {k: tuple(v) for k, v in a["sso"].items()}, a["source"])
                     for a in doc["apps"])
        noise = {str(k): str(v) for k, v in doc["noise"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return KnowledgeBase(apps, noise)


def _write_cache(path: Path, kb: KnowledgeBase) -> None:
    doc = {"format": CACHE_FORMAT,
           "apps": [{"id": a.id, "name": a.name, "vendor": a.vendor, "category": a.category,
                     "website": a.website, "domains": list(a.domains), "risk": a.student_data_risk,
                     "sso": {k: list(v) for k, v in a.sso.items()}, "source": a.source}
                    for a in kb.apps],
           "noise": kb.noise}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")),
                       encoding="utf-8")
        os.replace(tmp, path)
        # Earlier versions of the files: keep the few newest (tests and
        # side-by-side installs load more than one), drop the rest.
        held = sorted(path.parent.glob("kb-*.json"), key=lambda p: p.stat().st_mtime,
                      reverse=True)
        for old in held[CACHE_KEEP:]:
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _check(apps_files: Sequence[Path], noise_files: Sequence[Path],
           texts: dict[Path, str]) -> KnowledgeBase:
    apps: list[KnownApp] = []
    ids: dict[str, str] = {}
    owner: dict[str, str] = {}

    def claim(rule: str, who: str) -> None:
        if rule in owner:
            raise CatalogError(f"{who}: domain {rule!r} already listed in {owner[rule]}")
        owner[rule] = who

    for path in apps_files:
        for i, item in enumerate(_load(path, texts[path]).get("apps") or [], start=1):
            app = _app(item, f"{path.name}: app {i}")
            if app.id in ids:
                raise CatalogError(f"{app.source}: id {app.id!r} already used in {ids[app.id]}")
            ids[app.id] = app.source
            for d in app.domains:
                claim(d, f"{app.source} ({app.id})")
            apps.append(app)
    noise: dict[str, str] = {}
    for path in noise_files:
        doc = _load(path, texts[path])
        cat = doc.get("category")
        if cat not in NOISE_CATEGORIES:
            raise CatalogError(f"{path.name}: category: unknown {cat!r}")
        for d in doc.get("domains") or []:
            try:
                rule = rule_text(str(d))
            except ValueError as exc:
                raise CatalogError(f"{path.name}: domain {d!r}: {exc}") from None
            claim(rule, path.name)
            noise[rule] = str(cat)
    return KnowledgeBase(tuple(apps), noise)


def _load(path: Path, text: str | None = None) -> dict[str, Any]:
    try:
        if text is None:
            text = path.read_text(encoding="utf-8")
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 (safe)
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: {exc}") from None
    if not isinstance(doc, dict):
        raise CatalogError(f"{path}: expected a mapping at the top")
    return doc


def _app(item: Any, where: str) -> KnownApp:
    if not isinstance(item, dict):
        raise CatalogError(f"{where}: expected a mapping")
    for key in ("id", "name", "category", "domains", "student_data_risk"):
        if not item.get(key):
            raise CatalogError(f"{where}: {key}: missing")
    if item["category"] not in APP_CATEGORIES:
        raise CatalogError(f"{where}: category: unknown {item['category']!r}")
    if item["student_data_risk"] not in RISKS:
        raise CatalogError(f"{where}: student_data_risk: must be one of {', '.join(RISKS)}")
    if not isinstance(item["domains"], list):
        raise CatalogError(f"{where}: domains: expected a list")
    domains: list[str] = []
    for d in item["domains"]:
        try:
            rule = rule_text(str(d))
        except ValueError as exc:
            raise CatalogError(f"{where}: domains: {d!r}: {exc}") from None
        if rule in domains:
            raise CatalogError(f"{where}: domains: {d!r} listed twice")
        domains.append(rule)
    sso = {k: tuple(str(x) for x in v or ()) for k, v in (item.get("sso") or {}).items()}
    return KnownApp(str(item["id"]), str(item["name"]), str(item.get("vendor") or ""),
                    str(item["category"]), str(item.get("website") or ""), tuple(domains),
                    str(item["student_data_risk"]), sso, where)


# --- Admin lists -----------------------------------------------------------------

MAX_LIST_LINE = 4096
HOSTS_FILE_NAMES = frozenset((
    "localhost", "localhost.localdomain", "local", "broadcasthost", "ip6-localhost",
    "ip6-loopback", "ip6-localnet", "ip6-mcastprefix", "ip6-allnodes", "ip6-allrouters",
    "ip6-allhosts",
))
"""Names every hosts file maps to itself: never taken as entries."""


@dataclass(frozen=True)
class HostList:
    """An admin's list of domains, loaded as a named category.

    category ``noise``: every entry is noise shown under the list's name;
    ``app``: every entry is an app of its own (named by the entry), in the
    list's category. rules: canonical rule texts. skipped: lines that were not
    a valid entry, and the first few of them as (line number, reason).
    """

    name: str
    category: ListCategory
    rules: tuple[str, ...]
    source: str
    skipped: int = 0
    samples: tuple[tuple[int, str], ...] = field(default=(), compare=False)


def load_host_list(path: Path, name: str, category: ListCategory,
                   fmt: ListFormat = "domains") -> HostList:
    """Read an admin's list (cached while the file is unchanged).

    ``domains``: one rule per line (``example.com``, ``=host``, ``*.example.com``).
    ``hosts``: hosts-file lines (``0.0.0.0 ads.example.com [more names]``); each
    name is read as a rule, so a plain name covers its sub-domains too. Both
    take ``#`` comments, blank lines and a UTF-8 byte-order mark. A bad line is
    skipped and counted; a file that cannot be read, or in which no line or
    fewer than half of the lines hold a valid entry, raises CatalogError (most
    likely the wrong file or the wrong format).
    """
    try:
        st = path.stat()
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc.strerror}") from None
    return _load_host_list(path, name, category, fmt, st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=16)
def _load_host_list(path: Path, name: str, category: ListCategory, fmt: ListFormat,
                    mtime_ns: int, size: int) -> HostList:
    if fmt not in ("domains", "hosts"):
        raise CatalogError(f"{path}: unknown list format {fmt!r}; valid: domains, hosts")
    try:
        with path.open(encoding="utf-8", errors="replace", newline=None) as f:
            lines = f.read().split("\n")
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc.strerror}") from None
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    rules: dict[str, None] = {}
    bad: list[tuple[int, str]] = []
    nbad = ngood = 0
    for n, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            for rule in _list_line(line, fmt):
                rules.setdefault(rule)
            ngood += 1
        except ValueError as exc:
            nbad += 1
            if len(bad) < 5:
                bad.append((n, str(exc)))
    if not rules or nbad > ngood:
        first = f"; line {bad[0][0]}: {bad[0][1]}" if bad else ""
        what = "a hosts file" if fmt == "hosts" else "a domain list"
        raise CatalogError(f"{path}: not {what}: {len(rules)} entries, {nbad} bad lines{first}")
    return HostList(name, category, tuple(rules), str(path), nbad, tuple(bad))


def _list_line(line: str, fmt: ListFormat) -> list[str]:
    if len(line) > MAX_LIST_LINE:
        raise ValueError("line too long")
    fields = line.split()
    if fmt == "domains":
        if len(fields) != 1:
            raise ValueError(f"expected one domain, got {len(fields)} fields")
        return [_plain_rule(fields[0]) if fields[0][0].isalnum() else rule_text(fields[0])]
    if len(fields) < 2 or not _is_address(fields[0]):
        raise ValueError("expected an address and host names")
    return [_plain_rule(name) for name in fields[1:]
            if name.lower() not in HOSTS_FILE_NAMES and not _looks_ip(name)]


def _plain_rule(name: str) -> str:
    """`rule_text` of a name without a rule prefix, cheaper for lists of 100,000
    names: an address is looked for only where it can be one (`is_ip` costs two
    exceptions per name)."""
    host = normalize_host(name)
    if _looks_ip(host):
        raise ValueError(f"{name!r} is an IP address, not a domain")
    if "." not in host:
        raise ValueError(f"{name!r} is too broad: a suffix rule needs two labels")
    return host


def _looks_ip(text: str) -> bool:
    return (":" in text or text[-1:].isdigit()) and is_ip(text)


@lru_cache(maxsize=64)
def _is_address(text: str) -> bool:
    """A hosts file repeats one address (0.0.0.0) on every line."""
    return is_ip(text)


@dataclass(frozen=True)
class Listed:
    """One rule of a noise file or of an admin list, as `search` finds it."""

    kind: Literal["noise", "app"]
    rule: str
    category: str
    """The noise category, or the admin list's name."""
    source: str
    """``noise/<category>.yaml`` or ``list <name>``."""


def search(kb: KnowledgeBase, text: str,
           lists: tuple[HostList, ...] = ()) -> tuple[list[KnownApp], list[Listed]]:
    """Apps whose id, name, vendor or a domain rule contains ``text`` (any case),
    and the noise and admin-list rules that contain it (or whose category or
    list name does). A host name in Unicode also finds its A-label spelling."""
    needles = {text.strip().lower()}
    with contextlib.suppress(ValueError):
        needles.add(normalize_host(text))
    needles.discard("")
    if not needles:
        return [], []

    def hit(*values: str) -> bool:
        return any(n in v.lower() for v in values for n in needles)

    apps = [a for a in kb.apps if hit(a.id, a.name, a.vendor, *a.domains)]
    listed = [Listed("noise", r, c, f"noise/{c}.yaml") for r, c in kb.noise.items() if hit(r, c)]
    for hl in lists:
        listed += [Listed(hl.category, r, hl.name, f"list {hl.name}") for r in hl.rules
                   if hit(r, hl.name)]
    return apps, listed
