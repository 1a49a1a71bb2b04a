"""One vocabulary: every alert kind's own text, in both languages, spells each duration one way
(``format_duration``: ``4 h 20 min``), shows times as ``YYYY-MM-DD HH:MM UTC``, uses no internal terms, and every
duration and time it states agrees with the run's own times."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from devtools.samples import engine_alert, sample_alert
from diagnosis.i18n import DURATION_UNITS, LANGUAGES
from diagnosis.times import format_duration, parse_time, seconds_between
from monitor.alerts.content import AlertContent, build_content
from monitor.alerts.model import ALERT_KINDS, BUILD_STUCK, STILL_STUCK, Alert
from monitor.alerts.sentences import stuck_facts

_UNITS = {"s", "min", "h", "d"} | {u for units in DURATION_UNITS.values() for u in units.values()}
_TO_ENGLISH = {ru: en for units in DURATION_UNITS.values() for en, ru in units.items()}
_UNIT = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
# A duration as format_duration writes it: "45 s", "7 min", "4 h 20 min", "4 h", "2 d 3 h" (any language's units).
DURATION = re.compile(rf"(?<![\w.])(\d+) ({_UNIT})(?: (\d+) ({_UNIT}))?(?![\w])")
# Other ways of writing a duration: decimals, spelled-out units, 90+ minutes, zero-padded minutes.
OTHER_SPELLINGS = re.compile(
    r"\d+[.,]\d+ ?(?:h|min|ч|мин)\b|\d+ ?(?:minutes?\b|hours?\b|mins\b|hrs?\b|seconds?\b|минут\w*|час\w*|секунд\w*)"
    r"|(?<![\d.])(?:9\d|[1-9]\d{2,}) (?:min|мин)\b|\d+ (?:h|ч) 0\d (?:min|мин)",
    re.IGNORECASE,
)
FULL_TIME = re.compile(r"\b(\d{4}-\d\d-\d\d \d\d:\d\d) UTC\b")
SHORT_TIME = re.compile(r"(?<![\d-] )(?<!\d)(?<!-\d\d )\b(\d\d:\d\d) UTC\b")
INTERNAL_TERMS = re.compile(r"\bgrace\b|STUCK_AFTER_MINUTES|no-growth|cannot-finish|timeout:|\b[a-z]+(?:-[a-z]+){2,}\b")


def own_text(content: AlertContent) -> list[str]:
    """What the alert says itself (log lines, the service message and the knowledge base's steps excluded)."""
    return [
        content.headline,
        content.summary,
        content.cause,
        *(v for _, v in content.facts + content.details),
    ]


def known_durations(alert: Alert) -> set[str]:
    """Every duration the alert may state, spelled by format_duration: the run, the silence, the build's limit,
    the failed customizer."""
    seconds = [seconds_between(alert.start_time, alert.end_time or alert.created_at)]
    facts = stuck_facts(alert)
    made = parse_time(alert.created_at)
    if facts.waiting_since is not None and made is not None:
        seconds.append((made - facts.waiting_since).total_seconds())
    if facts.timeout_minutes:
        seconds.append(facts.timeout_minutes * 60.0)
    failed = (alert.diagnosis or {}).get("failed_customizer") or {}
    seconds.append(failed.get("duration_seconds"))
    return {format_duration(s) for s in seconds if s is not None}


def known_times(alert: Alert) -> set[str]:
    moments = [alert.start_time, alert.end_time, stuck_facts(alert).waiting_since]
    return {parse_time(m).strftime("%Y-%m-%d %H:%M") for m in moments if parse_time(m) is not None}


def vocabulary_problems(content: AlertContent, alert: Alert) -> list[str]:
    problems: list[str] = []
    durations = known_durations(alert)
    times = known_times(alert)
    end = parse_time(alert.end_time)
    for text in own_text(content):
        for m in OTHER_SPELLINGS.finditer(text):
            problems.append(f"another duration spelling {m.group(0)!r} in {text!r}")
        for m in DURATION.finditer(text):
            spelled = " ".join(_TO_ENGLISH.get(part, part) for part in m.group(0).split())
            if spelled not in durations:
                problems.append(f"duration {m.group(0)!r} agrees with none of the run's times {sorted(durations)}")
        for m in FULL_TIME.finditer(text):
            if m.group(1) not in times:
                problems.append(f"time {m.group(0)!r} is none of the run's times {sorted(times)}")
        for m in SHORT_TIME.finditer(text):
            if end is None or end.strftime("%H:%M") != m.group(1):
                problems.append(f"time {m.group(0)!r} is not the run's end")
    for text in (content.headline, content.summary):
        if m := INTERNAL_TERMS.search(text):
            problems.append(f"internal term {m.group(0)!r} in {text!r}")
    return problems


def timeout_stuck_alert() -> Alert:
    """The demo's stuck build: past buildTimeoutInMinutes, as the monitor reports it today (text only)."""
    return replace(
        sample_alert(BUILD_STUCK),
        start_time="2026-12-01T14:17:11Z",
        created_at="2026-12-01T18:37:12+00:00",
        stuck_reason="timeout: running for 260 min, past buildTimeoutInMinutes 240 + 15 min grace",
        stuck_rule=None,
        waiting_since=None,
        build_timeout_minutes=None,
    )


def alerts() -> list[tuple[str, Alert]]:
    return [
        *((kind, sample_alert(kind)) for kind in ALERT_KINDS),
        ("engine", engine_alert()),
        ("timeout-stuck", timeout_stuck_alert()),
        ("timeout-still-stuck", replace(timeout_stuck_alert(), kind=STILL_STUCK)),
        ("timeout-stuck-silent", replace(timeout_stuck_alert(), waiting_since="2026-12-01T14:20:41Z")),
    ]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("name", "alert"), alerts(), ids=[name for name, _ in alerts()])
def test_every_alert_speaks_one_vocabulary(name, alert, language):
    content = build_content(alert, language)
    assert vocabulary_problems(content, alert) == []
    assert DURATION.search(" ".join(own_text(content))) or name == "submission-failed"  # it does say durations


def test_first_alert_and_reminder_agree():
    first, still = (build_content(sample_alert(k)) for k in (BUILD_STUCK, STILL_STUCK))
    since = re.compile(r"since (\d{4}-\d\d-\d\d \d\d:\d\d UTC)")
    assert since.findall(first.summary) == since.findall(still.summary) == ["2026-11-27 06:27 UTC"]


def test_the_check_can_fail():
    """Positive control: the old stuck wording, a decimal hour, a number off the run's times, an internal term."""
    alert = sample_alert(BUILD_STUCK)
    content = build_content(alert)
    bad = [
        "timeout: running for 260 min, past buildTimeoutInMinutes 240 + 15 min grace",
        "the log has not grown for 4.3 h",
        "The log has not changed for 3 h 10 min (since 2026-11-27 06:27 UTC).",
        "The build has been running since 2026-11-27 05:00 UTC.",
        "Still stuck: log not growing for 4 h 07 min",
    ]
    for summary in bad:
        assert vocabulary_problems(replace(content, summary=summary), alert), summary
    assert vocabulary_problems(replace(content, facts=(("Run", "4.3 h"),)), alert)
    assert vocabulary_problems(replace(content, summary="Журнал не меняется уже 47 минут"), alert)
