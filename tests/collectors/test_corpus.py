"""Conformance with the team's third-party corpus (skipped where it is absent).

bench/conformance.py does the work and prints the table; here every mapped
sample must parse without rejects, and agree with the vendor's expected
output wherever the corpus has one.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="no ../shared/corpus on this machine")


def _conformance():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("conformance", ROOT / "bench" / "conformance.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["conformance"] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def test_dns_samples_parse_and_agree() -> None:
    results = _conformance().run(CORPUS, "dns")
    assert results, "no corpus folder was mapped to a format"
    for r in results:
        assert r.rejected == 0, (r.folder, r.notes)
        assert r.parsed > 0, r.folder
        if r.percent is not None:
            assert r.percent == 100.0, (r.folder, r.notes)


KNOWN = {
    # Its only line reads "[1598040493.253 325](tel:1598040493.253 325)" where Squid
    # writes "1598040493.253    325": a markdown link made of the sample, not a log.
    "proxy/pfsense_squid": "a corrupted sample line",
}


def test_proxy_samples_parse_and_agree() -> None:
    results = _conformance().run(CORPUS, "proxy")
    assert results, "no corpus folder was mapped to a format"
    for r in results:
        if r.folder in KNOWN:
            continue
        assert r.rejected == 0, (r.folder, r.notes)
        assert r.parsed > 0, r.folder
        if r.percent is not None:
            assert r.percent == 100.0, (r.folder, r.notes)


# Samples whose every record is, rightly, no event: failed sign-ins (errorCode
# 50140) and Okta session and policy events, which are not app use.
NO_EVENTS = {"sso/azure_signin", "sso/azure_signin_categories", "sso/okta"}


def test_sso_samples_parse_and_agree() -> None:
    results = _conformance().run(CORPUS, "sso")
    assert results, "no corpus folder was mapped to a format"
    for r in results:
        assert r.rejected == 0, (r.folder, r.notes)
        if r.folder in NO_EVENTS:
            assert r.parsed == 0 and r.ignored == r.records, r.folder
        else:
            assert r.parsed > 0, r.folder
        if r.percent is not None:
            assert r.percent == 100.0, (r.folder, r.notes)
