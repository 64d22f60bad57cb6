"""The embedded SQLite store, with the CLI's hot reads done by the standard library.

Importing SQLAlchemy costs ~180 ms, more than everything else `modelport model list` does. So
for a `sqlite:///` workspace, listing and showing models and services read the file with
`sqlite3` directly; everything else (every write, migrations, the rarer reads and all error
paths) goes to the SQLAlchemy store, created on first use. Both read the same tables.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from typing import TYPE_CHECKING, Any

from modelport.registry.events import DeliveryRecord, EventRecord, NewEvent
from modelport.registry.records import ModelRecord, RunRecord, select_models
from modelport.registry.store import MetadataStore

if TYPE_CHECKING:
    from modelport.registry.sql import SQLStore

SCHEMA_VERSION = 2  # must equal modelport.registry.sql.SCHEMA_VERSION (a test checks)
PREFIX = "sqlite:///"


class SQLiteStore(MetadataStore):
    """`SQLStore` for one SQLite file, answering the frequent reads without SQLAlchemy."""

    def __init__(self, url: str) -> None:
        if not url.startswith(PREFIX) or url == PREFIX:
            raise ValueError(f"SQLiteStore needs a sqlite:///<file> URL, got {url!r}")
        self.url = url
        self.path = url[len(PREFIX) :]
        self._sql: SQLStore | None = None
        if not self._schema_is_current():
            self.sql  # noqa: B018 - create or migrate the schema now, as SQLStore does

    @property
    def sql(self) -> SQLStore:
        if self._sql is None:
            from modelport.registry.sql import SQLStore

            self._sql = SQLStore(self.url)
        return self._sql

    def _rows(self, query: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.path, timeout=60)) as conn:
            return conn.execute(query, params).fetchall()

    def _schema_is_current(self) -> bool:
        try:
            rows = self._rows("SELECT version FROM schema_info", {})
        except sqlite3.Error:  # no file yet, or no tables yet
            return False
        return bool(rows) and rows[0][0] == SCHEMA_VERSION

    # -- fast reads ----------------------------------------------------------------------
    def get_model(self, name: str, version: int | None = None) -> ModelRecord:
        if version is None:
            query = "SELECT body FROM models WHERE name = :name ORDER BY version DESC LIMIT 1"
        else:
            query = "SELECT body FROM models WHERE name = :name AND version = :version"
        rows = self._rows(query, {"name": name, "version": version})
        if not rows:
            return self.sql.get_model(name, version)  # raises the NotFound that says why
        return ModelRecord(**json.loads(rows[0][0]))

    def list_models(
        self,
        name: str | None = None,
        tags: Sequence[tuple[str, str | None]] = (),
        properties: Sequence[tuple[str, str | None]] = (),
        latest: bool = False,
    ) -> list[ModelRecord]:
        where = " WHERE name = :name" if name is not None else ""
        rows = self._rows(
            f"SELECT body FROM models{where} ORDER BY name, version DESC", {"name": name}
        )
        return select_models((r[0] for r in rows), tags, properties, latest)

    def get_document(self, kind: str, name: str) -> dict[str, Any]:
        rows = self._rows(
            "SELECT body FROM documents WHERE kind = :kind AND name = :name",
            {"kind": kind, "name": name},
        )
        if not rows:
            return self.sql.get_document(kind, name)  # raises NotFound
        result: dict[str, Any] = json.loads(rows[0][0])
        return result

    def list_documents(self, kind: str) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT body FROM documents WHERE kind = :kind ORDER BY name", {"kind": kind}
        )
        return [json.loads(r[0]) for r in rows]

    # -- everything else: the SQLAlchemy store -------------------------------------------
    def create_model(self, record: ModelRecord) -> ModelRecord:
        return self.sql.create_model(record)

    def update_model(
        self,
        name: str,
        version: int,
        *,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
    ) -> ModelRecord:
        return self.sql.update_model(
            name, version, description=description, tags=tags, properties=properties
        )

    def delete_model(self, name: str, version: int) -> None:
        self.sql.delete_model(name, version)

    def add_environment(self, name: str, spec: dict[str, Any]) -> int:
        return self.sql.add_environment(name, spec)

    def get_environment(self, name: str, version: int | None = None) -> tuple[int, dict[str, Any]]:
        return self.sql.get_environment(name, version)

    def list_environments(self) -> list[tuple[str, int, dict[str, Any]]]:
        return self.sql.list_environments()

    def create_run(self, record: RunRecord) -> RunRecord:
        return self.sql.create_run(record)

    def get_run(self, run_id: str) -> RunRecord:
        return self.sql.get_run(run_id)

    def update_run(self, run_id: str, **fields: Any) -> RunRecord:
        return self.sql.update_run(run_id, **fields)

    def list_runs(
        self, experiment_name: str | None = None, parent_id: str | None = None
    ) -> list[RunRecord]:
        return self.sql.list_runs(experiment_name, parent_id)

    def log_metric(self, run_id: str, name: str, value: Any) -> None:
        self.sql.log_metric(run_id, name, value)

    def get_metrics(self, run_id: str) -> dict[str, list[Any]]:
        return self.sql.get_metrics(run_id)

    def put_document(
        self, kind: str, name: str, body: dict[str, Any], event: NewEvent | None = None
    ) -> None:
        self.sql.put_document(kind, name, body, event)

    def delete_document(self, kind: str, name: str, event: NewEvent | None = None) -> None:
        self.sql.delete_document(kind, name, event)

    def append_event(self, event: NewEvent) -> int:
        return self.sql.append_event(event)

    def read_events(
        self, after: int = 0, limit: int = 100, types: Sequence[str] = ()
    ) -> list[EventRecord]:
        return self.sql.read_events(after, limit, types)

    def get_event(self, event_id: int) -> EventRecord:
        return self.sql.get_event(event_id)

    def last_event_id(self) -> int:
        return self.sql.last_event_id()

    def get_cursor(self, consumer: str) -> int:
        return self.sql.get_cursor(consumer)

    def advance_cursor(
        self, consumer: str, to_id: int, new_deliveries: Sequence[tuple[str, int]] = ()
    ) -> None:
        self.sql.advance_cursor(consumer, to_id, new_deliveries)

    def due_deliveries(
        self, subscriber_prefix: str, now: float, limit: int = 50
    ) -> list[DeliveryRecord]:
        return self.sql.due_deliveries(subscriber_prefix, now, limit)

    def update_delivery(self, delivery_id: int, **fields: Any) -> None:
        self.sql.update_delivery(delivery_id, **fields)

    def list_deliveries(self, subscriber: str, limit: int = 100) -> list[DeliveryRecord]:
        return self.sql.list_deliveries(subscriber, limit)

    def close(self) -> None:
        if self._sql is not None:
            self._sql.close()
            self._sql = None
