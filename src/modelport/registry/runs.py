"""Experiments and runs: just enough to register a model from a training run.

A run's files live under `<workspace>/runs/<id>/`; files a script writes to the `outputs`
folder it was given are uploaded when the run completes, as in v1. This is not an
experiment tracker: metrics are a flat list per name.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport.errors import InvalidArgument, NotFound
from modelport.registry.models import Model
from modelport.registry.names import validate_name
from modelport.registry.records import RunRecord

if TYPE_CHECKING:
    from modelport.registry.resources import ResourceConfiguration
    from modelport.workspace import Workspace

_MINIMIZE_HINTS = ("loss", "error", "rmse", "mse", "mae", "mape")


class Experiment:
    """A named group of runs (`Experiment(ws, name)` as in v1)."""

    def __init__(self, workspace: Workspace, name: str) -> None:
        self.workspace = workspace
        self.name = validate_name("experiment", name)

    def start_logging(
        self,
        outputs: str | os.PathLike[str] | None = "./outputs",
        snapshot_directory: str | None = None,
        display_name: str | None = None,
        **_unused: Any,
    ) -> Run:
        """Start an interactive run; files left in `outputs` are uploaded on complete()."""
        return Run._start(self.workspace, self.name, None, display_name, outputs)

    def submit(self, config: Any, tags: Mapping[str, str] | None = None, **kwargs: Any) -> Run:
        """Submit a run configuration (a `Pipeline`, …); it starts itself via `_submit`.

        The registry knows nothing of pipelines: anything with `_submit(experiment, **kw)`
        can be submitted, as v1 dispatches on the config's submit function.
        """
        submit = getattr(config, "_submit", None)
        if not callable(submit):
            raise InvalidArgument(
                f"Cannot submit a {type(config).__name__} to an experiment.",
                hint="Submit a ScriptRunConfig (modelport.core) or a modelport.pipeline Pipeline.",
            )
        run: Run = submit(self, tags=dict(tags or {}), **kwargs)
        return run

    def get_runs(self) -> list[Run]:
        return [Run(self.workspace, r.id) for r in self.workspace.store.list_runs(self.name)]

    def __repr__(self) -> str:
        return f"Experiment(name={self.name!r})"


class Run:
    """One training run: metrics, uploaded files, children, and model registration."""

    def __init__(self, workspace: Workspace, run_id: str, *, _outputs: Path | None = None) -> None:
        self.workspace = workspace
        self._record = workspace.store.get_run(run_id)
        self._outputs = _outputs

    @classmethod
    def get(cls, workspace: Workspace, run_id: str) -> Run:
        return cls(workspace, run_id)

    @classmethod
    def _start(
        cls,
        workspace: Workspace,
        experiment: str,
        parent_id: str | None,
        name: str | None,
        outputs: str | os.PathLike[str] | None,
    ) -> Run:
        record = RunRecord(
            id=f"{experiment}_{int(time.time())}_{uuid.uuid4().hex[:8]}",
            experiment_name=experiment,
            status="Running",
            start_time=time.time(),
            parent_id=parent_id,
            name=name,
        )
        workspace.store.create_run(record)
        run = cls(workspace, record.id, _outputs=Path(outputs).resolve() if outputs else None)
        run.files_dir.mkdir(parents=True, exist_ok=True)
        return run

    # -- identity ----------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._record.id

    @property
    def experiment_name(self) -> str:
        return self._record.experiment_name

    @property
    def experiment(self) -> Experiment:
        return Experiment(self.workspace, self.experiment_name)

    @property
    def status(self) -> str:
        return self._record.status

    def get_status(self) -> str:
        """The current status, read again from the store (another process may update it)."""
        self._record = self.workspace.store.get_run(self.id)
        return self._record.status

    @property
    def parent(self) -> Run | None:
        return Run(self.workspace, self._record.parent_id) if self._record.parent_id else None

    @property
    def files_dir(self) -> Path:
        return self.workspace.path / "runs" / self.id

    # -- logging -----------------------------------------------------------------------
    def log(self, name: str, value: Any, description: str = "") -> None:
        self.workspace.store.log_metric(self.id, name, value)

    def log_list(self, name: str, value: list[Any], description: str = "") -> None:
        for item in value:
            self.log(name, item)

    def get_metrics(self, name: str | None = None) -> dict[str, Any]:
        """Latest value per metric name; lists for names logged more than once (v1 shape)."""
        raw = self.workspace.store.get_metrics(self.id)
        shaped = {k: v[0] if len(v) == 1 else v for k, v in raw.items()}
        return {name: shaped[name]} if name is not None and name in shaped else shaped

    def tag(self, key: str, value: str | None = None) -> None:
        tags = {**self._record.tags, key: "" if value is None else str(value)}
        self._record = self.workspace.store.update_run(self.id, tags=tags)

    def add_properties(self, properties: Mapping[str, str]) -> None:
        props = {**self._record.properties, **{k: str(v) for k, v in properties.items()}}
        self._record = self.workspace.store.update_run(self.id, properties=props)

    def get_tags(self) -> dict[str, str]:
        return dict(self._record.tags)

    def get_properties(self) -> dict[str, str]:
        return dict(self._record.properties)

    # -- files -------------------------------------------------------------------------
    def upload_file(self, name: str, path_or_stream: str | os.PathLike[str] | Any) -> None:
        dest = self._file_path(name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.part")
        if isinstance(path_or_stream, str | os.PathLike):
            shutil.copyfile(path_or_stream, tmp)
        else:
            with open(tmp, "wb") as out:
                shutil.copyfileobj(path_or_stream, out)
        os.replace(tmp, dest)

    def upload_folder(self, name: str, path: str | os.PathLike[str]) -> None:
        root = Path(path)
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            self.upload_file(f"{name.rstrip('/')}/{file.relative_to(root).as_posix()}", file)

    def get_file_names(self) -> list[str]:
        return sorted(
            p.relative_to(self.files_dir).as_posix()
            for p in self.files_dir.rglob("*")
            if p.is_file()
        )

    def download_file(
        self, name: str, output_file_path: str | os.PathLike[str] | None = None
    ) -> None:
        src = self._file_path(name)
        if not src.is_file():
            raise NotFound(f"Run {self.id} has no file '{name}'.", hint="See run.get_file_names().")
        shutil.copyfile(src, output_file_path or Path(name).name)

    def _file_path(self, name: str) -> Path:
        path = (self.files_dir / name).resolve()
        if not path.is_relative_to(self.files_dir.resolve()):
            raise InvalidArgument(f"Run file name {name!r} leaves the run's folder.")
        return path

    # -- lifecycle ---------------------------------------------------------------------
    def child_run(
        self, name: str | None = None, run_id: str | None = None, outputs: str | None = None
    ) -> Run:
        return Run._start(self.workspace, self.experiment_name, self.id, name, outputs)

    def get_children(self) -> list[Run]:
        return [
            Run(self.workspace, r.id) for r in self.workspace.store.list_runs(parent_id=self.id)
        ]

    def complete(self) -> None:
        self._finish("Completed")

    def fail(self, error_details: Any = None) -> None:
        self._finish("Failed")

    def _finish(self, status: str) -> None:
        if self._outputs is not None and self._outputs.is_dir():
            self.upload_folder("outputs", self._outputs)
        self._record = self.workspace.store.update_run(self.id, status=status, end_time=time.time())

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self._finish("Failed" if exc_type else "Completed")

    # -- models ------------------------------------------------------------------------
    def register_model(
        self,
        model_name: str | None = None,
        model_path: str | None = None,
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
        model_framework: str | None = None,
        model_framework_version: str | None = None,
        description: str | None = None,
        datasets: Any = None,
        sample_input_dataset: Any = None,
        sample_output_dataset: Any = None,
        resource_configuration: ResourceConfiguration | None = None,
        metric: str | None = None,
        iteration: int | None = None,
        **_unused: Any,
    ) -> Model:
        """Register a file or folder of this run (default `outputs`) as a model version.

        On a parent run, `metric=` (or the only metric all children log) picks the best child,
        as AutoML's `register_model` does; the version records the run it came from.
        """
        source_run: Run = self
        children = self.get_children()
        if children and (metric is not None or model_path is None or iteration is not None):
            source_run = self._best_child(children, metric, iteration)
        path = model_path or "outputs"
        local = source_run._file_path(path)
        if not local.exists():
            raise NotFound(
                f"Run {source_run.id} has no file or folder '{path}'.",
                hint=f"Its files: {', '.join(source_run.get_file_names()) or 'none'}.",
            )
        name = model_name or f"{self.experiment_name}-{source_run.id[-8:]}"
        model = Model.register(
            self.workspace,
            local,
            name,
            tags=tags,
            properties={**(properties or {}), "run_id": source_run.id},
            description=description,
            model_framework=model_framework,
            model_framework_version=model_framework_version,
            sample_input_dataset=sample_input_dataset,
            sample_output_dataset=sample_output_dataset,
            resource_configuration=resource_configuration,
            run_id=source_run.id,
            experiment_name=self.experiment_name,
        )
        self.model_id = model.name
        return model

    def _best_child(self, children: list[Run], metric: str | None, iteration: int | None) -> Run:
        ordered = sorted(children, key=lambda r: r._record.start_time)
        if iteration is not None:
            if not 0 <= iteration < len(ordered):
                raise InvalidArgument(f"Run {self.id} has no iteration {iteration}.")
            return ordered[iteration]
        scored = {c.id: c.get_metrics() for c in ordered}
        if metric is None:
            metric = self._record.properties.get("primary_metric")
        if metric is None:
            common = set.intersection(*(set(m) for m in scored.values())) if scored else set()
            if len(common) != 1:
                raise InvalidArgument(
                    f"Cannot choose the best child of run {self.id}: pass metric=<name>.",
                    hint=f"Metrics logged by every child: {', '.join(sorted(common)) or 'none'}.",
                )
            metric = common.pop()
        candidates = [(c, _last(scored[c.id].get(metric))) for c in ordered]
        candidates = [(c, v) for c, v in candidates if isinstance(v, int | float)]
        if not candidates:
            raise InvalidArgument(f"No child of run {self.id} logged metric '{metric}'.")
        goal = self._record.properties.get("primary_metric_goal")
        minimize = goal == "minimize" or (
            goal is None and any(h in metric.lower() for h in _MINIMIZE_HINTS)
        )
        pick = min if minimize else max
        return pick(candidates, key=lambda cv: cv[1])[0]

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, experiment={self.experiment_name!r}, status={self.status!r})"


def _last(value: Any) -> Any:
    return value[-1] if isinstance(value, list) else value
