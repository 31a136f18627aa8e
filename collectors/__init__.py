"""Collectors: raw logs in, normalized events out. Knows nothing of the store or catalog."""

from collectors.errors import FormatError, ParseError, SentinelError
from collectors.event import Event

__all__ = ["Event", "FormatError", "ParseError", "SentinelError"]
