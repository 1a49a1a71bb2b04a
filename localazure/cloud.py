"""``LocalCloud``: a small Azure subscription on this machine for tests, the demo and benchmarks.

It starts a test certificate, the managed-identity endpoint (``localazure.identity``), the HTTPS ARM endpoint
(``localazure.arm``) and Azurite (``localazure.azurite``) with an archive account and a pool of staging
accounts, and offers methods to play Image Builder: add templates (with their ``IT_...`` staging group and
staging storage account holding ``packerlogs``), change their run status, write and grow logs, set
container-instance logs and delete templates the way Image Builder does (staging group and its storage go with
it).

Cheap at scale: a template only holds Python dicts in the ARM state. Azurite accounts are declared when
Azurite starts (``staging_accounts``) and are bound to templates from that pool: eagerly while free accounts
remain (``add_template(storage=None)``, the default), otherwise lazily on the template's first
``put_staging_blob`` / ``append_staging_blob`` / ``staging_blob_url`` / ``failure_message``; ``storage=False``
never binds eagerly, ``storage=True`` insists (``PoolExhausted`` when the pool is empty, as for a lazy bind).
A template without a bound account has a staging group with no storage account in ARM. ``delete_template``
deletes the account's containers and returns it to the pool. For 2,000 templates with 25 logs, start with
``staging_accounts=32`` and ``storage=False`` for the templates that have no log.

Isolation: several subscriptions can live in one cloud (``new_subscription()``); each test can take its own,
so a sweep of "the subscription" sees only that test's templates. ``reset()`` clears everything instead.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient

from .arm import ArmServer
from .armstate import ArmState, ContainerGroup, ResourceGroup, StorageAccount, resource_key
from .azurite import Azurite, StorageRequest, account_key
from .blocks import append_blob, put_blob
from .certs import TestCA
from .identity import IdentityServer
from .storagegate import StorageGate
from .templates import (
    LOG_CONTAINER,
    LocalTemplate,
    deep_copy,
    default_properties,
    next_run_status,
    provisioning_error_body,
    run_outputs,
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


class PoolExhausted(RuntimeError):
    """No free staging account is left; start LocalCloud with more ``staging_accounts``."""


class UnknownTemplate(KeyError):
    """No template with that id in the local cloud."""


class LocalCloud:
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

    def update_template(
        self,
        template_id: str,
        *,
        provisioning_state: str | None = None,
        provisioning_error: dict[str, Any] | str | None = None,
        properties: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        """Change served fields (``properties`` merged shallowly; ``provisioning_error=""`` removes it)."""
        t = self.template(template_id)
        with self.state.lock:
            body = self.state.template(t.subscription_id, t.resource_group, t.name)
            if body is None:
                raise UnknownTemplate(template_id)
            props = body["properties"]
            props.update(properties or {})
            if provisioning_state is not None:
                props["provisioningState"] = provisioning_state
            if provisioning_error == "":
                props.pop("provisioningError", None)
            elif provisioning_error is not None:
                props["provisioningError"] = provisioning_error_body(provisioning_error)
            if tags is not None:
                body["tags"] = dict(tags)

    def set_run_status(
        self,
        template_id: str,
        run_state: str = "Running",
        run_sub_state: str | None = None,
        message: str = "",
        start_time: dt.datetime | str | None = None,
        end_time: dt.datetime | str | None = None,
        *,
        new_run: bool = False,
    ) -> dict[str, Any]:
        """Set ``lastRunStatus`` (returns it). Running/Canceling runs get ``endTime`` 0001-01-01.

        ``startTime``: ``start_time`` when given; otherwise the previous run's start is kept (the same run
        moving on, e.g. Running -> Failed, or the same state set again), while Running after a finished run,
        a finished state other than the last one (Failed -> Succeeded) or ``new_run=True`` start a new run
        now. ``new_run=True`` also starts a new log folder (``t.log_blob_path`` changes). A
        Succeeded run gets run outputs for every ``distribute`` target."""
        t = self.template(template_id)
        if new_run:
            t.log_folder = uuid.uuid4().hex[:8]
        with self.state.lock:
            body = self.state.template(t.subscription_id, t.resource_group, t.name)
            if body is None:
                raise UnknownTemplate(template_id)
            previous = body["properties"].get("lastRunStatus") or {}
            status = next_run_status(previous, run_state, run_sub_state, message, start_time, end_time, new_run=new_run)
            body["properties"]["lastRunStatus"] = status
            key = resource_key(t.subscription_id, t.resource_group, t.name)
            if run_state.lower() == "succeeded":
                self.state.run_outputs[key] = run_outputs(t, body["properties"].get("distribute") or [])
            else:
                self.state.run_outputs.pop(key, None)
            return dict(status)

    def failure_message(self, template_id: str, error: str, *, blob_path: str | None = None) -> str:
        """A ``lastRunStatus.message`` like Image Builder's, naming the log URL of this template."""
        t = self.template(template_id)
        url = self.staging_blob_url(template_id, blob_path or t.log_blob_path)
        return (
            f"{error}. Image Build log location: {url}. OperationId: {uuid.uuid4()}. "
            "Use this operationId to search packer logs."
        )

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

    # -- staging storage --
    def _bind_storage(self, template: LocalTemplate) -> str:
        with self._lock:
            if template.storage_account:
                return template.storage_account
            if not self._free_accounts:
                raise PoolExhausted(
                    f"all {len(self.staging_account_names)} staging accounts are in use; "
                    "start LocalCloud with more staging_accounts or add templates with storage=False"
                )
            account = self._free_accounts.pop(0)
            template.storage_account = account
        assert self.azurite is not None
        self.state.storage_accounts[resource_key(template.subscription_id, template.staging_group, account)] = (
            StorageAccount(
                template.subscription_id,
                template.staging_group,
                account,
                blob_endpoint=self.azurite.account_url(account) + "/",
                keys=(self.azurite.accounts[account], account_key(account, "secondary")),
            )
        )
        container = self.blob_service(account).get_container_client(LOG_CONTAINER)
        try:
            container.create_container()
        except ResourceExistsError:
            pass
        return account

    def _release(self, account: str) -> None:
        gate = self._fronted.pop(account, None)
        if gate is not None:
            gate.deny_bearer.discard(account)
            gate.fail(account, None)
        service = self.blob_service(account)
        for container in service.list_containers():
            service.delete_container(container.name)
        with self._lock:
            if account not in self._free_accounts:
                self._free_accounts.append(account)

    def storage_account(self, template_id: str) -> str:
        """The template's staging account, binding one from the pool if needed."""
        return self._bind_storage(self.template(template_id))

    def staging_account_url(self, template_id: str) -> str:
        """The blob endpoint of the template's staging account as ARM serves it (no trailing slash)."""
        assert self.azurite is not None
        account = self.storage_account(template_id)
        gate = self._fronted.get(account)
        return gate.account_url(account) if gate is not None else self.azurite.account_url(account)

    def staging_blob_url(self, template_id: str, path: str) -> str:
        """``https://127.0.0.1:<port>/<account>/<container>/<blob>`` of a staging blob (no SAS); through its
        gate when ``front_staging`` put one in front."""
        return f"{self.staging_account_url(template_id)}/{path.lstrip('/')}"

    def front_staging(
        self, template_id: str, *, scheme: str = "http", host: str = "127.0.0.1", deny_bearer: bool = False
    ) -> str:
        """Make the template's staging account look like another storage service (``localazure.storagegate``):
        its ``primaryEndpoints.blob`` (and the URLs ``failure_message`` writes) point at a gate on ``scheme``
        (``http``: an emulator where bearer tokens cannot be used) and ``host`` (``127.0.0.1`` or
        ``localhost``); ``deny_bearer`` answers identity (bearer) requests with 403
        AuthorizationPermissionMismatch, like an identity without a data role. Returns the account URL. The
        account is restored when it goes back to the pool."""
        if scheme not in ("http", "https") or host not in ("127.0.0.1", "localhost"):
            raise ValueError("scheme must be http or https and host 127.0.0.1 or localhost")
        assert self.azurite is not None and self.ca is not None, "LocalCloud not started"
        t = self.template(template_id)
        account = self._bind_storage(t)
        with self._lock:
            gate = self._gates.get((scheme == "https", host))
            if gate is None:
                gate = StorageGate(self.azurite.base_url, self.ca, tls=scheme == "https", host=host).start()
                self._gates[(scheme == "https", host)] = gate
            self._fronted[account] = gate
        if deny_bearer:
            gate.deny_bearer.add(account)
        else:
            gate.deny_bearer.discard(account)
        key = resource_key(t.subscription_id, t.staging_group, account)
        with self.state.lock:
            self.state.storage_accounts[key].blob_endpoint = gate.account_url(account) + "/"
        return gate.account_url(account)

    def gate(self, template_id: str) -> StorageGate | None:
        """The gate in front of the template's staging account, if any (its ``requests`` show the auth used)."""
        return self._fronted.get(self.storage_account(template_id))

    def _blob(self, template_id: str, path: str):  # -> BlobClient
        account = self.storage_account(template_id)
        container, _, blob = path.lstrip("/").partition("/")
        if not blob:
            raise ValueError(
                f"blob path {path!r} must be <container>/<blob>, e.g. packerlogs/<folder>/customization.log"
            )
        container_client = self.blob_service(account).get_container_client(container)
        if container != LOG_CONTAINER:
            try:
                container_client.create_container()
            except ResourceExistsError:
                pass
        return container_client.get_blob_client(blob)

    def put_staging_blob(self, template_id: str, path: str, data: bytes | str | BinaryIO | Iterable[bytes]) -> int:
        """Write (replace) a staging blob from bytes, text, a binary file or an iterable of chunks, streamed
        in 8 MiB blocks (memory stays bounded for multi-GB blobs). Returns the size written. Azurite takes
        about 35-45 MiB/s here (2 cores), so a 2 GB blob costs about a minute to set up."""
        return put_blob(self._blob(template_id, path), data)

    def append_staging_blob(self, template_id: str, path: str, data: bytes | str | Iterable[bytes]) -> int:
        """Append to a staging blob (created when missing) as a live log grows: the new bytes are staged as
        blocks and committed after the existing ones, so the ETag and size change like a re-upload. Returns
        the new size."""
        return append_blob(self._blob(template_id, path), data)

    def read_staging_blob(self, template_id: str, path: str) -> bytes:
        return self._blob(template_id, path).download_blob().readall()

    def delete_staging_blob(self, template_id: str, path: str) -> None:
        self._blob(template_id, path).delete_blob()

    # -- container instance logs (live output of a running build) --
    def set_container_logs(self, template_id: str, text: str, *, container: str = "packerizercontainer") -> str:
        """Create/update ``vmimagebuilder-build-container-<hex>`` in the staging group; returns its name."""
        t = self.template(template_id)
        with self.state.lock:
            if t.container_group is None:
                t.container_group = f"vmimagebuilder-build-container-{uuid.uuid4().hex[:12]}"
            key = resource_key(t.subscription_id, t.staging_group, t.container_group)
            group = self.state.container_groups.get(key)
            if group is None:
                group = ContainerGroup(t.subscription_id, t.staging_group, t.container_group)
                self.state.container_groups[key] = group
            group.logs[container] = text
        return t.container_group

    def delete_container_group(self, template_id: str) -> None:
        t = self.template(template_id)
        with self.state.lock:
            if t.container_group:
                key = resource_key(t.subscription_id, t.staging_group, t.container_group)
                self.state.container_groups.pop(key, None)
                t.container_group = None
