"""The store: SQLite (default, WAL) or PostgreSQL, migrated by Alembic on open."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, overload

from sqlalchemy import Connection, Engine, create_engine, delete, event, func, inspect, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from collectors.clock import flat_values, text_times
from sentinel.errors import StorageError
from sentinel.store.models import (
    USAGE_COLUMNS,
    USAGE_KEY,
    USAGE_SUMS,
    Base,
    Checkpoint,
    UsageDaily,
    UsageRow,
)

# Explicit (the implicit date adapter is deprecated from Python 3.12).
sqlite3.register_adapter(dt.date, dt.date.isoformat)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
UPSERT_BATCH = 5000


HEAD = "0006"
"""The newest migration's revision (a test holds it to Alembic's own head). A
database already there opens without importing Alembic, which costs a tenth
of a second on every command."""


def alembic_config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@overload
def aware(t: dt.datetime) -> dt.datetime: ...
@overload
def aware(t: None) -> None: ...
def aware(t: dt.datetime | None) -> dt.datetime | None:
    """A stored time as an aware UTC datetime: SQLite gives them back naive."""
    if t is not None and t.tzinfo is None:
        return t.replace(tzinfo=dt.UTC)
    return t


class Store:
    """Owns the engine. Open with `Store.open(url)`; migrations run then."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Store:
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            # Owner only: the database holds quarantined raw log lines (addresses,
            # user names) and the staging files of scan --jobs sit beside it.
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        try:
            engine = create_engine(url, future=True)
        except (SQLAlchemyError, ValueError) as exc:
            raise StorageError(f"bad database URL {url!r}: {exc}") from None
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine)
        if migrate:
            store.migrate()
        return store

    def migrate(self) -> None:
        try:
            with self.engine.begin() as conn:
                if self._revision(conn) == HEAD:
                    return
                from alembic import command

                command.upgrade(alembic_config(conn), "head")
        except OperationalError as exc:
            raise StorageError(f"cannot open the database: {exc.orig}") from None

    @staticmethod
    def _revision(conn: Connection) -> str | None:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with Session(self.engine, expire_on_commit=False) as s:
            try:
                yield s
                s.commit()
            except Exception:
                s.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def writer(self) -> Iterator[None]:
        """Hold the database's write side across processes (``scan --jobs``).

        SQLite has one writer; a second one waiting on its busy handler sleeps
        in steps of up to 100 ms. A lock file beside the database wakes the
        waiter the moment the writer is done. PostgreSQL takes concurrent
        writers: nothing to do.
        """
        if self.dialect != "sqlite" or not self.engine.url.database or \
                self.engine.url.database == ":memory:":
            yield
            return
        import fcntl

        with open(self.engine.url.database + ".writer", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- usage ---------------------------------------------------------------

    def upsert_usage(self, s: Session, rows: Sequence[UsageRow | tuple[Any, ...]]) -> None:
        """Add rows to the daily aggregates (batched; each key at most once per call).

        Rows are written in key order, which keeps index writes sequential.
        """
        if not rows:
            return
        rows = sorted(rows)
        if self.dialect == "sqlite":
            # Straight to the driver: SQLAlchemy's per-row bind processing
            # cost more than SQLite itself. The times go in the exact text
            # form SQLAlchemy's DateTime type reads back.
            raw: Any = s.connection().connection.driver_connection
            _insert_rows(raw, flat_values(rows, _USAGE_TIMES, 0), _sqlite_upsert)
            return
        table: Any = UsageDaily.__table__
        ins: Any = postgresql.insert(table)
        ex = ins.excluded
        set_ = {c: table.c[c] + ex[c] for c in USAGE_SUMS}
        set_["first_seen"] = func.least(table.c.first_seen, ex.first_seen)
        set_["last_seen"] = func.greatest(table.c.last_seen, ex.last_seen)
        stmt = ins.on_conflict_do_update(index_elements=list(USAGE_KEY), set_=set_)
        utc = dt.UTC
        for i in range(0, len(rows), UPSERT_BATCH):
            s.execute(stmt, [
                {**dict(zip(USAGE_COLUMNS, r, strict=True)),
                 "first_seen": dt.datetime.fromtimestamp(r[12], utc),
                 "last_seen": dt.datetime.fromtimestamp(r[13], utc)}
                for r in rows[i : i + UPSERT_BATCH]])

    # -- SSO grants ----------------------------------------------------------

    def read_grants(self, s: Session, keys: Sequence[tuple[str, str]]) -> list[tuple[Any, ...]]:
        """Stored grants of ``keys`` ((app key, user) pairs) as tuples in
        `GrantRow` order with POSIX-second times (None where unset)."""
        out: list[tuple[Any, ...]] = []
        if self.dialect == "sqlite":
            con = s.connection()
            for i in range(0, len(keys), 400):
                chunk = keys[i:i + 400]
                flat = [v for k in chunk for v in k]
                vals = ", ".join(["(?, ?)"] * len(chunk))
                # A join from the key list, so each key is one primary-key lookup
                # (a row-value IN list is a table scan here).
                out.extend(con.exec_driver_sql(
                    f"SELECT g.app_key, g.user, site, population, client, scopes, grants, "
                    f"revokes, {_sqlite_posix('first_granted')}, {_sqlite_posix('last_granted')}, "
                    f"{_sqlite_posix('last_revoked')} FROM (VALUES {vals}) AS k "
                    f"CROSS JOIN sso_grants AS g ON g.app_key = k.column1 AND g.user = k.column2",
                    tuple(flat)))
            return [(*r[:5], _json_dict(r[5]), *r[6:]) for r in out]
        from sqlalchemy import tuple_

        from sentinel.store.models import SsoGrant
        t: Any = SsoGrant.__table__
        for i in range(0, len(keys), 400):
            for r in s.execute(select(t.c.app_key, t.c.user, t.c.site, t.c.population,
                                      t.c.client, t.c.scopes, t.c.grants, t.c.revokes,
                                      t.c.first_granted, t.c.last_granted, t.c.last_revoked)
                               .where(tuple_(t.c.app_key, t.c.user).in_(keys[i:i + 400]))):
                out.append((*r[:5], dict(r[5] or {}), r[6], r[7],
                            *(None if x is None else aware(x).timestamp() for x in r[8:])))
        return out

    def write_grants(self, s: Session, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert or replace whole grants: tuples in `GrantRow` order (times in
        POSIX seconds), followed by ``active``."""
        if not rows:
            return
        if self.dialect == "sqlite":
            import orjson
            sort = orjson.OPT_SORT_KEYS
            s.connection().exec_driver_sql(_SQLITE_GRANTS, text_times([
                (*r[:5], orjson.dumps(r[5], option=sort).decode(), *r[6:]) for r in rows],
                (8, 9, 10)))
            return
        from sentinel.store.models import SsoGrant
        t: Any = SsoGrant.__table__
        cols = ("app_key", "user", "site", "population", "client", "scopes", "grants",
                "revokes", "first_granted", "last_granted", "last_revoked", "active")
        ins: Any = postgresql.insert(t)
        stmt = ins.on_conflict_do_update(
            index_elements=["app_key", "user"],
            set_={c: ins.excluded[c] for c in cols[2:]})
        utc = dt.UTC
        for i in range(0, len(rows), UPSERT_BATCH):
            s.execute(stmt, [
                {**dict(zip(cols, r, strict=True)),
                 **{c: None if r[k] is None else dt.datetime.fromtimestamp(r[k], utc)
                    for k, c in ((8, "first_granted"), (9, "last_granted"),
                                 (10, "last_revoked"))}}
                for r in rows[i:i + UPSERT_BATCH]])

    @property
    def stages(self) -> bool:
        """Can worker processes hand rows over as staging files (`stage_usage`)?"""
        return self.dialect == "sqlite" and bool(self.engine.url.database) and \
            self.engine.url.database != ":memory:"

    def stage_path(self, tag: str) -> Path:
        """A staging file of this process (``tag`` starts with its pid)."""
        assert self.engine.url.database
        return Path(self.engine.url.database + f".stage-{tag}")

    def clear_stale_stages(self) -> int:
        """Remove staging files left by scans that died before merging them
        (their process is gone); another scan's live files are left alone."""
        if not self.stages:
            return 0
        assert self.engine.url.database
        db = Path(self.engine.url.database)
        removed = 0
        for f in db.parent.glob(db.name + ".stage-*"):
            pid = f.name.rsplit(".stage-", 1)[1].split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                f.unlink(missing_ok=True)
                removed += 1
        return removed

    @staticmethod
    def stage_usage(path: Path, rows: Sequence[UsageRow | tuple[Any, ...]]) -> Path:
        """Write rows to a throw-away SQLite file (no index, no journal): what a
        reader process does, in parallel, so the one writer only merges.

        The rows go in key order (sorted here, in the reader), and the merge
        reads them back in that order: the writer then sorts nothing and writes
        the primary key's pages in sequence."""
        rows = sorted(rows)
        path.unlink(missing_ok=True)
        con = sqlite3.connect(path)
        try:
            con.execute("PRAGMA journal_mode=OFF")
            con.execute("PRAGMA synchronous=OFF")
            con.execute(f"CREATE TABLE stage ({', '.join(USAGE_COLUMNS)})")
            _insert_rows(con, flat_values(rows, _USAGE_TIMES, 0),
                         lambda n: f"INSERT INTO stage VALUES {_values(n)}")
            con.commit()
        finally:
            con.close()
        return path

    def upsert_staged(self, s: Session, path: Path) -> None:
        """`upsert_usage` of the rows in a staging file, by one INSERT ... SELECT.

        Must be the first statement of the session's transaction (SQLite cannot
        ATTACH inside one); the file is detached by `drop_stage` after commit.
        """
        raw: Any = s.connection().connection.driver_connection
        raw.execute("ATTACH DATABASE ? AS stage", (str(path),))
        s.connection().exec_driver_sql(_SQLITE_MERGE)

    def drop_stage(self, s: Session, path: Path) -> None:
        raw: Any = s.connection().connection.driver_connection
        raw.execute("DETACH DATABASE stage")
        path.unlink(missing_ok=True)

    def purge_usage(self, s: Session, before: dt.date) -> int:
        res = s.execute(delete(UsageDaily).where(UsageDaily.day < before))
        return int(res.rowcount or 0)  # type: ignore[attr-defined]

    # -- checkpoints -----------------------------------------------------------

    def find_checkpoint(self, s: Session, fingerprint: str, fp_len: int,
                        prefix_hash: Any) -> Checkpoint | None:
        """The checkpoint of this stream, if any.

        A full-length fingerprint identifies a stream wherever it moved (rotation,
        gzip). A file that was shorter than the fingerprint when last read is
        matched by the hash of the same prefix now.
        """
        got = s.scalars(select(Checkpoint).where(
            Checkpoint.fingerprint == fingerprint, Checkpoint.fp_len == fp_len)).first()
        if got is not None:
            return got
        for cp in s.scalars(select(Checkpoint).where(Checkpoint.fp_len < fp_len)):
            if prefix_hash(cp.fp_len) == cp.fingerprint:
                return cp
        return None


def _sqlite_posix(col: str) -> str:
    """SQL reading SQLAlchemy's SQLite DateTime text back as POSIX seconds."""
    return f"(CAST(strftime('%s', {col}) AS INTEGER) + CAST(substr({col}, 20) AS REAL))"


def _json_dict(v: Any) -> dict[str, Any]:
    import orjson
    if isinstance(v, str):
        got = orjson.loads(v)
        return got if isinstance(got, dict) else {}
    return dict(v or {})


_SQLITE_GRANTS = (
    "INSERT INTO sso_grants (app_key, user, site, population, client, scopes, grants, revokes,"
    " first_granted, last_granted, last_revoked, active) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
    "?9, ?10, ?11, ?12)"
    " ON CONFLICT (app_key, user) DO UPDATE SET site = excluded.site,"
    " population = excluded.population, client = excluded.client, scopes = excluded.scopes,"
    " grants = excluded.grants, revokes = excluded.revokes,"
    " first_granted = excluded.first_granted, last_granted = excluded.last_granted,"
    " last_revoked = excluded.last_revoked, active = excluded.active")


_N = len(USAGE_COLUMNS)
_USAGE_TIMES = (_N - 2, _N - 1)
"""Positions of first_seen and last_seen in a usage row (POSIX seconds until written)."""
_BATCH_ROWS = 500
"""Usage rows per SQLite INSERT: 7,000 parameters, under SQLite's limit of 32,766."""


def _values(rows: int) -> str:
    """``(?, ?, ...), (...)``: the placeholders of ``rows`` usage rows."""
    one = f"({', '.join('?' * _N)})"
    return ", ".join([one] * rows)


def _sqlite_upsert(rows: int) -> str:
    return (f"INSERT INTO usage_daily ({', '.join(USAGE_COLUMNS)}) VALUES {_values(rows)}"
            f" ON CONFLICT ({', '.join(USAGE_KEY)}) DO UPDATE SET "
            + ", ".join(f"{c} = {c} + excluded.{c}" for c in USAGE_SUMS)
            + ", first_seen = min(first_seen, excluded.first_seen),"
            " last_seen = max(last_seen, excluded.last_seen)")


def _insert_rows(con: sqlite3.Connection, flat: list[Any], sql: Any) -> None:
    """Usage rows (`flat_values`) through ``sql(n)``, an INSERT of n rows:
    `_BATCH_ROWS` to a statement, then the rest. Many rows per statement, from
    one flat list of text and numbers (no per-row step, no date adapter), cost a
    third less than one row a statement."""
    step = _BATCH_ROWS * _N
    full = len(flat) - len(flat) % step
    if full:
        con.executemany(sql(_BATCH_ROWS), (flat[i:i + step] for i in range(0, full, step)))
    if len(flat) > full:
        con.execute(sql((len(flat) - full) // _N), flat[full:])


_SQLITE_MERGE = (
    f"INSERT INTO usage_daily ({', '.join(USAGE_COLUMNS)}) SELECT "
    + ", ".join(USAGE_COLUMNS)
    # In the staging table's row order, which is key order (`Store.stage_usage`).
    # (WHERE true: SQLite's parser needs it before ON CONFLICT.)
    + " FROM stage.stage WHERE true"
    f" ON CONFLICT ({', '.join(USAGE_KEY)}) DO UPDATE SET "
    + ", ".join(f"{c} = {c} + excluded.{c}" for c in USAGE_SUMS)
    + ", first_seen = min(first_seen, excluded.first_seen),"
    " last_seen = max(last_seen, excluded.last_seen)")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # 16 KiB pages (takes effect when the database is created): usage rows have
    # long text keys, and bigger pages cut the B-tree work of each upsert by a fifth.
    cur.execute("PRAGMA page_size=16384")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # Helper threads for large sorts (the findings' GROUP BY over a week of
    # usage): a fifth faster on two cores.
    cur.execute(f"PRAGMA threads={min(4, os.cpu_count() or 1)}")
    cur.close()


__all__ = ["Base", "StorageError", "Store"]
