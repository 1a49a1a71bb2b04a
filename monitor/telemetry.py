"""One structured log record per run outcome: what the Azure Monitor workbook (infra/workbook/) charts.

Every failed, stuck or recovered run the monitor handles is logged once at INFO as
``aib.run_outcome {json}``. In Azure the Functions host forwards the line to Application Insights (``traces``);
the workbook's queries read it with ``parse_json(extract(...))`` (see ``KQL_RECORD``). The fields are a contract
with those queries: ``tests/infra/test_workbook.py`` checks that every field a query uses is one of these.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime

from diagnosis.times import iso, seconds_between

log = logging.getLogger("monitor.outcomes")

EVENT = "aib.run_outcome"
SCHEMA = 1
#: The KQL that turns a trace line back into the record (used by every workbook query).
KQL_RECORD = f'extend r = parse_json(extract(@"{EVENT} (\\{{.*\\}})", 1, message))'


@dataclass(frozen=True)
class RunOutcome:
    """A run the monitor alerted on (or archived), as the dashboards see it."""

    template: str
    resource_group: str
    subscription: str
    state: str  # "failed", "stuck", "submission-failed", "recovered"
    run_state: str | None = None  # lastRunStatus.runState as Azure reported it
    category: str | None = None  # diagnosis category id
    rule_id: str | None = None
    phase: str | None = None
    customizer: str | None = None  # the failed customizer's name (or Packer provisioner)
    customizer_type: str | None = None
    run_start: str | None = None  # ISO 8601 UTC
    run_end: str | None = None
    build_minutes: float | None = None  # run_start → run_end (or → now for a stuck run)
    alert_kind: str | None = None  # the alert sent for it, if any
    alerted_at: str | None = None
    minutes_to_alert: float | None = None  # run_end (stuck: run_start) → alerted_at
    archive_partial: bool = False
    schema: int = SCHEMA


def minutes(start: datetime | str | None, end: datetime | str | None) -> float | None:
    seconds = seconds_between(start, end)
    return None if seconds is None else round(seconds / 60.0, 1)


def run_outcome(
    *,
    template: str,
    resource_group: str,
    subscription: str,
    state: str,
    run_state: str | None,
    diagnosis: dict | None,
    run_start: datetime | None,
    run_end: datetime | None,
    alert_kind: str | None,
    alerted_at: datetime | None,
    archive_partial: bool = False,
) -> RunOutcome:
    """The record for one handled run, from what the monitor knows about it."""
    diag = diagnosis or {}
    failed = diag.get("failed_customizer") or {}
    reference = run_end if run_end is not None else run_start
    return RunOutcome(
        template=template,
        resource_group=resource_group,
        subscription=subscription,
        state=state,
        run_state=run_state,
        category=diag.get("category"),
        rule_id=diag.get("rule_id"),
        phase=diag.get("phase"),
        customizer=failed.get("customizer_name") or failed.get("name"),
        customizer_type=failed.get("type"),
        run_start=iso(run_start),
        run_end=iso(run_end),
        build_minutes=minutes(run_start, run_end or alerted_at),
        alert_kind=alert_kind,
        alerted_at=iso(alerted_at),
        minutes_to_alert=minutes(reference, alerted_at) if alert_kind else None,
        archive_partial=archive_partial,
    )


def emit(record: RunOutcome) -> str:
    """Log the record (one INFO line) and return the line."""
    line = f"{EVENT} {json.dumps(asdict(record), sort_keys=True, separators=(',', ':'))}"
    log.info("%s", line)
    return line
