"""Compiling the scanning table into one Hyperscan streaming database, and caching it.

The compiled database is kept per table in the process and serialized to a cache directory
(``DIAGNOSIS_CACHE_DIR``, else ``$XDG_CACHE_HOME/aib-diagnosis`` or ``~/.cache/aib-diagnosis``), keyed by a hash
of the patterns and the Hyperscan version, so a cold start loads it in well under a millisecond. Processes that
start together compile a database once: the first holds a lock beside the cache file, the others wait and load it.
Storing a database removes the ones no process has used for ``UNUSED_DAYS``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from diagnosis.linear import can_match_newline
from diagnosis.scan.core import Table
from diagnosis.scan.linelocal import line_local

try:
    import hyperscan
except ImportError:  # pragma: no cover - depends on the install
    hyperscan = None  # type: ignore[assignment]

log = logging.getLogger(__name__)
CACHE_ENV = "DIAGNOSIS_CACHE_DIR"
_FORMAT = b"aib-diagnosis-hs-4"
UNUSED_DAYS = 14  # a cached database no process loaded or stored for this long is removed at the next store


class PatternNotCompilable(ValueError):
    """Hyperscan can compile a pattern neither exactly nor as a prefilter."""

    def __init__(self, index: int, source: str, reason: str) -> None:
        super().__init__(f"pattern {source!r} cannot be compiled into the scanning automaton: {reason}")
        self.index = index
        self.source = source


@dataclass
class Compiled:
    database: object  # hyperscan.Database
    confirm: list[bool]  # per entry: check the regex on the line before recording
    serialized: bytes | None = None  # a database loaded from the cache may point into these bytes: kept alive
    scratches: threading.local = field(default_factory=threading.local)

    def scratch(self) -> object:
        """This thread's scratch space for the database (a scan call uses it only while it runs)."""
        found = getattr(self.scratches, "scratch", None)
        if found is None:
            found = self.scratches.scratch = hyperscan.Scratch(self.database)
        return found


def available() -> bool:
    return hyperscan is not None


def _flags(source: str, prefilter: bool) -> int:
    flags = hyperscan.HS_FLAG_MULTILINE
    if prefilter:
        flags |= hyperscan.HS_FLAG_PREFILTER
    return flags


_TRAILING_REPEAT = re.compile(r"(?:\+|\{([1-9]\d*),\d*\})\Z")


def automaton_source(source: str) -> str:
    """The pattern as compiled into the automaton: without classes that accept a line feed (``line_local``),
    and a trailing ``+`` or ``{m,n}`` cut to its minimum.

    A line holds a match of ``R Q{m,n}`` exactly when it holds one of ``R Q{m}``, but the automaton reports
    every end of every match: ``Missing field \\w+`` would report each byte of a long word.
    """
    source = line_local(source)
    m = _TRAILING_REPEAT.search(source)
    if m is None:
        return source
    head = source[: m.start()]
    if (len(head) - len(head.rstrip("\\"))) % 2:  # the quantifier character is escaped: a literal
        return source
    return head + (f"{{{m.group(1)}}}" if m.group(1) is not None else "")


def _compile(sources: list[str], prefilter: list[bool]) -> object:
    db = hyperscan.Database(mode=hyperscan.HS_MODE_STREAM)
    db.compile(
        expressions=[automaton_source(s).encode("utf-8") for s in sources],
        ids=list(range(len(sources))),
        elements=len(sources),
        flags=[_flags(s, p) for s, p in zip(sources, prefilter, strict=True)],
    )
    return db


def _exactness(sources: list[str]) -> list[bool]:
    """Per pattern: True when it needs HS_FLAG_PREFILTER (found by compiling it alone; only on error)."""
    prefilter = []
    for i, source in enumerate(sources):
        try:
            _compile([source], [False])
            prefilter.append(False)
        except hyperscan.error:
            try:
                _compile([source], [True])
            except hyperscan.error as exc:
                raise PatternNotCompilable(i, source, str(exc)) from None
            prefilter.append(True)
    return prefilter


def _cache_dir() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "aib-diagnosis"


_PROCESS_CACHE: dict[str, Compiled] = {}


def compiled_for(table: Table) -> Compiled:
    """The database for ``table``: from the process, from the disk cache, or compiled (then cached)."""
    found = table.derived.get("hyperscan")
    if found is not None:
        return found
    sources = table.sources
    digest = hashlib.sha256(
        b"\0".join([_FORMAT, str(getattr(hyperscan, "__version__", "")).encode(), *(s.encode() for s in sources)])
    ).hexdigest()
    found = _PROCESS_CACHE.get(digest)
    if found is not None:
        table.derived["hyperscan"] = found
        return found
    path = _cache_dir() / f"{digest}.hsdb"
    compiled = _load(path, len(sources))
    if compiled is None:
        with _compile_lock(path):  # another process may have compiled it while this one waited
            compiled = _load(path, len(sources)) or _compile_and_store(sources, path)
    _PROCESS_CACHE[digest] = table.derived["hyperscan"] = compiled
    return compiled


def _compile_and_store(sources: list[str], path: Path) -> Compiled:
    try:
        db = _compile(sources, [False] * len(sources))
        prefilter = [False] * len(sources)
    except hyperscan.error:
        prefilter = _exactness(sources)
        db = _compile(sources, prefilter)
    newline = [can_match_newline(line_local(s)) for s in sources]  # matches that may span lines
    compiled = Compiled(db, [n or p for n, p in zip(newline, prefilter, strict=True)])
    _store(path, compiled)
    return compiled


@contextlib.contextmanager
def _compile_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``<digest>.lock`` beside the cache file while this process compiles, so processes that
    start together (test workers, a Functions host's worker processes) compile a database once and the others load
    it. Without POSIX locks or a writable cache directory, each process compiles."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    lock = path.with_suffix(".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock.touch(exist_ok=True)
    except OSError:
        yield
        return
    with lock.open("ab") as handle:  # closing the file releases the lock, also when the compile raises
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _load(path: Path, count: int) -> Compiled | None:
    """A cached database: one confirm flag per entry, then the serialized database."""
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # in use: kept by the pruning in _store
    try:
        flags, data = blob[:count], blob[count:]
        db = hyperscan.loadb(data, hyperscan.HS_MODE_STREAM)
        db.scratch = hyperscan.Scratch(db)  # a loaded database comes without one
        return Compiled(db, [flag == 1 for flag in flags], data)
    except Exception:  # a damaged or foreign cache file: compile again
        log.debug("ignoring unreadable scanner cache %s", path)
        return None


def _store(path: Path, compiled: Compiled) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        blob = bytes(1 if c else 0 for c in compiled.confirm) + hyperscan.dumpb(compiled.database)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only home: the process cache still applies
        log.debug("scanner cache not written (%s)", exc)
        return
    _prune(path.parent)


def _prune(directory: Path) -> None:
    """Removes the databases of knowledge bases no process has loaded or stored for ``UNUSED_DAYS`` (each version of
    the built-in rules leaves one of a few MB, each ``--rules`` file a small one), with their lock files."""
    cutoff = time.time() - UNUSED_DAYS * 86400
    for old in directory.glob("*.hsdb"):
        with contextlib.suppress(OSError):
            if old.stat().st_mtime < cutoff:
                old.unlink()
                old.with_suffix(".lock").unlink(missing_ok=True)
