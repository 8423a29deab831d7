
"""ServerlessIndex, the Amazon OpenSearch Serverless path, against the local OpenSearch.

- The WHOLE backend contract suite (test_backend_contract.py) runs again here with the serverless
  index as the backend: its test functions are imported into this module, and this module's
  `backend` / `filter_store` fixtures build serverless-mode indexes.
- Every request those tests (and the ones below) send is recorded at the transport and checked for
  what a Serverless vector collection rejects: `refresh`, `routing`, `scroll`, *_by_query, custom
  `_id`s on index operations, scripts, shard/replica/algo index settings, `_routing` in the mapping.
- Serverless-specific behaviour: writes wait until visible (checked with a slow refresh interval),
  a write that never becomes visible fails with a clear error, reads pick one generation, duplicate
  documents (a client-retried bulk request) are cleaned up, paging survives ties, short k-NN
  answers are widened.

The local server is a cluster, not Serverless: it accepts everything; what it proves is that the
serverless path is correct using only the operations Serverless accepts.
"""

from __future__ import annotations

import importlib.util
import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
from test_opensearch_filters import ShortKnnClient

from vector_store_api.catalog import Catalog
from vector_store_api.models.search import ComparisonFilter
from vector_store_api.settings import Settings
from vector_store_api.vector_index.base import ChunkToIndex, StoreRef
from vector_store_api.vector_index.opensearch import serverless as index_module
from vector_store_api.vector_index.opensearch.client import OpenSearchIndexError, build_client
from vector_store_api.vector_index.opensearch.cluster import ClusterIndex
from vector_store_api.vector_index.opensearch.serverless import ServerlessIndex


def _load_contract():
    path = Path(__file__).with_name("test_backend_contract.py")
    spec = importlib.util.spec_from_file_location("_serverless_backend_contract", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


contract = _load_contract()
CONTRACT_TESTS = sorted(name for name in vars(contract) if name.startswith("test_"))
# The contract's test functions, collected again in this module (so they use the fixtures below).
globals().update({name: getattr(contract, name) for name in CONTRACT_TESTS})

DIM = contract.DIM
unit_rows = contract.unit_rows
brute_force = contract.brute_force


# --------------------------------------------------------------------------- request recording
class Recorder:
    """Records every request the client sends (method, path, params, parsed body) at the transport."""

    def __init__(self, client: Any):
        self.requests: list[tuple[str, str, dict[str, Any], Any]] = []
        transport = client.transport
        original = transport.perform_request

        def perform_request(method, url, params=None, body=None, *args, **kwargs):
            self.requests.append((method, urlsplit(url).path, dict(params or {}), body))
            return original(method, url, params, body, *args, **kwargs)

        transport.perform_request = perform_request

    def paths(self) -> list[str]:
        return [path for _, path, _, _ in self.requests]

    def violations(self) -> list[str]:
        return [
            f"{method} {path} {params}: {problem}"
            for method, path, params, body in self.requests
            for problem in _problems(method, path, params, body)
        ]


def _lines(body: Any) -> list[Any]:
    if body is None:
        return []
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8")
    if isinstance(body, str):
        return [json.loads(line) for line in body.splitlines() if line.strip()]
    if isinstance(body, (list, tuple)):
        return [json.loads(item) if isinstance(item, str) else item for item in body]
    return [body]


def _has_key(value: Any, keys: set[str]) -> bool:
    if isinstance(value, dict):
        return any(k in keys or _has_key(v, keys) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_key(v, keys) for v in value)
    return False


FORBIDDEN_PARAMS = {"refresh", "routing", "scroll", "conflicts", "wait_for_active_shards"}
FORBIDDEN_PATHS = (
    "_delete_by_query",
    "_update_by_query",
    "/_search/scroll",
    "/_refresh",
    "/_doc/",
    "/_create/",
    "/_update/",
)
SCRIPT_KEYS = {"script", "script_score", "script_fields"}


def _problems(method: str, path: str, params: dict[str, Any], body: Any) -> list[str]:
    problems = [f"parameter {p!r}" for p in FORBIDDEN_PARAMS & set(params)]
    problems += [f"endpoint {p!r}" for p in FORBIDDEN_PATHS if p in path]
    lines = _lines(body)
    if path.endswith("/_bulk"):
        i = 0
        while i < len(lines):
            ((action, meta),) = lines[i].items()
            if action in ("index", "create"):
                if "_id" in meta:
                    problems.append("bulk index with a custom _id")
                i += 2
            elif action == "delete":
                if "_id" not in meta:
                    problems.append("bulk delete without _id")
                i += 1
            else:
                problems.append(f"bulk {action!r}")
                i += 2
            if "routing" in meta:
                problems.append("bulk routing")
    else:
        if _has_key(lines, SCRIPT_KEYS):
            problems.append("script")
        if path.endswith("/_msearch") and any("routing" in header for header in lines[::2]):
            problems.append("msearch routing")
    if method == "PUT" and path.count("/") == 1 and lines:  # index creation
        settings = lines[0].get("settings", {})
        index_settings = settings.get("index", settings)
        if set(index_settings) - {"knn"}:
            problems.append(f"index settings {sorted(set(index_settings) - {'knn'})}")
        if "_routing" in lines[0].get("mappings", {}):
            problems.append("_routing in the mapping")
    return problems


# --------------------------------------------------------------------------- fixtures
def serverless_index(request, **kwargs) -> tuple[ServerlessIndex, Recorder]:
    url = request.getfixturevalue("opensearch_url")
    client = build_client(Settings(opensearch_url=url, opensearch_verify_certs=False))
    recorder = Recorder(client)
    kwargs.setdefault("index_prefix", f"serverless-{uuid.uuid4().hex[:8]}")
    kwargs.setdefault("hnsw_ef_search", 40)
    kwargs.setdefault("poll_interval", 0.1)
    return ServerlessIndex(client, **kwargs), recorder


def assert_serverless_compatible(recorder: Recorder) -> None:
    assert any(path.endswith("/_bulk") for path in recorder.paths()), "no write was recorded"
    assert recorder.violations() == []


@pytest.fixture
def backend(request, database):
    """The contract suite's backend, as a serverless-mode OpenSearch index; after the test, every
    request it sent is checked."""
    index, recorder = serverless_index(request)
    yield contract.Backend("opensearch", Catalog(database), index)
    assert_serverless_compatible(recorder)


@pytest.fixture
def filter_store(request, database):
    index, recorder = serverless_index(request)
    backend = contract.Backend("opensearch", Catalog(database), index)
    rng = np.random.default_rng(9)
    store = backend.store()
    names = {
        backend.file(store, unit_rows(rng, 1), attrs, texts=[f"row {name}"]): name
        for name, attrs in contract.ROWS.items()
    }
    yield backend, store, names
    assert_serverless_compatible(recorder)


@pytest.fixture
def raw(opensearch_url):
    """A plain client, for the test's own inspection and fault injection (not checked)."""
    return build_client(Settings(opensearch_url=opensearch_url, opensearch_verify_certs=False))


def new_store(index: ServerlessIndex) -> StoreRef:
    store = StoreRef(f"tenant_{uuid.uuid4().hex[:8]}", f"vs_{uuid.uuid4().hex}", DIM, "opensearch")
    index.prepare_store(store)
    return store


def chunks_of(texts: list[str]) -> list[ChunkToIndex]:
    return [ChunkToIndex(i, text, 2) for i, text in enumerate(texts)]


def file_docs(raw, index: ServerlessIndex, store: StoreRef, file_id: str) -> list[dict[str, Any]]:
    raw.indices.refresh(index=index.index_name(DIM))
    body = {
        "size": 10_000,
        "query": {"bool": {"filter": [{"term": {"store_id": store.store_id}}, {"term": {"file_id": file_id}}]}},
    }
    return [
        {"_id": h["_id"], **h["_source"]} for h in raw.search(index=index.index_name(DIM), body=body)["hits"]["hits"]
    ]


def inject(raw, index: ServerlessIndex, docs: list[dict[str, Any]]) -> None:
    """Index documents behind the index's back (as a concurrent or retried writer would have) and make them visible."""
    lines = "".join(
        json.dumps({"index": {"_index": index.index_name(DIM)}}) + "\n" + json.dumps(doc) + "\n" for doc in docs
    )
    response = raw.bulk(body=lines, params={"refresh": "true"})
    assert not response["errors"]


# --------------------------------------------------------------------------- tests
def test_the_contract_suite_is_all_here():
    assert len(CONTRACT_TESTS) >= 10
    assert all(name in globals() for name in CONTRACT_TESTS)


def test_index_body_has_only_what_serverless_accepts():
    serverless = ServerlessIndex(object(), engine="faiss").index_body(DIM)
    cluster = ClusterIndex(object(), engine="faiss", shards=3, replicas=2).index_body(DIM)
    assert serverless["settings"] == {"index": {"knn": True}}
    assert "_routing" not in serverless["mappings"]
    extra = set(serverless["mappings"]["properties"]) - set(cluster["mappings"]["properties"])
    assert extra == {"chunk_key", "generation", "chunk_count"}
    assert serverless["mappings"]["properties"]["chunk_key"] == {"type": "keyword"}
    for field, spec in cluster["mappings"]["properties"].items():
        assert serverless["mappings"]["properties"][field] == spec  # the mapping is otherwise the same


def test_writes_are_searchable_at_once_despite_a_slow_refresh(request, raw):
    index, recorder = serverless_index(request)
    store = new_store(index)
    raw.indices.put_settings(index=index.index_name(DIM), body={"index": {"refresh_interval": "2s"}})
    rng = np.random.default_rng(11)
    file_id = f"file_{uuid.uuid4().hex}"

    vectors = unit_rows(rng, 5)
    assert index.replace_file_chunks(store, file_id, {"v": 1}, chunks_of([f"first {i}" for i in range(5)]), vectors)
    assert index.file_chunk_texts(store, file_id) == [f"first {i}" for i in range(5)]
    assert len(index.dense_search(store, vectors[0], 10, None)) == 5

    assert index.replace_file_chunks(store, file_id, {"v": 2}, chunks_of(["second 0", "second 1"]), unit_rows(rng, 2))
    assert index.file_chunk_texts(store, file_id) == ["second 0", "second 1"]
    hits = index.dense_search(store, vectors[0], 10, None)
    assert sorted(h.text for h in hits) == ["second 0", "second 1"]
    assert {h.chunk_id for h in hits} == {f"{store.store_id}:{file_id}:0", f"{store.store_id}:{file_id}:1"}

    index.update_attributes(store, file_id, {"v": 3})
    hits = index.text_search(store, "second", 10, ComparisonFilter(type="eq", key="v", value=3))
    assert len(hits) == 2 and all(h.attributes == {"v": 3} for h in hits)
    assert index.text_search(store, "second", 10, ComparisonFilter(type="eq", key="v", value=2)) == []
    assert len(file_docs(raw, index, store, file_id)) == 2  # the older generations are gone

    index.delete_file_chunks(store, file_id)
    assert index.file_chunk_texts(store, file_id) == []
    assert index.dense_search(store, vectors[0], 10, None) == []
    assert_serverless_compatible(recorder)


def test_a_write_that_never_becomes_visible_fails_clearly(request, raw):
    index, _ = serverless_index(request, visibility_timeout=1)
    store = new_store(index)
    raw.indices.put_settings(index=index.index_name(DIM), body={"index": {"refresh_interval": "-1"}})
    started = time.monotonic()
    with pytest.raises(OpenSearchIndexError, match="did not all become searchable within 1s"):
        index.replace_file_chunks(store, "file_x", None, chunks_of(["a", "b"]), unit_rows(np.random.default_rng(1), 2))
    assert time.monotonic() - started < 10


def test_reads_return_the_newest_complete_generation(request, raw):
    index, recorder = serverless_index(request)
    store = new_store(index)
    file_id = f"file_{uuid.uuid4().hex}"
    rng = np.random.default_rng(12)
    index.replace_file_chunks(store, file_id, None, chunks_of(["old 0", "old 1", "old 2"]), unit_rows(rng, 3))
    template = file_docs(raw, index, store, file_id)[0]
    # A later write, still in flight (its clock an hour ahead): one of its three chunks is visible.
    ahead = index_module._new_generation(f"{time.time_ns() + 3600 * 10**9:016x}")
    newer = [
        {
            **{k: v for k, v in template.items() if k != "_id"},
            "chunk_index": i,
            "chunk_key": f"{store.store_id}:{file_id}:{i}",
            "text": f"new {i}",
            "generation": ahead,
            "chunk_count": 3,
        }
        for i in range(3)
    ]
    inject(raw, index, newer[:1])
    assert index.file_chunk_texts(store, file_id) == ["old 0", "old 1", "old 2"]  # the complete one
    inject(raw, index, newer[1:])
    assert index.file_chunk_texts(store, file_id) == ["new 0", "new 1", "new 2"]
    chunks, vectors = index.export_file_chunks(store, file_id)
    assert [c.text for c in chunks] == ["new 0", "new 1", "new 2"] and vectors.shape == (3, DIM)
    # Searches see both generations for now, but every chunk once.
    hits = index.text_search(store, "old new", 10, None)
    assert len({h.chunk_id for h in hits}) == len(hits) == 3

    # The next write sorts after the clock-skewed one and removes both older generations.
    index.replace_file_chunks(store, file_id, None, chunks_of(["final 0", "final 1"]), unit_rows(rng, 2))
    assert index.file_chunk_texts(store, file_id) == ["final 0", "final 1"]
    docs = file_docs(raw, index, store, file_id)
    assert sorted(d["text"] for d in docs) == ["final 0", "final 1"] and docs[0]["generation"] > ahead
    assert_serverless_compatible(recorder)


def test_duplicates_of_a_retried_bulk_request_are_removed(request, raw):
    index, recorder = serverless_index(request)
    store = new_store(index)
    file_id = f"file_{uuid.uuid4().hex}"
    index.replace_file_chunks(store, file_id, None, chunks_of(["a", "b", "c"]), unit_rows(np.random.default_rng(13), 3))
    docs = file_docs(raw, index, store, file_id)
    inject(raw, index, [{k: v for k, v in doc.items() if k != "_id"} for doc in docs])  # the same bulk, twice
    assert len(file_docs(raw, index, store, file_id)) == 6
    assert index.file_chunk_texts(store, file_id) == ["a", "b", "c"]
    assert len(index.dense_search(store, unit_rows(np.random.default_rng(1), 1)[0], 10, None)) == 3

    index._settle(index.index_name(DIM), store, file_id, docs[0]["generation"], 3)
    assert sorted(d["text"] for d in file_docs(raw, index, store, file_id)) == ["a", "b", "c"]
    assert_serverless_compatible(recorder)


def test_paging_does_not_lose_documents_tied_on_the_sort(request, raw, monkeypatch):
    index, recorder = serverless_index(request)
    store = new_store(index)
    file_id = f"file_{uuid.uuid4().hex}"
    index.replace_file_chunks(
        store, file_id, None, chunks_of([f"t{i}" for i in range(5)]), unit_rows(np.random.default_rng(14), 5)
    )
    docs = file_docs(raw, index, store, file_id)
    copies = [{k: v for k, v in doc.items() if k != "_id"} for doc in docs]
    inject(raw, index, copies + copies)  # every (chunk_key, generation) three times
    monkeypatch.setattr(index_module, "SCROLL_PAGE", 2)
    query = {"bool": {"filter": [{"term": {"store_id": store.store_id}}, {"term": {"file_id": file_id}}]}}
    ids = [hit["_id"] for hit in index._scan(index.index_name(DIM), query, False)]
    assert len(ids) == len(set(ids)) == 15

    index.delete_file_chunks(store, file_id)
    assert file_docs(raw, index, store, file_id) == []
    assert_serverless_compatible(recorder)


def test_a_superseded_write_removes_its_own_documents(request, raw):
    index, recorder = serverless_index(request)
    store = new_store(index)
    file_id = f"file_{uuid.uuid4().hex}"
    index.replace_file_chunks(
        store, file_id, None, chunks_of(["winner 0", "winner 1"]), unit_rows(np.random.default_rng(15), 2)
    )
    template = file_docs(raw, index, store, file_id)[0]
    # A write that started earlier (older generation) and became visible only now.
    late = f"{1:016x}{uuid.uuid4().hex}"
    inject(
        raw,
        index,
        [{**{k: v for k, v in template.items() if k != "_id"}, "text": "loser", "generation": late, "chunk_count": 1}],
    )
    index._settle(index.index_name(DIM), store, file_id, late, 1)
    raw.indices.refresh(index=index.index_name(DIM))
    assert sorted(d["text"] for d in file_docs(raw, index, store, file_id)) == ["winner 0", "winner 1"]
    assert_serverless_compatible(recorder)


def test_dense_search_is_exact_for_small_subsets_and_widens_short_answers(request):
    index, recorder = serverless_index(request)
    store = new_store(index)
    rng = np.random.default_rng(16)
    for n in range(3):
        index.replace_file_chunks(
            store, f"bulk_{n}", {"team": "bulk"}, chunks_of([f"bulk {n} {i}" for i in range(400)]), unit_rows(rng, 400)
        )
    rare_vectors = unit_rows(rng, 120)
    index.replace_file_chunks(
        store, "rare", {"team": "rare"}, chunks_of([f"rare {i}" for i in range(120)]), rare_vectors
    )
    rare = ComparisonFilter(type="eq", key="team", value="rare")
    query = unit_rows(rng, 1)[0]
    expected = [f"rare {i}" for i in brute_force(rare_vectors, query, 50)]

    before = len(recorder.requests)
    hits = index.dense_search(store, query, 50, rare)
    assert [h.text for h in hits] == expected  # 120 matching <= exact_search_max_chunks: k-NN with k = 120
    knn_k = [
        b["query"]["knn"]["embedding"]["k"] for _, path, _, b in recorder.requests[before:] if path.endswith("/_search")
    ]
    assert knn_k == [120]

    short = ServerlessIndex(
        ShortKnnClient(index._client), index_prefix=index._prefix, exact_search_max_chunks=0
    )
    assert [h.text for h in short.dense_search(store, query, 50, rare)] == expected  # widened to k = 120
    unfiltered = short.dense_search(store, query, 30, None)
    assert len(unfiltered) == 30
    assert [h.score for h in unfiltered] == sorted((h.score for h in unfiltered), reverse=True)
    assert_serverless_compatible(recorder)


def test_the_request_checks_catch_cluster_only_operations(request):
    """The recorder does catch the cluster-only operations (so the checks above are not vacuous)."""
    url = request.getfixturevalue("opensearch_url")
    client = build_client(Settings(opensearch_url=url, opensearch_verify_certs=False))
    recorder = Recorder(client)
    index = ClusterIndex(client, index_prefix=f"cluster-{uuid.uuid4().hex[:8]}", hnsw_ef_search=40)
    store = new_store(index)
    index.replace_file_chunks(store, "f", None, chunks_of(["a", "b"]), unit_rows(np.random.default_rng(17), 2))
    index.update_attributes(store, "f", {"x": 1})
    index.dense_search(store, unit_rows(np.random.default_rng(18), 1)[0], 5, None)
    index.delete_store(store)
    problems = " ".join(recorder.violations())
    for expected in (
        "'refresh'",
        "'routing'",
        "custom _id",
        "_update_by_query",
        "_delete_by_query",
        "script",
        "index settings",
        "_routing in the mapping",
    ):
        assert expected in problems


def test_a_duplicate_does_not_hide_a_chunk_that_is_not_visible_yet(request, raw):
    index, recorder = serverless_index(request, visibility_timeout=1)
    store = new_store(index)
    name = index.index_name(DIM)
    raw.indices.put_settings(index=name, body={"index": {"refresh_interval": "-1"}})
    file_id = f"file_{uuid.uuid4().hex}"
    generation = index_module._new_generation()
    vectors = unit_rows(np.random.default_rng(19), 3)
    docs = [
        {
            "store_id": store.store_id,
            "tenant_id": store.tenant_id,
            "file_id": file_id,
            "chunk_index": i,
            "chunk_key": f"{store.store_id}:{file_id}:{i}",
            "generation": generation,
            "chunk_count": 3,
            "token_count": 1,
            "text": f"part {i}",
            "attributes": None,
            "attrs": [],
            "embedding": vectors[i].tolist(),
        }
        for i in range(3)
    ]
    inject(raw, index, [docs[0], docs[1], docs[0]])  # three visible: chunk 0 twice
    held_back = json.dumps({"index": {"_index": name}}) + "\n" + json.dumps(docs[2]) + "\n"
    assert not raw.bulk(body=held_back)["errors"]  # indexed, not searchable (no refresh)

    with pytest.raises(OpenSearchIndexError, match="did not all become searchable"):
        index._settle(name, store, file_id, generation, 3)  # three counted, but chunk 2 is missing
    raw.indices.put_settings(index=name, body={"index": {"refresh_interval": "200ms"}})
    index._settle(name, store, file_id, generation, 3)
    assert sorted(d["text"] for d in file_docs(raw, index, store, file_id)) == ["part 0", "part 1", "part 2"]
    assert index.file_chunk_texts(store, file_id) == ["part 0", "part 1", "part 2"]
    assert_serverless_compatible(recorder)
