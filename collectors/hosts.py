"""Host-name normalization: lower case, no trailing dot, IDNA A-labels.

Every collector and the catalog matcher go through `normalize_host`, so the
punycode and Unicode spellings of a name always meet. Input is hostile: a name
is rejected (ValueError, with the reason) rather than guessed at.
"""

from __future__ import annotations

import ipaddress
import re

import idna

MAX_HOST = 253
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_ASCII_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_CACHE: dict[str, str] = {}
_CACHE_MAX = 200_000


def normalize_host(raw: str) -> str:
    """Return the canonical form of a host name or IP literal.

    Raises ValueError naming what is wrong.
    """
    got = _CACHE.get(raw)
    if got is not None:
        return got
    host = _normalize(raw)
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[raw] = host
    return host


def _normalize(raw: str) -> str:
    host = raw.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host.endswith("."):
        host = host[:-1]
    if not host:
        raise ValueError("empty host")
    if len(host) > 4 * MAX_HOST:
        raise ValueError("host too long")
    lowered = host.lower()
    if _ASCII_HOST.fullmatch(lowered) and len(lowered) <= MAX_HOST:
        if lowered[-1].isdigit() or ":" in lowered:
            ip = _ip_literal(lowered)
            if ip is not None:
                return ip
        if "xn--" in lowered:
            return _idna(lowered)
        return lowered
    ip = _ip_literal(lowered)
    if ip is not None:
        return ip
    return _idna(host)


def _ip_literal(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.split("%", 1)[0]))
    except ValueError:
        return None


def _idna(host: str) -> str:
    for ch in host:
        if ord(ch) < 0x21 or ch in "/\\@:?#[]\x7f":
            raise ValueError(f"invalid character {ch!r} in host")
    labels = []
    for label in host.split("."):
        if not label:
            raise ValueError("empty label in host")
        if label.isascii() and "_" in label:
            # Underscore labels (_dmarc, _ldap._tcp) are legal in DNS but not IDNA.
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,63}", label):
                raise ValueError(f"invalid label {label!r}")
            labels.append(label.lower())
            continue
        try:
            labels.append(idna.encode(label, uts46=True).decode("ascii"))
        except idna.IDNAError as exc:
            raise ValueError(f"invalid IDNA label {label!r}: {exc}") from None
    out = ".".join(labels)
    if len(out) > MAX_HOST:
        raise ValueError("host longer than 253 characters")
    return out


def is_ip(host: str) -> bool:
    return _ip_literal(host) is not None


def url_host(url: str, connect: bool = False) -> str | None:
    """The host part of a URL as logged, not yet normalized; None when it has none.

    Reads ``scheme://[user@]host[:port]/path?query``, a URL logged without its
    scheme (``www.example.com/path``, as PAN-OS writes them), ``//host/path``,
    and a CONNECT authority (``host:443``, ``[2001:db8::1]:443``). The scheme is
    the text before the first ``:`` when that comes within 16 characters, before
    any ``/``, and is followed by ``//``: a URL inside the query string
    (``/r?to=http://x``) is never taken for the host. One shared rule for every
    proxy format, and the one the compiled Squid fold follows.
    """
    s = url
    if not connect:
        c = s.find(":")
        if 0 < c < 16 and s.startswith("//", c + 1) and "/" not in s[:c]:
            s = s[c + 3 :]
        elif s.startswith("//"):
            s = s[2:]
    for sep in "/?#":
        cut = s.find(sep)
        if cut >= 0:
            s = s[:cut]
    if "@" in s:
        s = s.rsplit("@", 1)[1]
    if s.startswith("["):
        end = s.find("]")
        return s[: end + 1] if end > 0 else None
    if s.count(":") == 1:
        s = s.split(":", 1)[0]
    return s or None
