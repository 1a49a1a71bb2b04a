"""The redaction catalogue: every secret kind masks its positive examples and leaves its negative ones alone."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnosis.redact import MASK, TRIGGER_SEARCH, is_secret_name, redact, redact_json
from diagnosis.secret_kinds import CATALOGUE, KINDS_BY_ID, TRIGGER_WORDS

ALNUM36 = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
ENTRA = "Xy78Q~AbCdEfGhIjKlMnOpQrStUvWxYz01234567"
GHP = "ghp_" + ALNUM36
GH_FINE = "github_pat_11ABCDEFG0" + "a1B2c3D4e5" * 8 + "xy"
ADO_PAT = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

# kind id -> (positive examples as (text, the secret that must disappear), negative examples left unchanged)
EXAMPLES: dict[str, tuple[list[tuple[str, str]], list[str]]] = {
    "private-key": (
        [("x\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQ\n-----END RSA PRIVATE KEY-----\ny", "MIIEowIBAAKCAQ")],
        ["-----BEGIN CERTIFICATE-----\nMIIC9zCCAd+gAwIBAgI\n-----END CERTIFICATE-----"],
    ),
    "azure-sas-signature": (
        [("https://a.blob.core.windows.net/c/b?sv=2022-11-02&sp=r&sig=AbC123%2Bxyz%3D&se=2030", "AbC123")],
        ["signal handler installed", "design=blue"],
    ),
    "url-secret-parameter": (
        [("https://fn.azurewebsites.net/api/alert?code=Zm9vYmFyYmF6MTIz==&x=1", "Zm9vYmFyYmF6MTIz")],
        ['Status=403 Code="AuthorizationFailed"', "exit code=1"],
    ),
    "connection-string-secret": (
        [("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zm9vYmFyYmF6cXV4==;", "Zm9vYmFyYmF6cXV4")],
        ["Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey"],
    ),
    "authorization-header": (
        [("curl -H 'Authorization: Basic dXNlcjpwYXNzd29yZA==' https://x", "dXNlcjpwYXNzd29yZA")],
        ["authorization failed for the build identity"],
    ),
    "api-key-header": (
        [
            ("x-functions-key: AbCdEf0123456789abcdefGHIJ==", "AbCdEf0123456789abcdefGHIJ"),
            ("Ocp-Apim-Subscription-Key: 0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"),
            ('{"api-key": "k3yV4lue0123456789"}', "k3yV4lue0123456789"),
        ],
        ["api-key rotation is scheduled", "x-functions-key header missing"],
    ),
    "bearer-token": (
        [("sent Bearer abcdefghijklmnopqrstuvwxyz0123456789", "abcdefghijklmnopqrstuvwxyz0123456789")],
        ["Bearer authentication failed"],
    ),
    "jwt": (
        [("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl here", "eyJzdWIiOiIxMjM0In0")],
        ["eyJ is how base64 JSON starts"],
    ),
    "entra-client-secret": (
        [(f"az login --service-principal -u app {ENTRA} --tenant t", ENTRA), (f"secret {ENTRA}.", ENTRA)],
        ["file C:\\PROGRA~1\\aQ~b.txt", "version 8Q~1"],
    ),
    "github-token": (
        [
            (f"git clone https://{GHP}@github.com/org/repo.git", GHP),
            (f"GH_TOKEN {GHP}", GHP),
            (f"gh auth login with {GH_FINE}", GH_FINE),
            ("ghs_" + ALNUM36, ALNUM36),
        ],
        ["ghp_short", "the ghs_ prefix marks server tokens"],
    ),
    "gitlab-token": ([("glpat-AbCdEfGhIj0123456789", "AbCdEfGhIj0123456789")], ["glpat-short"]),
    "slack-token": (
        [("xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "AbCdEfGhIjKlMnOpQrStUvWx")],
        ["xoxo from the build team"],
    ),
    "slack-webhook": (
        [("POST https://hooks.slack.com/services/T0000AAAA/B0000BBBB/XyZxyZ0123456789abcdEFGH", "XyZxyZ0123456789")],
        ["see hooks.slack.com for details"],
    ),
    "discord-webhook": (
        [("https://discord.com/api/webhooks/123456789012345678/AbCdEf-tok3n_value", "AbCdEf-tok3n_value")],
        ["join the discord server"],
    ),
    "office365-connector-url": (
        [
            (
                "https://contoso.webhook.office.com/webhookb2/1a2b3c4d-0000-1111-2222-333344445555@"
                "66667777-8888-9999-aaaa-bbbbccccdddd/IncomingWebhook/0f1e2d3c4b5a69788796a5b4c3d2e1f0/"
                "12345678-90ab-cdef-1234-567890abcdef",
                "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            ),
            ("https://outlook.office.com/webhook/abcd-ef@0123/IncomingWebhook/5ecret5ecret/9876", "5ecret5ecret"),
        ],
        ["https://outlook.office.com/mail/inbox", "webhook.office.com connectors are retired"],
    ),
    "url-userinfo": (
        [
            ("git clone https://builder:Pa55w0rdX@example.com/repo.git", "Pa55w0rdX"),
            (f"https://{ADO_PAT}@dev.azure.com/org/project/_git/repo", ADO_PAT),
            ("amqps://svc:S3cr3tV4lue@bus.example.net:5671", "S3cr3tV4lue"),
        ],
        ["git@github.com:org/repo.git", "ssh://git@github.com/org/repo", "mail builder@example.com", "user@host"],
    ),
    "azure-account-key": (
        [('[{"keyName": "key1", "permissions": "FULL", "value": "' + ACCOUNT_KEY + '"}]', ACCOUNT_KEY[:40])],
        ["if [ $a == $b ]; then", "digest sha512 " + "A1b2" * 22],
    ),
    "aws-access-key-id": ([("key id AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE")], ["region eastasia", "AKIA"]),
    "aws-secret-key": (
        [(f"aws configure set aws_secret_access_key {AWS_SECRET}", AWS_SECRET)],
        ["aws s3 cp at commit 0123456789abcdef0123456789abcdef01234567"],
    ),
    "npm-token": ([("//registry.npmjs.org/:_authToken npm_" + ALNUM36, ALNUM36)], ["npm_config_cache=/tmp/npm"]),
    "pypi-token": (
        [("twine upload -u __token__ pypi-AgEIcHlwaS5vcmcCJDAwMDAwMDAwLTAwMDAtMDAwMC0wMDAw", "CJDAwMDAwMDAwLTAwMDAt")],
        ["pypi-simple index reached"],
    ),
    "google-api-key": ([("key AIzaSyA1234567890abcdefghijklmnopqrstuv", "SyA1234567890abcdef")], ["AIzaShort"]),
    "powershell-securestring": (
        [("$p = ConvertTo-SecureString 'S3cr3tV4lue' -AsPlainText -Force", "S3cr3tV4lue")],
        ["$p = Read-Host -AsSecureString"],
    ),
    "secret-assignment": (
        [
            ("$env:ADMIN_PASSWORD = 'S3cr3tV4lue'", "S3cr3tV4lue"),
            ('"client_secret": "S3cr3tV4lue"', "S3cr3tV4lue"),
            ("waiting on '$env:ADMIN_PASSWORD = \\'S3cr3tV4lue\\''", "S3cr3tV4lue"),  # inside a repr()
            ('{"line": "password=\\"S3cr3tV4lue\\""}', "S3cr3tV4lue"),  # inside a JSON string
            ("token = $env:ADMIN_PASSWORD = 'S3cr3tV4lue'", "S3cr3tV4lue"),  # chained: a value names the next
            ('token = "client_secret": "S3cr3tV4lue"', "S3cr3tV4lue"),
        ],
        ["secret_name=kv-secret", "token expired"],
    ),
    "pat-assignment": (
        [(f"export AZURE_DEVOPS_EXT_PAT={ADO_PAT}", ADO_PAT), (f'pat: "{ADO_PAT}"', ADO_PAT)],
        ["path=/usr/local/bin", "pattern: ^x$", "spat=1"],
    ),
    "secret-flag": (
        [("az ad sp create --client-secret S3cr3tV4lue", "S3cr3tV4lue")],
        ["docker login --password-stdin --username me"],
    ),
    "slash-p-password": (
        [("cmdkey /generic:srv /user:me /pass:S3cr3tV4lue", "S3cr3tV4lue")],
        ["msbuild /p:Configuration=Release"],
    ),
    "net-user-password": (
        [
            ("net user builder P@ssw0rdX1 /add", "P@ssw0rdX1"),
            ('net.exe user "build admin" S3cr3tV4lue', "S3cr3tV4lue"),
            ("net use Z: \\\\srv\\share S3cr3tV4lue /user:dom\\me", "S3cr3tV4lue"),
        ],
        ["net user builder /delete", "net user builder * /add", "net use Z: /delete"],
    ),
    "openssl-pass": ([("openssl rsa -passin pass:S3cr3tV4lue -in k.pem", "S3cr3tV4lue")], ["bypass: enabled"]),
    "p-flag-password": (
        [("sshpass -p S3cr3tV4lue ssh host", "S3cr3tV4lue")],
        ["mkdir -p /opt/app", "ssh -p 22 host"],
    ),
}


def test_every_kind_has_positive_and_negative_examples() -> None:
    assert set(EXAMPLES) == set(KINDS_BY_ID)
    for kind_id, (positives, negatives) in EXAMPLES.items():
        assert positives and negatives, kind_id


@pytest.mark.parametrize(
    ("kind_id", "text", "secret"),
    [(kind_id, text, secret) for kind_id, (pos, _neg) in EXAMPLES.items() for text, secret in pos],
)
def test_positive_example_is_masked(kind_id: str, text: str, secret: str) -> None:
    assert secret in text
    out = redact(text)
    assert secret not in out, (kind_id, out)
    assert MASK in out
    assert redact(out) == out  # masking is stable


@pytest.mark.parametrize(
    ("kind_id", "text"), [(kind_id, text) for kind_id, (_pos, neg) in EXAMPLES.items() for text in neg]
)
def test_negative_example_is_unchanged(kind_id: str, text: str) -> None:
    assert redact(text) == text, kind_id


@pytest.mark.parametrize("kind_id", sorted(KINDS_BY_ID))
def test_kind_masks_its_own_example_by_itself(kind_id: str) -> None:
    # Each positive example is caught by the kind it illustrates, not only by a neighbour.
    kind = KINDS_BY_ID[kind_id]
    text, secret = EXAMPLES[kind_id][0][0]
    assert secret not in kind.apply(text)


def test_every_kind_source_and_triggers_are_given() -> None:
    for kind in CATALOGUE:
        assert kind.source and kind.description
        assert kind.triggers and all(w == w.lower() for w in kind.triggers)
        assert (kind.pattern is None) != (kind.mask is None)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abcdegiknoprstuwxyz@~_-:/. Q", max_size=60))
def test_trigger_search_agrees_with_substring_tests(text: str) -> None:
    low = text.lower()
    assert (TRIGGER_SEARCH.search(low) is not None) == any(w in low for w in TRIGGER_WORDS)


@pytest.mark.parametrize("kind_id", sorted(KINDS_BY_ID))
def test_kind_is_linear_on_adversarial_lines(kind_id: str) -> None:
    # Long repeats of each trigger word and of the example's pieces; a backtracking pattern takes minutes.
    kind = KINDS_BY_ID[kind_id]
    text, secret = EXAMPLES[kind_id][0][0]
    pieces = [*kind.triggers, text[:40], secret, "a" * 30 + "@", "https://x:", "net user a "]
    for piece in pieces:
        line = piece * max(1, 200_000 // len(piece))
        started = time.process_time()
        redact(line)
        assert time.process_time() - started < 3, (kind_id, piece)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("adminPassword", True),
        ("sp-secret", True),
        ("AZURE_DEVOPS_EXT_PAT", True),
        ("storageAccountKey", True),
        ("connection_string", True),
        ("githubToken", True),
        ("owner", False),
        ("secretName", False),
        ("keyVaultName", False),
        ("costCenter", False),
        ("path", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_redact_json_masks_values_under_secret_names_and_patterns_elsewhere() -> None:
    tags = {"owner": "team-a", "sp-secret": "plainwords", "note": f"clone https://{GHP}@github.com/o/r"}
    out = redact_json({"tags": tags, "n": 5, "list": ["password=hunter2x", None, True]})
    assert out["tags"]["owner"] == "team-a"
    assert out["tags"]["sp-secret"] == MASK
    assert GHP not in out["tags"]["note"]
    assert out["n"] == 5 and "hunter2x" not in out["list"][0] and out["list"][1:] == [None, True]


def test_redact_json_bounds_nesting() -> None:
    deep: object = "password=hunter2x"
    for _ in range(5000):
        deep = [deep]
    out = redact_json(deep)
    assert "hunter2x" not in repr(out)


def test_every_kind_is_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "redaction.md").read_text(encoding="utf-8")
    for kind_id in KINDS_BY_ID:
        assert f"`{kind_id}`" in doc, kind_id


def _redact_trying_every_kind(text: str) -> str:
    """``redact`` without the candidate selection: every kind whose trigger word is present, in order."""
    for kind in CATALOGUE:
        if any(w in text.lower() for w in kind.triggers):
            text = kind.apply(text)
    return text


PIECES = sorted({*TRIGGER_WORDS, *(t for pos, _neg in EXAMPLES.values() for t, _s in pos), " ", "=", ":", "'"})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=6))
def test_candidate_selection_matches_trying_every_kind(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert redact(text) == _redact_trying_every_kind(text)
