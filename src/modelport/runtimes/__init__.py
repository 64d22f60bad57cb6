"""Built-in runtimes: no-code deployment of scikit-learn, ONNX, TensorFlow and MLflow models.

`Model.deploy(ws, name, [model])` without an inference config picks the runtime from the
model's `model_framework`; see `docs/no-code.md`. The package itself imports nothing: its
`*_score` modules run inside service environments, which hold only modelport-runtime
(`modelport.environments.runtime`), so deploy-side names are imported from their modules
(`modelport.runtimes.config.no_code_config`, `modelport.runtimes.batching.batch_environment`).
"""
