"""Small rules every DNS format applies the same way: query names, client
addresses and query-type mnemonics. Each raises `ParseError` with the same
reason in every format, so reject counts read alike across sources."""

from __future__ import annotations

import ipaddress

import dns.rdatatype

from collectors.errors import ParseError
from collectors.hosts import normalize_host


def query_host(name: str) -> str:
    """The normalized host of a query name; the root (``.``) stays ``.``."""
    if name == ".":
        return "."
    try:
        return normalize_host(name)
    except ValueError:
        raise ParseError("invalid query name") from None


def client_address(addr: str) -> str:
    """An IP address in canonical text ('' stays '')."""
    if not addr:
        return ""
    try:
        return str(ipaddress.ip_address(addr))
    except ValueError:
        raise ParseError("bad client address") from None


def type_mnemonic(number: int) -> str:
    """The mnemonic of a numeric query type (``TYPE65534`` when unnamed)."""
    if not 0 <= number <= 65535:
        raise ParseError("bad query type")
    return str(dns.rdatatype.to_text(dns.rdatatype.RdataType.make(number)))


def type_name(text: str, prefix: str = "TYPE") -> str:
    """A logged query type as its upper-case mnemonic: ``A``, ``https``, or
    ``TYPE65`` / ``type=65`` (``prefix``) for a type the logger had no name for."""
    if text.startswith(prefix):
        num = text[len(prefix):]
        if not (num.isascii() and num.isdigit()) or len(num) > 5:
            raise ParseError("bad query type")
        return type_mnemonic(int(num))
    if not text or len(text) > 16 or not text.isascii() or \
            not text.replace("-", "").replace("_", "").isalnum():
        raise ParseError("bad query type")
    return text.upper()
