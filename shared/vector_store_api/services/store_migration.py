"""Move a vector store to another vector backend without re-embedding.

Chunks are copied file by file with their stored embeddings. Progress is recorded per file in the
catalog, so an interrupted move resumes where it stopped (a file copied twice is simply replaced).
Only when every completed file has the same number of chunks on both sides does the store switch
to its new backend (in one transaction); the old copy is deleted after that. The store keeps
serving searches from its old backend until the switch; files attached meanwhile are copied by
the next run (the command refuses to switch while any file is still being processed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..catalog.ports import MigrationRecords
from ..ids import now
from ..vector_index.base import StoreRef, VectorIndexes


@dataclass(frozen=True)
class MigrationReport:
    store_id: str
    source: str
    target: str
    files: int
    chunks: int
    copied_now: int


class StoreMigrationError(RuntimeError):
    pass


class StoreMigration:
    def __init__(self, catalog: MigrationRecords, indexes: VectorIndexes):
        self._catalog = catalog
        self._indexes = indexes

    def run(
        self, store_id: str, target: str, progress: Callable[[int, int], None] = lambda done, total: None
    ) -> MigrationReport:
        config = self._catalog.store_config_by_id(store_id, now())
        if config is None:
            raise StoreMigrationError(f"no vector store with id '{store_id}'")
        if target not in self._indexes.providers:
            raise StoreMigrationError(f"backend '{target}' is not configured (available: {', '.join(self._indexes.providers)})")
        source = config.provider_id
        if source == target:
            raise StoreMigrationError(f"store {store_id} is already on {target}")
        source_ref = config.ref
        target_ref = StoreRef(config.tenant_id, store_id, config.embedding_dimension, target)
        self._catalog.begin_migration(store_id, source, target, now())
        self._indexes.for_store(target_ref).prepare_store(target_ref)

        files = self._catalog.attachment_statuses(store_id)
        if any(status == "in_progress" for status, _ in files.values()):
            raise StoreMigrationError("files are still being processed; run the move again once they are done")
        completed = {file_id: attrs for file_id, (status, attrs) in files.items() if status == "completed"}
        done = self._catalog.migrated_files(store_id)
        copied_now = 0
        progress(len(set(done) & set(completed)), len(completed))
        for file_id, attributes in completed.items():
            if file_id in done:
                continue
            chunks, vectors = self._indexes.for_store(source_ref).export_file_chunks(source_ref, file_id)
            self._indexes.for_store(target_ref).replace_file_chunks(target_ref, file_id, attributes, chunks, vectors)
            self._catalog.record_migrated_file(store_id, file_id, len(chunks))
            done[file_id] = len(chunks)
            copied_now += 1
            progress(len(set(done) & set(completed)), len(completed))

        for file_id in set(done) - set(completed):  # copied earlier, detached or failed since
            self._indexes.for_store(target_ref).delete_file_chunks(target_ref, file_id)
        total = self._verify(source_ref, target_ref, completed)
        self._catalog.finish_migration(store_id, target)
        self._indexes.for_store(source_ref).delete_store(source_ref)
        return MigrationReport(store_id, source, target, len(completed), total, copied_now)

    def _verify(self, source: StoreRef, target: StoreRef, completed: dict[str, dict[str, Any] | None]) -> int:
        total = 0
        for file_id in completed:
            on_source = len(self._indexes.for_store(source).file_chunk_texts(source, file_id))
            on_target = len(self._indexes.for_store(target).file_chunk_texts(target, file_id))
            if on_source != on_target:
                raise StoreMigrationError(
                    f"file {file_id}: {on_source} chunks on {source.provider_id} but {on_target} on "
                    f"{target.provider_id}; the store was not switched (run the move again)"
                )
            total += on_target
        return total
