"""Copy a run's logs to the archive, streamed and bounded in memory, diagnosing the log while it streams.

Archive layout: ``<subscription>/<resource group>/<template>/<run start UTC, 20240101T101500Z>/`` holding
``customization.log``, ``validation.log``, ``status.json``, ``diagnosis.json`` (and ``container.log`` for a
build that was watched while running). Running builds are snapshotted on every sweep into
``live/customization.log.<offset>`` parts with ranged reads of only the new bytes, so an abrupt template
deletion (which deletes the staging storage) still leaves the log up to the last sweep.

A source that vanishes mid-copy (404 / 412) ends the copy: what was read is kept, marked ``partial=true`` in
the blob metadata and in ``status.json``.
"""

from __future__ import annotations

import collections
import json
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from monitor.store import ObjectStore

log = logging.getLogger(__name__)

CHUNK = 4 * 1024 * 1024
TAIL_BYTES = 64 * 1024
VANISHED_STATUS = (404, 410, 412)


def iter_object(store: ObjectStore, key: str) -> Iterator[bytes]:
    """Stream an archived object back without loading it whole."""
    if hasattr(store, "iter_chunks"):
        yield from store.iter_chunks(key)
        return
    # LocalDirStore: its url() is a file:// URI of the object.
    path = unquote(urlsplit(store.url(key)).path)
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


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


class _Guard:
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
    guard = _Guard(chunks, on_chunk)
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


@dataclass
class Snapshot:
    offset: int  # new live offset
    size: int
    part_key: str | None
    tail: bytes = b""
    parts: list[list[Any]] = field(default_factory=list)


def snapshot_live(
    store: ObjectStore, prefix: str, source_client: Any, size: int, offset: int, tail_bytes: int = TAIL_BYTES
) -> Snapshot:
    """Append what is new in a growing log (``[offset, size)``) as one part; also return the log's tail.

    One ranged read covers both the new bytes and the tail (the read starts ``tail_bytes`` before the end when
    that is earlier than ``offset``).
    """
    if size < offset:  # the log was replaced (a new folder / run): start over
        offset = 0
    start = max(0, min(offset, size - tail_bytes))
    tail: collections.deque[bytes] = collections.deque()
    tail_len = 0
    position = start

    def new_bytes() -> Iterator[bytes]:
        nonlocal position, tail_len
        for chunk in source_chunks(source_client, start, size - start):
            chunk_start = position
            position += len(chunk)
            tail.append(chunk)
            tail_len += len(chunk)
            while tail and tail_len - len(tail[0]) >= tail_bytes:
                tail_len -= len(tail.popleft())
            if position > offset:
                yield chunk[max(0, offset - chunk_start) :]

    part_key = None
    if size > offset:
        part_key = f"{prefix}/live/customization.log.{offset:012d}"
        guard = _Guard(new_bytes())
        written = store.upload_stream(part_key, guard, metadata={"offset": str(offset)})
        new_offset = offset + written
        if guard.vanished is not None and written == 0:
            store.delete(part_key)
            part_key = None
    else:
        for _ in _Guard(new_bytes()):
            pass
        new_offset = offset
    data = b"".join(tail)[-tail_bytes:]
    return Snapshot(offset=new_offset, size=size, part_key=part_key, tail=data)


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


def redacted_status(template: dict[str, Any], redact: Callable[[str], str]) -> dict[str, Any]:
    """The template's status fields (and what identifies it), with every string redacted and every value
    under a secret name (a tag ``sp-password``, a member ``clientSecret``) masked whatever it looks like."""
    props = template.get("properties") or {}
    wanted = (
        "provisioningState",
        "provisioningError",
        "lastRunStatus",
        "buildTimeoutInMinutes",
        "exactStagingResourceGroup",
        "stagingResourceGroup",
        "vmProfile",
        "source",
        "errorHandling",
    )
    status = {
        "id": template.get("id"),
        "name": template.get("name"),
        "location": template.get("location"),
        "tags": template.get("tags"),
        "properties": {k: props[k] for k in wanted if k in props},
    }
    return _redact_values(status, redact)


def _redact_values(value: Any, redact: Callable[[str], str]) -> Any:
    from diagnosis.redact import MASK, is_secret_name  # pure Python, cheap

    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {
            k: MASK
            if isinstance(k, str) and is_secret_name(k) and isinstance(v, str) and v
            else _redact_values(v, redact)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_values(v, redact) for v in value]
    return value


def json_bytes(data: Any) -> bytes:
    return json.dumps(data, indent=2, sort_keys=True, default=str).encode()
