"""What the Bicep type check (typecheck.py, module_params.py) reports: one ``Finding`` per problem."""

from __future__ import annotations

from dataclasses import dataclass

UNKNOWN_PROPERTY = "unknown property"
WRONG_TYPE = "wrong type"
NOT_ALLOWED = "value not allowed"
OUT_OF_RANGE = "out of range"
MISSING_REQUIRED = "missing required property"
READ_ONLY_SET = "read-only property set"
NO_TYPES = "no types for resource type"
NOT_CONSTANT = "not a deploy-time constant"


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    resource: str  # the symbolic name of the resource (or module) the problem is in
    where: str  # property path inside it, e.g. properties.siteConfig.ftpsState ("" for the whole body)
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.resource} {self.where or '(body)'}: {self.kind}: {self.message}"
