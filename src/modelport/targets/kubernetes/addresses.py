"""Where a service's (or an endpoint router's) Service is reached, for each exposure.

One rule for services and routers: `host-network` → the node address and port it listens
on; otherwise the compute's `public_url` (your Ingress or gateway) when given, a
LoadBalancer's address from its status, or the Service's cluster DNS name. Inside the
cluster (a router calling its versions) a Service is reached at its ClusterIP: stable for the
Service's life, and it needs no cluster DNS (the router has no lookup on its request path, and
clusters without DNS work); by its DNS name only when it has no ClusterIP (a headless Service).
"""

from __future__ import annotations

from modelport._net import client_host
from modelport.targets.kubernetes.cluster import Cluster


def in_cluster_url(name: str, namespace: str) -> str:
    """The Service's cluster DNS name (port 80)."""
    return f"http://{name}.{namespace}.svc.cluster.local"


def pod_url(cluster: Cluster, namespace: str, name: str) -> str:
    """How a pod reaches the Service `name` (port 80): its ClusterIP, else its DNS name."""
    service = cluster.get("Service", namespace, name) or {}
    ip = (service.get("spec") or {}).get("clusterIP")
    if ip and ip != "None":
        return f"http://{client_host(ip)}"
    return in_cluster_url(name, namespace)


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
