"""`azureml.core.run` equivalent: `Run`, with v1's `Run.get_context()`.

Inside a script started by `Experiment.submit(ScriptRunConfig(...))` the context is that run
(its id and workspace come from the environment the run was started with); anywhere else it
is an offline run whose `log()` only writes to the log, as in v1.
"""

from __future__ import annotations

import os
from typing import Any

from modelport.errors import InvalidArgument
from modelport.registry import runs

__all__ = ["Run"]


class Run(runs.Run):
    """A run (see `modelport.registry.runs.Run`)."""

    @classmethod
    def get_context(
        cls, allow_offline: bool = True, used_for_context_manager: bool = False, **_: Any
    ) -> Any:
        """The submitted run this script runs in, else an offline run (`allow_offline`)."""
        from modelport.core.script_run_config import RUN_ID_VARIABLE

        run_id = os.environ.get(RUN_ID_VARIABLE)
        if run_id:
            from modelport.core.workspace import Workspace

            return cls(Workspace.get(), run_id)
        if not allow_offline:
            raise InvalidArgument(
                "Run.get_context(allow_offline=False) outside a submitted run.",
                hint="Submit the script with Experiment(ws, name).submit(ScriptRunConfig(...)).",
            )
        from modelport.scoring.shims.run import Run as OfflineRun

        return OfflineRun.get_context()
