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
from modelport.registry.records import ModelRecord, RunRecord, select_models
from modelport.registry.store import MetadataStore

T = TypeVar("T")
SCHEMA_VERSION = 1

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
            metadata.create_all(conn)
            if conn.execute(sa.select(schema_info.c.version)).first() is None:
                conn.execute(schema_info.insert().values(version=SCHEMA_VERSION))

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
            return record

        return self._write(update)

    def delete_model(self, name: str, version: int) -> None:
        def delete(conn: Connection) -> None:
            result = conn.execute(
                models.delete().where(models.c.name == name, models.c.version == version)
            )
            if result.rowcount == 0:
                raise _model_not_found(self, name, version)

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
    def put_document(self, kind: str, name: str, body: dict[str, Any]) -> None:
        text = _dumps(body)

        def put(conn: Connection) -> None:
            updated = conn.execute(
                documents.update()
                .where(documents.c.kind == kind, documents.c.name == name)
                .values(body=text)
            )
            if updated.rowcount == 0:
                conn.execute(documents.insert().values(kind=kind, name=name, body=text))

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

    def delete_document(self, kind: str, name: str) -> None:
        def delete(conn: Connection) -> None:
            result = conn.execute(
                documents.delete().where(documents.c.kind == kind, documents.c.name == name)
            )
            if result.rowcount == 0:
                raise NotFound(f"No {kind} named '{name}' in this workspace.")

        self._write(delete)


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
