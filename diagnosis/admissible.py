"""Which matched lines may decide a category: evidence from the part of the text that failed.

A knowledge-base match is a candidate for the answer only when its line can be the reason the build failed:

* **quoted, not printed**: a line a shell trace (``set -x``: ``+ apt-get install ...``) or a PowerShell error
  record (``+ while ((Get-Service X).Status ...``) shows as *source* quotes a command; it is not what the command
  printed;
* **template script text**: in a pasted text, the lines of an image template's ``inline`` array are commands
  the customizer would run, not what it printed;
* **a warning**: a line at warning level (``WARNING:``, ``[WARN]``, apt's ``W:``, ``<program>: warning:``) reports
  something the tool went on after;
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

``inside_build`` tells a line from inside the build VM (a provisioner running, or a remote command's output
under Packer's builder prefix) from one of the builder or a client: a script's error records alone blame its
customizer only from inside the build.

Lines dropped here never decide a category; they may still appear among the last error lines of an ``unknown``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from diagnosis.logline import PACKER_BUILDERS, parse_line
from diagnosis.rules import STEP_SCOPES, KnowledgeBase
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
    r"(?:WARNING:|Warning:|WARN:|\[WARN\]|\[WARNING\]|W:|[\w./-]{1,80}: warning:)\s"
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
        and _BUILD_PREFIX.match(hit.text) is None
        and not _named_build_output(hit.text, result.build_names)
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


# Packer's own output: a build's summary line, or a line under a build's prefix ("==> <name>: " for any name,
# "    <builder type>: " / "ubuntu.azure-arm.image: " without the arrow, the types of logline.PACKER_BUILDERS)
_PACKER_SUMMARY = re.compile(r"Build '[^'\n]{1,80}' (?:errored|finished)")
_BUILD_PREFIX = re.compile(
    r"^(?:[^\n]{0,80}?(?P<arrow>==>|-->) [\w.-]{1,120}"
    # a builder's name at the line's start or after a log prefix (a time, "[id] PACKER OUT", "ui:"), not inside a
    # reporter's sentence ('I see "azure-arm: EOF"', "In azure-chroot: ...")
    r"|(?:(?:[^\n]{0,80}?(?:[\d\]:>Z]|OUT|ERR))?[ \t]*|[^\n]{0,80}?\"[ \t]+)"  # or a JSON string's indented line
    r"(?:[\w-]{1,80}\.)?(?:" + PACKER_BUILDERS + ")"
    r"(?:\.[\w-]{1,80})?): ",
    re.MULTILINE,
)


# Packer's own messages under "==> <name>: " while a provisioner runs (its steps, waits, uploads, failure lines)
_PACKER_OWN_MESSAGE = re.compile(
    r"(?:Provisioning (?:with|step had errors)|Error |ERROR:|Timeout waiting|Step \"|Some builds|Builds? |Deleting"
    r"|Removing|Cancelling|Waiting|Pausing|Restarting|Uploading|Connected to|Retryable error)"
)


# "==> <name>: " names a build; its remote commands' output is "    <name>: " (for a name Packer's builder types
# do not cover: a named build such as "centos-7" or "vhd-windows-2019")
_ARROW_NAME = re.compile(r"^[^\n]{0,80}?==> ([\w.-]{1,120}): ", re.MULTILINE)
MAX_BUILD_NAMES = 8


def build_names(text: str) -> frozenset[str]:
    """The names after Packer's ``==> <name>: `` in a pasted text (the first few)."""
    names: list[str] = []
    for m in _ARROW_NAME.finditer(text):
        if m.group(1) not in names:
            names.append(m.group(1))
            if len(names) == MAX_BUILD_NAMES:
                break
    return frozenset(names)


# Packer's summary of a failed build: "Build '<name>' errored after <duration>: <first line of the error>", the error's
# other lines following unprefixed
_BUILD_ERRORED = re.compile(r"Build '[^'\n]{1,120}' errored(?: after [^:\n]{1,60})?: (.*)")
STEP_LAST_OUTPUT_LINES = 2  # a step's last line and Packer's "Provisioning step had errors" (a blank line between)
_MIN_ERROR_LINE = 12  # shorter lines ("Error", "VM Name: x") are too common to say whose they are


def builder_error(text: str) -> frozenset[str]:
    """The lines of the errors that ``Build '<name>' errored`` lines repeat. Packer prints a failed step's error with
    ``ui.Error`` (``==> <name>: <line>`` for each of its lines) and then repeats it in that summary, so a ``==>``
    line found there is the builder's own error, not what a customizer's command printed."""
    return _errored_blocks(list(enumerate(text.split("\n"), 1)))


def builder_error_in_log(result: ScanResult) -> frozenset[str]:
    """``builder_error`` from the lines a log scan kept: Packer's failure lines and the error lines near the end."""
    kept = {h.line: h.text for h in (*result.failure_lines, *result.tail_errors)}
    return _errored_blocks(sorted(kept.items()))


def _errored_blocks(numbered: list[tuple[int, str]]) -> frozenset[str]:
    """The error of each ``errored`` summary among the numbered lines: its first line, then the unprefixed lines
    after it, up to the next build line or two blank lines."""
    out: set[str] = set()
    for i, (number, line) in enumerate(numbered):
        m = _BUILD_ERRORED.search(line)
        if m is None:
            continue
        block = [m.group(1)]
        blank = False
        for follow_number, follow in numbered[i + 1 : i + 40]:
            if (
                follow_number - number > 40
                or _BUILD_PREFIX.match(follow)
                or _BUILD_ERRORED.search(follow)
                or (blank and not follow.strip())
            ):
                break  # the next build line, or two blank lines: the error ended
            blank = not follow.strip()
            block.append(follow)
        out.update(b.strip() for b in block if len(b.strip()) >= _MIN_ERROR_LINE)
    return frozenset(out)


def _builders_own_error(text: str, result: ScanResult) -> bool:
    """A ``==> <name>: <line>`` whose line the build's ``errored`` summary repeats (``builder_error``)."""
    if not result.builder_error:
        return False
    prefix = _BUILD_PREFIX.match(text)
    return prefix is not None and text[prefix.end() :].strip() in result.builder_error


def _named_build_output(text: str, names: frozenset[str]) -> bool:
    """The line is ``    <name>: ...`` for one of ``names`` (builds the text names in ``==> <name>: `` lines)."""
    head = text.lstrip(" \t")
    if head == text or len(text) - len(head) > 8:
        return False
    name, sep, _ = head.partition(": ")
    return bool(sep) and name in names


def remote_output(text: str, build_names: frozenset[str] = frozenset()) -> bool:
    """Packer printed the line for a remote command running in the build VM (``    azure-arm: <what it printed>``,
    or ``    <name>: ...`` for one of ``build_names``), not as one of its own step messages (``==> azure-arm: ...``)."""
    prefix = _BUILD_PREFIX.match(text)
    if prefix is not None:
        return prefix.group("arrow") is None
    return _named_build_output(text, build_names)


def _in_provisioner(hit: Hit, result: ScanResult) -> bool:
    """A provisioner was running at the hit's line: a step of the log, or after Packer's ``Provisioning with ...``."""
    return hit.step is not None or bool(result.ui_steps and hit.line > result.ui_steps[0])


def remote_error_output(hit: Hit, result: ScanResult) -> bool:
    """Inside a provisioner, Packer printed the line for what a remote command wrote to its standard error: an error
    line (``==> <name>: <line>``) that is none of Packer's own step messages."""
    prefix = _BUILD_PREFIX.match(hit.text)
    if prefix is None or prefix.group("arrow") is None:
        return False
    return (
        _in_provisioner(hit, result)
        and not _PACKER_OWN_MESSAGE.match(hit.text[prefix.end() :].lstrip())
        and not _builders_own_error(hit.text, result)
    )


def step_last_output(hit: Hit, result: ScanResult) -> bool:
    """The line right above Packer's ``Provisioning step had errors`` (printed when any step from provisioning on
    failed): what the failed step printed last. Not the build's ``errored`` summary, and not a ``==> <name>: `` error
    line, which ``remote_error_output`` judges (a builder's step reports its own error that way too)."""
    failed = result.ui_failed_line
    if failed is None or not 0 < failed - hit.line <= STEP_LAST_OUTPUT_LINES or _BUILD_ERRORED.search(hit.text):
        return False
    prefix = _BUILD_PREFIX.match(hit.text)
    return prefix is None or prefix.group("arrow") is None


def packer_output_line(text: str) -> int | None:
    """The first line (1-based) of Packer's output in a pasted text (a build's summary line, a line under a build's
    prefix); None when the text shows only what a tool printed."""
    starts = [m.start() for m in (_PACKER_SUMMARY.search(text), _BUILD_PREFIX.search(text)) if m is not None]
    if not starts:
        return None
    return text.count("\n", 0, min(starts)) + 1


def packer_summary_only(text: str) -> bool:
    """Packer's only output in a pasted text is a build's summary line: no line carries a builder's prefix."""
    return _PACKER_SUMMARY.search(text) is not None and _BUILD_PREFIX.search(text) is None


def unprefixed_build_output(hit: Hit, result: ScanResult) -> bool:
    """In a pasted text whose only Packer lines are a build's summaries, a line that is neither a summary nor the
    builder's error it repeats: the reporter left the prefixes out of the build's output."""
    return (
        result.packer_summary_only
        and _PACKER_SUMMARY.search(hit.text) is None
        and hit.text.strip() not in result.builder_error
    )


# packer-plugin-azure prints a deployment's errors as "ERROR: -> <code> : <message>" (and "ERROR:   -> " for
# inner ones): the builder's own lines, not a script's
_BUILDER_ARM_ERROR = re.compile(r"ERROR:\s{1,8}->")


def inside_build(hit: Hit, result: ScanResult) -> bool:
    """The line came from inside the build VM: a provisioner was running (a step of the log, or after Packer's
    ``Provisioning with ...``), or Packer printed it for its builder (``    azure-arm: ...`` for a remote command's
    output, ``==> azure-arm: ...`` for its error output, ``    <name>: ...`` for a build the text names in
    ``==> <name>: ...`` lines), except the builder's own ARM errors (``ERROR: -> ...``)."""
    if _builders_own_error(hit.text, result):
        return False
    if _in_provisioner(hit, result) or _named_build_output(hit.text, result.build_names):
        return True
    prefix = _BUILD_PREFIX.match(hit.text)
    return prefix is not None and not _BUILDER_ARM_ERROR.match(hit.text[prefix.end() :].lstrip())


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


def noise_records(result: ScanResult, kb: KnowledgeBase) -> frozenset[int]:
    """The lines of a ``whole_record`` benign entry and of the PowerShell error records they are part of: no other
    entry's match on them counts."""
    starts = {
        h.line
        for rid, rh in result.hits.items()
        if (rule := kb.get(rid)) is not None and rule.benign and rule.whole_record
        for h in rh.samples()
    }
    return frozenset(_record_of(result, starts)) if starts else frozenset()


def _record_of(result: ScanResult, starts: set[int]) -> set[int]:
    """The given lines and the seen lines (matches and error-looking lines) of the PowerShell error records they are
    part of: the record's message and position lines just above, then the record's lines after them up to its
    ``FullyQualifiedErrorId`` line, or to the first seen line that is not part of a record (a pasted record cut
    short)."""
    seen = {h.line: h.text for rh in result.hits.values() for h in rh.samples()}
    seen.update((h.line, h.text) for h in result.tail_errors)
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
