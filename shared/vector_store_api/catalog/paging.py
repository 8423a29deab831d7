"""Keyset pagination (OpenAI's `after`/`before` cursors) shared by every list query."""

from __future__ import annotations

from typing import Any

from ..models.common import Order, PageRequest

__all__ = ["Order", "PageRequest", "Row", "keyset", "trim_page"]

Row = dict[str, Any]


def trim_page(rows: list[Row], limit: int, reverse: bool) -> tuple[list[Row], bool]:
    """The page out of `limit + 1` fetched rows, in list order, and whether more follow."""
    has_more = len(rows) > limit
    rows = rows[:limit]
    if reverse:
        rows.reverse()
    return rows, has_more


def keyset(
    column: str, order: Order, after: Any | None, before: Any | None
) -> tuple[str, list[Any], str, bool]:
    """WHERE fragment, its params, ORDER BY and whether to reverse the fetched rows.

    `after` continues the list past the cursor; `before` returns the items immediately
    preceding it, in the list's own order (so it is fetched backwards and reversed).
    """
    older, newer = ("<", ">") if order == "desc" else (">", "<")
    clauses, params = [], []
    if after is not None:
        clauses.append(f"{column} {older} %s")
        params.append(after)
    if before is not None:
        clauses.append(f"{column} {newer} %s")
        params.append(before)
    forward = "DESC" if order == "desc" else "ASC"
    backward = "ASC" if order == "desc" else "DESC"
    reverse = before is not None and after is None
    direction = backward if reverse else forward
    where = (" AND " + " AND ".join(clauses)) if clauses else ""
    return where, params, f"ORDER BY {column} {direction}", reverse
