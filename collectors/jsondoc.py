"""JSON documents read whole, for the formats that take either JSON lines or a
document (a bracketed array, a wrapper object, concatenated objects): the
Windows DNS analytical export, Entra ID sign-in and audit logs, the Google
Workspace Reports API pages (and Okta through them).

What they share is here: loading the document (a size cap, the "unchanged
since the last read" check, BOM and UTF-16 decoding) and turning framed
records into events and rejects numbered by the text line where each record
starts. How a document is framed into records differs per format and stays
with it.

A document cannot be appended to in place (except as concatenated objects),
so its checkpoint is its size and the number of records taken: a document
that changed is read again from the start and its first records skipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collectors.driver import SAMPLE_CHARS, Batch, Rejected, open_stream, reject
from collectors.errors import ParseError
from collectors.event import Event

MAX_DOCUMENT = 256 * 1024 * 1024
"""Largest whole JSON document read (decompressed bytes); JSON lines have no limit.
A larger document is rejected as one record: reading it would hold it in memory."""
LINE_OPTIONS = ("skip_partial", "final", "max_line", "chunk", "replay")
"""The line driver's options a JSON-lines file is read with."""


@dataclass(frozen=True, slots=True)
class Document:
    text: str
    size: int
    """Bytes read (the checkpoint offset)."""


def decode(raw: bytes) -> tuple[str, bool]:
    """The text of a document (UTF-8, or UTF-16 with its byte-order mark, as
    Windows PowerShell 5.1 writes), and whether any byte could not be decoded."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw[: len(raw) // 2 * 2].decode("utf-16", errors="replace")
        return text, "\ufffd" in text
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace"), True


def load(path: Path, stats: Any, offset: int, line: int,
         max_bytes: int = MAX_DOCUMENT) -> Document | Batch | None:
    """The document at ``path``, or None when it is unchanged since a read that
    ended at ``offset`` after ``line`` records, or a `Batch` holding its one
    reject when it is larger than ``max_bytes`` (given once, on its first read)."""
    with open_stream(path) as fh:
        raw = fh.read(max_bytes + 1)
    size = len(raw)
    if offset >= size > 0 and line > 0:
        return None
    if size > max_bytes:
        if line > 0:
            return None  # rejected when first read
        reason = f"JSON document larger than {max_bytes} bytes"
        stats.read += 1
        stats.rejected += 1
        stats.reasons[reason] += 1
        sample = raw[:SAMPLE_CHARS].decode("utf-8", "replace")
        return Batch([], [Rejected(1, reason, sample)], size, 1)
    text, bad = decode(raw)
    if bad:
        stats.decode_errors += 1
    return Document(text, size)


def numbered_events(doc: Document, records: Iterable[tuple[int, Any]], line: int, stats: Any,
                    handle: Callable[[dict[str, Any], int], Event | None],
                    error: object = None) -> Batch:
    """Events of ``records`` ((position, value) in document order; ``error`` for a
    record that is no JSON), skipping the first ``line`` (taken by an earlier
    read). ``handle(record, line)`` gives a record's event, None for a valid record
    with none, or raises ParseError. Events and rejects carry the text line
    where their record starts."""
    text = doc.text
    events: list[Event] = []
    rejected: list[Rejected] = []
    count = 0
    at, lineno = 0, 1
    for pos, item in records:
        count += 1
        if count <= line:
            continue  # taken by an earlier read
        lineno += text.count("\n", at, pos)
        at = pos
        stats.read += 1
        try:
            if item is error:
                raise ParseError("invalid JSON document")
            if not isinstance(item, dict):
                raise ParseError("not a JSON object")
            ev = handle(item, lineno)
        except ParseError as exc:
            if item is error:  # the rest of its line shows what broke
                end = text.find("\n", pos)
                sample = text[pos : end if end > 0 else len(text)]
            else:
                sample = json.dumps(item)
            reject(stats, rejected, lineno, exc.reason, sample)
            continue
        if ev is None:  # a valid record that is no use (a failed sign-in, a PTR query)
            stats.ignored += 1
            continue
        stats.parsed += 1
        events.append(ev)
    return Batch(events, rejected, doc.size, max(count, line))


__all__ = ["LINE_OPTIONS", "MAX_DOCUMENT", "Document", "decode", "load", "numbered_events"]
