"""The shared retrier against real local HTTP receivers with injected faults."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from monitor.alerts.retry import Retrier, RetryPolicy, parse_retry_after

from .conftest import FAST, SECRET_PATH, SECRET_SIG, Reply

BODY = b'{"hello": "world"}'


def _assert_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        text = record.getMessage()
        assert SECRET_SIG not in text, text
        assert SECRET_PATH not in text, text
        assert "5ecret0f1a2b3c" not in text, text


@pytest.mark.parametrize(("status", "body"), [(200, "1"), (202, ""), (204, "")])
def test_any_2xx_is_success(receiver, fast_retrier, status, body):
    rx = receiver(Reply(status, body=body))
    outcome = fast_retrier.post_json("teams", rx.url, BODY)
    assert outcome.ok and outcome.status == status and outcome.attempts == 1
    assert len(rx.requests) == 1
    assert rx.requests[0].body == BODY
    assert rx.requests[0].headers["Content-Type"].startswith("application/json")


def test_500_then_200_is_retried_with_the_same_body(receiver, fast_retrier):
    rx = receiver().then(Reply(500, body="boom"))
    outcome = fast_retrier.post_json("webhook", rx.url, BODY)
    assert outcome.ok and outcome.attempts == 2
    assert [r.status for r in rx.requests] == [500, 202]
    assert rx.requests[0].body == rx.requests[1].body == BODY


def test_429_honours_retry_after_seconds(receiver, fast_retrier):
    rx = receiver().then(Reply(429, headers={"Retry-After": "1"}))
    outcome = fast_retrier.post_json("teams", rx.url, BODY)
    assert outcome.ok and outcome.attempts == 2
    gap = rx.requests[1].at - rx.requests[0].at
    assert gap >= 1.0, f"retried after {gap:.2f}s although Retry-After said 1s"
    assert gap < 3.0


def test_429_honours_retry_after_http_date(receiver, fast_retrier):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    rx = receiver().then(Reply(429, headers={"Retry-After": when}))
    outcome = fast_retrier.post_json("teams", rx.url, BODY)
    assert outcome.ok
    assert rx.requests[1].at - rx.requests[0].at >= 0.9  # the date has 1 s resolution


def test_retry_after_longer_than_allowed_is_left_to_the_outbox(receiver):
    rx = receiver(Reply(429, headers={"Retry-After": "3600"}))
    outcome = Retrier(FAST).post_json("teams", rx.url, BODY)
    assert not outcome.ok and not outcome.permanent and outcome.transient
    assert outcome.attempts == 1 and outcome.error == "HTTP 429"


@pytest.mark.parametrize("status", [408, 502, 503, 504])
def test_408_and_5xx_are_retried(receiver, fast_retrier, status):
    rx = receiver().then(Reply(status), Reply(status))
    outcome = fast_retrier.post_json("email", rx.url, BODY)
    assert outcome.ok and outcome.attempts == 3


def test_persistent_5xx_gives_up_after_the_attempts(receiver, fast_retrier):
    rx = receiver(Reply(503))
    outcome = fast_retrier.post_json("email", rx.url, BODY)
    assert outcome.transient and outcome.attempts == FAST.attempts
    assert len(rx.requests) == FAST.attempts


def test_timeout_is_retried(receiver):
    rx = receiver().then(Reply(202, delay=2.0))
    outcome = Retrier(FAST).post_json("teams", rx.url, BODY)
    assert outcome.ok and outcome.attempts == 2
    assert len(rx.requests) == 2


def test_dropped_connection_is_retried(receiver, fast_retrier):
    rx = receiver().then(Reply(drop=True))
    outcome = fast_retrier.post_json("teams", rx.url, BODY)
    assert outcome.ok and outcome.attempts == 2


def test_connection_refused_is_transient(refused_url, fast_retrier, caplog):
    caplog.set_level(logging.DEBUG)
    outcome = fast_retrier.post_json("teams", refused_url, BODY)
    assert outcome.transient and outcome.status is None
    assert outcome.attempts == FAST.attempts
    assert outcome.error == "connection refused"
    assert outcome.host == "127.0.0.1"
    _assert_no_secret(caplog)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
def test_other_4xx_are_permanent_and_logged_with_the_body(receiver, fast_retrier, caplog, status):
    rx = receiver(
        Reply(status, body='{"error": {"code": "InvalidRequestContent", "message": "card is bad"}}')
    )
    with caplog.at_level(logging.ERROR, logger="monitor.alerts"):
        outcome = fast_retrier.post_json("teams", rx.url, BODY)
    assert outcome.permanent and not outcome.ok and outcome.attempts == 1
    assert len(rx.requests) == 1
    assert "InvalidRequestContent" in outcome.response_excerpt
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("InvalidRequestContent" in m and f"HTTP {status}" in m and "teams" in m for m in errors), (
        errors
    )


def test_webhook_url_is_never_logged(receiver, refused_url, caplog):
    """DEBUG level included: urllib3 logs request paths there; an echoing receiver must not leak it either."""
    caplog.set_level(logging.DEBUG)
    retrier = Retrier(FAST)
    rx = receiver().then(Reply(500), Reply(429, headers={"Retry-After": "0"}))
    assert retrier.post_json("teams", rx.url, BODY).ok
    echo = receiver(Reply(400, body=f"bad request to {rx.url} (sig={SECRET_SIG})"))
    outcome = retrier.post_json("email", echo.url, BODY)
    assert outcome.permanent
    assert SECRET_SIG not in outcome.response_excerpt and SECRET_PATH not in outcome.response_excerpt
    retrier.post_json("webhook", refused_url, BODY)
    messages = [r.getMessage() for r in caplog.records]
    assert any("urllib3" in r.name for r in caplog.records), "expected urllib3 debug lines to be checked too"
    assert any("127.0.0.1" in m for m in messages)  # the host is fine to log
    _assert_no_secret(caplog)
    assert SECRET_SIG not in repr(outcome) and SECRET_PATH not in repr(outcome)


def test_backoff_is_exponential_with_jitter_and_capped():
    low = Retrier(RetryPolicy(base_delay=1.0, max_delay=8.0), rng=lambda: 0.0)
    high = Retrier(RetryPolicy(base_delay=1.0, max_delay=8.0), rng=lambda: 1.0)
    assert [low.backoff(n) for n in (1, 2, 3, 4, 5, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert [high.backoff(n) for n in (1, 2, 3, 4, 5, 6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_waits_use_backoff_and_stop_at_the_budget(receiver):
    waits: list[float] = []
    clock = [0.0]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    retrier = Retrier(
        RetryPolicy(attempts=10, base_delay=1.0, max_delay=4.0, budget=9.0),
        sleep=sleep,
        rng=lambda: 1.0,
        clock=lambda: clock[0],
    )
    rx = receiver(Reply(500))
    outcome = retrier.post_json("webhook", rx.url, BODY)
    assert waits == [1.0, 2.0, 4.0]  # the next wait (4 s) would pass the 9 s budget
    assert outcome.transient and outcome.attempts == 4


def test_parse_retry_after():
    now = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("Fri, 27 Nov 2026 10:00:30 GMT", now) == 30.0
    assert parse_retry_after("Fri, 27 Nov 2026 09:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_min_interval_spaces_posts_to_one_channel(receiver):
    rx = receiver()
    now = [100.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    retrier = Retrier(FAST, sleep=sleep, clock=lambda: now[0])
    assert retrier.post_json("teams", rx.url, BODY, min_interval=0.3).ok
    now[0] += 0.1  # the next post comes 0.1 s later: it waits the rest of the interval
    assert retrier.post_json("teams", rx.url, BODY, min_interval=0.3).ok
    assert retrier.post_json("teams", rx.url, BODY, min_interval=0.3).ok
    assert retrier.post_json("email", rx.url, BODY, min_interval=0.3).ok  # another channel does not wait
    now[0] += 1.0
    assert retrier.post_json("teams", rx.url, BODY, min_interval=0.3).ok  # the interval has passed: no wait
    assert sleeps == pytest.approx([0.2, 0.3])
    assert len(rx.requests) == 5
