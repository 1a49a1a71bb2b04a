"""AlertDispatcher: filters an alert, delivers it to every configured channel, queues what failed in the
outbox.

The monitor decides *which* alerts to emit; the dispatcher only filters (``ALERT_MIN_SEVERITY``,
``ALERT_MUTE_CATEGORIES``), delivers, and remembers undelivered alerts. One failing channel never holds up the
others. A channel that just failed transiently is not tried again for ``cooldown`` seconds: later alerts for
it go
straight to the outbox so a sweep does not wait out the retry budget once per alert during an outage.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field

from monitor.settings import SEVERITIES, Settings
from monitor.storage import ObjectStore

from .channel import Channel
from .email_webhook import EmailWebhookChannel
from .files import FileChannel
from .model import Alert
from .outbox import DEFAULT_MAX_ENTRIES, Outbox, OutboxReport
from .retry import DeliveryOutcome, Retrier, RetryPolicy
from .teams_messagecard import TeamsMessageCardChannel
from .teams_workflows import TeamsWorkflowsChannel
from .webhook import JsonWebhookChannel

log = logging.getLogger("monitor.alerts")


@dataclass
class DispatchResult:
    dedupe_key: str
    kind: str
    filtered: str | None = None  # why the alert was not sent (severity / muted category)
    delivered: list[str] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)  # transient failures, waiting in the outbox
    rejected: list[str] = field(default_factory=list)  # permanent failures, kept as dead letters
    files: list[str] = field(default_factory=list)  # files written (no channel configured)
    outcomes: list[DeliveryOutcome] = field(default_factory=list)

    @property
    def sent(self) -> bool:
        return self.filtered is None and bool(self.delivered) and not self.queued and not self.rejected


def severity_rank(severity: str) -> int:
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        return len(SEVERITIES)  # unknown severities are never filtered out


class AlertDispatcher:
    def __init__(
        self,
        channels: Sequence[Channel],
        outbox: Outbox | None = None,
        *,
        min_severity: str = "info",
        muted_categories: frozenset[str] | set[str] = frozenset(),
        cooldown: float = 60.0,
    ) -> None:
        names = [c.name for c in channels]
        if len(set(names)) != len(names):
            raise ValueError(f"channel names must be unique, got {names}")
        if not channels:
            raise ValueError("at least one channel (or the files channel) is required")
        self.channels = {c.name: c for c in channels}
        self.outbox = outbox
        self.min_severity = min_severity
        self.muted_categories = frozenset(muted_categories)
        self.cooldown = cooldown
        self._down_until: dict[str, float] = {}

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        store: ObjectStore,
        *,
        retrier: Retrier | None = None,
        policy: RetryPolicy | None = None,
        max_outbox: int = DEFAULT_MAX_ENTRIES,
    ) -> AlertDispatcher:
        retrier = retrier or Retrier(policy)
        channels: list[Channel] = []
        if settings.teams_webhook_url:
            teams = (
                TeamsMessageCardChannel
                if settings.teams_webhook_format == "messagecard"
                else TeamsWorkflowsChannel
            )
            channels.append(teams(settings.teams_webhook_url, retrier))
        if settings.email_webhook_url:
            channels.append(EmailWebhookChannel(settings.email_webhook_url, settings.email_to, retrier))
        if settings.alert_webhook_url:
            channels.append(JsonWebhookChannel(settings.alert_webhook_url, retrier))
        if not channels:
            channels.append(FileChannel(settings.alert_dir))
        return cls(
            channels,
            Outbox(store, max_entries=max_outbox),
            min_severity=settings.alert_min_severity,
            muted_categories=settings.alert_mute_categories,
        )

    # -- filtering --
    def filter_reason(self, alert: Alert) -> str | None:
        if severity_rank(alert.severity) < severity_rank(self.min_severity):
            return f"severity {alert.severity} is below ALERT_MIN_SEVERITY={self.min_severity}"
        if alert.category and alert.category in self.muted_categories:
            return f"category {alert.category} is muted by ALERT_MUTE_CATEGORIES"
        return None

    # -- delivery --
    def _is_down(self, name: str) -> bool:
        return self._down_until.get(name, 0.0) > time.monotonic()

    def _deliver(self, channel: Channel, alert: Alert) -> DeliveryOutcome:
        try:
            outcome = channel.deliver(alert)
        # A bug must not lose the alert: it is treated as transient and the alert stays queued.
        except Exception as exc:
            # No exception text in the log (it could quote a URL): the type and where it was raised.
            where = "; ".join(
                f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}"
                for frame in traceback.extract_tb(exc.__traceback__)[-4:]
            )
            log.error(
                "alert channel %s failed while handling alert %s: %s at %s",
                channel.name,
                alert.dedupe_key,
                type(exc).__name__,
                where,
            )
            outcome = DeliveryOutcome(
                channel=channel.name, ok=False, error=f"internal error: {type(exc).__name__}"
            )
        if outcome.transient:
            self._down_until[channel.name] = time.monotonic() + self.cooldown
        elif outcome.ok:
            self._down_until.pop(channel.name, None)
        return outcome

    def send(self, alert: Alert) -> DispatchResult:
        result = DispatchResult(dedupe_key=alert.dedupe_key, kind=alert.kind)
        reason = self.filter_reason(alert)
        if reason:
            result.filtered = reason
            log.info("alert %s for template %s not sent: %s", alert.kind, alert.template_name, reason)
            return result
        errors: dict[str, str] = {}
        for name, channel in self.channels.items():
            if self._is_down(name) and self.outbox is not None:
                result.queued.append(name)
                errors[name] = "channel failing in this sweep; not tried"
                continue
            outcome = self._deliver(channel, alert)
            result.outcomes.append(outcome)
            if outcome.ok:
                result.delivered.append(name)
                if outcome.path:
                    result.files.append(outcome.path)
            elif outcome.permanent:
                result.rejected.append(name)
                if self.outbox is not None:
                    self.outbox.bury(alert.to_dict(), name, outcome.error, response=outcome.response_excerpt)
            else:
                result.queued.append(name)
                errors[name] = outcome.error
        if result.queued:
            if self.outbox is None:
                log.error(
                    "alert %s for template %s NOT delivered to %s and there is no outbox",
                    alert.kind,
                    alert.template_name,
                    ", ".join(result.queued),
                )
            else:
                self.outbox.add(alert, result.queued, errors)
        return result

    def flush_outbox(self) -> OutboxReport:
        """Retry every waiting alert once (oldest first); report what still waits."""
        report = OutboxReport()
        if self.outbox is None:
            return report
        self._down_until.clear()  # a new sweep: give every channel a fresh try
        for key, _entry, _etag in list(self.outbox.entries()):
            claimed = self.outbox.claim(key)
            if claimed is None:
                report.skipped += 1
                continue
            entry, etag = claimed
            alert = Alert.from_dict(entry.alert)
            entry.attempts += 1
            entry.last_attempt_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            for name in list(entry.pending):
                channel = self.channels.get(name)
                if channel is None:
                    self.outbox.bury(entry.alert, name, f"channel {name} is no longer configured")
                    report.newly_dead.append(f"{alert.dedupe_key}|{name}")
                    entry.pending.remove(name)
                    continue
                if self._is_down(name):
                    report.failed += 1
                    continue
                outcome = self._deliver(channel, alert)
                if outcome.ok:
                    entry.pending.remove(name)
                    entry.last_error.pop(name, None)
                    report.delivered += 1
                elif outcome.permanent:
                    self.outbox.bury(entry.alert, name, outcome.error, response=outcome.response_excerpt)
                    report.newly_dead.append(f"{alert.dedupe_key}|{name}")
                    entry.pending.remove(name)
                else:
                    entry.last_error[name] = outcome.error
                    report.failed += 1
            self.outbox.settle(key, entry, etag)
        for _key, entry, _etag in self.outbox.entries():
            report.waiting += 1
            for name in entry.pending:
                report.waiting_by_channel[name] = report.waiting_by_channel.get(name, 0) + 1
        report.dead_letters = len(self.outbox.dead_letter_keys())
        if report.waiting or report.delivered or report.newly_dead:
            log.log(logging.WARNING if report.waiting else logging.INFO, "%s", report)
        return report
