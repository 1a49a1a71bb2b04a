"""Which regexes may run on a log: only those that match in time linear in the line's length.

Python's ``re`` backtracks: ``(a+)+$`` on 41 bytes of ``a`` runs for hours, and ``\\d+ B`` searched over a long
run of digits takes time quadratic in the run. Every knowledge-base pattern (built-in or from a user file) is
checked here when it is loaded and refused with a reason when it could backtrack:

* RE2 syntax only when the ``re2`` module (PyPI ``google-re2``) is importable: RE2 has no back-references or
  look-arounds, the features that need a backtracking engine;
* always, a structural check of the parsed pattern that refuses what makes a backtracking engine slow:
  back-references, look-arounds, conditionals, a repeat inside an unbounded repeat (or an unbounded one inside
  any repeat), an alternation inside an unbounded repeat whose branches can start alike, two unbounded repeats
  with nothing required between them, and an unanchored pattern that starts with an unbounded repeat
  (searching it re-scans the same run from every start: write ``\\d B``, not ``\\d+ B``).

What passes is matched by a scanning automaton (Hyperscan) or by ``re`` on one bounded line at a time.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

try:
    import re._parser as _sre  # type: ignore[import-not-found]
    from re._constants import MAXREPEAT  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_parse as _sre  # type: ignore[no-redef]
    from sre_constants import MAXREPEAT  # type: ignore[no-redef]

try:  # optional: RE2's own parser decides what RE2 syntax is
    import re2 as _re2  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the install
    _re2 = None

MAX_BOUNDED = 1000  # a repeat with a larger upper bound counts as unbounded

_REPEATS = {_sre.MAX_REPEAT, _sre.MIN_REPEAT}
if hasattr(_sre, "POSSESSIVE_REPEAT"):
    _REPEATS.add(_sre.POSSESSIVE_REPEAT)
_ASSERTS = {_sre.ASSERT, _sre.ASSERT_NOT}
_GROUPREFS = {_sre.GROUPREF, _sre.GROUPREF_EXISTS}
for _name in ("GROUPREF_IGNORE", "GROUPREF_LOC_IGNORE", "GROUPREF_UNI_IGNORE"):
    if hasattr(_sre, _name):
        _GROUPREFS.add(getattr(_sre, _name))


class NotLinear(ValueError):
    """The pattern could take more than linear time; the message says which construct."""


def check_linear(pattern: str, flags: int = 0) -> None:
    """Raise ``NotLinear`` naming the construct when ``pattern`` could backtrack; ``re.error`` if invalid."""
    problem = _syntax_problem(pattern)
    if problem:
        raise NotLinear(problem)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        try:
            parsed = _sre.parse(pattern, flags)
        except FutureWarning as exc:  # "possible nested set": [[:alpha:]] reads differently elsewhere
            raise NotLinear(f"ambiguous set syntax ({exc})") from None
    _check_sequence(list(parsed), inside_repeat=None)
    first = _first_mandatory(list(parsed))
    if first is not None and first[0] in _REPEATS and _unbounded(first[1]):
        raise NotLinear("starts with an unbounded repeat (searching it is quadratic; drop the '+'/'*' there)")
    if _re2 is not None:
        options = _re2.Options()
        options.log_errors = False  # the reason is raised, not printed
        try:
            _re2.compile(pattern, options)
        except Exception as exc:  # re2 raises its own error type
            raise NotLinear(f"not RE2 syntax ({_short(exc)})") from None


_OPEN_LOWER_BOUND = re.compile(r"(?<!\\)(?:\\\\)*\{,\d")
_GLOBAL_FLAGS = re.compile(r"\(\?[a-zA-Z]*[aLu][a-zA-Z]*[:)]")


def _syntax_problem(pattern: str) -> str | None:
    """Python-only syntax other engines read differently (the automaton and RE2 take ``{,3}`` literally)."""
    if _OPEN_LOWER_BOUND.search(pattern):
        return "'{,n}' repeat: write '{0,n}'"
    if _GLOBAL_FLAGS.search(pattern):
        return "inline flag a, L or u: patterns are matched on bytes with ASCII classes already"
    return None


def re2_available() -> bool:
    return _re2 is not None


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.removeprefix("b'").removesuffix("'")


def _unbounded(av: Any) -> bool:
    return av[1] is MAXREPEAT or av[1] == MAXREPEAT or av[1] > MAX_BOUNDED


def _first_mandatory(items: list) -> tuple | None:
    """The first item of a sequence a match cannot skip (groups are looked into)."""
    for op, av in items:
        if op is _sre.AT:
            if av in (_sre.AT_BEGINNING, _sre.AT_BEGINNING_STRING):
                return None  # anchored: searched from one position per line, no re-scan
            continue
        if op is _sre.SUBPATTERN:
            inner = _first_mandatory(list(av[-1]))
            if inner is not None:
                return inner
            continue
        if op in _REPEATS and av[0] == 0 and not _unbounded(av):
            continue
        return op, av
    return None


def _check_sequence(items: list, inside_repeat: tuple[int, bool] | None) -> None:
    """Walk a parsed sequence; ``inside_repeat`` is (max, unbounded) of the nearest enclosing repeat."""
    loose_unbounded = False  # an unbounded repeat was seen with only optional items since
    for op, av in items:
        if op in _GROUPREFS:
            raise NotLinear("back-reference (needs backtracking)")
        if op in _ASSERTS:
            raise NotLinear("look-around (needs backtracking); match the text itself instead")
        if op is _sre.SUBPATTERN:
            _check_sequence(list(av[-1]), inside_repeat)
            continue
        if hasattr(_sre, "ATOMIC_GROUP") and op is _sre.ATOMIC_GROUP:
            _check_sequence(list(av), inside_repeat)
            continue
        if op is _sre.BRANCH:
            if inside_repeat is not None and inside_repeat[1] and not _distinct_starts(av[1]):
                raise NotLinear("repeated alternation whose branches can start alike, such as (a|ab)*")
            for branch in av[1]:
                _check_sequence(list(branch), inside_repeat)
            continue
        if op in _REPEATS:
            lo, hi, body = av
            unbounded = _unbounded(av)
            if inside_repeat is not None and hi > 1 and (unbounded or inside_repeat[1]):
                raise NotLinear("nested repeat such as (a+)+ (catastrophic backtracking)")
            if unbounded and loose_unbounded:
                raise NotLinear("two unbounded repeats with nothing required between them")
            _check_sequence(list(body), (hi, unbounded) if hi > 1 else inside_repeat)
            if unbounded:
                loose_unbounded = True
            elif lo > 0:
                loose_unbounded = False
            continue
        if op is _sre.AT and av in (_sre.AT_BEGINNING_STRING, _sre.AT_END_STRING):
            raise NotLinear("\\A or \\Z: patterns match one line at a time, use ^ and $")
        if op is not _sre.AT:
            loose_unbounded = False


def _distinct_starts(branches: list) -> bool:
    """Every branch starts with its own literal character (then at most one branch applies at a time)."""
    firsts = []
    for branch in branches:
        items = list(branch)
        if not items or items[0][0] is not _sre.LITERAL:
            return False
        firsts.append(items[0][1])
    return len(set(firsts)) == len(firsts)


def can_match_newline(pattern: str | bytes, flags: int = 0) -> bool:
    """True when some match of ``pattern`` could contain a line feed (then a match must be confirmed on its
    line); unknown constructs count as True."""
    parsed = _sre.parse(pattern, flags)
    dotall = bool(parsed.state.flags & _sre.SRE_FLAG_DOTALL)
    return _items_newline(list(parsed), dotall)


def _items_newline(items: list, dotall: bool) -> bool:
    for op, av in items:
        if op is _sre.LITERAL:
            if av == 10:
                return True
        elif op is _sre.NOT_LITERAL:
            if av != 10:
                return True
        elif op is _sre.ANY:
            if dotall:
                return True
        elif op is _sre.IN:
            if _class_newline(av):
                return True
        elif op is _sre.SUBPATTERN:
            if _items_newline(list(av[-1]), dotall):
                return True
        elif op is _sre.BRANCH:
            if any(_items_newline(list(b), dotall) for b in av[1]):
                return True
        elif op in _REPEATS:
            if _items_newline(list(av[2]), dotall):
                return True
        elif op is not _sre.AT:
            return True
    return False


_NEWLINE_CATEGORIES = {_sre.CATEGORY_SPACE, _sre.CATEGORY_NOT_DIGIT, _sre.CATEGORY_NOT_WORD}
_OTHER_CATEGORIES = {_sre.CATEGORY_DIGIT, _sre.CATEGORY_WORD, _sre.CATEGORY_NOT_SPACE}


def _class_newline(items: list) -> bool:
    negate = False
    hit = False
    for op, av in items:
        if op is _sre.NEGATE:
            negate = True
        elif op is _sre.LITERAL:
            hit = hit or av == 10
        elif op is _sre.RANGE:
            hit = hit or av[0] <= 10 <= av[1]
        elif op is _sre.CATEGORY:
            if av in _NEWLINE_CATEGORIES:
                hit = True
            elif av not in _OTHER_CATEGORIES:
                return True
        else:
            return True
    return hit != negate


def linear_problem(pattern: str, flags: int = 0) -> str | None:
    """The reason ``pattern`` is refused, or None when it is linear-time (invalid regexes raise re.error)."""
    try:
        check_linear(pattern, flags)
    except NotLinear as exc:
        return str(exc)
    return None


__all__ = ["MAX_BOUNDED", "NotLinear", "can_match_newline", "check_linear", "linear_problem", "re2_available"]
