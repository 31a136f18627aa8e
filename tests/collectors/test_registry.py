"""The registry's index of shipped formats, and lazy discovery."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

from collectors import registry
from collectors.errors import FormatError


def discovered() -> dict[str, str]:
    """Each format name -> the module that exposes it, found by importing every one."""
    out: dict[str, str] = {}
    for pkg_name in registry.PACKAGES:
        pkg = importlib.import_module(pkg_name)
        for info in pkgutil.iter_modules(pkg.__path__):
            if info.name.startswith("_"):
                continue
            mod = importlib.import_module(f"{pkg_name}.{info.name}")
            for f in (*getattr(mod, "FORMATS", ()), getattr(mod, "FORMAT", None)):
                if f is not None:
                    out[f.name] = mod.__name__
    return out


def test_index_lists_every_shipped_format_at_its_module() -> None:
    assert discovered() == registry.INDEX


@pytest.mark.parametrize("name", sorted(registry.INDEX))
def test_a_format_got_alone_is_the_one_discovery_finds(name: str) -> None:
    assert registry.get_format(name) is registry.formats()[name]


def test_get_format_imports_only_its_own_module() -> None:
    code = (
        "import sys\n"
        "from collectors.registry import get_format\n"
        "f = get_format('bind')\n"
        "assert f.name == 'bind'\n"
        "others = sorted(m for m in sys.modules if m.startswith(('collectors.dns.',"
        " 'collectors.proxy.', 'collectors.sso.')) and m != 'collectors.dns.bind')\n"
        "print(others)\n")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert got.stdout.strip() == "[]"


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(FormatError, match=r"unknown format 'nope'; known formats: .*bind"):
        registry.get_format("nope")


def test_module_constant_is_the_discovered_dict() -> None:
    from collectors.registry import FORMATS

    assert FORMATS is registry.formats()
    assert list(FORMATS) == sorted(FORMATS, key=lambda n: (FORMATS[n].priority, n))
