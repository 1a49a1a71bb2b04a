"""What a Bicep expression's value is, as far as one file shows: its kind, and the literal when it is known.

Works on pycep's Lark parse tree (``BicepParser().lark_parser``), which keeps what pycep's JSON drops: quoted
strings are ``QUOTED_INTERPOLATION`` tokens and identifiers ``STRING`` tokens, and every token has its line.

Known: literals; ``'${...}'`` strings (a string, value unknown); parameters (their declared type, their
@minValue/@maxValue or @minLength/@maxLength, and each ``@allowed`` value as a literal); variables (their
value); ``a ? b : c`` and ``a ?? b`` (either side); comparisons and logic (bool), arithmetic (int); functions
whose result kind is fixed (``guid()`` is a string). Everything else (property access such as ``plan.id``,
module outputs, loop variables, ``union()``) is ``any``, as the compiler treats values it cannot type.

``runtime_reference`` tells which part of an expression is only known once deployed (a module's outputs, a
resource's properties other than id/name/type/apiVersion, ``reference()``, ``list*()``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lark import Token, Tree

_PARAM_KINDS = {"string": "string", "int": "int", "bool": "bool", "object": "object", "array": "array"}
_STRING_FUNCTIONS = {
    "guid", "unique_string", "new_guid", "utc_now", "format", "to_lower", "to_upper", "trim", "replace",
    "substring", "string_func", "pad_left", "base64_func", "uri", "uri_component", "data_uri", "resource_id",
    "subscription_resource_id", "tenant_resource_id", "extension_resource_id", "management_group_resource_id",
}
_FUNCTION_KINDS = {
    **dict.fromkeys(_STRING_FUNCTIONS, "string"),
    **dict.fromkeys(["length", "index_of", "last_index_of", "int_func"], "int"),
    **dict.fromkeys(["empty", "contains", "starts_with", "ends_with", "bool_func"], "bool"),
    "split": "array",
}
_OBJECT_FUNCTIONS = {"subscription", "resource_group", "tenant", "environment", "deployment"}
_COMPARISONS = {
    "greater_than_or_equals", "greater_than", "less_than_or_equals", "less_than", "equals", "not_equals",
    "equals_case_insens", "not_equals_case_insens", "and_op", "or_op", "not_op",
}
_ARITHMETIC = {"add", "divide", "minus", "modulo", "multiply", "substract"}
# What a resource reference gives before deployment; anything else of it (``app.properties``) is a runtime value.
_DEPLOY_TIME_MEMBERS = {"id", "name", "type", "apiVersion"}
_RUNTIME_FUNCTIONS = {"reference", "list_func", "function_accessor"}
_INTERPOLATION = re.compile(r"(?<!\\)\$\{")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}


@dataclass(frozen=True)
class Value:
    """What is known of one possible value of an expression."""

    kind: str  # string, int, bool, null, object, array or any
    line: int
    literal: Any = None  # the value, when ``known``
    known: bool = False
    node: Tree | None = None  # the object / array / loop whose contents are written out
    origin: str = ""  # "" for a value written in place, else e.g. "param skuName"
    span: tuple[int, int] | None = None  # character offsets of a literal written in place
    bounds: tuple[int | None, int | None] = (None, None)  # a parameter's @minValue/@maxValue (or length)

    def shown(self) -> str:
        text = repr(self.literal) if self.known else self.kind
        return f"{text} (from {self.origin})" if self.origin else text


def line_of(node: Tree | Token) -> int:
    if isinstance(node, Token):
        return node.line or 0
    return 0 if node.meta.empty else node.meta.line


def unwrap_body(node: Any) -> Any:
    """The object of a resource or module value, looking through ``if (...)`` and ``[for ...: ...]``."""
    while isinstance(node, Tree) and node.data in ("deploy_condition", "loop"):
        node = node.children[-1]
    return node


def unquote(token: Token) -> str:
    """The text of a quoted Bicep string token (an identifier token as it is)."""
    text = str(token)
    if len(text) >= 2 and text[0] == text[-1] == "'":
        text = text[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text)


class ExpressionValues:
    """Values of expressions in one parsed Bicep file (its ``param`` and ``var`` declarations resolved)."""

    def __init__(self, tree: Tree) -> None:
        self.params: dict[str, Tree] = {}
        self.variables: dict[str, Any] = {}
        self.resources: set[str] = set()
        self.modules: set[str] = set()
        self._resolving: set[str] = set()
        for element in tree.children:
            if not isinstance(element, Tree):
                continue
            if element.data == "param":
                self.params[str(element.children[1])] = element
            elif element.data == "var":
                self.variables[str(element.children[1])] = element.children[2]
            elif element.data == "resource":
                self.resources.add(str(element.children[1]))
            elif element.data == "module":
                self.modules.add(str(element.children[1]))

    def runtime_reference(self, node: Any) -> str | None:
        """The first part of an expression only known once deployed (``storage.outputs``, ``app.identity``,
        ``reference()``, ``listKeys()``), looking into variables; None when it is a deploy-time constant."""
        if isinstance(node, Token) and node.type == "STRING" and str(node) in self.variables:
            if str(node) in self._resolving:
                return None
            self._resolving.add(str(node))
            try:
                return self.runtime_reference(self.variables[str(node)])
            finally:
                self._resolving.discard(str(node))
        if not isinstance(node, Tree):
            return None
        if node.data in _RUNTIME_FUNCTIONS:
            return f"{node.data}()"
        if node.data == "property_accessor":
            root, member = _first_identifier(node.children[0]), _first_identifier(node.children[1])
            if root in self.modules and member == "outputs":
                return f"{root}.outputs"
            if root in self.resources and member not in _DEPLOY_TIME_MEMBERS:
                return f"{root}.{member}"
        for child in node.children:
            found = self.runtime_reference(child)
            if found:
                return found
        return None

    def values(self, node: Any) -> list[Value]:
        """The possible values of an expression (several for ``a ? b : c`` and ``@allowed`` parameters)."""
        if isinstance(node, Token):
            return self._token_values(node)
        if not isinstance(node, Tree):
            return [Value("any", 0)]
        line = line_of(node)
        kind = node.data
        if kind == "string" and node.children and isinstance(node.children[0], Token):
            return self._token_values(node.children[0])
        if kind == "int":
            token = node.children[0]
            return [Value("int", line, int(token), True, span=(token.start_pos, token.end_pos))]
        if kind in ("true", "false"):
            return [Value("bool", line, kind == "true", True)]
        if kind == "null":
            return [Value("null", line, None, True)]
        if kind == "multi_line_string":
            return [Value("string", line, str(node.children[0])[3:-3].lstrip("\n"), True)]
        if kind == "object":
            return [Value("object", line, node=node)]
        if kind in ("array", "loop"):
            return [Value("array", line, node=node)]
        if kind == "function":
            return [self._function_value(node.children[0], line)]
        if kind == "operator":
            return self._operator_values(node.children[0], line)
        return [Value("any", line)]

    def _token_values(self, token: Token) -> list[Value]:
        line = token.line or 0
        if token.type == "STRING":
            return self._identifier_values(str(token), line)
        span = (token.start_pos, token.end_pos)
        if _INTERPOLATION.search(str(token)):
            return [Value("string", line, span=span)]
        return [Value("string", line, unquote(token), True, span=span)]

    def _identifier_values(self, name: str, line: int) -> list[Value]:
        if name in self.params:
            return self._param_values(name, line)
        if name in self.variables and name not in self._resolving:
            self._resolving.add(name)
            try:
                found = self.values(self.variables[name])
            finally:
                self._resolving.discard(name)
            return [Value(v.kind, v.line, v.literal, v.known, v.node, v.origin or f"var {name}") for v in found]
        return [Value("any", line)]

    def param_values(self, name: str) -> list[Value]:
        """What a parameter may hold, from its declaration (at the declaration's line)."""
        return self._param_values(name, line_of(self.params[name]))

    def _param_values(self, name: str, line: int) -> list[Value]:
        decorator_block, _, data_type, _ = self.params[name].children
        kind = _PARAM_KINDS.get(str(data_type.children[0]), "any")
        origin = f"param {name}"
        decorators = {d.data: d for d in (decorator_block.children if isinstance(decorator_block, Tree) else [])}
        if "deco_allowed" in decorators:
            allowed = [v for item in decorators["deco_allowed"].children[0].children for v in self.values(item)]
            return [Value(v.kind, line, v.literal, v.known, origin=f"{origin} @allowed") for v in allowed]
        low, high = ("deco_min_val", "deco_max_val") if kind == "int" else ("deco_min_len", "deco_max_len")
        bounds = tuple(int(decorators[d].children[0]) if d in decorators else None for d in (low, high))
        return [Value(kind, line, origin=origin, bounds=bounds)]

    def _function_value(self, function: Tree, line: int) -> Value:
        # A trailing ``.name`` (``subscription().subscriptionId``) is a property of the result: unknown.
        trailing_access = any(isinstance(child, Token) for child in function.children[1:])
        if function.data in _FUNCTION_KINDS and not trailing_access:
            return Value(_FUNCTION_KINDS[function.data], line)
        if function.data in _OBJECT_FUNCTIONS and not trailing_access:
            return Value("object", line)
        return Value("any", line)

    def _operator_values(self, operator: Tree, line: int) -> list[Value]:
        if operator.data == "conditional":
            return self.values(operator.children[1]) + self.values(operator.children[2])
        if operator.data == "coalesce":
            return self.values(operator.children[0]) + self.values(operator.children[1])
        if operator.data in _COMPARISONS:
            return [Value("bool", line)]
        if operator.data in _ARITHMETIC:
            return [Value("int", line)]
        return [Value("any", line)]


def _first_identifier(node: Any) -> str | None:
    """The identifier an access chain starts with (``app`` of ``app.identity.principalId``)."""
    while isinstance(node, Tree):
        if node.data == "string":
            token = node.children[0]
            return str(token) if isinstance(token, Token) and token.type == "STRING" else None
        if node.data not in ("operator", "property_accessor", "index_accessor") or not node.children:
            return None
        node = node.children[0]
    return None
