"""Detection rules on template JSON shaped like the REST samples (pure functions, no Azure)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from diagnosis.model import RunningAnalysis
from diagnosis.times import parse_time
from monitor import observe, stuck
from monitor.archive.layout import folder_time
from monitor.azure.ids import TemplateRef
from monitor.azure.staging import account_name_of, parse_log_url

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "imagebuilder-rest" / "GetImageTemplate.json"
SUB = "00000000-0000-0000-0000-0000000000aa"
TID = f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.VirtualMachineImages/imageTemplates/t1"
T0 = datetime(2024, 1, 1, 10, 15, tzinfo=UTC)


def template(run_state: str | None = None, *, start: str = "2024-01-01T10:15:00Z", end: str | None = None,
             message: str = "", provisioning_state: str = "Succeeded", error: dict | None = None,
             timeout: int = 0) -> dict:
    if SAMPLE.exists():
        body = copy.deepcopy(json.loads(SAMPLE.read_text())["responses"]["200"]["body"])
    else:  # the sample's shape, for a checkout without ../shared
        body = {"name": "t1", "location": "westus", "properties": {}}
    body["id"] = TID
    props = body["properties"]
    props["provisioningState"] = provisioning_state
    props["buildTimeoutInMinutes"] = timeout
    props["exactStagingResourceGroup"] = f"/subscriptions/{SUB}/resourceGroups/IT_rg1_t1_1234"
    if error:
        props["provisioningError"] = error
    if run_state:
        props["lastRunStatus"] = {"startTime": start, "endTime": end or "0001-01-01T00:00:00Z",
                                  "runState": run_state, "runSubState": "Customizing", "message": message}
    return body


@pytest.mark.parametrize(("raw", "state"), [
    ("Running", observe.RUNNING), ("running", observe.RUNNING), ("CANCELING", observe.RUNNING),
    ("Failed", observe.FAILED), ("failed", observe.FAILED), ("PartiallySucceeded", observe.PARTIALLY_SUCCEEDED),
    ("partiallysucceeded", observe.PARTIALLY_SUCCEEDED), ("Canceled", observe.CANCELED),
    ("Succeeded", observe.SUCCEEDED), ("SUCCEEDED", observe.SUCCEEDED),
])
def test_run_states_case_insensitive(raw: str, state: str) -> None:
    obs = observe.observe(template(raw, end="2024-01-01T11:00:00Z"))
    assert obs.state == state
    assert obs.run_key == f"{TID.lower()}|2024-01-01T10:15:00Z"


def test_submission_failed_wins_over_run_state() -> None:
    err = {"provisioningErrorCode": "BadSourceType", "message": "Source type 'X' is invalid"}
    obs = observe.observe(template(provisioning_state="Failed", error=err))
    assert obs.state == observe.SUBMISSION_FAILED
    assert obs.message == "Source type 'X' is invalid"
    assert obs.provisioning_error == err
    assert obs.run_key.startswith(TID.lower() + "|submission|")
    # the same error again is the same "run"; a different one is a new one
    assert observe.observe(template(provisioning_state="Failed", error=err)).run_key == obs.run_key
    other = dict(err, message="other")
    assert observe.observe(template(provisioning_state="Failed", error=other)).run_key != obs.run_key


def test_failed_build_keeps_provisioning_succeeded() -> None:
    obs = observe.observe(template("Failed", end="2024-01-01T11:00:00Z", message="boom"))
    assert obs.state == observe.FAILED and obs.provisioning_state == "Succeeded"
    assert obs.end_time == datetime(2024, 1, 1, 11, 0, tzinfo=UTC)
    assert obs.staging_group == "IT_rg1_t1_1234"


def test_idle_without_run_and_times() -> None:
    obs = observe.observe(template(None))
    assert obs.state == observe.IDLE and obs.run_key is None
    assert parse_time("0001-01-01T00:00:00Z") is None
    precise = datetime(2024, 1, 1, 10, 15, 0, 123456, tzinfo=UTC)
    assert parse_time("2024-01-01T10:15:00.1234567Z") == precise
    assert parse_time("not a date") is None
    assert folder_time(T0) == "20240101T101500Z"


def test_fingerprint_changes_with_status_only() -> None:
    a = observe.observe(template("Running"))
    b = observe.observe(template("Running"))
    c = observe.observe(template("Failed", end="2024-01-01T11:00:00Z"))
    assert a.fingerprint == b.fingerprint != c.fingerprint


def test_stuck_by_timeout_default_240_plus_grace() -> None:
    obs = observe.observe(template("Running", timeout=0))
    assert stuck.stuck_by_timeout(obs, T0 + timedelta(minutes=254), 15) is None
    verdict = stuck.stuck_by_timeout(obs, T0 + timedelta(minutes=256), 15)
    assert verdict and verdict.rule == "timeout" and "240" in verdict.detail
    short = observe.observe(template("Running", timeout=60))
    assert stuck.stuck_by_timeout(short, T0 + timedelta(minutes=76), 15).rule == "timeout"
    assert stuck.stuck_by_timeout(short, T0 + timedelta(minutes=74), 15) is None
    done = observe.observe(template("Failed", end="2024-01-01T20:00:00Z"))
    assert stuck.stuck_by_timeout(done, T0 + timedelta(days=1), 15) is None
    assert stuck.minutes_remaining(short, T0 + timedelta(minutes=10), 15) == pytest.approx(50)


def test_stuck_by_growth() -> None:
    assert stuck.stuck_by_growth(None, T0, 30) is None
    assert stuck.stuck_by_growth(T0, T0 + timedelta(minutes=29), 30) is None
    verdict = stuck.stuck_by_growth(T0, T0 + timedelta(minutes=31), 30)
    assert verdict and verdict.rule == "no-growth"


def test_stuck_by_analysis() -> None:
    assert stuck.stuck_by_analysis(None) is None
    assert stuck.stuck_by_analysis(RunningAnalysis("download", "fine", can_finish=True)) is None
    assert stuck.stuck_by_analysis(RunningAnalysis("unknown", "?", can_finish=None)) is None
    verdict = stuck.stuck_by_analysis(RunningAnalysis("prompt", "Press any key", can_finish=False))
    assert verdict and verdict.rule == "cannot-finish" and "prompt" in verdict.detail


def test_stuck_alert_lifecycle() -> None:
    assert stuck.stuck_alert_due(None, None, T0, 4) == "build-stuck"
    assert stuck.stuck_alert_due(T0, T0, T0 + timedelta(hours=3), 4) is None
    assert stuck.stuck_alert_due(T0, T0, T0 + timedelta(hours=4), 4) == "still-stuck"
    assert stuck.stuck_alert_due(T0, T0 + timedelta(hours=4), T0 + timedelta(hours=7), 4) is None


def test_template_ref() -> None:
    ref = TemplateRef.parse(TID.replace("resourceGroups", "resourcegroups").lower())
    assert (ref.subscription_id, ref.resource_group, ref.name) == (SUB, "rg1", "t1")
    with pytest.raises(ValueError):
        TemplateRef.parse("/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/images/i")


def test_log_url_in_message() -> None:
    msg = (
        "Failed while waiting for packerizer: Microservice has failed: Failed while processing request: "
        "Error when executing packerizer: Packer build command has failed: exit status 1. During the image "
        "build, a failure has occurred. Please review the build log to identify which build/customization "
        "step failed. For more troubleshooting steps go to https://aka.ms/azvmimagebuilderts. Image Build "
        "log location: https://abc123xyz.blob.core.windows.net/packerlogs/8a5a0d1e-1234/customization.log. "
        "OperationId: 42."
    )
    loc = parse_log_url(msg)
    assert loc and loc.account_url == "https://abc123xyz.blob.core.windows.net"
    assert loc.folder == "8a5a0d1e-1234" and loc.account_name == "abc123xyz"
    assert loc.validation_blob == "8a5a0d1e-1234/validation.log"
    azurite = parse_log_url("log: https://127.0.0.1:10000/stg1/packerlogs/f1/customization.log?sig=x")
    assert azurite and azurite.account_url == "https://127.0.0.1:10000/stg1" and azurite.folder == "f1"
    assert account_name_of(azurite.account_url) == "stg1"
    assert parse_log_url("no url here") is None and parse_log_url(None) is None
