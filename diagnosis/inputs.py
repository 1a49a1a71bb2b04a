"""Opening the CLI's inputs safely: every kind of file named as what it is, every read bounded.

- Regular files are read as they are (a log is streamed, so its size does not matter).
- Pipes, FIFOs, process substitution (``<(az image builder show ...)``), sockets and character devices
  (``/dev/null``, ``/dev/stdin``) are accepted as streams, and reading stops with an ``InputError`` after
  ``MAX_STREAM_BYTES`` (``/dev/zero`` would never end).
- Missing paths, directories and unreadable files raise ``InputError`` saying which.
- JSON documents (``--template``, ``--rules``, JSON inputs) are read up to ``MAX_JSON_BYTES`` and may nest at
  most ``MAX_JSON_DEPTH`` levels.
"""

from __future__ import annotations

import json
import os
import stat
from typing import Any, BinaryIO

MAX_JSON_BYTES = 16 << 20
MAX_JSON_DEPTH = 200
MAX_STREAM_BYTES = 4 << 30


class InputError(Exception):
    """An input that cannot be used as given; the message names it and says why (exit status 2)."""


def _size(n: int) -> str:
    return f"{n >> 30} GiB" if n >= 1 << 30 else f"{n >> 20} MiB"


def file_kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "a special file"


class BoundedReader:
    """A binary stream that raises ``InputError`` once more than ``limit`` bytes were read from it."""

    def __init__(self, raw: BinaryIO, name: str, kind: str, limit: int | None = None) -> None:
        self.raw, self.name, self.kind = raw, name, kind
        self.limit = MAX_STREAM_BYTES if limit is None else limit
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        allowed = self.limit + 1 - self.consumed
        data = self.raw.read(allowed if size is None or size < 0 else min(size, allowed))
        self.consumed += len(data)
        if self.consumed > self.limit:
            raise InputError(f"{self.name}: more than {_size(self.limit)} read from {self.kind}; stopped")
        return data

    def close(self) -> None:
        self.raw.close()


def _mode(path: str, name: str) -> int:
    try:
        return os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except PermissionError:
        raise InputError(f"{name}: permission denied") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{name}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None


def path_kind(path: str, label: str = "") -> str:
    """What ``path`` is (``"a regular file"``, ``"a directory"``, ``"a pipe (FIFO)"``, ...), without opening it."""
    return file_kind(_mode(path, f"{label}{path}"))


def open_input(path: str, label: str = "") -> BinaryIO:
    """Open ``path`` for reading; ``label`` (``"--template "``) prefixes the name in error messages."""
    name = f"{label}{path}"
    mode = _mode(path, name)
    if stat.S_ISDIR(mode):
        raise InputError(f"{name}: is a directory, not a file")
    try:
        fh = open(path, "rb")  # noqa: SIM115 - the caller closes it
    except PermissionError:
        raise InputError(f"{name}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot open {file_kind(mode)} ({exc.strerror or exc})") from None
    if stat.S_ISREG(mode):
        return fh
    return BoundedReader(fh, name, file_kind(mode))  # type: ignore[return-value]


def read_bounded(fh: BinaryIO, name: str, limit: int = MAX_JSON_BYTES) -> bytes:
    """All of ``fh`` when it holds at most ``limit`` bytes; ``InputError`` otherwise."""
    data = fh.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{name}: larger than {_size(limit)}; not a JSON document this tool reads")
    return data


def looks_binary(head: bytes, text: str) -> bool:
    """True when the first bytes of an input (``head``, decoded as ``text``) are not text: mostly NUL bytes
    (``/dev/zero``) or mostly undecodable and control characters (an archive, ``/dev/urandom``)."""
    if len(head) < 512:
        return False
    if len(text) < len(head) // 10:  # decoding drops NUL bytes; UTF-16 text keeps half its length
        return True
    sample = text[:8192]
    junk = sum(1 for c in sample if c == "\ufffd" or (c < " " and c not in "\t\n\r\f\x1b"))
    return junk > len(sample) * 0.3


def json_depth_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``value`` nests arrays/objects more than ``limit`` levels deep (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def parse_json(text: str, name: str) -> Any:
    """``json.loads`` with the nesting limit; ``InputError`` naming the input for anything unreadable."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise InputError(f"{name}: JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}: not a JSON document ({exc})") from None
    if json_depth_exceeds(value):
        raise InputError(f"{name}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value
