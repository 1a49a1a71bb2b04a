"""Messages printed inside the build VM are recognized however they reach the classifier.

The same message is diagnosed bare, behind Packer's builder prefix, inside a ``PACKER ERR ... ui error:`` log line,
JSON-escaped inside a pasted status message (``\\"``, ``\\u0027``) and inside a status JSON document: the entry
written for its shape is found each time (it decides, or gives ``unknown`` with its hints when it is ambiguous).
Retries that recover later in the same text are no failure.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from diagnosis import load_knowledge_base
from diagnosis.cli import diagnose_input

KB = load_knowledge_base(use_env=False)

MESSAGES = [
    ("linux-package-install-failed", "dpkg: error processing package mysql-server-8.0 (--configure):"),
    ("linux-package-install-failed", "E: Sub-process /usr/bin/dpkg returned an error code (1)"),
    (
        "linux-package-install-failed",
        "error: unpacking of archive failed on file /etc/yum/pluginconf.d;65df690f: cpio: File from package "
        "already exists as a directory in system",
    ),
    (
        "linux-package-install-failed",
        "error: %post(nvidia-driver-3:535.104.05-1.el8.x86_64) scriptlet failed, exit status 1",
    ),
    ("configuration-run-failed", "Chef Infra Client failed. 12 resources updated in 01 minutes 40 seconds"),
    (
        "configuration-run-failed",
        "Error: /Stage[main]/Profile::Base/Package[htop]/ensure: change from 'purged' to 'present' failed: "
        "Could not find package htop",
    ),
    ("linux-package-not-found", "E: Package 'python-pip' has no installation candidate"),
    ("linux-package-not-found", "Error: Unable to find a match: python39-devel"),
    (
        "linux-repository-download-failed",
        "E: Failed to fetch http://azure.archive.ubuntu.com/ubuntu/pool/main/o/openssl/libssl3_3.0.2_amd64.deb"
        "  404  Not Found [IP: 52.147.219.192 80]",
    ),
    (
        "linux-repository-signature",
        "W: GPG error: https://apt.releases.hashicorp.com jammy InRelease: The following signatures couldn't be "
        "verified because the public key is not available: NO_PUBKEY AA16FCBCA621E701",
    ),
    (
        "centos-mirrors-retired",
        "Error: Failed to download metadata for repo 'appstream': Cannot prepare internal "
        "mirrorlist: No URLs in mirrorlist",
    ),
    ("guest-dns-unavailable", "Temporary failure resolving 'azure.archive.ubuntu.com'"),
    ("guest-dns-resolution-failed", "curl: (6) Could not resolve host: retired-downloads.example.com"),
    (
        "guest-dns-resolution-failed",
        "Invoke-WebRequest : The remote name could not be resolved: 'builds.internal-mirror.example'",
    ),
    (
        "guest-outbound-connection-failed",
        "curl: (7) Failed to connect to github.com port 443 after 130104 ms: Connection timed out",
    ),
    (
        "guest-download-tls-protocol",
        "Invoke-WebRequest : The request was aborted: Could not create SSL/TLS secure channel.",
    ),
    (
        "guest-tls-failure",
        "Exception calling \"DownloadFile\" with \"2\" argument(s): \"The underlying connection was closed: Could not "
        "establish trust relationship for the SSL/TLS secure channel.\"",
    ),
    ("guest-download-http-error", "Invoke-WebRequest : The remote server returned an error: (503) Server Unavailable."),
    ("guest-download-refused", "Invoke-WebRequest : The remote server returned an error: (404) Not Found."),
    (
        "powershellget-prompt",
        "Install-Module : NuGet provider is required to interact with NuGet-based repositories. Please ensure "
        "that '2.8.5.201' or newer version of NuGet provider is installed.",
    ),
    (
        "msi-another-install-running",
        'ERROR: Running ["C:\\ProgramData\\chocolatey\\lib\\vcredist\\tools\\chocolateyInstall.ps1"] was not '
        "successful. Exit code was '1618'.",
    ),
    ("windows-feature-source-missing", "Add-WindowsCapability : Add-WindowsCapability failed. Error code = 0x800f0954"),
    (
        "sysprep-validation-failed",
        "SYSPRP Package Microsoft.DesktopAppInstaller_1.21_x64__8wekyb3d8bbwe was installed for a user, but not "
        "provisioned for all users.",
    ),
    (
        "guest-managed-identity-unavailable",
        "Connect-AzAccount : ManagedIdentityCredential authentication unavailable. The requested identity has not been "
        "assigned to this resource.",
    ),
    ("guest-out-of-memory", "/tmp/script_5731.sh: line 12:  4312 Killed                  dotnet build -c Release"),
    ("guest-disk-full", "Install-WindowsUpdate : Exception from HRESULT: 0x80070070"),
    (
        "git-repository-access-failed",
        "fatal: could not read Username for 'https://github.com': No such device or address",
    ),
    (
        "winget-not-available",
        "winget : The term 'winget' is not recognized as the name of a cmdlet, function, script file, or operable "
        "program.",
    ),
    ("script-crlf-line-endings", "/tmp/script_9124.sh: /bin/bash^M: bad interpreter: No such file or directory"),
]


def _variants(message: str) -> Iterator[tuple[str, str]]:
    yield "bare", message
    yield "packer-ui", "    azure-arm: " + message
    yield (
        "packer-log",
        "[0f6c2c5e-8d1b-4e2a-9c3d-7a1b2c3d4e5f] PACKER ERR 2024/03/01 10:00:00 ui error: ==> azure-arm: " + message,
    )
    escaped = json.dumps(message)[1:-1].replace("'", "\\u0027")
    yield "json-escaped", '"message": "Failed while waiting for packerizer: ' + escaped + '"'
    status = {"properties": {"lastRunStatus": {"runState": "Failed", "message": "Customization failed: " + message}}}
    yield "status-json", json.dumps(status, indent=2)


CASES = [
    pytest.param(rule_id, text, id=f"{rule_id}-{i}-{name}")
    for i, (rule_id, message) in enumerate(MESSAGES)
    for name, text in _variants(message)
]


@pytest.mark.parametrize(("rule_id", "text"), CASES)
def test_entry_decides_in_every_form(rule_id: str, text: str) -> None:
    d = diagnose_input(text.encode(), KB, name="pasted")
    rule = KB.get(rule_id)
    assert (d.category, d.rule_id) == ("unknown" if rule.ambiguous else rule.category, rule_id), d.summary


@pytest.mark.parametrize(
    "record",
    [
        "Install-Module : No match was found for the specified search criteria and module name 'Az.Accounts'.",
        "PackageManagement\\Install-Package : No match was found for the specified search criteria and module name "
        "'Az'.",
    ],
)
def test_bare_powershell_record_stays_unknown_but_the_builders_line_is_known(record: str) -> None:
    """Without Packer's builder prefix a PowerShell error record may come from anywhere: unknown, never none (a
    module-qualified command is a record too)."""
    assert diagnose_input(record.encode(), KB, name="pasted").category == "unknown"
    d = diagnose_input(("    azure-arm: " + record).encode(), KB, name="pasted")
    assert d.rule_id == "windows-package-not-found"


RECOVERED = [
    "    azure-arm: Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process "
    "2301 (unattended-upgr)... 35s\n"
    "    azure-arm: Get:1 http://azure.archive.ubuntu.com/ubuntu jammy InRelease [270 kB]",
    "2024/03/01 10:00:00 packer-plugin-azure plugin: [DEBUG] SSH handshake err: ssh: handshake failed: EOF\n"
    "==> azure-arm: Connected to SSH!",
    "2024/03/01 10:00:00 packer-plugin-azure plugin: [ERROR] WinRM connection err: http response error: 401 - "
    "invalid content type\n==> azure-arm: Connected to WinRM!",
    "    azure-arm: Search for Windows updates failed with 'Exception from HRESULT: 0x8024402C'. Retrying...\n"
    "    azure-arm: Downloading Windows updates (1 updates; 300.12 MB)...",
    "    azure-arm: sudo: unable to resolve host vm-build-01: Name or service not known\n"
    "    azure-arm: dpkg-preconfigure: unable to re-open stdin: No such file or directory",
    "    azure-arm: WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after "
    "connection broken by 'ConnectTimeoutError(<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f2b>, "
    "'Connection to pypi.org timed out. (connect timeout=15)')': /simple/requests/\n"
    "    azure-arm: Successfully installed requests-2.32.3",
    "    azure-arm: W: Failed to fetch http://security.ubuntu.com/ubuntu/dists/jammy-security/InRelease  Could not "
    "connect to security.ubuntu.com:80 (185.125.190.36), connection timed out\n"
    "    azure-arm: Setting up jq (1.6-2.1ubuntu3) ...",
    "    azure-arm: WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after "
    "connection broken by 'SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate "
    "verify failed: unable to get local issuer certificate (_ssl.c:1006)'))': /simple/requests/\n"
    "    azure-arm: Successfully installed requests-2.32.3",
]


@pytest.mark.parametrize("text", RECOVERED)
def test_retries_that_recover_and_harmless_lines_are_no_failure(text: str) -> None:
    d = diagnose_input(text.encode(), KB, name="pasted")
    assert d.category == "none", (d.rule_id, d.summary)


@pytest.mark.parametrize("text", RECOVERED)
def test_the_same_retries_without_recovery_in_a_failed_build_are_a_failure(text: str) -> None:
    failed = (
        text.split("\n")[0] + "\n==> azure-arm: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]"
    )
    assert diagnose_input(failed.encode(), KB, name="pasted").category != "none"


def test_a_name_that_does_not_resolve_leaves_the_package_errors_after_it_nothing_to_decide() -> None:
    """apt cannot find a package because it could not read the index (DNS): the package error is no cause. A name
    that does not exist may be the script's (a retired host): ambiguous; a resolver with no answer is the network."""
    text = (
        "    azure-arm: Err:1 http://packages.example.com/ubuntu jammy InRelease\n"
        "    azure-arm:   Could not resolve 'packages.example.com'\n"
        "    azure-arm: E: Unable to locate package unzip\n"
        "==> azure-arm: Script exited with non-zero exit status: 100. Allowed exit codes are: [0]"
    )
    d = diagnose_input(text.encode(), KB, name="pasted")
    assert (d.category, d.rule_id) == ("unknown", "guest-dns-resolution-failed"), d.summary
    assert diagnose_input(text.split("\n", 2)[2].encode(), KB, name="pasted").category == "customizer-failed"
    no_answer = text.replace("Could not resolve", "Temporary failure resolving")
    d = diagnose_input(no_answer.encode(), KB, name="pasted")
    assert (d.category, d.rule_id) == ("network-config", "guest-dns-unavailable"), d.summary
    # apt's warning that it could not connect explains the package error as well (unknown, named)
    no_connection = text.replace(
        "  Could not resolve 'packages.example.com'",
        "W: Failed to fetch http://packages.example.com/ubuntu/dists/jammy/InRelease  Could not connect to "
        "packages.example.com:80 (52.147.219.192), connection timed out",
    )
    d = diagnose_input(no_connection.encode(), KB, name="pasted")
    assert (d.category, d.rule_id) == ("unknown", "guest-outbound-connection-failed"), d.summary


@pytest.mark.parametrize(
    ("text", "sysprep_failed"),
    [
        ("    win2019-sysprep-base:  [WARNING]: FATAL ERROR DURING FILE TRANSFER: Traceback (most recent call", False),
        ("==> win2019-sysprep: Error: failed to upload file", False),
        ("2024-01-01 10:00:00, Error SYSPRP SysprepSession::ExecuteAction: Failed during deleteValue operation", True),
        ("2024-01-01 10:00:00, Error SYSPRP Sysprep_Generalize: Failed to run the generalize pass", True),
        ("Error SYSPRP C:\\Windows\\System32\\Sysprep\\ActionFiles\\Generalize.xml: failed to load", True),
        (
            "Error SYSPRP ActionPlatform::LaunchModule: Failure while executing 'SysPrep_Cleanup',"
            " returned error code 0x2",
            True,
        ),
        ("C:\\Windows\\System32\\Sysprep\\sysprep.exe failed with exit code 1", True),
    ],
)
def test_sysprep_in_a_build_name_is_no_sysprep_failure(text: str, sysprep_failed: bool) -> None:
    """A build named after Sysprep ("win2019-sysprep-base: ...") does not make its errors a Sysprep failure."""
    d = diagnose_input(text.encode(), KB, name="pasted")
    assert (d.category == "deprovision-failed") == sysprep_failed, (d.category, d.rule_id)


DOWNLOAD_STATUS_SHAPES = [
    "Invoke-WebRequest : The remote server returned an error: ({code}) {reason}.",
    "Invoke-RestMethod : Response status code does not indicate success: {code} ({reason}).",
    "curl: (22) The requested URL returned error: {code}",
    "2024-03-01 10:00:00 ERROR {code}: {reason}.",
    "HTTP request sent, awaiting response... {code} {reason}",
]
DOWNLOAD_STATUS_ENTRY = {
    "404": "guest-download-refused",
    "429": "guest-download-rate-limited",
    "503": "guest-download-http-error",
    "409": "guest-download-http-error",
}
REASONS = {"404": "Not Found", "429": "Too Many Requests", "503": "Service Unavailable", "409": "Conflict"}


@pytest.mark.parametrize("code", sorted(DOWNLOAD_STATUS_ENTRY))
@pytest.mark.parametrize("shape", DOWNLOAD_STATUS_SHAPES)
def test_a_download_status_belongs_to_one_entry(shape: str, code: str) -> None:
    """Of the download-status entries, only the one for the status's class matches its line (not precedence)."""
    line = shape.format(code=code, reason=REASONS[code])
    matching = {
        rule_id
        for rule_id in set(DOWNLOAD_STATUS_ENTRY.values())
        if any(p.regex.search(line) for p in KB.get(rule_id).log_patterns)
    }
    assert matching == {DOWNLOAD_STATUS_ENTRY[code]}, line
