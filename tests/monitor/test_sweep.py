"""End to end at the wire: the real SDK clients against the local HTTPS ARM endpoint, Azurite (staging and
archive accounts, identity auth) and the real AlertDispatcher posting to a local webhook receiver."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from diagnosis import diagnose
from localazure import samplelogs

MB = 1024 * 1024


def _ago(**delta) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def live_log(stage: str, *, minutes: float, **kwargs) -> samplelogs.SampleLog:
    """A live log tail whose last line was written a moment ago (the monitor reads the log's own clock too)."""
    probe = samplelogs.running_log(stage, minutes=minutes, **kwargs)
    return samplelogs.running_log(
        stage, minutes=minutes, start=_ago(seconds=(probe.ended - probe.started).total_seconds() + 30), **kwargs
    )


def failed_template(h, name: str, log: bytes, *, with_url: bool = True, validation: bytes | None = None):
    t = h.add(name)
    h.cloud.put_staging_blob(t.id, t.log_blob_path, log)
    if validation is not None:
        h.cloud.put_staging_blob(t.id, t.log_blob_path.replace("customization.log", "validation.log"), validation)
    message = (
        h.cloud.failure_message(t.id, "Packer build command has failed: exit status 1")
        if with_url
        else "Failed while waiting for packerizer: Microservice has failed: exit status 1."
    )
    h.cloud.set_run_status(
        t.id, "Failed", "Customizing", message=message, start_time=_ago(minutes=50), end_time=_ago(minutes=2)
    )
    return t, message


def archived_prefix(h, t) -> str:
    status = h.cloud.template_json(t.id)["properties"]["lastRunStatus"]
    start = datetime.fromisoformat(status["startTime"].replace("Z", "+00:00"))
    return f"{t.subscription_id}/{t.resource_group}/{t.name}/{start.strftime('%Y%m%dT%H%M%SZ')}"


def test_failed_run_archived_byte_identical_one_alert_and_quiet_second_sweep(harness) -> None:
    h = harness
    log = samplelogs.failed_customizer_log()
    validation = b"validation: ok\n" * 100
    t, message = failed_template(h, "tpl-failed", bytes(log), validation=validation)
    good = h.add("tpl-good")
    h.cloud.set_run_status(good.id, "Succeeded", start_time=_ago(hours=2), end_time=_ago(hours=1))

    monitor = h.monitor()
    first = monitor.sweep()
    assert not first.errors, first.errors
    rows = {r.name: r for r in first.rows}
    assert rows["tpl-failed"].alerts == ["build-failed"] and rows["tpl-good"].alerts == []

    prefix = archived_prefix(h, t)
    archive = h.archive()
    assert archive.download_blob(f"{prefix}/customization.log").readall() == bytes(log)
    assert archive.download_blob(f"{prefix}/validation.log").readall() == validation
    status = json.loads(archive.download_blob(f"{prefix}/status.json").readall())
    assert status["partial"] is False and status["customization_log"]["verified"] is True
    # identity auth: Copy Blob from a user-delegation SAS, no bytes through the monitor
    assert status["copy"] == {"customization.log": "server", "validation.log": "server"}
    expected = diagnose(message, log=bytes(log)).category
    diag = json.loads(archive.download_blob(f"{prefix}/diagnosis.json").readall())
    assert diag["category"] == expected
    tags = archive.get_blob_client(f"{prefix}/customization.log").get_blob_tags()
    assert tags == {"template": "tpl-failed", "state": "failed", "category": expected}
    assert archive.get_blob_client(f"{prefix}/customization.log").get_blob_properties().metadata["partial"] == "false"

    assert h.receiver.kinds() == ["build-failed"]
    alert = h.receiver.alerts[0]
    assert alert["category"] == expected and alert["archive_partial"] is False
    assert alert["portal_url"] == f"https://portal.azure.com/#resource{t.id}"
    assert alert["log_url"].endswith(f"{prefix}/customization.log")

    # Steady state: nothing new, no run record or staging read, only the template list from ARM.
    for second in (monitor.sweep(), h.monitor().sweep()):
        assert not second.errors and second.alerts_sent == 0
        assert second.unchanged == 2
        assert second.arm_requests == 1, second.request_paths
        touched = " ".join(second.request_paths)
        assert "_state/runs/" not in touched and "packerlogs" not in touched, second.request_paths
        assert second.storage_requests <= 8, second.request_paths
    assert h.receiver.kinds() == ["build-failed"]


@pytest.mark.parametrize(("copy_mode", "expected"), [("stream", "streamed"), ("auto", "server")])
def test_log_found_through_staging_group_with_account_keys(harness, copy_mode: str, expected: str) -> None:
    h = harness
    log = samplelogs.failure_log("resources")
    t, _ = failed_template(h, "tpl-nourl", bytes(log), with_url=False)
    monitor = h.monitor(copy_mode=copy_mode, STAGING_LOG_AUTH="key")  # auto: Copy Blob from an account SAS
    report = monitor.sweep()
    assert not report.errors, report.errors
    paths = " ".join(report.request_paths)
    assert "listKeys" in paths or "listkeys" in paths.lower()
    assert "storageAccounts" in paths
    prefix = archived_prefix(h, t)
    assert h.archive().download_blob(f"{prefix}/customization.log").readall() == bytes(log)
    status = json.loads(h.archive().download_blob(f"{prefix}/status.json").readall())
    assert status["copy"]["customization.log"] == expected
    assert h.receiver.kinds() == ["build-failed"]


def test_same_event_ten_times_concurrently_archives_and_alerts_once(harness) -> None:
    h = harness
    log = samplelogs.failed_customizer_log(seed=11)
    t, _ = failed_template(h, "tpl-dup", bytes(log))
    monitors = [h.monitor() for _ in range(10)]  # ten Function instances
    barrier = threading.Barrier(10)
    outcomes: list = []
    errors: list = []

    def deliver(m) -> None:
        barrier.wait()
        try:
            outcomes.append(m.check_template(t.id))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(m,)) for m in monitors]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors
    assert sum(len(o.alerts) for o in outcomes) == 1
    assert h.receiver.kinds() == ["build-failed"]
    prefix = archived_prefix(h, t)
    assert h.archived() == {
        f"{prefix}/customization.log": len(log),
        f"{prefix}/status.json": h.archived()[f"{prefix}/status.json"],
        f"{prefix}/diagnosis.json": h.archived()[f"{prefix}/diagnosis.json"],
        f"{prefix}/alert-build-failed.json": h.archived()[f"{prefix}/alert-build-failed.json"],  # for resend
    }
    # later deliveries (Event Grid retries) change nothing
    assert h.monitor().check_template(t.id).alerts == []
    assert h.receiver.kinds() == ["build-failed"]


def test_submission_failure_alerts_once(harness) -> None:
    h = harness
    t = h.add(
        "tpl-bad",
        provisioning_state="Failed",
        provisioning_error={"provisioningErrorCode": "BadSourceType", "message": "Source type is invalid"},
    )
    monitor = h.monitor()
    assert monitor.sweep().rows[0].alerts == ["submission-failed"]
    assert monitor.sweep().alerts_sent == 0
    assert h.receiver.kinds() == ["submission-failed"]
    assert h.receiver.alerts[0]["status_message"] == "Source type is invalid"
    assert any(k.endswith("status.json") for k in h.archived())
    assert t.name in h.receiver.alerts[0]["template_name"]


def test_stuck_past_timeout_then_repeat_then_failed_then_recovered(harness) -> None:
    h = harness
    t = h.add("tpl-slow", build_timeout_minutes=60)
    live = live_log("provisioner", minutes=64)  # the provisioner has run for an hour and still writes
    h.cloud.put_staging_blob(t.id, t.log_blob_path, bytes(live))
    h.cloud.set_run_status(t.id, "Running", "Customizing", start_time=_ago(minutes=70))
    now = [datetime.now(UTC)]
    monitor = h.monitor(clock=lambda: now[0])
    first = monitor.sweep().rows[0]
    assert first.alerts == [], first.stuck_reason  # 70 min < 60 + 15 grace
    now[0] += timedelta(minutes=10)
    row = monitor.sweep().rows[0]
    assert row.alerts == ["build-stuck"] and row.stuck_reason.startswith("timeout")
    now[0] += timedelta(hours=1)
    assert monitor.sweep().alerts_sent == 0
    now[0] += timedelta(hours=3, minutes=1)  # STUCK_REPEAT_HOURS = 4 since the first announcement
    assert monitor.sweep().rows[0].alerts == ["still-stuck"]
    h.cloud.set_run_status(t.id, "Failed", message=h.cloud.failure_message(t.id, "timeout"), end_time=now[0])
    assert monitor.sweep().rows[0].alerts == ["build-failed"]
    h.cloud.set_run_status(t.id, "Succeeded", start_time=now[0], end_time=now[0] + timedelta(minutes=40), new_run=True)
    assert monitor.sweep().rows[0].alerts == ["recovered"]
    assert monitor.sweep().alerts_sent == 0
    kinds = h.receiver.kinds()
    assert kinds == ["build-stuck", "still-stuck", "build-failed", "recovered"]
    by_kind = {a["kind"]: a for a in h.receiver.alerts}
    assert by_kind["build-failed"]["previously_stuck"] is True
    assert by_kind["build-stuck"]["stuck_reason"].startswith("timeout")
    assert by_kind["still-stuck"]["run_key"] != by_kind["build-stuck"]["run_key"]  # distinct dedupe keys


def test_stuck_when_log_stops_growing_and_snapshots_survive_deletion(harness) -> None:
    h = harness
    t = h.add("tpl-quiet")
    first_part = bytes(samplelogs.running_log("provisioner", minutes=2, start=_ago(minutes=20)))
    h.cloud.append_staging_blob(t.id, t.log_blob_path, first_part)
    h.cloud.set_container_logs(t.id, "packer: waiting\n")
    h.cloud.set_run_status(t.id, "Running", "Customizing", start_time=_ago(minutes=20))
    now = [datetime.now(UTC)]
    monitor = h.monitor(clock=lambda: now[0])
    assert monitor.sweep().alerts_sent == 0
    more = b"".join(f"[op] PACKER OUT     azure-arm: step {i} of the install done\n".encode() for i in range(50))
    h.cloud.append_staging_blob(t.id, t.log_blob_path, more)
    now[0] += timedelta(minutes=20)
    report = monitor.sweep()
    assert report.alerts_sent == 0  # it grew
    staging_gets = [k for k in report.request_paths if k.startswith("storage GET") and "packerlogs" in k]
    assert staging_gets, report.request_paths
    now[0] += timedelta(minutes=31)
    row = monitor.sweep().rows[0]
    assert row.alerts == ["build-stuck"] and row.stuck_reason.startswith("no-growth"), row

    # The pipeline deletes the template: the snapshots taken while it ran are assembled into the archive.
    h.cloud.delete_template(t.id)
    report = monitor.sweep()
    deleted = [r for r in report.rows if r.state == "deleted"]
    assert deleted and deleted[0].archive_partial
    prefix = f"{t.subscription_id}/{t.resource_group}/{t.name}/"
    logs = [k for k in h.archived() if k.startswith(prefix) and k.endswith("/customization.log")]
    assert len(logs) == 1
    assert h.archive().download_blob(logs[0]).readall() == first_part + more
    assert h.archive().get_blob_client(logs[0]).get_blob_properties().metadata["partial"] == "true"
    assert any(k.endswith("/container.log") for k in h.archived())


def test_stuck_when_analysis_says_it_cannot_finish(harness) -> None:
    h = harness
    t = h.add("tpl-prompt")
    live = live_log("prompt", minutes=0.2)
    h.cloud.put_staging_blob(t.id, t.log_blob_path, bytes(live))
    h.cloud.set_run_status(t.id, "Running", "Customizing", start_time=_ago(minutes=15))
    now = [datetime.now(UTC)]
    monitor = h.monitor(clock=lambda: now[0])
    assert monitor.sweep().alerts_sent == 0  # the prompt just appeared
    now[0] += timedelta(minutes=5)  # nobody answers it (well before STUCK_AFTER_MINUTES)
    row = monitor.sweep().rows[0]
    assert row.alerts == ["build-stuck"] and row.stuck_reason.startswith("cannot-finish"), row
    assert row.category == "interactive-prompt"
    assert h.receiver.alerts[0]["category"] == "interactive-prompt"
    advice = h.receiver.alerts[0]["diagnosis"]
    cancel = f"Cancel the run (az image builder cancel -n tpl-prompt -g {t.resource_group})"
    assert advice["remediation"][0].startswith(cancel)
    assert any("-y" in step for step in advice["remediation"][1:]), advice["remediation"]  # the knowledge base's advice
    assert advice["doc"] and advice["rule_id"] == "interactive-prompt"
    status_key = next(k for k in h.archived() if k.endswith("/status.json"))
    status = json.loads(h.archive().download_blob(status_key).readall())
    assert status["stuck"]["rule"] == "cannot-finish" and status["live_log_bytes"] == len(live)
    assert h.archive().get_blob_client(status_key).get_blob_tags()["state"] == "stuck"


def test_stuck_when_a_download_cannot_finish_before_the_timeout(harness) -> None:
    """The log keeps growing (progress lines), yet the File customizer's measured rate ends past the timeout."""
    h = harness
    t = h.add("tpl-bigfile", build_timeout_minutes=120)
    live = samplelogs.running_log(
        "download", minutes=40, start=_ago(minutes=45), file_size=4_000_000_000, rate_bytes_per_second=200_000
    )
    h.cloud.put_staging_blob(t.id, t.log_blob_path, bytes(live))
    h.cloud.set_run_status(t.id, "Running", "Customizing", start_time=_ago(minutes=45))
    row = h.monitor().sweep().rows[0]
    assert row.alerts == ["build-stuck"] and row.stuck_reason.startswith("cannot-finish"), row
    assert row.category == "large-file-download"
    alert = h.receiver.alerts[0]
    assert alert["category"] == "large-file-download"
    assert "download" in alert["stuck_reason"]


def test_template_deleted_during_the_copy_leaves_partial_archive_and_alerts(harness) -> None:
    h = harness
    log = b"".join(samplelogs.chunks(bytes(samplelogs.failed_customizer_log(seed=5)))) * 1
    big = log + b"[op] PACKER OUT     azure-arm: filler line for a long log\n" * (600_000)  # ~33 MB
    t, _ = failed_template(h, "tpl-vanish", big)
    monitor = h.monitor(copy_mode="stream")
    reads = []

    def delete_mid_copy(method: str, url: str) -> None:
        if method == "GET" and url.endswith(t.log_blob_path):
            reads.append(url)
            if len(reads) == 2:  # after the first 4 MiB chunk is on its way to the archive
                h.cloud.delete_template(t.id)

    monitor.clients.transport.observers.append(delete_mid_copy)
    outcome = monitor.check_template(t.id)
    assert outcome.alerts == ["build-failed"] and outcome.archive_partial
    alert = h.receiver.alerts[0]
    assert alert["archive_partial"] is True
    prefix = archived_prefix_from_alert(alert)
    data = h.archive().download_blob(f"{prefix}/customization.log").readall()
    assert 0 < len(data) < len(big) and big.startswith(data)
    status = json.loads(h.archive().download_blob(f"{prefix}/status.json").readall())
    assert status["partial"] is True and "deleted" in status["partial_reason"]
    meta = h.archive().get_blob_client(f"{prefix}/customization.log").get_blob_properties().metadata
    assert meta["partial"] == "true"


def archived_prefix_from_alert(alert: dict) -> str:
    url = alert["archive_url"]
    return url.split("/", 5)[5]  # https://host/account/container/<prefix>


def test_arm_throttling_is_honoured(harness) -> None:
    h = harness
    h.add("tpl-a")
    fault = h.cloud.arm.inject(429, retry_after=1, count=2, path_contains="imageTemplates")
    monitor = h.monitor()
    started = time.monotonic()
    report = monitor.sweep()
    assert not report.errors and fault.served == 2
    assert time.monotonic() - started >= 2.0  # waited Retry-After twice
    assert report.arm_requests == 3  # two throttled + the successful list


def test_persistent_throttling_propagates_from_check(harness) -> None:
    from azure.core.exceptions import HttpResponseError

    h = harness
    t = h.add("tpl-b")
    h.cloud.arm.inject(429, retry_after=0, count=50, path_contains=t.name)
    try:
        with pytest.raises(HttpResponseError) as info:
            h.monitor().check_template(t.id)
        assert info.value.status_code == 429
    finally:
        h.cloud.arm.clear_faults()


def test_one_bad_template_does_not_stop_the_sweep(harness) -> None:
    h = harness
    bad, _ = failed_template(h, "tpl-broken", b"log\n", with_url=False)
    failed_template(h, "tpl-fine", bytes(samplelogs.failed_customizer_log(seed=3)))
    # Persistent throttling on its staging group (a 4xx there only means "no log": see test_foreign_standin.py)
    h.cloud.arm.inject(429, retry_after=0.01, count=1000, path_contains=bad.staging_group)
    try:
        report = h.monitor().sweep()
    finally:
        h.cloud.arm.clear_faults()
    rows = {r.name: r for r in report.rows}
    assert rows["tpl-broken"].state == "error" and report.errors
    assert rows["tpl-fine"].alerts == ["build-failed"]
    # the next sweep retries the broken one
    report = h.monitor().sweep()
    assert {r.name: r.alerts for r in report.rows}["tpl-broken"] == ["build-failed"]


def test_check_staging_group_finds_the_template(harness) -> None:
    h = harness
    t, _ = failed_template(h, "tpl-staged", bytes(samplelogs.failed_customizer_log(seed=8)))
    outcome = h.monitor().check_staging_group(t.subscription_id, t.staging_group)
    assert outcome is not None and outcome.template_id.lower() == t.id.lower()
    assert outcome.alerts == ["build-failed"]


def test_template_filter(harness) -> None:
    h = harness
    failed_template(h, "watched-1", b"x\n")
    failed_template(h, "ignored-1", b"y\n")
    report = h.monitor(TEMPLATE_FILTER="name:watched-*").sweep()
    assert [r.name for r in report.rows] == ["watched-1"]
    assert h.receiver.kinds() == ["build-failed"]


_PEAK_RSS_WRAPPER = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "print(f'peak-rss-kib={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr); "
    "sys.exit(r.returncode)"
)
MONITOR_CHECK_STREAM = ("-m", "monitor", "check", "--copy", "stream", "--json")


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_two_gigabyte_log_is_copied_without_loading_it(harness, tmp_path) -> None:
    import os
    import subprocess
    import sys

    h = harness
    t = h.add("tpl-huge")
    size = 2 * 1024 * MB
    path = tmp_path / "customization.log"
    samplelogs.write_large_log(path, size)
    actual = path.stat().st_size
    digest = hashlib.sha256()

    def hashed_chunks():
        with open(path, "rb") as fh:
            while chunk := fh.read(8 * MB):
                digest.update(chunk)
                yield chunk

    h.cloud.put_staging_blob(t.id, t.log_blob_path, hashed_chunks())
    path.unlink()
    h.cloud.set_run_status(
        t.id,
        "Failed",
        message=h.cloud.failure_message(t.id, "exit status 1"),
        start_time=_ago(hours=3),
        end_time=_ago(minutes=1),
    )
    # a fresh wrapper process runs the check, so its children's peak RSS is the check's alone (this test process's
    # own children's peak includes every earlier test's subprocesses)
    result = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS_WRAPPER, sys.executable, *MONITOR_CHECK_STREAM, t.id],
        env={**os.environ, **h.env()},
        capture_output=True,
        text=True,
        timeout=900,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    peak_kb = int(result.stderr.rsplit("peak-rss-kib=", 1)[1])
    outcome = json.loads(result.stdout)
    assert outcome["alert_sent"] and not outcome["archive_partial"]
    assert peak_kb < 400 * 1024, f"peak RSS {peak_kb} KiB for a {actual}-byte log"
    print(f"2 GB check: peak RSS of the monitor process {peak_kb / 1024:.0f} MiB for {actual} bytes")
    prefix = archived_prefix(h, t)
    back = hashlib.sha256()
    copied = 0
    for chunk in h.archive().download_blob(f"{prefix}/customization.log").chunks():
        back.update(chunk)
        copied += len(chunk)
    assert copied == actual and back.hexdigest() == digest.hexdigest()


def test_two_sweeps_never_run_at_once(harness) -> None:
    from monitor.runs import SWEEP_LEASE_KEY

    h = harness
    failed_template(h, "tpl-leased", b"log\n")
    holder, other = h.monitor(), h.monitor()
    with holder.store.lease(SWEEP_LEASE_KEY, 30):
        report = other.sweep()
        assert report.skipped_lease and report.rows == [] and h.receiver.kinds() == []
    report = other.sweep()
    assert not report.skipped_lease and report.alerts_sent == 1


def test_a_failed_template_list_forgets_nothing(harness) -> None:
    h = harness
    failed_template(h, "tpl-kept", b"log\n")
    monitor = h.monitor()
    assert monitor.sweep().alerts_sent == 1
    h.cloud.arm.inject(400, count=1, path_contains="VirtualMachineImages/imageTemplates", code="Boom")
    broken = monitor.sweep()
    assert broken.errors and broken.errors[0].startswith("listing templates")
    after = monitor.sweep()
    assert not after.errors and after.unchanged == 1 and after.alerts_sent == 0
    assert "_state/runs/" not in " ".join(after.request_paths)


def test_success_after_an_alerted_failure_is_announced_once(harness) -> None:
    h = harness
    t, _ = failed_template(h, "tpl-flaky", bytes(samplelogs.failed_customizer_log(seed=31)))
    other = h.add("tpl-always-fine")
    h.cloud.set_run_status(other.id, "Succeeded", start_time=_ago(hours=3), end_time=_ago(hours=2))
    assert h.monitor().check_template(t.id).alerts == ["build-failed"]  # an event, before any sweep
    h.cloud.set_run_status(t.id, "Succeeded", start_time=_ago(minutes=30), end_time=_ago(minutes=1), new_run=True)
    monitor = h.monitor()
    rows = {r.name: r.alerts for r in monitor.sweep().rows}
    assert rows == {"tpl-flaky": ["recovered"], "tpl-always-fine": []}
    assert monitor.sweep().alerts_sent == 0 and h.monitor().check_template(t.id).alerts == []
    recovered = [a for a in h.receiver.alerts if a["kind"] == "recovered"]
    assert len(recovered) == 1 and recovered[0]["previously_stuck"] is False


def test_user_rules_from_diagnosis_rules_decide_the_category(harness, tmp_path) -> None:
    """DIAGNOSIS_RULES reaches the monitor's diagnoses (loaded and validated once per Monitor)."""
    h = harness
    rules = tmp_path / "corp.json"
    rules.write_text(
        json.dumps(
            {
                "rules": [
                    {
                        "id": "corp-proxy-407",
                        "category": "network-config",
                        "title": "Corporate proxy refused the download",
                        "log_patterns": ["407 Proxy Authentication Required"],
                        "phase": "customize",
                        "cause": "The build subnet goes through a proxy that needs authentication.",
                        "remediation": ["Allow the build subnet through the proxy without authentication."],
                        "precedence": 95,
                    }
                ]
            }
        )
    )
    log = bytes(samplelogs.failed_customizer_log(seed=21)).replace(
        b"Script exited with non-zero exit status",
        b"curl: (56) Received HTTP code 407 Proxy Authentication Required\n[op] PACKER OUT Script exited with "
        b"non-zero exit status",
        1,
    )
    failed_template(h, "tpl-proxy", log)
    row = h.monitor(DIAGNOSIS_RULES=str(rules)).sweep().rows[0]
    assert row.category == "network-config", row
    assert h.receiver.alerts[0]["diagnosis"]["rule_id"] == "corp-proxy-407"


def test_a_bad_rules_file_fails_at_start_up_naming_the_setting(harness, tmp_path) -> None:
    from monitor.settings import SettingsError

    bad = tmp_path / "bad.json"
    bad.write_text('{"rules": [{"id": "x", "category": "no-such-category"}]}')
    with pytest.raises(SettingsError) as info:
        harness.monitor(DIAGNOSIS_RULES=str(bad))
    assert info.value.name == "DIAGNOSIS_RULES" and "bad.json" in str(info.value)
