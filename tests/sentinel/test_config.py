from __future__ import annotations

from pathlib import Path

import pytest

from sentinel.config import load_settings
from sentinel.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "sentinel.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(("text", "key", "reason"), [
    ('[district]\ntimezone = "Mars/Olympus"\n', "district.timezone", "unknown time zone"),
    ('[[networks]]\ncidr = "10.0.0.0/33"\nsite = "X"\n', "networks.0.cidr", "not a CIDR"),
    ('[[networks]]\ncidr = "10.0.0.0/8"\nsite = "X"\npopulation = "aliens"\n',
     "networks.0.population", "students"),
    ('[privacy]\nretention_days = 0\n', "privacy.retention_days", "greater than or equal"),
    ('[privacy.identity]\nstudents = "publish"\n', "privacy.identity.students", "keep"),
    ('[storage]\nbogus = 1\n', "storage.bogus", "Extra inputs"),
])
def test_bad_config_names_file_key_and_reason(tmp_path: Path, text: str, key: str,
                                              reason: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    msg = str(err.value)
    assert msg.startswith(f"{path}: {key}: "), msg
    assert reason in msg


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[district\n"), env={})
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.toml", env={})


def test_precedence_file_then_env_then_flags(tmp_path: Path) -> None:
    path = write(tmp_path, '[district]\ntimezone = "America/Chicago"\n[storage]\ndata_dir = "d"\n')
    s = load_settings(path, env={})
    assert s.district.timezone == "America/Chicago"
    assert s.storage.data_dir == tmp_path / "d"  # relative to the file
    s = load_settings(path, env={"SENTINEL_TIMEZONE": "America/Denver"})
    assert s.district.timezone == "America/Denver"
    s = load_settings(path, {"district.timezone": "UTC"}, env={"SENTINEL_TIMEZONE": "America/Denver"})
    assert s.district.timezone == "UTC"
    assert s.database_url == f"sqlite:///{tmp_path / 'd' / 'sentinel.db'}"


def test_a_broken_mapping_fails_at_start_up_naming_its_key(tmp_path: Path) -> None:
    cfg = tmp_path / "sentinel.toml"
    cfg.write_text('''
[[formats]]
name = "filter_a"
type = "csv"
timestamp = { field = "Time", format = "%Y-%m-%d %Q" }
[formats.fields]
url = "URL"
''')
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, env={})
    assert err.value.file == str(cfg)
    assert err.value.key == "formats.0.timestamp.format"
    assert "%Q" in err.value.reason


def test_a_mapping_becomes_a_format_the_scan_can_use(tmp_path: Path) -> None:
    from collectors.registry import FORMATS, detect_file

    cfg = tmp_path / "sentinel.toml"
    cfg.write_text('''
[[formats]]
name = "filter_b"
kind = "proxy"
type = "csv"
timestamp = { field = "When", format = "%Y-%m-%d %H:%M:%S", zone = "UTC" }
[formats.fields]
url = "Site"
client = "IP"
action = "Verdict"
[formats.actions]
Deny = "blocked"
[formats.sniff]
header = ["When", "Site", "Verdict"]
''')
    load_settings(cfg, env={})
    assert "filter_b" in FORMATS
    log = tmp_path / "export.csv"
    log.write_text("When,IP,Site,Verdict\n2026-11-29 10:00:00,10.1.2.3,https://www.gimkit.com/join,Deny\n")
    assert detect_file(log).name == "filter_b"


def test_parse_reads_a_format_the_configuration_defines(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from sentinel.cli import main

    cfg = tmp_path / "sentinel.toml"
    cfg.write_text('''
[[formats]]
name = "filter_c"
kind = "proxy"
type = "regex"
pattern = '^(?P<when>\\S+) (?P<ip>\\S+) (?P<url>\\S+) (?P<verdict>\\w+)$'
timestamp = { field = "when", format = "iso8601" }
[formats.fields]
client = "ip"
url = "url"
action = "verdict"
[formats.actions]
deny = "blocked"
''')
    log = tmp_path / "filter.log"
    log.write_text("2026-11-29T10:00:00Z 10.1.2.3 https://www.gimkit.com/join deny\n")
    res = CliRunner().invoke(main, ["-c", str(cfg), "parse", "--format", "filter_c", str(log)])
    assert res.exit_code == 0, res.output
    ev = json.loads(res.stdout.splitlines()[0])
    assert (ev["client"], ev["host"], ev["action"]) == ("10.1.2.3", "www.gimkit.com", "blocked")
