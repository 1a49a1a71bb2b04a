"""Streaming scanner for customization.log (and any pasted error text).

The log is read in chunks of ``CHUNK`` bytes and never held whole. Most lines are never looked at in Python:
one combined regex of literal keywords (every knowledge-base pattern's required literal, plus the phase and
telemetry markers) is searched over each chunk; only the lines it hits are decoded and matched against the
full patterns. Keywords are cut to start at the byte that is rarest in the log itself (measured on a sample
of the first chunk), because the regex engine skips quickly over positions whose byte cannot start a keyword.

Lenient input: UTF-8 with replacement, UTF-16 with BOM (or recognisable without), CRLF, NUL bytes, and lines
of any length (over-long lines are cut to a window around the match for matching and evidence).
"""

from __future__ import annotations

import codecs
import io
import os
import re
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from diagnosis.rules import KnowledgeBase, Pattern

CHUNK = 4 << 20  # bytes read per step
MAX_LINE = 16 << 10  # lines longer than this are matched on a window around the keyword
WINDOW = 2048  # bytes either side of a keyword hit on an over-long line
MAX_CARRY = 1 << 20  # an unfinished line is scanned and dropped once it is longer than this
EVIDENCE_CHARS = 400  # characters of a line kept as evidence
FIRST_HITS = 3
LAST_HITS = 5
MAX_STEPS = 1000
TAIL_BYTES = 256 << 10  # the end of the log, kept for the last timestamp and the "most telling" error lines
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

_TS_PACKER = re.compile(r"(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)")
_TS_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)")
_OPID = re.compile(r"^\[([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\]")
_START = re.compile(r"\(telemetry\) Starting provisioner ([\w.-]+)")
_END = re.compile(r"\(telemetry\) ending ([\w.-]+)")
_EXIT = re.compile(
    r"exited with code:? (-?\d+)|non-zero exit status:? (-?\d+)|Erroneous exit code (-?\d+)"
    r"|\(exit status (-?\d+)\)"
    r"|errored[^\n]{0,200}exit status:? (-?\d+)"
)
_ERRORISH = re.compile(
    r"(?i)\b(?:error(?:ed)?|failed|failure|fatal|exception|denied|unable to|cannot|could not|timed? ?out|"
    r"not found|invalid|forbidden|no such file|permission denied|not allowed|unauthorized|bad request|missing|"
    r"code[\"']?\s*[:=]\s*[\"']?[a-z]+)\b"  # an ARM error envelope's code (Code: Conflict, "code": "...")
)
_NOT_ERRORISH = re.compile(r"bytes written for 'std|Communicator ended with: 0|exited with code: 0\b")

# Markers the scanner itself needs (besides the knowledge-base patterns): (keyword, kind)
_MARKERS: tuple[tuple[bytes, str], ...] = (
    (b"(telemetry) Starting provisioner ", "start"),
    (b"(telemetry) ending ", "end"),
    (b"(telemetry) Finalizing", "finalize"),
    (b"(telemetry) found error", "found-error"),
    (b"Deploying deployment template", "deploy"),
    (b"Waiting for SSH", "connect"),
    (b"Waiting for WinRM", "connect"),
    (b"Connected to SSH", "connected"),
    (b"WinRM connected", "connected"),
    (b"DeprovisioningScript", "deprovision"),
    (b"Capturing image", "distribute"),
    (b"deleting individual resources", "cleanup"),
    (b"eleting resource group", "cleanup"),
    (b"exited with code", "exit"),
    (b"exit status", "exit"),
    (b"Erroneous exit code", "exit"),
    (b"Build 'azure-arm' errored", "failure"),
    (b"Some builds didn't complete successfully", "failure"),
    (b"Cancelling build after receiving terminated", "failure"),
    (b"Builds finished. The artifacts of successful builds are", "success"),
    (b"Build 'azure-arm' finished", "success"),
    (b"Done exporting Packer logs", "exported"),
)


@dataclass
class Hit:
    rule_id: str
    line: int
    text: str
    step: int | None = None  # position of the provisioner running at this line
    phase: str = "unknown"


@dataclass
class RuleHits:
    count: int = 0
    first: list[Hit] = field(default_factory=list)
    last: deque[Hit] = field(default_factory=lambda: deque(maxlen=LAST_HITS))

    def add(self, hit: Hit) -> None:
        self.count += 1
        if len(self.first) < FIRST_HITS:
            self.first.append(hit)
        self.last.append(hit)

    def samples(self) -> list[Hit]:
        seen: dict[int, Hit] = {h.line: h for h in self.first}
        for h in self.last:
            seen.setdefault(h.line, h)
        return sorted(seen.values(), key=lambda h: h.line)


@dataclass
class Step:
    """One packer provisioner run, from ``(telemetry) Starting provisioner X`` to ``(telemetry) ending X``."""

    name: str
    position: int
    start_line: int
    start_time: datetime | None = None
    end_line: int | None = None
    end_time: datetime | None = None
    exit_code: int | None = None  # first non-zero exit code seen while it ran (0 when only zeros were seen)
    exit_line: int | None = None
    exit_text: str | None = None
    deprovision: bool = False
    error_line: int | None = None  # "(telemetry) found error: ..." logged for this step (newer packer)
    error_text: str | None = None

    @property
    def ended(self) -> bool:
        return self.end_line is not None


@dataclass
class ScanResult:
    source: str = "log"
    bytes_read: int = 0
    lines: int = 0
    encoding: str = "utf-8"
    hits: dict[str, RuleHits] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)  # the latest provisioner runs (at most 2 * MAX_STEPS)
    steps_started: int = 0
    phase: str = "unknown"  # the last phase reached
    failure_lines: list[Hit] = field(default_factory=list)  # packer's own failure lines (bounded)
    success: bool = False
    finalized: bool = False
    exported: bool = False
    operation_id: str | None = None
    first_time: datetime | None = None
    last_time: datetime | None = None
    tail_errors: list[Hit] = field(default_factory=list)  # error-looking lines near the end
    truncated_lines: int = 0
    packer_lines: int = 0  # lines in packer's shape seen among the hit lines (log vs pasted text)

    @property
    def failed_step(self) -> Step | None:
        """The provisioner the build failed in.

        The one that started and never ended; else (packer also logs ``ending X`` for a provisioner that
        failed) when the build failed: the last one with ``(telemetry) found error`` or a non-zero exit code,
        or the last one that started before packer's first failure line.
        """
        for step in reversed(self.steps):
            if not step.ended:
                return step
        if not self.failure_lines or not self.steps:
            return None
        first_failure = self.failure_lines[0].line
        for step in reversed(self.steps):
            if step.start_line < first_failure and (
                step.error_line is not None or step.exit_code not in (None, 0)
            ):
                return step
        for step in reversed(self.steps):
            if step.start_line < first_failure:
                return step if step.end_line is not None and first_failure - step.end_line <= 50 else None
        return None

    @property
    def failure_seen(self) -> bool:
        return bool(self.failure_lines)


def _open_source(log) -> tuple[Iterator[bytes], str]:
    """A chunk iterator over a path, binary file object, bytes, str content or iterable of byte chunks."""
    if isinstance(log, bytes | bytearray | memoryview):
        data = bytes(log)
        return iter([data[i : i + CHUNK] for i in range(0, len(data), CHUNK)] or [b""]), "bytes"
    if isinstance(log, str) and ("\n" in log or "\r" in log):
        return _open_source(log.encode("utf-8", "surrogatepass"))
    if isinstance(log, str | os.PathLike):
        path = os.fspath(log)
        fh = open(path, "rb")  # noqa: SIM115 - closed by the generator

        def gen_file() -> Iterator[bytes]:
            with fh:
                while True:
                    block = fh.read(CHUNK)
                    if not block:
                        return
                    yield block

        return gen_file(), str(path)
    if hasattr(log, "read"):

        def gen_read() -> Iterator[bytes]:
            while True:
                block = log.read(CHUNK)
                if not block:
                    return
                if isinstance(block, str):
                    block = block.encode("utf-8", "surrogatepass")
                yield block

        return gen_read(), getattr(log, "name", "stream") if isinstance(
            getattr(log, "name", None), str
        ) else "stream"
    if isinstance(log, Iterable):

        def gen_iter() -> Iterator[bytes]:
            pending: list[bytes] = []
            size = 0
            for block in log:
                if isinstance(block, str):
                    block = block.encode("utf-8", "surrogatepass")
                elif not isinstance(block, bytes):
                    block = bytes(block)
                for i in range(0, len(block), CHUNK):
                    piece = block[i : i + CHUNK] if len(block) > CHUNK else block
                    pending.append(piece)
                    size += len(piece)
                    if size >= CHUNK:
                        yield b"".join(pending)
                        pending, size = [], 0
            if pending:
                yield b"".join(pending)

        return gen_iter(), "stream"
    raise TypeError(f"cannot read a log from {type(log).__name__}")


def _normalized(chunks: Iterator[bytes], result: ScanResult) -> Iterator[bytes]:
    """UTF-8 bytes without BOM or NUL bytes, whatever the input encoding."""
    first = b""
    for first in chunks:
        if first:
            break
    else:
        return
    encoding = None
    if first.startswith(codecs.BOM_UTF8):
        first = first[3:]
    elif first.startswith(codecs.BOM_UTF16_LE) or first.startswith(codecs.BOM_UTF16_BE):
        encoding = "utf-16"
    else:
        sample = first[:4096]
        if len(sample) >= 4:
            even, odd = sample[0::2], sample[1::2]
            if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
                encoding = "utf-16-le"
            elif even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
                encoding = "utf-16-be"
    if encoding:
        result.encoding = encoding
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")

        def transcoded() -> Iterator[bytes]:
            yield decoder.decode(first).encode("utf-8", "replace")
            for block in chunks:
                yield decoder.decode(block).encode("utf-8", "replace")
            yield decoder.decode(b"", final=True).encode("utf-8", "replace")

        source: Iterator[bytes] = transcoded()
    else:

        def raw() -> Iterator[bytes]:
            yield first
            yield from chunks

        source = raw()
    for block in source:
        if b"\0" in block:
            block = block.replace(b"\0", b"")
        if block:
            yield block


def _append_tail(tail: bytes, tail_line: int, seg: bytes) -> tuple[bytes, int]:
    joined = tail + seg
    cut = len(joined) - TAIL_BYTES
    if cut > 0:
        tail_line += joined.count(b"\n", 0, cut)
        joined = joined[cut:]
    return joined, tail_line


def _parse_time(text: str) -> datetime | None:
    m = _TS_PACKER.search(text) or _TS_ISO.search(text)
    if not m:
        return None
    try:
        return datetime(*(int(g) for g in m.groups()))
    except ValueError:
        return None


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


class Scanner:
    """Scan one input. ``text_mode`` applies message patterns too (pasted error output, status messages)."""

    def __init__(self, kb: KnowledgeBase, *, text_mode: bool = False, source: str = "log") -> None:
        self.kb = kb
        self.text_mode = text_mode
        self.source = source
        self.patterns: list[Pattern] = kb.patterns(log=True, message=text_mode)
        self.fast = [p for p in self.patterns if p.keywords]
        self.slow = [p for p in self.patterns if not p.keywords]
        self.benign = {r.id for r in kb if r.benign}
        self.result = ScanResult(source=source)
        self._current: Step | None = None
        self._prefilter: re.Pattern[bytes] | None = None
        self._checks: list[tuple[bytes, bool, Pattern]] = []
        self._markers: list[tuple[bytes, str]] = []

    # ----------------------------------------------------------------------------------------- prefilter
    def _build_prefilter(self, sample: bytes) -> None:
        """Compile the keyword prefilter, cut for the byte frequencies of ``sample``.

        Small inputs use a typical-log frequency table, and that prefilter is cached on the knowledge base
        (many small messages and tails are diagnosed; building the prefilter costs tens of milliseconds).
        """
        small = len(sample) < SAMPLE // 4
        cache = self.kb.cache
        key = ("prefilter", self.text_mode)
        if small and key in cache:
            self._prefilter, self._checks, self._markers, self.cuts = cache[key]
            return
        counts = Counter(_TYPICAL_LOG if small else sample)
        freq = [counts.get(b, 0) for b in range(256)]
        wanted: dict[tuple[bytes, bool], None] = {}
        for p in self.fast:
            for kw in p.keywords:
                wanted[(kw, p.ignore_case)] = None
        for kw, _kind in _MARKERS:
            wanted[(kw, False)] = None
        cuts = choose_cuts(list(wanted), freq)
        for p in self.fast:
            for kw in p.keywords:
                self._checks.append((kw, p.ignore_case, p))
        self._markers = list(_MARKERS)
        self._prefilter = re.compile(_trie_regex(sorted({(cut, ci) for (_kw, ci), cut in cuts.items()})))
        self.cuts = cuts
        if small:
            cache[key] = (self._prefilter, self._checks, self._markers, cuts)

    # -------------------------------------------------------------------------------------------- scanning
    def scan(self, log) -> ScanResult:
        chunks, _name = _open_source(log)
        res = self.result
        carry = b""
        continuing = 0  # >0: carry is the overlap tail of an over-long line already scanned (its length)
        line_base = 1  # line number of the first line in the buffer
        tail = b""
        tail_line = 1
        for block in _normalized(chunks, res):
            res.bytes_read += len(block)
            if self._prefilter is None:
                step = max(1, len(block) // 4)
                sample = b"".join(block[i : i + SAMPLE // 4] for i in range(0, len(block), step))[:SAMPLE]
                self._build_prefilter(sample)
            buf = carry + block if carry else block
            end = buf.rfind(b"\n") + 1
            if end == 0:  # no line ends in the whole buffer: part of a (very) long line
                if len(buf) > MAX_CARRY:
                    self._scan_region(buf, 0, len(buf), line_base, skip_before=continuing, partial=True)
                    keep = max(len(k) for k, _ in self._markers) + 64
                    carry, continuing = buf[-keep:], keep
                else:
                    carry = buf
                continue
            self._scan_region(buf, 0, end, line_base, skip_before=continuing)
            continuing = 0
            newlines = buf.count(b"\n", 0, end)
            # keep the end of the log for the last timestamp and tail errors
            seg_start = max(0, end - TAIL_BYTES)
            if seg_start > 0 or not tail:
                tail, tail_line = buf[seg_start:end], line_base + buf.count(b"\n", 0, seg_start)
            else:
                tail, tail_line = _append_tail(tail, tail_line, buf[:end])
            line_base += newlines
            carry = buf[end:]
            if len(carry) > MAX_CARRY:
                self._scan_region(carry, 0, len(carry), line_base, partial=True)
                keep = max(len(k) for k, _ in self._markers) + 64
                carry, continuing = carry[-keep:], keep
        if carry:
            if self._prefilter is None:
                self._build_prefilter(carry[:SAMPLE])
            self._scan_region(carry, 0, len(carry), line_base, skip_before=continuing)
            if not continuing:
                tail, tail_line = _append_tail(tail, tail_line, carry) if tail else (carry, line_base)
            line_base += 1
        res.lines = line_base - 1
        self._finish_tail(tail, tail_line)
        return res

    def _scan_region(
        self, buf: bytes, start: int, end: int, line_no: int, *, skip_before: int = 0, partial: bool = False
    ) -> None:
        search = self._prefilter.search  # type: ignore[union-attr]
        first_line = line_no
        pos = start
        counted_to = start
        count = buf.count
        while pos < end:
            m = search(buf, pos, end)
            if m is None:
                break
            s = m.start()
            if m.end() <= skip_before:
                pos = s + 1
                continue
            ls = buf.rfind(b"\n", max(start, s - MAX_LINE), s) + 1
            if ls == 0 and s - start > MAX_LINE:
                ls = -1
            if ls <= 0:
                ls = start if s - start <= MAX_LINE else -1
            le = buf.find(b"\n", s, min(end, s + MAX_LINE))
            too_long = ls < 0 or le < 0
            if le < 0:
                le = end if end - s <= MAX_LINE else -1
            if ls >= 0:
                line_no += count(b"\n", counted_to, ls)
                counted_to = ls
            else:
                line_no += count(b"\n", counted_to, s)
                counted_to = s
            if too_long or partial:
                self.result.truncated_lines += 1
                ws = max(start, s - WINDOW, ls if ls >= 0 else 0)
                we = min(end, s + WINDOW, le if le >= 0 else end)
                self._line(buf[ws:we], line_no)
                pos = max(we, m.end())
            else:
                self._line(buf[ls:le], line_no)
                pos = le + 1
        if self.slow:
            self._scan_slow(buf[start:end], first_line)

    def _scan_slow(self, region: bytes, line_no: int) -> None:
        # Patterns without a usable literal (user rules): every line is tried. Correct, but slow.
        for raw in region.split(b"\n"):
            if raw:
                text = raw[:MAX_LINE].decode("utf-8", "replace").rstrip("\r")
                for p in self.slow:
                    if p.regex.search(text):
                        self._record(p.rule_id, line_no, text)
            line_no += 1

    # ------------------------------------------------------------------------------------------- per line
    def _line(self, raw: bytes, line_no: int) -> None:
        text = raw.decode("utf-8", "replace").rstrip("\r")
        res = self.result
        lowered: bytes | None = None
        if text.startswith("[") and " PACKER" in text[:60]:
            res.packer_lines += 1
            if res.operation_id is None:
                m = _OPID.match(text)
                if m:
                    res.operation_id = m.group(1)
        for kw, kind in self._markers:
            if kw in raw:
                self._marker(kind, text, line_no)
        matched: set[str] = set()
        for sub, ci, p in self._checks:
            if p.rule_id in matched:
                continue
            if ci:
                if lowered is None:
                    lowered = raw.lower()
                if sub not in lowered:
                    continue
            elif sub not in raw:
                continue
            if p.regex.search(text):
                matched.add(p.rule_id)
                self._record(p.rule_id, line_no, text)

    def _record(self, rule_id: str, line_no: int, text: str) -> None:
        hits = self.result.hits.get(rule_id)
        if hits is None:
            hits = self.result.hits[rule_id] = RuleHits()
        step = self._current.position if self._current else None
        hits.add(Hit(rule_id, line_no, text[:EVIDENCE_CHARS], step, self.result.phase))

    def _marker(self, kind: str, text: str, line_no: int) -> None:
        res = self.result
        ts = _parse_time(text) if kind in ("start", "end", "failure", "finalize") else None
        if ts:
            res.first_time = res.first_time or ts
            res.last_time = ts
        if kind == "start":
            m = _START.search(text)
            if m:
                res.steps_started += 1
                step = Step(m.group(1), res.steps_started, line_no, ts)
                res.steps.append(step)
                if len(res.steps) > 2 * MAX_STEPS:  # bounded memory on pathological logs: keep the latest
                    del res.steps[:MAX_STEPS]
                self._current = step
                res.phase = "customize"
        elif kind == "end":
            m = _END.search(text)
            cur = self._current
            if m and cur is not None and cur.name == m.group(1):
                cur.end_line, cur.end_time = line_no, ts
                self._current = None
            elif m:  # an ending without its start in this stream: close the latest open step of that name
                for step in reversed(res.steps):
                    if step.name == m.group(1) and not step.ended:
                        step.end_line, step.end_time = line_no, ts
                        break
        elif kind == "exit":
            m = _EXIT.search(text)
            if m:
                code = int(next(g for g in m.groups() if g is not None))
                cur = self._current or (res.steps[-1] if res.steps else None)
                if cur is not None and cur.exit_code in (None, 0):  # keep the first non-zero code (decisive)
                    cur.exit_code, cur.exit_line, cur.exit_text = code, line_no, text[:EVIDENCE_CHARS]
        elif kind == "found-error":
            cur = self._current or (res.steps[-1] if res.steps else None)
            if cur is not None and cur.error_line is None:
                cur.error_line, cur.error_text = line_no, text[:EVIDENCE_CHARS]
        elif kind == "failure":
            if len(res.failure_lines) < 20:
                res.failure_lines.append(
                    Hit(
                        "packer-failure",
                        line_no,
                        text[:EVIDENCE_CHARS],
                        self._current.position if self._current else None,
                        res.phase,
                    )
                )
        elif kind == "success":
            res.success = True
        elif kind == "exported":
            res.exported = True
        elif kind == "finalize":
            res.finalized = True
            if res.phase != "cleanup":
                res.phase = "deprovision" if res.phase == "deprovision" else res.phase
        elif kind == "deprovision":
            if self._current is not None:
                self._current.deprovision = True
                res.phase = "deprovision"
        elif kind in ("deploy", "connect", "cleanup"):
            if kind == "cleanup" or res.phase in ("unknown", "deploy", "connect"):
                res.phase = kind
        elif kind == "distribute":
            if res.phase != "cleanup":
                res.phase = "distribute"
        elif kind == "connected" and res.phase in ("unknown", "deploy", "connect"):
            res.phase = "connect"

    def _finish_tail(self, tail: bytes, tail_line: int) -> None:
        res = self.result
        if not tail:
            return
        lines = tail.split(b"\n")
        found: list[Hit] = []
        ts_found = False
        for i in range(len(lines) - 1, -1, -1):
            raw = lines[i]
            if not raw.strip():
                continue
            text = raw[:MAX_LINE].decode("utf-8", "replace").rstrip("\r")
            if not ts_found:
                ts = _parse_time(text)
                if ts:
                    ts_found = True
                    if res.last_time is None or ts > res.last_time:
                        res.last_time = ts
            if len(found) < 30 and _ERRORISH.search(text) and not _NOT_ERRORISH.search(text):
                found.append(Hit("error-line", tail_line + i, text[:EVIDENCE_CHARS], None, res.phase))
        res.tail_errors = list(reversed(found))


def scan(log, kb: KnowledgeBase, *, text_mode: bool = False, source: str = "log") -> ScanResult:
    """Scan ``log`` (path, binary file object, bytes or iterable of byte chunks) against ``kb``."""
    return Scanner(kb, text_mode=text_mode, source=source).scan(log)


MAX_WHOLE_TEXT = 1 << 20


def scan_text(text: str, kb: KnowledgeBase, *, source: str = "message") -> ScanResult:
    """Scan a message or pasted error output (all patterns apply).

    Message patterns may span lines (a pasted JSON error puts code and details on separate lines), so on
    texts up to MAX_WHOLE_TEXT they are also matched against the whole text.
    """
    scanner = Scanner(kb, text_mode=True, source=source)
    result = scanner.scan(io.BytesIO(text.encode("utf-8", "replace")))
    if len(text) <= MAX_WHOLE_TEXT:
        normalized = text.replace("\r\n", "\n").replace("\x00", "")
        for rule in kb:
            if rule.id in result.hits:
                continue
            for p in rule.message_patterns:
                m = p.regex.search(normalized)
                if m:
                    line = normalized.count("\n", 0, m.start()) + 1
                    snippet = normalized[m.start() : m.start() + EVIDENCE_CHARS].split("\n")[0]
                    whole = normalized.split("\n")[line - 1] if snippet else snippet
                    scanner._record(rule.id, line, whole or snippet)
                    break
    return result


def sniff_is_log(head: bytes) -> bool:
    """True when ``head`` (the first bytes of an input) looks like a customization.log."""
    text = head[:65536].decode("utf-8", "replace")
    if text.startswith("\ufeff") or "\x00" in text:
        text = head[:65536].replace(b"\x00", b"").decode("utf-8", "replace")
    return bool(re.search(r"PACKER (?:OUT|ERR)|\(telemetry\)|azure-arm: |Packer logs", text))


_ = BinaryIO  # re-exported type for callers' annotations
