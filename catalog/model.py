"""The district's products, with vetting and contract status."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum


class Vetting(StrEnum):
    REQUESTED = "requested"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions"
    PARENTAL_CONSENT_REQUIRED = "parental_consent_required"
    DENIED = "denied"
    RETIRED = "retired"

    @property
    def allowed(self) -> bool:
        return self in (Vetting.APPROVED, Vetting.APPROVED_WITH_CONDITIONS,
                        Vetting.PARENTAL_CONSENT_REQUIRED)


STATUS_ALIASES = {
    "pending": Vetting.IN_REVIEW,
    "in review": Vetting.IN_REVIEW,
    "under review": Vetting.IN_REVIEW,
    "approved with conditions": Vetting.APPROVED_WITH_CONDITIONS,
    "not approved": Vetting.DENIED,
    "rejected": Vetting.DENIED,
}


def parse_status(text: str) -> Vetting:
    key = text.strip().lower().replace("-", "_")
    if key in STATUS_ALIASES:
        return STATUS_ALIASES[key]
    try:
        return Vetting(key.replace(" ", "_"))
    except ValueError:
        valid = ", ".join(v.value for v in Vetting)
        raise ValueError(f"unknown vetting status {text!r}; valid: {valid}, pending") from None


_SLUG = re.compile(r"[^a-z0-9]+")


def slug(name: str) -> str:
    return _SLUG.sub("-", name.lower()).strip("-") or "product"


@dataclass(frozen=True)
class Product:
    """A product in the district catalog."""

    id: str
    name: str
    vendor: str = ""
    domains: tuple[str, ...] = ()
    """Host names or registered domains; each also matches its sub-domains."""
    status: Vetting = Vetting.REQUESTED
    contract_expires: dt.date | None = None
    """Expiry of the contract / DPA; None when there is none."""
    category: str = ""
    sso_ids: tuple[str, ...] = ()
    notes: str = ""
    source: str | None = field(default=None, compare=False)
    """Where it was read from (file:row)."""

    def contract_state(self, today: dt.date) -> str:
        if self.contract_expires is None:
            return "none"
        return "expired" if self.contract_expires < today else "current"


@dataclass(frozen=True)
class Catalog:
    products: tuple[Product, ...] = ()

    def by_id(self, product_id: str) -> Product | None:
        for p in self.products:
            if p.id == product_id:
                return p
        return None
