"""Infoblox NIOS: queries and responses are not counted twice; RPZ hits are blocked events."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.base import ParseContext
from collectors.dns import infoblox
from collectors.errors import ParseError

CTX = ParseContext(reference=dt.datetime(2026, 11, 30, tzinfo=dt.UTC))
Q = ("<30>Nov 29 08:00:01 ib named[1]: client @0x1 10.1.1.1#5 (a.example): "
     "query: a.example IN A + (10.0.0.53)")
R = ("<30>Nov 29 08:00:02 ib named[1]: 29-Nov-2026 08:00:02.000 client 10.1.1.1#5: UDP: "
     "query: a.example IN A response: NOERROR +")


def test_responses_count_until_a_query_line_is_seen() -> None:
    parse = infoblox.make_parser(CTX)
    assert parse(R, 1) is not None  # a server logging responses only
    assert parse(Q, 2) is not None
    assert parse(R, 3) is None  # ... now it logs both: the query line counted it


def test_rpz_hit_is_a_blocked_event_for_the_client() -> None:
    line = ('<30>Nov 29 08:00:05 ib named[1]: CEF:0|Infoblox|NIOS|9.0|RPZ-QNAME|NXDOMAIN|7|app=DNS '
            'dst=10.0.0.53 src=10.1.1.9 spt=5 view=v qtype=AAAA msg="rpz QNAME NXDOMAIN rewrite '
            'Games.Example [AAAA] via games.example.rpz"')
    ev = infoblox.make_parser(CTX)(line, 1)
    assert ev is not None
    assert (ev.client, ev.host, ev.qtype, ev.action) == ("10.1.1.9", "games.example", "AAAA", "blocked")


def test_detected_before_plain_bind_only_with_infoblox_traits() -> None:
    assert infoblox.sniff([R, Q])
    assert not infoblox.sniff([Q.replace(" ib ", " ns1 ")])  # plain BIND via syslog: the bind format


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_only_raises_parse_error(text: str) -> None:
    parse = infoblox.make_parser(CTX)
    for line in (text, "<30>Nov 29 08:00:01 ib named[1]: " + text,
                 "<30>Nov 29 08:00:01 ib named[1]: CEF:0|Infoblox|NIOS|9|RPZ-QNAME|x|7|" + text):
        try:
            ev = parse(line.replace("\n", " "), 1)
        except ParseError:
            continue
        assert ev is None or ev.host
