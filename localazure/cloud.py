"""``LocalCloud``: a small Azure subscription on this machine for tests, the demo and benchmarks.

It starts a test certificate, the managed-identity endpoint (``localazure.identity``), the HTTPS ARM endpoint
(``localazure.arm``) and Azurite (``localazure.azurite``) with an archive account and a pool of staging
accounts, and offers methods to play Image Builder: add templates (with their ``IT_...`` staging group and
staging storage account holding ``packerlogs``), change their run status, write and grow logs, set
container-instance logs (``localazure.runs``) and delete templates the way Image Builder does (staging group and
its storage go with it).

Cheap at scale: a template only holds Python dicts in the ARM state. Azurite accounts are declared when
Azurite starts (``staging_accounts``) and are bound to templates from that pool (``localazure.staging``):
eagerly while free accounts remain (``add_template(storage=None)``, the default), otherwise lazily on the template's
first ``put_staging_blob`` / ``append_staging_blob`` / ``staging_blob_url`` / ``failure_message``;
``storage=False`` never binds eagerly, ``storage=True`` insists (``PoolExhausted`` when the pool is empty, as for a
lazy bind).
A template without a bound account has a staging group with no storage account in ARM. ``delete_template``
deletes the account's containers and returns it to the pool. For 2,000 templates with 25 logs, start with
``staging_accounts=32`` and ``storage=False`` for the templates that have no log.

Isolation: several subscriptions can live in one cloud (``new_subscription()``); each test can take its own,
so a sweep of "the subscription" sees only that test's templates. ``reset()`` clears everything instead.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from azure.storage.blob import BlobServiceClient

from .arm import ArmServer
from .armstate import ArmState, ResourceGroup
from .azurite import Azurite, StorageRequest, account_key
from .certs import TestCA
from .identity import IdentityServer
from .runs import TemplateRuns
from .staging import StagingStorage
from .storagegate import StorageGate
from .templates import (
    LocalTemplate,
    UnknownTemplate,
    deep_copy,
    default_properties,
    provisioning_error_body,
    staging_group_name,
    template_body,
)
from .tokens import TokenIssuer

log = logging.getLogger(__name__)

ARCHIVE_ACCOUNT = "aibarchive"
STAGING_PREFIX = "aibstaging"

# Variables that would make DefaultAzureCredential pick another credential than the local managed-identity
# endpoint (or another identity endpoint): whoever points a process at a LocalCloud clears them first.
CREDENTIAL_VARIABLES = (
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
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
)


class LocalCloud(StagingStorage, TemplateRuns):
    """See the module docstring. ``with LocalCloud(workdir) as cloud: ...`` or ``start()`` / ``stop()``."""

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        staging_accounts: int = 4,
        page_size: int = 100,
        subscription_id: str | None = None,
    ) -> None:
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="localazure-"))
        self.subscription_id = subscription_id or str(uuid.uuid4())
        self.staging_account_names = [f"{STAGING_PREFIX}{i:04d}" for i in range(staging_accounts)]
        self.default_page_size = page_size
        self._lock = threading.RLock()
        self._templates: dict[str, LocalTemplate] = {}  # lower-cased id -> template
        self._free_accounts: list[str] = list(self.staging_account_names)
        self._clients: dict[str, BlobServiceClient] = {}
        self.ca: TestCA | None = None
        self.issuer = TokenIssuer()
        self.identity: IdentityServer | None = None
        self.state = ArmState()
        self.arm: ArmServer = None  # type: ignore[assignment]  # set by start()
        self.azurite: Azurite | None = None
        self.subscriptions: set[str] = {self.subscription_id}
        self._storage_mark = 0
        self._gates: dict[tuple[bool, str], StorageGate] = {}  # (tls, host) -> gate, started on first use
        self._fronted: dict[str, StorageGate] = {}  # staging account -> the gate its endpoint points at

    # -- life cycle --
    def start(self) -> LocalCloud:
        try:
            self.ca = TestCA.create(self.workdir / "certs")
            self.identity = IdentityServer(self.issuer).start()
            self.arm = ArmServer(self.state, self.issuer, self.ca, page_size=self.default_page_size).start()
            accounts = {ARCHIVE_ACCOUNT: account_key(ARCHIVE_ACCOUNT, self.subscription_id)}
            accounts.update({name: account_key(name, self.subscription_id) for name in self.staging_account_names})
            self.azurite = Azurite.start(self.workdir / "azurite", self.ca, accounts)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for gate in self._gates.values():
            gate.stop()
        self._gates.clear()
        if self.azurite is not None:
            self.azurite.stop()
            self.azurite = None
        if self.arm is not None:
            self.arm.stop()
        if self.identity is not None:
            self.identity.stop()
            self.identity = None
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- endpoints and settings --
    @property
    def arm_endpoint(self) -> str:
        return self.arm.endpoint

    @property
    def ca_bundle(self) -> Path:
        assert self.ca is not None, "LocalCloud not started"
        return self.ca.ca_bundle

    @property
    def archive_account(self) -> str:
        return ARCHIVE_ACCOUNT

    @property
    def archive_blob_url(self) -> str:
        assert self.azurite is not None, "LocalCloud not started"
        return self.azurite.account_url(ARCHIVE_ACCOUNT)

    @property
    def archive_connection_string(self) -> str:
        assert self.azurite is not None, "LocalCloud not started"
        return self.azurite.connection_string(ARCHIVE_ACCOUNT)

    def env(self, subscription_id: str | None = None, *, archive: str = "identity") -> dict[str, str]:
        """Environment for the monitor (names from monitor/settings.py) and for azure-identity / requests.

        ``archive="identity"`` sets ARCHIVE_STORAGE_URL (token auth); ``"key"`` sets
        ARCHIVE_CONNECTION_STRING.
        """
        assert self.identity is not None and self.azurite is not None, "LocalCloud not started"
        env = {
            "ARM_ENDPOINT": self.arm_endpoint,
            "AZURE_SUBSCRIPTION_ID": subscription_id or self.subscription_id,
            "REQUESTS_CA_BUNDLE": str(self.ca_bundle),
            "SSL_CERT_FILE": str(self.ca_bundle),
            **self.identity.env(),
        }
        if archive == "identity":
            env["ARCHIVE_STORAGE_URL"] = self.archive_blob_url
        elif archive == "key":
            env["ARCHIVE_CONNECTION_STRING"] = self.archive_connection_string
        else:
            raise ValueError(f"archive must be 'identity' or 'key', not {archive!r}")
        return env

    def blob_service(self, account: str) -> BlobServiceClient:
        """A key-authenticated client for an Azurite account (the cloud's own writes; assertions in tests)."""
        assert self.azurite is not None, "LocalCloud not started"
        with self._lock:
            client = self._clients.get(account)
            if client is None:
                client = BlobServiceClient.from_connection_string(
                    self.azurite.connection_string(account), connection_verify=str(self.ca_bundle)
                )
                self._clients[account] = client
            return client

    def storage_mark(self) -> int:
        """A position in Azurite's access log, for ``storage_requests(since=...)``."""
        assert self.azurite is not None, "LocalCloud not started"
        return self.azurite.log_mark()

    def storage_requests(self, since: int | None = None, *, account: str | None = None) -> list[StorageRequest]:
        """Storage requests Azurite served since ``since`` (default: the last ``reset_counts()``), optionally
        of one account. The cloud's own writes (put_staging_blob, ...) count too: take a mark after set-up."""
        assert self.azurite is not None, "LocalCloud not started"
        served = self.azurite.requests(self._storage_mark if since is None else since)
        return [r for r in served if account is None or r.account == account]

    def reset_counts(self) -> None:
        """Zero the ARM request counters and start counting storage requests from now."""
        self.arm.reset_counts()
        self._storage_mark = self.storage_mark()

    def new_subscription(self) -> str:
        """A fresh, empty subscription id served by the same ARM endpoint."""
        subscription_id = str(uuid.uuid4())
        with self._lock:
            self.subscriptions.add(subscription_id)
        return subscription_id

    # -- templates --
    def add_template(
        self,
        resource_group: str,
        name: str,
        *,
        location: str = "westeurope",
        properties: dict[str, Any] | None = None,
        provisioning_state: str = "Succeeded",
        provisioning_error: dict[str, Any] | str | None = None,
        last_run_status: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        build_timeout_minutes: int = 0,
        subscription_id: str | None = None,
        storage: bool | None = None,
        staging_group: str | None = None,
    ) -> LocalTemplate:
        """Create a template, its staging group ``IT_<rg>_<name>_<guid>`` (tagged like Image Builder's) and,
        per ``storage``, bind a staging account with an empty ``packerlogs`` container. ``staging_group``: the
        template's own ``stagingResourceGroup`` instead (a group of that name, without Image Builder's tags)."""
        subscription_id = subscription_id or self.subscription_id
        with self._lock:
            self.subscriptions.add(subscription_id)
        guid = str(uuid.uuid4())
        group = staging_group or staging_group_name(resource_group, name, guid)
        template = LocalTemplate(subscription_id, resource_group, name, group)
        if self.state.template(subscription_id, resource_group, name) is not None:
            raise ValueError(f"template {template.id} exists already")
        self.state.put_resource_group(ResourceGroup(subscription_id, resource_group, location))
        self.state.put_resource_group(
            ResourceGroup(
                subscription_id,
                template.staging_group,
                location,
                tags={}
                if staging_group
                else {
                    "createdBy": "AzureVMImageBuilder",
                    "imageTemplateName": name,
                    "imageTemplateResourceGroupName": resource_group,
                },
            )
        )
        props = default_properties(subscription_id, resource_group, name, location)
        props.update(properties or {})
        props["buildTimeoutInMinutes"] = build_timeout_minutes
        props["provisioningState"] = provisioning_state
        if provisioning_error is not None:
            props["provisioningError"] = provisioning_error_body(provisioning_error)
        if last_run_status is not None:
            props["lastRunStatus"] = dict(last_run_status)
        identity = {"clientId": self.issuer.client_id, "principalId": self.issuer.principal_id}
        body = template_body(
            template, location, props, tags=tags, identity=identity, own_staging_group=bool(staging_group)
        )
        with self._lock:
            self._templates[template.id.lower()] = template
        self.state.put_template(subscription_id, resource_group, body)
        if storage or (storage is None and self._free_accounts):
            self._bind_storage(template)
        return template

    def template(self, template_id: str) -> LocalTemplate:
        with self._lock:
            try:
                return self._templates[template_id.lower()]
            except KeyError:
                raise UnknownTemplate(template_id) from None

    def templates(self, subscription_id: str | None = None) -> list[LocalTemplate]:
        with self._lock:
            return [t for t in self._templates.values() if subscription_id in (None, t.subscription_id)]

    def template_json(self, template_id: str) -> dict[str, Any]:
        """A copy of the template's ARM JSON as served."""
        t = self.template(template_id)
        with self.state.lock:
            body = self.state.template(t.subscription_id, t.resource_group, t.name)
            if body is None:
                raise UnknownTemplate(template_id)
            return deep_copy(body)

    def delete_template(self, template_id: str) -> None:
        """Delete the template like Image Builder: its staging group, storage and container group go too."""
        t = self.template(template_id)
        with self._lock:
            self._templates.pop(template_id.lower(), None)
        self.state.delete_template(t.subscription_id, t.resource_group, t.name)
        self.state.delete_resource_group(t.subscription_id, t.staging_group, templates=False)
        account, t.storage_account, t.container_group = t.storage_account, None, None
        if account:
            self._release(account)

    def delete_subscription(self, subscription_id: str) -> None:
        """Delete every template and resource group of a subscription (test teardown)."""
        for t in self.templates(subscription_id):
            self.delete_template(t.id)
        with self.state.lock:
            for key in [k for k in self.state.resource_groups if k[0] == subscription_id.lower()]:
                group = self.state.resource_groups[key]
                self.state.delete_resource_group(group.subscription_id, group.name)

    def reset(self, *, archive: bool = True) -> None:
        """Back to an empty cloud: no templates, no faults, hooks or counts, default page size; the archive
        account's containers are deleted when ``archive``."""
        self.arm.clear_faults()
        self.arm.clear_hooks()
        for subscription_id in list(self.subscriptions):
            self.delete_subscription(subscription_id)
        self.arm.page_size = self.default_page_size
        if archive:
            service = self.blob_service(ARCHIVE_ACCOUNT)
            for container in service.list_containers():
                service.delete_container(container.name)
        self.reset_counts()
