from __future__ import annotations

import threading

from vector_store_api.ids import FILE_PREFIX, new_id


def test_ids_sort_in_creation_order_even_within_a_millisecond():
    ids = [new_id(FILE_PREFIX) for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("file-") and len(i) == len("file-") + 24 for i in ids)


def test_ids_are_unique_across_threads():
    made: list[str] = []

    def work():
        made.extend(new_id("vs_") for _ in range(1000))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == 4000
