"""The installed ``sentinel`` command ends quickly after its work (`cli.entry`):
exit statuses, complete output through a pipe, exit hooks and threads still
honoured."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BIN = Path(sys.executable).with_name("sentinel")
pytestmark = pytest.mark.skipif(not BIN.exists(), reason="the console script is not installed")


def run(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {"SENTINEL_DATA_DIR": str(tmp / "data"), "PATH": "/usr/bin:/bin"}
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def test_success_usage_and_error_statuses(tmp_path: Path) -> None:
    ok = run("--version", tmp=tmp_path)
    assert ok.returncode == 0 and "version" in ok.stdout
    usage = run("no-such-command", tmp=tmp_path)
    assert usage.returncode == 2 and "No such command" in usage.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[ingest]\njobs = 'many'\n")
    err = run("--config", str(bad), "catalog", "list", tmp=tmp_path)
    assert err.returncode == 1
    assert "sentinel: error:" in err.stderr and "jobs" in err.stderr


def test_a_large_output_arrives_whole_through_a_pipe(tmp_path: Path) -> None:
    got = run("kb", "search", "--json", "a", tmp=tmp_path)
    assert got.returncode == 0
    assert len(got.stdout) > 100_000  # far more than a pipe's buffer
    assert json.loads(got.stdout)  # complete: parses to the end


def test_exit_hooks_and_threads_run_before_the_process_ends(tmp_path: Path) -> None:
    marks = tmp_path / "marks.txt"
    script = textwrap.dedent(f"""
        import atexit, sys, threading, time
        from sentinel.cli import entry
        path = {str(marks)!r}
        atexit.register(lambda: open(path, "a").write("atexit\\n"))
        def late() -> None:
            time.sleep(0.3)
            open(path, "a").write("thread\\n")
        threading.Thread(target=late).start()  # not a daemon: exit waits for it
        sys.argv = ["sentinel", "--version"]
        entry()
    """)
    got = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env={"SENTINEL_DATA_DIR": str(tmp_path / "data")}, timeout=60,
                         check=False)
    assert got.returncode == 0, got.stderr
    assert marks.read_text().splitlines() == ["thread", "atexit"]


def test_sys_exit_with_a_message_prints_it_and_fails(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import sys
        import sentinel.cli as cli
        def boom() -> None:
            sys.exit("sentinel: stopped on purpose")
        cli.main = boom
        cli.entry()
    """)
    got = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, check=False)
    assert got.returncode == 1
    assert "stopped on purpose" in got.stderr
