"""Moving a store between backends: chunks and embeddings copied as they are, resumable, verified."""

from __future__ import annotations

import numpy as np
import pytest
from test_backend_contract import Backend, make_index, unit_rows

from vector_store_api.catalog import Catalog
from vector_store_api.services.store_migration import StoreMigration, StoreMigrationError
from vector_store_api.vector_index.base import VectorIndexes


@pytest.fixture
def indexes(request, database) -> VectorIndexes:
    indexes = {name: make_index(name, database, request) for name in ("pgvector", "opensearch")}
    return VectorIndexes(indexes, default="pgvector")


class Interrupted(Exception):
    pass


def test_move_copies_embeddings_resumes_after_interruption_and_verifies(database, indexes):
    catalog = Catalog(database)
    source = Backend("pgvector", catalog, indexes.backend("pgvector"))
    rng = np.random.default_rng(11)
    store = source.store()
    vectors = {f"doc{i}": unit_rows(rng, 4) for i in range(5)}
    files = {name: source.file(store, v, {"name": name}, texts=[f"{name} part {j}" for j in range(4)]) for name, v in vectors.items()}
    query = vectors["doc3"][2]
    before = indexes.for_store(store).dense_search(store, query, 5, None)

    def stop_after_two(done: int, total: int) -> None:
        if done == 2:
            raise Interrupted

    migration = StoreMigration(catalog, indexes)
    with pytest.raises(Interrupted):
        migration.run(store.store_id, "opensearch", stop_after_two)
    assert catalog.store_config_by_id(store.store_id, 0).provider_id == "pgvector"  # not switched yet

    report = migration.run(store.store_id, "opensearch")

    assert (report.files, report.chunks, report.copied_now) == (5, 20, 3)
    moved = catalog.store_config_by_id(store.store_id, 0).ref
    assert moved.provider_id == "opensearch"
    after = indexes.for_store(moved).dense_search(moved, query, 5, None)
    # Same vectors: the same neighbours with the same cosine scores (to float32 precision).
    assert [(h.file_id, h.text) for h in after] == [(h.file_id, h.text) for h in before]
    assert [h.score for h in after] == pytest.approx([h.score for h in before], abs=1e-4)
    assert indexes.for_store(moved).file_chunk_texts(moved, files["doc0"]) == [f"doc0 part {j}" for j in range(4)]
    assert [h.attributes for h in indexes.for_store(moved).dense_search(moved, vectors["doc1"][0], 1, None)] == [{"name": "doc1"}]
    assert indexes.for_store(store).file_chunk_texts(store, files["doc0"]) == []  # the old copy is gone

    with pytest.raises(StoreMigrationError, match="already on opensearch"):
        migration.run(store.store_id, "opensearch")


def test_move_refuses_while_files_are_processing(database, indexes):
    catalog = Catalog(database)
    source = Backend("pgvector", catalog, indexes.backend("pgvector"))
    store = source.store()
    file_id = source.file(store, unit_rows(np.random.default_rng(12), 2))
    with database.connection() as conn:
        conn.execute("UPDATE vector_store_files SET status = 'in_progress' WHERE file_id = %s", (file_id,))
    with pytest.raises(StoreMigrationError, match="still being processed"):
        StoreMigration(catalog, indexes).run(store.store_id, "opensearch")
    assert catalog.store_config_by_id(store.store_id, 0).provider_id == "pgvector"
