"""AlertDispatcher + outbox end to end: real receivers, a real LocalDirStore, settings read like in
production."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from devtools.samples import sample_alert
from monitor.alerts import AlertDispatcher
from monitor.alerts.model import ALERT_KINDS, BUILD_FAILED, BUILD_STUCK, RECOVERED
from monitor.alerts.outbox import Outbox
from monitor.alerts.retry import DeliveryOutcome, Retrier
from monitor.settings import Settings
from monitor.storage import LocalDirStore

from .conftest import FAST, SECRET_PATH, SECRET_SIG, Reply


def settings(**env: str) -> Settings:
    return Settings.from_env(env)


def make(env: dict[str, str], store: LocalDirStore, **kw) -> AlertDispatcher:
    return AlertDispatcher.from_settings(settings(**env), store, retrier=Retrier(FAST), **kw)


def failed_alert(n: int = 0):
    """Distinct runs of a failing template (distinct dedupe keys)."""
    alert = sample_alert(BUILD_FAILED)
    return replace(alert, run_key=f"{alert.template_id}|2026-11-27T0{n % 10}:00:00Z")


@pytest.fixture
def store(tmp_path) -> LocalDirStore:
    return LocalDirStore(tmp_path / "archive")


def test_no_channel_writes_files(tmp_path, store):
    alerts_dir = tmp_path / "alerts"
    dispatcher = make({"ALERT_DIR": str(alerts_dir)}, store)
    result = dispatcher.send(sample_alert(BUILD_FAILED))
    assert result.sent and result.delivered == ["files"] and len(result.files) == 1
    text = Path(result.files[0]).read_text(encoding="utf-8")
    assert "Image build failed: win2022-golden" in text and "customization.log:1203" in text
    documents = list(alerts_dir.glob("*.json"))
    assert len(documents) == 1
    document = json.loads(documents[0].read_text())
    assert document["category"] == "customizer-failed" and document["kind"] == BUILD_FAILED


def test_every_configured_channel_gets_the_alert_once(receiver, store):
    teams, mail, hook = receiver(), receiver(), receiver()
    dispatcher = make(
        {
            "TEAMS_WEBHOOK_URL": teams.url,
            "EMAIL_WEBHOOK_URL": mail.url,
            "EMAIL_TO": "ops@example.com; images@example.com",
            "ALERT_WEBHOOK_URL": hook.url,
        },
        store,
    )
    result = dispatcher.send(sample_alert(BUILD_FAILED))
    assert sorted(result.delivered) == ["email", "teams", "webhook"] and result.sent
    assert len(teams.requests) == len(mail.requests) == len(hook.requests) == 1

    card_message = teams.requests[0].json
    assert card_message["type"] == "message"
    attachment = card_message["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["version"] == "1.4"

    email = mail.requests[0].json
    assert email["to"] == ["ops@example.com", "images@example.com"]
    assert email["subject"].startswith("[AIB FAILED] Image build failed: win2022-golden")
    assert "<html" in email["html"] and "customization.log:1203" in email["text"]

    document = hook.requests[0].json
    assert document["category"] == "customizer-failed"
    assert document["diagnosis"]["failed_customizer"]["customizer_name"] == "install-dotnet"
    assert document["template_id"].endswith("/imageTemplates/win2022-golden")
    assert document["log_url"].endswith("customization.log")
    assert len(Outbox(store)) == 0


def test_messagecard_format(receiver, store):
    teams = receiver(Reply(200, body="1"))  # legacy connectors answer 200 "1"
    dispatcher = make({"TEAMS_WEBHOOK_URL": teams.url, "TEAMS_WEBHOOK_FORMAT": "messagecard"}, store)
    assert dispatcher.send(sample_alert(BUILD_STUCK)).sent
    card = teams.requests[0].json
    assert card["@type"] == "MessageCard" and card["themeColor"]
    assert {a["name"] for a in card["potentialAction"]} == {"Portal", "Log", "Guide"}


def test_alert_language_reaches_every_channel(receiver, store):
    """ALERT_LANGUAGE=ru: the card, the email and the JSON document's text are Russian."""
    teams, email, hook = receiver(), receiver(), receiver()
    settings = {
        "TEAMS_WEBHOOK_URL": teams.url,
        "EMAIL_WEBHOOK_URL": email.url,
        "EMAIL_TO": "ops@example.com",
        "ALERT_WEBHOOK_URL": hook.url,
        "ALERT_LANGUAGE": "ru",
    }
    assert make(settings, store).send(sample_alert(BUILD_FAILED)).sent
    card = teams.requests[0].json["attachments"][0]["content"]
    assert card["body"][0]["items"][0]["text"] == "ОШИБКА"
    assert [a["title"] for a in card["actions"]] == ["Портал", "Журнал", "Справка"]
    mail = email.requests[0].json
    assert mail["subject"].startswith("[AIB ОШИБКА] Сборка образа завершилась с ошибкой: win2022-golden")
    assert '<html lang="ru">' in mail["html"] and "Что делать" in mail["html"]
    document = hook.requests[0].json
    assert document["language"] == "ru" and "Причина:" in document["text"]
    assert document["diagnosis"]["cause"].startswith("The PowerShell customizer")  # the data stays as diagnosed


def test_min_severity_and_muted_categories(receiver, store):
    hook = receiver()
    dispatcher = make(
        {
            "ALERT_WEBHOOK_URL": hook.url,
            "ALERT_MIN_SEVERITY": "warning",
            "ALERT_MUTE_CATEGORIES": "interactive-prompt, quota-or-capacity",
        },
        store,
    )
    recovered = dispatcher.send(sample_alert(RECOVERED))
    assert recovered.filtered and "ALERT_MIN_SEVERITY" in recovered.filtered and not recovered.delivered
    stuck = dispatcher.send(sample_alert(BUILD_STUCK))  # category interactive-prompt
    assert stuck.filtered and "interactive-prompt" in stuck.filtered
    failed = dispatcher.send(sample_alert(BUILD_FAILED))
    assert failed.sent
    assert [r.json["kind"] for r in hook.requests] == [BUILD_FAILED]


def test_error_threshold_keeps_errors_only(receiver, store):
    hook = receiver()
    dispatcher = make({"ALERT_WEBHOOK_URL": hook.url, "ALERT_MIN_SEVERITY": "error"}, store)
    sent = [k for k in ALERT_KINDS if dispatcher.send(sample_alert(k)).sent]
    assert sorted(sent) == ["build-failed", "submission-failed"]


def test_one_failing_channel_does_not_hold_up_the_others(receiver, refused_url, store):
    hook = receiver()
    dispatcher = make({"TEAMS_WEBHOOK_URL": refused_url, "ALERT_WEBHOOK_URL": hook.url}, store)
    result = dispatcher.send(sample_alert(BUILD_FAILED))
    assert result.delivered == ["webhook"] and result.queued == ["teams"] and not result.sent
    assert len(hook.accepted) == 1
    outbox = Outbox(store)
    [(_key, entry, _etag)] = list(outbox.entries())
    assert entry.pending == ["teams"] and entry.last_error["teams"] == "connection refused"


def test_every_alert_arrives_exactly_once_after_an_outage(receiver, store, caplog):
    """The webhook answers 429/500 for a while; after it recovers each alert arrives once, none twice."""
    hook = receiver(Reply(500))
    dispatcher = make({"ALERT_WEBHOOK_URL": hook.url}, store)
    alerts = [failed_alert(n) for n in range(5)]
    results = [dispatcher.send(a) for a in alerts]
    assert all(r.queued == ["webhook"] for r in results)
    # After the first failure the channel cools down: later alerts are queued without waiting out retries.
    assert len(hook.requests) == FAST.attempts

    hook.fail(Reply(429, headers={"Retry-After": "0"}))
    report = make({"ALERT_WEBHOOK_URL": hook.url}, store).flush_outbox()  # the next sweep, still throttled
    assert report.waiting == 5 and report.delivered == 0 and report.waiting_by_channel == {"webhook": 5}
    assert not hook.accepted

    hook.recover()
    report = make({"ALERT_WEBHOOK_URL": hook.url}, store).flush_outbox()
    assert report.delivered == 5 and report.waiting == 0
    keys = [(r.json["run_key"], r.json["kind"]) for r in hook.accepted]
    assert sorted(keys) == sorted((a.run_key, a.kind) for a in alerts)  # each exactly once

    again = make({"ALERT_WEBHOOK_URL": hook.url}, store).flush_outbox()
    assert again.delivered == 0 and again.waiting == 0
    assert len(hook.accepted) == 5
    assert not any(SECRET_SIG in r.getMessage() or SECRET_PATH in r.getMessage() for r in caplog.records)


def test_the_outbox_holds_an_alert_once(refused_url, receiver, store):
    dispatcher = make({"ALERT_WEBHOOK_URL": refused_url}, store)
    alert = failed_alert(1)
    dispatcher.send(alert)
    dispatcher.send(alert)  # a duplicate hand-over (e.g. the monitor retried after a crash)
    assert len(Outbox(store)) == 1
    hook = receiver()
    report = make({"ALERT_WEBHOOK_URL": hook.url}, store).flush_outbox()
    # The stored alert still names the old channel "webhook", now pointing at a working receiver.
    assert report.delivered == 1 and len(hook.accepted) == 1


def test_concurrent_flushes_deliver_once(receiver, store):
    hook = receiver(Reply(503))
    first = make({"ALERT_WEBHOOK_URL": hook.url}, store)
    for n in range(6):
        first.send(failed_alert(n))
    hook.recover()
    hook.default = Reply(202, delay=0.05)  # slow enough for the flushes to overlap
    dispatchers = [make({"ALERT_WEBHOOK_URL": hook.url}, store) for _ in range(3)]
    threads = [threading.Thread(target=d.flush_outbox) for d in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    keys = [r.json["run_key"] for r in hook.accepted]
    assert len(keys) == 6 and len(set(keys)) == 6
    assert len(Outbox(store)) == 0


def test_permanent_rejection_is_kept_as_dead_letter_and_logged(receiver, store, caplog):
    hook = receiver(Reply(400, body='{"error":"Bad Request - card invalid"}'))
    dispatcher = make({"ALERT_WEBHOOK_URL": hook.url}, store)
    with caplog.at_level(logging.ERROR, logger="monitor.alerts"):
        result = dispatcher.send(sample_alert(BUILD_FAILED))
    assert result.rejected == ["webhook"] and not result.queued
    assert len(hook.requests) == 1  # not retried
    outbox = Outbox(store)
    assert len(outbox) == 0 and len(outbox.dead_letter_keys()) == 1
    dead = json.loads(store.get(outbox.dead_letter_keys()[0]).data)
    assert dead["channel"] == "webhook" and "card invalid" in dead["response"]
    assert dead["alert"]["template_name"] == "win2022-golden"
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "card invalid" in messages and "dead letter" in messages
    report = dispatcher.flush_outbox()
    assert report.dead_letters == 1 and report.waiting == 0 and len(hook.requests) == 1


def test_bounded_outbox_drops_the_oldest_loudly(refused_url, store, caplog):
    dispatcher = make({"ALERT_WEBHOOK_URL": refused_url}, store, max_outbox=3)
    alerts = [failed_alert(n) for n in range(5)]
    with caplog.at_level(logging.WARNING, logger="monitor.alerts"):
        for alert in alerts:
            dispatcher.send(alert)
    outbox = Outbox(store)
    assert len(outbox) == 3
    assert len(outbox.dead_letter_keys()) == 2
    kept = sorted(entry.alert["run_key"] for _k, entry, _e in outbox.entries())
    assert kept == sorted(a.run_key for a in alerts[2:])
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert sum("outbox full" in m for m in errors) == 2
    report = dispatcher.flush_outbox()
    assert report.waiting == 3 and report.dead_letters == 2
    assert "3 waiting" in str(report) and "2 dead letter" in str(report)


def test_unreadable_outbox_entry_is_set_aside(receiver, store, caplog):
    store.put("alerts/outbox/garbage.json", b"{not json")
    hook = receiver()
    with caplog.at_level(logging.ERROR, logger="monitor.alerts"):
        report = make({"ALERT_WEBHOOK_URL": hook.url}, store).flush_outbox()
    assert report.waiting == 0 and report.dead_letters == 1
    assert any("unreadable" in r.getMessage() for r in caplog.records)


def test_channel_no_longer_configured_is_not_silently_forgotten(refused_url, receiver, store):
    make({"TEAMS_WEBHOOK_URL": refused_url}, store).send(failed_alert(3))
    hook = receiver()
    report = make({"ALERT_WEBHOOK_URL": hook.url}, store).flush_outbox()
    assert report.newly_dead and report.dead_letters == 1 and report.waiting == 0


class FlakyChannel:
    """A channel (the dispatcher's interface) whose first deliveries crash, like a rendering bug would."""

    name = "flaky"

    def __init__(self, crashes: int) -> None:
        self.crashes, self.delivered = crashes, []

    def deliver(self, alert):
        if self.crashes:
            self.crashes -= 1
            raise RuntimeError("bug while rendering")
        self.delivered.append(alert.dedupe_key)
        return DeliveryOutcome(channel=self.name, ok=True, attempts=1)


def test_a_crashing_channel_keeps_the_alert(store, caplog):
    channel = FlakyChannel(crashes=1)
    dispatcher = AlertDispatcher([channel], Outbox(store))
    with caplog.at_level(logging.ERROR, logger="monitor.alerts"):
        result = dispatcher.send(sample_alert(BUILD_FAILED))
    assert result.queued == ["flaky"] and not result.delivered
    assert any("flaky" in r.getMessage() for r in caplog.records)
    assert dispatcher.flush_outbox().delivered == 1
    assert channel.delivered == [sample_alert(BUILD_FAILED).dedupe_key]


def test_settings_errors_never_echo_webhook_urls(store):
    from monitor.settings import SettingsError

    with pytest.raises(SettingsError) as err:
        Settings.from_env({"TEAMS_WEBHOOK_URL": f"ftp://x{SECRET_PATH}?sig={SECRET_SIG}"})
    assert SECRET_SIG not in str(err.value)
    dispatcher_repr = repr(
        AlertDispatcher.from_settings(
            settings(ALERT_WEBHOOK_URL=f"https://hooks.example{SECRET_PATH}?sig={SECRET_SIG}"), store
        ).channels
    )
    assert SECRET_SIG not in dispatcher_repr and SECRET_PATH not in dispatcher_repr
