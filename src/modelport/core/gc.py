"""`modelport workspace gc`: every reclaimer of a workspace's disk, run in turn.

Each reclaimer is a function `(workspace, dry_run) -> list[Reclaimed]` that takes its own
locks and reports one `Reclaimed` per category; environments and services can add theirs
here without touching the registry (which must not import them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from modelport.environments.build import reclaim_staging
from modelport.packaging.containers import reclaim_environment_images
from modelport.registry.gc import Reclaimed, reclaim_artifacts

if TYPE_CHECKING:
    from modelport.workspace import Workspace

Reclaimer = Callable[["Workspace", bool], list[Reclaimed]]


def reclaim_environments(workspace: Workspace, dry_run: bool = False) -> list[Reclaimed]:
    """Staging folders of environment builds whose builder was killed."""
    count, size = reclaim_staging(workspace.path / "envs", dry_run)
    return [Reclaimed("environment build leftovers", count, size)]


RECLAIMERS: list[Reclaimer] = [reclaim_artifacts, reclaim_environments, reclaim_environment_images]


def collect(workspace: Workspace, dry_run: bool = False) -> list[Reclaimed]:
    """Run every reclaimer; with dry_run, report what they would free and change nothing."""
    return [item for reclaimer in RECLAIMERS for item in reclaimer(workspace, dry_run)]
