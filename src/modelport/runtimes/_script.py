"""The shared body of every runtime script: a `run` built from a loaded model's description.

A runtime module (sklearn, ONNX, TensorFlow, MLflow) describes its model as a `ServedModel`;
`make_run` turns that into the decorated `run` the scoring server calls, with the schema the
model declares and, when the deployment asks for it, micro-batching.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Protocol

import numpy as np

from modelport.runtimes._serving import bad_request, named_run
from modelport.runtimes.batching import BatchSettings, MicroBatcher

log = logging.getLogger("modelport.runtimes")
Inputs = dict[str, Any]
# request sizes tried together and alone before batching is allowed: single rows matter most
# (onnxruntime and BLAS use a different kernel for one row than for a block)
PROBE_SIZES = (1, 2, 3, 4, 1, 1, 2, 7, 1, 16, 1, 1, 31, 64)


class ServedModel(Protocol):
    """A loaded model as a runtime script serves it."""

    #: run() parameter → inference_schema parameter type (with a real example), in order
    input_types: dict[str, Any]
    #: inference_schema type of one request's answer, with a real example
    output_type: Any
    #: run() parameters that may be left out, with their default
    defaults: dict[str, Any]
    #: whether requests may be concatenated along their first axis
    batchable: bool

    def check(self, inputs: Inputs) -> str | None:
        """Why these (already converted) inputs cannot be scored, or None."""

    def predict(self, requests: Sequence[Inputs]) -> list[Any]:
        """One JSON-able answer per request; several requests are scored in one call."""

    def rows(self, inputs: Inputs) -> int:
        """How many rows (first-axis entries) a request holds."""

    def batch_key(self, inputs: Inputs) -> Hashable:
        """Requests are merged only with others of the same key (e.g. the same method)."""

    def probe(self) -> list[Inputs] | None:
        """A few random requests of varied sizes to test batching on, or None if unknown."""


def make_run(
    model: ServedModel, module: str, settings: BatchSettings | None = None
) -> Callable[..., Any]:
    """The decorated run(): sync when unbatched (a thread, like user scripts), async when
    batched (so many requests can be waiting on one worker's event loop)."""
    from inference_schema.schema_decorators import input_schema, output_schema

    names = list(model.input_types)
    if settings is not None and model.batchable and batching_is_exact(model):
        batcher: MicroBatcher[Inputs, Any] = MicroBatcher(
            lambda _key, items: model.predict(items), model.rows, settings, _count_batch
        )

        async def batched(inputs: Inputs) -> Any:
            problem = model.check(inputs)
            if problem is not None:
                return bad_request(problem)
            return await batcher.submit(model.batch_key(inputs), inputs)

        run = named_run(names, batched, is_async=True, module=module, defaults=model.defaults)
    else:

        def single(inputs: Inputs) -> Any:
            problem = model.check(inputs)
            if problem is not None:
                return bad_request(problem)
            return model.predict([inputs])[0]

        run = named_run(names, single, is_async=False, module=module, defaults=model.defaults)
    decorated: Any = output_schema(model.output_type)(run)
    for name in reversed(names):
        decorated = input_schema(name, model.input_types[name], optional=name in model.defaults)(
            decorated
        )
    return decorated


def _count_batch(size: int) -> None:
    """One micro-batch of `size` requests, in the worker's /metrics (batches, requests)."""
    from modelport.scoring import metrics

    slot = metrics.worker_slot()
    if slot is not None:
        slot.add(metrics.S_BATCHES)
        slot.add(metrics.S_BATCHED, size)


def batching_is_exact(model: ServedModel) -> bool:
    """Whether scoring requests together gives bit-identical answers to scoring each alone.

    Tree models do; models built on matrix products usually do not (BLAS and onnxruntime
    pick kernels by batch size, so the last bits change): batching then stays off.
    """
    requests = model.probe()
    if not requests:
        log.warning("batching stays off: no probe input for this model's schema")
        return False
    groups: dict[Hashable, list[Inputs]] = {}
    for request in requests:
        groups.setdefault(model.batch_key(request), []).append(request)
    for group in groups.values():
        if model.predict(group) != [model.predict([r])[0] for r in group]:
            log.warning(
                "batching stays off: this model's answers change with the batch size "
                "(matrix-product rounding), and batched answers must equal unbatched ones"
            )
            return False
    return True


def tensor_probe_requests(
    specs: dict[str, tuple[Any, list[int | None]]],
) -> list[dict[str, Any]] | None:
    """Random float requests of the probe sizes (None when an input is not a float tensor)."""
    if not all(np.issubdtype(dtype, np.floating) for dtype, _ in specs.values()):
        return None
    rng = np.random.default_rng(0)
    requests = []
    for size in PROBE_SIZES:
        request = {}
        for param, (dtype, shape) in specs.items():
            dims = (size, *(1 if d is None else d for d in shape[1:]))
            request[param] = rng.normal(size=dims).astype(dtype)
        requests.append(request)
    return requests
