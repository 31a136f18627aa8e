"""The format registry and auto-detection.

A plain dict maps names to formats, filled by discovery: adding a format is
adding a module (with ``FORMAT``) to one of the `PACKAGES`.
"""

from __future__ import annotations

import gzip
import importlib
import pkgutil
from collections.abc import Sequence
from pathlib import Path

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.driver import is_gzip
from collectors.errors import FormatError

PACKAGES = ("collectors.dns", "collectors.proxy", "collectors.sso")
"""Every module in these packages exposing ``FORMAT`` (or a ``FORMATS`` tuple) is a format."""


def _formats() -> dict[str, LogFormat]:
    found: list[LogFormat] = []
    for pkg_name in PACKAGES:
        try:
            pkg = importlib.import_module(pkg_name)
        except ModuleNotFoundError:
            continue
        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
            if info.name.startswith("_"):
                continue
            mod = importlib.import_module(f"{pkg_name}.{info.name}")
            found.extend(getattr(mod, "FORMATS", ()))
            if hasattr(mod, "FORMAT"):
                found.append(mod.FORMAT)
    out: dict[str, LogFormat] = {}
    for f in sorted(found, key=lambda f: (f.priority, f.name)):
        if f.name in out:
            raise RuntimeError(f"two log formats are named {f.name!r}")
        out[f.name] = f
    return out


FORMATS: dict[str, LogFormat] = _formats()
SNIFF_LINES = 20
SNIFF_BYTES = 64 * 1024


def get_format(name: str) -> LogFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise FormatError(
            f"unknown format {name!r}; known formats: {', '.join(sorted(FORMATS))}") from None


def detect(lines: Sequence[str], head: bytes = b"") -> LogFormat | None:
    """The first format (in priority order) whose sniff accepts this start of a file."""
    if head:
        for fmt in FORMATS.values():
            if fmt.sniff_bytes is not None and fmt.sniff_bytes(head):
                return fmt
    sample = [ln for ln in lines if ln.strip()][:SNIFF_LINES]
    if not sample:
        return None
    for fmt in FORMATS.values():
        if fmt.sniff_bytes is None and fmt.sniff(sample):
            return fmt
    return None


def head_bytes(path: Path, max_bytes: int = SNIFF_BYTES) -> bytes:
    """The first bytes of a file, decompressed."""
    opener = gzip.open if is_gzip(path) else open
    with opener(path, "rb") as fh:
        data: bytes = fh.read(max_bytes)
    return data


def head_lines(path: Path, limit: int = SNIFF_LINES, max_bytes: int = 256 * 1024) -> list[str]:
    text = head_bytes(path, max_bytes).decode("utf-8", errors="replace")
    return [ln.rstrip("\r") for ln in text.split("\n") if ln.strip()][:limit]


def detect_file(path: Path) -> LogFormat:
    head = head_bytes(path)
    text = head.decode("utf-8", errors="replace")
    lines = [ln.rstrip("\r") for ln in text.split("\n") if ln.strip()][:SNIFF_LINES]
    fmt = detect(lines, head)
    if fmt is None:
        raise FormatError(
            f"{path}: cannot detect the log format from its first lines; "
            f"pass --format with one of: {', '.join(sorted(FORMATS))}")
    return fmt





def register(formats: Sequence[LogFormat]) -> None:
    """Add formats defined at run time (admin mappings from the configuration),
    keeping detection in priority order. A name registered again is replaced."""
    merged = {**FORMATS, **{f.name: f for f in formats}}
    FORMATS.clear()
    FORMATS.update(sorted(merged.items(), key=lambda kv: (kv[1].priority, kv[0])))


__all__ = ["FORMATS", "LineParser", "LogFormat", "ParseContext", "detect", "detect_file",
           "get_format", "head_bytes", "head_lines", "is_gzip", "register"]
