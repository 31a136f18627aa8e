"""The main job end to end on the demo district (small), through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from sentinel.cli import main
from sentinel.demo import PLANTED, PLANTED_SSO, PRODUCTS


def scan_json(cfg: Path) -> dict:  # type: ignore[type-arg]
    res = CliRunner().invoke(main, ["-c", str(cfg), "scan", "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_demo_scan_names_the_planted_problems(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "demo"), "--devices", "300",
                                    "--end", "2026-11-28"])
    assert res.exit_code == 0, res.output
    cfg = tmp_path / "demo" / "sentinel.toml"
    out = scan_json(cfg)
    by_rule: dict[str, set[str]] = {}
    for f in out["findings"]:
        by_rule.setdefault(f["rule"], set()).add(f["product"])
    # Known apps not in the catalog are unvetted_app; the unknown domain is
    # unknown_domain (pending triage).
    apps = [n for n in PLANTED["unvetted"] if "." not in n]
    domains = [n for n in PLANTED["unvetted"] if "." in n]
    for name in apps:
        assert any(name in p for p in by_rule["unvetted_app"]), (name, by_rule)
    assert by_rule["unknown_domain"] == set(domains), by_rule["unknown_domain"]
    assert set(PLANTED["denied"]) <= by_rule["denied_app"]
    assert set(PLANTED["contract_expired"]) <= by_rule["contract_expired"]
    # Nothing else: infrastructure noise and approved apps are never "unvetted".
    assert all(any(name in p for name in apps) for p in by_rule["unvetted_app"]), \
        by_rule["unvetted_app"]
    catalog_names = {p[0] for p in PRODUCTS}
    assert not by_rule["unvetted_app"] & catalog_names
    # The catalog's own gaps: a product in review in use, approved ones without a DPA.
    assert by_rule["pending_review"] == {"Wayground"}
    assert by_rule["no_contract"] == {"Scratch", "Wikipedia"}
    # A week of logs is no baseline: no app counts as new.
    assert "new_app" not in by_rule
    assert all(f["state"] == "open" and f["explanation"].startswith(f["severity"] + ": ")
               for f in out["findings"])
    # The Google Workspace token log raises exactly the planted SSO findings,
    # naming the scopes; the app revoked by all, and the approved apps within
    # their allowed data, raise nothing.
    sso = {r: by_rule.get(r, set()) for r in PLANTED_SSO}
    assert sso == {r: set(names) for r, names in PLANTED_SSO.items()}, sso
    explained = {(f["rule"], f["product"]): f["explanation"] for f in out["findings"]}
    assert "drive" in explained[("unvetted_grant", "QuizWhiz Pro")]
    assert "gmail.readonly" in explained[("unvetted_grant", "EssayGenie AI")]
    assert "drive (files)" in explained[("scope_drift", "Kahoot!")]
    assert explained[("unvetted_grant", "QuizWhiz Pro")].startswith("high: OAuth grant with")
    assert "student accounts" in explained[("unvetted_grant", "EssayGenie AI")]
    assert not any("PDF Merger" in p for ps in by_rule.values() for p in ps)
    formats = {i["path"].rsplit("/", 1)[-1]: i for i in out["inputs"]}
    assert formats["token.ndjson"]["format"] == "gws_token"
    assert formats["access.log"]["format"] == "squid"
    assert formats["queries.log.6.gz"]["rejected"] == 4
    assert formats["access.log"]["rejected"] == 2
    # The elementary schools' web traffic: a FortiGate and a Lightspeed export (a preset).
    assert formats["fortigate.log"]["format"] == "fortigate"
    assert formats["activity.csv"]["format"] == "lightspeed_csv"
    for name in ("fortigate.log", "activity.csv"):
        assert formats[name]["parsed"] > 100 and formats[name]["rejected"] == 0, formats[name]
    again = scan_json(cfg)
    assert all(i["status"] == "unchanged" for i in again["inputs"])
    assert [(f["rule"], f["subject"], f["events"], f["clients"]) for f in again["findings"]] == \
        [(f["rule"], f["subject"], f["events"], f["clients"]) for f in out["findings"]]
    html = (tmp_path / "report.html").read_text()
    assert "Blooket" in html and "10.1" not in html.split("<h2>Inputs</h2>")[0]
    # The work queue: resolving TikTok as blocked holds over a re-evaluation,
    # since no use follows the resolution.
    run = CliRunner()
    listed = json.loads(run.invoke(main, ["-c", str(cfg), "findings", "list", "--format",
                                          "json"]).stdout)
    assert sorted(f["id"] for f in listed) == sorted(f["id"] for f in out["findings"])
    tiktok = next(f["id"] for f in listed if f["rule"] == "denied_app")
    res = run.invoke(main, ["-c", str(cfg), "findings", "resolve", str(tiktok), "--as",
                            "blocked", "--reason", "blocked at the filter"])
    assert res.exit_code == 0, res.output
    assert run.invoke(main, ["-c", str(cfg), "report"]).exit_code == 0
    res = run.invoke(main, ["-c", str(cfg), "findings", "list", "--state", "resolved"])
    assert "TikTok" in res.output and "resolved (blocked)" in res.output, res.output


def test_demo_is_deterministic(tmp_path: Path) -> None:
    import datetime as dt

    from sentinel.demo import generate
    a = generate(tmp_path / "a", devices=60, days=2, end=dt.date(2026, 11, 28)).parent
    b = generate(tmp_path / "b", devices=60, days=2, end=dt.date(2026, 11, 28)).parent
    for f in ("catalog.csv", "logs/named/queries.log", "logs/squid/access.log"):
        assert (a / f).read_bytes() == (b / f).read_bytes()


def test_hostile_log_text_is_escaped_in_html_and_terminal(tmp_path: Path) -> None:
    log = tmp_path / "<script>alert(1)<\x1b[31m.log"
    log.write_text(
        "1795960981.101 5 10.10.0.1 TCP_MISS/200 10 GET http://x.example/<script> - HIER_DIRECT/a -\n"
        + "".join(f"1795960981.101 5 10.10.0.{i} TCP_MISS/200 10 GET http://evil\x1b.example/ - "
                  "HIER_DIRECT/a -\n" for i in range(3)))
    res = CliRunner().invoke(main, ["--data-dir", str(tmp_path / "d"), "scan", str(log)])
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.output
    html = (tmp_path / "d" / "report.html").read_text()
    assert "<script>" not in html and "\x1b" not in html
    assert "&lt;script&gt;alert(1)&lt;\\x1b[31m.log" in html


def test_demo_dns_variants_give_the_same_findings(tmp_path: Path) -> None:
    """The same district's DNS written as Windows DNS debug, Zeek and pcap reads the same."""
    seen = {}
    for fmt in ("bind", "windns_debug", "zeek_dns", "pcap"):
        res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / fmt), "--devices", "200",
                                        "--days", "2", "--end", "2026-11-27", "--dns-format", fmt])
        assert res.exit_code == 0, res.output
        out = scan_json(tmp_path / fmt / "sentinel.toml")
        dns = [i for i in out["inputs"]
                   if i["format"] not in ("squid", "fortigate", "lightspeed_csv", "gws_token")]
        assert {i["format"] for i in dns} == {fmt}
        parsed = sum(i["parsed"] for i in dns)
        findings = sorted((f["rule"], f["subject"], f["clients"]) for f in out["findings"])
        seen[fmt] = (parsed, findings)
    assert len(set(map(repr, seen.values()))) == 1, seen
    assert seen["bind"][0] > 1000


def _sections(html: str) -> dict[str, str]:
    """The report's <h2> sections by heading text (the counter in parentheses dropped)."""
    import re
    parts = re.split(r"<h2>(.*?)</h2>", html)
    return {re.sub(r"\s*\(\d+\)$", "", parts[i]): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_demo_report_names_products_and_keeps_noise_in_coverage(tmp_path: Path) -> None:
    """The issue's "done when": products by name, noise only in the coverage section."""
    import re

    from catalog.kb import load_knowledge_base
    from catalog.match import Matcher, registered_domain
    from catalog.model import Catalog
    from sentinel.demo import NOISE, UNKNOWN_DOMAIN

    res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "demo"), "--devices", "120",
                                    "--days", "2", "--end", "2026-11-28"])
    assert res.exit_code == 0, res.output
    out = scan_json(tmp_path / "demo" / "sentinel.toml")
    sections = _sections(Path(out["report"]).read_text())
    assert {"Findings", "Apps in use", "Unknown domains (top 50 by reach)", "Coverage"} <= set(sections)

    # Every row of "Apps in use" is a product name: the KB's or the district catalog's.
    kb = load_knowledge_base()
    names = {a.name for a in kb.apps} | {p[0] for p in PRODUCTS}
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([a-z-]*)</td>", sections["Apps in use"])
    assert len(rows) >= 10, rows
    assert {n for n, _ in rows} <= names, {n for n, _ in rows} - names
    # ...with a category, the district's products too (from the KB app they stand for).
    assert all(c for _, c in rows), [r for r in rows if not r[1]]

    # The demo's infrastructure hosts are noise to the matcher, and neither they nor
    # their registered domains appear outside the coverage section.
    matcher = Matcher(Catalog(), kb)
    assert {matcher.classify(h).kind for h in NOISE} == {"noise"}
    shown = sections["Findings"] + sections["Apps in use"] + sections["Unknown domains (top 50 by reach)"]
    for host in NOISE:
        assert host not in shown and registered_domain(host) not in shown, host
    # ...which names their categories, with events.
    noise_rows = re.findall(r"<tr><td>([a-z-]+)</td><td class=\"num\">([\d,]+)</td>",
                            sections["Coverage"].split("<h3>Infrastructure noise</h3>")[1])
    assert {"cdn", "os-updates", "ads-analytics"} <= {c for c, _ in noise_rows}, noise_rows
    assert all(int(n.replace(",", "")) > 0 for _, n in noise_rows)
    # The unknown domain is shown as a domain, in its own section, not as an app.
    assert registered_domain(UNKNOWN_DOMAIN[0]) in sections["Unknown domains (top 50 by reach)"]
    assert UNKNOWN_DOMAIN[0] not in sections["Apps in use"]
