"""Operator commands against the archive the monitor wrote: a real sweep in the local cloud (Azurite through the
real SDK, identity auth), then `history`, `show`, `resend`, `outbox` and `silence` through `python -m monitor`."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from monitor.cli import main


def failed_build(h, name: str, *, seed: int, ago: timedelta, took: timedelta):
    """A template whose last run failed in a customizer, its log in the staging account; returns it and the start."""
    from localazure import samplelogs

    t = h.add(name)
    h.cloud.put_staging_blob(t.id, t.log_blob_path, bytes(samplelogs.failed_customizer_log(seed=seed)))
    start = datetime.now(UTC) - ago
    h.cloud.set_run_status(
        t.id, "Failed", message=h.cloud.failure_message(t.id, "exit status 1"), start_time=start, end_time=start + took
    )
    return t, start


@pytest.fixture
def swept(harness, monkeypatch):
    """One failed and one healthy template, swept once; the process environment is the monitor's."""
    h = harness
    failed, start = failed_build(h, "tpl-ops", seed=5, ago=timedelta(hours=2), took=timedelta(minutes=20))
    h.add("tpl-fine")
    for key, value in h.env().items():
        monkeypatch.setenv(key, value)
    out = io.StringIO()
    assert main(["sweep"], out=out) == 0, out.getvalue()
    assert h.receiver.kinds() == ["build-failed"]
    return h, failed, start


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_history_lists_the_failed_run_with_its_category(swept):
    _h, failed, start = swept
    code, text = run("history", "--since", "1d")
    assert code == 0
    assert "1 failed or stuck run(s)" in text and f"{failed.resource_group}/tpl-ops" in text
    assert "customizer-failed" in text and "tpl-fine" not in text
    assert "by category: customizer-failed 1" in text
    code, data = run("history", "--json", "--template", "tpl-*")
    (row,) = json.loads(data)
    assert row["state"] == "failed" and row["alerts"] == ["build-failed"]
    assert row["archive_path"].endswith(start.strftime("%Y%m%dT%H%M%SZ"))
    assert json.loads(run("history", "--json", "--category", "permissions")[1]) == []
    assert json.loads(run("history", "--json", "--since", "30m")[1]) == []  # ended 1 h 40 min ago


def test_show_prints_the_stored_diagnosis_and_the_log_path(swept):
    _h, _failed, _start = swept
    (row,) = json.loads(run("history", "--json")[1])
    code, text = run("show", row["archive_path"])
    assert code == 0
    assert "Category:  customizer-failed" in text and "customization.log" in text
    assert "Alerts:" in text and "build-failed" in text
    code, again = run("show", row["run_key"])
    assert code == 0 and again == text
    code, _ = run("show", "no/such/run")
    assert code == 2


def test_resend_delivers_the_alert_again_marked_as_a_resend(swept):
    h, _failed, _start = swept
    (row,) = json.loads(run("history", "--json")[1])
    code, text = run("resend", row["run_key"])
    assert code == 0 and "delivered" in text
    assert h.receiver.kinds() == ["build-failed", "build-failed"]
    assert h.receiver.alerts[-1]["resend"] is True
    assert h.receiver.alerts[-1]["diagnosis"]["category"] == "customizer-failed"
    code, _ = run("resend", row["run_key"], "--channel", "nope")
    assert code == 2


def test_silence_add_list_remove_and_outbox_listing(swept):
    code, text = run("silence", "add", "--template", "tpl-*", "--for", "4h", "--reason", "rebuilding base images")
    assert code == 0 and "silence " in text and "template=tpl-*" in text
    silence_id = text.split()[1]
    code, listing = run("silence", "list")
    assert code == 0 and silence_id in listing and "rebuilding base images" in listing
    assert run("silence", "remove", silence_id)[0] == 0
    assert "0 silence(s)" in run("silence", "list")[1]
    assert run("silence", "remove", silence_id)[0] == 2
    assert run("silence", "add", "--for", "4h", "--reason", "x")[0] == 2  # no condition: refused
    code, text = run("outbox", "--dead-letter")
    assert code == 0 and "0 alert(s) waiting" in text and "0 dead letter(s)" in text


def test_sweep_dry_run_writes_nothing_sends_nothing_and_says_what_it_would_do(harness, monkeypatch):
    h = harness
    failed, _start = failed_build(h, "tpl-dry", seed=9, ago=timedelta(hours=1), took=timedelta(minutes=10))
    for key, value in h.env().items():
        monkeypatch.setenv(key, value)
    code, text = run("sweep", "--dry-run")
    assert code == 0, text
    assert "dry run: nothing was written to the archive and nothing was sent" in text
    assert f"would send build-failed for {failed.resource_group}/tpl-dry to webhook" in text
    assert "customization.log" in text and "would archive" in text
    assert "1 alert(s) would be sent" in text
    assert h.receiver.alerts == []
    assert not h.archive().exists() or list(h.archive().list_blobs()) == []
    code, text = run("sweep")  # the real sweep afterwards does all of it, once
    assert code == 0 and h.receiver.kinds() == ["build-failed"]
    assert any(name.endswith("/alert-build-failed.json") for name in h.archived())


def test_outbox_lists_a_dead_letter_and_replays_it_from_azurite(harness, monkeypatch):
    """A channel refuses an alert for good (400): it becomes a dead letter in the archive container; once the
    receiver is fixed, `outbox --replay` delivers it and removes it."""
    from tests.alerts.conftest import Receiver, Reply

    h = harness
    refusing = Receiver(Reply(400, body="schema mismatch"))
    try:
        failed_build(h, "tpl-dead", seed=3, ago=timedelta(hours=1), took=timedelta(minutes=5))
        for key, value in h.env(ALERT_WEBHOOK_URL=refusing.url).items():
            monkeypatch.setenv(key, value)
        assert run("sweep")[0] == 0
        code, text = run("outbox", "--dead-letter")
        assert code == 0 and "1 dead letter(s)" in text and "tpl-dead" in text and "400" in text
        assert not refusing.accepted
        refusing.recover()
        code, text = run("outbox", "--replay")
        assert code == 0 and "dead letters replayed: 1 delivered, 0 still failing" in text
        assert [r.json["template_name"] for r in refusing.accepted] == ["tpl-dead"]
        assert "0 dead letter(s)" in run("outbox")[1]
    finally:
        refusing.close()
