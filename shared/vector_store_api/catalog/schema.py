"""Idempotent schema migrations, run on start-up under an advisory lock (many processes may start at once)."""

from __future__ import annotations

from psycopg import Connection
from psycopg.rows import TupleRow

from .records import one_row

MIGRATION_LOCK_ID = 7_345_001

# Append only: each entry runs once, in order, inside one transaction.
MIGRATIONS: list[str] = [
    # 1: catalog (files, stores, attachments, batches) and chunks.
    """
    CREATE EXTENSION IF NOT EXISTS vector;

    CREATE TABLE files (
        id          text COLLATE "C" PRIMARY KEY,
        tenant_id   text NOT NULL,
        created_at  bigint NOT NULL,
        bytes       bigint NOT NULL,
        filename    text NOT NULL,
        purpose     text NOT NULL,
        expires_at  bigint,
        blob_key    text NOT NULL
    );
    CREATE INDEX files_by_tenant ON files (tenant_id, id);
    CREATE INDEX files_by_expiry ON files (expires_at) WHERE expires_at IS NOT NULL;

    CREATE TABLE vector_stores (
        id                   text COLLATE "C" PRIMARY KEY,
        tenant_id            text NOT NULL,
        created_at           bigint NOT NULL,
        name                 text NOT NULL DEFAULT '',
        description          text,
        metadata             jsonb,
        expires_after_days   integer,
        last_active_at       bigint NOT NULL,
        embedding_provider   text NOT NULL,
        embedding_model      text NOT NULL,
        embedding_dimension  integer NOT NULL,
        provider_id          text NOT NULL
    );
    CREATE INDEX vector_stores_by_tenant ON vector_stores (tenant_id, id);

    -- Every attachment ever made gets a position; positions outlive detaches so list cursors stay valid.
    CREATE TABLE vector_store_file_positions (
        vector_store_id  text COLLATE "C" NOT NULL REFERENCES vector_stores (id) ON DELETE CASCADE,
        file_id          text COLLATE "C" NOT NULL,
        seq              bigint NOT NULL,
        PRIMARY KEY (vector_store_id, file_id)
    );
    CREATE SEQUENCE attachment_seq;

    CREATE TABLE vector_store_files (
        vector_store_id  text COLLATE "C" NOT NULL REFERENCES vector_stores (id) ON DELETE CASCADE,
        file_id          text COLLATE "C" NOT NULL REFERENCES files (id) ON DELETE CASCADE,
        tenant_id        text NOT NULL,
        seq              bigint NOT NULL,
        created_at       bigint NOT NULL,
        status           text NOT NULL,
        usage_bytes      bigint NOT NULL DEFAULT 0,
        last_error       jsonb,
        attributes       jsonb,
        chunk_size       integer NOT NULL,
        chunk_overlap    integer NOT NULL,
        PRIMARY KEY (vector_store_id, file_id)
    );
    CREATE INDEX vector_store_files_by_seq ON vector_store_files (vector_store_id, seq);
    CREATE INDEX vector_store_files_by_file ON vector_store_files (file_id);
    CREATE INDEX vector_store_files_in_progress ON vector_store_files (vector_store_id) WHERE status = 'in_progress';

    CREATE TABLE file_batches (
        id               text COLLATE "C" PRIMARY KEY,
        tenant_id        text NOT NULL,
        vector_store_id  text COLLATE "C" NOT NULL REFERENCES vector_stores (id) ON DELETE CASCADE,
        created_at       bigint NOT NULL,
        cancelled        boolean NOT NULL DEFAULT false
    );
    CREATE INDEX file_batches_by_store ON file_batches (vector_store_id);

    CREATE TABLE file_batch_files (
        batch_id  text COLLATE "C" NOT NULL REFERENCES file_batches (id) ON DELETE CASCADE,
        file_id   text COLLATE "C" NOT NULL,
        seq       bigint GENERATED ALWAYS AS IDENTITY,
        PRIMARY KEY (batch_id, file_id)
    );
    CREATE INDEX file_batch_files_by_seq ON file_batch_files (batch_id, seq);

    -- Chunks live with their attachment: detaching or deleting cascades in the same transaction.
    -- `attributes` is a copy of the attachment's, so filters need no join.
    CREATE TABLE chunks (
        id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        vector_store_id  text COLLATE "C" NOT NULL,
        file_id          text COLLATE "C" NOT NULL,
        chunk_index      integer NOT NULL,
        text             text NOT NULL,
        token_count      integer NOT NULL,
        attributes       jsonb,
        dimension        integer NOT NULL,
        embedding        vector NOT NULL,
        tsv              tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, text)) STORED,
        FOREIGN KEY (vector_store_id, file_id)
            REFERENCES vector_store_files (vector_store_id, file_id) ON DELETE CASCADE
    );
    CREATE INDEX chunks_by_file ON chunks (vector_store_id, file_id, chunk_index);
    CREATE INDEX chunks_full_text ON chunks USING gin (tsv);
    """,
    # 2: progress of store moves between vector backends (resumable).
    """
    CREATE TABLE store_migrations (
        vector_store_id  text COLLATE "C" PRIMARY KEY REFERENCES vector_stores (id) ON DELETE CASCADE,
        source           text NOT NULL,
        target           text NOT NULL,
        started_at       bigint NOT NULL
    );
    CREATE TABLE store_migration_files (
        vector_store_id  text COLLATE "C" NOT NULL REFERENCES store_migrations (vector_store_id) ON DELETE CASCADE,
        file_id          text COLLATE "C" NOT NULL,
        chunks           integer NOT NULL,
        PRIMARY KEY (vector_store_id, file_id)
    );
    """,
    # 3: rate-limit buckets (local mode; GCRA state, compare-and-set on version; see limits/).
    """
    CREATE TABLE rate_limit_buckets (
        key         text COLLATE "C" PRIMARY KEY,
        tat         double precision NOT NULL,
        version     bigint NOT NULL,
        expires_at  bigint NOT NULL
    );
    CREATE INDEX rate_limit_buckets_by_expiry ON rate_limit_buckets (expires_at);
    """,
    # 4: projects (tenants) and their API keys; chunk counts per attachment (quotas); usage counters
    # (local mode; DynamoDB on Lambda).
    """
    CREATE TABLE projects (
        id           text COLLATE "C" PRIMARY KEY,
        name         text NOT NULL,
        created_at   bigint NOT NULL,
        archived_at  bigint,
        limits       jsonb NOT NULL DEFAULT '{}'
    );

    -- project_id NULL: an organization admin key. Only the SHA-256 of a key is stored.
    CREATE TABLE api_keys (
        id                   text COLLATE "C" PRIMARY KEY,
        project_id           text COLLATE "C" REFERENCES projects (id),
        name                 text NOT NULL,
        role                 text NOT NULL,
        vector_store_ids     text[],
        requests_per_minute  integer,
        key_hash             text NOT NULL UNIQUE,
        redacted_value       text NOT NULL,
        created_at           bigint NOT NULL,
        last_used_at         bigint,
        expires_at           bigint,
        revoked_at           bigint
    );
    CREATE INDEX api_keys_by_project ON api_keys (project_id, id);

    ALTER TABLE vector_store_files ADD COLUMN chunk_count integer NOT NULL DEFAULT 0;
    CREATE INDEX vector_store_files_by_tenant ON vector_store_files (tenant_id);
    UPDATE vector_store_files f SET chunk_count = c.n
    FROM (SELECT vector_store_id, file_id, count(*) AS n FROM chunks GROUP BY 1, 2) c
    WHERE f.vector_store_id = c.vector_store_id AND f.file_id = c.file_id;

    CREATE TABLE usage_counters (
        tenant_id        text COLLATE "C" NOT NULL,
        day              date NOT NULL,
        vector_store_id  text COLLATE "C" NOT NULL,  -- '' for the tenant's totals
        metric           text NOT NULL,
        value            bigint NOT NULL,
        PRIMARY KEY (tenant_id, day, vector_store_id, metric)
    );
    CREATE INDEX usage_counters_by_day ON usage_counters (day);
    """,
    # 5: attribute filters (`eq`) served by an index instead of a scan of the store.
    """
    CREATE INDEX chunks_attributes ON chunks USING gin (attributes jsonb_path_ops);
    """,
    # 6: BM25 (see bm25.py): each chunk's length in terms, and per store its chunk count, total
    # length and the document frequency of every term, kept exact by statement triggers on `chunks`
    # (so cascaded deletes count too). Writers lock the store's row first: concurrent ingests into
    # one store queue there instead of deadlocking on term rows. No foreign key to vector_stores: its
    # KEY SHARE lock would make an ingest and a concurrent store delete wait on each other (the
    # delete holds the store, the ingest its attachment); the triggers drop a deleted store's rows.
    """
    CREATE FUNCTION tsvector_term_count(tsvector) RETURNS integer
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$ SELECT coalesce(sum(cardinality(positions)), 0)::integer FROM unnest($1) $$;
    ALTER TABLE chunks ADD COLUMN term_count integer
        GENERATED ALWAYS AS (tsvector_term_count(to_tsvector('english'::regconfig, text))) STORED;

    CREATE TABLE lexical_stores (
        vector_store_id  text COLLATE "C" PRIMARY KEY,
        chunks           bigint NOT NULL,
        terms            bigint NOT NULL
    );
    CREATE TABLE lexical_terms (
        vector_store_id  text COLLATE "C" NOT NULL,
        term             text COLLATE "C" NOT NULL,
        df               integer NOT NULL,
        PRIMARY KEY (vector_store_id, term)
    );

    CREATE FUNCTION chunks_lexical_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO lexical_stores AS s (vector_store_id, chunks, terms)
        SELECT vector_store_id, count(*), sum(term_count) FROM added GROUP BY 1 ORDER BY 1
        ON CONFLICT (vector_store_id) DO UPDATE SET chunks = s.chunks + excluded.chunks, terms = s.terms + excluded.terms;
        INSERT INTO lexical_terms AS t (vector_store_id, term, df)
        SELECT a.vector_store_id, w.lexeme, count(*) FROM added a, unnest(a.tsv) w GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (vector_store_id, term) DO UPDATE SET df = t.df + excluded.df;
        RETURN NULL;
    END $$;

    CREATE FUNCTION chunks_lexical_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        live text[];
        deleted text[];
    BEGIN
        -- A store being deleted (its row is already gone) takes its statistics with it.
        SELECT array_agg(DISTINCT r.vector_store_id) FILTER (WHERE v.id IS NOT NULL),
               array_agg(DISTINCT r.vector_store_id) FILTER (WHERE v.id IS NULL)
        INTO live, deleted
        FROM removed r LEFT JOIN vector_stores v ON v.id = r.vector_store_id;
        IF deleted IS NOT NULL THEN
            DELETE FROM lexical_terms WHERE vector_store_id = ANY (deleted);
            DELETE FROM lexical_stores WHERE vector_store_id = ANY (deleted);
        END IF;
        IF live IS NULL THEN
            RETURN NULL;
        END IF;
        PERFORM 1 FROM lexical_stores WHERE vector_store_id = ANY (live) ORDER BY vector_store_id FOR UPDATE;
        UPDATE lexical_stores s SET chunks = s.chunks - r.chunks, terms = s.terms - r.terms
        FROM (SELECT vector_store_id, count(*) AS chunks, sum(term_count) AS terms FROM removed
              WHERE vector_store_id = ANY (live) GROUP BY 1) r
        WHERE s.vector_store_id = r.vector_store_id;
        UPDATE lexical_terms t SET df = t.df - c.n
        FROM (SELECT r.vector_store_id, w.lexeme, count(*) AS n FROM removed r, unnest(r.tsv) w
              WHERE r.vector_store_id = ANY (live) GROUP BY 1, 2) c
        WHERE t.vector_store_id = c.vector_store_id AND t.term = c.lexeme;
        DELETE FROM lexical_terms t
        USING (SELECT DISTINCT r.vector_store_id, w.lexeme FROM removed r, unnest(r.tsv) w
               WHERE r.vector_store_id = ANY (live)) c
        WHERE t.vector_store_id = c.vector_store_id AND t.term = c.lexeme AND t.df <= 0;
        DELETE FROM lexical_stores WHERE vector_store_id = ANY (live) AND chunks <= 0;
        RETURN NULL;
    END $$;

    CREATE TRIGGER chunks_lexical_added AFTER INSERT ON chunks
        REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION chunks_lexical_added();
    CREATE TRIGGER chunks_lexical_removed AFTER DELETE ON chunks
        REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION chunks_lexical_removed();

    -- Chunks indexed before this version.
    INSERT INTO lexical_stores (vector_store_id, chunks, terms)
    SELECT vector_store_id, count(*), sum(term_count) FROM chunks GROUP BY 1;
    INSERT INTO lexical_terms (vector_store_id, term, df)
    SELECT c.vector_store_id, w.lexeme, count(*) FROM chunks c, unnest(c.tsv) w GROUP BY 1, 2;
    """,
    # 7: ingest leases. A running job holds its attachment's lease (its token, until when) and renews
    # it while it works, so "no live job" is exact across processes and Lambdas: the stuck-ingest
    # sweep re-enqueues an in-progress attachment whose lease ran out, or that no job ever picked up.
    # A lease without a token is a reservation for a queued job that any job may take.
    """
    ALTER TABLE vector_store_files
        ADD COLUMN lease_token text,
        ADD COLUMN lease_expires_at bigint,
        ADD COLUMN resumes integer NOT NULL DEFAULT 0;
    -- Where a File came from when a retried import must find it again (bulk ingest: per S3 object).
    ALTER TABLE files ADD COLUMN source text;
    CREATE UNIQUE INDEX files_by_source ON files (tenant_id, source) WHERE source IS NOT NULL;
    """,
    # 8: the key that uploaded a File (NULL: before this version, or made by bulk ingest). A key
    # limited to some vector stores sees the Files attached to them and the ones it uploaded.
    """
    ALTER TABLE files ADD COLUMN uploaded_by text COLLATE "C";
    """,
    # 9: stored Responses (`store: true`): the Response object with its search results, the request's
    # input items as listed by /input_items, and the conversation as chat messages, which a later
    # `previous_response_id` continues.
    """
    CREATE TABLE responses (
        id           text COLLATE "C" PRIMARY KEY,
        tenant_id    text NOT NULL,
        created_at   bigint NOT NULL,
        status       text NOT NULL,
        response     jsonb NOT NULL,
        input_items  jsonb NOT NULL,
        messages     jsonb NOT NULL
    );
    CREATE INDEX responses_by_tenant ON responses (tenant_id, id);
    """,
]


def migrate(conn: Connection[TupleRow]) -> None:
    """Apply pending migrations; safe to call from many processes at once."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        current = one_row(conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations"))[0]
        for version, sql in enumerate(MIGRATIONS, start=1):
            if version <= current:
                continue
            conn.execute(sql)
            conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
