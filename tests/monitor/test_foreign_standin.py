"""The monitor against stand-ins that differ from ours in every way the official REST API allows.

The product owner checks the monitor against a subscription stand-in of their own (their ARM endpoint, their
managed-identity endpoint, their storage emulator). These tests turn localazure's knobs to play such stand-ins:
staging storage over plain http or refusing the identity (``LocalCloud.front_staging``), ARM routes that are not
served (``arm.inject(kind=...)``), lists without status fields or with relative ``nextLink``s, payloads missing
optional properties, an ARM endpoint at ``https://localhost:<port>``, and the CLI with nothing but the
subscription, the endpoint and the identity set.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError

from diagnosis import diagnose
from diagnosis.times import parse_time
from localazure import samplelogs
from localazure.storagegate import StorageGate
from monitor.azure.clients import arm_credential_scopes, discover_arm_audience
from monitor.azure.errors import is_transient
from monitor.azure.staging import account_name_of, parse_log_url
from monitor.settings import SETTING_NAMES, Settings, SettingsError

REPO = Path(__file__).resolve().parents[2]
ERROR = "Packer build command has failed: exit status 1"


def _ago(**delta) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


@pytest.fixture(autouse=True)
def _standard_arm(local_cloud):
    """Put the stand-in variations of the shared ARM endpoint back after each test."""
    yield
    local_cloud.arm.next_link_style = "absolute"
    local_cloud.arm.list_summary = False
    local_cloud.arm.metadata_audience = None


def _failed(h, name: str, log: bytes, *, front: dict | None = None, message: str | None = None):
    """A failed run with its log in the staging account (fronted by a gate when ``front``)."""
    t = h.add(name)
    if front is not None:
        h.cloud.front_staging(t.id, **front)
    h.cloud.put_staging_blob(t.id, t.log_blob_path, log)
    if message is None:
        message = h.cloud.failure_message(t.id, ERROR)
    h.cloud.set_run_status(
        t.id, "Failed", "Customizing", message=message, start_time=_ago(minutes=50), end_time=_ago(minutes=2)
    )
    return t, message


def _prefix(h, t) -> str:
    status = h.cloud.template_json(t.id)["properties"]["lastRunStatus"]
    start = parse_time(status["startTime"])
    return f"{t.subscription_id}/{t.resource_group}/{t.name}/{start.strftime('%Y%m%dT%H%M%SZ')}"


def _archived_log(h, t) -> bytes | None:
    blob = h.archive().get_blob_client(f"{_prefix(h, t)}/customization.log")
    return blob.download_blob().readall() if blob.exists() else None


# -- endpoint and message shapes (pure) ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "account"),
    [
        ("https://aibstg01.blob.core.windows.net", "aibstg01"),
        ("https://aibstg01.blob.core.windows.net/", "aibstg01"),
        ("https://aibstg01.blob.core.chinacloudapi.cn", "aibstg01"),
        ("https://aibstg01.blob.local.azurestack.external", "aibstg01"),
        ("https://aibstg01.privatelink.blob.core.windows.net", "aibstg01"),
        ("http://127.0.0.1:10000/devstoreaccount1", "devstoreaccount1"),
        ("http://127.0.0.1:10000/devstoreaccount1/", "devstoreaccount1"),
        ("http://azurite:10000/devstoreaccount1", "devstoreaccount1"),
        ("http://localhost:10000/stg2", "stg2"),
        ("https://[::1]:10000/stg3", "stg3"),
        ("http://storage.emulator.internal:8080/stg4", "stg4"),
        ("http://stg5.blob.localhost:10000", "stg5"),
    ],
)
def test_account_name_of_every_endpoint_style(url: str, account: str) -> None:
    assert account_name_of(url) == account


@pytest.mark.parametrize(
    ("message", "account_url", "folder"),
    [
        (
            "Failed. Image Build log location: https://stg.blob.core.windows.net/packerlogs/f1/customization.log"
            "?sv=2022-11-02&sig=abc%3D. OperationId: x",
            "https://stg.blob.core.windows.net",
            "f1",
        ),
        (
            "log at https://stg.blob.core.windows.net/packerlogs/f2/customization.log.",
            "https://stg.blob.core.windows.net",
            "f2",
        ),
        (
            "(see https://stg.blob.core.windows.net/packerlogs/f3/customization.log)",
            "https://stg.blob.core.windows.net",
            "f3",
        ),
        ("log: http://127.0.0.1:10000/acct/packerlogs/f4/customization.log, done", "http://127.0.0.1:10000/acct", "f4"),
        (
            "log: http://azurite:10000/devstoreaccount1/packerlogs/f5/customization.log",
            "http://azurite:10000/devstoreaccount1",
            "f5",
        ),
        (
            "Validation failed; log: https://stg.blob.core.windows.net/packerlogs/f6/validation.log",
            "https://stg.blob.core.windows.net",
            "f6",
        ),
        ("[log](http://[::1]:10000/acct/packerlogs/f8/customization.log)", "http://[::1]:10000/acct", "f8"),
        (
            "'https://stg.blob.core.windows.net/packerlogs/f7/customization.log'",
            "https://stg.blob.core.windows.net",
            "f7",
        ),
    ],
)
def test_log_url_in_every_message_shape(message: str, account_url: str, folder: str) -> None:
    location = parse_log_url(message)
    assert location is not None and (location.account_url, location.folder) == (account_url, folder)
    assert location.customization_blob == f"{folder}/customization.log"


def test_no_log_url_in_message() -> None:
    assert parse_log_url("Failed while waiting for packerizer: Microservice has failed") is None
    assert parse_log_url("") is None
    assert parse_log_url("see https://stg.blob.core.windows.net/packerlogs/f1/customization.logger") is None


def test_transient_errors_are_only_timeouts_throttling_5xx_and_connection_errors() -> None:
    def http(status: int) -> HttpResponseError:
        exc = HttpResponseError(message=str(status))
        exc.status_code = status
        return exc

    assert all(is_transient(http(s)) for s in (408, 429, 500, 502, 503, 504))
    assert not any(is_transient(http(s)) for s in (400, 401, 403, 404, 405, 409, 501, 505))
    assert is_transient(ServiceRequestError("connection refused"))
    assert not is_transient(ValueError("x"))


@pytest.mark.parametrize(
    "endpoint",
    ["https://127.0.0.1:8443", "https://localhost:8443", "https://arm.standin.example", "http://localhost:5000"],
)
def test_standin_arm_endpoints_get_the_management_audience(endpoint: str) -> None:
    assert arm_credential_scopes(endpoint) == ["https://management.azure.com/.default"]


# -- staging storage unlike ours -------------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_http_staging_account_is_read_with_listkeys_under_aad(harness, caplog, host: str) -> None:
    h = harness
    log = bytes(samplelogs.failed_customizer_log(seed=3))
    t, message = _failed(h, "tpl-http", log, front={"scheme": "http", "host": host})
    assert message.split("location: ")[1].startswith(f"http://{host}:")
    caplog.set_level(logging.WARNING, logger="monitor")
    monitor = h.monitor(STAGING_LOG_AUTH="aad")
    report = monitor.sweep()
    assert not report.errors, report.errors
    assert _archived_log(h, t) == log
    assert h.receiver.kinds() == ["build-failed"]
    assert h.receiver.alerts[0]["category"] == diagnose(message, log=log).category
    gate = h.cloud.gate(t.id)
    assert "bearer" not in gate.auth_counts(t.storage_account)  # never a token over http
    warnings = [r.getMessage() for r in caplog.records if "plain http" in r.getMessage()]
    assert len(warnings) == 1 and t.storage_account in warnings[0]
    assert "listkeys" in " ".join(report.request_paths).lower()
    second = monitor.sweep()
    assert not second.errors and second.alerts_sent == 0 and second.arm_requests == 1
    assert h.receiver.kinds() == ["build-failed"]


def test_http_staging_account_found_without_url_in_message(harness) -> None:
    h = harness
    log = bytes(samplelogs.failure_log("resources"))
    t, _ = _failed(h, "tpl-http-nourl", log, front={"scheme": "http"}, message="Microservice has failed: exit 1.")
    report = h.monitor().sweep()
    assert not report.errors, report.errors
    assert _archived_log(h, t) == log
    assert h.receiver.kinds() == ["build-failed"]


def test_identity_refused_by_staging_account_falls_back_to_listkeys_once(harness, caplog) -> None:
    h = harness
    log = bytes(samplelogs.failed_customizer_log(seed=5))
    t, _ = _failed(h, "tpl-norole", log, front={"scheme": "https", "deny_bearer": True})
    caplog.set_level(logging.WARNING, logger="monitor")
    report = h.monitor().sweep()
    assert not report.errors, report.errors
    assert _archived_log(h, t) == log
    assert h.receiver.kinds() == ["build-failed"]
    counts = h.cloud.gate(t.id).auth_counts(t.storage_account)
    assert counts.get("bearer") == 1, counts  # refused once, then the key
    assert counts.get("sharedkey", 0) + counts.get("sas", 0) >= 1
    warned = [r.getMessage() for r in caplog.records if "Storage Blob Data Reader" in r.getMessage()]
    assert len(warned) == 1 and t.storage_account in warned[0]


def test_identity_refused_and_listkeys_not_served_still_alerts(harness, caplog) -> None:
    h = harness
    log = bytes(samplelogs.failed_customizer_log(seed=6))
    t, _ = _failed(h, "tpl-nokeys", log, front={"scheme": "https", "deny_bearer": True})
    h.cloud.arm.inject(405, count=10_000, kind="storageAccounts.listKeys", code="MethodNotAllowed")
    caplog.set_level(logging.WARNING, logger="monitor")
    report = h.monitor().sweep()
    assert not report.errors, report.errors
    assert _archived_log(h, t) is None
    assert h.receiver.kinds() == ["build-failed"]
    status = json.loads(h.archive().download_blob(f"{_prefix(h, t)}/status.json").readall())
    assert status["partial"] is False and status["customization_log"]["bytes"] is None
    assert "customization.log not found" in status["partial_reason"]
    assert any("storageAccounts.listKeys" in r.getMessage() for r in caplog.records)


def test_identity_endpoint_without_storage_tokens_falls_back_to_listkeys(harness) -> None:
    h = harness
    log = bytes(samplelogs.failed_customizer_log(seed=7))
    t, _ = _failed(h, "tpl-armonly-identity", log)
    h.cloud.identity.refused_resources.add("https://storage.azure.com")
    monitor = _monitor_without_archive_identity(h, h.cloud.archive_connection_string)
    report = monitor.sweep()
    assert not report.errors, report.errors
    assert _archived_log(h, t) == log
    assert h.receiver.kinds() == ["build-failed"]


def _monitor_without_archive_identity(h, connection_string: str):
    """A monitor whose archive is reached by connection string (ARCHIVE_STORAGE_URL unset)."""
    from monitor.app import Monitor

    env = h.env(ARCHIVE_CONNECTION_STRING=connection_string)
    del env["ARCHIVE_STORAGE_URL"]
    monitor = Monitor.from_settings(Settings.from_env(env))
    h.monitors.append(monitor)
    return monitor


# -- ARM routes a stand-in may not serve -------------------------------------------------------------------------
@pytest.mark.parametrize("status", [404, 400, 405, 501])
def test_missing_container_groups_route_does_not_fail_a_running_check(harness, caplog, status: int) -> None:
    h = harness
    t = h.add("tpl-running")
    h.cloud.put_staging_blob(t.id, t.log_blob_path, b"[a1] PACKER OUT ==> azure-arm: Running builder ...\n")
    h.cloud.set_run_status(t.id, "Running", "Building", start_time=_ago(minutes=5))
    h.cloud.set_container_logs(t.id, "building\n")
    h.cloud.arm.inject(status, count=10_000, kind="containerGroups", code="NotSupported")
    caplog.set_level(logging.WARNING, logger="monitor")
    monitor = h.monitor()
    outcome = monitor.check_template(t.id)
    assert outcome is not None and outcome.state == "running" and outcome.error is None
    monitor.check_template(t.id)
    warned = [r for r in caplog.records if "containerGroups" in r.getMessage()]
    assert len(warned) == 1 and str(status) in warned[0].getMessage()


@pytest.mark.parametrize("status", [404, 400, 403, 405, 501])
def test_missing_storage_accounts_route_still_alerts_from_the_message(harness, caplog, status: int) -> None:
    h = harness
    t, message = _failed(h, "tpl-nosa", b"irrelevant", message="Microservice has failed: exit status 1.")
    code = "AuthorizationFailed" if status == 403 else "NoRegisteredProviderFound"
    h.cloud.arm.inject(status, count=10_000, kind="storageAccounts", code=code)
    caplog.set_level(logging.WARNING, logger="monitor")
    outcome = h.monitor().check_template(t.id)
    assert outcome is not None and outcome.alerts == ["build-failed"]
    assert h.receiver.alerts[0]["category"] == diagnose(message).category
    warned = [r.getMessage() for r in caplog.records if "storageAccounts.listByResourceGroup" in r.getMessage()]
    assert len(warned) == 1 and (status != 403 or "Reader on the staging resource groups" in warned[0])


@pytest.mark.parametrize("status", [404, 405, 501])
def test_missing_listkeys_with_key_auth_reads_with_the_identity(harness, caplog, status: int) -> None:
    h = harness
    log = bytes(samplelogs.failed_customizer_log(seed=8))
    t, _ = _failed(h, "tpl-keyless", log)
    h.cloud.arm.inject(status, count=10_000, kind="storageAccounts.listKeys", code="NotImplemented")
    caplog.set_level(logging.WARNING, logger="monitor")
    outcome = h.monitor(STAGING_LOG_AUTH="key").check_template(t.id)
    assert outcome is not None and outcome.alerts == ["build-failed"] and _archived_log(h, t) == log
    assert any("reading it with the monitor's identity" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("public", [True, False])
def test_http_staging_without_listkeys_tries_anonymous_reads(harness, public: bool) -> None:
    h = harness
    log = bytes(samplelogs.failed_customizer_log(seed=20))
    t, _ = _failed(h, "tpl-anonymous", log, front={"scheme": "http"})
    if public:
        container = h.cloud.blob_service(t.storage_account).get_container_client("packerlogs")
        container.set_container_access_policy(signed_identifiers={}, public_access="container")
    h.cloud.arm.inject(501, count=10_000, kind="storageAccounts.listKeys", code="NotImplemented")
    report = h.monitor().sweep()
    assert not report.errors, report.errors
    assert h.receiver.kinds() == ["build-failed"]
    assert _archived_log(h, t) == (log if public else None)
    assert set(h.cloud.gate(t.id).auth_counts(t.storage_account)) <= {"anonymous", "sas"}


@pytest.mark.parametrize("status", [404, 400, 405, 501])
def test_missing_resource_group_route_falls_back_to_the_template_list(harness, status: int) -> None:
    h = harness
    t, _ = _failed(h, "tpl-staging-event", bytes(samplelogs.failed_customizer_log(seed=9)))
    h.cloud.arm.inject(status, count=10_000, kind="resourceGroups.get", code="NotSupported")
    outcome = h.monitor().check_staging_group(h.subscription_id, t.staging_group)
    assert outcome is not None and outcome.alerts == ["build-failed"]


def test_missing_run_outputs_route_is_not_needed(harness) -> None:
    h = harness
    t, _ = _failed(h, "tpl-noruns", bytes(samplelogs.failed_customizer_log(seed=10)))
    h.cloud.arm.inject(404, count=10_000, kind="imageTemplates.listRunOutputs")
    h.cloud.arm.inject(404, count=10_000, kind="imageTemplates.getRunOutput")
    outcome = h.monitor().check_template(t.id)
    assert outcome is not None and outcome.alerts == ["build-failed"]


def test_transient_error_on_an_optional_route_propagates_from_check_and_is_a_row_error_in_sweep(harness) -> None:
    h = harness
    t = h.add("tpl-throttled")
    h.cloud.set_run_status(t.id, "Running", "Building", start_time=_ago(minutes=5))
    h.cloud.set_container_logs(t.id, "building\n")
    h.cloud.arm.inject(429, retry_after=0.01, count=10_000, kind="containerGroups")
    monitor = h.monitor()
    with pytest.raises(HttpResponseError) as caught:
        monitor.check_template(t.id)
    assert caught.value.status_code == 429
    report = monitor.sweep()
    rows = {r.name: r for r in report.rows}
    assert rows["tpl-throttled"].state == "error" and "429" in (rows["tpl-throttled"].error or "")


def test_template_get_404_means_deleted(harness) -> None:
    h = harness
    t = h.add("tpl-gone")
    h.cloud.delete_template(t.id)
    assert h.monitor().check_template(t.id) is None


# -- payloads the spec allows ---------------------------------------------------------------------------------
def _edit(h, t, edit) -> None:
    with h.cloud.state.lock:
        edit(h.cloud.state.template(t.subscription_id, t.resource_group, t.name))


def test_payload_variations_one_alert_each_and_quiet_second_sweep(harness) -> None:
    h = harness
    log = bytes(samplelogs.failed_customizer_log(seed=12))
    # No exactStagingResourceGroup, no URL in the message, upper-case runState, 7 fractional digits, no endTime,
    # an unknown property, a system-assigned identity, buildTimeoutInMinutes absent.
    a, _ = _failed(h, "tpl-a", log, message="Microservice has failed: exit status 1.")

    def vary_a(body: dict) -> None:
        props = body["properties"]
        for name in ("exactStagingResourceGroup", "buildTimeoutInMinutes"):
            props.pop(name, None)
        status = props["lastRunStatus"]
        status["runState"] = "FAILED"
        status["startTime"] = (_ago(minutes=40)).strftime("%Y-%m-%dT%H:%M:%S.1234567Z")
        status.pop("endTime", None)
        props["somethingNew"] = {"nested": [1, 2]}
        body["identity"] = {"type": "SystemAssigned", "principalId": "p", "tenantId": "t"}

    _edit(h, a, vary_a)
    # Never run: no lastRunStatus at all; no identity block.
    never = h.add("tpl-never", storage=False)
    # Never run, and no provisioningState either: no lastRunStatus at all; no identity block.
    _edit(
        h,
        never,
        lambda body: (
            body["properties"].pop("lastRunStatus", None),
            body["properties"].pop("provisioningState"),
            body.pop("identity", None),
        ),
    )
    # Lower-case state, '+00:00' offsets without fractions, endTime 0001-01-01, empty message.
    b, _ = _failed(h, "tpl-b", bytes(samplelogs.failure_log("resources")))

    def vary_b(body: dict) -> None:
        status = body["properties"]["lastRunStatus"]
        status["runState"] = "failed"
        status["startTime"] = _ago(minutes=30).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        status["endTime"] = "0001-01-01T00:00:00Z"
        status["message"] = ""
        body["identity"] = {"type": "None"}

    _edit(h, b, vary_b)
    good = h.add("tpl-good", storage=False)
    h.cloud.set_run_status(good.id, "succeeded", start_time=_ago(hours=2), end_time=_ago(hours=1))

    monitor = h.monitor()
    first = monitor.sweep()
    assert not first.errors, first.errors
    rows = {r.name: r for r in first.rows}
    assert rows["tpl-a"].alerts == ["build-failed"] and rows["tpl-b"].alerts == ["build-failed"]
    assert rows["tpl-never"].state == "idle" and rows["tpl-good"].alerts == []
    assert _archived_log(h, a) == log  # found through the staging group's tags
    assert _archived_log(h, b) == bytes(samplelogs.failure_log("resources"))
    assert sorted(h.receiver.kinds()) == ["build-failed", "build-failed"]
    second = monitor.sweep()
    assert not second.errors and second.alerts_sent == 0 and second.unchanged == 4
    assert second.arm_requests == 1, second.request_paths  # the list only: nothing fetched again
    assert sorted(h.receiver.kinds()) == ["build-failed", "build-failed"]


def test_runs_without_start_time_are_told_apart(harness) -> None:
    h = harness
    t, _ = _failed(h, "tpl-nostart", bytes(samplelogs.failed_customizer_log(seed=18)))
    _edit(h, t, lambda body: body["properties"]["lastRunStatus"].pop("startTime"))
    monitor = h.monitor()
    first = monitor.sweep()
    assert not first.errors and [r.alerts for r in first.rows] == [["build-failed"]]
    h.cloud.put_staging_blob(t.id, t.log_blob_path, bytes(samplelogs.failure_log("resources")))
    h.cloud.set_run_status(
        t.id,
        "Failed",
        "Distributing",
        message=h.cloud.failure_message(t.id, "Distribution failed"),
        start_time=_ago(minutes=20),
        end_time=_ago(minutes=1),
    )
    _edit(h, t, lambda body: body["properties"]["lastRunStatus"].pop("startTime"))
    second = monitor.sweep()
    assert not second.errors and [r.alerts for r in second.rows] == [["build-failed"]]
    assert first.rows[0].archive_path != second.rows[0].archive_path
    third = monitor.sweep()
    assert third.alerts_sent == 0 and h.receiver.kinds() == ["build-failed", "build-failed"]


def test_list_without_status_fields_gets_each_template(harness) -> None:
    h = harness
    log = bytes(samplelogs.failed_customizer_log(seed=13))
    t, _ = _failed(h, "tpl-summary", log)
    h.add("tpl-other", storage=False)
    h.cloud.arm.list_summary = True
    report = h.monitor().sweep()
    assert not report.errors, report.errors
    assert {r.name: r.alerts for r in report.rows} == {"tpl-summary": ["build-failed"], "tpl-other": []}
    assert _archived_log(h, t) == log


def test_list_without_status_and_a_failing_get_keeps_the_run(harness) -> None:
    h = harness
    t = h.add("tpl-watched")
    h.cloud.put_staging_blob(t.id, t.log_blob_path, b"[a1] PACKER OUT ==> azure-arm: Running builder ...\n")
    h.cloud.set_run_status(t.id, "Running", "Building", start_time=_ago(minutes=5))
    h.cloud.arm.list_summary = True
    monitor = h.monitor()
    assert [r.state for r in monitor.sweep().rows] == ["running"]
    h.cloud.arm.inject(400, count=10_000, kind="imageTemplates.get", code="Broken")
    broken = monitor.sweep()
    assert [r.state for r in broken.rows] == ["error"] and broken.errors  # not taken for deleted
    h.cloud.arm.clear_faults()
    again = monitor.sweep()
    assert not again.errors and [(r.state, r.note) for r in again.rows] == [("running", None)]


@pytest.mark.parametrize("style", ["relative", "absolute"])
def test_paged_list_with_relative_or_absolute_next_link(harness, style: str) -> None:
    h = harness
    for i in range(5):
        h.add(f"tpl-{i}", storage=False)
    h.cloud.arm.page_size = 2
    h.cloud.arm.next_link_style = style
    report = h.monitor().sweep()
    assert not report.errors, report.errors
    assert report.listed == 5 and len(report.rows) == 5


def test_arm_endpoint_announcing_its_own_audience_gets_tokens_for_it(harness) -> None:
    h = harness
    audience = "https://management.standin.example/"
    h.cloud.arm.metadata_audience = audience  # Azure Stack Hub style: only tokens for this audience pass
    assert discover_arm_audience(h.cloud.arm_endpoint) == audience
    log = bytes(samplelogs.failed_customizer_log(seed=17))
    t, _ = _failed(h, "tpl-audience", log)
    report = h.monitor().sweep()
    assert not report.errors, report.errors
    assert h.receiver.kinds() == ["build-failed"] and _archived_log(h, t) == log
    assert audience in h.cloud.identity.requests


def test_arm_endpoint_without_metadata_keeps_the_public_audience(local_cloud) -> None:
    assert discover_arm_audience(local_cloud.arm_endpoint) is None  # our endpoint answers 401 there
    assert arm_credential_scopes(local_cloud.arm_endpoint, None) == ["https://management.azure.com/.default"]
    assert arm_credential_scopes("https://management.azure.com", "https://other/") == [
        "https://management.azure.com/.default"
    ]


def test_no_subscription_wide_template_list_reads_group_by_group(harness) -> None:
    h = harness
    log = bytes(samplelogs.failed_customizer_log(seed=19))
    t, _ = _failed(h, "tpl-bygroup", log)
    other = h.cloud.add_template("rg-other", "tpl-elsewhere", subscription_id=h.subscription_id, storage=False)
    h.cloud.set_run_status(other.id, "Succeeded", start_time=_ago(hours=2), end_time=_ago(hours=1))
    sub_list = f"{h.subscription_id}/providers/microsoft.virtualmachineimages"
    fault = h.cloud.arm.inject(404, count=10_000, kind="imageTemplates.list", path_contains=sub_list)
    monitor = h.monitor()
    report = monitor.sweep()
    assert fault.served >= 1 and not report.errors, report.errors
    assert {r.name: r.alerts for r in report.rows} == {"tpl-bygroup": ["build-failed"], "tpl-elsewhere": []}
    assert _archived_log(h, t) == log
    staging_lists = [
        p for p in report.request_paths if "/resourcegroups/it_" in p.lower() and "imagetemplates" in p.lower()
    ]
    assert staging_lists == []  # Image Builder's staging groups are not searched for templates
    assert any("/resourcegroups/rg-other/" in p.lower() and "imagetemplates" in p.lower() for p in report.request_paths)
    second = monitor.sweep()
    assert not second.errors and second.alerts_sent == 0 and second.unchanged == 2
    assert h.monitor().check_staging_group(h.subscription_id, t.staging_group) is not None


# -- endpoints: ARM at localhost, archive over http ------------------------------------------------------------
def test_arm_endpoint_at_localhost_with_managed_identity(harness) -> None:
    h = harness
    log = bytes(samplelogs.failed_customizer_log(seed=14))
    t, _ = _failed(h, "tpl-localhost", log)
    endpoint = h.cloud.arm_endpoint.replace("127.0.0.1", "localhost")
    h.cloud.arm.next_link_style = "relative"  # keep paging on the name we were given
    report = h.monitor(ARM_ENDPOINT=endpoint).sweep()
    assert not report.errors, report.errors
    assert report.arm_requests >= 1 and h.receiver.kinds() == ["build-failed"] and _archived_log(h, t) == log
    assert "https://management.azure.com" in h.cloud.identity.requests


def test_archive_connection_string_over_http(harness, local_cloud) -> None:
    h = harness
    log = bytes(samplelogs.failed_customizer_log(seed=15))
    t, _ = _failed(h, "tpl-http-archive", log)
    gate = StorageGate(local_cloud.azurite.base_url, local_cloud.ca).start()
    try:
        account = local_cloud.archive_account
        key = local_cloud.azurite.accounts[account]
        connection = (
            f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
            f"BlobEndpoint={gate.account_url(account)};"
        )
        monitor = _monitor_without_archive_identity(h, connection)
        report = monitor.sweep()
        assert not report.errors, report.errors
        assert report.rows[0].archive_path.startswith(f"http://127.0.0.1:{gate.endpoint.rsplit(':', 1)[1]}/")
        assert _archived_log(h, t) == log
        assert monitor.sweep().alerts_sent == 0
        assert h.receiver.kinds() == ["build-failed"]
        assert gate.auth_counts(account).get("sharedkey", 0) > 0
    finally:
        gate.stop()


def test_archive_storage_url_over_http_is_a_settings_error(harness) -> None:
    from monitor.app import Monitor

    settings = harness.settings(ARCHIVE_STORAGE_URL="http://127.0.0.1:10000/devstoreaccount1")
    with pytest.raises(SettingsError) as caught:
        Monitor.from_settings(settings)
    assert caught.value.name == "ARCHIVE_STORAGE_URL" and "ARCHIVE_CONNECTION_STRING" in str(caught.value)


# -- the CLI with the least configuration -----------------------------------------------------------------------
def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    base["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_cli_sweep_with_only_subscription_endpoint_and_identity(harness, tmp_path) -> None:
    h = harness
    log = bytes(samplelogs.failed_customizer_log(seed=16))
    _failed(h, "tpl-cli-failed", log)
    stuck = h.add("tpl-cli-stuck", build_timeout_minutes=60)
    h.cloud.put_staging_blob(stuck.id, stuck.log_blob_path, b"[c3] PACKER OUT ==> azure-arm: Waiting for WinRM\n")
    h.cloud.set_run_status(stuck.id, "Running", "Customizing", start_time=_ago(minutes=200))
    good = h.add("tpl-cli-good", storage=False)
    h.cloud.set_run_status(good.id, "Succeeded", start_time=_ago(hours=3), end_time=_ago(hours=2))
    env = {
        k: v
        for k, v in h.cloud.env(h.subscription_id).items()
        if k in ("AZURE_SUBSCRIPTION_ID", "ARM_ENDPOINT", "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "REQUESTS_CA_BUNDLE")
    }
    work = tmp_path / "cli"
    work.mkdir()
    first = _cli(["sweep"], env, work)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"archive: {work / 'aib-archive'}" in first.stdout and f"alerts: {work / 'aib-alerts'}" in first.stdout
    archived = list((work / "aib-archive").rglob("customization.log"))
    assert [p.read_bytes() for p in archived if "tpl-cli-failed" in str(p)] == [log]
    alerts = sorted(p.name for p in (work / "aib-alerts").rglob("*.json"))
    assert len(alerts) == 2, alerts
    kinds = sorted(json.loads(p.read_text())["kind"] for p in (work / "aib-alerts").rglob("*.json"))
    assert kinds == ["build-failed", "build-stuck"]
    second = _cli(["sweep"], env, work)
    assert second.returncode == 0, second.stdout + second.stderr
    assert sorted(p.name for p in (work / "aib-alerts").rglob("*.json")) == alerts
    assert "0 alert(s) sent" in second.stdout

    webhook = _cli(["sweep"], {**env, "ALERT_WEBHOOK_URL": h.receiver.url}, tmp_path)  # a fresh ./aib-archive
    assert webhook.returncode == 0, webhook.stdout + webhook.stderr
    assert "alerts: posted to ALERT_WEBHOOK_URL" in webhook.stdout and "sig=" not in webhook.stdout
    assert sorted(h.receiver.kinds()) == ["build-failed", "build-stuck"]
