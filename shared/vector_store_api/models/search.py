"""Search request and results page, including the filter grammar."""

from __future__ import annotations

import math
from typing import Annotated, Literal, Union

from pydantic import Discriminator, Field, StrictBool, StrictFloat, StrictInt, StrictStr, Tag, model_validator

from .common import RequestModel, ResponseModel
from .vector_stores import FileContent

Scalar = Union[StrictStr, StrictBool, StrictInt, StrictFloat]
ComparisonType = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]
LIST_OPERATORS = frozenset({"in", "nin"})


class ComparisonFilter(RequestModel):
    type: ComparisonType
    key: StrictStr = Field(min_length=1, max_length=64)
    value: Union[Scalar, list[Union[StrictStr, StrictInt, StrictFloat]]]

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


class RankingOptions(RequestModel):
    ranker: Literal["none", "auto", "default-2024-11-15"] = "auto"
    score_threshold: float = Field(default=0.0, ge=0.0, le=1.0)


class SearchRequest(RequestModel):
    query: Union[StrictStr, list[StrictStr]]
    filters: Filter | None = None
    max_num_results: int = Field(default=10, ge=1, le=50)
    ranking_options: RankingOptions | None = None
    rewrite_query: bool = False

    @model_validator(mode="after")
    def _non_empty_query(self) -> "SearchRequest":
        queries = [self.query] if isinstance(self.query, str) else self.query
        if not queries or not any(q.strip() for q in queries):
            raise ValueError("query must be a non-empty string or a non-empty list of strings")
        return self

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
