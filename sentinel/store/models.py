"""Database schema (SQLAlchemy 2). Changes go through an Alembic migration."""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


TS = DateTime(timezone=True)


class IngestRun(Base):
    """One read of one input: what it was, how far it got, what it rejected."""

    __tablename__ = "ingest_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    file_size: Mapped[int] = mapped_column(BigInteger)
    inode: Mapped[int] = mapped_column(BigInteger)
    fingerprint: Mapped[str] = mapped_column(String(64))
    start_offset: Mapped[int] = mapped_column(BigInteger, default=0)
    end_offset: Mapped[int] = mapped_column(BigInteger, default=0)
    lines_read: Mapped[int] = mapped_column(BigInteger, default=0)
    parsed: Mapped[int] = mapped_column(BigInteger, default=0)
    ignored: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    decode_errors: Mapped[int] = mapped_column(BigInteger, default=0)
    reasons: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_event: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)
    last_event: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    """running, completed, unchanged or failed."""
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[dt.datetime] = mapped_column(TS)
    ended_at: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)


class Checkpoint(Base):
    """How far a log stream has been read. Written in the same transaction as
    the usage it produced, so a crash neither loses nor double-counts."""

    __tablename__ = "checkpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    fp_len: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)
    inode: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger)
    """Bytes of the decompressed stream consumed."""
    line: Mapped[int] = mapped_column(BigInteger)
    mid_line: Mapped[bool] = mapped_column(Boolean, default=False)
    format: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(TS)


class Quarantine(Base):
    """Samples of rejected lines, with the reason (all of them are counted in the run)."""

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("ingest_runs.id", ondelete="CASCADE"), index=True)
    line: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(TS)


USAGE_KEY = ("day", "host", "site", "population", "client", "user", "kind")
"""The primary key, day then host first: findings read a day range joined on host."""
USAGE_SUMS = ("events", "blocked", "bytes_in", "bytes_out", "uploads")
USAGE_COLUMNS = (*USAGE_KEY, *USAGE_SUMS, "first_seen", "last_seen")


class UsageRow(NamedTuple):
    """One aggregate as the pipeline hands it to `Store.upsert_usage`."""

    day: dt.date
    host: str
    site: str
    population: str
    client: str
    user: str
    kind: str
    events: int
    blocked: int
    bytes_in: int
    bytes_out: int
    uploads: int
    first_seen: float
    """POSIX seconds."""
    last_seen: float


class UsageDaily(Base):
    """Daily usage: one row per day × host × site × population × client × user × kind.

    A clustered table on SQLite (``WITHOUT ROWID``): the key is the only index,
    and rows written in key order append to it.
    """

    __tablename__ = "usage_daily"
    __table_args__ = ({"sqlite_with_rowid": False},)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    site: Mapped[str] = mapped_column(String(128), primary_key=True)
    population: Mapped[str] = mapped_column(String(16), primary_key=True)
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Pseudonym (or the address, or '' by the population's identity policy)."""
    user: Mapped[str] = mapped_column(String(256), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    blocked: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_in: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_out: Mapped[int] = mapped_column(BigInteger, default=0)
    uploads: Mapped[int] = mapped_column(BigInteger, default=0)
    first_seen: Mapped[dt.datetime] = mapped_column(TS)
    last_seen: Mapped[dt.datetime] = mapped_column(TS)


class UrlSample(Base):
    """Full URLs, query strings stripped; only written when privacy.store_urls is on."""

    __tablename__ = "url_samples"
    __table_args__ = (UniqueConstraint("day", "host", "url", name="uq_url_samples_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date)
    host: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[int] = mapped_column(BigInteger, default=0)


class Finding(Base):
    """One problem per rule and subject (a product, or a domain)."""

    __tablename__ = "findings"
    __table_args__ = (UniqueConstraint("rule", "subject", name="uq_findings_rule_subject"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(32), default="open")
    explanation: Mapped[str] = mapped_column(Text)
    product: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """Catalog status of the subject when last evaluated."""
    hosts: Mapped[list[Any]] = mapped_column(default=list)
    clients: Mapped[int] = mapped_column(Integer, default=0)
    students: Mapped[int] = mapped_column(Integer, default=0)
    staff: Mapped[int] = mapped_column(Integer, default=0)
    sites: Mapped[list[Any]] = mapped_column(default=list)
    populations: Mapped[list[Any]] = mapped_column(default=list)
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    first_seen: Mapped[dt.datetime] = mapped_column(TS)
    last_seen: Mapped[dt.datetime] = mapped_column(TS)
    created_at: Mapped[dt.datetime] = mapped_column(TS)
    updated_at: Mapped[dt.datetime] = mapped_column(TS)
    tier: Mapped[str] = mapped_column(String(32), default="dns")
    """Strongest evidence of use (`sentinel.findings.TIERS`): dns, web, upload,
    sso, oauth or oauth_high."""
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """How the severity was reached (score parts, reach, contract, scopes...)."""
    resolution: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """When resolved: approved, blocked, removed, false_positive or cleared."""
    resolved_at: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)
    suppressed_until: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)
    state_changed_at: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)
    state_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    """The reason given with the last transition (all of them: `FindingTransition`)."""


class SsoApp(Base):
    """An app seen in SSO or OAuth logs, keyed as its usage host is
    (``sso:<app key>``): the app id, or ``name:<name>`` when a log has none."""

    __tablename__ = "sso_apps"
    app_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    app_id: Mapped[str] = mapped_column(String(255), default="")
    app_name: Mapped[str] = mapped_column(String(255), default="")
    source: Mapped[str] = mapped_column(String(64), default="")
    """The format it was last seen in (gws_token, entra_audit, okta...)."""
    first_seen: Mapped[dt.datetime] = mapped_column(TS)
    last_seen: Mapped[dt.datetime] = mapped_column(TS)


class SsoGrant(Base):
    """An OAuth grant of one account to one app: its scopes while active.

    Kept as state, not per day: a revocation at or after the last grant
    closes it; a later grant opens it again with the new scopes.
    """

    __tablename__ = "sso_grants"
    app_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    user: Mapped[str] = mapped_column(String(256), primary_key=True)
    """Pseudonym (or the name, or '' by the population's identity policy)."""
    site: Mapped[str] = mapped_column(String(128))
    population: Mapped[str] = mapped_column(String(16))
    client: Mapped[str] = mapped_column(String(64), default="")
    scopes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Live scope -> when last granted (POSIX seconds): the scopes granted after
    the last revocation (capped)."""
    grants: Mapped[int] = mapped_column(Integer, default=0)
    revokes: Mapped[int] = mapped_column(Integer, default=0)
    first_granted: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)
    last_granted: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)
    last_revoked: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class HostClass(Base):
    """How each host seen in usage classified at the last evaluation (derived)."""

    __tablename__ = "host_class"
    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    match_kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255))
    category: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(255))


class AuditRecord(Base):
    """One link of the tamper-evident audit chain (`sentinel.audit`).

    Append-only: no code path updates or deletes a row, and triggers created by
    migration 0002 reject UPDATE and DELETE (and TRUNCATE on PostgreSQL).
    """

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    """1, 2, 3... with no gap: the head's seq plus one, under the chain lock."""
    at: Mapped[dt.datetime] = mapped_column(TS, index=True)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    """Canonical JSON text (sorted keys, no whitespace, ASCII only, no NaN)."""
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 (hex) of the canonical JSON of every other field and ``prev_hash``."""


class FindingTransition(Base):
    """One change of a finding's state: who, when, why (`sentinel.lifecycle`).

    Written with the ``finding.transition`` audit record in the same
    transaction; ``audit_seq`` points at it. ``from_state`` is None when the
    finding was raised.
    """

    __tablename__ = "finding_transitions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(TS)
    actor: Mapped[str] = mapped_column(String(255))
    from_state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_state: Mapped[str] = mapped_column(String(32))
    resolution: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    suppressed_until: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class CatalogProduct(Base):
    """A product of the district catalog (`sentinel.catalog_store`).

    ``data`` is the product as canonical JSON of its ``catalog.io`` YAML form
    (sorted keys, dates as ISO text), so it reads back to an equal Product.
    """

    __tablename__ = "catalog_products"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    """Catalog order: new products go to the end."""
    data: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(TS)
    updated_by: Mapped[str] = mapped_column(String(255))


class CatalogChange(Base):
    """One change of the catalog: who, when, why, before and after.

    Written with its ``catalog.change`` audit record in the same transaction;
    ``audit_seq`` points at it. kind: import, create, update, set-status, label
    or delete. ``product_id`` is None for a noise label; ``domain`` is the rule a
    label added. ``before``/``after`` are canonical JSON (None: did not exist).
    """

    __tablename__ = "catalog_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(TS)
    actor: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    product_id: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    domain: Mapped[str | None] = mapped_column(String(255), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    before: Mapped[str | None] = mapped_column(Text, nullable=True)
    after: Mapped[str | None] = mapped_column(Text, nullable=True)
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class CatalogNoise(Base):
    """A district noise label from triage: a domain rule and its category."""

    __tablename__ = "catalog_noise"
    rule: Mapped[str] = mapped_column(String(255), primary_key=True)
    """Canonical domain rule text (``catalog.model.parse_domain_rule``)."""
    category: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(TS)


class CatalogImport(Base):
    """One import of a catalog file: its path and content hash (the start-up
    import of ``[catalog] path`` runs again only when the hash changes)."""

    __tablename__ = "catalog_imports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(TS)
    actor: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    mapping: Mapped[str] = mapped_column(String(32))
    replace: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    audit_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class PollCheckpoint(Base):
    """How far an API source has been polled (``sentinel poll google``), per
    application. Written in the same transaction as the usage and grants each
    page produced, so a crash neither loses nor double-counts an activity."""

    __tablename__ = "poll_checkpoints"
    __table_args__ = (UniqueConstraint("source", "application"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(255))
    """``google:<customer id>``."""
    application: Mapped[str] = mapped_column(String(64))
    last_time: Mapped[dt.datetime | None] = mapped_column(TS, nullable=True)
    """Every activity up to this time is in the store (None: never completed)."""
    last_ids: Mapped[list[Any]] = mapped_column(default=list)
    """The ``id.uniqueQualifier`` of the activities at exactly ``last_time`` taken."""
    pending: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    """The range of a poll not yet completed and how far down it got (the API
    lists newest first); None between polls. See `sentinel.google_poll.Window`."""
    updated_at: Mapped[dt.datetime] = mapped_column(TS)
