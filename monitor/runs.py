"""Where a duplicate is suppressed: per-run records, claims and the sweep index, written with conditional writes.

- ``_state/runs/<sha256 of run key>.json``: one ``RunRecord`` per run (template id + run start). Created with
  ``if_none_match`` and updated with ``if_match``; a short *claim* (owner + expiry) inside the record makes
  the archive-and-alert work exactly-once across duplicate Event Grid deliveries and overlapping sweeps:
  ``RunStore.claimed`` is a context manager that yields None when another worker holds the run, and releases the
  claim on exit. ``RunRecord.alerts_sent`` is set only after the dispatcher took an alert, so an alert already
  sent for a run is never sent again.
- ``_state/index.json``: one small object read once per sweep: per template the fingerprint of what was last
  handled (so an unchanged template costs no storage read), whether a run is still active, and the open
  failure (the alerted failed run a later success will announce as recovered).
- ``_state/sweep.lease``: the blob leased for the duration of a sweep.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from diagnosis.times import parse_time
from monitor.deadline import unbounded
from monitor.storage.base import ObjectStore, PreconditionFailed

log = logging.getLogger(__name__)

STATE_PREFIX = "_state"
INDEX_KEY = f"{STATE_PREFIX}/index.json"
SWEEP_LEASE_KEY = f"{STATE_PREFIX}/sweep.lease"
CLAIM_SECONDS = 30 * 60


def run_record_key(run_key: str) -> str:
    return f"{STATE_PREFIX}/runs/{hashlib.sha256(run_key.encode()).hexdigest()[:40]}.json"


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass
class RunRecord:
    run_key: str
    template_id: str
    template_name: str = ""
    resource_group: str = ""
    subscription_id: str = ""
    state: str = ""  # monitor.observe state last seen
    run_state: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    created_at: str = ""
    updated_at: str = ""
    archive_prefix: str | None = None
    # log capture
    log_account_url: str | None = None
    log_container: str | None = None
    log_folder: str | None = None
    live_offset: int = 0  # bytes of customization.log already snapshotted into live parts
    live_parts: list[list[Any]] = field(default_factory=list)  # [offset, length, key]
    log_size_seen: int | None = None
    last_growth_at: str | None = None
    container_log_digest: str | None = None
    # outcome
    archived: bool = False
    archive_partial: bool = False
    partial_reason: str | None = None
    category: str | None = None
    log_bytes: int | None = None
    # stuck lifecycle
    stuck_first_alert_at: str | None = None
    stuck_last_alert_at: str | None = None
    stuck_alerts: int = 0
    # alerts: dedupe key -> time sent (set only after AlertDispatcher.send returned)
    alerts_sent: dict[str, str] = field(default_factory=dict)
    alerts_held: dict[str, str] = field(default_factory=dict)  # sent key -> the filter or silence that held it back
    finalized: bool = False  # the terminal transition was fully handled
    claim_owner: str | None = None
    claim_expires: str | None = None

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> RunRecord:
        raw = json.loads(data)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})

    @property
    def was_stuck(self) -> bool:
        return self.stuck_first_alert_at is not None

    def sent(self, kind: str) -> bool:
        return kind in self.alerts_sent


class ClaimLost(Exception):
    """Another worker holds (or took over) the claim on this run."""


class RunStore:
    """Load, create and conditionally update run records."""

    def __init__(self, store: ObjectStore, clock: Callable[[], datetime] = now_utc) -> None:
        self.store = store
        self.clock = clock
        self.owner = uuid.uuid4().hex

    def load(self, run_key: str) -> tuple[RunRecord | None, str | None]:
        obj = self.store.get(run_record_key(run_key))
        if obj is None:
            return None, None
        return RunRecord.from_json(obj.data), obj.etag

    def save(self, record: RunRecord, etag: str | None) -> str:
        """Conditional write: create when ``etag`` is None, else update only if unchanged. Raises
        PreconditionFailed."""
        record.updated_at = self.clock().isoformat(timespec="seconds")
        key = run_record_key(record.run_key)
        if etag is None:
            return self.store.put(key, record.to_json(), if_none_match=True, content_type="application/json")
        return self.store.put(key, record.to_json(), if_match=etag, content_type="application/json")

    @contextmanager
    def claimed(self, fresh: RunRecord) -> Iterator[Claim | None]:
        """Hold the work claim on a run for the ``with`` block (its record created from ``fresh`` if absent);
        None when another live worker holds it. The claim is released (one conditional write of the record) when
        the block ends, also on an exception."""
        taken = self.claim(fresh)
        if taken is None:
            yield None
            return
        claim = Claim(self, *taken)
        try:
            yield claim
        finally:
            claim.release()

    def claim(self, fresh: RunRecord) -> tuple[RunRecord, str] | None:
        """Take the work claim on a run (its record created from ``fresh`` if absent): the record and its etag,
        or None when another live worker holds the claim. ``claimed`` is the form that also releases it."""
        for _ in range(20):
            record, etag = self.load(fresh.run_key)
            now = self.clock()
            if record is None:
                record = fresh
                record.created_at = now.isoformat(timespec="seconds")
            elif (
                record.claim_owner
                and record.claim_owner != self.owner
                and record.claim_expires
                and (parse_time(record.claim_expires) or now) > now
            ):
                return None
            record.claim_owner = self.owner
            record.claim_expires = (now + timedelta(seconds=CLAIM_SECONDS)).isoformat(timespec="seconds")
            try:
                return record, self.save(record, etag)
            except PreconditionFailed:
                time.sleep(0.01)
                continue
        return None

    def update(self, record: RunRecord, etag: str, *, release: bool = False) -> str:
        """Write our claimed record; raise ClaimLost if someone changed it meanwhile."""
        if release:
            record.claim_owner = None
            record.claim_expires = None
        try:
            return self.save(record, etag)
        except PreconditionFailed as exc:
            raise ClaimLost(record.run_key) from exc


class Claim:
    """A run record we hold the claim on: ``save()`` writes it mid-way (keeping the claim), leaving the ``with``
    block of ``RunStore.claimed`` writes it once more and releases the claim."""

    def __init__(self, runs: RunStore, record: RunRecord, etag: str) -> None:
        self.runs = runs
        self.record = record
        self.etag = etag

    def save(self) -> None:
        self.etag = self.runs.update(self.record, self.etag)

    def release(self) -> None:
        try:
            with unbounded():  # also after a sweep's deadline: a claim left held would block the run for 30 min
                self.etag = self.runs.update(self.record, self.etag, release=True)
        except ClaimLost:
            log.warning("run %s: claim lost before release", self.record.run_key)


@dataclass
class IndexEntry:
    fp: str = ""  # fingerprint of the template status last fully handled
    active: bool = False  # a run needs a look on every sweep (running, or its handling not finished)
    run_key: str | None = None
    open_failure: str | None = None  # alerted failed run not yet followed by a success
    open_failure_stuck: bool = False
    archive_prefix: str | None = None
    category: str | None = None
    partial: bool = False
    custom_staging_group: str | None = None  # the template's own stagingResourceGroup (not an IT_ group)


class SweepIndex:
    """The per-template summary object, read once per sweep; updates merge per template under ``if_match``."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.entries: dict[str, IndexEntry] = {}
        self.etag: str | None = None
        self.loaded = False

    def load(self) -> SweepIndex:
        obj = self.store.get(INDEX_KEY)
        self.entries, self.etag = ({}, None) if obj is None else (self._decode(obj.data), obj.etag)
        self.loaded = True
        return self

    @staticmethod
    def _decode(data: bytes) -> dict[str, IndexEntry]:
        try:
            raw = json.loads(data)
        except ValueError:
            log.warning("sweep index unreadable; starting afresh")
            return {}
        known = {f.name for f in fields(IndexEntry)}
        return {
            tid: IndexEntry(**{k: v for k, v in e.items() if k in known})
            for tid, e in (raw.get("templates") or {}).items()
        }

    def get(self, template_id: str) -> IndexEntry | None:
        return self.entries.get(template_id.lower())

    def apply(self, changes: dict[str, IndexEntry | None]) -> None:
        """Merge ``changes`` (template id → entry, None = forget) and write with if_match, re-reading on
        conflict."""
        if not changes:
            return
        changes = {k.lower(): v for k, v in changes.items()}
        for _ in range(30):
            if not self.loaded:
                self.load()
            merged = dict(self.entries)
            for tid, entry in changes.items():
                if entry is None:
                    merged.pop(tid, None)
                else:
                    merged[tid] = entry
            body = json.dumps(
                {"version": 1, "templates": {k: asdict(v) for k, v in sorted(merged.items())}},
                separators=(",", ":"),
            ).encode()
            try:
                if self.etag is None:
                    self.etag = self.store.put(
                        INDEX_KEY, body, if_none_match=True, content_type="application/json"
                    )
                else:
                    self.etag = self.store.put(
                        INDEX_KEY, body, if_match=self.etag, content_type="application/json"
                    )
                self.entries = merged
                return
            except PreconditionFailed:
                self.loaded = False
                time.sleep(0.01)
        raise RuntimeError("sweep index: too many concurrent updates")
