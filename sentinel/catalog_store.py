"""The district catalog held in the store, its change history and the triage queue.

The store is where the catalog lives; the file named by ``[catalog] path`` is
one way to feed it. Each product is a row holding the product as canonical
JSON of its ``catalog.io`` YAML form (`product_doc`), which reads back to an
equal `Product` (`product_of`).

Every change (an import, a status decision, a triage label) is written in one
transaction with:

- a ``catalog_changes`` row: when, who, why, the kind, before and after;
- a ``catalog.change`` record of the audit chain (`sentinel.audit.append`)
  holding the same, whose seq the row keeps.

A change that fails (a bad file, a domain another product claims) writes
nothing: no product, no change, no audit record.

Start-up (`sync_config_catalog`): when the configured file's SHA-256 differs
from the last import recorded for that path, the file is imported (actor
``config``). Its products replace the stored ones of the same id; products it
does not list stay unless ``catalog.replace_on_import`` is true.

Triage (`triage_queue`, `label_app`, `label_new_app`, `label_noise`): unknown
registered domains above a reach threshold, ranked by reach; a label adds the
domain to a product (new products are ``requested``), or stores a district
noise rule that the matcher takes as a noise list named by its category.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from catalog.errors import CatalogError
from catalog.kb import HostList, KnownApp
from catalog.model import (
    Catalog,
    Contract,
    FieldError,
    Product,
    Review,
    Vetting,
    clean_line,
    clean_text,
    parse_domain_rule,
    parse_status,
    slug,
)
from sentinel.audit import append, canonical_json, default_actor
from sentinel.store import Store, aware
from sentinel.store.models import CatalogChange, CatalogImport, CatalogNoise, CatalogProduct

if TYPE_CHECKING:
    from catalog.match import Match, Matcher
    from sentinel.config import Settings

KINDS = ("import", "create", "update", "set-status", "label", "unlabel", "delete")
"""What a ``catalog_changes`` row records."""
CATALOG_LOCK = int.from_bytes(b"SNTCATLG", "big")
"""PostgreSQL advisory lock key of catalog writers (transaction-scoped)."""
CONFIG_ACTOR = "config"
REASON_MAX = 2000
_NOISE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}")
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# -- the product document -------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Dates as ISO text, tuples as lists (what JSON holds)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def product_docs(cat: Catalog) -> list[dict[str, Any]]:
    """Each product as the mapping ``catalog.io.dump_catalog_yaml`` writes for it
    (defaults left out), dates as ISO text."""
    from catalog.io import dump_catalog_yaml

    if not cat.products:
        return []
    doc = yaml.load(dump_catalog_yaml(cat), Loader=_Loader)  # noqa: S506 (a safe loader)
    return [_plain(item) for item in doc["products"]]


def product_doc(p: Product) -> dict[str, Any]:
    return product_docs(Catalog((p,)))[0]


def _dates(d: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: dt.date.fromisoformat(v) if k in keys and isinstance(v, str) else v
            for k, v in d.items()}


def product_of(doc: dict[str, Any], source: str = "catalog store") -> Product:
    """The Product of a `product_doc` mapping; CatalogError names what is wrong."""
    try:
        d = dict(doc)
        review = d.pop("review", None) or {}
        contract = d.pop("contract", None)
        return Product(**d,
                       review=Review(**_dates(review, ("decided", "next_review"))),
                       contract=Contract(**_dates(contract, ("signed", "expires")))
                       if contract else Contract(),
                       source=source)
    except (TypeError, ValueError) as exc:
        raise CatalogError(f"{source}: product {str(doc.get('id'))[:80]!r}: {exc}") from None


# -- reading --------------------------------------------------------------------------


@dataclass(frozen=True)
class NoiseLabel:
    """A district noise rule from triage."""

    rule: str
    category: str
    actor: str
    reason: str
    at: dt.datetime


@dataclass(frozen=True)
class StoredCatalog:
    """The catalog held in the store and the district noise labels."""

    catalog: Catalog
    noise: tuple[NoiseLabel, ...] = ()

    def noise_lists(self) -> tuple[HostList, ...]:
        """The noise labels as `Matcher` noise lists, one per category (named by it)."""
        return noise_lists(self.noise)


def noise_lists(labels: Sequence[NoiseLabel]) -> tuple[HostList, ...]:
    by_cat: dict[str, list[str]] = {}
    for n in labels:
        by_cat.setdefault(n.category, []).append(n.rule)
    return tuple(HostList(cat, "noise", tuple(rules), "catalog noise labels")
                 for cat, rules in sorted(by_cat.items()))


def _products(s: Session) -> list[CatalogProduct]:
    return list(s.scalars(select(CatalogProduct).order_by(CatalogProduct.position,
                                                          CatalogProduct.id)))


def _catalog_of(rows: Sequence[CatalogProduct]) -> Catalog:
    products = []
    for r in rows:
        try:
            doc = json.loads(r.data)
        except ValueError as exc:
            raise CatalogError(f"catalog store: product {r.id!r}: not JSON: {exc}") from None
        products.append(product_of(doc, f"catalog store, product {r.id}"))
    return Catalog(tuple(products))


def _noise(s: Session) -> tuple[NoiseLabel, ...]:
    return tuple(NoiseLabel(n.rule, n.category, n.actor, n.reason, aware(n.at))
                 for n in s.scalars(select(CatalogNoise).order_by(CatalogNoise.rule)))


def load(store: Store) -> StoredCatalog:
    """The catalog and noise labels in the store."""
    with store.session() as s:
        return StoredCatalog(_catalog_of(_products(s)), _noise(s))


def load_catalog(store: Store) -> Catalog:
    return load(store).catalog


# -- writing --------------------------------------------------------------------------


def check_reason(reason: str) -> str:
    """A change's reason: some text, at most `REASON_MAX` characters, no control characters."""
    try:
        got = clean_text(reason, "reason", REASON_MAX)
    except FieldError as exc:
        raise CatalogError(f"reason: {exc.reason}") from None
    if not got:
        raise CatalogError("reason: give one (what the change is for)")
    return got


def _actor(actor: str | None) -> str:
    if actor is None:
        return default_actor()
    got = " ".join(str(actor).split())
    if not got or len(got) > 255:
        raise CatalogError("actor: must be 1 to 255 characters")
    return got


@contextmanager
def _locked(store: Store) -> Iterator[Session]:
    """A session holding the catalog's write lock: on SQLite the database's write
    lock (BEGIN IMMEDIATE), on PostgreSQL an advisory lock. Reads made under it
    are current; `sentinel.audit.append` takes the chain lock after it."""
    with store.session() as s:
        conn = s.connection()
        if store.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CATALOG_LOCK})
        else:
            raw: Any = conn.connection.driver_connection
            if not raw.in_transaction:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield s


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _json(doc: dict[str, Any] | None) -> str | None:
    return None if doc is None else canonical_json(doc)


def _record(s: Session, *, actor: str, kind: str, reason: str, product_id: str | None,
            domain: str | None, before: dict[str, Any] | None, after: dict[str, Any] | None,
            at: dt.datetime, extra: dict[str, Any] | None = None) -> CatalogChange:
    """A change row and its audit record, in ``s``'s transaction."""
    assert kind in KINDS
    subject = f"product {product_id}" if product_id is not None else f"noise {domain}"
    payload = {"kind": kind, "product": product_id, "domain": domain, "reason": reason,
               "before": before, "after": after, **(extra or {})}
    rec = append(s, actor, "catalog.change", subject, payload)
    row = CatalogChange(at=at, actor=actor, kind=kind, product_id=product_id, domain=domain,
                        reason=reason, before=_json(before), after=_json(after),
                        audit_seq=rec.seq)
    s.add(row)
    return row


@dataclass(frozen=True)
class ImportResult:
    """What an import changed (product ids)."""

    path: str
    sha256: str
    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    skipped: bool = False
    """True when the start-up import found the file already imported."""

    def summary(self) -> str:
        return (f"{len(self.created)} created, {len(self.updated)} updated, "
                f"{len(self.deleted)} deleted, {len(self.unchanged)} unchanged")

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}


def import_catalog(store: Store, cat: Catalog, *, reason: str, actor: str | None = None,
                   path: str = "", sha256: str = "", mapping: str = "auto",
                   replace: bool = False, only_if_changed: bool = False) -> ImportResult:
    """Put ``cat``'s products in the store, all or nothing.

    A product replaces the stored one of the same id (same place in the catalog)
    or is added at the end; with ``replace``, stored products ``cat`` does not
    list are deleted. A domain rule or SSO id that another stored product
    claims fails the whole import (CatalogError). ``only_if_changed``: do nothing
    when the last import of ``path`` had this ``sha256`` (checked under the lock).
    """
    reason = check_reason(reason)
    who = _actor(actor)
    with _locked(store) as s:
        if only_if_changed and _last_hash(s, path) == sha256:
            return ImportResult(path, sha256, skipped=True)
        rows = {r.id: r for r in _products(s)}
        current = _catalog_of(list(rows.values()))
        incoming = {p.id: p for p in cat.products}
        merged = [incoming.pop(p.id, p) for p in current.products
                  if not replace or p.id in incoming]
        merged += list(incoming.values())
        try:
            Catalog(tuple(merged))
        except CatalogError as exc:
            where = f"{path}: " if path else ""
            raise CatalogError(f"{where}{exc}; nothing was imported") from None
        docs = dict(zip((p.id for p in cat.products), product_docs(cat), strict=True))
        old_docs = dict(zip((p.id for p in current.products), product_docs(current),
                            strict=True))
        at = _now()
        created, updated, unchanged, deleted = [], [], [], []
        position = max((r.position for r in rows.values()), default=0)
        extra = {"path": path, "sha256": sha256}
        for pid, doc in docs.items():
            before = old_docs.get(pid)
            if before == doc:
                unchanged.append(pid)
                continue
            _record(s, actor=who, kind="import", reason=reason, product_id=pid, domain=None,
                    before=before, after=doc, at=at, extra=extra)
            row = rows.get(pid)
            if row is None:
                position += 1
                s.add(CatalogProduct(id=pid, position=position, data=canonical_json(doc),
                                     updated_at=at, updated_by=who))
                created.append(pid)
            else:
                row.data, row.updated_at, row.updated_by = canonical_json(doc), at, who
                updated.append(pid)
        if replace:
            for pid, row in rows.items():
                if pid not in docs:
                    _record(s, actor=who, kind="delete", reason=reason, product_id=pid,
                            domain=None, before=old_docs[pid], after=None, at=at, extra=extra)
                    s.delete(row)
                    deleted.append(pid)
        result = ImportResult(path, sha256, tuple(created), tuple(updated), tuple(deleted),
                              tuple(unchanged))
        rec = append(s, who, "catalog.change", f"catalog import {path}"[:1000],
                     {"kind": "import", "path": path, "sha256": sha256, "mapping": mapping,
                      "replace": replace, "reason": reason, "created": list(created),
                      "updated": list(updated), "deleted": list(deleted),
                      "unchanged": len(unchanged)})
        s.add(CatalogImport(at=at, actor=who, path=path, sha256=sha256, mapping=mapping,
                            replace=replace, created=len(created), updated=len(updated),
                            deleted=len(deleted), unchanged=len(unchanged),
                            audit_seq=rec.seq))
    return result


def _last_hash(s: Session, path: str) -> str | None:
    return s.scalar(select(CatalogImport.sha256).where(CatalogImport.path == path)
                    .order_by(CatalogImport.id.desc()).limit(1))


def file_key(path: Path) -> str:
    """How an imported file is recorded: its absolute path."""
    return str(Path(path).resolve())


def read_file(path: Path, mapping: str = "auto") -> tuple[Catalog, str]:
    """A catalog file and the SHA-256 of its content (CatalogError names the file,
    row, column and reason)."""
    from catalog.io import load_catalog as load_file

    try:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc.strerror}") from None
    return load_file(path, mapping), digest


def import_file(store: Store, path: Path, *, reason: str, actor: str | None = None,
                mapping: str = "auto", replace: bool = False) -> ImportResult:
    """`import_catalog` of a file (``sentinel catalog import``)."""
    cat, digest = read_file(path, mapping)
    return import_catalog(store, cat, reason=reason, actor=actor, path=file_key(path),
                          sha256=digest, mapping=mapping, replace=replace)


def sync_config_catalog(settings: Settings, store: Store) -> ImportResult | None:
    """Import ``[catalog] path`` when its content changed since its last import.

    None when no file is configured. The file is read (and a bad one fails) only
    when its hash differs; then the import is all or nothing, by actor
    ``config``, with reason ``catalog file changed: <path>``.
    """
    path = settings.catalog.path
    if path is None:
        return None
    try:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc.strerror}") from None
    key = file_key(path)
    with store.session() as s:
        if _last_hash(s, key) == digest:
            return ImportResult(key, digest, skipped=True)
    cat, digest = read_file(path)
    return import_catalog(store, cat, reason=f"catalog file changed: {path}",
                          actor=CONFIG_ACTOR, path=key, sha256=digest,
                          replace=settings.catalog.replace_on_import, only_if_changed=True)


def _change_product(store: Store, product_id: str, kind: str, reason: str, actor: str | None,
                    change: Any, domain: str | None = None) -> Product:
    """Apply ``change(catalog, product) -> catalog`` to one stored product."""
    reason = check_reason(reason)
    who = _actor(actor)
    with _locked(store) as s:
        if domain is not None:
            _refuse_noise(s, domain)
        rows = _products(s)
        current = _catalog_of(rows)
        p = current.by_id(product_id)
        if p is None:
            raise CatalogError(f"no product with id {product_id[:80]!r} in the catalog "
                               "(sentinel catalog list shows the ids)")
        new_cat: Catalog = change(current, p)
        q = new_cat.by_id(product_id)
        assert q is not None
        before, after = product_doc(p), product_doc(q)
        if before == after:
            raise CatalogError(f"{product_id}: nothing to change")
        at = _now()
        _record(s, actor=who, kind=kind, reason=reason, product_id=product_id, domain=domain,
                before=before, after=after, at=at)
        row = next(r for r in rows if r.id == product_id)
        row.data, row.updated_at, row.updated_by = canonical_json(after), at, who
    return q


def set_status(store: Store, product_id: str, status: Vetting | str, *, reason: str,
               actor: str | None = None, reviewer: str | None = None,
               conditions: str | None = None, decided: dt.date | None = None) -> Product:
    """Record a review decision (``Catalog.set_status``); CatalogError when the
    product is unknown, a value is bad, or nothing would change."""
    try:
        vetting = parse_status(status) if isinstance(status, str) else status
    except ValueError as exc:
        raise CatalogError(f"status: {exc}") from None
    return _change_product(
        store, product_id, "set-status", reason, actor,
        lambda c, _p: c.set_status(product_id, vetting, reviewer=reviewer, decided=decided,
                                   conditions=conditions))


def history(store: Store, product_id: str) -> list[CatalogChange]:
    """A product's changes, oldest first."""
    with store.session() as s:
        return list(s.scalars(select(CatalogChange).where(CatalogChange.product_id == product_id)
                              .order_by(CatalogChange.id)))


def find_product(cat: Catalog, id_or_name: str) -> Product:
    """By id, else by name (any case); CatalogError when none or several match."""
    p = cat.by_id(id_or_name)
    if p is not None:
        return p
    key = id_or_name.casefold().strip()
    hits = [p for p in cat.products if p.name.casefold() == key]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise CatalogError(f"{id_or_name[:80]!r} names {len(hits)} products: "
                           + ", ".join(p.id for p in hits) + "; give the id")
    raise CatalogError(f"no product with id or name {id_or_name[:80]!r} in the catalog")


# -- triage labels --------------------------------------------------------------------------


def domain_rule(domain: str) -> str:
    """The canonical rule text of a domain to label (CatalogError when it is none)."""
    try:
        return str(parse_domain_rule(domain))
    except ValueError as exc:
        raise CatalogError(f"domain: {exc}") from None


def check_noise_category(category: str) -> str:
    got = category.strip()
    if not _NOISE_NAME.fullmatch(got):
        raise CatalogError(f"noise category {category[:80]!r}: use 1-64 letters, digits, "
                           "spaces, '.', '_' or '-', starting with a letter or digit "
                           "(e.g. cdn, telemetry, ads-analytics)")
    return got


def label_app(store: Store, domain: str, product_id: str, *, reason: str,
              actor: str | None = None) -> Product:
    """Add ``domain`` (as a rule) to a stored product (refused while the rule
    is labelled noise, or when another product claims it)."""
    rule = domain_rule(domain)

    def add(c: Catalog, p: Product) -> Catalog:
        if rule in p.domains:
            raise CatalogError(f"{product_id}: already has the domain rule {rule}")
        try:
            return c.upsert(dataclasses.replace(p, domains=(*p.domains, rule)))
        except (CatalogError, ValueError) as exc:
            raise CatalogError(f"{rule}: {exc}") from None

    return _change_product(store, product_id, "label", reason, actor, add, domain=rule)


def _refuse_noise(s: Session, rule: str) -> None:
    got = s.get(CatalogNoise, rule)
    if got is not None:
        raise CatalogError(f"{rule} is labelled noise ({got.category}); it cannot be an "
                           "app's domain too")


def label_kb_app(store: Store, domain: str, app: KnownApp, *, reason: str,
                 actor: str | None = None, status: Vetting | str = Vetting.REQUESTED) -> Product:
    """Create a product from a knowledge-base app (its id, name, vendor, website,
    category, domain rules and SSO ids) holding ``domain`` too: the district now
    tracks the app under its own status (``requested`` by default), and every
    host of the app, the labelled domain included, is that product."""
    sso = tuple(v for values in app.sso.values() for v in values)
    return label_new_app(store, domain, app.name, reason=reason, actor=actor, vendor=app.vendor,
                         status=status, product_id=app.id, website=app.website,
                         category=app.category, domains=app.domains, sso_ids=sso)


def label_new_app(store: Store, domain: str, name: str, *, reason: str,
                  actor: str | None = None, vendor: str = "",
                  status: Vetting | str = Vetting.REQUESTED,
                  product_id: str | None = None, website: str = "", category: str = "",
                  domains: Sequence[str] = (), sso_ids: Sequence[str] = ()) -> Product:
    """Create a product (status ``requested`` by default) holding ``domain``
    (after any other ``domains`` rules it is given)."""
    rule = domain_rule(domain)
    reason = check_reason(reason)
    who = _actor(actor)
    try:
        vetting = parse_status(status) if isinstance(status, str) else status
        pid = product_id or slug(clean_line(name, "name"))
        rules = tuple(dict.fromkeys((*domains, rule)))
        product = Product(pid, name, vendor, website=website, category=category, domains=rules,
                          sso_ids=tuple(sso_ids), review=Review(vetting), source="triage label")
    except ValueError as exc:
        raise CatalogError(f"new app: {exc}") from None
    with _locked(store) as s:
        _refuse_noise(s, rule)
        rows = _products(s)
        current = _catalog_of(rows)
        if current.by_id(pid) is not None:
            raise CatalogError(f"a product with id {pid!r} exists: label with --app {pid}")
        try:
            current.upsert(product)
        except CatalogError as exc:
            raise CatalogError(f"new app {name[:80]!r}: {exc}") from None
        at = _now()
        doc = product_doc(product)
        _record(s, actor=who, kind="create", reason=reason, product_id=pid, domain=rule,
                before=None, after=doc, at=at)
        position = max((r.position for r in rows), default=0) + 1
        s.add(CatalogProduct(id=pid, position=position, data=canonical_json(doc),
                             updated_at=at, updated_by=who))
    return product


def label_noise(store: Store, domain: str, category: str, *, reason: str,
                actor: str | None = None) -> NoiseLabel:
    """Store a district noise rule; the matcher classifies the domain as noise of
    ``category`` from the next evaluation on. Relabelling changes the category."""
    rule = domain_rule(domain)
    category = check_noise_category(category)
    reason = check_reason(reason)
    who = _actor(actor)
    with _locked(store) as s:
        current = _catalog_of(_products(s))
        owners = [p for p in current.products if rule in p.domains]
        if owners:
            raise CatalogError(f"{rule} is a domain of the product {owners[0].id!r}: "
                               "it cannot be noise too")
        got = s.get(CatalogNoise, rule)
        before = {"noise": got.category} if got is not None else None
        if got is not None and got.category == category:
            raise CatalogError(f"{rule} is already labelled noise ({category})")
        at = _now()
        _record(s, actor=who, kind="label", reason=reason, product_id=None, domain=rule,
                before=before, after={"noise": category}, at=at)
        if got is None:
            s.add(CatalogNoise(rule=rule, category=category, actor=who, reason=reason, at=at))
        else:
            got.category, got.actor, got.reason, got.at = category, who, reason, at
    return NoiseLabel(rule, category, who, reason, at)


def unlabel(store: Store, domain: str, *, reason: str, actor: str | None = None) -> str:
    """Take a triage label back: the district noise rule of ``domain``, or the
    domain rule a product holds (refused when it is the product's only one:
    remove the product instead). Returns what it was: ``noise (CATEGORY)`` or
    ``a domain of PRODUCT_ID``. The next evaluation classifies the domain as
    the knowledge base does."""
    rule = domain_rule(domain)
    reason = check_reason(reason)
    who = _actor(actor)
    with _locked(store) as s:
        got = s.get(CatalogNoise, rule)
        if got is not None:
            at = _now()
            _record(s, actor=who, kind="unlabel", reason=reason, product_id=None, domain=rule,
                    before={"noise": got.category}, after=None, at=at)
            s.delete(got)
            return f"noise ({got.category})"
        rows = _products(s)
        current = _catalog_of(rows)
        owners = [p for p in current.products if rule in p.domains]
        if not owners:
            raise CatalogError(f"{rule} is neither labelled noise nor a domain of a catalog "
                               "product")
        p = owners[0]
        if len(p.domains) == 1:
            raise CatalogError(f"{rule} is the only domain of {p.id!r}: remove the product "
                               f"(sentinel catalog remove {p.id}) or give it another domain first")
        q = dataclasses.replace(p, domains=tuple(d for d in p.domains if d != rule))
        before, after = product_doc(p), product_doc(q)
        at = _now()
        _record(s, actor=who, kind="unlabel", reason=reason, product_id=p.id, domain=rule,
                before=before, after=after, at=at)
        row = next(r for r in rows if r.id == p.id)
        row.data, row.updated_at, row.updated_by = canonical_json(after), at, who
        return f"a domain of {p.id}"


def remove_product(store: Store, product_id: str, *, reason: str,
                   actor: str | None = None) -> Product:
    """Delete one stored product (its change history and audit records stay)."""
    reason = check_reason(reason)
    who = _actor(actor)
    with _locked(store) as s:
        rows = _products(s)
        p = _catalog_of(rows).by_id(product_id)
        if p is None:
            raise CatalogError(f"no product with id {product_id[:80]!r} in the catalog "
                               "(sentinel catalog list shows the ids)")
        _record(s, actor=who, kind="delete", reason=reason, product_id=p.id, domain=None,
                before=product_doc(p), after=None, at=_now())
        s.delete(next(r for r in rows if r.id == p.id))
    return p


def noise_history(store: Store, rule: str) -> list[CatalogChange]:
    with store.session() as s:
        return list(s.scalars(select(CatalogChange).where(
            CatalogChange.product_id.is_(None), CatalogChange.domain == rule)
            .order_by(CatalogChange.id)))


# -- the triage queue -----------------------------------------------------------------------


@dataclass(frozen=True)
class TriageItem:
    """An unknown registered domain and its reach over the findings window."""

    domain: str
    clients: int
    students: int
    staff: int
    schools: int
    events: int
    uploads: int
    sites: tuple[str, ...]
    hosts: tuple[str, ...]
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    finding_id: int | None = None
    finding_state: str | None = None
    suggestions: tuple[Match, ...] = ()
    """Apps whose brand the domain or its hosts carry (`Matcher.suggest`): a hint
    for the reviewer, never a classification."""

    @property
    def weighted(self) -> int:
        """Devices, a student counting twice (as findings rank reach)."""
        return self.clients + self.students

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["weighted"] = self.weighted
        out["sites"], out["hosts"] = list(self.sites), list(self.hosts)
        out["suggestions"] = [{"kind": m.kind, "id": m.key, "name": m.name,
                               "category": m.category, "why": m.rule}
                              for m in self.suggestions]
        for k in ("first_seen", "last_seen"):
            v = out[k]
            out[k] = v.isoformat() if v is not None else None
        return out


@dataclass(frozen=True)
class TriageQueue:
    window: tuple[dt.date, dt.date] | None
    min_clients: int
    items: tuple[TriageItem, ...]

    def to_json(self) -> dict[str, Any]:
        return {"window": [d.isoformat() for d in self.window] if self.window else None,
                "min_clients": self.min_clients, "domains": [i.to_json() for i in self.items]}


def triage_queue(settings: Settings, store: Store, catalog: Catalog, matcher: Matcher,
                 kb: Any, min_clients: int | None = None) -> TriageQueue:
    """Unknown registered domains of the findings window used by at least
    ``min_clients`` devices (default ``findings.unknown_min_clients``), ranked by
    reach: devices with students counted twice, then schools, then events.

    Hosts are classified with ``matcher`` (the catalog and labels as they are
    now) in a transaction that is rolled back: the stored classification of the
    last evaluation stays as it was.
    """
    from catalog.sso import AppMatcher
    from sentinel.findings import EVALUATION_LOCK, classify_hosts, usage_by_subject, window
    from sentinel.store.models import Finding

    threshold = min_clients if min_clients is not None else settings.findings.unknown_min_clients
    with Session(store.engine) as s:
        try:
            if store.dialect == "postgresql":
                s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVALUATION_LOCK})
            win = window(s, settings.findings.window_days)
            if win is None:
                return TriageQueue(None, threshold, ())
            classify_hosts(s, matcher, *win, apps=AppMatcher(catalog, kb))
            reach = usage_by_subject(s, *win)
            found: dict[str, tuple[int, str]] = {
                subj: (fid, state) for subj, fid, state in s.execute(
                    select(Finding.subject, Finding.id, Finding.state)
                    .where(Finding.rule == "unknown_domain"))}
        finally:
            s.rollback()
    items = []
    for r in reach:
        if r.match_kind != "unknown" or r.subject.startswith(("sso:", "sso-name:")):
            continue
        if r.clients < threshold:
            continue
        f = found.get(r.subject)
        items.append(TriageItem(r.subject, r.clients, r.students, r.staff, r.schools, r.events,
                                r.uploads, tuple(r.sites), tuple(r.hosts), r.first_seen,
                                r.last_seen, f[0] if f else None, f[1] if f else None,
                                tuple(matcher.suggest(r.subject, r.hosts))))
    items.sort(key=lambda i: (-i.weighted, -i.schools, -i.events, i.domain))
    return TriageQueue(win, threshold, tuple(items))


def change_json(c: CatalogChange) -> dict[str, Any]:
    """A change row as JSON (``catalog show --json``)."""
    def doc(v: str | None) -> Any:
        return json.loads(v) if v is not None else None
    at = aware(c.at)
    return {"at": at.isoformat() if at else None, "actor": c.actor, "kind": c.kind,
            "product": c.product_id, "domain": c.domain, "reason": c.reason,
            "before": doc(c.before), "after": doc(c.after), "audit_seq": c.audit_seq}


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """Top-level (and review./contract.) keys that differ."""
    b, a = before or {}, after or {}
    out = []
    for k in sorted(set(b) | set(a)):
        if k in ("review", "contract") and isinstance(b.get(k, {}), dict) \
                and isinstance(a.get(k, {}), dict):
            sb, sa = b.get(k) or {}, a.get(k) or {}
            out += [f"{k}.{sk}" for sk in sorted(set(sb) | set(sa)) if sb.get(sk) != sa.get(sk)]
        elif b.get(k) != a.get(k):
            out.append(k)
    return out


def product_count(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(CatalogProduct)) or 0)


__all__ = [
    "KINDS",
    "ImportResult",
    "NoiseLabel",
    "StoredCatalog",
    "TriageItem",
    "TriageQueue",
    "change_json",
    "changed_fields",
    "check_reason",
    "find_product",
    "history",
    "import_catalog",
    "import_file",
    "label_app",
    "label_new_app",
    "label_noise",
    "load",
    "load_catalog",
    "noise_history",
    "noise_lists",
    "product_doc",
    "product_of",
    "remove_product",
    "set_status",
    "sync_config_catalog",
    "triage_queue",
    "unlabel",
]
