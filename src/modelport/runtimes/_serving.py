"""What every runtime script needs inside the service: its optional packages, 400 answers,
JSON-safe results and a `run` whose parameters are the model's input names."""

from __future__ import annotations

import builtins
import importlib
import inspect
import types
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

from modelport.errors import MissingDependency


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import an optional package, or fail with the `pip install 'modelport[extra]'` line."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name is not None and module.split(".")[0] != exc.name.split(".")[0]:
            raise  # the package is there but one of its own imports failed: show that
        raise MissingDependency(module.split(".")[0], extra, feature) from None


def bad_request(message: str) -> Any:
    """A 400 answer with the server's error shape, for checks the schema cannot express."""
    from modelport.scoring.shims.aml_response import AMLResponse

    return AMLResponse({"message": message}, 400, json_str=True)


def jsonable(value: Any) -> Any:
    """Model outputs (numpy, pandas, dicts from ZipMap) as plain JSON values."""
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # DataFrame
        return value.to_dict(orient="records")
    if hasattr(value, "tolist"):  # ndarray, Series, numpy scalar
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def named_run(
    names: Sequence[str],
    impl: Callable[[dict[str, Any]], Any],
    *,
    is_async: bool,
    module: str,
    defaults: Mapping[str, Any] | None = None,
) -> Callable[..., Any]:
    """A `run` with one parameter per model input that calls `impl({name: value})`.

    The scoring server passes each top-level JSON key to the parameter of that name, so the
    parameters must be in the signature though the names are only known at load time. The
    function has no closure (`impl` lives in its globals): inference_schema walks closures to
    find the decorated function and would otherwise stop on `impl`.
    """
    template = _call_async if is_async else _call
    run = types.FunctionType(template.__code__, {"__builtins__": builtins, "__impl__": impl}, "run")
    run.__module__ = module
    run.__qualname__ = "run"
    run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                n,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=(defaults or {}).get(n, inspect.Parameter.empty),
            )
            for n in names
        ]
    )
    return run


def _call(**inputs: Any) -> Any:
    return __impl__(inputs)  # type: ignore[name-defined]  # noqa: F821


async def _call_async(**inputs: Any) -> Any:
    return await __impl__(inputs)  # type: ignore[name-defined]  # noqa: F821


def python_name(name: str) -> str:
    """A model input name as a run() parameter: non-identifier characters become '_'."""
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    if not cleaned or cleaned[0].isdigit():
        cleaned = f"input_{cleaned}"
    import keyword

    return f"{cleaned}_" if keyword.iskeyword(cleaned) else cleaned


def input_names(names: Sequence[str]) -> dict[str, str]:
    """run() parameter name → model input name, refusing names that collide once cleaned."""
    mapping: dict[str, str] = {}
    for name in names:
        param = python_name(name)
        if param in mapping:
            from modelport.errors import InvalidArgument

            raise InvalidArgument(
                f"Model inputs {mapping[param]!r} and {name!r} both map to parameter {param!r}."
            )
        mapping[param] = name
    return mapping
