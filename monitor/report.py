"""What a check or a sweep reports: one ``TemplateOutcome`` per template, gathered in a ``SweepReport``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class TemplateOutcome:
    """What the monitor saw and did for one template (one row of a sweep report)."""

    template_id: str
    name: str
    resource_group: str
    state: str  # monitor.observe state, or "deleted" / "error"
    run_state: str | None = None
    run_key: str | None = None
    category: str | None = None
    archive_path: str | None = None
    archive_partial: bool = False
    alerts: list[str] = field(default_factory=list)  # kinds handed to the dispatcher in this call
    stuck_reason: str | None = None
    note: str | None = None  # e.g. "unchanged", "handled earlier", "being handled elsewhere"
    error: str | None = None

    @property
    def alert_sent(self) -> bool:
        return bool(self.alerts)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["alert_sent"] = self.alert_sent
        return data


@dataclass
class SweepReport:
    rows: list[TemplateOutcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    listed: int = 0
    unchanged: int = 0
    arm_requests: int = 0
    storage_requests: int = 0
    seconds: float = 0.0
    skipped_lease: bool = False  # another sweep held the lease
    request_paths: dict[str, int] = field(default_factory=dict)  # "arm|storage METHOD /path" -> count
    outbox: Any = None  # monitor.alerts.OutboxReport
    list_error: BaseException | None = None  # the template list failed before the first template: nothing done

    @property
    def alerts_sent(self) -> int:
        return sum(len(r.alerts) for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": [r.to_dict() for r in self.rows],
            "errors": self.errors,
            "listed": self.listed,
            "unchanged": self.unchanged,
            "arm_requests": self.arm_requests,
            "storage_requests": self.storage_requests,
            "seconds": round(self.seconds, 3),
            "skipped_lease": self.skipped_lease,
        }


def iter_rows(report: SweepReport) -> Iterator[TemplateOutcome]:
    yield from sorted(report.rows, key=lambda r: (r.resource_group.lower(), r.name.lower()))
