"""monitor/events/: parsing both Event Grid schemas, routing, malformed events, transient errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from azure.core.exceptions import (
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from monitor.azure.errors import is_transient
from monitor.events import (
    BUILD_END_EVENT_TYPE,
    BUILD_END_OPERATIONS,
    HANDLED_EVENT_TYPES,
    HANDLED_OPERATION_PREFIXES,
    SCHEMA_CLOUD_EVENTS,
    SCHEMA_EVENT_GRID,
    CheckStagingGroup,
    CheckTemplate,
    Ignore,
    MalformedEvent,
    ResourceEvent,
    ResourceId,
    parse_event,
    parse_events,
    route,
)
from tests.monitor import eventsamples as samples
from tests.monitor.eventsamples import (
    SUBSCRIPTION,
    adapt,
    load,
    staging_group_event,
    template_event,
    template_id,
)

RG = "img-rg"
TEMPLATE = "win2022-golden"
TEMPLATE_ID = template_id(RG, TEMPLATE)


# --- the samples as they are --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", samples.ALL_SAMPLES)
def test_every_sample_parses_from_its_file_text(name):
    text = (samples.DATA / name).read_text(encoding="utf-8")
    events = parse_events(text)
    assert len(events) == 1
    event = events[0]
    raw = load(name)
    assert event.id == raw["id"]
    assert event.subject == raw["subject"]
    assert event.event_type == raw.get("eventType", raw.get("type"))
    assert event.schema == (SCHEMA_CLOUD_EVENTS if name in samples.CLOUD_EVENT_SAMPLES else SCHEMA_EVENT_GRID)
    assert event.topic == raw.get("topic", raw.get("source"))
    assert event.event_time is not None and event.event_time.tzinfo is not None
    assert event.event_time.year == 2018
    assert event.data is not None
    assert event.operation_name == raw["data"]["operationName"]
    assert event.data.status == "Succeeded"
    assert event.data.resource_uri == raw["data"]["resourceUri"]
    assert event.resource_id == raw["data"]["resourceUri"]


def test_event_grid_time_with_seven_fraction_digits():
    event = parse_event((samples.DATA / "ResourceActionSuccess.json").read_bytes())
    assert event.event_time == datetime(2018, 10, 8, 22, 46, 22, 602255, tzinfo=UTC)
    assert event.data_version == "2"
    assert event.data is not None and event.data.http_method == "POST"


@pytest.mark.parametrize("name", samples.ALL_SAMPLES)
def test_unmodified_samples_are_about_other_resources_and_ignored(name):
    action = route(parse_event(load(name)))
    assert isinstance(action, Ignore)
    assert load(name)["data"]["operationName"] in action.reason


@pytest.mark.parametrize("name", samples.ALL_SAMPLES)
def test_claims_and_authorization_are_not_kept(name):
    event = parse_event(load(name))
    text = repr(event)
    for leaked in ("claims", "{token}", "{IP-address}", "authorization", "{full-name}", "{user-name}"):
        assert leaked not in text


# --- routing: image templates -------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", samples.ALL_SAMPLES)
@pytest.mark.parametrize("operation", ["write", "delete", "run/action", "cancel/action"])
def test_template_operations_route_to_that_template(sample, operation):
    event = template_event(RG, TEMPLATE, operation, sample=sample)
    assert route(parse_event(json.dumps(event))) == CheckTemplate(TEMPLATE_ID)


@pytest.mark.parametrize(
    "event_type",
    [
        "Microsoft.Resources.ResourceActionFailure",
        "Microsoft.Resources.ResourceActionCancel",
        "Microsoft.Resources.ResourceWriteFailure",
    ],
)
def test_failed_and_canceled_operations_are_handled(event_type):
    operation = "write" if "Write" in event_type else "run/action"
    event = template_event(RG, TEMPLATE, operation, event_type=event_type)
    event["data"]["status"] = "Failed"
    assert route(parse_event(event)) == CheckTemplate(TEMPLATE_ID)


@pytest.mark.parametrize(
    "event_type",
    [
        "Microsoft.Resources.ResourceWriteCancel",
        "Microsoft.Resources.ResourceDeleteFailure",
        "Microsoft.Resources.ResourceDeleteCancel",
    ],
)
def test_event_types_that_change_no_build_are_ignored(event_type):
    event = template_event(RG, TEMPLATE, "delete", event_type=event_type)
    action = route(parse_event(event))
    assert isinstance(action, Ignore)
    assert event_type in action.reason
    assert event_type not in HANDLED_EVENT_TYPES


def test_lowercase_resourcegroups_segment_is_canonicalized():
    # The documentation samples spell the segment "resourcegroups"; ARM is case-insensitive.
    rid = template_id(RG, TEMPLATE, rg_segment="resourcegroups")
    event = adapt(
        "ResourceWriteSuccess.json",
        resource_id=rid,
        operation="Microsoft.VirtualMachineImages/imageTemplates/write",
    )
    assert route(parse_event(event)) == CheckTemplate(TEMPLATE_ID)


def test_operation_name_case_does_not_matter():
    event = template_event(RG, TEMPLATE, "run/action")
    event["data"]["operationName"] = "MICROSOFT.VIRTUALMACHINEIMAGES/IMAGETEMPLATES/RUN/ACTION"
    assert route(parse_event(event)) == CheckTemplate(TEMPLATE_ID)


def test_resource_uri_wins_over_subject_and_subresources_map_to_the_template():
    event = template_event(RG, TEMPLATE, "run/action")
    event["subject"] = "/subscriptions/x/resourceGroups/other"
    event["data"]["resourceUri"] = TEMPLATE_ID + "/run"
    assert route(parse_event(event)) == CheckTemplate(TEMPLATE_ID)


def test_subject_is_used_when_resource_uri_is_absent():
    event = template_event(RG, TEMPLATE, "write")
    del event["data"]["resourceUri"]
    assert route(parse_event(event)) == CheckTemplate(TEMPLATE_ID)


def test_other_template_operations_are_ignored():
    event = template_event(RG, TEMPLATE, "run/action")
    event["data"]["operationName"] = "Microsoft.VirtualMachineImages/imageTemplates/runOutputs/read"
    action = route(parse_event(event))
    assert isinstance(action, Ignore) and "does not change a build" in action.reason


def test_template_operation_on_something_else_is_malformed():
    event = template_event(RG, TEMPLATE, "run/action")
    event["data"]["resourceUri"] = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}"
    with pytest.raises(MalformedEvent, match="does not name an image template"):
        route(parse_event(event))


# --- routing: staging groups --------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["write", "delete"])
def test_staging_group_write_or_delete_routes_to_the_group(verb):
    group = "IT_img-rg_win2022-golden_0b7b3c1e-7f7e-4a49-9d0a-3c1f0e2d4b5a"
    assert route(parse_event(staging_group_event(group, verb))) == CheckStagingGroup(SUBSCRIPTION, group)


def test_ordinary_resource_group_is_ignored():
    action = route(parse_event(staging_group_event("app-rg")))
    assert isinstance(action, Ignore) and "not an Image Builder staging group" in action.reason


def test_resources_inside_a_staging_group():
    group = "IT_img-rg_win2022_1234"
    container = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.ContainerInstance"
        "/containerGroups/vmimagebuilder-build-container-1"
    )
    deleted = adapt(
        "ResourceDeleteSuccess.json",
        resource_id=container,
        operation="Microsoft.ContainerInstance/containerGroups/delete",
    )
    assert route(parse_event(deleted)) == CheckStagingGroup(SUBSCRIPTION, group)
    # listKeys is an action the monitor itself performs on staging accounts: reacting to it would loop.
    account = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/a1"
    )
    list_keys = adapt(
        "ResourceActionSuccess.json",
        resource_id=account,
        operation="Microsoft.Storage/storageAccounts/listKeys/action",
    )
    assert isinstance(route(parse_event(list_keys)), Ignore)


def _in_group(group: str, resource: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/{resource}"


@pytest.mark.parametrize("sample", ["ResourceDeleteSuccess.json", "resource_write_success.json"])
def test_build_vm_deleted_in_a_staging_group_is_the_end_of_the_run(sample):
    group = "IT_img-rg_win2022-golden_0b7b3c1e-7f7e-4a49-9d0a-3c1f0e2d4b5a"
    vm = adapt(
        sample,
        resource_id=_in_group(group, "Microsoft.Compute/virtualMachines/vmimagebuilder-abc"),
        operation="Microsoft.Compute/virtualMachines/delete",
        event_type="Microsoft.Resources.ResourceDeleteSuccess",  # the CloudEvents sample is a write
    )
    assert route(parse_event(vm)) == CheckStagingGroup(SUBSCRIPTION, group)
    vm["data"]["operationName"] = "MICROSOFT.COMPUTE/VIRTUALMACHINES/DELETE"  # ARM does not promise the case
    assert route(parse_event(vm)) == CheckStagingGroup(SUBSCRIPTION, group)


def test_only_build_end_deletes_inside_a_staging_group_are_acted_on():
    group = "IT_img-rg_win2022_1234"
    nic_write = adapt(
        "ResourceWriteSuccess.json",
        resource_id=_in_group(group, "Microsoft.Network/networkInterfaces/nic1"),
        operation="Microsoft.Network/networkInterfaces/write",
    )
    vm_write = adapt(
        "ResourceWriteSuccess.json",
        resource_id=_in_group(group, "Microsoft.Compute/virtualMachines/vm1"),
        operation="Microsoft.Compute/virtualMachines/write",
    )
    nic_delete = adapt(
        "ResourceDeleteSuccess.json",
        resource_id=_in_group(group, "Microsoft.Network/networkInterfaces/nic1"),
        operation="Microsoft.Network/networkInterfaces/delete",
    )
    for event in (nic_write, vm_write, nic_delete):
        action = route(parse_event(event))
        assert isinstance(action, Ignore), event["data"]["operationName"]
        assert event["data"]["operationName"] in action.reason


def test_build_vm_delete_in_any_group_may_end_a_build_in_a_custom_staging_group():
    """A template may name its own stagingResourceGroup: the monitor, not the route, tells it from other groups
    (tests/monitor/test_custom_staging.py)."""
    vm = adapt(
        "ResourceDeleteSuccess.json",
        resource_id=_in_group("rg-image-staging", "Microsoft.Compute/virtualMachines/vm1"),
        operation="Microsoft.Compute/virtualMachines/delete",
    )
    assert route(parse_event(vm)) == CheckStagingGroup(SUBSCRIPTION, "rg-image-staging")


@pytest.mark.parametrize(
    "event_type",
    [
        "Microsoft.Resources.ResourceDeleteFailure",
        "Microsoft.Resources.ResourceDeleteCancel",
        "Microsoft.Resources.ResourceWriteSuccess",  # the wrong type for a delete: not the end of a run
    ],
)
def test_build_end_operation_needs_delete_success(event_type):
    vm = adapt(
        "ResourceDeleteSuccess.json",
        resource_id=_in_group("IT_a_b_c", "Microsoft.Compute/virtualMachines/vm1"),
        operation="Microsoft.Compute/virtualMachines/delete",
        event_type=event_type,
    )
    assert isinstance(route(parse_event(vm)), Ignore)


def test_build_end_operations_are_the_contract():
    assert set(BUILD_END_OPERATIONS) == {
        "Microsoft.Compute/virtualMachines/delete",
        "Microsoft.ContainerInstance/containerGroups/delete",
    }
    assert BUILD_END_EVENT_TYPE == "Microsoft.Resources.ResourceDeleteSuccess"
    assert BUILD_END_EVENT_TYPE in HANDLED_EVENT_TYPES


def test_handled_operation_prefixes_cover_every_routed_operation():
    for operation in ("write", "delete", "run/action", "cancel/action"):
        name = template_event(RG, TEMPLATE, operation)["data"]["operationName"]
        assert any(name.startswith(prefix + "/") for prefix in HANDLED_OPERATION_PREFIXES)
    for verb in ("write", "delete"):
        name = staging_group_event("IT_x", verb)["data"]["operationName"]
        assert any(name.startswith(prefix + "/") for prefix in HANDLED_OPERATION_PREFIXES)


def test_handled_constants_are_the_contract():
    assert set(HANDLED_OPERATION_PREFIXES) == {
        "Microsoft.VirtualMachineImages/imageTemplates",
        "Microsoft.Resources/subscriptions/resourceGroups",
    }
    assert {
        "Microsoft.Resources.ResourceWriteSuccess",
        "Microsoft.Resources.ResourceDeleteSuccess",
        "Microsoft.Resources.ResourceActionSuccess",
        "Microsoft.Resources.ResourceActionFailure",
        "Microsoft.Resources.ResourceActionCancel",
    } <= set(HANDLED_EVENT_TYPES)


# --- non-resource events ------------------------------------------------------------------------------------


def test_validation_event_parses_and_is_ignored():
    event = {
        "id": "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
        "topic": f"/subscriptions/{SUBSCRIPTION}",
        "subject": "",
        "data": {"validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "eventTime": "2018-01-25T22:12:19.4556811Z",
        "dataVersion": "1",
    }
    event["subject"] = "validation"
    parsed = parse_event(event)
    assert parsed.data is None and parsed.operation_name is None
    assert isinstance(route(parsed), Ignore)


# --- malformed ----------------------------------------------------------------------------------------------


def _without(event: dict, *path: str) -> dict:
    target = event
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return event


def _with(event: dict, value, *path: str) -> dict:
    target = event
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return event


def _eg():
    return template_event(RG, TEMPLATE, "run/action")


def _ce():
    return template_event(RG, TEMPLATE, "write", sample="resource_write_success.json")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("{not json", "is not JSON"),
        (b"\xff\xfe\x00garbage", "is not JSON"),
        ("", "is not JSON"),
        ("42", "must be a JSON object, got a number"),
        ("null", "must be a JSON object, got null"),
        ('"text"', "must be a JSON object, got a string"),
        ("[]", "expected one event, got an array of 0"),
        ({"hello": "world"}, "neither an Event Grid event"),
        (_without(_eg(), "data"), "has no data"),
        (_with(_eg(), None, "data"), "has no data"),
        (_with(_eg(), [1, 2], "data"), "data must be an object, got an array"),
        (_with(_eg(), "{oops", "data"), "data is not JSON"),
        (_with(_eg(), 7, "data"), "data must be an object, got a number"),
        (_without(_eg(), "data", "operationName"), "data.operationName is missing"),
        (_with(_eg(), 12, "data", "operationName"), "data.operationName must be a string, got a number"),
        (_with(_eg(), "  ", "data", "operationName"), "data.operationName is empty"),
        (_with(_eg(), ["/x"], "data", "resourceUri"), "data.resourceUri must be a string"),
        (_with(_eg(), "POST", "data", "httpRequest"), "data.httpRequest must be an object"),
        (_without(_eg(), "subject"), "subject is missing"),
        (_without(_eg(), "id"), "id is missing"),
        (_with(_eg(), 5, "eventType"), "eventType must be a string, got a number"),
        (_with(_eg(), "yesterday", "eventTime"), "eventTime is not an ISO 8601 time"),
        (_with(_eg(), 1700000000, "eventTime"), "eventTime must be an ISO 8601 string"),
        (_with(_ce(), "0.3", "specversion"), "unsupported CloudEvents specversion"),
        (_without(_ce(), "source"), "source is missing"),
        (_without(_ce(), "type"), "type is missing"),
        (_with(_ce(), {"a": 1}, "subject"), "subject must be a string, got an object"),
        (_with(_ce(), "not-a-time", "time"), "time is not an ISO 8601 time"),
    ],
)
def test_malformed_events_raise_a_clear_error(payload, message):
    if isinstance(payload, dict):
        payload = json.dumps(payload)
    with pytest.raises(MalformedEvent) as caught:
        parse_event(payload)
    assert message in str(caught.value)
    assert str(caught.value).startswith("malformed event")


def test_malformed_message_names_the_event_and_never_echoes_secrets():
    secret = "https://x.blob.core.windows.net/c/b?sv=2022&sig=c2VjcmV0c2lnbmF0dXJldmFsdWU%3D"
    event = _with(_eg(), secret, "eventTime")
    with pytest.raises(MalformedEvent) as caught:
        parse_event(event)
    text = str(caught.value)
    assert event["id"] in text
    assert "c2VjcmV0c2lnbmF0dXJldmFsdWU" not in text
    assert "eventTime" in text


def test_malformed_message_truncates_long_input():
    event = _with(_eg(), "x" * 10_000, "eventTime")
    with pytest.raises(MalformedEvent) as caught:
        parse_event(event)
    assert len(str(caught.value)) < 300


def test_data_delivered_as_a_json_string_is_accepted():
    event = _eg()
    event["data"] = json.dumps(event["data"])
    assert route(parse_event(event)) == CheckTemplate(TEMPLATE_ID)


def test_parse_events_of_an_array_and_of_garbage():
    body = json.dumps([_eg(), staging_group_event("IT_a_b_c")])
    events = parse_events(body)
    assert [type(route(e)).__name__ for e in events] == ["CheckTemplate", "CheckStagingGroup"]
    with pytest.raises(MalformedEvent, match="an event or an array of events"):
        parse_events("3")
    with pytest.raises(MalformedEvent, match="must be a JSON object"):
        parse_events("[1]")


def test_resource_event_from_dict_rejects_non_objects():
    with pytest.raises(MalformedEvent, match="got an array"):
        ResourceEvent.from_dict([])


# --- resource ids -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"/subscriptions/{SUBSCRIPTION}", (SUBSCRIPTION, None, None, ())),
        (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg1", (SUBSCRIPTION, "rg1", None, ())),
        (
            f"/SUBSCRIPTIONS/{SUBSCRIPTION}/RESOURCEGROUPS/rg1/PROVIDERS/Microsoft.Storage/storageAccounts/a",
            (SUBSCRIPTION, "rg1", "Microsoft.Storage", ("storageAccounts",)),
        ),
        ("/providers/Microsoft.Foo/bar/x", None),
        ("", None),
        (f"/subscriptions/{SUBSCRIPTION}/resourceGroups", None),
        (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg1/providers/Microsoft.Storage", None),
        (
            f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts",
            None,
        ),
        (  # an action path: the trailing action name is not part of the id
            f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/a/listKeys",
            (SUBSCRIPTION, "rg1", "Microsoft.Storage", ("storageAccounts",)),
        ),
    ],
)
def test_resource_id_parse(text, expected):
    rid = ResourceId.parse(text)
    if expected is None:
        assert rid is None
    else:
        assert rid is not None
        assert (rid.subscription_id, rid.resource_group, rid.provider, rid.types) == expected


# --- transient errors ---------------------------------------------------------------------------------------


def _http_error(status: int | None) -> HttpResponseError:
    error = HttpResponseError(message=f"status {status}")
    error.status_code = status  # what the pipeline sets from the response
    return error


@pytest.mark.parametrize(
    ("status", "transient"),
    [
        (429, True),
        (500, True),
        (503, True),
        (408, True),
        (400, False),
        (403, False),
        (404, False),
        (409, False),
        (None, False),
    ],
)
def test_http_errors_by_status(status, transient):
    assert is_transient(_http_error(status)) is transient


def test_connection_errors_are_transient_and_others_not():
    assert is_transient(ServiceRequestError("connection refused"))
    assert is_transient(ServiceResponseError("connection reset"))
    assert not is_transient(ResourceNotFoundError("gone"))
    assert not is_transient(ValueError("bug"))
    assert not is_transient(MalformedEvent("x"))


def test_wrapped_transient_error_is_transient():
    try:
        try:
            raise _http_error(429)
        except HttpResponseError as inner:
            raise RuntimeError("sweep step failed") from inner
    except RuntimeError as outer:
        assert is_transient(outer)
