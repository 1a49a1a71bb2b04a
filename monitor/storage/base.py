"""The ObjectStore protocol: durable objects for archives, per-run records, the alert outbox and the sweep lease.

Two backends implement it: ``LocalDirStore`` (a folder, monitor/storage/local.py) and ``BlobStore`` (Azure Blob
Storage or Azurite, monitor/storage/blob.py). Conditional writes (``if_none_match`` / ``if_match``) give
exactly-once behaviour across concurrent Event Grid deliveries and overlapping sweeps. ``server_copy`` says
whether ``copy_from_url`` (a server-side copy from a SAS URL) is available; callers ask that flag, never the
object's attributes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol


class PreconditionFailed(Exception):
    """A conditional write lost: the object exists (if_none_match) or changed (if_match)."""


class LeaseUnavailable(Exception):
    """Someone else holds the lease."""


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    etag: str
    metadata: dict[str, str] = field(default_factory=dict)


class Lease(Protocol):
    def renew(self) -> None: ...
    def release(self) -> None: ...


class ObjectStore(Protocol):
    server_copy: bool  # copy_from_url is available

    def get(self, key: str) -> StoredObject | None: ...

    def put(
        self,
        key: str,
        data: bytes,
        *,
        if_none_match: bool = False,
        if_match: str | None = None,
        metadata: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        content_type: str | None = None,
    ) -> str:
        """Write ``data``; return the new etag. Raise PreconditionFailed when a condition does not hold."""
        ...

    def upload_stream(
        self,
        key: str,
        chunks: Iterable[bytes],
        *,
        metadata: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        content_type: str | None = None,
    ) -> int:
        """Write a stream without holding it in memory; return the number of bytes written."""
        ...

    def set_metadata(
        self, key: str, metadata: dict[str, str], tags: dict[str, str] | None = None
    ) -> None: ...

    def size(self, key: str) -> int | None: ...

    def delete(self, key: str, *, if_match: str | None = None) -> None: ...

    def list(self, prefix: str = "") -> Iterator[str]: ...

    def url(self, key: str) -> str: ...

    def iter_chunks(self, key: str) -> Iterator[bytes]:
        """Stream an object back without loading it whole."""
        ...

    def copy_from_url(
        self,
        key: str,
        source_url: str,
        *,
        metadata: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> int:
        """Server-side copy from a SAS URL (only when ``server_copy``); return the copied size."""
        ...

    def lease(self, key: str, seconds: int = 60) -> contextlib.AbstractContextManager[Lease]:
        """Hold an exclusive lease on ``key`` (created if absent). Raise LeaseUnavailable if held elsewhere."""
        ...
