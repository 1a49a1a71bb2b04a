"""An image template in whatever shape it arrives (ARM resource, ``az image builder show``, the SDK's ``as_dict()``,
a deployment template or a REST example), read field by field whatever the key case, with its customizers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_WINDOWS_PUBLISHERS = re.compile(
    r"(?i)windows|microsoftvisualstudio|microsoftsqlserver|microsoft-dsvm|"
    r"microsoftwindowsdesktop|microsoftwindowsserver"
)


@dataclass(frozen=True)
class TemplateDoc:
    props: dict[str, Any]
    path: str  # JSON path of ``props``


def field(d: Any, name: str, default: Any = None) -> Any:
    """``d[name]`` trying camelCase, snake_case and any letter case."""
    if not isinstance(d, dict):
        return default
    if name in d:
        return d[name]
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    if snake in d:
        return d[snake]
    low = name.lower()
    for k, v in d.items():
        if isinstance(k, str) and k.lower().replace("_", "") == low:
            return v
    return default


def field_key(d: dict[str, Any], name: str) -> str:
    """The key actually used in ``d`` for ``name`` (for JSON paths)."""
    if name in d:
        return name
    low = name.lower()
    for k in d:
        if isinstance(k, str) and k.lower().replace("_", "") == low:
            return k
    return name


def is_template_props(d: Any) -> bool:
    return isinstance(d, dict) and any(
        field(d, k) is not None
        for k in ("customize", "source", "distribute", "vmProfile", "buildTimeoutInMinutes")
    )


def documents(template: dict[str, Any]) -> Iterator[TemplateDoc]:
    resources = template.get("resources")
    if isinstance(resources, list):
        found = False
        for i, res in enumerate(resources):
            if isinstance(res, dict) and "imagetemplates" in str(res.get("type", "")).lower():
                props = res.get("properties")
                if isinstance(props, dict):
                    found = True
                    yield TemplateDoc(props, f"$.resources[{i}].properties")
        if found:
            return
    props = template.get("properties")
    if isinstance(props, dict) and is_template_props(props):
        yield TemplateDoc(props, "$.properties")
        return
    params = template.get("parameters")
    if isinstance(params, dict):
        inner = params.get("parameters")
        if isinstance(inner, dict) and isinstance(inner.get("properties"), dict):
            yield TemplateDoc(inner["properties"], "$.parameters.parameters.properties")
            return
    if is_template_props(template):
        yield TemplateDoc(template, "$")
        return
    if isinstance(props, dict):
        yield TemplateDoc(props, "$.properties")


def customizer_type(c: Any) -> str:
    return str(field(c, "type", "") or "").strip().lower()


def customizer_label(c: Any, i: int) -> str:
    n = field(c, "name")
    return f"customizer {i} ({n!r})" if isinstance(n, str) and n else f"customizer {i}"


def inline_lines(c: Any) -> list[tuple[int | None, str]]:
    value = field(c, "inline")
    if isinstance(value, str):
        return [(None, value)]
    if isinstance(value, list):
        return [(j, s) for j, s in enumerate(value) if isinstance(s, str)]
    return []


def is_windows(props: dict[str, Any], customizers: list[Any]) -> bool | None:
    source = field(props, "source")
    if isinstance(source, dict):
        st = str(field(source, "type", "")).lower()
        if st == "platformimage":
            text = " ".join(str(field(source, k, "")) for k in ("publisher", "offer", "sku"))
            if _WINDOWS_PUBLISHERS.search(text):
                return True
            if text.strip():
                return False
        else:
            ident = str(field(source, "imageId", "") or field(source, "imageVersionId", "") or "")
            if re.search(r"(?i)win", ident.rsplit("/providers/", 1)[-1]):
                return True
    types = {customizer_type(c) for c in customizers}
    if types & {"powershell", "windowsrestart", "windowsupdate"}:
        return True
    if "shell" in types:
        return False
    return None


def is_gen2(props: dict[str, Any]) -> bool:
    source = field(props, "source")
    text = " ".join(str(v) for v in (source or {}).values()) if isinstance(source, dict) else ""
    return bool(re.search(r"(?i)gen2|-g2\b|g2$|gensecond|-gen-2", text))
