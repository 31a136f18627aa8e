"""The format registry and auto-detection.

A plain dict maps names to formats; adding a format is one module exposing a
``FORMAT`` and one line here.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.errors import FormatError


def _formats() -> dict[str, LogFormat]:
    from collectors.dns import bind
    from collectors.proxy import squid

    found = [bind.FORMAT, squid.FORMAT]
    return {f.name: f for f in found}


FORMATS: dict[str, LogFormat] = _formats()
SNIFF_LINES = 20


def get_format(name: str) -> LogFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise FormatError(
            f"unknown format {name!r}; known formats: {', '.join(sorted(FORMATS))}") from None


def detect(lines: Sequence[str]) -> LogFormat | None:
    """The first format whose sniff accepts these lines."""
    sample = [ln for ln in lines if ln.strip()][:SNIFF_LINES]
    if not sample:
        return None
    for fmt in FORMATS.values():
        if fmt.sniff(sample):
            return fmt
    return None


def head_lines(path: Path, limit: int = SNIFF_LINES, max_bytes: int = 256 * 1024) -> list[str]:
    opener = gzip.open if is_gzip(path) else open
    with opener(path, "rb") as fh:
        data = fh.read(max_bytes)
    text = data.decode("utf-8", errors="replace")
    return [ln.rstrip("\r") for ln in text.split("\n") if ln.strip()][:limit]


def detect_file(path: Path) -> LogFormat:
    fmt = detect(head_lines(path))
    if fmt is None:
        raise FormatError(
            f"{path}: cannot detect the log format from its first lines; "
            f"pass --format with one of: {', '.join(sorted(FORMATS))}")
    return fmt


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


__all__ = ["FORMATS", "LineParser", "LogFormat", "ParseContext", "detect", "detect_file",
           "get_format", "head_lines", "is_gzip"]
