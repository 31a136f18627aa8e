"""Config changes are audit records (config.change), passwords masked."""

from __future__ import annotations

from pathlib import Path

from sentinel import audit
from sentinel.app import open_context
from sentinel.audit import _mask_url
from sentinel.config import load_settings


def test_config_changes_are_recorded_once_each(tmp_path: Path) -> None:
    cfg = tmp_path / "sentinel.toml"
    cfg.write_text(f'[storage]\ndata_dir = "{tmp_path / "d"}"\n[findings]\nwindow_days = 7\n')
    ctx = open_context(load_settings(cfg, env={}))
    open_context(load_settings(cfg, env={}))  # unchanged: no second record
    recs = audit.records(ctx.store, action="config.change")
    assert len(recs) == 1 and recs[0]["subject"] == str(cfg)
    assert recs[0]["payload"]["settings"]["findings.window_days"] == 7
    cfg.write_text(f'[storage]\ndata_dir = "{tmp_path / "d"}"\n[findings]\nwindow_days = 14\n')
    open_context(load_settings(cfg, env={}))
    recs = audit.records(ctx.store, action="config.change")
    assert len(recs) == 2
    assert recs[1]["payload"]["changed"] == {"findings.window_days": [7, 14]}
    assert audit.verify(ctx.store).ok


def test_database_passwords_are_masked() -> None:
    assert _mask_url("postgresql+psycopg://sentinel:s3cret@db/x") == \
        "postgresql+psycopg://sentinel:***@db/x"
    assert _mask_url("sqlite:////var/lib/sentinel/sentinel.db") == \
        "sqlite:////var/lib/sentinel/sentinel.db"


def test_a_failed_scan_is_recorded_and_still_raises(tmp_path: Path) -> None:
    import pytest

    from sentinel.app import run_scan
    from sentinel.errors import ConfigError

    cfg = tmp_path / "sentinel.toml"
    cfg.write_text(f'[storage]\ndata_dir = "{tmp_path / "d"}"\n')
    ctx = open_context(load_settings(cfg, env={}))
    with pytest.raises(ConfigError, match="no such file"):
        run_scan(ctx, [tmp_path / "missing.log"], actor="cli:test")
    (rec,) = audit.records(ctx.store, action="ingest.run")
    assert (rec["subject"], rec["actor"], rec["payload"]["status"]) == \
        ("failed scan", "cli:test", "failed")
    assert "no such file" in rec["payload"]["error"]
    assert rec["payload"]["paths"] == [str(tmp_path / "missing.log")]
