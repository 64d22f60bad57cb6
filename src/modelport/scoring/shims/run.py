"""`azureml.core.run` inside a service: `Run.get_context()` gives an offline run.

Scripts log from `init()`/`run()` with `Run.get_context().log(...)`; outside an experiment v1
returns an offline run that only prints, and so does this one (to the service log).
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("modelport.scoring.run")


class Run:
    """The offline run every service sees."""

    id = "OfflineRun"
    experiment = None
    parent = None

    @classmethod
    def get_context(cls, allow_offline: bool = True, **_unused: Any) -> Run:
        return cls()

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        log.info("run metric %s=%r", name, value)

    def log_list(self, name: str, value: list[Any], description: str = "") -> None:
        log.info("run metric %s=%r", name, value)

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        log.info("run metric %s=%r", name, kwargs)

    def tag(self, key: str, value: Any = None) -> None:
        log.info("run tag %s=%r", key, value)

    def get_metrics(self, *_: Any, **__: Any) -> dict[str, Any]:
        return {}

    def complete(self) -> None:
        pass
