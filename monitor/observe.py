"""What one look at an image template says: ``observe(template)`` classifies its ARM JSON
(``provisioningState``, ``properties.lastRunStatus`` and friends) into an ``Observation``: the state the monitor
acts on, the run's key and a fingerprint that changes whenever anything the monitor acts on changes.

No Azure calls and no storage here. When a running build counts as stuck is decided in monitor/stuck.py.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from diagnosis.times import iso, parse_time
from monitor.azure.ids import resource_group_of

# What a template shows, from the monitor's point of view.
IDLE = "idle"  # never run, or nothing to look at
SUBMISSION_FAILED = "submission-failed"  # provisioningState Failed
RUNNING = "running"  # runState Running / Canceling
FAILED = "failed"  # runState Failed
PARTIALLY_SUCCEEDED = "partially-succeeded"
CANCELED = "canceled"
SUCCEEDED = "succeeded"
FAILED_STATES = (FAILED, PARTIALLY_SUCCEEDED, CANCELED)

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
    staging_group = staging_group_name(staging)

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


def staging_group_name(staging: str | None) -> str | None:
    """The group name of ``exactStagingResourceGroup`` (a resource id; a bare name is taken as it is)."""
    if not staging:
        return None
    return resource_group_of(staging) or staging.strip("/").split("/")[-1]
