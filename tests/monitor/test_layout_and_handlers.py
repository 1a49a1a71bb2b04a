"""The one status.json schema, written by each handler that writes one (failed, stuck, deleted), the claim
context manager, the one resource-id parser and the one is_transient. Local folder store, no Azure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError

from monitor.archive.layout import STATUS_SCHEMA, RunStatus
from monitor.azure.errors import is_transient
from monitor.azure.ids import ResourceId, TemplateRef, resource_group_of
from monitor.handlers.context import Look, Toolkit
from monitor.handlers.deleted import handle_deleted
from monitor.handlers.failed import archive_failed
from monitor.handlers.running import write_stuck_status
from monitor.observe import observe, staging_group_name
from monitor.report import TemplateOutcome
from monitor.runs import IndexEntry, RunRecord, RunStore
from monitor.settings import Settings
from monitor.storage import LocalDirStore
from monitor.stuck import StuckVerdict

SUB = "00000000-0000-0000-0000-000000000001"
TID = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.VirtualMachineImages/imageTemplates/tpl"
NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def toolkit(tmp_path) -> Toolkit:
    store = LocalDirStore(tmp_path / "archive")
    clock = lambda: NOW  # noqa: E731
    return Toolkit(Settings(), store, RunStore(store, clock), staging=None, clock=clock)  # type: ignore[arg-type]


def look_at(template: dict) -> Look:
    ref = TemplateRef.parse(template["id"])
    obs = observe(template)
    outcome = TemplateOutcome(ref.id, ref.name, ref.resource_group, obs.state, obs.run_state, obs.run_key)
    return Look(template, ref, obs, IndexEntry(), outcome)


def status_of(tk: Toolkit, record: RunRecord) -> dict:
    obj = tk.store.get(f"{record.archive_prefix}/status.json")
    assert obj is not None
    return json.loads(obj.data)


def test_every_status_json_has_the_one_schema(tmp_path) -> None:
    tk = toolkit(tmp_path)
    keys = set(RunStatus(run_key="k", state="failed", written_at="now").to_dict())
    assert "schema" in keys and "copy" in keys

    # A failed submission: no log to look for, the diagnosis comes from the provisioning error.
    submission = look_at(
        {
            "id": TID,
            "location": "westeurope",
            "properties": {"provisioningState": "Failed", "provisioningError": {"message": "InvalidParameter"}},
        }
    )
    record = submission.fresh_record()
    diagnosis = archive_failed(tk, submission, record)
    failed = status_of(tk, record)
    assert diagnosis["category"] and failed["state"] == "submission-failed"

    # A stuck run, announced while it still runs.
    start = NOW - timedelta(hours=5)
    running = look_at(
        {"id": TID, "properties": {"lastRunStatus": {"runState": "Running", "startTime": start.isoformat()}}}
    )
    record = running.fresh_record()
    record.live_offset = 42
    write_stuck_status(tk, running, record, StuckVerdict("timeout", "running for 5 h"), {"category": "x"}, NOW)
    stuck = status_of(tk, record)
    assert stuck["stuck"]["rule"] == "timeout" and stuck["live_log_bytes"] == 42

    # The template deleted while the run was active: its live snapshots become the log.
    part = f"{record.archive_prefix}/live/customization.log.000000000000"
    tk.store.put(part, b"line one\n")
    record.live_parts = [[0, 9, part]]
    assert tk.runs.claim(record) is not None
    tk.runs.update(*tk.runs.load(record.run_key), release=True)
    row = handle_deleted(tk, TID.lower(), IndexEntry(active=True, run_key=record.run_key))
    deleted = status_of(tk, record)
    assert row.archive_partial and deleted["partial"] is True and deleted["customization_log"]["bytes"] == 9
    assert deleted["copy"] == {"customization.log": "live-snapshots"}

    for status in (failed, stuck, deleted):
        assert status["schema"] == STATUS_SCHEMA
        assert set(status) == keys, set(status) ^ keys


def test_a_claim_is_released_when_the_block_ends_even_on_an_error(tmp_path) -> None:
    store = LocalDirStore(tmp_path)
    mine, other = RunStore(store), RunStore(store)
    with pytest.raises(RuntimeError), mine.claimed(RunRecord(run_key="k", template_id="t")) as claim:
        assert claim is not None
        with other.claimed(RunRecord(run_key="k", template_id="t")) as second:
            assert second is None  # held by the first
        raise RuntimeError("handler failed")
    with other.claimed(RunRecord(run_key="k", template_id="t")) as third:
        assert third is not None and third.record.claim_owner == other.owner


@pytest.mark.parametrize(
    ("resource_id", "group", "template"),
    [
        (TID, "rg", True),
        (TID.lower().lstrip("/") + "/run", "rg", True),  # an action path, no leading slash
        (f"/subscriptions/{SUB}/resourceGroups/IT_rg_tpl_1", "IT_rg_tpl_1", False),
        (f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/i", "rg", False),
        (f"/subscriptions/{SUB}", None, False),
        ("/foo/bar", None, False),
    ],
)
def test_one_resource_id_parser(resource_id: str, group: str | None, template: bool) -> None:
    parsed = ResourceId.parse(resource_id)
    assert resource_group_of(resource_id) == group
    assert (parsed is not None and parsed.is_image_template()) is template
    if template:
        ref = TemplateRef.parse(resource_id)
        assert ref.id.lower() == TID.lower() and ref.name.lower() == "tpl"
    else:
        with pytest.raises(ValueError, match="not an image template resource id"):
            TemplateRef.parse(resource_id)
    assert staging_group_name(f"/subscriptions/{SUB}/resourceGroups/IT_x/") == "IT_x"
    assert staging_group_name("IT_bare") == "IT_bare"


def _http(status: int) -> HttpResponseError:
    exc = HttpResponseError(message=str(status))
    exc.status_code = status
    return exc


@pytest.mark.parametrize("status", [501, 505, 400, 403, 404])
def test_never_transient_statuses(status: int) -> None:
    assert not is_transient(_http(status))
    try:
        raise RuntimeError("check failed") from _http(status)
    except RuntimeError as wrapped:
        assert not is_transient(wrapped)


def test_the_trigger_and_the_sweep_share_one_is_transient() -> None:
    import function_app
    import monitor.azure.clients
    import monitor.azure.staging
    import monitor.events

    assert not hasattr(monitor.events, "is_transient") and not hasattr(function_app, "_is_transient")
    assert monitor.azure.clients.is_transient is is_transient is monitor.azure.staging.is_transient
    assert is_transient(_http(503)) and is_transient(ServiceRequestError("refused"))


@pytest.mark.parametrize(
    ("resource_id", "problem"),
    [
        (TID.replace("/tpl", "/" + "t" * 65), "image template name"),
        (TID.replace("/tpl", "/bad name"), "image template name"),
        (TID.replace("/rg/", "/" + "r" * 91 + "/"), "resource group name"),
        (TID.replace(SUB, "not-a-guid"), "not a GUID"),
        (f"/subscriptions/{SUB}/resourceGroups/IT_x/providers/Microsoft.Compute/virtualMachines/{'v' * 81}", "80"),
    ],
)
def test_event_ids_beyond_arm_limits_are_malformed_before_any_azure_call(resource_id: str, problem: str) -> None:
    from monitor.events import MalformedEvent, parse_event, route
    from tests.monitor.eventsamples import template_event

    event = template_event("rg", "tpl", "write")
    event["subject"] = event["data"]["resourceUri"] = resource_id
    if "virtualMachines" in resource_id:
        event["eventType"] = "Microsoft.Resources.ResourceDeleteSuccess"
        event["data"]["operationName"] = "Microsoft.Compute/virtualMachines/delete"
    with pytest.raises(MalformedEvent, match=problem) as caught:
        route(parse_event(event))
    assert len(str(caught.value)) < 200  # the value itself is never echoed whole


def test_an_overlong_event_resource_id_is_malformed() -> None:
    from monitor.events import MalformedEvent, parse_event, route
    from tests.monitor.eventsamples import template_event

    event = template_event("rg", "tpl", "write")
    event["subject"] = event["data"]["resourceUri"] = TID + "/" + "x" * 5_000_000
    with pytest.raises(MalformedEvent, match="longer than 1024"):
        route(parse_event(event))
