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
