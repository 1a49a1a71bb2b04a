"""What both scanning backends share: the table of what to look for, the per-line recording, the chunk loop.

A backend only answers "which table entries match on which line"; everything else — line numbers, evidence,
steps, phases, the tail — is done here the same way for both, so they give identical results.

The table lists the line markers first (``markers.MARKERS``), then every knowledge-base pattern that applies.
A table entry matches a line when its regex (compiled on bytes) finds a match inside the line's bytes (for an
over-long line: inside a window of it around the match).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from diagnosis.literals import required_literals
from diagnosis.logline import parse_line
from diagnosis.scan.markers import MARKERS, StepTracker
from diagnosis.scan.model import EVIDENCE_CHARS, FIRST_HITS, LAST_HITS, Hit, RuleHits, ScanResult

if TYPE_CHECKING:
    from diagnosis.rules import KnowledgeBase

MAX_LINE = 16 << 10  # lines longer than this are matched on a window around the match
WINDOW = 2048  # bytes either side of a match on an over-long line
MAX_CARRY = 1 << 20  # an unfinished line is scanned and dropped once it is longer than this
HEAD_BYTES = 64 << 10  # the start of the log searched for the operation id
TAIL_BYTES = 256 << 10  # the end of the log, kept for the last timestamp and the "most telling" error lines
# a line in packer's shape: "[" at its start and " PACKER" within its first 60 bytes ("[<operation id>] PACKER")
PACKER_HEAD = re.compile(rb"\[.{0,52} PACKER")
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class Entry:
    """One thing to look for: a marker (``kind``) or a knowledge-base pattern (``rule_id``)."""

    source: str
    regex: re.Pattern[bytes]
    keywords: tuple[bytes, ...]  # one of these occurs in every match (lower-case when ignore_case); may be empty
    ignore_case: bool = False
    kind: str | None = None
    rule_id: str | None = None


@dataclass
class Table:
    entries: list[Entry]
    text_mode: bool
    derived: dict[str, Any] = field(default_factory=dict)  # what a backend builds from the table, built once

    @property
    def sources(self) -> list[str]:
        return [e.source for e in self.entries]


def build_table(kb: KnowledgeBase, text_mode: bool) -> Table:
    """The markers and the knowledge base's patterns, cached on ``kb`` per mode."""
    key = ("scan-table", text_mode)
    cached = kb.cache.get(key)
    if cached is not None:
        return cached
    entries: list[Entry] = []
    for m in MARKERS:
        lits = required_literals(m.pattern) or []
        entries.append(Entry(m.pattern, re.compile(m.pattern.encode()), tuple(k.encode() for k in lits), kind=m.kind))
    for p in kb.patterns(log=True, message=text_mode):
        assert p.bregex is not None
        entries.append(Entry(p.source, p.bregex, p.keywords, p.ignore_case, rule_id=p.rule_id))
    table = kb.cache[key] = Table(entries, text_mode)
    return table


@dataclass(eq=False)
class RuleTracker:
    """The hits of one rule: a count and bounded evidence (first few, last few)."""

    count: int = 0
    last_line: int = 0
    first: list[Hit] = field(default_factory=list)
    # (line, raw bytes, step, phase); the Hyperscan backend puts (start, end) in the buffer for raw bytes
    # (``pending``) and calls ``settle`` before the buffer goes
    last: deque = field(default_factory=lambda: deque(maxlen=LAST_HITS))
    pending: bool = False

    def settle(self, buf: bytes) -> None:
        """Replace (start, end) positions in ``buf`` by the bytes of those lines."""
        for i, (line_no, raw, position, phase) in enumerate(self.last):
            if isinstance(raw, tuple):
                self.last[i] = (line_no, buf[raw[0] : min(raw[1], raw[0] + EVIDENCE_CHARS * 4)], position, phase)
        self.pending = False


def _entry_index(table: Table) -> tuple[list[str | None], list[str], dict[str, list[int]]]:
    kinds: list[str | None] = [e.kind for e in table.entries]
    rule_ids: list[str] = [e.rule_id or "" for e in table.entries]
    indices_of: dict[str, list[int]] = {}
    for i, e in enumerate(table.entries):
        if e.rule_id is not None:
            indices_of.setdefault(e.rule_id, []).append(i)
    table.derived["recorder"] = (kinds, rule_ids, indices_of)
    return kinds, rule_ids, indices_of


def _text(raw: bytes) -> str:
    return raw[: EVIDENCE_CHARS * 4].decode("utf-8", "replace").rstrip("\r")[:EVIDENCE_CHARS]


class Recorder:
    """Records matched lines into a ``ScanResult``; a rule counts once per line."""

    def __init__(self, result: ScanResult, table: Table) -> None:
        self.result = result
        # per table entry: its marker kind and its rule id; per rule: its entries (read only, built once per table)
        self.kinds, self.rule_ids, self.indices_of = table.derived.get("recorder") or _entry_index(table)
        # table index -> tracker of its rule, once the rule has all its first hits (only count and last change)
        self.full: dict[int, RuleTracker] = {}
        self.steps = StepTracker(result)
        self.trackers: dict[str, RuleTracker] = {}
        self.counted_line = 0  # the last line counted in truncated_lines / packer_lines
        # the result those counts go to, and the lines already counted there when a second table's recorder
        # (a rules file's, ``diagnosis.scanner``) records the same lines into it
        self.tally = result
        self.shared_counted: set[int] | None = None
        self.overridden: frozenset[str] = frozenset()  # entries a rules file replaces: its own table records them
        self.marked_line = 0  # the last line a marker applied on, and the kinds applied there: a marker applies
        self.marked_kinds: set[str] = set()  # once per line, however many windows of an over-long line match it

    def line(self, raw: bytes, line_no: int, found: list[int], truncated: bool = False) -> None:
        """``found``: indices (ascending) of the table entries matching this line's bytes ``raw`` (for an
        over-long line, ``truncated``: a window of it around the first match)."""
        res = self.result
        text: str | None = None
        kinds, rule_ids, trackers = self.kinds, self.rule_ids, self.trackers
        steps = self.steps
        applied = False
        for i in found:
            kind = kinds[i]
            if kind is not None:
                if kind == "exit-zero" and not steps.needs_zero_exit():
                    continue
                if line_no != self.marked_line:
                    self.marked_line, self.marked_kinds = line_no, set()
                elif kind in self.marked_kinds:
                    continue
                self.marked_kinds.add(kind)
                if text is None:
                    text = raw.decode("utf-8", "replace").rstrip("\r")
                steps.apply(kind, text, line_no)
                applied = True
                continue
            rule_id = rule_ids[i]
            if rule_id in self.overridden:
                continue
            tracker = trackers.get(rule_id)
            if tracker is None:
                tracker = trackers[rule_id] = RuleTracker()
            elif tracker.last_line == line_no:
                continue
            applied = True
            tracker.count += 1
            tracker.last_line = line_no
            current = steps.current
            position = current.position if current is not None else None
            if len(tracker.first) < FIRST_HITS:
                tracker.first.append(Hit(rule_id, line_no, _text(raw), position, res.phase))
                if len(tracker.first) == FIRST_HITS:
                    for index in self.indices_of[rule_id]:
                        self.full[index] = tracker
            else:
                tracker.last.append((line_no, raw[: EVIDENCE_CHARS * 4], position, res.phase))
        if applied:
            self.count_line(raw[:60], line_no, truncated)

    def count_line(self, head: bytes, line_no: int, truncated: bool) -> None:
        """Counts a recorded line once: over-long (``truncated``), in packer's shape (``head``: its start)."""
        if self.shared_counted is not None:
            if line_no in self.shared_counted:
                return
            self.shared_counted.add(line_no)
        elif line_no == self.counted_line:
            return
        self.counted_line = line_no
        res = self.tally
        if truncated:
            res.truncated_lines += 1
        if PACKER_HEAD.match(head):
            res.packer_lines += 1
            if res.operation_id is None:
                self.read_operation_id(head)

    def read_operation_id(self, head: bytes) -> None:
        op = parse_line(head.decode("utf-8", "replace")).operation_id
        if op and _GUID.fullmatch(op):
            self.tally.operation_id = op

    def finish(self) -> None:
        hits = self.result.hits
        for rule_id, tracker in self.trackers.items():
            rh = RuleHits(count=tracker.count, first=list(tracker.first))
            for h in tracker.first[-LAST_HITS:]:
                rh.last.append(h)
            for line_no, raw, position, phase in tracker.last:
                rh.last.append(Hit(rule_id, line_no, _text(raw), position, phase))
            hits[rule_id] = rh


class Backend(Protocol):
    def feed(self, block: bytes) -> None:
        """Called with the log's bytes, in order, before their lines are asked for. Each piece ends with a line
        feed (but the piece of an over-long line, and the log's end): a streaming automaton whose acceleration can
        miss a match split across two writes then never has a match split (every match lies within a line)."""

    def end(self) -> None:
        """Called after the last block."""

    def lines(self, buf: bytes, offset: int, end: int, line_no: int, partial: bool) -> None:
        """Record the matching lines of ``buf[:end]`` (``offset``: stream position of ``buf[0]``; ``line_no``:
        number of its first line). ``partial``: ``buf[:end]`` is part of a line longer than ``MAX_CARRY``."""


def line_bounds(buf: bytes, pos: int, start: int, end: int) -> tuple[int, int, bool]:
    """Start and end of the line around ``pos`` within ``buf[start:end]``, cut to a window when too long."""
    ls = buf.rfind(b"\n", max(start, pos - MAX_LINE), pos) + 1
    if ls == 0:
        ls = start if pos - start <= MAX_LINE else -1
    le = buf.find(b"\n", pos, min(end, pos + MAX_LINE))
    if le < 0:
        le = end if end - pos <= MAX_LINE else -1
    if ls >= 0 and le >= 0:
        return ls, le, False
    ws = max(start, pos - WINDOW, ls)
    we = min(end, pos + WINDOW) if le < 0 else le
    return ws, we, True


def evidence_window(buf: bytes, ls: int, le: int, pos: int) -> bytes:
    """The part of an over-long line shown as evidence: up to 300 bytes before a match's end, 100 after."""
    return buf[max(ls, pos - 299) : min(le, pos + 101)]


def drive(blocks: Iterator[bytes], result: ScanResult, backend: Backend) -> tuple[bytes, int]:
    """Feed ``blocks`` through ``backend`` line by line; returns the end of the log and its first line number."""
    carry = b""
    offset = 0  # stream position of carry[0]
    fed = 0  # stream position up to which bytes went to backend.feed
    line_base = 1  # line number of the first line in carry + block
    tail = b""  # the last TAIL_BYTES of complete lines
    head: list[bytes] | None = []  # the start of the log, for the operation id (None once read)
    head_size = 0
    for block in blocks:
        result.bytes_read += len(block)
        buf = carry + block if carry else block
        if head is not None:
            head.append(block[:HEAD_BYTES])
            head_size += len(head[-1])
            if head_size >= HEAD_BYTES:
                _first_operation_id(b"".join(head), result)
                head = None
        end = buf.rfind(b"\n") + 1
        if end:
            backend.feed(buf[fed - offset : end])
            fed = offset + end
            backend.lines(buf, offset, end, line_base, False)
            tail = buf[end - TAIL_BYTES : end] if end >= TAIL_BYTES else (tail + buf[:end])[-TAIL_BYTES:]
            line_base += buf.count(b"\n", 0, end)
        carry = buf[end:]
        offset += end
        if len(carry) > MAX_CARRY:  # an over-long unfinished line: scan what there is, keep a window of it
            backend.feed(carry[fed - offset :])
            fed = offset + len(carry)
            backend.lines(carry, offset, len(carry), line_base, True)
            keep = len(carry) - WINDOW
            carry = carry[keep:]
            offset += keep
            tail = b""
    if head is not None:
        _first_operation_id(b"".join(head), result)
    if carry:
        backend.feed(carry[fed - offset :])
    backend.end()
    if carry:
        backend.lines(carry, offset, len(carry), line_base, False)
        tail = (tail + carry)[-TAIL_BYTES:]
        line_base += 1
    result.lines = line_base - 1
    pieces = tail.count(b"\n") + (0 if tail.endswith(b"\n") else 1)
    return tail, result.lines - pieces + 1


def _first_operation_id(buf: bytes, result: ScanResult) -> None:
    """Image Builder's operation id from the first prefixed line near the start of the log (it wins over one
    read from a matched line)."""
    head = buf[:HEAD_BYTES]
    pos = head.find(b"] PACKER")
    if 0 < pos < len(head):
        ls = head.rfind(b"\n", 0, pos) + 1
        op = parse_line(head[ls : pos + 8].decode("utf-8", "replace")).operation_id
        if op and _GUID.fullmatch(op):
            result.operation_id = op
