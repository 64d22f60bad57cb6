"""Placing a service on this machine: whether its resources and port fit, and its address.

Shared by the targets whose services run here (local processes, containers on a local
engine); targets never import each other, so this lives below them.
"""

from __future__ import annotations

import os
from typing import Any

import psutil

from modelport._net import free_port, port_problem
from modelport.configs import DeploymentConfig


def machine_problem(dc: DeploymentConfig) -> str | None:
    """Why this machine cannot hold the service now (cores, memory, port), or None."""
    cores = os.cpu_count() or 1
    if dc.cpu_cores is not None and dc.cpu_cores > cores:
        return f"it asks for {dc.cpu_cores} CPU cores; this machine has {cores}"
    if dc.memory_gb is not None:
        available = psutil.virtual_memory().available / 2**30
        if dc.memory_gb > available:
            return f"it asks for {dc.memory_gb} GB of memory; {available:.1f} GB is available"
    problem = port_problem(dc.host, int(dc.port or 0))
    if problem is not None:
        return f"{problem}; pick another port or leave it unset"
    return None


def place_here(dc: DeploymentConfig) -> dict[str, Any]:
    """The host and port the service gets: the configured port, or a free one."""
    return {"host": dc.host, "port": dc.port or free_port(dc.host)}
