"""Ingest on both backends: no double counting, checkpoints, crash safety."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sentinel.config import Settings
from sentinel.pipeline import scan
from sentinel.store import Store
from sentinel.store.models import Checkpoint, IngestRun, Quarantine, UsageDaily

LINE = ("29-Nov-2026 14:{m:02d}:{s:02d}.000 queries: info: client @0x1 10.10.{a}.{b}#1 ({h}): "
        "query: {h} IN A + (10.0.0.53)\n")


def lines(n: int, start: int = 0) -> str:
    return "".join(LINE.format(m=(i // 60) % 60, s=i % 60, a=(i // 7) % 3, b=i % 7 + 1,
                               h=f"app{i % 5}.example.com") for i in range(start, start + n))


def old(path: Path) -> Path:
    os.utime(path, (1_000_000_000, 1_000_000_000))
    return path


def total(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.coalesce(func.sum(UsageDaily.events), 0))) or 0)


def test_same_file_twice_counts_once(settings: Settings, store: Store, tmp_path: Path) -> None:
    p = tmp_path / "queries.log"
    p.write_text(lines(300))
    old(p)
    first = scan(settings, store, [p])
    second = scan(settings, store, [p])
    assert first.inputs[0].stats.parsed == 300
    assert second.inputs[0].status == "unchanged" and second.inputs[0].stats.read == 0
    assert total(store) == 300


def test_grown_file_reads_from_checkpoint(settings: Settings, store: Store, tmp_path: Path) -> None:
    p = tmp_path / "queries.log"
    p.write_text(lines(200))
    old(p)
    scan(settings, store, [p])
    with p.open("a") as fh:
        fh.write(lines(100, start=200))
    old(p)
    res = scan(settings, store, [p])
    assert res.inputs[0].stats.parsed == 100
    assert total(store) == 300


def test_rotated_and_gzipped_file_is_recognised(settings: Settings, store: Store,
                                                 tmp_path: Path) -> None:
    p = tmp_path / "queries.log"
    p.write_text(lines(250))
    old(p)
    scan(settings, store, [p])
    rotated = tmp_path / "queries.log.1.gz"
    with gzip.open(rotated, "wt") as fh:
        fh.write(lines(250) + lines(50, start=250))
    p.write_text(lines(10, start=1000))
    old(p)
    scan(settings, store, [rotated, p])
    assert total(store) == 310


def test_crash_mid_file_neither_loses_nor_double_counts(
        settings: Settings, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "queries.log"
    p.write_text(lines(5000))
    old(p)
    small = settings.model_copy(update={"ingest": settings.ingest.model_copy(
        update={"commit_lines": 1000})})
    import functools

    import sentinel.pipeline as pl
    monkeypatch.setattr(pl, "read_batches", functools.partial(pl.read_batches, chunk=16_384))
    real = pl.Aggregator.add
    calls = {"n": 0}

    def crashing(self: pl.Aggregator, events: object) -> None:
        calls["n"] += 1
        if calls["n"] == 20:
            raise KeyboardInterrupt("power cut")
        real(self, events)  # type: ignore[arg-type]

    monkeypatch.setattr(pl.Aggregator, "add", crashing)
    with pytest.raises(KeyboardInterrupt):
        scan(small, store, [p], )
    committed = total(store)
    with store.session() as s:
        cp = s.scalars(select(Checkpoint)).one()
        run = s.scalars(select(IngestRun)).one()
        assert run.status == "failed"
        assert committed == cp.line  # every committed line is in usage, nothing more
    monkeypatch.setattr(pl.Aggregator, "add", real)
    scan(small, store, [p])
    assert total(store) == 5000


def test_rejects_are_counted_and_quarantined(settings: Settings, store: Store,
                                             tmp_path: Path) -> None:
    p = tmp_path / "queries.log"
    p.write_text(lines(5) + "garbage line\n" + lines(5, start=5))
    old(p)
    res = scan(settings, store, [p])
    assert res.inputs[0].stats.rejected == 1
    with store.session() as s:
        q = s.scalars(select(Quarantine)).one()
        assert (q.line, q.reason, q.raw) == (6, "not a BIND query log line", "garbage line")
        assert s.scalars(select(IngestRun)).one().reasons == {"not a BIND query log line": 1}


def test_usage_is_pseudonymous_with_sites(settings: Settings, store: Store, tmp_path: Path) -> None:
    p = tmp_path / "queries.log"
    p.write_text(lines(21))
    old(p)
    scan(settings, store, [p])
    with store.session() as s:
        rows = s.scalars(select(UsageDaily)).all()
    assert {r.site for r in rows} == {"High"} and {r.population for r in rows} == {"students"}
    assert all(r.client.startswith("c_") and "10.10" not in r.client for r in rows)
    assert len({r.client for r in rows}) == 21
    assert str(rows[0].day) == "2026-11-29"


@pytest.mark.parametrize("compiled", [True, False])
def test_lookups_that_do_not_show_use_raise_no_findings(settings: Settings, store: Store,
                                                        tmp_path: Path, compiled: bool) -> None:
    from catalog.kb import load_knowledge_base
    from catalog.match import Matcher
    from catalog.model import Catalog
    from sentinel.findings import evaluate

    def q(i: int, host: str, qtype: str) -> str:
        return (f"29-Nov-2026 14:00:{i % 60:02d}.000 queries: info: client @0x1 10.10.0.{i + 1}#1 "
                f"({host}): query: {host} IN {qtype} + (10.0.0.53)\n")

    p = tmp_path / "queries.log"
    # Thirty devices look up TXT/SRV/PTR records of one unknown domain; three devices
    # resolve the addresses of another one.
    p.write_text("".join(q(i, "txt-only.example", ("TXT", "SRV", "PTR")[i % 3]) for i in range(30))
                 + "".join(q(i, "used.example", "A") for i in range(3)))
    old(p)
    settings = settings.model_copy(update={
        "ingest": settings.ingest.model_copy(update={"compiled": compiled}),
        "findings": settings.findings.model_copy(update={"unknown_min_clients": 2,
                                                          "unvetted_min_events": 1})})
    scan(settings, store, [p])
    with store.session() as s:
        kinds = dict(s.execute(select(UsageDaily.kind, func.sum(UsageDaily.events))
                               .group_by(UsageDaily.kind)).all())
    assert kinds == {"dns": 3, "dns-other": 30}
    ev = evaluate(settings, store, Catalog(), load_knowledge_base(),
                  Matcher(Catalog(), load_knowledge_base()))
    assert [f.subject for f in ev.findings] == ["used.example"]
    assert ev.findings[0].clients == 3


def test_parallel_scan_equals_sequential(settings: Settings, store: Store, tmp_path: Path,
                                         db_url: str) -> None:
    files = []
    for i in range(3):
        p = tmp_path / f"ns{i}.log"
        p.write_text(lines(400, start=i * 400))
        files.append(old(p))

    def usage(st: Store) -> list[tuple[object, ...]]:
        with st.session() as s:
            return sorted(tuple(r) for r in s.execute(select(
                UsageDaily.day, UsageDaily.host, UsageDaily.client, UsageDaily.events,
                UsageDaily.first_seen, UsageDaily.last_seen)))

    res = scan(settings.model_copy(update={"ingest": settings.ingest.model_copy(
        update={"jobs": 2})}), store, files)
    assert [r.stats.parsed for r in res.inputs] == [400, 400, 400]
    assert [r.path for r in res.inputs] == [str(f) for f in files]
    parallel = usage(store)
    again = scan(settings.model_copy(update={"ingest": settings.ingest.model_copy(
        update={"jobs": 2})}), store, files)
    assert all(r.status == "unchanged" for r in again.inputs)
    assert usage(store) == parallel

    seq_dir = tmp_path / "seq"
    seq_dir.mkdir()
    url = f"sqlite:///{seq_dir / 'seq.db'}"
    seq_store = Store.open(url)
    try:
        seq_settings = settings.model_copy(update={"storage": settings.storage.model_copy(
            update={"database_url": url, "data_dir": settings.storage.data_dir})})
        scan(seq_settings, seq_store, files)
        assert [r[:4] for r in usage(seq_store)] == [r[:4] for r in parallel]
        assert total(seq_store) == 1200
    finally:
        seq_store.dispose()


def test_parallel_scan_reports_a_reader_failure(settings: Settings, store: Store, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import sentinel.pipeline as pipeline

    files = []
    for i in range(2):
        p = tmp_path / f"ns{i}.log"
        p.write_text(lines(100, start=i * 100))
        files.append(old(p))
    real = pipeline.read_file

    def flaky(settings_: Settings, ids: object, st: pipeline.Start, emit: object,
              progress: object = None) -> object:
        if st.path.name == "ns1.log":
            raise OSError("disk went away")
        return real(settings_, ids, st, emit, progress)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "read_file", flaky)  # inherited by the forked readers
    jobs2 = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"jobs": 2})})
    with pytest.raises(OSError, match="disk went away"):
        scan(jobs2, store, files)
    with store.session() as s:
        runs = {r.source.rsplit("/", 1)[-1]: r for r in s.scalars(select(IngestRun))}
    assert runs["ns1.log"].status == "failed" and "disk went away" in (runs["ns1.log"].error or "")
    assert runs["ns0.log"].status == "completed"
    assert total(store) == 100  # the good file landed with its checkpoint


def test_uploads_and_blocked_requests_in_the_aggregates() -> None:
    import datetime as dt

    from collectors.event import Event
    from sentinel.pipeline import Aggregator

    class Ids:
        def resolve(self, client: str, user: str) -> tuple[str, str, str, str]:
            return "s", "students", client, user

    t = 1_795_960_800.0
    evs = [
        Event(t, "proxy", "10.1.1.1", "", "drive.example", "allowed", method="POST", bytes_in=500,
              bytes_out=50_000),                       # an upload
        Event(t + 1, "proxy", "10.1.1.1", "", "drive.example", "allowed", method="POST",
              bytes_in=10, bytes_out=2_000),           # a form post: below the threshold
        Event(t + 2, "proxy", "10.1.1.1", "", "drive.example", "allowed", method="GET",
              bytes_in=9_000, bytes_out=90_000),       # big GET: bytes, not an upload
        Event(t + 3, "proxy", "10.1.1.1", "", "drive.example", "blocked", method="PUT",
              bytes_in=700, bytes_out=80_000),         # refused: attempted use only
    ]
    agg = Aggregator(dt.UTC, upload_min_bytes=10_240)
    agg.add(evs)
    (row,) = agg.flush(Ids())  # type: ignore[arg-type]
    events, blocked, bytes_in, bytes_out, uploads = row[7:12]
    assert (events, blocked, uploads) == (4, 1, 1)
    assert (bytes_in, bytes_out) == (9_510, 142_000)
