"""A pattern rewritten so that it cannot match a line feed, for the scanning automaton.

Log patterns apply to one line: an entry matches a line when its regex finds a match inside the line's bytes,
and those bytes hold no line feed. So every class of the pattern may drop the line feed without changing which
lines match: ``\\s`` becomes ``[\\t\\x0b\\f\\r ]``, ``\\D`` and ``\\W`` exclude it, a negated class ``[^...]``
gets ``\\n`` added. Run over the whole stream, the rewritten pattern then only finds matches that lie inside one
line, and the automaton's report needs no confirmation with the regex on the line (unless a literal line feed,
a class this rewrite leaves alone, or ``(?s)`` remains: ``can_match_newline`` on the result says so).
"""

from __future__ import annotations

import re

_SPACE_NO_LF = r"\t\x0b\f\r "  # \s without the line feed, for use inside a class
_OUTSIDE = {"s": f"[{_SPACE_NO_LF}]", "D": r"[^\d\n]", "W": r"[^\w\n]"}
_DOTALL_FLAG = re.compile(r"\(\?[aiLmsux-]*s[aiLmsux-]*[:)]")


def line_local(source: str) -> str:
    """``source`` with no class that accepts a line feed, where that can be said in the regex syntax itself."""
    if _DOTALL_FLAG.search(source):
        return source  # DOTALL: "." matches a line feed; left to the confirmation
    out: list[str] = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c == "\\" and i + 1 < n:
            out.append(_OUTSIDE.get(source[i + 1], source[i : i + 2]))
            i += 2
        elif c == "[":
            stop = _class_end(source, i)
            if stop < 0:
                return source
            out.append(_class(source[i + 1 : stop]))
            i = stop + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _class_end(source: str, start: int) -> int:
    """Index of the ``]`` closing the class opened at ``start`` (-1 when there is none)."""
    j = start + 1
    if j < len(source) and source[j] == "^":
        j += 1
    if j < len(source) and source[j] == "]":  # a "]" right at the start is a member
        j += 1
    while j < len(source):
        if source[j] == "\\":
            j += 2
            continue
        if source[j] == "]":
            return j
        if source[j] == "[":  # a nested set: not rewritten
            return -1
        j += 1
    return -1


def _class(body: str) -> str:
    if body.startswith("^"):
        rest = body[1:]
        if "\\n" in rest.replace("\\\\", ""):  # already without the line feed
            return "[" + body + "]"
        if rest[:1] in ("]", "-") or (rest.endswith("-") and not rest.endswith("\\-")):
            return "[" + body + "]"  # a "]" or "-" member at an edge: left as it is
        return "[^\\n" + rest + "]"
    parts: list[str] = []
    j = 0
    while j < len(body):
        if body[j] == "\\" and j + 1 < len(body):
            parts.append(_SPACE_NO_LF if body[j + 1] == "s" else body[j : j + 2])
            j += 2
        else:
            parts.append(body[j])
            j += 1
    return "[" + "".join(parts) + "]"
