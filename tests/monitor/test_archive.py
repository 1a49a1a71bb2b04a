"""Streamed archive copies between two Azurite accounts: byte-identical, size-checked, partial when the source
vanishes between chunks, incremental live snapshots, and a diagnosis fed from the same stream."""

from __future__ import annotations

import hashlib
import os

from monitor.archive.copy import Tee, assemble_parts, copy_streamed, iter_object, source_chunks
from monitor.archive.live import snapshot_live
from monitor.storage import LocalDirStore
from monitor.storage.blob import BlobStore

MB = 1024 * 1024


def _digest(chunks) -> str:
    h = hashlib.sha256()
    for c in chunks:
        h.update(c)
    return h.hexdigest()


def test_copy_is_byte_identical_and_verified(archive_store: BlobStore, staging_container) -> None:
    data = os.urandom(9 * MB + 123)
    src = staging_container.get_blob_client("f1/customization.log")
    src.upload_blob(data)
    result = copy_streamed(archive_store, "run/customization.log", source_chunks(src), source_size=len(data),
                           metadata={"k": "v"}, tags={"state": "failed"})
    assert result.verified and not result.partial and result.written == len(data)
    assert _digest(iter_object(archive_store, "run/customization.log")) == hashlib.sha256(data).hexdigest()


def test_source_deleted_between_chunks_leaves_partial(archive_store: BlobStore, staging_container) -> None:
    data = b"line of log\n" * (2 * MB)  # 24 MiB: several 4 MiB ranged reads
    src = staging_container.get_blob_client("f1/customization.log")
    src.upload_blob(data)
    seen = []

    def delete_after_first(chunk: bytes) -> None:
        seen.append(len(chunk))
        if len(seen) == 1:
            src.delete_blob()  # the pipeline deletes the template (and its staging storage) mid-copy

    result = copy_streamed(archive_store, "run/customization.log", source_chunks(src), source_size=len(data),
                           on_chunk=delete_after_first)
    assert result.partial and "deleted" in result.reason
    assert 0 < result.written < len(data)
    assert archive_store.size("run/customization.log") == result.written
    assert b"".join(iter_object(archive_store, "run/customization.log")) == data[: result.written]


def test_live_snapshots_read_only_new_bytes(archive_store: BlobStore, staging_container) -> None:
    from azure.storage.blob import BlobType

    src = staging_container.get_blob_client("f1/customization.log")
    src.create_append_blob()
    parts: list[list] = []
    offset = 0
    full = b""
    for i in range(3):
        piece = f"[op] PACKER OUT step {i}\n".encode() * (1000 * (i + 1))
        src.append_block(piece)
        full += piece
        size = src.get_blob_properties().size
        snap = snapshot_live(archive_store, "run", src, size, offset, tail_bytes=1000)
        assert snap.part_key is not None and snap.offset == size
        parts.append([offset, snap.offset - offset, snap.part_key])
        assert archive_store.size(snap.part_key) == len(piece)  # only what was new
        assert snap.tail == full[-1000:]
        offset = snap.offset
    again = snapshot_live(archive_store, "run", src, offset, offset, tail_bytes=500)
    assert again.part_key is None and again.tail == full[-500:]
    assert b"".join(assemble_parts(archive_store, parts)) == full
    assert src.get_blob_properties().blob_type == BlobType.APPENDBLOB


def test_tee_feeds_a_consumer_while_copying(tmp_path) -> None:
    store = LocalDirStore(tmp_path)
    data = [os.urandom(100_000) for _ in range(50)]
    tee = Tee(lambda chunks: _digest(chunks))
    result = copy_streamed(store, "x.log", iter(data), source_size=sum(map(len, data)), on_chunk=tee.put)
    assert tee.finish() == hashlib.sha256(b"".join(data)).hexdigest()
    assert result.verified


def test_tee_consumer_that_stops_early_does_not_block_the_copy(tmp_path) -> None:
    store = LocalDirStore(tmp_path)

    def first_only(chunks):
        return len(next(iter(chunks)))

    tee = Tee(first_only, maxsize=1)
    result = copy_streamed(store, "x.log", (b"x" * 1000 for _ in range(200)), source_size=200_000,
                           on_chunk=tee.put)
    assert tee.finish(timeout=10) == 1000 and result.written == 200_000
