"""The outbox: alerts a channel could not take yet, kept in the archive store and retried on the next sweep.

- One object per alert, named by a hash of ``Alert.dedupe_key``: the same alert is held once, its pending
  channels
  merged (conditional writes, so concurrent writers do not lose each other's channels).
- ``claim`` marks an entry taken (if-match on its etag) so two flushes never deliver the same entry twice.
- Bounded (``max_entries``): when full, the oldest entry is moved to the dead-letter folder and an ERROR
  names it.
  Alerts a channel rejected permanently (4xx) go to the dead-letter folder too. Nothing disappears silently:
  the
  dead letters stay in the store for a person (or a later tool) to look at, and every flush reports their
  count.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from monitor.storage import ObjectStore, PreconditionFailed

from .model import Alert

log = logging.getLogger("monitor.alerts")

OUTBOX_PREFIX = "alerts/outbox/"
DEAD_LETTER_PREFIX = "alerts/dead-letter/"
DEFAULT_MAX_ENTRIES = 1000
DEFAULT_MAX_DEAD_LETTERS = 1000
CLAIM_SECONDS = 900  # longer than one entry can take (retry budget x channels)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")  # orders entries queued in one second


def entry_key(dedupe_key: str, prefix: str = OUTBOX_PREFIX) -> str:
    return f"{prefix}{hashlib.sha256(dedupe_key.encode()).hexdigest()[:40]}.json"


@dataclass
class OutboxEntry:
    alert: dict[str, Any]
    pending: list[str]
    queued_at: str = field(default_factory=_now_iso)
    attempts: int = 0
    last_error: dict[str, str] = field(default_factory=dict)
    last_attempt_at: str | None = None
    claimed_until: float = 0.0

    @property
    def dedupe_key(self) -> str:
        return Alert.from_dict(self.alert).dedupe_key

    def to_bytes(self) -> bytes:
        return json.dumps(self.__dict__, ensure_ascii=False, sort_keys=True).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> OutboxEntry:
        raw = json.loads(data.decode("utf-8"))
        known = set(cls.__dataclass_fields__)
        entry = cls(**{k: v for k, v in raw.items() if k in known})
        if not isinstance(entry.alert, dict) or not isinstance(entry.pending, list):
            raise ValueError("outbox entry without an alert or pending channels")
        return entry


@dataclass
class OutboxReport:
    waiting: int = 0  # entries still in the outbox after this flush
    delivered: int = 0  # (entry, channel) deliveries that succeeded in this flush
    failed: int = 0  # (entry, channel) deliveries that failed again (still waiting)
    skipped: int = 0  # entries claimed by another flush
    dead_letters: int = 0  # alerts in the dead-letter folder (total)
    newly_dead: list[str] = field(default_factory=list)  # dedupe keys moved to dead letters in this flush
    waiting_by_channel: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        text = (
            f"outbox: {self.waiting} waiting, {self.delivered} delivered, {self.failed} failed again, "
            f"{self.dead_letters} dead letter(s)"
        )
        if self.waiting_by_channel:
            text += " (" + ", ".join(f"{k}: {v}" for k, v in sorted(self.waiting_by_channel.items())) + ")"
        return text


class Outbox:
    def __init__(
        self,
        store: ObjectStore,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_dead_letters: int = DEFAULT_MAX_DEAD_LETTERS,
        prefix: str = OUTBOX_PREFIX,
        dead_prefix: str = DEAD_LETTER_PREFIX,
    ) -> None:
        if max_entries < 1 or max_dead_letters < 1:
            raise ValueError("max_entries and max_dead_letters must be at least 1")
        self.store, self.max_entries, self.prefix, self.dead_prefix = store, max_entries, prefix, dead_prefix
        self.max_dead_letters = max_dead_letters

    # -- reading --
    def keys(self) -> list[str]:
        return [k for k in self.store.list(self.prefix) if k.endswith(".json")]

    def __len__(self) -> int:
        return len(self.keys())

    def dead_letter_keys(self) -> list[str]:
        return [k for k in self.store.list(self.dead_prefix) if k.endswith(".json")]

    def dead_letters(self) -> list[tuple[str, dict[str, Any]]]:
        """Every dead letter as (key, record), oldest first; unreadable records are listed with their reason."""
        rows = []
        for key in self.dead_letter_keys():
            obj = self.store.get(key)
            if obj is None:
                continue
            try:
                record = json.loads(obj.data.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                record = {"reason": f"unreadable dead letter: {exc}", "buried_at": ""}
            rows.append((key, record if isinstance(record, dict) else {"reason": "unreadable", "buried_at": ""}))
        rows.sort(key=lambda row: str(row[1].get("buried_at", "")))
        return rows

    def drop_dead_letter(self, key: str) -> None:
        self.store.delete(key)

    def read(self, key: str) -> tuple[OutboxEntry, str] | None:
        obj = self.store.get(key)
        if obj is None:
            return None
        try:
            return OutboxEntry.from_bytes(obj.data), obj.etag
        except (ValueError, TypeError, UnicodeDecodeError) as exc:
            self._bury_raw(key, obj.data, f"unreadable outbox entry: {exc}")
            return None

    def entries(self) -> Iterator[tuple[str, OutboxEntry, str]]:
        """Oldest first."""
        rows = []
        for key in self.keys():
            found = self.read(key)
            if found:
                rows.append((key, *found))
        rows.sort(key=lambda row: row[1].queued_at)
        yield from rows

    # -- writing --
    def add(self, alert: Alert, channels: list[str], errors: dict[str, str] | None = None) -> None:
        """Queue ``alert`` for ``channels``; merged into an existing entry for the same dedupe key."""
        key = entry_key(alert.dedupe_key, self.prefix)
        for _ in range(20):
            found = self.read(key)
            if found is None:
                self._make_room()
                entry = OutboxEntry(
                    alert=alert.to_dict(), pending=sorted(set(channels)), last_error=dict(errors or {})
                )
                try:
                    self.store.put(
                        key,
                        entry.to_bytes(),
                        if_none_match=True,
                        content_type="application/json",
                        metadata={"kind": alert.kind, "template": _ascii(alert.template_name)},
                    )
                except PreconditionFailed:
                    continue
            else:
                entry, etag = found
                entry.pending = sorted(set(entry.pending) | set(channels))
                entry.last_error.update(errors or {})
                try:
                    self.store.put(key, entry.to_bytes(), if_match=etag, content_type="application/json")
                except PreconditionFailed:
                    continue
            log.warning(
                "alert %s (%s, template %s) queued in the outbox for %s",
                alert.kind,
                alert.dedupe_key,
                alert.template_name,
                ", ".join(sorted(set(channels))),
            )
            return
        raise RuntimeError(f"outbox entry for {alert.dedupe_key} kept changing; could not queue it")

    def claim(self, key: str) -> tuple[OutboxEntry, str] | None:
        found = self.read(key)
        if found is None:
            return None
        entry, etag = found
        if entry.claimed_until > time.time():
            return None
        entry.claimed_until = time.time() + CLAIM_SECONDS
        try:
            return entry, self.store.put(
                key, entry.to_bytes(), if_match=etag, content_type="application/json"
            )
        except PreconditionFailed:
            return None

    def settle(self, key: str, entry: OutboxEntry, etag: str) -> None:
        """Write back a claimed entry: deleted when nothing is pending, else released with its new state."""
        try:
            if not entry.pending:
                self.store.delete(key, if_match=etag)
            else:
                entry.claimed_until = 0.0
                self.store.put(key, entry.to_bytes(), if_match=etag, content_type="application/json")
        except PreconditionFailed:
            log.error("outbox entry %s changed while claimed; its state may repeat a delivery", key)

    def bury(self, alert_data: dict[str, Any], channel: str, reason: str, *, response: str = "") -> str:
        """Keep an alert a channel will never take in the dead-letter folder; returns its key."""
        dedupe = Alert.from_dict(alert_data).dedupe_key
        key = entry_key(f"{dedupe}|{channel}", self.dead_prefix)
        record = {
            "alert": alert_data,
            "channel": channel,
            "reason": reason,
            "response": response,
            "buried_at": _now_iso(),
        }
        self.store.put(
            key,
            json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8"),
            content_type="application/json",
        )
        log.error(
            "alert %s for template %s will not be delivered to %s (%s); kept as dead letter %s",
            alert_data.get("kind"),
            alert_data.get("template_name"),
            channel,
            reason,
            key,
        )
        self._bound_dead_letters()
        return key

    def _bound_dead_letters(self) -> None:
        """At most ``max_dead_letters``: the oldest go, each with an ERROR (older ones also expire with the
        archive container's lifecycle policy)."""
        keys = self.dead_letter_keys()
        if len(keys) <= self.max_dead_letters:
            return
        for key, record in self.dead_letters()[: len(keys) - self.max_dead_letters]:
            alert = record.get("alert") if isinstance(record.get("alert"), dict) else {}
            log.error(
                "dead letters full (%d): dropped the oldest, %s for template %s (buried %s: %s)",
                self.max_dead_letters,
                alert.get("kind"),
                alert.get("template_name"),
                record.get("buried_at"),
                record.get("reason"),
            )
            self.store.delete(key)

    def _bury_raw(self, key: str, data: bytes, reason: str) -> None:
        dead = self.dead_prefix + key.rsplit("/", 1)[-1].replace(".json", "") + ".unreadable.json"
        record = {
            "key": key,
            "reason": reason,
            "raw": data[:1_000_000].decode("utf-8", "replace"),
            "buried_at": _now_iso(),
        }
        self.store.put(
            dead, json.dumps(record, ensure_ascii=False).encode("utf-8"), content_type="application/json"
        )
        self.store.delete(key)
        log.error("outbox entry %s is unreadable (%s); moved to %s", key, reason, dead)

    def _make_room(self) -> None:
        keys = self.keys()
        excess = len(keys) - self.max_entries + 1
        if excess <= 0:
            return
        for key, entry, etag in list(self.entries())[:excess]:
            for channel in entry.pending:
                self.bury(entry.alert, channel, f"outbox full ({self.max_entries} entries): oldest dropped")
            try:
                self.store.delete(key, if_match=etag)
            except PreconditionFailed:
                log.error("outbox entry %s changed while being dropped", key)


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")[:200]
