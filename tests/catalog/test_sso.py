"""SSO app matching: ids, names, precedence, grouping of unknown apps."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog import sso as mod
from catalog.kb import KnowledgeBase, KnownApp, load_knowledge_base
from catalog.model import Catalog, Product
from catalog.sso import AppMatch, AppMatcher, google_project, normalize_app_id, normalize_app_name


def _known(app_id: str, name: str, **sso: tuple[str, ...]) -> KnownApp:
    return KnownApp(app_id, name, "", "other", "", (f"{app_id}.example",), "high", dict(sso))


DISTRICT = Catalog((
    Product("kami", "Kami", sso_ids=("1234567890",)),
    Product("gimkit", "Gimkit", sso_ids=("4242-gimkit.apps.googleusercontent.com",)),
    Product("okta-quizlet", "Quizlet for Schools", sso_ids=("Quizlet SSO",)),
    Product("teams", "Teams Classroom", sso_ids=("1FEC8E78-BCE4-4AAF-AB1B-5451CC387264",)),
    Product("shared-name", "Padlet"),
))
KB = KnowledgeBase((
    _known("kami-kb", "Kami App", google_client_ids=("1234567890-kb.apps.googleusercontent.com",)),
    _known("quizlet", "Quizlet", google_client_ids=("55555-x.apps.googleusercontent.com",),
           names=("Quizlet Learn",)),
    _known("teams-kb", "Microsoft Teams",
           entra_app_ids=("1fec8e78-bce4-4aaf-ab1b-5451cc387264",)),
    _known("padlet-kb", "Padlet", names=("Padlet Inc.",)),
    _known("desmos", "Desmos", google_client_ids=("777777-desmos.apps.googleusercontent.com",)),
    _known("office", "Office", entra_app_ids=("00000006-0000-0ff1-ce00-000000000000",)),
), {})


@pytest.fixture(scope="module")
def matcher() -> AppMatcher:
    return AppMatcher(DISTRICT, KB)


def test_public_names_are_pinned() -> None:
    assert sorted(mod.__all__) == ["AppMatch", "AppMatcher", "MAX_FIELD_LEN", "google_project",
                                   "normalize_app_id", "normalize_app_name"]


@pytest.mark.parametrize(("raw", "expected"), [
    ("Kami", "kami"),
    ("Kami App™", "kami"),
    ("kami, inc.", "kami"),
    ("  KAMI   LLC ", "kami"),
    ("Edpuzzle for Education", "edpuzzle"),
    ("Code.org", "code org"),
    ("Pear Deck® for Google Slides", "pear deck for google slides"),
    ("Nearpod Edu App", "nearpod"),
    ("App", "app"),
    ("Edu App", "edu"),
    ("for education", "for education"),
    ("Ｋａｍｉ", "kami"),  # full-width letters
    ("Straße", "strasse"),
    ("", ""),
    ("\x00\x1b[31m", "31m"),
])
def test_normalize_app_name(raw: str, expected: str) -> None:
    assert normalize_app_name(raw) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_name_normalization_is_idempotent(text: str) -> None:
    once = normalize_app_name(text)
    assert normalize_app_name(once) == once


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_name_normalization_is_idempotent_on_unicode(text: str) -> None:
    once = normalize_app_name(text)
    assert normalize_app_name(once) == once


def test_normalize_app_id_and_project() -> None:
    assert normalize_app_id(" 4242-Gimkit.apps.googleusercontent.com ") == "4242-gimkit"
    assert normalize_app_id("{1FEC8E78-BCE4-4AAF-AB1B-5451CC387264}") == \
        "1fec8e78-bce4-4aaf-ab1b-5451cc387264"
    assert google_project("4242-gimkit") == "4242"
    assert google_project("1234567890") == "1234567890"
    # GUIDs (Entra) and Okta ids never read as a Google project number.
    assert google_project("00000006-0000-0ff1-ce00-000000000000") is None
    assert google_project("0oa1b2c3d4") is None


def test_district_by_id(matcher: AppMatcher) -> None:
    assert matcher.match("4242-gimkit.apps.googleusercontent.com", "Whatever") == \
        AppMatch("district", "gimkit", "Gimkit", "id")
    # The district's GUID is listed in upper case; the log has it in lower case.
    assert matcher.match("1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams") == \
        AppMatch("district", "teams", "Teams Classroom", "id")


def test_google_project_number(matcher: AppMatcher) -> None:
    # The district lists Kami's project number; a client in that project matches it,
    # ahead of the knowledge base's exact client id (district tier first).
    assert matcher.match("1234567890-kb.apps.googleusercontent.com", "Kami") == \
        AppMatch("district", "kami", "Kami", "id")
    assert matcher.match("1234567890-other.apps.googleusercontent.com", "") == \
        AppMatch("district", "kami", "Kami", "id")
    assert matcher.match("4242-web.apps.googleusercontent.com", "")[:2] == ("district", "gimkit")
    assert matcher.match("777777-android.apps.googleusercontent.com", "")[:2] == ("known", "desmos")


def test_exact_client_id_beats_project_number() -> None:
    catalog = Catalog((Product("vendor", "Vendor Suite", sso_ids=("900",)),
                       Product("tool", "Vendor Tool", sso_ids=("900-tool.apps.googleusercontent.com",))))
    m = AppMatcher(catalog, KnowledgeBase((), {}))
    assert m.match("900-tool.apps.googleusercontent.com", "").key == "tool"
    assert m.match("900-other.apps.googleusercontent.com", "").key == "vendor"


def test_guid_ids_need_an_exact_match() -> None:
    catalog = Catalog((Product("office", "Office", sso_ids=("00000006-0000-0ff1-ce00-000000000000",)),))
    m = AppMatcher(catalog, KnowledgeBase((), {}))
    assert m.match("00000006-1111-2222-3333-444444444444", "").kind == "unknown"


def test_okta_app_name_listed_as_district_sso_id(matcher: AppMatcher) -> None:
    assert matcher.match("0oa1abcdEFGH", "Quizlet SSO") == \
        AppMatch("district", "okta-quizlet", "Quizlet for Schools", "id")


def test_known_by_id(matcher: AppMatcher) -> None:
    assert matcher.match("55555-x.apps.googleusercontent.com", "Quizlet") == \
        AppMatch("known", "quizlet", "Quizlet", "id", "other")
    assert matcher.match("00000006-0000-0FF1-CE00-000000000000", None) == \
        AppMatch("known", "office", "Office", "id", "other")


def test_names(matcher: AppMatcher) -> None:
    # District by name beats a known app of the same name.
    padlet = AppMatch("district", "shared-name", "Padlet", "name", "other")
    assert matcher.match("unlisted", "Padlet") == padlet
    assert matcher.match("", "Padlet, Inc.") == padlet
    assert matcher.match("", "quizlet learn") == AppMatch("known", "quizlet", "Quizlet", "name", "other")
    assert matcher.match(None, "Quizlet for Schools") == \
        AppMatch("district", "okta-quizlet", "Quizlet for Schools", "name")


def test_known_id_beats_district_name(matcher: AppMatcher) -> None:
    got = matcher.match("777777-desmos.apps.googleusercontent.com", "Padlet")
    assert got == AppMatch("known", "desmos", "Desmos", "id", "other")


def test_category_comes_with_the_match() -> None:
    kb = KnowledgeBase((
        KnownApp("draw", "Draw Pad", "", "creativity", "", ("drawpad.example",), "low",
                 {"names": ("DrawPad for Schools",)}),
        KnownApp("quiz", "Quiz Bee", "", "assessment", "", ("quizbee.example",), "high"),
    ), {})
    m = AppMatcher(Catalog((
        Product("ours", "Our Drawing Tool", domains=("drawpad.example",)),  # by a shared rule
        Product("bee", "QUIZ-BEE", sso_ids=("42",)),                       # by name
        Product("own", "Own Tool", sso_ids=("7",), category="math"),         # its own wins
        Product("none", "Homegrown", sso_ids=("9",)),                         # nothing to go by
    )), kb)
    assert m.match("", "Our Drawing Tool").category == "creativity"
    assert m.match("42", "").category == "assessment"
    assert m.match("7", "").category == "math"
    assert m.match("9", "").category == ""
    assert m.match("", "DrawPad for Schools") == AppMatch("known", "draw", "Draw Pad", "name",
                                                          "creativity")
    assert m.match("x", "Nobody Knows").category == ""


def test_unknown_apps_group_by_id(matcher: AppMatcher) -> None:
    a = matcher.match("999-abc.apps.googleusercontent.com", "Free Quiz Maker")
    b = matcher.match(" 999-ABC ", "free quiz maker app")
    assert a.kind == b.kind == "unknown" and a.how == "none"
    assert a.key == b.key == "sso:999-abc"
    assert a.name == "Free Quiz Maker"
    assert matcher.match("", "Free Quiz Maker, LLC").key == "sso-name:free quiz maker"
    assert matcher.match(None, None) == AppMatch("unknown", "sso:", "(no app id or name)", "none")
    assert matcher.match("abc", "").name == "abc"
    assert matcher.match("abc", " \t ").name == "abc"
    assert matcher.match("abc", "Free\tQuiz \n Maker").name == "Free Quiz Maker"


def test_hostile_input(matcher: AppMatcher) -> None:
    huge = "x" * 1_000_000
    got = matcher.match(huge, huge)
    assert got.kind == "unknown" and len(got.key) <= mod.MAX_FIELD_LEN + 4
    assert all(len(a) + len(b) <= 2 * mod.MAX_FIELD_LEN for a, b in matcher._cache)
    got = matcher.match("id\x1b[2J", "name\x00\x07")
    assert "\x1b" not in got.key and "\x00" not in got.name and "\x07" not in got.name


def test_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mod, "_CACHE_MAX", 100)
    m = AppMatcher(DISTRICT, KB)
    for i in range(1_000):
        m.match(f"id{i}", f"name {i}")
    assert len(m._cache) <= 100
    assert m.match("4242-gimkit", "").key == "gimkit"


def test_the_shipped_knowledge_base() -> None:
    m = AppMatcher(Catalog(), load_knowledge_base())
    assert m.match("1fec8e78-bce4-4aaf-ab1b-5451cc387264", "") == \
        AppMatch("known", "microsoft-teams", "Microsoft Teams", "id", "productivity")
    assert m.match("", "Flipgrid").key == "flip"
    assert m.match("", "EDPUZZLE").how == "name"


# --- properties ------------------------------------------------------------------------

_NAMES = ["Kami", "Gimkit", "Quizlet for Schools", "Teams Classroom", "Padlet", "Quizlet",
          "Quizlet Learn", "Microsoft Teams", "Desmos", "Office", "Free Quiz Maker"]


def _recase(text: str, flips: list[bool], pad: str) -> str:
    chars = [c.swapcase() if flip else c for c, flip in zip(text, flips, strict=False)]
    chars += list(text[len(chars):])
    return pad + pad.join("".join(chars).split(" ")) + pad


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_NAMES), st.lists(st.booleans(), max_size=30),
       st.sampled_from([" ", "  ", "\t", " \n "]),
       st.sampled_from(["", "unlisted-id", "999-zzz.apps.googleusercontent.com"]))
def test_matching_ignores_case_and_whitespace_of_names(
        name: str, flips: list[bool], pad: str, app_id: str) -> None:
    m = AppMatcher(DISTRICT, KB)
    got, want = m.match(app_id, _recase(name, flips, pad)), m.match(app_id, name)
    assert (got.kind, got.key, got.how) == (want.kind, want.key, want.how)
    if got.kind != "unknown":  # an unknown app is shown as the log spells it
        assert got == want


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40), st.lists(st.booleans(), max_size=40))
def test_unknown_name_keys_ignore_case_and_whitespace(name: str, flips: list[bool]) -> None:
    m = AppMatcher(Catalog(), KnowledgeBase((), {}))
    assert m.match("", _recase(name, flips, " ")).key == m.match("", name).key


_IDS = {"1234567890-x.apps.googleusercontent.com": "kami",
        "4242-gimkit.apps.googleusercontent.com": "gimkit",
        "1fec8e78-bce4-4aaf-ab1b-5451cc387264": "teams",
        "55555-x.apps.googleusercontent.com": "quizlet",
        "777777-desmos.apps.googleusercontent.com": "desmos",
        "00000006-0000-0ff1-ce00-000000000000": "office"}


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(_IDS)), st.one_of(st.sampled_from(_NAMES), st.text(max_size=30)))
def test_id_wins_over_name(app_id: str, name: str) -> None:
    m = AppMatcher(DISTRICT, KB)
    got = m.match(app_id, name)
    assert (got.key, got.how) == (_IDS[app_id], "id")
