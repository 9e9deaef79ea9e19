"""Parallel branches and Map iterations as child frames: spawned in the parent's transaction (a Map's items
beyond MaxConcurrency wait as 'pending' rows), each child's end recorded with the parent's count, and the
last one joining the results (in branch / item order) back into the parent, which then goes on."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import TYPE_CHECKING, Any

from . import dataflow
from .errors import StatesError

if TYPE_CHECKING:
    from .executor import Executor
    from .states import Outcome


def spawn(
    ex: Executor,
    conn: sqlite3.Connection,
    frame: dict[str, Any],
    state: dict[str, Any],
    children: list[tuple[str, Any]],
    now: float,
    *,
    limit: int | None = None,
) -> None:
    """``limit``: a MaxConcurrency computed by the state (JSONata), else the state's own."""
    kind = state["Type"]
    name = frame["state"]
    limit = (state.get("MaxConcurrency", 0) if limit is None else limit) if kind == "Map" else 0
    active = len(children) if not limit else min(limit, len(children))
    started = (
        ("ParallelStateStarted", {})
        if kind == "Parallel"
        else ("MapStateStarted", {"mapStateStartedEventDetails": {"length": len(children)}})
    )
    events = [started]
    rows = []
    for slot, (start, given) in enumerate(children):
        text = dataflow.encode(given)  # sizes were checked before the transaction (states.map_children)
        status = "ready" if slot < active else "pending"
        rows.append((frame["arn"], ex.workflow, frame["id"], slot, start, text, status, now, "run", now))
        if status == "ready":
            events += _child_started(ex, kind, name, slot, start, text)
    ex.store.append(conn, frame["arn"], events, now, transitions=active)
    conn.executemany(
        "INSERT INTO frames (arn, workflow, parent, slot, state, input, status, due, phase, entered) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    frame["version"] += 1
    status, phase, result = "children", "run", None
    if not children:  # an empty Map or no items: done at once
        status, phase, result = "ready", "joined", "[]"
    conn.execute(
        "UPDATE frames SET status = ?, phase = ?, result = ?, owner = NULL, version = ?, pending = ?, running = ?, "
        "failed = 0 WHERE id = ?",
        (status, phase, result, frame["version"], len(children) - active, active, frame["id"]),
    )


def _child_started(ex: Executor, kind: str, name: str, slot: int, start: str, text: str) -> list[Any]:
    entered = (f"{ex.by_name[start]['Type']}StateEntered", {"stateEnteredEventDetails": {"name": start, "input": text}})
    if kind == "Map":
        return [("MapIterationStarted", {"mapIterationStartedEventDetails": {"name": name, "index": slot}}), entered]
    return [entered]


def finish_child(
    ex: Executor, conn: sqlite3.Connection, frame: dict[str, Any], outcome: Outcome, now: float, prior: list[Any]
) -> None:
    """``prior``: the child's own last events (its state's exit), appended with the parent's in one go."""
    parent = conn.execute(
        "SELECT state, status, pending, running, failed FROM frames WHERE id = ?", (frame["parent"],)
    ).fetchone()
    if parent is None or parent[1] != "children":
        raise_lost()
    pstate_name, _, pending, running, failed = parent
    pstate = ex.by_name[pstate_name]
    kind = pstate["Type"]
    events: list[Any] = list(prior)
    if outcome.kind == "fail":
        assert outcome.cause is not None
        cause = outcome.cause
        if kind == "Map":
            events.append(
                (
                    "MapIterationFailed",
                    {"mapIterationFailedEventDetails": {"name": pstate_name, "index": frame["slot"]}},
                )
            )
            failed += 1
            result = json.dumps({"Error": cause.error, "Cause": cause.cause})
            if _tolerated(pstate, failed, _total(conn, frame["parent"])):
                return _done_one(ex, conn, frame, result, events, now, pending, running, failed, pstate, pstate_name)
            cause = (
                StatesError(
                    "States.ExceedToleratedFailureThreshold",
                    f"The Map failed: {failed} item(s) failed, over the tolerated failures",
                )
                if ("ToleratedFailureCount" in pstate or "ToleratedFailurePercentage" in pstate)
                else cause
            )
        ex.store.append(conn, frame["arn"], events, now)
        _join(ex, conn, frame["parent"], json.dumps({"__error__": [cause.error, cause.cause]}), now, frame["arn"])
        return
    if kind == "Map":
        events.append(
            (
                "MapIterationSucceeded",
                {"mapIterationSucceededEventDetails": {"name": pstate_name, "index": frame["slot"]}},
            )
        )
    result = dataflow.encode(outcome.output)
    _done_one(ex, conn, frame, result, events, now, pending, running, failed, pstate, pstate_name)


def _done_one(
    ex: Executor,
    conn: sqlite3.Connection,
    frame: dict[str, Any],
    result: str,
    events: list[Any],
    now: float,
    pending: int,
    running: int,
    failed: int,
    pstate: dict[str, Any],
    pstate_name: str,
) -> None:
    ended = conn.execute(
        "UPDATE frames SET status = 'done', result = ?, owner = NULL, version = version + 1 "
        "WHERE id = ? AND version = ? AND status = 'ready'",
        (result, frame["id"], frame["version"]),
    ).rowcount
    if not ended:  # stopped, cancelled or taken over meanwhile
        raise_lost()
    running -= 1
    activated = 0
    if pending:
        activated = 1
        _activate_next(ex, conn, frame["parent"], pstate, pstate_name, events, now)
        pending -= 1
        running += 1
    if events:
        ex.store.append(conn, frame["arn"], events, now, transitions=activated)
    conn.execute(
        "UPDATE frames SET pending = ?, running = ?, failed = ? WHERE id = ?",
        (pending, running, failed, frame["parent"]),
    )
    if not running and not pending:
        rows = conn.execute("SELECT result FROM frames WHERE parent = ? ORDER BY slot", (frame["parent"],)).fetchall()
        _join(ex, conn, frame["parent"], "[" + ",".join(r[0] for r in rows) + "]", now, frame["arn"])


def _activate_next(
    ex: Executor,
    conn: sqlite3.Connection,
    parent: int,
    pstate: dict[str, Any],
    name: str,
    events: list[Any],
    now: float,
) -> None:
    """The next pending item starts, claimed by this worker in the same transaction (it goes on in the
    recording loop's hand: no other claim, no hand-off between threads)."""
    from .store import FRAME_COLUMNS, LEASE, _frame

    row = conn.execute(
        f"SELECT {FRAME_COLUMNS} FROM frames WHERE parent = ? AND status = 'pending' ORDER BY slot LIMIT 1",
        (parent,),
    ).fetchone()
    child = _frame(row, +1)
    child.update(status="ready", due=now, entered=now)
    owner = ex.store.owner if ex.adopt(child) else None
    conn.execute(
        "UPDATE frames SET status = 'ready', due = ?, entered = ?, owner = ?, lease = ?, version = ? WHERE id = ?",
        (now, now, owner, time.time() + LEASE if owner else 0, child["version"], child["id"]),
    )
    events += _child_started(ex, pstate["Type"], name, child["slot"], child["state"], child["input"])


def _total(conn: sqlite3.Connection, parent: int) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM frames WHERE parent = ?", (parent,)).fetchone()[0])


def _tolerated(state: dict[str, Any], failed: int, total: int) -> bool:
    """Within ToleratedFailureCount and ToleratedFailurePercentage (either one exceeded fails the Map)."""
    has_count, has_percent = "ToleratedFailureCount" in state, "ToleratedFailurePercentage" in state
    if not has_count and not has_percent:
        return False
    if has_count and failed > state["ToleratedFailureCount"]:
        return False
    return not (has_percent and failed * 100 > state["ToleratedFailurePercentage"] * total)


def _join(ex: Executor, conn: sqlite3.Connection, parent: int, result: str, now: float, arn: str) -> None:
    """Every child is done (or one failure ended them all): the parent runs again with the results."""
    _cancel_below(conn, parent)
    conn.execute(
        "UPDATE frames SET status = 'ready', phase = 'joined', result = ?, due = ?, owner = NULL, "
        "version = version + 1 WHERE id = ?",
        (result, now, parent),
    )
    row = conn.execute("SELECT state FROM frames WHERE id = ?", (parent,)).fetchone()
    kind = ex.by_name[row[0]]["Type"]
    failed = '"__error__"' in result[:16]
    ex.store.append(conn, arn, [(f"{kind}State{'Failed' if failed else 'Succeeded'}", {})], now)


def _cancel_below(conn: sqlite3.Connection, parent: int) -> None:
    """Drop every frame under ``parent`` (finished ones and siblings still running: a failure stops them)."""
    todo = [parent]
    while todo:
        ids = [i for (i,) in conn.execute(f"SELECT id FROM frames WHERE parent IN ({','.join('?' * len(todo))})", todo)]
        conn.execute(f"DELETE FROM frames WHERE parent IN ({','.join('?' * len(todo))})", todo)
        todo = ids


def raise_lost() -> None:
    from .executor import Lost

    raise Lost()
