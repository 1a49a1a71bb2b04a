"""The Event Grid subscription in infra/ lets through exactly the events the function handles, nothing else.

Two ways: the filter's values equal monitor/events.py HANDLED_EVENT_TYPES / HANDLED_OPERATION_PREFIXES; and an
emulation of Event Grid's filtering (includedEventTypes, then advanced filters, ANDed; StringBeginsWith is
case-insensitive) applied to a matrix of subscription events built from the Event Grid samples agrees with
what monitor.events.route() does with each of them. The delivery target is the function that
function_app.py registers.
"""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from monitor import events
from tests.infra.bicep import EVENT_GRID, MAIN, REPO, parse, resource_body, resources_of_type

SAMPLES = REPO / "tests" / "monitor" / "data" / "eventgrid"
SUBSCRIPTION = "5f3c1e2a-8b7d-4c6e-9a1f-2d3e4f5a6b7c"

ALL_RESOURCE_EVENT_TYPES = [
    f"Microsoft.Resources.Resource{verb}{outcome}"
    for verb, outcome in itertools.product(("Write", "Delete", "Action"), ("Success", "Failure", "Cancel"))
]


def _subscription() -> dict[str, Any]:
    (sub,) = resources_of_type(
        parse(EVENT_GRID), "Microsoft.EventGrid/systemTopics/eventSubscriptions"
    ).values()
    return resource_body(sub)["properties"]


def _filter() -> dict[str, Any]:
    return _subscription()["filter"]


def test_included_event_types_are_the_handled_ones() -> None:
    assert set(_filter()["includedEventTypes"]) == set(events.HANDLED_EVENT_TYPES)
    assert len(_filter()["includedEventTypes"]) == len(events.HANDLED_EVENT_TYPES)


def test_operation_prefixes_are_the_handled_ones() -> None:
    (advanced,) = _filter()["advancedFilters"]
    assert advanced["operatorType"] == "StringBeginsWith"
    assert advanced["key"] == "data.operationName"
    assert set(advanced["values"]) == set(events.HANDLED_OPERATION_PREFIXES)


# --- Event Grid's filtering, emulated -----------------------------------------------------------------------


def _lookup(event: dict[str, Any], key: str) -> Any:
    value: Any = event
    for part in key.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def passes_filter(event: dict[str, Any], filt: dict[str, Any]) -> bool:
    """Event Grid schema. Event types compare case-insensitively; advanced filters are ANDed, values ORed."""
    included = filt.get("includedEventTypes")
    if included and event["eventType"].lower() not in {t.lower() for t in included}:
        return False
    for advanced in filt.get("advancedFilters", []):
        operator = advanced["operatorType"]
        assert operator == "StringBeginsWith", f"emulator does not know {operator}"
        value = _lookup(event, advanced["key"])
        if not isinstance(value, str) or not any(
            value.lower().startswith(v.lower()) for v in advanced["values"]
        ):
            return False
    return True


def _sample(event_type: str) -> dict[str, Any]:
    verb = next(v for v in ("Write", "Delete", "Action") if v in event_type)
    body = json.loads((SAMPLES / f"Resource{verb}Success.json").read_text(encoding="utf-8"))
    return copy.deepcopy(body[0] if isinstance(body, list) else body)


def _event(event_type: str, resource_id: str, operation: str) -> dict[str, Any]:
    event = _sample(event_type)
    event["eventType"] = event_type
    event["subject"] = resource_id
    event["topic"] = f"/subscriptions/{SUBSCRIPTION}"
    event["data"].update(
        resourceUri=resource_id,
        operationName=operation,
        subscriptionId=SUBSCRIPTION,
        status="Failed" if "Failure" in event_type else "Succeeded",
    )
    return event


IMAGES_RG = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/images"
TEMPLATE = f"{IMAGES_RG}/providers/Microsoft.VirtualMachineImages/imageTemplates/ubuntu"
STAGING = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/IT_images_ubuntu_0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7"
)
PLAIN_GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/web-prod"
VM_IN_STAGING = f"{STAGING}/providers/Microsoft.Compute/virtualMachines/build-vm"
STORAGE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/images/providers/Microsoft.Storage/storageAccounts/abc"
)
IMAGE = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/images/providers/Microsoft.Compute/images/ubuntu"

RESOURCES_AND_OPERATIONS = [
    (TEMPLATE, "Microsoft.VirtualMachineImages/imageTemplates/write"),
    (TEMPLATE, "Microsoft.VirtualMachineImages/imageTemplates/delete"),
    (TEMPLATE, "Microsoft.VirtualMachineImages/imageTemplates/run/action"),
    (TEMPLATE, "Microsoft.VirtualMachineImages/imageTemplates/cancel/action"),
    (TEMPLATE, "microsoft.virtualmachineimages/imagetemplates/run/action"),  # ARM does not promise the case
    (STAGING, "Microsoft.Resources/subscriptions/resourceGroups/write"),
    (STAGING, "Microsoft.Resources/subscriptions/resourceGroups/delete"),
    (PLAIN_GROUP, "Microsoft.Resources/subscriptions/resourceGroups/write"),
    (VM_IN_STAGING, "Microsoft.Compute/virtualMachines/write"),
    (
        f"{STAGING}/providers/Microsoft.Storage/storageAccounts/x",
        "Microsoft.Storage/storageAccounts/listKeys/action",
    ),
    (STORAGE, "Microsoft.Storage/storageAccounts/write"),
    (IMAGE, "Microsoft.Compute/images/write"),
]

MATRIX = [
    (event_type, resource_id, operation)
    for event_type in ALL_RESOURCE_EVENT_TYPES
    for resource_id, operation in RESOURCES_AND_OPERATIONS
]


def _acts_on(event: dict[str, Any]) -> bool:
    action = events.route(events.ResourceEvent.from_dict(event))
    return not isinstance(action, events.Ignore)


@pytest.mark.parametrize(("event_type", "resource_id", "operation"), MATRIX)
def test_filter_agrees_with_the_function(event_type: str, resource_id: str, operation: str) -> None:
    event = _event(event_type, resource_id, operation)
    delivered = passes_filter(event, _filter())
    acted_on = _acts_on(event)

    handled_type = event_type in events.HANDLED_EVENT_TYPES
    handled_operation = operation.lower().startswith(
        tuple(p.lower() for p in events.HANDLED_OPERATION_PREFIXES)
    )
    # Nothing else: an event gets through only if both its type and its operation are handled.
    assert delivered == (handled_type and handled_operation)
    if acted_on and resource_id != VM_IN_STAGING:
        # Everything the function acts on gets through. (Writes of resources *inside* a staging group are not
        # subscribed to on purpose: dozens per build; the group's own write/delete and the sweep cover them.)
        assert delivered, "the function handles this event but the filter drops it"
    if delivered and resource_id != PLAIN_GROUP:
        # ...and what gets through is acted on (only the function can tell IT_ groups from others).
        assert acted_on, "the filter lets through an event the function ignores"


def test_the_samples_are_used_as_they_are() -> None:
    """The matrix starts from the reference samples; the unchanged samples (about storage) are dropped."""
    for name in ("ResourceWriteSuccess.json", "ResourceDeleteSuccess.json", "ResourceActionSuccess.json"):
        body = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
        for event in body if isinstance(body, list) else [body]:
            assert not passes_filter(event, _filter())


# --- Delivery target and retry ------------------------------------------------------------------------------


def test_delivers_to_the_registered_event_grid_function() -> None:
    destination = _subscription()["destination"]
    assert destination["endpointType"] == "AzureFunction"
    assert destination["properties"]["resourceId"] == "${app.id}/functions/${functionName}"
    function_name = parse(EVENT_GRID)["parameters"]["functionName"]["default"]

    import function_app  # the real app object: function names and trigger types as the host indexes them

    functions = {f.get_function_name(): f for f in function_app.app.get_functions()}
    assert function_name in functions, sorted(functions)
    trigger = functions[function_name].get_trigger()
    assert trigger.get_binding_name() == "eventGridTrigger"
    assert "sweep" in functions and functions["sweep"].get_trigger().get_binding_name() == "timerTrigger"


def test_retry_and_identity_dead_letter() -> None:
    properties = _subscription()
    assert set(properties["retryPolicy"]) == {"maxDeliveryAttempts", "eventTimeToLiveInMinutes"}
    dead_letter = properties["deadLetterWithResourceIdentity"]
    assert dead_letter["identity"]["type"] == "SystemAssigned"
    assert dead_letter["deadLetterDestination"]["endpointType"] == "StorageBlob"
    assert "deadLetterDestination" not in properties  # key-based dead-lettering cannot work: no shared keys


def test_main_deploys_the_subscription_only_on_request() -> None:
    module = parse(MAIN)["modules"]["events"]
    assert module["detail"]["path"] == "eventgrid.bicep"
    assert module["config"]["condition"] == "deployEventSubscription"
    assert parse(MAIN)["parameters"]["deployEventSubscription"]["default"] is False


def test_system_topic_is_the_subscriptions() -> None:
    doc = parse(Path(MAIN).parent / "modules" / "systemtopic.bicep")
    (topic,) = resources_of_type(doc, "Microsoft.EventGrid/systemTopics").values()
    body = resource_body(topic)
    assert body["location"] == "global"
    assert body["properties"]["topicType"] == "Microsoft.Resources.Subscriptions"
    assert body["identity"]["type"] == "SystemAssigned"
