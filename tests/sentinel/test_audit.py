"""The audit chain on both backends: canonical form, tamper detection, triggers, concurrency."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import multiprocessing
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, insert, select, text
from sqlalchemy.exc import DBAPIError

from sentinel import audit
from sentinel.audit import (
    GENESIS_HASH,
    AuditError,
    ChainHead,
    append,
    canonical_json,
    canonical_time,
    parse_checkpoint,
    record_hash,
    verify,
    verify_records,
)
from sentinel.config import Settings
from sentinel.store import Store
from sentinel.store.models import AuditRecord, HostClass

T = dt.datetime(2026, 11, 29, 10, tzinfo=dt.UTC)
SENTINEL = Path(__file__).resolve().parents[2] / "sentinel"


def fill(store: Store, n: int) -> list[str]:
    """n records, each in its own transaction; their hashes (index 0 is record 1)."""
    out = []
    for i in range(1, n + 1):
        with store.session() as s:
            out.append(append(s, "alice", "config.change", f"key{i}",
                              {"i": i, "when": T, "note": "é\u202e"}).hash)
    return out


@contextmanager
def attacker(store: Store) -> Iterator[Connection]:
    """The database owner with the triggers out of the way: what tampering takes."""
    with store.engine.begin() as conn:
        if store.dialect == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")
        yield conn


def renumber(conn: Connection, shift: int, from_seq: int) -> None:
    """seq += shift from from_seq on (through negatives: the key is checked per row)."""
    conn.execute(text("UPDATE audit_log SET seq = -seq WHERE seq >= :s"), {"s": from_seq})
    conn.execute(text("UPDATE audit_log SET seq = -seq + :d WHERE seq < 0"), {"d": shift})


def row(conn: Connection, seq: int) -> dict[str, Any]:
    got = conn.execute(select(AuditRecord).where(AuditRecord.seq == seq)).mappings().one()
    return dict(got)


def forged(seq: int, prev_hash: str, actor: str = "mallory") -> dict[str, Any]:
    rec: dict[str, Any] = {"seq": seq, "at": T, "actor": actor, "action": "config.change",
                           "subject": "forged", "payload": '{"i":0}', "prev_hash": prev_hash}
    rec["hash"] = record_hash(seq, canonical_time(T), actor, "config.change", "forged",
                              {"i": 0}, prev_hash)
    return rec


# -- canonical form -------------------------------------------------------------------


def test_canonical_form_is_pinned() -> None:
    payload = {"when": dt.datetime(2026, 11, 29, 11, tzinfo=dt.timezone(dt.timedelta(hours=1))),
               "café": "x", "b": [1, 2.5, None, True], "day": dt.date(2026, 11, 29)}
    text_ = ('{"b":[1,2.5,null,true],"caf\\u00e9":"x","day":"2026-11-29",'
             '"when":"2026-11-29T10:00:00.000000Z"}')
    assert canonical_json(payload) == text_
    doc = ('{"action":"config.change","actor":"alice","at":"2026-11-29T10:00:00.000000Z",'
           f'"payload":{text_},"prev_hash":"{GENESIS_HASH}","seq":1,"subject":"settings"}}')
    assert record_hash(1, canonical_time(T), "alice", "config.change", "settings",
                       json.loads(text_), GENESIS_HASH) == hashlib.sha256(doc.encode()).hexdigest()
    # A naive time is UTC (SQLite gives stored times back naive).
    assert canonical_time(T.replace(tzinfo=None)) == "2026-11-29T10:00:00.000000Z"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), {1, 2}, b"bytes"])
def test_canonical_form_refuses_what_json_cannot_hold_exactly(bad: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        canonical_json({"x": bad})


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=20)


@settings(max_examples=150, deadline=None)
@given(JSON)
def test_canonical_form_is_a_fixed_point_in_ascii(value: Any) -> None:
    once = canonical_json(value)
    assert once.isascii()
    assert canonical_json(json.loads(once)) == once
    if isinstance(value, dict):
        assert canonical_json(dict(reversed(list(value.items())))) == once


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
def test_checkpoint_parser_takes_any_text(value: str) -> None:
    try:
        cp = parse_checkpoint(value)
    except AuditError:
        return
    assert parse_checkpoint(str(cp)) == cp


def test_checkpoint_round_trip_and_errors() -> None:
    cp = ChainHead(12, "ab" * 32)
    assert parse_checkpoint(str(cp).upper()) == cp
    for bad in ("12", "x:" + "a" * 64, "12:abc", "-1:" + "a" * 64, "0:" + "a" * 64):
        with pytest.raises(AuditError, match="checkpoint"):
            parse_checkpoint(bad)


# -- the chain in the store ----------------------------------------------------------


def test_chain_verifies_and_head_is_the_checkpoint(store: Store) -> None:
    assert verify(store) == audit.VerifyResult(True, 0, 0, GENESIS_HASH)
    hashes = fill(store, 5)
    with store.engine.begin() as conn:  # the Connection API too
        hashes.append(append(conn, "cli:bob", "identity.reveal", "c_12", {"reason": "x"}).hash)
    cp = audit.head(store)
    assert cp == (6, hashes[-1])
    res = verify(store, cp)
    assert (res.ok, res.records, res.head, res.first_bad_seq) == (True, 6, cp, None)
    assert verify(store, ChainHead(3, hashes[2])).ok
    with store.engine.connect() as conn:
        first, second = row(conn, 1), row(conn, 2)
    assert first["prev_hash"] == GENESIS_HASH and second["prev_hash"] == first["hash"]
    assert first["payload"] == canonical_json({"i": 1, "note": "é\u202e", "when": T})


def test_append_is_part_of_the_callers_transaction(store: Store) -> None:
    fill(store, 2)
    with pytest.raises(RuntimeError), store.session() as s:
        append(s, "alice", "catalog.change", "app", {})
        raise RuntimeError("the change failed")
    assert audit.head(store).seq == 2
    assert verify(store).ok


def test_append_refuses_bad_records(store: Store) -> None:
    with store.session() as s:
        with pytest.raises(AuditError, match=r"valid: ingest\.run"):
            append(s, "alice", "finding.deleted", "x", {})
        with pytest.raises(AuditError, match=r"audit payload of config\.change"):
            append(s, "alice", "config.change", "x", {"n": float("nan")})
        with pytest.raises(AuditError, match="actor"):
            append(s, "", "config.change", "x", {})
    assert audit.head(store).seq == 0


def test_an_edit_is_named(store: Store) -> None:
    fill(store, 8)
    with attacker(store) as conn:
        conn.execute(text("UPDATE audit_log SET payload = :p WHERE seq = 5"), {"p": '{"i":50}'})
    res = verify(store)
    assert (res.ok, res.first_bad_seq, res.records) == (False, 5, 8)
    assert "altered" in (res.problem or "")


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(store: Store) -> None:
    fill(store, 8)
    with attacker(store) as conn:
        r = row(conn, 5)
        new = record_hash(5, canonical_time(r["at"]), "mallory", r["action"], r["subject"],
                          json.loads(r["payload"]), r["prev_hash"])
        conn.execute(text("UPDATE audit_log SET actor = 'mallory', hash = :h WHERE seq = 5"),
                     {"h": new})
    res = verify(store)
    assert (res.ok, res.first_bad_seq) == (False, 6)
    assert "does not link" in (res.problem or "")


def test_a_deletion_is_named(store: Store) -> None:
    fill(store, 8)
    with attacker(store) as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 5"))
    res = verify(store)
    assert (res.ok, res.first_bad_seq, res.records, res.head_seq) == (False, 5, 7, 8)
    assert "record 5 is missing" in (res.problem or "")


def test_a_deletion_closed_up_by_renumbering_is_named(store: Store) -> None:
    fill(store, 8)
    with attacker(store) as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 5"))
        renumber(conn, -1, 6)
    res = verify(store)
    assert (res.ok, res.first_bad_seq) == (False, 5)


def test_an_insertion_is_named(store: Store) -> None:
    hashes = fill(store, 8)
    with attacker(store) as conn:
        renumber(conn, 1, 5)
        conn.execute(insert(AuditRecord).values(**forged(5, hashes[3])))
    res = verify(store)
    assert (res.ok, res.first_bad_seq, res.records) == (False, 5, 9)
    assert "record 5 was inserted" in (res.problem or "")


def test_a_clumsy_insertion_is_named(store: Store) -> None:
    fill(store, 8)
    with attacker(store) as conn:
        renumber(conn, 1, 3)
        conn.execute(insert(AuditRecord).values(
            **{**forged(3, "ab" * 32), "hash": "cd" * 32}))
    res = verify(store)
    assert (res.ok, res.first_bad_seq) == (False, 3)


def test_a_reordering_is_named(store: Store) -> None:
    fill(store, 8)
    with attacker(store) as conn:
        conn.execute(text("UPDATE audit_log SET seq = -1 WHERE seq = 5"))
        conn.execute(text("UPDATE audit_log SET seq = 5 WHERE seq = 6"))
        conn.execute(text("UPDATE audit_log SET seq = 6 WHERE seq = -1"))
    res = verify(store)
    assert (res.ok, res.first_bad_seq) == (False, 5)


def test_a_truncation_is_named_against_the_checkpoint(store: Store) -> None:
    fill(store, 10)
    cp = audit.head(store)
    with attacker(store) as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq >= 9"))
    assert verify(store).ok  # intact by itself: only the checkpoint tells
    res = verify(store, cp)
    assert (res.ok, res.first_bad_seq, res.head_seq) == (False, 9, 8)
    assert "truncated" in (res.problem or "")


def test_a_rewritten_chain_fails_its_checkpoint(store: Store) -> None:
    fill(store, 6)
    cp = audit.head(store)
    with attacker(store) as conn:  # edits record 2 and rehashes everything after it
        recs = [row(conn, i) for i in range(1, 7)]
        conn.execute(text("DELETE FROM audit_log"))
        prev = GENESIS_HASH
        for r in recs:
            if r["seq"] == 2:
                r["subject"] = "nothing to see"
            r["prev_hash"] = prev
            r["hash"] = prev = record_hash(r["seq"], canonical_time(r["at"]), r["actor"],
                                           r["action"], r["subject"], json.loads(r["payload"]),
                                           prev)
            conn.execute(insert(AuditRecord).values(**r))
    assert verify(store).ok
    res = verify(store, cp)
    assert (res.ok, res.first_bad_seq) == (False, 6)
    assert "checkpoint" in (res.problem or "")


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'mallory' WHERE seq = 2",
                                       "UPDATE audit_log SET seq = seq + 10",
                                       "DELETE FROM audit_log WHERE seq = 3",
                                       "DELETE FROM audit_log"])
def test_triggers_reject_update_and_delete(store: Store, statement: str) -> None:
    fill(store, 3)
    with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
        conn.execute(text(statement))
    assert verify(store).records == 3 and verify(store).ok


def test_emptying_the_table_is_rejected(store: Store) -> None:
    # PostgreSQL's TRUNCATE fires no row trigger; SQLite's DELETE without WHERE
    # takes a shortcut that skips row deletes unless a trigger is there.
    fill(store, 2)
    empty = "TRUNCATE audit_log" if store.dialect == "postgresql" else "DELETE FROM audit_log"
    with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
        conn.execute(text(empty))
    assert verify(store).records == 2


def test_sqlite_trigger_holds_for_a_raw_connection(tmp_path: Path) -> None:
    path = tmp_path / "sentinel.db"
    store = Store.open(f"sqlite:///{path}")
    try:
        fill(store, 2)
    finally:
        store.dispose()
    con = sqlite3.connect(path)
    try:
        for sql in ("UPDATE audit_log SET hash = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                con.execute(sql)
    finally:
        con.close()


def test_no_code_path_updates_or_deletes_audit_rows() -> None:
    pattern = re.compile(r"(update|delete)\(\s*AuditRecord|(update|delete\s+from|truncate)\s+"
                         r"(table\s+)?audit_log|AuditRecord\.__table__\.(update|delete)", re.I)
    offenders = [f"{p}:{n}" for p in SENTINEL.rglob("*.py") if "migrations" not in p.parts
                 for n, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


def test_sqlite_append_holds_the_write_lock_from_the_head_read_on(tmp_path: Path) -> None:
    path = tmp_path / "sentinel.db"
    store = Store.open(f"sqlite:///{path}")
    other = sqlite3.connect(path, timeout=0)
    try:
        with store.session() as s:
            s.execute(select(AuditRecord.seq)).all()  # a read: pysqlite opens no transaction
            append(s, "alice", "config.change", "x", {})
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # committed: free again
        other.rollback()
    finally:
        other.close()
        store.dispose()


# -- exported records (the evidence bundle's case) --------------------------------------


def exported(store: Store) -> list[dict[str, Any]]:
    """Records as a bundle holds them: through JSON text."""
    recs: list[dict[str, Any]] = json.loads(json.dumps(audit.records(store)))
    return recs


def test_exported_records_verify_and_their_tampering_is_named(store: Store) -> None:
    fill(store, 8)
    cp = audit.head(store)
    recs = exported(store)
    assert verify_records(recs, cp).ok
    assert verify_records(recs[2:6], ChainHead(5, recs[4]["hash"]), segment=True).ok

    edited = [dict(r) for r in recs]
    edited[3]["payload"] = {"i": 40}
    assert verify_records(edited, cp).first_bad_seq == 4
    assert verify_records(recs[:4] + recs[5:], cp).first_bad_seq == 5
    assert verify_records([*recs[:4], recs[5], recs[4], *recs[6:]], cp).first_bad_seq == 5
    assert verify_records(recs[:6], cp).first_bad_seq == 7
    ins = [*recs[:4], {**forged(5, recs[3]["hash"]), "at": canonical_time(T)}, *recs[4:]]
    res = verify_records(ins)
    assert (res.first_bad_seq, res.records) == (5, 9)
    assert verify_records(recs[2:6], cp, segment=True).first_bad_seq == 7
    assert verify_records(recs[2:6], segment=True).ok
    assert not verify_records(recs[2:6]).ok  # a whole chain must start at record 1
    garbage: list[Any] = [recs[0], "not a record", {"seq": "3"}]
    assert verify_records(garbage).first_bad_seq == 2


def chain(n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    prev = GENESIS_HASH
    for i in range(1, n + 1):
        at = canonical_time(T + dt.timedelta(seconds=i))
        h = record_hash(i, at, "tester", "config.change", f"s{i}", {"i": i}, prev)
        out.append({"seq": i, "at": at, "actor": "tester", "action": "config.change",
                    "subject": f"s{i}", "payload": {"i": i}, "prev_hash": prev, "hash": h})
        prev = h
    return out


@settings(max_examples=200, deadline=None)
@given(st.integers(3, 30), st.data())
def test_any_single_tampering_is_named(n: int, data: st.DataObject) -> None:
    recs = chain(n)
    cp = ChainHead(n, recs[-1]["hash"])
    k = data.draw(st.integers(1, n - 1))  # a record that has one after it
    kind = data.draw(st.sampled_from(["edit", "delete", "insert", "swap", "truncate"]))
    i = k - 1
    if kind == "edit":
        field = data.draw(st.sampled_from(["at", "actor", "action", "subject", "payload"]))
        recs[i] = {**recs[i], field: {"x": 1} if field == "payload" else "tampered"}
        want = k
    elif kind == "delete":
        del recs[i]
        want = k
    elif kind == "insert":  # a well-forged record, the later ones renumbered
        recs = recs[:i] + [{**forged(k, recs[i]["prev_hash"]), "at": canonical_time(T)}] + \
            [{**r, "seq": r["seq"] + 1} for r in recs[i:]]
        want = k
    elif kind == "swap":
        recs[i], recs[i + 1] = recs[i + 1], recs[i]
        want = k
    else:
        recs = recs[:k]
        want = k + 1
    res = verify_records(recs, cp)
    assert not res.ok
    assert res.first_bad_seq == want, res.problem


# -- concurrency ---------------------------------------------------------------------------


def _writer(url: str, wid: int, n: int, barrier: Any) -> None:
    store = Store.open(url, migrate=False)
    try:
        barrier.wait(60)
        for i in range(n):
            with store.session() as s:
                if i % 2:  # the change first, then its record (the chain lock comes later)
                    s.add(HostClass(host=f"w{wid}-{i}.example", match_kind="domain", subject="x",
                                    name="x", category="x", rule="x"))
                    s.flush()
                append(s, f"writer{wid}", "config.change", f"w{wid}-{i}", {"w": wid, "i": i})
            # Work between records. Without it, a SQLite writer takes the lock
            # back at once while the other sleeps in its busy handler.
            time.sleep(0.001)
    finally:
        store.dispose()


def test_two_processes_never_fork_the_chain(db_url: str) -> None:
    store = Store.open(db_url)  # migrated here, once
    try:
        ctx = multiprocessing.get_context("spawn")
        barrier = ctx.Barrier(2)
        procs = [ctx.Process(target=_writer, args=(db_url, w, 200, barrier)) for w in (1, 2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(180)
        assert [p.exitcode for p in procs] == [0, 0]
        res = verify(store)
        assert (res.ok, res.records, res.head_seq) == (True, 400, 400), res.problem
        recs = audit.records(store)
        assert [r["seq"] for r in recs] == list(range(1, 401))
        for w in (1, 2):
            assert [r["payload"]["i"] for r in recs if r["payload"]["w"] == w] == list(range(200))
        switches = sum(a["actor"] != b["actor"] for a, b in itertools.pairwise(recs))
        assert switches >= 2, "the writers did not overlap: the test proved nothing"
        with store.session() as s:
            assert len(s.scalars(select(HostClass.host)).all()) == 200
    finally:
        store.dispose()


# -- the first producer and the CLI --------------------------------------------------------


LINE = ("29-Nov-2026 14:{m:02d}:{s:02d}.000 queries: info: client @0x1 10.10.0.{b}#1 ({h}): "
        "query: {h} IN A + (10.0.0.53)\n")


def test_each_scan_appends_one_ingest_run_record(settings: Settings, store: Store,
                                                 tmp_path: Path) -> None:
    from catalog.model import Catalog
    from sentinel.app import Context, run_scan

    log = tmp_path / "queries.log"
    log.write_text("".join(LINE.format(m=i // 60, s=i % 60, b=i % 7 + 1, h=f"app{i % 3}.example")
                           for i in range(120)) + "garbage\n")
    ctx = Context(settings, store, Catalog())
    run_scan(ctx, [log], actor="cli:test")
    run_scan(ctx, [log], actor="cli:test")  # unchanged, still one record
    recs = audit.records(store, action="ingest.run")
    # Each scan: its ingest.run record, then the report's report.generate record.
    assert [r["seq"] for r in recs] == [1, 3]
    reports = audit.records(store, action="report.generate")
    assert [r["seq"] for r in reports] == [2, 4]
    assert reports[0]["actor"] == "cli:test"
    assert reports[0]["payload"]["chain_head"].startswith("1:")
    html = (settings.storage.data_dir / "report.html").read_text()
    assert reports[1]["payload"]["chain_head"] in html  # the checkpoint is in the report
    import hashlib
    assert reports[1]["payload"]["sha256"] == hashlib.sha256(html.encode()).hexdigest()
    first = recs[0]
    assert (first["actor"], first["subject"]) == ("cli:test", "scan of 1 input")
    inp = first["payload"]["inputs"][0]
    assert (inp["format"], inp["lines_read"], inp["parsed"], inp["rejected"]) == \
        ("bind", 121, 120, 1)
    assert first["payload"]["run_ids"] == [inp["run_id"]] and inp["run_id"] is not None
    assert recs[1]["payload"]["inputs"][0]["status"] == "unchanged"
    assert verify(store).ok  # the scan's retention purge left the chain alone


def cli(db_url: str, tmp_path: Path, *args: str) -> Any:
    from sentinel.cli import main

    return CliRunner().invoke(main, ["--database", db_url, "--data-dir", str(tmp_path), *args])


def test_cli_verify_and_log(db_url: str, tmp_path: Path) -> None:
    store = Store.open(db_url)
    try:
        fill(store, 4)
        with store.session() as s:
            append(s, "alice", "catalog.change", "evil\x1b[31m\nname", {})
        cp = audit.head(store)

        ok = cli(db_url, tmp_path, "audit", "verify", "--checkpoint", str(cp))
        assert ok.exit_code == 0 and f"5 records, head {cp}" in ok.output

        log = cli(db_url, tmp_path, "audit", "log", "--limit", "2")
        lines = log.output.splitlines()
        assert log.exit_code == 0 and len(lines) == 2
        assert "evil\\x1b[31m\\nname" in lines[1] and "\x1b" not in log.output
        js = cli(db_url, tmp_path, "audit", "log", "--action", "catalog.change", "--json")
        assert [r["subject"] for r in json.loads(js.output)] == ["evil\x1b[31m\nname"]
        assert verify_records(json.loads(cli(db_url, tmp_path, "audit", "log", "--json").output),
                              cp).ok
        assert cli(db_url, tmp_path, "audit", "verify", "--checkpoint", "5:xyz").exit_code == 2
        assert cli(db_url, tmp_path, "audit", "log", "--action", "nope").exit_code == 2
        assert audit.head(store) == cp  # the commands recorded nothing

        with attacker(store) as conn:
            conn.execute(text("UPDATE audit_log SET subject = 'x' WHERE seq = 3"))
        bad = cli(db_url, tmp_path, "audit", "verify")
        assert bad.exit_code == 1 and "BROKEN at record 3" in bad.output
        bad_json = cli(db_url, tmp_path, "audit", "verify", "--json")
        assert bad_json.exit_code == 1
        assert json.loads(bad_json.output)["first_bad_seq"] == 3
    finally:
        store.dispose()


def test_a_duplicated_record_is_not_taken_for_an_insertion() -> None:
    recs = chain(5)
    res = verify_records([*recs[:3], recs[2], *recs[3:]])
    assert (res.ok, res.first_bad_seq) == (False, 4)
    assert "again" in (res.problem or "")
