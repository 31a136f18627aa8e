"""The shipped vendor presets (``collectors/presets/*.toml``) as registered formats.

Each preset is an ordinary admin mapping (see `collectors.mapping`) that ships
with Sentinel: ``lightspeed_csv``, ``securly_csv``, ``linewize_csv``.
"""

from __future__ import annotations

from collectors.mapping import preset_formats

FORMATS = preset_formats()
