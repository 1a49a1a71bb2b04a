"""The Event Grid subscriptions in infra/ let through exactly the events the function handles, nothing else.

There are two: the main one (image templates, resource groups) and the build-end one (the build VM or container
group deleted inside an IT_ staging group). Two ways: each filter's values equal monitor/events.py
HANDLED_EVENT_TYPES / HANDLED_OPERATION_PREFIXES, resp. BUILD_END_EVENT_TYPE / BUILD_END_OPERATIONS; and an
emulation of Event Grid's filtering (includedEventTypes, then advanced filters, ANDed across keys, values ORed;
string operators are case-insensitive) applied to a matrix of subscription events built from the Event Grid
samples agrees with what monitor.events.route() does with each of them, for the union of both filters. The
delivery target of both is the function that function_app.py registers.
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


MAIN_SUBSCRIPTION = "subscriptionToFunction"
BUILD_END_SUBSCRIPTION = "buildEndToFunction"


def _subscriptions() -> dict[str, dict[str, Any]]:
    found = resources_of_type(parse(EVENT_GRID), "Microsoft.EventGrid/systemTopics/eventSubscriptions")
    return {name: resource_body(sub)["properties"] for name, sub in found.items()}


def _subscription(name: str = MAIN_SUBSCRIPTION) -> dict[str, Any]:
    return _subscriptions()[name]


def _filter(name: str = MAIN_SUBSCRIPTION) -> dict[str, Any]:
    return _subscription(name)["filter"]


def test_two_subscriptions_on_the_same_topic() -> None:
    doc = parse(EVENT_GRID)
    found = resources_of_type(doc, "Microsoft.EventGrid/systemTopics/eventSubscriptions")
    assert set(found) == {MAIN_SUBSCRIPTION, BUILD_END_SUBSCRIPTION}
    assert {resource_body(sub)["parent"] for sub in found.values()} == {"topic"}
    names = {resource_body(sub)["name"] for sub in found.values()}
    assert names == {"eventSubscriptionName", "buildEndSubscriptionName"}
    defaults = {doc["parameters"][n]["default"] for n in names}
    assert len(defaults) == 2, "the two subscriptions need different names"


def test_included_event_types_are_the_handled_ones() -> None:
    assert set(_filter()["includedEventTypes"]) == set(events.HANDLED_EVENT_TYPES)
    assert len(_filter()["includedEventTypes"]) == len(events.HANDLED_EVENT_TYPES)


def test_operation_prefixes_are_the_handled_ones() -> None:
    (advanced,) = _filter()["advancedFilters"]
    assert advanced["operatorType"] == "StringBeginsWith"
    assert advanced["key"] == "data.operationName"
    assert set(advanced["values"]) == set(events.HANDLED_OPERATION_PREFIXES)


def test_build_end_filter_is_the_build_end_operations_in_any_group() -> None:
    """No condition on the group: a template's own stagingResourceGroup has any name."""
    filt = _filter(BUILD_END_SUBSCRIPTION)
    assert filt["includedEventTypes"] == [events.BUILD_END_EVENT_TYPE]
    (operation,) = filt["advancedFilters"]
    assert operation["key"] == "data.operationName" and operation["operatorType"] == "StringIn"
    assert set(operation["values"]) == set(events.BUILD_END_OPERATIONS)


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
        assert operator in _STRING_OPERATORS, f"emulator does not know {operator}"
        value = _lookup(event, advanced["key"])
        matches = _STRING_OPERATORS[operator]
        if not isinstance(value, str) or not any(
            matches(value.lower(), v.lower()) for v in advanced["values"]
        ):
            return False
    return True


_STRING_OPERATORS = {
    "StringBeginsWith": str.startswith,
    "StringIn": str.__eq__,
    "StringContains": str.__contains__,
}


def delivered_by(event: dict[str, Any]) -> set[str]:
    """Names of the subscriptions whose filter lets the event through."""
    return {name for name, properties in _subscriptions().items() if passes_filter(event, properties["filter"])}


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
CONTAINER_IN_STAGING = (
    f"{STAGING}/providers/Microsoft.ContainerInstance/containerGroups/vmimagebuilder-build-container-1"
)
NIC_IN_STAGING = f"{STAGING}/providers/Microsoft.Network/networkInterfaces/build-nic"
VM_ELSEWHERE = f"{PLAIN_GROUP}/providers/Microsoft.Compute/virtualMachines/web-1"
# A group whose name only contains "IT_" (not a staging group): the subject filter must not take it for one.
VM_IN_LOOKALIKE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/AUDIT_logs/providers/Microsoft.Compute/virtualMachines/a"
)
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
    (VM_IN_STAGING, "Microsoft.Compute/virtualMachines/delete"),
    (VM_IN_STAGING, "microsoft.compute/virtualmachines/delete"),
    (CONTAINER_IN_STAGING, "Microsoft.ContainerInstance/containerGroups/write"),
    (CONTAINER_IN_STAGING, "Microsoft.ContainerInstance/containerGroups/delete"),
    (NIC_IN_STAGING, "Microsoft.Network/networkInterfaces/write"),
    (NIC_IN_STAGING, "Microsoft.Network/networkInterfaces/delete"),
    (VM_ELSEWHERE, "Microsoft.Compute/virtualMachines/delete"),
    (VM_IN_LOOKALIKE, "Microsoft.Compute/virtualMachines/delete"),
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
    through = delivered_by(event)
    delivered = bool(through)
    acted_on = _acts_on(event)

    handled_type = event_type in events.HANDLED_EVENT_TYPES
    handled_operation = operation.lower().startswith(
        tuple(p.lower() for p in events.HANDLED_OPERATION_PREFIXES)
    )
    build_end = event_type == events.BUILD_END_EVENT_TYPE and operation.lower() in {
        o.lower() for o in events.BUILD_END_OPERATIONS
    }
    # Nothing else: an event gets through the main subscription only if both its type and its operation are
    # handled, and through the build-end one only if it is a VM / container group deleted (in any group: the
    # function tells a template's own staging group from others).
    assert (MAIN_SUBSCRIPTION in through) == (handled_type and handled_operation)
    assert (BUILD_END_SUBSCRIPTION in through) == build_end
    if acted_on:
        # Everything the function acts on gets through. (Other writes/deletes of resources *inside* a staging
        # group are neither subscribed to nor acted on: dozens per build.)
        assert delivered, "the function handles this event but the filters drop it"
    if delivered and resource_id != PLAIN_GROUP:
        # ...and what gets through is acted on (only the function can tell IT_ groups from others).
        assert acted_on, "the filters let through an event the function ignores"
    if BUILD_END_SUBSCRIPTION in through:
        assert isinstance(events.route(events.ResourceEvent.from_dict(event)), events.CheckStagingGroup)


def test_the_samples_are_used_as_they_are() -> None:
    """The matrix starts from the reference samples; the unchanged samples (about storage) are dropped."""
    for name in ("ResourceWriteSuccess.json", "ResourceDeleteSuccess.json", "ResourceActionSuccess.json"):
        body = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
        for event in body if isinstance(body, list) else [body]:
            assert not delivered_by(event)


# --- Delivery target and retry ------------------------------------------------------------------------------


def test_both_deliver_alike() -> None:
    """Only the filter differs: same destination, schema, retry policy and dead-lettering."""
    main, build_end = (
        {key: value for key, value in _subscription(name).items() if key != "filter"}
        for name in (MAIN_SUBSCRIPTION, BUILD_END_SUBSCRIPTION)
    )
    assert main == build_end
    assert set(main) >= {"destination", "eventDeliverySchema", "retryPolicy", "deadLetterWithResourceIdentity"}


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
