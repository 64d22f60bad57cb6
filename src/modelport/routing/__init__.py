"""The endpoint router: one small HTTP server process in front of an endpoint's versions.

It reads a routing table (`table.py`) the control plane writes, picks a version per request
by weight (or the one a request names), copies a share of requests to shadow versions
(`shadow.py`) and keeps per-version metrics. It knows nothing of the registry or of targets:
versions are upstream URLs. Run as `python -m modelport.routing FOLDER` (a supervisor that
holds the port and restarts the server, `supervisor.py`).
"""
