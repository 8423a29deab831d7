"""`python -m vector_store_api.tools.move_store`: the operator's command, run as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import numpy as np
from test_backend_contract import Backend, unit_rows

from vector_store_api.catalog import Catalog
from vector_store_api.settings import Settings
from vector_store_api.vector_index.opensearch.client import build_client
from vector_store_api.vector_index.opensearch.cluster import ClusterIndex
from vector_store_api.vector_index.pgvector.index import PgVectorIndex


def run_move(pg_url: str, opensearch_url: str, prefix: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": pg_url, "OPENSEARCH_URL": opensearch_url, "OPENSEARCH_INDEX_PREFIX": prefix}
    return subprocess.run(
        [sys.executable, "-m", "vector_store_api.tools.move_store", *args],
        env=env, capture_output=True, text=True, timeout=300,
    )


def test_move_store_command_moves_and_reports(database, pg_url, opensearch_url):
    catalog = Catalog(database)
    source = Backend("pgvector", catalog, PgVectorIndex(database))
    store = source.store()
    rng = np.random.default_rng(21)
    files = [source.file(store, unit_rows(rng, 3)) for _ in range(4)]
    prefix = f"cli-{uuid.uuid4().hex[:8]}"

    done = run_move(pg_url, opensearch_url, prefix, store.store_id, "opensearch")

    assert done.returncode == 0, done.stderr
    assert f"moved {store.store_id} from pgvector to opensearch: 4 files, 12 chunks verified" in done.stdout
    assert "4/4" in done.stderr  # the progress bar
    moved = catalog.store_config_by_id(store.store_id, 0).ref
    assert moved.provider_id == "opensearch"
    target = ClusterIndex(build_client(Settings(opensearch_url=opensearch_url)), index_prefix=prefix)
    assert [len(target.file_chunk_texts(moved, f)) for f in files] == [3, 3, 3, 3]

    again = run_move(pg_url, opensearch_url, prefix, store.store_id, "opensearch")
    assert again.returncode == 1 and "already on opensearch" in again.stderr
    missing = run_move(pg_url, opensearch_url, prefix, "vs_doesnotexist", "pgvector")
    assert missing.returncode == 1 and "no vector store with id 'vs_doesnotexist'" in missing.stderr
