"""List values made of database rows, for lists of hundreds of objects.

A strawberry object per list item costs a dataclass ``__init__`` per object (two for a member
and its user), then its completion reads each object back field by field. A resolver may
instead return a :class:`RowList`: the rows as the database returned them, how each column
converts (`seatbill.prepared.Converters`), and a :class:`RowLayout`, how the item type's fields
read from one row.

- As a sequence it makes its objects one by one with ``layout.make``: graphql-core, and
  anything else that iterates it, sees the strawberry objects it always saw.
- The compiled executor (seatbill.schema.executor) reads the selected fields straight from
  the rows when the layout has every one of them, and builds the answer without making any
  object. A selection with another field (one with a resolver) takes the objects.

A layout must say what ``make`` makes: tests/test_executor.py checks the member layout's
fields against its objects, and compares the answers of both executors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from seatbill.prepared import Converters

T = TypeVar("T")
Row = Mapping[str, Any]


@dataclass(frozen=True, eq=False)
class Column:
    """A field whose value is the row's column ``name``, converted as its query converts it
    (the Converters), then by ``then`` if given (``str`` for an ID)."""

    name: str
    then: Callable[[Any], Any] | None = None

    def read(self, row: Row, convert: Converters) -> Any:
        value = convert[self.name](row[self.name])
        return value if self.then is None else self.then(value)


@dataclass(frozen=True, eq=False)
class RowLayout(Generic[T]):
    """How a strawberry type's object reads from one row: ``make`` makes it, ``fields`` (by
    Python field name) says how each field the row holds reads, a Column or the layout of a
    nested object made from the same row (never null)."""

    make: Callable[[Row, Converters], T]
    fields: Mapping[str, Column | RowLayout[Any]]


class RowList(Sequence[T]):
    """Rows that are a list of ``layout``'s objects (made when asked for)."""

    __slots__ = ("convert", "layout", "rows")

    def __init__(self, rows: Sequence[Row], convert: Converters, layout: RowLayout[T]) -> None:
        self.rows = rows
        self.convert = convert
        self.layout = layout

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        make, convert = self.layout.make, self.convert
        if isinstance(index, slice):
            return [make(row, convert) for row in self.rows[index]]
        return make(self.rows[index], convert)

    def __iter__(self) -> Iterator[T]:
        make, convert = self.layout.make, self.convert
        return (make(row, convert) for row in self.rows)
