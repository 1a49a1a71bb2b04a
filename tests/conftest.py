"""Shared fixtures: one local Azure (``localazure.LocalCloud``) per test session.

- ``local_cloud``: session-scoped LocalCloud (HTTPS ARM endpoint, managed-identity endpoint, Azurite over
  HTTPS with an archive account and a pool of staging accounts). It fails loudly when Azurite cannot start:
  run ``make setup`` (``npm ci``) first.
- ``cloud_env``: the environment of ``local_cloud.env()`` set for one test (REQUESTS_CA_BUNDLE, SSL_CERT_FILE,
  IDENTITY_ENDPOINT, IDENTITY_HEADER, ARM_ENDPOINT, AZURE_SUBSCRIPTION_ID = the test's own subscription,
  ARCHIVE_STORAGE_URL), with variables that would steer DefaultAzureCredential elsewhere removed. Returns the
  dict.
- ``fresh_subscription``: a subscription id of the test's own in the shared cloud; everything in it
  (templates, staging groups, staging accounts go back to the pool) is deleted after the test. Tests that list
  "the subscription" see only their own templates.
"""

from __future__ import annotations

import pytest

from localazure import LocalCloud

# Variables that make DefaultAzureCredential pick another credential before ManagedIdentityCredential, or make
# the monitor read another archive.
_CREDENTIAL_STEERING = (
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_USERNAME",
    "AZURE_PASSWORD",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "ARCHIVE_CONNECTION_STRING",
    "ARCHIVE_DIR",
)

STAGING_ACCOUNTS = 32


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory) -> LocalCloud:
    with LocalCloud(tmp_path_factory.mktemp("localazure"), staging_accounts=STAGING_ACCOUNTS) as cloud:
        yield cloud


@pytest.fixture
def fresh_subscription(local_cloud: LocalCloud) -> str:
    subscription_id = local_cloud.new_subscription()
    yield subscription_id
    local_cloud.delete_subscription(subscription_id)


@pytest.fixture
def cloud_env(local_cloud: LocalCloud, fresh_subscription: str, monkeypatch) -> dict[str, str]:
    for name in _CREDENTIAL_STEERING:
        monkeypatch.delenv(name, raising=False)
    env = local_cloud.env(fresh_subscription)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env
