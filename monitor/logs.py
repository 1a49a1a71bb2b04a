"""Find a run's logs in its staging resource group and read them (identity or account key), plus the live
container output of a running build.

Where the log is: the URL in the failure message (``.../packerlogs/<folder>/customization.log``); otherwise
the staging group's storage account (ARM ``storageAccounts`` list → ``primaryEndpoints.blob``) → container
``packerlogs`` → the folder whose ``customization.log`` changed last. ``validation.log`` sits beside it.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

PACKERLOGS = "packerlogs"
CUSTOMIZATION_LOG = "customization.log"
VALIDATION_LOG = "validation.log"
BUILD_CONTAINER_PREFIX = "vmimagebuilder-build-container"

_LOG_URL = re.compile(
    r"(https?://[^\s\"'<>]+?)/" + PACKERLOGS + r"/([^\s\"'<>?#]+?)/" + re.escape(CUSTOMIZATION_LOG)
)


@dataclass(frozen=True)
class LogLocation:
    account_url: str  # https://<account>.blob.core.windows.net  or  https://127.0.0.1:<port>/<account>
    folder: str
    container: str = PACKERLOGS

    @property
    def customization_blob(self) -> str:
        return f"{self.folder}/{CUSTOMIZATION_LOG}"

    @property
    def validation_blob(self) -> str:
        return f"{self.folder}/{VALIDATION_LOG}"

    @property
    def url(self) -> str:
        return f"{self.account_url}/{self.container}/{self.customization_blob}"

    @property
    def account_name(self) -> str:
        return account_name_of(self.account_url)


def account_name_of(account_url: str) -> str:
    parts = urlsplit(account_url)
    host = parts.hostname or ""
    if host.replace(".", "").isdigit() or host in ("localhost",) or ":" in host:
        return parts.path.strip("/").split("/")[0]  # path-style (Azurite, emulators)
    return host.split(".")[0]


def parse_log_url(message: str | None) -> LogLocation | None:
    """The log location named in a failure message, if any (query strings are dropped)."""
    if not message:
        return None
    match = _LOG_URL.search(message)
    if not match:
        return None
    return LogLocation(account_url=match.group(1).rstrip("/"), folder=match.group(2))


@dataclass
class SourceBlob:
    """One staging blob we may read: its client and the properties at the time we looked."""

    client: Any
    size: int
    last_modified: datetime | None
    etag: str | None


class StagingLogs:
    """Reads staging storage per STAGING_LOG_AUTH: ``aad`` (the monitor's identity) or ``key`` (ARM listKeys).
    """

    def __init__(self, clients: Any, auth: str = "aad") -> None:
        self.clients = clients
        self.auth = auth
        self._services: dict[str, Any] = {}  # account url -> BlobServiceClient (keys stay in memory only)
        self._lock = threading.Lock()

    # -- locating --------------------------------------------------------------------------------------------
    def staging_accounts(self, staging_group: str) -> list[tuple[str, str]]:
        """(account name, blob endpoint) of each storage account in the staging group (one ARM call)."""
        accounts = []
        for account in self.clients.storage_mgmt.storage_accounts.list_by_resource_group(staging_group):
            endpoints = getattr(account, "primary_endpoints", None)
            blob = getattr(endpoints, "blob", None) if endpoints else None
            if blob:
                accounts.append((account.name, blob.rstrip("/")))
        return accounts

    def locate(self, message: str | None, staging_group: str | None) -> LogLocation | None:
        """The run's log: from the message, else the newest ``packerlogs`` folder in the staging account(s).
        """
        from azure.core.exceptions import ResourceNotFoundError

        location = parse_log_url(message)
        if location is not None or not staging_group:
            return location
        try:
            accounts = self.staging_accounts(staging_group)
        except ResourceNotFoundError:
            return None
        best: tuple[datetime, LogLocation] | None = None
        for name, endpoint in accounts:
            service = self.service(endpoint, staging_group, name)
            container = service.get_container_client(PACKERLOGS)
            try:
                for blob in container.list_blobs():
                    if not blob.name.endswith("/" + CUSTOMIZATION_LOG):
                        continue
                    folder = blob.name[: -len(CUSTOMIZATION_LOG) - 1]
                    if best is None or blob.last_modified > best[0]:
                        best = (blob.last_modified, LogLocation(endpoint, folder))
            except ResourceNotFoundError:
                continue
        return best[1] if best else None

    # -- reading ---------------------------------------------------------------------------------------------
    def service(self, account_url: str, staging_group: str | None, account_name: str | None = None) -> Any:
        with self._lock:
            cached = self._services.get(account_url)
        if cached is not None:
            return cached
        credential: Any = None
        if self.auth == "key":
            if not staging_group:
                raise LookupError(f"STAGING_LOG_AUTH=key needs the staging group of {account_url}")
            name = account_name or account_name_of(account_url)
            keys = self.clients.storage_mgmt.storage_accounts.list_keys(staging_group, name)
            listed = (
                keys.as_dict()
                if hasattr(keys, "as_dict")
                else {"keys": [{"value": k.value} for k in keys.keys]}
            )
            credential = {"account_name": name, "account_key": listed["keys"][0]["value"]}
        service = self.clients.blob_service(account_url, credential)
        with self._lock:
            self._services[account_url] = service
        return service

    def blob(self, location: LogLocation, blob_name: str, staging_group: str | None) -> SourceBlob | None:
        """Properties of a staging blob, or None if it does not exist (one storage request)."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            # With key auth, listKeys answers 404 once the staging group is gone: no log either.
            service = self.service(location.account_url, staging_group, location.account_name)
            client = service.get_blob_client(location.container, blob_name)
            props = client.get_blob_properties()
        except ResourceNotFoundError:
            return None
        return SourceBlob(client=client, size=props.size, last_modified=props.last_modified, etag=props.etag)

    def sas_url(
        self, location: LogLocation, blob_name: str, staging_group: str | None, minutes: int = 60
    ) -> str:
        """A read-only SAS URL for a staging blob, for a server-side copy: a user-delegation SAS with the
        identity (``aad``) or an account-key SAS (``key``). Never log the result."""
        from datetime import UTC, datetime, timedelta

        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        service = self.service(location.account_url, staging_group, location.account_name)
        start = datetime.now(UTC) - timedelta(minutes=5)
        expiry = datetime.now(UTC) + timedelta(minutes=minutes)
        common = {
            "account_name": service.account_name,
            "container_name": location.container,
            "blob_name": blob_name,
            "permission": BlobSasPermissions(read=True),
            "expiry": expiry,
            "start": start,
        }
        key = getattr(service.credential, "account_key", None)
        if key:
            sas = generate_blob_sas(account_key=key, **common)
        else:
            delegation = service.get_user_delegation_key(start, expiry)
            sas = generate_blob_sas(user_delegation_key=delegation, **common)
        return f"{location.account_url}/{location.container}/{blob_name}?{sas}"

    # -- running builds --------------------------------------------------------------------------------------
    def container_log(self, staging_group: str | None) -> str | None:
        """The live output of the build container instance in the staging group, if one is there."""
        if not staging_group:
            return None
        from azure.core.exceptions import ResourceNotFoundError

        aci = self.clients.containers
        try:
            for group in aci.container_groups.list_by_resource_group(staging_group):
                if not group.name.lower().startswith(BUILD_CONTAINER_PREFIX):
                    continue
                containers = group.containers or []
                container_name = containers[0].name if containers else group.name
                logs = aci.containers.list_logs(staging_group, group.name, container_name)
                return logs.content
        except ResourceNotFoundError:
            return None
        return None
