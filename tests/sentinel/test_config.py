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
