"""Identity handling: sites and populations from networks, keyed pseudonyms.

Client addresses and user names are replaced with HMAC-SHA256 pseudonyms under
a key that never leaves the data directory, unless the population's policy in
the config says ``keep`` or ``drop``. Pseudonyms are stable across runs (same
key), so reach can be counted, but cannot be reversed without the key: a
reviewer who must identify a device recomputes the pseudonym of a candidate.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import ipaddress
import os
import secrets
from pathlib import Path

from sentinel.config import Settings

KEY_FILE = "pseudonym.key"
UNKNOWN_SITE = "unknown"


def load_or_create_key(data_dir: Path) -> bytes:
    """The pseudonym key, created (mode 0600) on first use."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # the store holds quarantined raw lines
    path = data_dir / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) < 32:
            from sentinel.errors import ConfigError
            raise ConfigError("pseudonym key is shorter than 32 bytes", str(path)) from None
        return key
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


class NetworkMap:
    """Longest-prefix match of client addresses to (site, population)."""

    def __init__(self, settings: Settings) -> None:
        nets = [(ipaddress.ip_network(n.cidr), n.site, n.population) for n in settings.networks]
        nets.sort(key=lambda t: t[0].prefixlen, reverse=True)
        self._nets = nets

    def lookup(self, address: str) -> tuple[str, str]:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return UNKNOWN_SITE, "unknown"
        for net, site, population in self._nets:
            if ip.version == net.version and ip in net:
                return site, population
        return UNKNOWN_SITE, "unknown"


_CACHE_MAX = 200_000


class Identities:
    """Turns a raw (client, user) pair into what may be stored."""

    def __init__(self, settings: Settings, key: bytes) -> None:
        self._key = key
        self._policy = settings.privacy.identity
        self._networks = NetworkMap(settings)
        # Cached per client and per user (not per pair: pairs grow as their
        # product), each bounded.
        self._clients: dict[str, tuple[str, str, str, str]] = {}
        self._users: dict[str, str] = {}
        self._accounts = [(a.match, a.population) for a in settings.accounts]
        self._account_pop: dict[str, str | None] = {}

    def account_population(self, user: str) -> str | None:
        """The population ``[[accounts]]`` gives this account name, if any."""
        got = self._account_pop.get(user, "")
        if got == "":
            if len(self._account_pop) >= _CACHE_MAX:
                self._account_pop.clear()
            low = user.lower()
            got = next((pop for pat, pop in self._accounts if fnmatch.fnmatchcase(low, pat)), None)
            self._account_pop[user] = got
        return got

    def pseudonym(self, kind: str, value: str) -> str:
        digest = hmac.new(self._key, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()
        return f"{kind[0]}_{digest[:16]}"

    def resolve(self, client: str, user: str) -> tuple[str, str, str, str]:
        """(site, population, stored client, stored user) for a raw pair."""
        got = self._clients.get(client)
        if got is None:
            if len(self._clients) >= _CACHE_MAX:
                self._clients.clear()
            site, population = self._networks.lookup(client)
            policy = self._policy.get(population, "pseudonymize")  # type: ignore[call-overload]
            if policy == "keep":
                stored = client
            elif policy == "drop":
                stored = ""
            else:
                stored = self.pseudonym("client", client) if client else ""
            got = self._clients[client] = (site, population, stored, policy)
        site, population, stored, policy = got
        if not user:
            return site, population, stored, ""
        if self._accounts:
            # The account's own population decides how its name is kept (a
            # student signing in from a staff network stays a student).
            by_name = self.account_population(user)
            if by_name is not None and by_name != population:
                population = by_name
                policy = self._policy.get(by_name, "pseudonymize")  # type: ignore[call-overload]
        if policy == "keep":
            return site, population, stored, user
        if policy == "drop":
            return site, population, stored, ""
        name = self._users.get(user)
        if name is None:
            if len(self._users) >= _CACHE_MAX:
                self._users.clear()
            name = self._users[user] = self.pseudonym("user", user.lower())
        return site, population, stored, name
