"""The alert as data: what the monitor hands to every channel. A contract between monitor/ and the
channels."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from diagnosis.redact import redact, redact_json

# Alert kinds, one per lifecycle transition the monitor announces.
BUILD_FAILED = "build-failed"  # run ended Failed / PartiallySucceeded / Canceled (after being stuck too)
BUILD_STUCK = "build-stuck"  # a running build that will not finish by itself (first announcement)
STILL_STUCK = "still-stuck"  # reminder every STUCK_REPEAT_HOURS while it stays stuck
SUBMISSION_FAILED = "submission-failed"  # provisioningState Failed + provisioningError
RECOVERED = "recovered"  # a template whose alerted run failed (or was stuck) has now succeeded
ALERT_KINDS = (BUILD_FAILED, BUILD_STUCK, STILL_STUCK, SUBMISSION_FAILED, RECOVERED)

# Severity by kind; the channels color by it and ALERT_MIN_SEVERITY filters on it.
KIND_SEVERITY = {
    BUILD_FAILED: "error",
    SUBMISSION_FAILED: "error",
    BUILD_STUCK: "warning",
    STILL_STUCK: "warning",
    RECOVERED: "info",
}


@dataclass
class Alert:
    kind: str
    template_id: str  # full ARM resource id
    template_name: str
    resource_group: str
    subscription_id: str
    location: str | None = None
    run_key: str = ""  # template id + run start (UTC ISO); identifies the run
    run_state: str | None = None  # lastRunStatus.runState (or provisioningState for submission failures)
    run_sub_state: str | None = None
    start_time: str | None = None  # ISO 8601 UTC
    end_time: str | None = None  # None while running
    duration_minutes: float | None = None
    status_message: str | None = None  # lastRunStatus.message / provisioningError.message, redacted
    diagnosis: dict[str, Any] | None = None  # diagnosis.Diagnosis.to_dict()
    stuck_reason: str | None = None  # why the monitor calls the run stuck (rule and detail)
    previously_stuck: bool = False  # a failed/recovered run that had been announced as stuck
    portal_url: str | None = None
    log_url: str | None = None  # archived customization.log (not the staging URL)
    archive_url: str | None = None  # the archive folder of this run
    log_portal_url: str | None = None  # the archived log in the Azure portal (ARCHIVE_STORAGE_ACCOUNT_ID)
    archive_portal_url: str | None = None  # the archive account's storage browser in the Azure portal
    archive_partial: bool = False  # the log vanished mid-copy; what was saved is incomplete
    doc_url: str | None = None  # the guide's section for the category
    severity: str = ""
    template_tags: dict[str, str] = field(default_factory=dict)  # routes and silences match on them
    group: list[dict[str, Any]] = field(default_factory=list)  # other templates failing with the same cause
    resend: bool = False  # delivered again on request (aib-monitor resend), not a new event
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    # A stuck run as data (the alert's own sentence is made from these; without them ``stuck_reason`` is read):
    stuck_rule: str | None = None  # "timeout" | "no-growth" | "cannot-finish"
    waiting_since: str | None = None  # ISO 8601 UTC: when the live log last changed
    build_timeout_minutes: int | None = None  # the template's buildTimeoutInMinutes in effect

    def __post_init__(self) -> None:
        if self.kind not in ALERT_KINDS:
            raise ValueError(f"unknown alert kind {self.kind!r}")
        if not self.severity:
            self.severity = KIND_SEVERITY[self.kind]
        # The texts that can quote a log line or a status message are redacted here, so every copy of the
        # alert (channels, files, outbox, dead letters) holds them redacted.
        if self.status_message:
            self.status_message = redact(self.status_message)
        if self.stuck_reason:
            self.stuck_reason = redact(self.stuck_reason)
        if self.diagnosis:
            self.diagnosis = redact_json(self.diagnosis)
        if self.template_tags:  # a tag may hold a secret (sp-secret=..., a token in a note)
            self.template_tags = redact_json(self.template_tags)
        if self.group:
            self.group = redact_json(self.group)

    @property
    def category(self) -> str | None:
        return (self.diagnosis or {}).get("category")

    @property
    def dedupe_key(self) -> str:
        """At most one alert per (run, kind); reminders add their sequence in ``run_key`` by the monitor."""
        return f"{self.run_key}|{self.kind}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["category"] = self.category
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})
