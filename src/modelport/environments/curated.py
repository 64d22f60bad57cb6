"""Curated environments: v1 notebooks start from `Environment.get(ws, "AzureML-…")`.

Azure shipped prebuilt images under those names; here each name maps to the pip packages of
its stack (chosen from the words in the name), built like any other environment.
"""

from __future__ import annotations

from modelport.environments.conda_dependencies import CondaDependencies

PREFIX = "AzureML-"
_BASE = ["azureml-defaults", "numpy", "pandas", "inference-schema[numpy-support,pandas-support]"]
# a word in the curated name -> the packages its image carried
_STACKS: dict[str, list[str]] = {
    "sklearn": ["scikit-learn", "joblib"],
    "scikit": ["scikit-learn", "joblib"],
    "tutorial": ["scikit-learn", "joblib"],
    "automl": ["scikit-learn", "joblib"],
    "lightgbm": ["lightgbm"],
    "xgboost": ["xgboost"],
    "tensorflow": ["tensorflow-cpu"],
    "keras": ["tensorflow-cpu"],
    "pytorch": ["torch"],
    "onnx": ["onnxruntime"],
}


def is_curated(name: str) -> bool:
    return name.startswith(PREFIX)


def curated_dependencies(name: str) -> CondaDependencies:
    """The packages for a curated name; unknown stacks get the minimal serving stack."""
    words = name[len(PREFIX) :].lower().replace("_", "-").split("-")
    packages = list(_BASE)
    for word in words:
        for key, extra in _STACKS.items():
            if word.startswith(key):
                packages += [p for p in extra if p not in packages]
    return CondaDependencies.create(pip_packages=packages)
