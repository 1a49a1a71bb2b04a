"""Find a run's logs in its staging resource group and read them (identity or account key), plus the live
container output of a running build.

Where the log is: the URL in the failure message (``.../packerlogs/<folder>/customization.log`` or
``validation.log``, with or without a SAS query string); otherwise the staging group's storage account (ARM
``storageAccounts`` list → ``primaryEndpoints.blob``) → container ``packerlogs`` → the folder whose
``customization.log`` changed last. ``validation.log`` sits beside it. Without ``exactStagingResourceGroup``
the staging group is found by Image Builder's tags on it (``imageTemplateName``,
``imageTemplateResourceGroupName``).

How a staging account is read (identity, account key, what degrades on a stand-in) is in
monitor/azure/staging_access.py.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.azure.clients import RESOURCES_API
from monitor.azure.errors import is_transient
from monitor.azure.ids import TemplateRef
from monitor.azure.staging_access import StagingAccess, account_name_of, auth_refused, status_of

log = logging.getLogger(__name__)

PACKERLOGS = "packerlogs"
CUSTOMIZATION_LOG = "customization.log"
VALIDATION_LOG = "validation.log"
BUILD_CONTAINER_PREFIX = "vmimagebuilder-build-container"

# ``<account url>/packerlogs/<folder>/(customization|validation).log``; the folder stops at a query or fragment.
_LOG_URL = re.compile(
    r"(https?://[^\s\"'<>()]+?)/"  # brackets allowed: an IPv6 host
    + PACKERLOGS
    + r"/([^\s\"'<>?#()\[\]]+?)/(?:"
    + re.escape(CUSTOMIZATION_LOG)
    + "|"
    + re.escape(VALIDATION_LOG)
    + r")(?![\w-])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class LogLocation:
    account_url: str  # https://<account>.blob.core.windows.net  or  http(s)://<host>:<port>/<account>
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
    def validation_url(self) -> str:
        return f"{self.account_url}/{self.container}/{self.validation_blob}"

    @property
    def account_name(self) -> str:
        return account_name_of(self.account_url)


def parse_log_url(message: str | None) -> LogLocation | None:
    """The log location named in a failure message, if any (a SAS query string and trailing punctuation are
    dropped; a URL naming ``validation.log`` gives the same folder)."""
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


class StagingLogs(StagingAccess):
    """Finds a run's logs in its staging group and reads them (see StagingAccess for how)."""

    # -- locating --------------------------------------------------------------------------------------------
    def staging_accounts(self, staging_group: str) -> list[tuple[str, str]]:
        """(account name, blob endpoint) of each storage account in the staging group (one ARM call)."""

        def listed() -> list[tuple[str, str]]:
            accounts = []
            for account in self.clients.storage_mgmt.storage_accounts.list_by_resource_group(staging_group):
                endpoints = getattr(account, "primary_endpoints", None)
                blob = getattr(endpoints, "blob", None) if endpoints else None
                if blob:
                    accounts.append((account.name, blob.rstrip("/")))
            return accounts

        return self.optional_arm("storageAccounts.listByResourceGroup", listed, [])

    def find_staging_group(self, template_id: str) -> str | None:
        """The staging group of a template whose JSON has no ``exactStagingResourceGroup``: the resource group
        Image Builder tagged with the template's name and resource group (one ARM list, filtered by tag)."""
        ref = TemplateRef.parse(template_id)

        def search() -> str | None:
            path = f"/subscriptions/{ref.subscription_id}/resourcegroups"
            query = {"$filter": f"tagName eq 'imageTemplateName' and tagValue eq '{ref.name}'"}
            for group in self.clients.arm_list(path, RESOURCES_API, query):
                tags = {str(k).lower(): str(v) for k, v in (group.get("tags") or {}).items()}
                if (
                    tags.get("imagetemplatename", "").lower() == ref.name.lower()
                    and tags.get("imagetemplateresourcegroupname", "").lower() == ref.resource_group.lower()
                ):
                    return group.get("name")
            return None

        return self.optional_arm("resourceGroups.list", search, None)

    def locate(
        self, message: str | None, staging_group: str | None, *, template_id: str | None = None
    ) -> LogLocation | None:
        """The run's log: from the message, else the newest ``packerlogs`` folder in the staging account(s)
        (the staging group found by its tags when only ``template_id`` is known)."""
        from azure.core.exceptions import ResourceNotFoundError

        location = parse_log_url(message)
        if location is not None:
            return location
        if not staging_group and template_id:
            staging_group = self.find_staging_group(template_id)
        if not staging_group:
            return None
        best: tuple[datetime, LogLocation] | None = None
        for name, endpoint in self.staging_accounts(staging_group):

            def newest(service: Any) -> list[tuple[datetime, str]]:
                found = []
                for blob in service.get_container_client(PACKERLOGS).list_blobs():
                    if blob.name.endswith("/" + CUSTOMIZATION_LOG):
                        found.append((blob.last_modified, blob.name[: -len(CUSTOMIZATION_LOG) - 1]))
                return found

            try:
                folders = self._read(endpoint, staging_group, name, newest)
            except ResourceNotFoundError:
                continue
            if folders is None:
                continue
            for modified, folder in folders:
                if best is None or modified > best[0]:
                    best = (modified, LogLocation(endpoint, folder))
        return best[1] if best else None

    # -- reading ---------------------------------------------------------------------------------------------
    def blob(self, location: LogLocation, blob_name: str, staging_group: str | None) -> SourceBlob | None:
        """Properties of a staging blob, or None if it does not exist or cannot be read (logged)."""
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

        def properties(service: Any) -> SourceBlob:
            client = service.get_blob_client(location.container, blob_name)
            props = client.get_blob_properties()
            return SourceBlob(client=client, size=props.size, last_modified=props.last_modified, etag=props.etag)

        try:
            return self._read(location.account_url, staging_group, location.account_name, properties)
        except ResourceNotFoundError:
            return None
        except HttpResponseError as exc:
            if is_transient(exc) or not auth_refused(exc):
                raise
            self._warn_once(
                "unreadable:" + location.account_url,
                "cannot read staging account %s with the identity or its key (%s); its logs are not archived",
                location.account_name,
                getattr(exc, "error_code", None) or status_of(exc),
            )
            return None

    def sas_url(self, location: LogLocation, blob_name: str, staging_group: str | None, minutes: int = 60) -> str:
        """A read-only SAS URL for a staging blob, for a server-side copy: a user-delegation SAS with the
        identity (``aad``) or an account-key SAS (``key``). Never log the result."""
        from datetime import UTC, datetime, timedelta

        from azure.core.exceptions import HttpResponseError
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        service = self.service(location.account_url, staging_group, location.account_name)
        if service is None:
            raise HttpResponseError(message=f"staging account {location.account_name} cannot be read")
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
        """The live output of the build container instance in the staging group, if one is there (None when
        the endpoint does not serve container groups)."""
        if not staging_group:
            return None
        aci = self.clients.containers

        def build_group() -> Any:
            for group in aci.container_groups.list_by_resource_group(staging_group):
                if group.name.lower().startswith(BUILD_CONTAINER_PREFIX):
                    return group
            return None

        group = self.optional_arm("containerGroups.listByResourceGroup", build_group, None)
        if group is None:
            return None
        containers = group.containers or []
        container_name = containers[0].name if containers else group.name
        logs = self.optional_arm(
            "containers.listLogs", lambda: aci.containers.list_logs(staging_group, group.name, container_name), None
        )
        return getattr(logs, "content", None) if logs is not None else None
