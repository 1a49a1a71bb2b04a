"""The outbox where it lives in production: the archive account (BlobStore on Azurite)."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import replace

import pytest

from devtools.samples import sample_alert
from localazure.azurite import Azurite, AzuriteError, account_key
from localazure.certs import TestCA
from monitor.alerts import AlertDispatcher
from monitor.alerts.model import BUILD_FAILED, BUILD_STUCK
from monitor.alerts.outbox import Outbox
from monitor.alerts.retry import Retrier
from monitor.settings import Settings
from monitor.storage.blob import BlobStore

from .conftest import FAST, Reply


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    work = tmp_path_factory.mktemp("azurite-alerts")
    try:
        server = Azurite.start(work, TestCA.create(work / "ca"), {"archive": account_key("archive")})
    except AzuriteError as exc:  # node_modules missing: say so instead of failing obscurely
        pytest.skip(f"Azurite unavailable: {exc}")
    with server:
        yield server


@pytest.fixture
def blob_store(azurite) -> BlobStore:
    from azure.storage.blob import BlobServiceClient

    client = BlobServiceClient.from_connection_string(
        azurite.connection_string("archive"), connection_verify=str(azurite.ca.ca_bundle)
    )
    return BlobStore(client.get_container_client(f"o{uuid.uuid4().hex[:12]}"))


def dispatcher(url: str, store: BlobStore, **kw) -> AlertDispatcher:
    return AlertDispatcher.from_settings(
        Settings.from_env({"ALERT_WEBHOOK_URL": url}), store, retrier=Retrier(FAST), **kw
    )


def runs(n: int):
    alert = sample_alert(BUILD_FAILED)
    return [replace(alert, run_key=f"{alert.template_id}|2026-11-27T1{i}:00:00Z") for i in range(n)]


def test_outage_then_exactly_once_from_blob_outbox(receiver, blob_store):
    hook = receiver(Reply(429, headers={"Retry-After": "0"}))
    first = dispatcher(hook.url, blob_store)
    alerts = [*runs(4), sample_alert(BUILD_STUCK)]
    for alert in alerts:
        assert first.send(alert).queued == ["webhook"]
    first.send(alerts[0])  # handed over twice: still one outbox entry
    assert len(Outbox(blob_store)) == 5

    hook.fail(Reply(500))
    assert dispatcher(hook.url, blob_store).flush_outbox().waiting == 5

    hook.recover()
    hook.default = Reply(202, delay=0.05)
    flushers = [dispatcher(hook.url, blob_store) for _ in range(3)]
    threads = [threading.Thread(target=f.flush_outbox) for f in flushers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    delivered = sorted((r.json["run_key"], r.json["kind"]) for r in hook.accepted)
    assert delivered == sorted((a.run_key, a.kind) for a in alerts)
    assert json.loads(hook.accepted[0].body)["category"] in ("customizer-failed", "interactive-prompt")
    report = dispatcher(hook.url, blob_store).flush_outbox()
    assert report.waiting == 0 and report.delivered == 0 and len(hook.accepted) == 5


def test_bounded_blob_outbox_keeps_dropped_alerts_as_dead_letters(refused_url, blob_store):
    d = dispatcher(refused_url, blob_store, max_outbox=2)
    for alert in runs(3):
        d.send(alert)
    outbox = Outbox(blob_store)
    assert len(outbox) == 2 and len(outbox.dead_letter_keys()) == 1
    dead = json.loads(blob_store.get(outbox.dead_letter_keys()[0]).data)
    assert dead["alert"]["run_key"].endswith("2026-11-27T10:00:00Z") and "outbox full" in dead["reason"]
