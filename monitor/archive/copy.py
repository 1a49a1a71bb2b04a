"""Where a log is copied into the archive: streamed (``copy_streamed``, bounded in memory, optionally handing every
chunk to the diagnosis through ``Tee``), or assembled from a running build's live snapshots (``assemble_parts``).
The server-side copy (Copy Blob from a SAS URL) is tried first by monitor/handlers/failed.py.

A source that vanishes mid-copy (404 / 412) ends the copy: what was read is kept, marked ``partial=true`` in
the blob metadata and in ``status.json``.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from monitor.storage.base import ObjectStore

log = logging.getLogger(__name__)

VANISHED_STATUS = (404, 410, 412)


def iter_object(store: ObjectStore, key: str) -> Iterator[bytes]:
    """Stream an archived object back without loading it whole."""
    yield from store.iter_chunks(key)


def is_vanished(exc: BaseException) -> bool:
    """A staging blob that disappeared (deleted, or its container/account gone) or was replaced under us."""
    status = getattr(exc, "status_code", None)
    code = str(getattr(exc, "error_code", "") or "")
    return status in VANISHED_STATUS or code in ("BlobNotFound", "ContainerNotFound", "ConditionNotMet")


def source_chunks(source_client: Any, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
    """Ranged reads of a staging blob, 4 MiB at a time (the client pins the first response's etag)."""
    if length is not None and length <= 0:
        return
    downloader = source_client.download_blob(offset=offset, length=length, max_concurrency=1)
    yield from downloader.chunks()


@dataclass
class CopyResult:
    key: str
    written: int = 0
    source_size: int | None = None
    partial: bool = False
    reason: str | None = None
    verified: bool = False


class Guard:
    """Wraps a chunk stream: counts bytes, stops cleanly (and records why) when the source vanishes."""

    def __init__(self, chunks: Iterable[bytes], on_chunk: Callable[[bytes], None] | None = None) -> None:
        self.chunks = chunks
        self.on_chunk = on_chunk
        self.read = 0
        self.vanished: BaseException | None = None

    def __iter__(self) -> Iterator[bytes]:
        from azure.core.exceptions import HttpResponseError

        try:
            for chunk in self.chunks:
                self.read += len(chunk)
                if self.on_chunk is not None:
                    self.on_chunk(chunk)
                yield chunk
        except HttpResponseError as exc:
            if not is_vanished(exc):
                raise
            self.vanished = exc
            log.warning("source log vanished after %d bytes: %s", self.read, getattr(exc, "error_code", exc))


class Tee:
    """Hands the chunks of a copy to a consumer thread (the diagnosis) through a bounded queue."""

    def __init__(self, consumer: Callable[[Iterator[bytes]], Any], maxsize: int = 4) -> None:
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize)
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self._consumer = consumer
        self._thread = threading.Thread(target=self._run, name="archive-tee", daemon=True)
        self._thread.start()

    def _reader(self) -> Iterator[bytes]:
        while True:
            item = self.queue.get()
            if item is None:
                return
            yield item

    def _run(self) -> None:
        try:
            self.result = self._consumer(self._reader())
        except BaseException as exc:  # reported by the caller
            self.error = exc
        finally:
            self.done.set()
            # Drain so a producer blocked on put() is released.
            while True:
                try:
                    self.queue.get_nowait()
                except queue.Empty:
                    break

    def put(self, chunk: bytes | None) -> None:
        while not self.done.is_set():
            try:
                self.queue.put(chunk, timeout=0.2)
                return
            except queue.Full:
                continue

    def finish(self, timeout: float | None = None) -> Any:
        self.put(None)
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        return self.result


def copy_streamed(
    store: ObjectStore,
    key: str,
    chunks: Iterable[bytes],
    *,
    source_size: int | None,
    metadata: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    on_chunk: Callable[[bytes], None] | None = None,
    content_type: str = "text/plain; charset=utf-8",
) -> CopyResult:
    """Copy ``chunks`` into ``key``, then check the size; a vanished source leaves a partial object."""
    guard = Guard(chunks, on_chunk)
    written = store.upload_stream(key, guard, metadata=metadata, tags=tags, content_type=content_type)
    result = CopyResult(key=key, written=written, source_size=source_size)
    stored = store.size(key)
    if guard.vanished is not None:
        result.partial, result.reason = True, "the source log was deleted during the copy"
    elif source_size is not None and written != source_size:
        result.partial = True
        result.reason = f"copied {written} bytes but the source had {source_size}"
    if stored != written:
        result.partial = True
        result.reason = f"archive holds {stored} bytes, {written} were written"
    result.verified = not result.partial
    return result


def assemble_parts(store: ObjectStore, parts: list[list[Any]]) -> Iterator[bytes]:
    """The live parts in offset order, streamed (gaps and overlaps are skipped by offset)."""
    position = 0
    for offset, _length, key in sorted(parts, key=lambda p: p[0]):
        skip = max(0, position - offset)
        if offset > position:
            log.warning("live snapshot gap at %d..%d", position, offset)
            position = offset
        for chunk in iter_object(store, key):
            if skip:
                if len(chunk) <= skip:
                    skip -= len(chunk)
                    continue
                chunk, skip = chunk[skip:], 0
            position += len(chunk)
            yield chunk
