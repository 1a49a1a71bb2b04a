"""Type-check the values a Bicep file passes to its local modules against the modules' parameter declarations.

The compiler types a module parameter by its declaration: ``string``/``int``/``bool``/``object``/``array``, an
``@allowed`` list as the union of its values, ``@minValue``/``@maxValue`` and ``@minLength``/``@maxLength`` as
bounds. A value passed in is reported when it is of another kind, when it is a known value (a literal, or one
of the caller's own ``@allowed`` values) outside the module's ``@allowed`` list or bounds, or when the caller's
declared bounds reach outside the module's. Which names are passed and which are missing is
test_bicep_parses.py's check. Modules from registries (``br:``, ``ts:``) are not read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from lark import Tree

from tests.infra.bicep_values import ExpressionValues, Value, line_of, unquote, unwrap_body
from tests.infra.findings import NOT_ALLOWED, OUT_OF_RANGE, WRONG_TYPE, Finding

Parse = Callable[[str], Tree]


def _pairs(node: Any) -> list[tuple[str, Any, Any]]:
    if not (isinstance(node, Tree) and node.data == "object"):
        return []
    return [
        (unquote(pair.children[0].children[0]), pair.children[0].children[0], pair.children[1])
        for pair in node.children
        if isinstance(pair, Tree) and pair.data == "pair"
    ]


def _problem(value: Value, declared: list[Value], name: str) -> tuple[str, str] | None:
    """(kind, message) when ``value`` cannot be passed to a parameter declared as ``declared``."""
    if value.kind in ("any", "null"):
        return None
    kinds = {d.kind for d in declared}
    if "any" not in kinds and value.kind not in kinds:
        return WRONG_TYPE, f"parameter {name} is {'/'.join(sorted(kinds))}, got {value.shown()}"
    allowed = [d.literal for d in declared if d.known]
    if allowed and value.known and value.literal not in allowed:
        return NOT_ALLOWED, f"{value.shown()} is not one of {name}'s @allowed {allowed}"
    low, high = declared[0].bounds
    size = len(value.literal) if value.known and isinstance(value.literal, str) else value.literal
    if value.known and isinstance(size, int) and not isinstance(size, bool):
        if (low is not None and size < low) or (high is not None and size > high):
            return OUT_OF_RANGE, f"{value.shown()} is outside {name}'s {low}..{high}"
    elif not value.known:
        value_low, value_high = value.bounds
        if (None not in (low, value_low) and value_low < low) or (
            None not in (high, value_high) and value_high > high
        ):
            return OUT_OF_RANGE, f"{value.shown()} allows {value_low}..{value_high}, {name} {low}..{high}"
    return None


def check_module_params(tree: Tree, expressions: ExpressionValues, path: Path, shown_path: str,
                        parse: Parse) -> list[Finding]:
    """Findings for the ``params`` of every module of ``tree`` whose file is next to ``path``."""
    findings = []
    for element in tree.children:
        if not (isinstance(element, Tree) and element.data == "module"):
            continue
        _, symbol, module_path, value = element.children
        target = (path.parent / unquote(module_path.children[0])).resolve()
        if not target.is_file():
            continue
        declarations = ExpressionValues(parse(target.read_text(encoding="utf-8")))
        params = {name: node for name, _, node in _pairs(unwrap_body(value))}.get("params")
        for name, key, node in _pairs(params):
            if name not in declarations.params:
                continue
            declared = declarations.param_values(name)
            for passed in expressions.values(node):
                problem = _problem(passed, declared, name)
                if problem:
                    findings.append(Finding(shown_path, passed.line or line_of(key), str(symbol),
                                            f"params.{name}", *problem))
    return findings
