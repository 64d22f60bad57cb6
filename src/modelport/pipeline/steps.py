"""`azureml.pipeline.steps` equivalents: `ParallelRunConfig` and `ParallelRunStep`.

Both validate what they can when built (as v1 does), so a wrong setting fails in the
notebook cell that made it, with one line naming the setting.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from modelport._ignored import ignored
from modelport.batch import spec as specs
from modelport.errors import InvalidArgument

_STEP_NAME = re.compile(r"[a-z][a-z0-9_-]{1,31}")
_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}


class ParallelRunConfig:
    """How a ParallelRunStep runs: script, mini-batch size, error threshold, output, workers."""

    def __init__(
        self,
        environment: Any = None,
        entry_script: str | None = None,
        error_threshold: int = 10,
        output_action: str = specs.APPEND_ROW,
        compute_target: Any = None,
        node_count: int = 1,
        process_count_per_node: int | None = None,
        mini_batch_size: Any = None,
        source_directory: str | os.PathLike[str] | None = None,
        description: str | None = None,
        logging_level: str = "INFO",
        run_invocation_timeout: int = 60,
        run_max_try: int = 3,
        append_row_file_name: str | None = None,
        environment_variables: dict[str, str] | None = None,
        **_unused: Any,
    ) -> None:
        if not entry_script:
            raise InvalidArgument("ParallelRunConfig needs entry_script.")
        self.source_directory = str(Path(source_directory or ".").resolve())
        script = Path(self.source_directory, entry_script)
        specs.check_entry_script(script, online=False)
        self.entry_script = str(script)
        if output_action not in (specs.APPEND_ROW, specs.SUMMARY_ONLY):
            raise InvalidArgument(
                f"output_action {output_action!r} is not supported.",
                hint="Use 'append_row' or 'summary_only'.",
            )
        self.output_action = output_action
        self.error_threshold = specs.check_int("error_threshold", error_threshold, -1)
        self.node_count = specs.check_int("node_count", node_count, 1)
        self.compute_target = compute_target
        # an attached cluster whose target runs shards: checked now when it is an object
        # (it knows its workspace), when the pipeline is submitted when it is a name
        self.compute = cluster_compute(compute_target, self.node_count, None)
        workers = process_count_per_node if process_count_per_node is not None else os.cpu_count()
        self.process_count_per_node = specs.check_int("process_count_per_node", workers or 1, 1)
        self.mini_batch_size = mini_batch_size
        if str(logging_level).upper() not in _LEVELS:
            raise InvalidArgument(f"logging_level {logging_level!r}: use one of {sorted(_LEVELS)}.")
        self.logging_level = str(logging_level).upper()
        if not isinstance(run_invocation_timeout, int | float) or run_invocation_timeout <= 0:
            raise InvalidArgument(
                f"run_invocation_timeout must be a positive number of seconds, got {run_invocation_timeout!r}."
            )
        self.run_invocation_timeout = float(run_invocation_timeout)
        self.run_max_try = specs.check_int("run_max_try", run_max_try, 1)
        self.append_row_file_name = append_row_file_name or specs.DEFAULT_FILE_NAME
        if os.path.basename(self.append_row_file_name) != self.append_row_file_name:
            raise InvalidArgument("append_row_file_name must be a file name, not a path.")
        self.environment = environment
        self.environment_variables = dict(environment_variables or {})
        self.description = description


def cluster_compute(target: Any, node_count: int, workspace: Any) -> str | None:
    """The attached compute whose nodes run the step (`node_count` shards), or None: this
    machine. A compute object, or a name `workspace` has attached, whose target runs shards
    (Kubernetes) is one; anything else (v1's AmlCompute names) runs here, node_count > 1
    ignored with a warning; a cluster whose nodes cannot share folders is refused in one line."""
    from modelport.deploy.computes import ComputeRecord, get_compute
    from modelport.deploy.shards import executor_for
    from modelport.errors import NotFound

    record = getattr(target, "_record", None)
    if isinstance(target, str) and workspace is not None:
        try:
            record = get_compute(workspace, target)
        except NotFound:
            record = None
    if isinstance(record, ComputeRecord):
        executor = executor_for(record)
        if executor is not None:
            problem = executor.unsupported(record)
            if not problem:
                return record.name
            if node_count > 1:
                raise InvalidArgument(f"ParallelRunConfig(node_count={node_count}): {problem}")
            ignored(  # one node is what this machine offers: the step runs here
                f"ParallelRunConfig(compute_target={record.name!r})",
                "its nodes share no storage with this machine (which batch shards need), so "
                "the step runs on this machine; docs/batch.md says how to attach one that does",
                stacklevel=4,
            )
            return None
    if node_count > 1 and not (isinstance(target, str) and workspace is None):
        # v1 notebooks ask AmlCompute clusters for nodes (the MNIST ParallelRunStep sample:
        # node_count=2); an AmlCompute here is this machine, so the step runs, on one node
        shown = getattr(target, "name", target)
        ignored(
            f"ParallelRunConfig(node_count={node_count}) on compute_target={shown!r}",
            "that compute is this machine, so the step runs here with process_count_per_node "
            "workers; to spread it over nodes, attach a Kubernetes cluster (`modelport compute "
            "attach`) and pass it as compute_target",
            stacklevel=4,
        )
    return None


class ParallelRunStep:
    """A pipeline step that runs `init()` once per worker and `run(mini_batch)` per mini-batch."""

    def __init__(
        self,
        name: str,
        parallel_run_config: ParallelRunConfig,
        inputs: list[Any],
        output: Any = None,
        side_inputs: list[Any] | None = None,
        arguments: list[Any] | None = None,
        allow_reuse: bool = True,
    ) -> None:
        if not _STEP_NAME.fullmatch(str(name)):
            raise InvalidArgument(
                f"Step name {name!r} is not valid.",
                hint="Use 2-32 lowercase letters, digits, '-' or '_', starting with a letter.",
            )
        if not isinstance(parallel_run_config, ParallelRunConfig):
            raise InvalidArgument("parallel_run_config must be a ParallelRunConfig.")
        self.name = name
        self.config = parallel_run_config
        self.kind, self.paths, self.tabular, self.input_name = _inputs(inputs)
        self.mini_batch_size = specs.parse_mini_batch_size(
            parallel_run_config.mini_batch_size, self.kind
        )
        self.output = output
        self.side_inputs = list(side_inputs or [])
        self.arguments = [_argument(a) for a in (arguments or [])]
        self.allow_reuse = bool(allow_reuse)

    def _spec(self, *, regenerate: bool = False, workspace: Any = None) -> specs.BatchSpec:
        c = self.config
        env = c.environment
        compute = c.compute
        if workspace is not None and compute is None and isinstance(c.compute_target, str):
            # a name: only the workspace knows it (an object was checked, and warned, when built)
            compute = cluster_compute(c.compute_target, c.node_count, workspace)
        return specs.BatchSpec(
            name=self.name,
            entry_script=c.entry_script,
            source_directory=c.source_directory,
            input_kind=self.kind,  # type: ignore[arg-type]
            inputs=self.paths,
            mini_batch_size=self.mini_batch_size,
            error_threshold=c.error_threshold,
            output_action=c.output_action,
            append_row_file_name=c.append_row_file_name,
            process_count=c.process_count_per_node,
            run_invocation_timeout=c.run_invocation_timeout,
            run_max_try=c.run_max_try,
            logging_level=c.logging_level,
            arguments=self.arguments,
            allow_reuse=self.allow_reuse and not regenerate,
            separator=getattr(self.tabular, "separator", ","),
            header=specs.header_mode(getattr(self.tabular, "header", None)),
            output_name=str(getattr(self.output, "name", None) or "output"),
            environment=env.to_dict() if env is not None else None,
            input_name=self.input_name,
            node_count=c.node_count if compute is not None else 1,  # 1: ran here (warned)
            compute=compute,
        )

    def __repr__(self) -> str:
        return f"ParallelRunStep(name={self.name!r}, inputs={len(self.paths)} file(s))"


def _inputs(inputs: list[Any]) -> tuple[str, list[str], Any, str | None]:
    from modelport.registry.datasets import DatasetConsumptionConfig, FileDataset, TabularDataset

    if not isinstance(inputs, list | tuple) or not inputs:
        raise InvalidArgument("ParallelRunStep needs inputs=[dataset.as_named_input('name')].")
    kinds: set[str] = set()
    paths: list[str] = []
    tabular = None
    name = None
    for item in inputs:
        if isinstance(item, DatasetConsumptionConfig):
            name = name or item.name
            item = item.dataset
        if isinstance(item, FileDataset):
            kinds.add(specs.FILES)
        elif isinstance(item, TabularDataset):
            kinds.add(specs.TABULAR)
            tabular = tabular or item
        else:
            raise InvalidArgument(
                f"Unsupported ParallelRunStep input {type(item).__name__}.",
                hint="Use Dataset.File.from_files(...) or Dataset.Tabular.from_delimited_files(...).",
            )
        paths += [str(p) for p in item.paths]
    if len(kinds) > 1:
        raise InvalidArgument(
            "All inputs of a ParallelRunStep must be of one type (File or Tabular)."
        )
    if not paths:
        raise InvalidArgument("The step's inputs hold no files.")
    return kinds.pop(), paths, tabular, name


def _argument(value: Any) -> str:
    from modelport.registry.datasets import DatasetConsumptionConfig

    if isinstance(value, DatasetConsumptionConfig):
        value = value.dataset
    paths = getattr(value, "paths", None)
    if paths:
        return os.path.commonpath([str(p) for p in paths]) if len(paths) > 1 else str(paths[0])
    return str(getattr(value, "default_value", value))
