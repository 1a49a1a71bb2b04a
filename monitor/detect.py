"""Detection: pure functions over an image template's ARM JSON (``properties.lastRunStatus`` and friends).

No Azure calls and no storage here, so every rule is unit-testable. The monitor feeds these with the
wire-format template dict (``ImageTemplate.as_dict()``) and its own per-run record.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_BUILD_TIMEOUT_MINUTES = 240

# What a template shows, from the monitor's point of view.
IDLE = "idle"  # never run, or nothing to look at
SUBMISSION_FAILED = "submission-failed"  # provisioningState Failed
RUNNING = "running"  # runState Running / Canceling
FAILED = "failed"  # runState Failed
PARTIALLY_SUCCEEDED = "partially-succeeded"
CANCELED = "canceled"
SUCCEEDED = "succeeded"
FAILED_STATES = (FAILED, PARTIALLY_SUCCEEDED, CANCELED)
TERMINAL_STATES = (*FAILED_STATES, SUCCEEDED)

_RUN_STATES = {
    "running": RUNNING,
    "canceling": RUNNING,
    "failed": FAILED,
    "partiallysucceeded": PARTIALLY_SUCCEEDED,
    "canceled": CANCELED,
    "cancelled": CANCELED,
    "succeeded": SUCCEEDED,
}


@dataclass(frozen=True)
class TemplateRef:
    id: str
    subscription_id: str
    resource_group: str
    name: str

    @classmethod
    def parse(cls, template_id: str) -> TemplateRef:
        parts = template_id.strip().strip("/").split("/")
        lowered = [p.lower() for p in parts]
        try:
            sub = parts[lowered.index("subscriptions") + 1]
            rg = parts[lowered.index("resourcegroups") + 1]
            i = lowered.index("imagetemplates")
            name = parts[i + 1]
        except (ValueError, IndexError):
            raise ValueError(f"not an image template resource id: {template_id!r}") from None
        if lowered[i - 1] != "microsoft.virtualmachineimages":
            raise ValueError(f"not an image template resource id: {template_id!r}")
        canonical = (
            f"/subscriptions/{sub}/resourceGroups/{rg}/providers/"
            f"Microsoft.VirtualMachineImages/imageTemplates/{name}"
        )
        return cls(canonical, sub, rg, name)


@dataclass(frozen=True)
class Observation:
    """What one look at a template says."""

    state: str  # one of the constants above
    run_key: str | None  # template id (lower-case) + run start (UTC ISO); None when there is no run
    start_time: datetime | None
    end_time: datetime | None
    run_state: str | None  # as Azure wrote it
    run_sub_state: str | None
    message: str | None
    provisioning_state: str | None
    provisioning_error: dict[str, Any] | None
    build_timeout_minutes: int
    staging_group: str | None  # the group name from exactStagingResourceGroup
    fingerprint: str  # changes whenever anything the monitor acts on changes

    @property
    def failed(self) -> bool:
        return self.state in FAILED_STATES

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES or self.state in (SUBMISSION_FAILED, IDLE)


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 → aware UTC datetime; ``0001-01-01...`` (Azure's 'not set') and garbage → None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip()
        if text.startswith("0001-01-01"):
            return None
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        # Python 3.11 accepts up to 6 fractional digits; Azure sends up to 7.
        if "." in text:
            head, _, rest = text.partition(".")
            digits = "".join(c for c in rest if c.isdigit())
            tz = rest[len(digits) :]
            text = f"{head}.{digits[:6]}{tz}"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
    if dt.year <= 1:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def folder_time(dt: datetime) -> str:
    """The archive folder name of a run: its start in UTC, e.g. ``20240101T101500Z``."""
    return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def properties(template: dict[str, Any]) -> dict[str, Any]:
    props = template.get("properties")
    return props if isinstance(props, dict) else template


def run_key(template_id: str, start: datetime | None, submission_marker: str | None = None) -> str:
    base = template_id.lower()
    if start is not None:
        return f"{base}|{iso(start)}"
    return f"{base}|submission|{submission_marker or ''}"


def observe(template: dict[str, Any]) -> Observation:
    """Classify a template (ARM JSON with ``properties``, or the properties themselves with an ``id``)."""
    props = properties(template)
    template_id = template.get("id") or props.get("id") or ""
    provisioning_state = props.get("provisioningState")
    error = props.get("provisioningError")
    if isinstance(error, str):
        error = {"message": error}
    status = props.get("lastRunStatus") or {}
    run_state_raw = status.get("runState")
    start = parse_time(status.get("startTime"))
    end = parse_time(status.get("endTime"))
    timeout = props.get("buildTimeoutInMinutes") or 0
    try:
        timeout = int(timeout)
    except (TypeError, ValueError):
        timeout = 0
    staging = props.get("exactStagingResourceGroup") or props.get("stagingResourceGroup")
    staging_group = staging.rstrip("/").split("/")[-1] if staging else None

    run_state = _RUN_STATES.get(str(run_state_raw or "").replace(" ", "").lower())
    if str(provisioning_state or "").lower() == "failed":
        state = SUBMISSION_FAILED
        marker = _digest(
            json.dumps(error or {}, sort_keys=True),
            str((template.get("systemData") or {}).get("lastModifiedAt")),
        )
        key = run_key(template_id, None, marker)
        start_for_key = None
    elif run_state is not None:
        state = run_state
        if start:
            key = run_key(template_id, start)
        elif run_state == RUNNING:  # every lastRunStatus field is optional: a stand-in may send no startTime
            key = run_key(template_id, None, "no-start-" + run_state)
        else:  # finished runs without a start: tell them apart by how they ended
            ended = _digest(str(status.get("endTime")), str(status.get("runSubState")), str(status.get("message")))
            key = run_key(template_id, None, f"no-start-{run_state}-{ended[:12]}")
        start_for_key = start
    else:
        state, key, start_for_key = IDLE, None, None

    fingerprint = _digest(
        template_id.lower(),
        str(provisioning_state).lower(),
        json.dumps(error or {}, sort_keys=True),
        str(run_state_raw).lower(),
        iso(start) or "",
        iso(end) or "",
        str(status.get("runSubState")),
        str(status.get("message")),
    )
    return Observation(
        state=state,
        run_key=key,
        start_time=start_for_key if state != SUBMISSION_FAILED else None,
        end_time=end,
        run_state=run_state_raw if state != SUBMISSION_FAILED else provisioning_state,
        run_sub_state=status.get("runSubState"),
        message=status.get("message") if state != SUBMISSION_FAILED else (error or {}).get("message"),
        provisioning_state=provisioning_state,
        provisioning_error=error,
        build_timeout_minutes=timeout,
        staging_group=staging_group,
        fingerprint=fingerprint,
    )


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


# -- stuck rules ---------------------------------------------------------------------------------------------
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
            f"running for {running:.0f} min, past buildTimeoutInMinutes "
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
        return StuckVerdict("no-growth", f"the build log has not grown for {idle:.0f} min")
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
