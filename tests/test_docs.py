"""Keep the README and the example config true."""

from __future__ import annotations

import re
from pathlib import Path

from sentinel.config import Settings, load_settings

ROOT = Path(__file__).parent.parent


def test_readme_commands_are_make_targets() -> None:
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z]+):", makefile, re.M))
    used = set(re.findall(r"`?make ([a-z]+)", readme))
    assert {"run", "test"} <= used
    assert used <= targets, used - targets
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_example_config_loads() -> None:
    s = load_settings(ROOT / "config" / "sentinel.example.toml", env={})
    assert s.networks and s.sources


def test_every_setting_is_documented_in_the_example() -> None:
    text = (ROOT / "config" / "sentinel.example.toml").read_text()
    for section, model in Settings.model_fields.items():
        if section in ("config_file", "networks", "sources"):
            continue
        sub = model.annotation
        for key in getattr(sub, "model_fields", {}):
            assert re.search(rf"^(#? ?{key} =|\[{section}\.{key}\])", text, re.M), \
                f"{section}.{key} undocumented"


def test_every_log_format_is_in_the_readme() -> None:
    from collectors.registry import FORMATS

    readme = (ROOT / "README.md").read_text()
    missing = [name for name in FORMATS if f"`{name}`" not in readme]
    assert not missing, missing
