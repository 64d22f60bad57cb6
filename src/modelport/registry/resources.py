"""`ResourceConfiguration`: the CPU, memory and GPU a model needs (Azure v1 name)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelport.errors import InvalidArgument


@dataclass(frozen=True)
class ResourceConfiguration:
    cpu: float | None = None
    memory_in_gb: float | None = None
    gpu: int | None = None

    def __post_init__(self) -> None:
        for field, value in (
            ("cpu", self.cpu),
            ("memory_in_gb", self.memory_in_gb),
            ("gpu", self.gpu),
        ):
            if value is not None and (not isinstance(value, int | float) or value < 0):
                raise InvalidArgument(
                    f"ResourceConfiguration.{field} must be a non-negative number, got {value!r}."
                )

    def serialize(self) -> dict[str, Any]:
        return {"cpu": self.cpu, "memoryInGB": self.memory_in_gb, "gpu": self.gpu}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> ResourceConfiguration:
        return cls(
            cpu=data.get("cpu"),
            memory_in_gb=data.get("memoryInGB", data.get("memory_in_gb")),
            gpu=data.get("gpu"),
        )
