"""``BlobStore``: the ObjectStore protocol on Azure Blob Storage (or Azurite) with the real azure-storage-blob
client.

- conditional writes: ``if_none_match`` → ``If-None-Match: *``, ``if_match`` → ``If-Match: <etag>``; a lost
  race raises ``PreconditionFailed``;
- metadata on every blob, and blob index tags when the service supports them (Azure, Azurite 3.37). Tags are
  always mirrored into the metadata (``tag_<name>``) because some accounts (hierarchical namespace) and older
  emulators refuse them; the first refusal is logged once and tags are then skipped;
- streamed uploads: ``stage_block`` per block of at most ``block_size`` bytes, then ``commit_block_list`` — a
  stream is never held in memory whole;
- ``lease``: a blob lease on a (created if absent) marker blob.

Endpoints: ARCHIVE_STORAGE_URL (identity) must be https; ARCHIVE_CONNECTION_STRING may name any endpoint the
storage SDK parses, plain http included (``UseDevelopmentStorage=true``, ``BlobEndpoint=http://azurite:10000/
devstoreaccount1``, ``DefaultEndpointsProtocol=https;AccountName=...;EndpointSuffix=...``).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import threading
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from monitor.storage.base import LeaseUnavailable, PreconditionFailed, StoredObject
from monitor.storage.blob_metadata import index_tags, metadata_with_tags, tags_in_metadata

log = logging.getLogger(__name__)

DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024
IN_FLIGHT = 2  # blocks uploaded concurrently by upload_stream


class BlobStore:
    """An ObjectStore on one blob container."""

    server_copy = True

    def __init__(self, container_client: Any, *, block_size: int = DEFAULT_BLOCK_SIZE) -> None:
        self.container = container_client
        self.block_size = block_size
        self.tags_supported: bool | None = None  # unknown until the service answers
        self._container_ready = False
        self._lock = threading.Lock()

    # -- helpers ---------------------------------------------------------------------------------------------
    def _blob(self, key: str) -> Any:
        if not key or key.startswith("/") or any(p in (".", "..") for p in key.split("/")):
            raise ValueError(f"invalid object key {key!r}")
        return self.container.get_blob_client(key)

    def _ensure_container(self) -> None:
        from azure.core.exceptions import ResourceExistsError

        with self._lock:
            if self._container_ready:
                return
            with contextlib.suppress(ResourceExistsError):
                self.container.create_container()
            self._container_ready = True

    def _with_container(self, op: Any) -> Any:
        """Run ``op``; if the container is missing, create it once and retry."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return op()
        except ResourceNotFoundError as exc:
            if getattr(exc, "error_code", None) != "ContainerNotFound":
                raise
            self._container_ready = False
            self._ensure_container()
            return op()

    def _apply_tags(self, blob: Any, tags: dict[str, str] | None, **conditions: Any) -> None:
        if not tags or self.tags_supported is False:
            return
        from azure.core.exceptions import HttpResponseError

        try:
            blob.set_blob_tags(index_tags(tags), **conditions)
            self.tags_supported = True
        except HttpResponseError as exc:
            if (
                exc.status_code in (400, 403, 404, 405, 409, 501)
                and self.tags_supported is None
                and (getattr(exc, "error_code", None) not in ("BlobNotFound", "ConditionNotMet"))
            ):
                self.tags_supported = False
                log.info(
                    "blob index tags are not supported by %s (%s); tags are kept in metadata (tag_*) only",
                    self.container.url,
                    getattr(exc, "error_code", None) or exc.status_code,
                )
                return
            raise

    # -- ObjectStore -----------------------------------------------------------------------------------------
    def get(self, key: str) -> StoredObject | None:
        from azure.core.exceptions import ResourceNotFoundError

        blob = self._blob(key)
        try:
            downloader = blob.download_blob()
            data = downloader.readall()
        except ResourceNotFoundError:
            return None
        props = downloader.properties
        return StoredObject(data=data, etag=props.etag, metadata=dict(props.metadata or {}))

    def put(
        self, key, data, *, if_none_match=False, if_match=None, metadata=None, tags=None, content_type=None
    ):
        from azure.core import MatchConditions
        from azure.core.exceptions import (
            HttpResponseError,
            ResourceExistsError,
            ResourceModifiedError,
            ResourceNotFoundError,
        )
        from azure.storage.blob import ContentSettings

        blob = self._blob(key)
        kwargs: dict[str, Any] = {
            "overwrite": True,
            "metadata": metadata_with_tags(metadata, tags),
        }
        if content_type:
            kwargs["content_settings"] = ContentSettings(content_type=content_type)
        if if_none_match:
            kwargs["match_condition"] = MatchConditions.IfMissing
        elif if_match is not None:
            kwargs["etag"], kwargs["match_condition"] = if_match, MatchConditions.IfNotModified
        # Index tags travel with the write (x-ms-tags) when the service takes them: one request, atomic.
        with_tags = bool(tags) and self.tags_supported is not False
        if with_tags:
            kwargs["tags"] = index_tags(tags)
        try:
            try:
                result = self._with_container(lambda: blob.upload_blob(data, **kwargs))
            except HttpResponseError as exc:
                if not (with_tags and self._tags_refused(exc)):
                    raise
                kwargs.pop("tags")
                result = self._with_container(lambda: blob.upload_blob(data, **kwargs))
            else:
                if with_tags:
                    self.tags_supported = True
        except (ResourceExistsError, ResourceModifiedError) as exc:
            raise PreconditionFailed(key) from exc
        except ResourceNotFoundError as exc:
            if if_match is not None:
                raise PreconditionFailed(key) from exc
            raise
        return result["etag"]

    def _tags_refused(self, exc: Any) -> bool:
        """The service refused the tags header (and we did not know yet): note it once, go on without tags."""
        code = getattr(exc, "error_code", None)
        refused = (
            self.tags_supported is None
            and exc.status_code in (400, 403, 405, 501)
            and code
            not in ("ConditionNotMet", "BlobAlreadyExists", "ContainerNotFound", "AuthenticationFailed")
        )
        if refused:
            self.tags_supported = False
            log.info(
                "blob index tags are not supported by %s (%s); tags are kept in metadata (tag_*) only",
                self.container.url,
                code or exc.status_code,
            )
        return refused

    def upload_stream(self, key, chunks, *, metadata=None, tags=None, content_type=None):
        """Stage blocks of ``block_size`` while the next ones are read: at most ``IN_FLIGHT`` blocks are being
        uploaded at once, so memory stays at a few blocks whatever the stream's length."""
        from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

        from azure.storage.blob import BlobBlock, ContentSettings

        blob = self._blob(key)
        block_ids: list[BlobBlock] = []
        prefix = uuid.uuid4().hex[:16]
        written = 0
        in_flight: set[Future] = set()

        def stage(block_id: str, buffer: bytes) -> None:
            self._with_container(lambda: blob.stage_block(block_id, buffer, length=len(buffer)))

        with ThreadPoolExecutor(max_workers=IN_FLIGHT, thread_name_prefix="stage-block") as pool:

            def submit(buffer: bytes) -> None:
                nonlocal in_flight
                while len(in_flight) >= IN_FLIGHT:
                    done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                    for future in done:
                        future.result()  # raise the first failure
                block_id = base64.b64encode(f"{prefix}-{len(block_ids):08d}".encode()).decode()
                block_ids.append(BlobBlock(block_id=block_id))
                in_flight.add(pool.submit(stage, block_id, buffer))

            try:
                pending: list[bytes] = []
                pending_size = 0
                for chunk in _as_chunks(chunks):
                    written += len(chunk)
                    pending.append(chunk)
                    pending_size += len(chunk)
                    while pending_size >= self.block_size:
                        joined = b"".join(pending)
                        submit(joined[: self.block_size])
                        rest = joined[self.block_size :]
                        pending, pending_size = ([rest] if rest else []), len(rest)
                if pending_size:
                    submit(b"".join(pending))
            finally:
                for future in wait(in_flight).done:
                    future.result()
        settings = ContentSettings(content_type=content_type) if content_type else None
        self._with_container(
            lambda: blob.commit_block_list(
                block_ids, metadata=metadata_with_tags(metadata, tags), content_settings=settings
            )
        )
        self._apply_tags(blob, tags)
        return written

    def set_metadata(self, key, metadata, tags=None):
        from azure.core.exceptions import ResourceNotFoundError

        blob = self._blob(key)
        if tags is None:
            try:
                current = blob.get_blob_properties().metadata or {}
            except ResourceNotFoundError as exc:
                raise FileNotFoundError(key) from exc
            merged = metadata_with_tags(metadata, tags_in_metadata(current))
        else:
            merged = metadata_with_tags(metadata, tags)
        try:
            blob.set_blob_metadata(merged)
        except ResourceNotFoundError as exc:
            raise FileNotFoundError(key) from exc
        self._apply_tags(blob, tags)

    def tags(self, key: str) -> dict[str, str]:
        """Index tags when supported, else the tags mirrored in metadata."""
        blob = self._blob(key)
        if self.tags_supported:
            return dict(blob.get_blob_tags())
        meta = blob.get_blob_properties().metadata or {}
        return tags_in_metadata(meta)

    def metadata(self, key: str) -> dict[str, str] | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return dict(self._blob(key).get_blob_properties().metadata or {})
        except ResourceNotFoundError:
            return None

    def size(self, key):
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self._blob(key).get_blob_properties().size
        except ResourceNotFoundError:
            return None

    def delete(self, key, *, if_match=None):
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError

        kwargs: dict[str, Any] = {}
        if if_match is not None:
            kwargs = {"etag": if_match, "match_condition": MatchConditions.IfNotModified}
        try:
            self._blob(key).delete_blob(**kwargs)
        except ResourceModifiedError as exc:
            raise PreconditionFailed(key) from exc
        except ResourceNotFoundError as exc:
            if if_match is not None:
                raise PreconditionFailed(key) from exc

    def list(self, prefix=""):
        from azure.core.exceptions import ResourceNotFoundError

        try:
            yield from self.container.list_blob_names(name_starts_with=prefix or None)
        except ResourceNotFoundError:
            return

    def url(self, key):
        return self._blob(key).url

    def iter_chunks(self, key: str, offset: int = 0, chunk_size: int = DEFAULT_BLOCK_SIZE) -> Iterator[bytes]:
        """Stream an object back in ranged reads (never whole)."""
        downloader = self._blob(key).download_blob(offset=offset or None, max_concurrency=1)
        yield from downloader.chunks()

    def copy_from_url(
        self,
        key: str,
        source_url: str,
        *,
        metadata: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        timeout: float = 600.0,
    ) -> int:
        """Server-side copy (Copy Blob) from a SAS-authorised source URL; wait for it; return the copied size.

        Raises ``azure.core.exceptions.HttpResponseError`` when the service refuses or the copy fails (the
        caller falls back to a streamed copy). The source URL carries a SAS: it is never logged.
        """
        import time

        from azure.core.exceptions import HttpResponseError

        blob = self._blob(key)
        meta = metadata_with_tags(metadata, tags)
        props = self._with_container(lambda: blob.start_copy_from_url(source_url, metadata=meta))
        status = props.get("copy_status")
        deadline = time.monotonic() + timeout
        while status == "pending":
            if time.monotonic() > deadline:
                blob.abort_copy(props.get("copy_id"))
                raise TimeoutError(f"server-side copy into {key} did not finish in {timeout:.0f}s")
            time.sleep(0.5)
            status = blob.get_blob_properties().copy.status
        if status != "success":
            raise HttpResponseError(message=f"server-side copy into {key} ended with status {status}")
        self._apply_tags(blob, tags)
        return blob.get_blob_properties().size

    @contextlib.contextmanager
    def lease(self, key, seconds=60):
        from azure.core.exceptions import HttpResponseError, ResourceExistsError

        blob = self._blob(key)
        with contextlib.suppress(ResourceExistsError, PreconditionFailed):
            self.put(key, b"", if_none_match=True)
        duration = max(15, min(60, int(seconds))) if seconds > 0 else -1
        try:
            client = blob.acquire_lease(lease_duration=duration)
        except HttpResponseError as exc:
            if exc.status_code == 409:
                raise LeaseUnavailable(key) from exc
            raise
        handle = _BlobLease(client)
        try:
            yield handle
        finally:
            handle.release()


class _BlobLease:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.released = False

    def renew(self) -> None:
        self.client.renew()

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        try:
            self.client.release()
        except Exception:  # an expired lease is released already
            log.debug("lease release failed", exc_info=True)


def _as_chunks(chunks: Iterable[bytes] | bytes) -> Iterator[bytes]:
    if isinstance(chunks, (bytes, bytearray, memoryview)):
        yield bytes(chunks)
        return
    for chunk in chunks:
        if chunk:
            yield bytes(chunk)
