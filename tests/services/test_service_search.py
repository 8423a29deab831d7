"""SearchService in-process: the three modes, filters, score_threshold, max_num_results, several
queries, query rewriting and hybrid weights, on a store of distinct topics.

The `hash` embedder is deterministic and NOT semantic (texts sharing words are similar), so every
topic has words of its own.
"""

from __future__ import annotations

import pytest
from service_harness import ingest, new_store, new_tenant, sql_execute, upload

from vector_store_api.errors import NotFound
from vector_store_api.models.search import SearchRequest
from vector_store_api.models.vector_stores import CreateFileBatchRequest

TOPICS = {
    "volcano": ("Volcano eruption: molten lava flows down the crater while ash clouds rise over the caldera.", 2019),
    "submarine": ("Submarine navigation relies on sonar pings, ballast tanks and periscope depth.", 2020),
    "orchard": ("The orchard harvest yields apples, pears and cherries picked from pruned trees.", 2021),
    "telescope": (
        "A telescope mirror gathers starlight so astronomers can observe distant galaxies and nebulae.",
        2022,
    ),
    "bakery": ("The bakery kneads sourdough, proofs croissants and bakes rye loaves before dawn.", 2023),
    "office": (
        "The main office building is one hundred twenty meters in height, the tallest office tower downtown.",
        2024,
    ),
}
MODES = ["hybrid", "keyword", "vector"]


@pytest.fixture(scope="module")
def topics(services):
    """(tenant, store id, {topic: file id}): every topic with attributes {topic, year, even}."""
    tenant = new_tenant()
    store = new_store(services, tenant, name="topics")
    files = {name: upload(services, tenant, f"{name}.txt", text).id for name, (text, _) in TOPICS.items()}
    entries = [
        {"file_id": files[name], "attributes": {"topic": name, "year": year, "even": year % 2 == 0}}
        for name, (_, year) in TOPICS.items()
    ]
    batch = services.stores.create_batch(tenant, store.id, CreateFileBatchRequest(files=entries))
    services.queue.run(tenant)
    assert services.stores.retrieve_batch(tenant, store.id, batch.id).file_counts.completed == len(TOPICS)
    return tenant, store.id, files


def search(services, topics, query, **fields):
    tenant, store_id, _ = topics
    return services.search.search(tenant, store_id, SearchRequest(query=query, **fields))


def hits(results) -> list[tuple[str, float]]:
    return [(hit.file_id, hit.score) for hit in results.data]


def assert_well_formed(results) -> None:
    scores = [hit.score for hit in results.data]
    assert all(0.0 <= score <= 1.0 for score in scores), scores
    assert scores == sorted(scores, reverse=True)
    assert len({(hit.file_id, hit.content[0].text) for hit in results.data}) == len(results.data)  # no duplicates


@pytest.mark.parametrize("mode", MODES)
def test_a_distinctive_query_finds_its_file_first(services, topics, mode):
    _, _, files = topics
    for topic, query in (("volcano", "volcano lava crater"), ("bakery", "sourdough croissants")):
        results = search(services, topics, query, search_mode=mode)
        assert_well_formed(results)
        top = results.data[0]
        assert top.file_id == files[topic]
        assert top.filename == f"{topic}.txt"
        assert top.content[0].text == TOPICS[topic][0]
        assert top.attributes == {"topic": topic, "year": TOPICS[topic][1], "even": TOPICS[topic][1] % 2 == 0}
        assert results.search_query == [query]
        if mode != "vector":
            assert top.score == 1.0  # first in every list that ranks it (keyword: the best BM25)


def test_keyword_mode_returns_only_chunks_holding_a_query_term(services, topics):
    _, _, files = topics
    assert [h.file_id for h in search(services, topics, "crater", search_mode="keyword").data] == [files["volcano"]]
    both = search(services, topics, "office orchard", search_mode="keyword", max_num_results=50)
    assert {h.file_id for h in both.data} == {files["office"], files["orchard"]}
    assert both.data[0].score == 1.0 and 0 < both.data[1].score <= 1.0
    assert search(services, topics, "zeppelin", search_mode="keyword").data == []
    assert search(services, topics, "the and of", search_mode="keyword").data == []  # stop words only


def test_vector_mode_ranks_every_chunk_by_cosine(services, topics):
    _, _, files = topics
    text = TOPICS["telescope"][0]
    results = search(services, topics, text, search_mode="vector", max_num_results=50)
    assert len(results.data) == len(TOPICS)  # every chunk has a cosine similarity
    assert results.data[0].file_id == files["telescope"]
    assert results.data[0].score == pytest.approx(1.0, abs=1e-4)  # the identical text
    assert results.data[1].score < 0.9
    ranker_none = search(services, topics, text, ranking_options={"ranker": "none"}, max_num_results=50)
    assert hits(ranker_none) == hits(results)  # OpenAI's ranker "none" is a vector search


def test_hybrid_is_the_default_and_its_weights_pick_a_list(services, topics):
    query = "orchard apples telescope"
    default = search(services, topics, query, max_num_results=50)
    assert hits(default) == hits(search(services, topics, query, search_mode="hybrid", max_num_results=50))

    def weighted(embedding: float, text: float):
        options = {"hybrid_search": {"embedding_weight": embedding, "text_weight": text}}
        return search(services, topics, query, ranking_options=options, max_num_results=50)

    vector = search(services, topics, query, search_mode="vector", max_num_results=50)
    keyword = search(services, topics, query, search_mode="keyword", max_num_results=50)
    assert [h.file_id for h in weighted(1, 0).data] == [h.file_id for h in vector.data]
    text_only = [h.file_id for h in weighted(0, 1).data]
    assert text_only[: len(keyword.data)] == [h.file_id for h in keyword.data]
    assert hits(weighted(0.5, 0.5)) == hits(default)  # only the weights' ratio counts


FILTERS = [
    ("eq", {"type": "eq", "key": "topic", "value": "bakery"}, {"bakery"}),
    ("in", {"type": "in", "key": "topic", "value": ["orchard", "office"]}, {"orchard", "office"}),
    ("gte", {"type": "gte", "key": "year", "value": 2023}, {"bakery", "office"}),
    ("ne-bool", {"type": "ne", "key": "even", "value": True}, {"volcano", "orchard", "bakery"}),
    (
        "and-or",
        {
            "type": "and",
            "filters": [
                {
                    "type": "or",
                    "filters": [
                        {"type": "lt", "key": "year", "value": 2021},
                        {"type": "eq", "key": "topic", "value": "office"},
                    ],
                },
                {"type": "nin", "key": "topic", "value": ["submarine"]},
            ],
        },
        {"volcano", "office"},
    ),
    ("string-is-not-number", {"type": "eq", "key": "year", "value": "2019"}, set()),
    ("missing-key", {"type": "eq", "key": "colour", "value": "red"}, set()),
]


@pytest.mark.parametrize("case_filter, expected", [c[1:] for c in FILTERS], ids=[c[0] for c in FILTERS])
def test_filters_are_applied_in_every_mode(services, topics, case_filter, expected):
    _, _, files = topics
    names = {file_id: name for name, file_id in files.items()}
    # The query names every topic, so in keyword mode too each document is a candidate.
    query = "volcano submarine orchard telescope bakery office"
    for mode in MODES:
        results = search(services, topics, query, filters=case_filter, search_mode=mode, max_num_results=50)
        assert_well_formed(results)
        assert {names[h.file_id] for h in results.data} == expected, mode


def test_score_threshold_drops_only_the_tail(services, topics):
    _, _, files = topics
    everything = search(services, topics, "orchard apples", max_num_results=50)
    assert len(everything.data) == len(TOPICS) and everything.data[0].file_id == files["orchard"]
    scores = [h.score for h in everything.data]
    assert scores[0] > scores[-1]
    for threshold in (scores[1], (scores[0] + scores[-1]) / 2, 1.0):
        kept = search(
            services, topics, "orchard apples", max_num_results=50, ranking_options={"score_threshold": threshold}
        )
        assert all(h.score >= threshold for h in kept.data)
        assert hits(kept) == hits(everything)[: sum(score >= threshold for score in scores)]
    assert len(search(services, topics, "orchard apples", ranking_options={"score_threshold": scores[1]}).data) >= 2


def test_max_num_results_cuts_the_same_ranking(services, topics):
    query = "telescope galaxies bakery orchard submarine volcano office"
    for mode in MODES:
        deep = search(services, topics, query, search_mode=mode, max_num_results=50)
        assert len(deep.data) == len(TOPICS), mode
        for k in (1, 3, 5):
            assert hits(search(services, topics, query, search_mode=mode, max_num_results=k)) == hits(deep)[:k], mode
        assert len(search(services, topics, query, search_mode=mode).data) == len(TOPICS)  # default 10


def test_several_queries_and_query_rewrite(services, topics):
    _, _, files = topics
    queries = ["volcano eruption lava", "submarine sonar periscope"]
    both = search(services, topics, queries)
    assert both.search_query == queries
    assert {h.file_id for h in both.data[:2]} == {files["volcano"], files["submarine"]}

    question = "I'd like to know the height of the main office building"
    rewritten = search(services, topics, question, rewrite_query=True)
    [query] = rewritten.search_query
    assert query != question and {"height", "office", "building"} <= set(query.lower().split())
    assert rewritten.data[0].file_id == files["office"]
    assert search(services, topics, question).search_query == [question]


def test_empty_failed_only_and_unknown_stores(services, queue, tenant, database):
    empty = new_store(services, tenant)
    assert services.search.search(tenant, empty.id, SearchRequest(query="anything")).data == []
    failed = new_store(services, tenant)
    ingest(services, queue, tenant, failed.id, "empty.txt", b"")
    assert services.search.search(tenant, failed.id, SearchRequest(query="anything")).data == []
    with pytest.raises(NotFound):
        services.search.search(tenant, "vs_doesnotexist", SearchRequest(query="anything"))


def test_search_marks_the_store_active(services, tenant, database):
    store = new_store(services, tenant, expires_after={"anchor": "last_active_at", "days": 1})
    sql_execute(database, "UPDATE vector_stores SET last_active_at = last_active_at - 3600 WHERE id = %s", (store.id,))
    before = services.stores.retrieve(tenant, store.id).last_active_at
    services.search.search(tenant, store.id, SearchRequest(query="anything"))
    after = services.stores.retrieve(tenant, store.id)
    assert after.last_active_at >= before + 3600
    assert after.expires_at == after.last_active_at + 86_400


@pytest.mark.parametrize("status", ["in_progress", "cancelled", "failed"])
def test_only_files_completed_in_the_store_are_hits(services, status):
    """A backend without transactions (OpenSearch) holds a file's chunks for a moment while its job
    settles, or drops them after a cancel; whatever the index holds, search reports completed files."""
    tenant = new_tenant()
    store = new_store(services, tenant, name="settling")
    text, _ = TOPICS["volcano"]
    file_id = ingest(services, services.queue, tenant, store.id, "volcano.txt", text).id
    query = SearchRequest(query="volcano lava crater")
    assert [hit.file_id for hit in services.search.search(tenant, store.id, query).data] == [file_id]

    where = "vector_store_id = %s AND file_id = %s"
    sql_execute(services.db, f"UPDATE vector_store_files SET status = %s WHERE {where}", (status, store.id, file_id))
    assert services.search.search(tenant, store.id, query).data == []  # chunks still indexed, file not completed
    sql_execute(services.db, f"UPDATE vector_store_files SET status = 'completed' WHERE {where}", (store.id, file_id))
    assert [hit.file_id for hit in services.search.search(tenant, store.id, query).data] == [file_id]
