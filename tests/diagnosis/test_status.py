"""diagnosis.status: typed reading of template / az show / lastRunStatus JSON, and diagnose() on any shape."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnosis import diagnose, load_knowledge_base
from diagnosis.status import ProvisioningError, StatusError, read_status

FAILED = "Failed while waiting for packerizer: Packer build command has failed: exit status 1."


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base(use_env=False)


def test_arm_resource_az_show_sdk_dict_and_bare_run_status_read_alike():
    run = {"runState": "Failed", "runSubState": "Building", "message": FAILED, "startTime": "2024-01-01T00:00:00Z"}
    shapes = [
        {"id": "/x", "properties": {"lastRunStatus": run, "provisioningState": "Succeeded"}},
        {"name": "t", "lastRunStatus": run, "provisioningState": "Succeeded"},
        {
            "last_run_status": {
                "run_state": "Failed",
                "run_sub_state": "Building",
                "message": FAILED,
                "start_time": "2024-01-01T00:00:00Z",
            },
            "provisioning_state": "Succeeded",
        },
    ]
    for shape in shapes:
        status = read_status(shape)
        assert (status.run_state, status.run_sub_state, status.message) == ("Failed", "Building", FAILED)
        assert status.provisioning_state == "Succeeded" and status.start_time == "2024-01-01T00:00:00Z"
        assert status.warnings == []
    bare = read_status(run)
    assert bare.run_state == "Failed" and bare.provisioning_state is None


def test_provisioning_error_as_object_or_text():
    status = read_status(
        {
            "properties": {
                "provisioningState": "Failed",
                "provisioningError": {"provisioningErrorCode": "BadInput", "message": "no such image"},
            }
        }
    )
    assert status.provisioning_error == ProvisioningError("BadInput", "no such image")
    assert status.provisioning_error.text() == "BadInput: no such image"
    assert read_status({"provisioningError": "plain text"}).provisioning_error == ProvisioningError(None, "plain text")


@pytest.mark.parametrize(
    ("document", "warning"),
    [
        ({"properties": {"provisioningState": 5}}, "properties.provisioningState should be a string, got a number"),
        (
            {"properties": {"lastRunStatus": {"runState": 5}, "provisioningState": "Succeeded"}},
            "properties.lastRunStatus.runState should be a string, got a number",
        ),
        ({"lastRunStatus": ["Failed"]}, "lastRunStatus should be an object, got an array"),
        ({"lastRunStatus": {"message": {"text": "x"}}}, "lastRunStatus.message should be a string, got an object"),
        ({"provisioningError": 7}, "provisioningError should be an object or a string, got a number"),
        (
            {"provisioningError": {"code": True, "message": "m"}},
            "provisioningError.code should be a string, got a boolean",
        ),
        ([1, 2], "the template should be a JSON object, got an array"),
    ],
)
def test_wrong_types_are_ignored_with_a_warning_or_raise_in_strict_mode(document, warning):
    status = read_status(document)
    assert status.warnings == [warning + "; ignored"]
    with pytest.raises(StatusError, match=f"^{warning.replace('.', '[.]')}$"):
        read_status(document, strict=True)


def test_numeric_run_state_is_not_read_as_idle(kb):
    d = diagnose(template={"properties": {"lastRunStatus": {"runState": 5, "message": FAILED}}}, rules=kb)
    assert any("runState should be a string" in w for w in d.warnings)
    assert d.failed  # the message still says the build failed


def test_diagnose_with_a_numeric_provisioning_state_does_not_crash(kb):
    d = diagnose(template={"properties": {"provisioningState": 5}}, rules=kb)
    assert any("provisioningState should be a string" in w for w in d.warnings)
    d = diagnose(provisioning_state=5, provisioning_error={"code": 3, "message": ["x"]}, rules=kb)  # type: ignore[arg-type]
    assert d.category


KEYS = (
    "properties",
    "lastRunStatus",
    "last_run_status",
    "runState",
    "runSubState",
    "message",
    "startTime",
    "provisioningState",
    "provisioningError",
    "provisioningErrorCode",
    "code",
    "customize",
    "type",
    "name",
    "inline",
    "scriptUri",
    "source",
    "vmProfile",
    "vmSize",
    "buildTimeoutInMinutes",
    "errorHandling",
    "onCustomizerError",
    "distribute",
    "replicationRegions",
    "validate",
    "inVMValidations",
    "resources",
    "parameters",
    "value",
    "id",
    "tags",
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "Failed",
            "Running",
            "Succeeded",
            "Canceled",
            "Shell",
            "PowerShell",
            "WindowsRestart",
            FAILED,
            "10m",
            "Standard_D2s_v3",
            "https://x/y.ps1",
            "apt-get install x",
            "PT1H",
        ]
    )
)
JSON_SHAPES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS), children, max_size=6),
    max_leaves=24,
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON_SHAPES)
def test_any_json_shape_reads_and_diagnoses_without_an_exception(kb, document):
    status = read_status(document)
    for value in (status.run_state, status.message, status.provisioning_state):
        assert value is None or isinstance(value, str)
    try:
        read_status(document, strict=True)
    except StatusError:
        pass
    d = diagnose(template=document, rules=kb)  # type: ignore[arg-type]
    assert isinstance(d.to_dict(), dict)
