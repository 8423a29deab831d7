"""Move a vector store to another vector backend without re-embedding (resumable, verified).

    python -m vector_store_api.tools.move_store vs_... opensearch

Uses the same settings as the server (DATABASE_URL or the embedded database under DATA_DIR,
OPENSEARCH_URL...). Safe to interrupt and run again.
"""

from __future__ import annotations

import argparse
import sys

from ..catalog import Catalog
from ..catalog.database import Database, stop_embedded_servers
from ..container import build_indexes, database_url
from ..services.store_migration import StoreMigration, StoreMigrationError
from ..settings import get_settings
from ..vector_index.base import VectorIndexes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store_id")
    parser.add_argument("target", choices=["pgvector", "opensearch"])
    args = parser.parse_args(argv)

    from tqdm import tqdm

    settings = get_settings()
    db = Database(database_url(settings), max_size=2)
    try:
        indexes = VectorIndexes(build_indexes(settings, db), default="pgvector")
        with tqdm(unit="file", desc=f"{args.store_id} -> {args.target}") as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            report = StoreMigration(Catalog(db), indexes).run(args.store_id, args.target, progress)
    except StoreMigrationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        db.close()
        stop_embedded_servers()
    print(
        f"moved {report.store_id} from {report.source} to {report.target}: {report.files} files, "
        f"{report.chunks} chunks verified ({report.copied_now} copied in this run)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
