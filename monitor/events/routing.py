"""What to do with an event: ``route(event)`` turns it into one action: ``CheckTemplate(template_id)``,
``CheckStagingGroup(subscription, group)`` (an ``IT_`` group written or deleted, or the end of a build in any
group: BUILD_END_OPERATIONS, since a template may name its own ``stagingResourceGroup``) or ``Ignore(reason)``.
A handled operation that names no usable resource, or one beyond
ARM's limits (monitor/azure/ids.py: a subscription that is no GUID, names over 64/80/90 characters, ids over 1024),
raises ``MalformedEvent``. Standard library only (the Functions app routes on a cold start).
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.azure.ids import MAX_RESOURCE_ID_LENGTH, ResourceId
from monitor.events.model import (
    _BUILD_END_OPERATIONS_LOWER,
    BUILD_END_EVENT_TYPE,
    HANDLED_EVENT_TYPES,
    IMAGE_TEMPLATES,
    RESOURCE_GROUPS,
    STAGING_GROUP_PREFIX,
    TEMPLATE_OPERATIONS,
    MalformedEvent,
    ResourceEvent,
    _echo,
)


@dataclass(frozen=True)
class CheckTemplate:
    template_id: str


@dataclass(frozen=True)
class CheckStagingGroup:
    subscription_id: str
    resource_group: str


@dataclass(frozen=True)
class Ignore:
    reason: str


Action = CheckTemplate | CheckStagingGroup | Ignore


def is_staging_group(name: str | None) -> bool:
    """Image Builder names its staging groups ``IT_...`` (compared case-insensitively)."""
    return name is not None and name[: len(STAGING_GROUP_PREFIX)].upper() == STAGING_GROUP_PREFIX


def route(event: ResourceEvent) -> Action:
    """What to do with an event. Raises MalformedEvent when a handled operation names no usable resource."""
    if event.event_type not in HANDLED_EVENT_TYPES:
        return Ignore(f"event type {event.event_type} is not handled")
    assert event.data is not None  # parse guarantees data for Microsoft.Resources.* events
    if len(event.resource_id) > MAX_RESOURCE_ID_LENGTH:
        raise MalformedEvent(f"the resource id is longer than {MAX_RESOURCE_ID_LENGTH} characters", event.id)
    operation = event.data.operation_name.strip()
    lowered = operation.lower()
    template_prefix = IMAGE_TEMPLATES.lower() + "/"
    group_prefix = RESOURCE_GROUPS.lower() + "/"

    if lowered.startswith(template_prefix):
        verb = lowered[len(template_prefix) :]
        if verb not in TEMPLATE_OPERATIONS:
            return Ignore(f"image template operation {_echo(operation)} does not change a build")
        rid = ResourceId.parse(event.resource_id)
        if rid is None or not rid.is_image_template():
            raise MalformedEvent(
                f"{_echo(operation)} event does not name an image template"
                f" (resource {_echo(event.resource_id)})",
                event.id,
            )
        return CheckTemplate(_within_limits(rid, event).template_id())

    rid = ResourceId.parse(event.resource_id)
    if lowered.startswith(group_prefix):
        if lowered not in (group_prefix + "write", group_prefix + "delete"):
            return Ignore(f"resource group operation {_echo(operation)} is not a write or delete")
        if rid is None or rid.resource_group is None or rid.provider is not None:
            raise MalformedEvent(
                f"{_echo(operation)} event does not name a resource group"
                f" (resource {_echo(event.resource_id)})",
                event.id,
            )
        if not is_staging_group(rid.resource_group):
            return Ignore(f"resource group {_echo(rid.resource_group)} is not an Image Builder staging group")
        _within_limits(rid, event)
        return CheckStagingGroup(rid.subscription_id, rid.resource_group)

    # The end of a run: cleanup deleted the build VM or container group in the run's staging group
    # (BUILD_END_OPERATIONS, delivered by the second event subscription). The group is an IT_ one or a template's
    # own stagingResourceGroup, whatever its name: Monitor.check_staging_group tells a staging group from any
    # other (the group's Image Builder tags, the staging groups the sweep index remembers) before it reads a
    # template. Every other operation on resources inside staging groups is ignored: dozens of writes per build
    # say nothing the sweep does not, and the monitor itself calls listKeys/action on staging accounts.
    if (
        event.event_type == BUILD_END_EVENT_TYPE
        and lowered in _BUILD_END_OPERATIONS_LOWER
        and rid is not None
        and rid.resource_group is not None
    ):
        _within_limits(rid, event)
        return CheckStagingGroup(rid.subscription_id, rid.resource_group)
    return Ignore(f"operation {_echo(operation)} is not about an image template or the end of its build")


def _within_limits(rid: ResourceId, event: ResourceEvent) -> ResourceId:
    """``rid`` when its names are within ARM's limits; else MalformedEvent, before any Azure call."""
    problem = rid.limits_problem()
    if problem is not None:
        raise MalformedEvent(problem, event.id)
    return rid
