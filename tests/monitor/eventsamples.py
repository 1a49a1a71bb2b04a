"""The Event Grid samples of tests/monitor/data/eventgrid/, as they are and adapted to image templates.

The samples are documentation events about storage accounts with ``{placeholder}`` ids. ``adapt`` keeps
everything else of a sample (claims, authorization, httpRequest, envelope) and swaps in a real subscription,
the resource id and the operation name, the way the subscription's system topic reports image template
operations.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data" / "eventgrid"

# Event Grid schema: arrays of one event. CloudEvents: one object.
EVENT_GRID_SAMPLES = ("ResourceWriteSuccess.json", "ResourceDeleteSuccess.json", "ResourceActionSuccess.json")
CLOUD_EVENT_SAMPLES = ("resource_write_success.json",)
ALL_SAMPLES = EVENT_GRID_SAMPLES + CLOUD_EVENT_SAMPLES

SUBSCRIPTION = "5f3c1e2a-8b7d-4c6e-9a1f-2d3e4f5a6b7c"
TEMPLATE_OPERATIONS = {
    "write": "Microsoft.Resources.ResourceWriteSuccess",
    "delete": "Microsoft.Resources.ResourceDeleteSuccess",
    "run/action": "Microsoft.Resources.ResourceActionSuccess",
    "cancel/action": "Microsoft.Resources.ResourceActionSuccess",
}


def load(name: str) -> dict[str, Any]:
    """The one event of a sample file (Event Grid samples are arrays of one)."""
    body = json.loads((DATA / name).read_text(encoding="utf-8"))
    if isinstance(body, list):
        assert len(body) == 1, name
        return body[0]
    return body


def template_id(
    resource_group: str, name: str, subscription: str = SUBSCRIPTION, *, rg_segment: str = "resourceGroups"
):
    return (
        f"/subscriptions/{subscription}/{rg_segment}/{resource_group}"
        f"/providers/Microsoft.VirtualMachineImages/imageTemplates/{name}"
    )


def adapt(
    sample: str,
    *,
    resource_id: str,
    operation: str,
    event_type: str | None = None,
    subscription: str = SUBSCRIPTION,
    status: str | None = None,
) -> dict[str, Any]:
    """A copy of ``sample`` about ``resource_id`` and ``operation`` (its other fields kept)."""
    event = copy.deepcopy(load(sample))
    text = json.dumps(event).replace("{subscription-id}", subscription)
    event = json.loads(text)
    event["subject"] = resource_id
    if event_type is not None:
        event["type" if "specversion" in event else "eventType"] = event_type
    data = event["data"]
    data["resourceUri"] = resource_id
    data["operationName"] = operation
    data["resourceProvider"] = operation.split("/")[0]
    data["authorization"]["scope"] = resource_id
    data["authorization"]["action"] = operation
    if status is not None:
        data["status"] = status
    if "httpRequest" in data:
        data["httpRequest"]["url"] = f"https://management.azure.com{resource_id}?api-version=2025-10-01"
    return event


def template_event(
    resource_group: str,
    name: str,
    operation: str = "run/action",
    *,
    sample: str | None = None,
    event_type: str | None = None,
    subscription: str = SUBSCRIPTION,
) -> dict[str, Any]:
    """An event about a template operation: ``write``, ``delete``, ``run/action``, ``cancel/action``."""
    default_sample = {
        "write": "ResourceWriteSuccess.json",
        "delete": "ResourceDeleteSuccess.json",
    }.get(operation, "ResourceActionSuccess.json")
    return adapt(
        sample or default_sample,
        resource_id=template_id(resource_group, name, subscription),
        operation=f"Microsoft.VirtualMachineImages/imageTemplates/{operation}",
        event_type=event_type or TEMPLATE_OPERATIONS.get(operation),
        subscription=subscription,
    )


def staging_group_event(
    group: str, verb: str = "write", *, subscription: str = SUBSCRIPTION
) -> dict[str, Any]:
    """A write/delete of a resource group (an ``IT_`` staging group or any other)."""
    return adapt(
        "ResourceWriteSuccess.json" if verb == "write" else "ResourceDeleteSuccess.json",
        resource_id=f"/subscriptions/{subscription}/resourceGroups/{group}",
        operation=f"Microsoft.Resources/subscriptions/resourceGroups/{verb}",
        subscription=subscription,
    )
