"""ARM resource ids: the one parser (``ResourceId.parse``) and the image template reference built on it.

``/subscriptions/<sub>[/resourceGroups/<group>[/providers/<namespace>/<type>/<name>[/<type>/<name>...]]]``,
fixed segments compared case-insensitively, a missing leading slash accepted, and a trailing action segment
(``.../imageTemplates/t/run``) dropped. Standard library only: the Event Grid trigger parses ids on a cold start
without the Azure SDK.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IMAGE_TEMPLATE_PROVIDER = "Microsoft.VirtualMachineImages"
IMAGE_TEMPLATE_TYPE = "imageTemplates"

# ARM's limits, checked before an id from outside (an event) reaches an Azure call or a log line.
MAX_RESOURCE_ID_LENGTH = 1024
RESOURCE_GROUP_MAX = 90  # ResourceGroupNameParameter: 1-90 characters
TEMPLATE_NAME_MAX = 64  # ImageTemplateNameParameter: ^[A-Za-z0-9-_.]{1,64}$
OTHER_NAME_MAX = 80  # any other resource name (the build VM and container group names are at most 64 and 63)
_TEMPLATE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class ResourceId:
    """The parts of a subscription-scoped ARM resource id (``types``/``names``: the provider's nesting)."""

    subscription_id: str
    resource_group: str | None
    provider: str | None
    types: tuple[str, ...]
    names: tuple[str, ...]

    @classmethod
    def parse(cls, resource_id: str) -> ResourceId | None:
        """None when ``resource_id`` is not a subscription-scoped resource id (or is longer than any ARM id)."""
        if len(resource_id) > MAX_RESOURCE_ID_LENGTH:
            return None
        parts = [p for p in resource_id.strip().split("/") if p]
        if len(parts) < 2 or parts[0].lower() != "subscriptions":
            return None
        subscription, rest = parts[1], parts[2:]
        group: str | None = None
        if len(rest) >= 2 and rest[0].lower() == "resourcegroups":
            group, rest = rest[1], rest[2:]
        elif rest and rest[0].lower() == "resourcegroups":
            return None
        if not rest:
            return cls(subscription, group, None, (), ())
        if rest[0].lower() != "providers" or len(rest) < 4:
            return None
        provider, pairs = rest[1], rest[2:]
        if len(pairs) % 2:  # an action path (".../imageTemplates/t/run"): the action is not part of the id
            pairs = pairs[:-1]
        return cls(subscription, group, provider, tuple(pairs[0::2]), tuple(pairs[1::2]))

    def is_image_template(self) -> bool:
        return (
            self.resource_group is not None
            and (self.provider or "").lower() == IMAGE_TEMPLATE_PROVIDER.lower()
            and bool(self.types)
            and self.types[0].lower() == IMAGE_TEMPLATE_TYPE.lower()
        )

    def limits_problem(self) -> str | None:
        """What in this id is beyond ARM's limits (no value echoed), or None when it is within them."""
        if not _GUID.fullmatch(self.subscription_id):
            return "the subscription id is not a GUID"
        if self.resource_group is not None and not 1 <= len(self.resource_group) <= RESOURCE_GROUP_MAX:
            return f"the resource group name is longer than {RESOURCE_GROUP_MAX} characters"
        if self.is_image_template() and not _TEMPLATE_NAME.fullmatch(self.names[0]):
            return f"the image template name is not 1-{TEMPLATE_NAME_MAX} letters, digits, '-', '_' or '.'"
        if any(len(name) > OTHER_NAME_MAX for name in self.names):
            return f"a resource name is longer than {OTHER_NAME_MAX} characters"
        return None

    def template_id(self) -> str:
        """The canonical id of the image template this id is (or is under)."""
        return template_id(self.subscription_id, self.resource_group or "", self.names[0])


def template_id(subscription_id: str, resource_group: str, name: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/"
        f"{IMAGE_TEMPLATE_PROVIDER}/{IMAGE_TEMPLATE_TYPE}/{name}"
    )


def resource_group_of(resource_id: str | None) -> str | None:
    """The resource group named in a resource id (or None)."""
    parsed = ResourceId.parse(resource_id or "")
    return parsed.resource_group if parsed is not None else None


@dataclass(frozen=True)
class TemplateRef:
    """An image template by its canonical id and the parts of it the monitor uses."""

    id: str
    subscription_id: str
    resource_group: str
    name: str

    @classmethod
    def parse(cls, resource_id: str) -> TemplateRef:
        """Raise ValueError when ``resource_id`` does not name an image template (or something under one)."""
        parsed = ResourceId.parse(resource_id)
        if parsed is None or not parsed.is_image_template() or not parsed.resource_group:
            raise ValueError(f"not an image template resource id: {resource_id!r}")
        group, name = parsed.resource_group, parsed.names[0]
        return cls(template_id(parsed.subscription_id, group, name), parsed.subscription_id, group, name)
