"""The caller as established from its API key (a light module: every API handler imports it)."""

from __future__ import annotations

from dataclasses import dataclass

from ..models.files import FileScope

ROLE_RANK: dict[str, int] = {"read": 1, "write": 2, "admin": 3}


@dataclass(frozen=True)
class Principal:
    """The caller, as established from its key."""

    key_id: str
    project_id: str | None  # None: an organization admin key
    role: str
    vector_store_ids: frozenset[str] | None  # None: every vector store of the project
    requests_per_minute: int
    store_writes_per_minute: int
    keys_enabled: bool = True

    @property
    def is_org_admin(self) -> bool:
        return self.project_id is None

    def has_role(self, role: str) -> bool:
        return self.is_org_admin or ROLE_RANK[self.role] >= ROLE_RANK[role]

    def may_use_store(self, store_id: str) -> bool:
        return self.vector_store_ids is None or store_id in self.vector_store_ids

    @property
    def file_scope(self) -> FileScope | None:
        """The Files this key may see; None: every File of its project."""
        return None if self.vector_store_ids is None else FileScope(self.key_id, self.vector_store_ids)
