"""The service's errors; the tree is drawn in `collectors.errors`."""

from collectors.errors import FormatError, ParseError, SentinelError


class ConfigError(SentinelError):
    """A configuration that cannot be used: names the file, the key and the reason."""

    def __init__(self, reason: str, file: str | None = None, key: str | None = None) -> None:
        self.file, self.key, self.reason = file, key, reason
        where = ": ".join(p for p in (file, key) if p)
        super().__init__(f"{where}: {reason}" if where else reason)


class StorageError(SentinelError):
    """The database refused an operation or cannot be reached."""


__all__ = ["ConfigError", "FormatError", "ParseError", "SentinelError", "StorageError"]
