"""Image templates as the local cloud holds and serves them: the template's names and ids (``LocalTemplate``) and
the ARM JSON it serves (``template_body``), shaped like the Image Builder REST examples, with the run status
(``next_run_status``) and run outputs (``run_outputs``) Image Builder reports for a run."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from .armstate import IMAGE_TEMPLATE_TYPE, arm_id

LOG_CONTAINER = "packerlogs"
NOT_ENDED = "0001-01-01T00:00:00Z"
_ACTIVE = ("running", "canceling")


class UnknownTemplate(KeyError):
    """No template with that id in the local cloud."""


def timestamp(value: dt.datetime | str | None) -> str:
    """ARM timestamps: ISO 8601 UTC with a ``Z`` (now when ``value`` is None)."""
    if value is None:
        value = dt.datetime.now(dt.UTC)
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def staging_group_name(resource_group: str, name: str, guid: str) -> str:
    """``IT_<rg>_<template>_<guid>``, the prefix truncated so the name stays within ARM's 90 characters."""
    prefix = f"IT_{resource_group}_{name}"
    return f"{prefix[: 90 - 37]}_{guid}"


@dataclass
class LocalTemplate:
    """A template in the local cloud. ``storage_account`` is None until a staging account is bound."""

    subscription_id: str
    resource_group: str
    name: str
    staging_group: str
    storage_account: str | None = None
    container_group: str | None = None
    log_folder: str = field(default_factory=lambda: uuid.uuid4().hex[:8])  # packerlogs/<folder>/ of this run

    @property
    def id(self) -> str:
        return arm_id(self.subscription_id, self.resource_group, IMAGE_TEMPLATE_TYPE, self.name)

    @property
    def staging_group_id(self) -> str:
        return arm_id(self.subscription_id, self.staging_group)

    @property
    def log_blob_path(self) -> str:
        """``packerlogs/<folder>/customization.log`` of the current run (a convention, not enforced)."""
        return f"{LOG_CONTAINER}/{self.log_folder}/customization.log"


def default_properties(subscription_id: str, resource_group: str, name: str, location: str) -> dict[str, Any]:
    """Properties shaped like the REST examples (CreateImageTemplateLinux / GetImageTemplate)."""
    return {
        "source": {
            "type": "PlatformImage",
            "publisher": "Canonical",
            "offer": "0001-com-ubuntu-server-jammy",
            "sku": "22_04-lts-gen2",
            "version": "latest",
        },
        "customize": [
            {
                "type": "Shell",
                "name": "Shell customization example",
                "scriptUri": "https://example.com/path/to/script.sh",
            }
        ],
        "distribute": [
            {
                "type": "ManagedImage",
                "location": location,
                "runOutputName": f"{name}-image",
                "imageId": f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
                f"/providers/Microsoft.Compute/images/{name}-image",
                "artifactTags": {"source": "localazure"},
            }
        ],
        "vmProfile": {"vmSize": "Standard_D2ds_v4", "osDiskSizeGB": 64},
        "errorHandling": {"onCustomizerError": "cleanup", "onValidationError": "cleanup"},
    }


def provisioning_error_body(error: dict[str, Any] | str) -> dict[str, Any]:
    """``provisioningError`` as served: a message alone gets the code ``Other``."""
    if isinstance(error, str):
        return {"provisioningErrorCode": "Other", "message": error}
    return error


def template_body(
    template: LocalTemplate,
    location: str,
    properties: dict[str, Any],
    *,
    tags: dict[str, str] | None,
    identity: dict[str, str],
    own_staging_group: bool,
) -> dict[str, Any]:
    """The template's ARM JSON: ``properties`` (already complete but for the staging group ids) and a
    user-assigned identity whose ``clientId`` / ``principalId`` are ``identity``'s."""
    props = dict(properties)
    props["exactStagingResourceGroup"] = template.staging_group_id
    if own_staging_group:
        props["stagingResourceGroup"] = template.staging_group_id
    identity_id = (
        f"/subscriptions/{template.subscription_id}/resourcegroups/{template.resource_group}/providers/"
        "Microsoft.ManagedIdentity/userAssignedIdentities/aib-identity"
    )
    return {
        "id": template.id,
        "name": template.name,
        "location": location,
        "type": IMAGE_TEMPLATE_TYPE,
        "tags": dict(tags or {}),
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {identity_id: dict(identity)}},
        "properties": props,
    }


def next_run_status(
    previous: dict[str, Any],
    run_state: str,
    run_sub_state: str | None,
    message: str,
    start_time: dt.datetime | str | None,
    end_time: dt.datetime | str | None,
    *,
    new_run: bool,
) -> dict[str, Any]:
    """The ``lastRunStatus`` that follows ``previous``: see ``LocalCloud.set_run_status`` for when the start time
    is kept. Running/Canceling runs get ``endTime`` 0001-01-01."""
    running = run_state.lower() in _ACTIVE
    was_running = str(previous.get("runState", "")).lower() in _ACTIVE
    # A new run: Running after a finished run, or a finished run in another state than the last one.
    same_state = str(previous.get("runState", "")).lower() == run_state.lower()
    restarted = bool(previous) and not was_running and (running or not same_state)
    if start_time is None and previous and not new_run and not restarted:
        start = previous.get("startTime") or timestamp(None)
    else:
        start = timestamp(start_time)
    status = {
        "startTime": start,
        "endTime": NOT_ENDED if running and end_time is None else timestamp(end_time),
        "runState": run_state,
        "runSubState": run_sub_state or ("Building" if running else ""),
        "message": message,
    }
    if not status["runSubState"]:
        del status["runSubState"]
    return status


def run_outputs(template: LocalTemplate, distribute: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The run outputs of a run that succeeded: one per ``distribute`` target."""
    outputs = []
    for i, target in enumerate(distribute):
        name = target.get("runOutputName", f"output{i}")
        outputs.append(
            {
                "name": name,
                "type": f"{IMAGE_TEMPLATE_TYPE}/runOutputs",
                "id": f"{template.id}/runOutputs/{name}",
                "properties": {
                    "artifactId": target.get("imageId") or target.get("galleryImageId") or "",
                    "provisioningState": "Succeeded",
                },
            }
        )
    return outputs


def deep_copy(value: Any) -> Any:
    """A copy of JSON-shaped data (dicts and lists copied, scalars shared)."""
    if isinstance(value, dict):
        return {k: deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [deep_copy(v) for v in value]
    return value
