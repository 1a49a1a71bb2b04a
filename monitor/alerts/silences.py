"""Silences: "do not alert on these for a while", stored beside the outbox and honoured by every channel.

A silence is a matcher (``monitor.alerts.routing.Matcher``), a reason, who set it and when it expires. Each is one
JSON object under ``alerts/silences/`` in the archive container, so every instance of the app and the CLI see the
same set. Expired silences stop matching at once and are removed by the next ``prune`` (every sweep).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from diagnosis.times import iso, parse_time
from monitor.storage import ObjectStore

from .model import Alert
from .routing import Matcher, RoutesError, parse_matcher

log = logging.getLogger("monitor.alerts")

PREFIX = "alerts/silences/"
MAX_SILENCES = 500
MAX_DURATION = timedelta(days=90)


@dataclass(frozen=True)
class Silence:
    id: str
    match: Matcher
    reason: str
    created_by: str
    created_at: str
    expires_at: str

    def active(self, now: datetime) -> bool:
        expires = parse_time(self.expires_at)
        return expires is not None and expires > now

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "match": self.match.to_dict(),
            "reason": self.reason,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Silence:
        return cls(
            id=str(data["id"]),
            match=parse_matcher(data.get("match"), f"silence {data.get('id')}"),
            reason=str(data.get("reason", "")),
            created_by=str(data.get("created_by", "")),
            created_at=str(data.get("created_at", "")),
            expires_at=str(data.get("expires_at", "")),
        )


class SilenceStore:
    def __init__(self, store: ObjectStore, *, clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.clock = clock or (lambda: datetime.now(UTC))

    def add(self, match: Matcher, duration: timedelta, reason: str, created_by: str = "") -> Silence:
        if not match.to_dict():
            raise RoutesError("a silence needs at least one condition (template, resource group, tag, category)")
        if not timedelta(0) < duration <= MAX_DURATION:
            raise RoutesError(f"a silence lasts more than 0 and at most {MAX_DURATION.days} days")
        if not reason.strip():
            raise RoutesError("a silence needs a reason")
        if len(list(self.store.list(PREFIX))) >= MAX_SILENCES:
            self.prune()
            if len(list(self.store.list(PREFIX))) >= MAX_SILENCES:
                raise RoutesError(f"at most {MAX_SILENCES} silences; remove some first")
        now = self.clock()
        silence = Silence(
            id=secrets.token_hex(4),
            match=match,
            reason=reason.strip()[:500],
            created_by=created_by.strip()[:200],
            created_at=iso(now) or "",
            expires_at=iso(now + duration) or "",
        )
        self.store.put(PREFIX + f"{silence.id}.json", json.dumps(silence.to_dict()).encode(), if_none_match=True)
        log.info("silence %s added until %s: %s (%s)", silence.id, silence.expires_at, match.describe(), reason)
        return silence

    def all(self) -> list[Silence]:
        out = []
        for key in self.store.list(PREFIX):
            obj = self.store.get(key)
            if obj is None:
                continue
            try:
                out.append(Silence.from_dict(json.loads(obj.data)))
            except (ValueError, KeyError, TypeError, RoutesError) as exc:
                log.warning("ignoring unreadable silence %s: %s", key, exc)
        return sorted(out, key=lambda s: s.expires_at)

    def active(self) -> list[Silence]:
        now = self.clock()
        return [s for s in self.all() if s.active(now)]

    def remove(self, silence_id: str) -> bool:
        key = PREFIX + f"{silence_id}.json"
        if self.store.get(key) is None:
            return False
        self.store.delete(key)
        log.info("silence %s removed", silence_id)
        return True

    def prune(self) -> int:
        now = self.clock()
        expired = [s for s in self.all() if not s.active(now)]
        for s in expired:
            self.store.delete(PREFIX + f"{s.id}.json")
        return len(expired)

    def matching(self, alert: Alert, silences: list[Silence] | None = None) -> Silence | None:
        """The first active silence that matches ``alert`` (None: deliver it)."""
        now = self.clock()
        for s in self.active() if silences is None else silences:
            if s.active(now) and s.match.matches(alert):
                return s
        return None
