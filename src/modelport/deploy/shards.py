"""The seam through which a batch step runs on several nodes of an attached compute.

`modelport.batch` knows how to split a step into shards and gather their results; it does not
know any cluster. A target that can run shards hands out a `ShardExecutor` from
`DeploymentTarget.batch_executor()` (as it hands out a router host from `endpoint_router()`),
and the batch driver asks the compute's target for it by `compute_type`, so neither the batch
package nor the pipeline façade imports a target.

The contract with the executor is small: run `command` once per shard index 0..shards-1
(each copy finds its index in the `JOB_COMPLETION_INDEX` environment variable, Kubernetes'
own name for it), on nodes that see `folders` at the same paths as this machine, from an
image built for `inference_config`; retry a copy that dies; return once every copy ended,
leaving nothing behind on the compute.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelport.configs import InferenceConfig
    from modelport.deploy.computes import ComputeRecord
    from modelport.workspace import Workspace

INDEX_VARIABLE = "JOB_COMPLETION_INDEX"
Log = Callable[[str], None]


@dataclass(frozen=True)
class Folder:
    """A folder of this machine the shards need at the same path (inputs read-only)."""

    path: str
    writable: bool = False


@dataclass(frozen=True)
class ShardedJob:
    """One batch step to run as `shards` copies of `command`."""

    workspace: Workspace
    compute: ComputeRecord
    name: str  # unique per step run; the executor derives its object names from it
    shards: int
    command: list[str]  # argv inside the image; `python` is the image's environment
    folders: list[Folder]
    inference_config: InferenceConfig  # entry script, source directory, environment
    logs: str  # a folder on this machine for the executor's own logs (pod logs)
    max_tries: int = 3  # per shard: a copy that dies is started again up to this often
    group: str = ""  # runs over the same work folder: an older run's copies still running are ended
    step: str = ""  # the step's name (names its image, so runs of one step share its layers)
    environment: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ShardEnd:
    """How one shard's copy ended: `ok` when its command exited 0, else why not."""

    index: int
    ok: bool
    reason: str | None = None


class ShardExecutor(abc.ABC):
    """Runs a ShardedJob on the compute of one target type."""

    @abc.abstractmethod
    def unsupported(self, compute: ComputeRecord) -> str | None:
        """Why this compute cannot run shards that share this machine's folders (one line,
        with what to do), or None."""

    @abc.abstractmethod
    def run(self, job: ShardedJob, log: Log) -> list[ShardEnd]:
        """Run every shard to its end and clean up; one ShardEnd per index, in order."""


def executor_for(compute: ComputeRecord) -> ShardExecutor | None:
    """The compute's target's executor, or None when that target runs no shards, or when no
    target serves the compute at all (v1's AmlCompute records: they stand for this machine)."""
    from modelport.deploy.target import get_target, target_names

    if compute.compute_type not in target_names():
        return None
    executor: ShardExecutor | None = get_target(compute.compute_type).batch_executor()
    return executor
