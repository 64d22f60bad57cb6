"""The metadata-store interface.

The SQL implementation (`sql.py`) serves SQLite and PostgreSQL; an HTTP implementation can
follow without touching the SDK, so every method takes and returns plain, serialisable values.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

from modelport.registry.events import DeliveryRecord, EventRecord, NewEvent
from modelport.registry.records import ModelRecord, RunRecord


class MetadataStore(abc.ABC):
    """Everything the SDK records about models, environments, runs and services."""

    # -- models ----------------------------------------------------------------------
    @abc.abstractmethod
    def create_model(self, record: ModelRecord) -> ModelRecord:
        """Insert a new version of `record.name`; the store assigns the next version number.

        Model changes write their event (`model.registered`, `model.tags_changed`,
        `model.deleted`) in the same transaction."""

    @abc.abstractmethod
    def get_model(self, name: str, version: int | None = None) -> ModelRecord:
        """One version (the latest when `version` is None); raises NotFound."""

    @abc.abstractmethod
    def list_models(
        self,
        name: str | None = None,
        tags: Sequence[tuple[str, str | None]] = (),
        properties: Sequence[tuple[str, str | None]] = (),
        latest: bool = False,
    ) -> list[ModelRecord]:
        """Versions matching every filter, newest first; `(key, None)` matches any value."""

    @abc.abstractmethod
    def update_model(
        self,
        name: str,
        version: int,
        *,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
    ) -> ModelRecord:
        """Replace the given fields of one version."""

    @abc.abstractmethod
    def delete_model(self, name: str, version: int) -> None:
        """Remove one version; raises NotFound."""

    # -- environments ----------------------------------------------------------------
    @abc.abstractmethod
    def add_environment(self, name: str, spec: dict[str, Any]) -> int:
        """Store `spec` as a new version (or return the latest one if it is identical)."""

    @abc.abstractmethod
    def get_environment(self, name: str, version: int | None = None) -> tuple[int, dict[str, Any]]:
        """(version, spec); raises NotFound."""

    @abc.abstractmethod
    def list_environments(self) -> list[tuple[str, int, dict[str, Any]]]:
        """Every (name, version, spec), newest version first per name."""

    # -- runs ------------------------------------------------------------------------
    @abc.abstractmethod
    def create_run(self, record: RunRecord) -> RunRecord: ...

    @abc.abstractmethod
    def get_run(self, run_id: str) -> RunRecord: ...

    @abc.abstractmethod
    def update_run(self, run_id: str, **fields: Any) -> RunRecord: ...

    @abc.abstractmethod
    def list_runs(
        self, experiment_name: str | None = None, parent_id: str | None = None
    ) -> list[RunRecord]: ...

    @abc.abstractmethod
    def log_metric(self, run_id: str, name: str, value: Any) -> None: ...

    @abc.abstractmethod
    def get_metrics(self, run_id: str) -> dict[str, list[Any]]: ...

    # -- generic documents (services, datasets, profiles, …) ---------------------------
    @abc.abstractmethod
    def put_document(
        self, kind: str, name: str, body: dict[str, Any], event: NewEvent | None = None
    ) -> None:
        """Create or replace one named document of a kind (e.g. a service's state), with
        `event` appended to the outbox in the same transaction."""

    @abc.abstractmethod
    def get_document(self, kind: str, name: str) -> dict[str, Any]:
        """Raises NotFound."""

    @abc.abstractmethod
    def list_documents(self, kind: str) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    def delete_document(self, kind: str, name: str, event: NewEvent | None = None) -> None:
        """Raises NotFound."""

    # -- the event outbox (registry/events.py) and its delivery log ----------------------
    @abc.abstractmethod
    def append_event(self, event: NewEvent) -> int:
        """Append one event on its own; returns its id."""

    @abc.abstractmethod
    def read_events(
        self, after: int = 0, limit: int = 100, types: Sequence[str] = ()
    ) -> list[EventRecord]:
        """Events with id > `after`, oldest first."""

    @abc.abstractmethod
    def get_event(self, event_id: int) -> EventRecord:
        """Raises NotFound."""

    @abc.abstractmethod
    def last_event_id(self) -> int: ...

    @abc.abstractmethod
    def get_cursor(self, consumer: str) -> int:
        """The last event id `consumer` has handled (0: none)."""

    @abc.abstractmethod
    def advance_cursor(
        self, consumer: str, to_id: int, new_deliveries: Sequence[tuple[str, int]] = ()
    ) -> None:
        """Queue (subscriber, event id) deliveries and move the cursor in one transaction."""

    @abc.abstractmethod
    def due_deliveries(
        self, subscriber_prefix: str, now: float, limit: int = 50
    ) -> list[DeliveryRecord]:
        """Pending deliveries due by `now` for subscribers starting with the prefix."""

    @abc.abstractmethod
    def update_delivery(self, delivery_id: int, **fields: Any) -> None: ...

    @abc.abstractmethod
    def list_deliveries(self, subscriber: str, limit: int = 100) -> list[DeliveryRecord]:
        """Newest first."""

    @abc.abstractmethod
    def close(self) -> None: ...
