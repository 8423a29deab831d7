"""Filter translation evaluated by the real PostgreSQL: every operator, every JSON type, missing keys."""

from __future__ import annotations

import json

import pytest

from vector_store_api.backends.postgres.filters import filter_sql
from vector_store_api.models.search import SearchRequest

ROWS = {
    "a": {"team": "hr", "year": 2024, "score": 0.5, "public": True},
    "b": {"team": "eng", "year": 2019, "score": 1.5, "public": False},
    "c": {"team": "hr", "year": "2024"},  # year as a string: type mismatches never match
    "d": {},  # every key missing
    "e": None,  # no attributes at all
}


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


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"type": "eq", "key": "team", "value": "hr"}, {"a", "c"}),
        ({"type": "ne", "key": "team", "value": "hr"}, {"b", "d", "e"}),  # missing key matches ne
        ({"type": "eq", "key": "year", "value": 2024}, {"a"}),  # "2024" (string) does not
        ({"type": "eq", "key": "year", "value": 2024.0}, {"a"}),  # numbers compare numerically
        ({"type": "eq", "key": "year", "value": "2024"}, {"c"}),
        ({"type": "gt", "key": "year", "value": 2020}, {"a"}),
        ({"type": "gte", "key": "year", "value": 2019}, {"a", "b"}),
        ({"type": "lt", "key": "score", "value": 1}, {"a"}),
        ({"type": "lte", "key": "score", "value": 1.5}, {"a", "b"}),
        ({"type": "gt", "key": "team", "value": "eng"}, {"a", "c"}),  # strings: lexicographic
        ({"type": "eq", "key": "public", "value": True}, {"a"}),
        ({"type": "ne", "key": "public", "value": True}, {"b", "c", "d", "e"}),
        ({"type": "lt", "key": "public", "value": True}, {"b"}),  # false < true
        ({"type": "in", "key": "team", "value": ["eng", "ops"]}, {"b"}),
        ({"type": "in", "key": "year", "value": [2019, "2024"]}, {"b", "c"}),
        ({"type": "nin", "key": "team", "value": ["hr"]}, {"b", "d", "e"}),  # missing key matches nin
        ({"type": "gt", "key": "missing", "value": 0}, set()),
        (
            {
                "type": "and",
                "filters": [
                    {"type": "eq", "key": "team", "value": "hr"},
                    {"type": "or", "filters": [{"type": "eq", "key": "public", "value": True}, {"type": "eq", "key": "year", "value": "2024"}]},
                ],
            },
            {"a", "c"},
        ),
        ({"type": "or", "filters": [{"type": "lt", "key": "year", "value": 2020}, {"type": "nin", "key": "team", "value": ["hr", "eng"]}]}, {"b", "d", "e"}),
    ],
)
def test_operator_semantics(database, raw, expected):
    assert matching(database, raw) == expected


def test_keys_with_sql_characters_are_bound_not_interpolated(database):
    assert matching(database, {"type": "eq", "key": "team') OR true --", "value": "x"}) == set()
    assert matching(database, {"type": "ne", "key": "a\"b'c", "value": "x"}) == set(ROWS)
