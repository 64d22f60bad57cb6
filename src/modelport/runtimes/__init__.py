"""Built-in runtimes: no-code deployment of scikit-learn, ONNX, TensorFlow and MLflow models.

`Model.deploy(ws, name, [model])` without an inference config picks the runtime from the
model's `model_framework`; see `docs/no-code.md`.
"""

from modelport.runtimes.batching import batch_environment
from modelport.runtimes.config import no_code_config

__all__ = ["batch_environment", "no_code_config"]
