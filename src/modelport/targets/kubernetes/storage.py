"""Whether a compute's pods share this machine's folders (hostPath at the same paths).

Shared when the compute says so (`shared_storage=True`: every node mounts this machine's
workspace, source and input folders at the same paths), or when its nodes are this machine:
a host-network compute whose node address is a loopback one (a single-node cluster here,
like scripts/start-kube's). Batch shards need it; an endpoint's router pods use it to keep
their shadow pairs in the endpoint's folder, where they outlive the pods.
"""

from __future__ import annotations

import ipaddress

from modelport.deploy.computes import ComputeRecord


def shared(compute: ComputeRecord) -> bool:
    return not_shared(compute) is None


def not_shared(compute: ComputeRecord) -> str | None:
    """Why the compute's pods do not share this machine's folders (None: they do)."""
    given = compute.extra.get("shared_storage")
    if given is True:
        return None
    exposure = str(compute.extra.get("exposure") or "load-balancer")
    address = str(compute.extra.get("node_address") or "127.0.0.1")
    if given is None and exposure == "host-network" and _loopback(address):
        return None
    if given is False:
        return "it is attached with shared_storage=False"
    where = f", node_address={address})" if exposure == "host-network" else ")"
    return f"its nodes are not this machine (exposure={exposure}{where}"


def _loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
