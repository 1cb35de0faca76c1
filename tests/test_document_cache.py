"""The parse-and-validate cache: a known query is neither parsed nor validated again, and the
limits still refuse what they refused, every time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import strawberry.schema.schema as strawberry_schema
from graphql import parse

from seatbill.config import Settings
from seatbill.schema import build_schema
from seatbill.schema.document_cache import DocumentCache


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The documents strawberry validates, in order (a spy around its validate step)."""
    seen: list[str] = []
    validate = strawberry_schema.validate_document

    def spy(schema: Any, document: Any, rules: Any) -> Any:
        seen.append(document.loc.source.body if document.loc else "")
        return validate(schema, document, rules)

    monkeypatch.setattr(strawberry_schema, "validate_document", spy)
    yield seen


async def test_a_valid_query_is_validated_once(settings: Settings, validations: list[str]) -> None:
    schema = build_schema(settings)
    for _ in range(3):
        result = await schema.execute("{ plans { key } }", context_value=None)
        assert result.errors and "key" in result.errors[0].message  # validation error
    assert len(validations) == 3  # refused documents are not remembered

    for _ in range(3):
        result = await schema.execute("{ __typename }")
        assert result.errors is None and result.data == {"__typename": "Query"}
    assert validations[3:] == ["{ __typename }"]


async def test_limits_refuse_every_time(settings: Settings, validations: list[str]) -> None:
    schema = build_schema(
        replace(settings, max_query_depth=3, max_query_aliases=2, max_query_tokens=40)
    )
    deep = "{ workspaces { members { user { invitations { id } } } } }"
    aliases = "{ a: __typename b: __typename c: __typename }"
    tokens = "{ " + " ".join(f"f{i}: __typename" for i in range(20)) + " }"
    for _ in range(2):
        depth_result = await schema.execute(deep)
        assert depth_result.errors and "exceeds maximum operation depth" in str(
            depth_result.errors[0].message
        )
        alias_result = await schema.execute(aliases)
        assert alias_result.errors and "aliases found" in alias_result.errors[0].message
        token_result = await schema.execute(tokens)
        assert token_result.errors and "token" in token_result.errors[0].message.lower()
    # Once a query within the limits is known, another schema with tighter limits still
    # validates it: each schema has its own cache.
    ok = "{ a: __typename b: __typename }"
    assert (await schema.execute(ok)).errors is None
    tighter = build_schema(replace(settings, max_query_aliases=1))
    refused = await tighter.execute(ok)
    assert refused.errors and "aliases found" in refused.errors[0].message


async def test_introspection_stays_off(settings: Settings) -> None:
    schema = build_schema(replace(settings, introspection=False))
    for _ in range(2):
        result = await schema.execute("{ __schema { types { name } } }")
        assert result.errors and "introspection" in result.errors[0].message.lower()


def test_the_cache_is_bounded() -> None:
    cache = DocumentCache(max_entries=2, max_text=30)
    for query in ("{ a }", "{ b }", "{ c }"):
        cache.put(query, parse(query))
    assert len(cache) == 2 and cache.get("{ a }") is None and cache.get("{ c }") is not None
    cache.put("{ " + "x " * 20 + "}", parse("{ " + "x " * 20 + "}"))  # 43 characters: not kept
    assert len(cache) == 2
    cache.put("{ dd dd dd dd dd dd dd dd }", parse("{ dd dd dd dd dd dd dd dd }"))
    assert len(cache) == 1  # the text bound evicted the older entries
