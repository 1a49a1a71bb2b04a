"""Azure SDK clients built from Settings: one credential, one counting HTTP transport, lazy heavy imports.

Every client (ARM management clients and blob clients) shares one ``CountingTransport`` so a sweep can report
how many requests it made to ARM and to storage. Retries are azure-core's ``RetryPolicy`` for ARM (it honours
``Retry-After`` on 429 and 503 answers) and the storage SDK's exponential retry for blobs.

Deadlines: every request has a connection timeout (CONNECT_SECONDS) and a read timeout (READ_SECONDS); an ARM
call, retries included, gives up after ARM_CALL_SECONDS; a blob call is retried BLOB_RETRIES times starting at
BLOB_BACKOFF_SECONDS (the SDK's own 15 s start would hold a sweep for minutes on one unhealthy account).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from monitor import deadline
from monitor.azure.errors import is_transient
from monitor.settings import Settings

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.core.credentials import TokenCredential

log = logging.getLogger(__name__)

CONNECT_SECONDS = 10
READ_SECONDS = 60
ARM_CALL_SECONDS = 90
BLOB_RETRIES = 3
# The storage SDK waits BLOB_BACKOFF_SECONDS + BLOB_BACKOFF_BASE ** n before retry n: 1 + 2, 1 + 4, 1 + 8 s (each
# ± BLOB_JITTER_SECONDS), about 17 s before a call to an account answering 503 gives up (measured 16.5 s).
BLOB_BACKOFF_SECONDS = 1.0
BLOB_BACKOFF_BASE = 2.0
BLOB_JITTER_SECONDS = 0.5

RESOURCES_API = "2021-04-01"  # resource groups (check_staging_group reads their tags)
# Storage accounts list / listKeys: the version of the official REST spec we code against (the SDK's newest may be
# unknown to a stand-in, or to a sovereign cloud for a while). The wire format of these two operations is stable.
STORAGE_API = "2025-08-01"
METADATA_API = "2015-01-01"  # ``{ARM}/metadata/endpoints``: Azure Stack Hub and stand-ins name their audience


@dataclass
class RequestCounts:
    """Wire requests by kind. ``arm`` are requests to ARM_ENDPOINT; everything else counts as ``storage``."""

    arm: int = 0
    storage: int = 0
    by_path: dict[str, int] = field(default_factory=dict)

    def copy(self) -> RequestCounts:
        return RequestCounts(self.arm, self.storage, dict(self.by_path))

    def __sub__(self, other: RequestCounts) -> RequestCounts:
        paths = {k: v - other.by_path.get(k, 0) for k, v in self.by_path.items()}
        return RequestCounts(self.arm - other.arm, self.storage - other.storage, {k: v for k, v in paths.items() if v})


def _make_transport_class() -> type:
    from azure.core.pipeline.transport import RequestsTransport

    class CountingTransport(RequestsTransport):
        """A requests transport that counts every request it sends (each retry counts)."""

        def __init__(self, arm_host: str, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.arm_host = arm_host.lower()
            self.counts = RequestCounts()
            # Observers called before each request with (method, url without query): request logging, tests.
            self.observers: list[Any] = []
            self._lock = threading.Lock()

        def send(self, request, **kwargs):  # type: ignore[override]
            deadline.check()  # a sweep past its budget sends nothing more
            parts = urlsplit(request.url)
            kind = "arm" if parts.netloc.lower() == self.arm_host else "storage"
            label = f"{kind} {request.method} {parts.path}"
            with self._lock:
                if kind == "arm":
                    self.counts.arm += 1
                else:
                    self.counts.storage += 1
                self.counts.by_path[label] = self.counts.by_path.get(label, 0) + 1
            for observer in list(self.observers):
                observer(request.method, f"{parts.scheme}://{parts.netloc}{parts.path}")
            return super().send(request, **kwargs)

        # Clients we hand this transport to must not close the shared session when they are closed.
        def close(self) -> None:
            pass

        def __exit__(self, *args: Any) -> None:
            pass

        def really_close(self) -> None:
            super().close()

    return CountingTransport


def discover_arm_audience(arm_endpoint: str, timeout: float = 5.0) -> str | None:
    """The token audience an ARM endpoint announces at ``/metadata/endpoints`` (unauthenticated, as Azure Stack Hub
    and Azure serve it: ``authentication.audiences``), or None when it announces none."""
    import requests

    try:
        response = requests.get(
            arm_endpoint.rstrip("/") + "/metadata/endpoints", params={"api-version": METADATA_API}, timeout=timeout
        )
        body = response.json() if response.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None
    if isinstance(body, list):  # newer api-versions list every cloud: take the one served here
        host = urlsplit(arm_endpoint).netloc.lower()
        body = next(
            (c for c in body if isinstance(c, dict) and urlsplit(str(c.get("resourceManager"))).netloc.lower() == host),
            None,
        )
    audiences = ((body or {}).get("authentication") or {}).get("audiences") if isinstance(body, dict) else None
    if isinstance(audiences, list):
        for audience in audiences:
            if isinstance(audience, str) and audience.lower().startswith(("https://", "http://")):
                return audience
    return None


def arm_credential_scopes(arm_endpoint: str, announced_audience: str | None = None) -> list[str]:
    """The token scope for an ARM endpoint: the known clouds' own audience (public, China, US Government); any
    other endpoint (Azure Stack, a stand-in at ``https://127.0.0.1:<port>`` or ``https://localhost:<port>``)
    gets the public management audience ``https://management.azure.com/.default``, as the SDK's default does:
    never a scope made from the endpoint's own URL, which ARM (and any stand-in checking ``aud`` like ARM)
    refuses. An endpoint that announces its audience at ``/metadata/endpoints`` (``announced_audience``, see
    ``discover_arm_audience``; Azure Stack Hub does) gets that one."""
    from azure.core import AzureClouds
    from azure.mgmt.core.tools import get_arm_endpoints

    host = urlsplit(arm_endpoint).netloc.lower()
    for cloud in AzureClouds:
        endpoints = get_arm_endpoints(cloud)
        if urlsplit(endpoints["resource_manager"]).netloc.lower() == host:
            return list(endpoints["credential_scopes"])
    if announced_audience:
        return [announced_audience + "/.default"]  # "https://x/" → "https://x//.default", as v1 resources need
    return ["https://management.azure.com/.default"]


def _is_public(arm_endpoint: str) -> bool:
    return urlsplit(arm_endpoint).netloc.lower() == "management.azure.com"


class AzureClients:
    """Lazily-built SDK clients for one subscription, sharing a credential and a counting transport."""

    def __init__(self, settings: Settings, credential: TokenCredential | None = None) -> None:
        self.settings = settings
        self.subscription_id = settings.require_subscription()
        self._credential = credential
        self._lock = threading.Lock()
        self._build_lock = threading.RLock()  # SDK clients are built on first use, possibly by several threads
        self._imagebuilder: Any = None
        self._storage_mgmt: Any = None
        self._containers: Any = None
        self._scopes: list[str] | None = None
        self.transport = _make_transport_class()(
            urlsplit(settings.arm_endpoint).netloc,
            connection_data_block_size=4 * 1024 * 1024,
            connection_timeout=CONNECT_SECONDS,
            read_timeout=READ_SECONDS,
        )

    # -- shared pieces ---------------------------------------------------------------------------------------
    @property
    def credential(self) -> TokenCredential:
        with self._lock:
            if self._credential is None:
                from azure.identity import DefaultAzureCredential

                self._credential = DefaultAzureCredential(exclude_interactive_browser_credential=True)
            return self._credential

    @property
    def counts(self) -> RequestCounts:
        return self.transport.counts

    @property
    def arm_scopes(self) -> list[str]:
        """The ARM token scope: a known cloud's, else the one the endpoint announces, else the public one."""
        with self._lock:
            if self._scopes is None:
                scopes = arm_credential_scopes(self.settings.arm_endpoint)
                if scopes == ["https://management.azure.com/.default"] and not _is_public(self.settings.arm_endpoint):
                    announced = discover_arm_audience(self.settings.arm_endpoint)
                    scopes = arm_credential_scopes(self.settings.arm_endpoint, announced)
                    log.info("ARM endpoint %s: token scope %s", self.settings.arm_endpoint, scopes[0])
                self._scopes = scopes
            return self._scopes

    def _mgmt_kwargs(self) -> dict[str, Any]:
        return {
            "base_url": self.settings.arm_endpoint,
            "credential_scopes": self.arm_scopes,
            "transport": self.transport,
            "retry_total": 6,
            "retry_backoff_factor": 0.5,
            "timeout": ARM_CALL_SECONDS,
        }

    # -- ARM -------------------------------------------------------------------------------------------------
    @property
    def imagebuilder(self) -> Any:
        with self._build_lock:
            if self._imagebuilder is None:
                from azure.mgmt.imagebuilder import ImageBuilderClient

                self._imagebuilder = ImageBuilderClient(self.credential, self.subscription_id, **self._mgmt_kwargs())
            return self._imagebuilder

    @property
    def storage_mgmt(self) -> Any:
        with self._build_lock:
            if self._storage_mgmt is None:
                from azure.mgmt.storage import StorageManagementClient

                self._storage_mgmt = StorageManagementClient(
                    self.credential, self.subscription_id, api_version=STORAGE_API, **self._mgmt_kwargs()
                )
            return self._storage_mgmt

    @property
    def containers(self) -> Any:
        with self._build_lock:
            if self._containers is None:
                from azure.mgmt.containerinstance import ContainerInstanceManagementClient

                self._containers = ContainerInstanceManagementClient(
                    self.credential, self.subscription_id, **self._mgmt_kwargs()
                )
            return self._containers

    def arm_get(self, path: str, api_version: str) -> dict[str, Any]:
        """GET an ARM path (``/subscriptions/...``) through the image builder client's pipeline; raise on
        errors."""
        from azure.core.exceptions import map_error
        from azure.core.rest import HttpRequest

        request = HttpRequest("GET", self.settings.arm_endpoint + path, params={"api-version": api_version})
        response = self.imagebuilder._client.send_request(request)
        if response.status_code >= 400:
            from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

            map_error(status_code=response.status_code, response=response, error_map={404: ResourceNotFoundError})
            raise HttpResponseError(response=response)
        return response.json()

    def arm_list(self, path: str, api_version: str, query: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """The items of a paged ARM list (``value`` + ``nextLink``, absolute or relative) as JSON dicts."""
        from urllib.parse import parse_qsl, urljoin

        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, map_error
        from azure.core.rest import HttpRequest

        url: str | None = self.settings.arm_endpoint + path
        params: dict[str, str] = {**(query or {}), "api-version": api_version}
        seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        while url and (url, tuple(sorted(params.items()))) not in seen:  # a nextLink that loops ends the list
            seen.add((url, tuple(sorted(params.items()))))
            request = HttpRequest("GET", url, params=params)
            response = self.imagebuilder._client.send_request(request)
            if response.status_code >= 400:
                map_error(status_code=response.status_code, response=response, error_map={404: ResourceNotFoundError})
                raise HttpResponseError(response=response)
            body = response.json() or {}
            yield from body.get("value") or []
            next_link = body.get("nextLink")
            if not next_link:
                return
            url = urljoin(self.settings.arm_endpoint + "/", next_link)
            parts = urlsplit(url)
            # nextLink carries its own query; keep our api-version unless it names one.
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
            params.setdefault("api-version", api_version)
            url = f"{parts.scheme}://{parts.netloc}{parts.path}"

    def list_templates(self) -> Iterator[Any]:
        """Every image template of the subscription (SDK models). A stand-in without the subscription-wide list
        (404/405/501 before any item) is read group by group instead: its resource groups (Image Builder's
        own staging groups skipped), then each group's list — logged at warning, as it costs a call per group."""
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

        operations = self.imagebuilder.virtual_machine_image_templates
        yielded = False
        try:
            for template in operations.list():
                yielded = True
                yield template
            return
        except HttpResponseError as exc:
            if yielded or is_transient(exc) or exc.status_code not in (404, 405, 501):
                raise
            log.warning(
                "ARM endpoint %s answered %s to the subscription-wide image template list; listing per resource "
                "group instead (one call per group)",
                self.settings.arm_endpoint,
                exc.status_code,
            )
        for group in self.arm_list(f"/subscriptions/{self.subscription_id}/resourcegroups", RESOURCES_API):
            tags = {str(k).lower(): str(v) for k, v in (group.get("tags") or {}).items()}
            if not group.get("name") or tags.get("createdby") == "AzureVMImageBuilder":
                continue
            try:
                yield from operations.list_by_resource_group(group["name"])
            except ResourceNotFoundError:  # deleted since the group list
                continue

    # -- storage ---------------------------------------------------------------------------------------------
    def blob_service(self, account_url: str, credential: Any = None, *, anonymous: bool = False) -> Any:
        """A BlobServiceClient on our transport; ``credential`` defaults to the identity (AAD); ``anonymous``
        sends no credential at all (public containers of an emulator)."""
        from azure.storage.blob import BlobServiceClient

        if anonymous:
            credential = None
        elif credential is None:
            credential = self.credential
        return BlobServiceClient(
            account_url,
            credential=credential,
            transport=self.transport,
            retry_total=BLOB_RETRIES,
            initial_backoff=BLOB_BACKOFF_SECONDS,
            increment_base=BLOB_BACKOFF_BASE,
            random_jitter_range=BLOB_JITTER_SECONDS,
            # Ranged reads of 4 MiB: a download never holds more than one chunk.
            max_single_get_size=4 * 1024 * 1024,
            max_chunk_get_size=4 * 1024 * 1024,
        )

    def close(self) -> None:
        for client in (self._imagebuilder, self._storage_mgmt, self._containers):
            if client is not None:
                client.close()
        self.transport.really_close()
