"""The one retrier every webhook channel posts through.

A connect and a read timeout on every request; retries with exponential backoff and equal jitter (uniform in
[d/2, d]) on connection errors, timeouts, 408, 429 (waiting what ``Retry-After`` asks, when it fits the budget) and
5xx; any 2xx is success; any other status is permanent and logged with (a redacted excerpt of) the response body.

Every post of an alert carries the same idempotency key (``Idempotency-Key`` header, and the channels put it in
the body as ``idempotency_key``), derived from the alert's dedupe key: a receiver that got a delivery the monitor
then timed out on and repeated can drop the repeat.

Webhook URLs carry their secret in the query (``sig=``) or the path (legacy connectors): nothing here ever logs or
returns a URL, only the channel name and the host. urllib3's own DEBUG lines (which print the request path) are
filtered for the same reason.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests

from diagnosis.redact import redact

log = logging.getLogger("monitor.alerts")

RETRYABLE_STATUS = frozenset({408, 429})
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_FIELD = "idempotency_key"


def idempotency_key(dedupe_key: str) -> str:
    """The idempotency key of an alert: the same for every delivery (and redelivery) of one dedupe key.

    A hash, so the header stays short and ASCII whatever the template names contain.
    """
    return "aibmon-" + hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:40]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # requests per delivery, the first included
    base_delay: float = 1.0  # seconds; doubled per attempt
    max_delay: float = 30.0
    max_retry_after: float = (
        120.0  # a longer Retry-After is not waited for here: the outbox retries next sweep
    )
    budget: float = 120.0  # seconds one delivery may take, waits included
    connect_timeout: float = 5.0
    read_timeout: float = 20.0


@dataclass
class DeliveryOutcome:
    channel: str
    ok: bool
    status: int | None = None
    attempts: int = 0
    permanent: bool = False  # retrying will not help (4xx other than 408/429, payload rejected)
    error: str = ""  # short reason, never containing the URL
    response_excerpt: str = ""  # redacted, truncated response body for permanent failures
    host: str = ""
    elapsed: float = 0.0
    path: str | None = None  # files channel: where the alert was written

    @property
    def transient(self) -> bool:
        return not self.ok and not self.permanent


def host_of(url: str) -> str:
    """The only part of a webhook URL we ever log."""
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date. None when absent or
    unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


class _HideWebhookPaths(logging.Filter):
    """Masks the path and query of configured webhook URLs in urllib3's request log lines."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            masked = message
            for secret in self.secrets:
                masked = masked.replace(secret, "/[webhook path hidden]")
            masked = redact(masked)
            if masked != message:
                record.msg, record.args = masked, ()
        return True


_PATH_FILTER = _HideWebhookPaths()
_FILTER_LOCK = threading.Lock()


def _protect(url: str) -> None:
    parts = urlsplit(url)
    secret = parts.path + (f"?{parts.query}" if parts.query else "")
    if len(secret) <= 1:
        return
    with _FILTER_LOCK:
        _PATH_FILTER.secrets.add(secret)
        _PATH_FILTER.secrets.add(parts.path)
        for name in ("urllib3.connectionpool", "urllib3"):
            logger = logging.getLogger(name)
            if _PATH_FILTER not in logger.filters:
                logger.addFilter(_PATH_FILTER)


def _reason(exc: BaseException) -> str:
    """A short description of a transport error without the URL (requests' messages embed it)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "read timeout"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error"
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc).lower()
        if "refused" in text:
            return "connection refused"
        if "reset" in text or "aborted" in text or "remotedisconnected" in text:
            return "connection reset"
        if "name or service" in text or "nodename" in text or "getaddrinfo" in text:
            return "DNS lookup failed"
        return "connection error"
    return type(exc).__name__


class Retrier:
    """Posts JSON bodies with the policy above. One per dispatcher; keeps a per-channel minimum spacing."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.session = session or requests.Session()
        self._sleep, self._rng, self._clock = sleep, rng, clock
        self._last_post: dict[str, float] = {}

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with (equal) jitter: uniform in [d/2, d], d = base * 2^(attempt-1), capped."""
        delay = min(self.policy.max_delay, self.policy.base_delay * (2 ** (attempt - 1)))
        return delay / 2 + self._rng() * delay / 2

    def _space(self, channel: str, min_interval: float) -> None:
        if min_interval <= 0:
            return
        last = self._last_post.get(channel)
        if last is not None:
            wait = last + min_interval - self._clock()
            if wait > 0:
                self._sleep(wait)
        self._last_post[channel] = self._clock()

    def post_json(
        self,
        channel: str,
        url: str,
        body: bytes,
        *,
        min_interval: float = 0.0,
        idempotency_key: str | None = None,
    ) -> DeliveryOutcome:
        """POST ``body`` with retries; every attempt carries ``idempotency_key`` (when given) as a header."""
        _protect(url)
        policy, host = self.policy, host_of(url)
        started = self._clock()
        outcome = DeliveryOutcome(channel=channel, ok=False, host=host)
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "aib-build-monitor"}
        if idempotency_key:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        for attempt in range(1, policy.attempts + 1):
            outcome.attempts = attempt
            self._space(channel, min_interval)
            retry_after: float | None = None
            try:
                response = self.session.post(
                    url, data=body, headers=headers, timeout=(policy.connect_timeout, policy.read_timeout)
                )
            except requests.exceptions.RequestException as exc:
                outcome.status, outcome.error = None, _reason(exc)
            else:
                outcome.status = response.status_code
                text = _excerpt(response, url)
                if 200 <= response.status_code < 300:
                    outcome.ok, outcome.error = True, ""
                    outcome.elapsed = self._clock() - started
                    log.info(
                        "alert channel %s (host %s): delivered, HTTP %d, attempt %d",
                        channel,
                        host,
                        response.status_code,
                        attempt,
                    )
                    return outcome
                if response.status_code in RETRYABLE_STATUS or response.status_code >= 500:
                    outcome.error = f"HTTP {response.status_code}"
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                else:
                    outcome.permanent = True
                    outcome.error = f"HTTP {response.status_code}"
                    outcome.response_excerpt = text
                    outcome.elapsed = self._clock() - started
                    log.error(
                        "alert channel %s (host %s): rejected with HTTP %d (permanent, not retried): %s",
                        channel,
                        host,
                        response.status_code,
                        text or "<empty body>",
                    )
                    return outcome
            if attempt == policy.attempts:
                break
            delay = self.backoff(attempt)
            if retry_after is not None:
                if retry_after > policy.max_retry_after:
                    log.warning(
                        "alert channel %s (host %s): %s, Retry-After %.0fs is longer than %.0fs; "
                        "leaving it to the outbox",
                        channel,
                        host,
                        outcome.error,
                        retry_after,
                        policy.max_retry_after,
                    )
                    break
                delay = retry_after + self._rng() * min(1.0, retry_after * 0.1)
            spent = self._clock() - started
            if spent + delay > policy.budget:
                log.warning(
                    "alert channel %s (host %s): %s; waiting %.1fs more would exceed the %.0fs budget",
                    channel,
                    host,
                    outcome.error,
                    delay,
                    policy.budget,
                )
                break
            log.warning(
                "alert channel %s (host %s): %s, retry %d/%d in %.1fs",
                channel,
                host,
                outcome.error,
                attempt,
                policy.attempts - 1,
                delay,
            )
            self._sleep(delay)
        outcome.elapsed = self._clock() - started
        log.warning(
            "alert channel %s (host %s): not delivered after %d attempt(s): %s",
            channel,
            host,
            outcome.attempts,
            outcome.error,
        )
        return outcome


def _excerpt(response: requests.Response, url: str, limit: int = 500) -> str:
    try:
        text = response.text or ""
    except Exception:  # undecodable body: say so rather than fail the delivery bookkeeping
        return "<unreadable body>"
    text = text[: limit * 4]
    parts = urlsplit(url)
    for secret in (url, parts.path + "?" + parts.query, parts.query, parts.path):
        if len(secret) > 1:  # a receiver echoing the request URL must not make us log it
            text = text.replace(secret, "[webhook url hidden]")
    text = " ".join(redact(text).split())
    return text[:limit] + ("…" if len(text) > limit else "")
