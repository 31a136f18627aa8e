"""The format registry and auto-detection.

A plain dict maps names to formats, filled by discovery: adding a format is
adding a module (with ``FORMAT``) to one of the `PACKAGES`, and its name to
`INDEX`. Discovery imports every format module, so it waits until something
needs them all (detection, the list of formats); `get_format` of a shipped
name imports only its own module.
"""

from __future__ import annotations

import gzip
import importlib
import pkgutil
from collections.abc import Sequence
from pathlib import Path

from collectors.base import LineParser, LogFormat, ParseContext
from collectors.driver import is_gzip
from collectors.errors import FormatError

PACKAGES = ("collectors.dns", "collectors.proxy", "collectors.sso")
"""Every module in these packages exposing ``FORMAT`` (or a ``FORMATS`` tuple) is a format."""


def _formats() -> dict[str, LogFormat]:
    found: list[LogFormat] = []
    for pkg_name in PACKAGES:
        try:
            pkg = importlib.import_module(pkg_name)
        except ModuleNotFoundError:
            continue
        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
            if info.name.startswith("_"):
                continue
            mod = importlib.import_module(f"{pkg_name}.{info.name}")
            found.extend(getattr(mod, "FORMATS", ()))
            if hasattr(mod, "FORMAT"):
                found.append(mod.FORMAT)
    out: dict[str, LogFormat] = {}
    for f in sorted(found, key=lambda f: (f.priority, f.name)):
        if f.name in out:
            raise RuntimeError(f"two log formats are named {f.name!r}")
        out[f.name] = f
    return out


INDEX: dict[str, str] = {
    "bind": "collectors.dns.bind",
    "cef": "collectors.proxy.cef",
    "classlink_csv": "collectors.proxy.presets",
    "clever_csv": "collectors.proxy.presets",
    "dnsmasq": "collectors.dns.dnsmasq",
    "dnstap": "collectors.dns.dnstap",
    "entra_audit": "collectors.sso.entra",
    "entra_signin": "collectors.sso.entra",
    "entra_signin_csv": "collectors.sso.entra",
    "fortigate": "collectors.proxy.fortigate",
    "gws_login": "collectors.sso.google_workspace",
    "gws_token": "collectors.sso.google_workspace",
    "infoblox": "collectors.dns.infoblox",
    "leef": "collectors.proxy.leef",
    "lightspeed_csv": "collectors.proxy.presets",
    "linewize_csv": "collectors.proxy.presets",
    "okta": "collectors.sso.okta",
    "panos": "collectors.proxy.panos",
    "pcap": "collectors.dns.pcap",
    "pihole_csv": "collectors.dns.pihole",
    "securly_csv": "collectors.proxy.presets",
    "sophos": "collectors.proxy.sophos",
    "squid": "collectors.proxy.squid",
    "squid_combined": "collectors.proxy.squid_formats",
    "squid_common": "collectors.proxy.squid_formats",
    "umbrella_dns": "collectors.dns.umbrella",
    "umbrella_proxy": "collectors.proxy.umbrella_proxy",
    "unbound": "collectors.dns.unbound",
    "w3c": "collectors.proxy.w3c",
    "windns_analytic_csv": "collectors.dns.windows",
    "windns_analytic_json": "collectors.dns.windows",
    "windns_debug": "collectors.dns.windows",
    "zeek_dns": "collectors.dns.zeek",
    "zeek_dns_json": "collectors.dns.zeek",
    "zeek_ssl": "collectors.dns.zeek",
    "zeek_ssl_json": "collectors.dns.zeek",
    "zscaler_web_csv": "collectors.proxy.zscaler",
    "zscaler_web_json": "collectors.proxy.zscaler",
}
"""Each shipped format's module, so that `get_format` imports that one module
instead of all of them (which costs a tenth of a second at every start-up). A
test holds it equal to discovery: a new format module must be listed here."""

_all: dict[str, LogFormat] | None = None
"""Every format (shipped and registered), in detection order, once discovered."""
_one: dict[str, LogFormat] = {}
"""Formats imported one module at a time, before discovery."""


def formats() -> dict[str, LogFormat]:
    """Every format by name, in detection (priority) order; imports them all."""
    global _all
    if _all is None:
        _all = _formats()
    return _all


def __getattr__(name: str) -> dict[str, LogFormat]:
    if name == "FORMATS":  # the module's old constant, discovered on first use
        return formats()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


SNIFF_LINES = 20
SNIFF_BYTES = 64 * 1024


def get_format(name: str) -> LogFormat:
    if _all is None and name in INDEX:
        fmt = _one.get(name)
        if fmt is None:
            mod = importlib.import_module(INDEX[name])
            for f in (*getattr(mod, "FORMATS", ()), getattr(mod, "FORMAT", None)):
                if f is not None:
                    _one[f.name] = f
            fmt = _one.get(name)
        if fmt is not None:
            return fmt
    known = formats()
    try:
        return known[name]
    except KeyError:
        raise FormatError(
            f"unknown format {name!r}; known formats: {', '.join(sorted(known))}") from None


def detect(lines: Sequence[str], head: bytes = b"") -> LogFormat | None:
    """The first format (in priority order) whose sniff accepts this start of a file."""
    known = formats()
    if head:
        for fmt in known.values():
            if fmt.sniff_bytes is not None and fmt.sniff_bytes(head):
                return fmt
    sample = [ln for ln in lines if ln.strip()][:SNIFF_LINES]
    if not sample:
        return None
    for fmt in known.values():
        if fmt.sniff_bytes is None and fmt.sniff(sample):
            return fmt
    return None


def head_bytes(path: Path, max_bytes: int = SNIFF_BYTES) -> bytes:
    """The first bytes of a file, decompressed."""
    opener = gzip.open if is_gzip(path) else open
    with opener(path, "rb") as fh:
        data: bytes = fh.read(max_bytes)
    return data


def head_lines(path: Path, limit: int = SNIFF_LINES, max_bytes: int = 256 * 1024) -> list[str]:
    text = head_bytes(path, max_bytes).decode("utf-8", errors="replace")
    return [ln.rstrip("\r") for ln in text.split("\n") if ln.strip()][:limit]


def detect_file(path: Path) -> LogFormat:
    head = head_bytes(path)
    text = head.decode("utf-8", errors="replace")
    lines = [ln.rstrip("\r") for ln in text.split("\n") if ln.strip()][:SNIFF_LINES]
    fmt = detect(lines, head)
    if fmt is None:
        raise FormatError(
            f"{path}: cannot detect the log format from its first lines; "
            f"pass --format with one of: {', '.join(sorted(formats()))}")
    return fmt





def register(added: Sequence[LogFormat]) -> None:
    """Add formats defined at run time (admin mappings from the configuration),
    keeping detection in priority order. A name registered again is replaced."""
    known = formats()
    merged = {**known, **{f.name: f for f in added}}
    known.clear()
    known.update(sorted(merged.items(), key=lambda kv: (kv[1].priority, kv[0])))


__all__ = ["INDEX", "LineParser", "LogFormat", "ParseContext", "detect", "detect_file",
           "formats", "get_format", "head_bytes", "head_lines", "is_gzip", "register"]
