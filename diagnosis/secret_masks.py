"""Value shapes and the masks that need more than one substitution, for the catalogue in ``secret_kinds``.

``Q``, ``BARE``, ``ENC_VALUE`` and ``URL_REST`` are the shapes a secret's value takes after its name or prefix
(quoted, bare, URL-encoded, the rest of a URL); the ``mask_*`` functions decide per match (or per text) what to
mask: ``-p`` flags only for commands whose ``-p`` is a password, URL userinfo, AWS secret keys that look random,
PEM blocks, and assignments chained through one another. Every pattern is bounded, as in the catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MASK = "[REDACTED]"

# A quoted value; the opening quote may be escaped, also repeatedly (``\'x\'`` in a repr, ``\"x\"`` in a
# JSON string, ``\\\"x\\\"`` in JSON inside JSON).
Q = r"(?:\\{0,8}\"[^\"\r\n]{0,4096}\"|\\{0,8}'[^'\r\n]{0,4096}')"
BARE = r"[^\s,;&\"'<>]{1,4096}"  # an unquoted value
ENC_VALUE = r"(?:(?!%26|%3[bB])%[0-9A-Fa-f]{2}|[^&\s\"'<>%;]){1,4096}"
URL_REST = r"[^\s\"'<>]{1,4096}"


def mask_chained_values(pattern: re.Pattern[str]) -> Callable[[str], str]:
    """Masks group 2 (the value) of every match of ``pattern``, looking for the next match from the start of each
    value rather than its end: in a chained assignment (``token = $env:ADMIN_PASSWORD = 'v'``, ``token =
    "client_secret": "v"``) one match's value is the next one's name."""

    def mask(text: str) -> str:
        spans: list[tuple[int, int]] = []
        pos = 0
        while (m := pattern.search(text, pos)) is not None:
            start, end = m.span(2)
            if spans and start < spans[-1][1]:  # inside the previous value: one span
                spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
            else:
                spans.append((start, end))
            pos = max(start, m.start() + 1)
        if not spans:
            return text
        parts, last = [], 0
        for start, end in spans:
            parts += [text[last:start], MASK]
            last = end
        parts.append(text[last:])
        return "".join(parts)

    return mask


PEM_BLOCK = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?)-----.*?(?:-----END \1-----|\Z)", re.DOTALL
)

# ``-p`` is a password only for some commands (mkdir -p, ssh -p 22 are not secrets): sshpass, useradd,
# docker login, or any line that also passes a user with -u/--username. ``-P`` is the password of
# sqlcmd/bcp/osql only, and an attached value (``-pSECRET``) only for the mysql family.
_P_FLAG_COMMAND = re.compile(
    r"(?i)(?:\b(?:sshpass|mysql\w{0,10}|mariadb|useradd|usermod|psexec|htpasswd|sqlcmd|bcp|osql)\b"
    r"|\b(?:docker|podman|helm|oras|az|buildah|skopeo|nerdctl)\s{1,4}(?:[\w-]{1,20}\s{1,4})?login\b"
    r"|(?:^|\s)(?:-u|--user(?:name)?)(?:\s{1,8}|=)\S)"
)
_UPPER_P_COMMAND = re.compile(r"(?i)\b(?:sqlcmd|bcp|osql|psexec)\b")
_ATTACHED_P_COMMAND = re.compile(r"(?i)\b(?:mysql\w{0,10}|mariadb)\b")
_P_FLAG = re.compile(r"(?:(?<=\s)|^)-([pP])(?:(\s{1,8})(" + Q + r"|[^\s\"'-][^\s\"']{0,4095})|([^\s\"'=]{1,4096}))")
_P_FLAG_WORDS = (
    "sshpass",
    "mysql",
    "mariadb",
    "useradd",
    "usermod",
    "psexec",
    "htpasswd",
    "sqlcmd",
    "bcp",
    "osql",
    "login",
    "-u",
    "--user",
)


def mask_p_flag(text: str) -> str:
    low = text.lower()
    if not any(w in low for w in _P_FLAG_WORDS) or not _P_FLAG_COMMAND.search(text):
        return text
    upper_ok = _UPPER_P_COMMAND.search(text) is not None
    attached_ok = _ATTACHED_P_COMMAND.search(text) is not None

    def repl(m: re.Match[str]) -> str:
        letter = m.group(1)
        if letter == "P" and not upper_ok:
            return m.group(0)
        if m.group(3) is not None:
            return f"-{letter}{m.group(2)}{MASK}"
        if attached_ok and letter == "p":
            return f"-{letter}{MASK}"
        return m.group(0)

    return _P_FLAG.sub(repl, text)


def mask_userinfo(m: re.Match[str]) -> str:
    if m.group("user") is not None:
        return f"{m.group('scheme')}{m.group('user')}:{MASK}@"
    return f"{m.group('scheme')}{MASK}@"


def mask_aws_secret(m: re.Match[str]) -> str:
    value = m.group(0)
    looks_random = (
        any(c.isupper() for c in value) and any(c.islower() for c in value) and any(c.isdigit() for c in value)
    )
    return MASK if looks_random else value


def mask_pem(m: re.Match[str]) -> str:
    return f"-----BEGIN {m.group(1)}-----{MASK}-----END {m.group(1)}-----"
