"""Azure resource types as the Bicep compiler knows them: the pruned bicep-types-az data in tests/infra/types/.

Each ``*.json`` file there is one array of type entries (``{"$type": "ObjectType", ...}``) that refer to each
other by position (``{"$ref": "#/N"}``). ``TypeLibrary`` indexes the ``ResourceType`` entries of every file
by ``type@apiVersion`` (case-insensitive, as ARM compares them) and ``AzureType`` follows references inside
the file an entry came from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TYPES_DIR = Path(__file__).resolve().parent / "types"

# ObjectTypePropertyFlags of bicep-types (a bit set).
REQUIRED = 1
READ_ONLY = 2
DEPLOY_TIME_CONSTANT = 8

# The value kind each primitive type entry accepts ("any" accepts everything).
_KINDS = {
    "StringType": "string",
    "StringLiteralType": "string",
    "IntegerType": "int",
    "BooleanType": "bool",
    "NullType": "null",
    "ArrayType": "array",
    "ObjectType": "object",
    "DiscriminatedObjectType": "object",
    "AnyType": "any",
}


@dataclass(frozen=True)
class AzureType:
    """One type entry and the file's entry list its references point into."""

    entries: tuple[dict[str, Any], ...]
    index: int

    @property
    def entry(self) -> dict[str, Any]:
        return self.entries[self.index]

    @property
    def tag(self) -> str:
        return self.entry["$type"]

    def follow(self, reference: dict[str, str]) -> AzureType:
        return AzureType(self.entries, int(reference["$ref"].rsplit("/", 1)[1]))

    def kinds(self) -> set[str]:
        """Value kinds this type accepts (a union accepts what any of its members accepts)."""
        if self.tag == "UnionType":
            return set().union(*(self.follow(ref).kinds() for ref in self.entry["elements"]))
        return {_KINDS.get(self.tag, "any")}

    def members(self) -> list[AzureType]:
        return [self.follow(ref) for ref in self.entry["elements"]] if self.tag == "UnionType" else [self]

    def closed_string_values(self) -> list[str] | None:
        """The allowed strings when this type is a closed enum (string literals only, no open ``string``)."""
        string_members = [m for m in self.members() if "string" in m.kinds()]
        if string_members and all(m.tag == "StringLiteralType" for m in string_members):
            return [m.entry["value"] for m in string_members]
        return None

    def describe(self) -> str:
        """A short human name: ``'a' | 'b'``, ``string``, ``FunctionAppConfig``."""
        if self.tag == "StringLiteralType":
            return repr(self.entry["value"])
        if self.tag == "UnionType":
            return " | ".join(m.describe() for m in self.members())
        if self.tag == "ArrayType":
            return f"{self.follow(self.entry['itemType']).describe()}[]"
        return self.entry.get("name") or _KINDS.get(self.tag, self.tag)


@dataclass(frozen=True)
class ObjectShape:
    """The properties an object type (or one branch of a discriminated object) accepts."""

    properties: dict[str, tuple[AzureType, int]]
    additional: AzureType | None


def object_shape(azure_type: AzureType, extra: dict[str, Any] | None = None) -> ObjectShape:
    """Properties of an ``ObjectType`` (plus ``extra`` raw property entries of the same file)."""
    entry = azure_type.entry
    raw = dict(entry.get("properties", {}))
    raw.update(extra or {})
    properties = {name: (azure_type.follow(spec["type"]), spec.get("flags", 0)) for name, spec in raw.items()}
    additional = entry.get("additionalProperties")
    return ObjectShape(properties, azure_type.follow(additional) if additional else None)


class TypeLibrary:
    """Every ``ResourceType`` of the JSON files in a folder, by lower-cased ``type@apiVersion``."""

    def __init__(self, folder: Path = TYPES_DIR) -> None:
        self.resources: dict[str, AzureType] = {}
        for path in sorted(folder.glob("*.json")):
            entries = tuple(json.loads(path.read_text(encoding="utf-8")))
            for index, entry in enumerate(entries):
                if entry.get("$type") == "ResourceType":
                    self.resources[entry["name"].lower()] = AzureType(entries, index)

    def body(self, type_and_version: str) -> AzureType | None:
        """The body type of a resource ``type@apiVersion``, or None when no file here has it."""
        resource = self.resources.get(type_and_version.lower())
        return resource.follow(resource.entry["body"]) if resource else None


def source_hint(type_and_version: str) -> str:
    """Where in Azure/bicep-types-az the types of a resource ``type@apiVersion`` are published."""
    resource_type, _, api_version = type_and_version.partition("@")
    namespace = resource_type.split("/", 1)[0].lower()
    return f"Azure/bicep-types-az generated/<provider>/{namespace}/{api_version}/types.json"
