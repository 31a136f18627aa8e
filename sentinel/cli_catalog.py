"""``sentinel catalog`` (the district catalog held in the store) and ``sentinel
triage`` (unknown domains with reach, and labelling them).

Every change takes a reason and an actor (default ``local:<login>``) and is
recorded in the catalog's history and the audit chain
(`sentinel.catalog_store`). Everything shown may come from an import file or a
log: the terminal gets `printable` text. ``catalog export`` writes the catalog
itself (lossless; CSV cells are neutralised against formula injection by
``catalog.io``).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sentinel.textsafe import printable

if TYPE_CHECKING:
    from sentinel.app import Context
    from sentinel.cli import Obj
    from sentinel.store.models import CatalogChange

STATUSES = ("requested", "in_review", "approved", "approved_with_conditions",
            "parental_consent_required", "denied", "retired")
"""Kept here (the command loads before the catalog's modules); a test holds it to
``catalog.model.Vetting``."""
MAPPINGS = ("auto", "native", "sdpc", "district_sheet")

actor_option = click.option(
    "--actor", help="Who makes the change (default: local:<your login name>).")
reason_option = click.option("--reason", required=True,
                             help="Why (kept in the catalog's history and the audit chain).")


def _context(obj: Obj) -> Context:
    from sentinel.app import open_context

    return open_context(obj.settings)


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=True))


def _p(value: object, limit: int = 300) -> str:
    return printable(value, limit)


@click.group()
def catalog() -> None:
    """The district catalog: import, export, list, show, set-status."""


@catalog.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mapping", type=click.Choice(MAPPINGS), default="auto", show_default=True,
              help="Columns of a CSV: ours, an SDPC registry export, a district sheet.")
@click.option("--replace", is_flag=True,
              help="Delete stored products FILE does not list (default: they stay).")
@reason_option
@actor_option
@click.option("--json", "as_json", is_flag=True, help="Print what changed as JSON.")
@click.pass_obj
def import_command(obj: Obj, file: Path, mapping: str, replace: bool, reason: str,
                   actor: str | None, as_json: bool) -> None:
    """Import FILE (CSV or YAML) into the catalog, all or nothing: a product
    replaces the stored one of the same id, or is added."""
    from sentinel.catalog_store import import_file

    ctx = _context(obj)
    try:
        got = import_file(ctx.store, file, reason=reason, actor=actor, mapping=mapping,
                          replace=replace)
    finally:
        ctx.store.dispose()
    if as_json:
        _emit(got.to_json())
        return
    click.echo(f"imported {_p(file)}: {got.summary()}")


@catalog.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: standard output).")
@click.option("--format", "fmt", type=click.Choice(("csv", "yaml")),
              help="Default: from the file name (.yaml/.yml is YAML), else csv.")
@click.pass_obj
def export(obj: Obj, output: Path | None, fmt: str | None) -> None:
    """Write the catalog as native CSV or YAML (import reads it back unchanged)."""
    from catalog.io import dump_catalog_csv, dump_catalog_yaml

    ctx = _context(obj)
    ctx.store.dispose()
    if fmt is None:
        fmt = "yaml" if output is not None and output.suffix.lower() in (".yaml", ".yml") \
            else "csv"
    data = dump_catalog_yaml(ctx.catalog) if fmt == "yaml" else dump_catalog_csv(ctx.catalog)
    if output is None:
        click.echo(data, nl=False)
        return
    output.write_text(data, encoding="utf-8", newline="")
    click.echo(f"{len(ctx.catalog)} products written to {_p(output)}", err=True)


def _product_json(p: Any, today: dt.date, warn_days: int) -> dict[str, Any]:
    from sentinel.catalog_store import product_doc

    return {**product_doc(p), "status": p.status.value,
            "contract_state": p.contract_state(today, warn_days)}


@catalog.command("list")
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES),
              help="Only products with this status (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_command(obj: Obj, statuses: tuple[str, ...], as_json: bool) -> None:
    """List the catalog's products."""
    ctx = _context(obj)
    ctx.store.dispose()
    today = dt.date.today()
    warn = ctx.settings.findings.contract_warn_days
    rows = [p for p in ctx.catalog if not statuses or p.status.value in statuses]
    if as_json:
        _emit([_product_json(p, today, warn) for p in rows])
        return
    if not rows:
        click.echo("no products" + (" with that status" if statuses else ""))
        return
    click.echo(f"{'id':24} {'status':26} {'contract':9} {'domains':>7}  name (vendor)")
    for p in rows:
        vendor = f" ({_p(p.vendor, 60)})" if p.vendor else ""
        click.echo(f"{_p(p.id, 24):24} {p.status.value:26} "
                   f"{p.contract_state(today, warn):9} {len(p.domains):>7}  "
                   f"{_p(p.name, 80)}{vendor}")


def _change_line(c: CatalogChange) -> str:
    from sentinel.catalog_store import changed_fields
    from sentinel.store import aware

    before = json.loads(c.before) if c.before else None
    after = json.loads(c.after) if c.after else None
    if before is None:
        what = "created"
    elif after is None:
        what = "deleted"
    else:
        what = ", ".join(changed_fields(before, after)) or "no field"
    at = aware(c.at)
    stamp = at.strftime("%Y-%m-%d %H:%M") if at else "?"
    seq = f" [audit {c.audit_seq}]" if c.audit_seq else ""
    return (f"  {stamp} {_p(c.kind, 12):10} {_p(c.actor, 40)}: {_p(what, 200)}; "
            f"reason: {_p(c.reason, 300)}{seq}")


@catalog.command()
@click.argument("id_or_name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def show(obj: Obj, id_or_name: str, as_json: bool) -> None:
    """Show a product (by id, or by name in any case) and its change history."""
    from catalog.io import dump_catalog_yaml
    from catalog.model import Catalog
    from sentinel.catalog_store import change_json, find_product, history

    ctx = _context(obj)
    try:
        p = find_product(ctx.catalog, id_or_name)
        changes = history(ctx.store, p.id)
    finally:
        ctx.store.dispose()
    today = dt.date.today()
    warn = ctx.settings.findings.contract_warn_days
    if as_json:
        _emit({"product": _product_json(p, today, warn),
               "history": [change_json(c) for c in changes]})
        return
    body = dump_catalog_yaml(Catalog((p,))).split("\n", 1)[1]  # below "products:"
    for line in body.splitlines():
        click.echo(_p(line, 2000))
    click.echo(f"contract state: {p.contract_state(today, warn)}")
    click.echo(f"history ({len(changes)} change{'s' if len(changes) != 1 else ''}):")
    for c in changes:
        click.echo(_change_line(c))


@catalog.command("remove")
@click.argument("product_id")
@reason_option
@actor_option
@click.pass_obj
def remove_command(obj: Obj, product_id: str, reason: str, actor: str | None) -> None:
    """Delete PRODUCT_ID from the catalog (its history and audit records stay);
    the next evaluation classifies its domains as the knowledge base does."""
    from sentinel.catalog_store import remove_product

    ctx = _context(obj)
    try:
        p = remove_product(ctx.store, product_id, reason=reason, actor=actor)
    finally:
        ctx.store.dispose()
    click.echo(f"removed {_p(p.id, 80)} ({_p(p.name, 80)})")


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value[:40]!r} is not a date (YYYY-MM-DD)",
                                 param_hint="--decided") from None


@catalog.command("set-status")
@click.argument("product_id")
@click.argument("status")
@reason_option
@click.option("--reviewer", help="Who reviewed it.")
@click.option("--conditions", help="Conditions of use (approved_with_conditions).")
@click.option("--decided", metavar="DATE", help="Decision date, YYYY-MM-DD (default: today).")
@actor_option
@click.pass_obj
def set_status_command(obj: Obj, product_id: str, status: str, reason: str,
                       reviewer: str | None, conditions: str | None, decided: str | None,
                       actor: str | None) -> None:
    """Record a review decision: STATUS is requested, in_review, approved,
    approved_with_conditions, parental_consent_required, denied or retired
    (or a common spelling: pending, not approved...)."""
    from sentinel.catalog_store import set_status

    day = _date(decided) or dt.date.today()
    ctx = _context(obj)
    try:
        p = set_status(ctx.store, product_id, status, reason=reason, actor=actor,
                       reviewer=reviewer, conditions=conditions, decided=day)
    finally:
        ctx.store.dispose()
    click.echo(f"{_p(p.id, 80)}: {p.status.value} (decided {day.isoformat()}); the next "
               "evaluation (sentinel scan or report) uses it")


# -- triage -------------------------------------------------------------------------------


@click.group()
def triage() -> None:
    """Unknown domains with reach, ranked; label them as an app or as noise."""


@triage.command("list")
@click.option("--min-clients", type=click.IntRange(1), metavar="N",
              help="Devices a domain must reach (default: findings.unknown_min_clients).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def triage_list(obj: Obj, min_clients: int | None, as_json: bool) -> None:
    """Unknown registered domains of the findings window, by reach (devices, a
    student counting twice; then schools; then events)."""
    from sentinel.catalog_store import triage_queue

    ctx = _context(obj)
    try:
        queue = triage_queue(ctx.settings, ctx.store, ctx.catalog, ctx.matcher, ctx.kb,
                             min_clients)
    finally:
        ctx.store.dispose()
    if as_json:
        _emit(queue.to_json())
        return
    if queue.window is None:
        click.echo("no usage stored yet: scan some logs first")
        return
    start, end = (d.isoformat() for d in queue.window)
    if not queue.items:
        click.echo(f"no unknown domain reaches {queue.min_clients} devices ({start} to {end})")
        return
    click.echo(f"unknown domains reaching {queue.min_clients}+ devices, {start} to {end}:")
    click.echo(f"{'domain':40} {'devices':>7} {'students':>8} {'schools':>7} {'events':>9}  "
               f"{'finding':16} suggested app")
    for i in queue.items:
        finding = f"#{i.finding_id} {i.finding_state}" if i.finding_id else "-"
        hint = ", ".join(f"{_p(m.name, 40)} (--app {_p(m.key, 40)})" for m in i.suggestions)
        click.echo(f"{_p(i.domain, 40):40} {i.clients:>7} {i.students:>8} {i.schools:>7} "
                   f"{i.events:>9}  {finding:16} {hint or '-'}")


@triage.command("label")
@click.argument("domain")
@click.option("--app", "app_id", metavar="ID",
              help="Add DOMAIN to this catalog product; a knowledge-base app id not in the "
                   "catalog yet becomes a product (with the app's domains, status --status).")
@click.option("--new-app", metavar="NAME", help="Create a product NAME holding DOMAIN.")
@click.option("--vendor", default="", help="The new product's vendor.")
@click.option("--status", default="requested", show_default=True, type=click.Choice(STATUSES),
              help="The new product's status.")
@click.option("--noise", metavar="CATEGORY",
              help="Label DOMAIN as district noise of CATEGORY (cdn, telemetry, ...).")
@reason_option
@actor_option
@click.pass_obj
def triage_label(obj: Obj, domain: str, app_id: str | None, new_app: str | None, vendor: str,
                 status: str, noise: str | None, reason: str, actor: str | None) -> None:
    """Label DOMAIN (and its sub-domains) as an app or as noise; the next
    evaluation (sentinel scan or report) classifies it so."""
    from sentinel.catalog_store import label_app, label_kb_app, label_new_app, label_noise

    chosen = [n for n, v in (("--app", app_id), ("--new-app", new_app), ("--noise", noise))
              if v is not None]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --app, --new-app and --noise")
    ctx = _context(obj)
    try:
        known = ctx.kb.app(app_id) if app_id is not None else None
        if known is not None and ctx.catalog.by_id(known.id) is None:
            p = label_kb_app(ctx.store, domain, known, reason=reason, actor=actor, status=status)
            done = (f"new product {_p(p.id, 80)} ({_p(p.name, 80)}, {p.status.value}) from the "
                    f"knowledge base, with its {len(known.domains)} domain rules")
        elif app_id is not None:
            p = label_app(ctx.store, domain, app_id, reason=reason, actor=actor)
            done = f"added to {_p(p.id, 80)} ({_p(p.name, 80)}, {p.status.value})"
        elif new_app is not None:
            p = label_new_app(ctx.store, domain, new_app, reason=reason, actor=actor,
                              vendor=vendor, status=status)
            done = f"new product {_p(p.id, 80)} ({_p(p.name, 80)}, {p.status.value})"
        else:
            assert noise is not None
            n = label_noise(ctx.store, domain, noise, reason=reason, actor=actor)
            done = f"noise ({_p(n.category, 64)})"
    finally:
        ctx.store.dispose()
    click.echo(f"{_p(domain, 255)}: {done}; the next evaluation (sentinel scan or report) "
               "uses it")


@triage.command("unlabel")
@click.argument("domain")
@reason_option
@actor_option
@click.pass_obj
def triage_unlabel(obj: Obj, domain: str, reason: str, actor: str | None) -> None:
    """Take back a label: DOMAIN's noise label, or DOMAIN as a product's domain.
    The next evaluation classifies it as the knowledge base does."""
    from sentinel.catalog_store import unlabel

    ctx = _context(obj)
    try:
        was = unlabel(ctx.store, domain, reason=reason, actor=actor)
    finally:
        ctx.store.dispose()
    click.echo(f"{_p(domain, 255)}: no longer {_p(was, 300)}; the next evaluation "
               "(sentinel scan or report) uses it")
