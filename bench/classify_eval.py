"""How well the matcher names apps, measured on a held-out labelled set.

    python bench/classify_eval.py [--set bench/eval/hosts.csv]
                                  [--aliases bench/eval/aliases.csv]
                                  [--split dev|test|all] [--misses 30] [--json]
                                  [--no-demo] [--check]

The set (``bench/eval/hosts.csv``, columns ``host,label,app,source``) was
collected from vendor documentation and public lists, never from the
knowledge base (see ``bench/eval/SOURCES.md``). The matcher is built as the
service builds it, with an empty district catalog, so only the knowledge base
is measured.

Figures:

* precision of app attribution: hosts attributed to the right app / all hosts
  the matcher attributed to an app (an app host given the wrong app, and a
  noise or unknown host given an app, both count against it);
* recall: app hosts attributed to the right app / all app hosts;
* noise recall: noise hosts classified as noise / all noise hosts;
* a confusion table (true label x what the matcher said) and the misses;
* the share of the demo district's request volume classified as app or noise,
  with the demo's own catalog and district zones (as ``sentinel scan`` runs it)
  and with the knowledge base alone.

A KB app counts as the labelled app when their names agree after `norm_name`,
or when ``aliases.csv`` maps the labelled name to the KB app id (naming
differences only, e.g. "Schoology" vs "Schoology Learning").

``--split`` measures one half of the set (default ``all``). A row is in
``test`` when the SHA-256 hex digest of its group key starts with 0-7, else in
``dev``. The key is the normalized product name for an app row and the
registered domain for a noise or unknown row, so a whole product (or domain
family) is on one side: the knowledge base may be grown by looking at the dev
misses while the test half stays unseen (see ``bench/eval/SOURCES.md``).

``--check`` exits 1 when a target is missed: precision >= 0.97, recall >= 0.90,
demo volume classified >= 95%.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import glob
import hashlib
import json
import re
import sys
import tempfile
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(HERE.parent))

SET_PATH = HERE / "eval" / "hosts.csv"
ALIASES_PATH = HERE / "eval" / "aliases.csv"
LABELS = ("app", "noise", "unknown")
APP_KINDS = frozenset(("district", "known"))
TARGETS = {"precision": 0.97, "recall": 0.90, "demo_classified": 0.95}
COLUMNS = ("host", "label", "app", "source")
SPLITS = ("dev", "test", "all")
MAX_FIELD = 2000


class EvalError(Exception):
    """A bad evaluation file; the message names the file, row and column."""


class MatchLike(Protocol):
    """What `catalog.match.Matcher.classify` returns (only these fields are read)."""

    @property
    def kind(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def name(self) -> str: ...


Classify = Callable[[str], MatchLike]


@dataclass(frozen=True)
class Labelled:
    """One row of the evaluation set."""

    host: str
    label: str
    """app, noise or unknown."""
    app: str
    """The product name as a person writes it; empty unless label is app."""
    source: str
    row: int = field(default=0, compare=False)
    """Line number in the CSV (the header is line 1)."""


@dataclass(frozen=True)
class Outcome:
    """How the matcher classified one labelled host."""

    host: str
    label: str
    app: str
    kind: str
    key: str
    name: str
    verdict: str
    """right_app, wrong_app, noise, unknown or other (ip / invalid)."""


@dataclass(frozen=True)
class Report:
    """The figures for one run over the set."""

    counts: dict[str, int]
    attributed: int
    """Hosts the matcher attributed to an app (kind district or known)."""
    correct: int
    """App hosts attributed to their own app."""
    precision: float
    recall: float
    app_coverage: float
    """App hosts attributed to any app (right or wrong) / all app hosts."""
    noise_recall: float
    unknown_false_app: float
    """Unknown hosts attributed to an app / all unknown hosts."""
    confusion: dict[str, dict[str, int]]
    outcomes: tuple[Outcome, ...]

    def misses(self, kind: str) -> list[Outcome]:
        """``app_missed``: app hosts given no app; ``app_wrong``: given another app;
        ``false_app``: noise or unknown hosts given an app; ``noise_missed``:
        noise hosts not classified as noise."""
        tests: dict[str, Callable[[Outcome], bool]] = {
            "app_missed": lambda o: o.label == "app" and o.verdict not in ("right_app", "wrong_app"),
            "app_wrong": lambda o: o.label == "app" and o.verdict == "wrong_app",
            "false_app": lambda o: o.label != "app" and o.verdict == "wrong_app",
            "noise_missed": lambda o: o.label == "noise" and o.verdict != "noise",
        }
        if kind not in tests:
            raise KeyError(f"unknown miss kind {kind!r}; known: {', '.join(tests)}")
        return [o for o in self.outcomes if tests[kind](o)]


MISS_KINDS = ("app_missed", "app_wrong", "false_app", "noise_missed")


def norm_name(name: str) -> str:
    """Compare product names loosely: case, punctuation and parenthesised
    remarks ("Flip (formerly Flipgrid)") do not matter; "&" is "and"."""
    text = re.sub(r"\([^)]*\)", " ", name.lower()).replace("&", " and ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def load_set(path: Path) -> list[Labelled]:
    """Read and check the evaluation set. Hosts must already be normalized
    (lower case, no trailing dot) and appear once."""
    from collectors.hosts import normalize_host

    rows: list[Labelled] = []
    seen: dict[str, int] = {}
    with _open_csv(path) as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != COLUMNS:
            raise EvalError(f"{path}: line 1: header must be {','.join(COLUMNS)}, got {header!r}")
        for line, rec in enumerate(reader, start=2):
            if not rec or all(not c.strip() for c in rec):
                continue
            if len(rec) != len(COLUMNS):
                raise EvalError(f"{path}: line {line}: expected {len(COLUMNS)} columns, got {len(rec)}")
            host, label, app, source = (c.strip() for c in rec)
            for col, value in zip(COLUMNS, (host, label, app, source), strict=True):
                if len(value) > MAX_FIELD:
                    raise EvalError(f"{path}: line {line}: column {col}: longer than {MAX_FIELD} characters")
            try:
                canon = normalize_host(host)
            except ValueError as exc:
                raise EvalError(f"{path}: line {line}: column host: {host!r}: {exc}") from None
            if canon != host:
                raise EvalError(f"{path}: line {line}: column host: {host!r} is not normalized "
                                f"(expected {canon!r})")
            if label not in LABELS:
                raise EvalError(f"{path}: line {line}: column label: {label!r} is not one of "
                                f"{', '.join(LABELS)}")
            if label == "app" and not app:
                raise EvalError(f"{path}: line {line}: column app: missing for an app host")
            if label != "app" and app:
                raise EvalError(f"{path}: line {line}: column app: must be empty for a {label} host")
            if not source:
                raise EvalError(f"{path}: line {line}: column source: missing")
            if host in seen:
                raise EvalError(f"{path}: line {line}: column host: {host!r} already on line {seen[host]}")
            seen[host] = line
            rows.append(Labelled(host, label, app, source, line))
    return rows


def split_key(row: Labelled) -> str:
    """What decides a row's split: the normalized product name of an app row,
    the registered domain of a noise or unknown row."""
    if row.label == "app":
        return norm_name(row.app)
    from catalog.match import registered_domain

    return registered_domain(row.host)


def split_of(row: Labelled) -> str:
    """``test`` when sha256(split_key).hexdigest() starts with 0-7, else ``dev``."""
    digest = hashlib.sha256(split_key(row).encode("utf-8")).hexdigest()
    return "test" if digest[0] in "01234567" else "dev"


def select_split(rows: Sequence[Labelled], split: str) -> list[Labelled]:
    """The rows of one split (``dev``, ``test``), or all of them (``all``)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    if split == "all":
        return list(rows)
    return [r for r in rows if split_of(r) == split]


def load_aliases(path: Path) -> dict[str, str]:
    """``eval_name,kb_id[,note]`` -> {normalized eval name: KB app id}."""
    out: dict[str, str] = {}
    with _open_csv(path) as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:2]] != ["eval_name", "kb_id"]:
            raise EvalError(f"{path}: line 1: header must start with eval_name,kb_id")
        for line, rec in enumerate(reader, start=2):
            if not rec or all(not c.strip() for c in rec):
                continue
            if len(rec) < 2 or not rec[0].strip() or not rec[1].strip():
                raise EvalError(f"{path}: line {line}: eval_name and kb_id are both required")
            key = norm_name(rec[0])
            if key in out:
                raise EvalError(f"{path}: line {line}: column eval_name: {rec[0].strip()!r} listed twice")
            out[key] = rec[1].strip()
    return out


def _open_csv(path: Path) -> Any:
    try:
        return path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise EvalError(f"{path}: {exc.strerror or exc}") from None


def same_app(label_app: str, match: MatchLike, aliases: Mapping[str, str]) -> bool:
    """Whether a match names the labelled app."""
    want = norm_name(label_app)
    return norm_name(match.name) == want or aliases.get(want) == match.key


def verdict(row: Labelled, match: MatchLike, aliases: Mapping[str, str]) -> str:
    if match.kind in APP_KINDS:
        if row.label == "app" and same_app(row.app, match, aliases):
            return "right_app"
        return "wrong_app"
    if match.kind in ("noise", "unknown"):
        return match.kind
    return "other"


def score(rows: Sequence[Labelled], classify: Classify, aliases: Mapping[str, str]) -> Report:
    """Classify every labelled host and compute the figures."""
    outcomes: list[Outcome] = []
    confusion: dict[str, dict[str, int]] = {
        lab: dict.fromkeys(("right_app", "wrong_app", "noise", "unknown", "other"), 0) for lab in LABELS}
    for row in rows:
        m = classify(row.host)
        v = verdict(row, m, aliases)
        confusion[row.label][v] += 1
        outcomes.append(Outcome(row.host, row.label, row.app, m.kind, m.key, m.name, v))
    counts = {lab: sum(confusion[lab].values()) for lab in LABELS}
    attributed = sum(c["right_app"] + c["wrong_app"] for c in confusion.values())
    correct = confusion["app"]["right_app"]
    return Report(
        counts=counts,
        attributed=attributed,
        correct=correct,
        precision=_ratio(correct, attributed),
        recall=_ratio(correct, counts["app"]),
        app_coverage=_ratio(correct + confusion["app"]["wrong_app"], counts["app"]),
        noise_recall=_ratio(confusion["noise"]["noise"], counts["noise"]),
        unknown_false_app=_ratio(confusion["unknown"]["wrong_app"], counts["unknown"]),
        confusion=confusion,
        outcomes=tuple(outcomes),
    )


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def missing_domains(report: Report, rows: Sequence[Labelled]) -> dict[str, list[dict[str, Any]]]:
    """The recall misses as the registered domains a KB entry would need, by
    labelled app: {app: [{domain, hosts, sources}]}. A wrong-app host is listed
    too (its domain belongs to the labelled app, or is shared)."""
    from catalog.match import registered_domain

    source = {r.host: r.source for r in rows}
    grouped: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for o in report.outcomes:
        if o.label != "app" or o.verdict == "right_app":
            continue
        dom = registered_domain(o.host)
        entry = grouped[o.app].setdefault(dom, {"domain": dom, "hosts": [], "sources": [],
                                                "matched_as": []})
        entry["hosts"].append(o.host)
        if source[o.host] not in entry["sources"]:
            entry["sources"].append(source[o.host])
        got = f"{o.kind}:{o.key}"
        if got not in entry["matched_as"]:
            entry["matched_as"].append(got)
    return {app: sorted(doms.values(), key=lambda e: e["domain"])
            for app, doms in sorted(grouped.items(), key=lambda kv: kv[0].lower())}


# --- the demo district ------------------------------------------------------

@dataclass(frozen=True)
class VolumeShare:
    """Events of the demo district with a host, and how many classified."""

    events: int
    app: int
    noise: int
    other: int
    share: float
    """(app + noise) / events."""
    top_unclassified: list[tuple[str, int]]


def volume_share(hosts: Mapping[str, int], classify: Classify, top: int = 10) -> VolumeShare:
    """Share of request volume (``host -> event count``) classified as app or noise."""
    app = noise = other = 0
    left: Counter[str] = Counter()
    for host, n in hosts.items():
        kind = classify(host).kind
        if kind in APP_KINDS:
            app += n
        elif kind == "noise":
            noise += n
        else:
            other += n
            left[host] += n
    total = app + noise + other
    return VolumeShare(total, app, noise, other, _ratio(app + noise, total), left.most_common(top))


def demo_host_volume(out: Path, devices: int = 300, days: int = 2, seed: int = 7,
                     end: dt.date | None = None) -> tuple[Counter[str], Any]:
    """Generate the demo district into ``out`` and count events per host over
    every log source its config lists, parsed with the service's own formats.

    Returns the counts and the loaded settings. SSO sources carry no host and
    add nothing.
    """
    from collectors.base import ParseContext
    from collectors.driver import ReadStats, read_batches
    from collectors.registry import get_format
    from sentinel.config import load_settings
    from sentinel.demo import generate

    config = generate(out, devices=devices, days=days, seed=seed,
                      end=end or dt.date(2026, 11, 30))
    settings = load_settings(config)
    counts: Counter[str] = Counter()
    for src in settings.sources:
        if src.format is None:
            continue
        fmt = get_format(src.format)
        if fmt.read_records is not None:
            continue  # binary record formats (pcap, dnstap); the demo writes BIND text
        tz = zoneinfo.ZoneInfo(src.timezone or settings.district.timezone)
        parser = fmt.make_parser(ParseContext(tz=tz, options=dict(src.options)))
        for name in sorted(glob.glob(src.path)):
            for batch in read_batches(Path(name), parser, ReadStats()):
                for ev in batch.events:
                    if ev.host:
                        counts[ev.host] += 1
    return counts, settings


def demo_shares(devices: int = 300, days: int = 2, seed: int = 7) -> dict[str, VolumeShare]:
    """The demo volume share as the service sees it (demo catalog and district
    zones) and with the knowledge base alone."""
    from catalog.io import load_catalog
    from catalog.kb import load_knowledge_base
    from catalog.match import Matcher
    from catalog.model import Catalog

    with tempfile.TemporaryDirectory(prefix="sentinel-eval-") as tmp:
        counts, settings = demo_host_volume(Path(tmp), devices, days, seed)
        catalog = load_catalog(settings.catalog.path) if settings.catalog.path else Catalog()
    kb = load_knowledge_base()
    service = Matcher(catalog, kb, tuple(settings.district.domains))
    kb_only = Matcher(Catalog(), kb)
    return {"service": volume_share(counts, service.classify),
            "kb_only": volume_share(counts, kb_only.classify)}


# --- running and printing -----------------------------------------------------

def build_matcher() -> Classify:
    """The matcher as the service builds it, with an empty district catalog."""
    from catalog.kb import load_knowledge_base
    from catalog.match import Matcher
    from catalog.model import Catalog

    return Matcher(Catalog(), load_knowledge_base()).classify


def check_aliases(aliases: Mapping[str, str]) -> list[str]:
    """Alias targets that are not KB app ids (the KB changed under the table)."""
    from catalog.kb import load_knowledge_base

    ids = {a.id for a in load_knowledge_base().apps}
    return sorted(f"{name} -> {kb_id}" for name, kb_id in aliases.items() if kb_id not in ids)


def to_json(report: Report, rows: Sequence[Labelled], misses: int,
            demo: Mapping[str, VolumeShare] | None, stale_aliases: Iterable[str],
            split: str = "all") -> dict[str, Any]:
    out: dict[str, Any] = {
        "split": split,
        "set": {"hosts": len(rows), **report.counts,
                "apps": len({r.app for r in rows if r.label == "app"})},
        "precision": round(report.precision, 4),
        "recall": round(report.recall, 4),
        "app_coverage": round(report.app_coverage, 4),
        "noise_recall": round(report.noise_recall, 4),
        "unknown_false_app": round(report.unknown_false_app, 4),
        "attributed": report.attributed,
        "correct": report.correct,
        "confusion": report.confusion,
        "misses": {k: [asdict(o) for o in report.misses(k)[:misses]] for k in MISS_KINDS},
        "miss_counts": {k: len(report.misses(k)) for k in MISS_KINDS},
        # Named only when misses are asked for: on test, they would unmask the held-out half.
        "missing_domains": missing_domains(report, rows) if misses else {},
        "stale_aliases": list(stale_aliases),
        "targets": TARGETS,
    }
    if demo is not None:
        out["demo"] = {k: asdict(v) for k, v in demo.items()}
    return out


def render(report: Report, rows: Sequence[Labelled], misses: int,
           demo: Mapping[str, VolumeShare] | None, stale_aliases: Sequence[str],
           split: str = "all") -> str:
    lines = [
        f"evaluation set (split {split}): {len(rows)} hosts ({report.counts['app']} app, "
        f"{report.counts['noise']} noise, {report.counts['unknown']} unknown; "
        f"{len({r.app for r in rows if r.label == 'app'})} apps)",
        "",
        f"precision of app attribution  {report.precision:.3f}  "
        f"({report.correct}/{report.attributed})   target >= {TARGETS['precision']:.2f}",
        f"recall on app hosts           {report.recall:.3f}  "
        f"({report.correct}/{report.counts['app']})   target >= {TARGETS['recall']:.2f}",
        f"app hosts given any app       {report.app_coverage:.3f}",
        f"noise recall                  {report.noise_recall:.3f}",
        f"unknown hosts given an app    {report.unknown_false_app:.3f}",
        "",
        "confusion (rows: label; columns: what the matcher said)",
        f"  {'':8} {'right_app':>9} {'wrong_app':>9} {'noise':>7} {'unknown':>8} {'other':>6}",
    ]
    for lab in LABELS:
        c = report.confusion[lab]
        lines.append(f"  {lab:8} {c['right_app']:9} {c['wrong_app']:9} {c['noise']:7} "
                     f"{c['unknown']:8} {c['other']:6}")
    titles = {
        "app_missed": "app hosts given no app",
        "app_wrong": "app hosts given another app",
        "false_app": "noise/unknown hosts given an app",
        "noise_missed": "noise hosts not classified as noise",
    }
    for kind in MISS_KINDS:
        found = report.misses(kind)
        lines += ["", f"{titles[kind]}: {len(found)} (first {min(misses, len(found))})"]
        for o in found[:misses]:
            said = f"{o.kind}:{o.key}" + (f" ({o.name})" if o.kind in APP_KINDS else "")
            lines.append(f"  {o.host:48} {o.app or o.label:28} -> {said}")
    if stale_aliases:
        lines += ["", "aliases naming no KB app id: " + ", ".join(stale_aliases)]
    if demo is not None:
        lines += ["", "demo district request volume classified (app or noise)"]
        for label, v in demo.items():
            lines.append(f"  {label:8} {v.share:.3%}  ({v.app + v.noise}/{v.events} events; "
                         f"app {v.app}, noise {v.noise})   target >= {TARGETS['demo_classified']:.0%}")
            if v.top_unclassified:
                lines.append("           unclassified: " + ", ".join(
                    f"{h} ({n})" for h, n in v.top_unclassified[:5]))
    return "\n".join(lines)


def met(report: Report, demo: Mapping[str, VolumeShare] | None) -> bool:
    ok = report.precision >= TARGETS["precision"] and report.recall >= TARGETS["recall"]
    if demo is not None:
        ok = ok and demo["service"].share >= TARGETS["demo_classified"]
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", type=Path, default=SET_PATH, help="labelled hosts CSV")
    ap.add_argument("--aliases", type=Path, default=ALIASES_PATH, help="eval_name,kb_id CSV")
    ap.add_argument("--split", choices=SPLITS, default="all",
                    help="measure the dev or test half (by product / registered domain), or all")
    ap.add_argument("--misses", type=int, default=None,
                    help="misses to list per kind (default: 30 on dev, none on test and all, "
                         "so the held-out half is not seen by accident)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of text")
    ap.add_argument("--no-demo", action="store_true", help="skip the demo-volume figure")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)
    try:
        rows = select_split(load_set(args.set), args.split)
        aliases = load_aliases(args.aliases)
    except EvalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    misses = args.misses if args.misses is not None else (30 if args.split == "dev" else 0)
    report = score(rows, build_matcher(), aliases)
    demo = None if args.no_demo else demo_shares()
    stale = check_aliases(aliases)
    if args.json:
        print(json.dumps(to_json(report, rows, misses, demo, stale, args.split), indent=2))
    else:
        print(render(report, rows, misses, demo, stale, args.split))
    return 1 if args.check and not met(report, demo) else 0


if __name__ == "__main__":
    sys.exit(main())
