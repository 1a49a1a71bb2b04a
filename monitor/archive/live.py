"""Snapshots of a running build's log: on every look, only the new bytes are read (one ranged read) and stored
as a part ``<run folder>/live/customization.log.<offset>``, so an abrupt template deletion (which deletes the
staging storage) still leaves the log up to the last look. The same read returns the log's tail for the stuck
rules.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from monitor.archive.copy import Guard, source_chunks
from monitor.archive.layout import live_part_key
from monitor.storage.base import ObjectStore

TAIL_BYTES = 64 * 1024


@dataclass
class Snapshot:
    offset: int  # new live offset
    size: int
    part_key: str | None
    tail: bytes = b""


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
        part_key = live_part_key(prefix, offset)
        guard = Guard(new_bytes())
        written = store.upload_stream(part_key, guard, metadata={"offset": str(offset)})
        new_offset = offset + written
        if guard.vanished is not None and written == 0:
            store.delete(part_key)
            part_key = None
    else:
        for _ in Guard(new_bytes()):
            pass
        new_offset = offset
    data = b"".join(tail)[-tail_bytes:]
    return Snapshot(offset=new_offset, size=size, part_key=part_key, tail=data)
