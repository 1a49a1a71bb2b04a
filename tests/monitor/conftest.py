"""Fixtures of the monitor's storage-level tests: Azurite with two accounts (staging, archive), per module.

The end-to-end tests use the session-wide ``local_cloud`` fixture instead; these tests need only storage.
"""

from __future__ import annotations

import uuid

import pytest

from localazure.azurite import Azurite, account_key
from localazure.certs import TestCA
from monitor.blobstore import BlobStore


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
        azurite.connection_string(account), connection_verify=str(azurite.ca.ca_bundle),
        max_single_get_size=4 * 1024 * 1024, max_chunk_get_size=4 * 1024 * 1024,
    )


@pytest.fixture
def archive_store(monitor_azurite) -> BlobStore:
    """A BlobStore on a fresh container of the archive account (created on first write)."""
    return BlobStore(service(monitor_azurite, "archive").get_container_client(f"t{uuid.uuid4().hex[:12]}"),
                     block_size=1024 * 1024)


@pytest.fixture
def staging_container(monitor_azurite):
    """A fresh ``packerlogs``-like container in the staging account."""
    container = service(monitor_azurite, "staging").get_container_client(f"p{uuid.uuid4().hex[:12]}")
    container.create_container()
    return container
