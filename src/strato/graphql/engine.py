"""Running operations of a Strawberry schema: parse and validate once per document (cached), with the
API's limits, then execute with Strawberry's execution context. HTTP, the WebSocket protocol and
``publish`` all come through here, so every transport applies the same rules."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    subscribe,
    validate,
)

from .limits import Limits

CACHE_SIZE = 512


class RequestError(Exception):
    """The request cannot run at all (a parse or validation error, an unknown operation): GraphQL's
    "request error", reported in ``errors`` with no ``data``; ``status`` is what GraphQL over HTTP answers."""

    def __init__(self, errors: list[GraphQLError] | str, status: int = 400) -> None:
        self.errors = [GraphQLError(errors)] if isinstance(errors, str) else errors
        self.status = status
        super().__init__("; ".join(e.message for e in self.errors))

    @property
    def formatted(self) -> dict[str, Any]:
        return {"errors": [e.formatted for e in self.errors]}


@dataclass(frozen=True)
class Prepared:
    """A parsed, validated document and the operation a request picked from it."""

    query: str
    document: DocumentNode
    operation: OperationDefinitionNode
    operation_name: str | None

    @property
    def kind(self) -> str:
        return self.operation.operation.value  # "query", "mutation" or "subscription"

    @property
    def root_field(self) -> str:
        """The subscription's field: what ``publish(field, ...)`` names."""
        first = self.operation.selection_set.selections[0]
        if not isinstance(first, FieldNode):
            raise RequestError("a subscription names its field at the top level, not through a fragment")
        return first.name.value


class Engine:
    def __init__(self, schema: Any, limits: Limits) -> None:
        self.schema = schema
        self.graphql_schema = schema._schema
        self.limits = limits
        self.rules = [*getattr(schema, "validation_rules", specified_rules), *limits.rules()]
        try:  # Strawberry's execution context (its Info, operation extensions), however this version names it
            from strawberry.schema._graphql_core import execution_context_class_kwargs

            self.execution_kwargs = execution_context_class_kwargs(schema.execution_context_class)
        except (ImportError, AttributeError):
            self.execution_kwargs = {}
        self._documents: OrderedDict[str, DocumentNode | list[GraphQLError]] = OrderedDict()
        self._lock = threading.Lock()

    def document(self, query: str) -> DocumentNode:
        """Parse and validate ``query`` (refused before parsing when oversized); RequestError if invalid."""
        with self._lock:
            cached = self._documents.get(query)
            if cached is not None:
                self._documents.move_to_end(query)
        if cached is None:
            size = len(query.encode("utf-8")) if len(query) * 4 > self.limits.max_document_bytes else len(query)
            if size > self.limits.max_document_bytes:
                raise RequestError(
                    f"the document is {size} bytes, over this API's limit of {self.limits.max_document_bytes}; "
                    "use a persisted query for large documents",
                    413,
                )
            try:
                document = parse(query, max_tokens=self.limits.max_tokens)
            except GraphQLError as error:
                raise RequestError([error]) from None
            errors = validate(self.graphql_schema, document, self.rules)
            cached = errors or document
            with self._lock:
                self._documents[query] = cached
                if len(self._documents) > CACHE_SIZE:
                    self._documents.popitem(last=False)
        if isinstance(cached, list):
            raise RequestError(cached)
        return cached

    def prepare(self, query: Any, operation_name: Any = None) -> Prepared:
        if not isinstance(query, str) or not query.strip():
            raise RequestError('the request has no query: send {"query": "{ ... }"}')
        if operation_name is not None and not isinstance(operation_name, str):
            raise RequestError("operationName must be a string")
        document = self.document(query)
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            wanted = f"no operation named {operation_name!r}" if operation_name else "several operations"
            raise RequestError(f"the document has {wanted}: send operationName to pick one")
        return Prepared(query, document, operation, operation_name)

    def execute(self, prepared: Prepared, variables: Any, context: Any, root: Any = None) -> Any:
        """An ExecutionResult, or an awaitable of one when a resolver is async."""
        if prepared.operation.operation == OperationType.SUBSCRIPTION:
            raise RequestError("subscriptions run over the WebSocket API (graphql-transport-ws)")
        return execute(
            self.graphql_schema,
            prepared.document,
            root_value=root,
            context_value=context,
            variable_values=variables,
            operation_name=prepared.operation_name,
            **self.execution_kwargs,
        )

    async def results_for(self, prepared: Prepared, variables: Any, context: Any) -> list[ExecutionResult]:
        """Run a subscription against the one event in ``context.published``: its resolver (an async
        generator over ``published(info)``) filters or transforms it, and its selection runs on what it
        yields. Usually one result, none when the resolver filtered the event out."""
        stream = subscribe(
            self.graphql_schema,
            prepared.document,
            context_value=context,
            variable_values=variables,
            operation_name=prepared.operation_name,
            **self.execution_kwargs,
        )
        if hasattr(stream, "__await__"):
            stream = await cast(Awaitable[Any], stream)
        if isinstance(stream, ExecutionResult):
            return [stream]
        results: list[ExecutionResult] = []
        iterator: AsyncIterator[ExecutionResult] = stream
        async for result in iterator:
            results.append(result)
        return results

    def report(self, result: ExecutionResult, context: Any) -> None:
        """Hand resolver errors to Strawberry's error processing (its logger), as its own views do."""
        if result.errors:
            try:
                self.schema.process_errors(result.errors)
            except Exception:  # a custom process_errors failing must not turn a GraphQL error into a 500
                pass


def formatted(result: ExecutionResult) -> tuple[dict[str, Any], bool]:
    """(the response body, whether it is a request error): a result whose errors have no path and no data
    failed before execution (variables of the wrong type), which GraphQL reports without ``data``."""
    body = result.formatted
    request_error = result.data is None and bool(result.errors) and all(e.path is None for e in result.errors or ())
    if request_error:
        body.pop("data", None)
    return dict(body), request_error


def run_sync(awaitable: Any) -> Any:
    """Wait for ``awaitable`` from synchronous code: on a fresh loop, or on a helper thread's loop when
    this thread already runs one (a publish from an async handler)."""
    import asyncio

    if not hasattr(awaitable, "__await__"):
        return awaitable

    async def wrapped() -> Any:
        return await awaitable

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wrapped())
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, wrapped()).result()
