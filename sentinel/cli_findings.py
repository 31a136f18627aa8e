"""``sentinel findings``: the work queue. List and show findings; acknowledge,
request vetting, resolve, suppress or re-open one (each move is recorded with
its actor and reason, and in the audit chain: `sentinel.lifecycle`).

Everything shown may come from a log (a domain, an app name): the terminal
gets `printable` text, CSV cells are neutralised against formula injection.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from typing import TYPE_CHECKING, Any

import click

from sentinel.textsafe import csv_cell, printable

if TYPE_CHECKING:
    from sentinel.cli import Obj
    from sentinel.store import Store
    from sentinel.store.models import Finding, FindingTransition

# Kept here (the command loads before the store's modules); a test holds them
# to `sentinel.lifecycle` and `sentinel.findings`.
STATES = ("open", "acknowledged", "vetting_requested", "resolved", "suppressed")
ACTIVE = ("open", "acknowledged", "vetting_requested")
SEVERITIES = ("high", "medium", "low")
RESOLUTIONS = ("approved", "blocked", "removed", "false_positive")
CSV_COLUMNS = ("id", "state", "resolution", "severity", "tier", "rule", "subject", "product",
               "title", "status", "clients", "students", "staff", "schools", "events",
               "first_seen", "last_seen", "suppressed_until", "state_reason", "explanation")


@click.group()
def findings() -> None:
    """Work the findings: list, show, ack, request-vetting, resolve, suppress, reopen."""


def _open(obj: Obj) -> Store:
    from sentinel.store import Store

    return Store.open(obj.settings.database_url)


def _actor(actor: str | None) -> str:
    from sentinel.audit import default_actor

    return actor if actor is not None else default_actor()


actor_option = click.option(
    "--actor", help="Who makes the change (default: local:<your login name>).")


@findings.command("list")
@click.option("--state", "states", multiple=True, type=click.Choice(STATES),
              help="Only findings in this state (repeat for several; default: open, "
                   "acknowledged and vetting_requested).")
@click.option("--all", "show_all", is_flag=True, help="Every state, resolved and suppressed too.")
@click.option("--severity", "severities", multiple=True, type=click.Choice(SEVERITIES),
              help="Only this severity (repeatable).")
@click.option("--rule", "rules", multiple=True, metavar="RULE",
              help="Only this rule, e.g. unvetted_app (repeatable).")
@click.option("--school", help="Only findings seen at this school (site name, any case).")
@click.option("--format", "fmt", type=click.Choice(("table", "csv", "json")), default="table",
              show_default=True)
@click.pass_obj
def list_command(obj: Obj, states: tuple[str, ...], show_all: bool,
                 severities: tuple[str, ...], rules: tuple[str, ...], school: str | None,
                 fmt: str) -> None:
    """List findings, those asking for work first, then by severity and reach."""
    from sentinel.findings import RULES
    from sentinel.lifecycle import find

    bad = [r for r in rules if r not in RULES]
    if bad:
        raise click.BadParameter(f"unknown rule {bad[0][:60]!r}; valid: {', '.join(RULES)}",
                                 param_hint="--rule")
    if show_all and states:
        raise click.UsageError("--all and --state exclude each other")
    chosen = () if show_all else states or ACTIVE
    store = _open(obj)
    try:
        rows = find(store, states=chosen, severities=severities, rules=rules, school=school)
    finally:
        store.dispose()
    if fmt == "json":
        from sentinel.lifecycle import finding_json
        click.echo(json.dumps([finding_json(f) for f in rows], indent=2, ensure_ascii=True))
    elif fmt == "csv":
        _csv(rows)
    else:
        _table(rows)


def _state(f: Finding) -> str:
    if f.state == "resolved" and f.resolution:
        return f"resolved ({f.resolution})"
    if f.state == "suppressed" and f.suppressed_until:
        from sentinel.lifecycle import stamp
        return f"suppressed until {stamp(f.suppressed_until)[:10]}"
    return f.state


def _schools(f: Finding) -> list[str]:
    return [str(x) for x in f.sites or () if x != "unknown"]


def _csv(rows: list[Finding]) -> None:
    from sentinel.lifecycle import stamp

    w = csv.writer(sys.stdout)
    w.writerow(CSV_COLUMNS)
    for f in rows:
        values: list[Any] = [
            f.id, f.state, f.resolution or "", f.severity, f.tier, f.rule, f.subject,
            f.product or "", f.title, f.status or "", f.clients, f.students, f.staff,
            "; ".join(_schools(f)), f.events, stamp(f.first_seen), stamp(f.last_seen),
            stamp(f.suppressed_until), f.state_reason or "", f.explanation]
        w.writerow([csv_cell(v) for v in values])
    sys.stdout.flush()


def _table(rows: list[Finding]) -> None:
    """One line per finding, its explanation indented below (readable at any width)."""
    if not rows:
        click.echo("No findings match.")
        return
    states = [_state(f) for f in rows]
    w_state = max(len(s) for s in states)
    w_rule = max(len(f.rule) for f in rows)
    w_id = max(len(str(f.id)) for f in rows)
    click.echo(f"{len(rows)} finding{'s' if len(rows) != 1 else ''}:")
    for f, state in zip(rows, states, strict=True):
        n = len(_schools(f))
        who = "accounts" if "active_grants" in (f.details or {}) else "devices"  # grant rules
        reach = (f"{f.clients} {who} ({f.students} students), {n} school"
                 f"{'s' if n != 1 else ''}")
        click.echo(f"{f.id:>{w_id}}  {f.severity:<6}  {state:<{w_state}}  {f.rule:<{w_rule}}  "
                   f"{printable(f.product or f.subject, 40)}  [{f.tier}]  {reach}")
        click.echo(" " * (w_id + 2) + printable(f.explanation, 600))


@findings.command("show")
@click.argument("finding_id", type=int, metavar="ID")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text",
              show_default=True)
@click.pass_obj
def show_command(obj: Obj, finding_id: int, fmt: str) -> None:
    """Print a finding and its full transition history."""
    from sentinel.lifecycle import finding_json, history, stamp, transition_json

    store = _open(obj)
    try:
        f, moves = history(store, finding_id)
    finally:
        store.dispose()
    if fmt == "json":
        click.echo(json.dumps({"finding": finding_json(f),
                               "transitions": [transition_json(t) for t in moves]},
                              indent=2, ensure_ascii=True))
        return
    lines = [
        ("finding", f"{f.id}: {f.title}"),
        ("state", _state(f)),
        ("severity", f"{f.severity} (evidence tier {f.tier})"),
        ("rule", f.rule),
        ("subject", f.subject),
        ("catalog status", f.status or ""),
        ("explanation", f.explanation),
        ("reach", f"{f.clients} {'accounts' if 'active_grants' in (f.details or {}) else 'devices'}"
                  f": {f.students} students, {f.staff} staff; {f.events} events"),
        ("schools", ", ".join(_schools(f)) or "-"),
        ("hosts", ", ".join(map(str, (f.hosts or [])[:10]))
                  + (" ..." if len(f.hosts or []) > 10 else "")),
        ("first seen", stamp(f.first_seen)),
        ("last seen", stamp(f.last_seen)),
    ]
    for key, value in lines:
        click.echo(f"{key + ':':16}{printable(value, 2000)}")
    click.echo("history:")
    for t in moves:
        click.echo("  " + _move(t, stamp))


def _move(t: FindingTransition, stamp: Any) -> str:
    arrow = f"{t.from_state or '(raised)'} -> {t.to_state}"
    if t.resolution:
        arrow += f" ({t.resolution})"
    if t.suppressed_until:
        arrow += f" until {stamp(t.suppressed_until)}"
    audit = f" [audit {t.audit_seq}]" if t.audit_seq is not None else ""
    reason = f": {t.reason}" if t.reason else ""
    return printable(f"{stamp(t.at)}  {t.actor}  {arrow}{reason}{audit}", 2000)


def _move_command(obj: Obj, finding_id: int, to: str, actor: str | None, reason: str | None,
                  resolution: str | None = None, until: dt.datetime | None = None) -> None:
    from sentinel.lifecycle import act

    store = _open(obj)
    try:
        f, t = act(store, finding_id, to, _actor(actor), reason, resolution=resolution,
                   until=until)
    finally:
        store.dispose()
    from sentinel.lifecycle import stamp
    click.echo(f"finding {f.id}: {_move(t, stamp)}")


@findings.command("ack")
@click.argument("finding_id", type=int, metavar="ID")
@click.option("--reason", help="Why (optional).")
@actor_option
@click.pass_obj
def ack_command(obj: Obj, finding_id: int, reason: str | None, actor: str | None) -> None:
    """Acknowledge an open finding: someone is looking at it."""
    _move_command(obj, finding_id, "acknowledged", actor, reason)


@findings.command("request-vetting")
@click.argument("finding_id", type=int, metavar="ID")
@click.option("--reason", help="Why, or the request's reference (optional).")
@actor_option
@click.pass_obj
def request_vetting_command(obj: Obj, finding_id: int, reason: str | None,
                            actor: str | None) -> None:
    """Mark that the app was sent to the district's vetting process."""
    _move_command(obj, finding_id, "vetting_requested", actor, reason)


@findings.command("resolve")
@click.argument("finding_id", type=int, metavar="ID")
@click.option("--as", "resolution", required=True, type=click.Choice(RESOLUTIONS),
              help="approved (vetted and allowed), blocked (at the filter), removed (the "
                   "app or its grants taken away) or false_positive.")
@click.option("--reason", required=True, help="Why (required).")
@actor_option
@click.pass_obj
def resolve_command(obj: Obj, finding_id: int, resolution: str, reason: str,
                    actor: str | None) -> None:
    """Resolve a finding. Blocked and removed ones re-open when use recurs."""
    _move_command(obj, finding_id, "resolved", actor, reason, resolution=resolution)


@findings.command("suppress")
@click.argument("finding_id", type=int, metavar="ID")
@click.option("--until", "until", required=True,
              type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
              help="When it re-opens: DATE (midnight in the district's time zone) or "
                   "DATE HH:MM.")
@click.option("--reason", required=True, help="Why (required).")
@actor_option
@click.pass_obj
def suppress_command(obj: Obj, finding_id: int, until: dt.datetime, reason: str,
                     actor: str | None) -> None:
    """Hide a finding until a date; then it re-opens if its rule still fires."""
    when = until.replace(tzinfo=obj.settings.tz).astimezone(dt.UTC)
    _move_command(obj, finding_id, "suppressed", actor, reason, until=when)


@findings.command("reopen")
@click.argument("finding_id", type=int, metavar="ID")
@click.option("--reason", required=True, help="Why (required).")
@actor_option
@click.pass_obj
def reopen_command(obj: Obj, finding_id: int, reason: str, actor: str | None) -> None:
    """Re-open a resolved or suppressed finding."""
    _move_command(obj, finding_id, "open", actor, reason)
