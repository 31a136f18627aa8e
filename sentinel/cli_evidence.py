"""``sentinel evidence``: write and check the TLE evidence bundle."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sentinel.textsafe import printable

if TYPE_CHECKING:
    from sentinel.cli import Obj


@click.group()
def evidence() -> None:
    """Export and verify the evidence bundle (TLE business practices 1-4)."""


@evidence.command("export")
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="First day of the period (YYYY-MM-DD, district time).")
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Last day of the period, included.")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The ZIP file to write.")
@click.pass_obj
def export_command(obj: Obj, start: dt.datetime, end: dt.datetime, output: Path) -> None:
    """Write the bundle of a period and record the export in the audit chain."""
    from sentinel.app import open_context
    from sentinel.evidence import export_bundle

    if start.date() > end.date():
        raise click.BadParameter(f"{end.date()} is before --from {start.date()}",
                                 param_hint="--to")
    ctx = open_context(obj.settings)
    try:
        m = export_bundle(ctx, start.date(), end.date(), output)
    finally:
        ctx.store.dispose()
    click.echo(f"evidence bundle written: {printable(output, 500)}")
    click.echo(f"  period {m.period_start} to {m.period_end}, {len(m.files) + 1} files, "
               f"audit records {m.audit.first_seq}-{m.audit.last_seq}")
    click.echo(f"  chain head {m.chain_head}")


@evidence.command("verify")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def verify_command(obj: Obj, bundle: Path) -> None:
    """Check every file's hash and the audit records; exit 1 naming each bad file."""
    from sentinel.evidence import verify_bundle

    del obj
    report = verify_bundle(bundle)
    name = printable(bundle, 500)
    if report.ok:
        m = report.manifest or {}
        period = m.get("period") or {}
        head = m.get("chain_head") or {}
        click.echo(f"{name}: OK: {len(m.get('files') or {}) + 1} files, period "
                   f"{printable(period.get('start'), 20)} to {printable(period.get('end'), 20)}, "
                   f"{report.audit_records} audit records ending at chain head "
                   f"{printable(head.get('seq'), 20)}:{printable(head.get('hash'), 64)}")
        return
    click.echo(f"{name}: FAILED ({len(report.problems)} problem"
               f"{'s' if len(report.problems) != 1 else ''})")
    for p in report.problems:
        click.echo(f"  {printable(p, 1000)}")
    sys.exit(1)
