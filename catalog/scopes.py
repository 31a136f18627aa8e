"""OAuth scope risk: the shipped table in ``knowledge/scopes.yaml`` and a pure, cached
classifier over it.

``classify_scope("https://www.googleapis.com/auth/drive")`` gives a `ScopeRisk`
(level ``high``, elements ``("files",)``); `summarize` folds the scopes of one grant
into the highest level, the data elements exposed and the high-risk scopes.

Normalization (the same for the table's entries and for scopes read from logs):

* surrounding whitespace and trailing slashes are dropped;
* a provider prefix listed in the table is removed:
  ``https://www.googleapis.com/auth/drive`` -> ``drive``,
  ``https://graph.microsoft.com/Files.ReadWrite.All`` -> ``Files.ReadWrite.All``;
  ``https://mail.google.com/`` has no such prefix and stays a named entry;
* lookup ignores case (Microsoft and Okta names are case-insensitive; Google's
  are all lower case).

An explicit entry wins; otherwise every matching rule pattern applies (the highest
level, their elements together). A prefix names the provider, and then only that
provider's entries and rules (and the shared OpenID Connect ones) apply.

A scope in neither has level ``unknown`` with reason "not in the scope table".
Callers treat unknown as medium: an unlisted scope is neither proven harmless nor
known to be broad. A scope longer than `MAX_SCOPE_LEN` characters is not looked up
at all (also ``unknown``). Scope strings come from logs: they are attacker-controlled,
so control characters are replaced in what is shown and the cache is bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from catalog.elements import DATA_ELEMENTS, check_elements
from catalog.errors import CatalogError

__all__ = [
    "LEVELS",
    "MAX_SCOPE_LEN",
    "PROVIDERS",
    "SCOPES_FILE",
    "ScopeRisk",
    "ScopeSummary",
    "ScopeTable",
    "classify_scope",
    "level_rank",
    "load_scope_table",
    "summarize",
]

SCOPES_FILE = Path(__file__).resolve().parent / "knowledge" / "scopes.yaml"
LEVELS = ("low", "medium", "high")
PROVIDERS = ("oidc", "google", "microsoft", "okta")
"""``oidc``: the OpenID Connect standard scopes every provider shares."""
MAX_SCOPE_LEN = 256
"""The longest documented scope is under 100 characters."""
UNKNOWN_REASON = "not in the scope table"

_RANK = {"low": 0, "unknown": 1, "medium": 1, "high": 2}
_ENTRY_KEYS = frozenset(("scope", "provider", "level", "elements", "reason"))
_RULE_KEYS = frozenset(("pattern", "provider", "level", "elements", "reason"))
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def level_rank(level: str) -> int:
    """Order for comparing levels: low < unknown = medium < high."""
    return _RANK.get(level, 1)


@dataclass(frozen=True, slots=True)
class ScopeRisk:
    """How one granted scope classifies.

    scope: the string as given (control characters replaced, cut at
    `MAX_SCOPE_LEN`). normalized: the table's spelling when an entry matched,
    else the scope without provider prefix and trailing slashes. level: ``low``,
    ``medium``, ``high`` or ``unknown``. elements: data elements it exposes
    (catalog.elements names). rule: the entry or pattern that decided, "" when
    unknown. provider: ``google``/``microsoft``/``okta``/``oidc``, or "" when unknown.
    """

    scope: str
    normalized: str
    level: str
    reason: str
    elements: tuple[str, ...]
    rule: str
    provider: str = ""


class ScopeSummary(NamedTuple):
    """The scopes of one grant folded together.

    level: the highest level (``unknown`` only when nothing known is higher than
    low; callers treat it as medium); ``low`` for no scopes. elements: the union of
    exposed elements, in DATA_ELEMENTS order. high: the high-risk scopes
    (normalized, sorted). unknown: the scopes not in the table (normalized, sorted).
    """

    level: str
    elements: tuple[str, ...]
    high: tuple[str, ...]
    unknown: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Entry:
    scope: str
    provider: str
    level: str
    reason: str
    elements: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: str
    regex: re.Pattern[str]
    provider: str
    level: str
    reason: str
    elements: tuple[str, ...]


@dataclass(frozen=True)
class ScopeTable:
    """The validated scope table. Build it with `load_scope_table`."""

    entries: dict[str, _Entry]
    """Case-folded normalized scope -> entry."""
    rules: tuple[_Rule, ...]
    prefixes: tuple[tuple[str, str], ...]
    """(case-folded prefix, provider), longest first."""
    source: str = field(default="", compare=False)

    def normalize(self, scope: str) -> tuple[str, str | None]:
        """(scope without provider prefix and trailing slashes, provider or None)."""
        s = scope.strip().rstrip("/").strip()
        low = s.casefold()
        for prefix, provider in self.prefixes:
            if low.startswith(prefix) and len(s) > len(prefix):
                return s[len(prefix):].strip("/").strip(), provider
        return s, None

    def classify(self, scope: str) -> ScopeRisk:
        """Classify one scope; never raises on any string."""
        if len(scope) > MAX_SCOPE_LEN:
            cut = _CONTROL.sub("?", scope[:MAX_SCOPE_LEN])
            return ScopeRisk(cut, cut, "unknown",
                             f"{UNKNOWN_REASON} (longer than {MAX_SCOPE_LEN} characters)", (), "")
        shown = _CONTROL.sub("?", scope)
        name, hint = self.normalize(scope)
        shown_name = _CONTROL.sub("?", name)
        key = name.casefold()
        entry = self.entries.get(key)
        if entry is not None and _applies(entry.provider, hint):
            return ScopeRisk(shown, entry.scope, entry.level, entry.reason, entry.elements,
                             entry.scope, entry.provider)
        best: _Rule | None = None
        elements: set[str] = set()
        for rule in self.rules:
            if _applies(rule.provider, hint) and rule.regex.fullmatch(key):
                elements.update(rule.elements)
                if best is None or _RANK[rule.level] > _RANK[best.level]:
                    best = rule
        if best is None:
            return ScopeRisk(shown, shown_name, "unknown", UNKNOWN_REASON, (), "")
        return ScopeRisk(shown, shown_name, best.level, best.reason, _ordered(elements),
                         best.pattern, best.provider)


def _applies(provider: str, hint: str | None) -> bool:
    return hint is None or provider == hint or provider == "oidc"


def _ordered(elements: Iterable[str]) -> tuple[str, ...]:
    got = set(elements)
    return tuple(e for e in DATA_ELEMENTS if e in got)


@lru_cache(maxsize=4)
def load_scope_table(path: Path = SCOPES_FILE) -> ScopeTable:
    """Read and validate the table; a bad entry raises CatalogError naming it."""
    name = path.name
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 (safe)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: {exc}") from None
    if not isinstance(doc, dict):
        raise CatalogError(f"{name}: expected a mapping at the top")
    if doc.get("version", 1) != 1:
        raise CatalogError(f"{name}: version: {doc.get('version')!r} is not supported; expected 1")
    prefixes = _prefixes(doc.get("prefixes"), name)
    probe = ScopeTable({}, (), prefixes)
    entries: dict[str, _Entry] = {}
    where_of: dict[str, str] = {}
    items = doc.get("scopes")
    if not isinstance(items, list) or not items:
        raise CatalogError(f"{name}: scopes: expected a non-empty list")
    for i, item in enumerate(items, start=1):
        where = f"{name}: scopes[{i}]"
        fields = _fields(item, where, "scope", _ENTRY_KEYS)
        where = f"{where} {fields['scope']!r}"
        canonical = fields["scope"]
        if any(c.isspace() for c in canonical) or len(canonical) > MAX_SCOPE_LEN:
            raise CatalogError(f"{where}: scope: no spaces, at most {MAX_SCOPE_LEN} characters")
        normalized, hint = probe.normalize(canonical)
        if hint is not None and hint != fields["provider"]:
            raise CatalogError(f"{where}: provider: the prefix says {hint!r}")
        key = normalized.casefold()
        if key in entries:
            raise CatalogError(f"{where}: already listed as {where_of[key]}")
        where_of[key] = where
        entries[key] = _Entry(normalized if hint else canonical, fields["provider"],
                              fields["level"], fields["reason"], _elements(item, where))
    rules: list[_Rule] = []
    for i, item in enumerate(doc.get("rules") or [], start=1):
        where = f"{name}: rules[{i}]"
        fields = _fields(item, where, "pattern", _RULE_KEYS)
        where = f"{where} {fields['pattern']!r}"
        pattern = fields["pattern"]
        if "*" not in pattern or any(c.isspace() for c in pattern):
            raise CatalogError(f"{where}: pattern: needs a '*' and no spaces")
        regex = re.compile(".*".join(re.escape(p) for p in pattern.casefold().split("*")))
        rules.append(_Rule(pattern, regex, fields["provider"], fields["level"], fields["reason"],
                           _elements(item, where)))
    return ScopeTable(entries, tuple(rules), prefixes, str(path))


def _prefixes(raw: object, name: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise CatalogError(f"{name}: prefixes: expected a mapping provider -> list")
    out: list[tuple[str, str]] = []
    for provider, values in raw.items():
        if provider not in PROVIDERS:
            raise CatalogError(f"{name}: prefixes: unknown provider {provider!r}; "
                               f"valid: {', '.join(PROVIDERS)}")
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise CatalogError(f"{name}: prefixes: {provider}: expected a list of strings")
        out.extend((v.casefold(), str(provider)) for v in values)
    return tuple(sorted(out, key=lambda p: -len(p[0])))


def _fields(item: object, where: str, first: str, allowed: frozenset[str]) -> dict[str, str]:
    if not isinstance(item, dict):
        raise CatalogError(f"{where}: expected a mapping")
    out: dict[str, str] = {}
    for key in (first, "provider", "level", "reason"):
        value = item.get(key)
        if not isinstance(value, str) or not value.strip():
            raise CatalogError(f"{where}: {key}: missing")
        out[key] = value.strip()
        if key == first:
            where = f"{where} {out[first]!r}"
    extra = sorted(str(k) for k in item if k not in allowed)
    if extra:
        raise CatalogError(f"{where}: unknown key {extra[0]!r}; valid: {', '.join(sorted(allowed))}")
    if out["provider"] not in PROVIDERS:
        raise CatalogError(f"{where}: provider: unknown {out['provider']!r}; "
                           f"valid: {', '.join(PROVIDERS)}")
    if out["level"] not in LEVELS:
        raise CatalogError(f"{where}: level: unknown {out['level']!r}; valid: {', '.join(LEVELS)}")
    if "\n" in out["reason"]:
        raise CatalogError(f"{where}: reason: one line")
    return out


def _elements(item: dict[str, Any], where: str) -> tuple[str, ...]:
    raw = item.get("elements")
    if raw is not None and not isinstance(raw, list):
        raise CatalogError(f"{where}: elements: expected a list")
    try:
        return _ordered(check_elements(raw, where))
    except ValueError as exc:
        raise CatalogError(str(exc)) from None


@lru_cache(maxsize=65536)
def _classify_default(scope: str) -> ScopeRisk:
    return load_scope_table().classify(scope)


def classify_scope(scope: str) -> ScopeRisk:
    """Classify one scope against the shipped table (cached per distinct scope)."""
    if not isinstance(scope, str):
        scope = str(scope)
    if len(scope) > MAX_SCOPE_LEN:
        # Do not let an oversized hostile string into the cache.
        return load_scope_table().classify(scope)
    return _classify_default(scope)


def summarize(scopes: Iterable[str] | str, table: ScopeTable | None = None) -> ScopeSummary:
    """Fold the scopes of one grant: the highest level, the elements, the high scopes.

    A single string is split on whitespace (an OAuth ``scope`` parameter)."""
    items: Iterable[object] = scopes.split() if isinstance(scopes, str) else scopes
    classify = classify_scope if table is None else table.classify
    level = "low"
    elements: set[str] = set()
    high: set[str] = set()
    unknown: set[str] = set()
    for raw in items:
        risk = classify(raw if isinstance(raw, str) else str(raw))
        elements.update(risk.elements)
        if risk.level == "high":
            high.add(risk.normalized)
        elif risk.level == "unknown":
            unknown.add(risk.normalized)
        if _RANK[risk.level] > _RANK[level] or (level == "unknown" and risk.level == "medium"):
            level = risk.level
    return ScopeSummary(level, _ordered(elements), tuple(sorted(high)), tuple(sorted(unknown)))
