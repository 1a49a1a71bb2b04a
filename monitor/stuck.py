"""Where a running build is declared stuck, and what its stuck alert says.

Three rules, in this order (``assess``):

- ``timeout``: running past ``buildTimeoutInMinutes`` (0 means 240) + TIMEOUT_GRACE_MINUTES;
- ``cannot-finish``: the running-build analysis of the log's tail (``diagnosis.analyze_running``) says the build
  cannot finish by itself (a prompt, a loop, a download whose ETA is past the timeout);
- ``no-growth``: the log has not grown for STUCK_AFTER_MINUTES. When it last grew is the later of what the
  monitor saw (the log's size between looks) and the log's own newest timestamp, whichever says "longer ago".

``stuck_alert_due`` spaces the alerts: ``build-stuck`` once, then ``still-stuck`` every STUCK_REPEAT_HOURS.
``stuck_diagnosis`` turns the verdict and the analysis into the alert's diagnosis (the knowledge base's cause and
remediation for the category the build waits on).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from diagnosis.times import format_minutes, parse_time
from monitor.azure.ids import TemplateRef
from monitor.observe import RUNNING, Observation

log = logging.getLogger(__name__)

DEFAULT_BUILD_TIMEOUT_MINUTES = 240


@dataclass(frozen=True)
class StuckPolicy:
    """The settings the stuck rules read."""

    stuck_after_minutes: float = 30.0
    timeout_grace_minutes: float = 15.0
    stuck_repeat_hours: float = 4.0

    @classmethod
    def from_settings(cls, settings: Any) -> StuckPolicy:
        return cls(settings.stuck_after_minutes, settings.timeout_grace_minutes, settings.stuck_repeat_hours)


# -- the rules -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StuckVerdict:
    rule: str  # "timeout" | "no-growth" | "cannot-finish"
    detail: str


def effective_timeout_minutes(build_timeout_minutes: int) -> int:
    return (
        build_timeout_minutes
        if build_timeout_minutes and build_timeout_minutes > 0
        else DEFAULT_BUILD_TIMEOUT_MINUTES
    )


def minutes_remaining(obs: Observation, now: datetime, grace_minutes: float) -> float | None:
    """Minutes until the build's own timeout (``grace_minutes`` not included); None without a start time."""
    if obs.start_time is None:
        return None
    deadline = obs.start_time + timedelta(minutes=effective_timeout_minutes(obs.build_timeout_minutes))
    return (deadline - now).total_seconds() / 60


def stuck_by_timeout(obs: Observation, now: datetime, grace_minutes: float) -> StuckVerdict | None:
    if obs.state != RUNNING or obs.start_time is None:
        return None
    limit = effective_timeout_minutes(obs.build_timeout_minutes) + grace_minutes
    running = (now - obs.start_time).total_seconds() / 60
    if running > limit:
        return StuckVerdict(
            "timeout",
            f"running for {format_minutes(running)}, past buildTimeoutInMinutes "
            f"{effective_timeout_minutes(obs.build_timeout_minutes)} + {grace_minutes:g} min grace",
        )
    return None


def stuck_by_growth(
    last_growth: datetime | None, now: datetime, stuck_after_minutes: float
) -> StuckVerdict | None:
    if last_growth is None:
        return None
    idle = (now - last_growth).total_seconds() / 60
    if idle >= stuck_after_minutes:
        return StuckVerdict("no-growth", f"the build log has not grown for {format_minutes(idle)}")
    return None


# Untimed lines (``PACKER OUT``, progress bars) may follow the newest timestamp; beyond this many the content's
# clock says nothing about when the log last grew.
QUIET_MAX_UNTIMED_LINES = 20


def content_last_activity(analysis: Any, now: datetime) -> datetime | None:
    """When the log's own content last showed activity: its newest timestamp (AIB logs are UTC), provided only
    a few untimed lines follow it. A log uploaded or first seen just now may have been silent for hours."""
    if analysis is None:
        return None
    data = analysis if isinstance(analysis, dict) else analysis.to_dict()
    untimed = data.get("lines_after_last_time")
    when = parse_time(data.get("last_log_time"))
    if when is None or untimed is None or untimed > QUIET_MAX_UNTIMED_LINES:
        return None
    if when > now + timedelta(minutes=5):  # a clock ahead of ours: do not trust it
        return None
    return when


def stuck_by_analysis(analysis: Any) -> StuckVerdict | None:
    """A diagnosis.RunningAnalysis (or its dict) that says the build cannot finish by itself."""
    if analysis is None:
        return None
    data = analysis if isinstance(analysis, dict) else analysis.to_dict()
    if data.get("can_finish") is False:
        waiting = data.get("waiting_on") or "unknown"
        return StuckVerdict("cannot-finish", f"{waiting}: {data.get('detail') or ''}".strip().rstrip(":"))
    return None


# -- alert lifecycle -----------------------------------------------------------------------------------------
def stuck_alert_due(
    first_alert_at: datetime | None, last_alert_at: datetime | None, now: datetime, repeat_hours: float
) -> str | None:
    """``build-stuck`` the first time, ``still-stuck`` every ``repeat_hours`` after the last announcement."""
    if first_alert_at is None:
        return "build-stuck"
    last = last_alert_at or first_alert_at
    if (now - last).total_seconds() >= repeat_hours * 3600:
        return "still-stuck"
    return None


# -- combining them ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Assessment:
    verdict: StuckVerdict | None
    analysis: Any  # diagnosis.RunningAnalysis, or None without a log tail


def assess(obs: Observation, tail: str, grown_at: datetime | None, now: datetime, policy: StuckPolicy) -> Assessment:
    """Apply the three rules to a running build. ``tail``: the end of its live log; ``grown_at``: when the
    monitor last saw the log grow (None when it has no log yet). The analysis runs even past the timeout: what the
    build waits on is the alert's category."""
    analysis = None
    if grown_at is not None:
        analysis = _analyze(tail, _minutes_between(grown_at, now), obs, now, policy)
        quiet_since = content_last_activity(analysis, now)
        if quiet_since is not None and quiet_since < grown_at:
            grown_at = quiet_since  # the log's own clock knows it has been silent longer
            analysis = _analyze(tail, _minutes_between(grown_at, now), obs, now, policy)
    verdict = stuck_by_timeout(obs, now, policy.timeout_grace_minutes)
    if verdict is None and grown_at is not None:
        verdict = stuck_by_analysis(analysis) or stuck_by_growth(grown_at, now, policy.stuck_after_minutes)
    return Assessment(verdict, analysis)


def _analyze(tail: str, minutes_idle: float, obs: Observation, now: datetime, policy: StuckPolicy) -> Any:
    if not tail:
        return None
    # Time left until the timeout rule fires (timeout + grace); after that, that rule speaks instead.
    remaining = minutes_remaining(obs, now, policy.timeout_grace_minutes)
    if remaining is not None:
        remaining += policy.timeout_grace_minutes
        remaining = remaining if remaining > 0 else None
    import diagnosis

    try:
        # AIB log timestamps are UTC: our clock measures how long a step (e.g. a download whose progress lines
        # carry no time) has really run, which the log's own clock cannot tell.
        return diagnosis.analyze_running(tail, minutes_idle, minutes_remaining=remaining, now=now)
    except Exception:
        log.exception("running-build analysis failed; the other stuck rules still apply")
        return None


def _minutes_between(earlier: datetime, later: datetime) -> float:
    return max(0.0, (later - earlier).total_seconds() / 60)


# -- what the alert says -------------------------------------------------------------------------------------
_SUMMARIES = {
    "timeout": "Image Builder has not ended a run that is past its timeout; cancel it "
    "(az image builder cancel) and look at the live log snapshot.",
    "no-growth": "The build log has stopped growing: the build waits on something that may never come.",
}


def stuck_diagnosis(verdict: StuckVerdict, analysis: Any, ref: TemplateRef, knowledge: Any) -> dict[str, Any]:
    """A stuck run's diagnosis: what the live log shows it waits on, with the knowledge base's cause and
    remediation for that category (``build-timeout`` past the timeout when the log says nothing more)."""
    from diagnosis.categories import CATEGORIES
    from diagnosis.model import PHASES, Diagnosis

    data = analysis.to_dict() if analysis is not None else {}
    category = data.get("category") or ("build-timeout" if verdict.rule == "timeout" else "unknown")
    # A build still waiting for SSH/WinRM is the plain connection case, not a private-link misconfiguration.
    prefer = ("communicator-timeout",) if data.get("waiting_on") == "connection" else ()
    rule = knowledge.for_category(category, prefer)
    stop_first = (
        f"Cancel the run (az image builder cancel -n {ref.name} -g {ref.resource_group}) rather than waiting "
        "for buildTimeoutInMinutes; the live log is archived."
    )
    diag = Diagnosis(
        category=category,
        title=CATEGORIES[category].title if category in CATEGORIES else category,
        summary=data.get("detail") or _SUMMARIES.get(verdict.rule) or verdict.detail,
        cause=f"Stuck ({verdict.rule}): {verdict.detail}." + (f" {rule.cause}" if rule else ""),
        remediation=[stop_first, *(rule.remediation if rule else ())],
        phase=rule.phase if rule and rule.phase in PHASES else "unknown",
        confidence=0.5 if analysis is not None else 0.3,
        evidence=list(getattr(analysis, "evidence", []) or []),
        doc=rule.doc_url if rule else None,
        rule_id=rule.id if rule else None,
    )
    return diag.to_dict()
