"""``sentinel kb``: search the knowledge base, and explain how a host classifies.

Thin, as the rest of the CLI: each command calls one library function and
renders it. Hosts and list entries are user text: escaped for the terminal,
ASCII-escaped in JSON.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from sentinel.textsafe import printable

if TYPE_CHECKING:
    from catalog.kb import HostList, KnowledgeBase
    from catalog.match import Matcher
    from catalog.model import Catalog
    from sentinel.cli import Obj
    from sentinel.config import Settings


def _lists(settings: Settings) -> tuple[HostList, ...]:
    from catalog.kb import load_host_list

    return tuple(load_host_list(s.path, s.name, s.category, s.format) for s in settings.lists)


def _catalog(settings: Settings) -> Catalog:
    from catalog.io import load_catalog
    from catalog.model import Catalog

    return load_catalog(settings.catalog.path) if settings.catalog.path else Catalog()


def _emit(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=True))


@click.group()
def kb() -> None:
    """The app knowledge base, and how hosts classify."""


@kb.command()
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def search(obj: Obj, text: str, as_json: bool) -> None:
    """Known apps and noise rules whose id, name, vendor or domains contain TEXT."""
    from catalog.kb import load_knowledge_base
    from catalog.kb import search as kb_search
    from sentinel.app import open_context

    ctx = open_context(obj.settings)  # the district's triage noise labels are searched too
    try:
        labels = ctx.labels
    finally:
        ctx.store.dispose()
    apps, listed = kb_search(load_knowledge_base(), text, (*labels, *_lists(obj.settings)))
    if as_json:
        _emit({"query": text,
               "apps": [{"id": a.id, "name": a.name, "vendor": a.vendor, "category": a.category,
                         "website": a.website, "student_data_risk": a.student_data_risk,
                         "domains": list(a.domains)} for a in apps],
               "rules": [{"kind": r.kind, "rule": r.rule, "category": r.category,
                          "source": r.source} for r in listed]})
        return
    if not apps and not listed:
        click.echo(f"nothing matches {printable(text, 100)}")
        return
    for a in apps:
        click.echo(f"app    {printable(a.id, 40):28} {printable(a.name, 40)} "
                   f"({printable(a.vendor, 60)}) [{a.category}, risk {a.student_data_risk}]")
        click.echo(f"       domains: {printable(' '.join(a.domains), 400)}")
    for r in listed:
        click.echo(f"{r.kind:6} {printable(r.rule, 80):40} {printable(r.category, 40)}"
                   f"  ({printable(r.source, 80)})")


def explain(settings: Settings, host: str, catalog: Catalog | None = None,
            kb: KnowledgeBase | None = None) -> dict[str, Any]:
    """How ``host`` would classify with this configuration, and why (JSON-ready)."""
    from catalog.kb import load_knowledge_base
    from catalog.match import Matcher

    kb = kb if kb is not None else load_knowledge_base()
    catalog = catalog if catalog is not None else _catalog(settings)
    matcher = Matcher(catalog, kb, tuple(settings.district.domains), _lists(settings))
    return _detail(matcher, kb, catalog, host)


def _detail(matcher: Matcher, kb: KnowledgeBase, catalog: Catalog, host: str) -> dict[str, Any]:
    ex = matcher.explain(host)
    out = ex.to_json()
    m = ex.match
    if m.kind == "district":
        p = catalog.by_id(m.key)
        if p is not None:
            out["product"] = {"id": p.id, "name": p.name, "vendor": p.vendor,
                              "status": p.status.value}
    elif m.kind == "known":
        app = kb.app(m.key)
        if app is not None:
            out["app"] = {"id": app.id, "name": app.name, "vendor": app.vendor,
                          "student_data_risk": app.student_data_risk}
    elif m.kind == "unknown":
        out["suggestions"] = [{"kind": s.kind, "id": s.key, "name": s.name, "why": s.rule}
                              for s in matcher.suggest(m.key, [out["host"]])]
    return out


@kb.command()
@click.argument("host")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def show(obj: Obj, host: str, as_json: bool) -> None:
    """How HOST would classify, and why: the kind of match, the product or noise
    category, the rule that matched, the normalized host and its registered domain."""
    from sentinel.app import open_context

    # The catalog held in the store, its triage labels and the config's lists:
    # exactly what the next evaluation uses.
    ctx = open_context(obj.settings)
    try:
        d = _detail(ctx.matcher, ctx.kb, ctx.catalog, host)
    finally:
        ctx.store.dispose()
    if as_json:
        _emit(d)
        return
    rows: list[tuple[str, str]] = [("host", d["host"] if d["host"] is not None else
                                    f"{d['input']} (not a host name)")]
    if d["host"] is not None and d["host"] != d["input"]:
        rows.append(("as written", d["input"]))
    if d["registered_domain"]:
        private = " (private suffix)" if d["private_suffix"] else ""
        rows.append(("registered domain", f"{d['registered_domain']}, under "
                                          f"{d['public_suffix']}{private}"))
    rows.append(("classifies as", d["kind_label"]))
    who = d.get("product") or d.get("app")
    if who:
        rows.append(("product" if "product" in d else "app",
                     f"{who['name']} ({who['id']}), {who['vendor'] or 'vendor unknown'}"))
        if "status" in who:
            rows.append(("vetting", who["status"]))
    elif d["kind"] in ("noise", "unknown", "known"):
        rows.append(("key", d["key"]))
    if d["category"]:
        rows.append(("category", d["category"]))
    rows.append(("rule", d["rule"] or "-"))
    for o in d["overridden"]:
        rows.append(("also applies", f"{o['rule']} -> {o['kind']} {o['name']} (lower precedence)"))
    for o in d["confined"]:
        rows.append(("not applied", f"{o['rule']} -> {o['kind']} {o['name']}: a platform "
                                    "suffix, matches that host only"))
    for s in d.get("suggestions", ()):
        rows.append(("suggested app", f"{s['name']} ({s['why']}): not applied; "
                                      f"sentinel triage label {d['key']} --app {s['id']}"))
    for label, value in rows:
        click.echo(f"{label:18} {printable(value, 300)}")
