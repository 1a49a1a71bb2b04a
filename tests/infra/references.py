"""Check property access on resources and modules (``app.properties.defaultHostName``, ``storage.outputs.name``)
as the compiler does: each member must exist on the resource's type, or among the module's outputs.

Resource members are the properties of the body type, read-only ones included (``properties.vaultUri``);
``[i]`` steps into an array's items. A member of an open object (``additionalProperties``, ``any``) or
anything after a function (``listKeys()``) is not checked. Module members are ``name`` and ``outputs.<output>``
of the module file next to this one.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path

from lark import Token, Tree

from tests.infra.azure_types import AzureType, TypeLibrary, object_shape
from tests.infra.bicep_values import line_of, unquote
from tests.infra.findings import UNKNOWN_PROPERTY, Finding

Parse = Callable[[str], Tree]
_MODULE_MEMBERS = {"name", "outputs"}


def _identifier(node: object) -> str | None:
    if isinstance(node, Tree) and node.data == "string" and isinstance(node.children[0], Token):
        token = node.children[0]
        return str(token) if token.type == "STRING" else None
    return None


def _steps(node: object) -> list[str] | None:
    """Members of the right side of an access chain (``properties``, ``primaryEndpoints``, ``blob``), with
    ``[]`` for an index; None when the chain goes through something else (a function call)."""
    steps: list[str] = []
    while True:
        if isinstance(node, Tree) and node.data == "operator":
            node = node.children[0]
        name = _identifier(node)
        if name is not None:
            return [*steps, name]
        if isinstance(node, Tree) and node.data == "index_accessor":
            inner = _steps(node.children[0])
            return None if inner is None else [*steps, *inner, "[]"]
        if isinstance(node, Tree) and node.data == "property_accessor":
            head = _steps(node.children[0])
            if head is None:
                return None
            steps.extend(head)
            node = node.children[1]
            continue
        return None


def _member(azure_type: AzureType, name: str) -> tuple[bool, AzureType | None, list[str]]:
    """(found, its type or None when not checked further, the names that exist) for one member."""
    names: list[str] = []
    for member in azure_type.members():
        if member.tag == "AnyType":
            return True, None, []
        if name == "[]" and member.tag == "ArrayType":
            return True, member.follow(member.entry["itemType"]), []
        if member.tag == "ObjectType":
            shape = object_shape(member)
        elif member.tag == "DiscriminatedObjectType":
            extra = dict(member.entry.get("baseProperties", {}))
            for reference in member.entry["elements"].values():
                extra.update(member.follow(reference).entry.get("properties", {}))
            shape = object_shape(member, extra=extra)
        else:
            continue
        if name in shape.properties:
            return True, shape.properties[name][0], []
        if shape.additional is not None:
            return True, None, []
        names.extend(shape.properties)
    return False, None, names


def check_references(tree: Tree, library: TypeLibrary, path: Path, shown_path: str, parse: Parse) -> list[Finding]:
    resources: dict[str, str] = {}
    modules: dict[str, Path] = {}
    for element in tree.children:
        if isinstance(element, Tree) and element.data == "resource":
            resources[str(element.children[1])] = unquote(element.children[2].children[0])
        elif isinstance(element, Tree) and element.data == "module":
            modules[str(element.children[1])] = (path.parent / unquote(element.children[2].children[0])).resolve()
    findings: list[Finding] = []
    outputs: dict[Path, set[str]] = {}

    def report(token_node: Tree, root: str, steps: list[str], index: int, known: list[str]) -> None:
        access = ".".join([root, *steps[:index + 1]]).replace(".[]", "[]")
        close = difflib.get_close_matches(steps[index], known, 1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        findings.append(Finding(shown_path, line_of(token_node), root, access, UNKNOWN_PROPERTY,
                                f"{steps[index]!r} is not a member here{hint}"))

    accesses = list(tree.find_data("property_accessor"))
    inner = set()  # the rest of a chain (``properties.vaultUri`` of ``vault.properties.vaultUri``)
    for access in accesses:
        right = access.children[1]
        while isinstance(right, Tree) and right.data == "operator" and right.children[0].data == "property_accessor":
            inner.add(id(right.children[0]))
            right = right.children[0].children[1]
    for access in accesses:
        if id(access) in inner:
            continue
        root = _identifier(access.children[0])
        steps = _steps(access.children[1]) if root else None
        if not steps:
            continue
        if root in resources:
            body = library.body(resources[root])
            current: AzureType | None = body
            for index, step in enumerate(steps):
                if current is None:
                    break
                found, current, known = _member(current, step)
                if not found:
                    report(access, root, steps, index, known)
                    break
        elif root in modules and modules[root].is_file():
            if steps[0] not in _MODULE_MEMBERS:
                report(access, root, steps, 0, sorted(_MODULE_MEMBERS))
            elif steps[0] == "outputs" and len(steps) > 1:
                target = modules[root]
                if target not in outputs:
                    module_tree = parse(target.read_text(encoding="utf-8"))
                    outputs[target] = {str(e.children[1]) for e in module_tree.children
                                       if isinstance(e, Tree) and e.data == "output"}
                if steps[1] not in outputs[target]:
                    report(access, root, steps, 1, sorted(outputs[target]))
    return findings
