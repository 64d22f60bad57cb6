"""`azureml.pipeline.core` equivalents: `Pipeline`, `PipelineData`, `PipelineRun`, `StepRun`.

`Experiment(ws, name).submit(pipeline)` calls `Pipeline._submit`, which starts the batch
driver and returns a `PipelineRun`; v1 notebooks then wait, find the step run and download
its output: `pipeline_run.find_step_run("score")[0].get_output_data("scores").download(p)`.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from modelport.batch import launch
from modelport.errors import InvalidArgument, ModelportError, NotFound
from modelport.registry.runs import Experiment, Run


class PipelineData:
    """A step output (v1: a folder on a datastore); here a folder of the step run."""

    def __init__(self, name: str, datastore: Any = None, output_name: str | None = None, **_: Any):
        self.name = output_name or name
        self.datastore = datastore

    def __repr__(self) -> str:
        return f"PipelineData(name={self.name!r})"


class PipelineParameter:
    """A named value with a default; `submit(pipeline_parameters={...})` overrides it."""

    def __init__(self, name: str, default_value: Any) -> None:
        self.name = name
        self.default_value = default_value


class Pipeline:
    """An ordered list of steps; `Experiment(ws, name).submit(pipeline)` runs them."""

    def __init__(self, workspace: Any, steps: list[Any], description: str | None = None, **_: Any):
        from modelport.pipeline.steps import ParallelRunStep

        steps = list(steps) if isinstance(steps, list | tuple) else [steps]
        if not steps:
            raise InvalidArgument("A Pipeline needs at least one step.")
        for step in steps:
            if not isinstance(step, ParallelRunStep):
                raise InvalidArgument(
                    f"{type(step).__name__} steps are not supported yet; use ParallelRunStep."
                )
        names = [s.name for s in steps]
        if len(set(names)) != len(names):
            raise InvalidArgument(f"Step names must be unique in a pipeline: {names}.")
        self.workspace = workspace
        self.steps = steps
        self.description = description

    def validate(self) -> list[str]:
        return []  # everything is checked when the steps are built

    def submit(self, experiment_name: str, **kwargs: Any) -> PipelineRun:
        return self._submit(Experiment(self.workspace, experiment_name), **kwargs)

    def _submit(
        self,
        experiment: Experiment,
        tags: dict[str, str] | None = None,
        pipeline_parameters: dict[str, Any] | None = None,
        regenerate_outputs: bool = False,
        **_unused: Any,
    ) -> PipelineRun:
        specs = [
            step._spec(regenerate=regenerate_outputs, workspace=experiment.workspace)
            for step in self.steps
        ]
        if pipeline_parameters:
            specs = [_with_parameters(s, pipeline_parameters) for s in specs]
        parent, _ = launch.start(
            experiment.workspace, experiment.name, specs, tags=tags, name=self.description
        )
        return PipelineRun(experiment, parent.id)


def _with_parameters(spec: Any, values: dict[str, Any]) -> Any:
    args = []
    for a in spec.arguments:
        args.append(str(values.get(a, a)))
    spec.arguments = args
    return spec


class _BatchRun(Run):
    """What PipelineRun and StepRun share: status that notices a dead driver, and waiting."""

    def __init__(self, experiment: Experiment, run_id: str, **_: Any) -> None:
        super().__init__(experiment.workspace, run_id)

    def _pipeline(self) -> Run:
        parent = self.parent
        return self if parent is None else parent

    def get_status(self) -> str:
        launch.refresh(self._pipeline())
        return super().get_status()

    def wait_for_completion(
        self,
        show_output: bool = True,
        timeout_seconds: float | None = None,
        raise_on_error: bool = True,
    ) -> str:
        """Block until the run ends; with show_output, stream the driver log and progress."""
        launch.wait(self._pipeline(), show_output, timeout_seconds, sys.stdout)
        status = self.get_status()
        if status == "Failed" and raise_on_error:
            raise _failure(self)
        return status


def _failure(run: Run) -> ModelportError:
    from modelport.batch.driver import BatchFailed

    runs = [run] if run.parent is not None else run.get_children()
    for step in runs:
        error = launch.summary(step).get("error")
        if error:
            return BatchFailed(f"Step run {step.id} failed: {error}")
    return BatchFailed(f"Run {run.id} failed; see its log: {run.files_dir / 'logs' / 'driver.log'}")


class PipelineRun(_BatchRun):
    """v1's PipelineRun: steps as children, `find_step_run(name)`, `wait_for_completion()`."""

    def get_children(self) -> Iterator[StepRun]:  # type: ignore[override]
        return iter(self.get_steps())

    def get_steps(self) -> list[StepRun]:
        return [
            StepRun(self.experiment, r.id)
            for r in self.workspace.store.list_runs(parent_id=self.id)
        ]

    def find_step_run(self, name: str) -> list[StepRun]:
        return [s for s in self.get_steps() if s.name == name]


class StepRun(_BatchRun):
    """One step of a pipeline run: its outputs and summary."""

    @property
    def name(self) -> str | None:
        return self._record.name

    def get_output_data(self, name: str) -> PortDataReference:
        folder = self.files_dir / "outputs" / name
        if not folder.is_dir():
            outputs = sorted(p.name for p in (self.files_dir / "outputs").glob("*"))
            raise NotFound(
                f"Step run {self.id} has no output '{name}'.",
                hint=f"Its outputs: {', '.join(outputs) or 'none (has it run?)'}.",
            )
        return PortDataReference(self, name, folder)

    def get_output(self, name: str) -> PortDataReference:
        return self.get_output_data(name)

    def get_summary(self) -> dict[str, Any]:
        return launch.summary(self)


class PortDataReference:
    """A step output; `download(local_path)` copies it to `local_path/azureml/<run>/<name>/`."""

    def __init__(self, step: StepRun, name: str, folder: Path) -> None:
        self.step = step
        self.name = name
        self.folder = folder
        self.path_on_datastore = f"azureml/{step.id}/{name}"

    def download(self, local_path: str, overwrite: bool = False, show_progress: bool = True) -> str:
        dest = Path(local_path) / self.path_on_datastore
        for src in sorted(
            p for p in self.folder.rglob("*") if p.is_file() and not p.name.startswith(".")
        ):
            target = dest / src.relative_to(self.folder)
            if target.exists() and not overwrite:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
            if show_progress:
                print(f"Downloaded {target}")
        return str(dest)

    def __repr__(self) -> str:
        return f"PortDataReference(step={self.step.id!r}, name={self.name!r})"
