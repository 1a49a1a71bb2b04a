"""Where a run's files go in the archive, and the one shape of its ``status.json``.

``<subscription>/<resource group>/<template>/<run folder>/``, the run folder being the run's start in UTC
(``20240101T101500Z``), ``submission-<id>`` for a failed submission, ``no-start-<hash>`` for a run whose status
names no start. It holds ``customization.log``, ``validation.log``, ``status.json``, ``diagnosis.json``,
``container.log`` (a build watched while running) and ``live/customization.log.<offset>`` (snapshots of a running
build, merged or dropped when the run ends).

``status.json`` is one ``RunStatus`` (``schema`` = STATUS_SCHEMA) whichever way the run ended: failed, stuck
(written when announced, while it still runs) or deleted while running. README "What is archived where" lists
its fields.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from monitor.azure.ids import TemplateRef
from monitor.observe import SUBMISSION_FAILED, Observation

STATUS_SCHEMA = 1
CUSTOMIZATION_LOG = "customization.log"
VALIDATION_LOG = "validation.log"
STATUS_JSON = "status.json"
DIAGNOSIS_JSON = "diagnosis.json"
CONTAINER_LOG = "container.log"


def folder_time(moment: datetime) -> str:
    """The archive folder name of a run: its start in UTC, e.g. ``20240101T101500Z``."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def run_prefix(ref: TemplateRef, obs: Observation) -> str:
    """The run's folder in the archive (see the module docstring)."""
    if obs.start_time is not None:
        folder = folder_time(obs.start_time)
    elif obs.state == SUBMISSION_FAILED:
        folder = "submission-" + (obs.run_key or "").rsplit("|", 1)[-1][:12]
    else:  # a run without startTime (a stand-in may omit it): one folder per run key
        folder = "no-start-" + hashlib.sha256((obs.run_key or "").encode()).hexdigest()[:12]
    return f"{ref.subscription_id}/{ref.resource_group}/{ref.name}/{folder}"


def live_part_key(prefix: str, offset: int) -> str:
    return f"{prefix}/live/{CUSTOMIZATION_LOG}.{offset:012d}"


@dataclass
class LogCopy:
    """How one log reached the archive."""

    source: str | None = None  # the staging URL (no SAS), None when assembled from live snapshots
    bytes: int | None = None  # archived size; None when there was no log
    source_bytes: int | None = None
    verified: bool = False  # the archived size matches the source's
    mode: str | None = None  # "server" (Copy Blob), "streamed", "live-snapshots"


@dataclass
class StuckMark:
    rule: str
    detail: str
    at: str


@dataclass
class RunStatus:
    """``status.json`` of a run folder."""

    run_key: str
    state: str  # monitor.observe state; "running" for a stuck run, "deleted" for a template deleted mid-run
    written_at: str
    template: dict[str, Any] | None = None  # redacted_status() of the template, None once it is deleted
    partial: bool = False
    partial_reason: str | None = None
    customization_log: LogCopy = field(default_factory=LogCopy)
    validation_log: LogCopy | None = None
    stuck: StuckMark | None = None
    live_log_bytes: int | None = None  # bytes snapshotted while the build ran
    live_parts: list[str] = field(default_factory=list)
    schema: int = STATUS_SCHEMA

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("customization_log", "validation_log"):
            if data[name] is not None:
                data[name].pop("mode")
        data["copy"] = {
            name: log.mode
            for name, log in ((CUSTOMIZATION_LOG, self.customization_log), (VALIDATION_LOG, self.validation_log))
            if log is not None and log.mode
        }
        return data

    def to_json(self) -> bytes:
        return json_bytes(self.to_dict())


PORTAL = "https://portal.azure.com"


def portal_blob_url(account_id: str, container: str, key: str) -> str:
    """The blob in the Azure portal (its properties and Download; opened with the person's Entra sign-in)."""
    return (
        f"{PORTAL}/#view/Microsoft_Azure_Storage/BlobPropertiesBladeV2/storageAccountId/{quote(account_id, safe='')}"
        f"/path/{quote(f'{container}/{key}', safe='')}/isDeleted~/false/tabToload~/0"
    )


def portal_browser_url(account_id: str) -> str:
    """The account's storage browser in the Azure portal."""
    return f"{PORTAL}/#@/resource{quote(account_id, safe='/')}/storagebrowser"


ALERT_FILE = "alert-{kind}.json"  # the alert as handed to the dispatcher (``aib-monitor resend`` sends it again)


def redacted_status(template: dict[str, Any], redact: Callable[[str], str]) -> dict[str, Any]:
    """The template's status fields (and what identifies it), with every string redacted and every value
    under a secret name (a tag ``sp-password``, a member ``clientSecret``) masked whatever it looks like."""
    props = template.get("properties") or {}
    wanted = (
        "provisioningState",
        "provisioningError",
        "lastRunStatus",
        "buildTimeoutInMinutes",
        "exactStagingResourceGroup",
        "stagingResourceGroup",
        "vmProfile",
        "source",
        "errorHandling",
    )
    status = {
        "id": template.get("id"),
        "name": template.get("name"),
        "location": template.get("location"),
        "tags": template.get("tags"),
        "properties": {k: props[k] for k in wanted if k in props},
    }
    return _redact_values(status, redact)


def _redact_values(value: Any, redact: Callable[[str], str]) -> Any:
    from diagnosis.redact import MASK, is_secret_name  # pure Python, cheap

    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {
            k: MASK
            if isinstance(k, str) and is_secret_name(k) and isinstance(v, str) and v
            else _redact_values(v, redact)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_values(v, redact) for v in value]
    return value


def json_bytes(data: Any) -> bytes:
    return json.dumps(data, indent=2, sort_keys=True, default=str).encode()
