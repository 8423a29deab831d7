"""OpenAI attribute filters -> OpenSearch query DSL, over attributes stored as a typed `nested` list.

Why a nested list and not one field per attribute key: every distinct key would become a field in
the mapping of the shared index (thousands of tenants, each with its own keys -> a mapping
explosion, hitting `index.mapping.total_fields.limit` and bloating the cluster state), and a key
used as a string in one file and a number in another would be rejected by the first mapping that
won. Instead each chunk carries `attrs: [{key, s|n|b+bn}, ...]` under a `dynamic: strict` mapping:

    key  keyword   the attribute name
    s    keyword   string values (exact, range = lexicographic by UTF-8 bytes)
    n    double    numbers (2024 == 2024.0; ranges numeric)
    b    boolean   booleans (equality)
    bn   byte      booleans as 0/1, so that ranges order false < true

Each value lands in the field of its JSON type only, which gives the same semantics as the jsonb
filters of the pgvector backend (see ../pgvector/filters.py):
- `eq`/`ne` compare value AND type ("5" != 5: a string never matches the `n` field).
- `gt`/`gte`/`lt`/`lte` only match attributes of the value's JSON type.
- `in`/`nin` test membership, type-aware like `eq`.
- A missing key matches nothing, except `ne` and `nin` (which are `must_not` of the positive test).
`nested` queries make the key and the value match within the same attribute entry. Keys and values
travel as JSON values in term/range queries; nothing is parsed as query syntax.

Known difference: numbers are indexed as doubles, so integers beyond 2**53 compare with double
precision (PostgreSQL's jsonb numeric is exact).
"""

from __future__ import annotations

from typing import Any

from ...models.search import ComparisonFilter, CompoundFilter

ATTRS = "attrs"
MATCH_ALL: dict[str, Any] = {"match_all": {}}
MATCH_NONE: dict[str, Any] = {"match_none": {}}


def _value_field(value: Any) -> tuple[str, Any] | None:
    """The typed sub-field holding `value` and the value as indexed there."""
    if isinstance(value, bool):
        return "b", value
    if isinstance(value, (int, float)):
        try:
            return "n", float(value)
        except OverflowError:  # an int too large for a double cannot be indexed or compared
            return None
    if isinstance(value, str):
        return "s", value
    return None  # null, lists, objects: only the key is recorded


def attribute_entries(attributes: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The nested `attrs` entries for a chunk's attributes."""
    entries: list[dict[str, Any]] = []
    for key, value in (attributes or {}).items():
        entry: dict[str, Any] = {"key": key}
        typed = _value_field(value)
        if typed is not None:
            field, indexed = typed
            entry[field] = indexed
            if field == "b":
                entry["bn"] = 1 if indexed else 0
        entries.append(entry)
    return entries


def _has(key: str, condition: dict[str, Any]) -> dict[str, Any]:
    """Some attribute entry has this key and satisfies `condition`."""
    return {
        "nested": {
            "path": ATTRS,
            "query": {"bool": {"filter": [{"term": {f"{ATTRS}.key": key}}, condition]}},
        }
    }


def _not(query: dict[str, Any]) -> dict[str, Any]:
    return {"bool": {"must_not": [query]}}


def _equals(key: str, value: Any) -> dict[str, Any]:
    typed = _value_field(value)
    if typed is None:
        return MATCH_NONE
    field, indexed = typed
    return _has(key, {"term": {f"{ATTRS}.{field}": indexed}})


def _member(key: str, values: list[Any]) -> dict[str, Any]:
    by_field: dict[str, list[Any]] = {}
    for value in values:
        typed = _value_field(value)
        if typed is not None:
            by_field.setdefault(typed[0], []).append(typed[1])
    if not by_field:
        return MATCH_NONE
    should = [{"terms": {f"{ATTRS}.{field}": vals}} for field, vals in by_field.items()]
    return _has(key, {"bool": {"should": should, "minimum_should_match": 1}})


def _range(key: str, op: str, value: Any) -> dict[str, Any]:
    typed = _value_field(value)
    if typed is None:
        return MATCH_NONE
    field, indexed = typed
    if field == "b":
        field, indexed = "bn", 1 if indexed else 0
    return _has(key, {"range": {f"{ATTRS}.{field}": {op: indexed}}})


def filter_query(node: ComparisonFilter | CompoundFilter) -> dict[str, Any]:
    """The OpenSearch query (filter context) selecting chunks whose attributes satisfy `node`."""
    if isinstance(node, CompoundFilter):
        children = [filter_query(child) for child in node.filters]
        if node.type == "and":
            return {"bool": {"filter": children}}
        return {"bool": {"should": children, "minimum_should_match": 1}}

    key, value = node.key, node.value
    if node.type == "eq":
        return _equals(key, value)
    if node.type == "ne":
        return _not(_equals(key, value))
    if node.type == "in":
        return _member(key, list(value))  # type: ignore[arg-type]
    if node.type == "nin":
        return _not(_member(key, list(value)))  # type: ignore[arg-type]
    if node.type in ("gt", "gte", "lt", "lte"):
        return _range(key, node.type, value)
    raise ValueError(f"unsupported filter type {node.type!r}")
