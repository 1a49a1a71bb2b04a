"""diagnose(): precedence (root cause beats symptom), none/unknown, customizer naming, redaction, inputs."""

from __future__ import annotations

import io
import json

import pytest

from diagnosis import Diagnosis, diagnose, load_knowledge_base

OP = "45f485cf-5a8c-4379-9937-8d85493bc791"
P = f"[{OP}] PACKER"
FAILED_MESSAGE = (
    "Failed while waiting for packerizer: Microservice has failed: Failed while processing request: Error when "
    "executing packerizer: Packer build command has failed: exit status 1. During the image build, a failure has "
    "occurred, please review the build log to identify which build/customization step failed. For more "
    "troubleshooting steps go to https://aka.ms/azvmimagebuilderts. Image Build log location: "
    "https://abcstorage.blob.core.windows.net/packerlogs/1c0f2b7e-aaaa-bbbb-cccc-0123456789ab/customization.log. "
    f"OperationId: {OP}. Use this operationId to search packer logs."
)


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base(use_env=False)


def log(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def windows_customizer_failure() -> bytes:
    return log(
        f"{P} OUT ==> azure-arm: Deploying deployment template ...",
        f"{P} ERR 2024/05/01 10:00:00 packer: 2024/05/01 10:00:00 Waiting for WinRM, up to timeout: 10m0s",
        f"{P} OUT     azure-arm: WinRM connected.",
        f"{P} ERR 2024/05/01 10:02:00 [INFO] (telemetry) Starting provisioner powershell",
        f"{P} ERR 2024/05/01 10:03:00 [INFO] command 'powershell x.ps1' exited with code: 0",
        f"{P} ERR 2024/05/01 10:04:00 [INFO] (telemetry) ending powershell",
        f"{P} ERR 2024/05/01 10:04:01 [INFO] (telemetry) Starting provisioner windows-restart",
        f"{P} ERR 2024/05/01 10:06:00 [INFO] (telemetry) ending windows-restart",
        f"{P} ERR 2024/05/01 10:06:01 [INFO] (telemetry) Starting provisioner powershell",
        f"{P} OUT     azure-arm: Installing .NET ...",
        f"{P} ERR 2024/05/01 10:18:01 packer: 2024/05/01 10:18:01 [INFO] command 'powershell i.ps1' exited with code: 1",  # noqa: E501
        f"{P} OUT ==> azure-arm: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]",
        f"{P} OUT Build 'azure-arm' errored after 18 minutes: Script exited with non-zero exit status: 1. "
        "Allowed exit codes are: [0]",
        f"{P} ERR ==> Some builds didn't complete successfully and had errors:",
        f"{P} OUT ==> azure-arm: Error deleting resource. Will retry.",
        f"{P} ERR 2024/05/01 10:19:00 [INFO] (telemetry) Finalizing.",
        f"Done exporting Packer logs to Azure for Packer prefix: [{OP}] PACKER OUT",
    )


TEMPLATE = {
    "properties": {
        "customize": [
            {"type": "PowerShell", "name": "settings", "inline": ["Set-ItemProperty ..."]},
            {"type": "WindowsRestart", "name": "restart"},
            {"type": "PowerShell", "name": "install-dotnet", "scriptUri": "https://example.com/i.ps1"},
        ],
        "lastRunStatus": {"runState": "Failed", "message": FAILED_MESSAGE},
        "provisioningState": "Succeeded",
    }
}


def test_failed_customizer_is_named_from_the_template(kb):
    d = diagnose(log=windows_customizer_failure(), template=TEMPLATE, rules=kb)
    assert d.category == "customizer-failed"
    fc = d.failed_customizer
    assert fc is not None
    assert (fc.name, fc.type, fc.position, fc.exit_code, fc.customizer_name) == (
        "powershell",
        "PowerShell",
        3,
        1,
        "install-dotnet",
    )
    assert fc.duration_seconds == 12 * 60 + 59  # start 10:06:01 .. last timestamp 10:19:00
    assert d.summary.startswith(
        'Customizer "install-dotnet" (PowerShell, #3) exited with code 1 after 13 min'
    )
    assert d.phase == "customize"
    # the status message inside the template supplies log url and operation id
    assert (
        d.log_url
        == "https://abcstorage.blob.core.windows.net/packerlogs/1c0f2b7e-aaaa-bbbb-cccc-0123456789ab/customization.log"
    )
    assert d.operation_id == OP
    assert any("Will retry" in w for w in d.warnings)
    assert d.evidence[0].line is not None and "non-zero exit status" in d.evidence[0].text
    assert len(d.evidence) <= 20


def test_without_template_the_packer_provisioner_is_named(kb):
    d = diagnose(FAILED_MESSAGE, log=windows_customizer_failure(), rules=kb)
    assert d.category == "customizer-failed"
    assert d.summary.startswith('Customizer "powershell" (PowerShell, #3) exited with code 1')
    assert d.confidence >= 0.8


def test_success_log_with_benign_cleanup_retries_is_none(kb):
    data = log(
        f"{P} ERR 2024/05/01 10:02:00 [INFO] (telemetry) Starting provisioner shell",
        f"{P} ERR 2024/05/01 10:03:00 [INFO] (telemetry) ending shell",
        f"{P} OUT ==> azure-arm: Error deleting resource. Will retry.",
        f"{P} OUT ==> azure-arm: Error: PublicIPAddressCannotBeDeleted: Public IP address pkrip can not be deleted",
        f"{P} OUT ==> azure-arm: InUseNetworkSecurityGroupCannotBeDeleted: Network security group pkrsg is in use",
        f"{P} ERR 2024/05/01 10:09:00 [INFO] (telemetry) Finalizing.",
        f"{P} OUT Build 'azure-arm' finished after 9 minutes.",
        f"{P} OUT ==> Builds finished. The artifacts of successful builds are:",
    )
    d = diagnose(log=data, rules=kb)
    assert d.category == "none"
    assert not d.failed
    assert len(d.warnings) == 3
    assert d.evidence == []


def test_authorization_failed_inside_distribution_error_is_permissions(kb):
    msg = (
        "Failed in distributing 1 images out of total 1: {[Error 0] [Distribute 0] Error publishing MDI to shared "
        "image gallery:/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i, "
        "Location:eastus. Error: compute.GalleryImageVersionsClient#CreateOrUpdate: Failure sending request: "
        "StatusCode=403 -- Original Error: Code=\"AuthorizationFailed\" Message=\"The client 'x' with object id 'x' "
        "does not have authorization to perform action 'Microsoft.Compute/galleries/images/versions/write'\"}"
    )
    d = diagnose(msg, rules=kb)
    assert d.category == "permissions"
    assert d.phase == "distribute"
    # without the authorization failure the same message is a distribution failure
    plain = msg.split("Error: compute.")[0] + "Error: Future#WaitForCompletion: context deadline exceeded}"
    assert diagnose(plain, rules=kb).category == "distribution-failed"


def test_undeployable_loop_ending_in_context_cancellation_is_sysprep_timing(kb):
    lines = [
        f"{P} ERR 2024/05/01 10:02:00 [INFO] (telemetry) Starting provisioner powershell",
        f"{P} OUT     azure-arm: >>> Sysprepping VM ...",
    ]
    lines += [f"{P} OUT     azure-arm: IMAGE_STATE_UNDEPLOYABLE"] * 500
    lines += [
        f"{P} ERR 2024/05/01 14:02:00 Cancelling builder after context cancellation context canceled",
        f"{P} OUT Cancelling build after receiving terminated",
        f"{P} ERR 2024/05/01 14:02:00 packer: [ERROR] Remote command exited without exit status or exit signal.",
    ]
    d = diagnose(log=log(*lines), rules=kb)
    assert d.category == "sysprep-timing"
    assert "IMAGE_STATE_UNDEPLOYABLE" in d.evidence[0].text
    assert d.evidence[0].line == 3  # the decisive (first) loop line comes first
    # the cancellation alone is a lost connection
    alone = [lines[0], *lines[-3:]]
    assert diagnose(log=log(*alone), rules=kb).category == "connection-lost"


def test_deadline_on_private_winrm_is_network_config_not_timeout(kb):
    timeout_msg = "Failed while waiting for packerizer: Timeout waiting for microservice to complete: 'context deadline exceeded'"  # noqa: E501
    assert diagnose(timeout_msg, rules=kb).category == "build-timeout"
    data = log(
        f"{P} ERR 2024/05/01 10:00:00 packer: 2024/05/01 10:00:00 Waiting for WinRM, up to timeout: 4h0m0s",
        f"{P} ERR 2024/05/01 13:59:59 packer: [ERROR] connection error: dial tcp 10.0.1.4:5986: i/o timeout",
        f"{P} OUT Build 'azure-arm' errored after 4 hours: context deadline exceeded",
    )
    d = diagnose(timeout_msg, log=data, rules=kb)
    assert d.category == "network-config"
    assert d.phase == "connect"
    # a public address is not evidence of a network configuration problem
    public = data.replace(b"10.0.1.4", b"52.10.1.4")
    assert diagnose(timeout_msg, log=public, rules=kb).category == "build-timeout"
    # pasted as text, a WinRM deadline on a private address is network-config as well
    text = "winrm: POST https://10.2.0.5:5986/wsman context deadline exceeded (Client.Timeout exceeded)"
    assert diagnose(text, rules=kb).category == "network-config"


def test_timeout_names_the_running_customizer(kb):
    data = log(
        f"{P} ERR 2024/05/01 10:00:00 [INFO] (telemetry) Starting provisioner shell",
        f"{P} OUT     azure-arm: Reading package lists...",
        f"{P} ERR 2024/05/01 13:59:00 Cancelling builder after context cancellation context canceled",
    )
    msg = "Failed while waiting for packerizer: Timeout waiting for microservice to complete: 'context deadline exceeded'"  # noqa: E501
    d = diagnose(msg, log=data, rules=kb)
    assert d.category == "build-timeout"
    assert d.failed_customizer is not None and d.failed_customizer.name == "shell"
    assert "was running" in d.summary


def test_prompt_only_counts_inside_the_failed_step(kb):
    # a [Y/n] prompt in a provisioner that finished is not why the build failed
    data = log(
        f"{P} ERR 2024/05/01 10:00:00 [INFO] (telemetry) Starting provisioner shell",
        f"{P} OUT     azure-arm: Do you want to continue? [Y/n] Y",
        f"{P} ERR 2024/05/01 10:01:00 [INFO] (telemetry) ending shell",
        f"{P} ERR 2024/05/01 10:01:01 [INFO] (telemetry) Starting provisioner shell",
        f"{P} OUT ==> azure-arm: Script exited with non-zero exit status: 3. Allowed exit codes are: [0]",
        f"{P} OUT Build 'azure-arm' errored after 2 minutes: Script exited with non-zero exit status: 3.",
    )
    d = diagnose(log=data, rules=kb)
    assert d.category == "customizer-failed"
    assert d.failed_customizer.exit_code == 3 and d.failed_customizer.position == 2


def test_unexplained_failure_is_unknown_with_the_telling_lines(kb):
    data = log(
        f"{P} ERR 2024/05/01 10:00:00 [INFO] (telemetry) Starting provisioner shell",
        f"{P} OUT     azure-arm: all good so far",
        f"{P} OUT ==> azure-arm: frobnicator error: quantum flux misaligned",
        f"{P} OUT Build 'azure-arm' errored after 2 minutes: frobnicator error: quantum flux misaligned",
        f"{P} ERR ==> Some builds didn't complete successfully and had errors:",
    )
    d = diagnose(log=data, rules=kb)
    assert d.category == "unknown"
    assert d.confidence <= 0.3
    assert any("quantum flux" in e.text for e in d.evidence)
    assert d.failed_customizer is not None and d.failed_customizer.name == "shell"
    assert d.failed


def test_nothing_given_is_none(kb):
    d = diagnose(rules=kb)
    assert d.category == "none"
    assert d.confidence < 0.5


def test_provisioning_error_and_state(kb):
    d = diagnose(
        provisioning_state="Failed",
        provisioning_error={
            "provisioningErrorCode": "BadSourceType",
            "message": "Source type 'X' is not supported",
        },
        rules=kb,
    )
    assert d.category == "template-invalid"
    assert d.phase == "submission"
    assert d.evidence[0].source == "provisioningError"
    d = diagnose(
        provisioning_state="Failed",
        provisioning_error={"provisioningErrorCode": "ServerError", "message": "try again"},
        rules=kb,
    )
    assert d.category == "service-error"


def test_az_show_output_as_template(kb):
    show = {
        "name": "tpl",
        "provisioningState": "Succeeded",
        "lastRunStatus": {
            "runState": "Failed",
            "runSubState": "Distributing",
            "message": (
                "Failed in distributing 1 images out of total 1: {[Error 0] [Distribute 0] Error waiting on shared "
                "image gallery future for resource group: rg, gallery name: g. Error: Future#WaitForCompletion: "
                "context has been cancelled: StatusCode=200 -- Original Error: context deadline exceeded}"
            ),
        },
        "customize": [],
    }
    d = diagnose(template=show, rules=kb)
    assert d.category == "distribution-failed"
    show["lastRunStatus"] = {"runState": "Succeeded", "message": ""}
    assert diagnose(template=show, rules=kb).category == "none"


def test_partially_succeeded_run_is_a_distribution_failure_not_none(kb):
    """PartiallySucceeded: a distribution target failed; the message says which, an empty one is still a failure."""
    show = {
        "provisioningState": "Succeeded",
        "lastRunStatus": {
            "runState": "PartiallySucceeded",
            "runSubState": "Distributing",
            "message": "Failed in distributing 1 images out of total 2: {[Error 0] [Distribute 1] Error creating VHD}",
        },
    }
    assert diagnose(template=show, rules=kb).category == "distribution-failed"
    show["lastRunStatus"]["message"] = ""
    assert diagnose(template=show, rules=kb).category == "distribution-failed"  # the sub-state names the phase
    del show["lastRunStatus"]["runSubState"]
    assert diagnose(template=show, rules=kb).category == "unknown"


def test_a_run_that_failed_while_distributing_is_a_distribution_failure(kb):
    """runSubState Distributing names the failing phase when the message names no cause; other phases do not."""
    run = {"runState": "Failed", "runSubState": "Distributing", "message": "Internal error occurred."}
    show = {"lastRunStatus": run}
    d = diagnose(template=show, rules=kb)
    assert (d.category, d.phase) == ("distribution-failed", "distribute")
    assert d.evidence and "Internal error occurred." in d.evidence[0].text
    run["message"] = "Failed in distributing 1 images out of total 1: Status=403 Code=\"AuthorizationFailed\""
    assert diagnose(template=show, rules=kb).category == "permissions"  # a named cause still wins
    for sub_state, run in (("Customizing", "Failed"), ("Distributing", "Canceled")):
        show["lastRunStatus"] = {"runState": run, "runSubState": sub_state, "message": "Internal error occurred."}
        assert diagnose(template=show, rules=kb).category == "unknown", (sub_state, run)



def test_an_unexplained_run_says_it_was_canceled_and_in_which_phase(kb):
    """No line names a cause: a canceled run is said to be canceled, and the sub-state gives the phase."""
    show = {"lastRunStatus": {"runState": "Canceled", "runSubState": "Customizing", "message": ""}}
    d = diagnose(template=show, rules=kb)
    assert (d.category, d.phase) == ("unknown", "customize")
    assert d.summary.startswith("The run was canceled while Customizing")
    show["lastRunStatus"] = {"runState": "Failed", "runSubState": "Validating", "message": ""}
    d = diagnose(template=show, rules=kb)
    assert (d.category, d.phase) == ("unknown", "validate")
    assert "canceled" not in d.summary

_CAPTURE = (
    "==> azure-arm: Provisioning with powershell script: C:/tmp/sysprep.ps1",
    "    azure-arm: IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE",
    "==> azure-arm: Querying the machine's properties ...",
    "==> azure-arm: Powering off machine ...",
    "==> azure-arm: Capturing image ...",
)


@pytest.mark.parametrize("as_log", [True, False])
def test_a_failure_during_packers_capture_steps_is_a_distribution_failure(kb, as_log):
    """Packer captures only after every provisioner succeeded: an unnamed error from there to the cleanup is the
    image's storing failing; a named cause still wins, and an error first printed in the cleanup is not one."""
    failed = (*_CAPTURE, "==> azure-arm: ERROR: -> WidgetRefused : The widget refused the image.",
              "==> azure-arm: Deleting resource group ...", "Build 'azure-arm' errored: WidgetRefused")
    d = diagnose(log=log(*failed), rules=kb) if as_log else diagnose("\n".join(failed), rules=kb)
    assert (d.category, d.rule_id, d.phase) == ("distribution-failed", "distribution-failed", "distribute")
    assert "WidgetRefused" in d.evidence[0].text
    named = (*_CAPTURE, "==> azure-arm: ERROR: -> AuthorizationFailed : The client 'x' does not have authorization"
             " to perform action 'Microsoft.Compute/images/write' over scope '/subscriptions/s'.",
             "Build 'azure-arm' errored: AuthorizationFailed")
    assert diagnose("\n".join(named), rules=kb).category == "permissions"
    in_cleanup = (*_CAPTURE, "==> azure-arm: Deleting resource group ...", "Build 'azure-arm' errored: unexpected EOF")
    assert diagnose("\n".join(in_cleanup), rules=kb).category == "unknown"


def test_secrets_are_redacted_everywhere(kb):
    sas = "sv=2021-08-06&se=2030-01-01&sig=SuperSecretSignature123%3D"
    msg = (
        f"Downloading external file (https://st.blob.core.windows.net/c/setup.ps1?{sas}) to local file "
        "(a.0.customizer.fp) [attempt 1 of 10] failed: Error downloading "
        f"'https://st.blob.core.windows.net/c/setup.ps1?{sas}' to 'a.0.customizer.fp'.. "
        "Image Build log location: https://st.blob.core.windows.net/packerlogs/x/customization.log?sig=abcdef123. "
    )
    data = log(
        f"{P} OUT     azure-arm: connecting with AccountKey=c2VjcmV0a2V5c2VjcmV0a2V5== and password=hunter2",
        f"{P} OUT Build 'azure-arm' errored: Script exited with non-zero exit status: 1",
    )
    d = diagnose(msg, log=data, rules=kb)
    dumped = json.dumps(d.to_dict())
    for secret in ("SuperSecretSignature123", "c2VjcmV0a2V5c2VjcmV0a2V5", "hunter2", "abcdef123"):
        assert secret not in dumped
    assert d.category == "customizer-download-failed"


def test_log_inputs_path_file_object_and_chunks_agree(kb, tmp_path):
    data = windows_customizer_failure()
    path = tmp_path / "customization.log"
    path.write_bytes(data)
    results = [
        diagnose(log=path, rules=kb),
        diagnose(log=str(path), rules=kb),
        diagnose(log=io.BytesIO(data), rules=kb),
        diagnose(log=iter([data[i : i + 7] for i in range(0, len(data), 7)]), rules=kb),
    ]
    dicts = [r.to_dict() for r in results]
    assert all(d == dicts[0] for d in dicts)
    assert Diagnosis.from_dict(dicts[0]).to_dict() == dicts[0]


def test_missing_log_path_raises(kb, tmp_path):
    with pytest.raises(FileNotFoundError):
        diagnose(log=tmp_path / "nope.log", rules=kb)


def test_deprovisioning_step_failure(kb):
    data = log(
        f"{P} ERR 2024/05/01 10:00:00 [INFO] (telemetry) Starting provisioner powershell",
        f"{P} ERR 2024/05/01 10:01:00 [INFO] (telemetry) ending powershell",
        f"{P} ERR 2024/05/01 10:01:01 [INFO] (telemetry) Starting provisioner powershell",
        f"{P} ERR 2024/05/01 10:01:01 packer: Found command: if( TEST-PATH c:\\DeprovisioningScript.ps1 ){{cat x}}",
        f"{P} OUT     azure-arm: Sysprep failed with error code 0x8007001f",
        f"{P} ERR 2024/05/01 10:03:01 [INFO] command 'powershell c:\\DeprovisioningScript.ps1' exited with code: 1",
        f"{P} OUT Build 'azure-arm' errored after 3 minutes: Script exited with non-zero exit status: 1",
    )
    d = diagnose(log=data, rules=kb)
    assert d.category == "deprovision-failed"
    assert d.phase == "deprovision"
    assert d.failed_customizer.type == "Deprovisioning"


def test_pasted_benign_cleanup_line_alone_is_none_with_a_warning(kb):
    d = diagnose("==> azure-arm: Error deleting resource. Will retry.", rules=kb)
    assert d.category == "none"
    assert d.warnings and "harmless" in d.warnings[0]


def test_validation_log_failure_is_in_the_validate_phase(kb):
    validation = log(
        f"{P} ERR 2024/05/01 11:00:00 [INFO] (telemetry) Starting provisioner shell",
        f"{P} OUT     azure-arm: checking nginx ... E: Could not get lock /var/lib/dpkg/lock-frontend",
        f"{P} OUT ==> azure-arm: Script exited with non-zero exit status: 100. Allowed exit codes are: [0]",
        f"{P} OUT Build 'azure-arm' errored after 1 minute: Script exited with non-zero exit status: 100.",
    )
    d = diagnose(validation_log=validation, rules=kb)
    assert d.category == "customizer-failed"
    assert d.phase == "validate"
    assert all(e.source == "validation-log" for e in d.evidence)


def test_ambiguous_match_alone_is_unknown_with_its_hints(kb):
    # a bare WinRM timeout has several causes (NSG, hardened image, slow VM): no category is guessed
    d = diagnose("==> azure-arm: Timeout waiting for WinRM.", rules=kb)
    assert d.category == "unknown"
    assert d.rule_id == "communicator-timeout"
    assert d.confidence <= 0.3
    assert "Several causes fit" in d.cause
    assert any("5986" in step for step in d.remediation)
    assert "Timeout waiting for WinRM" in d.evidence[0].text


def test_ambiguous_match_yields_to_a_specific_one(kb):
    d = diagnose(
        "==> azure-arm: Timeout waiting for WinRM.\n"
        "[DEBUG] TCP connection to SSH ip/port failed: dial tcp 10.1.0.5:5986: i/o timeout",
        rules=kb,
    )
    assert d.category == "network-config"
    assert d.rule_id == "communicator-timeout-private"


def test_generic_internal_error_is_not_a_service_error(kb):
    d = diagnose(
        "LastRunStatusMessage : Internal error occurred. This is a generic error. To identify possible causes, "
        "go to https://aka.ms/azvmimagebuilderts.",
        rules=kb,
    )
    assert d.category == "unknown"
    d = diagnose("The gateway did not receive a response from 'Microsoft.VirtualMachineImages' (CODE: 504)", rules=kb)
    assert d.category == "service-error"


def test_pasted_arm_error_without_a_known_code_is_unknown_not_none(kb):
    d = diagnose("(SomethingNew) The widget could not be frobbed.\nCode: SomethingNew", rules=kb)
    assert d.category == "unknown"


def test_a_scripts_error_output_inside_a_provisioner_is_customizer_failed(kb):
    excerpt = log(
        "==> azure-arm: Provisioning with powershell script: C:/tmp/update.ps1",
        "    azure-arm: ERROR: Exception from HRESULT: 0x8024ABCD",
    )
    d = diagnose(log=excerpt, rules=kb)
    assert (d.category, d.rule_id) == ("customizer-failed", "failed-customizer")
    assert "0x8024ABCD" in d.evidence[0].text
    # the same words from the client (no build ran): no customizer to blame
    d = diagnose("ERROR: Exception from HRESULT: 0x8024ABCD", rules=kb)
    assert d.category == "unknown"


def test_a_guest_entry_in_packer_output_decides_only_on_a_line_from_inside_the_build(kb):
    """In Packer's output, a script's error record decides only under the build's prefix; Packer's own summary
    line quoting a client-side PowerShell error does not, nor a bare line beside Packer's; a tool's output alone still
    decides."""
    inside = "==> azure-arm: Provisioning with powershell script: C:/tmp/a.ps1\n" + (
        "    azure-arm: Start-Service : Failed to start service 'Docker Engine (docker)'."
    )
    assert diagnose(inside, rules=kb).category == "customizer-failed"
    client = "Build 'azure' errored: Error Creating Temporary Azure VM: New-AzureVM : BadRequest: the request failed."
    assert diagnose(client, rules=kb).category == "unknown"
    apt = "E: Unable to locate package contoso-agent"
    assert diagnose(apt, rules=kb).category == "customizer-failed"  # the tool's own output alone
    assert diagnose(f"Build 'azure-arm' errored: x\n{apt}", rules=kb).category == "unknown"  # beside Packer's


def test_an_error_record_above_packers_summary_alone_is_the_builds_output(kb):
    """A reporter who pastes a script's error record without Packer's prefixes, then the build's summary line, shows
    the build's output: the record blames the customizer. The same record in the error the summary repeats is the
    builder's own, and beside prefixed Packer lines an unprefixed record stays the reporter's."""
    record = (
        "Remove-Item : Cannot find path 'C:\\Program Files\\dotnet\\sdk-manifests\\x' because it does not exist.\n"
        "At C:\\Windows\\Temp\\script-1.ps1:128 char:5\n"
        "    + CategoryInfo          : ObjectNotFound: (C:\\Program Files\\dotnet\\sdk-manifests\\x:String) "
        "[Remove-Item], ItemNotFoundException\n"
        "    + FullyQualifiedErrorId : PathNotFound,Microsoft.PowerShell.Commands.RemoveItemCommand\n"
    )
    summary = "Build 'amazon-ebs.build_ebs' errored after 1 hour 26 minutes"
    d = diagnose(record + summary, rules=kb)
    assert (d.category, d.rule_id) == ("customizer-failed", "failed-customizer"), d.rule_id
    assert "Cannot find path" in d.evidence[0].text
    assert diagnose(f"{summary}: Error uploading ps script: {record}", rules=kb).category == "unknown"
    prefixed = record + "==> amazon-ebs: Stopping the source instance...\n" + summary
    assert diagnose(prefixed, rules=kb).category == "unknown"


def test_a_scripts_own_error_line_in_a_failed_build_blames_its_customizer(kb):
    """An error-looking line a script printed (Packer's remote-output prefix) is the failed customizer's own
    report, though no exit line was pasted; the same line before the next provisioner started is not."""
    failed = (
        "==> azure-arm.image: Provisioning with powershell script: C:/images/Install-VisualStudio.ps1\n"
        "    azure-arm.image: Downloading Bootstrapper ...\n"
        "    azure-arm.image: Bootstrapper check failed: the publisher is not the expected one."
    )
    d = diagnose(failed, rules=kb)
    assert (d.category, d.rule_id) == ("customizer-failed", "failed-customizer")
    assert "Bootstrapper check failed" in d.evidence[0].text
    got_past = failed + "\n==> azure-arm.image: Provisioning with powershell script: C:/images/Next.ps1"
    assert diagnose(got_past, rules=kb).category == "none"


def test_an_error_before_packers_steps_after_the_last_provisioner_is_a_step_that_went_on(kb):
    """A disk filled on purpose (dd zeroing free space) before the builder's shutdown step is no failure; in a build
    that stopped there the script failed on dd's status, not for want of disk."""
    zeroed = (
        "==> virtualbox-iso: Provisioning with shell script: scripts/zerodisk.sh\n"
        "    virtualbox-iso: dd: error writing '/EMPTY': No space left on device\n"
    )
    assert diagnose(zeroed + "==> virtualbox-iso: Gracefully halting virtual machine...\n", rules=kb).category == "none"
    stopped = zeroed + "Build 'virtualbox-iso' errored: Script exited with non-zero exit status: 1\n"
    assert diagnose(stopped, rules=kb).category == "customizer-failed"


def test_a_reporters_title_above_pasted_packer_output_is_not_a_step_the_build_got_past(kb):
    """The error a reporter writes above the log they paste is their summary of the failure; the same line under
    Packer's prefix before the next provisioner started is a step that went on."""
    log = (
        "==> vhd: Provisioning with powershell script: C:/images/Install-WindowsUpdates.ps1\n"
        "    vhd: Run windows updates\n"
        "==> vhd: Restarting Machine\n"
    )
    d = diagnose("Timeout waiting for machine to restart\n\n" + log, rules=kb)
    assert d.category == "windows-restart-failed", (d.category, d.rule_id)
    assert diagnose("==> vhd: Timeout waiting for machine to restart\n" + log, rules=kb).category != d.category


def test_a_reporters_quote_of_a_script_error_counts_unless_the_pasted_output_fails_before_any_provisioner(kb):
    """An entry that counts only inside the failed customizer takes the reporter's quoted line above pasted Packer
    output when that output shows a provisioner running, or no failure of its own (the paste stops before it); not
    when the output fails before any provisioner ran: the quote is then not that build's failure."""
    quote = "The install fails with:\nE: Unable to locate package azure-cli\n\n"
    running = "==> azure-arm: Provisioning with shell script: scripts/install-azure-cli.sh\n"
    output = "==> azure-arm: Hit:2 http://azure.archive.ubuntu.com/ubuntu resolute InRelease\n"
    d = diagnose(quote + running + output, rules=kb)
    assert (d.category, d.rule_id) == ("customizer-failed", "linux-package-not-found"), (d.category, d.rule_id)
    assert diagnose(quote + output, rules=kb).rule_id == "linux-package-not-found"
    connecting = "==> azure-arm: Waiting for SSH to become available...\n"
    failed = (
        connecting + "==> azure-arm: Timeout waiting for SSH.\n"
        "Build 'azure-arm' errored after 20 minutes: Timeout waiting for SSH.\n"
    )
    assert diagnose(quote + failed, rules=kb).rule_id != "linux-package-not-found"
    below = connecting + "E: Unable to locate package azure-cli\n"
    assert diagnose(below, rules=kb).rule_id != "linux-package-not-found"


def test_a_custom_script_extensions_script_exit_is_its_script_failing_but_aks_node_provisioning_is_not(kb):
    """The Custom Script Extension's 'command terminated with exit status=N' is the script's own failure; AKS's
    vmssCSE runs AKS's bootstrap, whose exit status is one of AKS's error codes: no script of the user's failed."""
    linux = (
        "VM has reported a failure when processing extension '{name}'. Error message: 'Enable failed: failed to"
        " execute command: command terminated with exit status=2\\n[stdout]\\n\\n[stderr]\\nls: cannot access x'"
    )
    d = diagnose(linux.format(name="install-tools"), rules=kb)
    assert (d.category, d.rule_id) == ("customizer-failed", "custom-script-extension-nonzero-exit"), d.rule_id
    windows = (
        "VM has reported a failure when processing extension 'CustomScriptExtension'. Error message: \"Command"
        " execution finished, but failed because it returned a non-zero exit code of: '1'.\""
    )
    assert diagnose(windows, rules=kb).rule_id == "custom-script-extension-nonzero-exit"
    aks = diagnose(linux.format(name="vmssCSE"), rules=kb)
    assert (aks.category, aks.rule_id) == ("unknown", "aks-node-provisioning-script-failed"), aks.rule_id


def test_an_ansible_task_on_the_control_node_is_no_build_step(kb):
    """A task failing on 'localhost' is a playbook managing Azure from the control node; on the build VM (Packer's
    'default' host) it is the customizer's failure."""
    task = 'fatal: [{host}]: FAILED! => {{"changed": false, "msg": "Error creating image myimage - Azure Error: X"}}'
    assert diagnose(task.format(host="localhost"), rules=kb).category == "unknown"
    d = diagnose("    azure-arm: " + task.format(host="default"), rules=kb)
    assert (d.category, d.rule_id) == ("customizer-failed", "ansible-task-failed")


def test_error_lines_after_the_deprovisioning_command_are_a_deprovisioning_failure(kb):
    """waagent -deprovision ran, then an error: the deprovisioning failed; an error only before it is not its own."""
    ran = "    azure-arm: WARNING! The waagent service will be stopped.\n"
    ran += "    azure-arm: /usr/sbin/waagent -force -deprovision+user"
    error = "    azure-arm: userdel: cannot remove entry '/home/azureuser': Device or resource busy"
    d = diagnose(f"{ran}\n{error}\nBuild 'azure-arm' errored: x", rules=kb)
    assert (d.category, d.rule_id) == ("deprovision-failed", "failed-deprovisioning")
    assert "userdel" in d.evidence[0].text, [e.text for e in d.evidence]
    assert diagnose(f"{error}\n{ran}", rules=kb).category != "deprovision-failed"


def test_harmless_cleanup_retries_are_warnings_not_evidence():
    from localazure import samplelogs

    log = bytes(samplelogs.failed_customizer_log("install-iis", "PowerShell", 1, os="windows", before=[], seed=11))
    assert b"Error deleting resource. Will retry." in log
    d = diagnose(log=[log])
    assert d.category == "customizer-failed"
    assert not any("Will retry" in e.text or "CannotBeDeleted" in e.text for e in d.evidence), d.evidence
    assert any("harmless" in w for w in d.warnings), d.warnings


@pytest.mark.parametrize(
    ("text", "not_category"),
    [
        # "Redistributable" holds "distribut", "reSOURCE IMAGEvm" holds "source image": words match whole
        (
            "    azure-arm: Microsoft Visual C++ Redistributable 2015 x64 install failed with exit code 1638",
            "distribution-failed",
        ),
        ("Resource imagevm_OsDisk_1_161aeed85886415e8dc2132e97b0c93a is not found.", "source-image-not-found"),
    ],
)
def test_entry_words_match_whole_words(kb, text, not_category):
    assert diagnose(text, rules=kb).category != not_category


def test_progress_lines_alone_show_no_failure_but_explain_one(kb):
    """The deprovisioning commands run in every healthy build: alone they are no failure; after a lost
    connection they say where the build was."""
    ran = "sudo waagent -deprovision+user -force\nWARNING! The waagent service will be stopped.\n"
    assert diagnose(ran, rules=kb).category == "none"
    lost = ran + "Build 'azure-arm' errored after 12 minutes: Remote command exited without exit status or exit signal"
    assert diagnose(lost, rules=kb).category == "deprovision-failed"


def test_a_script_error_on_standard_error_inside_a_provisioner_says_the_customizer_failed():
    """Packer prints a remote command's standard error as '==> <name>: <line>': inside a provisioner, such an error
    line that is none of Packer's own messages is the script's, as its standard output's would be."""
    text = (
        "==> azure-arm: Connected to SSH!\n"
        "==> azure-arm: Provisioning with shell script: /tmp/packer-shell513573702\n"
        "==> azure-arm: clean.sh failed: Not a directory\n"
        "==> azure-arm: Provisioning step had errors: Running the cleanup provisioner, if present...\n"
    )
    assert diagnose(text).category == "customizer-failed"
    before = text.replace("==> azure-arm: Provisioning with shell script: /tmp/packer-shell513573702\n", "")
    assert diagnose(before).category == "unknown"  # no provisioner ran: not a script's line
    own = text.replace("clean.sh failed: Not a directory", "Timeout waiting for SSH.")
    assert diagnose(own).rule_id != "failed-customizer"  # Packer's own message is no script error


def test_the_error_line_right_above_provisioning_step_had_errors_is_the_failed_steps():
    """Packer says "Provisioning step had errors" once a step from provisioning on failed: the error line right above
    it is what the failed step printed last; a builder step's own error (under the arrow, repeated by the build's
    summary) is not a script's."""
    text = (
        "+/tmp/script_314.sh:367> uv tool install tool --python 3.11\n"
        'error: Permission denied (os error 13) at path "/var/folders/sk/T/.tmpjKWSI5"\n'
        "==> amazon-ebs: Provisioning step had errors: Running the cleanup provisioner, if present...\n"
    )
    assert diagnose(text).category == "customizer-failed"
    farther = text.replace("\n==>", "\nDone.\nok\n==>")
    assert diagnose(farther).category == "unknown"  # not the step's last output
    builder = (
        "==> proxmox: Converting VM to template\n"
        "==> proxmox: cloud_init is set to true, but cloud_init_storage_pool is empty\n"
        "==> proxmox: Provisioning step had errors: Running the cleanup provisioner, if present...\n"
        "Build 'proxmox' errored after 12 minutes 7 seconds: cloud_init is set to true, but cloud_init_storage_pool"
        " is empty\n"
    )
    assert diagnose(builder).category != "customizer-failed"


@pytest.mark.parametrize("stamp", ["", "15:49:00  "])
def test_a_vagrant_provisioner_reads_as_a_step(stamp):
    """Vagrant's "Running provisioner: <type>..." starts a provisioner as Packer's "Provisioning with" does: the
    package manager's error under the machine's prefix after it is the failed step's."""
    text = (
        f"{stamp}==> centos6: Running provisioner: shell...\n"
        f"{stamp}    centos6: Running: inline script\n"
        f"{stamp}    centos6: Error: Cannot find a valid baseurl for repo: base\n"
    )
    d = diagnose(text)
    assert (d.category, d.rule_id) == ("customizer-failed", "linux-repository-download-failed")
    if stamp:  # behind a time, only the provisioner's start shows the line came from inside the machine
        before = text.replace("Running provisioner: shell...", "Booting VM...")
        assert diagnose(before).rule_id != "linux-repository-download-failed"


@pytest.mark.parametrize("communicator", ["SSH", "WinRM"])
@pytest.mark.parametrize("end", ["Build 'amazon-ebs' finished.\n", ""])
def test_a_connect_step_that_gave_up_is_a_failure_even_when_packer_says_finished(communicator, end):
    """Packer's connect step halts the build after "Error waiting for <communicator>: "; old Packer still printed the
    build as finished."""
    text = (
        f"==> amazon-ebs: Waiting for {communicator} to become available...\n"
        f"==> amazon-ebs: Error waiting for {communicator}: ssh: handshake failed: ssh: unable to authenticate\n"
        "==> amazon-ebs: Terminating the source AWS instance...\n" + end
    )
    assert diagnose(text).category not in ("none", "customizer-failed")
    connected = text.replace(
        f"Error waiting for {communicator}: ssh: handshake failed: ssh: unable to authenticate",
        f"Connected to {communicator}!",
    )
    assert diagnose(connected).category == "none"


@pytest.mark.parametrize("builder", ["azure-arm", "ubuntu.azure-arm.image", "amazon-ebs", "vsphere-clone.updates"])
def test_provisioner_output_reads_the_same_under_any_builder(builder):
    """A provisioner prints the same lines whichever builder runs it: Packer's '    <builder>: ' prefix marks them."""
    text = (
        f"    {builder}: Downloading binaries from: s3://amazon-eks\n"
        f"    {builder}: /tmp/script_8807.sh: line 251: aws: command not found\n"
    )
    assert diagnose(text).category == "customizer-failed"


def test_a_provisioner_start_without_the_build_prefix_still_opens_the_step():
    """A reporter's copy may cut Packer's '<build>: ' prefix off: 'Provisioning with ...' at a line's start still
    says the error record after it came from the customizer's script."""
    text = (
        "Provisioning with powershell script: C:/images/scripts/Install-Emulator.ps1\n"
        "Checksum verification failed: expected 1EF6, got 5E4F\n"
        "At C:\\Program Files\\WindowsPowerShell\\Modules\\ImageHelpers\\InstallHelpers.ps1:919 char:9\n"
        '+         throw "Checksum verification failed: expected $expectedHash,  ...\n'
        "    + CategoryInfo          : OperationStopped: (Checksum verifi...:String) [], RuntimeException\n"
        "    + FullyQualifiedErrorId : Checksum verification failed: expected 1EF6, got 5E4F\n"
        "Provisioning step had errors: Running the cleanup provisioner, if present...\n"
    )
    assert diagnose(text).category == "customizer-failed"


def test_a_timeout_flag_of_a_command_is_no_error_line():
    text = (
        "$ TF_ACC=1 go test -v ./internal/services/compute -run=TestAccSharedImage_ -timeout 60m\n"
        "=== RUN   TestAccSharedImage_basic\n"
        "--- PASS: TestAccSharedImage_basic (116.65s)\n"
        "PASS\n"
    )
    assert diagnose(text).category == "none"


def test_a_named_builds_remote_output_is_from_inside_the_build(kb):
    """'    centos-7: ...' is the output of the build the text names in '==> centos-7: ...' lines (a build named in
    the template instead of by its builder type); under a name no '==>' line gives it is not known to be."""
    text = (
        "==> centos-7: Running goss tests...\n"
        "    centos-7: kubeadm init phase preflight: exit-status: Error: Command execution timed out (10s)\n"
        "    centos-7: Count: 13, Failed: 1, Skipped: 0\n"
    )
    d = diagnose(text, rules=kb)
    assert (d.category, d.rule_id) == ("customizer-failed", "image-test-run-failed"), d.summary
    assert diagnose(text.replace("==> centos-7:", "==> centos-8:"), rules=kb).category == "unknown"


@pytest.mark.parametrize(
    ("summary", "failed"),
    [
        ("Total Test Cases      : 3 (3 Passed, 0 Failed, 0 Aborted, 0 Skipped)", False),
        ("Total Test Cases      : 3 (2 Passed, 1 Failed, 0 Aborted, 0 Skipped)", True),
        ("    azure-arm: Tests Passed: 12, Failed: 0, Skipped: 0 NotRun: 0", False),
        ("    azure-arm: Count: 13, Failed: 0, Skipped: 0", False),
        ("    azure-arm: Count: 13, Failed: 1, Skipped: 0", True),
        ("15:20:17.016 INFO LISA.RootRunner     FAILED   : 0", False),
        ("15:20:17.016 INFO LISA.RootRunner     FAILED   : 2", True),
        ("Tests Passed: 42, Failed: 0, Skipped: 0, Inconclusive: 0, NotRun: 0", False),
        ("Tests Passed: 40, Failed: 2, Skipped: 0, Inconclusive: 0, NotRun: 0", True),
        ("Failed: 0, Skipped: 4", False),
        ("Profile Summary: 12 successful controls, 0 control failures, 0 controls have error", False),
        ("Profile Summary: 10 successful controls, 2 control failures, 0 controls have error", True),
        ("12 examples, 0 failures, 2 pending", False),
        ("12 examples, 1 failure, 2 pending", True),
    ],
)
def test_a_test_runners_summary_counting_no_failure_is_no_failure(kb, summary, failed):
    """A summary line of a test run (LISA's table, Pester, goss, InSpec, RSpec) names 'Failed' with its count: zero is
    no failure, pasted alone or under a builder's prefix."""
    assert (diagnose(summary, rules=kb).category != "none") == failed


@pytest.mark.parametrize(
    "sentence",
    [
        "When running from Azure DevOps the following error is produced:",
        "An exception was thrown during the image build:",
        "I get the following error:",
        "The build fails at the install step:",
    ],
)
def test_a_reporters_sentence_that_an_error_came_is_a_failure(kb, sentence):
    """A reporter's sentence that the build or a part of it failed, or that an error came, makes the text a failure
    (``unknown`` without a known cause) even where the output line below it alone looks harmless."""
    d = diagnose(f"{sentence}\n\n    azure-arm: Expected PyPy 2.7.* folder is not present\n", rules=kb)
    assert d.category != "none", d.summary
    assert diagnose("    azure-arm: Expected PyPy 2.7.* folder is not present\n", rules=kb).category == "none"


@pytest.mark.parametrize(
    "line",
    [
        '==> azure-arm: Step "StepDeployTemplate" failed',
        "==> azure-arm: [c] Clean up and exit, [a] abort without cleanup, or [r] retry step (build may fail even if"
        " retry succeeds)?",
    ],
)
@pytest.mark.parametrize("backend", ["stdlib", "hyperscan"])
def test_packers_on_error_ask_lines_are_a_failure(kb, monkeypatch, line, backend):
    """With -on-error=ask (or -debug) Packer says which step failed and asks what to do: the build failed there."""
    monkeypatch.setenv("DIAGNOSIS_SCAN_BACKEND", backend)
    ran = "==> azure-arm: Provisioning with shell script: setup.sh\n    azure-arm: configuring\n"
    assert diagnose(ran + line + "\n", rules=kb).category == "unknown"
    assert diagnose(ran, rules=kb).category == "none"


PREFIX_NOT_RECOGNIZED = [
    # the term on the record's first line
    "    vmware-iso: :PACKER_BUILDER_TYPE=vmware-iso : The term ':PACKER_BUILDER_TYPE=vmware-iso'\n"
    "    vmware-iso: is not recognized as the name of a cmdlet, function, script file, or operable\n"
    "    vmware-iso: At line:1 char:5\n"
    '    vmware-iso: + & { :PACKER_BUILDER_TYPE="vmware-iso"; :PACKER_BUILD_NAME="vmware-iso";\n'
    "    vmware-iso:     + CategoryInfo          : ObjectNotFound: (:PACKER_BUILDER_TYPE=vmware-iso:String) [], C\n"
    "    vmware-iso:    ommandNotFoundException\n"
    "    vmware-iso:     + FullyQualifiedErrorId : CommandNotFoundException\n",
    # the env-vars file's path wrapped onto its own line
    "==> googlecompute.vm: . : The term\n"
    "==> googlecompute.vm: 'c:/Windows/Temp/packer-ps-env-vars-62f10fbc-5827-c4b2-8272-3b1793e96a67.ps1'\n"
    "==> googlecompute.vm: is not recognized as the name of a cmdlet, function, script file, or operable\n"
    "==> googlecompute.vm: At line:1 char:138\n"
    "==> googlecompute.vm:     + CategoryInfo          : ObjectNotFound: (c:/Windows/Temp...b1793e96a67.p\n"
    "==> googlecompute.vm:     + FullyQualifiedErrorId : CommandNotFoundException\n",
    # cut short before CategoryInfo
    "    virtualbox-iso: =SilentlyContinue : The term '=SilentlyContinue' is not recognized as the name\n"
    "    virtualbox-iso: At line:1 char:55\n"
    "    virtualbox-iso: + ... -Path variable:global:ProgressPreference){='SilentlyContinue'};:PACKE ...\n",
]


@pytest.mark.parametrize("record", PREFIX_NOT_RECOGNIZED)
def test_packers_own_prefix_not_recognized_is_no_failure_but_a_later_record_is(kb, record):
    """PowerShell's record for Packer's own command prefix (its $-variables stripped, its env-vars file gone) reports
    nothing wrong: the script still runs. A record the script prints after it still decides."""
    start = "==> azure-arm: Provisioning with powershell script: C:/scripts/setup.ps1\n"
    d = diagnose(start + record + "    azure-arm: installed\n", rules=kb)
    assert d.category == "none", d.summary
    assert any("Packer wraps each script" in w for w in d.warnings), d.warnings
    real = (
        "    azure-arm: Install-Package : No match was found for the specified search criteria for 'contoso-agent'\n"
        "    azure-arm:     + CategoryInfo          : ObjectNotFound: (Microsoft.Power....InstallPackage:InstallPackag"
        "e)"
        " [Install-Package], Exception\n"
        "    azure-arm:     + FullyQualifiedErrorId : NoMatchFoundForCriteria,Microsoft.PowerShell.PackageManagement"
        ".Cmdlets.InstallPackage\n"
        "==> azure-arm: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]\n"
    )
    d = diagnose(start + record + real, rules=kb)
    assert d.category == "customizer-failed", d.summary
    assert "contoso-agent" in d.evidence[0].text


def test_the_deprovisioning_scripts_guarded_wait_for_a_missing_telemetry_service_is_harmless(kb):
    """The current deprovisioning script guards its wait ('(Get-Service X) -and ...'): a missing
    WindowsAzureTelemetryService ends it. The older unguarded wait loops for ever on it: Sysprep never runs."""
    op = "[1e333e01-b8d7-45d3-9295-1f49870c39e1] PACKER OUT"

    def record(guard: str) -> str:
        return (
            f"{op} ==> azure-arm: Get-Service : Cannot find any service with service name"
            " 'WindowsAzureTelemetryService'.\n"
            f"{op} ==> azure-arm: At C:\\DeprovisioningScript.ps1:4 char:9\n"
            f"{op} ==> azure-arm: + while ((Get-Service WindowsAzureTelemetryService){guard} ...\n"
            f"{op} ==> azure-arm:     + CategoryInfo          : ObjectNotFound: (WindowsAzureTelemetryService:String)"
            " [Get-Service], ServiceCommandException\n"
            f"{op} ==> azure-arm:     + FullyQualifiedErrorId : NoServiceFoundForGivenName,Microsoft.PowerShell"
            ".Commands.GetServiceCommand\n"
        )

    done = f"{op}     azure-arm: >>> Sysprepping VM ...\n{op}     azure-arm: IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE\n"
    d = diagnose(record(" -and ((Get-Service ") + done, rules=kb)
    assert d.category == "none", d.summary
    assert any("WindowsAzureTelemetryService" in w for w in d.warnings), d.warnings
    timed_out = f"{op} ==> azure-arm: Build 'azure-arm' errored: context deadline exceeded\n"
    d = diagnose(record(".Status -ne 'Runni") + timed_out, rules=kb)
    assert d.category == "sysprep-timing", (d.category, d.rule_id)


@pytest.mark.parametrize(
    "dd_line",
    [
        "dd: error writing '/EMPTY': No space left on device",
        "dd: error writing \u2018/ZEROFILL\u2019: No space left on device",
        "dd: writing to '/dev/sda3': No space left on device",
    ],
)
def test_zero_filling_the_disk_on_purpose_is_no_resource_failure(kb, dd_line):
    """Templates zero the free space with dd until the disk is full before the capture: dd's 'No space left on
    device' is the goal. A script that stops on dd's status fails as a customizer; a disk that fills elsewhere is
    still a full disk."""
    step = "==> azure-arm: Provisioning with shell script: scripts/cleanup.sh\n"
    dd = f"    azure-arm: {dd_line}\n    azure-arm: 5647+0 records in\n    azure-arm: 5646+0 records out\n"
    d = diagnose(step + dd + "==> azure-arm: Deleting resource group ...\n", rules=kb)
    assert d.category == "none", d.summary
    assert any("zeroing" in w or "zeros" in w for w in d.warnings), d.warnings
    failed = step + dd + "==> azure-arm: Script exited with non-zero exit status: 1. Allowed exit codes are: [0]\n"
    assert diagnose(failed, rules=kb).category == "customizer-failed"
    full = failed.replace(dd_line, "dd: error writing '/var/lib/docker/overlay2/layer.tar': No space left on device")
    assert diagnose(full, rules=kb).category == "vm-resources-exhausted"


def test_a_powershell_error_record_blames_a_customizer_only_under_a_builders_prefix(kb):
    """Packer prints a provisioner's output under the builder's prefix: there a cmdlet's error record is the
    customizer's; the same record after a reporter's 'Powershell:' or from a client's deployment cmdlet is not."""
    record = "New-VMSwitch : Hyper-V encountered an error trying to access an object on computer 'x'"
    d = diagnose(f"==> azure-arm: Provisioning with powershell script: setup.ps1\n    azure-arm: {record}", rules=kb)
    assert (d.category, d.rule_id) == ("customizer-failed", "customizer-powershell-error"), d.rule_id
    for pasted in (f"Also seeing this when I run it from Powershell: {record}", f"Error: {record}"):
        assert diagnose(pasted, rules=kb).rule_id != "customizer-powershell-error", pasted


@pytest.mark.parametrize(
    "cancelled",
    [
        "Build was cancelled.",
        "Cleanly cancelled builds after being interrupted.",
        "==> azure-arm: Cancelling provisioner after a timeout...",
    ],
)
def test_a_cancelled_build_is_a_failure(kb, cancelled):
    """Packer's lines for a build it cancelled (an interrupt, a provisioner's own timeout) are failures."""
    assert diagnose(cancelled, rules=kb).category != "none"
