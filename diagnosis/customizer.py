"""The failed customizer: which template customizer a failed Packer provisioner is, and the template's parts.

A provisioner is known by Packer's name (``shell``, ``powershell``, ``windows-restart``); the template's
``customize[]`` list gives its Image Builder type, name and position. Also reads the template's
``lastRunStatus``/``provisioningError`` shapes (ARM resource or ``az image builder show`` output).
"""

from __future__ import annotations

import json
from typing import Any

from diagnosis.model import FailedCustomizer
from diagnosis.scanner import ScanResult, Step

_PACKER_TYPES = {
    "shell": "Shell",
    "powershell": "PowerShell",
    "file": "File",
    "windows-restart": "WindowsRestart",
    "windows-update": "WindowsUpdate",
}


def template_properties(template: dict[str, Any] | None) -> dict[str, Any]:
    if not isinstance(template, dict):
        return {}
    props = template.get("properties")
    if isinstance(props, dict):
        merged = dict(template)
        merged.update(props)
        return merged
    return template


def template_customizers(props: dict[str, Any]) -> list[dict[str, Any]]:
    customize = props.get("customize") if props else None
    return [c for c in customize if isinstance(c, dict)] if isinstance(customize, list) else []


def provisioning_error_text(error: dict[str, Any] | str | None) -> str:
    if not error:
        return ""
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        code = (
            error.get("provisioningErrorCode")
            or error.get("provisioning_error_code")
            or error.get("code")
            or ""
        )
        msg = error.get("message") or ""
        text = f"{code}: {msg}" if code and msg else str(code or msg)
        return text or json.dumps(error)
    return str(error)


def failed_customizer_of(
    result: ScanResult | None, step: Step, customizers: list[dict[str, Any]]
) -> FailedCustomizer:
    aib_type = "Deprovisioning" if step.deprovision else _PACKER_TYPES.get(step.name.lower())
    customizer_name = None
    position = step.position
    if customizers and result is not None and not step.deprovision:
        j = 0
        for s in result.steps:
            t = _PACKER_TYPES.get(s.name.lower())
            match = None
            for k in range(j, len(customizers)):
                if str(customizers[k].get("type", "")).lower() == (t or "").lower():
                    match = k
                    break
            if match is None:
                continue
            j = match + 1
            if s is step:
                customizer_name = customizers[match].get("name") or None
                aib_type = customizers[match].get("type") or aib_type
                position = match + 1
                break
    duration = None
    end = step.end_time or (result.last_time if result else None)
    if step.start_time and end and end >= step.start_time:
        duration = (end - step.start_time).total_seconds()
    return FailedCustomizer(
        name=step.name,
        type=aib_type,
        position=position,
        exit_code=step.exit_code if step.exit_code not in (None,) else None,
        duration_seconds=duration,
        customizer_name=str(customizer_name) if customizer_name else None,
    )
