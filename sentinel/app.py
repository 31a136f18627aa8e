"""Service-level operations the CLI (and later the web UI) call: one function each."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from catalog.model import Catalog
from sentinel.config import Settings
from sentinel.errors import SentinelError
from sentinel.pipeline import InputResult, Progress, scan
from sentinel.store import Store

if TYPE_CHECKING:  # imported where used: a scan starts its readers without them
    from catalog.kb import HostList, KnowledgeBase
    from catalog.match import Matcher
    from sentinel.findings import Evaluation
    from sentinel.report import ReportData
    from sentinel.store.models import Finding

log = logging.getLogger("sentinel")


class Context:
    """The store and catalog of one command. The knowledge base and matcher load
    on first use: a scan reads its logs (in worker processes, with ``--jobs``)
    before it needs them."""

    def __init__(self, settings: Settings, store: Store, catalog: Catalog,
                 labels: Sequence[HostList] = ()) -> None:
        self.settings, self.store, self.catalog = settings, store, catalog
        self.labels = tuple(labels)
        """The district's noise labels from triage, as matcher noise lists."""
        self._kb: KnowledgeBase | None = None
        self._matcher: Matcher | None = None

    @property
    def kb(self) -> KnowledgeBase:
        if self._kb is None:
            from catalog.kb import load_knowledge_base
            self._kb = load_knowledge_base()
        return self._kb

    def warm_up(self) -> None:
        """Load what findings and reports need ahead of time (see `run_scan`)."""
        from catalog.match import registered_domain
        from sentinel import findings  # noqa: F401  (imported here, not on the way to reading)
        from sentinel.report import template

        self.matcher.classify("warm-up.example")
        registered_domain("www.example.co.uk")  # loads the bundled suffix list
        template()

    @property
    def matcher(self) -> Matcher:
        if self._matcher is None:
            self._matcher = build_matcher(self.settings, self.catalog, self.kb, self.labels)
        return self._matcher


def build_matcher(settings: Settings, catalog: Catalog, kb: KnowledgeBase,
                  labels: Sequence[HostList] = ()) -> Matcher:
    """The matcher of a district: its catalog, the knowledge base, its own domains,
    its ``[[lists]]`` (read at start-up by `load_settings`, cached since) and its
    triage noise labels (``labels``, `sentinel.catalog_store.noise_lists`)."""
    from catalog.kb import load_host_list
    from catalog.match import Matcher

    lists = list(labels)
    for spec in settings.lists:
        hl = load_host_list(spec.path, spec.name, spec.category, spec.format)
        if hl.skipped:
            line, reason = hl.samples[0]
            log.warning("%s: %d lines skipped (not an entry), e.g. line %d: %s",
                        hl.source, hl.skipped, line, reason)
        lists.append(hl)
    return Matcher(catalog, kb, tuple(settings.district.domains), tuple(lists))


def open_context(settings: Settings) -> Context:
    """The store, with the catalog held in it. ``[catalog] path`` is imported
    first when its content changed since its last import (a bad file fails here,
    naming file, row, column and reason, and changes nothing)."""
    from sentinel.audit import record_config
    from sentinel.catalog_store import load, sync_config_catalog

    store = Store.open(settings.database_url)
    try:
        sync_config_catalog(settings, store)
        held = load(store)
        record_config(store, settings)  # a config.change record when the settings changed
    except SentinelError:
        store.dispose()
        raise
    return Context(settings, store, held.catalog, held.noise_lists())


@dataclass
class ScanOutcome:
    inputs: list[InputResult]
    findings: list[Finding]
    report: ReportData
    html: Path
    apps: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "inputs": [i.to_json() for i in self.inputs],
            "apps": self.apps,
            "findings": [finding_json(f) for f in self.findings],
            "report": str(self.html),
        }


def finding_json(f: Finding) -> dict[str, Any]:
    from sentinel.lifecycle import finding_json as as_json

    return as_json(f)


def report_path(settings: Settings) -> Path:
    return settings.storage.data_dir / "report.html"


def run_scan(ctx: Context, paths: list[Path], format_name: str | None = None,
             progress: Any = None, today: dt.date | None = None,
             actor: str | None = None) -> ScanOutcome:
    from sentinel.audit import record_failed_ingest, record_ingest
    from sentinel.findings import evaluate

    t0 = time.perf_counter()
    # What the findings and the report need (knowledge base, matcher, the public
    # suffix list, the report template) is prepared in a thread while the logs
    # are read: reading waits on readers and SQLite, which release the GIL. It
    # starts once reading has begun (with --jobs, once the reader processes
    # run: before, it would hold this process back from starting them).
    warm = threading.Thread(target=ctx.warm_up, name="sentinel-warm-up", daemon=True)
    try:
        inputs = scan(ctx.settings, ctx.store, paths, format_name=format_name, progress=progress,
                      reading=warm.start)
    except BaseException as exc:
        record_failed_ingest(ctx.store, paths, exc, actor)  # a failed scan is on the record too
        raise
    finally:
        if warm.is_alive():
            warm.join()
    record_ingest(ctx.store, inputs.inputs, actor)  # one ingest.run audit record per scan
    log.info("ingest: %.2f s", time.perf_counter() - t0)
    t0 = time.perf_counter()
    evaluation = evaluate(ctx.settings, ctx.store, ctx.catalog, ctx.kb, ctx.matcher, today)
    log.info("findings: %.2f s", time.perf_counter() - t0)
    t0 = time.perf_counter()
    outcome = regenerate_report(ctx, today, evaluation, actor)  # the report holds every finding
    log.info("report: %.2f s", time.perf_counter() - t0)
    outcome.inputs = inputs.inputs
    return outcome


def regenerate_report(ctx: Context, today: dt.date | None = None,
                      evaluation: Evaluation | None = None,
                      actor: str | None = None) -> ScanOutcome:
    from sentinel.report import build_report, write_html

    data = build_report(ctx.settings, ctx.store, ctx.catalog, today, evaluation)
    html = write_html(data, report_path(ctx.settings), ctx.store, actor)
    apps = [{"app": p.reach.name, "id": p.reach.subject, "match": p.reach.match_kind,
             "status": p.status, "clients": p.reach.clients, "students": p.reach.students,
             "sites": p.reach.sites, "events": p.reach.events} for p in data.products]
    return ScanOutcome([], data.findings, data, html, apps)


__all__ = ["Context", "Progress", "ScanOutcome", "open_context", "run_scan"]
