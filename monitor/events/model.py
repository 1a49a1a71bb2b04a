"""Event Grid events from the subscription's system topic, as typed data, and what to do with each one.

Image Builder publishes no events of its own. The subscription's system topic
(``Microsoft.Resources.Subscriptions``) emits
``Microsoft.Resources.Resource{Write,Delete,Action}{Success,Failure,Cancel}`` for every ARM PUT/PATCH/DELETE/
POST; the ones about image templates and their ``IT_`` staging groups mean "look at this template now". The
template's ``lastRunStatus`` stays the truth: an event only says *when* to look (Event Grid delivers at least
once, possibly late and out of order).

Two wire schemas arrive, depending on the event subscription's delivery schema:

- Event Grid schema: ``{"id", "eventType", "subject", "eventTime", "topic", "data", "dataVersion", ...}``
  (the HTTP body is an array; the Functions host invokes the function once per element);
- CloudEvents 1.0: ``{"specversion", "id", "type", "source", "subject", "time", "data"}``.

Modelled after AWS Lambda Powertools' event data classes: ``ResourceEvent`` gives typed, validated access to
the fields the monitor uses and nothing else. The ``claims`` and ``authorization`` parts (caller identity,
tokens' ``aio`` claim, IP addresses) are deliberately not kept, so they can never end up in a log line.

Anything that does not have the shape of an event raises ``MalformedEvent`` with a message that names the problem
and never echoes secrets; the Functions app logs and drops those. What to do with an event: routing.py.

This module imports only the standard library and monitor/azure/ids.py (the Functions app imports it on every cold
start); ``is_transient`` (which failures Event Grid should redeliver) is in monitor/azure/errors.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from diagnosis.status import json_type_name
from monitor.azure.ids import IMAGE_TEMPLATE_PROVIDER, IMAGE_TEMPLATE_TYPE

# --- What the monitor listens to (infra/ builds the event subscription's filter from these) -----------------

RESOURCE_WRITE_SUCCESS = "Microsoft.Resources.ResourceWriteSuccess"
RESOURCE_WRITE_FAILURE = "Microsoft.Resources.ResourceWriteFailure"
RESOURCE_DELETE_SUCCESS = "Microsoft.Resources.ResourceDeleteSuccess"
RESOURCE_ACTION_SUCCESS = "Microsoft.Resources.ResourceActionSuccess"
RESOURCE_ACTION_FAILURE = "Microsoft.Resources.ResourceActionFailure"
RESOURCE_ACTION_CANCEL = "Microsoft.Resources.ResourceActionCancel"

#: Event types that can change what a template's build looks like.
#:
#: - WriteSuccess: a template was created/updated (a new submission) or an ``IT_`` staging group appeared.
#: - WriteFailure: an image template PUT is a long-running operation; when the service rejects the template
#:   after accepting it, the template exists with ``provisioningState: Failed`` and a ``provisioningError`` —
#:   the "submission failed" case, which we want within a minute rather than at the next sweep.
#: - DeleteSuccess: the template (or its staging group) is gone — the last chance to save what the monitor
#:   snapshotted of a running build.
#: - ActionSuccess / ActionFailure / ActionCancel: ``run/action`` and ``cancel/action`` on a template.
#:
#: Not handled, on purpose: ``ResourceWriteCancel`` (a canceled PUT leaves the previous template, and its run
#: state, unchanged), ``ResourceDeleteFailure`` and ``ResourceDeleteCancel`` (the template stays as it was; a
#: delete refused while a build runs — "not allowed in provisioningState ... runState: 'running'" — says
#: nothing new about that build, and the sweep keeps watching it).
HANDLED_EVENT_TYPES: tuple[str, ...] = (
    RESOURCE_WRITE_SUCCESS,
    RESOURCE_WRITE_FAILURE,
    RESOURCE_DELETE_SUCCESS,
    RESOURCE_ACTION_SUCCESS,
    RESOURCE_ACTION_FAILURE,
    RESOURCE_ACTION_CANCEL,
)

IMAGE_TEMPLATES = f"{IMAGE_TEMPLATE_PROVIDER}/{IMAGE_TEMPLATE_TYPE}"
RESOURCE_GROUPS = "Microsoft.Resources/subscriptions/resourceGroups"

#: ``data.operationName`` prefixes the event subscription lets through (an advanced filter, StringBeginsWith).
#: Image template operations, and resource group writes/deletes (of which only ``IT_`` staging groups matter).
HANDLED_OPERATION_PREFIXES: tuple[str, ...] = (IMAGE_TEMPLATES, RESOURCE_GROUPS)

#: The end-of-run signal. Whether a build succeeds or fails, Image Builder's cleanup then deletes the build VM
#: (and later the build container group) inside the run's ``IT_`` staging group: a ``ResourceDeleteSuccess``
#: with one of these ``data.operationName`` values and the deleted resource's id (inside ``IT_...``) as subject.
#: It says "the run is over, look now", before a pipeline deletes the template. infra/eventgrid.bicep has a
#: second event subscription for exactly these (type BUILD_END_EVENT_TYPE, StringIn these operations, subject
#: StringContains ``/resourceGroups/IT_``). Other writes/deletes inside staging groups (dozens per build) are
#: neither subscribed to nor acted on.
BUILD_END_OPERATIONS: tuple[str, ...] = (
    "Microsoft.Compute/virtualMachines/delete",
    "Microsoft.ContainerInstance/containerGroups/delete",
)
BUILD_END_EVENT_TYPE = RESOURCE_DELETE_SUCCESS

#: Image template operations that mean "look at this template now" (after the ``imageTemplates/`` prefix).
TEMPLATE_OPERATIONS: tuple[str, ...] = ("write", "delete", "run/action", "cancel/action")

#: Image Builder's staging resource groups: ``IT_<resource group>_<template>_<guid>``.
STAGING_GROUP_PREFIX = "IT_"

SCHEMA_EVENT_GRID = "eventgrid"
SCHEMA_CLOUD_EVENTS = "cloudevents"

_RESOURCES_EVENT_PREFIX = "Microsoft.Resources.Resource"
_BUILD_END_OPERATIONS_LOWER = frozenset(op.lower() for op in BUILD_END_OPERATIONS)
_MAX_ECHO = 80  # longest piece of input a MalformedEvent message repeats


class MalformedEvent(ValueError):
    """The payload is not a usable Event Grid / CloudEvents event. The message names what is wrong."""

    def __init__(self, problem: str, event_id: str | None = None) -> None:
        self.problem = problem
        self.event_id = event_id
        super().__init__(f"malformed event{f' {event_id}' if event_id else ''}: {problem}")


# --- Typed events -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceEventData:
    """The ``data`` of a ``Microsoft.Resources.*`` event (without claims and authorization)."""

    operation_name: str
    resource_uri: str | None = None
    resource_provider: str | None = None
    subscription_id: str | None = None
    resource_group: str | None = None
    tenant_id: str | None = None
    status: str | None = None
    correlation_id: str | None = None
    http_method: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], event_id: str | None = None) -> ResourceEventData:
        def text(name: str, required: bool = False) -> str | None:
            return _field(data, name, event_id, required, label=f"data.{name}")

        http_request = data.get("httpRequest")
        if http_request is not None and not isinstance(http_request, Mapping):
            raise MalformedEvent(
                f"data.httpRequest must be an object, got {type(http_request).__name__}", event_id
            )
        method = (http_request or {}).get("method")
        return cls(
            operation_name=text("operationName", required=True) or "",
            resource_uri=text("resourceUri"),
            resource_provider=text("resourceProvider"),
            subscription_id=text("subscriptionId"),
            resource_group=text("resourceGroup"),
            tenant_id=text("tenantId"),
            status=text("status"),
            correlation_id=text("correlationId"),
            http_method=method if isinstance(method, str) else None,
        )


@dataclass(frozen=True)
class ResourceEvent:
    """One event of either schema, normalized.

    ``topic`` is the Event Grid ``topic`` or the CloudEvents ``source``. ``data`` is set for
    ``Microsoft.Resources.*`` events and None for other event types (which the monitor ignores).
    """

    id: str
    event_type: str
    subject: str
    event_time: datetime | None
    topic: str | None
    schema: str
    data: ResourceEventData | None = None
    data_version: str | None = None

    @property
    def operation_name(self) -> str | None:
        return self.data.operation_name if self.data else None

    @property
    def resource_id(self) -> str:
        """The resource the operation touched: ``data.resourceUri``, else the subject."""
        return (self.data.resource_uri if self.data and self.data.resource_uri else None) or self.subject

    @classmethod
    def from_dict(cls, body: Any) -> ResourceEvent:
        if not isinstance(body, Mapping):
            raise MalformedEvent(f"an event must be a JSON object, got {json_type_name(body)}")
        if "specversion" in body:
            return cls._from_cloud_event(body)
        if "eventType" in body:
            return cls._from_event_grid(body)
        raise MalformedEvent("neither an Event Grid event (no eventType) nor a CloudEvent (no specversion)")

    @classmethod
    def _from_event_grid(cls, body: Mapping[str, Any]) -> ResourceEvent:
        event_id = _field(body, "id", None)
        return cls._build(
            event_id=event_id,
            event_type=_field(body, "eventType", event_id),
            subject=_field(body, "subject", event_id),
            time=body.get("eventTime"),
            time_name="eventTime",
            topic=_field(body, "topic", event_id, required=False),
            schema=SCHEMA_EVENT_GRID,
            data=body.get("data"),
            has_data="data" in body,
            data_version=_field(body, "dataVersion", event_id, required=False),
        )

    @classmethod
    def _from_cloud_event(cls, body: Mapping[str, Any]) -> ResourceEvent:
        event_id = _field(body, "id", None)
        specversion = body.get("specversion")
        if specversion != "1.0":
            raise MalformedEvent(f"unsupported CloudEvents specversion {_echo(specversion)}", event_id)
        return cls._build(
            event_id=event_id,
            event_type=_field(body, "type", event_id),
            subject=_field(body, "subject", event_id),
            time=body.get("time"),
            time_name="time",
            topic=_field(body, "source", event_id),
            schema=SCHEMA_CLOUD_EVENTS,
            data=body.get("data"),
            has_data="data" in body,
            data_version=None,
        )

    @classmethod
    def _build(
        cls,
        *,
        event_id: str | None,
        event_type: str | None,
        subject: str | None,
        time: Any,
        time_name: str,
        topic: str | None,
        schema: str,
        data: Any,
        has_data: bool,
        data_version: str | None,
    ) -> ResourceEvent:
        assert (
            event_id is not None and event_type is not None and subject is not None
        )  # _field(required=True)
        resource_data: ResourceEventData | None = None
        if event_type.startswith(_RESOURCES_EVENT_PREFIX):
            if not has_data or data is None:
                raise MalformedEvent(f"{event_type} has no data", event_id)
            if isinstance(data, str | bytes | bytearray):
                # Some publishers deliver data as a JSON string; accept it if it is one.
                data = _loads(data, event_id, what="data")
            if not isinstance(data, Mapping):
                raise MalformedEvent(f"data must be an object, got {json_type_name(data)}", event_id)
            resource_data = ResourceEventData.from_dict(data, event_id)
        return cls(
            id=event_id,
            event_type=event_type,
            subject=subject,
            event_time=_parse_time(time, time_name, event_id),
            topic=topic,
            schema=schema,
            data=resource_data,
            data_version=data_version,
        )


def parse_event(payload: Any) -> ResourceEvent:
    """One event from a dict or JSON text/bytes (either schema). A one-element array is accepted too."""
    body = (
        _loads(payload, None, what="the event") if isinstance(payload, str | bytes | bytearray) else payload
    )
    if isinstance(body, list):
        if len(body) != 1:
            raise MalformedEvent(f"expected one event, got an array of {len(body)}")
        body = body[0]
    return ResourceEvent.from_dict(body)


def parse_events(payload: Any) -> list[ResourceEvent]:
    """Every event of an Event Grid HTTP body (an array) or of a single event object."""
    body = (
        _loads(payload, None, what="the payload") if isinstance(payload, str | bytes | bytearray) else payload
    )
    if isinstance(body, Mapping):
        return [ResourceEvent.from_dict(body)]
    if not isinstance(body, list):
        raise MalformedEvent(f"expected an event or an array of events, got {json_type_name(body)}")
    return [ResourceEvent.from_dict(item) for item in body]


def from_functions_event(event: Any) -> ResourceEvent:
    """A ``ResourceEvent`` from what the Functions host hands to an Event Grid trigger.

    That is ``azure.functions.EventGridEvent`` (Event Grid schema) or ``azure.functions.CloudEvent``
    (CloudEvents schema), both already decoded from JSON. Duck-typed so that this module does not import
    azure.functions.
    """
    if hasattr(event, "specversion"):
        body: dict[str, Any] = {
            "specversion": event.specversion,
            "id": event.id,
            "type": event.type,
            "source": event.source,
            "subject": event.subject,
            "time": event.time,
            "data": event.get_json(),
        }
    elif hasattr(event, "event_type"):
        body = {
            "id": event.id,
            "eventType": event.event_type,
            "subject": event.subject,
            "eventTime": event.event_time,
            "topic": event.topic,
            "dataVersion": event.data_version,
            "data": event.get_json(),
        }
    else:
        raise MalformedEvent(f"not an Event Grid event object: {type(event).__name__}")
    return ResourceEvent.from_dict(body)


# --- helpers ------------------------------------------------------------------------------------------------


def _field(
    body: Mapping[str, Any], name: str, event_id: str | None, required: bool = True, label: str | None = None
) -> str | None:
    label = label or name
    value = body.get(name)
    if value is None:
        if required:
            raise MalformedEvent(f"{label} is missing", event_id)
        return None
    if not isinstance(value, str):
        raise MalformedEvent(f"{label} must be a string, got {json_type_name(value)}", event_id)
    if required and not value.strip():
        raise MalformedEvent(f"{label} is empty", event_id)
    return value


def _parse_time(value: Any, name: str, event_id: str | None) -> datetime | None:
    """diagnosis.times.parse_time, strict: an unreadable value is a MalformedEvent, not None."""
    from diagnosis.times import parse_time  # on first use: the diagnosis package is not needed to route

    if value is None:
        return None
    if not isinstance(value, str | datetime):
        raise MalformedEvent(f"{name} must be an ISO 8601 string, got {json_type_name(value)}", event_id)
    parsed = parse_time(value)
    if parsed is None:
        raise MalformedEvent(f"{name} is not an ISO 8601 time: {_echo(value)}", event_id)
    return parsed


def _loads(payload: str | bytes | bytearray, event_id: str | None, what: str) -> Any:
    try:
        return json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        problem = exc.msg if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise MalformedEvent(f"{what} is not JSON ({problem})", event_id) from None


def _echo(value: Any) -> str:
    """A short, redacted rendering of a piece of input for an error message."""
    from diagnosis.redact import redact  # pure Python, cheap

    text = value if isinstance(value, str) else repr(value)
    text = redact(text)
    return repr(text if len(text) <= _MAX_ECHO else text[:_MAX_ECHO] + "…")
