"""End-to-end: POST /v1/vector_stores/{id}/search through the official SDK (strict mode).

Most tests run on the `server` fixture with the deterministic, NON-semantic hash embedder (texts that
share words are similar), so the documents below use distinct words per topic. The last test uses the
real local model (`local_model_server`) for the issue's quickstart.
"""

from __future__ import annotations

import time

import httpx
import openai
import psycopg
import pytest
from tests.support.sdk import POLL_MS, make_client, make_pdf, upload
from tests.support.sdk import attach_text_completed as attach_text
from tests.support.servers import ServerProcess

# --------------------------------------------------------------------------- helpers


def search(client, store_id: str, query, **kwargs):
    return client.vector_stores.search(store_id, query=query, **kwargs)


def assert_results_page(page) -> None:
    assert page.object == "vector_store.search_results.page"
    assert isinstance(page.search_query, list) and all(isinstance(q, str) for q in page.search_query)
    scores = [hit.score for hit in page.data]
    assert all(0.0 <= s <= 1.0 for s in scores), scores
    assert scores == sorted(scores, reverse=True), scores
    for hit in page.data:
        assert hit.file_id.startswith("file-")
        assert hit.filename
        assert hit.content and all(part.type == "text" and part.text for part in hit.content)


def chunk_count(server: ServerProcess, store_id: str, file_id: str | None = None) -> int:
    return server.chunk_count(store_id, file_id)


# ---------------------------------------------------------------- topic store (shape)

TOPICS = {
    "volcano": "Volcano eruption: molten lava flows down the crater while ash clouds rise over the caldera.",
    "submarine": "Submarine navigation relies on sonar pings, ballast tanks and periscope depth.",
    "orchard": "The orchard harvest yields apples, pears and cherries picked from pruned trees.",
    "telescope": "A telescope mirror gathers starlight so astronomers can observe distant galaxies and nebulae.",
    "bakery": "The bakery kneads sourdough, proofs croissants and bakes rye loaves before dawn.",
    "office": "The main office building is one hundred twenty meters in height, the tallest office tower downtown.",
}


@pytest.fixture(scope="module")
def topic_store(server):
    client = make_client(server.base_url)
    store = client.vector_stores.create(name="topics")
    ids = {}
    for name, text in TOPICS.items():
        ids[name] = upload(client, f"{name}.txt", text).id
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id,
        files=[{"file_id": file_id, "attributes": {"topic": name}} for name, file_id in ids.items()],
        poll_interval_ms=POLL_MS,
    )
    assert batch.file_counts.completed == len(TOPICS)
    return client, store.id, ids


def test_results_shape(topic_store):
    client, store_id, ids = topic_store
    page = search(client, store_id, "volcano lava crater")
    assert_results_page(page)
    assert page.search_query == ["volcano lava crater"]
    assert page.has_more is False
    top = page.data[0]
    assert top.file_id == ids["volcano"]
    assert top.filename == "volcano.txt"
    assert top.attributes == {"topic": "volcano"}
    assert top.content[0].type == "text"
    assert top.content[0].text == TOPICS["volcano"]
    assert top.score > page.data[-1].score


def test_max_num_results(topic_store):
    client, store_id, ids = topic_store
    assert len(search(client, store_id, "telescope", max_num_results=1).data) == 1
    assert search(client, store_id, "telescope", max_num_results=1).data[0].file_id == ids["telescope"]
    assert len(search(client, store_id, "telescope", max_num_results=3).data) == 3
    page = search(client, store_id, "telescope", max_num_results=50)
    assert len(page.data) == len(TOPICS)  # every chunk is a candidate
    assert len(search(client, store_id, "telescope").data) == len(TOPICS)  # default 10
    for bad in (0, 51, -1):
        with pytest.raises(openai.BadRequestError):
            search(client, store_id, "telescope", max_num_results=bad)


def test_query_validation(topic_store):
    client, store_id, _ = topic_store
    for bad in ("", "   ", [], [""]):
        with pytest.raises(openai.BadRequestError):
            search(client, store_id, bad)
    with pytest.raises(openai.BadRequestError):
        search(client, store_id, "x", extra_body={"unknown_option": True})
    with pytest.raises(openai.BadRequestError):
        search(client, store_id, "x", rewrite_query="maybe")  # type: ignore[arg-type]


def test_query_list(topic_store):
    client, store_id, ids = topic_store
    queries = ["volcano eruption lava", "submarine sonar periscope"]
    page = search(client, store_id, queries)
    assert_results_page(page)
    assert page.search_query == queries
    assert {hit.file_id for hit in page.data[:2]} == {ids["volcano"], ids["submarine"]}


def test_rewrite_query(topic_store):
    client, store_id, ids = topic_store
    question = "I'd like to know the height of the main office building"
    page = search(client, store_id, question, rewrite_query=True)
    assert_results_page(page)
    assert len(page.search_query) == 1
    rewritten = page.search_query[0]
    assert rewritten != question
    assert rewritten.strip()
    assert {"height", "office", "building"} <= set(rewritten.lower().split())
    assert "i'd" not in rewritten.lower()
    assert page.data[0].file_id == ids["office"]

    plain = search(client, store_id, question, rewrite_query=False)
    assert plain.search_query == [question]
    listed = search(client, store_id, [question, "Could you tell me about the bakery?"], rewrite_query=True)
    assert len(listed.search_query) == 2
    assert listed.search_query[0] == rewritten
    assert "bakery" in listed.search_query[1].lower() and listed.search_query[1] != "Could you tell me about the bakery?"


def test_score_threshold(topic_store):
    client, store_id, ids = topic_store
    everything = search(client, store_id, "orchard apples", max_num_results=50, ranking_options={"score_threshold": 0})
    assert len(everything.data) == len(TOPICS)
    assert everything.data[0].file_id == ids["orchard"]

    perfect = search(client, store_id, "orchard apples", max_num_results=50, ranking_options={"score_threshold": 1.0})
    assert len(perfect.data) <= 1
    assert all(hit.score == 1.0 for hit in perfect.data)
    if perfect.data:
        assert perfect.data[0].file_id == ids["orchard"]

    for threshold in (0.3, 0.5, 0.8):
        page = search(
            client, store_id, "orchard apples", max_num_results=50, ranking_options={"score_threshold": threshold}
        )
        assert_results_page(page)
        assert all(hit.score >= threshold for hit in page.data)
        # Thresholding only drops the tail.
        assert [h.file_id for h in page.data] == [h.file_id for h in everything.data][: len(page.data)]
        assert len(page.data) == sum(1 for h in everything.data if h.score >= threshold)

    for bad in (1.5, -0.1):
        with pytest.raises(openai.BadRequestError):
            search(client, store_id, "orchard", ranking_options={"score_threshold": bad})


def test_rankers(topic_store):
    client, store_id, ids = topic_store
    plain = search(client, store_id, "bakery sourdough croissants", ranking_options={"ranker": "none"})
    assert_results_page(plain)
    assert plain.data[0].file_id == ids["bakery"]
    assert 0 < plain.data[0].score <= 1
    for ranker in ("auto", "default-2024-11-15"):
        page = search(client, store_id, "bakery sourdough croissants", ranking_options={"ranker": ranker})
        assert_results_page(page)
        assert page.data[0].file_id == ids["bakery"]
    with pytest.raises(openai.BadRequestError):
        search(client, store_id, "bakery", ranking_options={"ranker": "best-2030"})  # type: ignore[typeddict-item]
    with pytest.raises(openai.BadRequestError):
        search(client, store_id, "bakery", ranking_options={"ranker": "none", "boost": 2})  # type: ignore[typeddict-unknown-key]


def test_threshold_with_ranker_none_is_cosine(topic_store):
    client, store_id, ids = topic_store
    text = TOPICS["telescope"]
    page = search(client, store_id, text, ranking_options={"ranker": "none", "score_threshold": 0.99})
    # The identical text has cosine 1 with itself; nothing else comes close with distinct words.
    assert [hit.file_id for hit in page.data] == [ids["telescope"]]
    assert page.data[0].score == pytest.approx(1.0, abs=1e-4)


def mode(name: str) -> dict:
    """`search_mode` is not in OpenAI's schema: sent as clients of OGX send it."""
    return {"extra_body": {"search_mode": name}}


def ranked(page) -> list[tuple[str, float]]:
    return [(hit.file_id, hit.score) for hit in page.data]


def tied_groups(reference, other) -> tuple[list[set[str]], list[set[str]]]:
    """Both pages' file ids cut into the runs of equal score in `reference`: tied hits may come in
    either order (the engines break ties by internal doc order), everything else must agree."""
    cuts, start = [], 0
    for i in range(1, len(reference.data) + 1):
        if i == len(reference.data) or abs(reference.data[i].score - reference.data[start].score) > 1e-9:
            cuts.append((start, i))
            start = i
    ids = lambda page: [hit.file_id for hit in page.data]  # noqa: E731
    return ([set(ids(reference)[a:b]) for a, b in cuts], [set(ids(other)[a:b]) for a, b in cuts])


def test_search_modes(topic_store):
    client, store_id, ids = topic_store
    query = "volcano lava crater"
    vector = search(client, store_id, query, **mode("vector"))
    assert ranked(vector) == ranked(search(client, store_id, query, ranking_options={"ranker": "none"}))
    assert len(vector.data) == len(TOPICS)  # every chunk has a cosine similarity

    keyword = search(client, store_id, query, max_num_results=50, **mode("keyword"))
    assert_results_page(keyword)
    assert [hit.file_id for hit in keyword.data] == [ids["volcano"]]  # only chunks holding a query word
    assert keyword.data[0].score == 1.0  # BM25 relative to the best hit
    two_words = search(client, store_id, "office orchard", max_num_results=50, **mode("keyword"))
    assert {hit.file_id for hit in two_words.data} == {ids["office"], ids["orchard"]}
    assert two_words.data[0].score == 1.0 and 0 < two_words.data[1].score <= 1.0
    assert search(client, store_id, "zeppelin", **mode("keyword")).data == []
    assert search(client, store_id, "the and of", **mode("keyword")).data == []  # stop words only

    hybrid = search(client, store_id, query, **mode("hybrid"))
    assert ranked(hybrid) == ranked(search(client, store_id, query))  # the default
    assert hybrid.data[0].file_id == ids["volcano"] and hybrid.data[0].score == 1.0  # first in both lists


def test_hybrid_weights(topic_store):
    client, store_id, ids = topic_store
    query = "orchard apples telescope"

    def weighted(embedding: float, text: float):
        options = {"hybrid_search": {"embedding_weight": embedding, "text_weight": text}}
        return search(client, store_id, query, max_num_results=50, ranking_options=options)  # type: ignore[typeddict-unknown-key]

    vector = search(client, store_id, query, max_num_results=50, **mode("vector"))
    keyword = search(client, store_id, query, max_num_results=50, **mode("keyword"))
    dense_only, text_only = weighted(1, 0), weighted(0, 1)
    assert len(dense_only.data) == len(vector.data)
    expected_groups, dense_groups = tied_groups(vector, dense_only)
    assert dense_groups == expected_groups
    assert [h.file_id for h in text_only.data][: len(keyword.data)] == [h.file_id for h in keyword.data]
    assert dense_only.data[0].score == 1.0 and text_only.data[0].score == 1.0
    equal = weighted(0.5, 0.5)
    assert ranked(equal) == ranked(search(client, store_id, query, max_num_results=50))  # RRF's ratio, not its scale
    for page in (dense_only, text_only, equal, weighted(3, 1)):
        assert_results_page(page)

    for bad in (
        {"embedding_weight": -1, "text_weight": 1},
        {"embedding_weight": 0, "text_weight": 0},
        {"embedding_weight": 1},
        {"embedding_weight": "1", "text_weight": 1},
    ):
        with pytest.raises(openai.BadRequestError):
            search(client, store_id, query, ranking_options={"hybrid_search": bad})  # type: ignore[typeddict-unknown-key]


def test_mode_errors(topic_store):
    client, store_id, _ = topic_store
    for bad in ("semantic", "", 1, ["vector"]):
        with pytest.raises(openai.BadRequestError) as error:
            search(client, store_id, "bakery", extra_body={"search_mode": bad})
        assert error.value.body["param"] == "search_mode"
    assert search(client, store_id, "bakery", extra_body={"search_mode": None}).data  # null: the default
    with pytest.raises(openai.BadRequestError) as error:
        search(client, store_id, "bakery", ranking_options={"ranker": "none"}, **mode("keyword"))
    assert "ranker 'none'" in error.value.message
    assert search(client, store_id, "bakery", ranking_options={"ranker": "none"}, **mode("vector")).data


@pytest.mark.parametrize("search_mode", ["hybrid", "vector", "keyword"])
def test_the_first_n_hits_are_the_search_for_n(server, search_mode):
    """The ranking never depends on max_num_results (each list is fetched at one depth)."""
    client = make_client(server.base_url)
    store = client.vector_stores.create(name="depth")
    words = "river stone ash cedar maple harbor lantern meadow copper willow".split()
    text = "\n\n".join(f"Note {i}: " + " ".join(words[(i * j) % len(words)] for j in range(1, 12)) for i in range(80))
    attach_text(
        client,
        store.id,
        "notes.txt",
        text,
        chunking_strategy={"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}},
    )
    for query in ("river ash", "maple lantern copper", "willow"):
        deep = search(client, store.id, query, max_num_results=50, **mode(search_mode)).data
        assert len(deep) > 10
        for n in (1, 5, 10, 20):
            page = search(client, store.id, query, max_num_results=n, **mode(search_mode))
            assert [(h.content[0].text, h.score) for h in page.data] == [(h.content[0].text, h.score) for h in deep[:n]]


# ---------------------------------------------------------------------- filter store

# name -> (attributes, text). Every text shares "common record" so every doc is a candidate.
FILTER_DOCS = {
    "a": ({"team": "alpha", "year": 2021, "score": 0.5, "public": True}, "common record about rivers"),
    "b": ({"team": "beta", "year": 2022, "score": 1.5, "public": False}, "common record about deserts"),
    "c": ({"team": "gamma", "year": 2023, "score": 2.5, "public": True}, "common record about glaciers"),
    "d": ({"team": "alpha", "year": 2024}, "common record about canyons"),
    "e": ({"level": 5, "public": False}, "common record about islands"),
    "f": ({"level": "5"}, "common record about prairies"),
    "g": (None, "common record about marshes"),
}
ALL = "abcdefg"


def eq(key, value):
    return {"type": "eq", "key": key, "value": value}


FILTER_CASES = [
    # strings
    ("str-eq", eq("team", "alpha"), "ad"),
    ("str-ne", {"type": "ne", "key": "team", "value": "alpha"}, "bcefg"),
    ("str-gt", {"type": "gt", "key": "team", "value": "beta"}, "c"),
    ("str-gte", {"type": "gte", "key": "team", "value": "beta"}, "bc"),
    ("str-lt", {"type": "lt", "key": "team", "value": "beta"}, "ad"),
    ("str-lte", {"type": "lte", "key": "team", "value": "beta"}, "abd"),
    ("str-in", {"type": "in", "key": "team", "value": ["alpha", "gamma"]}, "acd"),
    ("str-nin", {"type": "nin", "key": "team", "value": ["alpha", "gamma"]}, "befg"),
    ("str-eq-case-sensitive", eq("team", "Alpha"), ""),
    # integers
    ("int-eq", eq("year", 2022), "b"),
    ("int-eq-as-float", eq("year", 2022.0), "b"),
    ("int-ne", {"type": "ne", "key": "year", "value": 2022}, "acdefg"),
    ("int-gt", {"type": "gt", "key": "year", "value": 2022}, "cd"),
    ("int-gte", {"type": "gte", "key": "year", "value": 2022}, "bcd"),
    ("int-lt", {"type": "lt", "key": "year", "value": 2022}, "a"),
    ("int-lte", {"type": "lte", "key": "year", "value": 2022}, "ab"),
    ("int-gt-float", {"type": "gt", "key": "year", "value": 2021.5}, "bcd"),
    ("int-in", {"type": "in", "key": "year", "value": [2021, 2023]}, "ac"),
    ("int-nin", {"type": "nin", "key": "year", "value": [2021, 2023]}, "bdefg"),
    # floats
    ("float-eq", eq("score", 2.5), "c"),
    ("float-ne", {"type": "ne", "key": "score", "value": 2.5}, "abdefg"),
    ("float-gt", {"type": "gt", "key": "score", "value": 1.0}, "bc"),
    ("float-gte", {"type": "gte", "key": "score", "value": 1.5}, "bc"),
    ("float-lt", {"type": "lt", "key": "score", "value": 1.5}, "a"),
    ("float-lte", {"type": "lte", "key": "score", "value": 1.5}, "ab"),
    ("float-lt-large", {"type": "lt", "key": "score", "value": 100}, "abc"),
    ("float-in", {"type": "in", "key": "score", "value": [0.5, 2.5]}, "ac"),
    ("float-nin", {"type": "nin", "key": "score", "value": [0.5]}, "bcdefg"),
    # booleans
    ("bool-eq-true", eq("public", True), "ac"),
    ("bool-eq-false", eq("public", False), "be"),
    ("bool-ne-true", {"type": "ne", "key": "public", "value": True}, "bdefg"),
    ("bool-gt-false", {"type": "gt", "key": "public", "value": False}, "ac"),
    ("bool-gte-false", {"type": "gte", "key": "public", "value": False}, "abce"),
    ("bool-lt-true", {"type": "lt", "key": "public", "value": True}, "be"),
    ("bool-lte-true", {"type": "lte", "key": "public", "value": True}, "abce"),
    # type mismatches never match (and are not coerced)
    ("mismatch-str-vs-num", eq("level", "5"), "f"),
    ("mismatch-num-vs-str", eq("level", 5), "e"),
    ("mismatch-year-as-str", eq("year", "2022"), ""),
    ("mismatch-gt-num", {"type": "gt", "key": "level", "value": 4}, "e"),
    ("mismatch-gt-str", {"type": "gt", "key": "level", "value": "4"}, "f"),
    ("mismatch-bool-vs-num", eq("public", 1), ""),
    ("mismatch-in-mixed", {"type": "in", "key": "level", "value": [5, "5"]}, "ef"),
    ("mismatch-in-str", {"type": "in", "key": "level", "value": ["5"]}, "f"),
    ("mismatch-ne", {"type": "ne", "key": "level", "value": 5}, "abcdfg"),
    # a key nobody has
    ("missing-eq", eq("nobody", "x"), ""),
    ("missing-gt", {"type": "gt", "key": "nobody", "value": 0}, ""),
    ("missing-lte", {"type": "lte", "key": "nobody", "value": 0}, ""),
    ("missing-in", {"type": "in", "key": "nobody", "value": ["x"]}, ""),
    ("missing-ne", {"type": "ne", "key": "nobody", "value": "x"}, ALL),
    ("missing-nin", {"type": "nin", "key": "nobody", "value": ["x"]}, ALL),
    # compound
    ("and", {"type": "and", "filters": [eq("team", "alpha"), {"type": "gt", "key": "year", "value": 2022}]}, "d"),
    ("or", {"type": "or", "filters": [eq("team", "beta"), eq("public", True)]}, "abc"),
    ("and-single", {"type": "and", "filters": [eq("team", "gamma")]}, "c"),
    (
        "and-inside-or",
        {
            "type": "or",
            "filters": [
                {"type": "and", "filters": [eq("team", "alpha"), {"type": "lt", "key": "year", "value": 2022}]},
                eq("level", 5),
            ],
        },
        "ae",
    ),
    (
        "or-inside-and",
        {
            "type": "and",
            "filters": [
                {"type": "or", "filters": [eq("team", "alpha"), eq("team", "beta")]},
                {"type": "ne", "key": "public", "value": False},
            ],
        },
        "ad",
    ),
    (
        "deeply-nested",
        {
            "type": "or",
            "filters": [
                {
                    "type": "and",
                    "filters": [
                        {"type": "or", "filters": [eq("year", 2021), eq("year", 2023)]},
                        {"type": "gte", "key": "score", "value": 1},
                    ],
                },
                {"type": "and", "filters": [{"type": "nin", "key": "team", "value": ["alpha", "beta", "gamma"]}, eq("level", "5")]},
            ],
        },
        "cf",
    ),
    ("and-contradiction", {"type": "and", "filters": [eq("team", "alpha"), eq("team", "beta")]}, ""),
]


@pytest.fixture(scope="module")
def filter_store(server):
    client = make_client(server.base_url)
    store = client.vector_stores.create(name="filters")
    ids = {name: upload(client, f"{name}.txt", text).id for name, (_, text) in FILTER_DOCS.items()}
    entries = []
    for name, (attributes, _) in FILTER_DOCS.items():
        entry = {"file_id": ids[name]}
        if attributes is not None:
            entry["attributes"] = attributes
        entries.append(entry)
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, files=entries, poll_interval_ms=POLL_MS
    )
    assert batch.file_counts.completed == len(FILTER_DOCS)
    return client, store.id, ids


@pytest.mark.parametrize("case_filter, expected", [c[1:] for c in FILTER_CASES], ids=[c[0] for c in FILTER_CASES])
def test_filter(filter_store, case_filter, expected):
    client, store_id, ids = filter_store
    names = {file_id: name for name, file_id in ids.items()}
    for ranker in ("auto", "none"):
        page = search(
            client, store_id, "common record", filters=case_filter, max_num_results=50, ranking_options={"ranker": ranker}
        )
        assert_results_page(page)
        found = [names[hit.file_id] for hit in page.data]
        assert len(found) == len(set(found))  # one chunk per doc
        assert "".join(sorted(found)) == expected, ranker
        for hit in page.data:  # results carry the file's attributes
            assert hit.attributes == FILTER_DOCS[names[hit.file_id]][0]


def test_unfiltered_returns_every_doc(filter_store):
    client, store_id, ids = filter_store
    page = search(client, store_id, "common record", max_num_results=50)
    assert {hit.file_id for hit in page.data} == set(ids.values())


@pytest.mark.parametrize(
    "bad_filter",
    [
        {"type": "xor", "key": "team", "value": "alpha"},
        {"type": "in", "key": "team", "value": "alpha"},
        {"type": "nin", "key": "year", "value": 2021},
        {"type": "eq", "key": "team", "value": ["alpha"]},
        {"type": "eq", "value": "alpha"},
        {"type": "eq", "key": "team"},
        {"type": "eq", "key": "", "value": "alpha"},
        {"type": "eq", "key": "team", "value": {"nested": 1}},
        {"type": "eq", "key": "team", "value": None},
        {"key": "team", "value": "alpha", "extra": 1, "type": "eq"},
        {"type": "and", "filters": []},
        {"type": "or"},
        {"type": "and", "filters": [{"type": "xor", "key": "a", "value": 1}]},
        {"type": "or", "filters": [eq("team", "alpha"), {"type": "gt", "key": "year"}]},
        [eq("team", "alpha")],
    ],
    ids=[
        "unknown-type", "in-non-array", "nin-non-array", "eq-array", "missing-key", "missing-value", "empty-key",
        "object-value", "null-value", "extra-field", "empty-compound", "compound-without-filters",
        "nested-unknown-type", "nested-missing-value", "list-instead-of-object",
    ],
)
def test_invalid_filters(filter_store, bad_filter):
    client, store_id, _ = filter_store
    with pytest.raises(openai.BadRequestError) as caught:
        search(client, store_id, "common record", filters=bad_filter)
    assert caught.value.body["type"] == "invalid_request_error"
    assert caught.value.body["message"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_rejected(filter_store, server, number):
    """JSON extensions the SDK refuses to send (so raw HTTP): a 400, never a 500 from jsonb."""
    client, store_id, _ = filter_store
    headers = {"Authorization": f"Bearer {client.api_key}", "Content-Type": "application/json"}
    bodies = [
        '{"query": "common", "filters": {"type": "eq", "key": "year", "value": %s}}' % number,
        '{"query": "common", "filters": {"type": "gt", "key": "year", "value": %s}}' % number,
        '{"query": "common", "filters": {"type": "in", "key": "year", "value": [2021, %s]}}' % number,
        '{"query": "common", "filters": {"type": "or", "filters": [{"type": "lt", "key": "score", "value": %s}]}}' % number,
        '{"query": "common", "ranking_options": {"score_threshold": %s}}' % number,
    ]
    with httpx.Client(base_url=server.base_url + "/v1", headers=headers, timeout=30) as raw:
        for body in bodies:
            response = raw.post(f"/vector_stores/{store_id}/search", content=body)
            assert response.status_code == 400, (body, response.text)
            assert response.json()["error"]["type"] == "invalid_request_error"


def test_filter_sees_attribute_updates(server):
    """Updating a file's attributes is reflected by filters immediately."""
    client = make_client(server.base_url)
    store = client.vector_stores.create(name="updates")
    vs_file = attach_text(client, store.id, "x.txt", "mutable record", attributes={"stage": "draft"})
    assert [h.file_id for h in search(client, store.id, "mutable", filters=eq("stage", "draft")).data] == [vs_file.id]
    client.vector_stores.files.update(vs_file.id, vector_store_id=store.id, attributes={"stage": "final", "rev": 2})
    assert search(client, store.id, "mutable", filters=eq("stage", "draft")).data == []
    hits = search(client, store.id, "mutable", filters={"type": "gte", "key": "rev", "value": 2}).data
    assert [h.file_id for h in hits] == [vs_file.id]
    assert hits[0].attributes == {"stage": "final", "rev": 2}


# ----------------------------------------------------------------- small-store trap


def bulk_text(lines: int) -> str:
    return "\n".join(
        f"Bulk line {i} reports widget{i % 211} output and gadget{i % 97} load in sector {i % 13}." for i in range(lines)
    )


@pytest.fixture(scope="module", params=["exact_default", "hnsw_forced"])
def trap_setup(request, server, tmp_path_factory):
    """A large store (thousands of chunks) next to a small one, on the same server.

    `hnsw_forced` starts a dedicated server with EXACT_SEARCH_MAX_CHUNKS=0 and a small ef_search, so the
    shared HNSW index answers first and returns the globally nearest rows, most of them from other stores.
    """
    proc = None
    if request.param == "hnsw_forced":
        if server.backend != "pgvector":
            pytest.skip("the shared-HNSW trap is specific to pgvector (OpenSearch filters inside the k-NN query)")
        proc = ServerProcess(
            tmp_path_factory.mktemp("server-hnsw"),
            EMBEDDING_PROVIDER="hash",
            EXACT_SEARCH_MAX_CHUNKS="0",
            HNSW_EF_SEARCH="10",
        ).start()
        target = proc
    else:
        target = server
    try:
        big_client = make_client(target.base_url)
        big = big_client.vector_stores.create(name="large")
        chunking = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}
        bulk = big_client.vector_stores.files.upload_and_poll(
            vector_store_id=big.id,
            file=("bulk.txt", bulk_text(17_500).encode()),
            attributes={"kind": "bulk"},
            chunking_strategy=chunking,
            poll_interval_ms=500,
            max_wait_seconds=280,
        )
        assert bulk.status == "completed", bulk.last_error
        needle_text = " ".join(f"Needle paragraph {i} mentions harpsichord tuning and quill pens." for i in range(25))
        needle = attach_text(
            big_client, big.id, "needle.txt", needle_text, attributes={"kind": "needle"}, chunking_strategy=chunking
        )
        big_chunks = chunk_count(target, big.id)
        assert big_chunks >= 3000

        small_client = make_client(target.base_url)  # another tenant, too
        small = small_client.vector_stores.create(name="small")
        small_ids = set()
        for name, text in (
            ("s1.txt", "Small store note about widget output."),
            ("s2.txt", "Small store memo about gadget load."),
            ("s3.txt", "Small store letter about sector planning."),
        ):
            small_ids.add(attach_text(small_client, small.id, name, text).id)
        # Fresh planner statistics: with them PostgreSQL picks the shared HNSW index for a filtered search
        # in the large store (which alone returns the globally nearest rows and misses the needle).
        if target.backend == "pgvector":
            with psycopg.connect(target.database_url, autocommit=True) as conn:
                conn.execute("ANALYZE chunks")
        yield {
            "server": target,
            "big_client": big_client,
            "big": big.id,
            "needle": needle.id,
            "needle_chunks": chunk_count(target, big.id, needle.id),
            "small_client": small_client,
            "small": small.id,
            "small_ids": small_ids,
        }
    finally:
        if proc is not None:
            proc.stop()


def test_small_store_returns_all_its_chunks(trap_setup):
    client, store_id, small_ids = trap_setup["small_client"], trap_setup["small"], trap_setup["small_ids"]
    query = "Bulk line widget output gadget load sector"  # most similar chunks live in the large store
    for k in (1, 2, 3, 10, 50):
        for ranker in ("auto", "none"):
            page = search(client, store_id, query, max_num_results=k, ranking_options={"ranker": ranker})
            assert_results_page(page)
            assert len(page.data) == min(k, 3), (k, ranker)
            assert {hit.file_id for hit in page.data} <= small_ids


def test_selective_filter_in_large_store(trap_setup):
    client, store_id = trap_setup["big_client"], trap_setup["big"]
    needle, needle_chunks = trap_setup["needle"], trap_setup["needle_chunks"]
    assert needle_chunks >= 3
    query = "Bulk line widget output gadget load sector"  # matches the bulk, not the needle
    for ranker in ("auto", "none"):
        page = search(
            client, store_id, query, max_num_results=50, filters=eq("kind", "needle"), ranking_options={"ranker": ranker}
        )
        assert_results_page(page)
        assert len(page.data) == needle_chunks, ranker
        assert {hit.file_id for hit in page.data} == {needle}
        assert all("harpsichord" in hit.content[0].text for hit in page.data)
    # Without the filter, the bulk file dominates and k results come back.
    page = search(client, store_id, query, max_num_results=50)
    assert len(page.data) == 50
    # A query for the needle's words finds it first in the large store.
    page = search(client, store_id, "harpsichord tuning quill pens", max_num_results=5)
    assert page.data[0].file_id == needle


# ------------------------------------------------------------------ other stores


def test_empty_store(client):
    store = client.vector_stores.create(name="empty")
    page = search(client, store.id, "anything at all")
    assert page.object == "vector_store.search_results.page"
    assert page.data == []
    assert page.search_query == ["anything at all"]
    filtered = search(client, store.id, "anything", filters=eq("a", 1), ranking_options={"ranker": "none"})
    assert filtered.data == []


def test_store_with_only_failed_files(client):
    store = client.vector_stores.create(name="failed only")
    vs_file = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("x.exe", b"MZ\x00\x01"), poll_interval_ms=POLL_MS, max_wait_seconds=60
    )
    assert vs_file.status == "failed"
    assert search(client, store.id, "anything").data == []


def test_search_errors_and_tenant_isolation(client, server):
    store = client.vector_stores.create(name="private")
    attach_text(client, store.id, "secret.txt", "confidential walrus migration plans")
    assert search(client, store.id, "walrus").data

    stranger = make_client(server.base_url)
    with pytest.raises(openai.NotFoundError):
        search(stranger, store.id, "walrus")
    with pytest.raises(openai.NotFoundError):
        search(client, "vs_doesnotexist", "walrus")
    with pytest.raises(openai.BadRequestError):
        search(client, "store-123", "walrus")
    # The stranger's own store with the same words does not see ours.
    other = stranger.vector_stores.create(name="other")
    attach_text(stranger, other.id, "mine.txt", "walrus sightings by the stranger")
    hits = search(stranger, other.id, "walrus", max_num_results=50).data
    assert len(hits) == 1 and hits[0].filename == "mine.txt"


def test_search_after_store_delete(client):
    store = client.vector_stores.create(name="doomed")
    attach_text(client, store.id, "d.txt", "ephemeral content")
    client.vector_stores.delete(store.id)
    with pytest.raises(openai.NotFoundError):
        search(client, store.id, "ephemeral")


def test_search_updates_last_active_at(client):
    store = client.vector_stores.create(name="activity")
    attach_text(client, store.id, "a.txt", "activity tracking text")
    before = client.vector_stores.retrieve(store.id).last_active_at
    time.sleep(1.1)
    search(client, store.id, "activity")
    after = client.vector_stores.retrieve(store.id).last_active_at
    assert before is not None and after is not None and after > before


# -------------------------------------------------------------- local model quickstart

HANDBOOK = [
    "Acme Corporation Employee Handbook.",
    "Parental leave policy. Employees who become parents through birth or adoption receive sixteen weeks of "
    "fully paid parental leave. The leave may start before the expected due date and can be split into two "
    "periods within the first year. Partners are entitled to the same leave.",
    "Remote work. Staff may work from home up to three days per week with their manager's approval.",
    "Code of conduct. Treat colleagues with respect and report harassment to the people team.",
]
OTHER_DOCS = {
    "finance.txt": "Finance procedures. Expense reports must be filed by the fifth business day of the month. "
    "Reimbursements are paid by bank transfer. Purchases above five thousand dollars need CFO sign-off.",
    "it.md": "# IT support\n\nReset your password through the self-service portal. Laptops are replaced every "
    "three years. Report phishing emails to the security desk.",
    "travel.txt": "Travel policy. Book flights through the corporate agency. Economy class is required for trips "
    "under six hours. Hotel rates are capped per city.",
}


@pytest.mark.local_model
def test_quickstart_with_local_model(local_model_server):
    client = make_client(local_model_server.base_url)
    store = client.vector_stores.create(name="handbook")
    assert store.name == "handbook"
    handbook = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id,
        file=("handbook.pdf", make_pdf(HANDBOOK)),
        attributes={"team": "hr"},
        poll_interval_ms=200,
        max_wait_seconds=240,
    )
    assert handbook.status == "completed", handbook.last_error
    batch = client.vector_stores.file_batches.upload_and_poll(
        store.id, files=[(name, text.encode()) for name, text in OTHER_DOCS.items()], poll_interval_ms=200
    )
    assert batch.status == "completed"
    assert batch.file_counts.completed == 3 and batch.file_counts.failed == 0

    store = client.vector_stores.retrieve(store.id)
    assert store.status == "completed" and store.file_counts.completed == 4

    filtered = search(client, store.id, "parental leave policy", filters={"type": "eq", "key": "team", "value": "hr"})
    assert_results_page(filtered)
    assert filtered.data[0].file_id == handbook.id
    assert filtered.data[0].filename == "handbook.pdf"
    assert filtered.data[0].attributes == {"team": "hr"}
    assert "sixteen weeks" in " ".join(filtered.data[0].content[0].text.split())
    assert {hit.file_id for hit in filtered.data} == {handbook.id}

    semantic = search(client, store.id, "how many weeks off after having a baby")
    assert_results_page(semantic)
    assert semantic.data[0].file_id == handbook.id
    assert len({hit.file_id for hit in semantic.data}) == 4

    # Dense only, and without any keyword in common with the handbook.
    dense = search(client, store.id, "maternity benefits for new mothers", ranking_options={"ranker": "none"})
    assert dense.data[0].file_id == handbook.id
    dense = search(client, store.id, "airplane tickets and lodging", ranking_options={"ranker": "none"})
    assert dense.data[0].filename == "travel.txt"
