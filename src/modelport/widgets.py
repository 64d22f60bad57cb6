"""`azureml.widgets` equivalent: `RunDetails(run).show()` prints a text summary of a run.

There is no notebook widget; the summary (id, status, tags, metrics, files) is plain text so it
reads the same in a notebook, a terminal or a log.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["RunDetails"]


class RunDetails:
    """`RunDetails(run).show()`; works with any object that has a run's `id` and `get_*` methods."""

    def __init__(self, run_instance: Any) -> None:
        self.run_instance = run_instance

    def get_widget_data(self, widget_settings: Any = None) -> dict[str, Any]:
        """The summary as a dict: run_id, experiment, status, tags, metrics, files."""
        run = self.run_instance
        return {
            "run_id": getattr(run, "id", None),
            "experiment": getattr(run, "experiment_name", None),
            "status": getattr(run, "status", None),
            "tags": _call(run, "get_tags", {}),
            "metrics": _call(run, "get_metrics", {}),
            "files": _call(run, "get_file_names", []),
        }

    def show(self, render_lib: Any = None, widget_settings: Any = None) -> None:
        """Print the summary (v1 rendered a widget; render_lib and widget_settings are ignored)."""
        data = self.get_widget_data()
        lines = [f"Run {data['run_id']} ({data['experiment']}): {data['status']}"]
        for key, value in data["tags"].items():
            lines.append(f"  tag     {key} = {value}")
        for key, value in data["metrics"].items():
            lines.append(f"  metric  {key} = {json.dumps(value, default=str)}")
        for name in data["files"]:
            lines.append(f"  file    {name}")
        print("\n".join(lines))


def _call(run: Any, method: str, default: Any) -> Any:
    # Duck-typed so a v1-shaped run from anywhere prints; a missing method is not an error.
    func = getattr(run, method, None)
    return func() if callable(func) else default
