"""The container target: services as containers on a Docker or Podman engine (v1: ACI).

`target.py` holds `ContainerTarget` (registered as the `container` entry point),
`portkeeper.py` the host process that owns each service's port and hands the listening socket
to its containers, `engine.py` the container-level operations (run, inspect, state, cleanup).
"""
