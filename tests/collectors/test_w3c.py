"""W3C extended logs (ProxySG, IIS): layouts, quoting, round trips, resume, hostile input."""

from __future__ import annotations

import contextlib
import datetime as dt
import zoneinfo
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import LineParser, ParseContext
from collectors.driver import ReadStats, read_batches
from collectors.errors import ParseError
from collectors.event import Event
from collectors.proxy import w3c
from collectors.registry import FORMATS, detect, head_lines

DATA = Path(__file__).parent.parent / "data"

label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
hosts = st.lists(label, min_size=2, max_size=4).map(".".join)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.tuples(*[st.integers(0, 0xFFFF)] * 8).map(
    lambda t: str(__import__("ipaddress").ip_address(":".join(f"{x:x}" for x in t))))
clients = st.one_of(ipv4, ipv6)
stamps = st.integers(1_600_000_000_000, 1_900_000_000_000).map(lambda ms: ms / 1000)
text = st.text(st.characters(blacklist_characters="\n\r", codec="utf-8"), max_size=40)
paths = st.sampled_from(["/", "/a/b.js", "/watch", "/%E2%9C%93/x.html"])
queries = st.sampled_from(["", "x=1", "q=a%20b&y=2"])
HEAD = w3c.header("proxysg")
IIS_HEAD = w3c.header("iis")
RECORD = ('2026-11-29 14:03:01 212 10.10.0.12 s100012 - - OBSERVED "Education" -  200 TCP_NC_MISS GET '
          'text/html http www.khanacademy.org 80 /math ?x=1 - "Mozilla/5.0 (X11)" 10.0.0.5 5120 410 -')
IIS_DEFAULT = ("#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
               "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken")


def parser(ctx: ParseContext | None = None) -> LineParser:
    return w3c.make_parser(ctx or ParseContext())


def feed(lines: list[str], ctx: ParseContext | None = None) -> list[Event]:
    parse = parser(ctx)
    out = []
    for i, line in enumerate(lines, 1):
        ev = parse(line, i)
        if ev is not None:
            out.append(ev)
    return out


@st.composite
def proxy_events(draw: st.DrawFn) -> Event:
    host = draw(hosts)
    method = draw(st.sampled_from(["GET", "POST", "CONNECT", "HEAD", None]))
    if method == "CONNECT":
        port = draw(st.sampled_from(["443", "8443"]))
        url = f"{host}:{port}"
    else:
        scheme = draw(st.sampled_from(["http", "https"]))
        port = draw(st.sampled_from(["", ":8080", ":8443"]))
        q = draw(queries)
        url = f"{scheme}://{host}{port}{draw(paths)}" + (f"?{q}" if q else "")
    blocked = draw(st.booleans())
    user = draw(st.one_of(st.sampled_from(["", "s100012", "DISTRICT\\jdoe", "Jane Q. Teacher",
                                           'say "hi"', "back\\"]), text))
    category = draw(st.one_of(st.none(), st.sampled_from(["Education", "Games;Social Networking",
                                                          'x "y"', "Search Engines/Portals"])))
    return Event(draw(stamps), "proxy", draw(clients), user, host, "blocked" if blocked else "allowed",
                 url, None, method, draw(st.sampled_from([None, 200, 302, 403, 407])),
                 draw(st.one_of(st.none(), st.integers(0, 10**12))),
                 draw(st.one_of(st.none(), st.integers(0, 10**9))), category, line=9)


# ---------------------------------------------------------------- round trips

def _plain(v: str) -> bool:
    # "-" is W3C's "no value", blanks only separate; and a value holding both a backslash and
    # a quote is ambiguous (is \" an escape?): the parser settles it by the field count.
    return bool(v.strip(" \t")) and v != "-" and not ("\\" in v and '"' in v)


def _clean(ev: Event) -> bool:
    return all(v is None or _plain(v) for v in (ev.user or None, ev.category))


@settings(max_examples=300, deadline=None)
@given(ev=proxy_events(), agent=text)
def test_proxysg_round_trip(ev: Event, agent: str) -> None:
    if not _clean(ev):
        return
    assert feed([*HEAD, w3c.render(ev, "proxysg", agent)]) == [ev]


@settings(max_examples=200, deadline=None)
@given(ts=stamps, client=clients, host=hosts, path=paths, q=queries, https=st.booleans(),
       user=st.sampled_from(["", "jdoe", "DISTRICT\\jdoe", "s1@district.example.org"]),
       status=st.sampled_from([None, 200, 304, 404]), sent=st.integers(0, 10**9),
       rcvd=st.integers(0, 10**6))
def test_iis_round_trip(ts: float, client: str, host: str, path: str, q: str, https: bool, user: str,
                        status: int | None, sent: int, rcvd: int) -> None:
    url = f"{'https' if https else 'http'}://{host}{path}" + (f"?{q}" if q else "")
    ev = Event(ts, "proxy", client, user, host, "allowed", url, None, "GET", status, sent, rcvd, line=5)
    assert feed([*IIS_HEAD, w3c.render(ev, "iis", "Mozilla/5.0 (iPad; CPU OS 17_6)")]) == [ev]


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.one_of(text, st.sampled_from(['""', '"', '\\', '\\"', "a b", '-', " "])),
                       min_size=1, max_size=8))
def test_quoted_values_split_back(values: list[str]) -> None:
    values = [v for v in values if _plain(v)]
    line = " ".join(w3c._quoted(v) for v in values)
    assert w3c.split_fields(line) == values


# ---------------------------------------------------------------- hostile input

field = st.one_of(text, st.sampled_from(["-", '"', '""', '"a b"', "2026-11-29", "14:03:01", "10.0.0.1",
                                         "CONNECT", "tcp", "www.example.com", "443", "/", "DENIED", "\\"]))


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.lists(field, min_size=1, max_size=27), max_size=4))
def test_records_after_a_header_raise_parse_error_only(rows: list[list[str]]) -> None:
    parse = parser()
    for i, line in enumerate(HEAD, 1):
        parse(line, i)
    for row in rows:
        try:
            ev = parse(" ".join(row).replace("\n", " "), 9)
        except ParseError:
            continue
        assert ev is None or isinstance(ev, Event)


@settings(max_examples=300, deadline=None)
@given(cut=st.integers(0, len(RECORD)), junk=text, drop=st.integers(0, 6))
def test_mangled_records_raise_parse_error_only(cut: int, junk: str, drop: int) -> None:
    parse = parser()
    for i, line in enumerate(HEAD, 1):
        parse(line, i)
    with contextlib.suppress(ParseError):
        parse(RECORD[:cut] + junk + RECORD[cut + drop :], 9)


@settings(max_examples=200, deadline=None)
@given(body=text)
def test_directives_raise_parse_error_only(body: str) -> None:
    parse = parser()
    for prefix in ("#Fields:", "#Date:", "#Software:", "# Fields:", "#"):
        try:
            parse(prefix + body, 1)
            parse(RECORD, 2)
        except ParseError:
            pass


# ---------------------------------------------------------------- quirks

def test_record_fields() -> None:
    [ev] = feed([*HEAD, RECORD])
    assert ev == Event(1795960981.0, "proxy", "10.10.0.12", "s100012", "www.khanacademy.org", "allowed",
                       "http://www.khanacademy.org/math?x=1", None, "GET", 200, 5120, 410, "Education")


def test_verdicts() -> None:
    def action(**swap: str) -> str:
        line = RECORD
        for old, new in swap.items():
            line = line.replace(old, new)
        [ev] = feed([*HEAD, line])
        return ev.action

    assert action(OBSERVED="PROXIED") == "allowed"
    assert action(OBSERVED="DENIED") == "blocked"
    assert action(TCP_NC_MISS="TCP_DENIED") == "blocked"
    assert action(**{"- - OBSERVED": "- policy_denied OBSERVED"}) == "blocked"
    assert action(**{"- - OBSERVED": "- dns_unresolved_hostname OBSERVED"}) == "allowed"


def test_connect_and_urls() -> None:
    connect = RECORD.replace("GET text/html http", "CONNECT - tcp").replace("80 /math ?x=1", "443 / -")
    intercepted = RECORD.replace("http www.khanacademy.org 80", "https www.khanacademy.org 8443")
    no_query = RECORD.replace("?x=1", "-")
    evs = feed([*HEAD, connect, intercepted, no_query])
    assert [e.url for e in evs] == ["www.khanacademy.org:443", "https://www.khanacademy.org:8443/math?x=1",
                                    "http://www.khanacademy.org/math"]
    assert evs[0].method == "CONNECT" and evs[0].host == "www.khanacademy.org"


def test_host_header_with_port_and_ipv6_hosts() -> None:
    line = RECORD.replace(" www.khanacademy.org 80 ", " Portal.Example:8080 8080 ")
    v6 = RECORD.replace(" www.khanacademy.org 80 ", " 2001:db8::99 80 ")
    bracketed = RECORD.replace(" www.khanacademy.org 80 ", " [2001:db8::99]:8080 8080 ")
    a, b, c = feed([*HEAD, line, v6, bracketed])
    assert a.host == "portal.example" and a.url == "http://Portal.Example:8080/math?x=1"
    assert b.host == "2001:db8::99" and b.url == "http://[2001:db8::99]/math?x=1"
    assert c.host == "2001:db8::99" and c.url == "http://[2001:db8::99]:8080/math?x=1"


def test_failed_connection_is_ignored_but_pathless_request_without_host_is_not() -> None:
    failed = RECORD.replace("GET text/html http www.khanacademy.org 80 /math ?x=1",
                            "unknown - - - 0 / -")
    assert feed([*HEAD, failed]) == []
    hostless = RECORD.replace(" www.khanacademy.org ", " - ")
    with pytest.raises(ParseError, match="request without a host"):
        feed([*HEAD, hostless])


def test_new_header_block_switches_layout() -> None:
    iis = ("2026-11-29 15:00:01 10.0.0.80 GET /grades/ term=2 443 - 10.10.0.40 Mozilla/5.0+(iPad) - "
           "200 0 0 46")
    evs = feed([*HEAD, RECORD, "#Software: Microsoft Internet Information Services 10.0",
                "#Version: 1.0", IIS_DEFAULT, iis, *HEAD[3:5], RECORD])
    assert [e.host for e in evs] == ["www.khanacademy.org", "10.0.0.80", "www.khanacademy.org"]
    assert evs[1].url == "https://10.0.0.80/grades/?term=2" and evs[1].client == "10.10.0.40"


def test_iis_host_comes_from_cs_host_then_server_ip() -> None:
    fields = IIS_DEFAULT + " cs-host"
    rec = "2026-11-29 15:00:01 10.0.0.80 GET / - 80 - 10.10.0.40 - - 200 0 0 46 {}"
    a, b = feed([IIS_HEAD[0], fields, rec.format("intranet.district.example"), rec.format("-")])
    assert a.host == "intranet.district.example" and b.host == "10.0.0.80"
    # Not IIS (no #Software saying so, no IIS-only field): s-ip is the proxy itself, never the host.
    with pytest.raises(ParseError, match="request without a host"):
        feed(["#Fields: date time s-ip cs-method cs-uri-stem c-ip",
              "2026-11-29 15:00:01 10.0.0.5 GET / 10.1.1.1"])


def test_times() -> None:
    fields = "#Fields: date time cs-method cs-uri"
    recs = [f"2026-11-29 {t} GET http://a.example/" for t in ("14:03:01", "14:03:01.5", "14:03",
                                                              "14:03:01.123456")]
    evs = feed([fields, *recs])
    assert [e.ts for e in evs] == [1795960981.0, 1795960981.5, 1795960980.0, 1795960981.123456]
    # The draft's date-less layout takes #Date; without one, records have no date.
    assert feed(["#Date: 29-Nov-2026 00:00:00", "#Fields: time cs-uri", "14:03:01 http://a.example/"]
                )[0].ts == 1795960981.0
    with pytest.raises(ParseError, match="record without a date"):
        feed(["#Fields: time cs-uri", "14:03:01 http://a.example/"])
    # W3C times are UTC whatever the context zone; IIS Advanced Logging's local fields are not.
    chicago = ParseContext(tz=zoneinfo.ZoneInfo("America/Chicago"))
    assert feed([fields, recs[0]], chicago)[0].ts == 1795960981.0
    local = feed(["#Fields: date-local time-local cs-uri", "2026-11-29 08:03:01 http://a.example/"], chicago)
    assert local[0].ts == 1795960981.0


def test_time_format_directive() -> None:
    chicago = ParseContext(tz=zoneinfo.ZoneInfo("America/Chicago"))
    head = ["#Version: 1.5", "#Software: Microsoft Windows Firewall", "#Time Format: Local",
            "#Fields: date time cs-uri"]
    rec = "2026-11-29 08:03:01 http://a.example/"
    assert feed([*head, rec], chicago)[0].ts == 1795960981.0
    # A later header block without the directive is UTC again.
    assert feed([*head, "#Software: SGOS 7.3", "#Fields: date time cs-uri", rec], chicago)[0].ts == (
        1795960981.0 - 6 * 3600)


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.one_of(text, st.sampled_from(HEAD)).map(lambda s: s.replace("\n", " ")),
                      max_size=6))
def test_sniff_never_raises(lines: list[str]) -> None:
    assert w3c.sniff(lines) in (True, False)


def test_tab_separated_layout() -> None:
    fields = "#Fields: c-ip\tcs-username\tdate\ttime\ts-operation\tcs-uri\tsc-status\taction"
    rec = "10.0.0.7\tDISTRICT\\jo doe\t2026-11-29\t14:03:01\tGET\thttp://a.example/x y\t12202\tDenied"
    [ev] = feed([fields, rec])
    assert (ev.user, ev.url, ev.status, ev.action, ev.method) == (
        "DISTRICT\\jo doe", "http://a.example/x y", None, "blocked", "GET")


def test_syslog_wrapped_directives_and_records() -> None:
    ctx = ParseContext(reference=dt.datetime(2026, 11, 30, tzinfo=dt.UTC))
    wrap = "<134>Nov 29 08:05:00 sg-district-1 ProxySG: {}".format
    assert feed([wrap(line) for line in HEAD] + [wrap(RECORD)], ctx) == feed([*HEAD, RECORD])
    assert w3c.sniff([wrap(HEAD[4])])


def test_fields_option_for_headerless_streams() -> None:
    ctx = ParseContext(options={"fields": w3c.PROXYSG_FIELDS})
    assert feed([RECORD], ctx) == feed([*HEAD, RECORD])
    with pytest.raises(ParseError, match="record before any #Fields directive"):
        feed([RECORD])


def test_bom_and_spaced_directives() -> None:
    evs = feed(["\ufeff#Software: Microsoft Internet Information Services 10.0",
                "# Fields: date time cs-uri", "2026-11-29 14:03:01 http://a.example/"])
    assert evs[0].host == "a.example"


def test_application_name() -> None:
    fields = "#Fields: date time cs-host x-bluecoat-application-name"
    a, b, c = feed([fields, '2026-11-29 14:03:01 a.example "YouTube"', "2026-11-29 14:03:01 a.example none",
                    "2026-11-29 14:03:01 a.example -"])
    assert (a.app_name, b.app_name, c.app_name) == ("YouTube", None, None)


def test_resume_mid_file_replays_the_header(tmp_path: Path) -> None:
    path = tmp_path / "main.log"
    second = RECORD.replace("www.khanacademy.org", "www.desmos.com")
    path.write_text("\n".join([*HEAD, RECORD, second]) + "\n")
    fmt = FORMATS["w3c"]
    offset = len("\n".join([*HEAD, RECORD]).encode()) + 1
    stats = ReadStats()
    batches = list(read_batches(path, fmt.make_parser(ParseContext()), stats, offset=offset,
                                line=len(HEAD) + 1, replay=fmt.header_lines))
    assert [e.host for b in batches for e in b.events] == ["www.desmos.com"]
    assert stats.rejected == 0 and fmt.header_lines >= len(HEAD)


# ---------------------------------------------------------------- detection

def test_sniff() -> None:
    assert w3c.sniff(HEAD) and w3c.sniff(IIS_HEAD) and w3c.sniff(["# Fields: date time"])
    assert not w3c.sniff([RECORD])  # no header: cannot tell a layout
    assert not w3c.sniff(["#fields\tts\tuid\tid.orig_h"])  # Zeek
    fmt = detect([*HEAD, RECORD])
    assert fmt is not None and fmt.name == "w3c"


def test_sniff_claims_no_other_format_golden_file() -> None:
    for path in sorted(DATA.glob("*/*")):
        if path.parent.name == "w3c" or path.suffix in (".json", ".jsonl", ".md", ".py"):
            continue
        if path.is_file() and path.suffix not in (".pcap", ".pcapng", ".dnstap"):
            assert not w3c.sniff(head_lines(path)), path
