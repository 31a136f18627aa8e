"""Golden files: tests/data/<format>/*.log against *.expected.jsonl, and bad.log
against bad.expected.json (the counts of a file full of broken input)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collectors.driver import ReadStats, read_batches
from collectors.registry import FORMATS, ParseContext, detect_file

DATA = Path(__file__).parent.parent / "data"
GOLDEN = sorted(p for p in DATA.glob("*/*.log") if (p.with_suffix(".expected.jsonl")).exists())
BAD = sorted(DATA.glob("*/bad.log"))


def _parse(path: Path, fmt: str) -> tuple[list[dict[str, object]], ReadStats]:
    stats = ReadStats()
    parser = FORMATS[fmt].make_parser(ParseContext())
    events = [ev.to_json() for b in read_batches(path, parser, stats) for ev in b.events]
    return events, stats


def test_every_format_has_golden_and_bad_files() -> None:
    for name in FORMATS:
        assert any(p.parent.name == name for p in GOLDEN), f"no golden file for {name}"
        assert (DATA / name / "bad.log").exists(), f"no bad.log for {name}"


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
