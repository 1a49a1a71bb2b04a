"""Data classes every part of the project exchanges: a diagnosis, its evidence, advisories, running-build findings.

These shapes are a contract: the monitor archives ``Diagnosis.to_dict()`` as ``diagnosis.json`` and the alert
channels render it. Add fields with defaults; never rename or remove one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

PHASES = (
    "submission",
    "deploy",
    "connect",
    "customize",
    "validate",
    "deprovision",
    "distribute",
    "cleanup",
    "unknown",
)


@dataclass(frozen=True)
class Evidence:
    """One line that supports the diagnosis. ``line`` is 1-based within ``source``; text is already redacted."""

    text: str
    line: int | None = None
    source: str = "log"  # "log" | "validation-log" | "message" | "provisioningError" | "template" | "input"


@dataclass(frozen=True)
class FailedCustomizer:
    """The provisioner that started (``(telemetry) Starting provisioner X``) and never reached ``ending X``."""

    name: str  # packer provisioner name as logged, e.g. "powershell", "shell", "windows-update"
    type: str | None = (
        None  # template customizer type when known: Shell, PowerShell, File, WindowsRestart, ...
    )
    position: int | None = None  # 1-based index among provisioners started in this run
    exit_code: int | None = None
    duration_seconds: float | None = None
    customizer_name: str | None = None  # the template's customize[].name when it can be matched


@dataclass(frozen=True)
class Advisory:
    """A finding on a template before (or independent of) a failure."""

    id: str
    message: str
    path: str  # JSON path into the template, e.g. "$.properties.customize[2].inline[0]"
    severity: str = "warning"  # "info" | "warning"


@dataclass
class Diagnosis:
    category: str  # an id from diagnosis.categories.CATEGORIES
    title: str
    summary: str
    cause: str = ""
    remediation: list[str] = field(default_factory=list)
    phase: str = "unknown"
    failed_customizer: FailedCustomizer | None = None
    evidence: list[Evidence] = field(default_factory=list)
    log_url: str | None = None
    operation_id: str | None = None
    warnings: list[str] = field(default_factory=list)
    confidence: float = 0.0  # 0..1
    doc: str | None = None
    rule_id: str | None = None  # the knowledge-base entry that matched
    advisories: list[Advisory] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.category != "none"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnosis:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("failed_customizer"):
            values["failed_customizer"] = FailedCustomizer(**values["failed_customizer"])
        values["evidence"] = [Evidence(**e) for e in values.get("evidence") or []]
        values["advisories"] = [Advisory(**a) for a in values.get("advisories") or []]
        return cls(**values)


@dataclass
class RunningAnalysis:
    """What a running build waits on, from the tail of its live log.

    ``waiting_on``: "connection" (SSH/WinRM), "provisioner", "download", "loop", "prompt", "restart",
    "deploy", "distribute", "nothing" (log ended), "unknown".
    ``can_finish``: False when the analysis shows the build cannot end by itself before its timeout
    (download ETA past the timeout, a repeated-line loop, an interactive prompt); None when unknown.
    """

    waiting_on: str
    detail: str
    can_finish: bool | None = None
    minutes_in_state: float | None = None
    eta_minutes: float | None = None  # predicted minutes until the current step finishes
    rate_bytes_per_second: float | None = None
    provisioner: str | None = None
    category: str | None = None  # a diagnosis category the situation points to, e.g. "interactive-prompt"
    evidence: list[Evidence] = field(default_factory=list)
    last_log_time: str | None = None  # ISO 8601 UTC of the newest timestamp in the tail
    lines_after_last_time: int | None = None  # non-blank lines after that timestamp (untimed output)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
