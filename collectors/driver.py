"""The shared line driver: the bad-input policy, written once.

It owns opening (plain or gzip), decoding, line numbers, the maximum line
length, counting, and the samples of rejected lines. Formats only see one
decoded line at a time.

Offsets are byte offsets in the *decompressed* stream, so a log that is
rotated and then gzipped resumes where the plain file stopped.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from collectors.base import LineParser
from collectors.errors import ParseError
from collectors.event import Event
from collectors.fold import Folder

CHUNK = 1 << 20
MAX_LINE = 64 * 1024
FINGERPRINT_BYTES = 1024
SAMPLE_CHARS = 2048


@dataclass
class ReadStats:
    read: int = 0
    parsed: int = 0
    ignored: int = 0
    rejected: int = 0
    decode_errors: int = 0
    """Lines with bytes that are not UTF-8 (kept, with U+FFFD in their place)."""
    reasons: Counter[str] = field(default_factory=Counter)

    def merge(self, other: ReadStats) -> None:
        self.read += other.read
        self.parsed += other.parsed
        self.ignored += other.ignored
        self.rejected += other.rejected
        self.decode_errors += other.decode_errors
        self.reasons.update(other.reasons)


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str
    raw: str


@dataclass
class Batch:
    """What one chunk of input gave, and where the input stands after it."""

    events: list[Event]
    rejected: list[Rejected]
    offset: int
    line: int
    mid_line: bool = False
    """True when the chunk ended on a final line without its newline."""


@dataclass(frozen=True)
class FileIdentity:
    """Who a file is, independent of its name: rotation and gzip keep it."""

    path: str
    size: int
    inode: int
    compressed: bool
    fingerprint: str
    """sha256 of the first ``fp_len`` decompressed bytes."""
    fp_len: int
    mtime: float

    @classmethod
    def of(cls, path: Path) -> FileIdentity:
        st = path.stat()
        compressed = is_gzip(path)
        with open_stream(path, compressed) as fh:
            head = fh.read(FINGERPRINT_BYTES)
        return cls(str(path), st.st_size, st.st_ino, compressed,
                   hashlib.sha256(head).hexdigest(), len(head), st.st_mtime)

    def prefix_hash(self, length: int) -> str:
        """Fingerprint of the first ``length`` bytes, to recognise a grown file."""
        with open_stream(Path(self.path), self.compressed) as fh:
            return hashlib.sha256(fh.read(length)).hexdigest()


def open_stream(path: Path, compressed: bool | None = None) -> BinaryIO:
    if compressed is None:
        compressed = is_gzip(path)
    if compressed:
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def read_batches(
    path: Path,
    parse: LineParser,
    stats: ReadStats,
    *,
    offset: int = 0,
    line: int = 0,
    skip_partial: bool = False,
    final: bool = True,
    max_line: int = MAX_LINE,
    chunk: int = CHUNK,
    folder: Folder | None = None,
    replay: int = 0,
) -> Iterator[Batch]:
    """Parse ``path`` from ``offset`` (the byte after line number ``line``).

    ``skip_partial``: the previous read ended on a line without a newline that
    has since grown; the rest of that line is rejected, not read twice.
    ``final``: parse a last line that has no newline (otherwise leave it for
    the next read, as a writer may still be writing it).
    ``folder``: the format's compiled fold; the lines it takes are counted as
    parsed and left in it (``folder.drain()``), the rest are parsed here.
    ``replay``: when resuming (``offset > 0``), first pass this many lines from
    the top through the parser, discarding what they give, so a parser that
    keeps state from headers (`LogFormat.header_lines`) has it again.
    """
    if offset and replay:
        _replay_head(path, parse, replay, max_line, folder)
    with open_stream(path) as fh:
        if offset:
            fh.seek(offset)
        buf = b""
        dropping = skip_partial
        drop_reason = "continuation of a line read before the file grew"
        pos = offset
        while True:
            data = fh.read(chunk)
            eof = not data
            if data:
                buf += data
            cut = buf.rfind(b"\n")
            if cut < 0:
                if eof:
                    if buf and final:
                        pending, buf = buf, b""
                    else:
                        break
                else:
                    if len(buf) > max_line:
                        # A line longer than the limit: drop it up to its newline.
                        if not dropping:
                            line += 1
                            stats.read += 1
                            stats.rejected += 1
                            reason = f"line longer than {max_line} bytes"
                            stats.reasons[reason] += 1
                            batch = Batch([], [Rejected(line, reason, _sample(buf))], pos, line)
                            dropping, drop_reason = True, ""
                            pos += len(buf)
                            batch.offset = pos
                            yield batch
                        else:
                            pos += len(buf)
                        buf = b""
                    continue
            else:
                pending, buf = buf[: cut + 1], buf[cut + 1 :]
            start_line = line
            if folder is not None:
                batch = _fold_chunk(pending, folder, parse, stats, line, dropping, drop_reason,
                                    max_line)
            else:
                batch = _parse_chunk(pending, parse, stats, line, dropping, drop_reason, max_line)
            dropping = False
            pos += len(pending)
            line = batch.line
            batch.offset = pos
            batch.mid_line = not pending.endswith(b"\n")
            if batch.line != start_line or batch.events or batch.rejected:
                yield batch
            if eof:
                break


def _parse_chunk(
    data: bytes, parse: LineParser, stats: ReadStats, line: int,
    dropping: bool, drop_reason: str, max_line: int,
) -> Batch:
    try:
        text = data.decode("utf-8")
        lines = text.split("\n")
        bad_utf8 = False
    except UnicodeDecodeError:
        lines = [b.decode("utf-8", errors="replace") for b in data.split(b"\n")]
        bad_utf8 = True
        text = ""
    if lines and lines[-1] == "":
        lines.pop()
    events: list[Event] = []
    rejected: list[Rejected] = []
    if dropping and lines:
        # The tail of a line already counted (too long, or read before it
        # grew): same line number; counted again only if it says something.
        tail = lines.pop(0)
        if drop_reason and tail.strip():
            stats.read += 1
            reject(stats, rejected, line, drop_reason, tail)
    read = len(lines)
    ignored = 0
    if bad_utf8 or "\r" in text or max(map(len, lines), default=0) > max_line:
        lines = _clean(lines, line, stats, rejected, max_line, bad_utf8)
    append = events.append
    for text in lines:
        line += 1
        if text is None:
            continue  # rejected by _clean
        try:
            ev = parse(text, line)
        except ParseError as exc:
            if not text or text.isspace():
                ignored += 1
            else:
                reject(stats, rejected, line, exc.reason, text)
            continue
        if ev is None:
            ignored += 1
        else:
            append(ev)
    if len(rejected) > 1:
        rejected.sort(key=lambda r: r.line)
    stats.read += read
    stats.ignored += ignored
    stats.parsed += len(events)
    return Batch(events, rejected, 0, line)


def _replay_head(path: Path, parse: LineParser, count: int, max_line: int,
                 folder: Folder | None) -> None:
    prime = getattr(folder, "prime", None)
    with open_stream(path) as fh:
        for i in range(count):
            raw = fh.readline(max_line + 1)
            if not raw:
                return
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            with contextlib.suppress(ParseError):
                parse(text, i + 1)
            if prime is not None:
                prime(text)


def _fold_chunk(
    data: bytes, folder: Folder, parse: LineParser, stats: ReadStats, line: int,
    dropping: bool, drop_reason: str, max_line: int,
) -> Batch:
    """Let the folder take what it can; parse the rest as `_parse_chunk` would."""
    rejected: list[Rejected] = []
    if dropping and data:
        nl = data.find(b"\n")
        tail, data = (data, b"") if nl < 0 else (data[:nl], data[nl + 1 :])
        text = tail.decode("utf-8", errors="replace")
        if drop_reason and text.strip():
            stats.read += 1
            reject(stats, rejected, line, drop_reason, text)
    if not data:
        return Batch([], rejected, 0, line)
    count, slow, ignored = folder.fold(data)
    stats.read += count
    stats.ignored += ignored
    stats.parsed += count - len(slow) - ignored
    events: list[Event] = []
    if slow:
        pieces = data.split(b"\n")
        for i in slow:
            n = line + i + 1
            raw = pieces[i]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("utf-8", errors="replace")
                stats.decode_errors += 1
            if text and text[-1] == "\r":
                text = text[:-1]
            if len(text) > max_line:
                reject(stats, rejected, n, f"line longer than {max_line} bytes", text)
                continue
            try:
                ev = parse(text, n)
            except ParseError as exc:
                if not text or text.isspace():
                    stats.ignored += 1
                else:
                    reject(stats, rejected, n, exc.reason, text)
                continue
            if ev is None:
                stats.ignored += 1
            else:
                stats.parsed += 1
                events.append(ev)
    return Batch(events, rejected, 0, line + count)


def _clean(lines: list[str], line: int, stats: ReadStats, rejected: list[Rejected],
           max_line: int, bad_utf8: bool) -> list[Any]:
    """The slow path: carriage returns, over-long lines, undecodable bytes."""
    out: list[str | None] = []
    for text in lines:
        line += 1
        if text and text[-1] == "\r":
            text = text[:-1]
        if len(text) > max_line:
            reject(stats, rejected, line, f"line longer than {max_line} bytes", text)
            out.append(None)
            continue
        if bad_utf8 and "\ufffd" in text:
            stats.decode_errors += 1
        out.append(text)
    return out


def reject(stats: ReadStats, out: list[Rejected], line: int, reason: str, raw: str) -> None:
    """Count a rejected record and keep its sample (cut to `SAMPLE_CHARS`)."""
    stats.rejected += 1
    stats.reasons[reason] += 1
    out.append(Rejected(line, reason, raw[:SAMPLE_CHARS]))


def _sample(raw: bytes) -> str:
    return raw[:SAMPLE_CHARS].decode("utf-8", errors="replace")


def settled(path: Path, seconds: float, now: float) -> bool:
    """A file nobody has written to for ``seconds``: its last line is whole."""
    return now - os.stat(path).st_mtime >= seconds


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"
