"""``sentinel findings``: filters, formats, moves, and hostile text."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from catalog.model import Catalog
from sentinel import cli_findings, lifecycle
from sentinel.cli import main
from sentinel.config import Settings
from sentinel.findings import RULES
from sentinel.store import Store
from sentinel.store.models import Finding, FindingTransition
from tests.sentinel.test_findings import NOW, TODAY, product, run, use

HOSTILE = "=HYPERLINK(\"http://evil.example\")\x1b[31m"


@pytest.fixture
def ids(settings: Settings, store: Store) -> dict[str, int]:
    """Three findings: Blooket (unvetted, medium, High), TikTok (denied, high,
    North) and a hostile one written straight into the store."""
    use(store, "www.blooket.com", clients=3)
    use(store, "tok.example", clients=4, site="North")
    run(settings, store, Catalog((product("tok", "denied"),)))
    with store.session() as s:
        s.add(Finding(rule="unvetted_app", subject="evil.example", title=HOSTILE,
                      severity="low", state="open", explanation="-2+3" + HOSTILE,
                      product=HOSTILE, status="not in catalog", hosts=["evil.example"],
                      sites=["@South"], populations=[], first_seen=NOW, last_seen=NOW,
                      created_at=NOW, updated_at=NOW))
    return {f.subject: f.id for f in lifecycle.find(store)}


def cli(db_url: str, tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--database", db_url, "--data-dir", str(tmp_path / "d"),
                                     "findings", *args])


def listed(db_url: str, tmp_path: Path, *args: str) -> list[str]:
    res = cli(db_url, tmp_path, "list", "--format", "json", *args)
    assert res.exit_code == 0, res.output
    return [f["subject"] for f in json.loads(res.stdout)]


def test_constants_follow_the_library() -> None:
    assert cli_findings.STATES == lifecycle.STATES
    assert cli_findings.ACTIVE == lifecycle.ACTIVE
    assert cli_findings.RESOLUTIONS == lifecycle.HUMAN_RESOLUTIONS
    assert set(cli_findings.SEVERITIES) == {"high", "medium", "low"}


def test_list_filters(db_url: str, tmp_path: Path, store: Store, ids: dict[str, int]) -> None:
    assert listed(db_url, tmp_path) == ["tok", "blooket", "evil.example"]
    assert listed(db_url, tmp_path, "--severity", "high") == ["tok"]
    assert listed(db_url, tmp_path, "--severity", "medium", "--severity", "low") == [
        "blooket", "evil.example"]
    assert listed(db_url, tmp_path, "--rule", "unvetted_app") == ["blooket", "evil.example"]
    assert listed(db_url, tmp_path, "--school", "NORTH") == ["tok"]
    assert listed(db_url, tmp_path, "--school", "High", "--rule", "denied_app") == []
    lifecycle.act(store, ids["tok"], "resolved", "local:amy", "blocked", resolution="blocked")
    assert listed(db_url, tmp_path) == ["blooket", "evil.example"]
    assert listed(db_url, tmp_path, "--state", "resolved") == ["tok"]
    assert listed(db_url, tmp_path, "--all") == ["blooket", "evil.example", "tok"]
    for bad, hint in ((("--rule", "nope"), "unknown rule 'nope'"),
                      (("--all", "--state", "open"), "exclude each other"),
                      (("--state", "closed"), "closed")):
        res = cli(db_url, tmp_path, "list", *bad)
        assert res.exit_code == 2 and hint in res.output, res.output


def test_json_carries_tier_details_and_state(db_url: str, tmp_path: Path,
                                            ids: dict[str, int]) -> None:
    res = cli(db_url, tmp_path, "list", "--format", "json", "--rule", "denied_app")
    (f,) = json.loads(res.stdout)
    assert f["id"] == ids["tok"] and f["tier"] == "dns" and f["state"] == "open"
    assert f["severity"] == "high" and f["details"]["score"]["base"] == 2
    assert f["explanation"].startswith("high: DNS lookups, used by 4 students at 1 school")
    assert f["rule"] in RULES


def test_csv_is_neutralised(db_url: str, tmp_path: Path, ids: dict[str, int]) -> None:
    res = cli(db_url, tmp_path, "list", "--format", "csv")
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.stdout
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [r["subject"] for r in rows] == ["tok", "blooket", "evil.example"]
    evil = rows[2]
    for key in ("title", "product"):
        assert evil[key].startswith("'=HYPERLINK") and "\\x1b[31m" in evil[key]
    assert evil["explanation"].startswith("'-2+3")
    assert evil["schools"] == "'@South"
    assert rows[0]["state"] == "open" and rows[0]["rule"] == "denied_app"
    assert rows[1]["severity"] == "medium" and rows[1]["schools"] == "High"


def test_table_is_printable(db_url: str, tmp_path: Path, ids: dict[str, int]) -> None:
    res = cli(db_url, tmp_path, "list")
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.output and "\\x1b[31m" in res.output
    assert res.output.startswith("3 findings:")
    assert "denied_app" in res.output and "[dns]" in res.output
    assert "high: DNS lookups, used by 4 students" in res.output
    empty = cli(db_url, tmp_path, "list", "--state", "suppressed")
    assert empty.exit_code == 0 and empty.output.strip() == "No findings match."


def test_moves_through_the_cli(db_url: str, tmp_path: Path, store: Store,
                               ids: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "amy")
    fid = str(ids["blooket"])
    res = cli(db_url, tmp_path, "ack", fid)
    assert res.exit_code == 0 and "open -> acknowledged" in res.output, res.output
    res = cli(db_url, tmp_path, "request-vetting", fid, "--reason", "form #12", "--actor", "bo")
    assert res.exit_code == 0 and "acknowledged -> vetting_requested: form #12" in res.output
    res = cli(db_url, tmp_path, "suppress", fid, "--until", "2099-01-31", "--reason", "vendor")
    assert res.exit_code == 0, res.output
    res = cli(db_url, tmp_path, "resolve", fid, "--as", "removed", "--reason", "uninstalled")
    assert res.exit_code == 0 and "suppressed -> resolved (removed)" in res.output
    res = cli(db_url, tmp_path, "reopen", fid, "--reason", "seen again")
    assert res.exit_code == 0, res.output
    f, moves = lifecycle.history(store, ids["blooket"])
    assert f.state == "open"
    assert [(m.actor, m.to_state) for m in moves] == [
        ("sentinel", "open"), ("local:amy", "acknowledged"), ("bo", "vetting_requested"),
        ("local:amy", "suppressed"), ("local:amy", "resolved"), ("local:amy", "open")]
    assert lifecycle.aware(moves[3].suppressed_until) == dt.datetime(2099, 1, 31, tzinfo=dt.UTC)


def test_suppress_until_a_date_is_midnight_in_the_district_zone(
        db_url: str, tmp_path: Path, store: Store, ids: dict[str, int]) -> None:
    res = CliRunner().invoke(main, ["--database", db_url, "findings", "suppress",
                                    str(ids["tok"]), "--until", "2099-06-01", "--reason", "x"],
                             env={"SENTINEL_TIMEZONE": "America/Chicago"})
    assert res.exit_code == 0, res.output
    f, _ = lifecycle.history(store, ids["tok"])
    assert lifecycle.aware(f.suppressed_until) == dt.datetime(2099, 6, 1, 5, tzinfo=dt.UTC)


@pytest.mark.parametrize(("args", "code", "message"), [
    (["resolve", "{id}", "--as", "blocked"], 2, "Missing option '--reason'"),
    (["resolve", "{id}", "--as", "cleared", "--reason", "x"], 2, "'cleared' is not one of"),
    (["resolve", "{id}", "--as", "blocked", "--reason", "  "], 1, "needs a reason"),
    (["suppress", "{id}", "--reason", "x"], 2, "Missing option '--until'"),
    (["suppress", "{id}", "--until", "2000-01-01", "--reason", "x"], 1, "not in the future"),
    (["reopen", "{id}", "--reason", "x"], 1, "is open: cannot re-open it"),
    (["ack", "{id}", "--actor", "sentinel"], 1, "reserved for Sentinel"),
    (["ack", "999999"], 1, "no finding with id 999999"),
    (["show", "999999"], 1, "no finding with id 999999"),
])
def test_refused_moves_exit_non_zero(db_url: str, tmp_path: Path, ids: dict[str, int],
                                     args: list[str], code: int, message: str) -> None:
    res = cli(db_url, tmp_path, *[a.replace("{id}", str(ids["blooket"])) for a in args])
    assert res.exit_code == code and message in res.output, (res.exit_code, res.output)


def test_ack_a_resolved_finding_is_refused(db_url: str, tmp_path: Path, store: Store,
                                           ids: dict[str, int]) -> None:
    lifecycle.act(store, ids["tok"], "resolved", "local:amy", "approved", resolution="approved")
    res = cli(db_url, tmp_path, "ack", str(ids["tok"]))
    assert res.exit_code == 1
    assert f"finding {ids['tok']} is resolved (approved): cannot acknowledge it" in res.output
    with store.session() as s:
        from sqlalchemy import func, select
        n = s.scalar(select(func.count()).select_from(FindingTransition)
                     .where(FindingTransition.finding_id == ids["tok"]))
    assert n == 2


def test_show_prints_the_history(db_url: str, tmp_path: Path, store: Store,
                                 ids: dict[str, int]) -> None:
    lifecycle.act(store, ids["evil.example"], "acknowledged", "local:amy", "looking")
    res = cli(db_url, tmp_path, "show", str(ids["evil.example"]))
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.output
    assert "state:          acknowledged" in res.output
    assert "history:" in res.output and "local:amy  open -> acknowledged: looking" in res.output
    res = cli(db_url, tmp_path, "show", str(ids["tok"]))
    assert "(raised) -> open: raised: Denied app in use: Tok [audit " in res.output
    res = cli(db_url, tmp_path, "show", str(ids["tok"]), "--format", "json")
    doc = json.loads(res.stdout)
    assert doc["finding"]["rule"] == "denied_app"
    assert [(t["actor"], t["from"], t["to"]) for t in doc["transitions"]] == [
        ("sentinel", None, "open")]
    assert isinstance(doc["transitions"][0]["audit_seq"], int)


def test_scan_of_a_later_day_keeps_the_resolution(settings: Settings, store: Store,
                                                  db_url: str, tmp_path: Path,
                                                  ids: dict[str, int]) -> None:
    """resolve, re-scan (nothing new), then use after the resolution re-opens it."""
    res = cli(db_url, tmp_path, "resolve", str(ids["blooket"]), "--as", "blocked",
              "--reason", "blocked at the filter")
    assert res.exit_code == 0, res.output
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    run(settings, store, Catalog((product("tok", "denied"),)), now=later)
    f, _ = lifecycle.history(store, ids["blooket"])
    assert (f.state, f.resolution) == ("resolved", "blocked")
    # (The hand-made finding no rule raises is cleared by that scan.)
    assert listed(db_url, tmp_path, "--state", "resolved") == ["blooket", "evil.example"]
    use(store, "www.blooket.com", clients=3, first=50, kind="proxy",
        day=later.date() + dt.timedelta(days=1), hour=1)
    run(settings, store, Catalog((product("tok", "denied"),)), now=later,
        today=TODAY + dt.timedelta(days=1))
    res = cli(db_url, tmp_path, "show", str(ids["blooket"]))
    assert "sentinel  resolved -> open: use recurred" in res.output
