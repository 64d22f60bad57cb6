"""Where an endpoint's router runs: the seam between the endpoint control plane and a place.

For versions on this machine (local processes, containers on a local engine) the router is a
supervised local process (`modelport.routing`). A target whose versions live elsewhere
provides its own RouterHost (`DeploymentTarget.endpoint_router`): the Kubernetes target runs
the same router as a Deployment in the cluster (targets/kubernetes/router.py).
"""

from __future__ import annotations

import abc
import contextlib
import signal
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import psutil

from modelport._net import client_host, free_port, port_problem
from modelport._procs import process_alive, spawn_detached
from modelport.errors import DeploymentError, InvalidArgument
from modelport.routing import slots
from modelport.routing.shadow import read_pairs
from modelport.routing.supervisor import LOG
from modelport.routing.table import APPLIED, STATUS, RoutingTable, read_json, write_table

APPLY_TIMEOUT_S = 60.0
SHADOW_SINK = "shadow/shadow.jsonl"  # in the endpoint's home: a local router's shadow pairs


class RouterHost(abc.ABC):
    """Runs one endpoint's router and swaps its routing table."""

    @abc.abstractmethod
    def place(
        self,
        host: str,
        port: int | None,
        workspace: Any = None,
        deployment_config: Any = None,
        replicas: int = 1,
        max_replicas: int | None = None,
    ) -> dict[str, Any]:
        """Where the router listens (checked now) and how many copies of it run
        (`replicas`, autoscaled up to `max_replicas`, where the place has copies); the
        data the endpoint records."""

    @abc.abstractmethod
    def start(self, home: Path, data: dict[str, Any], table: RoutingTable) -> None:
        """Start the router on `table`; return once it serves it."""

    @abc.abstractmethod
    def apply(self, home: Path, data: dict[str, Any], table: RoutingTable) -> None:
        """Make the running router serve `table`; return once it does (no request dropped)."""

    def routing(self, data: dict[str, Any]) -> dict[str, Any]:
        """What the router serves now: revision, weights, in-flight counts, shadow counts
        (summed over its server processes by the router itself); {} when it does not answer."""
        import httpx

        try:
            response = httpx.get(f"{self.base_url(data)}/-/routing", timeout=10)
        except httpx.HTTPError:
            return {}
        result: dict[str, Any] = response.json() if response.status_code == 200 else {}
        return result

    def metrics(self, data: dict[str, Any]) -> bytes:
        """The router's Prometheus text for the whole endpoint (a local router sums its
        server processes itself)."""
        import httpx

        try:
            response = httpx.get(f"{self.base_url(data)}/metrics", timeout=10)
        except httpx.HTTPError as exc:
            raise DeploymentError(f"The endpoint's router does not answer: {exc}") from None
        return response.content

    def shadow_pairs(self, home: Path, data: dict[str, Any]) -> list[dict[str, Any]]:
        """Every shadowed pair the router has kept, oldest first."""
        return read_pairs(home / SHADOW_SINK)

    @abc.abstractmethod
    def state(self, home: Path) -> tuple[str, str | None]: ...

    @abc.abstractmethod
    def stop(self, home: Path) -> None: ...

    @abc.abstractmethod
    def base_url(self, data: dict[str, Any]) -> str: ...

    @abc.abstractmethod
    def credentials_changed(self, home: Path, data: dict[str, Any]) -> None:
        """The endpoint's keys file changed (a regenerated key): return once the router
        rejects the old key."""

    def wait_drained(self, data: dict[str, Any], version: str, timeout: float = 120) -> None:
        """Return once no request routed to `version` is still in flight."""
        deadline = time.monotonic() + timeout
        while self.routing(data).get("in_flight", {}).get(version, 0) > 0:
            if time.monotonic() > deadline:
                raise DeploymentError(
                    f"Requests to version '{version}' were still in flight after {timeout:.0f}s."
                )
            time.sleep(0.02)


class LocalRouter(RouterHost):
    """`python -m modelport.routing HOME HOST PORT`, detached, beside the endpoint's files."""

    def place(
        self,
        host: str,
        port: int | None,
        workspace: Any = None,
        deployment_config: Any = None,
        replicas: int = 1,
        max_replicas: int | None = None,
    ) -> dict[str, Any]:
        given = [f"router_replicas={replicas}"] if replicas != 1 else []
        if max_replicas is not None:
            given.append(f"router_max_replicas={max_replicas}")
        if given:
            warnings.warn(
                f"Ignoring {', '.join(given)}: a local endpoint's router is one supervised process "
                "(router_workers= sets its server processes).",
                UserWarning,
                stacklevel=3,
            )
        problem = port_problem(host, int(port or 0))
        if problem is not None:
            raise InvalidArgument(
                f"The endpoint cannot listen there: {problem}.",
                hint="Pick another port or leave it unset (a free one is chosen).",
            )
        return {"host": host, "port": port or free_port(host)}

    def start(self, home: Path, data: dict[str, Any], table: RoutingTable) -> None:
        write_table(home, table)
        (home / APPLIED).unlink(missing_ok=True)
        (home / STATUS).unlink(missing_ok=True)
        argv = [
            sys.executable,
            "-m",
            "modelport.routing",
            str(home),
            data["host"],
            str(data["port"]),
            str(data.get("workers", 1)),
        ]
        spawn_detached(argv, str(home / LOG))
        self._await_applied(home, data, table.revision)

    def apply(self, home: Path, data: dict[str, Any], table: RoutingTable) -> None:
        write_table(home, table)
        status = read_json(home / STATUS)
        if not process_alive(status.get("supervisor_pid"), status.get("supervisor_started")):
            self.start(home, data, table)  # not running (rebooted?): start it on the new table
            return
        with contextlib.suppress(ProcessLookupError):
            psutil.Process(status["supervisor_pid"]).send_signal(signal.SIGHUP)
        self._await_applied(home, data, table.revision)

    def state(self, home: Path) -> tuple[str, str | None]:
        status = read_json(home / STATUS)
        if not process_alive(status.get("supervisor_pid"), status.get("supervisor_started")):
            return "Unhealthy", "the endpoint's router is not running"
        if status.get("state") != "Running":
            return "Unhealthy", f"the router is {status.get('state')}: {status.get('error')}"
        return "Healthy", None

    def stop(self, home: Path) -> None:
        status = read_json(home / STATUS)
        pid = status.get("supervisor_pid")
        if not process_alive(pid, status.get("supervisor_started")):
            return
        proc = psutil.Process(pid)
        proc.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs([proc], timeout=80)
        for leftover in alive:
            leftover.kill()

    def base_url(self, data: dict[str, Any]) -> str:
        return f"http://{client_host(data['host'])}:{data['port']}"

    def credentials_changed(self, home: Path, data: dict[str, Any]) -> None:
        return None  # the router reads the file itself; a changed file is re-read per request

    def _await_applied(self, home: Path, data: dict[str, Any], revision: int) -> None:
        """Until every server process serves `revision` (a restarted one reads the table)."""
        deadline = time.monotonic() + APPLY_TIMEOUT_S
        while time.monotonic() < deadline:
            if slots.applied_everywhere(home, int(data.get("workers", 1)), revision):
                return
            status = read_json(home / STATUS)
            if status.get("state") == "Failed":
                raise DeploymentError(f"The endpoint's router failed: {status.get('error')}")
            time.sleep(0.02)
        raise DeploymentError(
            f"The endpoint's router did not apply routing revision {revision} within "
            f"{APPLY_TIMEOUT_S:.0f}s.",
            hint=f"See its log: {home / LOG}",
        )


def router_host(compute_type: str) -> RouterHost:
    """The router placement for versions of this compute type."""
    if compute_type in ("local", "container"):
        return LocalRouter()
    from modelport.deploy.target import get_target, target_names

    if compute_type in target_names():
        router = get_target(compute_type).endpoint_router()
        if router is not None:
            return router  # type: ignore[no-any-return,unused-ignore]
    raise InvalidArgument(
        f"Endpoints do not run on the {compute_type} target.",
        hint="Use compute_type='local', 'container' or 'kubernetes'.",
    )
