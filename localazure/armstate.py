"""The local Resource Manager's resources and errors: what ``localazure.arm`` serves and ``LocalCloud`` changes.

``ArmState`` holds every resource keyed case-insensitively (ARM's names are); ``Fault`` is an injected answer and
``ArmRequest`` what a request hook sees.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

IMAGE_TEMPLATE_TYPE = "Microsoft.VirtualMachineImages/imageTemplates"
STORAGE_TYPE = "Microsoft.Storage/storageAccounts"
CONTAINER_GROUP_TYPE = "Microsoft.ContainerInstance/containerGroups"


def arm_id(subscription_id: str, resource_group: str, resource_type: str | None = None, name: str | None = None) -> str:
    """A resource's ARM id: its group's, or with ``resource_type`` and ``name`` a resource in that group."""
    group = f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
    return group if resource_type is None else f"{group}/providers/{resource_type}/{name}"


class ArmError(Exception):
    """Raised inside a handler to answer with an ARM error body."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


@dataclass
class Fault:
    """An injected answer: ``status`` (None = only ``delay``), served ``count`` times to matching requests."""

    status: int | None = 429
    retry_after: float | None = None
    count: int = 1
    path_contains: str | None = None
    method: str | None = None
    delay: float = 0.0
    code: str | None = None
    message: str | None = None
    served: int = 0
    kind: str | None = None  # route kind prefix, e.g. "resourceGroups.get" (paths alone cannot tell it apart)

    def matches(self, method: str, path: str, kind: str = "") -> bool:
        if self.count <= 0:
            return False
        if self.method and self.method.upper() != method:
            return False
        if self.kind and not kind.lower().startswith(self.kind.lower()):
            return False
        return not (self.path_contains and self.path_contains.lower() not in path.lower())


@dataclass(frozen=True)
class ArmRequest:
    """What a hook sees: the method, the path (no query), the query and the route kind."""

    method: str
    path: str
    query: dict[str, str]
    kind: str


@dataclass
class ResourceGroup:
    subscription_id: str
    name: str
    location: str = "westeurope"
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return arm_id(self.subscription_id, self.name)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": self.location,
            "tags": dict(self.tags),
            "properties": {"provisioningState": "Succeeded"},
        }


@dataclass
class StorageAccount:
    subscription_id: str
    resource_group: str
    name: str
    blob_endpoint: str  # with trailing slash, like ARM
    keys: tuple[str, str]
    location: str = "westeurope"
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return arm_id(self.subscription_id, self.resource_group, STORAGE_TYPE, self.name)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": "StorageV2",
            "location": self.location,
            "name": self.name,
            "properties": {
                "creationTime": "2026-01-01T00:00:00.0000000Z",
                "primaryEndpoints": {"blob": self.blob_endpoint},
                "primaryLocation": self.location,
                "provisioningState": "Succeeded",
                "statusOfPrimary": "available",
                "supportsHttpsTrafficOnly": True,
                "allowSharedKeyAccess": True,
            },
            "sku": {"name": "Standard_LRS", "tier": "Standard"},
            "tags": dict(self.tags),
            "type": STORAGE_TYPE,
        }


@dataclass
class ContainerGroup:
    subscription_id: str
    resource_group: str
    name: str
    logs: dict[str, str] = field(default_factory=dict)  # container name -> log text
    location: str = "westeurope"

    @property
    def id(self) -> str:
        return arm_id(self.subscription_id, self.resource_group, CONTAINER_GROUP_TYPE, self.name)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": CONTAINER_GROUP_TYPE,
            "location": self.location,
            "properties": {
                "provisioningState": "Succeeded",
                "osType": "Linux",
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": container,
                        "properties": {
                            "image": "mcr.microsoft.com/azure-image-builder/packer:latest",
                            "resources": {"requests": {"cpu": 1.0, "memoryInGB": 1.5}},
                            "instanceView": {"currentState": {"state": "Running"}, "restartCount": 0},
                        },
                    }
                    for container in self.logs
                ],
            },
        }


def resource_key(*parts: str) -> tuple[str, ...]:
    """The key of a resource in ``ArmState``'s tables: its subscription, group and name in lower case."""
    return tuple(p.lower() for p in parts)


class ArmState:
    """All resources, keyed case-insensitively. Every access holds ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.resource_groups: dict[tuple[str, ...], ResourceGroup] = {}
        self.templates: dict[tuple[str, ...], dict[str, Any]] = {}  # (sub, rg, name) -> ARM JSON
        self.run_outputs: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        self.storage_accounts: dict[tuple[str, ...], StorageAccount] = {}  # (sub, rg, name)
        self.container_groups: dict[tuple[str, ...], ContainerGroup] = {}  # (sub, rg, name)

    # -- mutation helpers used by LocalCloud (all take the lock) --
    def put_resource_group(self, group: ResourceGroup) -> None:
        with self.lock:
            self.resource_groups[resource_key(group.subscription_id, group.name)] = group

    def delete_resource_group(self, subscription_id: str, name: str, *, templates: bool = True) -> None:
        """Delete a group and what is in it (``templates=False`` skips the scan of the template table, for
        staging groups, which never hold templates)."""
        group = resource_key(subscription_id, name)
        with self.lock:
            self.resource_groups.pop(group, None)
            for table in (self.storage_accounts, self.container_groups):
                for k in [k for k in table if k[:2] == group]:
                    del table[k]
            if templates:
                for k in [k for k in self.templates if k[:2] == group]:
                    del self.templates[k]
                    self.run_outputs.pop(k, None)

    def put_template(self, subscription_id: str, resource_group: str, body: dict[str, Any]) -> None:
        with self.lock:
            self.templates[resource_key(subscription_id, resource_group, body["name"])] = body

    def template(self, subscription_id: str, resource_group: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            return self.templates.get(resource_key(subscription_id, resource_group, name))

    def delete_template(self, subscription_id: str, resource_group: str, name: str) -> dict[str, Any] | None:
        key = resource_key(subscription_id, resource_group, name)
        with self.lock:
            self.run_outputs.pop(key, None)
            return self.templates.pop(key, None)
