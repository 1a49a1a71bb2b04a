"""Pasted text as it was printed: JSON string escapes and HTML entities undone, quote markers and CI log prefixes
removed.

Reports often carry an error message inside a JSON string (``az`` output, an ARM error body nested in another
one's ``message``, a portal export) or HTML-escaped (issue trackers, web pages): ``\\"code\\": \\"X\\"``,
``\\r\\n``, ``\\u0027``, ``&quot;``. Patterns are written for the printed message, so such text is unescaped
first. Only text that shows an unmistakable escape (an escaped quote, ``\\r\\n``, ``\\uXXXX``, or ``\\n`` before
what starts a line) is touched: a Windows path such as ``C:\\temp\\new`` in plain text stays as it is.

Replies quote earlier text line by line (``> ``, ``> > ``), and CI systems put their own prefix before every line a
build printed: Azure DevOps a timestamp (``2024-01-19T12:22:07.4918893Z ``), a GitHub Actions log downloaded with ``gh
run view --log`` the job, the step and a timestamp separated by tabs, GitLab's raw job log a timestamp and the stream
(``2024-01-19T12:22:07.491918Z 01O ``), Jenkins' Timestamper a bracketed one (``[2024-01-19T12:22:07.491Z] ``), a system
log the time, the host and the program (``Jun 12 14:37:59 vm cloud-init[1234]: ``), a PowerShell script that runs the
build and relays its output with Write-Verbose ``VERBOSE: ``; Terraform draws a box around each error (``╷``, ``│ Error:
...``, ``╵``). These are removed so the patterns and the tests for line starts (``Error: ...``, a reporter's sentence)
see the line the program or the reporter wrote. Three or more ``>`` are kept: scripts print them (``>>> Sysprep
complete``). Web pages' no-break and zero-width characters, the typographic quotes and ellipses a word processor or a
mail client sets, and a terminal's colour codes (``\x1b[1;32m``, or ``[1;32m`` once a web page dropped the escape
character) are no part of what was printed either, and a web page's ``<br>`` is the line break it stands for; nor is the
Markdown a reporter puts around a whole line (```Error: ...```, ``**Error: ...**``) or before a list item (``- ``, ``*
``, ``1. ``). A console window may have cut every long line at its width, and a mail client or a commit-message
editor may have wrapped the lines at word boundaries; such lines are joined again (before the unescaping, which changes
line lengths, and after the prefixes are removed, since a quote or a CI prefix adds its own width), and so is the
message PowerShell 7 cuts at the console's width in its ConciseView of an error record. Packer's machine-readable
output (``1589606815,,ui,error,<message>``, commas as ``%!(PACKER_COMMA)``, line breaks as ``\\n``) becomes the
messages it carries.
"""

from __future__ import annotations

import html
import re

_JSON_ESCAPED = re.compile(r'\\"|\\r\\n|\\u[0-9a-fA-F]{4}|\\n[\s\[=>{}"\'\\0-9A-Z]')
_BACKSLASH_PAIR = re.compile(r"\\(.?)", re.DOTALL)
_PLAIN_WINDOWS_PATH = re.compile(r"\b[A-Za-z]:\\[^\\]")
_JSON_ESCAPE = re.compile(r'\\(?:u([0-9a-fA-F]{4})|(["\\/bfnrt]))')
_SIMPLE = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
# spaces a web page or a word processor puts where the program printed a plain space (no-break, thin, ideographic),
# and zero-width characters copied along with the text
_UNICODE_SPACE = re.compile("[\u00a0\u2000-\u200a\u202f\u205f\u3000]")
_ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff]")
# the quotes and the ellipsis a word processor, a mail or chat client or a web page's typography puts where the program
# printed plain ones (GNU tools' own ‘name’ in a UTF-8 locale read the same once plain: the patterns accept both)
_TYPOGRAPHY = str.maketrans(
    {**dict.fromkeys("\u2018\u2019\u201a\u201b", "'"), **dict.fromkeys("\u201c\u201d\u201e\u201f", '"'),
     "\u2026": "..."}
)
# a terminal's colour codes (Packer colours its lines; CI logs keep the codes, or show them without the escape
# character when copied from a web page): "\x1b[1;32m", "[0;32m", "[33;1mVERBOSE: ...", "[0m" (a single number
# only when no word follows: "[3mx" may be text)
_COLOUR_CODE = re.compile(
    r"\x1b\[[0-9;]{0,16}[A-Za-z]|(?<![\]\[])\[(?:(?:\d{1,3};){1,4}\d{1,3}m|\d{1,3}m(?![\w\]]))"
)
# a line break as a web page's HTML writes it (a table cell, a comment copied as HTML)
_HTML_BREAK = re.compile(r"<br\s{0,4}/?>", re.IGNORECASE)
# a whole line a reporter marked up as code or emphasis in Markdown: "`Error: ...`", "**Error: ...**"
_MARKDOWN_LINE = re.compile(r"^([ \t]*)(`{1,2}|\*{1,2}|_{2})(?=\S)([^\n`]{1,4000}?)(?<=\S)\2[ \t]*$", re.MULTILINE)
# a Markdown list item's marker ("- ", "* ", "1. ") before what a reporter lists, often a message in code marks;
# not "+ ": a shell trace's command and a PowerShell error record's lines start with it
_MARKDOWN_BULLET = re.compile(r"^([ \t]{0,3})(?:[-*]|\d{1,2}\.) (?=[ \t]{0,8}[^\s\d-])", re.MULTILINE)
_HTML_ESCAPED = re.compile(r"&(?:quot|apos|lt|gt|amp|#\d{1,5}|#x[0-9a-fA-F]{1,4});")
# a line that starts a log record of its own (a date), never the rest of a line cut above it
_DATE = r"\d{4}[/-]\d\d[/-]\d\d"
_RECORD_START = re.compile(_DATE)
# Packer's machine-readable output (packer build -machine-readable), one message a line: "<unix time>,<target>,ui,
# <say|message|error>,<message>" or "<unix time>,<target>,error,<message>", with a comma in the message written
# "%!(PACKER_COMMA)", a line break "\n" and a carriage return "\r" (Packer's docs, "Machine-readable output"); a
# "\r" alone stays, as a shell's "$'\r': command not found" prints it
_PACKER_COMMA = "%!(PACKER_COMMA)"
_MACHINE_READABLE = re.compile(r"^\d{9,11},[^,\n]{0,120},(?:ui,(?:say|message|error)|error),([^\n]*)", re.MULTILINE)
# widths at which consoles cut lines (conhost's and terminals' default window widths)
CONSOLE_WIDTHS = (80, 120)
MAX_PASSES = 3  # a message nested in a message nested in a message
MAX_WRAPPERS = 3  # a quote, a CI system's prefix, a PowerShell stream's prefix
# PowerShell 7's ConciseView of an error in a script: the script's numbered line below its "Line |" header
_CONCISE_CODE = re.compile(r" *\d{1,7} \| ")
# the line above the header: "<reason>: <script>:<line>", the reason a command's name, "Error" or "Exception"
_CONCISE_HEAD = re.compile(r" *([A-Za-z][\w.\\-]{0,100}): \S[^\n]{0,400}:\d{1,7}[ \t]*$")
# PowerShell's CLIXML, how a remote session (WinRM: Packer's powershell provisioner, Ansible's win_* modules)
# returns a script's error, warning and progress streams: "#< CLIXML", then <Objs ...> holding
# <S S="Error">...</S> records (one per printed line, XML-escaped, CR LF as _x000D__x000A_) and
# <Obj S="progress"> objects
_CLIXML_START = re.compile(r"#< CLIXML|<Objs Version=")
_CLIXML_TAG = re.compile(r"<(/?)(\w{1,20})(?:\s[^<>\n]{0,400})?>")
_CLIXML_CHAR = re.compile(r"_x([0-9A-Fa-f]{4})_")
# a record's CR LF copied without the CLIXML around it (the closing "_" may be cut off with the line)
_CLIXML_NEWLINE = re.compile(r"_x000[Dd]__x000[Aa]_?")
_LINE_WRAPPER = re.compile(
    r"^[ \t]{0,3}(?:>[ \t]?){1,2}(?![ \t]*[>\n])"  # one or two levels of quoting, not a script's ">>>"
    r"|^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d): "  # Packer's -timestamp-ui: RFC 3339 time, ": "
    # Azure DevOps, GitHub Actions (job and step before), GitLab (its stream and "+" for a continued line after)
    r"|^(?:[^\t\n]{1,200}\t[^\t\n]{1,200}\t)?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z ?(?:[0-9a-f]{2}[OE]\+? ?)?"
    r"|^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z\] ?"  # Jenkins' Timestamper in a pipeline's console
    r"|^[ \t]{0,3}(?:\u2502 ?|[\u2577\u2575][ \t]*$)"  # the box Terraform draws around an error: "│ Error: ..."
    r"|^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d [\w.-]{1,80} [\w.@/-]{1,80}(?:\[\d{1,9}\])?: "  # syslog, journalctl
    # PowerShell's verbose and debug streams, as a script that runs the build relays its output (Write-Verbose)
    r"|^(?:VERBOSE|DEBUG): ",
    re.MULTILINE,
)


def _unescape_json(match: re.Match[str]) -> str:
    code, simple = match.groups()
    if simple is not None:
        return _SIMPLE[simple]
    char = chr(int(code, 16))
    return char if char.isprintable() or char in "\n\t" else match.group(0)


def _json_escaped(text: str) -> bool:
    """An escaped quote, CRLF or code point; or escaped line feeds or backslashes in a text whose every backslash
    is an escape and no Windows path is written plainly."""
    if _JSON_ESCAPED.search(text):
        return True
    if ("\\n" not in text and "\\\\" not in text) or _PLAIN_WINDOWS_PATH.search(text):
        return False
    return all(c and c in '"\\/bfnrtu' for c in _BACKSLASH_PAIR.findall(text))


def plain_text(text: str) -> str:
    """``text`` with no-break and other typographic spaces made plain spaces, typographic quotes and ellipses made
    plain, and zero-width characters and terminal colour codes dropped."""
    return _COLOUR_CODE.sub("", _ZERO_WIDTH.sub("", _UNICODE_SPACE.sub(" ", text))).translate(_TYPOGRAPHY)


def _clixml_char(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return "\n" if char == "\n" else "" if char == "\r" else char if char.isprintable() or char == "\t" else " "


def clixml_lines(line: str) -> tuple[str, list[str]] | None:
    """The text before a line's CLIXML and the lines its string records print (error, warning, verbose,
    information; progress objects dropped), or None when the line holds no CLIXML."""
    start = _CLIXML_START.search(line)
    if start is None:
        return None
    rest = line[start.start() :].removeprefix("#< CLIXML")
    printed: list[str] = []
    inside: list[str] | None = None  # the text of the record being read
    objects, last = 0, 0
    for tag in _CLIXML_TAG.finditer(rest):
        if inside is not None:
            inside.append(rest[last : tag.start()])
        closing, name = tag.group(1) == "/", tag.group(2)
        if name == "S" and objects == 0:
            if closing and inside is not None:
                printed.append("".join(inside))
            inside = None if closing else []
        elif name == "Obj" and not tag.group(0).endswith("/>"):
            objects = max(0, objects - 1) if closing else objects + 1
        last = tag.end()
    if inside is not None:  # a record cut off with the line
        printed.append("".join(inside) + rest[last:])
    text = html.unescape(_CLIXML_CHAR.sub(_clixml_char, "".join(printed)))
    return line[: start.start()], [part.rstrip() for part in text.split("\n") if part.strip()]


def readable_clixml(line: str) -> str:
    """A line holding CLIXML as what it printed, on one line (evidence and summaries)."""
    found = clixml_lines(line)
    return line if found is None else found[0] + " ".join(part.strip() for part in found[1])


def _decode_clixml(text: str) -> str:
    if _CLIXML_START.search(text) is None:
        return _CLIXML_NEWLINE.sub("\n", text)
    out = []
    for line in text.split("\n"):
        found = clixml_lines(line)
        out.extend([line] if found is None else [found[0] + part for part in found[1]] or [found[0]])
    return "\n".join(out)


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


def _unwrap_hard_wrapped(text: str) -> str:
    """``text`` with the lines a console cut at its width joined again.

    A text is taken as hard-wrapped when its longest lines are as wide as a console (80 or 120 columns) and one of
    them reads as cut (``_cut_at``). Lines of that width are then joined with the line after them, unless that line
    starts with a date (a log record of its own). A table whose rows share one width stays as it is; text wrapped at
    word boundaries (more of its lines end short where a word did not fit than fill the width) is
    ``_unwrap_word_wrapped``'s."""
    lines = text.split("\n")
    width = max(map(len, lines))
    if len(lines) < 2 or width not in CONSOLE_WIDTHS:
        return text
    full = {i for i, line in enumerate(lines[:-1]) if len(line) == width and not _RECORD_START.match(lines[i + 1])}
    if not any(_cut_at(lines[i], lines[i + 1], width) for i in full):
        return text
    if width in _WORD_WRAP_WIDTHS and len(_word_cuts(lines, width) - full) > len(full):
        return text  # more lines end short of the width where a word did not fit: wrapped at word boundaries
    return _joined(lines, full, "")


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


def _join_wrapped_lines(text: str) -> str:
    """``text`` with the lines a console cut at its width, or a mail client or an editor wrapped at word boundaries,
    joined again."""
    return _unwrap_word_wrapped(_unwrap_hard_wrapped(text))


def _join_concise_messages(text: str) -> str:
    """``text`` with the message of each PowerShell 7 error record in ConciseView on one line.

    ConciseView prints an error from a script as ``<reason>: <script>:<line>``, ``Line |``, the script's line
    (``  12 |  <code>``), a line of ``~`` under the failing part, and the message behind ``     | ``, cut at the
    console's width where a word ends and continued behind the same ``     | `` (PowerShell's
    ``Get-ConciseViewPositionMessage``). The message's lines become one line in the shape the other error views
    give it, ``<reason> : <message>`` (Windows PowerShell's NormalView, which the error-record entries read), behind
    the prefix the header has (a builder's)."""
    if "Line |" not in text:
        return text
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
        bar = lead + pad + "     | "
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


def _machine_readable_message(match: re.Match[str]) -> str:
    return match.group(1).replace("\\r\\n", "\n").replace("\\n", "\n")


def plain_line_ends(text: str) -> str:
    """``text`` with NUL bytes dropped and its lines ending in LF: CR LF and CR CR LF (a CR LF text saved again on
    Windows) become LF, and so does every CR of a text whose lines end with CR alone (no LF in it). In a text that
    has LF line ends a lone CR stays: a progress bar redraws its line with it."""
    text = text.replace("\x00", "").replace("\r\r\n", "\n").replace("\r\n", "\n")
    return text if "\n" in text else text.replace("\r", "\n")


def unescape_pasted(text: str) -> str:
    """``text`` with JSON string escapes undone (as many levels as it shows), CLIXML made the lines it prints, HTML
    entities decoded, and quote markers and CI log prefixes removed from its lines (a quote then a prefix, as a
    reply quoting a CI log), Packer's machine-readable lines made the messages they carry, web pages' no-break and
    zero-width characters, typographic quotes and ellipses and terminals' colour codes made plain or dropped
    (``plain_text``), ``<br>`` made a line break, a whole line's Markdown code or emphasis marks and a list item's
    marker dropped, and the lines a console cut at its width or a mail client or an editor wrapped at word boundaries
    joined again; its lines end in LF
    (``plain_line_ends``)."""
    text = _join_wrapped_lines(_HTML_BREAK.sub("\n", plain_text(plain_line_ends(text))))
    for _ in range(MAX_PASSES):
        if not _json_escaped(text):
            break
        text = _JSON_ESCAPE.sub(_unescape_json, text).replace("\r\n", "\n")
    text = _decode_clixml(text)
    if _HTML_ESCAPED.search(text):
        text = html.unescape(text)
    for _ in range(MAX_WRAPPERS):
        text = _LINE_WRAPPER.sub("", text)
    # the comma's stand-in also where a JSON or quote unescaping above already split a message into its lines
    text = _MACHINE_READABLE.sub(_machine_readable_message, text).replace(_PACKER_COMMA, ",")
    text = _MARKDOWN_LINE.sub(r"\1\3", _MARKDOWN_BULLET.sub(r"\1", text))
    return _join_concise_messages(_join_wrapped_lines(text))
