"""De-pseudonymization: on purpose, with a reason, on the audit record."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from sentinel import audit
from sentinel.cli import main
from sentinel.store import Store

LINE = ("29-Nov-2026 10:00:{s:02d}.000 client @0x7f 10.10.0.{c}#5{s:02d}00 ({h}): "
        "query: {h} IN A + (10.0.0.53)\n")


def _scan(tmp_path: Path) -> list[str]:
    log = tmp_path / "queries.log"
    log.write_text("".join(LINE.format(s=i % 60, c=i % 3 + 2, h=f"app{i % 2}.example")
                           for i in range(60)))
    base = ["--data-dir", str(tmp_path / "d")]
    res = CliRunner().invoke(main, [*base, "scan", str(log)])
    assert res.exit_code == 0, res.output
    return base


def test_candidates_reveal_the_pseudonym_and_are_recorded(tmp_path: Path) -> None:
    base = _scan(tmp_path)
    res = CliRunner().invoke(main, [*base, "identify", "--ip", "10.10.0.2", "--reason",
                                    "ticket 42", "--actor", "cli:reviewer", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    (m,) = out["matches"]
    pseud = m["pseudonym"]
    assert pseud.startswith("c_") and m["candidate"] == "10.10.0.2"
    assert {u["host"] for u in m["usage"]} == {"app0.example", "app1.example"}
    cands = tmp_path / "leases.txt"
    cands.write_text("# lease export\n10.10.0.9\n10.10.0.2\n10.10.0.3\n")
    res = CliRunner().invoke(main, [*base, "identify", pseud, "--candidates", str(cands),
                                    "--kind", "ip", "--reason", "ticket 42"])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[0] == f"10.10.0.2 = {pseud}"
    res = CliRunner().invoke(main, [*base, "identify", "c_0000000000000000", "--ip", "10.9.9.9",
                                    "--reason", "guess"])
    assert res.exit_code == 1 and "no candidate" in res.output
    store = Store.open(f"sqlite:///{tmp_path / 'd' / 'sentinel.db'}")
    recs = audit.records(store, action="identity.reveal")
    assert [r["payload"]["matched"] for r in recs] == [True, True, False]
    assert recs[0]["actor"] == "cli:reviewer" and recs[0]["payload"]["reason"] == "ticket 42"
    # The record names pseudonyms, never the raw address.
    assert all("10.10.0" not in json.dumps(r) for r in recs)
    assert audit.verify(store).ok


def test_a_reason_is_required(tmp_path: Path) -> None:
    base = _scan(tmp_path)
    res = CliRunner().invoke(main, [*base, "identify", "--ip", "10.10.0.2"])
    assert res.exit_code == 2
    res = CliRunner().invoke(main, [*base, "identify", "--ip", "10.10.0.2", "--reason", " "])
    assert res.exit_code == 2
