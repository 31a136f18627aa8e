"""Log text is attacker-controlled: make it safe for each place it is shown."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jinja2 import Environment

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def printable(text: object, limit: int = 300) -> str:
    """One line for a terminal: control and bidi characters shown as escapes."""
    s = str(text)
    s = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                     else f"\\u{ord(m.group()):04x}", s).replace("\n", "\\n").replace("\t", " ")
    return s if len(s) <= limit else s[: limit - 1] + "…"


def csv_cell(value: object) -> object:
    """A CSV cell that a spreadsheet will not run as a formula."""
    if isinstance(value, str):
        value = printable(value, limit=10_000)
        if value.startswith(_FORMULA):
            return "'" + value
    return value


def is_safe_label(text: str) -> bool:
    return all(unicodedata.category(c)[0] != "C" for c in text)


@lru_cache(maxsize=1)
def html_templates() -> Environment:
    """The HTML templates (``sentinel/templates``): autoescaped everywhere, with the
    ``printable`` filter for log text. Imported on first use (jinja2 costs start-up)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("sentinel", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["printable"] = printable
    return env
