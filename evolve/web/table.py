"""The program table's query string: filters, sorting and paging, parsed and written back.

A filter left empty in the form arrives as an empty string and means "any"; a value that
is not a number where one is needed is a 400 with the field named, not a silent "any".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from evolve.database.queries import TABLE_COLUMNS, ProgramFilter

PAGE_SIZE = 100
NUMBERS = {"island": int, "min_score": float, "max_score": float, "min_generation": int, "max_generation": int}
TEXTS = ("origin", "model", "error")


class BadTableQuery(ValueError):
    """A table filter that cannot be read (the message names the field)."""


@dataclass
class TableQuery:
    filter: ProgramFilter = field(default_factory=ProgramFilter)
    sort: str = "id"
    descending: bool = False
    page: int = 1

    def params(self, **changes: Any) -> dict[str, Any]:
        """The query string of this view, with ``changes`` applied (for links)."""
        f = self.filter
        values: dict[str, Any] = {name: getattr(f, name) for name in (*NUMBERS, *TEXTS)}
        values.update(status=list(f.statuses), sort=self.sort, order="desc" if self.descending else "asc",
                      page=self.page)
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "", [])}

    def link(self, **changes: Any) -> str:
        return "?" + urlencode(self.params(**changes), doseq=True)

    def sort_link(self, column: str) -> str:
        """Sorting by a column; a second click on the sorted column reverses it."""
        descending = not self.descending if column == self.sort else column in ("score", "test_score")
        return self.link(sort=column, order="desc" if descending else "asc", page=1)


def parse_table_query(params: Any) -> TableQuery:
    values: dict[str, Any] = {}
    for name, kind in NUMBERS.items():
        raw = (params.get(name) or "").strip()
        if raw:
            try:
                values[name] = kind(raw)
            except ValueError:
                raise BadTableQuery(f"{name} must be a number, got {raw!r}") from None
    for name in TEXTS:
        raw = (params.get(name) or "").strip()
        values[name] = raw or None
    statuses = tuple(s for s in params.getlist("status") if s)
    sort = params.get("sort") or "id"
    if sort not in TABLE_COLUMNS:
        raise BadTableQuery(f"cannot sort by {sort!r}; use one of {', '.join(TABLE_COLUMNS)}")
    page = params.get("page") or "1"
    if not page.isdigit() or int(page) < 1:
        raise BadTableQuery(f"page must be a positive whole number, got {page!r}")
    return TableQuery(ProgramFilter(statuses=statuses, **values), sort, params.get("order") == "desc", int(page))

