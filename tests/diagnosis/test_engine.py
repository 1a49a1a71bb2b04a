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
