"""The shadow-IT report: terminal tables (rich) and a self-contained HTML file."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import func, select

import sentinel
from catalog.model import Catalog
from collectors.event import DNS_OTHER
from sentinel.config import Settings
from sentinel.findings import Evaluation, Reach, list_findings, usage_by_subject, window
from sentinel.lifecycle import ACTIVE
from sentinel.store import Store
from sentinel.store.models import Finding, IngestRun, UsageDaily
from sentinel.textsafe import html_templates, printable

if TYPE_CHECKING:
    from jinja2 import Template


@dataclass
class ProductRow:
    reach: Reach
    status: str
    contract: str


@dataclass
class ReportData:
    district: str
    generated_at: dt.datetime
    start: dt.date | None
    end: dt.date | None
    runs: list[IngestRun] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    products: list[ProductRow] = field(default_factory=list)
    unknown: list[Reach] = field(default_factory=list)
    coverage: dict[str, int] = field(default_factory=dict)
    other_lookups: int = 0
    """DNS lookups that do not show use (PTR, TXT, SRV...): counted, never findings."""
    noise: list[Reach] = field(default_factory=list)
    chain_head: str = ""
    """The audit chain's head (``SEQ:HASH``) when the report was built: the
    checkpoint `sentinel audit verify --checkpoint` checks truncation against."""

    @property
    def total_events(self) -> int:
        return sum(self.coverage.values())

    def share(self, kind: str) -> float:
        total = self.total_events
        return self.coverage.get(kind, 0) / total if total else 0.0


def build_report(settings: Settings, store: Store, catalog: Catalog,
                 today: dt.date | None = None, evaluation: Evaluation | None = None) -> ReportData:
    """The report's data; from ``evaluation`` when the caller has just run one."""
    today = today or dt.date.today()
    from sentinel.audit import head

    data = ReportData(settings.district.name, dt.datetime.now(dt.UTC), None, None)
    data.chain_head = str(head(store))
    data.findings = list_findings(store)
    with store.session() as s:
        latest = (select(IngestRun.source, func.max(IngestRun.id)).group_by(IngestRun.source))
        ids = [row[1] for row in s.execute(latest)]
        data.runs = list(s.scalars(select(IngestRun).where(IngestRun.id.in_(ids))
                                   .order_by(IngestRun.source)))
        win = evaluation.window if evaluation else window(s, settings.findings.window_days)
        if win is None:
            return data
        data.start, data.end = win
        reach = evaluation.reach if evaluation else usage_by_subject(s, *win)
        u = UsageDaily
        data.other_lookups = int(s.scalar(select(func.sum(u.events)).where(
            u.day >= win[0], u.day <= win[1], u.kind == DNS_OTHER)) or 0)
        for r in reach:
            data.coverage[r.match_kind] = data.coverage.get(r.match_kind, 0) + r.events
            if r.match_kind == "district":
                p = catalog.by_id(r.subject)
                status = p.status.value if p else "?"
                contract = p.contract_state(today) if p else "none"
                if p and p.contract_expires:
                    contract = f"{contract} ({p.contract_expires.isoformat()})"
                data.products.append(ProductRow(r, status, contract))
            elif r.match_kind == "known":
                data.products.append(ProductRow(r, "not in catalog", "none"))
            elif r.match_kind == "unknown":
                data.unknown.append(r)
            else:
                data.noise.append(r)
    return data


def render_terminal(data: ReportData, console: Console, limit: int = 25) -> None:
    period = f"{data.start} to {data.end}" if data.start else "no usage yet"
    console.print(Text(f"{printable(data.district)} — shadow-IT summary, {period}", style="bold"))
    t = Table(title="Inputs", title_justify="left")
    for col in ("source", "format", "status", "read", "parsed", "ignored", "rejected"):
        t.add_column(col, justify="right" if col in ("read", "parsed", "ignored", "rejected")
                     else "left")
    for r in data.runs:
        t.add_row(Text(printable(r.source, 60)), r.format, r.status, f"{r.lines_read:,}",
                  f"{r.parsed:,}", f"{r.ignored:,}", f"{r.rejected:,}")
    console.print(t)
    active = [f for f in data.findings if f.state in ACTIVE]
    closed = len(data.findings) - len(active)
    t = Table(title=f"Findings ({len(active)} to work on"
                    + (f"; {closed} resolved or suppressed: sentinel findings list)" if closed
                       else ")"), title_justify="left")
    # Narrow enough for an 80-column terminal; each finding's explained
    # severity is in `sentinel findings show ID` and in the HTML report.
    for col, right in (("id", True), ("severity", False), ("state", False), ("rule", False),
                       ("app", False), ("evidence", False), ("reach", True), ("schools", True)):
        t.add_column(col, justify="right" if right else "left", no_wrap=col in ("rule", "app"))
    for f in active[:limit]:
        style = {"high": "bold red", "medium": "yellow"}.get(f.severity, "")
        who = f"{f.clients}" + (f" ({f.students} students)" if f.students else "")
        t.add_row(str(f.id), Text(f.severity, style=style), f.state, f.rule,
                  Text(printable(f.product or f.subject, 24)), f.tier, who, str(len(f.sites)))
    console.print(t)
    if active:
        console.print(Text("Why each is rated as it is: sentinel findings show ID "
                           "(or the HTML report)."))
    t = Table(title="Apps in use", title_justify="left")
    for col in ("app", "catalog status", "contract", "clients", "students", "sites", "events"):
        t.add_column(col)
    for p in data.products[:limit]:
        reach = p.reach
        t.add_row(Text(printable(reach.name, 40)), p.status, p.contract, str(reach.clients),
                  str(reach.students), str(len(reach.sites)), f"{reach.events:,}")
    console.print(t)
    cov = ", ".join(f"{k} {data.share(k):.1%}" for k in sorted(data.coverage))
    console.print(Text(f"Coverage of {data.total_events:,} events: {cov}"))
    if data.other_lookups:
        console.print(Text(f"Also {data.other_lookups:,} DNS lookups that do not show use "
                           "(PTR, TXT, SRV...), counted but raising no findings."))


def template() -> Template:
    """The compiled report template (Jinja caches it)."""
    return html_templates().get_template("report.html")


def render_html(data: ReportData) -> str:
    return template().render(d=data, version=sentinel.__version__)


def write_html(data: ReportData, path: Path, store: Store | None = None,
               actor: str | None = None) -> Path:
    """Write the report; with ``store``, record it in the audit chain
    (``report.generate``: the file's SHA-256, the period and the chain head it
    shows)."""
    import hashlib

    path.parent.mkdir(parents=True, exist_ok=True)
    text = render_html(data)
    path.write_text(text, encoding="utf-8")
    if store is not None:
        from sentinel.audit import append, default_actor
        with store.session() as s:
            append(s, actor or default_actor(), "report.generate", path.name, {
                "path": str(path), "sha256": hashlib.sha256(text.encode()).hexdigest(),
                "period": [str(data.start) if data.start else None,
                           str(data.end) if data.end else None],
                "chain_head": data.chain_head, "findings": len(data.findings)})
    return path
