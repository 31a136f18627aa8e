from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from sentinel.store import Store
from sentinel.store.models import UsageDaily, UsageRow

T = dt.datetime(2026, 11, 29, 10, tzinfo=dt.UTC)


def row(**kw: object) -> UsageRow:
    base: dict[str, object] = {
        "day": dt.date(2026, 11, 29), "site": "High", "population": "students", "client": "c_1",
        "user": "", "host": "a.example", "kind": "dns", "events": 1, "blocked": 0,
        "bytes_in": 0, "bytes_out": 0, "uploads": 0, "first_seen": T, "last_seen": T}
    base.update(kw)
    for k in ("first_seen", "last_seen"):
        base[k] = base[k].timestamp()  # type: ignore[attr-defined]
    return UsageRow(**base)  # type: ignore[arg-type]


def test_migrations_create_the_schema(store: Store) -> None:
    names = set(inspect(store.engine).get_table_names())
    assert {"usage_daily", "checkpoints", "ingest_runs", "quarantine", "findings",
            "alembic_version"} <= names
    store.migrate()  # idempotent


def test_upsert_adds_counts_and_widens_the_time_range(store: Store) -> None:
    later = T + dt.timedelta(hours=3)
    earlier = T - dt.timedelta(hours=1)
    with store.session() as s:
        store.upsert_usage(s, [row(events=2, bytes_in=10), row(host="b.example")])
    with store.session() as s:
        store.upsert_usage(s, [row(events=3, bytes_in=5, blocked=1, last_seen=later,
                                   first_seen=earlier)])
    with store.session() as s:
        got = s.scalars(select(UsageDaily).where(UsageDaily.host == "a.example")).one()
        assert (got.events, got.bytes_in, got.blocked) == (5, 15, 1)
        first = got.first_seen.replace(tzinfo=dt.UTC) if got.first_seen.tzinfo is None else got.first_seen
        last = got.last_seen.replace(tzinfo=dt.UTC) if got.last_seen.tzinfo is None else got.last_seen
        assert (first, last) == (earlier, later)
        assert len(s.scalars(select(UsageDaily)).all()) == 2


def test_batches_larger_than_one_statement(store: Store) -> None:
    rows = [row(client=f"c_{i}") for i in range(12_000)]
    with store.session() as s:
        store.upsert_usage(s, rows)
    with store.session() as s:
        assert len(s.scalars(select(UsageDaily.client)).all()) == 12_000


def test_purge_enforces_retention(store: Store) -> None:
    with store.session() as s:
        store.upsert_usage(s, [row(day=dt.date(2020, 1, 1)), row()])
    with store.session() as s:
        assert store.purge_usage(s, dt.date(2025, 1, 1)) == 1
    with store.session() as s:
        assert [r.day for r in s.scalars(select(UsageDaily))] == [dt.date(2026, 11, 29)]


def test_head_constant_is_alembic_head(store: Store) -> None:
    from alembic.script import ScriptDirectory

    from sentinel.store import HEAD, alembic_config
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD
    with store.engine.connect() as conn:
        assert Store._revision(conn) == HEAD


def test_stale_staging_files_are_cleared(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    store = Store.open(f"sqlite:///{tmp_path / 'sentinel.db'}")
    try:
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True).stdout.strip()
        stale = store.stage_path(f"{dead}-0-1")
        mine = store.stage_path(f"{os.getpid()}-0-1")
        for f in (stale, mine):
            f.write_bytes(b"x")
        assert store.clear_stale_stages() == 1
        assert not stale.exists() and mine.exists()
    finally:
        store.dispose()


def test_a_new_data_directory_is_private(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'new' / 'sentinel.db'}")
    store.dispose()
    assert (tmp_path / "new").stat().st_mode & 0o077 == 0


def test_a_staged_merge_equals_the_direct_upsert(store: Store, tmp_path: Path) -> None:
    """Rows staged by a reader (`stage_usage`, many rows per INSERT) and merged
    (`upsert_staged`) give the table a direct upsert gives: counts, times to the
    microsecond, days, across a partial last INSERT and an existing row."""
    if not store.stages:
        pytest.skip("PostgreSQL: reader processes hand their rows over; nothing is staged")
    later = T + dt.timedelta(seconds=7, microseconds=250)
    rows = [row(client=f"c_{i}", events=i + 1, first_seen=T, last_seen=later)
            for i in range(1_234)]  # two full INSERTs of 500 and a partial one
    rows.append(row(day=dt.date(2026, 11, 30), host="b.example", bytes_out=99))
    with store.session() as s:
        store.upsert_usage(s, [row(client="c_0", events=10)])  # merged into, not replaced
    stage = store.stage_path(f"{os.getpid()}-test")
    Store.stage_usage(stage, list(reversed(rows)))  # any order in, key order staged
    with store.writer(), store.session() as s:
        store.upsert_staged(s, stage)
        s.commit()
        store.drop_stage(s, stage)
    assert not stage.exists()
    with store.session() as s:
        got = {(u.day, u.host, u.client): u for u in s.scalars(select(UsageDaily))}
    assert len(got) == 1_235
    c0 = got[(T.date(), "a.example", "c_0")]
    assert c0.events == 11
    c9 = got[(T.date(), "a.example", "c_9")]
    assert c9.events == 10
    first = c9.first_seen.replace(tzinfo=dt.UTC)
    last = c9.last_seen.replace(tzinfo=dt.UTC)
    assert (first, last) == (T, later)
    assert got[(dt.date(2026, 11, 30), "b.example", "c_1")].bytes_out == 99


def test_an_upsert_is_part_of_its_session_transaction(store: Store) -> None:
    """The SQLite path writes through the driver connection: a failed session
    must still take its rows back (a checkpoint and its rows are one commit)."""
    with pytest.raises(RuntimeError), store.session() as s:
        store.upsert_usage(s, [row(client=f"c_{i}") for i in range(1_200)])
        raise RuntimeError("crash before the checkpoint")
    with store.session() as s:
        assert s.scalars(select(UsageDaily.client)).all() == []
