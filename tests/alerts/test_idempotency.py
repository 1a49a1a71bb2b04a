"""Every webhook post carries an idempotency key derived from the alert's dedupe key, in a header and in the
body, identical across retries and redeliveries, so a receiver can drop the copies a timeout made."""

from __future__ import annotations

import json

import pytest

from devtools.samples import sample_alert
from monitor.alerts.email_webhook import EmailWebhookChannel
from monitor.alerts.model import BUILD_FAILED, BUILD_STUCK, Alert
from monitor.alerts.retry import IDEMPOTENCY_FIELD, IDEMPOTENCY_HEADER, Retrier, idempotency_key
from monitor.alerts.teams_messagecard import TeamsMessageCardChannel
from monitor.alerts.teams_workflows import TeamsWorkflowsChannel
from monitor.alerts.webhook import JsonWebhookChannel

from .conftest import FAST, Reply

CHANNELS = {
    "teams-workflows": lambda url, r: TeamsWorkflowsChannel(url, r),
    "teams-messagecard": lambda url, r: TeamsMessageCardChannel(url, r),
    "email": lambda url, r: EmailWebhookChannel(url, ["ops@example.com"], r),
    "webhook": lambda url, r: JsonWebhookChannel(url, r),
}


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


@pytest.mark.parametrize("channel_name", sorted(CHANNELS))
def test_a_timed_out_delivery_is_repeated_with_the_same_key(receiver, channel_name):
    # The receiver reads the first post but answers after the client's read timeout: the retrier repeats it.
    rx = receiver().then(Reply(202, delay=FAST.read_timeout + 0.6))
    channel = CHANNELS[channel_name](rx.url, Retrier(FAST))
    alert = sample_alert(BUILD_FAILED)
    outcome = channel.deliver(alert)
    assert outcome.ok and outcome.attempts == 2
    assert len(rx.requests) == 2
    expected = idempotency_key(alert.dedupe_key)
    for request in rx.requests:
        assert _header(request.headers, IDEMPOTENCY_HEADER) == expected
        assert request.json[IDEMPOTENCY_FIELD] == expected
    assert rx.requests[0].body == rx.requests[1].body


@pytest.mark.parametrize("channel_name", sorted(CHANNELS))
def test_redelivery_of_the_same_alert_has_the_same_key_and_other_alerts_differ(receiver, fast_retrier, channel_name):
    rx = receiver()
    channel = CHANNELS[channel_name](rx.url, fast_retrier)
    failed = sample_alert(BUILD_FAILED)
    again = Alert.from_dict(json.loads(json.dumps(failed.to_dict())))  # as the outbox stores and reloads it
    stuck = sample_alert(BUILD_STUCK)
    for alert in (failed, again, stuck):
        assert channel.deliver(alert).ok
    keys = [_header(r.headers, IDEMPOTENCY_HEADER) for r in rx.requests]
    assert keys[0] == keys[1] != keys[2]
    assert [r.json[IDEMPOTENCY_FIELD] for r in rx.requests] == keys


def test_key_is_short_ascii_and_does_not_quote_the_dedupe_key():
    dedupe = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.VirtualMachineImages/imageTemplates/ü|x"
    key = idempotency_key(dedupe)
    assert key.isascii() and len(key) <= 64
    assert "resourceGroups" not in key
    assert key == idempotency_key(dedupe) != idempotency_key(dedupe + "1")
