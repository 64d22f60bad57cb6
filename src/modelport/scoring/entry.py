"""Load and validate a v1 entry script: `init()` once, `run(...)` per request.

The script is loaded from its path under the module name `entry_module` (as the reference
does); its folder and the app root are importable so helper modules beside it resolve.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import inspect
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal

from modelport.errors import EntryScriptError
from modelport.scoring import shims

log = logging.getLogger("modelport.scoring")

MODULE_NAME = "entry_module"
# What a native extension built against another NumPy ABI prints while it half-imports: the
# import may "succeed" and the worker then crash on its first request, so startup fails.
_ABI_SIGNS = (
    "compiled using NumPy 1.x cannot be run in",
    "numpy.core.multiarray failed to import",
    "numpy.core._multiarray_umath failed to import",
)
Mode = Literal["raw", "object", "string"]


@dataclass
class EntryScript:
    """A loaded, validated entry script and how the server must call its run()."""

    path: str
    module: ModuleType
    init: Callable[[], Any]
    run: Callable[..., Any]
    mode: Mode
    data_param: str
    params: list[inspect.Parameter]
    wants_headers: bool
    is_async: bool
    has_schema: bool
    converters: dict[str, Any] = field(default_factory=dict)

    def call_init(self, app_root: str) -> None:
        """Run init() with cwd = app root; wrap its failure in EntryScriptError."""
        os.chdir(app_root)
        try:
            result = self.init()
            if inspect.isawaitable(result):
                asyncio.run(_await(result))
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            log.exception("init() of %s failed", self.path)
            raise EntryScriptError(
                f"{self.path}: init() raised {type(exc).__name__}: {exc}"
            ) from exc


class _StderrWatch:
    """sys.stderr as it was, noting lines that say a native module failed to import."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.seen: list[str] = []

    def write(self, text: str) -> int:
        if any(sign in text for sign in _ABI_SIGNS):
            self.seen.append(text)
        return int(self.stream.write(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextlib.contextmanager
def native_imports_checked(path: str) -> Iterator[None]:
    """Fail start-up (EntryScriptError) when loading or init() left a native extension
    half-imported, which would pass the health check and crash on the first request."""
    watch = _StderrWatch(sys.stderr)
    sys.stderr = watch
    try:
        yield
    finally:
        sys.stderr = watch.stream
    if watch.seen:
        first = " ".join(" ".join(watch.seen).split())
        sign = next(s for s in _ABI_SIGNS if s in first)
        start = max(first.rfind(".", 0, first.index(sign)) + 1, 0)
        message = first[start : start + 160].strip()
        raise EntryScriptError(
            f"{path}: a native dependency cannot be imported: {message}",
            hint="Its binary was built for another NumPy: pin numpy to the series it was "
            "built with (e.g. 'numpy<2'), or keep the default resolution cut-off "
            "(env.python.exclude_newer = 'auto').",
        )


async def _await(awaitable: Any) -> Any:
    return await awaitable


def load(path: str, app_root: str, source_dir: str | None = None) -> EntryScript:
    """Import the script, find init/run (or a driver module's run) and check run's signature."""
    shims.install()
    shims.reset_raw_http()
    for folder in (app_root, os.path.dirname(path), _join(app_root, source_dir)):
        if folder and folder not in sys.path:
            sys.path.append(folder)
    module = _import(path)
    for name in ("init", "run"):
        if not callable(getattr(module, name, None)):
            raise EntryScriptError(f"{path} does not define a {name}() function.")
    run = module.run
    driver = getattr(module, "driver_module", None)
    if isinstance(driver, ModuleType) and callable(getattr(driver, "run", None)):
        log.info("found driver script %s; run() comes from %s", path, driver.__name__)
        run = driver.run
    return _analyze(path, module, run)


def _join(root: str, sub: str | None) -> str | None:
    return os.path.join(root, sub) if sub else None


def _import(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
    if spec is None or spec.loader is None:
        raise EntryScriptError(f"{path} cannot be loaded as a Python module.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE_NAME] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(MODULE_NAME, None)
        log.exception("importing %s failed", path)
        raise EntryScriptError(
            f"{path}: importing the script raised {type(exc).__name__}: {exc}"
        ) from exc
    return module


def _analyze(path: str, module: ModuleType, run: Callable[..., Any]) -> EntryScript:
    from modelport.scoring import schema

    try:
        signature = inspect.signature(run)
    except (TypeError, ValueError) as exc:
        raise EntryScriptError(f"{path}: run() has no inspectable signature: {exc}") from exc
    allowed = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = list(signature.parameters.values())
    if any(p.kind not in allowed for p in params):
        raise EntryScriptError(
            f"{path}: run() cannot accept positional-only arguments, *args or **kwargs."
        )
    wants_headers = any(p.name == "request_headers" for p in params)
    data_params = [p for p in params if p.name != "request_headers"]
    if not data_params:
        raise EntryScriptError(f"{path}: run() needs a parameter for the input data.")
    raw = shims.raw_http_requested()
    decorated = schema.is_decorated(run)
    if raw and decorated:
        raise EntryScriptError(
            f"{path}: run() cannot be decorated with both @rawhttp and @input_schema."
        )
    mode: Mode = "raw" if raw else "object" if decorated else "string"
    return EntryScript(
        path=path,
        module=module,
        init=module.init,
        run=run,
        mode=mode,
        data_param=data_params[0].name,
        params=data_params,
        wants_headers=wants_headers,
        is_async=_is_async(run),
        has_schema=decorated,
        converters=schema.converters(run) if decorated else {},
    )


def _is_async(run: Callable[..., Any]) -> bool:
    target: Any = run
    while True:
        if inspect.iscoroutinefunction(target):
            return True
        inner = getattr(target, "__wrapped__", None)
        if inner is None or inner is target:
            return False
        target = inner
