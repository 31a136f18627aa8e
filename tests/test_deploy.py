"""The systemd units in deploy/: valid for systemd, and their command lines are
real Sentinel commands that fit the example configuration."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sentinel.cli import main
from sentinel.config import load_settings

ROOT = Path(__file__).resolve().parent.parent
UNITS = ROOT / "deploy" / "systemd"
SERVICES = sorted(UNITS.glob("*.service"))
TIMERS = sorted(UNITS.glob("*.timer"))
BINARY = "/opt/sentinel/bin/sentinel"


def unit(path: Path) -> configparser.RawConfigParser:
    cp = configparser.RawConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read(path)
    return cp


def test_the_units_are_there() -> None:
    assert [p.name for p in SERVICES] == ["sentinel-poll-google.service", "sentinel-scan.service"]
    assert [p.name for p in TIMERS] == ["sentinel-poll-google.timer", "sentinel-scan.timer"]
    for timer in TIMERS:  # each timer starts the service of its name
        assert (UNITS / timer.name.replace(".timer", ".service")).exists()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_verifies_the_units(tmp_path: Path) -> None:
    here = Path(sys.executable).parent / "sentinel"  # the binary the units name, installed here
    for path in (*SERVICES, *TIMERS):
        (tmp_path / path.name).write_text(path.read_text().replace(BINARY, str(here)))
    res = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
                         capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0 and res.stderr.strip() == "", res.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_timer_calendars_parse() -> None:
    for timer in TIMERS:
        spec = unit(timer)["Timer"]["OnCalendar"]
        res = subprocess.run(["systemd-analyze", "calendar", spec], capture_output=True,
                             text=True, timeout=60, check=False)
        assert res.returncode == 0 and "Next elapse" in res.stdout, (timer.name, res.stderr)


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="no systemd-sysusers here")
def test_sysusers_creates_the_service_user(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    res = subprocess.run(["systemd-sysusers", f"--root={tmp_path}",
                          str(UNITS / "sentinel.sysusers.conf")],
                         capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    users = {line.split(":")[0]: line for line in (tmp_path / "etc" / "passwd").read_text().splitlines()}
    assert users["sentinel"].endswith(":/var/lib/sentinel:/usr/sbin/nologin")
    for service in SERVICES:
        assert unit(service)["Service"]["User"] == "sentinel"


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_exec_start_is_a_sentinel_command(service: Path) -> None:
    argv = shlex.split(unit(service)["Service"]["ExecStart"])
    assert argv[0] == BINARY and argv[1:3] == ["-c", "/etc/sentinel/sentinel.toml"]
    example = str(ROOT / "config" / "sentinel.example.toml")  # what /etc/sentinel holds
    res = CliRunner().invoke(main, ["-c", example, *argv[3:], "--help"], prog_name="sentinel")
    assert res.exit_code == 0, res.output
    assert res.output.startswith(f"Usage: sentinel {' '.join(argv[3:])} [OPTIONS]")


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_state_and_cache_fit_the_example_configuration(service: Path) -> None:
    s = unit(service)["Service"]
    settings = load_settings(ROOT / "config" / "sentinel.example.toml")
    assert str(settings.storage.data_dir) == f"/var/lib/{s['StateDirectory']}"
    assert s["Environment"] == f"SENTINEL_CACHE_DIR=/var/cache/{s['CacheDirectory']}"
    assert s["ProtectSystem"] == "strict" and s["NoNewPrivileges"] == "yes"
    assert s["UMask"] == "0077" and s["StateDirectoryMode"] == "0700"
