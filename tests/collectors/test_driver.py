from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from collectors.driver import FileIdentity, ReadStats, read_batches
from collectors.errors import FormatError
from collectors.registry import FORMATS, ParseContext, detect_file, get_format

LINE = ("29-Nov-2026 14:03:{s:02d}.000 queries: info: client @0x1 10.0.0.{c}#1 ({h}): "
        "query: {h} IN A + (10.0.0.53)\n")


def lines(n: int, start: int = 0) -> str:
    return "".join(LINE.format(s=i % 60, c=i % 200, h=f"h{i}.example") for i in range(start, start + n))


def run(path: Path, **kw: object) -> tuple[list[str], ReadStats, int, int]:
    stats = ReadStats()
    hosts, offset, line = [], 0, 0
    for b in read_batches(path, FORMATS["bind"].make_parser(ParseContext()), stats, **kw):  # type: ignore[arg-type]
        hosts += [e.host for e in b.events]
        offset, line = b.offset, b.line
    return hosts, stats, offset, line


def test_plain_and_gzip_read_the_same(tmp_path: Path) -> None:
    text = lines(500)
    (tmp_path / "a.log").write_text(text)
    with gzip.open(tmp_path / "a.log.gz", "wt") as fh:
        fh.write(text)
    a, b = run(tmp_path / "a.log"), run(tmp_path / "a.log.gz")
    assert a[0] == b[0] and len(a[0]) == 500
    plain, packed = FileIdentity.of(tmp_path / "a.log"), FileIdentity.of(tmp_path / "a.log.gz")
    assert plain.fingerprint == packed.fingerprint


def test_resume_from_offset_reads_only_new_lines(tmp_path: Path) -> None:
    p = tmp_path / "q.log"
    p.write_text(lines(100))
    first, _, offset, line = run(p, chunk=1000)
    with p.open("a") as fh:
        fh.write(lines(50, start=100))
    second, stats, _, end_line = run(p, offset=offset, line=line)
    assert len(first) == 100 and len(second) == 50
    assert second[0] == "h100.example" and end_line == 150 and stats.read == 50


def test_unfinished_last_line_waits_unless_final(tmp_path: Path) -> None:
    p = tmp_path / "q.log"
    p.write_text(lines(3) + LINE.format(s=1, c=1, h="tail.example").rstrip("\n"))
    hosts, _, offset, _ = run(p, final=False)
    assert len(hosts) == 3 and offset == len(lines(3))
    hosts, _, _, _ = run(p, final=True)
    assert hosts[-1] == "tail.example"


def test_growth_of_a_line_already_read_is_rejected_not_reread(tmp_path: Path) -> None:
    p = tmp_path / "q.log"
    p.write_text(lines(2) + "29-Nov-2026 14:03:00.000 queries: info: client @0x1 10.0.0.1#1 "
                 "(x.example): query: x.example IN A +")
    stats = ReadStats()
    parser = FORMATS["bind"].make_parser(ParseContext())
    last = list(read_batches(p, parser, stats))[-1]
    assert last.mid_line
    with p.open("a") as fh:
        fh.write("E(0)K (10.0.0.53)\n" + lines(1, start=7))
    stats2 = ReadStats()
    events = [e for b in read_batches(p, parser, stats2, offset=last.offset, line=last.line,
                                      skip_partial=True) for e in b.events]
    assert [e.host for e in events] == ["h7.example"]
    assert stats2.reasons == {"continuation of a line read before the file grew": 1}


def test_over_long_line_spanning_chunks_is_one_rejection(tmp_path: Path) -> None:
    p = tmp_path / "q.log"
    p.write_text(lines(1) + "x" * 50_000 + "\n" + lines(1, start=1))
    hosts, stats, _, line = run(p, chunk=4096, max_line=10_000)
    assert hosts == ["h0.example", "h1.example"]
    assert stats.rejected == 1 and line == 3 and stats.read == 3


def test_unknown_format_lists_known_ones(tmp_path: Path) -> None:
    every = ", ".join(sorted(FORMATS))
    assert "bind" in FORMATS and "squid" in FORMATS
    with pytest.raises(FormatError, match=f"known formats: {re.escape(every)}$"):
        get_format("nope")
    p = tmp_path / "mystery.txt"
    p.write_text("hello world\n")
    with pytest.raises(FormatError, match=rf"mystery.txt: cannot detect.*{re.escape(every)}$"):
        detect_file(p)
