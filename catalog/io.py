"""Catalog import and export: CSV and YAML, lossless both ways.

Import is all-or-nothing. Every row is checked, every problem is collected
(row, column or key, reason), and one :class:`CatalogImportError` lists them
all; a file with any problem yields no catalog.

Sources (``mapping``)
---------------------
``native``
    Our own columns (:data:`CSV_COLUMNS`), written by :func:`dump_catalog_csv`.
    The demo's older five-column file (name, vendor, domains separated by
    spaces, status, contract_expires, category) is native too: a
    ``contract_expires`` with no ``contract_type`` means a vendor DPA.
``sdpc``
    An export of agreements from the Student Data Privacy Consortium's
    resource registry (vendor, product, agreement type, status, signed,
    expires).
``district_sheet``
    A district's "approved apps" spreadsheet (app, status, scope, agreement,
    URL ...).
``auto``
    Chosen from the header (:func:`detect_mapping`).

YAML is always native, with nested ``review`` and ``contract`` mappings.

CSV encoding of values
----------------------
* Lists are joined with ``"; "``. In the free-text lists (``sso_ids``,
  ``scope_schools``, ``evidence``) a ``;`` inside an item is written ``\\;``
  and a backslash before ``;``, before another backslash or at the end of
  an item is doubled; on import a line break also separates items. Domain
  rules, grade bands and data elements may also be separated by commas or
  (domains) spaces.
* Dates are written ISO (``2026-06-30``); import also reads US ``6/30/2026``
  and ``6/30/26`` (month first, as districts write them).
* Formula injection: a cell that, after any leading apostrophes, starts with
  ``=``, ``+``, ``-``, ``@``, tab or carriage return is written with one more
  leading apostrophe (``'=www.example.com``), so a spreadsheet shows it as
  text; import removes exactly one apostrophe from such a cell and leaves
  every other cell alone. The round trip is exact, and a hand-written
  ``=www.example.com`` reads as written.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from catalog.elements import check_elements
from catalog.errors import CatalogError
from catalog.kb import _Loader
from catalog.model import (
    LINE_MAX,
    Catalog,
    Contract,
    ContractType,
    FieldError,
    Product,
    Review,
    Scope,
    Vetting,
    catalog_conflicts,
    check_id,
    clean_line,
    clean_text,
    normalize_sso_id,
    normalize_website,
    parse_audience,
    parse_contract_type,
    parse_domain_rule,
    parse_grade_band,
    parse_scope,
    parse_status,
    slug,
    website_host,
)

__all__ = [
    "CSV_COLUMNS", "MAPPINGS", "CatalogImportError", "detect_mapping", "dump_catalog_csv",
    "dump_catalog_yaml", "load_catalog", "parse_catalog",
]

CSV_COLUMNS = (
    "id", "name", "vendor", "website", "category", "domains", "sso_ids", "audience",
    "grade_bands", "scope", "scope_schools", "status", "reviewer", "decided", "conditions",
    "next_review", "allowed_data", "evidence", "contract_type", "contract_signed",
    "contract_expires", "contract_data_elements", "contract_document", "originating_district",
    "notes",
)
"""The native CSV columns, in export order. Only ``name`` and ``status`` are required."""

MAPPINGS = ("native", "sdpc", "district_sheet")
MAX_SHOWN = 50
"""Problems listed in a CatalogImportError's message (all are in ``problems``)."""
MAX_BYTES = 50_000_000

_REVIEW_KEYS = {"status": "status", "reviewer": "reviewer", "decided": "decided",
                "conditions": "conditions", "next_review": "next_review",
                "allowed_data": "allowed_data", "evidence": "evidence"}
_CONTRACT_KEYS = {"type": "contract_type", "signed": "contract_signed",
                  "expires": "contract_expires", "data_elements": "contract_data_elements",
                  "document": "contract_document", "originating_district": "originating_district"}
_PRODUCT_KEYS = ("id", "name", "vendor", "website", "category", "domains", "sso_ids", "audience",
                 "grade_bands", "scope", "scope_schools", "notes")
_LINE_COLS = ("vendor", "category", "reviewer", "contract_document", "originating_district")
_TEXT_COLS = ("notes", "conditions")
_DATE_COLS = ("decided", "next_review", "contract_signed", "contract_expires")


class CatalogImportError(CatalogError):
    """A catalog file that cannot be imported; ``problems`` lists every one."""

    def __init__(self, where: str, problems: Sequence[str]) -> None:
        self.where = where
        self.problems = tuple(problems)
        n = len(self.problems)
        lines = [f"{where}: {n} problem{'s' if n != 1 else ''}; nothing was imported"]
        lines += [f"  {p}" for p in self.problems[:MAX_SHOWN]]
        if n > MAX_SHOWN:
            lines.append(f"  ... and {n - MAX_SHOWN} more")
        super().__init__("\n".join(lines))


@dataclass
class _Row:
    """One source row, its values keyed by native column."""

    where: str
    values: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    """Native column -> the column or key as the source names it (for errors)."""
    derived_domain: str | None = None
    reported: set[str] = field(default_factory=set)
    claim: _Claim | None = None
    """Columns already found bad while translating an outside source's values."""

    def fail(self, problems: list[str], col: str, reason: str) -> None:
        problems.append(f"{self.where}: {self.label(col)}: {reason}")
        self.reported.add(col)

    def label(self, col: str) -> str:
        return self.labels.get(col, col)


# ----------------------------------------------------------------------------- public


def load_catalog(path: Path | str, mapping: str = "auto") -> Catalog:
    """Read a catalog file: ``.yaml``/``.yml`` as YAML, anything else as CSV.

    A CSV that is not UTF-8 is read as Windows-1252 (Excel's "CSV" on Windows).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read: {exc.strerror}") from None
    if len(data) > MAX_BYTES:
        raise CatalogError(f"{path}: larger than {MAX_BYTES // 1_000_000} MB")
    fmt = "yaml" if path.suffix.lower() in (".yaml", ".yml") else "csv"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if fmt == "yaml":
            raise CatalogError(f"{path}: not UTF-8 (byte {exc.start})") from None
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise CatalogError(f"{path}: neither UTF-8 nor Windows-1252 (byte {exc.start}); "
                               "save it as 'CSV UTF-8'") from None
    return parse_catalog(text, fmt, str(path), mapping)


def parse_catalog(text: str, fmt: str, where: str = "catalog", mapping: str = "auto") -> Catalog:
    """Parse catalog text; ``fmt`` is ``csv`` or ``yaml``; ``where`` names it in errors."""
    if mapping not in (*MAPPINGS, "auto"):
        raise CatalogError(f"{where}: unknown mapping {mapping!r}; valid: auto, "
                           f"{', '.join(MAPPINGS)}")
    if len(text) > MAX_BYTES:
        raise CatalogError(f"{where}: larger than {MAX_BYTES // 1_000_000} MB")
    text = text.removeprefix("\ufeff")
    if fmt == "yaml":
        if mapping not in ("auto", "native"):
            raise CatalogError(f"{where}: mapping {mapping!r} is for CSV; YAML is always native")
        rows, problems = _yaml_rows(text, where)
    elif fmt == "csv":
        rows, problems = _csv_rows(text, where, mapping)
    else:
        raise CatalogError(f"{where}: unknown format {fmt!r}; valid: csv, yaml")
    return _build(rows, problems, where)


def dump_catalog_csv(cat: Catalog) -> str:
    """The catalog as native CSV (RFC 4180, CRLF line ends)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for p in cat.products:
        r, c = p.review, p.contract
        cells = [
            p.id, p.name, p.vendor, p.website, p.category, "; ".join(p.domains),
            _join(p.sso_ids), p.audience.value, "; ".join(p.grade_bands), p.scope.value,
            _join(p.scope_schools), r.status.value, r.reviewer, _iso(r.decided), r.conditions,
            _iso(r.next_review), "; ".join(r.allowed_data), _join(r.evidence), c.type.value,
            _iso(c.signed), _iso(c.expires), "; ".join(c.data_elements), c.document,
            c.originating_district, p.notes,
        ]
        w.writerow([_defuse(cell) for cell in cells])
    return out.getvalue()


def dump_catalog_yaml(cat: Catalog) -> str:
    """The catalog as YAML: ``products:`` with nested ``review`` and ``contract``;
    empty and default values are left out."""
    items = []
    for p in cat.products:
        item: dict[str, Any] = {"id": p.id, "name": p.name}
        for key in ("vendor", "website", "category"):
            if getattr(p, key):
                item[key] = getattr(p, key)
        for key in ("domains", "sso_ids"):
            if getattr(p, key):
                item[key] = list(getattr(p, key))
        if p.audience.value != "both":
            item["audience"] = p.audience.value
        if p.grade_bands:
            item["grade_bands"] = list(p.grade_bands)
        if p.scope is not Scope.DISTRICT:
            item["scope"] = p.scope.value
        if p.scope_schools:
            item["scope_schools"] = list(p.scope_schools)
        if p.notes:
            item["notes"] = p.notes
        item["review"] = _compact({"status": p.review.status.value, **{
            k: getattr(p.review, k) for k in _REVIEW_KEYS if k != "status"}})
        if p.contract.type is not ContractType.NONE:
            item["contract"] = _compact({"type": p.contract.type.value, **{
                k: getattr(p.contract, k) for k in _CONTRACT_KEYS if k != "type"}})
        items.append(item)
    return yaml.dump({"products": items}, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     width=1_000_000, default_flow_style=False)


def detect_mapping(header: Sequence[str]) -> str | None:
    """The mapping a CSV header belongs to, or None when it cannot tell."""
    named = [h.strip() for h in header if h.strip()]
    keys = {_key(h) for h in named}
    if "name" in keys and (keys <= _NATIVE_KEYS or all(_SNAKE.fullmatch(h) for h in named)):
        return "native"  # ours, or ours with a misspelt column (reported as unknown)
    if keys & _NATIVE_ONLY:
        return "native"
    scores = {m: len(keys & _DISTINCT[m]) for m in ("sdpc", "district_sheet")}
    best = max(scores.values())
    winners = [m for m, s in scores.items() if s == best]
    if best == 0 or len(winners) > 1:
        return None
    return winners[0]


# ------------------------------------------------------------------------ CSV reading

_NATIVE_KEYS = frozenset(CSV_COLUMNS)
_NATIVE_ONLY = frozenset(("sso_ids", "grade_bands", "scope_schools", "decided", "next_review",
                          "allowed_data", "evidence", "contract_type", "contract_signed",
                          "contract_expires", "contract_data_elements", "contract_document"))

# Column names of the outside sources, normalized by _key(). Where several columns
# of one file map to one field, the alias listed first wins and the others are ignored.
#
# SDPC resource registry (sdpc.a4l.org): its public agreement search lists, per
# agreement, the vendor (company), the product (resource), the agreement type
# (a state or national DPA, an Exhibit E general-offer sign-on, or a
# vendor-specific agreement), its status, the date signed and the expiry date;
# for an Exhibit E sign-on the district whose agreement it joins. No column list
# of the registry's export is published; `search` (pages, docs) found none, so
# these aliases cover the field names the registry shows and their usual spellings.
_SDPC_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("product", "product_name", "resource", "resource_name", "software",
             "software_name", "application", "application_name", "app", "app_name"),
    "vendor": ("vendor", "vendor_name", "company", "company_name", "provider", "provider_name",
               "developer", "publisher"),
    "contract_type": ("agreement_type", "type", "contract_type", "dpa_type", "agreement"),
    "status": ("status", "agreement_status", "dpa_status", "contract_status"),
    "contract_signed": ("date_signed", "signed", "signed_date", "signature_date",
                        "effective_date", "start_date", "date_approved", "approved_date"),
    "contract_expires": ("expires", "expiration_date", "expiration", "expiry", "expiry_date",
                         "expires_on", "end_date", "termination_date"),
    "originating_district": ("originating_district", "originating_lea", "originator",
                             "original_district", "originating_agency"),
    "contract_document": ("document", "agreement_link", "agreement_url", "dpa_link",
                          "document_link", "link", "file"),
    "website": ("website", "product_url", "website_url", "url"),
    "category": ("category",),
    "notes": ("notes", "note", "comments", "comment"),
}
# District "approved apps" sheets. Modelled on the public list of Adams 14
# (sites.google.com/adams14schools.org/applist/explanation-of-terms): Status
# (Approved / Parental Consent / Unvetted / Unapproved / Caution, "see Notes"),
# Use (District / School / Teacher) and Agreement (Contract = signed with the
# vendor, On Demand = use on the vendor's terms, TBD = not yet determined); on
# Boulder Valley's split into a "DPA Software Approved List" and a "Click Through
# List" (it.bvsd.org, Software Approval Process); and on SchoolDay's district
# application report (Name, URL). Other columns seen on such sheets are aliases.
_DISTRICT_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("app", "app_name", "app_product_name", "application", "application_name",
             "product", "product_name", "name", "resource", "resource_name", "tool",
             "tool_name", "digital_tool", "software", "title"),
    "vendor": ("vendor", "company", "publisher", "developer", "provider"),
    "status": ("status", "approval_status", "approval", "district_status", "vetting_status",
               "app_status", "approved"),
    "scope": ("scope", "use", "usage", "approved_for", "approval_level", "license_level",
              "level", "availability"),
    "scope_schools": ("schools", "school", "sites", "site", "campus", "campuses", "buildings"),
    "contract_type": ("agreement", "agreement_type", "contract", "dpa", "privacy_agreement",
                      "data_privacy_agreement", "contract_status", "dpa_status"),
    "contract_signed": ("date_signed", "signed", "dpa_signed", "contract_signed"),
    "contract_expires": ("expires", "expiration_date", "expiration", "contract_expires",
                         "dpa_expires", "dpa_expiration", "contract_end", "end_date",
                         "renewal_date"),
    "originating_district": ("originating_district", "originating_lea"),
    "website": ("url", "website", "link", "web_address", "site_url", "app_url", "web_site"),
    "domains": ("domains", "domain"),
    "grade_bands": ("grades", "grade", "grade_level", "grade_levels", "grade_band",
                    "grade_bands"),
    "audience": ("audience", "users", "user_type", "intended_users"),
    "category": ("category", "type", "subject", "content_area", "purpose"),
    "conditions": ("conditions", "conditions_of_use", "restrictions"),
    "evidence": ("privacy_policy", "evidence", "privacy_review", "review_link", "rating"),
    "reviewer": ("reviewer", "reviewed_by", "approved_by"),
    "decided": ("decided", "date_approved", "approval_date", "approved_date",
                "decision_date", "date_reviewed"),
    "next_review": ("next_review", "next_review_date", "review_by"),
    "sso_ids": ("sso_ids", "sso_id", "client_id"),
    "notes": ("notes", "note", "comments", "comment", "explanation"),
}
_DISTINCT = {
    "sdpc": frozenset(("agreement_type", "dpa_type", "date_signed", "signed", "signed_date",
                       "signature_date", "originating_district", "originating_lea", "originator",
                       "company", "company_name", "resource", "resource_name", "agreement_link",
                       "dpa_link", "agreement_status", "expiration_date", "expires")),
    "district_sheet": frozenset(("app", "app_name", "app_product_name", "tool", "digital_tool",
                                 "scope", "use", "usage", "approved_for", "approval_status",
                                 "approval", "approved", "agreement", "contract", "dpa",
                                 "privacy_agreement", "url", "link", "grades", "grade_level",
                                 "grade_levels", "schools", "privacy_policy", "name")),
}


_SNAKE = re.compile(r"[a-z][a-z0-9_]*")


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


_UNFORMULA = re.compile(r"'+[=+\-@\t\r]")
_FORMULA = re.compile(r"'*[=+\-@\t\r]")


def _defuse(cell: str) -> str:
    return "'" + cell if _FORMULA.match(cell) else cell


def _undefuse(cell: str) -> str:
    return cell[1:] if _UNFORMULA.match(cell) else cell


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_rows(text: str, where: str, mapping: str) -> tuple[list[_Row], list[str]]:
    problems: list[str] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    records: list[tuple[int, list[str]]] = []
    try:
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            if any(c.strip() for c in cells):
                records.append((start, cells))
    except csv.Error as exc:
        return [], [f"{where}:{reader.line_num}: not valid CSV: {exc}"]
    if not records:
        return [], [f"{where}: empty file: no header row"]
    head_line, header = records[0]
    keys = [_key(h) for h in header]
    hint = ""
    if mapping == "auto":
        hint = " (read as native from the header; pass mapping sdpc or district_sheet if it is one)"
        found = detect_mapping(header)
        if found is None:
            shown = ", ".join(repr(h) for h in header if h.strip())
            return [], [f"{where}:{head_line}: cannot tell the source of this CSV from its "
                        f"header ({shown}); pass mapping native, sdpc or district_sheet"]
        mapping = found
    seen: dict[str, int] = {}
    twice: dict[str, str] = {}
    for i, k in enumerate(keys):
        if k and k in seen:
            twice[k] = header[i].strip()
        seen.setdefault(k, i)
    columns: dict[str, int] = {}
    if mapping == "native":
        for i, k in enumerate(keys):
            if not k or k in twice:
                continue
            if k not in _NATIVE_KEYS:
                problems.append(f"{where}:{head_line}: column {header[i].strip()!r}: unknown; "
                                f"valid: {', '.join(CSV_COLUMNS)}{hint}")
            else:
                columns.setdefault(k, i)
        required: tuple[str, ...] = ("name", "status")
    else:
        table = _SDPC_COLUMNS if mapping == "sdpc" else _DISTRICT_COLUMNS
        for col, aliases in table.items():
            for alias in aliases:
                if alias in seen and not any(seen[alias] == j for j in columns.values()):
                    columns[col] = seen[alias]
                    break
        required = ("name", "status") if mapping == "district_sheet" else ("name",)
    for k, h in twice.items():
        if mapping == "native" or seen[k] in columns.values():
            problems.append(f"{where}:{head_line}: column {h!r} appears twice")
    for col in required:
        if col not in columns and col not in twice:
            problems.append(f"{where}:{head_line}: no {col!r} column "
                            f"(reading it as {mapping})")
    if problems:
        return [], problems
    rows = []
    for line, cells in records[1:]:
        row = _Row(f"{where}:{line}")
        extra = [c for c in cells[len(header):] if c.strip()]
        if extra:
            problems.append(f"{row.where}: row has {len(cells)} cells, the header "
                            f"{len(header)}")
            continue
        for col, i in columns.items():
            row.labels[col] = header[i].strip()
            cell = _undefuse(cells[i]) if i < len(cells) else ""
            if cell.strip():
                row.values[col] = cell
        if mapping == "sdpc":
            _from_sdpc(row, problems)
        elif mapping == "district_sheet":
            _from_district(row, problems)
        rows.append(row)
    if mapping == "district_sheet":
        _settle_derived_domains(rows)
    return rows, problems


# ----------------------------------------------------------------- outside vocabularies

def _vocab(table: dict[str, Any], text: str) -> Any:
    return table.get(re.sub(r"[^a-z0-9/]+", " ", text.lower()).strip())


_SDPC_STATUS: dict[str, Vetting] = {
    **dict.fromkeys(("active", "approved", "signed", "current", "executed", "complete",
                     "completed", "in effect", "expired"), Vetting.APPROVED),
    **dict.fromkeys(("pending", "in progress", "submitted", "awaiting signature", "sent",
                     "in review", "under review", "draft", "negotiating"), Vetting.IN_REVIEW),
    "requested": Vetting.REQUESTED,
    **dict.fromkeys(("declined", "rejected", "denied", "refused"), Vetting.DENIED),
    **dict.fromkeys(("terminated", "inactive", "cancelled", "canceled", "archived", "retired",
                     "superseded", "withdrawn"), Vetting.RETIRED),
}
_IN_FORCE = frozenset((Vetting.APPROVED, Vetting.RETIRED))
_SDPC_TYPES: dict[str, ContractType] = {
    **dict.fromkeys(("dpa", "standard", "standard dpa", "state dpa", "state standard",
                     "signed dpa", "modified", "modified dpa", "state specific", "sdpa",
                     "student data privacy agreement"), ContractType.STATE_DPA),
    **dict.fromkeys(("vendor dpa", "vendor specific", "vendor agreement", "vendor contract",
                     "vendor", "vendor terms", "custom"), ContractType.VENDOR_DPA),
    **dict.fromkeys(("click through", "clickthrough", "terms of service", "tos"),
                    ContractType.CLICK_THROUGH),
    **dict.fromkeys(("none", "no agreement", "n/a"), ContractType.NONE),
}


def _sdpc_type(text: str) -> ContractType | None:
    low = text.lower()
    if "exhibit e" in low or "general offer" in low:
        return ContractType.EXHIBIT_E
    if "ndpa" in low or "national" in low:
        return ContractType.NDPA
    got: ContractType | None = _vocab(_SDPC_TYPES, text)
    return got


def _from_sdpc(row: _Row, problems: list[str]) -> None:
    v = row.values
    said_status, said_type = v.get("status", ""), v.get("contract_type", "")
    status = Vetting.APPROVED  # no status column: the registry lists signed agreements
    if said_status:
        got = _vocab(_SDPC_STATUS, said_status)
        if got is None:
            row.fail(problems, "status", f"unknown agreement status {said_status!r}; "
                                         f"valid: {', '.join(_SDPC_STATUS)}")
        else:
            status = got
        if _vocab({"expired": True}, said_status) and "contract_expires" not in v:
            row.fail(problems, "status", f"{said_status!r} needs the expiry date "
                                         f"({row.label('contract_expires')})")
    v["status"] = status.value
    ctype = ContractType.STATE_DPA  # a registry row is an agreement; blank = the state's DPA
    if "contract_type" in v:
        found = _sdpc_type(v["contract_type"])
        if found is None:
            row.fail(problems, "contract_type", f"unknown agreement type {said_type!r}; valid: "
                                                f"NDPA, Exhibit E, {', '.join(_SDPC_TYPES)}")
        else:
            ctype = found
    if status not in _IN_FORCE and ctype is not ContractType.NONE:
        # Not (yet) signed: no contract in force; keep what the registry says.
        note = f"SDPC agreement: {said_type or ctype.value} ({said_status or status.value})"
        v["notes"] = f"{v['notes']}\n{note}" if v.get("notes") else note
        for col in ("contract_signed", "contract_expires", "contract_document",
                    "originating_district"):
            v.pop(col, None)
        ctype = ContractType.NONE
    v["contract_type"] = ctype.value
    if ctype is ContractType.EXHIBIT_E and not v.get("originating_district"):
        row.fail(problems, "contract_type", "an Exhibit E sign-on needs the originating "
                                            "district (add an 'Originating District' column)")
    _derive_website(row, problems, derive_domain=False)


_SHEET_STATUS: dict[str, Vetting] = {
    **dict.fromkeys(("approved", "yes", "ok", "allowed"), Vetting.APPROVED),
    **dict.fromkeys(("caution", "conditional", "approved with conditions", "limited",
                     "restricted"), Vetting.APPROVED_WITH_CONDITIONS),
    **dict.fromkeys(("parental consent", "parent consent", "parental permission",
                     "parent permission", "consent required", "parental consent required"),
                    Vetting.PARENTAL_CONSENT_REQUIRED),
    **dict.fromkeys(("pending", "in review", "under review", "in progress"), Vetting.IN_REVIEW),
    **dict.fromkeys(("unvetted", "not vetted", "not reviewed", "requested", "submitted"),
                    Vetting.REQUESTED),
    **dict.fromkeys(("denied", "not approved", "unapproved", "rejected", "do not use", "blocked",
                     "no"), Vetting.DENIED),
    **dict.fromkeys(("retired", "discontinued", "no longer supported", "sunset"),
                    Vetting.RETIRED),
}
_SHEET_SCOPE: dict[str, Scope] = {
    **dict.fromkeys(("district", "district wide", "districtwide", "all schools", "all"),
                    Scope.DISTRICT),
    **dict.fromkeys(("school", "schools", "site", "sites", "building", "campus"), Scope.SCHOOLS),
    **dict.fromkeys(("teacher", "teachers", "classroom", "individual"), Scope.TEACHER),
}
_SHEET_AGREEMENT: dict[str, ContractType] = {
    **dict.fromkeys(("contract", "signed", "dpa", "yes", "signed dpa", "vendor dpa",
                     "signed contract"), ContractType.VENDOR_DPA),
    **dict.fromkeys(("ndpa", "national dpa"), ContractType.NDPA),
    **dict.fromkeys(("state dpa", "state standard"), ContractType.STATE_DPA),
    **dict.fromkeys(("exhibit e", "general offer"), ContractType.EXHIBIT_E),
    **dict.fromkeys(("on demand", "click through", "clickthrough", "terms of service", "tos",
                     "terms", "vendor terms"), ContractType.CLICK_THROUGH),
    # TBD: "not yet determined whether it needs one" -- no agreement yet.
    **dict.fromkeys(("tbd", "pending", "unknown", "none", "no", "n/a", "na", "not required"),
                    ContractType.NONE),
}


def _from_district(row: _Row, problems: list[str]) -> None:
    v = row.values
    said_type = v.get("contract_type", "")
    if "status" in v:
        got = _vocab(_SHEET_STATUS, v["status"])
        if got is not None:
            v["status"] = got.value
    if "scope" in v:
        scope = _vocab(_SHEET_SCOPE, v["scope"])
        if scope is not None:
            v["scope"] = scope.value
    if "contract_type" in v:
        ctype = _vocab(_SHEET_AGREEMENT, v["contract_type"])
        if ctype is None:
            row.fail(problems, "contract_type", f"unknown agreement {said_type!r}; "
                                                f"valid: {', '.join(_SHEET_AGREEMENT)}")
        else:
            v["contract_type"] = ctype.value
            if ctype is ContractType.NONE:
                for col in ("contract_signed", "contract_expires"):
                    if col in v:
                        row.fail(problems, col, f"a date, but the agreement is {said_type!r}")
    if v.get("scope_schools") and v.get("scope") in (None, "district"):
        v["scope"] = Scope.SCHOOLS.value
    _derive_website(row, problems, derive_domain=True)


def _derive_website(row: _Row, problems: list[str], derive_domain: bool) -> None:
    """Outside sheets write ``www.example.com/x`` as often as a URL: add the scheme.
    A district sheet's URL also gives the product's domain (``www.`` dropped)."""
    raw = row.values.get("website")
    if raw is None:
        return
    url = raw.strip()
    if not re.match(r"(?i)https?://", url):
        url = "https://" + url.removeprefix("//")
    try:
        url = normalize_website(url)
        host = website_host(url)
    except ValueError as exc:
        row.fail(problems, "website", _reason(exc))
        return
    row.values["website"] = url
    if derive_domain:
        host = host.removeprefix("www.")
        with contextlib.suppress(ValueError):
            row.derived_domain = str(parse_domain_rule(host))


def _settle_derived_domains(rows: list[_Row]) -> None:
    """A URL's domain becomes the product's rule unless another row derives or lists
    it too (several Google tools at docs.google.com): then no row gets it."""
    counts = Counter(r.derived_domain for r in rows if r.derived_domain)
    listed = set()
    for r in rows:
        for item in re.split(r"[;,\s]+", str(r.values.get("domains") or "")):
            if item:
                with contextlib.suppress(ValueError):
                    listed.add(str(parse_domain_rule(item)))
    for r in rows:
        d = r.derived_domain
        if d and counts[d] == 1 and d not in listed:
            existing = r.values.get("domains")
            r.values["domains"] = f"{existing}; {d}" if existing else d
            r.labels.setdefault("domains", r.label("website"))


# ------------------------------------------------------------------------ YAML reading

def _yaml_rows(text: str, where: str) -> tuple[list[_Row], list[str]]:
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return [], [f"{where}{at}: not valid YAML: {problem}"]
    if isinstance(doc, dict):
        extra = [k for k in doc if k != "products"]
        if extra:
            return [], [f"{where}: unknown top-level key {extra[0]!r}; valid: products"]
        items = doc.get("products")
    else:
        items = doc
    if items is None:
        items = []
    if not isinstance(items, list):
        return [], [f"{where}: expected a list of products under 'products'"]
    rows, problems = [], []
    valid = (*_PRODUCT_KEYS, "review", "contract", *_REVIEW_KEYS, *(
        c for c in _CONTRACT_KEYS.values() if c not in _PRODUCT_KEYS))
    for i, item in enumerate(items, start=1):
        row = _Row(f"{where}: product {i}")
        if not isinstance(item, dict):
            problems.append(f"{row.where}: expected a mapping, got {_kind(item)}")
            continue
        for key, value in item.items():
            k = str(key)
            if k in ("review", "contract"):
                sub = _REVIEW_KEYS if k == "review" else _CONTRACT_KEYS
                if value is None:
                    continue
                if not isinstance(value, dict):
                    problems.append(f"{row.where}: {k}: expected a mapping, got {_kind(value)}")
                    continue
                for sk, sv in value.items():
                    col = sub.get(str(sk))
                    if col is None:
                        problems.append(f"{row.where}: {k}.{sk}: unknown key; valid: "
                                        f"{', '.join(sub)}")
                    else:
                        _put(row, col, f"{k}.{sk}", sv, problems)
            elif k in valid:
                _put(row, k, k, value, problems)
            else:
                problems.append(f"{row.where}: {k}: unknown key; valid: {', '.join(valid)}")
        rows.append(row)
    return rows, problems


def _put(row: _Row, col: str, label: str, value: Any, problems: list[str]) -> None:
    if col in row.labels:
        problems.append(f"{row.where}: {label}: given twice (also as {row.labels[col]})")
        return
    row.labels[col] = label
    if value is not None and value != "" and value != []:
        row.values[col] = value


def _kind(value: object) -> str:
    return {dict: "a mapping", list: "a list", bool: "true/false"}.get(
        type(value), type(value).__name__)


# ------------------------------------------------------------------------ row building

def _reason(exc: ValueError) -> str:
    return exc.reason if isinstance(exc, FieldError) else str(exc)


def _scalar(value: Any) -> str:
    """Text from a CSV cell or a YAML scalar (a YAML number is its text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | dt.date):
        raise ValueError(f"expected text, got {_kind(value)}")
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _line(value: Any, col: str, limit: int) -> str:
    return clean_line(_scalar(value), col, limit)


def _text(value: Any, col: str) -> str:
    return clean_text(_scalar(value), col)


def _items(value: Any, split: Callable[[str], list[str]]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [_scalar(v) for v in value if v is not None]
    return split(_scalar(value))


def _split_free(cell: str) -> list[str]:
    """Split a free-text list on ``;`` and line breaks; ``\\;`` and ``\\\\`` are literal."""
    items: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(cell):
        c = cell[i]
        if c == "\\" and i + 1 < len(cell) and cell[i + 1] in "\\;":
            cur.append(cell[i + 1])
            i += 2
            continue
        if c in ";\n\r":
            items.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    items.append("".join(cur))
    return [s.strip() for s in items if s.strip()]


def _escape_item(item: str) -> str:
    out = []
    for i, c in enumerate(item):
        if c == ";":
            out.append("\\;")
        elif c == "\\" and (i + 1 == len(item) or item[i + 1] in "\\;"):
            out.append("\\\\")
        else:
            out.append(c)
    return "".join(out)


def _join(items: Iterable[str]) -> str:
    return "; ".join(_escape_item(i) for i in items)


def _split_domains(cell: str) -> list[str]:
    return [s for s in re.split(r"[;,\s]+", cell) if s]


def _split_bands(cell: str) -> list[str]:
    return [s.strip() for s in re.split(r"[;,\n]+", cell) if s.strip()]


_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]0?0:00(?::00(?:\.0+)?)?)?")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})(?: 0?0:00(?::00)?)?")
_YMD_SLASH = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0):
            raise ValueError(f"expected a date, got a date and time {value.isoformat()}")
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _scalar(value).strip()
    try:
        if m := _ISO_DATE.fullmatch(text) or _YMD_SLASH.fullmatch(text):
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m := _US_DATE.fullmatch(text):
            year = int(m.group(3))
            return dt.date(year + 2000 if year < 100 else year, int(m.group(1)), int(m.group(2)))
    except ValueError as exc:
        raise ValueError(f"not a date: {text!r} ({exc})") from None
    raise ValueError(f"not a date: {text!r}; write YYYY-MM-DD or M/D/YYYY")


def _iso(d: dt.date | None) -> str:
    return d.isoformat() if d else ""


_CONTRACT_FIELDS = {"type": "contract_type", "signed": "contract_signed",
                    "expires": "contract_expires", "data_elements": "contract_data_elements",
                    "document": "contract_document", "originating_district": "originating_district"}


@dataclass(frozen=True)
class _Claim:
    """The id, domain rules and SSO ids of a row, even one with other problems, so
    that duplicates are reported too."""

    id: str
    name: str
    source: str | None
    domains: tuple[str, ...]
    sso_ids: tuple[str, ...]


def _product(row: _Row, problems: list[str]) -> tuple[Product | None, _Claim | None]:
    product = _product_of(row, problems)
    if product is not None:
        return product, _Claim(product.id, product.name, row.where, product.domains,
                               product.sso_ids)
    return None, row.claim


def _product_of(row: _Row, problems: list[str]) -> Product | None:
    v = row.values
    bad: list[tuple[str, str]] = []
    out: dict[str, Any] = {}

    def check(col: str, fn: Callable[[Any], Any]) -> None:
        if col not in v or col in row.reported:
            return
        try:
            out[col] = fn(v[col])
        except ValueError as exc:
            bad.append((col, _reason(exc)))

    check("name", lambda x: clean_line(_scalar(x), "name"))
    if "name" not in v or out.get("name") == "":
        bad.append(("name", "empty"))
    for col in _LINE_COLS:
        check(col, partial(_line, col=col, limit=2000 if col == "contract_document" else LINE_MAX))
    for col in _TEXT_COLS:
        check(col, partial(_text, col=col))
    for col in _DATE_COLS:
        check(col, _date)
    check("website", lambda x: normalize_website(_scalar(x)))
    check("status", lambda x: parse_status(_scalar(x)))
    if "status" not in v and "status" not in row.reported:
        bad.append(("status", "empty; a product needs a vetting status"))
    check("audience", lambda x: parse_audience(_scalar(x)))
    check("scope", lambda x: parse_scope(_scalar(x)))
    check("contract_type", lambda x: parse_contract_type(_scalar(x)))
    check("allowed_data", lambda x: check_elements(_items(x, lambda s: [s]), "allowed_data"))
    check("contract_data_elements",
          lambda x: check_elements(_items(x, lambda s: [s]), "contract_data_elements"))
    check("sso_ids", lambda x: [normalize_sso_id(s) for s in _items(x, _split_free)])
    check("scope_schools", lambda x: [clean_line(s, "scope_schools") for s in
                                      _items(x, _split_free)])
    check("evidence", lambda x: [clean_line(s, "evidence", 2000) for s in _items(x, _split_free)])
    for col, split, parse in (("domains", _split_domains, parse_domain_rule),
                              ("grade_bands", _split_bands, parse_grade_band)):
        if col in v and col not in row.reported:
            try:
                items = _items(v[col], split)
            except ValueError as exc:
                bad.append((col, _reason(exc)))
                continue
            got = []
            for item in items:
                try:
                    got.append(str(parse(item)))
                except ValueError as exc:
                    bad.append((col, _reason(exc)))
            out[col] = got
    pid = None
    if "id" in v:
        try:
            pid = check_id(clean_line(_scalar(v["id"]), "id"))
        except ValueError as exc:
            bad.append(("id", _reason(exc)))
    elif out.get("name"):
        pid = slug(out["name"])
    for col, reason in bad:
        problems.append(f"{row.where}: {row.label(col)}: {reason.removeprefix(col + ': ')}")
    if pid is not None:
        row.claim = _Claim(pid, out.get("name", ""), row.where,
                           tuple(dict.fromkeys(out.get("domains", ()))),
                           tuple(dict.fromkeys(out.get("sso_ids", ()))))
    if bad or row.reported or pid is None:
        return None
    ctype = out.get("contract_type")
    if ctype is None:
        # No type given: an originating district means Exhibit E; any other contract
        # detail (the demo's contract_expires) a vendor DPA; nothing, no contract.
        if "originating_district" in out:
            ctype = ContractType.EXHIBIT_E
        elif any(c in out for c in ("contract_signed", "contract_expires", "contract_document",
                                    "contract_data_elements")):
            ctype = ContractType.VENDOR_DPA
        else:
            ctype = ContractType.NONE
    try:
        review = Review(out["status"], out.get("reviewer", ""), out.get("decided"),
                        out.get("conditions", ""), out.get("next_review"),
                        tuple(out.get("allowed_data", ())), tuple(out.get("evidence", ())))
    except FieldError as exc:
        problems.append(f"{row.where}: {row.label(exc.field)}: {exc.reason}")
        return None
    try:
        contract = Contract(ctype, out.get("contract_signed"), out.get("contract_expires"),
                            tuple(out.get("contract_data_elements", ())),
                            out.get("contract_document", ""), out.get("originating_district", ""))
    except FieldError as exc:
        col = _CONTRACT_FIELDS.get(exc.field, exc.field)
        if exc.field == "originating_district" and col not in row.labels:
            col = "contract_type"
        problems.append(f"{row.where}: {row.label(col)}: {exc.reason}")
        return None
    try:
        return Product(
            pid, out["name"], out.get("vendor", ""), out.get("website", ""),
            out.get("category", ""), tuple(out.get("domains", ())),
            tuple(out.get("sso_ids", ())), out.get("audience", "both"),
            tuple(out.get("grade_bands", ())), out.get("scope", "district"),
            tuple(out.get("scope_schools", ())), out.get("notes", ""), review, contract,
            source=row.where)
    except FieldError as exc:
        problems.append(f"{row.where}: {row.label(exc.field)}: {exc.reason}")
        return None


def _build(rows: list[_Row], problems: list[str], where: str) -> Catalog:
    products: list[Product] = []
    claims: list[_Claim] = []
    row_of: dict[int, _Row] = {}
    for row in rows:
        p, claim = _product(row, problems)
        if p is not None:
            products.append(p)
        if claim is not None:
            claims.append(claim)
            row_of[id(claim)] = row
    for c, col, reason in catalog_conflicts(claims):
        problems.append(f"{c.source}: {row_of[id(c)].label(col)}: {reason}")
    if problems:
        raise CatalogImportError(where, sorted(problems, key=_row_order(where)))
    return Catalog(tuple(products))


def _row_order(where: str) -> Callable[[str], int]:
    """Problems sorted by row (stable): ``file.csv:12: ...`` or ``file: product 3: ...``."""
    pattern = re.compile(rf"{re.escape(where)}(?:: product |:)(\d+): ")

    def key(problem: str) -> int:
        m = pattern.match(problem)
        return int(m.group(1)) if m else 0
    return key


# ------------------------------------------------------------------------ YAML writing

class _Dumper(yaml.SafeDumper):
    """Writes multi-line text as literal blocks."""


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data,
                                   style="|" if "\n" in data else None)


_Dumper.add_representer(str, _str)


def _compact(d: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()
            if v not in (None, "", ())}
