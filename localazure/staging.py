"""The staging storage accounts of ``LocalCloud``'s templates: a pool of Azurite accounts bound to templates
on first use, the blobs Image Builder writes there (``packerlogs/<folder>/customization.log``), and gates that
make an account look like another storage service (``localazure.storagegate``)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, BinaryIO

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient, ContainerClient

from .armstate import ArmState, StorageAccount, resource_key
from .azurite import Azurite, account_key
from .blocks import append_blob, put_blob
from .storagegate import StorageGate
from .templates import LOG_CONTAINER, LocalTemplate

if TYPE_CHECKING:
    from .certs import TestCA


class PoolExhausted(RuntimeError):
    """No free staging account is left; start LocalCloud with more ``staging_accounts``."""


class StagingStorage:
    """``LocalCloud``'s staging-storage methods; the cloud provides the attributes and the two lookups declared here."""

    azurite: Azurite | None
    ca: TestCA | None
    state: ArmState
    staging_account_names: list[str]
    _lock: threading.RLock
    _free_accounts: list[str]
    _gates: dict[tuple[bool, str], StorageGate]
    _fronted: dict[str, StorageGate]

    if TYPE_CHECKING:

        def template(self, template_id: str) -> LocalTemplate: ...

        def blob_service(self, account: str) -> BlobServiceClient: ...

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
        _ensure_container(self.blob_service(account).get_container_client(LOG_CONTAINER))
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
        if container != LOG_CONTAINER:  # the log container exists from the account's binding on
            _ensure_container(container_client)
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


def _ensure_container(container: ContainerClient) -> None:
    with contextlib.suppress(ResourceExistsError):
        container.create_container()
