"""Syslog headers: what wraps a message when a DNS server or an appliance logs
through syslog (RFC 3164 "BSD" lines, rsyslog's RFC 3339 file format, RFC 5424).

    [<PRI>]Mmm dd hh:mm:ss HOST TAG[PID]: MSG            (RFC 3164 / traditional file)
    [<PRI>]2026-11-29T10:00:00.123-06:00 HOST TAG[PID]: MSG   (rsyslog high precision)
    <PRI>1 2026-11-29T10:00:00.123Z HOST APP PROCID MSGID [SD|-] MSG   (RFC 5424)

Format modules call `split_syslog` to peel the header off and parse the
message themselves. Hand-written: the header grammar is small and this runs
once per line; the syslog libraries on PyPI are senders or servers, not
parsers of stored lines.
"""

from __future__ import annotations

from typing import NamedTuple

from collectors.clock import LocalClock, iso_stamp
from collectors.errors import ParseError


class SyslogLine(NamedTuple):
    ts: float
    host: str
    app: str
    """The tag (RFC 3164) or APP-NAME (RFC 5424), '' when absent."""
    pid: str
    msg: str


def has_syslog_header(line: str) -> bool:
    """Cheap test for sniffers: does this line start like syslog?"""
    s = line
    if s.startswith("<"):
        end = s.find(">", 1, 5)
        if end < 0:
            return False
        s = s[end + 1 :]
        if s.startswith("1 "):
            s = s[2:]
    if len(s) > 14 and s[3] == " " and s[5] == " " and s[4].isdigit():
        s = s[:4] + " " + s[4:]
    if len(s) > 15 and s[3] == " " and s[6] == " " and s[9] == ":" and s[12] == ":":
        return s[:3].lower() in _MONTHS
    return len(s) > 19 and s[4] == "-" and s[7] == "-" and s[10] == "T"


_MONTHS = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}


def split_syslog(line: str, clock: LocalClock, reference: float) -> SyslogLine:
    """Parse the header; ``reference`` (POSIX seconds) infers RFC 3164's missing year."""
    s = line
    rfc5424 = False
    if s.startswith("<"):
        end = s.find(">", 1, 5)
        if end < 0 or not s[1:end].isdigit():
            raise ParseError("bad syslog priority")
        s = s[end + 1 :]
        if s.startswith("1 "):
            rfc5424, s = True, s[2:]
    if rfc5424:
        parts = s.split(" ", 5)
        if len(parts) < 6:
            raise ParseError("truncated RFC 5424 header")
        stamp, host, app, procid, _msgid, rest = parts
        try:
            ts = iso_stamp(stamp, clock.tz)
        except ValueError:
            raise ParseError("bad timestamp") from None
        msg = _skip_structured_data(rest).removeprefix("\ufeff")
        return SyslogLine(ts, _nil(host), _nil(app), _nil(procid), msg)
    if len(s) > 14 and s[3] == " " and s[5] == " " and s[4].isdigit():
        s = s[:4] + " " + s[4:]  # "Oct 4" as some senders write it, for "Oct  4"
    if len(s) > 15 and s[3] == " " and s[6] == " ":
        cut = s.find(" ", 15)
        if cut < 0:
            raise ParseError("truncated syslog line")
        try:
            ts = clock.syslog_stamp(s[:cut], reference)
        except ValueError:
            raise ParseError("bad timestamp") from None
    elif len(s) > 19 and s[4] == "-" and s[10] == "T":
        cut = s.find(" ")
        if cut < 0:
            raise ParseError("truncated syslog line")
        try:
            ts = iso_stamp(s[:cut], clock.tz)
        except ValueError:
            raise ParseError("bad timestamp") from None
    else:
        raise ParseError("no syslog header")
    rest = s[cut + 1 :]
    host, sep, rest = rest.partition(" ")
    if not sep:
        raise ParseError("truncated syslog line")
    tag, sep, msg = rest.partition(": ")
    if sep and " " in tag:
        # A relay may add a word before the tag ("HOST 10.0.0.9 named[1]: ..."):
        # take the last word when it looks like a tag.
        last = tag.rsplit(" ", 1)[1]
        if last.endswith("]") and "[" in last and last[: last.find("[")].replace("-", "").isalnum():
            tag = last
        else:
            sep = ""
    if not sep:
        # No tag: some senders write "HOST message" directly.
        return SyslogLine(ts, host, "", "", rest)
    pid = ""
    if tag.endswith("]") and "[" in tag:
        tag, _, pid = tag[:-1].partition("[")
    return SyslogLine(ts, host, tag, pid, msg)


def _nil(field: str) -> str:
    return "" if field == "-" else field


def _skip_structured_data(rest: str) -> str:
    if rest.startswith("-"):
        return rest[2:] if rest.startswith("- ") else rest[1:]
    if not rest.startswith("["):
        raise ParseError("bad RFC 5424 structured data")
    i, n, depth, quoted = 0, len(rest), 0, False
    while i < n:
        ch = rest[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0 and (i + 1 >= n or rest[i + 1] != "["):
                return rest[i + 2 :] if i + 1 < n else ""
        i += 1
    raise ParseError("unterminated RFC 5424 structured data")


class SyslogFramer:
    """Bytes from a syslog stream in, whole messages out (RFC 6587).

    A TCP sender frames each message either by octet counting
    (``LEN SP MSG``, RFC 6587 3.4.1, what RFC 5425/5424 senders use) or by a
    trailing newline (3.4.2, the traditional way; some senders end with NUL or
    CRLF). The framing is detected per message from its first byte: a digit
    starts an octet count, ``<`` a newline-framed message. UDP gives one
    message per datagram: `datagram`.

    Messages come out as text (UTF-8, undecodable bytes replaced, a leading
    BOM dropped) without their framing, ready for a format's line parser: a
    vendor line received over syslog and the same line read from a file then
    parse alike. A message longer than ``max_message`` is cut there and
    counted in ``truncated``; a broken octet count is counted in ``errors``
    and the stream resynchronizes at the next newline.
    """

    def __init__(self, max_message: int = 64 * 1024) -> None:
        self.max_message = max_message
        self._buf = bytearray()
        self._skip = 0
        self._drop_line = False
        self.truncated = 0
        self.errors = 0

    def feed(self, data: bytes) -> list[str]:
        """Add bytes received; return the messages they complete."""
        self._buf += data
        out: list[str] = []
        buf = self._buf
        pos = 0
        n = len(buf)
        while pos < n:
            if self._drop_line:  # the rest of an over-long newline-framed message
                end = _frame_end(buf, pos)
                if end < 0:
                    pos = n
                    break
                self._drop_line = False
                pos = end + 1
                continue
            if self._skip:  # the rest of an over-long octet-counted message
                take = min(self._skip, n - pos)
                pos += take
                self._skip -= take
                continue
            c = buf[pos]
            if c in b"\r\n\x00 ":
                pos += 1  # blank line or separator between messages
                continue
            if 0x30 <= c <= 0x39:  # octet counting
                sp = buf.find(b" ", pos, min(n, pos + 12))
                if sp < 0:
                    if n - pos >= 12:  # no SP within a sane count: not a count after all
                        pos = self._bad_count(buf, pos, n)
                        continue
                    break  # wait for more bytes
                digits = bytes(buf[pos:sp])
                if not digits.isdigit():
                    pos = self._bad_count(buf, pos, n)
                    continue
                length = int(digits)
                start = sp + 1
                if length > self.max_message:
                    if n - start < self.max_message:
                        break
                    out.append(self._text(buf[start : start + self.max_message]))
                    self.truncated += 1
                    self._skip = length - self.max_message
                    pos = start + self.max_message
                    continue
                if n - start < length:
                    break
                out.append(self._text(buf[start : start + length]))
                pos = start + length
                continue
            end = _frame_end(buf, pos)
            if end < 0:
                if n - pos > self.max_message:
                    out.append(self._text(buf[pos : pos + self.max_message]))
                    self.truncated += 1
                    self._drop_line = True
                    pos = n
                    continue
                break
            out.append(self._text(buf[pos:end]))
            pos = end + 1
        del buf[:pos]
        return out

    def _bad_count(self, buf: bytearray, pos: int, n: int) -> int:
        """A digit that does not start a valid count: drop to the next newline."""
        self.errors += 1
        nl = buf.find(b"\n", pos)
        if nl < 0:
            self._drop_line = True
            return n
        return nl + 1

    def flush(self) -> list[str]:
        """At the end of a stream: a last message without its newline."""
        rest = bytes(self._buf).strip(b"\r\n\x00 ")
        self._buf.clear()
        dropping = self._skip or self._drop_line
        self._skip, self._drop_line = 0, False
        return [self._text(rest)] if rest and not dropping else []

    @staticmethod
    def datagram(data: bytes) -> str:
        """One UDP datagram: one message (RFC 5426), trailing newline dropped."""
        return SyslogFramer._text(data.rstrip(b"\r\n\x00"))

    @staticmethod
    def _text(raw: bytes | bytearray) -> str:
        text = bytes(raw).decode("utf-8", errors="replace")
        if text.endswith("\r"):
            text = text[:-1]
        return text.removeprefix("\ufeff")


def _frame_end(buf: bytearray, pos: int) -> int:
    """Index of the LF or NUL ending the newline-framed message at ``pos`` (-1: not yet)."""
    lf = buf.find(b"\n", pos)
    nul = buf.find(b"\x00", pos, lf if lf >= 0 else len(buf))
    return nul if nul >= 0 else lf
