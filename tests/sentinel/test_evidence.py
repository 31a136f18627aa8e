"""The TLE evidence bundle on a small demo district: export, verify, tamper, privacy."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from sentinel import audit
from sentinel.cli import main
from sentinel.demo import generate
from sentinel.evidence import MANIFEST, MEMBERS, verify_bundle
from sentinel.store import Store
from sentinel.store.models import Finding, FindingTransition

END = dt.date(2026, 11, 28)
HOSTILE = "Book Creator<script>alert(1)</script>"
FORMULA = "=HYPERLINK(\"http://evil.example\")"


@dataclass(frozen=True)
class Built:
    cfg: Path
    db: str
    bundle: Path
    head_before: audit.ChainHead


def run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, list(args))
    return res.exit_code, res.output


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("evidence")
    cfg = generate(root / "demo", devices=120, days=3, end=END)
    # Staff identities kept in the clear: the bundle must still carry none.
    text = cfg.read_text().replace('staff = "pseudonymize"', 'staff = "keep"')
    assert 'staff = "keep"' in text
    cfg.write_text(text)
    catalog = cfg.parent / "catalog.csv"
    cat = catalog.read_text()
    assert "\nBook Creator," in cat
    catalog.write_text(cat.replace("\nBook Creator,", f"\n{HOSTILE},"))
    code, out = run("-c", str(cfg), "scan", "--json")
    assert code == 0, out
    db = f"sqlite:///{root / 'sentinel.db'}"
    store = Store.open(db)
    try:
        t = dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC)
        with store.session() as s:  # a finding whose text a spreadsheet would run
            f = Finding(rule="unvetted_app", subject="evil.example", title=FORMULA,
                        severity="low", state="open", explanation="-1+1", product="@SUM(A1)",
                        first_seen=t, last_seen=t, created_at=t, updated_at=t)
            s.add(f)
            s.flush()
            s.add(FindingTransition(finding_id=f.id, at=t + dt.timedelta(hours=1),
                                    actor="cli:alice", from_state="open",
                                    to_state="acknowledged", reason="+looked at it"))
        head_before = audit.head(store)
    finally:
        store.dispose()
    bundle = root / "bundle.zip"
    code, out = run("-c", str(cfg), "evidence", "export", "--from", "2026-11-26",
                    "--to", dt.date.today().isoformat(), "-o", str(bundle))
    assert code == 0, out
    assert "evidence bundle written" in out
    return Built(cfg, db, bundle, head_before)


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def rewrite(src: Path, dst: Path, contents: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(dst, "w") as zf:
        for name, data in contents.items():
            zf.writestr(name, data)
    return dst


def test_export_then_verify_ok(built: Built) -> None:
    report = verify_bundle(built.bundle)
    assert report.ok, report.problems
    assert report.audit_records >= 1
    code, out = run("-c", str(built.cfg), "evidence", "verify", str(built.bundle))
    assert code == 0, out
    assert ": OK: " in out


def test_layout_is_deterministic(built: Built) -> None:
    with zipfile.ZipFile(built.bundle) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == [MANIFEST, *(m for m in MEMBERS if m in names)]
    assert {"catalog.csv", "findings.csv", "usage_weekly.csv", "coverage.csv", "audit.jsonl",
            "summary.html"} <= set(names)
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
    files = members(built.bundle)
    manifest = json.loads(files[MANIFEST])
    assert manifest["period"] == {"start": "2026-11-26", "end": dt.date.today().isoformat()}
    assert manifest["files"] == {n: hashlib.sha256(d).hexdigest() for n, d in files.items()
                                 if n != MANIFEST}
    assert manifest["generator"] == "district-sentinel" and manifest["version"]


def test_chain_head_matches_and_export_is_audited(built: Built) -> None:
    manifest = json.loads(members(built.bundle)[MANIFEST])
    head = manifest["chain_head"]
    assert audit.ChainHead(head["seq"], head["hash"]) == built.head_before
    last = json.loads(members(built.bundle)["audit.jsonl"].splitlines()[-1])
    assert (last["seq"], last["hash"]) == (head["seq"], head["hash"])
    store = Store.open(built.db)
    try:
        rec = audit.records(store, limit=1)[0]
        assert audit.verify(store, built.head_before).ok
    finally:
        store.dispose()
    assert rec["action"] == "evidence.export"
    assert rec["seq"] == head["seq"] + 1
    assert rec["payload"]["chain_head"] == head
    assert rec["payload"]["files"] == manifest["files"]
    assert rec["payload"]["bundle_sha256"] == hashlib.sha256(built.bundle.read_bytes()).hexdigest()


@pytest.mark.parametrize("member", [MANIFEST, *MEMBERS])
def test_one_changed_byte_names_the_member(built: Built, member: str, tmp_path: Path) -> None:
    files = members(built.bundle)
    assert member in files
    data = bytearray(files[member])
    assert data, member
    data[len(data) // 2] ^= 0x01
    files[member] = bytes(data)
    bad = rewrite(built.bundle, tmp_path / "bad.zip", files)
    report = verify_bundle(bad)
    assert not report.ok
    assert any(p.startswith(f"{member}: ") for p in report.problems), report.problems
    code, out = run("evidence", "verify", str(bad))
    assert code == 1 and f"  {member}: " in out, out


def test_every_byte_of_the_manifest_counts(built: Built, tmp_path: Path) -> None:
    files = members(built.bundle)
    raw = files[MANIFEST]
    # Layout only (valid JSON, same values) and a value that is no hash: both caught.
    for changed in (raw.replace(b'{\n  "audit"', b'{ \n  "audit"', 1),
                    raw.replace(b'"created_at": "2', b'"created_at": "1', 1)):
        assert changed != raw
        bad = rewrite(built.bundle, tmp_path / "m.zip", {**files, MANIFEST: changed})
        problems = verify_bundle(bad).problems
        assert problems and all(p.startswith(f"{MANIFEST}: ") for p in problems), problems


def test_removed_and_added_members_are_named(built: Built, tmp_path: Path) -> None:
    files = members(built.bundle)
    del files["coverage.csv"]
    report = verify_bundle(rewrite(built.bundle, tmp_path / "r.zip", files))
    assert report.problems == ["coverage.csv: missing from the bundle (listed in the manifest)"]
    files = {**members(built.bundle), "notes.txt": b"hello"}
    report = verify_bundle(rewrite(built.bundle, tmp_path / "a.zip", files))
    assert report.problems == ["notes.txt: extra file, not in the manifest"]
    files = members(built.bundle)
    del files[MANIFEST]
    assert verify_bundle(rewrite(built.bundle, tmp_path / "n.zip", files)).problems == \
        [f"{MANIFEST}: missing"]


def test_audit_segment_must_reach_the_chain_head(built: Built, tmp_path: Path) -> None:
    files = members(built.bundle)
    lines = files["audit.jsonl"].splitlines(keepends=True)
    cut = b"".join(lines[:-1])
    manifest = json.loads(files[MANIFEST])
    # Re-hash the cut file in a consistent manifest: only the chain check can catch it.
    from sentinel.audit import canonical_json
    from sentinel.evidence import render_manifest
    manifest["files"]["audit.jsonl"] = hashlib.sha256(cut).hexdigest()
    body = {k: v for k, v in manifest.items() if k != "digest"}
    manifest["digest"] = hashlib.sha256(canonical_json(body).encode()).hexdigest()
    bad = rewrite(built.bundle, tmp_path / "t.zip",
                  {**files, MANIFEST: render_manifest(manifest), "audit.jsonl": cut})
    problems = verify_bundle(bad).problems
    assert len(problems) == 1 and problems[0].startswith("audit.jsonl: "), problems
    assert "truncated" in problems[0] or "not at the manifest's chain head" in problems[0]


def test_corrupted_zip_data_names_the_member(built: Built, tmp_path: Path) -> None:
    raw = bytearray(built.bundle.read_bytes())
    with zipfile.ZipFile(built.bundle) as zf:
        info = zf.getinfo("usage_weekly.csv")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start + info.compress_size // 2] ^= 0xFF
    bad = tmp_path / "crc.zip"
    bad.write_bytes(bytes(raw))
    problems = verify_bundle(bad).problems
    assert any(p.startswith("usage_weekly.csv: ") for p in problems), problems
    not_zip = tmp_path / "x.zip"
    not_zip.write_bytes(b"not a zip")
    assert not verify_bundle(not_zip).ok


_LEAKS = [
    # (A network in CIDR form, from the config.change record, is no one's address.)
    (re.compile(rb"(?<![\d.])10\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d/])"), "a 10.x address"),
    (re.compile(rb"\bs1\d{5}\b"), "a student account name"),
    (re.compile(rb"\bt1\d{4}\b"), "a staff account name"),
    # (The accounts pattern "*@students.riverbend..." of the config names no one.)
    (re.compile(rb"[A-Za-z0-9._-]+@students\.riverbend"), "a student e-mail address"),
    (re.compile(rb"\b[cu]_[0-9a-f]{16}\b"), "a pseudonym"),
]


def test_no_identifier_leaves_in_the_bundle(built: Built) -> None:
    # The store does hold them (staff are kept in the clear): the test can fail.
    store = Store.open(built.db)
    try:
        with store.engine.connect() as conn:
            from sqlalchemy import text
            users = [r[0] for r in conn.execute(text("SELECT DISTINCT user FROM usage_daily"))]
            clients = [r[0] for r in conn.execute(text("SELECT DISTINCT client FROM usage_daily"))]
    finally:
        store.dispose()
    assert any(re.fullmatch(r"10\.\d+\.64\.\d+", c) for c in clients)
    assert any(u.startswith("t1") for u in users)
    for name, data in members(built.bundle).items():
        for pattern, what in _LEAKS:
            hit = pattern.search(data)
            assert hit is None, f"{name} holds {what}: {hit.group()!r}"


def test_csv_members_neutralise_formulas(built: Built) -> None:
    rows = list(csv.DictReader(io.StringIO(members(built.bundle)["findings.csv"].decode())))
    evil = [r for r in rows if r["subject"] == "evil.example"]
    assert len(evil) == 1
    assert evil[0]["title"] == "'" + FORMULA
    assert evil[0]["product"] == "'@SUM(A1)" and evil[0]["explanation"] == "'-1+1"
    for name, data in members(built.bundle).items():
        if name.endswith(".csv"):
            for row in csv.reader(io.StringIO(data.decode())):
                assert not any(c.startswith(("=", "+", "-", "@")) for c in row), (name, row)


def test_findings_history_holds_the_transitions(built: Built) -> None:
    rows = list(csv.DictReader(io.StringIO(
        members(built.bundle)["findings_history.csv"].decode())))
    mine = [r for r in rows if r["subject"] == "evil.example"]
    assert [(r["actor"], r["from_state"], r["to_state"], r["reason"]) for r in mine] == \
        [("cli:alice", "open", "acknowledged", "'+looked at it")]
    assert mine[0]["at"] == "2026-11-27T13:00:00Z"


def test_summary_escapes_hostile_text_and_maps_the_practices(built: Built) -> None:
    html = members(built.bundle)["summary.html"].decode()
    assert "<script>" not in html
    assert "Book Creator&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for heading in ("Practice 1", "Practice 2", "Practice 3", "Practice 4", "Ingest coverage"):
        assert heading in html
    assert "TikTok" in html and "QuizWhiz Pro" in html  # denied app; unvetted OAuth grant
    assert "http://" not in html.split("</style>")[0] and "<link" not in html
    weekly = list(csv.DictReader(io.StringIO(members(built.bundle)["usage_weekly.csv"].decode())))
    assert {r["week"] for r in weekly} >= {"2026-W48"}
    assert "client" not in weekly[0] and "user" not in weekly[0]
    assert sum(int(r["students"]) for r in weekly if r["product"] == "ChatGPT") > 0


def test_coverage_flags_gaps(built: Built) -> None:
    rows = list(csv.DictReader(io.StringIO(members(built.bundle)["coverage.csv"].decode())))
    dns = [r for r in rows if r["format"] == "bind"]
    by_day = {r["day"]: r["status"] for r in dns}
    assert by_day["2026-11-26"] == by_day["2026-11-28"] == "ok"
    # The demo's logs end on END: every later day of the period is a gap.
    later = [d for d in by_day if d > END.isoformat()]
    assert later and all(by_day[d] == "gap" for d in later)


def test_export_rejects_a_reversed_period(built: Built, tmp_path: Path) -> None:
    code, out = run("-c", str(built.cfg), "evidence", "export", "--from", "2026-11-28",
                    "--to", "2026-11-26", "-o", str(tmp_path / "x.zip"))
    assert code == 2 and "--to" in out
    assert not (tmp_path / "x.zip").exists()
