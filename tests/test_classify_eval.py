"""The metric code of bench/classify_eval.py on a toy set, and the shipped set's shape."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("classify_eval", ROOT / "bench" / "classify_eval.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["classify_eval"] = mod  # dataclasses resolve their module by name
    spec.loader.exec_module(mod)
    return mod


ce = _load()


class M(NamedTuple):
    kind: str
    key: str
    name: str


TOY = """host,label,app,source
quizlet.com,app,Quizlet,doc
assets.quizlet.com,app,Quizlet,doc
api.kahoot.it,app,Kahoot!,doc
app.schoology.com,app,Schoology,doc
rare-edtech.example,app,Rare Tool,doc
fonts.gstatic.com,noise,,doc
ads.example.net,noise,,doc
me.github.io,unknown,,doc
lookalike-quizlet.com,unknown,,doc
"""

ANSWERS = {
    "quizlet.com": M("known", "quizlet", "Quizlet"),
    "assets.quizlet.com": M("known", "quizlet", "Quizlet"),
    "api.kahoot.it": M("known", "kahoot", "Kahoot!"),           # same after norm_name
    "app.schoology.com": M("known", "schoology", "Schoology Learning"),  # needs the alias
    "rare-edtech.example": M("unknown", "rare-edtech.example", "rare-edtech.example"),
    "fonts.gstatic.com": M("noise", "fonts", "fonts"),
    "ads.example.net": M("unknown", "example.net", "example.net"),
    "me.github.io": M("unknown", "me.github.io", "me.github.io"),
    "lookalike-quizlet.com": M("known", "quizlet", "Quizlet"),  # a false attribution
}


def _write(tmp_path: Path, text: str, name: str = "hosts.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _toy(tmp_path: Path) -> tuple[list[Any], dict[str, str]]:
    rows = ce.load_set(_write(tmp_path, TOY))
    aliases = ce.load_aliases(_write(tmp_path, "eval_name,kb_id,note\nSchoology,schoology,x\n",
                                     "aliases.csv"))
    return rows, aliases


def test_metrics_on_a_toy_set(tmp_path: Path) -> None:
    rows, aliases = _toy(tmp_path)
    r = ce.score(rows, ANSWERS.__getitem__, aliases)
    assert r.counts == {"app": 5, "noise": 2, "unknown": 2}
    assert (r.correct, r.attributed) == (4, 5)
    assert r.precision == pytest.approx(4 / 5)
    assert r.recall == pytest.approx(4 / 5)
    assert r.noise_recall == pytest.approx(1 / 2)
    assert r.unknown_false_app == pytest.approx(1 / 2)
    assert r.confusion["app"] == {"right_app": 4, "wrong_app": 0, "noise": 0, "unknown": 1, "other": 0}
    assert [o.host for o in r.misses("app_missed")] == ["rare-edtech.example"]
    assert [o.host for o in r.misses("false_app")] == ["lookalike-quizlet.com"]
    assert [o.host for o in r.misses("noise_missed")] == ["ads.example.net"]
    with pytest.raises(KeyError):
        r.misses("nonsense")


def test_without_the_alias_the_renamed_app_is_wrong(tmp_path: Path) -> None:
    rows, _ = _toy(tmp_path)
    r = ce.score(rows, ANSWERS.__getitem__, {})
    assert r.correct == 3
    assert [o.host for o in r.misses("app_wrong")] == ["app.schoology.com"]
    assert r.precision == pytest.approx(3 / 5)


def test_wrong_app_for_an_app_host_costs_precision_and_recall(tmp_path: Path) -> None:
    rows, aliases = _toy(tmp_path)
    answers = dict(ANSWERS, **{"api.kahoot.it": M("known", "quizlet", "Quizlet")})
    r = ce.score(rows, answers.__getitem__, aliases)
    assert (r.correct, r.attributed) == (3, 5)
    assert r.app_coverage == pytest.approx(4 / 5)


def test_norm_name() -> None:
    assert ce.norm_name("Kahoot!") == ce.norm_name("kahoot")
    assert ce.norm_name("Flip (formerly Flipgrid)") == "flip"
    assert ce.norm_name("Renaissance Star & AR") == "renaissance star and ar"
    assert ce.norm_name("Wolfram|Alpha") == "wolfram alpha"


@pytest.mark.parametrize(("text", "needle"), [
    ("host,label\nx.com,app\n", "header"),
    ("host,label,app,source\nX.com,noise,,s\n", "not normalized"),
    ("host,label,app,source\nx.com,noise,,s\nx.com,unknown,,s\n", "already on line 2"),
    ("host,label,app,source\nx.com,maybe,,s\n", "column label"),
    ("host,label,app,source\nx.com,app,,s\n", "column app: missing"),
    ("host,label,app,source\nx.com,noise,Foo,s\n", "must be empty"),
    ("host,label,app,source\nx.com,noise,,\n", "column source"),
    ("host,label,app,source\nx.com,noise,s\n", "expected 4 columns"),
    ("host,label,app,source\nbad host.com,noise,,s\n", "column host"),
])
def test_bad_sets_name_the_line_and_column(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(ce.EvalError, match=needle):
        ce.load_set(_write(tmp_path, text))


def test_bad_alias_files(tmp_path: Path) -> None:
    with pytest.raises(ce.EvalError, match="header"):
        ce.load_aliases(_write(tmp_path, "a,b\n", "a.csv"))
    with pytest.raises(ce.EvalError, match="listed twice"):
        ce.load_aliases(_write(tmp_path, "eval_name,kb_id\nFoo,a\nfoo!,b\n", "a.csv"))


def test_volume_share() -> None:
    kinds = {"a.com": "known", "cdn.net": "noise", "odd.org": "unknown", "10.0.0.1": "ip"}
    v = ce.volume_share({"a.com": 6, "cdn.net": 3, "odd.org": 1, "10.0.0.1": 2},
                        lambda h: M(kinds[h], h, h))
    assert (v.events, v.app, v.noise, v.other) == (12, 6, 3, 3)
    assert v.share == pytest.approx(0.75)
    assert v.top_unclassified == [("10.0.0.1", 2), ("odd.org", 1)]


def test_the_shipped_set_has_the_promised_shape() -> None:
    rows = ce.load_set(ce.SET_PATH)
    labels = [r.label for r in rows]
    assert len(rows) >= 2000
    assert labels.count("app") >= 1000
    assert labels.count("noise") >= 600
    assert labels.count("unknown") >= 300
    aliases = ce.load_aliases(ce.ALIASES_PATH)
    assert aliases, "the alias table is empty"
    assert ce.check_aliases(aliases) == []


def test_split_is_deterministic_and_keeps_products_and_domains_whole(tmp_path: Path) -> None:
    import hashlib

    text = TOY + ("www.quizlet.com,app,QUIZLET!,doc\n"
                  "cdn.example.net,noise,,doc\n"
                  "blog.me.github.io,unknown,,doc\n")
    rows = ce.load_set(_write(tmp_path, text))
    dev, test = ce.select_split(rows, "dev"), ce.select_split(rows, "test")
    assert ce.select_split(rows, "all") == rows
    # a partition: every row on exactly one side, in the set's order
    assert sorted(r.row for r in dev + test) == [r.row for r in rows]
    assert not {r.host for r in dev} & {r.host for r in test}
    # the key: normalized product name for app rows, registered domain otherwise
    by_host = {r.host: r for r in rows}
    assert ce.split_key(by_host["www.quizlet.com"]) == "quizlet"
    assert ce.split_key(by_host["ads.example.net"]) == "example.net"
    assert ce.split_key(by_host["blog.me.github.io"]) == "me.github.io"
    for r in rows:
        first = hashlib.sha256(ce.split_key(r).encode()).hexdigest()[0]
        assert ce.split_of(r) == ("test" if int(first, 16) < 8 else "dev")
    # whole products and domain families fall on one side
    assert ce.split_of(by_host["quizlet.com"]) == ce.split_of(by_host["www.quizlet.com"])
    assert ce.split_of(by_host["ads.example.net"]) == ce.split_of(by_host["cdn.example.net"])
    assert ce.select_split(list(reversed(rows)), "test") == list(reversed(test))
    with pytest.raises(ValueError, match="unknown split"):
        ce.select_split(rows, "train")


def test_the_shipped_set_splits_into_two_real_halves() -> None:
    rows = ce.load_set(ce.SET_PATH)
    dev, test = ce.select_split(rows, "dev"), ce.select_split(rows, "test")
    assert len(dev) + len(test) == len(rows)
    for half in (dev, test):
        assert 0.3 * len(rows) < len(half) < 0.7 * len(rows)
        assert {r.label for r in half} == set(ce.LABELS)
    dev_apps = {ce.norm_name(r.app) for r in dev if r.label == "app"}
    test_apps = {ce.norm_name(r.app) for r in test if r.label == "app"}
    assert dev_apps and test_apps and not dev_apps & test_apps


def test_main_reports_the_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    path = _write(tmp_path, TOY)
    aliases = _write(tmp_path, "eval_name,kb_id\nSchoology,schoology\n", "aliases.csv")
    for split in ("dev", "test"):
        assert ce.main(["--set", str(path), "--aliases", str(aliases), "--split", split,
                        "--no-demo", "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["split"] == split
        assert out["set"]["hosts"] == len(ce.select_split(ce.load_set(path), split))


def test_test_split_lists_no_misses_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    """The held-out half must not be seen by accident: no misses, no missing domains."""
    import json as _json

    assert ce.main(["--split", "test", "--no-demo", "--json"]) == 0
    out = _json.loads(capsys.readouterr().out)
    assert all(v == [] for v in out["misses"].values()) and out["missing_domains"] == {}
    assert ce.main(["--split", "dev", "--no-demo", "--json"]) == 0
    out = _json.loads(capsys.readouterr().out)
    assert any(out["misses"].values()) or sum(out["miss_counts"].values()) == 0
