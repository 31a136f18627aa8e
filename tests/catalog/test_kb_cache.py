"""The knowledge base's JSON cache: used when every file is unchanged, rebuilt
when one changes or the cache is damaged, skipped when it cannot be written."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

import catalog.kb as kbmod
from catalog.errors import CatalogError
from catalog.kb import KB_DIR, KnowledgeBase

load = kbmod.load_knowledge_base.__wrapped__  # the lru_cache would hide the disk


def full(kb: KnowledgeBase) -> tuple[object, ...]:
    """Everything, including the fields KnownApp leaves out of equality."""
    return (tuple((a, a.sso, a.source) for a in kb.apps), kb.noise)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    dst = tmp_path / "knowledge"
    shutil.copytree(KB_DIR / "apps", dst / "apps")
    shutil.copytree(KB_DIR / "noise", dst / "noise")
    return dst


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("SENTINEL_CACHE_DIR", str(d))
    return d


def no_yaml(*_: object) -> KnowledgeBase:
    raise AssertionError("the YAML files were read again")


def test_second_load_comes_from_the_cache(root: Path, cache: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    first = load(root)
    files = list(cache.glob("kb-*.json"))
    assert len(files) == 1
    monkeypatch.setattr(kbmod, "_check", no_yaml)
    again = load(root)
    assert full(again) == full(first)
    assert any(a.sso for a in again.apps) and all(a.source for a in again.apps)


def test_a_changed_file_is_read_again_and_old_caches_go(root: Path, cache: Path) -> None:
    before = load(root)
    first = next(cache.glob("kb-*.json"))
    noise = root / "noise" / "fonts.yaml"
    noise.write_text(noise.read_text() + "  - brand-new-fonts.example\n")
    after = load(root)
    assert after.noise["brand-new-fonts.example"] == "fonts"
    assert "brand-new-fonts.example" not in before.noise
    assert len(list(cache.glob("kb-*.json"))) == 2
    os.utime(first, (1, 1))  # the oldest
    for i in range(kbmod.CACHE_KEEP):  # more versions than are kept
        noise.write_text(noise.read_text() + f"  - more-{i}.example\n")
        assert load(root).noise[f"more-{i}.example"] == "fonts"
    held = list(cache.glob("kb-*.json"))
    assert len(held) == kbmod.CACHE_KEEP and first not in held


def test_a_damaged_cache_is_rebuilt(root: Path, cache: Path) -> None:
    good = load(root)
    path = next(cache.glob("kb-*.json"))
    for garbage in ("{not json", '{"format": 1, "apps": [{"id": 1}], "noise": {}}', "[]",
                    '{"format": 999}'):
        path.write_text(garbage)
        assert full(load(root)) == full(good)
    assert full(kbmod._read_cache(path) or KnowledgeBase((), {})) == full(good)  # rewritten


def test_an_unwritable_cache_is_skipped(root: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SENTINEL_CACHE_DIR", str(blocker / "sub"))  # a file is in the way
    assert len(load(root).apps) > 400
    monkeypatch.setenv("SENTINEL_CACHE_DIR", "")  # no cache at all
    assert kbmod.cache_dir() is None
    assert len(load(root).apps) > 400


def test_errors_still_name_the_file_when_a_cache_exists(root: Path, cache: Path) -> None:
    load(root)
    (root / "apps" / "zz.yaml").write_bytes(b"apps:\n  - id: \xff\n")
    with pytest.raises(CatalogError, match=re.escape("zz.yaml: not UTF-8 text")):
        load(root)
    (root / "apps" / "zz.yaml").write_text("apps:\n  - id: x\n")
    with pytest.raises(CatalogError, match=re.escape("zz.yaml: app 1: name: missing")):
        load(root)
