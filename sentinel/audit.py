"""The tamper-evident audit chain.

Each record holds the SHA-256 of its canonical form, and that form includes the
hash of the record before it (``prev_hash``; record 1 links to 64 zeros). So
editing, deleting, inserting or reordering a record breaks the chain at that
record, and `verify` names it. Cutting records off the end (truncation) leaves
a shorter chain that is intact by itself: it is caught against a chain-head
checkpoint kept elsewhere (`head`; the weekly report and the evidence bundle
carry one). Anyone who can write the table can also rewrite the whole chain
past the newest checkpoint they did not see: the checkpoints are the anchor.

Writers call `append` in the transaction of the change it records. It takes the
chain lock before it reads the head, so two writers (the service and a CLI
command) never both extend the same record:

- PostgreSQL: a transaction-scoped advisory lock (``pg_advisory_xact_lock``),
  let go at commit or rollback. Under READ COMMITTED the head read after it
  sees the record the previous holder committed.
- SQLite: the database's single write lock. pysqlite opens a transaction only
  before the first INSERT, UPDATE or DELETE, and a SELECT before that runs
  outside any transaction. So when the connection has no transaction open,
  `append` opens one with BEGIN IMMEDIATE (waiting up to the busy timeout); when
  it has one, a write was made in it, and that write holds the lock (in WAL mode
  a writer's reads are also current).

``seq`` is the primary key as well: a writer that read a stale head anyway (a
REPEATABLE READ transaction on PostgreSQL, say) fails on insert; it cannot fork
the chain.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Connection, String, insert, select, text, type_coerce
from sqlalchemy.orm import Session

from sentinel.errors import SentinelError
from sentinel.store import Store
from sentinel.store.models import AuditRecord

if TYPE_CHECKING:
    from sentinel.pipeline import InputResult

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of record 1."""

ACTIONS = (
    "ingest.run",
    "catalog.change",
    "finding.transition",
    "report.generate",
    "evidence.export",
    "config.change",
    "identity.reveal",
)
"""What an audit record may record (a fixed vocabulary: a typo fails at once)."""

ADVISORY_LOCK_KEY = int.from_bytes(b"SNTAUDIT", "big")
"""PostgreSQL advisory lock key of the chain (database-wide)."""

MAX_ACTOR = 255
_HEX64 = re.compile(r"[0-9a-f]{64}")


class AuditError(SentinelError):
    """An audit record that cannot be written, or a malformed checkpoint."""


class ChainHead(NamedTuple):
    """The newest record of a chain: what a checkpoint pins. Written ``SEQ:HASH``."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


EMPTY_HEAD = ChainHead(0, GENESIS_HASH)


def parse_checkpoint(value: str) -> ChainHead:
    """``SEQ:HASH`` as printed by `head` (and embedded in reports and bundles)."""
    seq_text, sep, digest = value.strip().partition(":")
    if not sep or not seq_text.isascii() or not seq_text.isdigit() or len(seq_text) > 18:
        raise AuditError(f"checkpoint {value[:100]!r}: expected SEQ:HASH, SEQ a whole number")
    digest = digest.lower()
    if not _HEX64.fullmatch(digest):
        raise AuditError(f"checkpoint {value[:100]!r}: HASH must be 64 hexadecimal digits")
    seq = int(seq_text)
    if seq == 0 and digest != GENESIS_HASH:
        raise AuditError(f"checkpoint {value[:100]!r}: record 0 is the genesis, hash 64 zeros")
    return ChainHead(seq, digest)


# -- canonical form -------------------------------------------------------------


def canonical_time(at: dt.datetime) -> str:
    """ISO-8601 in UTC with microseconds: ``2026-11-29T10:00:00.000000Z``.
    A naive time is taken as UTC (SQLite gives the store's times back naive)."""
    u = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)
    return (f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:"
            f"{u.second:02d}.{u.microsecond:06d}Z")


def _json_default(value: object) -> str:
    if isinstance(value, dt.datetime):
        return canonical_time(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, ASCII only, no NaN or infinity; datetimes as
    `canonical_time`, dates as ISO. Raises TypeError or ValueError otherwise."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False, default=_json_default)


def record_hash(seq: int, at: str, actor: str, action: str, subject: str, payload: Any,
                prev_hash: str) -> str:
    """SHA-256 hex of the canonical JSON of the record (``payload`` as a JSON value)."""
    doc = canonical_json({"seq": seq, "at": at, "actor": actor, "action": action,
                          "subject": subject, "payload": payload, "prev_hash": prev_hash})
    return hashlib.sha256(doc.encode("ascii")).hexdigest()


# -- writing ----------------------------------------------------------------------


def default_actor() -> str:
    """``local:<login>`` for a command run on the server."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        import os
        user = f"uid{os.getuid()}"
    return f"local:{user}"[:MAX_ACTOR]


_TABLE: Any = AuditRecord.__table__
_INSERT = insert(_TABLE)


def append(target: Session | Connection, actor: str, action: str, subject: str,
           payload: Mapping[str, Any]) -> AuditRecord:
    """Add a record to the chain in ``target``'s transaction (commit is the caller's).

    Call it in the transaction of the change it records, so both are kept or
    neither. The chain stays locked for other writers until that transaction
    ends: keep it short.
    """
    if not isinstance(actor, str) or not actor or len(actor) > MAX_ACTOR:
        raise AuditError(f"audit actor {str(actor)[:100]!r}: must be 1 to {MAX_ACTOR} characters")
    if action not in ACTIONS:
        raise AuditError(f"unknown audit action {str(action)[:100]!r}; valid: {', '.join(ACTIONS)}")
    if not isinstance(subject, str):
        raise AuditError(f"audit subject of {action}: must be text, not {type(subject).__name__}")
    if not isinstance(payload, Mapping):
        raise AuditError(f"audit payload of {action}: must be a mapping, not {type(payload).__name__}")
    try:
        # Through the text and back: what verify will parse, keys as strings.
        value = json.loads(canonical_json(dict(payload)))
        payload_text = canonical_json(value)
    except (TypeError, ValueError) as exc:
        raise AuditError(f"audit payload of {action} on {subject[:100]!r}: {exc}") from None

    conn = target.connection() if isinstance(target, Session) else target
    # The head is read once per transaction: the chain stays locked until the
    # transaction ends, so only this transaction's own appends move it.
    tx = conn.get_transaction()
    cached = conn.info.get("audit_head")
    if cached is not None and tx is not None and cached[0] is tx:
        seq, prev_hash = cached[1] + 1, cached[2]
    else:
        _lock_chain(conn)
        tx = conn.get_transaction()
        row = conn.execute(select(AuditRecord.seq, AuditRecord.hash)
                           .order_by(AuditRecord.seq.desc()).limit(1)).first()
        seq, prev_hash = (int(row[0]) + 1, str(row[1])) if row is not None else (1, GENESIS_HASH)
    at = dt.datetime.now(dt.UTC)  # under the lock: times rise along the chain
    digest = record_hash(seq, canonical_time(at), actor, action, subject, value, prev_hash)
    fields = {"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject,
              "payload": payload_text, "prev_hash": prev_hash, "hash": digest}
    # A Core insert with its values as parameters: one compiled statement for
    # every record (an ORM insert with .values() is compiled each time, which
    # cost more than the write when an evaluation records a thousand moves).
    conn.execute(_INSERT, fields)
    conn.info["audit_head"] = (tx, seq, digest)
    return AuditRecord(**fields)


def record_ingest(store: Store, inputs: Sequence[InputResult], actor: str | None = None,
                  ) -> AuditRecord:
    """The ``ingest.run`` record of one scan: each input with its format, line
    counts and ingest run id. (The ingest commits as it goes; this follows it.)"""
    payload = {
        "inputs": [{"path": i.path, "format": i.format, "status": i.status, "run_id": i.run_id,
                    "lines_read": i.stats.read, "parsed": i.stats.parsed,
                    "ignored": i.stats.ignored, "rejected": i.stats.rejected,
                    "decode_errors": i.stats.decode_errors,
                    "start_offset": i.start_offset, "end_offset": i.end_offset}
                   for i in inputs],
        "run_ids": [i.run_id for i in inputs if i.run_id is not None],
        "lines_read": sum(i.stats.read for i in inputs),
        "parsed": sum(i.stats.parsed for i in inputs),
        "rejected": sum(i.stats.rejected for i in inputs),
    }
    with store.session() as s:
        subject = f"scan of {len(inputs)} input{'' if len(inputs) == 1 else 's'}"
        return append(s, actor or default_actor(), "ingest.run", subject, payload)


def record_failed_ingest(store: Store, paths: Sequence[Any], exc: BaseException,
                         actor: str | None = None) -> AuditRecord | None:
    """The ``ingest.run`` record of a scan that failed: what it was given and
    why it stopped (what it committed before is in ``ingest_runs``). Never
    raises: the scan's own error is what the caller reports."""
    try:
        with store.session() as s:
            return append(s, actor or default_actor(), "ingest.run", "failed scan", {
                "status": "failed", "paths": [str(p) for p in paths][:1000],
                "error": f"{type(exc).__name__}: {exc}"[:2000]})
    except Exception:  # the store itself may be what failed
        return None


def _flat(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: node}


def _mask_url(url: Any) -> Any:
    """A database URL without its password."""
    if isinstance(url, str) and "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        if ":" in cred:
            return f"{scheme}://{cred.split(':', 1)[0]}:***@{host}"
    return url


def record_config(store: Store, settings: Any, actor: str | None = None) -> AuditRecord | None:
    """A ``config.change`` record when the effective settings differ from those
    of the last one (the first start records them all): the keys that changed,
    with old and new values (database passwords masked)."""
    snap = _flat(json.loads(settings.model_dump_json(exclude={"config_file"})))
    if "storage.database_url" in snap:
        snap["storage.database_url"] = _mask_url(snap["storage.database_url"])
    with store.session() as s:
        _lock_chain(s.connection())
        last = s.scalars(select(AuditRecord).where(AuditRecord.action == "config.change")
                         .order_by(AuditRecord.seq.desc()).limit(1)).first()
        before: dict[str, Any] = {}
        if last is not None:
            before = dict(json.loads(last.payload).get("settings") or {})
        changed = sorted(k for k in snap.keys() | before.keys() if snap.get(k) != before.get(k))
        if last is not None and not changed:
            return None
        file = str(settings.config_file) if settings.config_file else None
        return append(s, actor or default_actor(), "config.change", file or "settings", {
            "file": file, "changed": {k: [before.get(k), snap.get(k)] for k in changed},
            "settings": snap})


def _lock_chain(conn: Connection) -> None:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    elif dialect == "sqlite":
        raw: Any = conn.connection.driver_connection
        if not raw.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:  # pragma: no cover (Store opens SQLite and PostgreSQL only)
        raise AuditError(f"the audit chain has no lock for {dialect}")


# -- reading ----------------------------------------------------------------------


def head(store: Store) -> ChainHead:
    """The newest record's (seq, hash): the checkpoint to embed in a report or bundle.
    (0, 64 zeros) for an empty chain."""
    with store.engine.connect() as conn:
        row = conn.execute(select(AuditRecord.seq, AuditRecord.hash)
                           .order_by(AuditRecord.seq.desc()).limit(1)).first()
    return ChainHead(int(row[0]), str(row[1])) if row is not None else EMPTY_HEAD


def _rows(conn: Connection, *, newest: int | None = None,
          action: str | None = None) -> Iterator[dict[str, Any]]:
    """Raw records in seq order. On SQLite ``at`` is read as its text: a value
    an attacker wrote there must show up in `verify`, not crash the read."""
    sqlite = conn.dialect.name == "sqlite"
    at_col: Any = type_coerce(AuditRecord.at, String) if sqlite else AuditRecord.at
    cols = (AuditRecord.seq, at_col, AuditRecord.actor, AuditRecord.action, AuditRecord.subject,
            AuditRecord.payload, AuditRecord.prev_hash, AuditRecord.hash)
    names = ("seq", "at", "actor", "action", "subject", "payload", "prev_hash", "hash")
    stmt = select(*cols)
    if action is not None:
        stmt = stmt.where(AuditRecord.action == action)
    if newest is not None:
        stmt = select(*stmt.order_by(AuditRecord.seq.desc()).limit(newest).subquery().c)
        stmt = stmt.order_by(stmt.selected_columns[0])
    else:
        stmt = stmt.order_by(AuditRecord.seq)
    for row in conn.execution_options(yield_per=2000).execute(stmt):
        rec = dict(zip(names, row, strict=True))
        if sqlite and isinstance(rec["at"], str):
            with contextlib.suppress(ValueError):  # else left as text: it fails the hash
                rec["at"] = dt.datetime.fromisoformat(rec["at"])
        yield rec


def export_record(rec: AuditRecord | Mapping[str, Any]) -> dict[str, Any]:
    """A record as JSON (evidence bundles, ``audit log --json``): ``at`` in its
    canonical text, the payload as a JSON value. `verify_records` takes it back."""
    out = {k: _field(rec, k) for k in ("seq", "at", "actor", "action", "subject", "payload",
                               "prev_hash", "hash")}
    if isinstance(out["at"], dt.datetime):
        out["at"] = canonical_time(out["at"])
    if isinstance(out["payload"], str):
        with contextlib.suppress(ValueError):  # else tampered text stays text (and fails)
            out["payload"] = json.loads(out["payload"])
    return out


def records(store: Store, *, limit: int | None = None,
            action: str | None = None) -> list[dict[str, Any]]:
    """The newest ``limit`` records (of ``action``), oldest first, in `export_record` form."""
    with store.engine.connect() as conn:
        return [export_record(r) for r in _rows(conn, newest=limit, action=action)]


# -- verification -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of walking a chain.

    ``records`` counts every record read (also those after the first bad one);
    ``head_seq``/``head_hash`` are the last one's. ``first_bad_seq`` is the
    first seq where the chain does not hold (a missing record's own seq for a
    deletion, the inserted record's for an insertion, one past the end for a
    truncation); ``problem`` says what was found there.
    """

    ok: bool
    records: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None

    @property
    def head(self) -> ChainHead:
        return ChainHead(self.head_seq, self.head_hash)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def verify(store: Store, checkpoint: ChainHead | tuple[int, str] | None = None) -> VerifyResult:
    """Walk the stored chain from record 1, checked against ``checkpoint`` if given."""
    with store.engine.connect() as conn:
        return verify_records(_rows(conn), checkpoint)


class _Bad(Exception):
    def __init__(self, seq: int | None, problem: str) -> None:
        self.seq, self.problem = seq, problem


def verify_records(items: Iterable[AuditRecord | Mapping[str, Any]],
                   checkpoint: ChainHead | tuple[int, str] | None = None, *,
                   segment: bool = False) -> VerifyResult:
    """Walk records in the order given (an exported list, or the store's rows).

    A whole chain starts at record 1 linked to the genesis hash. With
    ``segment`` the first record may be any seq and its ``prev_hash`` is taken
    on trust (a period cut from a chain; anchor it with the checkpoint). A
    ``checkpoint`` (seq, hash) must be among the records or before the first
    one is read for a whole chain: past the last record means truncation.
    """
    cp = _checkpoint(checkpoint)
    count = 0
    last_seq, last_hash = 0, GENESIS_HASH
    prev_prev: str | None = None
    first_seq: int | None = None
    bad: _Bad | None = None
    for item in items:
        count += 1
        if bad is not None:  # keep counting, for the head
            last_seq, last_hash = _loose_head(item, last_seq, last_hash)
            continue
        try:
            seq, digest, linked = _check(item, last_seq, last_hash, prev_prev,
                                         segment and count == 1)
            if cp is not None and seq == cp.seq and digest != cp.hash:
                raise _Bad(seq, f"record {seq} does not match the checkpoint {cp}: "
                                "the chain was rewritten up to here")
        except _Bad as exc:
            bad = exc
            last_seq, last_hash = _loose_head(item, last_seq, last_hash)
            continue
        if first_seq is None:
            first_seq = seq
        prev_prev, last_seq, last_hash = linked, seq, digest
    if bad is None and cp is not None:
        if cp.seq > last_seq:
            gone = f"record {cp.seq}" if cp.seq == last_seq + 1 else \
                f"records {last_seq + 1}–{cp.seq}"
            bad = _Bad(last_seq + 1, f"the chain ends at record {last_seq} but the checkpoint "
                                     f"{cp} names record {cp.seq}: {gone} removed (truncated)")
        elif first_seq is not None and 0 < cp.seq < first_seq:
            bad = _Bad(None, f"the checkpoint {cp} precedes record {first_seq}, the first "
                             "one given: it cannot be checked")
    if bad is None:
        return VerifyResult(True, count, last_seq, last_hash)
    return VerifyResult(False, count, last_seq, last_hash, bad.seq, bad.problem)


def _checkpoint(value: ChainHead | tuple[int, str] | None) -> ChainHead | None:
    if value is None:
        return None
    seq, digest = value
    return parse_checkpoint(f"{seq}:{digest}")


def _loose_head(item: object, seq: int, digest: str) -> tuple[int, str]:
    """The seq and hash of a record that failed, as far as they can be read."""
    s, h = _field(item, "seq"), _field(item, "hash")
    if isinstance(s, int) and not isinstance(s, bool) and isinstance(h, str):
        return s, h
    return seq, digest


def _field(item: object, key: str) -> Any:
    return item.get(key) if isinstance(item, Mapping) else getattr(item, key, None)


_TEXT = ("actor", "action", "subject", "prev_hash", "hash")


def _check(item: object, prev_seq: int, prev_hash: str, prev_prev: str | None,
           anchor: bool) -> tuple[int, str, str]:
    """Check one record against the one before it; (seq, hash, prev_hash) or _Bad."""
    expected = prev_seq + 1
    if isinstance(item, AuditRecord):
        rec: dict[str, Any] = {k: getattr(item, k) for k in ("seq", "at", "payload", *_TEXT)}
    elif isinstance(item, Mapping):
        rec = dict(item)
    else:
        raise _Bad(expected, f"record {expected}: not a record but {type(item).__name__}")
    seq = rec.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise _Bad(expected, f"record {expected}: no valid seq ({str(seq)[:40]!r})")
    if anchor:
        expected = seq
        link = rec.get("prev_hash")
        prev_hash = link if isinstance(link, str) else ""
    if seq > expected:
        where = f"the chain starts at record {seq}" if prev_seq == 0 else \
            f"record {seq} follows record {prev_seq}"
        raise _Bad(expected, f"record {expected} is missing: {where} (deleted, or out of order)")
    if seq < expected:
        if seq == prev_seq and prev_prev is not None and rec.get("prev_hash") == prev_prev \
                and rec.get("hash") != prev_hash:  # (not a plain copy of the record before)
            raise _Bad(prev_seq, f"record {prev_seq} was inserted: a second record {seq} "
                                 "follows it, linked to the record before it")
        raise _Bad(expected, f"record {expected} is out of place: after record {prev_seq} "
                             f"comes record {seq} again (reordered or duplicated)")
    for key in _TEXT:
        if not isinstance(rec.get(key), str):
            raise _Bad(seq, f"record {seq}: {key} is missing or not text")
    if rec["prev_hash"] != prev_hash:
        if prev_prev is not None and rec["prev_hash"] == prev_prev:
            past = "the genesis" if prev_seq == 1 else f"record {prev_seq - 1}"
            raise _Bad(prev_seq, f"record {prev_seq} was inserted: record {seq} links past it "
                                 f"to {past}")
        before = "the genesis hash" if prev_seq == 0 else f"the hash of record {prev_seq}"
        raise _Bad(seq, f"record {seq} does not link to the one before it: its prev_hash is not "
                        f"{before} (deleted, reordered or rehashed)")
    at = rec.get("at")
    if isinstance(at, dt.datetime):
        at = canonical_time(at)
    if not isinstance(at, str):
        raise _Bad(seq, f"record {seq}: at is missing or not a time")
    payload = rec.get("payload")
    try:
        if isinstance(payload, str):  # stored text: must be the canonical text of its value
            value = json.loads(payload)
            if canonical_json(value) != payload:
                raise ValueError("not in canonical form")
        else:
            value = payload
            canonical_json(value)
    except (ValueError, TypeError, RecursionError) as exc:
        raise _Bad(seq, f"record {seq} was altered: its payload is not canonical JSON "
                        f"({str(exc)[:80]})") from None
    digest = record_hash(seq, at, rec["actor"], rec["action"], rec["subject"], value,
                         rec["prev_hash"])
    if digest != rec["hash"]:
        raise _Bad(seq, f"record {seq} was altered: its hash does not match its content")
    return seq, digest, rec["prev_hash"]


__all__ = [
    "ACTIONS",
    "EMPTY_HEAD",
    "GENESIS_HASH",
    "AuditError",
    "ChainHead",
    "VerifyResult",
    "append",
    "canonical_json",
    "canonical_time",
    "default_actor",
    "export_record",
    "head",
    "parse_checkpoint",
    "record_hash",
    "record_ingest",
    "records",
    "verify",
    "verify_records",
]
