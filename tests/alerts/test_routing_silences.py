"""Routes (first match wins, default channels otherwise) and silences (match until they expire)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from monitor.alerts.model import Alert
from monitor.alerts.routing import Matcher, RoutesError, load_routes, parse_matcher, select
from monitor.alerts.silences import SilenceStore
from monitor.storage import LocalDirStore as LocalStore

from .conftest import FAST, Reply

ENV = {"TEAM_A_TEAMS": "https://prod.example/workflows/a", "TEAM_B_HOOK": "https://hooks.example/b"}


def _alert(**kw) -> Alert:
    values = dict(
        kind="build-failed",
        template_id="/subscriptions/s/resourceGroups/rg-team-a-img/providers/Microsoft.VirtualMachineImages/imageTemplates/win2022",
        template_name="win2022",
        resource_group="rg-team-a-img",
        subscription_id="s",
        diagnosis={"category": "customizer-failed"},
        template_tags={"Team": "A"},
    )
    values.update(kw)
    return Alert(**values)


ROUTES = {
    "routes": [
        {"name": "quota", "match": {"category": "quota-or-capacity"},
         "channels": [{"type": "webhook", "url_setting": "TEAM_B_HOOK"}]},
        {"name": "team-a", "match": {"resource_group": "rg-team-a-*", "tags": {"team": "a"}},
         "channels": [{"type": "teams", "url_setting": "TEAM_A_TEAMS"}]},
    ]
}


def test_first_matching_route_wins_and_unmatched_alerts_use_the_defaults():
    routes = load_routes(json.dumps(ROUTES), ENV)
    assert select(routes, _alert()).name == "team-a"
    assert select(routes, _alert(diagnosis={"category": "quota-or-capacity"})).name == "quota"
    assert select(routes, _alert(resource_group="rg-other")) is None
    assert select(routes, _alert(template_tags={"team": "b"})) is None  # tag values must match too
    assert routes[1].channel_name(routes[1].channels[0]) == "teams@team-a"


@pytest.mark.parametrize(
    ("match", "hit"),
    [
        ({}, True),
        ({"template": ["WIN*"]}, True),
        ({"template": "ubuntu*"}, False),
        ({"tags": {"team": None}}, True),
        ({"tags": {"owner": None}}, False),
        ({"kind": ["build-stuck"]}, False),
        ({"min_severity": "error"}, True),
        ({"min_severity": "critical"}, False),
        ({"category": ["customizer-failed", "permissions"]}, True),
    ],
)
def test_matcher_conditions(match, hit):
    assert parse_matcher(match, "m").matches(_alert()) is hit


@pytest.mark.parametrize(
    ("routes", "problem"),
    [
        ("[", "not valid JSON"),
        ('{"routes": {}}', "expected"),
        ('[{"channels": []}]', "'name' is required"),
        ('[{"name": "a", "channels": []}]', "non-empty list"),
        ('[{"name": "a", "channels": [{"type": "sms", "url_setting": "X"}]}]', "'type' must be one of"),
        ('[{"name": "a", "channels": [{"type": "teams", "url_setting": "MISSING"}]}]', "MISSING is missing"),
        ('[{"name": "a", "channels": [{"type": "email", "url_setting": "TEAM_B_HOOK"}]}]', "needs 'to'"),
        ('[{"name": "a", "match": {"colour": "red"}, "channels": [{"type": "teams", "url_setting": "TEAM_A_TEAMS"}]}]',
         "unknown match key"),
        ("[" * 100000 + "]" * 100000, "nested too deeply"),
    ],
)
def test_bad_routes_are_refused_with_what_is_wrong(routes, problem):
    with pytest.raises(RoutesError, match=problem):
        load_routes(routes, ENV)


def test_routes_never_hold_a_url():
    env = dict(ENV, PLAIN="hooks.example/b?sig=secret")
    with pytest.raises(RoutesError, match="not an http\\(s\\) URL") as caught:
        load_routes('[{"name": "a", "channels": [{"type": "webhook", "url_setting": "PLAIN"}]}]', env)
    assert "secret" not in str(caught.value)  # the error names the setting, never its value


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_silence_matches_until_it_expires_and_is_pruned(tmp_path):
    clock = Clock()
    silences = SilenceStore(LocalStore(tmp_path), clock=clock)
    s = silences.add(Matcher(templates=("win*",)), timedelta(hours=4), "patching window", "alice")
    assert silences.matching(_alert()) == s
    assert silences.matching(_alert(template_name="ubuntu")) is None
    clock.now += timedelta(hours=3, minutes=59)
    assert silences.matching(_alert()) == s
    clock.now += timedelta(minutes=2)
    assert silences.matching(_alert()) is None
    assert [x.id for x in silences.all()] == [s.id]  # listed (expired) until pruned
    assert silences.prune() == 1 and silences.all() == []


def test_silences_are_shared_through_the_store_and_removable(tmp_path):
    first, second = SilenceStore(LocalStore(tmp_path)), SilenceStore(LocalStore(tmp_path))
    s = first.add(Matcher(categories=("quota-or-capacity",)), timedelta(hours=1), "known capacity issue")
    assert [x.id for x in second.active()] == [s.id]
    assert second.remove(s.id) and not second.remove(s.id)
    assert first.active() == []


@pytest.mark.parametrize(
    ("match", "duration", "reason", "problem"),
    [
        (Matcher(), timedelta(hours=1), "r", "at least one condition"),
        (Matcher(templates=("a",)), timedelta(0), "r", "more than 0"),
        (Matcher(templates=("a",)), timedelta(days=91), "r", "at most 90 days"),
        (Matcher(templates=("a",)), timedelta(hours=1), " ", "needs a reason"),
    ],
)
def test_bad_silences_are_refused(tmp_path, match, duration, reason, problem):
    with pytest.raises(RoutesError, match=problem):
        SilenceStore(LocalStore(tmp_path)).add(match, duration, reason)


# ----------------------------------------------------------------------------- through the dispatcher


def _dispatcher(store, **env):
    from monitor.alerts import AlertDispatcher
    from monitor.alerts.retry import Retrier
    from monitor.settings import Settings

    settings = Settings.from_env(env)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        return AlertDispatcher.from_settings(settings, store, retrier=Retrier(FAST))


def test_a_route_sends_a_templates_alert_only_to_its_teams_webhook(receiver, tmp_path):
    default, team_a = receiver(), receiver()
    routes = {"routes": [{"name": "team-a", "match": {"resource_group": "rg-team-a-*"},
                          "channels": [{"type": "webhook", "url_setting": "TEAM_A_HOOK"}]}]}
    store = LocalStore(tmp_path / "archive")
    dispatcher = _dispatcher(
        store, ALERT_WEBHOOK_URL=default.url, TEAM_A_HOOK=team_a.url, ALERT_ROUTES=json.dumps(routes)
    )
    result = dispatcher.send(_alert())
    assert result.sent and result.route == "team-a" and result.delivered == ["webhook@team-a"]
    other = dispatcher.send(_alert(resource_group="rg-platform", run_key="other"))
    assert other.sent and other.route == "default" and other.delivered == ["webhook"]
    assert [r.json["template_name"] for r in team_a.accepted] == ["win2022"]
    assert [r.json["resource_group"] for r in default.accepted] == ["rg-platform"]


def test_a_silence_suppresses_every_channel_then_expires(receiver, tmp_path):
    hook = receiver()
    store = LocalStore(tmp_path / "archive")
    dispatcher = _dispatcher(store, ALERT_WEBHOOK_URL=hook.url)
    clock = Clock()
    silences = SilenceStore(store, clock=clock)
    dispatcher.silences = silences
    silence = silences.add(Matcher(templates=("win*",)), timedelta(hours=4), "image rebuild in progress")
    held = dispatcher.send(_alert())
    assert not held.sent and silence.id in held.filtered and "image rebuild" in held.filtered
    assert hook.requests == []
    clock.now += timedelta(hours=5)
    dispatcher._silence_cache = (0.0, [])  # a later sweep reads the silences again
    assert dispatcher.send(_alert()).sent
    assert len(hook.accepted) == 1


def test_bad_routes_stop_the_monitor_at_start_up_naming_the_setting():
    from monitor.settings import Settings, SettingsError

    routes = '[{"name": "a", "channels": [{"type": "teams", "url_setting": "MISSING"}]}]'
    with pytest.raises(SettingsError, match=r"ALERT_ROUTES.*MISSING"):
        Settings.from_env({"ALERT_ROUTES": routes})


# ----------------------------------------------------------------------------- dead letters


def test_dead_letters_are_bounded_with_an_error_and_can_be_replayed(receiver, tmp_path, caplog):
    from monitor.alerts.outbox import Outbox

    hook = receiver()
    hook.fail(Reply(400, body="bad payload"))
    store = LocalStore(tmp_path / "archive")
    dispatcher = _dispatcher(store, ALERT_WEBHOOK_URL=hook.url)
    dispatcher.outbox = Outbox(store, max_dead_letters=2)
    for n in range(3):
        result = dispatcher.send(_alert(run_key=f"run-{n}"))
        assert result.rejected == ["webhook"]
    rows = dispatcher.outbox.dead_letters()
    assert [r["alert"]["run_key"] for _k, r in rows] == ["run-1", "run-2"]  # the oldest went
    assert any("dead letters full (2): dropped the oldest" in m for m in caplog.messages)
    hook.recover()
    assert dispatcher.replay_dead_letters() == (2, 0)
    assert dispatcher.outbox.dead_letters() == []
    assert sorted(r.json["run_key"] for r in hook.accepted) == ["run-1", "run-2"]


# ----------------------------------------------------------------------------- grouping


def test_three_templates_failing_with_one_cause_give_one_grouped_alert(receiver, tmp_path):
    from monitor.alerts.grouping import AlertGroups

    hook = receiver()
    store = LocalStore(tmp_path / "archive")
    dispatcher = _dispatcher(store, ALERT_WEBHOOK_URL=hook.url, ALERT_GROUP_WINDOW_MINUTES="10")
    clock = Clock()
    dispatcher.groups = AlertGroups(store, timedelta(minutes=10), clock=clock)
    cause = {"category": "quota-or-capacity", "rule_id": "quota-exceeded"}
    for n, name in enumerate(("win2022", "win2019", "ubuntu")):
        clock.now += timedelta(minutes=2)
        result = dispatcher.send(_alert(template_name=name, run_key=f"run-{n}", diagnosis=cause))
        assert result.held and not result.sent
    other = dispatcher.send(_alert(template_name="rhel", run_key="other", diagnosis={"category": "unknown"}))
    assert other.sent
    dispatcher.send(_alert(template_name="win2019", run_key="run-1", diagnosis=cause))  # handed over twice
    dispatcher.flush_outbox()  # window still open: nothing more
    assert [r.json["template_name"] for r in hook.accepted] == ["rhel"]
    clock.now += timedelta(minutes=10)
    dispatcher.flush_outbox()
    assert [r.json["template_name"] for r in hook.accepted] == ["rhel", "win2022"]
    grouped = hook.accepted[-1].json
    assert [m["template_name"] for m in grouped["group"]] == ["win2019", "ubuntu"]
    assert grouped["headline"].endswith("win2022 and 2 more")
    dispatcher.flush_outbox()
    assert len(hook.accepted) == 2  # sent once


def test_unknown_failures_and_stuck_builds_are_never_grouped(tmp_path):
    from monitor.alerts.grouping import AlertGroups

    groups = AlertGroups(LocalStore(tmp_path), timedelta(minutes=10))
    assert not groups.hold(_alert(diagnosis={"category": "unknown"}))
    assert not groups.hold(_alert(kind="build-stuck", diagnosis={"category": "interactive-prompt"}))
    assert not AlertGroups(LocalStore(tmp_path), timedelta(0)).hold(_alert())
