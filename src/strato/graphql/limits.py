"""What a GraphQL document may cost before it runs: its size (checked before parsing), its tokens (while
parsing), and its depth and field count (validation rules), so one request cannot tie up a function."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)

DEFAULT_MAX_DEPTH = 10
DEFAULT_MAX_DOCUMENT_BYTES = 32 * 1024
DEFAULT_MAX_TOKENS = 5000


@dataclass(frozen=True)
class Limits:
    """``max_depth`` is on by default (introspection fields are not counted, so GraphiQL still works);
    ``max_complexity`` counts every field a query selects, fragments expanded (off unless given)."""

    max_depth: int | None = DEFAULT_MAX_DEPTH
    max_complexity: int | None = None
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES
    max_tokens: int = DEFAULT_MAX_TOKENS

    def rules(self) -> list[type[ValidationRule]]:
        rules: list[type[ValidationRule]] = []
        if self.max_depth is not None:
            rules.append(_limit_rule("depth", self.max_depth, _depth))
        if self.max_complexity is not None:
            rules.append(_limit_rule("complexity", self.max_complexity, _fields))
        return rules


Fragments = dict[str, FragmentDefinitionNode]


def _depth(selection_set: SelectionSetNode | None, fragments: Fragments, seen: frozenset[str] = frozenset()) -> int:
    deepest = 0
    for node in selection_set.selections if selection_set else ():
        if isinstance(node, FieldNode):
            if node.name.value.startswith("__"):  # introspection: GraphiQL's own query is deep
                continue
            deepest = max(deepest, 1 + _depth(node.selection_set, fragments, seen))
        elif isinstance(node, InlineFragmentNode):
            deepest = max(deepest, _depth(node.selection_set, fragments, seen))
        elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            fragment = fragments.get(node.name.value)
            if fragment is not None:
                deepest = max(deepest, _depth(fragment.selection_set, fragments, seen | {node.name.value}))
    return deepest


def _fields(selection_set: SelectionSetNode | None, fragments: Fragments, seen: frozenset[str] = frozenset()) -> int:
    total = 0
    for node in selection_set.selections if selection_set else ():
        if isinstance(node, FieldNode):
            total += 1 + _fields(node.selection_set, fragments, seen)
        elif isinstance(node, InlineFragmentNode):
            total += _fields(node.selection_set, fragments, seen)
        elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            fragment = fragments.get(node.name.value)
            if fragment is not None:
                total += _fields(fragment.selection_set, fragments, seen | {node.name.value})
    return total


def _limit_rule(what: str, limit: int, measure: Any) -> type[ValidationRule]:
    class LimitRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            fragments = {
                d.name.value: d for d in self.context.document.definitions if isinstance(d, FragmentDefinitionNode)
            }
            value = measure(node.selection_set, fragments)
            if value > limit:
                name = f"'{node.name.value}'" if node.name else "the operation"
                self.report_error(
                    GraphQLError(f"{name} has a {what} of {value}, over this API's limit of {limit}", node)
                )

    LimitRule.__name__ = f"Max{what.title()}Rule"
    return LimitRule
