"""Deadlines on the local stand-ins: a dead identity endpoint ends a sweep at once, an unhealthy staging account
holds one template (not the others), and a sweep stops at its budget."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from localazure import samplelogs

LOG = bytes(samplelogs.failed_customizer_log(seed=5))


def _ago(**delta) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def failed(h, name: str, *, unhealthy: bool = False):
    """A failed run whose log sits in its staging account (an account answering 503 to everything when
    ``unhealthy``)."""
    t = h.add(name)
    if unhealthy:
        h.cloud.front_staging(t.id, scheme="https")
    h.cloud.put_staging_blob(t.id, t.log_blob_path, LOG)
    message = h.cloud.failure_message(t.id, "Packer build command has failed: exit status 1")
    h.cloud.set_run_status(t.id, "Failed", message=message, start_time=_ago(minutes=50), end_time=_ago(minutes=2))
    if unhealthy:
        h.cloud.gate(t.id).fail(h.cloud.storage_account(t.id), 503)
    return t


@pytest.fixture(autouse=True)
def short_backoff(monkeypatch):
    """Blob retries as in production (same count), with shorter waits between them."""
    import monitor.azure.clients as clients

    monkeypatch.setattr(clients, "BLOB_BACKOFF_SECONDS", 0.2)
    monkeypatch.setattr(clients, "BLOB_BACKOFF_BASE", 1.5)
    monkeypatch.setattr(clients, "BLOB_JITTER_SECONDS", 0.1)


def _wait_for_workers(seconds: float = 60) -> None:
    """Templates still handled after a sweep returned (past its budget) finish before the next test."""
    deadline = time.monotonic() + seconds
    while any(t.name.startswith("sweep-template") for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.2)


def test_a_dead_identity_endpoint_ends_the_sweep_within_30_seconds(harness) -> None:
    h = harness
    failed(h, "tpl-waiting")
    monitor = h.monitor()
    h.cloud.identity.inject(500, count=1_000_000)
    try:
        started = time.monotonic()
        report = monitor.sweep()
        elapsed = time.monotonic() - started
    finally:
        h.cloud.identity.clear_faults()
    assert elapsed <= 30, elapsed
    assert report.list_error is not None and report.errors[0].startswith("listing templates: ClientAuthentication")
    assert report.rows == [] and not h.archive().exists()  # nothing created, not even the container
    # The identity is back: the next sweep does the work.
    assert h.monitor().sweep().alerts_sent == 1


def test_an_unhealthy_staging_account_holds_one_template_not_the_sweep(harness) -> None:
    h = harness
    sick = failed(h, "tpl-sick", unhealthy=True)
    well = [failed(h, f"tpl-well-{i}") for i in range(3)]
    started = time.monotonic()
    report = h.monitor().sweep()
    elapsed = time.monotonic() - started
    rows = {r.name: r for r in report.rows}
    assert [rows[t.name].alerts for t in well] == [["build-failed"]] * 3
    assert rows[sick.name].state == "error" and "ServerBusy" in (rows[sick.name].error or ""), rows[sick.name]
    assert elapsed < 60, elapsed
    h.cloud.gate(sick.id).fail(h.cloud.storage_account(sick.id), None)
    again = h.monitor().sweep()
    assert {r.name: r.alerts for r in again.rows}[sick.name] == ["build-failed"]


def test_a_sweep_stops_waiting_at_its_budget(harness) -> None:
    h = harness
    sick = failed(h, "tpl-slow-account", unhealthy=True)
    try:
        started = time.monotonic()
        report = h.monitor(SWEEP_BUDGET_MINUTES="0.02").sweep()  # 1.2 s; the sick account takes longer to give up
        elapsed = time.monotonic() - started
        (row,) = report.rows
        assert row.name == sick.name and row.state == "error" and "SWEEP_BUDGET_MINUTES" in (row.error or "")
        assert 1 <= elapsed < 8, elapsed
        # The abandoned template sends no request after the budget: its worker ends at its next call.
        _wait_for_workers(5)
        assert not any(t.name.startswith("sweep-template") for t in threading.enumerate())
    finally:
        _wait_for_workers()
    # It released its claim on the run: once the account is healthy, the next sweep does the work.
    h.cloud.gate(sick.id).fail(h.cloud.storage_account(sick.id), None)
    assert [r.alerts for r in h.monitor().sweep().rows] == [["build-failed"]]


def test_the_default_sweep_budget_is_well_under_the_function_timeout() -> None:
    import json
    from pathlib import Path

    from monitor.settings import Settings

    host = json.loads((Path(__file__).resolve().parents[2] / "host.json").read_text())
    hours, minutes, seconds = (int(p) for p in host["functionTimeout"].split(":"))
    assert Settings().sweep_budget_minutes * 60 <= (hours * 3600 + minutes * 60 + seconds) / 2
    assert Settings.from_env({}).sweep_budget_minutes == 5.0
