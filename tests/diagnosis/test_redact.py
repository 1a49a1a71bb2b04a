"""diagnosis.redact: secrets masked in every shape logs and pipelines show them; ordinary lines untouched."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnosis.redact import MASK, LineRedactor, redact

SECRET = "S3cr3tV4lue"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        # SAS signatures, plain and URL-encoded (single and double)
        (
            f"https://acc.blob.core.windows.net/packerlogs/x/customization.log?sv=2020-08-04&sp=r&sig={SECRET}%3D",
            SECRET,
        ),
        (
            f"url=https%3A%2F%2Facc.blob.core.windows.net%2Fc%3Fsv%3D2020%26sig%3D{SECRET}%253D%26se%3D2021",
            SECRET,
        ),
        (f"https://acc.blob.core.windows.net/c/b?sv=2020&SIG={SECRET}", SECRET),
        (
            f"https://prod.westeurope.logic.azure.com/workflows/1/triggers/manual/paths/invoke?sp=%2Ftriggers&sig={SECRET}",
            SECRET,
        ),
        (f"https://func.azurewebsites.net/api/hook?code={SECRET}==&clientId=default", SECRET),
        # connection strings
        (
            f"DefaultEndpointsProtocol=https;AccountName=acc;AccountKey={SECRET}+/x==;EndpointSuffix=core.windows.net",
            SECRET,
        ),
        (
            f"Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey={SECRET}=",
            SECRET,
        ),
        (
            f"BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature=sv=2020-08-04&ss=b&sig={SECRET}",
            SECRET,
        ),
        (f"Server=tcp:db.database.windows.net;User ID=admin;Password={SECRET};Encrypt=True", SECRET),
        # bearer tokens, authorization headers, JWTs
        (f"Authorization: Bearer {SECRET}abcdefghijklmnopqrstuvwxyz", SECRET),
        ("curl -H 'Authorization: Basic dXNlcjpwYXNzd29yZA==' https://x", "dXNlcjpwYXNzd29yZA"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl here", "eyJzdWIiOiIxMjM0In0"),
        # command-line passwords
        (f"sshpass -p '{SECRET}' ssh user@host", SECRET),
        (f"docker login -u me -p {SECRET} myregistry.azurecr.io", SECRET),
        (f"az login --service-principal -u appid -p {SECRET} --tenant t", SECRET),
        (f"mysql -uroot -p{SECRET} -e 'select 1'", SECRET),
        (f"sqlcmd -S srv -U sa -P '{SECRET}' -Q 'select 1'", SECRET),
        (f"net user admin /p:{SECRET}", SECRET),
        (f"--password={SECRET} --verbose", SECRET),
        (f"az vm create --admin-password {SECRET} -n vm", SECRET),
        (f"New-LocalUser -Name x -Password (ConvertTo-SecureString '{SECRET}' -AsPlainText -Force)", SECRET),
        (f"Connect-Thing -ClientSecret {SECRET}", SECRET),
        (f"$env:ADMIN_PASSWORD = '{SECRET}'", SECRET),
        (f'$env:PASSWORD="{SECRET}"', SECRET),
        (f"export FOO_SECRET={SECRET}", SECRET),
        (f'export MY_TOKEN="{SECRET} with spaces"', SECRET),
        (f'{{"client_secret": "{SECRET}", "name": "x"}}', SECRET),
        (f"az storage blob upload --account-key {SECRET}== --sas-token 'sv=x&sig=y'", SECRET),
        (f"Set-AzStorageAccount -StorageAccountKey {SECRET}", SECRET),
        (f"openssl rsa -passin pass:{SECRET} -in k.pem", SECRET),
        # inside a customization.log line
        (
            f"[6f1a] PACKER OUT     azure-arm: + curl -fsSL 'https://a.blob.core.windows.net/f/x.zip?sv=1&sig={SECRET}'",
            SECRET,
        ),
    ],
)
def test_secret_is_masked(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out
    assert MASK in out


@pytest.mark.parametrize(
    "line",
    [
        "token expired",
        "passwordless sudo configured",
        "Waiting for SSH to become available...",
        "[opid] PACKER ERR 2020/04/30 23:30:50 packer: Waiting for WinRM, up to timeout: 10m0s",
        "Bearer authentication failed",
        "basic configuration complete",
        "[INFO] command 'x' exited with code: 101",
        'Status=403 Code="AuthorizationFailed" Message="The client does not have authorization"',
        "apt-key adv --keyserver keyserver.ubuntu.com --recv-keys ABCDEF",
        "mkdir -p /opt/app && ssh -p 22 host",
        "msbuild /p:Configuration=Release",
        "ssh_password_auth: false",
        "The key vault was created",
        "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey",
        "Get-Service : Cannot find any service with service name 'WindowsAzureGuestAgent'.",
        "find . -name x -prune",
        "-Password $securePassword",
        "(telemetry) Starting provisioner powershell",
        'request="https://management.azure.com/subscriptions/x/providers/y?[REDACTED]" body=""',
    ],
)
def test_ordinary_lines_are_untouched(line: str) -> None:
    assert redact(line) == line


def test_pem_block_in_one_text_is_masked() -> None:
    text = (
        "before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabcdef\n-----END RSA PRIVATE KEY-----\n"
        "after"
    )
    out = redact(text)
    assert "MIIEowIBAAKCAQEA" not in out and "abcdef" not in out
    assert out.startswith("before\n") and out.endswith("\nafter")


def test_unterminated_pem_masks_to_the_end() -> None:
    out = redact("key: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nmore")
    assert "b3BlbnNzaC1rZXktdjEAAAAA" not in out and "more" not in out


def test_line_redactor_masks_a_key_split_over_log_lines() -> None:
    prefix = "[922bdf36] PACKER OUT     azure-arm: "
    lines = [
        f"{prefix}writing key",
        f"{prefix}-----BEGIN RSA PRIVATE KEY-----",
        f"{prefix}MIIEowIBAAKCAQEAx1",
        f"{prefix}Zm9vYmFyYmF6cXV4",
        f"{prefix}-----END RSA PRIVATE KEY-----",
        f"{prefix}done with sig=abc",
    ]
    r = LineRedactor()
    out = [r.redact_line(line) for line in lines]
    assert out[0] == lines[0]
    assert out[1] == lines[1]  # the BEGIN marker itself stays readable
    assert out[2] == prefix + MASK and out[3] == prefix + MASK  # prefix kept, body masked
    assert out[4].startswith(prefix + MASK) and "END RSA PRIVATE KEY" in out[4]
    assert out[5] == f"{prefix}done with sig={MASK}"
    assert not r.in_key


def test_line_redactor_state_resets() -> None:
    r = LineRedactor()
    r("-----BEGIN PRIVATE KEY-----")
    assert r.in_key
    r.reset()
    assert r("plain line") == "plain line"


def test_redact_passes_empty_and_non_strings_through() -> None:
    assert redact("") == ""
    assert redact(None) is None  # type: ignore[arg-type]


def test_long_lines_stay_linear() -> None:
    # Patterns with unbounded backtracking would take minutes on these; bounded ones take milliseconds.
    nasty = [
        "a." * 500_000,
        "-p" + "x" * 1_000_000,
        "password" * 100_000,
        "sig=" + "%2" * 400_000,
        "-" * 1_000_000,
        "Bearer " + "A" * 1_000_000,
    ]
    for text in nasty:
        start = time.process_time()
        redact(text)
        assert time.process_time() - start < 5, text[:20]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    out = redact(text)
    assert isinstance(out, str)
    LineRedactor().redact_line(text)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=8, max_size=40).filter(
        lambda s: (
            s.strip() == s
            and " " not in s
            and all(c not in s for c in "&;\"'<>%\n\r\t\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0")
        )
    )
)
def test_any_sas_signature_value_is_masked(value: str) -> None:
    out = redact(f"https://a.blob.core.windows.net/c/b?sv=2020&sig={value}&se=2030")
    assert f"sig={MASK}" in out
    assert "&se=2030" in out
