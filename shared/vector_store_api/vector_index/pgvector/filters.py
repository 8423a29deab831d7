"""OpenAI attribute filters -> a SQL condition on the `attributes` jsonb column, with bound parameters.

Semantics (same on every backend):
- `eq`/`ne` compare value and type (jsonb equality: "5" != 5); numbers compare numerically.
- `gt`/`gte`/`lt`/`lte` match only when the attribute has the same JSON type as the value
  (numbers numerically, strings lexicographically, booleans false < true).
- `in`/`nin` test membership in the list (type-aware, like `eq`).
- A missing key matches nothing, except `ne` and `nin`, which it matches.
Keys and values are always bound parameters; no SQL is built from user strings.
"""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from ...models.search import ComparisonFilter, CompoundFilter

_RANGE_SQL = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string"


def filter_sql(node: ComparisonFilter | CompoundFilter, column: str = "attributes") -> tuple[str, list[Any]]:
    if isinstance(node, CompoundFilter):
        parts, params = [], []
        for child in node.filters:
            sql, child_params = filter_sql(child, column)
            parts.append(f"({sql})")
            params.extend(child_params)
        joiner = " AND " if node.type == "and" else " OR "
        return joiner.join(parts), params

    attr = f"({column} -> %s)"
    key = node.key
    if node.type == "eq":
        # The containment test says the same for a scalar value (jsonb equality) and lets the
        # planner use the GIN index on attributes (migration 5) for selective filters.
        return f"(coalesce({attr} = %s, false) AND {column} @> %s)", [key, Jsonb(node.value), Jsonb({key: node.value})]
    if node.type == "ne":
        return f"coalesce({attr} <> %s, true)", [key, Jsonb(node.value)]
    if node.type in ("in", "nin"):
        values = [Jsonb(v) for v in node.value]  # type: ignore[union-attr]
        member = f"coalesce({attr} = ANY(%s::jsonb[]), false)"
        return (member if node.type == "in" else f"NOT {member}"), [key, values]
    op = _RANGE_SQL[node.type]
    return (
        f"coalesce(jsonb_typeof({attr}) = %s AND {attr} {op} %s, false)",
        [key, _json_type(node.value), key, Jsonb(node.value)],
    )
