"""``sentinel kb search|show`` and the ``[[lists]]`` configuration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sentinel.cli import main
from sentinel.config import load_settings
from sentinel.errors import ConfigError

CATALOG = """products:
  - name: Quizlet
    vendor: Quizlet Inc.
    domains: [quizlet.com]
    status: approved
  - name: Robotics Club Site
    domains: ["=robotics.github.io"]
    status: in_review
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "catalog.yaml").write_text(CATALOG, encoding="utf-8")
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "block.hosts").write_text(
        "# district blocklist\n0.0.0.0 ads.tracker.example\n0.0.0.0 quizlet.com\n",
        encoding="utf-8")
    (tmp_path / "lists" / "games.txt").write_text("coolmathgames.com\n", encoding="utf-8")
    cfg = tmp_path / "sentinel.toml"
    cfg.write_text("""
[district]
domains = ["example-usd.org"]

[catalog]
path = "catalog.yaml"

[[lists]]
name = "district-blocklist"
path = "lists/block.hosts"
format = "hosts"

[[lists]]
name = "games"
path = "lists/games.txt"
category = "app"
""", encoding="utf-8")
    return cfg


def run(*args: str, config: Path | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    argv = (["-c", str(config)] if config else []) + list(args)
    # kb commands read the district catalog held in the store: an empty one here
    # unless a config names its own data directory.
    import tempfile
    env = {"SENTINEL_CONFIG": "", "SENTINEL_DATA_DIR": tempfile.mkdtemp(prefix="kb-")}
    res = runner.invoke(main, argv, env=env, catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


def show(host: str, config: Path | None = None) -> dict[str, Any]:
    code, out, err = run("kb", "show", "--json", host, config=config)
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def test_show_known_app_json() -> None:
    d = show("WWW.Quizlet.COM.")
    assert {k: d[k] for k in ("input", "host", "kind", "kind_label", "key", "name", "category",
                              "rule", "registered_domain")} == {
        "input": "WWW.Quizlet.COM.", "host": "www.quizlet.com", "kind": "known",
        "kind_label": "known app", "key": "quizlet", "name": "Quizlet",
        "category": "study-tools", "rule": "quizlet.com", "registered_domain": "quizlet.com"}
    assert d["app"] == {"id": "quizlet", "name": "Quizlet", "vendor": "Quizlet Inc.",
                        "student_data_risk": "high"}


def test_show_with_district_configuration(config: Path) -> None:
    d = show("quizlet.com", config)
    assert (d["kind"], d["key"], d["rule"]) == ("district", "quizlet", "quizlet.com")
    assert d["product"] == {"id": "quizlet", "name": "Quizlet", "vendor": "Quizlet Inc.",
                            "status": "approved"}
    # the KB app and the blocklist entry also apply, beaten by the district catalog
    assert [(o["kind"], o["key"]) for o in d["overridden"]] == [
        ("known", "quizlet"), ("noise", "district-blocklist")]
    assert (show("robotics.github.io", config)["kind"]) == "district"
    d = show("other.github.io", config)
    assert (d["kind"], d["key"], d["private_suffix"]) == ("unknown", "other.github.io", True)
    d = show("px.ads.tracker.example", config)
    assert (d["kind"], d["category"], d["rule"]) == ("noise", "district-blocklist",
                                                    "ads.tracker.example")
    d = show("www.coolmathgames.com", config)
    assert (d["kind"], d["key"], d["category"]) == ("known", "coolmathgames.com", "games")
    d = show("dc1.example-usd.org", config)
    assert (d["kind"], d["category"]) == ("noise", "district")


def test_show_unknown_ip_and_invalid() -> None:
    d = show("a.b.some-startup.co.uk")
    assert (d["kind"], d["key"], d["public_suffix"]) == ("unknown", "some-startup.co.uk", "co.uk")
    assert (show("[2001:DB8::1]")["kind"], show("[2001:DB8::1]")["host"]) == ("ip", "2001:db8::1")
    d = show("bad host\u202e.com")
    assert d["kind"] == "invalid" and d["host"] is None


def test_show_suggests_an_app_for_an_unknown_domain_without_applying_it() -> None:
    d = show("img.kahootcdn.net")
    assert (d["kind"], d["key"]) == ("unknown", "kahootcdn.net")
    assert d["suggestions"] == [{"kind": "known", "id": "kahoot", "name": "Kahoot!",
                                 "why": "brand 'kahoot' in kahootcdn"}]
    assert show("a.b.some-startup.co.uk")["suggestions"] == []
    assert "suggestions" not in show("www.quizlet.com")  # only unknown hosts get hints
    code, out, _ = run("kb", "show", "img.kahootcdn.net")
    assert code == 0
    assert "suggested app      Kahoot! (brand 'kahoot' in kahootcdn): not applied; " \
           "sentinel triage label kahootcdn.net --app kahoot" in out


def test_show_terminal_text_is_escaped() -> None:
    code, out, _ = run("kb", "show", "x\x1b[2J\u202eevil.com")
    assert code == 0
    assert "\x1b" not in out and "\u202e" not in out
    assert "\\x1b" in out and "invalid host" in out
    code, out, _ = run("kb", "show", "a.b.blogspot.com")
    assert "b.blogspot.com, under blogspot.com (private suffix)" in out
    assert "not applied" in out and "Blogger" in out


def test_show_text_explains_the_match(config: Path) -> None:
    code, out, _ = run("kb", "show", "www.quizlet.com", config=config)
    assert code == 0
    lines = {line[:18].strip(): line[19:] for line in out.splitlines()}
    assert lines["classifies as"] == "district product"
    assert lines["product"].startswith("Quizlet (quizlet)")
    assert lines["vetting"] == "approved"
    assert lines["rule"] == "quizlet.com"


def test_search_json_and_text(config: Path) -> None:
    code, out, _ = run("kb", "search", "--json", "quizlet", config=config)
    assert code == 0
    d = json.loads(out)
    # Quizlet itself, and apps whose vendor says Quizlet (Slader) — nothing else.
    assert "quizlet" in [a["id"] for a in d["apps"]]
    assert all("quizlet" in json.dumps(a).lower() for a in d["apps"])
    quizlet = next(a for a in d["apps"] if a["id"] == "quizlet")
    assert quizlet["domains"] == ["quizlet.com", "quizletcdn.com"]
    assert d["rules"] == [{"kind": "noise", "rule": "quizlet.com",
                           "category": "district-blocklist", "source": "list district-blocklist"}]
    code, out, _ = run("kb", "search", "coolmath", config=config)
    assert "app    coolmathgames.com" in out and "games" in out
    code, out, _ = run("kb", "search", "no-such-thing-\x1b")
    assert code == 0 and "nothing matches" in out and "\x1b" not in out


def test_config_lists_are_checked_at_start_up(tmp_path: Path, config: Path) -> None:
    settings = load_settings(config, env={})
    assert [(x.name, x.category, x.format) for x in settings.lists] == [
        ("district-blocklist", "noise", "hosts"), ("games", "app", "domains")]
    assert settings.lists[0].path == tmp_path / "lists" / "block.hosts"

    def broken(extra: str, base: str = "") -> ConfigError:
        cfg = tmp_path / "broken.toml"
        cfg.write_text(base + extra, encoding="utf-8")
        with pytest.raises(ConfigError) as info:
            load_settings(cfg, env={})
        return info.value

    err = broken('[[lists]]\nname = "x"\npath = "missing.txt"\n')
    assert (err.key, err.file) == ("lists.0.path", str(tmp_path / "broken.toml"))
    assert "cannot read" in err.reason
    err = broken('[[lists]]\nname = "x"\npath = "lists/games.txt"\nformat = "hosts"\n')
    assert err.key == "lists.0.path" and "not a hosts file" in err.reason
    err = broken('[[lists]]\nname = "x"\npath = "lists/games.txt"\ncategory = "apps"\n')
    assert err.key == "lists.0.category"
    twice = '[[lists]]\nname = "x"\npath = "lists/games.txt"\n'
    assert broken(twice * 2).key == "lists.1.name"
    err = broken('[district]\ndomains = ["ok.example", "http://bad.example/"]\n')
    assert err.key == "district.domains.1" and "is a URL" in err.reason


def test_cli_reports_a_bad_list_in_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text('[[lists]]\nname = "x"\npath = "nope.txt"\n', encoding="utf-8")
    code, _, err = run("kb", "show", "example.com", config=cfg)
    assert code == 1
    assert err.startswith("sentinel: error: ") and "lists.0.path" in err
    assert len(err.strip().splitlines()) == 1
