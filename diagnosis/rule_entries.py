"""One knowledge-base entry, read and validated into a ``Rule`` (the field table is in ``diagnosis.rules``): every
problem raises ``KnowledgeBaseError`` naming the file, the entry, the field and what is wrong.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from diagnosis.categories import CATEGORY_IDS
from diagnosis.i18n import parse_translations
from diagnosis.linear import linear_problem
from diagnosis.literals import MIN_KEYWORD, required_literals
from diagnosis.model import PHASES
from diagnosis.rules import (
    _DOWNLOAD_GROUPS,
    _FIELDS,
    _ID,
    RUNNING_SIGNALS,
    SCOPES,
    STEP_ENTRIES,
    KnowledgeBaseError,
    Pattern,
    Rule,
    RunningSignal,
    resolved_key,
)

# entry fields that are true or false (false when absent), in the order they are checked
_FLAGS = ("benign", "ambiguous", "error_record", "warning_cause", "progress", "explains_lower", "whole_record")


def parse_entry(entry: Any, origin: str, index: int, *, checked: bool = False) -> Rule:
    where = f"{origin}: entry #{index}"
    if not isinstance(entry, dict):
        raise KnowledgeBaseError(f"{where}: expected an object, got {type(entry).__name__}")
    rid = entry.get("id")
    if isinstance(rid, str):
        where = f"{where} ({rid})"

    def fail(name: str, problem: str) -> KnowledgeBaseError:
        return KnowledgeBaseError(f"{where}: field '{name}': {problem}")

    unknown = set(entry) - _FIELDS
    if unknown:
        raise fail(sorted(unknown)[0], f"unknown field (allowed: {', '.join(sorted(_FIELDS))})")
    if not isinstance(rid, str) or not _ID.match(rid):
        raise fail("id", "required; lower-case letters, digits, '.', '_' or '-'")
    flags = {name: entry.get(name, False) for name in _FLAGS}
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise fail(name, "must be true or false")
    if flags["explains_lower"] and not flags["ambiguous"]:
        raise fail("explains_lower", "only an ambiguous entry explains the entries below it")
    if flags["whole_record"] and not flags["benign"]:
        raise fail("whole_record", "only a benign entry makes the error it matches harmless")
    benign, error_record = flags["benign"], flags["error_record"]
    category = entry.get("category", "none" if benign else None)
    if not isinstance(category, str) or category not in CATEGORY_IDS:
        raise fail("category", f"must be one of {', '.join(CATEGORY_IDS)}")
    if not benign and category in ("none", "unknown"):
        raise fail("category", f"'{category}' is reserved for the engine; use a failure category")
    title = entry.get("title")
    if not isinstance(title, str) or not title.strip():
        raise fail("title", "required non-empty string")
    phase = entry.get("phase", "unknown")
    if phase not in PHASES:
        raise fail("phase", f"must be one of {', '.join(PHASES)}")
    cause = entry.get("cause", "")
    if not isinstance(cause, str):
        raise fail("cause", "must be a string")
    remediation = entry.get("remediation", [])
    if not isinstance(remediation, list) or not all(isinstance(s, str) and s.strip() for s in remediation):
        raise fail("remediation", "must be a list of non-empty strings")
    if not benign and not error_record and not remediation:
        raise fail("remediation", "required (at least one concrete step) for a failure entry")
    doc = entry.get("doc")
    if doc is not None and (not isinstance(doc, str) or not re.fullmatch(r"[a-z0-9-]+|https://\S+", doc)):
        raise fail("doc", "must be a guide anchor (lower-case, '-') or an https:// URL")
    precedence = entry.get("precedence", 50)
    if isinstance(precedence, bool) or not isinstance(precedence, int) or not 0 <= precedence <= 1000:
        raise fail("precedence", "must be an integer 0..1000")
    confidence = entry.get("confidence", 0.8)
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0 <= confidence <= 1:
        raise fail("confidence", "must be a number 0..1")
    scope = entry.get("scope", "any")
    if scope not in SCOPES:
        raise fail("scope", f"must be one of {', '.join(SCOPES)}")
    warning = entry.get("warning", "")
    if not isinstance(warning, str):
        raise fail("warning", "must be a string")
    keywords = entry.get("keywords")
    if keywords is not None and (
        not isinstance(keywords, list)
        or not keywords
        or not all(isinstance(k, str) and len(k.encode()) >= MIN_KEYWORD for k in keywords)
    ):
        raise fail("keywords", f"must be a non-empty list of strings of at least {MIN_KEYWORD} bytes")
    compiled: dict[str, tuple[Pattern, ...]] = {}
    for name in ("message_patterns", "log_patterns", "resolved_by"):
        raw = entry.get(name, [])
        if not isinstance(raw, list) or not all(isinstance(p, str) and p for p in raw):
            raise fail(name, "must be a list of non-empty regex strings")
        pats = []
        for i, source in enumerate(raw):
            try:
                regex = _compile(source)
            except re.error as exc:
                raise fail(f"{name}[{i}]", f"invalid regex {source!r}: {exc}") from None
            problem = None if checked else linear_problem(source)
            if problem:
                raise fail(f"{name}[{i}]", f"pattern {source!r} is refused, it is not linear-time: {problem}")
            if regex.search(""):
                raise fail(f"{name}[{i}]", f"regex {source!r} matches the empty string (it would match every line)")
            if name == "resolved_by":
                pats.append(_make_pattern(resolved_key(source), regex, None, fail, f"{name}[{i}]"))
            else:
                pats.append(_make_pattern(rid, regex, keywords, fail, f"{name}[{i}]"))
        compiled[name] = tuple(pats)
    running = _parse_running(entry.get("running", []), fail)
    if not compiled["message_patterns"] and not compiled["log_patterns"] and rid not in STEP_ENTRIES:
        raise fail("message_patterns", "an entry needs at least one message or log pattern")
    return Rule(
        id=rid,
        category=category,
        title=title.strip(),
        phase=phase,
        cause=cause.strip(),
        remediation=tuple(s.strip() for s in remediation),
        doc=doc,
        precedence=precedence,
        confidence=float(confidence),
        scope=scope,
        **flags,
        warning=warning.strip() or title.strip(),
        message_patterns=compiled["message_patterns"],
        resolved_by=compiled["resolved_by"],
        log_patterns=compiled["log_patterns"],
        origin=origin,
        translations=parse_translations(entry.get("translations"), fail),
        running=running,
    )


def _parse_running(raw: Any, fail) -> tuple[RunningSignal, ...]:
    if not isinstance(raw, list):
        raise fail("running", "must be a list of {signal, patterns, done} objects")
    out = []
    for i, item in enumerate(raw):
        name = f"running[{i}]"
        if not isinstance(item, dict) or set(item) - {"signal", "patterns", "done"}:
            raise fail(name, "must be an object with 'signal', 'patterns' and optional 'done'")
        if item.get("signal") not in RUNNING_SIGNALS:
            raise fail(f"{name}.signal", f"must be one of {', '.join(RUNNING_SIGNALS)}")
        compiled: dict[str, tuple[re.Pattern[str], ...]] = {}
        for key in ("patterns", "done"):
            sources = item.get(key, [])
            if not isinstance(sources, list) or not all(isinstance(p, str) and p for p in sources):
                raise fail(f"{name}.{key}", "must be a list of non-empty regex strings")
            pats = []
            for j, source in enumerate(sources):
                try:
                    regex = re.compile(source)
                except re.error as exc:
                    raise fail(f"{name}.{key}[{j}]", f"invalid regex {source!r}: {exc}") from None
                if regex.search(""):
                    raise fail(f"{name}.{key}[{j}]", f"regex {source!r} matches the empty string")
                needs_groups = item["signal"] == "download" and key == "patterns"
                if needs_groups and not set(regex.groupindex) >= _DOWNLOAD_GROUPS:
                    raise fail(f"{name}.{key}[{j}]", f"needs the named groups {sorted(_DOWNLOAD_GROUPS)}")
                pats.append(regex)
            compiled[key] = tuple(pats)
        if not compiled["patterns"]:
            raise fail(f"{name}.patterns", "at least one pattern")
        out.append(RunningSignal(item["signal"], compiled["patterns"], compiled["done"]))
    return tuple(out)


# the knowledge base repeats most sources (a rule's message and log patterns, shared resolved_by patterns): each is
# compiled and analysed once per process (bounded, for rules files a long-lived host reloads), which re's own
# 512-entry cache cannot do for thousands of patterns
@functools.lru_cache(maxsize=16384)
def _compile(source: str | bytes, flags: int = 0) -> re.Pattern:
    return re.compile(source, flags)


@functools.lru_cache(maxsize=16384)
def _literals(pattern: str, flags: int) -> tuple[str, ...] | None:
    found = required_literals(pattern, flags)
    return None if found is None else tuple(found)


def _make_pattern(rule_id: str, regex: re.Pattern[str], keywords: list[str] | None, fail, name: str) -> Pattern:
    ignore_case = bool(regex.flags & re.IGNORECASE)
    try:  # log lines are matched as bytes: \d, \w, \s, \b and (?i) are ASCII, counts are in bytes
        bregex = _compile(regex.pattern.encode("utf-8"), re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise fail(name, f"pattern {regex.pattern!r} cannot be matched on log bytes: {exc}") from None
    if keywords:
        kws = [k.lower() if ignore_case else k for k in keywords]
        for k in kws:  # an explicit keyword must be able to occur in a match, else the pattern could never fire
            if regex.pattern and not _keyword_plausible(regex, k):
                raise fail("keywords", f"keyword {k!r} does not occur in pattern {name} {regex.pattern!r}")
        return Pattern(rule_id, regex.pattern, regex, tuple(k.encode() for k in kws), ignore_case, bregex)
    alternatives = _literals(regex.pattern, regex.flags)
    kw: tuple[bytes, ...] = ()
    if alternatives:
        kw = tuple((a.lower() if ignore_case else a).encode("utf-8") for a in alternatives)
    return Pattern(rule_id, regex.pattern, regex, kw, ignore_case, bregex)


def _keyword_plausible(regex: re.Pattern[str], keyword: str) -> bool:
    lits = _literals(regex.pattern, regex.flags)
    if lits is None:
        return True  # cannot tell: trust the author
    k = keyword.lower()
    return any(k in a.lower() or a.lower() in k for a in lits)
