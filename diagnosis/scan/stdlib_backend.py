"""The standard-library backend, for installs without Hyperscan: a keyword prefilter, then ``re`` per line.

One combined regex of literal keywords (every pattern's required literal and every marker's) is searched over
each block; only the lines it hits are checked: the offsets where a whole keyword starts (one regex of them
all), the keywords filed under the two bytes at each such offset, then the regex of each entry whose keyword
is present (on the line's bytes, the same regex the Hyperscan backend confirms with), so both backends record
the same lines.
Keywords are cut to start at bytes that are rare in the log itself (measured on a sample of the first block),
because the regex engine skips quickly over positions whose byte cannot start a keyword. Entries without any
keyword are tried on every line.
"""

from __future__ import annotations

import re
from collections import Counter

from diagnosis.scan.core import Recorder, Table, evidence_window, line_bounds

SAMPLE = 256 << 10

# A few typical customization.log lines: the byte frequencies used to cut keywords for small inputs.
_OP = b"[45f485cf-5a8c-4379-9937-8d85493bc791] PACKER"
_TYPICAL_LOG = (
    _OP + b' ERR 2024/04/30 23:28:50 packer: 2024/04/30 23:28:50 Azure request method="GET" '
    b'request="https://management.azure.com/subscriptions/0/resourcegroups/IT_rg_tpl_0/providers/'
    b'Microsoft.Resources/deployments/pkrdp51lc0339jg/operationStatuses/0858613?[REDACTED]" body=""\n'
    + _OP
    + b" OUT     azure-arm: Setting up libxml2:amd64 (2.9.13) ...\n"
    + _OP
    + b" ERR 2024/04/30 23:38:58 [INFO] 1672 bytes written for 'stdout'\n"
    + _OP
    + b" OUT     azure-arm: Get:12 http://azure.archive.ubuntu.com/ubuntu jammy-updates/main amd64 "
    b"libssl3 amd64 3.0.2-0ubuntu1.15 [1903 kB]\n"
    + _OP
    + b" OUT     azure-arm: VERBOSE: Installing feature Web-Server\n"
) * 4


MIN_CUT = 6  # a keyword cut from a literal keeps at least this many bytes (or the whole literal)
MAX_CUT = 14


def _starts(kw: bytes) -> list[int]:
    """Offsets where a cut of ``kw`` may start: ASCII bytes leaving at least MIN_CUT bytes (or offset 0)."""
    need = MIN_CUT if len(kw) > MIN_CUT + 2 else max(3, len(kw) - 2)
    limit = len(kw) - need
    return [i for i in range(limit + 1) if kw[i] < 0x80] or [0]


def _first_bytes(kw: bytes, i: int, ci: bool) -> tuple[int, ...]:
    b = kw[i]
    if ci and 0x61 <= b <= 0x7A:
        return (b, b - 32)
    return (b,)


def choose_cuts(keywords: list[tuple[bytes, bool]], freq: list[int]) -> dict[tuple[bytes, bool], bytes]:
    """Cut every keyword so that all cuts start with bytes from one small, rare set (weighted set cover).

    The regex engine skips positions whose byte cannot start any alternative in a tight C loop, so the
    fewer and rarer the distinct first bytes, the faster the prefilter runs.
    """
    options: dict[tuple[bytes, bool], dict[int, list[int]]] = {}
    for kw, ci in keywords:
        by_byte: dict[int, list[int]] = {}
        for i in _starts(kw):
            by_byte.setdefault(kw[i], []).append(i)
        options[(kw, ci)] = by_byte
    any_ci = any(ci for _kw, ci in options)

    def weight(b: int) -> int:
        w = freq[b] + 1
        if any_ci and 0x61 <= b <= 0x7A:
            w += freq[b - 32]
        return w

    # hardest keywords first (those whose best start byte is most frequent), each adds its rarest byte unless
    # a byte already chosen serves it; then drop bytes no keyword needs any more.
    chosen: set[int] = set()
    for key in sorted(options, key=lambda k: -min(weight(b) for b in options[k])):
        if not chosen.intersection(options[key]):
            chosen.add(min(options[key], key=weight))
    improved = True
    while improved:  # local search: replace a frequent byte by rarer ones serving the keywords that need it
        improved = False
        for b in sorted(chosen, key=weight, reverse=True):
            rest = chosen - {b}
            needy = [opts for opts in options.values() if not rest.intersection(opts)]
            extra: set[int] = set()
            for opts in sorted(needy, key=lambda o: -min(weight(x) for x in o)):
                if not extra.intersection(opts):
                    extra.add(min(opts, key=weight))
            if sum(weight(x) for x in extra - rest) < weight(b):
                chosen = rest | extra
                improved = True
                break
    cuts: dict[tuple[bytes, bool], bytes] = {}
    for (kw, ci), by_byte in options.items():
        b = min((b for b in by_byte if b in chosen), key=lambda b: freq[b])
        i = by_byte[b][0]
        cuts[(kw, ci)] = kw[i : i + MAX_CUT]
    return cuts


def _trie_regex(words: list[tuple[bytes, bool]], depth: int = 0) -> bytes:
    """An alternation grouped by leading bytes, so the regex engine tries few branches per position."""
    groups: dict[bytes, list[tuple[bytes, bool]]] = {}
    for w, ci in words:
        if ci and w[:1].isalpha():
            for first in {w[:1].lower(), w[:1].upper()}:
                groups.setdefault(first, []).append((w[1:], ci))
        else:
            groups.setdefault(w[:1], []).append((w[1:], ci))
    parts = []
    for first, rests in groups.items():
        if any(not r for r, _ in rests):  # a word ends here: the shorter word suffices as a prefilter
            parts.append(re.escape(first))
            continue
        if depth < 2 and len(rests) > 1:
            parts.append(re.escape(first) + b"(?:" + _trie_regex(rests, depth + 1) + b")")
        else:
            alts = []
            for r, ci in rests:
                alts.append(b"(?i:" + re.escape(r) + b")" if ci else re.escape(r))
            parts.append(re.escape(first) + (b"(?:" + b"|".join(alts) + b")" if len(alts) > 1 else alts[0]))
    return b"|".join(parts)


class StdlibBackend:
    """Finds candidate lines with the prefilter and checks each table entry on them."""

    def __init__(self, table: Table, recorder: Recorder) -> None:
        self.table = table
        self.entries = table.entries
        self.recorder = recorder
        self.checked = [i for i, e in enumerate(self.entries) if e.keywords]
        self.everywhere = [i for i, e in enumerate(self.entries) if not e.keywords]
        self.prefilter: re.Pattern[bytes] | None = None
        cached = table.derived.get("stdlib-any-keyword")
        if cached is None:
            words = sorted({(kw, e.ignore_case) for e in self.entries for kw in e.keywords})
            cached = table.derived["stdlib-any-keyword"] = re.compile(_trie_regex(words) if words else b"(?!)")
        self.any_keyword: re.Pattern[bytes] = cached
        by_keyword: dict[tuple[bytes, bool], list[int]] = {}
        for i in self.checked:
            for kw in self.entries[i].keywords:
                by_keyword.setdefault((kw, self.entries[i].ignore_case), []).append(i)
        # each distinct keyword once, with the entries it lets through, filed under its first two bytes
        # lower-cased: the keywords that may start at an offset are those filed under the two bytes there
        self.keywords_by_head: dict[bytes, list[tuple[bytes, bool, tuple[int, ...]]]] = {}
        for (kw, ci), ix in by_keyword.items():
            self.keywords_by_head.setdefault(kw[:2].lower(), []).append((kw, ci, tuple(ix)))
        self.scanned_to = 0  # stream offset up to which a partial (over-long) line was already scanned
        # entries already found on the current over-long line, in an earlier window of it: a rule or marker counts
        # once per line, and only the others place the evidence window (as the Hyperscan backend does)
        self.long_line = 0
        self.long_seen: set[int] = set()

    def _build_prefilter(self, sample: bytes) -> None:
        """The keyword prefilter, cut for the byte frequencies of ``sample`` (small inputs: a typical log's,
        and that prefilter is cached on the table; building one costs tens of milliseconds)."""
        small = len(sample) < SAMPLE // 4
        if small and "stdlib-prefilter" in self.table.derived:
            self.prefilter = self.table.derived["stdlib-prefilter"]
            return
        counts = Counter(_TYPICAL_LOG if small else sample)
        freq = [counts.get(b, 0) for b in range(256)]
        wanted: dict[tuple[bytes, bool], None] = {}
        for e in self.entries:
            for kw in e.keywords:
                wanted[(kw, e.ignore_case)] = None
        cuts = choose_cuts(list(wanted), freq)
        self.prefilter = re.compile(_trie_regex(sorted({(cut, ci) for (_kw, ci), cut in cuts.items()})))
        if small:
            self.table.derived["stdlib-prefilter"] = self.prefilter

    def feed(self, block: bytes) -> None:
        if self.prefilter is None and block:
            step = max(1, len(block) // 4)
            sample = b"".join(block[i : i + SAMPLE // 4] for i in range(0, len(block), step))[:SAMPLE]
            self._build_prefilter(sample)

    def end(self) -> None:
        if self.prefilter is None:
            self._build_prefilter(b"")

    def lines(self, buf: bytes, offset: int, end: int, line_no: int, partial: bool) -> None:
        search = self.prefilter.search  # type: ignore[union-attr]
        first_line = line_no
        skip_before = self.scanned_to - offset
        pos = 0
        counted_to = 0
        while pos < end:
            m = search(buf, pos, end)
            if m is None:
                break
            if m.end() <= skip_before:
                pos = m.start() + 1
                continue
            ls, le, truncated = line_bounds(buf, m.start(), 0, end)
            line_no += buf.count(b"\n", counted_to, ls)
            counted_to = ls
            self._check(buf, ls, le, line_no, truncated or partial)
            pos = max(le, m.end()) if truncated or partial else le + 1
        if self.everywhere:
            self._everywhere(buf, end, first_line, skip_before)
        if partial:
            self.scanned_to = offset + end

    def _check(self, buf: bytes, ls: int, le: int, line_no: int, truncated: bool) -> None:
        raw = buf[ls:le]
        search = self.any_keyword.search
        m = search(raw)
        if m is None:  # the prefilter's cut matched, no whole keyword is there
            return
        lowered = raw.lower()
        candidates: set[int] = set()
        by_head = self.keywords_by_head
        while m is not None:  # every offset where some keyword starts, then the keywords filed there
            at = m.start()
            for keyword, ignore_case, indices in by_head.get(lowered[at : at + 2], ()):
                if (lowered if ignore_case else raw).startswith(keyword, at):
                    candidates.update(indices)
            m = search(raw, at + 1)
        found: list[int] = []
        first_end = -1
        entries = self.entries
        if truncated:
            if line_no != self.long_line:
                self.long_line, self.long_seen = line_no, set()
            candidates -= self.long_seen
        for i in sorted(candidates):
            m = entries[i].regex.search(raw)
            if m:
                found.append(i)
                if first_end < 0 or m.end() < first_end:
                    first_end = m.end()
        if found:
            if truncated:
                self.long_seen.update(found)
                raw = evidence_window(buf, ls, le, ls + first_end - 1)
            self.recorder.line(raw, line_no, found, truncated)

    def _everywhere(self, buf: bytes, end: int, line_no: int, skip_before: int) -> None:
        # entries without a usable literal (user rules): every line is tried
        start = 0
        while start < end:
            le = buf.find(b"\n", start, end)
            if le < 0:
                le = end
            if le > skip_before:
                raw = buf[start : min(le, start + (16 << 10))]
                found = [i for i in self.everywhere if self.entries[i].regex.search(raw)]
                if found:
                    self.recorder.line(raw, line_no, found)
            line_no += 1
            start = le + 1
