"""Type-check the resource bodies of a Bicep file against Azure's published resource types (azure_types.py).

The file is parsed by pycep's Lark grammar; the parse tree (not pycep's JSON, which drops quotes and lines)
tells string literals from identifiers and gives every property its line. Each ``resource`` body is walked
against the body type of its ``type@apiVersion`` and a ``Finding`` is reported for

- an unknown property (at any depth; objects with ``additionalProperties`` accept any name),
- a value of the wrong kind (string, int, bool, object, array),
- a string that is not one of a closed enum's values (or not the discriminator of a known branch),
- a string or number outside the type's length or value bounds,
- a required property that is missing, and a read-only property that is set,
- a ``name`` (a deploy-time constant) that is only known after deployment (``storage.outputs.name``).

Values are checked where this file shows what they are (bicep_values.py): literals, parameters (declared
type, bounds, each ``@allowed`` value), variables, both sides of ``a ? b : c``; a value it cannot know
(``plan.id``, a module output) is accepted, as the compiler accepts values of type ``any``.

``// typecheck:skip=<property path>:<reason and doc link>`` inside a resource body records a property the
published types get wrong: that resource's findings at that path move to ``CheckResult.skipped``.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lark import Token, Tree
from pycep import BicepParser

from tests.infra.azure_types import (
    DEPLOY_TIME_CONSTANT,
    READ_ONLY,
    REQUIRED,
    AzureType,
    ObjectShape,
    TypeLibrary,
    object_shape,
)
from tests.infra.bicep_values import ExpressionValues, Value, line_of, unquote, unwrap_body
from tests.infra.findings import (
    MISSING_REQUIRED,
    NO_TYPES,
    NOT_ALLOWED,
    NOT_CONSTANT,
    OUT_OF_RANGE,
    READ_ONLY_SET,
    UNKNOWN_PROPERTY,
    WRONG_TYPE,
    Finding,
)
from tests.infra.module_params import check_module_params
from tests.infra.references import check_references

# Keys every resource body takes besides its type's properties (Bicep's own resource keywords).
RESOURCE_KEYWORDS = {"parent", "scope", "dependsOn"}
# The only keys of an ``existing`` resource.
EXISTING_KEYS = {"name", "scope", "parent"}

_SKIP = re.compile(r"//\s*typecheck:skip=([\w.\[\]-]+):(.*)")


@dataclass(frozen=True)
class Skip:
    file: str
    line: int
    resource: str
    where: str
    reason: str


@dataclass(frozen=True)
class Site:
    """A place a planted-error test can break: a known key, an allowed enum literal, a required pair."""

    kind: str  # "key", "enum", "enum-slot" (a closed-enum property not written) or "required"
    resource: str
    where: str
    line: int
    start: int
    end: int
    keys: tuple[str, ...] = ()  # for "enum-slot": the keys to write at ``start`` to reach the enum property


@dataclass
class CheckResult:
    findings: list[Finding] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)  # findings a skip comment covers
    skips: list[Skip] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    resource_types: list[tuple[str, str, int]] = field(default_factory=list)  # (symbol, type@api, line)

    def unused_skips(self) -> list[Skip]:
        """Skip comments no finding matches (a fixed property, or a wrong path)."""
        used = {(finding.resource, finding.where) for finding in self.skipped}
        return [skip for skip in self.skips if (skip.resource, skip.where) not in used]


@functools.cache
def _parser() -> BicepParser:
    return BicepParser()


class BicepTypeChecker:
    """Checks one Bicep file's resources; ``check`` returns the findings, skips used and plantable sites."""

    def __init__(self, library: TypeLibrary, path: Path, text: str, shown_path: str) -> None:
        self.library = library
        self.path = path
        self.text = text
        self.file = shown_path
        self.tree = _parser().lark_parser.parse(text)
        self.expressions = ExpressionValues(self.tree)
        self.values = self.expressions.values
        self.result = CheckResult()
        self._resource = ""
        self._trial = 0

    # -- resources --------------------------------------------------------------------------------------

    def check(self) -> CheckResult:
        for element in self.tree.children:
            if isinstance(element, Tree) and element.data == "resource":
                _, symbol, type_pair, existing, value = element.children
                self._check_resource(str(symbol), unquote(type_pair.children[0]), existing is not None,
                                     value, element)
        parse = _parser().lark_parser.parse
        self.result.findings.extend(check_module_params(self.tree, self.expressions, self.path, self.file, parse))
        self.result.findings.extend(check_references(self.tree, self.library, self.path, self.file, parse))
        covered = {(skip.resource, skip.where) for skip in self.result.skips}
        findings = sorted(set(self.result.findings), key=lambda f: (f.line, f.where, f.kind, f.message))
        self.result.findings = [f for f in findings if (f.resource, f.where) not in covered]
        self.result.skipped = [f for f in findings if (f.resource, f.where) in covered]
        return self.result

    def _check_resource(self, symbol: str, type_and_version: str, existing: bool, value: Any,
                        element: Tree, parent_given: bool = False) -> None:
        self._resource = symbol
        line = line_of(element)
        self.result.resource_types.append((symbol, type_and_version, line))
        self._collect_skips(symbol, element)
        body = unwrap_body(value)
        body_type = self.library.body(type_and_version)
        if body_type is None:
            self._report(line, "", NO_TYPES, f"{type_and_version} has no entry in tests/infra/types/")
            return
        if not (isinstance(body, Tree) and body.data == "object"):
            return
        pairs = {name: value for name, _, value, _ in self._pairs(body)}
        has_parent = parent_given or "parent" in pairs
        # A child type declared without ``parent`` names itself 'account/default': the type of ``name`` (the
        # last segment) does not apply to it.
        skip_name = type_and_version.split("@")[0].count("/") > 1 and not has_parent
        shape = object_shape(body_type)
        if existing:
            for name, key, _, _ in self._pairs(body):
                if name not in EXISTING_KEYS:
                    self._report(line_of(key), name, UNKNOWN_PROPERTY,
                                 "an existing resource takes only name, scope and parent")
            if "name" in pairs and not skip_name:
                self._check_values(pairs["name"], shape.properties["name"][0], "name")
            runtime = self.expressions.runtime_reference(pairs["name"]) if "name" in pairs else None
            if runtime:
                self._report(line_of(pairs["name"]), "name", NOT_CONSTANT,
                             f"'name' must be known before deployment; {runtime} is not")
        else:
            ignored = RESOURCE_KEYWORDS | ({"name"} if skip_name else set())
            self._check_object(body, shape, "", ignored_keys=ignored)
        for child in body.children:
            if isinstance(child, Tree) and child.data == "child_resource":
                # A nested resource names its type relative to the parent's and may leave out the API version.
                child_symbol, child_type, child_existing, child_value = child.children[:4]
                parent_type, _, parent_version = type_and_version.partition("@")
                child_name, _, child_version = unquote(child_type).partition("@")
                full_type = child_name if "/" in child_name else f"{parent_type}/{child_name}"
                self._check_resource(str(child_symbol), f"{full_type}@{child_version or parent_version}",
                                     child_existing is not None, child_value, child, parent_given=True)
                self._resource = symbol

    def _collect_skips(self, symbol: str, element: Tree) -> None:
        if element.meta.empty:
            return
        lines = self.text.splitlines()[element.meta.line - 1:element.meta.end_line]
        for offset, text in enumerate(lines):
            match = _SKIP.search(text)
            if match:
                self.result.skips.append(Skip(self.file, element.meta.line + offset, symbol, match.group(1),
                                              match.group(2).strip()))

    # -- checking ---------------------------------------------------------------------------------------

    def _report(self, line: int, where: str, kind: str, message: str) -> None:
        self.result.findings.append(Finding(self.file, line, self._resource, where, kind, message))

    def _site(self, kind: str, where: str, line: int, span: tuple[int, int] | None,
              keys: tuple[str, ...] = ()) -> None:
        if span and not self._trial:
            self.result.sites.append(Site(kind, self._resource, where, line, *span, keys))

    def _enum_slots(self, node: Tree, shape: ObjectShape, where: str, written: set[str]) -> None:
        """Closed-enum properties this object (or an object property of it not written) could take."""
        if self._trial or node.meta.empty:
            return
        inside = (node.meta.start_pos + 1, node.meta.start_pos + 1)
        for name, (property_type, flags) in shape.properties.items():
            if name in written or flags & READ_ONLY:
                continue
            path = f"{where}.{name}" if where else name
            if property_type.closed_string_values():
                self._site("enum-slot", path, line_of(node), inside, (name,))
            elif property_type.tag == "ObjectType":
                for inner, (inner_type, inner_flags) in object_shape(property_type).properties.items():
                    if inner_type.closed_string_values() and not inner_flags & READ_ONLY:
                        self._site("enum-slot", f"{path}.{inner}", line_of(node), inside, (name, inner))

    def _pairs(self, node: Tree) -> list[tuple[str, Token, Any, Tree]]:
        """(name, key token, value node, pair tree) of each ``key: value`` of an object literal."""
        found = []
        for pair in node.children:
            if isinstance(pair, Tree) and pair.data == "pair":
                key = pair.children[0].children[0]
                found.append((unquote(key), key, pair.children[1], pair))
        return found

    def _check_values(self, node: Any, expected: AzureType, where: str) -> None:
        for value in self.values(node):
            for finding in self._check(value, expected, where):
                self.result.findings.append(finding)

    def _check(self, value: Value, expected: AzureType, where: str) -> list[Finding]:
        """Findings for one value against one type (returned, so unions can try each member)."""
        if value.kind in ("any", "null") or "any" in expected.kinds():
            return []
        if expected.tag == "UnionType":
            return self._check_union(value, expected, where)
        tag, entry = expected.tag, expected.entry
        if value.kind not in expected.kinds():
            return [self._finding(value, where, WRONG_TYPE, f"expects {expected.describe()}, got {value.shown()}")]
        if tag == "StringLiteralType" and value.known:
            if value.literal != entry["value"]:
                return [self._finding(value, where, NOT_ALLOWED, f"{value.shown()} is not {entry['value']!r}")]
            if not value.origin:
                self._site("enum", where, value.line, value.span)
        if tag in ("StringType", "IntegerType") and not value.known and value.origin:
            return self._check_bounds(value, expected, where)
        written_array = value.node is not None and value.node.data == "array"  # a loop's length is not known
        if (tag == "StringType" and value.known) or (tag == "ArrayType" and written_array):
            size = len(value.literal) if tag == "StringType" else len(self._items(value.node))
            if size < entry.get("minLength", 0) or size > entry.get("maxLength", size):
                bounds = f"{entry.get('minLength', 0)}..{entry.get('maxLength', '')}"
                return [self._finding(value, where, OUT_OF_RANGE, f"length {size} outside {bounds}")]
        if tag == "IntegerType" and value.known:
            low, high = entry.get("minValue", value.literal), entry.get("maxValue", value.literal)
            if not low <= value.literal <= high:
                return [self._finding(value, where, OUT_OF_RANGE, f"{value.shown()} outside {low}..{high}")]
        if tag == "ArrayType" and value.node is not None:
            return self._trial_each(self._items(value.node), expected.follow(entry["itemType"]), f"{where}[]")
        if tag == "ObjectType" and value.node is not None:
            return self._collect(lambda: self._check_object(value.node, object_shape(expected), where))
        if tag == "DiscriminatedObjectType" and value.node is not None:
            return self._collect(lambda: self._check_discriminated(value.node, expected, where))
        return []

    def _check_bounds(self, value: Value, expected: AzureType, where: str) -> list[Finding]:
        """A range (or length range) a parameter declares must lie within the type's (an unbounded one may)."""
        low, high = ("minValue", "maxValue") if expected.tag == "IntegerType" else ("minLength", "maxLength")
        type_low, type_high = expected.entry.get(low), expected.entry.get(high)
        value_low, value_high = value.bounds
        too_low = None not in (type_low, value_low) and value_low < type_low
        too_high = None not in (type_high, value_high) and value_high > type_high
        if not (too_low or too_high):
            return []
        what = "value" if expected.tag == "IntegerType" else "length"
        return [self._finding(value, where, OUT_OF_RANGE, f"{value.shown()} allows {what} {value_low}..{value_high}, "
                              f"the type {type_low}..{type_high}")]

    def _check_union(self, value: Value, expected: AzureType, where: str) -> list[Finding]:
        allowed = expected.closed_string_values()
        if value.kind == "string" and allowed is not None and value.known:
            if value.literal in allowed:
                if not value.origin:
                    self._site("enum", where, value.line, value.span)
                return []
            close = [a for a in allowed if a.lower() == str(value.literal).lower()]
            hint = f"; did you mean {close[0]!r}?" if close else ""
            return [self._finding(value, where, NOT_ALLOWED,
                                  f"{value.shown()} is not one of {', '.join(map(repr, allowed))}{hint}")]
        candidates = [m for m in expected.members() if value.kind in m.kinds() or "any" in m.kinds()]
        if not candidates:
            return [self._finding(value, where, WRONG_TYPE, f"expects {expected.describe()}, got {value.shown()}")]
        self._trial += 1
        try:
            outcomes = [self._check(value, member, where) for member in candidates]
        finally:
            self._trial -= 1
        if any(not outcome for outcome in outcomes):
            if len(candidates) == 1:  # one possible member: check again to record its sites
                return self._check(value, candidates[0], where)
            return []
        return min(outcomes, key=len)

    def _items(self, node: Tree) -> list[Any]:
        if node.data == "loop":
            return [node.children[-1]]
        return [child for child in node.children if isinstance(child, (Tree, Token))]

    def _trial_each(self, nodes: list[Any], expected: AzureType, where: str) -> list[Finding]:
        return [f for node in nodes for value in self.values(node) for f in self._check(value, expected, where)]

    def _collect(self, action: Any) -> list[Finding]:
        """Run a check that reports into self.result and return what it reported instead."""
        before = len(self.result.findings)
        action()
        found = self.result.findings[before:]
        del self.result.findings[before:]
        return found

    def _finding(self, value: Value, where: str, kind: str, message: str) -> Finding:
        return Finding(self.file, value.line, self._resource, where, kind, message)

    def _check_object(self, node: Tree, shape: ObjectShape, where: str, ignored_keys: AbstractSet[str] = frozenset(),
                      check_required: bool = True) -> None:
        present = set()
        for name, key, value_node, pair in self._pairs(node):
            path = f"{where}.{name}" if where else name
            if name in ignored_keys:
                continue
            spec = shape.properties.get(name)
            if spec is None:
                if shape.additional is not None:
                    self._check_values(value_node, shape.additional, path)
                    continue
                names = list(shape.properties)
                close = [n for n in names if n.lower() == name.lower()] or difflib.get_close_matches(name, names, 1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self._report(line_of(key), path, UNKNOWN_PROPERTY, f"{name!r} is not a property here{hint}")
                continue
            present.add(name)
            property_type, flags = spec
            if flags & READ_ONLY and not flags & REQUIRED:
                self._report(line_of(key), path, READ_ONLY_SET, f"{name!r} is read-only (set by Azure)")
                continue
            self._site("key", path, line_of(key), (key.start_pos, key.end_pos))
            runtime = self.expressions.runtime_reference(value_node) if flags & DEPLOY_TIME_CONSTANT else None
            if runtime:
                self._report(line_of(key), path, NOT_CONSTANT,
                             f"{name!r} must be known before deployment; {runtime} is not")
            if flags & REQUIRED and not pair.meta.empty:
                self._site("required", path, line_of(key), (pair.meta.start_pos, pair.meta.end_pos))
            self._check_values(value_node, property_type, path)
        self._enum_slots(node, shape, where, present | set(ignored_keys))
        if not check_required:
            return
        for name, (_, flags) in shape.properties.items():
            if flags & REQUIRED and not flags & READ_ONLY and name not in present and name not in ignored_keys:
                path = f"{where}.{name}" if where else name
                self._report(line_of(node), path, MISSING_REQUIRED, f"{name!r} is required")

    def _check_discriminated(self, node: Tree, expected: AzureType, where: str) -> None:
        entry = expected.entry
        discriminator = entry["discriminator"]
        branches = entry["elements"]
        pairs = {name: (key, value) for name, key, value, _ in self._pairs(node)}
        chosen = None
        if discriminator not in pairs:
            self._report(line_of(node), f"{where}.{discriminator}", MISSING_REQUIRED,
                         f"{discriminator!r} is required (one of {', '.join(sorted(branches))})")
        else:
            _, value_node = pairs[discriminator]
            values = self.values(value_node)
            if len(values) == 1 and values[0].known:
                chosen = values[0].literal
                if chosen not in branches:
                    self._report(values[0].line, f"{where}.{discriminator}", NOT_ALLOWED,
                                 f"{values[0].shown()} is not one of {', '.join(map(repr, sorted(branches)))}")
                    return
                self._site("enum", f"{where}.{discriminator}", values[0].line, values[0].span)
        if chosen is not None:
            branch = expected.follow(branches[chosen])
            shape = object_shape(branch, extra=entry.get("baseProperties"))
            self._check_object(node, shape, where, ignored_keys={discriminator})
            return
        # Branch unknown: any branch's properties are accepted and none is required.
        merged: dict[str, Any] = dict(entry.get("baseProperties", {}))
        for reference in branches.values():
            merged.update(expected.follow(reference).entry.get("properties", {}))
        shape = object_shape(AzureType(expected.entries, expected.index), extra=merged)
        self._check_object(node, shape, where, ignored_keys={discriminator}, check_required=False)


def check_bicep(library: TypeLibrary, path: Path, text: str | None = None, shown_path: str = "") -> CheckResult:
    """Type-check the resources of one Bicep file (``text`` instead of the file's content, if given)."""
    source = text if text is not None else path.read_text(encoding="utf-8")
    return BicepTypeChecker(library, path, source, shown_path or path.name).check()
