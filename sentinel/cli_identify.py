"""``sentinel identify``: de-pseudonymization, on purpose and on the record.

Pseudonyms cannot be reversed without the key; a reviewer who must know which
device or account is behind one brings candidates (a DHCP lease export, a
roster) and Sentinel says which candidate it is, or gives the pseudonym of a
known address or account with what it used. Every use appends an
``identity.reveal`` audit record naming the actor, the reason and the
pseudonyms involved (never the raw address or name).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import click
from sqlalchemy import func, select

from sentinel.textsafe import printable

MAX_CANDIDATES = 1_000_000


def reveal(settings: Any, store: Any, *, pseudonym: str | None, candidates: list[str],
           kind: str, reason: str, actor: str) -> dict[str, Any]:
    """Match ``pseudonym`` against ``candidates`` (or, without a pseudonym, give
    each candidate's pseudonym), list the usage under the pseudonyms found, and
    record it all in the audit chain in one transaction."""
    from sentinel.audit import append
    from sentinel.privacy import Identities, load_or_create_key
    from sentinel.store.models import UsageDaily

    ids = Identities(settings, load_or_create_key(settings.storage.data_dir))
    tag = "client" if kind == "ip" else "user"

    def pseud(value: str) -> str:
        return ids.pseudonym(tag, value if kind == "ip" else value.lower())

    if pseudonym is not None:
        found = [c for c in candidates if pseud(c) == pseudonym]
        pairs = [(c, pseudonym) for c in found]
    else:
        pairs = [(c, pseud(c)) for c in candidates]
    column = UsageDaily.client if kind == "ip" else UsageDaily.user
    usage: dict[str, list[dict[str, Any]]] = {}
    with store.session() as s:
        for _raw, p in pairs:
            rows = s.execute(
                select(UsageDaily.host, func.min(UsageDaily.day), func.max(UsageDaily.day),
                       func.sum(UsageDaily.events))
                .where(column == p).group_by(UsageDaily.host)
                .order_by(func.sum(UsageDaily.events).desc()).limit(20))
            usage[p] = [{"host": h, "first_day": str(a), "last_day": str(b), "events": int(n)}
                        for h, a, b, n in rows]
        append(s, actor, "identity.reveal", pseudonym or f"{len(pairs)} {tag} pseudonym(s)", {
            "kind": tag, "reason": reason, "pseudonym": pseudonym,
            "candidates": len(candidates),
            "candidates_sha256": hashlib.sha256("\n".join(candidates).encode()).hexdigest(),
            "revealed": sorted({p for _, p in pairs}), "matched": bool(pairs),
            "at": dt.datetime.now(dt.UTC).isoformat()})
    return {"pseudonym": pseudonym, "matches": [{"candidate": c, "pseudonym": p,
                                                 "usage": usage.get(p, [])} for c, p in pairs]}


@click.command()
@click.argument("pseudonym", required=False)
@click.option("--ip", "ips", multiple=True, help="A candidate address (repeatable).")
@click.option("--user", "users", multiple=True, help="A candidate account name (repeatable).")
@click.option("--candidates", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A file of candidate addresses or account names, one per line.")
@click.option("--kind", type=click.Choice(["ip", "user"]), help="What --candidates holds.")
@click.option("--reason", required=True, help="Why (recorded in the audit chain).")
@click.option("--actor", help="Who (default: local:<login>).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def identify(obj: Any, pseudonym: str | None, ips: tuple[str, ...], users: tuple[str, ...],
             candidates: Path | None, kind: str | None, reason: str, actor: str | None,
             as_json: bool) -> None:
    """Which candidate is behind PSEUDONYM, or the pseudonyms of --ip/--user,
    with what they used. Recorded as identity.reveal in the audit chain."""
    from sentinel.app import open_context
    from sentinel.audit import default_actor

    if not reason.strip():
        raise click.BadParameter("a reason is required", param_hint="--reason")
    if ips and users:
        raise click.UsageError("give --ip or --user candidates, not both")
    values = list(ips or users)
    what = "ip" if ips else "user" if users else kind
    if candidates is not None:
        if kind is None:
            raise click.UsageError("--candidates needs --kind ip or --kind user")
        if what != kind:
            raise click.UsageError("--kind does not match the --ip/--user candidates")
        lines = candidates.read_text(encoding="utf-8", errors="replace").splitlines()
        values += [ln.strip() for ln in lines[:MAX_CANDIDATES]
                   if ln.strip() and not ln.startswith("#")]
    if not values or what is None:
        raise click.UsageError("no candidates: give --ip, --user or --candidates with --kind")
    if pseudonym is None and len(values) > 100:
        raise click.UsageError("without a PSEUDONYM, give at most 100 candidates")
    ctx = open_context(obj.settings)
    try:
        out = reveal(ctx.settings, ctx.store, pseudonym=pseudonym, candidates=values, kind=what,
                     reason=reason, actor=actor or default_actor())
    finally:
        ctx.store.dispose()
    if as_json:
        click.echo(json.dumps(out, indent=2, ensure_ascii=True))
        return
    if not out["matches"]:
        click.echo(f"no candidate has pseudonym {printable(pseudonym or '', 80)} (recorded)")
        raise SystemExit(1)
    for m in out["matches"]:
        click.echo(f"{printable(m['candidate'], 200)} = {m['pseudonym']}")
        for u in m["usage"]:
            click.echo(f"  {printable(u['host'], 120):50} {u['events']:>9} events  "
                       f"{u['first_day']} to {u['last_day']}")
