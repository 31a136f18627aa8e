"""The normalized event every collector produces."""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

KINDS = ("dns", "proxy", "tls", "sso")
USE_QTYPES = frozenset(("A", "AAAA", "HTTPS", "SVCB", "CNAME"))
"""DNS query types that show a device is about to use a service. Others (PTR,
TXT, SRV, MX, SOA...) are lookups by software about infrastructure: kept in the
counts, under the usage kind `DNS_OTHER`, but they raise no findings."""
DNS_OTHER = "dns-other"
ACTIONS = ("allowed", "blocked", "warned", "signin", "grant", "revoke")


class Event(NamedTuple):
    """One normalized log record.

    A NamedTuple rather than a frozen dataclass: it is immutable and slotted
    too, but builds five times faster, and millions are built per scan. The
    source location (``line``) is left out of equality and hashing.
    """

    ts: float
    """UTC time as POSIX seconds (sub-second precision kept)."""
    kind: str
    """Source kind: dns, proxy, tls or sso."""
    client: str
    """Client address as text ('' when the log has none)."""
    user: str
    """User name as logged ('' when unknown)."""
    host: str
    """Lower-case host, IDNA A-labels, no trailing dot; an IP literal as such."""
    action: str = "allowed"
    """allowed, blocked or warned; for SSO: signin, grant or revoke."""
    url: str | None = None
    qtype: str | None = None
    method: str | None = None
    status: int | None = None
    bytes_in: int | None = None
    """Bytes sent to the client (download), where the log says."""
    bytes_out: int | None = None
    """Bytes sent by the client (upload), where the log says."""
    category: str | None = None
    """The appliance's own category for the request."""
    app_id: str | None = None
    app_name: str | None = None
    scopes: tuple[str, ...] = ()
    line: int = 0
    """Line number in the source (location; not part of equality)."""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Event):
            return tuple.__eq__(self[:-1], other[:-1])
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash(self[:-1])

    @property
    def time(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.ts, dt.UTC)

    def to_json(self) -> dict[str, Any]:
        """The JSON-lines shape printed by ``sentinel parse``."""
        return {
            "timestamp": format_ts(self.ts),
            "kind": self.kind,
            "client": self.client or None,
            "user": self.user or None,
            "host": self.host or None,
            "url": self.url,
            "action": self.action,
            "qtype": self.qtype,
            "method": self.method,
            "status": self.status,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "category": self.category,
            "app_id": self.app_id,
            "app_name": self.app_name,
            "scopes": list(self.scopes),
            "line": self.line,
        }


def format_ts(ts: float) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. 2026-11-29T15:04:05.123Z."""
    t = dt.datetime.fromtimestamp(ts, dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
