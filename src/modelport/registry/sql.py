"""SQLAlchemy implementation of the metadata store (SQLite by default, PostgreSQL by URL).

Writes are short transactions; on SQLite they start with `BEGIN IMMEDIATE` so concurrent
writers queue on the busy timeout instead of failing on a lock upgrade, and the database runs
in WAL mode so readers never block writers. Version numbers come from a per-name counter row,
so versions are consecutive, never reused after a delete, and concurrent registrations of
the same name each get their own.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError as SAIntegrityError
from sqlalchemy.exc import OperationalError

from modelport.errors import ModelportError, NotFound
from modelport.registry import events as ev
from modelport.registry.events import DeliveryRecord, EventRecord, NewEvent
from modelport.registry.records import ModelRecord, RunRecord, select_models
from modelport.registry.store import MetadataStore

T = TypeVar("T")
SCHEMA_VERSION = 2  # 2: the event outbox, consumer cursors and the delivery log
# Writers of events take this PostgreSQL transaction lock, so event ids commit in id order.
_EVENTS_LOCK_KEY = 0x6D70_6576

metadata = sa.MetaData()

counters = sa.Table(
    "counters",
    metadata,
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("last", sa.Integer, nullable=False),
)

models = sa.Table(
    "models",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_time", sa.Float, nullable=False),
)

environments = sa.Table(
    "environments",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("spec", sa.Text, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("experiment_name", sa.String(255), nullable=False, index=True),
    sa.Column("parent_id", sa.String(64), index=True),
    sa.Column("body", sa.Text, nullable=False),
)

metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False, index=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("value", sa.Text, nullable=False),
)

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("body", sa.Text, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sqlite_autoincrement=True,  # ids are never reused, even after the newest row goes
)

cursors = sa.Table(
    "event_cursors",
    metadata,
    sa.Column("consumer", sa.String(64), primary_key=True),
    sa.Column("last_id", sa.Integer, nullable=False),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subscriber", sa.String(128), nullable=False),
    sa.Column("event_id", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_time", sa.Float, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("created_time", sa.Float, nullable=False),
    sa.Column("updated_time", sa.Float, nullable=False),
    sa.Column("detail", sa.Text, nullable=False, default="{}"),
    sa.UniqueConstraint("subscriber", "event_id"),
    sa.Index("ix_deliveries_due", "status", "next_time"),
)

schema_info = sa.Table(
    "schema_info",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class SQLStore(MetadataStore):
    """Metadata store on any SQLAlchemy URL; `sqlite:///path` is the embedded default."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if self._sqlite:
            kwargs["connect_args"] = {"timeout": 60, "check_same_thread": False}
        self.engine: Engine = sa.create_engine(url, **kwargs)
        if self._sqlite:
            _configure_sqlite(self.engine)
        self._migrate()

    # -- plumbing --------------------------------------------------------------------
    def _migrate(self) -> None:
        try:  # the common case: the schema is there already (one cheap query)
            with self._read() as conn:
                if conn.execute(sa.select(schema_info.c.version)).scalar() == SCHEMA_VERSION:
                    return
        except (OperationalError, sa.exc.ProgrammingError):
            pass

        def create(conn: Connection) -> None:
            metadata.create_all(conn)  # adds the tables a newer schema has, keeps the rest
            if conn.execute(sa.select(schema_info.c.version)).first() is None:
                conn.execute(schema_info.insert().values(version=SCHEMA_VERSION))
            else:
                conn.execute(schema_info.update().values(version=SCHEMA_VERSION))

        # another process may create the schema at the same moment
        with contextlib.suppress(SAIntegrityError):
            self._write(create)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def _write(self, fn: Callable[[Connection], T], retries: int = 20) -> T:
        """Run `fn` in one short write transaction, retrying on races between writers."""
        for attempt in range(retries):
            try:
                with self.engine.connect() as conn:
                    conn = conn.execution_options(immediate=True)
                    with conn.begin():
                        return fn(conn)
            except SAIntegrityError:
                if attempt == retries - 1:
                    raise
            except OperationalError as exc:  # "database is locked" under heavy contention
                if "locked" not in str(exc) or attempt == retries - 1:
                    raise ModelportError(
                        f"The metadata database is unavailable: {exc.orig}"
                    ) from exc
            time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    def _next(self, conn: Connection, kind: str, name: str) -> int:
        updated = conn.execute(
            counters.update()
            .where(counters.c.kind == kind, counters.c.name == name)
            .values(last=counters.c.last + 1)
        )
        if updated.rowcount == 0:
            conn.execute(counters.insert().values(kind=kind, name=name, last=1))
            return 1
        return int(
            conn.execute(
                sa.select(counters.c.last).where(counters.c.kind == kind, counters.c.name == name)
            ).scalar_one()
        )

    def close(self) -> None:
        self.engine.dispose()

    # -- models ----------------------------------------------------------------------
    def create_model(self, record: ModelRecord) -> ModelRecord:
        def insert(conn: Connection) -> ModelRecord:
            record.version = self._next(conn, "model", record.name)
            record.created_time = time.time()
            conn.execute(
                models.insert().values(
                    name=record.name,
                    version=record.version,
                    body=_dumps(record.to_dict()),
                    created_time=record.created_time,
                )
            )
            self._emit(conn, ev.model_event(ev.MODEL_REGISTERED, record))
            return record

        return self._write(insert)

    def get_model(self, name: str, version: int | None = None) -> ModelRecord:
        query = sa.select(models.c.body).where(models.c.name == name)
        if version is None:
            query = query.order_by(models.c.version.desc()).limit(1)
        else:
            query = query.where(models.c.version == version)
        with self._read() as conn:
            body = conn.execute(query).scalar()
        if body is None:
            raise _model_not_found(self, name, version)
        return ModelRecord(**json.loads(body))

    def list_models(
        self,
        name: str | None = None,
        tags: Sequence[tuple[str, str | None]] = (),
        properties: Sequence[tuple[str, str | None]] = (),
        latest: bool = False,
    ) -> list[ModelRecord]:
        query = sa.select(models.c.body).order_by(models.c.name, models.c.version.desc())
        if name is not None:
            query = query.where(models.c.name == name)
        with self._read() as conn:
            bodies = conn.execute(query).scalars().all()
        return select_models(bodies, tags, properties, latest)

    def update_model(
        self,
        name: str,
        version: int,
        *,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        properties: dict[str, str] | None = None,
    ) -> ModelRecord:
        def update(conn: Connection) -> ModelRecord:
            body = conn.execute(
                sa.select(models.c.body).where(models.c.name == name, models.c.version == version)
            ).scalar()
            if body is None:
                raise _model_not_found(self, name, version)
            record = ModelRecord(**json.loads(body))
            old_tags = dict(record.tags)
            if description is not None:
                record.description = description
            if tags is not None:
                record.tags = dict(tags)
            if properties is not None:
                record.properties = dict(properties)
            conn.execute(
                models.update()
                .where(models.c.name == name, models.c.version == version)
                .values(body=_dumps(record.to_dict()))
            )
            if record.tags != old_tags:
                event = ev.model_event(ev.MODEL_TAGS_CHANGED, record)
                event.payload["previous_tags"] = old_tags
                self._emit(conn, event)
            return record

        return self._write(update)

    def delete_model(self, name: str, version: int) -> None:
        def delete(conn: Connection) -> None:
            where = (models.c.name == name, models.c.version == version)
            body = conn.execute(sa.select(models.c.body).where(*where)).scalar()
            if body is None:
                raise _model_not_found(self, name, version)
            conn.execute(models.delete().where(*where))
            self._emit(conn, ev.model_event(ev.MODEL_DELETED, ModelRecord(**json.loads(body))))

        self._write(delete)

    # -- environments ----------------------------------------------------------------
    def add_environment(self, name: str, spec: dict[str, Any]) -> int:
        text = _dumps(spec)

        def add(conn: Connection) -> int:
            latest = conn.execute(
                sa.select(environments.c.version, environments.c.spec)
                .where(environments.c.name == name)
                .order_by(environments.c.version.desc())
                .limit(1)
            ).first()
            if latest is not None and latest.spec == text:
                return int(latest.version)
            version = self._next(conn, "environment", name)
            conn.execute(environments.insert().values(name=name, version=version, spec=text))
            return version

        return self._write(add)

    def get_environment(self, name: str, version: int | None = None) -> tuple[int, dict[str, Any]]:
        query = sa.select(environments.c.version, environments.c.spec).where(
            environments.c.name == name
        )
        if version is None:
            query = query.order_by(environments.c.version.desc()).limit(1)
        else:
            query = query.where(environments.c.version == version)
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None:
            what = f"Environment '{name}'" + (f" version {version}" if version else "")
            raise NotFound(
                f"{what} is not registered in this workspace.",
                hint="Register it with env.register(ws) or list them with "
                "`modelport environment list`.",
            )
        return int(row.version), json.loads(row.spec)

    def list_environments(self) -> list[tuple[str, int, dict[str, Any]]]:
        query = sa.select(environments).order_by(environments.c.name, environments.c.version.desc())
        with self._read() as conn:
            return [(r.name, int(r.version), json.loads(r.spec)) for r in conn.execute(query)]

    # -- runs ------------------------------------------------------------------------
    def create_run(self, record: RunRecord) -> RunRecord:
        def insert(conn: Connection) -> RunRecord:
            conn.execute(
                runs.insert().values(
                    id=record.id,
                    experiment_name=record.experiment_name,
                    parent_id=record.parent_id,
                    body=_dumps(record.to_dict()),
                )
            )
            return record

        return self._write(insert)

    def get_run(self, run_id: str) -> RunRecord:
        with self._read() as conn:
            body = conn.execute(sa.select(runs.c.body).where(runs.c.id == run_id)).scalar()
        if body is None:
            raise NotFound(
                f"Run '{run_id}' does not exist in this workspace.",
                hint="Check the run id (`Experiment(ws, name).get_runs()` lists them).",
            )
        return RunRecord(**json.loads(body))

    def update_run(self, run_id: str, **fields: Any) -> RunRecord:
        def update(conn: Connection) -> RunRecord:
            body = conn.execute(sa.select(runs.c.body).where(runs.c.id == run_id)).scalar()
            if body is None:
                raise NotFound(f"Run '{run_id}' does not exist in this workspace.")
            data = json.loads(body)
            data.update(fields)
            conn.execute(runs.update().where(runs.c.id == run_id).values(body=_dumps(data)))
            return RunRecord(**data)

        return self._write(update)

    def list_runs(
        self, experiment_name: str | None = None, parent_id: str | None = None
    ) -> list[RunRecord]:
        query = sa.select(runs.c.body)
        if experiment_name is not None:
            query = query.where(runs.c.experiment_name == experiment_name)
        if parent_id is not None:
            query = query.where(runs.c.parent_id == parent_id)
        with self._read() as conn:
            records = [RunRecord(**json.loads(b)) for b in conn.execute(query).scalars()]
        records.sort(key=lambda r: r.start_time, reverse=True)
        return records

    def log_metric(self, run_id: str, name: str, value: Any) -> None:
        self._write(
            lambda conn: conn.execute(
                metrics.insert().values(run_id=run_id, name=name, value=_dumps(value))
            )
        )

    def get_metrics(self, run_id: str) -> dict[str, list[Any]]:
        query = sa.select(metrics.c.name, metrics.c.value).where(metrics.c.run_id == run_id)
        out: dict[str, list[Any]] = {}
        with self._read() as conn:
            for row in conn.execute(query.order_by(metrics.c.id)):
                out.setdefault(row.name, []).append(json.loads(row.value))
        return out

    # -- documents -------------------------------------------------------------------
    def put_document(
        self, kind: str, name: str, body: dict[str, Any], event: NewEvent | None = None
    ) -> None:
        text = _dumps(body)

        def put(conn: Connection) -> None:
            updated = conn.execute(
                documents.update()
                .where(documents.c.kind == kind, documents.c.name == name)
                .values(body=text)
            )
            if updated.rowcount == 0:
                conn.execute(documents.insert().values(kind=kind, name=name, body=text))
            if event is not None:
                self._emit(conn, event)

        self._write(put)

    def get_document(self, kind: str, name: str) -> dict[str, Any]:
        with self._read() as conn:
            body = conn.execute(
                sa.select(documents.c.body).where(
                    documents.c.kind == kind, documents.c.name == name
                )
            ).scalar()
        if body is None:
            raise NotFound(f"No {kind} named '{name}' in this workspace.")
        result: dict[str, Any] = json.loads(body)
        return result

    def list_documents(self, kind: str) -> list[dict[str, Any]]:
        query = (
            sa.select(documents.c.body).where(documents.c.kind == kind).order_by(documents.c.name)
        )
        with self._read() as conn:
            return [json.loads(b) for b in conn.execute(query).scalars()]

    def delete_document(self, kind: str, name: str, event: NewEvent | None = None) -> None:
        def delete(conn: Connection) -> None:
            result = conn.execute(
                documents.delete().where(documents.c.kind == kind, documents.c.name == name)
            )
            if result.rowcount == 0:
                raise NotFound(f"No {kind} named '{name}' in this workspace.")
            if event is not None:
                self._emit(conn, event)

        self._write(delete)

    # -- the event outbox and its delivery log -----------------------------------------
    def _emit(self, conn: Connection, event: NewEvent) -> int:
        """Append `event` inside the caller's transaction (see registry/events.py)."""
        if not self._sqlite:  # SQLite writers are serialised by BEGIN IMMEDIATE already
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _EVENTS_LOCK_KEY})
        result = conn.execute(
            events.insert().values(type=event.type, time=time.time(), payload=_dumps(event.payload))
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def append_event(self, event: NewEvent) -> int:
        return self._write(lambda conn: self._emit(conn, event))

    def read_events(
        self, after: int = 0, limit: int = 100, types: Sequence[str] = ()
    ) -> list[EventRecord]:
        query = sa.select(events).where(events.c.id > after).order_by(events.c.id).limit(limit)
        if types:
            query = query.where(events.c.type.in_(list(types)))
        with self._read() as conn:
            return [_event(row) for row in conn.execute(query)]

    def get_event(self, event_id: int) -> EventRecord:
        with self._read() as conn:
            row = conn.execute(sa.select(events).where(events.c.id == event_id)).first()
        if row is None:
            raise NotFound(f"No event {event_id} in this workspace.")
        return _event(row)

    def last_event_id(self) -> int:
        with self._read() as conn:
            return int(conn.execute(sa.select(sa.func.max(events.c.id))).scalar() or 0)

    def get_cursor(self, consumer: str) -> int:
        with self._read() as conn:
            value = conn.execute(
                sa.select(cursors.c.last_id).where(cursors.c.consumer == consumer)
            ).scalar()
        return int(value or 0)

    def advance_cursor(
        self, consumer: str, to_id: int, new_deliveries: Sequence[tuple[str, int]] = ()
    ) -> None:
        """Queue (subscriber, event id) deliveries and move the cursor, atomically: a
        consumer that dies before this commits reads the same events again."""

        def advance(conn: Connection) -> None:
            now = time.time()
            for subscriber, event_id in new_deliveries:
                exists = conn.execute(
                    sa.select(deliveries.c.id).where(
                        deliveries.c.subscriber == subscriber, deliveries.c.event_id == event_id
                    )
                ).first()
                if exists is None:
                    conn.execute(
                        deliveries.insert().values(
                            subscriber=subscriber,
                            event_id=event_id,
                            status=ev.PENDING,
                            attempts=0,
                            next_time=now,
                            created_time=now,
                            updated_time=now,
                            detail="{}",
                        )
                    )
            updated = conn.execute(
                cursors.update().where(cursors.c.consumer == consumer).values(last_id=to_id)
            )
            if updated.rowcount == 0:
                conn.execute(cursors.insert().values(consumer=consumer, last_id=to_id))

        self._write(advance)

    def due_deliveries(
        self, subscriber_prefix: str, now: float, limit: int = 50
    ) -> list[DeliveryRecord]:
        query = (
            sa.select(deliveries)
            .where(
                deliveries.c.status == ev.PENDING,
                deliveries.c.next_time <= now,
                deliveries.c.subscriber.startswith(subscriber_prefix),
            )
            .order_by(deliveries.c.next_time, deliveries.c.id)
            .limit(limit)
        )
        with self._read() as conn:
            return [_delivery(row) for row in conn.execute(query)]

    def update_delivery(self, delivery_id: int, **fields: Any) -> None:
        if "detail" in fields:
            fields["detail"] = _dumps(fields["detail"])
        fields["updated_time"] = time.time()
        self._write(
            lambda conn: conn.execute(
                deliveries.update().where(deliveries.c.id == delivery_id).values(**fields)
            )
        )

    def list_deliveries(self, subscriber: str, limit: int = 100) -> list[DeliveryRecord]:
        query = (
            sa.select(deliveries)
            .where(deliveries.c.subscriber == subscriber)
            .order_by(deliveries.c.id.desc())
            .limit(limit)
        )
        with self._read() as conn:
            return [_delivery(row) for row in conn.execute(query)]


def _event(row: Any) -> EventRecord:
    return EventRecord(int(row.id), row.type, float(row.time), json.loads(row.payload))


def _delivery(row: Any) -> DeliveryRecord:
    data = dict(row._mapping)
    data["detail"] = json.loads(data.get("detail") or "{}")
    return DeliveryRecord(**data)


def _model_not_found(store: SQLStore, name: str, version: int | None) -> NotFound:
    with store._read() as conn:
        versions = (
            conn.execute(
                sa.select(models.c.version).where(models.c.name == name).order_by(models.c.version)
            )
            .scalars()
            .all()
        )
    if not versions:
        return NotFound(
            f"Model '{name}' is not registered in this workspace.",
            hint="List registered models with `modelport model list`.",
        )
    return NotFound(
        f"Model '{name}' has no version {version}.",
        hint=f"Registered versions: {', '.join(map(str, versions))}.",
    )


def _configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout, and IMMEDIATE transactions (the documented pysqlite recipe)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let us emit BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
