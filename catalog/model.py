"""The district catalog: products, their review (vetting) and their contract.

Every record is a frozen dataclass that checks and normalizes itself in
``__post_init__``: whatever builds one (the importer, the service's
set-status command, a test) gets the same canonical value, so equal data
compares equal. A bad value raises :class:`FieldError` (a ``ValueError``)
naming the field and the reason.

Domain rules
------------
Each entry of ``Product.domains`` is a rule, kept as its canonical text:

==================== =====================================================
``example.com``      suffix: the host and every sub-domain of it
``.example.com``     the same (a leading dot is accepted and dropped)
``=www.example.com`` exact: that host only
``*.example.com``    wildcard: any sub-domain, but not ``example.com``
==================== =====================================================

The domain is normalized as every collector normalizes hosts
(``collectors.hosts.normalize_host``): lower case, IDNA A-labels (so
``bücher.example`` and ``xn--bcher-kva.example`` are one rule), no trailing
dot. IP literals, URLs and single-label suffix or wildcard rules (``com``,
``*.org``) are refused. :func:`parse_domain_rule` is the one parser; the
matcher uses it too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol, TypeVar

from catalog.elements import check_elements
from catalog.errors import CatalogError
from collectors.hosts import is_ip, normalize_host

__all__ = [
    "Audience", "Catalog", "Contract", "ContractType", "DomainRule", "FieldError", "Product",
    "Review", "Scope", "Vetting", "catalog_conflicts", "check_id", "clean_line", "clean_text",
    "normalize_sso_id", "normalize_website", "parse_audience", "parse_contract_type",
    "parse_domain_rule", "parse_grade_band", "parse_scope", "parse_status", "slug",
    "website_host",
]


class FieldError(ValueError):
    """A bad field value; ``field`` is the record field's name."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


# --------------------------------------------------------------------------- enums

class Vetting(StrEnum):
    """Where a product stands in the district's review."""

    REQUESTED = "requested"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions"
    PARENTAL_CONSENT_REQUIRED = "parental_consent_required"
    DENIED = "denied"
    RETIRED = "retired"

    @property
    def allowed(self) -> bool:
        """May it be used (possibly under conditions or with consent)?"""
        return self in (Vetting.APPROVED, Vetting.APPROVED_WITH_CONDITIONS,
                        Vetting.PARENTAL_CONSENT_REQUIRED)


class ContractType(StrEnum):
    """The agreement covering the product's use of district data."""

    NDPA = "ndpa"
    """The SDPC National Data Privacy Agreement (or a state edition of it)."""
    STATE_DPA = "state_dpa"
    """A state alliance's standard DPA."""
    VENDOR_DPA = "vendor_dpa"
    """A DPA or contract negotiated with the vendor."""
    EXHIBIT_E = "exhibit_e"
    """The vendor's general offer (Exhibit E) signed by another district, joined by this one."""
    CLICK_THROUGH = "click_through"
    """The vendor's own click-through terms: not a DPA."""
    NONE = "none"

    @property
    def is_dpa(self) -> bool:
        return self not in (ContractType.CLICK_THROUGH, ContractType.NONE)


class Audience(StrEnum):
    STUDENTS = "students"
    STAFF = "staff"
    BOTH = "both"


class Scope(StrEnum):
    """Who approved use covers: the whole district, some schools, or one teacher's class."""

    DISTRICT = "district"
    SCHOOLS = "schools"
    TEACHER = "teacher"


E = TypeVar("E", bound=StrEnum)


def _enum_key(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


def _parse_enum(enum: type[E], text: str, aliases: dict[str, E], what: str) -> E:
    key = _enum_key(text)
    got = aliases.get(key)
    if got is not None:
        return got
    for member in enum:
        if key == member.value.replace("_", " "):
            return member
    valid = ", ".join(m.value for m in enum)
    raise ValueError(f"unknown {what} {text!r}; valid: {valid}")


STATUS_ALIASES: dict[str, Vetting] = {
    "pending": Vetting.IN_REVIEW,
    "under review": Vetting.IN_REVIEW,
    "in progress": Vetting.IN_REVIEW,
    "submitted": Vetting.REQUESTED,
    "unvetted": Vetting.REQUESTED,
    "not reviewed": Vetting.REQUESTED,
    "conditionally approved": Vetting.APPROVED_WITH_CONDITIONS,
    "approved conditionally": Vetting.APPROVED_WITH_CONDITIONS,
    "parental consent": Vetting.PARENTAL_CONSENT_REQUIRED,
    "parent consent": Vetting.PARENTAL_CONSENT_REQUIRED,
    "parent consent required": Vetting.PARENTAL_CONSENT_REQUIRED,
    "consent required": Vetting.PARENTAL_CONSENT_REQUIRED,
    "not approved": Vetting.DENIED,
    "unapproved": Vetting.DENIED,
    "rejected": Vetting.DENIED,
    "declined": Vetting.DENIED,
    "blocked": Vetting.DENIED,
    "discontinued": Vetting.RETIRED,
}
"""Spellings districts use, read by :func:`parse_status` (keys in :func:`_enum_key` form)."""

CONTRACT_ALIASES: dict[str, ContractType] = {
    "national dpa": ContractType.NDPA,
    "national data privacy agreement": ContractType.NDPA,
    "state dpa": ContractType.STATE_DPA,
    "vendor dpa": ContractType.VENDOR_DPA,
    "exhibit e": ContractType.EXHIBIT_E,
    "general offer": ContractType.EXHIBIT_E,
    "click through": ContractType.CLICK_THROUGH,
    "clickthrough": ContractType.CLICK_THROUGH,
    "clickwrap": ContractType.CLICK_THROUGH,
    "terms of service": ContractType.CLICK_THROUGH,
    "no": ContractType.NONE,
    "n/a": ContractType.NONE,
}

AUDIENCE_ALIASES: dict[str, Audience] = {
    "student": Audience.STUDENTS, "staff only": Audience.STAFF, "teachers": Audience.STAFF,
    "teacher": Audience.STAFF, "employees": Audience.STAFF, "all": Audience.BOTH,
    "students and staff": Audience.BOTH, "students & staff": Audience.BOTH,
    "staff and students": Audience.BOTH, "staff & students": Audience.BOTH,
}

SCOPE_ALIASES: dict[str, Scope] = {
    "school": Scope.SCHOOLS, "site": Scope.SCHOOLS, "sites": Scope.SCHOOLS,
    "campus": Scope.SCHOOLS, "classroom": Scope.TEACHER, "teachers": Scope.TEACHER,
    "districtwide": Scope.DISTRICT, "district wide": Scope.DISTRICT,
}


def parse_status(text: str) -> Vetting:
    """A vetting status from its value or a common spelling (``Pending``,
    ``Approved with conditions``, ``Not approved``); ValueError lists the valid ones."""
    try:
        return _parse_enum(Vetting, text, STATUS_ALIASES, "vetting status")
    except ValueError as exc:
        raise ValueError(f"{exc}, pending") from None


def parse_contract_type(text: str) -> ContractType:
    return _parse_enum(ContractType, text, CONTRACT_ALIASES, "contract type")


def parse_audience(text: str) -> Audience:
    return _parse_enum(Audience, text, AUDIENCE_ALIASES, "audience")


def parse_scope(text: str) -> Scope:
    return _parse_enum(Scope, text, SCOPE_ALIASES, "scope")


# ---------------------------------------------------------------------- text checks

_BAD_CHAR = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
LINE_MAX = 500
TEXT_MAX = 20_000


def _bad_char(text: str, field_name: str) -> None:
    m = _BAD_CHAR.search(text)
    if m:
        raise FieldError(field_name, f"control character U+{ord(m.group()):04X} "
                                     f"at position {m.start() + 1}")


def clean_line(value: object, field_name: str, max_len: int = LINE_MAX) -> str:
    """One-line text: stripped, every whitespace run (line breaks too) one space."""
    if not isinstance(value, str):
        raise FieldError(field_name, f"expected text, got {type(value).__name__}")
    text = " ".join(value.split())
    _bad_char(text, field_name)
    if len(text) > max_len:
        raise FieldError(field_name, f"longer than {max_len} characters")
    return text


def clean_text(value: object, field_name: str, max_len: int = TEXT_MAX) -> str:
    """Free text: stripped, every line break (CR LF, CR, U+2028, ...) stored as LF."""
    if not isinstance(value, str):
        raise FieldError(field_name, f"expected text, got {type(value).__name__}")
    text = "\n".join(line.rstrip() for line in value.strip().splitlines())
    _bad_char(text, field_name)
    if len(text) > max_len:
        raise FieldError(field_name, f"longer than {max_len} characters")
    return text


def _tuple(value: object, field_name: str) -> tuple[object, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable):
        return tuple(value)
    raise FieldError(field_name, f"expected a list, got {type(value).__name__}")


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _lines(value: object, field_name: str, max_len: int = LINE_MAX) -> tuple[str, ...]:
    out = []
    for i, item in enumerate(_tuple(value, field_name), start=1):
        try:
            text = clean_line(item, field_name, max_len)
        except FieldError as exc:
            raise FieldError(field_name, f"item {i}: {exc.reason}") from None
        if not text:
            raise FieldError(field_name, f"item {i} is empty")
        out.append(text)
    return _dedupe(out)


def _date(value: object, field_name: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise FieldError(field_name, f"expected a date, got {type(value).__name__}")


def _coerce(enum: type[E], value: object, field_name: str, parse: Callable[[str], E]) -> E:
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        try:
            return parse(value)
        except ValueError as exc:
            raise FieldError(field_name, str(exc)) from None
    raise FieldError(field_name, f"expected one of {', '.join(m.value for m in enum)}")


def _wrap(field_name: str, exc: ValueError) -> FieldError:
    return FieldError(field_name, exc.reason if isinstance(exc, FieldError) else str(exc))


# ----------------------------------------------------------------------- domain rules

RuleKind = Literal["suffix", "exact", "wildcard"]


@dataclass(frozen=True, slots=True)
class DomainRule:
    """One parsed domain rule (see the module docstring)."""

    kind: RuleKind
    domain: str
    """Normalized: lower case, IDNA A-labels, no trailing dot."""

    def __str__(self) -> str:
        return {"suffix": "", "exact": "=", "wildcard": "*."}[self.kind] + self.domain

    def matches(self, host: str) -> bool:
        """Does the rule cover ``host`` (already normalized)?"""
        if self.kind == "exact":
            return host == self.domain
        if host.endswith("." + self.domain):
            return True
        return self.kind == "suffix" and host == self.domain


def parse_domain_rule(text: str) -> DomainRule:
    """``example.com``, ``.example.com``, ``=www.example.com`` or ``*.example.com``.

    Raises ValueError naming what is wrong.
    """
    raw = text.strip()
    kind: RuleKind
    if raw.startswith("="):
        kind, rest = "exact", raw[1:]
    elif raw.startswith("*."):
        kind, rest = "wildcard", raw[2:]
    elif raw.startswith(".") and not raw.startswith(".."):
        kind, rest = "suffix", raw[1:]
    else:
        kind, rest = "suffix", raw
    rest = rest.strip()
    if not rest:
        raise ValueError(f"empty domain rule {text!r}")
    if "://" in rest or "/" in rest:
        raise ValueError(f"{text!r} is a URL; write its host, e.g. example.com")
    if "*" in rest:
        raise ValueError(f"{text!r}: '*' is allowed only as a leading '*.' label")
    try:
        domain = normalize_host(rest)
    except ValueError as exc:
        raise ValueError(f"{text!r}: {exc}") from None
    if is_ip(domain):
        raise ValueError(f"{text!r} is an IP address, not a domain")
    if kind != "exact" and "." not in domain:
        raise ValueError(f"{text!r} is too broad: a suffix or wildcard rule needs two labels "
                         "(write =name for one exact host)")
    return DomainRule(kind, domain)


# ------------------------------------------------------------------- other vocabularies

GRADES = ("PK", "TK", "K", *(str(n) for n in range(1, 13)))
"""Grade labels in order; a band is one label or a range ``A-B`` with A before B."""
_GRADE_ALIASES = {"pre k": "PK", "prek": "PK", "pre kindergarten": "PK", "p": "PK",
                  "kg": "K", "kindergarten": "K", "k": "K", "pk": "PK", "tk": "TK"}


def _grade(token: str, text: str) -> str:
    key = _enum_key(token)
    if key in _GRADE_ALIASES:
        return _GRADE_ALIASES[key]
    m = re.fullmatch(r"([0-9]{1,2})(?:st|nd|rd|th)?", key)
    if m and 1 <= int(m.group(1)) <= 12:
        return str(int(m.group(1)))
    raise ValueError(f"unknown grade {token.strip()!r} in {text!r}; grades are "
                     f"{', '.join(GRADES)}, a band is one grade or a range such as K-5")


def parse_grade_band(text: str) -> str:
    """``k-5`` -> ``K-5``, ``Pre-K–2`` -> ``PK-2``, ``06`` -> ``6``, ``all`` -> ``PK-12``."""
    raw = text.strip()
    key = _enum_key(raw)
    if key in ("all", "all grades", "pk 12"):
        return "PK-12"
    body = re.sub(r"(?i)pre[\s\-_]*k(indergarten)?", "PK", raw)
    body = body.replace("–", "-").replace("—", "-")
    body = re.sub(r"(?i)\s+(to|through|thru)\s+", "-", body)
    parts = body.split("-")
    if len(parts) == 1:
        return _grade(parts[0], text)
    if len(parts) != 2:
        raise ValueError(f"bad grade band {text!r}; write one grade or a range such as K-5")
    lo, hi = _grade(parts[0], text), _grade(parts[1], text)
    if GRADES.index(lo) >= GRADES.index(hi):
        raise ValueError(f"grade band {text!r} runs backwards or is empty")
    return f"{lo}-{hi}"


_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def normalize_sso_id(text: object) -> str:
    """An SSO app id as logged: a Google OAuth client id, an Entra application id
    (a GUID, compared in lower case) or an Okta app name. Kept exact otherwise."""
    sso = clean_line(text, "sso_ids", 300)
    if not sso:
        raise ValueError("empty SSO id")
    return sso.lower() if _GUID.fullmatch(sso) else sso


_URL = re.compile(r"(?i)(https?)://([^/?#\s]+)([/?#]\S*)?")


def normalize_website(text: object) -> str:
    """An ``http(s)://`` URL with a valid host; nothing else is accepted (the
    value may end up as a link in a report)."""
    url = clean_line(text, "website", 2000)
    if not url:
        return ""
    m = _URL.fullmatch(url)
    if not m:
        raise ValueError(f"not an http(s) URL: {text!r}")
    hostport = m.group(2).rsplit("@", 1)[-1]
    host = hostport
    if host.startswith("["):
        host = host.split("]", 1)[0] + "]"
    elif host.count(":") == 1:
        host, port = host.split(":")
        if not port.isdigit():
            raise ValueError(f"bad port in URL {text!r}")
    try:
        normalize_host(host)
    except ValueError as exc:
        raise ValueError(f"bad host in URL {text!r}: {exc}") from None
    return f"{m.group(1).lower()}://{m.group(2)}{m.group(3) or ''}"


def website_host(url: str) -> str:
    """The normalized host of a website URL (``normalize_website`` form)."""
    m = _URL.fullmatch(url)
    if not m:
        raise ValueError(f"not an http(s) URL: {url!r}")
    host = m.group(2).rsplit("@", 1)[-1]
    if not host.startswith("[") and host.count(":") == 1:
        host = host.split(":")[0]
    return normalize_host(host)


_SLUG = re.compile(r"[^a-z0-9]+")
_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")


def check_id(value: object) -> str:
    """A product id as given, or FieldError: ``[a-z0-9][a-z0-9._-]*``, 1-80 characters."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise FieldError("id", f"{value!r} is not an id: use 1-80 lower-case letters, "
                               "digits, '.', '_' or '-', starting with a letter or digit")
    return value


def slug(name: str) -> str:
    """An id from a name: ``Kahoot!`` -> ``kahoot``, ``Ñandú`` -> ``nandu``; a name
    with no Latin letters or digits gets ``product-`` and a short hash."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    out = _SLUG.sub("-", folded.lower()).strip("-")[:80].strip("-")
    if out:
        return out
    digest = hashlib.sha256(name.strip().encode()).hexdigest()[:8]
    return f"product-{digest}" if name.strip() else "product"


# --------------------------------------------------------------------------- records

def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


@dataclass(frozen=True, slots=True)
class Review:
    """The district's vetting of a product."""

    status: Vetting = Vetting.REQUESTED
    reviewer: str = ""
    decided: dt.date | None = None
    """When the current status was decided."""
    conditions: str = ""
    """Conditions of use (for ``approved_with_conditions``), free text."""
    next_review: dt.date | None = None
    allowed_data: tuple[str, ...] = ()
    """Data elements (``catalog.elements``) the review allows the product to receive."""
    evidence: tuple[str, ...] = ()
    """Links or references used in review: privacy-policy review, a Common Sense or
    1EdTech rating, a security questionnaire."""

    def __post_init__(self) -> None:
        _set(self, "status", _coerce(Vetting, self.status, "status", parse_status))
        _set(self, "reviewer", clean_line(self.reviewer, "reviewer"))
        _set(self, "decided", _date(self.decided, "decided"))
        _set(self, "conditions", clean_text(self.conditions, "conditions"))
        _set(self, "next_review", _date(self.next_review, "next_review"))
        _set(self, "allowed_data", _elements(self.allowed_data, "allowed_data"))
        _set(self, "evidence", _lines(self.evidence, "evidence", 2000))
        if self.decided and self.next_review and self.next_review < self.decided:
            raise FieldError("next_review", f"{self.next_review} is before the decision "
                                            f"date {self.decided}")


def _elements(value: object, field_name: str) -> tuple[str, ...]:
    try:
        return check_elements(_tuple(value, field_name), field_name)
    except ValueError as exc:
        raise FieldError(field_name, str(exc).removeprefix(f"{field_name}: ")) from None


@dataclass(frozen=True, slots=True)
class Contract:
    """The agreement covering the product. ``type`` none carries nothing else."""

    type: ContractType = ContractType.NONE
    signed: dt.date | None = None
    expires: dt.date | None = None
    """None for a DPA with no end date (it counts as current)."""
    data_elements: tuple[str, ...] = ()
    """Data elements (``catalog.elements``) the agreement covers."""
    document: str = ""
    """Where the signed document is: a link, a file name, a contract number."""
    originating_district: str = ""
    """For ``exhibit_e``: the district that signed the original agreement."""

    def __post_init__(self) -> None:
        _set(self, "type", _coerce(ContractType, self.type, "type", parse_contract_type))
        _set(self, "signed", _date(self.signed, "signed"))
        _set(self, "expires", _date(self.expires, "expires"))
        _set(self, "data_elements", _elements(self.data_elements, "data_elements"))
        _set(self, "document", clean_line(self.document, "document", 2000))
        _set(self, "originating_district", clean_line(self.originating_district,
                                                      "originating_district"))
        if self.type is ContractType.NONE:
            for name in ("signed", "expires", "data_elements", "document"):
                if getattr(self, name):
                    raise FieldError(name, "a contract of type none has no " + name)
        if self.type is ContractType.EXHIBIT_E and not self.originating_district:
            raise FieldError("originating_district", "an Exhibit E sign-on needs the "
                                                     "originating district")
        if self.originating_district and self.type is not ContractType.EXHIBIT_E:
            raise FieldError("originating_district",
                             f"only an exhibit_e contract has one (type is {self.type.value})")
        if self.signed and self.expires and self.expires < self.signed:
            raise FieldError("expires", f"{self.expires} is before the signed date {self.signed}")

    def state(self, today: dt.date, warn_days: int = 60) -> str:
        """``none`` (no DPA: none or click-through), ``expired``, ``expiring``
        (within ``warn_days``, the expiry day included) or ``current``."""
        if warn_days < 0:
            raise ValueError("warn_days must be zero or more")
        if not self.type.is_dpa:
            return "none"
        if self.expires is None:
            return "current"
        if self.expires < today:
            return "expired"
        if (self.expires - today).days <= warn_days:
            return "expiring"
        return "current"


@dataclass(frozen=True, slots=True)
class Product:
    """A product in the district catalog."""

    id: str
    """Stable key: ``[a-z0-9][a-z0-9._-]*``, at most 80 characters (see :func:`slug`)."""
    name: str
    vendor: str = ""
    website: str = ""
    category: str = ""
    domains: tuple[str, ...] = ()
    """Domain rules in canonical text (module docstring); may be empty: the product
    then matches by SSO id or name only."""
    sso_ids: tuple[str, ...] = ()
    """Google OAuth client ids, Entra application ids, Okta app names."""
    audience: Audience = Audience.BOTH
    grade_bands: tuple[str, ...] = ()
    scope: Scope = Scope.DISTRICT
    scope_schools: tuple[str, ...] = ()
    """Site names, when ``scope`` is ``schools`` (empty: which schools is not recorded)."""
    notes: str = ""
    review: Review = field(default_factory=Review)
    contract: Contract = field(default_factory=Contract)
    source: str | None = field(default=None, compare=False)
    """Where it was read from (file:row)."""

    def __post_init__(self) -> None:
        check_id(self.id)
        _set(self, "name", clean_line(self.name, "name"))
        if not self.name:
            raise FieldError("name", "empty")
        _set(self, "vendor", clean_line(self.vendor, "vendor"))
        try:
            _set(self, "website", normalize_website(self.website))
        except ValueError as exc:
            raise _wrap("website", exc) from None
        _set(self, "category", clean_line(self.category, "category", 100))
        rules = []
        for item in _tuple(self.domains, "domains"):
            if not isinstance(item, str):
                raise FieldError("domains", f"expected text, got {type(item).__name__}")
            try:
                rules.append(str(parse_domain_rule(item)))
            except ValueError as exc:
                raise FieldError("domains", str(exc)) from None
        _set(self, "domains", _dedupe(rules))
        ids = []
        for item in _tuple(self.sso_ids, "sso_ids"):
            try:
                ids.append(normalize_sso_id(item))
            except ValueError as exc:
                raise _wrap("sso_ids", exc) from None
        _set(self, "sso_ids", _dedupe(ids))
        _set(self, "audience", _coerce(Audience, self.audience, "audience", parse_audience))
        bands = []
        for item in _tuple(self.grade_bands, "grade_bands"):
            try:
                bands.append(parse_grade_band(str(item)))
            except ValueError as exc:
                raise FieldError("grade_bands", str(exc)) from None
        _set(self, "grade_bands", _dedupe(bands))
        _set(self, "scope", _coerce(Scope, self.scope, "scope", parse_scope))
        _set(self, "scope_schools", _lines(self.scope_schools, "scope_schools"))
        if self.scope_schools and self.scope is not Scope.SCHOOLS:
            raise FieldError("scope_schools", f"schools are listed only when scope is schools "
                                              f"(scope is {self.scope.value})")
        _set(self, "notes", clean_text(self.notes, "notes"))
        if not isinstance(self.review, Review):
            raise FieldError("review", "expected a Review")
        if not isinstance(self.contract, Contract):
            raise FieldError("contract", "expected a Contract")

    @property
    def status(self) -> Vetting:
        return self.review.status

    @property
    def contract_expires(self) -> dt.date | None:
        """Expiry of the contract / DPA; None when there is none or it has no end."""
        return self.contract.expires

    @property
    def rules(self) -> tuple[DomainRule, ...]:
        return tuple(parse_domain_rule(d) for d in self.domains)

    def contract_state(self, today: dt.date, warn_days: int = 60) -> str:
        """``none``, ``expired``, ``expiring`` or ``current``; see :meth:`Contract.state`."""
        return self.contract.state(today, warn_days)

    def with_review(self, **changes: object) -> Product:
        """A copy with review fields changed (``status=``, ``reviewer=``, ...)."""
        return dataclasses.replace(self, review=dataclasses.replace(self.review, **changes))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- catalog

def _rule_key(rule: DomainRule) -> tuple[str, str]:
    # Only the same rule is a clash: the matcher orders different rules on one domain
    # (an exact rule beats the others for its host, a wildcard beats a suffix rule for
    # a sub-domain), so "=x.com" or "*.x.com" may sit beside another product's "x.com".
    return (rule.kind, rule.domain)


class Claims(Protocol):
    """What a product claims (a Product, or an importer's partial row)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def source(self) -> str | None: ...
    @property
    def domains(self) -> tuple[str, ...]: ...
    @property
    def sso_ids(self) -> tuple[str, ...]: ...


C = TypeVar("C", bound=Claims)


def catalog_conflicts(products: Iterable[C]) -> Iterator[tuple[C, str, str]]:
    """``(product, field, reason)`` for each product that reuses an id, a domain
    rule or an SSO id of an earlier product. Domains must be canonical rules."""
    ids: dict[str, C] = {}
    rules: dict[tuple[str, str], tuple[C, str]] = {}
    sso: dict[str, C] = {}

    def who(p: C) -> str:
        return f"{p.name!r} ({p.source})" if p.source else repr(p.name)

    for p in products:
        first = ids.get(p.id)
        if first is not None:
            yield p, "id", f"id {p.id!r} is already used by {who(first)}"
            continue
        ids[p.id] = p
        for text in p.domains:
            key = _rule_key(parse_domain_rule(text))
            had = rules.get(key)
            if had is not None and had[0].id != p.id:
                yield p, "domains", f"{text} is already claimed by {who(had[0])}"
            else:
                rules.setdefault(key, (p, text))
        for s in p.sso_ids:
            owner = sso.get(s)
            if owner is not None:
                yield p, "sso_ids", f"SSO id {s!r} already belongs to {who(owner)}"
            else:
                sso[s] = p


@dataclass(frozen=True)
class Catalog:
    """The district's products, indexed by id and SSO id. Immutable: changes
    return a new catalog. Raises CatalogError on a reused id, domain rule or SSO id."""

    products: tuple[Product, ...] = ()
    _by_id: dict[str, Product] = field(init=False, repr=False, compare=False)
    _by_sso: dict[str, Product] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        products = tuple(self.products)
        for p in products:
            if not isinstance(p, Product):
                raise TypeError(f"expected Product, got {type(p).__name__}")
        for p, field_name, reason in catalog_conflicts(products):
            where = f"{p.source}: " if p.source else ""
            raise CatalogError(f"{where}{field_name}: {reason}")
        _set(self, "products", products)
        _set(self, "_by_id", {p.id: p for p in products})
        _set(self, "_by_sso", {s: p for p in products for s in p.sso_ids})

    def __len__(self) -> int:
        return len(self.products)

    def __iter__(self) -> Iterator[Product]:
        return iter(self.products)

    def by_id(self, product_id: str) -> Product | None:
        return self._by_id.get(product_id)

    def by_sso_id(self, sso_id: str) -> Product | None:
        """The product holding this exact SSO id (GUIDs compare in lower case)."""
        got = self._by_sso.get(sso_id)
        if got is None and _GUID.fullmatch(sso_id):
            got = self._by_sso.get(sso_id.lower())
        return got

    def domain_rules(self) -> tuple[tuple[DomainRule, Product], ...]:
        """Every (rule, product) pair, in catalog order."""
        return tuple((r, p) for p in self.products for r in p.rules)

    def upsert(self, product: Product) -> Catalog:
        """A catalog with ``product`` replacing the one of the same id (same place),
        or added at the end."""
        if product.id in self._by_id:
            return Catalog(tuple(product if p.id == product.id else p for p in self.products))
        return Catalog((*self.products, product))

    def set_status(self, product_id: str, status: Vetting | str, *, reviewer: str | None = None,
                   decided: dt.date | None = None, conditions: str | None = None) -> Catalog:
        """A catalog with one product's review status (and optionally the reviewer,
        decision date and conditions) changed. CatalogError for an unknown id."""
        p = self.by_id(product_id)
        if p is None:
            raise CatalogError(f"no product with id {product_id!r} in the catalog")
        changes: dict[str, object] = {"status": status}
        if reviewer is not None:
            changes["reviewer"] = reviewer
        if decided is not None:
            changes["decided"] = decided
        if conditions is not None:
            changes["conditions"] = conditions
        try:
            return self.upsert(p.with_review(**changes))
        except FieldError as exc:
            raise CatalogError(f"{product_id}: {exc}") from None
