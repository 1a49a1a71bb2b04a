"""Lines a console, an editor or PowerShell cut or wrapped, joined again.

A console window cuts every long line of a pasted text at its width (80 or 120 columns, or one column less where
PowerShell's formatter wrote it: it keeps the console's last column free); a mail client or a commit-message editor
wraps lines at word boundaries (60 to 80 columns); PowerShell 7's ConciseView cuts an error record's message at the
console's width behind ``     | ``. Patterns are written for the line the program printed, so the pieces are joined
again. Pieces a console on the build machine cut behind Packer's builder prefix stay as they are: a line of exactly
that width that another line continues is as often a word wrap or a table row as a cut.
"""

from __future__ import annotations

import re

# a line that starts a log record of its own (a date), never the rest of a line cut above it
_DATE = r"\d{4}[/-]\d\d[/-]\d\d"
_RECORD_START = re.compile(_DATE)

# widths at which consoles cut lines: conhost's and terminals' default window widths, and one column less for
# PowerShell's formatted output (ConsoleLineOutput.ColumnNumber leaves the buffer's last column unwritten)
CONSOLE_WIDTHS = (79, 80, 119, 120)

# PowerShell 7's ConciseView of an error in a script: the script's numbered line below its "Line |" header
_CONCISE_CODE = re.compile(r" *\d{1,7} \| ")
# the line above the header: "<reason>: <script>:<line>", the reason a command's name, "Error" or "Exception"
_CONCISE_HEAD = re.compile(r" *([A-Za-z][\w.\\-]{0,100}): \S[^\n]{0,400}:\d{1,7}[ \t]*$")


def _cut_at(line: str, after: str, width: int) -> bool:
    """Whether ``line``, as wide as a console, reads as cut there: inside a word (a letter or digit on both sides),
    or, when ``after`` is a shorter rest, inside a word or a path (no space on either side) or next to the one space
    that stood there (``line`` ends with it or ``after`` starts with it)."""
    end, start = line[-1:], after[:1]
    if end.isalnum() and start.isalnum():
        return True
    if not after.strip() or len(after) >= width:
        return False
    return (not end.isspace() and not start.isspace()) or (end == " " and line[-2:-1] != " ") or (
        start == " " and after[1:2].strip() != ""
    )


_LIST_ITEM = re.compile(r"[-*+] \S")
# a tool's name before its message ("tar: ", "dpkg: ", "E: "): a line that starts with the same one is its own record
_TOOL_PREFIX = re.compile(r"\s{0,40}[\w.-]{1,40}: ")


def _own_record(line: str, after: str) -> bool:
    """Whether ``after``, below a line as wide as a console, starts a record of its own rather than the rest of
    ``line``: it starts with the same first characters (a CI system's prefix such as GitHub Actions'
    ``<job>\\t<step>\\t<time>``, repeated on every line) or the same tool's name (``tar: ``), both are quoted
    (``> ``: a reply quotes every line, and what a console cut joins once the quote marks are gone) or both are items
    of a Markdown list (``- ``)."""
    if line[:1] == after[:1] == ">" or (_LIST_ITEM.match(line) and _LIST_ITEM.match(after)):
        return True
    tool = _TOOL_PREFIX.match(line)
    if tool is not None and after.startswith(tool.group(0)):
        return True
    return line[:SHARED_PREFIX].strip() != "" and after[:SHARED_PREFIX] == line[:SHARED_PREFIX]


def _unwrap_hard_wrapped(text: str) -> str:
    """``text`` with the lines a console cut at its width joined again.

    A text is taken as hard-wrapped when its longest lines are as wide as a console (80 or 120 columns) and one of
    them reads as cut (``_cut_at``). Lines of that width are then joined with the line after them, unless that line
    starts with a date (a log record of its own) or as the line above it (``_own_record``). A table whose rows share
    one width stays as it is; text wrapped at word boundaries (more of its lines end short where a word did not fit
    than fill the width) is ``_unwrap_word_wrapped``'s."""
    lines = text.split("\n")
    width = max(map(len, lines))
    if len(lines) < 2 or width not in CONSOLE_WIDTHS:
        return text
    full = {i for i, line in enumerate(lines[:-1]) if len(line) == width and not _RECORD_START.match(lines[i + 1])}
    if not any(_cut_at(lines[i], lines[i + 1], width) for i in full):
        return text
    if width in _WORD_WRAP_WIDTHS and len(_word_cuts(lines, width) - full) > len(full):
        return text  # more lines end short of the width where a word did not fit: wrapped at word boundaries
    return _joined(lines, {i for i in full if not _own_record(lines[i], lines[i + 1])}, "")


_WORD_WRAP_WIDTHS = range(60, 81)  # the widths mail clients and commit-message editors wrap at
MAIL_WIDTH = 72  # their default
# a line that starts a record of its own, not the rest of a wrapped one: a date, a builder's or a tool's prefix
# ("    azure-arm: ", "curl: ", "E: ", "==> azure-arm: "; not a sentence's "code: 1603"), a qualified exception name
# ("google.api_core.exceptions.ServiceUnavailable: 503 ..."), Packer's summary of a
# build or its provisioning messages without their prefix, a list item, a quote or a code fence
_OWN_LINE = re.compile(
    r"\s{0,40}(?:" + _DATE + r"|[\w.-]{1,80}: (?!\d{1,12}\b)\S|[\w-]{1,40}(?:\.[\w-]{1,40}){1,8}: \S|==>|-->|Build '"
    r"|Provisioning (?:with|step had) "
    r"|```|[-*+](?:\s|[-*+]{2})|[>#|\[{]|\d{1,3}[.)] )"
)
MIN_WRAPPED_LINES = 2
MIN_WRAPPED_SHARE = 0.5  # a wrapped line, or the word that did not fit after it, fills half the width or more
SHARED_PREFIX = 6  # a line that starts as the one above it (a CI system's or a tool's prefix) is a record of its own
# a Packer log record cut right after its prefix (``[<id>] PACKER OUT``, ``... ui:``, ``... ui error:     azure-arm:``),
# or a line that is only a builder's prefix (``azure-arm:``): the next line is the record's message, even when it
# starts like a record of its own, unless it starts a log record
_BARE_RECORD_PREFIX = re.compile(
    r"(?:\bPACKER(?: OUT| ERR)?(?: \d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?: ui)?)?"
    r"|(?:\bui(?: error)?:|^(?:error:)?) {0,8}(?:==> )?[\w.-]{1,80}:|\bui(?: error)?:)$"
)
_LOG_RECORD_START = re.compile(r"\s{0,8}(?:\[[\w-]{1,40}\] PACKER|PACKER |" + _DATE + ")")


def _word_cuts(lines: list[str], width: int) -> set[int]:
    """The lines that end where the next line's first word would not have fitted in ``width`` columns, when the next
    line starts no record of its own (``_OWN_LINE``, or the same first characters as the line above it), or when the
    line is a Packer log record cut after its prefix (``_BARE_RECORD_PREFIX``) and the next one starts no log
    record."""

    def cut(i: int) -> bool:
        line, after = lines[i].rstrip(), lines[i + 1]
        words = after.split(None, 1)
        return (
            bool(words)
            and max(len(line), len(words[0])) >= width * MIN_WRAPPED_SHARE
            and len(line) + 1 + len(words[0]) > width
            and (
                (_BARE_RECORD_PREFIX.search(line) is not None and _LOG_RECORD_START.match(after) is None)
                or (_OWN_LINE.match(after) is None and after[:SHARED_PREFIX] != line[:SHARED_PREFIX])
            )
        )

    return {i for i in range(len(lines) - 1) if cut(i)}


def _unwrap_word_wrapped(text: str) -> str:
    """``text`` with the lines a mail client or an editor wrapped at word boundaries joined again.

    A text is taken as word-wrapped when its longest line of several words is 60 to 80 columns wide (72 when all of
    them are shorter and a line of one word is longer than 80, a URL or a path that stood alone) and at least
    two of its lines (one, when the next goes on with a lower-case word) end where the next line's first word would
    not have fitted (``_word_cuts``). Those lines are joined with the next line (one space between)."""
    lines = text.split("\n")
    width = max((len(line.rstrip()) for line in lines if " " in line.strip()), default=0)
    if width < _WORD_WRAP_WIDTHS[0] and any(
        len(line.strip()) > _WORD_WRAP_WIDTHS[-1] and " " not in line.strip() for line in lines
    ):
        width = MAIL_WIDTH  # every line of words is short where long words (URLs, paths) stood alone on their lines
    if width not in _WORD_WRAP_WIDTHS:
        return text
    joins = _word_cuts(lines, width)
    if len(joins) < MIN_WRAPPED_LINES and not any(lines[i + 1].lstrip()[:1].islower() for i in joins):
        return text
    return _joined(lines, joins, " ")


def _joined(lines: list[str], joins: set[int], separator: str) -> str:
    """``lines`` as text, each line in ``joins`` continued by the next one after ``separator``: a console's cut
    (``""``) keeps the next line as it is, a word wrap (``" "``) drops its indentation."""
    out: list[str] = []
    pending: str | None = None
    for i, line in enumerate(lines):
        if pending is None:
            pending = line
        else:
            pending += separator + (line.lstrip() if separator else line)
        if i not in joins:
            out.append(pending)
            pending = None
    return "\n".join(out)


def join_wrapped_lines(text: str) -> str:
    """``text`` with the lines a console cut at its width, or a mail client or an editor wrapped at word boundaries,
    joined again."""
    return _unwrap_word_wrapped(_unwrap_hard_wrapped(text))


# ConciseView's bar before each line of an error record's message
_BAR = "     | "
# a message line of ConciseView's: the bar at the start of the line, then text that is no tilde marker
_BARE_BAR = re.compile(re.escape(_BAR) + r"[^\s~]")
# a bar line indented otherwise than ConciseView's, which bare message lines below it continue
_BAR_FIRST = re.compile(r"\s*\| \S")


def join_concise_messages(text: str) -> str:
    """``text`` with the message of each PowerShell 7 error record in ConciseView on one line.

    ConciseView prints an error from a script as ``<reason>: <script>:<line>``, ``Line |``, the script's line
    (``  12 |  <code>``), a line of ``~`` under the failing part, and the message behind ``     | ``, cut at the
    console's width where a word ends and continued behind the same ``     | `` (PowerShell's
    ``Get-ConciseViewPositionMessage``). The message's lines become one line in the shape the other error views
    give it, ``<reason> : <message>`` (Windows PowerShell's NormalView, which the error-record entries read), behind
    the prefix the header has (a builder's). Message lines pasted without their header (``_join_bare_bars``) join
    the line above them."""
    if _BAR not in text:
        return text
    if "Line |" in text:
        text = _join_headed_records(text)
    return _join_bare_bars(text)


def _join_headed_records(text: str) -> str:
    """``text`` with the message lines of each ConciseView record under its ``Line |`` header on one line."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        out.append(lines[i])
        header = lines[i].rstrip(" \t")
        i += 1
        if not header.endswith("Line |") or i >= len(lines):
            continue
        lead = header[:-6].rstrip(" ")
        pad = header[len(lead) : -6]
        head = _CONCISE_HEAD.match(out[-2], len(lead)) if len(out) > 1 and out[-2].startswith(lead) else None
        if not lines[i].startswith(lead) or not _CONCISE_CODE.match(lines[i], len(lead)):
            continue
        out.append(lines[i])
        i += 1
        bar = lead + pad + _BAR
        if i < len(lines) and lines[i].startswith(bar) and lines[i][len(bar) :].strip().startswith("~"):
            out.append(lines[i])
            i += 1
        parts: list[str] = []
        while i < len(lines) and lines[i].startswith(bar) and (part := lines[i][len(bar) :].strip()):
            parts.append(part)
            i += 1
        if parts:
            out.append(lead + pad + (head.group(1) + " : " if head else "") + " ".join(parts))
    return "\n".join(out)


def _join_bare_bars(text: str) -> str:
    """``text`` with ConciseView message lines pasted without their record's header (``     | <message>``) joined
    to the line above them, which holds the message's start (a reply or a log quoted the record from its message
    on). A table's row above them (a bar inside the line) keeps its lines as they are."""
    lines = text.split("\n")
    out: list[str] = []
    for line in lines:
        if (
            out
            and _BARE_BAR.match(line)
            and out[-1].strip()
            and ("|" not in out[-1] or _BAR_FIRST.match(out[-1]))
        ):
            out[-1] = out[-1].rstrip() + " " + line[len(_BAR) :].strip()
        else:
            out.append(line)
    return "\n".join(out)
