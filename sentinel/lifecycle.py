"""The lifecycle of a finding: its states, who may move it where, and what
Sentinel changes by itself.

States, and the moves a person makes (`act`)::

    open ── ack ──> acknowledged ── request-vetting ──> vetting_requested
     │                  │                                     │
     └──────────────────┴────────── resolve AS, REASON ───────┴──> resolved
     (any of the three) ── suppress UNTIL, REASON ──> suppressed ── resolve ──> resolved
    resolved / suppressed ── reopen REASON ──> open

A resolution is ``approved``, ``blocked``, ``removed`` or ``false_positive``;
resolving, suppressing and re-opening need a reason, a suppression an expiry
in the future. ``sentinel`` is Sentinel's own actor: no person may use it.

Sentinel's moves (`reconcile`, at every evaluation, actor ``sentinel``):

* a rule fires for a new (rule, subject): the finding is raised ``open``. The
  same pair later updates that finding (reach, severity, explanation); it is
  never duplicated;
* a finding resolved ``blocked`` or ``removed`` re-opens when its subject is
  used after the resolution (blocked attempts are not use; see
  `sentinel.findings.Use`);
* a finding resolved ``approved`` or ``false_positive`` stays resolved: a person
  decided it, and the rule firing again is what they decided about. Its data
  keeps updating; ``reopen`` brings it back;
* an ``open``, ``acknowledged`` or ``vetting_requested`` finding whose rule no
  longer fires (the product was approved, the contract renewed, the grants
  revoked, no use in the window) is resolved ``cleared``, with what changed;
  a ``cleared`` finding whose rule fires again re-opens;
* a suppression past its expiry re-opens the finding when the rule still
  fires, and resolves it ``cleared`` when it does not. Until then a suppressed
  finding only has its data updated.

Every move writes a `FindingTransition` (actor, time, reason) and a
``finding.transition`` audit record, in the transaction of the change.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, insert, select
from sqlalchemy.orm import Session

from sentinel.errors import SentinelError
from sentinel.store import Store, aware
from sentinel.store.models import Finding, FindingTransition

STATES = ("open", "acknowledged", "vetting_requested", "resolved", "suppressed")
ACTIVE = ("open", "acknowledged", "vetting_requested")
"""States that ask for work."""
RESOLUTIONS = ("approved", "blocked", "removed", "false_positive", "cleared")
HUMAN_RESOLUTIONS = ("approved", "blocked", "removed", "false_positive")
"""What a person resolves a finding as; ``cleared`` is Sentinel's alone."""
RECURRING = ("blocked", "removed")
"""Resolutions that use after them re-opens."""
SEVERITIES = ("high", "medium", "low")
SENTINEL = "sentinel"
"""The actor of Sentinel's own transitions (reserved)."""

FROM: dict[str, tuple[str, ...]] = {
    "acknowledged": ("open",),
    "vetting_requested": ("open", "acknowledged"),
    "resolved": ("open", "acknowledged", "vetting_requested", "suppressed"),
    "suppressed": ("open", "acknowledged", "vetting_requested", "suppressed"),
    "open": ("resolved", "suppressed"),
}
"""Target state -> the states a person may move a finding there from."""
VERBS = {"acknowledged": "acknowledge", "vetting_requested": "request vetting of",
         "resolved": "resolve", "suppressed": "suppress", "open": "re-open"}
NEEDS_REASON = frozenset(("resolved", "suppressed", "open"))
REASON_MAX = 2000
ACTOR_MAX = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class TransitionError(SentinelError):
    """A move the lifecycle does not allow, or one missing its reason or expiry."""


class FindingNotFound(SentinelError):
    """No finding has that id."""


@dataclass(frozen=True)
class Raised:
    """A finding a rule raised at this evaluation: its fields, and when its
    subject was last used after a given time (None if not since)."""

    fields: dict[str, Any]
    used_after: Callable[[dt.datetime], dt.datetime | None]

    @property
    def key(self) -> tuple[str, str]:
        return str(self.fields["rule"]), str(self.fields["subject"])



def stamp(t: dt.datetime | None) -> str:
    """A time for a person: UTC, to the minute."""
    t = aware(t)
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if t is not None else ""


# -- recording -------------------------------------------------------------------------


_TRANSITIONS: Any = FindingTransition.__table__


def _record(s: Session, f: Finding, prev: str | None, to: str, actor: str, reason: str,
            now: dt.datetime, *, resolution: str | None = None,
            until: dt.datetime | None = None) -> FindingTransition:
    """Apply a move to ``f`` and record it (transition row and audit record)."""
    t = FindingTransition(**_move(s, f, prev, to, actor, reason, now, resolution=resolution,
                                  until=until))
    s.add(t)
    return t


def _move(s: Session, f: Finding, prev: str | None, to: str, actor: str, reason: str,
          now: dt.datetime, *, resolution: str | None = None,
          until: dt.datetime | None = None) -> dict[str, Any]:
    """Apply a move to ``f``, write its audit record, and give its transition row's
    values (`_record` adds the row; `reconcile` inserts its rows together)."""
    from sentinel.audit import append

    f.state = to
    f.state_changed_at = now
    f.state_reason = reason
    f.resolution = resolution if to == "resolved" else None
    f.resolved_at = now if to == "resolved" else None
    f.suppressed_until = until if to == "suppressed" else None
    if f.id is None:
        s.flush()  # the id, for a finding raised now
    payload = {"finding": f.id, "rule": f.rule, "subject": f.subject, "from": prev, "to": to,
               "resolution": f.resolution, "reason": reason, "at": now,
               "suppressed_until": until, "severity": f.severity, "tier": f.tier}
    rec = append(s, actor, "finding.transition", f"finding {f.id}: {f.rule} {f.subject}",
                 payload)
    return {"finding_id": f.id, "at": now, "actor": actor, "from_state": prev, "to_state": to,
            "resolution": f.resolution, "reason": reason, "suppressed_until": until,
            "audit_seq": rec.seq}


def _write_lock(s: Session) -> None:
    """Take the write side before reading the finding, so the state checked is
    the state changed (SQLite: BEGIN IMMEDIATE; PostgreSQL locks the row)."""
    conn = s.connection()
    if conn.dialect.name == "sqlite":
        raw: Any = conn.connection.driver_connection
        if not raw.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


# -- a person's moves -------------------------------------------------------------------


def check_actor(actor: str) -> str:
    actor = actor.strip() if isinstance(actor, str) else ""
    if not actor or len(actor) > ACTOR_MAX or _CONTROL.search(actor):
        raise TransitionError(f"actor {actor[:80]!r}: must be 1 to {ACTOR_MAX} printable "
                              "characters")
    if actor == SENTINEL:
        raise TransitionError(f"actor {SENTINEL!r} is reserved for Sentinel's own transitions")
    return actor


def clean_reason(reason: str | None, *, required: bool, what: str = "this move") -> str:
    """One line of text (whitespace runs become one space); control characters
    are refused with their position."""
    text = " ".join((reason or "").split())
    m = _CONTROL.search(text)
    if m:
        raise TransitionError(f"reason: control character U+{ord(m.group()):04X} at "
                              f"position {m.start() + 1}")
    if len(text) > REASON_MAX:
        raise TransitionError(f"reason: longer than {REASON_MAX} characters")
    if required and not text:
        raise TransitionError(f"{what} needs a reason")
    return text


def act(store: Store, finding_id: int, to: str, actor: str, reason: str | None = None, *,
        resolution: str | None = None, until: dt.datetime | None = None,
        now: dt.datetime | None = None) -> tuple[Finding, FindingTransition]:
    """A person moves finding ``finding_id`` to state ``to`` (see the module
    docstring). Raises TransitionError for a move that is not allowed."""
    now = now or dt.datetime.now(dt.UTC)
    if to not in FROM:
        raise TransitionError(f"unknown target state {to!r}; valid: {', '.join(FROM)}")
    verb = VERBS[to]
    actor = check_actor(actor)
    text = clean_reason(reason, required=to in NEEDS_REASON,
                        what=f"to {verb} a finding")
    if to == "resolved":
        if resolution not in HUMAN_RESOLUTIONS:
            raise TransitionError(f"resolve as {str(resolution)[:40]!r}: must be one of "
                                  f"{', '.join(HUMAN_RESOLUTIONS)}")
    elif resolution is not None:
        raise TransitionError("only resolving takes a resolution")
    if to == "suppressed":
        if until is None:
            raise TransitionError("to suppress a finding needs an expiry (--until)")
        until = aware(until)
        assert until is not None
        if until <= now:
            raise TransitionError(f"suppress until {stamp(until)}: that is not in the future")
    elif until is not None:
        raise TransitionError("only suppressing takes an expiry")
    with store.session() as s:
        _write_lock(s)
        f = s.get(Finding, finding_id, with_for_update=True)
        if f is None:
            raise FindingNotFound(f"no finding with id {finding_id}")
        if f.state not in FROM[to]:
            state = f"{f.state} ({f.resolution})" if f.resolution else f.state
            raise TransitionError(f"finding {finding_id} is {state}: cannot {verb} it "
                                  f"(only from {', '.join(FROM[to])})")
        t = _record(s, f, f.state, to, actor, text, now, resolution=resolution, until=until)
        s.flush()
    return f, t


# -- Sentinel's moves -------------------------------------------------------------------


def reconcile(s: Session, raised: Sequence[Raised], now: dt.datetime,
              why_cleared: Callable[[Finding], str]) -> list[Finding]:
    """Store this evaluation's findings and make Sentinel's moves (module docstring).

    ``why_cleared(f)``: what no longer holds, for a finding its rule did not
    raise this time. Returns the raised findings' rows.
    """
    existing = {(f.rule, f.subject): f for f in s.scalars(select(Finding).with_for_update())}
    out = []
    moves: list[dict[str, Any]] = []  # transition rows, inserted together below
    # New findings are inserted together (one flush gives them their ids), then
    # each gets its "raised" transition.
    fresh = {r.key: Finding(**r.fields, created_at=now, updated_at=now)
             for r in raised if r.key not in existing}
    if fresh:
        s.add_all(fresh.values())
        s.flush()
    for r in raised:
        f = existing.pop(r.key, None)
        if f is None:
            f = fresh[r.key]
            moves.append(_move(s, f, None, "open", SENTINEL, f"raised: {f.title}", now))
            out.append(f)
            continue
        first = aware(f.first_seen)
        for k, v in r.fields.items():
            setattr(f, k, v)
        if first is not None and f.first_seen is not None and first < f.first_seen:
            f.first_seen = first  # the earliest use ever seen, not the window's
        f.updated_at = now
        out.append(f)
        if f.state == "resolved":
            since = aware(f.resolved_at) or now
            if f.resolution in RECURRING:
                used = r.used_after(since)
                if used is not None:
                    moves.append(_move(s, f, "resolved", "open", SENTINEL,
                                       f"use recurred: seen {stamp(used)}, after it was "
                                       f"resolved as {f.resolution} on {stamp(since)}", now))
            elif f.resolution == "cleared":
                moves.append(_move(s, f, "resolved", "open", SENTINEL,
                                   f"the condition holds again: {f.explanation}", now))
        elif f.state == "suppressed" and _expired(f, now):
            moves.append(_move(s, f, "suppressed", "open", SENTINEL,
                               f"the suppression expired {stamp(f.suppressed_until)} and the "
                               f"condition still holds: {f.explanation}", now))
    for f in existing.values():
        if f.state in ACTIVE:
            moves.append(_move(s, f, f.state, "resolved", SENTINEL, why_cleared(f), now,
                               resolution="cleared"))
        elif f.state == "suppressed" and _expired(f, now):
            moves.append(_move(s, f, "suppressed", "resolved", SENTINEL,
                               f"the suppression expired {stamp(f.suppressed_until)}; "
                               f"{why_cleared(f)}", now, resolution="cleared"))
    s.flush()
    if moves:  # one Core insert: a first evaluation records a thousand moves
        s.execute(insert(_TRANSITIONS), moves)
    return out


def _expired(f: Finding, now: dt.datetime) -> bool:
    until = aware(f.suppressed_until)
    return until is None or until <= now


# -- reading ------------------------------------------------------------------------------


def _order() -> tuple[Any, ...]:
    state = case({s: i for i, s in enumerate(STATES)}, value=Finding.state, else_=len(STATES))
    sev = case({s: i for i, s in enumerate(SEVERITIES)}, value=Finding.severity, else_=3)
    return state, sev, Finding.clients.desc(), Finding.rule, Finding.subject


def find(store: Store, *, states: Iterable[str] = (), severities: Iterable[str] = (),
         rules: Iterable[str] = (), school: str | None = None) -> list[Finding]:
    """Findings matching every filter given (each a list: any of its values):
    states first in lifecycle order, then by severity and reach."""
    stmt = select(Finding).order_by(*_order())
    states, severities, rules = list(states), list(severities), list(rules)
    if states:
        stmt = stmt.where(Finding.state.in_(states))
    if severities:
        stmt = stmt.where(Finding.severity.in_(severities))
    if rules:
        stmt = stmt.where(Finding.rule.in_(rules))
    with store.session() as s:
        rows = list(s.scalars(stmt))
    if school:
        want = school.casefold()
        rows = [f for f in rows if any(str(x).casefold() == want for x in f.sites or ())]
    return rows


def history(store: Store, finding_id: int) -> tuple[Finding, list[FindingTransition]]:
    """A finding and its transitions, oldest first."""
    with store.session() as s:
        f = s.get(Finding, finding_id)
        if f is None:
            raise FindingNotFound(f"no finding with id {finding_id}")
        ts = list(s.scalars(select(FindingTransition)
                            .where(FindingTransition.finding_id == finding_id)
                            .order_by(FindingTransition.at, FindingTransition.id)))
    return f, ts


def _iso(t: dt.datetime | None) -> str | None:
    t = aware(t)
    return t.isoformat() if t is not None else None


def finding_json(f: Finding) -> dict[str, Any]:
    """A finding as JSON (CLI, scan summary)."""
    return {"id": f.id, "rule": f.rule, "subject": f.subject, "product": f.product,
            "title": f.title, "severity": f.severity, "tier": f.tier, "state": f.state,
            "resolution": f.resolution, "status": f.status, "explanation": f.explanation,
            "clients": f.clients, "students": f.students, "staff": f.staff,
            "sites": list(f.sites or []), "populations": list(f.populations or []),
            "events": f.events, "hosts": list(f.hosts or []), "details": dict(f.details or {}),
            "first_seen": _iso(f.first_seen), "last_seen": _iso(f.last_seen),
            "created_at": _iso(f.created_at), "updated_at": _iso(f.updated_at),
            "state_changed_at": _iso(f.state_changed_at), "state_reason": f.state_reason,
            "resolved_at": _iso(f.resolved_at), "suppressed_until": _iso(f.suppressed_until)}


def transition_json(t: FindingTransition) -> dict[str, Any]:
    return {"at": _iso(t.at), "actor": t.actor, "from": t.from_state, "to": t.to_state,
            "resolution": t.resolution, "reason": t.reason,
            "suppressed_until": _iso(t.suppressed_until), "audit_seq": t.audit_seq}


__all__ = [
    "ACTIVE", "HUMAN_RESOLUTIONS", "RESOLUTIONS", "SENTINEL", "STATES", "FindingNotFound",
    "Raised", "TransitionError", "act", "find", "finding_json", "history", "reconcile",
    "transition_json",
]
