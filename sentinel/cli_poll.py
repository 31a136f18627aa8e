"""``sentinel poll``: read activity from an API instead of a log file."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from sentinel.cli import Obj


@click.group()
def poll() -> None:
    """Read activity from an API (needs the source's extra), then update findings and report."""


@poll.command()
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
@click.pass_obj
def google(obj: Obj, as_json: bool) -> None:
    """Poll the Google Workspace Reports API ([google] in the configuration).

    Reads the token (OAuth grants and revokes) and login activities since the
    last poll, with the configured service account impersonating an admin.
    Needs: pip install 'district-sentinel[google]'.
    """
    from sentinel.app import open_context
    from sentinel.google_poll import build_service, load_credentials, run_poll
    from sentinel.report import render_terminal

    settings = obj.settings
    service = build_service(load_credentials(settings))  # a missing extra fails before the store
    ctx = open_context(settings)
    try:
        outcome = run_poll(ctx, service=service)
    finally:
        ctx.store.dispose()
    if as_json:
        click.echo(json.dumps(outcome.to_json(), indent=2, ensure_ascii=True))
        return
    from sentinel.cli import _console

    console = _console()
    for r in outcome.results:
        console.print(f"google {r.application}: {r.pages} pages, {r.activities} activities "
                      f"({r.skipped} already taken), {r.events} events, {r.rejected} rejected; "
                      f"checkpoint {r.last_time.isoformat() if r.last_time else 'none'}",
                      markup=False, highlight=False)
    render_terminal(outcome.scan.report, console)
    console.print(f"HTML report: {outcome.scan.html}")
