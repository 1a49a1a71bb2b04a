"""Fixtures of the monitor's storage-level tests: Azurite with two accounts (staging, archive), per module.

The end-to-end tests use the session-wide ``local_cloud`` fixture instead; these tests need only storage.
"""

from __future__ import annotations

import os
import uuid

import pytest

from localazure.azurite import Azurite, account_key
from localazure.certs import TestCA
from localazure.webhook import WebhookReceiver
from monitor.settings import SETTING_NAMES
from monitor.storage.blob import BlobStore


@pytest.fixture(scope="module")
def monitor_azurite(tmp_path_factory):
    work = tmp_path_factory.mktemp("azurite-monitor")
    ca = TestCA.create(work / "ca")
    accounts = {"archive": account_key("archive"), "staging": account_key("staging")}
    with Azurite.start(work, ca, accounts) as server:
        yield server


def service(azurite: Azurite, account: str):
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient.from_connection_string(
        azurite.connection_string(account),
        connection_verify=str(azurite.ca.ca_bundle),
        max_single_get_size=4 * 1024 * 1024,
        max_chunk_get_size=4 * 1024 * 1024,
    )


@pytest.fixture
def archive_store(monitor_azurite) -> BlobStore:
    """A BlobStore on a fresh container of the archive account (created on first write)."""
    return BlobStore(
        service(monitor_azurite, "archive").get_container_client(f"t{uuid.uuid4().hex[:12]}"),
        block_size=1024 * 1024,
    )


@pytest.fixture
def staging_container(monitor_azurite):
    """A fresh ``packerlogs``-like container in the staging account."""
    container = service(monitor_azurite, "staging").get_container_client(f"p{uuid.uuid4().hex[:12]}")
    container.create_container()
    return container


# -- end-to-end harness on the session's LocalCloud (ARM + identity + Azurite) -------------------------------


class AlertReceiver(WebhookReceiver):
    """The local ALERT_WEBHOOK_URL receiver, its URL carrying a signature that must never be logged."""

    @property
    def url(self) -> str:
        return super().url + "?sig=not-a-real-secret"

    def kinds(self, template_name: str | None = None) -> list[str]:
        return [a["kind"] for a in self.alerts if template_name is None or a["template_name"] == template_name]


@pytest.fixture
def alert_receiver():
    receiver = AlertReceiver().start()
    yield receiver
    receiver.stop()


class Harness:
    """One test's own subscription in the session's local cloud, archive container and alert receiver."""

    def __init__(self, cloud, subscription_id: str, receiver: AlertReceiver, tmp_path) -> None:
        self.cloud = cloud
        self.receiver = receiver
        self.tag = uuid.uuid4().hex[:8]
        self.subscription_id = subscription_id
        self.rg = f"rg-{self.tag}"
        self.container = f"arch-{self.tag}"
        self.tmp_path = tmp_path
        self.monitors: list = []

    def env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
        env.update(self.cloud.env(self.subscription_id))
        env.update(
            {
                "ARCHIVE_CONTAINER": self.container,
                "ALERT_WEBHOOK_URL": self.receiver.url,
                "ALERT_DIR": str(self.tmp_path / "alerts"),
            }
        )
        env.update(overrides)
        return env

    def settings(self, **overrides: str):
        from monitor.settings import Settings

        return Settings.from_env(self.env(**overrides))

    def monitor(self, *, clock=None, copy_mode: str = "auto", **overrides: str):
        from monitor.app import Monitor

        m = Monitor.from_settings(self.settings(**overrides), clock=clock, copy_mode=copy_mode)
        self.monitors.append(m)
        return m

    def add(self, name: str, **kwargs):
        return self.cloud.add_template(self.rg, name, subscription_id=self.subscription_id, **kwargs)

    def archive(self):
        """The archive container, read with the account key (assertions only)."""
        return self.cloud.blob_service(self.cloud.archive_account).get_container_client(self.container)

    def archived(self) -> dict[str, int]:
        return {b.name: b.size for b in self.archive().list_blobs() if not b.name.startswith("_")}

    def close(self) -> None:
        for m in self.monitors:
            m.close()


@pytest.fixture
def harness(local_cloud, cloud_env, fresh_subscription, alert_receiver, tmp_path):
    """The shared LocalCloud seen through the test's own subscription (``cloud_env`` sets the process
    environment DefaultAzureCredential and requests read)."""
    h = Harness(local_cloud, fresh_subscription, alert_receiver, tmp_path)
    yield h
    h.close()
