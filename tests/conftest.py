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
- after every test, ARM and identity faults and ARM request hooks are dropped and the page size restored.
"""

from __future__ import annotations

import multiprocessing

import pytest

from localazure import CREDENTIAL_VARIABLES, LocalCloud

# Besides the credential variables, these would make the monitor read another archive.
_ARCHIVE_STEERING = ("ARCHIVE_CONNECTION_STRING", "ARCHIVE_DIR")

STAGING_ACCOUNTS = 32


_CLOUD_KEY = pytest.StashKey[LocalCloud]()


def pytest_configure(config: pytest.Config) -> None:
    """When pytest-xdist starts workers (``-n``), the controlling process compiles the built-in knowledge base's
    scanning automaton once (both modes) into the disk cache, so the workers load it instead of each compiling it
    (``diagnosis.scan.hs_compile``). The two modes compile at the same time, the log mode's in a forked child: each
    takes about ten seconds of one core. A run without workers compiles it at its first scan, if it scans at all."""
    if hasattr(config, "workerinput") or not config.getoption("numprocesses", default=None):
        return
    from diagnosis import load_knowledge_base
    from diagnosis.scan import hs_backend
    from diagnosis.scan.core import build_table

    if hs_backend.available():
        kb = load_knowledge_base(use_env=False)  # loaded once: the forked child shares it
        child = multiprocessing.get_context("fork").Process(
            target=lambda: hs_backend.compiled_for(build_table(kb, False))
        )
        child.start()
        hs_backend.compiled_for(build_table(kb, True))
        child.join()


@pytest.fixture(scope="session")
def local_cloud(request, tmp_path_factory) -> LocalCloud:
    with LocalCloud(tmp_path_factory.mktemp("localazure"), staging_accounts=STAGING_ACCOUNTS) as cloud:
        request.config.stash[_CLOUD_KEY] = cloud
        yield cloud
        del request.config.stash[_CLOUD_KEY]


@pytest.fixture(autouse=True)
def _reset_arm_test_controls(request):
    """After every test, drop the ARM faults and hooks it left and restore the page size, so one test's
    throttling cannot leak into the next (templates are isolated by ``fresh_subscription`` instead)."""
    yield
    cloud = request.config.stash.get(_CLOUD_KEY, None)
    if cloud is not None:
        cloud.arm.clear_faults()
        cloud.arm.clear_hooks()
        cloud.arm.page_size = cloud.default_page_size
        cloud.identity.clear_faults()


@pytest.fixture
def fresh_subscription(local_cloud: LocalCloud) -> str:
    subscription_id = local_cloud.new_subscription()
    yield subscription_id
    local_cloud.delete_subscription(subscription_id)


@pytest.fixture
def cloud_env(local_cloud: LocalCloud, fresh_subscription: str, monkeypatch) -> dict[str, str]:
    for name in (*CREDENTIAL_VARIABLES, *_ARCHIVE_STEERING):
        monkeypatch.delenv(name, raising=False)
    env = local_cloud.env(fresh_subscription)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env
