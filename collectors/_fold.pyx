# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Compiled folds: DNS and proxy log lines straight into per-day usage counts.

Each kernel takes only the lines it is sure of in its format's common layout
and hands every other line back by index, for the Python parser, which stays
the reference: a fold must give exactly what parsing line by line and
aggregating gives (tests/collectors/test_fold.py checks each with Hypothesis).

`Kernel` holds what every format shares: per-day buckets (dict of key bytes ->
slot), the slot arrays (count, first and last time, in microseconds unless a
kernel sets ``per_second``), the key (client, a space, the lower-cased name,
and a 0x01 byte when the query type does not show use), the host check and the
drain. Proxy kernels key on client, user and host, and also count blocks, bytes
each way and uploads. Subclasses parse lines; `KVKernel` reads ``key=value``
bodies for FortiGate and Sophos.

Input is hostile: every read is bounded by the line's length, names are copied
into a fixed buffer only after their length is checked, and the only things
stored are counts and times.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItem, PyDict_SetItem
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF, Py_INCREF
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_New, PyTuple_SET_ITEM
from cpython.unicode cimport PyUnicode_DecodeASCII
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, realloc
from libc.string cimport memchr, memcmp, memcpy, memset


cdef extern from "<time.h>" nogil:
    ctypedef long time_t
    cdef struct tm:
        int tm_sec
        int tm_min
        int tm_hour
        int tm_mday
        int tm_mon
        int tm_year
    tm *gmtime_r(const time_t *timep, tm *result)

cdef enum:
    KEY_MAX = 2048
    MAX_TOKENS = 8
    IGNORED = 2  # what _line returns for a valid line without an event (1: taken, 0: not mine)


cdef inline bint _digit(char c) noexcept nogil:
    return b'0' <= c <= b'9'


cdef inline int _d(char c) noexcept nogil:
    return c - 48


cdef inline Py_ssize_t _token_end(const char *s, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """Index of the space ending the token at ``i`` (``n`` when it ends the line)."""
    cdef const char *hit = <const char *>memchr(s + i, b' ', n - i)
    return n if hit == NULL else hit - s


cdef int64_t _epoch_us(const char *s, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    """POSIX seconds written as digits[.digits] (up to 11 and 6 of them), in
    microseconds; -1 when the text is anything else."""
    cdef Py_ssize_t i, dot = -1
    cdef int64_t sec = 0, frac = 0, scale = 1000000
    if b <= a or b - a > 18:
        return -1
    for i in range(a, b):
        if s[i] == b'.':
            if dot >= 0:
                return -1
            dot = i
        elif not _digit(s[i]):
            return -1
    if dot < 0:
        dot = b
    if dot == a or dot - a > 11 or b - dot - 1 > 6:
        return -1
    for i in range(a, dot):
        sec = sec * 10 + _d(s[i])
    for i in range(dot + 1, b):
        scale //= 10
        frac += _d(s[i]) * scale
    return sec * 1000000 + frac


cdef inline bint _starts(const char *s, Py_ssize_t n, const char *lit, Py_ssize_t k) noexcept nogil:
    return n >= k and memcmp(s, lit, k) == 0


cdef inline bint _use_qtype(const char *t, Py_ssize_t n) noexcept nogil:
    """collectors.event.USE_QTYPES: A, AAAA, HTTPS, SVCB, CNAME."""
    return ((n == 1 and t[0] == b'A')
            or (n == 4 and (memcmp(t, b"AAAA", 4) == 0 or memcmp(t, b"SVCB", 4) == 0))
            or (n == 5 and (memcmp(t, b"HTTPS", 5) == 0 or memcmp(t, b"CNAME", 5) == 0)))


cdef int _url_host(const char *s, Py_ssize_t a, Py_ssize_t b, bint connect, Py_ssize_t *h0,
                   Py_ssize_t *h1) noexcept nogil:
    """The host in the URL ``s[a:b]`` (a CONNECT authority when ``connect``) by
    `collectors.hosts.url_host`'s rule, as ``s[h0:h1]``; 0 when it is left to the
    parser (userinfo, a bracketed literal, several colons). A scheme is the
    text before the first ':' within 16 characters, before any '/', followed
    by "//"."""
    cdef Py_ssize_t x0 = a, x1 = b, i, j, colons = 0
    cdef const char *hit
    if not connect:
        hit = <const char *>memchr(s + a, b':', b - a)
        j = -1 if hit == NULL else hit - s
        if (j > a and j - a < 16 and j + 2 < b and s[j + 1] == b'/' and s[j + 2] == b'/'
                and memchr(s + a, b'/', j - a) == NULL):
            x0 = j + 3
        elif b - a >= 2 and s[a] == b'/' and s[a + 1] == b'/':
            x0 = a + 2
        x1 = x0
        while x1 < b and s[x1] != b'/' and s[x1] != b'?' and s[x1] != b'#':
            x1 += 1
        for i in range(x0, x1):
            if s[i] == b'@':
                return 0  # userinfo: the parser's rsplit rule
    j = -1
    for i in range(x0, x1):
        if s[i] == b':':
            colons += 1
            j = i
        elif s[i] == b'[':
            return 0
    if colons == 1:
        x1 = j
    elif colons > 1:
        return 0
    h0[0] = x0
    h1[0] = x1
    return 1


cdef class Kernel:
    cdef int64_t *counts
    cdef int64_t *first
    cdef int64_t *last
    cdef int64_t *blocked
    cdef int64_t *bytes_in
    cdef int64_t *bytes_out
    cdef int64_t *uploads
    cdef object per_second
    """Time units per second of the stamps given to `_add` (a Python int: drain
    divides exactly, as the line parsers' ``int / int`` does)."""
    cdef public bint with_user
    """Keys carry a user (client SP user SP name) and slots count blocks and bytes."""
    cdef Py_ssize_t size, cap
    cdef public list buckets
    """One dict per district day: key bytes -> slot."""
    cdef public dict hosts
    """Name (bytes) -> normalized host, or None when invalid; filled by ``host_ok``."""
    cdef object host_ok
    cdef object minute_cb
    cdef object cur
    cdef Py_ssize_t max_line
    cdef public bint stop_on_hash
    cdef public Py_ssize_t ignored
    """Lines folded as valid but without an event, since the wrapper last reset it."""
    cdef public dict clients
    """Client (bytes) -> canonical text, or None when invalid; None: taken as is."""
    cdef object client_ok
    cdef char key[KEY_MAX]
    cdef char prev[32]
    cdef bint have_prev
    cdef int64_t prev_us
    cdef int64_t prev_minute
    """The last minute handed to ``minute_cb`` by a kernel that caches it (-1: none)."""
    cdef int64_t upload_min
    """Bytes sent from which a POST/PUT/PATCH is an upload (`configure` of the
    proxy kernels; the pipeline's ``ingest.upload_min_bytes``)."""

    def __cinit__(self, minute_cb, host_ok, Py_ssize_t max_line, *args):
        self.minute_cb = minute_cb
        self.host_ok = host_ok
        self.hosts = {}
        self.clients = None
        self.client_ok = None
        self.stop_on_hash = False
        self.ignored = 0
        self.buckets = []
        self.max_line = min(max_line, KEY_MAX - 16)
        self.cur = None
        self.have_prev = False
        self.size = 0
        self.cap = 0
        self.counts = self.first = self.last = self.blocked = self.bytes_in = NULL
        self.bytes_out = self.uploads = NULL
        self.per_second = 1000000
        self.with_user = False
        self.prev_minute = -1
        self.upload_min = 10240

    def __dealloc__(self):
        free(self.counts)
        free(self.first)
        free(self.last)
        free(self.blocked)
        free(self.bytes_in)
        free(self.bytes_out)
        free(self.uploads)

    @property
    def keys(self):
        return self.size

    cdef int _grow(self) except -1:
        cdef Py_ssize_t cap = self.cap * 2 if self.cap else 4096
        cdef int64_t *c = <int64_t *>realloc(self.counts, cap * sizeof(int64_t))
        if c == NULL:
            raise MemoryError()
        self.counts = c
        c = <int64_t *>realloc(self.first, cap * sizeof(int64_t))
        if c == NULL:
            raise MemoryError()
        self.first = c
        c = <int64_t *>realloc(self.last, cap * sizeof(int64_t))
        if c == NULL:
            raise MemoryError()
        self.last = c
        c = <int64_t *>realloc(self.blocked, cap * sizeof(int64_t))
        if c == NULL:
            raise MemoryError()
        self.blocked = c
        c = <int64_t *>realloc(self.bytes_in, cap * sizeof(int64_t))
        if c == NULL:
            raise MemoryError()
        self.bytes_in = c
        c = <int64_t *>realloc(self.bytes_out, cap * sizeof(int64_t))
        if c == NULL:
            raise MemoryError()
        self.bytes_out = c
        c = <int64_t *>realloc(self.uploads, cap * sizeof(int64_t))
        if c == NULL:
            raise MemoryError()
        self.uploads = c
        self.cap = cap
        return 0

    def fold(self, bytes data, Py_ssize_t pos=0, Py_ssize_t idx=0):
        """Fold the lines of ``data`` from byte ``pos`` (line index ``idx``).

        Returns (index after the last line read, indices of the lines not
        taken, -1) - lines that are valid but carry no event are counted in
        ``ignored`` - or, when ``stop_on_hash`` is set and a line starts with
        ``#`` (a header that may change the layout), stops there and returns
        that line's start as the third item; its index is the first item.
        """
        cdef const char *p = PyBytes_AS_STRING(data)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
        cdef Py_ssize_t end
        cdef const char *hit
        cdef int got
        cdef list slow = []
        while pos < n:
            if self.stop_on_hash and p[pos] == b'#':
                return idx, slow, pos
            hit = <const char *>memchr(p + pos, b'\n', n - pos)
            end = n if hit == NULL else hit - p
            got = 0 if end - pos > self.max_line else self._line(p + pos, end - pos)
            if got == 0:
                slow.append(idx)
            elif got == IGNORED:
                self.ignored += 1
            idx += 1
            pos = end + 1
        return idx, slow, -1

    cdef int _line(self, const char *s, Py_ssize_t n) except -1:
        return 0

    cdef int _stamp_minute(self, const char *s, Py_ssize_t k) except -1:
        """Select the day bucket of a text stamp's minute (its first ``k`` bytes,
        k <= 32): the callback is asked once per new minute, which it turns into
        (bucket, POSIX milliseconds of the minute); 0 when the stamp is invalid."""
        if self.have_prev and memcmp(s, self.prev, k) == 0:
            return 1
        r = self.minute_cb(PyBytes_FromStringAndSize(s, k))
        if r is None:
            self.have_prev = False
            return 0
        self.cur = self.buckets[<Py_ssize_t>r[0]]
        self.prev_us = <int64_t>r[1] * 1000
        memcpy(self.prev, s, k)
        self.have_prev = True
        return 1

    cdef int _add(self, const char *client, Py_ssize_t clen, const char *name, Py_ssize_t nlen,
                  int64_t us, bint other, const char *user=NULL, Py_ssize_t ulen=0,
                  bint is_blocked=False, int64_t size=0, int64_t out_size=0,
                  bint upload=False) except -1:
        """Count one event; 0 (not taken) when the client, user or name is not plain.

        ``size``/``out_size``: bytes received/sent by the client; ``upload``: the
        request is an upload by `sentinel.pipeline.Aggregator`'s rule. A blocked
        event counts as an attempt: no bytes, no upload (the pipeline's rule)."""
        cdef Py_ssize_t k, i, slot, n0
        cdef char c
        cdef PyObject *got
        if clen <= 0 or nlen <= 0 or clen + ulen + nlen + 4 > KEY_MAX:
            return 0
        for i in range(clen):
            c = client[i]
            if c <= 32 or c >= 127:
                return 0
        memcpy(self.key, client, clen)
        self.key[clen] = b' '
        k = clen + 1
        if self.with_user:
            for i in range(ulen):
                c = user[i]
                if c <= 32 or c >= 127:
                    return 0
            memcpy(self.key + k, user, ulen)
            k += ulen
            self.key[k] = b' '
            k += 1
        n0 = k
        for i in range(nlen):
            c = name[i]
            if b'A' <= c <= b'Z':
                c = c + 32
            elif not ((b'a' <= c <= b'z') or _digit(c) or c == b'-' or c == b'_' or c == b'.'):
                return 0
            self.key[k] = c
            k += 1
        if other:
            self.key[k] = b'\x01'
            k += 1
        key = PyBytes_FromStringAndSize(self.key, k)
        got = PyDict_GetItem(self.cur, key)
        if got == NULL:
            if self.clients is not None:
                client_b = PyBytes_FromStringAndSize(self.key, clen)
                known = PyDict_GetItem(self.clients, client_b)
                if known == NULL:
                    if not self.client_ok(client_b):
                        return 0
                elif <object>known is None:
                    return 0
            name_b = PyBytes_FromStringAndSize(self.key + n0, nlen)
            known = PyDict_GetItem(self.hosts, name_b)
            if known == NULL:
                if not self.host_ok(name_b):
                    return 0
            elif <object>known is None:
                return 0
            if self.size >= self.cap:
                self._grow()
            slot = self.size
            self.size += 1
            self.counts[slot] = 1
            self.first[slot] = us
            self.last[slot] = us
            self.blocked[slot] = 1 if is_blocked else 0
            self.bytes_in[slot] = 0 if is_blocked else size
            self.bytes_out[slot] = 0 if is_blocked else out_size
            self.uploads[slot] = 1 if upload and not is_blocked else 0
            PyDict_SetItem(self.cur, key, slot)
        else:
            slot = <Py_ssize_t><object>got
            self.counts[slot] += 1
            if us < self.first[slot]:
                self.first[slot] = us
            elif us > self.last[slot]:
                self.last[slot] = us
            if is_blocked:
                self.blocked[slot] += 1
            else:
                self.bytes_in[slot] += size
                self.bytes_out[slot] += out_size
                if upload:
                    self.uploads[slot] += 1
        return 1

    def set_client_check(self, client_ok):
        """Canonicalize clients: ``client_ok(raw bytes)`` fills ``clients``."""
        self.clients = {}
        self.client_ok = client_ok

    def drain(self, list days, type tally, str kind):
        """Every key as a `collectors.fold.Tally` of ``kind`` (``kind-other`` for
        lookups that do not show use); then reset. ``days[i]`` is bucket i's date."""
        cdef Py_ssize_t b, slot, sp, sp2, size
        cdef const char *k
        new = tuple.__new__
        other_kind = "dns-other"
        exact = self.per_second != 1000000
        scale = self.per_second
        out = []
        for b in range(len(self.buckets)):
            d = self.buckets[b]
            day = days[b]
            for key, value in d.items():
                slot = value
                k = PyBytes_AS_STRING(key)
                size = PyBytes_GET_SIZE(key)
                sp = (<const char *>memchr(k, b' ', size)) - k
                client = (k[:sp].decode("ascii") if self.clients is None
                          else self.clients[k[:sp]])
                user = ""
                if self.with_user:
                    sp2 = (<const char *>memchr(k + sp + 1, b' ', size - sp - 1)) - k
                    user = k[sp + 1:sp2].decode("ascii")
                    sp = sp2
                this_kind = kind
                if k[size - 1] == 1:
                    this_kind = other_kind
                    size -= 1
                name = k[sp + 1:size]
                host = self.hosts.get(name)
                if host is None:
                    raise KeyError(name)
                if exact:  # Python ints: correctly rounded, beyond 2**53 too
                    first = <object>self.first[slot] / scale
                    last = <object>self.last[slot] / scale
                else:
                    first = self.first[slot] / 1e6
                    last = self.last[slot] / 1e6
                out.append(new(tally, (day, this_kind, client, user, host, self.counts[slot],
                                       first, last, self.blocked[slot], self.bytes_in[slot],
                                       self.bytes_out[slot], self.uploads[slot])))
            d.clear()
        self.size = 0
        return out


cdef class BindKernel(Kernel):
    """BIND 9's default print-time layout::

        DD-Mon-YYYY HH:MM:SS.mmm [cat: [sev: ]]client [@0x..] IP#PORT [(NAME): ]
            [view V: ]query: NAME IN TYPE ...
    """

    cdef int _line(self, const char *s, Py_ssize_t n) except -1:
        cdef Py_ssize_t i, j, a0, a1, q0, q1, t
        cdef const char *hit
        cdef int sec
        cdef int64_t us
        if n < 40:
            return 0
        if (s[2] != b'-' or s[6] != b'-' or s[11] != b' ' or s[14] != b':' or s[17] != b':'
                or s[20] != b'.' or s[24] != b' '):
            return 0
        if not (_digit(s[0]) and _digit(s[1]) and _digit(s[7]) and _digit(s[8]) and _digit(s[9])
                and _digit(s[10]) and _digit(s[12]) and _digit(s[13]) and _digit(s[15])
                and _digit(s[16]) and _digit(s[18]) and _digit(s[19]) and _digit(s[21])
                and _digit(s[22]) and _digit(s[23])):
            return 0
        if not self._stamp_minute(s, 17):
            return 0
        sec = _d(s[18]) * 10 + _d(s[19])
        if sec > 60:
            return 0
        us = self.prev_us + (sec * 1000 + _d(s[21]) * 100 + _d(s[22]) * 10 + _d(s[23])) * 1000
        # the token "client", within the first few
        i = 25
        t = 0
        while True:
            if i >= n or t >= MAX_TOKENS:
                return 0
            j = _token_end(s, i, n)
            if j - i == 6 and memcmp(s + i, b"client", 6) == 0:
                break
            i = j + 1
            t += 1
        i = j + 1
        if i >= n:
            return 0
        if s[i] == b'@':
            i = _token_end(s, i, n) + 1
            if i >= n:
                return 0
        j = _token_end(s, i, n)
        hit = <const char *>memchr(s + i, b'#', j - i)
        if hit == NULL or hit == s + i:
            return 0
        a0, a1 = i, hit - s
        # the token "query:" after the address
        i = j + 1
        t = 0
        while True:
            if i >= n or t >= MAX_TOKENS:
                return 0
            j = _token_end(s, i, n)
            if j - i == 6 and memcmp(s + i, b"query:", 6) == 0:
                break
            i = j + 1
            t += 1
        q0 = j + 1
        if q0 >= n:
            return 0
        q1 = _token_end(s, q0, n)
        # class IN, then a type token (which may be empty, as in the reference)
        if q1 + 3 >= n or s[q1 + 1] != b'I' or s[q1 + 2] != b'N' or s[q1 + 3] != b' ':
            return 0
        i = q1 + 4
        j = _token_end(s, i, n)
        return self._add(s + a0, a1 - a0, s + q0, q1 - q0, us, not _use_qtype(s + i, j - i))


cdef class ZeekKernel(Kernel):
    """Zeek dns.log TSV records, in the column layout `configure` sets.

    Taken: the right number of tab-separated fields; ``ts`` as digits with up
    to six decimals; a plain name in ``query``; an upper-case mnemonic in
    ``qtype_name``; ``rcode`` unset or up to four digits. Header lines stop
    the fold (``stop_on_hash``) so the wrapper can follow layout changes.
    """

    cdef Py_ssize_t nf, its, ih, iq, iqn, irc
    cdef bint ready

    def configure(self, Py_ssize_t nf, Py_ssize_t its, Py_ssize_t ih, Py_ssize_t iq,
                  Py_ssize_t iqn, Py_ssize_t irc, bint ready):
        """Column count and indices (-1: absent); ``ready`` False takes nothing."""
        self.nf, self.its, self.ih, self.iq, self.iqn, self.irc = nf, its, ih, iq, iqn, irc
        self.ready = ready and nf <= 64 and its >= 0 and ih >= 0 and iq >= 0 and iqn >= 0
        self.stop_on_hash = True
        self.prev_minute = -1  # a new layout starts its minute cache afresh

    cdef int _line(self, const char *s, Py_ssize_t n) except -1:
        cdef Py_ssize_t starts[64]
        cdef Py_ssize_t ends[64]
        cdef Py_ssize_t f = 0, i = 0, j, a, b
        cdef const char *hit
        cdef int64_t sec, us, minute
        if not self.ready or n == 0:
            return 0
        while True:
            if f >= self.nf:
                return 0  # more fields than the layout has
            hit = <const char *>memchr(s + i, b'\t', n - i)
            j = n if hit == NULL else hit - s
            starts[f] = i
            ends[f] = j
            f += 1
            if hit == NULL:
                break
            i = j + 1
        if f != self.nf:
            return 0
        us = _epoch_us(s, starts[self.its], ends[self.its])
        if us < 0:
            return 0
        sec = us // 1000000
        # rcode: unset or digits
        if self.irc >= 0:
            a, b = starts[self.irc], ends[self.irc]
            if not (b - a == 1 and s[a] == b'-'):
                if b <= a or b - a > 4:
                    return 0
                for i in range(a, b):
                    if not _digit(s[i]):
                        return 0
        # qtype_name: an upper-case mnemonic
        a, b = starts[self.iqn], ends[self.iqn]
        if b <= a or b - a > 16:
            return 0
        for i in range(a, b):
            if not ((b'A' <= s[i] <= b'Z') or _digit(s[i])):
                return 0
        minute = sec // 60
        if minute != self.prev_minute:
            r = self.minute_cb(minute)
            if r is None:
                return 0
            self.cur = self.buckets[<Py_ssize_t>r]
            self.prev_minute = minute
        # query: a plain name (unset/empty markers and escapes go to the parser)
        i, j = starts[self.iq], ends[self.iq]
        if j - i == 1 and s[i] == b'-':
            return 0
        return self._add(s + starts[self.ih], ends[self.ih] - starts[self.ih], s + i, j - i, us,
                         not _use_qtype(s + a, b - a))


cdef class DnsmasqKernel(Kernel):
    """dnsmasq's log-queries lines in the common header::

        Mmm dd hh:mm:ss [HOST ]dnsmasq[PID]: query[TYPE] NAME from CLIENT

    (``pihole-FTL[PID]`` too). Other headers, log-queries=extra, ``type=N``
    and every non-query line go to the parser.
    """

    cdef int _line(self, const char *s, Py_ssize_t n) except -1:
        cdef Py_ssize_t i, j, c, t0, name0, name1, a0, sp
        cdef int sec
        cdef int64_t us
        cdef const char *hit
        if n < 40 or s[3] != b' ' or s[6] != b' ' or s[9] != b':' or s[12] != b':' or s[15] != b' ':
            return 0
        if not (_digit(s[13]) and _digit(s[14])):
            return 0
        if not self._stamp_minute(s, 12):
            return 0
        sec = _d(s[13]) * 10 + _d(s[14])
        if sec > 60:
            return 0
        us = self.prev_us + sec * 1000000
        # [HOST ]TAG[PID]: with TAG dnsmasq or pihole-FTL
        i = 16
        hit = <const char *>memchr(s + i, b':', n - i)
        if hit == NULL:
            return 0
        c = hit - s
        if c + 1 >= n or s[c + 1] != b' ' or c - i > 300:
            return 0
        t0 = i
        hit = <const char *>memchr(s + i, b' ', c - i)
        if hit != NULL:  # one host word before the tag
            t0 = hit - s + 1
            if t0 == i + 1 or memchr(s + t0, b' ', c - t0) != NULL:
                return 0
        if c - t0 > 8 and memcmp(s + t0, b"dnsmasq[", 8) == 0:
            j = t0 + 8
        elif c - t0 > 11 and memcmp(s + t0, b"pihole-FTL[", 11) == 0:
            j = t0 + 11
        else:
            return 0
        if s[c - 1] != b']' or j >= c - 1:
            return 0
        for i in range(j, c - 1):
            if not _digit(s[i]):
                return 0
        # query[TYPE] NAME from CLIENT
        i = c + 2
        if n - i < 14 or memcmp(s + i, b"query[", 6) != 0:
            # What dnsmasq logs after a query (forwarded/reply/cached...) is valid
            # and carries no event - unless it mentions a query after all.
            if (_starts(s + i, n - i, b"forwarded ", 10) or _starts(s + i, n - i, b"reply ", 6)
                    or _starts(s + i, n - i, b"cached ", 7)):
                for j in range(i, n - 6):
                    if s[j] == b'q' and memcmp(s + j, b"query[", 6) == 0:
                        return 0
                return IGNORED
            return 0
        i += 6
        hit = <const char *>memchr(s + i, b']', n - i)
        if hit == NULL:
            return 0
        j = hit - s
        if j == i or j - i > 16 or j + 1 >= n or s[j + 1] != b' ':
            return 0
        for c in range(i, j):
            if not ((b'A' <= s[c] <= b'Z') or _digit(s[c])):
                return 0
        name0 = j + 2
        # the address is the last token, "from" the one before it
        sp = n - 1
        while sp > name0 and s[sp] != b' ':
            sp -= 1
        a0 = sp + 1
        if sp - name0 < 6 or memcmp(s + sp - 5, b" from", 5) != 0:
            return 0
        name1 = sp - 5
        return self._add(s + a0, n - a0, s + name0, name1 - name0, us, not _use_qtype(s + i, j - i))


cdef class SquidKernel(Kernel):
    """Squid's native access.log::

        TS.mmm ELAPSED CLIENT CODE/STATUS SIZE METHOD URL USER HIER/PEER MIME

    Taken: the stamp as digits with up to six decimals; integer status and
    size; a plain host in the URL (scheme://[userinfo@]host[:port]/..., or
    CONNECT host:port); a plain user (no %-escapes). A DENIED code is a
    blocked attempt; a DENIED 407, ``error:`` URLs and NONE methods are valid
    lines without an event. Anything else goes to the parser.
    """

    def __cinit__(self, *args):
        self.with_user = True

    cdef int _line(self, const char *s, Py_ssize_t n) except -1:
        cdef Py_ssize_t starts[10]
        cdef Py_ssize_t ends[10]
        cdef Py_ssize_t f = 0, i = 0, j, a, b, slash, h0, h1, ulen
        cdef char c
        cdef int64_t sec, us, minute, size = 0
        cdef int status = 0
        cdef bint denied, connect
        cdef const char *hit
        if n < 30 or not _digit(s[0]):
            return 0
        # up to ten whitespace-separated fields (runs of spaces or tabs)
        while f < 10:
            while i < n and (s[i] == b' ' or s[i] == b'\t'):
                i += 1
            if i >= n:
                break
            j = i
            while j < n and s[j] != b' ' and s[j] != b'\t':
                c = s[j]
                if c < 32 or c == 127:
                    return 0
                j += 1
            starts[f] = i
            ends[f] = j
            f += 1
            i = j
        if f < 9:
            return 0
        us = _epoch_us(s, starts[0], ends[0])
        if us < 0:
            return 0
        sec = us // 1000000
        # CODE/STATUS and SIZE
        a, b = starts[3], ends[3]
        hit = <const char *>memchr(s + a, b'/', b - a)
        if hit == NULL:
            return 0
        slash = hit - s
        if slash + 1 >= b or b - slash - 1 > 6:
            return 0
        for i in range(slash + 1, b):
            if not _digit(s[i]):
                return 0
            status = status * 10 + _d(s[i])
        a, b = starts[4], ends[4]
        if b - a > 15:
            return 0
        for i in range(a, b):
            if not _digit(s[i]):
                return 0
            size = size * 10 + _d(s[i])
        denied = False
        for i in range(starts[3], slash - 5):
            if memcmp(s + i, b"DENIED", 6) == 0:
                denied = True
                break
        # METHOD and URL
        a, b = starts[5], ends[5]
        if (b - a == 4 and memcmp(s + a, b"NONE", 4) == 0) or (b - a == 1 and s[a] == b'-'):
            return IGNORED
        connect = b - a == 7 and memcmp(s + a, b"CONNECT", 7) == 0
        a, b = starts[6], ends[6]
        if b - a >= 6 and memcmp(s + a, b"error:", 6) == 0:
            return IGNORED
        if status == 407 and denied:
            return IGNORED
        # the host, by collectors.hosts.url_host's rule
        if not _url_host(s, a, b, connect, &h0, &h1):
            return 0
        # USER: "-" is none; %-escapes go to the parser
        a, b = starts[7], ends[7]
        ulen = b - a
        if ulen == 1 and s[a] == b'-':
            ulen = 0
        elif memchr(s + a, b'%', ulen) != NULL:
            return 0
        minute = sec // 60
        if minute != self.prev_minute:
            r = self.minute_cb(minute)
            if r is None:
                return 0
            self.cur = self.buckets[<Py_ssize_t>r]
            self.prev_minute = minute
        return self._add(s + starts[2], ends[2] - starts[2], s + h0, h1 - h0, us, False,
                         s + a, ulen, denied, size)


# ---------------------------------------------------------------- key=value


from cpython.unicode cimport Py_UNICODE_ISSPACE


def split_kv(str text):
    """The pairs of a ``key=value key="quoted value" ...`` message, exactly as
    `collectors.proxy.fortigate._kv_slow` reads them (its docstring has the
    rules); None when there is no pair at all (the caller raises ParseError)."""
    cdef Py_ssize_t n = len(text), i = 0, sp, eq, j, k, m, b, e
    cdef dict d = {}
    cdef object last = None
    cdef Py_UCS4 ch
    while i < n:
        if Py_UNICODE_ISSPACE(text[i]):
            i += 1
            continue
        sp = i
        eq = -1
        while sp < n and not Py_UNICODE_ISSPACE(text[sp]):
            if eq < 0 and text[sp] == u'=':
                eq = sp
            sp += 1
        if eq <= i:
            if last is not None:
                d[last] = d[last] + " " + text[i:sp]
            i = sp
            continue
        key = text[i:eq]
        j = eq + 1
        if j < n and text[j] == u'"':
            k = j + 1
            while True:
                m = text.find('"', k)
                if m < 0:
                    value = text[j + 1:]
                    i = n
                    break
                b = m - 1
                while b > j and text[b] == u'\\':
                    b -= 1
                if (m - 1 - b) & 1:
                    k = m + 1
                    continue
                value = text[j + 1:m]
                i = m + 1
                break
            if '\\"' in value:
                value = value.replace('\\"', '"')
        else:
            e = j
            while e < n and not Py_UNICODE_ISSPACE(text[e]):
                e += 1
            value = text[j:e]
            i = e
        if key in d:
            last = None
        else:
            d[key] = value
            last = key
    return d if d else None


cdef enum:
    # the FortiGate fields the fold reads (collectors.proxy.fortigate.make_parser)
    FG_TYPE, FG_SUBTYPE, FG_EVENTTIME, FG_SRCIP, FG_USER, FG_UNAUTHUSER, FG_HOSTNAME,
    FG_DSTNAME, FG_DSTIP, FG_ACTION, FG_MSG, FG_HTTPMETHOD, FG_RAWDATA, FG_SENTBYTE,
    FG_RCVDBYTE, FG_KEYS
    KV_FOUND = 1
    KV_BACKSLASH = 2  # a quoted value holding a backslash (maybe an escaped quote)

cdef uint64_t ONES = 0x0101010101010101ULL
cdef uint64_t HIGHS = 0x8080808080808080ULL


cdef inline bint _plain_ascii(const char *s, Py_ssize_t n) noexcept nogil:
    """Only printable ASCII and spaces: no byte a decoder could reject, no tab or
    other character that ``str.isspace`` takes for a blank."""
    cdef Py_ssize_t i = 0
    cdef uint64_t x, bad = 0
    while i + 8 <= n:
        memcpy(&x, s + i, 8)
        # a high bit set, or a byte below 0x20 (the classic "has less than" test)
        bad |= (x | ((x - ONES * 0x20) & ~x)) & HIGHS
        i += 8
    while i < n:
        bad |= <unsigned char>s[i] < 0x20 or <unsigned char>s[i] >= 0x80
        i += 1
    return bad == 0


cdef inline bint _eq(const char *s, Py_ssize_t a, Py_ssize_t b, const char *lit,
                     Py_ssize_t k) noexcept nogil:
    return b - a == k and memcmp(s + a, lit, k) == 0


cdef inline bint _no_user(const char *s, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    """fortigate._NO_USER: "", N/A, n/a, -."""
    return (b == a or _eq(s, a, b, b"N/A", 3) or _eq(s, a, b, b"n/a", 3)
            or _eq(s, a, b, b"-", 1))


cdef inline bint _has_warning(const char *s, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    """``"warning" in text.lower()``, for ASCII text."""
    cdef Py_ssize_t i, k
    cdef const char *w = b"warning"
    for i in range(a, b - 6):
        for k in range(7):
            if (s[i + k] | 0x20) != w[k]:
                break
        else:
            return True
    return False


cdef inline int64_t _count(const char *s, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    """fortigate.to_int: 0 for an empty value, the number for up to 18 digits, -1
    for anything else (a ParseError there, or too long to vouch for here)."""
    cdef int64_t v = 0
    cdef Py_ssize_t i
    if b - a > 18:
        return -1
    for i in range(a, b):
        if not _digit(s[i]):
            return -1
        v = v * 10 + _d(s[i])
    return v


cdef Py_ssize_t _kv_body(const char *s, Py_ssize_t n) noexcept nogil:
    """Where `collectors.proxy.fortigate.kv_body` starts the body (past a <PRI>
    and any header: the token holding the first "="); -1 when there is no "="."""
    cdef Py_ssize_t i = 0, j, e, p
    cdef const char *hit
    if n > 1 and s[0] == b'<':
        hit = <const char *>memchr(s + 1, b'>', min(n, 6) - 1)
        if hit != NULL and hit - s > 1:
            e = hit - s
            for j in range(1, e):
                if not _digit(s[j]):
                    break
            else:
                i = e + 1
    hit = <const char *>memchr(s + i, b'=', n - i) if i < n else NULL
    if hit == NULL:
        return -1
    p = hit - s
    while p > i and s[p - 1] != b' ':
        p -= 1
    return p


cdef inline bint _upload_method(const char *s, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    """``text.upper() in sentinel.pipeline.UPLOAD_METHODS`` (POST, PUT, PATCH)."""
    return ((b - a == 4 and (s[a] | 0x20) == b'p' and (s[a + 1] | 0x20) == b'o'
             and (s[a + 2] | 0x20) == b's' and (s[a + 3] | 0x20) == b't')
            or (b - a == 3 and (s[a] | 0x20) == b'p' and (s[a + 1] | 0x20) == b'u'
                and (s[a + 2] | 0x20) == b't')
            or (b - a == 5 and (s[a] | 0x20) == b'p' and (s[a + 1] | 0x20) == b'a'
                and (s[a + 2] | 0x20) == b't' and (s[a + 3] | 0x20) == b'c'
                and (s[a + 4] | 0x20) == b'h'))


cdef inline bint _ieq(const char *s, Py_ssize_t a, Py_ssize_t b, const char *lit,
                      Py_ssize_t k) noexcept nogil:
    """``s[a:b].lower() == lit`` for a lower-case, letters-only ``lit``."""
    cdef Py_ssize_t i
    if b - a != k:
        return False
    for i in range(k):
        if (s[a + i] | 0x20) != lit[i]:
            return False
    return True


cdef class KVKernel(Kernel):
    """Shared by the ``key=value`` kernels: `_scan` reads a body exactly as
    `collectors.proxy.fortigate._kv_slow` splits it, keeping only the first
    value of each key the subclass asks for (`_key`)."""

    cdef int _key(self, const char *k, Py_ssize_t n) noexcept:
        return -1

    cdef int _scan(self, const char *s, Py_ssize_t i, Py_ssize_t n, Py_ssize_t *va,
                   Py_ssize_t *vb, char *vf) noexcept:
        """Pairs read (0: none, the reference raises), or -1 when a word without
        "=" would continue a value kept here (left to the reference).

        One pass: a token runs to the next space; its key to its first "=". A
        value is bare (to the next space) or quoted (to the next quote that an
        odd run of backslashes does not escape; unterminated: the line's end).
        The caller has ruled out every blank but the space."""
        cdef Py_ssize_t j, k, m, b, a, e
        cdef const char *hit
        cdef int kid, last = -1, pairs = 0
        cdef char flag, c
        while i < n:
            if s[i] == b' ':
                i += 1
                continue
            j = i
            c = s[j]
            while c != b'=' and c != b' ':
                j += 1
                if j == n:
                    break
                c = s[j]
            if j == n or c == b' ' or j == i:
                # a word without "=" (or "=x"): it continues the previous value
                if last >= 0:
                    return -1  # a value we keep: the reference's business
                while j < n and s[j] != b' ':
                    j += 1
                i = j
                continue
            kid = self._key(s + i, j - i)
            j += 1
            flag = KV_FOUND
            if j < n and s[j] == b'"':
                k = j + 1
                while True:
                    hit = <const char *>memchr(s + k, b'"', n - k) if k < n else NULL
                    if hit == NULL:
                        a, e, i = j + 1, n, n  # unterminated: the rest of the line
                        break
                    m = hit - s
                    if s[m - 1] != b'\\':
                        a, e, i = j + 1, m, m + 1
                        break
                    b = m - 1
                    while b > j and s[b] == b'\\':
                        b -= 1
                    if (m - 1 - b) & 1:
                        k = m + 1  # an escaped quote
                        continue
                    a, e, i = j + 1, m, m + 1
                    break
                if kid >= 0 and e > a and memchr(s + a, b'\\', e - a) != NULL:
                    flag = KV_FOUND | KV_BACKSLASH
            else:
                a = e = j
                while e < n and s[e] != b' ':
                    e += 1
                i = e
            pairs += 1
            if kid >= 0 and not vf[kid]:
                vf[kid] = flag
                va[kid] = a
                vb[kid] = e
                last = kid
            else:
                last = -1  # a repeated key (its value is not continued) or one not kept
        return pairs


cdef class FortiGateKernel(KVKernel):
    """FortiGate web filter and forward traffic logs (`collectors.proxy.fortigate`).

    Taken: printable ASCII lines (an optional ``<PRI>`` and header before the
    body); ``eventtime`` digits (s/ms/us/ns by length, kept in ns); a plain
    ``srcip``; ``hostname`` (traffic without one: ``dstip``, unless there is
    a ``dstname``); byte counts as digits; ``httpmethod`` or no ``rawdata``.
    Other types and subtypes, and session-start logs unless asked for, are
    valid lines without an event. Escaped quotes in a value read here, a
    word continuing one, a missing or unreadable ``eventtime`` (date + time),
    URL-only or IPv6 hosts and ``dstname`` go to the parser.
    """

    cdef bint with_start

    def __cinit__(self, *args):
        self.with_user = True
        self.per_second = 1000000000
        self.with_start = False

    def configure(self, int64_t upload_min_bytes, bint session_start):
        """The pipeline's upload threshold and the source's ``session_start`` option."""
        self.upload_min = upload_min_bytes
        self.with_start = session_start

    cdef int _key(self, const char *k, Py_ssize_t n) noexcept:
        if n == 3:
            return FG_MSG if memcmp(k, b"msg", 3) == 0 else -1
        if n == 4:
            if memcmp(k, b"type", 4) == 0:
                return FG_TYPE
            return FG_USER if memcmp(k, b"user", 4) == 0 else -1
        if n == 5:
            if memcmp(k, b"srcip", 5) == 0:
                return FG_SRCIP
            return FG_DSTIP if memcmp(k, b"dstip", 5) == 0 else -1
        if n == 6:
            return FG_ACTION if memcmp(k, b"action", 6) == 0 else -1
        if n == 7:
            if memcmp(k, b"subtype", 7) == 0:
                return FG_SUBTYPE
            if memcmp(k, b"dstname", 7) == 0:
                return FG_DSTNAME
            return FG_RAWDATA if memcmp(k, b"rawdata", 7) == 0 else -1
        if n == 8:
            if memcmp(k, b"hostname", 8) == 0:
                return FG_HOSTNAME
            if memcmp(k, b"sentbyte", 8) == 0:
                return FG_SENTBYTE
            return FG_RCVDBYTE if memcmp(k, b"rcvdbyte", 8) == 0 else -1
        if n == 9:
            return FG_EVENTTIME if memcmp(k, b"eventtime", 9) == 0 else -1
        if n == 10:
            if memcmp(k, b"unauthuser", 10) == 0:
                return FG_UNAUTHUSER
            return FG_HTTPMETHOD if memcmp(k, b"httpmethod", 10) == 0 else -1
        return -1

    cdef int _client_valid(self, const char *s, Py_ssize_t a, Py_ssize_t b) except -1:
        """Would `fortigate.canon_ip` take this client (asks the folder once)?"""
        if b == a:
            return 1
        if self.clients is None:
            return 0
        raw = PyBytes_FromStringAndSize(s + a, b - a)
        known = PyDict_GetItem(self.clients, raw)
        if known == NULL:
            return 1 if self.client_ok(raw) else 0
        return 0 if <object>known is None else 1

    cdef int _line(self, const char *s, Py_ssize_t n) except -1:
        cdef Py_ssize_t va[FG_KEYS]
        cdef Py_ssize_t vb[FG_KEYS]
        cdef char vf[FG_KEYS]
        cdef Py_ssize_t j, p, a, b, h0, h1, u0, u1
        cdef bint web, blocked, upload
        cdef uint64_t v
        cdef int64_t ns, minute, rcvd, sent
        if n and s[n - 1] == b'\r':
            n -= 1  # the driver strips it before the parser sees the line
        if n < 20 or not _plain_ascii(s, n):
            return 0
        p = _kv_body(s, n)
        if p < 0:
            return 0
        memset(vf, 0, sizeof(vf))
        memset(va, 0, sizeof(va))  # an absent key reads as empty: d.get(key, "")
        memset(vb, 0, sizeof(vb))
        if self._scan(s, p, n, va, vb, vf) <= 0:
            return 0
        for j in range(FG_KEYS):
            if vf[j] & KV_BACKSLASH and j != FG_MSG:
                return 0  # "\"" reads as a quote there: the reference's business
        if not (vf[FG_TYPE] and vf[FG_SUBTYPE]):
            return 0
        a, b = va[FG_SUBTYPE], vb[FG_SUBTYPE]
        if _eq(s, a, b, b"webfilter", 9):
            web = True
        elif (_eq(s, va[FG_TYPE], vb[FG_TYPE], b"traffic", 7)
                and (_eq(s, a, b, b"forward", 7) or _eq(s, a, b, b"sniffer", 7))):
            web = False
        else:
            return IGNORED
        # eventtime (fortigate.epoch), in ns; else date + time: the parser's
        a, b = va[FG_EVENTTIME], vb[FG_EVENTTIME]
        if b - a < 9 or b - a > 19:
            return 0
        v = 0
        for j in range(a, b):
            if not _digit(s[j]):
                return 0
            v = v * 10 + <uint64_t>_d(s[j])
        if b - a <= 10:
            v *= 1000000000
        elif b - a <= 13:
            v *= 1000000
        elif b - a <= 16:
            v *= 1000
        if v > <uint64_t>9000000000000000000:
            return 0
        ns = <int64_t>v
        # As a float of seconds the stamp may round up to the next second (a new
        # day at midnight): leave the last 10 us of each second to the parser.
        if ns % 1000000000 >= 999990000:
            return 0
        if not web and _eq(s, va[FG_ACTION], vb[FG_ACTION], b"start", 5) and not self.with_start:
            # valid without an event, once the client is (the parser's order)
            return IGNORED if self._client_valid(s, va[FG_SRCIP], vb[FG_SRCIP]) else 0
        # the host
        h0, h1 = va[FG_HOSTNAME], vb[FG_HOSTNAME]
        if h1 == h0:
            if web or vb[FG_DSTNAME] > va[FG_DSTNAME]:
                return 0  # the URL's host, or a dstname: the parser's
            h0, h1 = va[FG_DSTIP], vb[FG_DSTIP]
            if h1 == h0:
                return 0
        # the action
        a, b = va[FG_ACTION], vb[FG_ACTION]
        if web:
            blocked = not (_eq(s, a, b, b"passthrough", 11) or _eq(s, a, b, b"pass", 4)
                           or _eq(s, a, b, b"allow", 5) or _eq(s, a, b, b"allowed", 7)
                           or _eq(s, a, b, b"exempt", 6) or _eq(s, a, b, b"monitored", 9)
                           or _eq(s, a, b, b"monitor", 7) or _eq(s, a, b, b"accept", 6)
                           or _eq(s, a, b, b"warning", 7) or _eq(s, a, b, b"warn", 4)
                           or _eq(s, a, b, b"warned", 6)
                           or _has_warning(s, va[FG_MSG], vb[FG_MSG]))
        else:
            blocked = _eq(s, a, b, b"deny", 4)
        # bytes: rcvdbyte is what the client received
        rcvd = _count(s, va[FG_RCVDBYTE], vb[FG_RCVDBYTE])
        sent = _count(s, va[FG_SENTBYTE], vb[FG_SENTBYTE])
        if rcvd < 0 or sent < 0:
            return 0
        # the method, for uploads: httpmethod, else Method= in rawdata (the parser's)
        upload = False
        if web:
            a, b = va[FG_HTTPMETHOD], vb[FG_HTTPMETHOD]
            if b == a and vb[FG_RAWDATA] > va[FG_RAWDATA]:
                return 0
            upload = sent > 0 and sent >= self.upload_min and _upload_method(s, a, b)
        # the user: user, else unauthuser (N/A, n/a and - are none)
        u0, u1 = va[FG_USER], vb[FG_USER]
        if _no_user(s, u0, u1):
            u0, u1 = va[FG_UNAUTHUSER], vb[FG_UNAUTHUSER]
            if _no_user(s, u0, u1):
                u0 = u1 = 0
        minute = ns // 60000000000
        if minute != self.prev_minute:
            r = self.minute_cb(minute)
            if r is None:
                return 0
            self.cur = self.buckets[<Py_ssize_t>r]
            self.prev_minute = minute
        a, b = va[FG_SRCIP], vb[FG_SRCIP]
        return self._add(s + a, b - a, s + h0, h1 - h0, ns, False, s + u0, u1 - u0, blocked,
                         rcvd, sent, upload)



cdef enum:
    # the Sophos Firewall (SFOS) fields the fold reads (collectors.proxy.sophos.make_parser)
    SP_LOG_TYPE, SP_TIMESTAMP, SP_DATE, SP_TIME, SP_TIMEZONE, SP_URL, SP_DOMAIN, SP_DST_IP,
    SP_LOG_SUBTYPE, SP_METHOD, SP_HTTP_METHOD, SP_SRC_IP, SP_USER_NAME, SP_HTTP_STATUS,
    SP_HTTPRESPONSECODE, SP_RECV_BYTES, SP_BYTES_RECEIVED, SP_SENT_BYTES, SP_BYTES_SENT, SP_KEYS


cdef const char *ISO_SHAPE = b"dddd-dd-ddTdd:dd:dd"


cdef inline bint _sp_none(const char *s, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    """sophos._NO_VALUE: "", "-", "None", "N/A"."""
    return (b == a or _eq(s, a, b, b"-", 1) or _eq(s, a, b, b"None", 4)
            or _eq(s, a, b, b"N/A", 3))


cdef class SophosKernel(KVKernel):
    """Sophos Firewall (SFOS) content filtering logs (`collectors.proxy.sophos`).

    Taken: printable ASCII lines with ``log_type`` (other log types are valid
    lines without an event); the time as ``timestamp`` (``YYYY-MM-DDTHH:MM:SS``
    and an optional ``Z`` or offset) or ``date`` + ``time`` (``HH:MM:SS``) +
    ``timezone``, each minute turned into POSIX time by the folder with the
    parser's rules; a plain host in ``url`` (else ``domain``, else
    ``dst_ip``); counts and statuses as digits or a "no value" mark. Sophos
    UTM 9 lines, escaped quotes in a value read here, words continuing one,
    and anything else go to the parser.
    """

    def __cinit__(self, *args):
        self.with_user = True

    def configure(self, int64_t upload_min_bytes):
        """The pipeline's upload threshold."""
        self.upload_min = upload_min_bytes

    cdef int _key(self, const char *k, Py_ssize_t n) noexcept:
        if n == 3:
            return SP_URL if memcmp(k, b"url", 3) == 0 else -1
        if n == 4:
            if memcmp(k, b"date", 4) == 0:
                return SP_DATE
            return SP_TIME if memcmp(k, b"time", 4) == 0 else -1
        if n == 6:
            if memcmp(k, b"src_ip", 6) == 0:
                return SP_SRC_IP
            if memcmp(k, b"domain", 6) == 0:
                return SP_DOMAIN
            if memcmp(k, b"dst_ip", 6) == 0:
                return SP_DST_IP
            return SP_METHOD if memcmp(k, b"method", 6) == 0 else -1
        if n == 8:
            if memcmp(k, b"log_type", 8) == 0:
                return SP_LOG_TYPE
            return SP_TIMEZONE if memcmp(k, b"timezone", 8) == 0 else -1
        if n == 9:
            if memcmp(k, b"timestamp", 9) == 0:
                return SP_TIMESTAMP
            return SP_USER_NAME if memcmp(k, b"user_name", 9) == 0 else -1
        if n == 10:
            if memcmp(k, b"recv_bytes", 10) == 0:
                return SP_RECV_BYTES
            if memcmp(k, b"sent_bytes", 10) == 0:
                return SP_SENT_BYTES
            return SP_BYTES_SENT if memcmp(k, b"bytes_sent", 10) == 0 else -1
        if n == 11:
            if memcmp(k, b"log_subtype", 11) == 0:
                return SP_LOG_SUBTYPE
            if memcmp(k, b"http_method", 11) == 0:
                return SP_HTTP_METHOD
            return SP_HTTP_STATUS if memcmp(k, b"http_status", 11) == 0 else -1
        if n == 14:
            return SP_BYTES_RECEIVED if memcmp(k, b"bytes_received", 14) == 0 else -1
        if n == 16:
            return SP_HTTPRESPONSECODE if memcmp(k, b"httpresponsecode", 16) == 0 else -1
        return -1

    cdef int _line(self, const char *s, Py_ssize_t n) except -1:
        cdef Py_ssize_t va[SP_KEYS]
        cdef Py_ssize_t vb[SP_KEYS]
        cdef char vf[SP_KEYS]
        cdef char stamp[40]
        cdef Py_ssize_t j, p, a, b, k, h0, h1, L
        cdef char c
        cdef int sec
        cdef int64_t us, rcvd, sent
        cdef bint blocked, upload
        if n and s[n - 1] == b'\r':
            n -= 1  # the driver strips it before the parser sees the line
        if n < 20 or not _plain_ascii(s, n):
            return 0
        p = _kv_body(s, n)
        if p < 0:
            return 0
        memset(vf, 0, sizeof(vf))
        memset(va, 0, sizeof(va))  # an absent key reads as empty: d.get(key, "")
        memset(vb, 0, sizeof(vb))
        if self._scan(s, p, n, va, vb, vf) <= 0:
            return 0
        for j in range(SP_KEYS):
            if vf[j] & KV_BACKSLASH:
                return 0  # "\"" reads as a quote there: the reference's business
        if not vf[SP_LOG_TYPE]:
            return 0  # UTM 9, or not Sophos: the parser's
        if not _eq(s, va[SP_LOG_TYPE], vb[SP_LOG_TYPE], b"Content Filtering", 17):
            return IGNORED
        # the time: one minute key (a kind byte, the text without the seconds, a NUL)
        a, b = va[SP_TIMESTAMP], vb[SP_TIMESTAMP]
        if b > a:
            # ISO 8601: YYYY-MM-DD[T ]HH:MM:SS then nothing, Z, +HH, +HHMM or +HH:MM
            L = b - a
            if L < 19 or L > 25:
                return 0
            for j in range(19):
                c = ISO_SHAPE[j]
                if c == b'd':
                    if not _digit(s[a + j]):
                        return 0
                elif c == b'T':
                    if s[a + j] != b'T' and s[a + j] != b' ':
                        return 0
                elif s[a + j] != c:
                    return 0
            if L == 20:
                if s[a + 19] != b'Z' and s[a + 19] != b'z':
                    return 0
            elif L > 19:
                if s[a + 19] != b'+' and s[a + 19] != b'-':
                    return 0
                if not (_digit(s[a + 20]) and _digit(s[a + 21])):
                    return 0
                if L == 24:
                    if not (_digit(s[a + 22]) and _digit(s[a + 23])):
                        return 0
                elif L == 25:
                    if not (s[a + 22] == b':' and _digit(s[a + 23]) and _digit(s[a + 24])):
                        return 0
                elif L != 22:
                    return 0
            sec = _d(s[a + 17]) * 10 + _d(s[a + 18])
            if sec > 59:
                return 0
            stamp[0] = b'I'
            memcpy(stamp + 1, s + a, 16)
            memcpy(stamp + 17, s + a + 19, L - 19)
            k = L - 2
        else:
            a, b = va[SP_DATE], vb[SP_DATE]
            if b - a != 10:
                return 0
            memcpy(stamp + 1, s + a, 10)
            a, b = va[SP_TIME], vb[SP_TIME]
            if b - a != 8 or s[a + 2] != b':' or s[a + 5] != b':':
                return 0
            if not (_digit(s[a + 6]) and _digit(s[a + 7])):
                return 0
            sec = _d(s[a + 6]) * 10 + _d(s[a + 7])
            if sec > 59:
                return 0  # a leap second may start the next day: the parser's
            memcpy(stamp + 11, s + a, 5)
            a, b = va[SP_TIMEZONE], vb[SP_TIMEZONE]
            if b - a > 15:
                return 0
            stamp[0] = b'D'
            memcpy(stamp + 16, s + a, b - a)
            k = 16 + b - a
        stamp[k] = 0  # no key is a prefix of another
        if not self._stamp_minute(stamp, k + 1):
            return 0
        us = self.prev_us + sec * 1000000
        # the host: the URL's, else domain, else dst_ip
        h0 = h1 = 0
        a, b = va[SP_URL], vb[SP_URL]
        if b > a and not _url_host(s, a, b, False, &h0, &h1):
            return 0
        if h1 == h0:
            h0, h1 = va[SP_DOMAIN], vb[SP_DOMAIN]
            if h1 == h0:
                h0, h1 = va[SP_DST_IP], vb[SP_DST_IP]
                if h1 == h0:
                    return 0
        a, b = va[SP_LOG_SUBTYPE], vb[SP_LOG_SUBTYPE]
        blocked = (_ieq(s, a, b, b"denied", 6) or _ieq(s, a, b, b"deny", 4)
                   or _ieq(s, a, b, b"blocked", 7) or _ieq(s, a, b, b"block", 5))
        # the status: only checked (digits or no value), as the parser does
        a, b = va[SP_HTTP_STATUS], vb[SP_HTTP_STATUS]
        if b == a:
            a, b = va[SP_HTTPRESPONSECODE], vb[SP_HTTPRESPONSECODE]
        if not _sp_none(s, a, b):
            for j in range(a, b):
                if not _digit(s[j]):
                    return 0
        # bytes, as the client counts them
        a, b = va[SP_RECV_BYTES], vb[SP_RECV_BYTES]
        if b == a:
            a, b = va[SP_BYTES_RECEIVED], vb[SP_BYTES_RECEIVED]
        rcvd = 0 if _sp_none(s, a, b) else _count(s, a, b)
        a, b = va[SP_SENT_BYTES], vb[SP_SENT_BYTES]
        if b == a:
            a, b = va[SP_BYTES_SENT], vb[SP_BYTES_SENT]
        sent = 0 if _sp_none(s, a, b) else _count(s, a, b)
        if rcvd < 0 or sent < 0:
            return 0
        a, b = va[SP_METHOD], vb[SP_METHOD]
        if b == a:
            a, b = va[SP_HTTP_METHOD], vb[SP_HTTP_METHOD]
        upload = sent > 0 and sent >= self.upload_min and _upload_method(s, a, b)
        a, b = va[SP_SRC_IP], vb[SP_SRC_IP]
        return self._add(s + a, b - a, s + h0, h1 - h0, us, False, s + va[SP_USER_NAME],
                         vb[SP_USER_NAME] - va[SP_USER_NAME], blocked, rcvd, sent, upload)


# ---------------------------------------------------------------- CEF

cdef enum:
    # the CEF extension keys the fold reads (collectors.proxy.cef.make_parser), each
    # "a or b or ..." chain of the parser a contiguous run, in the parser's order
    CE_REQUEST, CE_REQUESTURL,
    CE_DHOST, CE_DHOSTNAME, CE_DST, CE_DADDR,
    CE_RT, CE_RECEIPT, CE_START, CE_STARTTIME, CE_END, CE_ENDTIME,
    CE_SRC, CE_SADDR, CE_STRANS,
    CE_SUSER, CE_SUSERNAME, CE_DUSER, CE_DUSERNAME,
    CE_ACT, CE_DACTION,
    CE_METHOD,
    CE_IN, CE_BYTESIN,
    CE_OUT, CE_BYTESOUT,
    CE_KEYS


cdef inline int64_t _epoch_ms(const char *s, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    """Epoch digits ``s[a:b]`` as milliseconds: seconds below 1e11, else
    milliseconds below 1e14 (as the CEF and LEEF parsers read them); -1 when
    the parser must decide (a sign, a fraction, text, too many digits)."""
    cdef int64_t v = _count(s, a, b)
    if v < 0 or v >= <int64_t>100000000000000:
        return -1
    return v if v >= <int64_t>100000000000 else v * 1000


cdef inline bint _cef_keych(char c) noexcept nogil:
    """A character of a CEF key as the parser's split reads one: [A-Za-z0-9_.]."""
    return (b'a' <= c <= b'z') or (b'A' <= c <= b'Z') or _digit(c) or c == b'_' or c == b'.'


cdef inline int _first(Py_ssize_t *va, Py_ssize_t *vb, int lo, int hi) noexcept nogil:
    """The first of keys lo..hi-1 with a non-empty value (``get(a) or get(b)``), or -1."""
    cdef int k
    for k in range(lo, hi):
        if vb[k] > va[k]:
            return k
    return -1


cdef inline bint _has(const char *s, Py_ssize_t a, Py_ssize_t b, const char *lit,
                      Py_ssize_t k) noexcept nogil:
    """``lit in s[a:b]``."""
    cdef Py_ssize_t i
    for i in range(a, b - k + 1):
        if s[i] == lit[0] and memcmp(s + i, lit, k) == 0:
            return True
    return False


cdef inline bint _cef_blocked(const char *s, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    """``mapping.vendor_action(v) == "blocked"`` for ASCII text: its lower-cased,
    space-trimmed text starts with a block prefix."""
    cdef char low[16]
    cdef Py_ssize_t k, i
    while a < b and s[a] == b' ':
        a += 1
    while b > a and s[b - 1] == b' ':
        b -= 1
    k = min(b - a, 16)
    for i in range(k):
        low[i] = s[a + i] | 0x20 if b'A' <= s[a + i] <= b'Z' else s[a + i]
    return ((k >= 5 and memcmp(low, b"block", 5) == 0) or (k >= 4 and memcmp(low, b"deny", 4) == 0)
            or (k >= 4 and memcmp(low, b"deni", 4) == 0) or (k >= 4 and memcmp(low, b"drop", 4) == 0)
            or (k >= 6 and memcmp(low, b"reject", 6) == 0)
            or (k >= 7 and memcmp(low, b"prevent", 7) == 0)
            or (k >= 5 and memcmp(low, b"reset", 5) == 0)
            or (k >= 6 and memcmp(low, b"refuse", 6) == 0)
            or (k >= 10 and memcmp(low, b"quarantine", 10) == 0))


cdef class CEFKernel(Kernel):
    """ArcSight CEF web records (`collectors.proxy.cef`), bare or behind a syslog
    header.

    Taken: printable ASCII lines, a ``CEF:digits|`` header with seven fields
    (no escaped pipe), an extension whose pairs are
    separated by single spaces; the time in ``rt`` (or the parser's next
    choices) as epoch digits, seconds or milliseconds; a plain host in the
    URL (``request``), else in ``dhost``/``dst`` (and their long names); a
    ``src`` address; byte counts as digits or ``-``. Records without any host
    are valid lines without an event. Escapes (``\\=``) are taken in values not
    read here and in the URL after its host (``scheme://host/`` before the first
    backslash). Text dates, the syslog header's time, labelled IPv6 addresses,
    other escapes, tabs or double blanks, IPv6 or userinfo
    hosts and anything else go to the parser. Stamps are kept in
    milliseconds: the parser's ``n / 1000.0`` is exact division below 2**53.
    """

    cdef bint spec_bytes

    def __cinit__(self, *args):
        self.with_user = True
        self.per_second = 1000
        self.spec_bytes = False

    def configure(self, int64_t upload_min_bytes, bint spec_bytes):
        """The pipeline's upload threshold and the source's ``cef_bytes = "spec"``."""
        self.upload_min = upload_min_bytes
        self.spec_bytes = spec_bytes

    cdef int _key(self, const char *k, Py_ssize_t n) noexcept:
        if n == 2:
            if k[0] == b'r' and k[1] == b't':
                return CE_RT
            return CE_IN if k[0] == b'i' and k[1] == b'n' else -1
        if n == 3:
            if memcmp(k, b"src", 3) == 0:
                return CE_SRC
            if memcmp(k, b"dst", 3) == 0:
                return CE_DST
            if memcmp(k, b"act", 3) == 0:
                return CE_ACT
            if memcmp(k, b"out", 3) == 0:
                return CE_OUT
            return CE_END if memcmp(k, b"end", 3) == 0 else -1
        if n == 5:
            if memcmp(k, b"suser", 5) == 0:
                return CE_SUSER
            if memcmp(k, b"dhost", 5) == 0:
                return CE_DHOST
            if memcmp(k, b"duser", 5) == 0:
                return CE_DUSER
            return CE_START if memcmp(k, b"start", 5) == 0 else -1
        if n == 7:
            if memcmp(k, b"request", 7) == 0:
                return CE_REQUEST
            if memcmp(k, b"bytesIn", 7) == 0:
                return CE_BYTESIN
            return CE_ENDTIME if memcmp(k, b"endTime", 7) == 0 else -1
        if n == 8:
            return CE_BYTESOUT if memcmp(k, b"bytesOut", 8) == 0 else -1
        if n == 9:
            return CE_STARTTIME if memcmp(k, b"startTime", 9) == 0 else -1
        if n == 10:
            return CE_REQUESTURL if memcmp(k, b"requestUrl", 10) == 0 else -1
        if n == 12:
            return CE_DACTION if memcmp(k, b"deviceAction", 12) == 0 else -1
        if n == 13:
            if memcmp(k, b"sourceAddress", 13) == 0:
                return CE_SADDR
            return CE_METHOD if memcmp(k, b"requestMethod", 13) == 0 else -1
        if n == 14:
            return CE_SUSERNAME if memcmp(k, b"sourceUserName", 14) == 0 else -1
        if n == 17:
            return CE_RECEIPT if memcmp(k, b"deviceReceiptTime", 17) == 0 else -1
        if n == 18:
            return CE_DADDR if memcmp(k, b"destinationAddress", 18) == 0 else -1
        if n == 19:
            if memcmp(k, b"destinationHostName", 19) == 0:
                return CE_DHOSTNAME
            return CE_DUSERNAME if memcmp(k, b"destinationUserName", 19) == 0 else -1
        if n == 23:
            return CE_STRANS if memcmp(k, b"sourceTranslatedAddress", 23) == 0 else -1
        return -1

    cdef int _scan(self, const char *s, Py_ssize_t i, Py_ssize_t n, Py_ssize_t *va,
                   Py_ssize_t *vb) noexcept:
        """Split the extension ``s[i:n]`` as `cef.parse_extension`'s fast split
        does: a separator is a space, a maximal run of key characters and "=";
        a value runs to the next separator; a repeated key keeps its last value.
        1 when read, 0 when the parser raises or takes another path (text
        before the first key, two blanks in a row)."""
        cdef Py_ssize_t k0, k1, v0, sp, q, k
        cdef const char *hit
        cdef int kid
        if i < n and s[i] == b' ':
            i += 1
            if i < n and s[i] == b' ':
                return 0  # more blanks than one: the parser strips them all
        if i < n and s[n - 1] == b' ':
            n -= 1
            if i < n and s[n - 1] == b' ':
                return 0  # (a last value "POST  " is "POST" to the parser)
        if i >= n:
            return 1  # no pairs: the parser's {}
        k1 = i
        while k1 < n and _cef_keych(s[k1]):
            k1 += 1
        if k1 == i or k1 >= n or s[k1] != b'=':
            return 0
        k0 = i
        v0 = k1 + 1
        while True:
            q = v0
            sp = -1
            while q < n:
                hit = <const char *>memchr(s + q, b' ', n - q)
                if hit == NULL:
                    break
                sp = hit - s
                if sp + 1 < n and s[sp + 1] == b' ':
                    return 0  # two blanks: the parser's other split
                k = sp + 1
                while k < n and _cef_keych(s[k]):
                    k += 1
                if k > sp + 1 and k < n and s[k] == b'=':
                    break
                sp = -1
                q = k
            kid = self._key(s + k0, k1 - k0)
            if kid >= 0:
                va[kid] = v0
                vb[kid] = n if sp < 0 else sp
            if sp < 0:
                return 1
            k0 = sp + 1
            k1 = k
            v0 = k + 1

    cdef int _line(self, const char *s, Py_ssize_t n) except -1:
        cdef Py_ssize_t va[CE_KEYS]
        cdef Py_ssize_t vb[CE_KEYS]
        cdef Py_ssize_t c0, j, a, b, h0, h1, u0, u1, pipes
        cdef int k
        cdef uint64_t v
        cdef int64_t ms, minute, rcvd, sent
        cdef bint blocked, upload
        cdef const char *hit
        if n and s[n - 1] == b'\r':
            n -= 1  # the driver strips it before the parser sees the line
        if n < 12 or not _plain_ascii(s, n):
            return 0
        # "CEF:" at the start, else after the first " CEF:" (cef.locate)
        c0 = -1
        if memcmp(s, b"CEF:", 4) == 0:
            c0 = 0
        else:
            for j in range(1, n - 4):
                if s[j] == b'C' and s[j - 1] == b' ' and memcmp(s + j, b"CEF:", 4) == 0:
                    c0 = j
                    break
            if c0 < 0:
                return 0
        # the version: digits to the first pipe; then six more header fields
        j = c0 + 4
        while j < n and _digit(s[j]):
            j += 1
        if j == c0 + 4 or j >= n or s[j] != b'|':
            return 0
        pipes = 1
        while pipes < 7:
            j += 1
            if j >= n:
                return 0
            hit = <const char *>memchr(s + j, b'|', n - j)
            if hit == NULL:
                return 0
            j = hit - s
            pipes += 1
        if memchr(s + c0, b'\\', j - c0) != NULL:
            return 0  # an escaped pipe: the parser's header split
        memset(va, 0, sizeof(va))  # an absent key reads as empty: falls through "or"
        memset(vb, 0, sizeof(vb))
        if not self._scan(s, j + 1, n, va, vb):
            return 0
        # escapes: only in the URL, past its host (an unescaped value differs from there on)
        for k in range(CE_DHOST, CE_KEYS):
            if vb[k] > va[k] and memchr(s + va[k], b'\\', vb[k] - va[k]) != NULL:
                return 0
        # the host: the URL's, else dhost, destinationHostName, dst, destinationAddress
        h0 = h1 = 0
        k = _first(va, vb, CE_REQUEST, CE_REQUESTURL + 1)
        if k >= 0 and not _eq(s, va[k], vb[k], b"-", 1):
            a, b = va[k], vb[k]
            hit = <const char *>memchr(s + a, b'\\', b - a)
            if hit != NULL:
                # The text before the first escape is the unescaped URL's too: its
                # host is read there when a scheme and the host's end both are.
                b = hit - s
                if not _url_host(s, a, b, False, &h0, &h1) or h1 >= b or h0 == a:
                    return 0
            elif not _url_host(s, a, b, False, &h0, &h1):
                return 0
            if h1 == h0:
                return 0
        else:
            k = _first(va, vb, CE_DHOST, CE_DADDR + 1)
            if k < 0:
                # a labelled IPv6 destination may still name one: the parser's
                return 0 if _has(s, j + 1, n, b"Label=", 6) else IGNORED
            if _eq(s, va[k], vb[k], b"-", 1):
                return IGNORED
            if not _url_host(s, va[k], vb[k], False, &h0, &h1) or h1 == h0:
                return 0
        # the time: epoch digits, seconds below 1e11, else milliseconds below 1e14
        k = _first(va, vb, CE_RT, CE_ENDTIME + 1)
        if k < 0:
            return 0  # the syslog header's time, or none: the parser's
        ms = _epoch_ms(s, va[k], vb[k])
        if ms < 0:
            return 0
        # the client (an empty one, or a labelled IPv6 one, is the parser's)
        k = _first(va, vb, CE_SRC, CE_STRANS + 1)
        if k < 0:
            return 0
        a, b = va[k], vb[k]
        # the user: "-" is none
        u0 = u1 = 0
        k = _first(va, vb, CE_SUSER, CE_DUSERNAME + 1)
        if k >= 0 and not _eq(s, va[k], vb[k], b"-", 1):
            u0, u1 = va[k], vb[k]
        k = _first(va, vb, CE_ACT, CE_DACTION + 1)
        blocked = k >= 0 and _cef_blocked(s, va[k], vb[k])
        # bytes: "in" is what the client received, unless cef_bytes = "spec"
        k = (_first(va, vb, CE_OUT, CE_BYTESOUT + 1) if self.spec_bytes
             else _first(va, vb, CE_IN, CE_BYTESIN + 1))
        rcvd = 0 if k < 0 or _eq(s, va[k], vb[k], b"-", 1) else _count(s, va[k], vb[k])
        k = (_first(va, vb, CE_IN, CE_BYTESIN + 1) if self.spec_bytes
             else _first(va, vb, CE_OUT, CE_BYTESOUT + 1))
        sent = 0 if k < 0 or _eq(s, va[k], vb[k], b"-", 1) else _count(s, va[k], vb[k])
        if rcvd < 0 or sent < 0:
            return 0
        upload = (sent > 0 and sent >= self.upload_min
                  and _upload_method(s, va[CE_METHOD], vb[CE_METHOD]))
        minute = ms // 60000
        if minute != self.prev_minute:
            r = self.minute_cb(minute)
            if r is None:
                return 0
            self.cur = self.buckets[<Py_ssize_t>r]
            self.prev_minute = minute
        return self._add(s + a, b - a, s + h0, h1 - h0, ms, False, s + u0, u1 - u0, blocked,
                         rcvd, sent, upload)


# ---------------------------------------------------------------- LEEF

cdef enum:
    # the LEEF attributes the fold reads (collectors.proxy.leef.make_parser), each
    # "a or b or ..." chain of the parser a contiguous run, in the parser's order
    LE_URL,
    LE_DHOST, LE_DSTHOST, LE_HOST, LE_DST, LE_DSTPRENAT,
    LE_DEVTIME, LE_DEVTIMEFORMAT,
    LE_SRC, LE_SRCPRENAT,
    LE_USRNAME, LE_SUSER, LE_ACCOUNTNAME, LE_USER,
    LE_ACTION, LE_ACT,
    LE_METHOD, LE_REQMETHOD, LE_HTTPMETHOD,
    LE_DSTBYTES, LE_SRCBYTES,
    LE_KEYS


cdef inline bint _blank(char c) noexcept nogil:
    """The blanks ``str.strip`` removes among the bytes a LEEF line may hold here."""
    return c == b' ' or c == b'\t'


cdef inline int _hex(char c) noexcept nogil:
    if _digit(c):
        return c - 48
    if b'a' <= c <= b'f':
        return c - 87
    if b'A' <= c <= b'F':
        return c - 55
    return -1


cdef class LEEFKernel(Kernel):
    """IBM QRadar LEEF 1.0 and 2.0 web records (`collectors.proxy.leef`), bare or
    behind a syslog header.

    Taken: lines of printable ASCII and tabs; a ``LEEF:1.0|`` (or ``1``) header
    with five fields, or ``LEEF:2.0|`` (or ``2``) with the delimiter field read
    as `leef.split_record` reads it (one character, ``x``/``0x`` and 1-4 hex
    digits naming a tab or printable ASCII, or none); no backslash in the
    header; attributes split on the delimiter exactly as `leef.parse_attributes`
    does (blanks trimmed, a repeated key keeps its last value); ``devTime`` as
    epoch digits, seconds or milliseconds, without a ``devTimeFormat``; a plain
    host in ``url``, else in ``dhost``/``dstHost``/``host``/``dst``/``dstPreNAT``;
    a ``src`` (or ``srcPreNAT``) address; byte counts as digits or ``-``.
    Records without any host are valid lines without an event. Text dates or a
    ``devTimeFormat``, the syslog header's time, tab-less records read
    CEF-style, IPv6 or userinfo hosts, other delimiters and anything else go to
    the parser. Stamps are kept in milliseconds (exact, as in `CEFKernel`).
    """


    def __cinit__(self, *args):
        self.with_user = True
        self.per_second = 1000

    def configure(self, int64_t upload_min_bytes):
        """The pipeline's upload threshold."""
        self.upload_min = upload_min_bytes

    cdef int _key(self, const char *k, Py_ssize_t n) noexcept:
        if n == 3:
            if memcmp(k, b"url", 3) == 0:
                return LE_URL
            if memcmp(k, b"src", 3) == 0:
                return LE_SRC
            if memcmp(k, b"dst", 3) == 0:
                return LE_DST
            return LE_ACT if memcmp(k, b"act", 3) == 0 else -1
        if n == 4:
            if memcmp(k, b"host", 4) == 0:
                return LE_HOST
            return LE_USER if memcmp(k, b"user", 4) == 0 else -1
        if n == 5:
            if memcmp(k, b"dhost", 5) == 0:
                return LE_DHOST
            return LE_SUSER if memcmp(k, b"suser", 5) == 0 else -1
        if n == 6:
            if memcmp(k, b"action", 6) == 0:
                return LE_ACTION
            return LE_METHOD if memcmp(k, b"method", 6) == 0 else -1
        if n == 7:
            if memcmp(k, b"devTime", 7) == 0:
                return LE_DEVTIME
            if memcmp(k, b"usrName", 7) == 0:
                return LE_USRNAME
            return LE_DSTHOST if memcmp(k, b"dstHost", 7) == 0 else -1
        if n == 8:
            if memcmp(k, b"dstBytes", 8) == 0:
                return LE_DSTBYTES
            return LE_SRCBYTES if memcmp(k, b"srcBytes", 8) == 0 else -1
        if n == 9:
            if memcmp(k, b"dstPreNAT", 9) == 0:
                return LE_DSTPRENAT
            return LE_SRCPRENAT if memcmp(k, b"srcPreNAT", 9) == 0 else -1
        if n == 10:
            return LE_HTTPMETHOD if memcmp(k, b"httpMethod", 10) == 0 else -1
        if n == 11:
            return LE_ACCOUNTNAME if memcmp(k, b"accountName", 11) == 0 else -1
        if n == 13:
            if memcmp(k, b"devTimeFormat", 13) == 0:
                return LE_DEVTIMEFORMAT
            return LE_REQMETHOD if memcmp(k, b"requestMethod", 13) == 0 else -1
        return -1

    cdef int _scan(self, const char *s, Py_ssize_t i, Py_ssize_t n, char d, Py_ssize_t *va,
                   Py_ssize_t *vb) noexcept:
        """Split the attributes ``s[i:n]`` on ``d`` as `leef.parse_attributes`
        does: blank pieces are skipped, the first "=" ends the key, key and value
        are trimmed, a later value of a key replaces the earlier. 1 when read, 0
        when the parser raises (a piece without "=" or without a key)."""
        cdef Py_ssize_t e, a, b, q, k1, v0
        cdef const char *hit
        cdef int kid
        while True:
            hit = <const char *>memchr(s + i, d, n - i) if i < n else NULL
            e = n if hit == NULL else hit - s
            a, b = i, e
            while a < b and _blank(s[a]):
                a += 1
            while b > a and _blank(s[b - 1]):
                b -= 1
            if a < b:
                hit = <const char *>memchr(s + a, b'=', b - a)
                if hit == NULL:
                    return 0
                q = hit - s
                k1 = q
                while k1 > a and _blank(s[k1 - 1]):
                    k1 -= 1
                if k1 == a:
                    return 0
                v0 = q + 1
                while v0 < b and _blank(s[v0]):
                    v0 += 1
                kid = self._key(s + a, k1 - a)
                if kid >= 0:
                    va[kid] = v0
                    vb[kid] = b
            if e >= n:
                return 1
            i = e + 1

    cdef int _line(self, const char *s, Py_ssize_t n) except -1:
        cdef Py_ssize_t va[LE_KEYS]
        cdef Py_ssize_t vb[LE_KEYS]
        cdef Py_ssize_t c0, j, a, b, h0, h1, u0, u1, pipes, p1, x
        cdef int k, h, code
        cdef char d
        cdef uint64_t v
        cdef int64_t ms, minute, rcvd, sent
        cdef bint blocked, upload
        cdef const char *hit
        if n and s[n - 1] == b'\r':
            n -= 1  # the driver strips it before the parser sees the line
        if n < 12:
            return 0
        for j in range(n):
            if (s[j] < 0x20 and s[j] != b'\t') or s[j] >= 0x7f:
                return 0  # (char is signed: bytes above 0x7f are negative)
        # "LEEF:" at the start, else after the first " LEEF:" (leef.locate)
        c0 = -1
        if memcmp(s, b"LEEF:", 5) == 0:
            c0 = 0
        else:
            for j in range(1, n - 5):
                if s[j] == b'L' and s[j - 1] == b' ' and memcmp(s + j, b"LEEF:", 5) == 0:
                    c0 = j
                    break
            if c0 < 0:
                return 0
        # five header fields (no escaped pipe); the version is the first
        hit = <const char *>memchr(s + c0, b'|', n - c0)
        if hit == NULL:
            return 0
        p1 = hit - s
        j = p1
        pipes = 1
        while pipes < 5:
            j += 1
            hit = <const char *>memchr(s + j, b'|', n - j) if j < n else NULL
            if hit == NULL:
                return 0
            j = hit - s
            pipes += 1
        if memchr(s + c0, b'\\', j - c0) != NULL:
            return 0  # the parser's escaped header split
        j += 1  # the attributes (or the 2.0 delimiter field)
        d = b'\t'
        if _eq(s, c0 + 5, p1, b"1.0", 3) or _eq(s, c0 + 5, p1, b"1", 1):
            pass
        elif _eq(s, c0 + 5, p1, b"2.0", 3) or _eq(s, c0 + 5, p1, b"2", 1):
            # leef._DELIM: (?:0?[xX]([0-9A-Fa-f]{1,4})|([^|]?))\|
            if j < n and s[j] == b'|':
                j += 1  # empty: a tab
            elif j + 1 < n and s[j + 1] == b'|':
                d = s[j]
                j += 2
            else:
                x = j + 1 if j + 1 < n and s[j] == b'0' and (s[j + 1] == b'x' or s[j + 1] == b'X') else j
                if x < n and (s[x] == b'x' or s[x] == b'X'):
                    code = 0
                    h = 0
                    x += 1
                    while x < n and _hex(s[x]) >= 0:
                        if h == 4:
                            h = 5
                            break
                        code = code * 16 + _hex(s[x])
                        h += 1
                        x += 1
                    if 1 <= h <= 4 and x < n and s[x] == b'|':
                        if code != 9 and not (0x20 <= code < 0x7f):
                            return 0  # zero (rejected), other controls, not ASCII
                        d = <char>code
                        j = x + 1
                # else no delimiter field: a tab, the attributes from here
        else:
            return 0
        if d == b'\t' and memchr(s + j, b'\t', n - j) == NULL and memchr(s + j, b' ', n - j) != NULL:
            return 0  # tabs lost on the way: the parser reads it CEF-style
        memset(va, 0, sizeof(va))  # an absent key reads as empty: falls through "or"
        memset(vb, 0, sizeof(vb))
        if not self._scan(s, j, n, d, va, vb):
            return 0
        # the host: the URL's, else dhost, dstHost, host, dst, dstPreNAT
        h0 = h1 = 0
        if vb[LE_URL] > va[LE_URL] and not _eq(s, va[LE_URL], vb[LE_URL], b"-", 1):
            if not _url_host(s, va[LE_URL], vb[LE_URL], False, &h0, &h1) or h1 == h0:
                return 0
        else:
            k = _first(va, vb, LE_DHOST, LE_DSTPRENAT + 1)
            if k < 0 or _eq(s, va[k], vb[k], b"-", 1):
                return IGNORED
            if not _url_host(s, va[k], vb[k], False, &h0, &h1) or h1 == h0:
                return 0
        # the time: devTime as epoch digits, seconds below 1e11, else milliseconds below 1e14
        if vb[LE_DEVTIMEFORMAT] > va[LE_DEVTIMEFORMAT]:
            return 0  # a pattern: the parser's
        if vb[LE_DEVTIME] == va[LE_DEVTIME]:
            return 0  # the syslog header's time, or none: the parser's
        ms = _epoch_ms(s, va[LE_DEVTIME], vb[LE_DEVTIME])
        if ms < 0:
            return 0
        # the client (an empty one is the parser's)
        k = _first(va, vb, LE_SRC, LE_SRCPRENAT + 1)
        if k < 0:
            return 0
        a, b = va[k], vb[k]
        # the user: "-" is none
        u0 = u1 = 0
        k = _first(va, vb, LE_USRNAME, LE_USER + 1)
        if k >= 0 and not _eq(s, va[k], vb[k], b"-", 1):
            u0, u1 = va[k], vb[k]
        k = _first(va, vb, LE_ACTION, LE_ACT + 1)
        blocked = k >= 0 and _cef_blocked(s, va[k], vb[k])
        # dstBytes: what the destination sent (the client received); srcBytes: the upload
        rcvd = 0 if _eq(s, va[LE_DSTBYTES], vb[LE_DSTBYTES], b"-", 1) else _count(
            s, va[LE_DSTBYTES], vb[LE_DSTBYTES])
        sent = 0 if _eq(s, va[LE_SRCBYTES], vb[LE_SRCBYTES], b"-", 1) else _count(
            s, va[LE_SRCBYTES], vb[LE_SRCBYTES])
        if rcvd < 0 or sent < 0:
            return 0
        k = _first(va, vb, LE_METHOD, LE_HTTPMETHOD + 1)
        upload = (sent > 0 and sent >= self.upload_min and k >= 0
                  and _upload_method(s, va[k], vb[k]))
        minute = ms // 60000
        if minute != self.prev_minute:
            r = self.minute_cb(minute)
            if r is None:
                return 0
            self.cur = self.buckets[<Py_ssize_t>r]
            self.prev_minute = minute
        return self._add(s + a, b - a, s + h0, h1 - h0, ms, False, s + u0, u1 - u0, blocked,
                         rcvd, sent, upload)


# -- times as SQLite text ------------------------------------------------------------


cdef inline void _put(char *buf, int at, int width, int64_t v) noexcept nogil:
    cdef int k
    for k in range(width - 1, -1, -1):
        buf[at + k] = <char>(48 + v % 10)
        v //= 10


cdef object _text_time(object t, object slow):
    """POSIX seconds as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC), rounded to the
    microsecond as SQLite's ``round(t * 1000000)`` rounds (add 0.5 and truncate
    below 2**52, where a double still has a fraction); None stays None;
    anything unusual (before 1970, past 9999, not a number) goes to ``slow``,
    the Python reference."""
    cdef double r
    cdef int64_t us
    cdef time_t sec
    cdef tm parts
    cdef char buf[26]
    if t is None:
        return None
    if type(t) is not float and type(t) is not int:
        return slow(t)
    r = <double>t * 1000000.0
    if not (r >= 0.0 and r < 253402300800000000.0):  # also NaN
        return slow(t)
    us = <int64_t>(r + 0.5) if r < 4503599627370496.0 else <int64_t>r
    sec = <time_t>(us // 1000000)
    if gmtime_r(&sec, &parts) == NULL:
        return slow(t)
    memcpy(buf, b"0000-00-00 00:00:00.000000", 26)
    _put(buf, 0, 4, parts.tm_year + 1900)
    _put(buf, 5, 2, parts.tm_mon + 1)
    _put(buf, 8, 2, parts.tm_mday)
    _put(buf, 11, 2, parts.tm_hour)
    _put(buf, 14, 2, parts.tm_min)
    _put(buf, 17, 2, parts.tm_sec)
    _put(buf, 20, 6, us % 1000000)
    return PyUnicode_DecodeASCII(buf, 26, NULL)


def text_times(list rows, tuple cols, object slow):
    """``rows`` (tuples) with the POSIX times at positions ``cols`` written as
    `_text_time` text: what `collectors.clock.text_time` does, compiled."""
    cdef list out = []
    cdef tuple r, row
    cdef Py_ssize_t c, k, n
    cdef object v, item
    for item in rows:
        r = item if type(item) is tuple else tuple(item)  # a NamedTuple row, a list
        n = len(r)
        row = PyTuple_New(n)
        for k in range(n):
            v = r[k]
            Py_INCREF(v)
            PyTuple_SET_ITEM(row, k, v)
        for c in cols:
            v = _text_time(r[c], slow)
            Py_INCREF(v)
            Py_DECREF(<object>PyTuple_GET_ITEM(row, c))
            PyTuple_SET_ITEM(row, c, v)
        out.append(row)
    return out


def flat_values(list rows, tuple cols, Py_ssize_t date_col, object slow):
    """``rows`` as one flat list of values, for a multi-row INSERT: the POSIX
    times at ``cols`` as `_text_time` text, the date at ``date_col`` as ISO text
    (once per distinct date), the rest as they are."""
    cdef list out = []
    cdef dict days = {}
    cdef tuple r
    cdef Py_ssize_t k, n
    cdef object v, d, item
    cdef bint is_time[64]
    for item in rows:
        r = item if type(item) is tuple else tuple(item)
        n = len(r)
        if n > 64:
            raise ValueError("rows of more than 64 values")
        for k in range(n):
            is_time[k] = False
        for k in cols:
            if 0 <= k < n:
                is_time[k] = True
        for k in range(n):
            v = r[k]
            if is_time[k]:
                out.append(_text_time(v, slow))
            elif k == date_col:
                d = days.get(v)
                if d is None:
                    d = days[v] = v.isoformat() if hasattr(v, "isoformat") else v
                out.append(d)
            else:
                out.append(v)
    return out
