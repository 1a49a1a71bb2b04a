"""LocalCloud's own behaviour: staging groups, the staging account pool, paging under change, faults, CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from localazure import LocalCloud, PoolExhausted, UnknownTemplate
from localazure.templates import staging_group_name

REPO = Path(__file__).resolve().parents[2]


def _get(cloud: LocalCloud, path: str, token: str, **params) -> requests.Response:
    params.setdefault("api-version", "2025-10-01")
    return requests.get(
        f"{cloud.arm_endpoint}{path}",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        verify=str(cloud.ca_bundle),
        timeout=10,
    )


@pytest.fixture
def token(local_cloud: LocalCloud) -> str:
    return local_cloud.issuer.mint("https://management.azure.com")[0]


def test_staging_group_name_is_truncated_to_90_characters():
    guid = "0" * 8 + "-0000-0000-0000-" + "0" * 12
    name = staging_group_name("rg-" + "r" * 60, "t" * 60, guid)
    assert len(name) == 90
    assert name.startswith("IT_rg-rrr") and name.endswith(f"_{guid}")
    assert staging_group_name("rg", "tpl", guid) == f"IT_rg_tpl_{guid}"


def test_pool_binds_releases_and_runs_out(local_cloud: LocalCloud, fresh_subscription):
    free_before = len(local_cloud._free_accounts)
    bound = [
        local_cloud.add_template("rg", f"t{i}", subscription_id=fresh_subscription, storage=True)
        for i in range(free_before)
    ]
    assert len({t.storage_account for t in bound}) == free_before
    lazy = local_cloud.add_template("rg", "lazy", subscription_id=fresh_subscription)  # pool empty: no account
    assert lazy.storage_account is None
    with pytest.raises(PoolExhausted):
        local_cloud.put_staging_blob(lazy.id, lazy.log_blob_path, b"x")
    with pytest.raises(PoolExhausted):
        local_cloud.add_template("rg", "insists", subscription_id=fresh_subscription, storage=True)

    local_cloud.put_staging_blob(bound[0].id, bound[0].log_blob_path, b"old log\n")
    released = bound[0].storage_account
    local_cloud.delete_template(bound[0].id)
    assert local_cloud.put_staging_blob(lazy.id, lazy.log_blob_path, b"new\n") == 4  # binds the released one
    assert lazy.storage_account == released
    names = [b.name for b in local_cloud.blob_service(released).get_container_client("packerlogs").list_blobs()]
    assert names == [lazy.log_blob_path.split("/", 1)[1]]  # nothing of the deleted template is left


def test_paging_survives_deletion_between_pages(local_cloud: LocalCloud, fresh_subscription, token):
    templates = [
        local_cloud.add_template("rg", f"p{i:02d}", subscription_id=fresh_subscription, storage=False)
        for i in range(10)
    ]
    path = f"/subscriptions/{fresh_subscription}/providers/Microsoft.VirtualMachineImages/imageTemplates"
    first = _get(local_cloud, path, token, **{"$top": "4"}).json()
    assert [t["name"] for t in first["value"]] == ["p00", "p01", "p02", "p03"]
    local_cloud.delete_template(templates[1].id)  # already served: must not shift the next page
    local_cloud.delete_template(templates[5].id)  # not yet served: simply absent
    second = requests.get(
        first["nextLink"],
        headers={"Authorization": f"Bearer {token}"},
        verify=str(local_cloud.ca_bundle),
        timeout=10,
    ).json()
    assert first["nextLink"].startswith(local_cloud.arm_endpoint)
    assert [t["name"] for t in second["value"]] == ["p04", "p06", "p07", "p08"]
    assert "nextLink" in second


def test_template_json_shape(local_cloud: LocalCloud, fresh_subscription, token):
    t = local_cloud.add_template("RG-Mixed", "Shape", subscription_id=fresh_subscription, storage=False)
    local_cloud.set_run_status(t.id, "Running", "Building")
    path = (
        f"/subscriptions/{fresh_subscription}/resourcegroups/rg-mixed"
        "/providers/Microsoft.VirtualMachineImages/imageTemplates/shape"
    )
    body = _get(local_cloud, path, token).json()  # ARM paths are case-insensitive
    assert body["id"] == t.id
    assert body["type"] == "Microsoft.VirtualMachineImages/imageTemplates"
    props = body["properties"]
    assert props["lastRunStatus"]["endTime"] == "0001-01-01T00:00:00Z"
    assert props["lastRunStatus"]["runState"] == "Running"
    assert props["exactStagingResourceGroup"].endswith(t.staging_group)
    assert props["customize"][0]["type"] == "Shell"
    assert props["vmProfile"]["vmSize"]
    assert body == local_cloud.template_json(t.id)

    local_cloud.update_template(t.id, provisioning_state="Failed", provisioning_error="boom")
    props = _get(local_cloud, path, token).json()["properties"]
    assert props["provisioningError"] == {"provisioningErrorCode": "Other", "message": "boom"}
    local_cloud.update_template(t.id, provisioning_state="Succeeded", provisioning_error="")
    assert "provisioningError" not in _get(local_cloud, path, token).json()["properties"]


def test_api_version_is_required_and_unknown_routes_are_404(local_cloud: LocalCloud, fresh_subscription, token):
    path = f"/subscriptions/{fresh_subscription}/providers/Microsoft.VirtualMachineImages/imageTemplates"
    response = requests.get(
        f"{local_cloud.arm_endpoint}{path}",
        headers={"Authorization": f"Bearer {token}"},
        verify=str(local_cloud.ca_bundle),
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MissingApiVersionParameter"
    missing = _get(local_cloud, f"/subscriptions/{fresh_subscription}/providers/Microsoft.Nope/things", token)
    assert missing.status_code == 404
    assert "error" in missing.json()


def test_fault_filters_delay_and_counts(local_cloud: LocalCloud, fresh_subscription, token):
    local_cloud.add_template("rg", "f", subscription_id=fresh_subscription, storage=False)
    base = f"/subscriptions/{fresh_subscription}/resourceGroups/rg/providers/Microsoft.VirtualMachineImages"
    post_only = local_cloud.arm.inject(500, method="POST", path_contains=fresh_subscription)
    delay = local_cloud.arm.inject(None, delay=0.3, path_contains=f"{fresh_subscription}/resourceGroups/rg/")
    local_cloud.arm.reset_counts()
    started = time.monotonic()
    assert _get(local_cloud, f"{base}/imageTemplates/f", token).status_code == 200
    assert time.monotonic() - started >= 0.3
    assert delay.served == 1 and post_only.served == 0
    throttled = local_cloud.arm.inject(429, retry_after=7, count=1, path_contains=fresh_subscription)
    response = _get(local_cloud, f"{base}/imageTemplates", token)
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"
    assert response.json()["error"]["code"] == "TooManyRequests"
    assert throttled.served == 1
    assert _get(local_cloud, f"{base}/imageTemplates", token).status_code == 200
    assert local_cloud.arm.counts["imageTemplates.get"] == 1
    assert local_cloud.arm.count("imageTemplates") == 3
    assert ("GET", f"{base}/imageTemplates/f") in local_cloud.arm.requests
    local_cloud.arm.clear_faults()


def test_unknown_template_raises(local_cloud: LocalCloud):
    with pytest.raises(UnknownTemplate):
        local_cloud.set_run_status("/subscriptions/x/resourceGroups/y/providers/a/b/c", "Failed")


def test_env_names_are_monitor_settings(local_cloud: LocalCloud):
    from monitor.settings import SETTING_NAMES, Settings

    env = local_cloud.env()
    transport = {"REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "IDENTITY_ENDPOINT", "IDENTITY_HEADER"}
    assert set(env) - transport <= set(SETTING_NAMES)
    settings = Settings.from_env(env)
    assert settings.archive_kind == "blob-aad"
    assert settings.arm_endpoint == local_cloud.arm_endpoint
    assert Settings.from_env(local_cloud.env(archive="key")).archive_kind == "blob-connection-string"


def test_serve_cli_prints_env_and_stops_cleanly(tmp_path):
    env_file = tmp_path / "cloud.env"
    process = subprocess.Popen(
        [sys.executable, "-m", "localazure", "serve", "--example", "--staging-accounts", "2",
         "--workdir", str(tmp_path / "work"), "--env-file", str(env_file)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not env_file.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
        assert env_file.exists(), process.stderr.read() if process.poll() is not None else "no env file"
        values = dict(line.removeprefix("export ").split("=", 1) for line in env_file.read_text().splitlines())
        assert {"ARM_ENDPOINT", "AZURE_SUBSCRIPTION_ID", "ARCHIVE_STORAGE_URL", "IDENTITY_ENDPOINT"} <= set(values)
        token = requests.get(
            values["IDENTITY_ENDPOINT"],
            params={"api-version": "2019-08-01", "resource": "https://management.azure.com"},
            headers={"X-IDENTITY-HEADER": values["IDENTITY_HEADER"]},
            timeout=10,
        ).json()["access_token"]
        listed = requests.get(
            f"{values['ARM_ENDPOINT']}/subscriptions/{values['AZURE_SUBSCRIPTION_ID']}"
            "/providers/Microsoft.VirtualMachineImages/imageTemplates?api-version=2025-10-01",
            headers={"Authorization": f"Bearer {token}"},
            verify=values["REQUESTS_CA_BUNDLE"],
            timeout=10,
        ).json()
        assert {t["name"] for t in listed["value"]} == {
            "ubuntu-web",
            "win2022-base",
            "ubuntu-base",
            "bad-source",
        }
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0
    pid_alive = subprocess.run(
        ["pgrep", "-f", str(tmp_path / "work")], capture_output=True, text=True, check=False
    ).stdout.split()
    assert [p for p in pid_alive if int(p) != os.getpid()] == []  # Azurite went with it


def test_private_cloud_reset_and_cleanup():
    with LocalCloud(staging_accounts=1) as cloud:
        workdir = cloud.workdir
        t = cloud.add_template("rg", "t")
        assert t.storage_account == "aibstaging0000"
        cloud.put_staging_blob(t.id, t.log_blob_path, b"x")
        other = cloud.new_subscription()
        cloud.add_template("rg", "t", subscription_id=other, storage=False)  # same name, other subscription
        cloud.blob_service(cloud.archive_account).create_container("aib-logs")
        cloud.arm.inject(429, count=5)
        cloud.arm.page_size = 1
        cloud.reset()
        assert cloud.templates() == []
        assert cloud.state.templates == {} and cloud.state.resource_groups == {}
        assert list(cloud.blob_service(cloud.archive_account).list_containers()) == []
        assert cloud.arm.page_size == cloud.default_page_size
        assert cloud.arm._take_fault("GET", "/") is None
        again = cloud.add_template("rg", "t")  # the released account is bound again, empty
        assert again.storage_account == "aibstaging0000"
        assert list(cloud.blob_service("aibstaging0000").get_container_client("packerlogs").list_blobs()) == []
        # counting restarted at reset(): only the list_containers() above touched the archive since
        assert [(r.method, r.operation) for r in cloud.storage_requests(account=cloud.archive_account)] == [
            ("GET", "list")
        ]
    assert not workdir.exists()  # a cloud without a given workdir removes its temp dir


def test_run_status_start_times(local_cloud: LocalCloud, fresh_subscription):
    t = local_cloud.add_template("rg", "runs", subscription_id=fresh_subscription, storage=False)
    first = local_cloud.set_run_status(t.id, "Running", "Customizing", start_time="2026-01-01T10:00:00Z")
    assert first["endTime"] == "0001-01-01T00:00:00Z" and first["message"] == ""
    failed = local_cloud.set_run_status(t.id, "Failed", "Customizing", "boom", end_time="2026-01-01T10:30:00Z")
    assert failed["startTime"] == "2026-01-01T10:00:00Z"  # the same run ended
    assert failed["endTime"] == "2026-01-01T10:30:00Z"
    again = local_cloud.set_run_status(t.id, "Failed", "Customizing", "boom, again")
    assert again["startTime"] == "2026-01-01T10:00:00Z"  # the same state set again: the same run
    recovered = local_cloud.set_run_status(t.id, "Succeeded")
    assert recovered["startTime"] != "2026-01-01T10:00:00Z"  # Failed -> Succeeded is another run
    rerun = local_cloud.set_run_status(t.id, "Running")
    assert rerun["startTime"] != recovered["startTime"]  # Running after a finished run: a new run
    folder = t.log_blob_path
    local_cloud.set_run_status(t.id, "Running", new_run=True)
    assert t.log_blob_path != folder


def test_concurrent_clients_and_a_stalled_connection(local_cloud: LocalCloud, fresh_subscription, token):
    import socket
    from concurrent.futures import ThreadPoolExecutor

    local_cloud.add_template("rg", "busy", subscription_id=fresh_subscription, storage=False)
    path = (
        f"/subscriptions/{fresh_subscription}/resourceGroups/rg"
        "/providers/Microsoft.VirtualMachineImages/imageTemplates/busy"
    )
    host, port = local_cloud.arm_endpoint.removeprefix("https://").split(":")
    stalled = socket.create_connection((host, int(port)))  # never starts TLS: must not block the others
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(lambda _: _get(local_cloud, path, token).status_code, range(48)))
    finally:
        stalled.close()
    assert statuses == [200] * 48


def test_leaves_a_fault_and_a_hook_behind(local_cloud: LocalCloud):
    local_cloud.arm.inject(503, count=1000)
    local_cloud.arm.on_request(lambda request: None)
    local_cloud.arm.page_size = 1


def test_faults_and_hooks_do_not_leak_between_tests(local_cloud: LocalCloud):
    # runs after test_leaves_a_fault_and_a_hook_behind (file order): the autouse fixture cleaned up
    assert local_cloud.arm._take_fault("GET", "/anything") is None
    assert local_cloud.arm._hooks == []
    assert local_cloud.arm.page_size == local_cloud.default_page_size
