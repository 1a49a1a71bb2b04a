"""``LocalDirStore``: the ObjectStore protocol on a local folder (CLI runs and the demo).

The folder is created on the first write, not before: a command that fails early leaves nothing on disk.
Metadata and tags sit beside each object in ``.<name>.meta.json``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from monitor.storage.base import LeaseUnavailable, PreconditionFailed, StoredObject

CHUNK = 4 * 1024 * 1024


class LocalDirStore:
    """An ObjectStore on a local folder. Metadata and tags sit beside each object in ``.<name>.meta.json``."""

    server_copy = False

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()

    # -- paths -------------------------------------------------------------------------------------------------
    def _path(self, key: str) -> Path:
        parts = [p for p in key.replace("\\", "/").split("/") if p]
        if not parts or any(p in (".", "..") for p in parts):
            raise ValueError(f"invalid object key {key!r}")
        return self.root.joinpath(*parts)

    @staticmethod
    def _meta_path(path: Path) -> Path:
        return path.with_name(f".{path.name}.meta.json")

    @staticmethod
    def _etag(path: Path) -> str:
        return _etag_of(path.stat())

    @contextlib.contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        """A short exclusive section per key so check-and-write is atomic between processes."""
        lock = path.with_name(f".{path.name}.lock")
        lock.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + 10
        while True:
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                os.close(fd)
                break
            except FileExistsError:
                with contextlib.suppress(FileNotFoundError):
                    if time.time() - lock.stat().st_mtime > 30:  # a crashed writer's lock
                        lock.unlink()
                        continue
                if time.monotonic() > deadline:
                    raise TimeoutError(f"lock on {path} not released") from None
                time.sleep(0.005)
        try:
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()

    def _write_file(self, path: Path, chunks: Iterable[bytes]) -> int:
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        written = 0
        try:
            with open(tmp, "wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
                    written += len(chunk)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return written

    def _write_meta(
        self,
        path: Path,
        metadata: dict[str, str] | None,
        tags: dict[str, str] | None,
        content_type: str | None,
    ) -> None:
        meta = {"metadata": metadata or {}, "tags": tags or {}, "content_type": content_type}
        self._meta_path(path).write_text(json.dumps(meta, sort_keys=True))

    def _read_meta(self, path: Path) -> dict:
        try:
            return json.loads(self._meta_path(path).read_text())
        except (FileNotFoundError, ValueError):
            return {"metadata": {}, "tags": {}, "content_type": None}

    # -- ObjectStore -------------------------------------------------------------------------------------------
    def get(self, key: str) -> StoredObject | None:
        path = self._path(key)
        try:
            with path.open("rb") as fh:  # the etag of the file these bytes came from, even if it is replaced now
                etag = _etag_of(os.fstat(fh.fileno()))
                data = fh.read()
        except FileNotFoundError:
            return None
        return StoredObject(data=data, etag=etag, metadata=self._read_meta(path)["metadata"])

    def put(
        self, key, data, *, if_none_match=False, if_match=None, metadata=None, tags=None, content_type=None
    ):
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._locked(path):
            exists = path.exists()
            if if_none_match and exists:
                raise PreconditionFailed(key)
            if if_match is not None and (not exists or self._etag(path) != if_match):
                raise PreconditionFailed(key)
            self._write_file(path, [data])
            self._write_meta(path, metadata, tags, content_type)
            return self._etag(path)

    def upload_stream(self, key, chunks, *, metadata=None, tags=None, content_type=None):
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        written = self._write_file(path, chunks)
        self._write_meta(path, metadata, tags, content_type)
        return written

    def set_metadata(self, key, metadata, tags=None):
        path = self._path(key)
        if not path.exists():
            raise FileNotFoundError(key)
        current = self._read_meta(path)
        self._write_meta(
            path, metadata, tags if tags is not None else current["tags"], current["content_type"]
        )

    def tags(self, key: str) -> dict[str, str]:
        return self._read_meta(self._path(key))["tags"]

    def size(self, key):
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    def delete(self, key, *, if_match=None):
        path = self._path(key)
        with self._locked(path):
            if if_match is not None and (not path.exists() or self._etag(path) != if_match):
                raise PreconditionFailed(key)
            for p in (path, self._meta_path(path)):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()

    def list(self, prefix=""):
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key

    def url(self, key):
        return self._path(key).as_uri()

    def iter_chunks(self, key: str) -> Iterator[bytes]:
        with open(self._path(key), "rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    def copy_from_url(self, key, source_url, *, metadata=None, tags=None):
        raise NotImplementedError("a local folder cannot copy from a URL server-side (server_copy is False)")

    @contextlib.contextmanager
    def lease(self, key, seconds=60):
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        lease = _LocalLease(path.with_name(f".{path.name}.lease"), seconds)
        lease.acquire()
        try:
            yield lease
        finally:
            lease.release()


class _LocalLease:
    def __init__(self, path: Path, seconds: int) -> None:
        self.path, self.seconds, self.token = path, seconds, uuid.uuid4().hex

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                holder = json.loads(self.path.read_text())
            except (FileNotFoundError, ValueError):
                holder = {"expires": 0}
            if holder.get("expires", 0) > time.time():
                raise LeaseUnavailable(str(self.path)) from None
            self.path.unlink(missing_ok=True)  # expired: take it over
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        with os.fdopen(fd, "w") as fh:
            json.dump({"token": self.token, "expires": time.time() + self.seconds}, fh)

    def renew(self) -> None:
        self.path.write_text(json.dumps({"token": self.token, "expires": time.time() + self.seconds}))

    def release(self) -> None:
        try:
            if json.loads(self.path.read_text()).get("token") == self.token:
                self.path.unlink()
        except (FileNotFoundError, ValueError):
            pass


def _etag_of(st: os.stat_result) -> str:
    return hashlib.sha1(f"{st.st_mtime_ns}:{st.st_size}:{st.st_ino}".encode()).hexdigest()
