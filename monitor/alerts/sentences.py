"""The sentences an alert writes itself, in the alert's language: the run window, the failed customizer, what a
stuck build waits on and since when, a recovery.

Every duration is ``diagnosis.times.format_duration`` of the run's own times (start, end, or the moment the alert
was made for a running build), so one alert never spells one duration two ways and every number agrees with the
times shown beside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from diagnosis.i18n import durations
from diagnosis.times import format_duration, format_utc, parse_time, seconds_between

from .model import Alert

STUCK_RULES = ("timeout", "no-growth", "cannot-finish")
_TIMEOUT_LIMIT = re.compile(r"buildTimeoutInMinutes (\d+)")
_IDLE_MINUTES = re.compile(r"not grown for (\d+(?:\.\d+)?) min")


def duration(seconds: float | None, language: str) -> str:
    return durations(format_duration(seconds), language)


def moment(value: str | datetime | None) -> datetime | None:
    return parse_time(value)


def run_seconds(alert: Alert) -> float | None:
    """How long the run took (ended) or has run until the alert was made (running)."""
    seconds = seconds_between(alert.start_time, alert.end_time or alert.created_at)
    if seconds is None and alert.duration_minutes is not None:
        seconds = max(alert.duration_minutes, 0.0) * 60.0
    return seconds


def run_window(alert: Alert, w: dict[str, str], language: str) -> str:
    """``2026-11-27 09:12 UTC – 09:53 UTC (41 min)``; running: ``… – now (1 h 12 min)``."""
    start, end = moment(alert.start_time), moment(alert.end_time)
    seconds = run_seconds(alert)
    if start is None:
        return w["run.duration"].format(duration=duration(seconds, language)) if seconds is not None else ""
    if end is None:
        return w["run.running"].format(start=format_utc(start), duration=duration(seconds, language))
    end_text = end.strftime("%H:%M UTC") if end.date() == start.date() else format_utc(end)
    return w["run.ended"].format(start=format_utc(start), end=end_text, duration=duration(seconds, language))


def customizer_sentence(failed: dict | None, w: dict[str, str], language: str, *, running: bool) -> str:
    """``Customizer "install-dotnet" (PowerShell) exited with code 1 after 12 min.``"""
    if not failed:
        return ""
    name = failed.get("customizer_name") or failed.get("name") or "?"
    kind = failed.get("type") or (failed.get("name") if failed.get("customizer_name") else None)
    kind_text = f" ({kind})" if kind else ""
    after = ""
    if failed.get("duration_seconds") is not None:
        after = w["customizer.after"].format(duration=duration(failed["duration_seconds"], language))
    if running:
        return w["customizer.running"].format(name=name, kind=kind_text)
    if failed.get("exit_code") is not None:
        return w["customizer.exited"].format(name=name, kind=kind_text, code=failed["exit_code"], after=after)
    return w["customizer.failed"].format(name=name, kind=kind_text, after=after)


@dataclass(frozen=True)
class StuckFacts:
    """Why the monitor calls a run stuck, as data: the rule, the build's own limit, since when it waits."""

    rule: str | None
    timeout_minutes: int | None
    waiting_since: datetime | None


def stuck_facts(alert: Alert) -> StuckFacts:
    """From the alert's fields; an alert that only has ``stuck_reason`` ("<rule>: <detail>") is read from it."""
    reason = alert.stuck_reason or ""
    rule = alert.stuck_rule or next((r for r in STUCK_RULES if reason.startswith(f"{r}:")), None)
    limit = alert.build_timeout_minutes
    if limit is None and (m := _TIMEOUT_LIMIT.search(reason)):
        limit = int(m.group(1))
    since = moment(alert.waiting_since)
    made = moment(alert.created_at)
    if since is None and made is not None and (m := _IDLE_MINUTES.search(reason)):
        since = made - timedelta(minutes=float(m.group(1)))
    return StuckFacts(rule, limit, since)


def stuck_sentence(alert: Alert, waits: str, w: dict[str, str], language: str) -> str:
    """What the build waits on and since when, in plain words (a reminder says the same, from the same times;
    its header already says "still stuck")."""
    facts = stuck_facts(alert)
    start = moment(alert.start_time)
    running = run_seconds(alert)
    made = moment(alert.created_at)
    values = {
        "waits": waits,
        "duration": duration(running, language),
        "start": format_utc(start) if start else "",
    }
    if facts.rule == "timeout" and start is not None and facts.timeout_minutes:
        text = w["stuck.timeout"].format(
            **values,
            limit=duration(facts.timeout_minutes * 60.0, language),
            minutes=facts.timeout_minutes,
        )
        if facts.waiting_since is not None and made is not None:
            idle = max((made - facts.waiting_since).total_seconds(), 0.0)
            text += w["stuck.silent"].format(idle=duration(idle, language), since=format_utc(facts.waiting_since))
    elif facts.waiting_since is not None and made is not None and running is not None:
        idle = max((made - facts.waiting_since).total_seconds(), 0.0)
        text = w["stuck.idle"].format(**values, idle=duration(idle, language), since=format_utc(facts.waiting_since))
    elif start is not None and running is not None:
        text = w["stuck.cannot_finish"].format(**values)
    else:
        text = f"{waits}."
    return text


def recovered_sentence(alert: Alert, previous_title: str | None, w: dict[str, str], language: str) -> str:
    seconds = run_seconds(alert)
    if seconds is None:
        return w["recovered.no_time"]
    if previous_title:
        return w["recovered.after"].format(duration=duration(seconds, language), title=previous_title)
    return w["recovered.plain"].format(duration=duration(seconds, language))
