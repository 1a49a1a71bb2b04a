"""Reading a log: any input shape as a stream of UTF-8 byte chunks with LF line ends and no NUL bytes.

Lenient input: UTF-8 with replacement, UTF-16 with BOM (or recognisable without), CRLF (read as LF), NUL bytes.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

CHUNK = 4 << 20  # bytes read per step


@dataclass
class Encoding:
    """The encoding a normalized stream was read in (known after its first chunk)."""

    name: str = "utf-8"


def open_source(log) -> tuple[Iterator[bytes], str]:
    """A chunk iterator over a path, binary file object, bytes, str content or iterable of byte chunks."""
    if isinstance(log, bytes | bytearray | memoryview):
        data = bytes(log)
        return iter([data[i : i + CHUNK] for i in range(0, len(data), CHUNK)] or [b""]), "bytes"
    if isinstance(log, str) and ("\n" in log or "\r" in log):
        return open_source(log.encode("utf-8", "surrogatepass"))
    if isinstance(log, str | os.PathLike):
        path = os.fspath(log)
        fh = open(path, "rb")  # noqa: SIM115 - closed by the generator

        def gen_file() -> Iterator[bytes]:
            with fh:
                while True:
                    block = fh.read(CHUNK)
                    if not block:
                        return
                    yield block

        return gen_file(), str(path)
    if hasattr(log, "read"):

        def gen_read() -> Iterator[bytes]:
            while True:
                block = log.read(CHUNK)
                if not block:
                    return
                if isinstance(block, str):
                    block = block.encode("utf-8", "surrogatepass")
                yield block

        return gen_read(), getattr(log, "name", "stream") if isinstance(
            getattr(log, "name", None), str
        ) else "stream"
    if isinstance(log, Iterable):

        def gen_iter() -> Iterator[bytes]:
            pending: list[bytes] = []
            size = 0
            for block in log:
                if isinstance(block, str):
                    block = block.encode("utf-8", "surrogatepass")
                elif not isinstance(block, bytes):
                    block = bytes(block)
                for i in range(0, len(block), CHUNK):
                    piece = block[i : i + CHUNK] if len(block) > CHUNK else block
                    pending.append(piece)
                    size += len(piece)
                    if size >= CHUNK:
                        yield b"".join(pending)
                        pending, size = [], 0
            if pending:
                yield b"".join(pending)

        return gen_iter(), "stream"
    raise TypeError(f"cannot read a log from {type(log).__name__}")


def normalized(chunks: Iterator[bytes], seen: Encoding) -> Iterator[bytes]:
    """UTF-8 bytes without BOM or NUL bytes and with LF line ends, whatever the input encoding."""
    first = b""
    for first in chunks:
        if first:
            break
    else:
        return
    encoding = None
    if first.startswith(codecs.BOM_UTF8):
        first = first[3:]
    elif first.startswith(codecs.BOM_UTF16_LE) or first.startswith(codecs.BOM_UTF16_BE):
        encoding = "utf-16"
    else:
        sample = first[:4096]
        if len(sample) >= 4:
            even, odd = sample[0::2], sample[1::2]
            if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.1 * len(even):
                encoding = "utf-16-le"
            elif even.count(0) > 0.4 * len(even) and odd.count(0) < 0.1 * len(odd):
                encoding = "utf-16-be"
    if encoding:
        seen.name = encoding
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")

        def transcoded() -> Iterator[bytes]:
            yield decoder.decode(first).encode("utf-8", "replace")
            for block in chunks:
                yield decoder.decode(block).encode("utf-8", "replace")
            yield decoder.decode(b"", final=True).encode("utf-8", "replace")

        source: Iterator[bytes] = transcoded()
    else:

        def raw() -> Iterator[bytes]:
            yield first
            yield from chunks

        source = raw()
    held_cr = False  # a chunk ended in CR: it may be half of a CRLF
    for block in source:
        if b"\0" in block:
            block = block.replace(b"\0", b"")
        if held_cr:
            block = b"\r" + block
        held_cr = block.endswith(b"\r")
        if held_cr:
            block = block[:-1]
        if b"\r" in block and b"\r\n" in block:
            block = block.replace(b"\r\n", b"\n")
        if block:
            yield block
    if held_cr:
        yield b"\r"
