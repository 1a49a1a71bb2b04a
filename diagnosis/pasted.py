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
message PowerShell 7 cuts at the console's width in its ConciseView of an error record (``diagnosis.wrapped``).
Packer's machine-readable output (``1589606815,,ui,error,<message>``, commas as ``%!(PACKER_COMMA)``, line breaks as
``\\n``) becomes the messages it carries.
"""

from __future__ import annotations

import html
import itertools
import re

from diagnosis.wrapped import join_concise_messages, join_wrapped_lines

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
# a whole line a reporter marked up as code or emphasis in Markdown: "`Error: ...`", "**Error: ...**" (emphasis may
# hold a backtick, as sed's "unterminated `s' command" does, code may not; the closing marks may follow a space that
# a copied message ends with)
_MARKDOWN_LINE = re.compile(
    r"^([ \t]*)(?:(`{1,2})(?=\S)([^\n`]{1,4000}?)\2|(\*{1,2}|_{2})(?=\S)([^\n]{1,4000}?)[ \t]*\4)[ \t]*$",
    re.MULTILINE,
)
# a Markdown list item's marker ("- ", "* ", "1. ") before what a reporter lists, often a message in code marks;
# not "+ ": a shell trace's command and a PowerShell error record's lines start with it
_MARKDOWN_BULLET = re.compile(r"^([ \t]{0,3})(?:[-*]|\d{1,2}\.) (?=[ \t]{0,8}[^\s\d-])", re.MULTILINE)
_HTML_ESCAPED = re.compile(r"&(?:quot|apos|lt|gt|amp|#\d{1,5}|#x[0-9a-fA-F]{1,4});")
# Packer's machine-readable output (packer build -machine-readable), one message a line: "<unix time>,<target>,ui,
# <say|message|error>,<message>" or "<unix time>,<target>,error,<message>", with a comma in the message written
# "%!(PACKER_COMMA)", a line break "\n" and a carriage return "\r" (Packer's docs, "Machine-readable output"); a
# "\r" alone stays, as a shell's "$'\r': command not found" prints it
_PACKER_COMMA = "%!(PACKER_COMMA)"
_MACHINE_READABLE = re.compile(r"^\d{9,11},[^,\n]{0,120},(?:ui,(?:say|message|error)|error),([^\n]*)", re.MULTILINE)
MAX_PASSES = 3  # a message nested in a message nested in a message
MAX_WRAPPERS = 3  # a quote, a CI system's prefix, a PowerShell stream's prefix
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
    r"^[ \t]{0,3}(?:>[ \t]?){1,2}(?![ \t]*>)"  # one or two levels of quoting (an empty quoted line too), not ">>>"
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


# a viewer's or a reply's line-number gutter ("1351 | amazon-ebs.linux: ..."), counted as one only where the numbers run
# on from line to line: PowerShell's concise error view numbers one line of its record, a table's cells are no run
_GUTTER = re.compile(r"^[ \t]{0,6}(\d{1,7}) \| ", re.MULTILINE)
MIN_GUTTER_RUN = 3


def _drop_line_number_gutter(text: str) -> str:
    numbers = [int(m.group(1)) for m in _GUTTER.finditer(text)]
    runs = sum(1 for a, b in itertools.pairwise(numbers) if b == a + 1)
    if runs + 1 < MIN_GUTTER_RUN or 2 * runs < len(numbers):
        return text
    return _GUTTER.sub("", text)


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
    entities decoded, and quote markers, CI log prefixes and line-number gutters removed from its lines (a quote then
    a prefix, as a reply quoting a CI log), Packer's machine-readable lines made the messages they carry, web pages'
    no-break and zero-width characters, typographic quotes and ellipses and terminals' colour codes made plain or
    dropped (``plain_text``), ``<br>`` made a line break, a whole line's Markdown code or emphasis marks and a list
    item's marker dropped, and the lines a console cut at its width or a mail client or an editor wrapped at word
    boundaries joined again; its lines end in LF (``plain_line_ends``)."""
    text = _HTML_BREAK.sub("\n", plain_text(_drop_line_number_gutter(plain_line_ends(text))))
    # a wrapped message's lines, each marked up, join as one (list markers stay: a console cuts lines by width)
    text = join_wrapped_lines(_MARKDOWN_LINE.sub(_unmarked_line, text))
    for _ in range(MAX_PASSES):
        if not _json_escaped(text):
            break
        text = _JSON_ESCAPE.sub(_unescape_json, text).replace("\r\n", "\n")
    text = _decode_clixml(text)
    if _HTML_ESCAPED.search(text):
        text = html.unescape(text)
    for _ in range(MAX_WRAPPERS):
        text = _LINE_WRAPPER.sub("", text)
    text = _drop_line_number_gutter(text)  # a viewer's gutter inside a quote or behind a CI prefix
    # the comma's stand-in also where a JSON or quote unescaping above already split a message into its lines
    text = _MACHINE_READABLE.sub(_machine_readable_message, text).replace(_PACKER_COMMA, ",")
    return join_concise_messages(join_wrapped_lines(_drop_markdown(text)))


def _drop_markdown(text: str) -> str:
    """``text`` without the Markdown marks around its whole lines and before its list items."""
    return _MARKDOWN_LINE.sub(_unmarked_line, _MARKDOWN_BULLET.sub(r"\1", text))


def _unmarked_line(m: re.Match[str]) -> str:
    """A ``_MARKDOWN_LINE`` match without its code or emphasis marks."""
    return m[1] + (m[3] if m[2] else m[5])
