"""One typed settings object.

Precedence: defaults, then the TOML file, then ``SENTINEL_*`` environment
variables, then CLI flags. Validated at start-up; a bad value fails with the
file, the dotted key and the reason. Passed explicitly, never global.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import tomllib
import zoneinfo
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sentinel.errors import ConfigError

Population = Literal["students", "staff", "guest", "unknown"]
IdentityPolicy = Literal["keep", "pseudonymize", "drop"]
POPULATIONS: tuple[str, ...] = ("students", "staff", "guest", "unknown")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class District(_Model):
    name: str = "School District"
    timezone: str = "UTC"
    """IANA zone: days are counted in it, and stamps without a zone are read in it."""
    domains: list[str] = []
    """The district's own DNS zones: counted as infrastructure, never as apps."""

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        _zone(v)
        return v


class Network(_Model):
    cidr: str
    site: str
    population: Population = "unknown"

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, v: str) -> str:
        try:
            return str(ipaddress.ip_network(v, strict=False))
        except ValueError as exc:
            raise ValueError(f"not a CIDR network: {v!r}") from exc


class Source(_Model):
    path: str
    """A file, or a glob (``/var/log/named/queries.log*``)."""
    format: str | None = None
    """Format name; detected from the first lines when absent."""
    timezone: str | None = None
    """Zone of the source's stamps when they carry none (default: the district's)."""
    options: dict[str, str | int | float | bool] = {}
    """Format options, e.g. ``{ date_order = "DMY" }`` for a Windows DNS debug log
    written in a day-first locale."""

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is not None:
            _zone(v)
        return v


class Account(_Model):
    """A rule giving user accounts their population by name, for logs that
    carry a user but no address on a district network (SSO and OAuth logs):
    ``match`` is a shell-style pattern on the lower-cased account name."""

    match: str
    population: Population

    @field_validator("match")
    @classmethod
    def _match(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("empty pattern")
        return v.strip().lower()


class Storage(_Model):
    data_dir: Path = Path("sentinel-data")
    database_url: str | None = None
    """SQLAlchemy URL; default: SQLite file ``sentinel.db`` in data_dir."""


def _pseudonymize_all() -> dict[Population, IdentityPolicy]:
    return {"students": "pseudonymize", "staff": "pseudonymize", "guest": "pseudonymize",
            "unknown": "pseudonymize"}


class Privacy(_Model):
    identity: dict[Population, IdentityPolicy] = Field(default_factory=_pseudonymize_all)
    """Per population: keep the address/name, pseudonymize it (keyed HMAC) or drop it."""
    store_urls: bool = False
    """Keep full URLs (query strings stripped). Off: only hosts are kept."""
    retention_days: int = Field(default=400, ge=1)
    """Daily usage older than this is deleted at every scan."""
    quarantine_retention_days: int = Field(default=30, ge=1)
    quarantine_samples: int = Field(default=200, ge=0)
    """Rejected lines kept per ingest run (all are counted)."""


class Findings(_Model):
    """Thresholds of the finding rules (`sentinel.findings`). Reach counts
    distinct devices (client pseudonyms) over the window."""

    unvetted_min_clients: int = Field(default=3, ge=1)
    """``unvetted_app``: a known app (or SSO app) not in the catalog becomes a
    finding once this many clients use it."""
    unvetted_min_events: int = Field(default=10, ge=1)
    """...and once it has this many events (``unknown_domain`` too)."""
    unknown_min_clients: int = Field(default=10, ge=1)
    """``unknown_domain``: a registered domain neither the catalog nor the
    knowledge base knows, used by this many clients, is raised for triage."""
    review_min_clients: int = Field(default=1, ge=1)
    """``pending_review``: a product still requested or in review, used by this many clients."""
    denied_min_clients: int = Field(default=1, ge=1)
    """``denied_app``: a denied or retired product used by this many clients."""
    consent_min_students: int = Field(default=1, ge=1)
    """``consent_required``: a parental-consent product used by this many student devices."""
    contract_min_clients: int = Field(default=1, ge=1)
    """``no_contract``, ``contract_expired``, ``contract_expiring``: an allowed
    product used by this many clients."""
    contract_warn_days: int = Field(default=60, ge=0)
    """``contract_expiring``: a contract ending within this many days (from today)."""
    new_app_days: int = Field(default=7, ge=1)
    """``new_app``: an app whose first use in all stored usage is within the last this-many days."""
    new_app_baseline_days: int = Field(default=7, ge=1)
    """...raised only when the store holds this many days of usage before them
    (without a history, every app would be new)."""
    new_app_min_clients: int = Field(default=1, ge=1)
    """``new_app``: used by this many clients."""
    window_days: int = Field(default=7, ge=1)
    """Findings look at the last this-many days of usage."""
    high_severity_clients: int = Field(default=50, ge=1)
    """A finding reaching this many clients, a student counting twice, is one
    step more severe."""
    high_severity_schools: int = Field(default=4, ge=1)
    """...and so is one reaching this many schools (sites)."""
    high_severity_accounts: int = Field(default=20, ge=1)
    """An OAuth grant held by this many accounts (a student counts twice) is one
    step more severe than its scopes alone make it."""


class Catalog(_Model):
    path: Path | None = None
    """District catalog (CSV or YAML). Imported into the store at start-up
    whenever its content changed (`sentinel.catalog_store.sync_config_catalog`)."""
    replace_on_import: bool = False
    """When the file is imported at start-up, delete stored products it does not
    list (false: they stay, e.g. products added by ``sentinel triage label``)."""


class Ingest(_Model):
    settle_seconds: float = Field(default=60.0, ge=0)
    """A last line without a newline is read only once the file is this old."""
    max_line_bytes: int = Field(default=65536, ge=256)
    commit_lines: int = Field(default=1_000_000, ge=1000)
    """Aggregates and checkpoint are committed together every this many lines."""
    max_keys: int = Field(default=200_000, ge=1000)
    """...or as soon as this many aggregate rows are pending (bounds memory)."""
    upload_min_bytes: int = Field(default=10_240, ge=1)
    """A POST, PUT or PATCH sending at least this many bytes counts as an upload
    (the data-sharing signal of proxy logs)."""
    jobs: int = Field(default=1, ge=1, le=64)
    """Files read in parallel, one process each (a district with several DNS servers)."""
    compiled: bool = True
    """Use a format's compiled fast path where built (same results; false to rule it out)."""


class Google(_Model):
    """``sentinel poll google``: the Reports API read with a service account
    (domain-wide delegation) impersonating an admin."""

    credentials_file: Path | None = None
    """The service account's JSON key file."""
    subject: str | None = None
    """The admin account impersonated (needs the Reports API privilege)."""
    customer_id: str = Field(default="my_customer", min_length=1, max_length=64)
    """``my_customer``: the admin's own account."""
    applications: list[Literal["token", "login"]] = Field(default=["token", "login"], min_length=1)
    lookback_days: int = Field(default=30, ge=1, le=180)
    """How far back the first poll of an application reads (the API keeps 180 days)."""
    page_size: int = Field(default=1000, ge=1, le=1000)


class AdminList(_Model):
    """An admin's own domain list or hosts file, loaded as a named category
    (``[[lists]]``; see `catalog.kb.load_host_list`)."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
    """Shown as the category of what it matches."""
    path: Path
    category: Literal["noise", "app"] = "noise"
    """noise: matches are noise named by the list; app: each entry is an app."""
    format: Literal["domains", "hosts"] = "domains"
    """domains: one rule per line; hosts: hosts-file lines (``0.0.0.0 name``)."""


class Settings(_Model):
    formats: list[dict[str, Any]] = []
    """Admin-defined log formats (``[[formats]]``: CSV, regex or JSON mappings;
    see `collectors.mapping`), usable by name in ``[[sources]]`` and ``--format``."""
    district: District = District()
    networks: list[Network] = []
    accounts: list[Account] = []
    """Populations by account name (first match wins); a match takes precedence
    over the network's population for that account's name."""
    sources: list[Source] = []
    storage: Storage = Storage()
    privacy: Privacy = Privacy()
    findings: Findings = Findings()
    catalog: Catalog = Catalog()
    ingest: Ingest = Ingest()
    google: Google = Google()
    lists: list[AdminList] = []
    """Admin domain lists (``[[lists]]``), checked and loaded at start-up."""
    config_file: Path | None = None

    @property
    def tz(self) -> dt.tzinfo:
        return _zone(self.district.timezone)

    @property
    def database_url(self) -> str:
        if self.storage.database_url:
            return self.storage.database_url
        return f"sqlite:///{self.storage.data_dir / 'sentinel.db'}"


def _zone(name: str) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


ENV_KEYS = {
    "SENTINEL_DATABASE_URL": ("storage", "database_url"),
    "SENTINEL_DATA_DIR": ("storage", "data_dir"),
    "SENTINEL_TIMEZONE": ("district", "timezone"),
    "SENTINEL_CATALOG": ("catalog", "path"),
}


def load_settings(path: Path | None = None, overrides: dict[str, Any] | None = None,
                  env: dict[str, str] | None = None) -> Settings:
    """Defaults < TOML file < environment < ``overrides`` (dotted keys)."""
    env = dict(os.environ) if env is None else env
    data: dict[str, Any] = {}
    file = str(path) if path else None
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("file not found", file) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML: {exc}", file) from None
        _resolve_paths(data, path.parent)
    for var, (section, key) in ENV_KEYS.items():
        if env.get(var):
            data.setdefault(section, {})[key] = env[var]
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = data
        *parents, last = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    if path is not None:
        data["config_file"] = path
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        where = _describe(data, err["loc"])
        raise ConfigError(f"{err['msg']}{where}", file or "settings", key) from None
    if settings.formats:
        # Admin-defined formats: every mapping is checked now, so a broken one
        # stops start-up naming its key; then they are usable by name anywhere.
        from collectors.mapping import MappingError, load_mappings
        from collectors.registry import formats, register
        try:
            fmts = load_mappings(settings.formats, "formats",
                                 taken=[n for n in formats() if n not in _REGISTERED])
        except MappingError as exc:
            key, _, reason = str(exc).partition(": ")
            raise ConfigError(reason or str(exc), file or "settings", key) from None
        register(fmts)
        _REGISTERED.update(f.name for f in fmts)
    _check_matching(settings, file or "settings")
    return settings


def _check_matching(settings: Settings, file: str) -> None:
    """District domains are domain rules, and every admin list reads (a list is
    cached while unchanged: the matcher gets it without reading it again)."""
    if not (settings.district.domains or settings.lists):
        return
    from catalog.errors import CatalogError
    from catalog.kb import load_host_list
    from catalog.model import parse_domain_rule
    for i, d in enumerate(settings.district.domains):
        try:
            parse_domain_rule(d)
        except ValueError as exc:
            raise ConfigError(str(exc), file, f"district.domains.{i}") from None
    names: set[str] = set()
    for i, spec in enumerate(settings.lists):
        if spec.name in names:
            raise ConfigError(f"duplicate list name {spec.name!r}", file, f"lists.{i}.name")
        names.add(spec.name)
        try:
            load_host_list(spec.path, spec.name, spec.category, spec.format)
        except CatalogError as exc:
            raise ConfigError(str(exc), file, f"lists.{i}.path") from None


_REGISTERED: set[str] = set()
"""Names of formats this process registered from configuration (reloading may
register them again)."""


def _describe(data: dict[str, Any], loc: tuple[int | str, ...]) -> str:
    node: Any = data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return ""
    return f" (got {node!r})" if isinstance(node, str | int | float | bool) else ""


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    """Relative paths in a config file are relative to the file."""
    storage = data.get("storage")
    if isinstance(storage, dict) and isinstance(storage.get("data_dir"), str):
        storage["data_dir"] = os.path.normpath(base / storage["data_dir"])
    cat = data.get("catalog")
    if isinstance(cat, dict) and isinstance(cat.get("path"), str):
        cat["path"] = str(base / cat["path"])
    google = data.get("google")
    if isinstance(google, dict) and isinstance(google.get("credentials_file"), str):
        google["credentials_file"] = str(base / google["credentials_file"])
    for src in [*(data.get("sources", []) or []), *(data.get("lists", []) or [])]:
        if isinstance(src, dict) and isinstance(src.get("path"), str):
            src["path"] = str(base / src["path"])
