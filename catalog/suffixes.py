"""The Public Suffix List, read from tldextract's bundled snapshot.

No network and no disk cache: the snapshot ships inside the tldextract package
and is read once per process. The lookup is tldextract's own algorithm
(``_PublicSuffixListTLDExtractor.suffix_index`` with private domains included)
over a trie of plain dicts, without building a result object per call, and
with each Unicode label of the list also filed under its A-label, so a
normalized host is looked up without decoding its punycode labels (tldextract
decodes every ``xn--`` label: 20 µs each). About four times faster than
tldextract, which the matcher's cold-classification target needs.
``tests/catalog/test_match.py`` holds it equal to tldextract with Hypothesis.

Hosts given to this module are already normalized (`collectors.hosts.normalize_host`:
lower case, IDNA A-labels, no trailing dot).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import idna

_SUFFIX_RE = re.compile(r"^(?P<suffix>[.*!]*\w[\S]*)", re.UNICODE | re.MULTILINE)
"""tldextract's pattern for one rule of the list (first token of a line)."""
_PRIVATE_MARK = "// ===BEGIN PRIVATE DOMAINS==="


class _Node:
    __slots__ = ("children", "end", "private", "wild")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.end = False
        self.private = False
        self.wild = False


class SuffixList:
    """Public suffixes (ICANN) and private ones (``github.io``, ``blogspot.com``)."""

    def __init__(self, public: Iterable[str], private: Iterable[str] = ()) -> None:
        self._root = _Node()
        for rule in public:
            self._add(rule, False)
        for rule in private:
            self._add(rule, True)

    @classmethod
    def from_text(cls, text: str) -> SuffixList:
        """Parse the list's text as tldextract does."""
        public, _, private = text.partition(_PRIVATE_MARK)
        return cls((m.group("suffix") for m in _SUFFIX_RE.finditer(public)),
                   (m.group("suffix") for m in _SUFFIX_RE.finditer(private)))

    def _add(self, rule: str, private: bool) -> None:
        node = self._root
        for label in reversed(rule.split(".")):
            child = node.children.get(label)
            if child is None:
                child = node.children[label] = _Node()
                if label == "*":
                    node.wild = True
                elif not label.isascii():
                    bang = label.startswith("!")
                    alias = _a_label(label[1:] if bang else label)
                    if alias:
                        node.children.setdefault("!" + alias if bang else alias, child)
            node = child
        node.end = True
        node.private = private

    def suffix_start(self, labels: list[str]) -> int | None:
        """Index of the first label of the host's public suffix (private suffixes
        count), or None when no rule matches (an unlisted top-level domain)."""
        node = self._root
        n = at = found = len(labels)
        for label in reversed(labels):
            child = node.children.get(label)
            if child is not None:
                at -= 1
                node = child
                if node.end:
                    found = at
                continue
            if node.wild:
                return at if "!" + label in node.children else at - 1
            break
        return found if found < n else None

    def registered_domain(self, host: str) -> str:
        """``www.bbc.co.uk`` -> ``bbc.co.uk``, ``a.me.github.io`` -> ``me.github.io``;
        "" when the host is itself a suffix or its top-level domain is not listed."""
        labels = host.split(".")
        start = self.suffix_start(labels)
        if not start:
            return ""
        return ".".join(labels[start - 1:])

    def public_suffix(self, host: str) -> str:
        """The host's longest public or private suffix; "" when none is listed."""
        labels = host.split(".")
        start = self.suffix_start(labels)
        return "" if start is None else ".".join(labels[start:])

    def is_suffix(self, host: str) -> bool:
        """True when the host is itself a public or private suffix (``co.uk``, ``github.io``)."""
        return self.suffix_start(host.split(".")) == 0

    def is_private(self, host: str) -> bool:
        """True when the host's public suffix comes from the list's private section."""
        node = self._root
        for label in reversed(self.public_suffix(host).split(".")):
            nxt = node.children.get(label) or node.children.get("*")
            if nxt is None:
                return False
            node = nxt
        return node.private


def _a_label(label: str) -> str | None:
    """The A-label a normalized host spells ``label`` with, when it decodes back
    to ``label`` (tldextract looks a host's ``xn--`` label up by its decoding)."""
    try:
        alabel = idna.encode(label, uts46=True).decode("ascii")
        return alabel if idna.decode(alabel) == label else None
    except (UnicodeError, IndexError, idna.IDNAError):
        return None


def snapshot_path() -> Path:
    """tldextract's bundled snapshot, found without importing tldextract (which
    imports requests: a tenth of a second)."""
    spec = importlib.util.find_spec("tldextract")
    if spec is None or spec.origin is None:  # pragma: no cover (a declared dependency)
        raise RuntimeError("tldextract is not installed: its bundled suffix list is needed")
    return Path(spec.origin).parent / ".tld_set_snapshot"


@lru_cache(maxsize=1)
def bundled() -> SuffixList:
    """The suffix list of the installed tldextract's snapshot, read once."""
    return SuffixList.from_text(snapshot_path().read_text(encoding="utf-8"))
