"""The district catalog held in the store: documents, imports, changes, labels."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from catalog.errors import CatalogError
from catalog.io import load_catalog as load_file
from catalog.kb import KnowledgeBase
from catalog.match import Matcher
from catalog.model import Catalog, Contract, ContractType, Product, Review, Vetting
from sentinel import audit
from sentinel.app import open_context
from sentinel.catalog_store import (
    KINDS,
    history,
    import_catalog,
    import_file,
    label_app,
    label_new_app,
    label_noise,
    load,
    noise_history,
    product_doc,
    product_of,
    set_status,
    sync_config_catalog,
)
from sentinel.config import Settings, load_settings
from sentinel.store import Store
from sentinel.store.models import CatalogChange, CatalogImport, CatalogProduct

DATA = Path(__file__).parent.parent / "data" / "catalog"
EMPTY_KB = KnowledgeBase((), {})


def counts(store: Store) -> tuple[int, int, int, int]:
    """(products, changes, imports, audit head seq)."""
    with store.session() as s:
        got = tuple(int(s.scalar(select(func.count()).select_from(t)) or 0)
                    for t in (CatalogProduct, CatalogChange, CatalogImport))
    return (*got, audit.head(store).seq)  # type: ignore[return-value]


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("name,status,domains,vendor\n" + "\n".join(rows) + "\n")
    return path


def with_catalog(settings: Settings, path: Path, replace: bool = False) -> Settings:
    return settings.model_copy(update={"catalog": settings.catalog.model_copy(
        update={"path": path, "replace_on_import": replace})})


# -- the product document --------------------------------------------------------------


@pytest.mark.parametrize("name", ["native.csv", "native.yaml", "sdpc.csv", "district_sheet.csv",
                                  "legacy.csv"])
def test_every_sample_product_reads_back_equal(name: str) -> None:
    cat = load_file(DATA / name)
    assert len(cat) > 0
    for p in cat:
        doc = product_doc(p)
        assert json.loads(json.dumps(doc)) == doc  # JSON holds it as is
        assert product_of(doc) == p


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=30)


@st.composite
def products(draw: st.DrawFn) -> Product:
    name = draw(_text.filter(lambda t: t.strip()))
    day = draw(st.dates(dt.date(2000, 1, 1), dt.date(2090, 1, 1)))
    ctype = draw(st.sampled_from([ContractType.NONE, ContractType.NDPA, ContractType.VENDOR_DPA,
                                  ContractType.CLICK_THROUGH]))
    contract = Contract() if ctype is ContractType.NONE else Contract(
        ctype, signed=day, expires=draw(st.none() | st.just(day + dt.timedelta(days=365))),
        document=draw(_text))
    return Product(
        "p-" + draw(st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True)), name, draw(_text),
        domains=tuple(draw(st.lists(st.sampled_from(
            ["a.example", "=www.b.example", "*.c.example", "xn--bcher-kva.example"]),
            max_size=3))),
        review=Review(draw(st.sampled_from(list(Vetting))), draw(_text),
                      draw(st.none() | st.just(day)), conditions=draw(_text)),
        contract=contract, notes=draw(_text))


@hsettings(max_examples=150, deadline=None)
@given(products())
def test_product_documents_round_trip(p: Product) -> None:
    assert product_of(json.loads(json.dumps(product_doc(p)))) == p


def test_a_corrupt_document_is_named() -> None:
    with pytest.raises(CatalogError, match=r"product 'x'.*status"):
        product_of({"id": "x", "name": "X", "review": {"status": "maybe"}})


# -- imports ---------------------------------------------------------------------------


def test_import_creates_updates_and_keeps_the_rest(store: Store, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "c.csv", ["Quizlet,approved,quizlet.com,Quizlet Inc",
                                       "Blooket,denied,blooket.com,"])
    got = import_file(store, f, reason="first load")
    assert (got.created, got.updated) == (("quizlet", "blooket"), ())
    write_csv(f, ["Blooket,approved,blooket.com,Blooket LLC", "Kahoot!,in review,kahoot.it,"])
    again = import_file(store, f, reason="second load", actor="admin:ann")
    assert again.created == ("kahoot",) and again.updated == ("blooket",)
    cat = load(store).catalog
    assert [p.id for p in cat] == ["quizlet", "blooket", "kahoot"]  # kept, same place, added
    assert cat.by_id("blooket").status is Vetting.APPROVED  # type: ignore[union-attr]
    moves = history(store, "blooket")
    assert [(c.kind, c.actor, c.reason) for c in moves] == [
        ("import", audit.default_actor(), "first load"), ("import", "admin:ann", "second load")]
    assert json.loads(moves[1].before or "")["review"]["status"] == "denied"
    assert audit.verify(store).ok
    # Replace: what the file does not list is deleted (and recorded).
    write_csv(f, ["Kahoot!,in review,kahoot.it,"])
    third = import_file(store, f, reason="only kahoot", replace=True)
    assert set(third.deleted) == {"quizlet", "blooket"} and third.unchanged == ("kahoot",)
    assert [p.id for p in load(store).catalog] == ["kahoot"]
    assert history(store, "quizlet")[-1].kind == "delete"


def test_a_bad_file_changes_nothing(store: Store, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "c.csv", ["Quizlet,approved,quizlet.com,"])
    import_file(store, f, reason="load")
    before = counts(store)
    with pytest.raises(CatalogError, match="nothing was imported") as err:
        import_file(store, DATA / "bad_native.csv", reason="oops")
    assert "bad_native.csv:2: status: unknown vetting status 'aproved'" in str(err.value)
    # A good file whose domain another stored product claims fails as a whole too.
    clash = write_csv(tmp_path / "clash.csv", ["Brainly,approved,brainly.com,",
                                               "Quiz Clone,approved,quizlet.com,"])
    with pytest.raises(CatalogError, match=r"quizlet\.com is already claimed.*nothing was imported"):
        import_file(store, clash, reason="oops")
    assert counts(store) == before
    assert [p.id for p in load(store).catalog] == ["quizlet"]


def test_start_up_imports_the_config_file_only_when_it_changed(
        settings: Settings, store: Store, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "catalog.csv", ["Quizlet,approved,quizlet.com,"])
    cfg = with_catalog(settings, f)
    first = sync_config_catalog(cfg, store)
    assert first is not None and first.created == ("quizlet",) and not first.skipped
    with store.session() as s:
        imp = s.scalars(select(CatalogImport)).one()
    assert imp.actor == "config" and imp.path == str(f.resolve())
    assert history(store, "quizlet")[0].reason == f"catalog file changed: {f}"
    n = counts(store)
    again = sync_config_catalog(cfg, store)
    assert again is not None and again.skipped and counts(store) == n
    # A store-only product (from triage) stays when the file changes ...
    label_new_app(store, "odd-app.example", "Odd App", reason="triage")
    write_csv(f, ["Quizlet,denied,quizlet.com,"])
    ctx = open_context(cfg)
    ctx.store.dispose()
    assert ctx.catalog.by_id("quizlet").status is Vetting.DENIED  # type: ignore[union-attr]
    assert ctx.catalog.by_id("odd-app") is not None
    # ... unless catalog.replace_on_import is set.
    write_csv(f, ["Quizlet,approved,quizlet.com,"])
    ctx = open_context(with_catalog(settings, f, replace=True))
    ctx.store.dispose()
    assert [p.id for p in ctx.catalog] == ["quizlet"]
    assert audit.verify(store).ok


def test_a_bad_config_file_fails_start_up_and_changes_nothing(
        settings: Settings, store: Store, tmp_path: Path) -> None:
    f = write_csv(tmp_path / "catalog.csv", ["Quizlet,approved,quizlet.com,"])
    sync_config_catalog(with_catalog(settings, f), store)
    before = counts(store)
    f.write_text("name,status,domains\nQuizlet,approved,quizlet.com\nBroken,maybe,x.example\n")
    with pytest.raises(CatalogError) as err:
        open_context(with_catalog(settings, f))
    assert f"{f}:3: status: unknown vetting status 'maybe'" in str(err.value)
    assert counts(store) == before
    # Fixed, it is imported at the next start.
    f.write_text("name,status,domains\nQuizlet,approved,quizlet.com\nBroken,denied,x.example\n")
    ctx = open_context(with_catalog(settings, f))
    ctx.store.dispose()
    assert ctx.catalog.by_id("broken") is not None


def test_the_demo_style_config_reads_relative_paths(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "catalog.csv").write_text("name,status,domains\nSeesaw,approved,seesaw.me\n")
    toml = tmp_path / "sentinel.toml"
    toml.write_text(f'[storage]\ndatabase_url = "{db_url}"\ndata_dir = "data"\n'
                    '[catalog]\npath = "catalog.csv"\n')
    ctx = open_context(load_settings(toml, env={}))
    ctx.store.dispose()
    assert [p.name for p in ctx.catalog] == ["Seesaw"]


# -- changes ---------------------------------------------------------------------------


def seed(store: Store) -> None:
    cat = Catalog((Product("quizlet", "Quizlet", domains=("quizlet.com",)),
                   Product("canva", "Canva", domains=("canva.com",),
                           review=Review(Vetting.APPROVED),
                           contract=Contract(ContractType.NDPA))))
    import_catalog(store, cat, reason="seed", path="seed")


def test_set_status_keeps_history_and_an_audit_record(store: Store) -> None:
    seed(store)
    day = dt.date(2026, 12, 1)
    p = set_status(store, "quizlet", "approved with conditions", reason="DPA signed",
                   actor="admin:ann", reviewer="Ann", conditions="No free-text chat",
                   decided=day)
    assert (p.status, p.review.reviewer, p.review.decided) == (
        Vetting.APPROVED_WITH_CONDITIONS, "Ann", day)
    assert load(store).catalog.by_id("quizlet") == p
    last = history(store, "quizlet")[-1]
    assert (last.kind, last.actor, last.reason) == ("set-status", "admin:ann", "DPA signed")
    rec = audit.records(store, limit=1)[0]
    assert rec["seq"] == last.audit_seq and rec["action"] == "catalog.change"
    assert rec["subject"] == "product quizlet" and rec["actor"] == "admin:ann"
    assert rec["payload"]["before"]["review"] == {"status": "requested"}
    assert rec["payload"]["after"]["review"]["conditions"] == "No free-text chat"
    assert audit.verify(store).ok
    before = counts(store)
    for bad in (dict(status="maybe"), dict(status="approved", reason="  ")):
        kwargs = {"reason": "x", **bad}
        with pytest.raises(CatalogError):
            set_status(store, "quizlet", kwargs.pop("status"), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(CatalogError, match="no product with id 'nope'"):
        set_status(store, "nope", "approved", reason="x")
    with pytest.raises(CatalogError, match="nothing to change"):
        set_status(store, "quizlet", "approved_with_conditions", reason="again", decided=day)
    assert counts(store) == before


def test_labels_add_a_domain_create_a_product_or_store_noise(store: Store) -> None:
    seed(store)
    p = label_app(store, "Quizlet.Net.", "quizlet", reason="same vendor")
    assert p.domains == ("quizlet.com", "quizlet.net")
    n = label_new_app(store, "mathfun-unblocked.net", "MathFun", vendor="?", reason="a game")
    assert (n.id, n.status, n.domains) == ("mathfun", Vetting.REQUESTED,
                                          ("mathfun-unblocked.net",))
    assert history(store, "mathfun")[0].kind == "create"
    noise = label_noise(store, "tracker.example", "ads-analytics", reason="ad beacon")
    assert noise.rule == "tracker.example"
    relabel = label_noise(store, "tracker.example", "telemetry", reason="it is telemetry")
    assert relabel.category == "telemetry"
    moves = noise_history(store, "tracker.example")
    assert [(json.loads(m.before) if m.before else None, json.loads(m.after or ""))
            for m in moves] == [(None, {"noise": "ads-analytics"}),
                                ({"noise": "ads-analytics"}, {"noise": "telemetry"})]
    before = counts(store)
    with pytest.raises(CatalogError, match="already claimed"):
        label_app(store, "quizlet.com", "canva", reason="wrong")
    with pytest.raises(CatalogError, match="is a domain of the product 'quizlet'"):
        label_noise(store, "quizlet.net", "cdn", reason="wrong")
    with pytest.raises(CatalogError, match="labelled noise"):
        label_app(store, "tracker.example", "canva", reason="wrong")
    with pytest.raises(CatalogError, match="exists: label with --app quizlet"):
        label_new_app(store, "q2.example", "Quizlet", reason="dup")
    with pytest.raises(CatalogError, match="domain"):
        label_noise(store, "http://x.example/path", "cdn", reason="a URL")
    with pytest.raises(CatalogError, match="noise category"):
        label_noise(store, "y.example", "bad\x1bcat", reason="x")
    assert counts(store) == before
    held = load(store)
    m = Matcher(held.catalog, EMPTY_KB, lists=held.noise_lists())
    assert m.classify("beacon.tracker.example")[:3] == ("noise", "telemetry", "telemetry")
    assert m.classify("www.quizlet.net")[:2] == ("district", "quizlet")
    assert m.classify("play.mathfun-unblocked.net")[:2] == ("district", "mathfun")
    assert audit.verify(store).ok
    with store.session() as s:
        kinds = set(s.scalars(select(CatalogChange.kind)))
    assert kinds <= set(KINDS)
