"""The rate-limit rules (GCRA), one suite run against both bucket stores: the embedded PostgreSQL
(local mode) and DynamoDB (moto; Lambda mode). Exactness under concurrency included."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

from vector_store_api.limits import Decision, RateLimiter, format_duration
from vector_store_api.limits.postgres_store import PostgresBucketStore

REGION = "us-east-1"
T0 = 1_000_000.0  # the injected clock's start


@contextmanager
def moto_dynamodb(monkeypatch):
    """A moto DynamoDB client, with fake credentials and nothing from the host's AWS config."""
    import boto3
    from moto import mock_aws

    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def dynamodb_store(monkeypatch):
    from vector_store_api.limits.dynamodb_store import DynamoDbBucketStore

    with moto_dynamodb(monkeypatch) as client:
        client.create_table(
            TableName="rate-limits",
            KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield DynamoDbBucketStore("rate-limits", AtomicCalls(client))


class AtomicCalls:
    """The boto3 client with each API call made atomic. DynamoDB evaluates a ConditionExpression and
    writes atomically; moto checks and then writes in plain Python, so two threads could both pass a
    check. One lock per call restores DynamoDB's guarantee (and no more: calls from different
    limiters still interleave freely between their GetItem and their conditional PutItem)."""

    def __init__(self, client):
        self._client = client
        self._lock = threading.Lock()
        self.exceptions = client.exceptions

    def __getattr__(self, name):
        method = getattr(self._client, name)

        def call(*args, **kwargs):
            with self._lock:
                return method(*args, **kwargs)

        return call


@pytest.fixture(params=["postgres", "dynamodb"])
def store(request):
    if request.param == "postgres":
        return PostgresBucketStore(request.getfixturevalue("database"))
    return request.getfixturevalue("dynamodb_store")


@pytest.fixture(params=[False, True], ids=["shared", "sole-writer"])
def limiter(request, store) -> RateLimiter:
    """Every rule holds both ways: reading the bucket first, or writing on the state remembered."""
    return RateLimiter(store, sole_writer=request.param)


@pytest.fixture
def key() -> str:
    return f"test:{uuid.uuid4().hex}"  # the session database is shared: every test its own keys


# ------------------------------------------------------------------------------------ the rules
def test_burst_of_n_then_denied(limiter, key):
    decisions = [limiter.acquire(key, 5, 60, now=T0) for _ in range(5)]
    assert [d.allowed for d in decisions] == [True] * 5
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0]
    assert [d.reset_seconds for d in decisions] == pytest.approx([12, 24, 36, 48, 60])
    assert all(d.limit == 5 and d.retry_after_seconds == 0 for d in decisions)

    denied = limiter.acquire(key, 5, 60, now=T0)
    assert not denied.allowed
    assert denied.remaining == 0
    assert denied.retry_after_seconds == pytest.approx(12)  # one token every 60 / 5 s
    assert denied.reset_seconds == pytest.approx(12)


def test_refill_one_token_per_interval(limiter, key):
    for _ in range(5):
        assert limiter.acquire(key, 5, 60, now=T0).allowed
    half = limiter.acquire(key, 5, 60, now=T0 + 6)
    assert not half.allowed and half.retry_after_seconds == pytest.approx(6)

    refilled = limiter.acquire(key, 5, 60, now=T0 + 12)
    assert refilled.allowed and refilled.remaining == 0 and refilled.reset_seconds == pytest.approx(60)
    again = limiter.acquire(key, 5, 60, now=T0 + 12)
    assert not again.allowed and again.retry_after_seconds == pytest.approx(12)


def test_full_bucket_after_a_window(limiter, key):
    for _ in range(5):
        limiter.acquire(key, 5, 60, now=T0)
    later = limiter.acquire(key, 5, 60, now=T0 + 60)
    assert later.allowed and later.remaining == 4
    much_later = limiter.acquire(key, 5, 60, now=T0 + 3600)  # idle time never saves up beyond N
    assert much_later.allowed and much_later.remaining == 4


def test_denials_do_not_consume(limiter, key):
    for _ in range(2):
        limiter.acquire(key, 2, 60, now=T0)
    for _ in range(10):
        assert not limiter.acquire(key, 2, 60, now=T0 + 1).allowed
    assert limiter.acquire(key, 2, 60, now=T0 + 30).allowed  # one interval later, as if never denied


def test_keys_are_independent(limiter, key):
    other = key + ":other"
    for _ in range(3):
        assert limiter.acquire(key, 3, 60, now=T0).allowed
    assert not limiter.acquire(key, 3, 60, now=T0).allowed
    fresh = limiter.acquire(other, 3, 60, now=T0)
    assert fresh.allowed and fresh.remaining == 2


def test_limit_zero_is_unlimited_without_store_calls(store, key):
    class Untouchable:
        def get(self, key):
            raise AssertionError("no store call for an unlimited key")

        put_if = get

    limiter = RateLimiter(Untouchable())
    for _ in range(100):
        decision = limiter.acquire(key, 0, 60, now=T0)
        assert decision.allowed and decision.limit == 0


def test_lost_race_rereads_and_stays_exact(store, key):
    """A write between our read and our conditional put makes the put fail; the limiter re-reads
    and decides on the new state, so the interleaved admission is never lost."""
    other = RateLimiter(store)
    interfered = threading.Event()

    class Interleaving:
        def get(self, k):
            state = store.get(k)
            if not interfered.is_set():
                interfered.set()
                assert other.acquire(k, 2, 60, now=T0).allowed  # the competitor wins the race
            return state

        def put_if(self, *args):
            return store.put_if(*args)

    limiter = RateLimiter(Interleaving())
    first = limiter.acquire(key, 2, 60, now=T0)
    assert first.allowed and first.remaining == 0  # the second token, not the first again
    assert not limiter.acquire(key, 2, 60, now=T0).allowed


def test_a_sole_writer_with_a_stale_memory_still_admits_exactly(store, key):
    """A limiter remembering its last write, while another one (wrongly) writes too: its write on
    the stale state loses, it re-reads, and the limit still holds exactly."""
    remembering = RateLimiter(store, sole_writer=True)
    intruder = RateLimiter(store)
    allowed = 0
    for i in range(12):
        limiter = intruder if i % 3 == 2 else remembering
        allowed += limiter.acquire(key, 8, 3600, now=T0).allowed
    assert allowed == 8
    assert not remembering.acquire(key, 8, 3600, now=T0).allowed


@pytest.mark.parametrize("sole_writer", [False, True], ids=["shared", "sole-writer"])
@pytest.mark.parametrize("limit", [1, 20])
def test_concurrent_callers_admit_exactly_the_limit(store, key, limit, sole_writer):
    """50 callers at once: each with its own limiter, as separate processes/Lambdas would be, or
    all through one remembering limiter, as the local server's threads are."""
    barrier = threading.Barrier(50)
    shared = RateLimiter(store, sole_writer=True)

    def call(_):
        barrier.wait()
        limiter = shared if sole_writer else RateLimiter(store)
        return limiter.acquire(key, limit, 3600)  # real clock; no refill within the test

    with ThreadPoolExecutor(50) as pool:
        decisions = list(pool.map(call, range(50)))
    assert sum(d.allowed for d in decisions) == limit
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(limit))
    assert all(d.retry_after_seconds > 0 for d in decisions if not d.allowed)


# ------------------------------------------------------------------------------------ the headers
@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.12, "120ms"),
        (0.0001, "1ms"),
        (1, "1s"),
        (1.5, "1.5s"),
        (12, "12s"),
        (0.9996, "1s"),
        (59.9991, "1m0s"),
        (60, "1m0s"),
        (360, "6m0s"),
        (61.25, "1m1.25s"),
        (3723, "1h2m3s"),
    ],
)
def test_openai_duration_format(seconds, text):
    assert format_duration(seconds) == text


def test_decision_headers():
    allowed = Decision(True, 5, 3, 24.0, 0.0)
    assert allowed.headers() == {
        "x-ratelimit-limit-requests": "5",
        "x-ratelimit-remaining-requests": "3",
        "x-ratelimit-reset-requests": "24s",
    }
    denied = Decision(False, 5, 0, 0.2, 0.2)
    assert denied.retry_headers() == {"retry-after": "1", "retry-after-ms": "200"}  # Retry-After >= 1
    assert Decision(False, 5, 0, 12.0001, 12.0001).retry_headers()["retry-after"] == "13"
