"""Built-in runtimes: no-code deployment of scikit-learn, ONNX, TensorFlow and MLflow models.

`Model.deploy(ws, name, [model])` without an inference config picks the runtime from the
model's `model_framework`; see `docs/no-code.md`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["batch_environment", "no_code_config"]

if TYPE_CHECKING:
    from modelport.runtimes.batching import batch_environment
    from modelport.runtimes.config import no_code_config


def __getattr__(name: str) -> Any:
    # lazily, so deploying (which imports runtimes.config) does not pay for asyncio
    if name == "batch_environment":
        from modelport.runtimes.batching import batch_environment

        return batch_environment
    if name == "no_code_config":
        from modelport.runtimes.config import no_code_config

        return no_code_config
    raise AttributeError(f"module 'modelport.runtimes' has no attribute {name!r}")
