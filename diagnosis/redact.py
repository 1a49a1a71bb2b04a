"""Redaction of secrets from every string that leaves the project (evidence, alerts, printed output)."""

from __future__ import annotations

import re

MASK = "[REDACTED]"

_PEM = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----.*?(?:-----END \1-----|$)", re.DOTALL
)
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # SAS tokens: sig=..., and the other signature-bearing query parameters of a URL.
    (re.compile(r"(?i)\b(sig|signature|code|token|access_token|client_secret)=([^&\s\"'<>]+)"), r"\1=" + MASK),
    # Storage connection strings and similar key=value secrets.
    (re.compile(r"(?i)\b(AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd)=([^;\s\"']+)"), r"\1=" + MASK),
    # Authorization headers and bearer tokens.
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]{8,}=*"), r"\1 " + MASK),
    # JWTs anywhere.
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK),
    # Script and JSON assignments: password=..., $secret = "...", "client_secret": "..."
    (
        re.compile(
            r"(?i)([\"']?\b[\w.-]*(?:password|passwd|pwd|secret|apikey|api_key|accesskey|access_key|token)[\w.-]*"
            r"[\"']?\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&\"']+)"
        ),
        r"\1" + MASK,
    ),
    # Command-line flags: -Password x, --client-secret x, /p:Token x
    (
        re.compile(r"(?i)((?:^|\s)(?:--?|/)[\w-]*(?:password|passwd|secret|token|key)[\w-]*\s+)(\"[^\"]*\"|'[^']*'|\S+)"),
        r"\1" + MASK,
    ),
)


def redact(text: str) -> str:
    """Return ``text`` with SAS signatures, account keys, tokens, passwords and private keys masked."""
    if not text:
        return text
    text = _PEM.sub(lambda m: f"-----BEGIN {m.group(1)}-----{MASK}-----END {m.group(1)}-----", text)
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text
