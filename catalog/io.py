"""Catalog import from CSV or YAML. All-or-nothing: the first bad cell names
its row and column, and nothing is loaded."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import yaml

from catalog.errors import CatalogError
from catalog.kb import _Loader
from catalog.model import Catalog, Product, parse_status, slug
from collectors.hosts import normalize_host

CSV_COLUMNS = ("id", "name", "vendor", "domains", "status", "contract_expires", "category",
               "sso_ids", "notes")


def load_catalog(path: Path) -> Catalog:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc.strerror}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        return _from_yaml(text, str(path))
    return _from_csv(text, str(path))


def _from_csv(text: str, where: str) -> Catalog:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    for need in ("name", "domains", "status"):
        if need not in header:
            raise CatalogError(f"{where}: missing column {need!r}")
    reader.fieldnames = header
    rows = [(n, {k: (v or "").strip() for k, v in row.items() if k}) for n, row in
            enumerate(reader, start=2)]
    return _build([(f"{where}:{n}", r) for n, r in rows])


def _from_yaml(text: str, where: str) -> Catalog:
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{where}: not valid YAML: {exc}") from None
    items = doc.get("products") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise CatalogError(f"{where}: expected a list under 'products'")
    rows = []
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise CatalogError(f"{where}: product {i}: expected a mapping")
        rows.append((f"{where}: product {i}", item))
    return _build(rows)


def _build(rows: list[tuple[str, dict[str, Any]]]) -> Catalog:
    products: list[Product] = []
    seen: dict[str, str] = {}
    owner: dict[str, str] = {}
    for where, row in rows:
        p = _product(where, row)
        if p.id in seen:
            raise CatalogError(f"{where}: id: duplicate of {seen[p.id]}")
        seen[p.id] = where
        for d in p.domains:
            if d in owner:
                raise CatalogError(f"{where}: domains: {d} already belongs to {owner[d]}")
            owner[d] = p.name
        products.append(p)
    return Catalog(tuple(products))


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v for v in str(value).replace(";", " ").replace(",", " ").split() if v]


def _product(where: str, row: dict[str, Any]) -> Product:
    def fail(col: str, reason: str) -> CatalogError:
        return CatalogError(f"{where}: {col}: {reason}")

    name = str(row.get("name") or "").strip()
    if not name:
        raise fail("name", "empty")
    domains = []
    for d in _list(row.get("domains")):
        try:
            domains.append(normalize_host(d.removeprefix("*.")))
        except ValueError as exc:
            raise fail("domains", str(exc)) from None
    try:
        status = parse_status(str(row.get("status") or ""))
    except ValueError as exc:
        raise fail("status", str(exc)) from None
    expires = row.get("contract_expires")
    date: dt.date | None = None
    if isinstance(expires, dt.date):
        date = expires
    elif expires not in (None, ""):
        try:
            date = dt.date.fromisoformat(str(expires).strip())
        except ValueError:
            raise fail("contract_expires", f"not a date (YYYY-MM-DD): {expires!r}") from None
    return Product(
        id=str(row.get("id") or "").strip() or slug(name), name=name,
        vendor=str(row.get("vendor") or ""), domains=tuple(domains), status=status,
        contract_expires=date, category=str(row.get("category") or ""),
        sso_ids=tuple(_list(row.get("sso_ids"))), notes=str(row.get("notes") or ""),
        source=where)


def dump_catalog_csv(cat: Catalog) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for p in cat.products:
        w.writerow([p.id, p.name, p.vendor, " ".join(p.domains), p.status.value,
                    p.contract_expires.isoformat() if p.contract_expires else "", p.category,
                    " ".join(p.sso_ids), p.notes])
    return out.getvalue()
