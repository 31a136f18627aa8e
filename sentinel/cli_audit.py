"""``sentinel audit``: check and read the audit chain. These commands record nothing."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from sentinel.textsafe import printable

if TYPE_CHECKING:
    from sentinel.cli import Obj


@click.group()
def audit() -> None:
    """Check and read the tamper-evident audit chain."""


@audit.command("verify")
@click.option("--checkpoint", metavar="SEQ:HASH",
              help="A chain head from a weekly report or an evidence bundle: catches truncation.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def verify_command(obj: Obj, checkpoint: str | None, as_json: bool) -> None:
    """Walk the chain; exit 1 naming the first broken record."""
    from sentinel.audit import AuditError, parse_checkpoint, verify
    from sentinel.store import Store

    try:
        cp = parse_checkpoint(checkpoint) if checkpoint is not None else None
    except AuditError as exc:
        raise click.BadParameter(str(exc), param_hint="--checkpoint") from None
    store = Store.open(obj.settings.database_url)
    try:
        result = verify(store, cp)
    finally:
        store.dispose()
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=True))
    elif result.ok:
        against = f", matches checkpoint {cp.seq}" if cp is not None else ""
        click.echo(f"audit chain OK: {result.records} records, head {result.head}{against}")
    else:
        click.echo(f"audit chain BROKEN at record {result.first_bad_seq}: "
                   f"{printable(result.problem, 500)}")
        click.echo(f"({result.records} records read, last {result.head})")
    if not result.ok:
        sys.exit(1)


@audit.command("log")
@click.option("--limit", "-n", type=click.IntRange(1), default=50, show_default=True,
              help="Show the newest N records.")
@click.option("--action", "-a", help="Only records of this action (e.g. ingest.run).")
@click.option("--json", "as_json", is_flag=True, help="Print the records as a JSON array.")
@click.pass_obj
def log_command(obj: Obj, limit: int, action: str | None, as_json: bool) -> None:
    """Show the newest audit records, oldest first."""
    from sentinel.audit import ACTIONS, records
    from sentinel.store import Store

    if action is not None and action not in ACTIONS:
        raise click.BadParameter(f"unknown action {action!r}; valid: {', '.join(ACTIONS)}",
                                 param_hint="--action")
    store = Store.open(obj.settings.database_url)
    try:
        rows = records(store, limit=limit, action=action)
    finally:
        store.dispose()
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=True))
        return
    for r in rows:
        payload = r["payload"] if isinstance(r["payload"], str) else \
            json.dumps(r["payload"], sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        click.echo(f"{r['seq']:>6}  {printable(r['at'], 40)}  {printable(r['actor'], 40)}  "
                   f"{printable(r['action'], 40)}  {printable(r['subject'], 120)}  "
                   f"{printable(payload, 300)}")
