"""The scoring server: hosts one Azure ML v1 entry script over HTTP.

`serve(ServerConfig.from_env(entry_script="score.py", model_dir="models"))` runs it in the
foreground; the CLI (`modelport serve`, `python -m modelport.scoring`) and deploy targets call it.
"""

from __future__ import annotations

from modelport.scoring.config import ServerConfig

__all__ = ["ServerConfig", "serve"]


def serve(config: ServerConfig) -> None:
    """Serve until SIGTERM/SIGINT. Raises EntryScriptError when the script cannot start."""
    from modelport.scoring import logs
    from modelport.scoring.workers import WorkerPool

    logs.configure(config.log_level)
    WorkerPool(config).run()
