"""Whose line it is in Packer's output: the build's own messages, a remote command's output, the builder's error.

Packer prints a provisioner's remote commands under the builder's prefix (``    azure-arm: <line>`` for what they
wrote, ``==> azure-arm: <line>`` for their standard error and for Packer's own step messages), repeats the failed
step's error in the build's summary (``Build '<name>' errored after <duration>: <error>``) and prints ``Provisioning
step had errors`` once a step from provisioning on failed. These functions tell, for a pasted text or a log, which
lines came from inside the build VM (``inside_build``), which are the builder's own error (``builder_error``) and
where Packer's output starts (``packer_output``); ``diagnosis.admissible`` decides with them which matches count.
"""

from __future__ import annotations

import re

from diagnosis.logline import NOT_A_BUILD_NAME, PACKER_BUILDERS
from diagnosis.scanner import Hit, ScanResult

# Packer's own output: a build's summary line, or a line under a build's prefix ("==> <name>: " for any name,
# "    <builder type>: " / "ubuntu.azure-arm.image: " without the arrow, the types of logline.PACKER_BUILDERS)
_PACKER_SUMMARY = re.compile(r"Build '[^'\n]{1,80}' (?:errored|finished)")
_BUILD_PREFIX = re.compile(
    r"^(?:[^\n]{0,80}?(?P<arrow>==>|-->) " + NOT_A_BUILD_NAME + r"[\w.-]{1,120}"
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
_ARROW_NAME = re.compile(r"^[^\n]{0,80}?==> " + NOT_A_BUILD_NAME + r"([\w.-]{1,120}): ", re.MULTILINE)
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


def packer_output(text: str) -> tuple[int | None, bool]:
    """Where Packer's output starts in a pasted text: the first line (1-based) of a build's summary line or of a line
    under a build's prefix, None when the text shows only what a tool printed; and whether the summaries are all of
    it (no line carries a builder's prefix). Each pattern searches the text once."""
    summary, prefixed = _PACKER_SUMMARY.search(text), _BUILD_PREFIX.search(text)
    starts = [m.start() for m in (summary, prefixed) if m is not None]
    first = text.count("\n", 0, min(starts)) + 1 if starts else None
    return first, summary is not None and prefixed is None


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


def packer_prefixed(text: str, build_names: frozenset[str] = frozenset()) -> bool:
    """The line carries a builder's prefix (``==> <name>: ``, ``    azure-arm: ``, ``    <name>: `` for one of
    ``build_names``)."""
    return _BUILD_PREFIX.match(text) is not None or _named_build_output(text, build_names)
