"""Admin-defined log formats ("mappings") and the shipped vendor presets.

A district whose web filter exports something Sentinel has no module for can
describe the export in its configuration instead of waiting for code::

    [[formats]]
    name = "lightspeed_csv"          # a format name usable in --format / [[sources]] format
    kind = "proxy"                   # proxy (default), dns or tls
    type = "csv"                     # csv, regex or json
    delimiter = ","                  # csv: one character (default ",")
    columns = ["Date", "User", ...]  # csv: the column names when the file has no header row
    skip_lines = 0                   # csv with a header: preamble lines before the header row
    pattern = '...'                  # regex: Python syntax, named groups
    unmatched = "reject"             # regex: "ignore" to skip lines the pattern does not match
    timestamp = { field = "Date", format = "%m/%d/%Y %I:%M:%S %p", zone = "America/Chicago" }
    [formats.fields]                 # event field -> column / group / dotted JSON path
    client = "IP Address"
    user = ["User", "Email"]         # a list: the first one present and non-empty wins
    url = "URL"                      # the host is taken from the URL when there is no host field
    host = "Domain"
    action = "Action"
    category = "Category"
    [formats.actions]                # source value -> allowed / blocked / warned (any case)
    Blocked = "blocked"
    [formats.sniff]                  # optional; without it the format is never auto-detected
    header = ["Date", "User", "URL"] # csv: columns the header row must have (an item may be a list)
    regex = '^\\d{4}-'               # or: a pattern the first lines must match

`load_mapping` checks everything up front and raises `MappingError` naming the
key and what is wrong (``formats.0.timestamp.format: unknown directive %Q``);
the result is an ordinary `LogFormat` read by the shared line driver.

Event fields: ``client`` (an IP address; anything else is rejected),
``user``, ``host``, ``url``, ``action``, ``category``, ``method``, ``status``
(HTTP status), ``bytes_in`` (bytes sent to the client), ``bytes_out`` (bytes
sent by the client), ``app_name`` and, for kind ``dns``, ``qtype``. A cell that
is empty or ``-`` counts as absent. Actions not listed under ``actions`` go
through the common vocabulary (block/deny/drop/reject... blocked, warn/caution/
continue... warned, anything else allowed).

Timestamp formats: ``epoch`` (seconds, fraction allowed), ``epoch_ms``,
``iso8601`` or a ``strptime`` pattern (a list of them: the first that parses
wins). Without ``%z`` in the stamp, the time is in ``zone`` (default: the
source's zone). A pattern without a year takes the year that puts the stamp
at or before the end of the file, as for syslog.

Per-source options: ``user`` and ``client`` give a value for records that
carry none (an export made for one user, such as Linewize's user timeline).

This module also holds the small helpers the generic appliance formats (CEF,
LEEF) share with the mappings: URL hosts, client addresses, the action
vocabulary.
"""

from __future__ import annotations

import csv
import datetime as dt
import ipaddress
import json
import re
import time
import tomllib
import zoneinfo
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.clock import iso_stamp
from collectors.errors import FormatError, ParseError
from collectors.event import Event
from collectors.hosts import normalize_host
from collectors.hosts import url_host as _url_host

PRESETS_DIR = Path(__file__).parent / "presets"
MAPPING_PRIORITY = 150
"""Admin formats and presets sniff after the built-in vendor formats."""
_CACHE_MAX = 100_000


class MappingError(FormatError):
    """A format mapping (district configuration or preset) that cannot be used."""


# --------------------------------------------------------------------------
# Helpers shared with the CEF and LEEF modules


EMPTY = frozenset(("", "-"))
_IPS: dict[str, str] = {}


def client_ip(text: str) -> str:
    """The canonical text of an IP address ('' for an empty cell); ValueError otherwise."""
    got = _IPS.get(text)
    if got is None:
        raw = text.strip()
        if raw in EMPTY:
            got = ""
        else:
            if raw.startswith("[") and raw.endswith("]"):
                raw = raw[1:-1]
            got = str(ipaddress.ip_address(raw.split("%", 1)[0]))
        if len(_IPS) >= _CACHE_MAX:
            _IPS.clear()
        _IPS[text] = got
    return got


def url_host(url: str) -> str | None:
    """The host of a URL, with or without its scheme (`collectors.hosts.url_host`)."""
    return _url_host(url.strip())

def web_host(raw: str) -> str:
    """`normalize_host` with the rejection as a ParseError."""
    try:
        return normalize_host(raw)
    except ValueError:
        raise ParseError("invalid host") from None


_BLOCK_PREFIXES = ("block", "deny", "deni", "drop", "reject", "prevent", "reset", "refuse", "quarantine")
_WARN_PREFIXES = ("warn", "caution", "continue", "override", "coach")
_WARN_WORDS = frozenset(("ask", "inform", "user check", "usercheck"))
_ACTIONS: dict[str, str] = {}


def vendor_action(value: str) -> str:
    """allowed, blocked or warned for an appliance's action word.

    Blocked: block, blocked, deny, denied, drop, reject, prevent, reset...
    Warned: warn, caution, continue, override(-pending), coach, ask, inform
    (a page the user may click through). Anything else (allow, accept,
    permit, pass, observed, bypass, detect, redirect, ...) is allowed.
    """
    got = _ACTIONS.get(value)
    if got is None:
        v = value.strip().lower()
        if v.startswith(_BLOCK_PREFIXES):
            got = "blocked"
        elif v.startswith(_WARN_PREFIXES) or v in _WARN_WORDS:
            got = "warned"
        else:
            got = "allowed"
        if len(_ACTIONS) >= _CACHE_MAX:
            _ACTIONS.clear()
        _ACTIONS[value] = got
    return got


def count(text: str, reason: str = "bad byte count") -> int | None:
    """A non-negative integer cell ('' and '-' are None); ParseError otherwise."""
    t = text.strip()
    if t in EMPTY:
        return None
    if t.isascii() and t.isdigit() and len(t) <= 18:
        return int(t)
    raise ParseError(reason)


def http_status(text: str) -> int | None:
    t = text.strip()
    if t in EMPTY or t == "0":
        return None
    if t.isascii() and t.isdigit() and len(t) == 3 and t[0] != "0":
        return int(t)
    raise ParseError("bad HTTP status")


# Zone names seen after stamps (Java "zzz", syslog-ng, appliances). Ambiguous
# abbreviations (IST, BST, CST in China...) are left out on purpose: a stamp
# carrying one is rejected rather than guessed at.
ZONE_ABBREVIATIONS: dict[str, float] = {
    "UTC": 0, "GMT": 0, "UT": 0, "Z": 0, "WET": 0, "WEST": 1, "CET": 1, "CEST": 2, "MET": 1,
    "MEST": 2, "EET": 2, "EEST": 3, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7,
    "MDT": -6, "PST": -8, "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10, "AST": -4, "ADT": -3,
    "NST": -3.5, "NDT": -2.5, "AEST": 10, "AEDT": 11, "ACST": 9.5, "ACDT": 10.5, "AWST": 8,
    "NZST": 12, "NZDT": 13, "JST": 9, "KST": 9, "SGT": 8, "HKT": 8,
}
_ZONES: dict[str, dt.tzinfo] = {}


def zone_of(name: str) -> dt.tzinfo:
    """A zone written after a stamp: an abbreviation, ``+01:00``/``-0500``,
    ``GMT+01:00``/``UTC-5`` or an IANA name. ValueError when unknown."""
    got = _ZONES.get(name)
    if got is not None:
        return got
    text = name.strip()
    upper = text.upper()
    tz: dt.tzinfo
    if upper in ZONE_ABBREVIATIONS:
        tz = dt.timezone(dt.timedelta(hours=ZONE_ABBREVIATIONS[upper]))
    else:
        off = upper
        for prefix in ("GMT", "UTC"):
            if off.startswith(prefix):
                off = off[len(prefix):]
                break
        if off[:1] in ("+", "-") and len(off) > 1:
            tz = dt.timezone(_offset(off))
        elif "/" in text:
            try:
                tz = zoneinfo.ZoneInfo(text)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {name[:40]!r}") from None
        else:
            raise ValueError(f"unknown time zone {name[:40]!r}")
    if len(_ZONES) < 1000:
        _ZONES[name] = tz
    return tz


def _offset(text: str) -> dt.timedelta:
    sign = -1 if text[0] == "-" else 1
    body = text[1:].replace(":", "")
    if not (body.isascii() and body.isdigit()) or len(body) not in (1, 2, 3, 4):
        raise ValueError(f"bad zone offset {text[:20]!r}")
    if len(body) <= 2:
        hours, minutes = int(body), 0
    else:
        hours, minutes = int(body[:-2]), int(body[-2:])
    if hours > 14 or minutes > 59:
        raise ValueError(f"bad zone offset {text[:20]!r}")
    return sign * dt.timedelta(hours=hours, minutes=minutes)


def epoch_number(text: str) -> float:
    """POSIX time from digits: seconds, or milliseconds when the number is too
    large for seconds (appliances say "epoch" for either). ValueError otherwise."""
    t = text.strip()
    if not t or not t.replace(".", "", 1).isdigit() or not t.isascii():
        raise ValueError("not a number")
    v = float(t)
    if v >= 1e11:  # later than 5138 in seconds: milliseconds
        v /= 1000.0
    if v >= 1e11:  # microseconds
        v /= 1000.0
    return v


def guess_year(month: int, day: int, hour: int, minute: int, second: float, tz: dt.tzinfo,
               reference: float) -> float:
    """POSIX time of a year-less local stamp: the year puts it at or before
    ``reference`` (a day of slack), like `collectors.clock.LocalClock.syslog_stamp`."""
    year = dt.datetime.fromtimestamp(reference, tz).year
    for y in (year + 1, year, year - 1, year - 2, year - 3, year - 4):
        try:
            t = dt.datetime(y, month, day, hour, minute, tzinfo=tz).timestamp()
        except ValueError:  # 29 February
            continue
        if t <= reference + 86_400:
            return t + second
    raise ValueError("bad date")


# --------------------------------------------------------------------------
# The mapping engine


EVENT_FIELDS = ("client", "user", "host", "url", "action", "category", "method", "status",
                "bytes_in", "bytes_out", "app_name", "app_id", "qtype")
KINDS = ("proxy", "dns", "tls", "sso")
ACTIONS = {"proxy": ("allowed", "blocked", "warned"), "dns": ("allowed", "blocked", "warned"),
           "tls": ("allowed", "blocked", "warned"), "sso": ("signin", "grant", "revoke")}
"""The actions a mapping may give, per kind (the first is the default)."""
TYPES = ("csv", "regex", "json")
SPECIAL_STAMPS = ("epoch", "epoch_ms", "iso8601")
_TOP_KEYS = frozenset(("name", "kind", "type", "description", "delimiter", "columns", "skip_lines",
                       "pattern", "unmatched", "timestamp", "fields", "actions", "sniff", "priority"))
_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
_DIRECTIVES = frozenset("aAbBdfHIjmMpSyYz%")
_STAMP_KEYS = frozenset(("field", "format", "zone"))
_SNIFF_KEYS = frozenset(("header", "regex"))


def load_mapping(spec: Mapping[str, Any], where: str = "formats.0") -> LogFormat:
    """Validate one mapping (a ``[[formats]]`` table) and build its LogFormat.

    ``where`` prefixes every error message (``formats.0``, or a preset file
    and index), so a message names the exact key at fault.
    """
    m = _Spec.check(spec, where)
    return LogFormat(m.name, m.kind, m.description, m.sniff, m.make_parser,
                     header_lines=m.header_lines, priority=m.priority)


def load_mappings(specs: Sequence[Mapping[str, Any]], where: str = "formats",
                  taken: Iterable[str] = ()) -> tuple[LogFormat, ...]:
    """Several mappings (the ``formats`` array); names must be unique and not in ``taken``."""
    if not isinstance(specs, list | tuple):
        raise MappingError(f"{where}: must be an array of tables")
    seen = set(taken)
    out = []
    for i, spec in enumerate(specs):
        fmt = load_mapping(spec, f"{where}.{i}")
        if fmt.name in seen:
            raise MappingError(f"{where}.{i}.name: the format name {fmt.name!r} is already used")
        seen.add(fmt.name)
        out.append(fmt)
    return tuple(out)


def presets() -> dict[str, dict[str, Any]]:
    """The shipped presets: file stem -> the parsed TOML document (``formats`` array)."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(PRESETS_DIR.glob("*.toml")):
        try:
            out[path.stem] = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise MappingError(f"presets/{path.name}: bad TOML: {exc}") from None
    return out


def preset_formats() -> tuple[LogFormat, ...]:
    found: list[LogFormat] = []
    for stem, doc in presets().items():
        found.extend(load_mappings(doc.get("formats", []), f"presets/{stem}.toml: formats",
                                   taken=[f.name for f in found]))
    return tuple(found)


Ref = tuple[str, ...]
"""Where a field comes from: candidates, the first present and non-empty wins."""


class _Spec:
    """A validated mapping."""

    name: str
    kind: str
    type: str
    description: str
    delimiter: str
    columns: tuple[str, ...] | None
    skip_lines: int
    pattern: re.Pattern[str] | None
    ignore_unmatched: bool
    stamp_ref: Ref
    stamp_formats: tuple[str, ...]
    stamp_zone: dt.tzinfo | None
    fields: dict[str, Ref]
    actions: dict[str, str]
    sniff_header: tuple[tuple[str, ...], ...] | None
    sniff_regex: re.Pattern[str] | None
    priority: int
    header_lines: int

    @classmethod
    def check(cls, spec: Mapping[str, Any], where: str) -> _Spec:
        self = cls()
        if not isinstance(spec, Mapping):
            raise MappingError(f"{where}: must be a table")
        for key in spec:
            if key not in _TOP_KEYS:
                raise MappingError(f"{where}.{key}: unknown key (known: {', '.join(sorted(_TOP_KEYS))})")
        name = _need(spec, "name", str, where)
        if not _NAME.fullmatch(name):
            raise MappingError(f"{where}.name: {name[:40]!r} is not a format name "
                               "(lower-case letters, digits and _, starting with a letter)")
        self.name = name
        self.kind = _opt(spec, "kind", str, where, "proxy")
        if self.kind not in KINDS:
            raise MappingError(f"{where}.kind: must be one of {', '.join(KINDS)}")
        self.type = _need(spec, "type", str, where)
        if self.type not in TYPES:
            raise MappingError(f"{where}.type: must be one of {', '.join(TYPES)}")
        self.description = _opt(spec, "description", str, where, f"{name} (district mapping)")
        self.priority = _opt(spec, "priority", int, where, MAPPING_PRIORITY)
        if isinstance(self.priority, bool) or not 0 <= self.priority <= 1000:
            raise MappingError(f"{where}.priority: must be an integer from 0 to 1000")
        for key, only in (("delimiter", "csv"), ("columns", "csv"), ("skip_lines", "csv"),
                          ("pattern", "regex"), ("unmatched", "regex")):
            if key in spec and self.type != only:
                raise MappingError(f"{where}.{key}: only for type = \"{only}\"")
        self._check_csv(spec, where)
        self._check_regex(spec, where)
        self._check_fields(spec, where)
        self._check_timestamp(spec, where)
        self._check_actions(spec, where)
        self._check_sniff(spec, where)
        self._check_refs(where)
        return self

    def _check_csv(self, spec: Mapping[str, Any], where: str) -> None:
        self.delimiter = _opt(spec, "delimiter", str, where, ",")
        if len(self.delimiter) != 1 or self.delimiter in "\"\r\n":
            raise MappingError(f"{where}.delimiter: must be one character (not a quote or newline)")
        cols = spec.get("columns")
        self.columns = None
        if cols is not None:
            if not isinstance(cols, list) or not cols or not all(isinstance(c, str) and c for c in cols):
                raise MappingError(f"{where}.columns: must be a non-empty array of column names")
            lowered = [c.strip().lower() for c in cols]
            if len(set(lowered)) != len(lowered):
                raise MappingError(f"{where}.columns: duplicate column name")
            self.columns = tuple(cols)
        self.skip_lines = _opt(spec, "skip_lines", int, where, 0)
        if isinstance(self.skip_lines, bool) or not 0 <= self.skip_lines <= 100:
            raise MappingError(f"{where}.skip_lines: must be an integer from 0 to 100")
        if self.type == "csv" and self.columns is None:
            self.header_lines = self.skip_lines + 1
        else:
            self.header_lines = self.skip_lines if self.type == "csv" else 0

    def _check_regex(self, spec: Mapping[str, Any], where: str) -> None:
        self.pattern = None
        self.ignore_unmatched = False
        if self.type != "regex":
            return
        text = _need(spec, "pattern", str, where)
        try:
            self.pattern = re.compile(text)
        except re.error as exc:
            raise MappingError(f"{where}.pattern: bad regex: {exc}") from None
        if not self.pattern.groupindex:
            raise MappingError(f"{where}.pattern: has no named groups (?P<name>...)")
        unmatched = _opt(spec, "unmatched", str, where, "reject")
        if unmatched not in ("reject", "ignore"):
            raise MappingError(f"{where}.unmatched: must be \"reject\" or \"ignore\"")
        self.ignore_unmatched = unmatched == "ignore"

    def _check_fields(self, spec: Mapping[str, Any], where: str) -> None:
        fields = spec.get("fields")
        if fields is None:
            raise MappingError(f"{where}.fields: missing")
        if not isinstance(fields, Mapping):
            raise MappingError(f"{where}.fields: must be a table")
        self.fields = {}
        for key, value in fields.items():
            if key not in EVENT_FIELDS:
                raise MappingError(f"{where}.fields.{key}: unknown event field "
                                   f"(known: {', '.join(EVENT_FIELDS)})")
            if key == "qtype" and self.kind != "dns":
                raise MappingError(f"{where}.fields.qtype: only for kind = \"dns\"")
            self.fields[key] = _ref(value, f"{where}.fields.{key}")
        if self.kind == "sso":
            # Sign-ins name an application, not a host.
            if "app_name" not in self.fields and "app_id" not in self.fields:
                raise MappingError(f"{where}.fields.app_name: missing (need app_name or app_id)")
        elif "host" not in self.fields and "url" not in self.fields:
            raise MappingError(f"{where}.fields.host: missing (need host or url)")

    def _check_timestamp(self, spec: Mapping[str, Any], where: str) -> None:
        w = f"{where}.timestamp"
        stamp = spec.get("timestamp")
        if stamp is None:
            raise MappingError(f"{w}: missing")
        if not isinstance(stamp, Mapping):
            raise MappingError(f"{w}: must be a table {{ field = ..., format = ... }}")
        for key in stamp:
            if key not in _STAMP_KEYS:
                raise MappingError(f"{w}.{key}: unknown key (known: field, format, zone)")
        if "field" not in stamp:
            raise MappingError(f"{w}.field: missing")
        self.stamp_ref = _ref(stamp["field"], f"{w}.field")
        fmt = stamp.get("format", "iso8601")
        formats = fmt if isinstance(fmt, list) else [fmt]
        if not formats or not all(isinstance(f, str) and f for f in formats):
            raise MappingError(f"{w}.format: must be a string or an array of strings")
        for f in formats:
            if f not in SPECIAL_STAMPS:
                _check_strptime(f, f"{w}.format")
        self.stamp_formats = tuple(formats)
        zone = stamp.get("zone")
        self.stamp_zone = None
        if zone is not None:
            if not isinstance(zone, str) or not zone:
                raise MappingError(f"{w}.zone: must be a time zone name")
            if zone.upper() in ("UTC", "Z", "GMT"):
                self.stamp_zone = dt.UTC
            else:
                try:
                    self.stamp_zone = zoneinfo.ZoneInfo(zone)
                except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                    raise MappingError(f"{w}.zone: unknown time zone {zone[:40]!r}") from None

    def _check_actions(self, spec: Mapping[str, Any], where: str) -> None:
        actions = spec.get("actions", {})
        if not isinstance(actions, Mapping):
            raise MappingError(f"{where}.actions: must be a table (source value = allowed/blocked/warned)")
        self.actions = {}
        allowed = ACTIONS[self.kind]
        for key, value in actions.items():
            if value not in allowed:
                raise MappingError(f"{where}.actions.{key}: must be one of "
                                   + ", ".join(f'"{a}"' for a in allowed))
            self.actions[key.strip().lower()] = value
        if self.actions and "action" not in self.fields:
            raise MappingError(f"{where}.actions: given but fields.action is not mapped")

    def _check_sniff(self, spec: Mapping[str, Any], where: str) -> None:
        self.sniff_header = None
        self.sniff_regex = None
        sniff = spec.get("sniff")
        if sniff is None:
            return
        w = f"{where}.sniff"
        if not isinstance(sniff, Mapping) or not sniff:
            raise MappingError(f"{w}: must be a table with header or regex")
        for key in sniff:
            if key not in _SNIFF_KEYS:
                raise MappingError(f"{w}.{key}: unknown key (known: header, regex)")
        if "header" in sniff:
            if self.type != "csv" or self.columns is not None:
                raise MappingError(f"{w}.header: only for type = \"csv\" with a header row")
            header = sniff["header"]
            if not isinstance(header, list) or not header:
                raise MappingError(f"{w}.header: must be a non-empty array of column names")
            self.sniff_header = tuple(_ref(h, f"{w}.header.{i}") for i, h in enumerate(header))
        if "regex" in sniff:
            text = sniff["regex"]
            if not isinstance(text, str) or not text:
                raise MappingError(f"{w}.regex: must be a pattern")
            try:
                self.sniff_regex = re.compile(text)
            except re.error as exc:
                raise MappingError(f"{w}.regex: bad regex: {exc}") from None

    def _check_refs(self, where: str) -> None:
        """Every column/group a field names must exist (explicit columns, regex groups)."""
        if self.type == "regex":
            assert self.pattern is not None
            known = set(self.pattern.groupindex)
            what = "no group named {!r} in pattern"
        elif self.type == "csv" and self.columns is not None:
            known = {c.strip().lower() for c in self.columns}
            what = "column {!r} is not in columns"
        else:
            return
        items = [(f"{where}.timestamp.field", self.stamp_ref)]
        items += [(f"{where}.fields.{k}", v) for k, v in self.fields.items()]
        for w, ref in items:
            for name in ref:
                key = name if self.type == "regex" else name.strip().lower()
                if key not in known:
                    raise MappingError(f"{w}: {what.format(name)}")

    # ---- detection

    def sniff(self, lines: Sequence[str]) -> bool:
        if self.sniff_header is not None:
            if not lines or len(lines) <= self.skip_lines:
                return False
            head = lines[self.skip_lines].lstrip("\ufeff")
            if self.delimiter not in head:
                return False
            try:
                cells = next(csv.reader([head], delimiter=self.delimiter))
            except (csv.Error, StopIteration):
                return False
            names = {c.strip().lower() for c in cells}
            if not all(any(a.strip().lower() in names for a in alt) for alt in self.sniff_header):
                return False
        if self.sniff_regex is not None:
            sample = lines[self.header_lines:] if self.header_lines else lines
            if not sample or not all(self.sniff_regex.search(ln) for ln in sample[:5]):
                return False
        return self.sniff_header is not None or self.sniff_regex is not None

    # ---- parsing

    def make_parser(self, ctx: ParseContext) -> LineParser:
        build = _Builder(self, ctx)
        if self.type == "csv":
            return self._csv_parser(build)
        if self.type == "regex":
            return self._regex_parser(build)
        return self._json_parser(build)

    def _csv_parser(self, build: _Builder) -> LineParser:
        delim = self.delimiter
        explicit = self.columns
        skip = self.skip_lines
        all_names = {n.strip().lower() for ref in [self.stamp_ref, *self.fields.values()] for n in ref}
        heads = set(all_names)
        index: dict[str, list[int]] | None = None
        width = 0
        if explicit is not None:
            index, width = self._index([c.strip().lower() for c in explicit])

        def split(line: str) -> list[str]:
            if '"' not in line:
                return line.split(delim)
            try:
                rows = list(csv.reader([line], delimiter=delim, strict=True))
            except csv.Error:
                raise ParseError("bad CSV quoting") from None
            if len(rows) != 1:
                raise ParseError("bad CSV quoting")
            return rows[0]

        def parse(line: str, lineno: int) -> Event | None:
            nonlocal index, width
            if lineno <= skip or not line.strip():
                return None
            row = split(line)
            if explicit is None:
                first = row[0].lstrip("\ufeff").strip().lower()
                if index is None or first in heads:
                    names = [c.lstrip("\ufeff").strip().lower() for c in row]
                    if any(n in all_names for n in names):
                        # The header row (again, when exports were concatenated).
                        got = self._index(names)
                        if got is None:
                            raise ParseError("header row lacks the mapped columns")
                        index, width = got
                        heads.add(first)
                        return None
                    if index is None:
                        raise ParseError("no header row")
            assert index is not None
            if len(row) < width:
                raise ParseError("too few fields")
            return build({k: [row[i] for i in idx] for k, idx in index.items()}, lineno)

        return parse

    def _index(self, names: list[str]) -> Any:
        """Column positions of every mapped field in a header (None when the
        timestamp or both host and url are missing)."""
        pos = {n: i for i, n in reversed(list(enumerate(names)))}
        index: dict[str, list[int]] = {}
        for key, ref in [("timestamp", self.stamp_ref), *self.fields.items()]:
            idx = [pos[n.strip().lower()] for n in ref if n.strip().lower() in pos]
            if idx:
                index[key] = idx
        if "timestamp" not in index:
            return None
        if self.kind == "sso":
            if "app_name" not in index and "app_id" not in index:
                return None
        elif "host" not in index and "url" not in index:
            return None
        width = max(i for idx in index.values() for i in idx) + 1
        return index, width

    def _regex_parser(self, build: _Builder) -> LineParser:
        assert self.pattern is not None
        match = self.pattern.match
        refs = [("timestamp", self.stamp_ref), *self.fields.items()]
        ignore = self.ignore_unmatched

        def parse(line: str, lineno: int) -> Event | None:
            m = match(line)
            if m is None:
                if ignore or not line.strip():
                    return None
                raise ParseError("line does not match the pattern")
            return build({k: [m.group(n) or "" for n in ref] for k, ref in refs}, lineno)

        return parse

    def _json_parser(self, build: _Builder) -> LineParser:
        refs = [("timestamp", self.stamp_ref), *self.fields.items()]
        paths = {name: name.split(".") for _, ref in refs for name in ref}

        def parse(line: str, lineno: int) -> Event | None:
            text = line.strip()
            if not text:
                return None
            if not text.startswith("{"):
                raise ParseError("not a JSON object")
            try:
                obj = json.loads(text)
            except (ValueError, RecursionError):
                raise ParseError("bad JSON") from None
            if not isinstance(obj, dict):
                raise ParseError("not a JSON object")
            return build({k: [_json_cell(_lookup(obj, paths[name])) for name in ref]
                          for k, ref in refs}, lineno)

        return parse


def _lookup(obj: Any, parts: list[str]) -> Any:
    """A dotted path; a key that itself contains dots (``id.orig_h``) is found
    too (the longest key first); a number indexes an array."""
    if not parts:
        return obj
    if isinstance(obj, dict):
        for i in range(len(parts), 0, -1):
            key = ".".join(parts[:i])
            if key in obj:
                return _lookup(obj[key], parts[i:])
        return None
    head = parts[0]
    if isinstance(obj, list) and head.isascii() and head.isdigit() and int(head) < len(obj):
        return _lookup(obj[int(head)], parts[1:])
    return None


def _json_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return ""  # objects and arrays are not scalar cells


class _Builder:
    """Turns the cells of one record into an Event."""

    def __init__(self, spec: _Spec, ctx: ParseContext) -> None:
        self.kind = spec.kind
        self.actions = spec.actions
        self.stamp = _stamp_parser(spec.stamp_formats, spec.stamp_zone or ctx.tz,
                                   ctx.reference.timestamp() if ctx.reference else None)
        self.default_user = str(ctx.options.get("user") or "")
        try:
            self.default_client = client_ip(str(ctx.options.get("client") or ""))
        except ValueError:
            raise MappingError("options.client: not an IP address") from None
        self.hosts: dict[str, str] = {}

    def __call__(self, cells: dict[str, list[str]], lineno: int) -> Event | None:
        def get(key: str) -> str | None:
            for v in cells.get(key, ()):
                v = v.strip()
                if v and v != "-":
                    return v
            return None

        raw_ts = get("timestamp")
        if raw_ts is None:
            raise ParseError("no timestamp")
        ts = self.stamp(raw_ts)
        url = get("url")
        raw_host = get("host")
        if raw_host is not None:
            raw_host = url_host(raw_host)  # a host cell holding a URL or host:port
        elif url is not None:
            raw_host = url_host(url)
        if raw_host is None:
            if self.kind != "sso":
                raise ParseError("no host")
            host = ""  # a sign-in names an application, not a host
        else:
            got = self.hosts.get(raw_host)
            if got is None:
                got = web_host(raw_host) if self.kind != "dns" else _dns_host(raw_host)
                if len(self.hosts) >= _CACHE_MAX:
                    self.hosts.clear()
                self.hosts[raw_host] = got
            host = got
        app_id, app_name = get("app_id"), get("app_name")
        if self.kind == "sso" and app_id is None and app_name is None:
            raise ParseError("no application")
        raw_client = get("client")
        if raw_client is None:
            client = self.default_client
        else:
            try:
                client = client_ip(raw_client)
            except ValueError:
                raise ParseError("invalid client address") from None
        user = get("user") or self.default_user
        raw_action = get("action")
        action = ACTIONS[self.kind][0]
        if raw_action is not None:
            action = self.actions.get(raw_action.lower()) or (
                vendor_action(raw_action) if self.kind != "sso" else action)
        method = get("method")
        status = get("status")
        b_in = get("bytes_in")
        b_out = get("bytes_out")
        qtype = get("qtype")
        return Event(ts, self.kind, client, user, host, action, url,
                     qtype.upper() if qtype else None,
                     method.upper() if method else None,
                     http_status(status) if status else None,
                     count(b_in) if b_in else None,
                     count(b_out) if b_out else None,
                     get("category"), app_id, app_name, (), lineno)


def _dns_host(raw: str) -> str:
    try:
        return normalize_host(raw)
    except ValueError:
        raise ParseError("invalid query name") from None


def _stamp_parser(formats: tuple[str, ...], tz: dt.tzinfo,
                  reference: float | None) -> Callable[[str], float]:
    cache: dict[str, float] = {}
    parsers = [_one_stamp_parser(f, tz, reference) for f in formats]

    def parse(text: str) -> float:
        got = cache.get(text)
        if got is not None:
            return got
        for p in parsers:
            try:
                got = p(text)
            except (ValueError, OverflowError, OSError):
                continue
            break
        else:
            raise ParseError("bad timestamp")
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[text] = got
        return got

    return parse


def _one_stamp_parser(fmt: str, tz: dt.tzinfo, reference: float | None) -> Callable[[str], float]:
    if fmt == "epoch":
        return lambda t: _finite(float(t) if _decimal(t) else _nan())
    if fmt == "epoch_ms":
        return lambda t: _finite(float(t) / 1000.0 if _decimal(t) else _nan())
    if fmt == "iso8601":
        return lambda t: iso_stamp(t, tz)
    has_year = "%Y" in fmt or "%y" in fmt
    has_zone = "%z" in fmt

    def parse(text: str) -> float:
        if has_year:
            t = dt.datetime.strptime(text, fmt)
            if not has_zone:
                t = t.replace(tzinfo=tz)
            return t.timestamp()
        t = dt.datetime.strptime(f"{text} 2000", f"{fmt} %Y")  # 2000: a leap year
        ref = reference if reference is not None else time.time()
        zone = t.tzinfo if has_zone and t.tzinfo is not None else tz
        return guess_year(t.month, t.day, t.hour, t.minute, t.second + t.microsecond / 1e6, zone, ref)

    return parse


def _decimal(t: str) -> bool:
    return t.isascii() and t.replace(".", "", 1).isdigit()


def _finite(v: float) -> float:
    if not 0 <= v < 1e11:
        raise ValueError("out of range")
    return v


def _nan() -> float:
    raise ValueError("not a number")


def _check_strptime(fmt: str, where: str) -> None:
    i, n = 0, len(fmt)
    seen = set()
    while i < n:
        if fmt[i] == "%":
            if i + 1 >= n:
                raise MappingError(f"{where}: ends with a lone %")
            d = fmt[i + 1]
            if d == "Z":
                raise MappingError(f"{where}: %Z is not supported, use %z (a numeric offset)")
            if d not in _DIRECTIVES:
                raise MappingError(f"{where}: unknown directive %{d}")
            seen.add(d)
            i += 2
        else:
            i += 1
    if not seen & {"d", "j"}:
        raise MappingError(f"{where}: no day (%d)")
    if not seen & {"m", "b", "B", "j"}:
        raise MappingError(f"{where}: no month (%m, %b or %B)")
    if not seen & {"H", "I"}:
        raise MappingError(f"{where}: no hour (%H, or %I with %p)")
    if "I" in seen and "p" not in seen:
        raise MappingError(f"{where}: %I (12-hour clock) needs %p (AM/PM)")
    if "j" in seen and not seen & {"Y", "y"}:
        raise MappingError(f"{where}: %j (day of the year) needs a year")


def _need(spec: Mapping[str, Any], key: str, typ: type, where: str) -> Any:
    if spec.get(key) is None:
        raise MappingError(f"{where}.{key}: missing")
    return _opt(spec, key, typ, where, None)


def _opt(spec: Mapping[str, Any], key: str, typ: type, where: str, default: Any) -> Any:
    value = spec.get(key, default)
    if value is None:
        return default
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        raise MappingError(f"{where}.{key}: must be {_TYPE_WORDS.get(typ, typ.__name__)}")
    if typ is str and not value:
        raise MappingError(f"{where}.{key}: must not be empty")
    return value


_TYPE_WORDS = {str: "a string", int: "an integer", bool: "true or false", list: "an array"}


def _ref(value: Any, where: str) -> Ref:
    if isinstance(value, str) and value.strip():
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return tuple(value)
    raise MappingError(f"{where}: must be a column/group/path name or an array of them")


__all__ = ["EVENT_FIELDS", "MappingError", "client_ip", "count", "epoch_number", "http_status",
           "load_mapping", "load_mappings", "preset_formats", "presets", "url_host", "vendor_action",
           "web_host", "zone_of"]
