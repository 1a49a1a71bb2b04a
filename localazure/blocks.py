"""Writing block blobs in bounded memory, as the local cloud writes its staging logs: a whole blob from any input
(``put_blob``) or more bytes after the existing ones, the way a live log grows (``append_blob``)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobClient

BLOCK_SIZE = 8 * 1024 * 1024


def put_blob(blob: BlobClient, data: bytes | str | BinaryIO | Iterable[bytes]) -> int:
    """Write (replace) ``blob`` in blocks of at most ``BLOCK_SIZE``; returns the size written."""
    block_ids, size = _stage(blob, data)
    blob.commit_block_list(block_ids)
    return size


def append_blob(blob: BlobClient, data: bytes | str | Iterable[bytes]) -> int:
    """Append to ``blob`` (created when missing): the new bytes are staged as blocks and committed after the
    existing ones, so the ETag and size change like a re-upload. Returns the new size."""
    try:
        committed, _ = blob.get_block_list("committed")
        existing = [b.id for b in committed]
        size = sum(b.size for b in committed)
    except ResourceNotFoundError:
        existing, size = [], 0
    if not existing and size == 0:
        try:  # a blob written in one Put Blob has no block list: keep its bytes as the first block
            current = blob.download_blob().readall()
        except ResourceNotFoundError:
            current = b""
        if current:
            existing, size = _stage(blob, current)
    new_ids, added = _stage(blob, data)
    blob.commit_block_list(existing + new_ids)
    return size + added


def _stage(blob: BlobClient, data: bytes | str | BinaryIO | Iterable[bytes]) -> tuple[list[str], int]:
    block_ids: list[str] = []
    size = 0
    for block in _blocks(data):
        block_id = base64.b64encode(uuid.uuid4().bytes).decode("ascii")
        blob.stage_block(block_id, block, length=len(block))
        block_ids.append(block_id)
        size += len(block)
    return block_ids, size


def _blocks(data: bytes | str | BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    """Re-chunk any input into blocks of at most BLOCK_SIZE without holding more than one block."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        for start in range(0, len(view), BLOCK_SIZE):
            yield bytes(view[start : start + BLOCK_SIZE])
        return
    if hasattr(data, "read"):
        while chunk := data.read(BLOCK_SIZE):  # type: ignore[union-attr]
            yield chunk
        return
    buffer = bytearray()
    for chunk in data:
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8")
        buffer += chunk
        while len(buffer) >= BLOCK_SIZE:
            yield bytes(buffer[:BLOCK_SIZE])
            del buffer[:BLOCK_SIZE]
    if buffer:
        yield bytes(buffer)
