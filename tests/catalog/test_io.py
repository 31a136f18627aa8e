"""Catalog import and export: golden files per source, errors, all-or-nothing, round trips."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.errors import CatalogError
from catalog.io import (
    CSV_COLUMNS,
    CatalogImportError,
    detect_mapping,
    dump_catalog_csv,
    dump_catalog_yaml,
    load_catalog,
    parse_catalog,
)
from catalog.model import (
    Audience,
    Catalog,
    Contract,
    ContractType,
    Product,
    Review,
    Scope,
    Vetting,
)

V, CT = Vetting, ContractType
DATA = Path(__file__).parent.parent / "data" / "catalog"
D = dt.date


def problems(path: Path | str, mapping: str = "auto") -> list[str]:
    with pytest.raises(CatalogImportError) as info:
        load_catalog(path, mapping)
    return [p.replace(str(DATA) + "/", "") for p in info.value.problems]


# ------------------------------------------------------------------------- golden files

QUIZLET = Product(
    "quizlet", "Quizlet", "Quizlet Inc.", "https://quizlet.com", "study-tools",
    ("quizlet.com", "quizletcdn.com"), ("123456789012-abc.apps.googleusercontent.com",),
    Audience.STUDENTS, ("6-8", "9-12"),
    review=Review(V.APPROVED, "J. Ortiz", D(2025, 8, 1), "", D(2026, 8, 1),
                  ("identity", "email_address"),
                  ("https://privacy.commonsense.org/evaluation/Quizlet",)),
    contract=Contract(CT.NDPA, D(2025, 8, 1), D(2027, 7, 31), ("identity", "email_address"),
                      "SDPC #4411"))


def test_native_csv_golden() -> None:
    cat = load_catalog(DATA / "native.csv")
    canvas = Product(
        "canvas", "Canvas LMS", "Instructure", "https://www.instructure.com/canvas", "lms",
        ("=riverbend.instructure.com", "canvaslms.com"),
        ("abcdef01-2345-6789-abcd-ef0123456789", "Canvas; Staff"), Audience.BOTH, ("K-12",),
        notes='Renewal owner: "IT", not C&I',
        review=Review(V.APPROVED_WITH_CONDITIONS, "J. Ortiz", D(2025, 8, 15),
                      "Teachers create courses only;\nno student DMs.", D(2026, 8, 15),
                      ("identity", "roster", "coursework", "grades"),
                      ("https://example.org/review?id=1;2", "ticket 77")),
        contract=Contract(CT.STATE_DPA, D(2025, 8, 15), D(2027, 6, 30),
                          ("identity", "roster", "coursework", "grades"),
                          "https://sdpc.a4l.org/agreement/991"))
    buecher = Product(
        "buecher", "Bücherwurm Reading", "Bücher GmbH", "https://bücher.example/de", "reading",
        ("*.xn--bcher-kva.example",), (), Audience.STUDENTS, ("PK-2",), Scope.SCHOOLS,
        ("Jefferson Elementary", "Lincoln Elementary"),
        review=Review(V.PARENTAL_CONSENT_REQUIRED, allowed_data=("identity",)),
        contract=Contract(CT.EXHIBIT_E, D(2024, 9, 1), D(2026, 6, 30), ("identity",),
                          "Exhibit E from Springfield", "Springfield Public Schools"))
    scratch = Product("scratch", "Scratch", "MIT", category="coding",
                      domains=("scratch.mit.edu",), audience=Audience.STUDENTS, grade_bands=("3-5",),
                      scope=Scope.TEACHER, notes="-- free; no accounts for under-13s",
                      review=Review(V.APPROVED),
                      contract=Contract(CT.CLICK_THROUGH,
                                        document="https://scratch.mit.edu/terms_of_use"))
    tiktok = Product("tiktok", "TikTok", "ByteDance", category="social-media",
                     domains=("tiktok.com", "tiktokcdn.com"),
                     review=Review(V.DENIED, "Board", D(2024, 1, 10)))
    assert list(cat) == [QUIZLET, canvas, buecher, scratch, tiktok]
    # Rows are named by the line they start on (Canvas's conditions span two lines).
    assert [p.source for p in cat] == [f"{DATA / 'native.csv'}:{n}" for n in (2, 3, 5, 6, 7)]
    assert cat.by_sso_id("ABCDEF01-2345-6789-ABCD-EF0123456789") == canvas
    assert buecher.contract_state(D(2026, 5, 1)) == "expiring"
    assert scratch.contract_state(D(2026, 5, 1)) == "none"


def test_native_yaml_golden_nested_and_flat_keys() -> None:
    cat = load_catalog(DATA / "native.yaml")
    assert cat.products[0] == QUIZLET
    assert cat.products[1] == Product(
        "buecher", "Bücherwurm Reading", domains=("*.xn--bcher-kva.example",),
        grade_bands=("PK-2",), scope=Scope.SCHOOLS,
        scope_schools=("Jefferson Elementary", "Lincoln Elementary"),
        notes="Consent forms: front office.\nRenew with Springfield.",
        review=Review(V.PARENTAL_CONSENT_REQUIRED),
        contract=Contract(CT.EXHIBIT_E, D(2024, 9, 1), D(2026, 6, 30),
                          originating_district="Springfield Public Schools"))
    assert cat.products[2] == Product("wikipedia", "Wikipedia",
                                      domains=("wikipedia.org", "wikimedia.org"),
                                      review=Review(V.APPROVED))
    assert cat.products[2].source == f"{DATA / 'native.yaml'}: product 3"


def test_legacy_demo_columns_still_load() -> None:
    cat = load_catalog(DATA / "legacy.csv")
    assert [p.id for p in cat] == ["google-classroom", "khan-academy", "scratch",
                                   "prodigy-math", "tiktok", "wayground"]
    khan = cat.by_id("khan-academy")
    assert khan is not None and khan.domains == ("khanacademy.org", "kastatic.org")
    # contract_expires without a contract type: a vendor DPA; nothing: no contract.
    assert khan.contract == Contract(CT.VENDOR_DPA, expires=D(2026, 6, 16))
    assert cat.by_id("scratch").contract == Contract()  # type: ignore[union-attr]
    prodigy = cat.by_id("prodigy-math")
    assert prodigy is not None and prodigy.contract_state(D(2026, 11, 28)) == "expired"
    assert cat.by_id("wayground").status is Vetting.IN_REVIEW  # type: ignore[union-attr]


def test_the_demo_writes_a_catalog_that_loads(tmp_path: Path) -> None:
    from sentinel.demo import PRODUCTS, _write_catalog

    _write_catalog(tmp_path / "catalog.csv", D(2026, 11, 28))
    cat = load_catalog(tmp_path / "catalog.csv")
    assert [p.name for p in cat] == [row[0] for row in PRODUCTS]
    states = {p.name: p.contract_state(D(2026, 11, 28)) for p in cat}
    assert states["Prodigy Math"] == "expired" and states["Scratch"] == "none"
    assert states["Google Classroom"] == "current"


def test_sdpc_golden() -> None:
    cat = load_catalog(DATA / "sdpc.csv")
    assert list(cat) == [
        Product("quizlet", "Quizlet", "Quizlet Inc.", review=Review(V.APPROVED),
                contract=Contract(CT.NDPA, D(2025, 8, 1), D(2027, 7, 31))),
        Product("canvas-lms", "Canvas LMS", "Instructure, Inc.", review=Review(V.APPROVED),
                contract=Contract(CT.NDPA, D(2023, 7, 1), D(2026, 6, 30))),
        Product("bucherwurm-reading", "Bücherwurm Reading", "Bücher GmbH",
                review=Review(V.APPROVED),
                contract=Contract(CT.EXHIBIT_E, D(2024, 9, 1), D(2026, 6, 30),
                                  originating_district="Springfield Public Schools")),
        Product("flocabulary", "Flocabulary", "Flocabulary", review=Review(V.APPROVED),
                contract=Contract(CT.STATE_DPA, D(2021, 7, 1), D(2024, 6, 30))),
        # Pending: no agreement in force yet; what the registry said is kept in notes.
        Product("padlet", "Padlet", "Padlet", notes="SDPC agreement: Vendor Specific (Pending)",
                review=Review(V.IN_REVIEW)),
        Product("seesaw", "Seesaw", "Seesaw Learning", review=Review(V.RETIRED),
                contract=Contract(CT.STATE_DPA, D(2020, 8, 1), D(2023, 8, 1))),
    ]
    assert all(not p.domains for p in cat)  # registry rows carry no domains: allowed
    assert cat.by_id("flocabulary").contract_state(D(2025, 1, 1)) == "expired"  # type: ignore[union-attr]


def test_district_sheet_golden() -> None:
    cat = load_catalog(DATA / "district_sheet.csv")
    exp = D(2026, 12, 31)
    assert list(cat) == [
        Product("quizlet", "Quizlet", "Quizlet Inc.", "https://quizlet.com/",
                domains=("quizlet.com",), grade_bands=("6-12",), review=Review(V.APPROVED),
                contract=Contract(CT.VENDOR_DPA, expires=D(2027, 6, 30))),
        Product("kahoot", "Kahoot!", "Kahoot! ASA", "https://kahoot.com", domains=("kahoot.com",),
                grade_bands=("K-12",), scope=Scope.TEACHER, notes="Teacher accounts only; see notes",
                review=Review(V.APPROVED_WITH_CONDITIONS), contract=Contract(CT.CLICK_THROUGH)),
        Product("seesaw", "Seesaw", "Seesaw Learning", "https://app.seesaw.me/#/login",
                domains=("app.seesaw.me",), grade_bands=("K-2",), scope=Scope.SCHOOLS,
                review=Review(V.PARENTAL_CONSENT_REQUIRED)),
        Product("tiktok", "TikTok", "ByteDance", "https://www.tiktok.com",
                domains=("tiktok.com",), review=Review(V.DENIED)),
        # Two rows at docs.google.com: neither gets the shared host as its domain.
        Product("google-docs", "Google Docs", "Google", "https://docs.google.com/document",
                grade_bands=("K-12",), review=Review(V.APPROVED),
                contract=Contract(CT.VENDOR_DPA, expires=exp)),
        Product("google-forms", "Google Forms", "Google", "https://docs.google.com/forms",
                grade_bands=("K-12",), review=Review(V.APPROVED),
                contract=Contract(CT.VENDOR_DPA, expires=exp)),
        Product("blooket", "Blooket", "Blooket LLC", grade_bands=("3-8",), scope=Scope.TEACHER,
                review=Review(V.REQUESTED)),
    ]


@pytest.mark.parametrize(("name", "mapping"), [
    ("native.csv", "native"), ("legacy.csv", "native"), ("sdpc.csv", "sdpc"),
    ("district_sheet.csv", "district_sheet"), ("bad_header.csv", "native"),
])
def test_mapping_detected_from_header(name: str, mapping: str) -> None:
    header = next(csv.reader(io.StringIO((DATA / name).read_text())))
    assert detect_mapping(header) == mapping


def test_explicit_mapping_overrides_detection() -> None:
    text = "Name,Status,URL\nQuizlet,Approved,quizlet.com\n"
    assert detect_mapping(["Name", "Status", "URL"]) == "district_sheet"
    cat = parse_catalog(text, "csv", "s.csv", mapping="district_sheet")
    assert cat.products[0].domains == ("quizlet.com",)
    assert problems_of(text, mapping="native") == [
        "s.csv:1: column 'URL': unknown; valid: " + ", ".join(CSV_COLUMNS)]
    with pytest.raises(CatalogError, match="cannot tell the source"):
        parse_catalog("Foo,Bar\n1,2\n", "csv", "s.csv")
    with pytest.raises(CatalogError, match="unknown mapping 'excel'; valid: auto, native"):
        parse_catalog(text, "csv", "s.csv", mapping="excel")


def problems_of(text: str, fmt: str = "csv", mapping: str = "auto") -> list[str]:
    with pytest.raises(CatalogImportError) as info:
        parse_catalog(text, fmt, "s." + fmt, mapping)
    return list(info.value.problems)


# ---------------------------------------------------------------------------- errors

ELEMENTS = ("identity, email_address, roster, coursework, grades, files, mail, calendar, "
            "contacts, directory, admin, chat, meetings, photos, location, device, activity, "
            "health, demographics")


def test_bad_native_file_lists_every_problem_with_row_and_column() -> None:
    assert problems(DATA / "bad_native.csv") == [
        "bad_native.csv:2: decided: not a date: '2025-13-01' (month must be in 1..12)",
        "bad_native.csv:2: status: unknown vetting status 'aproved'; valid: requested, "
        "in_review, approved, approved_with_conditions, parental_consent_required, denied, "
        "retired, pending",
        # Duplicates are found even against a row that has other problems.
        "bad_native.csv:3: id: id 'quizlet' is already used by 'Quizlet' (bad_native.csv:2)",
        f"bad_native.csv:4: allowed_data: unknown data element 'shoe_size'; valid: {ELEMENTS}",
        "bad_native.csv:4: domains: quizlet.com is already claimed by 'Quizlet' "
        "(bad_native.csv:2)",
        "bad_native.csv:5: originating_district: an Exhibit E sign-on needs the originating "
        "district",
        "bad_native.csv:7: contract_expires: not a date: '31/12/2026' (month must be in 1..12)",
        "bad_native.csv:8: domains: 'https://www.blooket.com/' is a URL; write its host, "
        "e.g. example.com",
        "bad_native.csv:9: name: empty",
        "bad_native.csv:9: id: 'Wayground' is not an id: use 1-80 lower-case letters, digits, "
        "'.', '_' or '-', starting with a letter or digit",
    ]


def test_bad_header_names_the_unknown_column() -> None:
    (only,) = problems(DATA / "bad_header.csv")
    assert only.startswith("bad_header.csv:1: column 'contract_expiry': unknown; valid: id, ")
    assert "pass mapping sdpc or district_sheet" in only


def test_bad_sdpc_file() -> None:
    got = problems(DATA / "bad_sdpc.csv")
    assert [p.split(";")[0] for p in got] == [
        "bad_sdpc.csv:2: Agreement Type: unknown agreement type 'Handshake'",
        "bad_sdpc.csv:3: Agreement Type: an Exhibit E sign-on needs the originating district "
        "(add an 'Originating District' column)",
        "bad_sdpc.csv:4: Status: 'Expired' needs the expiry date (Expiration Date)",
        "bad_sdpc.csv:5: Status: unknown agreement status 'Maybe'",
    ]
    assert "valid: NDPA, Exhibit E, dpa, standard" in got[0]


def test_bad_district_sheet() -> None:
    got = problems(DATA / "bad_district_sheet.csv")
    assert [p.split(";")[0] for p in got] == [
        "bad_district_sheet.csv:2: Agreement: unknown agreement 'Handshake'",
        "bad_district_sheet.csv:3: URL: not an http(s) URL: 'https://kahoot .com'",
        "bad_district_sheet.csv:3: Use: unknown scope 'Everywhere'",
        "bad_district_sheet.csv:3: Grades: unknown grade '13' in 'K-13'",
        "bad_district_sheet.csv:4: App: empty",
    ]
    assert "valid: district, schools, teacher" in got[2]


@pytest.mark.parametrize(("text", "expected"), [
    ("name,status\nA,approved\nB,approved,extra\n",
     ["s.csv:3: row has 3 cells, the header 2"]),
    ("name,status,status\nA,approved,approved\n", ["s.csv:1: column 'status' appears twice"]),
    ("vendor,domains,contract_type\nX,x.com,\n", ["s.csv:1: no 'name' column (reading it as native)",
                                    "s.csv:1: no 'status' column (reading it as native)"]),
    ("", ["s.csv: empty file: no header row"]),
    ("name,status,domains,sso_ids\nA,approved,a.com,s1\nB,approved,=a.com A.com.,s1\n",
     ["s.csv:3: domains: a.com is already claimed by 'A' (s.csv:2)",
      "s.csv:3: sso_ids: SSO id 's1' already belongs to 'A' (s.csv:2)"]),
    ("name,status,scope,scope_schools\nA,approved,district,Lincoln\n",
     ["s.csv:2: scope_schools: schools are listed only when scope is schools (scope is "
      "district)"]),
    ("name,status,contract_type,contract_expires\nA,approved,none,2026-01-01\n",
     ["s.csv:2: contract_expires: a contract of type none has no expires"]),
    ("name,status,audience\nA,approved,parents\n",
     ["s.csv:2: audience: unknown audience 'parents'; valid: students, staff, both"]),
    ("name,status,contract_type\nA,approved,handshake\n",
     ["s.csv:2: contract_type: unknown contract type 'handshake'; valid: ndpa, state_dpa, "
      "vendor_dpa, exhibit_e, click_through, none"]),
    ("name,status,notes\nA,approved,\"a\x07b\"\n",
     ["s.csv:2: notes: control character U+0007 at position 2"]),
])
def test_csv_problems(text: str, expected: list[str]) -> None:
    assert problems_of(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("products:\n  - name: A\n    review: {status: approved, reviewr: x}\n",
     ["s.yaml: product 1: review.reviewr: unknown key; valid: status, reviewer, decided, "
      "conditions, next_review, allowed_data, evidence"]),
    ("products:\n  - name: A\n    status: approved\n    review: {status: denied}\n",
     ["s.yaml: product 1: review.status: given twice (also as status)"]),
    ("products:\n  - name: [A, B]\n    status: approved\n",
     ["s.yaml: product 1: name: expected text, got a list"]),
    ("products:\n  - name: A\n    status: approved\n    contract: {type: ndpa, expires: soon}\n"
     "  - just text\n",
     ["s.yaml: product 1: contract.expires: not a date: 'soon'; write YYYY-MM-DD or M/D/YYYY",
      "s.yaml: product 2: expected a mapping, got str"]),
    ("products:\n  - name: A\n    colour: red\n    status: yes\n",
     ["s.yaml: product 1: colour: unknown key; valid: id, name, vendor, website, category, "
      "domains, sso_ids, audience, grade_bands, scope, scope_schools, notes, review, contract, "
      "status, reviewer, decided, conditions, next_review, allowed_data, evidence, "
      "contract_type, contract_signed, contract_expires, contract_data_elements, "
      "contract_document, originating_district",
      "s.yaml: product 1: status: expected text, got true/false"]),
    ("products: [\n", None),
    ("catalog: []\n", ["s.yaml: unknown top-level key 'catalog'; valid: products"]),
])
def test_yaml_problems(text: str, expected: list[str] | None) -> None:
    got = problems_of(text, "yaml")
    if expected is None:
        assert len(got) == 1 and got[0].startswith("s.yaml:2: not valid YAML")
    else:
        assert got == expected


def test_all_or_nothing_and_the_message_caps_the_list() -> None:
    good = "".join(f"App {i},approved,app{i}.example\n" for i in range(100))
    text = "name,status,domains\n" + good + "Bad,approved,com\n"
    assert problems_of(text) == ["s.csv:102: domains: 'com' is too broad: a suffix or wildcard "
                                 "rule needs two labels (write =name for one exact host)"]
    many = "name,status\n" + "".join(f"App {i},nope\n" for i in range(70))
    with pytest.raises(CatalogImportError) as info:
        parse_catalog(many, "csv", "many.csv")
    err = info.value
    assert len(err.problems) == 70
    lines = str(err).splitlines()
    assert lines[0] == "many.csv: 70 problems; nothing was imported"
    assert len(lines) == 1 + 50 + 1 and lines[-1] == "  ... and 20 more"
    assert isinstance(err, CatalogError)


def test_dates_iso_and_us() -> None:
    text = ("name,status,contract_signed,contract_expires,decided,next_review\n"
            "A,approved,7/1/2025,06/30/27,2025-07-01,2026-07-01 00:00:00\n")
    p = parse_catalog(text, "csv").products[0]
    assert (p.contract.signed, p.contract.expires) == (D(2025, 7, 1), D(2027, 6, 30))
    assert (p.review.decided, p.review.next_review) == (D(2025, 7, 1), D(2026, 7, 1))
    assert p.contract.type is ContractType.VENDOR_DPA


def test_encodings_and_delimiters(tmp_path: Path) -> None:
    f = tmp_path / "excel.csv"
    f.write_bytes("name;status;vendor\r\nBücher;approved;Café GmbH\r\n".encode("cp1252"))
    (p,) = load_catalog(f).products
    assert (p.name, p.vendor) == ("Bücher", "Café GmbH")
    f.write_bytes("\ufeffname\tstatus\nA\tdenied\n".encode())
    assert load_catalog(f).products[0].status is Vetting.DENIED
    f.write_bytes(b"name,status\n\x81\x8d,approved\n")  # bytes undefined in cp1252
    with pytest.raises(CatalogError, match="neither UTF-8 nor Windows-1252"):
        load_catalog(f)
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "missing.csv")


# ----------------------------------------------------------------- formula injection

def test_formula_cells_are_defused_on_export_and_restored_on_import() -> None:
    cat = Catalog((Product("a", "=HYPERLINK(\"http://evil\")", "+cmd", notes="@SUM(1)",
                           domains=("=www.example.com",), review=Review(
                               V.APPROVED, conditions="-2+3", evidence=("'=x", "=y"))),
                   Product("b", "'quoted'", "'@", review=Review(V.APPROVED))))
    text = dump_catalog_csv(cat)
    rows = list(csv.reader(io.StringIO(text)))
    cells = [c for row in rows for c in row]
    assert not [c for c in cells if re.match(r"[=+\-@\t\r]", c)]
    assert "'=www.example.com" in cells and "'=HYPERLINK(\"http://evil\")" in cells
    assert "''=x; =y" in cells  # only the cell's start matters to a spreadsheet
    assert "'quoted'" in cells and "''@" in cells
    assert parse_catalog(text, "csv") == cat
    # Written by hand without the apostrophe, an exact rule reads as written.
    hand = parse_catalog("name,status,domains\nA,approved,=www.example.com\n", "csv")
    assert hand.products[0].domains == ("=www.example.com",)


def test_free_text_lists_escape_the_separator() -> None:
    p = Product("a", "A", sso_ids=("x;y", "back\\", "a\\;b", "plain"),
                review=Review(V.APPROVED, evidence=("\\\\server\\share", "c:\\docs\\")))
    text = dump_catalog_csv(Catalog((p,)))
    assert "x\\;y; back\\\\; a\\\\\\;b; plain" in text
    assert parse_catalog(text, "csv").products[0] == p


# ------------------------------------------------------------------------ round trips

_HOSTILE = st.sampled_from(list(",;\"'=+-@\\\n\r\t  #|:>{}[]&*!%`\u2028\x85\ufeff\u202eé中🎒أ"))
_TEXT = st.text(st.one_of(_HOSTILE, st.characters(blacklist_categories=("Cs", "Cc"))),
                max_size=25)
_LINE = _TEXT.filter(lambda s: bool(s.split()))
_DATES = st.one_of(st.none(), st.dates(D(1990, 1, 1), D(2100, 12, 31)))
_ITEM = st.one_of(_LINE, st.sampled_from(["x\\", "\\;", "a\\\\;b", "\\\\srv\\s", ";", "=a;b"]))
_LABEL = st.sampled_from(["app", "www", "cdn", "bücher", "пример", "xn--bcher-kva", "a-b",
                          "例え", "x1"])


@st.composite
def _products(draw: st.DrawFn, i: int) -> Product:
    rules = draw(st.lists(st.tuples(st.sampled_from(["", "=", "*.", "."]), _LABEL), max_size=3))
    domains = tuple(f"{kind}{label}.p{i}.example" for kind, label in rules)
    scope = draw(st.sampled_from(list(Scope)))
    ctype = draw(st.sampled_from(list(ContractType)))
    if ctype is ContractType.NONE:
        contract = Contract()
    else:
        d1, d2 = sorted([draw(_DATES) or D(2000, 1, 1), draw(_DATES) or D(2000, 1, 1)])
        contract = Contract(
            ctype, d1 if draw(st.booleans()) else None, d2 if draw(st.booleans()) else None,
            tuple(draw(st.lists(st.sampled_from(["identity", "grades", "roster"]), max_size=2))),
            draw(_TEXT), draw(_LINE) if ctype is ContractType.EXHIBIT_E else "")
    r1, r2 = sorted([draw(_DATES) or D(2000, 1, 1), draw(_DATES) or D(2000, 1, 1)])
    review = Review(draw(st.sampled_from(list(Vetting))), draw(_TEXT),
                    r1 if draw(st.booleans()) else None, draw(_TEXT),
                    r2 if draw(st.booleans()) else None,
                    tuple(draw(st.lists(st.sampled_from(["chat", "files"]), max_size=2))),
                    tuple(draw(st.lists(_ITEM, max_size=3))))
    return Product(
        id=draw(st.from_regex(r"[a-z0-9][a-z0-9._-]{0,10}", fullmatch=True)) + f"-{i}",
        name=draw(_LINE), vendor=draw(_TEXT), category=draw(_TEXT),
        website=draw(st.sampled_from(["", "https://example.org/a?b=c;d", "http://bücher.example"])),
        domains=domains, sso_ids=tuple(f"{i}#{s}" for s in draw(st.lists(_ITEM, max_size=2))),
        audience=draw(st.sampled_from(list(Audience))),
        grade_bands=tuple(draw(st.lists(st.sampled_from(["PK-2", "K", "3-5", "9-12"]),
                                        max_size=2))),
        scope=scope,
        scope_schools=tuple(draw(st.lists(_ITEM, max_size=2))) if scope is Scope.SCHOOLS else (),
        notes=draw(_TEXT), review=review, contract=contract)


@st.composite
def _catalogs(draw: st.DrawFn) -> Catalog:
    n = draw(st.integers(0, 4))
    return Catalog(tuple(draw(_products(i)) for i in range(n)))


_RT = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_RT
@given(_catalogs())
def test_csv_round_trip_is_lossless(cat: Catalog) -> None:
    text = dump_catalog_csv(cat)
    assert parse_catalog(text, "csv", "rt.csv") == cat
    assert parse_catalog(text, "csv", "rt.csv", mapping="native") == cat
    for row in csv.reader(io.StringIO(text, newline="")):
        assert not [c for c in row if re.match(r"[=+\-@\t\r]", c)]


@_RT
@given(_catalogs())
def test_yaml_round_trip_is_lossless(cat: Catalog) -> None:
    assert parse_catalog(dump_catalog_yaml(cat), "yaml", "rt.yaml") == cat


@_RT
@given(_catalogs())
def test_round_trip_through_files(tmp_path_factory: pytest.TempPathFactory, cat: Catalog) -> None:
    d = tmp_path_factory.mktemp("rt")
    (d / "c.csv").write_text(dump_catalog_csv(cat), encoding="utf-8", newline="")
    (d / "c.yaml").write_text(dump_catalog_yaml(cat), encoding="utf-8")
    assert load_catalog(d / "c.csv") == cat == load_catalog(d / "c.yaml")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["csv", "yaml"]),
       st.sampled_from(["auto", "native", "sdpc", "district_sheet"]))
def test_arbitrary_text_gives_a_catalog_or_catalog_error(text: str, fmt: str,
                                                         mapping: str) -> None:
    try:
        cat = parse_catalog(text, fmt, "fuzz", mapping)
    except CatalogError:
        return
    assert isinstance(cat, Catalog)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.one_of(_TEXT, st.sampled_from(
    ["approved", "Active", "NDPA", "Exhibit E", "6/30/2026", "x.com", "K-5", "School"])),
    min_size=1, max_size=6), max_size=5))
def test_outside_sheets_with_odd_cells_give_a_catalog_or_catalog_error(
        rows: list[list[str]]) -> None:
    for header in (["Vendor", "Product", "Agreement Type", "Status", "Date Signed", "Expires"],
                   ["App", "URL", "Status", "Use", "Agreement", "Grades"]):
        out = io.StringIO()
        csv.writer(out).writerows([header, *rows])
        with contextlib.suppress(CatalogError):
            parse_catalog(out.getvalue(), "csv", "fuzz.csv")
