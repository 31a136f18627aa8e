"""The shipped knowledge base: known apps and noise domains (see knowledge/SCHEMA.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from catalog.errors import CatalogError
from collectors.hosts import normalize_host

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


@dataclass(frozen=True)
class KnownApp:
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
    apps: tuple[KnownApp, ...]
    noise: dict[str, str]
    """Domain or suffix -> noise category."""


@lru_cache(maxsize=4)
def load_knowledge_base(root: Path = KB_DIR) -> KnowledgeBase:
    apps: list[KnownApp] = []
    ids: dict[str, str] = {}
    for path in sorted((root / "apps").glob("*.yaml")):
        for i, item in enumerate(_load(path).get("apps") or [], start=1):
            app = _app(item, f"{path.name}: app {i}")
            if app.id in ids:
                raise CatalogError(f"{app.source}: id {app.id!r} already used in {ids[app.id]}")
            ids[app.id] = app.source
            apps.append(app)
    noise: dict[str, str] = {}
    for path in sorted((root / "noise").glob("*.yaml")):
        doc = _load(path)
        cat = doc.get("category")
        if cat not in NOISE_CATEGORIES:
            raise CatalogError(f"{path.name}: category: unknown {cat!r}")
        for d in doc.get("domains") or []:
            try:
                noise[normalize_host(str(d))] = str(cat)
            except ValueError as exc:
                raise CatalogError(f"{path.name}: domain {d!r}: {exc}") from None
    return KnowledgeBase(tuple(apps), noise)


def _load(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 (safe)
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
    try:
        domains = tuple(normalize_host(str(d)) for d in item["domains"])
    except ValueError as exc:
        raise CatalogError(f"{where}: domains: {exc}") from None
    sso = {k: tuple(str(x) for x in v or ()) for k, v in (item.get("sso") or {}).items()}
    return KnownApp(str(item["id"]), str(item["name"]), str(item.get("vendor") or ""),
                    str(item["category"]), str(item.get("website") or ""), domains,
                    str(item["student_data_risk"]), sso, where)
