"""Typed reading of an image template's status: the ARM resource, ``az image builder show`` output, a Python
SDK ``as_dict()`` or a ``lastRunStatus`` object on its own.

``read_status(document)`` returns a ``TemplateStatus`` whose fields have the types their names promise. A field
of the wrong type (``"provisioningState": 5``) is left out and named in ``warnings`` ("properties.
provisioningState should be a string, got a number"); ``read_status(document, strict=True)`` raises
``StatusError`` with the same sentence instead. Nothing else is raised, whatever the JSON holds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# camelCase as ARM and az show write them, snake_case as the Python SDK's as_dict() does.
_RUN_STATUS_NAMES = ("lastRunStatus", "last_run_status")
_RUN_STATE_NAMES = ("runState", "run_state")
_RUN_SUB_STATE_NAMES = ("runSubState", "run_sub_state")
_START_NAMES = ("startTime", "start_time")
_END_NAMES = ("endTime", "end_time")
_PROVISIONING_STATE_NAMES = ("provisioningState", "provisioning_state")
_PROVISIONING_ERROR_NAMES = ("provisioningError", "provisioning_error")
_ERROR_CODE_NAMES = ("provisioningErrorCode", "provisioning_error_code", "code")
_STATUS_KEYS = (*_RUN_STATUS_NAMES, *_PROVISIONING_STATE_NAMES, *_PROVISIONING_ERROR_NAMES)


class StatusError(ValueError):
    """A status field has the wrong type (raised only by ``read_status(..., strict=True)``)."""


@dataclass
class ProvisioningError:
    code: str | None = None
    message: str | None = None

    def text(self) -> str:
        """``code: message``, or whichever of the two is present."""
        if self.code and self.message:
            return f"{self.code}: {self.message}"
        return self.code or self.message or ""


@dataclass
class TemplateStatus:
    run_state: str | None = None  # lastRunStatus.runState: Running, Succeeded, Failed, Canceled, ...
    run_sub_state: str | None = None
    message: str | None = None  # lastRunStatus.message
    start_time: str | None = None
    end_time: str | None = None
    provisioning_state: str | None = None
    provisioning_error: ProvisioningError | None = None
    warnings: list[str] = field(default_factory=list)  # fields ignored because of their type


def json_type_name(value: Any) -> str:
    """How a JSON value's type reads in an error message: "a string", "a number", "an object", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict | Mapping):
        return "an object"
    return "a string" if isinstance(value, str) else type(value).__name__


class _Reader:
    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.warnings: list[str] = []

    def wrong(self, path: str, expected: str, value: Any) -> None:
        sentence = f"{path} should be {expected}, got {json_type_name(value)}"
        if self.strict:
            raise StatusError(sentence)
        self.warnings.append(sentence + "; ignored")

    def member(self, obj: dict[str, Any], names: tuple[str, ...]) -> tuple[str, Any]:
        for name in names:
            if name in obj and obj[name] is not None:
                return name, obj[name]
        return names[0], None

    def string(self, obj: dict[str, Any], names: tuple[str, ...], where: str) -> str | None:
        name, value = self.member(obj, names)
        if value is None:
            return None
        if not isinstance(value, str):
            self.wrong(f"{where}{name}", "a string", value)
            return None
        return value or None

    def object(self, obj: dict[str, Any], names: tuple[str, ...], where: str) -> dict[str, Any] | None:
        name, value = self.member(obj, names)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.wrong(f"{where}{name}", "an object", value)
            return None
        return value


def _properties(document: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The member holding the status fields and its path prefix: ``properties`` of an ARM resource, or the
    document itself (az show output and SDK dicts put them at the top)."""
    props = document.get("properties")
    if isinstance(props, dict) and any(k in props for k in _STATUS_KEYS):
        return props, "properties."
    return document, ""


def read_status(document: Any, *, strict: bool = False) -> TemplateStatus:
    """Read the status fields of ``document``; see the module docstring for what is accepted."""
    reader = _Reader(strict)
    status = TemplateStatus()
    if document is None:
        return status
    if not isinstance(document, dict):
        reader.wrong("the template", "a JSON object", document)
        status.warnings = reader.warnings
        return status
    props, where = _properties(document)
    run = reader.object(props, _RUN_STATUS_NAMES, where)
    if run is None and any(k in document for k in (*_RUN_STATE_NAMES, *_RUN_SUB_STATE_NAMES)):
        run, where_run = document, ""  # a lastRunStatus object on its own
    else:
        where_run = f"{where}{reader.member(props, _RUN_STATUS_NAMES)[0]}."
    if run is not None:
        status.run_state = reader.string(run, _RUN_STATE_NAMES, where_run)
        status.run_sub_state = reader.string(run, _RUN_SUB_STATE_NAMES, where_run)
        status.message = reader.string(run, ("message",), where_run)
        status.start_time = reader.string(run, _START_NAMES, where_run)
        status.end_time = reader.string(run, _END_NAMES, where_run)
    status.provisioning_state = reader.string(props, _PROVISIONING_STATE_NAMES, where)
    status.provisioning_error = read_provisioning_error(
        reader.member(props, _PROVISIONING_ERROR_NAMES)[1], reader, f"{where}provisioningError"
    )
    status.warnings = reader.warnings
    return status


def read_provisioning_error(
    value: Any, reader: _Reader | None = None, where: str = "provisioningError"
) -> ProvisioningError | None:
    """A ``provisioningError`` given as an object (``code``/``provisioningErrorCode`` and ``message``) or as
    text. Members of other types are ignored with a warning (or raise in strict mode)."""
    reader = reader or _Reader(strict=False)
    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, str):
        return ProvisioningError(message=value)
    if not isinstance(value, dict):
        reader.wrong(where, "an object or a string", value)
        return None
    error = ProvisioningError(
        code=reader.string(value, _ERROR_CODE_NAMES, where + "."),
        message=reader.string(value, ("message",), where + "."),
    )
    if not error.code and not error.message:  # an object without readable code or message: keep its text
        try:
            error.message = json.dumps(value, default=str)[:4096]
        except (ValueError, RecursionError):
            error.message = None
    return error if (error.code or error.message) else None
