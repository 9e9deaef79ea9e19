"""Workflows: executions, the state graph (nodes and edges from the definition; the page lays it out)
with each state's part in one execution (visited, current, failed), and the execution's history."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from .web import BadRequest, blocking, endpoint, query_int, resource

STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def graph(definition: dict[str, Any]) -> dict[str, Any]:
    """Top-level states as nodes, transitions (Next, Default, Choices, Catch) as edges."""
    nodes, edges = [], []
    for name, state in definition.get("States", {}).items():
        nodes.append({"id": name, "type": state.get("Type"), "end": bool(state.get("End"))})
        if isinstance(state.get("Next"), str):
            edges.append({"from": name, "to": state["Next"], "label": ""})
        for choice in state.get("Choices", []) or []:
            if isinstance(choice, dict) and isinstance(choice.get("Next"), str):
                edges.append({"from": name, "to": choice["Next"], "label": "choice"})
        if isinstance(state.get("Default"), str):
            edges.append({"from": name, "to": state["Default"], "label": "default"})
        for catcher in state.get("Catch", []) or []:
            if isinstance(catcher, dict) and isinstance(catcher.get("Next"), str):
                edges.append({"from": name, "to": catcher["Next"], "label": "catch"})
    return {"start": definition.get("StartAt"), "nodes": nodes, "edges": edges}


def progress(history: list[dict[str, Any]]) -> dict[str, Any]:
    """Which states an execution entered, is in now, and failed in (from its history's events)."""
    visited: list[str] = []
    inside: list[str] = []
    failed: list[str] = []
    for event in history:
        if (entered := event.get("stateEnteredEventDetails")) and isinstance(entered.get("name"), str):
            name = entered["name"]
            visited.append(name) if name not in visited else None
            inside.append(name)
        elif (exited := event.get("stateExitedEventDetails")) and exited.get("name") in inside:
            inside.remove(exited["name"])
        elif event.get("type", "").endswith(("Failed", "TimedOut")) and inside:
            failed.append(inside[-1])
    return {"visited": visited, "current": inside, "failed": failed}


@endpoint
async def workflows(request: Request) -> Any:
    def listing() -> list[dict[str, Any]]:
        out = []
        for wf in request.app.state.app.of_kind("workflow"):
            out.append({"name": wf.name, "type": wf.type, "graph": graph(wf.definition)})
        return out

    return await blocking(listing)


@endpoint
async def executions(request: Request) -> Any:
    wf = resource(request, "workflow")
    status = request.query_params.get("status") or None
    if status is not None and status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}")
    found = await blocking(wf.executions, status, limit=query_int(request, "limit", 50, 1, 1000))
    return [
        {
            "arn": e.arn,
            "name": e.name,
            "status": e.status,
            "error": e.error,
            "cause": e.cause,
            "start": e.start_date,
            "stop": e.stop_date,
        }
        for e in found
    ]


@endpoint
async def execution(request: Request) -> Any:
    wf = resource(request, "workflow")
    arn = request.query_params.get("arn", "")
    if not arn:
        raise BadRequest("arn is required (?arn=...)")

    def read() -> dict[str, Any]:
        found = wf.describe(arn)
        history = wf.history(arn)
        return {
            "arn": found.arn,
            "name": found.name,
            "status": found.status,
            "input": found.input,
            "output": found.output,
            "error": found.error,
            "cause": found.cause,
            "start": found.start_date,
            "stop": found.stop_date,
            "history": history,
            "progress": progress(history),
        }

    return await blocking(read)


ROUTES = [
    Route("/_strato/console/api/workflows", workflows),
    Route("/_strato/console/api/workflows/{name}/executions", executions),
    Route("/_strato/console/api/workflows/{name}/execution", execution),
]
