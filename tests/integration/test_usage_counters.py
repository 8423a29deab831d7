"""Usage counters: one rule suite against both stores (the embedded PostgreSQL for local mode, DynamoDB
via moto for Lambda), the in-memory recorder in front of them, and the usage buckets built from them."""

from __future__ import annotations

import calendar
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from test_rate_limiter import AtomicCalls, moto_dynamodb

from vector_store_api.services.usage import UsageService
from vector_store_api.usage import UsageKey, UsageRecorder
from vector_store_api.usage.base import TENANT_TOTAL
from vector_store_api.usage.postgres_store import PostgresUsageStore

DAY = 86_400
D1 = calendar.timegm(date(2026, 3, 1).timetuple())  # 2026-03-01T00:00:00Z
RETENTION_DAYS = 30


@pytest.fixture
def dynamodb_usage(monkeypatch):
    from vector_store_api.usage.dynamodb_store import DynamoDbUsageStore

    with moto_dynamodb(monkeypatch) as client:
        client.create_table(
            TableName="usage",
            KeySchema=[{"AttributeName": "tenant_id", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "tenant_id", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield DynamoDbUsageStore("usage", AtomicCalls(client), RETENTION_DAYS), client


@pytest.fixture(params=["postgres", "dynamodb"])
def store(request, database):
    if request.param == "postgres":
        return PostgresUsageStore(database)
    return request.getfixturevalue("dynamodb_usage")[0]


def tenant() -> str:
    return "proj_" + uuid.uuid4().hex[:12]


def by_key(rows) -> dict:
    return {row.key: row.counters for row in rows}


def test_adds_accumulate_per_tenant_day_and_store(store):
    a, b = tenant(), tenant()
    store.add({UsageKey(a, "2026-03-01", ""): {"requests": 2}, UsageKey(a, "2026-03-01", "vs_1"): {"requests": 1}})
    store.add({UsageKey(a, "2026-03-01", ""): {"requests": 3, "searches": 1}, UsageKey(a, "2026-03-02", ""): {"requests": 7}})
    store.add({UsageKey(b, "2026-03-01", ""): {"requests": 100}})

    rows = by_key(store.query([a], "2026-03-01", "2026-03-02"))
    assert rows == {
        UsageKey(a, "2026-03-01", ""): {"requests": 5, "searches": 1},
        UsageKey(a, "2026-03-01", "vs_1"): {"requests": 1},
        UsageKey(a, "2026-03-02", ""): {"requests": 7},
    }
    assert set(by_key(store.query([a], "2026-03-02", "2026-03-02"))) == {UsageKey(a, "2026-03-02", "")}
    assert by_key(store.query([b, a], "2026-03-01", "2026-03-01"))[UsageKey(b, "2026-03-01", "")] == {"requests": 100}
    assert store.query([tenant()], "2026-03-01", "2026-03-31") == []


def test_concurrent_adds_lose_nothing(store):
    t = tenant()
    key = UsageKey(t, "2026-03-01", "vs_x")

    def add_many(_: int) -> None:
        for _ in range(25):
            store.add({key: {"requests": 1, "bytes_uploaded": 3}})

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(add_many, range(16)))
    assert by_key(store.query([t], "2026-03-01", "2026-03-01"))[key] == {"requests": 400, "bytes_uploaded": 1200}


def test_route_names_survive_as_counter_names(store):
    t = tenant()
    route = "requests:POST /v1/vector_stores/{vector_store_id}/search"
    store.add({UsageKey(t, "2026-03-01", ""): {route: 4}})
    assert by_key(store.query([t], "2026-03-01", "2026-03-01"))[UsageKey(t, "2026-03-01", "")] == {route: 4}


def test_dynamodb_rows_expire_by_ttl(dynamodb_usage):
    store, client = dynamodb_usage
    t = tenant()
    store.add({UsageKey(t, "2026-03-01", ""): {"requests": 1}})
    item = client.get_item(TableName="usage", Key={"tenant_id": {"S": t}, "sk": {"S": "2026-03-01#"}})["Item"]
    assert int(item["expires_at"]["N"]) == D1 + DAY + RETENTION_DAYS * DAY
    assert store.delete_before("2027-01-01") == 0  # TTL's job


def test_postgres_forgets_days_before_the_retention(database):
    store = PostgresUsageStore(database)
    t = tenant()
    store.add({UsageKey(t, "2026-03-01", ""): {"requests": 1}, UsageKey(t, "2026-03-05", ""): {"requests": 1}})
    assert store.delete_before("2026-03-02") >= 1
    assert set(by_key(store.query([t], "2026-01-01", "2026-12-31"))) == {UsageKey(t, "2026-03-05", "")}


# ---------------------------------------------------------------------------------- recorder
class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_recorder_sums_in_memory_and_writes_tenant_and_store_rows(store):
    t = tenant()
    clock = Clock(D1 + 10)
    recorder = UsageRecorder(store, clock=clock)
    search = "/v1/vector_stores/{vector_store_id}/search"
    for status in (200, 200, 404):
        recorder.request(t, "vs_a", "POST", search, status, 0.01)
    recorder.request(t, None, "GET", "/v1/files", 200, 0.01)
    recorder.request(None, None, "GET", "/v1/organization/projects", 200, 0.01)  # no tenant: not counted
    recorder.uploaded(t, 1234)
    recorder.ingested(t, "vs_a", chunks=5, tokens=400, usage_bytes=9000)
    clock.now += DAY  # the next day's counts go to the next day's rows
    recorder.ingested(t, "vs_a", chunks=1, tokens=10, usage_bytes=100)
    assert store.query([t], "2026-03-01", "2026-03-02") == []  # nothing written before a flush
    recorder.flush()
    recorder.flush()  # an empty flush writes nothing more

    rows = by_key(store.query([t], "2026-03-01", "2026-03-02"))
    total = rows[UsageKey(t, "2026-03-01", TENANT_TOTAL)]
    assert total == {
        "requests": 4,
        f"requests:POST {search}": 3,
        "requests:GET /v1/files": 1,
        "searches": 2,  # failed searches are requests, not searches
        "files_uploaded": 1,
        "bytes_uploaded": 1234,
        "files_ingested": 1,
        "chunks_embedded": 5,
        "tokens_embedded": 400,
        "bytes_ingested": 9000,
    }
    assert rows[UsageKey(t, "2026-03-01", "vs_a")] == {
        "requests": 3,
        f"requests:POST {search}": 3,
        "searches": 2,
        "files_ingested": 1,
        "chunks_embedded": 5,
        "tokens_embedded": 400,
        "bytes_ingested": 9000,
    }
    assert rows[UsageKey(t, "2026-03-02", "vs_a")]["chunks_embedded"] == 1


class FlakyStore:
    """Fails its first `failures` writes, then delegates."""

    def __init__(self, inner, failures: int):
        self.inner = inner
        self.failures = failures

    def add(self, increments):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("usage table unreachable")
        self.inner.add(increments)

    def query(self, *args):
        return self.inner.query(*args)


def test_a_failed_write_never_raises_and_is_retried_once(database):
    inner = PostgresUsageStore(database)
    t = tenant()
    recorder = UsageRecorder(FlakyStore(inner, failures=2), clock=Clock(D1))
    recorder.uploaded(t, 10)
    recorder.flush()  # fails: logged, kept
    recorder.uploaded(t, 5)
    recorder.flush()  # fails again: still kept, merged
    recorder.flush()  # writes
    recorder.flush()
    rows = by_key(inner.query([t], "2026-03-01", "2026-03-01"))
    assert rows == {UsageKey(t, "2026-03-01", ""): {"files_uploaded": 2, "bytes_uploaded": 15}}


# ------------------------------------------------------------------------------ usage buckets
def test_usage_buckets_group_filter_and_page(store):
    a, b = tenant(), tenant()
    clock = Clock(D1 + 5)
    recorder = UsageRecorder(store, clock=clock)
    service = UsageService(store, recorder)
    recorder.ingested(a, "vs_a1", chunks=2, tokens=20, usage_bytes=200)
    recorder.ingested(a, "vs_a2", chunks=3, tokens=30, usage_bytes=300)
    recorder.ingested(b, "vs_b1", chunks=4, tokens=40, usage_bytes=400)
    clock.now += 2 * DAY
    recorder.ingested(a, "vs_a1", chunks=1, tokens=10, usage_bytes=100)

    page = service.vector_store_usage([a, b], D1, D1 + 3 * DAY, None, [], 31, None, now=D1 + 3 * DAY)
    assert [bucket.start_time for bucket in page.data] == [D1, D1 + DAY, D1 + 2 * DAY] and not page.has_more
    day1 = page.data[0].results
    assert len(day1) == 1 and day1[0].num_chunks_embedded == 9 and day1[0].usage_bytes == 900
    assert day1[0].project_id is None and day1[0].vector_store_id is None
    assert page.data[1].results == [] and page.data[2].results[0].num_files_ingested == 1

    by_project = service.vector_store_usage([a, b], D1, D1 + DAY, None, ["project_id"], 31, None, now=D1 + DAY)
    assert {r.project_id: r.num_tokens_embedded for r in by_project.data[0].results} == {a: 50, b: 40}

    by_store = service.vector_store_usage([a], D1, D1 + DAY, None, ["vector_store_id"], 31, None, now=D1 + DAY)
    assert {r.vector_store_id: r.num_chunks_embedded for r in by_store.data[0].results} == {"vs_a1": 2, "vs_a2": 3}
    one_store = service.vector_store_usage([a], D1, D1 + DAY, ["vs_a2"], [], 31, None, now=D1 + DAY)
    assert [r.num_chunks_embedded for r in one_store.data[0].results] == [3]

    first = service.vector_store_usage([a], D1, D1 + 3 * DAY, None, [], 2, None, now=D1 + 3 * DAY)
    assert len(first.data) == 2 and first.has_more and first.next_page == "page_2026-03-03"
    rest = service.vector_store_usage([a], D1, D1 + 3 * DAY, None, [], 2, first.next_page, now=D1 + 3 * DAY)
    assert [bucket.start_time for bucket in rest.data] == [D1 + 2 * DAY] and not rest.has_more
