"""`StoredDocument`: a handle on one named document of the metadata store.

Services, packages and profiles are each a document of their own kind; this base gives them
one way to load, refresh and save it, and one not-found error per kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from modelport.errors import NotFound

if TYPE_CHECKING:
    from modelport.workspace import Workspace


class StoredDocument:
    """Subclasses set KIND, and `_missing(name)` for a kind-specific NotFound."""

    KIND: ClassVar[str]

    def __init__(self, workspace: Workspace, name: str) -> None:
        self.workspace = workspace
        self._name = name
        self._doc: dict[str, Any] = self._load()

    @classmethod
    def _missing(cls, name: str) -> NotFound:
        return NotFound(f"No {cls.KIND} named '{name}' in this workspace.")

    @classmethod
    def _names(cls, workspace: Workspace) -> list[str]:
        return sorted(
            d["name"] if "name" in d else d["id"] for d in workspace.store.list_documents(cls.KIND)
        )

    def _load(self) -> dict[str, Any]:
        try:
            return self.workspace.store.get_document(self.KIND, self._name)
        except NotFound:
            raise self._missing(self._name) from None

    def _refresh(self) -> None:
        self._doc = self._load()

    def _save(self, **changes: Any) -> None:
        self._doc.update(changes)
        self.workspace.store.put_document(self.KIND, self._name, self._doc)

    def _forget(self) -> None:
        self.workspace.store.delete_document(self.KIND, self._name)


def matches_tags(have: Mapping[str, str], wanted: Any) -> bool:
    """v1's tag/property filter: `['key', ['key2', 'value']]` (or a dict of key -> value)
    matches when every key is present and every pair equal."""
    if not wanted:
        return True
    items = wanted.items() if isinstance(wanted, Mapping) else wanted
    for item in items:
        if isinstance(item, str):
            if item not in have:
                return False
        elif have.get(str(item[0])) != str(item[1]):
            return False
    return True
