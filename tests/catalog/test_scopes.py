"""The shipped OAuth scope-risk table and its classifier."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog import scopes as mod
from catalog.elements import DATA_ELEMENTS
from catalog.errors import CatalogError
from catalog.scopes import (
    LEVELS,
    MAX_SCOPE_LEN,
    classify_scope,
    level_rank,
    load_scope_table,
    summarize,
)

G = "https://www.googleapis.com/auth/"
GRAPH = "https://graph.microsoft.com/"


def test_public_names_are_pinned() -> None:
    assert sorted(mod.__all__) == [
        "LEVELS", "MAX_SCOPE_LEN", "PROVIDERS", "SCOPES_FILE", "ScopeRisk", "ScopeSummary",
        "ScopeTable", "classify_scope", "level_rank", "load_scope_table", "summarize"]


def test_every_entry_and_rule_is_valid() -> None:
    table = load_scope_table()
    assert len(table.entries) > 300
    for entry in table.entries.values():
        assert entry.level in LEVELS, entry
        assert set(entry.elements) <= set(DATA_ELEMENTS), entry
        assert entry.reason and "\n" not in entry.reason, entry
    for rule in table.rules:
        assert rule.level in LEVELS and set(rule.elements) <= set(DATA_ELEMENTS), rule
    by = Counter((e.provider, e.level) for e in table.entries.values())
    for provider in ("google", "microsoft", "okta"):
        for level in LEVELS:
            assert by[provider, level] > 0, (provider, level)


def test_every_entry_classifies_as_itself_in_any_case_and_with_its_prefix() -> None:
    table = load_scope_table()
    for entry in table.entries.values():
        for form in (entry.scope, entry.scope.upper(), entry.scope.lower() + "/"):
            risk = classify_scope(form)
            assert (risk.rule, risk.level, risk.normalized) == (entry.scope, entry.level, entry.scope)
        if entry.provider == "google" and "/" not in entry.scope:
            assert classify_scope(G + entry.scope).rule == entry.scope
        if entry.provider == "microsoft":
            assert classify_scope(GRAPH + entry.scope).rule == entry.scope


@pytest.mark.parametrize(("scope", "level"), [
    # The examples.
    (G + "drive", "high"),
    (G + "gmail.readonly", "high"),
    ("https://mail.google.com/", "high"),
    (G + "classroom.rosters", "high"),
    (G + "classroom.coursework.students", "high"),
    (G + "classroom.courses.readonly", "medium"),
    (G + "calendar", "medium"),
    ("openid", "low"),
    ("email", "low"),
    ("profile", "low"),
    (G + "userinfo.email", "low"),
    (G + "userinfo.profile", "low"),
    (G + "admin.directory.user.readonly", "high"),
    ("Files.ReadWrite.All", "high"),
    ("Mail.Read", "high"),
    ("User.Read.All", "high"),
    ("User.Read", "low"),
    # Judgement calls recorded in the table.
    (G + "drive.file", "medium"),
    (G + "drive.appdata", "low"),
    (G + "classroom.rosters.readonly", "high"),
    (G + "classroom.coursework.students.readonly", "high"),
    (G + "classroom.coursework.me", "high"),
    (G + "classroom.coursework.me.readonly", "medium"),
    ("Files.ReadWrite.AppFolder", "low"),
    ("EduAssignments.ReadBasic", "medium"),
    ("okta.users.read", "high"),
    ("okta.myAccount.profile.read", "low"),
    ("groups", "medium"),
    ("offline_access", "low"),
])
def test_named_examples(scope: str, level: str) -> None:
    assert classify_scope(scope).level == level


def test_elements_use_the_shared_vocabulary() -> None:
    assert classify_scope(G + "drive").elements == ("files",)
    assert classify_scope("Mail.Read").elements == ("mail",)
    assert classify_scope(G + "classroom.coursework.students").elements == ("coursework", "grades")
    assert classify_scope("email").elements == ("email_address",)
    assert classify_scope(G + "drive.appdata").elements == ()


@pytest.mark.parametrize(("raw", "normalized"), [
    (G + "drive", "drive"),
    ("  " + G + "drive/ ", "drive"),
    ("HTTPS://WWW.GOOGLEAPIS.COM/auth/drive.readonly", "drive.readonly"),
    ("https://mail.google.com", "https://mail.google.com/"),
    ("https://mail.google.com//", "https://mail.google.com/"),
    (GRAPH + "Files.ReadWrite.All", "Files.ReadWrite.All"),
    ("files.readwrite.all", "Files.ReadWrite.All"),
    ("00000003-0000-0000-c000-000000000000/Mail.Read", "Mail.Read"),
    ("https://outlook.office.com/EWS.AccessAsUser.All", "EWS.AccessAsUser.All"),
    (GRAPH + ".default", ".default"),
    ("OKTA.USERS.READ", "okta.users.read"),
])
def test_normalization(raw: str, normalized: str) -> None:
    risk = classify_scope(raw)
    assert risk.normalized == normalized
    assert risk.level != "unknown"
    assert risk.scope == raw


def test_a_bare_prefix_is_not_stripped_to_nothing() -> None:
    assert classify_scope(G).level == "unknown"
    assert classify_scope(GRAPH).normalized == GRAPH.rstrip("/")


def test_rules_apply_when_no_entry_matches() -> None:
    risk = classify_scope("Widgets.ReadWrite.All")
    assert (risk.level, risk.rule, risk.provider, risk.elements) == (
        "high", "*.ReadWrite.All", "microsoft", ())
    assert classify_scope("Widgets.Read.All").level == "high"
    assert classify_scope("Widgets.ReadBasic.All").level == "medium"
    # Every matching rule contributes: the level of the highest, all their elements.
    risk = classify_scope("EduRoster.Write.All")
    assert risk.level == "high" and risk.elements == ("identity", "roster")
    assert classify_scope(G + "admin.directory.something.new").level == "high"
    assert classify_scope(G + "gmail.something.new").elements == ("mail",)
    assert classify_scope("okta.brands.read").level == "high"
    assert classify_scope(GRAPH + "Chat.Something").elements == ("chat",)


def test_explicit_entries_win_over_rules() -> None:
    # Files.* is high and *.All medium, but these entries say otherwise.
    assert classify_scope("Files.ReadWrite.AppFolder").level == "low"
    assert classify_scope("Team.ReadBasic.All").level == "medium"
    assert classify_scope("Calendars.ReadWrite").level == "medium"


def test_a_prefix_limits_lookup_to_its_provider() -> None:
    # A Google-prefixed name is not a Microsoft permission, nor matched by its rules.
    assert classify_scope(G + "User.Read").level == "unknown"
    assert classify_scope(G + "Widgets.ReadWrite.All").level == "unknown"
    # The shared OpenID Connect scopes apply under any prefix.
    assert classify_scope(GRAPH + "openid").level == "low"


def test_unknown_scopes() -> None:
    risk = classify_scope("https://example.com/auth/whatever")
    assert (risk.level, risk.reason, risk.elements, risk.rule, risk.provider) == (
        "unknown", "not in the scope table", (), "", "")
    assert risk.normalized == "https://example.com/auth/whatever"
    assert classify_scope("").level == "unknown"
    assert level_rank("unknown") == level_rank("medium")


def test_hostile_scopes() -> None:
    long = "drive" + "x" * 10_000
    risk = classify_scope(long)
    assert risk.level == "unknown" and "longer than" in risk.reason
    assert len(risk.scope) == len(risk.normalized) == MAX_SCOPE_LEN
    risk = classify_scope("\x1b[2Jdrive\x00")
    assert risk.level == "unknown"
    assert "\x1b" not in risk.scope and "\x00" not in risk.normalized
    assert classify_scope(123).level == "unknown"  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_classify_never_raises(text: str) -> None:
    risk = classify_scope(text)
    assert risk.level in (*LEVELS, "unknown")
    assert len(risk.normalized) <= MAX_SCOPE_LEN
    assert not any(ord(c) < 32 for c in risk.normalized + risk.scope)
    assert set(risk.elements) <= set(DATA_ELEMENTS)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(e.scope for e in load_scope_table().entries.values())),
       st.sampled_from(["", " ", "\t"]), st.booleans())
def test_classification_ignores_case_padding_and_trailing_slash(
        scope: str, pad: str, upper: bool) -> None:
    variant = pad + (scope.upper() if upper else scope) + "/" + pad
    assert classify_scope(variant).rule == classify_scope(scope).rule == scope


def test_summarize() -> None:
    s = summarize(["openid", G + "userinfo.email", G + "drive", G + "calendar.readonly",
                   "Mail.Read", "unheard.of"])
    assert s.level == "high"
    assert s.elements == ("identity", "email_address", "files", "mail", "calendar")
    assert s.high == ("Mail.Read", "drive")
    assert s.unknown == ("unheard.of",)
    assert summarize([]).level == "low"
    assert summarize(["openid", "unheard.of"]).level == "unknown"
    assert summarize(["unheard.of", G + "calendar"]).level == "medium"
    assert summarize([G + "calendar", "unheard.of"]).level == "medium"
    # One OAuth scope parameter, space-separated, is split rather than read per character.
    assert summarize("openid email " + G + "drive").high == ("drive",)


def test_summarize_a_huge_hostile_list() -> None:
    scopes = [f"{G}x{i}\x00" for i in range(10_000)] + ["z" * 100_000] * 100
    scopes += [G + "drive"] * 5_000 + ["openid"]
    s = summarize(scopes)
    assert s.level == "high" and s.high == ("drive",)
    assert len(s.unknown) == 10_001
    info = mod._classify_default.cache_info()
    assert info.maxsize is not None and info.currsize <= info.maxsize


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "scopes.yaml"
    path.write_text("prefixes:\n  google: [https://www.googleapis.com/auth/]\n" + body,
                    encoding="utf-8")
    return path


GOOD = "  - {scope: drive, provider: google, level: high, elements: [files], reason: r}\n"


@pytest.mark.parametrize(("body", "message"), [
    ("scopes:\n  - {scope: drive, provider: google, level: hihg, elements: [files], reason: r}\n",
     "scopes[1] 'drive': level: unknown 'hihg'"),
    ("scopes:\n  - {scope: drive, provider: google, level: high, elements: [filez], reason: r}\n",
     "scopes[1] 'drive': unknown data element 'filez'"),
    ("scopes:\n" + GOOD + "  - {scope: DRIVE, provider: google, level: low, elements: [], reason: r}\n",
     "scopes[2] 'DRIVE': already listed as scopes.yaml: scopes[1] 'drive'"),
    ("scopes:\n" + GOOD + "  - {scope: 'https://www.googleapis.com/auth/drive', provider: google,"
     " level: low, elements: [], reason: r}\n", "scopes[2]"),
    ("scopes:\n  - {scope: drive, provider: google, level: high, elements: [files]}\n",
     "scopes[1] 'drive': reason: missing"),
    ("scopes:\n  - {scope: drive, provider: gogle, level: high, elements: [files], reason: r}\n",
     "scopes[1] 'drive': provider: unknown 'gogle'"),
    ("scopes:\n  - {scope: drive, provider: google, level: high, elemnts: [files], reason: r}\n",
     "scopes[1] 'drive': unknown key 'elemnts'"),
    ("scopes:\n  - {scope: 'https://www.googleapis.com/auth/x', provider: okta, level: high,"
     " reason: r}\n", "provider: the prefix says 'google'"),
    ("scopes:\n  - {scope: 'two words', provider: google, level: high, reason: r}\n",
     "scopes[1] 'two words': scope: no spaces"),
    ("scopes:\n" + GOOD + "rules:\n  - {pattern: Files.Read, provider: microsoft, level: high,"
     " reason: r}\n", "rules[1] 'Files.Read': pattern: needs a '*'"),
    ("scopes:\n" + GOOD + "rules:\n  - {pattern: 'x.*', provider: microsoft, level: high,"
     " elements: [nope], reason: r}\n", "rules[1] 'x.*': unknown data element 'nope'"),
    ("scopes: []\n", "scopes: expected a non-empty list"),
    ("version: 2\nscopes:\n" + GOOD, "version: 2 is not supported"),
    ("scopes:\n  - just a string\n", "scopes[1]: expected a mapping"),
])
def test_validation_names_the_entry(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(CatalogError) as err:
        load_scope_table(_write(tmp_path, body))
    assert message in str(err.value)
    assert "scopes.yaml" in str(err.value)


def test_a_custom_table_classifies_on_its_own(tmp_path: Path) -> None:
    table = load_scope_table(_write(tmp_path, "scopes:\n" + GOOD))
    assert table.classify(G + "drive").level == "high"
    assert table.classify("gmail.readonly").level == "unknown"
    assert summarize([G + "drive"], table).elements == ("files",)


def test_unreadable_table(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"missing\.yaml"):
        load_scope_table(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("scopes: [", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"bad\.yaml"):
        load_scope_table(bad)
