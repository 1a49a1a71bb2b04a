"""The one interface every alert channel implements, and the size fitting the webhook channels share."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

from .content import AlertContent, build_content, knowledge_base
from .model import Alert
from .retry import IDEMPOTENCY_FIELD, DeliveryOutcome, Retrier, idempotency_key

log = logging.getLogger("monitor.alerts")

# Teams rejects bodies of about 28 KB (some report 413 near 20 KB): every payload stays under this many bytes.
PAYLOAD_LIMIT = 20_000


class Channel(Protocol):
    name: str  # stable: the outbox records pending deliveries by channel name

    def deliver(self, alert: Alert) -> DeliveryOutcome: ...


def encode(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def with_idempotency_key(body: bytes, key: str) -> bytes:
    """``body`` (an encoded JSON object) with ``idempotency_key`` as its first member."""
    payload = json.loads(body)
    if not isinstance(payload, dict):
        return body
    payload.pop(IDEMPOTENCY_FIELD, None)
    return encode({IDEMPOTENCY_FIELD: key, **payload})


def fit(
    content: AlertContent, render: Callable[[AlertContent], Any], limit: int = PAYLOAD_LIMIT
) -> tuple[bytes, int]:
    """Render at the smallest trim level that fits ``limit``; returns (body, level). Evidence goes first."""
    body = b""
    for level in range(content.max_trim_level + 1):
        body = encode(render(content.trimmed(level)))
        if len(body) < limit:
            return body, level
    log.warning(
        "alert payload is %d bytes even fully trimmed (limit %d); sending it anyway", len(body), limit
    )
    return body, content.max_trim_level


class WebhookChannel:
    """A channel that renders the alert to JSON and posts it through the shared retrier."""

    name = "webhook"
    min_interval = 0.0  # seconds between posts to the same channel

    def __init__(
        self,
        url: str,
        retrier: Retrier,
        *,
        limit: int = PAYLOAD_LIMIT,
        language: str = "en",
        rules: tuple[str, ...] | None = None,
    ) -> None:
        self._url = url  # never logged: only the host is
        self.retrier = retrier
        self.limit = limit
        self.language = language  # ALERT_LANGUAGE
        self.rules = rules  # DIAGNOSIS_RULES files (None: from the environment), for the entries' translations

    def __repr__(self) -> str:  # keep the URL out of reprs and tracebacks
        from .retry import host_of

        return f"{type(self).__name__}(host={host_of(self._url)!r})"

    def render(self, alert: Alert) -> bytes:
        return fit(self.content(alert), self.payload, self.limit)[0]

    def content(self, alert: Alert) -> AlertContent:
        return build_content(alert, self.language, knowledge=knowledge_base(self.rules))

    def payload(self, content: AlertContent) -> Any:
        raise NotImplementedError

    def deliver(self, alert: Alert) -> DeliveryOutcome:
        key = idempotency_key(alert.dedupe_key)
        return self.retrier.post_json(
            self.name,
            self._url,
            with_idempotency_key(self.render(alert), key),
            min_interval=self.min_interval,
            idempotency_key=key,
        )
