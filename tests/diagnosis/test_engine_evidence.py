"""Evidence leads with the root cause: the script's error record, then the exit line; repeats collapse."""

from __future__ import annotations

import pytest

from diagnosis import diagnose, load_knowledge_base
from localazure import samplelogs

KB = load_knowledge_base(use_env=False)


def test_powershell_failure_leads_with_the_error_record():
    log = samplelogs.failed_customizer_log("install-iis", "PowerShell", 1, os="windows", before=[], seed=11)
    d = diagnose(log.status_message, log=bytes(log), rules=KB)
    assert d.category == "customizer-failed"
    assert "Install-Package : No match was found" in d.evidence[0].text
    assert "Script exited with non-zero exit status: 1" in d.evidence[1].text
    assert "contoso-agent" in d.summary
    texts = [e.text for e in d.evidence]
    # Packer repeats the error four times (==>, Build errored, -->, machine readable): one line with a count
    assert sum("Script exited with non-zero exit status" in t for t in texts) == 1
    assert texts[1].endswith("x)")
    assert not any("Waiting for WinRM" in t or "up to timeout" in t for t in texts)


def test_a_pwsh_script_failure_leads_with_its_concise_view_message():
    """PowerShell 7 prints a script's error in ConciseView: in a log, scanned as written, the line behind '     | '
    is the record's message."""
    op = "[0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0] PACKER OUT"
    lines = [
        "==> azure-arm: Provisioning with powershell script: /tmp/install.ps1",
        "    azure-arm: Get-Item: C:\\image\\install.ps1:12",
        "    azure-arm: Line |",
        "    azure-arm:   12 |  Get-Item C:\\tools\\agent.exe",
        "    azure-arm:      |  ~~~~~~~~~~~~~~~~~~~~~~~~~~~",
        "    azure-arm:      | Cannot find path 'C:\\tools\\agent.exe' because it does not exist.",
        "==> azure-arm: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]",
    ]
    d = diagnose(log="\n".join(f"{op} {line}" for line in lines).encode(), rules=KB)
    assert d.category == "customizer-failed"
    assert d.evidence[0].text.endswith("| Cannot find path 'C:\\tools\\agent.exe' because it does not exist.")
    assert "exit status: 1" in d.evidence[1].text


def test_shell_failure_leads_with_the_apt_error():
    log = samplelogs.failed_customizer_log("install-agent", "Shell", 100, os="linux", before=[], seed=5)
    d = diagnose(log.status_message, log=bytes(log), rules=KB)
    assert d.category == "customizer-failed"
    assert "E: Unable to locate package contoso-agent" in d.evidence[0].text
    assert "exit status: 100" in d.evidence[1].text


def test_error_records_outside_the_failed_customizer_do_not_lead():
    op = "[00000000-0000-0000-0000-000000000001] PACKER"
    exit_22 = "Script exited with non-zero exit status: 22. Allowed exit codes are: [0]"
    lines = [
        f"{op} ERR 2024/03/01 10:00:00 [INFO] (telemetry) Starting provisioner shell",
        f"{op} OUT     azure-arm: E: Unable to locate package old-thing",
        f"{op} ERR 2024/03/01 10:01:00 [INFO] (telemetry) ending shell",
        f"{op} ERR 2024/03/01 10:01:01 [INFO] (telemetry) Starting provisioner shell",
        f"{op} OUT     azure-arm: curl: (22) The requested URL returned error: 404",
        f"{op} OUT ==> azure-arm: {exit_22}",
        f"{op} ERR 2024/03/01 10:02:00 [INFO] (telemetry) ending shell",
        f"{op} OUT Build 'azure-arm' errored after 2 minutes: {exit_22}",
    ]
    d = diagnose(log="\n".join(lines).encode() + b"\n", rules=KB)
    assert d.category == "customizer-download-failed"
    assert "curl: (22)" in d.evidence[0].text
    assert "exit status: 22" in d.evidence[1].text
    assert d.failed_customizer is not None and d.failed_customizer.position == 2


def test_summary_uses_the_whole_line_not_the_cut_evidence():
    guid = "a1b2c3d4-1111-2222-3333-444455556666"
    scope = (
        f"/subscriptions/{guid}/resourceGroups/rg-shared-image-gallery-production-westeurope/providers/"
        "Microsoft.Compute/galleries/galProductionImages/images/windows-server-2022-hardened/versions/1.0.3"
    )
    text = (
        "Deployment failed. Correlation ID: 0d1c2b3a-4f5e-6d7c-8b9a-0a1b2c3d4e5f. "
        f"ERROR: (AuthorizationFailed) The client '{guid}' with object id '{guid}' does not have authorization "
        f"to perform action 'Microsoft.Compute/galleries/images/versions/write' over scope '{scope}' or the "
        "scope is invalid. If access was recently granted, please refresh your credentials."
    )
    assert len(text) > 500
    d = diagnose(text, rules=KB)
    assert d.category == "permissions"
    assert "'Microsoft.Compute/galleries/images/versions/write'" in d.summary
    assert "versions/1.0.3'" in d.summary
    assert d.phase == "distribute"


@pytest.mark.parametrize(
    ("pasted", "said"),
    [
        ("`E: Could not get lock /var/lib/dpkg/lock - open (11: Resource temporarily unavailable)", "E: Could not"),
        ("> > ==> azure-arm: E: Could not get lock /var/lib/dpkg/lock-frontend", "E: Could not"),
        ("* `    ubuntu.azure-arm.image: E: Could not get lock /var/lib/dpkg/lock", "E: Could not"),
        ("Fails with `E: Could not get lock /var/lib/dpkg/lock` on the `apt-get install` step", "Fails with `E:"),
    ],
)
def test_the_summary_quotes_the_line_without_a_reporters_marks(pasted, said):
    """A reporter's quote, list and code marks around a pasted line are not part of what the tool printed; a code
    span inside the reporter's sentence keeps its marks."""
    d = diagnose(pasted, rules=KB)
    assert d.rule_id == "package-manager-lock", d.rule_id
    assert d.summary.split(": ", 1)[1].startswith(said), d.summary


def test_a_log_line_cut_before_its_scope_still_names_the_action():
    guid = "a1b2c3d4-1111-2222-3333-444455556666"
    line = (
        f"[{guid}] PACKER OUT ==> azure-arm: ERROR: -> AuthorizationFailed : The client {guid} with object id "
        f"{guid} does not have authorization to perform action 'Microsoft.Compute/galleries/images/versions/write'"
        f" over scope '/subscriptions/{guid}/resourceGroups/rg-shared-image-gallery-production-westeurope-0001/"
        "providers/Microsoft.Compute/galleries/galProductionImages/images/windows-server-2022-hardened/versions/1.0.3'"
    )
    d = diagnose(log=(line + "\n").encode(), rules=KB)
    assert d.category == "permissions"
    assert "'Microsoft.Compute/galleries/images/versions/write'" in d.summary


def test_a_cause_of_the_same_category_before_the_exit_line_leads_the_evidence():
    """The exit line decides, but a DSC resource's own failure above it (an entry too ambiguous to decide a category)
    says why: it comes first; Packer's own summary lines and progress markers never do."""
    lines = [
        "==> azure-arm: Provisioning with powershell script: ./configure-iis.ps1",
        "    azure-arm: PowerShell DSC resource MSFT_xWebsite  failed to execute Set-TargetResource functionality with"
        ' error message: Failed to create Web site "Default".',
        "    azure-arm:     + CategoryInfo          : InvalidOperation: (:) [], CimException",
        "    azure-arm:     + FullyQualifiedErrorId : ProviderOperationExecutionFailure",
        "    azure-arm: The SendConfigurationApply function did not succeed.",
        "==> azure-arm: Provisioning step had errors: Running the cleanup provisioner, if present...",
        "==> azure-arm: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]",
    ]
    d = diagnose(log="\n".join(lines).encode(), rules=KB)
    assert d.category == "customizer-failed"
    assert "PowerShell DSC resource MSFT_xWebsite" in d.evidence[0].text, [e.text for e in d.evidence]
    assert "Script exited with non-zero exit status" in d.evidence[1].text
    summary_only = [lines[0], lines[5], lines[6]]
    d = diagnose(log="\n".join(summary_only).encode(), rules=KB)
    assert "Provisioning step had errors" not in d.evidence[0].text
