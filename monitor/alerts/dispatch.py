"""AlertDispatcher: filters an alert, delivers it to every configured channel, queues what failed in the
outbox.

The monitor decides *which* alerts to emit; the dispatcher only filters (``ALERT_MIN_SEVERITY``,
``ALERT_MUTE_CATEGORIES``, active silences), picks the channels (the first matching ``ALERT_ROUTES`` route, else
the default channels), delivers, and remembers undelivered alerts. One failing channel never holds up the
others. A channel that just failed transiently is not tried again for ``cooldown`` seconds: later alerts for
it go
straight to the outbox so a sweep does not wait out the retry budget once per alert during an outage.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from monitor.settings import SEVERITIES, Settings
from monitor.storage import ObjectStore

from .channel import Channel
from .email_webhook import EmailWebhookChannel
from .files import FileChannel
from .grouping import AlertGroups
from .model import Alert
from .outbox import DEFAULT_MAX_ENTRIES, Outbox, OutboxReport
from .retry import DeliveryOutcome, Retrier, RetryPolicy
from .routing import ChannelSpec, Route, select
from .silences import Silence, SilenceStore
from .teams_messagecard import TeamsMessageCardChannel
from .teams_workflows import TeamsWorkflowsChannel
from .webhook import JsonWebhookChannel

log = logging.getLogger("monitor.alerts")

SILENCE_CACHE_SECONDS = 60.0


@dataclass
class DispatchResult:
    dedupe_key: str
    kind: str
    filtered: str | None = None  # why the alert was not sent (severity / muted category / silence)
    route: str = "default"  # the ALERT_ROUTES route that chose the channels
    held: bool = False  # kept for ALERT_GROUP_WINDOW_MINUTES to be sent with the same cause's other failures
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
        routes: Sequence[Route] = (),
        route_channels: Sequence[Channel] = (),
        silences: SilenceStore | None = None,
        groups: AlertGroups | None = None,
    ) -> None:
        names = [c.name for c in (*channels, *route_channels)]
        if len(set(names)) != len(names):
            raise ValueError(f"channel names must be unique, got {names}")
        if not channels:
            raise ValueError("at least one channel (or the files channel) is required")
        self.channels = {c.name: c for c in (*channels, *route_channels)}
        self.default_channels = [c.name for c in channels]
        self.routes = list(routes)
        for route in self.routes:
            missing = [route.channel_name(s) for s in route.channels if route.channel_name(s) not in self.channels]
            if missing:
                raise ValueError(f"route {route.name}: no channel {missing}")
        self.silences = silences
        self.groups = groups
        self._silence_cache: tuple[float, list[Silence]] = (0.0, [])
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
        language = settings.alert_language
        rules = tuple(str(p) for p in settings.diagnosis_rules)
        channels: list[Channel] = []
        if settings.teams_webhook_url:
            teams = (
                TeamsMessageCardChannel
                if settings.teams_webhook_format == "messagecard"
                else TeamsWorkflowsChannel
            )
            channels.append(teams(settings.teams_webhook_url, retrier, language=language, rules=rules))
        if settings.email_webhook_url:
            channels.append(
                EmailWebhookChannel(
                    settings.email_webhook_url, settings.email_to, retrier, language=language, rules=rules
                )
            )
        if settings.alert_webhook_url:
            channels.append(JsonWebhookChannel(settings.alert_webhook_url, retrier, language=language, rules=rules))
        if not channels:
            channels.append(FileChannel(settings.alert_dir, language=language, rules=rules))
        routes = list(settings.alert_routes)
        route_channels = [
            _route_channel(route, spec, retrier, os.environ, language=language, rules=rules)
            for route in routes
            for spec in route.channels
        ]
        return cls(
            channels,
            Outbox(store, max_entries=max_outbox),
            min_severity=settings.alert_min_severity,
            muted_categories=settings.alert_mute_categories,
            routes=routes,
            route_channels=route_channels,
            silences=SilenceStore(store),
            groups=AlertGroups(store, timedelta(minutes=settings.alert_group_window_minutes)),
        )

    # -- filtering --
    def filter_reason(self, alert: Alert) -> str | None:
        if severity_rank(alert.severity) < severity_rank(self.min_severity):
            return f"severity {alert.severity} is below ALERT_MIN_SEVERITY={self.min_severity}"
        if alert.category and alert.category in self.muted_categories:
            return f"category {alert.category} is muted by ALERT_MUTE_CATEGORIES"
        return None

    def silenced_by(self, alert: Alert) -> Silence | None:
        """The active silence that holds ``alert`` back; the list is read from the store at most once a minute."""
        if self.silences is None:
            return None
        read_at, active = self._silence_cache
        if time.monotonic() - read_at > SILENCE_CACHE_SECONDS:
            active = self.silences.active()
            self._silence_cache = (time.monotonic(), active)
        return self.silences.matching(alert, active)

    def targets(self, alert: Alert) -> tuple[str, list[str]]:
        """(route name, channel names) for ``alert``: the first matching route, else the default channels."""
        route = select(self.routes, alert)
        if route is None:
            return "default", list(self.default_channels)
        return route.name, [route.channel_name(spec) for spec in route.channels]

    # -- delivery --
    def _is_down(self, name: str) -> bool:
        return self._down_until.get(name, 0.0) > time.monotonic()

    def deliver(self, channel: Channel, alert: Alert) -> DeliveryOutcome:
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

    def send(self, alert: Alert, *, hold: bool = True) -> DispatchResult:
        """Deliver ``alert`` (or hold it for its group's window when ``hold`` and grouping are on)."""
        result = DispatchResult(dedupe_key=alert.dedupe_key, kind=alert.kind)
        reason = self.filter_reason(alert)
        if reason:
            result.filtered = reason
            log.info("alert %s for template %s not sent: %s", alert.kind, alert.template_name, reason)
            return result
        silence = self.silenced_by(alert)
        if silence is not None:
            result.filtered = f"silenced by {silence.id} until {silence.expires_at}: {silence.reason}"
            log.info("alert %s for template %s not sent: %s", alert.kind, alert.template_name, result.filtered)
            return result
        if hold and self.groups is not None and self.groups.hold(alert):
            result.held = True
            return result
        result.route, names = self.targets(alert)
        errors: dict[str, str] = {}
        for name in names:
            channel = self.channels[name]
            if self._is_down(name) and self.outbox is not None:
                result.queued.append(name)
                errors[name] = "channel failing in this sweep; not tried"
                continue
            outcome = self.deliver(channel, alert)
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

    def replay_dead_letters(self, keys: Sequence[str] | None = None) -> tuple[int, int]:
        """Deliver dead letters again (all, or ``keys``); a delivered one is removed. Returns (delivered, failed)."""
        if self.outbox is None:
            return 0, 0
        delivered = failed = 0
        wanted = set(keys) if keys is not None else None
        for key, record in self.outbox.dead_letters():
            if wanted is not None and key not in wanted:
                continue
            channel = self.channels.get(str(record.get("channel")))
            if channel is None or not isinstance(record.get("alert"), dict):
                log.warning("dead letter %s cannot be replayed: no channel %s", key, record.get("channel"))
                failed += 1
                continue
            outcome = self.deliver(channel, Alert.from_dict(record["alert"]))
            if outcome.ok:
                self.outbox.drop_dead_letter(key)
                delivered += 1
            else:
                log.warning("dead letter %s replay to %s failed: %s", key, channel.name, outcome.error)
                failed += 1
        return delivered, failed

    def flush_outbox(self) -> OutboxReport:
        """Retry every waiting alert once (oldest first); report what still waits."""
        report = OutboxReport()
        if self.groups is not None:  # groups whose window closed go out first, each as one alert
            for grouped in self.groups.due():
                self.send(grouped, hold=False)
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
                outcome = self.deliver(channel, alert)
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


def _route_channel(
    route: Route, spec: ChannelSpec, retrier: Retrier, environ: Mapping[str, str], **options: Any
) -> Channel:
    """A route's channel: the integration's own class, with the URL from the app setting the route names."""
    url = environ[spec.url_setting]
    channel: Channel
    if spec.type == "teams":
        channel = TeamsWorkflowsChannel(url, retrier, **options)
    elif spec.type == "teams-messagecard":
        channel = TeamsMessageCardChannel(url, retrier, **options)
    elif spec.type == "email":
        channel = EmailWebhookChannel(url, spec.to, retrier, **options)
    else:
        channel = JsonWebhookChannel(url, retrier, **options)
    channel.name = route.channel_name(spec)  # the outbox records pending deliveries by this name
    return channel
