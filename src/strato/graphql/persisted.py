"""Persisted queries: documents known ahead (by their SHA-256), sent by id instead of by text; with
``only_persisted=True`` the API runs nothing else, the strongest limit there is on what clients may ask."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from ..core.errors import ConfigurationError
from .engine import RequestError


def document_id(query: str) -> str:
    """A document's id: the hex SHA-256 of its text (Apollo's ``persistedQuery.sha256Hash``)."""
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


class PersistedQueries:
    def __init__(self, documents: Mapping[str, str] | Iterable[str] | None = None, only: bool = False) -> None:
        if documents is None:
            found: dict[str, str] = {}
        elif isinstance(documents, Mapping):
            found = {str(k): v for k, v in documents.items()}
        else:
            found = {document_id(q): q for q in documents}
        if only and not found:
            raise ConfigurationError("only_persisted=True needs persisted_queries=[...] (the documents clients send)")
        self.documents = found
        self.only = only

    def query_for(self, params: dict[str, Any]) -> Any:
        """The document text of a request: its ``query``, or the persisted one its id names
        (``documentId``, or ``extensions.persistedQuery.sha256Hash``)."""
        persisted = (params.get("extensions") or {}).get("persistedQuery")
        wanted = params.get("documentId") or (persisted.get("sha256Hash") if isinstance(persisted, dict) else None)
        if wanted is not None:
            if not isinstance(wanted, str):
                raise RequestError("documentId must be a string")
            query = self.documents.get(wanted.removeprefix("sha256:"))
            if query is None:
                raise RequestError(f"PersistedQueryNotFound: no persisted document {wanted!r}")
            return query
        if self.only:
            raise RequestError("this API only runs persisted queries: send documentId (the document's SHA-256)")
        return params.get("query")
