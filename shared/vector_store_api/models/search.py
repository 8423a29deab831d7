"""Search request and results page, including the filter grammar."""

from __future__ import annotations

import math
from typing import Annotated, Literal, Union

from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    model_validator,
)

from .common import RequestModel, ResponseModel
from .vector_stores import FileContent

Scalar = Union[StrictStr, StrictBool, StrictInt, StrictFloat]
ComparisonType = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]
LIST_OPERATORS = frozenset({"in", "nin"})
MAX_NUM_RESULTS = 50
# Bounds on what one search can make the server do (README, "Limits"). A query is embedded whole
# and a model reads at most a few hundred tokens of it (8,192 for OpenAI's), so 4,096 characters
# (about 1,000 tokens) loses nothing; a list of queries is for a few rephrasings, each one a full
# search. A filter is compiled into one SQL or OpenSearch query: depth and size bound its cost.
MAX_QUERY_CHARS = 4096
MAX_QUERIES = 10
MAX_FILTER_DEPTH = 8
MAX_FILTER_COMPARISONS = 64
MAX_FILTER_VALUES = 1000

Query = Annotated[StrictStr, Field(max_length=MAX_QUERY_CHARS)]


class ComparisonFilter(RequestModel):
    type: ComparisonType
    key: StrictStr = Field(min_length=1, max_length=64)
    value: Union[Scalar, Annotated[list[Union[StrictStr, StrictInt, StrictFloat]], Field(max_length=MAX_FILTER_VALUES)]]

    @model_validator(mode="after")
    def _value_matches_operator(self) -> "ComparisonFilter":
        if self.type in LIST_OPERATORS and not isinstance(self.value, list):
            raise ValueError(f"filter type '{self.type}' requires an array value")
        if self.type not in LIST_OPERATORS and isinstance(self.value, list):
            raise ValueError(f"filter type '{self.type}' requires a string, number or boolean value")
        values = self.value if isinstance(self.value, list) else [self.value]
        if any(isinstance(v, float) and not math.isfinite(v) for v in values):  # jsonb cannot hold NaN/Infinity
            raise ValueError("filter value must be a finite number")
        return self


def _filter_kind(value: object) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return "compound" if kind in ("and", "or") else "comparison"


# `type` decides the shape, so an unknown type reads as an invalid comparison type.
Filter = Annotated[
    Union[Annotated[ComparisonFilter, Tag("comparison")], Annotated["CompoundFilter", Tag("compound")]],
    Discriminator(_filter_kind),
]


class CompoundFilter(RequestModel):
    type: Literal["and", "or"]
    filters: list[Filter] = Field(min_length=1)


CompoundFilter.model_rebuild()


def _filter_shape(node: ComparisonFilter | CompoundFilter, depth: int = 1) -> tuple[int, int]:
    """(depth, number of comparisons) of a filter tree."""
    if isinstance(node, ComparisonFilter):
        return depth, 1
    shapes = [_filter_shape(child, depth + 1) for child in node.filters]
    return max(d for d, _ in shapes), sum(n for _, n in shapes)


def _bounded(node: ComparisonFilter | CompoundFilter) -> ComparisonFilter | CompoundFilter:
    depth, comparisons = _filter_shape(node)
    if depth > MAX_FILTER_DEPTH:
        raise ValueError(f"filters are nested {depth} levels deep; at most {MAX_FILTER_DEPTH} levels are allowed")
    if comparisons > MAX_FILTER_COMPARISONS:
        raise ValueError(f"filters hold {comparisons} comparisons; at most {MAX_FILTER_COMPARISONS} are allowed")
    return node


# What a request takes: the filter grammar within its bounds.
Filters = Annotated[Filter, AfterValidator(_bounded)]


SearchMode = Literal["vector", "keyword", "hybrid"]


class HybridSearchOptions(RequestModel):
    """Weights of the two lists in the reciprocal-rank fusion (the Responses `file_search` tool's)."""

    embedding_weight: float = Field(ge=0.0, allow_inf_nan=False, strict=True)
    text_weight: float = Field(ge=0.0, allow_inf_nan=False, strict=True)

    @model_validator(mode="after")
    def _some_weight(self) -> "HybridSearchOptions":
        if self.embedding_weight + self.text_weight <= 0:
            raise ValueError("embedding_weight and text_weight cannot both be 0")
        return self


class RankingOptions(RequestModel):
    ranker: Literal["none", "auto", "default-2024-11-15"] = "auto"
    score_threshold: float = Field(default=0.0, ge=0.0, le=1.0)
    hybrid_search: HybridSearchOptions | None = None


class SearchRequest(RequestModel):
    query: Union[Query, Annotated[list[Query], Field(max_length=MAX_QUERIES)]]
    filters: Filters | None = None
    max_num_results: int = Field(default=10, ge=1, le=MAX_NUM_RESULTS)
    ranking_options: RankingOptions | None = None
    rewrite_query: bool = False
    # Not in OpenAI's schema (clients send it with `extra_body`, as for OGX): which lists rank.
    search_mode: SearchMode | None = None

    @model_validator(mode="after")
    def _non_empty_query(self) -> "SearchRequest":
        queries = [self.query] if isinstance(self.query, str) else self.query
        if not queries or not any(q.strip() for q in queries):
            raise ValueError("query must be a non-empty string or a non-empty list of strings")
        return self

    @model_validator(mode="after")
    def _ranker_none_is_vector_search(self) -> "SearchRequest":
        if self.ranking_options and self.ranking_options.ranker == "none" and self.search_mode not in (None, "vector"):
            raise ValueError(
                f"ranker 'none' is a vector search; it cannot be combined with search_mode '{self.search_mode}'"
            )
        return self

    def mode(self) -> SearchMode:
        """`search_mode`, else `hybrid`; `ranker: none` (no fusion) means `vector`."""
        if self.search_mode is not None:
            return self.search_mode
        return "vector" if self.ranking_options and self.ranking_options.ranker == "none" else "hybrid"

    def queries(self) -> list[str]:
        items = [self.query] if isinstance(self.query, str) else self.query
        return [q for q in items if q.strip()]


class SearchResult(ResponseModel):
    file_id: str
    filename: str
    score: float
    attributes: dict[str, str | bool | int | float] | None
    content: list[FileContent]


class SearchResultsPage(ResponseModel):
    object: Literal["vector_store.search_results.page"] = "vector_store.search_results.page"
    search_query: list[str]
    data: list[SearchResult]
    has_more: bool = False
    next_page: str | None = None
