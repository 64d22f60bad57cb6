"""Where a service's (or an endpoint router's) Service is reached, for each exposure.

One rule for services and routers: `host-network` → the node address and port it listens
on; otherwise the compute's `public_url` (your Ingress or gateway) when given, a
LoadBalancer's address from its status, or the Service's cluster DNS name. Inside the
cluster (a router calling its versions) a Service is always reached by its DNS name.
"""

from __future__ import annotations

from modelport._net import client_host
from modelport.targets.kubernetes.cluster import Cluster


def in_cluster_url(name: str, namespace: str) -> str:
    """The Service's cluster DNS name (port 80): how pods reach it."""
    return f"http://{name}.{namespace}.svc.cluster.local"


def node_url(node_address: str, port: int) -> str:
    return f"http://{client_host(node_address)}:{port}"


def service_url(
    cluster: Cluster, namespace: str, name: str, exposure: str, public_url: str | None
) -> str:
    """Where a client reaches the Service `name` of a pod-network exposure."""
    if public_url:
        return str(public_url).rstrip("/")
    if exposure == "load-balancer":
        service = cluster.get("Service", namespace, name) or {}
        ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        if ingress:
            return f"http://{ingress[0].get('ip') or ingress[0].get('hostname')}"
    return in_cluster_url(name, namespace)
