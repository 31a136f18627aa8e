"""The main job end to end on the demo district (small), through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from sentinel.cli import main
from sentinel.demo import PLANTED, PRODUCTS


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
    for name in PLANTED["unvetted"]:
        assert any(name in p for p in by_rule["unvetted_app"]), (name, by_rule)
    assert set(PLANTED["denied"]) <= by_rule["denied_app"]
    assert set(PLANTED["contract_expired"]) <= by_rule["contract_expired"]
    # Nothing else: infrastructure noise and approved apps are never "unvetted".
    assert all(any(name in p for name in PLANTED["unvetted"]) for p in by_rule["unvetted_app"]), \
        by_rule["unvetted_app"]
    catalog_names = {p[0] for p in PRODUCTS}
    assert not by_rule["unvetted_app"] & catalog_names
    formats = {i["path"].rsplit("/", 1)[-1]: i for i in out["inputs"]}
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
        dns = [i for i in out["inputs"] if i["format"] not in ("squid", "fortigate", "lightspeed_csv")]
        assert {i["format"] for i in dns} == {fmt}
        parsed = sum(i["parsed"] for i in dns)
        findings = sorted((f["rule"], f["subject"], f["clients"]) for f in out["findings"])
        seen[fmt] = (parsed, findings)
    assert len(set(map(repr, seen.values()))) == 1, seen
    assert seen["bind"][0] > 1000
