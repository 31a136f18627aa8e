"""Whole JSON documents (`collectors.jsondoc`): the size cap, the unchanged check,
decoding, and record numbering, shared by the Windows DNS analytical, Entra ID
and Google Workspace readers."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collectors import jsondoc
from collectors.dns.windows import FORMATS as WINDOWS
from collectors.driver import Batch, ReadStats
from collectors.errors import ParseError
from collectors.event import Event


def event(record: dict[str, Any], line: int) -> Event | None:
    if record.get("bad"):
        raise ParseError("bad record")
    if record.get("skip"):
        return None
    return Event(ts=float(line), host=str(record["host"]), client="", user="", kind="dns",
                 qtype="A", line=line)


def test_a_document_over_the_cap_is_one_reject_once(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps([{"host": f"h{i}.example"} for i in range(100)]))
    stats = ReadStats()
    got = jsondoc.load(path, stats, 0, 0, max_bytes=256)
    assert isinstance(got, Batch) and got.events == []
    assert [(r.line, r.reason) for r in got.rejected] == [(1, "JSON document larger than 256 bytes")]
    assert got.rejected[0].raw.startswith('[{"host": "h0.example"}')
    assert (stats.read, stats.rejected, got.line) == (1, 1, 1)
    # Read again after growing: rejected once only, so no second reject.
    path.write_text(path.read_text() + " ")
    assert jsondoc.load(path, ReadStats(), got.offset, got.line, max_bytes=256) is None


def test_an_unchanged_document_is_not_read_again(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_text('[{"host": "a.example"}]')
    doc = jsondoc.load(path, ReadStats(), 0, 0)
    assert isinstance(doc, jsondoc.Document) and doc.size == path.stat().st_size
    assert jsondoc.load(path, ReadStats(), doc.size, 1) is None
    path.write_text('[{"host": "a.example"}, {"host": "b.example"}]')
    assert isinstance(jsondoc.load(path, ReadStats(), doc.size, 1), jsondoc.Document)


def test_gzip_documents_are_read_decompressed(tmp_path: Path) -> None:
    path = tmp_path / "doc.json.gz"
    path.write_bytes(gzip.compress(b'{"events": []}'))
    doc = jsondoc.load(path, ReadStats(), 0, 0)
    assert isinstance(doc, jsondoc.Document) and doc.text == '{"events": []}'


@pytest.mark.parametrize(("raw", "text", "bad"), [
    (b'\xef\xbb\xbf[{"a": 1}]', '[{"a": 1}]', False),
    ('[{"a": "é"}]'.encode("utf-16"), '[{"a": "é"}]', False),
    (b'[{"a": "\xff"}]', '[{"a": "\ufffd"}]', True),
])
def test_decoding(raw: bytes, text: str, bad: bool) -> None:
    assert jsondoc.decode(raw) == (text, bad)


def test_events_and_rejects_carry_the_line_their_record_starts_on() -> None:
    text = '[\n  {"host": "a.example"},\n  {"bad": true},\n\n  {"skip": 1},\n  {"host": "b"}\n]'
    records = [(text.index(k), json.loads(v)) for k, v in (
        ('{"host": "a', '{"host": "a.example"}'), ('{"bad"', '{"bad": true}'),
        ('{"skip"', '{"skip": 1}'), ('{"host": "b"', '{"host": "b"}'))]
    records.insert(2, (text.index('{"bad"'), "not an object"))
    stats = ReadStats()
    batch = jsondoc.numbered_events(jsondoc.Document(text, len(text)), records, 0, stats, event)
    assert [(e.host, e.line) for e in batch.events] == [("a.example", 2), ("b", 6)]
    assert [(r.line, r.reason) for r in batch.rejected] == [(3, "bad record"),
                                                           (3, "not a JSON object")]
    assert (stats.read, stats.parsed, stats.ignored, stats.rejected) == (5, 2, 1, 2)
    assert (batch.offset, batch.line) == (len(text), 5)
    # A second read of the grown document skips the records already taken.
    again = jsondoc.numbered_events(jsondoc.Document(text, len(text)), records, 4, ReadStats(),
                                    event)
    assert [(e.host, e.line) for e in again.events] == [("b", 6)]


@given(st.lists(st.text(max_size=20), max_size=8))
def test_any_records_give_events_or_rejects_never_an_exception(values: list[str]) -> None:
    text = "\n".join(values)
    records = [(min(i, len(text)), v if i % 2 else {"host": v}) for i, v in enumerate(values)]
    stats = ReadStats()
    batch = jsondoc.numbered_events(jsondoc.Document(text, len(text)), records, 0, stats, event)
    assert stats.read == len(values) == len(batch.events) + len(batch.rejected)


def test_the_windows_reader_applies_the_cap(tmp_path: Path, monkeypatch: Any) -> None:
    path = tmp_path / "analytic.json"
    path.write_text(json.dumps([{"QNAME": f"h{i}.example"} for i in range(50)], indent=2))
    monkeypatch.setattr(jsondoc, "MAX_DOCUMENT", 128)
    monkeypatch.setattr(jsondoc.load, "__defaults__", (128,))
    fmt = next(f for f in WINDOWS if f.name == "windns_analytic_json")
    assert fmt.read_records is not None
    stats = ReadStats()
    batches = list(fmt.read_records(path, None, stats))  # type: ignore[arg-type]
    assert [r.reason for b in batches for r in b.rejected] == ["JSON document larger than 128 bytes"]
    assert stats.parsed == 0
