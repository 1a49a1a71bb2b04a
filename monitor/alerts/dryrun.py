"""The dispatcher of ``sweep --dry-run``: decides everything a real one would (filters, silences, route, channels)
and delivers nothing. ``would_send`` says, per alert, where it would have gone or why it would not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .dispatch import AlertDispatcher, DispatchResult
from .model import Alert
from .outbox import OutboxReport


@dataclass(frozen=True)
class WouldSend:
    kind: str
    template: str  # resource group/name
    channels: tuple[str, ...]
    route: str
    held_back: str | None  # the filter or silence that would keep it back


class DryRunDispatcher:
    def __init__(self, real: AlertDispatcher) -> None:
        self.real = real
        self.would_send: list[WouldSend] = []

    @property
    def channels(self) -> dict[str, Any]:
        return self.real.channels

    def send(self, alert: Alert, *, hold: bool = True) -> DispatchResult:
        reason = self.real.filter_reason(alert)
        silence = None if reason else self.real.silenced_by(alert)
        if silence is not None:
            reason = f"silenced by {silence.id}: {silence.reason}"
        route, names = self.real.targets(alert)
        self.would_send.append(
            WouldSend(alert.kind, f"{alert.resource_group}/{alert.template_name}", tuple(names), route, reason)
        )
        return DispatchResult(dedupe_key=alert.dedupe_key, kind=alert.kind, filtered=reason or "dry run", route=route)

    def flush_outbox(self) -> OutboxReport:
        return OutboxReport()
