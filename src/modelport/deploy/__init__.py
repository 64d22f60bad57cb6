"""Deployment's control plane: service records, the target interface, credentials.

Targets (`modelport.targets.*`) plug in through the `modelport.targets` entry points; the v1
classes users call (`Webservice`, `LocalWebservice`, …) live in `modelport.core.webservice`.
"""
