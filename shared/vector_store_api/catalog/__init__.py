"""The system of record in PostgreSQL: files, vector stores, attachments, batches, stored
responses, projects and keys.

Every query is scoped by tenant except the operator tools' (migrations.py). The services depend on
the Protocols in ports.py; `Catalog` is the one implementation, one mixin per kind of object.
"""

from __future__ import annotations

from .attachments import AttachmentCatalog
from .batches import BatchCatalog
from .database import Database
from .files import FileCatalog
from .migrations import MigrationCatalog
from .quotas import QuotaCatalog
from .responses import ResponseCatalog
from .stores import StoreCatalog


class Catalog(FileCatalog, StoreCatalog, AttachmentCatalog, BatchCatalog, MigrationCatalog, QuotaCatalog, ResponseCatalog):
    def __init__(self, db: Database):
        self._db = db
