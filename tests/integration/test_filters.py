"""Filter SQL evaluated by the real PostgreSQL (every operator is in test_backend_contract.py): keys and
values are bound parameters, never SQL."""

from __future__ import annotations

import json

from test_backend_contract import ROWS

from vector_store_api.models.search import SearchRequest
from vector_store_api.vector_index.pgvector.filters import filter_sql


def matching(database, raw_filter: dict) -> set[str]:
    node = SearchRequest.model_validate({"query": "q", "filters": raw_filter}).filters
    sql, params = filter_sql(node)
    values = ", ".join(["(%s, %s::jsonb)"] * len(ROWS))
    args: list = []
    for name, attrs in ROWS.items():
        args += [name, None if attrs is None else json.dumps(attrs)]
    with database.connection() as conn:
        rows = conn.execute(
            f"SELECT name FROM (VALUES {values}) AS t(name, attributes) WHERE {sql}", [*args, *params]
        ).fetchall()
    return {r["name"] for r in rows}


def test_keys_with_sql_characters_are_bound_not_interpolated(database):
    assert matching(database, {"type": "eq", "key": "team') OR true --", "value": "x"}) == set()
    assert matching(database, {"type": "ne", "key": "a\"b'c", "value": "x"}) == set(ROWS)
