"""Embedders, the embedding config/factory, and the chat query rewriter over real HTTP."""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
import uvicorn

# Module level: FastAPI resolves the (string) annotations of the handlers from module globals.
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from tests.support.paths import MODEL_DIR  # the local ONNX model: LOCAL_EMBEDDING_MODEL_DIR or ../shared's

from vector_store_api.embeddings.factory import (
    build_embedder,
    clear_embedder_cache,
    resolve_embedding_config,
)
from vector_store_api.embeddings.hashing import HashEmbedder
from vector_store_api.embeddings.local import LOCAL_MODEL, LocalEmbedder
from vector_store_api.embeddings.openai_compat import OpenAIEmbedder
from vector_store_api.services.query_rewrite import ChatRewriter
from vector_store_api.settings import Settings

SHARED_DIR = Path(__file__).resolve().parents[2] / "shared"


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


# -- HashEmbedder ---------------------------------------------------------------

HASH_TEXTS = ["The cat sat on the mat.", "", "Quarterly revenue grew 12%", "ünïcödé wörds ✓"]


def test_hash_shape_dtype_and_norms() -> None:
    vectors = HashEmbedder(dimension=64).embed(HASH_TEXTS)
    assert vectors.shape == (4, 64)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)


def test_hash_empty_text_is_fixed_unit_vector() -> None:
    vectors = HashEmbedder(dimension=16).embed(["", "  ...  "])
    expected = np.zeros(16, dtype=np.float32)
    expected[0] = 1.0
    np.testing.assert_array_equal(vectors, [expected, expected])


def test_hash_empty_batch() -> None:
    assert HashEmbedder().embed([]).shape == (0, 384)


def test_hash_is_deterministic_within_process() -> None:
    np.testing.assert_array_equal(HashEmbedder().embed(HASH_TEXTS), HashEmbedder().embed(HASH_TEXTS))


def test_hash_is_deterministic_across_processes() -> None:
    code = (
        "import sys, json;"
        "from vector_store_api.embeddings.hashing import HashEmbedder;"
        "texts = json.loads(sys.stdin.read());"
        "sys.stdout.write(HashEmbedder().embed(texts).tobytes().hex())"
    )
    env = {**os.environ, "PYTHONPATH": str(SHARED_DIR)}
    outputs = set()
    for seed in ("1", "2"):  # different str-hash salts must not matter
        env["PYTHONHASHSEED"] = seed
        proc = subprocess.run(
            [sys.executable, "-c", code], input=json.dumps(HASH_TEXTS), capture_output=True,
            text=True, env=env, check=True, timeout=60,
        )
        outputs.add(proc.stdout)
    assert outputs == {HashEmbedder().embed(HASH_TEXTS).tobytes().hex()}


def test_hash_shared_words_are_more_similar() -> None:
    a, b, c = HashEmbedder().embed(
        ["parental leave policy for employees", "the leave policy for new parents", "quarterly revenue of the company"]
    )
    assert a @ b > a @ c + 0.2


def test_hash_is_fast_enough() -> None:
    texts = [f"document {i} about topic {i % 97} with several shared words" for i in range(10_000)]
    start = time.perf_counter()
    HashEmbedder().embed(texts)
    assert time.perf_counter() - start < 2.0


# -- resolve_embedding_config ---------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model", "dimension", "expected"),
    [
        ("local", None, None, (LOCAL_MODEL, 384)),
        ("local", "all-MiniLM-L6-v2", None, (LOCAL_MODEL, 384)),
        ("local", LOCAL_MODEL, 384, (LOCAL_MODEL, 384)),
        ("hash", None, None, ("hash-v1", 384)),
        ("hash", "hash-v1", 1, ("hash-v1", 1)),
        ("hash", None, 4096, ("hash-v1", 4096)),
        ("openai", None, None, ("text-embedding-3-small", 1536)),
        ("openai", "text-embedding-3-large", None, ("text-embedding-3-large", 3072)),
        ("openai", "text-embedding-3-large", 256, ("text-embedding-3-large", 256)),
        ("openai", "text-embedding-3-small", 1536, ("text-embedding-3-small", 1536)),
        ("openai", "text-embedding-ada-002", None, ("text-embedding-ada-002", 1536)),
        ("openai", "text-embedding-ada-002", 1536, ("text-embedding-ada-002", 1536)),
        ("openai", "nomic-embed-text", 768, ("nomic-embed-text", 768)),
    ],
)
def test_resolve_valid(provider: str, model: str | None, dimension: int | None, expected: tuple) -> None:
    assert resolve_embedding_config(provider, model, dimension) == expected


@pytest.mark.parametrize(
    ("provider", "model", "dimension", "message"),
    [
        ("local", "bge-small-en", None, "supports only"),
        ("local", None, 768, "384"),
        ("hash", "hash-v2", None, "supports only"),
        ("hash", None, 0, "between 1 and 4096"),
        ("hash", None, 4097, "between 1 and 4096"),
        ("openai", "text-embedding-3-small", 1537, "between 1 and 1536"),
        ("openai", "text-embedding-3-small", 0, "between 1 and 1536"),
        ("openai", "text-embedding-ada-002", 512, "1536"),
        ("openai", "nomic-embed-text", None, "specify its dimension"),
        ("openai", None, 1.5, "integer"),
        ("cohere", None, None, "unknown embedding provider"),
    ],
)
def test_resolve_invalid(provider: str, model: str | None, dimension: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_embedding_config(provider, model, dimension)


# -- build_embedder ---------------------------------------------------------------------


@pytest.fixture
def settings() -> Iterator[Settings]:
    clear_embedder_cache()
    yield Settings(local_embedding_model_dir=MODEL_DIR, openai_api_key="sk-test", embedding_batch_size=16)
    clear_embedder_cache()


def test_factory_shares_instances(settings: Settings) -> None:
    first = build_embedder("hash", None, None, settings)
    assert isinstance(first, HashEmbedder)
    assert build_embedder("hash", "hash-v1", 384, settings) is first  # defaults resolve to the same key
    other = build_embedder("hash", None, 128, settings)
    assert other is not first and other.dimension == 128


def test_factory_is_thread_safe(settings: Settings) -> None:
    results: list[object] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        results.append(build_embedder("openai", None, 256, settings))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(r) for r in results}) == 1


def test_factory_builds_each_provider_without_loading(settings: Settings) -> None:
    local = build_embedder("local", "all-MiniLM-L6-v2", None, settings)
    assert isinstance(local, LocalEmbedder)
    assert (local.provider, local.model, local.dimension) == ("local", LOCAL_MODEL, 384)
    assert local.model_dir == MODEL_DIR and local.batch_size == 16
    assert local._model is None  # lazily loaded
    remote = build_embedder("openai", "text-embedding-3-large", 1024, settings)
    assert isinstance(remote, OpenAIEmbedder)
    assert (remote.provider, remote.model, remote.dimension) == ("openai", "text-embedding-3-large", 1024)
    with pytest.raises(ValueError):
        build_embedder("openai", "mystery-model", None, settings)


def test_importing_embedders_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "import vector_store_api.embeddings.factory, vector_store_api.embeddings.local\n"
        "import vector_store_api.services.query_rewrite\n"
        "heavy = [m for m in ('fastembed', 'tokenizers', 'onnxruntime', 'openai') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SHARED_DIR)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)


# -- LocalEmbedder (real ONNX model) ----------------------------------------------------

local_model = pytest.mark.skipif(
    not (MODEL_DIR / "model.onnx").is_file(),
    reason=f"local embedding model not found at {MODEL_DIR} (set LOCAL_EMBEDDING_MODEL_DIR)",
)

COOKING = (
    "To bake a good sourdough loaf, feed the starter the night before, mix flour, water and salt, "
    "let the dough rest, fold it every half hour, shape it gently and bake it in a hot covered pot. "
)
ASTRONOMY = (
    "Black holes form when massive stars collapse; their gravity bends light, and astronomers "
    "observe the accretion disks and jets they power at the centres of distant galaxies. "
)


@pytest.fixture(scope="module")
def local_embedder() -> LocalEmbedder:
    if not (MODEL_DIR / "model.onnx").is_file():
        pytest.skip(f"local embedding model not found at {MODEL_DIR} (set LOCAL_EMBEDDING_MODEL_DIR)")
    return LocalEmbedder(MODEL_DIR, batch_size=8)


@pytest.mark.local_model
@local_model
def test_local_dimension_and_norms(local_embedder: LocalEmbedder) -> None:
    vectors = local_embedder.embed(["hello world", "", COOKING * 20])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert local_embedder.embed([]).shape == (0, 384)


@pytest.mark.local_model
@local_model
def test_local_short_text_equals_fastembed(local_embedder: LocalEmbedder) -> None:
    from fastembed import TextEmbedding

    texts = ["parental leave policy", "", "A somewhat longer sentence about the main office building."]
    raw = TextEmbedding(model_name=LOCAL_MODEL, specific_model_path=str(MODEL_DIR))
    expected = np.stack(list(raw.embed(texts)))
    np.testing.assert_allclose(local_embedder.embed(texts), expected, atol=1e-5)


@pytest.mark.local_model
@local_model
def test_local_semantic_sanity(local_embedder: LocalEmbedder) -> None:
    query, related, unrelated = local_embedder.embed(
        [
            "parental leave policy",
            "maternity and paternity leave rules for employees",
            "the quarterly revenue of the company",
        ]
    )
    assert query @ related > query @ unrelated + 0.1


@pytest.mark.local_model
@local_model
def test_local_windows_cover_text_within_limit(local_embedder: LocalEmbedder) -> None:
    text = COOKING * 30 + ASTRONOMY * 5
    windows = local_embedder.windows(text)
    tokenizer = local_embedder._tokenizer
    assert tokenizer is not None
    assert len(windows) >= 4
    pieces: list[int] = []
    for window, count in windows:
        ids = tokenizer.encode(window, add_special_tokens=False).ids
        assert len(ids) == count <= 250
        pieces.extend(ids)
    assert pieces == tokenizer.encode(text, add_special_tokens=False).ids


@pytest.mark.local_model
@local_model
def test_local_long_text_pools_all_windows(local_embedder: LocalEmbedder) -> None:
    # ~1000 word pieces: cooking first, astronomy only in the last quarter.
    text = COOKING * 17 + ASTRONOMY * 8
    tokenizer = local_embedder._tokenizer or local_embedder._load()[1]
    assert 850 < len(tokenizer.encode(text, add_special_tokens=False).ids) < 1200
    head = local_embedder.windows(text)[0][0]  # the first <= 250 word pieces
    full_vec, head_vec, topic = local_embedder.embed(
        [text, head, "black holes, stars and galaxies in astronomy"]
    )
    assert full_vec @ topic > head_vec @ topic + 0.1


@pytest.mark.local_model
@local_model
def test_local_loads_once_under_concurrency() -> None:
    embedder = LocalEmbedder(MODEL_DIR)
    calls = 0
    original = embedder._load_unlocked

    def counting_load() -> Any:
        nonlocal calls
        calls += 1
        return original()

    embedder._load_unlocked = counting_load  # type: ignore[method-assign]
    barrier = threading.Barrier(4)
    results: list[np.ndarray] = []

    def worker() -> None:
        barrier.wait()
        results.append(embedder.embed(["concurrent load"]))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == 1 and len(results) == 4


# -- A tiny OpenAI-compatible HTTP server ----------------------------------------------

KNOWN_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}


class FakeOpenAI:
    """Real uvicorn server on 127.0.0.1 serving /v1/embeddings and /v1/chat/completions."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        app = FastAPI()

        @app.post("/v1/embeddings")
        async def embeddings(request: Request) -> JSONResponse:
            body = await request.json()
            self.requests.append(("embeddings", body))
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            if any(text == "" for text in inputs):  # like the real API
                return JSONResponse({"error": {"message": "empty input", "type": "invalid_request_error"}}, 400)
            model = body["model"]
            dim = body.get("dimensions") or KNOWN_DIMS.get(model, 32)
            if model == "wrong-dim-model":
                dim = 7
            # Scaled by 3: the client must normalise.
            vectors = HashEmbedder(dimension=dim).embed(inputs) * 3.0
            data = [{"object": "embedding", "index": i, "embedding": vectors[i].tolist()} for i in range(len(inputs))]
            random.Random(len(inputs)).shuffle(data)  # deliberately out of order
            tokens = sum(len(t.split()) for t in inputs)
            return JSONResponse(
                {
                    "object": "list",
                    "data": data,
                    "model": model,
                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                }
            )

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> JSONResponse:
            body = await request.json()
            self.requests.append(("chat", body))
            if body["model"] == "fail-model":
                return JSONResponse({"error": {"message": "boom", "type": "server_error"}}, 500)
            return JSONResponse(
                {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "created": 1700000000,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "  main office building height \n"},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
                }
            )

        # port=0: the OS picks a free port; read it back once started (no race).
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}/v1"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def bodies(self, kind: str) -> list[dict[str, Any]]:
        return [body for k, body in self.requests if k == kind]


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_server: FakeOpenAI) -> FakeOpenAI:
    fake_server.requests.clear()
    return fake_server


def make_openai(fake: FakeOpenAI, **kwargs: Any) -> OpenAIEmbedder:
    return OpenAIEmbedder(api_key="sk-test", base_url=fake.base_url, **kwargs)


def test_openai_batches_and_restores_order(fake: FakeOpenAI) -> None:
    texts = [f"text number {i} about subject {i * 7 % 11}" for i in range(25)]
    vectors = make_openai(fake, model="compat-embed", dimension=32, batch_size=10).embed(texts)
    assert [len(b["input"]) for b in fake.bodies("embeddings")] == [10, 10, 5]
    np.testing.assert_allclose(vectors, HashEmbedder(dimension=32).embed(texts), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    assert all(b["encoding_format"] == "float" for b in fake.bodies("embeddings"))


def test_openai_respects_character_budget(fake: FakeOpenAI) -> None:
    texts = ["x" * 20] * 5 + ["y" * 100]  # the oversized one still goes, alone
    make_openai(fake, model="compat-embed", dimension=32, max_chars_per_request=50).embed(texts)
    assert [len(b["input"]) for b in fake.bodies("embeddings")] == [2, 2, 1, 1]


def test_openai_caps_batch_size_at_api_limit() -> None:
    assert OpenAIEmbedder(batch_size=10_000).batch_size == 2048


@pytest.mark.parametrize(
    ("model", "dimension", "sent"),
    [
        ("text-embedding-3-small", None, None),
        ("text-embedding-3-small", 1536, None),
        ("text-embedding-3-small", 256, 256),
        ("text-embedding-3-large", 1024, 1024),
        ("text-embedding-ada-002", None, None),
        ("compat-embed", 32, None),
    ],
)
def test_openai_dimensions_param(fake: FakeOpenAI, model: str, dimension: int | None, sent: int | None) -> None:
    embedder = make_openai(fake, model=model, dimension=dimension)
    vectors = embedder.embed(["hello world"])
    assert vectors.shape == (1, embedder.dimension)
    (body,) = fake.bodies("embeddings")
    assert body.get("dimensions") == sent
    assert body["model"] == model


def test_openai_empty_string(fake: FakeOpenAI) -> None:
    vectors = make_openai(fake, model="compat-embed", dimension=32).embed(["", "word"])
    assert fake.bodies("embeddings")[0]["input"] == [" ", "word"]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)


def test_openai_dimension_mismatch_raises(fake: FakeOpenAI) -> None:
    with pytest.raises(RuntimeError, match="returned 7-dimensional vectors, expected 8"):
        make_openai(fake, model="wrong-dim-model", dimension=8).embed(["a", "b"])


def test_openai_config_errors() -> None:
    with pytest.raises(ValueError, match="explicit dimension"):
        OpenAIEmbedder(model="compat-embed")
    with pytest.raises(ValueError, match="1536"):
        OpenAIEmbedder(model="text-embedding-ada-002", dimension=512)
    with pytest.raises(RuntimeError, match="OPENAI_API_KEY"):
        OpenAIEmbedder(api_key=None, base_url=None).embed(["x"])


def test_openai_empty_batch_makes_no_request(fake: FakeOpenAI) -> None:
    assert make_openai(fake).embed([]).shape == (0, 1536)
    assert fake.requests == []


# -- ChatRewriter over the same server ------------------------------------------------------


def test_chat_rewriter(fake: FakeOpenAI) -> None:
    rewriter = ChatRewriter("gpt-test", api_key="sk-test", base_url=fake.base_url)
    assert rewriter.rewrite("I'd like to know the height of the main office building") == (
        "main office building height"
    )
    (body,) = fake.bodies("chat")
    assert body["model"] == "gpt-test" and body["temperature"] == 0
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][1]["content"] == "I'd like to know the height of the main office building"


def test_chat_rewriter_falls_back_on_server_error(fake: FakeOpenAI, caplog: pytest.LogCaptureFixture) -> None:
    query = "I'd like to know the height of the main office building"
    rewriter = ChatRewriter("fail-model", api_key="sk-test", base_url=fake.base_url, max_retries=0)
    with caplog.at_level(logging.WARNING, logger="vector_store_api.services.query_rewrite"):
        assert rewriter.rewrite(query) == "height main office building"
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings, "expected a warning about the failed rewrite"
    assert all("height" not in r.getMessage() for r in warnings)  # no query text at warning level
    assert len(fake.bodies("chat")) == 1
