"""``sentinel catalog`` and ``sentinel triage`` through the CLI, on both backends."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from catalog.model import Vetting
from sentinel import audit
from sentinel.cli import main
from sentinel.cli_catalog import STATUSES
from sentinel.store import Store


@pytest.fixture
def cfg(tmp_path: Path, db_url: str) -> Path:
    (tmp_path / "catalog.csv").write_text(
        "name,vendor,status,domains,contract_type,contract_expires\n"
        "Quizlet,Quizlet Inc,approved,quizlet.com,ndpa,2030-06-30\n"
        "Blooket,,denied,blooket.com,,\n")
    path = tmp_path / "sentinel.toml"
    path.write_text(f"""
[district]
timezone = "UTC"
[storage]
database_url = "{db_url}"
data_dir = "data"
[catalog]
path = "catalog.csv"
[findings]
unknown_min_clients = 10
unvetted_min_events = 10
[[networks]]
cidr = "10.10.0.0/18"
site = "High"
population = "students"
[[networks]]
cidr = "10.20.0.0/18"
site = "Middle"
population = "students"
[[networks]]
cidr = "10.10.64.0/22"
site = "High"
population = "staff"
""")
    return path


def run(cfg: Path, *args: str, ok: bool = True) -> Result:
    res = CliRunner().invoke(main, ["-c", str(cfg), *args])
    if ok:
        assert res.exit_code == 0, res.output
    return res


def as_json(cfg: Path, *args: str) -> Any:
    return json.loads(run(cfg, *args, "--json").stdout)


def test_status_choices_are_the_vetting_statuses() -> None:
    assert tuple(v.value for v in Vetting) == STATUSES


def test_list_show_and_set_status(cfg: Path, db_url: str) -> None:
    got = as_json(cfg, "catalog", "list")
    assert [(p["id"], p["status"], p["contract_state"]) for p in got] == [
        ("quizlet", "approved", "current"), ("blooket", "denied", "none")]
    assert got[0]["contract"] == {"type": "ndpa", "expires": "2030-06-30"}
    assert [p["id"] for p in as_json(cfg, "catalog", "list", "--status", "denied")] == ["blooket"]
    res = run(cfg, "catalog", "set-status", "blooket", "approved", "--reason", "DPA signed",
              "--reviewer", "Ann", "--decided", "2026-12-01", "--actor", "admin:ann")
    assert "blooket: approved (decided 2026-12-01)" in res.output
    shown = as_json(cfg, "catalog", "show", "BLOOKET")  # by name, any case
    assert shown["product"]["review"] == {"status": "approved", "reviewer": "Ann",
                                          "decided": "2026-12-01"}
    moves = shown["history"]
    assert [(m["kind"], m["actor"], m["reason"]) for m in moves] == [
        ("import", "config", f"catalog file changed: {cfg.parent / 'catalog.csv'}"),
        ("set-status", "admin:ann", "DPA signed")]
    assert moves[1]["before"]["review"]["status"] == "denied"
    text = run(cfg, "catalog", "show", "blooket").output
    assert "review.decided, review.reviewer, review.status; reason: DPA signed" in text
    store = Store.open(db_url)
    try:
        result = audit.verify(store)
        assert result.ok and result.head_seq == moves[1]["audit_seq"]
    finally:
        store.dispose()
    bad = run(cfg, "catalog", "set-status", "blooket", "maybe", "--reason", "x", ok=False)
    assert bad.exit_code == 1 and "unknown vetting status 'maybe'" in bad.output
    assert run(cfg, "catalog", "set-status", "x", "approved", ok=False).exit_code == 2  # no reason
    assert "no product with id or name 'nope'" in run(cfg, "catalog", "show", "nope",
                                                      ok=False).output


@pytest.mark.parametrize("fmt", ["csv", "yaml"])
def test_export_import_round_trip(cfg: Path, tmp_path: Path, fmt: str) -> None:
    run(cfg, "catalog", "set-status", "quizlet", "approved_with_conditions", "--reason", "r",
        "--conditions", "=cmd|' /C calc'!A0\nline two; no chat")
    run(cfg, "triage", "label", "odd.example", "--new-app", "@Odd; App", "--reason", "triage")
    out = tmp_path / f"export.{fmt}"
    run(cfg, "catalog", "export", "-o", str(out))
    before = as_json(cfg, "catalog", "list")
    if fmt == "csv":
        assert "'=cmd" in out.read_text() and "'@Odd; App" in out.read_text()  # defused
        assert run(cfg, "catalog", "export").stdout == out.read_text()
    res = as_json(cfg, "catalog", "import", str(out), "--replace", "--reason", "round trip")
    assert (res["created"], res["updated"], res["deleted"]) == ([], [], [])
    assert len(res["unchanged"]) == 3
    assert as_json(cfg, "catalog", "list") == before


def test_a_bad_import_changes_nothing(cfg: Path, tmp_path: Path) -> None:
    before = as_json(cfg, "catalog", "show", "quizlet")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,status,domains\nQuizlet,denied,quizlet.com\nX,approved,quizlet.com\n")
    res = run(cfg, "catalog", "import", str(bad), "--reason", "oops", ok=False)
    assert res.exit_code == 1
    assert f"{bad}:3: domains: quizlet.com is already claimed by 'Quizlet'" in res.output
    assert as_json(cfg, "catalog", "show", "quizlet") == before


def test_a_bad_config_catalog_fails_every_command(cfg: Path) -> None:
    (cfg.parent / "catalog.csv").write_text("name,status\nQuizlet,aproved\n")
    res = run(cfg, "catalog", "list", ok=False)
    assert res.exit_code == 1
    assert "catalog.csv:2: status: unknown vetting status 'aproved'" in res.output


def test_hostile_text_is_escaped(cfg: Path) -> None:
    name = "Evil\u202egnp.exe"
    run(cfg, "triage", "label", "evil.example", "--new-app", name, "--vendor", "V\u200bX",
        "--reason", "look\u2066 here")
    listed = run(cfg, "catalog", "list").output
    assert "\u202e" not in listed and "Evil\\u202egnp.exe" in listed
    assert "V\\u200bX" in listed
    shown = run(cfg, "catalog", "show", "evilgnp-exe").output
    assert "\u2066" not in shown and "look\\u2066 here" in shown and "\u202e" not in shown
    # Control characters are refused outright, in reasons too.
    res = run(cfg, "catalog", "set-status", "quizlet", "denied", "--reason", "a\x1b[2Jb",
              ok=False)
    assert res.exit_code == 1 and "\x1b" not in res.output and "control character" in res.output


def bind_log(path: Path, day: dt.date, uses: dict[str, list[str]]) -> Path:
    """A BIND query log: each host looked up once by each client address."""
    lines = []
    stamp = day.strftime("%d-%b-%Y")
    for n, (host, clients) in enumerate(uses.items()):
        for i, ip in enumerate(clients):
            lines.append(f"{stamp} 10:{n:02d}:{i % 60:02d}.000 queries: info: client "
                         f"@0x7f3a {ip}#5353 ({host}): query: {host} IN A + (10.0.0.53)")
    path.write_text("\n".join(lines) + "\n")
    return path


def scan(cfg: Path, log: Path) -> int:
    """``sentinel scan`` through the service (the CLI command leaves its engine
    for the process's end, which PostgreSQL's driver reports as a warning)."""
    from sentinel.app import open_context, run_scan
    from sentinel.config import load_settings

    ctx = open_context(load_settings(cfg, env={}))
    try:
        return run_scan(ctx, [log], "bind").inputs[0].stats.parsed
    finally:
        ctx.store.dispose()


def evaluate(cfg: Path) -> None:
    """What ``sentinel report`` does before it renders: an evaluation."""
    from sentinel.app import open_context
    from sentinel.config import load_settings
    from sentinel.findings import evaluate as run_rules

    ctx = open_context(load_settings(cfg, env={}))
    try:
        run_rules(ctx.settings, ctx.store, ctx.catalog, ctx.kb, ctx.matcher)
    finally:
        ctx.store.dispose()


def findings_of(cfg: Path) -> dict[tuple[str, str], dict[str, Any]]:
    res = run(cfg, "findings", "list", "--all", "--format", "json")
    return {(f["rule"], f["subject"]): f for f in json.loads(res.stdout)}


def test_triage_ranks_by_reach_and_labels_close_the_loop(cfg: Path, tmp_path: Path) -> None:
    students = [f"10.10.0.{i}" for i in range(1, 13)]  # 12 students at High
    middle = [f"10.20.0.{i}" for i in range(1, 13)]
    staff = [f"10.10.64.{i}" for i in range(1, 15)]  # 14 staff
    log = bind_log(tmp_path / "queries.log", dt.date(2026, 11, 28), {
        "cdn.weird-stats.xyz": staff,                      # 14 devices, weighted 14
        "play.mathfun-unblocked.net": students[:6] + middle[:6],  # 12, weighted 24, 2 schools
        "www.quiz-hub.example.com": students,              # 12, weighted 24, 1 school
        "rare.one-off.org": students[:3],                  # below the threshold
        "www.quizlet.com": students,                       # in the catalog
    })
    assert scan(cfg, log) == 12 * 3 + 14 + 3
    queue = as_json(cfg, "triage", "list")
    assert queue["min_clients"] == 10 and queue["window"] == ["2026-11-22", "2026-11-28"]
    ranked = [(d["domain"], d["clients"], d["students"], d["schools"]) for d in queue["domains"]]
    assert ranked == [("mathfun-unblocked.net", 12, 12, 2), ("example.com", 12, 12, 1),
                      ("weird-stats.xyz", 14, 0, 1)], ranked
    assert all(d["finding_state"] == "open" for d in queue["domains"])
    low = as_json(cfg, "triage", "list", "--min-clients", "2")["domains"]
    assert [d["domain"] for d in low][-1] == "one-off.org"
    text = run(cfg, "triage", "list").output
    assert text.index("mathfun-unblocked.net") < text.index("weird-stats.xyz")

    # Label one as noise, one as a new app, one as an existing product.
    run(cfg, "triage", "label", "weird-stats.xyz", "--noise", "telemetry", "--reason", "beacon")
    run(cfg, "triage", "label", "mathfun-unblocked.net", "--new-app", "MathFun",
        "--vendor", "Unknown", "--reason", "a game site")
    run(cfg, "triage", "label", "example.com", "--app", "quizlet", "--reason", "mirror")
    assert as_json(cfg, "triage", "list")["domains"] == []  # the queue reflects labels at once
    # kb show explains hosts with the store's catalog and labels, as evaluation will.
    shown = as_json(cfg, "kb", "show", "cdn.weird-stats.xyz")
    assert (shown["kind"], shown["category"]) == ("noise", "telemetry"), shown
    shown = as_json(cfg, "kb", "show", "play.mathfun-unblocked.net")
    assert (shown["kind"], shown["product"]["name"]) == ("district", "MathFun"), shown
    assert findings_of(cfg)[("unknown_domain", "weird-stats.xyz")]["state"] == "open"

    evaluate(cfg)  # the next evaluation uses the labels
    after = findings_of(cfg)
    for domain in ("weird-stats.xyz", "mathfun-unblocked.net", "example.com"):
        f = after[("unknown_domain", domain)]
        assert (f["state"], f["resolution"]) == ("resolved", "cleared"), f
    assert "now in the catalog as MathFun (requested)" in \
        after[("unknown_domain", "mathfun-unblocked.net")]["state_reason"]
    assert after[("unknown_domain", "weird-stats.xyz")]["state_reason"].endswith(
        "now noise (telemetry)")
    assert ("pending_review", "mathfun") in after  # a requested product in use
    kb = run(cfg, "catalog", "show", "mathfun", "--json")
    assert json.loads(kb.stdout)["history"][0]["kind"] == "create"
    err = run(cfg, "triage", "label", "x.example", "--noise", "cdn", "--app", "quizlet",
              "--reason", "r", ok=False)
    assert err.exit_code == 2 and "exactly one of" in err.output


def test_triage_suggests_apps_and_a_kb_app_becomes_a_product(cfg: Path, tmp_path: Path) -> None:
    students = [f"10.10.0.{i}" for i in range(1, 13)]
    log = bind_log(tmp_path / "queries.log", dt.date(2026, 11, 28), {
        "img.kahootcdn.net": students,           # the brand glued to a word
        "kahoot.media-edge.net": students,       # the brand as a host label
        "play.mathfun-unblocked.net": students,  # no brand at all
        "play.kahoot.it": students,              # the app itself (known, not in the catalog)
    })
    scan(cfg, log)
    assert findings_of(cfg)[("unvetted_app", "kahoot")]["state"] == "open"
    queue = {d["domain"]: d for d in as_json(cfg, "triage", "list")["domains"]}
    hint = {d: [(s["kind"], s["id"], s["why"]) for s in q["suggestions"]] for d, q in queue.items()}
    assert hint == {"kahootcdn.net": [("known", "kahoot", "brand 'kahoot' in kahootcdn")],
                    "media-edge.net": [("known", "kahoot", "brand 'kahoot' in kahoot.media-edge.net")],
                    "mathfun-unblocked.net": []}, hint
    # A hint is no classification: the domains stay unknown until a person labels them.
    assert as_json(cfg, "kb", "show", "img.kahootcdn.net")["kind"] == "unknown"
    text = run(cfg, "triage", "list").output
    assert "Kahoot! (--app kahoot)" in text
    assert next(ln for ln in text.splitlines() if "mathfun" in ln).rstrip().endswith("-")

    # Labelling with the KB app's id puts the app in the catalog, with its own domains.
    res = run(cfg, "triage", "label", "kahootcdn.net", "--app", "kahoot", "--reason", "their CDN")
    assert "new product kahoot (Kahoot!, requested) from the knowledge base" in res.output
    shown = as_json(cfg, "catalog", "show", "kahoot")["product"]
    assert shown["category"] == "assessment" and shown["review"]["status"] == "requested"
    assert "kahoot.it" in shown["domains"] and shown["domains"][-1] == "kahootcdn.net"
    for host in ("img.kahootcdn.net", "play.kahoot.it"):
        got = as_json(cfg, "kb", "show", host)
        assert (got["kind"], got["product"]["id"]) == ("district", "kahoot"), got
    # A second domain goes to the product now in the catalog.
    res = run(cfg, "triage", "label", "media-edge.net", "--app", "kahoot", "--reason", "edge")
    assert "added to kahoot (Kahoot!, requested)" in res.output
    evaluate(cfg)
    after = findings_of(cfg)
    assert after[("unknown_domain", "kahootcdn.net")]["resolution"] == "cleared"
    assert ("pending_review", "kahoot") in after  # one product in review, in use
    assert after[("unvetted_app", "kahoot")]["resolution"] == "cleared"
    err = run(cfg, "triage", "label", "x.example", "--app", "no-such-app", "--reason", "r",
              ok=False)
    assert err.exit_code == 1 and "no-such-app" in err.output


def test_labels_can_be_taken_back_and_products_removed(cfg: Path, tmp_path: Path,
                                                      db_url: str) -> None:
    students = [f"10.10.0.{i}" for i in range(1, 13)]
    log = bind_log(tmp_path / "queries.log", dt.date(2026, 11, 28), {
        "cdn.weird-stats.xyz": students, "play.mathfun-unblocked.net": students,
        "www.quiz-hub.example.com": students})
    scan(cfg, log)
    run(cfg, "triage", "label", "weird-stats.xyz", "--noise", "telemetry", "--reason", "beacon")
    run(cfg, "triage", "label", "mathfun-unblocked.net", "--new-app", "MathFun",
        "--reason", "a game site")
    run(cfg, "triage", "label", "example.com", "--app", "quizlet", "--reason", "mirror")
    evaluate(cfg)
    assert findings_of(cfg)[("unknown_domain", "weird-stats.xyz")]["state"] == "resolved"

    # A domain that is no label, and a product's only domain, are refused.
    err = run(cfg, "triage", "unlabel", "never-labelled.org", "--reason", "r", ok=False)
    assert err.exit_code == 1 and "neither labelled noise nor a domain" in err.output
    err = run(cfg, "triage", "unlabel", "mathfun-unblocked.net", "--reason", "r", ok=False)
    assert err.exit_code == 1 and "sentinel catalog remove mathfun" in err.output

    out = run(cfg, "triage", "unlabel", "weird-stats.xyz", "--reason", "not telemetry").output
    assert "no longer noise (telemetry)" in out
    out = run(cfg, "triage", "unlabel", "example.com", "--reason", "not Quizlet's").output
    assert "no longer a domain of quizlet" in out
    assert json.loads(run(cfg, "catalog", "show", "quizlet", "--json").stdout)[
        "product"]["domains"] == ["quizlet.com"]
    run(cfg, "catalog", "remove", "mathfun", "--reason", "labelled by mistake")
    err = run(cfg, "catalog", "show", "mathfun", ok=False)
    assert err.exit_code == 1
    err = run(cfg, "catalog", "remove", "mathfun", "--reason", "again", ok=False)
    assert err.exit_code == 1 and "no product with id 'mathfun'" in err.output

    # The queue and the next evaluation see the domains unknown again.
    queued = {d["domain"] for d in as_json(cfg, "triage", "list")["domains"]}
    assert queued == {"weird-stats.xyz", "mathfun-unblocked.net", "example.com"}
    evaluate(cfg)
    after = findings_of(cfg)
    for domain in queued:
        assert after[("unknown_domain", domain)]["state"] == "open", domain
    assert after[("pending_review", "mathfun")]["state"] == "resolved"

    # Each change is on the audit chain, and the chain holds.
    store = Store.open(db_url)
    try:
        kinds = [r["payload"]["kind"] for r in audit.records(store, action="catalog.change")]
        assert kinds[-3:] == ["unlabel", "unlabel", "delete"]
        assert audit.verify(store).ok
    finally:
        store.dispose()
