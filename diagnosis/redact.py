"""Redaction of secrets from every string that leaves the project (evidence, alerts, printed output).

``redact(text)`` masks, in any text (one line or many), every kind of secret in the catalogue
(``diagnosis.secret_kinds.CATALOGUE``): SAS signatures and secret URL parameters, connection strings,
authorization and API-key headers, bearer tokens and JWTs, Entra client secrets, GitHub/GitLab/Slack/npm/PyPI/
Google tokens, AWS keys, Teams/Office 365/Slack/Discord webhook URLs, credentials in URL userinfo, password /
secret / token assignments and command-line flags (``--password x``, ``-p x``, ``net user NAME PASSWORD``), and
PEM private keys (a BEGIN line without an END masks everything after it).

``redact_json(value)`` does the same for a JSON-like value and also masks every string stored under a name that
says it is a secret (``{"adminPassword": "x"}``, a tag ``"sp-secret": "x"``), whatever the value looks like.

``LineRedactor`` does the same for a stream of lines and remembers an open PEM block across lines, so a key
that a log splits over many lines is masked line by line.

Every pattern uses bounded repetition and a cheap trigger check runs first, so ordinary log lines (the vast
majority) cost a few substring tests and lines of megabytes stay linear.
"""

from __future__ import annotations

import re
from typing import Any

from diagnosis.secret_kinds import CATALOGUE, MASK, TRIGGER_WORDS

__all__ = ["MASK", "LineRedactor", "is_secret_name", "redact", "redact_json"]

_PEM_BEGIN = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?)-----")
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----")
# The prefix a customization.log puts before the text of a line; kept when masking a key's body lines.
_LOG_PREFIX = re.compile(
    r"^(?:\[[^\]\r\n]{1,80}\]\s{0,4})?"
    r"(?:PACKER(?: (?:OUT|ERR))?\s{1,8}(?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\s{1,4})?"
    r"(?:[\w.-]{1,60}: (?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d )?)?(?:==>\s{0,4})?(?:azure-arm:\s{0,8})?)"
)


def _trie(words: list[str]) -> str:
    """A regex matching any of ``words``, as a prefix tree: one branch per first character instead of one
    alternative per word, so a search costs about one comparison per character of the text."""
    by_first: dict[str, list[str]] = {}
    for word in words:
        by_first.setdefault(word[0], []).append(word[1:])
    branches = []
    for first, rests in sorted(by_first.items()):
        if "" in rests:  # the shorter word is enough: any longer one contains it
            branches.append(re.escape(first))
        elif len(rests) == 1:
            branches.append(re.escape(first + rests[0]))
        else:
            branches.append(re.escape(first) + "(?:" + _trie(rests) + ")")
    return "|".join(branches)


# Trigger words that contain no other trigger word: any text with a trigger word contains one of these, and
# no one of them starts another, so at each position of a text at most one of them begins.
BASE_WORDS: tuple[str, ...] = tuple(w for w in TRIGGER_WORDS if not any(o != w and o in w for o in TRIGGER_WORDS))
# Searched in the lower-cased text: a match means some kind's trigger word is present.
TRIGGER_SEARCH = re.compile(_trie(list(BASE_WORDS)))
# Every occurrence of every base word, overlapping ones included (a zero-width match at each position).
BASE_WORD_FINDER = re.compile("(?=(" + _trie(list(BASE_WORDS)) + "))")
# Base word -> indexes (in CATALOGUE order) of the kinds with a trigger word containing it: only these kinds
# can apply to a text in which the base word was found.
KINDS_BY_BASE_WORD: dict[str, tuple[int, ...]] = {
    base: tuple(i for i, kind in enumerate(CATALOGUE) if any(base in w for w in kind.triggers)) for base in BASE_WORDS
}


# A JSON member or tag whose name ends in one of these (case and separators ignored) holds a secret.
_SECRET_NAME = re.compile(
    r"(?:password|passwd|pwd|passphrase|secret|token|apikey|accesskey|accountkey|privatekey|storagekey"
    r"|sharedkey|saskey|credential|credentials|connectionstring|pat)$"
)
MAX_JSON_DEPTH = 200


def redact(text: str) -> str:
    """Return ``text`` with every secret kind of the catalogue masked.

    Works on one line or a block of lines; an unterminated PEM private key masks everything after its BEGIN
    line.
    """
    if not text or not isinstance(text, str):
        return text
    low = text.lower()
    first = TRIGGER_SEARCH.search(low)
    if first is None:  # most lines: no trigger word at all
        return text
    found = set(BASE_WORD_FINDER.findall(low, first.start()))
    candidates = {i for word in found for i in KINDS_BY_BASE_WORD[word]}
    for index in sorted(candidates):
        kind = CATALOGUE[index]
        for word in kind.triggers:
            if word in low:
                changed = kind.apply(text)
                if changed is not text:
                    text, low = changed, changed.lower()
                break
    return text


def is_secret_name(name: str) -> bool:
    """True for member and tag names that say their value is a secret (``adminPassword``, ``sp-secret``)."""
    squashed = "".join(c for c in name.lower() if c.isalnum())
    return bool(_SECRET_NAME.search(squashed))


def redact_json(value: Any, *, _depth: int = 0) -> Any:
    """A copy of a JSON-like value with every string redacted and every value under a secret name masked.

    Structures nested deeper than ``MAX_JSON_DEPTH`` are replaced by a note instead of being walked.
    """
    if isinstance(value, str):
        return redact(value)
    if _depth >= MAX_JSON_DEPTH and isinstance(value, dict | list | tuple):
        return f"{MASK} (nested deeper than {MAX_JSON_DEPTH} levels)"
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            secret = isinstance(key, str) and is_secret_name(key)
            if secret and isinstance(item, str) and item:
                out[key] = MASK
            else:
                out[key] = redact_json(item, _depth=_depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [redact_json(item, _depth=_depth + 1) for item in value]
    return value


class LineRedactor:
    """Redacts a stream of lines, masking the body of a private key that spans several lines.

    ``redact_line(line)`` returns the line to emit. Inside a PEM block every line keeps its log prefix
    (``[opid] PACKER OUT     azure-arm: ``) and the rest is masked, until the END line.
    """

    __slots__ = ("in_key",)

    def __init__(self) -> None:
        self.in_key = False

    def redact_line(self, line: str) -> str:
        if not line:
            return line
        if self.in_key:
            end = _PEM_END.search(line)
            prefix = _LOG_PREFIX.match(line)
            head = prefix.group(0) if prefix else ""
            if end is None:
                return head + MASK if line[len(head) :].strip() else line
            self.in_key = False
            return head + MASK + redact(line[end.start() :])
        begin = _PEM_BEGIN.search(line) if "-----BEGIN" in line else None
        if begin is not None and not _PEM_END.search(line, begin.end()):
            self.in_key = True
            rest = line[begin.end() :]
            return redact(line[: begin.start()]) + begin.group(0) + (MASK if rest.strip() else rest)
        return redact(line)

    __call__ = redact_line

    def reset(self) -> None:
        self.in_key = False
