"""The catalog records: validation, domain rules, contract state, the Catalog indexes."""

from __future__ import annotations

import dataclasses
import datetime as dt

import idna
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from catalog.errors import CatalogError
from catalog.model import (
    Audience,
    Catalog,
    Contract,
    ContractType,
    DomainRule,
    FieldError,
    Product,
    Review,
    Scope,
    Vetting,
    parse_domain_rule,
    parse_grade_band,
    parse_status,
    slug,
)

TODAY = dt.date(2026, 3, 1)


# ------------------------------------------------------------------------ domain rules

@pytest.mark.parametrize(("text", "kind", "domain"), [
    ("example.com", "suffix", "example.com"),
    ("  Example.COM.  ", "suffix", "example.com"),
    (".example.com", "suffix", "example.com"),
    ("=www.example.com", "exact", "www.example.com"),
    ("= WWW.Example.com", "exact", "www.example.com"),
    ("*.example.com", "wildcard", "example.com"),
    ("*.Bücher.example", "wildcard", "xn--bcher-kva.example"),
    ("=intranet", "exact", "intranet"),
    ("_dmarc.example.com", "suffix", "_dmarc.example.com"),
])
def test_domain_rules_parse_to_kind_and_normalized_domain(text: str, kind: str,
                                                          domain: str) -> None:
    rule = parse_domain_rule(text)
    assert (rule.kind, rule.domain) == (kind, domain)
    assert parse_domain_rule(str(rule)) == rule


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty"),
    ("=", "empty"),
    ("com", "too broad"),
    ("*.org", "too broad"),
    ("10.0.0.1", "IP address"),
    ("=2001:db8::1", "IP address"),
    ("https://example.com/x", "URL"),
    ("example.com/path", "URL"),
    ("a*.example.com", "'*'"),
    ("*.*.example.com", "'*'"),
    ("exa mple.com", "invalid"),
    ("..example.com", "empty label"),
])
def test_bad_domain_rules_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_domain_rule(text)


def test_rule_matching_by_kind() -> None:
    suffix, exact, wild = (parse_domain_rule(t) for t in
                           ("example.com", "=www.example.com", "*.example.com"))
    assert suffix.matches("example.com") and suffix.matches("a.b.example.com")
    assert not suffix.matches("badexample.com")
    assert exact.matches("www.example.com") and not exact.matches("a.www.example.com")
    assert not exact.matches("example.com")
    assert wild.matches("www.example.com") and not wild.matches("example.com")
    assert str(wild) == "*.example.com" and str(exact) == "=www.example.com"


_ULABEL = st.text(alphabet="abcxyzäöüßéñçøπжд中文ü0123456789-", min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(label=_ULABEL, prefix=st.sampled_from(["", "=", "*.", "."]),
       upper=st.booleans(), dot=st.booleans())
def test_unicode_and_punycode_spellings_are_one_rule(label: str, prefix: str, upper: bool,
                                                     dot: bool) -> None:
    try:
        alabel = idna.encode(label, uts46=True).decode("ascii")
    except idna.IDNAError:
        assume(False)
        return
    uni = parse_domain_rule(f"{prefix}{label}.example")
    spelled = f"{prefix}{alabel}.example"
    spelled = spelled.upper() if upper else spelled
    assert parse_domain_rule(spelled + ("." if dot else "")) == uni
    assert uni.domain == f"{alabel}.example"
    assert uni.domain.isascii() and uni.domain == uni.domain.lower()
    assert parse_domain_rule(str(uni)) == uni


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40))
def test_rule_parser_raises_only_value_error(text: str) -> None:
    try:
        rule = parse_domain_rule(text)
    except ValueError:
        return
    assert isinstance(rule, DomainRule)
    assert parse_domain_rule(str(rule)) == rule


@settings(max_examples=150, deadline=None)
@given(sub=st.lists(st.sampled_from(["a", "www", "x-1", "cdn"]), max_size=3),
       kind=st.sampled_from(["", "=", "*."]))
def test_rule_covers_exactly_its_hosts(sub: list[str], kind: str) -> None:
    rule = parse_domain_rule(kind + "example.org")
    host = ".".join([*sub, "example.org"])
    expected = {"": True, "=": not sub, "*.": bool(sub)}[kind]
    assert rule.matches(host) is expected
    assert not rule.matches("example.org.evil.test")


# --------------------------------------------------------------------- contract state

def _contract(kind: ContractType, expires: dt.date | None) -> Contract:
    extra = {"originating_district": "Springfield"} if kind is ContractType.EXHIBIT_E else {}
    return Contract(kind, expires=expires, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(("days", "state"), [
    (-400, "expired"), (-1, "expired"), (0, "expiring"), (1, "expiring"), (59, "expiring"),
    (60, "expiring"), (61, "current"), (4000, "current"),
])
@pytest.mark.parametrize("kind", [ContractType.NDPA, ContractType.STATE_DPA,
                                  ContractType.VENDOR_DPA, ContractType.EXHIBIT_E])
def test_contract_state_boundaries(days: int, state: str, kind: ContractType) -> None:
    p = Product("x", "X", contract=_contract(kind, TODAY + dt.timedelta(days=days)))
    assert p.contract_state(TODAY) == state


def test_contract_state_warn_days_and_no_dpa() -> None:
    soon = Product("x", "X", contract=Contract(ContractType.NDPA, expires=TODAY + dt.timedelta(days=10)))
    assert soon.contract_state(TODAY, warn_days=9) == "current"
    assert soon.contract_state(TODAY, warn_days=10) == "expiring"
    assert Product("x", "X", contract=Contract(ContractType.NDPA, expires=TODAY)).contract_state(
        TODAY, warn_days=0) == "expiring"
    with pytest.raises(ValueError):
        soon.contract_state(TODAY, warn_days=-1)
    # A DPA with no end date is current; click-through terms are not a DPA at all,
    # even when they carry dates; nothing is none.
    assert Product("x", "X", contract=Contract(ContractType.STATE_DPA)).contract_state(TODAY) == "current"
    click = Contract(ContractType.CLICK_THROUGH, signed=TODAY - dt.timedelta(days=90),
                     expires=TODAY - dt.timedelta(days=5))
    assert Product("x", "X", contract=click).contract_state(TODAY) == "none"
    assert Product("x", "X").contract_state(TODAY) == "none"


# ------------------------------------------------------------------------- validation

def test_product_normalizes_what_it_is_given() -> None:
    # Spellings and lists as an importer or a hand-written call would give them.
    loose: dict[str, object] = {
        "domains": ["Quizlet.COM.", "quizlet.com", "=WWW.X.org"],
        "sso_ids": ["ABCDEF01-2345-6789-ABCD-EF0123456789", "  Okta  App "],
        "audience": "Students", "grade_bands": ["k-5", "Pre-K–2", "9th to 12th", "06", "all"],
        "scope": "School", "scope_schools": ["Lincoln  Elementary"],
        "notes": "line one\r\nline two\u2028three  \n",
        "review": Review(**{"status": "Pending", "allowed_data": "Identity; roster, roster"}),  # type: ignore[arg-type]
        "contract": Contract(**{"type": "Exhibit E", "originating_district": "Springfield"}),  # type: ignore[arg-type]
    }
    p = Product("quizlet", "  Quiz\n let  ", **loose)  # type: ignore[arg-type]
    assert p.name == "Quiz let"
    assert p.domains == ("quizlet.com", "=www.x.org")
    assert p.sso_ids == ("abcdef01-2345-6789-abcd-ef0123456789", "Okta App")
    assert p.audience is Audience.STUDENTS and p.scope is Scope.SCHOOLS
    assert p.grade_bands == ("K-5", "PK-2", "9-12", "6", "PK-12")
    assert p.scope_schools == ("Lincoln Elementary",)
    assert p.notes == "line one\nline two\nthree"
    assert p.status is Vetting.IN_REVIEW and not p.status.allowed
    assert p.review.allowed_data == ("identity", "roster")
    assert p.contract.type is ContractType.EXHIBIT_E
    assert p.rules[1] == DomainRule("exact", "www.x.org")


@pytest.mark.parametrize(("kwargs", "field_name", "reason"), [
    ({"id": "Quizlet"}, "id", "not an id"),
    ({"id": "-x"}, "id", "not an id"),
    ({"name": "  "}, "name", "empty"),
    ({"name": "a\x00b"}, "name", r"U\+0000"),
    ({"notes": "bell\x07"}, "notes", r"U\+0007"),
    ({"name": "x" * 501}, "name", "longer than 500"),
    ({"website": "javascript:alert(1)"}, "website", "http"),
    ({"website": "https://exa mple.com"}, "website", "http"),
    ({"domains": ["com"]}, "domains", "too broad"),
    ({"grade_bands": ["K-13"]}, "grade_bands", "unknown grade"),
    ({"grade_bands": ["5-K"]}, "grade_bands", "backwards"),
    ({"audience": "parents"}, "audience", "valid: students, staff, both"),
    ({"scope": "state"}, "scope", "valid: district, schools, teacher"),
    ({"scope_schools": ["Lincoln"]}, "scope_schools", "only when scope is schools"),
    ({"sso_ids": [""]}, "sso_ids", "empty"),
])
def test_bad_product_fields_name_the_field(kwargs: dict[str, object], field_name: str,
                                           reason: str) -> None:
    args: dict[str, object] = {"id": "x", "name": "X", **kwargs}
    with pytest.raises(FieldError, match=reason) as info:
        Product(**args)  # type: ignore[arg-type]
    assert info.value.field == field_name


@pytest.mark.parametrize(("cls", "kwargs", "field_name", "reason"), [
    (Contract, {"type": "exhibit_e"}, "originating_district", "originating district"),
    (Contract, {"type": "ndpa", "originating_district": "X"}, "originating_district",
     "only an exhibit_e"),
    (Contract, {"type": "none", "expires": TODAY}, "expires", "type none"),
    (Contract, {"document": "x"}, "document", "type none"),
    (Contract, {"type": "ndpa", "signed": TODAY, "expires": TODAY - dt.timedelta(days=1)},
     "expires", "before the signed date"),
    (Contract, {"type": "dpa-ish"}, "type", "valid: ndpa, state_dpa"),
    (Contract, {"type": "ndpa", "data_elements": ["grades", "shoe_size"]}, "data_elements",
     "unknown data element 'shoe_size'"),
    (Review, {"decided": TODAY, "next_review": TODAY - dt.timedelta(days=1)}, "next_review",
     "before the decision date"),
    (Review, {"status": "aproved"}, "status", "unknown vetting status"),
    (Review, {"status": 3}, "status", "expected one of requested"),
    (Review, {"allowed_data": ["grades", "dna"]}, "allowed_data", "'dna'"),
    (Review, {"evidence": ["ok", "  "]}, "evidence", "item 2 is empty"),
    (Review, {"decided": "2025-01-01"}, "decided", "expected a date"),
])
def test_bad_review_and_contract_fields(cls: type[Review | Contract], kwargs: dict[str, object],
                                        field_name: str, reason: str) -> None:
    with pytest.raises(FieldError, match=reason) as info:
        cls(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field_name


def test_source_is_not_part_of_equality_and_properties_read_through() -> None:
    c = Contract(ContractType.VENDOR_DPA, expires=dt.date(2027, 1, 1))
    a = Product("x", "X", contract=c, source="a.csv:2")
    b = Product("x", "X", contract=c, source="b.yaml: product 9")
    assert a == b and hash(a) == hash(b)
    assert a.contract_expires == dt.date(2027, 1, 1)
    assert a.status is Vetting.REQUESTED
    assert a.with_review(status=Vetting.APPROVED).status is Vetting.APPROVED
    assert a.with_review(status="denied").status is Vetting.DENIED


@pytest.mark.parametrize(("text", "status"), [
    ("approved", Vetting.APPROVED), ("Pending", Vetting.IN_REVIEW),
    ("in-review", Vetting.IN_REVIEW), ("Approved with conditions",
                                       Vetting.APPROVED_WITH_CONDITIONS),
    ("Not approved", Vetting.DENIED), ("parental consent", Vetting.PARENTAL_CONSENT_REQUIRED),
    ("RETIRED", Vetting.RETIRED),
])
def test_parse_status_spellings(text: str, status: Vetting) -> None:
    assert parse_status(text) is status


def test_parse_status_lists_valid_values() -> None:
    with pytest.raises(ValueError, match="valid: requested, in_review, approved"):
        parse_status("maybe")


def test_grade_band_vocabulary() -> None:
    assert parse_grade_band("PK-12") == "PK-12"
    assert parse_grade_band("TK–K") == "TK-K"
    assert parse_grade_band("kindergarten") == "K"
    for bad in ("13", "K-5-8", "grade school", "0", ""):
        with pytest.raises(ValueError):
            parse_grade_band(bad)


def test_slug() -> None:
    assert slug("Kahoot!") == "kahoot"
    assert slug("Ñandú Reading") == "nandu-reading"
    assert slug("例え").startswith("product-") and slug("例え") != slug("例")
    assert slug("x" * 200) == "x" * 80


# ------------------------------------------------------------------------------ catalog

def _p(pid: str, *domains: str, sso: tuple[str, ...] = (), **kw: object) -> Product:
    return Product(pid, pid.title(), domains=domains, sso_ids=sso, **kw)  # type: ignore[arg-type]


def test_catalog_indexes() -> None:
    guid = "ABCDEF01-2345-6789-ABCD-EF0123456789"
    cat = Catalog((_p("a", "a.com", sso=("okta_a",)), _p("b", "b.com", sso=(guid,))))
    assert isinstance(cat.products, tuple) and len(cat) == 2
    assert cat.by_id("b") is cat.products[1] and cat.by_id("zz") is None
    assert cat.by_sso_id("okta_a") is cat.products[0]
    assert cat.by_sso_id("OKTA_A") is None  # exact, except GUIDs
    assert cat.by_sso_id(guid) is cat.products[1]
    assert cat.by_sso_id(guid.lower()) is cat.products[1]
    assert [(str(r), p.id) for r, p in cat.domain_rules()] == [("a.com", "a"), ("b.com", "b")]


@pytest.mark.parametrize(("first", "second", "reason"), [
    (_p("a", "a.com"), _p("a", "b.com"), "id 'a' is already used"),
    (_p("a", "x.com"), _p("b", "X.com."), "x.com is already claimed by 'A'"),
    (_p("a", "*.x.com"), _p("b", "*.X.com"), r"\*.x.com is already claimed"),
    (_p("a", "=w.x.com"), _p("b", "=w.x.com"), "=w.x.com is already claimed"),
    (_p("a", sso=("s1",)), _p("b", sso=("s1",)), "SSO id 's1' already belongs"),
])
def test_catalog_refuses_a_second_claim(first: Product, second: Product, reason: str) -> None:
    with pytest.raises(CatalogError, match=reason):
        Catalog((first, second))


def test_different_rules_on_one_domain_may_belong_to_different_products() -> None:
    # The matcher orders them: exact beats the others, wildcard beats suffix.
    cat = Catalog((_p("a", "x.com"), _p("b", "=x.com", "=www.x.com"), _p("c", "sub.x.com"),
                   _p("d", "*.x.com")))
    assert len(cat) == 4
    # One product may hold both the suffix and the wildcard of a domain.
    assert len(Catalog((_p("a", "x.com", "*.x.com"),))) == 1


def test_upsert_and_set_status_return_new_catalogs() -> None:
    cat = Catalog((_p("a", "a.com"), _p("b", "b.com")))
    changed = cat.upsert(dataclasses.replace(cat.products[0], vendor="V"))
    assert [p.id for p in changed] == ["a", "b"] and changed.by_id("a").vendor == "V"  # type: ignore[union-attr]
    assert cat.by_id("a").vendor == ""  # type: ignore[union-attr]
    added = cat.upsert(_p("c", "c.com"))
    assert [p.id for p in added] == ["a", "b", "c"] and len(cat) == 2
    with pytest.raises(CatalogError, match=r"b\.com is already claimed by 'B'"):
        cat.upsert(_p("c", "b.com"))
    denied = cat.set_status("b", "denied", reviewer="Board", decided=TODAY)
    assert denied.by_id("b").review == Review(Vetting.DENIED, "Board", TODAY)  # type: ignore[union-attr]
    assert cat.by_id("b").status is Vetting.REQUESTED  # type: ignore[union-attr]
    with pytest.raises(CatalogError, match="no product with id 'zz'"):
        cat.set_status("zz", "approved")
    with pytest.raises(CatalogError, match="unknown vetting status"):
        cat.set_status("a", "sort of")
