"""Exception tree shared by all three packages.

    SentinelError
     ├── ParseError        a log line or file that cannot be read (carries its location)
     ├── FormatError       an unknown or undetectable log format
     ├── CatalogError      a bad catalog or knowledge-base entry (catalog package)
     ├── ConfigError       a bad configuration value (sentinel package)
     └── StorageError      the database refused or is unreachable (sentinel package)

It lives in the lowest package so that `collectors` and `catalog` need not
import the service.
"""

from __future__ import annotations


class SentinelError(Exception):
    """Root of every error Sentinel raises on purpose."""


class ParseError(SentinelError):
    """A line that does not parse. ``reason`` is short and stable: it is the
    key under which rejected lines are counted."""

    def __init__(self, reason: str, location: str | None = None) -> None:
        self.reason = reason
        self.location = location
        super().__init__(f"{location}: {reason}" if location else reason)


class FormatError(SentinelError):
    """An unknown format name, or a file whose format cannot be detected."""
