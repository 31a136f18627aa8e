"""The host matcher: precedence, rule forms, platform suffixes, normalization,
admin lists, and the suffix list held equal to tldextract."""

from __future__ import annotations

import os
import re
import string
from pathlib import Path

import idna
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from catalog.errors import CatalogError
from catalog.kb import HostList, KnowledgeBase, KnownApp, load_host_list, load_knowledge_base, search
from catalog.match import Match, Matcher, registered_domain
from catalog.model import Catalog, Product
from catalog.suffixes import SuffixList, bundled, snapshot_path

KINDS = {"district", "known", "noise", "ip", "unknown", "invalid"}


def app(app_id: str, *domains: str, category: str = "other") -> KnownApp:
    return KnownApp(app_id, app_id.title(), "Vendor", category, "", domains, "high")


# A small world in which every precedence step can be seen.
CATALOG = Catalog((
    Product("district-quiz", "Quiz (district)", domains=("quiz.example",), category="assessment"),
    Product("district-portal", "Portal", domains=("=portal.shared.example",)),
    Product("district-wild", "Wild", domains=("*.wild.example",)),
))
KB = KnowledgeBase(
    (
        app("quiz-kb", "quiz.example", "www.quiz.example"),
        app("shared-root", "shared.example"),
        app("shared-docs", "docs.shared.example"),
        app("shared-exact", "=app.shared.example"),
        app("shared-wild", "*.cdn.shared.example"),
        app("shared-cdn", "cdn.shared.example"),
        app("wild-kb", "wild.example"),
        app("noisy-app", "app.noisy.example"),
    ),
    {"noisy.example": "cdn", "fonts.example": "fonts", "github.io": "cloud-hosting",
     "co.uk": "cdn", "*.cdn-edge.example": "cdn"},
)


@pytest.fixture(scope="module")
def m() -> Matcher:
    return Matcher(CATALOG, KB, district_domains=("district.example", "=lonely.example"))


def kind_key(match: Match) -> tuple[str, str]:
    return match.kind, match.key


# --- precedence ---------------------------------------------------------------------

@pytest.mark.parametrize(("host", "expected", "rule"), [
    # 1. the district catalog beats a knowledge-base app, even a longer rule of it
    ("quiz.example", ("district", "district-quiz"), "quiz.example"),
    ("www.quiz.example", ("district", "district-quiz"), "quiz.example"),
    # 2. a known app beats noise, even a shorter rule of it
    ("app.noisy.example", ("known", "noisy-app"), "app.noisy.example"),
    ("x.app.noisy.example", ("known", "noisy-app"), "app.noisy.example"),
    # 3. noise beats unknown
    ("cdn1.noisy.example", ("noise", "cdn"), "noisy.example"),
    ("fonts.example", ("noise", "fonts"), "fonts.example"),
    # 4. otherwise the registered domain
    ("a.b.nothing.example", ("unknown", "a.b.nothing.example"), "registered domain"),
    ("www.nothing.co.uk", ("unknown", "nothing.co.uk"), "registered domain"),
])
def test_tiers(m: Matcher, host: str, expected: tuple[str, str], rule: str) -> None:
    got = m.classify(host)
    assert kind_key(got) == expected
    assert got.rule == rule


@pytest.mark.parametrize(("host", "expected"), [
    ("shared.example", "shared-root"),
    ("www.shared.example", "shared-root"),
    ("docs.shared.example", "shared-docs"),          # longest rule wins
    ("a.docs.shared.example", "shared-docs"),
    ("app.shared.example", "shared-exact"),          # exact rule: that host...
    ("x.app.shared.example", "shared-root"),         # ...only
    ("cdn.shared.example", "shared-cdn"),            # a wildcard does not cover its apex
    ("a.cdn.shared.example", "shared-wild"),         # and beats a plain rule of equal length
    ("a.b.cdn.shared.example", "shared-wild"),
])
def test_longest_rule_wins_and_rule_forms(m: Matcher, host: str, expected: str) -> None:
    assert kind_key(m.classify(host)) == ("known", expected)


def test_district_rule_forms(m: Matcher) -> None:
    # =portal.shared.example is the district's; its sub-domains fall to the KB.
    assert kind_key(m.classify("portal.shared.example")) == ("district", "district-portal")
    assert kind_key(m.classify("x.portal.shared.example")) == ("known", "shared-root")
    # *.wild.example is the district's, the apex is the KB's.
    assert kind_key(m.classify("a.wild.example")) == ("district", "district-wild")
    assert kind_key(m.classify("wild.example")) == ("known", "wild-kb")


def test_district_domains_are_noise(m: Matcher) -> None:
    got = m.classify("dc1.ad.district.example")
    assert got == Match("noise", "district", "district", "district", "district.example")
    assert m.classify("lonely.example").category == "district"
    assert m.classify("www.lonely.example").kind == "unknown"


def test_same_rule_district_beats_kb() -> None:
    kb = KnowledgeBase((app("quizlet-kb", "quizlet.com"),), {"quizlet.com": "cdn"})
    cat = Catalog((Product("quizlet", "Quizlet", domains=("quizlet.com",)),))
    assert kind_key(Matcher(cat, kb).classify("quizlet.com")) == ("district", "quizlet")
    assert kind_key(Matcher(Catalog(), kb).classify("quizlet.com")) == ("known", "quizlet-kb")


def test_explain_lists_the_rules_beaten(m: Matcher) -> None:
    ex = m.explain("WWW.Quiz.Example.")
    assert ex.host == "www.quiz.example"
    assert kind_key(ex.match) == ("district", "district-quiz")
    assert [(o.key, o.rule) for o in ex.overridden] == [("quiz-kb", "www.quiz.example"),
                                                        ("quiz-kb", "quiz.example")]
    assert ex.registered_domain == ""  # .example is no listed top-level domain
    assert m.explain("www.shop.co.uk").registered_domain == "shop.co.uk"


# --- platform (private) suffixes ----------------------------------------------------

def test_platform_suffix_rule_does_not_swallow_its_sites(m: Matcher) -> None:
    # The KB lists github.io as noise: only github.io itself is noise.
    assert kind_key(m.classify("github.io")) == ("noise", "cloud-hosting")
    assert kind_key(m.classify("someone.github.io")) == ("unknown", "someone.github.io")
    assert kind_key(m.classify("www.someone.github.io")) == ("unknown", "someone.github.io")
    ex = m.explain("www.someone.github.io")
    assert [c.rule for c in ex.confined] == ["github.io"]
    assert ex.private_suffix and ex.public_suffix == "github.io"
    # An ICANN suffix is confined the same way.
    assert kind_key(m.classify("bbc.co.uk")) == ("unknown", "bbc.co.uk")


def test_platform_site_listed_by_name_matches() -> None:
    kb = KnowledgeBase((app("pages", "github.io"),), {})
    cat = Catalog((Product("me", "My site", domains=("me.github.io",)),))
    matcher = Matcher(cat, kb)
    assert kind_key(matcher.classify("me.github.io")) == ("district", "me")
    assert kind_key(matcher.classify("docs.me.github.io")) == ("district", "me")
    assert kind_key(matcher.classify("you.github.io")) == ("unknown", "you.github.io")


def test_wildcard_claims_every_host_under_a_platform_suffix(m: Matcher) -> None:
    # *.cdn-edge.example is not a PSL suffix, so test the real one in the shipped KB.
    real = Matcher(Catalog(), load_knowledge_base())
    assert kind_key(real.classify("d3c33hcgiwev3.cloudfront.net")) == ("noise", "cdn")
    assert real.classify("d3c33hcgiwev3.cloudfront.net").rule == "*.cloudfront.net"
    assert kind_key(m.classify("a.cdn-edge.example")) == ("noise", "cdn")


@pytest.mark.parametrize(("host", "expected"), [
    ("me.github.io", ("unknown", "me.github.io")),
    ("a.b.blogspot.com", ("unknown", "b.blogspot.com")),
    ("my-app.web.app", ("unknown", "my-app.web.app")),
    ("api.demo.herokuapp.com", ("unknown", "demo.herokuapp.com")),
    ("x.vercel.app", ("unknown", "x.vercel.app")),
    ("blogspot.com", ("known", "blogger")),              # the platform itself
    ("www.blogger.com", ("known", "blogger")),
    ("classroom.google.com", ("known", "google-classroom")),
    ("fonts.googleapis.com", ("noise", "fonts")),
])
def test_shipped_knowledge_base(host: str, expected: tuple[str, str]) -> None:
    matcher = Matcher(Catalog(), load_knowledge_base())
    assert kind_key(matcher.classify(host)) == expected


# --- IP literals, local names, invalid text ------------------------------------------

@pytest.mark.parametrize(("raw", "key"), [
    ("10.0.0.1", "10.0.0.1"),
    ("[2001:DB8::1]", "2001:db8::1"),
    ("2001:db8:0:0::1", "2001:db8::1"),
    ("fe80::1%eth0", "fe80::1"),
    ("::ffff:10.0.0.1", "::ffff:a00:1"),
])
def test_ip_literals(m: Matcher, raw: str, key: str) -> None:
    assert kind_key(m.classify(raw)) == ("ip", key)


def test_dotted_numbers_that_are_no_address_are_names(m: Matcher) -> None:
    assert m.classify("999.1.1.1").kind == "unknown"


@pytest.mark.parametrize(("host", "key"), [
    ("printer", "local"), ("nas.home.arpa", "local"), ("dc1.corp", "local"),
    ("wpad.example.org", "local"), ("fileserver.local.", "local"),
    ("4.3.2.10.in-addr.arpa", "reverse-lookup"), ("b.a.ip6.arpa", "reverse-lookup"),
])
def test_local_and_reverse_names_are_noise(m: Matcher, host: str, key: str) -> None:
    assert kind_key(m.classify(host)) == ("noise", key)


@pytest.mark.parametrize("raw", ["", " ", "a..b", "exa mple.com", "x" * 300 + ".com",
                                 "evil\x1b[31m.com", "a/b.com"])
def test_invalid_text_is_kind_invalid(m: Matcher, raw: str) -> None:
    got = m.classify(raw)
    assert got.kind == "invalid" and got.rule


def test_cache_is_a_dict_of_unique_hosts(m: Matcher) -> None:
    first = m.classify("cache-me.nothing.example")
    assert m.classify("cache-me.nothing.example") is first
    assert m._cache["cache-me.nothing.example"] is first


# --- normalization properties ---------------------------------------------------------

LABEL = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10)
UNI_LABEL = st.text("abcxyzäöüßéñçøåłžяжш漢字", min_size=1, max_size=8)
RULE_HOSTS = sorted({r.lstrip("=*.") for a in KB.apps for r in a.domains} | {
    r.lstrip("=*.") for r in KB.noise} | {"quiz.example", "portal.shared.example",
                                           "wild.example", "district.example"})
HOSTS = st.builds(lambda subs, base: ".".join([*subs, base]),
                  st.lists(LABEL, max_size=3),
                  st.sampled_from([*RULE_HOSTS, "nothing.example", "co.uk", "github.io", "com"]))


@settings(max_examples=200, deadline=None)
@given(HOSTS, st.randoms())
def test_case_and_trailing_dot_do_not_matter(m: Matcher, host: str, rnd: object) -> None:
    import random
    assert isinstance(rnd, random.Random)
    mixed = "".join(c.upper() if rnd.random() < 0.5 else c for c in host)
    assert m.classify(mixed) == m.classify(host) == m.classify(host + ".")


@settings(max_examples=150, deadline=None)
@given(st.lists(UNI_LABEL, min_size=1, max_size=3),
       st.sampled_from(["example", "quiz.example", "shared.example", "co.uk", "github.io",
                        "рф", "中国"]))
@example(["bücher"], "example")
def test_unicode_and_punycode_spellings_match_alike(m: Matcher, labels: list[str],
                                                     base: str) -> None:
    uni = ".".join([*labels, base])
    try:
        puny = idna.encode(uni, uts46=True).decode("ascii")
    except idna.IDNAError:
        assert m.classify(uni).kind == "invalid"
        return
    assert m.classify(uni) == m.classify(puny) == m.classify(puny.upper() + ".")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
@example("[::1]")
@example("xn--")
@example("xn--zz.com")
@example("..")
@example("\u3002")
def test_arbitrary_text_never_raises(m: Matcher, text: str) -> None:
    got = m.classify(text)
    assert got.kind in KINDS
    assert m.explain(text).match == got


# --- the suffix list, held equal to tldextract ----------------------------------------

@pytest.fixture(scope="module")
def tld() -> object:
    import tldextract
    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(),
                                 include_psl_private_domains=True)


def _tld_registered(tld: object, host: str) -> str:
    ext = tld(host)  # type: ignore[operator]
    return f"{ext.domain}.{ext.suffix}" if ext.domain and ext.suffix else ""


def _psl_rules() -> list[str]:
    from tldextract.suffix_list import extract_tlds_from_suffix_list
    public, private = extract_tlds_from_suffix_list(snapshot_path().read_text(encoding="utf-8"))
    return public + private


def _host_under(rule: str, prefix: str) -> str | None:
    rule = rule.lstrip("!").replace("*", "wild")
    try:
        return idna.encode(f"{prefix}.{rule}", uts46=True).decode("ascii")
    except idna.IDNAError:
        return None  # no normalized host can spell it


def test_every_rule_of_the_list_agrees_with_tldextract(tld: object) -> None:
    psl = bundled()
    checked = 0
    for rule in _psl_rules():
        for prefix in ("a", "b.a"):
            host = _host_under(rule, prefix)
            if host is None:
                continue
            assert psl.registered_domain(host) == _tld_registered(tld, host), host
            checked += 1
        host = _host_under(rule, "x")
        if host is not None:
            apex = host.split(".", 1)[1]
            assert psl.registered_domain(apex) == _tld_registered(tld, apex), apex
    assert checked > 15_000


PSL_RULES = _psl_rules()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(LABEL, UNI_LABEL, st.sampled_from(["www", "city", "wild", "s3"])),
                max_size=3),
       st.sampled_from(PSL_RULES), st.booleans())
def test_registered_domain_equals_tldextract(tld: object, labels: list[str], rule: str,
                                             bare: bool) -> None:
    text = ".".join([*labels, rule.lstrip("!").replace("*", "wild")]) if not bare else \
        rule.lstrip("!").replace("*", "wild")
    try:
        host = idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError:
        return
    assert bundled().registered_domain(host) == _tld_registered(tld, host)


def test_registered_domain_helper() -> None:
    assert registered_domain("WWW.BBC.co.uk.") == "bbc.co.uk"
    assert registered_domain("a.me.github.io") == "me.github.io"
    assert registered_domain("github.io") == "github.io"       # a suffix: itself
    assert registered_domain("host.notatld") == "host.notatld"  # unlisted TLD: itself


def test_suffix_list_wildcards_and_exceptions() -> None:
    psl = SuffixList(["ck", "*.ck", "!www.ck", "uk", "co.uk"], ["github.io"])
    assert psl.registered_domain("a.b.ck") == "a.b.ck"
    assert psl.registered_domain("www.ck") == "www.ck"
    assert psl.registered_domain("x.www.ck") == "www.ck"
    assert psl.is_suffix("b.ck") and psl.is_suffix("co.uk") and psl.is_suffix("github.io")
    assert not psl.is_suffix("www.ck")
    assert psl.is_private("me.github.io") and not psl.is_private("bbc.co.uk")


# --- the knowledge base ------------------------------------------------------------------

def _write_kb(root: Path, apps: str, noise: str = "category: cdn\ndomains: []\n") -> Path:
    (root / "apps").mkdir(parents=True)
    (root / "noise").mkdir()
    (root / "apps" / "a.yaml").write_text(apps, encoding="utf-8")
    (root / "noise" / "cdn.yaml").write_text(noise, encoding="utf-8")
    return root


APP_YAML = """apps:
- id: one
  name: One
  category: other
  student_data_risk: low
  domains: [{domains}]
"""


def test_kb_rules_are_canonical(tmp_path: Path) -> None:
    root = _write_kb(tmp_path, APP_YAML.format(domains='"Bücher.Example.", "=WWW.x.example", '
                                                      '"*.cdn.x.example"'),
                     'category: cdn\ndomains: ["*.edge.example", edge.example]\n')
    kb = load_knowledge_base(root)
    assert kb.apps[0].domains == ("xn--bcher-kva.example", "=www.x.example", "*.cdn.x.example")
    assert kb.noise == {"*.edge.example": "cdn", "edge.example": "cdn"}


@pytest.mark.parametrize(("apps", "noise", "message"), [
    (APP_YAML.format(domains='"http://x.example/a"'), "category: cdn\n", "a.yaml: app 1: domains"),
    (APP_YAML.format(domains='"a*.example"'), "category: cdn\n", "'*' is allowed only"),
    (APP_YAML.format(domains="x.example, X.example."), "category: cdn\n", "listed twice"),
    (APP_YAML.format(domains="x.example"), "category: cdn\ndomains: [x.example]\n",
     "cdn.yaml: domain 'x.example' already listed in a.yaml: app 1 (one)"),
])
def test_kb_errors_name_file_entry_and_reason(tmp_path: Path, apps: str, noise: str,
                                              message: str) -> None:
    with pytest.raises(CatalogError, match=re.escape(message)):
        load_knowledge_base(_write_kb(tmp_path, apps, noise))


def test_shipped_kb_loads_with_its_wildcards() -> None:
    kb = load_knowledge_base()
    assert len(kb.apps) >= 400 and len(kb.noise) >= 1500
    assert kb.noise["*.cloudfront.net"] == "cdn"


def test_search(tmp_path: Path) -> None:
    kb = load_knowledge_base()
    apps, listed = search(kb, "QUIZLET")
    assert "quizlet" in [a.id for a in apps] and not listed
    apps, listed = search(kb, "Quizlet Inc")          # vendor
    assert [a.id for a in apps] == ["quizlet"]
    apps, listed = search(kb, "cloudfront")
    assert {x.rule for x in listed} == {"cloudfront.net", "*.cloudfront.net"}
    # apps may name their own distributions (exact rules), never the whole CDN
    assert all(d.startswith("=") for a in apps for d in a.domains if "cloudfront.net" in d)
    kb2 = KnowledgeBase((app("buch", "xn--bcher-kva.example"),), {})
    assert [a.id for a in search(kb2, "bücher")[0]] == ["buch"]  # Unicode finds punycode
    hl = HostList("blocked", "noise", ("ads.example",), "x")
    assert [(x.kind, x.category) for x in search(kb2, "ads.", (hl,))[1]] == [("noise", "blocked")]
    assert search(kb2, "   ") == ([], [])


# --- admin lists -----------------------------------------------------------------------

HOSTS_FILE = """\ufeff# A blocklist
127.0.0.1 localhost localhost.localdomain
::1 ip6-localhost ip6-loopback
0.0.0.0 0.0.0.0
0.0.0.0 ads.tracker.example   # inline comment
0.0.0.0 a.example b.example
127.0.0.1\tTabbed.Example.
0.0.0.0 bad..name.example
not-an-address host.example
0.0.0.0 10.1.2.3 router
0.0.0.0 another.example
"""


def test_hosts_file(tmp_path: Path) -> None:
    p = tmp_path / "block.hosts"
    p.write_text(HOSTS_FILE, encoding="utf-8")
    hl = load_host_list(p, "blocklist", "noise", "hosts")
    assert hl.rules == ("ads.tracker.example", "a.example", "b.example", "tabbed.example",
                        "another.example")
    assert hl.skipped == 3 and [n for n, _ in hl.samples] == [8, 9, 10]
    assert "too broad" in hl.samples[2][1]


def test_domain_list(tmp_path: Path) -> None:
    p = tmp_path / "apps.txt"
    p.write_text("# games\ncoolmath.example\n=play.games.example\n*.io-games.example\n\n"
                 "two words.example\n10.0.0.1\n.Dot.Example\ncoolmath.example\n",
                 encoding="utf-8")
    hl = load_host_list(p, "games", "app", "domains")
    assert hl.rules == ("coolmath.example", "=play.games.example", "*.io-games.example",
                        "dot.example")
    assert hl.skipped == 2


@pytest.mark.parametrize(("text", "fmt", "message"), [
    ("0.0.0.0 a.example\n0.0.0.0 b.example\n", "domains", "not a domain list: 0 entries"),
    ("a.example\nb.example\n", "hosts", "not a hosts file"),
    ("# only comments\n", "domains", "0 entries"),
    ("a.example\nb c\nd e\n", "domains", "1 entries, 2 bad lines; line 2"),
])
def test_list_that_is_mostly_not_a_list_is_refused(tmp_path: Path, text: str, fmt: str,
                                                   message: str) -> None:
    p = tmp_path / "l.txt"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match=message):
        load_host_list(p, "l", "noise", fmt)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=30), HOSTS, st.from_regex(r"[0-9a-f:.]{1,20}", fullmatch=True)))
@example("10.0.0.1")
@example("::1")
@example("router")
@example("999.1.1.1")
def test_list_names_read_as_rules(name: str) -> None:
    from catalog.kb import _plain_rule, rule_text

    if not name[:1].isalnum():
        return
    try:
        want: str | None = rule_text(name)
    except ValueError:
        want = None
    try:
        got: str | None = _plain_rule(name)
    except ValueError:
        got = None
    assert got == want


def test_missing_list_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        load_host_list(tmp_path / "nope.txt", "l", "noise")


def test_list_is_read_again_when_it_changes(tmp_path: Path) -> None:
    p = tmp_path / "l.txt"
    p.write_text("a.example\n", encoding="utf-8")
    assert load_host_list(p, "l", "noise").rules == ("a.example",)
    assert load_host_list(p, "l", "noise") is load_host_list(p, "l", "noise")
    p.write_text("b.example\nc.example\n", encoding="utf-8")
    os.utime(p, ns=(p.stat().st_mtime_ns + 10**9,) * 2)
    assert load_host_list(p, "l", "noise").rules == ("b.example", "c.example")


def test_admin_lists_in_the_matcher() -> None:
    kb = KnowledgeBase((app("quizlet", "quizlet.example"),),
                       {"ads.example": "ads-analytics", "tracker.example": "ads-analytics"})
    noise = HostList("district-block", "noise", ("ads.example", "quizlet.example",
                                                 "other-ads.example"), "block.hosts")
    games = HostList("games", "app", ("coolmath.example", "=play.example",
                                      "quizlet.example"), "games.txt")
    matcher = Matcher(Catalog(), kb, lists=(noise, games))
    # noise from a list shows as its name, and beats KB noise at the same rule
    assert matcher.classify("x.ads.example") == Match(
        "noise", "district-block", "district-block", "district-block", "ads.example")
    assert kind_key(matcher.classify("other-ads.example")) == ("noise", "district-block")
    assert kind_key(matcher.classify("tracker.example")) == ("noise", "ads-analytics")
    # each entry of an app list is an app in the list's category; at the same rule it
    # beats the KB app, and an app beats list noise
    assert matcher.classify("www.coolmath.example") == Match(
        "known", "coolmath.example", "coolmath.example", "games", "coolmath.example")
    assert kind_key(matcher.classify("play.example")) == ("known", "play.example")
    assert matcher.classify("www.play.example").kind == "unknown"
    assert kind_key(matcher.classify("quizlet.example")) == ("known", "quizlet.example")


def test_matcher_refuses_a_bad_district_domain() -> None:
    with pytest.raises(CatalogError, match=re.escape("district.domains: domain 'not a domain'")):
        Matcher(Catalog(), KB, district_domains=("not a domain",))


# --- brands on shared infrastructure -------------------------------------------------

BRAND_KB = KnowledgeBase(
    (
        app("reddit", "reddit.com", "redditmedia.com"),
        app("roblox", "roblox.com", "rbxcdn.com"),
        app("quizlet-a", "quizlet.com"),
        app("quizlet-b", "quizlet.net"),              # two apps claim "quizlet": no brand
        app("media-app", "media.com"),                 # a generic word: no brand
        app("zoomy", "zoom.us"),                        # "zoom" is too short
        app("docs-only", "=docs.example.org"),         # an exact host owns no brand
        app("akamai-fan", "akamaifan.com", "akamai.com"),  # a noise domain's label
        app("scrib", "scrib.org"),
    ),
    {"amazonaws.com": "cloud-hosting", "*.cloudfront.net": "cdn", "cloudfront.net": "cdn",
     "herokuapp.com": "cloud-hosting", "akamai.net": "cdn", "fonts.example": "fonts",
     "telemetry.example": "telemetry"},
)


@pytest.fixture(scope="module")
def bm() -> Matcher:
    cat = Catalog((Product("scribbles", "Scribbles (district)", domains=("scrib.net",)),))
    return Matcher(cat, BRAND_KB)


@pytest.mark.parametrize(("host", "expected", "rule"), [
    ("reddit-uploaded-media.s3-accelerate.amazonaws.com", ("known", "reddit"),
     "brand 'reddit' on amazonaws.com"),
    ("roblox_assets.cloudfront.net", ("known", "roblox"), "brand 'roblox' on *.cloudfront.net"),
    ("cdn.redditmedia.s3.amazonaws.com", ("known", "reddit"),
     "brand 'redditmedia' on amazonaws.com"),
    ("api.roblox-prod.herokuapp.com", ("known", "roblox"),   # under a platform suffix
     "brand 'roblox' on herokuapp.com"),
    # The district's product owns its brand over the knowledge base's app.
    ("scrib-files.cloudfront.net", ("district", "scribbles"), "brand 'scrib' on *.cloudfront.net"),
])
def test_a_brand_on_shared_infrastructure_names_the_app(bm: Matcher, host: str,
                                                        expected: tuple[str, str],
                                                        rule: str) -> None:
    got = bm.classify(host)
    assert kind_key(got) == expected
    assert got.rule == rule


@pytest.mark.parametrize(("host", "expected"), [
    ("quizlet-static.cloudfront.net", ("noise", "cdn")),       # claimed by two apps
    ("media-prod.cloudfront.net", ("noise", "cdn")),           # generic word
    ("zoom-prod.cloudfront.net", ("noise", "cdn")),            # shorter than five
    ("docs-mirror.cloudfront.net", ("noise", "cdn")),          # from an exact host
    ("akamai-edge.cloudfront.net", ("noise", "cdn")),          # a noise domain's label
    ("reddit-x.roblox-y.cloudfront.net", ("noise", "cdn")),    # two brands: neither
    ("redditor.cloudfront.net", ("noise", "cdn")),             # a whole label, not a prefix
    ("reddit.fonts.example", ("noise", "fonts")),              # fonts are no shared hosting
    ("reddit.telemetry.example", ("noise", "telemetry")),
    ("www.reddit-fan-club.org", ("unknown", "reddit-fan-club.org")),  # not infrastructure
    ("roblox.someone.org", ("unknown", "someone.org")),
    ("cloudfront.net", ("noise", "cdn")),
    ("roblox.herokuapp.com.evil.org", ("unknown", "evil.org")),
])
def test_no_brand_is_read_where_it_could_mislead(bm: Matcher, host: str,
                                                 expected: tuple[str, str]) -> None:
    assert kind_key(bm.classify(host)) == expected


def test_explain_shows_the_infrastructure_rule_a_brand_beat(bm: Matcher) -> None:
    e = bm.explain("reddit-uploaded-media.s3-accelerate.amazonaws.com")
    assert kind_key(e.match) == ("known", "reddit")
    assert [(o.kind, o.rule) for o in e.overridden] == [("noise", "amazonaws.com")]


@given(st.lists(st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1,
                        max_size=12), min_size=1, max_size=4),
       st.sampled_from(["amazonaws.com", "x.cloudfront.net", "a.b.herokuapp.com",
                        "fonts.example", "nowhere.example"]))
def test_a_brand_match_always_names_a_brand_label_in_front_of_shared_infra(
        labels: list[str], tail: str) -> None:
    matcher = Matcher(Catalog((Product("scribbles", "S", domains=("scrib.net",)),)), BRAND_KB)
    host = ".".join([*labels, tail])
    got = matcher.classify(host)
    if got.rule.startswith("brand "):
        token = got.rule.split("'")[1]
        infra = got.rule.rsplit(" on ", 1)[1].removeprefix("*.")
        front = host[:-len(infra) - 1] if host.endswith("." + infra) else ""
        assert token in re.split(r"[._-]+", front)
        assert infra in ("amazonaws.com", "cloudfront.net", "herokuapp.com")
        assert got.kind in ("known", "district")


# --- a district product's empty category ----------------------------------------------

def test_empty_product_category_comes_from_the_kb_app_it_stands_for() -> None:
    kb = KnowledgeBase((app("quizzy", "quizzy.example", "=api.quizzy.example", category="assessment"),
                        app("paint-pal", "paintpal.example", category="creativity")), {})
    cat = Catalog((
        # by a shared rule, in the product's own order
        Product("p1", "Our quiz tool", domains=("other.example", "=api.quizzy.example")),
        # by name, case and punctuation aside, when no rule is shared
        Product("p2", "PAINT-PAL", domains=("pp.district.example",)),
        # the district's own category always wins
        Product("p3", "Quizzy", domains=("quizzy.example",), category="study-tools"),
        # nothing to go by: stays empty
        Product("p4", "Homegrown", domains=("home.example",)),
    ))
    m = Matcher(cat, kb)
    got = {h: (m.classify(h).key, m.classify(h).category)
           for h in ("other.example", "pp.district.example", "quizzy.example", "home.example")}
    assert got == {"other.example": ("p1", "assessment"), "pp.district.example": ("p2", "creativity"),
                   "quizzy.example": ("p3", "study-tools"), "home.example": ("p4", "")}


# --- hygiene of the shipped knowledge base (catalog/knowledge/CONTRIBUTING.md) ---------

# Registered domains that many products or tenants share: an app may list hosts
# under them, never the domain itself. (A company's umbrella domain that is its
# own product, such as facebook.com or dropbox.com, may be claimed: the longest
# rule wins for its other services.)
SHARED = ("google.com", "googleapis.com", "gstatic.com", "googleusercontent.com",
          "withgoogle.com", "apple.com", "microsoft.com", "live.com", "windows.net",
          "azure.com", "azureedge.net", "adobe.com", "amazonaws.com", "cloudfront.net",
          "akamaized.net", "akamaihd.net", "fastly.net", "cloudflare.com", "github.io",
          "herokuapp.com", "netlify.app", "web.app", "firebaseapp.com", "pages.dev",
          "workers.dev", "wordpress.com", "weebly.com", "wixsite.com", "squarespace.com")
# Round-1 files cite their sources in the file header, not per entry.
HEADER_SOURCED = {"creation.yaml", "general.yaml", "instruction.yaml", "lms.yaml"}


def test_no_app_claims_a_shared_registered_domain() -> None:
    bad = [(a.id, r) for a in load_knowledge_base().apps for r in a.domains
           if r in SHARED or (r.startswith("*.") and r[2:] in SHARED)]
    assert bad == []


def test_every_entry_after_round_1_cites_its_source() -> None:
    from catalog.kb import KB_DIR

    missing = []
    for path in sorted((KB_DIR / "apps").glob("*.yaml")):
        if path.name in HEADER_SOURCED:
            continue
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if re.match(r"\s*- id: ", line):
                j = i - 1
                while j >= 0 and (not lines[j].strip() or lines[j].lstrip().startswith("#")):
                    if "source" in lines[j].lower():
                        break
                    j -= 1
                else:
                    missing.append(f"{path.name}:{i + 1}")
                    continue
                if j < 0 or not lines[j].lstrip().startswith("#"):
                    missing.append(f"{path.name}:{i + 1}")
    assert missing == []


# --- suggestions for the triage queue ---------------------------------------------------

SUGGEST_KB = KnowledgeBase((
    app("kahoot", "kahoot.com"), app("quizlet", "quizlet.com"), app("ixl", "ixl.com"),
    app("one", "sharedbrand.com"), app("two", "sharedbrand.org"),
    app("media-co", "media.example"),
), {"cloudfront.net": "cdn", "*.cloudfront.net": "cdn"})


@pytest.fixture(scope="module")
def sm() -> Matcher:
    return Matcher(Catalog((Product("our-quiz", "Our Quiz", domains=("quizzyz.com",)),)),
                   SUGGEST_KB)


@pytest.mark.parametrize(("domain", "hosts", "expected"), [
    ("kahootcdn.net", (), [("kahoot", "brand 'kahoot' in kahootcdn")]),
    ("my-getquizlet.com", (), [("quizlet", "brand 'quizlet' in getquizlet")]),
    ("media-edge.net", ("kahoot.media-edge.net",),
     [("kahoot", "brand 'kahoot' in kahoot.media-edge.net")]),
    ("quizzyzcdn.net", (), [("our-quiz", "brand 'quizzyz' in quizzyzcdn")]),  # a district product
    # A whole label beats a glued one; then the longer brand.
    ("kahoot-quizletapp.com", (), [("kahoot", "brand 'kahoot' in kahoot-quizletapp.com"),
                                   ("quizlet", "brand 'quizlet' in quizletapp")]),
    ("ixlcdn.com", (), []),                     # a brand shorter than five characters
    ("quizzyz.net", (), [("our-quiz", "brand 'quizzyz' in quizzyz.net")]),
    ("sharp-kahoo.net", (), []),                # half a brand is none
    ("mediahub.net", (), []),                   # a word CDN hosts use for anything
    ("sharedbrandcdn.net", (), []),             # a brand two apps claim is nobody's
    ("a.net", ("kahoot.other.net",), []),       # a host under another domain says nothing
    ("kahoot.net", (), [("kahoot", "brand 'kahoot' in kahoot.net")]),
    ("", (), []),
])
def test_suggest(sm: Matcher, domain: str, hosts: tuple[str, ...],
                 expected: list[tuple[str, str]]) -> None:
    assert [(m.key, m.rule) for m in sm.suggest(domain, hosts)] == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["kahoot", "quizlet", "quizzyz", "cdn", "get", "ixl", "media",
                                 "-", "x", "app"]), min_size=1, max_size=5),
       st.sampled_from(["net", "com", "co.uk"]))
def test_suggestions_name_a_brand_that_is_there_and_change_nothing(
        sm: Matcher, parts: list[str], tld: str) -> None:
    label = "".join(parts).strip("-") or "x"
    domain = f"{label}.{tld}"
    before = sm.classify(f"www.{domain}")
    for m in sm.suggest(domain, (f"www.{domain}",)):
        token = m.rule.split("'")[1]
        assert token in domain and len(token) >= (5 if " in www." in m.rule else 6)
        assert m.kind in ("known", "district")
    assert sm.classify(f"www.{domain}") == before
