"""Ingest: files -> collectors -> daily usage aggregates -> store.

Each input is read from its checkpoint. Aggregates, the checkpoint, the
quarantined samples and the run's counters are committed in one transaction
every ``ingest.commit_lines`` lines and at the end, so a crash or a restart
neither loses nor double-counts events.
"""

from __future__ import annotations

import datetime as dt
import gc
import glob
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from collectors.driver import Batch, FileIdentity, ReadStats, read_batches, settled
from collectors.event import DNS_OTHER, USE_QTYPES, Event
from collectors.fold import Tally
from collectors.registry import LogFormat, ParseContext, detect_file, get_format
from sentinel.config import Settings, _zone
from sentinel.errors import ConfigError
from sentinel.privacy import Identities, load_or_create_key
from sentinel.store import Store, aware
from sentinel.store.models import (
    Checkpoint,
    IngestRun,
    Quarantine,
    SsoApp,
    SsoGrant,
    UrlSample,
    UsageRow,
)

log = logging.getLogger("sentinel")

UPLOAD_METHODS = frozenset(("POST", "PUT", "PATCH"))
UPLOAD_MIN_BYTES = 10_240
"""A POST/PUT/PATCH sending at least this much counts as an upload (default)."""

Progress = Callable[[int, int], None]
"""Called with (bytes consumed so far in this input, lines so far)."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Aggregator:
    """Folds events into per-day usage.

    The hot loop keys on the raw (kind, client, user, host) of each event;
    sites, populations and pseudonyms are resolved once per unique key at flush.
    """

    def __init__(self, tz: dt.tzinfo, store_urls: bool = False,
                 upload_min_bytes: int = UPLOAD_MIN_BYTES) -> None:
        self.tz = tz
        self.store_urls = store_urls
        self.upload_min_bytes = upload_min_bytes
        self.days: dict[dt.date, dict[tuple[str, str, str, str], list[Any]]] = {}
        self.urls: dict[tuple[dt.date, str, str], int] = {}
        self._lo = self._hi = 0.0
        self._cur: dict[tuple[str, str, str, str], list[Any]] = {}
        self._day: dt.date | None = None
        self.first: float | None = None
        self.last: float | None = None
        self.grants: dict[tuple[str, str], list[Any]] = {}
        """(app key, raw user) -> grant accumulator (see `_grant`)."""
        self.apps: dict[str, list[Any]] = {}
        """App key -> [app id, app name, first seen, last seen]."""

    def _switch(self, ts: float) -> None:
        day = dt.datetime.fromtimestamp(ts, self.tz).date()
        start = dt.datetime.combine(day, dt.time(), self.tz).timestamp()
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), self.tz).timestamp()
        self._lo, self._hi, self._day = start, end, day
        self._cur = self.days.setdefault(day, {})

    def add(self, events: Iterable[Event]) -> None:
        key_of = itemgetter(1, 2, 3, 4)
        lo, hi, cur = self._lo, self._hi, self._cur
        first = last = None
        for ev in events:
            ts = ev[0]
            if not lo <= ts < hi:
                self._switch(ts)
                lo, hi, cur = self._lo, self._hi, self._cur
            key = key_of(ev)
            if ev[7] is not None and ev[1] == "dns" and ev[7] not in USE_QTYPES:
                key = (DNS_OTHER, *key[1:])
            elif not ev[4] and ev[1] == "sso":
                key = self._sso(ev)
                if first is None:
                    first = ts
                last = ts
                if key is None:
                    continue
            r = cur.get(key)
            if r is None:
                cur[key] = r = [1, ts, ts, 0, 0, 0, 0]
            else:
                r[0] += 1
                if ts > r[2]:
                    r[2] = ts
                elif ts < r[1]:
                    r[1] = ts
            if ev[5] != "allowed" or ev[10] is not None or ev[11] is not None:
                self._extras(ev, r)
            if first is None:
                first = ts
            last = ts
        if first is not None and last is not None:
            self.first = first if self.first is None else min(self.first, first)
            self.last = last if self.last is None else max(self.last, last)

    def _sso(self, ev: Event) -> tuple[str, str, str, str] | None:
        """An SSO or OAuth event: its app is its host (``sso:<app key>``); a
        sign-in counts as use of kind ``sso``, a grant as ``sso-grant``; grants
        and revocations also update the account's grant (`flush_grants`)."""
        app = sso_app_key(ev.app_id, ev.app_name)
        seen = self.apps.get(app)
        if seen is None:
            self.apps[app] = [ev.app_id or "", ev.app_name or "", ev.ts, ev.ts]
        else:
            if ev.app_name and ev.ts >= seen[3]:
                seen[1] = ev.app_name
            seen[2], seen[3] = min(seen[2], ev.ts), max(seen[3], ev.ts)
        if ev.action in ("grant", "revoke"):
            self._grant(app, ev)
        if ev.action == "revoke":
            return None  # not use
        if ev.action == "grant":
            # A grant is the account's, wherever it was clicked: its usage row
            # counts the account, not the address (the grant row keeps that).
            return ("sso-grant", "", ev.user, "sso:" + app)
        return ("sso", ev.client, ev.user, "sso:" + app)

    def _grant(self, app: str, ev: Event) -> None:
        # [first grant, last grant, last revoke, {scope: last granted}, grants, revokes,
        #  the newest event's client, its time]: one per account and app, whatever
        # addresses the account used (the newest one is kept, as in the store).
        key = (app, ev.user)
        ts = ev.ts
        g = self.grants.get(key)
        if g is None:
            g = self.grants[key] = [None, None, None, {}, 0, 0, ev.client, ts]
        elif ts >= g[7]:
            g[6], g[7] = ev.client, ts
        if ev.action == "grant":
            g[4] += 1
            g[0] = ts if g[0] is None else min(g[0], ts)
            g[1] = ts if g[1] is None else max(g[1], ts)
            if g[2] is None or ts > g[2]:
                _grant_scopes(g[3], ev.scopes, ts)
        else:
            g[5] += 1
            if g[2] is None or ts > g[2]:
                g[2] = ts
                g[3] = {sc: t for sc, t in g[3].items() if t > ts}

    def flush_grants(self, ids: Identities) -> tuple[list[GrantRow], list[AppRow]]:
        """Grants and apps so far, identities resolved; then start afresh."""
        out: dict[tuple[str, str], GrantRow] = {}
        for (app, user), g in self.grants.items():
            site, population, c, u = ids.resolve(g[6], user)
            row = GrantRow(app, u, site, population, c, g[3], g[4], g[5], g[0], g[1], g[2])
            prev = out.get((app, u))
            out[(app, u)] = row if prev is None else merge_grants(prev, row)
        apps = [AppRow(k, *v) for k, v in self.apps.items()]
        self.grants.clear()
        self.apps.clear()
        return [out[k] for k in sorted(out)], sorted(apps)

    def _extras(self, ev: Event, r: list[Any]) -> None:
        if ev.action == "blocked":
            # Evidence of attempted use, not of data shared: the bytes of a
            # block page and a refused upload are not counted.
            r[3] += 1
            return
        if ev.bytes_in:
            r[4] += ev.bytes_in
        if ev.bytes_out:
            r[5] += ev.bytes_out
            if ev.method in UPLOAD_METHODS and ev.bytes_out >= self.upload_min_bytes:
                r[6] += 1

    def keys(self) -> int:
        # A pending grant weighs about three usage rows (its scopes, and the stored
        # grant read back and merged at the flush): count it so, to bound memory.
        return sum(len(acc) for acc in self.days.values()) + 3 * len(self.grants)

    def add_urls(self, events: Iterable[Event]) -> None:
        for ev in events:
            if ev.url and ev.host:
                day = dt.datetime.fromtimestamp(ev.ts, self.tz).date()
                key = (day, ev.host, strip_query(ev.url))
                self.urls[key] = self.urls.get(key, 0) + 1

    def flush(self, ids: Identities, tallies: Iterable[Tally] = ()) -> list[UsageRow]:
        """The usage rows so far (and ``tallies`` from a folder), identities
        resolved; then start afresh."""
        out: dict[tuple[Any, ...], list[Any]] = {}
        resolve = ids.resolve
        tallies = tallies if isinstance(tallies, list) else list(tallies)
        seen: dict[tuple[str, str], tuple[str, str, str, str]] = {}
        get_id = seen.get
        get = out.get
        for t in tallies:
            who = get_id((t[2], t[3]))
            if who is None:
                who = seen[(t[2], t[3])] = resolve(t[2], t[3])
            key = (t[0], t[4], *who, t[1])
            row = get(key)
            if row is None:
                out[key] = [t[5], t[8], t[9], t[10], t[11], t[6], t[7]]
            else:
                _add(row, t[5], t[8], t[9], t[10], t[11], t[6], t[7])
        if tallies:
            first = min(map(itemgetter(6), tallies))
            last = max(map(itemgetter(7), tallies))
            self.first = first if self.first is None else min(self.first, first)
            self.last = last if self.last is None else max(self.last, last)
        for day, acc in self.days.items():
            for (kind, client, user, host), r in acc.items():
                site, population, c, u = resolve(client, user)
                key = (day, host, site, population, c, u, kind)
                row = out.get(key)
                if row is None:
                    out[key] = [r[0], r[3], r[4], r[5], r[6], r[1], r[2]]
                else:  # two raw identities resolving to one, or a folded twin
                    _add(row, r[0], r[3], r[4], r[5], r[6], r[1], r[2])
        self.days.clear()
        self._lo = self._hi = 0.0
        # Plain tuples in `UsageRow` order: cheap to build and to pickle. The
        # store's writers put them in key order (`upsert_usage`, `stage_usage`).
        rows: list[UsageRow] = [(*k, *v) for k, v in out.items()]  # type: ignore[misc]
        return rows


MAX_SCOPES = 256
"""Scopes kept per grant: a hostile or broken log cannot grow one without bound."""


_SCOPE_NAMES: dict[str, str] = {}
"""One string per distinct scope name: grants hold the same few hundred scopes
millions of times, and each event decodes its own copy."""


def _grant_scopes(into: dict[str, float], scopes: Iterable[str], ts: float) -> None:
    names = _SCOPE_NAMES
    for sc in scopes:
        name = names.get(sc)
        if name is None:
            if len(names) >= 100_000:
                names.clear()
            name = names[sc] = sc[:512]
        sc = name
        t = into.get(sc)
        if t is None:
            if len(into) < MAX_SCOPES:
                into[sc] = ts
        elif ts > t:
            into[sc] = ts


def sso_app_key(app_id: str | None, app_name: str | None) -> str:
    """How an SSO app is keyed in usage: its id, else ``name:`` its folded name."""
    if app_id:
        return app_id.strip()[:240]
    name = " ".join((app_name or "").split()).casefold()
    return "name:" + (name[:235] or "unknown")


class GrantRow(NamedTuple):
    """One account's grant to one app, as a unit hands it to the store."""

    app_key: str
    user: str
    site: str
    population: str
    client: str
    scopes: dict[str, float]
    """Live scope -> when it was last granted (POSIX seconds): granted after the
    last revocation. A scope is live while its last grant is later than it."""
    grants: int
    revokes: int
    first_granted: float | None
    last_granted: float | None
    last_revoked: float | None

    @property
    def active(self) -> bool:
        return self.last_granted is not None and (
            self.last_revoked is None or self.last_granted > self.last_revoked)


class AppRow(NamedTuple):
    app_key: str
    app_id: str
    app_name: str
    first_seen: float
    last_seen: float


def _mx(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def _mn(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def merge_grants(old: GrantRow, new: GrantRow) -> GrantRow:
    """Two accounts of one grant, in either order (the result is the same): the
    latest revocation drops every scope not granted after it; the side with the
    newer activity gives the identity fields."""
    revoked = _mx(old.last_revoked, new.last_revoked)
    scopes = dict(old.scopes)
    for sc, t in new.scopes.items():
        if t > scopes.get(sc, -1.0):
            scopes[sc] = t
    if revoked is not None:
        scopes = {sc: t for sc, t in scopes.items() if t > revoked}
    if len(scopes) > MAX_SCOPES:
        scopes = dict(sorted(scopes.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_SCOPES])
    newer = new if _activity(new) >= _activity(old) else old
    return GrantRow(old.app_key, old.user, newer.site, newer.population, newer.client, scopes,
                    old.grants + new.grants, old.revokes + new.revokes,
                    _mn(old.first_granted, new.first_granted),
                    _mx(old.last_granted, new.last_granted), revoked)


def _activity(g: GrantRow) -> tuple[float, str, str, str]:
    return (max(g.last_granted or 0.0, g.last_revoked or 0.0), g.site, g.population, g.client)


def _add(row: list[Any], events: int, blocked: int, bytes_in: int, bytes_out: int,
         uploads: int, first: float, last: float) -> None:
    row[0] += events
    row[1] += blocked
    row[2] += bytes_in
    row[3] += bytes_out
    row[4] += uploads
    if first < row[5]:
        row[5] = first
    if last > row[6]:
        row[6] = last


def strip_query(url: str) -> str:
    for sep in "?#;":
        cut = url.find(sep)
        if cut >= 0:
            url = url[:cut]
    return url


@dataclass
class InputResult:
    path: str
    format: str
    status: str
    stats: ReadStats
    run_id: int | None = None
    start_offset: int = 0
    end_offset: int = 0
    first_event: dt.datetime | None = None
    last_event: dt.datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "status": self.status,
                "read": self.stats.read, "parsed": self.stats.parsed,
                "ignored": self.stats.ignored, "rejected": self.stats.rejected,
                "decode_errors": self.stats.decode_errors,
                "reject_reasons": dict(self.stats.reasons),
                "start_offset": self.start_offset, "end_offset": self.end_offset}


@dataclass
class ScanResult:
    inputs: list[InputResult] = field(default_factory=list)


class InputSpec(NamedTuple):
    """One file to read: its format name (None: detect), zone and format options."""

    path: Path
    format: str | None
    tz: dt.tzinfo
    options: dict[str, Any]


def expand_inputs(settings: Settings, paths: list[Path]) -> list[InputSpec]:
    """Files to read: the paths given, or else the configured sources' globs."""
    tz = settings.tz
    if paths:
        out: list[InputSpec] = []
        for p in paths:
            if p.is_dir():
                out.extend(InputSpec(f, None, tz, {}) for f in sorted(p.iterdir()) if f.is_file())
            elif p.is_file():
                out.append(InputSpec(p, None, tz, {}))
            else:
                raise ConfigError("no such file", str(p))
        return out
    found: list[InputSpec] = []
    for src in settings.sources:
        stz = _zone(src.timezone) if src.timezone else tz
        found.extend(InputSpec(Path(m), src.format, stz, dict(src.options))
                     for m in sorted(glob.glob(src.path)))
    return found


def scan(settings: Settings, store: Store, paths: list[Path] | None = None, *,
         format_name: str | None = None, progress: Callable[[str, int], Progress] | None = None,
         reading: Callable[[], None] | None = None) -> ScanResult:
    """Read the inputs into the store. ``reading`` is called once reading has
    begun: after the reader processes are started, with ``ingest.jobs`` > 1
    (work started earlier would hold this process back from starting them)."""
    ids = Identities(settings, load_or_create_key(settings.storage.data_dir))
    result = ScanResult()
    inputs = expand_inputs(settings, paths or [])
    fixed = get_format(format_name) if format_name else None
    # Formats are detected up front, so a bad input fails before anything is read.
    work = [(i.path, fixed or (get_format(i.format) if i.format else detect_file(i.path)), i.tz,
             i.options) for i in inputs]
    jobs = min(settings.ingest.jobs, len(work))
    if jobs > 1:
        result.inputs.extend(_ingest_parallel(settings, store, work, jobs, progress, reading))
    else:
        if reading is not None:
            reading()
        for path, fmt, tz, options in work:
            cb = progress(str(path), path.stat().st_size) if progress else None
            result.inputs.append(ingest_file(settings, store, ids, path, fmt, tz, cb, options))
    with store.session() as s:
        cutoff = dt.date.today() - dt.timedelta(days=settings.privacy.retention_days)
        store.purge_usage(s, cutoff)
        _purge_grants(s, cutoff)
        _purge_quarantine(s, settings)
    return result


def _ingest_parallel(settings: Settings, store: Store,
                     work: list[tuple[Path, LogFormat, dt.tzinfo, dict[str, Any]]],
                     jobs: int, progress: Callable[[str, int], Progress] | None,
                     reading: Callable[[], None] | None = None) -> list[InputResult]:
    """Files read by ``jobs`` worker processes; this process is the one writer.

    Each worker parses and aggregates its file and hands over a `Unit` per
    commit; the writer commits each with its file's checkpoint, exactly as a
    sequential scan does, while the workers read on. (With SQLite, one writer
    is all there can be; writing from here also spares the workers any wait.)
    """
    import multiprocessing
    import queue as queue_mod

    store.clear_stale_stages()
    starts = [start_file(store, p, fmt, tz, opts) for p, fmt, tz, opts in work]
    bars = [progress(str(st.path), st.path.stat().st_size) if progress else None for st in starts]
    store.dispose()  # no pooled connection may cross the fork
    ctx = multiprocessing.get_context("fork")
    q: Any = ctx.Queue(maxsize=4)
    todo = list(range(len(starts)))
    running: dict[int, Any] = {}
    results: dict[int, InputResult] = {}
    error: BaseException | None = None
    try:
        while todo or running:
            while todo and len(running) < jobs and error is None:
                i = todo.pop(0)
                stage = str(store.stage_path(f"{os.getpid()}-{i}")) if store.stages else None
                proc = ctx.Process(target=_read_worker, args=(settings, starts[i], i, q, stage),
                                   daemon=True)
                proc.start()
                running[i] = proc
                log.info("reader %d started: %s", i + 1, starts[i].path)
            if reading is not None:
                reading()
                reading = None
            if not running:
                break
            try:
                i, kind, payload = q.get(timeout=1.0)
            except queue_mod.Empty:
                for j, proc in list(running.items()):
                    if not proc.is_alive() and proc.exitcode != 0:
                        del running[j]
                        error = error or RuntimeError(
                            f"{starts[j].path}: reader process died (exit {proc.exitcode})")
                        fail_run(store, starts[j].run_id, error)
                continue
            if kind == "unit":
                write_unit(store, starts[i], payload)
                bar = bars[i]
                if bar:
                    bar(payload.offset - starts[i].offset, payload.stats.read)
            elif kind == "done":
                results[i] = payload
                running.pop(i).join()
            else:  # "error": the worker's exception
                running.pop(i).join()
                fail_run(store, starts[i].run_id, payload)
                error = error or payload
    finally:
        for proc in running.values():
            proc.terminate()
    if error is not None:
        raise error
    return [results[i] for i in range(len(starts))]


def _read_worker(settings: Settings, st: Start, i: int, q: Any, stage: str | None) -> None:
    try:
        ids = Identities(settings, load_or_create_key(settings.storage.data_dir))
        serial = 0

        def emit(u: Unit) -> None:
            nonlocal serial
            if stage is not None and u.rows:
                # Rows go through a staging file: built here, in parallel, and
                # merged by the writer in one INSERT ... SELECT.
                serial += 1
                u.staged = Store.stage_usage(Path(f"{stage}-{serial}"), u.rows)
                u.rows = []
            q.put((i, "unit", u))

        res = read_file(settings, ids, st, emit)
        q.put((i, "done", res))
    except BaseException as exc:  # handed to the parent, which records and raises it
        q.put((i, "error", exc if _picklable(exc) else RuntimeError(f"{type(exc).__name__}: {exc}")))


def _picklable(exc: BaseException) -> bool:
    import pickle
    try:
        pickle.dumps(exc)
    except Exception:
        return False
    return True


def _purge_grants(s: Session, cutoff: dt.date) -> None:
    """Retention for SSO state: closed grants revoked before the cutoff, and
    apps last seen before it that no grant still names. Active grants stay:
    they are still access to student data."""
    from sqlalchemy import delete, select
    when = dt.datetime.combine(cutoff, dt.time(), dt.UTC)
    s.execute(delete(SsoGrant).where(SsoGrant.active.is_(False), SsoGrant.last_revoked < when))
    s.execute(delete(SsoApp).where(SsoApp.last_seen < when,
                                   SsoApp.app_key.not_in(select(SsoGrant.app_key))))


def _purge_quarantine(s: Session, settings: Settings) -> None:
    from sqlalchemy import delete
    cutoff = utcnow() - dt.timedelta(days=settings.privacy.quarantine_retention_days)
    s.execute(delete(Quarantine).where(Quarantine.created_at < cutoff))


@dataclass
class Start:
    """Where a file's read begins: its identity, checkpoint and ingest run."""

    path: Path
    fmt: LogFormat
    tz: dt.tzinfo
    options: dict[str, Any]
    ident: FileIdentity
    cp_id: int | None
    offset: int
    line: int
    mid: bool
    run_id: int


@dataclass
class Unit:
    """One commit's worth of a read: usage rows and where the file stands after
    them. Written in one transaction with the checkpoint (`write_unit`); plain
    data, so a worker process can hand it to the writer."""

    rows: Sequence[tuple[Any, ...]]
    urls: dict[tuple[dt.date, str, str], int]
    samples: list[tuple[int, str, str]]
    """(line, reason, raw) of rejected lines kept for the quarantine."""
    offset: int
    line: int
    mid_line: bool
    stats: ReadStats
    first: float | None
    last: float | None
    status: str
    staged: Path | None = None
    """The rows are in this staging file instead (`Store.stage_usage`)."""
    grants: list[GrantRow] = field(default_factory=list)
    apps: list[AppRow] = field(default_factory=list)


def start_file(store: Store, path: Path, fmt: LogFormat, tz: dt.tzinfo,
               options: dict[str, Any] | None = None) -> Start:
    """Find the file's checkpoint and open its ingest run."""
    ident = FileIdentity.of(path)
    with store.session() as s:
        cp = store.find_checkpoint(s, ident.fingerprint, ident.fp_len, ident.prefix_hash)
        offset, line, mid = (cp.offset, cp.line, cp.mid_line) if cp else (0, 0, False)
        run = IngestRun(source=str(path), format=fmt.name, kind=fmt.kind, file_size=ident.size,
                        inode=ident.inode, fingerprint=ident.fingerprint, start_offset=offset,
                        end_offset=offset, reasons={}, status="running", started_at=utcnow())
        s.add(run)
        s.flush()
        return Start(path, fmt, tz, dict(options or {}), ident, cp.id if cp else None, offset,
                     line, mid, run.id)


def write_unit(store: Store, st: Start, unit: Unit) -> None:
    """Usage, URLs, quarantine, checkpoint and run counters: one transaction."""
    ident = st.ident
    with store.writer(), store.session() as s:
        if unit.staged is not None:
            store.upsert_staged(s, unit.staged)
        else:
            store.upsert_usage(s, unit.rows)
        if unit.urls:
            _upsert_urls(s, unit.urls)
        if unit.apps:
            _upsert_apps(s, unit.apps, st.fmt.name)
        if unit.grants:
            _upsert_grants(store, s, unit.grants)
        cp_obj = s.get(Checkpoint, st.cp_id) if st.cp_id else None
        if cp_obj is None:
            cp_obj = Checkpoint(fingerprint=ident.fingerprint, fp_len=ident.fp_len,
                                path=str(st.path), inode=ident.inode, format=st.fmt.name,
                                offset=0, line=0, updated_at=utcnow())
            s.add(cp_obj)
        cp_obj.fingerprint, cp_obj.fp_len = ident.fingerprint, ident.fp_len
        cp_obj.path, cp_obj.inode = str(st.path), ident.inode
        cp_obj.offset, cp_obj.line, cp_obj.mid_line = unit.offset, unit.line, unit.mid_line
        cp_obj.updated_at = utcnow()
        now = utcnow()
        s.add_all(Quarantine(run_id=st.run_id, line=ln, reason=reason, raw=raw, created_at=now)
                  for ln, reason, raw in unit.samples)
        r = s.get(IngestRun, st.run_id)
        assert r is not None
        stats = unit.stats
        r.end_offset = unit.offset
        r.lines_read, r.parsed, r.ignored = stats.read, stats.parsed, stats.ignored
        r.rejected, r.decode_errors = stats.rejected, stats.decode_errors
        r.reasons = dict(stats.reasons)
        r.first_event = _utc(unit.first)
        r.last_event = _utc(unit.last)
        r.status = unit.status
        if unit.status != "running":
            r.ended_at = utcnow()
        s.flush()
        st.cp_id = cp_obj.id
        if unit.staged is not None:
            s.commit()
            store.drop_stage(s, unit.staged)


def fail_run(store: Store, run_id: int, exc: BaseException) -> None:
    with store.session() as s:
        r = s.get(IngestRun, run_id)
        if r is not None:
            r.status, r.error, r.ended_at = "failed", f"{type(exc).__name__}: {exc}", utcnow()


def read_file(settings: Settings, ids: Identities, st: Start, emit: Callable[[Unit], None],
              progress: Progress | None = None) -> InputResult:
    """Read a file from its start, handing a `Unit` to ``emit`` every
    ``ingest.commit_lines`` lines (or ``max_keys`` pending rows) and at the end."""
    path, fmt = st.path, st.fmt
    stats = ReadStats()
    offset, line, mid = st.offset, st.line, st.mid
    ref = dt.datetime.fromtimestamp(st.ident.mtime, dt.UTC)
    ctx = ParseContext(tz=st.tz, reference=ref, day_zone=settings.tz, options=dict(st.options),
                       max_line=settings.ingest.max_line_bytes,
                       upload_min_bytes=settings.ingest.upload_min_bytes)
    parser = fmt.make_parser(ctx)
    # Folded lines leave no event, hence no URL sample: with store_urls, proxy
    # logs are parsed line by line.
    folder = (fmt.make_folder(ctx) if fmt.make_folder and settings.ingest.compiled
              and not (settings.privacy.store_urls and fmt.kind == "proxy") else None)
    final = st.ident.compressed or settled(path, settings.ingest.settle_seconds, time.time())
    agg = Aggregator(settings.tz, settings.privacy.store_urls, settings.ingest.upload_min_bytes)
    samples: list[tuple[int, str, str]] = []
    cap, kept = settings.privacy.quarantine_samples, 0
    pending_lines = 0
    last: Batch | None = None
    result = InputResult(str(path), fmt.name, "running", stats, st.run_id, offset, offset)

    def unit(batch: Batch, status: str) -> Unit:
        nonlocal samples
        rows = agg.flush(ids, folder.drain() if folder is not None else ())
        grants, apps = agg.flush_grants(ids) if agg.apps else ([], [])
        urls = dict(agg.urls)
        agg.urls.clear()
        snap = ReadStats(stats.read, stats.parsed, stats.ignored, stats.rejected,
                         stats.decode_errors, Counter(stats.reasons))
        out = Unit(rows, urls, samples, batch.offset, batch.line, batch.mid_line, snap, agg.first,
                   agg.last, status, grants=grants, apps=apps)
        samples = []
        return out

    gc_was = gc.isenabled()
    gc.disable()  # the hot loop makes no cycles; collection only costs time here
    try:
        if fmt.read_records is not None:
            batches = fmt.read_records(path, ctx, stats, offset=offset, line=line,
                                       **_reader_options(fmt, mid, final, settings))
        else:
            batches = read_batches(path, parser, stats, offset=offset, line=line,
                                   skip_partial=mid, final=final,
                                   max_line=settings.ingest.max_line_bytes, folder=folder,
                                   replay=fmt.header_lines)
        for batch in batches:
            agg.add(batch.events)
            if agg.store_urls:
                agg.add_urls(batch.events)
            for rej in batch.rejected:
                if kept < cap:
                    kept += 1
                    samples.append((rej.line, rej.reason, rej.raw))
            pending_lines += batch.line - (last.line if last else line)
            last = batch
            if progress:
                progress(batch.offset - st.offset, stats.read)
            if (pending_lines >= settings.ingest.commit_lines
                    or agg.keys() + (folder.keys() if folder else 0) >= settings.ingest.max_keys):
                emit(unit(batch, "running"))
                pending_lines = 0
        end = last or Batch([], [], offset, line, mid)
        result.status = "completed" if last else "unchanged"
        emit(unit(end, result.status))
    finally:
        if gc_was:
            gc.enable()
    result.end_offset = end.offset
    result.first_event, result.last_event = _utc(agg.first), _utc(agg.last)
    return result


def ingest_file(settings: Settings, store: Store, ids: Identities, path: Path, fmt: LogFormat,
                tz: dt.tzinfo, progress: Progress | None = None,
                options: dict[str, Any] | None = None) -> InputResult:
    """Read one file into the store, committing as it goes."""
    st = start_file(store, path, fmt, tz, options)
    try:
        return read_file(settings, ids, st, lambda u: write_unit(store, st, u), progress)
    except BaseException as exc:
        fail_run(store, st.run_id, exc)
        raise


def _reader_options(fmt: LogFormat, mid: bool, final: bool, settings: Settings) -> dict[str, Any]:
    """The line driver's options, for record readers that take them (JSON documents
    read through the driver); binary readers do without."""
    import inspect
    assert fmt.read_records is not None
    params = inspect.signature(fmt.read_records).parameters
    wanted = {"skip_partial": mid, "final": final, "max_line": settings.ingest.max_line_bytes}
    return {k: v for k, v in wanted.items() if k in params}


def _utc(ts: float | None) -> dt.datetime | None:
    return None if ts is None else dt.datetime.fromtimestamp(ts, dt.UTC)


def _upsert_apps(s: Session, apps: list[AppRow], source: str) -> None:
    from sqlalchemy import select
    for i in range(0, len(apps), 500):
        chunk = apps[i:i + 500]
        have = {a.app_key: a for a in s.scalars(select(SsoApp).where(
            SsoApp.app_key.in_([r.app_key for r in chunk])))}
        for r in chunk:
            first, last = _utc(r.first_seen), _utc(r.last_seen)
            assert first is not None and last is not None
            row = have.get(r.app_key)
            if row is None:
                s.add(SsoApp(app_key=r.app_key, app_id=r.app_id[:255], app_name=r.app_name[:255],
                             source=source, first_seen=first, last_seen=last))
                continue
            if last >= aware(row.last_seen):
                row.last_seen = last
                row.app_name = r.app_name[:255] or row.app_name
                row.source = source
            if first < aware(row.first_seen):
                row.first_seen = first


def _upsert_grants(store: Store, s: Session, grants: list[GrantRow]) -> None:
    """Merge the unit's grants into the stored ones (same transaction as the
    checkpoint, so a re-read never counts a grant twice): read the stored
    ones, merge here, write them back whole."""
    have = {(r[0], r[1]): GrantRow(*r) for r in store.read_grants(
        s, [(g.app_key, g.user) for g in grants])}
    out = []
    for g in grants:
        old = have.get((g.app_key, g.user))
        if old is not None:
            g = merge_grants(old, g)
        out.append((*g, g.active))
    store.write_grants(s, out)


def _upsert_urls(s: Session, urls: dict[tuple[dt.date, str, str], int]) -> None:
    from sqlalchemy import select
    for (day, host, url), n in urls.items():
        row = s.scalars(select(UrlSample).where(
            UrlSample.day == day, UrlSample.host == host, UrlSample.url == url)).first()
        if row is None:
            s.add(UrlSample(day=day, host=host, url=url[:2048], events=n))
        else:
            row.events += n
