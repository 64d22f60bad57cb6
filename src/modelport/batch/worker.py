"""One batch worker process: `init()` once, then `run(mini_batch)` per task from the driver.

Started by the driver with the step environment's python as
`python -m modelport.batch.worker SPEC_JSON WORKER_ID FD_IN FD_OUT`. Tasks and results
travel as JSON lines over two private pipes, so whatever the user's script prints goes to
the worker's log, not into the protocol. The worker reads its own input (files, or a byte
range of a delimited file) and writes its own result part; the driver only sees counts.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import logging
import os
import sys
import traceback
import types
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

ONLINE_SEP = "\n"


def main(argv: list[str]) -> int:
    spec_path, worker_id, fd_in, fd_out = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    _die_with_parent()
    _own_session()
    with open(spec_path, encoding="utf-8") as f:
        job = json.load(f)
    spec = job["spec"]
    out = os.fdopen(fd_out, "w", buffering=1, encoding="utf-8")
    tasks = os.fdopen(fd_in, "r", encoding="utf-8")
    logging.basicConfig(
        level=getattr(logging, str(spec["logging_level"]).upper(), logging.INFO),
        format=f"%(asctime)s worker-{worker_id} %(levelname)s %(name)s: %(message)s",
    )
    _install_entry_script_shim(worker_id, job)
    try:
        call = _load(spec)
    except BaseException as exc:  # user code: anything may escape init()
        traceback.print_exc()
        _send(out, {"fatal": _describe(exc, spec)})
        return 3
    _send(out, {"ready": worker_id})
    work = Path(job["work_dir"])
    for line in tasks:
        _process(json.loads(line), spec, call, work, out)
    return 0


def _send(out: IO[str], message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")


def _describe(exc: BaseException, spec: dict[str, Any]) -> str:
    name = os.path.basename(spec["entry_script"])
    text = str(getattr(exc, "message", "") or exc)
    return f"{name}: {type(exc).__name__}: {text}" if name not in text else text


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the driver dies (SIGKILL included)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    parent = os.getppid()  # not "== 1": a shard in a pod is PID 1 and drives its workers
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the driver died before prctl took effect
        os._exit(1)


def _own_session() -> None:
    """Lead a session of its own. Linux's autogroup scheduler (on by default) gives each
    session one share of the CPUs, so workers left in the driver's session would split one
    share between them on a busy machine, and N workers would run no faster than one: as
    its own session each worker gets the share a separate job would. The driver still stops
    it (PR_SET_PDEATHSIG, and a closed task pipe ends its loop)."""
    with contextlib.suppress(OSError):  # already a session leader
        os.setsid()


def _install_entry_script_shim(worker_id: int, job: dict[str, Any]) -> None:
    """v1 batch scripts use `from azureml_user.parallel_run import EntryScript` for logging."""

    class EntryScript:
        logger = logging.getLogger("entry_script")
        output_dir = job["output_dir"]
        working_dir = job["work_dir"]
        node_id = "0"
        process_name = f"worker-{worker_id}"
        agent_name = f"worker-{worker_id}"

    package = types.ModuleType("azureml_user")
    module = types.ModuleType("azureml_user.parallel_run")
    module.EntryScript = EntryScript  # type: ignore[attr-defined]
    package.parallel_run = module  # type: ignore[attr-defined]
    sys.modules.setdefault("azureml_user", package)
    sys.modules.setdefault("azureml_user.parallel_run", module)


# -- loading the script ---------------------------------------------------------------------
def _load(spec: dict[str, Any]) -> Callable[[Any], Any]:
    root = spec["source_directory"]
    script = spec["entry_script"]
    sys.argv = [script, *spec["arguments"]]  # v1 passes step arguments to the script
    os.chdir(root)
    for folder in (root, os.path.dirname(script)):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    if spec["online"]:
        return _load_online(script, root)
    # the script's own name (pickles of its classes resolve), unless that shadows a module
    module_name = Path(script).stem
    found = importlib.util.find_spec(module_name) if module_name not in sys.modules else None
    if module_name in sys.modules or (found and found.origin != os.path.abspath(script)):
        module_name = "entry_module"
    loader_spec = importlib.util.spec_from_file_location(module_name, script)
    if loader_spec is None or loader_spec.loader is None:
        raise ImportError(f"{script} cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    loader_spec.loader.exec_module(module)
    init = getattr(module, "init", None)
    if callable(init):
        init()
    run = getattr(module, "run", None)
    if not callable(run):
        raise AttributeError(f"{script} does not define a run() function")
    return run


def _load_online(script: str, root: str) -> Callable[[Any], Any]:
    """An online score.py: each file or row goes through run() as one request body."""
    from modelport.scoring import entry

    loaded = entry.load(script, root)
    if loaded.mode == "raw":
        raise ValueError(f"{script}: @rawhttp scripts need an HTTP request; serve them instead")
    loaded.call_init(root)

    def call(body: str) -> Any:
        if loaded.mode == "string":
            return loaded.run(**{loaded.data_param: body})
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise ValueError("the request body is not a JSON object")
        kwargs: dict[str, Any] = {}
        for param in loaded.params:
            value = payload.get(param.name, param.default)
            if value is param.empty:
                raise ValueError(f"no value for run()'s {param.name!r} parameter")
            convert = loaded.converters.get(param.name)
            kwargs[param.name] = convert(value) if convert is not None else value
        return loaded.run(**kwargs)

    def run_each(mini_batch: Any) -> list[str]:
        results = []
        for body in _bodies(mini_batch):
            try:
                results.append(json.dumps(call(body), default=_jsonable))
            except Exception:  # one bad request fails one item, as it would over HTTP
                logging.getLogger("modelport.batch").exception("run() failed on one item")
        return results

    return run_each


def _bodies(mini_batch: Any) -> list[str]:
    if isinstance(mini_batch, list):
        return [Path(p).read_text(encoding="utf-8") for p in mini_batch]
    if mini_batch.shape[1] == 1:  # a request dataset: one body per line
        return [str(v) for v in mini_batch.iloc[:, 0]]
    return [json.dumps({"data": [row]}, default=_jsonable) for row in mini_batch.values.tolist()]


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


# -- one mini-batch -------------------------------------------------------------------------
def _process(
    task: dict[str, Any], spec: dict[str, Any], call: Callable[[Any], Any], work: Path, out: IO[str]
) -> None:
    index = task["i"]
    try:
        mini_batch = task["files"] if "files" in task else _read_range(task, spec)
    except Exception as exc:  # unreadable input: retrying won't help
        _send(out, {"error": index, "items": 1, "message": _short(exc), "retry": False})
        return
    items = len(mini_batch)
    if "files" not in task:  # the driver knows a file task's size, not a range's rows
        _send(out, {"begin": index, "items": items})
    try:
        result = call(mini_batch)
    except Exception as exc:
        logging.getLogger("modelport.batch").exception("run() failed on mini-batch %d", index)
        _send(out, {"error": index, "items": items, "message": _short(exc), "retry": True})
        return
    try:
        text, count = _format(result)
    except TypeError as exc:
        _send(out, {"error": index, "items": items, "message": str(exc), "retry": False})
        return
    size = crc = 0
    if spec["output_action"] == "append_row":
        size, crc = _write_part(work, index, text)
    _send(out, {"done": index, "items": items, "results": count, "size": size, "crc": crc})


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]


def _read_range(task: dict[str, Any], spec: dict[str, Any]) -> Any:
    import pandas as pd

    with open(task["path"], "rb") as f:
        f.seek(task["start"])
        data = f.read(task["end"] - task["start"])
    header = task["header"]
    sep = spec["separator"]
    if header is not None:
        head = header.encode("utf-8", "surrogateescape")
        if not data.strip():
            return pd.read_csv(io.BytesIO(head), sep=sep)
        return pd.read_csv(io.BytesIO(head + data), sep=sep)
    if not data.strip():
        return pd.DataFrame()
    frame = pd.read_csv(io.BytesIO(data), sep=sep, header=None)
    frame.columns = [f"Column{k + 1}" for k in range(frame.shape[1])]  # v1's names
    return frame


def _format(result: Any) -> tuple[str, int]:
    """v1's append_row text: one line per list element; DataFrame rows space-separated."""
    if isinstance(result, list | tuple):
        lines = [str(item) for item in result]
        return "".join(line + "\n" for line in lines), len(lines)
    if type(result).__name__ == "DataFrame" and hasattr(result, "to_csv"):
        text = result.to_csv(sep=" ", header=False, index=False, lineterminator="\n")
        return text, len(result)
    raise TypeError(f"run() returned {type(result).__name__}; return a list or a pandas DataFrame")


def _write_part(work: Path, index: int, text: str) -> tuple[int, int]:
    data = text.encode("utf-8", "surrogateescape")
    final = work / "parts" / f"{index:07d}.part"
    tmp = final.with_name(f".{final.name}.{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, final)
    return len(data), zlib.crc32(data)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
