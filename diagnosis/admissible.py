"""Which matched lines may decide a category: evidence from the part of the text that failed.

A knowledge-base match is a candidate for the answer only when its line can be the reason the build failed:

* **quoted, not printed**: a line a shell trace (``set -x``: ``+ apt-get install ...``) or a PowerShell error
  record (``+ while ((Get-Service X).Status ...``) shows as *source* quotes a command; it is not what the command
  printed;
* **template script text**: in a pasted text, the lines of an image template's ``inline`` array are commands
  the customizer would run, not what it printed;
* **a warning**: a line at warning level (``WARNING:``, ``[WARN]``, apt's ``W:``, kubeadm's ``[WARNING <check>]:``,
  ``<program>: warning:``) reports something the tool went on after;
* **another step**: in a customization.log, a line inside a provisioner that ended and is not the failed one
  belongs to a step that completed (a retry that recovered, an error the script handled); in any text, a line
  followed by Packer starting another provisioner (``==> azure-arm: Provisioning with ...``, ``Restarting
  Machine``) or its steps after the last one (capturing the image, a builder's ``Gracefully halting virtual
  machine...``) before any failure line: Packer runs provisioners in order and goes on only when one succeeded
  (in pasted Packer output this holds for Packer's prefixed lines: a line without the prefix above the log is the
  reporter's title or quote of the failure);
* **before the steps**: a line logged before the first provisioner started (deploying, connecting) was followed
  by a build that got as far as customizing, so it did not stop the build;
* **after the failure**: once a provisioner failed, lines of the cleanup that follows report the cleanup;
* **an error that reports nothing wrong**: a ``whole_record`` benign entry's line (dd filling the disk on purpose)
  and the PowerShell error record it is part of (Packer's own command prefix not recognized; ``noise_records``).

An entry marked ``warning_cause`` (apt's ``W: Failed to fetch ... Could not resolve``, ``W: GPG error``: apt goes
on and fails later for that reason) counts on warning lines: they are the reason the tool fails
later, and a text that shows them is a failure with that cause.

A pending restart (category ``pending-restart``) is a state an earlier step leaves for a later one to trip over:
its lines count wherever they are in the text (only the quoted/warning rule applies to them).

``diagnosis.packer_lines.inside_build`` tells a line from inside the build VM (a provisioner running, or a remote
command's output under Packer's builder prefix) from one of the builder or a client: a script's error records alone
blame its customizer only from inside the build.

Lines dropped here never decide a category; they may still appear among the last error lines of an ``unknown``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from diagnosis.logline import parse_line
from diagnosis.packer_lines import inside_build, packer_prefixed
from diagnosis.rules import STEP_SCOPES, KnowledgeBase, Rule
from diagnosis.scanner import Hit, ScanResult, Step

_RECORD_LINES = 16  # a PowerShell error record's lines from its message to FullyQualifiedErrorId, wrapped
# a line of a PowerShell error record after its first: the message's wrapped end, the position, the code excerpt,
# CategoryInfo and FullyQualifiedErrorId (English, German, Russian and French position lines)
_RECORD_LINE = re.compile(
    r"(?:^|[\s:])(?:\+ |At line:\d|At [A-Za-z]:\\|In Zeile:\d|строка:\d|Au caractère|is not recognized as"
    r"|CategoryInfo|FullyQualifiedErrorId|CommandNotFoundException)"
)
_RECORD_HEAD_LINES = 6  # a record's message (wrapped at the console width) and position lines above its code excerpt
# a PowerShell error record's lines above its code excerpt: "<Cmdlet-Name> : <message>" (or "<Module>\\<Cmdlet-Name> :",
# "<script>.ps1 :"), the message's wrapped "The term ...", "At <script>:<line> char:<n>" / "At line:<n> char:<n>"
_RECORD_START = re.compile(
    r"(?:^|[\s:>])(?:(?:[A-Z][A-Za-z]{1,60}\\)?[A-Z][a-z]{1,20}-[A-Z]\w{1,60} : \S|[A-Za-z]:\\[^\n]{1,200}\.ps1 : \S"
    r"|\. : The term|The term|At line:\d|At [A-Za-z]:\\)"
)
_QUOTED_SOURCE = re.compile(r"^\+{1,9} (?!CategoryInfo\b|FullyQualifiedErrorId\b)")
_WARNING = re.compile(
    r"^(?:\d{4}[/-]\d\d[/-]\d\d[ T]\d\d:\d\d:\d\d\S{0,12}\s{1,4})?"
    r"(?:\[[a-z][\w-]{0,40}\] )?"  # kubeadm's phase tag: "[preflight] WARNING: ..."
    r"(?:WARNING:|Warning:|WARN:|\[WARN\]|\[WARNING\]|\[WARNING [\w.-]{1,80}\]:|W:|[\w./-]{1,80}: warning:)\s"
)
_WARNING_LEVELS = ("WARN", "WARNING")
LATENT_CATEGORIES = ("pending-restart",)
LOG_SOURCES = ("log", "validation-log")


_INLINE_ARRAY = re.compile(r"\"inline\"\s{0,8}:\s{0,8}\[")
_ARRAY_END = re.compile(r"^\s{0,200}\],?\s{0,20}$")


def template_script_lines(text: str) -> frozenset[int]:
    """Line numbers (1-based) of a text that belong to an image template's ``"inline": [...]`` arrays: the
    line that opens the array and, when it continues on the next lines, those up to the closing ``]``."""
    out: set[int] = set()
    inside = False
    for number, line in enumerate(text.split("\n"), 1):
        if inside:
            if _ARRAY_END.match(line):
                inside = False
                continue
            out.add(number)
            continue
        m = _INLINE_ARRAY.search(line)
        if m:
            out.add(number)
            inside = not line[m.end() :].rstrip().endswith(("]", "],"))
    return frozenset(out)


def quoted_or_warning(text: str, *, warnings_count: bool = False) -> bool:
    """The line quotes a command (a shell trace, an error record's source line) or is a warning (unless
    ``warnings_count``)."""
    parsed = parse_line(text)
    if _QUOTED_SOURCE.match(parsed.message):
        return True
    return not warnings_count and (parsed.level in _WARNING_LEVELS or bool(_WARNING.match(parsed.message)))


def failing_step(result: ScanResult) -> Step | None:
    """The provisioner that failed, in a log (a pasted text's steps are not a whole run: None)."""
    return result.failed_step if result.source in LOG_SOURCES else None


def _step_at(result: ScanResult, position: int) -> Step | None:
    for step in reversed(result.steps):
        if step.position == position:
            return step
    return None


def before_a_later_provisioner(hit: Hit, result: ScanResult) -> bool:
    """Packer started another provisioner, or its steps after the last one (capturing, a builder's shutdown), after
    the hit's line, before any failure line."""
    stops = [line for line in (result.ui_failed_line, *(h.line for h in result.failure_lines[:1])) if line]
    stop = min(stops) if stops else None
    later = (*reversed(result.ui_steps), *([result.provisioned_line] if result.provisioned_line else []))
    return any(hit.line < line and (stop is None or line < stop) for line in later)


def reporters_line(hit: Hit, result: ScanResult) -> bool:
    """In pasted Packer output, a line without Packer's prefix: the reporter's own (a title, a quoted error)."""
    return (
        result.source not in LOG_SOURCES
        and result.packer_output_line is not None
        and not packer_prefixed(hit.text, result.build_names)
    )


def in_failing_part(hit: Hit, result: ScanResult, failed: Step | None) -> bool:
    """The hit is not in a part the build got past: not followed by a later provisioner's start; for a
    customization.log with provisioner steps: in the failed step, or not in another ended step, before the
    first step or in the cleanup after the failed step."""
    if before_a_later_provisioner(hit, result) and not reporters_line(hit, result):
        return False
    if result.source not in LOG_SOURCES or not result.steps:
        return True
    if hit.step is not None:
        if failed is not None and hit.step == failed.position:
            return True
        step = _step_at(result, hit.step)
        return step is None or not step.ended
    first = result.steps[0]
    if result.steps_started == len(result.steps) and hit.line < first.start_line:
        return False
    return not (failed is not None and hit.phase == "cleanup" and hit.line > failed.start_line)


def admissible(
    hits: Iterable[Hit],
    result: ScanResult,
    failed: Step | None,
    category: str | None = None,
    *,
    warnings_count: bool = False,
) -> list[Hit]:
    """The hits of an entry of ``category`` that may decide it (see the module's rules); warning lines too when
    ``warnings_count`` (an entry whose tool prints the cause as a warning before it fails)."""
    latent = category in LATENT_CATEGORIES
    return [
        h
        for h in hits
        if h.line not in result.template_script_lines
        and h.line not in result.noise_records
        and not quoted_or_warning(h.text, warnings_count=warnings_count)
        and (latent or in_failing_part(h, result, failed))
    ]


def in_scope(hits: list[Hit], scope: str, result: ScanResult, step: Step | None) -> list[Hit]:
    """The hits of an entry with ``scope`` (``diagnosis.rules``) that count. ``any`` keeps them all. ``failed-step``
    and ``build-output`` keep, in a log with provisioner steps, those inside the failed provisioner (none when no
    provisioner failed), and in pasted Packer output those from inside the build VM or the reporter's quote above
    output that shows a provisioner running, or above output that shows no failure of its own (the paste stops
    before the failure). ``build-output`` keeps, in a pasted text without Packer's output, only lines under a
    builder's prefix: a cmdlet's error there is as likely a client's or the reporter's own."""
    if scope not in STEP_SCOPES:
        return hits
    if result.source in LOG_SOURCES and result.steps:
        return [h for h in hits if step is not None and h.step == step.position]
    if result.packer_output_line is not None:
        first = result.packer_output_line
        shows_failure = bool(result.ui_failed_line or result.failure_lines)
        return [
            h
            for h in hits
            if inside_build(h, result)
            or (reporters_line(h, result) and (bool(result.ui_steps) or (not shows_failure and h.line < first)))
        ]
    if scope == "build-output" and result.source not in LOG_SOURCES:
        return [h for h in hits if inside_build(h, result)]
    return hits


def lines_of(result: ScanResult, rules: list[Rule]) -> set[int]:
    """The lines ``rules`` matched. An entry keeps only its first and last matches as samples: the seen lines between
    them (another entry's match, an error-looking line) that one of their patterns matches are theirs too."""
    if not rules:
        return set()
    lines = {h.line for rule in rules if (rh := result.hits.get(rule.id)) is not None for h in rh.samples()}
    on_log = result.source in LOG_SOURCES
    patterns = [p.regex for rule in rules for p in (rule.log_patterns if on_log else rule.message_patterns)]
    others = [h for rh in result.hits.values() for h in rh.samples()] + list(result.tail_errors)
    lines.update(h.line for h in others if h.line not in lines and any(p.search(h.text) for p in patterns))
    return lines


def noise_records(result: ScanResult, kb: KnowledgeBase) -> frozenset[int]:
    """The lines of a ``whole_record`` benign entry, of the PowerShell error records they are part of and of the
    copies of those records printed again: no other entry's match on them counts."""
    rules = [rule for rid in result.hits if (rule := kb.get(rid)) is not None and rule.benign and rule.whole_record]
    starts = lines_of(result, rules)
    if not starts:
        return frozenset()
    seen = {h.line: h.text for rh in result.hits.values() for h in rh.samples()}  # matches and error-looking lines
    seen.update((h.line, h.text) for h in result.tail_errors)
    lines = _record_of(seen, starts)
    repeats = _repeated_heads(seen, lines)  # the same record printed again (before each script), cut short
    return frozenset(lines | _record_of(seen, repeats) if repeats else lines)


def _repeated_heads(seen: dict[int, str], lines: set[int]) -> set[int]:
    """The seen lines outside ``lines`` that repeat the message line of a record in ``lines`` word for word."""
    heads = {seen[ln].strip() for ln in lines if ln in seen and _RECORD_START.search(seen[ln])}
    return {ln for ln, text in seen.items() if ln not in lines and text.strip() in heads}


def _record_of(seen: dict[int, str], starts: set[int]) -> set[int]:
    """The given lines and the seen lines (by line number) of the PowerShell error records they are part of: the
    record's message and position lines just above, then the record's lines after them up to its
    ``FullyQualifiedErrorId`` line, or to the first seen line that is not part of a record (a pasted record cut
    short)."""
    order = sorted(seen)
    out: set[int] = set(starts)
    for start in starts:
        for ln in reversed([ln for ln in order if start - _RECORD_HEAD_LINES <= ln < start]):
            if "CategoryInfo" in seen[ln] or "FullyQualifiedErrorId" in seen[ln] or not _RECORD_START.search(seen[ln]):
                break  # the end of an earlier record, or a line of no record
            out.add(ln)
        for ln in order:
            if ln <= start:
                continue
            if ln > start + _RECORD_LINES or not _RECORD_LINE.search(seen[ln]):
                break
            out.add(ln)
            if "FullyQualifiedErrorId" in seen[ln]:
                break
    return out
