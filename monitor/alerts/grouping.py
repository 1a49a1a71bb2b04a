"""Grouping: one cause failing many templates within ``ALERT_GROUP_WINDOW_MINUTES`` becomes one alert.

Alertmanager's ``group_wait``, small: the first failure of a group (same alert kind, category and knowledge-base
entry) opens a window; failures of the same group arriving within it are held beside it in the archive container
(``alerts/groups/``, conditional writes, so every instance adds to the same group). When the window has closed,
the next flush (every sweep) sends the group: its first alert alone, or that alert listing the other templates in
``Alert.group``. Failures the knowledge base cannot explain (``unknown``) and stuck / recovered alerts are never
grouped: they go out at once. A window of 0 turns grouping off.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from diagnosis.times import iso, parse_time
from monitor.storage import ObjectStore, PreconditionFailed

from .model import BUILD_FAILED, SUBMISSION_FAILED, Alert

log = logging.getLogger("monitor.alerts")

PREFIX = "alerts/groups/"
GROUPABLE_KINDS = (BUILD_FAILED, SUBMISSION_FAILED)
MAX_MEMBERS = 200


def group_key(alert: Alert) -> str | None:
    """What makes two failures "one cause": kind, category and the knowledge-base entry; None: never grouped."""
    diagnosis = alert.diagnosis or {}
    category = diagnosis.get("category")
    if alert.kind not in GROUPABLE_KINDS or not category or category in ("unknown", "none") or alert.resend:
        return None
    return f"{alert.kind}|{category}|{diagnosis.get('rule_id') or ''}"


def member(alert: Alert) -> dict[str, Any]:
    """How a grouped alert lists another template that failed the same way."""
    return {
        "template_name": alert.template_name,
        "resource_group": alert.resource_group,
        "template_id": alert.template_id,
        "run_key": alert.run_key,
        "start_time": alert.start_time,
        "log_url": alert.log_url,
        "portal_url": alert.portal_url,
    }


@dataclass
class GroupEntry:
    key: str
    opened_at: str
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        return json.dumps(self.__dict__, sort_keys=True).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> GroupEntry:
        raw = json.loads(data)
        return cls(key=str(raw["key"]), opened_at=str(raw["opened_at"]), alerts=list(raw.get("alerts") or []))


def merged(alerts: list[Alert]) -> Alert:
    """The group as one alert: the first failure, listing the others (in arrival order) in ``group``."""
    first, rest = alerts[0], alerts[1:]
    first.group = [member(a) for a in rest]
    return first


class AlertGroups:
    def __init__(
        self, store: ObjectStore, window: timedelta, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.store = store
        self.window = window
        self.clock = clock or (lambda: datetime.now(UTC))

    @property
    def enabled(self) -> bool:
        return self.window > timedelta(0)

    def _entry_key(self, key: str) -> str:
        return f"{PREFIX}{hashlib.sha256(key.encode()).hexdigest()[:40]}.json"

    def hold(self, alert: Alert) -> bool:
        """Keep ``alert`` in its group's window; False when it is not grouped (send it now)."""
        key = group_key(alert) if self.enabled else None
        if key is None:
            return False
        blob = self._entry_key(key)
        for _ in range(20):
            obj = self.store.get(blob)
            if obj is None:
                entry = GroupEntry(key=key, opened_at=iso(self.clock()) or "", alerts=[alert.to_dict()])
                try:
                    self.store.put(blob, entry.to_bytes(), if_none_match=True, content_type="application/json")
                except PreconditionFailed:
                    continue
                log.info("alert %s for %s opens group %s for %s", alert.kind, alert.template_name, key, self.window)
                return True
            entry = GroupEntry.from_bytes(obj.data)
            if any(a.get("run_key") == alert.run_key and a.get("kind") == alert.kind for a in entry.alerts):
                return True  # the same run handed over twice: held once
            if len(entry.alerts) >= MAX_MEMBERS:
                return False
            entry.alerts.append(alert.to_dict())
            try:
                self.store.put(blob, entry.to_bytes(), if_match=obj.etag, content_type="application/json")
            except PreconditionFailed:
                continue
            log.info("alert %s for %s joins group %s", alert.kind, alert.template_name, key)
            return True
        return False  # the group kept changing: do not hold the alert back

    def due(self) -> list[Alert]:
        """The groups whose window has closed, each as one alert; they leave the store (claimed by if-match)."""
        out: list[Alert] = []
        now = self.clock()
        for blob in list(self.store.list(PREFIX)):
            obj = self.store.get(blob)
            if obj is None:
                continue
            try:
                entry = GroupEntry.from_bytes(obj.data)
            except (ValueError, KeyError, TypeError) as exc:
                log.error("unreadable alert group %s (%s): removed", blob, exc)
                self.store.delete(blob)
                continue
            opened = parse_time(entry.opened_at)
            if opened is not None and opened + self.window > now:
                continue
            try:
                self.store.delete(blob, if_match=obj.etag)
            except PreconditionFailed:
                continue  # another flush took it, or an alert just joined: the next flush sends it
            alerts = [Alert.from_dict(a) for a in entry.alerts]
            if alerts:
                out.append(merged(alerts))
        return out
