"""The registered Functions end to end against the local cloud: real ``EventGridEvent`` and ``TimerRequest``
objects in, the real Monitor behind them, ARM over HTTPS (azure-mgmt clients), Azurite through identity auth,
alerts written as files (no channel configured).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("localazure.cloud", reason="localazure.LocalCloud has not landed")

from azure.core.exceptions import HttpResponseError

from localazure import samplelogs
from monitor.settings import SETTING_NAMES, Settings
from monitor.storage import open_store
from tests.monitor.eventsamples import adapt, staging_group_event, template_event
from tests.monitor.functionhost import deliver, timer_request, user_function


@pytest.fixture(scope="module")
def functions():
    return {name: user_function(name) for name in ("on_resource_event", "sweep")}


@pytest.fixture
def env(cloud_env, monkeypatch, tmp_path):
    """The Function's app settings for a subscription of this test's own; alerts to files under tmp_path."""
    for name in SETTING_NAMES:
        if name not in cloud_env:
            monkeypatch.delenv(name, raising=False)
    alert_dir = tmp_path / "alerts"
    monkeypatch.setenv("ALERT_DIR", str(alert_dir))
    return alert_dir


@pytest.fixture
def sub(cloud_env) -> str:
    return cloud_env["AZURE_SUBSCRIPTION_ID"]


def _rg() -> str:
    return f"rg-e2e-{uuid.uuid4().hex[:8]}"


def _failed_build(cloud, sub: str, rg: str, name: str):
    """A template whose last run failed in a PowerShell customizer, with its log in the staging account."""
    return _fail(cloud, cloud.add_template(rg, name, subscription_id=sub))


def _fail(cloud, t):
    """The template's last run failed in a PowerShell customizer 40 minutes ago; its log is in the staging account."""
    start = datetime.now(UTC) - timedelta(minutes=40)
    log = samplelogs.failed_customizer_log("install-iis", "PowerShell", 1, os="windows", start=start)
    cloud.put_staging_blob(t.id, f"packerlogs/{log.folder}/customization.log", bytes(log))
    cloud.set_run_status(
        t.id,
        run_state="Failed",
        run_sub_state="Customizing",
        message=log.status_message.replace(
            log.log_url, cloud.staging_blob_url(t.id, f"packerlogs/{log.folder}/customization.log")
        ),
        start_time=log.started.isoformat(),
        end_time=log.ended.isoformat(),
    )
    return t, log


def _alerts(alert_dir: Path, template_name: str) -> list[dict]:
    docs = [json.loads(p.read_text()) for p in sorted(alert_dir.glob("*.json"))] if alert_dir.exists() else []
    return [d for d in docs if d["template_name"] == template_name]


def _archived(template) -> dict[str, bytes]:
    store = open_store(Settings.from_env())
    prefix = template.id.split("/")[2] + "/"
    found = {}
    for key in store.list(prefix):
        parts = key.split("/")
        if (
            len(parts) >= 4
            and parts[1].lower() == template.id.split("/")[4].lower()
            and parts[2] == template.name
        ):
            obj = store.get(key)
            found[key] = obj.data if obj else b""
    return found


def test_failure_event_archives_the_log_byte_identical_and_alerts_once(local_cloud, sub, env, functions):
    rg, name = _rg(), "win2022-iis"
    t, log = _failed_build(local_cloud, sub, rg, name)
    event = deliver(
        template_event(
            rg,
            name,
            "run/action",
            subscription=sub,
            event_type="Microsoft.Resources.ResourceActionFailure",
        )
    )
    functions["on_resource_event"](event)

    alerts = _alerts(env, name)
    assert [a["kind"] for a in alerts] == ["build-failed"]
    assert alerts[0]["category"] == "customizer-failed"
    logs = {k: v for k, v in _archived(t).items() if k.endswith("/customization.log")}
    assert len(logs) == 1
    assert next(iter(logs.values())) == bytes(log)


def test_same_event_ten_times_concurrently_archives_and_alerts_once(local_cloud, sub, env, functions):
    rg, name = _rg(), "win2022-dup"
    t, _ = _failed_build(local_cloud, sub, rg, name)
    body = template_event(rg, name, "run/action", subscription=sub)
    start = threading.Barrier(10)

    def deliver_once(_: int) -> None:
        event = deliver(body)  # each delivery decodes its own object, as the worker would
        start.wait()
        functions["on_resource_event"](event)

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(deliver_once, range(10)))

    assert [a["kind"] for a in _alerts(env, name)] == ["build-failed"]
    logs = [k for k in _archived(t) if k.endswith("/customization.log")]
    assert len(logs) == 1


def test_cloud_event_schema_is_handled_too(local_cloud, sub, env, functions):
    rg, name = _rg(), "win2022-ce"
    _failed_build(local_cloud, sub, rg, name)
    body = template_event(rg, name, "write", sample="resource_write_success.json", subscription=sub)
    functions["on_resource_event"](deliver(body))
    assert [a["kind"] for a in _alerts(env, name)] == ["build-failed"]


def test_staging_group_write_checks_its_template(local_cloud, sub, env, functions):
    rg, name = _rg(), "win2022-stg"
    t, _ = _failed_build(local_cloud, sub, rg, name)
    body = staging_group_event(t.staging_group, "write", subscription=sub)
    functions["on_resource_event"](deliver(body))
    assert [a["kind"] for a in _alerts(env, name)] == ["build-failed"]


def test_build_vm_deleted_in_the_staging_group_checks_its_template(local_cloud, sub, env, functions):
    """The end-of-run signal: cleanup deletes the build VM inside IT_...; the failed run is archived and alerted."""
    rg, name = _rg(), "win2022-end"
    t, log = _failed_build(local_cloud, sub, rg, name)
    vm = (
        f"/subscriptions/{sub}/resourceGroups/{t.staging_group}"
        "/providers/Microsoft.Compute/virtualMachines/vmimagebuilder-build"
    )
    body = adapt(
        "ResourceDeleteSuccess.json",
        resource_id=vm,
        operation="Microsoft.Compute/virtualMachines/delete",
        subscription=sub,
    )
    functions["on_resource_event"](deliver(body))
    assert [a["kind"] for a in _alerts(env, name)] == ["build-failed"]
    logs = {k: v for k, v in _archived(t).items() if k.endswith("/customization.log")}
    assert list(logs.values()) == [bytes(log)]


def test_throttled_arm_raises_so_event_grid_retries(local_cloud, sub, env, functions):
    rg, name = _rg(), "win2022-429"
    _failed_build(local_cloud, sub, rg, name)
    # More 429s than the ARM client retries (retry_total=6): the error reaches the function, which re-raises.
    fault = local_cloud.arm.inject(
        status=429, retry_after=1, count=20, path_contains=f"/imageTemplates/{name}"
    )
    try:
        with pytest.raises(HttpResponseError) as caught:
            functions["on_resource_event"](deliver(template_event(rg, name, subscription=sub)))
        assert caught.value.status_code == 429
        assert fault.served >= 2  # the ARM client retried (honouring Retry-After) before giving up
        assert _alerts(env, name) == []
    finally:
        local_cloud.arm.clear_faults()
    # Event Grid's redelivery, once ARM answers again, does the work.
    functions["on_resource_event"](deliver(template_event(rg, name, subscription=sub)))
    assert [a["kind"] for a in _alerts(env, name)] == ["build-failed"]


def test_timer_sweep_finds_a_failed_build(local_cloud, sub, env, functions):
    rg, name = _rg(), "win2022-timer"
    _failed_build(local_cloud, sub, rg, name)
    functions["sweep"](timer_request(past_due=True))
    assert [a["kind"] for a in _alerts(env, name)] == ["build-failed"]


def test_non_transient_arm_error_is_logged_and_dropped(local_cloud, sub, env, functions, caplog):
    rg, name = _rg(), "win2022-403"
    _failed_build(local_cloud, sub, rg, name)
    local_cloud.arm.inject(
        status=403,
        count=50,
        code="AuthorizationFailed",
        message="The client does not have authorization to perform action",
        path_contains=f"/imageTemplates/{name}",
    )
    try:
        with caplog.at_level(logging.ERROR, logger="aibmonitor"):
            assert functions["on_resource_event"](deliver(template_event(rg, name, subscription=sub))) is None
    finally:
        local_cloud.arm.clear_faults()
    assert any("dropped" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    assert _alerts(env, name) == []


def test_not_implemented_is_dropped_not_redelivered(local_cloud, sub, env, functions, caplog):
    """501 says "never": the trigger drops the event (Event Grid would redeliver it for a day in vain), as the
    sweep treats it (monitor/azure/errors.py is the one answer for both)."""
    rg, name = _rg(), "win2022-501"
    _failed_build(local_cloud, sub, rg, name)
    local_cloud.arm.inject(status=501, count=50, code="NotImplemented", path_contains=f"/imageTemplates/{name}")
    try:
        with caplog.at_level(logging.ERROR, logger="aibmonitor"):
            assert functions["on_resource_event"](deliver(template_event(rg, name, subscription=sub))) is None
    finally:
        local_cloud.arm.clear_faults()
    assert any("dropped" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


def test_deleted_template_event_does_not_fail(local_cloud, sub, env, functions):
    rg, name = _rg(), "win2022-gone"
    t, _ = _failed_build(local_cloud, sub, rg, name)
    local_cloud.delete_template(t.id)
    assert (
        functions["on_resource_event"](deliver(template_event(rg, name, "delete", subscription=sub))) is None
    )


def _vm_deleted(sub: str, group: str) -> dict:
    vm = f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Compute/virtualMachines/build-vm"
    return adapt(
        "ResourceDeleteSuccess.json",
        resource_id=vm,
        operation="Microsoft.Compute/virtualMachines/delete",
        subscription=sub,
    )


def test_build_end_in_a_templates_own_staging_group_checks_its_template(local_cloud, sub, env, functions):
    """A template with its own stagingResourceGroup (no IT_ prefix, no Image Builder tags): the sweep remembers the
    group, so the end-of-run delete there is recognised within a minute like one in an IT_ group."""
    rg, name = _rg(), "win2022-own"
    own = f"rg-own-staging-{uuid.uuid4().hex[:6]}"
    t = local_cloud.add_template(rg, name, subscription_id=sub, staging_group=own)
    assert t.staging_group == own
    local_cloud.set_run_status(t.id, run_state="Running", start_time=datetime.now(UTC) - timedelta(minutes=2))
    functions["sweep"](timer_request())  # the sweep sees the running build and remembers its staging group
    assert _alerts(env, name) == []
    _fail(local_cloud, t)
    functions["on_resource_event"](deliver(_vm_deleted(sub, own)))
    assert [a["kind"] for a in _alerts(env, name)] == ["build-failed"]


def test_a_vm_deleted_in_an_unrelated_group_reads_no_template(local_cloud, sub, env, functions):
    """Any VM delete in the subscription reaches the function; outside staging groups it costs one group read."""
    unrelated = f"rg-web-{uuid.uuid4().hex[:6]}"
    local_cloud.arm.requests.clear()
    functions["on_resource_event"](deliver(_vm_deleted(sub, unrelated)))
    paths = [path.lower() for _method, path in local_cloud.arm.requests]
    assert not any("imagetemplates" in p for p in paths), paths
    assert len(paths) <= 2, paths
