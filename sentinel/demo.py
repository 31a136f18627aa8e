"""A deterministic synthetic district: config, catalog and a week of real-format logs.

Same seed, devices, days and end date: byte-identical output. The planted
problems are listed in ``PLANTED`` so tests and ``make run`` can check them.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import random
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from collectors.event import Event

TZ = "America/Chicago"
DISTRICT_DOMAIN = "riverbend-usd.example"

SCHOOLS = [  # name, second octet, students share
    ("Riverbend High School", 10, 0.26),
    ("Riverbend Middle School", 11, 0.20),
    ("Lincoln Elementary", 12, 0.14),
    ("Jefferson Elementary", 13, 0.14),
    ("Oak Grove Elementary", 14, 0.13),
    ("Riverbend Academy", 15, 0.13),
]
OFFICE = ("District Office", 20)

# name, vendor, status, contract (days from end; None = no contract), domains, hosts, weight
PRODUCTS: list[tuple[str, str, str, int | None, list[str], list[str], float]] = [
    ("Google Classroom", "Google", "approved", 400, ["classroom.google.com"], ["classroom.google.com"], 9),
    ("Google Docs", "Google", "approved", 400, ["docs.google.com"], ["docs.google.com"], 8),
    ("Google Drive", "Google", "approved", 400, ["drive.google.com"], ["drive.google.com"], 5),
    ("Canvas LMS", "Instructure", "approved", 300, ["instructure.com", "canvaslms.com"], ["riverbend.instructure.com", "du11hjcvx0uqb.instructure.com"], 6),
    ("Clever", "Clever Inc.", "approved", 500, ["clever.com"], ["clever.com", "api.clever.com"], 5),
    ("Khan Academy", "Khan Academy", "approved", 200, ["khanacademy.org", "kastatic.org"], ["www.khanacademy.org", "cdn.kastatic.org"], 4),
    ("IXL", "IXL Learning", "approved", 250, ["ixl.com"], ["www.ixl.com"], 5),
    ("Seesaw", "Seesaw Learning", "approved", 180, ["seesaw.me"], ["app.seesaw.me"], 4),
    ("Newsela", "Newsela", "approved", 150, ["newsela.com"], ["newsela.com"], 2),
    ("Nearpod", "Nearpod", "approved", 90, ["nearpod.com"], ["app.nearpod.com"], 3),
    ("Kahoot!", "Kahoot! ASA", "approved_with_conditions", 220, ["kahoot.it", "kahoot.com"], ["kahoot.it", "create.kahoot.it"], 4),
    ("Quizlet", "Quizlet Inc.", "approved", 120, ["quizlet.com", "quizletcdn.com"], ["quizlet.com", "assets.quizlet.com"], 4),
    ("Edpuzzle", "Edpuzzle", "approved", 210, ["edpuzzle.com"], ["edpuzzle.com"], 2),
    ("Desmos", "Amplify", "approved", 330, ["desmos.com"], ["www.desmos.com"], 2),
    ("BrainPOP", "BrainPOP", "approved", 160, ["brainpop.com"], ["www.brainpop.com"], 2),
    ("Epic", "Epic Creations", "approved", 140, ["getepic.com"], ["www.getepic.com"], 2),
    ("Raz-Kids", "Learning A-Z", "approved", 170, ["raz-kids.com", "learninga-z.com"], ["www.raz-kids.com"], 2),
    ("i-Ready", "Curriculum Associates", "approved", 365, ["i-ready.com"], ["login.i-ready.com"], 3),
    ("PowerSchool SIS", "PowerSchool", "approved", 700, ["powerschool.com"], ["riverbend.powerschool.com"], 1),
    ("Zoom", "Zoom Video Communications", "approved", 260, ["zoom.us"], ["zoom.us"], 1),
    ("Flip", "Microsoft", "approved", 100, ["flip.com"], ["flip.com"], 1),
    ("Canva for Education", "Canva", "approved_with_conditions", 240, ["canva.com"], ["www.canva.com"], 2),
    ("Padlet", "Wallwisher", "approved", 75, ["padlet.com"], ["padlet.com"], 1),
    ("Code.org", "Code.org", "approved", 300, ["code.org"], ["studio.code.org"], 1),
    ("Scratch", "MIT", "approved", None, ["scratch.mit.edu"], ["scratch.mit.edu"], 1),
    ("Typing.com", "Teaching.com", "approved", 190, ["typing.com"], ["www.typing.com"], 1),
    ("Duolingo", "Duolingo", "approved", 280, ["duolingo.com"], ["www.duolingo.com"], 1),
    ("Book Creator", "Tools for Schools", "approved", 230, ["bookcreator.com"], ["app.bookcreator.com"], 1),
    ("Pear Deck", "GoGuardian", "approved", 310, ["peardeck.com"], ["app.peardeck.com"], 1),
    ("GoGuardian", "GoGuardian", "approved", 600, ["goguardian.com"], ["extension.goguardian.com"], 3),
    ("Formative", "Formative", "approved", 130, ["goformative.com"], ["app.goformative.com"], 1),
    ("Turnitin", "Turnitin LLC", "approved", 420, ["turnitin.com"], ["www.turnitin.com"], 1),
    ("Wikipedia", "Wikimedia Foundation", "approved", None, ["wikipedia.org", "wikimedia.org"], ["en.wikipedia.org", "upload.wikimedia.org"], 3),
    ("Prodigy Math", "Prodigy Education", "approved", -35, ["prodigygame.com"], ["play.prodigygame.com"], 3),
    ("Flocabulary", "Nearpod", "approved", -10, ["flocabulary.com"], ["www.flocabulary.com"], 1),
    ("Wayground", "Wayground", "in_review", None, ["quizizz.com", "wayground.com"], ["quizizz.com"], 1),
    ("TikTok", "ByteDance", "denied", None, ["tiktok.com", "tiktokcdn.com", "tiktokv.com"], ["www.tiktok.com", "p16-sign.tiktokcdn.com"], 2),
    ("Character.AI", "Character Technologies", "denied", None, ["character.ai"], ["character.ai"], 0),
    ("Microsoft Teams", "Microsoft", "approved", 400, ["teams.microsoft.com"], ["teams.microsoft.com"], 1),
    ("YouTube", "Google", "approved_with_conditions", 400, ["youtube.com", "ytimg.com", "googlevideo.com"], ["www.youtube.com", "i.ytimg.com", "rr3---sn-a5mekn7l.googlevideo.com"], 5),
]

# Planted: not in the catalog; the KB knows their names.
UNVETTED = [
    ("Blooket", ["www.blooket.com", "api.blooket.com"], 3.0, ("Riverbend Middle School", "Jefferson Elementary", "Riverbend Academy")),
    ("Gimkit", ["www.gimkit.com"], 2.0, ("Riverbend High School", "Riverbend Middle School")),
    ("ChatGPT", ["chatgpt.com", "cdn.oaistatic.com"], 3.0, ("Riverbend High School", "Riverbend Middle School", "District Office")),
    ("Brainly", ["brainly.com"], 1.5, ("Riverbend High School",)),
]
UNKNOWN_DOMAIN = ("play.mathfun-unblocked.net", 1.2, ("Riverbend Middle School", "Oak Grove Elementary"))

NOISE = [
    "e673.dsce9.akamaiedge.net", "d3c33hcgiwev3.cloudfront.net", "ctldl.windowsupdate.com",
    "settings-win.data.microsoft.com", "www.gstatic.com", "fonts.gstatic.com",
    "fonts.googleapis.com", "update.googleapis.com", "clients2.google.com",
    "googleads.g.doubleclick.net", "www.google-analytics.com", "www.googletagmanager.com",
    "ocsp.digicert.com", "ocsp.pki.goog", "connectivitycheck.gstatic.com",
    "www.msftconnecttest.com", "mesu.apple.com", "gs.apple.com", "time.google.com",
    "ssl.gstatic.com", "safebrowsing.googleapis.com", "cdn.jsdelivr.net",
    "ajax.googleapis.com", "cdnjs.cloudflare.com", "edge.microsoft.com",
]
LOCAL = [f"dc1.{DISTRICT_DOMAIN}", f"www.{DISTRICT_DOMAIN}", f"printers.{DISTRICT_DOMAIN}",
         "wpad", "10.in-addr.arpa", "53.0.0.10.in-addr.arpa"]

PLANTED = {
    "unvetted": ["Blooket", "Gimkit", "ChatGPT", "Brainly", "mathfun-unblocked.net"],
    "denied": ["TikTok"],
    "contract_expired": ["Prodigy Math", "Flocabulary"],
}

GSCOPE = "https://www.googleapis.com/auth/"
BASIC = ("openid", GSCOPE + "userinfo.email", GSCOPE + "userinfo.profile")


class TokenApp(NamedTuple):
    """An app in the demo's Google Workspace token log."""

    name: str
    client_id: str
    scopes: tuple[str, ...]
    students: int
    staff: int
    schools: tuple[str, ...]
    revoked: bool = False
    """Every account revokes its grant again (no finding: nothing is still shared)."""
    drift_scopes: tuple[str, ...] = ()
    """Extra scopes granted by the first ``drift_accounts`` accounts."""
    drift_accounts: int = 0


HS, MS = "Riverbend High School", "Riverbend Middle School"
TOKEN_APPS = [
    # Approved, within the data their reviews allow: no finding.
    TokenApp("Khan Academy", "733386251178-kd2ltv7k1c9.apps.googleusercontent.com",
             (*BASIC, GSCOPE + "classroom.rosters.readonly"), 40, 4, (HS, MS)),
    TokenApp("Edpuzzle", "316297850331-edpz8g1q0s.apps.googleusercontent.com",
             (*BASIC, GSCOPE + "classroom.courses.readonly", GSCOPE + "classroom.rosters.readonly",
              GSCOPE + "classroom.coursework.students"), 0, 6, (HS, MS)),
    TokenApp("Canva for Education", "628041795532-cnv4ed0k2m.apps.googleusercontent.com",
             (*BASIC, GSCOPE + "drive.file"), 25, 3, (HS, MS)),
    # Scope drift: Kahoot!'s review allows identity, e-mail and rosters; some
    # teachers also granted it full Drive access.
    TokenApp("Kahoot!", "551023337144-kahoot7hq2v.apps.googleusercontent.com",
             (*BASIC, GSCOPE + "classroom.rosters.readonly"), 30, 6, (HS, MS, "Riverbend Academy"),
             drift_scopes=(GSCOPE + "drive",), drift_accounts=5),
    # Unvetted, with high-risk scopes.
    TokenApp("QuizWhiz Pro", "402938475610-qwz7hk2m9p1.apps.googleusercontent.com",
             (*BASIC, GSCOPE + "drive", GSCOPE + "classroom.rosters.readonly"), 24, 2, (MS, HS)),
    TokenApp("EssayGenie AI", "889120334457-essgn3ai0x.apps.googleusercontent.com",
             (*BASIC, GSCOPE + "drive", GSCOPE + "gmail.readonly"), 9, 0, (HS,)),
    TokenApp("Gimkit", "274610092234-gmkt5cls9r.apps.googleusercontent.com",
             (*BASIC, GSCOPE + "classroom.courses.readonly", GSCOPE + "classroom.rosters",
              GSCOPE + "classroom.coursework.students"), 0, 3, (MS,)),
    # Denied in the catalog, yet granted.
    TokenApp("Character.AI", "990417732001-chrai4x8kq.apps.googleusercontent.com", BASIC, 5, 0,
             (HS,)),
    # Unvetted, but revoked by everyone who granted it.
    TokenApp("Free PDF Merger", "145566778899-pdfmrg2z1w.apps.googleusercontent.com",
             (*BASIC, GSCOPE + "drive"), 4, 0, (HS,), revoked=True),
]
STUDENT_DOMAIN = "students." + DISTRICT_DOMAIN
PLANTED_SSO = {
    "unvetted_grant": ["QuizWhiz Pro", "EssayGenie AI", "Gimkit"],
    "scope_drift": ["Kahoot!"],
    "denied_grant": ["Character.AI"],
}
"""What the token log plants: rule -> the apps it must raise (and nothing else)."""


@dataclass
class Device:
    ip: str
    site: str
    population: str
    user: str
    apps: list[int]
    activity: float


DNS_FORMATS = ("bind", "windns_debug", "zeek_dns", "pcap")
"""What the demo's DNS server writes: BIND query logs (rotated, gzipped), a Windows
DNS Server debug log, a Zeek dns.log, or a packet capture of the queries."""


def generate(out: Path, *, devices: int = 1200, days: int = 7, end: dt.date | None = None,
             seed: int = 7, bind_only: bool = False, dns_format: str = "bind") -> Path:
    """Write the demo district into ``out``; returns the config path."""
    if dns_format not in DNS_FORMATS:
        raise ValueError(f"dns_format must be one of {', '.join(DNS_FORMATS)}")
    end = end or (dt.date.today() - dt.timedelta(days=1))
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    fleet = _fleet(rng, devices)
    _write_catalog(out / "catalog.csv", end)
    _write_config(out / "sentinel.toml", dns_format)
    tz = zoneinfo.ZoneInfo(TZ)
    squid_dir = out / "logs" / "squid"
    squid_dir.mkdir(parents=True, exist_ok=True)
    squid_lines: list[tuple[float, str]] = []
    web: list[tuple[float, str, str]] = []
    web_rng = random.Random(seed + 1)
    writer = _DnsWriter(out / "logs", dns_format, tz)
    for i in range(days):
        day = end - dt.timedelta(days=days - 1 - i)
        dns, proxy = _day(rng, fleet, day, tz, with_proxy=not bind_only, web_rng=web_rng, web=web)
        squid_lines.extend(proxy)
        writer.day(day, days - 1 - i, dns, first=i == 0)
    writer.close()
    if not bind_only:
        squid_lines.sort()
        body = "".join(line for _, line in squid_lines)
        (squid_dir / "access.log").write_text(_malformed_squid() + body)
        web.sort()
        for kind, name, head in (("fortigate", "fortigate.log", ""),
                                 ("lightspeed", "activity.csv", LIGHTSPEED_HEADER)):
            folder = out / "logs" / kind
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(head + "".join(t for _, k, t in web if k == kind))
        google = out / "logs" / "google"
        google.mkdir(parents=True, exist_ok=True)
        (google / "token.ndjson").write_text(
            _token_log(random.Random(seed + 2), fleet, end, days))
    return out / "sentinel.toml"


def account(d: Device) -> str:
    """A device's Google account (students have their own sub-domain)."""
    return f"{d.user}@{STUDENT_DOMAIN if d.population == 'students' else DISTRICT_DOMAIN}"


def _token_log(rng: random.Random, fleet: list[Device], end: dt.date, days: int) -> str:
    """Google Workspace Reports API token activities (NDJSON, as GAM or an
    API dump writes them): authorize events for ``TOKEN_APPS``, some revokes,
    and the API ``request`` events that make up most of a real token log."""
    tz = zoneinfo.ZoneInfo(TZ)
    start = dt.datetime.combine(end - dt.timedelta(days=days - 1), dt.time(8, 0), tz)
    span = days * 86400 - 16 * 3600
    out: list[tuple[float, str]] = []
    serial = 0

    def activity(ts: float, d: Device, name: str, app: TokenApp, scopes: tuple[str, ...]) -> None:
        nonlocal serial
        serial += 1
        params: list[dict[str, object]] = [
            {"name": "client_id", "value": app.client_id}, {"name": "app_name", "value": app.name},
            {"name": "client_type", "value": "WEB"}]
        if name != "request":
            params.append({"name": "scope", "multiValue": list(scopes)})
        else:
            params.append({"name": "method_name", "value": "drive.files.list"})
        stamp = dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        doc = {"kind": "admin#reports#activity",
               "id": {"time": stamp, "uniqueQualifier": str(9_000_000 + serial),
                      "applicationName": "token", "customerId": "C04demo00"},
               "actor": {"callerType": "USER", "email": account(d),
                         "profileId": str(100_000 + serial)},
               "ipAddress": d.ip,
               "events": [{"type": "auth", "name": name, "parameters": params}]}
        out.append((ts, json.dumps(doc, separators=(",", ":")) + "\n"))

    for app in TOKEN_APPS:
        pool_s = [d for d in fleet if d.population == "students" and d.site in app.schools]
        pool_t = [d for d in fleet if d.population == "staff" and d.site in app.schools]
        chosen = (rng.sample(pool_t, min(app.staff, len(pool_t)))
                  + rng.sample(pool_s, min(app.students, len(pool_s))))
        for k, d in enumerate(chosen):
            ts = start.timestamp() + rng.uniform(0, span)
            scopes = app.scopes + (app.drift_scopes if k < app.drift_accounts else ())
            activity(ts, d, "authorize", app, scopes)
            for _ in range(rng.randrange(1, 4)):
                activity(ts + rng.uniform(60, 20_000), d, "request", app, ())
            if app.revoked:
                activity(ts + rng.uniform(3600, 30_000), d, "revoke", app, app.scopes)
    out.sort()
    return "".join(line for _, line in out)


class _DnsWriter:
    """Writes each day's queries in the chosen DNS format."""

    def __init__(self, logs: Path, fmt: str, tz: dt.tzinfo) -> None:
        self.fmt, self.tz = fmt, tz
        self.dir = logs / {"bind": "named", "windns_debug": "windns", "zeek_dns": "zeek",
                           "pcap": "pcap"}[fmt]
        self.dir.mkdir(parents=True, exist_ok=True)
        self.events: list[Event] = []
        self.lines: list[str] = []
        self.first_ts: float | None = None

    def day(self, day: dt.date, age: int, dns: list[_Query], first: bool) -> None:
        if self.fmt == "bind":
            name = "queries.log" if age == 0 else f"queries.log.{age}"
            text = "".join(_bind_line(q.ts, self.tz, q.ip, q.host, q.qtype, q.serial, q.port)
                           for q in dns)
            if first:
                text = _malformed_bind(day) + text
            if age >= 2:
                with gzip.GzipFile(self.dir / (name + ".gz"), "wb", mtime=0) as fh:
                    fh.write(text.encode())
            else:
                (self.dir / name).write_text(text)
            return
        for q in dns:
            self.events.append(Event(q.ts, "dns", q.ip, "", q.host, "allowed", None, q.qtype,
                                     status=0, line=q.serial & 0xFFFF))
            if self.first_ts is None:
                self.first_ts = q.ts

    def close(self) -> None:
        if self.fmt == "bind":
            return
        evs = self.events
        start = self.first_ts or 0.0
        if self.fmt == "windns_debug":
            from collectors.dns import windows
            body = "\r\n".join(windows.render(ev, self.tz, packet=0x1A2B3C4D5E0 + i)
                                 for i, ev in enumerate(evs))
            (self.dir / "dns.log").write_bytes(
                (windows.render_header(start, self.tz) + body + "\r\n").encode())
        elif self.fmt == "zeek_dns":
            from collectors.dns import zeek
            lines = [*zeek.header("dns", start), *(zeek.render(ev, i) for i, ev in enumerate(evs)),
                     zeek.footer(evs[-1].ts if evs else start)]
            (self.dir / "dns.log").write_text("\n".join(lines) + "\n")
        else:
            from collectors.dns import pcap
            pcap.write_pcap(evs, self.dir / "dns.pcap")


def _fleet(rng: random.Random, n: int) -> list[Device]:
    fleet = []
    staff_n = max(6, n // 10)
    student_n = n - staff_n
    weights = [w for *_, w in PRODUCTS]
    for k, (site, octet, share) in enumerate(SCHOOLS):
        count = max(3, round(student_n * share))
        for j in range(count):
            ip = f"10.{octet}.{j // 250}.{j % 250 + 2}"
            apps = _pick(rng, weights, 6)
            fleet.append(Device(ip, site, "students", f"s{octet}{j:04d}", apps, rng.uniform(0.5, 1.5)))
        for j in range(max(1, staff_n // (len(SCHOOLS) + 1))):
            ip = f"10.{octet}.64.{j + 2}"
            apps = _pick(rng, weights, 5)
            fleet.append(Device(ip, site, "staff", f"t{octet}{j:03d}", apps, rng.uniform(0.5, 1.5)))
        del k
    for j in range(max(2, staff_n // (len(SCHOOLS) + 1))):
        fleet.append(Device(f"10.{OFFICE[1]}.0.{j + 2}", OFFICE[0], "staff", f"o{j:03d}",
                            _pick(rng, weights, 4), rng.uniform(0.5, 1.5)))
    return fleet


def _pick(rng: random.Random, weights: list[float], k: int) -> list[int]:
    idx = list(range(len(weights)))
    chosen: set[int] = set()
    while len(chosen) < k:
        chosen.add(rng.choices(idx, weights=weights)[0])
    return sorted(chosen)


class _Query(NamedTuple):
    ts: float
    ip: str
    host: str
    qtype: str
    serial: int
    port: int


SQUID_SITES = ("Riverbend High School", "Riverbend Middle School", "District Office")
FORTIGATE_SITES = ("Oak Grove Elementary", "Riverbend Academy")
"""Web traffic: Squid at these sites, a FortiGate at those, and the other two
elementary schools through Lightspeed Web Filter (its activity-log export)."""
LIGHTSPEED_HEADER = ("Time,Destination,Action,Reason,User,IP Address,User OU,User Groups,"
                     "Computer,Category\n")


def _day(rng: random.Random, fleet: list[Device], day: dt.date, tz: dt.tzinfo,
         with_proxy: bool, web_rng: random.Random | None = None,
         web: list[tuple[float, str, str]] | None = None,
         ) -> tuple[list[_Query], list[tuple[float, str]]]:
    """One day's DNS queries and Squid lines; FortiGate and Lightspeed lines go
    to ``web`` (drawn from ``web_rng``, so the DNS and Squid logs stay as they were)."""
    web_rng = web_rng or random.Random(0)
    web = [] if web is None else web
    start = dt.datetime.combine(day, dt.time(7, 30), tz).timestamp()
    span = 8.5 * 3600
    weekend = day.weekday() >= 5
    dns: list[_Query] = []
    proxy: list[tuple[float, str]] = []
    serial = rng.randrange(0x7F0000000000, 0x7FFF00000000)
    for d in fleet:
        scale = d.activity * (0.15 if weekend else 1.0)
        queries: list[str] = []
        for _ in range(int(12 * scale) + 1):
            queries.append(rng.choice(NOISE))
        if rng.random() < 0.5 * scale:
            queries.append(rng.choice(LOCAL))
        for a in d.apps:
            name, _v, _s, _c, _dom, hosts, weight = PRODUCTS[a]
            if weight == 0 or (name == "PowerSchool SIS" and d.population == "students"):
                continue
            if rng.random() < min(1.0, 0.35 * weight * scale):
                queries.extend(rng.choice(hosts) for _ in range(rng.randint(1, 4)))
        for _name, hosts, rate, sites in UNVETTED:
            if d.site in sites and rng.random() < 0.04 * rate * scale:
                queries.extend(rng.choice(hosts) for _ in range(rng.randint(2, 6)))
        host, rate, sites = UNKNOWN_DOMAIN
        if d.site in sites and d.population == "students" and rng.random() < 0.03 * rate * scale:
            queries.extend([host] * rng.randint(2, 5))
        for q in queries:
            ts = start + rng.random() * span
            qtype = "AAAA" if rng.random() < 0.3 else "A"
            dns.append(_Query(ts, d.ip, q, qtype, serial + rng.randrange(1 << 20),
                              rng.randrange(1024, 65535)))
            if with_proxy and qtype == "A" and not _local(q):
                if d.site in SQUID_SITES:
                    proxy.append((ts, _squid_line(rng, ts + 0.05, d, q)))
                elif d.site in FORTIGATE_SITES:
                    web.append((ts, "fortigate", _fortigate_line(web_rng, ts + 0.05, d, q, tz)))
                else:
                    web.append((ts, "lightspeed", _lightspeed_row(web_rng, ts + 0.05, d, q, tz)))
    dns.sort()
    return dns, proxy


def _local(host: str) -> bool:
    return host.endswith((DISTRICT_DOMAIN, ".arpa")) or "." not in host


def _bind_line(ts: float, tz: dt.tzinfo, ip: str, host: str, qtype: str, serial: int,
               port: int) -> str:
    t = dt.datetime.fromtimestamp(ts, tz)
    stamp = t.strftime("%d-%b-%Y %H:%M:%S.") + f"{t.microsecond // 1000:03d}"
    return (f"{stamp} queries: info: client @0x{serial:x} {ip}#{port} ({host}): "
            f"query: {host} IN {qtype} +E(0)K (10.20.0.53)\n")


def _squid_line(rng: random.Random, ts: float, d: Device, host: str) -> str:
    denied = host.endswith(("tiktok.com", "tiktokcdn.com", "character.ai"))
    size = rng.randrange(400, 90_000)
    user = d.user if d.population == "staff" or rng.random() < 0.7 else "-"
    if denied:
        return (f"{ts:.3f} {rng.randrange(1, 40):6d} {d.ip} TCP_DENIED/403 3950 CONNECT "
                f"{host}:443 {user} HIER_NONE/- text/html\n")
    return (f"{ts:.3f} {rng.randrange(20, 3000):6d} {d.ip} TCP_TUNNEL/200 {size} CONNECT "
            f"{host}:443 {user} HIER_DIRECT/{host} -\n")


def _blocked(host: str) -> bool:
    return host.endswith(("tiktok.com", "tiktokcdn.com", "character.ai"))


def _fortigate_line(rng: random.Random, ts: float, d: Device, host: str, tz: dt.tzinfo) -> str:
    """A FortiOS 7 webfilter log line (type=utm subtype=webfilter), as sent to syslog."""
    t = dt.datetime.fromtimestamp(ts, tz)
    off = t.strftime("%z")
    blocked = _blocked(host)
    user = f' user="{d.user}"' if d.population == "staff" else ""
    sent, rcvd = (rng.randrange(300, 2_000), 0) if blocked else (
        rng.randrange(300, 60_000), rng.randrange(2_000, 400_000))
    event, action, msg, cat = (
        ("ftgd_blk", "blocked", "URL belongs to a denied category in policy", 'cat=37 catdesc="Social Networking"')
        if blocked else ("ftgd_allow", "passthrough", "URL belongs to an allowed category in policy",
                         'cat=30 catdesc="Education"'))
    return (f'date={t:%Y-%m-%d} time={t:%H:%M:%S} devname="RB-FGT-01" devid="FG100FTK20000001" '
            f'eventtime={int(ts * 1e9)} tz="{off}" logid="031601305{2 if blocked else 7}" type="utm" '
            f'subtype="webfilter" eventtype="{event}" level="{"warning" if blocked else "notice"}" '
            f'vd="root" policyid=12 sessionid={rng.randrange(1, 2**31)} srcip={d.ip} '
            f'srcport={rng.randrange(1024, 65535)} srcintf="port2" srcintfrole="lan" '
            f'dstip=203.0.113.{rng.randrange(1, 254)} dstport=443 dstintf="port1" dstintfrole="wan" '
            f'proto=6 service="HTTPS" hostname="{host}" profile="k12-students" action="{action}" '
            f'reqtype="direct" url="https://{host}/" sentbyte={sent} rcvdbyte={rcvd} '
            f'direction="outgoing" msg="{msg}"{user} method="domain" {cat}\n')


def _lightspeed_row(rng: random.Random, ts: float, d: Device, host: str, tz: dt.tzinfo) -> str:
    """A row of Lightspeed Web Filter's activity-log export (see collectors/presets)."""
    t = dt.datetime.fromtimestamp(ts, tz)
    stamp = f"{t.month}/{t.day}/{t.year} {t.hour % 12 or 12}:{t.minute:02d}:{t.second:02d} " + (
        "AM" if t.hour < 12 else "PM")
    action, reason = ("Blocked", "Blocked category") if _blocked(host) else (
        "Allowed", "Allowed category")
    ou = "Students" if d.population == "students" else "Staff"
    return (f'{stamp},https://{host}/,{action},{reason},{d.user},{d.ip},{ou},'
            f'"{d.site}, {ou}",CB-{rng.randrange(1000, 9999)},education\n')


def _malformed_bind(day: dt.date) -> str:
    stamp = day.strftime("%d-%b-%Y")
    return (
        f"{stamp} 06:00:00.000 general: info: zone {DISTRICT_DOMAIN}/IN: loaded serial 2026112901\n"
        f"{stamp} 06:00:01.250 queries: info: client @0x7f00 10.10.0.9#5353 (trunc\n"
        f"{stamp} 06:00:02.000 queries: info: client @0x7f01 10.10.0.9#5353 (bad..name): query: bad..name IN A + (10.20.0.53)\n"
        "GARBAGE \x00\x01 not a log line\n"
        f"99-Zzz-2026 06:00:03.000 queries: info: client @0x7f02 10.10.0.9#5353 (x.com): query: x.com IN A + (10.20.0.53)\n"
    )


def _malformed_squid() -> str:
    return ("1764400000.000 12 10.10.0.9 TCP_MISS/200\n"
            "notatime 12 10.10.0.9 TCP_MISS/200 100 GET http://a.example/ - HIER_DIRECT/a -\n")


SOURCE = {"bind": "logs/named/queries.log*", "windns_debug": "logs/windns/dns.log",
          "zeek_dns": "logs/zeek/dns.log", "pcap": "logs/pcap/dns.pcap"}


ALLOWED_DATA = {
    "Khan Academy": "identity; email_address; roster",
    "Edpuzzle": "identity; email_address; roster; coursework; grades",
    "Canva for Education": "identity; email_address; files",
    "Kahoot!": "identity; email_address; roster",
}
"""The reviews' allowed data elements (the SSO scope-drift rule holds grants to them)."""


def _write_catalog(path: Path, end: dt.date) -> None:
    ids = {a.name: a.client_id for a in TOKEN_APPS}
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "vendor", "domains", "status", "contract_expires", "category",
                    "sso_ids", "allowed_data"])
        for name, vendor, status, contract, domains, _h, _w in PRODUCTS:
            expires = (end + dt.timedelta(days=contract)).isoformat() if contract is not None else ""
            # Kahoot! is listed with its OAuth client id (matched by id); the
            # others by their names.
            sso = ids[name] if name == "Kahoot!" else ""
            w.writerow([name, vendor, " ".join(domains), status, expires, "", sso,
                        ALLOWED_DATA.get(name, "")])


def _write_config(path: Path, dns_format: str = "bind") -> None:
    nets = []
    for site, octet, _share in SCHOOLS:
        nets.append(f'[[networks]]\ncidr = "10.{octet}.0.0/18"\nsite = "{site}"\npopulation = "students"\n')
        nets.append(f'[[networks]]\ncidr = "10.{octet}.64.0/22"\nsite = "{site}"\npopulation = "staff"\n')
    nets.append(f'[[networks]]\ncidr = "10.{OFFICE[1]}.0.0/16"\nsite = "{OFFICE[0]}"\npopulation = "staff"\n')
    path.write_text(f"""# Demo district generated by `sentinel demo`. Paths are relative to this file.
[district]
name = "Riverbend Unified School District (demo)"
timezone = "{TZ}"
domains = ["{DISTRICT_DOMAIN}"]

[storage]
data_dir = ".."

[catalog]
path = "catalog.csv"

[privacy]
store_urls = false
retention_days = 400

[privacy.identity]
students = "pseudonymize"
staff = "pseudonymize"
guest = "drop"
unknown = "pseudonymize"

[findings]
unvetted_min_clients = 3
unvetted_min_events = 10
window_days = 7

[[sources]]
path = "{SOURCE[dns_format]}"
format = "{dns_format}"

[[sources]]
path = "logs/squid/access.log*"
format = "squid"

[[sources]]
path = "logs/fortigate/fortigate.log"
format = "fortigate"

[[sources]]
path = "logs/lightspeed/activity.csv"
format = "lightspeed_csv"

[[sources]]
path = "logs/google/token.ndjson"
format = "gws_token"

[[accounts]]
match = "*@{STUDENT_DOMAIN}"
population = "students"

[[accounts]]
match = "*@{DISTRICT_DOMAIN}"
population = "staff"

""" + "\n".join(nets))

