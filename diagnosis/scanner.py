"""Streaming scanner for customization.log (and any pasted error text).

The log is read in blocks of ``CHUNK`` bytes and never held whole. What to look for — the line markers
(``diagnosis.scan.markers``) and every built-in knowledge-base pattern — is one table (rules files' entries get a
second, scanned in the same pass); a backend finds which entries
match on which lines and ``diagnosis.scan.core`` records them (line numbers, bounded evidence, steps, phases):

* ``hyperscan`` (default when the ``hyperscan`` package is installed): the whole table in one streaming
  automaton; time linear in the log's size whatever its lines look like;
* ``stdlib``: a keyword prefilter and ``re`` per candidate line, for installs with nothing but Python.

Both give the same results. ``DIAGNOSIS_SCAN_BACKEND=hyperscan|stdlib`` picks one (default: the first
available). Patterns are matched on each line's UTF-8 bytes (ASCII classes, byte counts).

Lenient input: UTF-8 with replacement, UTF-16 with BOM (or recognisable without), CRLF, NUL bytes, and lines
of any length (over-long lines are matched on a window around the match, and their evidence is cut).
"""

from __future__ import annotations

import logging
import os
import re
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass

from diagnosis.failure_text import (
    BASH_KILLED,
    CORE_DUMPED,
    COUNT_KEY_ALONE,
    ENDED_FAILED,
    GO_PANIC,
    LOCALIZED_ERROR_WORD,
    LOCALIZED_SYSTEM_ERROR,
    MAKE_FATAL,
    NO_ERROR_WORD_FAILURE,
    NO_FAILURE_COUNT,
    NOT_A_SETTING,
    NOT_REBOOT,
    PARTIAL_RUN,
    RUST_PANIC,
    ZERO_ALONE,
    failure_sentences,
)
from diagnosis.literals import AnyOf
from diagnosis.rules import KnowledgeBase, Pattern
from diagnosis.scan import hs_backend
from diagnosis.scan.core import MAX_CARRY, MAX_LINE, TAIL_BYTES, WINDOW, Backend, Recorder, build_table, drive
from diagnosis.scan.hs_literals import LiteralSet
from diagnosis.scan.markers import MARKERS
from diagnosis.scan.model import EVIDENCE_CHARS, FIRST_HITS, LAST_HITS, MAX_STEPS, Hit, RuleHits, ScanResult, Step
from diagnosis.scan.source import CHUNK, Encoding, normalized, open_source
from diagnosis.scan.stdlib_backend import StdlibBackend
from diagnosis.times import find_time

__all__ = [
    "BACKEND_ENV",
    "CHUNK",
    "EVIDENCE_CHARS",
    "FIRST_HITS",
    "LAST_HITS",
    "MAX_CARRY",
    "MAX_LINE",
    "MAX_STEPS",
    "TAIL_BYTES",
    "WINDOW",
    "Hit",
    "RuleHits",
    "ScanResult",
    "Step",
    "backend_name",
    "scan",
    "scan_text",
    "sniff_is_log",
]

log = logging.getLogger(__name__)
BACKEND_ENV = "DIAGNOSIS_SCAN_BACKEND"
BACKENDS = ("hyperscan", "stdlib")
MAX_TAIL_ERRORS = 30

_ERRORISH = AnyOf(
    [
        r"\b(?:error(?:ed)?|failed|failure|fatal|exception|denied|unable to|cannot|could not|"
        r"(?<!-)timed? ?out" + NOT_A_SETTING + "|"  # not a command's flag ("go test -timeout 120m")
        r"couldn't|can't|unsuccessful|(?:doesn't|does not|no longer) exists?|not available (?:in|for)|"
        r"(?:do|does|did) not match|"
        r"not found|invalid|forbidden|no such file|permission denied|not allowed|not permitted|read-only file system|"
        r"unauthorized|bad request|missing|"
        r"code[\"']?[ \t]*[:=][ \t]*[\"']?[a-z]+|badrequest|is not recognized as|"  # ARM code (Code: Conflict)
        r"status(?: ?code)?[\"']?[ \t]*[:=][ \t]*[\"']?[45]\d\d|"  # an HTTP status (StatusCode: 409)
        + LOCALIZED_ERROR_WORD
        + r"(?=\s?[:：]))\b",  # "Fehler:", "Ошибка:", "错误："
        # Pester: a failed test ("[-] name 1.43s") and its assertion ("Expected 'a' to ..., but it did match.")
        r"(?:^|\s)\[-\] \S",
        r"\bExpected\b[^\n]{1,300}, but\b",
        r"\bTraceback \(most recent call last\)",  # CPython's report of an exception nothing handled
        r"(?-i:[A-Za-z0-9](?:Error|Exception): \S)",  # its last line: <module.>NameError: <message>
        r"(?-i:\bFAIL\b)",  # go test's "--- FAIL:" and "FAIL <package>", a CI table's failed row
        r"\bnon-zero (?:exit )?(?:code|status)\b",
        r"\bexited with (?:code|status):? ?" + NOT_REBOOT + r"-?[1-9]",
        r"\b" + PARTIAL_RUN + r"\b",
        MAKE_FATAL,
        ENDED_FAILED,  # a deployment that ended Failed or Canceled
        RUST_PANIC,
        GO_PANIC,
        LOCALIZED_SYSTEM_ERROR,
        BASH_KILLED,
        CORE_DUMPED,
        NO_ERROR_WORD_FAILURE,
        # sh/bash on an unset variable (set -u), a sudo binary that is not setuid root: their texts have no error word
        # (sudo asking for a password without a terminal is left out: a prompt as much as an error)
        r"\bparameter not set\b|\bunbound variable\b|\bmust be owned by uid 0\b",
        # a command refusing its own command line (getopt "unrecognized option '--x'", "option '--x' doesn't allow an
        # argument", "invalid option -- 'x'", OCaml's "unknown option", Python argparse's "the following arguments are
        # required: x" and "unrecognized arguments: x") or input (Packer's "unknown builder type")
        r"\b(?:unrecognized|unknown) option\b|\bthe following arguments are required: \S|\bunrecognized arguments: \S",
        r"\boption '[^'\n]{1,60}' (?:doesn't allow|requires) an argument\b|\binvalid option -- '",
        r"\bunknown (?:builder|provisioner|post-processor|source) type\b",
    ],
    re.IGNORECASE,
)


# lines that look like errors but report none; a line whose only error words are counts of none (``NO_FAILURE_COUNT``:
# Ansible's PLAY RECAP "failed=0", test runners' summaries) reports none either
_NOT_ERRORISH = re.compile(
    r"bytes written for 'std|Communicator ended with: 0|exited with code: 0\b"
    # a VM instance view's status codes, a run command's output streams
    r"|\"code\": \"(?:ProvisioningState/succeeded|PowerState/\w{1,20}|ComponentStatus/\w{1,20}/succeeded)\""
    r"|\bTotal +Copied +Skipped +Mismatch +FAILED +Extras\b"  # robocopy's summary header
    r"|Installation success or error status: 0\."  # Windows Installer's event text of a successful install
    # Ansible's banners (lib/ansible/plugins/callback/default.py: a task's, a play's or a handler's name, then at
    # least three stars): the name is the author's words
    r"|(?:^|[\s:])(?:TASK|PLAY|RUNNING HANDLER) \[[^\]\n]{0,300}\] \*{3}"
)


def backend_name() -> str:
    """The backend scans use: ``DIAGNOSIS_SCAN_BACKEND`` if set (and available), else the fastest available."""
    wanted = os.environ.get(BACKEND_ENV, "").strip().lower()
    if wanted == "stdlib":
        return "stdlib"
    if wanted and wanted not in BACKENDS:
        log.warning("%s=%r is not one of %s; choosing automatically", BACKEND_ENV, wanted, ", ".join(BACKENDS))
    if hs_backend.available():
        return "hyperscan"
    if wanted == "hyperscan":
        log.warning("%s=hyperscan but the hyperscan package is not installed; using stdlib", BACKEND_ENV)
    return "stdlib"


def scan(log, kb: KnowledgeBase, *, text_mode: bool = False, source: str = "log") -> ScanResult:
    """Scan ``log`` (path, binary file object, bytes or iterable of byte chunks) against ``kb``."""
    return _scan(log, kb, text_mode=text_mode, source=source)[0]


def _scan(log, kb: KnowledgeBase, *, text_mode: bool, source: str) -> tuple[ScanResult, Recorder]:
    """One pass over the log. With entries from rules files, the built-in table and the files' own table (the
    markers and their patterns) scan it side by side, so a rules file never changes the built-in automaton; the
    files' hits replace those of the built-in entries they override."""
    result = ScanResult(source=source)
    recorder, backend = _backend(kb.builtin or kb, text_mode, result)
    users, user_recorder = kb.users, None
    if users is not None:
        user_recorder, user_backend = _backend(users, text_mode, ScanResult(source=source))
        counted: set[int] = set()  # a line both tables hit counts once in the result's line counts
        recorder.shared_counted = user_recorder.shared_counted = counted
        recorder.overridden = frozenset(users.rules)
        user_recorder.tally = result
        backend = _Both(backend, user_backend, counted)
    chunks, _name = open_source(log)
    seen = Encoding()
    tail, tail_line = drive(normalized(chunks, seen), result, backend)
    result.encoding = seen.name
    recorder.finish()
    if users is not None and user_recorder is not None:
        user_recorder.finish()
        _merge_hits(result, user_recorder.result, kb)
    _finish_tail(result, tail, tail_line)
    result.mask_secret_lines()
    return result, recorder


def _backend(kb: KnowledgeBase, text_mode: bool, result: ScanResult) -> tuple[Recorder, Backend]:
    table = build_table(kb, text_mode)
    recorder = Recorder(result, table)
    if backend_name() == "hyperscan":
        return recorder, hs_backend.HyperscanBackend(table, recorder)
    return recorder, StdlibBackend(table, recorder)


class _Both:
    """Two backends fed the same blocks in turn (``core.Backend``); ``counted``: the lines their recorders counted,
    kept for the lines a block may still give them (an over-long line continues in the next)."""

    def __init__(self, first: Backend, second: Backend, counted: set[int]) -> None:
        self.backends = (first, second)
        self.counted = counted

    def feed(self, block: bytes) -> None:
        for backend in self.backends:
            backend.feed(block)

    def end(self) -> None:
        for backend in self.backends:
            backend.end()

    def lines(self, buf: bytes, offset: int, end: int, line_no: int, partial: bool) -> None:
        self.counted.difference_update([n for n in self.counted if n < line_no])
        for backend in self.backends:
            backend.lines(buf, offset, end, line_no, partial)


def _merge_hits(result: ScanResult, users: ScanResult, kb: KnowledgeBase) -> None:
    """The rules files' hits into ``result`` (the built-in table's recorder skipped the entries they override, which
    decide by the files' patterns only), in the order one table of all entries records them: by their first line,
    and on one line in the knowledge base's order (where an overriding entry keeps the built-in one's place)."""
    merged = {**result.hits, **users.hits}
    order = kb.cache.get("rule-order")
    if order is None:
        order = kb.cache["rule-order"] = {rule_id: i for i, rule_id in enumerate(kb.rules)}
    result.hits = dict(
        sorted(
            merged.items(),
            key=lambda item: (item[1].first[0].line if item[1].first else 0, order.get(item[0], len(order))),
        )
    )


def _finish_tail(res: ScanResult, tail: bytes, tail_line: int) -> None:
    """The last timestamp and the last error-looking lines, from the end of the log."""
    if not tail:
        return
    text = tail.decode("utf-8", "replace")
    lines = text.split("\n")
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].strip():
            ts = find_time(lines[i][:MAX_LINE])
            if ts:
                if res.last_time is None or ts > res.last_time:
                    res.last_time = ts
                break
    found: list[Hit] = []
    for i in range(len(lines) - 1, -1, -1):  # from the end: the last error-looking lines
        line = lines[i].rstrip("\r")
        if not _ERRORISH.search(line) or _NOT_ERRORISH.search(line):
            continue
        if COUNT_KEY_ALONE.match(line) and i + 1 < len(lines) and ZERO_ALONE.match(lines[i + 1]):
            continue  # a count of none whose value is on the next line
        cleared = NO_FAILURE_COUNT.sub(" ", line)  # the line's counts of no failures, which report none
        if cleared == line or _ERRORISH.search(cleared):
            found.append(Hit("error-line", tail_line + i, line[:EVIDENCE_CHARS], None, res.phase))
            if len(found) == MAX_TAIL_ERRORS:
                break
    res.tail_errors = list(reversed(found))
    res.failure_sentences = [
        Hit("failure-sentence", tail_line + i, said[:EVIDENCE_CHARS], None, res.phase)
        for i, said in failure_sentences(text)
    ]


MAX_WHOLE_TEXT = 1 << 20
MAX_JOINED_TEXT = 1 << 16  # texts up to this size are also matched with their lines joined (wrapped messages)


def scan_text(text: str, kb: KnowledgeBase, *, source: str = "message") -> ScanResult:
    """Scan a message or pasted error output (all patterns apply).

    Message patterns may span lines (a pasted JSON error puts code and details on separate lines), so on
    texts up to MAX_WHOLE_TEXT they are also matched against the whole text.
    """
    data = text.encode("utf-8", "replace")
    result, recorder = _scan(data, kb, text_mode=True, source=source)
    if len(data) > MAX_WHOLE_TEXT:
        return result
    whole = data.replace(b"\r\n", b"\n").replace(b"\x00", b"")
    lines = whole.split(b"\n")
    # a wrapped message is short; joining a long paste would only double the time of this pass
    joined, starts = _joined_lines(lines) if len(lines) > 1 and len(whole) <= MAX_JOINED_TEXT else (b"", [])
    step = recorder.steps.current.position if recorder.steps.current else None
    index = _message_index(kb)
    candidates = index.candidates(whole, joined)
    decided = set(result.hits)
    for ordinal in sorted(candidates):
        rule_id, p = index.patterns[ordinal]
        if rule_id in decided:
            continue
        m = p.bregex.search(whole)
        if m:
            line = whole.count(b"\n", 0, m.start()) + 1
        else:  # a message wrapped by a console or an issue tracker: the lines joined with one space
            m = p.bregex.search(joined) if joined else None
            if not m:
                continue
            line = bisect_right(starts, m.start())
        evidence = lines[line - 1].decode("utf-8", "replace")[:EVIDENCE_CHARS]
        hit = Hit(rule_id, line, evidence, step, result.phase)
        result.hits[rule_id] = RuleHits(count=1, first=[hit], last=deque([hit], maxlen=LAST_HITS))
        decided.add(rule_id)
    result.mask_secret_lines()
    return result


@dataclass
class _MessageIndex:
    """The knowledge base's message patterns in rule order, and which of them each keyword admits (built once).

    Every match of a pattern holds one of its keywords, so only the patterns of keywords present in a text are
    tried, in rule order; a pattern without keywords is always tried."""

    patterns: list[tuple[str, Pattern]]
    exact: dict[bytes, list[int]]  # keyword -> ordinals of the patterns it admits
    folded: dict[bytes, list[int]]  # the same for case-insensitive patterns (lower-case keywords)
    always: list[int]
    # every keyword in one automaton (hyperscan backend), and the ordinals each admits by its index there
    literals: tuple[LiteralSet, list[list[int]]] | None = None

    def candidates(self, whole: bytes, joined: bytes) -> set[int]:
        found = set(self.always)
        if backend_name() == "hyperscan":
            if self.literals is None:
                keys = [(k, False) for k in self.exact] + [(k, True) for k in self.folded]
                self.literals = (LiteralSet.of(keys), [*self.exact.values(), *self.folded.values()])
            automaton, admitted = self.literals
            for i in automaton.present((whole, joined)):
                found.update(admitted[i])
            return found
        for keywords, texts in ((self.exact, (whole, joined)), (self.folded, (whole.lower(), joined.lower()))):
            for k, ordinals in keywords.items():
                if k in texts[0] or k in texts[1]:
                    found.update(ordinals)
        return found


def _message_index(kb: KnowledgeBase) -> _MessageIndex:
    cached = kb.cache.get("message-index")
    if cached is None:
        index = _MessageIndex([], {}, {}, [])
        for rule in kb:
            for p in rule.message_patterns:
                if p.bregex is None:
                    continue
                ordinal = len(index.patterns)
                index.patterns.append((rule.id, p))
                if not p.keywords:
                    index.always.append(ordinal)
                for k in p.keywords:
                    (index.folded if p.ignore_case else index.exact).setdefault(k, []).append(ordinal)
        cached = kb.cache["message-index"] = index
    return cached


def _joined_lines(lines: list[bytes]) -> tuple[bytes, list[int]]:
    """The lines stripped of the indentation around each break and joined with one space, and where each starts."""
    starts: list[int] = []
    pos = 0
    parts = []
    for raw in lines:
        part = raw.strip(b" \t")
        starts.append(pos)
        parts.append(part)
        pos += len(part) + 1
    return b" ".join(parts), starts


_LOG_SHAPE = re.compile(rb"PACKER (?:OUT|ERR)|\(telemetry\)|azure-arm: |Packer logs")


def sniff_is_log(head: bytes) -> bool:
    """True when ``head`` (the first bytes of an input) looks like a customization.log (UTF-16 read byte-wise)."""
    return bool(_LOG_SHAPE.search(head[:65536].replace(b"\x00", b"")))


# a line Packer or its log printed: the log shapes, a Go log timestamp, Packer's UI prefixes
_LOG_LINE = re.compile(
    _LOG_SHAPE.pattern
    + rb"|^\s{0,4}(?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d |==> |--> |[\w.-]{1,80}: |\[[0-9a-fA-F-]{36}\] )"
)
_PREAMBLE_LINES = 20  # a run's status message, or a few words above the excerpt
_MARKER = {m.kind: re.compile(m.pattern.encode()) for m in MARKERS if m.kind in ("success", "failure")}


def split_log_preamble(pasted: bytes) -> tuple[str, bytes]:
    """A pasted log's leading lines that are not log lines (a run's status message above a customization.log
    excerpt) and the log from its first log line on; the preamble is empty when the paste starts with a log line,
    its leading lines are too many to be a message, or the log shows a build that finished (a failed run's status
    message comes with no such log: the leading lines are a reporter's words)."""
    start = 0
    for count, line in enumerate(pasted.splitlines(keepends=True)):
        if count >= _PREAMBLE_LINES:
            return "", pasted
        if _LOG_LINE.search(line):
            log = pasted[start:]
            if _MARKER["success"].search(log) and not _MARKER["failure"].search(log):
                return "", pasted
            return pasted[:start].decode("utf-8", "replace"), log
        start += len(line)
    return "", pasted
