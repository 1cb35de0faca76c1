"""Read queries whose SQL Tortoise builds once per shape instead of on every call.

Tortoise builds a query's SQL (pypika) anew each time it is awaited: for the member list that
was about three quarters of the query's cost in this process (~0.4 ms of 0.55 ms for 50 rows
on PostgreSQL). A :class:`PreparedValues` asks Tortoise for the SQL of its `.values()` query
once per shape (the database dialect and the length of each list argument), with stand-in
argument values, then reuses that SQL with the real values: the same SQL, the same parameters
and the same row conversion as `.values()`, so the results are the same on SQLite and
PostgreSQL (tests/test_prepared.py compares them). Arguments are UUIDs, strings, or lists of
them, compared with UUID or text columns (not enum columns: the stand-ins are not members);
no argument may be None.

On PostgreSQL the rows come straight from the asyncpg pool of Tortoise's client, and models
are made as `Model._init_from_db` makes them, with quicker conversions of UUIDs, enums and UTC
datetimes (see _records, _quick and _model_maker).

This reads Tortoise internals (`_make_query`, `_fields_for_select`, `resolve_to_python_value`,
`query.get_parameterized_sql`, the client's `_pool`, the model metadata's field lists and
`_init_from_db`'s flags), checked against tortoise-orm 1.1 by the tests.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import types
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import asyncpg
from tortoise import timezone
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.fields.data import CharEnumFieldInstance, DatetimeField, UUIDField

# Longer lists are compiled each time (a batch this large is rare, and the SQL is long).
MAX_CACHED_ITEMS = 100

# (argument index, item index in a list argument or None, pass as str) or ("const", value).
_Source = tuple[int, int | None, bool]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    sources: tuple[_Source | tuple[str, Any], ...]
    converters: tuple[tuple[str, Callable[[Any], Any]], ...]

    @cached_property
    def convert(self) -> Converters:
        """The converters by alias, one object per compiled query (callers may key on it)."""
        return Converters(dict(self.converters))


def _stand_in(value: object) -> object:
    if isinstance(value, uuid.UUID):
        return uuid.uuid4()
    if isinstance(value, str):
        return "~" + uuid.uuid4().hex[:9]  # short: fields check their max_length
    raise TypeError(f"PreparedValues takes UUIDs, strings or lists of them, not {value!r}")


class _Prepared:
    """``build(*args)`` returns a query of ``model`` for those arguments; running this runs
    it with the SQL made for the first call of the same shape."""

    def __init__(self, model: Any, build: Callable[..., Any]) -> None:
        self._model = model
        self._build = build
        self._compiled: dict[tuple[object, ...], _Compiled] = {}

    def _compile(self, args: Sequence[object]) -> _Compiled:
        stand_ins: list[object] = []
        where: dict[str, tuple[int, int | None, bool]] = {}
        for index, arg in enumerate(args):
            if isinstance(arg, list | tuple):
                items = [_stand_in(item) for item in arg]
                stand_ins.append(items)
                for position, item in enumerate(items):
                    where[str(item)] = (index, position, isinstance(arg[position], str))
            else:
                item = _stand_in(arg)
                stand_ins.append(item)
                where[str(item)] = (index, None, isinstance(arg, str))
        query = self._build(*stand_ins)
        query._choose_db_if_not_chosen()
        query._make_query()
        sql, params = query.query.get_parameterized_sql()
        sources: list[_Source | tuple[str, Any]] = []
        for param in params:
            found = where.get(str(param))
            if found is None:
                sources.append(("const", param))
            else:
                arg_index, item_index, was_str = found
                sources.append((arg_index, item_index, isinstance(param, str) and not was_str))
        return _Compiled(sql, tuple(sources), self._converters(query))

    def _converters(self, query: Any) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
        return ()

    def _prepare(self, args: Sequence[Any]) -> tuple[Any, _Compiled, list[Any]]:
        db = self._model._meta.db  # the transaction's connection inside in_transaction()
        key = (
            db.capabilities.dialect,
            *(len(a) if isinstance(a, list | tuple) else -1 for a in args),
        )
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compile(args)
            if sum(n for n in key[1:] if isinstance(n, int) and n > 0) <= MAX_CACHED_ITEMS:
                self._compiled[key] = compiled  # bounded: one entry per list length up to this
        values: list[Any] = []
        for source in compiled.sources:
            if source[0] == "const":
                values.append(source[1])
                continue
            index, position, as_str = source  # type: ignore[misc]
            value = args[index] if position is None else args[index][position]
            values.append(str(value) if as_str else value)
        return db, compiled, values


# Tortoise's clients log every statement here at DEBUG; so does the direct path below (the
# tests count statements from this logger).
_statements = logging.getLogger("tortoise.db_client")


async def _records(db: Any, sql: str, values: list[Any]) -> Sequence[Any]:
    """The rows of a read: on PostgreSQL outside a transaction, through the pool's read
    pipeline (Tortoise's client adds a connection wrapper, a debug log call and an exception
    wrapper to every query, about a fifth of a small query's cost here), with Tortoise's
    exception translation; through Tortoise otherwise."""
    pool = db._pool if type(db) is AsyncpgDBClient else None
    if pool is None:
        _, rows = await db.execute_query(sql, values)
        return rows  # type: ignore[no-any-return]
    if _statements.isEnabledFor(logging.DEBUG):
        _statements.debug("%s: %s", sql, values)
    pipeline = _pipelines.get(db)
    if pipeline is None or pipeline.pool is not pool:  # first read, or the client reconnected
        pipeline = _pipelines[db] = _ReadPipeline(pool)
    try:
        return await pipeline.fetch(sql, values)
    except (asyncpg.SyntaxOrAccessError, asyncpg.exceptions.DataError) as exc:
        raise OperationalError(exc) from exc
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(exc) from exc


# Reads that one turn of the event loop issues, run one after another on one connection.
MAX_PIPELINED = 8
_Read = tuple[str, list[Any], "asyncio.Future[Sequence[Any]]"]


class _ReadPipeline:
    """Reads issued in the same turn of the event loop (the dataloaders of one request, and
    of every request in flight at the time) share one acquisition of a pooled connection and
    run one after another on it, MAX_PIPELINED at most. Acquiring and releasing a pooled
    connection (asyncpg's queue, a shielded task for the release, timeouts) cost more CPU
    than a small read itself; a read of a workspace made three. The connection is held only
    while its reads run, which wait on nothing else, so a request never holds one while it
    waits for another."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._waiting: list[_Read] = []
        self._running: set[asyncio.Task[None]] = set()  # the loop keeps only weak references

    def fetch(self, sql: str, values: list[Any]) -> asyncio.Future[Sequence[Any]]:
        loop = asyncio.get_running_loop()
        found: asyncio.Future[Sequence[Any]] = loop.create_future()
        if not self._waiting:
            loop.call_soon(self._start)  # after the callbacks this turn has queued
        self._waiting.append((sql, values, found))
        return found

    def _start(self) -> None:
        waiting, self._waiting = self._waiting, []
        for first in range(0, len(waiting), MAX_PIPELINED):
            task = asyncio.ensure_future(self._run(waiting[first : first + MAX_PIPELINED]))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _run(self, reads: list[_Read]) -> None:
        try:
            async with self.pool.acquire() as connection:
                for sql, values, found in reads:
                    if found.done():  # its request was cancelled
                        continue
                    try:
                        rows = await connection.fetch(sql, *values)
                    except Exception as exc:
                        if connection.is_closed():
                            raise  # the connection broke: so do the reads after this one
                        if not found.done():  # this read's own error
                            found.set_exception(exc)
                        continue
                    if not found.done():
                        found.set_result(rows)
        except Exception as exc:  # no connection, or it broke: every read still waiting
            for _, _, found in reads:
                if not found.done():
                    found.set_exception(exc)
        finally:  # cancelled (the loop is closing): so are they
            for _, _, found in reads:
                found.cancel()


# By Tortoise client: its pool's pipeline.
_pipelines: weakref.WeakKeyDictionary[AsyncpgDBClient, _ReadPipeline] = weakref.WeakKeyDictionary()


_MISSING = object()


def _quick(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert`` (a field's to_python_value), with the common cases of three field types
    done without Tortoise's per-value checks (the same results; the tests compare them):
    a UUID that already is one, an enum member by its value, and an aware datetime, which
    Tortoise moves into its time zone."""
    field = getattr(convert, "__self__", None)
    if isinstance(field, UUIDField):
        return lambda value: value if isinstance(value, uuid.UUID) else convert(value)
    if isinstance(field, CharEnumFieldInstance):
        members = field.enum_type._value2member_map_

        def member(value: Any) -> Any:
            found = members.get(value, _MISSING) if value.__class__ is str else _MISSING
            return convert(value) if found is _MISSING else found

        return member
    if isinstance(field, DatetimeField) and timezone.get_use_tz():
        zone = timezone.get_default_timezone()
        utc = datetime.UTC
        if timezone.get_timezone().upper() == "UTC":
            # asyncpg's timestamptz values are already UTC: the same instant Tortoise would
            # give, with datetime's own UTC instead of ZoneInfo("UTC") as the tzinfo.
            return lambda value: (
                value
                if value.__class__ is datetime.datetime and value.tzinfo is utc
                else convert(value)
            )

        def aware(value: Any) -> Any:
            if value.__class__ is datetime.datetime and value.tzinfo is utc:
                return value.astimezone(zone)
            return convert(value)

        return aware
    return convert


class PreparedValues(_Prepared):
    """A `.values()` query: its rows, converted as `.values()` converts them."""

    def _converters(self, query: Any) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
        return tuple(
            (alias, _quick(convert))
            for alias, convert in (
                (alias, query.resolve_to_python_value(query.model, field))
                for alias, field in query._fields_for_select.items()
            )
            if not isinstance(convert, types.LambdaType)
        )

    async def __call__(self, *args: Any) -> list[dict[str, Any]]:
        db, compiled, values = self._prepare(args)
        rows = [dict(record) for record in await _records(db, compiled.sql, values)]
        for row in rows:
            for alias, convert in compiled.converters:
                row[alias] = convert(row[alias])
        return rows

    async def records(self, *args: Any) -> tuple[Sequence[Mapping[str, Any]], Converters]:
        """The rows as the database returns them, and how `.values()` would convert each
        column: for a caller that reads a few columns of many rows and converts only those
        (asyncpg's records on PostgreSQL; making and converting dicts is most of the cost)."""
        db, compiled, values = self._prepare(args)
        return await _records(db, compiled.sql, values), compiled.convert


class Converters:
    """Column alias -> how `.values()` converts it (unchanged when it does not)."""

    def __init__(self, by_alias: dict[str, Callable[[Any], Any]]) -> None:
        self._by_alias = by_alias

    def __getitem__(self, alias: str) -> Callable[[Any], Any]:
        return self._by_alias.get(alias, _unchanged)

    def changes(self, alias: str) -> bool:
        """Whether the column's values are converted at all."""
        return alias in self._by_alias


def _unchanged(value: Any) -> Any:
    return value


class PreparedModels(_Prepared):
    """A plain model query (no select_related, prefetch or annotations): its model instances,
    made from the rows as Tortoise's own executor makes them."""

    def _converters(self, query: Any) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
        if query._select_related or query._prefetch_map or query._annotations:
            raise TypeError("PreparedModels takes plain queries")
        return ()

    _make: Callable[[Mapping[str, Any]], Any] | None = None

    async def __call__(self, *args: Any) -> list[Any]:
        db, compiled, values = self._prepare(args)
        make = self._make
        if make is None:  # once Tortoise is set up: its time zone settings apply
            make = self._make = _model_maker(self._model)
        return [make(row) for row in await _records(db, compiled.sql, values)]


def _model_maker(model: Any) -> Callable[[Mapping[str, Any]], Any]:
    """Tortoise's ``Model._init_from_db`` (tortoise-orm 1.1) for a row with every column,
    with the quick conversions above for its complex fields (UUIDs, datetimes, enums): a
    subscription has a dozen datetime columns, each converted through Tortoise's time zone
    settings (read from the environment every time)."""
    meta = model._meta
    native = tuple((key, attribute) for key, attribute, _ in meta.db_native_fields)
    default = tuple(
        (key, attribute, field.field_type) for key, attribute, field in meta.db_default_fields
    )
    complex_ = tuple(
        (key, attribute, _quick(field.to_python_value))
        for key, attribute, field in meta.db_complex_fields
    )
    custom_generated_pk = meta.db_pk_column not in meta.generated_db_fields
    new = model.__new__
    init_from_db = model._init_from_db
    set_attribute = object.__setattr__

    def make(row: Mapping[str, Any]) -> Any:
        try:
            instance = new(model)
            instance._partial = False
            instance._saved_in_db = True
            instance._custom_generated_pk = custom_generated_pk
            instance._await_when_save = {}
            for key, attribute in native:
                set_attribute(instance, attribute, row[key])
            for key, attribute, kind in default:
                value = row[key]
                set_attribute(instance, attribute, value if value is None else kind(value))
            for key, attribute, convert in complex_:
                set_attribute(instance, attribute, convert(row[key]))
        except KeyError:  # not every column: Tortoise's own way (partial models)
            return init_from_db(**row)
        return instance

    return make
