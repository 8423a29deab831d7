"""Request validation limits and response shapes (checked against the SDK's own types in strict mode)."""

from __future__ import annotations

import pytest
from openai._models import validate_type
from openai.types import FileObject as SDKFileObject
from openai.types import VectorStore as SDKVectorStore
from openai.types.vector_stores import VectorStoreFile as SDKVectorStoreFile
from openai.types.vector_stores import VectorStoreFileBatch as SDKBatch
from pydantic import ValidationError

from vector_store_api.api.errors import from_validation_error
from vector_store_api.models.common import FileCounts, resolve_chunking
from vector_store_api.models.files import FileObject
from vector_store_api.models.search import SearchRequest
from vector_store_api.models.vector_stores import (
    CreateFileBatchRequest,
    CreateVectorStoreFileRequest,
    CreateVectorStoreRequest,
    LastError,
    VectorStore,
    VectorStoreFile,
    VectorStoreFileBatch,
)


def error_of(model, body: dict):
    with pytest.raises(ValidationError) as info:
        model.model_validate(body)
    return from_validation_error(info.value)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"metadata": {str(i): "v" for i in range(17)}}, "metadata"),
        ({"metadata": {"k" * 65: "v"}}, "metadata"),
        ({"metadata": {"k": "v" * 513}}, "metadata"),
        ({"metadata": {"k": 1}}, "metadata.k"),
        ({"name": 5}, "name"),
        ({"expires_after": {"anchor": "last_active_at", "days": 0}}, "expires_after.days"),
        ({"expires_after": {"anchor": "last_active_at", "days": 366}}, "expires_after.days"),
        ({"expires_after": {"anchor": "created_at", "days": 1}}, "expires_after.anchor"),
        ({"file_ids": ["file-x"] * 501}, "file_ids"),
        ({"chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 99, "chunk_overlap_tokens": 0}}},
         "chunking_strategy.static.max_chunk_size_tokens"),
        ({"chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 4097, "chunk_overlap_tokens": 0}}},
         "chunking_strategy.static.max_chunk_size_tokens"),
        ({"chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 101}}},
         "chunking_strategy.static"),
        ({"chunking_strategy": {"type": "fixed"}}, "chunking_strategy"),
        ({"foo": 1}, "foo"),
    ],
)
def test_vector_store_create_limits(body, param):
    error = error_of(CreateVectorStoreRequest, body)
    assert error.status_code == 400
    assert error.param == param
    assert error.body()["error"]["type"] == "invalid_request_error"


def test_unknown_field_message_and_extension_fields_accepted():
    error = error_of(CreateVectorStoreRequest, {"foo": 1})
    assert error.message == "Unrecognized request argument supplied: foo"
    request = CreateVectorStoreRequest.model_validate(
        {"embedding_model": "hash-v1", "embedding_dimension": 64, "provider_id": "pgvector"}
    )
    assert request.embedding_dimension == 64


@pytest.mark.parametrize(
    "attributes",
    [
        {str(i): 1 for i in range(17)},
        {"k" * 65: 1},
        {"k": "v" * 513},
        {"k": [1, 2]},
        {"k": {"nested": 1}},
        {"k": None},
    ],
)
def test_attribute_limits(attributes):
    assert error_of(CreateVectorStoreFileRequest, {"file_id": "file-1", "attributes": attributes}).status_code == 400


def test_attribute_values_keep_their_types():
    request = CreateVectorStoreFileRequest.model_validate(
        {"file_id": "file-1", "attributes": {"s": "x", "i": 3, "f": 1.5, "b": True}}
    )
    assert request.attributes == {"s": "x", "i": 3, "f": 1.5, "b": True}
    assert type(request.attributes["b"]) is bool and type(request.attributes["i"]) is int


def test_missing_required_parameter_message():
    error = error_of(CreateVectorStoreFileRequest, {})
    assert error.message == "Missing required parameter: 'file_id'."
    assert error.param == "file_id"


@pytest.mark.parametrize(
    "body",
    [{}, {"file_ids": []}, {"file_ids": ["file-a"], "files": [{"file_id": "file-a"}]}, {"file_ids": ["f"] * 2001}],
)
def test_batch_request_needs_exactly_one_non_empty_source(body):
    assert error_of(CreateFileBatchRequest, body).status_code == 400


def test_batch_entries_apply_top_level_values_only_to_file_ids():
    by_ids = CreateFileBatchRequest.model_validate({"file_ids": ["file-a", "file-b"], "attributes": {"x": 1}})
    assert [(e.file_id, e.attributes) for e in by_ids.entries()] == [("file-a", {"x": 1}), ("file-b", {"x": 1})]
    per_file = CreateFileBatchRequest.model_validate(
        {"files": [{"file_id": "file-a", "attributes": {"y": 2}}], "attributes": {"x": 1}}
    )
    assert [(e.file_id, e.attributes) for e in per_file.entries()] == [("file-a", {"y": 2})]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"query": "q", "max_num_results": 0}, "max_num_results"),
        ({"query": "q", "max_num_results": 51}, "max_num_results"),
        ({"query": "q", "ranking_options": {"score_threshold": 1.5}}, "ranking_options.score_threshold"),
        ({"query": "q", "ranking_options": {"score_threshold": -0.1}}, "ranking_options.score_threshold"),
        ({"query": "q", "ranking_options": {"ranker": "fancy"}}, "ranking_options.ranker"),
        ({"query": "q", "filters": {"type": "xor", "key": "a", "value": 1}}, "filters.type"),
        ({"query": "q", "filters": {"type": "in", "key": "a", "value": "x"}}, "filters"),
        ({"query": "q", "filters": {"type": "eq", "key": "a", "value": [1]}}, "filters"),
        ({"query": "q", "filters": {"type": "eq", "value": 1}}, "filters.key"),
        ({"query": "q", "filters": {"type": "and", "filters": [{"type": "nope", "key": "a", "value": 1}]}},
         "filters.filters[0].type"),
        ({"query": ""}, None),
        ({"query": []}, None),
    ],
)
def test_search_request_limits(body, param):
    error = error_of(SearchRequest, body)
    assert error.status_code == 400
    if param is not None:
        assert error.param == param


def test_auto_chunking_is_reported_as_static_800_400():
    assert resolve_chunking(None).model_dump() == {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}


def test_response_models_pass_the_sdk_strict_validation():
    counts = FileCounts(in_progress=1, total=1)
    store = VectorStore(
        id="vs_1", created_at=1, name="", usage_bytes=0, file_counts=counts, status="in_progress",
        last_active_at=1, metadata=None,
    )
    vs_file = VectorStoreFile(
        id="file-1", created_at=1, vector_store_id="vs_1", status="failed", usage_bytes=0,
        last_error=LastError(code="invalid_file", message="bad"), attributes={"a": 1, "b": True},
        chunking_strategy={"type": "static", "static": resolve_chunking(None)},
    )
    batch = VectorStoreFileBatch(id="vsfb_1", created_at=1, vector_store_id="vs_1", status="cancelled", file_counts=counts)
    file = FileObject(id="file-1", bytes=3, created_at=1, filename="a.txt", purpose="assistants")
    for ours, theirs in ((store, SDKVectorStore), (vs_file, SDKVectorStoreFile), (batch, SDKBatch), (file, SDKFileObject)):
        validated = validate_type(type_=theirs, value=ours.model_dump(mode="json"))
        assert validated.id == ours.id
    assert batch.object == "vector_store.files_batch"


def test_last_error_codes_are_only_openais():
    with pytest.raises(ValidationError):
        LastError(code="parsing_error", message="x")
