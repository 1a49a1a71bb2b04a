"""Choose where archives and state live from Settings: Azure Blob Storage (BlobStore) or a local folder."""

from __future__ import annotations

from typing import Any

from monitor.settings import Settings
from monitor.storage.base import ObjectStore
from monitor.storage.local import LocalDirStore


def open_store(settings: Settings, clients: Any = None) -> ObjectStore:
    """ARCHIVE_STORAGE_URL (identity) or ARCHIVE_CONNECTION_STRING → BlobStore; neither →
    LocalDirStore(ARCHIVE_DIR).

    ``clients`` (an AzureClients) lets the blob store share the credential and the counting transport.
    """
    if settings.archive_kind == "local":
        return LocalDirStore(settings.archive_dir)
    from monitor.storage.blob import BlobStore

    return BlobStore.from_settings(settings, clients)
