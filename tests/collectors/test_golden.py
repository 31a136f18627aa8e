"""Golden files: tests/data/<format>/*.log against *.expected.jsonl, and bad.log
against bad.expected.json (the counts of a file full of broken input)."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from pathlib import Path

import pytest

from collectors.driver import ReadStats, read_batches
from collectors.registry import FORMATS, ParseContext, detect_file

DATA = Path(__file__).parent.parent / "data"
GOLDEN = sorted(p for p in DATA.glob("*/*") if p.suffix != ".json" and p.suffix != ".jsonl"
                and p.with_suffix(".expected.jsonl").exists())
BAD = sorted(p for p in DATA.glob("*/bad.*") if p.suffix not in (".json", ".jsonl"))


def context(folder: Path) -> ParseContext:
    """``context.json`` beside a format's files may set ``tz`` (a zone name) and
    ``reference`` (ISO 8601: "the file was written up to here", for years)."""
    cfg = json.loads((folder / "context.json").read_text()) if (folder / "context.json").exists() else {}
    tz = zoneinfo.ZoneInfo(cfg["tz"]) if "tz" in cfg else dt.UTC
    ref = dt.datetime.fromisoformat(cfg["reference"]) if "reference" in cfg else None
    return ParseContext(tz=tz, reference=ref)


def _parse(path: Path, fmt: str) -> tuple[list[dict[str, object]], ReadStats]:
    stats = ReadStats()
    f = FORMATS[fmt]
    ctx = context(path.parent)
    if f.read_records is not None:
        batches = f.read_records(path, ctx, stats)
    else:
        batches = read_batches(path, f.make_parser(ctx), stats)
    events = [ev.to_json() for b in batches for ev in b.events]
    return events, stats


def test_every_format_has_golden_and_bad_files() -> None:
    for name in FORMATS:
        assert any(p.parent.name == name for p in GOLDEN), f"no golden file for {name}"
        assert any(p.parent.name == name for p in BAD), f"no bad.* input for {name}"


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden(path: Path) -> None:
    events, stats = _parse(path, path.parent.name)
    expected = [json.loads(line) for line in
                path.with_suffix(".expected.jsonl").read_text().splitlines() if line.strip()]
    assert events == expected
    assert stats.rejected == 0


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_files_are_detected(path: Path) -> None:
    assert detect_file(path).name == path.parent.name


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.parent.name)
def test_bad_input_counts(path: Path) -> None:
    _, stats = _parse(path, path.parent.name)
    want = json.loads((path.parent / "bad.expected.json").read_text())
    got = {"read": stats.read, "parsed": stats.parsed, "ignored": stats.ignored,
           "rejected": stats.rejected, "reasons": dict(stats.reasons)}
    if "decode_errors" in want:
        got["decode_errors"] = stats.decode_errors
    assert got == want
    assert stats.read == stats.parsed + stats.ignored + stats.rejected
