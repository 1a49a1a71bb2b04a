"""The catalogue of secret kinds ``diagnosis.redact`` masks: one ``SecretKind`` per shape a secret takes in logs.

Each kind names where its format comes from (the vendor's documentation or the detect-secrets / gitleaks rule
that detects it), the lower-case words one of which must be in a text for its pattern to run (a substring
test costs far less than a regex search, and most log lines contain none), and the pattern with its
replacement. The kinds run in catalogue order on each text.

Every pattern is linear on any input: repetitions are bounded, no quantified group contains another
quantifier, and lookarounds test a bounded number of characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from diagnosis.secret_masks import (
    BARE,
    ENC_VALUE,
    MASK,
    PEM_BLOCK,
    URL_REST,
    Q,
    mask_aws_secret,
    mask_chained_values,
    mask_p_flag,
    mask_pem,
    mask_userinfo,
)

__all__ = ["CATALOGUE", "KINDS_BY_ID", "MASK", "TRIGGER_WORDS", "SecretKind"]


@dataclass(frozen=True)
class SecretKind:
    id: str
    description: str
    source: str  # where the format is defined or which public rule set detects it
    triggers: tuple[str, ...]  # lower-case substrings; the kind runs only on texts containing one
    pattern: re.Pattern[str] | None = None
    replacement: str | Callable[[re.Match[str]], str] = MASK
    mask: Callable[[str], str] | None = None  # used instead of pattern.sub when the kind needs logic

    def apply(self, text: str) -> str:
        if self.mask is not None:
            return self.mask(text)
        assert self.pattern is not None
        return self.pattern.sub(self.replacement, text)


# Names that only describe a secret (SharedAccessKeyName, secret_name, token_url) keep their value.
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)([\"']?(?<![\w.-])[\w.:$-]{0,40}(?:password|passwd|secret|api_?key|access_?key|account_?key"
    r"|private_?key|token|credential)(?![\w.-]{0,40}(?:name|id|type|uri|url|path|file|length|count|expiry"
    r"|expires|version|policy|endpoint)[\"']?\s{0,4}[:=])[\w.-]{0,40}[\"']?\s{0,4}(?::=|[:=])\s{0,4})"
    r"(?!(?:true|false|null|none)\b|\[REDACTED\])(" + Q + "|" + BARE + ")"
)


_SECRET_WORDS = ("pass", "secret", "key", "token", "credential")

CATALOGUE: tuple[SecretKind, ...] = (
    SecretKind(
        "private-key",
        "PEM private key block (an unterminated BEGIN masks everything after it)",
        "RFC 7468; detect-secrets PrivateKeyDetector, gitleaks private-key",
        ("-----begin",),
        PEM_BLOCK,
        mask_pem,
    ),
    SecretKind(
        "azure-sas-signature",
        "SAS signature sig=..., also URL-encoded sig%3D / sig%253D",
        "Azure Storage SAS docs; gitleaks azure-storage-sas",
        ("sig",),
        re.compile(r"(?i)((?<![A-Za-z_])sig(?:=|%3D|%253D))" + ENC_VALUE),
        r"\1" + MASK,
    ),
    SecretKind(
        "url-secret-parameter",
        "secret-bearing URL query parameters after ? or & (code=, token=, key=, client_secret=, ...)",
        "Azure Functions keys (?code=), OAuth 2.0 (RFC 6749) parameters",
        ("signature", "code", "token", "key", "password", "secret"),
        re.compile(
            r"(?i)((?:[?&]|&amp;|%3F|%26)(?:signature|code|token|access_token|id_token|refresh_token|client_secret"
            r"|api[-_]?key|apikey|key|password|secret)(?:=|%3D))" + ENC_VALUE
        ),
        r"\1" + MASK,
    ),
    SecretKind(
        "connection-string-secret",
        "connection strings: AccountKey=, SharedAccessKey=, SharedAccessSignature=, Password=, Pwd=",
        "Azure Storage / Service Bus / SQL connection strings; detect-secrets AzureStorageKeyDetector",
        ("accountkey", "sharedaccess", "password=", "pwd=", "clientsecret", "accesskey", "secretkey"),
        re.compile(
            r"(?i)\b(AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd|ClientSecret|"
            r"AccessKey|SecretKey)=(?:\\{0,8}\"[^\"\r\n]{0,4096}\"|[^;\s\"']{1,4096})"
        ),
        r"\1=" + MASK,
    ),
    SecretKind(
        "authorization-header",
        "Authorization: headers of any scheme",
        "RFC 9110 Authorization; detect-secrets BasicAuthDetector",
        ("authori",),
        re.compile(
            r"(?i)\b(authorization\"?\s{0,4}[:=]\s{0,4}\"?(?:bearer|basic|sharedkey|sharedaccesssignature)?\s{0,4})"
            r"[^\s\"',;]{8,8192}"
        ),
        r"\1" + MASK,
    ),
    SecretKind(
        "api-key-header",
        "API key headers: x-functions-key, x-api-key, api-key, Ocp-Apim-Subscription-Key, aeg-sas-key",
        "Azure Functions, API Management, Event Grid and Azure OpenAI REST docs",
        ("functions-key", "api-key", "apikey", "subscription-key", "aeg-sas"),
        re.compile(
            r"(?i)\b((?:x-functions-key|x-api-key|api-key|apikey|ocp-apim-subscription-key|aeg-sas-key"
            r"|aeg-sas-token)[\"']?\s{0,4}[:=]\s{0,4}[\"']?)[^\s\"',;]{1,4096}"
        ),
        r"\1" + MASK,
    ),
    SecretKind(
        "bearer-token",
        "bearer tokens (at least 20 token characters, so 'Bearer authentication' stays)",
        "RFC 6750",
        ("bearer",),
        re.compile(r"(?i)\b(bearer\s{1,4})[A-Za-z0-9\-._~+/]{20,8192}=*"),
        r"\1" + MASK,
    ),
    SecretKind(
        "jwt",
        "JSON Web Tokens (Entra access and ID tokens)",
        "RFC 7519; detect-secrets JwtTokenDetector, gitleaks jwt",
        ("eyj",),
        re.compile(r"\beyJ[A-Za-z0-9_-]{5,8192}\.[A-Za-z0-9_-]{5,8192}\.[A-Za-z0-9_-]{0,8192}"),
    ),
    SecretKind(
        "entra-client-secret",
        "Microsoft Entra (Azure AD) application client secrets (40 characters with 'Q~' at 5)",
        "gitleaks azure-ad-client-secret",
        ("q~",),
        re.compile(r"(?<![\w~.-])[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![\w~-]|\.[\w~.-])"),
    ),
    SecretKind(
        "github-token",
        "GitHub tokens: ghp_/gho_/ghu_/ghs_/ghr_ and fine-grained github_pat_",
        "GitHub docs 'About authentication'; gitleaks github-pat, github-fine-grained-pat",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
    ),
    SecretKind(
        "gitlab-token",
        "GitLab personal access tokens (glpat-)",
        "gitleaks gitlab-pat",
        ("glpat-",),
        re.compile(r"\bglpat-[A-Za-z0-9_-]{20,255}"),
    ),
    SecretKind(
        "slack-token",
        "Slack bot/user/app tokens (xoxb-, xoxp-, xoxa-, xoxe-, xapp-)",
        "Slack token types docs; detect-secrets SlackDetector, gitleaks slack-bot-token",
        ("xox", "xapp-"),
        re.compile(r"\b(?:xox[abposre]-[A-Za-z0-9-]{10,255}|xapp-\d-[A-Za-z0-9-]{10,255})"),
    ),
    SecretKind(
        "slack-webhook",
        "Slack incoming webhook and workflow URLs (the secret is the path)",
        "Slack incoming webhooks docs; gitleaks slack-webhook-url",
        ("hooks.slack.com",),
        re.compile(r"(?i)(hooks\.slack\.com/(?:services|workflows|triggers)/)" + URL_REST),
        r"\1" + MASK,
    ),
    SecretKind(
        "discord-webhook",
        "Discord webhook URLs (the token is the path)",
        "Discord webhook docs; detect-secrets DiscordBotTokenDetector",
        ("discord",),
        re.compile(r"(?i)(discord(?:app)?\.com/api/webhooks/)" + URL_REST),
        r"\1" + MASK,
    ),
    SecretKind(
        "office365-connector-url",
        "Teams / Office 365 connector webhook URLs (webhook.office.com, outlook.office.com)",
        "Microsoft 365 connectors docs; gitleaks microsoft-teams-webhook",
        ("webhook.office.com", "outlook.office"),
        re.compile(
            r"(?i)((?:[\w-]{1,63}\.webhook\.office\.com|outlook\.office(?:365)?\.com)/webhook(?:b2)?/)" + URL_REST
        ),
        r"\1" + MASK,
    ),
    SecretKind(
        "url-userinfo",
        "credentials in URL userinfo: scheme://user:password@ and scheme://TOKEN@ (16+ characters)",
        "RFC 3986 section 3.2.1; detect-secrets BasicAuthDetector",
        ("@",),
        re.compile(
            r"(?i)(?P<scheme>\b[a-z][a-z0-9+.-]{1,20}://)(?:(?P<user>[^\s/@:?#\"'<>]{1,256}):[^\s/@?#\"'<>]{1,1024}"
            r"|[^\s/@:?#\"'<>]{16,1024})@"
        ),
        mask_userinfo,
    ),
    SecretKind(
        "azure-account-key",
        "Azure Storage / Cosmos DB account keys shown bare (88 base64 characters ending '==') on a line that "
        "says key or value ('az storage account keys list', 'az cosmosdb keys list' output)",
        "Azure Storage account keys docs (64-byte keys); gitleaks azure-storage-account-key",
        ("key", "value"),
        re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])"),
    ),
    SecretKind(
        "aws-access-key-id",
        "AWS access key ids (AKIA..., ASIA...)",
        "AWS IAM docs; detect-secrets AWSKeyDetector, gitleaks aws-access-token",
        ("akia", "asia", "aws", "key"),
        re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"),
    ),
    SecretKind(
        "aws-secret-key",
        "AWS secret access keys: 40 mixed-case base64 characters on a line that mentions aws",
        "AWS IAM docs; detect-secrets AWSKeyDetector",
        ("aws",),
        re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"),
        mask_aws_secret,
    ),
    SecretKind(
        "npm-token",
        "npm access tokens (npm_)",
        "gitleaks npm-access-token",
        ("npm_",),
        re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"),
    ),
    SecretKind(
        "pypi-token",
        "PyPI upload tokens (pypi-AgEIcHlwaS5vcmc...)",
        "gitleaks pypi-upload-token",
        ("pypi-",),
        re.compile(r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{20,1024}"),
    ),
    SecretKind(
        "google-api-key",
        "Google API keys (AIza...)",
        "gitleaks gcp-api-key",
        ("aiza",),
        re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    ),
    SecretKind(
        "powershell-securestring",
        "ConvertTo-SecureString 'plain text' -AsPlainText",
        "PowerShell ConvertTo-SecureString docs",
        ("securestring",),
        re.compile(r"(?i)(ConvertTo-SecureString\s{1,8}(?:-String\s{1,8})?)(" + Q + r"|[^\s()|]{1,4096})"),
        r"\1" + MASK,
    ),
    SecretKind(
        "secret-assignment",
        'assignments: password=, pwd=, secret=, token=, $env:ADMIN_PASSWORD = \'...\', "client_secret": "..."',
        "detect-secrets KeywordDetector, gitleaks generic-api-key",
        _SECRET_WORDS,
        mask=mask_chained_values(_SECRET_ASSIGNMENT),
    ),
    SecretKind(
        "pat-assignment",
        "personal access tokens assigned to a name ending in PAT (AZURE_DEVOPS_EXT_PAT=, pat:)",
        "Azure DevOps CLI docs (AZURE_DEVOPS_EXT_PAT)",
        ("pat",),
        re.compile(
            r"(?i)((?<![\w.-])(?:\w{0,40}_)?pat[\"']?\s{0,4}(?::=|[:=])\s{0,4})"
            r"(?!(?:true|false|null|none)\b|\[REDACTED\])(" + Q + "|" + BARE + ")"
        ),
        r"\1" + MASK,
    ),
    SecretKind(
        "secret-flag",
        "command-line flags taking a secret: --password x, -Password x, -ClientSecret x, --account-key x",
        "az / PowerShell / docker CLI docs",
        _SECRET_WORDS,
        re.compile(
            r"(?i)((?:^|(?<=[\s(]))(?:--?|/)[\w-]{0,30}(?:password|passwd|passphrase|secret|token|"
            r"account-?key|access-?key|secret-?key|api-?key|sas-?key|storage-?key|shared-?key|credential)"
            r"[\w-]{0,30}(?:\s{1,8}|=|:))(?![-($])(" + Q + r"|[^\s\"'|;]{1,4096})"
        ),
        r"\1" + MASK,
    ),
    SecretKind(
        "slash-p-password",
        "/p:secret and /pass:secret (cmdkey, net use); MSBuild-style /p:Name=value stays",
        "cmdkey / net use docs",
        ("/p:", "/pass:"),
        re.compile(r"(?i)((?:^|(?<=\s))/p(?:ass)?:)(?![\w.-]{1,200}=)(" + Q + r"|[^\s\"']{1,4096})"),
        r"\1" + MASK,
    ),
    SecretKind(
        "net-user-password",
        "net user NAME PASSWORD and net use \\\\server\\share PASSWORD (Windows)",
        "Windows 'net user' / 'net use' command docs",
        ("net user", "net use", "net.exe user", "net.exe use"),
        re.compile(
            r"(?i)(\bnet(?:\.exe)?\s{1,8}(?:user\s{1,8}(?:\"[^\"\r\n]{1,256}\"|[^\s\"/]{1,256})"
            r"|use\s{1,8}(?:(?:[a-z]:|\*)\s{1,8})?\\\\[^\s\"]{1,1024})\s{1,8})"
            r"(?![/*]|\[REDACTED\])(\"[^\"\r\n]{1,4096}\"|[^\s\"]{1,4096})"
        ),
        r"\1" + MASK,
    ),
    SecretKind(
        "openssl-pass",
        "openssl -passin pass:x / -passout pass:x",
        "openssl passphrase-options docs",
        ("pass:",),
        re.compile(r"(?i)(\bpass:)([^\s\"']{1,4096})"),
        r"\1" + MASK,
    ),
    SecretKind(
        "p-flag-password",
        "-p PASSWORD of sshpass, mysql, useradd, docker/az login, sqlcmd -P",
        "the commands' own usage texts",
        ("-p",),
        mask=mask_p_flag,
    ),
)

KINDS_BY_ID = {kind.id: kind for kind in CATALOGUE}
assert len(KINDS_BY_ID) == len(CATALOGUE)

# Any text one of the kinds could change contains one of these words (lower case).
TRIGGER_WORDS: tuple[str, ...] = tuple(sorted({w for kind in CATALOGUE for w in kind.triggers}))
