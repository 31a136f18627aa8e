"""Folding lines straight into usage counts, for the formats that need speed.

Most formats are parsed line by line into `Event` objects. A format whose
logs run to hundreds of millions of lines a day (BIND query logs) may also
offer a *folder*: a compiled kernel that turns a chunk of raw bytes directly
into per-day counts keyed by client and host, without building an event per
line. It takes only the lines it is sure of and hands back the rest by index,
so the Python parser stays the single reference for what a line means and for
every reject reason.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any, NamedTuple, Protocol, Self

from collectors.hosts import normalize_host


class Tally(NamedTuple):
    """The events of one (kind, client, user, host) on one day, folded."""

    day: dt.date
    """The calendar day, in the context's ``day_zone``, of every event folded here."""
    kind: str
    client: str
    user: str
    host: str
    events: int
    first: float
    """POSIX seconds of the first event."""
    last: float
    blocked: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    uploads: int = 0


class Folder(Protocol):
    def fold(self, data: bytes) -> tuple[int, list[int], int]:
        """Fold the lines of ``data`` (split on newlines; a last line needs none).

        Returns how many lines there were, the 0-based indices of those it did
        not take (for the line parser), and how many it took as valid lines
        that carry no event (the parser would have ignored them). Tallies never straddle a day of
        the context's ``day_zone``.
        """

    def keys(self) -> int:
        """How many keys are held (to bound memory)."""

    def drain(self) -> list[Tally]:
        """Everything folded so far; then start afresh.

        A folder that keeps header state (like its format's parser) may also
        have ``prime(line)``: the driver passes it the lines it replays from the
        top of a file when a read resumes (`LogFormat.header_lines`)."""


CACHE_MAX = 400_000
"""Names (and clients) a kernel remembers as valid or not, at the most."""


class KernelFolder:
    """A `Folder` around a compiled kernel (`collectors._fold`), with what the
    kernel asks of Python: the day bucket of each new minute, and whether each
    new name (and client) is valid, with its normalized form.

    Subclasses implement `_minute` for their stamps; ``canonical_clients`` has
    clients rewritten as the line parser does (``ipaddress`` text) rather than
    kept as logged.
    """

    kind = "dns"

    def __init__(self, ctx: Any, kernel_type: Any, *, canonical_clients: bool = False) -> None:
        self.day_zone = ctx.day_zone or ctx.tz
        self.days: dict[dt.date, int] = {}
        self.day_of: list[dt.date] = []
        self.kernel = kernel_type(self._minute, self._host_ok, ctx.max_line)
        if canonical_clients:
            self.kernel.set_client_check(self._client_ok)

    @classmethod
    def compiled(cls, ctx: Any, kernel: str) -> Self | None:
        """This folder around ``collectors._fold``'s ``kernel`` class, or None
        where the kernels are not compiled (the line parser does the work)."""
        try:
            import collectors._fold as _fold
        except ImportError:
            return None
        return cls(ctx, getattr(_fold, kernel))

    def _minute(self, key: Any) -> Any:
        raise NotImplementedError

    def bucket(self, ts: float) -> int:
        """The kernel's bucket of the day (in ``day_zone``) that holds ``ts``."""
        day = dt.datetime.fromtimestamp(ts, self.day_zone).date()
        idx = self.days.get(day)
        if idx is None:
            idx = self.days[day] = len(self.kernel.buckets)
            self.kernel.buckets.append({})
            self.day_of.append(day)
        return idx

    def host(self, name: str) -> str | None:
        """The normalized host of a plain name, or None: the line parser's rule."""
        try:
            return normalize_host(name)
        except ValueError:
            return None

    def _host_ok(self, name: bytes) -> bool:
        hosts = self.kernel.hosts
        if len(hosts) > CACHE_MAX:
            # Valid names are bounded by the keys held (drained at max_keys);
            # a flood of invalid ones is not: forget those.
            self.kernel.hosts = hosts = {k: v for k, v in hosts.items() if v is not None}
        hosts[name] = got = self.host(name.decode("ascii"))
        return got is not None

    def client(self, raw: str) -> str | None:
        """The canonical form of a client field, or None: the line parser's rule
        (``ipaddress`` text here; formats with their own rule override it)."""
        try:
            return str(ipaddress.ip_address(raw))
        except ValueError:
            return None

    def _client_ok(self, raw: bytes) -> bool:
        clients = self.kernel.clients
        if len(clients) > CACHE_MAX:
            self.kernel.clients = clients = {k: v for k, v in clients.items() if v is not None}
        try:
            got = self.client(raw.decode("ascii"))
        except UnicodeDecodeError:
            got = None
        clients[raw] = got
        return got is not None

    def fold(self, data: bytes) -> tuple[int, list[int], int]:
        lines, slow, _ = self.kernel.fold(data)
        return int(lines), slow, self._ignored()

    def _ignored(self) -> int:
        ignored, self.kernel.ignored = self.kernel.ignored, 0
        return int(ignored)

    def keys(self) -> int:
        return int(self.kernel.keys)

    def drain(self) -> list[Tally]:
        out: list[Tally] = self.kernel.drain(self.day_of, Tally, self.kind)
        # No key refers to the remembered names any more: keep memory bounded.
        if len(self.kernel.hosts) > CACHE_MAX // 4:
            self.kernel.hosts = {}
        if self.kernel.clients is not None and len(self.kernel.clients) > CACHE_MAX // 4:
            self.kernel.clients = {}
        return out
