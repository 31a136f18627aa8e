from __future__ import annotations

import stat
from pathlib import Path

from sentinel.config import load_settings
from sentinel.privacy import Identities, load_or_create_key


def test_key_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    k1 = load_or_create_key(tmp_path / "d")
    k2 = load_or_create_key(tmp_path / "d")
    assert k1 == k2 and len(k1) == 32
    assert stat.S_IMODE((tmp_path / "d" / "pseudonym.key").stat().st_mode) == 0o600


def test_identity_policy_per_population(tmp_path: Path) -> None:
    s = load_settings(None, {
        "networks": [{"cidr": "10.1.0.0/16", "site": "A", "population": "students"},
                     {"cidr": "10.1.64.0/20", "site": "A", "population": "staff"},
                     {"cidr": "172.16.0.0/12", "site": "Guest", "population": "guest"}],
        "privacy.identity": {"students": "pseudonymize", "staff": "keep", "guest": "drop",
                             "unknown": "pseudonymize"}}, env={})
    ids = Identities(s, b"k" * 32)
    site, pop, client, user = ids.resolve("10.1.2.3", "Alice")
    assert (site, pop) == ("A", "students")
    assert client.startswith("c_") and "10.1" not in client and user.startswith("u_")
    assert ids.resolve("10.1.2.3", "ALICE")[3] == user  # user names fold case
    assert ids.resolve("10.1.64.9", "tjones") == ("A", "staff", "10.1.64.9", "tjones")
    assert ids.resolve("172.16.5.5", "guest1") == ("Guest", "guest", "", "")
    assert ids.resolve("8.8.8.8", "")[:2] == ("unknown", "unknown")
    other = Identities(s, b"x" * 32)
    assert other.resolve("10.1.2.3", "")[2] != client  # keyed: another key, another pseudonym
