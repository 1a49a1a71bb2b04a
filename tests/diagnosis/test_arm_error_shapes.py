"""Azure Resource Manager and resource-provider errors keep their category in every shape they are printed in.

The same error code and message reach a report through the Azure CLI (``(Code) message`` / ``Code: ...``),
go-autorest (``Code="..." Message="..."``), Packer's azure-arm builder (``ERROR: -> Code : message`` log lines),
a status message with the inner error as escaped JSON (``\\"``, ``\\u0027``), Azure PowerShell (``ErrorCode:``)
and go-azure-sdk (``with error: Code: message`` and its polling error block). Each case is diagnosed the way
``python -m diagnosis`` reads pasted text, on both scanning backends.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from diagnosis import load_knowledge_base
from diagnosis.cli import diagnose_input

KB = load_knowledge_base(use_env=False)
SUB = "/subscriptions/4b1e7c0a-93f5-4c1e-a0d2-6f0e7b3c9d21"
OPID = "7f1c2d3e-4b5a-6978-8091-a2b3c4d5e6f7"


def _cli(code: str, message: str) -> str:
    return f"ERROR: ({code}) {message}\nCode: {code}\nMessage: {message}"


def _autorest(code: str, message: str) -> str:
    return (
        "compute.VirtualMachinesClient#CreateOrUpdate: Failure sending request: StatusCode=400 -- "
        f'Original Error: Code="{code}" Message="{message}"'
    )


def _packer_log(code: str, message: str) -> str:
    return (
        f"[{OPID}] PACKER ERR ==> azure-arm: ERROR: -> DeploymentFailed : At least one resource deployment operation "
        "failed. Please list deployment operations for details.\n"
        f"[{OPID}] PACKER ERR ==> azure-arm: ERROR:   -> {code} : {message}\n"
        f"[{OPID}] PACKER OUT Build 'azure-arm' errored after 1 minute 4 seconds: Future#WaitForCompletion: the number "
        'of retries has been exceeded: StatusCode=400 -- Original Error: Code="DeploymentFailed"'
    )


def _escaped_status(code: str, message: str) -> str:
    """go-autorest's Details: the operation error as JSON escaped into a string (quotes as \\u0027)."""
    inner = json.dumps({"status": "Failed", "error": {"code": code, "message": message}})
    details = json.dumps([{"code": "Conflict", "message": inner}]).replace("'", "\\u0027")
    return (
        "Deployment failed. Correlation ID: 2f1e0d9c-8b7a-4c6d-9e8f-a1b2c3d4e5f6. "
        'Code="DeploymentFailed" Message="At least one resource deployment operation failed." Details=' + details
    )


def _powershell(code: str, message: str) -> str:
    return (
        f"New-AzImageBuilderTemplate : {message}\nErrorCode: {code}\nErrorMessage: {message}\n"
        "StatusCode: 400\nReasonPhrase: Bad Request"
    )


def _go_azure_sdk(code: str, message: str) -> str:
    return f"==> azure-arm: unexpected status 400 (400 Bad Request) with error: {code}: {message}"


def _go_azure_sdk_polling(code: str, message: str) -> str:
    return (
        "Build 'azure-arm' errored after 3 minutes 9 seconds: polling after CreateOrUpdate: polling failed: "
        f'the Azure API returned the following error:\n\nStatus: "Failed"\nCode: "{code}"\nMessage: "{message}"\n'
        'Activity Id: "".\n\n---\n\nAPI Response:\n\n----[start]----\n'
    )


PRINTERS: dict[str, Callable[[str, str], str]] = {
    "cli": _cli,
    "autorest": _autorest,
    "packer-log": _packer_log,
    "escaped-status": _escaped_status,
    "powershell": _powershell,
    "go-azure-sdk": _go_azure_sdk,
    "go-azure-sdk-polling": _go_azure_sdk_polling,
}

# (expected category, error code, message); the message varies the quoted values Azure fills in
ERRORS: list[tuple[str, str, str]] = [
    (
        "permissions",
        "DenyAssignmentAuthorizationFailed",
        "The client '9d8c7b6a-5f4e-3d2c-1b0a-a1b2c3d4e5f6' with object id '9d8c7b6a-5f4e-3d2c-1b0a-a1b2c3d4e5f6' has "
        f"permission to perform action 'Microsoft.Compute/virtualMachines/write' on scope '{SUB}/resourceGroups/"
        "IT_rg_win11_8c1d/providers/Microsoft.Compute/virtualMachines/pkrvm1'; however, the access is denied because "
        "of the deny assignment with name 'stack-deny' and Id '0a1b2c3d' at scope "
        f"'{SUB}/resourceGroups/IT_rg_win11_8c1d'.",
    ),
    (
        "quota-or-capacity",
        "OverconstrainedZonalAllocationRequest",
        "Allocation failed. VM(s) with the following constraints cannot be allocated, because the condition is too "
        "restrictive. Please remove some constraints and try again. Constraints applied are: - Availability Zone "
        "- VM Size",
    ),
    (
        "quota-or-capacity",
        "TooManyRequests",
        "The request is being throttled as the limit has been reached for operation type - "
        "Read_ObservationWindow_00:05:00.",
    ),
    (
        "provider-not-registered",
        "MissingRegistrationForLocation",
        "The subscription is not registered for the resource type 'imageTemplates' in the location 'swedencentral'. "
        "Please re-register for this provider in order to have access to this location.",
    ),
    (
        "policy-violation",
        "RequestDisallowedByAzure",
        "Resource 'pkrkv3x1z9a' was disallowed by Azure: This policy maintains a set of best available regions where "
        "your subscription can deploy resources.",
    ),
    (
        "template-invalid",
        "InvalidTemplateCircularDependency",
        f"Deployment template validation failed: 'Circular dependency detected on resource: '{SUB}/resourceGroups/rg/"
        "providers/Microsoft.VirtualMachineImages/imageTemplates/win11'.'.",
    ),
    (
        "template-invalid",
        "PropertyChangeNotAllowed",
        "Changing property 'galleryImage.properties.osState' is not allowed.",
    ),
    (
        "template-invalid",
        "BadRequest",
        "The VM size 'Standard_D2as_v5' is not supported for creation of VMs and Virtual Machine Scale Set with "
        "'ConfidentialVM' security type and managedDisk.securityProfile.securityEncryptionType set as "
        "'VMGuestStateOnly'",
    ),
    (
        "source-image-not-found",
        "GalleryImageNotFound",
        f"The gallery image {SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/gal/images/win11/versions/"
        "1.4.2 is not available in northeurope region. Please contact image owner to replicate to this region, or "
        "change your requested region.",
    ),
    (
        "source-image-not-found",
        "DiskImageNotReady",
        f"Disk image {SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/golden is in Creating state. Please "
        "retry when image is ready.",
    ),
    ("network-config", "NetcfgInvalidSubnet", "Subnet 'snet-aib' is not valid in virtual network 'vnet-hub'."),
    ("customizer-download-failed", "ContainerNotFound", "The specified container does not exist."),
    (
        "managed-identity-invalid",
        "ResourceNotFound",
        "The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/aib-identity' under resource group "
        "'rg-images' was not found.",
    ),
    ("service-error", "RetryableError", "A retryable error occurred."),
    (
        "unknown",
        "ScopeLocked",
        f"The scope '{SUB}/resourceGroups/rg-gallery' cannot perform write operation because following scope(s) are "
        f"locked: '{SUB}/resourceGroups/rg-gallery'. Please remove the lock and try again.",
    ),
    (
        "unknown",
        "AnotherOperationInProgress",
        "Operation 'Put' is not allowed since the Subscription is in the process of being updated or another "
        "operation is in progress.",
    ),
    ("unknown", "NoSuchCodeYet", "Something nobody has written an entry for happened."),
]

CASES = [
    pytest.param(expected, printer, code, message, id=f"{code}-{name}")
    for expected, code, message in ERRORS
    for name, printer in PRINTERS.items()
]


@pytest.mark.parametrize("scan_backend", ["hyperscan", "stdlib"], indirect=True)
@pytest.mark.parametrize(("expected", "printer", "code", "message"), CASES)
def test_arm_error_keeps_its_category_in_every_printed_shape(scan_backend, expected, printer, code, message):
    d = diagnose_input(printer(code, message).encode(), KB, name="pasted")
    rule = KB.get(d.rule_id) if d.rule_id else None
    # an entry written from the error catalogue alone is ambiguous: recognised, told as a likely cause, not decided
    hinted = d.category == "unknown" and rule is not None and rule.ambiguous and rule.category == expected
    assert d.category == expected or hinted, (d.category, d.rule_id, d.summary)


def test_escaped_status_really_escapes_the_quotes():
    text = _escaped_status("ScopeLocked", "The scope 'x' is locked")
    assert "\\u0027x\\u0027" in text and "'" not in text.split("Details=", 1)[1]


CLEANUP_ERRORS = [
    "Error: network.InterfacesClient#Delete: Failure sending request: StatusCode=400 -- Original Error: "
    'Code="NicReservedForAnotherVm" Message="Nic(s) in request is reserved for another Virtual Machine for 180 '
    'seconds."',
    'Error: Code="InternalServerError" Message="An internal server error occurred."',
    'Error: Code="AnotherOperationInProgress" Message="Another operation on this or dependent resource is in '
    'progress."',
    "Error: (ScopeLocked) The scope cannot perform delete operation because following scope(s) are locked",
    "Error: (TooManyRequests) The request is being throttled as the limit has been reached",
]


@pytest.mark.parametrize("scan_backend", ["hyperscan", "stdlib"], indirect=True)
@pytest.mark.parametrize("error", CLEANUP_ERRORS)
def test_azure_error_while_cleaning_up_a_successful_build_is_no_failure(scan_backend, error):
    lines = [
        "PACKER OUT ==> azure-arm: Provisioning with powershell script: c:/setup.ps1",
        "PACKER OUT ==> azure-arm: Capturing image ...",
        "PACKER OUT ==> azure-arm: Deleting individual resources ...",
        "PACKER OUT ==> azure-arm: Error deleting resource. Will retry.",
        f"PACKER OUT ==> azure-arm: {error}",
        "PACKER OUT Build 'azure-arm' finished after 42 minutes 3 seconds.",
        "PACKER OUT ==> Builds finished. The artifacts of successful builds are:",
        "PACKER OUT --> azure-arm: Azure.ResourceManagement.VMImage:",
    ]
    log = "".join(f"[{OPID}] {line}\n" for line in lines) + "Done exporting Packer logs to Azure Storage.\n"
    d = diagnose_input(log.encode(), KB, name="customization.log")
    assert d.category == "none", (d.category, d.rule_id, d.summary)
