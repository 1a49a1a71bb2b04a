"""Literal keywords of a regex: strings one of which every match contains (what a keyword prefilter looks for)."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

try:  # the regex parser is internal; without it patterns simply get no derived keywords (slower scanning)
    import re._parser as _sre_parse  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Python < 3.11
    _sre_parse = None  # type: ignore[assignment]

MIN_KEYWORD = 3


def required_literals(pattern: str, flags: int = 0, min_length: int = MIN_KEYWORD) -> list[str] | None:
    """A set of literal strings such that every match of ``pattern`` contains at least one of them.

    Returns None when no such set with strings of at least ``min_length`` characters can be derived.
    """
    if _sre_parse is None:
        return None
    try:
        parsed = _sre_parse.parse(pattern, flags)
    except Exception:
        return None
    found = _seq_literals(list(parsed), min_length)
    if not found:
        return None
    return sorted(set(found))


def _seq_literals(items: list, min_length: int) -> list[str] | None:
    """Best literal alternatives for a sequence of parsed items (longest shortest-alternative wins)."""
    c = _sre_parse
    candidates: list[list[str]] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= min_length:
            candidates.append(["".join(run)])
        run.clear()

    for op, av in items:
        if op is c.LITERAL:
            run.append(chr(av))
            continue
        if op is c.BRANCH and run:  # "E(?:rror|xception)": the run joined to each alternative's leading literals
            leads = [_leading_run(list(b)) for b in av[1]]
            if all(leads) and len(run) + min(map(len, leads)) >= min_length:
                candidates.append(["".join(run) + lead for lead in leads])
        flush()
        sub = None
        if op is c.SUBPATTERN:
            sub = _seq_literals(list(av[-1]), min_length)
        elif op is c.BRANCH:
            branches = [_seq_literals(list(b), min_length) for b in av[1]]
            if all(branches):
                sub = [s for b in branches for s in b]  # type: ignore[union-attr]
        elif (
            op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT)
            if hasattr(c, "POSSESSIVE_REPEAT")
            else (op in (c.MAX_REPEAT, c.MIN_REPEAT))
        ):
            lo, _hi, inner = av
            if lo >= 1:
                sub = _seq_literals(list(inner), min_length)
        elif op is c.ATOMIC_GROUP if hasattr(c, "ATOMIC_GROUP") else False:
            sub = _seq_literals(list(av), min_length)
        if sub:
            candidates.append(sub)
    flush()
    if not candidates:
        return None
    # a single literal beats a set of alternatives unless the alternatives are clearly longer; on a tie, the longer
    return max(
        candidates,
        key=lambda alts: (min(len(a) for a in alts) - 3 * (len(alts) - 1), min(len(a) for a in alts), -len(alts)),
    )


def _leading_run(items: list) -> str:
    """The literal characters a sequence of parsed items starts with."""
    lead = []
    for op, av in items:
        if op is not _sre_parse.LITERAL:
            break
        lead.append(chr(av))
    return "".join(lead)


class AnyOf:
    """Alternative regexes searched as one (``regex``, their alternation) but faster: an alternative runs only on a
    text whose case-folded form contains one of the literals every match of it contains (``required_literals``); an
    alternative without such literals runs on every text."""

    def __init__(self, alternatives: Sequence[str], flags: int = 0, min_length: int = 2) -> None:
        self._alternation = ("|".join(f"(?:{a})" for a in alternatives), flags)
        self._always: list[re.Pattern[str]] = []
        self._keyed: list[re.Pattern[str]] = []
        needs: dict[str, set[int]] = {}  # a case-folded literal -> the keyed alternatives that require it
        for alternative in alternatives:
            compiled = re.compile(alternative, flags)
            words = required_literals(alternative, flags, min_length)
            if not words:
                self._always.append(compiled)
                continue
            for word in words:
                needs.setdefault(word.casefold(), set()).add(len(self._keyed))
            self._keyed.append(compiled)
        # at each position, the longest literal that starts there: the literals it starts with are there too
        longest_first = sorted(needs, key=len, reverse=True)
        self._words = re.compile("(?=(" + "|".join(map(re.escape, longest_first)) + "))") if needs else None
        self._runs: dict[str, tuple[int, ...]] = {
            word: tuple(sorted({i for shorter in needs if word.startswith(shorter) for i in needs[shorter]}))
            for word in needs
        }

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        """The alternatives as one regex (compiled when first read: the scan itself never needs it)."""
        return re.compile(*self._alternation)

    def search(self, text: str) -> bool:
        """Whether ``regex`` matches somewhere in ``text``."""
        if any(r.search(text) for r in self._always):
            return True
        if self._words is None:
            return False
        tried: set[int] = set()
        for found in self._words.finditer(text.casefold()):
            for i in self._runs[found.group(1)]:
                if i not in tried:
                    tried.add(i)
                    if self._keyed[i].search(text):
                        return True
        return False
