"""Workflow variables (``Assign``), in both query languages, as "Passing data between states with variables"
describes them: a state assigns, the next states read ``$name``.

- Scope: the top-level states share one scope; each Parallel branch and Map iteration has its own, which
  reads the outer variables but may not assign a name an outer scope assigns (refused at declaration).
  A Catch's Assign assigns in the scope of the state that caught the error.
- Timing: every expression of a state (Arguments, Output, Assign...) reads the values from state entry;
  what a state assigns is visible from the next state on.
- Limits: a variable is at most 256 KiB, one state's Assign at most 256 KiB together, and an execution's
  variables at most 10 MiB; over a limit the state fails with States.DataLimitExceeded.

Variables are stored with the frame that owns the scope (the ``vars`` column), in the same transaction as
the transition that assigned them, so they survive a worker restart like the rest of the execution.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import paths
from .errors import StatesError

MAX_NAME = 80
MAX_VARIABLE = 256 * 1024  # bytes: one variable's value, and one state's Assign all together
MAX_TOTAL = 10 * 1024 * 1024  # bytes: an execution's variables
_REFERENCE = re.compile(r"^\$([^\W\d]\w*)(.*)$", re.DOTALL)


class Scope(dict):
    """The context object (``$$``) of one state run, carrying the variables it reads and what it assigns.

    It is the dict task handlers receive as their context; ``variables`` and ``assigned`` ride along."""

    variables: dict[str, Any]
    assigned: dict[str, Any] | None
    jsonata: bool

    def __init__(self, context: dict[str, Any], variables: dict[str, Any], jsonata: bool = False) -> None:
        super().__init__(context)
        self.variables, self.assigned, self.jsonata = variables, None, jsonata

    def derived(self, **extra: Any) -> Scope:
        """A copy with more context fields (``Map.Item`` for ItemSelector), the same variables."""
        out = Scope({**self, **extra}, self.variables, self.jsonata)
        return out


def with_item(context: Any, index: int, item: Any) -> Any:
    """The context of a Map's ItemSelector: ``Map.Item`` added, the variables kept."""
    extra = {"Map": {"Item": {"Index": index, "Value": item}}}
    return context.derived(**extra) if isinstance(context, Scope) else {**context, **extra}


def of(context: Any) -> dict[str, Any]:
    return getattr(context, "variables", None) or {}


def is_jsonata(context: Any) -> bool:
    return bool(getattr(context, "jsonata", False))


# -- JSONPath: "$name.field" ---------------------------------------------------------------------------
def reference(expression: str) -> tuple[str, str] | None:
    """``$name.a[0]`` -> (``name``, ``$.a[0]``); None for ``$``, ``$.x``, ``$[0]`` and ``$$.x``."""
    match = _REFERENCE.match(expression)
    return None if match is None else (match.group(1), "$" + match.group(2))


def select(expression: str, context: Any, *, what: str = "path") -> Any:
    """The value a JSONPath variable reference names; an unassigned variable is States.Runtime."""
    found = reference(expression)
    assert found is not None
    name, path = found
    values = of(context)
    if name not in values:
        raise StatesError("States.Runtime", f"Invalid path '{expression}': the variable ${name} is not assigned")
    return paths.select(values[name], path, what=what)


def check_reference(expression: str) -> None:
    """At declaration: the path after the variable's name (raises paths.PathSyntaxError)."""
    found = reference(expression)
    assert found is not None
    paths.parse(found[1])


# -- names and scopes -----------------------------------------------------------------------------------
def check_name(name: Any, state: str) -> None:
    from ..core.errors import ConfigurationError

    if not isinstance(name, str) or not name.isidentifier() or len(name) > MAX_NAME:
        raise ConfigurationError(
            f"state {state!r}: Assign variable name {name!r} must be an identifier (a letter or '_', then letters, "
            f"digits or '_'), at most {MAX_NAME} characters"
        )
    if name == "states":
        raise ConfigurationError(f"state {state!r}: $states is reserved by Step Functions and cannot be assigned")


def assigned_names(state: dict[str, Any]) -> set[str]:
    """The names a state may assign: its Assign, its Choice rules' and its Catchers' (``.$`` stripped)."""
    blocks = [state.get("Assign")]
    blocks += [rule.get("Assign") for rule in state.get("Choices", []) if isinstance(rule, dict)]
    blocks += [c.get("Assign") for c in state.get("Catch", []) if isinstance(c, dict)]
    return {k[:-2] if k.endswith(".$") else k for block in blocks if isinstance(block, dict) for k in block}


def check_scopes(machine: dict[str, Any], outer: frozenset[str] = frozenset()) -> None:
    """An inner scope (a Parallel branch, a Map's ItemProcessor) may read but not assign an outer variable."""
    from ..core.errors import ConfigurationError

    states = machine.get("States", {})
    mine = {name: assigned_names(state) for name, state in states.items()}
    for name, names in mine.items():
        clash = sorted(names & outer)
        if clash:
            raise ConfigurationError(
                f"state {name!r}: assigns ${clash[0]}, a variable of an outer scope; states inside a Parallel or "
                "Map read outer variables but cannot assign them (use the Parallel / Map state's Output or Assign)"
            )
    visible = outer | {n for names in mine.values() for n in names}
    for state in states.values():
        for inner in state.get("Branches", []):
            check_scopes(inner, visible)
        processor = state.get("ItemProcessor", state.get("Iterator"))
        if isinstance(processor, dict):
            check_scopes(processor, visible)


def uses_variables(everything: dict[str, dict[str, Any]]) -> bool:
    return any(assigned_names(state) for state in everything.values())


# -- sizes ----------------------------------------------------------------------------------------------
def check_sizes(assigned: dict[str, Any], visible: dict[str, Any]) -> None:
    total = 0
    for name, value in assigned.items():
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        if size > MAX_VARIABLE:
            raise StatesError(
                "States.DataLimitExceeded",
                f"The variable ${name} is {size:,} bytes, over the limit of {MAX_VARIABLE:,} bytes",
            )
        total += size
    if total > MAX_VARIABLE:
        raise StatesError(
            "States.DataLimitExceeded", f"The Assign field is {total:,} bytes, over the limit of {MAX_VARIABLE:,}"
        )
    merged = {**visible, **assigned}
    everything = len(json.dumps(merged, separators=(",", ":"), ensure_ascii=False).encode())
    if everything > MAX_TOTAL:
        raise StatesError(
            "States.DataLimitExceeded",
            f"The execution's variables would be {everything:,} bytes, over the limit of {MAX_TOTAL:,} bytes",
        )


def history_details(assigned: dict[str, Any]) -> dict[str, Any]:
    """StateExited's ``assignedVariables`` (name -> serialized JSON) and ``assignedVariablesDetails``."""
    return {
        "assignedVariables": {k: json.dumps(v, separators=(",", ":"), ensure_ascii=False) for k, v in assigned.items()},
        "assignedVariablesDetails": {"truncated": False},
    }


# -- storage: each frame keeps its own scope's variables ------------------------------------------------
_PARSED: dict[str, dict[str, Any]] = {}


def _parsed(text: str) -> dict[str, Any]:
    found = _PARSED.get(text)
    if found is None:
        if len(_PARSED) > 256:
            _PARSED.clear()
        found = _PARSED[text] = json.loads(text)
    return found


def visible(conn: Any, frame: dict[str, Any]) -> dict[str, Any]:
    """What a frame's state reads: the outer scopes' variables (its parent frames'), then its own."""
    texts = [frame.get("vars")]
    parent = frame["parent"]
    while parent is not None:
        row = conn.execute("SELECT parent, vars FROM frames WHERE id = ?", (parent,)).fetchone()
        if row is None:
            break
        parent = row[0]
        texts.append(row[1])
    out: dict[str, Any] = {}
    for text in reversed(texts):
        if text:
            out.update(_parsed(text))
    return out


def merge(own: str | None, assigned: dict[str, Any]) -> str:
    """The frame's ``vars`` after a state assigned ``assigned``."""
    values = dict(_parsed(own)) if own else {}
    values.update(assigned)
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False)
