"""Parse and validate a query text once: the documents that passed validation, by query text.

strawberry's ParserCache and ValidationCache do not help here: the validation cache is keyed by
the validation rules, and the depth and alias limiters build new rule classes for every
request (their extensions are constructed per request), so it never hits; and parsing is the
smaller half. This cache keys on the query text alone, which is sound because everything else
that decides the outcome is fixed per schema: the parse options (the token limit) and the
validation rules (graphql's, introspection off, the depth and alias limits). Only documents
that parsed and validated without error are kept, so a refused query is refused again, by the
same rules, every time; and the cache is bounded in entries and in query text.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from graphql import DocumentNode
from strawberry.extensions import SchemaExtension

# Applications send a handful of distinct operations; these bounds leave room for many more
# and keep what distinct valid queries can make a process hold small (a document is some tens
# of times its text).
MAX_ENTRIES = 500
MAX_TEXT = 1_000_000  # characters of query text over all entries


class DocumentCache:
    """Query text -> its parsed document, valid against the schema it belongs to (LRU)."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_text: int = MAX_TEXT) -> None:
        self.max_entries = max_entries
        self.max_text = max_text
        self._documents: OrderedDict[str, DocumentNode] = OrderedDict()
        self._text = 0

    def get(self, query: str) -> DocumentNode | None:
        document = self._documents.get(query)
        if document is not None:
            self._documents.move_to_end(query)
        return document

    def put(self, query: str, document: DocumentNode) -> None:
        if len(query) > self.max_text or query in self._documents:
            return
        self._documents[query] = document
        self._text += len(query)
        while len(self._documents) > self.max_entries or self._text > self.max_text:
            old, _ = self._documents.popitem(last=False)
            self._text -= len(old)

    def __len__(self) -> int:
        return len(self._documents)


class CachedDocuments(SchemaExtension):
    """Serves a known query's document and skips its validation; remembers the documents that
    pass. Built per request around the schema's one DocumentCache."""

    def __init__(self, cache: DocumentCache) -> None:
        self.cache = cache
        self.hit = False

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query
        if query is not None and self.execution_context.graphql_document is None:
            document = self.cache.get(query)
            if document is not None:
                self.execution_context.graphql_document = document
                self.hit = True
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if self.hit:
            context.pre_execution_errors = []  # strawberry validates only while this is None
            yield
            return
        yield
        if (
            context.pre_execution_errors == []
            and context.query is not None
            and context.graphql_document is not None
        ):
            self.cache.put(context.query, context.graphql_document)
