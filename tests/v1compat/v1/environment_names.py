# v1 environment code as notebooks write it: conda helpers, docker/spark settings, constants.
# tests/v1compat/test_v1_fixtures.py ports it with `modelport migrate apply` and runs it.
import json
import sys

from azureml.core import VERSION, Environment
from azureml.core.conda_dependencies import CondaDependencies
from azureml.core.environment import DEFAULT_CPU_IMAGE, SparkPackage
from azureml.core.runconfig import DEFAULT_GPU_IMAGE
from azureml.telemetry import set_diagnostics_collection

set_diagnostics_collection(send_diagnostics=True)
print("SDK version:", VERSION)

deps = CondaDependencies.create(
    python_version="3.11", pip_packages=["scikit-learn"], pip_indexurl="https://example.org/simple"
)
deps.add_channel("conda-forge")
deps.add_tensorflow_pip_package(core_type="cpu", version="2.15.0")
deps.add_tensorflow_conda_package(core_type="gpu")
deps.set_pip_requirements(["--extra-index-url https://example.org/extra", "numpy>=1.24", "joblib"])
deps.remove_channel("defaults")
merged = CondaDependencies.merge_requirements(["numpy>=1.24", "numpy<3", "pandas"])

env = Environment(name="v1-names")
env.python.conda_dependencies = deps
env.docker.base_image = DEFAULT_CPU_IMAGE
env.docker.shm_size = "4g"  # accepted, warned: a training-run setting
env.spark.packages = [SparkPackage("com.microsoft.ml.spark", "mmlspark_2.11", "0.15")]
env.save_to_directory("saved_env", overwrite=True)
loaded = Environment.load_from_directory("saved_env")

docker_env = Environment.from_docker_image("from-image", DEFAULT_GPU_IMAGE)
print(
    json.dumps(
        {
            "version": VERSION,
            "pip": deps.pip_packages,
            "pip_options": deps.pip_options,
            "conda": deps.conda_packages,
            "channels": deps.conda_channels,
            "merged": merged,
            "yaml_has_channel": "conda-forge" in deps.serialize_to_string(),
            "loaded_pip": loaded.python.conda_dependencies.pip_packages,
            "loaded_image": loaded.docker.base_image,
            "docker_image": docker_env.docker.base_image,
            "shm_size": env.docker.shm_size,
        }
    ),
    file=sys.stderr,
)
