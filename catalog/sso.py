"""Pure SSO app matching: which product an OAuth/SSO app id or app name is.

Precedence, first hit wins:

1. district by id: a district product's ``sso_ids`` entry equals the event's app
   id; or, for Okta (whose logs name apps by label), equals the event's app name
   after name normalization. The district listed it, so both count as ``id``;
2. known app by id: a knowledge-base app's ``sso`` ids (every list but ``names``);
3. district by name: the product name equals the app name after normalization;
4. known app by name: the app's name or one of its ``sso.names``;
5. otherwise ``unknown``, keyed ``sso:<normalized id>`` so that unmatched grants of
   one app group together, or ``sso-name:<normalized name>`` when there is no id.

Ids compare case-insensitively with surrounding braces and whitespace dropped.
Google OAuth client ids look like ``<project number>-<random>.apps.googleusercontent.com``;
the suffix is dropped, and when the exact id is not listed the project number
is tried next (within the same tier): a vendor's web, Android and iOS clients
live in one Cloud project, and the Admin console lists apps by that number.
List the full client id where two products share a project. Entra app ids
are GUIDs (four hyphens) and never take the project-number path.

Name normalization: NFKC, casefold, trademark signs dropped, punctuation to
spaces, whitespace collapsed, then trailing company and edition words
("app", "inc", "llc", "for education", "edu", ...) stripped while a word remains.
It is idempotent.

Results are cached per (id, name); the cache is bounded, since both come from logs.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from catalog.kb import KnowledgeBase, product_categories
from catalog.model import Catalog

__all__ = [
    "MAX_FIELD_LEN",
    "AppMatch",
    "AppMatcher",
    "google_project",
    "normalize_app_id",
    "normalize_app_name",
]

MAX_FIELD_LEN = 256
"""App ids and names longer than this are cut before matching."""
_CACHE_MAX = 65536
_GOOGLE_SUFFIX = ".apps.googleusercontent.com"
_PROJECT = re.compile(r"(\d+)(?:-[0-9a-z]+)?")
_TRADEMARKS = dict.fromkeys(map(ord, "™®℠©"), " ")
_SUFFIXES: tuple[tuple[str, ...], ...] = (
    ("for", "education"), ("for", "edu"), ("for", "schools"), ("for", "school"),
    ("app",), ("apps",), ("inc",), ("llc",), ("ltd",), ("corp",), ("edu",),
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class AppMatch(NamedTuple):
    """What an SSO app is.

    kind: ``district`` (a product of the district catalog), ``known`` (a
    knowledge-base app not in the district catalog) or ``unknown``.
    key: the product or app id; for unknown apps ``sso:<id>`` or ``sso-name:<name>``.
    name: what to show a person. how: ``id``, ``name`` or ``none``.
    category: the product's or app's category ("" for unknown apps, and for a
    district product with none that stands for no knowledge-base app).
    """

    kind: str
    key: str
    name: str
    how: str
    category: str = ""


def normalize_app_id(app_id: str) -> str:
    """Case-folded id without whitespace, braces or the Google client-id suffix."""
    s = app_id.strip().strip("{}").strip().casefold()
    if s.endswith(_GOOGLE_SUFFIX) and len(s) > len(_GOOGLE_SUFFIX):
        s = s[: -len(_GOOGLE_SUFFIX)]
    return s


def google_project(app_id: str) -> str | None:
    """The Google Cloud project number of a client id (``123-abc`` or ``123``), else None.

    Takes a normalized id (see `normalize_app_id`)."""
    m = _PROJECT.fullmatch(app_id)
    return m.group(1) if m else None


def normalize_app_name(name: str) -> str:
    """``"Kami App™"`` and ``"kami, inc."`` -> ``"kami"``; idempotent."""
    s = name.translate(_TRADEMARKS)
    for _ in range(4):  # NFKC can yield capitals (U+210C -> "H"): fold to a fixed point
        folded = unicodedata.normalize("NFKC", s).casefold()
        if folded == s:
            break
        s = folded
    tokens = "".join(c if c.isalnum() else " " for c in s).split()
    stripped = True
    while stripped:
        stripped = False
        for suffix in _SUFFIXES:
            n = len(suffix)
            if len(tokens) > n and tuple(tokens[-n:]) == suffix:
                del tokens[-n:]
                stripped = True
                break
    return " ".join(tokens)


class AppMatcher:
    """Matches SSO app ids and names to the district catalog and the knowledge base."""

    def __init__(self, catalog: Catalog, kb: KnowledgeBase) -> None:
        self._district_id: dict[str, AppMatch] = {}
        self._district_project: dict[str, AppMatch] = {}
        self._district_alias: dict[str, AppMatch] = {}
        self._district_name: dict[str, AppMatch] = {}
        categories = product_categories(catalog, kb)
        for p in catalog.products:
            m = AppMatch("district", p.id, p.name, "id", categories[p.id])
            for raw in p.sso_ids:
                _index_id(raw, m, self._district_id, self._district_project)
                alias = normalize_app_name(raw)
                if alias:
                    self._district_alias.setdefault(alias, m)
            name = normalize_app_name(p.name)
            if name:
                self._district_name.setdefault(name, m._replace(how="name"))
        self._known_id: dict[str, AppMatch] = {}
        self._known_project: dict[str, AppMatch] = {}
        self._known_name: dict[str, AppMatch] = {}
        for app in kb.apps:
            m = AppMatch("known", app.id, app.name, "id", app.category)
            names = [app.name]
            for provider, values in app.sso.items():
                if provider.endswith("names"):
                    names.extend(values)
                    continue
                for raw in values:
                    _index_id(raw, m, self._known_id, self._known_project)
            for raw in names:
                name = normalize_app_name(raw)
                if name:
                    self._known_name.setdefault(name, m._replace(how="name"))
        self._cache: dict[tuple[str, str], AppMatch] = {}

    def match(self, app_id: str | None, app_name: str | None) -> AppMatch:
        """Classify one app by id and name (either may be empty or None)."""
        # Cut first: the cache must not hold oversized strings from a hostile log.
        key = ((app_id or "")[:MAX_FIELD_LEN], (app_name or "")[:MAX_FIELD_LEN])
        got = self._cache.get(key)
        if got is None:
            got = self._match(*key)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[key] = got
        return got

    def _match(self, app_id: str, app_name: str) -> AppMatch:
        nid = normalize_app_id(app_id)
        project = google_project(nid) if nid else None
        name = normalize_app_name(app_name)
        for got in (
            self._district_id.get(nid) if nid else None,
            self._district_project.get(project) if project else None,
            self._district_alias.get(name) if name else None,
            self._known_id.get(nid) if nid else None,
            self._known_project.get(project) if project else None,
            self._district_name.get(name) if name else None,
            self._known_name.get(name) if name else None,
        ):
            if got is not None:
                return got
        shown = _show(app_name) or _show(app_id)
        if nid:
            return AppMatch("unknown", f"sso:{_CONTROL.sub('?', nid)}", shown, "none")
        if name:
            return AppMatch("unknown", f"sso-name:{name}", shown, "none")
        return AppMatch("unknown", "sso:", "(no app id or name)", "none")


def _show(text: str) -> str:
    return _CONTROL.sub("?", " ".join(text.split()))


def _index_id(raw: str, m: AppMatch, ids: dict[str, AppMatch],
              projects: dict[str, AppMatch]) -> None:
    nid = normalize_app_id(str(raw))
    if not nid:
        return
    ids.setdefault(nid, m)
    project = google_project(nid)
    if project:
        projects.setdefault(project, m)
