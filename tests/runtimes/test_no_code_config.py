"""Choosing, validating and configuring a runtime before any service starts."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np
import pytest

from modelport.configs import DeploymentConfig
from modelport.core import Model, Workspace
from modelport.core.resource_configuration import ResourceConfiguration
from modelport.errors import InvalidArgument, MissingDependency
from modelport.runtimes._serving import require
from modelport.runtimes.batching import BatchSettings, MicroBatcher, batch_environment
from modelport.runtimes.config import no_code_config
from modelport.runtimes.environment import pinned_requirement, runtime_environment
from modelport.runtimes.frameworks import SKLEARN, TENSORFLOW
from tests.runtimes.conftest import X


def test_config_uses_the_runtime_script_this_interpreter_and_model_resources(
    rws: Workspace, forest_file: Path
) -> None:
    model = Model.register(
        rws,
        forest_file,
        "forest",
        model_framework="ScikitLearn",
        resource_configuration=ResourceConfiguration(cpu=1.5, memory_in_gb=0.25),
    )
    inference, deployment = no_code_config([model])
    assert Path(inference.entry_script or "").name == "sklearn_score.py"
    assert inference.environment is not None
    assert inference.environment.python.user_managed_dependencies  # sklearn is installed here
    assert (deployment.cpu_cores, deployment.memory_gb) == (1.5, 0.25)
    _, given = no_code_config([model], DeploymentConfig(cpu_cores=0.5))
    assert (given.cpu_cores, given.memory_gb) == (0.5, 0.25)


@pytest.mark.parametrize(
    ("framework", "words"),
    [(None, "has no model_framework"), ("PyTorch", "'PyTorch', which has no built-in runtime")],
)
def test_deploy_without_code_names_the_framework_problem(
    rws: Workspace, forest_file: Path, framework: str | None, words: str
) -> None:
    model = Model.register(rws, forest_file, "m", model_framework=framework)
    with pytest.raises(InvalidArgument, match=words) as info:
        Model.deploy(rws, "no-runtime", [model])
    assert "inference_config" in str(info.value)


def test_files_that_are_not_models_of_their_framework(rws: Workspace, tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not a protobuf at all")
    onnx_model = Model.register(rws, fake, "fake-onnx", model_framework="Onnx")
    with pytest.raises(
        InvalidArgument,
        match=r"'fake-onnx:1' is registered as Onnx but model.onnx is not a valid ONNX graph",
    ):
        no_code_config([onnx_model])
    text = tmp_path / "model.pkl"
    text.write_text("hello")
    sk = Model.register(rws, text, "fake-sk", model_framework="ScikitLearn")
    with pytest.raises(InvalidArgument, match=r"model\.pkl is not a valid scikit-learn model"):
        no_code_config([sk])
    folder = tmp_path / "not_saved_model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"0")
    tf = Model.register(rws, folder, "fake-tf", model_framework="TensorFlow")
    with pytest.raises(
        InvalidArgument, match="registered as TensorFlow but not_saved_model is not"
    ):
        no_code_config([tf])


def test_two_models_need_an_entry_script(
    rws: Workspace, forest_file: Path, onnx_file: Path
) -> None:
    a = Model.register(rws, forest_file, "a", model_framework="ScikitLearn")
    b = Model.register(rws, onnx_file, "b", model_framework="Onnx")
    with pytest.raises(InvalidArgument, match="exactly one model"):
        no_code_config([a, b])


def test_missing_extra_says_how_to_install_it() -> None:
    with pytest.raises(MissingDependency, match=r"pip install 'modelport\[onnx\]'"):
        require("modelport_no_such_runtime_pkg", "onnx", "The ONNX runtime")


def test_framework_version_pins_only_installable_releases() -> None:
    assert pinned_requirement(SKLEARN, "1.5.2", (3, 11)) == "scikit-learn==1.5.2"
    assert pinned_requirement(SKLEARN, "0.19.1", (3, 11)) is None  # the seed's version
    assert pinned_requirement(SKLEARN, "1.3.0", (3, 13)) is None
    assert pinned_requirement(TENSORFLOW, "1.14.0", (3, 11)) is None
    assert pinned_requirement(TENSORFLOW, "2.16.1", (3, 15)) is None  # newer Python: last entry
    assert pinned_requirement(SKLEARN, None, (3, 11)) is None


def test_environment_built_when_packages_are_missing_here() -> None:
    from dataclasses import replace

    absent = replace(SKLEARN, modules=("modelport_no_such_runtime_pkg",))
    env = runtime_environment(absent, "1.5.2")
    assert env.python.conda_dependencies is not None
    assert "scikit-learn==1.5.2" in env.python.conda_dependencies.serialize_to_string()


def test_batch_settings_from_environment() -> None:
    assert BatchSettings.from_env({}) is None
    assert BatchSettings.from_env(batch_environment(16, 2.5)) == BatchSettings(16, 2.5)
    with pytest.raises(InvalidArgument, match="MODELPORT_BATCH_MAX_SIZE"):
        BatchSettings.from_env({"MODELPORT_BATCH_MAX_SIZE": "lots"})


def test_micro_batcher_merges_concurrent_requests_and_isolates_failures() -> None:
    calls: list[int] = []
    threads: set[str] = set()
    observed: list[int] = []

    def predict(key: object, items: list[np.ndarray]) -> list[list[float]]:
        calls.append(len(items))
        threads.add(threading.current_thread().name)
        if any(np.isnan(i).any() for i in items):
            raise ValueError("nan")
        merged = np.concatenate(items)
        out = merged.sum(axis=1)
        sizes = np.cumsum([len(i) for i in items])[:-1]
        return [part.tolist() for part in np.split(out, sizes)]

    batcher: MicroBatcher[np.ndarray, list[float]] = MicroBatcher(
        predict, len, BatchSettings(max_size=1000, max_wait_ms=50), observed.append
    )
    requests = [X[i : i + 2] for i in range(10)] + [np.array([[np.nan, 1.0]])]

    async def score() -> list[object]:
        return await asyncio.gather(
            *(batcher.submit("predict", r) for r in requests), return_exceptions=True
        )

    results = asyncio.run(score())
    assert results[:10] == [r.sum(axis=1).tolist() for r in requests[:10]]
    assert isinstance(results[10], ValueError)
    assert calls[0] == 11 and len(calls) == 12  # one batch, then each alone after the failure
    assert observed == [11]  # what /metrics counts: one batch of 11 requests
    # predict runs on the batcher's own thread, never on the event loop
    assert len(threads) == 1 and threads.pop().startswith("modelport-batch")


def test_batching_only_where_answers_stay_bit_identical(onnx_file: Path, tmp_path: Path) -> None:
    from skl2onnx import to_onnx
    from sklearn.ensemble import RandomForestRegressor

    from modelport.runtimes._onnx import OnnxModel, load_session
    from modelport.runtimes._script import batching_is_exact
    from tests.runtimes.conftest import Y

    linear = OnnxModel(load_session(onnx_file))
    assert linear.batchable and not batching_is_exact(linear)  # GEMM rounding varies by size

    forest = RandomForestRegressor(n_estimators=5, max_depth=4, random_state=0).fit(X, Y)
    path = tmp_path / "forest.onnx"
    path.write_bytes(to_onnx(forest, X[:1].astype(np.float32)).SerializeToString())
    trees = OnnxModel(load_session(path))
    assert batching_is_exact(trees)
    [param] = trees.specs
    requests = [{param: X[i : i + 1 + i % 4].astype(np.float32)} for i in range(20)]
    assert trees.predict(requests) == [trees.predict([r])[0] for r in requests]


def test_micro_batcher_never_strands_the_end_of_a_burst() -> None:
    """uvloop fires timers up to 1 ms early; the last requests of a burst must still run."""
    import asyncio

    import uvloop

    from modelport.runtimes.batching import BatchSettings, MicroBatcher

    batcher: MicroBatcher[list[int], int] = MicroBatcher(
        lambda key, items: [sum(item) for item in items], len, BatchSettings(32, 2.0)
    )

    async def bursts() -> None:
        for _ in range(150):
            calls = (batcher.submit("k", [i]) for i in range(5))
            assert await asyncio.wait_for(asyncio.gather(*calls), 2) == list(range(5))

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(bursts())


def test_batches_are_counted_in_the_workers_metrics() -> None:
    from modelport.runtimes._script import _count_batch
    from modelport.scoring import metrics

    state = metrics.SharedState.in_memory()
    _count_batch(3)  # outside a scoring worker: nothing to count into, no error
    metrics.set_worker_slot(state.slot(0))
    try:
        _count_batch(5)
        _count_batch(1)
    finally:
        metrics.set_worker_slot(None)
    text = state.render().decode()
    assert "modelport_batches_total 2\n" in text
    assert "modelport_batched_requests_total 6\n" in text
