"""Redaction of secrets from every string that leaves the project (evidence, alerts, printed output).

``redact(text)`` masks, in any text (one line or many):

- SAS signatures (``sig=``, also URL-encoded ``sig%3D``), ``code=`` / ``token=`` query parameters of URLs;
- storage and service-bus connection strings (``AccountKey=``, ``SharedAccessKey=``,
  ``SharedAccessSignature=``, ``Password=`` / ``Pwd=``);
- ``Authorization:`` headers, bearer tokens and JWTs;
- password / secret / token assignments (``password=x``, ``$env:ADMIN_PASSWORD = 'x'``,
  ``export FOO_SECRET=x``, ``"client_secret": "x"``) and command-line flags (``--password x``,
  ``-Password x``, ``/p:x``, ``sshpass -p x``, ``docker login -u me -p x``, ``mysql -pX``,
  ``ConvertTo-SecureString 'x' -AsPlainText``);
- PEM private keys (a BEGIN line without an END masks everything after it).

``LineRedactor`` does the same for a stream of lines and remembers an open PEM block across lines, so a key
that a log splits over many lines is masked line by line.

Every pattern uses bounded repetition and a cheap trigger check runs first, so ordinary log lines (the vast
majority) cost one regex search and lines of megabytes stay linear.
"""

from __future__ import annotations

import re

MASK = "[REDACTED]"

# Any secret-bearing text contains one of these (lower case); lines without them are returned untouched.
# Substring tests on the lowered line cost far less than one case-insensitive regex search.
_TRIGGER_WORDS = (
    "sig",
    "key",
    "pass",
    "pwd",
    "secret",
    "token",
    "bearer",
    "authori",
    "eyj",
    "-----begin",
    "/p:",
    "-p",
    "code=",
    "code%3d",
    "credential",
)

_PEM_BEGIN = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?)-----")
_PEM_END = re.compile(r"-----END (?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?-----")
_PEM_BLOCK = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?)-----.*?(?:-----END \1-----|\Z)", re.DOTALL
)
# The prefix a customization.log puts before the text of a line; kept when masking a key's body lines.
_LOG_PREFIX = re.compile(
    r"^(?:\[[^\]\r\n]{1,80}\]\s{0,4})?"
    r"(?:PACKER(?: (?:OUT|ERR))?\s{1,8}(?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\s{1,4})?"
    r"(?:[\w.-]{1,60}: (?:\d{4}/\d\d/\d\d \d\d:\d\d:\d\d )?)?(?:==>\s{0,4})?(?:azure-arm:\s{0,8})?)"
)

_Q = r"(?:\"[^\"\r\n]{0,4096}\"|'[^'\r\n]{0,4096}')"  # a quoted value
_BARE = r"[^\s,;&\"'<>]{1,4096}"  # an unquoted value

_ENC_VALUE = r"(?:(?!%26|%3[bB])%[0-9A-Fa-f]{2}|[^&\s\"'<>%;]){1,4096}"

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # SAS signature anywhere (``sig`` is specific enough): sig=..., URL-encoded sig%3D..., double-encoded.
    (re.compile(r"(?i)((?<![A-Za-z_])sig(?:=|%3D|%253D))" + _ENC_VALUE), r"\1" + MASK),
    # Secret-bearing URL query parameters (only after ? or &, so ``Code="AuthorizationFailed"`` survives).
    (
        re.compile(
            r"(?i)((?:[?&]|&amp;|%3F|%26)(?:signature|code|token|access_token|id_token|refresh_token|client_secret"
            r"|api[-_]?key|apikey|key|password|secret)(?:=|%3D))" + _ENC_VALUE
        ),
        r"\1" + MASK,
    ),
    # Connection strings: AccountKey=..; SharedAccessKey=..; SharedAccessSignature=sv=..&sig=..; Password=..;
    (
        re.compile(
            r"(?i)\b(AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd|ClientSecret|"
            r"AccessKey|SecretKey)=(?:\"[^\"\r\n]{0,4096}\"|[^;\s\"']{1,4096})"
        ),
        r"\1=" + MASK,
    ),
    # Authorization headers (any scheme).
    (
        re.compile(
            r"(?i)\b(authorization\"?\s{0,4}[:=]\s{0,4}\"?(?:bearer|basic|sharedkey|sharedaccesssignature)?\s{0,4})"
            r"[^\s\"',;]{8,8192}"
        ),
        r"\1" + MASK,
    ),
    # Bearer tokens elsewhere: at least 20 token characters, so "Bearer authentication" is left alone.
    (re.compile(r"(?i)\b(bearer\s{1,4})[A-Za-z0-9\-._~+/]{20,8192}=*"), r"\1" + MASK),
    # JWTs anywhere.
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,8192}\.[A-Za-z0-9_-]{5,8192}\.[A-Za-z0-9_-]{0,8192}"), MASK),
    # PowerShell secure strings built from plain text.
    (
        re.compile(r"(?i)(ConvertTo-SecureString\s{1,8}(?:-String\s{1,8})?)(" + _Q + r"|[^\s()|]{1,4096})"),
        r"\1" + MASK,
    ),
    # Assignments: password=..., $env:ADMIN_PASSWORD = '...', export FOO_SECRET=..., "client_secret": "...".
    # Names that only describe a secret (SharedAccessKeyName, secret_name, token_url) keep their value.
    (
        re.compile(
            r"(?i)([\"']?(?<![\w.-])[\w.:$-]{0,40}(?:password|passwd|secret|api_?key|access_?key|account_?key"
            r"|private_?key|token|credential)(?![\w.-]{0,40}(?:name|id|type|uri|url|path|file|length|count|expiry"
            r"|expires|version|policy|endpoint)[\"']?\s{0,4}[:=])[\w.-]{0,40}[\"']?\s{0,4}(?::=|[:=])\s{0,4})"
            r"(?!(?:true|false|null|none|\[REDACTED\])\b)(" + _Q + "|" + _BARE + ")"
        ),
        r"\1" + MASK,
    ),
    # Command-line flags taking a secret: --password x, --password=x, -Password x, -ClientSecret x.
    (
        re.compile(
            r"(?i)((?:^|(?<=[\s(]))(?:--?|/)[\w-]{0,30}(?:password|passwd|passphrase|secret|token|"
            r"account-?key|access-?key|secret-?key|api-?key|sas-?key|storage-?key|shared-?key|credential)"
            r"[\w-]{0,30}(?:\s{1,8}|=|:))(?![-($])(" + _Q + r"|[^\s\"'|;]{1,4096})"
        ),
        r"\1" + MASK,
    ),
    # /p:secret and /pass:secret (cmdkey, net use); MSBuild-style /p:Name=value is left alone.
    (
        re.compile(r"(?i)((?:^|(?<=\s))/p(?:ass)?:)(?![\w.-]{1,200}=)(" + _Q + r"|[^\s\"']{1,4096})"),
        r"\1" + MASK,
    ),
    # openssl -passin pass:x / -passout pass:x
    (re.compile(r"(?i)(\bpass:)([^\s\"']{1,4096})"), r"\1" + MASK),
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
_P_FLAG = re.compile(
    r"(?:(?<=\s)|^)-([pP])(?:(\s{1,8})(" + _Q + r"|[^\s\"'-][^\s\"']{0,4095})|([^\s\"'=]{1,4096}))"
)


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


def _mask_p_flag(text: str, low: str) -> str:
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


# For each rule in _RULES, words one of which (lower case) must be in the text for the rule to apply: a
# substring test costs far less than a regex search, and most log lines match no rule at all.
_SECRET_WORDS = ("pass", "secret", "key", "token", "credential")
_RULE_WORDS: tuple[tuple[str, ...], ...] = (
    ("sig",),
    ("signature", "code", "token", "key", "password", "secret"),
    ("accountkey", "sharedaccess", "password=", "pwd=", "clientsecret", "accesskey", "secretkey"),
    ("authori",),
    ("bearer",),
    ("eyj",),
    ("securestring",),
    _SECRET_WORDS,
    _SECRET_WORDS,
    ("/p:", "/pass:"),
    ("pass:",),
)
assert len(_RULE_WORDS) == len(_RULES)


def _redact_inline(text: str) -> str:
    low = text.lower()
    for (pattern, replacement), words in zip(_RULES, _RULE_WORDS, strict=True):
        if any(w in low for w in words):
            text = pattern.sub(replacement, text)
    if "-p" in low:
        text = _mask_p_flag(text, low)
    return text


def redact(text: str) -> str:
    """Return ``text`` with SAS signatures, account keys, tokens, passwords and private keys masked.

    Works on one line or a block of lines; an unterminated PEM private key masks everything after its BEGIN
    line.
    """
    if not text or not isinstance(text, str):
        return text
    low = text.lower()
    if not any(w in low for w in _TRIGGER_WORDS):
        return text
    if "-----BEGIN" in text:
        text = _PEM_BLOCK.sub(lambda m: f"-----BEGIN {m.group(1)}-----{MASK}-----END {m.group(1)}-----", text)
    return _redact_inline(text)


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
