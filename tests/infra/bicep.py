"""Reading the Bicep files of infra/ for tests: pycep (PyPI pycep-parser) turns each file into JSON.

pycep renders expressions as nested dicts (``{"function": ...}``, ``{"operator": ...}``) and identifiers and
string literals alike as plain strings (quotes dropped), which is enough to compare names and structure.
pycep-parser 0.4 renders a property access (``storage.outputs.name``) as a dotted string, 0.5 as a
``property_accessor`` operator; ``parse`` turns the latter into the former so the tests read both alike.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from pycep import BicepParser

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
MAIN = INFRA / "main.bicep"
FUNCTION_APP = INFRA / "modules" / "functionapp.bicep"
EVENT_GRID = INFRA / "eventgrid.bicep"


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@functools.cache
def parse(path: Path) -> dict[str, Any]:
    return _dotted(BicepParser().parse(file_path=path))


def _dotted(value: Any) -> Any:
    if isinstance(value, dict):
        operator = value.get("operator")
        if isinstance(operator, dict) and operator.get("type") == "property_accessor" and len(value) == 1:
            operands = operator["operands"]
            return f"{_dotted(operands['operand_1'])}.{_dotted(operands['operand_2'])}"
        return {key: _dotted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_dotted(item) for item in value]
    return value


def object_keys(value: Any) -> set[str]:
    """Keys of an object literal (a ``var`` or property value)."""
    assert isinstance(value, dict), f"expected an object literal, got {value!r}"
    return set(value)


def resources_of_type(doc: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        name: res
        for name, res in doc.get("resources", {}).items()
        if res["type"].lower() == resource_type.lower()
    }


def resource_body(resource: dict[str, Any]) -> dict[str, Any]:
    """The object of a resource, looking through ``if (...)`` deploy conditions."""
    config = resource["config"]
    while "condition" in config and "config" in config:
        config = config["config"]
    return config


_DECLARATION = re.compile(r"^resource\s+(\w+)\s+'([^'@]+)@", re.MULTILINE)


def declarations_with_comments(path: Path) -> list[tuple[str, str, str]]:
    """(symbolic name, resource type, the // comment block right above the declaration) for each resource."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for index, line in enumerate(lines):
        match = _DECLARATION.match(line)
        if not match:
            continue
        comment: list[str] = []
        j = index - 1
        while j >= 0 and lines[j].lstrip().startswith("//"):
            comment.insert(0, lines[j].lstrip()[2:].strip())
            j -= 1
        found.append((match.group(1), match.group(2), "\n".join(comment)))
    return found
