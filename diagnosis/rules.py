"""The knowledge base: failure causes as data (JSON files), loaded and validated into ``Rule`` objects.

Built-in entries live in ``diagnosis/knowledge/*.json``. Users add their own files (``--rules FILE`` or the
``DIAGNOSIS_RULES`` setting, several paths separated by ``os.pathsep``); an entry whose ``id`` equals a
built-in one replaces it. Every file is validated on load and problems raise ``KnowledgeBaseError`` naming
the file, the entry (index and id), the field and what is wrong. Every pattern must match in linear time
(``diagnosis.linear``: RE2 syntax, no nested or leading unbounded repeats): others are refused.

File format: ``{"rules": [ {entry}, ... ]}`` (a bare list of entries is accepted too). Entry fields:

=================  ========================================================================================
id                 unique id, ``[a-z0-9][a-z0-9._-]*``
category           a category id from ``diagnosis.categories`` (not ``none``/``unknown``)
title              short human title
message_patterns   regexes matched on the status message, provisioning error and pasted error text
log_patterns       regexes matched on customization.log lines (and pasted text), as UTF-8 bytes
                   (``\\d``, ``\\w``, ``\\s``, ``\\b`` and ``(?i)`` are ASCII; ``{m,n}`` counts bytes)
phase              one of ``diagnosis.model.PHASES``
cause              why it happens
remediation        list of concrete steps (required unless ``benign``)
doc                anchor in the troubleshooting guide, or a full https URL
precedence         integer 0..1000; the highest matching entry wins (root causes above symptoms)
confidence         0..1 (default 0.8): how sure a match of this entry is
scope              ``any`` (default), ``failed-step`` or ``build-output``: log matches count only inside the
                   provisioner that was running when the build failed (e.g. a download progress line, an interactive
                   prompt); ``build-output`` matches of a pasted text count only on lines Packer printed for the
                   build (a script's error record under a builder's prefix, not a client's or a reporter's)
benign             true for harmless lines that only produce a warning (never a category)
warning            text of that warning (benign entries)
keywords           optional literal strings, one of which every match contains (speeds up log scanning);
                   derived from the patterns when absent
resolved_by        regexes on log lines: when one matches after the entry's last log match, the problem
                   recovered (e.g. a connection retry that later connected) and the log match is ignored
ambiguous          true when the matched text has several known causes and does not say which (e.g. a bare
                   WinRM timeout): such an entry never decides the category on its own. Without a more specific
                   match the answer is ``unknown``, with this entry's cause and remediation as the likely ones
translations       optional texts in other languages: ``{"ru": {"title", "cause", "remediation", "warning"}}``
                   (any of them; English is the fallback), see ``diagnosis.i18n``
running          signals the running-build analysis reads from this entry: a list of objects
                   ``{"signal": one of RUNNING_SIGNALS, "patterns": [regex, ...], "done": [regex, ...]}``;
                   ``done`` lines end the situation (a restart that came back). ``download`` patterns need the
                   named groups file, done, du, total, tu and pct (a progress line: 12 MB / 300 MB 4%)
explains_lower     true for an ambiguous entry whose problem makes the commands after it fail too (a host name that
                   does not resolve, then apt's "Unable to locate package"): while it matches, entries of lower
                   precedence and the script's own error lines decide nothing, and the answer is ``unknown`` with
                   its hints
whole_record       true for a benign entry whose line is an error that reports nothing wrong (dd filling the disk on
                   purpose, Packer's own command prefix not recognized): no other entry's match on that line counts,
                   and the PowerShell error record it is part of, up to FullyQualifiedErrorId, is harmless with it
error_record       true for the shape of an error a script prints (a PowerShell error record's first line, apt's
                   ``E:`` line): never a category; inside the failed customizer the first such line leads the
                   evidence (it says why), before the exit line
=================  ========================================================================================
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagnosis.i18n import EntryText

DOC_BASE = "https://learn.microsoft.com/azure/virtual-machines/linux/image-builder-troubleshoot"
BUILTIN_DIR = Path(__file__).with_name("knowledge")
RULES_ENV = "DIAGNOSIS_RULES"
SCOPES = ("any", "failed-step", "build-output")
STEP_SCOPES = ("failed-step", "build-output")  # a log's matches count inside the failed provisioner only
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_FIELDS = {
    "id",
    "resolved_by",
    "category",
    "title",
    "message_patterns",
    "log_patterns",
    "phase",
    "cause",
    "remediation",
    "doc",
    "precedence",
    "confidence",
    "scope",
    "benign",
    "warning",
    "keywords",
    "comment",
    "ambiguous",
    "translations",
    "error_record",
    "warning_cause",
    "progress",
    "explains_lower",
    "whole_record",
    "running",
}
RUNNING_SIGNALS = ("prompt", "restart", "sysprep-loop", "agent-missing", "download", "failed")
_DOWNLOAD_GROUPS = {"file", "done", "du", "total", "tu", "pct"}
# scan hits of a resolved_by pattern are recorded under "#resolved:<pattern>": entries that list the same pattern
# share one compiled expression (an apt log's "Setting up" lines are matched once, not once per entry)
RESOLVED_PREFIX = "#resolved:"


def resolved_key(source: str) -> str:
    """The scan-hit key of a resolved_by pattern."""
    return RESOLVED_PREFIX + source


# Entries the engine applies to the provisioner that failed (its exit line is the evidence): they need no
# pattern, and a user file may override their text by id like any other entry.
STEP_ENTRIES = frozenset({"failed-customizer", "failed-deprovisioning"})


class KnowledgeBaseError(ValueError):
    """A knowledge-base file is unreadable or an entry is invalid; the message names file, entry and field."""


@dataclass(frozen=True)
class Pattern:
    """One compiled regex of a rule with the literal keywords (UTF-8 bytes) any match must contain."""

    rule_id: str
    source: str
    regex: re.Pattern[str]
    keywords: tuple[bytes, ...]  # empty: no usable literal, the pattern is tried on every line
    ignore_case: bool = False  # keywords are lower-case and searched in lower-cased text
    bregex: re.Pattern[bytes] | None = None  # the same pattern on UTF-8 bytes: what log lines are matched with


@dataclass(frozen=True)
class RunningSignal:
    """What a running build's log line means for the running analysis (see ``diagnosis.running``)."""

    signal: str
    patterns: tuple[re.Pattern[str], ...]
    done: tuple[re.Pattern[str], ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    title: str
    phase: str
    cause: str
    remediation: tuple[str, ...]
    doc: str | None
    precedence: int
    confidence: float
    scope: str
    benign: bool
    warning: str
    message_patterns: tuple[Pattern, ...]
    log_patterns: tuple[Pattern, ...]
    origin: str  # the file it came from
    resolved_by: tuple[Pattern, ...] = ()  # a later log line matching one of these means it recovered
    ambiguous: bool = False  # several causes fit this match: it alone gives ``unknown`` (with its hints)
    # texts in other languages, by language code (``diagnosis.i18n``)
    translations: dict[str, EntryText] = field(default_factory=dict, compare=False, hash=False)
    error_record: bool = False  # a script's error line: evidence of why a customizer failed, never a category
    warning_cause: bool = False  # its tool prints the cause at warning level, then fails: warning lines decide it
    progress: bool = False  # lines of a step in progress, healthy builds print them too: never show a failure alone
    explains_lower: bool = False  # ambiguous; the errors of entries below it may follow from it: they decide nothing
    whole_record: bool = False  # benign, and the PowerShell error record its line is part of is harmless as a whole
    running: tuple[RunningSignal, ...] = ()  # what its lines mean while the build is still running

    @property
    def doc_url(self) -> str | None:
        if not self.doc:
            return None
        if self.doc.startswith("https://"):
            return self.doc
        return f"{DOC_BASE}#{self.doc}"


@dataclass
class KnowledgeBase:
    rules: dict[str, Rule] = field(default_factory=dict)
    # derived data (compiled scanner prefilters), rebuilt by load_knowledge_base
    cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    # what scans a log (diagnosis.scanner): the built-in entries as loaded, one per process while their files are
    # unchanged (their scanning tables and compiled automata stay, whatever rules files add), and the entries of
    # rules files, which a table of their own scans beside them; None for a base built by hand (it scans itself)
    builtin: KnowledgeBase | None = field(default=None, repr=False, compare=False)
    users: KnowledgeBase | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self):
        return iter(self.rules.values())

    def get(self, rule_id: str) -> Rule | None:
        return self.rules.get(rule_id)

    def patterns(self, *, log: bool = True, message: bool = False) -> list[Pattern]:
        out: list[Pattern] = []
        shared: set[str] = set()
        for rule in self.rules.values():
            if log:
                out.extend(rule.log_patterns)
                for p in rule.resolved_by:
                    if p.rule_id not in shared:
                        shared.add(p.rule_id)
                        out.append(p)
            if message:
                out.extend(rule.message_patterns)
        return out

    def recovery_entry(self, key: str) -> Rule | None:
        """The entry a scan key names: its own id, or the first entry listing a resolved_by pattern of that key."""
        found = self.rules.get(key)
        if found is None and key.startswith(RESOLVED_PREFIX):
            found = next((r for r in self.rules.values() if any(p.rule_id == key for p in r.resolved_by)), None)
        return found

    def categories(self) -> set[str]:
        return {r.category for r in self.rules.values() if not r.benign}

    def for_category(self, category: str, prefer: Sequence[str] = ()) -> Rule | None:
        """The entry that speaks for a category, e.g. for a stuck build's advice: one of ``prefer`` if present,
        else the entry named like the category, else the one of highest precedence."""
        for rule_id in (*prefer, category):
            rule = self.rules.get(rule_id)
            if rule is not None and rule.category == category and not rule.benign and not rule.error_record:
                return rule
        candidates = [r for r in self.rules.values() if r.category == category and not r.benign and not r.error_record]
        return max(candidates, key=lambda r: (r.precedence, r.confidence), default=None)


# --------------------------------------------------------------------------------------------------- loading


def load_knowledge_base(extra: Sequence[str | os.PathLike[str]] = (), *, use_env: bool = True) -> KnowledgeBase:
    """Load the built-in entries, then the files of ``DIAGNOSIS_RULES`` and ``extra`` (later ids override).

    Raises ``KnowledgeBaseError`` for unreadable files and invalid entries.
    """
    builtin = _builtin_base()
    kb = KnowledgeBase(dict(builtin.rules))
    files: list[Path] = []
    if use_env:
        files.extend(Path(p) for p in os.environ.get(RULES_ENV, "").split(os.pathsep) if p.strip())
    files.extend(Path(p) for p in extra)
    users = KnowledgeBase()
    for path in files:
        for rule in load_rules_file(path):
            kb.rules[rule.id] = rule
            users.rules[rule.id] = rule
    if not kb.rules:
        raise KnowledgeBaseError(f"{BUILTIN_DIR}: no knowledge-base entries found")
    kb.builtin = builtin
    if users.rules:
        _check_automaton(users)
        kb.users = users
    return kb


_BUILTIN_BASE: dict[tuple[tuple[Path, tuple[int, int] | None], ...], KnowledgeBase] = {}  # at most one: the current


def _builtin_base() -> KnowledgeBase:
    """The built-in entries, parsed once per process while their files are unchanged (entries are immutable; the
    base's cache keeps the scanning tables). Callers copy its ``rules`` before adding to them."""
    files = sorted(BUILTIN_DIR.glob("*.json"))
    stamps = tuple((path, _stamp(path)) for path in files)
    base = _BUILTIN_BASE.get(stamps)
    if base is None:
        base = KnowledgeBase()
        for path in files:
            for rule in load_rules_file(path, checked=True):
                base.rules[rule.id] = rule
        _BUILTIN_BASE.clear()
        _BUILTIN_BASE[stamps] = base
    return base


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _check_automaton(users: KnowledgeBase) -> None:
    """With Hyperscan installed, every pattern of the users' entries must compile into the scanning automaton
    (exactly, or as a prefilter confirmed per line). The built-in entries are checked by the tests; the whole
    database is compiled at the first scan and cached (``diagnosis.scan``)."""
    from diagnosis.scan import hs_backend
    from diagnosis.scan.core import build_table

    if not users.rules or not hs_backend.available():
        return
    table = build_table(users, True)
    try:
        hs_backend.compiled_for(table)
    except hs_backend.PatternNotCompilable as exc:
        rule = users.recovery_entry(table.entries[exc.index].rule_id or "")
        rule_id = rule.id if rule is not None else ""
        origin = rule.origin if rule is not None else "<markers>"
        raise KnowledgeBaseError(f"{origin}: entry ({rule_id}): {exc}") from None


def load_rules_file(path: str | os.PathLike[str], *, checked: bool = False) -> list[Rule]:
    """The entries of one rules file. ``checked``: its patterns are known to be linear-time (the built-in files,
    checked by ``tests/diagnosis/test_linear_time.py``); a user's file is checked here."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise KnowledgeBaseError(f"{path}: rules file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeBaseError(f"{path}: cannot read rules file: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KnowledgeBaseError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise KnowledgeBaseError(f"{path}: JSON nested too deeply") from None
    return parse_rules(data, origin=str(path), checked=checked)


def parse_rules(data: Any, *, origin: str = "<rules>", checked: bool = False) -> list[Rule]:
    from diagnosis.rule_entries import parse_entry  # it builds on this module's types

    if isinstance(data, dict):
        unknown = set(data) - {"rules", "version", "comment", "$schema"}
        if unknown:
            raise KnowledgeBaseError(f"{origin}: unknown top-level key(s) {sorted(unknown)}; expected 'rules'")
        entries = data.get("rules")
    else:
        entries = data
    if not isinstance(entries, list):
        raise KnowledgeBaseError(f"{origin}: expected a list of entries under 'rules'")
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        rule = parse_entry(entry, origin, index, checked=checked)
        if rule.id in seen:
            raise KnowledgeBaseError(f"{origin}: entry #{index} ({rule.id}): field 'id': duplicate id in this file")
        seen.add(rule.id)
        rules.append(rule)
    return rules
