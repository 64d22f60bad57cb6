"""The Kubernetes target (v1: AKS): services as Deployments on an attached cluster."""
