"""Choose where archives and state live from Settings: Azure Blob Storage (BlobStore) or a local folder."""

from __future__ import annotations

from typing import Any

from monitor.settings import Settings, SettingsError
from monitor.storage.base import ObjectStore
from monitor.storage.local import LocalDirStore


def open_store(settings: Settings, clients: Any = None) -> ObjectStore:
    """ARCHIVE_STORAGE_URL (identity) or ARCHIVE_CONNECTION_STRING → BlobStore; neither →
    LocalDirStore(ARCHIVE_DIR).

    ``clients`` (an AzureClients) lets the blob store share the credential and the counting transport.
    """
    if settings.archive_kind == "local":
        return LocalDirStore(settings.archive_dir)
    return _blob_store(settings, clients)


def _blob_store(settings: Settings, clients: Any = None) -> ObjectStore:
    """From ARCHIVE_STORAGE_URL (identity) or ARCHIVE_CONNECTION_STRING (key); ``clients`` shares the
    transport."""
    from azure.storage.blob import BlobServiceClient

    from monitor.azure.clients import BLOB_BACKOFF_BASE, BLOB_BACKOFF_SECONDS, BLOB_JITTER_SECONDS, BLOB_RETRIES
    from monitor.storage.blob import DEFAULT_BLOCK_SIZE, BlobStore

    if settings.archive_storage_url:
        if not settings.archive_storage_url.lower().startswith("https://"):
            # The storage client never sends a bearer token over plain http.
            raise SettingsError(
                "ARCHIVE_STORAGE_URL",
                "identity auth needs an https endpoint; for an http emulator (Azurite) set "
                "ARCHIVE_CONNECTION_STRING instead",
            )
        if clients is not None:
            service = clients.blob_service(settings.archive_storage_url)
        else:
            from azure.identity import DefaultAzureCredential

            service = BlobServiceClient(settings.archive_storage_url, credential=DefaultAzureCredential())
    elif settings.archive_connection_string:
        extra: dict[str, Any] = {"transport": clients.transport} if clients is not None else {}
        service = BlobServiceClient.from_connection_string(
            settings.archive_connection_string,
            max_single_get_size=DEFAULT_BLOCK_SIZE,
            max_chunk_get_size=DEFAULT_BLOCK_SIZE,
            retry_total=BLOB_RETRIES,
            initial_backoff=BLOB_BACKOFF_SECONDS,
            increment_base=BLOB_BACKOFF_BASE,
            random_jitter_range=BLOB_JITTER_SECONDS,
            **extra,
        )
    else:
        raise ValueError("BlobStore needs ARCHIVE_STORAGE_URL or ARCHIVE_CONNECTION_STRING")
    return BlobStore(service.get_container_client(settings.archive_container))
