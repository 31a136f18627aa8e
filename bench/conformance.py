"""Conformance against the team's third-party corpus (../shared/corpus).

    python bench/conformance.py [--corpus ../shared/corpus] [--kind dns]

For every sample folder mapped to one of our formats it parses each file and,
where the corpus has the vendor's expected output (`<file>-expected.json`,
Elastic pipeline-test ECS documents), compares record by record the fields we
produce: time (to the millisecond), client address, host, query type and
action. It prints a per-folder table (records, parsed, ignored, rejected,
compared, agreeing, %) and the disagreements with their reason.

The corpus is never copied into the project; tests/collectors/test_corpus.py
runs this and skips when the corpus is absent.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from collectors.base import ParseContext  # noqa: E402
from collectors.driver import ReadStats, read_batches  # noqa: E402
from collectors.event import Event  # noqa: E402
from collectors.registry import FORMATS  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"

# folder -> (format, zone of zone-less stamps, the date the samples were made, for years)
MAPPING: dict[str, tuple[str, str, str]] = {
    "dns/umbrella": ("umbrella_dns", "UTC", "2020-08-01T00:00:00+00:00"),
    "dns/pfsense_unbound": ("unbound", "America/New_York", "2024-12-31T00:00:00+00:00"),
    "dns/windows_dns_analytical": ("windns_analytic_json", "UTC", "2023-01-01T00:00:00+00:00"),
    "dns/infoblox_bind": ("infoblox", "UTC", "2023-06-01T00:00:00+00:00"),
    "dns/zeek": ("zeek_dns_json", "UTC", "2021-01-01T00:00:00+00:00"),
    "proxy/squid": ("squid", "UTC", "2021-01-01T00:00:00+00:00"),
    "proxy/pfsense_squid": ("squid", "UTC", "2020-12-31T00:00:00+00:00"),
    "proxy/zscaler": ("zscaler_web_json", "UTC", "2021-01-01T00:00:00+00:00"),
    # The expected output was made with a fixed +09:30 zone (no daylight saving).
    "proxy/panw": ("panos", "Australia/Darwin", "2019-12-31T00:00:00+00:00"),
    "proxy/umbrella": ("umbrella_proxy", "UTC", "2021-01-01T00:00:00+00:00"),
    "proxy/sophos_xg": ("sophos", "UTC", "2021-01-01T00:00:00+00:00"),
    "sso/google_workspace_token": ("gws_token", "UTC", "2023-01-01T00:00:00+00:00"),
    "sso/google_workspace_login": ("gws_login", "UTC", "2023-01-01T00:00:00+00:00"),
    "sso/azure_signin": ("entra_signin", "UTC", "2019-10-18T00:00:00+00:00"),
    "sso/azure_signin_categories": ("entra_signin", "UTC", "2019-10-18T00:00:00+00:00"),
    "sso/okta": ("okta", "UTC", "2020-01-01T00:00:00+00:00"),
}
# Expected documents that stand for a client query (others are responses, the
# server's own upstream recursion, or duplicates we deliberately do not count).
EXPECTED_FILTER = {
    "dns/windows_dns_analytical": lambda doc: str(_get(doc, "event.code")) in ("256", "286"),
    # A failed sign-in is not use of the app: we make no event of it.
    "sso/azure_signin": lambda doc: _get(doc, "event.outcome") != "failure",
}
SKIP_FILES = {
    "test-access-extensive.log": "Squid with a custom logformat (referer, UA, Host, XFF, SNI): "
                                 "read it through an admin-defined mapping, not a built-in format",
}
NOT_OURS = {
    "proxy/meraki_urls": "Cisco Meraki URL events: not a format the proxy issue names",
    "dns/zscaler": "Zscaler ZIA DNS: a cloud proxy's export (the proxy issue's Zscaler format)",
    "dns/cloudflare_gateway": "Cloudflare Gateway Logpush: not a format the DNS issue names",
}


@dataclass
class Outcome:
    folder: str
    fmt: str
    file: str
    records: int = 0
    parsed: int = 0
    ignored: int = 0
    rejected: int = 0
    compared: int = 0
    agree: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def percent(self) -> float | None:
        return 100.0 * self.agree / self.compared if self.compared else None


def _get(doc: dict[str, Any], dotted: str) -> Any:
    cur: Any = doc
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _qtype(v: Any) -> str | None:
    if v is None:
        return None
    text = str(v)
    if "(" in text and text.endswith(")"):  # Umbrella: "1 (A)"
        text = text[text.index("(") + 1 : -1]
    return text.upper()


def expected_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """The ECS fields we can compare; None where the document has none."""
    name = _get(doc, "dns.question.name") or _get(doc, "url.domain") or \
        _get(doc, "destination.domain")
    types = _get(doc, "event.type")
    act = str(_get(doc, "event.action") or "").lower()
    if isinstance(types, list) and ("denied" in types or "allowed" in types):
        blocked: bool | None = "denied" in types
    elif "block" in act or "deny" in act or "denied" in act:
        blocked = True
    elif "allow" in act:
        blocked = False
    else:
        blocked = None
    status = _get(doc, "http.response.status_code")
    method = _get(doc, "http.request.method")
    scopes = _get(doc, "google_workspace.token.scope.value")
    return {
        "ts": doc.get("@timestamp"),
        "client": _get(doc, "source.ip") or _get(doc, "client.ip"),
        "app_id": _get(doc, "google_workspace.token.client.id")
        or _get(doc, "azure.signinlogs.properties.app_id"),
        "app_name": _get(doc, "google_workspace.token.app_name")
        or _get(doc, "azure.signinlogs.properties.app_display_name"),
        "scopes": tuple(sorted(scopes)) if isinstance(scopes, list) else None,
        "user": _get(doc, "google_workspace.actor.email")
        or _get(doc, "azure.signinlogs.properties.user_principal_name"),
        "host": name.rstrip(".").lower() if isinstance(name, str) else None,
        "qtype": _qtype(_get(doc, "dns.question.type")),
        "blocked": blocked,
        "method": method.upper() if isinstance(method, str) else None,
        "status": int(status) if status is not None else None,
    }


def ours(ev: Event) -> dict[str, Any]:
    return {"ts": ev.to_json()["timestamp"], "client": ev.client, "host": ev.host,
            "qtype": (ev.qtype or "").upper() or None, "blocked": ev.action == "blocked",
            "method": ev.method, "status": ev.status, "app_id": ev.app_id,
            "app_name": ev.app_name, "scopes": tuple(sorted(ev.scopes)), "user": ev.user}


def _same_time(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return False
    ta = dt.datetime.fromisoformat(a.replace("Z", "+00:00"))
    tb = dt.datetime.fromisoformat(b.replace("Z", "+00:00"))
    return abs((ta - tb).total_seconds()) < 0.001


def run_file(folder: str, path: Path, fmt_name: str, tz: str, reference: str) -> Outcome:
    import zoneinfo

    fmt = FORMATS[fmt_name]
    ctx = ParseContext(tz=zoneinfo.ZoneInfo(tz), reference=dt.datetime.fromisoformat(reference))
    stats = ReadStats()
    if fmt.read_records is not None:
        batches = fmt.read_records(path, ctx, stats)
    else:
        batches = read_batches(path, fmt.make_parser(ctx), stats)
    events: list[Event] = []
    rejects: list[str] = []
    for b in batches:
        events.extend(b.events)
        rejects += [f"line {r.line}: {r.reason}" for r in b.rejected]
    out = Outcome(folder, fmt_name, path.name, stats.read, stats.parsed, stats.ignored,
                  stats.rejected, notes=rejects[:10])
    exp_path = path.with_name(path.name + "-expected.json")
    if not exp_path.exists():
        return out
    expected = json.loads(exp_path.read_text())["expected"]
    keep = EXPECTED_FILTER.get(folder)
    if keep is not None:
        expected = [doc for doc in expected if keep(doc)]
    by_original = {}
    for i, doc in enumerate(expected):
        orig = _get(doc, "event.original")
        by_original[orig if isinstance(orig, str) else i] = doc
    lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    for ev in events:
        # Match by the source line where the expected output quotes it, else by order.
        src = lines[ev.line - 1] if 0 < ev.line <= len(lines) else None
        doc = by_original.get(src) if src is not None else None
        if doc is None and len(events) == len(expected):
            doc = expected[events.index(ev)]  # no quoted source line: match in order
        if doc is None:
            out.notes.append(f"line {ev.line}: no expected document found")
            continue
        want, got = expected_fields(doc), ours(ev)
        out.compared += 1
        keys = ("client", "host", "qtype", "blocked", "method", "status")
        if ev.kind == "sso":  # ECS puts the URL's host or the user's domain in host-like fields
            keys = ("client", "app_id", "app_name", "scopes", "user")
        diffs = [k for k in keys if want[k] is not None and want[k] != got[k]]
        if not _same_time(want["ts"], got["ts"]):
            diffs.append("ts")
        if diffs:
            out.notes.append(f"line {ev.line}: " + ", ".join(
                f"{k}: expected {want[k]!r}, got {got[k]!r}" for k in diffs))
        else:
            out.agree += 1
    missing = len(expected) - out.compared
    if missing > 0:
        out.notes.append(f"{missing} expected record(s) without an event from us")
        out.compared += missing
    return out


def run(corpus: Path, kind: str = "dns") -> list[Outcome]:
    results = []
    for folder, (fmt, tz, ref) in sorted(MAPPING.items()):
        if not folder.startswith(kind + "/") or fmt not in FORMATS:
            continue
        d = corpus / folder
        if not d.is_dir():
            continue
        for path in sorted(d.iterdir()):
            if path.name.endswith("-expected.json") or path.name in SKIP_FILES:
                continue
            results.append(run_file(folder, path, fmt, tz, ref))
    return results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--kind", default="dns", help="dns, proxy or sso")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every disagreement")
    args = ap.parse_args()
    if not args.corpus.is_dir():
        raise SystemExit(f"no corpus at {args.corpus}")
    print(f"{'folder':28} {'format':22} {'records':>7} {'parsed':>6} {'ignored':>7} "
          f"{'rejected':>8} {'compared':>8} {'agree':>6} {'%':>6}")
    for r in run(args.corpus, args.kind):
        pct = f"{r.percent:.1f}" if r.percent is not None else "-"
        print(f"{r.folder:28} {r.fmt:22} {r.records:7} {r.parsed:6} {r.ignored:7} {r.rejected:8} "
              f"{r.compared:8} {r.agree:6} {pct:>6}")
        for note in r.notes if args.verbose else r.notes[:3]:
            print(f"    {note}")
    for folder, why in NOT_OURS.items():
        if folder.startswith(args.kind + "/"):
            print(f"{folder:28} not mapped: {why}")
    for name, why in SKIP_FILES.items():
        print(f"{name:28} skipped: {why}")


if __name__ == "__main__":
    main()
