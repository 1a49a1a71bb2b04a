"""A read-through, write-nowhere ObjectStore for ``sweep --dry-run``.

Reads come from the real store (so a dry run sees which runs were already handled), writes land in an in-memory
overlay that later reads in the same run see, and nothing ever reaches the real store. Streamed objects (copied
logs) are consumed and counted but not kept, so a dry run over large logs stays in bounded memory. ``writes``
lists what a real sweep would have written.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from monitor.storage.base import ObjectStore, PreconditionFailed, StoredObject

_GONE = StoredObject(b"", "")
KEEP_BYTES = 1 << 20  # put() data up to this size is kept for later reads in the same run


@dataclass(frozen=True)
class Write:
    key: str
    bytes: int
    how: str  # "put" | "stream" | "delete"


class _NoLease:
    def renew(self) -> None:
        pass

    def release(self) -> None:
        pass


class DryRunStore:
    server_copy = False  # a dry run never starts a copy in the archive account

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self._overlay: dict[str, StoredObject] = {}
        self.writes: list[Write] = []

    def get(self, key: str) -> StoredObject | None:
        if key in self._overlay:
            obj = self._overlay[key]
            return None if obj is _GONE else obj
        return self.inner.get(key)

    def put(self, key, data, *, if_none_match=False, if_match=None, metadata=None, tags=None, content_type=None):
        current = self.get(key)
        if if_none_match and current is not None:
            raise PreconditionFailed(key)
        if if_match is not None and (current is None or current.etag != if_match):
            raise PreconditionFailed(key)
        etag = f'"dry-{hashlib.sha256(data).hexdigest()[:16]}-{len(self.writes)}"'
        kept = data if len(data) <= KEEP_BYTES else b""
        self._overlay[key] = StoredObject(kept, etag, dict(metadata or {}))
        self.writes.append(Write(key, len(data), "put"))
        return etag

    def upload_stream(self, key, chunks: Iterable[bytes], *, metadata=None, tags=None, content_type=None) -> int:
        size = sum(len(c) for c in chunks)
        self._overlay[key] = StoredObject(b"", f'"dry-stream-{len(self.writes)}"', dict(metadata or {}))
        self.writes.append(Write(key, size, "stream"))
        return size

    def set_metadata(self, key, metadata, tags=None) -> None:
        pass

    def size(self, key: str) -> int | None:
        write = next((w for w in reversed(self.writes) if w.key == key), None)
        if write is not None:
            return None if write.how == "delete" else write.bytes
        return self.inner.size(key)

    def delete(self, key, *, if_match=None) -> None:
        self._overlay[key] = _GONE
        self.writes.append(Write(key, 0, "delete"))

    def list(self, prefix: str = "") -> Iterator[str]:
        seen = set()
        for key in self.inner.list(prefix):
            seen.add(key)
            if self._overlay.get(key) is not _GONE:
                yield key
        for key, obj in list(self._overlay.items()):
            if key.startswith(prefix) and key not in seen and obj is not _GONE:
                yield key

    def url(self, key: str) -> str:
        return self.inner.url(key)

    def iter_chunks(self, key: str) -> Iterator[bytes]:
        if key in self._overlay:
            obj = self._overlay[key]
            if obj.data:
                yield obj.data
            return
        yield from self.inner.iter_chunks(key)

    def copy_from_url(self, key, source_url, *, metadata=None, tags=None) -> int:
        raise NotImplementedError("a dry run makes no server-side copies")

    @contextlib.contextmanager
    def lease(self, key: str, seconds: int = 60) -> Iterator[_NoLease]:
        yield _NoLease()
